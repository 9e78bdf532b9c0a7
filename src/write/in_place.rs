//! Updates made in place: one conditional `UpdateItem` instead of a read and a rewrite, when the
//! update has an in-place form (`update::in_place`: nothing kept beside the object is made from
//! the fields it writes) and the query a condition that implies it (`query::condition`). The
//! same request bumps the revision and puts its write token first in the item's list, and its
//! condition also refuses a token already there (the SDK re-sent a write whose answer was lost:
//! it was applied once) and a full token list (that object is rewritten the careful way, which
//! trims the list; lists near full are trimmed beside the answer). The item as it was comes back
//! whether the condition held or not, so the answer is `apply` on it, and a refused condition
//! is explained without a read. Increments whose sum DynamoDB's decimals may give otherwise than
//! `apply`'s (a non-integer field) are set to `apply`'s right after. Of an object too large for
//! one item, only the fields its head holds are written in place.

use super::{new_token, Writer};
use crate::codec::{
    item_to_stored, item_tokens, to_attr, Stored, CHUNKS, REV, SK, TOKEN, TOKENS_KEPT,
};
use crate::error::{Error, Result};
use crate::layout::{covers, Kept};
use crate::query::eval::matches;
use crate::query::{condition, Expr};
use crate::store::{backoff, Condition, Store, Update, Updated};
use crate::update;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// The token list may grow to this in place; past it the object is rewritten.
const TOKENS_CAP: usize = 2 * TOKENS_KEPT;
/// A list this long after a write is trimmed to `TOKENS_KEPT` beside the answer.
const TRIM_AT: usize = TOKENS_CAP - 2;
const ATTEMPTS: u32 = 20;

/// What became of an update tried in place.
#[derive(Debug)]
pub enum Attempt {
    /// Applied (the object now), or the object does not match (None).
    Done(Option<Map<String, Value>>),
    /// To be written the careful way: from this row, which matches the query (None: it has
    /// no in-place form; read it).
    Careful(Option<Stored>),
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: usize) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// Whether DynamoDB's decimal sum of `old` and an integer is the sum `apply` makes: both
/// integers whose sum an i64 holds (`apply` adds those exactly, else in doubles).
fn exact_sum(old: Option<&Value>, amount: i64) -> bool {
    match old {
        None => true,
        Some(Value::Number(x)) => x.as_i64().and_then(|x| x.checked_add(amount)).is_some(),
        _ => false,
    }
}

impl Writer {
    /// Tries `upd` on the object stored under `key` of `class` in one conditional `UpdateItem`.
    pub async fn update_in_place(
        &self,
        class: &str,
        expr: &Expr,
        key: &str,
        upd: &Map<String, Value>,
        kept: &Kept,
    ) -> Result<Attempt> {
        // A sentinel holding a copy of the object is rewritten with every change of it.
        let copied = kept.unique.iter().any(|f| covers(class, f));
        let (Some(cond), Some(plan)) = (
            condition::implying(expr, key),
            update::in_place(upd, |f| {
                copied || kept.touches(f) || self.ttl_field(class) == Some(f)
            }),
        ) else {
            return Ok(Attempt::Careful(None));
        };
        let token = new_token();
        let mut u = plan.update;
        // Of an object too large for one item, only fields its head holds are written in place
        // (`store::chunks`): the head names those its chunks hold.
        // The query's condition too: `attribute_not_exists` of a field the chunks hold would
        // hold on the head whatever the object says.
        let mut outside: Vec<String> = u
            .names
            .keys()
            .chain(cond.names.keys())
            .map(|p| format!("attribute_not_exists(#chp.#chm.{p})"))
            .collect();
        outside.dedup();
        outside.sort();
        outside.push("attribute_not_exists(#chp.#cha)".into());
        u.names.insert("#chp".into(), CHUNKS.into());
        u.names.insert("#chm".into(), "m".into());
        u.names.insert("#cha".into(), "a".into());
        u.names.insert("#rev".into(), REV.into());
        u.names.insert("#wt".into(), TOKEN.into());
        u.names.insert("#sk".into(), SK.into());
        u.values.insert(":wzero".into(), n(0));
        u.values.insert(":wone".into(), n(1));
        u.values
            .insert(":wtl".into(), AttributeValue::L(vec![s(&token)]));
        u.values.insert(":wnone".into(), AttributeValue::L(vec![]));
        u.values.insert(":wcap".into(), n(TOKENS_CAP));
        u.values.insert(":wt".into(), s(&token));
        u.set
            .push("#rev = if_not_exists(#rev, :wzero) + :wone".into());
        u.set
            .push("#wt = list_append(:wtl, if_not_exists(#wt, :wnone))".into());
        let mut expression = format!("attribute_exists(#sk) AND (attribute_not_exists(#wt) OR size(#wt) < :wcap) AND NOT contains(#wt, :wt) AND {}", outside.join(" AND "));
        if !cond.expression.is_empty() {
            expression = format!("{expression} AND {}", cond.expression);
        }
        let cond = Condition { expression, ..cond };
        for attempt in 0..ATTEMPTS {
            let sent = self
                .store
                .update_item(class, key, u.clone(), cond.clone())
                .await;
            let outcome = match sent {
                Ok(o) => o,
                // Refused as invalid (the field holds a type the operation does not apply to, the
                // object would grow past 400 KB): nothing was written; the careful way says why.
                Err(Error::Refused(_)) => return Ok(Attempt::Careful(None)),
                Err(e) => return Err(e.of_write()),
            };
            match outcome {
                Updated::Ok(old) => {
                    let Some(old) = self.store.whole(old).await? else {
                        return Ok(Attempt::Careful(None));
                    };
                    // Its chunks were replaced meanwhile: what came back is the object since,
                    // this update in it (the item as it was never holds this write's token).
                    if item_tokens(&old).contains(&token) {
                        return Ok(Attempt::Done(Some(item_to_stored(&old)?.obj)));
                    }
                    let st = item_to_stored(&old)?;
                    let mut new = st.obj.clone();
                    update::apply(&mut new, upd)?;
                    self.settle_sums(class, key, &token, &st, &new, &plan.increments)
                        .await;
                    if st.tokens.len() + 1 >= TRIM_AT {
                        self.trim_beside(class, key, &token, &st.tokens);
                    }
                    return Ok(Attempt::Done(Some(new)));
                }
                Updated::ConditionFailed(None) => return Ok(Attempt::Done(None)),
                Updated::ConditionFailed(Some(item)) => {
                    let Some(item) = self.store.whole(item).await? else {
                        return Ok(Attempt::Done(None));
                    };
                    let st = item_to_stored(&item)?;
                    return Ok(if matches(expr, &st.obj) {
                        Attempt::Careful(Some(st))
                    } else {
                        Attempt::Done(None)
                    });
                }
                Updated::Conflict => backoff(attempt.min(6)).await,
                // It may land now or later. Found applied: answered as it is; else sending it
                // again could apply it twice (once the token has left the item's list), and a
                // careful rewrite could be followed by it: the outcome is reported unknown.
                Updated::Unanswered => {
                    return match self.store.get(class, key).await? {
                        Some(item) if item_tokens(&item).contains(&token) => {
                            Ok(Attempt::Done(Some(item_to_stored(&item)?.obj)))
                        }
                        _ => Err(Error::Unknown(format!(
                            "no answer came to an update of {class} {key}: the update may or may not have been applied"
                        ))),
                    }
                }
            }
        }
        Err(Error::Conflict(
            "too many conflicting writes; try again".into(),
        ))
    }

