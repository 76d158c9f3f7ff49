use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Map, Value};

use super::*;
use crate::protocol::{Applied, Batch, BatchId, SyncCheckpoint};
use crate::round::{run_round, Replica, RoundConfig, RoundReport};

// ---------------------------------------------------------------------------------------
// Mapping

#[test]
fn credentials_are_user_id_and_token_or_basic() {
    fn check(text: &str, expected: Option<Auth>) {
        assert_eq!(Auth::parse(text).ok(), expected, "{text}");
    }
    check(
        "5aa979f540bb4e7162d04363:s3cr3t-token",
        Some(Auth::Token {
            user_id: "5aa979f540bb4e7162d04363".into(),
            token: "s3cr3t-token".into(),
        }),
    );
    check(
        "basic:marie@example.org:pa:ss",
        Some(Auth::Basic {
            login: "marie@example.org".into(),
            password: "pa:ss".into(),
        }),
    );
    check("just-a-token", None);
    check("marie:token", None);
    check("5aa979f540bb4e7162d04363:", None);
    check("5aa979f540bb4e7162d04363:two words", None);
    check("basic:marie@example.org", None);
    check("basic::pw", None);
    let err = Auth::parse("nope").unwrap_err();
    assert!(err.contains("USERID:TOKEN"), "{err}");
    let shown = format!("{:?}", Auth::parse("5aa979f540bb4e7162d04363:s3cr3t").unwrap());
    assert!(!shown.contains("s3cr3t"), "the token is not logged: {shown}");
}

#[test]
fn outgoing_elements_become_php_forms_of_their_binding() {
    let doc = json!({"id": "65f000000000000000000001", "kind": "organization", "collection": "organizations",
        "name": "Les Amis", "type": "NGO", "tags": ["compost", "jardin"], "timeZone": "Europe/Paris",
        "address": {"postalCode": "97460", "codeInsee": "97415"}, "preferences": {"isOpenData": true, "private": false},
        "geoPosition": {"type": "Point", "coordinates": [55.27, -21.0]}, "links": {"members": {}}, "urls": [],
        "created": 1, "updated": 2, "creator": "x", "description": null});
    let save = save_request(&doc).unwrap().unwrap();
    assert_eq!(save.collection, "organizations");
    assert_eq!(save.id, "65f000000000000000000001");
    let form: Vec<(&str, &str)> = save.form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(
        form,
        vec![
            ("collection", "organizations"),
            ("key", "organization"),
            ("id", "65f000000000000000000001"),
            ("name", "Les Amis"),
            ("type", "NGO"),
            ("tags[0]", "compost"),
            ("tags[1]", "jardin"),
            ("address[postalCode]", "97460"),
            ("address[codeInsee]", "97415"),
            ("preferences[isOpenData]", "true"),
            ("preferences[private]", "false"),
            ("geoPosition[type]", "Point"),
            ("geoPosition[coordinates][0]", "55.27"),
            ("geoPosition[coordinates][1]", "-21.0"),
        ]
    );
    // Persons are accounts upstream: not pushed. Resources travel as classifieds.
    assert_eq!(
        save_request(&json!({"id": "a1", "kind": "person", "collection": "citoyens"})).unwrap(),
        None
    );
    let res = json!({"id": "a2", "kind": "resource", "collection": "ressources", "type": "ressources",
        "section": "offer", "price": 3, "devise": "€", "startDate": "not sent"});
    let save = save_request(&res).unwrap().unwrap();
    assert_eq!(save.collection, "classifieds");
    assert!(save.form.contains(&("key".into(), "classified".into())));
    assert!(save.form.contains(&("price".into(), "3".into())));
    assert!(!save.form.iter().any(|(k, _)| k == "startDate"));
    assert!(save_request(&json!({"id": "a3", "collection": "rockets"})).is_err());
    // Communecter's address validation wants its commune id: filled from the main's city.
    let mut doc = json!({"address": {"codeInsee": "97415", "postalCode": "97460", "level1": "mine"}});
    assert_eq!(address_to_complete(&doc), Some("97415"));
    let city = CityRef {
        id: "54c0965cf6b95c141800a517".into(),
        name: "Saint-Paul".into(),
        levels: [Some("z1".into()), None, Some("z3".into()), None],
        level_names: [Some("Réunion".into()), None, None, None],
    };
    complete_address(&mut doc, &city);
    assert_eq!(
        doc,
        json!({"address": {"codeInsee": "97415", "postalCode": "97460", "level1": "mine",
            "localityId": "54c0965cf6b95c141800a517", "level1Name": "Réunion", "level3": "z3"}})
    );
    assert_eq!(address_to_complete(&doc), None);
    assert_eq!(address_to_complete(&json!({"address": {"postalCode": "97460"}})), None);
    assert!(save_request(&json!({"id": "../x", "collection": "poi"})).is_err());
}

