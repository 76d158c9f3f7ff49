//! What of the journal, the comments, the attachments and the cooperative space leaves a
//! replica, and how it is applied (`sync_records.rs`).

use std::collections::BTreeSet;

use copi_sync::{ChangeFeed, ChangeOp, ChangeSeq, EntityKind, PushRequest, Replica, WireChange};
use serde_json::{json, Map, Value};

use crate::model::{Audience, ElementId, Kind, RecordKind};
use crate::store::{
    scope_of, Context, ModerationAction, NewAction, NewPost, NewProposal, Reader, Store, Target, TargetKind,
    Visibility, Vote,
};

const NOW: i64 = 1_900_000_000;

fn doc(v: Value) -> Map<String, Value> {
    v.as_object().expect("object").clone()
}

fn open() -> (tempfile::TempDir, Store) {
    let d = tempfile::tempdir().unwrap();
    let s = Store::open(d.path()).unwrap();
    (d, s)
}

fn person(s: &Store, name: &str, private: bool) -> ElementId {
    let mut d = doc(json!({"name": name}));
    if private {
        d.insert("preferences".into(), json!({"private": true}));
    }
    s.create_element(Kind::Person, d, None).unwrap().id
}

fn place(locality: &str, postal: &str, insee: &str) -> Value {
    json!({"addressLocality": locality, "postalCode": postal, "codeInsee": insee, "addressCountry": "FR"})
}

/// An organization in Crest made by `admin`, private if asked.
fn org(s: &Store, admin: &ElementId, name: &str, private: bool) -> ElementId {
    org_at(s, admin, name, private, place("Crest", "26400", "26108"))
}

fn org_at(s: &Store, admin: &ElementId, name: &str, private: bool, address: Value) -> ElementId {
    let mut d = doc(json!({"name": name, "type": "NGO", "address": address}));
    if private {
        d.insert("preferences".into(), json!({"private": true}));
    }
    s.create_element_by(admin, Kind::Organization, d, None).unwrap().id
}

fn post(s: &Store, element: &ElementId, author: &ElementId, text: &str, audience: Audience) -> ElementId {
    let new = NewPost {
        text: text.into(),
        audience,
        tags: Vec::new(),
    };
    s.create_post(element, author, &new).unwrap().id
}

fn comment(s: &Store, context: Context, author: &ElementId, text: &str) -> ElementId {
    s.create_comment(&context, None, author, text).unwrap().id
}

fn proposal(s: &Store, element: &ElementId, author: &ElementId, title: &str) -> ElementId {
    let new = NewProposal {
        title: title.into(),
        ..NewProposal::default()
    };
    s.create_proposal(element, author, &new, NOW).unwrap().id
}

fn action(s: &Store, element: &ElementId, author: &ElementId, title: &str) -> ElementId {
    let new = NewAction {
        title: title.into(),
        assignees: vec![author.clone()],
        ..NewAction::default()
    };
    s.create_action(element, author, &new, NOW).unwrap().id
}

/// A document record as an upload writes it, with its local paths.
fn attachment(s: &Store, element: &ElementId, author: &ElementId) -> ElementId {
    let d = doc(json!({"id": element.as_str(), "type": "organizations",
        "folder": format!("organizations/{element}"), "moduleId": "communecter",
        "name": "statuts.pdf", "size": 1234, "contentKey": "file", "doctype": "file",
        "author": author.as_str(),
        "copi": {"file": "ab/0123456789abcdef012345ab.pdf", "contentType": "application/pdf",
                 "sha256": "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"}}));
    s.create_record(RecordKind::Document, d).unwrap().id
}

fn hide(s: &Store, kind: TargetKind, id: &ElementId) {
    s.moderate(&Target::new(kind, id.clone()), ModerationAction::Hide)
        .unwrap();
}

/// The whole outgoing log, as one batch.
fn outgoing(s: &Store) -> Vec<WireChange> {
    s.outgoing(ChangeSeq(0), 2000).unwrap().changes
}

fn updated(changes: &[WireChange]) -> BTreeSet<String> {
    changes
        .iter()
        .filter(|c| c.op != ChangeOp::Delete)
        .map(|c| c.id.clone())
        .collect()
}

