//! Aggregation pipelines, evaluated in Rust over the rows of a class: `$match` (Parse query
//! semantics, through the evaluator), `$group` (`_id` of a field, an object of fields, or null;
//! `$sum $avg $min $max $first $last $push $addToSet`; date parts), `$project`, `$sort`,
//! `$skip`, `$limit`, `$unwind`, `$count`, `$sample`. Rows carry their objectId as `_id`, as
//! MongoDB documents do; results give `_id` back as `objectId` (a Pointer `_id` as its
//! objectId), the way Parse's Mongo adapter answers.

use super::eval::{collect_path, date_iso, matches, sort_cmp, value_eq};
use super::parse::{parse_field_name, parse_query, rename_fields};
use crate::codec::parse_type;
use crate::error::{Error, Result};
use serde_json::{json, Map, Value};
use std::cmp::Ordering;

type Row = Map<String, Value>;

/// The pipeline's first `$match` as a Parse query (`_id` named `objectId`), which the caller
/// may use to select rows in DynamoDB.
pub fn leading_match(pipeline: &[Value]) -> Option<Value> {
    let first = pipeline.first()?;
    first
        .get("$match")
        .or_else(|| first.get("$geoNear").and_then(|g| g.get("query")))
        .map(|q| rename_fields(q, &parse_field_name))
}

pub fn run(pipeline: &[Value], rows: Vec<Row>) -> Result<Vec<Row>> {
    let mut rows: Vec<Row> = rows
        .into_iter()
        .map(|mut r| {
            if let Some(id) = r.remove("objectId") {
                r.insert("_id".into(), id);
            }
            r
        })
        .collect();
    for stage in pipeline {
        let (name, arg) = match stage.as_object().map(|m| m.iter().collect::<Vec<_>>()) {
            Some(v) if v.len() == 1 => (v[0].0.as_str(), v[0].1),
            _ => return Err(Error::query("Pipeline stages should only have one key")),
        };
        rows = match name {
            "$match" => {
                let q = rename_object_id(arg);
                let expr = parse_query(&q, false)?;
                rows.into_iter().filter(|r| matches(&expr, r)).collect()
            }
            "$group" => group(arg, rows)?,
            "$geoNear" => geo_near(arg, rows)?,
            "$project" => project(arg, rows)?,
            "$sort" => sort(arg, rows)?,
            "$skip" => rows.into_iter().skip(count_arg(name, arg)?).collect(),
            "$limit" => rows.into_iter().take(count_arg(name, arg)?).collect(),
            "$unwind" => unwind(arg, rows)?,
            "$count" => {
                let field = arg
                    .as_str()
                    .ok_or_else(|| Error::query("$count takes a field name"))?;
                let mut r = Row::new();
                r.insert(field.into(), json!(rows.len()));
                if rows.is_empty() {
                    vec![]
                } else {
                    vec![r]
                }
            }
            "$sample" => {
                let size = arg
                    .get("size")
                    .and_then(Value::as_u64)
                    .ok_or_else(|| Error::query("$sample takes {size: n}"))?
                    as usize;
                let mut rows = rows;
                // Fisher-Yates on the first `size` positions.
                for i in 0..rows.len().min(size) {
                    let j = rand::random_range(i..rows.len());
                    rows.swap(i, j);
                }
                rows.truncate(size);
                rows
            }
            other => {
                return Err(Error::Unsupported(format!(
                    "the aggregation stage {other} is not supported by the DynamoDB adapter yet"
                )))
            }
        };
    }
    Ok(rows
        .into_iter()
        .map(|mut r| {
            if let Some(id) = r.remove("_id") {
                let id = match (&id, parse_type(&id)) {
                    (_, Some("Pointer")) => id.get("objectId").cloned().unwrap_or(Value::Null),
                    (Value::Object(m), None) if m.is_empty() => Value::Null,
                    (Value::Array(a), _) if a.is_empty() => Value::Null,
                    (Value::String(s), _) if s.is_empty() => Value::Null,
                    _ => id,
                };
                r.insert("objectId".into(), id);
            }
            r
        })
        .collect())
}

