//! The lookups of search conditions, planned as `lookups` plans value conditions: a regex
//! through a trigram index (the trigrams its literal runs require, intersected), a `$text`
//! through a text index (its words), a region through a geo index (the cells covering it), a
//! limited `$nearSphere` read outward from its point (`Access::Near`), a `$all` through its
//! values' entries; and, for `explain`, why a search index cannot serve a condition.

use super::{Access, Known, Lookup};
use crate::layout::index::{self, lookup_text, Kind, SkRange};
use crate::layout::search::{self, Region, Within};
use crate::layout::Kept;
use crate::query::filter::required_literals;
use crate::query::normal::Normal;
use crate::query::parse::{Cond, Expr, Geo};
use crate::query::text::TextSearch;

/// The lookup of a `$text` search on a field with a text index: an object it matches has one
/// of its words.
pub(super) fn text_lookup(field: &str, t: &TextSearch, known: &Known) -> Option<Vec<Lookup>> {
    let spec = known.index_of(field, &[Kind::Text])?;
    let words = t.index_terms()?;
    Some(
        words
            .iter()
            .map(|w| Lookup::Index {
                spec: spec.clone(),
                range: SkRange::exact(&index::string_text(w)),
            })
            .collect(),
    )
}

/// Most cells one region's lookup reads.
const MAX_CELLS: usize = 16;

/// The lookup of a region (a box, a polygon's bounding box, a circle's) on a field with a geo
/// index: the cells covering it. None for a `$nearSphere` without `$maxDistance` (see `near`)
/// and for `$geoIntersects` (stored polygons have no entries).
pub(super) fn geo_lookup(field: &str, g: &Geo, known: &Known) -> Option<Vec<Lookup>> {
    let (region, within) = match g {
        Geo::CenterSphere { lat, lng, radius }
        | Geo::Near {
            lat,
            lng,
            max: Some(radius),
        } => (
            Region::around(*lat, *lng, *radius),
            Within::Circle {
                lat: *lat,
                lng: *lng,
                radius: *radius,
            },
        ),
        _ => {
            let r = rect(g)?;
            (r, Within::Rect(r))
        }
    };
    if !(region.south <= region.north && region.west <= region.east) {
        return None;
    }
    let spec = known.index_of(field, &[Kind::Geo])?;
    // Cells next to each other in key order are one range.
    let cell = |c: &str| SkRange::prefix(&format!("{}{c}", search::GEO_TAG));
    let ranges = search::cell_ranges(&search::cover(region, MAX_CELLS))
        .iter()
        .map(|(first, last)| SkRange {
            from: cell(first).from,
            to: cell(last).to,
        })
        .collect();
    Some(vec![Lookup::Cells {
        spec,
        ranges,
        within,
    }])
}

/// The rectangle a box is, or a polygon's bounding box.
fn rect(g: &Geo) -> Option<Region> {
    Some(match g {
        Geo::Box { sw, ne } => Region {
            south: sw.0,
            west: sw.1,
            north: ne.0,
            east: ne.1,
        },
        Geo::Polygon(points) => {
            let lats = points.iter().map(|p| p.0);
            let lngs = points.iter().map(|p| p.1);
            Region {
                south: lats.clone().fold(f64::INFINITY, f64::min),
                west: lngs.clone().fold(f64::INFINITY, f64::min),
                north: lats.fold(f64::NEG_INFINITY, f64::max),
                east: lngs.fold(f64::NEG_INFINITY, f64::max),
            }
        }
        _ => return None,
    })
}

/// The read outward from a `$nearSphere` point (a top-level conjunct), when its field has a
/// geo index and the find needs a known number of rows.
pub(super) fn near(q: &Normal, known: &Known, need: Option<usize>) -> Option<Access> {
    let need = need?;
    q.conjuncts.iter().find_map(|c| match c {
        Expr::Field(p, Cond::Geo(Geo::Near { lat, lng, max })) => Some(Access::Near {
            spec: known.index_of(&p.join("."), &[Kind::Geo])?,
            field: p.clone(),
            lat: *lat,
            lng: *lng,
            max: *max,
            need,
        }),
        _ => None,
    })
}

