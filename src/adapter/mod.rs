//! What Parse Server's storage-adapter interface means, on DynamoDB: each method turns Parse's
//! arguments into a query (`query::parse`), a plan (`query::plan`), rows (`query::exec`) and writes
//! (`write`), and answers in Parse's forms (`transform`). It decides *what* a call means
//! (which rows, which options, which errors) and delegates *how*: a find flows down as
//! query JSON → `Expr` → `Plan` → `query::exec` (items → decode → evaluate → sort → page) → Parse
//! JSON, and nothing below calls back up. This file holds the adapter, its options, its
//! connection and readiness; the methods are in rooms: `classes` (classes and schemas),
//! `indexes` (unique values, indexes, the consistency check), `find` (finds and counts),
//! `aggregate` (pipelines, `$lookup`, `distinct`), `explain`, `writes` (objects, sessions,
//! import) and `stream` (waits on the table's stream), with `planning`, `stats` and
//! `transform` beneath them.

mod aggregate;
mod classes;
mod costs;
mod explain;
mod find;
mod indexes;
mod planning;
mod stats;
mod stream;
mod transform;
mod writes;

pub use classes::validate_class_name;
pub use find::FindOptions;
pub use transform::to_parse;

use crate::counts::Counts;
use crate::error::{Error, Result};
use crate::indexes::{AutoIndexPolicy, Indexes};
use crate::layout::Kept;
use crate::log::Log;
use crate::store::{Store, StoreConfig};
use crate::write::Writer;
use std::sync::Arc;
use tokio::sync::OnceCell;

pub use crate::layout::new_object_id;

/// The adapter's own options (the store's are `StoreConfig`).
#[derive(Debug, Clone)]
pub struct Options {
    /// Finds and counts of the app's classes that name no read preference read eventually
    /// consistent (the `readPreference: 'SECONDARY'` option).
    pub eventual_reads: bool,
    /// When the adapter creates indexes by itself.
    pub auto_index: AutoIndexPolicy,
    /// Whether an index whose partition's writes DynamoDB keeps throttling is sharded
    /// (`Indexes::shard_hot`; the `shardHotIndexes` option, on by default).
    pub shard_hot: bool,
    /// Whether to turn the table's stream on at start (the `stream` option). Otherwise the
    /// first follower (schema hooks, a LiveQuery subscriber) turns it on: tables are created
    /// without one (`follow::stream_of`).
    pub enable_stream: bool,
    /// What the cost ledger logs and prices (`costLog`, `costReport`).
    pub costs: CostOptions,
    /// `maxReadUnitsPerQuery`: the read units a find, count or aggregate may be planned at
    /// and may spend; `stop` refuses them (else they run and are logged).
    pub budget: Option<BudgetOption>,
    /// Classes whose objects DynamoDB's TTL deletes, by the Date field they expire at
    /// (`ttl`; `_Session` at `expiresAt` unless turned off).
    pub ttl: std::collections::BTreeMap<String, String>,
}

/// The `costLog` and `costReport` options.
#[derive(Debug, Clone, Default)]
pub struct CostOptions {
    pub log: crate::bill::Thresholds,
    /// The region whose prices the report uses (else the store's region, else us-east-1).
    pub region: Option<String>,
    /// `{readPerMillion, writePerMillion}` over the region's prices.
    pub prices: Option<serde_json::Value>,
    /// Seconds between the copies of the ledger this server writes to the table for the
    /// command line's `cost-report` (None: it writes none).
    pub save_every: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BudgetOption {
    pub units: f64,
    pub stop: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            eventual_reads: false,
            auto_index: AutoIndexPolicy::default(),
            shard_hot: true,
            enable_stream: false,
            costs: CostOptions::default(),
            budget: None,
            ttl: [("_Session".to_string(), "expiresAt".to_string())].into(),
        }
    }
}

