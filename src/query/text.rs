//! `$text` search on one field, answered as a MongoDB text index answers it: the search string
//! parsed into terms, `"phrases"` and `-negations` (words of a phrase are terms too); text and
//! terms split at delimiters, stop words dropped, words stemmed (Snowball, the stemmer MongoDB
//! uses; the search in its `$language`, the stored text in the document's `language`, else
//! English) and, unless the search is case- or diacritic-sensitive, folded. An
//! object matches when one term's stem is among its field's, every phrase occurs, and no
//! negation does. Its relevance (`$score`) is MongoDB's text score: per term,
//! `freq × (0.5 × count / tokens + 0.5)`, with `freq` = 1 + ½ + ¼ … over repeats and a 1.1
//! boost when the whole field is the term, summed over the search's distinct terms.

use crate::error::{Error, Result};
use rust_stemmers::{Algorithm, Stemmer};
use std::collections::HashMap;
use unicode_normalization::UnicodeNormalization;

/// A parsed `$text` search.
#[derive(Debug, Clone)]
pub struct TextSearch {
    terms: Vec<String>,
    negated: Vec<String>,
    phrases: Vec<String>,
    negated_phrases: Vec<String>,
    case_sensitive: bool,
    diacritic_sensitive: bool,
    language: Language,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Language {
    None,
    Stemmed(Algorithm),
}

/// MongoDB's text languages and their codes (those it stems; `none` splits words only).
fn language(name: &str) -> Option<Language> {
    use Algorithm::*;
    Some(Language::Stemmed(match name.to_lowercase().as_str() {
        "none" => return Some(Language::None),
        "english" | "en" => English,
        "danish" | "da" => Danish,
        "dutch" | "nl" => Dutch,
        "finnish" | "fi" => Finnish,
        "french" | "fr" => French,
        "german" | "de" => German,
        "hungarian" | "hu" => Hungarian,
        "italian" | "it" => Italian,
        "norwegian" | "nb" => Norwegian,
        "portuguese" | "pt" => Portuguese,
        "romanian" | "ro" => Romanian,
        "russian" | "ru" => Russian,
        "spanish" | "es" => Spanish,
        "swedish" | "sv" => Swedish,
        "turkish" | "tr" => Turkish,
        _ => return None,
    }))
}

/// The Snowball project's English stop words (the list MongoDB's English text index drops).
const ENGLISH_STOP_WORDS: &[&str] = &[
    "a",
    "about",
    "above",
    "after",
    "again",
    "against",
    "all",
    "am",
    "an",
    "and",
    "any",
    "are",
    "aren't",
    "as",
    "at",
    "be",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "by",
    "can't",
    "cannot",
    "could",
    "couldn't",
    "did",
    "didn't",
    "do",
    "does",
    "doesn't",
    "doing",
    "don't",
    "down",
    "during",
    "each",
    "few",
    "for",
    "from",
    "further",
    "had",
    "hadn't",
    "has",
    "hasn't",
    "have",
    "haven't",
    "having",
    "he",
    "he'd",
    "he'll",
    "he's",
    "her",
    "here",
    "here's",
    "hers",
    "herself",
    "him",
    "himself",
    "his",
    "how",
    "how's",
    "i",
    "i'd",
    "i'll",
    "i'm",
    "i've",
    "if",
    "in",
    "into",
    "is",
    "isn't",
    "it",
    "it's",
    "its",
    "itself",
    "let's",
    "me",
    "more",
    "most",
    "mustn't",
    "my",
    "myself",
    "no",
    "nor",
    "not",
    "of",
    "off",
    "on",
    "once",
    "only",
    "or",
    "other",
    "ought",
    "our",
    "ours",
    "ourselves",
    "out",
    "over",
    "own",
    "same",
    "shan't",
    "she",
    "she'd",
    "she'll",
    "she's",
    "should",
    "shouldn't",
    "so",
    "some",
    "such",
    "than",
    "that",
    "that's",
    "the",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "there's",
    "these",
    "they",
    "they'd",
    "they'll",
    "they're",
    "they've",
    "this",
    "those",
    "through",
    "to",
    "too",
    "under",
    "until",
    "up",
    "very",
    "was",
    "wasn't",
    "we",
    "we'd",
    "we'll",
    "we're",
    "we've",
    "were",
    "weren't",
    "what",
    "what's",
    "when",
    "when's",
    "where",
    "where's",
    "which",
    "while",
    "who",
    "who's",
    "whom",
    "why",
    "why's",
    "with",
    "won't",
    "would",
    "wouldn't",
    "you",
    "you'd",
    "you'll",
    "you're",
    "you've",
    "your",
    "yours",
    "yourself",
    "yourselves",
];

impl Language {
    fn english(self) -> bool {
        self == Language::Stemmed(Algorithm::English)
    }
    fn is_stop_word(self, lower: &str) -> bool {
        self.english() && ENGLISH_STOP_WORDS.binary_search(&lower).is_ok()
    }
}

/// Word boundaries: white space and punctuation, but not `_`, nor (in English) the apostrophe.
fn is_delimiter(c: char, english: bool) -> bool {
    if c == '_' || (english && c == '\'') {
        return false;
    }
    c.is_whitespace()
        || c.is_ascii_punctuation()
        || matches!(
            c,
            '\u{2010}'
                ..='\u{2027}'
                    | '\u{00A1}'
                    | '\u{00AB}'
                    | '\u{00B7}'
                    | '\u{00BB}'
                    | '\u{00BF}'
                    | '\u{3001}'
                    | '\u{3002}'
                    | '\u{FF0C}'
                    | '\u{FF01}'
                    | '\u{FF1F}'
        )
}

fn strip_diacritics(s: &str) -> String {
    s.nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .collect()
}

/// Lower-cased unless case-sensitive, diacritics removed unless diacritic-sensitive: the form
/// phrases are compared in.
fn fold(s: &str, case_sensitive: bool, diacritic_sensitive: bool) -> String {
    let s = if case_sensitive {
        s.to_string()
    } else {
        s.to_lowercase()
    };
    if diacritic_sensitive {
        s
    } else {
        strip_diacritics(&s)
    }
}

impl TextSearch {
    /// Parses `$search: {$term, $language, $caseSensitive, $diacriticSensitive}`.
    pub fn parse(
        term: &str,
        language_name: Option<&str>,
        case_sensitive: bool,
        diacritic_sensitive: bool,
    ) -> Result<TextSearch> {
        let language = match language_name {
            None => Language::Stemmed(Algorithm::English),
            Some(l) => language(l)
                .ok_or_else(|| Error::query(format!("language override unsupported: {l}")))?,
        };
        let mut t = TextSearch {
            terms: vec![],
            negated: vec![],
            phrases: vec![],
            negated_phrases: vec![],
            case_sensitive,
            diacritic_sensitive,
            language,
        };
        // Phrases first (a `-` right before the quote negates it), then the words around them.
        let mut positive = String::new();
        let mut negative = String::new();
        let mut rest = term;
        while let Some(start) = rest.find('"') {
            let Some(len) = rest[start + 1..].find('"') else {
                break;
            };
            let before = &rest[..start];
            let phrase = &rest[start + 1..start + 1 + len];
            let negate = before.ends_with('-')
                && before[..before.len() - 1]
                    .chars()
                    .last()
                    .is_none_or(char::is_whitespace);
            let before = if negate {
                &before[..before.len() - 1]
            } else {
                before
            };
            split_words(before, &mut positive, &mut negative);
            if negate {
                t.negated_phrases.push(phrase.to_string());
            } else {
                t.phrases.push(phrase.to_string());
                positive.push(' ');
                positive.push_str(phrase);
            }
            rest = &rest[start + len + 2..];
        }
        split_words(rest, &mut positive, &mut negative);
        let distinct = |text: &str| {
            let mut out: Vec<String> = Vec::new();
            for token in t.language_tokens(text) {
                if !out.contains(&token) {
                    out.push(token);
                }
            }
            out
        };
        let (terms, negated) = (distinct(&positive), distinct(&negative));
        t.terms = terms;
        t.negated = negated;
        Ok(t)
    }

