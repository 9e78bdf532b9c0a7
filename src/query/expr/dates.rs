//! Date operators of aggregation expressions: the parts of a date (`$year` … `$millisecond`,
//! `$week`, the ISO week parts) in UTC or a given time zone, `$dateToString` and
//! `$dateFromString`, with their `onNull`/`onError` fallbacks.

use super::types::{as_date, convert, format_date, sunday_week, timezone, type_name};
use super::{bad, Ctx};
use crate::error::{Error, Result};
use chrono::{DateTime, Datelike, FixedOffset, Timelike};
use serde_json::{json, Map, Value};

/// The operators this file answers.
pub(super) const DATE_OPS: &[&str] = &[
    "$year",
    "$month",
    "$dayOfMonth",
    "$dayOfWeek",
    "$dayOfYear",
    "$hour",
    "$minute",
    "$second",
    "$millisecond",
    "$week",
    "$isoWeek",
    "$isoWeekYear",
    "$isoDayOfWeek",
    "$dateToString",
    "$dateFromString",
];

impl Ctx<'_> {
    /// `op` (one of `DATE_OPS`) on `arg`.
    pub(super) fn date_op(&self, op: &str, arg: &Value) -> Result<Option<Value>> {
        let date_part = |f: &dyn Fn(&DateTime<FixedOffset>) -> i64| -> Result<Option<Value>> {
            Ok(Some(match self.date_operand(op, arg)? {
                Some(d) => json!(f(&d)),
                None => Value::Null,
            }))
        };
        match op {
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
            "$dateToString" => self.date_to_string(op, arg),
            "$dateFromString" => self.date_from_string(op, arg),
            other => Err(Error::Internal(format!(
                "{other} is not a date_op operator"
            ))),
        }
    }

    /// The date of a date operator (`date`, `{date, timezone}` or `[date]`), in its time zone;
    /// None when null or missing.
    pub(super) fn date_operand(
        &self,
        op: &str,
        arg: &Value,
    ) -> Result<Option<DateTime<FixedOffset>>> {
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

    /// `$dateToString`: `{date, format, timezone, onNull}`.
    fn date_to_string(&self, op: &str, arg: &Value) -> Result<Option<Value>> {
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
                None => Ok(Some(Value::Null)),
            },
        }
    }

    /// `$dateFromString`: `{dateString, onNull, onError}`.
    fn date_from_string(&self, op: &str, arg: &Value) -> Result<Option<Value>> {
        let m = self.named(op, arg)?;
        let s = self.eval(
            m.get("dateString")
                .ok_or_else(|| bad("$dateFromString requires 'dateString'"))?,
        )?;
        match s {
            None | Some(Value::Null) => match m.get("onNull") {
                Some(x) => self.eval(x),
                None => Ok(Some(Value::Null)),
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
}
