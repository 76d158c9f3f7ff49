//! Tests for the threats of `docs/THREAT-MODEL.md` that no other test covered, through
//! Rocket's local client on a real store in a temporary data dir: every route that changes
//! something refuses a cross-site request (the table names each route's defence, and a route
//! missing from it fails the test), stored markup stays text on every surface, files a browser
//! could run are served inert, the security headers of every kind of answer, the session
//! cookies' flags and fixation, a request for another host name (DNS rebinding) changes
//! nothing, sub-elements only under elements one belongs to, no secret in the logs, bodies
//! past their limits refused.

use std::cell::Cell;
use std::collections::BTreeSet;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};

use rocket::http::{ContentType, Cookie, Header, Method, Status};
use rocket::local::blocking::{Client, LocalResponse};
use serde_json::{json, Value};

use crate::api::{rocket, Hub, SESSION_COOKIE};
use crate::config::{Config, Module};
use crate::store::Store;

const ADMIN: &str = "threat-test-admin-token-0123456789";
const PASSWORD: &str = "correct horse battery";

struct World {
    client: Client,
    store: Arc<Store>,
    dir: tempfile::TempDir,
    /// Each registration from its own address (registrations are limited per address).
    next_ip: Cell<u8>,
}

struct Person {
    id: String,
    slug: String,
    email: String,
    token: String,
    csrf: String,
    cookie: Cookie<'static>,
}

/// A hub on its own open access point with every module on and the admin token; `main`:
/// also serving as a main instance (the sync endpoints and the hub tokens' routes).
fn world(main: bool) -> World {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        data: dir.path().to_owned(),
        admin_token: Some(ADMIN.into()),
        modules: Module::ALL.to_vec(),
        wifi: Some(crate::config::WifiConfig {
            country: Some("FR".into()),
            ..Default::default()
        }),
        ..Config::default()
    };
    let hub = Hub::open(config).unwrap();
    let store = hub.store.clone();
    let mut built = rocket(hub);
    if main {
        built = built.attach(crate::api::sync::stage());
    }
    World {
        // Untracked: a request carries only the cookies a test gives it.
        client: Client::untracked(built).unwrap(),
        store,
        dir,
        next_ip: Cell::new(1),
    }
}

fn json_of(r: LocalResponse<'_>) -> (Status, Value) {
    let status = r.status();
    let body = r
        .into_string()
        .map_or(Value::Null, |t| serde_json::from_str(&t).unwrap_or(Value::Null));
    (status, body)
}

fn set_cookie<'a>(r: &'a LocalResponse<'_>, name: &str) -> &'a str {
    r.headers()
        .get("Set-Cookie")
        .find(|c| c.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie set"))
}

/// The value of the hidden field `name` of a page.
fn hidden(body: &str, name: &str) -> String {
    let at = body
        .find(&format!("name=\"{name}\" value=\""))
        .unwrap_or_else(|| panic!("no {name} field"))
        + name.len()
        + 15;
    body[at..at + body[at..].find('"').unwrap()].to_owned()
}

impl World {
    /// A JSON request with a bearer token (or none).
    fn call(&self, method: Method, uri: &str, body: Option<Value>, bearer: Option<&str>) -> (Status, Value) {
        let mut req = self.client.req(method, uri.to_owned());
        if let Some(b) = body {
            req = req.header(ContentType::JSON).body(b.to_string());
        }
        if let Some(t) = bearer {
            req = req.header(Header::new("Authorization", format!("Bearer {t}")));
        }
        json_of(req.dispatch())
    }

    fn created(&self, uri: &str, body: Value, bearer: &str) -> Value {
        let (status, body) = self.call(Method::Post, uri, Some(body), Some(bearer));
        assert_eq!(status, Status::Created, "{uri}: {body}");
        body
    }

    /// Registers a person (each from its own address).
    fn person(&self, name: &str) -> Person {
        let n = self.next_ip.get();
        self.next_ip.set(n + 1);
        let email = format!("{}@example.org", name.to_lowercase());
        let r = self
            .client
            .post("/api/v1/auth/register")
            .header(ContentType::JSON)
            .remote(SocketAddr::from(([10, 0, 2, n], 40000)))
            .body(json!({"name": name, "email": email, "password": PASSWORD}).to_string())
            .dispatch();
        assert_eq!(r.status(), Status::Created);
        let cookie = r.cookies().get(SESSION_COOKIE).cloned().expect("a session cookie");
        let body: Value = r.into_json().unwrap();
        Person {
            id: body["person"]["id"].as_str().unwrap().to_owned(),
            slug: body["person"]["slug"].as_str().unwrap_or_default().to_owned(),
            email,
            token: body["token"].as_str().unwrap().to_owned(),
            csrf: body["csrf"].as_str().unwrap().to_owned(),
            cookie,
        }
    }

    /// The admin's browser session cookie and the CSRF token of its forms.
    fn admin_session(&self) -> (Cookie<'static>, String) {
        let r = self
            .client
            .post("/admin/login")
            .header(ContentType::Form)
            .body(format!("secret={ADMIN}"))
            .dispatch();
        assert_eq!(r.status(), Status::SeeOther);
        let cookie = Cookie::new("copi_admin", r.cookies().get("copi_admin").unwrap().value().to_owned());
        let page = self.client.get("/admin").cookie(cookie.clone()).dispatch();
        assert_eq!(page.status(), Status::Ok);
        let csrf = hidden(&page.into_string().unwrap(), "csrf");
        (cookie, csrf)
    }

    /// Everything the hub keeps: every table of the store (but the informational "last used"
    /// notes a request with credentials refreshes) and the files in the data dir's uploads.
    fn fingerprint(&self) -> String {
        let mut out = self
            .store
            .read(|c| {
                let mut names = Vec::new();
                let mut stmt =
                    c.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")?;
                for name in stmt.query_map([], |r| r.get::<_, String>(0))? {
                    names.push(name?);
                }
                names.sort();
                let mut out = String::new();
                for table in names {
                    let mut stmt = c.prepare(&format!("SELECT * FROM \"{table}\""))?;
                    let columns: Vec<String> = stmt.column_names().iter().map(|s| s.to_string()).collect();
                    let mut rows = Vec::new();
                    let mut q = stmt.query([])?;
                    while let Some(row) = q.next()? {
                        let mut line = String::new();
                        for (i, column) in columns.iter().enumerate() {
                            if column != "last_used" && column != "last_hub" {
                                let v: rusqlite::types::Value = row.get(i)?;
                                line.push_str(&format!("{column}={v:?};"));
                            }
                        }
                        rows.push(line);
                    }
                    rows.sort();
                    out.push_str(&format!("{table}:\n{}\n", rows.join("\n")));
                }
                Ok(out)
            })
            .unwrap();
        let mut files = Vec::new();
        let mut dirs = vec![self.dir.path().join("uploads")];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                if e.path().is_dir() {
                    dirs.push(e.path());
                } else {
                    files.push(e.path().display().to_string());
                }
            }
        }
        files.sort();
        out.push_str(&files.join("\n"));
        out
    }
}

