//! What Parse Server's storage-adapter interface means, on DynamoDB: each method turns Parse's
//! arguments into a query (`query::parse`), a plan (`query::plan`), rows (`exec`) and writes
//! (`write`), and answers in Parse's forms (`transform`). It decides *what* a call means
//! (which rows, which options, which errors) and delegates *how*: a find flows down as
//! query JSON → `Expr` → `Plan` → `exec` (items → decode → evaluate → sort → page) → Parse
//! JSON, and nothing below calls back up. Class and schema operations are in `classes`.

mod classes;
mod planning;
mod stats;
mod transform;

pub use classes::validate_class_name;
pub use transform::to_parse;

use crate::codec::Stored;
use crate::counts::Counts;
use crate::error::{Error, Result};
use crate::indexes::{AutoIndexPolicy, Indexes};
use crate::layout::index;
use crate::layout::{is_join, key_for, Kept};
use crate::log::Log;
use crate::query::aggregate::{self, raw::Raw};
use crate::query::condition;
use crate::query::eval;
use crate::query::exec::{self, Page};
use crate::query::normal::Normal;
use crate::query::parse::parse_query_for;
use crate::query::plan::{self, Demand, Plan, SortHint};
use crate::query::sort::{project, Order};
use crate::query::{parse_query, Expr};
use crate::store::{backoff, Store, StoreConfig};
use crate::write::{Attempt, Writer};
use planning::facts;
use serde_json::{json, Map, Value};
use std::sync::Arc;
use tokio::sync::OnceCell;
use transform::{prepare_new, upsert_base};

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
}

