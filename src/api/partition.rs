//! The seed package's `Partition` API (`partition.<method>` calls): MongoDB-collection-style
//! calls on one class (`insertOne`, `find`, `count`, `updateOne`, `upsertOne`, `updateMany`,
//! `deleteOne`, `deleteMany`), with `_id` for `objectId` and `$set`/`$inc`/… updates,
//! translated here into the Parse queries, updates and objects the adapter takes and answers.

use super::{arg, str_arg};
use crate::adapter::{Adapter, FindOptions};
use crate::error::{Error, Result};
use serde_json::{json, Map, Value};

/// Mongo-style query (`_id`) → Parse query (`objectId`).
fn mongo_query(q: &Value) -> Value {
    crate::query::parse::rename_fields(q, &|k| if k == "_id" { "objectId" } else { k })
}

/// Mongo-style update (`$set`, `$unset`, `$inc`, `$push`, `$addToSet`, `$pull`, or a plain
/// object of fields) → Parse update ops.
fn mongo_update(u: &Value) -> Result<Value> {
    let m = u
        .as_object()
        .ok_or_else(|| Error::json("update must be an object"))?;
    let mut out = Map::new();
    for (k, v) in m {
        let fields = || v.as_object().cloned().unwrap_or_default();
        let each = |v: &Value| match v.get("$each").and_then(Value::as_array) {
            Some(a) => Value::Array(a.clone()),
            None => Value::Array(vec![v.clone()]),
        };
        match k.as_str() {
            "$set" => out.extend(fields()),
            "$unset" => out.extend(
                fields()
                    .into_iter()
                    .map(|(f, _)| (f, json!({"__op": "Delete"}))),
            ),
            "$inc" => out.extend(
                fields()
                    .into_iter()
                    .map(|(f, n)| (f, json!({"__op": "Increment", "amount": n}))),
            ),
            "$push" => out.extend(
                fields()
                    .into_iter()
                    .map(|(f, x)| (f, json!({"__op": "Add", "objects": each(&x)}))),
            ),
            "$addToSet" => out.extend(
                fields()
                    .into_iter()
                    .map(|(f, x)| (f, json!({"__op": "AddUnique", "objects": each(&x)}))),
            ),
            "$pull" => out.extend(
                fields()
                    .into_iter()
                    .map(|(f, x)| (f, json!({"__op": "Remove", "objects": each(&x)}))),
            ),
            op if op.starts_with('$') => {
                return Err(Error::json(format!("unsupported update operator {op}")))
            }
            "_id" => {}
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    Ok(Value::Object(out))
}

/// Parse object → Mongo-style (`objectId` → `_id`).
fn mongo_object(v: Value) -> Value {
    match v {
        Value::Object(mut m) => {
            if let Some(id) = m.remove("objectId") {
                m.insert("_id".into(), id);
            }
            Value::Object(m)
        }
        other => other,
    }
}

/// Answers `partition.<method>`: `method` is the part after the dot.
pub(super) async fn call(a: &Adapter, method: &str, args: &[Value]) -> Result<Value> {
    let class = str_arg(args, 0, "className")?;
    crate::adapter::validate_class_name(&class)?;
    let q = mongo_query(arg(args, 1));
    let empty = json!({});
    match method {
        "insertOne" => {
            let mut obj = arg(args, 1)
                .as_object()
                .cloned()
                .ok_or_else(|| Error::json("insertOne takes an object"))?;
            let id = match obj.remove("_id") {
                Some(Value::String(s)) => s,
                Some(other) => other.to_string(),
                None => crate::adapter::new_object_id(),
            };
            obj.insert("objectId".into(), Value::String(id.clone()));
            a.create_object(&class, &Value::Object(obj), None).await?;
            Ok(json!({"insertedId": id}))
        }
        "find" => {
            let opts = FindOptions::from_json(arg(args, 2));
            let rows = a.find(&class, &empty, &q, &opts).await?;
            Ok(Value::Array(rows.into_iter().map(mongo_object).collect()))
        }
        "count" => Ok(json!(a.count(&class, &empty, &q, None).await?)),
        "updateOne" | "upsertOne" => {
            let u = mongo_update(arg(args, 2))?;
            if method == "upsertOne" {
                a.upsert_one(&class, &empty, &q, &u, None).await?;
                return Ok(Value::Null);
            }
            let r = a.find_one_and_update(&class, &empty, &q, &u, None).await?;
            Ok(mongo_object(r))
        }
        "updateMany" => {
            a.update_many(&class, &q, &mongo_update(arg(args, 2))?, None)
                .await
        }
        "deleteOne" | "deleteMany" => {
            let rows = if method == "deleteOne" {
                a.find(
                    &class,
                    &empty,
                    &q,
                    &FindOptions {
                        limit: Some(1),
                        ..Default::default()
                    },
                )
                .await?
            } else {
                vec![]
            };
            let q = match rows.first().and_then(|r| r.get("objectId")) {
                Some(id) => json!({"objectId": id}),
                None if method == "deleteOne" => return Ok(json!({"deletedCount": 0})),
                None => q,
            };
            match a.delete_by_query(&class, &q, None).await {
                Ok(n) => Ok(json!({"deletedCount": n})),
                Err(Error::ObjectNotFound) => Ok(json!({"deletedCount": 0})),
                Err(e) => Err(e),
            }
        }
        other => Err(Error::Unsupported(format!(
            "Partition has no method {other}"
        ))),
    }
}