// ---- CSRF: every route that changes something ---------------------------------------------

/// What keeps another site from making a visitor's browser change something on the hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Defence {
    /// The session cookie needs the `X-CSRF-Token` header (a custom header, which a page of
    /// another origin cannot add without a CORS preflight the hub never grants); a bearer
    /// token needs none. Refused with 403 `csrf`.
    CsrfHeader,
    /// The admin token (`Authorization: Bearer`), which a browser never sends on its own: 401.
    AdminBearer,
    /// A main's sync endpoints: a hub token or the admin token (bearer): 401.
    SyncToken,
    /// Anonymous JSON routes (no credential checked): `Content-Type: application/json`, which a
    /// cross-site form cannot send (it needs a preflight): 415.
    JsonOnly,
    /// An HTML form of a signed-in person: the session's CSRF token in the `csrf` field.
    SessionField,
    /// A form sent before signing in: the double-submit token (`copi_form` cookie, SameSite
    /// Strict and HttpOnly, and the same value in the field).
    DoubleSubmit,
    /// An admin form: the CSRF token derived from the admin session, in the field.
    AdminField,
    /// The first-boot wizard: its session (opened by the setup code) and its CSRF token.
    Setup,
    /// Nothing to forge: the form carries the secret itself (the admin's password or token).
    Secret,
}

use Defence::*;

/// Every route that is not GET, HEAD or OPTIONS, with its defence. A new route must be added
/// here (the test fails until it is), which makes whoever adds it say how it is defended.
const UNSAFE_ROUTES: &[(Method, &str, Defence)] = &[
    // The API.
    (Method::Post, "/api/v1/auth/register", JsonOnly),
    (Method::Post, "/api/v1/auth/login", JsonOnly),
    (Method::Post, "/api/v1/auth/logout", CsrfHeader),
    (Method::Delete, "/api/v1/auth/tokens/<id>", CsrfHeader),
    (Method::Post, "/api/v1/admin/accounts/<person>/password", AdminBearer),
    (Method::Post, "/api/v1/elements", CsrfHeader),
    (Method::Patch, "/api/v1/elements/<id>", CsrfHeader),
    (Method::Delete, "/api/v1/elements/<id>", CsrfHeader),
    (
        Method::Put,
        "/api/v1/elements/<id>/links/<link_type>/<other>",
        AdminBearer,
    ),
    (
        Method::Delete,
        "/api/v1/elements/<id>/links/<link_type>/<other>",
        AdminBearer,
    ),
    (Method::Post, "/api/v1/elements/<id>/invitations", CsrfHeader),
    (Method::Delete, "/api/v1/elements/<id>/invitations/<code>", CsrfHeader),
    (Method::Post, "/api/v1/join/<code>", CsrfHeader),
    (Method::Post, "/api/v1/elements/<id>/join", CsrfHeader),
    (Method::Post, "/api/v1/elements/<id>/members/<person>", CsrfHeader),
    (Method::Delete, "/api/v1/elements/<id>/members/<person>", CsrfHeader),
    (Method::Post, "/api/v1/elements/<id>/follow", CsrfHeader),
    (Method::Delete, "/api/v1/elements/<id>/follow", CsrfHeader),
    (Method::Post, "/api/v1/elements/<id>/posts", CsrfHeader),
    (Method::Patch, "/api/v1/posts/<id>", CsrfHeader),
    (Method::Delete, "/api/v1/posts/<id>", CsrfHeader),
    (Method::Post, "/api/v1/posts/<id>/comments", CsrfHeader),
    (Method::Post, "/api/v1/elements/<id>/comments", CsrfHeader),
    (Method::Patch, "/api/v1/comments/<id>", CsrfHeader),
    (Method::Delete, "/api/v1/comments/<id>", CsrfHeader),
    (Method::Post, "/api/v1/elements/<id>/proposals", CsrfHeader),
    (Method::Patch, "/api/v1/proposals/<id>", CsrfHeader),
    (Method::Put, "/api/v1/proposals/<id>/vote", CsrfHeader),
    (Method::Post, "/api/v1/elements/<id>/actions", CsrfHeader),
    (Method::Patch, "/api/v1/actions/<id>", CsrfHeader),
    (Method::Post, "/api/v1/elements/<id>/files", CsrfHeader),
    (Method::Delete, "/api/v1/files/<id>", CsrfHeader),
    (Method::Put, "/api/v1/elements/<id>/urls", CsrfHeader),
    (Method::Post, "/api/v1/reports", JsonOnly),
    (Method::Post, "/api/v1/submissions", JsonOnly),
    (Method::Post, "/api/v1/admin/reports/<id>/resolve", AdminBearer),
    (Method::Post, "/api/v1/admin/moderation/<kind>/<id>", AdminBearer),
    (Method::Post, "/api/v1/admin/accounts/<person>/block", AdminBearer),
    (Method::Post, "/api/v1/admin/accounts/<person>/unblock", AdminBearer),
    (Method::Put, "/api/v1/admin/modules", AdminBearer),
    (Method::Post, "/api/v1/admin/sync/now", AdminBearer),
    (Method::Post, "/api/v1/admin/sync/conflicts/<id>/pick", AdminBearer),
    (Method::Post, "/api/v1/admin/sync/tokens", AdminBearer),
    (Method::Delete, "/api/v1/admin/sync/tokens/<id>", AdminBearer),
    (Method::Post, "/api/v1/sync/hello", SyncToken),
    (Method::Post, "/api/v1/sync/push", SyncToken),
    // The pages' forms.
    (Method::Post, "/signup", DoubleSubmit),
    (Method::Post, "/login", DoubleSubmit),
    (Method::Post, "/logout", SessionField),
    (Method::Post, "/account/revoke", SessionField),
    (Method::Post, "/<kind>/<slug>/act", SessionField),
    (Method::Post, "/<kind>/<slug>/report", SessionField),
    (Method::Post, "/submit", DoubleSubmit),
    (Method::Post, "/join/<code>", SessionField),
    (Method::Post, "/<kind>/<slug>/cooperative/proposals", SessionField),
    (Method::Post, "/<kind>/<slug>/cooperative/actions", SessionField),
    (Method::Post, "/proposals/<id>/vote", SessionField),
    (Method::Post, "/proposals/<id>/close", SessionField),
    (Method::Post, "/actions/<id>/status", SessionField),
    (Method::Post, "/setup/code", Setup),
    (Method::Post, "/setup/admin", Setup),
    (Method::Post, "/setup/hub", Setup),
    (Method::Post, "/setup/modules", Setup),
    (Method::Post, "/admin/login", Secret),
    (Method::Post, "/admin/logout", AdminField),
    (Method::Post, "/admin/modules", AdminField),
    (Method::Post, "/admin/moderate", AdminField),
    (Method::Post, "/admin/resolve", AdminField),
    (Method::Post, "/admin/conflicts/<id>/pick", AdminField),
    (Method::Post, "/admin/sync/now", AdminField),
    (Method::Post, "/admin/sync/tokens", AdminField),
    (Method::Post, "/admin/sync/tokens/<id>/revoke", AdminField),
];

