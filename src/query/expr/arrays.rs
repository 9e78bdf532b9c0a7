//! Array, set and object operators of aggregation expressions: `$size`, `$arrayElemAt`,
//! `$first/$last`, `$in`, `$indexOfArray`, `$slice`, `$concatArrays`, `$reverseArray`,
//! `$isArray`, `$range`, `$filter`, `$map`, `$reduce`, the set operators, `$arrayToObject`,
//! `$objectToArray`, `$mergeObjects`.

use super::types::type_name;
use super::{bad, index_arg, truthy, Ctx};
use crate::error::{Error, Result};
use crate::query::eval::value_eq;
use serde_json::{json, Map, Value};

/// The operators this file answers.
pub(super) const ARRAY_OPS: &[&str] = &[
    "$size",
    "$arrayElemAt",
    "$first",
    "$last",
    "$in",
    "$indexOfArray",
    "$slice",
    "$concatArrays",
    "$reverseArray",
    "$isArray",
    "$range",
    "$filter",
    "$map",
    "$reduce",
    "$setUnion",
    "$setIntersection",
    "$setDifference",
    "$setIsSubset",
    "$setEquals",
    "$arrayToObject",
    "$objectToArray",
    "$mergeObjects",
];

impl Ctx<'_> {
    /// `op` (one of `ARRAY_OPS`) on `arg`.
    pub(super) fn array_op(&self, op: &str, arg: &Value) -> Result<Option<Value>> {
        match op {
            "$slice" => self.slice(op, arg),
            "$filter" | "$map" => self.filter_or_map(op, arg),
            "$reduce" => self.reduce(op, arg),
            "$setUnion" | "$setIntersection" | "$setDifference" | "$setIsSubset" | "$setEquals" => {
                self.set_op(op, arg)
            }
            "$arrayToObject" => self.array_to_object(op, arg),
            "$objectToArray" => self.object_to_array(op, arg),
            "$mergeObjects" => self.merge_objects(arg),
            _ => self.array_access(op, arg),
        }
    }

    /// The array operators that read or build one array: `$size`, `$arrayElemAt`,
    /// `$first`/`$last`, `$in`, `$indexOfArray`, `$concatArrays`, `$reverseArray`, `$isArray`,
    /// `$range`.
    fn array_access(&self, op: &str, arg: &Value) -> Result<Option<Value>> {
        let null = Ok(Some(Value::Null));
        match op {
            "$size" => {
                let a = self.args_n(op, arg, 1..=1)?;
                match &a[0] {
                    Some(Value::Array(x)) => Ok(Some(json!(x.len()))),
                    other => Err(bad(format!(
                        "The argument to $size must be an array. Type of argument: {}",
                        type_name(other.as_ref())
                    ))),
                }
            }
            "$arrayElemAt" => {
                let a = self.args_n(op, arg, 2..=2)?;
                let Some(arr) = self.array_arg(op, a[0].clone())? else {
                    return null;
                };
                let Some(i) = index_arg(a[1].clone(), "$arrayElemAt's second argument")? else {
                    return null;
                };
                let i = if i < 0 { arr.len() as i64 + i } else { i };
                Ok(usize::try_from(i).ok().and_then(|i| arr.get(i).cloned()))
            }
            "$first" | "$last" => {
                let a = self.args_n(op, arg, 1..=1)?;
                let Some(arr) = self.array_arg(op, a[0].clone())? else {
                    return null;
                };
                Ok(if op == "$first" {
                    arr.first().cloned()
                } else {
                    arr.last().cloned()
                })
            }
            "$in" => {
                let a = self.args_n(op, arg, 2..=2)?;
                match &a[1] {
                    Some(Value::Array(arr)) => {
                        let x = a[0].clone().unwrap_or(Value::Null);
                        Ok(Some(json!(arr.iter().any(|y| value_eq(&x, y)))))
                    }
                    other => Err(bad(format!(
                        "$in requires an array as a second argument, found: {}",
                        type_name(other.as_ref())
                    ))),
                }
            }
            "$indexOfArray" => {
                let a = self.args_n(op, arg, 2..=4)?;
                let Some(arr) = self.array_arg(op, a[0].clone())? else {
                    return null;
                };
                let x = a[1].clone().unwrap_or(Value::Null);
                let start = index_arg(a.get(2).cloned().flatten(), op)?
                    .unwrap_or(0)
                    .max(0) as usize;
                let end = index_arg(a.get(3).cloned().flatten(), op)?
                    .map(|e| (e.max(0) as usize).min(arr.len()))
                    .unwrap_or(arr.len());
                let found = (start..end).find(|&i| value_eq(&arr[i], &x));
                Ok(Some(json!(found.map(|i| i as i64).unwrap_or(-1))))
            }
            "$concatArrays" => {
                let mut out = Vec::new();
                for v in self.args(arg)? {
                    match self.array_arg(op, v)? {
                        Some(a) => out.extend(a),
                        None => return null,
                    }
                }
                Ok(Some(Value::Array(out)))
            }
            "$reverseArray" => {
                let a = self.args_n(op, arg, 1..=1)?;
                Ok(Some(match self.array_arg(op, a[0].clone())? {
                    Some(mut x) => {
                        x.reverse();
                        Value::Array(x)
                    }
                    None => Value::Null,
                }))
            }
            "$isArray" => {
                let a = self.args_n(op, arg, 1..=1)?;
                Ok(Some(json!(matches!(a[0], Some(Value::Array(_))))))
            }
            "$range" => {
                let a = self.args_n(op, arg, 2..=3)?;
                let start = index_arg(a[0].clone(), "$range's start")?.unwrap_or(0);
                let end = index_arg(a[1].clone(), "$range's end")?.unwrap_or(0);
                let step = index_arg(a.get(2).cloned().flatten(), "$range's step")?.unwrap_or(1);
                if step == 0 {
                    return Err(bad("$range requires a non-zero step value"));
                }
                let mut out = Vec::new();
                let mut i = start;
                while (step > 0 && i < end) || (step < 0 && i > end) {
                    out.push(json!(i));
                    i += step;
                    if out.len() > 10_000_000 {
                        return Err(bad("$range would produce too many values"));
                    }
                }
                Ok(Some(Value::Array(out)))
            }
            other => Err(Error::Internal(format!(
                "{other} is not a array_op operator"
            ))),
        }
    }

    /// `$slice`: `[array, n]` (from the start, or from the end when negative) or
    /// `[array, position, n]`.
    fn slice(&self, op: &str, arg: &Value) -> Result<Option<Value>> {
        let null = Ok(Some(Value::Null));
        let a = self.args_n(op, arg, 2..=3)?;
        let Some(arr) = self.array_arg(op, a[0].clone())? else {
            return null;
        };
        let len = arr.len() as i64;
        let (from, n) = if a.len() == 2 {
            let Some(n) = index_arg(a[1].clone(), "$slice's second argument")? else {
                return null;
            };
            if n >= 0 {
                (0, n)
            } else {
                ((len + n).max(0), -n)
            }
        } else {
            let Some(p) = index_arg(a[1].clone(), "$slice's position")? else {
                return null;
            };
            let Some(n) = index_arg(a[2].clone(), "$slice's count")? else {
                return null;
            };
            if n <= 0 {
                return Err(bad("$slice's third argument must be positive"));
            }
            (if p < 0 { (len + p).max(0) } else { p.min(len) }, n)
        };
        Ok(Some(Value::Array(
            arr.into_iter()
                .skip(from as usize)
                .take(n as usize)
                .collect(),
        )))
    }

    /// `$filter` (the items whose `cond` holds, up to `limit`) and `$map` (`in` of each item),
    /// the item named by `as`.
    fn filter_or_map(&self, op: &str, arg: &Value) -> Result<Option<Value>> {
        let null = Ok(Some(Value::Null));
        let m = self.named(op, arg)?;
        let input = self.eval(
            m.get("input")
                .ok_or_else(|| bad(format!("Missing 'input' parameter to {op}")))?,
        )?;
        let Some(items) = self.array_arg(op, input)? else {
            return null;
        };
        let name = m
            .get("as")
            .and_then(Value::as_str)
            .unwrap_or("this")
            .to_string();
        let body = m
            .get(if op == "$filter" { "cond" } else { "in" })
            .ok_or_else(|| {
                bad(format!(
                    "Missing '{}' parameter to {op}",
                    if op == "$filter" { "cond" } else { "in" }
                ))
            })?;
        let limit = match m.get("limit") {
            Some(l) => index_arg(self.eval(l)?, "$filter's limit")?,
            None => None,
        };
        let mut out = Vec::new();
        for it in items {
            let v = self.with(vec![(name.clone(), it.clone())]).eval(body)?;
            if op == "$map" {
                out.push(v.unwrap_or(Value::Null));
            } else if truthy(v.as_ref()) {
                out.push(it);
                if limit.is_some_and(|l| out.len() as i64 >= l) {
                    break;
                }
            }
        }
        Ok(Some(Value::Array(out)))
    }

    /// `$reduce`: `in` over the items with `$$value` (from `initialValue`) and `$$this`.
    fn reduce(&self, op: &str, arg: &Value) -> Result<Option<Value>> {
        let null = Ok(Some(Value::Null));
        let m = self.named(op, arg)?;
        let input = self.eval(
            m.get("input")
                .ok_or_else(|| bad("$reduce requires 'input'"))?,
        )?;
        let Some(items) = self.array_arg(op, input)? else {
            return null;
        };
        let mut acc = self
            .eval(
                m.get("initialValue")
                    .ok_or_else(|| bad("$reduce requires 'initialValue'"))?,
            )?
            .unwrap_or(Value::Null);
        let body = m.get("in").ok_or_else(|| bad("$reduce requires 'in'"))?;
        for it in items {
            acc = self
                .with(vec![("value".into(), acc), ("this".into(), it)])
                .eval(body)?
                .unwrap_or(Value::Null);
        }
        Ok(Some(acc))
    }

    /// The set operators, over arrays taken as sets (duplicates ignored).
    fn set_op(&self, op: &str, arg: &Value) -> Result<Option<Value>> {
        let null = Ok(Some(Value::Null));
        let mut sets = Vec::new();
        for v in self.args(arg)? {
            match self.array_arg(op, v)? {
                Some(a) => sets.push(a),
                None => return null,
            }
        }
        let dedup = |items: Vec<Value>| {
            let mut out: Vec<Value> = Vec::new();
            for v in items {
                if !out.iter().any(|o| value_eq(o, &v)) {
                    out.push(v);
                }
            }
            out
        };
        let has = |set: &[Value], v: &Value| set.iter().any(|o| value_eq(o, v));
        let first = sets.first().cloned().unwrap_or_default();
        Ok(Some(match op {
            "$setUnion" => Value::Array(dedup(sets.concat())),
            "$setIntersection" => Value::Array(dedup(
                first
                    .into_iter()
                    .filter(|v| sets.iter().all(|s| has(s, v)))
                    .collect(),
            )),
            "$setDifference" if sets.len() == 2 => Value::Array(dedup(
                first.into_iter().filter(|v| !has(&sets[1], v)).collect(),
            )),
            "$setIsSubset" if sets.len() == 2 => {
                json!(first.iter().all(|v| has(&sets[1], v)))
            }
            "$setEquals" => json!(sets.windows(2).all(|w| {
                w[0].iter().all(|v| has(&w[1], v)) && w[1].iter().all(|v| has(&w[0], v))
            })),
            _ => return Err(bad(format!("{op} takes two arrays"))),
        }))
    }

    /// `$arrayToObject`: from `[key, value]` pairs or `{k, v}` documents.
    fn array_to_object(&self, op: &str, arg: &Value) -> Result<Option<Value>> {
        let null = Ok(Some(Value::Null));
        let a = self.args_n(op, arg, 1..=1)?;
        let Some(items) = self.array_arg(op, a[0].clone())? else {
            return null;
        };
        let mut out = Map::new();
        for it in items {
            let (k, v) = match &it {
                Value::Array(kv) if kv.len() == 2 => (kv[0].clone(), kv[1].clone()),
                Value::Object(m) if m.len() == 2 && m.contains_key("k") && m.contains_key("v") => {
                    (m["k"].clone(), m["v"].clone())
                }
                _ => {
                    return Err(bad(
                        "$arrayToObject requires [key, value] pairs or {k, v} documents",
                    ))
                }
            };
            let k = k
                .as_str()
                .ok_or_else(|| bad("$arrayToObject requires string keys"))?;
            out.insert(k.to_string(), v);
        }
        Ok(Some(Value::Object(out)))
    }

    /// `$objectToArray`: an object's fields as `{k, v}` documents.
    fn object_to_array(&self, op: &str, arg: &Value) -> Result<Option<Value>> {
        let null = Ok(Some(Value::Null));
        let a = self.args_n(op, arg, 1..=1)?;
        match &a[0] {
            None | Some(Value::Null) => null,
            Some(Value::Object(m)) => Ok(Some(Value::Array(
                m.iter().map(|(k, v)| json!({"k": k, "v": v})).collect(),
            ))),
            Some(other) => Err(bad(format!(
                "$objectToArray requires a document input, found: {}",
                type_name(Some(other))
            ))),
        }
    }

    /// `$mergeObjects`: the fields of the objects, later ones winning; null and missing skipped.
    fn merge_objects(&self, arg: &Value) -> Result<Option<Value>> {
        let mut out = Map::new();
        for v in self.args(arg)? {
            match v {
                None | Some(Value::Null) => {}
                Some(Value::Object(m)) => out.extend(m),
                Some(other) => {
                    return Err(bad(format!(
                        "$mergeObjects requires object inputs, but input is of type {}",
                        type_name(Some(&other))
                    )))
                }
            }
        }
        Ok(Some(Value::Object(out)))
    }
}
