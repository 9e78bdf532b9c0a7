//! Partitions whose writes DynamoDB throttled: the partition key of every write a
//! transaction's cancellation reasons name as throttled (`ThrottlingError`), counted over a
//! minute, so the rooms above can tell a key range that stays hot (an index whose new keys all
//! land at its end, which DynamoDB cannot split) from a moment's burst.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Throttled writes within `WINDOW` that make a partition hot.
pub const HOT_THROTTLES: u32 = 10;
const WINDOW: Duration = Duration::from_secs(60);
/// Partitions remembered at most (a table under throttling everywhere must not grow this).
const MAX_SEEN: usize = 1024;

#[derive(Debug, Default)]
pub struct Heat {
    /// Per partition key: throttled writes since the window began, and when it began.
    seen: HashMap<String, (u32, Instant)>,
}

impl Heat {
    /// A write to partition `pk` was throttled.
    pub fn throttled(&mut self, pk: &str) {
        let now = Instant::now();
        if self.seen.len() >= MAX_SEEN && !self.seen.contains_key(pk) {
            self.seen
                .retain(|_, (_, at)| now.duration_since(*at) < WINDOW);
            if self.seen.len() >= MAX_SEEN {
                return;
            }
        }
        let e = self.seen.entry(pk.to_string()).or_insert((0, now));
        if now.duration_since(e.1) >= WINDOW {
            *e = (0, now);
        }
        e.0 += 1;
    }

    /// The partitions throttled at least `HOT_THROTTLES` times within a window, forgotten once
    /// answered (each is answered once per heat).
    pub fn take_hot(&mut self) -> Vec<String> {
        if self.seen.is_empty() {
            return Vec::new();
        }
        let now = Instant::now();
        let hot: Vec<String> = self
            .seen
            .iter()
            .filter(|(_, (n, at))| *n >= HOT_THROTTLES && now.duration_since(*at) < WINDOW)
            .map(|(pk, _)| pk.clone())
            .collect();
        for pk in &hot {
            self.seen.remove(pk);
        }
        hot
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partition_is_hot_after_repeated_throttles_and_answered_once() {
        let mut h = Heat::default();
        for _ in 0..HOT_THROTTLES - 1 {
            h.throttled("~i:C:createdAt");
        }
        h.throttled("C");
        assert!(h.take_hot().is_empty());
        h.throttled("~i:C:createdAt");
        assert_eq!(h.take_hot(), ["~i:C:createdAt"]);
        assert!(h.take_hot().is_empty());
    }
}
