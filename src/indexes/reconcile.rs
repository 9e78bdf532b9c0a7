//! Making an index's entries match the stored objects: writes the missing entries and deletes
//! those of values no longer held or of objects gone, each change in a transaction that also
//! checks the object's revision, so a write racing with it is never undone. `indexes` runs it
//! when an index is registered (back-fill) and once more later (for servers that did not know
//! the index yet).

use crate::codec::item_to_stored;
use crate::error::{Error, Result};
use crate::layout::index;
use crate::layout::{
    entry_changes, entry_of, entry_pk, entry_rev, index_pks, leftover_below, Fence,
};
use crate::log::Log;
use crate::store::{backoff, Condition, Store, TxOp, Written};
use std::collections::{HashMap, HashSet};

/// Writes turning `have` into `want` for the object at `key`, each transaction checking that
/// the object is still at revision `rev` (None: still absent), at most 100 items each. A
/// removal is fenced as a writer's (`layout::Fence`): it leaves an entry a later revision put,
/// and, of an absent object, one younger than `LEFTOVER_GRACE_MS` (a create under way).
fn reconcile_ops(
    class: &str,
    spec: &str,
    key: &str,
    (rev, expires): Version,
    have: &[index::Entry],
    want: &[index::Entry],
) -> Vec<Vec<TxOp>> {
    let fence = match rev {
        Some(r) => Fence {
            put: Some(r),
            upto: Some(r),
        },
        None => Fence {
            put: None,
            upto: Some(leftover_below()),
        },
    };
    let mut changes = entry_changes(class, spec, key, have, want, fence);
    // Entries put carry the object's TTL expiry, as its writes' do.
    for op in &mut changes {
        if let TxOp::Put(item, _) = op {
            crate::layout::expire(item, expires);
        }
    }
    let check = match rev {
        Some(r) => Condition::revision(r),
        None => Condition::absent(),
    };
    changes
        .chunks(99)
        .map(|c| {
            let mut tx = vec![TxOp::Check(
                class.to_string(),
                key.to_string(),
                check.clone(),
            )];
            tx.extend(c.iter().cloned());
            tx
        })
        .collect()
}

/// An object's revision (None: absent) and TTL expiry.
type Version = (Option<i64>, Option<i64>);
/// An object's key and version, the index entries it calls for and those it has.
type ObjectEntries = (String, Version, Vec<index::Entry>, Vec<index::Entry>);

/// Writes a group of objects' index changes in one transaction, or object by object when it
/// fails; answers how many objects changed.
async fn flush_group(
    store: &Store,
    class: &str,
    spec: &str,
    group: &mut Vec<ObjectEntries>,
    ops: &mut Vec<TxOp>,
) -> Result<usize> {
    if group.is_empty() {
        return Ok(0);
    }
    let members = std::mem::take(group);
    if store.transact(std::mem::take(ops)).await? == Written::Ok {
        return Ok(members.len());
    }
    let mut changed = 0;
    for (key, rev, want, current) in members {
        changed += usize::from(reconcile_one(store, class, spec, &key, rev, want, current).await?);
    }
    Ok(changed)
}

/// Brings one object's entries in line, reading the object (and its entries) again whenever it
/// changed meanwhile; answers whether anything was written.
async fn reconcile_one(
    store: &Store,
    class: &str,
    spec: &str,
    key: &str,
    (mut rev, mut expires): Version,
    mut want: Vec<index::Entry>,
    mut current: Vec<index::Entry>,
) -> Result<bool> {
    for attempt in 0..20 {
        let txs = reconcile_ops(class, spec, key, (rev, expires), &current, &want);
        if txs.is_empty() {
            return Ok(attempt > 0);
        }
        let mut ok = true;
        for tx in txs {
            if store.transact(tx).await? != Written::Ok {
                ok = false;
                break;
            }
        }
        if ok {
            return Ok(true);
        }
        backoff(attempt.min(6)).await;
        match store.get(class, key).await? {
            Some(item) => {
                let st = item_to_stored(&item)?;
                rev = Some(st.rev);
                expires = st.expires;
                want = index::entries(&st.obj, spec, &st.key);
            }
            None => {
                rev = None;
                want = Vec::new();
            }
        }
        current.clear();
        // An object's entries are all in the partition its key picks (see `entry_pk`).
        store
            .query(&entry_pk(class, spec, key), None, |item| {
                if let Some((k, e)) = entry_of(&item) {
                    if k == key {
                        current.push(e);
                    }
                }
                Ok(true)
            })
            .await?;
    }
    Err(Error::Conflict(format!(
        "the index entries of {class}/{key} kept changing"
    )))
}

