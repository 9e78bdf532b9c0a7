//! The index entries of one write (and a relation row's mirror, kept the same way), written
//! outside the object's transaction (see `write`): the
//! entries a write adds go before the object, all in BatchWriteItems; once the object has
//! landed, the entries it made stale are removed, each only if no later revision put it again
//! (`layout::Fence`); an attempt that did not land withdraws the entries it put that the object,
//! as it is now, does not call for, each only if it still holds that attempt's revision.
//! `index_ops` says which entry writes a change of an object makes.

use super::expiry::Expiry;
use super::Writer;
use crate::codec::{item_to_stored, Item, PK, SK};
use crate::error::{Error, Result};
use crate::layout::{entry_changes, entry_pk, expire, index, join_mirror_key, Fence, ENTRY_REV};
use crate::store::{Condition, TxOp};
use aws_sdk_dynamodb::types::AttributeValue;
use futures::stream::{StreamExt, TryStreamExt};
use serde_json::{Map, Value};
use std::collections::HashSet;

/// The puts (their items) and the deletes among index entry writes.
pub(super) fn split_entries(ops: Vec<TxOp>) -> (Vec<Item>, Vec<TxOp>) {
    let mut puts = Vec::new();
    let mut deletes = Vec::new();
    for op in ops {
        match op {
            TxOp::Put(item, _) => puts.push(item),
            other => deletes.push(other),
        }
    }
    (puts, deletes)
}

/// An object before and after a write (either may be absent).
pub(super) type Change<'a> = (
    Option<&'a Map<String, Value>>,
    Option<&'a Map<String, Value>>,
);

/// Index entry writes turning `old`'s entries into `new`'s (either may be absent), fenced by
/// `fence`; the puts carry the object's TTL expiry, and when it changed every entry of `new`
/// is put again with it (an entry TTL deleted at the old expiry would leave the object out of
/// its index).
pub(super) fn index_ops(
    class: &str,
    specs: &[String],
    key: &str,
    (old, new): Change,
    fence: Fence,
    (was, will): Expiry,
) -> Vec<TxOp> {
    let entries = |o: Option<&Map<String, Value>>, spec: &str| {
        o.map(|o| index::entries(o, spec, key)).unwrap_or_default()
    };
    let restamp = was != will && new.is_some();
    let mut ops: Vec<TxOp> = specs
        .iter()
        .flat_map(|spec| {
            let (have, want) = (entries(old, spec), entries(new, spec));
            let mut ops = entry_changes(class, spec, key, &have, &want, fence);
            if restamp {
                ops.retain(|op| matches!(op, TxOp::Delete(..)));
                ops.extend(entry_changes(class, spec, key, &[], &want, fence));
            }
            ops
        })
        .collect();
    if will.is_some() {
        for op in &mut ops {
            if let TxOp::Put(item, _) = op {
                expire(item, will);
            }
        }
    }
    ops
}

/// Entry removals sent at once.
const REMOVALS_AT_ONCE: usize = 16;

fn key_of(item: &Item) -> (String, String) {
    let s = |k: &str| match item.get(k) {
        Some(AttributeValue::S(v)) => v.clone(),
        _ => String::new(),
    };
    (s(PK), s(SK))
}

impl Writer {
    /// Puts the entries a write adds, before its object, in BatchWriteItems of 25 (throttling
    /// names each entry's partition: DynamoDB answers the writes over their key range's units
    /// unprocessed, which `heat` counts, for sharding a hot index).
    pub(super) async fn put_entries(&self, puts: &[Item]) -> Result<()> {
        if puts.is_empty() {
            return Ok(());
        }
        self.store
            .batch_put(puts.to_vec())
            .await
            .map_err(Error::of_write)
    }

    /// Removes the entries a landed write made stale, at once; one whose condition fails was
    /// put again by a later revision, and stays. The write has landed whatever happens here:
    /// an entry not removed (the store throttling past the timeout) is a leftover no answer
    /// shows, as a crash leaves (`check --fix` removes it).
    pub(super) async fn remove_entries(&self, deletes: Vec<TxOp>) {
        let sends = deletes.into_iter().filter_map(|op| match op {
            TxOp::Delete(pk, sk, cond) => {
                Some(async move { self.store.delete(&pk, &sk, cond).await })
            }
            _ => None,
        });
        let _ = futures::stream::iter(sends)
            .buffer_unordered(REMOVALS_AT_ONCE)
            .try_collect::<Vec<_>>()
            .await;
    }

    /// After an attempt at revision `rev` of the object at `key` that did not land: removes the
    /// entries it put (`puts`, of indexes `specs`) that the object as it is now does not call
    /// for, each only if it still holds revision `rev`.
    pub(super) async fn withdraw_entries(
        &self,
        class: &str,
        key: &str,
        specs: &[String],
        puts: &[Item],
        rev: i64,
    ) -> Result<()> {
        if puts.is_empty() {
            return Ok(());
        }
        let now = match self.store.get(class, key).await? {
            Some(item) => Some(item_to_stored(&item)?.obj),
            None => None,
        };
        let wanted: HashSet<(String, String)> = now
            .map(|o| {
                let mut wanted: HashSet<(String, String)> = specs
                    .iter()
                    .flat_map(|spec| {
                        let pk = entry_pk(class, spec, key);
                        index::entries(&o, spec, key)
                            .into_iter()
                            .map(move |e| (pk.clone(), e.sk))
                    })
                    .collect();
                wanted.extend(join_mirror_key(class, &o));
                wanted
            })
            .unwrap_or_default();
        let deletes = puts
            .iter()
            .map(key_of)
            .filter(|k| !wanted.contains(k))
            .map(|(pk, sk)| TxOp::Delete(pk, sk, Some(Condition::number_is(ENTRY_REV, Some(rev)))))
            .collect();
        self.remove_entries(deletes).await;
        Ok(())
    }
}
