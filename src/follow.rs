//! The table's stream, followed: one task per process (started by the first who listens) reads
//! every shard of the table's stream every `POLL` and tells what changed. Shards open when it
//! starts are read from their latest record; shards that appear later (a split's children, a
//! stream turned on again) from their first; a closed shard read to its end is dropped; an
//! expired iterator is renewed after the last record read; the shard list is described again
//! every `DESCRIBE_EVERY` polls. Changes of `~schema` items (any server's schema changes) bump a
//! version that `wait` answers, so Parse's `watch` callback runs (`enableSchemaHooks`); changes
//! of `~meta` (index and unique registries) make this process re-read them at once instead of
//! after their refresh time; LiveQuery messages (`~lq:`, see `livequery`) are kept for this
//! process's subscribers, in the order published. Cost: one GetRecords per open shard per poll (DynamoDB Streams bills
//! them as read request units, $0.02 per 100,000), and a DescribeStream per `DESCRIBE_EVERY`.

use crate::error::Result;
use crate::indexes::Indexes;
use crate::layout::META_PARTITION;
use crate::livequery::PARTITION_PREFIX;
use crate::log::Log;
use crate::schema::SCHEMA_PARTITION;
use crate::store::stream::{From, Page};
use crate::store::Store;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// How often every shard is read.
pub const POLL: Duration = Duration::from_millis(250);
/// Polls between two descriptions of the stream's shards.
const DESCRIBE_EVERY: u32 = 20;

/// LiveQuery messages kept for this process's subscribers (the newest; a subscriber further
/// behind than this misses the oldest).
const KEPT_MESSAGES: usize = 10_000;

/// What the follower has seen, for those who wait on it.
#[derive(Default)]
pub struct Changes {
    schema: AtomicU64,
    notify: Notify,
    started: AtomicBool,
    /// The follower has its stream and knows its shards (or gave up): changes from then on are
    /// heard.
    following: AtomicBool,
    stopped: AtomicBool,
    /// LiveQuery messages heard, numbered from 1: (number, channel, message).
    messages: Mutex<VecDeque<(u64, String, String)>>,
    heard: AtomicU64,
}

impl Changes {
    /// Schema changes seen so far.
    pub fn schema_version(&self) -> u64 {
        self.schema.load(Ordering::SeqCst)
    }

    /// Waits until `done` holds (or `timeout`, or the follower stops).
    async fn until(&self, done: impl Fn() -> bool, timeout: Duration) {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.notify.notified();
            if done() || self.stopped.load(Ordering::SeqCst) {
                return;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return;
            }
        }
    }

    /// Waits (at most `timeout`) until the follower hears changes made from now on: its stream
    /// turned on if it had none, its shards described.
    pub async fn following(&self, timeout: Duration) {
        self.until(|| self.following.load(Ordering::SeqCst), timeout)
            .await
    }

    fn now_following(&self) {
        self.following.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    /// Waits until the schema version passes `seen` (or `timeout`, or the follower stops);
    /// answers the version then.
    pub async fn wait(&self, seen: u64, timeout: Duration) -> u64 {
        self.until(|| self.schema.load(Ordering::SeqCst) > seen, timeout)
            .await;
        self.schema.load(Ordering::SeqCst)
    }

    /// The LiveQuery messages heard after number `after` (None: from now on), waiting up to
    /// `timeout` for one; answers the number of the last and the messages (channel, message).
    pub async fn messages(
        &self,
        after: Option<u64>,
        timeout: Duration,
    ) -> (u64, Vec<(String, String)>) {
        let Some(after) = after else {
            return (self.heard.load(Ordering::SeqCst), Vec::new());
        };
        self.until(|| self.heard.load(Ordering::SeqCst) > after, timeout)
            .await;
        let last = self.heard.load(Ordering::SeqCst);
        if last <= after {
            return (after, Vec::new());
        }
        let kept = self.messages.lock().unwrap_or_else(|e| e.into_inner());
        let out = kept
            .iter()
            .filter(|(n, _, _)| *n > after)
            .map(|(_, c, m)| (c.clone(), m.clone()))
            .collect();
        (last, out)
    }

    fn heard(&self, mut batch: Vec<(String, String, String)>) {
        if batch.is_empty() {
            return;
        }
        // In the order published: by sort key (time, then the publisher's sequence).
        batch.sort();
        let mut kept = self.messages.lock().unwrap_or_else(|e| e.into_inner());
        for (_, c, m) in batch {
            let n = self.heard.fetch_add(1, Ordering::SeqCst) + 1;
            kept.push_back((n, c, m));
            if kept.len() > KEPT_MESSAGES {
                kept.pop_front();
            }
        }
        drop(kept);
        self.notify.notify_waiters();
    }

    /// Stops the follower (at shutdown); waiters are answered at once.
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }
}

