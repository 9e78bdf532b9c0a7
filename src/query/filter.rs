//! The DynamoDB filter expression of a query: the conditions DynamoDB can check, as a filter
//! that selects a *superset* of the matching rows, because the evaluator always re-checks
//! every row: so any conjunct may be left out, a disjunction is pushed only whole, negations
//! are never pushed, and each pushed comparison also lets through values DynamoDB compares
//! differently from Mongo (e.g. `contains` for arrays). Names and values are always
//! parameterised, and the expression stays under DynamoDB's 4 KB.

use super::parse::{Cond, Expr};
use crate::codec::{nesting, parse_type, to_attr, MAX_NESTING};
use crate::store::Filter;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;
use std::collections::HashMap;

/// DynamoDB caps expressions at 4 KB; stay well below and leave the rest to the evaluator.
const MAX_FILTER_CHARS: usize = 3000;
const MAX_IN_OPERANDS: usize = 100;

struct Builder {
    names: HashMap<String, String>,
    name_ids: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Builder {
    fn name(&mut self, n: &str) -> String {
        if let Some(id) = self.name_ids.get(n) {
            return id.clone();
        }
        let id = format!("#n{}", self.names.len());
        self.names.insert(id.clone(), n.to_string());
        self.name_ids.insert(n.to_string(), id.clone());
        id
    }
    fn path(&mut self, p: &[String]) -> String {
        p.iter().map(|s| self.name(s)).collect::<Vec<_>>().join(".")
    }
    fn value(&mut self, v: &Value) -> Option<String> {
        // A value DynamoDB would refuse (nested too deep) leaves its conjunct to the evaluator.
        let a = to_attr(v).ok().filter(|a| nesting(a) <= MAX_NESTING)?;
        let id = format!(":v{}", self.values.len());
        self.values.insert(id.clone(), a);
        Some(id)
    }
    /// Alternatives that let arrays on the path through to the evaluator.
    fn array_escapes(&mut self, p: &[String]) -> Vec<String> {
        if p.len() == 1 {
            return vec![];
        }
        let l = self.value(&Value::String("L".into())).unwrap_or_default();
        (1..p.len())
            .map(|i| format!("attribute_type({}, {l})", self.path(&p[..i])))
            .collect()
    }
}

/// A filter expression tree, rendered with only the parentheses DynamoDB needs (it rejects
/// redundant ones). AND binds tighter than OR.
#[derive(Debug, Clone)]
enum F {
    Atom(String),
    And(Vec<F>),
    Or(Vec<F>),
}

impl F {
    fn and(parts: Vec<F>) -> F {
        let mut flat = Vec::new();
        for p in parts {
            match p {
                F::And(v) => flat.extend(v),
                other => flat.push(other),
            }
        }
        if flat.len() == 1 {
            flat.pop().unwrap_or(F::Or(vec![]))
        } else {
            F::And(flat)
        }
    }
    fn or(parts: Vec<F>) -> F {
        let mut flat = Vec::new();
        for p in parts {
            match p {
                F::Or(v) => flat.extend(v),
                other => flat.push(other),
            }
        }
        if flat.len() == 1 {
            flat.pop().unwrap_or(F::Or(vec![]))
        } else {
            F::Or(flat)
        }
    }
    fn render(&self) -> String {
        match self {
            F::Atom(s) => s.clone(),
            F::Or(v) => v.iter().map(F::render).collect::<Vec<_>>().join(" OR "),
            F::And(v) => v
                .iter()
                .map(|c| match c {
                    F::Or(_) => format!("({})", c.render()),
                    _ => c.render(),
                })
                .collect::<Vec<_>>()
                .join(" AND "),
        }
    }
}

/// The filter expression of a query (its conjuncts, `Normal::conjuncts`), or None when
/// DynamoDB can check none of it.
pub fn filter(conjuncts: &[&Expr]) -> Option<Filter> {
    let mut b = Builder {
        names: HashMap::new(),
        name_ids: HashMap::new(),
        values: HashMap::new(),
    };
    let mut parts: Vec<F> = Vec::new();
    let mut len = 0;
    for &c in conjuncts {
        let snapshot = (b.names.clone(), b.name_ids.clone(), b.values.clone());
        match push(&mut b, c) {
            Some(f) if len + f.render().len() + 7 <= MAX_FILTER_CHARS => {
                len += f.render().len() + 7;
                parts.push(f);
            }
            _ => {
                // Left to the evaluator: forget the names/values this conjunct registered.
                (b.names, b.name_ids, b.values) = snapshot;
            }
        }
    }
    if parts.is_empty() {
        return None;
    }
    Some(Filter {
        expression: F::and(parts).render(),
        names: b.names,
        values: b.values,
    })
}

fn scalar(v: &Value) -> bool {
    matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_))
}

