//! An element's page (`/{kind}/{slug}`) and its ecosystem graph (`/{kind}/{slug}/graph`).

use std::collections::HashMap;

use maud::{html, Markup, PreEscaped};
use serde_json::{json, Value};

use super::layout::{self, page, page_with, Ctx};
use super::pages::{fail, load, Failure, Html, PageResult};
use super::view;
use crate::error::Error;
use crate::model::{Element, ElementId, Kind, Record, RecordKind};
use crate::store::{AgendaQuery, Visibility};
use crate::territory;

/// What an element page shows beside the element itself.
struct Around {
    element: Element,
    /// Linked elements the viewer may see, by id.
    linked: HashMap<String, Element>,
    sub_events: Vec<Element>,
    posts: Vec<Record>,
    comments: Vec<Record>,
    /// The signed-in person's standing towards the element.
    standing: Option<crate::store::Standing>,
    documents: Vec<Record>,
}

/// The link types shown as groups, in order, with their heading.
const GROUPS: [(&str, &str); 8] = [
    ("organizer", "element-organizer"),
    ("members", "element-members"),
    ("contributors", "element-members"),
    ("attendees", "element-members"),
    ("memberOf", "element-sub"),
    ("projects", "element-projects"),
    ("events", "element-events"),
    ("subEvents", "agenda-sub-events"),
];

fn not_found(ctx: &Ctx<'_>, what: &str) -> Failure {
    fail(ctx, Error::not_found(what.to_owned()))
}

/// Finds the element of `/{kind}/{slug}` (or `/{kind}/{id}`), as the viewer may see it.
pub(super) async fn find(ctx: &Ctx<'_>, kind: &str, slug: &str) -> Result<Element, Failure> {
    let Some(kind) = Kind::parse(kind).filter(|k| k.as_str() == kind && ctx.hub.kind_on(*k)) else {
        return Err(not_found(ctx, kind));
    };
    let store = ctx.hub.store.clone();
    let (slug_owned, reader) = (slug.to_owned(), ctx.reader.clone());
    let element = load(ctx, move || {
        // Slugs first: ids are accepted too (any slug-like text parses as an id).
        let id = match store.element_id_by_slug(&slug_owned)? {
            Some(id) => Some(id),
            None => ElementId::parse(&slug_owned),
        };
        match id {
            Some(id) => store.get_element_for(&id, &reader),
            None => Ok(None),
        }
    })
    .await?;
    element.filter(|e| e.kind == kind).ok_or_else(|| not_found(ctx, slug))
}

async fn around(ctx: &Ctx<'_>, element: Element) -> Result<Around, Failure> {
    let store = ctx.hub.store.clone();
    let viewer = ctx.viewer;
    let reader = ctx.reader.clone();
    let kinds_on = ctx.hub.kinds_on();
    let person = ctx.user.as_ref().map(|u| u.person.clone());
    load(ctx, move || {
        let mut ids: Vec<String> = element.links.iter().map(|l| l.other.to_string()).collect();
        ids.extend(element.organizer_ids());
        if let Some(p) = element.doc.get("parentId").and_then(Value::as_str) {
            ids.push(p.to_owned());
        }
        ids.sort();
        ids.dedup();
        ids.truncate(400);
        let linked = store
            .get_elements(&ids)?
            .into_iter()
            .filter(|e| reader.may_see(e) && kinds_on.contains(&e.kind))
            .map(|e| (e.id.to_string(), e))
            .collect();
        let sub_events = if element.kind == Kind::Event {
            store
                .agenda(&AgendaQuery {
                    parent: Some(element.id.clone()),
                    limit: 100,
                    visibility: viewer,
                    ..Default::default()
                })?
                .items
        } else {
            Vec::new()
        };
        // The journal as this reader may see it (audiences are filtered in the store).
        let posts = store.journal(&element.id, &reader, 20, None)?.items;
        let comments = store.records_of(&element.id, RecordKind::Comment)?;
        let documents = store.records_of(&element.id, RecordKind::Document)?;
        let standing = match &person {
            Some(p) => store.standing(&element.id, p)?,
            None => None,
        };
        Ok(Around {
            standing,
            element,
            linked,
            sub_events,
            posts,
            comments,
            documents,
        })
    })
    .await
}

