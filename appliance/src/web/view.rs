//! Pieces of pages shared by several of them: an element's URL, its kind's name, its dates
//! and place in the visitor's language, a card in a list.

use jiff::tz::TimeZone;
use maud::{html, Markup};
use serde_json::Value;

use super::i18n;
use super::layout::{enc, Ctx};
use crate::model::{self, Element, Kind};

pub fn text<'a>(e: &'a Element, key: &str) -> Option<&'a str> {
    e.doc
        .get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

pub fn name(e: &Element) -> &str {
    text(e, "name").unwrap_or("—")
}

/// `/event/festival-de-crest`: the element's page.
pub fn url(e: &Element) -> String {
    match text(e, "slug") {
        Some(slug) => format!("/{}/{}", e.kind.as_str(), enc(slug)),
        None => format!("/{}/{}", e.kind.as_str(), e.id),
    }
}

pub fn kind_label(ctx: &Ctx<'_>, kind: Kind) -> String {
    ctx.t(&format!("kind-{}", kind.as_str()))
}

/// Whether only members and admins may see it (`preferences.private`).
pub fn is_private(e: &Element) -> bool {
    e.doc
        .get("preferences")
        .and_then(|p| p.get("private"))
        .is_some_and(|v| v == &Value::Bool(true) || v == "true")
}

