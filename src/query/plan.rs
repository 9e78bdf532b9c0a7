//! What DynamoDB does for a query. `plan` picks the access path (GetItem for one objectId,
//! BatchGetItem for an objectId `$in`, otherwise a Query on the class partition) and builds a
//! filter expression from the conditions DynamoDB can check. The filter only has to select a
//! *superset* of the matching rows, because the evaluator always re-checks every row: so any
//! conjunct may be left out, a disjunction is pushed only whole, negations are never pushed,
//! and each pushed comparison also lets through values DynamoDB compares differently from
//! Mongo (e.g. `contains` for arrays). Names and values are always parameterised.

use super::parse::{Cond, Expr};
use crate::codec::{parse_type, to_attr};
use crate::index::{self, lookup_text, prefix_range, range_for, sortable, Kind, SkRange};
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;
use std::collections::HashMap;

/// DynamoDB caps expressions at 4 KB; stay well below and leave the rest to the evaluator.
const MAX_FILTER_CHARS: usize = 3000;
const MAX_IN_OPERANDS: usize = 100;
/// Most index Queries one `$in` is answered with before the planner reads the partition instead.
const MAX_INDEX_LOOKUPS: usize = 32;

#[derive(Debug, Clone, PartialEq)]
pub enum Access {
    /// The only candidates are these keys (GetItem / BatchGetItem).
    Keys(Vec<String>),
    /// The only candidates are found by these lookups (objectIds, and values of unique fields
    /// through their sentinel items `~u:<class>:<field>` / `sk`): e.g. a login's
    /// `{$or: [{username}, {email}]}`.
    Lookups(Vec<Lookup>),
    /// Relation rows (`_Join:…`) of these owning objects: sort keys `<owningId>:…`.
    JoinOwning(Vec<String>),
    /// Relation rows of these related objects, read from their mirror partition.
    JoinRelated(Vec<String>),
    /// Query the class partition.
    Partition,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Lookup {
    Key(String),
    Unique {
        field: String,
        sk: String,
    },
    /// Entries of index `spec` (`field` or `field:ci`) in this key range.
    Index {
        spec: String,
        range: SkRange,
    },
}

#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub expression: String,
    pub names: HashMap<String, String>,
    pub values: HashMap<String, AttributeValue>,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub access: Access,
    pub filter: Option<Filter>,
}

pub fn plan(expr: &Expr) -> Plan {
    plan_with(expr, &[])
}

/// Plans with the class's unique fields known, so an equality on one of them is a key lookup.
pub fn plan_with(expr: &Expr, unique_fields: &[String]) -> Plan {
    plan_indexed(expr, unique_fields, &[])
}

/// Plans with the class's unique fields and indexes (`field` / `field:ci`) known.
pub fn plan_indexed(expr: &Expr, unique_fields: &[String], indexes: &[String]) -> Plan {
    let known = Known {
        unique_fields,
        indexes,
    };
    let access = match access(expr) {
        Access::Partition => lookups(expr, &known)
            .map(Access::Lookups)
            .unwrap_or(Access::Partition),
        a => a,
    };
    Plan {
        access,
        filter: filter(expr),
    }
}

/// For relation rows: an equality or `$in` on `owningId` or `relatedId` (the rest of the query
/// is checked by the evaluator). Only meaningful for `_Join` classes, whose keys are
/// `<owningId>:<relatedId>`; the caller uses it only there.
pub fn join_access(expr: &Expr) -> Option<Access> {
    let ids = |c: &Cond| -> Option<Vec<String>> {
        match c {
            Cond::Eq(Value::String(s)) => Some(vec![s.clone()]),
            Cond::In(l) if l.iter().all(Value::is_string) => Some(
                l.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect(),
            ),
            _ => None,
        }
    };
    let cs = conjuncts(expr);
    let find = |name: &str| {
        cs.iter().find_map(|c| match c {
            Expr::Field(p, cond) if p.len() == 1 && p[0] == name => ids(cond),
            _ => None,
        })
    };
    find("owningId")
        .map(Access::JoinOwning)
        .or_else(|| find("relatedId").map(Access::JoinRelated))
}

