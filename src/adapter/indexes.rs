//! Unique values and indexes of a class, asked for by Parse or an operator: registering a
//! unique field, keeping, sharding and dropping an index (see `crate::indexes`), and the
//! table's consistency check (`check [--fix]`) of what is kept beside the objects.

use super::Adapter;
use crate::error::Result;
use crate::layout::index;

impl Adapter {
    /// Registers `field` of `class` as unique (see `Indexes::ensure_unique`).
    pub async fn ensure_unique(&self, class: &str, field: &str) -> Result<()> {
        self.ready().await?;
        self.indexes.ensure_unique(class, field).await
    }

    /// Keeps an index on `field` (`case_insensitive`: on its lower-cased text), so equality,
    /// `$in`, ranges, prefixes and sorts on it are key-range reads.
    pub async fn ensure_index(
        &self,
        class: &str,
        field: &str,
        case_insensitive: bool,
    ) -> Result<()> {
        let kind = if case_insensitive {
            index::Kind::CaseInsensitive
        } else {
            index::Kind::Ordered
        };
        self.ensure_index_of(class, field, kind).await
    }

    /// `ensure_index` for any kind of index (see `index::Kind`).
    pub async fn ensure_index_of(&self, class: &str, field: &str, kind: index::Kind) -> Result<()> {
        self.ready().await?;
        self.indexes.ensure(class, &index::spec(field, kind)).await
    }

    /// Spreads index `spec` of `class` over shards (see `Indexes::shard`), as the adapter does
    /// by itself when writes to the index's partition are throttled; answers once the sharded
    /// index is ready and the old one dropped.
    pub async fn shard_index(&self, class: &str, spec: &str) -> Result<()> {
        self.ready().await?;
        self.indexes.shard(class, spec).await
    }

    /// Stops keeping index `spec` (`field` or `field:ci`) of `class` and deletes its entries.
    /// Answers whether there was such an index.
    pub async fn drop_index(&self, class: &str, spec: &str) -> Result<bool> {
        self.ready().await?;
        self.indexes.remove(class, spec).await
    }

    /// The table's consistency check (`check [--fix]`): what disagrees with the objects, and,
    /// with `fix`, repaired without undoing a racing write.
    pub async fn check(&self, fix: bool) -> Result<crate::check::Report> {
        self.ready().await?;
        crate::check::Checker {
            store: &self.store,
            indexes: &self.indexes,
            log: &self.log,
            fix,
        }
        .run()
        .await
    }
}
