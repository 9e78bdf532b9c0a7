//! The entries of the indexes that serve searches rather than values: a *trigram* index
//! (`field:tri`) keeps every distinct run of three characters of a string's folded text, so a
//! substring, suffix or regex query reads the entries of the trigrams its literal text must
//! contain (as PostgreSQL's pg_trgm serves `LIKE '%…%'`) and intersects them. Characters are
//! folded as a case-insensitive regex compares them (`fold_char`), so one index serves regexes
//! with and without the `i` flag. A *text* index (`field:text`) keeps the distinct words of
//! a text as a MongoDB text index does (`words`), so a `$text` search reads the entries of its
//! words. A *geo* index (`field:geo`) keeps each GeoPoint at its geohash (AWS Labs'
//! dynamodb-geo's choice on DynamoDB: every coarser cell is a prefix of it, so one entry per
//! point serves cells of any size as key ranges), so a region reads the few cells covering
//! it and a `$nearSphere` reads cells outward from its point. The evaluator re-checks every
//! row.

use serde_json::Value;

/// A character as trigram entries and lookups hold it: its upper case when that is one
/// character, then that one's lower case when that is one character. Characters a
/// case-insensitive regex takes as equal fold alike (`s`, `S` and `ſ`; `σ` and `ς`; `i`, `I`
/// and `ı`; `k` and the Kelvin sign), so a trigram lookup of a folded literal finds every
/// text such a regex matches.
pub fn fold_char(c: char) -> char {
    let up = single(c.to_uppercase()).unwrap_or(c);
    single(up.to_lowercase()).unwrap_or(up)
}

/// The one character of `it`, if it has exactly one.
fn single(mut it: impl Iterator<Item = char>) -> Option<char> {
    let first = it.next()?;
    it.next().is_none().then_some(first)
}

/// The distinct trigrams of `s`, folded, in the order they first occur.
pub fn trigrams(s: &str) -> Vec<String> {
    let chars: Vec<char> = s.chars().map(fold_char).collect();
    let mut out: Vec<String> = Vec::new();
    for w in chars.windows(3) {
        let t: String = w.iter().collect();
        if !out.contains(&t) {
            out.push(t);
        }
    }
    out
}

/// The distinct trigrams of a field holding `vals` (strings, or arrays of them): what a
/// trigram index keeps (each at its string's entry text).
pub fn trigram_strings(vals: &[&Value]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in strings(vals) {
        for t in trigrams(s) {
            if !out.contains(&t) {
                out.push(t);
            }
        }
    }
    out
}

/// The distinct words a text index keeps of a field holding `vals` (strings, or arrays of
/// them) of a document in `language`.
pub fn text_words(vals: &[&Value], language: Option<&str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in strings(vals) {
        for w in crate::words::index_words(s, language) {
            if !out.contains(&w) {
                out.push(w);
            }
        }
    }
    out
}

/// The strings of a field's values: each string, and each string of an array.
fn strings<'a>(vals: &[&'a Value]) -> Vec<&'a str> {
    vals.iter()
        .flat_map(|v| match v {
            Value::Array(a) => a.iter().collect(),
            other => vec![*other],
        })
        .filter_map(Value::as_str)
        .collect()
}

const BASE32: &[u8] = b"0123456789bcdefghjkmnpqrstuvwxyz";
/// The precision of a point's entry: 12 characters, cells of a few centimetres.
const POINT_PRECISION: usize = 12;
/// The tag before a geohash in an entry's text.
pub const GEO_TAG: &str = "g";

/// The longitude and latitude bits of a geohash of `p` characters.
fn cell_bits(p: usize) -> (u32, u32) {
    let b = 5 * p as u32;
    (b.div_ceil(2), b / 2)
}

/// The index of the cell holding `v` among `2^bits` equal cells from `lo` over `span`.
fn cell_index(v: f64, lo: f64, span: f64, bits: u32) -> u64 {
    let n = 1u64 << bits;
    let i = ((v - lo) / span * n as f64).floor();
    (i.max(0.0) as u64).min(n - 1)
}

/// The geohash of the cell at longitude index `x` and latitude index `y`, `p` characters.
fn geohash(x: u64, y: u64, p: usize) -> String {
    let (mut lng_left, mut lat_left) = cell_bits(p);
    let mut out = String::with_capacity(p);
    let mut acc = 0usize;
    for k in 0..5 * p {
        let bit = if k % 2 == 0 {
            lng_left -= 1;
            (x >> lng_left) & 1
        } else {
            lat_left -= 1;
            (y >> lat_left) & 1
        };
        acc = (acc << 1) | bit as usize;
        if k % 5 == 4 {
            out.push(BASE32[acc] as char);
            acc = 0;
        }
    }
    out
}

/// The geohash of `p` characters of the cell holding (`lat`, `lng`).
pub fn geo_cell(lat: f64, lng: f64, p: usize) -> String {
    let (lb, ab) = cell_bits(p);
    geohash(
        cell_index(lng, -180.0, 360.0, lb),
        cell_index(lat, -90.0, 180.0, ab),
        p,
    )
}

