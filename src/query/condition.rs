//! The condition expression of a write's query: what DynamoDB checks on the stored item when a
//! write changes it in place, without reading it first. Unlike a filter (a superset the
//! evaluator narrows), a condition must *imply* the query: every item that passes it matches.
//! It may be stricter (an array holding the value, a type DynamoDB compares differently): an
//! item the condition refuses is re-checked by the evaluator, and a match the condition missed
//! is then written the careful way. Only the shapes Parse's updates send are translated (the
//! object's key, scalar equalities, `$in` such as the `_wperm` of an ACL, `$exists`); any other
//! query has no condition and is read first. `equivalent` is the stricter kind a count asks
//! DynamoDB to evaluate alone: a condition that holds exactly when the query matches (`$ne`
//! too, as Parse's push counts its installations).

use super::parse::{conjuncts, Cond, Expr};
use crate::codec::to_attr;
use crate::store::Condition;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;
use std::collections::HashMap;

/// DynamoDB's 4 KB expressions and 100 `IN` operands, with room for the update's own parts.
const MAX_CHARS: usize = 2000;
const MAX_VALUES: usize = 60;

#[derive(Default)]
struct Builder {
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Builder {
    fn name(&mut self, field: &str) -> String {
        if let Some((id, _)) = self.names.iter().find(|(_, n)| *n == field) {
            return id.clone();
        }
        let id = format!("#c{}", self.names.len());
        self.names.insert(id.clone(), field.to_string());
        id
    }
    fn value(&mut self, a: AttributeValue) -> String {
        if let Some((id, _)) = self.values.iter().find(|(_, v)| **v == a) {
            return id.clone();
        }
        let id = format!(":c{}", self.values.len());
        self.values.insert(id.clone(), a);
        id
    }
    fn type_of(&mut self, t: &str) -> String {
        self.value(AttributeValue::S(t.into()))
    }
}

/// A scalar DynamoDB compares as MongoDB does (strings, numbers, booleans).
fn scalar(v: &Value) -> Option<AttributeValue> {
    match v {
        Value::String(_) | Value::Number(_) | Value::Bool(_) => to_attr(v).ok(),
        _ => None,
    }
}

/// One conjunct on a top-level field, or None when it cannot be said exactly enough; in
/// parentheses when it is a disjunction (DynamoDB refuses redundant ones, so no others).
fn atom(b: &mut Builder, field: &str, cond: &Cond) -> Option<String> {
    let f = b.name(field);
    let mut alts = Vec::new();
    let missing_or_null = |b: &mut Builder, alts: &mut Vec<String>| {
        let t = b.type_of("NULL");
        alts.push(format!("attribute_not_exists({f})"));
        alts.push(format!("attribute_type({f}, {t})"));
    };
    match cond {
        Cond::Eq(Value::Null) => missing_or_null(b, &mut alts),
        Cond::Eq(v) => alts.push(format!("{f} = {}", b.value(scalar(v)?))),
        // Missing, null, or any other value (of another type too): DynamoDB's `<>` is false
        // on a missing attribute, so that one is said apart. Exact only on a field that never
        // holds an array (MongoDB's `$ne` also refuses an array holding the value).
        Cond::Ne(v) => {
            let other = b.value(scalar(v)?);
            missing_or_null(b, &mut alts);
            alts.push(format!("{f} <> {other}"));
        }
        Cond::Exists(true) => alts.push(format!("attribute_exists({f})")),
        Cond::Exists(false) => alts.push(format!("attribute_not_exists({f})")),
        Cond::In(list) => {
            if list.iter().any(Value::is_null) {
                missing_or_null(b, &mut alts);
            }
            let ids = list
                .iter()
                .filter(|v| !v.is_null())
                .map(|v| Some(b.value(scalar(v)?)))
                .collect::<Option<Vec<_>>>()?;
            if !ids.is_empty() {
                alts.push(format!("{f} IN ({})", ids.join(", ")));
                let l = b.type_of("L");
                let held: Vec<String> = ids
                    .iter()
                    .map(|id| format!("contains({f}, {id})"))
                    .collect();
                let held = match held.len() {
                    1 => held.join(""),
                    _ => format!("({})", held.join(" OR ")),
                };
                alts.push(format!("attribute_type({f}, {l}) AND {held}"));
            }
        }
        _ => return None,
    }
    Some(match alts.len() {
        0 => return None,
        1 => alts.join(""),
        _ => format!("({})", alts.join(" OR ")),
    })
}

/// The condition that `expr` holds for the object stored under `key`, beside the object's key
/// (its `objectId` conjuncts must all allow `key`), to be joined to others with `AND`; empty
/// when the key is all. None when some conjunct has no exact form.
pub fn implying(expr: &Expr, key: &str) -> Option<Condition> {
    let mut b = Builder::default();
    let mut parts = Vec::new();
    for c in conjuncts(expr) {
        let Expr::Field(path, cond) = c else {
            return None;
        };
        if path.len() != 1 {
            return None;
        }
        if matches!(cond, Cond::Ne(_)) {
            // An array field holding the value passes `<>`: no condition implies it.
            return None;
        }
        if path[0] == "objectId" {
            let allows = match cond {
                Cond::Eq(Value::String(s)) => s == key,
                Cond::In(list) => list.iter().any(|v| v.as_str() == Some(key)),
                _ => false,
            };
            if !allows {
                return None;
            }
            continue;
        }
        parts.push(atom(&mut b, &path[0], cond)?);
    }
    let expression = parts.join(" AND ");
    if expression.len() > MAX_CHARS || b.values.len() > MAX_VALUES {
        return None;
    }
    Some(Condition {
        expression,
        names: b.names,
        values: b.values,
    })
}

/// A condition DynamoDB checks that holds exactly when `expr` matches, for counting with
/// `Select: COUNT` (no item crosses the network): each conjunct a top-level field's
/// equality or `$ne` (on a field of `scalars`, which the schema says holds a string, number or
/// boolean, never an array, so element matches cannot be missed), `$in` (lists held too) or
/// `$exists`. None for anything else,
/// and for the objectId (key reads count those).
pub fn equivalent(expr: &Expr, scalars: &[String]) -> Option<Condition> {
    let mut b = Builder::default();
    let mut parts = Vec::new();
    for c in conjuncts(expr) {
        let Expr::Field(path, cond) = c else {
            return None;
        };
        let [field] = path.as_slice() else {
            return None;
        };
        let exact = match cond {
            Cond::Eq(_) | Cond::Ne(_) => scalars.contains(field),
            Cond::In(_) | Cond::Exists(_) => true,
            _ => false,
        };
        if !exact || field == "objectId" {
            return None;
        }
        parts.push(atom(&mut b, field, cond)?);
    }
    let expression = parts.join(" AND ");
    if expression.is_empty() || expression.len() > MAX_CHARS || b.values.len() > MAX_VALUES {
        return None;
    }
    Some(Condition {
        expression,
        names: b.names,
        values: b.values,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::parse_query;
    use serde_json::json;

    fn cond(q: Value) -> Option<Condition> {
        implying(&parse_query(&q, false).unwrap(), "k1")
    }

    #[test]
    fn the_key_alone_needs_no_condition() {
        assert_eq!(cond(json!({"objectId": "k1"})).unwrap().expression, "");
        assert!(cond(json!({"objectId": "k2"})).is_none());
        assert!(cond(json!({"objectId": {"$in": ["k0", "k2"]}})).is_none());
    }

    #[test]
    fn an_acl_is_missing_null_equal_or_held() {
        let c = cond(json!({"objectId": "k1", "_wperm": {"$in": [null, "*", "u1"]}})).unwrap();
        assert_eq!(c.names.get("#c0").map(String::as_str), Some("_wperm"));
        assert!(c.expression.contains("attribute_not_exists(#c0)"));
        assert!(c.expression.contains("#c0 IN ("));
        assert!(c.expression.contains("contains(#c0, "));
        // Every placeholder given is used (DynamoDB refuses unused ones).
        for id in c.names.keys().chain(c.values.keys()) {
            assert!(c.expression.contains(id.as_str()), "{id} unused");
        }
    }

    #[test]
    fn shapes_without_an_exact_form_have_none() {
        assert!(cond(json!({"objectId": "k1", "n": {"$gt": 1}})).is_none());
        assert!(cond(json!({"objectId": "k1", "a.b": 1})).is_none());
        assert!(cond(
            json!({"objectId": "k1", "d": {"__type": "Date", "iso": "2020-01-01T00:00:00.000Z"}})
        )
        .is_none());
        assert!(cond(json!({"$or": [{"objectId": "k1"}, {"a": 1}]})).is_none());
    }

    #[test]
    fn counts_have_an_equivalent_condition_only_for_exact_shapes() {
        let eq = |q: Value, scalars: &[&str]| {
            let scalars: Vec<String> = scalars.iter().map(|s| s.to_string()).collect();
            equivalent(&parse_query(&q, false).unwrap(), &scalars)
        };
        let acl = json!({"$in": [null, "*", "u1"]});
        assert!(eq(json!({"done": false, "_rperm": acl}), &["done"]).is_some());
        assert!(eq(
            json!({"tag": {"$in": ["a", "b"]}, "n": {"$exists": true}}),
            &[]
        )
        .is_some());
        // An equality on a field that may hold arrays matches their elements: not exact.
        assert!(eq(json!({"done": false}), &[]).is_none());
        assert!(eq(json!({"n": {"$gt": 1}}), &["n"]).is_none());
        assert!(eq(json!({"objectId": "a"}), &[]).is_none());
        assert!(eq(json!({}), &[]).is_none());
    }
}
