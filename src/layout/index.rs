//! Adapter-kept index entries and their order-preserving encoding. An index on `field` of a
//! class is the partition `~i:<class>:<field>` (a sharded one, `field@16`, 16 partitions: see
//! `sharded` and `layout::entry_pk`); each entry's sort key is `<text>` + SEP + the
//! object's key. The text starts with a type tag in MongoDB's sort order (missing/null `0`,
//! numbers `1`, strings `2`, objects `3`, arrays `4`, booleans `5`, dates `6`) followed by the
//! value encoded so that DynamoDB's byte order is the evaluator's order: numbers as 16 hex
//! digits of their IEEE-754 bits with the sign folded, strings as UTF-8 with bytes 0x00/0x01
//! escaped (so SEP, `\x01\x01`, sorts below any content) and cut to `MAX_TEXT` bytes *after*
//! escaping, dates as their normalised ISO text. The cut keeps every entry's sort key within
//! DynamoDB's 1,024 bytes, a compound entry (two texts) included, for object keys of up to
//! `MAX_KEY` bytes: a longer value shares its entry text with the values that start alike, and
//! the evaluator, which re-checks every row, tells them apart. Every object has one *order
//! entry* (attribute `ord`), at the text of the value it sorts by (objects and arrays only by
//! tag, since their inner order is not kept); other entries (array elements, a Pointer's
//! objectId under the string tag) serve equality lookups. Ranges of these keys answer
//! equality, `$in`, ranges, prefixes and sorts.

use super::search;
use crate::codec::parse_type;
use crate::store::MAX_SORT_KEY;
use crate::value::collect_path;
use serde_json::{Map, Value};

/// Between an entry's text and the object's key; below every byte of escaped text.
pub const SEP: &str = "\u{1}\u{1}";
/// Above every character an entry's key can hold.
const TOP: &str = "\u{10FFFF}";
/// The longest object key an entry points at: an objectId of up to 110 bytes, or a relation
/// row's `owningId:relatedId` (see `layout::MAX_OBJECT_ID`).
pub const MAX_KEY: usize = 221;
/// The longest text (tag included, escaped bytes) of one entry part: a compound entry is
/// `text SEP text SEP key`, so two texts, two separators and the longest key fit in a sort key.
pub const MAX_TEXT: usize = (MAX_SORT_KEY - 2 * SEP.len() - MAX_KEY) / 2;

/// What an index keeps. `Ordered` (spec `field`): lookup entries and each object's order
/// entry, for equality, ranges and sorts. `Lookup` (`field:eq`): lookup entries only (one
/// write less per object; Parse Server's own `_Session.user`). `CaseInsensitive`
/// (`field:ci`): lower-cased strings only. `Trigram` (`field:tri`): the trigrams of strings,
/// for substrings, suffixes and regexes; `Text` (`field:text`): the words of texts, for
/// `$text`; `Geo` (`field:geo`): GeoPoints at their geohash, for regions and `$nearSphere`
/// (see `search`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Ordered,
    Lookup,
    CaseInsensitive,
    Trigram,
    Text,
    Geo,
}

/// The registry name of an index on `field` of this kind.
pub fn spec(field: &str, kind: Kind) -> String {
    match kind {
        Kind::Ordered => field.to_string(),
        Kind::Lookup => format!("{field}:eq"),
        Kind::CaseInsensitive => format!("{field}:ci"),
        Kind::Trigram => format!("{field}:tri"),
        Kind::Text => format!("{field}:text"),
        Kind::Geo => format!("{field}:geo"),
    }
}

/// The registry name of a compound index: equality on `lead`, then order on `next`.
pub fn compound_spec(lead: &str, next: &str) -> String {
    format!("{lead},{next}")
}

/// The two fields of a compound index's registry name (None: not a compound index).
pub fn compound(spec: &str) -> Option<(&str, &str)> {
    base(spec).split_once(',')
}

/// How many partitions a sharded index spreads its entries over (see `sharded`).
pub const SHARDS: u32 = 16;
/// What ends the registry name of a sharded index: `createdAt@16`.
const SHARDED: &str = "@16";

