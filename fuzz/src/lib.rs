//! What the fuzz targets share: scratch data dirs, a demo-filled store, framed inputs, and a
//! hub behind Rocket's local client that answers requests written as text.
//!
//! State lives for the whole fuzzing process (one store, one hub per target): opening a
//! store runs its migrations and a hub starts an indexer thread that never stops, so they
//! are made once. Scratch dirs are made under `TMPDIR`, which `scripts/fuzz` points at a
//! folder it removes after each run.

use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use copi::api::Hub;
use copi::bundle::Bundle;
use copi::config::{Config, Module};
use copi::store::Store;
use rocket::http::{ContentType, Cookie, Header, Method, Status};
use rocket::local::blocking::Client;
use serde_json::{json, Value};

/// The admin token of the fuzzed hubs.
pub const ADMIN_TOKEN: &str = "fuzz-admin-token-0123456789abcdef";

/// A fresh dir under `TMPDIR`, kept until the process ends (see the module's comment).
pub fn scratch_dir(prefix: &str) -> PathBuf {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .expect("a scratch dir under TMPDIR")
        .keep()
}

/// The time zone dates without one are read in (the example config's).
pub fn zone() -> jiff::tz::TimeZone {
    jiff::tz::TimeZone::get("Europe/Paris").expect("the bundled tz database")
}

/// A small demo territory as a CoPi bundle (deterministic).
pub fn demo_bundle(elements: usize) -> Value {
    let today = jiff::civil::date(2026, 5, 1);
    copi::demo::generate(today, &copi::demo::DemoSize { elements })
}

/// Communecter's shapes, with known ids for the seeds (`5b0f00000000000000000001` is an
/// organization, `5aa979f540bb4e7162d04363` a person…).
pub const SAMPLES: &str = include_str!("../../tests/fixtures/communecter-samples.json");

/// Writes a small demo territory and the Communecter samples into `store`.
pub fn fill(store: &Store, elements: usize) {
    let samples = serde_json::from_str(SAMPLES).expect("the samples are JSON");
    for bundle in [demo_bundle(elements), samples] {
        Bundle::from_json(bundle, &zone())
            .and_then(|b| b.write(store, || {}))
            .expect("writing a seed bundle");
    }
}

/// A store in a scratch dir, filled (see [`fill`]).
pub fn demo_store(elements: usize) -> Store {
    let store = Store::open(&scratch_dir("copi-fuzz-store-"))
        .expect("opening a store")
        .with_zone(zone());
    fill(&store, elements);
    store
}

/// Splits an input into frames on the line `--`: several answers or requests in one input.
pub fn frames(data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while let Some(at) = find(rest, b"\n--\n") {
        out.push(&rest[..at]);
        rest = &rest[at + 4..];
    }
    out.push(rest);
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A body as a CoPi peer sends it: gzip (its magic number) inflated with the protocol's cap,
/// anything else as it is. `None` when the gzip is broken or inflates past the cap.
pub fn unpack(body: &[u8]) -> Option<Vec<u8>> {
    if body.starts_with(&[0x1f, 0x8b]) {
        copi_sync::gzip::gunzip(body, copi_sync::gzip::MAX_INFLATED).ok()
    } else {
        Some(body.to_vec())
    }
}

/// Reads a whole response body, at most `max` bytes.
pub fn read_capped(mut r: impl Read, max: u64) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = r.by_ref().take(max).read_to_end(&mut out);
    out
}

/// Who sends a request to the fuzzed hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    Nobody,
    Admin,
    /// The registered person with their bearer token.
    Person,
    /// The registered person with their session cookie and CSRF header.
    Cookie,
}

impl Who {
    pub fn parse(s: &str) -> Who {
        match s {
            "admin" => Who::Admin,
            "person" => Who::Person,
            "cookie" => Who::Cookie,
            _ => Who::Nobody,
        }
    }
}

/// A registered person's credentials.
struct Person {
    token: String,
    csrf: String,
    cookie: Cookie<'static>,
}

/// A hub (every module on, serving as a main too, so the sync endpoints are there) with a
/// small demo territory and one registered person, behind Rocket's local client.
pub struct FuzzHub {
    client: Client,
    person: Person,
    pub store: Arc<Store>,
}

/// A request, parsed from the fuzzer's text.
#[derive(Debug)]
pub struct TextRequest<'a> {
    pub method: Method,
    pub uri: &'a str,
    pub who: Who,
    pub headers: Vec<(&'a str, &'a str)>,
    pub body: &'a [u8],
}

