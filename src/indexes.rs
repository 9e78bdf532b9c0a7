//! The items kept for lookups, as a whole: the registries of unique fields and indexes in
//! `~meta` (cached per process, re-read after `registry_ttl()`), registering a unique field
//! (claiming the values already stored) or an index (back-filling its entries, see
//! `reconcile`), dropping an index, and the automatic-index policy. An index is *kept* (writes
//! maintain its entries) from its registration, and *ready* (queries read it) only once its
//! back-fill is done: until then it is listed as `building`. Per-object upkeep of sentinels and
//! entries is `write`'s; the entry encoding is `index`'s; the keys are `layout`'s.

use crate::codec::{item_to_stored, object_to_item, Item, Stored};
use crate::error::{Error, Result};
use crate::index;
use crate::layout::{
    check_partition, duplicate, index_pks, longest_index_pk, sentinel_item, unique_pk, unique_sk,
    Kept, META_PARTITION,
};
use crate::log::Log;
use crate::reconcile::reconcile_index;
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

/// When the adapter creates an index by itself: a query had to read the class partition, that
/// cost at least `min_units` read units, and at least `ratio` times what reading through the
/// index would (one unit per row read, and one for the index range); the class has fewer
/// than `max_per_class` automatic indexes.
#[derive(Debug, Clone)]
pub struct AutoIndexPolicy {
    pub enabled: bool,
    pub min_units: f64,
    pub ratio: f64,
    pub max_per_class: usize,
}

impl Default for AutoIndexPolicy {
    fn default() -> Self {
        AutoIndexPolicy {
            enabled: true,
            min_units: 25.0,
            ratio: 4.0,
            max_per_class: 8,
        }
    }
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

