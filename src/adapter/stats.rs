//! What this process has learned of each class for the cost model (`query::cost::Stats`): its
//! object count, read from its counters (one small Query) the first time a read has a choice
//! of access paths and again in the background when older than `FRESH`; its objects' average
//! item size, from what partition reads billed; and per query shape the fraction of the class
//! the last read of that shape matched (exact after a read to the end, sampled from an
//! in-order read that stopped at its page). Memory per class is bounded (`cost::MAX_LEARNED`
//! shapes). A restarted server learns again from its first reads.

use crate::query::cost::{Stats, MAX_LEARNED};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long an object count is used before it is read again.
const FRESH: Duration = Duration::from_secs(30);

#[derive(Default)]
pub struct Learned {
    classes: Mutex<HashMap<String, Class>>,
}

#[derive(Default)]
struct Class {
    stats: Stats,
    counted: Option<Instant>,
    counting: bool,
    /// Objects written (created or updated) by this process.
    writes: u64,
    /// Per index a read wanted: the read units reads spent beyond what it would have read.
    wasted: HashMap<String, f64>,
}

/// Whether the object count of a class is to be read: before planning (never read), in the
/// background (old), or not.
#[derive(Debug, PartialEq)]
pub enum Count {
    Now,
    Later,
    No,
}

/// The record of `class`, made when there is none (the name is copied only then: `get` runs
/// before every plan).
fn entry<'m>(all: &'m mut HashMap<String, Class>, class: &str) -> Option<&'m mut Class> {
    if !all.contains_key(class) {
        all.insert(class.to_string(), Class::default());
    }
    all.get_mut(class)
}

impl Learned {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Class>> {
        self.classes.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What is known of `class`, and whether its count is to be read (`Later`: the caller
    /// reads it and calls `counted`; no other caller is told to meanwhile).
    pub fn get(&self, class: &str) -> (Stats, Count) {
        let mut all = self.lock();
        let Some(c) = entry(&mut all, class) else {
            return (Stats::default(), Count::Now);
        };
        let count = match c.counted {
            None => Count::Now,
            Some(at) if at.elapsed() > FRESH && !c.counting => {
                c.counting = true;
                Count::Later
            }
            _ => Count::No,
        };
        (c.stats.clone(), count)
    }

    /// The object count of `class` was read (None: it has none yet).
    pub fn counted(&self, class: &str, objects: Option<u64>) {
        let mut all = self.lock();
        let Some(c) = entry(&mut all, class) else {
            return;
        };
        c.counted = Some(Instant::now());
        c.counting = false;
        if let Some(n) = objects {
            c.stats.objects = Some(n as f64);
        }
    }

    /// A read of `class` found that conditions of `shape` match this fraction of it.
    pub fn matched(&self, class: &str, shape: String, fraction: f64) {
        if shape.is_empty() || !fraction.is_finite() {
            return;
        }
        let fraction = fraction.clamp(0.0, 1.0);
        let mut all = self.lock();
        let Some(c) = entry(&mut all, class) else {
            return;
        };
        if c.stats.learned.get(&shape) == Some(&fraction) {
            // Known already: the plans holding the map keep sharing it.
            return;
        }
        let learned = std::sync::Arc::make_mut(&mut c.stats.learned);
        if learned.len() >= MAX_LEARNED && !learned.contains_key(&shape) {
            // Forget one: shapes a class stops using go in time.
            if let Some(k) = learned.keys().next().cloned() {
                learned.remove(&k);
            }
        }
        learned.insert(shape, fraction);
    }

    /// A read of the whole class partition billed `bytes` per object.
    pub fn item_bytes(&self, class: &str, bytes: f64) {
        if bytes.is_finite() && bytes > 0.0 {
            if let Some(c) = entry(&mut self.lock(), class) {
                c.stats.item_bytes = Some(bytes);
            }
        }
    }

    /// An object of `class` was written.
    pub fn wrote(&self, class: &str) {
        if let Some(c) = entry(&mut self.lock(), class) {
            c.writes += 1;
        }
    }

    /// A read of `class` wanting index `spec` spent `units` more than the index would have;
    /// answers what reads wanting it spent so far beyond it, and the objects written so far.
    pub fn wasted(&self, class: &str, spec: &str, units: f64) -> (f64, u64) {
        let mut all = self.lock();
        let Some(c) = entry(&mut all, class) else {
            return (0.0, 0);
        };
        if c.wasted.len() >= MAX_LEARNED && !c.wasted.contains_key(spec) {
            return (units, c.writes);
        }
        let w = c.wasted.entry(spec.to_string()).or_default();
        *w += units.max(0.0);
        (*w, c.writes)
    }

    /// Forgets what is known of `class` (it was deleted or emptied).
    pub fn forget(&self, class: &str) {
        self.lock().remove(class);
    }

    /// Forgets every class (all were deleted).
    pub fn forget_all(&self) {
        self.lock().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_is_read_once_then_in_the_background() {
        let l = Learned::default();
        assert_eq!(l.get("A").1, Count::Now);
        l.counted("A", Some(300));
        let (s, count) = l.get("A");
        assert_eq!((s.objects, count), (Some(300.0), Count::No));
        l.matched("A", "n:eq".into(), 0.25);
        assert_eq!(l.get("A").0.learned.get("n:eq"), Some(&0.25));
        for i in 0..MAX_LEARNED + 10 {
            l.matched("A", format!("f{i}:eq"), 0.5);
        }
        assert_eq!(l.get("A").0.learned.len(), MAX_LEARNED);
    }
}
