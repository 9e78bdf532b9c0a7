//! Where things live in the table: an object's key, and the items kept beside objects (the
//! README's "Table and item format"). Unique-value sentinels are `~u:<class>:<field>` /
//! `=<value>` owned by an object; index entries are `~i:<class>:<spec>` / order-preserving text +
//! objectId (see `index` for the text); relation mirrors are `~jr:<class>` /
//! `<relatedId>:<owningId>`; object counts are shards of `~c:<class>`; the registries of
//! unique fields and indexes are items of `~meta`.
//! Every room that reads or writes these items takes their keys and shapes from here.

use crate::codec::{self, Item};
use crate::error::{Error, Result};
use crate::index;
use crate::query::eval;
use crate::store::TxOp;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// The partition of the unique-value and index registries (`unique_<class>`, `index_<class>`).
pub const META_PARTITION: &str = "~meta";

/// What a class keeps beside its objects, as its registries say: unique fields (each value
/// owns a sentinel) and index specs (`field`, `field:ci`, `field:eq`, `lead,next`; each object
/// has entries). Writes keep every index in `indexes`; queries read only those not `building`
/// (still being back-filled). `auto`: the indexes the adapter created by itself.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Kept {
    pub unique: Vec<String>,
    /// Unique fields whose stored values are still being claimed: writes claim theirs, but
    /// their sentinels do not answer queries yet.
    pub unique_building: Vec<String>,
    pub indexes: Vec<String>,
    pub building: Vec<String>,
    pub auto: Vec<String>,
}

impl Kept {
    /// The unique fields whose sentinels queries may read: all values claimed.
    pub fn ready_unique(&self) -> Vec<String> {
        self.unique
            .iter()
            .filter(|f| !self.unique_building.contains(f))
            .cloned()
            .collect()
    }

    /// The indexes queries may read: kept and back-filled.
    pub fn ready(&self) -> Vec<String> {
        self.indexes
            .iter()
            .filter(|s| !self.building.contains(s))
            .cloned()
            .collect()
    }
}

fn random_id(len: usize) -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..len)
        .map(|_| CHARS[rand::random_range(0..CHARS.len())] as char)
        .collect()
}

/// A new objectId in Parse's form (10 alphanumerics).
pub fn new_object_id() -> String {
    random_id(10)
}

/// Relation classes (`_Join:<field>:<class>`): rows keyed `<owningId>:<relatedId>`, mirrored.
pub fn is_join(class: &str) -> bool {
    class.starts_with("_Join:")
}

/// The DynamoDB sort key of an object: its objectId; for `_Join` rows `owningId:relatedId` (so
/// adding a relation twice is one row); otherwise a new objectId (as Mongo gives every document
/// an `_id`).
pub fn key_for(class: &str, obj: &Map<String, Value>) -> String {
    match obj.get("objectId") {
        Some(Value::String(id)) if !id.is_empty() => return id.clone(),
        // Legacy numeric ids (e.g. `_GlobalConfig` 1) are their text.
        Some(Value::Number(n)) => return n.to_string(),
        _ => {}
    }
    if is_join(class) {
        if let (Some(Value::String(o)), Some(Value::String(r))) =
            (obj.get("owningId"), obj.get("relatedId"))
        {
            return format!("{o}:{r}");
        }
    }
    new_object_id()
}

/// An item kept beside objects (sentinel, index entry, relation mirror): its key and one
/// attribute pointing back at the object.
fn aux_item(pk: String, sk: &str, name: &str, value: &str) -> Item {
    HashMap::from([
        (codec::PK.to_string(), AttributeValue::S(pk)),
        (codec::SK.to_string(), AttributeValue::S(sk.to_string())),
        (name.to_string(), AttributeValue::S(value.to_string())),
    ])
}

/// The object key an index entry or relation mirror points at.
pub fn pointed_key(item: &Item) -> Option<&String> {
    match item.get("key") {
        Some(AttributeValue::S(k)) => Some(k),
        _ => None,
    }
}

// ---------- index entries ----------

pub fn index_pk(class: &str, spec: &str) -> String {
    format!("~i:{class}:{spec}")
}

fn index_item(class: &str, spec: &str, e: &index::Entry, key: &str) -> Item {
    let mut item = aux_item(index_pk(class, spec), &e.sk, "key", key);
    if let Some(o) = e.ord {
        item.insert("ord".into(), AttributeValue::S(o.attr().into()));
    }
    item
}

