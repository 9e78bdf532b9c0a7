//! Where things live in the table: an object's key, and the items kept beside objects (the
//! item format in docs/how-it-works.md). Unique-value sentinels are `~u:<class>:<field>` /
//! `=<value>` owned by an object; index entries are `~i:<class>:<spec>` / order-preserving text +
//! objectId (see `index` for the text); relation mirrors are `~jr:<class>` /
//! `<relatedId>:<owningId>`; object counts are shards of `~c:<class>`; the registries of
//! unique fields and indexes are items of `~meta`.
//! Every room that reads or writes these items takes their keys and shapes from here.

pub mod index;
pub mod search;

use crate::codec::{self, Item};
use crate::error::{shown, Error, Result};
use crate::store::{Condition, TxOp};
use crate::value::collect_path;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// The partition of the unique-value and index registries (`unique_<class>`, `index_<class>`).
pub const META_PARTITION: &str = "~meta";

/// The partition of the cost ledgers servers save for the command line's `cost-report` (one
/// item per server, deleted by DynamoDB's TTL a month after its last save).
pub const COSTS_PARTITION: &str = "~costs";

/// The longest class name (bytes): it is a partition key, and part of the keys of the items
/// kept beside its objects (registries, index partitions), which DynamoDB caps at 2,048 bytes
/// for a partition key and 1,024 for a sort key.
pub const MAX_CLASS_NAME: usize = 255;

/// Refuses a partition of kept items (an index's, a unique field's) whose key DynamoDB could
/// not store: class name and field names together over 2,048 bytes.
pub fn check_partition(pk: &str) -> Result<()> {
    if pk.len() > crate::store::MAX_PARTITION_KEY {
        return Err(Error::Unsupported(format!(
            "cannot keep {}: its DynamoDB partition key would be {} bytes (at most {}); use shorter field names",
            shown(pk),
            pk.len(),
            crate::store::MAX_PARTITION_KEY
        )));
    }
    Ok(())
}

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

    /// Whether index `spec` is kept, as itself or as its sharded twin (`index::sharded`).
    pub fn keeps(&self, spec: &str) -> bool {
        self.indexes.iter().any(|s| index::base(s) == spec)
    }

    /// Whether something kept beside an object (a unique value's sentinel, an index entry) is
    /// made from its top-level `field`: then a write of that field must rewrite it too.
    pub fn touches(&self, field: &str) -> bool {
        let top = |f: &str| f.split('.').next() == Some(field);
        let mut unique = self.unique.iter().chain(&self.unique_building);
        let mut specs = self.indexes.iter().chain(&self.building).chain(&self.auto);
        unique.any(|f| top(f))
            || specs.any(|spec| match index::compound(spec) {
                Some((lead, next)) => top(lead) || top(next),
                None => top(index::parse_spec(spec).0),
            })
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

/// The longest objectId (UTF-8 bytes) an object can have: its key, and a relation row's
/// `owningId:relatedId`, must leave room in DynamoDB's 1,024-byte sort key for the index entry
/// texts in front of them (`index::MAX_KEY`).
pub const MAX_OBJECT_ID: usize = (index::MAX_KEY - 1) / 2;

/// Refuses a new object's key that no index entry could point at: an objectId (or a relation
/// row's ids) longer than `MAX_OBJECT_ID` bytes, or empty.
pub fn check_key(class: &str, key: &str, obj: &Map<String, Value>) -> Result<()> {
    let ids: Vec<&str> = match join_ids(class, obj) {
        Some((o, r)) => vec![o, r],
        None => vec![key],
    };
    for id in ids {
        if id.is_empty() || id.len() > MAX_OBJECT_ID {
            return Err(Error::json(format!(
                "objectId {:?} is {} bytes; DynamoDB keys here hold objectIds of 1 to {MAX_OBJECT_ID} bytes",
                shown(id),
                id.len()
            )));
        }
    }
    Ok(())
}

/// A relation row's `owningId` and `relatedId`.
fn join_ids<'a>(class: &str, obj: &'a Map<String, Value>) -> Option<(&'a str, &'a str)> {
    match (obj.get("owningId"), obj.get("relatedId")) {
        (Some(Value::String(o)), Some(Value::String(r))) if is_join(class) => Some((o, r)),
        _ => None,
    }
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

/// The partitions holding index `spec`'s entries: `~i:<class>:<spec>`, or for a sharded spec
/// (`index::shards`) its shards `~i:<class>:<spec>#0` … `#15`.
pub fn index_pks(class: &str, spec: &str) -> Vec<String> {
    match index::shards(spec) {
        1 => vec![format!("~i:{class}:{spec}")],
        n => (0..n).map(|i| format!("~i:{class}:{spec}#{i}")).collect(),
    }
}

/// The partition holding the entries of the object at `key` in index `spec`: for a sharded
/// spec the shard the key's hash picks (FNV-1a, fixed so every server and version agrees),
/// so an object's entries stay in one shard and random objectIds spread evenly.
pub fn entry_pk(class: &str, spec: &str, key: &str) -> String {
    match index::shards(spec) {
        1 => format!("~i:{class}:{spec}"),
        n => format!("~i:{class}:{spec}#{}", shard_of(key, n)),
    }
}

/// Which of `n` shards `key` falls in: FNV-1a of its bytes, mod `n` (fixed, so every server and
/// version agrees).
pub fn shard_of(key: &str, n: u32) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in key.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h % n
}

