//! Aggregation pipelines and `distinct`: a leading `$match` (or `$geoNear`'s query) is read
//! through the planner, a leading `$count`, `$sort` + `$limit` or `$group` takes the rows as
//! the pages come, and every other stage runs in Rust (`query::aggregate`); a `$lookup`'s other
//! class is found by name (or with a MongoDB `collectionPrefix`) and read as a query for the
//! local values.

use super::transform::to_parse;
use super::Adapter;
use crate::error::{Error, Result};
use crate::query::aggregate::{self, raw::Raw};
use crate::query::eval;
use crate::query::exec;
use crate::query::normal::Normal;
use crate::query::parse::parse_query_for;
use crate::query::plan::Demand;
use crate::query::sort::Order;
use crate::store::Store;
use serde_json::{json, Map, Value};

impl Adapter {
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
        let mut planned = self.plan(class, schema, &q, Demand::default()).await?;
        let budget = self.budget_for("aggregate", class, &q, None, &mut planned)?;
        let plan = &planned.plan;
        let mut used = 0;
        let before = crate::store::read_so_far();
        let run = Box::pin(async {
            Ok::<_, Error>(match (first, limit_next) {
                (Some(("$count", field)), _) => {
                    let field = field
                        .as_str()
                        .ok_or_else(|| Error::query("$count takes a field name"))?;
                    let a = exec::count(&reader, class, plan, &expr).await?;
                    used = 1;
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
                    used = 2;
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
                    used = 1;
                    (grouping.finish(), read, matched)
                }
                _ => {
                    let a = exec::rows(&reader, class, plan, &expr, None).await?;
                    let objs = a.rows.into_iter().map(|s| s.obj).collect();
                    (aggregate::start(objs), a.read, a.matched)
                }
            })
        });
        let (rows, read, matched) = match &budget {
            Some(b) => crate::store::budgeted(b.clone(), run).await?,
            None => run.await?,
        };
        todo = &todo[used..];
        self.budget_spent("aggregate", class, budget.as_ref());
        crate::store::note_query("aggregate", class, before, || {
            exec::describe(class, plan, Default::default())
        });
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
}
