//! Case- and accent-insensitive keys for place names, computed on the fly so that no folded
//! copy of the 35 000 names is kept in memory.
//!
//! Folding keeps ASCII letters (lower-cased) and digits, strips accents (`é` → `e`, `œ` →
//! `oe`), turns every run of other characters (space, hyphen, apostrophe, parenthesis) into one
//! space and drops leading and trailing ones: "Saint-Étienne-du-Grès" and "ST ETIENNE DU GRES"
//! differ only by the abbreviation, which [`fold_query`] expands. It stops at a tab or a newline
//! so that a name can be folded straight out of the embedded file. scripts/territories/gen.mjs
//! folds the same way when it matches names.

use std::str::Chars;

/// The folded characters of `text` (up to its first tab or newline).
pub(crate) fn fold(text: &str) -> Fold<'_> {
    Fold {
        chars: text.chars(),
        pending: "",
        other: None,
        space: false,
        started: false,
    }
}

/// `text` folded into a string.
pub(crate) fn folded(text: &str) -> String {
    fold(text).collect()
}

/// A user's query or an address locality folded, with the abbreviations "St" and "Ste" written
/// out as "saint" and "sainte" once the word is complete (a query "st" may still be the start
/// of "Strasbourg").
pub(crate) fn fold_query(text: &str) -> String {
    let folded = folded(text);
    let last_word_complete = text.trim_start().ends_with(|c: char| classify(c) == Class::Separator);
    let words: Vec<&str> = folded.split(' ').collect();
    let mut out = String::with_capacity(folded.len() + 8);
    for (i, word) in words.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let complete = i + 1 < words.len() || last_word_complete;
        out.push_str(match *word {
            "st" if complete => "saint",
            "ste" if complete => "sainte",
            other => other,
        });
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Not part of a word: becomes (at most) one space.
    Separator,
    /// Folds to these ASCII letters or digits.
    Ascii(&'static str),
    /// A letter or digit outside the Latin alphabet, kept (lower-cased).
    Other(char),
}

fn classify(c: char) -> Class {
    const ALNUM: &str = "0123456789abcdefghijklmnopqrstuvwxyz";
    let ascii = |i: usize| Class::Ascii(&ALNUM[i..i + 1]);
    match c {
        '0'..='9' => ascii(c as usize - '0' as usize),
        'a'..='z' => ascii(c as usize - 'a' as usize + 10),
        'A'..='Z' => ascii(c as usize - 'A' as usize + 10),
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => Class::Ascii("a"),
        'æ' | 'Æ' => Class::Ascii("ae"),
        'ç' | 'Ç' => Class::Ascii("c"),
        'è' | 'é' | 'ê' | 'ë' | 'È' | 'É' | 'Ê' | 'Ë' => Class::Ascii("e"),
        'ì' | 'í' | 'î' | 'ï' | 'Ì' | 'Í' | 'Î' | 'Ï' => Class::Ascii("i"),
        'ñ' | 'Ñ' => Class::Ascii("n"),
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' => Class::Ascii("o"),
        'œ' | 'Œ' => Class::Ascii("oe"),
        'ù' | 'ú' | 'û' | 'ü' | 'Ù' | 'Ú' | 'Û' | 'Ü' => Class::Ascii("u"),
        'ý' | 'ÿ' | 'Ý' | 'Ÿ' => Class::Ascii("y"),
        'ß' => Class::Ascii("ss"),
        _ if c.is_alphanumeric() => Class::Other(c.to_lowercase().next().unwrap_or(c)),
        _ => Class::Separator,
    }
}

/// True when `c` starts no word: names are indexed at the character after such a run.
pub(crate) fn is_separator(c: char) -> bool {
    classify(c) == Class::Separator
}

/// Iterator returned by [`fold`].
#[derive(Debug, Clone)]
pub(crate) struct Fold<'a> {
    chars: Chars<'a>,
    /// The rest of a multi-letter folding (`œ` → `oe`), or a letter held back behind a space.
    pending: &'static str,
    other: Option<char>,
    /// A separator was seen since the last letter.
    space: bool,
    /// A letter was seen: separators before the first one are dropped.
    started: bool,
}

impl Iterator for Fold<'_> {
    type Item = char;

    fn next(&mut self) -> Option<char> {
        if let Some(&b) = self.pending.as_bytes().first() {
            self.pending = &self.pending[1..];
            return Some(char::from(b));
        }
        if let Some(c) = self.other.take() {
            return Some(c);
        }
        loop {
            let c = self.chars.next()?;
            if c == '\t' || c == '\n' {
                self.chars = "".chars();
                return None;
            }
            match classify(c) {
                Class::Separator => self.space = self.started,
                Class::Ascii(s) => {
                    self.started = true;
                    if std::mem::take(&mut self.space) {
                        self.pending = s;
                        return Some(' ');
                    }
                    self.pending = &s[1..];
                    return Some(char::from(s.as_bytes()[0]));
                }
                Class::Other(o) => {
                    self.started = true;
                    if std::mem::take(&mut self.space) {
                        self.other = Some(o);
                        return Some(' ');
                    }
                    return Some(o);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_case_accents_and_separators() {
        fn check(input: &str, expected: &str) {
            assert_eq!(folded(input), expected, "fold({input:?})");
        }
        check("Crest", "crest");
        check("Saint-Étienne-du-Grès", "saint etienne du gres");
        check("L'Haÿ-les-Roses", "l hay les roses");
        check("Œuilly", "oeuilly");
        check("  Bourg--en   Bresse  ", "bourg en bresse");
        check("Saint-Martin (partie française)", "saint martin partie francaise");
        check("Paris 1er Arrondissement", "paris 1er arrondissement");
        check("ÎLE-D'YEU", "ile d yeu");
        check("Crest\t26\t84", "crest");
        check("Straße", "strasse");
        check("Ελλάδα", "ελλάδα");
        check("", "");
        check(" - ", "");
    }

    #[test]
    fn expands_saint_abbreviations_in_complete_words() {
        fn check(input: &str, expected: &str) {
            assert_eq!(fold_query(input), expected, "fold_query({input:?})");
        }
        check("ST PAUL", "saint paul");
        check("Ste-Marie", "sainte marie");
        check("st", "st");
        check("st ", "saint");
        check("Strasbourg", "strasbourg");
        check("Le Puy st", "le puy st");
        check("", "");
    }
}
