//! Sync rounds with the configured main instance: the `copi` connector over HTTP (ureq,
//! gzip bodies), one round for `copi sync --once`, and the periodic loop `copi sync` and
//! `copi serve` run, which backs off after failures (doubling from 5 s, never sooner than
//! the main's `Retry-After`). The round itself is `copi_sync::run_round`; the store is the
//! replica (`store/sync.rs`).

use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use copi_sync::{
    Backoff, Connector, ConnectorError, Hello, PullRequest, PullResponse, PushRequest, PushResponse, RoundConfig,
    RoundReport, Traffic, Welcome,
};
use serde::de::DeserializeOwned;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::store::Store;

/// Seconds between rounds when the config names none.
pub const DEFAULT_INTERVAL: u64 = 300;

/// The `copi` connector: another CoPi serving `--role main`.
pub struct HttpConnector {
    base: String,
    token: String,
    agent: ureq::Agent,
    sent: AtomicU64,
    received: AtomicU64,
}

fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.:~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl HttpConnector {
    pub fn new(main_url: &str, token: &str) -> HttpConnector {
        HttpConnector {
            base: main_url.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            agent: ureq::AgentBuilder::new()
                .timeout_connect(Duration::from_secs(10))
                .timeout(Duration::from_secs(120))
                .build(),
            sent: AtomicU64::new(0),
            received: AtomicU64::new(0),
        }
    }

    fn answer<T: DeserializeOwned>(
        &self,
        result: std::result::Result<ureq::Response, ureq::Error>,
    ) -> std::result::Result<T, ConnectorError> {
        let resp = match result {
            Ok(r) => r,
            Err(ureq::Error::Status(409, _)) => return Err(ConnectorError::Gap),
            Err(ureq::Error::Status(status, r)) => {
                let retry_after = r.header("Retry-After").and_then(|v| v.trim().parse().ok());
                let message = r
                    .into_json::<serde_json::Value>()
                    .ok()
                    .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
                    .unwrap_or_default();
                return Err(ConnectorError::Refused {
                    status,
                    message,
                    retry_after,
                });
            }
            Err(e) => return Err(ConnectorError::Unreachable(e.to_string())),
        };
        let gzipped = resp
            .header("Content-Encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("gzip"));
        let mut raw = Vec::new();
        resp.into_reader()
            .take(copi_sync::gzip::MAX_INFLATED)
            .read_to_end(&mut raw)
            .map_err(|e| ConnectorError::Unreachable(format!("answer cut: {e}")))?;
        self.received.fetch_add(raw.len() as u64, Ordering::Relaxed);
        let body = if gzipped {
            copi_sync::gzip::gunzip(&raw, copi_sync::gzip::MAX_INFLATED)
                .map_err(|e| ConnectorError::Protocol(e.to_string()))?
        } else {
            raw
        };
        serde_json::from_slice(&body).map_err(|e| ConnectorError::Protocol(e.to_string()))
    }

    fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl serde::Serialize,
    ) -> std::result::Result<T, ConnectorError> {
        let json = serde_json::to_vec(body).map_err(|e| ConnectorError::Protocol(e.to_string()))?;
        let packed = copi_sync::gzip::gzip(&json);
        self.sent.fetch_add(packed.len() as u64, Ordering::Relaxed);
        let result = self
            .agent
            .post(&format!("{}{path}", self.base))
            .set("Authorization", &format!("Bearer {}", self.token))
            .set("Content-Type", "application/json")
            .set("Content-Encoding", "gzip")
            .set("Accept-Encoding", "gzip")
            .send_bytes(&packed);
        self.answer(result)
    }
}

impl Connector for HttpConnector {
    fn hello(&self, req: &Hello) -> std::result::Result<Welcome, ConnectorError> {
        self.post("/api/v1/sync/hello", req)
    }

    fn push(&self, req: &PushRequest) -> std::result::Result<PushResponse, ConnectorError> {
        self.post("/api/v1/sync/push", req)
    }

    fn pull(&self, req: &PullRequest) -> std::result::Result<PullResponse, ConnectorError> {
        let mut url = format!(
            "{}/api/v1/sync/pull?hub={}&since={}&limit={}",
            self.base,
            encode(&req.hub),
            req.since.0,
            req.limit
        );
        for s in &req.scopes {
            url.push_str(&format!("&scope={}", encode(s)));
        }
        let result = self
            .agent
            .get(&url)
            .set("Authorization", &format!("Bearer {}", self.token))
            .set("Accept-Encoding", "gzip")
            .call();
        self.answer(result)
    }

