//! The `communecter` connector's HTTP side (ureq): the [`Upstream`] port of
//! `copi_sync::communecter` over a Communecter main instance's API. The protocol (listings,
//! fingerprints, deletions, pushes) is in the sync crate; its state is in the store
//! (`store/communecter.rs`).
//!
//! Routes (see `../shared/ref/communecter-model.md` §4):
//! - `GET /api/city/get/insee/<insee>`: a commune's id and zones, to scope searches;
//! - `POST /co2/search/globalautocomplete` (`searchType[]`, `locality[…]`, `indexMin`,
//!   `indexStep`): a territory's listing, one collection at a time;
//! - `GET /co2/element/get/type/<collection>/id/<id>`: the full document (authenticated);
//! - `POST /co2/element/save` and `POST /co2/element/delete/type/<collection>/id/<id>`.
//!
//! Every call carries the credentials of `[sync] token`: `X-User-Id` + `X-Auth-Token`, or
//! HTTP Basic. Error statuses become [`ConnectorError::Refused`] with `Retry-After`, so the
//! sync loop backs off after a 429 or a 5xx as long as the main asks.

use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64ct::Encoding;
use copi_sync::communecter::{
    parse_city, parse_element, parse_search, scope_query, Auth, CityRef, CommunecterConnector, Fetched, Listed,
    Locality, SaveRequest, ScopeQuery, Upstream,
};
use copi_sync::{ConnectorError, Traffic};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::store::Store;
use crate::territory;

/// The connector a round uses with a Communecter main.
pub type Connector<'s> = CommunecterConnector<HttpUpstream, &'s Store>;

/// Builds the connector for `main_url` with the credentials in `token` (see [`Auth`]).
pub fn connector<'s>(main_url: &str, token: &str, store: &'s Store) -> Result<Connector<'s>> {
    let auth = Auth::parse(token).map_err(Error::Config)?;
    let base = main_url.trim_end_matches('/').to_owned();
    let main = format!("communecter:{base}");
    Ok(CommunecterConnector::new(HttpUpstream::new(&base, auth), store, main))
}

/// Largest answer read (a page of documents, or one document).
const MAX_ANSWER: u64 = copi_sync::gzip::MAX_INFLATED;

pub struct HttpUpstream {
    base: String,
    auth: Auth,
    agent: ureq::Agent,
    sent: AtomicU64,
    received: AtomicU64,
}

/// What an HTTP call gave.
enum Answer {
    Json(Value),
    NotFound,
}

/// `application/x-www-form-urlencoded`, as PHP reads it (`a[b][0]=…`).
fn form_body(fields: &[(String, String)]) -> String {
    fn enc(s: &str, out: &mut String) {
        for b in s.bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => out.push(b as char),
                b' ' => out.push('+'),
                _ => out.push_str(&format!("%{b:02X}")),
            }
        }
    }
    let mut out = String::new();
    for (i, (k, v)) in fields.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        enc(k, &mut out);
        out.push('=');
        enc(v, &mut out);
    }
    out
}

/// Seconds from `Retry-After` (an HTTP date is not read: the Pi's clock is not trusted).
fn retry_after(r: &ureq::Response) -> Option<u64> {
    r.header("Retry-After").and_then(|v| v.trim().parse().ok())
}

fn message_of(body: &str) -> String {
    let from_json = serde_json::from_str::<Value>(body).ok().and_then(|v| {
        v.get("msg")
            .or_else(|| v.get("error").and_then(|e| e.get("message")))
            .and_then(Value::as_str)
            .map(str::to_owned)
    });
    let text = from_json.unwrap_or_else(|| body.trim().to_owned());
    text.chars().take(200).collect()
}

fn checked_path(collection: &str, id: &str) -> std::result::Result<(), ConnectorError> {
    let id_ok =
        !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if copi_sync::communecter::controller_key(collection).is_none() || !id_ok {
        return Err(ConnectorError::Protocol(format!("not an element: {collection}/{id}")));
    }
    Ok(())
}

impl HttpUpstream {
    pub fn new(base: &str, auth: Auth) -> HttpUpstream {
        HttpUpstream {
            base: base.to_owned(),
            auth,
            agent: ureq::AgentBuilder::new()
                .timeout_connect(Duration::from_secs(10))
                .timeout(Duration::from_secs(120))
                .build(),
            sent: AtomicU64::new(0),
            received: AtomicU64::new(0),
        }
    }