fn find<'a>(changes: &'a [WireChange], id: &ElementId) -> Option<&'a WireChange> {
    changes.iter().find(|c| c.id == id.as_str())
}

/// Pushes everything the hub has after what the main acknowledged, batch by batch.
fn push_all(hub: &Store, main: &Store, limit: usize) {
    let welcome = main.sync_hello(&hub.instance().id).unwrap();
    let mut after = welcome.pushed_to;
    let base = hub.checkpoint(&welcome.main).unwrap().pulled;
    loop {
        let batch = hub.outgoing(after, limit).unwrap();
        if batch.to_seq <= after {
            let report = copi_sync::RoundReport {
                main: welcome.main.clone(),
                ..Default::default()
            };
            hub.record_sync_round(Ok(&report)).unwrap();
            return;
        }
        let resp = main
            .sync_accept_push(&PushRequest {
                hub: hub.instance().id.clone(),
                base,
                batch,
            })
            .unwrap();
        after = resp.applied_to;
        hub.set_pushed(&welcome.main, after).unwrap();
    }
}

/// Pulls everything the main has for the hub, in pages of `limit`.
fn pull_all(hub: &Store, main: &Store, scopes: &[crate::territory::Scope], limit: usize) -> usize {
    let main_id = main.instance().id.clone();
    let mut since = hub.checkpoint(&main_id).unwrap().pulled;
    let mut applied = 0;
    loop {
        let resp = main.sync_changes_for(&hub.instance().id, since, limit, scopes).unwrap();
        applied += hub
            .apply_pulled(&resp.main, &resp.changes, resp.next_since)
            .unwrap()
            .applied;
        since = resp.next_since;
        if resp.done {
            return applied;
        }
    }
}

fn crest() -> Vec<crate::territory::Scope> {
    vec!["city:26108".parse().unwrap()]
}

#[test]
fn what_leaves_for_each_audience_element_visibility_and_moderation() {
    let (_d, hub) = open();
    let alice = person(&hub, "Alice", false);
    // For each element standing, every audience of post with a comment, a comment on the
    // element, an attachment, a proposal and an action.
    let mut expected = BTreeSet::new();
    let mut all = BTreeSet::new();
    let mut public_org = None;
    for (standing, leaves) in [("public", true), ("private", false), ("hidden", false)] {
        let e = org(&hub, &alice, &format!("Asso {standing}"), standing == "private");
        if standing == "hidden" {
            hide(&hub, TargetKind::Element, &e);
        }
        if leaves {
            expected.insert(e.to_string());
            public_org = Some(e.clone());
        }
        for audience in [
            Audience::Public,
            Audience::Members,
            Audience::Followers,
            Audience::Private,
        ] {
            let p = post(&hub, &e, &alice, &format!("{standing} {}", audience.as_str()), audience);
            let c = comment(&hub, Context::Post(p.clone()), &alice, "un commentaire");
            let public = leaves && audience == Audience::Public;
            for id in [&p, &c] {
                all.insert(id.to_string());
                if public {
                    expected.insert(id.to_string());
                }
            }
        }
        let items = [
            comment(&hub, Context::Element(e.clone()), &alice, "sur l'élément"),
            attachment(&hub, &e, &alice),
            proposal(&hub, &e, &alice, "Acheter un broyeur"),
            action(&hub, &e, &alice, "Réparer la clôture"),
        ];
        for id in &items {
            all.insert(id.to_string());
            if leaves {
                expected.insert(id.to_string());
            }
        }
    }
    // On the public element: a hidden post, a hidden comment, a reply to the hidden comment.
    let public_org = public_org.unwrap();
    let hidden_post = post(&hub, &public_org, &alice, "caché", Audience::Public);
    hide(&hub, TargetKind::Post, &hidden_post);
    let open_post = post(&hub, &public_org, &alice, "visible", Audience::Public);
    let hidden_comment = comment(&hub, Context::Post(open_post.clone()), &alice, "caché");
    let reply = hub
        .create_comment(
            &Context::Post(open_post.clone()),
            Some(&hidden_comment),
            &alice,
            "réponse",
        )
        .unwrap()
        .id;
    hide(&hub, TargetKind::Comment, &hidden_comment);
    expected.insert(open_post.to_string());
    expected.insert(alice.to_string());

    let out = outgoing(&hub);
    let sent = updated(&out);
    let unexpected: Vec<_> = sent.difference(&expected).collect();
    let missing: Vec<_> = expected.difference(&sent).collect();
    assert!(unexpected.is_empty(), "left but should not: {unexpected:?}");
    assert!(missing.is_empty(), "should have left: {missing:?}");
    for id in [&hidden_post, &hidden_comment, &reply] {
        assert!(find(&out, id).is_none(), "{id} never published: not even withdrawn");
    }
    assert!(
        out.iter().all(|c| c.op != ChangeOp::Delete),
        "nothing was published before: no withdrawal"
    );
    assert!(all.len() > 20);
}

