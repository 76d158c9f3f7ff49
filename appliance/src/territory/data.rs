//! The embedded reference file and its indexes.
//!
//! The file (appliance/data/territories-fr.tsv, written by scripts/gen-territories) has one
//! record per line, tab-separated, sections sorted by code:
//!
//! ```text
//! R  code   name
//! D  code   name  region
//! C  insee  name  department  postal,codes  population  lat  lon
//! A  insee  name  department  postal,codes  population  lat  lon  parent-insee
//! O  former-code  insee  former-name
//! ```
//!
//! The binary carries it deflated (by build.rs: 0.6 MB instead of 1.6 MB) and inflates it once,
//! on first use. Nothing is copied out of it after that: records are parsed on demand into
//! structs that borrow `&'static str` slices. The indexes hold only offsets into the text, each built on first use:
//! line starts by code (~140 KB), postal codes (~280 KB), word starts of names (~300 KB).

use std::cmp::Ordering;
use std::sync::OnceLock;

use super::fold::{fold, is_separator};
use super::{Commune, Department, PostalCodes, Region};

static PACKED: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/territories-fr.tsv.deflate"));

/// The whole file, inflated on first use and kept for the life of the process.
pub(super) fn text() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| {
        let mut text = String::with_capacity(1 << 21);
        std::io::Read::read_to_string(&mut flate2::read::DeflateDecoder::new(PACKED), &mut text)
            .expect("the territory table is deflated UTF-8, checked by build.rs");
        text.shrink_to_fit();
        text
    })
}

/// Lines of each section, in code order.
pub(super) struct Tables {
    pub(super) regions: Vec<&'static str>,
    pub(super) departments: Vec<&'static str>,
    /// Start offsets of the C and A lines.
    pub(super) communes: Vec<u32>,
    /// Start offsets of the O lines.
    pub(super) former: Vec<u32>,
}

pub(super) fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| Tables::parse(text()))
}

impl Tables {
    fn parse(text: &'static str) -> Tables {
        let mut tables = Tables {
            regions: Vec::new(),
            departments: Vec::new(),
            communes: Vec::with_capacity(36_000),
            former: Vec::with_capacity(5_000),
        };
        let mut start = 0;
        for line in text.split_inclusive('\n') {
            let offset = u32::try_from(start).expect("the territory file is under 4 GiB");
            start += line.len();
            match line.as_bytes().first() {
                Some(b'R') => tables.regions.push(line.trim_end_matches('\n')),
                Some(b'D') => tables.departments.push(line.trim_end_matches('\n')),
                Some(b'C' | b'A') => tables.communes.push(offset),
                Some(b'O') => tables.former.push(offset),
                _ => {} // comments and blank lines
            }
        }
        // Indexes below store a commune as a u16 position.
        assert!(tables.communes.len() <= usize::from(u16::MAX) + 1);
        tables.communes.shrink_to_fit();
        tables.former.shrink_to_fit();
        tables
    }

    pub(super) fn commune_line(&self, index: usize) -> &'static str {
        line_at(self.communes[index])
    }

    pub(super) fn commune_at(&self, index: usize) -> Commune {
        parse_commune(self.commune_line(index))
    }

    /// The population of a commune, 0 if unknown: parses that field only.
    pub(super) fn population_at(&self, index: usize) -> u32 {
        let population = self.commune_line(index).split('\t').nth(5);
        population.and_then(|p| p.parse().ok()).unwrap_or(0)
    }

    /// Position of the commune whose code is `code`.
    pub(super) fn find_commune(&self, code: &str) -> Option<usize> {
        self.communes.binary_search_by(|&o| code_of(line_at(o)).cmp(code)).ok()
    }

    /// Positions of the communes whose code starts with `prefix`.
    pub(super) fn communes_with_prefix(&self, prefix: &str) -> std::ops::Range<usize> {
        prefix_range(&self.communes, prefix)
    }

    /// The O lines whose former code starts with `prefix`.
    pub(super) fn former_with_prefix(&'static self, prefix: &str) -> impl Iterator<Item = FormerCommune> + 'static {
        self.former[prefix_range(&self.former, prefix)]
            .iter()
            .map(|&o| parse_former(line_at(o)))
    }

    /// Position of the commune whose line contains byte `offset` of the text.
    pub(super) fn commune_containing(&self, offset: u32) -> usize {
        self.communes.partition_point(|&start| start <= offset) - 1
    }

    pub(super) fn department(&self, code: &str) -> Option<Department> {
        find_line(&self.departments, code).map(parse_department)
    }

    pub(super) fn region(&self, code: &str) -> Option<Region> {
        find_line(&self.regions, code).map(parse_region)
    }
}

