//! The schema store: one item per class in the `~schema` partition (a name no Parse class can
//! have), holding `className`, `fields`, `classLevelPermissions` and `indexes` as native maps.
//! Changes are read-modify-writes conditioned on the item's revision, so two servers adding
//! fields at once both land. `to_parse_schema` gives classes back in the form Parse expects
//! (default CLPs filled in, internal `_rperm`/`_wperm`/`_hashed_password` fields hidden).
//! Index keys are stored as `[key, direction]` pairs, so a compound index keeps its order.

use crate::codec::{item_to_stored, object_to_item};
use crate::error::{Error, Result};
use crate::store::{backoff, Condition, Store, Written};
use serde_json::{json, Map, Value};

pub const SCHEMA_PARTITION: &str = "~schema";

pub struct Schemas<'a> {
    pub store: &'a Store,
}

/// Schema indexes as stored: each index's keys as a list of `[key, direction]` pairs, since a
/// DynamoDB map does not keep the order of its keys and a compound index's order matters.
fn indexes_to_stored(indexes: &Value) -> Value {
    let Some(m) = indexes.as_object() else {
        return indexes.clone();
    };
    let pairs = |ix: &Value| match ix.as_object() {
        Some(keys) => Value::Array(keys.iter().map(|(k, d)| json!([k, d])).collect()),
        None => ix.clone(),
    };
    Value::Object(m.iter().map(|(n, ix)| (n.clone(), pairs(ix))).collect())
}

/// Schema indexes as Parse reads them (`{name: {key: direction, …}}`, keys in order), from
/// the stored pairs or, as older versions stored them, maps.
fn indexes_from_stored(indexes: &Value) -> Value {
    let Some(m) = indexes.as_object() else {
        return json!({});
    };
    let keys = |ix: &Value| match ix.as_array() {
        Some(pairs) => Value::Object(
            pairs
                .iter()
                .filter_map(|p| Some((p.get(0)?.as_str()?.to_string(), p.get(1)?.clone())))
                .collect(),
        ),
        None => ix.clone(),
    };
    Value::Object(m.iter().map(|(n, ix)| (n.clone(), keys(ix))).collect())
}

/// A schema object ready to store (its indexes as pairs).
fn to_stored(mut obj: Map<String, Value>) -> Map<String, Value> {
    if let Some(ix) = obj.get("indexes") {
        let stored = indexes_to_stored(ix);
        obj.insert("indexes".into(), stored);
    }
    obj
}

pub fn to_parse_schema(class: &str, stored: &Map<String, Value>) -> Value {
    let mut fields = stored
        .get("fields")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    fields.remove("_rperm");
    fields.remove("_wperm");
    if class == "_User" {
        fields.remove("_hashed_password");
    }
    let clps = match stored
        .get("classLevelPermissions")
        .and_then(Value::as_object)
    {
        Some(c) => {
            let mut out = json!({
                "find": {}, "get": {}, "count": {}, "create": {}, "update": {}, "delete": {},
                "addField": {}, "protectedFields": {}
            });
            for (k, v) in c {
                out[k] = v.clone();
            }
            out
        }
        None => json!({
            "find": {"*": true}, "get": {"*": true}, "count": {"*": true}, "create": {"*": true},
            "update": {"*": true}, "delete": {"*": true}, "addField": {"*": true},
            "protectedFields": {"*": []}
        }),
    };
    json!({
        "className": class,
        "fields": fields,
        "classLevelPermissions": clps,
        "indexes": stored.get("indexes").map(indexes_from_stored).unwrap_or(json!({})),
    })
}

impl<'a> Schemas<'a> {
    async fn read(&self, class: &str) -> Result<Option<(i64, Map<String, Value>)>> {
        match self.store.get(SCHEMA_PARTITION, class).await? {
            Some(item) => {
                let st = item_to_stored(&item)?;
                let mut obj = st.obj;
                obj.remove("objectId");
                if let Some(ix) = obj.get("indexes") {
                    let parse_form = indexes_from_stored(ix);
                    obj.insert("indexes".into(), parse_form);
                }
                Ok(Some((st.rev, obj)))
            }
            None => Ok(None),
        }
    }

    pub async fn get(&self, class: &str) -> Result<Option<Value>> {
        Ok(self
            .read(class)
            .await?
            .map(|(_, s)| to_parse_schema(class, &s)))
    }

    pub async fn exists(&self, class: &str) -> Result<bool> {
        Ok(self.read(class).await?.is_some())
    }

    pub async fn all(&self) -> Result<Vec<Value>> {
        let mut out = Vec::new();
        self.store
            .query(SCHEMA_PARTITION, None, |item| {
                let st = item_to_stored(&item)?;
                out.push(to_parse_schema(&st.key, &st.obj));
                Ok(true)
            })
            .await?;
        Ok(out)
    }

    pub async fn create(&self, class: &str, schema: &Value) -> Result<Value> {
        let mut obj = Map::new();
        obj.insert("className".into(), json!(class));
        obj.insert(
            "fields".into(),
            schema.get("fields").cloned().unwrap_or(json!({})),
        );
        if let Some(c) = schema.get("classLevelPermissions") {
            obj.insert("classLevelPermissions".into(), c.clone());
        }
        obj.insert(
            "indexes".into(),
            schema.get("indexes").cloned().unwrap_or(json!({})),
        );
        let stored = to_stored(obj);
        let item = object_to_item(SCHEMA_PARTITION, class, 1, &stored)?;
        match self
            .store
            .put_checked(item, Some(Condition::absent()))
            .await?
        {
            Written::Ok => Ok(to_parse_schema(class, &stored)),
            _ => Err(Error::ClassExists(class.into())),
        }
    }

    /// Read-modify-write of one class schema; a missing class starts empty when `create`.
    pub async fn modify(
        &self,
        class: &str,
        create: bool,
        mut f: impl FnMut(&mut Map<String, Value>) -> Result<()>,
    ) -> Result<()> {
        for attempt in 0..50 {
            let (rev, mut obj, cond) = match self.read(class).await? {
                Some((rev, obj)) => (rev, obj, Condition::revision(rev)),
                None if create => {
                    let mut obj = Map::new();
                    obj.insert("className".into(), json!(class));
                    obj.insert("fields".into(), json!({}));
                    obj.insert("indexes".into(), json!({}));
                    (0, obj, Condition::absent())
                }
                None => return Ok(()),
            };
            f(&mut obj)?;
            let item = object_to_item(SCHEMA_PARTITION, class, rev + 1, &to_stored(obj))?;
            if self.store.put_checked(item, Some(cond)).await? == Written::Ok {
                return Ok(());
            }
            backoff(attempt).await;
        }
        Err(Error::Conflict(format!(
            "schema of {class} kept changing; gave up"
        )))
    }

    pub async fn delete(&self, class: &str) -> Result<()> {
        self.store.delete(SCHEMA_PARTITION, class, None).await?;
        Ok(())
    }
}

/// `fields` of a stored schema object, created if missing.
pub fn fields_mut(obj: &mut Map<String, Value>) -> &mut Map<String, Value> {
    let f = obj.entry("fields").or_insert_with(|| json!({}));
    if !f.is_object() {
        *f = json!({});
    }
    match f {
        Value::Object(m) => m,
        _ => unreachable!("just made an object"),
    }
}