    /// Sets the incremented fields whose stored sums may differ from `apply`'s to `apply`'s, if
    /// no write followed this one (`token` still first).
    #[allow(clippy::too_many_arguments)]
    async fn settle_sums(
        &self,
        class: &str,
        key: &str,
        token: &str,
        old: &Stored,
        new: &Map<String, Value>,
        increments: &[(String, i64)],
    ) {
        let mut fix = Update::default();
        for (f, amount) in increments {
            if exact_sum(old.obj.get(f), *amount) {
                continue;
            }
            let Some(v) = new.get(f).and_then(|v| to_attr(v).ok()) else {
                continue;
            };
            let i = fix.names.len();
            fix.names.insert(format!("#f{i}"), f.clone());
            fix.values.insert(format!(":f{i}"), v);
            fix.set.push(format!("#f{i} = :f{i}"));
        }
        if fix.set.is_empty() {
            return;
        }
        fix.names.insert("#rev".into(), REV.into());
        fix.values.insert(":fone".into(), n(1));
        fix.set.push("#rev = #rev + :fone".into());
        let first = Condition {
            expression: "#wt[0] = :wt".into(),
            names: HashMap::from([("#wt".to_string(), TOKEN.to_string())]),
            values: HashMap::from([(":wt".to_string(), s(token))]),
        };
        // Not applied (a write followed, an error): the stored sum stands, as it would had that
        // write come first.
        let _ = self.store.update_item(class, key, fix, first).await;
    }

    /// Trims the item's token list to the newest `TOKENS_KEPT`, if no write followed this one;
    /// sent beside the answer (a trim lost or refused leaves a longer list, which the next
    /// write in place or the careful way shortens).
    fn trim_beside(&self, class: &str, key: &str, token: &str, before: &[String]) {
        let list: Vec<AttributeValue> = std::iter::once(token)
            .chain(before.iter().map(String::as_str))
            .take(TOKENS_KEPT)
            .map(s)
            .collect();
        let trim = Update {
            set: vec!["#wt = :list".into()],
            remove: vec![],
            names: HashMap::from([("#wt".to_string(), TOKEN.to_string())]),
            values: HashMap::from([(":list".to_string(), AttributeValue::L(list))]),
        };
        let first = Condition {
            expression: "#wt[0] = :wt".into(),
            names: HashMap::new(),
            values: HashMap::from([(":wt".to_string(), s(token))]),
        };
        let store: Store = self.store.clone();
        let (class, key) = (class.to_string(), key.to_string());
        tokio::spawn(async move {
            let _ = store.update_item(&class, &key, trim, first).await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sums_apply_makes_exactly_are_left_alone() {
        assert!(exact_sum(None, 1));
        assert!(exact_sum(Some(&json!(41)), 1));
        assert!(!exact_sum(Some(&json!(0.1)), 1), "a double");
        assert!(!exact_sum(Some(&json!(i64::MAX)), 1), "past i64");
        assert!(!exact_sum(Some(&json!("x")), 1));
    }
}