    fn traffic(&self) -> Traffic {
        Traffic {
            sent: self.sent.load(Ordering::Relaxed),
            received: self.received.load(Ordering::Relaxed),
        }
    }
}

/// The connector the config asks for.
pub fn connector(config: &Config) -> Result<HttpConnector> {
    let sync = &config.sync;
    let url = sync
        .main_url
        .as_deref()
        .ok_or_else(|| Error::Config("sync is not configured: set [sync] main_url (or COPI_SYNC_MAIN_URL)".into()))?;
    match sync.connector.as_deref().unwrap_or("copi") {
        "copi" => {}
        other => {
            return Err(Error::Config(format!(
                "sync.connector \"{other}\" is not available yet; use \"copi\""
            )))
        }
    }
    let token = sync
        .token
        .as_deref()
        .ok_or_else(|| Error::Config("sync.token (or COPI_SYNC_TOKEN) is required to sync".into()))?;
    Ok(HttpConnector::new(url, token))
}

/// Runs one round and records how it went in the store (for `/api/v1/status`).
pub fn run_once(store: &Store, config: &Config, batch: usize) -> Result<RoundReport> {
    attempt(store, config, batch).map_err(|(e, _)| e)
}

/// One round; a failure comes with the wait the main asked for, if any.
fn attempt(
    store: &Store,
    config: &Config,
    batch: usize,
) -> std::result::Result<RoundReport, (Error, Option<Duration>)> {
    let connector = connector(config).map_err(|e| (e, None))?;
    let round = RoundConfig {
        batch,
        scopes: config.hub.territories.iter().map(|s| s.to_string()).collect(),
    };
    match copi_sync::run_round(store, &connector, &round) {
        Ok(report) => {
            store.record_sync_round(Ok(&report)).map_err(|e| (e, None))?;
            Ok(report)
        }
        Err(e) => {
            let message = e.to_string();
            if let Err(record) = store.record_sync_round(Err(&message)) {
                tracing::warn!(error = %record, "sync status not recorded");
            }
            Err((Error::Config(format!("sync round failed: {message}")), e.retry_after()))
        }
    }
}

/// Runs rounds forever: every `interval` after a success, backing off after failures.
pub fn run_forever(store: &Store, config: &Config, batch: usize) -> ! {
    let interval = Duration::from_secs(config.sync.interval.unwrap_or(DEFAULT_INTERVAL).max(1));
    let mut backoff = Backoff::new(Duration::from_secs(5), interval.max(Duration::from_secs(60)));
    loop {
        let wait = match attempt(store, config, batch) {
            Ok(report) => {
                backoff.success();
                tracing::info!(
                    pushed = report.pushed_changes,
                    pulled = report.pulled_changes,
                    applied = report.applied,
                    conflicts = report.conflicts,
                    "sync round done"
                );
                interval
            }
            Err((e, retry_after)) => {
                let wait = backoff.failure(retry_after);
                tracing::warn!(error = %e, retry_in = ?wait, "sync round failed");
                wait
            }
        };
        std::thread::sleep(wait);
    }
}

/// Starts the periodic rounds of `copi serve` when `[sync]` names a main instance.
pub fn spawn(store: Arc<Store>, config: &Config) {
    if config.sync.main_url.is_none() {
        return;
    }
    if let Err(e) = connector(config) {
        tracing::error!(error = %e, "sync not started");
        return;
    }
    let config = config.clone();
    let started = std::thread::Builder::new()
        .name("sync".into())
        .spawn(move || run_forever(&store, &config, copi_sync::protocol::DEFAULT_BATCH));
    if let Err(e) = started {
        tracing::error!(error = %e, "sync not started");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(encode("city:26108"), "city:26108");
        assert_eq!(encode("a b&c=d"), "a%20b%26c%3Dd");
    }

    #[test]
    fn a_dead_main_is_an_error_recorded_in_the_status() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut config = Config::default();
        assert!(matches!(run_once(&store, &config, 10), Err(Error::Config(_))));
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        config.sync.main_url = Some(format!("http://127.0.0.1:{port}"));
        config.sync.token = Some("0123456789abcdef0123".into());
        let err = run_once(&store, &config, 10).unwrap_err();
        assert!(err.to_string().contains("unreachable"), "{err}");
        let status = store.sync_status().unwrap();
        assert!(
            status["last_error"].as_str().unwrap().contains("unreachable"),
            "{status}"
        );
        assert!(status["last_success"].is_null());
    }
}
