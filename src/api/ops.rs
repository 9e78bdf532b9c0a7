//! The adapter's running calls beside schemas and objects: start-up and shutdown, the capacity
//! used so far, the schema version the table's stream has seen (the JS shim's `watch`),
//! LiveQuery through the table, request de-duplication (`claimRequest`), the log and `check`,
//! and Parse's transactional sessions. `call` answers `Ok(None)` for a name it does not own.

use super::{arg, session, str_arg};
use crate::adapter::Adapter;
use crate::error::{Error, Result};
use serde_json::{json, Value};
use std::time::Duration;

/// Answers `method` if it is a lifecycle, stream, LiveQuery, idempotency, log, check or
/// session call; `Ok(None)` if it is not one.
pub(super) async fn call(a: &Adapter, method: &str, args: &[Value]) -> Result<Option<Value>> {
    Ok(Some(match method {
        "performInitialization" => {
            a.perform_initialization().await?;
            Value::Null
        }
        "handleShutdown" => {
            a.handle_shutdown().await;
            Value::Null
        }
        "consumedCapacity" => a.store().usage().to_json(),
        // The cost report of this server (args: {region, prices, top}), saving its ledger,
        // and every server's saved copies (a request's end is the binding's `requestDone`).
        "costReport" | "savedCostReport" => {
            let o = arg(args, 0);
            let region = o.get("region").and_then(Value::as_str);
            let top = o.get("top").and_then(Value::as_u64).unwrap_or(20) as usize;
            match method {
                "costReport" => a.cost_report(region, o.get("prices"), top),
                _ => a.saved_cost_report(region, o.get("prices"), top).await?,
            }
        }
        "saveCosts" => {
            a.save_costs(&str_arg(args, 0, "server")?).await?;
            Value::Null
        }
        // The schema version the table's stream has seen once it passes args[0] (or after
        // args[1] ms): the JS shim's `watch` loop.
        "schemaChanges" => json!(
            a.schema_changes(
                arg(args, 0).as_u64().unwrap_or(0),
                Duration::from_millis(arg(args, 1).as_u64().unwrap_or(20_000).min(60_000))
            )
            .await?
        ),
        // LiveQuery through the table (`dynamo.liveQueryAdapter()`).
        "liveQueryPublish" => {
            a.live_query_publish(&str_arg(args, 0, "channel")?, &str_arg(args, 1, "message")?)
                .await?;
            Value::Null
        }
        "liveQueryMessages" => {
            let (last, messages) = a
                .live_query_messages(
                    arg(args, 0).as_u64(),
                    Duration::from_millis(arg(args, 1).as_u64().unwrap_or(20_000).min(60_000)),
                )
                .await?;
            json!({"cursor": last, "messages": messages})
        }
        // Request de-duplication (`dynamo.idempotency()`): whether request id args[0] is new.
        "claimRequest" => json!(
            a.claim_request(
                &str_arg(args, 0, "requestId")?,
                arg(args, 1).as_u64().unwrap_or(300)
            )
            .await?
        ),
        "takeLogs" => a.log().drain_json(),
        "check" => a
            .check(arg(args, 0).as_bool().unwrap_or(false))
            .await?
            .to_json(),
        "createTransactionalSession" => json!({ "id": a.start_session() }),
        "commitTransactionalSession" => {
            a.commit_session(session(args, 0).ok_or_else(|| Error::json("no session"))?)
                .await?;
            Value::Null
        }
        "abortTransactionalSession" => {
            if let Some(s) = session(args, 0) {
                a.abort_session(s).await;
            }
            Value::Null
        }
        _ => return Ok(None),
    }))
}
