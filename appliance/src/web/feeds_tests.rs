//! The feeds through Rocket's local client, on a demo hub of their own, plus the writers'
//! and query parsers' edge cases.

use std::sync::Arc;

use rocket::http::{ContentType, Header, Status};
use rocket::local::blocking::{Client, LocalResponse};
use serde_json::{json, Map, Value};

use super::*;
use crate::api::{rocket, Hub};
use crate::config::{Config, HubConfig};
use crate::model::{Kind, RecordKind};
use crate::store::Store;

const TOKEN: &str = "feeds-admin-token-0123456789";
const HUB_NAME: &str = "Hub & <Crest>";
/// Markers that must never show to anonymous visitors.
const SECRET_EVENT: &str = "Réunion secrète QZXW";
const SECRET_POST: &str = "Réservé aux abonnés QZXW";
const POST_ON_PRIVATE: &str = "Sur un groupe privé QZXW";

struct Fixture {
    client: Client,
    store: Arc<Store>,
    secret_event: Element,
    tricky: Element,
    festival: Element,
    _dir: tempfile::TempDir,
}

fn doc(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

/// A demo hub plus a private event, a private group with a public post, a followers-only
/// post, a festival with a sub-event and an event whose text needs escaping and folding.
fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        data: dir.path().to_owned(),
        admin_token: Some(TOKEN.into()),
        hub: HubConfig {
            name: HUB_NAME.into(),
            ..HubConfig::default()
        },
        ..Config::default()
    };
    let hub = Hub::open(config).unwrap();
    let store = hub.store.clone();
    let today = Timestamp::now().to_zoned_datetime(store.zone().clone()).date();
    let bundle = crate::bundle::Bundle::from_json(
        crate::demo::generate(today, &crate::demo::DemoSize::default()),
        store.zone(),
    )
    .unwrap();
    bundle.write(&store, || {}).unwrap();

    let now = model::now_seconds();
    let geo = json!({"latitude": "44.7281", "longitude": "5.0222"});
    let secret_event = store
        .create_element(
            Kind::Event,
            doc(
                json!({"name": SECRET_EVENT, "type": "meeting", "startDate": now + 2 * DAY, "geo": geo,
                       "preferences": {"private": true}, "address": {"codeInsee": "26108", "postalCode": "26400"}}),
            ),
            None,
        )
        .unwrap();
    let tricky = store
        .create_element(
            Kind::Event,
            doc(json!({
                "name": "Fête; du vélo, \\ et des «ÉLÉPHANTS» — une très longue soirée d'été à Crest avec 🚲🚲🚲",
                "type": "festival",
                "startDate": now + 3 * DAY,
                "endDate": now + 3 * DAY + 7200,
                "shortDescription": "Ligne 1\nLigne 2, avec virgule; et point-virgule\r\nFin",
                "tags": ["Vélo", "#fête"],
                "address": {"streetAddress": "Place de la Liberté", "postalCode": "26400", "addressLocality": "Crest", "codeInsee": "26108"},
                "geo": geo,
            })),
            None,
        )
        .unwrap();
    let festival = store
        .create_element(
            Kind::Event,
            doc(
                json!({"name": "Festival QZXF", "type": "festival", "startDate": now + 10 * DAY, "allDay": true,
                       "endDate": now + 12 * DAY, "timeZone": "Europe/Paris"}),
            ),
            None,
        )
        .unwrap();
    store
        .create_element(
            Kind::Event,
            doc(
                json!({"name": "Concert du festival QZXF", "type": "concert", "startDate": now + 11 * DAY,
                       "parentId": festival.id.as_str(), "parentType": "events"}),
            ),
            None,
        )
        .unwrap();
    let group = store
        .create_element(
            Kind::Organization,
            doc(json!({"name": "Groupe privé QZXG", "type": "Group", "preferences": {"private": true}})),
            None,
        )
        .unwrap();
    let open = store
        .create_element(
            Kind::Organization,
            doc(json!({"name": "Asso ouverte QZXO", "type": "NGO"})),
            None,
        )
        .unwrap();
    let post = |target: &Element, text: &str, scope: Value| {
        store
            .create_record(
                RecordKind::Post,
                doc(
                    json!({"text": text, "target": {"id": target.id.as_str(), "type": "organizations"},
                           "scope": scope, "created": now}),
                ),
            )
            .unwrap();
    };
    post(&open, SECRET_POST, json!({"type": "restricted"}));
    post(&group, POST_ON_PRIVATE, json!({"type": "public"}));
    post(&open, "Bonjour <tout> le monde & bienvenue", json!({"type": "public"}));
    Fixture {
        client: Client::tracked(rocket(hub)).unwrap(),
        store,
        secret_event,
        tricky,
        festival,
        _dir: dir,
    }
}

