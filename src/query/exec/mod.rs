//! Runs a `Plan` against the store and answers rows: key reads (GetItem, BatchGetItem), sentinel
//! and index lookups, relation key ranges, partition Queries with the plan's filter, and index
//! reads in sort order that stop once the page is known. Every item read is decoded and checked
//! by the evaluator (the plan's filter is only a superset), then `find` scores, sorts, skips and
//! limits. It decides nothing about Parse; it calls only down (`query::eval`/`sort`, `store`).

mod in_order;
mod keys;
mod near;

use in_order::scan_in_order;
use keys::{lookup_found, mirrored_keys, read_keys, MIRRORS_AT_ONCE};

use crate::codec::{item_to_stored, Stored};
use crate::error::Result;
use crate::indexes::entries::{self, InOrder};
use crate::layout::index;
use crate::layout::{
    entry_of, index_pks, join_mirror_pk, pointed_key, sentinel_copy, sentinel_owner, unique_pk,
};
use crate::query::eval::{self, matches};
use crate::query::plan::{Access, Lookup, Plan};
use crate::query::sort::Order;
use crate::query::Expr;
use crate::store::{Condition, Filter, Store};
use serde_json::{json, Map, Value};
use std::collections::HashSet;

/// The rows a plan answered, how many rows matched before paging (what an index would have
/// read), and what reading them took.
#[derive(Debug, Default)]
pub struct Answer<T> {
    pub rows: T,
    pub matched: usize,
    pub read: Read,
}

/// What a read took: the read units spent where a better index could have spent fewer (a Query
/// of the class partition, as billed; index lookups, about one unit per object fetched;
/// in-order index reads, one per object fetched that did not match; 0 for key reads and
/// relation ranges); and what the cost model learns from: how many objects the evaluator
/// checked (0 when DynamoDB's filter dropped some unseen: a partition Query), and whether the
/// access path was read to its end (else the read stopped once it had its page).
#[derive(Debug, Default, Clone, Copy)]
pub struct Read {
    pub scanned: f64,
    pub examined: usize,
    pub complete: bool,
}

/// Which rows of the sorted answer a find returns.
#[derive(Debug, Clone, Copy, Default)]
pub struct Page {
    pub skip: usize,
    pub limit: Option<usize>,
}

impl Page {
    /// How many rows of the sorted answer must be known: `skip + limit` (None: all).
    pub fn need(self) -> Option<usize> {
        self.limit.map(|l| l.saturating_add(self.skip))
    }
}

/// The best `n` rows seen so far under `order`, in order; a row equal to kept ones goes after
/// them, so the rows kept are the first `n` of a stable sort of all rows in the order read.
struct TopN<'a> {
    order: &'a Order,
    n: usize,
    rows: Vec<Map<String, Value>>,
}

impl TopN<'_> {
    fn offer(&mut self, row: Map<String, Value>) {
        if self.n == 0 {
            return;
        }
        if self.rows.len() == self.n {
            let last = &self.rows[self.n - 1];
            if self.order.cmp(last, &row) != std::cmp::Ordering::Greater {
                return;
            }
        }
        let at = self
            .rows
            .partition_point(|x| self.order.cmp(x, &row) != std::cmp::Ordering::Greater);
        self.rows.insert(at, row);
        self.rows.truncate(self.n);
    }
}

