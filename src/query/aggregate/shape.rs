//! Stages that reshape each row: `$addFields`/`$set`, `$unset`, `$replaceRoot`/`$replaceWith`
//! and `$project` (inclusion, exclusion, computed fields), with dotted paths into embedded
//! objects as MongoDB takes them.

use super::Row;
use crate::error::{Error, Result};
use crate::query::expr::{self, field_path, get_path};
use serde_json::{Map, Value};

/// Sets `path` (dotted) in `row`, making embedded objects on the way; `None` removes it.
fn set_path(row: &mut Row, path: &[&str], value: Option<Value>) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut at = row;
    for p in parents {
        let slot = at
            .entry(p.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if !slot.is_object() {
            *slot = Value::Object(Map::new());
        }
        let Value::Object(next) = slot else { return };
        at = next;
    }
    match value {
        Some(v) => {
            at.insert(last.to_string(), v);
        }
        None => {
            at.remove(*last);
        }
    }
}

fn remove_path(row: &mut Row, path: &[&str]) {
    match path {
        [] => {}
        [last] => {
            row.remove(*last);
        }
        [first, rest @ ..] => match row.get_mut(*first) {
            Some(Value::Object(m)) => remove_path(m, rest),
            Some(Value::Array(a)) => {
                for it in a {
                    if let Value::Object(m) = it {
                        remove_path(m, rest);
                    }
                }
            }
            _ => {}
        },
    }
}

/// A field name as a pipeline row holds it (`objectId` is `_id`).
fn stored_name(k: &str) -> String {
    field_path(k).join(".")
}

/// `$addFields` / `$set`: each field set to its expression's value (evaluated on the row as it
/// came in); an object of plain fields merges into an embedded object.
pub fn add_fields(spec: &Value, rows: Vec<Row>) -> Result<Vec<Row>> {
    let spec = spec
        .as_object()
        .ok_or_else(|| Error::query("$addFields takes an object"))?;
    rows.into_iter()
        .map(|row| {
            let mut out = row.clone();
            for (k, v) in spec {
                let name = stored_name(k);
                let path: Vec<&str> = name.split('.').collect();
                let value = expr::eval(v, &row)?;
                match (value, get_path(&row, &field_path(k))) {
                    // A plain object spec merges into the embedded object already there.
                    (Some(Value::Object(new)), Some(Value::Object(mut old)))
                        if v.as_object()
                            .is_some_and(|m| !m.keys().any(|x| x.starts_with('$'))) =>
                    {
                        old.extend(new);
                        set_path(&mut out, &path, Some(Value::Object(old)));
                    }
                    (value, _) => set_path(&mut out, &path, value),
                }
            }
            Ok(out)
        })
        .collect()
}

/// `$unset`: a field name or a list of them.
pub fn unset(spec: &Value, rows: Vec<Row>) -> Result<Vec<Row>> {
    let names: Vec<String> = match spec {
        Value::String(s) => vec![stored_name(s)],
        Value::Array(a) => a
            .iter()
            .map(|v| v.as_str().map(stored_name))
            .collect::<Option<_>>()
            .ok_or_else(|| Error::query("$unset takes field names"))?,
        _ => {
            return Err(Error::query(
                "$unset takes a field name or an array of them",
            ))
        }
    };
    Ok(rows
        .into_iter()
        .map(|mut r| {
            for n in &names {
                remove_path(&mut r, &n.split('.').collect::<Vec<_>>());
            }
            r
        })
        .collect())
}

/// `$replaceRoot: {newRoot}` / `$replaceWith`: the expression's object becomes the row.
pub fn replace_root(root: &Value, rows: Vec<Row>) -> Result<Vec<Row>> {
    rows.into_iter()
        .map(|row| match expr::eval(root, &row)? {
            Some(Value::Object(m)) => Ok(m),
            other => Err(Error::query(format!(
                "'newRoot' expression must evaluate to an object, but resulting value was: {}",
                other.map_or("MISSING".to_string(), |v| v.to_string())
            ))),
        })
        .collect()
}

/// `$project`: fields kept (`1`/`true`), dropped (`0`/`false`) or computed; `_id` kept unless
/// dropped.
pub fn project(spec: &Value, rows: Vec<Row>) -> Result<Vec<Row>> {
    let spec = spec
        .as_object()
        .ok_or_else(|| Error::query("$project takes an object"))?;
    let flag = |v: &Value| match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_f64().map(|f| f != 0.0),
        _ => None,
    };
    let inclusive = spec
        .iter()
        .any(|(k, v)| stored_name(k) != "_id" && flag(v) != Some(false));
    rows.into_iter()
        .map(|row| {
            if !inclusive {
                let mut out = row;
                for k in spec.keys() {
                    remove_path(&mut out, &stored_name(k).split('.').collect::<Vec<_>>());
                }
                return Ok(out);
            }
            let mut out = Row::new();
            let keep_id = spec
                .iter()
                .find(|(k, _)| stored_name(k) == "_id")
                .is_none_or(|(_, v)| flag(v) != Some(false));
            if keep_id {
                if let Some(id) = row.get("_id") {
                    out.insert("_id".into(), id.clone());
                }
            }
            for (k, v) in spec {
                let name = stored_name(k);
                if name == "_id" && flag(v).is_some() {
                    continue;
                }
                let val = match flag(v) {
                    Some(true) => get_path(&row, &field_path(k)),
                    Some(false) => None,
                    None => expr::eval(v, &row)?,
                };
                if val.is_some() {
                    set_path(&mut out, &name.split('.').collect::<Vec<_>>(), val);
                }
            }
            Ok(out)
        })
        .collect()
}