#[test]
fn documents_leave_without_voters_paths_or_private_names() {
    let (_d, hub) = open();
    let alice = person(&hub, "Alice", false);
    let secret = person(&hub, "Agent secret", true);
    let e = org(&hub, &alice, "Jardin partagé", false);
    hub.request_to_join(&e, &secret).unwrap();
    hub.update_member(
        &e,
        &secret,
        &crate::store::MemberUpdate {
            accept: true,
            ..Default::default()
        },
    )
    .unwrap();
    let by_alice = post(&hub, &e, &alice, "Bonjour", Audience::Public);
    let by_secret = post(&hub, &e, &secret, "Incognito", Audience::Public);
    let p = proposal(&hub, &e, &alice, "Ouvrir le samedi");
    hub.vote(&p, &alice, Vote::For, NOW).unwrap();
    hub.vote(&p, &secret, Vote::Against, NOW).unwrap();
    let file = attachment(&hub, &e, &alice);
    let out = outgoing(&hub);
    let doc_of = |id: &ElementId| find(&out, id).and_then(|c| c.doc.clone()).expect("sent");

    let d = doc_of(&by_alice);
    assert_eq!(d["author"], alice.as_str());
    assert_eq!(d["authorName"], "Alice");
    let d = doc_of(&by_secret);
    assert_eq!(d["author"], secret.as_str(), "the author's id is kept");
    assert!(d.get("authorName").is_none(), "a private person's name stays home: {d}");
    assert!(find(&out, &secret).is_none(), "the private person stays home");

    let d = doc_of(&p);
    assert_eq!(d["voteCount"], json!({"up": 1, "down": 1, "white": 0}));
    assert!(d.get("votes").is_none(), "who voted what stays home: {d}");
    assert!(!d.to_string().contains(secret.as_str()), "no voter id: {d}");

    let d = doc_of(&file);
    assert!(d["copi"].get("file").is_none(), "no local path: {d}");
    assert_eq!(d["copi"]["origin"], hub.instance().id.as_str());
    assert_eq!(d["name"], "statuts.pdf");

    // On the main: the counts are shown, the copy takes no vote, paths are not taken.
    let (_m, main) = open();
    push_all(&hub, &main, 500);
    let got = main
        .proposal_for(&p, &Reader::hub_admin())
        .unwrap()
        .expect("proposal on the main");
    let tally = got.results(NOW).expect("live results");
    assert_eq!((tally.count(Vote::For), tally.count(Vote::Against)), (1, 1));
    let mainer = person(&main, "Marie", false);
    assert!(
        main.vote(&p, &mainer, Vote::For, NOW).is_err(),
        "votes are cast on the hub"
    );
    let stored = main.get_record(&file).unwrap().expect("attachment on the main");
    assert!(stored.doc["copi"].get("file").is_none());
    // The hub's own copy keeps its votes and paths when the main sends its version back
    // (the main closed the proposal).
    main.close_proposal(&p, &mainer, NOW).unwrap();
    pull_all(&hub, &main, &crest(), 500);
    let doc = hub.proposal_document(&p).unwrap().unwrap();
    assert_eq!(doc["status"], "closed", "the main's close arrived");
    assert!(doc.get("voteCount").is_none(), "{doc:?}");
    assert_eq!(
        doc["votes"]["up"],
        json!([alice.as_str()]),
        "the hub's votes are the truth"
    );
    let tally = hub
        .proposal_for(&p, &Reader::hub_admin())
        .unwrap()
        .unwrap()
        .results(NOW)
        .unwrap();
    assert_eq!(tally.total(), 2);
}