#[test]
fn listings_are_read_with_fingerprints_of_their_entries() {
    let page = json!({"results": {
        "5b0f00000000000000000001": {"_id": {"$id": "5b0f00000000000000000001"}, "name": "A", "updated": 10,
            "type": "organizations", "updatedLbl": "il y a 3 minutes", "sorting": 4},
        "5b0f00000000000000000002": {"name": "B", "updated": 11}},
        "count": {"organizations": 2}});
    let listed = parse_search(&page).unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].id, "5b0f00000000000000000001");
    assert_eq!(listed[1].id, "5b0f00000000000000000002");
    // The relative label changes on every call, the element does not.
    let fp = |v: Value| fingerprint(v.as_object().unwrap());
    assert_eq!(
        fp(json!({"name": "A", "updated": 10, "updatedLbl": "il y a 3 minutes"})),
        fp(json!({"updatedLbl": "il y a 1 heure", "updated": 10, "name": "A"}))
    );
    assert_ne!(
        fp(json!({"name": "A", "updated": 10})),
        fp(json!({"name": "A", "updated": 11}))
    );
    assert_ne!(
        fp(json!({"name": "A", "updated": 10})),
        fp(json!({"name": "A!", "updated": 10}))
    );
    // PHP's empty map.
    assert_eq!(parse_search(&json!({"results": [], "count": []})).unwrap(), vec![]);
    assert_eq!(
        parse_search(&json!({"results": [{"_id": {"$oid": "abc"}}]})).unwrap()[0].id,
        "abc"
    );
    for bad in [
        json!({"count": {}}),
        json!({"results": "x"}),
        json!({"results": {"a/b": {}}}),
        json!({"results": {"abc": 3}}),
        json!({"results": {"abc": {"_id": {"$id": "abd"}}}}),
    ] {
        assert!(parse_search(&bad).is_err(), "{bad}");
    }
}