/// schema.org JSON-LD for events and organisations (and places).
fn json_ld(ctx: &Ctx<'_>, e: &Element, linked: &HashMap<String, Element>) -> Option<Markup> {
    let base = format!("http://{}", ctx.hub.portal.canonical);
    let mut ld = json!({
        "@context": "https://schema.org",
        "name": view::name(e),
        "url": format!("{base}{}", view::url(e)),
    });
    if let Some(d) = view::text(e, "shortDescription").or_else(|| view::text(e, "description")) {
        ld["description"] = d.into();
    }
    let address = e.doc.get("address").cloned().map(|mut a| {
        if let Some(m) = a.as_object_mut() {
            m.insert("@type".into(), "PostalAddress".into());
            m.retain(|k, _| {
                matches!(
                    k.as_str(),
                    "@type" | "streetAddress" | "postalCode" | "addressLocality" | "addressCountry"
                )
            });
        }
        a
    });
    let geo = view::position(e).map(|(lat, lon)| json!({"@type": "GeoCoordinates", "latitude": lat, "longitude": lon}));
    match e.kind {
        Kind::Event => {
            let (start, end) = view::span(e, ctx.hub.store.zone())?;
            ld["@type"] = "Event".into();
            ld["startDate"] = start.timestamp().to_string().into();
            if let Some(end) = end {
                ld["endDate"] = end.timestamp().to_string().into();
            }
            ld["eventStatus"] = "https://schema.org/EventScheduled".into();
            ld["eventAttendanceMode"] = "https://schema.org/OfflineEventAttendanceMode".into();
            let mut place =
                json!({"@type": "Place", "name": view::locality(e).unwrap_or_else(|| view::name(e).to_owned())});
            if let Some(a) = &address {
                place["address"] = a.clone();
            }
            if let Some(g) = &geo {
                place["geo"] = g.clone();
            }
            ld["location"] = place;
            let organizers: Vec<Value> = e
                .organizer_ids()
                .iter()
                .filter_map(|id| linked.get(id))
                .map(|o| json!({"@type": if o.kind == Kind::Person { "Person" } else { "Organization" }, "name": view::name(o), "url": format!("{base}{}", view::url(o))}))
                .collect();
            if !organizers.is_empty() {
                ld["organizer"] = organizers.into();
            }
        }
        Kind::Organization => {
            ld["@type"] = "Organization".into();
            if let Some(a) = &address {
                ld["address"] = a.clone();
            }
            let tags = view::tags(e);
            if !tags.is_empty() {
                ld["keywords"] = tags.join(", ").into();
            }
        }
        Kind::Poi => {
            ld["@type"] = "Place".into();
            if let Some(a) = &address {
                ld["address"] = a.clone();
            }
            if let Some(g) = &geo {
                ld["geo"] = g.clone();
            }
        }
        _ => return None,
    }
    Some(layout::json_ld(&ld))
}

/// A small map drawn on the server: the element and the towns around it.
fn minimap(e: &Element) -> Option<Markup> {
    let (lat, lon) = view::position(e)?;
    let (w, h, km) = (320.0, 200.0, 12.0);
    let kx = 111.32 * lat.to_radians().cos();
    let scale = w / (2.0 * km);
    let project = |la: f64, lo: f64| (w / 2.0 + (lo - lon) * kx * scale, h / 2.0 - (la - lat) * 110.57 * scale);
    let here = territory::locate(
        e.doc
            .get("address")
            .and_then(|a| a.get("codeInsee"))
            .and_then(Value::as_str),
        e.doc
            .get("address")
            .and_then(|a| a.get("postalCode"))
            .and_then(Value::as_str),
        None,
    );
    let mut towns: Vec<(f64, f64, &'static str)> = Vec::new();
    if let Some(c) = &here {
        for t in territory::communes_in_department(c.department) {
            if let Some((la, lo)) = t.position {
                let (x, y) = project(la, lo);
                if (8.0..w - 8.0).contains(&x) && (8.0..h - 8.0).contains(&y) {
                    towns.push((x, y, t.name));
                }
            }
        }
    }
    towns.truncate(40);
    Some(html! {
        svg.minimap viewBox={ "0 0 " (w) " " (h) } role="img" aria-label=(view::name(e)) {
            @for (x, y, name) in &towns {
                circle cx=(format!("{x:.1}")) cy=(format!("{y:.1}")) r="2" fill="#6b7570" {}
                text x=(format!("{:.1}", x + 4.0)) y=(format!("{:.1}", y + 3.0)) font-size="9" fill="#333" { (name) }
            }
            circle cx=(w / 2.0) cy=(h / 2.0) r="7" fill="#0b6e4f" stroke="#fff" stroke-width="2" {}
        }
    })
}

/// A linked element and its roles.
type Member<'a> = (&'a Element, Option<String>);