/// Lookups that find every row `e` can match, when there are such (objectId equality or
/// `$in`, equality on a unique field; a conjunction needs one such conjunct, a disjunction
/// needs them in every branch).
struct Known<'a> {
    unique_fields: &'a [String],
    indexes: &'a [String],
}

impl Known<'_> {
    /// The registered index on `field` of the first of `kinds` there is.
    fn index_of(&self, field: &str, kinds: &[Kind]) -> Option<String> {
        kinds
            .iter()
            .map(|k| index::spec(field, *k))
            .find(|s| self.indexes.contains(s))
    }
}

fn index_lookups(field: &str, vals: &[&Value], ci: bool, known: &Known) -> Option<Vec<Lookup>> {
    let kinds: &[Kind] = if ci {
        &[Kind::CaseInsensitive]
    } else {
        &[Kind::Ordered, Kind::Lookup]
    };
    let spec = known.index_of(field, kinds)?;
    vals.iter()
        .map(|v| {
            Some(Lookup::Index {
                spec: spec.clone(),
                range: SkRange::exact(&lookup_text(v, ci)?),
            })
        })
        .collect()
}

fn lookups(e: &Expr, known: &Known) -> Option<Vec<Lookup>> {
    let unique_fields = known.unique_fields;
    match e {
        Expr::Field(p, Cond::Eq(Value::String(s))) if is_object_id(p) => {
            Some(vec![Lookup::Key(s.clone())])
        }
        Expr::Field(p, Cond::In(list)) if is_object_id(p) => Some(
            list.iter()
                .filter_map(|v| v.as_str().map(|s| Lookup::Key(s.to_string())))
                .collect(),
        ),
        Expr::Field(p, Cond::Eq(v @ (Value::String(_) | Value::Number(_) | Value::Bool(_)))) => {
            let field = p.join(".");
            if !unique_fields.contains(&field) {
                return index_lookups(&field, &[v], false, known);
            }
            Some(vec![Lookup::Unique {
                sk: sentinel_key(v)?,
                field,
            }])
        }
        Expr::Field(p, Cond::Eq(v)) if matches!(parse_type(v), Some("Pointer" | "Date")) => {
            index_lookups(&p.join("."), &[v], false, known)
        }
        // Each value is one Query on the index; past a few dozen, one partition read is cheaper.
        Expr::Field(p, Cond::In(list))
            if !list.is_empty()
                && list.len() <= MAX_INDEX_LOOKUPS
                && list.iter().all(|v| !v.is_null()) =>
        {
            let vals: Vec<&Value> = list.iter().collect();
            index_lookups(&p.join("."), &vals, false, known)
        }
        Expr::Field(p, Cond::EqCi(s)) => {
            let v = Value::String(s.clone());
            index_lookups(&p.join("."), &[&v], true, known)
        }
        Expr::Field(
            p,
            c @ (Cond::Gt(_) | Cond::Gte(_) | Cond::Lt(_) | Cond::Lte(_) | Cond::Regex(_)),
        ) => range_lookup(&p.join("."), &[c], known),
        // Equalities first (fewest rows), then one field's bounds together.
        Expr::And(v) => v
            .iter()
            .filter(|c| range_cond(c).is_none())
            .find_map(|c| lookups(c, known))
            .or_else(|| {
                let ranges: Vec<(String, &Cond)> = v.iter().filter_map(range_cond).collect();
                ranges.iter().find_map(|(field, _)| {
                    let conds: Vec<&Cond> = ranges
                        .iter()
                        .filter(|(f, _)| f == field)
                        .map(|(_, c)| *c)
                        .collect();
                    range_lookup(field, &conds, known)
                })
            }),
        Expr::Or(v) if !v.is_empty() => {
            let mut all = Vec::new();
            for c in v {
                for l in lookups(c, known)? {
                    if !all.contains(&l) {
                        all.push(l);
                    }
                }
            }
            Some(all)
        }
        _ => None,
    }
}

