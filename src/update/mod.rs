//! Parse update operations applied to a stored object: plain sets (also on dotted paths),
//! `Delete`, `Increment`, `Add`, `AddUnique`, `Remove`, and `_auth_data_<provider>` keys that
//! Parse uses for `authData.<provider>`. The store writes the result back with a condition on
//! the object's revision and retries on conflict, so no concurrent update is lost; this module
//! is pure and decides only what the new object is. `expression` gives the updates DynamoDB
//! can apply alike their in-place `UpdateItem` form.

mod expression;
pub use expression::{in_place, InPlace};

use crate::codec::canonical_field;
use crate::error::{Error, Result};
use crate::query::eval::value_eq;
use serde_json::{Map, Value};

/// Turns Parse's `_auth_data_<provider>` keys into `authData.<provider>` paths.
pub fn auth_data_path(key: &str) -> Option<String> {
    key.strip_prefix("_auth_data_")
        .map(|p| format!("authData.{p}"))
}

/// Applies `update` to `obj` in place.
pub fn apply(obj: &mut Map<String, Value>, update: &Map<String, Value>) -> Result<()> {
    for (key, op) in update {
        let key = auth_data_path(key).unwrap_or_else(|| key.clone());
        if key == "objectId" {
            continue;
        }
        let path: Vec<&str> = key.split('.').collect();
        if path.iter().any(|s| s.is_empty()) {
            return Err(Error::InvalidKeyName(format!("invalid field name: {key}")));
        }
        apply_one(obj, &path, op)?;
    }
    Ok(())
}

fn op_name(v: &Value) -> Option<&str> {
    v.as_object()?.get("__op")?.as_str()
}

fn objects(op: &Value) -> Result<Vec<Value>> {
    let arr = op
        .get("objects")
        .and_then(Value::as_array)
        .ok_or_else(|| Error::json("objects to add must be an array"))?;
    arr.iter().map(crate::codec::canonical).collect()
}

fn apply_one(obj: &mut Map<String, Value>, path: &[&str], op: &Value) -> Result<()> {
    match op_name(op) {
        Some("Delete") => {
            remove_path(obj, path);
            Ok(())
        }
        Some("Increment") => {
            let amount = op
                .get("amount")
                .and_then(Value::as_number)
                .cloned()
                .ok_or_else(|| Error::json("Increment amount must be a number"))?;
            let slot = slot(obj, path)?;
            let new = match slot.take() {
                Value::Null => Value::Number(amount),
                Value::Number(n) => add_numbers(&n, &amount)?,
                _ => {
                    return Err(Error::IncorrectType(format!(
                        "Cannot increment a non-number field {}",
                        path.join(".")
                    )))
                }
            };
            *slot = new;
            Ok(())
        }
        Some(name @ ("Add" | "AddUnique" | "Remove")) => {
            let items = objects(op)?;
            let slot = slot(obj, path)?;
            let mut arr = match slot.take() {
                Value::Null => Vec::new(),
                Value::Array(a) => a,
                _ => {
                    return Err(Error::IncorrectType(format!(
                        "{name} applies only to arrays, and {} is not one",
                        path.join(".")
                    )))
                }
            };
            match name {
                "Add" => arr.extend(items),
                "AddUnique" => {
                    for it in items {
                        if !arr.iter().any(|e| value_eq(e, &it)) {
                            arr.push(it);
                        }
                    }
                }
                _ => arr.retain(|e| !items.iter().any(|it| value_eq(e, it))),
            }
            *slot = Value::Array(arr);
            Ok(())
        }
        Some(other) => Err(Error::json(format!(
            "The adapter cannot apply the {other} operation"
        ))),
        None => {
            // A whole field gets the field rules (File names, closed Polygons, date strings);
            // a value set inside an object is stored as given, like any nested value.
            let v = if path.len() == 1 {
                canonical_field(path[0], op)?
            } else {
                crate::codec::check_nested_keys(op)?;
                crate::codec::canonical(op)?
            };
            if path.len() == 1 && path[0].starts_with("authData") && v.is_null() {
                remove_path(obj, path);
                return Ok(());
            }
            if path[0] == "authData" && path.len() == 2 && v.is_null() {
                remove_path(obj, path);
                return Ok(());
            }
            *slot(obj, path)? = v;
            Ok(())
        }
    }
}

fn add_numbers(a: &serde_json::Number, b: &serde_json::Number) -> Result<Value> {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        if let Some(s) = x.checked_add(y) {
            return Ok(Value::from(s));
        }
    }
    let s = a.as_f64().unwrap_or(0.0) + b.as_f64().unwrap_or(0.0);
    serde_json::Number::from_f64(s)
        .map(Value::Number)
        .ok_or_else(|| Error::json("Increment overflowed"))
}

/// The value slot at `path`, creating intermediate objects; Null when absent. Numeric segments
/// index into arrays (`items.0.count`), padding with nulls as Mongo does.
fn slot<'a>(obj: &'a mut Map<String, Value>, path: &[&str]) -> Result<&'a mut Value> {
    let (first, rest) = path
        .split_first()
        .ok_or_else(|| Error::json("empty field name"))?;
    let entry = obj.entry(first.to_string()).or_insert(Value::Null);
    descend(entry, rest, path)
}