/// Starts the follower of `store`'s stream once (later calls do nothing), turning the stream on
/// first when the table has none (tables are created without one: see `stream_of`).
pub fn start(changes: &Arc<Changes>, store: Store, indexes: Arc<Indexes>, log: Arc<Log>) {
    if changes.started.swap(true, Ordering::SeqCst) {
        return;
    }
    let changes = Arc::clone(changes);
    tokio::spawn(async move {
        let followed = follow(&changes, &store, &indexes, &log).await;
        changes.now_following();
        if let Err(e) = followed {
            log.warn(format!(
                "following the table's stream stopped: {e}; schema changes of other servers are seen when Parse's schema cache expires"
            ));
        }
    });
}

/// One shard being read: its iterator and the last record read.
struct Reading {
    iterator: Option<String>,
    last: Option<String>,
}

/// Where the follower is: the stream, its shards, whether it has described them yet, polls.
struct Follower<'a> {
    store: &'a Store,
    arn: String,
    shards: HashMap<String, Reading>,
    first: bool,
    poll: u32,
}

impl Follower<'_> {
    /// Learns the stream's shards: at the start only the newest (no child; the others hold
    /// history), from their latest record; later ones (a split's children) from their first.
    async fn describe(&mut self) -> Result<()> {
        let listed = self.store.stream_shards(&self.arn).await?;
        let parents: Vec<String> = listed.iter().filter_map(|s| s.parent.clone()).collect();
        for s in listed {
            if self.shards.contains_key(&s.id) || (self.first && parents.contains(&s.id)) {
                continue;
            }
            let from = if self.first {
                From::Latest
            } else {
                From::TrimHorizon
            };
            let iterator = self.store.shard_iterator(&self.arn, &s.id, from).await?;
            self.shards.insert(
                s.id,
                Reading {
                    iterator,
                    last: None,
                },
            );
        }
        self.first = false;
        Ok(())
    }

    /// One poll: a page of every shard, and what it says told.
    async fn step(&mut self, changes: &Changes, indexes: &Indexes) -> Result<()> {
        if self.poll.is_multiple_of(DESCRIBE_EVERY) {
            self.describe().await?;
        }
        self.poll = self.poll.wrapping_add(1);
        let (store, arn) = (self.store, self.arn.clone());
        let mut schema = false;
        let mut meta = false;
        let mut live: Vec<(String, String, String)> = Vec::new();
        for (id, r) in self.shards.iter_mut() {
            // A closed shard read to its end stays known (so it is not read again).
            let Some(it) = r.iterator.clone() else {
                continue;
            };
            match store.stream_page(&it).await? {
                Page::Records(records, next) => {
                    for rec in &records {
                        schema |= rec.pk == SCHEMA_PARTITION;
                        meta |= rec.pk == META_PARTITION;
                        if rec.pk.starts_with(PARTITION_PREFIX) {
                            match (rec.strings.get("c"), rec.strings.get("m")) {
                                (Some(c), Some(m)) => {
                                    live.push((rec.sk.clone(), c.clone(), m.clone()))
                                }
                                // Sent by reference (in chunks): read whole.
                                (Some(_), None) => {
                                    if let Some(m) = whole_message(store, &rec.pk, &rec.sk).await? {
                                        live.push(m);
                                    }
                                }
                                _ => {}
                            }
                        }
                    }
                    if let Some(last) = records.last() {
                        r.last = Some(last.seq.clone());
                    }
                    r.iterator = next;
                }
                Page::Expired => {
                    let from = match r.last.clone() {
                        Some(seq) => From::After(seq),
                        None => From::Latest,
                    };
                    r.iterator = store.shard_iterator(&arn, id, from).await?;
                }
                Page::Trimmed => {
                    r.iterator = store.shard_iterator(&arn, id, From::TrimHorizon).await?;
                }
            }
        }
        changes.heard(live);
        if meta {
            indexes.forget().await;
        }
        if schema {
            changes.schema.fetch_add(1, Ordering::SeqCst);
            changes.notify.notify_waiters();
        }
        Ok(())
    }
}