/// The rows of a find: those `expr` matches among what `plan` reads, with `$text` relevance as
/// `score` when `with_score`, ordered by `order`, then `page` of them. Rows are evaluated as
/// the pages come: those that fail are dropped at once, and a sorted find with a `limit` keeps
/// only the best `skip + limit` (ties as the full sort orders them), so memory follows the
/// page, not the class.
pub async fn find(
    store: &Store,
    class: &str,
    plan: &Plan,
    expr: &Expr,
    order: &Order,
    page: Page,
    with_score: bool,
) -> Result<Answer<Vec<Map<String, Value>>>> {
    let scored = |st: Stored| {
        let mut o = st.obj;
        if with_score {
            if let Some(score) = eval::query_text_score(expr, &o) {
                o.insert("score".into(), json!(score));
            }
        }
        o
    };
    let (objs, read, matched) = match &plan.access {
        Access::InOrder { .. } => {
            let read = scan_in_order(store, class, expr, &plan.access, page).await?;
            let n = read.rows.len();
            let mut objs: Vec<Map<String, Value>> = read.rows.into_iter().map(scored).collect();
            order.sort(&mut objs);
            // The objects fetched beyond the answer are what an index on the query's
            // conditions would have saved (a filter that matches few reads the whole class).
            let waste = read.fetched.saturating_sub(n) as f64;
            let r = Read {
                scanned: waste,
                examined: read.fetched,
                complete: !read.stopped,
            };
            (objs, r, n)
        }
        // Without an order the key order is the result order, so stop after skip + limit; so
        // is it for the class partition sorted by objectId alone (its sort key), as Parse's
        // push and `each` page through a class.
        _ if order.is_empty()
            || (order.is_key_order() && matches!(plan.access, Access::Partition)) =>
        {
            let a = rows(store, class, plan, expr, page.need()).await?;
            let n = a.rows.len();
            (a.rows.into_iter().map(scored).collect(), a.read, n)
        }
        _ => {
            let mut top = TopN {
                order,
                n: page.need().unwrap_or(usize::MAX),
                rows: Vec::new(),
            };
            let mut matched = 0usize;
            let read = each_row(store, class, plan, expr, &mut |st| {
                matched += 1;
                top.offer(scored(st));
                Ok(true)
            })
            .await?;
            (top.rows, read, matched)
        }
    };
    let rows = objs
        .into_iter()
        .skip(page.skip)
        .take(page.limit.unwrap_or(usize::MAX))
        .collect();
    Ok(Answer {
        rows,
        matched,
        read,
    })
}

/// The stored rows `plan` reads that match `expr`, in key order; stops after `cap` matches
/// when given.
pub async fn rows(
    store: &Store,
    class: &str,
    plan: &Plan,
    expr: &Expr,
    cap: Option<usize>,
) -> Result<Answer<Vec<Stored>>> {
    let mut out = Vec::new();
    if let (Some(c), Access::Partition) = (cap, &plan.access) {
        // Pages sized to the answer, not DynamoDB's 1 MB.
        let mut stopped = false;
        let scanned = store
            .query_sized(class, plan.filter.as_ref(), c, |item| {
                let st = item_to_stored(&item)?;
                if matches(expr, &st.obj) {
                    out.push(st);
                    stopped = out.len() >= c;
                }
                Ok((!stopped).then(|| c - out.len()))
            })
            .await?;
        let read = Read {
            scanned,
            examined: 0,
            complete: !stopped,
        };
        return Ok(Answer {
            matched: out.len(),
            rows: out,
            read,
        });
    }
    let read = each_row(store, class, plan, expr, &mut |st| {
        out.push(st);
        Ok(cap.is_none_or(|c| out.len() < c))
    })
    .await?;
    Ok(Answer {
        matched: out.len(),
        rows: out,
        read,
    })
}

/// The first `n` matching rows under `order`, kept as the pages come (at most `n` at a time),
/// with the read units spent and how many rows matched.
pub async fn top(
    store: &Store,
    class: &str,
    plan: &Plan,
    expr: &Expr,
    order: &Order,
    n: usize,
) -> Result<Answer<Vec<Map<String, Value>>>> {
    let mut top = TopN {
        order,
        n,
        rows: Vec::new(),
    };
    let mut matched = 0usize;
    let read = each_row(store, class, plan, expr, &mut |st| {
        matched += 1;
        top.offer(st.obj);
        Ok(true)
    })
    .await?;
    Ok(Answer {
        rows: top.rows,
        matched,
        read,
    })
}

