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
use crate::words::{fold, language, tokens, Language};
use rust_stemmers::Algorithm;
use std::collections::HashMap;

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

    /// The words an object this search matches has one of, as a text index keeps them
    /// (`words::index_words`): its terms, when it is neither case- nor diacritic-sensitive
    /// (then a text index's folded words cannot tell) and has any.
    pub fn index_terms(&self) -> Option<&[String]> {
        let plain = !self.case_sensitive && !self.diacritic_sensitive;
        (plain && !self.terms.is_empty()).then_some(self.terms.as_slice())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn search(term: &str) -> TextSearch {
        TextSearch::parse(term, None, false, false).unwrap()
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
