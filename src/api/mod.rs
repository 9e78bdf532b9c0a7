//! One entry point for every adapter call: `call(method, args)` takes the method name and its
//! arguments as a JSON array (as the JS shim passes them) and answers JSON. The N-API binding
//! and the Rust tests both go through it, so argument handling is tested without Node. `call`
//! only dispatches, by family: `schema` (classes, fields, indexes), `objects` (create, find,
//! update, delete, count, aggregate, explain), `ops` (lifecycle, capacity, stream, LiveQuery,
//! idempotency, logs, check, sessions), `admin` (the command-line tool) and `partition` (the
//! seed's `Partition` API, Mongo-style `_id` and `$set`/`$inc`/… translated to Parse forms);
//! `options` reads the constructor's configuration; `call_tagged` meters a call for the cost
//! ledger. The argument helpers live here.

mod admin;
mod objects;
mod ops;
mod options;
mod partition;
mod schema;

pub use objects::parse_json;
pub use options::{config_from_json, options_from_json};

use crate::adapter::Adapter;
use crate::error::{Error, Result};
use serde_json::{json, Value};
use std::sync::LazyLock;

/// Answers adapter method `method` with arguments `args`. Each family answers `Ok(None)` for a
/// name it does not own (the families' names are disjoint); `partition.<method>` goes to the
/// `Partition` API; any other name is unsupported.
pub async fn call(a: &Adapter, method: &str, args: &[Value]) -> Result<Value> {
    if let Some(v) = schema::call(a, method, args).await? {
        return Ok(v);
    }
    if let Some(v) = objects::call(a, method, args).await? {
        return Ok(v);
    }
    if let Some(v) = ops::call(a, method, args).await? {
        return Ok(v);
    }
    if let Some(v) = admin::call(a, method, args).await? {
        return Ok(v);
    }
    match method.strip_prefix("partition.") {
        Some(m) => partition::call(a, m, args).await,
        None => Err(Error::Unsupported(format!(
            "the DynamoDB adapter does not implement {method}"
        ))),
    }
}

/// `call`, metered: what DynamoDB billed for it goes to the cost ledger under `tag`, the
/// request the shim says made it (`{id?, route, class?, function?}`; none: outside requests).
pub async fn call_tagged(
    a: &Adapter,
    method: &str,
    args: &[Value],
    tag: Option<&Value>,
) -> Result<Value> {
    let request = tag.and_then(|t| t.get("id")).and_then(Value::as_u64);
    // A request's queries are kept for its log line and header; other calls' are not.
    let account = std::sync::Arc::new(match request {
        Some(_) => crate::store::Tally::noting(),
        None => crate::store::Tally::default(),
    });
    let out = crate::store::metered(account.clone(), call(a, method, args)).await;
    let spent = account.take();
    if spent.requests > 0 || request.is_some() {
        let label = crate::bill::Label::of(tag.unwrap_or(&Value::Null));
        a.bill().call_done(label, request, spent);
    }
    out
}

/// Argument `i`, or `null` when there are fewer.
fn arg(args: &[Value], i: usize) -> &Value {
    args.get(i).unwrap_or(&Value::Null)
}

/// The schema at position `i`, or `{}` when it is not an object.
fn schema_arg(args: &[Value], i: usize) -> &Value {
    static EMPTY: LazyLock<Value> = LazyLock::new(|| json!({}));
    if arg(args, i).is_object() {
        arg(args, i)
    } else {
        &EMPTY
    }
}

/// A transactional session handle (`{"id": n}`, or the bare id) at position `i`.
fn session(args: &[Value], i: usize) -> Option<u64> {
    let v = arg(args, i);
    v.get("id").and_then(Value::as_u64).or_else(|| v.as_u64())
}

/// String argument `i`, or an error naming it (`what`).
fn str_arg(args: &[Value], i: usize, what: &str) -> Result<String> {
    arg(args, i)
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| Error::json(format!("{what} must be a string")))
}