    /// The automatic-index policy: a read of `class` cost `scanned` read units (of its
    /// partition, or through a lesser index) where index `spec` would read about `would_read`
    /// rows. When the policy says so,
    /// the index is registered and built in the background; queries use it only once it is
    /// ready everywhere (after the second back-fill), so answers stay exact meanwhile.
    pub fn consider(
        self: &Arc<Self>,
        class: &str,
        spec: &str,
        kept: &Kept,
        scanned: f64,
        would_read: usize,
    ) {
        let p = &self.policy;
        let through_index = (would_read + 1) as f64;
        let worth = scanned >= p.min_units && scanned >= p.ratio * through_index;
        let known = kept.keeps(spec);
        let resume = kept.building.iter().any(|s| s == spec);
        if !p.enabled || !worth || (known && !resume) {
            return;
        }
        let job = (class.to_string(), spec.to_string());
        {
            let mut here = self.building_here.lock().unwrap_or_else(|e| e.into_inner());
            // The cap counts the builds this process started and has not registered yet too.
            let starting = here
                .iter()
                .filter(|(c, s)| c == class && !kept.auto.contains(s))
                .count();
            if !known && kept.auto.len() + starting >= p.max_per_class {
                return;
            }
            if !here.insert(job.clone()) {
                return;
            }
        }
        let this = Arc::clone(self);
        tokio::spawn(async move {
            let (class, spec) = (&job.0, &job.1);
            // A query planned before the index became ready (here or on another server) asks
            // to resume a build that has finished: reading the class again would be waste.
            if resume && matches!(ready_now(&this.store, class, spec).await, Ok(true)) {
                this.building_here
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&job);
                return;
            }
            this.log.info(format!(
                "automatic index {class}.{spec}: a query read {scanned} units of the class for {would_read} rows; building it"
            ));
            if let Err(e) = this.build_auto(class, spec).await {
                this.log
                    .warn(format!("automatic index {class}.{spec} failed: {e}"));
            }
            this.building_here
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&job);
        });
    }

    async fn build_auto(&self, class: &str, spec: &str) -> Result<()> {
        self.register_index(class, spec, true).await?;
        if self.fill_twice(class, spec).await? {
            self.log
                .info(format!("automatic index {class}.{spec} is ready"));
        }
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
                    delete_entries(&self.store, class, spec).await?;
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
    pub async fn remove(&self, class: &str, spec: &str) -> Result<bool> {
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

    /// Spreads index `spec` of `class` over `index::SHARDS` partitions: registers its sharded
    /// twin (every write keeps it from then on, as a new index), back-fills it twice (the second
    /// time after the servers that had not seen it yet know it), marks it ready and drops
    /// `spec`. Queries read `spec` until the twin is ready. Done once: a spec already sharded,
    /// or not kept, is left as it is.
    pub async fn shard(&self, class: &str, spec: &str) -> Result<()> {
        let twin = index::sharded(spec);
        let Some(lists) = lists_now(&self.store, class).await? else {
            return Ok(());
        };
        if index::shards(spec) > 1 || !lists.fields.iter().any(|s| s == spec) {
            return Ok(());
        }
        if !lists.fields.contains(&twin) {
            let auto = lists.auto.iter().any(|s| s == spec);
            self.log.info(format!(
                "sharding index {class}.{spec}: its partition's writes were throttled"
            ));
            self.register_index(class, &twin, auto).await?;
        }
        self.finish_twin(class, &twin).await
    }

    /// Back-fills sharded index `twin` (registered, building) twice, marks it ready and drops
    /// the index it replaces.
    async fn finish_twin(&self, class: &str, twin: &str) -> Result<()> {
        if !ready_now(&self.store, class, twin).await? && !self.fill_twice(class, twin).await? {
            return Ok(());
        }
        // Every server reads the twin once it sees it ready; one still reading the old index
        // for a moment finds it empty (its entries are deleted) and reads the twin then.
        tokio::time::sleep(registry_ttl()).await;
        self.remove_one(class, index::base(twin)).await?;
        self.log
            .info(format!("index {class}.{} is sharded", index::base(twin)));
        Ok(())
    }

    /// Shards, in the background, the unsharded indexes whose partition's writes DynamoDB
    /// throttled again and again lately (`Store::hot_partitions`): the writes of a key range
    /// that does not split. Costs a lock when none was; the adapter calls it after writes.
    pub fn shard_hot(self: &Arc<Self>) {
        let hot = self.store.hot_partitions();
        if hot.is_empty() {
            return;
        }
        let this = Arc::clone(self);
        tokio::spawn(async move {
            let items = match this.cache.read().await.as_ref() {
                Some(r) => r.items.clone(),
                None => return,
            };
            let mut jobs = Vec::new();
            for (key, lists) in &items {
                let Some(class) = key.strip_prefix("index_") else {
                    continue;
                };
                for spec in lists.fields.iter().filter(|s| index::shards(s) == 1) {
                    if index_pks(class, spec).iter().any(|pk| hot.contains(pk)) {
                        jobs.push((class.to_string(), spec.clone()));
                    }
                }
            }
            for job in jobs {
                let mut here = this.building_here.lock().unwrap_or_else(|e| e.into_inner());
                if !here.insert(job.clone()) {
                    continue;
                }
                drop(here);
                let this = Arc::clone(&this);
                tokio::spawn(async move {
                    if let Err(e) = this.shard(&job.0, &job.1).await {
                        this.log
                            .warn(format!("sharding index {}.{} failed: {e}", job.0, job.1));
                    }
                    this.building_here
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .remove(&job);
                });
            }
        });
    }

    /// `remove` for one registry name (sharded or not).
    async fn remove_one(&self, class: &str, spec: &str) -> Result<bool> {
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
            return Ok(false);
        }
        self.dropped(class, spec).await?;
        self.log
            .info(format!("dropped index {class}.{spec} ({deleted} entries)"));
        // Servers that have not re-read the registry yet still write entries for a while.
        let (store, log) = (self.store.clone(), self.log.clone());
        let (class, spec) = (class.to_string(), spec.to_string());
        tokio::spawn(async move {
            tokio::time::sleep(registry_ttl() * 2).await;
            let sweep = async {
                if !kept_now(&store, &class, &spec).await? {
                    delete_entries(&store, &class, &spec).await?;
                }
                Ok::<(), crate::error::Error>(())
            };
            if let Err(e) = sweep.await {
                log.warn(format!(
                    "sweeping the dropped index {class}.{spec} failed: {e}"
                ));
            }
        });
        Ok(true)
    }
}
