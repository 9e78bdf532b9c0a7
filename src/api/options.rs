//! The constructor's JSON, read: `config_from_json` takes what the store needs (the table and
//! its name's DynamoDB rule, endpoint, region, credentials, retries, timeout, an embedded data
//! file) and `options_from_json` the adapter's own options (`readPreference`, `autoIndex`,
//! `shardHotIndexes`, `stream`, `costLog`, `costReport`, `maxReadUnitsPerQuery`, `ttl`). A bad value fails here, at `new DynamoDB(…)`, not at first use.

use crate::adapter::{BudgetOption, CostOptions, Options};
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
        costs: costs(v)?,
        budget: budget(v.get("maxReadUnitsPerQuery"))?,
        ttl: ttl(v.get("ttl"))?,
    })
}

/// A number at least 0 at `v[key]`, or an error naming `what`.
fn units(v: &Value, key: &str, what: &str) -> Result<Option<f64>> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(n) => {
            n.as_f64().filter(|n| *n >= 0.0).map(Some).ok_or_else(|| {
                Error::json(format!("{what}.{key} must be a number of units, not {n}"))
            })
        }
    }
}

/// `costLog: {readUnits, writeUnits}` and `costReport: {region, prices, saveEverySeconds}`.
fn costs(v: &Value) -> Result<CostOptions> {
    let mut c = CostOptions::default();
    match v.get("costLog") {
        None | Some(Value::Null) => {}
        Some(l @ Value::Object(_)) => {
            c.log.read_units = units(l, "readUnits", "costLog")?;
            c.log.write_units = units(l, "writeUnits", "costLog")?;
        }
        Some(other) => {
            return Err(Error::json(format!(
                "costLog must be {{readUnits, writeUnits}}, not {other}"
            )))
        }
    }
    match v.get("costReport") {
        None | Some(Value::Null) => {}
        Some(r @ Value::Object(_)) => {
            c.region = r.get("region").and_then(Value::as_str).map(str::to_string);
            c.prices = r.get("prices").filter(|p| p.is_object()).cloned();
            c.save_every = units(r, "saveEverySeconds", "costReport")?.map(|s| s.max(1.0) as u64);
        }
        Some(other) => {
            return Err(Error::json(format!(
                "costReport must be {{region, prices, saveEverySeconds}}, not {other}"
            )))
        }
    }
    Ok(c)
}

/// `maxReadUnitsPerQuery`: a number (refuse), or `{units, mode: 'refuse' | 'warn'}`.
fn budget(v: Option<&Value>) -> Result<Option<BudgetOption>> {
    let bad = |v: &Value| {
        Error::json(format!(
            "maxReadUnitsPerQuery must be a number of read units or {{units, mode: 'refuse' | 'warn'}}, not {v}"
        ))
    };
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_f64().filter(|n| *n > 0.0) {
            Some(units) => Ok(Some(BudgetOption { units, stop: true })),
            None => Err(bad(v.unwrap_or(&Value::Null))),
        },
        Some(o @ Value::Object(_)) => {
            let units = o.get("units").and_then(Value::as_f64).filter(|n| *n > 0.0);
            let stop = match o.get("mode").and_then(Value::as_str) {
                None | Some("refuse") => true,
                Some("warn") => false,
                Some(_) => return Err(bad(o)),
            };
            units
                .map(|units| Some(BudgetOption { units, stop }))
                .ok_or_else(|| bad(o))
        }
        Some(other) => Err(bad(other)),
    }
}

/// `ttl: {ClassName: 'dateField' | null}` over the default (`_Session` at `expiresAt`; null
/// turns a class's off).
fn ttl(v: Option<&Value>) -> Result<std::collections::BTreeMap<String, String>> {
    let mut out = Options::default().ttl;
    match v {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            for (class, field) in m {
                match field {
                    Value::Null | Value::Bool(false) => {
                        out.remove(class);
                    }
                    Value::String(f) if !f.is_empty() && !f.contains('.') => {
                        out.insert(class.clone(), f.clone());
                    }
                    other => {
                        return Err(Error::json(format!(
                        "ttl.{class} must name a Date field of the class (or be null), not {other}"
                    )))
                    }
                }
            }
        }
        Some(other) => {
            return Err(Error::json(format!(
                "ttl must be {{ClassName: 'dateField'}}, not {other}"
            )))
        }
    }
    Ok(out)
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
