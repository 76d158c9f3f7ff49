//! Hub tokens and "sync now" with Rocket's local client: a main's admin makes, lists and
//! revokes hub tokens (API and admin page); the sync endpoints take the admin token or a
//! live hub token and nothing else; "sync now" wakes the loop or says why it cannot.

use std::sync::Arc;

use rocket::http::{ContentType, Cookie, Header, Method, Status};
use rocket::local::blocking::Client;
use serde_json::{json, Value};

use crate::api::{rocket, Hub};
use crate::config::Config;
use crate::store::Store;
use crate::syncer::SyncControl;

const ADMIN: &str = "sync-test-admin-token-0123456789";

struct Instance {
    client: Client,
    store: Arc<Store>,
    sync: SyncControl,
    _dir: tempfile::TempDir,
}

/// A hub, or a main (`serve --role main`: the sync stage attached), with `main_url` in
/// its `[sync]` table.
fn instance(main: bool, main_url: Option<&str>) -> Instance {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config {
        data: dir.path().to_owned(),
        admin_token: Some(ADMIN.into()),
        ..Config::default()
    };
    config.sync.main_url = main_url.map(str::to_owned);
    let hub = Hub::open(config).unwrap();
    let (store, sync) = (hub.store.clone(), hub.sync.clone());
    let rocket = if main {
        rocket(hub).attach(super::stage())
    } else {
        rocket(hub)
    };
    Instance {
        client: Client::untracked(rocket).unwrap(),
        store,
        sync,
        _dir: dir,
    }
}

