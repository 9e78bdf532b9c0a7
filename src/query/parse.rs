//! Parse query JSON → `Expr`. Validates operators and values once, so evaluation and planning
//! never meet malformed input: an unknown `$operator` is an INVALID_QUERY error, not a silent
//! mismatch. Values are put in canonical form (dates normalised, pointers reduced) here.

use super::text::TextSearch;
use crate::codec::canonical;
use crate::error::{Error, Result};
use serde_json::{Map, Value};

#[derive(Debug, Clone)]
pub enum Expr {
    True,
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Nor(Vec<Expr>),
    Field(Vec<String>, Cond),
}

#[derive(Debug, Clone)]
pub enum Cond {
    Eq(Value),
    /// Case-insensitive string equality (`caseInsensitive` finds for username/email).
    EqCi(String),
    Ne(Value),
    Lt(Value),
    Lte(Value),
    Gt(Value),
    Gte(Value),
    In(Vec<Value>),
    Nin(Vec<Value>),
    Exists(bool),
    /// `$all`: every entry matches some element (entries are values or regexes).
    All(Vec<Cond>),
    ContainedBy(Vec<Value>),
    Regex(Box<Pattern>),
    Geo(Geo),
    Not(Box<Cond>),
    Text(TextSearch),
}

#[derive(Debug, Clone)]
pub struct Pattern {
    pub source: String,
    pub flags: String,
    pub re: regress::Regex,
}

#[derive(Debug, Clone)]
pub enum Geo {
    /// Within `max` radians of the point (None: any distance); results sort by distance.
    Near {
        lat: f64,
        lng: f64,
        max: Option<f64>,
    },
    Box {
        sw: (f64, f64),
        ne: (f64, f64),
    },
    Polygon(Vec<(f64, f64)>),
    CenterSphere {
        lat: f64,
        lng: f64,
        radius: f64,
    },
    /// A stored Polygon contains the point.
    Intersects {
        lat: f64,
        lng: f64,
    },
}

/// What parsing may know besides the query: case-insensitive equality, and the class's field
/// types (from the schema Parse passes) for checks Parse's Mongo adapter makes.
#[derive(Clone, Copy, Default)]
struct Ctx<'a> {
    ci: bool,
    fields: Option<&'a Map<String, Value>>,
}

pub fn parse_query(q: &Value, case_insensitive: bool) -> Result<Expr> {
    parse_in(
        q,
        Ctx {
            ci: case_insensitive,
            fields: None,
        },
    )
}

/// Parses a query of a class whose Parse schema is `schema` (`{"fields": {…}}`).
pub fn parse_query_for(q: &Value, case_insensitive: bool, schema: &Value) -> Result<Expr> {
    let fields = schema.get("fields").and_then(Value::as_object);
    parse_in(
        q,
        Ctx {
            ci: case_insensitive,
            fields,
        },
    )
}

fn parse_in(q: &Value, cx: Ctx) -> Result<Expr> {
    if q.is_null() {
        return Ok(Expr::True);
    }
    let m = q
        .as_object()
        .ok_or_else(|| Error::query("query must be an object"))?;
    parse_map(m, cx)
}

