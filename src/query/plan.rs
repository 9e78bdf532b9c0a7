//! What to read for a query, as data: `plan_read` picks the access path (GetItem for one
//! objectId, BatchGetItem for an objectId `$in`, sentinel and index lookups, relation key
//! ranges, an index read in sort order, otherwise a Query on the class partition) and adds the
//! filter expression `filter` builds for a partition Query. It reads nothing itself: `exec`
//! runs the plan, and the evaluator re-checks every row it reads, so the access path only has
//! to find a superset of the matches.

use super::filter::{filter, literal_prefix};
use super::parse::{conjuncts, Cond, Expr};
use crate::codec::parse_type;
use crate::index::{self, lookup_text, prefix_range, range_for, sortable, Kind, SkRange};
use crate::layout::{sentinel_key, Kept};
pub use crate::store::Filter;
use serde_json::Value;

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
    /// Read index `spec` in the order of `field` (forwards when `ascending`) over `ranges`,
    /// one after the other, fetching the objects its entries name, until the rows a sorted,
    /// limited find answers are known (see `exec`). Every sort key read starts with `prefix`
    /// (a compound index's lead value; empty for a single-field index), and orders by what
    /// follows it.
    InOrder {
        spec: String,
        field: String,
        prefix: String,
        ranges: Vec<SkRange>,
        ascending: bool,
    },
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
    plan_known(
        expr,
        &Known {
            unique_fields,
            indexes,
            scalars: &[],
        },
    )
}

fn plan_known(expr: &Expr, known: &Known) -> Plan {
    let access = match access(expr) {
        Access::Partition => lookups(expr, known)
            .map(Access::Lookups)
            .unwrap_or(Access::Partition),
        a => a,
    };
    Plan {
        access,
        filter: filter(expr),
    }
}

/// A find sorted by one top-level field, with a limit: it may be read in order from that
/// field's index.
#[derive(Debug, Clone)]
pub struct SortHint {
    pub field: String,
    pub ascending: bool,
}

/// What is known of a class beyond its registries.
#[derive(Debug, Clone, Default)]
pub struct ClassFacts {
    /// A relation class (`_Join:…`), whose rows are keyed `<owningId>:<relatedId>`.
    pub join: bool,
    /// Fields the schema says hold one ordered value, never an array (String, Number, Date,
    /// Boolean): both bounds of a range on them bound their index entries.
    pub scalars: Vec<String>,
}

/// The plan of a read of `expr` from a class that keeps `kept`, sorted as `sort` says when
/// that is one indexed field. Key reads win; then, for relation classes, key ranges of their
/// rows; then an index read in sort order when no lookup reads fewer rows; then lookups; then
/// the partition.
pub fn plan_read(expr: &Expr, kept: &Kept, facts: &ClassFacts, sort: Option<&SortHint>) -> Plan {
    if let Some(p) = key_plan(expr) {
        return p;
    }
    let ready = (kept.ready(), kept.ready_unique());
    let known = Known::of(facts, &ready);
    let mut p = plan_known(expr, &known);
    if facts.join {
        if p.access == Access::Partition {
            p.access = join_access(expr).unwrap_or(Access::Partition);
        }
    } else if let Some(access) = sort.and_then(|h| in_order(expr, &p.access, &known, h)) {
        p.access = access;
    }
    p
}

/// The index that would serve a read of `expr` (sorted as `sort` says) which had to read the
/// class partition: with a sort, the compound index of an equality field and the sort field,
/// or the sort field's own; without, the field of the first conjunct an index serves
/// (equality or `$in` before a range or `^prefix`). Never the key, the ACL lists or paths
/// through arrays of objects. None when nothing in the query can use an index.
pub fn wanted_index(expr: &Expr, sort: Option<&SortHint>) -> Option<String> {
    let indexable = |p: &[String]| {
        let f = p.join(".");
        let internal = matches!(f.as_str(), "objectId" | "_rperm" | "_wperm");
        (!internal && !f.starts_with('$')).then_some(f)
    };
    let cs = conjuncts(expr);
    let equality = cs.iter().find_map(|c| match c {
        Expr::Field(p, Cond::Eq(v)) if lookup_text(v, false).is_some() => indexable(p),
        _ => None,
    });
    if let Some(h) =
        sort.filter(|h| sortable(&h.field) && indexable(std::slice::from_ref(&h.field)).is_some())
    {
        return Some(match equality {
            Some(e) if e != h.field => index::compound_spec(&e, &h.field),
            _ => h.field.clone(),
        });
    }
    let lookup = cs.iter().find_map(|c| match c {
        Expr::Field(p, Cond::In(l))
            if !l.is_empty()
                && l.len() <= MAX_INDEX_LOOKUPS
                && l.iter().all(|v| lookup_text(v, false).is_some()) =>
        {
            indexable(p)
        }
        _ => None,
    });
    equality.or(lookup).or_else(|| {
        cs.iter().find_map(|c| {
            let (field, cond) = range_cond(c)?;
            range_key(&[cond], false)?;
            indexable(&[field])
        })
    })
}

