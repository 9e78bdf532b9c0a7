//! The DynamoDB client, the only room that speaks DynamoDB: connection set-up (region,
//! endpoint, credentials, retries, timeouts) and what every request shares (the consumed
//! capacity it reports, errors, conditions); by job, `table` (set-up, TTL), `reads`, `writes`
//! (single items and batches), `chunks` (objects over 400 KB: every read answers them whole),
//! `transact` (DynamoDB's transactions), `update` (one item changed
//! in place), `stream` (the table's stream), `rules` (DynamoDB's limits), `usage` and `heat`
//! (what was asked and what was throttled). Reads are strongly consistent, since Parse reads
//! its own writes, except through a store made `reading(false)` for queries that ask for
//! eventual consistency.

use crate::codec::{Item, PK, SK};
use crate::error::{Error, Result};
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::config::retry::{RetryPartition, TokenBucket};
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, ConditionCheck, Delete, DeleteRequest,
    KeySchemaElement, KeyType, KeysAndAttributes, Put, PutRequest, ScalarAttributeType,
    TableStatus, TransactWriteItem, WriteRequest,
};
use aws_sdk_dynamodb::types::{ConsumedCapacity, ReturnConsumedCapacity};
use aws_sdk_dynamodb::Client;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use conditions::{Condition, TxOp};
use rules::{cancelled, key_fits, transaction_bytes, Cancelled};
pub use rules::{MAX_PARTITION_KEY, MAX_SORT_KEY};
use rules::{MAX_TRANSACTION_BYTES, MAX_TRANSACTION_ITEMS, THROTTLED_ATTEMPTS};
/// The attribute DynamoDB's TTL deletes items by (turned on when the adapter creates the
/// table): objects of classes with `ttl` and their kept items, request claims and LiveQuery
/// messages carry their expiry in it.
pub const TTL_ATTRIBUTE: &str = crate::codec::EXPIRES;
pub use update::{Update, Updated};
pub use usage::{
    budgeted, metered, note_query, read_so_far, within_budget, Budget, OpUsage, Spent, Tally, Usage,
};

#[derive(Debug, Clone, Default)]
pub struct StoreConfig {
    pub table: String,
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub session_token: Option<String>,
    /// Create the table (PAY_PER_REQUEST) when it does not exist.
    pub create_table: bool,
    /// Attempts per request, including the first (SDK standard retry mode with backoff).
    pub max_attempts: u32,
    /// Timeout of one whole operation, retries included.
    pub operation_timeout_ms: u64,
    /// Serve from the in-process store with this data file (`embedded::MEMORY`: in memory).
    pub embedded: Option<String>,
}

#[derive(Clone)]
pub struct Store {
    client: Client,
    /// The table's stream (`stream.rs`).
    streams: aws_sdk_dynamodbstreams::Client,
    table: String,
    usage: Arc<Mutex<Usage>>,
    /// The account of requests sent outside any metered task (see `usage::metered`).
    unattributed: Arc<usage::Tally>,
    embedded: Option<String>,
    /// Reads are strongly consistent (else eventually consistent: half the read units).
    strong: bool,
    /// How long a request may take in all (the operation timeout): a transaction cancelled for
    /// throttling is sent again until then, as the SDK retries a throttled request.
    patience: Duration,
    /// The partitions whose writes were throttled (see `heat`).
    heat: Arc<Mutex<heat::Heat>>,
}

/// BatchWriteItem requests of one batch write in flight at once.
const BATCHES_AT_ONCE: usize = 8;

/// A filter expression of a Query, with its parameterised names and values (the planner builds
/// them; see `query::plan`).
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub expression: String,
    pub names: HashMap<String, String>,
    pub values: HashMap<String, AttributeValue>,
}

/// The outcome of a conditional write.
#[derive(Debug, PartialEq)]
pub enum Written {
    Ok,
    /// The condition of the item at this index failed (0 for single-item writes).
    ConditionFailed(usize),
    /// Another transaction touched the same items; try again.
    Conflict,
}

