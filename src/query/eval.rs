//! The reference evaluator: decides whether a decoded object matches an `Expr`, with MongoDB's
//! semantics as Parse relies on them (a scalar constraint on an array field matches any
//! element; `null` matches a missing field; comparisons only between values of one type;
//! paths traverse arrays of objects). Everything DynamoDB cannot decide exactly is decided here,
//! and the planner's filter expressions only ever narrow the rows this module sees.

use super::parse::{Cond, Expr, Geo};
use crate::codec::parse_type;
pub use crate::value::{cmp_same_type, collect_path, date_iso, sort_cmp, value_eq};
use serde_json::{Map, Value};
use std::cmp::Ordering;

pub fn matches(expr: &Expr, obj: &Map<String, Value>) -> bool {
    match expr {
        Expr::True => true,
        Expr::And(v) => v.iter().all(|e| matches(e, obj)),
        Expr::Or(v) => v.iter().any(|e| matches(e, obj)),
        Expr::Nor(v) => !v.iter().any(|e| matches(e, obj)),
        Expr::Field(path, Cond::Text(t)) => {
            let mut found = Vec::new();
            collect_path(obj, path, &mut found);
            t.score_in(&strings(&found), text_language(obj)).is_some()
        }
        Expr::Field(path, cond) => {
            let mut found = Vec::new();
            collect_path(obj, path, &mut found);
            field_matches(cond, &found)
        }
    }
}

/// A document's text language: its `language` field, as a MongoDB text index reads it.
fn text_language(obj: &Map<String, Value>) -> Option<&str> {
    obj.get("language").and_then(Value::as_str)
}

/// Does `cond` hold for a field whose values (zero when missing) are `vals`?
fn field_matches(cond: &Cond, vals: &[&Value]) -> bool {
    match cond {
        Cond::Eq(q) => {
            if q.is_null() {
                vals.is_empty() || vals.iter().any(|v| v.is_null() || contains_eq(v, q))
            } else {
                vals.iter()
                    .any(|v| value_eq(v, q) || contains_eq(v, q) || pointer_id_eq(v, q))
            }
        }
        Cond::EqCi(s) => {
            let low = s.to_lowercase();
            any_scalar(vals, |v| {
                v.as_str().is_some_and(|x| x.to_lowercase() == low)
            })
        }
        Cond::Ne(q) => !field_matches(&Cond::Eq(q.clone()), vals),
        Cond::Lt(q) => any_scalar(vals, |v| cmp_same_type(v, q) == Some(Ordering::Less)),
        Cond::Lte(q) => any_scalar(vals, |v| {
            matches!(cmp_same_type(v, q), Some(Ordering::Less | Ordering::Equal))
        }),
        Cond::Gt(q) => any_scalar(vals, |v| cmp_same_type(v, q) == Some(Ordering::Greater)),
        Cond::Gte(q) => any_scalar(vals, |v| {
            matches!(
                cmp_same_type(v, q),
                Some(Ordering::Greater | Ordering::Equal)
            )
        }),
        Cond::In(list) => list
            .iter()
            .any(|q| field_matches(&Cond::Eq(q.clone()), vals)),
        Cond::Nin(list) => !list
            .iter()
            .any(|q| field_matches(&Cond::Eq(q.clone()), vals)),
        Cond::Exists(b) => vals.is_empty() != *b,
        Cond::All(conds) => {
            if conds.is_empty() {
                return false;
            }
            vals.iter().any(|v| match v {
                Value::Array(a) => conds
                    .iter()
                    .all(|c| a.iter().any(|e| field_matches(c, &[e]))),
                _ => false,
            })
        }
        Cond::ContainedBy(list) => {
            vals.iter().all(|v| match v {
                Value::Array(a) => a.iter().all(|e| list.iter().any(|q| value_eq(e, q))),
                _ => false,
            }) && !vals.is_empty()
        }
        Cond::Regex(p) => any_scalar(vals, |v| v.as_str().is_some_and(|s| p.re.find(s).is_some())),
        Cond::Geo(g) => vals.iter().any(|v| geo_matches(g, v)),
        Cond::Not(c) => !field_matches(c, vals),
        Cond::Text(t) => t.score(&strings(vals)).is_some(),
    }
}

