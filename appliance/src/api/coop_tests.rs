//! The cooperative space over HTTP and in pages, with Rocket's local client on a real store:
//! persons registered through `/api/v1/auth/register`, acting with their bearer tokens or
//! their session cookie (pages).

use copi_sync::ChangeFeed;
use rocket::http::{ContentType, Header, Method, Status};
use serde_json::{json, Value};

use crate::api::test_hub::hub_with as fixture_with;
use crate::api::test_hub::{hub as fixture, As, Person, TestHub as Fixture};
use crate::config::Module;

/// What these tests do on a hub beyond plain requests.
trait Cooperative {
    fn vote(&self, proposal: &str, vote: &str, who: As<'_>) -> (Status, Value);
    /// An organisation made by `by` (its admin), with its slug.
    fn group(&self, by: &Person, name: &str, private: bool) -> (String, String);
    /// `who` joins `element` through an invitation `admin` makes.
    fn member(&self, admin: &Person, element: &str, who: &Person);
    fn propose(&self, element: &str, by: &Person, body: Value) -> String;
    /// Everything the cooperative space and the change log hold, to prove a refused request
    /// changed nothing.
    fn snapshot(&self) -> (i64, Vec<String>);
    /// A page and its status (following no redirect).
    fn page(&self, uri: &str, who: Option<&Person>) -> (Status, String, Option<String>);
    /// A form posted with the session cookie.
    fn form(&self, uri: &str, body: &str, who: &Person) -> (Status, Option<String>);
}

impl Cooperative for Fixture {
    fn vote(&self, proposal: &str, vote: &str, who: As<'_>) -> (Status, Value) {
        self.call(
            Method::Put,
            &format!("/api/v1/proposals/{proposal}/vote"),
            Some(json!({"vote": vote})),
            who,
        )
    }

    /// An organisation made by `by` (its admin), with its slug.
    fn group(&self, by: &Person, name: &str, private: bool) -> (String, String) {
        let (status, body) = self.post(
            "/api/v1/elements",
            json!({"kind": "organization", "name": name, "type": "NGO", "preferences": {"private": private}}),
            As::Bearer(by),
        );
        assert_eq!(status, Status::Created, "{body}");
        (
            body["id"].as_str().unwrap().to_owned(),
            body["slug"].as_str().unwrap().to_owned(),
        )
    }

    /// `who` joins `element` through an invitation `admin` makes.
    fn member(&self, admin: &Person, element: &str, who: &Person) {
        let (status, inv) = self.post(
            &format!("/api/v1/elements/{element}/invitations"),
            json!({}),
            As::Bearer(admin),
        );
        assert_eq!(status, Status::Created, "{inv}");
        let (status, body) = self.post(
            &format!("/api/v1/join/{}", inv["code"].as_str().unwrap()),
            json!({}),
            As::Bearer(who),
        );
        assert_eq!(status, Status::Ok, "{body}");
    }

    fn propose(&self, element: &str, by: &Person, body: Value) -> String {
        let (status, p) = self.post(&format!("/api/v1/elements/{element}/proposals"), body, As::Bearer(by));
        assert_eq!(status, Status::Created, "{p}");
        p["id"].as_str().unwrap().to_owned()
    }

    /// Everything the cooperative space and the change log hold, to prove a refused request
    /// changed nothing.
    fn snapshot(&self) -> (i64, Vec<String>) {
        let rows = self
            .store
            .read(|c| {
                let mut out = Vec::new();
                for sql in [
                    "SELECT id || doc || coalesce(closed_at, '') || coalesce(deadline, '') FROM proposals ORDER BY id",
                    "SELECT proposal_id || person_id || value FROM votes ORDER BY 1",
                    "SELECT id || doc || status FROM actions ORDER BY id",
                    "SELECT action_id || person_id FROM action_assignees ORDER BY 1",
                ] {
                    let mut stmt = c.prepare(sql)?;
                    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
                    for r in rows {
                        out.push(r?);
                    }
                }
                Ok(out)
            })
            .unwrap();
        (self.store.last_seq().unwrap().0, rows)
    }

