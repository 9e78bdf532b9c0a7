//! One entry point for every adapter call: `call(method, args)` takes the method name and its
//! arguments as a JSON array (as the JS shim passes them) and answers JSON. The N-API binding
//! and the Rust tests both go through it, so argument handling is tested without Node. It also
//! holds the seed's `Partition` API (Mongo-style `_id`, `$set`/`$inc`/… updates), translated
//! here into the Parse forms the adapter takes.

use crate::adapter::{to_parse, Adapter, FindOptions, Options};
use crate::admin;
use crate::embedded;
use crate::error::{Error, Result};
use crate::indexes::AutoIndexPolicy;
use crate::layout::index::{self, Kind};
use crate::query::aggregate::raw::Raw;
use crate::store::StoreConfig;
use serde_json::{json, Map, Value};

/// The adapter's own options (beside the store's): `readPreference`, `autoIndex` (`false`,
/// `true`, or `{minUnits, ratio, maxPerClass}`) and `shardHotIndexes` (`true`, `false`).
pub fn options_from_json(v: &Value) -> Result<Options> {
    let eventual_reads = match v
        .get("readPreference")
        .and_then(Value::as_str)
        .map(str::to_uppercase)
        .as_deref()
    {
        None | Some("" | "PRIMARY" | "PRIMARY_PREFERRED") => false,
        Some("SECONDARY" | "SECONDARY_PREFERRED" | "NEAREST") => true,
        Some(other) => {
            return Err(Error::json(format!(
                "readPreference {other:?}: one of PRIMARY, PRIMARY_PREFERRED, SECONDARY, SECONDARY_PREFERRED, NEAREST"
            )))
        }
    };
    let mut auto_index = AutoIndexPolicy::default();
    match v.get("autoIndex") {
        None | Some(Value::Null) => {}
        Some(Value::Bool(on)) => auto_index.enabled = *on,
        Some(Value::Object(m)) => {
            let n = |k: &str, d: f64| -> Result<f64> {
                match m.get(k) {
                    None => Ok(d),
                    Some(v) => v
                        .as_f64()
                        .filter(|n| *n >= 0.0)
                        .ok_or_else(|| Error::json(format!("autoIndex.{k} must be a number"))),
                }
            };
            auto_index.enabled = m.get("enabled").and_then(Value::as_bool).unwrap_or(true);
            auto_index.min_units = n("minUnits", auto_index.min_units)?;
            auto_index.ratio = n("ratio", auto_index.ratio)?;
            auto_index.max_per_class = n("maxPerClass", auto_index.max_per_class as f64)? as usize;
        }
        Some(other) => {
            return Err(Error::json(format!(
                "autoIndex must be true, false or {{minUnits, ratio, maxPerClass}}, not {other}"
            )))
        }
    }
    let shard_hot = match v.get("shardHotIndexes") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(on)) => *on,
        Some(other) => {
            return Err(Error::json(format!(
                "shardHotIndexes must be true or false, not {other}"
            )))
        }
    };
    let enable_stream = v.get("stream").and_then(Value::as_bool).unwrap_or(false);
    Ok(Options {
        eventual_reads,
        auto_index,
        shard_hot,
        enable_stream,
    })
}

pub fn config_from_json(v: &Value) -> Result<StoreConfig> {
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let table = s("table").ok_or_else(|| Error::json("a table name is required"))?;
    // DynamoDB's rule, checked here so a bad name fails at `new DynamoDB(…)`, not at first use.
    if table.len() < 3
        || table.len() > 255
        || !table
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return Err(Error::json(format!(
            "invalid DynamoDB table name {table:?}: 3 to 255 characters of a-z, A-Z, 0-9, '_', '-', '.'"
        )));
    }
    let creds = v.get("credentials");
    let c = |k: &str| {
        creds
            .and_then(|c| c.get(k))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    Ok(StoreConfig {
        table,
        endpoint: s("endpoint"),
        region: s("region"),
        access_key_id: s("accessKeyId").or_else(|| c("accessKeyId")),
        secret_access_key: s("secretAccessKey").or_else(|| c("secretAccessKey")),
        session_token: s("sessionToken").or_else(|| c("sessionToken")),
        create_table: v
            .get("createTable")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        max_attempts: v.get("maxAttempts").and_then(Value::as_u64).unwrap_or(5) as u32,
        operation_timeout_ms: v.get("timeoutMs").and_then(Value::as_u64).unwrap_or(30_000),
        // `embedded: true | "<data file>" | ":memory:"`, or `endpoint: "embedded"`.
        embedded: match v.get("embedded") {
            Some(Value::Bool(true)) => Some(embedded::DEFAULT_PATH.to_string()),
            Some(Value::String(p)) if !p.is_empty() => Some(p.clone()),
            _ if s("endpoint").as_deref() == Some("embedded") => {
                Some(embedded::DEFAULT_PATH.to_string())
            }
            _ => None,
        },
    })
}

