//! `/agenda`: the events of the territory as a list (by day, sub-events nested under their
//! event), a week or a month, each with "add to my calendar" links.

use jiff::civil::Date;
use jiff::ToSpan;
use maud::{html, Markup};
use rocket::State;

use super::cache::PageCache;
use super::i18n;
use super::layout::{enc, page, Ctx};
use super::pages::{bad, load, parse_scopes, parse_tags, PageResult};
use super::view;
use crate::model::Element;
use crate::store::AgendaQuery;

#[derive(Clone, Copy, PartialEq, Eq)]
enum View {
    List,
    Week,
    Month,
}

impl View {
    fn as_str(self) -> &'static str {
        match self {
            View::List => "list",
            View::Week => "week",
            View::Month => "month",
        }
    }
}

/// The parent event of a sub-event (`parentId` of an event, or its `parent` link).
fn parent_of(e: &Element) -> Option<String> {
    if e.doc.get("parentType").and_then(|v| v.as_str()) == Some("events") {
        if let Some(p) = view::text(e, "parentId") {
            return Some(p.to_owned());
        }
    }
    e.links
        .iter()
        .find(|l| l.link_type == "parent")
        .map(|l| l.other.to_string())
}

fn event_line(ctx: &Ctx<'_>, e: &Element, children: &[&Element]) -> Markup {
    let href = view::url(e);
    html! {
        li.card {
            h3 { a href=(href) { (view::name(e)) } }
            @if let Some(w) = view::when(ctx, e) { p.meta { time { (w) } } }
            @if let Some(l) = view::locality(e) { p.meta { (l) } }
            @if let Some(s) = view::summary(e) { p { (s) } }
            p.meta { a href={ (href) "/calendar.ics" } { (ctx.t("agenda-add-calendar")) } }
            @if !children.is_empty() {
                div.sub {
                    p.meta { strong { (ctx.t("agenda-sub-events")) } }
                    ul.cards { @for c in children { (event_line(ctx, c, &[])) } }
                }
            }
        }
    }
}

/// Events grouped by their start day, sub-events under their parent when it is listed.
fn by_day(ctx: &Ctx<'_>, events: &[Element]) -> Markup {
    let listed: std::collections::HashSet<String> = events.iter().map(|e| e.id.to_string()).collect();
    let zone = ctx.hub.store.zone();
    let mut days: Vec<(Date, Vec<&Element>)> = Vec::new();
    for e in events {
        if parent_of(e).is_some_and(|p| listed.contains(&p)) {
            continue;
        }
        let Some((start, _)) = view::span(e, zone) else {
            continue;
        };
        match days.last_mut() {
            Some((d, list)) if *d == start.date() => list.push(e),
            _ => days.push((start.date(), vec![e])),
        }
    }
    html! {
        @if days.is_empty() { p.meta { (ctx.t("empty")) } }
        @for (day, list) in &days {
            section.day {
                h3 { (i18n::date_long(ctx.lang, *day)) }
                ul.cards {
                    @for e in list {
                        @let id = e.id.to_string();
                        @let children: Vec<&Element> = events.iter().filter(|c| parent_of(c).as_deref() == Some(id.as_str())).collect();
                        (event_line(ctx, e, &children))
                    }
                }
            }
        }
    }
}

