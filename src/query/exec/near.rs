//! The read of a `$nearSphere` without `$maxDistance` through a geo index (`Access::Near`).
//! First the finest cell around the point that holds as many entries as the find needs rows
//! (a binary search over precisions, each probe one Query stopped at that many entries). Then
//! blocks of 3 × 3 cells around the point, from one precision finer than that cell (the rows
//! may sit across its edge) and coarser each time: their entries are read (small,
//! cheap), each entry's distance known to within `POINT_ERROR` from its geohash, and objects
//! are fetched nearest entry first, only while an entry could still be among the rows the
//! find needs. The read stops once it has as many matching rows as the find needs nearer than
//! the block's inner radius (every object outside the block is farther) and no entry left
//! unfetched could be nearer than the farthest of them; then the sort by distance and the page
//! are exact. Without enough, the rest of the index.

use super::keys::read_keys;
use crate::codec::{Stored, SK};
use crate::error::Result;
use crate::indexes::entries;
use crate::layout::search::{self, POINT_ERROR};
use crate::layout::{index, index_pks, pointed_key};
use crate::query::eval::{as_geo_point, distance_radians};
use crate::query::Expr;
use crate::store::Store;
use crate::value::collect_path;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashSet;

/// What a near read is about: the class, the index, the field and the point, and how many
/// rows the find needs, and how far they may be.
pub(super) struct Near<'a> {
    pub class: &'a str,
    pub spec: &'a str,
    pub field: &'a [String],
    pub lat: f64,
    pub lng: f64,
    /// `$maxDistance`, radians.
    pub max: Option<f64>,
    pub need: usize,
}

/// The prefix range of entries in the cell `cell` (empty: the whole index).
fn cell_range(cell: &str) -> index::SkRange {
    index::SkRange::prefix(&format!("{}{cell}", search::GEO_TAG))
}

/// An entry not fetched yet: its object's key and its distance from the point, about.
struct Pending {
    key: String,
    about: f64,
}

impl Near<'_> {
    /// How many entries (up to `need`) the cell of `p` characters holding the point has.
    async fn density(&self, store: &Store, p: usize) -> Result<usize> {
        let r = cell_range(&search::geo_cell(self.lat, self.lng, p));
        let mut n = 0;
        for pk in index_pks(self.class, self.spec) {
            let want = (self.need - n) as i32;
            let (items, _) = store
                .query_page(&pk, (&r.from, &r.to), true, want, None)
                .await?;
            n += items.len();
            if n >= self.need {
                break;
            }
        }
        Ok(n)
    }

    /// The entries of `cells` not seen yet, with their distances about.
    async fn entries(
        &self,
        store: &Store,
        cells: &[String],
        seen: &mut HashSet<String>,
    ) -> Result<Vec<Pending>> {
        let pks = index_pks(self.class, self.spec);
        let reads = search::cell_ranges(cells).into_iter().map(|(first, last)| {
            let (from, to) = (cell_range(&first).from, cell_range(&last).to);
            let pks = &pks;
            async move { entries::in_range(store, pks, (&from, &to)).await }
        });
        let found = futures::future::try_join_all(reads).await?;
        let mut out = Vec::new();
        for item in found.iter().flatten() {
            let (Some(key), Some(AttributeValue::S(sk))) = (pointed_key(item), item.get(SK)) else {
                continue;
            };
            if !seen.insert(key.clone()) {
                continue;
            }
            let hash = sk.strip_prefix(search::GEO_TAG).unwrap_or("");
            let about = search::cell_centre(hash)
                .map_or(0.0, |p| distance_radians(p, (self.lat, self.lng)));
            out.push(Pending {
                key: key.clone(),
                about,
            });
        }
        Ok(out)
    }

    /// The distance (radians) of a row's point from the query's.
    fn distance(&self, st: &Stored) -> f64 {
        let mut vals = Vec::new();
        collect_path(&st.obj, self.field, &mut vals);
        vals.iter()
            .filter_map(|v| as_geo_point(v))
            .map(|p| distance_radians(p, (self.lat, self.lng)))
            .fold(f64::INFINITY, f64::min)
    }
}

