//! An index read in sort order: the entries of the ranges a plan names, read page by page (the
//! shards of a sharded index merged, `entries::InOrder`), the objects they name fetched in
//! batches, checked, and the read stopped once the rows a sorted, limited find answers are
//! known. An entry whose position no longer matches its object's value is skipped.

use super::*;

/// The rows matching `expr` that come first when sorted by `field` (`ascending` or not),
/// read in that order from index `spec` within `ranges` (an `Access::InOrder`): pages of
/// entries, each page's new objects fetched with BatchGetItem and checked by the evaluator,
/// until `skip + limit` rows are known to precede everything unread. Answers how many leading
/// rows were skipped without being read (only when `expr` has no condition: each object's
/// order entry is then one row) and the rows read, to be sorted by the caller. Correct
/// because every object has an order entry at the text it sorts by (see `layout::index`), so when
/// the scan has passed group G, every row sorting before G has been seen.
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
    let skip = page.skip;
    let need = page.need();
    let before = |a: &str, b: &str| if ascending { a < b } else { a > b };
    let mut skipping = matches!(expr, Expr::True) && skip > 0;
    let mut skipped = 0usize;
    // The exact group being skipped: its text and its objects' keys.
    let mut group: Option<(String, Vec<String>)> = None;
    let mut seen: HashSet<String> = HashSet::new();
    let mut rows: Vec<(String, Stored)> = Vec::new();
    let mut page_size = need.map_or(1000, |n| (n * 2 + 10).min(1000)) as i32;
    let mut finished = false;
    for (i, range) in ranges.iter().enumerate() {
        let last_range = i + 1 == ranges.len();
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
                let Some((key, index::Entry { sk, ord })) = entry_of(item) else {
                    continue;
                };
                let key = &key;
                let g = index::group_of(sk.get(prefix.len()..).unwrap_or_default()).to_string();
                if skipping {
                    match ord {
                        // Without conditions each object is found at its order entry alone.
                        None => continue,
                        Some(Exactness::Exact) => {
                            if group.as_ref().is_some_and(|(t, _)| *t != g) {
                                let (t, keys) = group.take().unwrap_or_default();
                                if skip - skipped >= keys.len() {
                                    skipped += keys.len();
                                } else {
                                    skipping = false;
                                    fetch.extend(keys.into_iter().map(|k| (k, t.clone())));
                                }
                            }
                            if skipping {
                                seen.insert(key.clone());
                                group
                                    .get_or_insert_with(|| (g, Vec::new()))
                                    .1
                                    .push(key.clone());
                                continue;
                            }
                        }
                        Some(Exactness::Inexact) => {
                            skipping = false;
                            if let Some((t, keys)) = group.take() {
                                if skip - skipped >= keys.len() {
                                    skipped += keys.len();
                                } else {
                                    fetch.extend(keys.into_iter().map(|k| (k, t.clone())));
                                }
                            }
                        }
                    }
                }
                if seen.insert(key.clone()) {
                    fetch.push((key.clone(), g));
                }
            }
            if !more && last_range {
                if let Some((t, keys)) = group.take() {
                    if skip - skipped >= keys.len() {
                        skipped += keys.len();
                    } else {
                        fetch.extend(keys.into_iter().map(|k| (k, t.clone())));
                    }
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
                    n.saturating_sub(skipped + done).clamp(1, 100)
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
                if let (Some(need), false) = (need, skipping) {
                    let last = &chunk[chunk.len() - 1].1;
                    let done = rows.iter().filter(|(ok, _)| before(ok, last)).count();
                    if skipped + done >= need {
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
        skipped,
        rows: out,
        fetched,
        stopped: finished,
    })
}

/// What an in-order index read answers: how many leading rows it skipped unread, the rows it
/// read that match, and how many objects it fetched to find them (about a read unit each).
#[derive(Default)]
pub(super) struct InOrderRead {
    pub(super) skipped: usize,
    pub(super) rows: Vec<Stored>,
    pub(super) fetched: usize,
    /// It stopped once the page was known, before the end of its ranges.
    pub(super) stopped: bool,
}
