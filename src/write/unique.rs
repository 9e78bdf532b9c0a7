//! Unique values claimed outside the object's write, one unit each. A write claims each unique
//! value its object takes before it writes the object (PutItem of the value's sentinel, owner
//! = the object, with a claim token, the time and the revision; conditioned on the sentinel
//! being absent or already this object's), and releases the values the object gave up after
//! it (DeleteItem conditioned on the owner and on a revision at most the write's, so a slow
//! release never frees a value a later revision claimed again). A claim held by another
//! object stands while that object holds the value, or while the claim is younger than the
//! grace (a write under way); past it, a claim whose owner does not hold the value (a write
//! that failed, was killed, or moved on without its release landing) is taken over in one
//! small transaction that also checks the owner is still as read, so an owner whose write
//! lands later cannot hold the value beside the new one unnoticed: a write whose object
//! landed more than half the grace after its claims began checks them again, and a write
//! that lost one undoes itself (`Writer::lost_claims`). The grace (twice the store's
//! operation timeout, at least a minute) is longer than DynamoDB takes to apply a request it
//! received; clocks of servers sharing a table are assumed within half of it of each other.

use super::{new_token, Writer};
use crate::codec::{item_to_stored, Item};
use crate::error::{Error, Result};
pub(crate) use crate::layout::claim_grace;
use crate::layout::{
    claim_age_ms, claim_sentinel, covers, duplicate, owned_sentinel, sentinel_claim,
    sentinel_owner, unique_pk, unique_sk, Kept,
};
use crate::store::{backoff, Condition, TxOp, Written};
use serde_json::{Map, Value};
use std::time::Instant;

/// Attempts at one claim (each after a takeover that lost a race, or a release seen between
/// the refusal and the read).
const CLAIM_ATTEMPTS: u32 = 8;

/// A value this write claimed: its field, its sentinel key and the claim's token.
#[derive(Debug, Clone)]
pub(super) struct Claim {
    pub field: String,
    pub sk: String,
    pub token: String,
}

/// The values of unique `fields` that `holder` holds and `other` (None: no object) does not:
/// with (`new`, `old`) the values a write claims, with (`old`, `new`) those it gives up.
pub(super) fn held_apart(
    fields: &[String],
    holder: &Map<String, Value>,
    other: Option<&Map<String, Value>>,
) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for f in fields {
        let Some(sk) = unique_sk(holder, f)? else {
            continue;
        };
        let also = match other {
            Some(o) => unique_sk(o, f)?,
            None => None,
        };
        if also.as_ref() != Some(&sk) {
            out.push((f.clone(), sk));
        }
    }
    Ok(out)
}

/// The sentinel changes of unique `field` when an object goes from `old` to `new`: claim the
/// new value, release the old one (each only if this object owns it or nobody does).
pub(super) fn sentinel_ops(
    class: &str,
    field: &str,
    key: &str,
    old: &Map<String, Value>,
    new: &Map<String, Value>,
    new_item: &Item,
    restamp: bool,
) -> Result<Vec<TxOp>> {
    let (old_sk, new_sk) = (unique_sk(old, field)?, unique_sk(new, field)?);
    let mut ops = Vec::new();
    // A sentinel with a copy of the object is rewritten with every change of it, and any
    // sentinel when the object's TTL expiry changed (`restamp`).
    if old_sk == new_sk && !((covers(class, field) || restamp) && new_sk.is_some()) {
        return Ok(ops);
    }
    if let Some(sk) = &new_sk {
        ops.push(TxOp::Put(
            owned_sentinel(class, field, sk, key, new_item),
            Some(Condition::absent_or_owned(key)),
        ));
    }
    if let Some(sk) = old_sk.filter(|sk| new_sk.as_ref() != Some(sk)) {
        ops.push(TxOp::Delete(
            unique_pk(class, field),
            sk,
            Some(Condition::absent_or_owned(key)),
        ));
    }
    Ok(ops)
}