/// How many rows `plan` reads match `expr`, counted as they are read (none is kept); and the
/// read units spent as `rows` answers them.
pub async fn count(store: &Store, class: &str, plan: &Plan, expr: &Expr) -> Result<Answer<usize>> {
    let mut n = 0usize;
    let read = each_row(store, class, plan, expr, &mut |_| {
        n += 1;
        Ok(true)
    })
    .await?;
    Ok(Answer {
        rows: n,
        matched: n,
        read,
    })
}

/// How many objects of `class` pass `condition`, a condition equivalent to the query
/// (`condition::equivalent`): DynamoDB counts them in the partition Query, so no item is sent,
/// decoded or evaluated.
pub async fn count_where(
    store: &Store,
    class: &str,
    expr: &Expr,
    condition: Condition,
) -> Result<Answer<usize>> {
    let filter = Filter {
        expression: condition.expression,
        names: condition.names,
        values: condition.values,
    };
    let (mut n, units, unsure) = store.count_where(class, Some(&filter)).await?;
    // Objects too large for one item whose chunks hold a field the condition names: judged
    // whole.
    for st in store.batch_get(class, &unsure).await? {
        if matches(expr, &item_to_stored(&st)?.obj) {
            n += 1;
        }
    }
    Ok(Answer {
        rows: n as usize,
        matched: n as usize,
        read: Read {
            scanned: units,
            examined: 0,
            complete: true,
        },
    })
}

/// Hands each stored row `plan` reads that matches `expr` to `each`, in key order, as the
/// pages come (keys in batches of 100); stops when `each` answers false. Answers the read
/// units spent where a better index could have spent fewer and what was read (see `Read`).
pub async fn each_row(
    store: &Store,
    class: &str,
    plan: &Plan,
    expr: &Expr,
    each: &mut (dyn FnMut(Stored) -> Result<bool> + Send),
) -> Result<Read> {
    let mut scanned = 0.0;
    let mut examined = 0usize;
    let mut stopped = false;
    let each = &mut |st: Stored| -> Result<bool> {
        let go = each(st)?;
        stopped |= !go;
        Ok(go)
    };
    match &plan.access {
        Access::Keys(keys) => {
            examined = keys.len();
            read_keys(store, class, expr, keys, each).await?;
        }
        Access::JoinOwning(ids) => {
            for id in ids {
                let prefix = format!("{id}:");
                let mut go = true;
                store
                    .query_prefix(class, Some(&prefix), plan.filter.as_ref(), |item| {
                        let st = item_to_stored(&item)?;
                        if matches(expr, &st.obj) {
                            go = each(st)?;
                        }
                        Ok(go)
                    })
                    .await?;
                if !go {
                    break;
                }
            }
        }
        Access::JoinRelated(ids) => {
            // The mirrors of every related id at once (a role walk asks for several), not one
            // round trip after another.
            use futures::stream::{StreamExt, TryStreamExt};
            let mirror = join_mirror_pk(class);
            let reads: Vec<_> = ids
                .iter()
                .map(|id| mirrored_keys(store, &mirror, id))
                .collect();
            let found: Vec<Vec<String>> = futures::stream::iter(reads)
                .buffered(MIRRORS_AT_ONCE)
                .try_collect()
                .await?;
            let keys: Vec<String> = found.into_iter().flatten().collect();
            read_keys(store, class, expr, &keys, each).await?;
        }
        Access::Lookups(lookups) => {
            let found = lookup_found(store, class, lookups).await?;
            scanned = (lookups.len() + found.keys.len()) as f64;
            examined = found.keys.len() + found.rows.len();
            // Rows the sentinels held go in key order among the rows read.
            let mut held: std::collections::VecDeque<Stored> = found
                .rows
                .into_iter()
                .filter(|st| matches(expr, &st.obj))
                .collect();
            let mut stopped = false;
            read_keys(store, class, expr, &found.keys, &mut |st| {
                while held.front().is_some_and(|h| h.key < st.key) {
                    if let Some(h) = held.pop_front() {
                        if !each(h)? {
                            stopped = true;
                            return Ok(false);
                        }
                    }
                }
                let go = each(st)?;
                stopped = !go;
                Ok(go)
            })
            .await?;
            if !stopped {
                for h in held {
                    if !each(h)? {
                        break;
                    }
                }
            }
        }
        Access::InOrder { .. } => {
            let page = Page {
                skip: 0,
                limit: None,
            };
            let read = scan_in_order(store, class, expr, &plan.access, page).await?;
            examined = read.fetched;
            for st in read.rows {
                if !each(st)? {
                    break;
                }
            }
        }
        Access::Near {
            spec,
            field,
            lat,
            lng,
            max,
            need,
        } => {
            let n = near::Near {
                class,
                spec,
                field,
                lat: *lat,
                lng: *lng,
                max: *max,
                need: *need,
            };
            examined = near::scan_near(store, expr, &n, each).await?;
        }
        Access::Partition => {
            // Of a read to the end, what it examined is the class's size.
            let items;
            (scanned, items) = store
                .query_scanned(class, None, plan.filter.as_ref(), |item| {
                    let st = item_to_stored(&item)?;
                    if matches(expr, &st.obj) {
                        return each(st);
                    }
                    Ok(true)
                })
                .await?;
            examined = items as usize;
        }
    }
    Ok(Read {
        scanned,
        examined,
        complete: !stopped,
    })
}

