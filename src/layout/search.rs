//! The entries of the indexes that serve searches rather than values: a *trigram* index
//! (`field:tri`) keeps every distinct run of three characters of a string's folded text, so a
//! substring, suffix or regex query reads the entries of the trigrams its literal text must
//! contain (as PostgreSQL's pg_trgm serves `LIKE '%…%'`) and intersects them. Characters are
//! folded as a case-insensitive regex compares them (`fold_char`), so one index serves regexes
//! with and without the `i` flag. A *text* index (`field:text`) keeps the distinct words of
//! a text as a MongoDB text index does (`words`), so a `$text` search reads the entries of its
//! words. The evaluator re-checks every row.

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
    for s in strings(vals) {
        for t in trigrams(s) {
            let text = trigram_text(&t);
            if !texts.contains(&text) {
                texts.push(text);
            }
        }
    }
    entries_of(texts, key)
}

/// The entries of a text index for a field holding `vals` (strings, or arrays of them) of a
/// document in `language`: one per distinct word.
pub fn text_entries(vals: &[&Value], language: Option<&str>, key: &str) -> Vec<Entry> {
    let mut texts: Vec<String> = Vec::new();
    for s in strings(vals) {
        for w in crate::words::index_words(s, language) {
            let text = word_text(&w);
            if !texts.contains(&text) {
                texts.push(text);
            }
        }
    }
    entries_of(texts, key)
}

/// The entry text of a word of a text index.
pub fn word_text(w: &str) -> String {
    trigram_text(w)
}

/// The strings of a field's values: each string, and each string of an array.
fn strings<'a>(vals: &[&'a Value]) -> impl Iterator<Item = &'a str> {
    vals.iter()
        .flat_map(|v| match v {
            Value::Array(a) => a.iter().collect(),
            other => vec![*other],
        })
        .filter_map(Value::as_str)
        .collect::<Vec<_>>()
        .into_iter()
}

/// Entries at these texts for the object at `key`.
fn entries_of(texts: Vec<String>, key: &str) -> Vec<Entry> {
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
