//! The feeds of a demo hub, read by independent parsers: Python's `icalendar`, `feedparser`
//! and `geojson` (Debian's python3-* packages, see `scripts/deps test`), driven by
//! `tests/fixtures/parse_feeds.py`.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use copi_e2e::{Server, TestDir};
use serde_json::{json, Value};

/// Fetches `path` as text, with its status and content type.
fn fetch(server: &Server, path: &str) -> (u16, String, String) {
    match ureq::get(&format!("{}{path}", server.base))
        .timeout(Duration::from_secs(60))
        .call()
    {
        Ok(r) => {
            let ct = r.header("Content-Type").unwrap_or("").to_owned();
            (r.status(), ct, r.into_string().expect("a text body"))
        }
        Err(ureq::Error::Status(status, r)) => (status, String::new(), r.into_string().unwrap_or_default()),
        Err(e) => panic!("GET {path}: {e}"),
    }
}

/// Debian's Python, where the python3-* parsers are installed (a `python3` earlier on the
/// PATH, such as a pyenv one, would not see them).
fn python() -> &'static str {
    if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    }
}

/// Saves `body` and parses it with `parse_feeds.py FORMAT`, returning its summary.
fn parse(dir: &TestDir, format: &str, body: &str) -> Value {
    let file = dir.path().join(format!("feed.{format}"));
    std::fs::write(&file, body).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join("parse_feeds.py");
    let out = Command::new(python())
        .arg(script)
        .arg(format)
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{format} refused by its parser: {}\n(first 2000 bytes of the feed:)\n{}",
        String::from_utf8_lossy(&out.stderr),
        &body[..body.len().min(2000)]
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn ids(v: &Value, list: &str, key: &str) -> BTreeSet<String> {
    v[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i[key].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn feeds_of_a_demo_hub_parse_with_independent_parsers() {
    let dir = TestDir::new();
    let server = Server::start(&dir, &["--demo"]);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    // A private event that must stay out of every public feed.
    let (status, secret) = server.post(
        "/api/v1/elements",
        &json!({"kind": "event", "name": "Conseil restreint QZXW", "type": "meeting",
                "startDate": now + 86_400, "geo": {"latitude": "44.7281", "longitude": "5.0222"},
                "address": {"codeInsee": "26108", "postalCode": "26400"},
                "preferences": {"private": true}}),
    );
    assert_eq!(status, 201, "{secret}");
    let secret_id = secret["id"].as_str().unwrap().to_owned();

    // iCalendar: every event of the window once, with a parseable start.
    let (status, ct, ics) = fetch(&server, "/agenda.ics");
    assert_eq!((status, ct.as_str()), (200, "text/calendar; charset=utf-8"));
    let cal = parse(&dir, "ics", &ics);
    assert_eq!(cal["unique_uids"], json!(true));
    assert_eq!(cal["name"], json!("CoPi"));
    let events = cal["events"].as_u64().unwrap();
    assert!(events >= 40, "{events} events in the demo's calendar");
    let uids = ids(&cal, "items", "uid");
    assert!(!uids.contains(&format!("{secret_id}@copi")));
    assert!(!ics.contains("QZXW"));
    assert!(cal["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["all_day"] == json!(true)));
    assert!(cal["items"].as_array().unwrap().iter().all(|e| e["url"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{}/event/", server.base))));
    // The same events as the JSON agenda over the same window (give or take one whose end
    // passed between the two requests).
    let mut agenda = BTreeSet::new();
    let mut cursor = String::new();
    loop {
        let (status, page) = server.get(&format!(
            "/api/v1/agenda?from={}&to={}&limit=200{cursor}",
            now - 30 * 86_400,
            now + 365 * 86_400
        ));
        assert_eq!(status, 200, "{page}");
        agenda.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| format!("{}@copi", e["id"].as_str().unwrap())),
        );
        match page["next"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    assert!(
        uids.symmetric_difference(&agenda).count() <= 1,
        "calendar and agenda differ: {:?}",
        uids.symmetric_difference(&agenda).collect::<Vec<_>>()
    );

    // An event's own calendar, and a 404 for the private one.
    let slug = fetch(
        &server,
        &format!(
            "/api/v1/elements/{}",
            uids.iter().next().unwrap().trim_end_matches("@copi")
        ),
    );
    let slug: Value = serde_json::from_str(&slug.2).unwrap();
    let (status, _, one) = fetch(
        &server,
        &format!("/event/{}/calendar.ics", slug["slug"].as_str().unwrap()),
    );
    assert_eq!(status, 200);
    assert!(parse(&dir, "ics", &one)["events"].as_u64().unwrap() >= 1);
    let (status, _, _) = fetch(
        &server,
        &format!("/event/{}/calendar.ics", secret["slug"].as_str().unwrap()),
    );
    assert_eq!(status, 404);

    // Atom: the latest 50 public posts, each with a link to its element's page.
    let (status, ct, atom) = fetch(&server, "/live.atom");
    assert_eq!((status, ct.as_str()), (200, "application/atom+xml"));
    let feed = parse(&dir, "atom", &atom);
    assert_eq!(feed["entries"], json!(50));
    assert_eq!(feed["unique_ids"], json!(true));
    assert_eq!(feed["title"], json!("CoPi"));
    assert_eq!(feed["updated"], json!(true));
    assert!(feed["id"].as_str().unwrap().starts_with("urn:uuid:"));
    for entry in feed["items"].as_array().unwrap() {
        let link = entry["link"].as_str().unwrap_or("");
        assert!(link.starts_with(&format!("{}/", server.base)), "{entry}");
        assert_eq!(entry["published"], json!(true), "{entry}");
        assert!(!entry["content"].as_str().unwrap().is_empty(), "{entry}");
    }
    // The JSON feed agrees, and holds no members-only post.
    let (status, live) = server.get("/api/v1/live?limit=50");
    assert_eq!(status, 200);
    let live_ids: BTreeSet<String> = live["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| format!("tag:copi,2025:news/{}", p["id"].as_str().unwrap()))
        .collect();
    assert_eq!(live_ids, ids(&feed, "items", "id"));
    assert!(live["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["scope"]["type"] == json!("public")));

    // GeoJSON: a valid FeatureCollection of points, longitude first, without the secret.
    let (status, ct, geo) = fetch(&server, "/api/v1/map.geojson");
    assert_eq!((status, ct.as_str()), (200, "application/geo+json"));
    let map = parse(&dir, "geojson", &geo);
    assert_eq!(map["truncated"], json!(false));
    assert!(map["features"].as_u64().unwrap() > 100, "{}", map["features"]);
    assert!(!ids(&map, "items", "id").contains(&secret_id));
    let (status, _, box_geo) = fetch(&server, "/api/v1/map.geojson?type=poi&bbox=4.9,44.6,5.2,44.9");
    assert_eq!(status, 200);
    let boxed = parse(&dir, "geojson", &box_geo);
    for f in boxed["items"].as_array().unwrap() {
        let (lon, lat) = (f["lon"].as_f64().unwrap(), f["lat"].as_f64().unwrap());
        assert!((4.9..=5.2).contains(&lon) && (44.6..=44.9).contains(&lat), "{f}");
        assert_eq!(f["kind"], json!("poi"));
    }
    let (status, body) = server.get("/api/v1/map.geojson?bbox=5,45,4,44");
    assert_eq!((status, &body["error"]["code"]), (400, &json!("bad_request")));
}
