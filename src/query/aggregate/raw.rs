//! Parse Server 9's raw aggregation options, as its MongoDB adapter honours them. With
//! `rawFieldNames` the pipeline names fields as MongoDB stores them (`_id`, `_created_at`,
//! `_updated_at`, a Pointer as `_p_<field>: "Class$objectId"`: the stages read those names
//! already) and the results come back in that document form, not Parse's (no `_id` →
//! `objectId`, dates as ISO strings, as a JavaScript Date is sent). With `rawValues` the pipeline's values are MongoDB Extended JSON
//! (`{"$date": …}`, `{"$numberLong": …}`, `{"$oid": …}`), read without the schema's coercion,
//! and the results' dates come back as `{"$date": "<iso>"}` (relaxed EJSON).

use crate::codec::parse_type;
use serde_json::{json, Map, Value};

type Row = Map<String, Value>;

/// What a pipeline asks of the raw options.
#[derive(Debug, Clone, Copy, Default)]
pub struct Raw {
    pub values: bool,
    pub field_names: bool,
}

/// A value of the pipeline with its Extended JSON read: dates as the evaluator's dates,
/// MongoDB's number and id wrappers as plain numbers and strings.
pub fn from_ejson(v: &Value) -> Value {
    match v {
        Value::Array(a) => Value::Array(a.iter().map(from_ejson).collect()),
        Value::Object(m) => wrapped(m).unwrap_or_else(|| {
            Value::Object(m.iter().map(|(k, x)| (k.clone(), from_ejson(x))).collect())
        }),
        other => other.clone(),
    }
}

/// The value an Extended JSON wrapper (`{"$date": …}`, `{"$numberLong": "…"}`, `{"$oid": …}`)
/// stands for; None for any other object.
fn wrapped(m: &Map<String, Value>) -> Option<Value> {
    let [(k, inner)] = m.iter().collect::<Vec<_>>()[..] else {
        return None;
    };
    match (k.as_str(), inner) {
        ("$date", Value::String(iso)) => Some(json!({"__type": "Date", "iso": iso})),
        ("$date", Value::Number(ms)) => Some(date_of_millis(ms.as_f64())),
        ("$date", Value::Object(n)) => {
            let ms = n.get("$numberLong")?.as_str()?;
            Some(date_of_millis(ms.parse().ok()))
        }
        ("$numberInt" | "$numberLong" | "$numberDouble" | "$numberDecimal", Value::String(s)) => {
            let f = s.parse::<f64>().ok()?;
            if f.fract() == 0.0 && f.abs() < 9e15 {
                Some(json!(f as i64))
            } else {
                serde_json::Number::from_f64(f).map(Value::Number)
            }
        }
        ("$oid", Value::String(s)) => Some(json!(s)),
        _ => None,
    }
}

fn date_of_millis(ms: Option<f64>) -> Value {
    let iso = ms
        .and_then(|ms| chrono::DateTime::from_timestamp_millis(ms as i64))
        .map(|d| d.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string());
    match iso {
        Some(iso) => json!({"__type": "Date", "iso": iso}),
        None => Value::Null,
    }
}

/// A `$match` in MongoDB's field names as a Parse query: `_p_<field>` compared with
/// `Class$objectId` strings becomes the Pointer field (`_id` and the dates are renamed by the
/// caller).
pub fn pointer_names(q: &Value) -> Value {
    let Value::Object(m) = q else {
        return q.clone();
    };
    let pointer = |s: &str| {
        s.split_once('$')
            .map(|(c, id)| json!({"__type": "Pointer", "className": c, "objectId": id}))
    };
    let convert = |v: &Value| -> Option<Value> {
        match v {
            Value::String(s) => pointer(s),
            Value::Object(ops) => {
                let mut out = Map::new();
                for (op, x) in ops {
                    let x = match (op.as_str(), x) {
                        ("$eq" | "$ne", Value::String(s)) => pointer(s)?,
                        ("$in" | "$nin", Value::Array(a)) => Value::Array(
                            a.iter()
                                .map(|e| e.as_str().and_then(pointer))
                                .collect::<Option<Vec<_>>>()?,
                        ),
                        ("$exists", _) => x.clone(),
                        _ => return None,
                    };
                    out.insert(op.clone(), x);
                }
                Some(Value::Object(out))
            }
            _ => None,
        }
    };
    Value::Object(
        m.iter()
            .map(|(k, v)| {
                if matches!(k.as_str(), "$and" | "$or" | "$nor") {
                    if let Value::Array(a) = v {
                        return (
                            k.clone(),
                            Value::Array(a.iter().map(pointer_names).collect()),
                        );
                    }
                }
                match (k.strip_prefix("_p_"), convert(v)) {
                    (Some(field), Some(v)) => (field.to_string(), v),
                    _ => (k.clone(), v.clone()),
                }
            })
            .collect(),
    )
}