/// The indexes that would serve a read of `expr`, best first: `wanted_index`, else for an
/// `$or` (served only when every branch has an index) each branch's own, so a class read for
/// `{$or: [{installationId}, {deviceToken}]}` (Parse's installation check) gets both in turn.
pub fn wanted_indexes(expr: &Expr, sort: Option<&SortHint>) -> Vec<String> {
    if let Some(one) = wanted_index(expr, sort) {
        return vec![one];
    }
    let mut out = Vec::new();
    for c in conjuncts(expr) {
        if let Expr::Or(branches) = c {
            for b in branches {
                for w in wanted_indexes(b, None) {
                    if !out.contains(&w) {
                        out.push(w);
                    }
                }
            }
        }
    }
    out
}

/// The in-order index read for a sort on `h.field`, when an index can serve it and no key,
/// unique-value or other lookup answers the query (those read fewer rows): a compound index
/// led by a field the query fixes by equality, else the field's own index.
fn in_order(expr: &Expr, access: &Access, known: &Known, h: &SortHint) -> Option<Access> {
    // A compound index reads only the fixed value's entries: fewer than the field's own index.
    if let Some(compound) = compound_in_order(expr, access, known, h) {
        return Some(compound);
    }
    if let Some(range) = sort_range(expr, known, &h.field) {
        let served = match access {
            Access::Partition => true,
            Access::Lookups(l) => {
                matches!(l.as_slice(), [Lookup::Index { spec, range: r }] if *spec == h.field && *r == range)
            }
            _ => false,
        };
        return served.then(|| Access::InOrder {
            spec: h.field.clone(),
            field: h.field.clone(),
            prefix: String::new(),
            ranges: with_arrays(range, "", known, h),
            ascending: h.ascending,
        });
    }
    None
}

/// `range` of a field's order texts, after `prefix`, preceded by the arrays' group when arrays
/// sort before it: a bounded range holds no array's order entry, yet an array can match
/// through an element (not needed when the schema says the field holds no arrays).
fn with_arrays(range: SkRange, prefix: &str, known: &Known, h: &SortHint) -> Vec<SkRange> {
    let after = |r: SkRange| SkRange {
        from: format!("{prefix}{}", r.from),
        to: format!("{prefix}{}", r.to),
    };
    let mut ranges = Vec::new();
    if range != SkRange::all() && !known.scalar(&h.field) {
        let tag = range.from.chars().next().unwrap_or('0');
        if (h.ascending && tag > '4') || (!h.ascending && tag < '4') {
            ranges.push(after(SkRange::exact("4")));
        }
    }
    ranges.push(after(range));
    ranges
}

/// An in-order read of compound index `lead,<h.field>` within the entries of the `lead` value
/// the query fixes by equality (the feed query: `equalTo(author).descending(createdAt)`),
/// when no other lookup answers the query.
fn compound_in_order(expr: &Expr, access: &Access, known: &Known, h: &SortHint) -> Option<Access> {
    if !sortable(&h.field) {
        return None;
    }
    let cs = conjuncts(expr);
    known.indexes.iter().find_map(|spec| {
        let (lead, next) = index::compound(spec).filter(|(_, n)| *n == h.field)?;
        let text = cs.iter().find_map(|c| match c {
            Expr::Field(p, Cond::Eq(v)) if p.join(".") == lead => lookup_text(v, false),
            _ => None,
        })?;
        // Served: nothing else is planned, or only the lookup of that same lead value.
        let served = match access {
            Access::Partition => true,
            Access::Lookups(l) => matches!(l.as_slice(),
                [Lookup::Index { spec: s, range }]
                    if (s == spec || index::parse_spec(s).0 == lead) && *range == SkRange::exact(&text)),
            _ => false,
        };
        if !served {
            return None;
        }
        let conds: Vec<&Cond> = cs
            .iter()
            .filter_map(|c| range_cond(c))
            .filter(|(f, _)| f == next)
            .map(|(_, c)| c)
            .collect();
        let range = range_key(&conds, known.scalar(next)).unwrap_or_else(SkRange::all);
        let prefix = index::compound_prefix(&text);
        Some(Access::InOrder {
            spec: spec.clone(),
            field: next.to_string(),
            ranges: with_arrays(range, &prefix, known, h),
            prefix,
            ascending: h.ascending,
        })
    })
}

