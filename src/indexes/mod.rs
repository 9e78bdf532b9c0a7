//! The items kept for lookups, as a whole: the registries of unique fields and indexes in
//! `~meta` (cached per process, re-read after `registry_ttl()`), registering a unique field
//! (claiming the values already stored) or an index (back-filling its entries, see
//! `reconcile`), dropping an index, and the automatic-index policy. An index is *kept* (writes
//! maintain its entries) from its registration, and *ready* (queries read it) only once its
//! back-fill is done: until then it is listed as `building`. Per-object upkeep of sentinels and
//! entries is `write`'s; the entry encoding is `layout::index`'s, the keys `layout`'s. Beside
//! the registry: `entries` (reading an index's entries, its shards merged in order),
//! `reconcile` (an index's entries made to match the objects: back-fill and repair), `policy`
//! (automatic indexes) and `shard` (spreading a throttled index over 16 partitions).

pub mod entries;
mod policy;
pub mod reconcile;
mod shard;

pub use policy::AutoIndexPolicy;

use crate::codec::{item_to_stored, object_to_item, Item, Stored};
use crate::error::{Error, Result};
use crate::indexes::reconcile::reconcile_index;
use crate::layout::index;
use crate::layout::{
    check_partition, duplicate, index_pks, longest_index_pk, sentinel_item, unique_pk, unique_sk,
    Kept, META_PARTITION,
};
use crate::log::Log;
use crate::store::{backoff, Condition, Store, Written};
use serde_json::{json, Map, Value};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use tokio::sync::RwLock;

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

/// One registry item (`unique_<class>` or `index_<class>`): the fields or index specs kept,
/// those of them still being back-filled (or, for unique fields, whose stored values are still
/// being claimed), those the adapter created by itself, and dropped indexes whose entries are
/// still being deleted. A process killed in the middle leaves `building` or `dropping` behind,
/// and the next start finishes the work (`resume_unfinished`).
#[derive(Debug, Clone, Default)]
struct Lists {
    fields: Vec<String>,
    building: Vec<String>,
    auto: Vec<String>,
    dropping: Vec<String>,
}

impl Lists {
    fn of(st: &Stored) -> Lists {
        let list = |name: &str| -> Vec<String> {
            st.obj
                .get(name)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        Lists {
            fields: list("fields"),
            building: list("building"),
            auto: list("auto"),
            dropping: list("dropping"),
        }
    }

    fn item(&self, key: &str, rev: i64) -> Result<Item> {
        let mut obj = Map::new();
        obj.insert("fields".into(), json!(self.fields));
        if !self.building.is_empty() {
            obj.insert("building".into(), json!(self.building));
        }
        if !self.auto.is_empty() {
            obj.insert("auto".into(), json!(self.auto));
        }
        if !self.dropping.is_empty() {
            obj.insert("dropping".into(), json!(self.dropping));
        }
        object_to_item(META_PARTITION, key, rev, &obj)
    }
}

/// The registries of every class, as read from `~meta` at `read_at`.
struct Registry {
    items: HashMap<String, Lists>,
    read_at: std::time::Instant,
}

/// The lists of `class`'s index registry as stored now (not as cached).
async fn lists_now(store: &Store, class: &str) -> Result<Option<Lists>> {
    match store.get(META_PARTITION, &format!("index_{class}")).await? {
        Some(item) => Ok(Some(Lists::of(&item_to_stored(&item)?))),
        None => Ok(None),
    }
}

/// Whether the registry of `class` lists index `spec` as stored now.
async fn kept_now(store: &Store, class: &str, spec: &str) -> Result<bool> {
    Ok(lists_now(store, class)
        .await?
        .is_some_and(|l| l.fields.iter().any(|s| s == spec)))
}

/// Whether the registry of `class` lists index `spec` as ready now: kept, and back-filled.
async fn ready_now(store: &Store, class: &str, spec: &str) -> Result<bool> {
    Ok(lists_now(store, class).await?.is_some_and(|l| {
        l.fields.iter().any(|s| s == spec) && !l.building.iter().any(|s| s == spec)
    }))
}

/// Back-fills index `spec` of `class` (see `reconcile_index`); when the index was dropped
/// meanwhile, deletes what the back-fill wrote. Answers whether the index is still kept.
async fn fill(store: &Store, log: &Log, class: &str, spec: &str, what: &str) -> Result<bool> {
    if !kept_now(store, class, spec).await? {
        return Ok(false);
    }
    reconcile_index(store, log, class, spec, what).await?;
    if kept_now(store, class, spec).await? {
        return Ok(true);
    }
    delete_entries(store, class, spec).await?;
    Ok(false)
}

/// Deletes every entry of index `spec` of `class` (each of its partitions); answers how many.
async fn delete_entries(store: &Store, class: &str, spec: &str) -> Result<usize> {
    let mut n = 0;
    for pk in index_pks(class, spec) {
        let keys = store.partition_keys(&pk).await?;
        store.batch_delete(&keys).await?;
        n += keys.len();
    }
    Ok(n)
}

pub struct Indexes {
    store: Store,
    log: Arc<Log>,
    cache: RwLock<Option<Registry>>,
    policy: AutoIndexPolicy,
    /// Automatic indexes this process is building (class, spec).
    building_here: Mutex<HashSet<(String, String)>>,
    /// Held shared by each write from reading the registries to its commit, and exclusively
    /// (for a moment) by a registration once its registry change is made: when a back-fill
    /// starts, no write of this process that read the registries before it is still in flight
    /// (it would commit an object without the new index's entries after the back-fill read it).
    inflight: tokio::sync::RwLock<()>,
}

impl Indexes {
    pub fn new(store: Store, log: Arc<Log>, policy: AutoIndexPolicy) -> Indexes {
        Indexes {
            store,
            log,
            cache: RwLock::new(None),
            policy,
            building_here: Mutex::new(HashSet::new()),
            inflight: tokio::sync::RwLock::new(()),
        }
    }