/// A former commune or code (merged into a commune nouvelle, or renumbered), pointing at
/// today's commune. Its name is empty when only the code changed.
#[derive(Debug, Clone, Copy)]
pub(super) struct FormerCommune {
    pub(super) code: &'static str,
    pub(super) insee: &'static str,
    pub(super) name: &'static str,
}

fn line_at(offset: u32) -> &'static str {
    let rest = &text()[offset as usize..];
    &rest[..rest.find('\n').unwrap_or(rest.len())]
}

/// The code of a record line: the field after the one-letter kind.
fn code_of(line: &str) -> &str {
    let rest = line.get(2..).unwrap_or("");
    &rest[..rest.find('\t').unwrap_or(rest.len())]
}

fn find_line(lines: &[&'static str], code: &str) -> Option<&'static str> {
    lines
        .binary_search_by(|line| code_of(line).cmp(code))
        .ok()
        .map(|i| lines[i])
}

fn prefix_range(offsets: &[u32], prefix: &str) -> std::ops::Range<usize> {
    let start = offsets.partition_point(|&o| code_of(line_at(o)) < prefix);
    let len = offsets[start..].partition_point(|&o| code_of(line_at(o)).starts_with(prefix));
    start..start + len
}

fn fields(line: &'static str) -> impl Iterator<Item = &'static str> {
    line.split('\t').skip(1)
}

pub(super) fn parse_region(line: &'static str) -> Region {
    let mut f = fields(line);
    Region {
        code: f.next().unwrap_or(""),
        name: f.next().unwrap_or(""),
    }
}

pub(super) fn parse_department(line: &'static str) -> Department {
    let mut f = fields(line);
    Department {
        code: f.next().unwrap_or(""),
        name: f.next().unwrap_or(""),
        region: f.next().unwrap_or(""),
    }
}

fn parse_former(line: &'static str) -> FormerCommune {
    let mut f = fields(line);
    FormerCommune {
        code: f.next().unwrap_or(""),
        insee: f.next().unwrap_or(""),
        name: f.next().unwrap_or(""),
    }
}

fn parse_commune(line: &'static str) -> Commune {
    let mut f = fields(line);
    let insee = f.next().unwrap_or("");
    let name = f.next().unwrap_or("");
    let department = f.next().unwrap_or("");
    let postal_codes = PostalCodes(f.next().unwrap_or(""));
    let population = f.next().and_then(|p| p.parse().ok());
    let lat = f.next().and_then(|v| v.parse::<f64>().ok());
    let lon = f.next().and_then(|v| v.parse::<f64>().ok());
    let arrondissement_of = f.next().filter(|parent| !parent.is_empty());
    let region = tables().department(department).map_or("", |d| d.region);
    Commune {
        insee,
        name,
        department,
        region,
        postal_codes,
        population,
        position: lat.zip(lon),
        arrondissement_of,
    }
}

/// (postal code, commune position) for every postal code of every commune, sorted.
pub(super) fn postal_index() -> &'static [(u32, u16)] {
    static INDEX: OnceLock<Vec<(u32, u16)>> = OnceLock::new();
    INDEX.get_or_init(|| {
        let tables = tables();
        let mut index = Vec::with_capacity(36_000);
        for i in 0..tables.communes.len() {
            let codes = tables.commune_line(i).split('\t').nth(4).unwrap_or("");
            for code in codes.split(',').filter_map(|c| c.parse::<u32>().ok()) {
                index.push((code, u16::try_from(i).expect("checked in Tables::parse")));
            }
        }
        index.sort_unstable();
        index.shrink_to_fit();
        index
    })
}

/// Words that start no entry of the name index: searching "sur" or "de" must not list
/// thousands of communes.
const UNINDEXED_WORDS: &[&str] = &[
    "a", "au", "aux", "d", "de", "des", "du", "en", "et", "l", "la", "le", "les", "lez", "sous", "sur",
];

/// Offsets into the text of the start of each name and of each later word of a name (but
/// [`UNINDEXED_WORDS`]), sorted by the folded text from there to the end of the name.
pub(super) fn name_index() -> &'static [u32] {
    static INDEX: OnceLock<Vec<u32>> = OnceLock::new();
    INDEX.get_or_init(|| {
        let tables = tables();
        // (sort key, offset): see `sort_key`.
        let mut keyed: Vec<(u64, u32)> = Vec::with_capacity(80_000);
        for &line_start in &tables.communes {
            let line = line_at(line_start);
            let name_start = 2 + code_of(line).len() + 1;
            let name = fields(line).nth(1).unwrap_or("");
            let mut after_separator = true;
            for (i, c) in name.char_indices() {
                if is_separator(c) {
                    after_separator = true;
                    continue;
                }
                if std::mem::take(&mut after_separator) {
                    let word = name[i..].split(is_separator).next().unwrap_or("");
                    // Unindexed words are short: "lès" is the longest, in four bytes.
                    let unindexed = word.len() <= 4 && UNINDEXED_WORDS.iter().any(|w| fold(word).eq(w.chars()));
                    if i == 0 || !unindexed {
                        let offset = line_start + u32::try_from(name_start + i).expect("short lines");
                        keyed.push((sort_key(offset), offset));
                    }
                }
            }
        }
        // Sorting by streaming folds alone is slow (a Pi would take a second): sort by a packed
        // key of the first folded characters, folding further only to break ties.
        keyed.sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| compare_folded(a.1, b.1)).then(a.1.cmp(&b.1)));
        let mut index: Vec<u32> = keyed.into_iter().map(|(_, o)| o).collect();
        index.shrink_to_fit();
        index
    })
}

