use std::collections::{HashMap, HashSet};

use jiff::civil::date;
use jiff::tz::TimeZone;
use serde_json::Value;

use super::*;
use crate::bundle::Bundle;
use crate::model::{Element, Facts, RecordKind};

fn paris() -> TimeZone {
    TimeZone::get("Europe/Paris").unwrap()
}

fn today() -> Date {
    date(2025, 6, 14)
}

fn midnight(d: Date) -> i64 {
    paris().to_timestamp(d.at(0, 0, 0, 0)).unwrap().as_second()
}

fn default_bundle() -> (Value, Bundle) {
    let value = generate(today(), &DemoSize::default());
    let bundle = Bundle::from_json(value.clone(), &paris()).expect("the demo bundle validates");
    (value, bundle)
}

fn by_id(bundle: &Bundle) -> HashMap<&str, &(Element, Facts)> {
    bundle.elements.iter().map(|e| (e.0.id.as_str(), e)).collect()
}

fn count(bundle: &Bundle, kind: Kind) -> usize {
    bundle.elements.iter().filter(|(e, _)| e.kind == kind).count()
}

fn has_link(e: &Element, link_type: &str, other: &str) -> bool {
    e.links
        .iter()
        .any(|l| l.link_type == link_type && l.other.as_str() == other)
}

#[test]
fn default_bundle_validates_with_every_kind() {
    let (_, bundle) = default_bundle();
    assert!(bundle.elements.len() >= 300, "{} elements", bundle.elements.len());
    let expected = [
        (Kind::Person, 90),
        (Kind::Organization, 45),
        (Kind::Project, 30),
        (Kind::Event, 80),
        (Kind::Poi, 40),
        (Kind::Classified, 40),
        (Kind::Resource, 40),
    ];
    for (kind, n) in expected {
        assert_eq!(count(&bundle, kind), n, "{kind}");
    }
    let posts = bundle
        .records
        .iter()
        .filter(|(r, _)| r.kind == RecordKind::Post)
        .count();
    let comments = bundle
        .records
        .iter()
        .filter(|(r, _)| r.kind == RecordKind::Comment)
        .count();
    assert!((100..=140).contains(&posts), "{posts} posts");
    assert!((180..=220).contains(&comments), "{comments} comments");
}

#[test]
fn elements_have_full_addresses_near_their_commune() {
    let (_, bundle) = default_bundle();
    let home: HashSet<&str> = words::HOME_COMMUNES.iter().copied().collect();
    let mut communes = HashSet::new();
    for (e, facts) in &bundle.elements {
        let insee = facts
            .insee
            .as_deref()
            .unwrap_or_else(|| panic!("{} has no INSEE code", e.id));
        assert!(home.contains(insee), "{} is in {insee}, not around Crest", e.id);
        communes.insert(insee.to_owned());
        let c = territory::commune(insee).unwrap();
        assert!(c.postal_codes.contains(facts.postal_code.as_deref().unwrap()));
        assert_eq!(facts.locality.as_deref(), Some(c.name));
        assert_eq!(facts.country.as_deref(), Some("FR"));
        let address = e.doc["address"].as_object().unwrap();
        assert_eq!(address["@type"], "PostalAddress");
        assert!(!address["streetAddress"].as_str().unwrap().is_empty());
        assert_eq!(address["level3Name"], "Auvergne-Rhône-Alpes");
        assert_eq!(address["level4Name"], "Drôme");
        assert!(e.doc["geo"]["latitude"].is_string());
        assert!(e.doc["geoPosition"]["coordinates"][0].is_f64());
        let (lat, lon) = facts.position.unwrap();
        let (clat, clon) = c.position.unwrap();
        let km = ((lat - clat) * 111.2).hypot((lon - clon) * 111.2 * clat.to_radians().cos());
        assert!(km <= 1.5, "{} is {km:.2} km from {}", e.id, c.name);
        assert!(facts.slug.is_some());
        assert!(!facts.tags.is_empty(), "{} has no tags", e.id);
    }
    assert!(communes.len() >= 9, "only {} communes", communes.len());
    let slugs: HashSet<_> = bundle.elements.iter().map(|(_, f)| f.slug.clone()).collect();
    assert_eq!(slugs.len(), bundle.elements.len(), "slugs are unique");
}

