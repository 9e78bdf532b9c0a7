//! DynamoDB's request rules the store keeps, so no request it sends is one AWS refuses: the key
//! limits (a key outside them names no item, so reads of it answer nothing), a transaction's
//! limits (checked before sending), a batch naming each key once, and what a cancelled
//! transaction's reasons mean (which to retry, which to refuse). The test tree checks every
//! request against the same rules on the wire (`scripts/dynamo-rules.js`).

use super::TxOp;
use crate::codec::{PK, SK};
use aws_sdk_dynamodb::types::{AttributeValue, WriteRequest};
use std::collections::HashMap;

/// DynamoDB's key limits: a partition key of 1 to 2,048 bytes, a sort key of 1 to 1,024
/// ("Partition key and sort key" in
/// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Constraints.html). A key
/// outside them names no item that can exist: reads of it answer nothing without asking.
pub const MAX_PARTITION_KEY: usize = 2048;
pub const MAX_SORT_KEY: usize = 1024;

/// DynamoDB's error codes for a request it throttled: nothing was applied, send it again
/// after a backoff.
pub(super) fn throttled(code: Option<&str>) -> bool {
    matches!(
        code,
        Some(
            "ThrottlingException"
                | "ProvisionedThroughputExceededException"
                | "RequestLimitExceeded"
        )
    )
}

pub(super) fn key_fits(pk: &str, sk: &str) -> bool {
    (1..=MAX_PARTITION_KEY).contains(&pk.len()) && (1..=MAX_SORT_KEY).contains(&sk.len())
}

/// At most 100 actions and 4 MB of items in one TransactWriteItems
/// (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html).
pub const MAX_TRANSACTION_ITEMS: usize = 100;
pub const MAX_TRANSACTION_BYTES: usize = 4 * 1024 * 1024;

/// What a `TransactionCanceledException` means, from its cancellation reasons (one per action,
/// code `None` for the actions that were fine; the codes are listed in
/// https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html).
#[derive(Debug, PartialEq)]
pub(super) enum Cancelled {
    /// `ConditionalCheckFailed` at this action.
    Condition(usize),
    /// `TransactionConflict`: another transaction held an item; try again.
    Conflict,
    /// `ThrottlingError` / `ProvisionedThroughputExceeded` at these actions: retry with backoff.
    Throttled(Vec<usize>),
    /// `ValidationError`, `ItemCollectionSizeLimitExceeded` or a code not known here: the same
    /// request would fail again.
    Refused(String),
}

pub(super) fn cancelled(reasons: &[(Option<&str>, Option<&str>)]) -> Cancelled {
    if let Some(i) = reasons
        .iter()
        .position(|(c, _)| *c == Some("ConditionalCheckFailed"))
    {
        return Cancelled::Condition(i);
    }
    let mut throttled = Vec::new();
    let mut conflict = false;
    for (i, (code, msg)) in reasons.iter().enumerate() {
        match code {
            None | Some("None") => {}
            Some("TransactionConflict") => conflict = true,
            Some("ThrottlingError" | "ProvisionedThroughputExceeded") => throttled.push(i),
            Some(other) => {
                return Cancelled::Refused(format!(
                    "transaction cancelled: {other} at action {i}: {}",
                    msg.unwrap_or("")
                ))
            }
        }
    }
    match (throttled.is_empty(), conflict) {
        (false, _) => Cancelled::Throttled(throttled),
        (true, true) => Cancelled::Conflict,
        (true, false) => Cancelled::Refused("transaction cancelled without a reason".into()),
    }
}

/// How often a transaction cancelled for throttling is sent again at least before giving up
/// (then until the operation timeout has passed).
pub(super) const THROTTLED_ATTEMPTS: u32 = 10;

/// The writes of a BatchWriteItem with each key once (DynamoDB refuses a batch that names a key
/// twice: of two writes of one key, the later is kept), in their order.
pub(super) fn each_key_once(all: Vec<WriteRequest>) -> Vec<WriteRequest> {
    let key_of = |w: &WriteRequest| -> Option<(String, String)> {
        let attrs = match (w.put_request(), w.delete_request()) {
            (Some(p), _) => p.item(),
            (None, Some(d)) => d.key(),
            _ => return None,
        };
        match (attrs.get(PK), attrs.get(SK)) {
            (Some(AttributeValue::S(p)), Some(AttributeValue::S(s))) => {
                Some((p.clone(), s.clone()))
            }
            _ => None,
        }
    };
    let mut last = HashMap::new();
    for (i, w) in all.iter().enumerate() {
        if let Some(k) = key_of(w) {
            last.insert(k, i);
        }
    }
    all.into_iter()
        .enumerate()
        .filter(|(i, w)| key_of(w).is_none_or(|k| last.get(&k) == Some(i)))
        .map(|(_, w)| w)
        .collect()
}

/// The bytes a transaction's items count toward DynamoDB's 4 MB: each put item, and the key of
/// each delete and condition check.
pub(super) fn transaction_bytes(ops: &[TxOp]) -> usize {
    ops.iter()
        .map(|op| match op {
            TxOp::Put(item, _) => crate::codec::item_size(item),
            TxOp::Delete(pk, sk, _) | TxOp::Check(pk, sk, _) => {
                PK.len() + pk.len() + SK.len() + sk.len()
            }
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancellation_reasons_are_told_apart() {
        let r = |codes: &[&'static str]| -> Vec<(Option<&'static str>, Option<&'static str>)> {
            codes.iter().map(|c| (Some(*c), Some("why"))).collect()
        };
        assert_eq!(
            cancelled(&r(&["None", "ConditionalCheckFailed"])),
            Cancelled::Condition(1)
        );
        assert_eq!(
            cancelled(&r(&["TransactionConflict", "None"])),
            Cancelled::Conflict
        );
        assert_eq!(
            cancelled(&r(&["None", "ThrottlingError"])),
            Cancelled::Throttled(vec![1])
        );
        assert_eq!(
            cancelled(&r(&["ProvisionedThroughputExceeded"])),
            Cancelled::Throttled(vec![0])
        );
        for refused in [
            "ValidationError",
            "ItemCollectionSizeLimitExceeded",
            "SomethingNew",
        ] {
            assert!(
                matches!(cancelled(&r(&["None", refused])), Cancelled::Refused(m) if m.contains(refused))
            );
        }
        // A validation error is never retried as a conflict, whatever else the reasons say.
        assert!(matches!(
            cancelled(&r(&["TransactionConflict", "ValidationError"])),
            Cancelled::Refused(_)
        ));
        assert!(matches!(cancelled(&r(&["None"])), Cancelled::Refused(_)));
    }

    #[test]
    fn keys_outside_dynamodbs_limits_name_no_item() {
        assert!(key_fits("C", "k"));
        assert!(!key_fits("C", ""));
        assert!(!key_fits("", "k"));
        assert!(key_fits("C", &"x".repeat(1024)));
        assert!(!key_fits("C", &"x".repeat(1025)));
        assert!(!key_fits(&"p".repeat(2049), "k"));
    }
}
