//! Writes of one object with everything kept beside it: inserts conditioned on absence, updates
//! as read-modify-writes conditioned on the object's revision (re-read and re-checked against
//! the query on conflict; `in_place` makes those that can be one `UpdateItem`), deletes. The
//! object goes alone (one PutItem or DeleteItem), or in one transaction with a sentinel that
//! holds its copy (`_Session`'s token); its other unique values are claimed before it and
//! released after it (`unique`). Its index entries, and a relation row's mirror, are written
//! outside it, one unit each, in an order that keeps every answer exact: the entries a write adds go
//! before the object (BatchWriteItem), the ones it makes stale are removed after it, each
//! removal conditioned on the entry not having been put again by a later revision
//! (`layout::Fence`); readers check every row an entry names against the object. A write cut
//! off between its steps leaves entries no answer shows (`check` counts them as leftovers, `check
//! --fix` removes them). Inside a transactional session the same operations, entries
//! included, are buffered in `sessions::Sessions` and sent together at commit. Objects created
//! and deleted are counted in `counts`. An object of a class with `ttl`, and everything kept
//! for it, carries the second DynamoDB's TTL deletes them at (`expiry`). An object over 400 KB
//! (`fit`) writes its chunks beside its entries, before it, and removes the version it replaced
//! once it landed (`store::chunks`).

use crate::codec::{
    item_measure, item_rev, item_to_stored, item_tokens, object_to_item, ChunkRef, Item, Stored,
    MAX_NESTING, TOKEN, TOKENS_KEPT,
};
use crate::counts::Counts;
use crate::error::{Error, Result};
use crate::layout::{
    check_key, covers, duplicate, expire, join_mirror, join_mirror_key, owned_sentinel, unique_sk,
    Fence, Kept, ENTRY_REV,
};
use crate::query::eval::matches;
use crate::query::Expr;
use crate::store::chunks::{keep, split, Split};
use crate::store::{backoff, Condition, Store, TxOp, Written};
use crate::update;
use entries::{index_ops, split_entries};
use serde_json::{Map, Value};
use sessions::{Pending, Sessions};
use std::sync::Arc;
use std::time::{Duration, Instant};
use unique::{release_ops, sentinel_ops, Claim};

mod bulk;
mod entries;
mod expiry;
mod in_place;
mod sessions;
mod unique;
pub use bulk::Imported;
pub use in_place::Attempt;

const WRITE_ATTEMPTS: u32 = 200;

/// The first revision of a new object: its creation time in milliseconds × 1024 (each write
/// then adds 1), so a key written again after a delete (a relation row removed and added
/// again) starts above every revision it had before, and a slow writer's entry removals for the
/// old object (fenced by revision, `layout::Fence`) cannot touch the new one's entries.
pub(crate) fn first_revision() -> i64 {
    let ms = crate::layout::now_ms();
    ms.saturating_mul(1024).max(1)
}

/// A fresh write token (random: 48 bits).
fn new_token() -> String {
    format!("{:012x}", rand::random::<u64>() >> 16)
}

/// Sets a fresh write token on an object item, before the tokens of the revisions it follows
/// (`before`, newest first); answers it.
fn stamp(item: &mut Item, before: &[String]) -> String {
    use aws_sdk_dynamodb::types::AttributeValue;
    let token = new_token();
    let list = std::iter::once(&token)
        .chain(before.iter())
        .take(TOKENS_KEPT)
        .map(|t| AttributeValue::S(t.clone()))
        .collect();
    item.insert(TOKEN.into(), AttributeValue::L(list));
    token
}

/// Whether a write whose answer may have been lost was applied.
#[derive(Debug, PartialEq)]
enum Landed {
    Yes,
    No,
    /// More writes followed than the item remembers.
    Unknown,
}

fn unknown_outcome(class: &str, key: &str) -> Error {
    Error::Unknown(format!(
        "the answer to an update of {class} {key} was lost and the object changed since: the update may or may not have been applied"
    ))
}