#[test]
fn withdrawals_of_what_is_made_non_public_hidden_or_deleted_and_republication() {
    let (_d, hub) = open();
    let (_m, main) = open();
    let alice = person(&hub, "Alice", false);
    let e = org(&hub, &alice, "Atelier vélo", false);
    let to_members = post(&hub, &e, &alice, "bientôt réservé", Audience::Public);
    let under = comment(&hub, Context::Post(to_members.clone()), &alice, "sous le post");
    let to_hide = post(&hub, &e, &alice, "à cacher", Audience::Public);
    let to_delete = post(&hub, &e, &alice, "à supprimer", Audience::Public);
    let c_delete = comment(&hub, Context::Post(to_delete.clone()), &alice, "part avec");
    let p = proposal(&hub, &e, &alice, "Horaires");
    let a = action(&hub, &e, &alice, "Ranger");
    push_all(&hub, &main, 3);
    for id in [&to_members, &under, &to_hide, &to_delete, &c_delete] {
        assert!(main.get_record(id).unwrap().is_some(), "{id} on the main");
    }
    assert!(main.proposal_document(&p).unwrap().is_some());
    assert!(main.action_document(&a).unwrap().is_some());

    hub.update_record(&to_members, doc(json!({"scope": scope_of(Audience::Members)})))
        .unwrap();
    hide(&hub, TargetKind::Post, &to_hide);
    hub.delete_record(&to_delete).unwrap();
    push_all(&hub, &main, 3);
    for id in [&to_members, &under, &to_hide, &to_delete, &c_delete] {
        assert!(main.get_record(id).unwrap().is_none(), "{id} withdrawn from the main");
    }

    // The element made private: it and all that hangs off it leave the main.
    hub.update_element(&e, doc(json!({"preferences": {"private": true}})))
        .unwrap();
    push_all(&hub, &main, 3);
    assert!(main.get_element(&e, Visibility::All).unwrap().is_none());
    assert!(main.proposal_document(&p).unwrap().is_none());
    assert!(main.action_document(&a).unwrap().is_none());

    // Public again, the post unhidden: sent again with what hangs off them.
    hub.update_element(&e, doc(json!({"preferences": {"private": false}})))
        .unwrap();
    hub.moderate(
        &Target::new(TargetKind::Post, to_hide.clone()),
        ModerationAction::Unhide,
    )
    .unwrap();
    hub.update_record(&to_members, doc(json!({"scope": scope_of(Audience::Public)})))
        .unwrap();
    push_all(&hub, &main, 3);
    assert!(main.get_element(&e, Visibility::All).unwrap().is_some());
    assert!(main.proposal_document(&p).unwrap().is_some(), "the proposal is back");
    assert!(main.action_document(&a).unwrap().is_some(), "the action is back");
    for id in [&to_members, &under, &to_hide] {
        assert!(main.get_record(id).unwrap().is_some(), "{id} is back");
    }
    assert_eq!(hub.sync_status().unwrap()["pending_changes"], 0);
}

