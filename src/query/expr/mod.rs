//! Aggregation expressions, evaluated on one pipeline row as MongoDB evaluates them: field
//! paths (`$a.b`, through arrays; Parse's names and MongoDB's `_id`/`_created_at`/`_p_<field>`
//! forms), variables (`$$ROOT`, `$$CURRENT`, `$$NOW`, `$let`/`$filter`/`$map`/`$reduce`
//! names), literals, and the operators Parse apps use: arithmetic, comparison, boolean,
//! conditional, string, array, set, object, date and type conversion. Missing and null follow
//! MongoDB's rule per operator (most answer null; some raise the error MongoDB raises).

use super::parse::parse_field_name;
use crate::codec::parse_type;
use crate::error::{Error, Result};
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

mod arithmetic;
mod arrays;
mod dates;
mod logic;
mod strings;
#[cfg(test)]
mod tests;
mod types;

use types::{date_value, type_name};

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

    /// `$let`: `in` evaluated with `vars` bound.
    fn let_in(&self, op: &str, arg: &Value) -> Result<Option<Value>> {
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

    /// `op` on `arg`: literals and `$let` here, every other operator by the file of its family.
    fn operator(&self, op: &str, arg: &Value) -> Result<Option<Value>> {
        match op {
            // Literals and variables.
            "$literal" => Ok(Some(arg.clone())),
            "$let" => self.let_in(op, arg),

            op if arithmetic::ARITHMETIC_OPS.contains(&op) => self.arithmetic_op(op, arg),
            op if logic::LOGIC_OPS.contains(&op) => self.logic_op(op, arg),
            op if strings::STRING_OPS.contains(&op) => self.string_op(op, arg),
            op if arrays::ARRAY_OPS.contains(&op) => self.array_op(op, arg),
            op if dates::DATE_OPS.contains(&op) => self.date_op(op, arg),
            op if types::TYPE_OPS.contains(&op) => self.type_op(op, arg),
            other => Err(Error::Unsupported(format!(
                "the aggregation operator {other} is not supported by the DynamoDB adapter yet"
            ))),
        }
    }
}
