//! The words of a text as a MongoDB text index keeps them: split at delimiters (white space and
//! punctuation, not `_`, nor in English the apostrophe), stop words dropped (English), stemmed
//! with Snowball in the text's language (MongoDB's languages and codes; `none` only splits),
//! and, unless a search asks otherwise, lower-cased and stripped of diacritics. The `$text`
//! evaluator (`query::text`) and the text index's entries (`layout::search`) both take their
//! words from here, so an index lookup of a search's words finds every object it matches.

use rust_stemmers::{Algorithm, Stemmer};
use unicode_normalization::UnicodeNormalization;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Language {
    None,
    Stemmed(Algorithm),
}

/// MongoDB's text languages and their codes (those it stems; `none` splits words only).
pub fn language(name: &str) -> Option<Language> {
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
pub(crate) const ENGLISH_STOP_WORDS: &[&str] = &[
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
    pub fn english(self) -> bool {
        self == Language::Stemmed(Algorithm::English)
    }
    pub fn is_stop_word(self, lower: &str) -> bool {
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

pub fn strip_diacritics(s: &str) -> String {
    s.nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .collect()
}

/// Lower-cased unless case-sensitive, diacritics removed unless diacritic-sensitive: the form
/// phrases are compared in.
pub fn fold(s: &str, case_sensitive: bool, diacritic_sensitive: bool) -> String {
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

/// The index terms of a text: words, stop words dropped, stemmed, folded.
pub fn tokens(
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

/// The distinct words a text index keeps of `text` stored in `language` (a document's
/// `language` field; else, or when MongoDB has no such language, English).
pub fn index_words(text: &str, language: Option<&str>) -> Vec<String> {
    let stored = language
        .and_then(self::language)
        .unwrap_or(Language::Stemmed(Algorithm::English));
    let mut out: Vec<String> = Vec::new();
    for w in tokens(text, stored, false, false) {
        if !out.contains(&w) {
            out.push(w);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_words_are_sorted_for_binary_search() {
        assert!(ENGLISH_STOP_WORDS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn index_words_are_distinct_stems_without_stop_words() {
        assert_eq!(index_words("The coffee, the Coffees!", None), ["coffe"]);
        assert_eq!(index_words("preparamos o café", Some("pt")).len(), 3);
    }
}