/// Adds an optional condition to a DynamoDB write builder (they share the method names).
macro_rules! with_condition {
    ($builder:expr, $cond:expr) => {{
        let b = $builder;
        match $cond {
            Some(c) => b
                .condition_expression(c.expression)
                .set_expression_attribute_names(Some(c.names))
                .set_expression_attribute_values(if c.values.is_empty() {
                    None
                } else {
                    Some(c.values)
                }),
            None => b,
        }
    }};
}

// The rooms by job (after the macro, which they use).
pub mod chunks;
mod conditions;
mod heat;
mod reads;
mod rules;
pub mod stream;
mod table;
mod transact;
mod update;
mod usage;
mod writes;

/// A DynamoDB error as one readable line: the service's code and message when it answered,
/// else the cause chain (connection refused, timeout, …). A `ValidationException` is DynamoDB
/// refusing the request as invalid, every attempt alike: nothing was applied (`Refused`).
fn dynamo_err<E: ProvideErrorMetadata + std::error::Error + 'static>(e: E) -> Error {
    if e.code() == Some("ValidationException") {
        return Error::Refused(format!(
            "ValidationException: {}",
            e.message().unwrap_or("")
        ));
    }
    match (e.code(), e.message()) {
        (Some(code), Some(msg)) => Error::Dynamo(format!("{code}: {msg}")),
        (Some(code), None) => Error::Dynamo(code.to_string()),
        _ => Error::Dynamo(format!("{}", DisplayErrorContext(e))),
    }
}

fn build_err(e: aws_sdk_dynamodb::error::BuildError) -> Error {
    Error::Internal(format!("bad DynamoDB request: {e}"))
}

fn is_local(endpoint: &str) -> bool {
    endpoint.contains("://127.")
        || endpoint.contains("://localhost")
        || endpoint.contains("://[::1]")
}

/// The HTTP client every DynamoDB request goes through: hyper 1 with rustls and the ring
/// crypto provider, trusting the system's roots (the SDK's own default would be aws-lc-rs; the
/// Cargo features keep one client and one TLS stack in the build).
pub fn http_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::tls;
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https()
}