/// The registry name of index `spec` with its entries spread over `SHARDS` partitions by the
/// object's key (`layout::entry_pk`): an index whose new sort keys keep landing after all
/// others (dates, sequences) takes every write at the end of one key range, which DynamoDB
/// cannot split, so it is capped at one partition's 1,000 write units per second; sharded, each
/// shard takes 1/16 of the writes. A spec and its sharded twin are the same index (`base`):
/// the twin is built beside it, and the spec dropped once the twin is ready.
pub fn sharded(spec: &str) -> String {
    format!("{}{SHARDED}", base(spec))
}

/// The index a registry name stands for, without its sharding.
pub fn base(spec: &str) -> &str {
    spec.strip_suffix(SHARDED).unwrap_or(spec)
}

/// The partitions index `spec`'s entries are spread over: 1, or `SHARDS` for a sharded spec.
pub fn shards(spec: &str) -> u32 {
    if spec.ends_with(SHARDED) {
        SHARDS
    } else {
        1
    }
}

/// Index `spec` as Parse's schema declares it: `{field: 1}`, `{lead: 1, next: 1}`,
/// `{field: 'trigram' | 'text' | '2dsphere'}` (case-insensitive and lookup-only indexes are
/// `{field: 1}` with options beside it).
pub fn parse_key(spec: &str) -> serde_json::Value {
    if let Some((lead, next)) = compound(spec) {
        return serde_json::json!({lead: 1, next: 1});
    }
    let (field, kind) = parse_spec(spec);
    match kind {
        Kind::Trigram => serde_json::json!({field: "trigram"}),
        Kind::Text => serde_json::json!({field: "text"}),
        Kind::Geo => serde_json::json!({field: "2dsphere"}),
        _ => serde_json::json!({field: 1}),
    }
}

/// The field and kind a registry name stands for.
pub fn parse_spec(spec: &str) -> (&str, Kind) {
    let spec = base(spec);
    if let Some(f) = spec.strip_suffix(":ci") {
        (f, Kind::CaseInsensitive)
    } else if let Some(f) = spec.strip_suffix(":eq") {
        (f, Kind::Lookup)
    } else if let Some(f) = spec.strip_suffix(":tri") {
        (f, Kind::Trigram)
    } else if let Some(f) = spec.strip_suffix(":text") {
        (f, Kind::Text)
    } else if let Some(f) = spec.strip_suffix(":geo") {
        (f, Kind::Geo)
    } else {
        (spec, Kind::Ordered)
    }
}

/// An inclusive range of index sort keys (a Query's `BETWEEN`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkRange {
    pub from: String,
    pub to: String,
}

impl SkRange {
    /// Every entry whose text is exactly `text`.
    pub fn exact(text: &str) -> SkRange {
        SkRange {
            from: format!("{text}{SEP}"),
            to: format!("{text}{SEP}{TOP}"),
        }
    }
    /// Every entry whose text starts with `prefix`.
    pub fn prefix(prefix: &str) -> SkRange {
        SkRange {
            from: prefix.to_string(),
            to: format!("{prefix}{TOP}"),
        }
    }
    /// The whole index.
    pub fn all() -> SkRange {
        SkRange::prefix("")
    }
    /// Entries whose text is between `lo` and `hi` (both inclusive; None: open).
    pub fn between(tag: char, lo: Option<&str>, hi: Option<&str>) -> SkRange {
        SkRange {
            from: lo.map(str::to_string).unwrap_or_else(|| tag.to_string()),
            to: match hi {
                Some(h) => format!("{h}{SEP}{TOP}"),
                None => format!("{tag}{TOP}"),
            },
        }
    }
}

/// How far the text of an entry is the exact order of its object: `Exact` when every object
/// whose order entry has this text sorts equal (so only the key breaks ties).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exactness {
    Exact,
    Inexact,
}

impl Exactness {
    pub fn attr(self) -> &'static str {
        match self {
            Exactness::Exact => "1",
            Exactness::Inexact => "0",
        }
    }
}

/// A string's text after its one-byte tag: escaped, and cut so tag and text stay within
/// `MAX_TEXT` bytes; answers whether it was cut.
fn escape(s: &str) -> (String, bool) {
    let room = MAX_TEXT - 1;
    let mut out = String::with_capacity(s.len().min(room));
    for c in s.chars() {
        let (a, b) = match c {
            '\u{0}' => ("\u{1}", "\u{2}"),
            '\u{1}' => ("\u{1}", "\u{3}"),
            _ => ("", ""),
        };
        let width = if a.is_empty() { c.len_utf8() } else { 2 };
        if out.len() + width > room {
            return (out, true);
        }
        if a.is_empty() {
            out.push(c);
        } else {
            out.push_str(a);
            out.push_str(b);
        }
    }
    (out, false)
}