/// Makes index `spec` of `class` hold exactly the entries its stored objects call for: writes
/// the missing ones and deletes those of values no longer held (left by servers that did not
/// know the index yet) or of objects gone. Each change is a transaction that also checks the
/// object's revision, so a write racing with this one is never undone; an object that changed
/// meanwhile is read again. Progress goes to the log as `what`.
pub async fn reconcile_index(
    store: &Store,
    log: &Log,
    class: &str,
    spec: &str,
    what: &str,
) -> Result<()> {
    let mut have: HashMap<String, Vec<index::Entry>> = HashMap::new();
    // Entries outside the shard their key picks (never written so; see `check`) go.
    let mut misplaced: Vec<(String, String)> = Vec::new();
    // Objects with an entry too young to be a leftover: if absent, a create under way.
    let mut young: HashSet<String> = HashSet::new();
    let below = leftover_below();
    for pk in index_pks(class, spec) {
        store
            .query(&pk, None, |item| {
                if let Some((key, e)) = entry_of(&item) {
                    if entry_rev(&item).is_some_and(|r| r > below) {
                        young.insert(key.clone());
                    }
                    if entry_pk(class, spec, &key) == pk {
                        have.entry(key).or_default().push(e);
                    } else {
                        misplaced.push((pk.clone(), e.sk));
                    }
                }
                Ok(true)
            })
            .await?;
    }
    store.batch_delete(&misplaced).await?;
    let mut rows: Vec<(String, Version, Vec<index::Entry>)> = Vec::new();
    store
        .query(class, None, |item| {
            let st = item_to_stored(&item)?;
            let want = index::entries(&st.obj, spec, &st.key);
            rows.push((st.key, (Some(st.rev), st.expires), want));
            Ok(true)
        })
        .await?;
    // Entries of objects that are gone: delete them if the object is still absent (and they
    // are not a create's first step).
    let gone: Vec<(String, Vec<index::Entry>)> = {
        let present: HashSet<&String> = rows.iter().map(|(k, _, _)| k).collect();
        have.iter()
            .filter(|(k, _)| !present.contains(k) && !young.contains(*k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    let total = rows.len();
    if total > 0 {
        log.info(format!("{what} {class}.{spec}: {total} objects"));
    }
    let step = (total / 10).max(1000);
    let mut changed = 0usize;
    let work = rows
        .into_iter()
        .chain(gone.into_iter().map(|(k, _)| (k, (None, None), Vec::new())));
    // Objects whose changes fit one transaction are grouped, up to 100 items per request; a
    // group that fails is done object by object.
    let mut group: Vec<ObjectEntries> = Vec::new();
    let mut group_ops: Vec<TxOp> = Vec::new();
    for (i, (key, rev, want)) in work.enumerate() {
        let current = have.remove(&key).unwrap_or_default();
        let txs = reconcile_ops(class, spec, &key, rev, &current, &want);
        if txs.len() == 1 && group_ops.len() + txs[0].len() <= 100 {
            group_ops.extend(txs.into_iter().flatten());
            group.push((key, rev, want, current));
        } else if !txs.is_empty() {
            changed += flush_group(store, class, spec, &mut group, &mut group_ops).await?;
            if txs.len() == 1 {
                group_ops.extend(txs.into_iter().flatten());
                group.push((key, rev, want, current));
            } else {
                changed +=
                    usize::from(reconcile_one(store, class, spec, &key, rev, want, current).await?);
            }
        }
        if (i + 1) % step == 0 && i + 1 < total {
            log.info(format!("{what} {class}.{spec}: {}/{total}", i + 1));
        }
    }
    changed += flush_group(store, class, spec, &mut group, &mut group_ops).await?;
    if total > 0 || changed > 0 {
        log.info(format!(
            "{what} {class}.{spec}: done, {total} objects, {changed} changed"
        ));
    }
    Ok(())
}
