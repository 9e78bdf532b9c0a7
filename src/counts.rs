//! How many objects a class holds, in one small Query: each write that creates or deletes an
//! object adds +1/-1 to one of `SHARDS` counter items of `~c:<class>` chosen at random
//! (UpdateItem `ADD`, outside the object's transaction: one more write unit, never a conflict,
//! and no single item every write touches), and `base` holds the count before the first of
//! them. `base` is 0 for a class created empty; for a class whose objects predate the counters
//! it is set by its first count: a full count, taken between two equal sums of the shards so
//! no write landed meanwhile. The `ADD` goes beside the answer, not before it: the write's
//! client is answered after one round trip, and a count in this process first waits for the
//! `ADD`s still in flight for its class, so counts after sequential writes stay exact (another
//! server's count may miss a change for the few milliseconds its `ADD` takes). Changes made
//! while a class's `ADD` is in flight go together in the next one. A crash between
//! an object's write and its `ADD` leaves the count off by one (docs/reliability.md says so).
//! Objects DynamoDB's TTL deletes (a class with `ttl`) are counted on counters of the day
//! they expire in (`x<day>#s<n>`), which TTL deletes at that day's end, after them.

use crate::error::Result;
use crate::layout::count_pk;
use crate::log::Log;
use crate::store::{Condition, Store};
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// Counter items per class: each takes 1,000 writes/s, so a class takes 16,000 creates and
/// deletes per second before its counters throttle.
const SHARDS: u32 = 16;
const BASE: &str = "base";
/// What separates a class from the expiry period of its changes in the in-flight map.
const PERIOD: char = '\u{1}';
/// Counter items per expiry day of a class with `ttl`: 4,000 changes a second.
const EXPIRING_SHARDS: u32 = 4;

/// The period (seconds) objects expiring in which share counters: a day
/// (`PSD_TTL_COUNT_PERIOD_S` shortens it, for tests that watch TTL delete them).
fn period() -> i64 {
    std::env::var("PSD_TTL_COUNT_PERIOD_S")
        .ok()
        .and_then(|v| v.parse::<i64>().ok())
        .filter(|s| *s > 0)
        .unwrap_or(86_400)
}
const N: &str = "n";

pub struct Counts {
    store: Store,
    log: Arc<Log>,
    in_flight: Arc<InFlight>,
}

/// The counter changes not yet answered, per class: a class is here while its sender runs,
/// with the changes made since its last `ADD` went out (sent next, together).
#[derive(Default)]
struct InFlight {
    waiting: Mutex<HashMap<String, i64>>,
    settled: Notify,
}

impl InFlight {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, i64>> {
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }
    /// Whether a change of `class` (any of its expiry hours) is in flight.
    fn holds(&self, class: &str) -> bool {
        self.lock()
            .keys()
            .any(|k| k.split(PERIOD).next() == Some(class))
    }
    /// Adds `delta` to what `class` will send; answers whether it has no sender yet (the
    /// caller starts one).
    fn add(&self, class: &str, delta: i64) -> bool {
        let mut waiting = self.lock();
        let idle = !waiting.contains_key(class);
        *waiting.entry(class.to_string()).or_default() += delta;
        idle
    }
    /// The change `class`'s sender sends next, taken; None when nothing has added up: the
    /// sender ends, and the class leaves (waking who waits for it).
    fn take(&self, class: &str) -> Option<i64> {
        {
            let mut waiting = self.lock();
            if let Some(d) = waiting.get_mut(class).filter(|d| **d != 0) {
                return Some(std::mem::take(d));
            }
            waiting.remove(class);
        }
        self.settled.notify_waiters();
        None
    }
    /// Waits until no change of `class` (None: of any class) is in flight.
    async fn settle(&self, class: Option<&str>) {
        loop {
            let notified = self.settled.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let pending = match class {
                Some(c) => self.holds(c),
                None => !self.lock().is_empty(),
            };
            if !pending {
                return;
            }
            notified.await;
        }
    }
}

/// The `base` and the sum of the shards of a class, as one Query reads them.
struct Read {
    base: Option<i64>,
    shards: i64,
}

impl Counts {
    pub fn new(store: Store, log: Arc<Log>) -> Counts {
        Counts {
            store,
            log,
            in_flight: Arc::default(),
        }
    }

    /// Records that `delta` objects of `class` were created (or deleted, when negative): the
    /// `ADD` is sent beside the write's answer (see the header). While one `ADD` of a class is
    /// in flight, the changes that follow add up and go as one `ADD` after it: one write unit
    /// and one request for many objects under load, never more than one per change. The object
    /// write has happened: a failure here is logged, not returned, since the write must not look
    /// failed to the client.
    pub fn changed(&self, class: &str, delta: i64) {
        self.changed_until(class, delta, None)
    }

