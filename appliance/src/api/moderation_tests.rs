//! Moderation over HTTP, with Rocket's local client on a real store: reports, the admin's
//! actions, and every surface a hidden or pending element must vanish from.

use std::cell::Cell;
use std::net::SocketAddr;
use std::sync::Arc;

use copi_sync::ChangeFeed;
use rocket::http::{ContentType, Header, Method, Status};
use rocket::local::blocking::Client;
use serde_json::{json, Value};

use crate::api::{rocket, Hub};
use crate::config::Config;
use crate::store::Store;

const ADMIN: &str = "moderation-admin-token-0123456789";
/// Markers no other text of the fixture contains.
const NAME: &str = "Zorglub Festival";
const POST: &str = "Message Xyzzyq";

struct Fixture {
    client: Client,
    store: Arc<Store>,
    _dir: tempfile::TempDir,
    next_ip: Cell<u8>,
}

struct Person {
    id: String,
    slug: String,
    token: String,
}

#[derive(Clone, Copy)]
enum As<'a> {
    Nobody,
    Admin,
    Bearer(&'a Person),
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        data: dir.path().to_owned(),
        admin_token: Some(ADMIN.into()),
        ..Config::default()
    };
    let hub = Hub::open(config).unwrap();
    let store = hub.store.clone();
    Fixture {
        client: Client::untracked(rocket(hub)).unwrap(),
        store,
        _dir: dir,
        next_ip: Cell::new(1),
    }
}

impl Fixture {
    /// A request with a raw body (JSON content type unless `content_type` says otherwise),
    /// from `remote` when given. Returns the status, the `Retry-After` header and the body.
    fn raw(
        &self,
        method: Method,
        uri: &str,
        body: Option<(&str, ContentType)>,
        who: As<'_>,
        remote: Option<SocketAddr>,
    ) -> (Status, Option<String>, String) {
        let mut req = self.client.req(method, uri.to_owned());
        if let Some((b, ct)) = body {
            req = req.header(ct).body(b);
        }
        if let Some(addr) = remote {
            req = req.remote(addr);
        }
        req = match who {
            As::Nobody => req,
            As::Admin => req.header(Header::new("Authorization", format!("Bearer {ADMIN}"))),
            As::Bearer(p) => req.header(Header::new("Authorization", format!("Bearer {}", p.token))),
        };
        let r = req.dispatch();
        let status = r.status();
        let retry = r.headers().get_one("Retry-After").map(str::to_owned);
        (status, retry, r.into_string().unwrap_or_default())
    }

    fn get_text(&self, uri: &str, who: As<'_>) -> (Status, String) {
        let (s, _, b) = self.raw(Method::Get, uri, None, who, None);
        (s, b)
    }

    fn get(&self, uri: &str, who: As<'_>) -> (Status, Value) {
        let (s, b) = self.get_text(uri, who);
        (s, serde_json::from_str(&b).unwrap_or(Value::Null))
    }

    fn post(&self, uri: &str, body: Value, who: As<'_>) -> (Status, Value) {
        let text = body.to_string();
        let (s, _, b) = self.raw(Method::Post, uri, Some((&text, ContentType::JSON)), who, None);
        (s, serde_json::from_str(&b).unwrap_or(Value::Null))
    }

    fn person(&self, name: &str) -> Person {
        let n = self.next_ip.get();
        self.next_ip.set(n + 1);
        let body = json!({"name": name, "email": format!("{}@example.org", name.to_lowercase()), "password": "correct horse battery"});
        let (status, _, text) = self.raw(
            Method::Post,
            "/api/v1/auth/register",
            Some((&body.to_string(), ContentType::JSON)),
            As::Nobody,
            Some(SocketAddr::from(([10, 0, 2, n], 40000))),
        );
        assert_eq!(status, Status::Created, "{text}");
        let body: Value = serde_json::from_str(&text).unwrap();
        Person {
            id: body["person"]["id"].as_str().unwrap().to_owned(),
            slug: body["person"]["slug"].as_str().unwrap().to_owned(),
            token: body["token"].as_str().unwrap().to_owned(),
        }
    }

    fn seq(&self) -> i64 {
        self.store.last_seq().unwrap().0
    }
}

fn tomorrow() -> String {
    let t = jiff::Timestamp::now().as_second() + 26 * 3600;
    jiff::Timestamp::from_second(t).unwrap().to_string()
}