#[test]
fn full_documents_keep_every_field_and_ghosts_are_gone() {
    let body = json!({"result": true, "map": {"_id": {"$id": "5b0f00000000000000000003"}, "name": "Atelier",
        "type": "workshop", "startDate": "2019-01-01T08:00:00+0000", "price": "12", "counts": {"attendees": 3},
        "typeSig": "events", "links": {"attendees": {"5aa979f540bb4e7162d04363": {"type": "citoyens"}}},
        "geoPosition": {"type": "Point", "coordinates": ["55.2", "-21.1"]}, "geo": {"latitude": -21.1, "longitude": "55.2"},
        "unknownField": {"kept": [1, 2]}}});
    let Fetched::Public(doc) = parse_element(&body, "events", "5b0f00000000000000000003").unwrap() else {
        panic!("public")
    };
    assert_eq!(
        doc,
        json!({"id": "5b0f00000000000000000003", "collection": "events", "name": "Atelier", "type": "workshop",
            "startDate": "2019-01-01T08:00:00+0000", "price": 12,
            "links": {"attendees": {"5aa979f540bb4e7162d04363": {"type": "citoyens"}}},
            "geoPosition": {"type": "Point", "coordinates": [55.2, -21.1]}, "geo": {"latitude": "-21.1", "longitude": "55.2"},
            "unknownField": {"kept": [1, 2]}})
    );
    let check = |body: Value, expected: Result<Fetched, ()>| {
        assert_eq!(parse_element(&body, "events", "e1").map_err(|_| ()), expected, "{body}");
    };
    check(
        json!({"result": true, "map": {"_id": "e1", "name": "x", "preferences": {"private": "true"}}}),
        Ok(Fetched::Private),
    );
    check(
        json!({"result": true, "map": {"name": "Unknown (deleted)", "slug": "unknown"}}),
        Ok(Fetched::Gone),
    );
    check(json!({"result": true, "map": null}), Ok(Fetched::Gone));
    check(json!({"result": true, "map": []}), Ok(Fetched::Gone));
    // A refusal (an expired session?) is not a deletion.
    check(json!({"result": false, "msg": "Please login"}), Err(()));
    check(
        json!({"result": true, "map": {"_id": {"$id": "e2"}, "name": "x"}}),
        Err(()),
    );
    check(json!({"map": {}}), Err(()));
    check(json!([1]), Err(()));
}

#[test]
fn territories_become_search_scopes() {
    let city = parse_city(
        &json!({"meta": {"limit": 1}, "entities": {"54c0965cf6b95c141800a517": {"name": "Saint-Paul",
            "insee": "97415", "level1": "58be4af494ef47df1d0ddbcc", "level3": "58be4af494ef47df1d0ddbcc",
            "level4": "58be4af494ef47df1d0ddbcd"}}}),
        "97415",
    )
    .unwrap()
    .unwrap();
    assert_eq!(city.id, "54c0965cf6b95c141800a517");
    let q = |s: &str| scope_query(s).unwrap();
    assert_eq!(
        city.locality(&q("dep:974")).unwrap(),
        Locality::Level {
            level: 4,
            id: "58be4af494ef47df1d0ddbcd".into()
        }
    );
    assert_eq!(
        city.locality(&q("region:04")).unwrap(),
        Locality::Level {
            level: 3,
            id: "58be4af494ef47df1d0ddbcc".into()
        }
    );
    let here = city.locality(&q("city:97415")).unwrap();
    assert_eq!(
        here.form(),
        vec![
            (
                "locality[54c0965cf6b95c141800a517cities][type]".to_owned(),
                "cities".to_owned()
            ),
            (
                "locality[54c0965cf6b95c141800a517cities][id]".to_owned(),
                "54c0965cf6b95c141800a517".to_owned()
            ),
            (
                "locality[54c0965cf6b95c141800a517cities][name]".to_owned(),
                "Saint-Paul".to_owned()
            ),
            (
                "locality[54c0965cf6b95c141800a517cities][active]".to_owned(),
                "true".to_owned()
            ),
        ]
    );
    assert_eq!(
        q("cp:26400"),
        ScopeQuery::Direct(Locality::PostalCode {
            code: "26400".into(),
            country: "FR".into()
        })
    );
    assert!(scope_query("planet:3").is_err());
    assert!(scope_query("city:../x").is_err());
    assert_eq!(parse_city(&json!({"entities": []}), "00000").unwrap(), None);
    assert!(parse_city(&json!({"oops": 1}), "00000").is_err());
    let no_level = parse_city(&json!({"entities": {"c1": {"name": "X"}}}), "1")
        .unwrap()
        .unwrap();
    assert!(no_level.locality(&q("dep:26")).is_err());
}

// ---------------------------------------------------------------------------------------
// Rounds against fakes: a Communecter main and a hub (replica and listing store).

const MAIN: &str = "communecter:http://main";

/// (collection, territory, document) on the fake main.
type UpstreamDoc = (String, String, Map<String, Value>);

/// (main, territory, collection, id).
type SeenKey = (String, String, String, String);

