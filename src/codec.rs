//! Parse values ⇄ DynamoDB attribute values, and Parse objects ⇄ DynamoDB items.
//!
//! Values are stored as native DynamoDB types (M, L, S, N, BOOL, NULL) so filter expressions can
//! run server-side. Parse's typed values keep their JSON shape (`{"__type":"Date","iso":…}` is an
//! M with `__type` and `iso`), after `canonical` has put them in one form: Date `iso` strings are
//! re-formatted to `YYYY-MM-DDTHH:MM:SS.sssZ` (so they order as strings), Pointers keep only
//! `__type/className/objectId`, File fields only `__type/name`. `createdAt`/`updatedAt`, which Parse
//! hands over as ISO strings, are stored as Date maps like every other date and given back as
//! strings. An item holds the class (`_pk_className`), the key (`_sk_id`) and a revision counter
//! (`_rev`, for conditional writes) beside the object's fields.

use crate::error::{Error, Result};
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Map, Number, Value};
use std::collections::HashMap;

pub const PK: &str = "_pk_className";
pub const SK: &str = "_sk_id";
pub const REV: &str = "_rev";
/// The attribute DynamoDB's TTL deletes items by (epoch seconds): on the objects of a class
/// with `ttl` and everything kept for them, request claims and LiveQuery messages. Not a field.
pub const EXPIRES: &str = "_expires";
/// The tokens of the last writes of an object item (random per write, newest first, at most
/// `TOKENS_KEPT`): after an answer lost on the way (the write happened, the client did not
/// hear it), a retry that fails its condition reads the item and knows whether one of the
/// revisions since was its own write.
pub const TOKEN: &str = "_wt";
pub const TOKENS_KEPT: usize = 8;
/// The pointer of an object too large for one item to the chunks holding the rest of its fields
/// (`store::chunks`): the version (`v`), how many chunks (`n`), which fields they hold (`m`,
/// or `a` when they may hold any), the object's key (`k`), the size of their JSON (`b`) and
/// `z` when deflated. Not a field.
pub const CHUNKS: &str = "_ch";
/// Set in the pointer of an item read with its chunks spliced in (never stored).
pub const CHUNKS_READ: &str = "r";

pub type Item = HashMap<String, AttributeValue>;

/// Encodes one JSON value as a DynamoDB attribute value.
pub fn to_attr(v: &Value) -> Result<AttributeValue> {
    Ok(match v {
        Value::Null => AttributeValue::Null(true),
        Value::Bool(b) => AttributeValue::Bool(*b),
        Value::Number(n) => AttributeValue::N(number_to_dynamo(n)?),
        Value::String(s) => AttributeValue::S(s.clone()),
        Value::Array(a) => AttributeValue::L(a.iter().map(to_attr).collect::<Result<_>>()?),
        Value::Object(m) => {
            let mut out = HashMap::with_capacity(m.len() + 1);
            for (k, v) in m {
                out.insert(k.clone(), to_attr(v)?);
            }
            // A DynamoDB map keeps no key order; MongoDB keeps an object's. When it is not
            // the sorted order a read would give, the order is kept beside the keys.
            if !m.keys().zip(m.keys().skip(1)).all(|(a, b)| a < b) {
                let order = m.keys().map(|k| AttributeValue::S(k.clone())).collect();
                out.insert(KEY_ORDER.into(), AttributeValue::L(order));
            }
            AttributeValue::M(out)
        }
    })
}

/// The map entry that keeps an object's key order: a name no stored object key can have
/// (nested keys with `$` are refused, as MongoDB refuses them).
pub const KEY_ORDER: &str = "$keys";

