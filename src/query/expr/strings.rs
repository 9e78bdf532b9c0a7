//! String operators of aggregation expressions: `$concat`, `$substr*`, case, `$split`, trims,
//! lengths, `$strcasecmp`, `$indexOf*`, `$replaceOne/All`, `$toString`, with MongoDB's rules for
//! null, missing and non-string operands.

use super::types::{is_date, to_string, type_name};
use super::{bad, index_arg, index_of, substr_bytes, Ctx};
use crate::error::{Error, Result};
use serde_json::{json, Value};

/// The operators this file answers.
pub(super) const STRING_OPS: &[&str] = &[
    "$concat",
    "$substr",
    "$substrBytes",
    "$substrCP",
    "$toLower",
    "$toUpper",
    "$split",
    "$trim",
    "$ltrim",
    "$rtrim",
    "$strLenCP",
    "$strLenBytes",
    "$strcasecmp",
    "$indexOfBytes",
    "$indexOfCP",
    "$replaceOne",
    "$replaceAll",
    "$toString",
];

impl Ctx<'_> {
    /// `op` (one of `STRING_OPS`) on `arg`.
    pub(super) fn string_op(&self, op: &str, arg: &Value) -> Result<Option<Value>> {
        let null = Ok(Some(Value::Null));
        match op {
            // Strings.
            "$concat" => {
                let mut out = String::new();
                for v in self.args(arg)? {
                    match v {
                        Some(Value::String(s)) => out.push_str(&s),
                        None | Some(Value::Null) => return null,
                        Some(other) => {
                            return Err(bad(format!(
                                "$concat only supports strings, not {}",
                                type_name(Some(&other))
                            )))
                        }
                    }
                }
                Ok(Some(json!(out)))
            }
            "$substr" | "$substrBytes" | "$substrCP" => self.substr(op, arg),
            "$toLower" | "$toUpper" => {
                let a = self.args_n(op, arg, 1..=1)?;
                let s = match &a[0] {
                    None | Some(Value::Null) => String::new(),
                    Some(Value::String(s)) => s.clone(),
                    Some(v) => to_string(v)?.as_str().unwrap_or_default().to_string(),
                };
                // MongoDB changes ASCII letters only.
                Ok(Some(json!(if op == "$toLower" {
                    s.to_ascii_lowercase()
                } else {
                    s.to_ascii_uppercase()
                })))
            }
            "$split" => {
                let a = self.args_n(op, arg, 2..=2)?;
                let Some(s) = self.string_arg(op, a[0].clone())? else {
                    return null;
                };
                let Some(sep) = self.string_arg(op, a[1].clone())? else {
                    return null;
                };
                if sep.is_empty() {
                    return Err(bad("$split requires a non-empty separator"));
                }
                Ok(Some(json!(s.split(sep.as_str()).collect::<Vec<_>>())))
            }
            "$trim" | "$ltrim" | "$rtrim" => self.trim(op, arg),
            "$strLenCP" | "$strLenBytes" => {
                let a = self.args_n(op, arg, 1..=1)?;
                match &a[0] {
                    Some(Value::String(s)) => Ok(Some(json!(if op == "$strLenCP" {
                        s.chars().count()
                    } else {
                        s.len()
                    }))),
                    other => Err(bad(format!(
                        "{op} requires a string argument, found: {}",
                        type_name(other.as_ref())
                    ))),
                }
            }
            "$strcasecmp" => {
                let a = self.args_n(op, arg, 2..=2)?;
                let s = |v: &Option<Value>| -> Result<String> {
                    Ok(match v {
                        None | Some(Value::Null) => String::new(),
                        Some(v) => to_string(v)?
                            .as_str()
                            .unwrap_or_default()
                            .to_ascii_lowercase(),
                    })
                };
                Ok(Some(json!(s(&a[0])?.cmp(&s(&a[1])?) as i8)))
            }
            "$indexOfBytes" | "$indexOfCP" => {
                let a = self.args_n(op, arg, 2..=4)?;
                let Some(s) = self.string_arg(op, a[0].clone())? else {
                    return null;
                };
                let sub = self
                    .string_arg(op, a[1].clone())?
                    .ok_or_else(|| bad(format!("{op} requires a string as the second argument")))?;
                let start = index_arg(a.get(2).cloned().flatten(), op)?;
                let end = index_arg(a.get(3).cloned().flatten(), op)?;
                Ok(Some(json!(if op == "$indexOfCP" {
                    let (h, n): (Vec<char>, Vec<char>) =
                        (s.chars().collect(), sub.chars().collect());
                    index_of(&h, &n, start, end)
                } else {
                    index_of(s.as_bytes(), sub.as_bytes(), start, end)
                })))
            }
            "$replaceOne" | "$replaceAll" => {
                let m = self.named(op, arg)?;
                let get = |k: &str| -> Result<Option<String>> {
                    let v = self.eval(
                        m.get(k)
                            .ok_or_else(|| bad(format!("{op} requires '{k}'")))?,
                    )?;
                    self.string_arg(op, v)
                };
                match (get("input")?, get("find")?, get("replacement")?) {
                    (Some(s), Some(f), Some(r)) => Ok(Some(json!(if op == "$replaceOne" {
                        s.replacen(&f, &r, 1)
                    } else {
                        s.replace(&f, &r)
                    }))),
                    _ => null,
                }
            }
            "$toString" => {
                let a = self.args_n(op, arg, 1..=1)?;
                match &a[0] {
                    None | Some(Value::Null) => null,
                    Some(v) => Ok(Some(to_string(v)?)),
                }
            }
            other => Err(Error::Internal(format!(
                "{other} is not a string_op operator"
            ))),
        }
    }

    /// `$substr`/`$substrBytes` (a byte range) and `$substrCP` (a range of code points).
    fn substr(&self, op: &str, arg: &Value) -> Result<Option<Value>> {
        let a = self.args_n(op, arg, 3..=3)?;
        let s = match &a[0] {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(v @ (Value::Number(_) | Value::Object(_))) if is_date(v) || v.is_number() => {
                to_string(v)?.as_str().unwrap_or_default().to_string()
            }
            Some(other) => {
                return Err(bad(format!(
                    "{op}: can't convert from BSON type {} to String",
                    type_name(Some(other))
                )))
            }
        };
        let start = index_arg(a[1].clone(), &format!("{op}: starting index"))?.unwrap_or(0);
        let len = index_arg(a[2].clone(), &format!("{op}: length"))?.unwrap_or(0);
        if op == "$substrCP" {
            if start < 0 || len < 0 {
                return Err(bad(
                    "$substrCP: the starting index and length must be non-negative",
                ));
            }
            return Ok(Some(json!(s
                .chars()
                .skip(start as usize)
                .take(len as usize)
                .collect::<String>())));
        }
        Ok(Some(json!(substr_bytes(&s, start, len)?)))
    }

    /// `$trim`, `$ltrim`, `$rtrim`: the `chars` given, or white space and the null character.
    fn trim(&self, op: &str, arg: &Value) -> Result<Option<Value>> {
        let m = self.named(op, arg)?;
        let input = self.eval(
            m.get("input")
                .ok_or_else(|| bad(format!("{op} requires an 'input' field")))?,
        )?;
        let Some(s) = self.string_arg(op, input)? else {
            return Ok(Some(Value::Null));
        };
        let chars: Option<Vec<char>> =
            match m.get("chars").map(|c| self.eval(c)).transpose()?.flatten() {
                None | Some(Value::Null) => None,
                Some(Value::String(c)) => Some(c.chars().collect()),
                Some(_) => return Err(bad(format!("{op} requires 'chars' to be a string"))),
            };
        // MongoDB's default: white space and the null character.
        let strip = |c: char| match &chars {
            Some(set) => set.contains(&c),
            None => c.is_whitespace() || c == '\0',
        };
        let out = match op {
            "$trim" => s.trim_matches(strip),
            "$ltrim" => s.trim_start_matches(strip),
            _ => s.trim_end_matches(strip),
        };
        Ok(Some(json!(out)))
    }
}
