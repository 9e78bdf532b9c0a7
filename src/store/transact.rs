//! DynamoDB's transactions: `TransactWriteItems` of up to 100 items and 4 MB (refused clearly
//! before anything is sent past that), one client token for all the SDK's attempts of one send
//! (a retry after a lost answer is applied once), its cancellation reasons read (which item's
//! condition failed, a conflict, throttling: sent again after a backoff, an invalid request),
//! and the partitions whose writes DynamoDB keeps throttling (`heat`).

use super::*;

impl Store {
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