fn range_cond(e: &Expr) -> Option<(String, &Cond)> {
    match e {
        Expr::Field(
            p,
            c @ (Cond::Gt(_) | Cond::Gte(_) | Cond::Lt(_) | Cond::Lte(_) | Cond::Regex(_)),
        ) => Some((p.join("."), c)),
        _ => None,
    }
}

/// An index range holding every value that meets all of `conds` (bounds and `^literal`
/// regexes on one field), when the field is indexed and the bound is of an ordered type. Only
/// one bound is used: an array can meet `$gt` with one element and `$lt` with another, so
/// the two bounds together do not bound its entries.
fn range_key(conds: &[&Cond]) -> Option<SkRange> {
    let mut lo = None;
    let mut hi = None;
    for c in conds {
        match c {
            Cond::Gt(v) | Cond::Gte(v) => lo = lo.or(Some(v)),
            Cond::Lt(v) | Cond::Lte(v) => hi = hi.or(Some(v)),
            Cond::Regex(p) => {
                if let Some(prefix) = literal_prefix(&p.source, &p.flags) {
                    return Some(prefix_range(&prefix));
                }
            }
            _ => {}
        }
    }
    match (lo, hi) {
        (Some(l), _) => range_for(Some(l), None),
        (None, Some(h)) => range_for(None, Some(h)),
        _ => None,
    }
}

fn range_lookup(field: &str, conds: &[&Cond], known: &Known) -> Option<Vec<Lookup>> {
    // Lookup entries hold every element's value, so a lookup-only index serves ranges too.
    let spec = known.index_of(field, &[Kind::Ordered, Kind::Lookup])?;
    Some(vec![Lookup::Index {
        spec,
        range: range_key(conds)?,
    }])
}

/// The range of `field`'s index to read in order for a query sorted by that field alone: the
/// query's own bounds on it, or the whole index. None when the index cannot serve the sort.
pub fn sort_range(expr: &Expr, indexes: &[String], field: &str) -> Option<SkRange> {
    if !sortable(field) || !indexes.iter().any(|s| s == field) {
        return None;
    }
    let conds: Vec<&Cond> = conjuncts(expr)
        .into_iter()
        .filter_map(range_cond)
        .filter(|(f, _)| f == field)
        .map(|(_, c)| c)
        .collect();
    Some(range_key(&conds).unwrap_or_else(SkRange::all))
}

/// The sort key of the sentinel item of a unique value (`=` + its text; None if too long).
pub fn sentinel_key(v: &Value) -> Option<String> {
    let text = match v {
        Value::String(s) => s.clone(),
        other => serde_json::to_string(other).ok()?,
    };
    (text.len() <= 1000).then(|| format!("={text}"))
}

fn conjuncts(expr: &Expr) -> Vec<&Expr> {
    match expr {
        Expr::And(v) => v.iter().flat_map(conjuncts).collect(),
        Expr::True => vec![],
        e => vec![e],
    }
}

/// The access path when it is key reads alone (`objectId` equality or `$in` in a conjunct):
/// then neither the class's indexes nor a filter expression matter.
pub fn key_access(expr: &Expr) -> Option<Vec<String>> {
    match access(expr) {
        Access::Keys(k) => Some(k),
        _ => None,
    }
}

fn access(expr: &Expr) -> Access {
    let mut keys: Option<Vec<String>> = None;
    for c in conjuncts(expr) {
        let ids: Option<Vec<String>> = match c {
            Expr::Field(p, Cond::Eq(Value::String(s))) if is_object_id(p) => Some(vec![s.clone()]),
            Expr::Field(p, Cond::In(list)) if is_object_id(p) => Some(
                list.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect(),
            ),
            _ => None,
        };
        if let Some(ids) = ids {
            keys = Some(match keys {
                None => ids,
                Some(prev) => prev.into_iter().filter(|k| ids.contains(k)).collect(),
            });
        }
    }
    match keys {
        Some(mut k) => {
            k.sort();
            k.dedup();
            k.retain(|s| !s.is_empty());
            Access::Keys(k)
        }
        None => Access::Partition,
    }
}