/// Decodes a DynamoDB attribute value. Sets (written by other tools) decode as arrays.
pub fn from_attr(a: &AttributeValue) -> Result<Value> {
    Ok(match a {
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::Bool(b) => Value::Bool(*b),
        AttributeValue::N(n) => Value::Number(number_from_dynamo(n)?),
        AttributeValue::S(s) => Value::String(s.clone()),
        AttributeValue::L(l) => Value::Array(l.iter().map(from_attr).collect::<Result<_>>()?),
        AttributeValue::M(m) => {
            let mut out = Map::with_capacity(m.len());
            // Keys in their kept order, then (added since by a nested update) the rest sorted.
            if let Some(AttributeValue::L(order)) = m.get(KEY_ORDER) {
                for k in order.iter().filter_map(|k| k.as_s().ok()) {
                    if let Some(v) = m.get(k).filter(|_| k != KEY_ORDER) {
                        out.insert(k.clone(), from_attr(v)?);
                    }
                }
            }
            let mut keys: Vec<&String> = m
                .keys()
                .filter(|k| *k != KEY_ORDER && !out.contains_key(*k))
                .collect();
            keys.sort();
            for k in keys {
                out.insert(k.clone(), from_attr(&m[k])?);
            }
            Value::Object(out)
        }
        AttributeValue::Ss(s) => Value::Array(s.iter().cloned().map(Value::String).collect()),
        AttributeValue::Ns(ns) => Value::Array(
            ns.iter()
                .map(|n| number_from_dynamo(n).map(Value::Number))
                .collect::<Result<_>>()?,
        ),
        AttributeValue::B(b) => Value::String(base64_encode(b.as_ref())),
        AttributeValue::Bs(bs) => Value::Array(
            bs.iter()
                .map(|b| Value::String(base64_encode(b.as_ref())))
                .collect(),
        ),
        _ => return Err(Error::Internal("unknown DynamoDB attribute type".into())),
    })
}

fn number_to_dynamo(n: &Number) -> Result<String> {
    if let Some(i) = n.as_i64() {
        return Ok(i.to_string());
    }
    if let Some(u) = n.as_u64() {
        return Ok(u.to_string());
    }
    let f = n.as_f64().ok_or_else(|| Error::json("invalid number"))?;
    if !f.is_finite() {
        return Err(Error::json("numbers must be finite"));
    }
    let a = f.abs();
    if a != 0.0 && !(1e-130..1e126).contains(&a) {
        return Err(Error::json(format!(
            "number {f} is outside the range DynamoDB can store (1e-130 to 1e126)"
        )));
    }
    // Rust's shortest round-trip formatting; scientific for very large/small magnitudes.
    Ok(if a != 0.0 && !(1e-6..1e21).contains(&a) {
        format!("{f:e}")
    } else {
        format!("{f}")
    })
}

fn number_from_dynamo(s: &str) -> Result<Number> {
    if !s.contains(['.', 'e', 'E']) {
        if let Ok(i) = s.parse::<i64>() {
            return Ok(Number::from(i));
        }
    }
    let f: f64 = s
        .parse()
        .map_err(|_| Error::Internal(format!("bad number in item: {s}")))?;
    Number::from_f64(f).ok_or_else(|| Error::Internal(format!("bad number in item: {s}")))
}

fn base64_encode(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for c in bytes.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Normalises a date string to `YYYY-MM-DDTHH:MM:SS.sssZ` (UTC), the form that orders as text.
pub fn normalize_iso(s: &str) -> Result<String> {
    use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
    let parsed: Option<DateTime<Utc>> = DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|n| n.and_utc())
        })
        .or_else(|| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|n| n.and_utc())
        });
    match parsed {
        Some(d) => Ok(d.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()),
        None => Err(Error::json(format!("invalid date: {s}"))),
    }
}

pub fn date_value(iso: String) -> Value {
    let mut m = Map::new();
    m.insert("__type".into(), Value::String("Date".into()));
    m.insert("iso".into(), Value::String(iso));
    Value::Object(m)
}

/// The `__type` of a Parse typed value, if it is one.
pub fn parse_type(v: &Value) -> Option<&str> {
    v.as_object()?.get("__type")?.as_str()
}

/// Puts a Parse value (to be stored or compared) into its one canonical form.
pub fn canonical(v: &Value) -> Result<Value> {
    match v {
        Value::Object(m) => match m.get("__type").and_then(Value::as_str) {
            Some("Date") => {
                // Parse sometimes wraps a date twice (`{__type: Date, iso: <a JS Date>}`).
                let iso = match m.get("iso") {
                    Some(Value::String(s)) => s.as_str(),
                    Some(inner @ Value::Object(_)) => return canonical(inner),
                    _ => return Err(Error::json("Date without iso")),
                };
                Ok(date_value(normalize_iso(iso)?))
            }
            Some("Pointer") => {
                let mut out = Map::new();
                out.insert("__type".into(), "Pointer".into());
                for k in ["className", "objectId"] {
                    // A numeric objectId (e.g. `_GlobalConfig`'s 1) is taken as its text. Any
                    // other objectId is its JavaScript text too, as Parse's Mongo transform
                    // writes `${className}$${objectId}`: a missing (undefined) one is
                    // "undefined", null is "null", so such pointers still equal each other.
                    let s = match (m.get(k), k) {
                        (Some(Value::String(s)), _) => s.clone(),
                        (Some(Value::Number(n)), "objectId") => n.to_string(),
                        (Some(Value::Bool(b)), "objectId") => b.to_string(),
                        (Some(Value::Null), "objectId") => "null".into(),
                        (None, "objectId") => "undefined".into(),
                        _ => return Err(Error::json(format!("Pointer without {k}"))),
                    };
                    out.insert(k.into(), Value::String(s));
                }
                Ok(Value::Object(out))
            }
            _ => {
                let mut out = Map::with_capacity(m.len());
                for (k, v) in m {
                    out.insert(k.clone(), canonical(v)?);
                }
                Ok(Value::Object(out))
            }
        },
        Value::Array(a) => Ok(Value::Array(
            a.iter().map(canonical).collect::<Result<_>>()?,
        )),
        other => Ok(other.clone()),
    }
}