/// A result row in MongoDB's document form: the dates Parse keeps as `createdAt`/`updatedAt`
/// as `_created_at`/`_updated_at`, each Pointer field but `_id` as
/// `_p_<field>: "Class$objectId"`.
pub fn document(mut row: Row) -> Row {
    for (parse, mongo) in [("createdAt", "_created_at"), ("updatedAt", "_updated_at")] {
        if let Some(v) = row.remove(parse) {
            row.insert(mongo.into(), v);
        }
    }
    let pointers: Vec<String> = row
        .iter()
        .filter(|(k, v)| *k != "_id" && parse_type(v) == Some("Pointer"))
        .map(|(k, _)| k.clone())
        .collect();
    for f in pointers {
        if let Some(p) = row.remove(&f) {
            let class = p
                .get("className")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let id = p
                .get("objectId")
                .and_then(Value::as_str)
                .unwrap_or_default();
            row.insert(format!("_p_{f}"), json!(format!("{class}${id}")));
        }
    }
    row
}

/// A result's dates as the raw options send them: `{"$date": iso}` with `rawValues`, else the
/// ISO string (a JavaScript Date sent as JSON).
pub fn dates_out(v: Value, ejson: bool) -> Value {
    match v {
        Value::Object(mut m) if m.get("__type").and_then(Value::as_str) == Some("Date") => {
            let iso = m.remove("iso").unwrap_or(Value::Null);
            if ejson {
                json!({ "$date": iso })
            } else {
                iso
            }
        }
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, x)| (k, dates_out(x, ejson)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(|x| dates_out(x, ejson)).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extended_json_in_and_out() {
        let v = from_ejson(
            &json!({"when": {"$gte": {"$date": "2020-01-05T00:00:00.000Z"}},
            "n": {"$numberLong": "42"}, "at": {"$date": {"$numberLong": "0"}}}),
        );
        assert_eq!(
            v["when"]["$gte"],
            json!({"__type": "Date", "iso": "2020-01-05T00:00:00.000Z"})
        );
        assert_eq!(v["n"], json!(42));
        assert_eq!(v["at"]["iso"], "1970-01-01T00:00:00.000Z");
        let d = json!({"w": {"__type": "Date", "iso": "2020-01-05T00:00:00.000Z"}, "l": [1]});
        assert_eq!(
            dates_out(d.clone(), true)["w"],
            json!({"$date": "2020-01-05T00:00:00.000Z"})
        );
        assert_eq!(dates_out(d, false)["w"], "2020-01-05T00:00:00.000Z");
    }

    #[test]
    fn documents_and_their_pointer_names() {
        let row = json!({"_id": "a", "createdAt": {"__type": "Date", "iso": "x"},
            "owner": {"__type": "Pointer", "className": "Owner", "objectId": "o1"}, "n": 1});
        let doc = document(row.as_object().unwrap().clone());
        assert_eq!(doc.get("_p_owner"), Some(&json!("Owner$o1")));
        assert!(doc.contains_key("_created_at") && !doc.contains_key("owner"));
        let q =
            pointer_names(&json!({"_p_owner": "Owner$o1", "$or": [{"_p_a": {"$in": ["A$1"]}}]}));
        assert_eq!(q["owner"]["objectId"], "o1");
        assert_eq!(q["$or"][0]["a"]["$in"][0]["className"], "A");
    }
}