fn arg(args: &[Value], i: usize) -> &Value {
    args.get(i).unwrap_or(&Value::Null)
}

/// A transactional session handle (`{"id": n}`, or the bare id) at position `i`.
fn session(args: &[Value], i: usize) -> Option<u64> {
    let v = arg(args, i);
    v.get("id").and_then(Value::as_u64).or_else(|| v.as_u64())
}

fn str_arg(args: &[Value], i: usize, what: &str) -> Result<String> {
    arg(args, i)
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| Error::json(format!("{what} must be a string")))
}

pub async fn call(a: &Adapter, method: &str, args: &[Value]) -> Result<Value> {
    let empty = json!({});
    let schema = |i: usize| {
        if arg(args, i).is_object() {
            arg(args, i)
        } else {
            &empty
        }
    };
    match method {
        "performInitialization" => a.perform_initialization().await.map(|_| Value::Null),
        "handleShutdown" => {
            a.handle_shutdown().await;
            Ok(Value::Null)
        }
        "classExists" => Ok(json!(
            a.class_exists(&str_arg(args, 0, "className")?).await?
        )),
        "getClass" => a
            .get_class(&str_arg(args, 0, "className")?)
            .await
            .map(|c| c.unwrap_or(Value::Null)),
        "getAllClasses" => Ok(Value::Array(a.get_all_classes().await?)),
        "createClass" => {
            a.create_class(&str_arg(args, 0, "className")?, schema(1))
                .await
        }
        "addFieldIfNotExists" => {
            a.add_field(
                &str_arg(args, 0, "className")?,
                &str_arg(args, 1, "fieldName")?,
                arg(args, 2),
            )
            .await?;
            Ok(Value::Null)
        }
        "updateFieldOptions" => {
            a.update_field_options(
                &str_arg(args, 0, "className")?,
                &str_arg(args, 1, "fieldName")?,
                arg(args, 2),
            )
            .await?;
            Ok(Value::Null)
        }
        "setClassLevelPermissions" => {
            a.set_clps(&str_arg(args, 0, "className")?, arg(args, 1))
                .await?;
            Ok(Value::Null)
        }
        "setIndexesWithSchemaFormat" => {
            a.set_indexes(
                &str_arg(args, 0, "className")?,
                arg(args, 1),
                arg(args, 2),
                arg(args, 3),
            )
            .await?;
            Ok(Value::Null)
        }
        "updateSchemaWithIndexes" => a.update_schema_with_indexes().await.map(|_| Value::Null),
        "getIndexes" => Ok(Value::Array(
            a.get_indexes(&str_arg(args, 0, "className")?).await?,
        )),
        "deleteClass" => Ok(json!(
            a.delete_class(&str_arg(args, 0, "className")?).await?
        )),
        "deleteAllClasses" => {
            a.delete_all_classes(arg(args, 0).as_bool().unwrap_or(false))
                .await?;
            Ok(Value::Null)
        }
        "deleteFields" => {
            let names: Vec<String> = arg(args, 2)
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            a.delete_fields(&str_arg(args, 0, "className")?, &names)
                .await?;
            Ok(Value::Null)
        }
        "ensureUniqueness" => {
            let class = str_arg(args, 0, "className")?;
            for f in arg(args, 2).as_array().into_iter().flatten() {
                if let Some(f) = f.as_str() {
                    a.ensure_unique(&class, f).await?;
                }
            }
            Ok(Value::Null)
        }
        "ensureIndex" => {
            let class = str_arg(args, 0, "className")?;
            let ci = arg(args, 4).as_bool().unwrap_or(false);
            for f in arg(args, 2).as_array().into_iter().flatten() {
                if let Some(f) = f.as_str() {
                    a.ensure_index(&class, f, ci).await?;
                }
            }
            Ok(Value::Null)
        }
        "ensureAuthDataUniqueness" => {
            let provider = str_arg(args, 0, "provider")?;
            a.ensure_unique("_User", &format!("authData.{provider}.id"))
                .await?;
            Ok(Value::Null)
        }
        "createObject" => {
            a.create_object(
                &str_arg(args, 0, "className")?,
                arg(args, 2),
                session(args, 3),
            )
            .await
        }
        "find" => {
            let opts = FindOptions::from_json(arg(args, 3));
            Ok(Value::Array(
                a.find(
                    &str_arg(args, 0, "className")?,
                    schema(1),
                    arg(args, 2),
                    &opts,
                )
                .await?,
            ))
        }
        "aggregate" => Ok(Value::Array(
            a.aggregate(
                &str_arg(args, 0, "className")?,
                schema(1),
                arg(args, 2),
                arg(args, 3).as_str(),
                Raw {
                    values: arg(args, 4).as_bool() == Some(true),
                    field_names: arg(args, 5).as_bool() == Some(true),
                },
            )
            .await?,
        )),
        "explain" => {
            let opts = FindOptions::from_json(arg(args, 3));
            let mode = arg(args, 3)
                .get("explain")
                .cloned()
                .unwrap_or(Value::Bool(true));
            a.explain(
                &str_arg(args, 0, "className")?,
                schema(1),
                arg(args, 2),
                &opts,
                &mode,
            )
            .await
        }
        "count" => Ok(json!(
            a.count(
                &str_arg(args, 0, "className")?,
                schema(1),
                arg(args, 2),
                arg(args, 3).as_str()
            )
            .await?
        )),
        "distinct" => Ok(Value::Array(
            a.distinct(
                &str_arg(args, 0, "className")?,
                schema(1),
                arg(args, 2),
                &str_arg(args, 3, "fieldName")?,
            )
            .await?,
        )),
        "findOneAndUpdate" => {
            a.find_one_and_update(
                &str_arg(args, 0, "className")?,
                schema(1),
                arg(args, 2),
                arg(args, 3),
                session(args, 4),
            )
            .await
        }
        "updateObjectsByQuery" => {
            a.update_many(
                &str_arg(args, 0, "className")?,
                arg(args, 2),
                arg(args, 3),
                session(args, 4),
            )
            .await
        }
        "upsertOneObject" => {
            a.upsert_one(
                &str_arg(args, 0, "className")?,
                schema(1),
                arg(args, 2),
                arg(args, 3),
                session(args, 4),
            )
            .await
        }
        "deleteObjectsByQuery" => Ok(json!(
            a.delete_by_query(
                &str_arg(args, 0, "className")?,
                arg(args, 2),
                session(args, 3)
            )
            .await?
        )),
        "consumedCapacity" => Ok(a.store().usage().to_json()),
        // ---- the command-line tool ----
        "admin.describeTable" => a.store().describe().await,
        "admin.createTable" => {
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
        // The schema version the table's stream has seen once it passes args[0] (or after
        // args[1] ms): the JS shim's `watch` loop.
        "schemaChanges" => Ok(json!(
            a.schema_changes(
                arg(args, 0).as_u64().unwrap_or(0),
                std::time::Duration::from_millis(
                    arg(args, 1).as_u64().unwrap_or(20_000).min(60_000)
                )
            )
            .await?
        )),
        // LiveQuery through the table (`dynamo.liveQueryAdapter()`).
        "liveQueryPublish" => {
            a.live_query_publish(&str_arg(args, 0, "channel")?, &str_arg(args, 1, "message")?)
                .await?;
            Ok(Value::Null)
        }
        "liveQueryMessages" => {
            let (last, messages) = a
                .live_query_messages(
                    arg(args, 0).as_u64(),
                    std::time::Duration::from_millis(
                        arg(args, 1).as_u64().unwrap_or(20_000).min(60_000),
                    ),
                )
                .await?;
            Ok(json!({"cursor": last, "messages": messages}))
        }
        // Request de-duplication (`dynamo.idempotency()`): whether request id args[0] is new.
        "claimRequest" => Ok(json!(
            a.claim_request(
                &str_arg(args, 0, "requestId")?,
                arg(args, 1).as_u64().unwrap_or(300)
            )
            .await?
        )),
        // ---- imports (`import-from`) ----
        "admin.importObjects" => {
            a.import_objects(&str_arg(args, 0, "className")?, arg(args, 1))
                .await
        }
        "admin.recount" => Ok(json!(a.recount(&str_arg(args, 0, "className")?).await?)),
        // Where an import of a class got to (None: not started), and setting it.
        "admin.importMark" => {
            let class = str_arg(args, 0, "className")?;
            match arg(args, 1) {
                Value::Null => admin::import_mark(a.store(), &class).await,
                mark => {
                    admin::set_import_mark(a.store(), &class, mark).await?;
                    Ok(Value::Null)
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
            Ok(Value::Null)
        }
        "admin.deleteTable" => {
            a.store().delete_table().await?;
            Ok(Value::Null)
        }
        "admin.classes" => {
            let mut out = Vec::new();
            for s in a.get_all_classes().await? {
                let name = s["className"].as_str().unwrap_or_default().to_string();
                let count = a.count(&name, &json!({}), &json!({}), None).await?;
                out.push(json!({"className": name, "count": count}));
            }
            Ok(Value::Array(out))
        }
        "admin.exportPage" => {
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
        "admin.countClass" => Ok(json!(
            a.store().count(&str_arg(args, 0, "className")?).await?
        )),
        "admin.legacySchemas" => Ok(Value::Array(admin::legacy_schemas(a.store()).await?)),
        "admin.legacyPage" => {
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
        "takeLogs" => Ok(a.log().drain_json()),
        "check" => Ok(a
            .check(arg(args, 0).as_bool().unwrap_or(false))
            .await?
            .to_json()),
        "dropIndex" => {
            let class = str_arg(args, 0, "className")?;
            let field = str_arg(args, 1, "fieldName")?;
            let kinds: &[Kind] = if arg(args, 2).as_bool().unwrap_or(false) {
                &[Kind::CaseInsensitive]
            } else {
                &[Kind::Ordered, Kind::Lookup]
            };
            let mut dropped = false;
            for k in kinds {
                dropped |= a.drop_index(&class, &index::spec(&field, *k)).await?;
            }
            Ok(json!(dropped))
        }
        "createIndexes" => {
            // Mongo-style `[{key: {field: 1}, name}]`: kept as a schema index with those keys is.
            let class = str_arg(args, 0, "className")?;
            for ix in arg(args, 1).as_array().into_iter().flatten() {
                a.ensure_schema_index(&class, ix.get("key").unwrap_or(ix))
                    .await?;
            }
            Ok(Value::Null)
        }
        "createTransactionalSession" => Ok(json!({ "id": a.start_session() })),
        "commitTransactionalSession" => {
            a.commit_session(session(args, 0).ok_or_else(|| Error::json("no session"))?)
                .await?;
            Ok(Value::Null)
        }
        "abortTransactionalSession" => {
            if let Some(s) = session(args, 0) {
                a.abort_session(s);
            }
            Ok(Value::Null)
        }
        m if m.starts_with("partition.") => partition(a, &m["partition.".len()..], args).await,
        other => Err(Error::Unsupported(format!(
            "the DynamoDB adapter does not implement {other}"
        ))),
    }
}

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

async fn partition(a: &Adapter, method: &str, args: &[Value]) -> Result<Value> {
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

/// Converts a stored object for callers outside Parse (kept for symmetry with `to_parse`).
pub fn parse_json(obj: Map<String, Value>) -> Value {
    to_parse(obj, &json!({}))
}