fn text_from(offset: u32) -> &'static str {
    &text()[offset as usize..]
}

/// The first eight folded characters from `offset`, packed so that comparing keys compares
/// them: ASCII as itself, 0 past the end (below any character, as a shorter prefix sorts
/// first); from a non-ASCII character on, 0xFF (above ASCII; keys that tie there are compared
/// in full).
fn sort_key(offset: u32) -> u64 {
    let mut key = [0u8; 8];
    let mut folded = fold(text_from(offset));
    for i in 0..key.len() {
        match folded.next().map(u8::try_from) {
            None => break,
            Some(Ok(b)) if b.is_ascii() => key[i] = b,
            Some(_) => {
                key[i..].fill(0xFF);
                break;
            }
        }
    }
    u64::from_be_bytes(key)
}

fn compare_folded(a: u32, b: u32) -> Ordering {
    fold(text_from(a)).cmp(fold(text_from(b)))
}

/// Entries of the name index whose folded text starts with `query` (folded).
pub(super) fn name_prefix_range(query: &str) -> &'static [u32] {
    let index = name_index();
    let n = query.chars().count();
    let start = index.partition_point(|&o| fold(text_from(o)).cmp(query.chars()) == Ordering::Less);
    let len = index[start..].partition_point(|&o| fold(text_from(o)).take(n).cmp(query.chars()) != Ordering::Greater);
    &index[start..start + len]
}

/// The commune of the name-index entry at `offset`, whether the entry is the start of the
/// commune's name, and whether its folded text is exactly `query`.
pub(super) fn name_entry(offset: u32, query: &str) -> (usize, bool, bool) {
    let tables = tables();
    let commune = tables.commune_containing(offset);
    let line_start = tables.communes[commune];
    let name_start = line_start as usize + 2 + code_of(line_at(line_start)).len() + 1;
    let at_start = offset as usize == name_start;
    (commune, at_start, at_start && fold(text_from(offset)).eq(query.chars()))
}
