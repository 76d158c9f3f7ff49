//! The hub's feeds: the agenda and live feed as JSON, iCalendar (RFC 5545) and Atom
//! (RFC 4287), and the map's points as GeoJSON (RFC 7946).
//!
//! The iCalendar and Atom writers are small and hand-written rather than crates: the
//! `icalendar` crate pulls chrono in, escapes by guessing each property's value type (so the
//! commas between CATEGORIES would be escaped) and measures its folds partly in characters;
//! `atom_syndication` pulls chrono, quick-xml and derive_builder in for a feed of one shape.
//! Both formats' traps are few and tested here: CRLF, 75-octet folds that never split a
//! character, TEXT escaping; XML escaping and the characters XML 1.0 forbids.

use std::collections::HashMap;

use jiff::Timestamp;
use rocket::fairing::AdHoc;
use rocket::http::ContentType;
use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::content::RawJson;
use rocket::State;
use serde_json::{json, Value};

use crate::api::{blocking, ApiResult, Hub, Viewer};
use crate::config::Module;
use crate::error::Error;
use crate::model::{self, Element, Kind, Record};
use crate::store::{AgendaQuery, BBox, LiveQuery, MapQuery, Store, Visibility, LIVE_MAX_LIMIT, MAX_LIMIT};
use crate::territory::Scope;

const DAY: i64 = 86_400;
/// The agenda's default span, from its start.
const AGENDA_SPAN: i64 = 365 * DAY;
/// The longest span the agenda may be asked for.
const AGENDA_MAX_SPAN: i64 = 10 * 366 * DAY;
/// `/agenda.ics`: events from this long ago…
const ICS_PAST: i64 = 30 * DAY;
/// …to this far ahead.
const ICS_AHEAD: i64 = 365 * DAY;
/// Most events in one iCalendar feed.
const ICS_MAX_EVENTS: usize = 5000;
/// Events read per store page while writing a feed.
const ICS_PAGE: usize = 200;
/// Posts in `/live.atom`.
const ATOM_ENTRIES: usize = 50;
/// Most points in one GeoJSON answer.
pub const MAP_MAX_POINTS: usize = 5000;

// ---------------------------------------------------------------------------------------
// Query values. Each bad value is a 400 that names it.

/// How a date given as a day (`YYYY-MM-DD`) is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DayBound {
    /// Its first second (midnight in the hub's zone): a lower bound.
    Start,
    /// Its last second: an inclusive upper bound (what `/api/v1/search`'s own `parse_date`
    /// does; it can move to this helper).
    #[cfg_attr(not(test), allow(dead_code))]
    LastSecond,
    /// The next midnight: an exclusive upper bound (what the agenda uses).
    NextDay,
}

/// A date bound from a query: `YYYY-MM-DD` (a day in `zone`, read as `bound` says), an RFC
/// 3339 time, or epoch seconds. Empty is `None`; anything else, or a time outside the years
/// -9999 to 9999, is a 400 naming `name`.
pub(crate) fn parse_date(
    name: &str,
    v: Option<&str>,
    zone: &jiff::tz::TimeZone,
    bound: DayBound,
) -> Result<Option<i64>, Error> {
    let Some(v) = v.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let bad = || {
        Error::BadRequest(format!(
            "{name} \"{v}\" must be a date (YYYY-MM-DD), an RFC 3339 time or epoch seconds"
        ))
    };
    if let Ok(secs) = v.parse::<i64>() {
        return Timestamp::from_second(secs).map(|_| Some(secs)).map_err(|_| bad());
    }
    if let Ok(ts) = v.parse::<Timestamp>() {
        return Ok(Some(ts.as_second()));
    }
    let day = v.parse::<jiff::civil::Date>().map_err(|_| bad())?;
    let midnight = |d: jiff::civil::Date| {
        zone.to_timestamp(d.to_datetime(jiff::civil::Time::midnight()))
            .map(|t| t.as_second())
            .map_err(|_| bad())
    };
    let next = || day.checked_add(jiff::Span::new().days(1)).map_err(|_| bad());
    Ok(Some(match bound {
        DayBound::Start => midnight(day)?,
        DayBound::LastSecond => midnight(next()?)? - 1,
        DayBound::NextDay => midnight(next()?)?,
    }))
}