pub struct Adapter {
    store: Store,
    create_table: bool,
    ready: OnceCell<()>,
    indexes: Arc<Indexes>,
    writer: Writer,
    counts: Arc<Counts>,
    /// What reads taught the cost model of each class.
    learned: Arc<stats::Learned>,
    /// Finds and counts of the app's classes that name no read preference read eventually.
    eventual_reads: bool,
    /// Indexes whose writes keep being throttled are sharded.
    shard_hot: bool,
    /// What the table's stream told (`follow`), once someone waits on it.
    changes: Arc<crate::follow::Changes>,
    /// Turn the table's stream on at start.
    enable_stream: bool,
    /// Schema writes of this process, one at a time per class and field.
    schema_writes: crate::schema::Serial,
    /// Units per request, route and function (`bill`).
    bill: Arc<crate::bill::Ledger>,
    costs: CostOptions,
    budget: Option<BudgetOption>,
    log: Arc<Log>,
}

impl Adapter {
    pub async fn connect(cfg: StoreConfig) -> Result<Adapter> {
        Adapter::connect_with(cfg, Options::default()).await
    }

    /// The adapter a server runs: connected, with its periodic work started (saving its cost
    /// ledger when `costReport.saveEverySeconds` asks).
    pub async fn open(cfg: StoreConfig, options: Options) -> Result<Arc<Adapter>> {
        let a = Arc::new(Adapter::connect_with(cfg, options).await?);
        a.save_costs_periodically();
        Ok(a)
    }

    pub async fn connect_with(cfg: StoreConfig, options: Options) -> Result<Adapter> {
        let store = Store::connect(&cfg).await?;
        let log = Arc::new(Log::default());
        if let Some(path) = store.embedded() {
            log.info(format!(
                "table {} is served by the embedded store ({path}); pass `region` or `endpoint` for DynamoDB",
                store.table()
            ));
        }
        let counts = Arc::new(Counts::new(store.clone(), log.clone()));
        let mut costs = options.costs;
        costs.region = costs.region.or(cfg.region.clone());
        Ok(Adapter {
            bill: Arc::new(crate::bill::Ledger::new(costs.log)),
            costs,
            budget: options.budget,
            indexes: Arc::new(Indexes::new(store.clone(), log.clone(), options.auto_index)),
            writer: Writer::new(store.clone(), counts.clone(), options.ttl),
            counts,
            learned: Arc::default(),
            store,
            create_table: cfg.create_table,
            eventual_reads: options.eventual_reads,
            shard_hot: options.shard_hot,
            changes: Arc::default(),
            enable_stream: options.enable_stream,
            schema_writes: Default::default(),
            ready: OnceCell::new(),
            log,
        })
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Parse Server is shutting down: finishes the work sent beside answers (counter updates).
    pub async fn handle_shutdown(&self) {
        self.changes.stop();
        self.counts.settle().await;
    }

    pub fn log(&self) -> &Log {
        &self.log
    }

    /// The cost ledger (what each request, route and function spent).
    pub fn bill(&self) -> &crate::bill::Ledger {
        &self.bill
    }

    async fn ready(&self) -> Result<()> {
        self.ready
            .get_or_try_init(|| async {
                self.store.ensure_table(self.create_table).await?;
                if self.enable_stream {
                    crate::follow::stream_of(&self.store, &self.log).await?;
                }
                // What a killed process left half done is finished in the background.
                let (indexes, log) = (self.indexes.clone(), self.log.clone());
                tokio::spawn(async move {
                    if let Err(e) = indexes.resume_unfinished().await {
                        log.warn(format!("resuming unfinished index work failed: {e}"));
                    }
                });
                Ok::<(), Error>(())
            })
            .await
            .map(|_| ())
    }

    /// What `class` keeps beside its objects (unique fields, index specs), as this process
    /// knows the registries.
    pub async fn kept(&self, class: &str) -> Result<Kept> {
        self.indexes.kept(class).await
    }
}
