//! What to read for a query, as data: `plan_read` lists the access paths that can answer it
//! (GetItem for one objectId, BatchGetItem for an objectId `$in`, sentinel and index lookups,
//! relation key ranges, an index read in sort order, the Query of the class partition), takes
//! the one `cost` says bills least, and adds the filter expression `filter` builds for a
//! partition Query. It reads nothing itself: `exec` runs the plan, and the evaluator re-checks
//! every row it reads, so the access path only has to find a superset of the matches.

mod search;
mod wanted;
pub use search::unserved_searches;
use search::{all_lookup, geo_lookup, near, text_lookup, trigram_lookup};
pub use wanted::{wanted_index, wanted_indexes};

use super::cost::Stats;
use super::filter::{filter, literal_prefix};
use super::normal::{field_of, Normal};
use super::parse::{Cond, Expr};
use crate::codec::parse_type;
use crate::layout::index::{self, lookup_text, prefix_range, range_for, sortable, Kind, SkRange};
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
    /// The objects nearest (`lat`, `lng`) on `field`, through geo index `spec`: blocks of
    /// cells read outward until `need` matching rows are known nearer than anything outside
    /// (see `exec`), none farther than `max` radians: a `$nearSphere` on a limited find.
    Near {
        spec: String,
        field: Vec<String>,
        lat: f64,
        lng: f64,
        max: Option<f64>,
        need: usize,
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
    /// The objects that have an entry of index `spec` in every one of these key ranges (the
    /// trigrams a regex's literal text holds, the elements of a `$all`).
    Every {
        spec: String,
        ranges: Vec<SkRange>,
    },
    /// The entries of geo index `spec` in these ranges (the cells covering a region) whose
    /// point may be `within` it (their geohash tells, to a few centimetres).
    Cells {
        spec: String,
        ranges: Vec<SkRange>,
        within: crate::layout::search::Within,
    },
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub access: Access,
    pub filter: Option<Filter>,
    /// The access paths the planner compared, each with its estimate in read units (see
    /// `cost`), cheapest first; empty when there was no choice.
    pub candidates: Vec<(Access, f64)>,
    /// What the chosen path is estimated to bill, in read units, when the planner compared
    /// paths by cost (None for key reads and relation rows, which read about their answer).
    pub estimate: Option<f64>,
}

pub fn plan(expr: &Expr) -> Plan {
    plan_with(expr, &[])
}

/// Plans with the class's unique fields known, so an equality on one of them is a key lookup.
pub fn plan_with(expr: &Expr, unique_fields: &[String]) -> Plan {
    plan_indexed(expr, unique_fields, &[])
}