    fn request(&self, method: &str, path: &str) -> ureq::Request {
        let req = self
            .agent
            .request(method, &format!("{}{path}", self.base))
            .set("Accept", "application/json");
        match &self.auth {
            Auth::Token { user_id, token } => req.set("X-User-Id", user_id).set("X-Auth-Token", token),
            Auth::Basic { login, password } => {
                let pair = base64ct::Base64::encode_string(format!("{login}:{password}").as_bytes());
                req.set("Authorization", &format!("Basic {pair}"))
            }
        }
    }

    fn get_json(&self, path: &str) -> std::result::Result<Answer, ConnectorError> {
        self.answer(path, self.request("GET", path).call())
    }

    fn post_form(&self, path: &str, fields: &[(String, String)]) -> std::result::Result<Answer, ConnectorError> {
        let body = form_body(fields);
        self.sent.fetch_add(body.len() as u64, Ordering::Relaxed);
        let result = self
            .request("POST", path)
            .set("Content-Type", "application/x-www-form-urlencoded")
            .send_string(&body);
        self.answer(path, result)
    }

    fn answer(
        &self,
        path: &str,
        result: std::result::Result<ureq::Response, ureq::Error>,
    ) -> std::result::Result<Answer, ConnectorError> {
        let resp = match result {
            Ok(r) => r,
            Err(ureq::Error::Status(404, _)) => return Ok(Answer::NotFound),
            Err(ureq::Error::Status(status, r)) => {
                let retry_after = retry_after(&r);
                let mut text = String::new();
                let _ = r.into_reader().take(4096).read_to_string(&mut text);
                let message = format!("{path}: {}", message_of(&text));
                tracing::debug!(status, %message, "communecter main refused");
                return Err(ConnectorError::Refused {
                    status,
                    message,
                    retry_after,
                });
            }
            Err(e) => return Err(ConnectorError::Unreachable(e.to_string())),
        };
        let mut raw = Vec::new();
        resp.into_reader()
            .take(MAX_ANSWER + 1)
            .read_to_end(&mut raw)
            .map_err(|e| ConnectorError::Unreachable(format!("{path}: answer cut: {e}")))?;
        self.received.fetch_add(raw.len() as u64, Ordering::Relaxed);
        if raw.len() as u64 > MAX_ANSWER {
            return Err(ConnectorError::Protocol(format!(
                "{path}: the answer is larger than {MAX_ANSWER} bytes"
            )));
        }
        serde_json::from_slice(&raw)
            .map(Answer::Json)
            .map_err(|e| ConnectorError::Protocol(format!("{path}: not JSON ({e})")))
    }

    /// The commune whose zones stand for a department or region: its most populous one
    /// (every French commune is in Communecter's `cities`).
    fn representative(query: &ScopeQuery) -> Option<String> {
        let pick = |communes: &mut dyn Iterator<Item = territory::Commune>| {
            communes
                .max_by_key(|c| (c.population.unwrap_or(0), std::cmp::Reverse(c.insee)))
                .map(|c| c.insee.to_owned())
        };
        match query {
            ScopeQuery::Direct(_) => None,
            ScopeQuery::City { insee } => Some(insee.clone()),
            ScopeQuery::Department { code } => pick(&mut territory::communes_in_department(code)),
            ScopeQuery::Region { code } => pick(
                &mut territory::departments_in_region(code).flat_map(|d| territory::communes_in_department(d.code)),
            ),
        }
    }
}

impl Upstream for HttpUpstream {
    fn locality(&self, scope: &str) -> std::result::Result<Locality, ConnectorError> {
        let query = scope_query(scope)?;
        if let ScopeQuery::Direct(l) = &query {
            return Ok(l.clone());
        }
        let insee = Self::representative(&query)
            .ok_or_else(|| ConnectorError::Protocol(format!("territory {scope} has no commune here")))?;
        let city = self.city(&insee)?.ok_or_else(|| {
            ConnectorError::Protocol(format!(
                "the main instance knows no commune {insee} (for territory {scope})"
            ))
        })?;
        let locality = city.locality(&query)?;
        tracing::debug!(scope, ?locality, "communecter territory");
        Ok(locality)
    }