/// The things the routes' paths name, made through the API.
struct Targets {
    alice: Person,
    bob: Person,
    /// Alice's organisation (she is its admin).
    org: String,
    org_slug: String,
    /// An event of Bob's, for the admin to hide.
    event: String,
    post: String,
    comment: String,
    proposal: String,
    action: String,
    file: String,
    /// An invitation of Bob's to his organisation.
    code: String,
    /// A second API token of Alice's (revocable without ending her session).
    spare_token: i64,
    hub_token: i64,
    report: i64,
}

fn targets(w: &World) -> Targets {
    let alice = w.person("Alice");
    let bob = w.person("Bob");
    let org = w.created(
        "/api/v1/elements",
        json!({"kind": "organization", "name": "Jardin des Lilas", "type": "NGO"}),
        &alice.token,
    );
    let org_id = org["id"].as_str().unwrap().to_owned();
    let bobs = w.created(
        "/api/v1/elements",
        json!({"kind": "organization", "name": "Atelier vélo", "type": "NGO"}),
        &bob.token,
    );
    let bobs = bobs["id"].as_str().unwrap();
    let event = w.created(
        "/api/v1/elements",
        json!({"kind": "event", "name": "Troc de graines", "type": "meeting",
               "startDate": "2031-03-14T14:00:00+01:00", "endDate": "2031-03-14T18:00:00+01:00"}),
        &bob.token,
    );
    let post = w.created(
        &format!("/api/v1/elements/{org_id}/posts"),
        json!({"text": "Réunion jeudi", "audience": "public"}),
        &alice.token,
    );
    let post = post["id"].as_str().unwrap().to_owned();
    let comment = w.created(
        &format!("/api/v1/posts/{post}/comments"),
        json!({"text": "J'y serai"}),
        &alice.token,
    );
    let proposal = w.created(
        &format!("/api/v1/elements/{org_id}/proposals"),
        json!({"title": "Acheter une grelinette"}),
        &alice.token,
    );
    let action = w.created(
        &format!("/api/v1/elements/{org_id}/actions"),
        json!({"title": "Arroser"}),
        &alice.token,
    );
    let r = w
        .client
        .post(format!("/api/v1/elements/{org_id}/files?name=notes.txt"))
        .header(ContentType::Plain)
        .header(Header::new("Authorization", format!("Bearer {}", alice.token)))
        .body("Semis de printemps")
        .dispatch();
    let (status, file) = json_of(r);
    assert_eq!(status, Status::Created, "{file}");
    let code = w.created(&format!("/api/v1/elements/{bobs}/invitations"), json!({}), &bob.token);
    // A second sign-in of Alice's by the API: its token is the one the forms revoke.
    let r = w
        .client
        .post("/api/v1/auth/login")
        .header(ContentType::JSON)
        .body(json!({"email": alice.email, "password": PASSWORD}).to_string())
        .dispatch();
    let (status, login) = json_of(r);
    assert_eq!(status, Status::Ok, "{login}");
    let (_, tokens) = w.call(
        Method::Get,
        "/api/v1/auth/tokens",
        None,
        Some(login["token"].as_str().unwrap()),
    );
    let spare_token = tokens["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["current"] == json!(true))
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let hub_token = w.created("/api/v1/admin/sync/tokens", json!({"name": "Hub de la Gare"}), ADMIN);
    let (status, report) = w.call(
        Method::Post,
        "/api/v1/reports",
        Some(json!({"target": {"kind": "element", "id": org_id}, "reason": "Horaires faux"})),
        None,
    );
    assert_eq!(status, Status::Created, "{report}");
    Targets {
        org_slug: org["slug"].as_str().unwrap().to_owned(),
        org: org_id,
        event: event["id"].as_str().unwrap().to_owned(),
        post,
        comment: comment["id"].as_str().unwrap().to_owned(),
        proposal: proposal["id"].as_str().unwrap().to_owned(),
        action: action["id"].as_str().unwrap().to_owned(),
        file: file["_id"]["$id"].as_str().unwrap().to_owned(),
        code: code["code"].as_str().unwrap().to_owned(),
        spare_token,
        hub_token: hub_token["id"].as_i64().unwrap(),
        report: report["id"].as_i64().unwrap(),
        alice,
        bob,
    }
}

impl Targets {
    /// A route's path with real things in its dynamic segments.
    fn fill(&self, path: &str) -> String {
        let api = path.starts_with("/api/");
        let segments: Vec<&str> = path.split('/').collect();
        let mut out = Vec::new();
        for (i, s) in segments.iter().enumerate() {
            let before = if i > 0 { segments[i - 1] } else { "" };
            let value = match *s {
                "<id>" => match before {
                    "elements" | "<kind>" => self.org.clone(),
                    "posts" => self.post.clone(),
                    "comments" => self.comment.clone(),
                    "proposals" => self.proposal.clone(),
                    "actions" => self.action.clone(),
                    "files" => self.file.clone(),
                    "tokens" if path.starts_with("/api/v1/auth/") => self.spare_token.to_string(),
                    "tokens" => self.hub_token.to_string(),
                    "reports" => self.report.to_string(),
                    "conflicts" => "1".into(),
                    other => panic!("no value for <id> after {other} in {path}"),
                },
                "<kind>" if api => "element".into(),
                "<kind>" => "organization".into(),
                "<slug>" => self.org_slug.clone(),
                "<person>" | "<other>" => self.bob.id.clone(),
                "<code>" => self.code.clone(),
                "<link_type>" => "members".into(),
                s if s.starts_with('<') => panic!("no value for {s} in {path}"),
                s => s.to_owned(),
            };
            out.push(value);
        }
        out.join("/")
    }
}

/// A form of the pages: its body (`{csrf}` stands for the token), what a forged one gets, and
/// what the same form with the right token gets (none: not sent, the route ends a session or
/// needs what the test hub has not).
struct FormCase {
    path: &'static str,
    body: String,
    forged: Status,
    genuine: Option<Status>,
}

fn form_cases(t: &Targets) -> Vec<FormCase> {
    let all_modules: String = Module::ALL.iter().map(|m| format!("&on={}", m.as_str())).collect();
    let case = |path, body: &str, forged, genuine| FormCase {
        path,
        body: body.to_owned(),
        forged,
        genuine,
    };
    vec![
        case(
            "/signup",
            "name=Eve&email=eve%40example.org&password=correct+horse+battery&csrf={csrf}",
            Status::Forbidden,
            Some(Status::SeeOther),
        ),
        case(
            "/login",
            "email=alice%40example.org&password=correct+horse+battery&csrf={csrf}",
            Status::Forbidden,
            Some(Status::SeeOther),
        ),
        case(
            "/account/revoke",
            &format!("csrf={{csrf}}&id={}", t.spare_token),
            Status::Forbidden,
            Some(Status::SeeOther),
        ),
        case(
            "/<kind>/<slug>/act",
            "csrf={csrf}&text=Bravo",
            Status::Forbidden,
            Some(Status::SeeOther),
        ),
        case(
            "/<kind>/<slug>/report",
            "csrf={csrf}&reason=Doublon",
            Status::Forbidden,
            Some(Status::Ok),
        ),
        case(
            "/submit",
            "csrf={csrf}&kind=event&name=Bal+folk&start=2031-06-21T20%3A00&postal_code=26400&locality=Crest",
            Status::Forbidden,
            Some(Status::Ok),
        ),
        case("/join/<code>", "csrf={csrf}", Status::Forbidden, Some(Status::SeeOther)),
        case(
            "/<kind>/<slug>/cooperative/proposals",
            "csrf={csrf}&title=Planter+des+haies",
            Status::Forbidden,
            Some(Status::SeeOther),
        ),
        case(
            "/<kind>/<slug>/cooperative/actions",
            "csrf={csrf}&title=Tailler+les+haies",
            Status::Forbidden,
            Some(Status::SeeOther),
        ),
        case(
            "/proposals/<id>/vote",
            "csrf={csrf}&vote=for&back=/",
            Status::Forbidden,
            Some(Status::SeeOther),
        ),
        case(
            "/proposals/<id>/close",
            "csrf={csrf}&back=/",
            Status::Forbidden,
            Some(Status::SeeOther),
        ),
        case(
            "/actions/<id>/status",
            "csrf={csrf}&status=done&back=/",
            Status::Forbidden,
            Some(Status::SeeOther),
        ),
        // The wizard is not open in this browser (the code was never typed): the other tests of
        // the wizard (`setup_tests.rs`) send forged tokens with its session.
        case("/setup/code", "code=ACDE-FGHJ-KMNP-QR", Status::Unauthorized, None),
        case(
            "/setup/admin",
            "csrf={csrf}&name=Eve&email=eve2%40example.org&password=a+long+password&password2=a+long+password",
            Status::Unauthorized,
            None,
        ),
        case(
            "/setup/hub",
            "csrf={csrf}&name=Hub&territory=26400",
            Status::Unauthorized,
            None,
        ),
        case("/setup/modules", "csrf={csrf}&on=search", Status::Unauthorized, None),
        case("/admin/login", "secret={csrf}", Status::Unauthorized, None),
        case(
            "/admin/modules",
            &format!("csrf={{csrf}}{all_modules}"),
            Status::BadRequest,
            Some(Status::SeeOther),
        ),
        case(
            "/admin/moderate",
            &format!("csrf={{csrf}}&kind=element&id={}&action=hide", t.event),
            Status::BadRequest,
            Some(Status::SeeOther),
        ),
        case(
            "/admin/resolve",
            &format!("csrf={{csrf}}&report={}", t.report),
            Status::BadRequest,
            Some(Status::SeeOther),
        ),
        case("/admin/conflicts/<id>/pick", "csrf={csrf}", Status::BadRequest, None),
        case("/admin/sync/now", "csrf={csrf}", Status::BadRequest, None),
        case(
            "/admin/sync/tokens",
            "csrf={csrf}&name=Hub+du+marche",
            Status::BadRequest,
            Some(Status::Ok),
        ),
        case(
            "/admin/sync/tokens/<id>/revoke",
            "csrf={csrf}",
            Status::BadRequest,
            Some(Status::SeeOther),
        ),
        // Last: they end the sessions the others use.
        case("/admin/logout", "csrf={csrf}", Status::Forbidden, None),
        case("/logout", "csrf={csrf}", Status::Forbidden, None),
    ]
}

/// The cookies a browser would hold: Alice's session, the admin's session and a form token.
fn victim_cookies(t: &Targets, admin: &Cookie<'static>, form: &str) -> Vec<Cookie<'static>> {
    vec![
        t.alice.cookie.clone(),
        admin.clone(),
        Cookie::new("copi_form", form.to_owned()),
    ]
}

#[test]
fn every_route_that_changes_something_refuses_a_cross_site_request() {
    let w = world(true);
    let t = targets(&w);
    let (admin, admin_csrf) = w.admin_session();
    let form_token = "f".repeat(43);

    // The table names every unsafe route, and only those.
    let mounted: BTreeSet<(String, String)> = w
        .client
        .rocket()
        .routes()
        .filter(|r| !matches!(r.method, Method::Get | Method::Head | Method::Options))
        .map(|r| (r.method.to_string(), r.uri.path().to_owned()))
        .collect();
    let listed: BTreeSet<(String, String)> = UNSAFE_ROUTES
        .iter()
        .map(|(m, p, _)| (m.to_string(), (*p).to_owned()))
        .collect();
    assert_eq!(listed.len(), UNSAFE_ROUTES.len(), "a route is listed twice");
    let missing: Vec<_> = mounted.difference(&listed).collect();
    assert!(
        missing.is_empty(),
        "routes without a defence in UNSAFE_ROUTES: {missing:?}"
    );
    let gone: Vec<_> = listed.difference(&mounted).collect();
    assert!(
        gone.is_empty(),
        "UNSAFE_ROUTES names routes that are not mounted: {gone:?}"
    );

    // The API: what a cross-site page can send (a "simple" request: a text/plain body, the
    // browser's cookies, no header of its own) is refused before anything happens.
    for (method, path, defence) in UNSAFE_ROUTES.iter().filter(|(_, p, _)| p.starts_with("/api/")) {
        let uri = t.fill(path);
        let before = w.fingerprint();
        let r = w
            .client
            .req(*method, uri.clone())
            .cookies(victim_cookies(&t, &admin, &form_token))
            .header(ContentType::Plain)
            .body("{}")
            .dispatch();
        let (status, body) = json_of(r);
        let expected = match defence {
            CsrfHeader => Status::Forbidden,
            AdminBearer | SyncToken => Status::Unauthorized,
            JsonOnly => Status::UnsupportedMediaType,
            other => panic!("{path}: {other:?} is a defence of forms"),
        };
        assert_eq!(status, expected, "{method} {uri}: {body}");
        if *defence == CsrfHeader {
            assert_eq!(body["error"]["code"], json!("csrf"), "{method} {uri}: {body}");
        }
        assert!(before == w.fingerprint(), "{method} {uri} changed something");
    }

    // The forms: with a token that is not the right one, refused and nothing changes; with
    // the right one, the same form goes through (so the refusal was the token's doing).
    let cases = form_cases(&t);
    let form_paths: BTreeSet<&str> = UNSAFE_ROUTES
        .iter()
        .filter(|(_, p, _)| !p.starts_with("/api/"))
        .map(|(_, p, _)| *p)
        .collect();
    assert_eq!(
        form_paths,
        cases.iter().map(|c| c.path).collect::<BTreeSet<_>>(),
        "every form route has a case"
    );
    for case in &cases {
        let defence = UNSAFE_ROUTES.iter().find(|(_, p, _)| *p == case.path).unwrap().2;
        let uri = t.fill(case.path);
        let right = match defence {
            SessionField => t.alice.csrf.clone(),
            DoubleSubmit => form_token.clone(),
            AdminField => admin_csrf.clone(),
            Secret => ADMIN.to_owned(),
            _ => String::new(),
        };
        let send = |token: &str| {
            let body = case.body.replace("{csrf}", &crate::web::layout::enc(token));
            w.client
                .post(uri.clone())
                .cookies(victim_cookies(&t, &admin, &form_token))
                .header(ContentType::Form)
                .body(body)
                .dispatch()
                .status()
        };
        let before = w.fingerprint();
        assert_eq!(send("forged-by-another-site"), case.forged, "forged POST {uri}");
        assert!(before == w.fingerprint(), "a forged POST {uri} changed something");
        if let Some(expected) = case.genuine {
            assert_eq!(send(&right), expected, "POST {uri} with its token");
        }
    }
    // The sessions the forged logouts aimed at still work.
    let (status, _) = json_of(
        w.client
            .get("/api/v1/auth/me")
            .cookie(t.alice.cookie.clone())
            .dispatch(),
    );
    assert_eq!(status, Status::Ok);
    assert_eq!(w.client.get("/admin").cookie(admin).dispatch().status(), Status::Ok);
}

// ---- stored XSS ---------------------------------------------------------------------------

/// What a person may type that a browser would run if a page wrote it as it is.
const PAYLOADS: [&str; 6] = [
    "<script>alert(1)</script>",
    "\"><img src=x onerror=alert(2)>",
    "<svg onload=alert(3)>",
    "</textarea><iframe src=javascript:alert(4)>",
    "x\" onmouseover=\"alert(5)",
    "</script><script>alert(6)</script>",
];

/// The raw forms that must never appear in a page (their escaped text may).
const RAW: [&str; 7] = [
    "<script>alert(",
    "<img src=x",
    "<svg onload",
    "<iframe",
    "\" onmouseover=\"alert",
    "href=\"javascript:",
    "</script><script>",
];

#[test]
fn markup_typed_by_people_stays_text_on_every_surface() {
    let w = world(false);
    let mallory = w.person("Mallory");
    let name = format!("Zyxquo {}", PAYLOADS[0]);
    let day = jiff::Timestamp::now()
        .to_zoned_datetime(w.store.zone().clone())
        .date()
        .tomorrow()
        .unwrap();
    let org = w.created(
        "/api/v1/elements",
        json!({"kind": "organization", "name": name, "type": "NGO",
               "shortDescription": PAYLOADS[1], "description": PAYLOADS.join(" "),
               "tags": ["zyxquo", PAYLOADS[4]],
               "address": {"@type": "PostalAddress", "postalCode": "26400", "addressLocality": PAYLOADS[2], "codeInsee": "26108"},
               "geo": crate::model::geo_coordinates(44.728, 5.022)}),
        &mallory.token,
    );
    let id = org["id"].as_str().unwrap().to_owned();
    let slug = org["slug"].as_str().unwrap().to_owned();
    let event = w.created(
        "/api/v1/elements",
        json!({"kind": "event", "name": format!("Zyxquo fête {}", PAYLOADS[5]), "type": "festival",
               "description": PAYLOADS[3], "parentId": id,
               "startDate": format!("{day}T18:00:00+01:00"), "endDate": format!("{day}T20:00:00+01:00"),
               "address": {"@type": "PostalAddress", "postalCode": "26400", "addressLocality": "Crest", "codeInsee": "26108"}}),
        &mallory.token,
    );
    let event_slug = event["slug"].as_str().unwrap().to_owned();
    let post = w.created(
        &format!("/api/v1/elements/{id}/posts"),
        json!({"text": PAYLOADS.join(" "), "audience": "public"}),
        &mallory.token,
    );
    w.created(
        &format!("/api/v1/posts/{}/comments", post["id"].as_str().unwrap()),
        json!({"text": PAYLOADS[3]}),
        &mallory.token,
    );
    w.created(
        &format!("/api/v1/elements/{id}/proposals"),
        json!({"title": PAYLOADS[0], "description": PAYLOADS[1]}),
        &mallory.token,
    );
    let (status, body) = w.call(
        Method::Put,
        &format!("/api/v1/elements/{id}/urls"),
        Some(json!([{"url": "https://example.org/", "title": PAYLOADS[2]}])),
        Some(&mallory.token),
    );
    assert_eq!(status, Status::Ok, "{body}");
    // A link list as an import or a sync could bring it, past the API's own checks.
    let (status, body) = w.call(
        Method::Patch,
        &format!("/api/v1/elements/{id}"),
        Some(json!({"urls": ["javascript:alert(7)", {"url": "javascript:alert(8)", "title": PAYLOADS[1]}]})),
        Some(&mallory.token),
    );
    assert_eq!(status, Status::Ok, "{body}");
    // A file whose name is markup.
    let (ct, multipart) = {
        let boundary = "XSSBOUNDARY";
        let body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"<svg onload=alert(9)>.txt\"\r\n\
             Content-Type: text/plain\r\n\r\nnotes\r\n--{boundary}--\r\n"
        );
        (
            ContentType::new("multipart", "form-data").with_params(("boundary", boundary)),
            body,
        )
    };
    let r = w
        .client
        .post(format!("/api/v1/elements/{id}/files"))
        .header(Header::new("Authorization", format!("Bearer {}", mallory.token)))
        .header(ct)
        .body(multipart)
        .dispatch();
    assert_eq!(r.status(), Status::Created);

    let surfaces = [
        format!("/organization/{slug}"),
        format!("/organization/{slug}/graph"),
        format!("/organization/{slug}/cooperative"),
        format!("/event/{event_slug}"),
        "/".to_owned(),
        "/directory".to_owned(),
        "/search?q=zyxquo".to_owned(),
        "/live".to_owned(),
        format!("/agenda?date={day}"),
        "/map?q=zyxquo".to_owned(),
        "/embed/map?q=zyxquo".to_owned(),
        "/live.atom".to_owned(),
        format!("/person/{}", mallory.slug),
    ];
    for uri in &surfaces {
        let r = w.client.get(uri.clone()).dispatch();
        assert_eq!(r.status(), Status::Ok, "{uri}");
        let body = r.into_string().unwrap();
        assert!(body.contains("alert("), "{uri} shows none of what was typed");
        for raw in RAW {
            assert!(!body.contains(raw), "{uri} writes {raw:?} as markup");
        }
    }
}

// ---- files a browser could run ------------------------------------------------------------

#[test]
fn uploads_a_browser_could_run_are_refused_or_served_inert() {
    let w = world(false);
    let alice = w.person("Alice");
    let org = w.created(
        "/api/v1/elements",
        json!({"kind": "organization", "name": "Médiathèque", "type": "GovernmentOrganization"}),
        &alice.token,
    );
    let org = org["id"].as_str().unwrap().to_owned();
    let upload = |query: &str, ct: ContentType, bytes: &[u8]| {
        json_of(
            w.client
                .post(format!("/api/v1/elements/{org}/files{query}"))
                .header(Header::new("Authorization", format!("Bearer {}", alice.token)))
                .header(ct)
                .body(bytes)
                .dispatch(),
        )
    };
    let svg = br#"<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>"#;
    let html = b"<!DOCTYPE html><html><body><script>alert(3)</script></body></html>";
    // Named or declared as an image, SVG is refused: only JPEG, PNG, WebP and GIF are images.
    for (query, ct) in [
        ("?name=logo.svg", ContentType::Plain),
        ("?name=logo.svgz", ContentType::Binary),
        ("", ContentType::SVG),
    ] {
        let (status, body) = upload(query, ct, svg);
        assert!(status.code == 415 || status.code == 422, "{query}: {status} {body}");
    }
    // As text, SVG and HTML are kept, and served as plain text to download, in a sandbox.
    let mut served = Vec::new();
    for (query, bytes) in [
        ("", &svg[..]),
        ("?name=page.html", &html[..]),
        ("?name=page.htm", &html[..]),
    ] {
        let (status, doc) = upload(query, ContentType::Plain, bytes);
        assert_eq!(status, Status::Created, "{query}: {doc}");
        served.push(doc["url"].as_str().unwrap().to_owned());
    }
    // A JPEG with a page after its end: the image is re-encoded, the page is gone.
    let mut polyglot = crate::files::samples::jpeg(64, 48);
    polyglot.extend_from_slice(html);
    let (status, doc) = upload("?name=photo.jpg", ContentType::JPEG, &polyglot);
    assert_eq!(status, Status::Created, "{doc}");
    let photo = doc["url"].as_str().unwrap().to_owned();
    let (status, doc) = upload("?name=scan.pdf", ContentType::PDF, crate::files::samples::PDF);
    assert_eq!(status, Status::Created, "{doc}");
    served.push(doc["url"].as_str().unwrap().to_owned());

    for url in &served {
        let r = w.client.get(url.clone()).dispatch();
        assert_eq!(r.status(), Status::Ok, "{url}");
        let h = |name: &str| r.headers().get_one(name).unwrap_or_default().to_owned();
        let ct = h("Content-Type");
        assert!(ct.starts_with("text/plain") || ct == "application/pdf", "{url}: {ct}");
        assert!(h("Content-Disposition").starts_with("attachment;"), "{url}");
        assert!(
            !h("Content-Disposition").contains(".html\""),
            "{url}: {}",
            h("Content-Disposition")
        );
        assert_eq!(h("Content-Security-Policy"), "sandbox", "{url}");
        assert_eq!(h("X-Content-Type-Options"), "nosniff", "{url}");
    }
    let r = w.client.get(photo.clone()).dispatch();
    assert_eq!(r.headers().get_one("Content-Type"), Some("image/jpeg"));
    assert_eq!(r.headers().get_one("Content-Security-Policy"), Some("sandbox"));
    let bytes = r.into_bytes().unwrap();
    assert!(
        !crate::files::samples::contains(&bytes, b"<script>"),
        "the page after the JPEG stayed"
    );
}

// ---- headers on every kind of answer --------------------------------------------------------

#[test]
fn every_kind_of_answer_carries_the_security_headers() {
    let w = world(false);
    let alice = w.person("Alice");
    let org = w.created(
        "/api/v1/elements",
        json!({"kind": "organization", "name": "Repair café", "type": "NGO"}),
        &alice.token,
    );
    let r = w
        .client
        .post(format!(
            "/api/v1/elements/{}/files?name=a.txt",
            org["id"].as_str().unwrap()
        ))
        .header(Header::new("Authorization", format!("Bearer {}", alice.token)))
        .header(ContentType::Plain)
        .body("hello")
        .dispatch();
    let (_, file) = json_of(r);
    let file = file["url"].as_str().unwrap().to_owned();
    let html = Header::new("Accept", "text/html");
    let css = crate::web::assets::url("copi.css");
    let big = format!("{{\"email\": \"{}\", \"password\": \"x\"}}", "a".repeat(300 * 1024));
    let answers: Vec<(&str, LocalResponse<'_>)> = vec![
        ("a page", w.client.get("/").dispatch()),
        (
            "a page's 404",
            w.client.get("/nothing-here").header(html.clone()).dispatch(),
        ),
        (
            "a page's 400",
            w.client.get(format!("/search?q={}", "a".repeat(600))).dispatch(),
        ),
        ("a form page", w.client.get("/login").dispatch()),
        ("the portal", w.client.get("/portal").dispatch()),
        ("JSON", w.client.get("/api/v1/status").dispatch()),
        ("JSON 404", w.client.get("/api/v1/nothing").dispatch()),
        (
            "JSON 401",
            w.client
                .post("/api/v1/elements")
                .header(ContentType::JSON)
                .body("{}")
                .dispatch(),
        ),
        (
            "JSON 413",
            w.client
                .post("/api/v1/auth/login")
                .header(ContentType::JSON)
                .body(big)
                .dispatch(),
        ),
        ("an asset", w.client.get(css).dispatch()),
        ("a file", w.client.get(file).dispatch()),
        ("Atom", w.client.get("/live.atom").dispatch()),
        ("iCalendar", w.client.get("/agenda.ics").dispatch()),
        ("GeoJSON", w.client.get("/api/v1/map.geojson").dispatch()),
        ("the service worker", w.client.get("/sw.js").dispatch()),
        ("a probe's redirect", w.client.get("/generate_204").dispatch()),
        (
            "another host's redirect",
            w.client
                .get("/")
                .header(Header::new("Host", "captive.apple.com"))
                .dispatch(),
        ),
    ];
    for (what, r) in &answers {
        let h = |name: &str| r.headers().get_one(name).map(str::to_owned);
        assert_eq!(h("X-Content-Type-Options").as_deref(), Some("nosniff"), "{what}");
        assert_eq!(h("X-Frame-Options").as_deref(), Some("SAMEORIGIN"), "{what}");
        assert_eq!(h("Permissions-Policy").as_deref(), Some("interest-cohort=()"), "{what}");
        let is_html = r.content_type().is_some_and(|c| c.is_html());
        let csp = h("Content-Security-Policy").unwrap_or_default();
        if is_html {
            for part in [
                "default-src 'self'",
                "script-src 'self'",
                "object-src 'none'",
                "frame-ancestors 'none'",
            ] {
                assert!(csp.contains(part), "{what}: {csp}");
            }
            assert!(
                !csp.contains("unsafe-eval") && !csp.contains("script-src 'self' 'unsafe-inline'"),
                "{what}"
            );
        }
        if *what == "a file" {
            assert_eq!(csp, "sandbox", "{what}");
        }
    }
    let codes: Vec<u16> = answers.iter().map(|(_, r)| r.status().code).collect();
    assert_eq!(
        codes,
        [200, 404, 400, 200, 200, 200, 404, 401, 413, 200, 200, 200, 200, 200, 200, 302, 302],
        "the answers are of the kinds named"
    );
    // Answers that hold a secret or a person's own data are not kept by caches.
    let r = w
        .client
        .post("/api/v1/auth/login")
        .header(ContentType::JSON)
        .body(json!({"email": alice.email, "password": PASSWORD}).to_string())
        .dispatch();
    assert_eq!(r.headers().get_one("Cache-Control"), Some("no-store"));
    let r = w
        .client
        .get("/api/v1/auth/me")
        .header(Header::new("Authorization", format!("Bearer {}", alice.token)))
        .dispatch();
    assert_eq!(r.headers().get_one("Cache-Control"), Some("no-store"));
}

// ---- session cookies ------------------------------------------------------------------------

#[test]
fn session_cookies_are_private_httponly_samesite_and_never_adopted_from_outside() {
    let w = world(false);
    let r = w
        .client
        .post("/api/v1/auth/register")
        .header(ContentType::JSON)
        .body(json!({"name": "Alice", "email": "alice@example.org", "password": PASSWORD}).to_string())
        .dispatch();
    assert_eq!(r.status(), Status::Created);
    let session = set_cookie(&r, SESSION_COOKIE).to_owned();
    for part in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=2592000"] {
        assert!(session.split("; ").any(|p| p == part), "{session}");
    }
    // Not `Expires` (the Pi's clock may be wrong); not `Secure` (plain HTTP, see the threat model).
    assert!(
        !session.contains("Expires=") && !session.contains("Secure"),
        "{session}"
    );
    let value = r.cookies().get(SESSION_COOKIE).unwrap().value().to_owned();
    let (_, body) = json_of(r);
    let token = body["token"].as_str().unwrap();
    // Encrypted and authenticated with the hub's key: not the secret, and not forgeable.
    assert!(value.len() > 43 && value != token, "{value}");
    let me = |v: &str| {
        w.client
            .get("/api/v1/auth/me")
            .cookie(Cookie::new(SESSION_COOKIE, v.to_owned()))
            .dispatch()
            .status()
    };
    assert_eq!(me(&value), Status::Ok);
    let mut tampered = value.clone().into_bytes();
    let i = tampered.len() / 2;
    tampered[i] = if tampered[i] == b'A' { b'B' } else { b'A' };
    assert_eq!(me(std::str::from_utf8(&tampered).unwrap()), Status::Unauthorized);
    assert_eq!(me(token), Status::Unauthorized, "the raw secret is not a cookie");

    // The double-submit cookie of the forms sent before signing in.
    let r = w.client.get("/login").dispatch();
    let form = set_cookie(&r, "copi_form").to_owned();
    for part in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(form.split("; ").any(|p| p == part), "{form}");
    }
    let form_value = r.cookies().get("copi_form").unwrap().value().to_owned();
    // The admin's session: Strict, only sent to /admin, 12 hours.
    let r = w
        .client
        .post("/admin/login")
        .header(ContentType::Form)
        .body(format!("secret={ADMIN}"))
        .dispatch();
    let admin = set_cookie(&r, "copi_admin").to_owned();
    for part in ["HttpOnly", "SameSite=Strict", "Path=/admin", "Max-Age=43200"] {
        assert!(admin.split("; ").any(|p| p == part), "{admin}");
    }

    // Fixation: Mallory plants her own session cookie in Alice's browser; Alice signs in and
    // gets a new session of her own, and Mallory's cookie stays Mallory's.
    let mallory = w.person("Mallory");
    let r = w
        .client
        .post("/login")
        .cookies(vec![
            mallory.cookie.clone(),
            Cookie::new("copi_form", form_value.clone()),
        ])
        .header(ContentType::Form)
        .body(format!(
            "email=alice%40example.org&password=correct+horse+battery&csrf={}",
            crate::web::layout::enc(&form_value)
        ))
        .dispatch();
    assert_eq!(r.status(), Status::SeeOther);
    let fresh = r.cookies().get(SESSION_COOKIE).unwrap().value().to_owned();
    assert_ne!(fresh, mallory.cookie.value());
    let who = |c: Cookie<'static>| {
        let (_, body) = json_of(w.client.get("/api/v1/auth/me").cookie(c).dispatch());
        body["person"]["id"].as_str().unwrap_or_default().to_owned()
    };
    assert_eq!(
        who(Cookie::new(SESSION_COOKIE, fresh)),
        body["person"]["id"].as_str().unwrap()
    );
    assert_eq!(who(mallory.cookie.clone()), mallory.id);
}