/// What running `plan` on `class` asks of DynamoDB, for Parse's `explain`.
pub fn describe(class: &str, plan: &Plan, page: Page) -> Value {
    match &plan.access {
        Access::InOrder {
            spec, ascending, ..
        } => json!({
            "operation": "Query",
            "partition": index_pks(class, spec)[0],
            "shards": index::shards(spec),
            "scanIndexForward": ascending,
            "then": "BatchGetItem",
            "stopsAfter": page.need(),
        }),
        Access::Keys(k) if k.len() == 1 => json!({"operation": "GetItem", "keys": k}),
        Access::Keys(k) => json!({"operation": "BatchGetItem", "keys": k.len()}),
        Access::Lookups(l) => {
            let via: Vec<String> = l
                .iter()
                .map(|x| match x {
                    Lookup::Key(_) => "objectId".to_string(),
                    Lookup::Unique { field, .. } => format!("unique value of {field}"),
                    Lookup::Index { spec, .. } => format!("index {spec}"),
                    Lookup::Every { spec, ranges } => {
                        format!("index {spec} ({} ranges intersected)", ranges.len())
                    }
                    Lookup::Cells { spec, ranges, .. } => {
                        format!("index {spec} ({} cells)", ranges.len())
                    }
                })
                .collect();
            let op = if l.iter().any(|x| {
                matches!(
                    x,
                    Lookup::Index { .. } | Lookup::Every { .. } | Lookup::Cells { .. }
                )
            }) {
                "Query"
            } else {
                "GetItem"
            };
            json!({"operation": op, "via": via.join(", "), "lookups": l.len(), "then": "BatchGetItem"})
        }
        Access::JoinOwning(ids) => {
            json!({"operation": "Query", "partition": class, "sortKeyPrefixes": ids.len()})
        }
        Access::JoinRelated(ids) => {
            json!({"operation": "Query", "partition": join_mirror_pk(class), "sortKeyPrefixes": ids.len(), "then": "BatchGetItem"})
        }
        Access::Near { spec, need, .. } => json!({
            "operation": "Query",
            "partition": index_pks(class, spec)[0],
            "via": format!("index {spec}, cells outward from the point"),
            "stopsAfter": need,
            "then": "BatchGetItem",
        }),
        Access::Partition => json!({"operation": "Query", "partition": class}),
    }
}
