//! An update as the actions of one DynamoDB `UpdateItem`, for the updates DynamoDB applies to
//! the stored item exactly as `apply` would to the object: whole top-level fields set or
//! removed, `Increment` by an integer (`if_not_exists(f, 0) + n`) and `Add`
//! (`list_append`). Anything else — dotted paths, `AddUnique`, `Remove`, `authData`, a field an
//! index entry or a unique value is made from, large values — has no in-place form, and the
//! object is read and rewritten instead.

use super::auth_data_path;
use crate::codec::{attr_measure, canonical, canonical_field, to_attr, MAX_NESTING};
use crate::store::Update;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Map, Value};

/// Updates carrying more than this go the careful way, which knows the object's size.
const MAX_VALUE_BYTES: usize = 64 * 1024;

/// The in-place form of an update, and the fields it increments with their amounts (their
/// sums are DynamoDB's, decimal: the caller checks them against `apply`'s).
#[derive(Debug)]
pub struct InPlace {
    pub update: Update,
    pub increments: Vec<(String, i64)>,
}

/// The in-place form of `upd`, or None. `kept(field)` says whether something kept beside
/// the object (an index entry, a unique value's sentinel) is made from that top-level field.
pub fn in_place(upd: &Map<String, Value>, kept: impl Fn(&str) -> bool) -> Option<InPlace> {
    let mut out = Update::default();
    let mut increments = Vec::new();
    let mut bytes = 0;
    let mut value = |out: &mut Update, a: AttributeValue| -> Option<String> {
        let (size, depth) = attr_measure(&a);
        if depth > MAX_NESTING {
            return None;
        }
        bytes += size;
        let id = format!(":u{}", out.values.len());
        out.values.insert(id.clone(), a);
        Some(id)
    };
    for (i, (key, op)) in upd.iter().enumerate() {
        if key == "objectId" {
            continue;
        }
        if key.is_empty()
            || key.contains('.')
            || key.starts_with("authData")
            || auth_data_path(key).is_some()
            || kept(key)
        {
            return None;
        }
        let f = format!("#u{i}");
        out.names.insert(f.clone(), key.clone());
        match op.get("__op").and_then(Value::as_str) {
            Some("Delete") => out.remove.push(f),
            Some("Increment") => {
                let amount = op.get("amount").and_then(Value::as_i64)?;
                let zero = value(&mut out, AttributeValue::N("0".into()))?;
                let n = value(&mut out, AttributeValue::N(amount.to_string()))?;
                out.set
                    .push(format!("{f} = if_not_exists({f}, {zero}) + {n}"));
                increments.push((key.clone(), amount));
            }
            Some("Add") => {
                let items = op.get("objects")?.as_array()?;
                let items = items.iter().map(canonical).collect::<Result<Vec<_>, _>>();
                let list = to_attr(&Value::Array(items.ok()?)).ok()?;
                let empty = value(&mut out, AttributeValue::L(vec![]))?;
                let l = value(&mut out, list)?;
                out.set.push(format!(
                    "{f} = list_append(if_not_exists({f}, {empty}), {l})"
                ));
            }
            Some(_) => return None,
            None => {
                let v = to_attr(&canonical_field(key, op).ok()?).ok()?;
                let v = value(&mut out, v)?;
                out.set.push(format!("{f} = {v}"));
            }
        }
    }
    (bytes <= MAX_VALUE_BYTES).then_some(InPlace {
        update: out,
        increments,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn of(u: Value) -> Option<InPlace> {
        in_place(u.as_object().unwrap(), |f| f == "username")
    }

    #[test]
    fn sets_increments_adds_and_deletes() {
        let p = of(json!({
            "score": {"__op": "Increment", "amount": 2},
            "tags": {"__op": "Add", "objects": ["a"]},
            "gone": {"__op": "Delete"},
            "name": "x",
            "updatedAt": "2026-12-01T00:00:00.000Z"
        }))
        .unwrap();
        let e = p.update.expression();
        assert!(e.starts_with("SET "), "{e}");
        assert!(e.contains("if_not_exists("), "{e}");
        assert!(e.contains("list_append("), "{e}");
        assert!(e.contains(" REMOVE #u"), "{e}");
        assert_eq!(p.increments, vec![("score".to_string(), 2)]);
        // updatedAt is stored as a Date map, as a whole object write stores it.
        let date = p.update.values.values().find(|v| v.is_m()).unwrap();
        assert!(date.as_m().unwrap().contains_key("iso"));
        for id in p.update.names.keys().chain(p.update.values.keys()) {
            assert!(e.contains(id.as_str()), "{id} unused in {e}");
        }
    }

    #[test]
    fn what_dynamodb_cannot_apply_alike_has_no_in_place_form() {
        assert!(of(json!({"username": "x"})).is_none(), "a unique field");
        assert!(of(json!({"a.b": 1})).is_none(), "a dotted path");
        assert!(of(json!({"n": {"__op": "Increment", "amount": 1.5}})).is_none());
        assert!(of(json!({"t": {"__op": "AddUnique", "objects": [1]}})).is_none());
        assert!(of(json!({"t": {"__op": "Remove", "objects": [1]}})).is_none());
        assert!(of(json!({"_auth_data_facebook": {"id": "1"}})).is_none());
        assert!(of(json!({"big": "x".repeat(70_000)})).is_none());
    }
}
