//! Stages that gather rows into groups: `$group` with its accumulators, `$sortByCount`, and
//! `$bucket` (rows by ranges of a value, with a default bucket).

use super::Row;
use crate::error::{Error, Result};
use crate::query::eval::{sort_cmp, value_eq};
use crate::query::expr;
use serde_json::{json, Map, Value};
use std::cmp::Ordering;

/// A key equal for equal values (object keys sorted, numbers by value).
fn group_key(v: &Value) -> String {
    fn canon(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                Value::Object(
                    keys.into_iter()
                        .map(|k| (k.clone(), canon(&m[k])))
                        .collect(),
                )
            }
            Value::Array(a) => Value::Array(a.iter().map(canon).collect()),
            Value::Number(n) => n.as_f64().map(|f| json!(f)).unwrap_or(Value::Null),
            other => other.clone(),
        }
    }
    canon(v).to_string()
}

pub fn group(spec: &Value, rows: Vec<Row>) -> Result<Vec<Row>> {
    let spec = spec
        .as_object()
        .ok_or_else(|| Error::query("$group takes an object"))?;
    let id_expr = spec
        .get("_id")
        .ok_or_else(|| Error::query("Invalid parameter for query: group. Missing key _id"))?;
    let mut accs: Vec<(&String, &str, &Value)> = Vec::new();
    for (field, acc) in spec.iter().filter(|(k, _)| k.as_str() != "_id") {
        let m = acc.as_object().filter(|m| m.len() == 1).ok_or_else(|| {
            Error::query(format!("the field '{field}' must be an accumulator object"))
        })?;
        let (op, arg) = m
            .iter()
            .next()
            .ok_or_else(|| Error::query("empty accumulator"))?;
        if !matches!(
            op.as_str(),
            "$sum"
                | "$avg"
                | "$min"
                | "$max"
                | "$first"
                | "$last"
                | "$push"
                | "$addToSet"
                | "$count"
                | "$stdDevPop"
                | "$stdDevSamp"
                | "$mergeObjects"
        ) {
            return Err(Error::Unsupported(format!(
                "the accumulator {op} is not supported yet"
            )));
        }
        accs.push((field, op.as_str(), arg));
    }
    // Groups in first-seen order: key → (id, values per accumulator).
    let mut order: Vec<String> = Vec::new();
    let mut groups: std::collections::HashMap<String, (Value, Vec<Vec<Value>>)> =
        Default::default();
    for row in &rows {
        let id = expr::eval(id_expr, row)?.unwrap_or(Value::Null);
        let key = group_key(&id);
        let entry = groups.entry(key.clone()).or_insert_with(|| {
            order.push(key.clone());
            (id, vec![Vec::new(); accs.len()])
        });
        for (i, (_, op, arg)) in accs.iter().enumerate() {
            if *op == "$count" {
                entry.1[i].push(json!(1));
                continue;
            }
            match expr::eval(arg, row)? {
                Some(Value::Array(a)) if *op == "$sum" || *op == "$avg" => entry.1[i].extend(a),
                Some(v) => entry.1[i].push(v),
                None if *op == "$first" || *op == "$last" => entry.1[i].push(Value::Null),
                None => {}
            }
        }
    }
    let mut out = Vec::with_capacity(order.len());
    for key in order {
        let Some((id, values)) = groups.remove(&key) else {
            continue;
        };
        let mut r = Row::new();
        r.insert("_id".into(), id);
        for ((field, op, _), vals) in accs.iter().zip(values) {
            let nums = || vals.iter().filter_map(Value::as_f64);
            let v = match *op {
                "$sum" => {
                    let all_int = vals.iter().filter(|v| v.is_number()).all(|v| v.is_i64());
                    let s: f64 = nums().sum();
                    if all_int {
                        json!(s as i64)
                    } else {
                        json!(s)
                    }
                }
                "$avg" => {
                    let n = nums().count();
                    if n == 0 {
                        Value::Null
                    } else {
                        json!(nums().sum::<f64>() / n as f64)
                    }
                }
                "$min" | "$max" => {
                    let it = vals.iter().filter(|v| !v.is_null());
                    let best = if *op == "$min" {
                        it.min_by(|a, b| sort_cmp(Some(a), Some(b)))
                    } else {
                        it.max_by(|a, b| sort_cmp(Some(a), Some(b)))
                    };
                    best.cloned().unwrap_or(Value::Null)
                }
                "$count" => json!(vals.len()),
                "$stdDevPop" | "$stdDevSamp" => {
                    let xs: Vec<f64> = nums().collect();
                    let n = xs.len() as f64;
                    let denom = if *op == "$stdDevPop" { n } else { n - 1.0 };
                    if denom <= 0.0 {
                        Value::Null
                    } else {
                        let mean = xs.iter().sum::<f64>() / n;
                        json!((xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / denom).sqrt())
                    }
                }
                "$mergeObjects" => {
                    let mut m = Map::new();
                    for v in &vals {
                        if let Value::Object(o) = v {
                            m.extend(o.clone());
                        }
                    }
                    Value::Object(m)
                }
                "$first" => vals.first().cloned().unwrap_or(Value::Null),
                "$last" => vals.last().cloned().unwrap_or(Value::Null),
                "$push" => Value::Array(vals),
                _ => {
                    let mut set: Vec<Value> = Vec::new();
                    for v in vals {
                        if !set.iter().any(|s| value_eq(s, &v)) {
                            set.push(v);
                        }
                    }
                    Value::Array(set)
                }
            };
            r.insert((*field).clone(), v);
        }
        out.push(r);
    }
    Ok(out)
}

