//! The index a read would want: what the automatic-index policy builds after a read that
//! had to fetch far more than it answered (the compound index of an equality and the sort, the
//! sort field's own, else the first field an index would serve).

use super::{range_cond, range_key, MAX_INDEX_LOOKUPS};
use crate::layout::index::{self, lookup_text, sortable, Kind};
use crate::query::filter::{literal_prefix, required_literals};
use crate::query::normal::Normal;
use crate::query::parse::{Cond, Expr, Geo};
use crate::query::plan::SortHint;

/// The index that would serve a read of `expr` (sorted as `sort` says) which had to read the
/// class partition: with a sort, the compound index of an equality field and the sort field,
/// else a bounded field's own (a range or `^prefix`), else the sort field's own; without, the field of the first conjunct an index serves
/// (equality or `$in` before a range or `^prefix`). Never the key, the ACL lists or paths
/// through arrays of objects. None when nothing in the query can use an index.
pub fn wanted_index(q: &Normal, sort: Option<&SortHint>) -> Option<String> {
    let indexable = |p: &[String]| {
        let f = p.join(".");
        let internal = matches!(f.as_str(), "objectId" | "_rperm" | "_wperm");
        (!internal && !f.starts_with('$')).then_some(f)
    };
    let cs = &q.conjuncts;
    let equality = cs.iter().find_map(|c| match c {
        Expr::Field(p, Cond::Eq(v)) if lookup_text(v, false).is_some() => indexable(p),
        _ => None,
    });
    // A range or `^prefix` on another field than the sort's: that field's own index (it reads
    // about the matches, sorted after), not the sort field's, which would read rows in order
    // until enough match.
    let bounded = cs.iter().find_map(|c| {
        let (field, cond) = range_cond(c)?;
        range_key(&[cond], false)?;
        indexable(&[field])
    });
    // A search: the index of trigrams, words or cells that serves it.
    let searched = cs.iter().find_map(|c| {
        let Expr::Field(p, cond) = c else {
            return None;
        };
        let field = indexable(p)?;
        let kind = match cond {
            Cond::Regex(pat) if literal_prefix(&pat.source, &pat.flags).is_none() => {
                let runs = required_literals(&pat.source)?;
                runs.iter()
                    .any(|r| r.chars().count() >= 3)
                    .then_some(Kind::Trigram)?
            }
            Cond::Text(t) => t.index_terms().map(|_| Kind::Text)?,
            Cond::Geo(g) if !matches!(g, Geo::Intersects { .. }) => Kind::Geo,
            Cond::All(_) => Kind::Ordered,
            _ => return None,
        };
        Some(index::spec(&field, kind))
    });
    if let Some(h) =
        sort.filter(|h| sortable(&h.field) && indexable(std::slice::from_ref(&h.field)).is_some())
    {
        return Some(match (equality, bounded, searched) {
            (Some(e), _, _) if e != h.field => index::compound_spec(&e, &h.field),
            (None, Some(b), _) if b != h.field => b,
            (None, None, Some(s)) => s,
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
    equality.or(lookup).or(bounded).or(searched)
}

/// The indexes that would serve a read of `expr`, best first: `wanted_index`, else for an
/// `$or` (served only when every branch has an index) each branch's own, so a class read for
/// `{$or: [{installationId}, {deviceToken}]}` (Parse's installation check) gets both in turn.
pub fn wanted_indexes(q: &Normal, sort: Option<&SortHint>) -> Vec<String> {
    if let Some(one) = wanted_index(q, sort) {
        return vec![one];
    }
    let mut out = Vec::new();
    for c in &q.conjuncts {
        if let Expr::Or(branches) = c {
            for b in branches {
                for w in wanted_indexes(&Normal::of(b), None) {
                    if !out.contains(&w) {
                        out.push(w);
                    }
                }
            }
        }
    }
    out
}