fn is_object_id(p: &[String]) -> bool {
    p.len() == 1 && p[0] == "objectId"
}

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
        let a = to_attr(v).ok()?;
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

fn filter(expr: &Expr) -> Option<Filter> {
    let mut b = Builder {
        names: HashMap::new(),
        name_ids: HashMap::new(),
        values: HashMap::new(),
    };
    let mut parts: Vec<F> = Vec::new();
    let mut len = 0;
    for c in conjuncts(expr) {
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
fn literal_prefix(src: &str, flags: &str) -> Option<String> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::parse_query;
    use serde_json::json;

    fn p(q: Value) -> Plan {
        plan(&parse_query(&q, false).unwrap())
    }

    #[test]
    fn object_id_lookups_are_key_access() {
        assert_eq!(
            p(json!({"objectId": "a"})).access,
            Access::Keys(vec!["a".into()])
        );
        assert_eq!(
            p(json!({"objectId": {"$in": ["b", "a"]}})).access,
            Access::Keys(vec!["a".into(), "b".into()])
        );
        assert_eq!(p(json!({"x": 1})).access, Access::Partition);
    }

    #[test]
    fn key_attributes_never_appear_in_filters() {
        let plan = p(json!({"$or": [{"objectId": {"$in": ["a"]}}, {"x": 1}], "y": 2}));
        let f = plan.filter.unwrap();
        assert!(
            !f.names
                .values()
                .any(|n| n == crate::codec::SK || n == "objectId"),
            "{f:?}"
        );
    }

    #[test]
    fn unique_fields_and_ors_of_them_are_lookups() {
        let uniques = vec!["username".to_string(), "email".to_string()];
        let q = parse_query(
            &json!({"$or": [{"username": "a"}, {"email": "a"}], "_rperm": {"$in": ["*"]}}),
            false,
        )
        .unwrap();
        match plan_with(&q, &uniques).access {
            Access::Lookups(l) => assert_eq!(l.len(), 2),
            other => panic!("{other:?}"),
        }
        let q = parse_query(&json!({"$or": [{"username": "a"}, {"name": "a"}]}), false).unwrap();
        assert_eq!(plan_with(&q, &uniques).access, Access::Partition);
    }

    #[test]
    fn large_in_on_an_indexed_field_reads_the_partition() {
        let idx = vec!["n".to_string()];
        let few = parse_query(&json!({"n": {"$in": [1, 2, 3]}}), false).unwrap();
        assert!(matches!(
            plan_indexed(&few, &[], &idx).access,
            Access::Lookups(_)
        ));
        let many: Vec<Value> = (0..500).map(|i| json!(i)).collect();
        let many = parse_query(&json!({"n": {"$in": many}}), false).unwrap();
        assert_eq!(plan_indexed(&many, &[], &idx).access, Access::Partition);
    }

    #[test]
    fn negations_and_nor_are_not_pushed() {
        assert!(p(json!({"a": {"$ne": 1}})).filter.is_none());
        assert!(p(json!({"$nor": [{"a": 1}]})).filter.is_none());
        assert!(p(json!({"$or": [{"a": 1}, {"b": {"$ne": 2}}]}))
            .filter
            .is_none());
    }

    #[test]
    fn huge_in_is_left_to_the_evaluator() {
        let vals: Vec<Value> = (0..2000).map(|i| json!(format!("v{i}"))).collect();
        let f = p(json!({"a": {"$in": vals}, "b": 1})).filter.unwrap();
        assert!(f.expression.len() < 4096);
        assert!(f.values.len() < 10);
    }

    #[test]
    fn no_redundant_parentheses() {
        let f = p(json!({"$or": [{"a": 1}, {"b": {"$gt": 2}, "c": 3}], "d": "x"}))
            .filter
            .unwrap();
        assert!(!f.expression.contains("(("), "{}", f.expression);
        assert!(f.expression.starts_with('('), "{}", f.expression);
        let f = p(json!({"a": {"$exists": true}})).filter.unwrap();
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
}