/// The point an entry's text (after `GEO_TAG`) stands for: its cell's centre, within
/// `POINT_ERROR` radians of the point itself. None for a text that is no geohash.
pub fn cell_centre(hash: &str) -> Option<(f64, f64)> {
    let (mut x, mut y, mut k) = (0u64, 0u64, 0usize);
    for ch in hash.bytes().take(POINT_PRECISION) {
        let v = BASE32.iter().position(|b| *b == ch)? as u64;
        for i in (0..5).rev() {
            let bit = (v >> i) & 1;
            if k % 2 == 0 {
                x = (x << 1) | bit;
            } else {
                y = (y << 1) | bit;
            }
            k += 1;
        }
    }
    let p = k / 5;
    let (lb, ab) = cell_bits(p);
    let (w, h) = (360.0 / (1u64 << lb) as f64, 180.0 / (1u64 << ab) as f64);
    Some((-90.0 + (y as f64 + 0.5) * h, -180.0 + (x as f64 + 0.5) * w))
}

/// How far (radians) a point can be from the centre of its entry's cell, at most (a little
/// more: a 12-character cell is about 3.4e-7° by 1.7e-7°).
pub const POINT_ERROR: f64 = 1e-8;

/// What a region lookup keeps of the entries of the cells covering it: those whose point may
/// lie in the rectangle, or within the circle (`radius` radians around a point).
#[derive(Debug, Clone, PartialEq)]
pub enum Within {
    Rect(Region),
    Circle { lat: f64, lng: f64, radius: f64 },
}

impl Within {
    /// Whether the point of the entry whose geohash is `hash` may be within (its cell's
    /// centre, with the cell's error allowed).
    pub fn admits(&self, hash: &str) -> bool {
        let Some((lat, lng)) = cell_centre(hash) else {
            return true;
        };
        match self {
            // A 12-character cell is under 1e-6° across.
            Within::Rect(r) => {
                let e = 1e-6;
                lat >= r.south - e && lat <= r.north + e && lng >= r.west - e && lng <= r.east + e
            }
            Within::Circle {
                lat: a,
                lng: b,
                radius,
            } => crate::value::distance_radians((lat, lng), (*a, *b)) <= radius + POINT_ERROR,
        }
    }
}

/// The entry texts of a geo index for a field holding `vals`: one per GeoPoint.
pub fn geo_texts(vals: &[&Value]) -> Vec<String> {
    let mut texts: Vec<String> = Vec::new();
    for v in vals {
        if crate::codec::parse_type(v) != Some("GeoPoint") {
            continue;
        }
        let (Some(lat), Some(lng)) = (
            v.get("latitude").and_then(Value::as_f64),
            v.get("longitude").and_then(Value::as_f64),
        ) else {
            continue;
        };
        let text = format!("{GEO_TAG}{}", geo_cell(lat, lng, POINT_PRECISION));
        if !texts.contains(&text) {
            texts.push(text);
        }
    }
    texts
}

/// A latitude/longitude rectangle, in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Region {
    pub south: f64,
    pub west: f64,
    pub north: f64,
    pub east: f64,
}

impl Region {
    /// The rectangle holding every point within `radius` radians of (`lat`, `lng`) on the
    /// sphere (a little larger, for rounding); every longitude when the circle reaches a pole
    /// or the antimeridian.
    pub fn around(lat: f64, lng: f64, radius: f64) -> Region {
        let r = radius.to_degrees() * (1.0 + 1e-9) + 1e-9;
        let (south, north) = (lat - r, lat + r);
        let whole = Region {
            south: south.max(-90.0),
            west: -180.0,
            north: north.min(90.0),
            east: 180.0,
        };
        if south <= -90.0 || north >= 90.0 || radius >= std::f64::consts::FRAC_PI_2 {
            return whole;
        }
        let d = (radius.sin() / lat.to_radians().cos()).asin().to_degrees() * (1.0 + 1e-9) + 1e-9;
        if d.is_nan() || lng - d < -180.0 || lng + d > 180.0 {
            return whole;
        }
        Region {
            south,
            west: lng - d,
            north,
            east: lng + d,
        }
    }
}

/// The geohash cells (prefixes of entry texts, after `GEO_TAG`) covering `r`: the finest
/// precision at which at most `max` cells do; one empty prefix (the whole index) when even
/// one-character cells need more.
pub fn cover(r: Region, max: usize) -> Vec<String> {
    for p in (1..=8).rev() {
        let (lb, ab) = cell_bits(p);
        let (x0, x1) = (
            cell_index(r.west, -180.0, 360.0, lb),
            cell_index(r.east, -180.0, 360.0, lb),
        );
        let (y0, y1) = (
            cell_index(r.south, -90.0, 180.0, ab),
            cell_index(r.north, -90.0, 180.0, ab),
        );
        if ((x1 - x0 + 1) * (y1 - y0 + 1)) as usize > max {
            continue;
        }
        let mut cells = Vec::new();
        for x in x0..=x1 {
            for y in y0..=y1 {
                cells.push(geohash(x, y, p));
            }
        }
        return cells;
    }
    vec![String::new()]
}

