//! Parse's object forms ⇄ the objects this adapter stores (as Parse's MongoTransform does for
//! MongoDB): what `createObject` hands over becomes a stored object (`authData` gathered,
//! dotted keys nested, values canonical), and a stored object goes back as Parse JSON
//! (`createdAt`/`updatedAt` as strings, Relation fields added from the schema).

use crate::codec::{self, canonical, canonical_field};
use crate::error::{Error, Result};
use crate::query::eval;
use crate::update;
use serde_json::{json, Map, Value};

/// Stored form of an object Parse hands to createObject. On `_User`, `_auth_data_<provider>`
/// keys (and an `authData` object) become the `authData` map.
pub fn prepare_new(class: &str, object: &Value) -> Result<Map<String, Value>> {
    let users = class == "_User";
    let m = object
        .as_object()
        .ok_or_else(|| Error::json("object must be a JSON object"))?;
    let mut out = Map::with_capacity(m.len());
    for (k, v) in m {
        if let Some(path) = update::auth_data_path(k).filter(|_| users) {
            if !v.is_null() {
                let provider = path.trim_start_matches("authData.").to_string();
                if let Value::Object(a) = out.entry("authData").or_insert_with(|| json!({})) {
                    a.insert(provider, codec::canonical(v)?);
                }
            }
            continue;
        }
        if k == "authData" && users {
            // Merged with `_auth_data_<provider>` keys; a null authData adds nothing.
            if let Value::Object(m) = canonical(v)? {
                if let Value::Object(a) = out.entry("authData").or_insert_with(|| json!({})) {
                    for (p, d) in m {
                        a.entry(p).or_insert(d);
                    }
                }
            }
            continue;
        }
        if k.contains('.') {
            // Parse may create with dotted keys (`a.b`): nest them.
            let mut tmp = Map::new();
            update::apply(&mut tmp, &Map::from_iter([(k.clone(), v.clone())]))?;
            for (tk, tv) in tmp {
                merge(&mut out, tk, tv);
            }
            continue;
        }
        // Parse wraps a missing createdAt/updatedAt as a Date without `iso`: no date at all.
        if codec::parse_type(v) == Some("Date") && v.get("iso").is_none_or(Value::is_null) {
            continue;
        }
        out.insert(k.clone(), canonical_field(k, v)?);
    }
    Ok(out)
}

fn merge(into: &mut Map<String, Value>, k: String, v: Value) {
    match (into.get_mut(&k), v) {
        (Some(Value::Object(a)), Value::Object(b)) => {
            for (bk, bv) in b {
                merge(a, bk, bv);
            }
        }
        (_, v) => {
            into.insert(k, v);
        }
    }
}

/// The object an upsert inserts when nothing matches: the query's plain equalities (no
/// operators, no dotted paths), then the update applied.
pub fn upsert_base(query: &Value, upd: &Map<String, Value>) -> Result<Map<String, Value>> {
    let mut obj = Map::new();
    if let Some(q) = query.as_object() {
        for (k, v) in q {
            let operator = v
                .as_object()
                .is_some_and(|m| m.keys().any(|x| x.starts_with('$')));
            if !(k.starts_with('$') || k.contains('.') || operator) {
                obj.insert(k.clone(), canonical_field(k, v)?);
            }
        }
    }
    update::apply(&mut obj, upd)?;
    Ok(obj)
}

/// Parse JSON of a stored object: `createdAt`/`updatedAt` as strings, Relation fields added.
pub fn to_parse(mut obj: Map<String, Value>, schema: &Value) -> Value {
    for f in ["createdAt", "updatedAt"] {
        if let Some(iso) = obj.get(f).and_then(eval::date_iso).map(str::to_string) {
            obj.insert(f.into(), Value::String(iso));
        }
    }
    if let Some(fields) = schema.get("fields").and_then(Value::as_object) {
        for (name, t) in fields {
            if t.get("type").and_then(Value::as_str) == Some("Relation") {
                obj.insert(
                    name.clone(),
                    json!({"__type": "Relation", "className": t.get("targetClass").cloned().unwrap_or(Value::Null)}),
                );
            }
        }
    }
    Value::Object(obj)
}