/// An event in Crest by `by` with a public post on its journal; returns (id, slug, post id).
fn event(f: &Fixture, by: &Person) -> (String, String, String) {
    let (status, e) = f.post(
        "/api/v1/elements",
        json!({"kind": "event", "name": NAME, "type": "festival", "startDate": tomorrow(),
               "geo": {"latitude": "44.7281", "longitude": "5.0222"},
               "address": {"postalCode": "26400", "addressLocality": "Crest", "codeInsee": "26108"}}),
        As::Bearer(by),
    );
    assert_eq!(status, Status::Created, "{e}");
    let id = e["id"].as_str().unwrap().to_owned();
    let (status, p) = f.post(
        &format!("/api/v1/elements/{id}/posts"),
        json!({"text": POST, "audience": "public"}),
        As::Bearer(by),
    );
    assert_eq!(status, Status::Created, "{p}");
    (
        id,
        e["slug"].as_str().unwrap().to_owned(),
        p["id"].as_str().unwrap().to_owned(),
    )
}

/// The surfaces on which the element (or its post) shows to `who`.
fn surfaces(f: &Fixture, who: As<'_>, id: &str, slug: &str, creator: &Person) -> Vec<&'static str> {
    let mut seen = Vec::new();
    let mut check = |name: &'static str, shows: bool| {
        if shows {
            seen.push(name);
        }
    };
    let has = |uri: &str, needle: &str| {
        let (status, body) = f.get_text(uri, who);
        status == Status::Ok && body.contains(needle)
    };
    // Ids of the items (another element's links name it, as they name a private one).
    let (_, list) = f.get("/api/v1/elements?limit=200", who);
    check(
        "list",
        list["items"]
            .as_array()
            .is_some_and(|items| items.iter().any(|e| e["id"] == id)),
    );
    check("by id", f.get(&format!("/api/v1/elements/{id}"), who).0 == Status::Ok);
    check(
        "export",
        f.get(&format!("/api/v1/elements/{id}/export"), who).0 == Status::Ok,
    );
    check("journal", has(&format!("/api/v1/elements/{id}/posts"), POST));
    let (_, search) = f.get("/api/v1/search?q=zorglub", who);
    check("search", search["items"].to_string().contains(id));
    check("search total", search["total"].as_u64().unwrap_or(0) > 0);
    check("facets", search["facets"]["kind"]["event"].as_u64().unwrap_or(0) > 0);
    check("suggest", has("/api/v1/search/suggest?q=zorgl", id));
    check("map", has("/api/v1/map.geojson", id));
    check("api agenda", has("/api/v1/agenda", id));
    check("ics", has("/agenda.ics", "Zorglub"));
    check("api live", has("/api/v1/live", POST));
    check("atom", has("/live.atom", POST));
    check("status", {
        let (_, status) = f.get("/api/v1/status", who);
        status.to_string().contains("\"event\":1")
    });
    check("home", has("/", NAME));
    check("agenda page", has("/agenda", NAME));
    check("directory", has("/directory?kind=event", NAME));
    check("live page", has("/live", POST));
    check("page", f.get_text(&format!("/event/{slug}"), who).0 == Status::Ok);
    check("search page", has("/search?q=zorglub", NAME));
    check("creator page", has(&format!("/person/{}", creator.slug), NAME));
    check("graph", has(&format!("/person/{}/graph", creator.slug), NAME));
    seen
}

const EVERYWHERE: &[&str] = &[
    "list",
    "by id",
    "export",
    "journal",
    "search",
    "search total",
    "facets",
    "suggest",
    "map",
    "api agenda",
    "ics",
    "api live",
    "atom",
    "status",
    "home",
    "agenda page",
    "directory",
    "live page",
    "page",
    "search page",
    "creator page",
    "graph",
];

/// What the hub's admin still sees of a hidden element: everything but its creator's page
/// and graph (made of linked elements, which leave moderated elements out for everyone).
const ADMIN_SEES: &[&str] = &[
    "list",
    "by id",
    "export",
    "journal",
    "search",
    "search total",
    "facets",
    "suggest",
    "map",
    "api agenda",
    "ics",
    "api live",
    "atom",
    "status",
    "home",
    "agenda page",
    "directory",
    "live page",
    "page",
    "search page",
];

