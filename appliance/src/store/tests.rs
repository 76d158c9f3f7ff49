use super::*;
use crate::model::{ElementId, Kind};
use crate::territory::Scope;
use copi_sync::{ChangeFeed, ChangeOp, ChangeSeq};
use serde_json::{json, Map, Value};

fn doc(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

fn crest(name: &str) -> Map<String, Value> {
    doc(json!({"name": name, "type": "NGO", "tags": ["Jardin"],
        "address": {"@type": "PostalAddress", "postalCode": "26400", "addressLocality": "Crest", "addressCountry": "FR"}}))
}

#[test]
fn create_read_update_delete_with_change_log() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let e = store
        .create_element(Kind::Organization, crest("Les Jardins de Crest"), None)
        .unwrap();
    assert_eq!(e.doc["slug"], json!("lesjardinsdecrest"));
    let got = store.get_element(&e.id, Visibility::Public).unwrap().unwrap();
    assert_eq!(got, e);

    let updated = store
        .update_element(
            &e.id,
            doc(json!({"shortDescription": "Potagers partagés", "tags": null})),
        )
        .unwrap();
    assert_eq!(updated.doc["shortDescription"], json!("Potagers partagés"));
    assert!(updated.doc.get("tags").is_none());

    // A bad patch changes nothing.
    let err = store.update_element(&e.id, doc(json!({"type": "Club"}))).unwrap_err();
    assert!(err.to_string().contains("type"), "{err}");
    assert_eq!(store.get_element(&e.id, Visibility::All).unwrap().unwrap(), updated);

    store.delete_element(&e.id).unwrap();
    assert!(store.get_element(&e.id, Visibility::All).unwrap().is_none());
    let ops: Vec<ChangeOp> = store
        .changes_since(ChangeSeq(0), 100)
        .unwrap()
        .into_iter()
        .map(|c| c.op)
        .collect();
    assert_eq!(ops, vec![ChangeOp::Create, ChangeOp::Update, ChangeOp::Delete]);
    assert_eq!(store.last_seq().unwrap(), ChangeSeq(3));
    assert!(store.delete_element(&e.id).is_err());
}

#[test]
fn lists_filter_by_kind_tag_scope_and_page() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    for i in 0..5 {
        store
            .create_element(Kind::Organization, crest(&format!("Asso {i}")), None)
            .unwrap();
    }
    let lyon = doc(
        json!({"name": "Projet lyonnais", "tags": ["vélo"], "address": {"codeInsee": "69123", "postalCode": "69001"}}),
    );
    let p = store.create_element(Kind::Project, lyon, None).unwrap();
    let mut private = crest("Secret");
    private.insert("preferences".into(), json!({"private": true}));
    store.create_element(Kind::Organization, private, None).unwrap();

    let list = |q: ListQuery| store.list_elements(&q).unwrap();
    assert_eq!(
        list(ListQuery {
            limit: 100,
            ..Default::default()
        })
        .items
        .len(),
        6
    );
    assert_eq!(
        list(ListQuery {
            limit: 100,
            visibility: Visibility::All,
            ..Default::default()
        })
        .items
        .len(),
        7
    );
    let projects = list(ListQuery {
        kinds: vec![Kind::Project],
        ..Default::default()
    });
    assert_eq!(projects.items.iter().map(|e| &e.id).collect::<Vec<_>>(), vec![&p.id]);
    assert_eq!(
        list(ListQuery {
            tags: vec!["vélo".into()],
            ..Default::default()
        })
        .items
        .len(),
        1
    );
    let drome: Scope = "dep:26".parse().unwrap();
    assert_eq!(
        list(ListQuery {
            scopes: vec![drome],
            limit: 100,
            ..Default::default()
        })
        .items
        .len(),
        5
    );
    let arrondissement = doc(
        json!({"name": "Café du 3e", "address": {"codeInsee": "69383", "postalCode": "69003", "addressLocality": "Lyon 3e Arrondissement"}}),
    );
    store.create_element(Kind::Project, arrondissement, None).unwrap();
    let lyon: Scope = "city:69123".parse().unwrap();
    assert_eq!(
        list(ListQuery {
            scopes: vec![lyon],
            limit: 100,
            ..Default::default()
        })
        .items
        .len(),
        2
    );
    let lyon3: Scope = "city:69383".parse().unwrap();
    assert_eq!(
        list(ListQuery {
            scopes: vec![lyon3],
            limit: 100,
            ..Default::default()
        })
        .items
        .len(),
        1
    );
    let rhone_alpes: Scope = "region:84".parse().unwrap();
    assert_eq!(
        list(ListQuery {
            scopes: vec![rhone_alpes],
            limit: 100,
            ..Default::default()
        })
        .items
        .len(),
        7
    );

    // Pages of two cover everything once, newest first.
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = list(ListQuery {
            limit: 2,
            cursor: cursor.clone(),
            ..Default::default()
        });
        seen.extend(
            page.items
                .into_iter()
                .map(|e| e.doc["name"].as_str().unwrap().to_owned()),
        );
        match page.next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    assert_eq!(
        seen,
        vec![
            "Café du 3e",
            "Projet lyonnais",
            "Asso 4",
            "Asso 3",
            "Asso 2",
            "Asso 1",
            "Asso 0"
        ]
    );
    assert!(store
        .list_elements(&ListQuery {
            cursor: Some("garbage".into()),
            ..Default::default()
        })
        .is_err());
}