/// `limit=`: a whole number from 1 to `max`, `default` when absent.
pub(crate) fn parse_limit(v: Option<&str>, default: usize, max: usize) -> Result<usize, Error> {
    match v.map(str::trim) {
        None | Some("") => Ok(default),
        Some(s) => s
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| Error::BadRequest(format!("limit must be a whole number from 1 to {max}"))),
    }
}

/// `type=event,poi`: kinds in any spelling [`Kind::parse`] accepts; an unknown one is a 400.
pub(crate) fn parse_kinds(v: Option<&str>) -> Result<Vec<Kind>, Error> {
    v.unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            Kind::parse(s).ok_or_else(|| {
                Error::BadRequest(format!(
                    "type \"{s}\" is not a kind: use person, organization, project, event, poi, classified or resource"
                ))
            })
        })
        .collect()
}

/// `tags=jardin,#vélo`: normalised as the store keeps them.
pub(crate) fn parse_tags(v: Option<&str>) -> Result<Vec<String>, Error> {
    let tags: Vec<String> = v
        .unwrap_or("")
        .split(',')
        .map(model::normalize_tag)
        .filter(|t| !t.is_empty())
        .collect();
    if tags.len() > 64 {
        return Err(Error::BadRequest("tags: at most 64".into()));
    }
    Ok(tags)
}

/// `scope=city:26108,dep:07`
pub(crate) fn parse_scopes(v: Option<&str>) -> Result<Vec<Scope>, Error> {
    Scope::parse_list(v.unwrap_or("")).map_err(|e| Error::BadRequest(format!("scope: {e}")))
}

/// `bbox=MIN_LON,MIN_LAT,MAX_LON,MAX_LAT` (RFC 7946's order), in range, min ≤ max.
pub(crate) fn parse_bbox(v: Option<&str>) -> Result<Option<BBox>, Error> {
    let Some(v) = v.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let bad = || {
        Error::BadRequest(format!(
            "bbox \"{v}\" must be MIN_LON,MIN_LAT,MAX_LON,MAX_LAT in degrees (e.g. 4.9,44.6,5.2,44.9)"
        ))
    };
    let n: Vec<f64> = v
        .split(',')
        .map(|p| p.trim().parse::<f64>().ok().filter(|f| f.is_finite()).ok_or_else(bad))
        .collect::<Result<_, _>>()?;
    let [min_lon, min_lat, max_lon, max_lat] = n[..] else {
        return Err(bad());
    };
    let lon = -180.0..=180.0;
    let lat = -90.0..=90.0;
    if !(lon.contains(&min_lon) && lon.contains(&max_lon) && lat.contains(&min_lat) && lat.contains(&max_lat))
        || min_lon > max_lon
        || min_lat > max_lat
    {
        return Err(bad());
    }
    Ok(Some(BBox {
        min_lon,
        min_lat,
        max_lon,
        max_lat,
    }))
}

/// A module the admin turned off answers 404.
fn module_on(hub: &Hub, module: Module) -> Result<(), Error> {
    if hub.module_on(module) {
        Ok(())
    } else {
        Err(Error::not_found(format!("the {module} module")))
    }
}

/// The name the visitor reached the hub by (its `Host`), for absolute links in feeds; the
/// hub's LAN name when there is none or it is not a plain host name.
struct HubHost(String);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for HubHost {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let given = req.headers().get_one("Host").map(str::trim).filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        });
        let host = match (given, req.rocket().state::<Hub>()) {
            (Some(h), _) => h.to_owned(),
            (None, Some(hub)) => hub.config.network.lan_name(),
            (None, None) => "copi.lan".to_owned(),
        };
        Outcome::Success(HubHost(host))
    }
}