impl Instance {
    /// A request with `bearer` (if any) and a raw body (if any): status and JSON answer.
    fn call(&self, method: Method, uri: &str, body: Option<&str>, bearer: Option<&str>) -> (Status, Value) {
        let mut req = self.client.req(method, uri.to_owned());
        if let Some(b) = body {
            req = req.header(ContentType::JSON).body(b);
        }
        if let Some(t) = bearer {
            req = req.header(Header::new("Authorization", format!("Bearer {t}")));
        }
        let r = req.dispatch();
        let status = r.status();
        let text = r.into_string().unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    fn hello(&self, token: &str, hub: &str) -> Status {
        let body = json!({"hub": hub, "protocol": copi_sync::protocol::PROTOCOL}).to_string();
        self.call(Method::Post, "/api/v1/sync/hello", Some(&body), Some(token))
            .0
    }

    fn pull(&self, token: &str, hub: &str) -> Status {
        self.call(
            Method::Get,
            &format!("/api/v1/sync/pull?hub={hub}&since=0"),
            None,
            Some(token),
        )
        .0
    }

    fn create(&self, name: &str) -> Value {
        let (status, body) = self.call(
            Method::Post,
            "/api/v1/admin/sync/tokens",
            Some(&json!({"name": name}).to_string()),
            Some(ADMIN),
        );
        assert_eq!(status, Status::Created, "{body}");
        body
    }

    fn list(&self) -> Value {
        let (status, body) = self.call(Method::Get, "/api/v1/admin/sync/tokens", None, Some(ADMIN));
        assert_eq!(status, Status::Ok, "{body}");
        body
    }

    /// Signs the admin in on the pages: the session cookie and the CSRF token of its forms.
    fn admin_page(&self) -> (Cookie<'static>, String, String) {
        let r = self
            .client
            .post("/admin/login")
            .header(ContentType::Form)
            .body(format!("secret={ADMIN}"))
            .dispatch();
        assert_eq!(r.status(), Status::SeeOther);
        let session = Cookie::new("copi_admin", r.cookies().get("copi_admin").unwrap().value().to_owned());
        let r = self.client.get("/admin").cookie(session.clone()).dispatch();
        assert_eq!(r.status(), Status::Ok);
        let body = r.into_string().unwrap();
        let csrf = hidden(&body, "csrf");
        (session, csrf, body)
    }

    fn form(&self, uri: &str, session: &Cookie<'static>, body: String) -> (Status, String) {
        let r = self
            .client
            .post(uri.to_owned())
            .header(ContentType::Form)
            .cookie(session.clone())
            .body(body)
            .dispatch();
        (r.status(), r.into_string().unwrap_or_default())
    }
}

fn hidden(body: &str, name: &str) -> String {
    let at = body
        .find(&format!("name=\"{name}\" value=\""))
        .unwrap_or_else(|| panic!("no {name} field"))
        + name.len()
        + 15;
    body[at..at + body[at..].find('"').unwrap()].to_owned()
}

fn assert_error(answer: &(Status, Value), status: Status, code: &str) {
    assert_eq!(answer.0, status, "{}", answer.1);
    assert_eq!(answer.1["error"]["code"], code, "{}", answer.1);
    assert!(
        answer.1["error"]["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{}",
        answer.1
    );
}

#[test]
fn a_hub_token_syncs_until_revoked_and_is_never_shown_again() {
    let main = instance(true, None);
    // Before any token: the admin token only.
    assert_eq!(main.hello(ADMIN, "hub-a"), Status::Ok);
    let made = main.create("  Hub de Crest ");
    let secret = made["token"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 43, "{made}");
    assert_eq!(made["name"], "Hub de Crest");
    assert!(made["revoked"].is_null() && made["last_used"].is_null(), "{made}");
    let other = main.create("Hub de Die");
    let other_secret = other["token"].as_str().unwrap().to_owned();

    // The hub syncs with it; its use is noted with its instance id.
    assert_eq!(main.hello(&secret, "hub-a"), Status::Ok);
    assert_eq!(main.pull(&secret, "hub-a"), Status::Ok);
    let push = json!({"hub": "hub-a", "base": 0,
        "batch": {"id": "hub-a:0-0", "from_seq": 0, "to_seq": 0, "changes": []}});
    let (status, body) = main.call(
        Method::Post,
        "/api/v1/sync/push",
        Some(&push.to_string()),
        Some(&secret),
    );
    assert_eq!(status, Status::Ok, "{body}");

    // Listed newest first, with its last use, and never with its secret.
    let list = main.list();
    assert_eq!(list["next"], Value::Null);
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{list}");
    assert_eq!(items[0]["name"], "Hub de Die");
    assert_eq!(items[1]["id"], made["id"]);
    assert_eq!(items[1]["last_hub"], "hub-a", "{list}");
    assert!(items[1]["last_used"].is_i64(), "{list}");
    assert!(items[0]["last_used"].is_null(), "{list}");
    let text = list.to_string();
    assert!(
        !text.contains(&secret) && !text.contains(&other_secret),
        "no secret listed: {text}"
    );
    assert!(items.iter().all(|t| t.get("token").is_none()), "{list}");
    // The store keeps no secret either, only its hash.
    let kept: Vec<u8> = main
        .store
        .read(|c| {
            Ok(c.query_row(
                "SELECT token_hash FROM hub_tokens WHERE id = ?1",
                [made["id"].as_i64()],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert_eq!(kept.len(), 32);
    assert!(!kept.windows(8).any(|w| secret.as_bytes().windows(8).any(|s| s == w)));

    // Revoked: refused at once, on every endpoint; the other token still works.
    let id = made["id"].as_i64().unwrap();
    let (status, _) = main.call(
        Method::Delete,
        &format!("/api/v1/admin/sync/tokens/{id}"),
        None,
        Some(ADMIN),
    );
    assert_eq!(status, Status::NoContent);
    assert_eq!(main.hello(&secret, "hub-a"), Status::Unauthorized);
    assert_eq!(main.pull(&secret, "hub-a"), Status::Unauthorized);
    let refused = main.call(
        Method::Post,
        "/api/v1/sync/push",
        Some(&push.to_string()),
        Some(&secret),
    );
    assert_error(&refused, Status::Unauthorized, "unauthorized");
    assert_eq!(main.hello(&other_secret, "hub-b"), Status::Ok);
    assert!(main.list()["items"][1]["revoked"].is_i64());
    // Revoking again changes nothing; an unknown token is 404.
    let (status, _) = main.call(
        Method::Delete,
        &format!("/api/v1/admin/sync/tokens/{id}"),
        None,
        Some(ADMIN),
    );
    assert_eq!(status, Status::NoContent);
    let missing = main.call(Method::Delete, "/api/v1/admin/sync/tokens/999999", None, Some(ADMIN));
    assert_error(&missing, Status::NotFound, "not_found");
}

#[test]
fn only_the_admin_manages_hub_tokens_and_bad_bodies_are_refused() {
    let main = instance(true, None);
    let secret = main.create("Crest")["token"].as_str().unwrap().to_owned();
    let body = json!({"name": "x"}).to_string();
    // Nobody, a hub token, a wrong token: not the admin.
    for who in [None, Some(secret.as_str()), Some("not-the-admin-token")] {
        let create = main.call(Method::Post, "/api/v1/admin/sync/tokens", Some(&body), who);
        assert_error(&create, Status::Unauthorized, "unauthorized");
        let list = main.call(Method::Get, "/api/v1/admin/sync/tokens", None, who);
        assert_error(&list, Status::Unauthorized, "unauthorized");
        let revoke = main.call(Method::Delete, "/api/v1/admin/sync/tokens/1", None, who);
        assert_error(&revoke, Status::Unauthorized, "unauthorized");
    }
    // Nor anything else: the sync endpoints want one of the two tokens.
    assert_eq!(main.hello("not-the-admin-token", "h"), Status::Unauthorized);
    assert_eq!(main.hello(&"A".repeat(43), "h"), Status::Unauthorized);
    assert_error(
        &main.call(Method::Get, "/api/v1/sync/pull?hub=h", None, None),
        Status::Unauthorized,
        "unauthorized",
    );
    // Bad bodies.
    let post = |raw: &str| main.call(Method::Post, "/api/v1/admin/sync/tokens", Some(raw), Some(ADMIN));
    assert_error(&post("{\"name\": "), Status::BadRequest, "bad_request");
    assert_error(&post("[\"name\"]"), Status::BadRequest, "bad_request");
    assert_error(&post("{}"), Status::UnprocessableEntity, "invalid");
    assert_error(&post("{\"name\": 12}"), Status::UnprocessableEntity, "invalid");
    assert_error(&post("{\"name\": \"   \"}"), Status::UnprocessableEntity, "invalid");
    let long = json!({"name": "x".repeat(crate::store::MAX_HUB_TOKEN_NAME + 1)}).to_string();
    assert_error(&post(&long), Status::UnprocessableEntity, "invalid");
    assert_eq!(
        main.list()["items"].as_array().unwrap().len(),
        1,
        "nothing refused was kept"
    );
}

#[test]
fn a_hub_serves_no_hub_tokens() {
    let hub = instance(false, None);
    let body = json!({"name": "x"}).to_string();
    let (status, _) = hub.call(Method::Post, "/api/v1/admin/sync/tokens", Some(&body), Some(ADMIN));
    assert_eq!(status, Status::NotFound);
    let (session, csrf, page) = hub.admin_page();
    assert!(
        !page.contains("action=\"/admin/sync/tokens\""),
        "no token form on a hub"
    );
    let (status, _) = hub.form("/admin/sync/tokens", &session, format!("csrf={csrf}&name=x"));
    assert_eq!(status, Status::NotFound);
}

#[test]
fn sync_now_wakes_the_loop_or_says_why_not() {
    // No main configured: 409 with what to do.
    let alone = instance(false, None);
    let answer = alone.call(Method::Post, "/api/v1/admin/sync/now", None, Some(ADMIN));
    assert_error(&answer, Status::Conflict, "conflict");
    assert!(
        answer.1["error"]["message"].as_str().unwrap().contains("main_url"),
        "{}",
        answer.1
    );
    assert!(!alone.sync.round_requested());
    // The status says no round runs.
    let (_, status) = alone.call(Method::Get, "/api/v1/status", None, None);
    assert!(status["sync"].get("round").is_some_and(Value::is_null), "{status}");

    let hub = instance(false, Some("http://127.0.0.1:9"));
    let answer = hub.call(Method::Post, "/api/v1/admin/sync/now", None, None);
    assert_error(&answer, Status::Unauthorized, "unauthorized");
    assert!(!hub.sync.round_requested());
    let (status, body) = hub.call(Method::Post, "/api/v1/admin/sync/now", None, Some(ADMIN));
    assert_eq!(status, Status::Accepted, "{body}");
    assert_eq!(body["requested"], true);
    assert!(hub.sync.round_requested(), "the loop is woken");
}

#[test]
fn the_admin_page_shows_sync_and_its_buttons_work() {
    // A hub: the state, and "sync now" behind the CSRF token.
    let hub = instance(false, Some("http://127.0.0.1:9"));
    let (session, csrf, page) = hub.admin_page();
    assert!(
        page.contains("id=\"sync\"") && page.contains("http://127.0.0.1:9"),
        "{page}"
    );
    assert!(page.contains("action=\"/admin/sync/now\""), "a sync now button");
    let (status, _) = hub.form("/admin/sync/now", &session, "csrf=forged".into());
    assert_eq!(status, Status::BadRequest);
    assert!(!hub.sync.round_requested());
    let (status, _) = hub.form("/admin/sync/now", &session, format!("csrf={csrf}"));
    assert_eq!(status, Status::SeeOther);
    assert!(hub.sync.round_requested());
    // Without the session, the form does nothing.
    let r = hub
        .client
        .post("/admin/sync/now")
        .header(ContentType::Form)
        .body(format!("csrf={csrf}"))
        .dispatch();
    assert_ne!(r.status(), Status::SeeOther);

    // A main: hub tokens made, shown once, listed, revoked from the page.
    let main = instance(true, None);
    let (session, csrf, page) = main.admin_page();
    assert!(
        page.contains("action=\"/admin/sync/tokens\""),
        "a form to make hub tokens"
    );
    assert!(
        !page.contains("action=\"/admin/sync/now\""),
        "no main configured: no sync now button"
    );
    let (status, _) = main.form("/admin/sync/tokens", &session, "csrf=forged&name=Crest".into());
    assert_eq!(status, Status::BadRequest);
    assert!(main.list()["items"].as_array().unwrap().is_empty());
    let (status, shown) = main.form("/admin/sync/tokens", &session, format!("csrf={csrf}&name=Hub+de+Crest"));
    assert_eq!(status, Status::Ok);
    let at = shown.find("id=\"hub-token\">").expect("the token shown") + 15;
    let secret = shown[at..at + 43].to_owned();
    assert_eq!(
        main.hello(&secret, "hub-c"),
        Status::Ok,
        "the token shown is a live one"
    );
    let r = main.client.get("/admin").cookie(session.clone()).dispatch();
    let page = r.into_string().unwrap();
    assert!(
        page.contains("Hub de Crest") && page.contains("hub-c"),
        "listed with its last hub"
    );
    assert!(!page.contains(&secret), "never shown again");
    let id = main.list()["items"][0]["id"].as_i64().unwrap();
    let (status, _) = main.form(
        &format!("/admin/sync/tokens/{id}/revoke"),
        &session,
        "csrf=forged".into(),
    );
    assert_eq!(status, Status::BadRequest);
    assert_eq!(main.hello(&secret, "hub-c"), Status::Ok);
    let (status, _) = main.form(
        &format!("/admin/sync/tokens/{id}/revoke"),
        &session,
        format!("csrf={csrf}"),
    );
    assert_eq!(status, Status::SeeOther);
    assert_eq!(main.hello(&secret, "hub-c"), Status::Unauthorized);
}
