//! Stages that gather rows into groups: `$group` with its accumulators, `$sortByCount`, and
//! `$bucket` (rows by ranges of a value, with a default bucket).

use super::Row;
use crate::error::{Error, Result};
use crate::query::eval::{sort_cmp, value_eq};
use crate::query::expr;
use serde_json::{json, Map, Value};
use std::cmp::Ordering;

/// A key equal for equal values (object keys sorted, numbers by value).
fn group_key(v: &Value) -> String {
    fn canon(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                Value::Object(
                    keys.into_iter()
                        .map(|k| (k.clone(), canon(&m[k])))
                        .collect(),
                )
            }
            Value::Array(a) => Value::Array(a.iter().map(canon).collect()),
            Value::Number(n) => n.as_f64().map(|f| json!(f)).unwrap_or(Value::Null),
            other => other.clone(),
        }
    }
    canon(v).to_string()
}

/// One accumulator's running state: constant memory per group, except `$push` and
/// `$addToSet` (their answer is the values) and `$mergeObjects` (the merged object).
#[derive(Debug, Clone)]
enum Acc {
    Sum {
        all_int: bool,
        int: i64,
        float: f64,
    },
    Avg {
        sum: f64,
        n: u64,
    },
    Best {
        min: bool,
        best: Option<Value>,
    },
    First(Option<Value>),
    Last(Value),
    Push(Vec<Value>),
    Set(Vec<Value>),
    Count(u64),
    /// Welford's running mean and sum of squared deviations.
    StdDev {
        sample: bool,
        n: u64,
        mean: f64,
        m2: f64,
    },
    Merge(Map<String, Value>),
}

impl Acc {
    fn new(op: &str) -> Result<Acc> {
        Ok(match op {
            "$sum" => Acc::Sum {
                all_int: true,
                int: 0,
                float: 0.0,
            },
            "$avg" => Acc::Avg { sum: 0.0, n: 0 },
            "$min" | "$max" => Acc::Best {
                min: op == "$min",
                best: None,
            },
            "$first" => Acc::First(None),
            "$last" => Acc::Last(Value::Null),
            "$push" => Acc::Push(Vec::new()),
            "$addToSet" => Acc::Set(Vec::new()),
            "$count" => Acc::Count(0),
            "$stdDevPop" | "$stdDevSamp" => Acc::StdDev {
                sample: op == "$stdDevSamp",
                n: 0,
                mean: 0.0,
                m2: 0.0,
            },
            "$mergeObjects" => Acc::Merge(Map::new()),
            other => {
                return Err(Error::Unsupported(format!(
                    "the accumulator {other} is not supported yet"
                )))
            }
        })
    }

    /// Takes one row's value (None: the expression is missing for it).
    fn add(&mut self, v: Option<Value>) {
        let numbers = |v: &Option<Value>| -> Vec<Value> {
            match v {
                // `$sum`/`$avg` of an array field add its numbers, as this adapter always did.
                Some(Value::Array(a)) => a.iter().filter(|x| x.is_number()).cloned().collect(),
                Some(n @ Value::Number(_)) => vec![n.clone()],
                _ => vec![],
            }
        };
        match self {
            Acc::Sum {
                all_int,
                int,
                float,
            } => {
                for n in numbers(&v) {
                    match n.as_i64() {
                        Some(i) if *all_int => *int = int.saturating_add(i),
                        _ => *all_int = false,
                    }
                    *float += n.as_f64().unwrap_or(0.0);
                }
            }
            Acc::Avg { sum, n } => {
                for x in numbers(&v) {
                    *sum += x.as_f64().unwrap_or(0.0);
                    *n += 1;
                }
            }
            Acc::Best { min, best } => {
                if let Some(x) = v.filter(|x| !x.is_null()) {
                    let better = match best {
                        None => true,
                        Some(b) => {
                            let o = sort_cmp(Some(&x), Some(b));
                            if *min {
                                o == Ordering::Less
                            } else {
                                o == Ordering::Greater
                            }
                        }
                    };
                    if better {
                        *best = Some(x);
                    }
                }
            }
            Acc::First(first) => {
                if first.is_none() {
                    *first = Some(v.unwrap_or(Value::Null));
                }
            }
            Acc::Last(last) => *last = v.unwrap_or(Value::Null),
            Acc::Push(all) => all.extend(v),
            Acc::Set(set) => {
                if let Some(x) = v {
                    if !set.iter().any(|s| value_eq(s, &x)) {
                        set.push(x);
                    }
                }
            }
            Acc::Count(n) => *n += 1,
            Acc::StdDev { n, mean, m2, .. } => {
                if let Some(x) = v.as_ref().and_then(Value::as_f64) {
                    *n += 1;
                    let d = x - *mean;
                    *mean += d / *n as f64;
                    *m2 += d * (x - *mean);
                }
            }
            Acc::Merge(m) => {
                if let Some(Value::Object(o)) = v {
                    m.extend(o);
                }
            }
        }
    }