#[test]
fn applying_twice_changes_nothing_and_children_before_parents_are_kept() {
    let (_a, hub) = open();
    let (_m, main) = open();
    let (_b, other) = open();
    let alice = person(&hub, "Alice", false);
    let e = org(&hub, &alice, "Fournil", false);
    let p = post(&hub, &e, &alice, "Pain au levain samedi", Audience::Public);
    let c = comment(&hub, Context::Post(p.clone()), &alice, "J'en veux deux");
    let prop = proposal(&hub, &e, &alice, "Un four de plus");
    let act = action(&hub, &e, &alice, "Commander la farine");

    // One batch, written children first: applied parents first.
    let mut batch = hub.outgoing(ChangeSeq(0), 500).unwrap();
    batch.changes.reverse();
    let resp = main
        .sync_accept_push(&PushRequest {
            hub: hub.instance().id.clone(),
            base: ChangeSeq(0),
            batch: batch.clone(),
        })
        .unwrap();
    assert!(resp.applied >= 5, "{resp:?}");
    assert_eq!(main.comments_on(&Context::Post(p.clone())).unwrap().len(), 1);

    // The other hub pulls in pages of one change: the comment alone first, the proposal
    // and the action before their element.
    let mut changes = main
        .sync_changes_for(&other.instance().id, ChangeSeq(0), 2000, &crest())
        .unwrap()
        .changes;
    assert_eq!(
        changes.len(),
        5,
        "the element and its four (Alice, without an address, is in no territory): {changes:?}"
    );
    changes.sort_by_key(|c| std::cmp::Reverse(super::records::rank(c.entity)));
    let main_id = main.instance().id.clone();
    for (i, change) in changes.iter().enumerate() {
        other
            .apply_pulled(&main_id, std::slice::from_ref(change), ChangeSeq(i as i64 + 1))
            .unwrap();
        if change.entity == EntityKind::Proposal {
            assert!(
                other.proposal_document(&prop).unwrap().is_none(),
                "no element yet: parked"
            );
        }
    }
    assert!(
        other.proposal_document(&prop).unwrap().is_some(),
        "written once its element came"
    );
    assert!(other.action_document(&act).unwrap().is_some());
    assert_eq!(other.comments_on(&Context::Post(p.clone())).unwrap().len(), 1);
    let comment = other.comment(&c).unwrap().expect("the comment is kept");
    assert_eq!(comment.record.doc["text"], "J'en veux deux");
    let seen = other
        .post_for(&p, &Reader::anonymous())
        .unwrap()
        .expect("the post, public");
    assert_eq!(seen.record.doc["authorName"], "Alice");

    // The same changes again, in one batch: nothing written.
    let seq = ChangeFeed::last_seq(&other).unwrap();
    let n = changes.len() as i64;
    let again = other.apply_pulled(&main_id, &changes, ChangeSeq(n + 1)).unwrap();
    assert_eq!(again.applied, 0, "{again:?}");
    assert_eq!(ChangeFeed::last_seq(&other).unwrap(), seq, "nothing logged");
    // And nothing of it goes back: it came from the main.
    assert!(outgoing(&other).is_empty());
    let back = main
        .sync_changes_for(&hub.instance().id, ChangeSeq(0), 2000, &crest())
        .unwrap();
    assert!(back.changes.is_empty(), "echo: {:?}", back.changes);
}

#[test]
fn pulls_follow_the_territory_of_the_element() {
    let (_m, main) = open();
    let (_h, hub) = open();
    let alice = person(&main, "Alice", false);
    let here = org(&main, &alice, "Ici", false);
    let far = org_at(&main, &alice, "Loin", false, place("Lyon", "69001", "69381"));
    let near_post = post(&main, &here, &alice, "à Crest", Audience::Public);
    let far_post = post(&main, &far, &alice, "à Lyon", Audience::Public);
    let near_comment = comment(&main, Context::Post(near_post.clone()), &alice, "oui");
    let far_comment = comment(&main, Context::Post(far_post.clone()), &alice, "non");
    let far_proposal = proposal(&main, &far, &alice, "Ailleurs");
    let members = post(&main, &here, &alice, "entre nous", Audience::Members);
    pull_all(&hub, &main, &crest(), 2);
    assert!(hub.get_record(&near_post).unwrap().is_some());
    assert!(hub.get_record(&near_comment).unwrap().is_some());
    for id in [&far_post, &far_comment, &members] {
        assert!(hub.get_record(id).unwrap().is_none(), "{id} stays on the main");
    }
    assert!(hub.proposal_document(&far_proposal).unwrap().is_none());
    // Hidden on the main: withdrawn from the hub, with its comment.
    hide(&main, TargetKind::Post, &near_post);
    pull_all(&hub, &main, &crest(), 2);
    assert!(hub.get_record(&near_post).unwrap().is_none());
    assert!(hub.get_record(&near_comment).unwrap().is_none());
    // Shown again: back, with its comment.
    main.moderate(
        &Target::new(TargetKind::Post, near_post.clone()),
        ModerationAction::Unhide,
    )
    .unwrap();
    pull_all(&hub, &main, &crest(), 2);
    assert!(hub.get_record(&near_post).unwrap().is_some());
    assert!(hub.get_record(&near_comment).unwrap().is_some());
}

