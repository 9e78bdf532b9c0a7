//! The schema store: one item per class in the `~schema` partition (a name no Parse class can
//! have), holding `className`, `fields`, `classLevelPermissions` and `indexes` as native maps.
//! Changes are read-modify-writes conditioned on the item's revision, so two servers changing
//! a class at once both land; a change that changes nothing writes nothing. Adding a field (the
//! common change, and the one Parse sends at once from every first save of a new class) is one
//! `UpdateItem` of that field alone, conditioned on it being absent: adders of different fields
//! never refuse each other, and an adder of a field already there only reads. `to_parse_schema`
//! gives classes back in the form Parse expects (default CLPs filled in, internal
//! `_rperm`/`_wperm`/`_hashed_password` fields hidden).
//! Index keys are stored as `[key, direction]` pairs, so a compound index keeps its order.

use crate::codec::{item_to_stored, object_to_item, to_attr, KEY_ORDER, REV};
use crate::error::{Error, Result};
use crate::store::{backoff, Condition, Store, Update, Updated, Written};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

pub const SCHEMA_PARTITION: &str = "~schema";

pub struct Schemas<'a> {
    pub store: &'a Store,
    /// This process's schema writers, one at a time per class and field.
    pub serial: &'a Serial,
}

/// Schema writes of one process taken one at a time per key (a class, or a class and a field):
/// Parse sends the same creation or field from every request that finds it missing in its
/// cache, and the second writer of a key then only reads what the first wrote, instead of
/// racing it to a write DynamoDB refuses (and bills).
#[derive(Default)]
pub struct Serial(std::sync::Mutex<HashMap<String, std::sync::Arc<tokio::sync::Mutex<()>>>>);

impl Serial {
    async fn turn(&self, key: String) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = {
            let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
            m.entry(key).or_default().clone()
        };
        lock.lock_owned().await
    }
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

    /// Creates a class's schema. One that exists already is `ClassExists` after a read, without
    /// a write DynamoDB would refuse (and bill): Parse sends a creation from every first save of
    /// a new class at once.
    pub async fn create(&self, class: &str, schema: &Value) -> Result<Value> {
        let _turn = self.serial.turn(class.to_string()).await;
        if self.read(class).await?.is_some() {
            return Err(Error::ClassExists(class.into()));
        }
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

    /// Adds field `field` of type `typ` to `class` (created if missing). A field there already
    /// is fine with the same type (nothing written), an error with another.
    pub async fn add_field(&self, class: &str, field: &str, typ: &Value) -> Result<()> {
        let _turn = self.serial.turn(format!("{class}\u{0}{field}")).await;
        let same_as = |existing: &Value| -> Result<()> {
            let same = |k: &str| existing.get(k) == typ.get(k);
            if same("type") && same("targetClass") {
                return Ok(());
            }
            Err(Error::IncorrectType(format!(
                "schema mismatch for {class}.{field}; expected {} but got {}",
                type_name(existing),
                type_name(typ)
            )))
        };
        for attempt in 0..50 {
            let Some((_, obj)) = self.read(class).await? else {
                // A new class: its first field is a conditional put (another creator first:
                // read again).
                let _creating = self.serial.turn(class.to_string()).await;
                let mut created = false;
                self.modify(class, true, |s| {
                    created = !fields_mut(s).contains_key(field);
                    fields_mut(s).entry(field).or_insert_with(|| typ.clone());
                    Ok(())
                })
                .await?;
                if created {
                    return Ok(());
                }
                continue;
            };
            let fields = obj.get("fields").and_then(Value::as_object);
            let Some(fields) = fields else {
                return self
                    .modify(class, false, |s| {
                        fields_mut(s).insert(field.to_string(), typ.clone());
                        Ok(())
                    })
                    .await;
            };
            if let Some(existing) = fields.get(field) {
                return same_as(existing);
            }
            // The map's key order (see `codec::to_attr`) grows by this field, whoever added
            // one meanwhile.
            let order: Vec<Value> = fields.keys().map(|k| json!(k)).collect();
            let update = Update {
                set: vec![
                    "#fields.#f = :t".into(),
                    "#fields.#order = list_append(if_not_exists(#fields.#order, :order), :f)"
                        .into(),
                    "#rev = if_not_exists(#rev, :zero) + :one".into(),
                ],
                remove: vec![],
                names: HashMap::from([
                    ("#fields".into(), "fields".into()),
                    ("#f".into(), field.into()),
                    ("#order".into(), KEY_ORDER.into()),
                    ("#rev".into(), REV.into()),
                ]),
                values: HashMap::from([
                    (":t".into(), to_attr(typ)?),
                    (":order".into(), to_attr(&Value::Array(order))?),
                    (":f".into(), to_attr(&json!([field]))?),
                    (":zero".into(), to_attr(&json!(0))?),
                    (":one".into(), to_attr(&json!(1))?),
                ]),
            };
            let absent = Condition {
                expression: "attribute_exists(#fields) AND attribute_not_exists(#fields.#f)".into(),
                names: HashMap::new(),
                values: HashMap::new(),
            };
            match self
                .store
                .update_item(SCHEMA_PARTITION, class, update, absent)
                .await?
            {
                Updated::Ok(_) => return Ok(()),
                // Another adder of this field came first (or the class was deleted): read
                // again. A lost answer too: the read tells whether it landed.
                Updated::ConditionFailed(_) | Updated::Unanswered => {}
                Updated::Conflict => backoff(attempt).await,
            }
        }
        Err(Error::Conflict(format!(
            "schema of {class} kept changing; gave up"
        )))
    }

    /// Read-modify-write of one class schema; a missing class starts empty when `create`.
    /// Nothing is written when `f` changes nothing.
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
            let before = (rev > 0).then(|| obj.clone());
            f(&mut obj)?;
            if before.as_ref() == Some(&obj) {
                return Ok(());
            }
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

/// A field type as Parse names it in messages (`Pointer<_User>`, `String`).
fn type_name(t: &Value) -> String {
    let base = t.get("type").and_then(Value::as_str).unwrap_or("?");
    match t.get("targetClass").and_then(Value::as_str) {
        Some(target) => format!("{base}<{target}>"),
        None => base.to_string(),
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
