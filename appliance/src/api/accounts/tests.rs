//! Accounts API tests with Rocket's local client, each on its own data dir.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use copi_sync::{ChangeFeed, ChangeOp, ChangeSeq, EntityKind};
use rocket::http::{ContentType, Cookie, Header, Method, Status};
use rocket::local::blocking::Client;
use serde_json::{json, Value};

use crate::api::{rocket, Hub};
use crate::config::Config;
use crate::store::Store;

const ADMIN: &str = "test-admin-token-0123456789";
const PASSWORD: &str = "correct horse battery";

struct Fixture {
    client: Client,
    store: Arc<Store>,
    dir: tempfile::TempDir,
    /// Every answer's body, to check that no secret ever leaves the hub.
    bodies: RefCell<Vec<String>>,
}

fn start(data: &Path) -> (Client, Arc<Store>) {
    let config = Config {
        data: data.to_owned(),
        admin_token: Some(ADMIN.into()),
        ..Config::default()
    };
    let hub = Hub::open(config).unwrap();
    let store = hub.store.clone();
    (Client::untracked(rocket(hub)).unwrap(), store)
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let (client, store) = start(dir.path());
    Fixture {
        client,
        store,
        dir,
        bodies: RefCell::new(Vec::new()),
    }
}

/// Who a request comes from.
#[derive(Clone, Copy)]
enum As<'a> {
    Nobody,
    Bearer(&'a str),
    /// The session cookie, with the CSRF header or not.
    Cookie(&'a Cookie<'static>, Option<&'a str>),
    Admin,
}

struct Answer {
    status: Status,
    body: Value,
    set_cookie: Option<String>,
    session_cookie: Option<Cookie<'static>>,
    retry_after: Option<String>,
    cache_control: Option<String>,
}

/// What a successful register or login gives.
struct Session {
    person: String,
    token: String,
    csrf: String,
    cookie: Cookie<'static>,
}

fn ip(n: u8) -> SocketAddr {
    SocketAddr::from(([10, 0, 0, n], 40000))
}

impl Fixture {
    fn call(&self, method: Method, uri: &str, body: Option<&str>, who: As<'_>, from: Option<SocketAddr>) -> Answer {
        let mut req = self.client.req(method, uri.to_owned());
        if let Some(b) = body {
            req = req.header(ContentType::JSON).body(b);
        }
        if let Some(addr) = from {
            req = req.remote(addr);
        }
        req = match who {
            As::Nobody => req,
            As::Bearer(t) => req.header(Header::new("Authorization", format!("Bearer {t}"))),
            As::Admin => req.header(Header::new("Authorization", format!("Bearer {ADMIN}"))),
            As::Cookie(c, csrf) => {
                let req = req.cookie(c.clone());
                match csrf {
                    Some(t) => req.header(Header::new("X-CSRF-Token", t.to_owned())),
                    None => req,
                }
            }
        };
        let r = req.dispatch();
        let status = r.status();
        let set_cookie = r.headers().get_one("Set-Cookie").map(str::to_owned);
        let session_cookie = r.cookies().get(super::SESSION_COOKIE).cloned();
        let retry_after = r.headers().get_one("Retry-After").map(str::to_owned);
        let cache_control = r.headers().get_one("Cache-Control").map(str::to_owned);
        let text = r.into_string().unwrap_or_default();
        self.bodies.borrow_mut().push(text.clone());
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer {
            status,
            body,
            set_cookie,
            session_cookie,
            retry_after,
            cache_control,
        }
    }

    fn get(&self, uri: &str, who: As<'_>) -> Answer {
        self.call(Method::Get, uri, None, who, None)
    }

    fn register(&self, name: &str, email: &str, password: &str) -> Answer {
        let body = json!({"name": name, "email": email, "password": password}).to_string();
        self.call(Method::Post, "/api/v1/auth/register", Some(&body), As::Nobody, None)
    }

    fn login_from(&self, email: &str, password: &str, from: Option<SocketAddr>) -> Answer {
        let body = json!({"email": email, "password": password}).to_string();
        self.call(Method::Post, "/api/v1/auth/login", Some(&body), As::Nobody, from)
    }

    fn login(&self, email: &str, password: &str) -> Answer {
        self.login_from(email, password, None)
    }

    fn signed_up(&self, name: &str, email: &str) -> Session {
        let a = self.register(name, email, PASSWORD);
        assert_eq!(a.status, Status::Created, "{}", a.body);
        session(&a)
    }
}

fn session(a: &Answer) -> Session {
    Session {
        person: a.body["person"]["id"].as_str().unwrap().to_owned(),
        token: a.body["token"].as_str().unwrap().to_owned(),
        csrf: a.body["csrf"].as_str().unwrap().to_owned(),
        cookie: a.session_cookie.clone().expect("a session cookie"),
    }
}

fn assert_error(a: &Answer, status: Status, code: &str) {
    assert_eq!(a.status, status, "{}", a.body);
    assert_eq!(a.body["error"]["code"], json!(code), "{}", a.body);
    assert!(a.body["error"]["message"].is_string(), "{}", a.body);
}

#[test]
fn register_then_login_then_me_by_token_and_by_cookie() {
    let f = fixture();
    let reg = f.register("Camille Martin", "Camille@Example.org", PASSWORD);
    assert_eq!(reg.status, Status::Created, "{}", reg.body);
    assert_eq!(reg.cache_control.as_deref(), Some("no-store"));
    let person = &reg.body["person"];
    assert_eq!(person["kind"], json!("person"));
    assert_eq!(person["collection"], json!("citoyens"));
    assert_eq!(person["name"], json!("Camille Martin"));
    assert_eq!(person["slug"], json!("camillemartin"));
    let id = person["id"].as_str().unwrap().to_owned();
    let token = reg.body["token"].as_str().unwrap().to_owned();
    assert_eq!(token.len(), 43, "32 random bytes in base64url");
    // The session cookie: private (encrypted), HttpOnly, SameSite=Lax, Path=/, kept 30 days
    // by Max-Age only (the Pi's clock may be wrong).
    let set_cookie = reg.set_cookie.clone().unwrap();
    for part in ["copi_session=", "HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=2592000"] {
        assert!(set_cookie.contains(part), "{set_cookie}");
    }
    assert!(!set_cookie.contains("Expires"), "{set_cookie}");
    let raw = reg.session_cookie.clone().unwrap();
    assert_ne!(
        raw.value().len(),
        43,
        "the cookie holds the secret encrypted, not as is"
    );

    // The person is an element in the change log (indexed, synced), with no email in it.
    let changes = f.store.changes_since(ChangeSeq(0), 100).unwrap();
    assert!(changes
        .iter()
        .any(|c| c.entity == EntityKind::Element && c.entity_id == id && c.op == ChangeOp::Create));
    let public = f.get(&format!("/api/v1/elements/{id}"), As::Nobody);
    assert_eq!(public.status, Status::Ok);
    assert_eq!(public.body, *person);
    let export = f.get(&format!("/api/v1/elements/{id}/export"), As::Admin);
    assert_eq!(export.status, Status::Ok, "{}", export.body);
    let list = f.get("/api/v1/elements?type=person", As::Nobody);
    assert_eq!(list.body["items"][0]["id"], json!(id));
    for text in [public.body.to_string(), export.body.to_string(), list.body.to_string()] {
        assert!(!text.to_lowercase().contains("camille@example.org"), "{text}");
    }
    assert_eq!(
        f.store.account_by_email("camille@example.org").unwrap().unwrap().email,
        "Camille@Example.org"
    );

    // Registration signs in: the token and the cookie both work.
    let me = f.get("/api/v1/auth/me", As::Bearer(&token));
    assert_eq!(me.status, Status::Ok, "{}", me.body);
    assert_eq!(me.body["person"]["id"], json!(id));
    assert_eq!(me.body["email"], json!("Camille@Example.org"));
    assert_eq!(me.cache_control.as_deref(), Some("no-store"));
    let me = f.get("/api/v1/auth/me", As::Cookie(&raw, None));
    assert_eq!(me.status, Status::Ok, "{}", me.body);
    assert_eq!(me.body["person"]["id"], json!(id));

    // Login, with the email in another case.
    let login = f.login("camille@example.ORG", PASSWORD);
    assert_eq!(login.status, Status::Ok, "{}", login.body);
    assert_eq!(login.cache_control.as_deref(), Some("no-store"));
    let s = session(&login);
    assert_eq!(s.person, id);
    assert_ne!(s.token, token, "a new token per login");
    assert_eq!(login.body["person"], *person);
    let me = f.get("/api/v1/auth/me", As::Bearer(&s.token));
    assert_eq!(me.body["person"]["id"], json!(id));
    let me = f.get("/api/v1/auth/me", As::Cookie(&s.cookie, None));
    assert_eq!(me.body["person"]["id"], json!(id));
    // The CSRF token is the session's, given again on demand.
    let csrf = f.get("/api/v1/auth/csrf", As::Cookie(&s.cookie, None));
    assert_eq!(csrf.body["csrf"], json!(s.csrf));
    assert_eq!(
        f.get("/api/v1/auth/csrf", As::Bearer(&s.token)).body["csrf"],
        Value::Null
    );

    // Nobody, a bad token, the admin token: not a person.
    for who in [
        As::Nobody,
        As::Bearer("not-a-token"),
        As::Bearer(&"A".repeat(43)),
        As::Admin,
    ] {
        assert_error(&f.get("/api/v1/auth/me", who), Status::Unauthorized, "unauthorized");
    }
    // A token is not a session and a session is not a token.
    let session_as_token = Cookie::new(super::SESSION_COOKIE, s.token.clone());
    assert_error(
        &f.get("/api/v1/auth/me", As::Cookie(&session_as_token, None)),
        Status::Unauthorized,
        "unauthorized",
    );
}

#[test]
fn the_password_is_stored_as_argon2id_and_never_answered() {
    let f = fixture();
    let s = f.signed_up("Camille", "camille@example.org");
    let account = f.store.account_by_email("camille@example.org").unwrap().unwrap();
    assert!(
        account.password_hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{}",
        account.password_hash
    );
    assert!(!account.password_hash.contains(PASSWORD));
    assert!(!format!("{account:?}").contains(&account.password_hash));
    f.login("camille@example.org", PASSWORD);
    f.login("camille@example.org", "wrong password!");
    f.get("/api/v1/auth/me", As::Bearer(&s.token));
    f.get("/api/v1/auth/tokens", As::Bearer(&s.token));
    f.get(&format!("/api/v1/elements/{}", s.person), As::Admin);
    f.get(&format!("/api/v1/elements/{}/export", s.person), As::Admin);
    f.get("/api/v1/elements", As::Admin);
    f.get("/api/v1/status", As::Admin);
    let reset = json!({"password": "a brand new password"}).to_string();
    let uri = format!("/api/v1/admin/accounts/{}/password", s.person);
    f.call(Method::Post, &uri, Some(&reset), As::Admin, None);
    let new_hash = f
        .store
        .account_of(&crate::model::ElementId::parse(&s.person).unwrap())
        .unwrap()
        .unwrap();
    let bodies = f.bodies.borrow();
    assert!(bodies.len() >= 10);
    for body in bodies.iter() {
        for secret in [
            PASSWORD,
            "a brand new password",
            "wrong password!",
            &account.password_hash,
            &new_hash.password_hash,
            "$argon2",
            "password_hash",
        ] {
            assert!(!body.contains(secret), "{secret:?} in {body}");
        }
    }
}

#[test]
fn a_wrong_password_and_an_unknown_email_get_the_same_answer() {
    let f = fixture();
    f.signed_up("Camille", "camille@example.org");
    let mut wrong_times = Vec::new();
    let mut unknown_times = Vec::new();
    let mut answers = Vec::new();
    for i in 0..3 {
        let t = Instant::now();
        let wrong = f.login("camille@example.org", "not the password");
        wrong_times.push(t.elapsed());
        let t = Instant::now();
        let unknown = f.login(&format!("nobody{i}@example.org"), "not the password");
        unknown_times.push(t.elapsed());
        answers.push((wrong, unknown));
    }
    for (wrong, unknown) in &answers {
        assert_error(wrong, Status::Unauthorized, "wrong_credentials");
        assert_eq!((wrong.status, &wrong.body), (unknown.status, &unknown.body));
        assert_eq!(wrong.set_cookie, None);
        assert_eq!(unknown.set_cookie, None);
    }
    // An unknown email costs a password hash too (a dummy one): without it, the answer would
    // come in well under a millisecond instead of tens. Generous bound: only the order of
    // magnitude is checked.
    wrong_times.sort();
    unknown_times.sort();
    eprintln!("wrong password: {wrong_times:?}; unknown email: {unknown_times:?}");
    assert!(
        unknown_times[1] * 4 >= wrong_times[1],
        "unknown email {unknown_times:?} vs wrong password {wrong_times:?}"
    );
}

#[test]
fn failed_logins_are_throttled_per_account() {
    let f = fixture();
    f.signed_up("Camille", "camille@example.org");
    f.signed_up("Dominique", "dominique@example.org");
    for i in 0..5u8 {
        // From several addresses: the account's limit holds whatever the address.
        let a = f.login_from("camille@example.org", "not the password", Some(ip(i + 1)));
        assert_error(&a, Status::Unauthorized, "wrong_credentials");
    }
    let refused = f.login_from("CAMILLE@example.org", "not the password", Some(ip(9)));
    assert_error(&refused, Status::TooManyRequests, "too_many_attempts");
    let wait: u64 = refused.retry_after.as_deref().unwrap().parse().unwrap();
    assert!((1..=900).contains(&wait), "{wait}");
    // The right password is refused too while throttled.
    let right = f.login_from("camille@example.org", PASSWORD, Some(ip(9)));
    assert_error(&right, Status::TooManyRequests, "too_many_attempts");
    assert!(right.retry_after.is_some());
    assert_eq!(right.set_cookie, None);
    // Other accounts are not affected, from the same addresses.
    assert_eq!(
        f.login_from("dominique@example.org", PASSWORD, Some(ip(1))).status,
        Status::Ok
    );
    // An unknown email is throttled the same way (no hint that it has no account).
    for _ in 0..5 {
        assert_eq!(
            f.login_from("ghost@example.org", "x", Some(ip(20))).status,
            Status::Unauthorized
        );
    }
    assert_eq!(
        f.login_from("ghost@example.org", "x", Some(ip(21))).status,
        Status::TooManyRequests
    );
}

#[test]
fn failed_logins_are_throttled_per_address() {
    let f = fixture();
    f.signed_up("Camille", "camille@example.org");
    let attacker = ip(66);
    for i in 0..20 {
        let a = f.login_from(&format!("guess{i}@example.org"), "123456789012", Some(attacker));
        assert_error(&a, Status::Unauthorized, "wrong_credentials");
    }
    let refused = f.login_from("camille@example.org", PASSWORD, Some(attacker));
    assert_error(&refused, Status::TooManyRequests, "too_many_attempts");
    assert!(refused.retry_after.is_some());
    // A forged X-Real-IP does not make another client.
    let forged = f
        .client
        .post("/api/v1/auth/login")
        .remote(attacker)
        .header(ContentType::JSON)
        .header(Header::new("X-Real-IP", "10.9.9.9"))
        .body(json!({"email": "camille@example.org", "password": PASSWORD}).to_string())
        .dispatch();
    assert_eq!(forged.status(), Status::TooManyRequests);
    // Another address is not affected.
    assert_eq!(
        f.login_from("camille@example.org", PASSWORD, Some(ip(67))).status,
        Status::Ok
    );
}

#[test]
fn a_successful_login_does_not_wipe_the_addresses_failures() {
    let f = fixture();
    f.signed_up("Camille", "camille@example.org");
    let addr = ip(70);
    for i in 0..19 {
        let a = f.login_from(&format!("guess{i}@example.org"), "123456789012", Some(addr));
        assert_eq!(a.status, Status::Unauthorized);
    }
    // The attacker's own account logs in fine: that is not a failure, but it does not
    // forgive the 19 others.
    assert_eq!(
        f.login_from("camille@example.org", PASSWORD, Some(addr)).status,
        Status::Ok
    );
    assert_eq!(
        f.login_from("guess19@example.org", "123456789012", Some(addr)).status,
        Status::Unauthorized
    );
    let refused = f.login_from("camille@example.org", PASSWORD, Some(addr));
    assert_error(&refused, Status::TooManyRequests, "too_many_attempts");
}

#[test]
fn registrations_are_limited_per_address() {
    let f = fixture();
    for i in 0..10 {
        let body = json!({"name": "X", "email": format!("p{i}@example.org"), "password": PASSWORD}).to_string();
        let a = f.call(
            Method::Post,
            "/api/v1/auth/register",
            Some(&body),
            As::Nobody,
            Some(ip(5)),
        );
        assert_eq!(a.status, Status::Created, "{}", a.body);
    }
    let body = json!({"name": "X", "email": "p10@example.org", "password": PASSWORD}).to_string();
    let a = f.call(
        Method::Post,
        "/api/v1/auth/register",
        Some(&body),
        As::Nobody,
        Some(ip(5)),
    );
    assert_error(&a, Status::TooManyRequests, "too_many_attempts");
    assert!(a.retry_after.is_some());
    let a = f.call(
        Method::Post,
        "/api/v1/auth/register",
        Some(&body),
        As::Nobody,
        Some(ip(6)),
    );
    assert_eq!(a.status, Status::Created);
}

#[test]
fn logout_ends_the_session_or_revokes_the_token() {
    let f = fixture();
    let s = f.signed_up("Camille", "camille@example.org");
    // By cookie: needs the CSRF token.
    let a = f.call(
        Method::Post,
        "/api/v1/auth/logout",
        None,
        As::Cookie(&s.cookie, None),
        None,
    );
    assert_error(&a, Status::Forbidden, "csrf");
    assert_eq!(f.get("/api/v1/auth/me", As::Cookie(&s.cookie, None)).status, Status::Ok);
    let a = f.call(
        Method::Post,
        "/api/v1/auth/logout",
        None,
        As::Cookie(&s.cookie, Some(&s.csrf)),
        None,
    );
    assert_eq!(a.status, Status::NoContent);
    // The browser is told to forget the cookie; a copy of it is worthless anyway.
    let set_cookie = a.set_cookie.unwrap();
    assert!(set_cookie.starts_with("copi_session=;"), "{set_cookie}");
    assert!(set_cookie.contains("Max-Age=0"), "{set_cookie}");
    assert_error(
        &f.get("/api/v1/auth/me", As::Cookie(&s.cookie, None)),
        Status::Unauthorized,
        "unauthorized",
    );
    // The API token of the same login is another credential: still valid until its logout.
    assert_eq!(f.get("/api/v1/auth/me", As::Bearer(&s.token)).status, Status::Ok);
    let a = f.call(Method::Post, "/api/v1/auth/logout", None, As::Bearer(&s.token), None);
    assert_eq!(a.status, Status::NoContent);
    assert_eq!(a.set_cookie, None);
    assert_error(
        &f.get("/api/v1/auth/me", As::Bearer(&s.token)),
        Status::Unauthorized,
        "unauthorized",
    );
    let again = f.call(Method::Post, "/api/v1/auth/logout", None, As::Bearer(&s.token), None);
    assert_error(&again, Status::Unauthorized, "unauthorized");
}

#[test]
fn cookie_requests_that_change_things_need_the_csrf_token() {
    let f = fixture();
    let s = f.signed_up("Camille", "camille@example.org");
    let other = f.signed_up("Dominique", "dominique@example.org");
    let login = session(&f.login("camille@example.org", PASSWORD));
    let tokens = f.get("/api/v1/auth/tokens", As::Cookie(&s.cookie, None));
    assert_eq!(tokens.status, Status::Ok, "{}", tokens.body);
    let items = tokens.body["items"].as_array().unwrap();
    assert_eq!(
        items.len(),
        4,
        "two logins, an API token and a session each: {}",
        tokens.body
    );
    assert_eq!(tokens.body["next"], Value::Null);
    let current: Vec<&Value> = items.iter().filter(|t| t["current"] == json!(true)).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["kind"], json!("session"));
    // Oldest first: registration's token and session, then the login's.
    let kinds: Vec<&str> = items.iter().map(|t| t["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["api", "session", "api", "session"]);
    let ids: Vec<i64> = items.iter().map(|t| t["id"].as_i64().unwrap()).collect();
    let (login_token_id, login_session_id) = (ids[2], ids[3]);
    let uri = format!("/api/v1/auth/tokens/{login_token_id}");
    // Without the header, with another session's token, with another login's token: 403.
    for csrf in [None, Some(other.csrf.as_str()), Some(login.csrf.as_str()), Some("")] {
        let a = f.call(Method::Delete, &uri, None, As::Cookie(&s.cookie, csrf), None);
        assert_error(&a, Status::Forbidden, "csrf");
    }
    assert_eq!(f.get("/api/v1/auth/me", As::Bearer(&login.token)).status, Status::Ok);
    let a = f.call(Method::Delete, &uri, None, As::Cookie(&s.cookie, Some(&s.csrf)), None);
    assert_eq!(a.status, Status::NoContent, "{}", a.body);
    assert_eq!(
        f.get("/api/v1/auth/me", As::Bearer(&login.token)).status,
        Status::Unauthorized
    );
    // Bearer requests need no CSRF token.
    let a = f.call(
        Method::Delete,
        &format!("/api/v1/auth/tokens/{login_session_id}"),
        None,
        As::Bearer(&s.token),
        None,
    );
    assert_eq!(a.status, Status::NoContent);
    assert_eq!(
        f.get("/api/v1/auth/me", As::Cookie(&login.cookie, None)).status,
        Status::Unauthorized
    );
    let left = f.get("/api/v1/auth/tokens", As::Bearer(&s.token)).body["items"].clone();
    assert_eq!(left.as_array().unwrap().len(), 2);
    // Someone else's token is not found; nor is a revoked one.
    let theirs = f.get("/api/v1/auth/tokens", As::Bearer(&other.token)).body["items"][0]["id"]
        .as_i64()
        .unwrap();
    for id in [theirs, login_token_id] {
        let a = f.call(
            Method::Delete,
            &format!("/api/v1/auth/tokens/{id}"),
            None,
            As::Bearer(&s.token),
            None,
        );
        assert_error(&a, Status::NotFound, "not_found");
    }
    assert_eq!(f.get("/api/v1/auth/me", As::Bearer(&other.token)).status, Status::Ok);
}

#[test]
fn duplicate_emails_are_refused_whatever_their_case() {
    let f = fixture();
    f.signed_up("Camille", "Camille@Example.org");
    let before = f.store.last_seq().unwrap();
    for email in ["camille@example.org", "CAMILLE@EXAMPLE.ORG", "  camille@example.org "] {
        let a = f.register("Another Camille", email, PASSWORD);
        assert_error(&a, Status::Conflict, "conflict");
        assert_eq!(a.set_cookie, None);
    }
    assert_eq!(f.store.last_seq().unwrap(), before, "no person element was created");
    // The store refuses it too, even without the API's check first.
    let e = f
        .store
        .register_person("X", "CAMILLE@example.ORG", "$argon2id$x", &[])
        .unwrap_err();
    assert_eq!(e.status(), 409);
    assert_eq!(f.store.last_seq().unwrap(), before);
}

#[test]
fn bad_registrations_and_logins_get_clear_errors_and_change_nothing() {
    let f = fixture();
    f.signed_up("Camille", "camille@example.org");
    let before = f.store.last_seq().unwrap();
    let cases: &[(&str, &str, Status, &str)] = &[
        (
            "/api/v1/auth/register",
            r#"{"name": "Zoé", "email": "zoe@example.org", "password": "short"}"#,
            Status::UnprocessableEntity,
            "password",
        ),
        (
            "/api/v1/auth/register",
            r#"{"name": "Zoé", "email": "zoe@example.org", "password": "123456789"}"#,
            Status::UnprocessableEntity,
            "password",
        ),
        (
            "/api/v1/auth/register",
            r#"{"name": "Zoé", "email": "zoe@", "password": "a long enough one"}"#,
            Status::UnprocessableEntity,
            "email",
        ),
        (
            "/api/v1/auth/register",
            r#"{"name": "  ", "email": "zoe@example.org", "password": "a long enough one"}"#,
            Status::UnprocessableEntity,
            "name",
        ),
        (
            "/api/v1/auth/register",
            r#"{"email": "zoe@example.org", "password": "a long enough one"}"#,
            Status::UnprocessableEntity,
            "name",
        ),
        (
            "/api/v1/auth/register",
            r#"{"name": 42, "email": "zoe@example.org", "password": "a long enough one"}"#,
            Status::UnprocessableEntity,
            "name",
        ),
        (
            "/api/v1/auth/register",
            r#"{"name": "Zoé", "email": "zoe@example.org", "password": "a long enough one", "isAdmin": true}"#,
            Status::UnprocessableEntity,
            "isAdmin",
        ),
        (
            "/api/v1/auth/register",
            r#"{"name": "Zoé", "email": "zoe@example.org", "password": "#,
            Status::BadRequest,
            "JSON",
        ),
        ("/api/v1/auth/register", r#"["Zoé"]"#, Status::BadRequest, "object"),
        (
            "/api/v1/auth/login",
            r#"{"email": "camille@example.org"}"#,
            Status::UnprocessableEntity,
            "password",
        ),
        (
            "/api/v1/auth/login",
            r#"{"email": "", "password": "x"}"#,
            Status::UnprocessableEntity,
            "email",
        ),
        ("/api/v1/auth/login", "{", Status::BadRequest, "JSON"),
    ];
    for (uri, body, status, mentions) in cases {
        let a = f.call(Method::Post, uri, Some(body), As::Nobody, None);
        assert_eq!(a.status, *status, "{body}: {}", a.body);
        let message = a.body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(mentions), "{body}: {message}");
        assert!(
            !message.contains("short") && !message.contains("long enough"),
            "{message}"
        );
        assert_eq!(a.set_cookie, None);
    }
    // Not JSON: refused before anything (a cross-site form cannot send JSON).
    let form = f
        .client
        .post("/api/v1/auth/login")
        .header(ContentType::Form)
        .body("email=camille%40example.org&password=correct+horse+battery")
        .dispatch();
    assert_eq!(form.status(), Status::UnsupportedMediaType);
    let text = f
        .client
        .post("/api/v1/auth/register")
        .header(ContentType::Plain)
        .body(r#"{"name": "Zoé", "email": "zoe@example.org", "password": "a long enough one"}"#)
        .dispatch();
    assert_eq!(text.status(), Status::UnsupportedMediaType);
    assert_eq!(f.store.last_seq().unwrap(), before);
    assert!(f.store.account_by_email("zoe@example.org").unwrap().is_none());
    // None of these counted as failed logins: the right password still works.
    assert_eq!(f.login("camille@example.org", PASSWORD).status, Status::Ok);
}

#[test]
fn the_admin_resets_a_password_and_every_token_goes() {
    let f = fixture();
    let s = f.signed_up("Camille", "camille@example.org");
    let second = session(&f.login("camille@example.org", PASSWORD));
    for _ in 0..5 {
        f.login("camille@example.org", "forgotten it!");
    }
    assert_eq!(f.login("camille@example.org", PASSWORD).status, Status::TooManyRequests);
    let uri = format!("/api/v1/admin/accounts/{}/password", s.person);
    let new = json!({"password": "a brand new password"}).to_string();
    // Only the admin; not the person themselves, not by cookie.
    for who in [As::Nobody, As::Bearer(&s.token), As::Cookie(&s.cookie, Some(&s.csrf))] {
        assert_error(
            &f.call(Method::Post, &uri, Some(&new), who, None),
            Status::Unauthorized,
            "unauthorized",
        );
    }
    let weak = json!({"password": "short"}).to_string();
    assert_error(
        &f.call(Method::Post, &uri, Some(&weak), As::Admin, None),
        Status::UnprocessableEntity,
        "invalid",
    );
    let elsewhere = "/api/v1/admin/accounts/5f0c5a1b2c3d4e5f60718293/password";
    assert_error(
        &f.call(Method::Post, elsewhere, Some(&new), As::Admin, None),
        Status::NotFound,
        "not_found",
    );
    // Still the old password until the reset.
    let a = f.call(Method::Post, &uri, Some(&new), As::Admin, None);
    assert_eq!(a.status, Status::Ok, "{}", a.body);
    assert_eq!(a.body, json!({"person": s.person, "tokens_revoked": 4}));
    for who in [
        As::Bearer(&s.token),
        As::Bearer(&second.token),
        As::Cookie(&s.cookie, None),
        As::Cookie(&second.cookie, None),
    ] {
        assert_eq!(f.get("/api/v1/auth/me", who).status, Status::Unauthorized);
    }
    // The account's failed logins are forgotten with the old password.
    assert_error(
        &f.login("camille@example.org", PASSWORD),
        Status::Unauthorized,
        "wrong_credentials",
    );
    let after = f.login("camille@example.org", "a brand new password");
    assert_eq!(after.status, Status::Ok, "{}", after.body);
    assert_eq!(
        f.get("/api/v1/auth/me", As::Bearer(&session(&after).token)).status,
        Status::Ok
    );
}

#[test]
fn deleting_the_person_deletes_the_account() {
    let f = fixture();
    let s = f.signed_up("Camille", "camille@example.org");
    let a = f.call(
        Method::Delete,
        &format!("/api/v1/elements/{}", s.person),
        None,
        As::Admin,
        None,
    );
    assert_eq!(a.status, Status::NoContent);
    assert!(f.store.account_by_email("camille@example.org").unwrap().is_none());
    assert_eq!(
        f.get("/api/v1/auth/me", As::Bearer(&s.token)).status,
        Status::Unauthorized
    );
    assert_eq!(f.login("camille@example.org", PASSWORD).status, Status::Unauthorized);
    // The email is free again.
    assert_eq!(
        f.register("Camille", "camille@example.org", PASSWORD).status,
        Status::Created
    );
    assert!(f.store.check(false).unwrap().problems.is_empty());
}

#[test]
fn the_cookie_key_is_private_and_survives_a_restart() {
    let f = fixture();
    let key_path = f.dir.path().join(crate::accounts::SECRET_KEY_FILE);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
    let key = std::fs::read(&key_path).unwrap();
    assert_eq!(key.len(), crate::accounts::SECRET_KEY_LEN);
    let s = f.signed_up("Camille", "camille@example.org");

    // A restart: the hub starts again on the same data (a copy, so that the first hub's
    // search index writer does not stand in the way).
    let copy = tempfile::tempdir().unwrap();
    crate::store::snapshot::snapshot(f.store.path(), &copy.path().join(crate::store::DB_FILE)).unwrap();
    std::fs::copy(&key_path, copy.path().join(crate::accounts::SECRET_KEY_FILE)).unwrap();
    drop(f);
    let (client, _store) = start(copy.path());
    assert_eq!(
        std::fs::read(copy.path().join(crate::accounts::SECRET_KEY_FILE)).unwrap(),
        key
    );
    let me = client.get("/api/v1/auth/me").cookie(s.cookie.clone()).dispatch();
    assert_eq!(me.status(), Status::Ok, "a cookie from before the restart still works");
    let me = client
        .get("/api/v1/auth/me")
        .header(Header::new("Authorization", format!("Bearer {}", s.token)))
        .dispatch();
    assert_eq!(me.status(), Status::Ok);

    // A tampered cookie is refused.
    let mut value = s.cookie.value().to_owned();
    let last = value.pop().unwrap();
    value.push(if last == 'A' { 'B' } else { 'A' });
    let me = client
        .get("/api/v1/auth/me")
        .cookie(Cookie::new(super::SESSION_COOKIE, value))
        .dispatch();
    assert_eq!(me.status(), Status::Unauthorized);

    // With another key (another hub with the same data), the same cookie is worthless.
    let other = tempfile::tempdir().unwrap();
    let db = crate::store::DB_FILE;
    crate::store::snapshot::snapshot(&copy.path().join(db), &other.path().join(db)).unwrap();
    let (client, _store) = start(other.path());
    assert_ne!(
        std::fs::read(other.path().join(crate::accounts::SECRET_KEY_FILE)).unwrap(),
        key
    );
    let me = client.get("/api/v1/auth/me").cookie(s.cookie.clone()).dispatch();
    assert_eq!(me.status(), Status::Unauthorized);
    let me = client
        .get("/api/v1/auth/me")
        .header(Header::new("Authorization", format!("Bearer {}", s.token)))
        .dispatch();
    assert_eq!(
        me.status(),
        Status::Ok,
        "API tokens are in the store, not tied to the key"
    );
}

#[test]
fn the_existing_guards_are_unchanged() {
    let f = fixture();
    let s = f.signed_up("Camille", "camille@example.org");
    // A signed-in person creates elements (by token, or by cookie with the CSRF token) and
    // is their creator; the admin token still works.
    let body = r#"{"kind": "project", "name": "Jardin"}"#;
    for who in [As::Bearer(&s.token), As::Cookie(&s.cookie, Some(&s.csrf))] {
        let a = f.call(Method::Post, "/api/v1/elements", Some(body), who, None);
        assert_eq!(a.status, Status::Created, "{}", a.body);
        assert_eq!(a.body["creator"], json!(s.person));
    }
    assert_eq!(
        f.call(Method::Post, "/api/v1/elements", Some(body), As::Admin, None)
            .status,
        Status::Created
    );
}

#[test]
fn a_damaged_cookie_key_does_not_stop_the_hub() {
    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join(crate::accounts::SECRET_KEY_FILE);
    std::fs::write(&key_path, b"not a key").unwrap();
    let (client, _store) = start(dir.path());
    let body = json!({"name": "Camille", "email": "camille@example.org", "password": PASSWORD}).to_string();
    let r = client
        .post("/api/v1/auth/register")
        .header(ContentType::JSON)
        .body(body)
        .dispatch();
    assert_eq!(r.status(), Status::Created);
    let cookie = r.cookies().get(super::SESSION_COOKIE).cloned().unwrap();
    let me = client.get("/api/v1/auth/me").cookie(cookie).dispatch();
    assert_eq!(me.status(), Status::Ok, "sessions work until the next restart");
    // The damaged file is left for the admin to look at.
    assert_eq!(std::fs::read(&key_path).unwrap(), b"not a key");
}