#[test]
fn conflicts_on_posts_keep_the_loser_on_both_sides() {
    let (_h, hub) = open();
    let (_m, main) = open();
    let alice = person(&hub, "Alice", false);
    let e = org(&hub, &alice, "Café", false);
    let p = post(&hub, &e, &alice, "premier jet", Audience::Public);
    push_all(&hub, &main, 500);
    pull_all(&hub, &main, &crest(), 500);

    // On the main: the hub's later arrival wins over the main's edit.
    main.update_record(&p, doc(json!({"text": "corrigé sur le main"})))
        .unwrap();
    hub.update_record(&p, doc(json!({"text": "corrigé sur le hub"})))
        .unwrap();
    push_all(&hub, &main, 500);
    assert_eq!(main.get_record(&p).unwrap().unwrap().doc["text"], "corrigé sur le hub");
    let conflicts = main.sync_conflicts(10).unwrap();
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].entity, "post");
    assert_eq!(conflicts[0].kept, "incoming");
    assert_eq!(conflicts[0].losing_doc.as_ref().unwrap()["text"], "corrigé sur le main");

    // On the hub: a pulled change loses to an unacknowledged local edit.
    pull_all(&hub, &main, &crest(), 500);
    main.update_record(&p, doc(json!({"text": "encore le main"}))).unwrap();
    hub.update_record(&p, doc(json!({"text": "encore le hub"}))).unwrap();
    pull_all(&hub, &main, &crest(), 500);
    assert_eq!(hub.get_record(&p).unwrap().unwrap().doc["text"], "encore le hub");
    let kept = hub.sync_conflicts(10).unwrap();
    assert_eq!((kept[0].entity.as_str(), kept[0].kept.as_str()), ("post", "local"));
    // Both converge on the hub's version once it is pushed.
    push_all(&hub, &main, 500);
    assert_eq!(main.get_record(&p).unwrap().unwrap().doc["text"], "encore le hub");
    // The admin picks the losing version: it becomes the post's, and travels.
    let (entity, picked) = hub.pick_sync_loser_entity(kept[0].id).unwrap();
    assert_eq!(
        (entity, picked["text"].as_str()),
        (EntityKind::Post, Some("encore le main"))
    );
    assert!(hub.pick_sync_loser(kept[0].id).is_err(), "not an element's conflict");
    push_all(&hub, &main, 500);
    assert_eq!(main.get_record(&p).unwrap().unwrap().doc["text"], "encore le main");
}

#[test]
fn the_migration_logs_again_what_was_there_before() {
    // A store whose records predate migration 0010: logged again, once, by it.
    let dir = tempfile::tempdir().unwrap();
    let hub = Store::open(dir.path()).unwrap();
    let alice = person(&hub, "Alice", false);
    let e = org(&hub, &alice, "Ancien", false);
    let p = post(&hub, &e, &alice, "d'avant", Audience::Public);
    let before = ChangeFeed::last_seq(&hub).unwrap();
    drop(hub);
    let conn = rusqlite::Connection::open(dir.path().join(crate::store::DB_FILE)).unwrap();
    conn.execute("DELETE FROM schema_migrations WHERE name = '0010_sync_records'", [])
        .unwrap();
    conn.execute_batch(
        "DROP TABLE sync_parked; DROP TRIGGER sync_element_public_again; DROP TRIGGER sync_record_public_again;",
    )
    .unwrap();
    drop(conn);
    let hub = Store::open(dir.path()).unwrap();
    let logged = hub.changes_since(before, 10).unwrap();
    assert_eq!(logged.len(), 1, "{logged:?}");
    assert_eq!(logged[0].entity_id, p.as_str());
    assert_eq!(logged[0].origin, hub.instance().id);
}
