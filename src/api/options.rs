//! The constructor's JSON, read: `config_from_json` takes what the store needs (the table and
//! its name's DynamoDB rule, endpoint, region, credentials, retries, timeout, an embedded data
//! file) and `options_from_json` the adapter's own options (`readPreference`, `autoIndex`,
//! `shardHotIndexes`, `stream`). A bad value fails here, at `new DynamoDB(…)`, not at first use.

use crate::adapter::Options;
use crate::embedded;
use crate::error::{Error, Result};
use crate::indexes::AutoIndexPolicy;
use crate::store::StoreConfig;
use serde_json::Value;

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