/// Refuses keys with `$` or `.` inside stored object values (they could not be queried or
/// updated by path), as Parse's MongoDB adapter does.
pub fn check_nested_keys(v: &Value) -> Result<()> {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if k.contains('$') || k.contains('.') {
                    return Err(Error::InvalidNestedKey);
                }
                check_nested_keys(x)?;
            }
            Ok(())
        }
        Value::Array(a) => a.iter().try_for_each(check_nested_keys),
        _ => Ok(()),
    }
}

/// Fields Parse passes (and expects back) as plain ISO strings.
pub fn is_string_date_field(name: &str) -> bool {
    name == "createdAt" || name == "updatedAt"
}

/// Canonical stored form of a top-level field value.
/// A File in a field keeps only its name (Parse Server adds the URL when it reads it); Files
/// nested in objects or arrays are kept whole, as Parse's Mongo adapter does.
pub fn canonical_field(name: &str, v: &Value) -> Result<Value> {
    check_nested_keys(v)?;
    if is_string_date_field(name) {
        if let Value::String(s) = v {
            return Ok(date_value(normalize_iso(s)?));
        }
    }
    if parse_type(v) == Some("Polygon") {
        return canonical_polygon(v);
    }
    if parse_type(v) == Some("File") {
        let mut out = Map::new();
        out.insert("__type".into(), "File".into());
        out.insert("name".into(), v.get("name").cloned().unwrap_or(Value::Null));
        return Ok(Value::Object(out));
    }
    canonical(v)
}

/// A Polygon field: at least 3 distinct points, valid coordinates, and a closed ring (the first
/// point repeated at the end), as Parse's MongoDB adapter stores it.
fn canonical_polygon(v: &Value) -> Result<Value> {
    let coords = v
        .get("coordinates")
        .and_then(Value::as_array)
        .ok_or_else(|| Error::json("Polygon needs coordinates"))?;
    let mut points: Vec<(f64, f64)> = Vec::with_capacity(coords.len() + 1);
    for c in coords {
        let pair = c.as_array().filter(|a| a.len() == 2);
        let (lat, lng) = match pair.map(|a| (a[0].as_f64(), a[1].as_f64())) {
            Some((Some(a), Some(b))) => (a, b),
            _ => {
                return Err(Error::json(
                    "bad Polygon coordinate: [latitude, longitude] numbers expected",
                ))
            }
        };
        if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lng) {
            return Err(Error::json(format!(
                "Polygon coordinate out of bounds: [{lat}, {lng}]"
            )));
        }
        points.push((lat, lng));
    }
    let mut distinct = points.clone();
    distinct.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    distinct.dedup();
    if distinct.len() < 3 {
        return Err(Error::json("Polygon must have at least 3 distinct points"));
    }
    if points.first() != points.last() {
        points.push(points[0]);
    }
    if self_intersects(&points) {
        return Err(Error::json(
            "Polygon edges cross each other (the ring is not simple)",
        ));
    }
    let coords: Vec<Value> = points
        .iter()
        .map(|(a, b)| serde_json::json!([a, b]))
        .collect();
    Ok(serde_json::json!({"__type": "Polygon", "coordinates": coords}))
}