fn admin() -> Header<'static> {
    Header::new("Authorization", format!("Bearer {TOKEN}"))
}

fn body(r: LocalResponse<'_>) -> (Status, Option<ContentType>, String) {
    let status = r.status();
    let ct = r.content_type();
    (status, ct, r.into_string().unwrap_or_default())
}

impl Fixture {
    fn get(&self, uri: &str) -> (Status, Option<ContentType>, String) {
        body(self.client.get(uri.to_owned()).dispatch())
    }

    fn get_admin(&self, uri: &str) -> (Status, Option<ContentType>, String) {
        body(self.client.get(uri.to_owned()).header(admin()).dispatch())
    }

    fn json(&self, uri: &str) -> Value {
        let (status, ct, text) = self.get(uri);
        assert_eq!(status, Status::Ok, "{uri}: {text}");
        assert_eq!(ct, Some(ContentType::JSON), "{uri}");
        serde_json::from_str(&text).unwrap()
    }
}

/// The property values of a calendar's content lines named `name`, unfolded.
fn ics_values(ics: &str, name: &str) -> Vec<String> {
    ics.replace("\r\n ", "")
        .split("\r\n")
        .filter_map(|l| {
            let (head, value) = l.split_once(':')?;
            (head.split(';').next() == Some(name)).then(|| value.to_owned())
        })
        .collect()
}

