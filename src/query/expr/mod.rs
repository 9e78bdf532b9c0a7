//! Aggregation expressions, evaluated on one pipeline row as MongoDB evaluates them: field
//! paths (`$a.b`, through arrays; Parse's names and MongoDB's `_id`/`_created_at`/`_p_<field>`
//! forms), variables (`$$ROOT`, `$$CURRENT`, `$$NOW`, `$let`/`$filter`/`$map`/`$reduce`
//! names), literals, and the operators Parse apps use: arithmetic, comparison, boolean,
//! conditional, string, array, set, object, date and type conversion. Missing and null follow
//! MongoDB's rule per operator (most answer null; some raise the error MongoDB raises).

use super::eval::{sort_cmp, value_eq};
use super::parse::parse_field_name;
use crate::codec::parse_type;
use crate::error::{Error, Result};
use chrono::{DateTime, Datelike, FixedOffset, Timelike, Utc};
use serde_json::{json, Map, Value};
use std::cmp::Ordering;

mod arrays;
mod strings;
#[cfg(test)]
mod tests;
mod types;

use types::{
    as_date, convert, date_value, format_date, is_date, number, sunday_week, timezone, type_alias,
    type_name,
};

type Row = Map<String, Value>;

/// Evaluates `e` on `row` (`None` = missing).
pub fn eval(e: &Value, row: &Row) -> Result<Option<Value>> {
    Ctx {
        root: row,
        vars: Vec::new(),
    }
    .eval(e)
}

/// MongoDB's truthiness: false, null, 0 and missing are false.
pub fn truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) | Some(Value::Bool(false)) => false,
        Some(Value::Number(n)) => n.as_f64() != Some(0.0),
        _ => true,
    }
}

/// The path of a `$field` reference, with Parse's and MongoDB's names of the same fields.
pub fn field_path(reference: &str) -> Vec<String> {
    let name = reference.trim_start_matches('$');
    let mut parts: Vec<String> = name.split('.').map(str::to_string).collect();
    if let Some(first) = parts.first_mut() {
        *first = match first.as_str() {
            "objectId" | "_id" => "_id".to_string(),
            other => parse_field_name(other).to_string(),
        };
    }
    parts
}

/// A path's value in a row: through objects, and through arrays element by element (giving
/// an array), as MongoDB resolves `$a.b`. `_p_<field>` reads a Pointer as `Class$objectId`,
/// the form MongoDB stores it in.
pub fn get_path(row: &Row, path: &[String]) -> Option<Value> {
    let first = path.first()?;
    match row.get(first) {
        Some(v) => descend(v, &path[1..]),
        None => {
            let pointer = row.get(first.strip_prefix("_p_")?)?;
            if parse_type(pointer) != Some("Pointer") || path.len() > 1 {
                return None;
            }
            Some(json!(format!(
                "{}${}",
                pointer.get("className")?.as_str()?,
                pointer.get("objectId")?.as_str()?
            )))
        }
    }
}

fn descend(v: &Value, rest: &[String]) -> Option<Value> {
    let Some(key) = rest.first() else {
        return Some(v.clone());
    };
    match v {
        Value::Object(m) => descend(m.get(key)?, &rest[1..]),
        Value::Array(a) => Some(Value::Array(
            a.iter()
                .filter(|x| x.is_object() || x.is_array())
                .filter_map(|x| descend(x, rest))
                .collect(),
        )),
        _ => None,
    }
}

struct Ctx<'a> {
    root: &'a Row,
    vars: Vec<(String, Value)>,
}

fn bad(msg: impl Into<String>) -> Error {
    Error::query(msg.into())
}

/// A whole, non-negative index argument.
fn index_arg(v: Option<Value>, what: &str) -> Result<Option<i64>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 => Ok(Some(f as i64)),
            _ => Err(bad(format!("{what} must be an integral number"))),
        },
        Some(_) => Err(bad(format!("{what} must be a number"))),
    }
}

/// Where `needle` first occurs in `hay[start..end]`, or -1.
fn index_of<T: PartialEq>(hay: &[T], needle: &[T], start: Option<i64>, end: Option<i64>) -> i64 {
    let start = start.unwrap_or(0).max(0) as usize;
    let end = end.map_or(hay.len(), |e| (e.max(0) as usize).min(hay.len()));
    if start > end || needle.len() > end - start {
        return -1;
    }
    (start..=end - needle.len())
        .find(|&i| &hay[i..i + needle.len()] == needle)
        .map_or(-1, |i| i as i64)
}