/// For relation rows: an equality or `$in` on `owningId` or `relatedId` (the rest of the query
/// is checked by the evaluator). Only meaningful for `_Join` classes, whose keys are
/// `<owningId>:<relatedId>`; the caller uses it only there.
fn join_access(expr: &Expr) -> Option<Access> {
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
    scalars: &'a [String],
}

impl<'a> Known<'a> {
    /// What a class keeps and is known to be, with `ready` (its indexes and unique fields
    /// queries may read).
    fn of(facts: &'a ClassFacts, ready: &'a (Vec<String>, Vec<String>)) -> Known<'a> {
        Known {
            unique_fields: &ready.1,
            indexes: &ready.0,
            scalars: &facts.scalars,
        }
    }

    /// Whether `field` never holds an array (see `ClassFacts::scalars`).
    fn scalar(&self, field: &str) -> bool {
        self.scalars.iter().any(|s| s == field)
    }

    /// The registered index on `field` of the first of `kinds` there is; where lookup entries
    /// do (`Kind::Lookup`), also a compound index led by `field`, whose entries start with
    /// the same lookup texts.
    fn index_of(&self, field: &str, kinds: &[Kind]) -> Option<String> {
        kinds
            .iter()
            .map(|k| index::spec(field, *k))
            .find(|s| self.indexes.contains(s))
            .or_else(|| {
                let led = |s: &&String| index::compound(s).is_some_and(|(lead, _)| lead == field);
                kinds
                    .contains(&Kind::Lookup)
                    .then(|| self.indexes.iter().find(led).cloned())
                    .flatten()
            })
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
/// regexes on one field), when the field is indexed and the bound is of an ordered type.
/// Both bounds are used only for a field that holds no arrays (`both`): an array can meet
/// `$gt` with one element and `$lt` with another, so the two bounds together do not bound
/// its entries; otherwise one bound is.
fn range_key(conds: &[&Cond], both: bool) -> Option<SkRange> {
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
        (Some(l), Some(h)) if both => {
            range_for(Some(l), Some(h)).or_else(|| range_for(Some(l), None))
        }
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
        range: range_key(conds, known.scalar(field))?,
    }])
}

/// The range of `field`'s index to read in order for a query sorted by that field alone: the
/// query's own bounds on it, or the whole index. None when the index cannot serve the sort.
fn sort_range(expr: &Expr, known: &Known, field: &str) -> Option<SkRange> {
    if !sortable(field) || !known.indexes.iter().any(|s| s == field) {
        return None;
    }
    let conds: Vec<&Cond> = conjuncts(expr)
        .into_iter()
        .filter_map(range_cond)
        .filter(|(f, _)| f == field)
        .map(|(_, c)| c)
        .collect();
    Some(range_key(&conds, known.scalar(field)).unwrap_or_else(SkRange::all))
}

/// For a count: an index range whose entries are exactly the matches of `expr`, one per object,
/// so counting them answers without reading objects. Only for one equality on a field the
/// schema says holds one value (no arrays), with a value whose entry text is exact (numbers,
/// booleans, Dates, Pointers, strings whose whole text an entry keeps and that do not read as
/// dates).
pub fn count_range(expr: &Expr, kept: &Kept, facts: &ClassFacts) -> Option<(String, SkRange)> {
    let [Expr::Field(p, Cond::Eq(v))] = conjuncts(expr).as_slice() else {
        return None;
    };
    let field = p.join(".");
    if !facts.scalars.contains(&field) {
        return None;
    }
    let exact = match v {
        Value::String(s) => index::whole_text(s) && crate::codec::normalize_iso(s).is_err(),
        Value::Number(n) => n.as_f64().is_some_and(f64::is_finite),
        Value::Bool(_) => true,
        Value::Object(_) => matches!(parse_type(v), Some("Pointer" | "Date")),
        _ => false,
    };
    if !exact {
        return None;
    }
    let ready = (kept.ready(), kept.ready_unique());
    let spec = Known::of(facts, &ready).index_of(&field, &[Kind::Ordered, Kind::Lookup])?;
    Some((spec, SkRange::exact(&lookup_text(v, false)?)))
}