/// Whether two non-adjacent edges of a closed ring cross.
fn self_intersects(ring: &[(f64, f64)]) -> bool {
    fn orient(a: (f64, f64), b: (f64, f64), c: (f64, f64)) -> f64 {
        (b.0 - a.0) * (c.1 - a.1) - (b.1 - a.1) * (c.0 - a.0)
    }
    let edges: Vec<((f64, f64), (f64, f64))> = ring.windows(2).map(|w| (w[0], w[1])).collect();
    let n = edges.len();
    for i in 0..n {
        for j in i + 1..n {
            // Neighbours share a vertex (and so do the first and last edge).
            if j == i + 1 || (i == 0 && j == n - 1) {
                continue;
            }
            let ((p1, p2), (q1, q2)) = (edges[i], edges[j]);
            let (d1, d2) = (orient(q1, q2, p1), orient(q1, q2, p2));
            let (d3, d4) = (orient(p1, p2, q1), orient(p1, p2, q2));
            if d1 * d2 < 0.0 && d3 * d4 < 0.0 {
                return true;
            }
        }
    }
    false
}

/// Builds the item for an object: class, key, revision and its canonical fields.
pub fn object_to_item(class: &str, key: &str, rev: i64, obj: &Map<String, Value>) -> Result<Item> {
    let mut item = Item::with_capacity(obj.len() + 3);
    item.insert(PK.into(), AttributeValue::S(class.into()));
    item.insert(SK.into(), AttributeValue::S(key.into()));
    item.insert(REV.into(), AttributeValue::N(rev.to_string()));
    for (k, v) in obj {
        if k == "objectId" {
            continue;
        }
        item.insert(k.clone(), to_attr(v)?);
    }
    Ok(item)
}

/// A stored object as read back: its key, revision and fields (stored form, `objectId` set).
#[derive(Debug, Clone)]
pub struct Stored {
    pub key: String,
    pub rev: i64,
    pub obj: Map<String, Value>,
    /// The tokens of the writes that made the last revisions, newest first (empty for items
    /// written before tokens).
    pub tokens: Vec<String>,
    /// When DynamoDB's TTL deletes the item (epoch seconds), as the item says (`EXPIRES`).
    pub expires: Option<i64>,
    /// The chunks holding part of its fields, when the object is too large for one item.
    pub chunks: Option<ChunkRef>,
}

/// A version of an object's chunks, as the pointer in its item names it (`CHUNKS`); two are
/// the same when their versions are.
#[derive(Debug, Clone)]
pub struct ChunkRef {
    pub version: String,
    pub count: usize,
    /// The pointer as stored (without the read mark).
    pub pointer: HashMap<String, AttributeValue>,
}

impl PartialEq for ChunkRef {
    fn eq(&self, other: &ChunkRef) -> bool {
        self.version == other.version
    }
}

impl Eq for ChunkRef {}

/// The chunks an item points at, if it is the head of a chunked object.
pub fn item_chunks(item: &Item) -> Option<ChunkRef> {
    let AttributeValue::M(p) = item.get(CHUNKS)? else {
        return None;
    };
    let version = p.get("v")?.as_s().ok()?.clone();
    let count = p.get("n")?.as_n().ok()?.parse().ok()?;
    let mut pointer = p.clone();
    pointer.remove(CHUNKS_READ);
    Some(ChunkRef {
        version,
        count,
        pointer,
    })
}

/// An item's revision (`REV`; 0 without one).
pub fn item_rev(item: &Item) -> i64 {
    match item.get(REV) {
        Some(AttributeValue::N(n)) => n.parse().unwrap_or(0),
        _ => 0,
    }
}

/// The write tokens an item carries, newest first.
pub fn item_tokens(item: &Item) -> Vec<String> {
    match item.get(TOKEN) {
        Some(AttributeValue::L(l)) => l.iter().filter_map(|t| t.as_s().ok().cloned()).collect(),
        Some(AttributeValue::S(t)) => vec![t.clone()],
        _ => Vec::new(),
    }
}

pub fn item_to_stored(item: &Item) -> Result<Stored> {
    if let Some(AttributeValue::M(p)) = item.get(CHUNKS) {
        // Its fields in chunks are spliced in by the store's reads (`store::chunks`), which
        // mark the pointer; a head alone would be a partial object.
        if !p.contains_key(CHUNKS_READ) {
            return Err(Error::Internal(
                "a chunked object's head was read without its chunks".into(),
            ));
        }
    }
    let key = match item.get(SK) {
        Some(AttributeValue::S(s)) => s.clone(),
        _ => return Err(Error::Internal("item without key".into())),
    };
    let rev = item_rev(item);
    let mut obj = Map::with_capacity(item.len());
    // `_Join` rows are keyed `owningId:relatedId` and have no objectId.
    let join_row = matches!(item.get(PK), Some(AttributeValue::S(c)) if c.starts_with("_Join:"));
    if !join_row {
        obj.insert("objectId".into(), Value::String(key.clone()));
    }
    let mut names: Vec<&String> = item.keys().collect();
    names.sort();
    for k in names {
        if k == PK || k == SK || k == REV || k == TOKEN || k == EXPIRES || k == CHUNKS {
            continue;
        }
        obj.insert(k.clone(), from_attr(&item[k])?);
    }
    let tokens = item_tokens(item);
    let expires = match item.get(EXPIRES) {
        Some(AttributeValue::N(n)) => n.parse().ok(),
        _ => None,
    };
    Ok(Stored {
        chunks: item_chunks(item),
        expires,
        key,
        rev,
        obj,
        tokens,
    })
}