fn parse_map(m: &Map<String, Value>, cx: Ctx) -> Result<Expr> {
    let mut parts = Vec::with_capacity(m.len());
    for (k, v) in m {
        match k.as_str() {
            "$or" | "$and" | "$nor" => {
                let arr = v
                    .as_array()
                    .ok_or_else(|| Error::query(format!("Bad {k} format - use an array value.")))?;
                let subs = arr
                    .iter()
                    .map(|s| parse_in(s, cx))
                    .collect::<Result<Vec<_>>>()?;
                parts.push(match k.as_str() {
                    "$or" => Expr::Or(subs),
                    "$and" => Expr::And(subs),
                    _ => Expr::Nor(subs),
                });
            }
            "$comment" => {}
            k if k.starts_with('$') => {
                return Err(Error::query(format!("bad top level operator: {k}")));
            }
            _ => {
                let path: Vec<String> = k.split('.').map(str::to_string).collect();
                if path.iter().any(|s| s.is_empty()) {
                    return Err(Error::InvalidKeyName(format!("invalid field name: {k}")));
                }
                let field_type = cx
                    .fields
                    .and_then(|f| f.get(path[0].as_str()))
                    .and_then(|t| t.get("type"))
                    .and_then(Value::as_str);
                if let Some(t) = field_type {
                    if t != "Date" && has_relative_time(v) {
                        return Err(Error::json(
                            "$relativeTime can only be used with Date field",
                        ));
                    }
                }
                // objectIds are text; a legacy numeric id means the same object.
                let numeric_id;
                let v = match v {
                    Value::Number(n) if k == "objectId" => {
                        numeric_id = Value::String(n.to_string());
                        &numeric_id
                    }
                    other => other,
                };
                for c in parse_constraint(v, cx.ci)? {
                    parts.push(Expr::Field(path.clone(), c));
                }
            }
        }
    }
    Ok(match parts.len() {
        0 => Expr::True,
        1 => parts.pop().unwrap_or(Expr::True),
        _ => Expr::And(parts),
    })
}

/// A field named as MongoDB stores it (`_id`, `_created_at`, `_updated_at`), as Parse apps
/// also write in sorts and pipelines, under its Parse name.
pub fn parse_field_name(name: &str) -> &str {
    match name {
        "_id" => "objectId",
        "_created_at" => "createdAt",
        "_updated_at" => "updatedAt",
        other => other,
    }
}

/// Renames the field keys of a query (not its `$operators`), at every level of
/// `$or/$and/$nor`, with `rename`.
pub fn rename_fields(q: &Value, rename: &dyn Fn(&str) -> &str) -> Value {
    match q {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let k = rename(k).to_string();
                    let v = if k.starts_with('$') {
                        rename_fields(v, rename)
                    } else {
                        v.clone()
                    };
                    (k, v)
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(|x| rename_fields(x, rename)).collect()),
        other => other.clone(),
    }
}

fn has_relative_time(v: &Value) -> bool {
    v.as_object()
        .is_some_and(|m| m.values().any(|c| c.get("$relativeTime").is_some()))
}

fn is_operator_object(v: &Value) -> bool {
    match v.as_object() {
        Some(m) => {
            !m.is_empty() && m.keys().any(|k| k.starts_with('$')) && !m.contains_key("__type")
        }
        None => false,
    }
}