#[test]
fn links_are_written_on_both_sides() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let org = store.create_element(Kind::Organization, crest("Asso"), None).unwrap();
    let person = store
        .create_element(Kind::Person, doc(json!({"name": "Léa"})), None)
        .unwrap();
    store
        .link(
            &org.id,
            "members",
            &person.id,
            doc(json!({"isAdmin": true, "roles": ["Présidente"]})),
        )
        .unwrap();
    let org = store.get_element(&org.id, Visibility::All).unwrap().unwrap();
    let person_now = store.get_element(&person.id, Visibility::All).unwrap().unwrap();
    let value = org.to_json();
    assert_eq!(
        value["links"]["members"][person.id.as_str()],
        json!({"isAdmin": true, "roles": ["Présidente"], "type": "citoyens"})
    );
    let back = person_now.to_json();
    assert_eq!(
        back["links"]["memberOf"][org.id.as_str()],
        json!({"type": "organizations", "isAdmin": true, "roles": ["Présidente"]})
    );

    // Deleting the person removes the org's side too.
    store.delete_element(&person.id).unwrap();
    let org = store.get_element(&org.id, Visibility::All).unwrap().unwrap();
    assert!(org.links.is_empty());
    assert!(store.link(&org.id, "members", &org.id, Map::new()).is_err());
}

#[test]
fn slugs_stay_unique() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let a = store
        .create_element(Kind::Organization, crest("Café-Théâtre"), None)
        .unwrap();
    let b = store
        .create_element(Kind::Organization, crest("Café Théâtre"), None)
        .unwrap();
    assert_eq!(a.doc["slug"], json!("cafetheatre"));
    assert_eq!(b.doc["slug"], json!("cafetheatre2"));
    assert_eq!(store.element_id_by_slug("cafetheatre2").unwrap(), Some(b.id));
}

#[test]
fn client_chosen_ids_must_be_free() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let id = ElementId::parse("5b0f00000000000000000001").unwrap();
    store
        .create_element(Kind::Organization, crest("A"), Some(id.clone()))
        .unwrap();
    let err = store
        .create_element(Kind::Organization, crest("B"), Some(id))
        .unwrap_err();
    assert_eq!(err.code(), "conflict");
    assert_eq!(store.count_elements(Visibility::All).unwrap()[&Kind::Organization], 1);
}

#[test]
fn a_copied_data_dir_takes_a_new_instance_id() {
    let dir = tempfile::tempdir().unwrap();
    let first = Store::open(dir.path()).unwrap().instance().clone();
    let again = Store::open(dir.path()).unwrap().instance().clone();
    assert_eq!(first.id, again.id);
    assert_eq!(again.previous, None);

    let copy = tempfile::tempdir().unwrap();
    for f in std::fs::read_dir(dir.path()).unwrap() {
        let f = f.unwrap();
        std::fs::copy(f.path(), copy.path().join(f.file_name())).unwrap();
    }
    let cloned = Store::open(copy.path()).unwrap().instance().clone();
    assert_ne!(cloned.id, first.id);
    assert_eq!(cloned.previous.as_deref(), Some(first.id.as_str()));
    // And it keeps its new id afterwards.
    assert_eq!(Store::open(copy.path()).unwrap().instance().id, cloned.id);
}

#[test]
fn check_finds_and_repairs_stale_columns() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let e = store.create_element(Kind::Organization, crest("Asso"), None).unwrap();
    assert!(store.check(false).unwrap().problems.is_empty());
    store
        .write(|tx| Ok(tx.execute("UPDATE elements SET department = '75' WHERE id = ?1", [e.id.as_str()])?))
        .unwrap();
    let report = store.check(true).unwrap();
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    assert_eq!(report.repaired.len(), 1);
    assert!(store.check(false).unwrap().problems.is_empty());
}

