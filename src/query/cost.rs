//! What a read would bill, in read units, before it runs: the cost model the planner takes the
//! cheapest access path by. It knows a class by `Stats` (its object count, from the counters;
//! its objects' average item size and, per query shape, the fraction of the class such
//! conditions matched, both learned from earlier reads) and guesses the rest (an equality
//! matches 1 in 20, a bound 1 in 3). DynamoDB bills a Query by the bytes it reads (4 KB a
//! unit) and a GetItem/BatchGetItem per item (each rounded up to 4 KB), so a partition Query
//! of small items costs a tenth of fetching the same objects one by one: an index read wins
//! only when it fetches few. Estimates are for strongly consistent reads; eventually
//! consistent ones cost half of each, which changes no comparison.

use super::normal::Normal;
use super::parse::{Cond, Expr};
use std::collections::HashMap;
use std::sync::Arc;

/// Bytes a read unit reads.
const UNIT_BYTES: f64 = 4096.0;
/// About the size of an index entry item (keys, the order text, the object key).
pub const ENTRY_BYTES: f64 = 120.0;
/// What is assumed of a class not measured yet.
const DEFAULT_OBJECTS: f64 = 1000.0;
const DEFAULT_ITEM_BYTES: f64 = 1024.0;
/// Shapes remembered per class (a class sees a few dozen query shapes).
pub const MAX_LEARNED: usize = 64;

/// What the cost model knows of a class.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Objects in the class (None: not counted yet).
    pub objects: Option<f64>,
    /// Average size of an object's item in bytes, as partition reads billed it.
    pub item_bytes: Option<f64>,
    /// The fraction of the class that conditions of a shape (`Normal::shape`) matched when
    /// last read in full (shared: a plan's copy of the stats costs no allocation).
    pub learned: Arc<HashMap<String, f64>>,
}

impl Stats {
    pub fn objects(&self) -> f64 {
        self.objects.unwrap_or(DEFAULT_OBJECTS).max(1.0)
    }

    fn item_bytes(&self) -> f64 {
        self.item_bytes.unwrap_or(DEFAULT_ITEM_BYTES).max(1.0)
    }

    /// Units a GetItem or a BatchGetItem bills per object.
    pub fn fetch(&self) -> f64 {
        (self.item_bytes() / UNIT_BYTES).ceil().max(1.0)
    }

    /// A Query of the whole class partition.
    pub fn partition(&self) -> f64 {
        self.objects() * self.item_bytes() / UNIT_BYTES + 1.0
    }

    /// `queries` Queries of an index reading `entries` entries in all, then fetching the
    /// objects they name.
    pub fn index_read(&self, queries: usize, entries: f64) -> f64 {
        queries as f64 + entries * (ENTRY_BYTES / UNIT_BYTES + self.fetch())
    }

    /// An index read in order over entries a fraction `part` of the class has, stopping
    /// once `need` rows are found (None: reads them all) among which a fraction `rest`
    /// matches the query's other conditions.
    /// `queries`: the partitions the index spreads its entries over (each read at least once).
    pub fn in_order(&self, queries: usize, part: f64, rest: f64, need: Option<usize>) -> f64 {
        let entries = self.objects() * part;
        let fetched = match need {
            Some(n) => entries.min(n as f64 / rest.max(1e-12)),
            None => entries,
        };
        self.index_read(queries, fetched)
    }

    /// `in_order` when the fraction of the read entries that match is not known: its expected
    /// cost with that fraction anywhere from one entry in all to all of them, evenly on a log
    /// scale. An in-order read stops after `need / fraction` entries, so a guess too high by
    /// 100x makes it fetch 100x more, up to every entry one object at a time; its expectation
    /// weighs that in (about `entries / ln(entries)` for a page much smaller than the range),
    /// so an unmeasured shape reads the partition rather than risk fetching the class.
    pub fn in_order_unknown(&self, queries: usize, part: f64, need: Option<usize>) -> f64 {
        let entries = (self.objects() * part).max(1.0);
        let fetched = match need {
            Some(n) if (n as f64) < entries && entries > 1.0 => {
                let n = (n as f64).max(1.0);
                (entries * n.ln() + entries - n) / entries.ln()
            }
            _ => entries,
        };
        self.index_read(queries, fetched)
    }

    /// The fraction of the class that the conjuncts `which` picks match: as learned for their
    /// shape, else the product of each one's own (learned alone, or guessed).
    pub fn selectivity(&self, q: &Normal, which: impl Fn(&Expr) -> bool + Copy) -> f64 {
        self.fraction(q, &q.shape(which), which)
    }

    /// The fraction of the class the whole query matches (`selectivity` of all its conjuncts,
    /// on the shape the query derived once).
    pub fn matching(&self, q: &Normal) -> f64 {
        self.fraction(q, q.whole_shape(), |_| true)
    }

    /// Whether a read of the whole query's shape has been measured.
    pub fn measured(&self, q: &Normal) -> bool {
        self.learned.contains_key(q.whole_shape())
    }