impl Default for Options {
    fn default() -> Self {
        Options {
            eventual_reads: false,
            auto_index: AutoIndexPolicy::default(),
            shard_hot: true,
            enable_stream: false,
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
    log: Arc<Log>,
}

/// The access path a find reads through: the cheapest (and what the read teaches is learned),
/// or a given one or the plan's candidate `i` (nothing learned).
enum Path<'a> {
    Cheapest,
    Candidate(usize),
    Given(&'a plan::Access),
}

#[derive(Debug, Default, Clone)]
pub struct FindOptions {
    pub skip: usize,
    pub limit: Option<usize>,
    pub sort: Option<Value>,
    pub keys: Option<Vec<String>>,
    pub case_insensitive: bool,
    /// Parse's `readPreference` (`PRIMARY`, `SECONDARY`, …), when the query names one.
    pub read_preference: Option<String>,
}

impl FindOptions {
    pub fn from_json(v: &Value) -> FindOptions {
        FindOptions {
            skip: v.get("skip").and_then(Value::as_u64).unwrap_or(0) as usize,
            limit: v.get("limit").and_then(Value::as_u64).map(|l| l as usize),
            sort: v.get("sort").cloned().filter(|s| s.is_object()),
            keys: v.get("keys").and_then(Value::as_array).map(|a| {
                a.iter()
                    .filter_map(|k| k.as_str().map(str::to_string))
                    .filter(|k| !k.is_empty())
                    .collect()
            }),
            case_insensitive: v
                .get("caseInsensitive")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            read_preference: v
                .get("readPreference")
                .and_then(Value::as_str)
                .map(str::to_string),
        }
    }

    fn page(&self) -> Page {
        Page {
            skip: self.skip,
            limit: self.limit,
        }
    }

    /// `$text` relevance is wanted (as `score`) when the find selects or sorts by `$score`.
    fn wants_score(&self) -> bool {
        self.keys
            .as_ref()
            .is_some_and(|k| k.iter().any(|k| k == "$score"))
            || self
                .sort
                .as_ref()
                .and_then(Value::as_object)
                .is_some_and(|s| {
                    s.contains_key("$score") || s.values().any(|d| d.get("$meta").is_some())
                })
    }
}

/// The order of a find's answer: its `sort`, after the distance to a `$nearSphere` point.
/// Without a sort, objects come in the order they were created (`createdAt`, then objectId),
/// as MongoDB and PostgreSQL return them in practice; relation rows, which have no creation
/// date, in key order.
fn order_of(class: &str, expr: &Expr, opts: &FindOptions) -> Order {
    let mut order = Order::from_sort(opts.sort.as_ref());
    order.near = eval::near_point(expr);
    if order.is_empty() && !is_join(class) {
        order.keys.push((vec!["createdAt".to_string()], true));
    }
    order
}

/// A sorted, limited find by one top-level field may be read in that field's index order.
fn sort_hint(order: &Order, opts: &FindOptions) -> Option<SortHint> {
    let [(path, ascending)] = order.keys.as_slice() else {
        return None;
    };
    if order.near.is_some() || opts.limit.is_none() || path.len() != 1 {
        return None;
    }
    Some(SortHint {
        field: path[0].clone(),
        ascending: *ascending,
    })
}

fn update_map(update: &Value) -> Result<&Map<String, Value>> {
    update
        .as_object()
        .ok_or_else(|| Error::json("update must be an object"))
}

impl Adapter {
    pub async fn connect(cfg: StoreConfig) -> Result<Adapter> {
        Adapter::connect_with(cfg, Options::default()).await
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
        Ok(Adapter {
            indexes: Arc::new(Indexes::new(store.clone(), log.clone(), options.auto_index)),
            writer: Writer::new(store.clone(), counts.clone()),
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

    // ---------- unique values and indexes ----------

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

    // ---------- reads ----------

    /// Stored rows of `class` matching `expr`; stops after `cap` matches when given. Strongly
    /// consistent: what writes and Parse's own checks read.
    async fn matching(&self, class: &str, expr: &Expr, cap: Option<usize>) -> Result<Vec<Stored>> {
        self.matching_from(&self.store, class, &json!({}), expr, cap)
            .await
    }

    async fn matching_from(
        &self,
        reader: &Store,
        class: &str,
        schema: &Value,
        expr: &Expr,
        cap: Option<usize>,
    ) -> Result<Vec<Stored>> {
        let q = Normal::of(expr);
        let read = Demand {
            sort: None,
            need: cap,
        };
        let planned = self.plan(class, schema, &q, read).await?;
        let answer = exec::rows(reader, class, &planned.plan, expr, cap).await?;
        self.after_read(class, &q, None, &planned, reader, &answer, answer.matched);
        Ok(answer.rows)
    }

    /// The store a find or count reads through: eventually consistent (half the read units)
    /// when the query's read preference allows reading a secondary, or names none and the
    /// adapter's `readPreference` option does, on the app's own classes; strongly consistent
    /// otherwise (Parse's own classes — logins, sessions, roles — unless the query asks).
    fn reader(&self, class: &str, preference: Option<&str>) -> Result<Store> {
        let eventual = match preference.map(str::to_uppercase).as_deref() {
            None | Some("") => self.eventual_reads && !class.starts_with('_'),
            Some("PRIMARY" | "PRIMARY_PREFERRED") => false,
            Some("SECONDARY" | "SECONDARY_PREFERRED" | "NEAREST") => true,
            Some(_) => return Err(Error::query("Not supported read preference.")),
        };
        Ok(self.store.reading(!eventual))
    }

    pub async fn find(
        &self,
        class: &str,
        schema: &Value,
        query: &Value,
        opts: &FindOptions,
    ) -> Result<Vec<Value>> {
        self.find_by(class, schema, query, opts, Path::Cheapest)
            .await
    }

    /// A find read through candidate `pick` of its plan (`explain`'s candidates, cheapest
    /// first), or the cheapest (None): what the planner's property test checks every
    /// candidate with. A picked read teaches nothing and asks for no index.
    #[doc(hidden)]
    pub async fn find_through(
        &self,
        class: &str,
        schema: &Value,
        query: &Value,
        opts: &FindOptions,
        pick: Option<usize>,
    ) -> Result<Vec<Value>> {
        let path = pick.map_or(Path::Cheapest, Path::Candidate);
        self.find_by(class, schema, query, opts, path).await
    }

    async fn find_by(
        &self,
        class: &str,
        schema: &Value,
        query: &Value,
        opts: &FindOptions,
        path: Path<'_>,
    ) -> Result<Vec<Value>> {
        let expr = parse_query(query, opts.case_insensitive)?;
        let reader = self.reader(class, opts.read_preference.as_deref())?;
        if opts.limit == Some(0) {
            return Ok(vec![]);
        }
        let order = order_of(class, &expr, opts);
        let hint = sort_hint(&order, opts);
        let q = Normal::of(&expr);
        let read = Demand {
            sort: hint.as_ref(),
            need: opts.page().need(),
        };
        let mut planned = self.plan(class, schema, &q, read).await?;
        let chosen = matches!(path, Path::Cheapest);
        match path {
            Path::Cheapest => {}
            Path::Given(access) => planned.plan.access = access.clone(),
            Path::Candidate(i) => {
                planned.plan.access = match planned.plan.candidates.get(i) {
                    Some((access, _)) => access.clone(),
                    None if i == 0 => planned.plan.access.clone(),
                    None => return Err(Error::query(format!("the plan has no candidate {i}"))),
                }
            }
        }
        let answer = exec::find(
            &reader,
            class,
            &planned.plan,
            &expr,
            &order,
            opts.page(),
            opts.wants_score(),
        )
        .await?;
        // A sorted page read in index order reads about the page; a lookup reads the matches.
        let would_read = match hint {
            Some(_) => answer.rows.len(),
            None => answer.matched,
        };
        if chosen {
            self.after_read(
                class,
                &q,
                hint.as_ref(),
                &planned,
                &reader,
                &answer,
                would_read,
            );
        }
        Ok(answer
            .rows
            .into_iter()
            .map(|mut o| {
                if let Some(keys) = &opts.keys {
                    project(&mut o, keys);
                }
                to_parse(o, schema)
            })
            .collect())
    }

    /// Runs an aggregation pipeline. A leading `$match` selects the rows through the planner (so
    /// DynamoDB filters them); every other stage runs in Rust.
    /// With `raw` (Parse Server 9's `rawValues`/`rawFieldNames`): the pipeline's values read as
    /// Extended JSON, its rows and results in MongoDB's document form (see `aggregate::raw`).
    pub async fn aggregate(
        &self,
        class: &str,
        schema: &Value,
        pipeline: &Value,
        read_preference: Option<&str>,
        raw: Raw,
    ) -> Result<Vec<Value>> {
        let reader = self.reader(class, read_preference)?;
        let ejson;
        let pipeline = if raw.values {
            ejson = aggregate::raw::from_ejson(pipeline);
            &ejson
        } else {
            pipeline
        };
        let stages: Vec<Value> = match pipeline {
            Value::Array(a) => a.iter().filter(|s| !s.is_null()).cloned().collect(),
            _ => return Err(Error::query("the pipeline must be an array of stages")),
        };
        // A leading `$match` is done by the planner; a leading `$geoNear` keeps its stage (it
        // orders and measures) but its query selects the rows the same way.
        let geo_first = stages.first().is_some_and(|s| s.get("$geoNear").is_some());
        let (query, rest) = match aggregate::leading_match(&stages) {
            Some(m) if geo_first => (m, &stages[..]),
            Some(m) => (m, &stages[1..]),
            None => (json!({}), &stages[..]),
        };
        let query = if raw.field_names {
            aggregate::raw::pointer_names(&query)
        } else {
            query
        };
        let expr = parse_query_for(&query, false, schema)?;
        let mut todo = rest;
        let first = todo.first().and_then(|s| aggregate::stage_of(s).ok());
        let limit_next = todo
            .get(1)
            .and_then(|s| s.get("$limit"))
            .and_then(Value::as_u64);
        // A leading `$count`, `$sort` + `$limit` or `$group` takes the rows as the pages come
        // (a number, the best rows, one accumulator per group): the class is never held.
        let q = Normal::of(&expr);
        let planned = self.plan(class, schema, &q, Demand::default()).await?;
        let plan = &planned.plan;
        let (rows, read, matched) = match (first, limit_next) {
            (Some(("$count", field)), _) => {
                let field = field
                    .as_str()
                    .ok_or_else(|| Error::query("$count takes a field name"))?;
                let a = exec::count(&reader, class, plan, &expr).await?;
                todo = &todo[1..];
                let rows = if a.rows == 0 {
                    Vec::new()
                } else {
                    vec![Map::from_iter([(field.to_string(), json!(a.rows))])]
                };
                (rows, a.read, a.matched)
            }
            (Some(("$sort", spec)), Some(n)) => {
                let order = Order::from_sort(Some(spec));
                let a = exec::top(&reader, class, plan, &expr, &order, n as usize).await?;
                todo = &todo[2..];
                (aggregate::start(a.rows), a.read, a.matched)
            }
            (Some(("$group", spec)), _) => {
                let mut grouping = aggregate::Grouping::new(spec)?;
                let mut matched = 0usize;
                let read = exec::each_row(&reader, class, plan, &expr, &mut |st| {
                    matched += 1;
                    grouping.add(&aggregate::row(st.obj))?;
                    Ok(true)
                })
                .await?;
                todo = &todo[1..];
                (grouping.finish(), read, matched)
            }
            _ => {
                let a = exec::rows(&reader, class, plan, &expr, None).await?;
                let objs = a.rows.into_iter().map(|s| s.obj).collect();
                (aggregate::start(objs), a.read, a.matched)
            }
        };
        let answer = exec::Answer {
            rows: (),
            matched,
            read,
        };
        self.after_read(class, &q, None, &planned, &reader, &answer, matched);
        // Stages run in Rust up to each `$lookup`, whose other class is read here.
        let mut rows = rows;
        while let Some(at) = todo
            .iter()
            .position(|s| aggregate::stage_of(s).is_ok_and(|(n, _)| n == "$lookup"))
        {
            rows = aggregate::stages(&todo[..at], rows)?;
            let lookup = aggregate::Lookup::parse(&todo[at]["$lookup"])?;
            let foreign = self.lookup_rows(&reader, &lookup, &rows).await?;
            rows = lookup.join(rows, foreign)?;
            todo = &todo[at + 1..];
        }
        rows = aggregate::stages(todo, rows)?;
        if raw.field_names {
            // In MongoDB's document form, as the pipeline left them: `_id` stays.
            return Ok(rows
                .into_iter()
                .map(|r| {
                    let doc = aggregate::raw::document(r);
                    aggregate::raw::dates_out(Value::Object(doc), raw.values)
                })
                .collect());
        }
        let rows = aggregate::finish(rows, aggregate::pointer_group(&stages)).into_iter();
        Ok(if raw.values {
            rows.map(|r| aggregate::raw::dates_out(Value::Object(r), true))
                .collect()
        } else {
            rows.map(|r| to_parse(r, &json!({}))).collect()
        })
    }

    /// The class a `$lookup`'s `from` names: a class, or a pipeline written for Parse on
    /// MongoDB with its `collectionPrefix` (`test_TestObject`): the first class named by what
    /// follows an `_` of it, when `from` itself names none. With its schema.
    async fn lookup_class(&self, from: &str) -> Result<Option<(String, Value)>> {
        if let Some(schema) = self.get_class(from).await? {
            return Ok(Some((from.to_string(), schema)));
        }
        for (i, _) in from.match_indices('_') {
            let rest = &from[i + 1..];
            if rest.is_empty() {
                continue;
            }
            if let Some(schema) = self.get_class(rest).await? {
                return Ok(Some((rest.to_string(), schema)));
            }
        }
        Ok(None)
    }

    /// The objects of a `$lookup`'s class whose foreign field holds one of the local values,
    /// read as a query for them (keys, an index, or the class partition).
    async fn lookup_rows(
        &self,
        reader: &Store,
        lookup: &aggregate::Lookup,
        rows: &[Map<String, Value>],
    ) -> Result<Vec<Map<String, Value>>> {
        let Some((class, schema)) = self.lookup_class(&lookup.from).await? else {
            return Ok(Vec::new());
        };
        let values = lookup.local_values(rows);
        let query = json!({ lookup.foreign_field.clone(): {"$in": values} });
        let expr = parse_query_for(&query, false, &schema)?;
        Ok(self
            .matching_from(reader, &class, &schema, &expr, None)
            .await?
            .into_iter()
            .map(|s| s.obj)
            .collect())
    }

    /// What a find does in DynamoDB (Parse's `explain`): the access path, the filter expression
    /// and, for `executionStats`/`allPlansExecution`, what it returned.
    pub async fn explain(
        &self,
        class: &str,
        schema: &Value,
        query: &Value,
        opts: &FindOptions,
        mode: &Value,
    ) -> Result<Value> {
        // 0: plan only; 1: run the plan; 2: run every candidate.
        let runs = match mode {
            Value::String(m) if m == "queryPlanner" => 0,
            Value::Bool(true) => 1,
            Value::String(m) if m == "executionStats" => 1,
            Value::String(m) if m == "allPlansExecution" => 2,
            _ => return Err(Error::query("Invalid value for explain")),
        };
        let expr = parse_query_for(query, opts.case_insensitive, schema)?;
        let order = order_of(class, &expr, opts);
        let hint = sort_hint(&order, opts);
        let q = Normal::of(&expr);
        let read = Demand {
            sort: hint.as_ref(),
            need: opts.page().need(),
        };
        let plan = self.plan(class, schema, &q, read).await?.plan;
        // The paths compared, cheapest first, each with what it would bill.
        let candidates: Vec<Value> = plan
            .candidates
            .iter()
            .map(|(access, units)| {
                let p = Plan {
                    access: access.clone(),
                    ..plan.clone()
                };
                json!({
                    "access": exec::describe(class, &p, opts.page()),
                    "estimatedReadUnits": (units * 10.0).round() / 10.0,
                })
            })
            .collect();
        let mut out = json!({
            "ok": 1,
            "queryPlanner": {
                "table": self.store.table(),
                "access": exec::describe(class, &plan, opts.page()),
                "candidates": candidates,
                "filterExpression": plan.filter.as_ref().map(|f| f.expression.clone()),
                "filterNames": plan.filter.as_ref().map(|f| json!(f.names)),
                "evaluator": "every returned item is re-checked in Rust; sort, skip, limit and keys run after it",
            }
        });
        if runs > 0 {
            let before = self.store.usage().read_units;
            let rows = self.find(class, schema, query, opts).await?;
            out["executionStats"] = json!({
                "nReturned": rows.len(),
                "readUnits": self.store.usage().read_units - before,
            });
        }
        if runs > 1 {
            // Each candidate run as the plan, with what it returned and billed (other requests
            // of this process at the same time count too).
            // The paths this explain listed, whatever a read since has taught the planner.
            let mut all = Vec::new();
            for ((access, _), candidate) in plan.candidates.iter().zip(&candidates) {
                let before = self.store.usage().read_units;
                let rows = self
                    .find_by(class, schema, query, opts, Path::Given(access))
                    .await?;
                all.push(json!({
                    "access": candidate["access"],
                    "estimatedReadUnits": candidate["estimatedReadUnits"],
                    "nReturned": rows.len(),
                    "readUnits": self.store.usage().read_units - before,
                }));
            }
            out["executionStats"]["allPlansExecution"] = Value::Array(all);
        }
        Ok(out)
    }

    /// How many objects match: for an empty query (Parse Dashboard asks it of every class on
    /// every page) the class's object count, one small Query at any size.
    pub async fn count(
        &self,
        class: &str,
        schema: &Value,
        query: &Value,
        read_preference: Option<&str>,
    ) -> Result<usize> {
        let expr = parse_query_for(query, false, schema)?;
        let reader = self.reader(class, read_preference)?;
        if matches!(expr, Expr::True) {
            self.ready().await?;
            let n = self.counts.size(&reader, class).await?;
            self.learned.counted(class, Some(n));
            return Ok(n as usize);
        }
        // One equality an index answers exactly: count its entries, not the objects.
        let q = Normal::of(&expr);
        let planned = self.plan(class, schema, &q, Demand::default()).await?;
        if let Some((spec, range)) = plan::count_range(&q, &planned.kept, &facts(class, schema)) {
            return exec::count_entries(&reader, class, &spec, &range).await;
        }
        // Read through the partition with a condition DynamoDB evaluates exactly: it counts,
        // nothing is sent. Otherwise counted as the pages come: no object is kept.
        let exact = (planned.plan.access == plan::Access::Partition)
            .then(|| condition::equivalent(&expr, &planning::plain_fields(schema)))
            .flatten();
        let answer = match exact {
            Some(c) => exec::count_where(&reader, class, c).await?,
            None => exec::count(&reader, class, &planned.plan, &expr).await?,
        };
        self.after_read(class, &q, None, &planned, &reader, &answer, answer.matched);
        Ok(answer.rows)
    }

    pub async fn distinct(
        &self,
        class: &str,
        schema: &Value,
        query: &Value,
        field: &str,
    ) -> Result<Vec<Value>> {
        let expr = parse_query_for(query, false, schema)?;
        let rows = self
            .matching_from(&self.store, class, schema, &expr, None)
            .await?;
        let path: Vec<String> = field.split('.').map(str::to_string).collect();
        let mut out: Vec<Value> = Vec::new();
        for st in &rows {
            let mut vals = Vec::new();
            eval::collect_path(&st.obj, &path, &mut vals);
            for v in vals {
                let items: Vec<&Value> = match v {
                    Value::Array(a) => a.iter().collect(),
                    other => vec![other],
                };
                for it in items {
                    if !it.is_null() && !out.iter().any(|o| eval::value_eq(o, it)) {
                        out.push(it.clone());
                    }
                }
            }
        }
        Ok(out)
    }

    // ---------- writes ----------

    async fn insert_row(
        &self,
        class: &str,
        key: &str,
        obj: &Map<String, Value>,
        session: Option<u64>,
    ) -> Result<()> {
        let _writing = self.indexes.writing().await;
        let kept = self.kept(class).await?;
        let written = self.writer.insert(class, key, obj, &kept, session).await;
        if self.shard_hot {
            self.indexes.shard_hot();
        }
        written
    }

    /// Applies `upd` to the row `st` (None: it stopped matching `expr` meanwhile).
    async fn update_row(
        &self,
        class: &str,
        expr: &Expr,
        st: Stored,
        upd: &Map<String, Value>,
        session: Option<u64>,
    ) -> Result<Option<Map<String, Value>>> {
        let _writing = self.indexes.writing().await;
        let kept = self.kept(class).await?;
        let written = self
            .writer
            .update(class, expr, st, upd, &kept, session)
            .await;
        if self.shard_hot {
            self.indexes.shard_hot();
        }
        written
    }

    /// An update of the one object a query names by key, in place when it can be (one
    /// `UpdateItem`, no read first); None when it cannot (then read and rewrite).
    async fn update_in_place(
        &self,
        class: &str,
        expr: &Expr,
        upd: &Map<String, Value>,
    ) -> Result<Option<Option<Map<String, Value>>>> {
        let key = match plan::key_plan(&Normal::of(expr)).map(|p| p.access) {
            Some(plan::Access::Keys(k)) if k.len() == 1 => k[0].clone(),
            _ => return Ok(None),
        };
        let _writing = self.indexes.writing().await;
        let kept = self.kept(class).await?;
        Ok(
            match self
                .writer
                .update_in_place(class, expr, &key, upd, &kept)
                .await?
            {
                Attempt::Done(new) => Some(new),
                Attempt::Careful(Some(st)) => Some(
                    self.writer
                        .update(class, expr, st, upd, &kept, None)
                        .await?,
                ),
                Attempt::Careful(None) => None,
            },
        )
    }

    pub async fn create_object(
        &self,
        class: &str,
        object: &Value,
        session: Option<u64>,
    ) -> Result<Value> {
        self.ready().await?;
        let obj = prepare_new(class, object)?;
        let key = key_for(class, &obj);
        self.insert_row(class, &key, &obj, session).await?;
        Ok(json!({ "ops": [object] }))
    }

    /// Writes objects of `class` in bulk, as Parse would hand them to `createObject`, with
    /// everything kept beside them (see `write::bulk`): for an import into a table that holds
    /// nothing else of the class. Answers how many objects and items were written and the
    /// objects skipped (`{objectId, error}`). The class's count is not kept: `recount` it when
    /// it is all in.
    pub async fn import_objects(&self, class: &str, objects: &Value) -> Result<Value> {
        self.ready().await?;
        let list = objects
            .as_array()
            .ok_or_else(|| Error::json("objects must be an array"))?;
        let mut skipped = Vec::new();
        let mut prepared = Vec::with_capacity(list.len());
        for o in list {
            match prepare_new(class, o) {
                Ok(obj) => prepared.push(obj),
                Err(e) => {
                    skipped.push(json!({"objectId": o.get("objectId"), "error": e.to_string()}))
                }
            }
        }
        let kept = self.kept(class).await?;
        let done = self.writer.import(class, prepared, &kept).await?;
        skipped.extend(
            done.skipped
                .into_iter()
                .map(|(k, e)| json!({"objectId": k, "error": e})),
        );
        Ok(json!({"objects": done.objects, "items": done.items, "skipped": skipped}))
    }

    /// Starts following the table's stream (once per process; see `follow`) and waits until
    /// changes made from now on are heard (the stream turned on if the table had none).
    async fn follow_stream(&self) {
        crate::follow::start(
            &self.changes,
            self.store.clone(),
            self.indexes.clone(),
            self.log.clone(),
        );
        self.changes
            .following(std::time::Duration::from_secs(30))
            .await;
    }

    /// Waits (at most `timeout`) until the table's stream shows a schema change after version
    /// `seen`, any server's; answers the version then. The first call starts following the
    /// stream (`follow`). What the JS shim's `watch` polls, for Parse's `enableSchemaHooks`.
    pub async fn schema_changes(&self, seen: u64, timeout: std::time::Duration) -> Result<u64> {
        self.ready().await?;
        self.follow_stream().await;
        Ok(self.changes.wait(seen, timeout).await)
    }

    /// Publishes a LiveQuery message (see `livequery`).
    pub async fn live_query_publish(&self, channel: &str, message: &str) -> Result<()> {
        self.ready().await?;
        crate::livequery::publish(&self.store, channel, message).await
    }

    /// The LiveQuery messages any server published after number `after` (None: from now on),
    /// waiting up to `timeout` for one; the first call starts following the stream.
    pub async fn live_query_messages(
        &self,
        after: Option<u64>,
        timeout: std::time::Duration,
    ) -> Result<(u64, Vec<(String, String)>)> {
        self.ready().await?;
        self.follow_stream().await;
        Ok(self.changes.messages(after, timeout).await)
    }

    /// Claims request id `id` for `ttl` seconds (see `idempotency`): false for a duplicate.
    pub async fn claim_request(&self, id: &str, ttl: u64) -> Result<bool> {
        self.ready().await?;
        crate::idempotency::claim(&self.store, id, ttl).await
    }

    /// Counts `class` again from its objects (after an import); answers the count.
    pub async fn recount(&self, class: &str) -> Result<u64> {
        self.ready().await?;
        self.counts.recount(class).await
    }

    pub async fn find_one_and_update(
        &self,
        class: &str,
        schema: &Value,
        query: &Value,
        update: &Value,
        session: Option<u64>,
    ) -> Result<Value> {
        let expr = parse_query(query, false)?;
        let upd = update_map(update)?;
        if session.is_none() {
            if let Some(done) = self.update_in_place(class, &expr, upd).await? {
                return Ok(done.map_or(Value::Null, |new| to_parse(new, schema)));
            }
        }
        for st in self.matching(class, &expr, Some(1)).await? {
            if let Some(new) = self.update_row(class, &expr, st, upd, session).await? {
                return Ok(to_parse(new, schema));
            }
        }
        Ok(Value::Null)
    }

    pub async fn update_many(
        &self,
        class: &str,
        query: &Value,
        update: &Value,
        session: Option<u64>,
    ) -> Result<Value> {
        let expr = parse_query(query, false)?;
        let upd = update_map(update)?;
        let rows = self.matching(class, &expr, None).await?;
        let matched = rows.len();
        let mut modified = 0;
        for st in rows {
            if self
                .update_row(class, &expr, st, upd, session)
                .await?
                .is_some()
            {
                modified += 1;
            }
        }
        Ok(json!({ "matchedCount": matched, "modifiedCount": modified }))
    }

    /// Updates the first match or inserts; answers the object as it is now (Parse format).
    pub async fn upsert_one(
        &self,
        class: &str,
        schema: &Value,
        query: &Value,
        update: &Value,
        session: Option<u64>,
    ) -> Result<Value> {
        let expr = parse_query(query, false)?;
        let upd = update_map(update)?;
        for attempt in 0..200 {
            if let Some(st) = self.matching(class, &expr, Some(1)).await?.pop() {
                if let Some(new) = self.update_row(class, &expr, st, upd, session).await? {
                    return Ok(to_parse(new, schema));
                }
                continue;
            }
            // Insert: the query's equalities, then the update.
            let mut obj = upsert_base(query, upd)?;
            let key = key_for(class, &obj);
            match self.insert_row(class, &key, &obj, session).await {
                Ok(()) => {
                    if !is_join(class) {
                        obj.insert("objectId".into(), Value::String(key));
                    }
                    return Ok(to_parse(obj, schema));
                }
                // Someone inserted the same key meanwhile: update it instead.
                Err(Error::Duplicate { field: None }) => backoff(attempt.min(4)).await,
                Err(e) => return Err(e),
            }
        }
        Err(Error::Conflict("upsert kept conflicting; try again".into()))
    }

    pub async fn delete_by_query(
        &self,
        class: &str,
        query: &Value,
        session: Option<u64>,
    ) -> Result<usize> {
        let expr = parse_query(query, false)?;
        let rows = self.matching(class, &expr, None).await?;
        let mut n = 0;
        for st in rows {
            let _writing = self.indexes.writing().await;
            let kept = self.kept(class).await?;
            if self.writer.delete(class, &expr, st, &kept, session).await? {
                n += 1;
            }
        }
        if n == 0 {
            return Err(Error::ObjectNotFound);
        }
        Ok(n)
    }

    pub fn start_session(&self) -> u64 {
        self.writer.start_session()
    }

    pub async fn commit_session(&self, session: u64) -> Result<()> {
        self.writer.commit_session(session).await
    }

    pub fn abort_session(&self, session: u64) {
        self.writer.abort_session(session)
    }
}