fn parse_constraint(v: &Value, ci: bool) -> Result<Vec<Cond>> {
    if !is_operator_object(v) {
        // A Polygon compares in its stored (closed-ring) form.
        let val = if crate::codec::parse_type(v) == Some("Polygon") {
            crate::codec::canonical_field("", v)?
        } else {
            canonical(v)?
        };
        return Ok(vec![match (&val, ci) {
            (Value::String(s), true) => Cond::EqCi(s.clone()),
            _ => Cond::Eq(val),
        }]);
    }
    let m = v.as_object().ok_or_else(|| Error::json("bad constraint"))?;
    let mut out = Vec::new();
    let options = m.get("$options").and_then(Value::as_str).unwrap_or("");
    // Geo operators that come in pairs.
    if let Some(p) = m.get("$nearSphere") {
        let (lat, lng) = geo_point(p)?;
        let max = if let Some(r) = m.get("$maxDistance").or(m.get("$maxDistanceInRadians")) {
            Some(num(r)?)
        } else if let Some(mi) = m.get("$maxDistanceInMiles") {
            Some(num(mi)? / 3958.8)
        } else if let Some(km) = m.get("$maxDistanceInKilometers") {
            Some(num(km)? / 6371.0)
        } else {
            None
        };
        out.push(Cond::Geo(Geo::Near { lat, lng, max }));
    }
    for (op, arg) in m {
        match op.as_str() {
            "$eq" | "$ne" | "$exists" if arg.get("$relativeTime").is_some() => {
                return Err(Error::json(
                    "$relativeTime can only be used with the $lt, $lte, $gt, and $gte operators",
                ))
            }
            "$eq" => out.push(Cond::Eq(canonical(arg)?)),
            "$ne" => out.push(Cond::Ne(canonical(arg)?)),
            "$lt" => out.push(Cond::Lt(comparable(arg)?)),
            "$lte" => out.push(Cond::Lte(comparable(arg)?)),
            "$gt" => out.push(Cond::Gt(comparable(arg)?)),
            "$gte" => out.push(Cond::Gte(comparable(arg)?)),
            "$in" => out.push(Cond::In(array(op, arg)?)),
            "$nin" => out.push(Cond::Nin(array(op, arg)?)),
            "$exists" => out.push(Cond::Exists(
                arg.as_bool()
                    .ok_or_else(|| Error::json("$exists takes a boolean"))?,
            )),
            "$all" => {
                let items = arg
                    .as_array()
                    .ok_or_else(|| Error::json("$all takes an array"))?;
                let regexes = items.iter().filter(|i| i.get("$regex").is_some()).count();
                if regexes > 0 && regexes < items.len() {
                    return Err(Error::json(format!(
                        "All $all values must be of regex type or none: {arg}"
                    )));
                }
                let mut conds = Vec::with_capacity(items.len());
                for it in items {
                    if it.get("$regex").is_some() {
                        conds.extend(parse_constraint(it, false)?);
                    } else {
                        conds.push(Cond::Eq(canonical(it)?));
                    }
                }
                out.push(Cond::All(conds));
            }
            "$containedBy" => {
                if !arg.is_array() {
                    return Err(Error::json("bad $containedBy: should be an array"));
                }
                out.push(Cond::ContainedBy(array(op, arg)?))
            }
            "$regex" => {
                let src = arg
                    .as_str()
                    .ok_or_else(|| Error::json("$regex takes a string"))?;
                out.push(Cond::Regex(Box::new(compile_regex(src, options)?)));
            }
            "$options" => {
                if !m.contains_key("$regex") {
                    return Err(Error::json("$options without $regex"));
                }
            }
            "$not" => {
                let sub = parse_constraint(arg, ci)?;
                for c in sub {
                    out.push(Cond::Not(Box::new(c)));
                }
            }
            "$nearSphere"
            | "$maxDistance"
            | "$maxDistanceInRadians"
            | "$maxDistanceInMiles"
            | "$maxDistanceInKilometers" => {}
            "$within" => out.push(Cond::Geo(within_box(arg)?)),
            "$geoWithin" => out.push(Cond::Geo(geo_within(arg)?)),
            "$geoIntersects" => {
                let p = arg
                    .get("$point")
                    .ok_or_else(|| Error::json("$geoIntersects needs $point"))?;
                let (lat, lng) = geo_point(p)?;
                out.push(Cond::Geo(Geo::Intersects { lat, lng }));
            }
            "$text" => out.push(Cond::Text(text_search(arg)?)),
            "$select" | "$dontSelect" | "$inQuery" | "$notInQuery" | "$relatedTo" => {
                return Err(Error::json(format!(
                    "{op} must be resolved before the adapter"
                )));
            }
            other => return Err(Error::json(format!("bad constraint: {other}"))),
        }
    }
    Ok(out)
}

/// `$within: {$box: [a, b]}`: MongoDB's flat rectangle, its corners in either order.
fn within_box(arg: &Value) -> Result<Geo> {
    let b = arg
        .get("$box")
        .and_then(Value::as_array)
        .ok_or_else(|| Error::json("$within needs $box"))?;
    if b.len() != 2 {
        return Err(Error::json("$box needs two points"));
    }
    let (a, b) = (geo_point(&b[0])?, geo_point(&b[1])?);
    let sw = (a.0.min(b.0), a.1.min(b.1));
    let ne = (a.0.max(b.0), a.1.max(b.1));
    Ok(Geo::Box { sw, ne })
}

