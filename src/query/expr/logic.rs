//! Comparison, boolean and conditional operators of aggregation expressions: `$cmp`, `$eq`,
//! `$ne`, `$gt(e)`, `$lt(e)` in MongoDB's cross-type order, `$and`/`$or`/`$not` by MongoDB's
//! truthiness, and `$cond`, `$ifNull`, `$switch`, which evaluate only the branch they take.

use super::{bad, truthy, Ctx};
use crate::error::{Error, Result};
use crate::query::eval::{sort_cmp, value_eq};
use serde_json::{json, Value};
use std::cmp::Ordering;

/// The operators this file answers.
pub(super) const LOGIC_OPS: &[&str] = &[
    "$cmp", "$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$and", "$or", "$not", "$cond", "$ifNull",
    "$switch",
];

impl Ctx<'_> {
    /// `op` (one of `LOGIC_OPS`) on `arg`.
    pub(super) fn logic_op(&self, op: &str, arg: &Value) -> Result<Option<Value>> {
        match op {
            // Comparison and boolean.
            "$cmp" | "$eq" | "$ne" | "$gt" | "$gte" | "$lt" | "$lte" => {
                let a = self.args_n(op, arg, 2..=2)?;
                let (x, y) = (a[0].as_ref(), a[1].as_ref());
                let o = if x.is_some_and(|x| y.is_some_and(|y| value_eq(x, y))) {
                    Ordering::Equal
                } else {
                    sort_cmp(x, y)
                };
                Ok(Some(match op {
                    "$cmp" => json!(o as i8),
                    "$eq" => json!(o == Ordering::Equal),
                    "$ne" => json!(o != Ordering::Equal),
                    "$gt" => json!(o == Ordering::Greater),
                    "$gte" => json!(o != Ordering::Less),
                    "$lt" => json!(o == Ordering::Less),
                    _ => json!(o != Ordering::Greater),
                }))
            }
            "$and" => {
                for x in arg
                    .as_array()
                    .map(|a| a.as_slice())
                    .unwrap_or(std::slice::from_ref(arg))
                {
                    if !truthy(self.eval(x)?.as_ref()) {
                        return Ok(Some(json!(false)));
                    }
                }
                Ok(Some(json!(true)))
            }
            "$or" => {
                for x in arg
                    .as_array()
                    .map(|a| a.as_slice())
                    .unwrap_or(std::slice::from_ref(arg))
                {
                    if truthy(self.eval(x)?.as_ref()) {
                        return Ok(Some(json!(true)));
                    }
                }
                Ok(Some(json!(false)))
            }
            "$not" => {
                let a = self.args_n(op, arg, 1..=1)?;
                Ok(Some(json!(!truthy(a[0].as_ref()))))
            }

            // Conditionals.
            "$cond" => self.cond(arg),
            "$ifNull" => {
                let items = arg
                    .as_array()
                    .filter(|a| a.len() >= 2)
                    .ok_or_else(|| bad("$ifNull needs at least two arguments"))?;
                for (i, x) in items.iter().enumerate() {
                    let v = self.eval(x)?;
                    if i == items.len() - 1 {
                        return Ok(v);
                    }
                    if let Some(v) = v.filter(|v| !v.is_null()) {
                        return Ok(Some(v));
                    }
                }
                Ok(Some(Value::Null))
            }
            "$switch" => self.switch(op, arg),
            other => Err(Error::Internal(format!(
                "{other} is not a logic_op operator"
            ))),
        }
    }

    /// `$cond`, as `[if, then, else]` or `{if, then, else}`.
    fn cond(&self, arg: &Value) -> Result<Option<Value>> {
        let (c, t, f) = match arg {
            Value::Array(a) if a.len() == 3 => (&a[0], &a[1], &a[2]),
            Value::Object(m) => (
                m.get("if")
                    .ok_or_else(|| bad("Missing 'if' parameter to $cond"))?,
                m.get("then")
                    .ok_or_else(|| bad("Missing 'then' parameter to $cond"))?,
                m.get("else")
                    .ok_or_else(|| bad("Missing 'else' parameter to $cond"))?,
            ),
            _ => return Err(bad("Expression $cond takes exactly 3 arguments")),
        };
        if truthy(self.eval(c)?.as_ref()) {
            self.eval(t)
        } else {
            self.eval(f)
        }
    }

    /// `$switch`: the first branch whose case holds, else the default.
    fn switch(&self, op: &str, arg: &Value) -> Result<Option<Value>> {
        let m = self.named(op, arg)?;
        let branches = m
            .get("branches")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("$switch requires at least one branch"))?;
        for b in branches {
            let case = b
                .get("case")
                .ok_or_else(|| bad("$switch requires each branch have a 'case' expression"))?;
            let then = b
                .get("then")
                .ok_or_else(|| bad("$switch requires each branch have a 'then' expression"))?;
            if truthy(self.eval(case)?.as_ref()) {
                return self.eval(then);
            }
        }
        match m.get("default") {
            Some(d) => self.eval(d),
            None => Err(bad("$switch could not find a matching branch for an input, and no default was specified.")),
        }
    }
}