/// Makes an object item one DynamoDB can store, or refuses it before anything is written:
/// nested deeper than DynamoDB keeps, or over 16 MB. Over 400 KB, its largest fields go to a
/// new version of chunks, to be written before the head (`store::chunks`).
fn fit(item: Item) -> Result<Split> {
    let (_, depth) = item_measure(&item);
    if depth > MAX_NESTING {
        return Err(Error::json(format!(
            "the object nests values {depth} levels deep; DynamoDB stores at most {MAX_NESTING} (a field's value is level 1, each object or array around a value one more)"
        )));
    }
    split(item)
}

/// `fit` for a new revision of the stored object `st`: when every field its chunks hold is as
/// it was in `new` (and so is its TTL expiry, which the chunks carry), the head names the same
/// version and no chunk is written or removed (`chunks::keep`).
fn fit_update(
    item: Item,
    st: &Stored,
    new: &Map<String, Value>,
    expires: Option<i64>,
) -> Result<Split> {
    let item = match (&st.chunks, st.expires == expires) {
        (Some(old), true) => match keep(item, old, |f| st.obj.get(f) == new.get(f))? {
            Ok(head) => {
                let mut split = fit(head)?;
                split.version = Some(old.clone());
                return Ok(split);
            }
            Err(item) => item,
        },
        _ => item,
    };
    fit(item)
}

fn too_many_updates() -> Error {
    Error::Conflict("too many concurrent updates of one object; try again".into())
}

fn kept_item(what: &str) -> Error {
    Error::Internal(what.into())
}

pub struct Writer {
    store: Store,
    sessions: Sessions,
    counts: Arc<Counts>,
    /// How long another object's claim on a unique value stands while its owner does not hold
    /// the value (see `unique`).
    claim_grace: Duration,
    /// Classes whose objects DynamoDB's TTL deletes, by the Date field they expire at.
    ttl: std::collections::BTreeMap<String, String>,
}

impl Writer {
    pub fn new(
        store: Store,
        counts: Arc<Counts>,
        ttl: std::collections::BTreeMap<String, String>,
    ) -> Writer {
        Writer {
            claim_grace: unique::claim_grace(store.operation_timeout()),
            store,
            sessions: Sessions::default(),
            counts,
            ttl,
        }
    }

    pub fn start_session(&self) -> u64 {
        self.sessions.start()
    }

    pub async fn commit_session(&self, session: u64) -> Result<()> {
        for (class, delta) in self.sessions.commit(&self.store, session).await? {
            self.counts.changed(&class, delta);
        }
        Ok(())
    }

    /// Writes a new object (see `insert_object`) and counts it.
    pub async fn insert(
        &self,
        class: &str,
        key: &str,
        obj: &Map<String, Value>,
        kept: &Kept,
        session: Option<u64>,
    ) -> Result<()> {
        self.insert_object(class, key, obj, kept, session).await?;
        if session.is_none() {
            self.counts.changed_until(class, 1, self.expiry(class, obj));
        }
        Ok(())
    }

    /// Deletes a stored row (see `delete_object`) and counts it.
    pub async fn delete(
        &self,
        class: &str,
        expr: &Expr,
        st: Stored,
        kept: &Kept,
        session: Option<u64>,
    ) -> Result<bool> {
        let deleted = self.delete_object(class, expr, st, kept, session).await?;
        if let (Some(expired), None) = (deleted, session) {
            self.counts.changed_until(class, -1, expired);
        }
        Ok(deleted.is_some())
    }

    pub async fn abort_session(&self, session: u64) {
        self.sessions.abort(&self.store, session).await
    }