#[test]
fn a_write_failing_on_a_read_only_filesystem_says_so() {
    let io = || Error::Store(rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(778), None));
    let e = classify_write_error(io(), || true);
    assert!(matches!(e, Error::StorageReadOnly), "{e:?}");
    assert_eq!((e.status(), e.code()), (503, "storage_read_only"));
    assert!(e.public_message().contains("read-only"), "{}", e.public_message());
    // The same failure on a writable card stays a store failure, told to no client.
    let e = classify_write_error(io(), || false);
    assert!(matches!(e, Error::Store(_)), "{e:?}");
    assert!(!e.public_message().contains("SQLite"));
    // What the client caused, or a full card, is never taken for a read-only one.
    let e = classify_write_error(Error::BadRequest("nope".into()), || panic!("no probe needed"));
    assert!(matches!(e, Error::BadRequest(_)));
    assert!(matches!(
        classify_write_error(Error::StorageFull, || true),
        Error::StorageFull
    ));
    // A store in a writable dir is not read-only, and probing it changes nothing.
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let before = std::fs::metadata(store.path()).unwrap().len();
    assert!(!store.is_read_only());
    assert_eq!(std::fs::metadata(store.path()).unwrap().len(), before);
}

/// The counts of elements per kind, counted from the rows as `count_elements` once did.
fn recount(store: &Store, visibility: Visibility) -> std::collections::BTreeMap<Kind, u64> {
    let sql = match visibility {
        Visibility::Public => {
            "SELECT kind, count(*) FROM elements WHERE private = 0 AND moderation IS NULL GROUP BY kind"
        }
        Visibility::All => "SELECT kind, count(*) FROM elements GROUP BY kind",
    };
    let mut counts: std::collections::BTreeMap<Kind, u64> = Kind::ALL.iter().map(|k| (*k, 0)).collect();
    let rows: Vec<(String, i64)> = store
        .read(|c| {
            let mut stmt = c.prepare(sql)?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .unwrap();
    for (kind, n) in rows {
        counts.insert(Kind::parse(&kind).unwrap(), n as u64);
    }
    counts
}

/// Asserts the counts each viewer gets, for the kinds named (the others are 0), and that
/// they are those of the rows.
#[track_caller]
fn assert_counts(store: &Store, public: &[(Kind, u64)], all: &[(Kind, u64)]) {
    for (visibility, expected) in [(Visibility::Public, public), (Visibility::All, all)] {
        let counts = store.count_elements(visibility).unwrap();
        assert_eq!(
            counts,
            recount(store, visibility),
            "{visibility:?}: kept and counted differ"
        );
        let mut want: std::collections::BTreeMap<Kind, u64> = Kind::ALL.iter().map(|k| (*k, 0)).collect();
        want.extend(expected.iter().copied());
        assert_eq!(counts, want, "{visibility:?}");
    }
}

fn private(mut d: Map<String, Value>) -> Map<String, Value> {
    d.insert("preferences".into(), json!({"private": true}));
    d
}

#[test]
fn element_counts_follow_creates_edits_moderation_and_deletes() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    assert_counts(&store, &[], &[]);
    let a = store.create_element(Kind::Organization, crest("A"), None).unwrap();
    let b = store.create_element(Kind::Organization, crest("B"), None).unwrap();
    let secret = store
        .create_element(Kind::Organization, private(crest("Secret")), None)
        .unwrap();
    let lea = store
        .create_element(Kind::Person, doc(json!({"name": "Léa"})), None)
        .unwrap();
    assert_counts(
        &store,
        &[(Kind::Organization, 2), (Kind::Person, 1)],
        &[(Kind::Organization, 3), (Kind::Person, 1)],
    );
    // Made private, made public again; an edit that changes neither changes nothing.
    store
        .update_element(&a.id, doc(json!({"preferences": {"private": true}})))
        .unwrap();
    store
        .update_element(&secret.id, doc(json!({"preferences": {"private": false}})))
        .unwrap();
    store
        .update_element(&b.id, doc(json!({"shortDescription": "rien"})))
        .unwrap();
    store.link(&b.id, "members", &lea.id, Map::new()).unwrap();
    assert_counts(
        &store,
        &[(Kind::Organization, 2), (Kind::Person, 1)],
        &[(Kind::Organization, 3), (Kind::Person, 1)],
    );
    // Moderation: hidden, then shown again; a pending submission, then approved.
    let hide = Target::new(TargetKind::Element, b.id.clone());
    store.moderate(&hide, ModerationAction::Hide).unwrap();
    assert_counts(
        &store,
        &[(Kind::Organization, 1), (Kind::Person, 1)],
        &[(Kind::Organization, 3), (Kind::Person, 1)],
    );
    store.moderate(&hide, ModerationAction::Unhide).unwrap();
    let submitted = store
        .submit_element(
            Kind::Event,
            doc(json!({"name": "Bal", "type": "concert", "startDate": "2026-07-14 21:00"})),
        )
        .unwrap();
    assert_counts(
        &store,
        &[(Kind::Organization, 2), (Kind::Person, 1)],
        &[(Kind::Organization, 3), (Kind::Person, 1), (Kind::Event, 1)],
    );
    store
        .moderate(
            &Target::new(TargetKind::Element, submitted.id.clone()),
            ModerationAction::Approve,
        )
        .unwrap();
    assert_counts(
        &store,
        &[(Kind::Organization, 2), (Kind::Person, 1), (Kind::Event, 1)],
        &[(Kind::Organization, 3), (Kind::Person, 1), (Kind::Event, 1)],
    );
    // Deletions, of a public and of a private element.
    store.delete_element(&lea.id).unwrap();
    store.delete_element(&a.id).unwrap();
    store
        .moderate(
            &Target::new(TargetKind::Element, submitted.id.clone()),
            ModerationAction::Delete,
        )
        .unwrap();
    assert_counts(&store, &[(Kind::Organization, 2)], &[(Kind::Organization, 2)]);
    // A refused write changes nothing.
    assert!(store
        .create_element(Kind::Organization, crest("C"), Some(b.id.clone()))
        .is_err());
    assert_counts(&store, &[(Kind::Organization, 2)], &[(Kind::Organization, 2)]);
}

#[test]
fn element_counts_follow_imports_that_add_and_replace() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let kept = store.create_element(Kind::Organization, crest("Gardée"), None).unwrap();
    let changing = store
        .create_element(Kind::Organization, crest("Devient projet"), None)
        .unwrap();
    let import = |v: Value| {
        crate::bundle::Bundle::from_json(v, store.zone())
            .unwrap()
            .write(&store, || ())
            .unwrap()
    };
    import(json!({
        "organizations": [
            {"_id": {"$id": "5b0f00000000000000000001"}, "name": "Importée", "type": "NGO"},
            {"_id": {"$id": "5b0f00000000000000000002"}, "name": "Cachée", "type": "NGO",
             "preferences": {"private": true}},
        ],
        "projects": [{"_id": {"$id": "5b0f00000000000000000003"}, "name": "Projet"}],
    }));
    assert_counts(
        &store,
        &[(Kind::Organization, 3), (Kind::Project, 1)],
        &[(Kind::Organization, 4), (Kind::Project, 1)],
    );
    // Replacing elements by id: one changes kind, one becomes private, one public.
    import(json!({
        "projects": [{"_id": {"$id": changing.id.as_str()}, "name": "Devenue projet"}],
        "organizations": [
            {"_id": {"$id": kept.id.as_str()}, "name": "Gardée", "type": "NGO", "preferences": {"private": true}},
            {"_id": {"$id": "5b0f00000000000000000002"}, "name": "Montrée", "type": "NGO"},
        ],
    }));
    assert_counts(
        &store,
        &[(Kind::Organization, 2), (Kind::Project, 2)],
        &[(Kind::Organization, 3), (Kind::Project, 2)],
    );
    // A write refused after its rows went in (an import failing midway) leaves no count.
    let mut bundle = crate::bundle::Bundle::from_json(
        json!({"organizations": [{"_id": {"$id": "5b0f00000000000000000009"}, "name": "Nouvelle", "type": "NGO"}]}),
        store.zone(),
    )
    .unwrap();
    let refused = store.write(|tx| {
        let (element, facts) = &mut bundle.elements[0];
        store.put_element(tx, element, facts)?;
        Err::<(), _>(Error::Import("refused midway".into()))
    });
    assert!(refused.is_err());
    assert_counts(
        &store,
        &[(Kind::Organization, 2), (Kind::Project, 2)],
        &[(Kind::Organization, 3), (Kind::Project, 2)],
    );
}

