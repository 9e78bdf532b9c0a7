//! The consistency check of a table (the `fsck` of this layout): reads every partition page by
//! page and reports what disagrees with the objects — unique-value sentinels missing, or held
//! for an object without the value, objects sharing a registered unique value, index entries missing or stale, relation
//! mirrors missing or orphaned, items kept for classes that no longer exist, objects of classes
//! without a schema. With `fix`, each repair is a transaction conditioned on what was read (the
//! object's revision, the sentinel's owner, the class still without a schema), so it never
//! undoes a write that raced with the check; index entries are repaired by `indexes::reconcile`.
//! Items past their TTL expiry (`expired`) are taken as gone: DynamoDB deletes them. Chunks of
//! large objects (`store::chunks`) that no object names are leftovers of writes cut off (or
//! under way, when younger than `layout::LEFTOVER_GRACE_MS`); a fix removes the former.

use crate::codec::{item_to_stored, PK, SK};
use crate::error::Result;
use crate::indexes::reconcile::reconcile_index;
use crate::indexes::Indexes;
use crate::layout::index;
use crate::layout::{
    claim_age_ms, claim_grace, entry_of, entry_pk, entry_rev, index_pks, is_join,
    is_object_partition, join_mirror, join_mirror_key, join_mirror_pk, leftover_below, pointed_key,
    sentinel_item, sentinel_owner, unique_pk, unique_sk, ENTRY_REV,
};
use crate::log::Log;
use crate::schema::SCHEMA_PARTITION;
use crate::store::chunks::{
    parse_chunk_pk, version_time, CHUNK_PARTITION, CHUNK_SK, OWNER_PK, OWNER_SK,
};
use crate::store::{Condition, Store, TxOp, Written};
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// One thing found wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// `missing-sentinel`, `orphaned-sentinel`, `duplicate-unique`, `missing-index-entry`,
    /// `misplaced-index-entry`, `missing-mirror`, `orphaned-mirror`, `left-over`,
    /// `objects-without-schema`; of a leftover (see `Report`), `stale-index-entry` or
    /// `index-entry-underway`.
    pub kind: &'static str,
    pub class: String,
    /// The unique field, index spec or partition concerned.
    pub what: String,
    /// The object (or item) concerned and what about it.
    pub detail: String,
    pub fixed: bool,
}

impl Problem {
    fn new(
        kind: &'static str,
        class: impl Into<String>,
        what: impl Into<String>,
        detail: impl Into<String>,
    ) -> Problem {
        Problem {
            kind,
            class: class.into(),
            what: what.into(),
            detail: detail.into(),
            fixed: false,
        }
    }

    fn to_json(&self) -> Value {
        json!({"kind": self.kind, "class": self.class, "what": self.what, "detail": self.detail, "fixed": self.fixed})
    }
}

/// What a check found (and fixed). `leftovers` are not problems: index entries and relation
/// mirrors no answer shows and claims that block nothing, left by writes cut off between their
/// steps (`write`): `stale-index-entry` (the object does not call for it, or is gone),
/// `orphaned-mirror` (its row is gone) and `orphaned-sentinel` (its owner does not hold the
/// value, and the next claim takes it over), removed by a fix, and `index-entry-underway` /
/// `mirror-underway` (of an object not there yet, younger than `layout::LEFTOVER_GRACE_MS`)
/// and `claim-underway` (younger than `layout::claim_grace`): a write may be under way, left;
/// `dropped-index-underway`, entries of an index being dropped (its drop sweeps them);
/// `unnamed-chunks`, a version of a large object's chunks no object names (removed by a fix),
/// and `chunks-underway`, one younger than the grace (its head may be on its way).
#[derive(Debug, Default)]
pub struct Report {
    pub items: usize,
    pub classes: usize,
    pub problems: Vec<Problem>,
    pub leftovers: Vec<Problem>,
}

impl Report {
    pub fn to_json(&self) -> Value {
        json!({
            "items": self.items,
            "classes": self.classes,
            "problems": self.problems.iter().map(Problem::to_json).collect::<Vec<_>>(),
            "unfixed": self.problems.iter().filter(|p| !p.fixed).count(),
            "leftovers": self.leftovers.iter().map(Problem::to_json).collect::<Vec<_>>(),
        })
    }
}

