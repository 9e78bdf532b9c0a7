//! LiveQuery messages through the table (Parse's `pubSubAdapter` without Redis): a publish is one
//! put of `~lq:<n>` / `<time><sequence><random>` holding the channel (`c`) and the message (`m`),
//! with the table's TTL attribute a minute ahead so DynamoDB deletes it; every server's follower
//! (`follow`) hears it from the stream and hands it to the subscribers of its process. A
//! channel's messages go to one of `SHARDS` partitions (by its hash), none of which every message
//! touches, and their sort keys order them as published. A message over DynamoDB's 400 KB item
//! size (an object over it) is sent by reference: its text goes in chunks (`store::chunks`,
//! which expire with it), which the followers read; one over 16 MB is refused.

use crate::error::Result;
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

static SEQUENCE: AtomicU64 = AtomicU64::new(0);

/// Publishes `message` on `channel`.
pub async fn publish(store: &Store, channel: &str, message: &str) -> Result<()> {
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
    // Over 400 KB, the message goes in chunks the followers read (`store::chunks`).
    let fitted = crate::store::chunks::split(item)?;
    store.write_chunks(fitted.chunks).await?;
    store.put(fitted.head, None).await?;
    Ok(())
}