/// A Communecter main: documents in listing order, each in one territory (its postal
/// code, which the fake's scopes are).
#[derive(Default)]
struct FakeMain {
    docs: RefCell<Vec<UpstreamDoc>>,
    clock: Cell<i64>,
    /// Searches that succeed before one fails with 503.
    fail_search_after: Cell<Option<usize>>,
    searches: Cell<usize>,
    gets: Cell<usize>,
    saved: RefCell<Vec<SaveRequest>>,
    deleted: RefCell<Vec<(String, String)>>,
}

impl FakeMain {
    fn tick(&self) -> i64 {
        self.clock.set(self.clock.get() + 1);
        self.clock.get()
    }

    fn insert(&self, collection: &str, territory: &str, id: &str, name: &str) {
        let updated = self.tick();
        self.docs.borrow_mut().push((
            collection.into(),
            territory.into(),
            json!({"_id": {"$id": id}, "name": name, "description": format!("about {name}"), "updated": updated})
                .as_object()
                .unwrap()
                .clone(),
        ));
    }

    fn edit(&self, id: &str, field: &str, value: Value) {
        let updated = self.tick();
        for (_, _, d) in self.docs.borrow_mut().iter_mut() {
            if d["_id"]["$id"] == id {
                d.insert(field.into(), value.clone());
                d.insert("updated".into(), json!(updated));
            }
        }
    }

    fn remove(&self, id: &str) {
        self.docs.borrow_mut().retain(|(_, _, d)| d["_id"]["$id"] != id);
    }

    fn has(&self, id: &str) -> bool {
        self.docs.borrow().iter().any(|(_, _, d)| d["_id"]["$id"] == id)
    }
}

impl Upstream for &FakeMain {
    fn locality(&self, scope: &str) -> Result<Locality, ConnectorError> {
        Ok(Locality::PostalCode {
            code: scope.into(),
            country: "FR".into(),
        })
    }

    fn city(&self, insee: &str) -> Result<Option<CityRef>, ConnectorError> {
        Ok((insee == "97415").then(|| CityRef {
            id: "54c0965cf6b95c141800a517".into(),
            name: "Saint-Paul".into(),
            levels: [Some("58be4af494ef47df1d0ddbcc".into()), None, None, None],
            level_names: [Some("Réunion".into()), None, None, None],
        }))
    }

    fn search(
        &self,
        collection: &str,
        locality: &Locality,
        index: usize,
        step: usize,
    ) -> Result<Vec<Listed>, ConnectorError> {
        if let Some(n) = self.fail_search_after.get() {
            if n == 0 {
                self.fail_search_after.set(None);
                return Err(ConnectorError::Refused {
                    status: 503,
                    message: "busy".into(),
                    retry_after: Some(1),
                });
            }
            self.fail_search_after.set(Some(n - 1));
        }
        self.searches.set(self.searches.get() + 1);
        let Locality::PostalCode { code, .. } = locality else {
            panic!("fake scopes are postal codes")
        };
        let docs = self.docs.borrow();
        let mut entries = Map::new();
        for (_, _, d) in docs
            .iter()
            .filter(|(c, t, _)| c == collection && t == code)
            .skip(index)
            .take(step)
        {
            let mut e = d.clone();
            e.remove("description"); // a reduced view
            e.insert(
                "updatedLbl".into(),
                json!(format!("il y a {} minutes", self.searches.get())),
            );
            entries.insert(d["_id"]["$id"].as_str().unwrap().into(), Value::Object(e));
        }
        parse_search(&json!({ "results": entries })).map_err(Into::into)
    }

    fn get(&self, collection: &str, id: &str) -> Result<Fetched, ConnectorError> {
        self.gets.set(self.gets.get() + 1);
        let docs = self.docs.borrow();
        let map = docs
            .iter()
            .find(|(c, _, d)| c == collection && d["_id"]["$id"] == id)
            .map(|(_, _, d)| Value::Object(d.clone()))
            .unwrap_or(json!({"name": "Unknown (deleted)", "slug": "unknown"}));
        parse_element(&json!({"result": true, "map": map}), collection, id).map_err(Into::into)
    }

