//! API tests with Rocket's local client, each on its own data dir.

use std::sync::Arc;

use copi_sync::ChangeFeed;
use rocket::http::{ContentType, Header, Status};
use rocket::local::blocking::Client;
use serde_json::{json, Value};

use super::{rocket, Hub};
use crate::config::Config;
use crate::store::Store;

const TOKEN: &str = "test-admin-token-0123456789";

struct Fixture {
    client: Client,
    store: Arc<Store>,
    _dir: tempfile::TempDir,
}

fn fixture() -> Fixture {
    fixture_with(Config::default())
}

/// A hub with `config`'s settings, in a fresh data dir, with the admin token.
fn fixture_with(config: Config) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        data: dir.path().to_owned(),
        admin_token: Some(TOKEN.into()),
        ..config
    };
    let hub = Hub::open(config).unwrap();
    let store = hub.store.clone();
    Fixture {
        client: Client::tracked(rocket(hub)).unwrap(),
        store,
        _dir: dir,
    }
}

fn auth() -> Header<'static> {
    Header::new("Authorization", format!("Bearer {TOKEN}"))
}

impl Fixture {
    fn post(&self, body: &str) -> (Status, Value) {
        let r = self
            .client
            .post("/api/v1/elements")
            .header(auth())
            .header(ContentType::JSON)
            .body(body)
            .dispatch();
        (r.status(), r.into_json().unwrap_or(Value::Null))
    }

    fn get(&self, uri: &str) -> (Status, Value) {
        let r = self.client.get(uri.to_owned()).dispatch();
        (r.status(), r.into_json().unwrap_or(Value::Null))
    }

    /// Everything the store holds, to prove a refused request changed nothing.
    fn snapshot(&self) -> (i64, Vec<u8>) {
        let mut out = Vec::new();
        crate::bundle::export(&self.store, &mut out).unwrap();
        // The header carries the export time; the rest is the data.
        let data = out.splitn(2, |b| *b == b'\n').nth(1).unwrap().to_vec();
        (self.store.last_seq().unwrap().0, data)
    }
}