#[test]
fn events_around_today_with_festivals() {
    let (_, bundle) = default_bundle();
    let now = midnight(today());
    let first = midnight(today().checked_add(jiff::Span::new().days(-PAST_DAYS)).unwrap());
    let last = midnight(today().checked_add(jiff::Span::new().days(COMING_DAYS + 1)).unwrap());
    let events: Vec<_> = bundle.elements.iter().filter(|(e, _)| e.kind == Kind::Event).collect();
    assert!(events.len() >= 80);
    let past = events.iter().filter(|(_, f)| f.end.unwrap() < now).count();
    let coming = events.iter().filter(|(_, f)| f.start.unwrap() >= now).count();
    assert!(past >= 15 && coming >= 30, "{past} past, {coming} coming");
    for (e, f) in &events {
        let (start, end) = (f.start.unwrap(), f.end.unwrap());
        assert!(start >= first && end <= last + 60 * 86_400, "{} at {start}", e.id);
        assert!(start <= end);
        assert_eq!(e.doc["timeZone"], "Europe/Paris");
        assert!(EVENT_TYPES_OK.contains(&f.type_.as_deref().unwrap()));
        assert!(e.doc["organizerId"].is_string());
    }
    let ids = by_id(&bundle);
    let mut children: HashMap<&str, usize> = HashMap::new();
    for (e, f) in &events {
        if let Some(parent) = &f.parent {
            let (p, pf) = ids.get(parent.as_str()).expect("a sub-event's parent exists");
            assert_eq!(p.kind, Kind::Event);
            assert!(has_link(p, "subEvents", e.id.as_str()));
            assert!(f.start.unwrap() >= pf.start.unwrap() && f.end.unwrap() <= pf.end.unwrap() + 86_400);
            *children.entry(p.id.as_str()).or_default() += 1;
        }
    }
    assert!(children.len() >= 3, "{} festivals", children.len());
    assert!(children.values().all(|n| (3..=6).contains(n)), "{children:?}");
    let formats: HashSet<bool> = events.iter().map(|(e, _)| e.doc["startDate"].is_string()).collect();
    assert_eq!(formats.len(), 2, "both {{sec,usec}} and ISO dates appear");
}

const EVENT_TYPES_OK: &[&str] = crate::model::EVENT_TYPES;

#[test]
fn every_link_is_stored_on_both_elements() {
    let (_, bundle) = default_bundle();
    let ids = by_id(&bundle);
    let mut links = 0;
    for (e, _) in &bundle.elements {
        for link in &e.links {
            let (other, _) = ids
                .get(link.other.as_str())
                .unwrap_or_else(|| panic!("{} links to missing {}", e.id, link.other));
            assert_eq!(link.other_type(), Some(other.kind.collection()));
            let back = reciprocal(&link.link_type, e.kind, other.kind)
                .unwrap_or_else(|| panic!("{} has no reciprocal", link.link_type));
            assert!(
                has_link(other, back, e.id.as_str()),
                "{} {} {} lacks {back}",
                e.id,
                link.link_type,
                other.id
            );
            links += 1;
        }
    }
    assert!(links > 1500, "{links} link sides");
    // One admin per organization with members, and roles on every membership.
    for (e, _) in bundle.elements.iter().filter(|(e, _)| e.kind == Kind::Organization) {
        let members: Vec<_> = e
            .links
            .iter()
            .filter(|l| l.link_type == "members" && l.other_type() == Some("citoyens"))
            .collect();
        assert!(!members.is_empty(), "{} has no members", e.doc["name"]);
        assert_eq!(
            members.iter().filter(|l| l.attrs["isAdmin"] == true).count(),
            1,
            "{}",
            e.doc["name"]
        );
        assert!(members
            .iter()
            .all(|l| l.attrs["roles"].as_array().is_some_and(|r| !r.is_empty())));
        assert!(e.doc["creator"].is_string());
    }
    let kinds_linked: HashSet<&str> = bundle
        .elements
        .iter()
        .flat_map(|(e, _)| e.links.iter().map(|l| l.link_type.as_str()))
        .collect();
    for t in [
        "members",
        "memberOf",
        "contributors",
        "projects",
        "attendees",
        "events",
        "organizer",
        "followers",
        "follows",
        "subEvents",
        "parent",
    ] {
        assert!(kinds_linked.contains(t), "no {t} link");
    }
}