/// The longest partition key index `spec` of `class` has (its shards' keys end in `#15`).
pub fn longest_index_pk(class: &str, spec: &str) -> String {
    index_pks(class, spec).pop().unwrap_or_default()
}

/// The attribute of an index entry holding the object revision it was put for (see `Fence`).
pub const ENTRY_REV: &str = "rev";

fn index_item(class: &str, spec: &str, e: &index::Entry, key: &str, rev: Option<i64>) -> Item {
    let mut item = aux_item(entry_pk(class, spec, key), &e.sk, "key", key);
    if let Some(o) = e.ord {
        item.insert("ord".into(), AttributeValue::S(o.attr().into()));
    }
    if let Some(r) = rev {
        item.insert(ENTRY_REV.into(), AttributeValue::N(r.to_string()));
    }
    item
}

/// The object revision an index entry was put for (None: put before entries had one).
pub fn entry_rev(item: &Item) -> Option<i64> {
    match item.get(ENTRY_REV) {
        Some(AttributeValue::N(n)) => n.parse().ok(),
        _ => None,
    }
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

/// How the entry writes of one object write are fenced against the other writers of that
/// object, whose entries are written outside its transaction (see `write`): each put entry
/// carries the revision its object is being written at (`put`), and a delete removes an entry
/// only if no writer of a later revision has put it again since (`upto`: the entry's revision
/// is at most this, or it has none). Inside one transaction with the object (Parse's
/// transactional batches) neither is needed for safety, but puts still carry their revision.
#[derive(Debug, Clone, Copy, Default)]
pub struct Fence {
    pub put: Option<i64>,
    pub upto: Option<i64>,
}

/// How long an entry of an object that does not exist is left alone: it may be the first step
/// of a create still under way (entries go before the object).
pub const LEFTOVER_GRACE_MS: i64 = 10 * 60 * 1000;

/// The time now, in milliseconds since the epoch (0 on a clock before it).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The entry revision below which an entry without its object is a leftover of a write that
/// ended (a create's first revision is its time, see `write::first_revision`; later ones only
/// add to it).
pub fn leftover_below() -> i64 {
    let ms = now_ms();
    ms.saturating_sub(LEFTOVER_GRACE_MS).saturating_mul(1024)
}

/// The writes turning the entries `have` of index `spec` for the object at `key` into `want`:
/// deletes of entries no longer wanted, puts of new or changed ones, fenced by `fence`.
pub fn entry_changes(
    class: &str,
    spec: &str,
    key: &str,
    have: &[index::Entry],
    want: &[index::Entry],
    fence: Fence,
) -> Vec<TxOp> {
    let mut ops: Vec<TxOp> = Vec::new();
    for e in have.iter().filter(|e| !want.iter().any(|w| w.sk == e.sk)) {
        let cond = fence.upto.map(|r| Condition::at_most(ENTRY_REV, r));
        ops.push(TxOp::Delete(entry_pk(class, spec, key), e.sk.clone(), cond));
    }
    for e in want.iter().filter(|e| !have.contains(e)) {
        ops.push(TxOp::Put(index_item(class, spec, e, key, fence.put), None));
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

/// The mirror item of a relation row, or None when `obj` is not one; written beside the row as
/// an index entry is, it carries the row revision it was put for (`ENTRY_REV`, see `Fence`).
pub fn join_mirror(
    class: &str,
    key: &str,
    obj: &Map<String, Value>,
    rev: Option<i64>,
) -> Option<Item> {
    let (pk, sk) = join_mirror_key(class, obj)?;
    let mut item = aux_item(pk, &sk, "key", key);
    if let Some(r) = rev {
        item.insert(ENTRY_REV.into(), AttributeValue::N(r.to_string()));
    }
    Some(item)
}

pub fn join_mirror_key(class: &str, obj: &Map<String, Value>) -> Option<(String, String)> {
    let (o, r) = join_ids(class, obj)?;
    Some((join_mirror_pk(class), format!("{r}:{o}")))
}

// ---------- unique-value sentinels ----------

pub fn unique_pk(class: &str, field: &str) -> String {
    format!("~u:{class}:{field}")
}

/// The longest value text a sentinel key holds as it is (`=` + text stays within DynamoDB's
/// 1,024-byte sort key); a longer one is held by its SHA-256.
const MAX_SENTINEL_TEXT: usize = 1000;

/// The sort key of the sentinel item of a unique value: `=` + its text, or for a text longer
/// than `MAX_SENTINEL_TEXT` bytes `#` + the SHA-256 of the text (64 hex digits): two values
/// own one sentinel only if their texts are equal, but for a hash collision.
pub fn sentinel_key(v: &Value) -> Option<String> {
    use sha2::Digest;
    let text = match v {
        Value::String(s) => s.clone(),
        other => serde_json::to_string(other).ok()?,
    };
    if text.len() <= MAX_SENTINEL_TEXT {
        return Some(format!("={text}"));
    }
    let digest = sha2::Sha256::digest(text.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    Some(format!("#{hex}"))
}

/// The sentinel key of a unique value, or None when the field is empty (uniqueness is sparse).
pub fn unique_sk(obj: &Map<String, Value>, field: &str) -> Result<Option<String>> {
    let path: Vec<String> = field.split('.').map(str::to_string).collect();
    let mut vals = Vec::new();
    collect_path(obj, &path, &mut vals);
    match vals.into_iter().next() {
        None | Some(Value::Null) => Ok(None),
        Some(v) => sentinel_key(v).map(Some).ok_or_else(|| {
            Error::json(format!(
                "the value of unique field {field} cannot be stored"
            ))
        }),
    }
}

pub fn sentinel_item(class: &str, field: &str, sk: &str, owner: &str) -> Item {
    aux_item(unique_pk(class, field), sk, "owner", owner)
}

/// Whether the sentinels of `field` of `class` also hold a copy of their object, so a lookup by
/// that value is one read: `_Session.sessionToken`, since Parse reads a session by its token
/// for every request whose token it has not cached, and sessions are small and written at
/// log-in and log-out only. A new session's claim carries the copy before the object lands
/// (nobody has its token until the create answers); every later write of the object goes in
/// one transaction with its copy, so the two never differ.
pub fn covers(class: &str, field: &str) -> bool {
    class == "_Session" && field == "sessionToken"
}

/// The attribute of a sentinel that holds its object's copy (its item but the keys).
const COPY: &str = "copy";
/// Larger objects get a plain sentinel (a lookup then reads the object).
const COPY_MAX_BYTES: usize = 8 * 1024;

/// The sentinel of `owner`'s value `sk` of unique `field`, with a copy of the object's item
/// (`object`) when the field covers and the copy is small.
pub fn owned_sentinel(class: &str, field: &str, sk: &str, owner: &str, object: &Item) -> Item {
    let mut item = sentinel_item(class, field, sk, owner);
    // Deleted by DynamoDB's TTL with its object.
    if let Some(at) = object.get(codec::EXPIRES) {
        item.insert(codec::EXPIRES.into(), at.clone());
    }
    // A large object (its fields partly in chunks) is not copied: found through its key.
    if covers(class, field) && !object.contains_key(codec::CHUNKS) {
        let copy = AttributeValue::M(
            object
                .iter()
                .filter(|(k, _)| *k != codec::PK && *k != codec::SK)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        );
        let (size, depth) = codec::attr_measure(&copy);
        if size <= COPY_MAX_BYTES && depth <= codec::MAX_NESTING {
            item.insert(COPY.into(), copy);
        }
    }
    item
}

/// Sets (or, with None, removes) the epoch second DynamoDB's TTL deletes `item` at.
pub fn expire(item: &mut Item, at: Option<i64>) {
    match at {
        Some(at) => item.insert(codec::EXPIRES.into(), AttributeValue::N(at.to_string())),
        None => item.remove(codec::EXPIRES),
    };
}

/// The object item a sentinel of `class` holds a copy of (None: it holds none).
pub fn sentinel_copy(class: &str, item: &Item) -> Option<Item> {
    let Some(AttributeValue::M(copy)) = item.get(COPY) else {
        return None;
    };
    let owner = sentinel_owner(item)?;
    let mut out = copy.clone();
    out.insert(codec::PK.into(), AttributeValue::S(class.into()));
    out.insert(codec::SK.into(), AttributeValue::S(owner.clone()));
    Some(out)
}

/// A sentinel's claim: the write token of the write that claimed it (absent on sentinels
/// written before claims had one, and on those `check --fix` or a new unique field's claiming
/// of stored values writes: their owner holds the value already).
const CLAIM: &str = "claim";
/// When a claim was made (milliseconds since the epoch, by the claiming server's clock).
const CLAIMED_AT: &str = "at";

/// The sentinel a write claims for `owner` (see `owned_sentinel`): with its claim token, the
/// time, and the revision the owner is being written at (`ENTRY_REV`: a release conditioned on
/// it never removes a claim a later revision made again).
pub fn claim_sentinel(
    class: &str,
    field: &str,
    sk: &str,
    owner: &str,
    object: &Item,
    claim: &str,
    rev: i64,
) -> Item {
    let mut item = owned_sentinel(class, field, sk, owner, object);
    let now = now_ms();
    item.insert(CLAIM.into(), AttributeValue::S(claim.into()));
    item.insert(CLAIMED_AT.into(), AttributeValue::N(now.to_string()));
    item.insert(ENTRY_REV.into(), AttributeValue::N(rev.to_string()));
    item
}

/// How long a claim whose owner does not hold its value stands (a write under way; see
/// `write::unique`): `PSD_CLAIM_GRACE_MS`, else twice the store's operation timeout and at
/// least a minute.
pub fn claim_grace(operation_timeout: std::time::Duration) -> std::time::Duration {
    let ms = std::env::var("PSD_CLAIM_GRACE_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| (2 * operation_timeout.as_millis() as u64).max(60_000));
    std::time::Duration::from_millis(ms)
}

/// A sentinel's claim token (None: one without).
pub fn sentinel_claim(item: &Item) -> Option<&String> {
    match item.get(CLAIM) {
        Some(AttributeValue::S(c)) => Some(c),
        _ => None,
    }
}

/// How old a sentinel's claim is, in milliseconds (a sentinel without a time counts as old).
pub fn claim_age_ms(item: &Item) -> i64 {
    let now = now_ms();
    match item.get(CLAIMED_AT) {
        Some(AttributeValue::N(n)) => now - n.parse::<i64>().unwrap_or(0),
        _ => i64::MAX,
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sentinel_keys_fit_a_sort_key_and_tell_long_values_apart() {
        let short = sentinel_key(&json!("ann")).unwrap();
        assert_eq!(short, "=ann");
        let long = "u".repeat(5000);
        let a = sentinel_key(&json!(long)).unwrap();
        let b = sentinel_key(&json!(format!("{long}v"))).unwrap();
        assert!(a.len() <= crate::store::MAX_SORT_KEY && a.starts_with('#'));
        assert_ne!(a, b);
        assert_eq!(a, sentinel_key(&json!(long)).unwrap());
        assert_eq!(sentinel_key(&json!("x".repeat(1000))).unwrap().len(), 1001);
    }

    #[test]
    fn a_sharded_index_spreads_keys_over_its_shards_the_same_way_every_time() {
        assert_eq!(index_pks("C", "at"), ["~i:C:at"]);
        assert_eq!(entry_pk("C", "at", "k1"), "~i:C:at");
        let pks = index_pks("C", "at@16");
        assert_eq!(pks.len(), 16);
        let mut per: HashMap<String, usize> = HashMap::new();
        for _ in 0..1600 {
            *per.entry(entry_pk("C", "at@16", &new_object_id()))
                .or_default() += 1;
        }
        // Every shard takes a share, none much more than 1/16.
        assert!(
            pks.iter().all(|pk| per.get(pk).copied().unwrap_or(0) > 50),
            "{per:?}"
        );
        assert!(per.values().all(|n| *n < 160), "{per:?}");
        // Fixed: the same key always lands in the same shard (FNV-1a of "abc" is 0x1a47e90b).
        assert_eq!(shard_of("abc", 16), 0x1a47_e90b % 16);
    }

    #[test]
    fn object_keys_leave_room_for_entry_texts() {
        let obj = Map::new();
        assert!(check_key("C", &"o".repeat(MAX_OBJECT_ID), &obj).is_ok());
        assert!(check_key("C", &"o".repeat(MAX_OBJECT_ID + 1), &obj).is_err());
        assert!(check_key("C", "", &obj).is_err());
        let row =
            json!({"owningId": "o".repeat(MAX_OBJECT_ID), "relatedId": "r".repeat(MAX_OBJECT_ID)});
        let row = row.as_object().unwrap();
        let key = key_for("_Join:f:C", row);
        assert!(key.len() <= index::MAX_KEY);
        assert!(check_key("_Join:f:C", &key, row).is_ok());
        assert!(check_partition(&longest_index_pk("C", &"f".repeat(3000))).is_err());
        assert!(check_partition(&longest_index_pk("C", "f")).is_ok());
    }
}
