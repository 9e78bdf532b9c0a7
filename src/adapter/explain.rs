//! Parse's `explain` of a find: the plan's access path, the paths it compared with what
//! each would bill, the filter expression DynamoDB evaluates, and, for `executionStats` and
//! `allPlansExecution`, what the plan (or each candidate, run as the plan) returned and billed.

use super::find::{order_of, sort_hint, FindOptions, Path};
use super::Adapter;
use crate::error::{Error, Result};
use crate::query::exec;
use crate::query::normal::Normal;
use crate::query::parse::parse_query_for;
use crate::query::plan::{Demand, Plan};
use serde_json::{json, Value};

impl Adapter {
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
        let planned = self.plan(class, schema, &q, read).await?;
        let notes = crate::query::plan::unserved_searches(&q, &planned.kept);
        let plan = planned.plan;
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
        if !notes.is_empty() {
            out["queryPlanner"]["notes"] = json!(notes);
        }
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
}