#[test]
fn moderation_hides_an_element_everywhere_but_for_the_admin_and_unhide_restores_it() {
    let f = fixture();
    let (alice, bob) = (f.person("Alice"), f.person("Bob"));
    let (id, slug, _) = event(&f, &alice);
    for who in [As::Nobody, As::Bearer(&bob), As::Admin] {
        assert_eq!(surfaces(&f, who, &id, &slug, &alice), EVERYWHERE);
    }
    let before = f.seq();
    let (status, done) = f.post(
        &format!("/api/v1/admin/moderation/element/{id}"),
        json!({"action": "hide"}),
        As::Admin,
    );
    assert_eq!(status, Status::Ok, "{done}");
    assert_eq!(
        done,
        json!({"target": {"kind": "element", "id": id}, "state": "hidden", "changed": true})
    );
    assert_eq!(f.seq(), before + 1, "one change, for the index to follow");
    for who in [As::Nobody, As::Bearer(&bob), As::Bearer(&alice)] {
        assert_eq!(surfaces(&f, who, &id, &slug, &alice), Vec::<&str>::new());
    }
    assert_eq!(surfaces(&f, As::Admin, &id, &slug, &alice), ADMIN_SEES);
    // Nobody but the admin acts on it: its own creator cannot post, follow or report it.
    let (status, _) = f.post(
        &format!("/api/v1/elements/{id}/posts"),
        json!({"text": "encore"}),
        As::Bearer(&alice),
    );
    assert_eq!(status, Status::NotFound);
    let (status, _) = f.post(
        "/api/v1/reports",
        json!({"target": {"kind": "element", "id": id}, "reason": "spam"}),
        As::Bearer(&bob),
    );
    assert_eq!(status, Status::NotFound);
    // Unhide restores it everywhere.
    let (status, done) = f.post(
        &format!("/api/v1/admin/moderation/element/{id}"),
        json!({"action": "unhide"}),
        As::Admin,
    );
    assert_eq!((status, done["state"].as_str()), (Status::Ok, Some("visible")));
    for who in [As::Nobody, As::Bearer(&bob), As::Admin] {
        assert_eq!(surfaces(&f, who, &id, &slug, &alice), EVERYWHERE);
    }
}

#[test]
fn moderation_of_a_post_and_a_comment() {
    let f = fixture();
    let (alice, bob) = (f.person("Alice"), f.person("Bob"));
    let (id, slug, post) = event(&f, &alice);
    let (status, comment) = f.post(
        &format!("/api/v1/posts/{post}/comments"),
        json!({"text": "Commentaire Quuxly"}),
        As::Bearer(&bob),
    );
    assert_eq!(status, Status::Created, "{comment}");
    let comment = comment["id"].as_str().unwrap().to_owned();
    let (status, on_element) = f.post(
        &format!("/api/v1/elements/{id}/comments"),
        json!({"text": "Remarque Plughy"}),
        As::Bearer(&bob),
    );
    assert_eq!(status, Status::Created);
    let on_element = on_element["id"].as_str().unwrap().to_owned();
    let (status, _) = f.post(
        &format!("/api/v1/elements/{id}/comments"),
        json!({"text": "Réponse Wibbly", "parentId": on_element}),
        As::Bearer(&alice),
    );
    assert_eq!(status, Status::Created);
    let shows = |uri: &str, needle: &str, who: As<'_>| f.get_text(uri, who).1.contains(needle);

    // A hidden comment leaves the comments of its post.
    let (status, _) = f.post(
        &format!("/api/v1/admin/moderation/comment/{comment}"),
        json!({"action": "hide"}),
        As::Admin,
    );
    assert_eq!(status, Status::Ok);
    let post_comments = format!("/api/v1/posts/{post}/comments");
    assert!(!shows(&post_comments, "Quuxly", As::Nobody));
    assert!(!shows(&post_comments, "Quuxly", As::Bearer(&bob)));
    // A hidden comment on the element leaves with its replies, from the API and the page.
    f.post(
        &format!("/api/v1/admin/moderation/comment/{on_element}"),
        json!({"action": "hide"}),
        As::Admin,
    );
    let element_comments = format!("/api/v1/elements/{id}/comments");
    for who in [As::Nobody, As::Bearer(&alice)] {
        assert!(!shows(&element_comments, "Plughy", who));
        assert!(!shows(&element_comments, "Wibbly", who));
        assert!(!shows(&format!("/event/{slug}"), "Plughy", who));
        assert!(!shows(&format!("/event/{slug}"), "Wibbly", who));
    }
    // A hidden post leaves journals, the live feed and its Atom feed, the home feed.
    let (status, _) = f.post(
        &format!("/api/v1/admin/moderation/post/{post}"),
        json!({"action": "hide"}),
        As::Admin,
    );
    assert_eq!(status, Status::Ok);
    for who in [As::Nobody, As::Bearer(&bob), As::Bearer(&alice)] {
        for uri in [
            format!("/api/v1/elements/{id}/posts"),
            "/api/v1/live".into(),
            "/live.atom".into(),
            "/live".into(),
            "/".into(),
            format!("/event/{slug}"),
            "/api/v1/me/feed".into(),
        ] {
            assert!(!shows(&uri, POST, who), "{uri}");
        }
        assert_eq!(f.get(&format!("/api/v1/posts/{post}"), who).0, Status::NotFound);
        assert_eq!(f.get(&post_comments, who).0, Status::NotFound);
    }
    assert!(shows(&format!("/api/v1/elements/{id}/posts"), POST, As::Admin));
    assert!(shows("/api/v1/live", POST, As::Admin));
    assert_eq!(f.get(&format!("/api/v1/posts/{post}"), As::Admin).0, Status::Ok);
    // Unhidden, it is back.
    f.post(
        &format!("/api/v1/admin/moderation/post/{post}"),
        json!({"action": "unhide"}),
        As::Admin,
    );
    assert!(shows("/api/v1/live", POST, As::Nobody));
    // Deleting takes it for good.
    let (status, done) = f.post(
        &format!("/api/v1/admin/moderation/post/{post}"),
        json!({"action": "delete"}),
        As::Admin,
    );
    assert_eq!((status, done["state"].as_str()), (Status::Ok, Some("gone")));
    assert_eq!(f.get(&format!("/api/v1/posts/{post}"), As::Admin).0, Status::NotFound);
}

