//! Relevance: a fixed corpus, fixed queries, expected top results.

use serde_json::{json, Value};

use super::*;
use crate::model::{ElementId, Kind};

const NOW: i64 = 1_790_000_000; // 2026-09-21
const DAY: i64 = 86_400;

struct Corpus {
    _dir: tempfile::TempDir,
    store: Store,
    index: SearchIndex,
    names: std::collections::HashMap<ElementId, String>,
}

fn crest(street: &str) -> Value {
    json!({"@type": "PostalAddress", "streetAddress": street, "postalCode": "26400", "addressLocality": "Crest", "codeInsee": "26108", "addressCountry": "FR"})
}

fn corpus() -> Corpus {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let add = |kind: Kind, v: Value| {
        store
            .create_element(kind, v.as_object().unwrap().clone(), None)
            .unwrap();
    };
    let crest_geo = json!({"type": "Point", "coordinates": [5.0222, 44.7281]});
    add(
        Kind::Organization,
        json!({"name": "Jardin partagé des Lilas", "type": "NGO", "tags": ["jardin", "potager"],
        "shortDescription": "Des parcelles pour cultiver ensemble", "address": crest("rue des Lilas"), "geoPosition": crest_geo}),
    );
    add(
        Kind::Project,
        json!({"name": "Potager de l'école", "tags": ["enfance"], "description": "Les enfants cultivent des légumes au jardin de l'école",
        "address": crest("place du Marché"), "geoPosition": crest_geo}),
    );
    add(
        Kind::Event,
        json!({"name": "Fête de la musique", "type": "festival", "startDate": NOW + 30 * DAY, "tags": ["musique"],
        "address": crest("place de la Liberté"), "geoPosition": crest_geo}),
    );
    add(
        Kind::Event,
        json!({"name": "Événement compost au parc", "type": "workshop", "startDate": NOW - 40 * DAY, "tags": ["compost"],
        "address": crest("parc Soubeyran"), "geoPosition": crest_geo}),
    );
    add(
        Kind::Event,
        json!({"name": "Atelier compostage", "type": "workshop", "startDate": NOW + 3 * DAY, "tags": ["compost"],
        "description": "Apprendre à faire son compost", "address": crest("jardin public"), "geoPosition": crest_geo}),
    );
    add(
        Kind::Event,
        json!({"name": "Repair café", "type": "workshop", "startDate": NOW + 10 * DAY, "endDate": NOW + 10 * DAY + 4 * 3600,
        "description": "On répare vélos, grille-pains et ordinateurs", "tags": ["réparation"], "address": crest("Foyer rural"), "geoPosition": crest_geo}),
    );
    add(
        Kind::Poi,
        json!({"name": "Bibliothèque de rue", "type": "place", "tags": ["livres"], "address": crest("quai"), "geoPosition": crest_geo}),
    );
    add(
        Kind::Project,
        json!({"name": "Gemeinschaftsgarten Kreuzberg", "description": "Wir gärtnern zusammen in unseren Gärten"}),
    );
    add(
        Kind::Event,
        json!({"name": "Community gardens meetup", "type": "meeting", "startDate": NOW + 5 * DAY, "description": "Gardeners swap seeds"}),
    );
    add(
        Kind::Organization,
        json!({"name": "Vélo-école du Diois", "type": "NGO", "tags": ["vélo", "mobilité"],
        "address": {"postalCode": "26150", "addressLocality": "Die", "codeInsee": "26113"},
        "geoPosition": {"type": "Point", "coordinates": [5.3703, 44.7536]}}),
    );
    add(
        Kind::Classified,
        json!({"name": "Vends remorque", "section": "forsale", "price": 80, "devise": "€",
        "description": "Remorque pour vélo, bon état", "tags": ["vélo"], "address": crest("rue Peysson"), "geoPosition": crest_geo}),
    );
    add(
        Kind::Resource,
        json!({"name": "Cours de soudure", "section": "offer", "category": "competence", "tags": ["réparation"],
        "address": crest("atelier"), "geoPosition": crest_geo}),
    );
    add(
        Kind::Organization,
        json!({"name": "Conseil secret du jardin", "type": "Group", "preferences": {"private": true},
        "tags": ["jardin"], "address": crest("rue cachée"), "geoPosition": crest_geo}),
    );
    add(
        Kind::Event,
        json!({"name": "Marché de Noël de Lyon", "type": "market", "startDate": NOW + 60 * DAY,
        "address": {"postalCode": "69002", "addressLocality": "Lyon", "codeInsee": "69123"},
        "geoPosition": {"type": "Point", "coordinates": [4.8357, 45.7640]}}),
    );
    let index = SearchIndex::open(dir.path()).unwrap();
    index.catch_up(&store).unwrap();
    let mut names = std::collections::HashMap::new();
    store
        .for_each_element(|e| {
            names.insert(e.id.clone(), e.doc["name"].as_str().unwrap().to_owned());
            Ok(())
        })
        .unwrap();
    Corpus {
        _dir: dir,
        store,
        index,
        names,
    }
}