/// Rough DynamoDB item size (attribute names + values), for the 400 KB limit check.
pub fn item_size(item: &Item) -> usize {
    item_measure(item).0
}

/// One value's size (as DynamoDB counts it) and its levels (as `nesting`), in one walk.
pub fn attr_measure(a: &AttributeValue) -> (usize, usize) {
    let inner = |parts: &mut dyn Iterator<Item = (usize, &AttributeValue)>| {
        let (mut bytes, mut deepest) = (3, 0);
        for (name, v) in parts {
            let (b, d) = attr_measure(v);
            bytes += 1 + name + b;
            deepest = deepest.max(d);
        }
        (bytes, 1 + deepest)
    };
    match a {
        AttributeValue::S(s) => (s.len(), 1),
        AttributeValue::N(n) => (n.len().div_ceil(2) + 1, 1),
        AttributeValue::L(l) => inner(&mut l.iter().map(|v| (0, v))),
        AttributeValue::M(m) => inner(&mut m.iter().map(|(k, v)| (k.len(), v))),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => (1, 1),
        _ => (0, 1),
    }
}

/// An item's size (as `item_size`) and its deepest level (as `nesting`), in one walk.
pub fn item_measure(item: &Item) -> (usize, usize) {
    item.iter().fold((0, 0), |(bytes, deepest), (k, v)| {
        let (b, d) = attr_measure(v);
        (bytes + k.len() + b, deepest.max(d))
    })
}

pub const MAX_ITEM_BYTES: usize = 400 * 1024;

/// DynamoDB stores documents nested up to 32 levels, a top-level attribute's value being level
/// 1 ("Nested attribute depth" in
/// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Constraints.html).
pub const MAX_NESTING: usize = 32;