#[test]
fn element_counts_follow_changes_applied_by_sync() {
    use copi_sync::{PushRequest, Replica};
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (hub, main) = (Store::open(a.path()).unwrap(), Store::open(b.path()).unwrap());
    let push = || {
        let welcome = main.sync_hello(&hub.instance().id).unwrap();
        let mut after = welcome.pushed_to;
        loop {
            let batch = hub.outgoing(after, 500).unwrap();
            if batch.to_seq <= after {
                return;
            }
            after = main
                .sync_accept_push(&PushRequest {
                    hub: hub.instance().id.clone(),
                    base: hub.checkpoint(&welcome.main).unwrap().pulled,
                    batch,
                })
                .unwrap()
                .applied_to;
            hub.set_pushed(&welcome.main, after).unwrap();
        }
    };
    let pull = || {
        let scopes: Vec<Scope> = vec!["city:26108".parse().unwrap()];
        let mut since = hub.checkpoint(&main.instance().id).unwrap().pulled;
        loop {
            let resp = main.sync_changes_for(&hub.instance().id, since, 500, &scopes).unwrap();
            hub.apply_pulled(&resp.main, &resp.changes, resp.next_since).unwrap();
            since = resp.next_since;
            if resp.done {
                return;
            }
        }
    };
    // Pushed: the public elements arrive on the main, never the private one.
    let one = hub.create_element(Kind::Organization, crest("Une"), None).unwrap();
    let two = hub.create_element(Kind::Project, crest("Deux"), None).unwrap();
    hub.create_element(Kind::Organization, private(crest("Trois")), None)
        .unwrap();
    push();
    assert_counts(
        &main,
        &[(Kind::Organization, 1), (Kind::Project, 1)],
        &[(Kind::Organization, 1), (Kind::Project, 1)],
    );
    // Made private and deleted on the hub: withdrawn from the main.
    hub.update_element(&one.id, doc(json!({"preferences": {"private": true}})))
        .unwrap();
    hub.delete_element(&two.id).unwrap();
    push();
    assert_counts(&main, &[], &[]);
    // Pulled: what the main has in the hub's territory arrives on the hub, and its
    // withdrawal too.
    let mut fountain = crest("Fontaine");
    fountain.insert("type".into(), json!("place"));
    let theirs = main.create_element(Kind::Poi, fountain, None).unwrap();
    pull();
    assert_counts(&hub, &[(Kind::Poi, 1)], &[(Kind::Organization, 2), (Kind::Poi, 1)]);
    main.delete_element(&theirs.id).unwrap();
    pull();
    assert_counts(&hub, &[], &[(Kind::Organization, 2)]);
}

