//! Citizens' core over HTTP, with Rocket's local client on a real store: persons registered
//! through `/api/v1/auth/register`, acting with their bearer tokens (and a session cookie).

use copi_sync::ChangeFeed;
use rocket::http::{Method, Status};
use serde_json::{json, Value};

use crate::api::test_hub::{hub as fixture, As, Person, TestHub as Fixture};
use crate::model::ElementId;

/// What these tests do on a hub beyond plain requests.
trait Citizens {
    /// An organisation made by `by`, public or private.
    fn group(&self, by: &Person, name: &str, private: bool) -> String;
    /// `who` joins `element` through an invitation `admin` makes.
    fn member(&self, admin: &Person, element: &str, who: &Person);
    fn post_on(&self, element: &str, by: &Person, text: &str, audience: &str) -> String;
    /// Everything the store holds (change log position, data, invitations), to prove a
    /// refused request changed nothing.
    fn snapshot(&self) -> (i64, Vec<u8>, usize);
    /// The texts of a list of posts at `uri` as `who` sees them, or the status.
    fn texts(&self, uri: &str, who: As<'_>) -> Result<Vec<String>, Status>;
}

impl Citizens for Fixture {
    /// An organisation made by `by`, public or private.
    fn group(&self, by: &Person, name: &str, private: bool) -> String {
        let (status, body) = self.post(
            "/api/v1/elements",
            json!({"kind": "organization", "name": name, "type": "NGO", "preferences": {"private": private}}),
            As::Bearer(by),
        );
        assert_eq!(status, Status::Created, "{body}");
        body["id"].as_str().unwrap().to_owned()
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

    fn post_on(&self, element: &str, by: &Person, text: &str, audience: &str) -> String {
        let (status, body) = self.post(
            &format!("/api/v1/elements/{element}/posts"),
            json!({"text": text, "audience": audience}),
            As::Bearer(by),
        );
        assert_eq!(status, Status::Created, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }

    /// Everything the store holds (change log position, data, invitations), to prove a
    /// refused request changed nothing.
    fn snapshot(&self) -> (i64, Vec<u8>, usize) {
        let mut out = Vec::new();
        crate::bundle::export(&self.store, &mut out).unwrap();
        let data = out.splitn(2, |b| *b == b'\n').nth(1).unwrap().to_vec();
        let invitations: usize = self
            .store
            .read(|c| Ok(c.query_row("SELECT count(*) FROM invitations", [], |r| r.get::<_, i64>(0))? as usize))
            .unwrap();
        (self.store.last_seq().unwrap().0, data, invitations)
    }

    /// The texts of a list of posts at `uri` as `who` sees them, or the status.
    fn texts(&self, uri: &str, who: As<'_>) -> Result<Vec<String>, Status> {
        let (status, body) = self.get(uri, who);
        if status != Status::Ok {
            return Err(status);
        }
        Ok(body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["text"].as_str().unwrap().to_owned())
            .collect())
    }
}

fn assert_refused(answer: (Status, Value), status: Status, code: &str) {
    assert_eq!(answer.0, status, "{}", answer.1);
    assert_eq!(answer.1["error"]["code"], json!(code), "{}", answer.1);
    assert!(answer.1["error"]["message"].is_string(), "{}", answer.1);
}

#[test]
fn persons_create_elements_and_administer_them() {
    let f = fixture();
    let (alice, bob) = (f.person("Alice"), f.person("Bob"));
    // A token that is no live one.
    let stale = Person {
        token: "A".repeat(43),
        ..f.person("Stale")
    };
    let (status, org) = f.post(
        "/api/v1/elements",
        json!({"kind": "organization", "name": "Jardin partagé", "type": "NGO", "creator": "someone-else"}),
        As::Bearer(&alice),
    );
    assert_eq!(status, Status::Created, "{org}");
    let id = org["id"].as_str().unwrap().to_owned();
    assert_eq!(org["creator"], json!(alice.id));
    assert_eq!(
        org["links"]["members"][&alice.id],
        json!({"isAdmin": true, "type": "citoyens"})
    );
    let (_, me) = f.get(&format!("/api/v1/elements/{}", alice.id), As::Nobody);
    assert_eq!(
        me["links"]["memberOf"][&id],
        json!({"isAdmin": true, "type": "organizations"})
    );
    // A project's creator is its admin contributor; an event's its admin attendee.
    let (_, project) = f.post(
        "/api/v1/elements",
        json!({"kind": "project", "name": "Potager"}),
        As::Bearer(&alice),
    );
    assert_eq!(project["links"]["contributors"][&alice.id]["isAdmin"], json!(true));
    // The session cookie works too, with its CSRF token only.
    let event = json!({"kind": "event", "name": "Fête", "type": "festival", "startDate": "2026-07-01 18:00"});
    assert_refused(
        f.post("/api/v1/elements", event.clone(), As::Cookie(&alice, false)),
        Status::Forbidden,
        "csrf",
    );
    let (status, created) = f.post("/api/v1/elements", event, As::Cookie(&alice, true));
    assert_eq!(status, Status::Created, "{created}");
    assert_eq!(created["links"]["attendees"][&alice.id]["isAdmin"], json!(true));

    let before = f.snapshot();
    assert_refused(
        f.post(
            "/api/v1/elements",
            json!({"kind": "person", "name": "Clone"}),
            As::Bearer(&alice),
        ),
        Status::Forbidden,
        "forbidden",
    );
    assert_refused(
        f.post("/api/v1/elements", json!({"kind": "project", "name": "X"}), As::Nobody),
        Status::Unauthorized,
        "unauthorized",
    );
    assert_refused(
        f.post(
            "/api/v1/elements",
            json!({"kind": "project", "name": "X"}),
            As::Bearer(&stale),
        ),
        Status::Unauthorized,
        "unauthorized",
    );
    assert_refused(
        f.post(
            "/api/v1/elements",
            json!({"kind": "project", "name": ""}),
            As::Bearer(&alice),
        ),
        Status::UnprocessableEntity,
        "invalid",
    );
    assert_refused(
        f.post(
            "/api/v1/elements",
            json!({"kind": "project", "name": "Sub", "parentId": id}),
            As::Bearer(&bob),
        ),
        Status::Forbidden,
        "forbidden",
    );
    assert_refused(
        f.call(
            Method::Patch,
            &format!("/api/v1/elements/{id}"),
            Some(json!({"name": "Mine"})),
            As::Bearer(&bob),
        ),
        Status::Forbidden,
        "forbidden",
    );
    assert_refused(
        f.call(
            Method::Delete,
            &format!("/api/v1/elements/{id}"),
            None,
            As::Bearer(&bob),
        ),
        Status::Forbidden,
        "forbidden",
    );
    assert_refused(
        f.call(
            Method::Patch,
            &format!("/api/v1/elements/{id}"),
            Some(json!({"creator": bob.id})),
            As::Bearer(&alice),
        ),
        Status::UnprocessableEntity,
        "invalid",
    );
    assert_eq!(f.snapshot(), before, "refusals change nothing");

    // The admin token keeps its own path.
    let (status, by_admin) = f.post(
        "/api/v1/elements",
        json!({"kind": "project", "name": "Du hub"}),
        As::Admin,
    );
    assert_eq!(status, Status::Created, "{by_admin}");
    assert!(by_admin.get("creator").is_none());
    // The element's admin edits and deletes it.
    let (status, patched) = f.call(
        Method::Patch,
        &format!("/api/v1/elements/{id}"),
        Some(json!({"shortDescription": "Potagers"})),
        As::Bearer(&alice),
    );
    assert_eq!((status, &patched["shortDescription"]), (Status::Ok, &json!("Potagers")));
    let (status, sub) = f.post(
        "/api/v1/elements",
        json!({"kind": "project", "name": "Sub", "parentId": id}),
        As::Bearer(&alice),
    );
    assert_eq!(status, Status::Created, "{sub}");
    assert_eq!(
        f.delete(&format!("/api/v1/elements/{id}"), As::Bearer(&alice)),
        Status::NoContent
    );
    assert_eq!(f.get(&format!("/api/v1/elements/{id}"), As::Nobody).0, Status::NotFound);
    let (_, me) = f.get(&format!("/api/v1/elements/{}", alice.id), As::Bearer(&alice));
    assert!(me["links"]["memberOf"].get(&id).is_none(), "{me}");
}

#[test]
fn invitations_join_requests_and_roles() {
    let f = fixture();
    let [alice, bob, carol, dave] = ["Alice", "Bob", "Carol", "Dave"].map(|n| f.person(n));
    let org = f.group(&alice, "Jardin", false);
    let members = format!("/api/v1/elements/{org}/members");
    let invitations = format!("/api/v1/elements/{org}/invitations");

    let (status, inv) = f.post(
        &invitations,
        json!({"roles": ["organizer"], "days": 7}),
        As::Bearer(&alice),
    );
    assert_eq!(status, Status::Created, "{inv}");
    let code = inv["code"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 12);
    assert_eq!(inv["url"], json!(format!("/join/{code}")));
    assert_eq!(
        (&inv["roles"], &inv["maxUses"], &inv["uses"]),
        (&json!(["organizer"]), &json!(1), &json!(0))
    );

    let before = f.snapshot();
    assert_refused(
        f.post(&invitations, json!({}), As::Bearer(&bob)),
        Status::Forbidden,
        "forbidden",
    );
    assert_refused(
        f.post(&invitations, json!({}), As::Nobody),
        Status::Unauthorized,
        "unauthorized",
    );
    assert_refused(
        f.post(&invitations, json!({"roles": "organizer"}), As::Bearer(&alice)),
        Status::UnprocessableEntity,
        "invalid",
    );
    assert_refused(
        f.post(&invitations, json!({"uses": 0}), As::Bearer(&alice)),
        Status::UnprocessableEntity,
        "invalid",
    );
    assert_refused(
        f.post(&invitations, json!({"colour": "red"}), As::Bearer(&alice)),
        Status::UnprocessableEntity,
        "invalid",
    );
    assert_refused(f.get(&invitations, As::Bearer(&bob)), Status::Forbidden, "forbidden");
    assert_refused(
        f.post("/api/v1/join/nosuchcode", json!({}), As::Bearer(&bob)),
        Status::NotFound,
        "not_found",
    );
    assert_refused(
        f.post(&format!("/api/v1/join/{code}"), json!({}), As::Nobody),
        Status::Unauthorized,
        "unauthorized",
    );
    assert_refused(
        f.post(
            &format!("/api/v1/elements/{}/invitations", alice.id),
            json!({}),
            As::Bearer(&alice),
        ),
        Status::BadRequest,
        "bad_request",
    );
    assert_eq!(f.snapshot(), before, "refusals change nothing");

    let (status, shown) = f.get(&format!("/api/v1/join/{code}"), As::Nobody);
    assert_eq!(status, Status::Ok, "{shown}");
    assert_eq!(
        (&shown["element"]["name"], &shown["usable"]),
        (&json!("Jardin"), &json!(true))
    );
    assert!(
        shown.get("email").is_none() && shown.get("createdBy").is_none(),
        "{shown}"
    );
    // A code as typed on a phone (capitals) works once.
    let (status, joined) = f.post(
        &format!("/api/v1/join/{}", code.to_uppercase()),
        json!({}),
        As::Bearer(&bob),
    );
    assert_eq!(status, Status::Ok, "{joined}");
    assert_eq!(
        (&joined["membership"], &joined["roles"]),
        (&json!("member"), &json!(["organizer"]))
    );
    assert_refused(
        f.post(&format!("/api/v1/join/{code}"), json!({}), As::Bearer(&carol)),
        Status::Conflict,
        "conflict",
    );
    let (_, list) = f.get(&invitations, As::Bearer(&alice));
    assert_eq!(list["items"][0]["uses"], json!(1));
    assert_eq!(
        f.get(&format!("/api/v1/join/{code}"), As::Nobody).1["usable"],
        json!(false)
    );
    assert_eq!(f.get("/api/v1/join/unknowncode", As::Nobody).0, Status::NotFound);
    let (_, e) = f.get(&format!("/api/v1/elements/{org}"), As::Nobody);
    assert_eq!(
        e["links"]["members"][&bob.id],
        json!({"roles": ["organizer"], "type": "citoyens"})
    );

    // Join requests: pending until an admin answers.
    let (status, asked) = f.post(&format!("/api/v1/elements/{org}/join"), json!({}), As::Bearer(&carol));
    assert_eq!((status, &asked["membership"]), (Status::Ok, &json!("pending")));
    let (_, e) = f.get(&format!("/api/v1/elements/{org}"), As::Nobody);
    assert_eq!(e["links"]["members"][&carol.id]["toBeValidated"], json!(true));
    f.post(&format!("/api/v1/elements/{org}/join"), json!({}), As::Bearer(&dave));
    let before = f.snapshot();
    let carol_uri = format!("{members}/{}", carol.id);
    assert_refused(
        f.post(&carol_uri, json!({"accept": true}), As::Bearer(&bob)),
        Status::Forbidden,
        "forbidden",
    );
    assert_refused(
        f.post(&carol_uri, json!({}), As::Bearer(&alice)),
        Status::UnprocessableEntity,
        "invalid",
    );
    assert_refused(
        f.post(&carol_uri, json!({"roles": [""]}), As::Bearer(&alice)),
        Status::UnprocessableEntity,
        "invalid",
    );
    assert_refused(
        f.post(&carol_uri, json!({"isAdmin": true}), As::Bearer(&alice)),
        Status::Conflict,
        "conflict",
    );
    assert_refused(
        f.post(
            &format!("{members}/{}", alice.id),
            json!({"refuse": true}),
            As::Bearer(&alice),
        ),
        Status::Conflict,
        "conflict",
    );
    assert_refused(
        f.post(
            &format!("{members}/5b0f00000000000000000099"),
            json!({"accept": true}),
            As::Bearer(&alice),
        ),
        Status::NotFound,
        "not_found",
    );
    assert_eq!(f.snapshot(), before, "refusals change nothing");
    let (status, accepted) = f.post(
        &carol_uri,
        json!({"accept": true, "roles": ["partner", "Trésorière"]}),
        As::Bearer(&alice),
    );
    assert_eq!(status, Status::Ok, "{accepted}");
    assert_eq!(
        (&accepted["membership"], &accepted["roles"]),
        (&json!("member"), &json!(["partner", "Trésorière"]))
    );
    let (_, carol_doc) = f.get(&format!("/api/v1/elements/{}", carol.id), As::Nobody);
    assert_eq!(
        carol_doc["links"]["memberOf"][&org],
        json!({"roles": ["partner", "Trésorière"], "type": "organizations"})
    );
    let (status, refused) = f.post(
        &format!("{members}/{}", dave.id),
        json!({"refuse": true}),
        As::Bearer(&alice),
    );
    assert_eq!((status, &refused["membership"]), (Status::Ok, &json!("none")));
    let (_, e) = f.get(&format!("/api/v1/elements/{org}"), As::Nobody);
    assert!(e["links"]["members"].get(&dave.id).is_none(), "{e}");

    // Admins make admins; the last admin stays.
    let (_, made) = f.post(
        &format!("{members}/{}", bob.id),
        json!({"isAdmin": true}),
        As::Bearer(&alice),
    );
    assert_eq!(made["membership"], json!("admin"));
    assert_eq!(f.delete(&carol_uri, As::Bearer(&dave)), Status::Forbidden);
    assert_eq!(f.delete(&carol_uri, As::Bearer(&bob)), Status::NoContent);
    assert_eq!(
        f.delete(&format!("{members}/{}", alice.id), As::Bearer(&alice)),
        Status::NoContent
    );
    assert_refused(
        f.call(Method::Delete, &format!("{members}/{}", bob.id), None, As::Bearer(&bob)),
        Status::Conflict,
        "conflict",
    );
    // Alice is no admin any more.
    assert_refused(
        f.post(&invitations, json!({}), As::Bearer(&alice)),
        Status::Forbidden,
        "forbidden",
    );
}

#[test]
fn audiences_by_reader_on_journals_the_feed_and_live() {
    let f = fixture();
    let [alice, bob, carol, dave] = ["Alice", "Bob", "Carol", "Dave"].map(|n| f.person(n));
    let org = f.group(&alice, "Jardin", false);
    f.member(&alice, &org, &bob);
    let (status, followed) = f.post(&format!("/api/v1/elements/{org}/follow"), json!({}), As::Bearer(&carol));
    assert_eq!((status, &followed["following"]), (Status::Ok, &json!(true)));
    let (_, e) = f.get(&format!("/api/v1/elements/{org}"), As::Nobody);
    assert_eq!(e["links"]["followers"][&carol.id], json!({"type": "citoyens"}));

    let mut ids = std::collections::HashMap::new();
    for audience in ["public", "members", "followers", "private"] {
        ids.insert(audience, f.post_on(&org, &alice, audience, audience));
    }
    ids.insert("bob's", f.post_on(&org, &bob, "bob's", "private"));

    let journal = format!("/api/v1/elements/{org}/posts");
    let everything = ["bob's", "private", "followers", "members", "public"];
    let cases: [(&str, As<'_>, &[&str]); 6] = [
        ("anonymous", As::Nobody, &["public"]),
        ("another citizen", As::Bearer(&dave), &["public"]),
        ("follower", As::Bearer(&carol), &["followers", "public"]),
        ("member", As::Bearer(&bob), &["bob's", "followers", "members", "public"]),
        ("element admin", As::Bearer(&alice), &everything),
        ("hub admin", As::Admin, &everything),
    ];
    for (who, reader, expected) in cases {
        assert_eq!(f.texts(&journal, reader).unwrap(), expected, "journal as {who}");
        for (text, id) in &ids {
            let (status, post) = f.get(&format!("/api/v1/posts/{id}"), reader);
            let visible = expected.contains(text);
            assert_eq!(
                status,
                if visible { Status::Ok } else { Status::NotFound },
                "{text} as {who}: {post}"
            );
        }
        // The live feed is the public one, for everybody.
        assert_eq!(f.texts("/api/v1/live", reader).unwrap(), ["public"], "live as {who}");
    }
    let (_, one) = f.get(&format!("/api/v1/posts/{}", ids["members"]), As::Bearer(&bob));
    assert_eq!(
        (&one["audience"], &one["scope"]["type"], &one["target"], &one["author"]),
        (
            &json!("members"),
            &json!("restricted"),
            &json!({"id": org, "type": "organizations"}),
            &json!(alice.id)
        )
    );
    // Pages of the journal.
    let (_, first) = f.get(&format!("{journal}?limit=2"), As::Bearer(&alice));
    let next = first["next"].as_str().unwrap();
    assert_eq!(
        f.texts(&format!("{journal}?limit=2&cursor={next}"), As::Bearer(&alice))
            .unwrap(),
        ["followers", "members"]
    );
    assert_refused(
        f.get(&format!("{journal}?cursor=zz"), As::Nobody),
        Status::BadRequest,
        "bad_request",
    );

    // The home feed: what one follows or belongs to, as one may see it.
    assert_eq!(
        f.texts("/api/v1/me/feed", As::Bearer(&carol)).unwrap(),
        ["followers", "public"]
    );
    assert_eq!(
        f.texts("/api/v1/me/feed", As::Bearer(&bob)).unwrap(),
        ["bob's", "followers", "members", "public"]
    );
    assert_eq!(
        f.texts("/api/v1/me/feed", As::Bearer(&dave)).unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(f.texts("/api/v1/me/feed", As::Nobody), Err(Status::Unauthorized));
    let (_, feed) = f.get("/api/v1/me/feed", As::Bearer(&carol));
    assert_eq!(feed["items"][0]["element"]["id"], json!(org));
    // One's own journal is one's to post on, and in one's feed.
    f.post_on(&dave.id, &dave, "dave's own", "followers");
    assert_eq!(f.texts("/api/v1/me/feed", As::Bearer(&dave)).unwrap(), ["dave's own"]);
    assert_eq!(
        f.texts(&format!("/api/v1/elements/{}/posts", dave.id), As::Bearer(&carol))
            .unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(
        f.delete(&format!("/api/v1/elements/{org}/follow"), As::Bearer(&carol)),
        Status::NoContent
    );
    assert_eq!(
        f.texts("/api/v1/me/feed", As::Bearer(&carol)).unwrap(),
        Vec::<String>::new()
    );

    // Refusals.
    let before = f.snapshot();
    assert_refused(
        f.post(&journal, json!({"text": "hi"}), As::Bearer(&carol)),
        Status::Forbidden,
        "forbidden",
    );
    assert_refused(
        f.post(&journal, json!({"text": "hi"}), As::Nobody),
        Status::Unauthorized,
        "unauthorized",
    );
    assert_refused(
        f.post(&journal, json!({"text": "hi"}), As::Admin),
        Status::Unauthorized,
        "unauthorized",
    );
    assert_refused(
        f.post(
            &format!("/api/v1/elements/{}/posts", alice.id),
            json!({"text": "hi"}),
            As::Bearer(&dave),
        ),
        Status::Forbidden,
        "forbidden",
    );
    assert_refused(
        f.post(&journal, json!({"text": "  "}), As::Bearer(&bob)),
        Status::UnprocessableEntity,
        "invalid",
    );
    assert_refused(
        f.post(&journal, json!({"text": "hi", "audience": "friends"}), As::Bearer(&bob)),
        Status::UnprocessableEntity,
        "invalid",
    );
    assert_refused(
        f.call(Method::Post, &journal, None, As::Bearer(&bob)),
        Status::BadRequest,
        "bad_request",
    );
    assert_refused(
        f.post(
            &format!("/api/v1/elements/{}/follow", carol.id),
            json!({}),
            As::Bearer(&carol),
        ),
        Status::BadRequest,
        "bad_request",
    );
    let patch = |id: &str, body: Value, who| f.call(Method::Patch, &format!("/api/v1/posts/{id}"), Some(body), who);
    assert_refused(
        patch(&ids["public"], json!({"text": "mine"}), As::Bearer(&bob)),
        Status::Forbidden,
        "forbidden",
    );
    assert_refused(
        patch(&ids["members"], json!({"text": "mine"}), As::Bearer(&carol)),
        Status::NotFound,
        "not_found",
    );
    assert_refused(
        patch(&ids["public"], json!({"author": bob.id}), As::Bearer(&alice)),
        Status::UnprocessableEntity,
        "invalid",
    );
    assert_refused(
        patch(&ids["public"], json!({}), As::Bearer(&alice)),
        Status::UnprocessableEntity,
        "invalid",
    );
    assert_eq!(
        f.delete(&format!("/api/v1/posts/{}", ids["public"]), As::Bearer(&bob)),
        Status::Forbidden
    );
    assert_eq!(
        f.delete(&format!("/api/v1/posts/{}", ids["private"]), As::Bearer(&bob)),
        Status::NotFound
    );
    assert_eq!(
        f.delete(&format!("/api/v1/posts/{}", ids["public"]), As::Nobody),
        Status::Unauthorized
    );
    assert_eq!(f.snapshot(), before, "refusals change nothing");

    // Edits: the author, and the element's admin on anyone's post.
    let (status, edited) = patch(
        &ids["public"],
        json!({"text": "public, edited", "audience": "members"}),
        As::Bearer(&alice),
    );
    assert_eq!(status, Status::Ok, "{edited}");
    assert_eq!(
        (&edited["audience"], &edited["text"]),
        (&json!("members"), &json!("public, edited"))
    );
    assert!(edited["updated"].is_i64());
    assert_eq!(f.texts(&journal, As::Nobody).unwrap(), Vec::<String>::new());
    assert_eq!(f.texts("/api/v1/live", As::Nobody).unwrap(), Vec::<String>::new());
    let (status, _) = patch(&ids["bob's"], json!({"audience": "public"}), As::Bearer(&alice));
    assert_eq!(status, Status::Ok);
    assert_eq!(f.texts(&journal, As::Nobody).unwrap(), ["bob's"]);
    // Deletions: the author, the hub's admin.
    assert_eq!(
        f.delete(&format!("/api/v1/posts/{}", ids["bob's"]), As::Bearer(&bob)),
        Status::NoContent
    );
    assert_eq!(
        f.delete(&format!("/api/v1/posts/{}", ids["private"]), As::Admin),
        Status::NoContent
    );
    assert_eq!(
        f.get(&format!("/api/v1/posts/{}", ids["private"]), As::Admin).0,
        Status::NotFound
    );
    assert_eq!(
        f.texts(&journal, As::Bearer(&alice)).unwrap(),
        ["followers", "members", "public, edited"]
    );
}

#[test]
fn comments_follow_their_post_and_go_one_level_deep() {
    let f = fixture();
    let [alice, bob, carol, dave] = ["Alice", "Bob", "Carol", "Dave"].map(|n| f.person(n));
    let org = f.group(&alice, "Jardin", false);
    f.member(&alice, &org, &bob);
    f.post(&format!("/api/v1/elements/{org}/follow"), json!({}), As::Bearer(&carol));
    let post = f.post_on(&org, &alice, "members only", "members");
    let on_post = format!("/api/v1/posts/{post}/comments");

    let (status, top) = f.post(&on_post, json!({"text": "top"}), As::Bearer(&bob));
    assert_eq!(status, Status::Created, "{top}");
    let top_id = top["id"].as_str().unwrap().to_owned();
    assert_eq!(
        (
            &top["contextId"],
            &top["contextType"],
            &top["parentId"],
            &top["author"],
            &top["status"]
        ),
        (
            &json!(post),
            &json!("news"),
            &json!(""),
            &json!(bob.id),
            &json!("posted")
        )
    );
    let (status, reply) = f.post(
        &on_post,
        json!({"text": "reply", "parentId": top_id}),
        As::Bearer(&alice),
    );
    assert_eq!(status, Status::Created, "{reply}");
    let reply_id = reply["id"].as_str().unwrap().to_owned();

    let before = f.snapshot();
    assert_refused(
        f.post(
            &on_post,
            json!({"text": "deeper", "parentId": reply_id}),
            As::Bearer(&bob),
        ),
        Status::UnprocessableEntity,
        "invalid",
    );
    // A comment on a members-only post is members-only.
    assert_refused(
        f.post(&on_post, json!({"text": "hi"}), As::Bearer(&carol)),
        Status::NotFound,
        "not_found",
    );
    assert_refused(f.get(&on_post, As::Bearer(&carol)), Status::NotFound, "not_found");
    assert_refused(f.get(&on_post, As::Nobody), Status::NotFound, "not_found");
    assert_refused(
        f.post(&on_post, json!({"text": "hi"}), As::Nobody),
        Status::Unauthorized,
        "unauthorized",
    );
    assert_refused(
        f.post(&on_post, json!({"text": ""}), As::Bearer(&bob)),
        Status::UnprocessableEntity,
        "invalid",
    );
    assert_refused(
        f.call(
            Method::Patch,
            &format!("/api/v1/comments/{top_id}"),
            Some(json!({"text": "x"})),
            As::Bearer(&carol),
        ),
        Status::NotFound,
        "not_found",
    );
    assert_eq!(
        f.delete(&format!("/api/v1/comments/{top_id}"), As::Bearer(&dave)),
        Status::NotFound
    );
    assert_eq!(f.snapshot(), before, "refusals change nothing");

    let (status, list) = f.get(&on_post, As::Bearer(&bob));
    assert_eq!(status, Status::Ok);
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["items"][0]["text"], json!("top"));
    assert_eq!(list["items"][0]["replies"][0]["text"], json!("reply"));

    // Comments on an element, by anyone who sees it.
    let on_org = format!("/api/v1/elements/{org}/comments");
    let (status, by_dave) = f.post(&on_org, json!({"text": "Bravo"}), As::Bearer(&dave));
    assert_eq!(status, Status::Created, "{by_dave}");
    let dave_id = by_dave["id"].as_str().unwrap().to_owned();
    assert_eq!(by_dave["contextType"], json!("organizations"));
    assert_refused(
        f.post(
            &on_org,
            json!({"text": "wrong thread", "parentId": top_id}),
            As::Bearer(&dave),
        ),
        Status::UnprocessableEntity,
        "invalid",
    );
    let (_, list) = f.get(&on_org, As::Nobody);
    assert_eq!(list["items"][0]["text"], json!("Bravo"));
    let edit = |who| {
        f.call(
            Method::Patch,
            &format!("/api/v1/comments/{dave_id}"),
            Some(json!({"text": "Bravo !"})),
            who,
        )
    };
    assert_refused(edit(As::Bearer(&bob)), Status::Forbidden, "forbidden");
    let (status, edited) = edit(As::Bearer(&dave));
    assert_eq!((status, &edited["text"]), (Status::Ok, &json!("Bravo !")));
    assert_eq!(
        f.delete(&format!("/api/v1/comments/{dave_id}"), As::Bearer(&alice)),
        Status::NoContent
    );

    // Deleting a comment takes its replies; deleting a post takes its comments.
    let (_, second) = f.post(&on_post, json!({"text": "second"}), As::Bearer(&bob));
    assert_eq!(
        f.delete(&format!("/api/v1/comments/{top_id}"), As::Bearer(&bob)),
        Status::NoContent
    );
    let (_, list) = f.get(&on_post, As::Bearer(&alice));
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["items"][0]["id"], second["id"]);
    assert_eq!(f.get(&format!("/api/v1/posts/{post}"), As::Bearer(&bob)).0, Status::Ok);
    assert_eq!(
        f.delete(&format!("/api/v1/posts/{post}"), As::Bearer(&alice)),
        Status::NoContent
    );
    assert_eq!(f.get(&on_post, As::Admin).0, Status::NotFound);
    let left: i64 = f
        .store
        .read(|c| Ok(c.query_row("SELECT count(*) FROM records WHERE kind = 'comments'", [], |r| r.get(0))?))
        .unwrap();
    assert_eq!(left, 0);
}

#[test]
fn private_elements_show_to_their_members_only() {
    let f = fixture();
    let [alice, bob, dave] = ["Alice", "Bob", "Dave"].map(|n| f.person(n));
    let secret = f.group(&alice, "Cercle", true);
    let uri = format!("/api/v1/elements/{secret}");
    let post = f.post_on(&secret, &alice, "for the circle", "public");

    let before = f.snapshot();
    for reader in [As::Nobody, As::Bearer(&bob), As::Bearer(&dave)] {
        assert_refused(f.get(&uri, reader), Status::NotFound, "not_found");
        assert_refused(f.get(&format!("{uri}/posts"), reader), Status::NotFound, "not_found");
        assert_refused(f.get(&format!("{uri}/comments"), reader), Status::NotFound, "not_found");
        assert_refused(
            f.get(&format!("/api/v1/posts/{post}"), reader),
            Status::NotFound,
            "not_found",
        );
    }
    for path in ["join", "follow", "invitations", "comments", "posts"] {
        assert_refused(
            f.post(&format!("{uri}/{path}"), json!({"text": "hello"}), As::Bearer(&dave)),
            Status::NotFound,
            "not_found",
        );
    }
    assert_eq!(
        f.delete(&format!("{uri}/members/{}", dave.id), As::Bearer(&dave)),
        Status::NotFound
    );
    assert_refused(
        f.call(Method::Patch, &uri, Some(json!({"name": "Mine"})), As::Bearer(&dave)),
        Status::NotFound,
        "not_found",
    );
    assert_eq!(f.snapshot(), before, "refusals change nothing");

    assert_eq!(f.get(&uri, As::Admin).0, Status::Ok);
    assert_eq!(f.get(&uri, As::Bearer(&alice)).0, Status::Ok);
    f.member(&alice, &secret, &bob);
    let (status, seen) = f.get(&uri, As::Bearer(&bob));
    assert_eq!((status, &seen["name"]), (Status::Ok, &json!("Cercle")));
    assert_eq!(
        f.texts(&format!("{uri}/posts"), As::Bearer(&bob)).unwrap(),
        ["for the circle"]
    );
    assert_eq!(
        f.texts("/api/v1/me/feed", As::Bearer(&bob)).unwrap(),
        ["for the circle"]
    );
    assert_eq!(f.texts("/api/v1/live", As::Bearer(&bob)).unwrap(), Vec::<String>::new());
    assert_eq!(f.get(&uri, As::Bearer(&dave)).0, Status::NotFound);
    // Search lets a member find it once the search route uses `search_viewer`.
    let viewer = super::search_viewer(&f.store.reader_for(&ElementId::parse(&bob.id).unwrap()).unwrap());
    assert_eq!((viewer.all, viewer.ids), (false, vec![bob.id.clone()]));
}