#[test]
fn moderation_reports_flow_through_the_admin_queue() {
    let f = fixture();
    let (alice, bob) = (f.person("Alice"), f.person("Bob"));
    let (id, _, post) = event(&f, &alice);
    let before = f.seq();
    let report = |body: Value, who: As<'_>| f.post("/api/v1/reports", body, who);
    let (status, r) = report(
        json!({"target": {"kind": "element", "id": id}, "reason": "  arnaque  "}),
        As::Nobody,
    );
    assert_eq!(status, Status::Created, "{r}");
    let first = r["id"].as_i64().unwrap();
    // Again from the same address while open: the same report.
    let (status, r) = report(
        json!({"target": {"kind": "element", "id": id}, "reason": "encore"}),
        As::Nobody,
    );
    assert_eq!((status, r["id"].as_i64()), (Status::Ok, Some(first)));
    let (status, _) = report(
        json!({"target": {"kind": "post", "id": post}, "reason": "insultant"}),
        As::Bearer(&bob),
    );
    assert_eq!(status, Status::Created);
    assert_eq!(f.seq(), before, "reports are not in the change log");

    // The queue is the admin's.
    assert_eq!(f.get("/api/v1/admin/reports", As::Nobody).0, Status::Unauthorized);
    assert_eq!(f.get("/api/v1/admin/reports", As::Bearer(&bob)).0, Status::Unauthorized);
    let (status, queue) = f.get("/api/v1/admin/reports", As::Admin);
    assert_eq!(status, Status::Ok);
    let items = queue["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(
        items[0]["target"],
        json!({"kind": "post", "id": post, "state": "visible"})
    );
    assert_eq!(items[0]["reporter"], json!(bob.id));
    assert_eq!(
        (&items[1]["reason"], &items[1]["anonymous"], &items[1]["status"]),
        (&json!("arnaque"), &json!(true), &json!("open"))
    );
    let (_, page) = f.get("/api/v1/admin/reports?limit=1", As::Admin);
    let next = page["next"].as_str().unwrap().to_owned();
    let (_, rest) = f.get(&format!("/api/v1/admin/reports?limit=1&cursor={next}"), As::Admin);
    assert_eq!(rest["items"][0]["id"].as_i64(), Some(first));

    // Resolving.
    let (status, resolved) = f.post(
        &format!("/api/v1/admin/reports/{first}/resolve"),
        json!({"resolution": "vérifié"}),
        As::Admin,
    );
    assert_eq!(status, Status::Ok, "{resolved}");
    assert_eq!(
        (&resolved["status"], &resolved["resolution"]),
        (&json!("resolved"), &json!("vérifié"))
    );
    let (status, _, _) = f.raw(
        Method::Post,
        &format!("/api/v1/admin/reports/{first}/resolve"),
        None,
        As::Admin,
        None,
    );
    assert_eq!(status, Status::Ok, "resolving again changes nothing");
    // Hiding the post resolves its report.
    f.post(
        &format!("/api/v1/admin/moderation/post/{post}"),
        json!({"action": "hide"}),
        As::Admin,
    );
    let (_, open) = f.get("/api/v1/admin/reports?status=open", As::Admin);
    assert_eq!(open["items"], json!([]));
    let (_, all) = f.get("/api/v1/admin/reports?status=all", As::Admin);
    assert_eq!(all["items"][0]["target"]["state"], json!("hidden"));
    assert_eq!(all["items"][0]["resolution"], json!("hidden"));

    // Refusals, none of which writes anything.
    let seq = f.seq();
    let count = || {
        f.get("/api/v1/admin/reports?status=all", As::Admin).1["items"]
            .as_array()
            .unwrap()
            .len()
    };
    let reports_before = count();
    let unknown = crate::model::ElementId::generate().to_string();
    for (body, expected) in [
        (
            json!({"target": {"kind": "element", "id": unknown}, "reason": "x"}),
            Status::NotFound,
        ),
        (
            json!({"target": {"kind": "comment", "id": post}, "reason": "x"}),
            Status::NotFound,
        ),
        (
            json!({"target": {"kind": "planet", "id": id}, "reason": "x"}),
            Status::UnprocessableEntity,
        ),
        (
            json!({"target": {"kind": "element", "id": "../x"}, "reason": "x"}),
            Status::UnprocessableEntity,
        ),
        (
            json!({"target": {"kind": "element", "id": id}}),
            Status::UnprocessableEntity,
        ),
        (
            json!({"target": {"kind": "element", "id": id}, "reason": "   "}),
            Status::UnprocessableEntity,
        ),
        (
            json!({"target": {"kind": "element", "id": id}, "reason": "x".repeat(1001)}),
            Status::UnprocessableEntity,
        ),
        (
            json!({"target": {"kind": "element", "id": id}, "reason": "x", "extra": 1}),
            Status::UnprocessableEntity,
        ),
        (json!({"target": id, "reason": "x"}), Status::UnprocessableEntity),
        (json!({"reason": "x"}), Status::UnprocessableEntity),
    ] {
        let (status, body) = report(body, As::Bearer(&bob));
        assert_eq!(status, expected, "{body}");
        assert!(body["error"]["code"].is_string(), "{body}");
    }
    let (status, _, _) = f.raw(
        Method::Post,
        "/api/v1/reports",
        Some(("{nope", ContentType::JSON)),
        As::Nobody,
        None,
    );
    assert_eq!(status, Status::BadRequest);
    let (status, _, _) = f.raw(
        Method::Post,
        "/api/v1/reports",
        Some((
            &json!({"target": {"kind": "element", "id": id}, "reason": "x"}).to_string(),
            ContentType::Form,
        )),
        As::Nobody,
        None,
    );
    assert_eq!(status, Status::UnsupportedMediaType);
    let resolve_first = format!("/api/v1/admin/reports/{first}/resolve");
    for (uri, body, expected) in [
        ("/api/v1/admin/reports/999/resolve", json!({}), Status::NotFound),
        ("/api/v1/admin/reports/abc/resolve", json!({}), Status::NotFound),
        (
            resolve_first.as_str(),
            json!({"resolution": 3}),
            Status::UnprocessableEntity,
        ),
    ] {
        assert_eq!(f.post(uri, body, As::Admin).0, expected, "{uri}");
    }
    assert_eq!(
        f.get("/api/v1/admin/reports?status=maybe", As::Admin).0,
        Status::BadRequest
    );
    assert_eq!(
        f.get("/api/v1/admin/reports?cursor=zz", As::Admin).0,
        Status::BadRequest
    );
    assert_eq!((f.seq(), count()), (seq, reports_before));
}

