//! Object calls: `createObject`, `find`, `count`, `distinct`, `aggregate`, `explain`,
//! `findOneAndUpdate`, `updateObjectsByQuery`, `upsertOneObject` and `deleteObjectsByQuery`,
//! each handed to the adapter with its class, schema, query, options and transactional session
//! taken from Parse's argument positions. `call` answers `Ok(None)` for a name it does not own.

use super::{arg, schema_arg, session, str_arg};
use crate::adapter::{to_parse, Adapter, FindOptions};
use crate::error::Result;
use crate::query::aggregate::raw::Raw;
use serde_json::{json, Map, Value};

/// Answers `method` if it creates, reads, updates or deletes objects; `Ok(None)` if not.
pub(super) async fn call(a: &Adapter, method: &str, args: &[Value]) -> Result<Option<Value>> {
    Ok(Some(match method {
        "createObject" => {
            a.create_object(
                &str_arg(args, 0, "className")?,
                arg(args, 2),
                session(args, 3),
            )
            .await?
        }
        "find" => {
            let opts = FindOptions::from_json(arg(args, 3));
            Value::Array(
                a.find(
                    &str_arg(args, 0, "className")?,
                    schema_arg(args, 1),
                    arg(args, 2),
                    &opts,
                )
                .await?,
            )
        }
        "aggregate" => Value::Array(
            a.aggregate(
                &str_arg(args, 0, "className")?,
                schema_arg(args, 1),
                arg(args, 2),
                arg(args, 3).as_str(),
                Raw {
                    values: arg(args, 4).as_bool() == Some(true),
                    field_names: arg(args, 5).as_bool() == Some(true),
                },
            )
            .await?,
        ),
        "explain" => explain(a, args).await?,
        "count" => json!(
            a.count(
                &str_arg(args, 0, "className")?,
                schema_arg(args, 1),
                arg(args, 2),
                arg(args, 3).as_str()
            )
            .await?
        ),
        "distinct" => Value::Array(
            a.distinct(
                &str_arg(args, 0, "className")?,
                schema_arg(args, 1),
                arg(args, 2),
                &str_arg(args, 3, "fieldName")?,
            )
            .await?,
        ),
        "findOneAndUpdate" => {
            a.find_one_and_update(
                &str_arg(args, 0, "className")?,
                schema_arg(args, 1),
                arg(args, 2),
                arg(args, 3),
                session(args, 4),
            )
            .await?
        }
        "updateObjectsByQuery" => {
            a.update_many(
                &str_arg(args, 0, "className")?,
                arg(args, 2),
                arg(args, 3),
                session(args, 4),
            )
            .await?
        }
        "upsertOneObject" => {
            a.upsert_one(
                &str_arg(args, 0, "className")?,
                schema_arg(args, 1),
                arg(args, 2),
                arg(args, 3),
                session(args, 4),
            )
            .await?
        }
        "deleteObjectsByQuery" => json!(
            a.delete_by_query(
                &str_arg(args, 0, "className")?,
                arg(args, 2),
                session(args, 3)
            )
            .await?
        ),
        _ => return Ok(None),
    }))
}

/// `explain(className, schema, query, options)`: the plan, in the mode `options.explain` asks
/// for (`true` when absent).
async fn explain(a: &Adapter, args: &[Value]) -> Result<Value> {
    let opts = FindOptions::from_json(arg(args, 3));
    let mode = arg(args, 3)
        .get("explain")
        .cloned()
        .unwrap_or(Value::Bool(true));
    a.explain(
        &str_arg(args, 0, "className")?,
        schema_arg(args, 1),
        arg(args, 2),
        &opts,
        &mode,
    )
    .await
}

/// Converts a stored object for callers outside Parse (kept for symmetry with `to_parse`).
pub fn parse_json(obj: Map<String, Value>) -> Value {
    to_parse(obj, &json!({}))
}
