//! Request de-duplication (Parse's `idempotencyOptions`, which Parse Server turns on only for its
//! own two adapters): a request id is claimed with one conditional put of `~rq` / `<id>`, refused
//! while an unexpired claim of the same id holds it. A claim carries the table's TTL attribute
//! (`TTL_ATTRIBUTE`, epoch seconds), so DynamoDB deletes it once expired (within a few days, not
//! at once: the condition counts an expired claim as absent meanwhile). Request ids are random,
//! so the claims spread over the partition's key ranges.

use crate::error::{shown, Error, Result};
use crate::store::{Condition, Store, Written, TTL_ATTRIBUTE};
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

/// The partition of request claims.
const PARTITION: &str = "~rq";
/// The longest request id taken (its sort key must fit DynamoDB's 1,024 bytes).
const MAX_ID: usize = 512;

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Claims request `id` for `ttl` seconds: true when no unexpired claim held it (the request is
/// new and runs), false for a duplicate.
pub async fn claim(store: &Store, id: &str, ttl: u64) -> Result<bool> {
    if id.is_empty() || id.len() > MAX_ID {
        return Err(Error::json(format!(
            "X-Parse-Request-Id {:?} is {} bytes; 1 to {MAX_ID} are taken",
            shown(id),
            id.len()
        )));
    }
    let now = now_secs();
    let item = HashMap::from([
        (
            crate::codec::PK.to_string(),
            AttributeValue::S(PARTITION.into()),
        ),
        (crate::codec::SK.to_string(), AttributeValue::S(id.into())),
        (
            TTL_ATTRIBUTE.to_string(),
            AttributeValue::N((now + ttl as i64).to_string()),
        ),
    ]);
    let cond = Condition {
        expression: "attribute_not_exists(#sk) OR #exp <= :now".into(),
        names: HashMap::from([
            ("#sk".to_string(), crate::codec::SK.to_string()),
            ("#exp".to_string(), TTL_ATTRIBUTE.to_string()),
        ]),
        values: HashMap::from([(":now".to_string(), AttributeValue::N(now.to_string()))]),
    };
    Ok(store.put(item, Some(cond)).await? == Written::Ok)
}