/// The byte range `[start, start+len)` of `s`, clamped, at character boundaries (MongoDB
/// refuses ranges that split a UTF-8 character).
fn substr_bytes(s: &str, start: i64, len: i64) -> Result<String> {
    if start < 0 {
        return Err(bad("$substrBytes: starting index must be non-negative"));
    }
    let start = (start as usize).min(s.len());
    let end = if len < 0 {
        s.len()
    } else {
        start.saturating_add(len as usize).min(s.len())
    };
    if !s.is_char_boundary(start) || !s.is_char_boundary(end) {
        return Err(bad(
            "$substrBytes: invalid range, starting or ending index is a UTF-8 continuation byte",
        ));
    }
    Ok(s[start..end].to_string())
}

impl Ctx<'_> {
    fn eval(&self, e: &Value) -> Result<Option<Value>> {
        match e {
            Value::String(s) if s.starts_with("$$") => self.variable(&s[2..]),
            Value::String(s) if s.starts_with('$') => Ok(get_path(self.root, &field_path(s))),
            Value::Object(m) if m.len() == 1 && m.keys().all(|k| k.starts_with('$')) => {
                let (op, arg) = m.iter().next().ok_or_else(|| bad("empty expression"))?;
                self.operator(op, arg)
            }
            Value::Object(m) => {
                let mut out = Map::new();
                for (k, v) in m {
                    if k.starts_with('$') {
                        return Err(bad(format!(
                            "an expression object takes one $operator, found {k} among other keys"
                        )));
                    }
                    if let Some(x) = self.eval(v)? {
                        out.insert(k.clone(), x);
                    }
                }
                Ok(Some(Value::Object(out)))
            }
            Value::Array(a) => Ok(Some(Value::Array(
                a.iter()
                    .map(|x| Ok(self.eval(x)?.unwrap_or(Value::Null)))
                    .collect::<Result<_>>()?,
            ))),
            other => Ok(Some(other.clone())),
        }
    }

    fn variable(&self, name: &str) -> Result<Option<Value>> {
        let (var, rest) = match name.split_once('.') {
            Some((v, r)) => (v, Some(r)),
            None => (name, None),
        };
        let base = match var {
            "ROOT" | "CURRENT" => Value::Object(self.root.clone()),
            "NOW" => date_value(DateTime::<Utc>::from(std::time::SystemTime::now())),
            "REMOVE" => return Ok(None),
            other => match self.vars.iter().rev().find(|(n, _)| n == other) {
                Some((_, v)) => v.clone(),
                None => return Err(bad(format!("Use of undefined variable: {other}"))),
            },
        };
        Ok(match rest {
            None => Some(base),
            Some(r) => descend(&base, &r.split('.').map(str::to_string).collect::<Vec<_>>()),
        })
    }

    fn with(&self, bindings: Vec<(String, Value)>) -> Ctx<'_> {
        let mut vars = self.vars.clone();
        vars.extend(bindings);
        Ctx {
            root: self.root,
            vars,
        }
    }

    /// The operands of an operator: an array's items, or the one argument.
    fn args(&self, arg: &Value) -> Result<Vec<Option<Value>>> {
        match arg {
            Value::Array(a) => a.iter().map(|x| self.eval(x)).collect(),
            other => Ok(vec![self.eval(other)?]),
        }
    }

    fn args_n(
        &self,
        op: &str,
        arg: &Value,
        n: std::ops::RangeInclusive<usize>,
    ) -> Result<Vec<Option<Value>>> {
        let v = self.args(arg)?;
        if !n.contains(&v.len()) {
            return Err(bad(format!(
                "Expression {op} takes {} arguments. {} were passed in.",
                if n.start() == n.end() {
                    n.start().to_string()
                } else {
                    format!("{} to {}", n.start(), n.end())
                },
                v.len()
            )));
        }
        Ok(v)
    }

    /// Numeric operands, or None when one is null or missing (the operator answers null).
    fn numbers(&self, op: &str, args: &[Option<Value>]) -> Result<Option<Vec<f64>>> {
        let mut out = Vec::with_capacity(args.len());
        for a in args {
            match a {
                None | Some(Value::Null) => return Ok(None),
                Some(Value::Number(n)) => out.push(n.as_f64().unwrap_or(f64::NAN)),
                Some(other) => {
                    return Err(bad(format!(
                        "{op} only supports numeric types, not {}",
                        type_name(Some(other))
                    )))
                }
            }
        }
        Ok(Some(out))
    }

    fn string_arg(&self, op: &str, v: Option<Value>) -> Result<Option<String>> {
        match v {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(bad(format!(
                "{op} requires a string argument, found: {}",
                type_name(Some(&other))
            ))),
        }
    }

    fn array_arg(&self, op: &str, v: Option<Value>) -> Result<Option<Vec<Value>>> {
        match v {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a)),
            Some(other) => Err(bad(format!(
                "{op}'s argument must be an array, but is {}",
                type_name(Some(&other))
            ))),
        }
    }

    fn named<'v>(&self, op: &str, arg: &'v Value) -> Result<&'v Map<String, Value>> {
        arg.as_object()
            .ok_or_else(|| bad(format!("{op} takes an object of named arguments")))
    }

    fn date_operand(&self, op: &str, arg: &Value) -> Result<Option<DateTime<FixedOffset>>> {
        let (date, tz) = match arg {
            Value::Object(m) if m.contains_key("date") => (
                self.eval(&m["date"])?,
                m.get("timezone")
                    .map(|t| self.eval(t))
                    .transpose()?
                    .flatten(),
            ),
            Value::Array(a) if a.len() == 1 => (self.eval(&a[0])?, None),
            other => (self.eval(other)?, None),
        };
        let tz = timezone(tz.as_ref())?;
        match date {
            None | Some(Value::Null) => Ok(None),
            Some(v) => as_date(&v)
                .map(|d| Some(d.with_timezone(&tz)))
                .ok_or_else(|| {
                    bad(format!(
                        "{op}: can't convert from BSON type {} to Date",
                        type_name(Some(&v))
                    ))
                }),
        }
    }

    fn operator(&self, op: &str, arg: &Value) -> Result<Option<Value>> {
        let date_part = |f: &dyn Fn(&DateTime<FixedOffset>) -> i64| -> Result<Option<Value>> {
            Ok(Some(match self.date_operand(op, arg)? {
                Some(d) => json!(f(&d)),
                None => Value::Null,
            }))
        };
        let null = Ok(Some(Value::Null));
        match op {
            // Literals and variables.
            "$literal" => Ok(Some(arg.clone())),
            "$let" => {
                let m = self.named(op, arg)?;
                let vars = m
                    .get("vars")
                    .and_then(Value::as_object)
                    .ok_or_else(|| bad("$let needs vars"))?;
                let mut bound = Vec::new();
                for (k, v) in vars {
                    bound.push((k.clone(), self.eval(v)?.unwrap_or(Value::Null)));
                }
                self.with(bound)
                    .eval(m.get("in").ok_or_else(|| bad("$let needs in"))?)
            }

            // Arithmetic.
            "$add" => {
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
                    return null;
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
            "$subtract" => {
                let a = self.args_n(op, arg, 2..=2)?;
                match (&a[0], &a[1]) {
                    (Some(x), Some(y)) if is_date(x) && is_date(y) => Ok(Some(json!((as_date(x)
                        .unwrap_or_default()
                        - as_date(y).unwrap_or_default())
                    .num_milliseconds()))),
                    (Some(x), y) if is_date(x) => {
                        match self.numbers(op, std::slice::from_ref(y))? {
                            Some(n) => Ok(Some(date_value(
                                as_date(x).unwrap_or_default()
                                    - chrono::Duration::milliseconds(n[0].round() as i64),
                            ))),
                            None => null,
                        }
                    }
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
                let a = self.args_n(op, arg, 1..=1)?;
                let Some(n) = self.numbers(op, &a)? else {
                    return null;
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
            "$round" | "$trunc" => {
                let a = self.args_n(op, arg, 1..=2)?;
                let Some(n) = self.numbers(op, &a[..1])? else {
                    return null;
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

            // The accumulators' expression forms: over an array argument, or over the operands.
            "$sum" | "$avg" | "$min" | "$max" => {
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
            "$cond" => {
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
                null
            }
            "$switch" => {
                let m = self.named(op, arg)?;
                let branches = m
                    .get("branches")
                    .and_then(Value::as_array)
                    .ok_or_else(|| bad("$switch requires at least one branch"))?;
                for b in branches {
                    let case = b.get("case").ok_or_else(|| {
                        bad("$switch requires each branch have a 'case' expression")
                    })?;
                    let then = b.get("then").ok_or_else(|| {
                        bad("$switch requires each branch have a 'then' expression")
                    })?;
                    if truthy(self.eval(case)?.as_ref()) {
                        return self.eval(then);
                    }
                }
                match m.get("default") {
                    Some(d) => self.eval(d),
                    None => Err(bad("$switch could not find a matching branch for an input, and no default was specified.")),
                }
            }

            op if strings::STRING_OPS.contains(&op) => self.string_op(op, arg),
            op if arrays::ARRAY_OPS.contains(&op) => self.array_op(op, arg),

            // Dates.
            "$year" => date_part(&|d| d.year() as i64),
            "$month" => date_part(&|d| d.month() as i64),
            "$dayOfMonth" => date_part(&|d| d.day() as i64),
            "$dayOfWeek" => date_part(&|d| d.weekday().number_from_sunday() as i64),
            "$dayOfYear" => date_part(&|d| d.ordinal() as i64),
            "$hour" => date_part(&|d| d.hour() as i64),
            "$minute" => date_part(&|d| d.minute() as i64),
            "$second" => date_part(&|d| d.second() as i64),
            "$millisecond" => date_part(&|d| (d.nanosecond() / 1_000_000) as i64),
            "$week" => date_part(&|d| sunday_week(d) as i64),
            "$isoWeek" => date_part(&|d| d.iso_week().week() as i64),
            "$isoWeekYear" => date_part(&|d| d.iso_week().year() as i64),
            "$isoDayOfWeek" => date_part(&|d| d.weekday().number_from_monday() as i64),
            "$dateToString" => {
                let m = self.named(op, arg)?;
                let date_arg = m
                    .get("date")
                    .ok_or_else(|| bad("Missing 'date' parameter to $dateToString"))?;
                let format = match m.get("format").map(|f| self.eval(f)).transpose()?.flatten() {
                    None => "%Y-%m-%dT%H:%M:%S.%LZ".to_string(),
                    Some(Value::String(f)) => f,
                    Some(_) => return Err(bad("$dateToString requires that 'format' be a string")),
                };
                let mut operand = Map::new();
                operand.insert("date".into(), date_arg.clone());
                if let Some(tz) = m.get("timezone") {
                    operand.insert("timezone".into(), tz.clone());
                }
                match self.date_operand(op, &Value::Object(operand))? {
                    Some(d) => Ok(Some(json!(format_date(&d, &format)?))),
                    None => match m.get("onNull") {
                        Some(x) => self.eval(x),
                        None => null,
                    },
                }
            }
            "$dateFromString" => {
                let m = self.named(op, arg)?;
                let s = self.eval(
                    m.get("dateString")
                        .ok_or_else(|| bad("$dateFromString requires 'dateString'"))?,
                )?;
                match s {
                    None | Some(Value::Null) => match m.get("onNull") {
                        Some(x) => self.eval(x),
                        None => null,
                    },
                    Some(v) => match convert(&v, "date") {
                        Ok(d) => Ok(Some(d)),
                        Err(e) => match m.get("onError") {
                            Some(x) => self.eval(x),
                            None => Err(e),
                        },
                    },
                }
            }

            // Types.
            "$type" => {
                let a = self.args_n(op, arg, 1..=1)?;
                Ok(Some(json!(type_name(a[0].as_ref()))))
            }
            "$isNumber" => {
                let a = self.args_n(op, arg, 1..=1)?;
                Ok(Some(json!(matches!(a[0], Some(Value::Number(_))))))
            }
            "$toInt" | "$toLong" | "$toDouble" | "$toDecimal" | "$toBool" | "$toDate"
            | "$toObjectId" => {
                let a = self.args_n(op, arg, 1..=1)?;
                let to = match op {
                    "$toInt" => "int",
                    "$toLong" => "long",
                    "$toDouble" => "double",
                    "$toDecimal" => "decimal",
                    "$toBool" => "bool",
                    "$toDate" => "date",
                    _ => "objectId",
                };
                match &a[0] {
                    None | Some(Value::Null) => null,
                    Some(v) => Ok(Some(convert(v, to)?)),
                }
            }
            "$convert" => {
                let m = self.named(op, arg)?;
                let input = self.eval(
                    m.get("input")
                        .ok_or_else(|| bad("Missing 'input' parameter to $convert"))?,
                )?;
                let to = type_alias(
                    &self
                        .eval(
                            m.get("to")
                                .ok_or_else(|| bad("Missing 'to' parameter to $convert"))?,
                        )?
                        .unwrap_or(Value::Null),
                )?;
                match input {
                    None | Some(Value::Null) => match m.get("onNull") {
                        Some(x) => self.eval(x),
                        None => null,
                    },
                    Some(v) => match convert(&v, to) {
                        Ok(x) => Ok(Some(x)),
                        Err(e) => match m.get("onError") {
                            Some(x) => self.eval(x),
                            None => Err(e),
                        },
                    },
                }
            }
            other => Err(Error::Unsupported(format!(
                "the aggregation operator {other} is not supported by the DynamoDB adapter yet"
            ))),
        }
    }
}