/// `$sortByCount: <expression>`: `{_id: value, count}` per distinct value, most frequent first.
pub fn sort_by_count(by: &Value, rows: Vec<Row>) -> Result<Vec<Row>> {
    if !matches!(by, Value::String(s) if s.starts_with('$')) && !by.is_object() {
        return Err(Error::query(
            "the $sortByCount stage takes a field path or an expression object",
        ));
    }
    let mut out = group(&json!({"_id": by, "count": {"$sum": 1}}), rows)?;
    out.sort_by(|a, b| sort_cmp(b.get("count"), a.get("count")));
    Ok(out)
}

/// `$bucket: {groupBy, boundaries, default, output}`: one row per range `[b[i], b[i+1])` that
/// has rows, `_id` its lower bound, then the `default` bucket; `output` accumulators (a
/// `count` when none are given).
pub fn bucket(spec: &Value, rows: Vec<Row>) -> Result<Vec<Row>> {
    let bad = |m: &str| Error::query(format!("$bucket {m}"));
    let group_by = spec
        .get("groupBy")
        .ok_or_else(|| bad("requires 'groupBy' and 'boundaries' to be specified"))?;
    let bounds = spec
        .get("boundaries")
        .and_then(Value::as_array)
        .filter(|b| b.len() >= 2)
        .ok_or_else(|| bad("requires 'boundaries' to be an array of at least two values"))?;
    if bounds
        .windows(2)
        .any(|w| sort_cmp(Some(&w[0]), Some(&w[1])) != Ordering::Less)
    {
        return Err(bad("requires 'boundaries' to be sorted in ascending order"));
    }
    let default = spec.get("default");
    let output = match spec.get("output") {
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err(bad("requires 'output' to be an object")),
        None => Map::from_iter([("count".to_string(), json!({"$sum": 1}))]),
    };
    // Each row tagged with its bucket's lower bound (or the default), then grouped on it.
    let mut tagged = Vec::with_capacity(rows.len());
    for mut row in rows {
        let v = expr::eval(group_by, &row)?.unwrap_or(Value::Null);
        let slot = bounds.windows(2).find(|w| {
            sort_cmp(Some(&w[0]), Some(&v)) != Ordering::Greater
                && sort_cmp(Some(&v), Some(&w[1])) == Ordering::Less
        });
        let key = match (slot, default) {
            (Some(w), _) => w[0].clone(),
            (None, Some(d)) => d.clone(),
            (None, None) => {
                return Err(bad(&format!(
                    "could not find a matching branch for an input, and no default was specified (value {v})"
                )))
            }
        };
        row.insert("~bucket".into(), key);
        tagged.push(row);
    }
    let mut spec = output;
    spec.insert("_id".into(), json!("$~bucket"));
    let mut out = group(&Value::Object(spec), tagged)?;
    let rank = |r: &Row| {
        bounds
            .iter()
            .position(|b| r.get("_id").is_some_and(|id| value_eq(id, b)))
            .unwrap_or(bounds.len())
    };
    out.sort_by_key(rank);
    Ok(out)
}