    fn language_tokens(&self, text: &str) -> Vec<String> {
        tokens(
            text,
            self.language,
            self.case_sensitive,
            self.diacritic_sensitive,
        )
    }

    /// MongoDB's text score of a field holding `texts` (one string, or an array's strings), or
    /// None when it does not match the search; the stored text in English, the text index's
    /// default language.
    pub fn score(&self, texts: &[&str]) -> Option<f64> {
        self.score_in(texts, None)
    }

    /// `score` of a document whose `language` field is `language`: as a MongoDB text index,
    /// the stored text is split, stemmed and stripped of stop words in the document's language
    /// (else English), the search in its `$language`.
    pub fn score_in(&self, texts: &[&str], language: Option<&str>) -> Option<f64> {
        let stored = language
            .and_then(self::language)
            .unwrap_or(Language::Stemmed(Algorithm::English));
        let mut per_term: HashMap<String, f64> = HashMap::new();
        for raw in texts {
            let toks = tokens(raw, stored, self.case_sensitive, self.diacritic_sensitive);
            if toks.iter().any(|w| self.negated.contains(w)) {
                return None;
            }
            // Per distinct token: how often, and 1 + 1/2 + 1/4 … for its repeats.
            let mut seen: Vec<(String, usize, f64)> = Vec::new();
            for w in &toks {
                match seen.iter_mut().find(|(x, ..)| x == w) {
                    Some((_, count, freq)) => {
                        *freq += 1.0 / f64::powi(2.0, *count as i32);
                        *count += 1;
                    }
                    None => seen.push((w.clone(), 1, 1.0)),
                }
            }
            for (w, count, freq) in seen {
                let coeff = 0.5 * count as f64 / toks.len() as f64 + 0.5;
                let boost = if raw.len() == w.len() && raw.eq_ignore_ascii_case(&w) {
                    1.1
                } else {
                    1.0
                };
                *per_term.entry(w).or_default() += freq * coeff * boost;
            }
        }
        let folded: Vec<String> = texts
            .iter()
            .map(|s| fold(s, self.case_sensitive, self.diacritic_sensitive))
            .collect();
        let occurs = |p: &String| {
            let p = fold(p, self.case_sensitive, self.diacritic_sensitive);
            folded.iter().any(|s| s.contains(&p))
        };
        if !self.phrases.iter().all(occurs) || self.negated_phrases.iter().any(occurs) {
            return None;
        }
        let hits: Vec<f64> = self
            .terms
            .iter()
            .filter_map(|t| per_term.get(t).copied())
            .collect();
        if hits.is_empty() {
            return None;
        }
        Some(hits.iter().sum())
    }
}

/// Splits search words into positive and negated (`-word` after white space) text.
fn split_words(text: &str, positive: &mut String, negative: &mut String) {
    for w in text.split_whitespace() {
        match w.strip_prefix('-') {
            Some(n) if !n.is_empty() => {
                negative.push(' ');
                negative.push_str(n);
            }
            _ => {
                positive.push(' ');
                positive.push_str(w);
            }
        }
    }
}

/// The index terms of a text: words, stop words dropped, stemmed, folded.
fn tokens(
    text: &str,
    language: Language,
    case_sensitive: bool,
    diacritic_sensitive: bool,
) -> Vec<String> {
    let english = language.english();
    let stemmer = match language {
        Language::Stemmed(a) => Some(Stemmer::create(a)),
        Language::None => None,
    };
    text.split(|c| is_delimiter(c, english))
        .filter(|w| !w.is_empty())
        .filter_map(|w| {
            let lower = w.to_lowercase();
            if language.is_stop_word(&lower) {
                return None;
            }
            let word = if case_sensitive { w.to_string() } else { lower };
            let stemmed = match &stemmer {
                Some(s) => s.stem(&word).into_owned(),
                None => word,
            };
            Some(if diacritic_sensitive {
                stemmed
            } else {
                strip_diacritics(&stemmed)
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn search(term: &str) -> TextSearch {
        TextSearch::parse(term, None, false, false).unwrap()
    }

    #[test]
    fn stop_words_are_sorted_for_binary_search() {
        assert!(ENGLISH_STOP_WORDS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn scores_as_mongodb_text_indexes_do() {
        // One matching token of two: 1 × (0.5 × 1/2 + 0.5) = 0.75.
        assert_eq!(search("coffee").score(&["coffee shop"]), Some(0.75));
        // The whole field is the term (the stem is the word): boosted by 1.1.
        assert_eq!(search("cake").score(&["cake"]), Some(1.1));
        // "coffee" stems to "coffe", which is not the field's text: no boost.
        assert_eq!(search("coffee").score(&["Coffee"]), Some(1.0));
        // Stop words are not tokens: "the coffee of the day" has two (coffe, day).
        assert_eq!(
            search("coffee").score(&["the coffee of the day"]),
            Some(0.75)
        );
        // Repeats: freq 1 + 1/2, count 2 of 3 tokens: 1.5 × (0.5 × 2/3 + 0.5).
        let s = search("coffee").score(&["coffee coffees tea"]).unwrap();
        assert!((s - 1.5 * (0.5 * 2.0 / 3.0 + 0.5)).abs() < 1e-12);
        // Two terms add up; stems match plural forms.
        assert_eq!(search("coffee shops").score(&["coffee shop"]), Some(1.5));
    }

    #[test]
    fn phrases_negations_and_sensitivity() {
        assert!(search("\"coffee shop\"")
            .score(&["the coffee shop"])
            .is_some());
        assert!(search("\"shop coffee\"")
            .score(&["the coffee shop"])
            .is_none());
        assert!(search("coffee -shop").score(&["coffee shop"]).is_none());
        assert!(search("coffee -\"shop now\"")
            .score(&["coffee shop now"])
            .is_none());
        assert!(search("coffee -\"shop now\"")
            .score(&["coffee shop"])
            .is_some());
        // A hyphen inside a word is a delimiter, not a negation.
        assert!(search("coffee-shop").score(&["shop"]).is_some());
        assert!(search("CAFÉ").score(&["Cafe con Leche"]).is_some());
        let cs = TextSearch::parse("Coffee", None, true, false).unwrap();
        assert!(cs.score(&["coffee and cream"]).is_none());
        assert!(cs.score(&["Coffee and cream"]).is_some());
        let ds = TextSearch::parse("café", None, false, true).unwrap();
        assert!(ds.score(&["cafe"]).is_none());
        // Only stop words: nothing to look up, nothing matches.
        assert!(search("the").score(&["the"]).is_none());
        assert!(TextSearch::parse("x", Some("klingon"), false, false).is_err());
        // `none` splits the search without stop words; an English index dropped "the", a
        // document in no language kept it.
        let none = TextSearch::parse("the", Some("none"), false, false).unwrap();
        assert_eq!(none.score(&["the"]), None);
        assert_eq!(none.score_in(&["the"], Some("none")), Some(1.1));
    }

    #[test]
    fn the_stored_text_is_stemmed_in_its_own_language_the_search_in_its_own() {
        // MongoDB on an English text index: a Portuguese search for "preparar" (stem
        // "prepar") matches the English stem of "prepare", not the Portuguese forms.
        let pt = TextSearch::parse("preparar", Some("pt"), false, false).unwrap();
        let texts = [
            "prepare café e creme",
            "preparamos o café",
            "café preparado",
            "preparando o bolo",
        ];
        let hits: Vec<&str> = texts
            .iter()
            .copied()
            .filter(|t| pt.score(&[t]).is_some())
            .collect();
        assert_eq!(hits, vec!["prepare café e creme"]);
        // A document whose `language` is Portuguese is stemmed as Portuguese.
        assert!(pt
            .score_in(&["preparamos o café"], Some("portuguese"))
            .is_some());
        assert!(
            pt.score_in(&["preparamos o café"], Some("klingon"))
                .is_none(),
            "unknown: English"
        );
    }
}