/// Whether string `s` keeps its whole text in an entry (so equal texts mean equal strings).
pub fn whole_text(s: &str) -> bool {
    !escape(s).1
}

/// A number's 16 hex digits, ordered as the numbers are (1 and 1.0 are one text).
pub fn number_text(f: f64) -> String {
    let f = if f == 0.0 { 0.0 } else { f };
    let bits = f.to_bits();
    let folded = if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    };
    format!("{folded:016x}")
}

/// The entry text of a string (a trigram's, a word's): its lookup text.
pub fn string_text(s: &str) -> String {
    format!("2{}", escape(s).0)
}

/// The text under which an equality lookup finds `v` (None: an index cannot answer it):
/// strings (lower-cased for a case-insensitive index), numbers, booleans, Dates, and Pointers
/// by objectId (as Parse lets a Pointer field be queried with a plain objectId).
pub fn lookup_text(v: &Value, case_insensitive: bool) -> Option<String> {
    if case_insensitive {
        return match v {
            Value::String(s) => Some(format!("2{}", escape(&s.to_lowercase()).0)),
            _ => None,
        };
    }
    match v {
        Value::String(s) => Some(format!("2{}", escape(s).0)),
        Value::Number(n) => Some(format!("1{}", number_text(n.as_f64()?))),
        Value::Bool(b) => Some(format!("5{}", u8::from(*b))),
        Value::Object(_) => match parse_type(v) {
            Some("Pointer") => Some(format!("2{}", escape(v.get("objectId")?.as_str()?).0)),
            Some("Date") => Some(format!("6{}", escape(v.get("iso")?.as_str()?).0)),
            _ => None,
        },
        _ => None,
    }
}

/// The text of the order entry of an object whose sort value is `v`, and whether it is exact.
pub fn order_text(v: Option<&Value>) -> (String, Exactness) {
    match v {
        None | Some(Value::Null) => ("0".into(), Exactness::Exact),
        Some(Value::String(s)) => {
            let (t, cut) = escape(s);
            (
                format!("2{t}"),
                if cut {
                    Exactness::Inexact
                } else {
                    Exactness::Exact
                },
            )
        }
        Some(Value::Number(n)) => match n.as_f64() {
            Some(f) => (format!("1{}", number_text(f)), Exactness::Exact),
            None => ("1".into(), Exactness::Inexact),
        },
        Some(Value::Bool(b)) => (format!("5{}", u8::from(*b)), Exactness::Exact),
        Some(o @ Value::Object(_)) if parse_type(o) == Some("Date") => {
            match o.get("iso").and_then(Value::as_str) {
                Some(iso) => (format!("6{}", escape(iso).0), Exactness::Exact),
                None => ("6".into(), Exactness::Inexact),
            }
        }
        Some(Value::Object(_)) => ("3".into(), Exactness::Inexact),
        Some(Value::Array(_)) => ("4".into(), Exactness::Inexact),
    }
}

/// The group an entry's sort key (after the compound prefix, if any) belongs to when scanning
/// in order: its text, except that inexact texts of one tag (objects, arrays) are one group.
pub fn group_of(sk: &str) -> &str {
    let text = sk.split(SEP).next().unwrap_or("");
    match text.chars().next() {
        Some('3' | '4') => &text[..1],
        _ => text,
    }
}

/// Whether `field` (a dotted path) has one value per object, so an index on it can serve
/// sorts (a path through arrays of objects can give several).
pub fn sortable(field: &str) -> bool {
    !field.contains('.')
}

/// The value `obj` sorts by on `field`.
pub fn sort_value<'a>(obj: &'a Map<String, Value>, field: &str) -> Option<&'a Value> {
    let path: Vec<String> = field.split('.').map(str::to_string).collect();
    let mut v = Vec::new();
    collect_path(obj, &path, &mut v);
    v.into_iter().next()
}

/// An entry of `obj` in index `spec` (`field` or `field:ci`): its sort key, and for the order
/// entry its exactness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub sk: String,
    pub ord: Option<Exactness>,
}