    /// A page and its status (following no redirect).
    fn page(&self, uri: &str, who: Option<&Person>) -> (Status, String, Option<String>) {
        let mut req = self
            .client
            .get(uri.to_owned())
            .header(Header::new("Accept", "text/html"));
        if let Some(p) = who {
            req = req.cookie(p.cookie.clone());
        }
        let r = req.dispatch();
        let location = r.headers().get_one("Location").map(str::to_owned);
        (r.status(), r.into_string().unwrap_or_default(), location)
    }

    /// A form posted with the session cookie.
    fn form(&self, uri: &str, body: &str, who: &Person) -> (Status, Option<String>) {
        let r = self
            .client
            .post(uri.to_owned())
            .header(ContentType::Form)
            .header(Header::new("Accept", "text/html"))
            .cookie(who.cookie.clone())
            .body(body)
            .dispatch();
        (r.status(), r.headers().get_one("Location").map(str::to_owned))
    }
}

fn enc(s: &str) -> String {
    crate::web::layout::enc(s)
}

fn assert_refused(f: &Fixture, answer: (Status, Value), status: Status, code: &str, before: &(i64, Vec<String>)) {
    assert_eq!(answer.0, status, "{}", answer.1);
    assert_eq!(answer.1["error"]["code"], json!(code), "{}", answer.1);
    assert!(answer.1["error"]["message"].is_string(), "{}", answer.1);
    assert_eq!(&f.snapshot(), before, "a refused request changed something");
}

/// Moves a proposal's deadline into the past, as the hub's clock passing it would.
fn pass_deadline(f: &Fixture, proposal: &str) {
    f.store
        .write(|tx| {
            tx.execute(
                "UPDATE proposals SET deadline = ?1 WHERE id = ?2",
                rusqlite::params![crate::model::now_seconds() - 1, proposal],
            )?;
            Ok(())
        })
        .unwrap();
}

#[test]
fn members_propose_and_vote_until_the_deadline() {
    let f = fixture();
    let (alice, bob, carol) = (f.person("Alice"), f.person("Bob"), f.person("Carol"));
    let (org, _) = f.group(&alice, "Jardin partagé", false);
    f.member(&alice, &org, &bob);
    let deadline = crate::model::now_seconds() + 3600;
    let p = f.propose(
        &org,
        &alice,
        json!({"title": "Acheter une grelinette", "description": "Pour le potager", "deadline": deadline}),
    );
    let (_, shown) = f.get(&format!("/api/v1/proposals/{p}"), As::Nobody);
    assert_eq!(
        (
            &shown["status"],
            &shown["visibility"],
            &shown["deadline"],
            &shown["results"]["total"]
        ),
        (&json!("open"), &json!("live"), &json!(deadline), &json!(0))
    );
    // Bob votes, then changes his mind; live results show the counts, never who voted.
    assert_eq!(f.vote(&p, "for", As::Bearer(&bob)).0, Status::Ok);
    let (status, after) = f.vote(&p, "against", As::Bearer(&bob));
    assert_eq!(status, Status::Ok, "{after}");
    assert_eq!(after["myVote"], json!("against"));
    assert_eq!(
        after["results"],
        json!({"for": 0, "against": 1, "abstain": 0, "total": 1})
    );
    assert!(!after.to_string().contains(&bob.id), "who voted is not shown");
    let (_, list) = f.get(&format!("/api/v1/elements/{org}/proposals"), As::Bearer(&bob));
    assert_eq!(list["items"][0]["myVote"], json!("against"));
    assert_eq!(list["next"], Value::Null);
    // Refusals change nothing.
    let before = f.snapshot();
    assert_refused(
        &f,
        f.vote(&p, "for", As::Bearer(&carol)),
        Status::Forbidden,
        "forbidden",
        &before,
    );
    assert_refused(
        &f,
        f.vote(&p, "for", As::Nobody),
        Status::Unauthorized,
        "unauthorized",
        &before,
    );
    assert_refused(
        &f,
        f.vote(&p, "maybe", As::Bearer(&bob)),
        Status::UnprocessableEntity,
        "invalid",
        &before,
    );
    assert_refused(
        &f,
        f.vote(&p, "for", As::Cookie(&bob, false)),
        Status::Forbidden,
        "csrf",
        &before,
    );
    assert_refused(
        &f,
        f.call(
            Method::Put,
            &format!("/api/v1/proposals/{p}/vote"),
            Some(json!({"vote": "for", "why": "x"})),
            As::Bearer(&bob),
        ),
        Status::UnprocessableEntity,
        "invalid",
        &before,
    );
    assert_refused(
        &f,
        f.post(
            &format!("/api/v1/elements/{org}/proposals"),
            json!({"title": "Moi aussi"}),
            As::Bearer(&carol),
        ),
        Status::Forbidden,
        "forbidden",
        &before,
    );
    for bad in [
        json!({}),
        json!({"title": "  "}),
        json!({"title": "x", "deadline": "demain"}),
        json!({"title": "x", "deadline": crate::model::now_seconds() - 10}),
        json!({"title": "x", "visibility": "secret"}),
    ] {
        assert_refused(
            &f,
            f.post(&format!("/api/v1/elements/{org}/proposals"), bad, As::Bearer(&alice)),
            Status::UnprocessableEntity,
            "invalid",
            &before,
        );
    }
    assert_refused(
        &f,
        f.vote("5b0f00000000000000000001", "for", As::Bearer(&bob)),
        Status::NotFound,
        "not_found",
        &before,
    );
    // The session cookie with its CSRF header votes too.
    assert_eq!(f.vote(&p, "abstain", As::Cookie(&alice, true)).0, Status::Ok);
    // The hub's clock passes the deadline: the vote is closed.
    pass_deadline(&f, &p);
    let before = f.snapshot();
    assert_refused(
        &f,
        f.vote(&p, "for", As::Bearer(&bob)),
        Status::Conflict,
        "conflict",
        &before,
    );
    let (_, closed) = f.get(&format!("/api/v1/proposals/{p}"), As::Nobody);
    assert_eq!(closed["status"], json!("closed"));
    assert_eq!(closed["results"]["total"], json!(2));
}

#[test]
fn closed_results_stay_hidden_until_an_admin_closes() {
    let f = fixture();
    let (alice, bob) = (f.person("Alice"), f.person("Bob"));
    let (org, _) = f.group(&alice, "Jardin partagé", false);
    f.member(&alice, &org, &bob);
    let p = f.propose(
        &org,
        &bob,
        json!({"title": "Fête de printemps", "visibility": "closed"}),
    );
    // Before any vote, the author edits; another member who is not admin may not.
    let (status, edited) = f.patch(
        &format!("/api/v1/proposals/{p}"),
        json!({"title": "Fête du printemps", "description": "Le 21 mars"}),
        As::Bearer(&bob),
    );
    assert_eq!(status, Status::Ok, "{edited}");
    assert_eq!(edited["description"], json!("Le 21 mars"));
    assert_eq!(f.vote(&p, "for", As::Bearer(&alice)).0, Status::Ok);
    let (_, bobs) = f.vote(&p, "for", As::Bearer(&bob));
    for who in [As::Nobody, As::Bearer(&alice), As::Bearer(&bob)] {
        let (_, shown) = f.get(&format!("/api/v1/proposals/{p}"), who);
        assert_eq!(shown["results"], Value::Null, "{shown}");
        assert_eq!(shown["visibility"], json!("closed"));
    }
    assert_eq!(bobs["myVote"], json!("for"));
    let before = f.snapshot();
    // Votes were cast: the text is frozen. Only an element admin closes.
    assert_refused(
        &f,
        f.patch(
            &format!("/api/v1/proposals/{p}"),
            json!({"title": "Autre"}),
            As::Bearer(&bob),
        ),
        Status::Conflict,
        "conflict",
        &before,
    );
    assert_refused(
        &f,
        f.patch(
            &format!("/api/v1/proposals/{p}"),
            json!({"close": true}),
            As::Bearer(&bob),
        ),
        Status::Forbidden,
        "forbidden",
        &before,
    );
    assert_refused(
        &f,
        f.patch(
            &format!("/api/v1/proposals/{p}"),
            json!({"close": false}),
            As::Bearer(&alice),
        ),
        Status::UnprocessableEntity,
        "invalid",
        &before,
    );
    assert_refused(
        &f,
        f.patch(&format!("/api/v1/proposals/{p}"), json!({}), As::Bearer(&alice)),
        Status::UnprocessableEntity,
        "invalid",
        &before,
    );
    let (status, closed) = f.patch(
        &format!("/api/v1/proposals/{p}"),
        json!({"close": true}),
        As::Bearer(&alice),
    );
    assert_eq!(status, Status::Ok, "{closed}");
    assert_eq!(
        (&closed["status"], &closed["closedBy"], &closed["results"]["for"]),
        (&json!("closed"), &json!(alice.id), &json!(2))
    );
    let before = f.snapshot();
    assert_refused(
        &f,
        f.vote(&p, "against", As::Bearer(&bob)),
        Status::Conflict,
        "conflict",
        &before,
    );
    let (_, anonymous) = f.get(&format!("/api/v1/proposals/{p}"), As::Nobody);
    assert_eq!(anonymous["results"]["total"], json!(2));
}

#[test]
fn a_private_space_is_not_found_by_outsiders() {
    let f = fixture();
    let (alice, bob, carol) = (f.person("Alice"), f.person("Bob"), f.person("Carol"));
    let (org, slug) = f.group(&alice, "Bureau secret", true);
    f.member(&alice, &org, &bob);
    let p = f.propose(&org, &alice, json!({"title": "Budget"}));
    let (status, a) = f.post(
        &format!("/api/v1/elements/{org}/actions"),
        json!({"title": "Compter la caisse", "assignees": [bob.id]}),
        As::Bearer(&alice),
    );
    assert_eq!(status, Status::Created, "{a}");
    let a = a["id"].as_str().unwrap().to_owned();
    let before = f.snapshot();
    let reads = [
        format!("/api/v1/elements/{org}/proposals"),
        format!("/api/v1/proposals/{p}"),
        format!("/api/v1/elements/{org}/actions"),
        format!("/api/v1/actions/{a}"),
    ];
    for uri in &reads {
        for who in [As::Nobody, As::Bearer(&carol)] {
            assert_refused(&f, f.get(uri, who), Status::NotFound, "not_found", &before);
        }
        assert_eq!(f.get(uri, As::Bearer(&bob)).0, Status::Ok, "{uri}");
    }
    let writes = [
        (
            Method::Post,
            format!("/api/v1/elements/{org}/proposals"),
            json!({"title": "x"}),
        ),
        (Method::Patch, format!("/api/v1/proposals/{p}"), json!({"close": true})),
        (Method::Patch, format!("/api/v1/proposals/{p}"), json!({"title": "y"})),
        (
            Method::Put,
            format!("/api/v1/proposals/{p}/vote"),
            json!({"vote": "for"}),
        ),
        (
            Method::Post,
            format!("/api/v1/elements/{org}/actions"),
            json!({"title": "x"}),
        ),
        (Method::Patch, format!("/api/v1/actions/{a}"), json!({"status": "done"})),
    ];
    for (method, uri, body) in &writes {
        assert_refused(
            &f,
            f.call(*method, uri, Some(body.clone()), As::Bearer(&carol)),
            Status::NotFound,
            "not_found",
            &before,
        );
    }
    let (_, mine) = f.get("/api/v1/me/cooperative", As::Bearer(&carol));
    assert_eq!(mine, json!({"toVote": [], "votes": [], "actions": [], "elements": {}}));
    // Pages and forms too.
    let space = format!("/organization/{slug}/cooperative");
    assert_eq!(f.page(&space, None).0, Status::NotFound);
    assert_eq!(f.page(&space, Some(&carol)).0, Status::NotFound);
    let (status, body, _) = f.page(&space, Some(&bob));
    assert_eq!(status, Status::Ok);
    assert!(body.contains("Budget") && body.contains("Compter la caisse"));
    let csrf = enc(&carol.csrf);
    for (uri, form) in [
        (
            format!("/proposals/{p}/vote"),
            format!("csrf={csrf}&vote=for&back=%2Fcooperative"),
        ),
        (
            format!("/proposals/{p}/close"),
            format!("csrf={csrf}&back=%2Fcooperative"),
        ),
        (
            format!("/actions/{a}/status"),
            format!("csrf={csrf}&status=done&back=%2Fcooperative"),
        ),
        (format!("{space}/proposals"), format!("csrf={csrf}&title=x")),
        (format!("{space}/actions"), format!("csrf={csrf}&title=x")),
    ] {
        assert_eq!(f.form(&uri, &form, &carol).0, Status::NotFound, "{uri}");
    }
    assert_eq!(f.snapshot(), before);
}

#[test]
fn actions_have_member_assignees_who_change_their_status() {
    let f = fixture();
    let (alice, bob, carol, dave) = (f.person("Alice"), f.person("Bob"), f.person("Carol"), f.person("Dave"));
    let (org, _) = f.group(&alice, "Jardin partagé", false);
    f.member(&alice, &org, &bob);
    f.member(&alice, &org, &dave);
    let uri = format!("/api/v1/elements/{org}/actions");
    let before = f.snapshot();
    for (body, status, code) in [
        (
            json!({"title": "Arroser", "assignees": [carol.id]}),
            Status::UnprocessableEntity,
            "invalid",
        ),
        (
            json!({"title": "Arroser", "assignees": "bob"}),
            Status::UnprocessableEntity,
            "invalid",
        ),
        (
            json!({"title": "Arroser", "status": "later"}),
            Status::UnprocessableEntity,
            "invalid",
        ),
        (
            json!({"title": "Arroser", "due": "bientôt"}),
            Status::UnprocessableEntity,
            "invalid",
        ),
        (
            json!({"description": "sans titre"}),
            Status::UnprocessableEntity,
            "invalid",
        ),
    ] {
        assert_refused(&f, f.post(&uri, body, As::Bearer(&alice)), status, code, &before);
    }
    assert_refused(
        &f,
        f.post(&uri, json!({"title": "Arroser"}), As::Bearer(&carol)),
        Status::Forbidden,
        "forbidden",
        &before,
    );
    let (status, a) = f.post(
        &uri,
        json!({"title": "Arroser les tomates", "due": "2030-06-01", "assignees": [dave.id]}),
        As::Bearer(&bob),
    );
    assert_eq!(status, Status::Created, "{a}");
    assert_eq!(
        (&a["status"], &a["assignees"], &a["author"]),
        (&json!("todo"), &json!([dave.id]), &json!(bob.id))
    );
    let a = a["id"].as_str().unwrap().to_owned();
    let action = format!("/api/v1/actions/{a}");
    // Dave leaves the group: as assignee he may still change the status, nothing else.
    assert_eq!(
        f.call(
            Method::Delete,
            &format!("/api/v1/elements/{org}/members/{}", dave.id),
            None,
            As::Bearer(&dave)
        )
        .0,
        Status::NoContent
    );
    let (status, doing) = f.patch(&action, json!({"status": "doing"}), As::Bearer(&dave));
    assert_eq!(status, Status::Ok, "{doing}");
    assert_eq!(doing["status"], json!("doing"));
    let before = f.snapshot();
    assert_refused(
        &f,
        f.patch(&action, json!({"title": "Arroser un peu"}), As::Bearer(&dave)),
        Status::Forbidden,
        "forbidden",
        &before,
    );
    assert_refused(
        &f,
        f.patch(&action, json!({"status": "done"}), As::Bearer(&carol)),
        Status::Forbidden,
        "forbidden",
        &before,
    );
    assert_refused(
        &f,
        f.patch(&action, json!({}), As::Bearer(&bob)),
        Status::UnprocessableEntity,
        "invalid",
        &before,
    );
    // A member reassigns (to members only) and finishes it.
    assert_refused(
        &f,
        f.patch(&action, json!({"assignees": [carol.id]}), As::Bearer(&bob)),
        Status::UnprocessableEntity,
        "invalid",
        &before,
    );
    let (status, done) = f.patch(
        &action,
        json!({"status": "done", "assignees": [alice.id, bob.id], "due": null}),
        As::Bearer(&bob),
    );
    assert_eq!(status, Status::Ok, "{done}");
    assert_eq!(done["due"], Value::Null);
    assert_eq!(done["assignees"].as_array().unwrap().len(), 2);
    let (_, list) = f.get(&uri, As::Nobody);
    assert_eq!(list["items"][0]["status"], json!("done"));
}

#[test]
fn my_cooperative_space_in_the_api_and_the_page() {
    let f = fixture();
    let (alice, bob) = (f.person("Alice"), f.person("Bob"));
    let (org, slug) = f.group(&alice, "Jardin partagé", false);
    f.member(&alice, &org, &bob);
    let to_vote = f.propose(&org, &alice, json!({"title": "Composteur collectif"}));
    let voted = f.propose(&org, &alice, json!({"title": "Horaires d'été", "visibility": "closed"}));
    f.vote(&voted, "abstain", As::Bearer(&bob));
    let (_, a) = f.post(
        &format!("/api/v1/elements/{org}/actions"),
        json!({"title": "Tondre", "assignees": [bob.id]}),
        As::Bearer(&alice),
    );
    let a = a["id"].as_str().unwrap().to_owned();
    assert_eq!(f.get("/api/v1/me/cooperative", As::Nobody).0, Status::Unauthorized);
    let (status, mine) = f.get("/api/v1/me/cooperative", As::Bearer(&bob));
    assert_eq!(status, Status::Ok, "{mine}");
    assert_eq!(mine["toVote"][0]["id"], json!(to_vote));
    assert_eq!(mine["toVote"].as_array().unwrap().len(), 1);
    assert_eq!(
        (
            &mine["votes"][0]["id"],
            &mine["votes"][0]["myVote"],
            &mine["votes"][0]["results"]
        ),
        (&json!(voted), &json!("abstain"), &Value::Null)
    );
    assert_eq!(mine["actions"][0]["id"], json!(a));
    assert_eq!(mine["elements"][&org]["slug"], json!(slug));

    // The page: sign-in first.
    let (status, _, location) = f.page("/cooperative", None);
    assert_eq!(status, Status::SeeOther);
    assert_eq!(location.as_deref(), Some("/login?back=%2Fcooperative"));
    let (status, body, _) = f.page("/cooperative", Some(&bob));
    assert_eq!(status, Status::Ok);
    for text in [
        "Composteur collectif",
        "Horaires d'été",
        "Tondre",
        "<fieldset>",
        "<legend>",
    ] {
        assert!(body.contains(text), "{text} missing");
    }
    assert!(body.contains(&format!("action=\"/proposals/{to_vote}/vote\"")));
    assert!(body.contains(&format!("action=\"/actions/{a}/status\"")));

    // Forms: without the CSRF token, refused and nothing changes.
    let before = f.snapshot();
    for body in ["vote=for&back=%2Fcooperative", "csrf=nope&vote=for&back=%2Fcooperative"] {
        let (status, _) = f.form(&format!("/proposals/{to_vote}/vote"), body, &bob);
        assert_eq!(status, Status::Forbidden);
    }
    assert_eq!(
        f.form(&format!("/actions/{a}/status"), "status=done", &bob).0,
        Status::Forbidden
    );
    assert_eq!(
        f.form(&format!("/proposals/{to_vote}/close"), "back=%2F", &alice).0,
        Status::Forbidden
    );
    assert_eq!(
        f.form(
            &format!("/organization/{slug}/cooperative/proposals"),
            "title=x",
            &alice
        )
        .0,
        Status::Forbidden
    );
    assert_eq!(f.snapshot(), before);
    // A bad choice: a clear error, nothing changes.
    let csrf = enc(&bob.csrf);
    let (status, _) = f.form(
        &format!("/proposals/{to_vote}/vote"),
        &format!("csrf={csrf}&vote=peut-etre&back=%2Fcooperative"),
        &bob,
    );
    assert_eq!(status, Status::UnprocessableEntity);
    assert_eq!(f.snapshot(), before);
    // With it: the vote is cast and the page comes back.
    let (status, location) = f.form(
        &format!("/proposals/{to_vote}/vote"),
        &format!("csrf={csrf}&vote=for&back=%2Fcooperative"),
        &bob,
    );
    assert_eq!(status, Status::SeeOther);
    assert_eq!(location, Some(format!("/cooperative#p-{to_vote}")));
    let (_, shown) = f.get(&format!("/api/v1/proposals/{to_vote}"), As::Bearer(&bob));
    assert_eq!(shown["myVote"], json!("for"));
    let (status, _) = f.form(
        &format!("/actions/{a}/status"),
        &format!("csrf={csrf}&status=doing&back=%2Fcooperative"),
        &bob,
    );
    assert_eq!(status, Status::SeeOther);
    assert_eq!(
        f.get(&format!("/api/v1/actions/{a}"), As::Nobody).1["status"],
        json!("doing")
    );
    // A non-admin cannot close; the admin can, from the element's page.
    let before = f.snapshot();
    let (status, _) = f.form(
        &format!("/proposals/{to_vote}/close"),
        &format!("csrf={csrf}&back=%2Fcooperative"),
        &bob,
    );
    assert_eq!(status, Status::Forbidden);
    assert_eq!(f.snapshot(), before);
    let space = format!("/organization/{slug}/cooperative");
    let (_, page, _) = f.page(&space, Some(&alice));
    assert!(page.contains(&format!("action=\"/proposals/{to_vote}/close\"")));
    let (status, _) = f.form(
        &format!("/proposals/{to_vote}/close"),
        &format!("csrf={}&back={}", enc(&alice.csrf), enc(&space)),
        &alice,
    );
    assert_eq!(status, Status::SeeOther);
    assert_eq!(
        f.get(&format!("/api/v1/proposals/{to_vote}"), As::Nobody).1["status"],
        json!("closed")
    );
}

#[test]
fn the_element_page_proposes_and_adds_actions_by_form() {
    let f = fixture();
    let (alice, bob) = (f.person("Alice"), f.person("Bob"));
    let (org, slug) = f.group(&alice, "Jardin partagé", false);
    f.member(&alice, &org, &bob);
    let space = format!("/organization/{slug}/cooperative");
    // Visitors read a public space, without forms.
    let (status, body, _) = f.page(&space, None);
    assert_eq!(status, Status::Ok);
    assert!(!body.contains("name=\"csrf\""));
    let (_, body, _) = f.page(&space, Some(&bob));
    assert!(body.contains("name=\"title\"") && body.contains("type=\"datetime-local\""));
    assert!(body.contains("Bob") && body.contains("name=\"assignees\""));
    let csrf = enc(&bob.csrf);
    let before = f.snapshot();
    let (status, _) = f.form(
        &format!("{space}/proposals"),
        &format!("csrf={csrf}&title=Nouvelle+serre&deadline=1999-01-01T10%3A00&visibility=live"),
        &bob,
    );
    assert_eq!(status, Status::UnprocessableEntity, "a deadline already past");
    let (status, _) = f.form(
        &format!("{space}/proposals"),
        &format!("csrf={csrf}&title=x&deadline=soon"),
        &bob,
    );
    assert_eq!(status, Status::UnprocessableEntity);
    assert_eq!(f.snapshot(), before);
    let (status, location) = f.form(
        &format!("{space}/proposals"),
        &format!(
            "csrf={csrf}&title=Nouvelle+serre&description=Vitr%C3%A9e&deadline=2099-01-01T10%3A00&visibility=closed"
        ),
        &bob,
    );
    assert_eq!(status, Status::SeeOther);
    assert!(location.unwrap().starts_with(&format!("{space}#p-")));
    let (_, list) = f.get(&format!("/api/v1/elements/{org}/proposals"), As::Nobody);
    assert_eq!(
        (
            &list["items"][0]["title"],
            &list["items"][0]["visibility"],
            &list["items"][0]["results"]
        ),
        (&json!("Nouvelle serre"), &json!("closed"), &Value::Null)
    );
    let (status, _) = f.form(
        &format!("{space}/actions"),
        &format!(
            "csrf={csrf}&title=Monter+la+serre&due=2099-02-01&assignees={}&assignees={}",
            alice.id, bob.id
        ),
        &bob,
    );
    assert_eq!(status, Status::SeeOther);
    let (_, actions) = f.get(&format!("/api/v1/elements/{org}/actions"), As::Nobody);
    assert_eq!(actions["items"][0]["assignees"].as_array().unwrap().len(), 2);
    let (_, body, _) = f.page(&space, Some(&bob));
    assert!(body.contains("Nouvelle serre") && body.contains("Monter la serre"));
}

#[test]
fn the_module_turned_off_hides_every_route() {
    let f = fixture_with(Module::ALL.into_iter().filter(|m| *m != Module::Cooperative).collect());
    let alice = f.person("Alice");
    let (org, slug) = f.group(&alice, "Jardin partagé", false);
    let before = f.snapshot();
    assert_refused(
        &f,
        f.post(
            &format!("/api/v1/elements/{org}/proposals"),
            json!({"title": "x"}),
            As::Bearer(&alice),
        ),
        Status::NotFound,
        "not_found",
        &before,
    );
    assert_eq!(f.get("/api/v1/me/cooperative", As::Bearer(&alice)).0, Status::NotFound);
    assert_eq!(f.page("/cooperative", Some(&alice)).0, Status::NotFound);
    assert_eq!(
        f.page(&format!("/organization/{slug}/cooperative"), None).0,
        Status::NotFound
    );
}
