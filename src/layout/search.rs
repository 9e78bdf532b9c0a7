//! The entries of the indexes that serve searches rather than values: a *trigram* index
//! (`field:tri`) keeps every distinct run of three characters of a string's folded text, so a
//! substring, suffix or regex query reads the entries of the trigrams its literal text must
//! contain (as PostgreSQL's pg_trgm serves `LIKE '%…%'`) and intersects them. Characters are
//! folded as a case-insensitive regex compares them (`fold_char`), so one index serves regexes
//! with and without the `i` flag; the evaluator re-checks every row.

use super::index::{lookup_text, Entry, SEP};
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

/// The entry text of a trigram (a string's lookup text).
pub fn trigram_text(t: &str) -> String {
    lookup_text(&Value::String(t.to_string()), false).unwrap_or_default()
}

/// The entries of a trigram index for a field holding `vals` (strings, or arrays of them):
/// one per distinct trigram of all its strings.
pub fn trigram_entries(vals: &[&Value], key: &str) -> Vec<Entry> {
    let mut texts: Vec<String> = Vec::new();
    let strings = vals.iter().flat_map(|v| match v {
        Value::Array(a) => a.iter().collect(),
        other => vec![*other],
    });
    for s in strings.filter_map(Value::as_str) {
        for t in trigrams(s) {
            let text = trigram_text(&t);
            if !texts.contains(&text) {
                texts.push(text);
            }
        }
    }
    texts
        .into_iter()
        .map(|t| Entry {
            sk: format!("{t}{SEP}{key}"),
            ord: None,
        })
        .collect()
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
    fn entries_are_the_distinct_trigrams_of_every_string() {
        let v = json!(["xyz", "XYZA"]);
        let e = trigram_entries(&[&v], "k1");
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(e.iter().all(|e| e.sk.ends_with(&format!("{SEP}k1"))));
    }
}
