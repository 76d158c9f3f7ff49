//! The pages' languages: French by default, English and German, chosen from the visitor's
//! cookie (set by the switcher) or `Accept-Language`. Messages are Fluent files
//! (`appliance/locales/*.ftl`) compiled into the binary; dates and numbers are written the
//! way each language writes them.

use std::sync::OnceLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};

/// A language the pages are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    Fr,
    En,
    De,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::Fr, Lang::En, Lang::De];

    /// The BCP 47 code, as in `<html lang>`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Fr => "fr",
            Lang::En => "en",
            Lang::De => "de",
        }
    }

    /// The language's own name, for the switcher.
    pub fn endonym(self) -> &'static str {
        match self {
            Lang::Fr => "Français",
            Lang::En => "English",
            Lang::De => "Deutsch",
        }
    }

    pub fn parse(code: &str) -> Option<Lang> {
        let primary = code.trim().split(['-', '_']).next().unwrap_or("");
        Lang::ALL.into_iter().find(|l| l.code().eq_ignore_ascii_case(primary))
    }

    /// The best of our languages for an `Accept-Language` header (RFC 9110 §12.5.4): the
    /// highest quality first, the header's order among equals; French when none fits.
    pub fn negotiate(header: Option<&str>) -> Lang {
        let Some(header) = header else { return Lang::Fr };
        let mut best: Option<(f32, usize, Lang)> = None;
        for (i, item) in header.split(',').enumerate().take(32) {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or("").trim();
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())
                .filter(|q| (0.0..=1.0).contains(q))
                .unwrap_or(0.0);
            if q <= 0.0 {
                continue;
            }
            let Some(lang) = Lang::parse(tag) else { continue };
            if best.is_none_or(|(bq, _, _)| q > bq) {
                best = Some((q, i, lang));
            }
        }
        best.map_or(Lang::Fr, |(_, _, l)| l)
    }

    fn index(self) -> usize {
        match self {
            Lang::Fr => 0,
            Lang::En => 1,
            Lang::De => 2,
        }
    }

    fn source(self) -> &'static str {
        match self {
            Lang::Fr => include_str!("../../locales/fr.ftl"),
            Lang::En => include_str!("../../locales/en.ftl"),
            Lang::De => include_str!("../../locales/de.ftl"),
        }
    }
}

type Bundle = FluentBundle<FluentResource>;

fn bundles() -> &'static [Bundle; 3] {
    static BUNDLES: OnceLock<[Bundle; 3]> = OnceLock::new();
    BUNDLES.get_or_init(|| Lang::ALL.map(build_bundle))
}

fn build_bundle(lang: Lang) -> Bundle {
    // The files are part of the binary and checked by a test: a syntax error is a bug.
    let resource = FluentResource::try_new(lang.source().to_owned())
        .unwrap_or_else(|(_, errors)| panic!("locales/{}.ftl does not parse: {errors:?}", lang.code()));
    let id: unic_langid::LanguageIdentifier = lang.code().parse().expect("a valid language code");
    let mut bundle = FluentBundle::new_concurrent(vec![id]);
    // No Unicode isolation marks around arguments: pages set `dir` themselves.
    bundle.set_use_isolating(false);
    bundle
        .add_resource(resource)
        .unwrap_or_else(|errors| panic!("locales/{}.ftl defines a message twice: {errors:?}", lang.code()));
    bundle
}

/// The message `id` in `lang`, with arguments; the French one when `lang` lacks it, the id
/// itself when no language has it (a test checks every language has every message).
pub fn message(lang: Lang, id: &str, args: Option<&FluentArgs<'_>>) -> String {
    for l in [lang, Lang::Fr] {
        let bundle = &bundles()[l.index()];
        if let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) {
            let mut errors = Vec::new();
            let text = bundle.format_pattern(pattern, args, &mut errors);
            if !errors.is_empty() {
                tracing::warn!(message = id, lang = l.code(), ?errors, "message formatted with errors");
            }
            return text.into_owned();
        }
    }
    tracing::warn!(message = id, "no such message");
    id.to_owned()
}

/// Fluent arguments from pairs.
pub fn args<'a>(pairs: &[(&'a str, FluentValue<'a>)]) -> FluentArgs<'a> {
    let mut args = FluentArgs::new();
    for (k, v) in pairs {
        args.set(*k, v.clone());
    }
    args
}

/// The ids of every message of a language (for the completeness test): the lines that
/// start a message, `id = …`.
#[cfg(test)]
pub fn message_ids(lang: Lang) -> Vec<String> {
    lang.source()
        .lines()
        .filter(|l| l.starts_with(|c: char| c.is_ascii_alphabetic()))
        .filter_map(|l| l.split_once(" =").map(|(id, _)| id.trim().to_owned()))
        .collect()
}

/// A whole number as the language writes it: 12 345 (narrow no-break space), 12,345, 12.345.
pub fn number(lang: Lang, n: i64) -> String {
    let sep = match lang {
        Lang::Fr => '\u{202f}',
        Lang::En => ',',
        Lang::De => '.',
    };
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(sep);
        }
        out.push(c);
    }
    out
}

const MONTHS: [[&str; 12]; 3] = [
    [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ],
    [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
    [
        "Januar",
        "Februar",
        "März",
        "April",
        "Mai",
        "Juni",
        "Juli",
        "August",
        "September",
        "Oktober",
        "November",
        "Dezember",
    ],
];

const WEEKDAYS: [[&str; 7]; 3] = [
    ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"],
    [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ],
    [
        "Montag",
        "Dienstag",
        "Mittwoch",
        "Donnerstag",
        "Freitag",
        "Samstag",
        "Sonntag",
    ],
];

/// The month's name (1 = January).
pub fn month_name(lang: Lang, month: i8) -> &'static str {
    MONTHS[lang.index()][usize::from(month.clamp(1, 12) as u8 - 1)]
}