/// The sentinel deletes of a deleted object's unique values, each with its field.
pub(super) fn release_ops(
    class: &str,
    kept: &Kept,
    key: &str,
    obj: &Map<String, Value>,
) -> Result<Vec<(String, TxOp)>> {
    let mut ops = Vec::new();
    for f in &kept.unique {
        if let Some(sk) = unique_sk(obj, f)? {
            let op = TxOp::Delete(
                unique_pk(class, f),
                sk,
                Some(Condition::absent_or_owned(key)),
            );
            ops.push((f.clone(), op));
        }
    }
    Ok(ops)
}

impl Writer {
    /// The values of `held` the object at `key` (revision `rev`) keeps take its new TTL
    /// expiry `at`: each sentinel put again, on condition that it is still this object's.
    /// Best effort: one left with the old expiry is a value TTL frees early, which `check`
    /// reports as a missing sentinel and `--fix` puts back.
    pub(super) async fn restamp(
        &self,
        class: &str,
        key: &str,
        rev: i64,
        at: Option<i64>,
        held: &[(String, String)],
    ) {
        let mut stub = Item::new();
        crate::layout::expire(&mut stub, at);
        let puts = held.iter().map(|(f, sk)| {
            let sentinel = claim_sentinel(class, f, sk, key, &stub, &new_token(), rev);
            self.store
                .put(sentinel, Some(Condition::absent_or_owned(key)))
        });
        let _ = futures::future::join_all(puts).await;
    }

    /// Claims every value of `wanted` for the object at `key`, written at `rev` as `item`, at
    /// once. On a refusal the claims made are withdrawn and the first refusal answered (a
    /// duplicate before any other error).
    pub(super) async fn claim_all(
        &self,
        class: &str,
        key: &str,
        rev: i64,
        item: &Item,
        wanted: &[(String, String)],
    ) -> Result<Vec<Claim>> {
        let results = futures::future::join_all(
            wanted
                .iter()
                .map(|(f, sk)| self.claim_one(class, f, sk, key, rev, item)),
        )
        .await;
        if results.iter().all(Result::is_ok) {
            return Ok(results
                .into_iter()
                .map(|r| r.unwrap_or_else(|_| unreachable!()))
                .collect());
        }
        let mut made = Vec::new();
        let mut refusal = None;
        for r in results {
            match r {
                Ok(c) => made.push(c),
                Err(e @ Error::Duplicate { .. }) => refusal = Some(e),
                Err(e) if refusal.is_none() => refusal = Some(e),
                Err(_) => {}
            }
        }
        self.withdraw_claims(class, key, &made).await;
        Err(refusal.unwrap_or_else(|| Error::Internal("claim refused".into())))
    }