fn assert_error(status: Status, body: &Value, expected: Status) {
    assert_eq!(status, expected, "{body}");
    assert!(body["error"]["code"].is_string(), "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
}

#[test]
fn health_and_status() {
    let f = fixture();
    assert_eq!(f.get("/healthz"), (Status::Ok, json!({"status": "ok"})));
    f.post(r#"{"kind": "project", "name": "Jardin partagé"}"#);
    let (status, body) = f.get("/api/v1/status");
    assert_eq!(status, Status::Ok);
    assert_eq!(body["elements"]["project"], json!(1));
    assert_eq!(body["elements"]["event"], json!(0));
    assert_eq!(body["elements_total"], json!(1));
    assert_eq!(body["version"], json!(env!("CARGO_PKG_VERSION")));
    assert!(body["uptime_seconds"].is_u64());
    assert!(body["memory"]["rss_bytes"].as_u64().unwrap() > 0, "{body}");
    assert!(body["memory"]["peak_rss_bytes"].as_u64() >= body["memory"]["rss_bytes"].as_u64());
}

#[test]
fn create_read_update_delete() {
    let f = fixture();
    let (status, created) = f.post(
        r#"{"kind": "event", "name": "Repair café", "type": "workshop", "startDate": "2026-12-05 14:00",
            "endDate": "2026-12-05 18:00", "tags": ["réparation"], "geo": {"latitude": "44.7281", "longitude": "5.0222"}}"#,
    );
    assert_eq!(status, Status::Created, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["kind"], json!("event"));
    assert_eq!(created["geoPosition"]["coordinates"], json!([5.0222, 44.7281]));
    assert_eq!(f.get(&format!("/api/v1/elements/{id}")), (Status::Ok, created.clone()));

    let r = f
        .client
        .patch(format!("/api/v1/elements/{id}"))
        .header(auth())
        .header(ContentType::JSON)
        .body(r#"{"shortDescription": "On répare ensemble", "tags": ["réparation", "vélo"]}"#)
        .dispatch();
    assert_eq!(r.status(), Status::Ok);
    let (_, got) = f.get(&format!("/api/v1/elements/{id}"));
    assert_eq!(got["shortDescription"], json!("On répare ensemble"));
    assert_eq!(got["name"], json!("Repair café"));

    let r = f
        .client
        .delete(format!("/api/v1/elements/{id}"))
        .header(auth())
        .dispatch();
    assert_eq!(r.status(), Status::NoContent);
    let (status, body) = f.get(&format!("/api/v1/elements/{id}"));
    assert_error(status, &body, Status::NotFound);
}

#[test]
fn writes_without_the_token_change_nothing() {
    let f = fixture();
    let (_, created) = f.post(r#"{"kind": "project", "name": "Compost"}"#);
    let id = created["id"].as_str().unwrap();
    let before = f.snapshot();
    let wrong = Header::new("Authorization", "Bearer not-the-token-at-all");
    fn with<'c>(
        req: rocket::local::blocking::LocalRequest<'c>,
        header: &Option<Header<'static>>,
    ) -> rocket::local::blocking::LocalRequest<'c> {
        match header {
            Some(h) => req.header(h.clone()),
            None => req,
        }
    }
    for header in [None, Some(wrong)] {
        let responses = [
            with(f.client.post("/api/v1/elements"), &header)
                .header(ContentType::JSON)
                .body(r#"{"kind": "project", "name": "X"}"#)
                .dispatch(),
            with(f.client.patch(format!("/api/v1/elements/{id}")), &header)
                .header(ContentType::JSON)
                .body(r#"{"name": "Y"}"#)
                .dispatch(),
            with(f.client.delete(format!("/api/v1/elements/{id}")), &header).dispatch(),
            with(
                f.client.put(format!("/api/v1/elements/{id}/links/followers/{id}")),
                &header,
            )
            .dispatch(),
        ];
        for r in responses {
            let status = r.status();
            let body: Value = r.into_json().unwrap();
            assert_error(status, &body, Status::Unauthorized);
        }
    }
    assert_eq!(f.snapshot(), before);
}

#[test]
fn bad_input_gets_a_json_error_and_changes_nothing() {
    let f = fixture();
    let (_, created) = f.post(r#"{"kind": "organization", "name": "Asso", "type": "NGO"}"#);
    let id = created["id"].as_str().unwrap().to_owned();
    let before = f.snapshot();
    let big = format!(
        r#"{{"kind": "project", "name": "x", "description": "{}"}}"#,
        "a".repeat(300 * 1024)
    );
    let cases: Vec<(&str, String, Status)> = vec![
        (
            "malformed JSON",
            r#"{"kind": "project", "name": "#.into(),
            Status::BadRequest,
        ),
        ("not an object", r#"["project"]"#.into(), Status::BadRequest),
        (
            "unknown kind",
            r#"{"kind": "spaceship", "name": "x"}"#.into(),
            Status::UnprocessableEntity,
        ),
        ("missing kind", r#"{"name": "x"}"#.into(), Status::UnprocessableEntity),
        (
            "wrong name type",
            r#"{"kind": "project", "name": 42}"#.into(),
            Status::UnprocessableEntity,
        ),
        (
            "wrong tags type",
            r#"{"kind": "project", "name": "x", "tags": "a,b"}"#.into(),
            Status::UnprocessableEntity,
        ),
        (
            "geo as numbers",
            r#"{"kind": "poi", "name": "x", "geo": {"latitude": 1, "longitude": 2}}"#.into(),
            Status::UnprocessableEntity,
        ),
        (
            "bad event date",
            r#"{"kind": "event", "name": "x", "type": "concert", "startDate": "soon"}"#.into(),
            Status::UnprocessableEntity,
        ),
        (
            "links in body",
            r#"{"kind": "project", "name": "x", "links": {}}"#.into(),
            Status::BadRequest,
        ),
        (
            "bad id",
            r#"{"kind": "project", "name": "x", "id": "../../etc"}"#.into(),
            Status::BadRequest,
        ),
        (
            "taken id",
            format!(r#"{{"kind": "project", "name": "x", "id": "{id}"}}"#),
            Status::Conflict,
        ),
        ("oversized body", big, Status::PayloadTooLarge),
    ];
    for (what, body, expected) in cases {
        let (status, answer) = f.post(&body);
        assert_eq!(status, expected, "{what}: {answer}");
        assert_error(status, &answer, expected);
        assert_eq!(f.snapshot(), before, "{what} changed the store");
    }
    let patch = |uri: String, body: &str| {
        let r = f
            .client
            .patch(uri)
            .header(auth())
            .header(ContentType::JSON)
            .body(body)
            .dispatch();
        (r.status(), r.into_json::<Value>().unwrap())
    };
    let (s, b) = patch(format!("/api/v1/elements/{id}"), r#"{"type": "Club"}"#);
    assert_error(s, &b, Status::UnprocessableEntity);
    let (s, b) = patch(format!("/api/v1/elements/{id}"), r#"{"kind": "project"}"#);
    assert_error(s, &b, Status::UnprocessableEntity);
    let (s, b) = patch("/api/v1/elements/5b0f000000000000000000ff".into(), r#"{"name": "x"}"#);
    assert_error(s, &b, Status::NotFound);
    let r = f
        .client
        .delete("/api/v1/elements/5b0f000000000000000000ff")
        .header(auth())
        .dispatch();
    assert_eq!(r.status(), Status::NotFound);
    for uri in [
        "/api/v1/elements/5b0f000000000000000000ff",
        "/api/v1/elements/bad%20id",
        "/api/v1/elements?type=spaceship",
        "/api/v1/elements?limit=0",
        "/api/v1/elements?limit=lots",
        "/api/v1/elements?cursor=zzz",
        "/api/v1/elements?scope=dep:999",
        "/api/v1/nothing-here",
    ] {
        let (status, body) = f.get(uri);
        assert!(status.code >= 400 && status.code < 500, "{uri}: {status}");
        assert_error(status, &body, status);
    }
    assert_eq!(f.snapshot(), before);
}

#[test]
fn lists_page_and_filter() {
    let f = fixture();
    for i in 0..7 {
        f.post(&format!(r#"{{"kind": "project", "name": "Projet {i}", "tags": ["t{}"], "address": {{"codeInsee": "26108", "postalCode": "26400"}}}}"#, i % 2));
    }
    f.post(r#"{"kind": "poi", "name": "Banc", "address": {"codeInsee": "75056"}}"#);
    let (_, page) = f.get("/api/v1/elements?type=project&limit=5");
    assert_eq!(page["items"].as_array().unwrap().len(), 5);
    let next = page["next"].as_str().unwrap();
    let (_, rest) = f.get(&format!("/api/v1/elements?type=project&limit=5&cursor={next}"));
    assert_eq!(rest["items"].as_array().unwrap().len(), 2);
    assert_eq!(rest["next"], Value::Null);
    let (_, tagged) = f.get("/api/v1/elements?tags=t1");
    assert_eq!(tagged["items"].as_array().unwrap().len(), 3);
    let (_, drome) = f.get("/api/v1/elements?scope=dep:26");
    assert_eq!(drome["items"].as_array().unwrap().len(), 7);
    let (_, paris) = f.get("/api/v1/elements?scope=city:75056,region:84");
    assert_eq!(paris["items"].as_array().unwrap().len(), 8);
    let (_, pois) = f.get("/api/v1/elements?type=pois,project&limit=100");
    assert_eq!(pois["items"].as_array().unwrap().len(), 8);
}

#[test]
fn private_elements_are_for_the_admin_only() {
    let f = fixture();
    let (_, secret) = f
        .post(r#"{"kind": "organization", "name": "Groupe privé", "type": "Group", "preferences": {"private": true}}"#);
    let id = secret["id"].as_str().unwrap();
    let (status, _) = f.get(&format!("/api/v1/elements/{id}"));
    assert_eq!(status, Status::NotFound);
    let (_, list) = f.get("/api/v1/elements");
    assert!(list["items"].as_array().unwrap().is_empty());
    let (_, status) = f.get("/api/v1/status");
    assert_eq!(status["elements"]["organization"], json!(0));
    let r = f.client.get(format!("/api/v1/elements/{id}")).header(auth()).dispatch();
    assert_eq!(r.status(), Status::Ok);
    let (status, _) = f.get(&format!("/api/v1/elements/{id}/export"));
    assert_eq!(status, Status::NotFound);
}

#[test]
fn links_and_export() {
    let f = fixture();
    let (_, org) = f.post(r#"{"kind": "organization", "name": "AMAP", "type": "NGO"}"#);
    let (_, person) = f.post(r#"{"kind": "person", "name": "Léa Martin"}"#);
    let (org, person) = (org["id"].as_str().unwrap(), person["id"].as_str().unwrap());
    let r = f
        .client
        .put(format!("/api/v1/elements/{org}/links/members/{person}"))
        .header(auth())
        .header(ContentType::JSON)
        .body(r#"{"isAdmin": true, "roles": ["Trésorière"]}"#)
        .dispatch();
    assert_eq!(r.status(), Status::Ok);
    let (_, p) = f.get(&format!("/api/v1/elements/{person}"));
    assert_eq!(p["links"]["memberOf"][org]["roles"], json!(["Trésorière"]));
    let (status, export) = f.get(&format!("/api/v1/elements/{org}/export"));
    assert_eq!(status, Status::Ok);
    assert_eq!(export["organizations"][0]["_id"]["$id"], json!(org));
    assert_eq!(
        export["organizations"][0]["links"]["members"][person]["isAdmin"],
        json!(true)
    );
    // A person's export is not for anonymous visitors.
    let (status, _) = f.get(&format!("/api/v1/elements/{person}/export"));
    assert_eq!(status, Status::Unauthorized);
    let r = f
        .client
        .delete(format!("/api/v1/elements/{org}/links/members/{person}"))
        .header(auth())
        .dispatch();
    assert_eq!(r.status(), Status::NoContent);
    let (_, p) = f.get(&format!("/api/v1/elements/{person}"));
    assert_eq!(p["links"], json!({}));
}

#[test]
fn search_answers_with_items_facets_and_clear_errors() {
    let f = fixture();
    f.post(r#"{"kind": "organization", "name": "Jardin partagé", "type": "NGO", "tags": ["jardin"]}"#);
    f.post(r#"{"kind": "event", "name": "Atelier jardinage", "type": "workshop", "startDate": "2030-05-01 10:00", "tags": ["jardin"]}"#);
    f.post(r#"{"kind": "organization", "name": "Jardin secret", "type": "Group", "preferences": {"private": true}}"#);
    // Written just before: already searchable.
    let (status, body) = f.get("/api/v1/search?q=jardins");
    assert_eq!(status, Status::Ok, "{body}");
    assert_eq!(body["total"], json!(2));
    assert_eq!(body["items"][0]["name"], json!("Jardin partagé"));
    assert_eq!(body["facets"]["kind"], json!({"organization": 1, "event": 1}));
    assert_eq!(body["facets"]["tags"], json!([{"tag": "jardin", "count": 2}]));
    assert!(body["next"].is_null());
    let (_, body) = f.get("/api/v1/search?q=jardin&limit=1");
    assert_eq!(body["next"], json!("o1"));
    let (_, body) = f.get("/api/v1/search?q=jardin&limit=1&cursor=o1");
    assert_eq!(body["items"].as_array().unwrap().len(), 1);
    let (_, body) = f.get("/api/v1/search?q=%23jardin&type=event&coming=true&from=2030-05-01&to=2030-05-01");
    assert_eq!(body["total"], json!(1), "{body}");
    let (_, body) = f.get("/api/v1/search/suggest?q=jard");
    assert_eq!(body["items"].as_array().unwrap().len(), 2);
    let r = f.client.get("/api/v1/search?q=secret").header(auth()).dispatch();
    assert_eq!(r.into_json::<Value>().unwrap()["total"], json!(1));
    let (_, body) = f.get("/api/v1/search?q=secret");
    assert_eq!(body["total"], json!(0));
    let (_, status) = f.get("/api/v1/status");
    assert_eq!(status["search"]["indexed_seq"], status["search"]["store_seq"]);
    for uri in [
        "/api/v1/search?near=44,5",
        "/api/v1/search?near=a,b,c",
        "/api/v1/search?near=44,5,-1",
        "/api/v1/search?from=yesterday",
        "/api/v1/search?coming=maybe",
        "/api/v1/search?cursor=12",
        "/api/v1/search?type=spaceship",
        "/api/v1/search?limit=1000",
        "/api/v1/search/suggest?limit=0",
    ] {
        let (status, body) = f.get(uri);
        assert!(status.code >= 400 && status.code < 500, "{uri}: {status}");
        assert_error(status, &body, status);
    }
}

/// A hub on its own access point.
fn appliance() -> Fixture {
    fixture_with(Config {
        wifi: Some(crate::config::WifiConfig {
            country: Some("FR".into()),
            ..Default::default()
        }),
        ..Config::default()
    })
}

#[test]
fn captive_portal_probes_open_the_hub() {
    let f = appliance();
    // Each OS's probe, with the host it really asks.
    for (host, path) in [
        ("connectivitycheck.gstatic.com", "/generate_204"),
        ("clients3.google.com", "/generate_204"),
        ("captive.apple.com", "/hotspot-detect.html"),
        ("www.msftconnecttest.com", "/connecttest.txt"),
        ("www.msftncsi.com", "/ncsi.txt"),
        ("detectportal.firefox.com", "/canonical.html"),
        ("detectportal.firefox.com", "/success.txt"),
        // Probes that reach the hub by its own name are answered the same way.
        ("copi.lan", "/generate_204"),
        ("10.42.0.1", "/hotspot-detect.html"),
    ] {
        let r = f.client.get(path).header(Header::new("Host", host)).dispatch();
        assert_eq!(r.status(), Status::Found, "{host}{path}");
        assert_eq!(
            r.headers().get_one("Location"),
            Some("http://copi.lan/portal"),
            "{host}{path}"
        );
    }
    // Any other page of a foreign host goes to the landing page too: never an HTTPS redirect.
    let r = f
        .client
        .get("/some/page?x=1")
        .header(Header::new("Host", "www.example.org"))
        .dispatch();
    assert_eq!(r.status(), Status::Found);
    assert_eq!(r.headers().get_one("Location"), Some("http://copi.lan/portal"));
    // The hub's own names are served normally.
    let r = f
        .client
        .get("/healthz")
        .header(Header::new("Host", "copi.local:80"))
        .dispatch();
    assert_eq!(r.status(), Status::Ok);
    let r = f
        .client
        .get("/portal")
        .header(Header::new("Host", "copi.lan"))
        .dispatch();
    assert_eq!(r.status(), Status::Ok);
    assert_eq!(r.content_type(), Some(ContentType::HTML));
    let page = r.into_string().unwrap();
    assert!(page.contains("Vous êtes sur le hub CoPi"));
    assert!(page.contains("<svg") && page.contains("http://copi.lan/"));
    assert!(
        !page.contains("https://"),
        "the landing page loads nothing from elsewhere"
    );
}

#[test]
fn the_machine_is_for_the_admin() {
    let f = fixture();
    let (status, body) = f.get("/api/v1/admin/system");
    assert_error(status, &body, Status::Unauthorized);
    let r = f.client.get("/api/v1/admin/system").header(auth()).dispatch();
    assert_eq!(r.status(), Status::Ok);
    let body: Value = r.into_json().unwrap();
    assert!(body["disk"]["total_bytes"].as_u64().unwrap() > 0, "{body}");
    assert!(body["uptime_seconds"].as_u64().is_some(), "{body}");
}

/// Found by fuzzing (fuzz/, `api_request`): paths under `/api/` that no API route takes but
/// a page route does (`/<kind>/<slug>`, `/<kind>/<slug>/graph`…) answered an HTML page.
#[test]
fn unknown_api_paths_get_json_errors() {
    let f = fixture();
    for uri in [
        "/api/v2",
        "/api/ve=type=26108&limit=5",
        "/api/v1/graph",
        "/api/v1/calendar.ics",
        "/api/x/cooperative",
        "/api/nothing/here/at/all",
    ] {
        let (status, body) = f.get(uri);
        assert_error(status, &body, Status::NotFound);
    }
}

/// A hub without an access point (a main on a server, reached by its DNS name) serves every
/// host name: the captive portal would send its hubs' sync requests to the landing page.
#[test]
fn a_hub_without_an_access_point_answers_every_name() {
    let f = fixture();
    let r = f
        .client
        .get("/api/v1/status")
        .header(Header::new("Host", "main.example.org"))
        .dispatch();
    assert_eq!(r.status(), Status::Ok);
    let r = f
        .client
        .post("/api/v1/elements")
        .header(Header::new("Host", "main.example.org"))
        .header(auth())
        .header(ContentType::JSON)
        .body(json!({"kind": "project", "name": "Atelier vélo"}).to_string())
        .dispatch();
    assert_eq!(r.status(), Status::Created);
    // The OS probes still open the landing page (they only matter on an access point).
    let r = f.client.get("/generate_204").dispatch();
    assert_eq!(r.status(), Status::Found);
}