/// `$geoNear`: rows whose `key` GeoPoint is within `maxDistance` (and beyond `minDistance`) of
/// `near`, nearest first, with the distance in `distanceField` — meters for a GeoJSON point,
/// radians for a legacy `[longitude, latitude]` pair, as MongoDB answers.
fn geo_near(spec: &Value, rows: Vec<Row>) -> Result<Vec<Row>> {
    use super::eval::{as_geo_point, distance_radians};
    const EARTH_RADIUS_M: f64 = 6_378_100.0;
    let bad = || Error::query("$geoNear needs near: a GeoJSON point or [longitude, latitude]");
    let near = spec.get("near").ok_or_else(bad)?;
    let (coords, meters) = match near.get("coordinates") {
        Some(c) => (c, true),
        None => (near, false),
    };
    let pair = coords.as_array().filter(|a| a.len() == 2).ok_or_else(bad)?;
    let (lng, lat) = (
        pair[0].as_f64().ok_or_else(bad)?,
        pair[1].as_f64().ok_or_else(bad)?,
    );
    let key = spec.get("key").and_then(Value::as_str);
    let field = spec
        .get("distanceField")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::query("$geoNear needs distanceField"))?;
    let query = match spec.get("query") {
        Some(q) => Some(parse_query(&rename_object_id(q), false)?),
        None => None,
    };
    let unit = if meters { EARTH_RADIUS_M } else { 1.0 };
    let max = spec
        .get("maxDistance")
        .and_then(Value::as_f64)
        .unwrap_or(f64::INFINITY);
    let min = spec
        .get("minDistance")
        .and_then(Value::as_f64)
        .unwrap_or(0.0);
    let mut out: Vec<(f64, Row)> = Vec::new();
    for row in rows {
        if query.as_ref().is_some_and(|q| !matches(q, &row)) {
            continue;
        }
        // The key field, or the first GeoPoint of the row when no key is given.
        let point = match key {
            Some(k) => {
                let mut v = Vec::new();
                collect_path(&row, &field_path(k), &mut v);
                v.first().and_then(|p| as_geo_point(p))
            }
            None => row.values().find_map(as_geo_point),
        };
        let Some(p) = point else { continue };
        let d = distance_radians(p, (lat, lng)) * unit;
        if d <= max && d >= min {
            out.push((d, row));
        }
    }
    out.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(Ordering::Equal));
    Ok(out
        .into_iter()
        .map(|(d, mut r)| {
            r.insert(field.to_string(), json!(d));
            r
        })
        .collect())
}

fn count_arg(name: &str, arg: &Value) -> Result<usize> {
    arg.as_u64()
        .map(|n| n as usize)
        .ok_or_else(|| Error::query(format!("{name} takes a non-negative number")))
}

/// A query on pipeline rows, which carry the objectId as `_id`.
fn rename_object_id(q: &Value) -> Value {
    rename_fields(q, &|k| {
        if k == "objectId" {
            "_id"
        } else {
            parse_field_name(k)
        }
    })
}

fn field_path(reference: &str) -> Vec<String> {
    let name = reference.trim_start_matches('$');
    // Parse's names, and the MongoDB names Parse apps also write.
    let name = match name {
        "objectId" => "_id",
        other => parse_field_name(other),
    };
    name.split('.').map(str::to_string).collect()
}

/// Evaluates an aggregation expression on a row (`None` = missing).
pub fn expr(e: &Value, row: &Row) -> Result<Option<Value>> {
    match e {
        Value::String(s) if s.starts_with('$') => {
            let mut out = Vec::new();
            collect_path(row, &field_path(s), &mut out);
            Ok(match out.len() {
                0 => None,
                1 => Some(out[0].clone()),
                _ => Some(Value::Array(out.into_iter().cloned().collect())),
            })
        }
        Value::Object(m) if m.len() == 1 && m.keys().all(|k| k.starts_with('$')) => {
            let (op, arg) = m
                .iter()
                .next()
                .ok_or_else(|| Error::query("empty expression"))?;
            operator(op, arg, row)
        }
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                if let Some(x) = expr(v, row)? {
                    out.insert(k.clone(), x);
                }
            }
            Ok(Some(Value::Object(out)))
        }
        other => Ok(Some(other.clone())),
    }
}

