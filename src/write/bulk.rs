//! Objects written in bulk, for an import: each object with what an insert keeps beside it
//! (its unique-value sentinels, index entries and relation mirror), all sent as BatchWriteItem
//! puts (a write unit per KB each, not a transaction's two, 25 to a request, several requests
//! at once) instead of one transaction per object. Nothing is conditional: an import writes
//! classes the table holds nothing else of (or what an interrupted run of the same import
//! wrote, which it writes again the same), and `check` afterwards says whether that held. An
//! object over 400 KB goes with its chunks (`store::chunks`); one DynamoDB could not store
//! (over 16 MB, nested too deep, a key too long, a number its decimals cannot hold) is skipped
//! and named, and nothing of it is written.

use super::entries::index_ops;
use super::{first_revision, fit, Writer};
use crate::codec::{object_to_item, Item};
use crate::error::Result;
use crate::layout::{check_key, join_mirror, key_for, owned_sentinel, unique_sk, Fence, Kept};
use crate::store::TxOp;
use serde_json::{Map, Value};

/// What an import of one page of objects did.
#[derive(Debug, Default)]
pub struct Imported {
    /// Objects written.
    pub objects: usize,
    /// Items written in all (objects and what is kept beside them).
    pub items: usize,
    /// Objects not written: their key and why.
    pub skipped: Vec<(String, String)>,
}

/// The items an insert of `obj` writes (a large object's chunks apart: they go first), or why
/// it cannot be stored.
fn items_of(
    class: &str,
    key: &str,
    obj: &Map<String, Value>,
    kept: &Kept,
    expires: Option<i64>,
) -> Result<(Vec<Item>, Vec<Item>)> {
    check_key(class, key, obj)?;
    let rev = first_revision();
    let mut item = object_to_item(class, key, rev, obj)?;
    crate::layout::expire(&mut item, expires);
    let fitted = fit(item)?;
    let item = fitted.head;
    let mut items = Vec::new();
    for f in &kept.unique {
        if let Some(sk) = unique_sk(obj, f)? {
            items.push(owned_sentinel(class, f, &sk, key, &item));
        }
    }
    items.extend(join_mirror(class, key, obj, Some(rev)));
    let fence = Fence {
        put: Some(rev),
        upto: None,
    };
    for op in index_ops(
        class,
        &kept.indexes,
        key,
        (None, Some(obj)),
        fence,
        (None, expires),
    ) {
        if let TxOp::Put(entry, _) = op {
            items.push(entry);
        }
    }
    items.push(item);
    Ok((fitted.chunks, items))
}

impl Writer {
    /// Writes `objects` of `class` (stored forms, see `adapter::transform`) with what `kept`
    /// keeps beside them, in bulk. The class's object count is not changed: the importer has
    /// it recounted once the class is in (`Counts::recount`).
    pub async fn import(
        &self,
        class: &str,
        objects: Vec<Map<String, Value>>,
        kept: &Kept,
    ) -> Result<Imported> {
        let mut out = Imported::default();
        let (mut chunks, mut items) = (Vec::new(), Vec::new());
        for obj in objects {
            let key = key_for(class, &obj);
            match items_of(class, &key, &obj, kept, self.expiry(class, &obj)) {
                Ok((mut c, mut its)) => {
                    out.objects += 1;
                    out.items += c.len() + its.len();
                    chunks.append(&mut c);
                    items.append(&mut its);
                }
                Err(e) => out.skipped.push((key, e.to_string())),
            }
        }
        // Large objects' chunks (`store::chunks`) land before the heads that name them.
        self.store.write_chunks(chunks).await?;
        self.store.batch_put(items).await?;
        Ok(out)
    }
}