/// The `$text` relevance of an object for the query's text search, if it has one.
pub fn query_text_score(expr: &Expr, obj: &Map<String, Value>) -> Option<f64> {
    match expr {
        Expr::Field(path, Cond::Text(t)) => {
            let mut vals = Vec::new();
            collect_path(obj, path, &mut vals);
            t.score_in(&strings(&vals), text_language(obj))
        }
        Expr::And(v) => v.iter().find_map(|e| query_text_score(e, obj)),
        _ => None,
    }
}

/// The strings a text index takes from a field: a string, or an array's strings.
fn strings<'a>(vals: &[&'a Value]) -> Vec<&'a str> {
    let mut out = Vec::new();
    for v in vals {
        match v {
            Value::String(s) => out.push(s.as_str()),
            Value::Array(a) => out.extend(a.iter().filter_map(Value::as_str)),
            _ => {}
        }
    }
    out
}

/// True if `f` holds for a value or, for arrays, any of their elements.
fn any_scalar(vals: &[&Value], f: impl Fn(&Value) -> bool) -> bool {
    vals.iter().any(|v| match v {
        Value::Array(a) => a.iter().any(&f),
        other => f(other),
    })
}

/// A Pointer field queried with a plain objectId string (Parse allows it for pointer fields).
fn pointer_id_eq(v: &Value, q: &Value) -> bool {
    let Value::String(id) = q else { return false };
    let is = |p: &Value| {
        parse_type(p) == Some("Pointer") && p.get("objectId") == Some(&Value::String(id.clone()))
    };
    match v {
        Value::Array(a) => a.iter().any(is),
        other => is(other),
    }
}

fn contains_eq(v: &Value, q: &Value) -> bool {
    match v {
        Value::Array(a) => a.iter().any(|e| value_eq(e, q)),
        _ => false,
    }
}

pub fn as_geo_point(v: &Value) -> Option<(f64, f64)> {
    if parse_type(v) != Some("GeoPoint") {
        return None;
    }
    Some((v.get("latitude")?.as_f64()?, v.get("longitude")?.as_f64()?))
}

pub use crate::value::distance_radians;

fn point_in_polygon(p: (f64, f64), poly: &[(f64, f64)]) -> bool {
    // Points on the boundary are inside (as MongoDB's $polygon counts them).
    let n = poly.len();
    for i in 0..n {
        let (a, b) = (poly[i], poly[(i + 1) % n]);
        let cross = (b.0 - a.0) * (p.1 - a.1) - (b.1 - a.1) * (p.0 - a.0);
        let within = p.0 >= a.0.min(b.0)
            && p.0 <= a.0.max(b.0)
            && p.1 >= a.1.min(b.1)
            && p.1 <= a.1.max(b.1);
        if cross.abs() < 1e-12 && within {
            return true;
        }
    }
    // Ray casting on (lat, lng) treated as planar coordinates, as Parse's other adapters do.
    let (x, y) = p;
    let mut inside = false;
    let n = poly.len();
    let mut j = n - 1;
    for i in 0..n {
        let (xi, yi) = poly[i];
        let (xj, yj) = poly[j];
        if ((yi > y) != (yj > y)) && (x < (xj - xi) * (y - yi) / (yj - yi) + xi) {
            inside = !inside;
        }
        j = i;
    }
    inside
}