/// A superset condition for `e`, or None when DynamoDB cannot help.
fn push(b: &mut Builder, e: &Expr) -> Option<F> {
    match e {
        Expr::And(v) => {
            // A conjunct left out must not leave its names and values behind.
            let parts: Vec<F> = v
                .iter()
                .filter_map(|c| {
                    let snapshot = (b.names.clone(), b.name_ids.clone(), b.values.clone());
                    let f = push(b, c);
                    if f.is_none() {
                        (b.names, b.name_ids, b.values) = snapshot;
                    }
                    f
                })
                .collect();
            if parts.is_empty() {
                None
            } else {
                Some(F::and(parts))
            }
        }
        Expr::Or(v) => {
            let parts = v.iter().map(|c| push(b, c)).collect::<Option<Vec<F>>>()?;
            if parts.is_empty() {
                return None;
            }
            Some(F::or(parts))
        }
        Expr::Field(p, cond) => push_field(b, p, cond),
        Expr::True | Expr::Nor(_) => None,
    }
}

fn push_field(b: &mut Builder, p: &[String], cond: &Cond) -> Option<F> {
    if p.len() > MAX_NESTING {
        // A document path deeper than DynamoDB's nesting: left to the evaluator.
        return None;
    }
    if p.len() == 1 && p[0] == "objectId" {
        // objectId lives in the sort key, which DynamoDB filter expressions may not name.
        return None;
    }
    let mut alts: Vec<String> = match cond {
        Cond::Eq(v) => eq_alternatives(b, p, v)?,
        Cond::In(list) if !list.is_empty() => {
            let mut alts = Vec::new();
            let plain: Vec<&Value> = list.iter().filter(|v| scalar(v)).collect();
            for v in list.iter().filter(|v| !scalar(v)) {
                alts.extend(eq_alternatives(b, p, v)?);
            }
            let path = b.path(p);
            for chunk in plain.chunks(MAX_IN_OPERANDS) {
                let ids: Vec<String> = chunk.iter().map(|v| b.value(v)).collect::<Option<_>>()?;
                alts.push(format!("{path} IN ({})", ids.join(", ")));
                for id in ids {
                    alts.push(format!("contains({path}, {id})"));
                }
            }
            if plain.iter().any(|v| v.is_string()) {
                // Pointers (or arrays of them) queried by plain objectIds.
                let m = b.value(&Value::String("M".into()))?;
                let l = b.value(&Value::String("L".into()))?;
                alts.push(format!("attribute_type({path}, {m})"));
                alts.push(format!("attribute_type({path}, {l})"));
            }
            alts
        }
        Cond::Lt(v) | Cond::Lte(v) | Cond::Gt(v) | Cond::Gte(v) => {
            let op = match cond {
                Cond::Lt(_) => "<",
                Cond::Lte(_) => "<=",
                Cond::Gt(_) => ">",
                _ => ">=",
            };
            let (path, val) = if let (Some("Date"), Some(iso)) = (parse_type(v), v.get("iso")) {
                let mut dp = p.to_vec();
                dp.push("iso".into());
                (b.path(&dp), iso.clone())
            } else if matches!(v, Value::String(_) | Value::Number(_)) {
                (b.path(p), v.clone())
            } else {
                return None;
            };
            let id = b.value(&val)?;
            let l = b.value(&Value::String("L".into()))?;
            let mut alts = vec![
                format!("{path} {op} {id}"),
                format!("attribute_type({}, {l})", b.path(p)),
            ];
            // An ISO string also compares with stored dates (the evaluator allows it).
            if let Some(iso) = v.as_str().and_then(|s| crate::codec::normalize_iso(s).ok()) {
                let mut dp = p.to_vec();
                dp.push("iso".into());
                let iso_id = b.value(&Value::String(iso))?;
                alts.push(format!("{} {op} {iso_id}", b.path(&dp)));
            }
            alts
        }
        Cond::Exists(true) => vec![format!("attribute_exists({})", b.path(p))],
        Cond::Exists(false) if p.len() == 1 => vec![format!("attribute_not_exists({})", b.path(p))],
        Cond::Regex(pat) => {
            let prefix = literal_prefix(&pat.source, &pat.flags)?;
            let id = b.value(&Value::String(prefix))?;
            let path = b.path(p);
            let l = b.value(&Value::String("L".into()))?;
            vec![
                format!("begins_with({path}, {id})"),
                format!("attribute_type({path}, {l})"),
            ]
        }
        _ => return None,
    };
    alts.extend(b.array_escapes(p));
    Some(F::or(alts.into_iter().map(F::Atom).collect()))
}