    fn fraction(&self, q: &Normal, shape: &str, which: impl Fn(&Expr) -> bool + Copy) -> f64 {
        let floor = 0.5 / self.objects();
        if shape.is_empty() {
            return 1.0;
        }
        if let Some(s) = self.learned.get(shape) {
            return s.max(floor);
        }
        // The whole query was measured: these conjuncts match that fraction divided by what
        // the others match (as if independent), at least the whole's, at most all.
        if let Some(whole) = self.learned.get(q.whole_shape()) {
            let others: f64 = q
                .picked(move |c| !which(c))
                .map(|(c, shape)| self.learned.get(shape).copied().unwrap_or_else(|| guess(c)))
                .product();
            return (whole / others.max(1e-9)).clamp(whole.max(floor), 1.0);
        }
        q.picked(which)
            .map(|(c, shape)| self.learned.get(shape).copied().unwrap_or_else(|| guess(c)))
            .product::<f64>()
            .clamp(floor, 1.0)
    }
}

/// A guess at the fraction of a class one condition matches, for shapes never read in full.
fn guess(e: &Expr) -> f64 {
    match e {
        Expr::True => 1.0,
        Expr::And(v) => v.iter().map(guess).product(),
        Expr::Or(v) => v.iter().map(guess).sum::<f64>().min(1.0),
        Expr::Nor(v) => 1.0 - v.iter().map(guess).sum::<f64>().min(0.9),
        Expr::Field(_, c) => guess_cond(c),
    }
}

fn guess_cond(c: &Cond) -> f64 {
    match c {
        Cond::Eq(_) | Cond::EqCi(_) => 0.05,
        Cond::In(l) => (0.05 * l.len() as f64).min(1.0),
        Cond::Lt(_) | Cond::Lte(_) | Cond::Gt(_) | Cond::Gte(_) => 0.3,
        Cond::Regex(_) => 0.1,
        Cond::Text(_) | Cond::Geo(_) | Cond::All(_) | Cond::ContainedBy(_) => 0.1,
        Cond::Exists(true) => 0.7,
        Cond::Exists(false) => 0.3,
        Cond::Ne(_) | Cond::Nin(_) | Cond::Not(_) => 0.9,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::parse_query;
    use serde_json::json;

    #[test]
    fn learned_shapes_beat_guesses() {
        let e = parse_query(&json!({"score": {"$gte": 1, "$lt": 9}}), false).unwrap();
        let q = Normal::of(&e);
        let mut s = Stats {
            objects: Some(10_000.0),
            item_bytes: Some(400.0),
            ..Stats::default()
        };
        assert!((s.matching(&q) - 0.09).abs() < 1e-9);
        Arc::make_mut(&mut s.learned).insert("score:gt&score:lt".into(), 0.0005);
        assert_eq!(s.matching(&q), 0.0005);
        // A part of a measured query: the measured fraction over what the rest matches.
        let two = parse_query(&json!({"score": {"$gte": 1}, "kind": "a"}), false).unwrap();
        let q2 = Normal::of(&two);
        let mut t = Stats {
            objects: Some(1000.0),
            ..Stats::default()
        };
        Arc::make_mut(&mut t.learned).insert(q2.whole_shape().to_string(), 0.004);
        let on = |f: &'static str| move |c: &Expr| matches!(c, Expr::Field(x, _) if x.len() == 1 && x[0] == f);
        // The score range: 0.004 over `kind`'s guessed 0.05; `kind`: over the range's 0.3.
        assert!((t.selectivity(&q2, on("score")) - 0.08).abs() < 1e-9);
        assert!((t.selectivity(&q2, on("kind")) - 0.004 / 0.3).abs() < 1e-9);
        // Never above 1.
        Arc::make_mut(&mut t.learned).insert(q2.whole_shape().to_string(), 0.5);
        assert_eq!(t.selectivity(&q2, on("score")), 1.0);
        // Never 0: an estimate of no rows at all would make any path look free.
        Arc::make_mut(&mut s.learned).insert("score:gt&score:lt".into(), 0.0);
        assert_eq!(s.matching(&q), 0.5 / 10_000.0);
    }

    #[test]
    fn a_partition_query_of_small_items_beats_fetching_them() {
        let s = Stats {
            objects: Some(1000.0),
            item_bytes: Some(370.0),
            ..Stats::default()
        };
        // Fetching every object in order costs ~11x the Query of all of them.
        assert!(s.in_order(1, 1.0, 0.005, Some(100)) > 10.0 * s.partition());
        // An in-order read that stops after its page costs about the page.
        assert!(s.in_order(1, 1.0, 1.0, Some(20)) < 25.0);
        // Unknown where it stops, its expectation at 100k objects is near half the class:
        // more than the partition's Query.
        let big = Stats {
            objects: Some(100_000.0),
            ..s.clone()
        };
        let unknown = big.in_order_unknown(1, 1.0, Some(100));
        assert!((40_000.0..60_000.0).contains(&unknown), "{unknown}");
        assert!(unknown > big.partition());
        // A page as large as the range reads the range.
        assert_eq!(
            big.in_order_unknown(1, 0.001, Some(500)),
            big.index_read(1, 100.0)
        );
    }
}