fn anonymous(text: &str) -> SearchQuery {
    SearchQuery {
        text: text.into(),
        limit: 20,
        now: NOW,
        home: Some((44.7281, 5.0222)),
        ..Default::default()
    }
}

impl Corpus {
    fn names(&self, q: &SearchQuery) -> Vec<String> {
        self.index
            .search(q)
            .unwrap()
            .ids
            .iter()
            .map(|id| self.names[id].clone())
            .collect()
    }

    fn top(&self, text: &str) -> String {
        self.names(&anonymous(text))
            .into_iter()
            .next()
            .unwrap_or_else(|| format!("nothing for {text:?}"))
    }
}

#[test]
fn words_are_matched_however_they_are_written() {
    let c = corpus();
    let check = |text: &str, expected: &str| assert_eq!(c.top(text), expected, "query {text:?}");
    check("jardins partagés", "Jardin partagé des Lilas"); // plural and accents
    check("jardin partage", "Jardin partagé des Lilas"); // no accents
    check("JARDIN", "Jardin partagé des Lilas"); // case
    check("evenement", "Événement compost au parc"); // missing accents
    check("bibliotheque", "Bibliothèque de rue");
    check("jradin partagé", "Jardin partagé des Lilas"); // one typo (transposition)
    check("bibliotehque", "Bibliothèque de rue"); // a typo in a long word
    check("biblioteqhue de rue", "Bibliothèque de rue");
    check("garten", "Gemeinschaftsgarten Kreuzberg"); // German plural "Gärten"
    check("gärten", "Gemeinschaftsgarten Kreuzberg");
    check("garden", "Community gardens meetup"); // English plural
    check("soudure", "Cours de soudure"); // mutual aid
    check("remorque", "Vends remorque"); // classifieds
    check("réparer", "Repair café"); // stem of "répare"
    check("crest bibliothèque", "Bibliothèque de rue"); // locality
    assert!(c.names(&anonymous("zzzyxw")).is_empty());
    // Short words are not stretched by typos: "vélo" does not find "velux" and friends.
    assert!(c.names(&anonymous("xylophone")).is_empty());
}

#[test]
fn names_count_more_than_descriptions() {
    let c = corpus();
    let hits = c.names(&anonymous("vélo"));
    assert_eq!(hits[0], "Vélo-école du Diois", "{hits:?}");
    assert!(hits.contains(&"Vends remorque".to_owned()));
    assert!(hits.contains(&"Repair café".to_owned()));
}

#[test]
fn coming_events_rank_before_past_ones() {
    let c = corpus();
    let hits = c.names(&anonymous("compost"));
    assert_eq!(
        hits[..2],
        ["Atelier compostage".to_owned(), "Événement compost au parc".to_owned()],
        "{hits:?}"
    );
}

