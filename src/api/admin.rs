//! The command-line tool's calls (`admin.*`): the table (describe, create with TTL, delete),
//! classes with their counts, imports (`importObjects`, `recount`, the import mark), spreading
//! an index over shards ahead of throttling, and paged export of this adapter's objects and of
//! a legacy table's. `call` answers `Ok(None)` for a name it does not own.

use super::{arg, str_arg};
use crate::adapter::Adapter;
use crate::admin;
use crate::error::Result;
use serde_json::{json, Value};

/// Answers `method` if it is one of the command-line tool's `admin.*` calls; `Ok(None)` if not.
pub(super) async fn call(a: &Adapter, method: &str, args: &[Value]) -> Result<Option<Value>> {
    Ok(Some(match method {
        "admin.describeTable" => a.store().describe().await?,
        "admin.createTable" => create_table(a, args).await?,
        "admin.deleteTable" => {
            a.store().delete_table().await?;
            Value::Null
        }
        // ---- imports (`import-from`) ----
        "admin.importObjects" => {
            a.import_objects(&str_arg(args, 0, "className")?, arg(args, 1))
                .await?
        }
        "admin.recount" => json!(a.recount(&str_arg(args, 0, "className")?).await?),
        // Where an import of a class got to (None: not started), and setting it.
        "admin.importMark" => {
            let class = str_arg(args, 0, "className")?;
            match arg(args, 1) {
                Value::Null => admin::import_mark(a.store(), &class).await?,
                mark => {
                    admin::set_import_mark(a.store(), &class, mark).await?;
                    Value::Null
                }
            }
        }
        // Spreads an index over shards now instead of when DynamoDB throttles it.
        "admin.shardIndex" => {
            a.shard_index(
                &str_arg(args, 0, "className")?,
                &str_arg(args, 1, "index spec")?,
            )
            .await?;
            Value::Null
        }
        "admin.classes" => classes(a).await?,
        "admin.exportPage" => export_page(a, args).await?,
        "admin.countClass" => json!(a.store().count(&str_arg(args, 0, "className")?).await?),
        "admin.legacySchemas" => Value::Array(admin::legacy_schemas(a.store()).await?),
        "admin.legacyPage" => legacy_page(a, args).await?,
        _ => return Ok(None),
    }))
}

/// `admin.createTable({readCapacityUnits, writeCapacityUnits})` (both, or on demand): creates
/// the table, waits until it is active, turns on its TTL and answers its description.
async fn create_table(a: &Adapter, args: &[Value]) -> Result<Value> {
    let opts = arg(args, 0);
    let provisioned = match (
        opts.get("readCapacityUnits").and_then(Value::as_i64),
        opts.get("writeCapacityUnits").and_then(Value::as_i64),
    ) {
        (Some(r), Some(w)) => Some((r, w)),
        _ => None,
    };
    a.store().create_table(provisioned).await?;
    a.store().ensure_table(false).await?;
    a.store().enable_ttl(crate::store::TTL_ATTRIBUTE).await?;
    a.store().describe().await
}

/// `admin.classes()`: every class with its object count.
async fn classes(a: &Adapter) -> Result<Value> {
    let mut out = Vec::new();
    for s in a.get_all_classes().await? {
        let name = s["className"].as_str().unwrap_or_default().to_string();
        let count = a.count(&name, &json!({}), &json!({}), None).await?;
        out.push(json!({"className": name, "count": count}));
    }
    Ok(Value::Array(out))
}

/// `admin.exportPage(className, start, limit)`: up to `limit` (1 to 1000, 500 by default)
/// objects and where the next page starts.
async fn export_page(a: &Adapter, args: &[Value]) -> Result<Value> {
    let class = str_arg(args, 0, "className")?;
    let limit = arg(args, 2).as_i64().unwrap_or(500).clamp(1, 1000) as i32;
    let (objects, next) = admin::export_page(
        a.store(),
        &class,
        admin::start_from_json(arg(args, 1)),
        limit,
    )
    .await?;
    Ok(json!({"objects": objects, "next": next.as_ref().map(admin::start_to_json)}))
}

/// `admin.legacyPage(className, schema, start, limit)`: a page of the objects the old adapter
/// stored, in the form `createObject` takes, and where the next page starts.
async fn legacy_page(a: &Adapter, args: &[Value]) -> Result<Value> {
    let class = str_arg(args, 0, "className")?;
    let limit = arg(args, 3).as_i64().unwrap_or(500).clamp(1, 1000) as i32;
    let (items, next) = admin::page(
        a.store(),
        &class,
        admin::start_from_json(arg(args, 2)),
        limit,
    )
    .await?;
    let objects = items
        .iter()
        .map(|i| admin::legacy_object(i, arg(args, 1)))
        .collect::<Result<Vec<_>>>()?;
    Ok(json!({"objects": objects, "next": next.as_ref().map(admin::start_to_json)}))
}
