//! Arithmetic operators of aggregation expressions: `$add` and `$subtract` (with dates),
//! `$multiply`, `$divide`, `$mod`, the one-number functions (`$abs`, `$sqrt`, `$ln`…), `$pow`,
//! `$log`, `$round`/`$trunc` to a place, and the accumulators' expression forms (`$sum`,
//! `$avg`, `$min`, `$max`), keeping whole numbers whole where MongoDB does.

use super::types::{as_date, date_value, is_date, number};
use super::{bad, index_arg, Ctx};
use crate::error::{Error, Result};
use crate::query::eval::sort_cmp;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

/// The operators this file answers.
pub(super) const ARITHMETIC_OPS: &[&str] = &[
    "$add",
    "$subtract",
    "$multiply",
    "$divide",
    "$mod",
    "$abs",
    "$ceil",
    "$floor",
    "$sqrt",
    "$exp",
    "$ln",
    "$log10",
    "$pow",
    "$log",
    "$round",
    "$trunc",
    "$sum",
    "$avg",
    "$min",
    "$max",
];

impl Ctx<'_> {
    /// `op` (one of `ARITHMETIC_OPS`) on `arg`.
    pub(super) fn arithmetic_op(&self, op: &str, arg: &Value) -> Result<Option<Value>> {
        let null = Ok(Some(Value::Null));
        match op {
            "$add" => self.add(op, arg),
            "$subtract" => self.subtract(op, arg),
            "$multiply" => {
                let args = self.args(arg)?;
                match self.numbers(op, &args)? {
                    Some(n) => Ok(Some(number(n.iter().product()))),
                    None => null,
                }
            }
            "$divide" => {
                let a = self.args_n(op, arg, 2..=2)?;
                match self.numbers(op, &a)? {
                    Some(n) if n[1] == 0.0 => Err(bad("can't $divide by zero")),
                    Some(n) => Ok(Some(number(n[0] / n[1]))),
                    None => null,
                }
            }
            "$mod" => {
                let a = self.args_n(op, arg, 2..=2)?;
                match self.numbers(op, &a)? {
                    Some(n) if n[1] == 0.0 => Err(bad("can't $mod by zero")),
                    Some(n) => Ok(Some(number(n[0] % n[1]))),
                    None => null,
                }
            }
            "$abs" | "$ceil" | "$floor" | "$sqrt" | "$exp" | "$ln" | "$log10" => {
                self.unary_math(op, arg)
            }
            "$pow" | "$log" => {
                let a = self.args_n(op, arg, 2..=2)?;
                let Some(n) = self.numbers(op, &a)? else {
                    return null;
                };
                if op == "$pow" {
                    if n[0] == 0.0 && n[1] < 0.0 {
                        return Err(bad("$pow cannot take a base of 0 and a negative exponent"));
                    }
                    return Ok(Some(number(n[0].powf(n[1]))));
                }
                if n[0] <= 0.0 || n[1] <= 0.0 || n[1] == 1.0 {
                    return Err(bad("$log's arguments must be positive, and the base not 1"));
                }
                Ok(Some(number(n[0].ln() / n[1].ln())))
            }
            "$round" | "$trunc" => self.round(op, arg),
            "$sum" | "$avg" | "$min" | "$max" => self.accumulator(op, arg),
            other => Err(Error::Internal(format!(
                "{other} is not a arithmetic_op operator"
            ))),
        }
    }

    /// `$add`: numbers, or one date plus milliseconds.
    fn add(&self, op: &str, arg: &Value) -> Result<Option<Value>> {
        let args = self.args(arg)?;
        let mut date: Option<DateTime<Utc>> = None;
        let mut nums = Vec::new();
        for a in &args {
            match a {
                Some(v) if is_date(v) => {
                    if date.is_some() {
                        return Err(bad("only one date allowed in an $add expression"));
                    }
                    date = as_date(v);
                }
                other => nums.push(other.clone()),
            }
        }
        let Some(n) = self.numbers(op, &nums)? else {
            return Ok(Some(Value::Null));
        };
        let all_int = nums.iter().flatten().all(|v| v.is_i64());
        let sum: f64 = n.iter().sum();
        Ok(Some(match date {
            Some(d) => date_value(d + chrono::Duration::milliseconds(sum.round() as i64)),
            None if all_int => {
                json!(nums.iter().flatten().filter_map(Value::as_i64).sum::<i64>())
            }
            None => number(sum),
        }))
    }

    /// `$subtract`: numbers, two dates (milliseconds apart), or a date less milliseconds.
    fn subtract(&self, op: &str, arg: &Value) -> Result<Option<Value>> {
        let null = Ok(Some(Value::Null));
        let a = self.args_n(op, arg, 2..=2)?;
        match (&a[0], &a[1]) {
            (Some(x), Some(y)) if is_date(x) && is_date(y) => Ok(Some(json!((as_date(x)
                .unwrap_or_default()
                - as_date(y).unwrap_or_default())
            .num_milliseconds()))),
            (Some(x), y) if is_date(x) => match self.numbers(op, std::slice::from_ref(y))? {
                Some(n) => Ok(Some(date_value(
                    as_date(x).unwrap_or_default()
                        - chrono::Duration::milliseconds(n[0].round() as i64),
                ))),
                None => null,
            },
            _ => match self.numbers(op, &a)? {
                Some(n) => Ok(Some(
                    match (
                        a[0].as_ref().and_then(Value::as_i64),
                        a[1].as_ref().and_then(Value::as_i64),
                    ) {
                        (Some(x), Some(y)) => json!(x - y),
                        _ => number(n[0] - n[1]),
                    },
                )),
                None => null,
            },
        }
    }

    /// The one-number functions: `$abs`, `$ceil`, `$floor`, `$sqrt`, `$exp`, `$ln`, `$log10`.
    fn unary_math(&self, op: &str, arg: &Value) -> Result<Option<Value>> {
        let a = self.args_n(op, arg, 1..=1)?;
        let Some(n) = self.numbers(op, &a)? else {
            return Ok(Some(Value::Null));
        };
        let x = n[0];
        let out = match op {
            "$abs" => x.abs(),
            "$ceil" => x.ceil(),
            "$floor" => x.floor(),
            "$sqrt" if x < 0.0 => {
                return Err(bad("$sqrt's argument must be greater than or equal to 0"))
            }
            "$sqrt" => x.sqrt(),
            "$exp" => x.exp(),
            "$ln" | "$log10" if x <= 0.0 => {
                return Err(bad(format!(
                    "{op}'s argument must be a positive number, but is {x}"
                )))
            }
            "$ln" => x.ln(),
            _ => x.log10(),
        };
        Ok(Some(number(out)))
    }

    /// `$round` (half to even) and `$trunc`, to an optional decimal place.
    fn round(&self, op: &str, arg: &Value) -> Result<Option<Value>> {
        let a = self.args_n(op, arg, 1..=2)?;
        let Some(n) = self.numbers(op, &a[..1])? else {
            return Ok(Some(Value::Null));
        };
        let place = index_arg(a.get(1).cloned().flatten(), op)?.unwrap_or(0);
        if !(-20..=100).contains(&place) {
            return Err(bad(format!("{op}'s place must be between -20 and 100")));
        }
        let scale = 10f64.powi(place as i32);
        let x = n[0] * scale;
        let r = if op == "$trunc" {
            x.trunc()
        } else {
            // Half to even, as MongoDB rounds.
            let f = x.floor();
            let diff = x - f;
            if (diff - 0.5).abs() < 1e-9 {
                if f % 2.0 == 0.0 {
                    f
                } else {
                    f + 1.0
                }
            } else {
                x.round()
            }
        };
        Ok(Some(number(r / scale)))
    }

    /// The accumulators' expression forms: over an array argument, or over the operands.
    fn accumulator(&self, op: &str, arg: &Value) -> Result<Option<Value>> {
        let items: Vec<Value> = match self.args(arg)?.as_slice() {
            [Some(Value::Array(a))] => a.clone(),
            many => many.iter().flatten().cloned().collect(),
        };
        let nums: Vec<f64> = items.iter().filter_map(Value::as_f64).collect();
        Ok(Some(match op {
            "$sum" if items.iter().filter(|v| v.is_number()).all(Value::is_i64) => {
                json!(items.iter().filter_map(Value::as_i64).sum::<i64>())
            }
            "$sum" => number(nums.iter().sum()),
            "$avg" if nums.is_empty() => Value::Null,
            "$avg" => json!(nums.iter().sum::<f64>() / nums.len() as f64),
            _ => {
                let it = items.iter().filter(|v| !v.is_null());
                let best = if op == "$min" {
                    it.min_by(|a, b| sort_cmp(Some(a), Some(b)))
                } else {
                    it.max_by(|a, b| sort_cmp(Some(a), Some(b)))
                };
                best.cloned().unwrap_or(Value::Null)
            }
        }))
    }
}