/// The text an entry of compound index `lead,next` starts with for the objects whose `lead`
/// equals the value of lookup text `lead_text`: what a read of those objects in `next`'s
/// order stays within.
pub fn compound_prefix(lead_text: &str) -> String {
    format!("{lead_text}{SEP}")
}

/// The entries of `obj` (stored under `key`) in index `spec`.
pub fn entries(obj: &Map<String, Value>, spec: &str, key: &str) -> Vec<Entry> {
    if let Some((lead, next)) = compound(spec) {
        return compound_entries(obj, lead, next, key);
    }
    let (field, kind) = parse_spec(spec);
    let ci = kind == Kind::CaseInsensitive;
    let path: Vec<String> = field.split('.').map(str::to_string).collect();
    let mut vals = Vec::new();
    collect_path(obj, &path, &mut vals);
    let searched = match kind {
        Kind::Trigram => Some(
            search::trigram_strings(&vals)
                .iter()
                .map(|t| string_text(t))
                .collect(),
        ),
        Kind::Text => {
            let language = obj.get("language").and_then(Value::as_str);
            let words = search::text_words(&vals, language);
            Some(words.iter().map(|w| string_text(w)).collect())
        }
        Kind::Geo => Some(search::geo_texts(&vals)),
        _ => None,
    };
    if let Some(texts) = searched {
        return texts
            .into_iter()
            .map(|t: String| Entry {
                sk: format!("{t}{SEP}{key}"),
                ord: None,
            })
            .collect();
    }
    let mut out: Vec<Entry> = Vec::new();
    let mut add = |text: String, ord: Option<Exactness>| {
        let sk = format!("{text}{SEP}{key}");
        match out.iter_mut().find(|e| e.sk == sk) {
            Some(e) => e.ord = e.ord.or(ord),
            None => out.push(Entry { sk, ord }),
        }
    };
    if kind == Kind::Ordered && sortable(field) {
        let (t, o) = order_text(vals.first().copied());
        add(t, Some(o));
    }
    for t in lookup_texts(&vals, ci) {
        add(t, None);
    }
    out
}

/// The lookup texts of a field's values: each value, or each element of an array value.
fn lookup_texts(vals: &[&Value], case_insensitive: bool) -> Vec<String> {
    vals.iter()
        .flat_map(|v| match v {
            Value::Array(a) => a.iter().collect(),
            other => vec![*other],
        })
        .filter_map(|it| lookup_text(it, case_insensitive))
        .collect()
}

/// The entries of `obj` in compound index `lead,next`: one per lookup text of `lead` (as a
/// single-field index has them: the value, each array element, a Pointer's objectId), each
/// followed by the order text of `next`, so the objects with one `lead` value are a key range
/// in `next`'s order. Every entry is an order entry within its range; objects whose `lead` has
/// no lookup text have none (equality on `lead` cannot match them).
fn compound_entries(obj: &Map<String, Value>, lead: &str, next: &str, key: &str) -> Vec<Entry> {
    let path: Vec<String> = lead.split('.').map(str::to_string).collect();
    let mut vals = Vec::new();
    collect_path(obj, &path, &mut vals);
    let (next_text, ord) = order_text(sort_value(obj, next));
    let mut out: Vec<Entry> = Vec::new();
    for t in lookup_texts(&vals, false) {
        let sk = format!("{}{next_text}{SEP}{key}", compound_prefix(&t));
        if !out.iter().any(|e| e.sk == sk) {
            out.push(Entry { sk, ord: Some(ord) });
        }
    }
    out
}