    /// Writes a new object at `key`; fails with a duplicate error when the key or one of its
    /// unique values is taken.
    async fn insert_object(
        &self,
        class: &str,
        key: &str,
        obj: &Map<String, Value>,
        kept: &Kept,
        session: Option<u64>,
    ) -> Result<()> {
        check_key(class, key, obj)?;
        let rev = first_revision();
        let mut item = object_to_item(class, key, rev, obj)?;
        expire(&mut item, self.expiry(class, obj));
        let token = stamp(&mut item, &[]);
        let Split {
            head: item,
            chunks,
            version,
        } = fit(item)?;
        let sentinels = unique::held_apart(&kept.unique, obj, None)?;
        let mirror = join_mirror(class, key, obj, Some(rev));
        let fence = Fence {
            put: Some(rev),
            upto: None,
        };
        let expiry = self.expiries(class, None, Some(obj));
        let indexed = index_ops(class, &kept.indexes, key, (None, Some(obj)), fence, expiry);
        if let Some(s) = session {
            if let Pending::Written(_) = self.sessions.pending(s, class, key)? {
                return Err(Error::Duplicate { field: None });
            }
            self.sessions
                .write_chunks(&self.store, s, chunks, version)
                .await?;
            let owned: Vec<Item> = sentinels
                .iter()
                .map(|(f, sk)| owned_sentinel(class, f, sk, key, &item))
                .collect();
            let put = TxOp::Put(item, Some(Condition::absent()));
            self.sessions
                .add(s, put, Some(obj.clone()), Error::Duplicate { field: None })?;
            for ((f, _), sentinel) in sentinels.iter().zip(owned) {
                let op = TxOp::Put(sentinel, Some(Condition::absent()));
                self.sessions.add(s, op, None, duplicate(f))?;
            }
            if let Some(m) = mirror {
                let op = TxOp::Put(m, None);
                self.sessions
                    .add(s, op, None, kept_item("relation mirror"))?;
            }
            for op in indexed {
                self.sessions.add(s, op, None, kept_item("index entry"))?;
            }
            return Ok(());
        }
        // The entries (and a relation row's mirror) and the unique values' claims first, at
        // once: a reader that finds the object finds it through them too.
        let (mut puts, _) = split_entries(indexed);
        puts.extend(mirror);
        // A large object's chunks too, before the head that names them.
        let started = Instant::now();
        let (entered, claimed, chunked) = tokio::join!(
            self.put_entries(&puts),
            self.claim_all(class, key, rev, &item, &sentinels),
            self.store.write_chunks(chunks)
        );
        let mut sent = false;
        let written = match (entered.and(chunked), claimed) {
            (Ok(()), Ok(claims)) => {
                sent = true;
                let written = self.write_new(class, key, item, &token, rev).await;
                match written {
                    Ok(()) => self.keep_new(class, key, rev, started, &claims).await,
                    Err(e) => {
                        self.withdraw_claims(class, key, &claims).await;
                        Err(e)
                    }
                }
            }
            (Err(e), Ok(claims)) => {
                self.withdraw_claims(class, key, &claims).await;
                Err(e)
            }
            (_, Err(e)) => Err(e),
        };
        if let Err(e) = &written {
            // Best effort: what stays is invisible to answers and `check --fix` removes it.
            let _ = self
                .withdraw_entries(class, key, &kept.indexes, &puts, rev)
                .await;
            // The chunks, unless the head may have landed after all.
            if !sent || matches!(e, Error::Duplicate { .. }) {
                self.unnamed(class, key, version.as_ref()).await;
            }
        }
        written
    }

    /// The object's own write of an insert: one conditional PutItem.
    async fn write_new(
        &self,
        class: &str,
        key: &str,
        item: Item,
        token: &str,
        rev: i64,
    ) -> Result<()> {
        let put = self.store.put(item, Some(Condition::absent()));
        match put.await.map_err(Error::of_write)? {
            Written::Ok => Ok(()),
            _ if self.landed(class, key, rev - 1, token).await? == Landed::Yes => Ok(()),
            _ => Err(Error::Duplicate { field: None }),
        }
    }

    /// Removes a version of chunks unless the object's head names it (best effort: what stays,
    /// no answer shows, and `check --fix` removes).
    async fn unnamed(&self, class: &str, key: &str, version: Option<&ChunkRef>) {
        if let Some(v) = version {
            self.store.drop_unless_named(class, key, v).await;
        }
    }