/// Plans with the class's unique fields and indexes (`field` / `field:ci`) known: any lookup
/// they serve, else the partition (no costs compared).
pub fn plan_indexed(expr: &Expr, unique_fields: &[String], indexes: &[String]) -> Plan {
    let known = Known {
        unique_fields,
        indexes,
        scalars: &[],
    };
    let q = Normal::of(expr);
    let access = match access(&q) {
        Access::Partition => lookups(expr, &known)
            .map(Access::Lookups)
            .unwrap_or(Access::Partition),
        a => a,
    };
    Plan {
        access,
        filter: filter(&q.conjuncts),
        candidates: Vec::new(),
        estimate: None,
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

/// What a read asks besides its conditions: the sort an index may serve, and how many rows
/// of the sorted answer it needs (`skip + limit`; None: all of them).
#[derive(Debug, Clone, Copy, Default)]
pub struct Demand<'a> {
    pub sort: Option<&'a SortHint>,
    pub need: Option<usize>,
}

/// The plan of a read of `q` from a class that keeps `kept`. Key reads win; relation classes
/// read key ranges of their rows; otherwise every access path that can answer (the lookups
/// the query's conditions allow, an index read in the sort's order, the partition Query) is
/// estimated by what it would bill (`cost`) and the cheapest is taken (on a tie, the one
/// listed first).
pub fn plan_read(q: &Normal, kept: &Kept, facts: &ClassFacts, read: Demand, stats: &Stats) -> Plan {
    if let Some(p) = key_plan(q) {
        return p;
    }
    let filter = filter(&q.conjuncts);
    let paths = paths(q, kept, facts, read);
    if facts.join {
        let access = paths.into_iter().next().unwrap_or(Access::Partition);
        return Plan {
            access,
            filter,
            candidates: Vec::new(),
            estimate: None,
        };
    }
    let mut candidates = ranked(paths, q, stats, read.need);
    let (access, estimate) = candidates
        .first()
        .map_or((Access::Partition, None), |(a, u)| (a.clone(), Some(*u)));
    if candidates.len() == 1 {
        candidates.clear();
    }
    Plan {
        access,
        filter,
        candidates,
        estimate,
    }
}

/// The access paths that can answer `q` (not by key), in the order ties go: lookups, in-order
/// reads (a compound index's before the field's own), the partition. A relation class's one
/// path: lookups, else key ranges of its rows, else its partition.
fn paths(q: &Normal, kept: &Kept, facts: &ClassFacts, read: Demand) -> Vec<Access> {
    let ready = (kept.ready(), kept.ready_unique());
    let known = Known::of(facts, &ready);
    let lookups = lookups(q.expr, &known).map(Access::Lookups);
    if facts.join {
        return vec![lookups
            .or_else(|| join_access(q))
            .unwrap_or(Access::Partition)];
    }
    let mut paths: Vec<Access> = lookups.into_iter().collect();
    paths.extend(near(q, &known, read.need));
    if let Some(h) = read.sort {
        paths.extend(compound_in_order(q, &known, h));
        paths.extend(in_order(q, &known, h));
    }
    paths.push(Access::Partition);
    paths
}

/// `paths` with their estimates, cheapest first (stable: a tie keeps the order listed).
fn ranked(
    paths: Vec<Access>,
    q: &Normal,
    stats: &Stats,
    need: Option<usize>,
) -> Vec<(Access, f64)> {
    let mut out: Vec<(Access, f64)> = paths
        .into_iter()
        .map(|a| {
            let units = estimate(&a, q, stats, need);
            (a, units)
        })
        .collect();
    out.sort_by(|a, b| a.1.total_cmp(&b.1));
    out
}

/// Whether the class's object count decides the plan of `q`: the cheapest path differs
/// between a class of 100 objects and one of 10 million (a unique-value lookup or a sorted
/// page read in order is cheapest at any size, so reading the count first would be a wasted
/// round trip).
pub fn size_matters(
    q: &Normal,
    kept: &Kept,
    facts: &ClassFacts,
    read: Demand,
    stats: &Stats,
) -> bool {
    if facts.join || key_plan(q).is_some() {
        return false;
    }
    let paths = paths(q, kept, facts, read);
    if paths.len() < 2 {
        return false;
    }
    let at = |objects: f64| {
        let s = Stats {
            objects: Some(objects),
            ..stats.clone()
        };
        ranked(paths.clone(), q, &s, read.need)
            .into_iter()
            .next()
            .map(|(a, _)| a)
    };
    at(100.0) != at(10_000_000.0)
}

/// What `access` would bill for `q`, in read units.
fn estimate(access: &Access, q: &Normal, stats: &Stats, need: Option<usize>) -> f64 {
    match access {
        Access::Keys(k) => k.len() as f64 * stats.fetch(),
        Access::Lookups(l) => lookups_cost(l, q, stats),
        Access::InOrder { spec, field, .. } => {
            let served = serves(spec, field);
            let part = stats.selectivity(q, served);
            // The conditions the index does not serve decide where the read stops: known
            // when there are none or their shape was measured, else a guess.
            let others = q.picked(|c| !served(c)).next().is_some();
            let queries = index::shards(spec) as usize;
            if !others || stats.measured(q) {
                let rest = (stats.matching(q) / part).min(1.0);
                stats.in_order(queries, part, rest, need)
            } else {
                stats.in_order_unknown(queries, part, need)
            }
        }
        Access::Partition => stats.partition(),
        // A few entry Queries, then about the rows it answers.
        Access::Near { need, .. } => 3.0 + 2.0 * *need as f64 * stats.fetch(),
        Access::JoinOwning(_) | Access::JoinRelated(_) => 1.0,
    }
}

/// The fraction of the class whose entries an in-order read covers (those of the lead value
/// and within the bounds on the sort field); 1 for any other path.
pub fn covered(access: &Access, q: &Normal, stats: &Stats) -> f64 {
    match access {
        Access::InOrder { spec, field, .. } => stats.selectivity(q, serves(spec, field)),
        _ => 1.0,
    }
}

/// Whether a conjunct is served by the entries an in-order read of index `spec` in the order
/// of `field` reads: the compound index's lead equality, the bounds on `field`.
fn serves<'a>(spec: &'a str, field: &'a str) -> impl Fn(&Expr) -> bool + Copy + 'a {
    let lead = index::compound(spec).map(|(lead, _)| lead);
    move |c: &Expr| match c {
        Expr::Field(p, Cond::Eq(_)) if lead.is_some_and(|l| p.join(".") == l) => true,
        _ => range_cond(c).is_some_and(|(f, _)| f == field),
    }
}

/// Lookups: a GetItem per key or unique value; per index, one Query per lookup reading the
/// entries of the matches of the conditions on its lead field, then their objects.
fn lookups_cost(lookups: &[Lookup], q: &Normal, stats: &Stats) -> f64 {
    let mut units = 0.0;
    let mut specs: Vec<(&str, usize)> = Vec::new();
    for l in lookups {
        match l {
            Lookup::Key(_) => units += stats.fetch(),
            Lookup::Unique { .. } => units += 1.0 + stats.fetch(),
            Lookup::Index { spec, .. } => match specs.iter_mut().find(|(s, _)| s == spec) {
                Some((_, n)) => *n += 1,
                None => specs.push((spec, 1)),
            },
            // One Query per range; the objects fetched are those in all of them.
            Lookup::Every { spec, ranges } | Lookup::Cells { spec, ranges, .. } => {
                specs.push((spec, ranges.len()))
            }
        }
    }
    for (spec, n) in specs {
        let lead = index::compound(spec).map_or_else(|| index::parse_spec(spec).0, |(l, _)| l);
        let on_lead = |c: &Expr| field_of(c).as_deref() == Some(lead);
        // A lookup of an `$or` branch: its conditions are not the query's conjuncts.
        let part = if q.picked(on_lead).next().is_some() {
            stats.selectivity(q, on_lead)
        } else {
            (0.05 * n as f64).min(1.0)
        };
        // A lookup of a sharded index is a Query of each shard.
        let queries = n * index::shards(spec) as usize;
        units += stats.index_read(queries, stats.objects() * part);
    }
    units
}

/// The in-order read of `h.field`'s own index for a sort on it, within the query's bounds on
/// the field.
fn in_order(q: &Normal, known: &Known, h: &SortHint) -> Option<Access> {
    let range = sort_range(q, known, &h.field)?;
    Some(Access::InOrder {
        spec: known.registered(&h.field)?,
        field: h.field.clone(),
        prefix: String::new(),
        ranges: with_arrays(range, "", known, h),
        ascending: h.ascending,
    })
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
/// the query fixes by equality (the feed query: `equalTo(author).descending(createdAt)`).
fn compound_in_order(q: &Normal, known: &Known, h: &SortHint) -> Option<Access> {
    if !sortable(&h.field) {
        return None;
    }
    let cs = &q.conjuncts;
    known.indexes.iter().find_map(|spec| {
        let (lead, next) = index::compound(spec).filter(|(_, n)| *n == h.field)?;
        let text = cs.iter().find_map(|c| match c {
            Expr::Field(p, Cond::Eq(v)) if p.join(".") == lead => lookup_text(v, false),
            _ => None,
        })?;
        let conds: Vec<&Cond> = cs
            .iter()
            .filter_map(|c| range_cond(c))
            .filter(|(f, _)| f == next)
            .map(|(_, c)| c)
            .collect();
        let range = range_key(&conds, known.scalar(next)).unwrap_or_else(SkRange::all);
        let prefix = index::compound_prefix(&text);
        Some(Access::InOrder {
            spec: known.registered(index::base(spec))?,
            field: next.to_string(),
            ranges: with_arrays(range, &prefix, known, h),
            prefix,
            ascending: h.ascending,
        })
    })
}

/// Most keys a relation query fixing both ids reads as keys (`owningIds × relatedIds`).
const MAX_JOIN_KEYS: usize = 100;

/// For relation rows: an equality or `$in` on `owningId` or `relatedId` (the rest of the query
/// is checked by the evaluator); on both, the rows' keys themselves (Parse asks whether a row
/// exists before adding it to a relation). Only meaningful for `_Join` classes, whose keys are
/// `<owningId>:<relatedId>`; the caller uses it only there.
fn join_access(q: &Normal) -> Option<Access> {
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
    let cs = &q.conjuncts;
    let find = |name: &str| {
        cs.iter().find_map(|c| match c {
            Expr::Field(p, cond) if p.len() == 1 && p[0] == name => ids(cond),
            _ => None,
        })
    };
    match (find("owningId"), find("relatedId")) {
        (Some(o), Some(r)) if o.len() * r.len() <= MAX_JOIN_KEYS => {
            let mut keys: Vec<String> = o
                .iter()
                .flat_map(|o| r.iter().map(move |r| format!("{o}:{r}")))
                .collect();
            keys.sort();
            keys.dedup();
            Some(Access::Keys(keys))
        }
        (Some(o), _) => Some(Access::JoinOwning(o)),
        (None, r) => r.map(Access::JoinRelated),
    }
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

    /// The ready index that is `spec` (`index::base`): its sharded twin once that is ready
    /// (the spec's entries are deleted soon after), else the spec itself.
    fn registered(&self, spec: &str) -> Option<String> {
        let same = |s: &&String| index::base(s) == spec;
        let found = self.indexes.iter().filter(same);
        found.max_by_key(|s| index::shards(s)).cloned()
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
            .find_map(|k| self.registered(&index::spec(field, *k)))
            .or_else(|| {
                let led = |s: &&String| index::compound(s).is_some_and(|(lead, _)| lead == field);
                kinds
                    .contains(&Kind::Lookup)
                    .then(|| self.indexes.iter().find(led))
                    .flatten()
                    .and_then(|s| self.registered(index::base(s)))
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
        ) => {
            let field = p.join(".");
            range_lookup(&field, &[c], known).or_else(|| trigram_lookup(&field, c, known))
        }
        Expr::Field(p, Cond::All(conds)) => all_lookup(&p.join("."), conds, known),
        Expr::Field(p, Cond::Geo(g)) => geo_lookup(&p.join("."), g, known),
        Expr::Field(p, Cond::Text(t)) => text_lookup(&p.join("."), t, known),
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
            })
            .or_else(|| {
                v.iter()
                    .filter_map(range_cond)
                    .find_map(|(field, c)| trigram_lookup(&field, c, known))
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
fn sort_range(q: &Normal, known: &Known, field: &str) -> Option<SkRange> {
    if !sortable(field) || known.registered(field).is_none() {
        return None;
    }
    let conds: Vec<&Cond> = q
        .conjuncts
        .iter()
        .filter_map(|c| range_cond(c))
        .filter(|(f, _)| f == field)
        .map(|(_, c)| c)
        .collect();
    Some(range_key(&conds, known.scalar(field)).unwrap_or_else(SkRange::all))
}

/// The plan when it is key reads alone (`objectId` equality or `$in` in a conjunct): then
/// neither the class's registries nor a filter expression matter, so callers can plan it
/// before reading them.
pub fn key_plan(q: &Normal) -> Option<Plan> {
    match access(q) {
        access @ Access::Keys(_) => Some(Plan {
            access,
            filter: None,
            candidates: Vec::new(),
            estimate: None,
        }),
        _ => None,
    }
}

fn access(q: &Normal) -> Access {
    let mut keys: Option<Vec<String>> = None;
    for c in &q.conjuncts {
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
mod tests;
