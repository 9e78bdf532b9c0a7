//! Class and schema operations of the storage-adapter interface: classes exist, are created,
//! changed (fields, CLPs, schema indexes) and deleted with everything kept beside their
//! objects; `getIndexes` reports schema, unique and kept indexes as Parse expects them; and
//! `performInitialization` registers what every app needs (`_Session` token and user,
//! `_Installation` installationId and deviceToken lookups).

use super::Adapter;
use crate::error::{Error, Result};
use crate::layout::index;
use crate::layout::{
    count_pk, index_pks, is_join, join_mirror_pk, unique_pk, Kept, META_PARTITION,
};
use crate::query::{parse_query, Expr};
use crate::schema::{fields_mut, Schemas};
use serde_json::{json, Map, Value};

pub fn validate_class_name(class: &str) -> Result<()> {
    if class.len() > crate::layout::MAX_CLASS_NAME {
        return Err(Error::InvalidQuery(format!(
            "invalid class name: {} is {} bytes; class names hold at most {} here (they are part of DynamoDB keys)",
            crate::error::shown(class),
            class.len(),
            crate::layout::MAX_CLASS_NAME
        )));
    }
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

/// The field a schema index key names: Mongo-style pointer keys (`_p_field`) name `field`,
/// and `_created_at`/`_updated_at` the dates Parse calls `createdAt`/`updatedAt`.
fn index_key_field(key: &str) -> &str {
    match key {
        "_created_at" => "createdAt",
        "_updated_at" => "updatedAt",
        k => k.strip_prefix("_p_").unwrap_or(k),
    }
}

/// What a schema index is kept as: one key (`{field: 1}`) is a single-field index; two or more
/// (`{author: 1, createdAt: -1}`) a compound index (equality on the first key, range or order
/// on the second; either direction reads both ways); `{field: "trigram"}` a trigram index
/// (substrings, suffixes, regexes). None for other kinds (`{field: "text"}`,
/// `"2dsphere"`): their queries are evaluated in Rust over what other indexes read.
fn schema_index_spec(ix: &Value) -> Option<String> {
    let keys = ix.as_object()?;
    if let [(key, Value::String(kind))] = keys.iter().collect::<Vec<_>>().as_slice() {
        let field = index_key_field(key);
        return match kind.as_str() {
            "trigram" => Some(index::spec(field, index::Kind::Trigram)),
            "text" => Some(index::spec(field, index::Kind::Text)),
            "2dsphere" | "2d" => Some(index::spec(field, index::Kind::Geo)),
            _ => None,
        };
    }
    if keys.is_empty() || keys.values().any(|dir| !dir.is_number()) {
        return None;
    }
    let mut fields = keys.keys().map(|k| index_key_field(k));
    let lead = fields.next()?;
    match fields.next().filter(|next| index::sortable(next)) {
        Some(next) => Some(index::compound_spec(lead, next)),
        None => Some(lead.to_string()),
    }
}

/// Parse's `setIndexesWithSchemaFormat` rules on the `submitted` changes to the `existing`
/// schema indexes (as MongoDB's adapter applies them): an index is added once, deleted only
/// if there, on fields the class has. Answers the indexes after them and those deleted.
fn merge_schema_indexes(
    submitted: &Map<String, Value>,
    existing: &Value,
    fields: &Value,
) -> Result<(Map<String, Value>, Vec<Value>)> {
    let mut existing = existing.as_object().cloned().unwrap_or_default();
    let mut dropped = Vec::new();
    if existing.is_empty() {
        existing.insert("_id_".into(), json!({"_id": 1}));
    }
    for (name, idx) in submitted {
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
            dropped.extend(existing.remove(name));
            continue;
        }
        for k in idx.as_object().into_iter().flatten().map(|(k, _)| k) {
            let known = |f: &str| fields.get(f).is_some();
            if !(known(k) || known(index_key_field(k))) {
                return Err(Error::query(format!(
                    "Field {k} does not exist, cannot add index."
                )));
            }
        }
        existing.insert(name.clone(), idx.clone());
    }
    Ok((existing, dropped))
}

