//! Single-item and batch writes: puts and deletes that may carry a condition (a refused one is
//! counted, as AWS bills it), a put that recognises its own earlier attempt after a lost answer
//! (`put_checked`, by the write token it carries), an atomic `ADD` to a number, and
//! BatchWriteItem in chunks of 25, several at once, unprocessed items retried and throttling
//! waited out (and counted against its partitions).

use super::*;

/// The partition a batch write goes to.
fn write_pk(w: &WriteRequest) -> Option<&str> {
    let key = w
        .put_request()
        .map(|p| p.item())
        .or_else(|| w.delete_request().map(|d| d.key()));
    match key.and_then(|k| k.get(PK)) {
        Some(AttributeValue::S(pk)) => Some(pk.as_str()),
        _ => None,
    }
}

/// Sends conditional single-item write `$req` (PutItem or DeleteItem, operation name `$op`),
/// counting attempts the SDK retried without an answer, records its capacity, and answers as
/// `Store::written` does.
macro_rules! send_counted {
    ($store:expr, $req:expr, $op:literal) => {{
        let attempts = Arc::new(AtomicU32::new(0));
        let sent = $req
            .customize()
            .interceptor(CountAttempts::unanswered(attempts.clone()))
            .send()
            .await
            .map(|out| {
                $store.record($op, out.consumed_capacity());
            })
            .map_err(|e| e.into_service_error());
        $store.written($op, sent, attempts.load(Ordering::Relaxed) > 0)
    }};
}

impl Store {
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
    /// Throttling is waited out as a transaction's is (until the operation timeout), and
    /// counted against the partitions it names (`heat`): the unprocessed items' partitions, or
    /// all of the batch's when it was throttled whole (each throttled attempt, the SDK's retries
    /// included).
    async fn batch_write_one(&self, mut reqs: Vec<WriteRequest>) -> Result<()> {
        let started = std::time::Instant::now();
        let mut attempt = 0;
        while !reqs.is_empty() {
            let throttles = Arc::new(AtomicU32::new(0));
            let sent = self
                .client
                .batch_write_item()
                .request_items(&self.table, reqs.clone())
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .customize()
                .interceptor(CountAttempts::throttled(throttles.clone()))
                .send()
                .await;
            // The throttles the SDK's own retries met: a batch is throttled whole when none of
            // its writes could be done (DynamoDB does the others and answers them unprocessed),
            // so each of its partitions was over its units.
            let pks: std::collections::HashSet<&str> = reqs.iter().filter_map(write_pk).collect();
            for _ in 0..throttles.load(Ordering::Relaxed) {
                self.heat_of(pks.clone());
            }
            let out = match sent {
                Ok(out) => out,
                Err(e) => {
                    let se = e.into_service_error();
                    let throttled = se.is_provisioned_throughput_exceeded_exception()
                        || se.is_request_limit_exceeded()
                        || se.code() == Some("ThrottlingException");
                    let patient = attempt < THROTTLED_ATTEMPTS || started.elapsed() < self.patience;
                    if !(throttled && patient) {
                        return Err(dynamo_err(se));
                    }
                    backoff(attempt + 2).await;
                    attempt += 1;
                    continue;
                }
            };
            self.record("BatchWriteItem", out.consumed_capacity());
            reqs = out
                .unprocessed_items
                .and_then(|mut u| u.remove(&self.table))
                .unwrap_or_default();
            if !reqs.is_empty() {
                self.heat_of(reqs.iter().filter_map(write_pk).collect());
                backoff(attempt).await;
                attempt += 1;
            }
        }
        Ok(())
    }

    /// Counts a throttle against each of these partitions (see `heat`).
    fn heat_of(&self, pks: std::collections::HashSet<&str>) {
        let mut heat = self.heat.lock().unwrap_or_else(|e| e.into_inner());
        for pk in pks {
            heat.throttled(pk);
        }
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
        let req = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .return_consumed_capacity(ReturnConsumedCapacity::Total);
        send_counted!(self, with_condition!(req, cond), "PutItem")
    }

    /// The answer to conditional single-item write `op` (its capacity recorded): done, or
    /// refused by its condition (counted, as AWS bills it); with whether an attempt the SDK
    /// retried may have been applied.
    fn written<E: ProvideErrorMetadata + std::error::Error + 'static>(
        &self,
        op: &str,
        sent: std::result::Result<(), E>,
        retried: bool,
    ) -> Result<(Written, bool)> {
        match sent {
            Ok(()) => Ok((Written::Ok, retried)),
            Err(e) if e.code() == Some("ConditionalCheckFailedException") => {
                self.refused(op);
                Ok((Written::ConditionFailed(0), retried))
            }
            Err(e) => Err(dynamo_err(e)),
        }
    }

    pub async fn delete(&self, pk: &str, sk: &str, cond: Option<Condition>) -> Result<Written> {
        Ok(self.delete_counted(pk, sk, cond).await?.0)
    }

    /// `delete`, also answering whether an attempt the SDK retried may have been applied (as
    /// `put_counted`): then a failed condition may be this delete's own earlier attempt.
    pub async fn delete_counted(
        &self,
        pk: &str,
        sk: &str,
        cond: Option<Condition>,
    ) -> Result<(Written, bool)> {
        let req = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(pk, sk)))
            .return_consumed_capacity(ReturnConsumedCapacity::Total);
        send_counted!(self, with_condition!(req, cond), "DeleteItem")
    }

    /// Adds `delta` to number attribute `attr` of item (`pk`, `sk`), creating both if needed
    /// (UpdateItem `ADD`: atomic, never conflicting with other adders).
    pub async fn add_number(&self, pk: &str, sk: &str, attr: &str, delta: i64) -> Result<()> {
        self.add_number_until(pk, sk, attr, delta, None).await
    }

    /// `add_number` to an item DynamoDB's TTL deletes at epoch second `expires` (when given).
    pub async fn add_number_until(
        &self,
        pk: &str,
        sk: &str,
        attr: &str,
        delta: i64,
        expires: Option<i64>,
    ) -> Result<()> {
        let req = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(pk, sk)))
            .expression_attribute_names("#a", attr)
            .expression_attribute_values(":d", AttributeValue::N(delta.to_string()));
        let req = match expires {
            Some(at) => req
                .update_expression("ADD #a :d SET #e = :e")
                .expression_attribute_names("#e", super::TTL_ATTRIBUTE)
                .expression_attribute_values(":e", AttributeValue::N(at.to_string())),
            None => req.update_expression("ADD #a :d"),
        };
        let out = req
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(dynamo_err)?;
        self.record("UpdateItem", out.consumed_capacity());
        Ok(())
    }
}