    fn save(&self, req: &SaveRequest) -> Result<(), ConnectorError> {
        let field = |k: &str| req.form.iter().find(|(f, _)| f == k).map(|(_, v)| v.clone());
        let territory = field("address[postalCode]").unwrap_or_default();
        if !self.has(&req.id) {
            self.insert(req.collection, &territory, &req.id, &field("name").unwrap_or_default());
        } else {
            self.edit(&req.id, "name", json!(field("name")));
        }
        self.saved.borrow_mut().push(req.clone());
        Ok(())
    }

    fn delete(&self, collection: &str, id: &str) -> Result<(), ConnectorError> {
        self.remove(id);
        self.deleted.borrow_mut().push((collection.into(), id.into()));
        Ok(())
    }
}

type Key3 = (String, String, String);

/// A hub: its elements, its own change log, checkpoints, and the connector's state.
#[derive(Default)]
struct FakeHub {
    elements: RefCell<BTreeMap<String, Value>>,
    own: RefCell<Vec<(i64, String)>>,
    seq: Cell<i64>,
    checkpoints: RefCell<HashMap<String, SyncCheckpoint>>,
    listings: RefCell<BTreeMap<Key3, Listing>>,
    seen: RefCell<BTreeMap<SeenKey, (String, i64)>>,
    staged: RefCell<Vec<(i64, StagedOp)>>,
    upstream: RefCell<HashMap<String, String>>,
    /// Writes to elements (a round with nothing new makes none).
    writes: Cell<usize>,
}

impl FakeHub {
    fn create(&self, id: &str, collection: &str, name: &str, territory: &str, private: bool) {
        self.seq.set(self.seq.get() + 1);
        self.elements.borrow_mut().insert(
            id.into(),
            json!({"id": id, "collection": collection, "name": name,
                "address": {"postalCode": territory, "codeInsee": "97415"},
                "preferences": {"private": private}}),
        );
        self.own.borrow_mut().push((self.seq.get(), id.into()));
    }

    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .elements
            .borrow()
            .values()
            .map(|e| e["name"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    }
}

#[derive(Debug, thiserror::Error)]
#[error("fake")]
struct Never;

impl Replica for FakeHub {
    type Error = Never;

    fn instance_id(&self) -> String {
        "hub".into()
    }

    fn checkpoint(&self, peer: &str) -> Result<SyncCheckpoint, Never> {
        Ok(self.checkpoints.borrow().get(peer).copied().unwrap_or_default())
    }

    fn outgoing(&self, after: ChangeSeq, limit: usize) -> Result<Batch, Never> {
        let own = self.own.borrow();
        let rows: Vec<&(i64, String)> = own.iter().filter(|(s, _)| *s > after.0).take(limit).collect();
        let to = rows.last().map_or(after.0, |r| r.0);
        let elements = self.elements.borrow();
        let changes = rows
            .iter()
            .filter_map(|(seq, id)| {
                let doc = elements.get(id);
                let public = doc.is_some_and(|d| d["preferences"]["private"] != json!(true));
                // (A real hub sends withdrawals only for what it published; enough here.)
                match (doc, public) {
                    (Some(d), true) => Some(WireChange {
                        entity: EntityKind::Element,
                        op: ChangeOp::Update,
                        id: id.clone(),
                        seq: ChangeSeq(*seq),
                        doc: Some(d.clone()),
                    }),
                    (Some(_), false) => None,
                    (None, _) => Some(WireChange {
                        entity: EntityKind::Element,
                        op: ChangeOp::Delete,
                        id: id.clone(),
                        seq: ChangeSeq(*seq),
                        doc: None,
                    }),
                }
            })
            .collect();
        Ok(Batch {
            id: BatchId::new("hub", after, ChangeSeq(to)),
            from_seq: after,
            to_seq: ChangeSeq(to),
            changes,
        })
    }