fn descend<'a>(v: &'a mut Value, rest: &[&str], full: &[&str]) -> Result<&'a mut Value> {
    let Some((seg, more)) = rest.split_first() else {
        return Ok(v);
    };
    if v.is_null() {
        *v = Value::Object(Map::new());
    }
    match v {
        Value::Object(m) => {
            let e = m.entry(seg.to_string()).or_insert(Value::Null);
            descend(e, more, full)
        }
        Value::Array(a) => {
            let i: usize = seg.parse().map_err(|_| {
                Error::IncorrectType(format!(
                    "cannot set {} inside an array without an index",
                    full.join(".")
                ))
            })?;
            if i > 100_000 {
                return Err(Error::json(format!(
                    "array index {i} in {} is too large",
                    full.join(".")
                )));
            }
            if a.len() <= i {
                a.resize(i + 1, Value::Null);
            }
            descend(&mut a[i], more, full)
        }
        _ => Err(Error::IncorrectType(format!(
            "cannot set {} inside a value that is not an object",
            full.join(".")
        ))),
    }
}

fn remove_path(obj: &mut Map<String, Value>, path: &[&str]) {
    match path {
        [] => {}
        [last] => {
            obj.remove(*last);
        }
        [first, rest @ ..] => {
            if let Some(v) = obj.get_mut(*first) {
                remove_in(v, rest);
            }
        }
    }
}

fn remove_in(v: &mut Value, path: &[&str]) {
    match v {
        Value::Object(m) => remove_path(m, path),
        Value::Array(a) => {
            if let Some(i) = path.first().and_then(|s| s.parse::<usize>().ok()) {
                if path.len() == 1 {
                    if i < a.len() {
                        a[i] = Value::Null; // Mongo's $unset on an element leaves null
                    }
                } else if let Some(e) = a.get_mut(i) {
                    remove_in(e, &path[1..]);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(obj: Value, upd: Value) -> Result<Value> {
        let mut o = obj.as_object().unwrap().clone();
        apply(&mut o, upd.as_object().unwrap())?;
        Ok(Value::Object(o))
    }

    #[test]
    fn ops() {
        let r = run(
            json!({"n": 1, "a": [1, 2], "o": {"x": 1}, "gone": 1}),
            json!({
                "n": {"__op": "Increment", "amount": 2},
                "m": {"__op": "Increment", "amount": 1.5},
                "a": {"__op": "AddUnique", "objects": [2, 3]},
                "o.y": 2,
                "o.x": {"__op": "Increment", "amount": 1},
                "gone": {"__op": "Delete"},
                "updatedAt": "2020-01-01T00:00:00.000Z"
            }),
        )
        .unwrap();
        assert_eq!(r["n"], 3);
        assert_eq!(r["m"], 1.5);
        assert_eq!(r["a"], json!([1, 2, 3]));
        assert_eq!(r["o"], json!({"x": 2, "y": 2}));
        assert!(r.get("gone").is_none());
        assert_eq!(r["updatedAt"]["__type"], "Date");
    }

    #[test]
    fn remove_and_add() {
        let r = run(json!({"a": [1, 2, 1, 3]}), json!({"a": {"__op": "Remove", "objects": [1]}, "b": {"__op": "Add", "objects": [1, 1]}})).unwrap();
        assert_eq!(r["a"], json!([2, 3]));
        assert_eq!(r["b"], json!([1, 1]));
    }

    #[test]
    fn array_index_paths() {
        let r = run(
            json!({"items": [{"count": 1}, {"count": 5}]}),
            json!({"items.1.count": {"__op": "Increment", "amount": 2}, "items.0.name": "a"}),
        )
        .unwrap();
        assert_eq!(r["items"], json!([{"count": 1, "name": "a"}, {"count": 7}]));
        let r = run(
            json!({"items": [{"count": 1}]}),
            json!({"items.2.count": {"__op": "Increment", "amount": 1}}),
        )
        .unwrap();
        assert_eq!(r["items"], json!([{"count": 1}, null, {"count": 1}]));
    }

    #[test]
    fn files_set_inside_objects_keep_their_url() {
        let file = json!({"__type": "File", "name": "n", "url": "http://u"});
        let r = run(
            json!({}),
            json!({"params.file": file.clone(), "top": file.clone()}),
        )
        .unwrap();
        assert_eq!(r["params"]["file"], file);
        assert_eq!(r["top"], json!({"__type": "File", "name": "n"}));
    }

    #[test]
    fn auth_data() {
        let r = run(
            json!({"authData": {"fb": {"id": "1"}, "tw": {"id": "2"}}}),
            json!({"_auth_data_fb": null, "_auth_data_gh": {"id": "3"}}),
        )
        .unwrap();
        assert_eq!(r["authData"], json!({"tw": {"id": "2"}, "gh": {"id": "3"}}));
    }

    #[test]
    fn type_errors() {
        assert!(run(
            json!({"s": "x"}),
            json!({"s": {"__op": "Increment", "amount": 1}})
        )
        .is_err());
        assert!(run(
            json!({"s": "x"}),
            json!({"s": {"__op": "Add", "objects": [1]}})
        )
        .is_err());
        assert!(run(json!({}), json!({"s": {"__op": "Frobnicate"}})).is_err());
    }
}