/// The weekday's name (Monday first).
pub fn weekday_name(lang: Lang, day: jiff::civil::Weekday) -> &'static str {
    WEEKDAYS[lang.index()][usize::from(day.to_monday_zero_offset() as u8)]
}

/// Short weekday names for calendar headers (Monday first): "lun.", "Mon", "Mo".
pub fn weekday_short(lang: Lang, day: jiff::civil::Weekday) -> String {
    let name = weekday_name(lang, day);
    match lang {
        Lang::Fr => format!("{}.", name.chars().take(3).collect::<String>()),
        Lang::En => name.chars().take(3).collect(),
        Lang::De => name.chars().take(2).collect(),
    }
}

/// "samedi 28 novembre 2026", "Saturday, November 28, 2026", "Samstag, 28. November 2026".
pub fn date_long(lang: Lang, d: jiff::civil::Date) -> String {
    let (wd, m) = (weekday_name(lang, d.weekday()), month_name(lang, d.month()));
    match lang {
        Lang::Fr => format!("{wd} {} {m} {}", d.day(), d.year()),
        Lang::En => format!("{wd}, {m} {}, {}", d.day(), d.year()),
        Lang::De => format!("{wd}, {}. {m} {}", d.day(), d.year()),
    }
}

/// "28 nov. 2026"-like short dates: "28/11/2026", "11/28/2026", "28.11.2026".
pub fn date_short(lang: Lang, d: jiff::civil::Date) -> String {
    match lang {
        Lang::Fr => format!("{:02}/{:02}/{}", d.day(), d.month(), d.year()),
        Lang::En => format!("{:02}/{:02}/{}", d.month(), d.day(), d.year()),
        Lang::De => format!("{:02}.{:02}.{}", d.day(), d.month(), d.year()),
    }
}

/// "14 h 30", "2:30 PM", "14:30 Uhr".
pub fn time(lang: Lang, t: jiff::civil::Time) -> String {
    match lang {
        Lang::Fr => format!("{} h {:02}", t.hour(), t.minute()),
        Lang::En => {
            let h = t.hour() % 12;
            let h = if h == 0 { 12 } else { h };
            format!("{h}:{:02} {}", t.minute(), if t.hour() < 12 { "AM" } else { "PM" })
        }
        Lang::De => format!("{}:{:02} Uhr", t.hour(), t.minute()),
    }
}

/// "novembre 2026", "November 2026".
pub fn month_year(lang: Lang, year: i16, month: i8) -> String {
    format!("{} {year}", month_name(lang, month))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_every_message_and_they_format() {
        let fr = message_ids(Lang::Fr);
        assert!(fr.len() > 50, "{} messages", fr.len());
        for lang in [Lang::En, Lang::De] {
            let ids = message_ids(lang);
            let missing: Vec<_> = fr.iter().filter(|id| !ids.contains(id)).collect();
            let extra: Vec<_> = ids.iter().filter(|id| !fr.contains(id)).collect();
            assert!(
                missing.is_empty() && extra.is_empty(),
                "{lang:?}: missing {missing:?}, extra {extra:?}"
            );
        }
        for lang in Lang::ALL {
            for id in &fr {
                let text = message(lang, id, Some(&args(&[("count", 2.into()), ("name", "X".into())])));
                assert!(!text.is_empty() && text != *id, "{lang:?} {id}");
            }
        }
    }

    #[test]
    fn accept_language_picks_the_best_we_have() {
        assert_eq!(Lang::negotiate(None), Lang::Fr);
        assert_eq!(Lang::negotiate(Some("en-GB,en;q=0.9,fr;q=0.8")), Lang::En);
        assert_eq!(Lang::negotiate(Some("es,de;q=0.5,en;q=0.4")), Lang::De);
        assert_eq!(Lang::negotiate(Some("fr;q=0.2,en;q=0.9")), Lang::En);
        assert_eq!(Lang::negotiate(Some("es, it")), Lang::Fr);
        assert_eq!(Lang::negotiate(Some("en;q=0")), Lang::Fr);
        assert_eq!(Lang::negotiate(Some(";;;,q=x,,")), Lang::Fr);
        assert_eq!(Lang::negotiate(Some("DE-at")), Lang::De);
    }

    #[test]
    fn numbers_and_dates_in_each_language() {
        assert_eq!(number(Lang::Fr, 1234567), "1\u{202f}234\u{202f}567");
        assert_eq!(number(Lang::En, 1234567), "1,234,567");
        assert_eq!(number(Lang::De, -1234), "-1.234");
        assert_eq!(number(Lang::En, 999), "999");
        let d = jiff::civil::date(2026, 11, 28);
        assert_eq!(date_long(Lang::Fr, d), "samedi 28 novembre 2026");
        assert_eq!(date_long(Lang::En, d), "Saturday, November 28, 2026");
        assert_eq!(date_long(Lang::De, d), "Samstag, 28. November 2026");
        let t = jiff::civil::time(14, 5, 0, 0);
        assert_eq!(time(Lang::Fr, t), "14 h 05");
        assert_eq!(time(Lang::En, t), "2:05 PM");
        assert_eq!(time(Lang::De, t), "14:05 Uhr");
    }
}