/// The block of 3 × 3 cells of `p` characters around the cell holding (`lat`, `lng`), as a
/// region (cut at the poles and the antimeridian).
pub fn block(lat: f64, lng: f64, p: usize) -> Region {
    let (lb, ab) = cell_bits(p);
    let (w, h) = (360.0 / (1u64 << lb) as f64, 180.0 / (1u64 << ab) as f64);
    let (x, y) = (
        cell_index(lng, -180.0, 360.0, lb) as f64,
        cell_index(lat, -90.0, 180.0, ab) as f64,
    );
    Region {
        south: (-90.0 + (y - 1.0) * h).max(-90.0),
        west: (-180.0 + (x - 1.0) * w).max(-180.0),
        north: (-90.0 + (y + 2.0) * h).min(90.0),
        east: (-180.0 + (x + 2.0) * w).min(180.0),
    }
}

/// The cells of `block`: the 3 × 3 cells of `p` characters around the one holding (`lat`,
/// `lng`), fewer at the poles and the antimeridian.
pub fn block_cells(lat: f64, lng: f64, p: usize) -> Vec<String> {
    let (lb, ab) = cell_bits(p);
    let (x, y) = (
        cell_index(lng, -180.0, 360.0, lb) as i64,
        cell_index(lat, -90.0, 180.0, ab) as i64,
    );
    let (nx, ny) = (1i64 << lb, 1i64 << ab);
    let mut cells = Vec::new();
    for dx in -1..=1 {
        for dy in -1..=1 {
            let (cx, cy) = (x + dx, y + dy);
            if (0..nx).contains(&cx) && (0..ny).contains(&cy) {
                cells.push(geohash(cx as u64, cy as u64, p));
            }
        }
    }
    cells
}

/// `cells` (geohashes of one length) as key ranges of entry texts: cells next to each other
/// in geohash order share one range, so a block of 3 × 3 is a few Queries, not nine.
pub fn cell_ranges(cells: &[String]) -> Vec<(String, String)> {
    let mut sorted: Vec<&String> = cells.iter().collect();
    sorted.sort();
    let next = |a: &str, b: &str| {
        let (pa, la) = a.split_at(a.len().saturating_sub(1));
        let (pb, lb) = b.split_at(b.len().saturating_sub(1));
        let pos = |s: &str| BASE32.iter().position(|c| s.as_bytes().first() == Some(c));
        pa == pb && matches!((pos(la), pos(lb)), (Some(x), Some(y)) if y == x + 1)
    };
    let mut out: Vec<(String, String)> = Vec::new();
    let mut run: Option<(&String, &String)> = None;
    for c in sorted {
        run = match run {
            Some((first, last)) if next(last, c) => Some((first, c)),
            Some((first, last)) => {
                out.push((first.clone(), last.clone()));
                Some((c, c))
            }
            None => Some((c, c)),
        };
    }
    out.extend(run.map(|(f, l)| (f.clone(), l.clone())));
    out
}

/// How far (radians on the sphere) every point outside `r` is from (`lat`, `lng`) inside it,
/// at least: the distance to its nearest edge (an edge at a pole counts as none; one at ±180°
/// does, the points beyond the antimeridian being outside it).
pub fn inner_radius(lat: f64, lng: f64, r: Region) -> f64 {
    let mut d = f64::INFINITY;
    if r.south > -90.0 {
        d = d.min((lat - r.south).to_radians());
    }
    if r.north < 90.0 {
        d = d.min((r.north - lat).to_radians());
    }
    // The distance to a meridian Δλ away: asin(cos φ · sin Δλ).
    let to_meridian = |dl: f64| {
        let dl = dl.to_radians().min(std::f64::consts::FRAC_PI_2);
        (lat.to_radians().cos() * dl.sin()).asin()
    };
    d = d.min(to_meridian(lng - r.west));
    d = d.min(to_meridian(r.east - lng));
    d.max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn characters_a_case_insensitive_regex_takes_as_equal_fold_alike() {
        for (a, b) in [
            ('s', 'ſ'),
            ('S', 's'),
            ('σ', 'ς'),
            ('Σ', 'ς'),
            ('i', 'ı'),
            ('k', '\u{212a}'),
            ('ß', 'ẞ'),
            ('µ', 'μ'),
        ] {
            assert_eq!(fold_char(a), fold_char(b), "{a} {b}");
        }
        assert_eq!(trigrams("Abcab"), ["abc", "bca", "cab"]);
        assert!(trigrams("ab").is_empty());
    }

    #[test]
    fn a_field_keeps_the_distinct_trigrams_of_every_string() {
        let v = json!(["xyz", "XYZA"]);
        assert_eq!(trigram_strings(&[&v]), ["xyz", "yza"]);
    }
}