    fn city(&self, insee: &str) -> std::result::Result<Option<CityRef>, ConnectorError> {
        if insee.is_empty() || insee.len() > 10 || !insee.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Ok(None);
        }
        let path = format!("/api/city/get/insee/{insee}");
        let body = match self.get_json(&path)? {
            Answer::Json(v) => v,
            Answer::NotFound => return Ok(None),
        };
        parse_city(&body, insee).map_err(|e| ConnectorError::Protocol(format!("{path}: {e}")))
    }

    fn search(
        &self,
        collection: &str,
        locality: &Locality,
        index: usize,
        step: usize,
    ) -> std::result::Result<Vec<Listed>, ConnectorError> {
        let path = "/co2/search/globalautocomplete";
        let mut form = vec![
            ("searchType[0]".to_owned(), collection.to_owned()),
            ("indexMin".to_owned(), index.to_string()),
            ("indexStep".to_owned(), step.to_string()),
        ];
        form.extend(locality.form());
        match self.post_form(path, &form)? {
            Answer::Json(body) => parse_search(&body).map_err(|e| ConnectorError::Protocol(format!("{path}: {e}"))),
            Answer::NotFound => Err(ConnectorError::Protocol(format!("{path}: not found"))),
        }
    }

    fn get(&self, collection: &str, id: &str) -> std::result::Result<Fetched, ConnectorError> {
        checked_path(collection, id)?;
        let path = format!("/co2/element/get/type/{collection}/id/{id}");
        match self.get_json(&path)? {
            Answer::NotFound => Ok(Fetched::Gone),
            Answer::Json(body) => Ok(parse_element(&body, collection, id)?),
        }
    }

    fn save(&self, req: &SaveRequest) -> std::result::Result<(), ConnectorError> {
        checked_path(req.collection, &req.id)?;
        let path = "/co2/element/save";
        let body = match self.post_form(path, &req.form)? {
            Answer::Json(v) => v,
            Answer::NotFound => return Err(ConnectorError::Protocol(format!("{path}: not found"))),
        };
        let saved = matches!(body.get("result"), Some(Value::Bool(true)))
            || body.get("result").and_then(Value::as_str) == Some("true");
        if !saved {
            let msg = body.get("msg").and_then(Value::as_str).unwrap_or("no reason given");
            return Err(ConnectorError::Protocol(format!(
                "the main instance did not save {}/{}: {msg}",
                req.collection, req.id
            )));
        }
        tracing::debug!(collection = req.collection, id = %req.id, "saved on the communecter main");
        Ok(())
    }

    fn delete(&self, collection: &str, id: &str) -> std::result::Result<(), ConnectorError> {
        checked_path(collection, id)?;
        let path = format!("/co2/element/delete/type/{collection}/id/{id}");
        let body = match self.post_form(&path, &[])? {
            Answer::NotFound => return Ok(()),
            Answer::Json(v) => v,
        };
        if matches!(body.get("result"), Some(Value::Bool(true))) {
            return Ok(());
        }
        // Refused: fine if it is gone already (a replayed withdrawal).
        match self.get(collection, id)? {
            Fetched::Gone => Ok(()),
            _ => Err(ConnectorError::Protocol(format!(
                "the main instance did not delete {collection}/{id}: {}",
                body.get("msg").and_then(Value::as_str).unwrap_or("no reason given")
            ))),
        }
    }

    fn traffic(&self) -> Traffic {
        Traffic {
            sent: self.sent.load(Ordering::Relaxed),
            received: self.received.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_are_encoded_as_php_reads_them() {
        let form = vec![
            ("address[postalCode]".to_owned(), "97460".to_owned()),
            ("name".to_owned(), "Café & co = 100%".to_owned()),
        ];
        assert_eq!(
            form_body(&form),
            "address%5BpostalCode%5D=97460&name=Caf%C3%A9+%26+co+%3D+100%25"
        );
    }

    #[test]
    fn departments_and_regions_are_looked_up_through_their_largest_commune() {
        let q = |s: &str| scope_query(s).unwrap();
        assert_eq!(HttpUpstream::representative(&q("dep:974")).as_deref(), Some("97411"));
        assert_eq!(HttpUpstream::representative(&q("region:04")).as_deref(), Some("97411"));
        assert_eq!(HttpUpstream::representative(&q("city:26108")).as_deref(), Some("26108"));
        assert_eq!(HttpUpstream::representative(&q("cp:26400")), None);
    }

    #[test]
    fn bad_credentials_are_a_config_error_that_says_the_shape() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let Err(Error::Config(msg)) = connector("http://127.0.0.1:9", "just-a-token", &store) else {
            panic!("refused")
        };
        assert!(msg.contains("USERID:TOKEN"), "{msg}");
        assert!(connector("http://127.0.0.1:9", "5aa979f540bb4e7162d04363:tok", &store).is_ok());
    }
}
