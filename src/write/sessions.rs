//! Transactional sessions (Parse `batch` with `transaction: true`). Writes made in a session are
//! not sent: each becomes DynamoDB operations (the object, its unique-value sentinels) kept in
//! the session's buffer, one per item, so a later write to the same item replaces the earlier
//! one while keeping the earlier condition (the one that describes the committed state). Commit
//! sends them all in one TransactWriteItems (at most 100), so either all land or none, and
//! says how many objects of each class it created and deleted (for `counts`). A large object's
//! chunks (`store::chunks`) are written when its write is buffered (no head names them yet);
//! the versions the commit leaves unnamed (the replaced ones, and those of a later write of the
//! same object; a write that leaves the chunked fields as they were keeps its version) are
//! removed after it, and all it wrote when it fails or is aborted.

use crate::codec::{item_chunks, ChunkRef, Item};
use crate::error::{Error, Result};
use crate::layout::is_object_partition;
use crate::store::chunks::{OWNER_PK, OWNER_SK};
use crate::store::{Store, TxOp, Written};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Commits tried when DynamoDB cancels a transaction for a conflict with another one.
const COMMIT_ATTEMPTS: u32 = 20;

/// A buffered write: the operation, the object it leaves (for later writes in the session to
/// start from; None after a delete), and the error to report if its condition fails.
struct Buffered {
    op: TxOp,
    obj: Option<Map<String, Value>>,
    on_fail: Error,
}

#[derive(Default)]
struct Buffer {
    order: Vec<(String, String)>,
    writes: HashMap<(String, String), Buffered>,
    /// Versions of chunks written for the session's writes, with their object's key.
    written: Vec<Owned>,
    /// Versions of chunks of the objects as committed that its writes replace.
    replaced: Vec<ChunkRef>,
}

/// A version of chunks and the key of the object it was written for.
type Owned = (ChunkRef, String, String);

#[derive(Default)]
pub struct Sessions {
    next: AtomicU64,
    open: Mutex<HashMap<u64, Buffer>>,
}

/// What a session already holds for an object.
pub enum Pending {
    None,
    Written(Map<String, Value>),
    Deleted,
}