    fn value(self) -> Value {
        match self {
            Acc::Sum {
                all_int: true, int, ..
            } => json!(int),
            Acc::Sum { float, .. } => json!(float),
            Acc::Avg { n: 0, .. } => Value::Null,
            Acc::Avg { sum, n } => json!(sum / n as f64),
            Acc::Best { best, .. } => best.unwrap_or(Value::Null),
            Acc::First(v) => v.unwrap_or(Value::Null),
            Acc::Last(v) => v,
            Acc::Push(v) | Acc::Set(v) => Value::Array(v),
            Acc::Count(n) => json!(n),
            Acc::StdDev { sample, n, m2, .. } => {
                let denom = if sample { n as f64 - 1.0 } else { n as f64 };
                if denom <= 0.0 {
                    Value::Null
                } else {
                    json!((m2 / denom).sqrt())
                }
            }
            Acc::Merge(m) => Value::Object(m),
        }
    }
}

/// A `$group` stage fed one row at a time: one set of accumulators per group, groups in the
/// order first seen.
pub struct Grouping {
    id: Value,
    accs: Vec<(String, Value, Acc)>,
    order: Vec<String>,
    groups: std::collections::HashMap<String, (Value, Vec<Acc>)>,
}

impl Grouping {
    pub fn new(spec: &Value) -> Result<Grouping> {
        let spec = spec
            .as_object()
            .ok_or_else(|| Error::query("$group takes an object"))?;
        let id = spec
            .get("_id")
            .ok_or_else(|| Error::query("Invalid parameter for query: group. Missing key _id"))?
            .clone();
        let mut accs = Vec::new();
        for (field, acc) in spec.iter().filter(|(k, _)| k.as_str() != "_id") {
            let m = acc.as_object().filter(|m| m.len() == 1).ok_or_else(|| {
                Error::query(format!("the field '{field}' must be an accumulator object"))
            })?;
            let (op, arg) = m
                .iter()
                .next()
                .ok_or_else(|| Error::query("empty accumulator"))?;
            accs.push((field.clone(), arg.clone(), Acc::new(op)?));
        }
        Ok(Grouping {
            id,
            accs,
            order: Vec::new(),
            groups: Default::default(),
        })
    }

    pub fn add(&mut self, row: &Row) -> Result<()> {
        let id = expr::eval(&self.id, row)?.unwrap_or(Value::Null);
        let key = group_key(&id);
        if !self.groups.contains_key(&key) {
            self.order.push(key.clone());
            let fresh = self.accs.iter().map(|(_, _, a)| a.clone()).collect();
            self.groups.insert(key.clone(), (id, fresh));
        }
        let mut values = Vec::with_capacity(self.accs.len());
        for (_, arg, acc) in &self.accs {
            // `$count: {}` takes no expression.
            values.push(if matches!(acc, Acc::Count(_)) {
                None
            } else {
                expr::eval(arg, row)?
            });
        }
        if let Some((_, accs)) = self.groups.get_mut(&key) {
            for (acc, v) in accs.iter_mut().zip(values) {
                acc.add(v);
            }
        }
        Ok(())
    }