fn assert_well_formed_ics(ics: &str) {
    assert!(ics.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"), "{}", &ics[..60]);
    assert!(ics.ends_with("END:VCALENDAR\r\n"));
    assert!(!ics.replace("\r\n", "").contains(['\r', '\n']), "bare CR or LF");
    for line in ics.split("\r\n") {
        assert!(line.len() <= 75, "line of {} octets: {line}", line.len());
    }
    assert_eq!(ics.matches("BEGIN:VEVENT").count(), ics.matches("END:VEVENT").count());
    let uids = ics_values(ics, "UID");
    let mut unique = uids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(uids.len(), unique.len(), "UIDs repeat");
    assert_eq!(uids.len(), ics.matches("BEGIN:VEVENT").count());
    assert_eq!(ics_values(ics, "DTSTART").len(), uids.len());
}

fn assert_bad_request(f: &Fixture, uri: &str) {
    let (status, ct, text) = f.get(uri);
    assert_eq!(status, Status::BadRequest, "{uri}: {text}");
    assert_eq!(ct, Some(ContentType::JSON), "{uri}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["error"]["code"], json!("bad_request"), "{uri}: {v}");
    assert!(
        v["error"]["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{uri}: {v}"
    );
}

#[test]
fn agenda_pages_by_start_and_hides_private_events() {
    let f = fixture();
    let v = f.json("/api/v1/agenda?limit=15");
    let mut items: Vec<Value> = Vec::new();
    let mut page = v;
    loop {
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next"].as_str() {
            Some(next) => page = f.json(&format!("/api/v1/agenda?limit=15&cursor={next}")),
            None => break,
        }
    }
    assert!(items.len() > 20, "{} coming events", items.len());
    assert!(items.iter().all(|e| e["kind"] == json!("event")));
    let starts: Vec<i64> = items
        .iter()
        .map(|e| {
            model::timestamp_from_value(&e["startDate"], f.store.zone())
                .unwrap()
                .as_second()
        })
        .collect();
    assert!(starts.windows(2).all(|w| w[0] <= w[1]), "not by start");
    let ids: Vec<&str> = items.iter().map(|e| e["id"].as_str().unwrap()).collect();
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "a page repeated an event");
    assert!(ids.contains(&f.tricky.id.as_str()));
    assert!(!ids.contains(&f.secret_event.id.as_str()));
    assert!(!serde_json::to_string(&items).unwrap().contains("QZXW"));

    let (status, _, text) = f.get_admin("/api/v1/agenda?limit=200");
    assert_eq!(status, Status::Ok);
    assert!(text.contains(SECRET_EVENT));

    // A window: only what overlaps it; a scope: only what is inside.
    let day = Timestamp::from_second(model::now_seconds() + 3 * DAY)
        .unwrap()
        .to_zoned_datetime(f.store.zone().clone())
        .date();
    let v = f.json(&format!("/api/v1/agenda?from={day}&to={day}&limit=200"));
    assert!(v["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["id"] == json!(f.tricky.id.as_str())));
    let v = f.json("/api/v1/agenda?scope=dep:07&limit=200&from=2000-01-01&to=2009-01-01");
    assert_eq!(v, json!({"items": [], "next": null}));
    let v = f.json("/api/v1/agenda?scope=city:26108&tags=v%C3%A9lo&limit=200");
    let names: Vec<&str> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert!(names.iter().any(|n| n.starts_with("Fête; du vélo")), "{names:?}");
}

#[test]
fn live_shows_public_posts_only() {
    let f = fixture();
    let v = f.json("/api/v1/live?limit=200");
    let items = v["items"].as_array().unwrap();
    assert!(items.len() > 20);
    let text = serde_json::to_string(&v).unwrap();
    assert!(
        !text.contains(SECRET_POST) && !text.contains(POST_ON_PRIVATE),
        "a hidden post showed"
    );
    assert_eq!(items[0]["text"], json!("Bonjour <tout> le monde & bienvenue"));
    assert_eq!(items[0]["element"]["name"], json!("Asso ouverte QZXO"));
    assert_eq!(items[0]["element"]["kind"], json!("organization"));
    for item in items {
        let e = &item["element"];
        assert!(e.is_null() || (e["id"].is_string() && e["slug"].is_string()), "{item}");
        assert!(item["id"].is_string());
    }
    // Pages follow one another without repeating.
    let first = f.json("/api/v1/live?limit=5");
    let second = f.json(&format!(
        "/api/v1/live?limit=5&cursor={}",
        first["next"].as_str().unwrap()
    ));
    assert_eq!(
        second["items"][0]["id"], v["items"][5]["id"],
        "the second page starts where the first ended"
    );
    // The admin sees public posts on private elements, never followers-only ones.
    let (_, _, admin_text) = f.get_admin("/api/v1/live?limit=200");
    assert!(admin_text.contains(POST_ON_PRIVATE) && !admin_text.contains(SECRET_POST));
}

#[test]
fn map_geojson_is_a_feature_collection() {
    let f = fixture();
    let (status, ct, text) = f.get("/api/v1/map.geojson");
    assert_eq!(status, Status::Ok, "{text}");
    assert_eq!(ct.map(|c| c.to_string()), Some("application/geo+json".to_owned()));
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["type"], json!("FeatureCollection"));
    assert_eq!(v["truncated"], json!(false));
    let features = v["features"].as_array().unwrap();
    assert!(features.len() > 100, "{}", features.len());
    for feature in features {
        assert_eq!(feature["type"], json!("Feature"));
        assert_eq!(feature["geometry"]["type"], json!("Point"));
        let c = feature["geometry"]["coordinates"].as_array().unwrap();
        let (lon, lat) = (c[0].as_f64().unwrap(), c[1].as_f64().unwrap());
        // The demo territory is in the Drôme: longitude first.
        assert!((4.0..6.5).contains(&lon) && (44.0..46.0).contains(&lat), "{feature}");
        let p = &feature["properties"];
        let url = format!("/{}/{}", p["kind"].as_str().unwrap(), p["slug"].as_str().unwrap());
        assert_eq!(p["url"], json!(url));
        assert!(p["id"].is_string() && p["name"].is_string());
    }
    assert!(!text.contains("QZXW"));
    assert!(f.get_admin("/api/v1/map.geojson").2.contains(SECRET_EVENT));

    let pois = f.json_geo("/api/v1/map.geojson?type=poi");
    assert!(!pois.is_empty() && pois.iter().all(|p| p["properties"]["kind"] == json!("poi")));
    let around = f.json_geo("/api/v1/map.geojson?bbox=5.02,44.72,5.03,44.73");
    assert!(around
        .iter()
        .any(|p| p["properties"]["id"] == json!(f.tricky.id.as_str())));
    assert!(around.len() < features.len());
    assert!(f.json_geo("/api/v1/map.geojson?bbox=-1,-1,0,0").is_empty());
}

impl Fixture {
    fn json_geo(&self, uri: &str) -> Vec<Value> {
        let (status, _, text) = self.get(uri);
        assert_eq!(status, Status::Ok, "{uri}: {text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        v["features"].as_array().unwrap().clone()
    }
}

#[test]
fn agenda_ics_is_rfc_5545() {
    let f = fixture();
    let (status, ct, ics) = f.get("/agenda.ics");
    assert_eq!(status, Status::Ok);
    assert_eq!(
        ct.map(|c| c.to_string()),
        Some("text/calendar; charset=utf-8".to_owned())
    );
    assert_well_formed_ics(&ics);
    assert_eq!(ics_values(&ics, "X-WR-CALNAME"), ["Hub & <Crest>"]);
    assert!(ics.matches("BEGIN:VEVENT").count() > 20);
    assert!(!ics.contains("QZXW"), "the private event is in the public calendar");
    assert!(!ics_values(&ics, "UID").contains(&format!("{}@copi", f.secret_event.id)));

    // Escaping and folding round-trip: the tricky event's text comes back unfolded.
    let uid = format!("UID:{}@copi", f.tricky.id);
    let unfolded = ics.replace("\r\n ", "");
    let event = unfolded
        .split("BEGIN:VEVENT\r\n")
        .find(|e| e.contains(&uid))
        .expect("the tricky event");
    assert!(event.contains(
        "SUMMARY:Fête\\; du vélo\\, \\\\ et des «ÉLÉPHANTS» — une très longue soirée d'été à Crest avec 🚲🚲🚲\r\n"
    ));
    assert!(event.contains("DESCRIPTION:Ligne 1\\nLigne 2\\, avec virgule\\; et point-virgule\\nFin\r\n"));
    assert!(event.contains("LOCATION:Place de la Liberté\\, 26400 Crest\r\n"));
    assert!(event.contains("CATEGORIES:Vélo,fête\r\n"));
    assert!(event.contains("GEO:44.7281;5.0222\r\n"));
    assert!(event.contains(&format!(
        "URL:http://copi.lan/event/{}\r\n",
        f.tricky.doc["slug"].as_str().unwrap()
    )));
    let start = utc_stamp(model::now_seconds() + 3 * DAY).unwrap();
    let dtstart = ics_values(event, "DTSTART");
    assert_eq!(dtstart.len(), 1);
    assert!(dtstart[0].ends_with('Z') && dtstart[0].len() == 16 && dtstart[0][..8] == start[..8]);
    assert!(ics_values(event, "LAST-MODIFIED")[0].ends_with('Z'));

    // All-day events are dates; the Host the visitor used is in the links.
    let festival = unfolded
        .split("BEGIN:VEVENT\r\n")
        .find(|e| e.contains(&format!("UID:{}@copi", f.festival.id)))
        .expect("the festival");
    assert!(festival.contains("DTSTART;VALUE=DATE:"), "{festival}");
    assert!(festival.contains("DTEND;VALUE=DATE:"), "{festival}");

    let r = f
        .client
        .get("/agenda.ics")
        .header(Header::new("Host", "10.42.0.1:8000"))
        .dispatch();
    let ics = r.into_string().unwrap();
    assert!(ics.replace("\r\n ", "").contains("URL:http://10.42.0.1:8000/event/"));

    let (_, _, admin_ics) = f.get_admin("/agenda.ics");
    assert!(admin_ics.contains(SECRET_EVENT));
    // Scoped: nothing in Ardèche's department code from the Crest demo.
    let (status, _, empty) = f.get("/agenda.ics?scope=dep:2A&tags=jardin");
    assert_eq!(status, Status::Ok);
    assert_well_formed_ics(&empty);
    assert_eq!(empty.matches("BEGIN:VEVENT").count(), 0);
}

#[test]
fn element_calendars() {
    let f = fixture();
    let slug = f.festival.doc["slug"].as_str().unwrap();
    let (status, ct, ics) = f.get(&format!("/event/{slug}/calendar.ics"));
    assert_eq!(status, Status::Ok, "{ics}");
    assert_eq!(
        ct.map(|c| c.to_string()),
        Some("text/calendar; charset=utf-8".to_owned())
    );
    assert_well_formed_ics(&ics);
    let summaries = ics_values(&ics, "SUMMARY");
    assert_eq!(summaries, ["Festival QZXF", "Concert du festival QZXF"]);

    // An organisation's calendar: the events it organises (demo organisers).
    let org = f
        .store
        .list_elements(&crate::store::ListQuery {
            kinds: vec![Kind::Event],
            limit: 200,
            ..Default::default()
        })
        .unwrap()
        .items
        .into_iter()
        .find_map(|e| e.organizer_ids().into_iter().next())
        .and_then(|id| {
            f.store
                .get_element(&crate::model::ElementId::parse(&id).unwrap(), Visibility::Public)
                .unwrap()
        })
        .expect("a public organiser");
    let (status, _, ics) = f.get(&format!(
        "/{}/{}/calendar.ics",
        org.kind,
        org.doc["slug"].as_str().unwrap()
    ));
    assert_eq!(status, Status::Ok);
    assert_well_formed_ics(&ics);
    assert!(ics.matches("BEGIN:VEVENT").count() >= 1, "{ics}");

    // Unknown, private, or under another kind: 404.
    let secret = f.secret_event.doc["slug"].as_str().unwrap();
    for uri in [
        "/event/no-such-slug/calendar.ics".to_owned(),
        format!("/event/{secret}/calendar.ics"),
        format!("/poi/{slug}/calendar.ics"),
        format!("/spaceship/{slug}/calendar.ics"),
    ] {
        let (status, _, text) = f.get(&uri);
        assert_eq!(status, Status::NotFound, "{uri}: {text}");
        assert!(!text.contains("QZXW"));
    }
    let (status, _, text) = f.get_admin(&format!("/event/{secret}/calendar.ics"));
    assert_eq!(status, Status::Ok);
    assert!(text.contains(SECRET_EVENT));
}

#[test]
fn live_atom_is_rfc_4287() {
    let f = fixture();
    let (status, ct, xml) = f.get("/live.atom");
    assert_eq!(status, Status::Ok);
    assert_eq!(ct.map(|c| c.to_string()), Some("application/atom+xml".to_owned()));
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">"));
    assert!(xml.contains("<title>Hub &amp; &lt;Crest&gt;</title>"));
    let instance = f.store.instance().id.clone();
    assert!(xml.contains(&format!("<id>urn:uuid:{}-", &instance[..8])), "{instance}");
    assert_eq!(xml.matches("<entry>").count(), ATOM_ENTRIES);
    assert_eq!(
        xml.matches("<link rel=\"alternate\" type=\"text/html\" href=\"http://copi.lan/")
            .count(),
        ATOM_ENTRIES + 1
    );
    assert!(xml.contains("<content type=\"text\">Bonjour &lt;tout&gt; le monde &amp; bienvenue</content>"));
    assert!(!xml.contains(SECRET_POST) && !xml.contains(POST_ON_PRIVATE));
    // Every entry has its id, title and dates.
    for entry in xml.split("<entry>").skip(1) {
        for tag in [
            "<id>tag:copi,2025:news/",
            "<title type=\"text\">",
            "<updated>",
            "<published>",
        ] {
            assert!(entry.contains(tag), "{tag} missing in {entry}");
        }
    }
    let (_, _, scoped) = f.get("/live.atom?scope=dep:2A");
    assert_eq!(scoped.matches("<entry>").count(), 0);
}

#[test]
fn bad_query_values_are_400() {
    let f = fixture();
    for uri in [
        "/api/v1/agenda?from=yesterday",
        "/api/v1/agenda?to=2026-13-01",
        "/api/v1/agenda?from=2026-02-01&to=2026-01-01",
        "/api/v1/agenda?from=99999999999999999",
        "/api/v1/agenda?from=2000-01-01&to=2030-01-01",
        "/api/v1/agenda?scope=planet:3",
        "/api/v1/agenda?scope=city:99999",
        "/api/v1/agenda?limit=0",
        "/api/v1/agenda?limit=201",
        "/api/v1/agenda?limit=ten",
        "/api/v1/agenda?cursor=zzz",
        "/api/v1/agenda?cursor=e12",
        "/api/v1/live?cursor=c5",
        "/api/v1/live?cursor=p-5",
        "/api/v1/live?limit=1000",
        "/api/v1/live?scope=dep:999",
        "/api/v1/map.geojson?type=spaceship",
        "/api/v1/map.geojson?scope=region:xx",
        "/api/v1/map.geojson?bbox=1,2,3",
        "/api/v1/map.geojson?bbox=1,2,3,4,5",
        "/api/v1/map.geojson?bbox=a,b,c,d",
        "/api/v1/map.geojson?bbox=NaN,44,5,45",
        "/api/v1/map.geojson?bbox=4,44,inf,45",
        "/api/v1/map.geojson?bbox=181,44,182,45",
        "/api/v1/map.geojson?bbox=4,-91,5,45",
        "/api/v1/map.geojson?bbox=5,44,4,45",
        "/api/v1/map.geojson?bbox=4,45,5,44",
        "/agenda.ics?scope=nowhere",
        "/live.atom?scope=cp:1",
    ] {
        assert_bad_request(&f, uri);
    }
}

#[test]
fn modules_turned_off_answer_404() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        data: dir.path().to_owned(),
        modules: vec![crate::config::Module::Search],
        ..Config::default()
    };
    let client = Client::tracked(rocket(Hub::open(config).unwrap())).unwrap();
    for uri in [
        "/api/v1/agenda",
        "/api/v1/live",
        "/api/v1/map.geojson",
        "/agenda.ics",
        "/live.atom",
    ] {
        assert_eq!(client.get(uri).dispatch().status(), Status::NotFound, "{uri}");
    }
}

