//! Writes of objects: create, bulk import (and the recount after it), update (in place when a
//! query names one key, otherwise read and rewrite), upsert, delete by query, Parse's
//! transactional sessions, and the claim of a request id that makes a retried request
//! idempotent. An insert, update or delete of one object holds the index registry's writing
//! guard while `Writer` writes it and everything the class keeps beside it; an import writes
//! in bulk (`write::bulk`).

use super::transform::{prepare_new, to_parse, upsert_base};
use super::Adapter;
use crate::codec::Stored;
use crate::error::{Error, Result};
use crate::layout::{is_join, key_for};
use crate::query::normal::Normal;
use crate::query::plan;
use crate::query::{parse_query, Expr};
use crate::store::backoff;
use crate::write::Attempt;
use serde_json::{json, Map, Value};

fn update_map(update: &Value) -> Result<&Map<String, Value>> {
    update
        .as_object()
        .ok_or_else(|| Error::json("update must be an object"))
}

impl Adapter {
    async fn insert_row(
        &self,
        class: &str,
        key: &str,
        obj: &Map<String, Value>,
        session: Option<u64>,
    ) -> Result<()> {
        let _writing = self.indexes.writing().await;
        let kept = self.kept(class).await?;
        let written = self.writer.insert(class, key, obj, &kept, session).await;
        self.learned.wrote(class);
        if self.shard_hot {
            self.indexes.shard_hot();
        }
        written
    }

    /// Applies `upd` to the row `st` (None: it stopped matching `expr` meanwhile).
    pub(super) async fn update_row(
        &self,
        class: &str,
        expr: &Expr,
        st: Stored,
        upd: &Map<String, Value>,
        session: Option<u64>,
    ) -> Result<Option<Map<String, Value>>> {
        let _writing = self.indexes.writing().await;
        let kept = self.kept(class).await?;
        let written = self
            .writer
            .update(class, expr, st, upd, &kept, session)
            .await;
        self.learned.wrote(class);
        if self.shard_hot {
            self.indexes.shard_hot();
        }
        written
    }

    /// An update of the one object a query names by key, in place when it can be (one
    /// `UpdateItem`, no read first); None when it cannot (then read and rewrite).
    async fn update_in_place(
        &self,
        class: &str,
        expr: &Expr,
        upd: &Map<String, Value>,
    ) -> Result<Option<Option<Map<String, Value>>>> {
        let key = match plan::key_plan(&Normal::of(expr)).map(|p| p.access) {
            Some(plan::Access::Keys(k)) if k.len() == 1 => k[0].clone(),
            _ => return Ok(None),
        };
        let _writing = self.indexes.writing().await;
        let kept = self.kept(class).await?;
        Ok(
            match self
                .writer
                .update_in_place(class, expr, &key, upd, &kept)
                .await?
            {
                Attempt::Done(new) => Some(new),
                Attempt::Careful(Some(st)) => Some(
                    self.writer
                        .update(class, expr, st, upd, &kept, None)
                        .await?,
                ),
                Attempt::Careful(None) => None,
            },
        )
    }

    pub async fn create_object(
        &self,
        class: &str,
        object: &Value,
        session: Option<u64>,
    ) -> Result<Value> {
        self.ready().await?;
        let obj = prepare_new(class, object)?;
        let key = key_for(class, &obj);
        self.insert_row(class, &key, &obj, session).await?;
        Ok(json!({ "ops": [object] }))
    }

    /// Writes objects of `class` in bulk, as Parse would hand them to `createObject`, with
    /// everything kept beside them (see `write::bulk`): for an import into a table that holds
    /// nothing else of the class. Answers how many objects and items were written and the
    /// objects skipped (`{objectId, error}`). The class's count is not kept: `recount` it when
    /// it is all in.
    pub async fn import_objects(&self, class: &str, objects: &Value) -> Result<Value> {
        self.ready().await?;
        let list = objects
            .as_array()
            .ok_or_else(|| Error::json("objects must be an array"))?;
        let mut skipped = Vec::new();
        let mut prepared = Vec::with_capacity(list.len());
        for o in list {
            match prepare_new(class, o) {
                Ok(obj) => prepared.push(obj),
                Err(e) => {
                    skipped.push(json!({"objectId": o.get("objectId"), "error": e.to_string()}))
                }
            }
        }
        let kept = self.kept(class).await?;
        let done = self.writer.import(class, prepared, &kept).await?;
        skipped.extend(
            done.skipped
                .into_iter()
                .map(|(k, e)| json!({"objectId": k, "error": e})),
        );
        Ok(json!({"objects": done.objects, "items": done.items, "skipped": skipped}))
    }

    /// Counts `class` again from its objects (after an import); answers the count.
    pub async fn recount(&self, class: &str) -> Result<u64> {
        self.ready().await?;
        self.counts.recount(class).await
    }

    /// Claims request id `id` for `ttl` seconds (see `idempotency`): false for a duplicate.
    pub async fn claim_request(&self, id: &str, ttl: u64) -> Result<bool> {
        self.ready().await?;
        crate::idempotency::claim(&self.store, id, ttl).await
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
        let upd = update_map(update)?;
        if session.is_none() {
            if let Some(done) = self.update_in_place(class, &expr, upd).await? {
                return Ok(done.map_or(Value::Null, |new| to_parse(new, schema)));
            }
        }
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
        let upd = update_map(update)?;
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
        let upd = update_map(update)?;
        for attempt in 0..200 {
            if let Some(st) = self.matching(class, &expr, Some(1)).await?.pop() {
                if let Some(new) = self.update_row(class, &expr, st, upd, session).await? {
                    return Ok(to_parse(new, schema));
                }
                continue;
            }
            // Insert: the query's equalities, then the update.
            let mut obj = upsert_base(query, upd)?;
            let key = key_for(class, &obj);
            match self.insert_row(class, &key, &obj, session).await {
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
            let _writing = self.indexes.writing().await;
            let kept = self.kept(class).await?;
            if self.writer.delete(class, &expr, st, &kept, session).await? {
                n += 1;
            }
        }
        if n == 0 {
            return Err(Error::ObjectNotFound);
        }
        Ok(n)
    }

    pub fn start_session(&self) -> u64 {
        self.writer.start_session()
    }

    pub async fn commit_session(&self, session: u64) -> Result<()> {
        self.writer.commit_session(session).await
    }

    pub async fn abort_session(&self, session: u64) {
        self.writer.abort_session(session).await
    }
}
