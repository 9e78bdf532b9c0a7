//! What the command-line tool asks of the core besides Parse's interface: pages of a class for
//! export, where an import got to (`import-from`'s marks), and reading tables written by the old JS adapter (`parse-server-dynamodb-adapter`),
//! whose items hold Parse Server 2.4's MongoDB forms (`_id`, `_created_at`, `_p_<field>` as
//! `Class$id`, dates as ISO text, GeoPoints as `[lng, lat]`, schemas in the `_SCHEMA` partition
//! as Mongo schema types), turned here into the Parse forms `Adapter::create_object` and
//! `create_class` take.

use crate::codec::{from_attr, item_to_stored, Item};
use crate::error::Result;
use crate::store::Store;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

pub type StartKey = HashMap<String, AttributeValue>;

/// A start key as JSON (`{"pk": …, "sk": …}`), for the caller to hand back.
pub fn start_to_json(k: &StartKey) -> Value {
    let s = |n: &str| match k.get(n) {
        Some(AttributeValue::S(s)) => Value::String(s.clone()),
        _ => Value::Null,
    };
    json!({"pk": s(crate::codec::PK), "sk": s(crate::codec::SK)})
}

pub fn start_from_json(v: &Value) -> Option<StartKey> {
    let pk = v.get("pk")?.as_str()?;
    let sk = v.get("sk")?.as_str()?;
    Some(HashMap::from([
        (crate::codec::PK.to_string(), AttributeValue::S(pk.into())),
        (crate::codec::SK.to_string(), AttributeValue::S(sk.into())),
    ]))
}

/// One page (up to `limit` items) of partition `pk`, from `start`.
pub async fn page(
    store: &Store,
    pk: &str,
    start: Option<StartKey>,
    limit: i32,
) -> Result<(Vec<Item>, Option<StartKey>)> {
    store
        .query_page(pk, ("\u{0}", "\u{10FFFF}"), true, limit, start)
        .await
}

/// One page of a class in this adapter's format, as stored objects (Parse adapter forms).
pub async fn export_page(
    store: &Store,
    class: &str,
    start: Option<StartKey>,
    limit: i32,
) -> Result<(Vec<Value>, Option<StartKey>)> {
    let (items, next) = page(store, class, start, limit).await?;
    let mut out = Vec::with_capacity(items.len());
    for item in &items {
        out.push(Value::Object(item_to_stored(item)?.obj));
    }
    Ok((out, next))
}

fn plain(item: &Item) -> Result<Map<String, Value>> {
    let mut m = Map::new();
    for (k, v) in item {
        m.insert(k.clone(), from_attr(v)?);
    }
    Ok(m)
}

/// A Mongo schema type of Parse Server 2.4 as a Parse field type.
fn field_type(t: &str) -> Option<Value> {
    if let Some(target) = t.strip_prefix('*') {
        return Some(json!({"type": "Pointer", "targetClass": target}));
    }
    if let Some(target) = t
        .strip_prefix("relation<")
        .and_then(|r| r.strip_suffix('>'))
    {
        return Some(json!({"type": "Relation", "targetClass": target}));
    }
    let name = match t {
        "number" => "Number",
        "string" => "String",
        "boolean" => "Boolean",
        "date" => "Date",
        "map" | "object" => "Object",
        "array" => "Array",
        "geopoint" => "GeoPoint",
        "file" => "File",
        "bytes" => "Bytes",
        "polygon" => "Polygon",
        _ => return None,
    };
    Some(json!({ "type": name }))
}

/// The Parse schemas of a table written by the old adapter (its `_SCHEMA` partition).
pub async fn legacy_schemas(store: &Store) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    let mut start = None;
    loop {
        let (items, next) = page(store, "_SCHEMA", start, 500).await?;
        for item in &items {
            let m = plain(item)?;
            let Some(class) = m.get("_id").and_then(Value::as_str) else {
                continue;
            };
            let mut fields = Map::new();
            fields.insert("ACL".into(), json!({"type": "ACL"}));
            for (k, v) in &m {
                if k.starts_with('_') {
                    continue;
                }
                if let Some(t) = v.as_str().and_then(field_type) {
                    fields.insert(k.clone(), t);
                }
            }
            let meta = m.get("_metadata");
            out.push(json!({
                "className": class,
                "fields": fields,
                "classLevelPermissions": meta.and_then(|m| m.get("class_permissions")).cloned().unwrap_or(json!({})),
                "indexes": meta.and_then(|m| m.get("indexes")).cloned().unwrap_or(json!({})),
            }));
        }
        match next {
            Some(n) => start = Some(n),
            None => return Ok(out),
        }
    }
}

fn date(iso: &Value) -> Value {
    match iso.as_str() {
        Some(s) => json!({"__type": "Date", "iso": s}),
        None => iso.clone(),
    }
}

/// Fields Parse Server keeps with a leading underscore and stores as dates.
const INTERNAL_DATES: [&str; 5] = [
    "_email_verify_token_expires_at",
    "_account_lockout_expires_at",
    "_perishable_token_expires_at",
    "_password_changed_at",
    "_last_used",
];