#[test]
fn moderation_limits_anonymous_reports_per_address() {
    let f = fixture();
    let alice = f.person("Alice");
    let (id, _, _) = event(&f, &alice);
    let from = |n: u8| Some(SocketAddr::from(([10, 9, 9, n], 5000)));
    let body = json!({"target": {"kind": "element", "id": id}, "reason": "spam"}).to_string();
    let send = |n: u8| {
        f.raw(
            Method::Post,
            "/api/v1/reports",
            Some((&body, ContentType::JSON)),
            As::Nobody,
            from(n),
        )
    };
    for _ in 0..super::ANONYMOUS_REPORTS {
        assert!(send(1).0.class().is_success());
    }
    let (status, retry, text) = send(1);
    assert_eq!(status, Status::TooManyRequests, "{text}");
    assert!(retry.is_some_and(|r| r.parse::<u64>().unwrap() > 0));
    assert!(text.contains("too_many_attempts") && text.contains("reports"), "{text}");
    // Another address is not limited; one report per address stands.
    assert_eq!(send(2).0, Status::Created);
    let (_, queue) = f.get("/api/v1/admin/reports", As::Admin);
    assert_eq!(queue["items"].as_array().unwrap().len(), 2);
}

#[test]
fn moderation_holds_anonymous_submissions_until_approved() {
    let f = fixture();
    let bob = f.person("Bob");
    let submit = |body: Value| f.post("/api/v1/submissions", body, As::Nobody);
    let before = f.seq();
    let seen_by = |who: As<'_>, id: &str| {
        [
            f.get(&format!("/api/v1/elements/{id}"), who).0 == Status::Ok,
            f.get_text("/api/v1/elements", who).1.contains(id),
            f.get_text("/api/v1/agenda", who).1.contains(id),
            f.get_text("/api/v1/map.geojson", who).1.contains(id),
            f.get_text("/api/v1/search?q=zorglub", who).1.contains(id),
            f.get_text("/agenda.ics", who).1.contains("Zorglub"),
            f.get_text("/agenda", who).1.contains(NAME),
            f.get_text("/", who).1.contains(NAME),
        ]
    };
    // Refused: what is not an event or a resource, ids, links, privacy, bad documents.
    for (body, expected) in [
        (
            json!({"kind": "organization", "name": "x", "type": "NGO"}),
            Status::UnprocessableEntity,
        ),
        (json!({"kind": "person", "name": "x"}), Status::UnprocessableEntity),
        (json!({"name": "x"}), Status::UnprocessableEntity),
        (
            json!({"kind": "event", "name": "x", "type": "festival"}),
            Status::UnprocessableEntity,
        ),
        (
            json!({"kind": "event", "name": "x", "type": "festival", "startDate": tomorrow(), "id": "abc"}),
            Status::UnprocessableEntity,
        ),
        (
            json!({"kind": "event", "name": "x", "type": "festival", "startDate": tomorrow(), "creator": bob.id}),
            Status::UnprocessableEntity,
        ),
        (
            json!({"kind": "event", "name": "x", "type": "festival", "startDate": tomorrow(), "preferences": {"private": true}}),
            Status::UnprocessableEntity,
        ),
        (
            json!({"kind": "event", "name": "x", "type": "festival", "startDate": tomorrow(), "parentId": crate::model::ElementId::generate().to_string()}),
            Status::UnprocessableEntity,
        ),
        (
            json!({"kind": "resource", "name": "x", "section": "stolen"}),
            Status::UnprocessableEntity,
        ),
    ] {
        let (status, body) = submit(body);
        assert_eq!(status, expected, "{body}");
    }
    assert_eq!(f.seq(), before, "refusals change nothing");
    let (status, _, _) = f.raw(
        Method::Post,
        "/api/v1/submissions",
        Some(("[]", ContentType::JSON)),
        As::Nobody,
        None,
    );
    assert_eq!(status, Status::BadRequest);

    let (status, done) = submit(
        json!({"kind": "event", "name": NAME, "type": "festival", "startDate": tomorrow(),
        "geo": {"latitude": "44.7281", "longitude": "5.0222"},
        "address": {"postalCode": "26400", "addressLocality": "Crest", "codeInsee": "26108"}}),
    );
    assert_eq!(status, Status::Accepted, "{done}");
    assert_eq!(done["state"], json!("pending"));
    let id = done["id"].as_str().unwrap().to_owned();
    for who in [As::Nobody, As::Bearer(&bob)] {
        assert_eq!(seen_by(who, &id), [false; 8]);
    }
    assert!(seen_by(As::Admin, &id)[0]);
    let (status, queue) = f.get("/api/v1/admin/submissions", As::Admin);
    assert_eq!(status, Status::Ok);
    assert_eq!(queue["items"].as_array().unwrap().len(), 1);
    assert_eq!(queue["items"][0]["id"], json!(id));
    assert!(queue["items"][0].get("creator").is_none());
    assert_eq!(
        f.get("/api/v1/admin/submissions", As::Bearer(&bob)).0,
        Status::Unauthorized
    );
    // Unhide is not approval; approval publishes it everywhere.
    let moderate = |action: &str| {
        f.post(
            &format!("/api/v1/admin/moderation/element/{id}"),
            json!({"action": action}),
            As::Admin,
        )
    };
    let seq = f.seq();
    assert_eq!(moderate("unhide").0, Status::Conflict);
    assert_eq!(f.seq(), seq);
    let (status, done) = moderate("approve");
    assert_eq!((status, done["state"].as_str()), (Status::Ok, Some("visible")));
    for who in [As::Nobody, As::Bearer(&bob)] {
        assert_eq!(seen_by(who, &id), [true; 8]);
    }
    assert_eq!(f.get("/api/v1/admin/submissions", As::Admin).1["items"], json!([]));
    assert_eq!(moderate("approve").0, Status::Conflict);

    // A resource (mutual aid), then the limit per address.
    let (status, r) =
        submit(json!({"kind": "resource", "name": "Prête une perceuse", "section": "offer", "category": "material"}));
    assert_eq!(status, Status::Accepted, "{r}");
    assert!(!f.get_text("/mutual-aid", As::Nobody).1.contains("perceuse"));
    for _ in 2..super::SUBMISSIONS {
        assert_eq!(
            submit(json!({"kind": "resource", "name": "Aide", "section": "need"})).0,
            Status::Accepted
        );
    }
    let (status, body) = submit(json!({"kind": "resource", "name": "Aide", "section": "need"}));
    assert_eq!(status, Status::TooManyRequests, "{body}");
}