impl Store {
    pub async fn connect(cfg: &StoreConfig) -> Result<Store> {
        let mut cfg = cfg.clone();
        let mut embedded = None;
        if let Some(path) = cfg.embedded.clone() {
            cfg.endpoint = Some(crate::embedded::endpoint(&path).await?);
            embedded = Some(path);
        }
        // Each attempt gets its share of the operation's time, so an attempt that hangs is
        // retried (the retry is safe: see `write.rs`) instead of spending the whole timeout.
        let operation = cfg.operation_timeout_ms.max(100);
        let attempt = (operation / u64::from(cfg.max_attempts.max(1))).max(200);
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http_client())
            .retry_config(RetryConfig::standard().with_max_attempts(cfg.max_attempts.max(1)))
            .timeout_config(
                TimeoutConfig::builder()
                    .operation_timeout(Duration::from_millis(operation))
                    .operation_attempt_timeout(Duration::from_millis(attempt))
                    .connect_timeout(Duration::from_secs(3))
                    .build(),
            );
        if let Some(r) = &cfg.region {
            loader = loader.region(aws_config::Region::new(r.clone()));
        }
        if let Some(ep) = &cfg.endpoint {
            loader = loader.endpoint_url(ep.clone());
        }
        let keys = match (&cfg.access_key_id, &cfg.secret_access_key) {
            (Some(k), Some(s)) => Some((k.clone(), s.clone())),
            // A local emulator accepts any signature: don't make users invent keys.
            _ if cfg.endpoint.as_deref().is_some_and(is_local) => {
                Some(("local".into(), "local".into()))
            }
            _ => None,
        };
        if let Some((k, s)) = keys {
            loader = loader.credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                k,
                s,
                cfg.session_token.clone(),
                None,
                "parse-server-dynamodb",
            ));
        }
        let shared = loader.load().await;
        // The SDK's retry quota is shared by every request of the client: throttling on one hot
        // key range would spend it, and then no request of any class would be retried, so a
        // throttled write would fail at once (and a busy caller spin). Retries are bounded by
        // `max_attempts` with backoff and by the operation timeout instead.
        let partition = RetryPartition::custom("parse-server-dynamodb")
            .token_bucket(TokenBucket::unlimited())
            .build();
        let mut conf = aws_sdk_dynamodb::config::Builder::from(&shared).retry_partition(partition);
        let mut streams = aws_sdk_dynamodbstreams::config::Builder::from(&shared);
        // An empty AWS_REGION is no region (the SDK would take "" and fail every request).
        if shared.region().is_none_or(|r| r.as_ref().is_empty()) {
            if cfg.endpoint.is_none() && cfg!(feature = "embedded") {
                // Nothing configured anywhere: serve from the embedded store.
                let path = crate::embedded::DEFAULT_PATH.to_string();
                cfg.embedded = Some(path);
                return Box::pin(Store::connect(&cfg)).await;
            }
            if cfg.endpoint.is_some() {
                conf = conf.region(aws_config::Region::new("us-east-1"));
                streams = streams.region(aws_config::Region::new("us-east-1"));
            } else {
                return Err(Error::Internal(
                    "no AWS region: pass `region` (or `endpoint` for a local emulator), or set AWS_REGION".into(),
                ));
            }
        }
        Ok(Store {
            client: Client::from_conf(conf.build()),
            streams: aws_sdk_dynamodbstreams::Client::from_conf(streams.build()),
            table: cfg.table.clone(),
            usage: Arc::default(),
            unattributed: Arc::default(),
            embedded,
            strong: true,
            patience: Duration::from_millis(operation),
            heat: Arc::default(),
        })
    }

    /// Whether reads are strongly consistent (else they bill half).
    /// How long one operation may take in all, retries included.
    pub fn operation_timeout(&self) -> Duration {
        self.patience
    }

    pub fn strong(&self) -> bool {
        self.strong
    }

    /// The same store, reading strongly consistent or not (`strong`); writes are the same.
    pub fn reading(&self, strong: bool) -> Store {
        Store {
            strong,
            ..self.clone()
        }
    }

    /// Requests and capacity consumed so far.
    pub fn usage(&self) -> Usage {
        self.usage.lock().map(|u| u.clone()).unwrap_or_default()
    }

    /// The account of requests sent outside any metered task.
    pub fn unattributed(&self) -> &Arc<usage::Tally> {
        &self.unattributed
    }

    /// Adds a request's consumed capacity to the usage; answers its read units.
    fn record<'a>(
        &self,
        op: &str,
        capacity: impl IntoIterator<Item = &'a ConsumedCapacity>,
    ) -> f64 {
        let (mut r, mut w) = (0.0, 0.0);
        for c in capacity {
            let total = c.capacity_units().unwrap_or(0.0);
            match (c.read_capacity_units(), c.write_capacity_units()) {
                (Some(rr), Some(ww)) => {
                    r += rr;
                    w += ww;
                }
                (Some(rr), None) => r += rr,
                (None, Some(ww)) => w += ww,
                // Only the total is reported: reads and writes are told apart by the operation.
                (None, None)
                    if op.starts_with("Get")
                        || op.starts_with("BatchGet")
                        || op == "Query"
                        || op == "Scan" =>
                {
                    r += total
                }
                (None, None) => w += total,
            }
        }
        usage::charge(&self.unattributed, r, w);
        if let Ok(mut u) = self.usage.lock() {
            u.requests += 1;
            u.read_units += r;
            u.write_units += w;
            let e = u.operations.entry(op.to_string()).or_default();
            e.requests += 1;
            e.read_units += r;
            e.write_units += w;
        }
        r
    }

    /// A conditional write `op` was refused: DynamoDB reports no capacity for it, but AWS bills
    /// at least one write unit (more for an item over 1 KB).
    fn refused(&self, op: &str) {
        usage::charge(&self.unattributed, 0.0, 1.0);
        if let Ok(mut u) = self.usage.lock() {
            u.requests += 1;
            u.refused += 1;
            u.write_units += 1.0;
            let e = u.operations.entry(op.to_string()).or_default();
            e.requests += 1;
            e.refused += 1;
            e.write_units += 1.0;
        }
    }

    /// `n` items came back from a read `op` (what crossed the network).
    fn received(&self, op: &str, n: usize) {
        if let Ok(mut u) = self.usage.lock() {
            u.items += n as u64;
            u.operations.entry(op.to_string()).or_default().items += n as u64;
        }
    }

    /// The data file of the embedded store this store talks to, if it does.
    pub fn embedded(&self) -> Option<&str> {
        self.embedded.as_deref()
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    fn key(pk: &str, sk: &str) -> HashMap<String, AttributeValue> {
        HashMap::from([
            (PK.to_string(), AttributeValue::S(pk.into())),
            (SK.to_string(), AttributeValue::S(sk.into())),
        ])
    }
}