/// The key range of index entries that holds every value `>`/`>=` `lo` and `<`/`<=` `hi`
/// (bounds are inclusive: a superset, the evaluator re-checks), when both are of one type an
/// index orders (numbers, strings, Dates). None when the bounds' types differ or cannot be
/// ordered.
pub fn range_for(lo: Option<&Value>, hi: Option<&Value>) -> Option<SkRange> {
    fn typed(v: &Value) -> Option<(char, String)> {
        match v {
            Value::Number(n) => Some(('1', format!("1{}", number_text(n.as_f64()?)))),
            // A string that reads as a date is also compared with Dates: left to the evaluator.
            Value::String(s) if crate::codec::normalize_iso(s).is_err() => {
                Some(('2', format!("2{}", escape(s).0)))
            }
            Value::Object(_) if parse_type(v) == Some("Date") => {
                Some(('6', format!("6{}", escape(v.get("iso")?.as_str()?).0)))
            }
            _ => None,
        }
    }
    let lo = lo.map(typed);
    let hi = hi.map(typed);
    let (tag, lo_t, hi_t) = match (lo, hi) {
        (Some(Some((a, l))), Some(Some((b, h)))) if a == b => (a, Some(l), Some(h)),
        (Some(Some((a, l))), None) => (a, Some(l), None),
        (None, Some(Some((b, h)))) => (b, None, Some(h)),
        _ => return None,
    };
    Some(SkRange::between(tag, lo_t.as_deref(), hi_t.as_deref()))
}