impl HubHost {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.0)
    }
}

// ---------------------------------------------------------------------------------------
// JSON.

/// `GET /api/v1/agenda?from=&to=&scope=&tags=&limit=&cursor=`: events by start.
#[rocket::get("/api/v1/agenda?<from>&<to>&<scope>&<tags>&<limit>&<cursor>")]
#[allow(clippy::too_many_arguments)]
async fn agenda(
    hub: &State<Hub>,
    reader: crate::store::Reader,
    from: Option<&str>,
    to: Option<&str>,
    scope: Option<&str>,
    tags: Option<&str>,
    limit: Option<&str>,
    cursor: Option<&str>,
) -> ApiResult<RawJson<String>> {
    module_on(hub, Module::Agenda)?;
    let zone = hub.store.zone().clone();
    let from = parse_date("from", from, &zone, DayBound::Start)?.unwrap_or_else(model::now_seconds);
    let to = parse_date("to", to, &zone, DayBound::NextDay)?.unwrap_or(from.saturating_add(AGENDA_SPAN));
    if to <= from {
        return Err(Error::BadRequest("to must be after from".into()).into());
    }
    if to - from > AGENDA_MAX_SPAN {
        return Err(Error::BadRequest("from and to may be at most ten years apart".into()).into());
    }
    let query = AgendaQuery {
        from: Some(from),
        to: Some(to),
        scopes: parse_scopes(scope)?,
        tags: parse_tags(tags)?,
        parent: None,
        limit: parse_limit(limit, 20, MAX_LIMIT)?,
        cursor: cursor.map(str::to_owned),
        visibility: reader.visibility(),
        member_of: reader.member_of.clone(),
    };
    let store = hub.store.clone();
    let body = blocking(move || {
        let page = store.agenda(&query)?;
        let items: Vec<Value> = page.items.iter().map(Element::to_json).collect();
        Ok(json!({"items": items, "next": page.next}).to_string())
    })
    .await?;
    Ok(RawJson(body))
}

/// `{id, kind, name, slug}` of an element.
fn element_ref(e: &Element) -> Value {
    json!({
        "id": e.id.as_str(),
        "kind": e.kind.as_str(),
        "name": e.doc.get("name"),
        "slug": e.doc.get("slug"),
    })
}

fn post_json(post: &Record, element: Option<&Element>) -> Value {
    let mut v = post.to_json();
    if let Value::Object(m) = &mut v {
        m.insert("id".into(), Value::String(post.id.to_string()));
        m.insert("element".into(), element.map_or(Value::Null, element_ref));
    }
    v
}

/// `GET /api/v1/live?scope=&limit=&cursor=`: the latest public posts, newest first.
#[rocket::get("/api/v1/live?<scope>&<limit>&<cursor>")]
async fn live(
    hub: &State<Hub>,
    viewer: Viewer,
    scope: Option<&str>,
    limit: Option<&str>,
    cursor: Option<&str>,
) -> ApiResult<RawJson<String>> {
    module_on(hub, Module::Live)?;
    let query = LiveQuery {
        scopes: parse_scopes(scope)?,
        limit: parse_limit(limit, 20, LIVE_MAX_LIMIT)?,
        cursor: cursor.map(str::to_owned),
        visibility: viewer.0,
    };
    let store = hub.store.clone();
    let body = blocking(move || {
        let page = store.live(&query)?;
        let items: Vec<Value> = page.items.iter().map(|(p, e)| post_json(p, e.as_ref())).collect();
        Ok(json!({"items": items, "next": page.next}).to_string())
    })
    .await?;
    Ok(RawJson(body))
}