/// The table's stream, turned on first when it has none. Tables are created without one: a
/// stream is only needed by a follower (schema hooks, LiveQuery), and a local store keeping
/// every record of it slows each write down as they pile up (`bench/local-store.js`).
/// Answers its ARN and whether it was turned on now (then every record it holds is new).
pub async fn stream_of(store: &Store, log: &Log) -> Result<(String, bool)> {
    if let Some(arn) = store.stream_arn().await? {
        return Ok((arn, false));
    }
    log.info("turning the table's stream on (UpdateTable, NEW_IMAGE)".to_string());
    store.enable_stream().await?;
    for _ in 0..600 {
        if let Some(arn) = store.stream_arn().await? {
            return Ok((arn, true));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(crate::error::Error::Internal(
        "the table's stream did not appear after UpdateTable".into(),
    ))
}

/// Follows the stream until stopped. A failed poll (throttling, a shard gone, the network) is
/// said once in the log and tried again after a backoff, the shards described again; a stream
/// re-created (turned off and on) is followed from its start.
async fn follow(changes: &Changes, store: &Store, indexes: &Indexes, log: &Log) -> Result<()> {
    let (arn, new) = stream_of(store, log).await?;
    // A stream turned on now holds nothing older than this follower: read from its start.
    let mut f = Follower {
        store,
        arn,
        shards: HashMap::new(),
        first: !new,
        poll: 0,
    };
    match f.describe().await {
        Ok(()) => f.poll = 1,
        Err(e) => log.warn(format!(
            "describing the table's stream failed ({e}); trying again"
        )),
    }
    changes.now_following();
    let mut failing = 0u32;
    while !changes.stopped.load(Ordering::SeqCst) {
        match f.step(changes, indexes).await {
            Ok(()) => {
                if failing > 0 {
                    log.info("reading the table's stream again".to_string());
                }
                failing = 0;
                tokio::time::sleep(POLL).await;
            }
            Err(e) => {
                if failing == 0 {
                    log.warn(format!(
                        "reading the table's stream failed ({e}); trying again"
                    ));
                }
                failing = failing.saturating_add(1);
                tokio::time::sleep(POLL * failing.min(20)).await;
                if let Ok(Some(arn)) = store.stream_arn().await {
                    if arn != f.arn {
                        f.arn = arn;
                        f.shards.clear();
                        f.first = false;
                    }
                }
                f.poll = 0;
            }
        }
    }
    Ok(())
}

/// A LiveQuery message sent by reference (over 400 KB: its text in chunks), read whole; None
/// once it expired.
async fn whole_message(
    store: &Store,
    pk: &str,
    sk: &str,
) -> Result<Option<(String, String, String)>> {
    let Some(item) = store.get(pk, sk).await? else {
        return Ok(None);
    };
    let text = |k: &str| match item.get(k) {
        Some(aws_sdk_dynamodb::types::AttributeValue::S(s)) => Some(s.clone()),
        _ => None,
    };
    Ok(text("c")
        .zip(text("m"))
        .map(|(c, m)| (sk.to_string(), c, m)))
}