/// The `need`-th smallest of `ds` (infinity when there are fewer).
fn nth(ds: &[f64], need: usize) -> f64 {
    let mut v = ds.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(need.saturating_sub(1))
        .copied()
        .unwrap_or(f64::INFINITY)
}

/// Reads for `near` (see the module's header): the matching rows to `each`; answers how many
/// objects were fetched.
pub(super) async fn scan_near(
    store: &Store,
    expr: &Expr,
    near: &Near<'_>,
    each: &mut (dyn FnMut(Stored) -> Result<bool> + Send),
) -> Result<usize> {
    // Within a maximum distance, the finest block that holds the circle is as far as any read
    // need go, and only finer cells are probed for density.
    let floor = near.max.and_then(|m| {
        (1..=8).rev().find(|p| {
            let block = search::block(near.lat, near.lng, *p);
            search::inner_radius(near.lat, near.lng, block) > m
        })
    });
    let (mut lo, mut hi, mut start) = (floor.map_or(1, |f| f + 1), 8, floor.unwrap_or(0));
    let mut counts = [0usize; 10];
    while lo <= hi {
        let mid = (lo + hi) / 2;
        counts[mid] = near.density(store, mid).await?;
        if counts[mid] >= near.need {
            start = mid;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    let finer = counts[start + 1];
    // When the next finer cell holds half of what is needed, the rows cluster at the point and
    // may sit across that cell's edge: its block (the cells around it, a ninth of the dense
    // cell's area) goes first; coarser blocks follow.
    let start = if start > 0 && start < 8 && 2 * finer >= near.need {
        start + 1
    } else {
        start
    };
    let mut seen = HashSet::new();
    let mut pool: Vec<Pending> = Vec::new();
    let mut distances: Vec<f64> = Vec::new();
    let mut fetched = 0;
    // The blocks outward, then the whole index (inner radius: none beyond it).
    let steps: Vec<Option<usize>> = (1..=start).rev().map(Some).chain([None]).collect();
    for step in steps {
        let (cells, r) = match step {
            Some(p) => {
                let block = search::block(near.lat, near.lng, p);
                (
                    search::block_cells(near.lat, near.lng, p),
                    search::inner_radius(near.lat, near.lng, block),
                )
            }
            None => (vec![String::new()], f64::INFINITY),
        };
        pool.extend(near.entries(store, &cells, &mut seen).await?);
        pool.sort_by(|a, b| b.about.total_cmp(&a.about));
        loop {
            // Nothing unfetched nearer than the farthest row the find may keep is worth it.
            let bound = nth(&distances, near.need)
                .min(r)
                .min(near.max.map_or(f64::INFINITY, |m| m + POINT_ERROR));
            let batch: Vec<String> = std::iter::from_fn(|| {
                pool.last()
                    .filter(|p| p.about - POINT_ERROR < bound)
                    .is_some()
                    .then(|| pool.pop().map(|p| p.key))
                    .flatten()
            })
            .take(near.need.max(4))
            .collect();
            if batch.is_empty() {
                break;
            }
            fetched += batch.len();
            let mut go = true;
            let mut counted = |st: Stored| {
                distances.push(near.distance(&st));
                go = each(st)?;
                Ok(go)
            };
            let mut keys = batch;
            keys.sort();
            read_keys(store, near.class, expr, &keys, &mut counted).await?;
            if !go {
                return Ok(fetched);
            }
        }
        // Enough rows nearer than anything unread, or every point within the maximum read.
        let within_max = near.max.is_some_and(|m| m < r);
        if within_max || distances.iter().filter(|d| **d < r).count() >= near.need {
            break;
        }
    }
    Ok(fetched)
}