#[test]
fn tags_kinds_and_facets() {
    let c = corpus();
    let q = SearchQuery {
        tags: vec!["vélo".into()],
        ..anonymous("")
    };
    let mut hits = c.names(&q);
    hits.sort();
    assert_eq!(hits, ["Vends remorque", "Vélo-école du Diois"]);
    let q = SearchQuery {
        kinds: vec![Kind::Event],
        ..anonymous("")
    };
    assert_eq!(c.index.search(&q).unwrap().total, 6);
    let all = c.index.search(&anonymous("")).unwrap();
    assert_eq!(all.total, 13, "the private element is not counted");
    let events = all.kinds.iter().find(|(k, _)| k == "event").unwrap().1;
    assert_eq!(events, 6);
    let organizations = all.kinds.iter().find(|(k, _)| k == "organization").unwrap().1;
    assert_eq!(organizations, 2, "the private organization is not counted");
    let jardin = all.tags.iter().find(|(t, _)| t == "jardin").unwrap().1;
    assert_eq!(jardin, 1, "the private element's tag is not counted");
}

#[test]
fn private_elements_are_found_only_by_those_who_may_see_them() {
    let c = corpus();
    assert!(!c
        .names(&anonymous("conseil secret"))
        .contains(&"Conseil secret du jardin".to_owned()));
    let admin = SearchQuery {
        viewer: Viewer { all: true, ids: vec![] },
        ..anonymous("conseil secret")
    };
    assert_eq!(c.names(&admin)[0], "Conseil secret du jardin");
    let suggestions = c.index.suggest("conseil sec", &Viewer::default(), 10).unwrap();
    assert!(suggestions.is_empty());
}

#[test]
fn place_and_date_filters() {
    let c = corpus();
    let near = SearchQuery {
        near: Some((44.7281, 5.0222, 5.0)),
        ..anonymous("")
    };
    let hits = c.names(&near);
    assert!(hits.contains(&"Bibliothèque de rue".to_owned()));
    assert!(!hits.contains(&"Vélo-école du Diois".to_owned()), "Die is 28 km away");
    assert!(!hits.contains(&"Marché de Noël de Lyon".to_owned()));
    let wide = SearchQuery {
        near: Some((44.7281, 5.0222, 40.0)),
        ..anonymous("vélo")
    };
    assert!(c.names(&wide).contains(&"Vélo-école du Diois".to_owned()));

    let scoped = SearchQuery {
        scopes: vec!["city:69123".parse().unwrap()],
        ..anonymous("")
    };
    assert_eq!(c.names(&scoped), ["Marché de Noël de Lyon"]);
    let drome = SearchQuery {
        scopes: vec!["dep:26".parse().unwrap()],
        ..anonymous("vélo")
    };
    assert_eq!(c.names(&drome).len(), 3);

    let window = SearchQuery {
        from: Some(NOW),
        to: Some(NOW + 7 * DAY),
        ..anonymous("")
    };
    let mut hits = c.names(&window);
    hits.sort();
    assert_eq!(hits, ["Atelier compostage", "Community gardens meetup"]);
    let coming = SearchQuery {
        coming: true,
        kinds: vec![Kind::Event],
        ..anonymous("")
    };
    let hits = c.names(&coming);
    assert_eq!(hits.len(), 5, "{hits:?}");
    assert!(!hits.contains(&"Événement compost au parc".to_owned()));
    let coming_all = SearchQuery {
        coming: true,
        ..anonymous("")
    };
    assert_eq!(c.index.search(&coming_all).unwrap().total, 12, "other kinds stay");
}

#[test]
fn suggestions_complete_the_last_word() {
    let c = corpus();
    let names = |text: &str| -> Vec<String> {
        c.index
            .suggest(text, &Viewer::default(), 5)
            .unwrap()
            .iter()
            .map(|s| c.names[&s.id].clone())
            .collect()
    };
    assert_eq!(names("jard")[0], "Jardin partagé des Lilas");
    assert_eq!(names("bibli")[0], "Bibliothèque de rue");
    assert_eq!(names("fête de la mu")[0], "Fête de la musique");
    assert_eq!(names("gemein")[0], "Gemeinschaftsgarten Kreuzberg");
    assert!(names("").is_empty());
}