// ---- another host name: DNS rebinding ------------------------------------------------------

#[test]
fn a_request_for_another_host_name_changes_nothing() {
    let w = world(false);
    let alice = w.person("Alice");
    let before = w.fingerprint();
    // A page of evil.example whose name now points at the hub (DNS rebinding) sends requests
    // with `Host: evil.example`: it has none of the hub's cookies, but could act anonymously.
    for (method, uri, body) in [
        (
            Method::Post,
            "/api/v1/auth/register",
            json!({"name": "Eve", "email": "eve@example.org", "password": PASSWORD}),
        ),
        (
            Method::Post,
            "/api/v1/reports",
            json!({"target": {"kind": "element", "id": alice.id}, "reason": "spam"}),
        ),
        (
            Method::Post,
            "/api/v1/elements",
            json!({"kind": "organization", "name": "Fausse asso", "type": "NGO"}),
        ),
    ] {
        let r = w
            .client
            .req(method, uri)
            .header(Header::new("Host", "evil.example"))
            .header(Header::new("Authorization", format!("Bearer {}", alice.token)))
            .header(ContentType::JSON)
            .body(body.to_string())
            .dispatch();
        assert_eq!(r.status(), Status::Found, "{uri}");
        assert_eq!(r.headers().get_one("Location"), Some("http://copi.lan/portal"));
    }
    assert!(
        before == w.fingerprint(),
        "a request for another host changed something"
    );
    // The same request for the hub's own name goes through.
    let r = w
        .client
        .post("/api/v1/elements")
        .header(Header::new("Host", "copi.lan"))
        .header(Header::new("Authorization", format!("Bearer {}", alice.token)))
        .header(ContentType::JSON)
        .body(json!({"kind": "organization", "name": "Vraie asso", "type": "NGO"}).to_string())
        .dispatch();
    assert_eq!(r.status(), Status::Created);
}