#[test]
fn private_elements_have_members_and_members_only_posts() {
    let (_, bundle) = default_bundle();
    let private: Vec<_> = bundle.elements.iter().filter(|(_, f)| f.private).collect();
    assert_eq!(private.iter().filter(|(e, _)| e.kind == Kind::Organization).count(), 2);
    assert_eq!(private.iter().filter(|(e, _)| e.kind == Kind::Project).count(), 1);
    for (e, _) in &private {
        let people = e
            .links
            .iter()
            .filter(|l| matches!(l.link_type.as_str(), "members" | "contributors"))
            .count();
        assert!(people >= 2, "{} has {people} members", e.id);
        assert!(!e.links.iter().any(|l| l.link_type == "followers"));
        let posts: Vec<_> = bundle
            .records
            .iter()
            .filter(|(_, f)| f.element.as_ref() == Some(&e.id))
            .collect();
        assert!(!posts.is_empty());
        assert!(posts.iter().all(|(_, f)| f.audience == crate::model::Audience::Members));
    }
}

#[test]
fn records_hang_off_real_elements_and_posts() {
    let (_, bundle) = default_bundle();
    let ids = by_id(&bundle);
    let now = midnight(today());
    let posts: HashMap<&str, i64> = bundle
        .records
        .iter()
        .filter(|(r, _)| r.kind == RecordKind::Post)
        .map(|(r, _)| (r.id.as_str(), r.doc["created"].as_i64().unwrap()))
        .collect();
    let mut comment_post: HashMap<&str, &str> = HashMap::new();
    let mut texts = HashSet::new();
    let mut replies = 0;
    let mut public = 0;
    for (r, f) in &bundle.records {
        let author = f.author.as_deref().unwrap();
        assert_eq!(ids[author].0.kind, Kind::Person, "authors are persons");
        let created = r.doc["created"].as_i64().unwrap();
        assert!(created < now && created > now - 200 * 86_400);
        assert_eq!(r.doc["text"].as_str().unwrap().trim(), r.doc["text"].as_str().unwrap());
        match r.kind {
            RecordKind::Post => {
                assert!(ids.contains_key(f.element.as_ref().unwrap().as_str()));
                assert_eq!(r.doc["type"], "news");
                texts.insert(r.doc["text"].as_str().unwrap().to_owned());
                public += usize::from(f.audience == crate::model::Audience::Public);
            }
            RecordKind::Comment => {
                let post = r.doc["contextId"].as_str().unwrap();
                assert!(created > posts[post], "a comment follows its post");
                assert_eq!(r.doc["status"], "posted");
                comment_post.insert(r.id.as_str(), post);
                let parent = r.doc["parentId"].as_str().unwrap();
                if !parent.is_empty() {
                    replies += 1;
                    assert_eq!(
                        comment_post.get(parent),
                        Some(&post),
                        "a reply answers a comment of the same post"
                    );
                }
            }
            RecordKind::Document => unreachable!(),
        }
    }
    assert!(replies >= 10, "{replies} replies");
    assert!(public * 10 >= posts.len() * 7, "posts are mostly public");
    assert!(
        texts.len() * 10 >= posts.len() * 9,
        "posts are varied: {} distinct of {}",
        texts.len(),
        posts.len()
    );
}

