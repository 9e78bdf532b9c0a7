//! Ordering, paging and projection of evaluated rows: `sort` (any fields, several keys, dotted
//! paths, Mongo's cross-type order), `$nearSphere` distance order, `skip`/`limit`, and `keys`.

use super::eval::{as_geo_point, collect_path, distance_radians, sort_cmp};
use serde_json::{Map, Value};
use std::cmp::Ordering;

#[derive(Debug, Clone, Default)]
pub struct Order {
    /// (dotted path, ascending)
    pub keys: Vec<(Vec<String>, bool)>,
    /// Sort by distance from this point on this field, before `keys`.
    pub near: Option<(Vec<String>, f64, f64)>,
}

impl Order {
    pub fn from_sort(sort: Option<&Value>) -> Order {
        let mut keys = Vec::new();
        if let Some(Value::Object(m)) = sort {
            for (k, dir) in m {
                if k == "$score" || dir.get("$meta").is_some() {
                    // `$text` relevance, best first.
                    keys.push((vec![k.trim_start_matches('$').to_string()], false));
                    continue;
                }
                let asc = dir.as_i64().map(|d| d >= 0).unwrap_or(true);
                let field = super::parse::parse_field_name(k);
                keys.push((field.split('.').map(str::to_string).collect(), asc));
            }
        }
        Order { keys, near: None }
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty() && self.near.is_none()
    }

    /// Whether this is the order of the class partition's sort key: objectId ascending.
    pub fn is_key_order(&self) -> bool {
        self.near.is_none()
            && matches!(self.keys.as_slice(), [(p, true)] if p.len() == 1 && (p[0] == "objectId" || p[0] == "_id"))
    }

    pub fn sort(&self, rows: &mut [Map<String, Value>]) {
        if self.is_empty() {
            return;
        }
        rows.sort_by(|a, b| self.cmp(a, b));
    }

    pub fn cmp(&self, a: &Map<String, Value>, b: &Map<String, Value>) -> Ordering {
        if let Some((path, lat, lng)) = &self.near {
            let d = |o: &Map<String, Value>| {
                let mut v = Vec::new();
                collect_path(o, path, &mut v);
                v.first()
                    .and_then(|p| as_geo_point(p))
                    .map(|p| distance_radians(p, (*lat, *lng)))
                    .unwrap_or(f64::INFINITY)
            };
            let o = d(a).partial_cmp(&d(b)).unwrap_or(Ordering::Equal);
            if o != Ordering::Equal {
                return o;
            }
        }
        for (path, asc) in &self.keys {
            let o = sort_cmp(sort_value(a, path), sort_value(b, path));
            let o = if *asc { o } else { o.reverse() };
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    }
}

fn sort_value<'a>(o: &'a Map<String, Value>, path: &[String]) -> Option<&'a Value> {
    let mut v = Vec::new();
    collect_path(o, path, &mut v);
    v.into_iter().next()
}

/// Keeps only the requested keys (by their top-level field), plus what Parse always needs.
pub fn project(obj: &mut Map<String, Value>, keys: &[String]) {
    let mut keep: Vec<&str> = vec!["objectId", "createdAt", "updatedAt"];
    for k in keys {
        let top = k.split('.').next().unwrap_or("");
        if top == "$score" {
            keep.push("score");
        } else if top == "ACL" {
            keep.push("_rperm");
            keep.push("_wperm");
        } else {
            keep.push(top);
        }
    }
    obj.retain(|k, _| keep.contains(&k.as_str()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn multi_key_sort_with_missing_values() {
        let mut rows: Vec<Map<String, Value>> = vec![
            json!({"a": 2, "b": "x"}),
            json!({"a": 1, "b": "y"}),
            json!({"b": "z"}),
            json!({"a": 2, "b": "a"}),
        ]
        .into_iter()
        .map(|v| v.as_object().unwrap().clone())
        .collect();
        let o = Order::from_sort(Some(&json!({"a": -1, "b": 1})));
        o.sort(&mut rows);
        let bs: Vec<&str> = rows.iter().map(|r| r["b"].as_str().unwrap()).collect();
        assert_eq!(bs, vec!["a", "x", "y", "z"]);
    }
}
