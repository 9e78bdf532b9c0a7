//! What the core has to tell its user (index back-fills and their progress, retries given up),
//! kept as records in a bounded queue until the host drains them: the Node shim forwards them
//! to Parse Server's logger (or the `logger` option), and tests read them directly. The core
//! never writes to stdout.

use std::collections::VecDeque;
use std::sync::Mutex;

/// Records kept when nobody drains them; older ones are dropped first.
const MAX_RECORDS: usize = 1000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub level: &'static str,
    pub message: String,
}

#[derive(Debug, Default)]
pub struct Log {
    records: Mutex<VecDeque<Record>>,
}

impl Log {
    pub fn info(&self, message: impl Into<String>) {
        self.push("info", message.into());
    }

    pub fn warn(&self, message: impl Into<String>) {
        self.push("warn", message.into());
    }

    fn push(&self, level: &'static str, message: String) {
        if let Ok(mut q) = self.records.lock() {
            if q.len() >= MAX_RECORDS {
                q.pop_front();
            }
            q.push_back(Record { level, message });
        }
    }

    /// Takes every record kept so far as a JSON array of `{level, message}` (what the binding
    /// and `api::call("takeLogs")` answer).
    pub fn drain_json(&self) -> serde_json::Value {
        serde_json::Value::Array(
            self.drain()
                .into_iter()
                .map(|r| serde_json::json!({"level": r.level, "message": r.message}))
                .collect(),
        )
    }

    /// Takes every record kept so far, oldest first.
    pub fn drain(&self) -> Vec<Record> {
        self.records
            .lock()
            .map(|mut q| q.drain(..).collect())
            .unwrap_or_default()
    }
}