    pub fn finish(mut self) -> Vec<Row> {
        let mut out = Vec::with_capacity(self.order.len());
        for key in std::mem::take(&mut self.order) {
            let Some((id, accs)) = self.groups.remove(&key) else {
                continue;
            };
            let mut r = Row::new();
            r.insert("_id".into(), id);
            for ((field, _, _), acc) in self.accs.iter().zip(accs) {
                r.insert(field.clone(), acc.value());
            }
            out.push(r);
        }
        out
    }
}

pub fn group(spec: &Value, rows: Vec<Row>) -> Result<Vec<Row>> {
    let mut g = Grouping::new(spec)?;
    for row in &rows {
        g.add(row)?;
    }
    Ok(g.finish())
}

/// `$sortByCount: <expression>`: `{_id: value, count}` per distinct value, most frequent first.
pub fn sort_by_count(by: &Value, rows: Vec<Row>) -> Result<Vec<Row>> {
    if !matches!(by, Value::String(s) if s.starts_with('$')) && !by.is_object() {
        return Err(Error::query(
            "the $sortByCount stage takes a field path or an expression object",
        ));
    }
    let mut out = group(&json!({"_id": by, "count": {"$sum": 1}}), rows)?;
    out.sort_by(|a, b| sort_cmp(b.get("count"), a.get("count")));
    Ok(out)
}

/// `$bucket: {groupBy, boundaries, default, output}`: one row per range `[b[i], b[i+1])` that
/// has rows, `_id` its lower bound, then the `default` bucket; `output` accumulators (a
/// `count` when none are given).
pub fn bucket(spec: &Value, rows: Vec<Row>) -> Result<Vec<Row>> {
    let bad = |m: &str| Error::query(format!("$bucket {m}"));
    let group_by = spec
        .get("groupBy")
        .ok_or_else(|| bad("requires 'groupBy' and 'boundaries' to be specified"))?;
    let bounds = spec
        .get("boundaries")
        .and_then(Value::as_array)
        .filter(|b| b.len() >= 2)
        .ok_or_else(|| bad("requires 'boundaries' to be an array of at least two values"))?;
    if bounds
        .windows(2)
        .any(|w| sort_cmp(Some(&w[0]), Some(&w[1])) != Ordering::Less)
    {
        return Err(bad("requires 'boundaries' to be sorted in ascending order"));
    }
    let default = spec.get("default");
    let output = match spec.get("output") {
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err(bad("requires 'output' to be an object")),
        None => Map::from_iter([("count".to_string(), json!({"$sum": 1}))]),
    };
    // Each row tagged with its bucket's lower bound (or the default), then grouped on it.
    let mut tagged = Vec::with_capacity(rows.len());
    for mut row in rows {
        let v = expr::eval(group_by, &row)?.unwrap_or(Value::Null);
        let slot = bounds.windows(2).find(|w| {
            sort_cmp(Some(&w[0]), Some(&v)) != Ordering::Greater
                && sort_cmp(Some(&v), Some(&w[1])) == Ordering::Less
        });
        let key = match (slot, default) {
            (Some(w), _) => w[0].clone(),
            (None, Some(d)) => d.clone(),
            (None, None) => {
                return Err(bad(&format!(
                    "could not find a matching branch for an input, and no default was specified (value {v})"
                )))
            }
        };
        row.insert("~bucket".into(), key);
        tagged.push(row);
    }
    let mut spec = output;
    spec.insert("_id".into(), json!("$~bucket"));
    let mut out = group(&Value::Object(spec), tagged)?;
    let rank = |r: &Row| {
        bounds
            .iter()
            .position(|b| r.get("_id").is_some_and(|id| value_eq(id, b)))
            .unwrap_or(bounds.len())
    };
    out.sort_by_key(rank);
    Ok(out)
}
