//! What Parse Server's storage-adapter interface asks for, on DynamoDB. Finds flow as
//! query JSON → `Expr` → `Plan` (key access + superset filter) → items → decode → evaluate →
//! sort → skip/limit → keys → Parse JSON. Writes are conditional: new objects must be absent,
//! updates are read-modify-writes conditioned on the object's revision (retried with backoff on
//! conflict, after re-checking the query), and values of unique fields own a sentinel item
//! (`~u:<class>:<field>` / `=<value>`) written in the same transaction as the object, so
//! uniqueness holds under parallel writers.

use crate::codec::{
    self, canonical, canonical_field, item_size, item_to_stored, object_to_item, Item, Stored,
    MAX_ITEM_BYTES,
};
use crate::error::{Error, Result};
use crate::index::{self, Exactness, SkRange};
use crate::log::Log;
use crate::query::aggregate;
use crate::query::eval::{self, matches};
use crate::query::parse::parse_query_for;
use crate::query::plan::{join_access, plan_indexed, sentinel_key, Access, Lookup};
use crate::query::sort::{project, Order};
use crate::query::{parse_query, Expr};
use crate::schema::{fields_mut, Schemas};
use crate::store::{backoff, Condition, Store, StoreConfig, TxOp, Written};
use crate::transaction::{Pending, Sessions};
use crate::update;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{json, Map, Value};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use tokio::sync::{OnceCell, RwLock};

const META_PARTITION: &str = "~meta";
const WRITE_ATTEMPTS: u32 = 200;

pub struct Adapter {
    store: Store,
    create_table: bool,
    ready: OnceCell<()>,
    /// class → unique field paths (dotted), loaded from `~meta` once.
    uniques: RwLock<Option<Registry>>,
    sessions: Sessions,
    log: Arc<Log>,
}

/// The unique-value and index registries of every class (`unique_<class>`/`index_<class>` →
/// fields), as read from `~meta` at `read_at`.
struct Registry {
    fields: HashMap<String, Vec<String>>,
    read_at: std::time::Instant,
}

impl Registry {
    fn get(&self, key: &str) -> Option<&Vec<String>> {
        self.fields.get(key)
    }
    fn insert(&mut self, key: String, fields: Vec<String>) {
        self.fields.insert(key, fields);
    }
}

