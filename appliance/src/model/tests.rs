use super::*;
use copi_e2e::communecter::{assert_nothing_lost, normalize};
use jiff::tz::TimeZone;
use serde_json::{json, Value};

fn paris() -> TimeZone {
    TimeZone::get("Europe/Paris").unwrap()
}

/// The sample documents written from the Communecter reference, by collection.
pub(crate) fn samples() -> serde_json::Map<String, Value> {
    let text = include_str!("../../../tests/fixtures/communecter-samples.json");
    serde_json::from_str::<Value>(text)
        .unwrap()
        .as_object()
        .unwrap()
        .clone()
}

#[test]
fn communecter_samples_round_trip_without_loss() {
    let mut seen = std::collections::HashSet::new();
    for (collection, docs) in samples() {
        if ["news", "comments", "documents"].contains(&collection.as_str()) {
            continue;
        }
        for doc in docs.as_array().unwrap() {
            let (element, _) = Element::from_json(doc.clone(), Some(&collection), &paris())
                .unwrap_or_else(|e| panic!("{collection}: {e}"));
            seen.insert(element.kind);
            let (out_collection, out) = element.to_communecter();
            assert_eq!(out_collection, collection, "{}", element.id);
            assert_nothing_lost(&normalize(doc), &normalize(&out), &element.id.to_string());
            // And through CoPi's own shape.
            let (again, _) = Element::from_json(element.to_json(), None, &paris()).unwrap();
            assert_eq!(again, element);
        }
    }
    assert_eq!(seen.len(), Kind::ALL.len(), "samples cover every kind: {seen:?}");
}

#[test]
fn records_round_trip_without_loss() {
    let samples = samples();
    for kind in RecordKind::ALL {
        for doc in samples[kind.collection()].as_array().unwrap() {
            let record = Record::from_json(kind, doc.clone()).unwrap_or_else(|e| panic!("{e}"));
            assert_nothing_lost(&normalize(doc), &normalize(&record.to_json()), kind.collection());
        }
    }
}

#[test]
fn quirks_are_read() {
    let samples = samples();
    let event = samples["events"][1].clone();
    let (e, facts) = Element::from_json(event, Some("events"), &paris()).unwrap();
    assert_eq!(e.kind, Kind::Event);
    assert_eq!(facts.start, Some(1546329600));
    assert_eq!(facts.end, Some(1546340400));
    assert_eq!(facts.parent.unwrap().as_str(), "5b0f00000000000000000099");
    assert_eq!(facts.position, Some((-21.0096, 55.2699)));
    assert_eq!(facts.insee.as_deref(), Some("97415"));
    let resource = samples["classifieds"][1].clone();
    let (r, facts) = Element::from_json(resource, Some("classifieds"), &paris()).unwrap();
    assert_eq!(r.kind, Kind::Resource);
    assert_eq!(facts.tags, vec!["lookingfor", "loisirs"]);
    let org = samples["organizations"][0].clone();
    let (o, _) = Element::from_json(org, Some("organizations"), &paris()).unwrap();
    let member = o
        .links
        .iter()
        .find(|l| l.other.as_str() == "5c0000000000000000000009")
        .unwrap();
    assert_eq!(member.link_type, "members");
    assert_eq!(member.attrs["roles"], json!(["Trésorier"]));
}

fn element(v: Value) -> Result<(Element, Facts), ModelError> {
    Element::from_json(v, None, &paris())
}