    fn set_pushed(&self, peer: &str, to: ChangeSeq) -> Result<(), Never> {
        self.checkpoints.borrow_mut().entry(peer.into()).or_default().pushed = to;
        Ok(())
    }

    fn apply_pulled(&self, peer: &str, changes: &[WireChange], next_since: ChangeSeq) -> Result<Applied, Never> {
        let mut applied = 0;
        let mut elements = self.elements.borrow_mut();
        for c in changes {
            let before = elements.get(&c.id).cloned();
            match &c.doc {
                Some(d) => {
                    elements.insert(c.id.clone(), d.clone());
                }
                None => {
                    elements.remove(&c.id);
                }
            }
            if elements.get(&c.id) != before.as_ref() {
                applied += 1;
                self.writes.set(self.writes.get() + 1);
            }
        }
        self.checkpoints.borrow_mut().entry(peer.into()).or_default().pulled = next_since;
        Ok(Applied { applied, conflicts: 0 })
    }
}

impl ListingStore for &FakeHub {
    type Error = Never;

    fn pushed_to(&self, main: &str) -> Result<ChangeSeq, Never> {
        Ok(self.checkpoint(main)?.pushed)
    }

    fn begin_pull(
        &self,
        _main: &str,
        applied: ChangeSeq,
        territories: &[String],
        collections: &[&str],
        new_round: bool,
    ) -> Result<Vec<Listing>, Never> {
        let mut listings = self.listings.borrow_mut();
        let mut seen = self.seen.borrow_mut();
        for (step, op) in self.staged.borrow_mut().drain(..) {
            if step > applied.0 {
                continue;
            }
            match op {
                StagedOp::Seen {
                    territory,
                    collection,
                    id,
                    fingerprint,
                    generation,
                } => {
                    seen.insert((MAIN.into(), territory, collection, id), (fingerprint, generation));
                }
                StagedOp::Forget {
                    territory,
                    collection,
                    id,
                } => {
                    seen.remove(&(MAIN.into(), territory, collection, id));
                }
                StagedOp::Cursor {
                    territory,
                    collection,
                    next_index,
                    phase,
                } => {
                    let l = listings.get_mut(&(MAIN.into(), territory, collection)).unwrap();
                    l.next_index = next_index;
                    l.phase = phase;
                }
            }
        }
        let mut out = Vec::new();
        for t in territories {
            for c in collections {
                let l = listings
                    .entry((MAIN.into(), t.clone(), (*c).into()))
                    .or_insert(Listing {
                        territory: t.clone(),
                        collection: (*c).into(),
                        generation: 0,
                        next_index: 0,
                        phase: ListingPhase::Done,
                    });
                if new_round && l.phase == ListingPhase::Done {
                    l.generation += 1;
                    l.next_index = 0;
                    l.phase = ListingPhase::Listing;
                }
                out.push(l.clone());
            }
        }
        Ok(out)
    }

    fn fingerprints(
        &self,
        main: &str,
        territory: &str,
        collection: &str,
        ids: &[String],
    ) -> Result<HashMap<String, String>, Never> {
        let seen = self.seen.borrow();
        Ok(ids
            .iter()
            .filter_map(|id| {
                seen.get(&(main.into(), territory.into(), collection.into(), id.clone()))
                    .map(|(fp, _)| (id.clone(), fp.clone()))
            })
            .collect())
    }

    fn vanished(
        &self,
        main: &str,
        territory: &str,
        collection: &str,
        generation: i64,
        limit: usize,
    ) -> Result<Vec<String>, Never> {
        Ok(self
            .seen
            .borrow()
            .iter()
            .filter(|((m, t, c, _), (_, g))| m == main && t == territory && c == collection && *g < generation)
            .map(|((_, _, _, id), _)| id.clone())
            .take(limit)
            .collect())
    }