// ---- privilege: sub-elements -----------------------------------------------------------------

#[test]
fn sub_elements_hang_only_under_elements_one_belongs_to() {
    let w = world(false);
    let alice = w.person("Alice");
    let mallory = w.person("Mallory");
    let festival = w.created(
        "/api/v1/elements",
        json!({"kind": "event", "name": "Festival des Lilas", "type": "festival",
               "startDate": "2031-07-01T10:00:00+02:00", "endDate": "2031-07-03T23:00:00+02:00"}),
        &alice.token,
    );
    let festival = festival["id"].as_str().unwrap().to_owned();
    let concert = |parent: Option<&str>| {
        let mut doc = json!({"kind": "event", "name": "Concert sauvage", "type": "concert",
                             "startDate": "2031-07-02T21:00:00+02:00", "endDate": "2031-07-02T23:00:00+02:00"});
        if let Some(p) = parent {
            doc["parentId"] = json!(p);
        }
        w.call(Method::Post, "/api/v1/elements", Some(doc), Some(&mallory.token))
    };
    let (status, body) = concert(Some(&festival));
    assert_eq!(status, Status::Forbidden, "{body}");
    let (status, own) = concert(None);
    assert_eq!(status, Status::Created, "{own}");
    let own = own["id"].as_str().unwrap().to_owned();
    let before = w.fingerprint();
    let (status, body) = w.call(
        Method::Patch,
        &format!("/api/v1/elements/{own}"),
        Some(json!({"parentId": festival})),
        Some(&mallory.token),
    );
    assert_eq!(
        status,
        Status::Forbidden,
        "a PATCH hangs Mallory's event under Alice's festival: {body}"
    );
    assert!(before == w.fingerprint());
    // Under an element of her own, it goes.
    let (status, mine) = concert(None);
    assert_eq!(status, Status::Created);
    let (status, body) = w.call(
        Method::Patch,
        &format!("/api/v1/elements/{own}"),
        Some(json!({"parentId": mine["id"]})),
        Some(&mallory.token),
    );
    assert_eq!(status, Status::Ok, "{body}");
}