#[test]
fn resources_come_in_matching_pairs() {
    let (_, bundle) = default_bundle();
    let resources: Vec<_> = bundle
        .elements
        .iter()
        .filter(|(e, _)| e.kind == Kind::Resource)
        .collect();
    let offers: Vec<_> = resources.iter().filter(|(e, _)| e.doc["section"] == "offer").collect();
    let needs: Vec<_> = resources.iter().filter(|(e, _)| e.doc["section"] == "need").collect();
    assert_eq!(offers.len(), needs.len());
    for (need, nf) in &needs {
        assert!(
            offers.iter().any(|(_, of)| of.tags == nf.tags),
            "{} matches no offer",
            need.doc["name"]
        );
    }
    let classifieds: Vec<_> = bundle
        .elements
        .iter()
        .filter(|(e, _)| e.kind == Kind::Classified)
        .collect();
    assert!(classifieds
        .iter()
        .any(|(e, _)| e.doc.get("devise").is_some_and(|d| d == "Ğ1")));
    assert!(classifieds
        .iter()
        .all(|(e, _)| e.doc.get("price").is_none_or(|p| p.is_u64())));
}

#[test]
fn generation_is_deterministic() {
    let a = serde_json::to_string(&generate(today(), &DemoSize::default())).unwrap();
    let b = serde_json::to_string(&generate(today(), &DemoSize::default())).unwrap();
    assert_eq!(a, b);
    let later = serde_json::to_string(&generate(date(2025, 6, 15), &DemoSize::default())).unwrap();
    assert_ne!(a, later, "dates follow today");
}

#[test]
fn demo_writes_into_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = crate::store::Store::open(dir.path()).unwrap();
    let (_, bundle) = default_bundle();
    let (elements, records) = (bundle.elements.len(), bundle.records.len());
    let mut seen = 0;
    let summary = bundle.write(&store, || seen += 1).unwrap();
    assert_eq!((summary.elements, summary.records), (elements, records));
    assert_eq!(seen, elements + records);
    let counts = store.count_elements(crate::store::Visibility::All).unwrap();
    assert_eq!(counts.values().sum::<u64>() as usize, elements);
    assert_eq!(counts.len(), 7);
}

#[test]
fn a_bench_size_bundle_validates_and_spreads_over_the_region() {
    let value = generate(today(), &DemoSize { elements: 20_000 });
    let bundle = Bundle::from_json(value, &paris()).expect("the 20k bundle validates");
    assert_eq!(bundle.elements.len(), 20_000);
    let mut departments: HashMap<String, usize> = HashMap::new();
    for (_, f) in &bundle.elements {
        let c = territory::commune(f.insee.as_deref().unwrap()).unwrap();
        *departments.entry(c.department.to_owned()).or_default() += 1;
    }
    assert_eq!(departments.len(), 5, "{departments:?}");
    assert!(departments["38"] > departments["05"], "{departments:?}");
    let names: HashSet<_> = bundle
        .elements
        .iter()
        .filter(|(e, _)| e.kind == Kind::Organization)
        .map(|(_, f)| f.name.clone())
        .collect();
    assert_eq!(
        names.len(),
        count(&bundle, Kind::Organization),
        "organization names are unique"
    );
    let posts: Vec<_> = bundle
        .records
        .iter()
        .filter(|(r, _)| r.kind == RecordKind::Post)
        .collect();
    let distinct: HashSet<_> = posts.iter().map(|(r, _)| r.doc["text"].as_str().unwrap()).collect();
    assert!(
        distinct.len() * 2 >= posts.len(),
        "{} distinct posts of {}",
        distinct.len(),
        posts.len()
    );
}

#[test]
fn small_sizes_still_make_valid_bundles() {
    for n in [1, 7, 50, 200] {
        let value = generate(today(), &DemoSize { elements: n });
        let bundle = Bundle::from_json(value, &paris()).unwrap_or_else(|e| panic!("size {n}: {e}"));
        assert_eq!(bundle.elements.len(), n);
    }
}

#[test]
fn ids_are_object_ids() {
    let (value, _) = default_bundle();
    let ids = value["elements"].as_array().unwrap().iter().map(|e| &e["id"]);
    let records = ["news", "comments"]
        .into_iter()
        .flat_map(|k| value[k].as_array().unwrap().iter().map(|r| &r["_id"]));
    for id in ids.chain(records) {
        let id = id.as_str().unwrap();
        assert!(
            id.len() == 24 && id.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
            "{id}"
        );
    }
}