/// An object the old adapter stored, in the form `Adapter::create_object` takes.
pub fn legacy_object(item: &Item, schema: &Value) -> Result<Value> {
    let m = plain(item)?;
    let fields = schema.get("fields").cloned().unwrap_or(json!({}));
    let typ = |f: &str| {
        fields
            .get(f)
            .and_then(|t| t.get("type"))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let mut out = Map::new();
    let mut auth = Map::new();
    for (k, v) in m {
        match k.as_str() {
            "_pk_className" | "_sk_id" | "_acl" | "_metadata" => {}
            "_id" => {
                out.insert("objectId".into(), v);
            }
            "_created_at" => {
                out.insert("createdAt".into(), date(&v));
            }
            "_updated_at" => {
                out.insert("updatedAt".into(), date(&v));
            }
            _ if k.starts_with("_p_") => {
                let field = &k[3..];
                if let Some((class, id)) = v.as_str().and_then(|s| s.split_once('$')) {
                    out.insert(
                        field.to_string(),
                        json!({"__type": "Pointer", "className": class, "objectId": id}),
                    );
                }
            }
            _ if k.starts_with("_auth_data_") => {
                auth.insert(k["_auth_data_".len()..].to_string(), v);
            }
            _ if INTERNAL_DATES.contains(&k.as_str()) => {
                out.insert(k, date(&v));
            }
            _ if k.starts_with('_') => {
                out.insert(k, v);
            }
            _ => {
                let v = match (typ(&k).as_deref(), &v) {
                    (Some("Date"), Value::String(_)) => date(&v),
                    (Some("File"), Value::String(name)) => {
                        json!({"__type": "File", "name": name})
                    }
                    (Some("GeoPoint"), Value::Array(p)) if p.len() == 2 => json!({
                        "__type": "GeoPoint", "longitude": p[0], "latitude": p[1]
                    }),
                    (Some("Polygon"), Value::Object(p)) => {
                        let ring: Vec<Value> = p
                            .get("coordinates")
                            .and_then(|c| c.get(0))
                            .and_then(Value::as_array)
                            .map(|r| {
                                r.iter()
                                    .filter_map(|xy| {
                                        Some(json!([xy.get(1)?.clone(), xy.get(0)?.clone()]))
                                    })
                                    .collect()
                            })
                            .unwrap_or_default();
                        json!({"__type": "Polygon", "coordinates": ring})
                    }
                    _ => v,
                };
                out.insert(k, v);
            }
        }
    }
    if !auth.is_empty() {
        out.insert("authData".into(), Value::Object(auth));
    }
    Ok(Value::Object(out))
}

/// Where an import of `class` got to (what `import-from` last set: the last objectId written,
/// or that the class is done), kept in the table so a run on another machine continues it;
/// None before the first page.
pub async fn import_mark(store: &Store, class: &str) -> Result<Value> {
    let key = format!("import_{class}");
    Ok(
        match store.get(crate::layout::META_PARTITION, &key).await? {
            Some(item) => item_to_stored(&item)?
                .obj
                .remove("mark")
                .unwrap_or(Value::Null),
            None => Value::Null,
        },
    )
}

/// Sets the import mark of `class` (see `import_mark`).
pub async fn set_import_mark(store: &Store, class: &str, mark: &Value) -> Result<()> {
    let key = format!("import_{class}");
    let obj = Map::from_iter([("mark".to_string(), mark.clone())]);
    let item = crate::codec::object_to_item(crate::layout::META_PARTITION, &key, 1, &obj)?;
    store.put(item, None).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(v: Value) -> Item {
        v.as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), crate::codec::to_attr(v).unwrap()))
            .collect()
    }

    #[test]
    fn old_adapter_objects_become_parse_objects() {
        let schema = json!({"fields": {"when": {"type": "Date"}, "where": {"type": "GeoPoint"}, "pic": {"type": "File"}, "player": {"type": "Pointer", "targetClass": "_User"}}});
        let o = legacy_object(
            &item(json!({"_pk_className": "G", "_sk_id": "g1", "_id": "g1", "_created_at": "2026-01-02T03:04:05.006Z",
                "_p_player": "_User$u1", "when": "2025-05-05T05:05:05.005Z", "where": [-73.25, 40.5], "pic": "f.png",
                "_acl": {"u1": {"r": true}}, "_rperm": ["u1"], "_auth_data_facebook": {"id": "fb1"}, "score": 3})),
            &schema,
        )
        .unwrap();
        assert_eq!(
            o,
            json!({"objectId": "g1", "createdAt": {"__type": "Date", "iso": "2026-01-02T03:04:05.006Z"},
                "player": {"__type": "Pointer", "className": "_User", "objectId": "u1"},
                "when": {"__type": "Date", "iso": "2025-05-05T05:05:05.005Z"},
                "where": {"__type": "GeoPoint", "longitude": -73.25, "latitude": 40.5},
                "pic": {"__type": "File", "name": "f.png"}, "_rperm": ["u1"], "score": 3,
                "authData": {"facebook": {"id": "fb1"}}})
        );
    }

    #[test]
    fn mongo_schema_types() {
        assert_eq!(
            field_type("*_User"),
            Some(json!({"type": "Pointer", "targetClass": "_User"}))
        );
        assert_eq!(
            field_type("relation<_Role>"),
            Some(json!({"type": "Relation", "targetClass": "_Role"}))
        );
        assert_eq!(field_type("geopoint"), Some(json!({"type": "GeoPoint"})));
        assert_eq!(field_type("???"), None);
    }
}
