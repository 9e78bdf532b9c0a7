//! The items kept for lookups, as a whole: the registries of unique fields and indexes in
//! `~meta` (cached per process, re-read after `registry_ttl()`), registering a unique field
//! (claiming the values already stored) or an index (back-filling its entries), dropping an
//! index, and reconciling an index with the stored objects. Per-object upkeep of sentinels and
//! entries is `write`'s; the entry encoding is `index`'s; the keys are `layout`'s.

use crate::codec::{item_to_stored, object_to_item, Stored};
use crate::error::{Error, Result};
use crate::index;
use crate::layout::{
    duplicate, entry_changes, entry_of, index_pk, sentinel_item, unique_sk, Kept, META_PARTITION,
};
use crate::log::Log;
use crate::store::{backoff, Condition, Store, TxOp, Written};
use serde_json::{json, Map, Value};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use tokio::sync::RwLock;

/// The unique-value and index registries of every class (`unique_<class>`/`index_<class>` →
/// fields), as read from `~meta` at `read_at`.
struct Registry {
    fields: HashMap<String, Vec<String>>,
    read_at: std::time::Instant,
}

/// How long a process trusts its copy of the registries before reading them again, so an index
/// another server registers is kept by this one within that time (`PSD_REGISTRY_TTL_MS`
/// overrides it, for tests). A new index is back-filled twice: at once, and again after twice
/// this time, for the objects servers that had not seen it yet wrote meanwhile.
fn registry_ttl() -> std::time::Duration {
    let ms = std::env::var("PSD_REGISTRY_TTL_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5_000);
    std::time::Duration::from_millis(ms)
}

fn registry_fields(st: &Stored) -> Vec<String> {
    st.obj
        .get("fields")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The registry item `key` of `~meta` holding `fields`, at revision `rev`.
fn registry_item(key: &str, rev: i64, fields: &[String]) -> Result<crate::codec::Item> {
    let mut obj = Map::new();
    obj.insert("fields".into(), json!(fields));
    object_to_item(META_PARTITION, key, rev, &obj)
}

pub struct Indexes {
    store: Store,
    log: Arc<Log>,
    cache: RwLock<Option<Registry>>,
}

impl Indexes {
    pub fn new(store: Store, log: Arc<Log>) -> Indexes {
        Indexes {
            store,
            log,
            cache: RwLock::new(None),
        }
    }

    /// What `class` keeps beside its objects (unique fields and index specs).
    pub async fn kept(&self, class: &str) -> Result<Kept> {
        Ok(Kept {
            unique: self.registered("unique", class).await?,
            indexes: self.registered("index", class).await?,
        })
    }

    /// Forgets the cached registries (after the table was emptied).
    pub async fn forget(&self) {
        *self.cache.write().await = None;
    }

    /// Fields registered under `kind` ("unique" or "index") for `class`, from `~meta` (read
    /// again when older than `registry_ttl()`, and kept current by this process's
    /// registrations).
    async fn registered(&self, kind: &str, class: &str) -> Result<Vec<String>> {
        let key = format!("{kind}_{class}");
        let fresh = |r: &Option<Registry>| {
            r.as_ref()
                .filter(|m| m.read_at.elapsed() < registry_ttl())
                .map(|m| m.fields.get(&key).cloned().unwrap_or_default())
        };
        if let Some(out) = fresh(&*self.cache.read().await) {
            return Ok(out);
        }
        // One reader reloads; the others wait for it instead of reading `~meta` too.
        let mut guard = self.cache.write().await;
        if let Some(out) = fresh(&guard) {
            return Ok(out);
        }
        let read_at = std::time::Instant::now();
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        self.store
            .query(META_PARTITION, None, |item| {
                let st = item_to_stored(&item)?;
                map.insert(st.key.clone(), registry_fields(&st));
                Ok(true)
            })
            .await?;
        let out = map.get(&key).cloned().unwrap_or_default();
        *guard = Some(Registry {
            fields: map,
            read_at,
        });
        Ok(out)
    }

    /// Keeps this process's copy of registry `key` at `fields` (just written).
    async fn remember(&self, key: String, fields: Vec<String>) {
        if let Some(r) = self.cache.write().await.as_mut() {
            r.fields.insert(key, fields);
        }
    }

    /// Adds `field` to the `kind` registry of `class` (a conditional read-modify-write, so
    /// servers registering at once all land). `before` runs once, only when the field is new,
    /// and may refuse. Answers whether the field was new.
    async fn register(
        &self,
        kind: &str,
        class: &str,
        field: &str,
        mut before: impl FnMut() -> Result<()>,
    ) -> Result<bool> {
        let key = format!("{kind}_{class}");
        let mut checked = false;
        for attempt in 0..50 {
            let (rev, mut fields) = match self.store.get(META_PARTITION, &key).await? {
                Some(item) => {
                    let st = item_to_stored(&item)?;
                    (st.rev, registry_fields(&st))
                }
                None => (0, Vec::new()),
            };
            let known = fields.iter().any(|f| f == field);
            if !known {
                if !checked {
                    before()?;
                    checked = true;
                }
                fields.push(field.to_string());
                let item = registry_item(&key, rev + 1, &fields)?;
                let cond = if rev == 0 {
                    Condition::absent()
                } else {
                    Condition::revision(rev)
                };
                if self.store.put(item, Some(cond)).await? != Written::Ok {
                    backoff(attempt.min(6)).await;
                    continue;
                }
            }
            self.remember(key, fields).await;
            return Ok(!known);
        }
        Err(Error::Conflict(format!(
            "the {kind} registry of {class} kept changing"
        )))
    }

    /// Registers `field` of `class` as unique and, the first time, claims the values already
    /// stored (a full read of the class). Parse calls this at every start; a field that is
    /// registered already costs one GetItem.
    pub async fn ensure_unique(&self, class: &str, field: &str) -> Result<()> {
        if self
            .registered("unique", class)
            .await?
            .iter()
            .any(|f| f == field)
        {
            // Known here; still confirm with the table (another server may have reset it).
            if self
                .store
                .get(META_PARTITION, &format!("unique_{class}"))
                .await?
                .is_some()
            {
                return Ok(());
            }
        }
        let mut rows = Vec::new();
        self.store
            .query(class, None, |item| {
                rows.push(item_to_stored(&item)?);
                Ok(true)
            })
            .await?;
        // Refuse (and register nothing) when stored values already repeat.
        let check = || {
            let mut seen = HashSet::new();
            for st in &rows {
                if let Some(sk) = unique_sk(&st.obj, field)? {
                    if !seen.insert(sk) {
                        return Err(duplicate(field));
                    }
                }
            }
            Ok(())
        };
        if !self.register("unique", class, field, check).await? {
            return Ok(());
        }
        // Claim the values already stored.
        for st in &rows {
            if let Some(sk) = unique_sk(&st.obj, field)? {
                let w = self
                    .store
                    .put(
                        sentinel_item(class, field, &sk, &st.key),
                        Some(Condition::absent_or_owned(&st.key)),
                    )
                    .await?;
                if w != Written::Ok {
                    return Err(duplicate(field));
                }
            }
        }
        Ok(())
    }

    /// Keeps index `spec` (see `index::spec`, `index::compound_spec`) of `class`. The first
    /// registration indexes the objects already stored, now and once more after twice
    /// `registry_ttl()` (see there).
    pub async fn ensure(&self, class: &str, spec: &str) -> Result<()> {
        if !self.register("index", class, spec, || Ok(())).await? {
            return Ok(());
        }
        reconcile_index(&self.store, &self.log, class, spec, "indexing").await?;
        let (store, log) = (self.store.clone(), self.log.clone());
        let (class, spec) = (class.to_string(), spec.to_string());
        tokio::spawn(async move {
            tokio::time::sleep(registry_ttl() * 2).await;
            if let Err(e) = reconcile_index(&store, &log, &class, &spec, "re-indexing").await {
                log.warn(format!("re-indexing {class}.{spec} failed: {e}"));
            }
        });
        Ok(())
    }

    /// Stops keeping index `spec` (`field` or `field:ci`) of `class` and deletes its entries.
    /// Answers whether there was such an index.
    pub async fn drop(&self, class: &str, spec: &str) -> Result<bool> {
        let key = format!("index_{class}");
        for attempt in 0..50 {
            let Some(item) = self.store.get(META_PARTITION, &key).await? else {
                return Ok(false);
            };
            let st = item_to_stored(&item)?;
            let mut fields = registry_fields(&st);
            if !fields.iter().any(|f| f == spec) {
                self.remember(key, fields).await;
                return Ok(false);
            }
            fields.retain(|f| f != spec);
            let item = registry_item(&key, st.rev + 1, &fields)?;
            if self
                .store
                .put(item, Some(Condition::revision(st.rev)))
                .await?
                != Written::Ok
            {
                backoff(attempt.min(6)).await;
                continue;
            }
            self.remember(key, fields).await;
            let keys = self.store.partition_keys(&index_pk(class, spec)).await?;
            self.store.batch_delete(&keys).await?;
            self.log.info(format!(
                "dropped index {class}.{spec} ({} entries)",
                keys.len()
            ));
            return Ok(true);
        }
        Err(Error::Conflict(format!(
            "the index registry of {class} kept changing"
        )))
    }
}

// ---------- reconcile: an index made to match the stored objects ----------

/// Writes turning `have` into `want` for the object at `key`, each transaction checking that
/// the object is still at revision `rev` (None: still absent), at most 100 items each.
fn reconcile_ops(
    class: &str,
    spec: &str,
    key: &str,
    rev: Option<i64>,
    have: &[index::Entry],
    want: &[index::Entry],
) -> Vec<Vec<TxOp>> {
    let changes = entry_changes(class, spec, key, have, want);
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

/// An object's key, revision (None: absent), the index entries it calls for and those it has.
type ObjectEntries = (String, Option<i64>, Vec<index::Entry>, Vec<index::Entry>);

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
    mut rev: Option<i64>,
    mut want: Vec<index::Entry>,
    mut current: Vec<index::Entry>,
) -> Result<bool> {
    for attempt in 0..20 {
        let txs = reconcile_ops(class, spec, key, rev, &current, &want);
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
                want = index::entries(&st.obj, spec, &st.key);
            }
            None => {
                rev = None;
                want = Vec::new();
            }
        }
        current.clear();
        store
            .query(&index_pk(class, spec), None, |item| {
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
async fn reconcile_index(
    store: &Store,
    log: &Log,
    class: &str,
    spec: &str,
    what: &str,
) -> Result<()> {
    let mut have: HashMap<String, Vec<index::Entry>> = HashMap::new();
    store
        .query(&index_pk(class, spec), None, |item| {
            if let Some((key, e)) = entry_of(&item) {
                have.entry(key).or_default().push(e);
            }
            Ok(true)
        })
        .await?;
    let mut rows: Vec<(String, Option<i64>, Vec<index::Entry>)> = Vec::new();
    store
        .query(class, None, |item| {
            let st = item_to_stored(&item)?;
            let want = index::entries(&st.obj, spec, &st.key);
            rows.push((st.key, Some(st.rev), want));
            Ok(true)
        })
        .await?;
    // Entries of objects that are gone: delete them if the object is still absent.
    let gone: Vec<(String, Vec<index::Entry>)> = {
        let present: HashSet<&String> = rows.iter().map(|(k, _, _)| k).collect();
        have.iter()
            .filter(|(k, _)| !present.contains(k))
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
        .chain(gone.into_iter().map(|(k, _)| (k, None, Vec::new())));
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
