//! MongoDB's value rules for aggregation expressions: type names (`$type`), conversions
//! (`$convert`, `$toInt`, `$toString`…), dates as Parse carries them (`{__type: "Date", iso}`),
//! time zones given as UTC or fixed offsets, and `$dateToString`'s format specifiers; and the
//! type operators themselves (`$type`, `$isNumber`, `$toInt`…`$toObjectId`, `$convert`).

use super::{truthy, Ctx};
use crate::error::{Error, Result};
use crate::query::eval::date_iso;
use chrono::{DateTime, Datelike, FixedOffset, TimeZone, Timelike, Utc};
use serde_json::{json, Value};

fn bad(msg: impl Into<String>) -> Error {
    Error::query(msg.into())
}

/// A number as JSON: whole values as integers (JavaScript reads both the same).
pub(super) fn number(f: f64) -> Value {
    if f.fract() == 0.0 && f.abs() < 9e15 {
        json!(f as i64)
    } else {
        serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null)
    }
}

pub(super) fn date_value(d: DateTime<Utc>) -> Value {
    json!({"__type": "Date", "iso": d.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()})
}

pub(super) fn as_date(v: &Value) -> Option<DateTime<Utc>> {
    let iso = date_iso(v).or_else(|| v.as_str())?;
    DateTime::parse_from_rfc3339(iso)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

pub(super) fn is_date(v: &Value) -> bool {
    date_iso(v).is_some()
}

/// `UTC`, `GMT`, `Z` or an offset `+hh`, `+hhmm`, `+hh:mm`.
pub(super) fn timezone(tz: Option<&Value>) -> Result<FixedOffset> {
    let utc = FixedOffset::east_opt(0).expect("zero offset");
    let Some(tz) = tz else { return Ok(utc) };
    let s = tz
        .as_str()
        .ok_or_else(|| bad("timezone must be a string"))?;
    if matches!(s, "UTC" | "GMT" | "Z" | "Etc/UTC" | "Etc/GMT") {
        return Ok(utc);
    }
    let (sign, digits) = match s.as_bytes().first() {
        Some(b'+') => (1, &s[1..]),
        Some(b'-') => (-1, &s[1..]),
        _ => {
            return Err(Error::Unsupported(format!(
                "the timezone {s:?} (only UTC and offsets such as +02:00 are supported)"
            )))
        }
    };
    let digits: String = digits.chars().filter(|c| *c != ':').collect();
    let (h, m) = match digits.len() {
        2 => (digits.parse::<i32>().ok(), Some(0)),
        4 => (digits[..2].parse().ok(), digits[2..].parse().ok()),
        _ => (None, None),
    };
    match (h, m) {
        (Some(h), Some(m)) if h <= 14 && m < 60 => {
            FixedOffset::east_opt(sign * (h * 3600 + m * 60))
                .ok_or_else(|| bad(format!("bad timezone {s}")))
        }
        _ => Err(bad(format!("unrecognized time zone identifier: {s}"))),
    }
}

/// Week of the year with weeks starting on Sunday (days before the first Sunday are week 0).
pub(super) fn sunday_week(d: &DateTime<FixedOffset>) -> u32 {
    (d.ordinal() + 6 - d.weekday().num_days_from_sunday()) / 7
}

/// MongoDB's `$dateToString` format specifiers.
pub(super) fn format_date(d: &DateTime<FixedOffset>, format: &str) -> Result<String> {
    let mut out = String::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let spec = chars
            .next()
            .ok_or_else(|| bad("unmatched '%' at end of format string"))?;
        let offset_min = d.offset().local_minus_utc() / 60;
        match spec {
            'd' => out.push_str(&format!("{:02}", d.day())),
            'G' => out.push_str(&format!("{:04}", d.iso_week().year())),
            'H' => out.push_str(&format!("{:02}", d.hour())),
            'j' => out.push_str(&format!("{:03}", d.ordinal())),
            'L' => out.push_str(&format!("{:03}", d.nanosecond() / 1_000_000)),
            'm' => out.push_str(&format!("{:02}", d.month())),
            'M' => out.push_str(&format!("{:02}", d.minute())),
            'S' => out.push_str(&format!("{:02}", d.second())),
            'u' => out.push_str(&d.weekday().number_from_monday().to_string()),
            'U' => out.push_str(&format!("{:02}", sunday_week(d))),
            'V' => out.push_str(&format!("{:02}", d.iso_week().week())),
            'w' => out.push_str(&d.weekday().number_from_sunday().to_string()),
            'Y' => out.push_str(&format!("{:04}", d.year())),
            'z' => out.push_str(&format!(
                "{}{:02}{:02}",
                if offset_min < 0 { '-' } else { '+' },
                offset_min.abs() / 60,
                offset_min.abs() % 60
            )),
            'Z' => out.push_str(&offset_min.to_string()),
            'b' => out.push_str(&d.format("%b").to_string()),
            'B' => out.push_str(&d.format("%B").to_string()),
            '%' => out.push('%'),
            other => return Err(bad(format!("invalid format character '%{other}'"))),
        }
    }
    Ok(out)
}