impl Sessions {
    pub fn start(&self) -> u64 {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        self.lock().insert(id, Buffer::default());
        id
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Buffer>> {
        // A panic elsewhere while holding the lock leaves plain data behind; keep using it.
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn pending(&self, session: u64, pk: &str, sk: &str) -> Result<Pending> {
        let open = self.lock();
        let buf = open.get(&session).ok_or_else(unknown)?;
        Ok(match buf.writes.get(&(pk.to_string(), sk.to_string())) {
            None => Pending::None,
            Some(Buffered { obj: Some(o), .. }) => Pending::Written(o.clone()),
            Some(Buffered { obj: None, .. }) => Pending::Deleted,
        })
    }

    /// Adds an operation; `obj` is the object it leaves behind (objects only).
    pub fn add(
        &self,
        session: u64,
        op: TxOp,
        obj: Option<Map<String, Value>>,
        on_fail: Error,
    ) -> Result<()> {
        let mut open = self.lock();
        let buf = open.get_mut(&session).ok_or_else(unknown)?;
        let key = op.key();
        match buf.writes.get_mut(&key) {
            Some(prev) => {
                let first = prev.op.condition().cloned();
                prev.op = op.with_condition(first);
                prev.obj = obj;
            }
            None => {
                buf.order.push(key.clone());
                buf.writes.insert(key, Buffered { op, obj, on_fail });
            }
        }
        Ok(())
    }

    /// Writes the chunks of a large object's write to be buffered (`store::chunks`).
    pub async fn write_chunks(
        &self,
        store: &Store,
        session: u64,
        chunks: Vec<Item>,
        version: Option<ChunkRef>,
    ) -> Result<()> {
        // None written (the object keeps the version it had).
        let Some(v) = version.filter(|_| !chunks.is_empty()) else {
            return Ok(());
        };
        let owner = |k: &str| match chunks.first().and_then(|c| c.get(k)) {
            Some(aws_sdk_dynamodb::types::AttributeValue::S(s)) => s.clone(),
            _ => String::new(),
        };
        let owned = (v, owner(OWNER_PK), owner(OWNER_SK));
        self.lock()
            .get_mut(&session)
            .ok_or_else(unknown)?
            .written
            .push(owned);
        store.write_chunks(chunks).await
    }

    /// Records that a buffered write replaces (or deletes) an object whose committed version
    /// names chunks `version`: removed once the commit lands.
    pub fn replaces(&self, session: u64, version: Option<ChunkRef>) -> Result<()> {
        let mut open = self.lock();
        let buf = open.get_mut(&session).ok_or_else(unknown)?;
        buf.replaced.extend(version);
        Ok(())
    }

    /// Aborts a session: nothing is sent, and the chunks it wrote are removed.
    pub async fn abort(&self, store: &Store, session: u64) {
        let buf = self.lock().remove(&session);
        if let Some(buf) = buf {
            drop_unnamed(store, &buf.written).await;
        }
    }

    /// Sends the session's writes in one transaction; answers, per class, how many objects
    /// they created less those they deleted.
    pub async fn commit(&self, store: &Store, session: u64) -> Result<Vec<(String, i64)>> {
        let mut buf = self.lock().remove(&session).ok_or_else(unknown)?;
        let mut ops = Vec::with_capacity(buf.order.len());
        let mut errors = Vec::with_capacity(buf.order.len());
        for k in &buf.order {
            if let Some(b) = buf.writes.remove(k) {
                ops.push(b.op);
                errors.push(b.on_fail);
            }
        }
        if ops.is_empty() {
            return Ok(Vec::new());
        }
        if ops.len() > 100 {
            drop_unnamed(store, &buf.written).await;
            return Err(Error::Unsupported(format!(
                "a transaction writes at most 100 DynamoDB items; this one needs {} (each object, and each unique value it changes, is one)",
                ops.len()
            )));
        }
        let counted = count_changes(&ops);
        // The versions of chunks no head of the commit names.
        let named: Vec<ChunkRef> = ops
            .iter()
            .filter_map(|op| match op {
                TxOp::Put(item, _) => item_chunks(item),
                _ => None,
            })
            .collect();
        let written = buf.written.iter().map(|(v, _, _)| v);
        let unnamed: Vec<ChunkRef> = buf
            .replaced
            .iter()
            .chain(written)
            .filter(|v| !named.contains(v))
            .cloned()
            .collect();
        // A conflict with another transaction in flight (DynamoDB's TransactionConflict) is
        // tried again: every item's condition is checked anew, so a retry never overrides a
        // write that happened in between.
        for attempt in 0..COMMIT_ATTEMPTS {
            // An error may be a commit whose answer was lost (it may land yet): its chunks are
            // left. A refused commit may follow an earlier attempt that landed after all (a
            // retry found it in progress): its chunks go only where no head names them.
            let sent = store.transact(ops.clone()).await.map_err(Error::of_write);
            if let Err(Error::Refused(_) | Error::Unsupported(_)) = &sent {
                // Refused before anything was applied (over 4 MB, invalid).
                drop_unnamed(store, &buf.written).await;
            }
            match sent? {
                Written::Ok => {
                    drop_all(store, &unnamed).await;
                    return Ok(counted);
                }
                Written::ConditionFailed(i) => {
                    drop_unnamed(store, &buf.written).await;
                    return Err(errors.swap_remove(i));
                }
                Written::Conflict => crate::store::backoff(attempt.min(6)).await,
            }
        }
        drop_unnamed(store, &buf.written).await;
        Err(Error::Conflict(
            "the transaction conflicted with others again and again; nothing was written".into(),
        ))
    }
}

/// Removes the versions of chunks their objects' heads do not name (best effort).
async fn drop_unnamed(store: &Store, versions: &[Owned]) {
    for (v, pk, sk) in versions {
        store.drop_unless_named(pk, sk, v).await;
    }
}

/// Removes versions of chunks (best effort: `check --fix` removes what stays).
async fn drop_all(store: &Store, versions: &[ChunkRef]) {
    for v in versions {
        let _ = store.drop_chunks(v).await;
    }
}

/// Objects created (a put that requires the item absent) less objects deleted (a delete of an
/// item the session did not create), per class.
fn count_changes(ops: &[TxOp]) -> Vec<(String, i64)> {
    let mut out: Vec<(String, i64)> = Vec::new();
    for op in ops {
        let (pk, _) = op.key();
        let creates = op.condition().is_some_and(|c| c.is_absent());
        let delta = match op {
            TxOp::Put(..) if creates => 1,
            TxOp::Delete(..) if !creates => -1,
            _ => 0,
        };
        if delta == 0 || !is_object_partition(&pk) {
            continue;
        }
        match out.iter_mut().find(|(c, _)| *c == pk) {
            Some((_, d)) => *d += delta,
            None => out.push((pk, delta)),
        }
    }
    out
}

fn unknown() -> Error {
    Error::Internal("unknown or finished transactional session".into())
}