#[test]
fn bad_documents_are_refused_with_the_field_named() {
    fn check(v: Value, field: &str) {
        match element(v.clone()) {
            Err(e) => assert!(e.to_string().contains(field), "{v}: {e} should name {field}"),
            Ok(_) => panic!("{v} was accepted"),
        }
    }
    let id = "5b0f00000000000000000001";
    check(json!({"id": id, "kind": "spaceship", "name": "x"}), "spaceship");
    check(json!({"id": id, "name": "x"}), "kind");
    check(json!({"id": id, "kind": "project"}), "name");
    check(json!({"id": id, "kind": "project", "name": "  "}), "name");
    check(json!({"id": id, "kind": "project", "name": 12}), "name");
    check(json!({"id": id, "kind": "project", "name": "x", "tags": "a,b"}), "tags");
    check(json!({"id": id, "kind": "project", "name": "x", "tags": [1]}), "tags");
    check(json!({"id": id, "kind": "organization", "name": "x"}), "type");
    check(
        json!({"id": id, "kind": "organization", "name": "x", "type": "Club"}),
        "type",
    );
    check(
        json!({"id": id, "kind": "event", "name": "x", "type": "concert"}),
        "startDate",
    );
    check(
        json!({"id": id, "kind": "event", "name": "x", "type": "concert", "startDate": "bientôt"}),
        "startDate",
    );
    check(
        json!({"id": id, "kind": "event", "name": "x", "type": "concert", "startDate": 200, "endDate": 100}),
        "endDate",
    );
    check(
        json!({"id": id, "kind": "event", "name": "x", "type": "concert", "startDate": 1, "timeZone": "Mars/Olympus"}),
        "timeZone",
    );
    check(
        json!({"id": id, "kind": "poi", "name": "x", "geo": {"latitude": 45.1, "longitude": "4.2"}}),
        "geo.latitude",
    );
    check(
        json!({"id": id, "kind": "poi", "name": "x", "geo": {"latitude": "95", "longitude": "4.2"}}),
        "geo.latitude",
    );
    check(
        json!({"id": id, "kind": "poi", "name": "x", "geoPosition": {"type": "Point", "coordinates": ["4", "45"]}}),
        "geoPosition",
    );
    check(
        json!({"id": id, "kind": "poi", "name": "x", "address": "12 rue"}),
        "address",
    );
    check(
        json!({"id": id, "kind": "poi", "name": "x", "address": {"codeInsee": 26108}}),
        "address.codeInsee",
    );
    check(
        json!({"id": id, "kind": "classified", "name": "x", "price": "cher"}),
        "price",
    );
    check(
        json!({"id": id, "kind": "classified", "name": "x", "devise": "BTC"}),
        "devise",
    );
    check(
        json!({"id": id, "kind": "classified", "name": "x", "section": "stolen"}),
        "section",
    );
    check(json!({"id": id, "kind": "resource", "name": "x"}), "section");
    check(
        json!({"id": id, "kind": "resource", "name": "x", "section": "offer", "category": "magic"}),
        "category",
    );
    check(
        json!({"id": id, "kind": "project", "name": "x", "preferences": {"private": "yes"}}),
        "preferences.private",
    );
    check(
        json!({"id": id, "kind": "project", "name": "x", "links": {"members": {"../x": {}}}}),
        "links",
    );
    check(json!({"id": "a/b", "kind": "project", "name": "x"}), "_id");
}

#[test]
fn normalisations() {
    let (e, facts) = element(json!({"id": "p1", "kind": "poi", "name": "Banc",
        "geoPosition": {"type": "Point", "coordinates": [5.03, 44.75]}, "tags": ["#Jardin", "jardin", " Potager "]}))
    .unwrap();
    assert_eq!(e.doc["geo"]["latitude"], json!("44.75"));
    assert_eq!(facts.tags, vec!["jardin", "potager"]);
    assert_eq!(e.doc.get("type"), None);
    let (e, _) = element(json!({"id": "o1", "kind": "organization", "name": "Asso", "type": "ngo"})).unwrap();
    assert_eq!(e.doc["type"], json!("NGO"));
    let (e, facts) = element(
        json!({"id": "e1", "kind": "event", "name": "Bal", "type": "GETTOGETHER",
        "startDate": "2026-07-14 21:00", "timeZone": "Europe/Paris"}),
    )
    .unwrap();
    assert_eq!(e.doc["type"], json!("getTogether"));
    assert_eq!(facts.start, Some(1784055600));
}

#[test]
fn reciprocal_link_types() {
    fn check(t: &str, this: Kind, other: Kind, expected: Option<&str>) {
        assert_eq!(reciprocal(t, this, other), expected, "{t} {this} {other}");
    }
    check("members", Kind::Organization, Kind::Person, Some("memberOf"));
    check("memberOf", Kind::Person, Kind::Organization, Some("members"));
    check("contributors", Kind::Project, Kind::Person, Some("projects"));
    check("projects", Kind::Person, Kind::Project, Some("contributors"));
    check("projects", Kind::Project, Kind::Project, Some("projects"));
    check("attendees", Kind::Event, Kind::Person, Some("events"));
    check("events", Kind::Person, Kind::Event, Some("attendees"));
    check("events", Kind::Organization, Kind::Event, Some("organizer"));
    check("followers", Kind::Project, Kind::Person, Some("follows"));
    check("knows", Kind::Person, Kind::Person, None);
}