/// Why search indexes the class keeps cannot serve conditions of `q` (for `explain`): a regex
/// with no literal run of three characters, a case-insensitive Unicode regex, a case- or
/// diacritic-sensitive `$text`, a `$geoIntersects`.
pub fn unserved_searches(q: &Normal, kept: &Kept) -> Vec<String> {
    let ready = kept.ready();
    let has = |field: &str, kind: Kind| {
        ready
            .iter()
            .any(|s| index::base(s) == index::spec(field, kind))
    };
    let mut out = Vec::new();
    for c in &q.conjuncts {
        let Expr::Field(p, cond) = c else {
            continue;
        };
        let field = p.join(".");
        match cond {
            Cond::Regex(pat) if has(&field, Kind::Trigram) => {
                let runs = required_literals(&pat.source).unwrap_or_default();
                if pat.flags.contains('i') && pat.flags.contains('u') {
                    out.push(format!("the trigram index of {field} cannot serve /{}/{}: a case-insensitive Unicode regex folds characters the index does not", pat.source, pat.flags));
                } else if !runs.iter().any(|r| r.chars().count() >= 3) {
                    out.push(format!("the trigram index of {field} cannot serve /{}/{}: it has no literal run of 3 characters or more (an alternation, or only classes and wildcards)", pat.source, pat.flags));
                }
            }
            Cond::Text(t) if has(&field, Kind::Text) && t.index_terms().is_none() => out.push(format!(
                "the text index of {field} cannot serve a case- or diacritic-sensitive $text search (its words are folded)"
            )),
            Cond::Geo(Geo::Intersects { .. }) => out.push(format!(
                "$geoIntersects on {field}: stored Polygons have no index entries"
            )),
            _ => {}
        }
    }
    out
}

/// Most trigrams one regex lookup reads (their entries intersected).
const MAX_TRIGRAMS: usize = 4;

/// The lookup of a regex on a field with a trigram index: the objects holding every one of a
/// few trigrams its literal text requires (those with the rarest letters), when it requires
/// any (a literal run of three characters or more). None for a case-insensitive Unicode regex,
/// whose case folding the index's does not follow.
pub(super) fn trigram_lookup(field: &str, c: &Cond, known: &Known) -> Option<Vec<Lookup>> {
    let Cond::Regex(p) = c else {
        return None;
    };
    if p.flags.contains('i') && p.flags.contains('u') {
        return None;
    }
    let spec = known.index_of(field, &[Kind::Trigram])?;
    let mut grams: Vec<String> = Vec::new();
    for run in required_literals(&p.source)? {
        for t in search::trigrams(&run) {
            if !grams.contains(&t) {
                grams.push(t);
            }
        }
    }
    if grams.is_empty() {
        return None;
    }
    // Common letters last: their entries are the longest.
    const COMMON: &str = "etaoinshrdlu ";
    let rarity = |t: &String| t.chars().filter(|c| !COMMON.contains(*c)).count();
    grams.sort_by_key(|t| std::cmp::Reverse(rarity(t)));
    grams.truncate(MAX_TRIGRAMS);
    let ranges = grams
        .iter()
        .map(|t| SkRange::exact(&index::string_text(t)))
        .collect();
    Some(vec![Lookup::Every { spec, ranges }])
}

/// The lookup of a `$all` of values on an indexed field: the objects with an entry of every
/// value (an array holding them all, or a scalar equal to a single one).
pub(super) fn all_lookup(field: &str, conds: &[Cond], known: &Known) -> Option<Vec<Lookup>> {
    let spec = known.index_of(field, &[Kind::Ordered, Kind::Lookup])?;
    let mut ranges = Vec::new();
    for c in conds {
        let Cond::Eq(v) = c else {
            return None;
        };
        let range = SkRange::exact(&lookup_text(v, false)?);
        if !ranges.contains(&range) {
            ranges.push(range);
        }
    }
    match ranges.len() {
        0 => None,
        1 => Some(vec![Lookup::Index {
            spec,
            range: ranges.remove(0),
        }]),
        _ => Some(vec![Lookup::Every { spec, ranges }]),
    }
}