/// The key range of strings starting with `prefix` (cut as entries are).
pub fn prefix_range(prefix: &str) -> SkRange {
    SkRange::prefix(&format!("2{}", escape(prefix).0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::sort_cmp;
    use proptest::prelude::*;
    use serde_json::json;

    fn text(v: &Value) -> String {
        order_text(Some(v)).0
    }

    #[test]
    fn numbers_order_as_numbers() {
        let mut xs = vec![-1e300, -5.5, -1.0, -0.0, 0.0, 1e-9, 1.0, 2.0, 10.0, 1e300];
        xs.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let texts: Vec<String> = xs.iter().map(|x| number_text(*x)).collect();
        let mut sorted = texts.clone();
        sorted.sort();
        assert_eq!(texts, sorted);
        assert_eq!(number_text(0.0), number_text(-0.0));
        assert_eq!(
            lookup_text(&json!(1), false),
            lookup_text(&json!(1.0), false)
        );
    }

    #[test]
    fn separator_sorts_below_content() {
        // "a" < "a\0" < "a\u1" < "a b": the keys must keep that order.
        let vals = ["a", "a\u{0}", "a\u{1}", "a\u{1}\u{1}", "a b", "ab"];
        let sks: Vec<String> = vals
            .iter()
            .map(|s| format!("{}{SEP}zzKEY", text(&json!(s))))
            .collect();
        let mut sorted = sks.clone();
        sorted.sort();
        assert_eq!(sks, sorted);
    }

    #[test]
    fn arrays_have_element_entries_and_one_order_entry() {
        let o =
            json!({"tags": ["x", 2, {"__type": "Pointer", "className": "A", "objectId": "p1"}]});
        let e = entries(o.as_object().unwrap(), "tags", "k1");
        let ords: Vec<&Entry> = e.iter().filter(|e| e.ord.is_some()).collect();
        assert_eq!(ords.len(), 1);
        assert!(ords[0].sk.starts_with('4'));
        assert_eq!(e.len(), 4);
        let missing = entries(&Map::new(), "tags", "k1");
        assert_eq!(missing.len(), 1);
        assert_eq!(group_of(&missing[0].sk), "0");
        // A lookup-only index keeps no order entries.
        let lookup = entries(o.as_object().unwrap(), &spec("tags", Kind::Lookup), "k1");
        assert_eq!(lookup.len(), 3);
        assert!(lookup.iter().all(|e| e.ord.is_none()));
        assert!(entries(&Map::new(), "tags:eq", "k1").is_empty());
    }

    #[test]
    fn compound_entries_are_lead_value_then_order_of_next() {
        let author = json!({"__type": "Pointer", "className": "_User", "objectId": "u1"});
        let at = |iso: &str| json!({"__type": "Date", "iso": iso});
        let spec = compound_spec("author", "createdAt");
        let a = json!({"author": author, "createdAt": at("2026-01-02T00:00:00.000Z")});
        let b = json!({"author": author, "createdAt": at("2026-01-01T00:00:00.000Z")});
        let ea = entries(a.as_object().unwrap(), &spec, "ka");
        let eb = entries(b.as_object().unwrap(), &spec, "kb");
        assert_eq!((ea.len(), eb.len()), (1, 1));
        // Both lie in the author's range, in createdAt order, and every entry orders.
        let prefix = compound_prefix(&lookup_text(&author, false).unwrap());
        let range = SkRange::prefix(&prefix);
        for e in ea.iter().chain(&eb) {
            assert!(e.sk >= range.from && e.sk <= range.to, "{e:?}");
            assert_eq!(e.ord, Some(Exactness::Exact));
        }
        assert!(eb[0].sk < ea[0].sk);
        assert_eq!(
            group_of(&ea[0].sk[prefix.len()..]),
            "62026-01-02T00:00:00.000Z"
        );
        // Arrays in the lead give one entry per element; no lead value, no entry.
        let tags = json!({"author": ["x", "y", "x"], "createdAt": at("2026-01-01T00:00:00.000Z")});
        assert_eq!(entries(tags.as_object().unwrap(), &spec, "k").len(), 2);
        assert!(entries(&Map::new(), &spec, "k").is_empty());
        assert_eq!(compound(&spec), Some(("author", "createdAt")));
        assert_eq!(compound("author"), None);
    }

    #[test]
    fn every_entry_key_fits_dynamodbs_sort_key() {
        // Escaped control characters double, other characters take up to 4 bytes: cut within
        // the budget, on a character boundary.
        let longest_key = "k".repeat(MAX_KEY);
        for s in [
            "\u{1}".repeat(700),
            "x".repeat(5000),
            "\u{10FFFF}".repeat(500),
            format!("a{}", "\u{0}".repeat(900)),
        ] {
            let o = json!({"s": s, "t": s, "l": [s]});
            let o = o.as_object().unwrap();
            for spec in ["s", "s:ci", "l:eq", "s,t", "l,t"] {
                for e in entries(o, spec, &longest_key) {
                    assert!(e.sk.len() <= MAX_SORT_KEY, "{spec}: {} bytes", e.sk.len());
                }
            }
            let (t, exact) = order_text(Some(&json!(s)));
            assert!(t.len() <= MAX_TEXT);
            assert_eq!(exact, Exactness::Inexact);
            assert!(!whole_text(&s));
            // The query side cuts the same way: equality finds the stored entry.
            let stored = entries(o, "s", "k1");
            let lookup = SkRange::exact(&lookup_text(&json!(s), false).unwrap());
            assert!(stored
                .iter()
                .any(|e| e.sk >= lookup.from && e.sk <= lookup.to));
        }
        assert!(whole_text(&"x".repeat(MAX_TEXT - 1)));
        assert!(!whole_text(&"x".repeat(MAX_TEXT)));
        // Short strings keep their text as before (no change of stored entries).
        assert_eq!(text(&json!("abc")), "2abc");
    }

    #[test]
    fn ranges_hold_their_values_only() {
        let r = range_for(Some(&json!(5)), Some(&json!(10))).unwrap();
        let sk = |v: Value| format!("{}{SEP}k", text(&v));
        let inside = |s: String| s >= r.from && s <= r.to;
        assert!(inside(sk(json!(5))));
        assert!(inside(sk(json!(7.5))));
        assert!(inside(sk(json!(10))));
        assert!(!inside(sk(json!(10.5))));
        assert!(!inside(sk(json!(4))));
        assert!(!inside(sk(json!("7"))));
        assert!(range_for(Some(&json!(5)), Some(&json!("x"))).is_none());
        let p = prefix_range("ab");
        assert!(format!("2abc{SEP}k") >= p.from && format!("2abc{SEP}k") <= p.to);
        assert!(format!("2ac{SEP}k") > p.to);
    }

    fn scalar() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<i32>().prop_map(|i| json!(i)),
            (-1e6f64..1e6).prop_map(|f| json!(f)),
            "[a-c\u{0}\u{1} é]{0,6}".prop_map(Value::String),
            any::<bool>().prop_map(Value::Bool),
            (1970i32..2100, 1u32..13, 1u32..28).prop_map(|(y, m, d)| {
                json!({"__type": "Date", "iso": format!("{y:04}-{m:02}-{d:02}T00:00:00.000Z")})
            }),
        ]
    }

    proptest! {
        /// Scalar values' order texts order exactly as the evaluator sorts them.
        #[test]
        fn order_texts_agree_with_the_evaluator(a in scalar(), b in scalar()) {
            let (ta, tb) = (text(&a), text(&b));
            let want = sort_cmp(Some(&a), Some(&b));
            prop_assert_eq!(ta.cmp(&tb), want, "{:?} {:?} {} {}", a, b, ta, tb);
        }
    }
}