/// The levels of one value (a scalar is 1; each map or list around a value adds one).
pub fn nesting(a: &AttributeValue) -> usize {
    match a {
        AttributeValue::L(l) => 1 + l.iter().map(nesting).max().unwrap_or(0),
        AttributeValue::M(m) => 1 + m.values().map(nesting).max().unwrap_or(0),
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nesting_counts_levels_as_dynamodb_does() {
        let mut v = json!("leaf");
        for _ in 0..31 {
            v = json!({ "k": v });
        }
        let item: Item = HashMap::from([("d".to_string(), to_attr(&v).unwrap())]);
        assert_eq!(item_measure(&item).1, 32);
        // A map whose key order is kept holds one more level: its list of keys.
        let unsorted = json!({"b": 1, "a": 2});
        let item: Item = HashMap::from([("d".to_string(), to_attr(&unsorted).unwrap())]);
        assert_eq!(item_measure(&item).1, 3);
        assert_eq!(nesting(&AttributeValue::S("x".into())), 1);
    }

    #[test]
    fn round_trips_json() {
        let v = json!({"a": 1, "b": [1.5, "x", null, true, {"c": -3}], "d": {}, "e": [], "f": ""});
        let back = from_attr(&to_attr(&v).unwrap()).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn objects_keep_their_key_order() {
        let v: Value = serde_json::from_str(
            r#"{"token": "t", "expiry": 1, "n": {"b": 1, "a": [{"z": 0, "y": 1}]}}"#,
        )
        .unwrap();
        let back = from_attr(&to_attr(&v).unwrap()).unwrap();
        assert_eq!(
            serde_json::to_string(&back).unwrap(),
            serde_json::to_string(&v).unwrap()
        );
        // Sorted objects need nothing beside their keys.
        let sorted = json!({"a": 1, "b": 2});
        assert!(matches!(to_attr(&sorted).unwrap(), AttributeValue::M(m) if m.len() == 2));
        // A key added later by a nested update comes after the kept ones; removed ones are skipped.
        let AttributeValue::M(mut m) = to_attr(&v).unwrap() else {
            panic!()
        };
        m.insert("added".into(), AttributeValue::N("1".into()));
        m.remove("expiry");
        let back = from_attr(&AttributeValue::M(m)).unwrap();
        assert_eq!(
            back.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["token", "n", "added"]
        );
    }

    #[test]
    fn numbers_keep_their_value() {
        for n in [
            json!(0),
            json!(-0.5),
            json!(1e20),
            json!(1e-7),
            json!(123456789012345i64),
            json!(0.1),
        ] {
            assert_eq!(from_attr(&to_attr(&n).unwrap()).unwrap(), n, "{n}");
        }
        assert!(to_attr(&json!(1e200)).is_err());
    }

    #[test]
    fn dates_are_normalized() {
        let d = canonical(&json!({"__type": "Date", "iso": "2016-01-02T03:04:05Z"})).unwrap();
        assert_eq!(
            d,
            json!({"__type": "Date", "iso": "2016-01-02T03:04:05.000Z"})
        );
        let d = canonical_field("createdAt", &json!("2016-01-02T03:04:05.5+01:00")).unwrap();
        assert_eq!(d["iso"], "2016-01-02T02:04:05.500Z");
        assert!(canonical(&json!({"__type": "Date", "iso": "nope"})).is_err());
        let twice =
            json!({"__type": "Date", "iso": {"__type": "Date", "iso": "2016-01-02T03:04:05.000Z"}});
        assert_eq!(
            canonical(&twice).unwrap()["iso"],
            "2016-01-02T03:04:05.000Z"
        );
    }

    #[test]
    fn pointers_and_files_are_reduced() {
        let p = canonical(
            &json!({"__type": "Pointer", "className": "A", "objectId": "x", "name": "n"}),
        )
        .unwrap();
        assert_eq!(
            p,
            json!({"__type": "Pointer", "className": "A", "objectId": "x"})
        );
        let file = json!({"__type": "File", "name": "f.txt", "url": "http://x"});
        let f = canonical_field("f", &file).unwrap();
        assert_eq!(f, json!({"__type": "File", "name": "f.txt"}));
        assert_eq!(
            canonical(&json!({"files": [file.clone()]})).unwrap(),
            json!({"files": [file]})
        );
    }

    #[test]
    fn nested_keys_with_dollar_or_dot_are_refused() {
        let e = canonical_field("o", &json!({"a": {"b.c": 1}})).unwrap_err();
        assert_eq!(e.code(), crate::error::code::INVALID_NESTED_KEY);
        assert!(canonical_field("o", &json!([{"$x": 1}])).is_err());
        assert!(canonical_field("o", &json!({"a": {"b": [1, {"c": 2}]}})).is_ok());
    }

    #[test]
    fn polygons_are_closed_and_validated() {
        let p = canonical_field(
            "p",
            &json!({"__type": "Polygon", "coordinates": [[0, 0], [0, 1], [1, 1]]}),
        )
        .unwrap();
        assert_eq!(p["coordinates"].as_array().unwrap().len(), 4);
        assert!(canonical_field(
            "p",
            &json!({"__type": "Polygon", "coordinates": [[0, 0], [0, 1], [0, 0]]})
        )
        .is_err());
        assert!(canonical_field(
            "p",
            &json!({"__type": "Polygon", "coordinates": [[0, 0], [0, 1], [200, 1]]})
        )
        .is_err());
    }

    #[test]
    fn object_ids_may_contain_colons_and_join_rows_have_none() {
        let obj = json!({"objectId": "role:Admin", "n": 1});
        let item = object_to_item("_User", "role:Admin", 1, obj.as_object().unwrap()).unwrap();
        assert_eq!(item_to_stored(&item).unwrap().obj["objectId"], "role:Admin");
        let row = json!({"owningId": "a", "relatedId": "b"});
        let item = object_to_item("_Join:x:C", "a:b", 1, row.as_object().unwrap()).unwrap();
        assert!(item_to_stored(&item).unwrap().obj.get("objectId").is_none());
    }

    #[test]
    fn item_round_trip() {
        let obj = json!({"objectId": "abc", "n": 2, "s": "t"});
        let item = object_to_item("C", "abc", 3, obj.as_object().unwrap()).unwrap();
        let st = item_to_stored(&item).unwrap();
        assert_eq!(st.key, "abc");
        assert_eq!(st.rev, 3);
        assert_eq!(Value::Object(st.obj), obj);
    }
}
