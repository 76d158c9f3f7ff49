//! A hub for API tests: Rocket's local client on a real store in a temporary data dir, the
//! admin token, and persons registered through `/api/v1/auth/register` who act with their
//! bearer token or their session cookie.

use std::cell::Cell;
use std::net::SocketAddr;
use std::sync::Arc;

use rocket::http::{ContentType, Cookie, Header, Method, Status};
use rocket::local::blocking::Client;
use serde_json::{json, Value};

use crate::api::{rocket, Hub};
use crate::config::{Config, Module};
use crate::store::Store;

pub const ADMIN: &str = "test-admin-token-0123456789";

pub struct TestHub {
    pub client: Client,
    pub store: Arc<Store>,
    _dir: tempfile::TempDir,
    /// Each registration from its own address (registrations are limited per address).
    next_ip: Cell<u8>,
}

pub struct Person {
    pub id: String,
    pub token: String,
    pub csrf: String,
    pub cookie: Cookie<'static>,
}

/// Who makes a request.
#[derive(Clone, Copy)]
pub enum As<'a> {
    Nobody,
    Admin,
    Bearer(&'a Person),
    /// The session cookie, with its CSRF header or without.
    Cookie(&'a Person, bool),
}

/// A hub with these modules on.
pub fn hub_with(modules: Vec<Module>) -> TestHub {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        data: dir.path().to_owned(),
        admin_token: Some(ADMIN.into()),
        modules,
        ..Config::default()
    };
    let hub = Hub::open(config).unwrap();
    let store = hub.store.clone();
    TestHub {
        client: Client::untracked(rocket(hub)).unwrap(),
        store,
        _dir: dir,
        next_ip: Cell::new(1),
    }
}

/// A hub with every module on.
pub fn hub() -> TestHub {
    hub_with(Module::ALL.to_vec())
}

impl TestHub {
    /// A request as `who`, with a JSON body; the answer's status and JSON (null if none).
    pub fn call(&self, method: Method, uri: &str, body: Option<Value>, who: As<'_>) -> (Status, Value) {
        let mut req = self.client.req(method, uri.to_owned());
        if let Some(b) = body {
            req = req.header(ContentType::JSON).body(b.to_string());
        }
        req = match who {
            As::Nobody => req,
            As::Admin => req.header(Header::new("Authorization", format!("Bearer {ADMIN}"))),
            As::Bearer(p) => req.header(Header::new("Authorization", format!("Bearer {}", p.token))),
            As::Cookie(p, with_csrf) => {
                let req = req.cookie(p.cookie.clone());
                if with_csrf {
                    req.header(Header::new("X-CSRF-Token", p.csrf.clone()))
                } else {
                    req
                }
            }
        };
        let r = req.dispatch();
        let status = r.status();
        let body = r
            .into_string()
            .map_or(Value::Null, |t| serde_json::from_str(&t).unwrap_or(Value::Null));
        (status, body)
    }

    pub fn get(&self, uri: &str, who: As<'_>) -> (Status, Value) {
        self.call(Method::Get, uri, None, who)
    }

    pub fn post(&self, uri: &str, body: Value, who: As<'_>) -> (Status, Value) {
        self.call(Method::Post, uri, Some(body), who)
    }

    pub fn patch(&self, uri: &str, body: Value, who: As<'_>) -> (Status, Value) {
        self.call(Method::Patch, uri, Some(body), who)
    }

    pub fn delete(&self, uri: &str, who: As<'_>) -> Status {
        self.call(Method::Delete, uri, None, who).0
    }

    /// Registers a person (each from its own address) and returns their credentials.
    pub fn person(&self, name: &str) -> Person {
        let n = self.next_ip.get();
        self.next_ip.set(n + 1);
        let body = json!({"name": name, "email": format!("{}@example.org", name.to_lowercase()), "password": "correct horse battery"});
        let r = self
            .client
            .post("/api/v1/auth/register")
            .header(ContentType::JSON)
            .remote(SocketAddr::from(([10, 0, 1, n], 40000)))
            .body(body.to_string())
            .dispatch();
        assert_eq!(r.status(), Status::Created);
        let cookie = r
            .cookies()
            .get(crate::api::SESSION_COOKIE)
            .cloned()
            .expect("a session cookie");
        let body: Value = r.into_json().unwrap();
        Person {
            id: body["person"]["id"].as_str().unwrap().to_owned(),
            token: body["token"].as_str().unwrap().to_owned(),
            csrf: body["csrf"].as_str().unwrap().to_owned(),
            cookie,
        }
    }
}
