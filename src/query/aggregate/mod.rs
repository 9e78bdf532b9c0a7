//! Aggregation pipeline stages, evaluated in Rust over the rows of a class: `$match` (Parse
//! query semantics, through the evaluator), `$group` (accumulators `$sum $avg $min $max
//! $first $last $push $addToSet $count $stdDevPop $stdDevSamp $mergeObjects`), `$project`,
//! `$addFields`/`$set`, `$unset`, `$replaceRoot`/`$replaceWith`, `$sort`, `$skip`, `$limit`,
//! `$unwind`, `$count`, `$sample`, `$sortByCount`, `$bucket`, `$facet`, `$geoNear`, and the
//! join of `$lookup` (the caller reads the other class: see `Lookup`). Expressions are
//! `expr`'s. Rows carry their objectId as `_id`, as MongoDB documents do; results give `_id`
//! back as `objectId` (a Pointer `_id` as its objectId), the way Parse's Mongo adapter answers.

use super::eval::{matches, sort_cmp};
use super::expr::{field_path, get_path};
use super::parse::{parse_field_name, parse_query, rename_fields};
use crate::codec::parse_type;
use crate::error::{Error, Result};
use serde_json::{json, Map, Value};
use std::cmp::Ordering;

mod group;
mod lookup;
pub mod raw;
mod shape;
#[cfg(test)]
mod tests;

pub use group::Grouping;
use group::{bucket, group, sort_by_count};
pub use lookup::Lookup;
use shape::{add_fields, project, replace_root, unset};

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

/// Runs a whole pipeline (no `$lookup`) over a class's rows, as Parse JSON objects.
pub fn run(pipeline: &[Value], rows: Vec<Row>) -> Result<Vec<Row>> {
    Ok(finish(
        stages(pipeline, start(rows))?,
        pointer_group(pipeline),
    ))
}

/// Whether a `$group` keys on a `$_p_<field>` (a Pointer in MongoDB's stored form): Parse's
/// Mongo adapter then gives each key back as the objectId after the `$`.
pub fn pointer_group(pipeline: &[Value]) -> bool {
    pipeline.iter().any(|s| {
        s.get("$group")
            .and_then(|g| g.get("_id"))
            .and_then(Value::as_str)
            .is_some_and(|id| id.contains("$_p_"))
    })
}

/// Pipeline rows of objects: the objectId as `_id`.
pub fn start(rows: Vec<Row>) -> Vec<Row> {
    rows.into_iter().map(row).collect()
}

/// The pipeline row of one object: its objectId as `_id`.
pub fn row(mut obj: Row) -> Row {
    if let Some(id) = obj.remove("objectId") {
        obj.insert("_id".into(), id);
    }
    obj
}

/// Results as Parse's Mongo adapter gives them: `_id` as `objectId`, a Pointer `_id` as its
/// objectId (also `Class$id` keys of a `pointer_group`), an empty `_id` as null.
pub fn finish(rows: Vec<Row>, pointer_group: bool) -> Vec<Row> {
    rows.into_iter()
        .map(|mut r| {
            if let Some(id) = r.remove("_id") {
                let id = match (&id, parse_type(&id)) {
                    (_, Some("Pointer")) => id.get("objectId").cloned().unwrap_or(Value::Null),
                    (Value::String(s), _) if pointer_group && s.contains('$') => {
                        json!(s.split('$').nth(1).unwrap_or_default())
                    }
                    (Value::Object(m), None) if m.is_empty() => Value::Null,
                    (Value::Array(a), _) if a.is_empty() => Value::Null,
                    (Value::String(s), _) if s.is_empty() => Value::Null,
                    _ => id,
                };
                r.insert("objectId".into(), id);
            }
            r
        })
        .collect()
}

/// The name and argument of a stage.
pub fn stage_of(stage: &Value) -> Result<(&str, &Value)> {
    match stage.as_object().map(|m| m.iter().collect::<Vec<_>>()) {
        Some(v) if v.len() == 1 => Ok((v[0].0.as_str(), v[0].1)),
        _ => Err(Error::query("Pipeline stages should only have one key")),
    }
}

/// Runs stages over pipeline rows. A `$lookup` here is an error: the caller runs the stages
/// before it, reads the other class and joins (`Lookup`).
pub fn stages(pipeline: &[Value], mut rows: Vec<Row>) -> Result<Vec<Row>> {
    for stage in pipeline {
        let (name, arg) = stage_of(stage)?;
        rows = match name {
            "$match" => {
                let q = rename_object_id(arg);
                let expr = parse_query(&q, false)?;
                rows.into_iter().filter(|r| matches(&expr, r)).collect()
            }
            "$group" => group(arg, rows)?,
            "$geoNear" => geo_near(arg, rows)?,
            "$project" => project(arg, rows)?,
            "$addFields" | "$set" => add_fields(arg, rows)?,
            "$unset" => unset(arg, rows)?,
            "$replaceRoot" => {
                let root = arg
                    .get("newRoot")
                    .ok_or_else(|| Error::query("$replaceRoot requires a 'newRoot' field"))?;
                replace_root(root, rows)?
            }
            "$replaceWith" => replace_root(arg, rows)?,
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
            "$sortByCount" => sort_by_count(arg, rows)?,
            "$bucket" => bucket(arg, rows)?,
            "$facet" => facet(arg, rows)?,
            "$lookup" => {
                return Err(Error::Unsupported(
                    "$lookup inside $facet is not supported by the DynamoDB adapter yet".into(),
                ))
            }
            other => {
                return Err(Error::Unsupported(format!(
                    "the aggregation stage {other} is not supported by the DynamoDB adapter yet"
                )))
            }
        };
    }
    Ok(rows)
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
            Some(k) => get_path(&row, &field_path(k)).and_then(|p| as_geo_point(&p)),
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

/// `$facet: {name: [stages]}`: one row holding each sub-pipeline's rows under its name.
fn facet(spec: &Value, rows: Vec<Row>) -> Result<Vec<Row>> {
    let spec = spec
        .as_object()
        .ok_or_else(|| Error::query("$facet takes an object of pipelines"))?;
    let mut out = Row::new();
    for (name, sub) in spec {
        let sub = sub
            .as_array()
            .ok_or_else(|| Error::query(format!("$facet's '{name}' must be an array of stages")))?;
        for st in sub {
            let (stage, _) = stage_of(st)?;
            if matches!(stage, "$facet" | "$out" | "$merge" | "$geoNear") {
                return Err(Error::query(format!(
                    "{stage} is not allowed to be used within a $facet stage"
                )));
            }
        }
        let got = stages(sub, rows.clone())?;
        out.insert(
            name.clone(),
            Value::Array(got.into_iter().map(Value::Object).collect()),
        );
    }
    Ok(vec![out])
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
            let o = sort_cmp(get_path(a, path).as_ref(), get_path(b, path).as_ref());
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