fn month_grid(ctx: &Ctx<'_>, first: Date, events: &[Element], today: Date) -> Markup {
    let zone = ctx.hub.store.zone();
    let start = first - (first.weekday().to_monday_zero_offset() as i64).days();
    let last = first.last_of_month();
    let weeks = ((last - start).get_days() / 7) + 1;
    let mut on_day: std::collections::BTreeMap<Date, Vec<&Element>> = Default::default();
    for e in events {
        if let Some((s, end)) = view::span(e, zone) {
            let end_day = end.map_or(s.date(), |e| e.date()).min(last);
            let mut d = s.date().max(start);
            while d <= end_day {
                on_day.entry(d).or_default().push(e);
                d = d.tomorrow().unwrap_or(d);
                if d == end_day && d == Date::MAX {
                    break;
                }
            }
        }
    }
    let monday = jiff::civil::Weekday::Monday;
    html! {
        table.month {
            caption.visually-hidden { (i18n::month_year(ctx.lang, first.year(), first.month())) }
            thead { tr { @for i in 0..7i8 { th scope="col" { (i18n::weekday_short(ctx.lang, monday.wrapping_add(i))) } } } }
            tbody {
                @for w in 0..weeks {
                    tr {
                        @for i in 0..7 {
                            @let d = start + (w * 7 + i).days();
                            @let class = if d.month() != first.month() { "other" } else if d == today { "today" } else { "" };
                            td class=(class) {
                                span aria-hidden="true" { (d.day()) }
                                span.visually-hidden { (i18n::date_long(ctx.lang, d)) }
                                @if let Some(list) = on_day.get(&d) {
                                    ul {
                                        @for e in list.iter().take(3) { li { a href=(view::url(e)) title=(view::name(e)) { (view::name(e)) } } }
                                        @if list.len() > 3 { li.meta { "+" (list.len() - 3) } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `/agenda?view=list|week|month&date=YYYY-MM-DD&tags=&scope=`
#[rocket::get("/agenda?<view>&<date>&<tags>&<scope>&<cursor>")]
pub async fn agenda(
    ctx: Ctx<'_>,
    cache: &State<PageCache>,
    view: Option<&str>,
    date: Option<&str>,
    tags: Option<&str>,
    scope: Option<&str>,
    cursor: Option<&str>,
) -> PageResult {
    super::pages::require(&ctx, crate::config::Module::Agenda)?;
    let v = match view.unwrap_or("list") {
        "" | "list" => View::List,
        "week" => View::Week,
        "month" => View::Month,
        other => {
            return Err(bad(
                &ctx,
                ctx.ta("agenda-bad-view", &[("value", other.to_owned().into())]),
            ))
        }
    };
    let zone = ctx.hub.store.zone().clone();
    let today = jiff::Timestamp::now().to_zoned_datetime(zone.clone()).date();
    let day = match date.map(str::trim).filter(|d| !d.is_empty()) {
        None => today,
        Some(d) => d
            .parse::<Date>()
            .or_else(|_| format!("{d}-01").parse::<Date>())
            .ok()
            .filter(|d| (1900..=2200).contains(&d.year()))
            .ok_or_else(|| bad(&ctx, ctx.ta("agenda-bad-date", &[("value", d.to_owned().into())])))?,
    };
    let tags = parse_tags(tags);
    let scopes = parse_scopes(&ctx, scope)?;
    let cursor = match cursor {
        None | Some("") => None,
        Some(c)
            if c.len() <= 64
                && c.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.') =>
        {
            Some(c.to_owned())
        }
        Some(_) => return Err(bad(&ctx, ctx.t("bad-cursor"))),
    };
    if let Some(hit) = cache.get(&ctx) {
        return Ok(hit);
    }
    let (from, to) = match v {
        View::List => (day, day + 60.days()),
        View::Week => {
            let monday = day - (day.weekday().to_monday_zero_offset() as i64).days();
            (monday, monday + 7.days())
        }
        View::Month => (day.first_of_month(), day.last_of_month().tomorrow().unwrap_or(day)),
    };
    let at = |d: Date| {
        zone.to_timestamp(d.to_datetime(jiff::civil::Time::midnight()))
            .map(|t| t.as_second())
            .unwrap_or(0)
    };
    let query = AgendaQuery {
        from: Some(at(from)),
        to: Some(at(to)),
        scopes,
        tags: tags.clone(),
        limit: if v == View::List { 50 } else { 500 },
        cursor,
        visibility: ctx.reader.visibility(),
        member_of: ctx.reader.member_of.clone(),
        ..Default::default()
    };
    let store = ctx.hub.store.clone();
    let page_ = load(&ctx, move || store.agenda(&query)).await?;
    let tag_q = if tags.is_empty() {
        String::new()
    } else {
        format!("&tags={}", enc(&tags.join(",")))
    };
    let link = |view: View, date: Date| format!("/agenda?view={}&date={}{}", view.as_str(), date, tag_q);
    let (prev, next, heading) = match v {
        View::List => (None, None, i18n::date_long(ctx.lang, day)),
        View::Week => (
            Some(from - 7.days()),
            Some(to),
            ctx.ta("agenda-week-of", &[("date", i18n::date_long(ctx.lang, from).into())]),
        ),
        View::Month => (
            Some((from - 1.days()).first_of_month()),
            Some(to),
            i18n::month_year(ctx.lang, from.year(), from.month()),
        ),
    };
    let body = html! {
        h1 { (ctx.t("agenda-title")) }
        nav.views aria-label=(ctx.t("agenda-title")) {
            @for (vv, id) in [(View::List, "agenda-list"), (View::Week, "agenda-week"), (View::Month, "agenda-month")] {
                a href=(link(vv, day)) aria-current=[(vv == v).then_some("page")] { (ctx.t(id)) }
            }
            a href=(link(v, today)) { (ctx.t("agenda-today")) }
        }
        form.filters method="get" action="/agenda" {
            input type="hidden" name="view" value=(v.as_str());
            div {
                label for="a-date" { "Date" }
                input #a-date type="date" name="date" value=(day.to_string());
            }
            div {
                label for="a-tags" { (ctx.t("filter-tags")) }
                input #a-tags type="text" name="tags" value=(tags.join(","));
            }
            button type="submit" { (ctx.t("filter-apply")) }
        }
        h2 { (heading) }
        @if let (Some(p), Some(n)) = (prev, next) {
            nav.pager {
                a rel="prev" href=(link(v, p)) { "← " (ctx.t("previous")) }
                a rel="next" href=(link(v, n)) { (ctx.t("next")) " →" }
            }
        }
        @match v {
            View::Month => (month_grid(&ctx, from, &page_.items, today)),
            _ => (by_day(&ctx, &page_.items)),
        }
        @if v == View::List { (view::pager(&ctx, page_.next)) }
        p {
            a href={ "/map?from=agenda" (tag_q) } { (ctx.t("show-map")) }
            " · "
            a href="/agenda.ics" { (ctx.t("agenda-subscribe")) }
            " · "
            a href="/submit" { (ctx.t("submit-link")) }
        }
    };
    Ok(cache.put(&ctx, page(&ctx, &ctx.t("agenda-title"), body)))
}