#[test]
fn moderation_blocks_and_unblocks_accounts() {
    let f = fixture();
    let (alice, bob) = (f.person("Alice"), f.person("Bob"));
    let (id, _, post) = event(&f, &alice);
    let login = || {
        f.post(
            "/api/v1/auth/login",
            json!({"email": "alice@example.org", "password": "correct horse battery"}),
            As::Nobody,
        )
        .0
    };
    // Refusals first: nobody but the admin; unknown persons and bad bodies change nothing.
    let seq = f.seq();
    let block =
        |person: &str, body: Value, who: As<'_>| f.post(&format!("/api/v1/admin/accounts/{person}/block"), body, who);
    assert_eq!(block(&alice.id, json!({}), As::Bearer(&bob)).0, Status::Unauthorized);
    assert_eq!(block(&alice.id, json!({}), As::Nobody).0, Status::Unauthorized);
    let unknown = crate::model::ElementId::generate().to_string();
    assert_eq!(block(&unknown, json!({}), As::Admin).0, Status::NotFound);
    assert_eq!(
        block(&id, json!({}), As::Admin).0,
        Status::NotFound,
        "an event has no account"
    );
    assert_eq!(
        block(&alice.id, json!({"hide": "yes"}), As::Admin).0,
        Status::UnprocessableEntity
    );
    assert_eq!(
        block(&alice.id, json!({"why": 1}), As::Admin).0,
        Status::UnprocessableEntity
    );
    assert_eq!(f.seq(), seq);
    assert_eq!(f.get("/api/v1/auth/me", As::Bearer(&alice)).0, Status::Ok);

    // Blocked: the token is refused, and so is the password.
    let (status, done) = block(&alice.id, json!({"hide": true}), As::Admin);
    assert_eq!(status, Status::Ok, "{done}");
    assert_eq!(done["blocked"], json!(true));
    assert!(done["tokens_revoked"].as_u64().unwrap() >= 2);
    assert_eq!(done["hidden"], json!({"elements": 2, "posts": 1, "comments": 0}));
    assert_eq!(f.get("/api/v1/auth/me", As::Bearer(&alice)).0, Status::Unauthorized);
    let (status, _) = f.post(
        &format!("/api/v1/elements/{id}/posts"),
        json!({"text": "still here"}),
        As::Bearer(&alice),
    );
    assert_eq!(status, Status::Unauthorized);
    assert_eq!(login(), Status::Unauthorized);
    // What she made is hidden: her page, her event, her post.
    assert_eq!(f.get(&format!("/api/v1/elements/{id}"), As::Nobody).0, Status::NotFound);
    assert_eq!(
        f.get(&format!("/api/v1/elements/{}", alice.id), As::Bearer(&bob)).0,
        Status::NotFound
    );
    assert_eq!(f.get(&format!("/api/v1/posts/{post}"), As::Nobody).0, Status::NotFound);
    assert_eq!(f.get(&format!("/api/v1/elements/{id}"), As::Admin).0, Status::Ok);

    // Unblocked: she signs in again; what was hidden stays hidden.
    assert_eq!(
        f.post(
            &format!("/api/v1/admin/accounts/{unknown}/unblock"),
            json!({}),
            As::Admin
        )
        .0,
        Status::NotFound
    );
    let (status, done) = f.post(
        &format!("/api/v1/admin/accounts/{}/unblock", alice.id),
        json!({}),
        As::Admin,
    );
    assert_eq!((status, &done["blocked"]), (Status::Ok, &json!(false)));
    assert_eq!(login(), Status::Ok);
    assert_eq!(f.get(&format!("/api/v1/elements/{id}"), As::Nobody).0, Status::NotFound);
    // The old token stays revoked.
    assert_eq!(f.get("/api/v1/auth/me", As::Bearer(&alice)).0, Status::Unauthorized);
}