    /// Removes the version of chunks a revision named once a later one, naming another or
    /// none, landed.
    async fn replaced(&self, old: Option<&ChunkRef>, new: Option<&ChunkRef>) {
        if let Some(v) = old.filter(|&v| Some(v) != new) {
            let _ = self.store.drop_chunks(v).await;
        }
    }

    /// A new object landed late enough that one of its claims may have been taken over (see
    /// `unique`): if one was, the object is deleted again (its other claims withdrawn) and the
    /// create answers the duplicate.
    async fn keep_new(
        &self,
        class: &str,
        key: &str,
        rev: i64,
        started: Instant,
        claims: &[Claim],
    ) -> Result<()> {
        let lost = self.lost_claims(class, key, started, claims).await?;
        let Some(first) = lost.first() else {
            return Ok(());
        };
        self.store
            .delete(class, key, Some(Condition::revision(rev)))
            .await
            .map_err(Error::of_write)?;
        self.withdraw_claims(class, key, claims).await;
        Err(duplicate(&first.field))
    }

    /// Applies `upd` to one stored row with a revision-conditioned write; re-reads and
    /// re-checks `expr` on conflict. Returns the new object, or None if it stopped matching.
    pub async fn update(
        &self,
        class: &str,
        expr: &Expr,
        mut st: Stored,
        upd: &Map<String, Value>,
        kept: &Kept,
        session: Option<u64>,
    ) -> Result<Option<Map<String, Value>>> {
        if let Some(s) = session {
            return self.update_in_session(s, class, st, upd, kept).await;
        }
        for attempt in 0..WRITE_ATTEMPTS {
            let mut new = st.obj.clone();
            update::apply(&mut new, upd)?;
            let mut item = object_to_item(class, &st.key, st.rev + 1, &new)?;
            // What the item carries (an object written before `ttl` carries none), and what
            // the new one will.
            let (was, will) = (st.expires, self.expiry(class, &new));
            expire(&mut item, will);
            let token = stamp(&mut item, &st.tokens);
            let Split {
                head: item,
                chunks,
                version,
            } = fit_update(item, &st, &new, will)?;
            // A covered value's sentinel (a copy of the object) changes with the object, in one
            // transaction; other unique values are claimed before and released after (all of
            // them claimed again when the object's TTL expiry changed: they take the new one).
            let covered = self.covered(class, kept, &st.obj, &new)?;
            let mut extra = Vec::new();
            let mut fields = Vec::new();
            if covered {
                for f in &kept.unique {
                    for op in sentinel_ops(class, f, &st.key, &st.obj, &new, &item, was != will)? {
                        extra.push(op);
                        fields.push(f.clone());
                    }
                }
            }
            let (claiming, given) = if covered {
                (Vec::new(), Vec::new())
            } else {
                (
                    unique::held_apart(&kept.unique, &new, Some(&st.obj))?,
                    unique::held_apart(&kept.unique, &st.obj, Some(&new))?,
                )
            };
            // The values it keeps take a moved TTL expiry once it landed (never withdrawn: the
            // object holds them whether an attempt lands or not).
            let restamped = match (covered, was == will) {
                (false, false) => {
                    let all = unique::held_apart(&kept.unique, &new, None)?;
                    all.into_iter().filter(|v| !claiming.contains(v)).collect()
                }
                _ => Vec::new(),
            };
            // The entries this revision adds and its claims go first; the entries it makes
            // stale and the values it gives up go once it landed.
            let rev = st.rev + 1;
            let fence = Fence {
                put: Some(rev),
                upto: Some(st.rev),
            };
            let (puts, stale) = split_entries(index_ops(
                class,
                &kept.indexes,
                &st.key,
                (Some(&st.obj), Some(&new)),
                fence,
                (was, will),
            ));
            let started = Instant::now();
            let (entered, claimed, chunked) = tokio::join!(
                self.put_entries(&puts),
                self.claim_all(class, &st.key, rev, &item, &claiming),
                self.store.write_chunks(chunks)
            );
            let claims = match (entered.and(chunked), claimed) {
                (Ok(()), Ok(claims)) => claims,
                (entered, claimed) => {
                    if let Ok(claims) = &claimed {
                        self.withdraw_claims(class, &st.key, claims).await;
                    }
                    let _ = self
                        .withdraw_entries(class, &st.key, &kept.indexes, &puts, rev)
                        .await;
                    self.unnamed(class, &st.key, version.as_ref()).await;
                    entered?;
                    claimed?;
                    return Err(kept_item("a claim or an entry failed"));
                }
            };
            // A transaction's retries are idempotent (one ClientRequestToken); a PutItem's are
            // not, so the SDK's retries of it are counted.
            let (written, retried) = if extra.is_empty() {
                self.store
                    .put_counted(item, Some(Condition::revision(st.rev)))
                    .await
                    .map_err(Error::of_write)?
            } else {
                let mut ops = vec![TxOp::Put(item, Some(Condition::revision(st.rev)))];
                ops.extend(extra);
                (
                    self.store.transact(ops).await.map_err(Error::of_write)?,
                    false,
                )
            };
            let landed = match written {
                Written::Ok => Landed::Yes,
                // An attempt whose answer was lost may have landed and been overwritten since:
                // the tokens of the revisions that followed tell; when more writes followed than
                // the item remembers, applying the update again could apply it twice (an
                // increment counted twice), so the outcome is reported unknown instead.
                _ if retried => self.landed(class, &st.key, st.rev, &token).await?,
                _ => Landed::No,
            };
            match (landed, written) {
                (Landed::Yes, _) => {
                    let lost = self.lost_claims(class, &st.key, started, &claims).await?;
                    if let Some(first) = lost.first() {
                        // Taken over while this write stalled: the object goes back as it was
                        // (a large one with a new version of its chunks).
                        let mut old_item = object_to_item(class, &st.key, rev + 1, &st.obj)?;
                        expire(&mut old_item, was);
                        stamp(&mut old_item, &st.tokens);
                        let back = fit(old_item)?;
                        let put_back = async {
                            self.store.write_chunks(back.chunks).await?;
                            let put = self.store.put(back.head, Some(Condition::revision(rev)));
                            put.await.map_err(Error::of_write)
                        };
                        let put = put_back.await;
                        self.withdraw_claims(class, &st.key, &claims).await;
                        let _ = self
                            .withdraw_entries(class, &st.key, &kept.indexes, &puts, rev)
                            .await;
                        // Each version of chunks this went through, unless the head names it.
                        for v in [&st.chunks, &version, &back.version] {
                            self.unnamed(class, &st.key, v.as_ref()).await;
                        }
                        put?;
                        return Err(duplicate(&first.field));
                    }
                    tokio::join!(
                        self.remove_entries(stale),
                        self.release(class, &st.key, rev, &given),
                        self.restamp(class, &st.key, rev, will, &restamped),
                        self.replaced(st.chunks.as_ref(), version.as_ref())
                    );
                    if was != will {
                        self.counts.changed_until(class, -1, was);
                        self.counts.changed_until(class, 1, will);
                    }
                    return Ok(Some(new));
                }
                (Landed::Unknown, _) => return Err(unknown_outcome(class, &st.key)),
                (Landed::No, Written::ConditionFailed(i)) if i > 0 => {
                    let _ = self
                        .withdraw_entries(class, &st.key, &kept.indexes, &puts, rev)
                        .await;
                    self.unnamed(class, &st.key, version.as_ref()).await;
                    return Err(duplicate(&fields[i - 1]));
                }
                (Landed::No, _) => {
                    self.unnamed(class, &st.key, version.as_ref()).await;
                    self.withdraw_claims(class, &st.key, &claims).await;
                    self.withdraw_entries(class, &st.key, &kept.indexes, &puts, rev)
                        .await?;
                    backoff(attempt.min(6)).await;
                    match self.reread(class, expr, &st.key).await? {
                        Some(now) => st = now,
                        None => return Ok(None),
                    }
                }
            }
        }
        Err(too_many_updates())
    }