fn eq_alternatives(b: &mut Builder, p: &[String], v: &Value) -> Option<Vec<String>> {
    if v.is_null() {
        // Mongo: null matches a missing field, a null, or an array holding null.
        let path = b.path(p);
        let null = b.value(&Value::String("NULL".into()))?;
        let l = b.value(&Value::String("L".into()))?;
        return Some(vec![
            format!("attribute_not_exists({path})"),
            format!("attribute_type({path}, {null})"),
            format!("attribute_type({path}, {l})"),
        ]);
    }
    if scalar(v) {
        let path = b.path(p);
        let id = b.value(v)?;
        let mut alts = vec![format!("{path} = {id}"), format!("contains({path}, {id})")];
        if v.is_string() {
            // A Pointer (or an array of them) queried by its plain objectId.
            let mut pp = p.to_vec();
            pp.push("objectId".into());
            alts.push(format!("{} = {id}", b.path(&pp)));
            let l = b.value(&Value::String("L".into()))?;
            alts.push(format!("attribute_type({path}, {l})"));
        }
        return Some(alts);
    }
    let (sub, key) = match parse_type(v) {
        Some("Pointer") => ("objectId", v.get("objectId")?),
        Some("Date") => ("iso", v.get("iso")?),
        _ => return None,
    };
    let mut dp = p.to_vec();
    dp.push(sub.into());
    let sub_path = b.path(&dp);
    let id = b.value(key)?;
    let l = b.value(&Value::String("L".into()))?;
    Some(vec![
        format!("{sub_path} = {id}"),
        format!("attribute_type({}, {l})", b.path(p)),
    ])
}

/// The literal text every match must start with (`^abc…`), when the regex guarantees one.
pub fn literal_prefix(src: &str, flags: &str) -> Option<String> {
    if flags.contains('i') || flags.contains('m') {
        return None;
    }
    let body = src.strip_prefix('^')?;
    let mut out = String::new();
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(n) if "\\^$.|?*+()[]{}/-".contains(n) => out.push(n),
                _ => break,
            },
            '.' | '[' | '(' | '|' | '$' => break,
            '?' | '*' | '{' => {
                // The previous char was optional.
                out.pop();
                break;
            }
            '+' => break,
            c => out.push(c),
        }
        if let Some('?' | '*' | '{') = chars.peek() {
            out.pop();
            break;
        }
    }
    if body.contains('|') || out.is_empty() {
        None
    } else {
        Some(out)
    }
}