#[test]
fn folding_keeps_lines_within_75_octets_and_characters_whole() {
    fn check(line: &str) {
        let mut out = String::new();
        fold_line(&mut out, line);
        assert!(out.ends_with("\r\n"));
        for physical in out.trim_end_matches("\r\n").split("\r\n") {
            assert!(physical.len() <= 75, "{} octets: {physical:?}", physical.len());
        }
        assert_eq!(out.trim_end_matches("\r\n").replace("\r\n ", ""), line);
    }
    check("");
    check("SUMMARY:short");
    check(&format!("SUMMARY:{}", "a".repeat(67)));
    check(&format!("SUMMARY:{}", "a".repeat(68)));
    check(&format!("SUMMARY:{}", "é".repeat(100)));
    check(&format!("DESCRIPTION:{}", "🚲x".repeat(80)));
    check(&"€".repeat(200));
    let mut out = String::new();
    fold_line(&mut out, &"a".repeat(150));
    assert_eq!(
        out,
        format!("{}\r\n {}\r\n {}\r\n", "a".repeat(75), "a".repeat(74), "a")
    );
}

#[test]
fn text_and_xml_escaping() {
    fn ical(input: &str, expected: &str) {
        assert_eq!(escape_text(input), expected, "{input:?}");
    }
    ical("plain", "plain");
    ical("a,b;c\\d", "a\\,b\\;c\\\\d");
    ical("one\ntwo\r\nthree\rfour", "one\\ntwo\\nthree\\nfour");
    ical("tab\there\u{7}bell\u{0}", "tab\therebell");
    fn xml(input: &str, expected: &str) {
        assert_eq!(xml_escape(input), expected, "{input:?}");
    }
    xml(
        "a & b < c > d \"e\" 'f'",
        "a &amp; b &lt; c &gt; d &quot;e&quot; &apos;f&apos;",
    );
    xml("ok\u{1}\u{8}\u{b}\u{c}\u{1f}\u{fffe}\u{ffff}", "ok");
    xml("line\nnext\ttab\r", "line\nnext\ttab\r");
    xml("<![CDATA[]]>", "&lt;![CDATA[]]&gt;");
    assert_eq!(
        feed_id("0123456789abcdef0123456789ABCDEF"),
        "urn:uuid:01234567-89ab-cdef-0123-456789abcdef"
    );
    assert_eq!(feed_id("not hex <x>"), "tag:copi,2025:hub/nothexx");
}