    /// Claims value `sk` of unique `field` for `key` (see the module's header).
    async fn claim_one(
        &self,
        class: &str,
        field: &str,
        sk: &str,
        key: &str,
        rev: i64,
        item: &Item,
    ) -> Result<Claim> {
        let token = new_token();
        let pk = unique_pk(class, field);
        let strong = self.store.reading(true);
        for attempt in 0..CLAIM_ATTEMPTS {
            let sentinel = claim_sentinel(class, field, sk, key, item, &token, rev);
            let own = Some(Condition::absent_or_owned(key));
            if self
                .store
                .put(sentinel.clone(), own)
                .await
                .map_err(Error::of_write)?
                == Written::Ok
            {
                return Ok(Claim {
                    field: field.into(),
                    sk: sk.into(),
                    token,
                });
            }
            // Another object's: does it hold the value, or is its claim under way?
            let Some(now) = strong.get(&pk, sk).await? else {
                continue; // released meanwhile
            };
            let Some(owner) = sentinel_owner(&now).cloned() else {
                return Err(duplicate(field));
            };
            let owner_now = match strong.get(class, &owner).await? {
                Some(o) => Some(item_to_stored(&o)?),
                None => None,
            };
            if let Some(o) = &owner_now {
                if unique_sk(&o.obj, field)?.as_deref() == Some(sk) {
                    return Err(duplicate(field));
                }
            }
            if (claim_age_ms(&now) as u128) < self.claim_grace.as_millis() {
                return Err(duplicate(field));
            }
            // A dead claim: taken over, if the owner and the claim are still as read.
            let owner_as_read = match &owner_now {
                Some(o) => Condition::revision(o.rev),
                None => Condition::absent(),
            };
            let ops = vec![
                TxOp::Check(class.into(), owner.clone(), owner_as_read),
                TxOp::Put(
                    sentinel,
                    Some(Condition::claimed_as(
                        &owner,
                        sentinel_claim(&now).map(String::as_str),
                    )),
                ),
            ];
            if self.store.transact(ops).await.map_err(Error::of_write)? == Written::Ok {
                return Ok(Claim {
                    field: field.into(),
                    sk: sk.into(),
                    token,
                });
            }
            backoff(attempt.min(6)).await;
        }
        Err(Error::Conflict(format!(
            "the value of unique field {field} is being claimed by concurrent writes; try again"
        )))
    }

    /// Removes claims this write made and no longer needs (its object did not land), each
    /// only while it is still this write's. Best effort: a claim left is taken over once
    /// past the grace, and `check --fix` removes it.
    pub(super) async fn withdraw_claims(&self, class: &str, key: &str, claims: &[Claim]) {
        let drops = claims.iter().map(|c| {
            let cond = Condition::claimed_as(key, Some(&c.token));
            (c.field.as_str(), c.sk.as_str(), cond)
        });
        self.drop_sentinels(class, drops).await;
    }

    /// Releases the values `key` gave up (`given`) once its write at revision `rev` landed,
    /// each only while `key` owns it from a revision at most `rev`. Best effort, as
    /// `withdraw_claims`.
    pub(super) async fn release(
        &self,
        class: &str,
        key: &str,
        rev: i64,
        given: &[(String, String)],
    ) {
        let drops = given
            .iter()
            .map(|(f, sk)| (f.as_str(), sk.as_str(), Condition::owned_upto(key, rev)));
        self.drop_sentinels(class, drops).await;
    }

    /// Deletes sentinels of `class` (field, value key, condition) at once; one whose
    /// condition fails stays.
    async fn drop_sentinels<'a>(
        &self,
        class: &str,
        drops: impl Iterator<Item = (&'a str, &'a str, Condition)>,
    ) {
        let sends = drops.map(|(f, sk, cond)| async move {
            let _ = self
                .store
                .delete(&unique_pk(class, f), sk, Some(cond))
                .await;
        });
        futures::future::join_all(sends).await;
    }

    /// After an object write that landed at least half the grace after its claims began
    /// (`since`): the claims another write took over meanwhile (empty when none, or when the
    /// write was quick: no claim can be taken over before the grace).
    pub(super) async fn lost_claims(
        &self,
        class: &str,
        key: &str,
        since: Instant,
        claims: &[Claim],
    ) -> Result<Vec<Claim>> {
        if claims.is_empty() || since.elapsed() < self.claim_grace / 2 {
            return Ok(Vec::new());
        }
        let strong = self.store.reading(true);
        let strong = &strong;
        let reads = claims
            .iter()
            .map(|c| async move { strong.get(&unique_pk(class, &c.field), &c.sk).await });
        let now = futures::future::try_join_all(reads).await?;
        // Another owner (or none): taken over. This object's own later claim is still its.
        Ok(claims
            .iter()
            .zip(now)
            .filter(|(_, s)| {
                s.as_ref()
                    .is_none_or(|s| sentinel_owner(s).map(String::as_str) != Some(key))
            })
            .map(|(c, _)| c.clone())
            .collect())
    }
}