/// The class a kept partition (`~u:`, `~i:`, `~c:`, `~jr:`) belongs to.
fn class_of_kept(pk: &str) -> Option<&str> {
    let rest = pk
        .strip_prefix("~u:")
        .or_else(|| pk.strip_prefix("~i:"))
        .map(|r| r.split(':').next().unwrap_or(r))
        .or_else(|| pk.strip_prefix("~c:"))
        .or_else(|| pk.strip_prefix("~jr:"))?;
    Some(rest)
}

/// Every item of partition `pk`, but those DynamoDB's TTL is to delete (`expired`).
async fn items(store: &Store, pk: &str) -> Result<Vec<crate::codec::Item>> {
    let mut out = Vec::new();
    let now = crate::layout::now_ms() / 1000;
    store
        .query(pk, None, |item| {
            if !expired(&item, now) {
                out.push(item);
            }
            Ok(true)
        })
        .await?;
    Ok(out)
}

/// Whether DynamoDB's TTL is to delete `item` (its expiry is past `now`, in epoch seconds):
/// the check takes it as gone. An object and what is kept for it expire at the same second,
/// and TTL deletes each of them in its own time (within days on AWS), so one of them may be
/// gone while another is still there.
fn expired(item: &crate::codec::Item, now: i64) -> bool {
    match item.get(crate::codec::EXPIRES) {
        Some(AttributeValue::N(n)) => n.parse::<i64>().is_ok_and(|at| at <= now),
        _ => false,
    }
}

fn s(item: &crate::codec::Item, name: &str) -> String {
    match item.get(name) {
        Some(AttributeValue::S(v)) => v.clone(),
        _ => String::new(),
    }
}

/// Runs one repair transaction; answers whether it happened (false: something changed since
/// the check read it, so it was left alone).
async fn repair(store: &Store, ops: Vec<TxOp>) -> Result<bool> {
    Ok(store.transact(ops).await? == Written::Ok)
}

pub struct Checker<'a> {
    pub store: &'a Store,
    pub indexes: &'a Indexes,
    pub log: &'a Log,
    pub fix: bool,
}