    /// Whether the write with `token`, made on revision `base` of the object at `key`, is among
    /// the revisions since (its answer was lost and the SDK's retry failed the condition the
    /// write itself changed).
    async fn landed(&self, class: &str, key: &str, base: i64, token: &str) -> Result<Landed> {
        let Some(item) = self.store.get_head(class, key).await? else {
            return Ok(Landed::No);
        };
        let tokens = item_tokens(&item);
        if tokens.iter().any(|t| t == token) {
            return Ok(Landed::Yes);
        }
        let rev = item_rev(&item);
        // The item remembers the tokens of revisions rev, rev-1, …: does that reach base+1?
        Ok(if rev - base <= tokens.len() as i64 {
            Landed::No
        } else {
            Landed::Unknown
        })
    }

    /// The object at `key` as it is now, if it still matches `expr`.
    async fn reread(&self, class: &str, expr: &Expr, key: &str) -> Result<Option<Stored>> {
        let Some(item) = self.store.get(class, key).await? else {
            return Ok(None);
        };
        let st = item_to_stored(&item)?;
        Ok(matches(expr, &st.obj).then_some(st))
    }

    /// What session `s` already holds for the object `st` (None: deleted in the session).
    fn session_base(&self, s: u64, class: &str, st: &Stored) -> Result<Option<Map<String, Value>>> {
        Ok(match self.sessions.pending(s, class, &st.key)? {
            Pending::Written(o) => Some(o),
            Pending::Deleted => None,
            Pending::None => Some(st.obj.clone()),
        })
    }