/// `$geoWithin`: a `$polygon` (points, or a Parse Polygon) or a `$centerSphere`.
fn geo_within(arg: &Value) -> Result<Geo> {
    if let Some(poly) = arg.get("$polygon") {
        let pts = match poly {
            Value::Array(a) => a
                .iter()
                .map(geo_point_or_pair)
                .collect::<Result<Vec<_>>>()?,
            Value::Object(_) if crate::codec::parse_type(poly) == Some("Polygon") => poly
                .get("coordinates")
                .and_then(Value::as_array)
                .ok_or_else(|| Error::json("bad Polygon"))?
                .iter()
                .map(geo_point_or_pair)
                .collect::<Result<Vec<_>>>()?,
            _ => return Err(Error::json("bad $polygon")),
        };
        if pts.len() < 3 {
            return Err(Error::json("Polygon must have at least 3 points"));
        }
        Ok(Geo::Polygon(pts))
    } else if let Some(cs) = arg.get("$centerSphere") {
        let cs = cs.as_array().filter(|a| a.len() >= 2).ok_or_else(|| {
            Error::json("bad $geoWithin value; $centerSphere should be an array of Parse.GeoPoint and distance")
        })?;
        let (lat, lng) = geo_point_or_pair(&cs[0])?;
        let radius = cs[1]
            .as_f64()
            .filter(|d| *d >= 0.0)
            .ok_or_else(|| Error::json("bad $geoWithin value; $centerSphere distance invalid"))?;
        Ok(Geo::CenterSphere { lat, lng, radius })
    } else {
        Err(Error::json("bad $geoWithin"))
    }
}

fn text_search(arg: &Value) -> Result<TextSearch> {
    let search = arg
        .get("$search")
        .filter(|s| s.is_object())
        .ok_or_else(|| Error::json("bad $text: $search, should be object"))?;
    let term = search
        .get("$term")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::json("bad $text: $term, should be string"))?;
    if search.get("$language").is_some_and(|l| !l.is_string()) {
        return Err(Error::json("bad $text: $language, should be string"));
    }
    let flag = |k: &str| -> Result<bool> {
        match search.get(k) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(Error::json(format!("bad $text: {k}, should be boolean"))),
        }
    };
    TextSearch::parse(
        term,
        search.get("$language").and_then(Value::as_str),
        flag("$caseSensitive")?,
        flag("$diacriticSensitive")?,
    )
}

fn num(v: &Value) -> Result<f64> {
    v.as_f64().ok_or_else(|| Error::json("expected a number"))
}

/// Coordinates in range, or the error Parse answers on MongoDB (its GeoPoint validation throws
/// a plain error there, which reaches clients as code 1).
fn valid_point(lat: f64, lng: f64) -> Result<(f64, f64)> {
    if !(-90.0..=90.0).contains(&lat) {
        return Err(Error::Internal(format!(
            "GeoPoint latitude out of bounds: {lat}"
        )));
    }
    if !(-180.0..=180.0).contains(&lng) {
        return Err(Error::Internal(format!(
            "GeoPoint longitude out of bounds: {lng}"
        )));
    }
    Ok((lat, lng))
}

fn geo_point(v: &Value) -> Result<(f64, f64)> {
    let lat = v.get("latitude").map(num).transpose()?;
    let lng = v.get("longitude").map(num).transpose()?;
    match (lat, lng) {
        (Some(a), Some(b)) => valid_point(a, b),
        _ => Err(Error::json("bad GeoPoint")),
    }
}

/// A GeoPoint, or a `[longitude, latitude]` pair as Parse sends inside `$geoWithin`.
fn geo_point_or_pair(v: &Value) -> Result<(f64, f64)> {
    match v {
        Value::Array(a) if a.len() == 2 => valid_point(num(&a[1])?, num(&a[0])?),
        _ => geo_point(v),
    }
}