impl<'a> TextRequest<'a> {
    /// `METHOD URI [admin|person|cookie]`, then `Name: value` header lines, then a blank line
    /// and the body (HTTP/1.1's shape without the version).
    pub fn parse(data: &'a [u8]) -> Option<TextRequest<'a>> {
        let (head, body) = match find(data, b"\n\n") {
            Some(at) => (&data[..at], &data[at + 2..]),
            None => (data, &data[data.len()..]),
        };
        let head = std::str::from_utf8(head).ok()?;
        let mut lines = head.split('\n');
        let mut first = lines.next()?.split(' ');
        let method = first.next()?.parse::<Method>().ok()?;
        let uri = first.next()?;
        let who = Who::parse(first.next().unwrap_or(""));
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim(), v.trim()))
            .collect();
        Some(TextRequest {
            method,
            uri,
            who,
            headers,
            body,
        })
    }
}

/// What the hub answered.
#[derive(Debug)]
pub struct Answer {
    pub status: Status,
    pub content_type: Option<ContentType>,
    pub body: Vec<u8>,
}

impl FuzzHub {
    /// Opens the hub; panics if it cannot (the fuzzer cannot run without it).
    pub fn open() -> FuzzHub {
        let data = scratch_dir("copi-fuzz-hub-");
        let store = Store::open(&data).expect("opening the store").with_zone(zone());
        fill(&store, 60);
        drop(store);
        let config = Config {
            data,
            admin_token: Some(ADMIN_TOKEN.into()),
            modules: Module::ALL.to_vec(),
            ..Config::default()
        };
        let hub = Hub::open(config).expect("opening the hub");
        let store = hub.store.clone();
        let rocket = copi::api::rocket(hub).attach(copi::api::sync::stage());
        let client = Client::untracked(rocket).expect("a Rocket local client");
        let r = client
            .post("/api/v1/auth/register")
            .header(ContentType::JSON)
            .remote(SocketAddr::from(([10, 9, 9, 9], 40000)))
            .body(
                json!({"name": "Fuzz Person", "email": "fuzz@example.org", "password": "correct horse battery"})
                    .to_string(),
            )
            .dispatch();
        assert_eq!(r.status(), Status::Created, "registering the fuzz person");
        let cookie = r
            .cookies()
            .get(copi::api::SESSION_COOKIE)
            .cloned()
            .expect("a session cookie");
        let body: Value = r.into_json().expect("the registration's answer");
        let person = Person {
            token: body["token"].as_str().expect("a token").to_owned(),
            csrf: body["csrf"].as_str().expect("a CSRF token").to_owned(),
            cookie,
        };
        FuzzHub { client, person, store }
    }

    /// Sends one request and checks the answer against the public contract: no answer is a
    /// 500 (a panic in a handler aborts the fuzzer before that), and every error under
    /// `/api/` is JSON `{"error": {"code", "message"}}`.
    pub fn send(&self, req: &TextRequest<'_>) -> Answer {
        let mut r = self
            .client
            .req(req.method, req.uri.to_owned())
            .remote(SocketAddr::from(([10, 1, 2, 3], 40000)));
        for (name, value) in &req.headers {
            r = r.header(Header::new(name.to_string(), value.to_string()));
        }
        r = match req.who {
            Who::Nobody => r,
            Who::Admin => r.header(Header::new("Authorization", format!("Bearer {ADMIN_TOKEN}"))),
            Who::Person => r.header(Header::new("Authorization", format!("Bearer {}", self.person.token))),
            Who::Cookie => r
                .cookie(self.person.cookie.clone())
                .header(Header::new("X-CSRF-Token", self.person.csrf.clone())),
        };
        if !req.body.is_empty() {
            r = r.body(req.body);
        }
        let response = r.dispatch();
        let status = response.status();
        let content_type = response.content_type();
        let body = response.into_bytes().unwrap_or_default();
        let answer = Answer {
            status,
            content_type,
            body,
        };
        check_answer(req, &answer);
        answer
    }
}

fn check_answer(req: &TextRequest<'_>, a: &Answer) {
    assert!(
        a.status.code < 500,
        "{} {} answered {}: {}",
        req.method,
        req.uri,
        a.status,
        String::from_utf8_lossy(&a.body)
    );
    let path = req.uri.split(['?', '#']).next().unwrap_or("");
    if path.starts_with("/api/") && a.status.code >= 400 && req.method != Method::Head {
        let v: Value = serde_json::from_slice(&a.body).unwrap_or(Value::Null);
        assert!(
            v["error"]["code"].is_string() && v["error"]["message"].is_string(),
            "{} {} answered {} without a JSON error: {}",
            req.method,
            req.uri,
            a.status,
            String::from_utf8_lossy(&a.body)
        );
    }
}

/// Panics unless `e` is an error about the input (4xx): a failure of the store, an I/O
/// error or "corrupt" (500) on fuzzed input is a bug.
pub fn assert_input_error(e: &copi::error::Error, what: &str) {
    assert!(e.status() < 500, "{what}: a server-side error from input: {e:?}");
}