/// Says in a listed index how index `spec` is kept: `shards` once it is sharded (see
/// `Indexes::shard`), `sharding` while its sharded twin is built beside it.
fn sharding_of(kept: &Kept, spec: &str, ix: &mut Value) {
    let twin = kept.indexes.contains(&index::sharded(spec));
    match (twin, kept.indexes.iter().any(|s| s == spec)) {
        (true, false) => ix["shards"] = json!(index::SHARDS),
        (true, true) => ix["sharding"] = json!(true),
        _ => {}
    }
}

impl Adapter {
    fn schemas(&self) -> Schemas<'_> {
        Schemas {
            store: &self.store,
            serial: &self.schema_writes,
        }
    }

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

    /// Creates a class; the indexes it declares (`Parse.Schema#addIndex` before the first save,
    /// Parse Server's `schema.definitions`) are checked first and kept at once, as MongoDB's
    /// adapter creates them.
    pub async fn create_class(&self, class: &str, schema: &Value) -> Result<Value> {
        self.ready().await?;
        validate_class_name(class)?;
        let indexes = schema.get("indexes").and_then(Value::as_object);
        if let Some(ix) = indexes {
            let fields = schema.get("fields").cloned().unwrap_or_else(|| json!({}));
            merge_schema_indexes(ix, &json!({}), &fields)?;
        }
        let created = self.schemas().create(class, schema).await?;
        self.counts.start(class).await?;
        if let Some(ix) = indexes {
            self.keep_schema_indexes(class, ix.iter()).await?;
        }
        Ok(created)
    }

    pub async fn add_field(&self, class: &str, field: &str, typ: &Value) -> Result<()> {
        self.ready().await?;
        self.schemas().add_field(class, field, typ).await
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

    /// Parse's `setIndexesWithSchemaFormat`: adds and deletes schema indexes (refusing what
    /// MongoDB refuses), and keeps adapter entries for them.
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
        let (merged, dropped) = merge_schema_indexes(sub, existing, fields)?;
        self.schemas()
            .modify(class, false, |s| {
                s.insert("indexes".into(), Value::Object(merged.clone()));
                Ok(())
            })
            .await?;
        // A deleted index's entries go, unless a remaining schema index is kept the same way.
        let remaining: Vec<String> = merged.values().filter_map(schema_index_spec).collect();
        for spec in dropped.iter().filter_map(schema_index_spec) {
            if !remaining.contains(&spec) {
                self.indexes.remove(class, &spec).await?;
            }
        }
        let added = sub.iter().filter(|(_, ix)| ix.get("__op").is_none());
        self.keep_schema_indexes(class, added).await
    }

    /// Keeps entries for an index given by its keys (`{field: 1}`, `{a: 1, b: -1}`), as a
    /// schema index with those keys is kept (Mongo-style `createIndexes`).
    pub async fn ensure_schema_index(&self, class: &str, keys: &Value) -> Result<()> {
        self.ready().await?;
        let name = "createIndexes".to_string();
        self.keep_schema_indexes(class, std::iter::once((&name, keys)))
            .await
    }

    /// Keeps entries for these schema indexes (registering and back-filling those not kept
    /// yet); says in the log which ones it does not keep, and why.
    async fn keep_schema_indexes<'a>(
        &self,
        class: &str,
        indexes: impl Iterator<Item = (&'a String, &'a Value)>,
    ) -> Result<()> {
        for (name, ix) in indexes.filter(|(name, _)| *name != "_id_") {
            match schema_index_spec(ix) {
                Some(spec) => self.indexes.ensure(class, &spec).await?,
                None => self.log.info(format!(
                    "index {name} of {class} ({ix}) is not kept: text and geo queries are evaluated in Rust"
                )),
            }
        }
        Ok(())
    }

    /// Every class's `indexes` lists the key index `_id_` (Parse reads it from the schema, as
    /// Mongo reports its primary index), and every schema index is kept (classes created
    /// before their indexes were kept at creation get them now; a kept one costs nothing).
    pub async fn update_schema_with_indexes(&self) -> Result<()> {
        self.ready().await?;
        for class in self.schemas().all().await? {
            let Some(name) = class.get("className").and_then(Value::as_str) else {
                continue;
            };
            if let Some(ix) = class.get("indexes").and_then(Value::as_object) {
                let kept = self.kept(name).await?;
                let missing = ix
                    .iter()
                    .filter(|(_, ix)| schema_index_spec(ix).is_some_and(|s| !kept.keeps(&s)));
                self.keep_schema_indexes(name, missing).await?;
            }
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
        let kept = self.kept(class).await?;
        let mut out = vec![json!({"name": "_id_", "key": {"_id": 1}})];
        if let Some(ix) = s
            .as_ref()
            .and_then(|s| s.get("indexes"))
            .and_then(Value::as_object)
        {
            for (name, key) in ix {
                if name != "_id_" {
                    let mut ix = json!({"name": name, "key": key});
                    if let Some(spec) = schema_index_spec(key) {
                        sharding_of(&kept, &spec, &mut ix);
                    }
                    out.push(ix);
                }
            }
        }
        for f in &kept.unique {
            out.push(json!({"name": format!("{f}_1"), "key": {f.clone(): 1}, "unique": true}));
        }
        // Entries kept for a schema (or unique) index are that index, not another one.
        let declared: Vec<String> = out
            .iter()
            .filter_map(|ix| ix.get("key").and_then(schema_index_spec))
            .collect();
        let mut listed: Vec<&str> = Vec::new();
        for spec in &kept.indexes {
            // A sharded twin and the index it replaces are one index.
            let base = index::base(spec);
            if declared.iter().any(|d| d == base) || listed.contains(&base) {
                continue;
            }
            listed.push(base);
            let mut ix = json!({"name": format!("{base}_kept"), "key": index::parse_key(spec)});
            if index::compound(spec).is_none() {
                let kind = index::parse_spec(spec).1;
                ix["caseInsensitive"] = json!(kind == index::Kind::CaseInsensitive);
                if kind == index::Kind::Lookup {
                    ix["lookupOnly"] = json!(true);
                }
            }
            // Made by the adapter for queries that read the class; not read until back-filled.
            if kept.auto.contains(spec) {
                ix["automatic"] = json!(true);
            }
            if kept.building.contains(spec) {
                ix["building"] = json!(true);
            }
            sharding_of(&kept, base, &mut ix);
            out.push(ix);
        }
        Ok(out)
    }

    /// Deletes a class's objects, schema and everything kept beside them (its registries stay,
    /// as Mongo keeps a dropped collection's unique indexes declared by Parse at start).
    pub async fn delete_class(&self, class: &str) -> Result<bool> {
        self.ready().await?;
        let kept = self.kept(class).await?;
        let mut partitions = vec![class.to_string()];
        partitions.extend(kept.unique.iter().map(|f| unique_pk(class, f)));
        if is_join(class) {
            partitions.push(join_mirror_pk(class));
        }
        partitions.push(count_pk(class));
        partitions.extend(kept.indexes.iter().flat_map(|s| index_pks(class, s)));
        let mut keys = Vec::new();
        for pk in &partitions {
            keys.extend(self.store.partition_keys(pk).await?);
        }
        self.store.batch_delete(&keys).await?;
        self.learned.forget(class);
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
        self.learned.forget_all();
        if !fast {
            self.indexes.forget().await;
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
        let ors: Vec<Value> = names
            .iter()
            .map(|n| json!({ n.clone(): {"$exists": true} }))
            .collect();
        let expr = parse_query(&json!({ "$or": ors }), false)?;
        for st in self.matching(class, &expr, None).await? {
            self.update_row(class, &Expr::True, st, &upd, None).await?;
        }
        Ok(())
    }

    /// Creates the table if needed, and registers `_Session.sessionToken` as unique (tokens are
    /// unique by construction) so the session lookup on every request is two GetItems.
    pub async fn perform_initialization(&self) -> Result<()> {
        self.ensure_unique("_Session", "sessionToken").await?;
        // Parse looks sessions up by user (log-in clean-up, "my sessions"); never sorted by it.
        self.ensure_index_of("_Session", "user", index::Kind::Lookup)
            .await?;
        // Parse looks an installation up by installationId or deviceToken (an `$or` of both)
        // before every installation save: without these a burst of devices read the class on
        // each save until automatic indexes were ready.
        for field in ["installationId", "deviceToken"] {
            self.ensure_index_of("_Installation", field, index::Kind::Lookup)
                .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_class_name_of_multibyte_characters_is_an_error_not_a_panic() {
        // Byte 40 falls inside a character: cutting the name by bytes for the message panicked.
        let e = validate_class_name(&format!("a{}", "é".repeat(300))).unwrap_err();
        assert!(e.to_string().contains("601 bytes"), "{e}");
        assert!(validate_class_name(&"C".repeat(255)).is_ok());
    }
}