    /// Whether a write of an object going from `old` to `new` touches a unique value whose
    /// sentinel holds a copy of the object (`layout::covers`).
    fn covered(
        &self,
        class: &str,
        kept: &Kept,
        old: &Map<String, Value>,
        new: &Map<String, Value>,
    ) -> Result<bool> {
        for f in kept.unique.iter().filter(|f| covers(class, f)) {
            if unique_sk(old, f)?.is_some() || unique_sk(new, f)?.is_some() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn changed_in_session(class: &str, key: &str) -> Error {
        Error::Conflict(format!(
            "{class} {key} changed during the transaction; nothing was written"
        ))
    }

    /// An update inside a transactional session: computed from what the session already wrote
    /// (else the stored object), buffered with a condition on the stored revision.
    async fn update_in_session(
        &self,
        s: u64,
        class: &str,
        st: Stored,
        upd: &Map<String, Value>,
        kept: &Kept,
    ) -> Result<Option<Map<String, Value>>> {
        let Some(base) = self.session_base(s, class, &st)? else {
            return Ok(None);
        };
        let mut new = base.clone();
        update::apply(&mut new, upd)?;
        let mut item = object_to_item(class, &st.key, st.rev + 1, &new)?;
        let restamp = self.expiry(class, &base) != self.expiry(class, &new);
        expire(&mut item, self.expiry(class, &new));
        stamp(&mut item, &st.tokens);
        let Split {
            head: item,
            chunks,
            version,
        } = fit_update(item, &st, &new, self.expiry(class, &new))?;
        self.sessions
            .write_chunks(&self.store, s, chunks, version)
            .await?;
        self.sessions.replaces(s, st.chunks.clone())?;
        let mut sentinels = Vec::new();
        for f in &kept.unique {
            for op in sentinel_ops(class, f, &st.key, &base, &new, &item, restamp)? {
                sentinels.push((f, op));
            }
        }
        self.sessions.add(
            s,
            TxOp::Put(item, Some(Condition::revision(st.rev))),
            Some(new.clone()),
            Self::changed_in_session(class, &st.key),
        )?;
        for (f, op) in sentinels {
            self.sessions.add(s, op, None, duplicate(f))?;
        }
        let fence = Fence {
            put: Some(st.rev + 1),
            upto: None,
        };
        let expiry = self.expiries(class, Some(&base), Some(&new));
        for op in index_ops(
            class,
            &kept.indexes,
            &st.key,
            (Some(&base), Some(&new)),
            fence,
            expiry,
        ) {
            self.sessions.add(s, op, None, kept_item("index entry"))?;
        }
        Ok(Some(new))
    }

    /// Deletes one stored row with its kept items, conditioned on its revision; re-reads and
    /// re-checks `expr` on conflict. Answers whether it was deleted.
    async fn delete_object(
        &self,
        class: &str,
        expr: &Expr,
        mut st: Stored,
        kept: &Kept,
        session: Option<u64>,
    ) -> Result<Option<Option<i64>>> {
        if let Some(s) = session {
            let Some(base) = self.session_base(s, class, &st)? else {
                return Ok(None);
            };
            let op = TxOp::Delete(
                class.to_string(),
                st.key.clone(),
                Some(Condition::revision(st.rev)),
            );
            let changed = Self::changed_in_session(class, &st.key);
            self.sessions.add(s, op, None, changed)?;
            self.sessions.replaces(s, st.chunks.clone())?;
            for (f, op) in release_ops(class, kept, &st.key, &base)? {
                self.sessions.add(s, op, None, duplicate(&f))?;
            }
            if let Some((pk, sk)) = join_mirror_key(class, &base) {
                let op = TxOp::Delete(pk, sk, None);
                self.sessions
                    .add(s, op, None, kept_item("relation mirror"))?;
            }
            let fence = Fence::default();
            let gone = (Some(&base), None);
            for op in index_ops(class, &kept.indexes, &st.key, gone, fence, (None, None)) {
                self.sessions.add(s, op, None, kept_item("index entry"))?;
            }
            return Ok(Some(self.expiry(class, &base)));
        }
        for attempt in 0..WRITE_ATTEMPTS {
            // A covered value's sentinel (a copy of the object) goes with the object, in one
            // transaction; other unique values are released once the object is gone.
            let covered = self.covered(class, kept, &st.obj, &st.obj)?;
            let mut ops: Vec<TxOp> = Vec::new();
            let mut given = Vec::new();
            if covered {
                ops.extend(
                    release_ops(class, kept, &st.key, &st.obj)?
                        .into_iter()
                        .map(|(_, op)| op),
                );
            } else {
                given = unique::held_apart(&kept.unique, &st.obj, None)?;
            }
            // The entries (and a relation row's mirror) go once the object is gone, each unless
            // a later object at this key put it again.
            let fence = Fence {
                put: None,
                upto: Some(st.rev),
            };
            let gone = (Some(&st.obj), None);
            let mut entries = index_ops(class, &kept.indexes, &st.key, gone, fence, (None, None));
            if let Some((pk, sk)) = join_mirror_key(class, &st.obj) {
                entries.push(TxOp::Delete(
                    pk,
                    sk,
                    Some(Condition::at_most(ENTRY_REV, st.rev)),
                ));
            }
            let own = Some(Condition::revision(st.rev));
            let deleted = if ops.is_empty() {
                // One conditional DeleteItem. A retried attempt (its answer lost) that finds
                // the object gone was this delete's own first attempt.
                let deleted = self.store.delete_counted(class, &st.key, own);
                match deleted.await.map_err(Error::of_write)? {
                    (Written::Ok, _) => true,
                    (_, true) => self.store.get_head(class, &st.key).await?.is_none(),
                    _ => false,
                }
            } else {
                // With sentinels, one transaction: its retries are idempotent (the SDK sends one
                // ClientRequestToken).
                ops.insert(0, TxOp::Delete(class.to_string(), st.key.clone(), own));
                self.store.transact(ops).await.map_err(Error::of_write)? == Written::Ok
            };
            if deleted {
                tokio::join!(
                    self.remove_entries(entries),
                    self.release(class, &st.key, st.rev, &given),
                    self.replaced(st.chunks.as_ref(), None)
                );
                return Ok(Some(st.expires));
            }
            backoff(attempt.min(6)).await;
            match self.reread(class, expr, &st.key).await? {
                Some(now) => st = now,
                None => return Ok(None),
            }
        }
        Err(too_many_updates())
    }
}