/// `GET /api/v1/map.geojson?type=&tags=&scope=&bbox=`: geolocated elements as an RFC 7946
/// FeatureCollection, at most [`MAP_MAX_POINTS`] (then `"truncated": true`).
#[rocket::get("/api/v1/map.geojson?<type>&<tags>&<scope>&<bbox>")]
async fn map_geojson(
    hub: &State<Hub>,
    reader: crate::store::Reader,
    r#type: Option<&str>,
    tags: Option<&str>,
    scope: Option<&str>,
    bbox: Option<&str>,
) -> ApiResult<(ContentType, String)> {
    module_on(hub, Module::Map)?;
    // Kinds whose module is off are never on the map: an explicit one is a 404.
    let mut kinds = parse_kinds(r#type)?;
    if let Some(k) = kinds.iter().find(|k| !hub.kind_on(**k)) {
        return Err(Error::not_found(format!("the kind {} (its module is off)", k.as_str())).into());
    }
    if kinds.is_empty() && hub.kinds_on().len() < Kind::ALL.len() {
        kinds = hub.kinds_on();
    }
    let query = MapQuery {
        kinds,
        tags: parse_tags(tags)?,
        scopes: parse_scopes(scope)?,
        bbox: parse_bbox(bbox)?,
        visibility: reader.visibility(),
        member_of: reader.member_of.clone(),
        // One more than shown, to know whether there were more.
        limit: MAP_MAX_POINTS + 1,
    };
    let store = hub.store.clone();
    let body = blocking(move || {
        let mut points = store.map_points(&query)?;
        let truncated = points.len() > MAP_MAX_POINTS;
        points.truncate(MAP_MAX_POINTS);
        let features: Vec<Value> = points
            .iter()
            .map(|p| {
                let mut properties = json!({
                    "id": p.id.as_str(),
                    "kind": p.kind.as_str(),
                    "type": p.type_,
                    "name": p.name,
                    "slug": p.slug,
                    "url": format!("/{}/{}", p.kind.as_str(), super::layout::enc(&p.slug)),
                });
                if let Some(start) = p.start_at.and_then(|s| Timestamp::from_second(s).ok()) {
                    properties["start"] = Value::String(start.to_string());
                }
                json!({
                    "type": "Feature",
                    "id": p.id.as_str(),
                    "geometry": {"type": "Point", "coordinates": [p.lon, p.lat]},
                    "properties": properties,
                })
            })
            .collect();
        Ok(json!({
            "type": "FeatureCollection",
            "features": features,
            "truncated": truncated,
            "limit": MAP_MAX_POINTS,
        })
        .to_string())
    })
    .await?;
    Ok((ContentType::new("application", "geo+json"), body))
}

// ---------------------------------------------------------------------------------------
// iCalendar.

fn calendar_type() -> ContentType {
    ContentType::new("text", "calendar").with_params(("charset", "utf-8"))
}

/// An iCalendar writer: content lines end in CRLF and are folded so that no line is longer
/// than 75 octets (the continuation's leading space included) and no character is split.
struct Ical {
    out: String,
}

impl Ical {
    fn new(name: &str) -> Ical {
        let mut cal = Ical { out: String::new() };
        cal.raw("BEGIN", "VCALENDAR");
        cal.raw("VERSION", "2.0");
        cal.raw("PRODID", concat!("-//CoPi//CoPi ", env!("CARGO_PKG_VERSION"), "//FR"));
        cal.raw("CALSCALE", "GREGORIAN");
        cal.text("NAME", name);
        cal.text("X-WR-CALNAME", name);
        cal
    }

    fn finish(mut self) -> String {
        self.raw("END", "VCALENDAR");
        self.out
    }

    /// A content line whose value is written as given (already in its value type's syntax).
    fn raw(&mut self, name: &str, value: &str) {
        fold_line(&mut self.out, &format!("{name}:{value}"));
    }

    /// A TEXT property.
    fn text(&mut self, name: &str, value: &str) {
        self.raw(name, &escape_text(value));
    }
}

/// Writes one content line folded at 75 octets, then CRLF.
fn fold_line(out: &mut String, line: &str) {
    const MAX: usize = 75;
    let mut used = 0;
    for c in line.chars() {
        let n = c.len_utf8();
        if used + n > MAX {
            out.push_str("\r\n ");
            used = 1;
        }
        out.push(c);
        used += n;
    }
    out.push_str("\r\n");
}

/// TEXT values (RFC 5545 §3.3.11): backslash, semicolon and comma escaped, line breaks as
/// `\n`, other control characters (which TEXT may not hold) dropped.
fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' => {
                if chars.peek() != Some(&'\n') {
                    out.push_str("\\n");
                }
            }
            '\n' => out.push_str("\\n"),
            '\t' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