    /// Held by a write from reading the registries until it is committed.
    pub async fn writing(&self) -> tokio::sync::RwLockReadGuard<'_, ()> {
        self.inflight.read().await
    }

    /// Waits until the writes in flight (which read the registries before a change) are done.
    async fn quiesce(&self) {
        drop(self.inflight.write().await);
    }

    /// What `class` keeps beside its objects (unique fields and index specs).
    pub async fn kept(&self, class: &str) -> Result<Kept> {
        let index = self.registered("index", class).await?;
        let unique = self.registered("unique", class).await?;
        Ok(Kept {
            unique: unique.fields,
            unique_building: unique.building,
            indexes: index.fields,
            building: index.building,
            auto: index.auto,
        })
    }

    /// The indexes of `class` dropped whose entries are still being deleted (as stored now).
    pub async fn dropping_now(&self, class: &str) -> Result<Vec<String>> {
        Ok(lists_now(&self.store, class)
            .await?
            .map(|l| l.dropping)
            .unwrap_or_default())
    }

    /// Forgets the cached registries (after the table was emptied).
    pub async fn forget(&self) {
        *self.cache.write().await = None;
    }

    /// The `kind` registry ("unique" or "index") of `class`, from `~meta` (read again when
    /// older than `registry_ttl()`, and kept current by this process's registrations).
    async fn registered(&self, kind: &str, class: &str) -> Result<Lists> {
        let key = format!("{kind}_{class}");
        let fresh = |r: &Option<Registry>| {
            r.as_ref()
                .filter(|m| m.read_at.elapsed() < registry_ttl())
                .map(|m| m.items.get(&key).cloned().unwrap_or_default())
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
        let mut items: HashMap<String, Lists> = HashMap::new();
        self.store
            .query(META_PARTITION, None, |item| {
                let st = item_to_stored(&item)?;
                items.insert(st.key.clone(), Lists::of(&st));
                Ok(true)
            })
            .await?;
        let out = items.get(&key).cloned().unwrap_or_default();
        *guard = Some(Registry { items, read_at });
        Ok(out)
    }

    /// Changes registry `key` with `change` (a conditional read-modify-write, so servers
    /// changing it at once all land; `change` answers false to leave it as it is). Answers
    /// whether it changed.
    async fn update(
        &self,
        key: &str,
        mut change: impl FnMut(&mut Lists) -> Result<bool>,
    ) -> Result<bool> {
        for attempt in 0..50 {
            let (rev, mut lists) = match self.store.get(META_PARTITION, key).await? {
                Some(item) => {
                    let st = item_to_stored(&item)?;
                    (st.rev, Lists::of(&st))
                }
                None => (0, Lists::default()),
            };
            let changed = change(&mut lists)?;
            if changed {
                let cond = if rev == 0 {
                    Condition::absent()
                } else {
                    Condition::revision(rev)
                };
                let item = lists.item(key, rev + 1)?;
                if self.store.put_checked(item, Some(cond)).await? != Written::Ok {
                    backoff(attempt.min(6)).await;
                    continue;
                }
            }
            if let Some(r) = self.cache.write().await.as_mut() {
                r.items.insert(key.to_string(), lists);
            }
            return Ok(changed);
        }
        Err(Error::Conflict(format!("the registry {key} kept changing")))
    }

    /// Registers `field` of `class` as unique and, the first time, claims the values already
    /// stored (a full read of the class). Parse calls this at every start; a field that is
    /// registered already costs one GetItem.
    pub async fn ensure_unique(&self, class: &str, field: &str) -> Result<()> {
        check_partition(&unique_pk(class, field))?;
        let key = format!("unique_{class}");
        let known = self.registered("unique", class).await?;
        if known.fields.iter().any(|f| f == field) && !known.building.iter().any(|f| f == field) {
            // Known here; still confirm with the table (another server may have reset it).
            if let Some(item) = self.store.get(META_PARTITION, &key).await? {
                let lists = Lists::of(&item_to_stored(&item)?);
                if !lists.building.iter().any(|f| f == field) {
                    return Ok(());
                }
            }
        }
        let rows = self.stored_rows(class).await?;
        // Refuse (and register nothing) when stored values already repeat.
        let mut checked = false;
        let mut resuming = false;
        let added = self
            .update(&key, |lists| {
                if lists.fields.iter().any(|f| f == field) {
                    // Registered; claiming its values was cut off (a process killed): resume.
                    resuming = lists.building.iter().any(|f| f == field);
                    return Ok(false);
                }
                if !checked {
                    let mut seen = HashSet::new();
                    for st in &rows {
                        if let Some(sk) = unique_sk(&st.obj, field)? {
                            if !seen.insert(sk) {
                                return Err(duplicate(field));
                            }
                        }
                    }
                    checked = true;
                }
                lists.fields.push(field.to_string());
                lists.building.push(field.to_string());
                Ok(true)
            })
            .await?;
        if !added && !resuming {
            return Ok(());
        }
        self.claim_values(class, field).await
    }

    /// Every stored object of `class`.
    async fn stored_rows(&self, class: &str) -> Result<Vec<Stored>> {
        let mut rows = Vec::new();
        self.store
            .query(class, None, |item| {
                rows.push(item_to_stored(&item)?);
                Ok(true)
            })
            .await?;
        Ok(rows)
    }

    /// Claims the stored values of unique `field` (sentinels for the objects that hold them),
    /// then marks the field's registration complete.
    async fn claim_values(&self, class: &str, field: &str) -> Result<()> {
        let key = format!("unique_{class}");
        // Claim the values stored, read again now that every write claims its own (the writes
        // in flight before the registration done first).
        self.quiesce().await;
        for st in &self.stored_rows(class).await? {
            if let Some(sk) = unique_sk(&st.obj, field)? {
                // Deleted by DynamoDB's TTL with its object, if that has an expiry.
                let mut sentinel = sentinel_item(class, field, &sk, &st.key);
                crate::layout::expire(&mut sentinel, st.expires);
                let w = self
                    .store
                    .put(sentinel, Some(Condition::absent_or_owned(&st.key)))
                    .await?;
                if w != Written::Ok {
                    return Err(duplicate(field));
                }
            }
        }
        self.take_off(&key, |l| &mut l.building, field).await
    }

    /// Registers index `spec` of `class` as kept but not ready (`auto`: created by the
    /// adapter). Answers whether it needs building: new, or still building.
    async fn register_index(&self, class: &str, spec: &str, auto: bool) -> Result<bool> {
        // Room for its sharded twin's keys too, so any index can be sharded later.
        check_partition(&longest_index_pk(class, &index::sharded(spec)))?;
        let mut building = false;
        // An index whose sharded twin is kept is kept already.
        let twin = index::sharded(spec);
        self.update(&format!("index_{class}"), |lists| {
            let known = |s: &String| *s == spec || *s == twin;
            building = lists.building.iter().any(known);
            if lists.fields.iter().any(known) {
                return Ok(false);
            }
            building = true;
            lists.fields.push(spec.to_string());
            lists.building.push(spec.to_string());
            if auto {
                lists.auto.push(spec.to_string());
            }
            Ok(true)
        })
        .await?;
        Ok(building)
    }

    /// Takes `name` off one list of registry `key` (its `building` or `dropping` list).
    async fn take_off(
        &self,
        key: &str,
        list: fn(&mut Lists) -> &mut Vec<String>,
        name: &str,
    ) -> Result<()> {
        self.update(key, |lists| {
            let l = list(lists);
            let before = l.len();
            l.retain(|s| s != name);
            Ok(l.len() != before)
        })
        .await?;
        Ok(())
    }

    /// Index `spec` of `class` is back-filled: queries may read it.
    async fn mark_ready(&self, class: &str, spec: &str) -> Result<()> {
        self.take_off(&format!("index_{class}"), |l| &mut l.building, spec)
            .await
    }

    /// Keeps index `spec` (see `index::spec`, `index::compound_spec`) of `class`. The first
    /// registration back-fills the objects already stored, then marks the index ready, and
    /// reconciles it once more after twice `registry_ttl()` (see there).
    pub async fn ensure(&self, class: &str, spec: &str) -> Result<()> {
        if !self.register_index(class, spec, false).await? {
            return Ok(());
        }
        self.quiesce().await;
        if !fill(&self.store, &self.log, class, spec, "indexing").await? {
            return Ok(());
        }
        self.mark_ready(class, spec).await?;
        let (store, log) = (self.store.clone(), self.log.clone());
        let (class, spec) = (class.to_string(), spec.to_string());
        tokio::spawn(async move {
            tokio::time::sleep(registry_ttl() * 2).await;
            if let Err(e) = fill(&store, &log, &class, &spec, "re-indexing").await {
                log.warn(format!("re-indexing {class}.{spec} failed: {e}"));
            }
        });
        Ok(())
    }

    /// Back-fills registered index `spec` and marks it ready once every server keeps it: every
    /// server keeps a new index's entries within `registry_ttl()`, so it is back-filled now and
    /// again after twice that, for what servers that did not know it yet wrote meanwhile.
    /// Answers false when the index was dropped meanwhile.
    async fn fill_twice(&self, class: &str, spec: &str) -> Result<bool> {
        self.quiesce().await;
        if !fill(&self.store, &self.log, class, spec, "indexing").await? {
            return Ok(false);
        }
        tokio::time::sleep(registry_ttl() * 2).await;
        if !fill(&self.store, &self.log, class, spec, "re-indexing").await? {
            return Ok(false);
        }
        self.mark_ready(class, spec).await?;
        Ok(true)
    }

    /// The entries of dropped index `spec` are deleted: off the `dropping` list.
    async fn dropped(&self, class: &str, spec: &str) -> Result<()> {
        self.take_off(&format!("index_{class}"), |l| &mut l.dropping, spec)
            .await
    }

    /// Finishes what a process killed in the middle left in the registries: index back-fills
    /// (`building`), deletions of dropped indexes' entries (`dropping`), claims of a new unique
    /// field's stored values. Run in the background when the adapter starts.
    pub async fn resume_unfinished(self: &Arc<Self>) -> Result<()> {
        let mut items: Vec<(String, Lists)> = Vec::new();
        self.store
            .query(META_PARTITION, None, |item| {
                let st = item_to_stored(&item)?;
                items.push((st.key.clone(), Lists::of(&st)));
                Ok(true)
            })
            .await?;
        for (key, lists) in items {
            if let Some(class) = key.strip_prefix("unique_") {
                for field in &lists.building {
                    self.log
                        .info(format!("resuming the claims of unique {class}.{field}"));
                    self.claim_values(class, field).await?;
                }
            } else if let Some(class) = key.strip_prefix("index_") {
                for spec in &lists.dropping {
                    self.log
                        .info(format!("resuming the drop of index {class}.{spec}"));
                    // Unless registered again since.
                    if !kept_now(&self.store, class, spec).await? {
                        delete_entries(&self.store, class, spec).await?;
                    }
                    self.dropped(class, spec).await?;
                }
                for spec in &lists.building {
                    self.log
                        .info(format!("resuming the back-fill of index {class}.{spec}"));
                    if index::shards(spec) > 1 {
                        self.finish_twin(class, spec).await?;
                    } else if lists.auto.contains(spec) {
                        self.build_auto(class, spec).await?;
                    } else if fill(&self.store, &self.log, class, spec, "indexing").await? {
                        self.mark_ready(class, spec).await?;
                    }
                }
                // A twin made ready before its old index was dropped (a process killed then).
                for twin in lists.fields.iter().filter(|s| index::shards(s) > 1) {
                    let base = index::base(twin);
                    if !lists.building.contains(twin) && lists.fields.iter().any(|s| s == base) {
                        self.remove_one(class, base).await?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Stops keeping index `spec` (`field` or `field:ci`) of `class`, sharded or not, and
    /// deletes its entries. Answers whether there was such an index.
    pub async fn remove(self: &Arc<Self>, class: &str, spec: &str) -> Result<bool> {
        let base = index::base(spec);
        let plain = self.remove_one(class, base).await?;
        // Its sharded twin, when the registry lists it (kept, or still being deleted): a drop of
        // an index never sharded reads no shard partitions.
        let twin = index::sharded(base);
        let listed = lists_now(&self.store, class)
            .await?
            .is_some_and(|l| l.fields.contains(&twin) || l.dropping.contains(&twin));
        Ok((listed && self.remove_one(class, &twin).await?) || plain)
    }

    /// `remove` for one registry name (sharded or not).
    async fn remove_one(self: &Arc<Self>, class: &str, spec: &str) -> Result<bool> {
        let dropped = self
            .update(&format!("index_{class}"), |lists| {
                let before = lists.fields.len();
                lists.fields.retain(|s| s != spec);
                lists.building.retain(|s| s != spec);
                lists.auto.retain(|s| s != spec);
                let dropped = lists.fields.len() != before;
                if dropped && !lists.dropping.iter().any(|s| s == spec) {
                    lists.dropping.push(spec.to_string());
                }
                Ok(dropped)
            })
            .await?;
        // The registry no longer lists the index. Its entries go even when this call found it
        // gone already: a drop whose answer was lost, retried after another registry change,
        // finds its own removal done.
        let deleted = delete_entries(&self.store, class, spec).await?;
        if !dropped && deleted == 0 {
            self.dropped(class, spec).await?;
            return Ok(false);
        }
        self.log
            .info(format!("dropped index {class}.{spec} ({deleted} entries)"));
        // Servers that have not re-read the registry yet still write entries for a while: the
        // index stays on the `dropping` list (`check` counts its entries as leftovers, a
        // restart deletes them) until they are swept.
        let this = Arc::clone(self);
        let (class, spec) = (class.to_string(), spec.to_string());
        tokio::spawn(async move {
            tokio::time::sleep(registry_ttl() * 2).await;
            let sweep = async {
                if !kept_now(&this.store, &class, &spec).await? {
                    delete_entries(&this.store, &class, &spec).await?;
                }
                this.dropped(&class, &spec).await
            };
            if let Err(e) = sweep.await {
                this.log.warn(format!(
                    "sweeping the dropped index {class}.{spec} failed: {e}"
                ));
            }
        });
        Ok(true)
    }
}