impl Checker<'_> {
    pub async fn run(&self) -> Result<Report> {
        let mut report = Report::default();
        let store = self.store;
        let started = crate::layout::now_ms();
        self.log.info("check: listing the table's partitions");
        let mut partitions: BTreeMap<String, usize> = BTreeMap::new();
        let mut start = None;
        let mut pages = 0;
        loop {
            let (keys, next) = store.scan_keys_page(start).await?;
            report.items += keys.len();
            for (pk, _) in keys {
                *partitions.entry(pk).or_default() += 1;
            }
            pages += 1;
            if pages % 10 == 0 {
                self.log
                    .info(format!("check: {} items listed", report.items));
            }
            match next {
                Some(k) => start = Some(k),
                None => break,
            }
        }
        let schemas: BTreeSet<String> = items(store, SCHEMA_PARTITION)
            .await?
            .iter()
            .map(|i| s(i, SK))
            .collect();
        // Classes with objects, and classes with a schema (their kept items are checked even
        // when no object is left).
        let classes: Vec<String> = partitions
            .keys()
            .filter(|pk| is_object_partition(pk))
            .chain(schemas.iter())
            .cloned()
            .collect::<BTreeSet<String>>()
            .into_iter()
            .collect();
        report.classes = classes.len();
        // The versions of chunks the objects name.
        let mut named: HashSet<String> = HashSet::new();
        self.log.info(format!(
            "check: {} items, {} classes with objects, {} schemas",
            report.items,
            classes.len(),
            schemas.len()
        ));
        for (i, class) in classes.iter().enumerate() {
            let objects = partitions.get(class).copied().unwrap_or(0);
            self.log.info(format!(
                "check: class {}/{}: {class} ({objects} objects)",
                i + 1,
                classes.len(),
            ));
            // Parse's own classes without schema entries (`_PushStatus`, `_JobStatus`,
            // `_Hooks`, `_GlobalConfig`, `_Idempotency`…) are normal.
            if !schemas.contains(class) && !class.starts_with('_') {
                report.problems.push(Problem::new("objects-without-schema", class.clone(), class.clone(), format!(
                        "{objects} objects of a class with no schema (Parse does not list it); left as they are"
                    )));
            }
            if is_join(class) {
                self.check_mirrors(class, &mut report).await?;
            } else {
                self.check_class(class, &mut report, &mut named).await?;
            }
        }
        self.check_chunks(&partitions, &named, started, &mut report)
            .await?;
        self.check_left_over(&partitions, &schemas, &mut report)
            .await?;
        let unfixed = report.problems.iter().filter(|p| !p.fixed).count();
        self.log.info(format!(
            "check: done, {} problems ({} fixed, {unfixed} left)",
            report.problems.len(),
            report.problems.len() - unfixed
        ));
        Ok(report)
    }

    /// Sentinels and index entries of one class against its objects.
    async fn check_class(
        &self,
        class: &str,
        report: &mut Report,
        named: &mut HashSet<String>,
    ) -> Result<()> {
        let store = self.store;
        let kept = self.indexes.kept(class).await?;
        // What the objects call for.
        let mut revs: HashMap<String, i64> = HashMap::new();
        let mut values: HashMap<String, BTreeMap<String, Vec<String>>> = HashMap::new();
        let mut want: HashMap<String, HashMap<String, Vec<index::Entry>>> = HashMap::new();
        let now = crate::layout::now_ms() / 1000;
        store
            .query(class, None, |item| {
                if expired(&item, now) {
                    return Ok(true);
                }
                let st = item_to_stored(&item)?;
                named.extend(st.chunks.as_ref().map(|r| r.version.clone()));
                for f in &kept.unique {
                    // An object whose value cannot have a sentinel was refused when written.
                    if let Ok(Some(sk)) = unique_sk(&st.obj, f) {
                        values
                            .entry(f.clone())
                            .or_default()
                            .entry(sk)
                            .or_default()
                            .push(st.key.clone());
                    }
                }
                for spec in &kept.indexes {
                    let e = index::entries(&st.obj, spec, &st.key);
                    want.entry(spec.clone())
                        .or_default()
                        .insert(st.key.clone(), e);
                }
                revs.insert(st.key.clone(), st.rev);
                Ok(true)
            })
            .await?;
        for f in &kept.unique {
            let held = values.remove(f).unwrap_or_default();
            self.check_sentinels(class, f, &held, &revs, report).await?;
        }
        // An index still being back-filled is incomplete by design (its build finishes it).
        let below = leftover_below();
        for spec in &kept.ready() {
            let mut want = want.remove(spec).unwrap_or_default();
            let mut found = 0;
            let mut stale = 0;
            let first_leftover = report.leftovers.len();
            let mut entries = Vec::new();
            for pk in index_pks(class, spec) {
                entries.extend(items(store, &pk).await?);
            }
            for item in entries {
                let Some((key, e)) = entry_of(&item) else {
                    continue;
                };
                // A sharded index's entry outside the shard its object's key picks: writes
                // would never find it again.
                if s(&item, PK) != entry_pk(class, spec, &key) {
                    found += 1;
                    report.problems.push(Problem::new(
                        "misplaced-index-entry",
                        class,
                        spec.clone(),
                        format!("an entry of {key} outside the shard its key picks"),
                    ));
                    continue;
                }
                let wanted = want.get_mut(&key);
                let present = wanted.is_some();
                match wanted.as_ref().and_then(|w| w.iter().position(|x| *x == e)) {
                    Some(at) => {
                        if let Some(w) = wanted {
                            w.swap_remove(at);
                        }
                    }
                    None if !present && entry_rev(&item).is_some_and(|r| r > below) => {
                        report.leftovers.push(Problem::new(
                            "index-entry-underway",
                            class,
                            spec.clone(),
                            format!(
                                "an entry of {key}, not there yet (a create under way, or cut off)"
                            ),
                        ));
                    }
                    None => {
                        stale += 1;
                        report.leftovers.push(Problem::new(
                            "stale-index-entry",
                            class,
                            spec.clone(),
                            format!("an entry of {key} that the object does not call for"),
                        ));
                    }
                }
            }
            for (key, rest) in want.iter().filter(|(_, r)| !r.is_empty()) {
                found += 1;
                report.problems.push(Problem::new(
                    "missing-index-entry",
                    class,
                    spec.clone(),
                    format!("{} entries of {key} missing", rest.len()),
                ));
            }
            if (found > 0 || stale > 0) && self.fix {
                reconcile_index(store, self.log, class, spec, "repairing").await?;
                let n = report.problems.len();
                for p in report.problems[n - found..].iter_mut() {
                    p.fixed = true;
                }
                for p in report.leftovers[first_leftover..].iter_mut() {
                    p.fixed = p.kind == "stale-index-entry";
                }
            }
        }
        Ok(())
    }

    /// The sentinels of unique `field` against the objects' values (`held`: value → owners).
    async fn check_sentinels(
        &self,
        class: &str,
        field: &str,
        held: &BTreeMap<String, Vec<String>>,
        revs: &HashMap<String, i64>,
        report: &mut Report,
    ) -> Result<()> {
        let store = self.store;
        let pk = unique_pk(class, field);
        let mut owners: HashMap<String, String> = HashMap::new();
        // Claims younger than the grace: a write under way may not hold its value yet.
        let grace = claim_grace(store.operation_timeout()).as_millis() as i64;
        let mut young: HashSet<String> = HashSet::new();
        for item in items(store, &pk).await? {
            if claim_age_ms(&item) < grace {
                young.insert(s(&item, SK));
            }
            owners.insert(
                s(&item, SK),
                sentinel_owner(&item).cloned().unwrap_or_default(),
            );
        }
        for (sk, keys) in held {
            if keys.len() > 1 {
                report.problems.push(Problem::new(
                    "duplicate-unique",
                    class,
                    field,
                    format!(
                        "objects {} share the value {}; choose which keeps it (not fixed)",
                        keys.join(", "),
                        &sk[1..]
                    ),
                ));
                continue;
            }
            let key = &keys[0];
            if owners.get(sk) == Some(key) {
                continue;
            }
            // Missing, or held by a sentinel of an object that no longer has the value.
            let mut p = Problem::new(
                "missing-sentinel",
                class,
                field,
                format!("{key} holds {} without owning it", &sk[1..]),
            );
            if self.fix {
                let rev = revs.get(key).copied().unwrap_or(0);
                let mut ops = vec![TxOp::Check(
                    class.into(),
                    key.clone(),
                    Condition::revision(rev),
                )];
                let claim = match owners.get(sk) {
                    None => Condition::absent(),
                    Some(other) => {
                        // The stale owner must still be as read (not holding the value).
                        let other_now = match revs.get(other) {
                            Some(r) => Condition::revision(*r),
                            None => Condition::absent(),
                        };
                        ops.push(TxOp::Check(class.into(), other.clone(), other_now));
                        Condition::absent_or_owned(other)
                    }
                };
                ops.push(TxOp::Put(sentinel_item(class, field, sk, key), Some(claim)));
                p.fixed = repair(store, ops).await?;
            }
            report.problems.push(p);
        }
        for (sk, owner) in &owners {
            if held
                .get(sk)
                .is_some_and(|k| k.contains(owner) || k.len() == 1)
            {
                // Owned by the object holding it, or handled above as missing.
                continue;
            }
            if young.contains(sk) {
                report.leftovers.push(Problem::new(
                    "claim-underway",
                    class,
                    field,
                    format!(
                        "the value {} is claimed for {owner}, which does not have it yet (a write under way, or cut off)",
                        &sk[1..]
                    ),
                ));
                continue;
            }
            // A claim left by a write that failed or was cut off, or a value given up whose
            // release did not land: the next write that wants the value takes it over.
            let mut p = Problem::new(
                "orphaned-sentinel",
                class,
                field,
                format!(
                    "the value {} is held for {owner}, which does not have it (the next claim of it takes it over)",
                    &sk[1..]
                ),
            );
            if self.fix {
                let owner_now = match revs.get(owner) {
                    Some(r) => Condition::revision(*r),
                    None => Condition::absent(),
                };
                p.fixed = repair(
                    store,
                    vec![
                        TxOp::Delete(
                            unique_pk(class, field),
                            sk.clone(),
                            Some(Condition::absent_or_owned(owner)),
                        ),
                        TxOp::Check(class.into(), owner.clone(), owner_now),
                    ],
                )
                .await?;
            }
            report.leftovers.push(p);
        }
        Ok(())
    }

    /// A relation's rows against their mirrors.
    async fn check_mirrors(&self, class: &str, report: &mut Report) -> Result<()> {
        let store = self.store;
        let mut want: HashMap<String, (String, i64)> = HashMap::new();
        let mut rows: HashMap<String, Value> = HashMap::new();
        store
            .query(class, None, |item| {
                let st = item_to_stored(&item)?;
                if let Some((_, sk)) = join_mirror_key(class, &st.obj) {
                    want.insert(sk, (st.key.clone(), st.rev));
                    rows.insert(st.key.clone(), Value::Object(st.obj));
                }
                Ok(true)
            })
            .await?;
        let mpk = join_mirror_pk(class);
        let below = leftover_below();
        for item in items(store, &mpk).await? {
            let sk = s(&item, SK);
            if want.remove(&sk).is_some() {
                continue;
            }
            // A mirror is written beside its row (see `write`): one without its row is a
            // leftover no answer shows (readers read the rows it names), or a row's write
            // under way.
            let row = pointed_key(&item).cloned().unwrap_or_default();
            let rev = entry_rev(&item);
            if rev.is_some_and(|r| r > below) {
                report.leftovers.push(Problem::new(
                    "mirror-underway",
                    class,
                    mpk.clone(),
                    format!(
                        "mirror {sk} of row {row}, not there yet (a write under way, or cut off)"
                    ),
                ));
                continue;
            }
            let mut p = Problem::new(
                "orphaned-mirror",
                class,
                mpk.clone(),
                format!("mirror {sk} of row {row}, which is gone"),
            );
            if self.fix {
                // Only the mirror as read: a row added again meanwhile puts its own.
                p.fixed = repair(
                    store,
                    vec![
                        TxOp::Delete(
                            mpk.clone(),
                            sk.clone(),
                            Some(Condition::number_is(ENTRY_REV, rev)),
                        ),
                        TxOp::Check(class.into(), row, Condition::absent()),
                    ],
                )
                .await?;
            }
            report.leftovers.push(p);
        }
        for (_, (key, rev)) in want {
            let mut p = Problem::new(
                "missing-mirror",
                class,
                mpk.clone(),
                format!("row {key} has no mirror"),
            );
            if self.fix {
                if let Some(Value::Object(obj)) = rows.get(&key) {
                    if let Some(m) = join_mirror(class, &key, obj, Some(rev)) {
                        p.fixed = repair(
                            store,
                            vec![
                                TxOp::Put(m, None),
                                TxOp::Check(class.into(), key.clone(), Condition::revision(rev)),
                            ],
                        )
                        .await?;
                    }
                }
            }
            report.problems.push(p);
        }
        Ok(())
    }

    /// Kept partitions of classes that have neither a schema nor objects (a class deletion cut
    /// off), and kept partitions no registry names (an index dropped while a server still wrote
    /// it). Registries alone are not left-overs: Parse registers unique fields of classes
    /// before their first object (`_Idempotency`).
    async fn check_left_over(
        &self,
        partitions: &BTreeMap<String, usize>,
        schemas: &BTreeSet<String>,
        report: &mut Report,
    ) -> Result<()> {
        let live = |c: &str| schemas.contains(c) || partitions.contains_key(c);
        for (pk, n) in partitions {
            let Some(class) = class_of_kept(pk) else {
                continue;
            };
            if live(class) && pk.starts_with("~i:") {
                // An index being dropped: servers that have not re-read the registry may still
                // write its entries until the drop sweeps them (`indexes::remove`).
                let dropping = self.indexes.dropping_now(class).await?;
                if dropping.iter().any(|s| index_pks(class, s).contains(pk)) {
                    report.leftovers.push(Problem::new(
                        "dropped-index-underway",
                        class,
                        pk.clone(),
                        format!("{n} entries of an index being dropped (swept soon)"),
                    ));
                    continue;
                }
            }
            let unnamed = if live(class) {
                let kept = self.indexes.kept(class).await?;
                let named = kept.unique.iter().any(|f| unique_pk(class, f) == *pk)
                    || kept
                        .indexes
                        .iter()
                        .any(|s| index_pks(class, s).contains(pk))
                    || pk.starts_with("~c:")
                    || pk.starts_with("~jr:");
                !named
            } else {
                true
            };
            if !unnamed {
                continue;
            }
            let mut p = Problem::new(
                "left-over",
                class,
                pk.clone(),
                if live(class) {
                    format!("{n} items of an index or unique field the class no longer keeps")
                } else {
                    format!("{n} items kept for a class that no longer exists")
                },
            );
            if self.fix {
                p.fixed = self.delete_partition(pk, class, live(class)).await?;
            }
            report.problems.push(p);
        }
        Ok(())
    }

    /// Chunks no object names (listed before the objects were read, so a version named then
    /// and replaced since is a leftover too): a write cut off between its steps, or one under
    /// way when younger than the grace.
    async fn check_chunks(
        &self,
        partitions: &BTreeMap<String, usize>,
        named: &HashSet<String>,
        listed: i64,
        report: &mut Report,
    ) -> Result<()> {
        let mut versions: BTreeMap<&str, usize> = BTreeMap::new();
        for pk in partitions.keys() {
            if let Some((v, _)) = parse_chunk_pk(pk) {
                *versions.entry(v).or_default() += 1;
            }
        }
        for (v, n) in versions.into_iter().filter(|(v, _)| !named.contains(*v)) {
            // Young when listed: its head may have landed after its class was read.
            let young =
                version_time(v).is_some_and(|t| listed - t < crate::layout::LEFTOVER_GRACE_MS);
            // An old one is looked at: DynamoDB's TTL deletes those that expire (a LiveQuery
            // message's, a session's), and its object may name it by now.
            if !young && self.kept_anyway(v).await? {
                continue;
            }
            let kind = if young {
                "chunks-underway"
            } else {
                "unnamed-chunks"
            };
            let mut p = Problem::new(
                kind,
                "",
                format!("{CHUNK_PARTITION}{v}"),
                format!("{n} chunks of a version no object names"),
            );
            if self.fix && !young {
                let keys: Vec<(String, String)> = partitions
                    .keys()
                    .filter(|pk| parse_chunk_pk(pk).is_some_and(|(x, _)| x == v))
                    .map(|pk| (pk.clone(), CHUNK_SK.to_string()))
                    .collect();
                self.store.batch_delete(&keys).await?;
                p.fixed = true;
            }
            report.leftovers.push(p);
        }
        Ok(())
    }

    /// Whether a version of chunks is no leftover after all: DynamoDB's TTL deletes it, or the
    /// object it was written for names it now (its first chunk says which object).
    async fn kept_anyway(&self, version: &str) -> Result<bool> {
        let first = format!("{CHUNK_PARTITION}{version}:0");
        let Some(chunk) = self.store.get_head(&first, CHUNK_SK).await? else {
            return Ok(false);
        };
        if chunk.contains_key(crate::codec::EXPIRES) {
            return Ok(true);
        }
        let owner = (s(&chunk, OWNER_PK), s(&chunk, OWNER_SK));
        self.store.names(&owner.0, &owner.1, version).await
    }

    /// Deletes a left-over partition, each batch of deletes conditioned on the class still
    /// having no schema (unless it has one, and the partition is one it no longer keeps).
    async fn delete_partition(&self, pk: &str, class: &str, live: bool) -> Result<bool> {
        let keys = self.store.partition_keys(pk).await?;
        let mut all = true;
        for chunk in keys.chunks(99) {
            let mut ops: Vec<TxOp> = chunk
                .iter()
                .map(|(p, s)| TxOp::Delete(p.clone(), s.clone(), None))
                .collect();
            if !live {
                ops.push(TxOp::Check(
                    SCHEMA_PARTITION.into(),
                    class.into(),
                    Condition::absent(),
                ));
            }
            all &= repair(self.store, ops).await?;
        }
        Ok(all)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_partitions_name_their_class() {
        assert_eq!(class_of_kept("~u:_User:username"), Some("_User"));
        assert_eq!(class_of_kept("~u:_User:authData.x.id"), Some("_User"));
        assert_eq!(class_of_kept("~i:Post:author,createdAt"), Some("Post"));
        assert_eq!(class_of_kept("~i:Post:title:ci"), Some("Post"));
        assert_eq!(class_of_kept("~c:Post"), Some("Post"));
        assert_eq!(
            class_of_kept("~jr:_Join:members:Folder"),
            Some("_Join:members:Folder")
        );
        assert_eq!(class_of_kept("~meta"), None);
        assert_eq!(class_of_kept("Post"), None);
    }
}
