//! One item changed in place by `UpdateItem`: the update's `SET`/`REMOVE` actions with their
//! placeholders, a condition DynamoDB checks on the stored item, and the item as it was before
//! (`ALL_OLD`), both when the update applied and, through `ReturnValuesOnConditionCheckFailure`,
//! when its condition failed, so the caller never needs a read to learn why. It is sent again
//! only when DynamoDB answered that it did nothing (throttled): an attempt left unanswered may
//! still be applied, so the caller is told and decides.

use super::rules::{throttled, THROTTLED_ATTEMPTS};
use super::{backoff, dynamo_err, Condition, CountAttempts, Store};
use crate::codec::Item;
use crate::error::Result;
use aws_config::retry::RetryConfig;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeValue, ReturnConsumedCapacity, ReturnValue, ReturnValuesOnConditionCheckFailure,
};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

/// The actions of an update expression and the placeholders they use (kept apart from a
/// condition's: the two share one request's names and values).
#[derive(Debug, Clone, Default)]
pub struct Update {
    pub set: Vec<String>,
    pub remove: Vec<String>,
    pub names: HashMap<String, String>,
    pub values: HashMap<String, AttributeValue>,
}

impl Update {
    pub fn expression(&self) -> String {
        let mut parts = Vec::new();
        if !self.set.is_empty() {
            parts.push(format!("SET {}", self.set.join(", ")));
        }
        if !self.remove.is_empty() {
            parts.push(format!("REMOVE {}", self.remove.join(", ")));
        }
        parts.join(" ")
    }
}

/// The outcome of an `UpdateItem`.
#[derive(Debug)]
pub enum Updated {
    /// Applied; the item as it was before.
    Ok(Item),
    /// The condition failed; the item as it is (None: there is none).
    ConditionFailed(Option<Item>),
    /// The item is part of a transaction in progress; nothing was applied.
    Conflict,
    /// No answer came (a timeout, a dropped connection, a 5xx): it may or may not be applied,
    /// now or later.
    Unanswered,
}

impl Store {
    /// Applies `update` to item (`pk`, `sk`) if `cond` holds; sent again only after a
    /// throttle.
    pub async fn update_item(
        &self,
        pk: &str,
        sk: &str,
        update: Update,
        cond: Condition,
    ) -> Result<Updated> {
        let expression = update.expression();
        let mut names = update.names;
        names.extend(cond.names);
        let mut values = update.values;
        values.extend(cond.values);
        let once =
            aws_sdk_dynamodb::config::Builder::default().retry_config(RetryConfig::disabled());
        let mut attempt = 0;
        let started = std::time::Instant::now();
        loop {
            let unanswered = Arc::new(AtomicU32::new(0));
            let sent = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(Self::key(pk, sk)))
                .update_expression(expression.clone())
                .condition_expression(cond.expression.clone())
                .set_expression_attribute_names(Some(names.clone()))
                .set_expression_attribute_values((!values.is_empty()).then(|| values.clone()))
                .return_values(ReturnValue::AllOld)
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                )
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .customize()
                .config_override(once.clone())
                .interceptor(CountAttempts::unanswered(unanswered.clone()))
                .send()
                .await;
            let se = match sent {
                Ok(out) => {
                    self.record("UpdateItem", out.consumed_capacity());
                    return Ok(Updated::Ok(out.attributes.unwrap_or_default()));
                }
                Err(_) if unanswered.load(Ordering::Relaxed) > 0 => return Ok(Updated::Unanswered),
                Err(e) => e.into_service_error(),
            };
            if let aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(c) = &se {
                let item = c.item().filter(|i| !i.is_empty()).cloned();
                self.refused("UpdateItem");
                return Ok(Updated::ConditionFailed(item));
            }
            if se.code() == Some("TransactionConflictException") {
                return Ok(Updated::Conflict);
            }
            // Throttled: sent again, at least THROTTLED_ATTEMPTS times and until the operation
            // timeout (as the SDK retries other requests).
            if throttled(se.code())
                && (attempt + 1 < THROTTLED_ATTEMPTS || started.elapsed() < self.patience)
            {
                backoff(attempt + 2).await;
                attempt += 1;
                continue;
            }
            return Err(dynamo_err(se));
        }
    }
}