// ---- the logs ------------------------------------------------------------------------------

/// Everything the crate logs while the tests run (one subscriber for the whole process).
fn captured_logs() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        struct Sink(Arc<Mutex<Vec<u8>>>);
        impl Write for Sink {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let sink = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("copi=debug,copi_sync=debug"))
            .with_ansi(false)
            .with_writer(move || Sink(sink.clone()))
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("no other test sets a global subscriber");
        buffer
    })
}

#[test]
fn no_password_token_or_email_reaches_the_logs() {
    let logs = captured_logs();
    let w = world(true);
    let alice = w.person("Alicelog");
    let wrong = "wrong horse battery staple";
    let (status, _) = w.call(
        Method::Post,
        "/api/v1/auth/login",
        Some(json!({"email": alice.email, "password": wrong})),
        None,
    );
    assert_eq!(status, Status::Unauthorized);
    let (status, login) = w.call(
        Method::Post,
        "/api/v1/auth/login",
        Some(json!({"email": alice.email, "password": PASSWORD})),
        None,
    );
    assert_eq!(status, Status::Ok);
    let r = w
        .client
        .post("/admin/login")
        .header(ContentType::Form)
        .body(format!("secret={wrong}"))
        .dispatch();
    assert_eq!(r.status(), Status::Unauthorized);
    w.admin_session();
    let reset = "a brand new password";
    let (status, _) = w.call(
        Method::Post,
        &format!("/api/v1/admin/accounts/{}/password", alice.id),
        Some(json!({"password": reset})),
        Some(ADMIN),
    );
    assert_eq!(status, Status::Ok);
    let hub_token = w.created("/api/v1/admin/sync/tokens", json!({"name": "Hub du marché"}), ADMIN);
    let hub_secret = hub_token["token"].as_str().unwrap().to_owned();
    let (status, _) = w.call(
        Method::Post,
        "/api/v1/sync/hello",
        Some(json!({"protocol": 1, "hub": "x"})),
        Some("not-a-live-hub-token-000000000000000000000000"),
    );
    assert_eq!(status, Status::Unauthorized);
    let after_reset = alice_token_after_reset(&w, &alice.email, reset);
    let org = w.created(
        "/api/v1/elements",
        json!({"kind": "organization", "name": "Amap", "type": "NGO"}),
        &after_reset,
    );
    let invitation = w.created(
        &format!("/api/v1/elements/{}/invitations", org["id"].as_str().unwrap()),
        json!({"email": "invitee@example.org"}),
        &after_reset,
    );

    let text = String::from_utf8_lossy(&logs.lock().unwrap_or_else(|e| e.into_inner())).into_owned();
    // The capture works: what these requests log is there.
    assert!(text.contains(&alice.id), "the registration was not logged:\n{text}");
    assert!(
        text.contains("the admin signed in") && text.contains("hub token created"),
        "{text}"
    );
    for secret in [
        PASSWORD,
        wrong,
        reset,
        ADMIN,
        hub_secret.as_str(),
        alice.token.as_str(),
        alice.csrf.as_str(),
        alice.cookie.value(),
        login["token"].as_str().unwrap(),
        after_reset.as_str(),
        alice.email.as_str(),
        "invitee@example.org",
        invitation["code"].as_str().unwrap_or("no code"),
    ] {
        assert!(!text.contains(secret), "the logs hold {secret:?}");
    }
}

