//! Sharding an index whose writes DynamoDB keeps throttling: its sharded twin (`<spec>@16`,
//! entries spread over 16 partitions by the objectId's hash) is registered, back-filled twice
//! and made ready, then the old index is dropped; `shard_hot` starts that in the background for
//! the partitions the store saw throttled. Reading shards in order is `entries`'.

use super::{lists_now, ready_now, registry_ttl, Indexes};
use crate::error::Result;
use crate::layout::{index, index_pks};
use std::sync::Arc;

impl Indexes {
    /// Spreads index `spec` of `class` over `index::SHARDS` partitions: registers its sharded
    /// twin (every write keeps it from then on, as a new index), back-fills it twice (the second
    /// time after the servers that had not seen it yet know it), marks it ready and drops
    /// `spec`. Queries read `spec` until the twin is ready. Done once: a spec already sharded,
    /// or not kept, is left as it is.
    pub async fn shard(self: &Arc<Self>, class: &str, spec: &str) -> Result<()> {
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
    pub(super) async fn finish_twin(self: &Arc<Self>, class: &str, twin: &str) -> Result<()> {
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
}
