//! Reading an index's entries from the partitions that hold them: one, or a sharded index's
//! sixteen (`layout::index_pks`). `InOrder` reads them in sort-key order as one sequence: each
//! shard is read a page at a time (the first pages of all shards sent together, one round
//! trip) and the pages merged (a k-way merge); an entry is handed on only once every shard
//! that could hold a smaller one has been read past it, so a page of `n` entries reads about
//! `n` entries plus one small Query per shard, not the index. `in_range` answers every
//! entry of a range (lookups), the shards read at once. One partition is read exactly as a plain Query is.

use crate::codec::{Item, SK};
use crate::error::Result;
use crate::store::Store;
use aws_sdk_dynamodb::types::AttributeValue;
use futures::future::try_join_all;
use std::collections::{HashMap, VecDeque};

type Start = HashMap<String, AttributeValue>;

/// One partition's place in an in-order read: what it read and has not handed on yet, where
/// its next page starts, and whether it has more.
struct Shard {
    pk: String,
    read: VecDeque<Item>,
    start: Option<Start>,
    done: bool,
}

/// The entries of index partitions `pks` within a sort-key range, in order (ascending when
/// `forward`), page by page.
pub struct InOrder<'a> {
    store: &'a Store,
    shards: Vec<Shard>,
    range: (String, String),
    forward: bool,
}

fn sk(item: &Item) -> &str {
    match item.get(SK) {
        Some(AttributeValue::S(s)) => s,
        _ => "",
    }
}

impl<'a> InOrder<'a> {
    pub fn new(store: &'a Store, pks: Vec<String>, range: (&str, &str), forward: bool) -> Self {
        InOrder {
            store,
            shards: pks
                .into_iter()
                .map(|pk| Shard {
                    pk,
                    read: VecDeque::new(),
                    start: None,
                    done: false,
                })
                .collect(),
            range: (range.0.to_string(), range.1.to_string()),
            forward,
        }
    }

    /// Reads the next page of the shards that have handed on all they read and have more,
    /// together; `limit` entries each.
    async fn refill(&mut self, limit: i32) -> Result<()> {
        let (store, range, forward) = (self.store, &self.range, self.forward);
        let reads = self
            .shards
            .iter_mut()
            .filter(|s| s.read.is_empty() && !s.done)
            .map(|s| async move {
                let (items, next) = store
                    .query_page(&s.pk, (&range.0, &range.1), forward, limit, s.start.take())
                    .await?;
                s.read.extend(items);
                s.done = next.is_none();
                s.start = next;
                Ok::<(), crate::error::Error>(())
            });
        try_join_all(reads).await?;
        Ok(())
    }

    /// The next (up to) `limit` entries in order, and whether more may follow.
    pub async fn page(&mut self, limit: i32) -> Result<(Vec<Item>, bool)> {
        let n = self.shards.len() as i32;
        // A shard holds about 1/n of a page; half as much again leaves room for chance, so a
        // shard rarely runs out before the page is complete (which costs a round trip).
        let each = if n <= 1 {
            limit
        } else {
            let share = (limit + n - 1) / n;
            (share + share / 2 + 2).min(1000)
        };
        let mut out = Vec::new();
        while (out.len() as i32) < limit {
            // An entry can be handed on only when no shard that has more is empty-handed.
            if self.shards.iter().any(|s| s.read.is_empty() && !s.done) {
                self.refill(each).await?;
            }
            let heads = self
                .shards
                .iter()
                .enumerate()
                .filter_map(|(i, s)| s.read.front().map(|h| (i, sk(h))));
            let best = if self.forward {
                heads.min_by(|a, b| a.1.cmp(b.1))
            } else {
                heads.max_by(|a, b| a.1.cmp(b.1))
            };
            let Some((i, _)) = best else {
                break;
            };
            out.extend(self.shards[i].read.pop_front());
        }
        let more = self.shards.iter().any(|s| !s.read.is_empty() || !s.done);
        Ok((out, more))
    }
}

/// Every entry of partitions `pks` within `range`, the partitions read at once (in key order
/// within each partition, not across them). Whole partitions (back-fills, checks, drops) are
/// read one by one with `Store::query` instead, so memory holds a page, not the index.
pub async fn in_range(store: &Store, pks: &[String], range: (&str, &str)) -> Result<Vec<Item>> {
    let reads = pks.iter().map(|pk| async move {
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let (items, next) = store.query_page(pk, range, true, 1000, start).await?;
            found.extend(items);
            match next {
                Some(n) => start = Some(n),
                None => break Ok::<Vec<Item>, crate::error::Error>(found),
            }
        }
    });
    Ok(try_join_all(reads).await?.into_iter().flatten().collect())
}
