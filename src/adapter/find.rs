//! Finds and counts, and what only reads use: a find's options (`FindOptions`), its order
//! (`order_of`: the sort, else creation order) and the index order it may read in
//! (`sort_hint`), the store a read goes through (`reader`: strongly or eventually consistent),
//! the access path it takes (`Path`: the cheapest, or one `explain` or the planner's property
//! test picks), and `matching`, the strongly consistent read of stored rows that writes,
//! `distinct` and `$lookup` build on. A find flows down as query JSON → `Expr` → `Plan` →
//! `query::exec` (items → decode → evaluate → sort → page) → Parse JSON.

use super::planning;
use super::transform::to_parse;
use super::Adapter;
use crate::codec::Stored;
use crate::error::{Error, Result};
use crate::layout::is_join;
use crate::query::condition;
use crate::query::eval;
use crate::query::exec::{self, Page};
use crate::query::normal::Normal;
use crate::query::parse::parse_query_for;
use crate::query::plan::{self, Demand, SortHint};
use crate::query::sort::{project, Order};
use crate::query::{parse_query, Expr};
use crate::store::{self, Store};
use serde_json::{json, Value};

/// The access path a find reads through: the cheapest (and what the read teaches is learned),
/// or a given one or the plan's candidate `i` (nothing learned).
pub(super) enum Path<'a> {
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

    pub(super) fn page(&self) -> Page {
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
pub(super) fn order_of(class: &str, expr: &Expr, opts: &FindOptions) -> Order {
    let mut order = Order::from_sort(opts.sort.as_ref());
    order.near = eval::near_point(expr);
    if order.is_empty() && !is_join(class) {
        order.keys.push((vec!["createdAt".to_string()], true));
    }
    order
}

/// A sorted, limited find by one top-level field may be read in that field's index order.
pub(super) fn sort_hint(order: &Order, opts: &FindOptions) -> Option<SortHint> {
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

impl Adapter {
    /// Stored rows of `class` matching `expr`; stops after `cap` matches when given. Strongly
    /// consistent: what writes and Parse's own checks read.
    pub(super) async fn matching(
        &self,
        class: &str,
        expr: &Expr,
        cap: Option<usize>,
    ) -> Result<Vec<Stored>> {
        self.matching_from(&self.store, class, &json!({}), expr, cap)
            .await
    }

    pub(super) async fn matching_from(
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
    pub(super) fn reader(&self, class: &str, preference: Option<&str>) -> Result<Store> {
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

    pub(super) async fn find_by(
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
        let budget = match chosen {
            true => self.budget_for("find", class, &q, hint.as_ref(), &mut planned)?,
            false => None,
        };
        let before = store::read_so_far();
        // Boxed: run under a budget or not, one future (not one on the stack per way).
        let run = Box::pin(exec::find(
            &reader,
            class,
            &planned.plan,
            &expr,
            &order,
            opts.page(),
            opts.wants_score(),
        ));
        let answer = match &budget {
            Some(b) => store::budgeted(b.clone(), run).await?,
            None => run.await?,
        };
        self.budget_spent("find", class, budget.as_ref());
        store::note_query("find", class, before, || {
            exec::describe(class, &planned.plan, opts.page())
        });
        // A sorted page read in index order reads about the page, and so does a read outward
        // from a `$nearSphere` point; a lookup reads the matches.
        let would_read = match hint {
            _ if order.near.is_some() => answer.rows.len(),
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
            let before = store::read_so_far();
            let n = self.counts.size(&reader, class).await?;
            self.learned.counted(class, Some(n));
            store::note_query(
                "count",
                class,
                before,
                || json!({"operation": "Query", "partition": crate::layout::count_pk(class), "via": "the class's counters"}),
            );
            return Ok(n as usize);
        }
        // Index entries are not counted alone: an entry left by a write a crash cut off
        // would count (see `write`); the objects they name are read and checked.
        let q = Normal::of(&expr);
        let mut planned = self.plan(class, schema, &q, Demand::default()).await?;
        let budget = self.budget_for("count", class, &q, None, &mut planned)?;
        let before = store::read_so_far();
        // Read through the partition with a condition DynamoDB evaluates exactly: it counts,
        // nothing is sent. Otherwise counted as the pages come: no object is kept.
        let exact = (planned.plan.access == plan::Access::Partition)
            .then(|| condition::equivalent(&expr, &planning::plain_fields(schema)))
            .flatten();
        let run = Box::pin(async {
            match exact {
                Some(c) => exec::count_where(&reader, class, &expr, c).await,
                None => exec::count(&reader, class, &planned.plan, &expr).await,
            }
        });
        let answer = match &budget {
            Some(b) => store::budgeted(b.clone(), run).await?,
            None => run.await?,
        };
        self.budget_spent("count", class, budget.as_ref());
        store::note_query("count", class, before, || {
            exec::describe(class, &planned.plan, Default::default())
        });
        self.after_read(class, &q, None, &planned, &reader, &answer, answer.matched);
        Ok(answer.rows)
    }
}