/// The values of `$in`/`$nin`/`$containedBy`; nested arrays are flattened one level, as Parse's
/// Mongo adapter does (a `$select` on an array field sends them).
fn array(op: &str, v: &Value) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    for it in v
        .as_array()
        .ok_or_else(|| Error::json(format!("bad {op} value")))?
    {
        match it {
            Value::Array(inner) => {
                for x in inner {
                    out.push(canonical(x)?);
                }
            }
            other => out.push(canonical(other)?),
        }
    }
    Ok(out)
}

fn comparable(v: &Value) -> Result<Value> {
    if let Some(rt) = v.as_object().and_then(|m| m.get("$relativeTime")) {
        let text = rt
            .as_str()
            .ok_or_else(|| Error::json("bad $relativeTime value: a string is required"))?;
        return relative_time(
            text,
            chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now()),
        )
        .map(|d| crate::codec::date_value(d.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()))
        .map_err(|info| Error::json(format!("bad $relativeTime value. {info}")));
    }
    canonical(v)
}

/// Parse's relative dates: "3 days ago", "in 2 hours 5 mins", "now".
pub fn relative_time(
    text: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> std::result::Result<chrono::DateTime<chrono::Utc>, String> {
    let text = text.to_lowercase();
    let mut parts: Vec<&str> = text.split(' ').filter(|p| !p.is_empty()).collect();
    let future = parts.first() == Some(&"in");
    let past = parts.last() == Some(&"ago");
    if text == "now" {
        return Ok(now);
    }
    if !future && !past {
        return Err("Time should either start with 'in' or end with 'ago'".into());
    }
    if future && past {
        return Err("Time cannot have both 'in' and 'ago'".into());
    }
    if future {
        parts.remove(0);
    } else {
        parts.pop();
    }
    if !parts.len().is_multiple_of(2) {
        return Err("Invalid time string. Dangling unit or number.".into());
    }
    let mut seconds: i64 = 0;
    for pair in parts.chunks(2) {
        let n: i64 = pair[0]
            .parse()
            .map_err(|_| format!("'{}' is not an integer.", pair[0]))?;
        let unit = match pair[1] {
            "yr" | "yrs" | "year" | "years" => 31_536_000,
            "wk" | "wks" | "week" | "weeks" => 604_800,
            "d" | "day" | "days" => 86_400,
            "hr" | "hrs" | "hour" | "hours" => 3_600,
            "min" | "mins" | "minute" | "minutes" => 60,
            "sec" | "secs" | "second" | "seconds" => 1,
            other => return Err(format!("Invalid interval: '{other}'")),
        };
        seconds = seconds
            .checked_add(n.checked_mul(unit).ok_or("time out of range")?)
            .ok_or("time out of range")?;
    }
    let delta = chrono::Duration::try_seconds(seconds).ok_or("time out of range")?;
    let out = if future {
        now.checked_add_signed(delta)
    } else {
        now.checked_sub_signed(delta)
    };
    out.ok_or_else(|| "time out of range".to_string())
}

/// Compiles a Parse/Mongo regex with ECMAScript semantics. `\Q…\E` literal quoting (sent by
/// the JS SDK's startsWith/endsWith/contains) is turned into escaped text first.
pub fn compile_regex(src: &str, options: &str) -> Result<Pattern> {
    let mut flags = String::new();
    let mut extended = false;
    for c in options.chars() {
        match c {
            'i' | 'm' | 's' | 'u' => flags.push(c),
            'x' => extended = true,
            _ => return Err(Error::query(format!("invalid regex option: {c}"))),
        }
    }
    let mut pattern = unquote(src);
    if extended {
        pattern = strip_extended(&pattern);
    }
    let re = regress::Regex::with_flags(&pattern, flags.as_str())
        .map_err(|e| Error::query(format!("invalid regex {src}: {e}")))?;
    Ok(Pattern {
        source: pattern,
        flags,
        re,
    })
}

fn escape_literal(s: &str, out: &mut String) {
    for ch in s.chars() {
        if "\\^$.|?*+()[]{}/-".contains(ch) {
            out.push('\\');
        }
        out.push(ch);
    }
}

fn unquote(src: &str) -> String {
    let mut out = String::with_capacity(src.len());
    let mut rest = src;
    while let Some(start) = rest.find("\\Q") {
        // A `\\Q` (escaped backslash then Q) is not a quote start.
        let backslashes = rest[..start]
            .chars()
            .rev()
            .take_while(|c| *c == '\\')
            .count();
        if backslashes % 2 == 1 {
            out.push_str(&rest[..start + 2]);
            rest = &rest[start + 2..];
            continue;
        }
        out.push_str(&rest[..start]);
        let body = &rest[start + 2..];
        match body.find("\\E") {
            Some(end) => {
                escape_literal(&body[..end], &mut out);
                rest = &body[end + 2..];
            }
            None => {
                escape_literal(body, &mut out);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

fn strip_extended(p: &str) -> String {
    let mut out = String::new();
    let mut esc = false;
    let mut comment = false;
    for ch in p.chars() {
        if comment {
            if ch == '\n' {
                comment = false;
            }
            continue;
        }
        if esc {
            out.push(ch);
            esc = false;
            continue;
        }
        match ch {
            '\\' => {
                esc = true;
                out.push(ch);
            }
            '#' => comment = true,
            c if c.is_whitespace() => {}
            c => out.push(c),
        }
    }
    out
}

/// The conjuncts of `expr` (nested `$and`s flattened; none for an empty query).
pub fn conjuncts(expr: &Expr) -> Vec<&Expr> {
    match expr {
        Expr::And(v) => v.iter().flat_map(conjuncts).collect(),
        Expr::True => vec![],
        e => vec![e],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_operator_is_an_error() {
        // As Parse's Mongo adapter answers: INVALID_JSON for a bad constraint.
        let e = parse_query(&json!({"a": {"$foo": 1}}), false).unwrap_err();
        assert_eq!(e.code(), crate::error::code::INVALID_JSON);
        assert!(parse_query(&json!({"$where": "1"}), false).is_err());
    }

    #[test]
    fn relative_times() {
        use chrono::TimeZone;
        let now = chrono::Utc.with_ymd_and_hms(2020, 1, 10, 0, 0, 0).unwrap();
        let d = relative_time("2 days 3 hrs ago", now).unwrap();
        assert_eq!(
            d,
            chrono::Utc.with_ymd_and_hms(2020, 1, 7, 21, 0, 0).unwrap()
        );
        assert_eq!(
            relative_time("in 1 week", now).unwrap(),
            chrono::Utc.with_ymd_and_hms(2020, 1, 17, 0, 0, 0).unwrap()
        );
        assert_eq!(relative_time("now", now).unwrap(), now);
        assert!(relative_time("in 1 day ago", now).is_err());
        assert!(relative_time("1 fortnight ago", now).is_err());
        assert!(relative_time("1.5 days ago", now).is_err());
        let e = parse_query(
            &json!({"d": {"$eq": {"$relativeTime": "1 day ago"}}}),
            false,
        )
        .unwrap_err();
        assert_eq!(e.code(), crate::error::code::INVALID_JSON);
    }

    #[test]
    fn quoted_regex_is_literal() {
        let p = compile_regex("^\\Qa.b*\\E", "").unwrap();
        assert!(p.re.find("a.b*c").is_some());
        assert!(p.re.find("axbbc").is_none());
    }

    #[test]
    fn several_operators_on_one_field() {
        match parse_query(&json!({"a": {"$gt": 1, "$lt": 5}}), false).unwrap() {
            Expr::And(v) => assert_eq!(v.len(), 2),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn typed_values_are_equality() {
        match parse_query(
            &json!({"p": {"__type": "Pointer", "className": "A", "objectId": "x"}}),
            false,
        )
        .unwrap()
        {
            Expr::Field(_, Cond::Eq(_)) => {}
            other => panic!("{other:?}"),
        }
    }
}
