//! Parse JSON values as MongoDB sees them, for every room that reads objects: the values at a
//! dotted path (arrays of objects traversed), deep equality with numbers by value, and the
//! order MongoDB sorts by (type first, then value). The evaluator (`query::eval`) decides
//! matches with them; index entries (`index`) and the table layout (`layout`) take values and
//! their order from here too, so neither climbs into the query rooms.

use crate::codec::parse_type;
use serde_json::{Map, Value};
use std::cmp::Ordering;

/// Values at a dotted path; arrays of objects on the way are traversed (Mongo semantics).
pub fn collect_path<'a>(obj: &'a Map<String, Value>, path: &[String], out: &mut Vec<&'a Value>) {
    let Some(first) = path.first() else { return };
    let Some(v) = obj.get(first.as_str()) else {
        return;
    };
    descend(v, &path[1..], out);
}

fn descend<'a>(v: &'a Value, rest: &[String], out: &mut Vec<&'a Value>) {
    if rest.is_empty() {
        out.push(v);
        return;
    }
    match v {
        Value::Object(m) => collect_path(m, rest, out),
        Value::Array(a) => {
            if let Ok(i) = rest[0].parse::<usize>() {
                if let Some(e) = a.get(i) {
                    descend(e, &rest[1..], out);
                }
            }
            for e in a {
                if e.is_object() {
                    descend(e, rest, out);
                }
            }
        }
        _ => {}
    }
}

/// Deep equality with numbers compared by value and object keys in any order.
pub fn value_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| value_eq(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| value_eq(v, w)))
        }
        _ => a == b,
    }
}

/// Orders two values of the same kind (numbers, strings, dates, booleans); None otherwise.
pub fn cmp_same_type(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::String(x), Value::String(y)) => Some(x.as_str().cmp(y.as_str())),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        _ => match (date_iso(a), date_iso(b)) {
            (Some(x), Some(y)) => Some(x.cmp(y)),
            // A date compared with an ISO string (aggregation `$match` sends them as text).
            (Some(x), None) => b
                .as_str()
                .and_then(|s| crate::codec::normalize_iso(s).ok())
                .map(|y| x.cmp(y.as_str())),
            _ => None,
        },
    }
}

pub fn date_iso(v: &Value) -> Option<&str> {
    if parse_type(v) == Some("Date") {
        v.get("iso")?.as_str()
    } else {
        None
    }
}

/// Total order for sorting, by type first as MongoDB does: missing/null, numbers, strings,
/// objects, arrays, booleans, dates.
pub fn sort_cmp(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    fn rank(v: Option<&Value>) -> u8 {
        match v {
            None | Some(Value::Null) => 0,
            Some(Value::Number(_)) => 1,
            Some(Value::String(_)) => 2,
            Some(v @ Value::Object(_)) if date_iso(v).is_some() => 6,
            Some(Value::Object(_)) => 3,
            Some(Value::Array(_)) => 4,
            Some(Value::Bool(_)) => 5,
        }
    }
    let (ra, rb) = (rank(a), rank(b));
    if ra != rb {
        return ra.cmp(&rb);
    }
    match (a, b) {
        (Some(x), Some(y)) => match cmp_same_type(x, y) {
            Some(o) => o,
            None => match (x, y) {
                (Value::Object(p), Value::Object(q)) => {
                    // Pointers (and other objects) order by their JSON text.
                    serde_json::to_string(p)
                        .unwrap_or_default()
                        .cmp(&serde_json::to_string(q).unwrap_or_default())
                }
                (Value::Array(p), Value::Array(q)) => {
                    for (e, f) in p.iter().zip(q) {
                        let o = sort_cmp(Some(e), Some(f));
                        if o != Ordering::Equal {
                            return o;
                        }
                    }
                    p.len().cmp(&q.len())
                }
                _ => Ordering::Equal,
            },
        },
        _ => Ordering::Equal,
    }
}

/// Great-circle distance in radians.
pub fn distance_radians(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (la1, lo1) = (a.0.to_radians(), a.1.to_radians());
    let (la2, lo2) = (b.0.to_radians(), b.1.to_radians());
    let h = ((la2 - la1) / 2.0).sin().powi(2)
        + la1.cos() * la2.cos() * ((lo2 - lo1) / 2.0).sin().powi(2);
    2.0 * h.sqrt().min(1.0).asin()
}
