//! Query strings of the list, search, feed, map and page routes, through Rocket's local
//! client on a hub with a small demo territory: `PATH?QUERY`, sent as a GET by nobody (or
//! by the admin with a leading `@`). A path that is not one of these routes picks one.
//!
//! Checks: as `api_request` (no panic, no 500, JSON errors under `/api/`); and the scope
//! lists in the query parse or fail without a panic.
#![no_main]

use copi_fuzz::{FuzzHub, TextRequest, Who};
use libfuzzer_sys::fuzz_target;
use rocket::http::Method;

/// GET routes that read a query string (ids and codes filled in with demo ones).
const ROUTES: &[&str] = &[
    "/api/v1/elements",
    "/api/v1/search",
    "/api/v1/search/suggest",
    "/api/v1/agenda",
    "/api/v1/live",
    "/api/v1/map.geojson",
    "/api/v1/me/feed",
    "/api/v1/admin/reports",
    "/api/v1/admin/submissions",
    "/api/v1/sync/pull",
    "/agenda.ics",
    "/agenda",
    "/directory",
    "/embed/map",
    "/feed",
    "/live.atom",
    "/live",
    "/login",
    "/signup",
    "/map/search.geojson",
    "/map",
    "/marketplace",
    "/mutual-aid",
    "/search",
    "/setup",
    "/territory/set",
    "/territory",
    "/lang/fr",
];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if text.contains(['\n', '\r']) {
        return;
    }
    let (who, text) = match text.strip_prefix('@') {
        Some(rest) => (Who::Admin, rest),
        None => (Who::Nobody, text),
    };
    let (path, query) = text.split_once('?').unwrap_or((text, ""));
    let path = if ROUTES.contains(&path)
        || path.starts_with("/api/v1/elements/")
        || path.starts_with("/tiles/")
        || path.starts_with("/lang/")
    {
        path.to_owned()
    } else {
        let pick = path
            .bytes()
            .fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(usize::from(b)));
        ROUTES[pick % ROUTES.len()].to_owned()
    };
    for (key, value) in query.split('&').filter_map(|p| p.split_once('=')) {
        if key == "scope" {
            let _ = copi::territory::Scope::parse_list(value);
        }
    }
    let uri = format!("{path}?{query}");
    let req = TextRequest {
        method: Method::Get,
        uri: &uri,
        who,
        headers: vec![("Accept", "application/json")],
        body: &[],
    };
    thread_local! {
        static HUB: FuzzHub = FuzzHub::open();
    }
    HUB.with(|hub| {
        hub.send(&req);
    });
});