/// The plan when it is key reads alone (`objectId` equality or `$in` in a conjunct): then
/// neither the class's registries nor a filter expression matter, so callers can plan it
/// before reading them.
pub fn key_plan(expr: &Expr) -> Option<Plan> {
    match access(expr) {
        access @ Access::Keys(_) => Some(Plan {
            access,
            filter: None,
        }),
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
    fn an_or_wants_an_index_for_each_branch() {
        // Parse's installation check: served once both fields have an index.
        let q = parse_query(
            &json!({"$or": [{"installationId": "i"}, {"deviceToken": "d"}]}),
            false,
        )
        .unwrap();
        assert_eq!(wanted_indexes(&q, None), ["installationId", "deviceToken"]);
        let both = vec!["installationId".to_string(), "deviceToken".to_string()];
        match plan_indexed(&q, &[], &both).access {
            Access::Lookups(l) => assert_eq!(l.len(), 2),
            other => panic!("{other:?}"),
        }
        let plain = parse_query(&json!({"a": 1, "$or": [{"b": 1}]}), false).unwrap();
        assert_eq!(wanted_indexes(&plain, None), ["a"]);
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
    fn plan_read_orders_its_access_paths() {
        let kept = Kept {
            indexes: vec!["score".into()],
            ..Kept::default()
        };
        let q = |v: Value| parse_query(&v, false).unwrap();
        let hint = |ascending| SortHint {
            field: "score".into(),
            ascending,
        };
        let facts = ClassFacts::default();
        let scalar = ClassFacts {
            join: false,
            scalars: vec!["score".into()],
        };
        let join = ClassFacts {
            join: true,
            scalars: vec![],
        };
        // Key reads win, also over a sort an index could serve.
        let p = plan_read(
            &q(json!({"objectId": "a"})),
            &kept,
            &facts,
            Some(&hint(true)),
        );
        assert_eq!(p.access, Access::Keys(vec!["a".into()]));
        // A sort on an indexed field reads its index in order; a bound above the array group
        // reads that group first when arrays are possible.
        let p = plan_read(
            &q(json!({"score": {"$gt": 5}})),
            &kept,
            &facts,
            Some(&hint(false)),
        );
        match p.access {
            Access::InOrder {
                spec,
                ranges,
                ascending,
                ..
            } => {
                assert_eq!((spec.as_str(), ascending), ("score", false));
                assert_eq!(ranges.len(), 2, "{ranges:?}");
                assert_eq!(ranges[0], SkRange::exact("4"));
            }
            other => panic!("{other:?}"),
        }
        // A field the schema says holds no arrays: no array group, and both bounds are used.
        let p = plan_read(
            &q(json!({"score": {"$gt": 5, "$lt": 9}})),
            &kept,
            &scalar,
            Some(&hint(false)),
        );
        assert!(
            matches!(&p.access, Access::InOrder { ranges, .. } if ranges.len() == 1 && ranges[0].to < SkRange::prefix("1").to)
        );
        let both = |facts: &ClassFacts| match plan_read(
            &q(json!({"score": {"$gt": 5, "$lt": 9}})),
            &kept,
            facts,
            None,
        )
        .access
        {
            Access::Lookups(l) => match l.as_slice() {
                [Lookup::Index { range, .. }] => range.clone(),
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        };
        assert!(
            both(&scalar).to < both(&facts).to,
            "the upper bound ends the range"
        );
        // Without a sort the same bound is an index lookup; unindexed, a partition read.
        let p = plan_read(&q(json!({"score": {"$gt": 5}})), &kept, &facts, None);
        assert!(matches!(p.access, Access::Lookups(_)));
        let p = plan_read(&q(json!({"n": 1})), &kept, &facts, None);
        assert_eq!(p.access, Access::Partition);
        // Relation classes read their rows by key prefix, never in index order.
        let p = plan_read(
            &q(json!({"relatedId": "u1"})),
            &kept,
            &join,
            Some(&hint(true)),
        );
        assert_eq!(p.access, Access::JoinRelated(vec!["u1".into()]));
    }

    #[test]
    fn compound_indexes_serve_equality_then_order() {
        let kept = Kept {
            indexes: vec!["score".into(), index::compound_spec("author", "score")],
            ..Kept::default()
        };
        let q = |v: Value| parse_query(&v, false).unwrap();
        let hint = SortHint {
            field: "score".into(),
            ascending: false,
        };
        let facts = ClassFacts::default();
        // Equality on the lead with a sort on the next key: that author's entries, in order
        // (not the whole score index).
        let p = plan_read(&q(json!({"author": "u1"})), &kept, &facts, Some(&hint));
        match p.access {
            Access::InOrder {
                spec,
                field,
                prefix,
                ranges,
                ..
            } => {
                assert_eq!((spec.as_str(), field.as_str()), ("author,score", "score"));
                assert!(!prefix.is_empty() && ranges.iter().all(|r| r.from.starts_with(&prefix)));
            }
            other => panic!("{other:?}"),
        }
        // Without the sort, equality on the lead is a lookup in the compound index.
        let p = plan_read(&q(json!({"author": "u1"})), &kept, &facts, None);
        assert!(
            matches!(&p.access, Access::Lookups(l) if matches!(l.as_slice(), [Lookup::Index { spec, .. }] if spec == "author,score"))
        );
        // Without equality on the lead, the sort reads the field's own index.
        let p = plan_read(&q(json!({"n": 1})), &kept, &facts, Some(&hint));
        assert!(matches!(p.access, Access::InOrder { spec, .. } if spec == "score"));
    }
}