/// The literal texts every match of regex `src` contains, each of the longest runs of literal
/// characters outside groups, classes and optional parts (`ab?c` requires `a` and `c`, not
/// `b`): what a trigram index can look up. None when the regex has an alternation outside a
/// group (its branches require different texts).
pub fn required_literals(src: &str) -> Option<Vec<String>> {
    let mut runs = Vec::new();
    let mut cur = String::new();
    let mut chars = src.chars().peekable();
    let end = |cur: &mut String, runs: &mut Vec<String>| {
        if !cur.is_empty() {
            runs.push(std::mem::take(cur));
        }
    };
    while let Some(c) = chars.next() {
        let literal = match c {
            '\\' => match chars.next() {
                Some(n) if !n.is_ascii_alphanumeric() => Some(n),
                _ => None,
            },
            '|' => return None,
            '[' => {
                skip_class(&mut chars);
                None
            }
            '(' => {
                skip_group(&mut chars);
                None
            }
            '?' | '*' | '{' => {
                // The atom before was optional (or repeated from zero): not required.
                cur.pop();
                if c == '{' {
                    for n in chars.by_ref() {
                        if n == '}' {
                            break;
                        }
                    }
                }
                None
            }
            '.' | '^' | '$' | '+' | ')' | ']' | '}' => None,
            c => Some(c),
        };
        match literal {
            Some(l) => cur.push(l),
            None => end(&mut cur, &mut runs),
        }
    }
    end(&mut cur, &mut runs);
    Some(runs)
}

/// Skips a character class after its `[`.
fn skip_class(chars: &mut std::iter::Peekable<std::str::Chars>) {
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            ']' => return,
            _ => {}
        }
    }
}

/// Skips a group after its `(`, nested groups and classes included.
fn skip_group(chars: &mut std::iter::Peekable<std::str::Chars>) {
    let mut depth = 1;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '[' => skip_class(chars),
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return;
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::parse_query;
    use serde_json::json;

    fn pf(q: Value) -> Option<Filter> {
        let e = parse_query(&q, false).unwrap();
        filter(&crate::query::parse::conjuncts(&e))
    }

    #[test]
    fn key_attributes_never_appear_in_filters() {
        let f = pf(json!({"$or": [{"objectId": {"$in": ["a"]}}, {"x": 1}], "y": 2})).unwrap();
        assert!(
            !f.names
                .values()
                .any(|n| n == crate::codec::SK || n == "objectId"),
            "{f:?}"
        );
    }

    #[test]
    fn negations_and_nor_are_not_pushed() {
        assert!(pf(json!({"a": {"$ne": 1}})).is_none());
        assert!(pf(json!({"$nor": [{"a": 1}]})).is_none());
        assert!(pf(json!({"$or": [{"a": 1}, {"b": {"$ne": 2}}]})).is_none());
    }

    #[test]
    fn huge_in_is_left_to_the_evaluator() {
        let vals: Vec<Value> = (0..2000).map(|i| json!(format!("v{i}"))).collect();
        let f = pf(json!({"a": {"$in": vals}, "b": 1})).unwrap();
        assert!(f.expression.len() < 4096);
        assert!(f.values.len() < 10);
    }

    #[test]
    fn no_redundant_parentheses() {
        let f = pf(json!({"$or": [{"a": 1}, {"b": {"$gt": 2}, "c": 3}], "d": "x"})).unwrap();
        assert!(!f.expression.contains("(("), "{}", f.expression);
        assert!(f.expression.starts_with('('), "{}", f.expression);
        let f = pf(json!({"a": {"$exists": true}})).unwrap();
        assert_eq!(f.expression, "attribute_exists(#n0)");
    }

    #[test]
    fn literal_prefixes() {
        assert_eq!(literal_prefix("^abc", ""), Some("abc".into()));
        assert_eq!(literal_prefix("^ab?c", ""), Some("a".into()));
        assert_eq!(literal_prefix("^a\\.b.*", ""), Some("a.b".into()));
        assert_eq!(literal_prefix("abc", ""), None);
        assert_eq!(literal_prefix("^abc", "i"), None);
        assert_eq!(literal_prefix("^a|b", ""), None);
    }

    #[test]
    fn required_literal_runs() {
        let runs = |s: &str| required_literals(s).map(|v| v.join("|"));
        assert_eq!(runs("abc"), Some("abc".into()));
        assert_eq!(runs("ab?cd"), Some("a|cd".into()));
        assert_eq!(runs("ab*c{0,2}de"), Some("a|de".into()));
        assert_eq!(runs("a\\.b.c$"), Some("a.b|c".into()));
        assert_eq!(runs("xy(a|b)z[pq]w"), Some("xy|z|w".into()));
        assert_eq!(runs("a+bc\\dz"), Some("a|bc|z".into()));
        assert_eq!(runs("ab|cd"), None);
    }
}