fn operator(op: &str, arg: &Value, row: &Row) -> Result<Option<Value>> {
    use chrono::{Datelike, Timelike};
    let date_part = |f: &dyn Fn(chrono::DateTime<chrono::Utc>) -> i64| -> Result<Option<Value>> {
        let v = expr(arg, row)?;
        let iso = v.as_ref().and_then(|v| {
            date_iso(v)
                .map(str::to_string)
                .or_else(|| v.as_str().map(str::to_string))
        });
        Ok(iso
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(&s).ok())
            .map(|d| json!(f(d.with_timezone(&chrono::Utc)))))
    };
    let nums = |arg: &Value| -> Result<Vec<f64>> {
        let items = arg
            .as_array()
            .ok_or_else(|| Error::query(format!("{op} takes an array")))?;
        items
            .iter()
            .map(|i| Ok(expr(i, row)?.and_then(|v| v.as_f64()).unwrap_or(f64::NAN)))
            .collect()
    };
    let number = |f: f64| -> Option<Value> {
        if f.fract() == 0.0 && f.abs() < 9e15 {
            Some(json!(f as i64))
        } else {
            serde_json::Number::from_f64(f).map(Value::Number)
        }
    };
    Ok(match op {
        "$year" => date_part(&|d| d.year() as i64)?,
        "$month" => date_part(&|d| d.month() as i64)?,
        "$dayOfMonth" => date_part(&|d| d.day() as i64)?,
        "$dayOfWeek" => date_part(&|d| d.weekday().number_from_sunday() as i64)?,
        "$dayOfYear" => date_part(&|d| d.ordinal() as i64)?,
        "$hour" => date_part(&|d| d.hour() as i64)?,
        "$minute" => date_part(&|d| d.minute() as i64)?,
        "$second" => date_part(&|d| d.second() as i64)?,
        "$millisecond" => date_part(&|d| (d.nanosecond() / 1_000_000) as i64)?,
        "$add" => number(nums(arg)?.iter().sum()),
        "$multiply" => number(nums(arg)?.iter().product()),
        "$subtract" => match nums(arg)?.as_slice() {
            [a, b] => number(a - b),
            _ => return Err(Error::query("$subtract takes two values")),
        },
        "$divide" => match nums(arg)?.as_slice() {
            [_, b] if *b == 0.0 => return Err(Error::query("$divide by zero")),
            [a, b] => number(a / b),
            _ => return Err(Error::query("$divide takes two values")),
        },
        "$size" => match expr(arg, row)? {
            Some(Value::Array(a)) => Some(json!(a.len())),
            _ => return Err(Error::query("$size needs an array")),
        },
        "$toLower" | "$toUpper" => expr(arg, row)?.map(|v| {
            let s = v.as_str().unwrap_or_default();
            json!(if op == "$toLower" {
                s.to_lowercase()
            } else {
                s.to_uppercase()
            })
        }),
        "$concat" => {
            let items = arg
                .as_array()
                .ok_or_else(|| Error::query("$concat takes an array"))?;
            let mut out = String::new();
            for i in items {
                match expr(i, row)? {
                    Some(Value::String(s)) => out.push_str(&s),
                    _ => return Ok(Some(Value::Null)),
                }
            }
            Some(json!(out))
        }
        "$ifNull" => {
            let items = arg
                .as_array()
                .ok_or_else(|| Error::query("$ifNull takes an array"))?;
            let mut out = None;
            for i in items {
                if let Some(v) = expr(i, row)?.filter(|v| !v.is_null()) {
                    out = Some(v);
                    break;
                }
            }
            out.or(Some(Value::Null))
        }
        "$literal" => Some(arg.clone()),
        other => {
            return Err(Error::Unsupported(format!(
                "the aggregation operator {other} is not supported by the DynamoDB adapter yet"
            )))
        }
    })
}

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