fn person_safe(e: &Element) -> bool {
    e.kind == Kind::Person
}

/// `/{kind}/{slug}`
#[rocket::get("/<kind>/<slug>", rank = 20)]
pub async fn element_page(ctx: Ctx<'_>, jar: &rocket::http::CookieJar<'_>, kind: &str, slug: &str) -> PageResult {
    let element = find(&ctx, kind, slug).await?;
    let form_token = if ctx.user.is_some() {
        String::new()
    } else {
        super::account::form_token(jar)
    };
    let a = around(&ctx, element).await?;
    let e = &a.element;
    let href = view::url(e);
    let person = person_safe(e);
    let groups: Vec<(&str, Vec<Member<'_>>)> = GROUPS
        .iter()
        .filter_map(|(link_type, heading)| {
            let list: Vec<Member<'_>> = e
                .links
                .iter()
                .filter(|l| l.link_type == *link_type)
                .filter_map(|l| {
                    let other = a.linked.get(l.other.as_str())?;
                    let roles = l
                        .attrs
                        .get("roles")
                        .and_then(Value::as_array)
                        .map(|r| r.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", "))
                        .filter(|r| !r.is_empty())
                        .or_else(|| {
                            l.attrs
                                .get("isAdmin")
                                .is_some_and(|v| v == &Value::Bool(true))
                                .then(|| "admin".to_owned())
                        });
                    Some((other, roles))
                })
                .collect();
            (!list.is_empty()).then_some((*heading, list))
        })
        .collect();
    let parent = view::text(e, "parentId").and_then(|p| a.linked.get(p));
    let organizers: Vec<&Element> = e.organizer_ids().iter().filter_map(|id| a.linked.get(id)).collect();
    // Communecter keeps URLs as strings or as {url, title}: shown as text (the hub is
    // offline, and no page refers to another host).
    let urls: Vec<(String, Option<String>)> = e
        .doc
        .get("urls")
        .and_then(Value::as_array)
        .map(|u| {
            u.iter()
                .filter_map(|v| match v {
                    Value::String(s) => Some((s.clone(), None)),
                    Value::Object(o) => Some((
                        o.get("url")?.as_str()?.to_owned(),
                        o.get("title").and_then(Value::as_str).map(str::to_owned),
                    )),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let head = json_ld(&ctx, e, &a.linked).unwrap_or_else(|| html! {});
    let initial = view::name(e).chars().next().unwrap_or('?').to_uppercase().to_string();
    let image = view::text(e, "profilImageUrl").filter(|u| u.starts_with('/') && !u.starts_with("//"));
    let body = html! {
        article {
            header.element-head {
                @if let Some(src) = image {
                    img.avatar src=(src) alt="" width="80" height="80";
                } @else {
                    div.avatar aria-hidden="true" { (initial) }
                }
                div {
                    span.kind { (view::kind_label(&ctx, e.kind)) @if let Some(t) = view::text(e, "type").filter(|t| *t != "classifieds" && *t != "ressources") { " · " (t) } }
                    h1 { (view::name(e)) }
                    @if view::is_private(e) { p.notice { (ctx.t("element-private")) } }
                    @if e.kind == Kind::Resource {
                        p.meta { (if matches!(view::text(e, "section"), Some("need") | Some("needs")) { ctx.t("element-need") } else { ctx.t("element-offer") }) }
                    }
                }
            }
            (super::citizen::forms(&ctx, e, a.standing.as_ref()))
            section {
                h2 { (ctx.t("element-about")) }
                @if let Some(s) = view::text(e, "shortDescription") { p { strong { (s) } } }
                @if let Some(d) = view::text(e, "description") {
                    @for para in d.split("\n\n").filter(|p| !p.trim().is_empty()) { p { (para.trim()) } }
                }
                dl.facts {
                    @if let Some(w) = view::when(&ctx, e) { dt { (ctx.t("element-when")) } dd { (w) } }
                    @if person {
                        @if let Some(l) = view::locality(e) { dt { (ctx.t("element-where")) } dd { (l) } }
                    } @else if let Some(addr) = view::address(e) {
                        dt { (ctx.t("element-address")) } dd { (addr) }
                    }
                    @if let Some(p) = view::price(&ctx, e) { dt { (ctx.t("element-price")) } dd { (p) } }
                    @if let Some(c) = view::text(e, "contactInfo").filter(|_| !person) { dt { (ctx.t("element-contact")) } dd { (c) } }
                    @if !organizers.is_empty() {
                        dt { (ctx.t("element-organizer")) }
                        dd { @for (i, o) in organizers.iter().enumerate() { @if i > 0 { ", " } a href=(view::url(o)) { (view::name(o)) } } }
                    }
                    @if let Some(p) = parent { dt { (ctx.t("element-parent")) } dd { a href=(view::url(p)) { (view::name(p)) } } }
                }
                @if !person { @if let Some(m) = minimap(e) { figure { (m) } } }
            }
            @let tags = view::tags(e);
            @if !tags.is_empty() {
                section { h2 { (ctx.t("element-tags")) } (view::tag_list(&tags, 30)) }
            }
            @if !a.sub_events.is_empty() {
                section {
                    h2 { (ctx.t("agenda-sub-events")) }
                    ul.cards { @for s in &a.sub_events { (view::card(&ctx, s)) } }
                }
            }
            @for (heading, list) in &groups {
                section {
                    h2 { (ctx.t(heading)) }
                    ul {
                        @for (o, roles) in list {
                            li {
                                a href=(view::url(o)) { (view::name(o)) }
                                " " span.kind { (view::kind_label(&ctx, o.kind)) }
                                @if let Some(r) = roles { " — " span.meta { (ctx.t("element-roles")) " : " (r) } }
                            }
                        }
                    }
                }
            }
            @if !a.posts.is_empty() {
                section {
                    h2 { (ctx.t("element-journal")) }
                    @for p in &a.posts {
                        (super::pages::post_view(&ctx, p, None))
                        (super::citizen::comment_form(&ctx, e, Some(&p.id)))
                    }
                }
            }
            @if !a.comments.is_empty() || ctx.user.is_some() {
                section {
                    h2 { (ctx.t("element-comments")) }
                    (super::citizen::comment_form(&ctx, e, None))
                    @for c in &a.comments {
                        p.comment { (c.doc.get("text").and_then(Value::as_str).unwrap_or("")) }
                    }
                }
            }
            @if !a.documents.is_empty() || !urls.is_empty() {
                section {
                    h2 { (ctx.t("element-files")) }
                    ul {
                        @for d in &a.documents {
                            @let name = d.doc.get("name").and_then(Value::as_str).unwrap_or("document");
                            li {
                                @if d.doc.get("doctype").and_then(Value::as_str) == Some("image") {
                                    a href={ "/files/" (d.id) } { img src={ "/files/" (d.id) "/thumb" } alt=(name) loading="lazy" width="160"; }
                                } @else {
                                    a href={ "/files/" (d.id) } { (name) }
                                }
                            }
                        }
                        @for (url, title) in &urls {
                            li { @if let Some(t) = title { (t) " — " } code { (url) } }
                        }
                    }
                }
            }
            p.actions {
                @if ctx.hub.module_on(crate::config::Module::Graph) { a href={ (href) "/graph" } { (ctx.t("element-graph")) } }
                @if ctx.hub.module_on(crate::config::Module::Cooperative) && matches!(e.kind, Kind::Organization | Kind::Project | Kind::Event) {
                    a href={ (href) "/cooperative" } { (ctx.t("coop-proposals")) " · " (ctx.t("coop-actions")) }
                }
                @if e.kind == Kind::Event || matches!(e.kind, Kind::Organization | Kind::Project) {
                    a href={ (href) "/calendar.ics" } { (ctx.t("element-calendar")) }
                }
                @if (!person || ctx.viewer == Visibility::All) && ctx.hub.module_on(crate::config::Module::JsonExport) {
                    a href={ "/api/v1/elements/" (e.id) "/export" } { (ctx.t("element-export")) }
                }
            }
            (super::citizen::report_form(&ctx, e, &form_token))
        }
    };
    Ok(Html::from(page_with(&ctx, view::name(e), head, body)))
}

/// `/{kind}/{slug}/graph`: the element's ecosystem as an SVG drawn on the server (a ring of
/// linked elements around it, colour by kind), readable without JavaScript.
#[rocket::get("/<kind>/<slug>/graph", rank = 20)]
pub async fn graph(ctx: Ctx<'_>, kind: &str, slug: &str) -> PageResult {
    super::pages::require(&ctx, crate::config::Module::Graph)?;
    let element = find(&ctx, kind, slug).await?;
    let a = around(&ctx, element).await?;
    let e = &a.element;
    let mut nodes: Vec<(&Element, &str)> = Vec::new();
    for l in &e.links {
        if let Some(o) = a.linked.get(l.other.as_str()) {
            if l.link_type != "followers" && l.link_type != "follows" && !nodes.iter().any(|(n, _)| n.id == o.id) {
                nodes.push((o, l.link_type.as_str()));
            }
        }
    }
    for s in &a.sub_events {
        if !nodes.iter().any(|(n, _)| n.id == s.id) {
            nodes.push((s, "subEvents"));
        }
    }
    nodes.truncate(36);
    let (w, h) = (640.0f64, 640.0f64);
    let (cx, cy, r) = (w / 2.0, h / 2.0, 240.0);
    let color = |k: Kind| match k {
        Kind::Person => "#8a3b00",
        Kind::Organization => "#0b6e4f",
        Kind::Project => "#5b2a86",
        Kind::Event => "#b00058",
        Kind::Poi => "#1f5f99",
        Kind::Classified | Kind::Resource => "#6b5a00",
    };
    let n = nodes.len().max(1) as f64;
    let svg = html! {
        svg viewBox={ "0 0 " (w) " " (h) } role="img" aria-labelledby="graph-title" {
            title #graph-title { (ctx.ta("graph-title", &[("name", view::name(e).into())])) }
            @for (i, _) in nodes.iter().enumerate() {
                @let angle = i as f64 / n * std::f64::consts::TAU - std::f64::consts::FRAC_PI_2;
                line x1=(cx) y1=(cy) x2=(format!("{:.1}", cx + r * angle.cos())) y2=(format!("{:.1}", cy + r * angle.sin())) stroke="#b8c4be" stroke-width="1.5" {}
            }
            @for (i, (o, link)) in nodes.iter().enumerate() {
                @let angle = i as f64 / n * std::f64::consts::TAU - std::f64::consts::FRAC_PI_2;
                @let (x, y) = (cx + r * angle.cos(), cy + r * angle.sin());
                a href=(view::url(o)) {
                    title { (view::name(o)) " (" (link) ")" }
                    circle cx=(format!("{x:.1}")) cy=(format!("{y:.1}")) r="14" fill=(color(o.kind)) {}
                    text x=(format!("{x:.1}")) y=(format!("{:.1}", y + 28.0)) text-anchor="middle" font-size="12" fill="#1b1f1d" {
                        (view::name(o).chars().take(24).collect::<String>())
                    }
                }
            }
            circle cx=(cx) cy=(cy) r="30" fill=(color(e.kind)) {}
            text x=(cx) y=(cy + 48.0) text-anchor="middle" font-size="14" font-weight="700" fill="#1b1f1d" { (view::name(e)) }
        }
    };
    let body = html! {
        h1 { (ctx.ta("graph-title", &[("name", view::name(e).into())])) }
        p { (ctx.t("graph-intro")) " " a href=(view::url(e)) { "← " (view::name(e)) } }
        @if nodes.is_empty() {
            p.meta { (ctx.t("graph-empty")) }
        } @else {
            figure.graph { (PreEscaped(svg.into_string())) }
            ul {
                @for (o, link) in &nodes {
                    li { a href=(view::url(o)) { (view::name(o)) } " — " span.kind { (view::kind_label(&ctx, o.kind)) } " (" (link) ")" }
                }
            }
        }
    };
    Ok(Html::from(page(
        &ctx,
        &ctx.ta("graph-title", &[("name", view::name(e).into())]),
        body,
    )))
}
