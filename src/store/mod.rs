//! The DynamoDB client: connection set-up (region, endpoint, credentials, retries, timeouts),
//! table creation on demand, and the item operations the adapter needs, each complete: queries
//! page to the end, BatchGetItem/BatchWriteItem are chunked (100 reads / 25 writes) and their
//! unprocessed keys retried with backoff, transactions report which item's condition failed.
//! Reads are strongly consistent, since Parse reads its own writes, except through a store
//! made `reading(false)` for queries that ask for eventual consistency.

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

mod conditions;
mod heat;
mod rules;
pub mod stream;
mod update;
mod usage;
pub use conditions::{Condition, TxOp};
use rules::{cancelled, key_fits, transaction_bytes, Cancelled};
pub use rules::{MAX_PARTITION_KEY, MAX_SORT_KEY};
use rules::{MAX_TRANSACTION_BYTES, MAX_TRANSACTION_ITEMS, THROTTLED_ATTEMPTS};
/// The attribute DynamoDB's TTL deletes items by (turned on when the adapter creates the
/// table): request claims and LiveQuery messages carry their expiry in it.
pub const TTL_ATTRIBUTE: &str = "_expires";
pub use update::{Update, Updated};
pub use usage::{OpUsage, Usage};

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
            embedded,
            strong: true,
            patience: Duration::from_millis(operation),
            heat: Arc::default(),
        })
    }

    /// Whether reads are strongly consistent (else they bill half).
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

    /// Checks the table exists (creating it if allowed) and waits until it is ACTIVE.
    pub async fn ensure_table(&self, create: bool) -> Result<()> {
        let mut created = false;
        for _ in 0..600 {
            match self
                .client
                .describe_table()
                .table_name(&self.table)
                .send()
                .await
            {
                Ok(out) => {
                    let status = out.table().and_then(|t| t.table_status().cloned());
                    if matches!(status, Some(TableStatus::Active) | None) {
                        if created {
                            // Best effort: without the permission (`dynamodb:UpdateTimeToLive`)
                            // expired request claims stay (they count as absent; docs/aws.md).
                            let _ = self.enable_ttl(TTL_ATTRIBUTE).await;
                        }
                        return Ok(());
                    }
                }
                Err(e) => {
                    let se = e.into_service_error();
                    if !se.is_resource_not_found_exception() {
                        return Err(dynamo_err(se));
                    }
                    if !create {
                        return Err(Error::Internal(format!(
                            "DynamoDB table {} does not exist (and createTable is false)",
                            self.table
                        )));
                    }
                    if !created {
                        self.create_table(None).await?;
                        created = true;
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(Error::Internal(format!(
            "table {} did not become ACTIVE",
            self.table
        )))
    }

    /// Turns on DynamoDB's TTL for the table on attribute `attribute` (the expiry of request
    /// claims, see `idempotency`); a table that has it on already is left as it is.
    pub async fn enable_ttl(&self, attribute: &str) -> Result<()> {
        let spec = aws_sdk_dynamodb::types::TimeToLiveSpecification::builder()
            .attribute_name(attribute)
            .enabled(true)
            .build()
            .map_err(build_err)?;
        match self
            .client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(spec)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => {
                let se = e.into_service_error();
                match se.meta().message() {
                    Some(m) if m.contains("already enabled") => Ok(()),
                    _ => Err(dynamo_err(se)),
                }
            }
        }
    }

    /// Creates the table: on-demand, or with `(read, write)` provisioned capacity units, and
    /// turns on its TTL (`TTL_ATTRIBUTE`) once it is active.
    pub async fn create_table(&self, provisioned: Option<(i64, i64)>) -> Result<()> {
        let attr = |n: &str| {
            AttributeDefinition::builder()
                .attribute_name(n)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(build_err)
        };
        let key = |n: &str, t: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(n)
                .key_type(t)
                .build()
                .map_err(build_err)
        };
        let res = self
            .client
            .create_table()
            .table_name(&self.table)
            .attribute_definitions(attr(PK)?)
            .attribute_definitions(attr(SK)?)
            .key_schema(key(PK, KeyType::Hash)?)
            .key_schema(key(SK, KeyType::Range)?);
        let res = match provisioned {
            Some((r, w)) => res
                .billing_mode(BillingMode::Provisioned)
                .provisioned_throughput(
                    aws_sdk_dynamodb::types::ProvisionedThroughput::builder()
                        .read_capacity_units(r)
                        .write_capacity_units(w)
                        .build()
                        .map_err(build_err)?,
                ),
            None => res.billing_mode(BillingMode::PayPerRequest),
        }
        .send()
        .await;
        match res {
            Ok(_) => Ok(()),
            Err(e) => {
                let se = e.into_service_error();
                // Another process created it first.
                if se.is_resource_in_use_exception() {
                    Ok(())
                } else {
                    Err(dynamo_err(se))
                }
            }
        }
    }

    fn key(pk: &str, sk: &str) -> HashMap<String, AttributeValue> {
        HashMap::from([
            (PK.to_string(), AttributeValue::S(pk.into())),
            (SK.to_string(), AttributeValue::S(sk.into())),
        ])
    }

    pub async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>> {
        if !key_fits(pk, sk) {
            return Ok(None);
        }
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(pk, sk)))
            .consistent_read(self.strong)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(dynamo_err)?;
        self.record("GetItem", out.consumed_capacity());
        self.received("GetItem", usize::from(out.item.is_some()));
        Ok(out.item)
    }

    /// Reads any number of keys of one partition (chunks of 100, unprocessed keys retried); each
    /// key once (DynamoDB refuses a BatchGetItem that names a key twice) and only keys that can
    /// exist.
    pub async fn batch_get(&self, pk: &str, sks: &[String]) -> Result<Vec<Item>> {
        let mut sks: Vec<&String> = sks.iter().filter(|s| key_fits(pk, s)).collect();
        sks.sort();
        sks.dedup();
        let mut found = Vec::with_capacity(sks.len());
        for chunk in sks.chunks(100) {
            let mut keys: Vec<HashMap<String, AttributeValue>> =
                chunk.iter().map(|s| Self::key(pk, s)).collect();
            let mut attempt = 0;
            while !keys.is_empty() {
                let ka = KeysAndAttributes::builder()
                    .set_keys(Some(keys))
                    .consistent_read(self.strong)
                    .build()
                    .map_err(build_err)?;
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, ka)
                    .return_consumed_capacity(ReturnConsumedCapacity::Total)
                    .send()
                    .await
                    .map_err(dynamo_err)?;
                self.record("BatchGetItem", out.consumed_capacity());
                if let Some(mut r) = out.responses {
                    let items = r.remove(&self.table).unwrap_or_default();
                    self.received("BatchGetItem", items.len());
                    found.extend(items);
                }
                keys = out
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&self.table))
                    .map(|k| k.keys)
                    .unwrap_or_default();
                if !keys.is_empty() {
                    backoff(attempt).await;
                    attempt += 1;
                }
            }
        }
        Ok(found)
    }

    /// Queries a whole partition page by page; `each` returns false to stop early. Answers the
    /// read units it consumed (billed on what DynamoDB read, before the filter).
    pub async fn query(
        &self,
        pk: &str,
        filter: Option<&Filter>,
        each: impl FnMut(Item) -> Result<bool>,
    ) -> Result<f64> {
        self.query_prefix(pk, None, filter, each).await
    }

    /// Queries a partition, or only its sort keys that start with `prefix`, page by page;
    /// answers the read units it consumed.
    pub async fn query_prefix(
        &self,
        pk: &str,
        prefix: Option<&str>,
        filter: Option<&Filter>,
        mut each: impl FnMut(Item) -> Result<bool>,
    ) -> Result<f64> {
        if prefix.is_some_and(|p| p.len() > MAX_SORT_KEY) {
            // No sort key is that long, so none starts with it.
            return Ok(0.0);
        }
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        let mut units = 0.0;
        loop {
            let mut req = self
                .partition_query(pk)
                .set_exclusive_start_key(start.take());
            req = match prefix.filter(|p| !p.is_empty()) {
                // An empty prefix is the whole partition (DynamoDB refuses an empty key value).
                Some(p) => req
                    .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                    .expression_attribute_names("#sk", SK)
                    .expression_attribute_values(":prefix", AttributeValue::S(p.into())),
                None => req,
            };
            if let Some(f) = filter {
                req = with_filter(req, f);
            }
            let out = req.send().await.map_err(dynamo_err)?;
            units += self.record("Query", out.consumed_capacity());
            let items = out.items.unwrap_or_default();
            self.received("Query", items.len());
            for item in items {
                if !each(item)? {
                    return Ok(units);
                }
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(units),
            }
        }
    }

    /// `query` of a reader that wants `wanted` matches, in pages sized to them rather than
    /// DynamoDB's 1 MB (which it bills whole): the first page reads `wanted` items, each next
    /// one what the matches still missing need at the rate seen so far (a quarter more). `each`
    /// answers how many matches are still missing after an item, or None to stop.
    pub async fn query_sized(
        &self,
        pk: &str,
        filter: Option<&Filter>,
        wanted: usize,
        mut each: impl FnMut(Item) -> Result<Option<usize>>,
    ) -> Result<f64> {
        let (mut start, mut units, mut read, mut missing) = (None, 0.0, 0usize, wanted.max(1));
        loop {
            let matched = wanted.max(1) - missing;
            let limit = match (read, matched) {
                (0, _) => missing,
                (_, 0) => read.saturating_mul(2),
                _ => missing.saturating_mul(read).saturating_mul(5) / (matched * 4) + 1,
            };
            let mut req = self
                .partition_query(pk)
                .set_exclusive_start_key(start.take())
                .limit(i32::try_from(limit.clamp(1, 10_000)).unwrap_or(10_000));
            if let Some(f) = filter {
                req = with_filter(req, f);
            }
            let out = req.send().await.map_err(dynamo_err)?;
            units += self.record("Query", out.consumed_capacity());
            read += out.scanned_count.max(0) as usize;
            let items = out.items.unwrap_or_default();
            self.received("Query", items.len());
            for item in items {
                match each(item)? {
                    Some(m) => missing = m.max(1),
                    None => return Ok(units),
                }
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(units),
            }
        }
    }

    /// One page of a partition's items whose sort keys are in `from..=to`, in key order
    /// (`forward`) or reversed, at most `limit` of them; answers the items and where the next
    /// page starts (None: this was the last).
    pub async fn query_page(
        &self,
        pk: &str,
        (from, to): (&str, &str),
        forward: bool,
        limit: i32,
        start: Option<HashMap<String, AttributeValue>>,
    ) -> Result<(Vec<Item>, Option<HashMap<String, AttributeValue>>)> {
        if from > to || to.is_empty() {
            // An empty range (DynamoDB refuses a BETWEEN whose bounds are reversed).
            return Ok((Vec::new(), None));
        }
        let req = self
            .partition_query(pk)
            .expression_attribute_names("#sk", SK);
        // No key value may be empty, in a key condition too: a range from the very start is
        // `<= to` (`from` empty is below every sort key, which is at least one byte).
        let req = if from.is_empty() {
            req.key_condition_expression("#pk = :pk AND #sk <= :to")
        } else {
            req.key_condition_expression("#pk = :pk AND #sk BETWEEN :from AND :to")
                .expression_attribute_values(":from", AttributeValue::S(from.into()))
        };
        let out = req
            .expression_attribute_values(":to", AttributeValue::S(to.into()))
            .scan_index_forward(forward)
            .limit(limit.max(1))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(dynamo_err)?;
        self.record("Query", out.consumed_capacity());
        let items = out.items.unwrap_or_default();
        self.received("Query", items.len());
        let next = out.last_evaluated_key.filter(|k| !k.is_empty());
        Ok((items, next))
    }

    /// What DescribeTable answers of the table.
    pub(crate) async fn table_description(
        &self,
    ) -> Result<Option<aws_sdk_dynamodb::types::TableDescription>> {
        let out = self
            .client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
            .map_err(|e| dynamo_err(e.into_service_error()))?;
        Ok(out.table)
    }

    /// The table's description: status, key schema, billing, item count and size (DynamoDB
    /// updates the last two about every six hours).
    pub async fn describe(&self) -> Result<serde_json::Value> {
        let t = self.table_description().await?;
        let t = t.as_ref();
        let keys: Vec<serde_json::Value> = t
            .map(|t| t.key_schema())
            .unwrap_or_default()
            .iter()
            .map(|k| serde_json::json!({"name": k.attribute_name(), "type": k.key_type().as_str()}))
            .collect();
        let billing = t
            .and_then(|t| t.billing_mode_summary())
            .and_then(|b| b.billing_mode())
            .map(|b| b.as_str().to_string())
            .unwrap_or_else(|| "PROVISIONED".into());
        let throughput = t.and_then(|t| t.provisioned_throughput());
        Ok(serde_json::json!({
            "table": self.table,
            "status": t.and_then(|t| t.table_status()).map(|s| s.as_str()),
            "keySchema": keys,
            "billingMode": billing,
            "readCapacityUnits": throughput.and_then(|p| p.read_capacity_units()),
            "writeCapacityUnits": throughput.and_then(|p| p.write_capacity_units()),
            "itemCount": t.and_then(|t| t.item_count()),
            "sizeBytes": t.and_then(|t| t.table_size_bytes()),
        }))
    }

    pub async fn delete_table(&self) -> Result<()> {
        self.client
            .delete_table()
            .table_name(&self.table)
            .send()
            .await
            .map_err(|e| dynamo_err(e.into_service_error()))?;
        Ok(())
    }

    /// A Query of partition `pk` (consistent as the store reads) that reports its consumed
    /// capacity.
    fn partition_query(
        &self,
        pk: &str,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.table)
            .consistent_read(self.strong)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_values(":pk", AttributeValue::S(pk.into()))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
    }

    /// How many items a partition holds (Query with Select COUNT, page by page).
    pub async fn count(&self, pk: &str) -> Result<u64> {
        Ok(self.count_where(pk, None).await?.0)
    }

    /// How many items of a partition pass `filter` (all without one), counted by DynamoDB
    /// (Select COUNT: no item is sent), and the read units it billed (all the partition's).
    pub async fn count_where(&self, pk: &str, filter: Option<&Filter>) -> Result<(u64, f64)> {
        let mut n = 0u64;
        let mut units = 0.0;
        let mut start = None;
        loop {
            let mut req = self
                .partition_query(pk)
                .select(aws_sdk_dynamodb::types::Select::Count)
                .set_exclusive_start_key(start);
            if let Some(f) = filter {
                req = with_filter(req, f);
            }
            let out = req.send().await.map_err(dynamo_err)?;
            units += self.record("Query", out.consumed_capacity());
            n += out.count.max(0) as u64;
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok((n, units)),
            }
        }
    }

    /// Whether a partition holds any item (one Query with Limit 1).
    pub async fn any(&self, pk: &str) -> Result<bool> {
        let out = self
            .partition_query(pk)
            .limit(1)
            .send()
            .await
            .map_err(dynamo_err)?;
        self.record("Query", out.consumed_capacity());
        Ok(out.count > 0)
    }

    /// Every key in the table (for deleting everything, in tests).
    pub async fn scan_keys(&self) -> Result<Vec<(String, String)>> {
        let mut keys = Vec::new();
        let mut start = None;
        loop {
            let (page, next) = self.scan_keys_page(start).await?;
            keys.extend(page);
            match next {
                Some(k) => start = Some(k),
                None => return Ok(keys),
            }
        }
    }

    /// One page of the table's keys (a Scan page, up to 1 MB read), and where the next starts.
    #[allow(clippy::type_complexity)]
    pub async fn scan_keys_page(
        &self,
        start: Option<HashMap<String, AttributeValue>>,
    ) -> Result<(
        Vec<(String, String)>,
        Option<HashMap<String, AttributeValue>>,
    )> {
        let mut keys = Vec::new();
        {
            let out = self
                .client
                .scan()
                .table_name(&self.table)
                .projection_expression("#pk, #sk")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#sk", SK)
                .set_exclusive_start_key(start)
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await
                .map_err(dynamo_err)?;
            self.record("Scan", out.consumed_capacity());
            for it in out.items.unwrap_or_default() {
                if let (Some(AttributeValue::S(p)), Some(AttributeValue::S(s))) =
                    (it.get(PK), it.get(SK))
                {
                    keys.push((p.clone(), s.clone()));
                }
            }
            Ok((keys, out.last_evaluated_key.filter(|k| !k.is_empty())))
        }
    }

    /// The keys of every item of partition `pk` (to delete them).
    pub async fn partition_keys(&self, pk: &str) -> Result<Vec<(String, String)>> {
        let mut keys = Vec::new();
        self.query(pk, None, |item| {
            if let Some(AttributeValue::S(sk)) = item.get(SK) {
                keys.push((pk.to_string(), sk.clone()));
            }
            Ok(true)
        })
        .await?;
        Ok(keys)
    }

    /// Deletes any number of keys (chunks of 25, unprocessed items retried).
    pub async fn batch_delete(&self, keys: &[(String, String)]) -> Result<()> {
        let reqs = keys
            .iter()
            .map(|(p, s)| {
                let d = DeleteRequest::builder()
                    .set_key(Some(Self::key(p, s)))
                    .build()
                    .map_err(build_err)?;
                Ok(WriteRequest::builder().delete_request(d).build())
            })
            .collect::<Result<Vec<_>>>()?;
        self.batch_write(reqs).await
    }

    /// Writes any number of items without conditions (chunks of 25, unprocessed items retried).
    pub async fn batch_put(&self, items: Vec<Item>) -> Result<()> {
        let reqs = items
            .into_iter()
            .map(|item| {
                let p = PutRequest::builder()
                    .set_item(Some(item))
                    .build()
                    .map_err(build_err)?;
                Ok(WriteRequest::builder().put_request(p).build())
            })
            .collect::<Result<Vec<_>>>()?;
        self.batch_write(reqs).await
    }

    /// Sends writes in BatchWriteItems of at most 25, each key once (DynamoDB refuses a batch
    /// that names a key twice: of two writes of one key, the later is kept).
    /// Up to `BATCHES_AT_ONCE` requests are in flight at once.
    async fn batch_write(&self, all: Vec<WriteRequest>) -> Result<()> {
        use futures::stream::{StreamExt, TryStreamExt};
        let all = rules::each_key_once(all);
        let sends: Vec<_> = all
            .chunks(25)
            .map(|chunk| self.batch_write_one(chunk.to_vec()))
            .collect();
        futures::stream::iter(sends)
            .buffer_unordered(BATCHES_AT_ONCE)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(())
    }

    /// One BatchWriteItem, its unprocessed items sent again after a backoff until none is left.
    async fn batch_write_one(&self, mut reqs: Vec<WriteRequest>) -> Result<()> {
        let mut attempt = 0;
        while !reqs.is_empty() {
            let out = self
                .client
                .batch_write_item()
                .request_items(&self.table, reqs)
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await
                .map_err(dynamo_err)?;
            self.record("BatchWriteItem", out.consumed_capacity());
            reqs = out
                .unprocessed_items
                .and_then(|mut u| u.remove(&self.table))
                .unwrap_or_default();
            if !reqs.is_empty() {
                backoff(attempt).await;
                attempt += 1;
            }
        }
        Ok(())
    }

    /// One write that may carry a condition.
    pub async fn put(&self, item: Item, cond: Option<Condition>) -> Result<Written> {
        Ok(self.put_counted(item, cond).await?.0)
    }

    /// `put` of an item that carries a fresh write token: when the condition fails, the item is
    /// read and, if it holds the token, the write is taken as done (its answer was lost and
    /// the SDK's retry failed the condition the write itself changed). For items written
    /// rarely (schemas, registries), so nothing overwrites them in between.
    pub async fn put_checked(&self, mut item: Item, cond: Option<Condition>) -> Result<Written> {
        let token = format!("{:016x}", rand::random::<u64>());
        item.insert(
            crate::codec::TOKEN.into(),
            AttributeValue::L(vec![AttributeValue::S(token.clone())]),
        );
        let (pk, sk) = match (item.get(PK), item.get(SK)) {
            (Some(AttributeValue::S(p)), Some(AttributeValue::S(s))) => (p.clone(), s.clone()),
            _ => return Err(Error::Internal("item without key".into())),
        };
        let (written, retried) = self.put_counted(item, cond).await?;
        if written != Written::Ok && retried {
            let now = self.get(&pk, &sk).await?;
            if now.is_some_and(|i| crate::codec::item_tokens(&i).contains(&token)) {
                return Ok(Written::Ok);
            }
        }
        Ok(written)
    }

    /// `put`, also answering whether an attempt the SDK retried may have been applied (it got
    /// no answer, or a 5xx): then a failed condition may be this write's own earlier attempt.
    pub async fn put_counted(
        &self,
        item: Item,
        cond: Option<Condition>,
    ) -> Result<(Written, bool)> {
        let attempts = Arc::new(AtomicU32::new(0));
        let req = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .return_consumed_capacity(ReturnConsumedCapacity::Total);
        let req = with_condition!(req, cond);
        let retried = || attempts.load(Ordering::Relaxed) > 0;
        match req
            .customize()
            .interceptor(CountAttempts(attempts.clone()))
            .send()
            .await
        {
            Ok(out) => {
                self.record("PutItem", out.consumed_capacity());
                Ok((Written::Ok, retried()))
            }
            Err(e) => {
                let se = e.into_service_error();
                if se.is_conditional_check_failed_exception() {
                    self.refused("PutItem");
                    Ok((Written::ConditionFailed(0), retried()))
                } else {
                    Err(dynamo_err(se))
                }
            }
        }
    }

    pub async fn delete(&self, pk: &str, sk: &str, cond: Option<Condition>) -> Result<Written> {
        let req = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(pk, sk)))
            .return_consumed_capacity(ReturnConsumedCapacity::Total);
        let req = with_condition!(req, cond);
        match req.send().await {
            Ok(out) => {
                self.record("DeleteItem", out.consumed_capacity());
                Ok(Written::Ok)
            }
            Err(e) => {
                let se = e.into_service_error();
                if se.is_conditional_check_failed_exception() {
                    self.refused("DeleteItem");
                    Ok(Written::ConditionFailed(0))
                } else {
                    Err(dynamo_err(se))
                }
            }
        }
    }

    /// Adds `delta` to number attribute `attr` of item (`pk`, `sk`), creating both if needed
    /// (UpdateItem `ADD`: atomic, never conflicting with other adders).
    pub async fn add_number(&self, pk: &str, sk: &str, attr: &str, delta: i64) -> Result<()> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(pk, sk)))
            .update_expression("ADD #a :d")
            .expression_attribute_names("#a", attr)
            .expression_attribute_values(":d", AttributeValue::N(delta.to_string()))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(dynamo_err)?;
        self.record("UpdateItem", out.consumed_capacity());
        Ok(())
    }

    /// Counts a throttle against the partition of each of these transaction writes.
    fn throttled<'a>(&self, writes: impl Iterator<Item = &'a TransactWriteItem>) {
        let mut heat = self.heat.lock().unwrap_or_else(|e| e.into_inner());
        for w in writes {
            let key = w
                .put()
                .map(|p| p.item())
                .or_else(|| w.delete().map(|d| d.key()))
                .or_else(|| w.condition_check().map(|c| c.key()))
                .or_else(|| w.update().map(|u| u.key()));
            if let Some(AttributeValue::S(pk)) = key.and_then(|k| k.get(PK)) {
                heat.throttled(pk);
            }
        }
    }

    /// The partitions whose writes DynamoDB throttled again and again lately (see `heat`),
    /// each answered once per heat.
    pub fn hot_partitions(&self) -> Vec<String> {
        self.heat
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take_hot()
    }

    /// All-or-nothing writes (TransactWriteItems: at most 100 of them and 4 MB, checked here so
    /// an oversized transaction fails clearly before anything is sent). A cancellation for
    /// throttling is sent again after a backoff; one DynamoDB refuses as invalid is `Refused`.
    pub async fn transact(&self, ops: Vec<TxOp>) -> Result<Written> {
        if ops.len() > MAX_TRANSACTION_ITEMS {
            return Err(Error::Unsupported(format!(
                "a transaction can hold at most {MAX_TRANSACTION_ITEMS} writes in DynamoDB ({} requested); nothing was written",
                ops.len()
            )));
        }
        // Each item is at most 400 KB (checked by its writer), so only more than ten can pass.
        let bytes = if ops.len() > MAX_TRANSACTION_BYTES / crate::codec::MAX_ITEM_BYTES {
            transaction_bytes(&ops)
        } else {
            0
        };
        if bytes > MAX_TRANSACTION_BYTES {
            return Err(Error::Unsupported(format!(
                "a transaction can hold at most 4 MB of items in DynamoDB ({:.1} MB requested); nothing was written",
                bytes as f64 / (1024.0 * 1024.0)
            )));
        }
        let mut items = Vec::with_capacity(ops.len());
        for op in ops {
            items.push(match op {
                TxOp::Put(item, cond) => {
                    let p = Put::builder().table_name(&self.table).set_item(Some(item));
                    let p = with_condition!(p, cond);
                    TransactWriteItem::builder()
                        .put(p.build().map_err(build_err)?)
                        .build()
                }
                TxOp::Delete(pk, sk, cond) => {
                    let d = Delete::builder()
                        .table_name(&self.table)
                        .set_key(Some(Self::key(&pk, &sk)));
                    let d = with_condition!(d, cond);
                    TransactWriteItem::builder()
                        .delete(d.build().map_err(build_err)?)
                        .build()
                }
                TxOp::Check(pk, sk, cond) => {
                    let c = ConditionCheck::builder()
                        .table_name(&self.table)
                        .set_key(Some(Self::key(&pk, &sk)));
                    let c = with_condition!(c, Some(cond));
                    TransactWriteItem::builder()
                        .condition_check(c.build().map_err(build_err)?)
                        .build()
                }
            });
        }
        let started = std::time::Instant::now();
        for attempt in 0.. {
            if attempt >= THROTTLED_ATTEMPTS && started.elapsed() >= self.patience {
                break;
            }
            // One token for every SDK attempt of this request: DynamoDB applies a retried
            // transaction once (a retry after a lost answer succeeds instead of failing its own
            // conditions). A cancelled one applied nothing, so its resend gets a new token.
            let token = format!("{:032x}", rand::random::<u128>());
            let res = self
                .client
                .transact_write_items()
                .client_request_token(token)
                .set_transact_items(Some(items.clone()))
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await;
            let se = match res {
                Ok(out) => {
                    self.record("TransactWriteItems", out.consumed_capacity());
                    return Ok(Written::Ok);
                }
                Err(e) => e.into_service_error(),
            };
            if let aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(c) = &se {
                let reasons: Vec<(Option<&str>, Option<&str>)> = c
                    .cancellation_reasons()
                    .iter()
                    .map(|r| (r.code(), r.message()))
                    .collect();
                match cancelled(&reasons) {
                    Cancelled::Condition(i) => return Ok(Written::ConditionFailed(i)),
                    Cancelled::Conflict => return Ok(Written::Conflict),
                    Cancelled::Refused(why) => return Err(Error::Refused(why)),
                    Cancelled::Throttled(at) => {
                        self.throttled(at.iter().filter_map(|i| items.get(*i)));
                        backoff(attempt + 2).await;
                        continue;
                    }
                }
            }
            if se.code() == Some("TransactionConflictException")
                || se.is_transaction_in_progress_exception()
            {
                return Ok(Written::Conflict);
            }
            return Err(dynamo_err(se));
        }
        Err(Error::Refused(format!(
            "the transaction was cancelled for throttling for {} s; try again later",
            started.elapsed().as_secs()
        )))
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

/// Counts the attempts of one request that may have been applied without the client knowing:
/// those that got no answer (a timeout, a dropped connection) or a 5xx. An attempt answered
/// 4xx (a throttle, a failed condition) was not applied.
#[derive(Debug)]
struct CountAttempts(Arc<AtomicU32>);

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
        let answered = context
            .response()
            .is_some_and(|r| r.status().as_u16() < 500);
        if !answered {
            self.0.fetch_add(1, Ordering::Relaxed);
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