/// MongoDB's `$type` names.
pub(super) fn type_name(v: Option<&Value>) -> &'static str {
    match v {
        None => "missing",
        Some(Value::Null) => "null",
        Some(Value::Bool(_)) => "bool",
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => {
            if n.as_i64().is_some_and(|i| i32::try_from(i).is_ok()) {
                "int"
            } else {
                "long"
            }
        }
        Some(Value::Number(_)) => "double",
        Some(Value::String(_)) => "string",
        Some(Value::Array(_)) => "array",
        Some(v) if is_date(v) => "date",
        Some(Value::Object(_)) => "object",
    }
}

pub(super) fn to_string(v: &Value) -> Result<Value> {
    Ok(match v {
        Value::String(s) => json!(s),
        Value::Number(n) => json!(match n.as_i64() {
            Some(i) => i.to_string(),
            None => n.to_string(),
        }),
        Value::Bool(b) => json!(b.to_string()),
        v if is_date(v) => json!(date_iso(v).unwrap_or_default()),
        other => {
            return Err(bad(format!(
                "Unsupported conversion from {} to string",
                type_name(Some(other))
            )))
        }
    })
}

/// `$convert`'s conversions (and `$toInt` & co.), MongoDB's rules.
pub(super) fn convert(v: &Value, to: &str) -> Result<Value> {
    let fail = || {
        bad(format!(
            "Unsupported conversion from {} to {to}",
            type_name(Some(v))
        ))
    };
    let parse_num = |s: &str| s.trim().parse::<f64>().ok().filter(|f| f.is_finite());
    Ok(match to {
        "string" => to_string(v)?,
        "bool" => json!(truthy(Some(v))),
        "double" | "decimal" => match v {
            Value::Number(n) => number(n.as_f64().ok_or_else(fail)?),
            Value::Bool(b) => json!(if *b { 1 } else { 0 }),
            Value::String(s) => number(parse_num(s).ok_or_else(fail)?),
            v if is_date(v) => json!(as_date(v).ok_or_else(fail)?.timestamp_millis()),
            _ => return Err(fail()),
        },
        "int" | "long" => {
            let i = match v {
                Value::Number(n) => match n.as_i64() {
                    Some(i) => i,
                    None => n.as_f64().ok_or_else(fail)?.trunc() as i64,
                },
                Value::Bool(b) => *b as i64,
                Value::String(s) => s.trim().parse::<i64>().map_err(|_| fail())?,
                v if is_date(v) && to == "long" => as_date(v).ok_or_else(fail)?.timestamp_millis(),
                _ => return Err(fail()),
            };
            if to == "int" && i32::try_from(i).is_err() {
                return Err(bad(format!(
                    "Conversion would overflow target type in $convert with no onError value: {i}"
                )));
            }
            json!(i)
        }
        "date" => match v {
            v if is_date(v) => v.clone(),
            Value::String(s) => date_value(
                DateTime::parse_from_rfc3339(s)
                    .map(|d| d.with_timezone(&Utc))
                    .or_else(|_| {
                        chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                            .map(|d| d.and_hms_opt(0, 0, 0).expect("midnight").and_utc())
                    })
                    .map_err(|_| bad(format!("Error parsing date string '{s}'")))?,
            ),
            Value::Number(n) => date_value(
                Utc.timestamp_millis_opt(n.as_f64().ok_or_else(fail)? as i64)
                    .single()
                    .ok_or_else(fail)?,
            ),
            _ => return Err(fail()),
        },
        "objectId" => match v {
            Value::String(_) => v.clone(),
            _ => return Err(fail()),
        },
        other => return Err(bad(format!("Unknown type name: {other}"))),
    })
}

pub(super) fn type_alias(to: &Value) -> Result<&'static str> {
    Ok(match to {
        Value::String(s) => match s.as_str() {
            "double" => "double",
            "string" => "string",
            "bool" => "bool",
            "date" => "date",
            "int" => "int",
            "long" => "long",
            "decimal" => "decimal",
            "objectId" => "objectId",
            other => return Err(bad(format!("Unknown type name: {other}"))),
        },
        Value::Number(n) => match n.as_i64() {
            Some(1) => "double",
            Some(2) => "string",
            Some(7) => "objectId",
            Some(8) => "bool",
            Some(9) => "date",
            Some(16) => "int",
            Some(18) => "long",
            Some(19) => "decimal",
            _ => return Err(bad(format!("Unknown type code: {n}"))),
        },
        _ => return Err(bad("$convert's 'to' must be a type name or code")),
    })
}

/// The operators this file answers.
pub(super) const TYPE_OPS: &[&str] = &[
    "$type",
    "$isNumber",
    "$toInt",
    "$toLong",
    "$toDouble",
    "$toDecimal",
    "$toBool",
    "$toDate",
    "$toObjectId",
    "$convert",
];

impl Ctx<'_> {
    /// `op` (one of `TYPE_OPS`) on `arg`.
    pub(super) fn type_op(&self, op: &str, arg: &Value) -> Result<Option<Value>> {
        match op {
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
                    None | Some(Value::Null) => Ok(Some(Value::Null)),
                    Some(v) => Ok(Some(convert(v, to)?)),
                }
            }
            "$convert" => self.convert_op(op, arg),
            other => Err(Error::Internal(format!(
                "{other} is not a type_op operator"
            ))),
        }
    }

    /// `$convert`: `{input, to, onNull, onError}`.
    fn convert_op(&self, op: &str, arg: &Value) -> Result<Option<Value>> {
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
                None => Ok(Some(Value::Null)),
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
}