#[test]
fn check_recounts_element_counts_that_drifted() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.create_element(Kind::Organization, crest("A"), None).unwrap();
    store
        .create_element(Kind::Organization, private(crest("B")), None)
        .unwrap();
    assert!(store.check(false).unwrap().problems.is_empty());
    // Edited behind CoPi's back (the triggers cannot see a change to the counts themselves).
    store
        .write(|tx| {
            Ok(tx.execute_batch("UPDATE element_counts SET n = 7; INSERT INTO element_counts VALUES ('poi', 1, 2);")?)
        })
        .unwrap();
    assert_eq!(store.count_elements(Visibility::Public).unwrap()[&Kind::Poi], 2);
    let report = store.check(false).unwrap();
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    assert!(report.repaired.is_empty());
    let report = store.check(true).unwrap();
    assert_eq!(report.repaired.len(), 1, "{report:?}");
    assert_counts(&store, &[(Kind::Organization, 1)], &[(Kind::Organization, 2)]);
    assert!(store.check(false).unwrap().problems.is_empty());
}

#[test]
fn the_migration_counts_the_elements_already_there() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.create_element(Kind::Organization, crest("A"), None).unwrap();
    store
        .create_element(Kind::Organization, private(crest("B")), None)
        .unwrap();
    store
        .create_element(Kind::Person, doc(json!({"name": "Léa"})), None)
        .unwrap();
    drop(store);
    // As a data dir written before migration 0012 is.
    let conn = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
    conn.execute_batch(
        "DELETE FROM schema_migrations WHERE name = '0012_read_paths';
         DROP TRIGGER element_counts_insert;
         DROP TRIGGER element_counts_update;
         DROP TRIGGER element_counts_delete;
         DROP TABLE element_counts;
         DROP INDEX elements_organizer;
         DROP INDEX records_live;",
    )
    .unwrap();
    drop(conn);
    let store = Store::open(dir.path()).unwrap();
    assert_counts(
        &store,
        &[(Kind::Organization, 1), (Kind::Person, 1)],
        &[(Kind::Organization, 2), (Kind::Person, 1)],
    );
    store
        .create_element(Kind::Person, doc(json!({"name": "Tom"})), None)
        .unwrap();
    assert_counts(
        &store,
        &[(Kind::Organization, 1), (Kind::Person, 2)],
        &[(Kind::Organization, 2), (Kind::Person, 2)],
    );
}