/// A string attribute of an item (empty when it has none).
fn text_of(item: &Item, k: &str) -> String {
    match item.get(k) {
        Some(AttributeValue::S(s)) => s.clone(),
        _ => String::new(),
    }
}

/// A Query with `f` as its filter expression (and its names and values).
fn with_filter(
    mut req: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
    f: &Filter,
) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
    req = req.filter_expression(&f.expression);
    for (k, v) in &f.names {
        req = req.expression_attribute_names(k, v);
    }
    for (k, v) in &f.values {
        req = req.expression_attribute_values(k, v.clone());
    }
    req
}

/// Counts some attempts of one request, the SDK's own retries included: `unanswered`, those
/// that may have been applied without the client knowing (no answer: a timeout, a dropped
/// connection; or a 5xx; an attempt answered 4xx, a throttle or a failed condition, was not
/// applied), or `throttled`, those DynamoDB throttled (an HTTP 400 whose error is a throttle), so
/// `heat` sees every throttle a batch met.
#[derive(Debug)]
struct CountAttempts {
    n: Arc<AtomicU32>,
    which: fn(Option<&aws_smithy_runtime_api::http::Response>) -> bool,
}

impl CountAttempts {
    fn unanswered(n: Arc<AtomicU32>) -> CountAttempts {
        CountAttempts {
            n,
            which: |r| r.is_none_or(|r| r.status().as_u16() >= 500),
        }
    }
    fn throttled(n: Arc<AtomicU32>) -> CountAttempts {
        CountAttempts {
            n,
            which: |r| {
                r.is_some_and(|r| {
                    r.status().as_u16() == 400
                        && r.body().bytes().is_some_and(|b| {
                            let text = String::from_utf8_lossy(b);
                            text.contains("ThrottlingException")
                                || text.contains("ProvisionedThroughputExceeded")
                                || text.contains("RequestLimitExceeded")
                        })
                })
            },
        }
    }
}

impl aws_smithy_runtime_api::client::interceptors::Intercept for CountAttempts {
    fn name(&self) -> &'static str {
        "CountAttempts"
    }
    fn read_after_attempt(
        &self,
        context: &aws_smithy_runtime_api::client::interceptors::context::FinalizerInterceptorContextRef<'_>,
        _: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        _: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> std::result::Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        if (self.which)(context.response()) {
            self.n.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }
}

/// Jittered exponential backoff: ~5 ms doubling, capped at ~500 ms.
pub async fn backoff(attempt: u32) {
    let base = 5u64 << attempt.min(7);
    let jitter = rand::random::<u64>() % (base + 1);
    tokio::time::sleep(Duration::from_millis(base / 2 + jitter)).await;
}