fn utc_stamp(t: i64) -> Option<String> {
    Timestamp::from_second(t)
        .ok()
        .map(|t| t.strftime("%Y%m%dT%H%M%SZ").to_string())
}

fn doc_str<'a>(e: &'a Element, key: &str) -> Option<&'a str> {
    e.doc
        .get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// "Salle des fêtes, 2 rue …, 26400 Crest"
fn address_line(e: &Element) -> Option<String> {
    let a = e.doc.get("address")?;
    let field = |k: &str| {
        a.get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let town = [field("postalCode"), field("addressLocality")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let parts: Vec<&str> = [field("streetAddress"), (!town.is_empty()).then_some(town.as_str())]
        .into_iter()
        .flatten()
        .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// The element's tags as written, without `#`, each once.
fn raw_tags(e: &Element) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    for t in e.doc.get("tags").and_then(Value::as_array).into_iter().flatten() {
        let Some(t) = t.as_str().map(|t| t.trim().trim_start_matches('#').trim()) else {
            continue;
        };
        if !t.is_empty() && !tags.iter().any(|x| x.eq_ignore_ascii_case(t)) {
            tags.push(t.to_owned());
        }
    }
    tags
}

fn is_all_day(e: &Element) -> bool {
    matches!(e.doc.get("allDay"), Some(v) if v == &Value::Bool(true) || v == "true")
}

/// Writes one event as a VEVENT; an event whose document no longer validates is skipped.
fn write_event(cal: &mut Ical, mut e: Element, zone: &jiff::tz::TimeZone, host: &HubHost, now: &str) {
    let facts = match model::check(e.kind, &mut e.doc, zone) {
        Ok(f) => f,
        Err(err) => {
            tracing::warn!(id = %e.id, error = %err, "event left out of the calendar");
            return;
        }
    };
    let Some(start) = facts.start else { return };
    let event_zone = model::element_zone(&e.doc, zone).unwrap_or_else(|_| zone.clone());
    cal.raw("BEGIN", "VEVENT");
    cal.raw("UID", &format!("{}@copi", e.id));
    cal.raw("DTSTAMP", now);
    if is_all_day(&e) {
        // Whole days in the event's zone; DTEND is the day after the last one.
        let day = |t: i64| {
            Timestamp::from_second(t)
                .ok()
                .map(|t| t.to_zoned_datetime(event_zone.clone()))
        };
        if let Some(first) = day(start) {
            let last = facts.end.filter(|end| *end > start).and_then(day);
            let end_day = match &last {
                // An end at midnight is already exclusive.
                Some(z) if z.time() == jiff::civil::Time::midnight() => Some(z.date()),
                Some(z) => z.date().checked_add(jiff::Span::new().days(1)).ok(),
                None => first.date().checked_add(jiff::Span::new().days(1)).ok(),
            };
            cal.raw("DTSTART;VALUE=DATE", &first.date().strftime("%Y%m%d").to_string());
            if let Some(end) = end_day {
                cal.raw("DTEND;VALUE=DATE", &end.strftime("%Y%m%d").to_string());
            }
        }
    } else if let Some(s) = utc_stamp(start) {
        cal.raw("DTSTART", &s);
        if let Some(end) = facts.end.filter(|end| *end > start).and_then(utc_stamp) {
            cal.raw("DTEND", &end);
        }
    }
    cal.text("SUMMARY", &facts.name);
    if let Some(d) = doc_str(&e, "shortDescription") {
        cal.text("DESCRIPTION", d);
    }
    if let Some(a) = address_line(&e) {
        cal.text("LOCATION", &a);
    }
    if let Some((lat, lon)) = facts.position {
        cal.raw("GEO", &format!("{lat};{lon}"));
    }
    cal.raw("URL", &host.url(&super::view::url(&e)));
    let tags = raw_tags(&e);
    if !tags.is_empty() {
        let escaped: Vec<String> = tags.iter().map(|t| escape_text(t)).collect();
        cal.raw("CATEGORIES", &escaped.join(","));
    }
    let modified = ["updated", "modified"]
        .iter()
        .filter_map(|k| e.doc.get(*k))
        .find_map(|v| model::timestamp_from_value(v, &event_zone));
    if let Some(m) = modified.and_then(|m| utc_stamp(m.as_second())) {
        cal.raw("LAST-MODIFIED", &m);
    }
    cal.raw("END", "VEVENT");
}

/// Writes the agenda `query` selects, page by page, at most [`ICS_MAX_EVENTS`] events.
fn write_agenda(cal: &mut Ical, store: &Store, mut query: AgendaQuery, host: &HubHost) -> crate::error::Result<()> {
    let now = utc_stamp(model::now_seconds()).unwrap_or_default();
    let mut written = 0;
    query.limit = ICS_PAGE;
    loop {
        let page = store.agenda(&query)?;
        for e in page.items {
            if written == ICS_MAX_EVENTS {
                return Ok(());
            }
            write_event(cal, e, store.zone(), host, &now);
            written += 1;
        }
        match page.next {
            Some(next) => query.cursor = Some(next),
            None => return Ok(()),
        }
    }
}

/// `GET /agenda.ics?scope=&tags=`: the coming events (and those of the last 30 days).
#[rocket::get("/agenda.ics?<scope>&<tags>")]
async fn agenda_ics(
    hub: &State<Hub>,
    reader: crate::store::Reader,
    host: HubHost,
    scope: Option<&str>,
    tags: Option<&str>,
) -> ApiResult<(ContentType, String)> {
    module_on(hub, Module::Agenda)?;
    let now = model::now_seconds();
    let query = AgendaQuery {
        from: Some(now - ICS_PAST),
        to: Some(now + ICS_AHEAD),
        scopes: parse_scopes(scope)?,
        tags: parse_tags(tags)?,
        visibility: reader.visibility(),
        member_of: reader.member_of.clone(),
        ..AgendaQuery::default()
    };
    let store = hub.store.clone();
    let name = hub.identity().name.clone();
    let body = blocking(move || {
        let mut cal = Ical::new(&name);
        write_agenda(&mut cal, &store, query, &host)?;
        Ok(cal.finish())
    })
    .await?;
    Ok((calendar_type(), body))
}

/// `GET /<kind>/<slug>/calendar.ics`: an event with its sub-events, or the events an element
/// organises or holds (from a year ago on).
#[rocket::get("/<kind>/<slug>/calendar.ics", rank = 20)]
async fn element_ics(
    hub: &State<Hub>,
    reader: crate::store::Reader,
    host: HubHost,
    kind: &str,
    slug: &str,
) -> ApiResult<(ContentType, String)> {
    module_on(hub, Module::Agenda)?;
    let not_found = || Error::not_found(format!("/{kind}/{slug}"));
    let kind = Kind::parse(kind).ok_or_else(not_found)?;
    let slug = slug.to_owned();
    let store = hub.store.clone();
    let hub_name = hub.identity().name.clone();
    let found = blocking(move || {
        let Some(id) = store.element_id_by_slug(&slug)? else {
            return Ok(None);
        };
        let Some(element) = store.get_element_for(&id, &reader)?.filter(|e| e.kind == kind) else {
            return Ok(None);
        };
        let name = doc_str(&element, "name").unwrap_or(&slug).to_owned();
        let mut cal = Ical::new(&format!("{hub_name} — {name}"));
        let query = AgendaQuery {
            parent: Some(element.id.clone()),
            visibility: reader.visibility(),
            member_of: reader.member_of.clone(),
            from: (kind != Kind::Event).then(|| model::now_seconds() - 365 * DAY),
            ..AgendaQuery::default()
        };
        if kind == Kind::Event {
            let now = utc_stamp(model::now_seconds()).unwrap_or_default();
            write_event(&mut cal, element, store.zone(), &host, &now);
        }
        write_agenda(&mut cal, &store, query, &host)?;
        Ok(Some(cal.finish()))
    })
    .await?;
    let body = found.ok_or_else(not_found)?;
    Ok((calendar_type(), body))
}

// ---------------------------------------------------------------------------------------
// Atom.

/// Text for XML content and attributes: the five special characters escaped, and the
/// characters XML 1.0 cannot hold at all (most C0 controls, U+FFFE, U+FFFF) dropped.
fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// A feed id from the instance id: a `urn:uuid:` when it is 32 hex digits (as CoPi makes
/// them), else a `tag:` URI.
fn feed_id(instance: &str) -> String {
    if instance.len() == 32 && instance.chars().all(|c| c.is_ascii_hexdigit()) {
        let i = instance.to_ascii_lowercase();
        format!(
            "urn:uuid:{}-{}-{}-{}-{}",
            &i[..8],
            &i[8..12],
            &i[12..16],
            &i[16..20],
            &i[20..]
        )
    } else {
        let safe: String = instance
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        format!("tag:copi,2025:hub/{safe}")
    }
}

/// A post's title: its first line, cut at 80 characters.
fn post_title(post: &Record, element: Option<&Element>) -> String {
    let text = post.doc.get("text").and_then(Value::as_str).unwrap_or("");
    let line = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
    if line.is_empty() {
        return element
            .and_then(|e| doc_str(e, "name"))
            .map_or_else(|| "Publication".to_owned(), |n| format!("Publication — {n}"));
    }
    let mut title: String = line.chars().take(80).collect();
    if line.chars().count() > 80 {
        title.push('…');
    }
    title
}

fn post_time(post: &Record, key: &str, zone: &jiff::tz::TimeZone) -> Option<Timestamp> {
    post.doc
        .get(key)
        .and_then(|v| model::timestamp_from_value(v, zone))
        // Whole seconds: RFC 3339 without a fraction.
        .map(|t| Timestamp::from_second(t.as_second()).unwrap_or(t))
}

/// Names of the posts' authors the viewer may see: the element itself when the post says
/// it is the author, else the person when public.
fn author_names(
    store: &Store,
    posts: &[(Record, Option<Element>)],
    viewer: Visibility,
) -> crate::error::Result<HashMap<String, String>> {
    let mut names = HashMap::new();
    for (post, _) in posts {
        let Some(author) = post.doc.get("author").and_then(model::id_from_value) else {
            continue;
        };
        if names.contains_key(author.as_str()) {
            continue;
        }
        if let Some(person) = store.get_element(&author, viewer)? {
            if let Some(name) = doc_str(&person, "name") {
                names.insert(author.to_string(), name.to_owned());
            }
        } else if let Some(name) = post.doc.get("authorName").and_then(serde_json::Value::as_str) {
            // A post that came by sync from where its (public) author is.
            names.insert(author.to_string(), name.to_owned());
        }
    }
    Ok(names)
}

fn write_atom(
    hub_name: &str,
    instance: &str,
    host: &HubHost,
    posts: &[(Record, Option<Element>)],
    authors: &HashMap<String, String>,
    zone: &jiff::tz::TimeZone,
) -> String {
    let now = Timestamp::from_second(model::now_seconds()).unwrap_or(Timestamp::UNIX_EPOCH);
    let updated = |p: &Record| {
        post_time(p, "updated", zone)
            .or_else(|| post_time(p, "created", zone))
            .unwrap_or(now)
    };
    let feed_updated = posts.iter().map(|(p, _)| updated(p)).max().unwrap_or(now);
    let mut x = String::with_capacity(1024 + posts.len() * 1024);
    x.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    x.push_str("<feed xmlns=\"http://www.w3.org/2005/Atom\">\n");
    x.push_str(&format!("  <id>{}</id>\n", xml_escape(&feed_id(instance))));
    x.push_str(&format!("  <title>{}</title>\n", xml_escape(hub_name)));
    x.push_str(&format!("  <updated>{feed_updated}</updated>\n"));
    x.push_str(&format!("  <author><name>{}</name></author>\n", xml_escape(hub_name)));
    x.push_str(&format!(
        "  <link rel=\"self\" type=\"application/atom+xml\" href=\"{}\"/>\n",
        xml_escape(&host.url("/live.atom"))
    ));
    x.push_str(&format!(
        "  <link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n",
        xml_escape(&host.url("/live"))
    ));
    x.push_str(&format!(
        "  <generator version=\"{}\">CoPi</generator>\n",
        env!("CARGO_PKG_VERSION")
    ));
    for (post, element) in posts {
        let link = element
            .as_ref()
            .map_or_else(|| host.url("/live"), |e| host.url(&super::view::url(e)));
        let text = post.doc.get("text").and_then(Value::as_str).unwrap_or("");
        x.push_str("  <entry>\n");
        x.push_str(&format!(
            "    <id>tag:copi,2025:news/{}</id>\n",
            xml_escape(post.id.as_str())
        ));
        x.push_str(&format!(
            "    <title type=\"text\">{}</title>\n",
            xml_escape(&post_title(post, element.as_ref()))
        ));
        x.push_str(&format!("    <updated>{}</updated>\n", updated(post)));
        if let Some(published) = post_time(post, "created", zone) {
            x.push_str(&format!("    <published>{published}</published>\n"));
        }
        let target_is_author = post.doc.get("targetIsAuthor").is_some_and(|v| v == &Value::Bool(true));
        let author = if target_is_author {
            element.as_ref().and_then(|e| doc_str(e, "name")).map(str::to_owned)
        } else {
            post.doc
                .get("author")
                .and_then(model::id_from_value)
                .and_then(|a| authors.get(a.as_str()).cloned())
        };
        if let Some(name) = author {
            x.push_str(&format!("    <author><name>{}</name></author>\n", xml_escape(&name)));
        }
        x.push_str(&format!(
            "    <link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n",
            xml_escape(&link)
        ));
        x.push_str(&format!("    <content type=\"text\">{}</content>\n", xml_escape(text)));
        x.push_str("  </entry>\n");
    }
    x.push_str("</feed>\n");
    x
}

/// `GET /live.atom?scope=`: the latest 50 public posts.
#[rocket::get("/live.atom?<scope>")]
async fn live_atom(
    hub: &State<Hub>,
    viewer: Viewer,
    host: HubHost,
    scope: Option<&str>,
) -> ApiResult<(ContentType, String)> {
    module_on(hub, Module::Live)?;
    let query = LiveQuery {
        scopes: parse_scopes(scope)?,
        limit: ATOM_ENTRIES,
        cursor: None,
        visibility: viewer.0,
    };
    let store = hub.store.clone();
    let hub_name = hub.identity().name.clone();
    let body = blocking(move || {
        let page = store.live(&query)?;
        let authors = author_names(&store, &page.items, query.visibility)?;
        Ok(write_atom(
            &hub_name,
            &store.instance().id,
            &host,
            &page.items,
            &authors,
            store.zone(),
        ))
    })
    .await?;
    Ok((ContentType::new("application", "atom+xml"), body))
}

/// The feeds' routes.
pub fn stage() -> AdHoc {
    AdHoc::on_ignite("feeds", |rocket| async {
        rocket.mount(
            "/",
            rocket::routes![agenda, live, map_geojson, agenda_ics, element_ics, live_atom],
        )
    })
}

#[cfg(test)]
#[path = "feeds_tests.rs"]
mod feeds_tests;