fn alice_token_after_reset(w: &World, email: &str, password: &str) -> String {
    let (status, body) = w.call(
        Method::Post,
        "/api/v1/auth/login",
        Some(json!({"email": email, "password": password})),
        None,
    );
    assert_eq!(status, Status::Ok, "{body}");
    body["token"].as_str().unwrap().to_owned()
}

// ---- bodies past their limits --------------------------------------------------------------

#[test]
fn bodies_past_their_limits_are_refused_and_change_nothing() {
    let w = world(true);
    let alice = w.person("Alice");
    let before = w.fingerprint();
    // JSON past `limits.json_body` (256 KiB by default).
    let (status, body) = w.call(
        Method::Post,
        "/api/v1/elements",
        Some(json!({"kind": "organization", "name": "Big", "type": "NGO", "description": "a".repeat(300 * 1024)})),
        Some(&alice.token),
    );
    assert_eq!(status, Status::PayloadTooLarge, "{body}");
    // A form past Rocket's 32 KiB form limit, before any password is hashed.
    let r = w
        .client
        .post("/signup")
        .header(ContentType::Form)
        .body(format!(
            "name=Eve&email=eve%40example.org&csrf=x&password={}",
            "a".repeat(64 * 1024)
        ))
        .dispatch();
    assert_eq!(r.status(), Status::PayloadTooLarge);
    // A gzip bomb sent to a main's sync endpoint: 16 KiB that inflate to 80 MiB.
    let bomb = copi_sync::gzip::gzip(&vec![b' '; 80 << 20]);
    assert!(bomb.len() < 200 * 1024, "{}", bomb.len());
    let r = w
        .client
        .post("/api/v1/sync/push")
        .header(Header::new("Authorization", format!("Bearer {ADMIN}")))
        .header(Header::new("Content-Encoding", "gzip"))
        .header(ContentType::JSON)
        .body(bomb)
        .dispatch();
    let (status, body) = json_of(r);
    assert_eq!(status, Status::BadRequest, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("inflates"),
        "{body}"
    );
    assert!(before == w.fingerprint());
}

// ---- the admin's sign-in -----------------------------------------------------------------

#[test]
fn guessing_the_admin_secret_is_throttled_per_address() {
    let w = world(false);
    let try_from = |n: u8, secret: &str| {
        w.client
            .post("/admin/login")
            .remote(SocketAddr::from(([10, 0, 3, n], 50000)))
            .header(ContentType::Form)
            .body(format!("secret={}", crate::web::layout::enc(secret)))
            .dispatch()
            .status()
    };
    for i in 0..10 {
        assert_eq!(try_from(1, &format!("guess {i}")), Status::Unauthorized);
    }
    // Over the limit, even the right secret is refused: that is what stops guessing.
    assert_eq!(try_from(1, ADMIN), Status::TooManyRequests);
    // Another address is not held back by the first one's failures.
    assert_eq!(try_from(2, ADMIN), Status::SeeOther);
}
