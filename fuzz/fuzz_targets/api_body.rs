//! API request bodies without Rocket: the JSON object a write route reads (`JsonObject`),
//! then the model's validation the store runs before writing — an element's kind and
//! document (`POST /api/v1/elements`), records (posts, comments, documents, proposals,
//! actions), links and times.
//!
//! Checks: no panic; a document accepted once is accepted again unchanged (what the hub
//! stores, it can read back), and its JSON and Communecter shapes can be built.
#![no_main]

use copi::model::{self, Element, ElementId, Record, RecordKind};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

thread_local! {
    static ZONE: jiff::tz::TimeZone = copi_fuzz::zone();
}

fuzz_target!(|data: &[u8]| {
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let zone = ZONE.with(Clone::clone);
    if let Ok(kind) = model::kind_of(&body, None) {
        let mut doc = body.clone();
        for key in ["kind", "collection", "id", "_id", "links"] {
            doc.remove(key);
        }
        if let Ok(_facts) = model::check(kind, &mut doc, &zone) {
            let mut again = doc.clone();
            if let Err(e) = model::check(kind, &mut again, &zone) {
                panic!("accepted once, refused then: {e}\n{}", Value::Object(doc));
            }
            assert_eq!(again, doc, "checking a checked document changed it");
            let e = Element {
                id: ElementId::parse("5aa979f540bb4e7162d04363").expect("an id"),
                kind,
                doc,
                links: Vec::new(),
            };
            let _ = e.to_json();
            let _ = e.to_communecter();
            let _ = e.organizer_ids();
            let _ = copi::search::document_text(&e);
        }
    }
    for kind in RecordKind::ALL {
        let _ = model::check_record(kind, &body);
        if let Ok(r) = Record::from_json(kind, Value::Object(body.clone())) {
            let _ = r.to_json();
        }
    }
    if let Some(links) = body.get("links") {
        let _ = model::links_from_value(links);
    }
    if let Some(v) = body.get("id").or_else(|| body.get("_id")) {
        let _ = model::id_from_value(v);
    }
    for v in body.values() {
        let _ = model::timestamp_from_value(v, &zone);
    }
    if let Some(Value::Array(tags)) = body.get("tags") {
        for t in tags.iter().filter_map(Value::as_str) {
            let _ = model::normalize_tag(t);
        }
    }
});
