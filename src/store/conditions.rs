//! The conditions and transaction operations of writes: an item absent, at a revision, absent
//! or owned by an object (a sentinel), or with a number attribute at most or exactly a value
//! (an index entry's revision), a sentinel's claim as read or owned up to a revision, and the puts, deletes and checks a
//! `TransactWriteItems` is made of.

use crate::codec::{Item, PK, SK};
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

#[derive(Debug, Clone)]
pub struct Condition {
    pub expression: String,
    pub names: HashMap<String, String>,
    pub values: HashMap<String, AttributeValue>,
}

impl Condition {
    /// The item must not exist yet.
    pub fn absent() -> Condition {
        Condition {
            expression: "attribute_not_exists(#sk)".into(),
            names: HashMap::from([("#sk".to_string(), SK.to_string())]),
            values: HashMap::new(),
        }
    }
    /// The item must exist with this revision (0: an item without one, as other programs
    /// write).
    pub fn revision(rev: i64) -> Condition {
        if rev == 0 {
            return Condition {
                expression: "attribute_exists(#sk) AND attribute_not_exists(#rev)".into(),
                names: HashMap::from([
                    ("#sk".to_string(), SK.to_string()),
                    ("#rev".to_string(), crate::codec::REV.to_string()),
                ]),
                values: HashMap::new(),
            };
        }
        Condition {
            expression: "#rev = :rev".into(),
            names: HashMap::from([("#rev".to_string(), crate::codec::REV.to_string())]),
            values: HashMap::from([(":rev".to_string(), AttributeValue::N(rev.to_string()))]),
        }
    }
    /// Number attribute `attr` is at most `n`, or the item has none (or is gone).
    pub fn at_most(attr: &str, n: i64) -> Condition {
        Condition {
            expression: "attribute_not_exists(#a) OR #a <= :a".into(),
            names: HashMap::from([("#a".to_string(), attr.to_string())]),
            values: HashMap::from([(":a".to_string(), AttributeValue::N(n.to_string()))]),
        }
    }
    /// Number attribute `attr` is `n` (None: the item exists without it).
    pub fn number_is(attr: &str, n: Option<i64>) -> Condition {
        match n {
            Some(n) => Condition {
                expression: "#a = :a".into(),
                names: HashMap::from([("#a".to_string(), attr.to_string())]),
                values: HashMap::from([(":a".to_string(), AttributeValue::N(n.to_string()))]),
            },
            None => Condition {
                expression: "attribute_exists(#sk) AND attribute_not_exists(#a)".into(),
                names: HashMap::from([
                    ("#sk".to_string(), SK.to_string()),
                    ("#a".to_string(), attr.to_string()),
                ]),
                values: HashMap::new(),
            },
        }
    }
    /// Whether this is `absent()`: a write under it creates its item.
    pub fn is_absent(&self) -> bool {
        self.expression == Condition::absent().expression
    }
    /// The (sentinel) item must be absent or belong to `owner`.
    pub fn absent_or_owned(owner: &str) -> Condition {
        Condition {
            expression: "attribute_not_exists(#sk) OR #owner = :owner".into(),
            names: HashMap::from([
                ("#sk".to_string(), SK.to_string()),
                ("#owner".to_string(), "owner".to_string()),
            ]),
            values: HashMap::from([(":owner".to_string(), AttributeValue::S(owner.into()))]),
        }
    }
    /// The (sentinel) item is the claim of `owner` as read: with claim token `claim`, or
    /// without one (None).
    pub fn claimed_as(owner: &str, claim: Option<&str>) -> Condition {
        let mut c = Condition::absent_or_owned(owner);
        c.names.insert("#claim".into(), "claim".into());
        match claim {
            Some(t) => {
                c.expression = "#owner = :owner AND #claim = :claim".into();
                c.values
                    .insert(":claim".into(), AttributeValue::S(t.into()));
            }
            None => c.expression = "#owner = :owner AND attribute_not_exists(#claim)".into(),
        }
        c.names.remove("#sk");
        c
    }
    /// The (sentinel) item belongs to `owner` and was claimed at revision `rev` or before (or
    /// has no revision): a release by a write at `rev` never removes a claim made again later.
    pub fn owned_upto(owner: &str, rev: i64) -> Condition {
        let mut c = Condition::absent_or_owned(owner);
        c.names.remove("#sk");
        c.names.insert("#rev".into(), "rev".into());
        c.values
            .insert(":rev".into(), AttributeValue::N(rev.to_string()));
        c.expression = "#owner = :owner AND (attribute_not_exists(#rev) OR #rev <= :rev)".into();
        c
    }
}

#[derive(Debug, Clone)]
pub enum TxOp {
    Put(Item, Option<Condition>),
    Delete(String, String, Option<Condition>),
    /// Writes nothing: the transaction happens only if this item meets the condition.
    Check(String, String, Condition),
}

impl TxOp {
    /// The item's key (partition, sort).
    pub fn key(&self) -> (String, String) {
        match self {
            TxOp::Put(item, _) => {
                let s = |k: &str| match item.get(k) {
                    Some(AttributeValue::S(v)) => v.clone(),
                    _ => String::new(),
                };
                (s(PK), s(SK))
            }
            TxOp::Delete(pk, sk, _) | TxOp::Check(pk, sk, _) => (pk.clone(), sk.clone()),
        }
    }
    pub fn condition(&self) -> Option<&Condition> {
        match self {
            TxOp::Put(_, c) | TxOp::Delete(_, _, c) => c.as_ref(),
            TxOp::Check(_, _, c) => Some(c),
        }
    }
    pub fn with_condition(self, c: Option<Condition>) -> TxOp {
        match self {
            TxOp::Put(i, _) => TxOp::Put(i, c),
            TxOp::Delete(p, s, _) => TxOp::Delete(p, s, c),
            TxOp::Check(p, s, old) => TxOp::Check(p, s, c.unwrap_or(old)),
        }
    }
}