/// The object key an index item points at, and the entry it holds (its sort key, and for an
/// order entry its exactness).
pub fn entry_of(item: &Item) -> Option<(String, index::Entry)> {
    let (Some(AttributeValue::S(sk)), Some(key)) = (item.get(codec::SK), pointed_key(item)) else {
        return None;
    };
    let ord = match item.get("ord") {
        Some(AttributeValue::S(o)) if o == index::Exactness::Exact.attr() => {
            Some(index::Exactness::Exact)
        }
        Some(_) => Some(index::Exactness::Inexact),
        None => None,
    };
    Some((
        key.clone(),
        index::Entry {
            sk: sk.clone(),
            ord,
        },
    ))
}

/// The writes turning the entries `have` of index `spec` for the object at `key` into `want`:
/// deletes of entries no longer wanted, puts of new or changed ones.
pub fn entry_changes(
    class: &str,
    spec: &str,
    key: &str,
    have: &[index::Entry],
    want: &[index::Entry],
) -> Vec<TxOp> {
    let mut ops: Vec<TxOp> = Vec::new();
    for e in have.iter().filter(|e| !want.iter().any(|w| w.sk == e.sk)) {
        ops.push(TxOp::Delete(index_pk(class, spec), e.sk.clone(), None));
    }
    for e in want.iter().filter(|e| !have.contains(e)) {
        ops.push(TxOp::Put(index_item(class, spec, e, key), None));
    }
    ops
}

// ---------- object counts ----------

/// The partition of a class's object count: shards `s00`… with the changes of the writes that
/// landed on them (attribute `n`), and `base`, the count before the first of them.
pub fn count_pk(class: &str) -> String {
    format!("~c:{class}")
}

/// Whether a partition holds a class's objects (not items kept beside them).
pub fn is_object_partition(pk: &str) -> bool {
    !pk.starts_with('~')
}

// ---------- relation mirrors ----------

/// The partition mirroring a relation's rows by `relatedId` (sort key `<relatedId>:<owningId>`),
/// so "which objects relate to X" (e.g. the roles of a user) is a key-range read too.
pub fn join_mirror_pk(class: &str) -> String {
    format!("~jr:{class}")
}

/// The mirror item of a relation row, or None when `obj` is not one.
pub fn join_mirror(class: &str, key: &str, obj: &Map<String, Value>) -> Option<Item> {
    let (pk, sk) = join_mirror_key(class, obj)?;
    Some(aux_item(pk, &sk, "key", key))
}

pub fn join_mirror_key(class: &str, obj: &Map<String, Value>) -> Option<(String, String)> {
    match (obj.get("owningId"), obj.get("relatedId")) {
        (Some(Value::String(o)), Some(Value::String(r))) if is_join(class) => {
            Some((join_mirror_pk(class), format!("{r}:{o}")))
        }
        _ => None,
    }
}

// ---------- unique-value sentinels ----------

pub fn unique_pk(class: &str, field: &str) -> String {
    format!("~u:{class}:{field}")
}

/// The sort key of the sentinel item of a unique value (`=` + its text; None if too long).
pub fn sentinel_key(v: &Value) -> Option<String> {
    let text = match v {
        Value::String(s) => s.clone(),
        other => serde_json::to_string(other).ok()?,
    };
    (text.len() <= 1000).then(|| format!("={text}"))
}

/// The sentinel key of a unique value, or None when the field is empty (uniqueness is sparse).
pub fn unique_sk(obj: &Map<String, Value>, field: &str) -> Result<Option<String>> {
    let path: Vec<String> = field.split('.').map(str::to_string).collect();
    let mut vals = Vec::new();
    eval::collect_path(obj, &path, &mut vals);
    match vals.into_iter().next() {
        None | Some(Value::Null) => Ok(None),
        Some(v) => sentinel_key(v).map(Some).ok_or_else(|| {
            Error::json(format!(
                "the value of unique field {field} is longer than 1000 bytes"
            ))
        }),
    }
}

pub fn sentinel_item(class: &str, field: &str, sk: &str, owner: &str) -> Item {
    aux_item(unique_pk(class, field), sk, "owner", owner)
}

/// The object that owns a sentinel item.
pub fn sentinel_owner(item: &Item) -> Option<&String> {
    match item.get("owner") {
        Some(AttributeValue::S(o)) => Some(o),
        _ => None,
    }
}

/// Parse's `duplicated_field` name for a unique path.
pub fn duplicated_name(field: &str) -> String {
    match field
        .strip_prefix("authData.")
        .and_then(|r| r.strip_suffix(".id"))
    {
        Some(provider) => format!("_auth_data_{provider}"),
        None => field.to_string(),
    }
}

/// The error a failed sentinel condition on `field` stands for.
pub fn duplicate(field: &str) -> Error {
    Error::Duplicate {
        field: Some(duplicated_name(field)),
    }
}