    /// `changed`, of objects DynamoDB's TTL deletes at epoch second `expires` (a class with
    /// `ttl`): the change goes to a counter of the day they expire in, which TTL deletes at
    /// that day's end, so the count loses them about when TTL deletes them (it never hears
    /// of those deletes). A day's counter is `EXPIRING_SHARDS` items (the sessions made in a
    /// day mostly expire on one day, a year on: not one key for them all); a count reads one
    /// per shard and day still to come (Parse's year-long sessions: ~1,460 small items, ~15
    /// read units).
    pub fn changed_until(&self, class: &str, delta: i64, expires: Option<i64>) {
        let key = match expires {
            Some(at) => format!("{class}{PERIOD}{}", at.div_euclid(period())),
            None => class.to_string(),
        };
        if delta == 0 || !self.in_flight.add(&key, delta) {
            return;
        }
        let (store, log, in_flight) =
            (self.store.clone(), self.log.clone(), self.in_flight.clone());
        tokio::spawn(async move {
            let (class, period_no) = match key.split_once(PERIOD) {
                Some((c, h)) => (c.to_string(), h.parse::<i64>().ok()),
                None => (key.clone(), None),
            };
            while let Some(delta) = in_flight.take(&key) {
                let (sk, until) = match period_no {
                    Some(h) => {
                        let shard = rand::random_range(0..EXPIRING_SHARDS);
                        (format!("x{h}#s{shard}"), Some((h + 1) * period()))
                    }
                    None => (format!("s{:02}", rand::random_range(0..SHARDS)), None),
                };
                let added = store
                    .add_number_until(&count_pk(&class), &sk, N, delta, until)
                    .await;
                if let Err(e) = added {
                    log.warn(format!(
                        "the object count of {class} missed a change of {delta}: {e}"
                    ));
                }
            }
        });
    }

    /// Waits for every counter update still in flight (at shutdown, so none is lost).
    pub async fn settle(&self) {
        self.in_flight.settle(None).await;
    }

    async fn read(&self, reader: &Store, class: &str) -> Result<Read> {
        let mut out = Read {
            base: None,
            shards: 0,
        };
        reader
            .query(&count_pk(class), None, |item| {
                let n = match item.get(N) {
                    Some(AttributeValue::N(n)) => n.parse::<i64>().unwrap_or(0),
                    _ => 0,
                };
                match item.get(crate::codec::SK) {
                    Some(AttributeValue::S(sk)) if sk == BASE => out.base = Some(n),
                    _ => out.shards += n,
                }
                Ok(true)
            })
            .await?;
        Ok(out)
    }

    /// The number of objects of `class`: one Query of its counters through `reader` (strongly
    /// or eventually consistent) once they have a base; the first time, a full count that
    /// sets the base (strongly consistent).
    pub async fn size(&self, reader: &Store, class: &str) -> Result<u64> {
        self.in_flight.settle(Some(class)).await;
        let first = self.read(reader, class).await?;
        if let Some(base) = first.base {
            return Ok((base + first.shards).max(0) as u64);
        }
        let mut before = self.read(&self.store, class).await?.shards;
        for _ in 0..3 {
            let counted = self.store.count(class).await? as i64;
            let after = self.read(&self.store, class).await?;
            if let Some(base) = after.base {
                // Another server set it meanwhile.
                return Ok((base + after.shards).max(0) as u64);
            }
            if after.shards == before {
                self.set_base(class, counted - before).await?;
                return Ok(counted.max(0) as u64);
            }
            before = after.shards;
        }
        // Writes kept landing: answer the last full count, set no base.
        self.store.count(class).await
    }

    /// The number of objects of `class` as its counters hold it now, without waiting for
    /// changes in flight; None until the class has a base (never a full count: what the cost
    /// model asks, often, of any class).
    pub async fn known(&self, reader: &Store, class: &str) -> Result<Option<u64>> {
        let read = self.read(reader, class).await?;
        Ok(read.base.map(|base| (base + read.shards).max(0) as u64))
    }

    /// A class whose schema was just created starts counted: its base is 0. Every object
    /// this adapter writes is in the shards, those written before the schema too (a first
    /// batch's creates of a new class race its creation: some land before it).
    pub async fn start(&self, class: &str) -> Result<()> {
        self.set_base(class, 0).await
    }

    /// Counts `class` again from its objects (one full count): its counters are deleted and
    /// the count sets a new base. For a class written without counting (an import), while
    /// nothing else writes it.
    pub async fn recount(&self, class: &str) -> Result<u64> {
        self.in_flight.settle(Some(class)).await;
        let keys = self.store.partition_keys(&count_pk(class)).await?;
        self.store.batch_delete(&keys).await?;
        let counted = self.store.count(class).await?;
        self.set_base(class, counted as i64).await?;
        Ok(counted)
    }

    async fn set_base(&self, class: &str, base: i64) -> Result<()> {
        let item = HashMap::from([
            (
                crate::codec::PK.to_string(),
                AttributeValue::S(count_pk(class)),
            ),
            (crate::codec::SK.to_string(), AttributeValue::S(BASE.into())),
            (N.to_string(), AttributeValue::N(base.to_string())),
        ]);
        // Two servers may set it at once; both computed it from a quiet moment, so whichever
        // lands first is right.
        self.store.put(item, Some(Condition::absent())).await?;
        Ok(())
    }
}