#[test]
fn pages_and_ties_are_stable() {
    let c = corpus();
    let first = c
        .index
        .search(&SearchQuery {
            limit: 5,
            ..anonymous("")
        })
        .unwrap();
    let second = c
        .index
        .search(&SearchQuery {
            limit: 5,
            offset: 5,
            ..anonymous("")
        })
        .unwrap();
    let again = c
        .index
        .search(&SearchQuery {
            limit: 5,
            ..anonymous("")
        })
        .unwrap();
    assert_eq!(first.ids, again.ids);
    assert!(first.ids.iter().all(|id| !second.ids.contains(id)));
}

#[test]
fn the_index_follows_updates_and_deletes_and_resumes() {
    let c = corpus();
    let id = c.index.search(&anonymous("bibliothèque")).unwrap().ids[0].clone();
    c.store
        .update_element(&id, json!({"name": "Boîte à livres"}).as_object().unwrap().clone())
        .unwrap();
    c.index.catch_up(&c.store).unwrap();
    assert!(c.index.search(&anonymous("bibliothèque")).unwrap().ids.is_empty());
    assert_eq!(
        c.index.search(&anonymous("boite livres")).unwrap().ids,
        std::slice::from_ref(&id)
    );
    c.store.delete_element(&id).unwrap();
    // A reopened index resumes from its last commit.
    let dir = c.store.path().parent().unwrap().to_owned();
    drop(c.index);
    let index = SearchIndex::open(&dir).unwrap();
    assert!(index.indexed_seq() < c.store.last_seq().unwrap());
    index.catch_up(&c.store).unwrap();
    assert_eq!(index.indexed_seq(), c.store.last_seq().unwrap());
    assert!(index.search(&anonymous("boite livres")).unwrap().ids.is_empty());
    assert_eq!(index.doc_count(), 13);
    // A rebuild gives the same answers (once nobody else holds the index).
    let expected = index.search(&anonymous("jardin")).unwrap().ids;
    assert!(matches!(
        SearchIndex::recreate(&dir),
        Err(crate::error::Error::Conflict(_))
    ));
    drop(index);
    let rebuilt = SearchIndex::recreate(&dir).unwrap();
    assert_eq!(rebuilt.rebuild(&c.store, |_| {}).unwrap(), 13);
    assert_eq!(rebuilt.search(&anonymous("jardin")).unwrap().ids, expected);
}

#[test]
fn only_a_lock_held_elsewhere_is_a_conflict_not_a_read_only_card() {
    use tantivy::directory::error::LockError;
    let busy = writer_error(tantivy::TantivyError::LockFailure(LockError::LockBusy, None));
    assert!(matches!(busy, Error::Conflict(_)), "{busy:?}");
    let read_only = std::io::Error::from(std::io::ErrorKind::ReadOnlyFilesystem);
    let failed = writer_error(tantivy::TantivyError::LockFailure(
        LockError::IoError(std::sync::Arc::new(read_only)),
        None,
    ));
    assert!(!matches!(failed, Error::Conflict(_)), "{failed:?}");
}

#[test]
fn segments_merge_into_one_with_the_same_answers() {
    let c = corpus();
    for name in ["Boîte à livres", "Grainothèque", "Repair café"] {
        let id = c.index.search(&anonymous("")).unwrap().ids[0].clone();
        c.store
            .update_element(&id, json!({ "name": name }).as_object().unwrap().clone())
            .unwrap();
        c.index.catch_up(&c.store).unwrap();
    }
    assert!(c.index.segment_count() > 1, "{} segments", c.index.segment_count());
    let expected: Vec<_> = ["", "jardin", "repair"]
        .iter()
        .map(|q| c.index.search(&anonymous(q)).unwrap().ids)
        .collect();
    let docs = c.index.doc_count();
    let mut writer = c.index.writer.lock().unwrap();
    c.index.merge_all(&mut writer).unwrap();
    drop(writer);
    assert_eq!(c.index.segment_count(), 1);
    assert_eq!(c.index.doc_count(), docs);
    let answers: Vec<_> = ["", "jardin", "repair"]
        .iter()
        .map(|q| c.index.search(&anonymous(q)).unwrap().ids)
        .collect();
    assert_eq!(answers, expected);
}
