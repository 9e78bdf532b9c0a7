//! Transactional sessions (Parse `batch` with `transaction: true`). Writes made in a session are
//! not sent: each becomes DynamoDB operations (the object, its unique-value sentinels) kept in
//! the session's buffer, one per item, so a later write to the same item replaces the earlier
//! one while keeping the earlier condition (the one that describes the committed state). Commit
//! sends them all in one TransactWriteItems (at most 100), so either all land or none.

use crate::error::{Error, Result};
use crate::store::{Store, TxOp, Written};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

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
}

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

    pub fn abort(&self, session: u64) {
        self.lock().remove(&session);
    }

    pub async fn commit(&self, store: &Store, session: u64) -> Result<()> {
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
            return Ok(());
        }
        if ops.len() > 100 {
            return Err(Error::Unsupported(format!(
                "a transaction writes at most 100 DynamoDB items; this one needs {} (each object, and each unique value it changes, is one)",
                ops.len()
            )));
        }
        match store.transact(ops).await? {
            Written::Ok => Ok(()),
            Written::ConditionFailed(i) => Err(errors.swap_remove(i)),
            Written::Conflict => Err(Error::Conflict(
                "the transaction conflicted with another one; nothing was written".into(),
            )),
        }
    }
}

fn unknown() -> Error {
    Error::Internal("unknown or finished transactional session".into())
}