/// The element's tags, normalised as the store keeps them.
pub fn tags(e: &Element) -> Vec<String> {
    e.doc
        .get("tags")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(model::normalize_tag)
                .filter(|t| !t.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

pub fn locality(e: &Element) -> Option<String> {
    let a = e.doc.get("address")?;
    let l = a.get("addressLocality").and_then(Value::as_str)?.trim();
    (!l.is_empty()).then(|| l.to_owned())
}

pub fn address(e: &Element) -> Option<String> {
    let a = e.doc.get("address")?;
    let parts: Vec<&str> = ["streetAddress", "postalCode", "addressLocality"]
        .iter()
        .filter_map(|k| {
            a.get(*k)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// (latitude, longitude) from `geo` or `geoPosition`.
pub fn position(e: &Element) -> Option<(f64, f64)> {
    let num = |v: Option<&Value>| -> Option<f64> {
        match v? {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    };
    if let Some(g) = e.doc.get("geo") {
        if let (Some(lat), Some(lon)) = (num(g.get("latitude")), num(g.get("longitude"))) {
            return Some((lat, lon));
        }
    }
    let c = e.doc.get("geoPosition")?.get("coordinates")?.as_array()?;
    Some((num(c.get(1))?, num(c.first())?))
}

/// An event's start and end in its own zone.
pub fn span(e: &Element, default: &TimeZone) -> Option<(jiff::ZonedDateTime, Option<jiff::ZonedDateTime>)> {
    let zone = model::element_zone(&e.doc, default).unwrap_or_else(|_| default.clone());
    let start = model::timestamp_from_value(e.doc.get("startDate")?, &zone)?;
    let end = e
        .doc
        .get("endDate")
        .and_then(|v| model::timestamp_from_value(v, &zone))
        .filter(|end| *end >= start);
    Some((
        start.to_zoned_datetime(zone.clone()),
        end.map(|t| t.to_zoned_datetime(zone)),
    ))
}

pub fn all_day(e: &Element) -> bool {
    e.doc
        .get("allDay")
        .is_some_and(|v| v == &Value::Bool(true) || v == "true")
}

/// "samedi 28 novembre 2026, 14 h 00 – 18 h 00", "du … au …" across days.
pub fn when(ctx: &Ctx<'_>, e: &Element) -> Option<String> {
    let (start, end) = span(e, ctx.hub.store.zone())?;
    let lang = ctx.lang;
    let day = |z: &jiff::ZonedDateTime| i18n::date_long(lang, z.date());
    let hour = |z: &jiff::ZonedDateTime| i18n::time(lang, z.time());
    let all_day = all_day(e);
    Some(match end {
        Some(end) if end.date() != start.date() => ctx.ta(
            "agenda-from-to",
            &[
                (
                    "from",
                    (if all_day {
                        day(&start)
                    } else {
                        format!("{}, {}", day(&start), hour(&start))
                    })
                    .into(),
                ),
                (
                    "to",
                    (if all_day {
                        day(&end)
                    } else {
                        format!("{}, {}", day(&end), hour(&end))
                    })
                    .into(),
                ),
            ],
        ),
        _ if all_day => format!("{}, {}", day(&start), ctx.t("agenda-all-day")),
        Some(end) if end != start => format!("{}, {} – {}", day(&start), hour(&start), hour(&end)),
        _ => format!("{}, {}", day(&start), hour(&start)),
    })
}

/// A short excerpt of the element's description.
pub fn summary(e: &Element) -> Option<String> {
    let text = text(e, "shortDescription").or_else(|| text(e, "description"))?;
    let mut out: String = text.chars().take(180).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    Some(out)
}

/// One element in a list.
pub fn card(ctx: &Ctx<'_>, e: &Element) -> Markup {
    let when = (e.kind == Kind::Event).then(|| when(ctx, e)).flatten();
    html! {
        li.card {
            span.kind { (kind_label(ctx, e.kind)) @if let Some(t) = text(e, "type").filter(|t| *t != "classifieds" && *t != "ressources") { " · " (t) } }
            h3 { a href=(url(e)) { (name(e)) } }
            @if let Some(w) = when { p.meta { time { (w) } } }
            @if let Some(l) = locality(e) { p.meta { (l) } }
            @if let Some(s) = summary(e) { p { (s) } }
            @if let Some(price) = price(ctx, e) { p.meta { (ctx.t("element-price")) " : " (price) } }
            (tag_list(&tags(e), 5))
        }
    }
}

/// Tags as links to the directory filtered by each.
pub fn tag_list(tags: &[String], max: usize) -> Markup {
    html! {
        @if !tags.is_empty() {
            ul.tags {
                @for t in tags.iter().take(max) {
                    li { a href={ "/directory?tags=" (enc(t)) } { "#" (t) } }
                }
            }
        }
    }
}

/// A classified's price with its currency.
pub fn price(ctx: &Ctx<'_>, e: &Element) -> Option<String> {
    let p = e.doc.get("price")?;
    let amount = match p {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().replace(',', ".").parse().ok()?,
        _ => return None,
    };
    if amount == 0.0 {
        return Some(ctx.t("element-price-free"));
    }
    let devise = text(e, "devise").unwrap_or("€");
    let whole = amount.trunc() as i64;
    let cents = ((amount - amount.trunc()) * 100.0).round() as i64;
    let number = i18n::number(ctx.lang, whole);
    Some(if cents == 0 {
        format!("{number} {devise}")
    } else {
        let sep = if ctx.lang == i18n::Lang::En { '.' } else { ',' };
        format!("{number}{sep}{cents:02} {devise}")
    })
}

/// Previous/next links of a paged list.
pub fn pager(ctx: &Ctx<'_>, next: Option<String>) -> Markup {
    let base = strip_param(&ctx.here, "cursor");
    let sep = if base.contains('?') { '&' } else { '?' };
    html! {
        @if let Some(n) = next {
            nav.pager aria-label=(ctx.t("next")) {
                span {}
                a.button.secondary rel="next" href={ (base) (sep) "cursor=" (enc(&n)) } { (ctx.t("next")) " →" }
            }
        }
    }
}

/// `path?a=1&cursor=x&b=2` without `name`.
pub fn strip_param(uri: &str, name: &str) -> String {
    let Some((path, query)) = uri.split_once('?') else {
        return uri.to_owned();
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty() && p.split('=').next() != Some(name))
        .collect();
    if kept.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", kept.join("&"))
    }
}
