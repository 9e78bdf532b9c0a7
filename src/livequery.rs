//! LiveQuery messages through the table (Parse's `pubSubAdapter` without Redis): a publish is one
//! put of `~lq:<n>` / `<time><sequence><random>` holding the channel (`c`) and the message (`m`),
//! with the table's TTL attribute a minute ahead so DynamoDB deletes it; every server's follower
//! (`follow`) hears it from the stream and hands it to the subscribers of its process. A
//! channel's messages go to one of `SHARDS` partitions (by its hash), none of which every message
//! touches, and their sort keys order them as published. A message over DynamoDB's 400 KB item
//! size is refused.

use crate::error::{Error, Result};
use crate::store::Store;
use crate::store::TTL_ATTRIBUTE;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

/// Partitions messages spread over.
const SHARDS: u32 = 16;
/// How long a message stays in the table (DynamoDB's TTL deletes it later).
const KEEP_SECS: u64 = 60;
/// The prefix of the message partitions.
pub const PARTITION_PREFIX: &str = "~lq:";
/// The largest channel and message together (the item's keys and attributes fit 400 KB).
const MAX_BYTES: usize = 400 * 1024 - 512;

static SEQUENCE: AtomicU64 = AtomicU64::new(0);

/// Publishes `message` on `channel`.
pub async fn publish(store: &Store, channel: &str, message: &str) -> Result<()> {
    if channel.len() + message.len() > MAX_BYTES {
        return Err(Error::TooLarge(format!(
            "a LiveQuery message of {} bytes; DynamoDB items hold at most 400 KB",
            channel.len() + message.len()
        )));
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let seq = SEQUENCE.fetch_add(1, Ordering::SeqCst) % 1_000_000;
    let sk = format!(
        "{:013}{seq:06}{:08x}",
        now.as_millis(),
        rand::random::<u32>()
    );
    let item = HashMap::from([
        (
            crate::codec::PK.to_string(),
            AttributeValue::S(format!(
                "{PARTITION_PREFIX}{}",
                crate::layout::shard_of(channel, SHARDS)
            )),
        ),
        (crate::codec::SK.to_string(), AttributeValue::S(sk)),
        ("c".to_string(), AttributeValue::S(channel.into())),
        ("m".to_string(), AttributeValue::S(message.into())),
        (
            TTL_ATTRIBUTE.to_string(),
            AttributeValue::N((now.as_secs() + KEEP_SECS).to_string()),
        ),
    ]);
    store.put(item, None).await?;
    Ok(())
}