    fn stage(&self, _main: &str, step: ChangeSeq, ops: &[StagedOp]) -> Result<(), Never> {
        let mut staged = self.staged.borrow_mut();
        staged.retain(|(s, _)| *s != step.0);
        staged.extend(ops.iter().map(|op| (step.0, op.clone())));
        Ok(())
    }

    fn remember_upstream(&self, _main: &str, id: &str, collection: &str) -> Result<(), Never> {
        self.upstream.borrow_mut().insert(id.into(), collection.into());
        Ok(())
    }

    fn upstream_collection(&self, _main: &str, id: &str) -> Result<Option<String>, Never> {
        if let Some(c) = self.upstream.borrow().get(id) {
            return Ok(Some(c.clone()));
        }
        Ok(self
            .seen
            .borrow()
            .keys()
            .find(|(_, _, _, i)| i == id)
            .map(|(_, _, c, _)| c.clone()))
    }
}

fn round(hub: &FakeHub, main: &FakeMain, batch: usize) -> Result<RoundReport, crate::RoundError> {
    // One connector per round, as the appliance makes them.
    let connector = CommunecterConnector::new(main, hub, MAIN.into());
    run_round(
        hub,
        &connector,
        &RoundConfig {
            batch,
            scopes: vec!["97460".into(), "97400".into()],
        },
    )
}

fn seeded(n: usize) -> FakeMain {
    let main = FakeMain::default();
    for i in 0..n {
        main.insert("organizations", "97460", &format!("org{i:02}"), &format!("Asso {i:02}"));
    }
    main.insert("events", "97400", "ev01", "Fête");
    main.insert("events", "26400", "far01", "Loin");
    main
}

#[test]
fn a_round_pulls_the_territories_and_a_quiet_round_fetches_nothing() {
    let (hub, main) = (FakeHub::default(), seeded(7));
    let report = round(&hub, &main, 3).unwrap();
    assert_eq!(report.applied, 8, "{report:?}");
    assert_eq!(hub.elements.borrow().len(), 8, "out of territory: not pulled");
    assert_eq!(
        hub.elements.borrow()["org03"]["description"],
        "about Asso 03",
        "the full document"
    );
    assert!(!hub.elements.borrow().contains_key("far01"));
    assert!(main.saved.borrow().is_empty());

    let (gets, writes) = (main.gets.get(), hub.writes.get());
    let report = round(&hub, &main, 3).unwrap();
    assert_eq!((report.pulled_changes, report.applied), (0, 0), "{report:?}");
    assert_eq!(main.gets.get(), gets, "nothing fetched in full");
    assert_eq!(hub.writes.get(), writes);

    main.edit("org05", "description", json!("nouvelle description"));
    let report = round(&hub, &main, 3).unwrap();
    assert_eq!((report.pulled_changes, report.applied), (1, 1), "{report:?}");
    assert_eq!(main.gets.get(), gets + 1);
    assert_eq!(hub.elements.borrow()["org05"]["description"], "nouvelle description");

    main.remove("org02");
    main.edit("ev01", "preferences", json!({"private": true}));
    round(&hub, &main, 3).unwrap();
    assert!(!hub.elements.borrow().contains_key("org02"), "a hard delete upstream");
    assert!(!hub.elements.borrow().contains_key("ev01"), "made private upstream");
    assert_eq!(hub.elements.borrow().len(), 6);
    // And it stays so, with nothing fetched.
    let gets = main.gets.get();
    let report = round(&hub, &main, 3).unwrap();
    assert_eq!((report.pulled_changes, report.applied), (0, 0), "{report:?}");
    assert_eq!(main.gets.get(), gets);
}

#[test]
fn a_cut_listing_deletes_nothing_and_resumes_where_the_hub_was() {
    let (hub, main) = (FakeHub::default(), seeded(9));
    round(&hub, &main, 2).unwrap();
    assert_eq!(hub.elements.borrow().len(), 10);
    // Deleted upstream, then a round cut after two pages of the listing.
    main.remove("org01");
    main.fail_search_after.set(Some(2));
    let err = round(&hub, &main, 2).unwrap_err();
    assert!(err.to_string().contains("503"), "{err}");
    assert_eq!(err.retry_after(), Some(std::time::Duration::from_secs(1)));
    assert_eq!(
        hub.elements.borrow().len(),
        10,
        "no deletion from a cut listing: {:?}",
        hub.names()
    );
    // Resumed: the deletion is found, nothing else goes. The listing shifted under its
    // offsets (org01 went), so one element was skipped: it is confirmed, not deleted.
    let gets = main.gets.get();
    round(&hub, &main, 2).unwrap();
    assert_eq!(hub.elements.borrow().len(), 9, "{:?}", hub.names());
    assert!(!hub.elements.borrow().contains_key("org01"));
    assert!(main.gets.get() > gets, "vanished ids are confirmed one by one");
    // Converged: a quiet round.
    let report = round(&hub, &main, 2).unwrap();
    assert_eq!(report.applied, 0, "{report:?}");
    let report = round(&hub, &main, 2).unwrap();
    assert_eq!((report.pulled_changes, report.applied), (0, 0), "{report:?}");
}

#[test]
fn an_answer_lost_before_it_was_applied_is_listed_again() {
    let (hub, main) = (FakeHub::default(), seeded(4));
    // The connector answers a pull, but the hub never applies it (the round dies there):
    // nothing it staged may count.
    let connector = CommunecterConnector::new(&main, &hub, MAIN.into());
    let req = PullRequest {
        hub: "hub".into(),
        since: ChangeSeq(0),
        limit: 500,
        scopes: vec!["97460".into()],
    };
    let lost = connector.pull(&req).unwrap();
    assert!(!lost.changes.is_empty());
    assert!(hub.elements.borrow().is_empty());
    let report = round(&hub, &main, 500).unwrap();
    assert_eq!(report.applied, 5, "{report:?}");
    assert_eq!(hub.elements.borrow().len(), 5);
}

#[test]
fn pushes_save_public_elements_under_their_ids_and_withdraw_them() {
    let (hub, main) = (FakeHub::default(), seeded(1));
    hub.create("65f000000000000000000001", "organizations", "Créée ici", "97460", false);
    hub.create("65f000000000000000000002", "organizations", "Secrète", "97460", true);
    hub.create("65f000000000000000000003", "citoyens", "Une personne", "97460", false);
    let report = round(&hub, &main, 10).unwrap();
    assert_eq!(
        report.pushed_changes, 2,
        "the private one is not in the batch: {report:?}"
    );
    let saved: Vec<String> = main.saved.borrow().iter().map(|s| s.id.clone()).collect();
    assert_eq!(saved, vec!["65f000000000000000000001"], "persons are not pushed");
    assert!(main.saved.borrow()[0]
        .form
        .contains(&("address[localityId]".to_owned(), "54c0965cf6b95c141800a517".to_owned())));
    assert!(main.has("65f000000000000000000001"));
    assert!(!main.has("65f000000000000000000002"));
    // Pulled back in the same round: the main's version, once.
    assert_eq!(
        hub.elements.borrow()["65f000000000000000000001"]["description"],
        "about Créée ici"
    );
    let report = round(&hub, &main, 10).unwrap();
    assert_eq!(
        (report.pushed_changes, report.pulled_changes, report.applied),
        (0, 0, 0),
        "{report:?}"
    );
    // Removed on the hub: withdrawn upstream, from the collection it was saved to.
    hub.elements.borrow_mut().remove("65f000000000000000000001");
    hub.seq.set(hub.seq.get() + 1);
    hub.own
        .borrow_mut()
        .push((hub.seq.get(), "65f000000000000000000001".into()));
    round(&hub, &main, 10).unwrap();
    assert_eq!(
        *main.deleted.borrow(),
        vec![("organizations".to_owned(), "65f000000000000000000001".to_owned())]
    );
    assert!(!main.has("65f000000000000000000001"));
}