/// How long a process trusts its copy of the registries before reading them again, so an index
/// another server registers is kept by this one within that time (`PSD_REGISTRY_TTL_MS`
/// overrides it, for tests). A new index is back-filled twice: at once, and again after twice
/// this time, for the objects servers that had not seen it yet wrote meanwhile.
fn registry_ttl() -> std::time::Duration {
    let ms = std::env::var("PSD_REGISTRY_TTL_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5_000);
    std::time::Duration::from_millis(ms)
}

#[derive(Debug, Default, Clone)]
pub struct FindOptions {
    pub skip: usize,
    pub limit: Option<usize>,
    pub sort: Option<Value>,
    pub keys: Option<Vec<String>>,
    pub case_insensitive: bool,
}

impl FindOptions {
    pub fn from_json(v: &Value) -> FindOptions {
        FindOptions {
            skip: v.get("skip").and_then(Value::as_u64).unwrap_or(0) as usize,
            limit: v.get("limit").and_then(Value::as_u64).map(|l| l as usize),
            sort: v.get("sort").cloned().filter(|s| s.is_object()),
            keys: v.get("keys").and_then(Value::as_array).map(|a| {
                a.iter()
                    .filter_map(|k| k.as_str().map(str::to_string))
                    .filter(|k| !k.is_empty())
                    .collect()
            }),
            case_insensitive: v
                .get("caseInsensitive")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        }
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

fn is_join(class: &str) -> bool {
    class.starts_with("_Join:")
}

/// The DynamoDB sort key of an object: its objectId; for `_Join` rows `owningId:relatedId` (so
/// adding a relation twice is one row); otherwise a new objectId (as Mongo gives every document
/// an `_id`).
fn key_for(class: &str, obj: &Map<String, Value>) -> String {
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

pub fn validate_class_name(class: &str) -> Result<()> {
    let ok = !class.is_empty()
        && !class.starts_with('~')
        && class
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidQuery(format!("invalid class name: {class}")))
    }
}

/// Stored form of an object Parse hands to createObject. On `_User`, `_auth_data_<provider>`
/// keys (and an `authData` object) become the `authData` map.
fn prepare_new(class: &str, object: &Value) -> Result<Map<String, Value>> {
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

fn registry_fields(st: &Stored) -> Vec<String> {
    st.obj
        .get("fields")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn index_pk(class: &str, spec: &str) -> String {
    format!("~i:{class}:{spec}")
}

fn index_item(class: &str, spec: &str, e: &index::Entry, key: &str) -> Item {
    let mut item = aux_item(index_pk(class, spec), &e.sk, "key", key);
    if let Some(o) = e.ord {
        item.insert("ord".into(), AttributeValue::S(o.attr().into()));
    }
    item
}

/// The entries an index item holds (its sort key, and for an order entry its exactness).
fn entry_of(item: &Item) -> Option<(String, index::Entry)> {
    let (Some(AttributeValue::S(sk)), Some(AttributeValue::S(key))) =
        (item.get(codec::SK), item.get("key"))
    else {
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

/// Writes turning `have` into `want` for the object at `key`, each transaction checking that
/// the object is still at revision `rev` (None: still absent), at most 100 items each.
fn reconcile_ops(
    class: &str,
    spec: &str,
    key: &str,
    rev: Option<i64>,
    have: &[index::Entry],
    want: &[index::Entry],
) -> Vec<Vec<TxOp>> {
    let mut changes: Vec<TxOp> = Vec::new();
    for e in have.iter().filter(|e| !want.iter().any(|w| w.sk == e.sk)) {
        changes.push(TxOp::Delete(index_pk(class, spec), e.sk.clone(), None));
    }
    for e in want.iter().filter(|e| !have.contains(e)) {
        changes.push(TxOp::Put(index_item(class, spec, e, key), None));
    }
    let check = match rev {
        Some(r) => Condition::revision(r),
        None => Condition::absent(),
    };
    changes
        .chunks(99)
        .map(|c| {
            let mut tx = vec![TxOp::Check(
                class.to_string(),
                key.to_string(),
                check.clone(),
            )];
            tx.extend(c.iter().cloned());
            tx
        })
        .collect()
}

/// An object's key, revision (None: absent), the index entries it calls for and those it has.
type ObjectEntries = (String, Option<i64>, Vec<index::Entry>, Vec<index::Entry>);

/// Writes a group of objects' index changes in one transaction, or object by object when it
/// fails; answers how many objects changed.
async fn flush_group(
    store: &Store,
    class: &str,
    spec: &str,
    group: &mut Vec<ObjectEntries>,
    ops: &mut Vec<TxOp>,
) -> Result<usize> {
    if group.is_empty() {
        return Ok(0);
    }
    let members = std::mem::take(group);
    if store.transact(std::mem::take(ops)).await? == Written::Ok {
        return Ok(members.len());
    }
    let mut changed = 0;
    for (key, rev, want, current) in members {
        changed += usize::from(reconcile_one(store, class, spec, &key, rev, want, current).await?);
    }
    Ok(changed)
}

/// Brings one object's entries in line, reading the object (and its entries) again whenever it
/// changed meanwhile; answers whether anything was written.
async fn reconcile_one(
    store: &Store,
    class: &str,
    spec: &str,
    key: &str,
    mut rev: Option<i64>,
    mut want: Vec<index::Entry>,
    mut current: Vec<index::Entry>,
) -> Result<bool> {
    for attempt in 0..20 {
        let txs = reconcile_ops(class, spec, key, rev, &current, &want);
        if txs.is_empty() {
            return Ok(attempt > 0);
        }
        let mut ok = true;
        for tx in txs {
            if store.transact(tx).await? != Written::Ok {
                ok = false;
                break;
            }
        }
        if ok {
            return Ok(true);
        }
        backoff(attempt.min(6)).await;
        match store.get(class, key).await? {
            Some(item) => {
                let st = item_to_stored(&item)?;
                rev = Some(st.rev);
                want = index::entries(&st.obj, spec, &st.key);
            }
            None => {
                rev = None;
                want = Vec::new();
            }
        }
        current.clear();
        store
            .query(&index_pk(class, spec), None, |item| {
                if let Some((k, e)) = entry_of(&item) {
                    if k == key {
                        current.push(e);
                    }
                }
                Ok(true)
            })
            .await?;
    }
    Err(Error::Conflict(format!(
        "the index entries of {class}/{key} kept changing"
    )))
}

/// Makes index `spec` of `class` hold exactly the entries its stored objects call for: writes
/// the missing ones and deletes those of values no longer held (left by servers that did not
/// know the index yet) or of objects gone. Each change is a transaction that also checks the
/// object's revision, so a write racing with this one is never undone; an object that changed
/// meanwhile is read again. Progress goes to the log as `what`.
async fn reconcile_index(
    store: &Store,
    log: &Log,
    class: &str,
    spec: &str,
    what: &str,
) -> Result<()> {
    let mut have: HashMap<String, Vec<index::Entry>> = HashMap::new();
    store
        .query(&index_pk(class, spec), None, |item| {
            if let Some((key, e)) = entry_of(&item) {
                have.entry(key).or_default().push(e);
            }
            Ok(true)
        })
        .await?;
    let mut rows: Vec<(String, Option<i64>, Vec<index::Entry>)> = Vec::new();
    store
        .query(class, None, |item| {
            let st = item_to_stored(&item)?;
            let want = index::entries(&st.obj, spec, &st.key);
            rows.push((st.key, Some(st.rev), want));
            Ok(true)
        })
        .await?;
    // Entries of objects that are gone: delete them if the object is still absent.
    let gone: Vec<(String, Vec<index::Entry>)> = {
        let present: HashSet<&String> = rows.iter().map(|(k, _, _)| k).collect();
        have.iter()
            .filter(|(k, _)| !present.contains(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    let total = rows.len();
    if total > 0 {
        log.info(format!("{what} {class}.{spec}: {total} objects"));
    }
    let step = (total / 10).max(1000);
    let mut changed = 0usize;
    let work = rows
        .into_iter()
        .chain(gone.into_iter().map(|(k, _)| (k, None, Vec::new())));
    // Objects whose changes fit one transaction are grouped, up to 100 items per request; a
    // group that fails is done object by object.
    let mut group: Vec<ObjectEntries> = Vec::new();
    let mut group_ops: Vec<TxOp> = Vec::new();
    for (i, (key, rev, want)) in work.enumerate() {
        let current = have.remove(&key).unwrap_or_default();
        let txs = reconcile_ops(class, spec, &key, rev, &current, &want);
        if txs.len() == 1 && group_ops.len() + txs[0].len() <= 100 {
            group_ops.extend(txs.into_iter().flatten());
            group.push((key, rev, want, current));
        } else if !txs.is_empty() {
            changed += flush_group(store, class, spec, &mut group, &mut group_ops).await?;
            if txs.len() == 1 {
                group_ops.extend(txs.into_iter().flatten());
                group.push((key, rev, want, current));
            } else {
                changed +=
                    usize::from(reconcile_one(store, class, spec, &key, rev, want, current).await?);
            }
        }
        if (i + 1) % step == 0 && i + 1 < total {
            log.info(format!("{what} {class}.{spec}: {}/{total}", i + 1));
        }
    }
    changed += flush_group(store, class, spec, &mut group, &mut group_ops).await?;
    if total > 0 || changed > 0 {
        log.info(format!(
            "{what} {class}.{spec}: done, {total} objects, {changed} changed"
        ));
    }
    Ok(())
}

/// An item the adapter keeps beside objects (sentinel, index entry, relation mirror): its key
/// and one attribute pointing back at the object.
fn aux_item(pk: String, sk: &str, name: &str, value: &str) -> Item {
    HashMap::from([
        (codec::PK.to_string(), AttributeValue::S(pk)),
        (codec::SK.to_string(), AttributeValue::S(sk.to_string())),
        (name.to_string(), AttributeValue::S(value.to_string())),
    ])
}

/// Index entry writes turning `old`'s entries into `new`'s (either may be absent).
fn index_ops(
    class: &str,
    specs: &[String],
    key: &str,
    old: Option<&Map<String, Value>>,
    new: Option<&Map<String, Value>>,
) -> Vec<TxOp> {
    let mut ops = Vec::new();
    for spec in specs {
        let before = old
            .map(|o| index::entries(o, spec, key))
            .unwrap_or_default();
        let after = new
            .map(|o| index::entries(o, spec, key))
            .unwrap_or_default();
        for e in before
            .iter()
            .filter(|e| !after.iter().any(|a| a.sk == e.sk))
        {
            ops.push(TxOp::Delete(index_pk(class, spec), e.sk.clone(), None));
        }
        for e in after.iter().filter(|e| !before.contains(e)) {
            ops.push(TxOp::Put(index_item(class, spec, e, key), None));
        }
    }
    ops
}

/// A field type as Parse names it in messages (`Pointer<_User>`, `String`).
fn type_name(t: &Value) -> String {
    let base = t.get("type").and_then(Value::as_str).unwrap_or("?");
    match t.get("targetClass").and_then(Value::as_str) {
        Some(target) => format!("{base}<{target}>"),
        None => base.to_string(),
    }
}

/// The partition mirroring a relation's rows by `relatedId` (sort key `<relatedId>:<owningId>`),
/// so "which objects relate to X" (e.g. the roles of a user) is a key-range read too.
fn join_mirror_pk(class: &str) -> String {
    format!("~jr:{class}")
}

/// The mirror item of a relation row, or None when `obj` is not one.
fn join_mirror(class: &str, key: &str, obj: &Map<String, Value>) -> Option<Item> {
    let (pk, sk) = join_mirror_key(class, obj)?;
    Some(aux_item(pk, &sk, "key", key))
}

fn join_mirror_key(class: &str, obj: &Map<String, Value>) -> Option<(String, String)> {
    match (obj.get("owningId"), obj.get("relatedId")) {
        (Some(Value::String(o)), Some(Value::String(r))) if is_join(class) => {
            Some((join_mirror_pk(class), format!("{r}:{o}")))
        }
        _ => None,
    }
}

fn unique_pk(class: &str, field: &str) -> String {
    format!("~u:{class}:{field}")
}

/// The sentinel key of a unique value, or None when the field is empty (uniqueness is sparse).
fn unique_sk(obj: &Map<String, Value>, field: &str) -> Result<Option<String>> {
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

/// Parse's `duplicated_field` name for a unique path.
fn duplicated_name(field: &str) -> String {
    match field
        .strip_prefix("authData.")
        .and_then(|r| r.strip_suffix(".id"))
    {
        Some(provider) => format!("_auth_data_{provider}"),
        None => field.to_string(),
    }
}

fn sentinel_item(class: &str, field: &str, sk: &str, owner: &str) -> Item {
    aux_item(unique_pk(class, field), sk, "owner", owner)
}

fn check_size(item: &Item) -> Result<()> {
    let size = item_size(item);
    if size > MAX_ITEM_BYTES {
        return Err(Error::TooLarge(format!(
            "the object is {size} bytes; DynamoDB stores at most {MAX_ITEM_BYTES} bytes per object"
        )));
    }
    Ok(())
}

impl Adapter {
    pub async fn connect(cfg: StoreConfig) -> Result<Adapter> {
        let store = Store::connect(&cfg).await?;
        let log = Arc::new(Log::default());
        if let Some(path) = store.embedded() {
            log.info(format!(
                "table {} is served by the embedded store ({path}); pass `region` or `endpoint` for DynamoDB",
                store.table()
            ));
        }
        Ok(Adapter {
            store,
            create_table: cfg.create_table,
            ready: OnceCell::new(),
            uniques: RwLock::new(None),
            sessions: Sessions::default(),
            log,
        })
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn log(&self) -> &Log {
        &self.log
    }

    async fn ready(&self) -> Result<()> {
        self.ready
            .get_or_try_init(|| async { self.store.ensure_table(self.create_table).await })
            .await
            .map(|_| ())
    }

    fn schemas(&self) -> Schemas<'_> {
        Schemas { store: &self.store }
    }

    // ---------- unique values and indexes: the registry ----------

    /// Fields registered under `kind` ("unique" or "index") for `class`, from `~meta` (read
    /// again when older than `registry_ttl()`, and kept current by this process's
    /// registrations).
    async fn registered(&self, kind: &str, class: &str) -> Result<Vec<String>> {
        let key = format!("{kind}_{class}");
        let fresh = |r: &Option<Registry>| {
            r.as_ref()
                .filter(|m| m.read_at.elapsed() < registry_ttl())
                .map(|m| m.get(&key).cloned().unwrap_or_default())
        };
        if let Some(out) = fresh(&*self.uniques.read().await) {
            return Ok(out);
        }
        // One reader reloads; the others wait for it instead of reading `~meta` too.
        let mut guard = self.uniques.write().await;
        if let Some(out) = fresh(&guard) {
            return Ok(out);
        }
        let read_at = std::time::Instant::now();
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        self.store
            .query(META_PARTITION, None, |item| {
                let st = item_to_stored(&item)?;
                map.insert(st.key.clone(), registry_fields(&st));
                Ok(true)
            })
            .await?;
        let out = map.get(&key).cloned().unwrap_or_default();
        *guard = Some(Registry {
            fields: map,
            read_at,
        });
        Ok(out)
    }

    async fn unique_fields(&self, class: &str) -> Result<Vec<String>> {
        self.registered("unique", class).await
    }

    /// Indexed fields of `class` (`field`, or `field:ci` for a case-insensitive index).
    async fn index_fields(&self, class: &str) -> Result<Vec<String>> {
        self.registered("index", class).await
    }

    /// Adds `field` to the `kind` registry of `class` (a conditional read-modify-write, so
    /// servers registering at once all land). `before` runs once, only when the field is new,
    /// and may refuse. Answers whether the field was new.
    async fn register(
        &self,
        kind: &str,
        class: &str,
        field: &str,
        mut before: impl FnMut() -> Result<()>,
    ) -> Result<bool> {
        let key = format!("{kind}_{class}");
        let mut checked = false;
        for attempt in 0..50 {
            let (rev, mut fields) = match self.store.get(META_PARTITION, &key).await? {
                Some(item) => {
                    let st = item_to_stored(&item)?;
                    (st.rev, registry_fields(&st))
                }
                None => (0, Vec::new()),
            };
            let known = fields.iter().any(|f| f == field);
            if !known {
                if !checked {
                    before()?;
                    checked = true;
                }
                fields.push(field.to_string());
                let mut obj = Map::new();
                obj.insert("fields".into(), json!(fields));
                let item = object_to_item(META_PARTITION, &key, rev + 1, &obj)?;
                let cond = if rev == 0 {
                    Condition::absent()
                } else {
                    Condition::revision(rev)
                };
                if self.store.put(item, Some(cond)).await? != Written::Ok {
                    backoff(attempt.min(6)).await;
                    continue;
                }
            }
            if let Some(map) = self.uniques.write().await.as_mut() {
                map.insert(key, fields);
            }
            return Ok(!known);
        }
        Err(Error::Conflict(format!(
            "the {kind} registry of {class} kept changing"
        )))
    }

    async fn all_rows(&self, class: &str) -> Result<Vec<Stored>> {
        let mut found = Vec::new();
        self.store
            .query(class, None, |item| {
                found.push(item_to_stored(&item)?);
                Ok(true)
            })
            .await?;
        Ok(found)
    }

    /// Registers `field` of `class` as unique and, the first time, claims the values already
    /// stored (a full read of the class). Parse calls this at every start; a field that is
    /// registered already costs one GetItem.
    pub async fn ensure_unique(&self, class: &str, field: &str) -> Result<()> {
        self.ready().await?;
        if self.unique_fields(class).await?.iter().any(|f| f == field) {
            // Known here; still confirm with the table (another server may have reset it).
            if self
                .store
                .get(META_PARTITION, &format!("unique_{class}"))
                .await?
                .is_some()
            {
                return Ok(());
            }
        }
        let rows = self.all_rows(class).await?;
        // Refuse (and register nothing) when stored values already repeat.
        let check = || {
            let mut seen = std::collections::HashSet::new();
            for st in &rows {
                if let Some(sk) = unique_sk(&st.obj, field)? {
                    if !seen.insert(sk) {
                        return Err(Error::Duplicate {
                            field: Some(duplicated_name(field)),
                        });
                    }
                }
            }
            Ok(())
        };
        if !self.register("unique", class, field, check).await? {
            return Ok(());
        }
        // Claim the values already stored.
        for st in &rows {
            if let Some(sk) = unique_sk(&st.obj, field)? {
                let w = self
                    .store
                    .put(
                        sentinel_item(class, field, &sk, &st.key),
                        Some(Condition::absent_or_owned(&st.key)),
                    )
                    .await?;
                if w != Written::Ok {
                    return Err(Error::Duplicate {
                        field: Some(duplicated_name(field)),
                    });
                }
            }
        }
        Ok(())
    }

    /// Keeps an index on `field` (`case_insensitive`: on its lower-cased text), so equality,
    /// `$in` and case-insensitive equality on it are key-range reads. The first registration
    /// indexes the objects already stored.
    pub async fn ensure_index(
        &self,
        class: &str,
        field: &str,
        case_insensitive: bool,
    ) -> Result<()> {
        let kind = if case_insensitive {
            index::Kind::CaseInsensitive
        } else {
            index::Kind::Ordered
        };
        self.ensure_index_of(class, field, kind).await
    }

    /// `ensure_index` for any kind of index (see `index::Kind`).
    pub async fn ensure_index_of(&self, class: &str, field: &str, kind: index::Kind) -> Result<()> {
        self.ready().await?;
        let spec = index::spec(field, kind);
        if !self.register("index", class, &spec, || Ok(())).await? {
            return Ok(());
        }
        self.backfill_index(class, &spec).await
    }

    /// Brings index `spec` of `class` in line with the stored objects now, and once more in the
    /// background after twice `registry_ttl()` (see there).
    async fn backfill_index(&self, class: &str, spec: &str) -> Result<()> {
        reconcile_index(&self.store, &self.log, class, spec, "indexing").await?;
        let (store, log) = (self.store.clone(), self.log.clone());
        let (class, spec) = (class.to_string(), spec.to_string());
        tokio::spawn(async move {
            tokio::time::sleep(registry_ttl() * 2).await;
            if let Err(e) = reconcile_index(&store, &log, &class, &spec, "re-indexing").await {
                log.warn(format!("re-indexing {class}.{spec} failed: {e}"));
            }
        });
        Ok(())
    }

    /// Stops keeping index `spec` (`field` or `field:ci`) of `class` and deletes its entries.
    /// Answers whether there was such an index.
    pub async fn drop_index(&self, class: &str, spec: &str) -> Result<bool> {
        self.ready().await?;
        let key = format!("index_{class}");
        for attempt in 0..50 {
            let Some(item) = self.store.get(META_PARTITION, &key).await? else {
                return Ok(false);
            };
            let st = item_to_stored(&item)?;
            let mut fields = registry_fields(&st);
            if !fields.iter().any(|f| f == spec) {
                if let Some(map) = self.uniques.write().await.as_mut() {
                    map.insert(key, fields);
                }
                return Ok(false);
            }
            fields.retain(|f| f != spec);
            let mut obj = Map::new();
            obj.insert("fields".into(), json!(fields));
            let item = object_to_item(META_PARTITION, &key, st.rev + 1, &obj)?;
            if self
                .store
                .put(item, Some(Condition::revision(st.rev)))
                .await?
                != Written::Ok
            {
                backoff(attempt.min(6)).await;
                continue;
            }
            if let Some(map) = self.uniques.write().await.as_mut() {
                map.insert(key, fields);
            }
            let keys = self.partition_keys(&index_pk(class, spec)).await?;
            self.store.batch_delete(&keys).await?;
            self.log.info(format!(
                "dropped index {class}.{spec} ({} entries)",
                keys.len()
            ));
            return Ok(true);
        }
        Err(Error::Conflict(format!(
            "the index registry of {class} kept changing"
        )))
    }

    // ---------- reads ----------

    /// The rows with these keys that match `expr`, in key order (GetItem or BatchGetItem).
    async fn read_keys(
        &self,
        class: &str,
        expr: &Expr,
        keys: &[String],
        cap: Option<usize>,
    ) -> Result<Vec<Stored>> {
        let items = match keys {
            [] => vec![],
            [one] => self.store.get(class, one).await?.into_iter().collect(),
            many => self.store.batch_get(class, many).await?,
        };
        let mut rows: Vec<Stored> = items.iter().map(item_to_stored).collect::<Result<_>>()?;
        rows.sort_by(|a, b| a.key.cmp(&b.key));
        let mut out = Vec::new();
        for st in rows {
            if matches(expr, &st.obj) {
                out.push(st);
                if cap.is_some_and(|c| out.len() >= c) {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// Stored rows of `class` matching `expr`; stops after `cap` matches when given.
    async fn matching(&self, class: &str, expr: &Expr, cap: Option<usize>) -> Result<Vec<Stored>> {
        self.ready().await?;
        // Gets by objectId (the most common read) need no registry and no filter.
        if let Some(keys) = crate::query::plan::key_access(expr) {
            return self.read_keys(class, expr, &keys, cap).await;
        }
        let mut p = plan_indexed(
            expr,
            &self.unique_fields(class).await?,
            &self.index_fields(class).await?,
        );
        if is_join(class) && p.access == Access::Partition {
            p.access = join_access(expr).unwrap_or(Access::Partition);
        }
        let mut out = Vec::new();
        match p.access {
            Access::JoinOwning(ids) => {
                for id in ids {
                    let prefix = format!("{id}:");
                    self.store
                        .query_prefix(class, Some(&prefix), p.filter.as_ref(), |item| {
                            let st = item_to_stored(&item)?;
                            if matches(expr, &st.obj) {
                                out.push(st);
                            }
                            Ok(cap.is_none_or(|c| out.len() < c))
                        })
                        .await?;
                }
            }
            Access::JoinRelated(ids) => {
                let mut keys = Vec::new();
                for id in ids {
                    let prefix = format!("{id}:");
                    self.store
                        .query_prefix(&join_mirror_pk(class), Some(&prefix), None, |item| {
                            if let Some(AttributeValue::S(k)) = item.get("key") {
                                keys.push(k.clone());
                            }
                            Ok(true)
                        })
                        .await?;
                }
                out = self.read_keys(class, expr, &keys, cap).await?;
            }
            Access::Lookups(lookups) => {
                let mut keys: Vec<String> = Vec::new();
                let mut found: HashSet<String> = HashSet::new();
                for l in lookups {
                    let key = match l {
                        Lookup::Index { spec, range } => {
                            let pk = index_pk(class, &spec);
                            let mut start = None;
                            loop {
                                let (items, next) = self
                                    .store
                                    .query_page(&pk, (&range.from, &range.to), true, 1000, start)
                                    .await?;
                                for item in items {
                                    if let Some(AttributeValue::S(k)) = item.get("key") {
                                        if found.insert(k.clone()) {
                                            keys.push(k.clone());
                                        }
                                    }
                                }
                                match next {
                                    Some(n) => start = Some(n),
                                    None => break,
                                }
                            }
                            None
                        }
                        Lookup::Key(k) => Some(k),
                        Lookup::Unique { field, sk } => {
                            match self.store.get(&unique_pk(class, &field), &sk).await? {
                                Some(item) => match item.get("owner") {
                                    Some(AttributeValue::S(o)) => Some(o.clone()),
                                    _ => None,
                                },
                                None => None,
                            }
                        }
                    };
                    if let Some(k) = key.filter(|k| !k.is_empty() && !found.contains(k)) {
                        found.insert(k.clone());
                        keys.push(k);
                    }
                }
                out = self.read_keys(class, expr, &keys, cap).await?;
            }
            Access::Keys(keys) => {
                out = self.read_keys(class, expr, &keys, cap).await?;
            }
            Access::Partition => {
                self.store
                    .query(class, p.filter.as_ref(), |item| {
                        let st = item_to_stored(&item)?;
                        if matches(expr, &st.obj) {
                            out.push(st);
                        }
                        Ok(cap.is_none_or(|c| out.len() < c))
                    })
                    .await?;
            }
        }
        Ok(out)
    }

    /// The rows matching `expr` that come first when sorted by `field` (`ascending` or not),
    /// read in that order from the field's index within `range`: pages of entries, each page's
    /// new objects fetched with BatchGetItem and checked by the evaluator, until `skip + limit`
    /// rows are known to precede everything unread. Answers how many leading rows were skipped
    /// without being read (only when `expr` has no condition: each object's order entry is
    /// then one row) and the rows read, to be sorted by the caller. Correct because every
    /// object has an order entry at the text it sorts by (see `index`), so when the scan has
    /// passed group G, every row sorting before G has been seen.
    async fn scan_in_order(
        &self,
        class: &str,
        expr: &Expr,
        field: &str,
        ranges: &[SkRange],
        ascending: bool,
        page: &FindOptions,
    ) -> Result<(usize, Vec<Stored>)> {
        let (skip, limit) = (page.skip, page.limit);
        let need = limit.map(|l| l.saturating_add(skip));
        let pk = index_pk(class, field);
        let before = |a: &str, b: &str| if ascending { a < b } else { a > b };
        let mut skipping = matches!(expr, Expr::True) && skip > 0;
        let mut skipped = 0usize;
        // The exact group being skipped: its text and its objects' keys.
        let mut group: Option<(String, Vec<String>)> = None;
        let mut seen: HashSet<String> = HashSet::new();
        let mut rows: Vec<(String, Stored)> = Vec::new();
        let mut start;
        let mut page_size = need.map_or(1000, |n| (n * 2 + 10).min(1000)) as i32;
        let mut finished = false;
        for (i, range) in ranges.iter().enumerate() {
            let last_range = i + 1 == ranges.len();
            start = None;
            loop {
                let (items, next) = self
                    .store
                    .query_page(&pk, (&range.from, &range.to), ascending, page_size, start)
                    .await?;
                page_size = (page_size * 2).min(1000);
                // Keys to read, each with the group of the entry that named it.
                let mut fetch: Vec<(String, String)> = Vec::new();
                for item in &items {
                    let Some((key, index::Entry { sk, ord })) = entry_of(item) else {
                        continue;
                    };
                    let key = &key;
                    let g = index::group_of(&sk).to_string();
                    if skipping {
                        match ord {
                            // Without conditions each object is found at its order entry alone.
                            None => continue,
                            Some(Exactness::Exact) => {
                                if group.as_ref().is_some_and(|(t, _)| *t != g) {
                                    let (t, keys) = group.take().unwrap_or_default();
                                    if skip - skipped >= keys.len() {
                                        skipped += keys.len();
                                    } else {
                                        skipping = false;
                                        fetch.extend(keys.into_iter().map(|k| (k, t.clone())));
                                    }
                                }
                                if skipping {
                                    seen.insert(key.clone());
                                    group
                                        .get_or_insert_with(|| (g, Vec::new()))
                                        .1
                                        .push(key.clone());
                                    continue;
                                }
                            }
                            Some(Exactness::Inexact) => {
                                skipping = false;
                                if let Some((t, keys)) = group.take() {
                                    if skip - skipped >= keys.len() {
                                        skipped += keys.len();
                                    } else {
                                        fetch.extend(keys.into_iter().map(|k| (k, t.clone())));
                                    }
                                }
                            }
                        }
                    }
                    if seen.insert(key.clone()) {
                        fetch.push((key.clone(), g));
                    }
                }
                if next.is_none() && last_range {
                    if let Some((t, keys)) = group.take() {
                        if skip - skipped >= keys.len() {
                            skipped += keys.len();
                        } else {
                            fetch.extend(keys.into_iter().map(|k| (k, t.clone())));
                        }
                    }
                }
                fetch.retain(|(k, _)| !k.is_empty());
                // Read in chunks of what is still missing, so a page is not read past the answer.
                let mut at = 0;
                while at < fetch.len() {
                    let missing = need.map_or(100, |n| {
                        let done = rows
                            .iter()
                            .filter(|(ok, _)| before(ok, &fetch[at].1))
                            .count();
                        n.saturating_sub(skipped + done).clamp(1, 100)
                    });
                    let chunk = &fetch[at..(at + missing).min(fetch.len())];
                    at += chunk.len();
                    let keys: Vec<String> = chunk.iter().map(|(k, _)| k.clone()).collect();
                    for st in self.read_keys(class, expr, &keys, None).await? {
                        let (text, _) = index::order_text(index::sort_value(&st.obj, field));
                        let ok = index::group_of(&text).to_string();
                        rows.push((ok, st));
                    }
                    if let (Some(need), false) = (need, skipping) {
                        let last = &chunk[chunk.len() - 1].1;
                        let done = rows.iter().filter(|(ok, _)| before(ok, last)).count();
                        if skipped + done >= need {
                            rows.retain(|(ok, _)| before(ok, last));
                            finished = true;
                            break;
                        }
                    }
                }
                if finished {
                    break;
                }
                match next {
                    Some(n) => start = Some(n),
                    None => break,
                }
            }
            if finished {
                break;
            }
        }
        let mut out: Vec<Stored> = rows.into_iter().map(|(_, st)| st).collect();
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok((skipped, out))
    }

    /// Whether a sorted, limited find reads its rows in order from an index: the sort is one
    /// indexed top-level field and no key, unique-value or equality lookup answers the query
    /// (those read fewer rows). Answers the field, the index range and the direction.
    async fn index_order(
        &self,
        class: &str,
        expr: &Expr,
        order: &Order,
        opts: &FindOptions,
        schema: &Value,
    ) -> Result<Option<(String, Vec<SkRange>, bool)>> {
        let [(path, asc)] = order.keys.as_slice() else {
            return Ok(None);
        };
        if order.near.is_some() || opts.limit.is_none() || path.len() != 1 || is_join(class) {
            return Ok(None);
        }
        self.ready().await?;
        let field = &path[0];
        let indexes = self.index_fields(class).await?;
        let Some(range) = crate::query::plan::sort_range(expr, &indexes, field) else {
            return Ok(None);
        };
        let p = plan_indexed(expr, &self.unique_fields(class).await?, &indexes);
        let served = match &p.access {
            Access::Partition => true,
            Access::Lookups(l) => {
                matches!(l.as_slice(), [Lookup::Index { spec, range: r }] if spec == field && *r == range)
            }
            _ => false,
        };
        if !served {
            return Ok(None);
        }
        // A bounded range holds no array's order entry, yet an array can match through an
        // element; when arrays sort before the range, their group is read first (not needed
        // when the schema says the field holds no arrays).
        let mut ranges = vec![range.clone()];
        let typ = schema
            .get("fields")
            .and_then(|f| f.get(field))
            .and_then(|t| t.get("type"))
            .and_then(Value::as_str);
        let may_be_array = typ.is_none_or(|t| t == "Array");
        if range != SkRange::all() && may_be_array {
            let tag = range.from.chars().next().unwrap_or('0');
            if (*asc && tag > '4') || (!*asc && tag < '4') {
                ranges.insert(0, SkRange::exact("4"));
            }
        }
        Ok(Some((field.clone(), ranges, *asc)))
    }

    pub async fn find(
        &self,
        class: &str,
        schema: &Value,
        query: &Value,
        opts: &FindOptions,
    ) -> Result<Vec<Value>> {
        let expr = parse_query(query, opts.case_insensitive)?;
        let mut order = Order::from_sort(opts.sort.as_ref());
        order.near = eval::near_point(&expr);
        // Without an order the key order is the result order, so stop after skip + limit.
        let cap = if order.is_empty() {
            opts.limit.map(|l| l.saturating_add(opts.skip))
        } else {
            None
        };
        if opts.limit == Some(0) {
            return Ok(vec![]);
        }
        let (skipped, rows) = match self.index_order(class, &expr, &order, opts, schema).await? {
            Some((field, ranges, asc)) => {
                self.scan_in_order(class, &expr, &field, &ranges, asc, opts)
                    .await?
            }
            None => (0, self.matching(class, &expr, cap).await?),
        };
        let mut objs: Vec<Map<String, Value>> = rows.into_iter().map(|s| s.obj).collect();
        // `$text` relevance, as `score`, when the query sorts or selects by `$score`.
        let wants_score = opts
            .keys
            .as_ref()
            .is_some_and(|k| k.iter().any(|k| k == "$score"))
            || opts
                .sort
                .as_ref()
                .and_then(Value::as_object)
                .is_some_and(|s| {
                    s.contains_key("$score") || s.values().any(|d| d.get("$meta").is_some())
                });
        if wants_score {
            for o in &mut objs {
                if let Some(score) = eval::query_text_score(&expr, o) {
                    o.insert("score".into(), json!(score));
                }
            }
        }
        order.sort(&mut objs);
        let take = opts.limit.unwrap_or(usize::MAX);
        Ok(objs
            .into_iter()
            .skip(opts.skip - skipped)
            .take(take)
            .map(|mut o| {
                if let Some(keys) = &opts.keys {
                    project(&mut o, keys);
                }
                to_parse(o, schema)
            })
            .collect())
    }

    /// Runs an aggregation pipeline. A leading `$match` selects the rows through the planner (so
    /// DynamoDB filters them); every other stage runs in Rust.
    pub async fn aggregate(
        &self,
        class: &str,
        schema: &Value,
        pipeline: &Value,
    ) -> Result<Vec<Value>> {
        let stages: Vec<Value> = match pipeline {
            Value::Array(a) => a.iter().filter(|s| !s.is_null()).cloned().collect(),
            _ => return Err(Error::query("the pipeline must be an array of stages")),
        };
        // A leading `$match` is done by the planner; a leading `$geoNear` keeps its stage (it
        // orders and measures) but its query selects the rows the same way.
        let geo_first = stages.first().is_some_and(|s| s.get("$geoNear").is_some());
        let (query, rest) = match aggregate::leading_match(&stages) {
            Some(m) if geo_first => (m, &stages[..]),
            Some(m) => (m, &stages[1..]),
            None => (json!({}), &stages[..]),
        };
        let expr = parse_query_for(&query, false, schema)?;
        let rows: Vec<Map<String, Value>> = self
            .matching(class, &expr, None)
            .await?
            .into_iter()
            .map(|s| s.obj)
            .collect();
        Ok(aggregate::run(rest, rows)?
            .into_iter()
            .map(|r| to_parse(r, &json!({})))
            .collect())
    }

    /// What a find does in DynamoDB (Parse's `explain`): the access path, the filter expression
    /// and, for `executionStats`/`allPlansExecution`, what it returned.
    pub async fn explain(
        &self,
        class: &str,
        schema: &Value,
        query: &Value,
        opts: &FindOptions,
        mode: &Value,
    ) -> Result<Value> {
        let stats = match mode {
            Value::String(m) if m == "queryPlanner" => false,
            Value::Bool(true) => true,
            Value::String(m) if m == "executionStats" || m == "allPlansExecution" => true,
            _ => return Err(Error::query("Invalid value for explain")),
        };
        let expr = parse_query_for(query, opts.case_insensitive, schema)?;
        let p = plan_indexed(
            &expr,
            &self.unique_fields(class).await?,
            &self.index_fields(class).await?,
        );
        let mut order = Order::from_sort(opts.sort.as_ref());
        order.near = eval::near_point(&expr);
        let in_order = self.index_order(class, &expr, &order, opts, schema).await?;
        let access = match (&p.access, in_order) {
            (_, Some((field, _, asc))) => {
                json!({
                    "operation": "Query",
                    "partition": index_pk(class, &field),
                    "scanIndexForward": asc,
                    "then": "BatchGetItem",
                    "stopsAfter": opts.limit.map(|l| l.saturating_add(opts.skip)),
                })
            }
            (Access::Keys(k), None) if k.len() == 1 => json!({"operation": "GetItem", "keys": k}),
            (Access::Keys(k), None) => json!({"operation": "BatchGetItem", "keys": k.len()}),
            (Access::Lookups(l), None) => {
                let via: Vec<String> = l
                    .iter()
                    .map(|x| match x {
                        Lookup::Key(_) => "objectId".to_string(),
                        Lookup::Unique { field, .. } => format!("unique value of {field}"),
                        Lookup::Index { spec, .. } => format!("index {spec}"),
                    })
                    .collect();
                let op = if l.iter().any(|x| matches!(x, Lookup::Index { .. })) {
                    "Query"
                } else {
                    "GetItem"
                };
                json!({"operation": op, "via": via.join(", "), "lookups": l.len(), "then": "BatchGetItem"})
            }
            (Access::Partition, None) if is_join(class) => match join_access(&expr) {
                Some(Access::JoinOwning(ids)) => {
                    json!({"operation": "Query", "partition": class, "sortKeyPrefixes": ids.len()})
                }
                Some(Access::JoinRelated(ids)) => {
                    json!({"operation": "Query", "partition": join_mirror_pk(class), "sortKeyPrefixes": ids.len(), "then": "BatchGetItem"})
                }
                _ => json!({"operation": "Query", "partition": class}),
            },
            (Access::Partition | Access::JoinOwning(_) | Access::JoinRelated(_), None) => {
                json!({"operation": "Query", "partition": class})
            }
        };
        let mut out = json!({
            "ok": 1,
            "queryPlanner": {
                "table": self.store.table(),
                "access": access,
                "filterExpression": p.filter.as_ref().map(|f| f.expression.clone()),
                "filterNames": p.filter.as_ref().map(|f| json!(f.names)),
                "evaluator": "every returned item is re-checked in Rust; sort, skip, limit and keys run after it",
            }
        });
        if stats {
            let rows = self.find(class, schema, query, opts).await?;
            out["executionStats"] = json!({ "nReturned": rows.len() });
        }
        Ok(out)
    }

    pub async fn count(&self, class: &str, schema: &Value, query: &Value) -> Result<usize> {
        let expr = parse_query_for(query, false, schema)?;
        Ok(self.matching(class, &expr, None).await?.len())
    }

    pub async fn distinct(
        &self,
        class: &str,
        schema: &Value,
        query: &Value,
        field: &str,
    ) -> Result<Vec<Value>> {
        let expr = parse_query_for(query, false, schema)?;
        let rows = self.matching(class, &expr, None).await?;
        let path: Vec<String> = field.split('.').map(str::to_string).collect();
        let mut out: Vec<Value> = Vec::new();
        for st in &rows {
            let mut vals = Vec::new();
            eval::collect_path(&st.obj, &path, &mut vals);
            for v in vals {
                let items: Vec<&Value> = match v {
                    Value::Array(a) => a.iter().collect(),
                    other => vec![other],
                };
                for it in items {
                    if !it.is_null() && !out.iter().any(|o| eval::value_eq(o, it)) {
                        out.push(it.clone());
                    }
                }
            }
        }
        Ok(out)
    }

    // ---------- writes ----------

    pub async fn create_object(
        &self,
        class: &str,
        object: &Value,
        session: Option<u64>,
    ) -> Result<Value> {
        self.ready().await?;
        let obj = prepare_new(class, object)?;
        let key = key_for(class, &obj);
        self.write_new(class, &key, &obj, session).await?;
        Ok(json!({ "ops": [object] }))
    }

    async fn write_new(
        &self,
        class: &str,
        key: &str,
        obj: &Map<String, Value>,
        session: Option<u64>,
    ) -> Result<()> {
        let item = object_to_item(class, key, 1, obj)?;
        check_size(&item)?;
        let uniques = self.unique_fields(class).await?;
        let mut sentinels = Vec::new();
        for f in &uniques {
            if let Some(sk) = unique_sk(obj, f)? {
                sentinels.push((f.clone(), sk));
            }
        }
        if let Some(s) = session {
            if let Pending::Written(_) = self.sessions.pending(s, class, key)? {
                return Err(Error::Duplicate { field: None });
            }
            self.sessions.add(
                s,
                TxOp::Put(item, Some(Condition::absent())),
                Some(obj.clone()),
                Error::Duplicate { field: None },
            )?;
            for (f, sk) in &sentinels {
                let dup = Error::Duplicate {
                    field: Some(duplicated_name(f)),
                };
                self.sessions.add(
                    s,
                    TxOp::Put(sentinel_item(class, f, sk, key), Some(Condition::absent())),
                    None,
                    dup,
                )?;
            }
            if let Some(m) = join_mirror(class, key, obj) {
                self.sessions.add(
                    s,
                    TxOp::Put(m, None),
                    None,
                    Error::Internal("relation mirror".into()),
                )?;
            }
            for op in index_ops(
                class,
                &self.index_fields(class).await?,
                key,
                None,
                Some(obj),
            ) {
                self.sessions
                    .add(s, op, None, Error::Internal("index entry".into()))?;
            }
            return Ok(());
        }
        let mirror = join_mirror(class, key, obj);
        let indexed = index_ops(
            class,
            &self.index_fields(class).await?,
            key,
            None,
            Some(obj),
        );
        if sentinels.is_empty() && mirror.is_none() && indexed.is_empty() {
            return match self.store.put(item, Some(Condition::absent())).await? {
                Written::Ok => Ok(()),
                _ => Err(Error::Duplicate { field: None }),
            };
        }
        for attempt in 0..WRITE_ATTEMPTS {
            let mut ops = vec![TxOp::Put(item.clone(), Some(Condition::absent()))];
            for (f, sk) in &sentinels {
                ops.push(TxOp::Put(
                    sentinel_item(class, f, sk, key),
                    Some(Condition::absent()),
                ));
            }
            if let Some(m) = &mirror {
                ops.push(TxOp::Put(m.clone(), None));
            }
            ops.extend(indexed.iter().cloned());
            match self.store.transact(ops).await? {
                Written::Ok => return Ok(()),
                Written::ConditionFailed(0) => return Err(Error::Duplicate { field: None }),
                Written::ConditionFailed(i) => {
                    return Err(Error::Duplicate {
                        field: Some(duplicated_name(&sentinels[i - 1].0)),
                    })
                }
                Written::Conflict => backoff(attempt.min(6)).await,
            }
        }
        Err(Error::Conflict(
            "too many conflicting writes; try again".into(),
        ))
    }

    /// Applies `upd` to one stored row with a revision-conditioned write; re-reads and
    /// re-checks `expr` on conflict. Returns the new object, or None if it stopped matching.
    async fn update_row(
        &self,
        class: &str,
        expr: &Expr,
        mut st: Stored,
        upd: &Map<String, Value>,
        session: Option<u64>,
    ) -> Result<Option<Map<String, Value>>> {
        let uniques = self.unique_fields(class).await?;
        let indexes = self.index_fields(class).await?;
        if let Some(s) = session {
            return self.update_in_session(s, class, st, upd, &uniques, &indexes);
        }
        for attempt in 0..WRITE_ATTEMPTS {
            let mut new = st.obj.clone();
            update::apply(&mut new, upd)?;
            let item = object_to_item(class, &st.key, st.rev + 1, &new)?;
            check_size(&item)?;
            let mut extra = Vec::new();
            let mut fields = Vec::new();
            for f in &uniques {
                let (old_sk, new_sk) = (unique_sk(&st.obj, f)?, unique_sk(&new, f)?);
                if old_sk == new_sk {
                    continue;
                }
                if let Some(sk) = new_sk {
                    extra.push(TxOp::Put(
                        sentinel_item(class, f, &sk, &st.key),
                        Some(Condition::absent_or_owned(&st.key)),
                    ));
                    fields.push(f.clone());
                }
                if let Some(sk) = old_sk {
                    extra.push(TxOp::Delete(
                        unique_pk(class, f),
                        sk,
                        Some(Condition::absent_or_owned(&st.key)),
                    ));
                    fields.push(f.clone());
                }
            }
            // Index entries come after the sentinels (their positions map failures to fields).
            extra.extend(index_ops(
                class,
                &indexes,
                &st.key,
                Some(&st.obj),
                Some(&new),
            ));
            let written = if extra.is_empty() {
                self.store
                    .put(item, Some(Condition::revision(st.rev)))
                    .await?
            } else {
                let mut ops = vec![TxOp::Put(item, Some(Condition::revision(st.rev)))];
                ops.extend(extra);
                self.store.transact(ops).await?
            };
            match written {
                Written::Ok => return Ok(Some(new)),
                Written::ConditionFailed(i) if i > 0 => {
                    return Err(Error::Duplicate {
                        field: Some(duplicated_name(&fields[i - 1])),
                    })
                }
                _ => {
                    backoff(attempt.min(6)).await;
                    match self.store.get(class, &st.key).await? {
                        Some(item) => st = item_to_stored(&item)?,
                        None => return Ok(None),
                    }
                    if !matches(expr, &st.obj) {
                        return Ok(None);
                    }
                }
            }
        }
        Err(Error::Conflict(
            "too many concurrent updates of one object; try again".into(),
        ))
    }

    /// An update inside a transactional session: computed from what the session already wrote
    /// (else the stored object), buffered with a condition on the stored revision.
    fn update_in_session(
        &self,
        s: u64,
        class: &str,
        st: Stored,
        upd: &Map<String, Value>,
        uniques: &[String],
        indexes: &[String],
    ) -> Result<Option<Map<String, Value>>> {
        let base = match self.sessions.pending(s, class, &st.key)? {
            Pending::Written(o) => o,
            Pending::Deleted => return Ok(None),
            Pending::None => st.obj.clone(),
        };
        let mut new = base.clone();
        update::apply(&mut new, upd)?;
        let item = object_to_item(class, &st.key, st.rev + 1, &new)?;
        check_size(&item)?;
        let changed = Error::Conflict(format!(
            "{class} {} changed during the transaction; nothing was written",
            st.key
        ));
        self.sessions.add(
            s,
            TxOp::Put(item, Some(Condition::revision(st.rev))),
            Some(new.clone()),
            changed,
        )?;
        for f in uniques {
            let (old_sk, new_sk) = (unique_sk(&base, f)?, unique_sk(&new, f)?);
            if old_sk == new_sk {
                continue;
            }
            let dup = || Error::Duplicate {
                field: Some(duplicated_name(f)),
            };
            if let Some(sk) = old_sk {
                let op = TxOp::Delete(
                    unique_pk(class, f),
                    sk,
                    Some(Condition::absent_or_owned(&st.key)),
                );
                self.sessions.add(s, op, None, dup())?;
            }
            if let Some(sk) = new_sk {
                let op = TxOp::Put(
                    sentinel_item(class, f, &sk, &st.key),
                    Some(Condition::absent_or_owned(&st.key)),
                );
                self.sessions.add(s, op, None, dup())?;
            }
        }
        for op in index_ops(class, indexes, &st.key, Some(&base), Some(&new)) {
            self.sessions
                .add(s, op, None, Error::Internal("index entry".into()))?;
        }
        Ok(Some(new))
    }

    pub fn start_session(&self) -> u64 {
        self.sessions.start()
    }

    pub async fn commit_session(&self, session: u64) -> Result<()> {
        self.sessions.commit(&self.store, session).await
    }

    pub fn abort_session(&self, session: u64) {
        self.sessions.abort(session)
    }

    fn update_map(update: &Value) -> Result<&Map<String, Value>> {
        update
            .as_object()
            .ok_or_else(|| Error::json("update must be an object"))
    }

    pub async fn find_one_and_update(
        &self,
        class: &str,
        schema: &Value,
        query: &Value,
        update: &Value,
        session: Option<u64>,
    ) -> Result<Value> {
        let expr = parse_query(query, false)?;
        let upd = Self::update_map(update)?;
        for st in self.matching(class, &expr, Some(1)).await? {
            if let Some(new) = self.update_row(class, &expr, st, upd, session).await? {
                return Ok(to_parse(new, schema));
            }
        }
        Ok(Value::Null)
    }

    pub async fn update_many(
        &self,
        class: &str,
        query: &Value,
        update: &Value,
        session: Option<u64>,
    ) -> Result<Value> {
        let expr = parse_query(query, false)?;
        let upd = Self::update_map(update)?;
        let rows = self.matching(class, &expr, None).await?;
        let matched = rows.len();
        let mut modified = 0;
        for st in rows {
            if self
                .update_row(class, &expr, st, upd, session)
                .await?
                .is_some()
            {
                modified += 1;
            }
        }
        Ok(json!({ "matchedCount": matched, "modifiedCount": modified }))
    }

    /// Updates the first match or inserts; answers the object as it is now (Parse format).
    pub async fn upsert_one(
        &self,
        class: &str,
        schema: &Value,
        query: &Value,
        update: &Value,
        session: Option<u64>,
    ) -> Result<Value> {
        let expr = parse_query(query, false)?;
        let upd = Self::update_map(update)?;
        for attempt in 0..WRITE_ATTEMPTS {
            if let Some(st) = self
                .matching(class, &expr, Some(1))
                .await?
                .into_iter()
                .next()
            {
                if let Some(new) = self.update_row(class, &expr, st, upd, session).await? {
                    return Ok(to_parse(new, schema));
                }
                continue;
            }
            // Insert: the query's equalities, then the update.
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
            let key = key_for(class, &obj);
            match self.write_new(class, &key, &obj, session).await {
                Ok(()) => {
                    if !is_join(class) {
                        obj.insert("objectId".into(), Value::String(key));
                    }
                    return Ok(to_parse(obj, schema));
                }
                // Someone inserted the same key meanwhile: update it instead.
                Err(Error::Duplicate { field: None }) => backoff(attempt.min(4)).await,
                Err(e) => return Err(e),
            }
        }
        Err(Error::Conflict("upsert kept conflicting; try again".into()))
    }

    async fn delete_row(
        &self,
        class: &str,
        expr: &Expr,
        mut st: Stored,
        session: Option<u64>,
    ) -> Result<bool> {
        let indexes = self.index_fields(class).await?;
        let uniques = self.unique_fields(class).await?;
        if let Some(s) = session {
            let base = match self.sessions.pending(s, class, &st.key)? {
                Pending::Written(o) => o,
                Pending::Deleted => return Ok(false),
                Pending::None => st.obj.clone(),
            };
            let changed = Error::Conflict(format!(
                "{class} {} changed during the transaction; nothing was written",
                st.key
            ));
            let op = TxOp::Delete(
                class.to_string(),
                st.key.clone(),
                Some(Condition::revision(st.rev)),
            );
            self.sessions.add(s, op, None, changed)?;
            for f in &uniques {
                if let Some(sk) = unique_sk(&base, f)? {
                    let op = TxOp::Delete(
                        unique_pk(class, f),
                        sk,
                        Some(Condition::absent_or_owned(&st.key)),
                    );
                    self.sessions.add(
                        s,
                        op,
                        None,
                        Error::Duplicate {
                            field: Some(duplicated_name(f)),
                        },
                    )?;
                }
            }
            if let Some((pk, sk)) = join_mirror_key(class, &base) {
                self.sessions.add(
                    s,
                    TxOp::Delete(pk, sk, None),
                    None,
                    Error::Internal("relation mirror".into()),
                )?;
            }
            for op in index_ops(class, &indexes, &st.key, Some(&base), None) {
                self.sessions
                    .add(s, op, None, Error::Internal("index entry".into()))?;
            }
            return Ok(true);
        }
        for attempt in 0..WRITE_ATTEMPTS {
            let mut ops = Vec::new();
            for f in &uniques {
                if let Some(sk) = unique_sk(&st.obj, f)? {
                    ops.push(TxOp::Delete(
                        unique_pk(class, f),
                        sk,
                        Some(Condition::absent_or_owned(&st.key)),
                    ));
                }
            }
            if let Some((pk, sk)) = join_mirror_key(class, &st.obj) {
                ops.push(TxOp::Delete(pk, sk, None));
            }
            ops.extend(index_ops(class, &indexes, &st.key, Some(&st.obj), None));
            let written = if ops.is_empty() {
                self.store
                    .delete(class, &st.key, Some(Condition::revision(st.rev)))
                    .await?
            } else {
                ops.insert(
                    0,
                    TxOp::Delete(
                        class.to_string(),
                        st.key.clone(),
                        Some(Condition::revision(st.rev)),
                    ),
                );
                self.store.transact(ops).await?
            };
            if written == Written::Ok {
                return Ok(true);
            }
            backoff(attempt.min(6)).await;
            match self.store.get(class, &st.key).await? {
                Some(item) => st = item_to_stored(&item)?,
                None => return Ok(false),
            }
            if !matches(expr, &st.obj) {
                return Ok(false);
            }
        }
        Err(Error::Conflict(
            "too many concurrent updates of one object; try again".into(),
        ))
    }

    pub async fn delete_by_query(
        &self,
        class: &str,
        query: &Value,
        session: Option<u64>,
    ) -> Result<usize> {
        let expr = parse_query(query, false)?;
        let rows = self.matching(class, &expr, None).await?;
        let mut n = 0;
        for st in rows {
            if self.delete_row(class, &expr, st, session).await? {
                n += 1;
            }
        }
        if n == 0 {
            return Err(Error::ObjectNotFound);
        }
        Ok(n)
    }

    // ---------- classes ----------

    /// A class exists when it has a schema, or (relation and volatile classes, which have none)
    /// when it holds objects.
    pub async fn class_exists(&self, class: &str) -> Result<bool> {
        self.ready().await?;
        Ok(self.schemas().exists(class).await? || self.store.any(class).await?)
    }

    pub async fn get_class(&self, class: &str) -> Result<Option<Value>> {
        self.ready().await?;
        self.schemas().get(class).await
    }

    pub async fn get_all_classes(&self) -> Result<Vec<Value>> {
        self.ready().await?;
        self.schemas().all().await
    }

    pub async fn create_class(&self, class: &str, schema: &Value) -> Result<Value> {
        self.ready().await?;
        validate_class_name(class)?;
        self.schemas().create(class, schema).await
    }

    pub async fn add_field(&self, class: &str, field: &str, typ: &Value) -> Result<()> {
        self.ready().await?;
        self.schemas()
            .modify(class, true, |s| {
                let f = fields_mut(s);
                match f.get(field) {
                    None => {
                        f.insert(field.to_string(), typ.clone());
                    }
                    // Another server added it first: fine if it is the same type.
                    Some(existing) => {
                        let same = |k: &str| existing.get(k) == typ.get(k);
                        if !(same("type") && same("targetClass")) {
                            return Err(Error::IncorrectType(format!(
                                "schema mismatch for {class}.{field}; expected {} but got {}",
                                type_name(existing),
                                type_name(typ)
                            )));
                        }
                    }
                }
                Ok(())
            })
            .await
    }

    pub async fn update_field_options(&self, class: &str, field: &str, typ: &Value) -> Result<()> {
        self.ready().await?;
        self.schemas()
            .modify(class, false, |s| {
                fields_mut(s).insert(field.to_string(), typ.clone());
                Ok(())
            })
            .await
    }

    pub async fn set_clps(&self, class: &str, clps: &Value) -> Result<()> {
        self.ready().await?;
        self.schemas()
            .modify(class, false, |s| {
                s.insert("classLevelPermissions".into(), clps.clone());
                Ok(())
            })
            .await
    }

    pub async fn set_indexes(
        &self,
        class: &str,
        submitted: &Value,
        existing: &Value,
        fields: &Value,
    ) -> Result<()> {
        self.ready().await?;
        let Some(sub) = submitted.as_object() else {
            return Ok(());
        };
        let mut existing = existing.as_object().cloned().unwrap_or_default();
        let mut dropped: Vec<String> = Vec::new();
        if existing.is_empty() {
            existing.insert("_id_".into(), json!({"_id": 1}));
        }
        for (name, idx) in sub {
            let deleting = idx.get("__op").and_then(Value::as_str) == Some("Delete");
            if existing.contains_key(name) && !deleting {
                return Err(Error::query(format!("Index {name} exists, cannot update.")));
            }
            if !existing.contains_key(name) && deleting {
                return Err(Error::query(format!(
                    "Index {name} does not exist, cannot delete."
                )));
            }
            if deleting {
                if let Some(old) = existing.remove(name) {
                    dropped.extend(
                        old.as_object()
                            .into_iter()
                            .flatten()
                            .map(|(k, _)| k.strip_prefix("_p_").unwrap_or(k).to_string()),
                    );
                }
            } else {
                if let Some(keys) = idx.as_object() {
                    for k in keys.keys() {
                        // Mongo-style pointer keys (`_p_field`) name the field `field`.
                        let name = k.strip_prefix("_p_").unwrap_or(k);
                        if fields.get(k).is_none() && fields.get(name).is_none() {
                            return Err(Error::query(format!(
                                "Field {k} does not exist, cannot add index."
                            )));
                        }
                    }
                }
                existing.insert(name.clone(), idx.clone());
            }
        }
        self.schemas()
            .modify(class, false, |s| {
                s.insert("indexes".into(), Value::Object(existing.clone()));
                Ok(())
            })
            .await?;
        // The fields of schema indexes get adapter-kept entries; a deleted index's fields stop
        // being kept unless a remaining schema index names them.
        let fields_of = |ix: &Value| -> Vec<String> {
            ix.as_object()
                .into_iter()
                .flatten()
                .filter(|(_, dir)| dir.is_number())
                .map(|(k, _)| k.strip_prefix("_p_").unwrap_or(k).to_string())
                .collect()
        };
        let remaining: Vec<String> = existing.values().flat_map(fields_of).collect();
        for field in &dropped {
            if !remaining.contains(field) {
                self.drop_index(class, field).await?;
            }
        }
        for (name, idx) in sub {
            if idx.get("__op").is_none() && name != "_id_" {
                for field in fields_of(idx) {
                    self.ensure_index(class, &field, false).await?;
                }
            }
        }
        Ok(())
    }

    /// Every class's `indexes` lists the key index `_id_` (Parse reads it from the schema, as
    /// Mongo reports its primary index).
    pub async fn update_schema_with_indexes(&self) -> Result<()> {
        self.ready().await?;
        for class in self.schemas().all().await? {
            let Some(name) = class.get("className").and_then(Value::as_str) else {
                continue;
            };
            if class.get("indexes").and_then(|i| i.get("_id_")).is_some() {
                continue;
            }
            self.schemas()
                .modify(name, false, |s| {
                    let ix = s.entry("indexes").or_insert_with(|| json!({}));
                    if let Value::Object(m) = ix {
                        m.entry("_id_").or_insert_with(|| json!({"_id": 1}));
                    }
                    Ok(())
                })
                .await?;
        }
        Ok(())
    }

    pub async fn get_indexes(&self, class: &str) -> Result<Vec<Value>> {
        let s = self.get_class(class).await?;
        let mut out = vec![json!({"name": "_id_", "key": {"_id": 1}})];
        if let Some(ix) = s
            .as_ref()
            .and_then(|s| s.get("indexes"))
            .and_then(Value::as_object)
        {
            for (name, key) in ix {
                if name != "_id_" {
                    out.push(json!({"name": name, "key": key}));
                }
            }
        }
        for f in self.unique_fields(class).await? {
            out.push(json!({"name": format!("{f}_1"), "key": {f.clone(): 1}, "unique": true}));
        }
        // Entries kept for a schema index are that index, not another one.
        let declared: Vec<String> = out
            .iter()
            .filter_map(|ix| ix.get("key").and_then(Value::as_object))
            .flat_map(|k| {
                k.keys()
                    .map(|f| f.strip_prefix("_p_").unwrap_or(f).to_string())
            })
            .collect();
        for spec in self.index_fields(class).await? {
            let (field, kind) = index::parse_spec(&spec);
            if kind == index::Kind::Ordered && declared.iter().any(|d| d == field) {
                continue;
            }
            let ci = kind == index::Kind::CaseInsensitive;
            let mut ix =
                json!({"name": format!("{spec}_kept"), "key": {field: 1}, "caseInsensitive": ci});
            if kind == index::Kind::Lookup {
                ix["lookupOnly"] = json!(true);
            }
            out.push(ix);
        }
        Ok(out)
    }

    async fn partition_keys(&self, pk: &str) -> Result<Vec<(String, String)>> {
        let mut keys = Vec::new();
        self.store
            .query(pk, None, |item| {
                if let Some(AttributeValue::S(sk)) = item.get(codec::SK) {
                    keys.push((pk.to_string(), sk.clone()));
                }
                Ok(true)
            })
            .await?;
        Ok(keys)
    }

    pub async fn delete_class(&self, class: &str) -> Result<bool> {
        self.ready().await?;
        let mut keys = self.partition_keys(class).await?;
        for f in self.unique_fields(class).await? {
            keys.extend(self.partition_keys(&unique_pk(class, &f)).await?);
        }
        if is_join(class) {
            keys.extend(self.partition_keys(&join_mirror_pk(class)).await?);
        }
        for spec in self.index_fields(class).await? {
            keys.extend(self.partition_keys(&index_pk(class, &spec)).await?);
        }
        self.store.batch_delete(&keys).await?;
        self.schemas().delete(class).await?;
        Ok(!is_join(class))
    }

    /// Deletes every object and schema. `fast` keeps the uniqueness registry (like Mongo keeps
    /// indexes when it only empties collections).
    pub async fn delete_all_classes(&self, fast: bool) -> Result<()> {
        self.ready().await?;
        let keys: Vec<(String, String)> = self
            .store
            .scan_keys()
            .await?
            .into_iter()
            .filter(|(pk, _)| !(fast && pk == META_PARTITION))
            .collect();
        self.store.batch_delete(&keys).await?;
        if !fast {
            *self.uniques.write().await = None;
        }
        Ok(())
    }

    pub async fn delete_fields(&self, class: &str, names: &[String]) -> Result<()> {
        self.ready().await?;
        self.schemas()
            .modify(class, false, |s| {
                let f = fields_mut(s);
                for n in names {
                    f.remove(n);
                }
                Ok(())
            })
            .await?;
        let mut upd = Map::new();
        for n in names {
            upd.insert(n.clone(), json!({"__op": "Delete"}));
        }
        let mut q = Map::new();
        let ors: Vec<Value> = names
            .iter()
            .map(|n| json!({ n.clone(): {"$exists": true} }))
            .collect();
        q.insert("$or".into(), Value::Array(ors));
        let expr = parse_query(&Value::Object(q), false)?;
        for st in self.matching(class, &expr, None).await? {
            self.update_row(class, &Expr::True, st, &upd, None).await?;
        }
        Ok(())
    }

    /// Creates the table if needed, and registers `_Session.sessionToken` as unique (tokens are
    /// unique by construction) so the session lookup on every request is two GetItems.
    pub async fn perform_initialization(&self) -> Result<()> {
        self.ready().await?;
        self.ensure_unique("_Session", "sessionToken").await?;
        // Parse looks sessions up by user (log-in clean-up, "my sessions"); never sorted by it.
        self.ensure_index_of("_Session", "user", index::Kind::Lookup)
            .await
    }
}
