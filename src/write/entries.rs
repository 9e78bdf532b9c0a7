//! The index entries of one write (and a relation row's mirror, kept the same way), written
//! outside the object's transaction (see `write`): the
//! entries a write adds go before the object, all in BatchWriteItems; once the object has
//! landed, the entries it made stale are removed, each only if no later revision put it again
//! (`layout::Fence`); an attempt that did not land withdraws the entries it put that the object,
//! as it is now, does not call for, each only if it still holds that attempt's revision.

use super::Writer;
use crate::codec::{item_to_stored, Item, PK, SK};
use crate::error::{Error, Result};
use crate::layout::{entry_pk, index, join_mirror_key, ENTRY_REV};
use crate::store::{Condition, TxOp};
use aws_sdk_dynamodb::types::AttributeValue;
use futures::stream::{StreamExt, TryStreamExt};
use std::collections::HashSet;

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