#[test]
fn query_values() {
    let paris = jiff::tz::TimeZone::get("Europe/Paris").unwrap();
    fn date(v: &str, bound: DayBound, zone: &jiff::tz::TimeZone) -> Result<Option<i64>, ()> {
        parse_date("from", Some(v), zone, bound).map_err(|_| ())
    }
    // Midnight in Paris on 2026-01-05 is 23:00 UTC the day before.
    let midnight = 1_767_567_600;
    assert_eq!(date("2026-01-05", DayBound::Start, &paris), Ok(Some(midnight)));
    assert_eq!(
        date("2026-01-05", DayBound::LastSecond, &paris),
        Ok(Some(midnight + DAY - 1))
    );
    assert_eq!(date("2026-01-05", DayBound::NextDay, &paris), Ok(Some(midnight + DAY)));
    assert_eq!(date(" 1767567600 ", DayBound::Start, &paris), Ok(Some(midnight)));
    assert_eq!(
        date("2026-01-04T23:00:00Z", DayBound::NextDay, &paris),
        Ok(Some(midnight))
    );
    assert_eq!(date("", DayBound::Start, &paris), Ok(None));
    for bad in [
        "tomorrow",
        "2026-02-30",
        "9999999999999",
        "2026-01-05T25:00:00Z",
        "9999-12-31",
    ] {
        let bound = if bad == "9999-12-31" {
            DayBound::NextDay
        } else {
            DayBound::Start
        };
        assert_eq!(date(bad, bound, &paris), Err(()), "{bad}");
    }
    assert_eq!(parse_limit(None, 20, 200).unwrap(), 20);
    assert_eq!(parse_limit(Some("200"), 20, 200).unwrap(), 200);
    assert!(parse_limit(Some("-1"), 20, 200).is_err());
    assert_eq!(parse_kinds(Some("events, poi,")).unwrap(), [Kind::Event, Kind::Poi]);
    assert!(matches!(parse_kinds(Some("ship")), Err(Error::BadRequest(_))));
    assert_eq!(parse_tags(Some("#Jardin, vélo,,")).unwrap(), ["jardin", "vélo"]);
    assert_eq!(
        parse_bbox(Some("-180,-90,180,90")).unwrap(),
        Some(BBox {
            min_lon: -180.0,
            min_lat: -90.0,
            max_lon: 180.0,
            max_lat: 90.0
        })
    );
    assert_eq!(parse_bbox(Some(" ")).unwrap(), None);
}
