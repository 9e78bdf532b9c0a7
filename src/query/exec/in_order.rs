//! An index read in sort order: the entries of the ranges a plan names, read page by page (the
//! shards of a sharded index merged, `entries::InOrder`), the objects they name fetched in
//! batches, checked, and the read stopped once the rows a sorted, limited find answers are
//! known. An entry whose position no longer matches its object's value (a write between its
//! steps, or one a crash cut off: see `write`) is skipped, and each object is read once. Skipped
//! rows are read too: an entry alone cannot tell whether its object still sorts there.

use super::*;

/// The rows matching `expr` that come first when sorted by `field` (`ascending` or not),
/// read in that order from index `spec` within `ranges` (an `Access::InOrder`): pages of
/// entries, each page's new objects fetched with BatchGetItem and checked by the evaluator,
/// until `skip + limit` rows are known to precede everything unread. Answers the rows read, to
/// be sorted by the caller; each row's place is its object's value, not its entry's. Correct
/// because every object has an order entry at the text it sorts by (see `layout::index`; a
/// write puts it before the object), so when the scan has passed group G, every row sorting
/// before G has been seen.
pub(super) async fn scan_in_order(
    store: &Store,
    class: &str,
    expr: &Expr,
    access: &Access,
    page: Page,
) -> Result<InOrderRead> {
    let Access::InOrder {
        spec,
        field,
        prefix,
        ranges,
        ascending,
    } = access
    else {
        return Ok(InOrderRead::default());
    };
    let ascending = *ascending;
    let mut fetched = 0usize;
    let need = page.need();
    let before = |a: &str, b: &str| if ascending { a < b } else { a > b };
    let mut seen: HashSet<String> = HashSet::new();
    let mut rows: Vec<(String, Stored)> = Vec::new();
    let mut page_size = need.map_or(1000, |n| (n * 2 + 10).min(1000)) as i32;
    let mut finished = false;
    for range in ranges {
        let mut reader = InOrder::new(
            store,
            index_pks(class, spec),
            (&range.from, &range.to),
            ascending,
        );
        loop {
            let (items, more) = reader.page(page_size).await?;
            page_size = (page_size * 2).min(1000);
            // Keys to read, each with the group of the entry that named it.
            let mut fetch: Vec<(String, String)> = Vec::new();
            for item in &items {
                let Some((key, index::Entry { sk, .. })) = entry_of(item) else {
                    continue;
                };
                let key = &key;
                let g = index::group_of(sk.get(prefix.len()..).unwrap_or_default()).to_string();
                if seen.insert(key.clone()) {
                    fetch.push((key.clone(), g));
                }
            }
            fetch.retain(|(k, _)| !k.is_empty());
            // Read in chunks of what is still missing, so a page is not read past the answer.
            let mut at = 0;
            while at < fetch.len() {
                let missing = need.map_or(100, |n| {
                    let done = rows
                        .iter()
                        .filter(|(ok, _)| before(ok, &fetch[at].1))
                        .count();
                    n.saturating_sub(done).clamp(1, 100)
                });
                let chunk = &fetch[at..(at + missing).min(fetch.len())];
                at += chunk.len();
                let keys: Vec<String> = chunk.iter().map(|(k, _)| k.clone()).collect();
                fetched += keys.len();
                read_keys(store, class, expr, &keys, &mut |st| {
                    let (text, _) = index::order_text(index::sort_value(&st.obj, field));
                    let ok = index::group_of(&text).to_string();
                    rows.push((ok, st));
                    Ok(true)
                })
                .await?;
                if let Some(need) = need {
                    let last = &chunk[chunk.len() - 1].1;
                    let done = rows.iter().filter(|(ok, _)| before(ok, last)).count();
                    if done >= need {
                        rows.retain(|(ok, _)| before(ok, last));
                        finished = true;
                        break;
                    }
                }
            }
            if finished {
                break;
            }
            if !more {
                break;
            }
        }
        if finished {
            break;
        }
    }
    let mut out: Vec<Stored> = rows.into_iter().map(|(_, st)| st).collect();
    out.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(InOrderRead {
        rows: out,
        fetched,
        stopped: finished,
    })
}

/// What an in-order index read answers: the rows it read that match, and how many objects it
/// fetched to find them (about a read unit each).
#[derive(Default)]
pub(super) struct InOrderRead {
    pub(super) rows: Vec<Stored>,
    pub(super) fetched: usize,
    /// It stopped once the page was known, before the end of its ranges.
    pub(super) stopped: bool,
}