#[test]
fn moderation_actions_refuse_bad_requests_and_change_nothing() {
    let f = fixture();
    let (alice, bob) = (f.person("Alice"), f.person("Bob"));
    let (id, _, post) = event(&f, &alice);
    let seq = f.seq();
    let unknown = crate::model::ElementId::generate().to_string();
    let uri = |kind: &str, id: &str| format!("/api/v1/admin/moderation/{kind}/{id}");
    for (uri, body, who, expected) in [
        (
            uri("element", &id),
            json!({"action": "hide"}),
            As::Nobody,
            Status::Unauthorized,
        ),
        (
            uri("element", &id),
            json!({"action": "hide"}),
            As::Bearer(&bob),
            Status::Unauthorized,
        ),
        (
            uri("element", &unknown),
            json!({"action": "hide"}),
            As::Admin,
            Status::NotFound,
        ),
        (
            uri("element", &unknown),
            json!({"action": "delete"}),
            As::Admin,
            Status::NotFound,
        ),
        (uri("post", &id), json!({"action": "hide"}), As::Admin, Status::NotFound),
        (
            uri("comment", &post),
            json!({"action": "delete"}),
            As::Admin,
            Status::NotFound,
        ),
        (
            uri("planet", &id),
            json!({"action": "hide"}),
            As::Admin,
            Status::NotFound,
        ),
        (
            uri("element", "x.y"),
            json!({"action": "hide"}),
            As::Admin,
            Status::NotFound,
        ),
        (
            uri("element", &id),
            json!({"action": "burn"}),
            As::Admin,
            Status::UnprocessableEntity,
        ),
        (uri("element", &id), json!({}), As::Admin, Status::UnprocessableEntity),
        (
            uri("element", &id),
            json!({"action": "hide", "why": "x"}),
            As::Admin,
            Status::UnprocessableEntity,
        ),
        (
            uri("element", &id),
            json!({"action": "approve"}),
            As::Admin,
            Status::Conflict,
        ),
    ] {
        let (status, body) = f.post(&uri, body, who);
        assert_eq!(status, expected, "{uri}: {body}");
        assert!(body["error"]["code"].is_string(), "{uri}: {body}");
    }
    let (status, _, _) = f.raw(
        Method::Post,
        &uri("element", &id),
        Some(("hide", ContentType::JSON)),
        As::Admin,
        None,
    );
    assert_eq!(status, Status::BadRequest);
    assert_eq!(f.seq(), seq);
    // Unhiding what is visible changes nothing either.
    let (status, done) = f.post(&uri("element", &id), json!({"action": "unhide"}), As::Admin);
    assert_eq!((status, &done["changed"]), (Status::Ok, &json!(false)));
    assert_eq!(f.seq(), seq);
    // Deleting an element takes it and its journal.
    let (status, _) = f.post(&uri("element", &id), json!({"action": "delete"}), As::Admin);
    assert_eq!(status, Status::Ok);
    assert_eq!(f.get(&format!("/api/v1/elements/{id}"), As::Admin).0, Status::NotFound);
    assert_eq!(f.get(&format!("/api/v1/posts/{post}"), As::Admin).0, Status::NotFound);
}