fn geo_matches(g: &Geo, v: &Value) -> bool {
    match g {
        Geo::Intersects { lat, lng } => {
            if parse_type(v) != Some("Polygon") {
                return false;
            }
            let Some(coords) = v.get("coordinates").and_then(Value::as_array) else {
                return false;
            };
            let poly: Vec<(f64, f64)> = coords
                .iter()
                .filter_map(|c| Some((c.get(0)?.as_f64()?, c.get(1)?.as_f64()?)))
                .collect();
            poly.len() >= 3 && point_in_polygon((*lat, *lng), &poly)
        }
        _ => {
            let Some(p) = as_geo_point(v) else {
                return false;
            };
            match g {
                Geo::Near { lat, lng, max } => {
                    max.is_none_or(|m| distance_radians(p, (*lat, *lng)) <= m)
                }
                Geo::Box { sw, ne } => p.0 >= sw.0 && p.0 <= ne.0 && p.1 >= sw.1 && p.1 <= ne.1,
                Geo::Polygon(poly) => point_in_polygon(p, poly),
                Geo::CenterSphere { lat, lng, radius } => {
                    distance_radians(p, (*lat, *lng)) <= *radius
                }
                Geo::Intersects { .. } => false,
            }
        }
    }
}

/// The `$nearSphere` point of a query, if any (its results are ordered by distance).
pub fn near_point(expr: &Expr) -> Option<(Vec<String>, f64, f64)> {
    match expr {
        Expr::Field(p, Cond::Geo(Geo::Near { lat, lng, .. })) => Some((p.clone(), *lat, *lng)),
        Expr::And(v) => v.iter().find_map(near_point),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::parse_query;
    use serde_json::json;

    fn m(q: Value, o: Value) -> bool {
        matches(&parse_query(&q, false).unwrap(), o.as_object().unwrap())
    }

    #[test]
    fn equality_on_arrays_and_null() {
        assert!(m(json!({"a": 2}), json!({"a": [1, 2]})));
        assert!(m(json!({"a": 2.0}), json!({"a": 2})));
        assert!(m(json!({"a": null}), json!({})));
        assert!(!m(json!({"a": null}), json!({"a": 1})));
        assert!(m(json!({"_rperm": {"$in": [null, "*"]}}), json!({})));
        assert!(m(
            json!({"_rperm": {"$in": [null, "*"]}}),
            json!({"_rperm": ["*"]})
        ));
        assert!(!m(
            json!({"_rperm": {"$in": [null, "*"]}}),
            json!({"_rperm": ["u1"]})
        ));
    }

    #[test]
    fn comparisons_are_type_bracketed() {
        assert!(m(json!({"a": {"$gt": 1}}), json!({"a": 2})));
        assert!(!m(json!({"a": {"$gt": 1}}), json!({"a": "2"})));
        assert!(m(
            json!({"d": {"$lt": {"__type": "Date", "iso": "2020-01-01T00:00:00Z"}}}),
            json!({"d": {"__type": "Date", "iso": "2019-01-01T00:00:00.000Z"}})
        ));
    }

    #[test]
    fn or_does_not_escape_and() {
        let q = json!({"$or": [{"a": 1}, {"b": 1}], "_rperm": {"$in": ["*"]}});
        assert!(!m(q.clone(), json!({"a": 1, "_rperm": ["x"]})));
        assert!(m(q, json!({"a": 1, "_rperm": ["*"]})));
    }

    #[test]
    fn ne_nin_exists_all_containedby_regex() {
        assert!(m(json!({"a": {"$ne": 1}}), json!({})));
        assert!(!m(json!({"a": {"$ne": 1}}), json!({"a": [1, 2]})));
        assert!(m(json!({"a": {"$nin": [1, 3]}}), json!({"a": 2})));
        assert!(m(json!({"a": {"$exists": false}}), json!({"b": 1})));
        assert!(m(json!({"a": {"$all": [1, 2]}}), json!({"a": [2, 1, 3]})));
        assert!(!m(json!({"a": {"$all": [1, 4]}}), json!({"a": [2, 1, 3]})));
        assert!(m(
            json!({"a": {"$containedBy": [1, 2, 3]}}),
            json!({"a": [2, 1]})
        ));
        assert!(!m(
            json!({"a": {"$containedBy": [1]}}),
            json!({"a": [2, 1]})
        ));
        assert!(m(
            json!({"s": {"$regex": "B$", "$options": "i"}}),
            json!({"s": "ab"})
        ));
        assert!(m(json!({"o.x": 1}), json!({"o": {"x": 1}})));
        assert!(m(json!({"o.x": 1}), json!({"o": [{"x": 2}, {"x": 1}]})));
    }

    #[test]
    fn pointer_fields_match_plain_object_ids() {
        let p = json!({"__type": "Pointer", "className": "A", "objectId": "x1"});
        assert!(m(json!({"p": "x1"}), json!({"p": p.clone()})));
        assert!(m(
            json!({"p": {"$in": ["x0", "x1"]}}),
            json!({"p": [p.clone()]})
        ));
        assert!(!m(json!({"p": "x2"}), json!({"p": p})));
    }

    #[test]
    fn text_search() {
        let q = |t: &str, cs: bool| json!({"s": {"$text": {"$search": {"$term": t, "$caseSensitive": cs}}}});
        assert!(m(q("coffee", false), json!({"s": "Coffee Shopping"})));
        assert!(!m(q("Coffee", true), json!({"s": "coffee and cream"})));
        assert!(m(q("CAFÉ", false), json!({"s": "Cafe con Leche"})));
        assert!(!m(
            q("coffee -cream", false),
            json!({"s": "coffee and cream"})
        ));
        assert!(m(
            q("\"and cream\"", false),
            json!({"s": "coffee and cream"})
        ));
        assert!(!m(q("tea", false), json!({"s": "coffee"})));
    }

    #[test]
    fn polygon_boundary_points_are_inside() {
        let q = json!({"g": {"$geoWithin": {"$polygon": [
            {"__type": "GeoPoint", "latitude": 0, "longitude": 0}, {"__type": "GeoPoint", "latitude": 0, "longitude": 10},
            {"__type": "GeoPoint", "latitude": 10, "longitude": 10}, {"__type": "GeoPoint", "latitude": 10, "longitude": 0}]}}});
        let at = |lat: f64, lng: f64| json!({"g": {"__type": "GeoPoint", "latitude": lat, "longitude": lng}});
        assert!(m(q.clone(), at(1.5, 1.5)));
        assert!(m(q.clone(), at(10.0, 10.0)));
        assert!(m(q.clone(), at(5.0, 10.0)));
        assert!(!m(q, at(20.0, 20.0)));
    }

    #[test]
    fn geo() {
        let p = json!({"__type": "GeoPoint", "latitude": 10.0, "longitude": 10.0});
        assert!(m(
            json!({"g": {"$nearSphere": {"__type": "GeoPoint", "latitude": 10.0, "longitude": 10.1}, "$maxDistance": 0.01}}),
            json!({"g": p.clone()})
        ));
        assert!(!m(
            json!({"g": {"$nearSphere": {"__type": "GeoPoint", "latitude": 20.0, "longitude": 10.1}, "$maxDistance": 0.01}}),
            json!({"g": p.clone()})
        ));
        assert!(m(
            json!({"g": {"$within": {"$box": [{"__type": "GeoPoint", "latitude": 0, "longitude": 0}, {"__type": "GeoPoint", "latitude": 20, "longitude": 20}]}}}),
            json!({"g": p})
        ));
    }

    #[test]
    fn a_box_is_the_rectangle_of_its_corners_in_any_order() {
        let gp =
            |lat: f64, lng: f64| json!({"__type": "GeoPoint", "latitude": lat, "longitude": lng});
        let inside = json!({"g": gp(37.77, -122.42)});
        let outside = json!({"g": gp(37.77, -121.0)});
        let (sw, ne) = (gp(37.7, -122.5), gp(37.8, -122.3));
        let nw_se = (gp(37.8, -122.5), gp(37.7, -122.3));
        for (a, b) in [
            (&sw, &ne),
            (&ne, &sw),
            (&nw_se.0, &nw_se.1),
            (&nw_se.1, &nw_se.0),
        ] {
            let q = json!({"g": {"$within": {"$box": [a, b]}}});
            assert!(m(q.clone(), inside.clone()), "{q}");
            assert!(!m(q, outside.clone()));
        }
    }
}
