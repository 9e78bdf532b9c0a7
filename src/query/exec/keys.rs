//! Reads by key: objects by their objectIds (GetItem, BatchGetItem in chunks of 100), the rows
//! sentinel and index lookups find (several lookups at once), and the keys a relation's mirror
//! partitions name. Every row read is checked by
//! the evaluator before it is handed on.

use super::*;

/// What lookups find: the keys of the objects to read, and the objects unique-value sentinels
/// hold copies of (read already; see `layout::covers`), each object once.
pub(super) struct Found {
    pub(super) keys: Vec<String>,
    pub(super) rows: Vec<Stored>,
}

/// The objects the lookups find (keys in the order found): objectIds as they are, unique
/// values through their sentinels (their owners, or the copies they hold), index ranges
/// through their entries.
pub(super) async fn lookup_found(store: &Store, class: &str, lookups: &[Lookup]) -> Result<Found> {
    use futures::stream::{StreamExt, TryStreamExt};
    // The lookups are independent reads (an `$or` of a username and an email: two sentinels):
    // sent together, a few at a time, so they cost one round trip, not one each.
    let reads: Vec<_> = lookups.iter().map(|l| lookup(store, class, l)).collect();
    let found: Vec<Found> = futures::stream::iter(reads)
        .buffered(LOOKUPS_AT_ONCE)
        .try_collect()
        .await?;
    let mut seen: HashSet<String> = HashSet::new();
    let mut out = Found {
        keys: Vec::new(),
        rows: Vec::new(),
    };
    for f in found {
        out.rows
            .extend(f.rows.into_iter().filter(|st| seen.insert(st.key.clone())));
        out.keys.extend(
            f.keys
                .into_iter()
                .filter(|k| !k.is_empty() && seen.insert(k.clone())),
        );
    }
    // An object two lookups found is taken as the first gave it.
    Ok(out)
}

/// How many lookups of one query are in flight at once.
const LOOKUPS_AT_ONCE: usize = 16;

/// What one lookup finds, keys in key order.
async fn lookup(store: &Store, class: &str, l: &Lookup) -> Result<Found> {
    let keys = |keys| Found {
        keys,
        rows: Vec::new(),
    };
    Ok(match l {
        Lookup::Index { spec, range } => {
            let items =
                entries::in_range(store, &index_pks(class, spec), (&range.from, &range.to)).await?;
            keys(items.iter().filter_map(pointed_key).cloned().collect())
        }
        Lookup::Every { spec, ranges } if index::shards(spec) == 1 => {
            keys(rarest_first(store, &index_pks(class, spec)[0], ranges).await?)
        }
        Lookup::Every { spec, ranges } => {
            let pks = index_pks(class, spec);
            let reads = ranges
                .iter()
                .map(|r| entries::in_range(store, &pks, (&r.from, &r.to)));
            let found = futures::future::try_join_all(reads).await?;
            let mut sets = found
                .iter()
                .map(|items| items.iter().filter_map(pointed_key).collect::<HashSet<_>>());
            let first = sets.next().unwrap_or_default();
            let common = sets.fold(first, |acc, s| acc.intersection(&s).copied().collect());
            let mut both: Vec<String> = common.into_iter().cloned().collect();
            both.sort();
            keys(both)
        }
        Lookup::Cells {
            spec,
            ranges,
            within,
        } => {
            let pks = index_pks(class, spec);
            let reads = ranges
                .iter()
                .map(|r| entries::in_range(store, &pks, (&r.from, &r.to)));
            let found = futures::future::try_join_all(reads).await?;
            let mut inside: Vec<String> = found
                .iter()
                .flatten()
                .filter(|item| match item.get(crate::codec::SK) {
                    Some(aws_sdk_dynamodb::types::AttributeValue::S(sk)) => within.admits(
                        sk.strip_prefix(crate::layout::search::GEO_TAG)
                            .unwrap_or(""),
                    ),
                    _ => true,
                })
                .filter_map(pointed_key)
                .cloned()
                .collect();
            inside.sort();
            inside.dedup();
            keys(inside)
        }
        Lookup::Key(k) => keys(vec![k.clone()]),
        Lookup::Unique { field, sk } => match store.get(&unique_pk(class, field), sk).await? {
            Some(item) => match sentinel_copy(class, &item) {
                Some(copy) => Found {
                    keys: Vec::new(),
                    rows: vec![item_to_stored(&copy)?],
                },
                None => keys(sentinel_owner(&item).cloned().into_iter().collect()),
            },
            None => keys(Vec::new()),
        },
    })
}

/// The keys of the entries in the range of `ranges` with the fewest (those of the others
/// finished as soon, intersected): the ranges are read together a page at a time (pages
/// growing from 25 entries), and the first to end decides. The rarest value's entries bound
/// the answer; the evaluator checks the rest, so the common values' entries are not read to
/// their end.
async fn rarest_first(store: &Store, pk: &str, ranges: &[index::SkRange]) -> Result<Vec<String>> {
    let n = ranges.len();
    let mut found: Vec<HashSet<String>> = vec![HashSet::new(); n];
    let mut starts: Vec<Option<_>> = vec![None; n];
    let mut page = 25;
    loop {
        let reads = ranges
            .iter()
            .zip(&starts)
            .map(|(r, start)| store.query_page(pk, (&r.from, &r.to), true, page, start.clone()));
        let pages = futures::future::try_join_all(reads).await?;
        let mut ended = Vec::new();
        for (i, (items, next)) in pages.into_iter().enumerate() {
            found[i].extend(items.iter().filter_map(pointed_key).cloned());
            if next.is_none() {
                ended.push(i);
            }
            starts[i] = next;
        }
        if let Some((first, rest)) = ended.split_first() {
            let mut keys: Vec<String> = found[*first]
                .iter()
                .filter(|k| rest.iter().all(|j| found[*j].contains(*k)))
                .cloned()
                .collect();
            keys.sort();
            return Ok(keys);
        }
        page = (page * 4).min(1000);
    }
}

/// Hands the rows with these keys that match `expr` to `each`, in key order (GetItem, or
/// BatchGetItem in batches of 100, so memory holds one batch); stops when `each` answers false.
pub(super) async fn read_keys(
    store: &Store,
    class: &str,
    expr: &Expr,
    keys: &[String],
    each: &mut (dyn FnMut(Stored) -> Result<bool> + Send),
) -> Result<()> {
    let mut keys: Vec<&String> = keys.iter().collect();
    keys.sort();
    for chunk in keys.chunks(100) {
        let items = match chunk {
            [one] => store.get(class, one).await?.into_iter().collect(),
            many => {
                let many: Vec<String> = many.iter().map(|k| (*k).clone()).collect();
                store.batch_get(class, &many).await?
            }
        };
        let mut rows: Vec<Stored> = items.iter().map(item_to_stored).collect::<Result<_>>()?;
        rows.sort_by(|a, b| a.key.cmp(&b.key));
        for st in rows {
            if matches(expr, &st.obj) && !each(st)? {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// Mirror partitions of a relation read at once.
pub(super) const MIRRORS_AT_ONCE: usize = 8;

/// The keys of the relation rows whose related object is `id`, from the mirror partition.
pub(super) async fn mirrored_keys(store: &Store, mirror: &str, id: &str) -> Result<Vec<String>> {
    let mut keys = Vec::new();
    let prefix = format!("{id}:");
    store
        .query_prefix(mirror, Some(&prefix), None, |item| {
            keys.extend(pointed_key(&item).cloned());
            Ok(true)
        })
        .await?;
    Ok(keys)
}
