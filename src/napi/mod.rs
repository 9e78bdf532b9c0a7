//! The N-API binding: marshals arguments and nothing else. `Core` holds one adapter; `call`
//! passes a method name and a JSON array of arguments to `api::call` and answers JSON. Errors
//! cross as `PARSE:{"code":…,"message":…}` for the shim to turn into `Parse.Error`. Work runs
//! under `catch_unwind`, so even a panic comes back as an error instead of killing Node.

use crate::adapter::Adapter;
use crate::error::Error;
use napi::{Result, Status};
use napi_derive::napi;
use serde_json::Value;
use std::sync::Arc;
use tokio::sync::OnceCell;

fn to_napi(e: Error) -> napi::Error {
    napi::Error::new(Status::GenericFailure, format!("PARSE:{}", e.to_json()))
}

#[napi]
pub struct Core {
    config: Value,
    adapter: Arc<OnceCell<Arc<Adapter>>>,
}

#[napi]
impl Core {
    /// `config_json`: `{"table", "region"?, "endpoint"?, "accessKeyId"?, "secretAccessKey"?, …}`.
    #[napi(constructor)]
    pub fn new(config_json: String) -> Result<Core> {
        let config: Value = serde_json::from_str(&config_json)
            .map_err(|e| to_napi(Error::json(format!("bad adapter options: {e}"))))?;
        crate::api::config_from_json(&config).map_err(to_napi)?;
        Ok(Core {
            config,
            adapter: Arc::new(OnceCell::new()),
        })
    }

    /// Checks a query synchronously (malformed queries throw at once, as with Parse's Mongo
    /// adapter, instead of failing later inside the promise).
    #[napi]
    pub fn check_query(
        &self,
        query_json: String,
        schema_json: String,
        case_insensitive: bool,
    ) -> Result<()> {
        let q: Value = serde_json::from_str(&query_json)
            .map_err(|e| to_napi(Error::json(format!("bad query: {e}"))))?;
        let schema: Value = serde_json::from_str(&schema_json).unwrap_or(Value::Null);
        crate::query::parse::parse_query_for(&q, case_insensitive, &schema)
            .map(|_| ())
            .map_err(to_napi)
    }

    /// The core's log records since the last call, as a JSON array of `{level, message}`, or
    /// an empty string when there are none (the shim forwards them to the logger after every
    /// call, so the common case costs no JSON).
    #[napi]
    pub fn take_logs(&self) -> String {
        match self.adapter.get() {
            Some(a) => match a.log().drain_json() {
                Value::Array(v) if v.is_empty() => String::new(),
                records => records.to_string(),
            },
            None => String::new(),
        }
    }

    /// What the open Parse request `id` has cost so far, as JSON (`bill::Ledger::open_request`),
    /// or an empty string: read synchronously as its response goes out (`costHeader`).
    #[napi]
    pub fn request_cost(&self, id: i64) -> String {
        self.adapter
            .get()
            .zip(u64::try_from(id).ok())
            .and_then(|(a, id)| a.bill().open_request(id))
            .map(|v| v.to_string())
            .unwrap_or_default()
    }

    /// Parse request `id` ended with HTTP `status` after `ms` (the cost ledger counts it, and
    /// logs it past `costLog`): synchronous, no task, as every request ends with it.
    #[napi]
    pub fn request_done(&self, id: i64, status: u32, ms: f64) {
        if let (Some(a), Ok(id)) = (self.adapter.get(), u64::try_from(id)) {
            a.request_done(id, Some(u64::from(status)), Some(ms));
        }
    }

    /// Calls adapter method `method` with the JSON array `args_json`; resolves to JSON text.
    /// `tag_json`: the Parse request that makes the call, for the cost ledger.
    #[napi]
    pub async fn call(
        &self,
        method: String,
        args_json: String,
        tag_json: Option<String>,
    ) -> Result<String> {
        let cell = self.adapter.clone();
        let config = self.config.clone();
        let work = async move {
            let adapter = cell
                .get_or_try_init(|| async {
                    let cfg = crate::api::config_from_json(&config)?;
                    let options = crate::api::options_from_json(&config)?;
                    Adapter::open(cfg, options).await
                })
                .await?
                .clone();
            let args: Value = serde_json::from_str(&args_json)
                .map_err(|e| Error::json(format!("bad arguments: {e}")))?;
            let args = match args {
                Value::Array(a) => a,
                other => vec![other],
            };
            let tag = tag_json.and_then(|t| serde_json::from_str::<Value>(&t).ok());
            let out = crate::api::call_tagged(&adapter, &method, &args, tag.as_ref()).await?;
            serde_json::to_string(&out).map_err(|e| Error::Internal(e.to_string()))
        };
        use futures::FutureExt;
        match std::panic::AssertUnwindSafe(work).catch_unwind().await {
            Ok(r) => r.map_err(to_napi),
            Err(_) => Err(to_napi(Error::Internal(
                "the adapter failed unexpectedly (a bug: please report it)".into(),
            ))),
        }
    }
}

/// The addon's runtime: one worker thread unless `PSD_TOKIO_WORKERS` says more. Node calls in
/// from one thread and the work is mostly waiting on DynamoDB; with more workers, requests and
/// their HTTP connections hop between threads, and the wake-ups cost more CPU than the work
/// (a key read: ~155 µs of CPU with one worker, ~215 µs with two, on 2 cores).
#[napi_derive::module_init]
fn init() {
    let workers = std::env::var("PSD_TOKIO_WORKERS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(1);
    // If it cannot be built, napi-rs builds its default runtime instead.
    if let Ok(rt) = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
    {
        napi::bindgen_prelude::create_custom_tokio_runtime(rt);
    }
}