fn group(spec: &Value, rows: Vec<Row>) -> Result<Vec<Row>> {
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
            "$sum" | "$avg" | "$min" | "$max" | "$first" | "$last" | "$push" | "$addToSet"
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
        let id = expr(id_expr, row)?.unwrap_or(Value::Null);
        let key = group_key(&id);
        let entry = groups.entry(key.clone()).or_insert_with(|| {
            order.push(key.clone());
            (id, vec![Vec::new(); accs.len()])
        });
        for (i, (_, op, arg)) in accs.iter().enumerate() {
            match expr(arg, row)? {
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

fn project(spec: &Value, rows: Vec<Row>) -> Result<Vec<Row>> {
    let spec = spec
        .as_object()
        .ok_or_else(|| Error::query("$project takes an object"))?;
    let flag = |v: &Value| match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_f64().map(|f| f != 0.0),
        _ => None,
    };
    let rename = |k: &String| {
        if k == "objectId" {
            "_id".to_string()
        } else {
            k.clone()
        }
    };
    let inclusive = spec
        .iter()
        .any(|(k, v)| rename(k) != "_id" && flag(v) != Some(false));
    rows.into_iter()
        .map(|row| {
            let mut out = Row::new();
            if inclusive {
                let keep_id = spec
                    .iter()
                    .find(|(k, _)| rename(k) == "_id")
                    .is_none_or(|(_, v)| flag(v) != Some(false));
                if keep_id {
                    if let Some(id) = row.get("_id") {
                        out.insert("_id".into(), id.clone());
                    }
                }
                for (k, v) in spec {
                    let k = rename(k);
                    if k == "_id" && flag(v).is_some() {
                        continue;
                    }
                    let val = match flag(v) {
                        Some(true) => {
                            let mut found = Vec::new();
                            collect_path(&row, &field_path(&k), &mut found);
                            found.first().map(|v| (*v).clone())
                        }
                        Some(false) => None,
                        None => expr(v, &row)?,
                    };
                    if let Some(val) = val {
                        out.insert(k, val);
                    }
                }
            } else {
                out = row;
                for k in spec.keys() {
                    out.remove(&rename(k));
                }
            }
            Ok(out)
        })
        .collect()
}

fn sort(spec: &Value, mut rows: Vec<Row>) -> Result<Vec<Row>> {
    let spec = spec
        .as_object()
        .ok_or_else(|| Error::query("$sort takes an object"))?;
    let keys: Vec<(Vec<String>, bool)> = spec
        .iter()
        .map(|(k, d)| (field_path(k), d.as_i64().unwrap_or(1) >= 0))
        .collect();
    rows.sort_by(|a, b| {
        for (path, asc) in &keys {
            let (mut x, mut y) = (Vec::new(), Vec::new());
            collect_path(a, path, &mut x);
            collect_path(b, path, &mut y);
            let o = sort_cmp(x.first().copied(), y.first().copied());
            let o = if *asc { o } else { o.reverse() };
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    });
    Ok(rows)
}

fn unwind(spec: &Value, rows: Vec<Row>) -> Result<Vec<Row>> {
    let (path, keep_empty, index_field) = match spec {
        Value::String(s) => (s.as_str(), false, None),
        Value::Object(m) => (
            m.get("path")
                .and_then(Value::as_str)
                .ok_or_else(|| Error::query("$unwind needs a path"))?,
            m.get("preserveNullAndEmptyArrays")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            m.get("includeArrayIndex").and_then(Value::as_str),
        ),
        _ => return Err(Error::query("$unwind takes a field path")),
    };
    if !path.starts_with('$') {
        return Err(Error::query("$unwind path must start with $"));
    }
    let field = path.trim_start_matches('$').to_string();
    let mut out = Vec::new();
    for row in rows {
        match row.get(&field).cloned() {
            Some(Value::Array(items)) if !items.is_empty() => {
                for (i, it) in items.into_iter().enumerate() {
                    let mut r = row.clone();
                    r.insert(field.clone(), it);
                    if let Some(ix) = index_field {
                        r.insert(ix.into(), json!(i));
                    }
                    out.push(r);
                }
            }
            Some(Value::Array(_)) | Some(Value::Null) | None => {
                if keep_empty {
                    let mut r = row;
                    if let Some(ix) = index_field {
                        r.insert(ix.into(), Value::Null);
                    }
                    out.push(r);
                }
            }
            Some(other) => {
                let mut r = row;
                r.insert(field.clone(), other);
                if let Some(ix) = index_field {
                    r.insert(ix.into(), Value::Null);
                }
                out.push(r);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows() -> Vec<Row> {
        vec![
            json!({"objectId": "a", "team": "x", "score": 10, "tags": ["p", "q"], "d": {"__type": "Date", "iso": "2020-03-04T05:06:07.000Z"}}),
            json!({"objectId": "b", "team": "y", "score": 5, "tags": []}),
            json!({"objectId": "c", "team": "x", "score": 1.5, "owner": {"__type": "Pointer", "className": "U", "objectId": "u1"}}),
        ]
        .into_iter()
        .map(|v| v.as_object().unwrap().clone())
        .collect()
    }

    fn run_json(p: Value) -> Vec<Value> {
        run(p.as_array().unwrap(), rows())
            .unwrap()
            .into_iter()
            .map(Value::Object)
            .collect()
    }

    #[test]
    fn group_sum_avg_min_max_push() {
        let out = run_json(
            json!([{"$group": {"_id": "$team", "total": {"$sum": "$score"}, "n": {"$sum": 1},
            "avg": {"$avg": "$score"}, "lo": {"$min": "$score"}, "hi": {"$max": "$score"}, "all": {"$push": "$score"}}},
            {"$sort": {"_id": 1}}]),
        );
        assert_eq!(
            out[0],
            json!({"objectId": "x", "total": 11.5, "n": 2, "avg": 5.75, "lo": 1.5, "hi": 10, "all": [10, 1.5]})
        );
        assert_eq!(out[1]["objectId"], "y");
        let all = run_json(json!([{"$group": {"_id": null, "total": {"$sum": "$score"}}}]));
        assert_eq!(all, vec![json!({"objectId": null, "total": 16.5})]);
    }

    #[test]
    fn match_project_unwind_count_and_date_parts() {
        let out = run_json(
            json!([{"$match": {"score": {"$gt": 2}}}, {"$project": {"score": 1}}, {"$sort": {"score": -1}}]),
        );
        assert_eq!(
            out,
            vec![
                json!({"objectId": "a", "score": 10}),
                json!({"objectId": "b", "score": 5})
            ]
        );
        let un = run_json(json!([{"$unwind": "$tags"}, {"$count": "n"}]));
        assert_eq!(un, vec![json!({"n": 2})]);
        let dp = run_json(
            json!([{"$match": {"objectId": "a"}}, {"$project": {"y": {"$year": "$d"}, "m": {"$month": "$d"}, "_id": 0}}]),
        );
        assert_eq!(dp, vec![json!({"y": 2020, "m": 3})]);
        let ptr = run_json(
            json!([{"$match": {"owner": {"$exists": true}}}, {"$group": {"_id": "$owner", "n": {"$sum": 1}}}]),
        );
        assert_eq!(ptr, vec![json!({"objectId": "u1", "n": 1})]);
    }

    #[test]
    fn geo_near_orders_by_distance() {
        let pts: Vec<Row> = [(1.0, 1.0, 1), (3.0, 1.0, 3), (2.0, 1.0, 2)]
            .iter()
            .map(|(lat, lng, v)| {
                json!({"objectId": format!("p{v}"), "v": v, "loc": {"__type": "GeoPoint", "latitude": lat, "longitude": lng}})
                    .as_object()
                    .unwrap()
                    .clone()
            })
            .collect();
        let out = run(&[json!({"$geoNear": {"near": {"type": "Point", "coordinates": [1, 1]}, "key": "loc", "distanceField": "d", "query": {"v": {"$gte": 2}}}})], pts.clone()).unwrap();
        let vs: Vec<i64> = out.iter().map(|r| r["v"].as_i64().unwrap()).collect();
        assert_eq!(vs, vec![2, 3]);
        assert!(
            out[0]["d"].as_f64().unwrap() > 100_000.0,
            "meters for a GeoJSON point"
        );
        let legacy = run(
            &[json!({"$geoNear": {"near": [1, 1], "distanceField": "d"}})],
            pts,
        )
        .unwrap();
        assert_eq!(legacy.len(), 3);
        assert!(
            legacy[2]["d"].as_f64().unwrap() < 0.1,
            "radians for a legacy pair"
        );
    }

    #[test]
    fn unknown_stage_is_a_clear_error() {
        let e = run(&[json!({"$lookup": {}})], rows()).unwrap_err();
        assert_eq!(e.code(), crate::error::code::COMMAND_UNAVAILABLE);
    }
}
