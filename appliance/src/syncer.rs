//! Sync rounds with the configured main instance: the `copi` connector over HTTP (ureq,
//! gzip bodies), one round for `copi sync --once`, and the periodic loop `copi sync` and
//! `copi serve` run, which backs off after failures (doubling from 5 s, never sooner than
//! the main's `Retry-After`). The round itself is `copi_sync::run_round`; the store is the
//! replica (`store/sync.rs`).
//!
//! The loop waits on a [`SyncControl`] rather than sleeping, so the admin ("sync now" on
//! the admin page or `POST /api/v1/admin/sync/now`) and the box's button can wake it for a
//! round at once. One thread runs the rounds, so a wake never starts a second round beside
//! the one running: a wake during a round is kept, and one more round follows it. The
//! control also holds the running round's progress (in memory only), for the status and
//! the admin page.

use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use copi_sync::{
    Backoff, Connector, ConnectorError, Hello, Observer, PullRequest, PullResponse, PushRequest, PushResponse,
    RoundConfig, RoundError, RoundProgress, RoundReport, Traffic, Welcome,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::store::Store;

mod communecter;

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

/// The connector a round uses: another CoPi (`copi`) or a Communecter instance.
pub enum MainConnector<'s> {
    Copi(HttpConnector),
    Communecter(communecter::Connector<'s>),
}

impl Connector for MainConnector<'_> {
    fn hello(&self, req: &Hello) -> std::result::Result<Welcome, ConnectorError> {
        match self {
            MainConnector::Copi(c) => c.hello(req),
            MainConnector::Communecter(c) => c.hello(req),
        }
    }

    fn push(&self, req: &PushRequest) -> std::result::Result<PushResponse, ConnectorError> {
        match self {
            MainConnector::Copi(c) => c.push(req),
            MainConnector::Communecter(c) => c.push(req),
        }
    }

    fn pull(&self, req: &PullRequest) -> std::result::Result<PullResponse, ConnectorError> {
        match self {
            MainConnector::Copi(c) => c.pull(req),
            MainConnector::Communecter(c) => c.pull(req),
        }
    }

    fn traffic(&self) -> Traffic {
        match self {
            MainConnector::Copi(c) => c.traffic(),
            MainConnector::Communecter(c) => c.traffic(),
        }
    }
}

/// The connector the config asks for (one per round: the `communecter` one keeps its
/// listing state in `store`).
pub fn connector<'s>(config: &Config, store: &'s Store) -> Result<MainConnector<'s>> {
    let sync = &config.sync;
    let url = sync
        .main_url
        .as_deref()
        .ok_or_else(|| Error::Config("sync is not configured: set [sync] main_url (or COPI_SYNC_MAIN_URL)".into()))?;
    let token = sync
        .token
        .as_deref()
        .ok_or_else(|| Error::Config("sync.token (or COPI_SYNC_TOKEN) is required to sync".into()))?;
    match sync.connector.as_deref().unwrap_or("copi") {
        "copi" => Ok(MainConnector::Copi(HttpConnector::new(url, token))),
        "communecter" => Ok(MainConnector::Communecter(communecter::connector(url, token, store)?)),
        other => Err(Error::Config(format!(
            "sync.connector \"{other}\" is unknown; use \"copi\" or \"communecter\""
        ))),
    }
}

/// The round running now, as far as it has gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CurrentRound {
    /// Epoch seconds, informational (the Pi has no real-time clock).
    pub started_at: i64,
    #[serde(flatten)]
    pub progress: RoundProgress,
}

/// Whether the periodic loop runs.
#[derive(Debug, Clone, Default)]
enum LoopState {
    /// Not started (yet): a wake is kept for when it starts.
    #[default]
    NotStarted,
    Running,
    /// It cannot run, and why (no main configured, a config error).
    Unavailable(String),
}

#[derive(Debug, Default)]
struct ControlState {
    state: LoopState,
    /// A round was asked for and has not started yet.
    wake: bool,
    round: Option<CurrentRound>,
    /// No route to the main instance: rounds wait for one.
    offline: bool,
    /// The last round failed.
    failing: bool,
}

/// What the status LED says of sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncHealth {
    /// Nothing to report (or no main configured).
    Idle,
    Syncing,
    /// The last round failed: the admin should look.
    Failing,
    /// No uplink: the hub works offline.
    Offline,
}

/// The periodic loop's controls, shared by the loop, the API, the admin page and the
/// button: wakes the loop for a round now, and holds the progress of the round running.
#[derive(Debug, Clone, Default)]
pub struct SyncControl(Arc<Shared>);

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<ControlState>,
    woken: Condvar,
}

impl SyncControl {
    fn lock(&self) -> std::sync::MutexGuard<'_, ControlState> {
        self.0.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Asks the loop for a round now. A round already running is not doubled: one more
    /// follows it. Refused (with the reason) when the loop cannot run.
    pub fn request_round(&self) -> std::result::Result<(), String> {
        let mut state = self.lock();
        if let LoopState::Unavailable(why) = &state.state {
            return Err(why.clone());
        }
        state.wake = true;
        self.0.woken.notify_all();
        Ok(())
    }

    /// Whether a round was asked for and has not started yet.
    pub fn round_requested(&self) -> bool {
        self.lock().wake
    }

    /// The round running now, if any.
    pub fn current(&self) -> Option<CurrentRound> {
        self.lock().round
    }

    /// Whether the loop waits for an uplink (none yet: `None`, the loop does not run).
    pub fn offline(&self) -> Option<bool> {
        let state = self.lock();
        matches!(state.state, LoopState::Running).then_some(state.offline)
    }

    /// What the LED shows: a round running, else no uplink, else a failed last round.
    pub fn health(&self) -> SyncHealth {
        let state = self.lock();
        if !matches!(state.state, LoopState::Running) {
            SyncHealth::Idle
        } else if state.round.is_some() {
            SyncHealth::Syncing
        } else if state.offline {
            SyncHealth::Offline
        } else if state.failing {
            SyncHealth::Failing
        } else {
            SyncHealth::Idle
        }
    }

    fn set_state(&self, state: LoopState) {
        self.lock().state = state;
    }

    /// Waits `timeout`, or less if a round is asked for.
    fn wait(&self, timeout: Duration) {
        let state = self.lock();
        let waited = self.0.woken.wait_timeout_while(state, timeout, |s| !s.wake);
        drop(waited.unwrap_or_else(|e| e.into_inner()));
    }

    /// A round starts: it answers the requests made so far.
    fn begin_round(&self) {
        let mut state = self.lock();
        state.wake = false;
        state.round = Some(CurrentRound {
            started_at: crate::model::now_seconds(),
            progress: RoundProgress::default(),
        });
    }

    fn end_round(&self) {
        self.lock().round = None;
    }
}

/// "Sync now" (the admin page, the API): a round at once, or `Conflict` saying why not.
pub fn request_round_now(config: &Config, control: &SyncControl) -> Result<()> {
    if config.sync.main_url.is_none() {
        return Err(Error::Conflict(
            "no main instance is configured: set [sync] main_url (or COPI_SYNC_MAIN_URL) first".into(),
        ));
    }
    control
        .request_round()
        .map_err(|why| Error::Conflict(format!("sync cannot run: {why}")))?;
    tracing::info!("sync round requested by the admin");
    Ok(())
}

impl Observer for SyncControl {
    fn progress(&self, progress: &RoundProgress) {
        if let Some(round) = self.lock().round.as_mut() {
            round.progress = *progress;
        }
    }
}

/// Runs one round and records how it went in the store (for `/api/v1/status`).
pub fn run_once(store: &Store, config: &Config, batch: usize) -> Result<RoundReport> {
    attempt(store, config, batch, &copi_sync::NoObserver).map_err(|(e, _)| e)
}

/// What the admin reads of a failed round: a refused token says what to do.
fn describe(e: &RoundError) -> String {
    match e {
        RoundError::Connector(ConnectorError::Refused { status: 401, .. }) => format!(
            "{e} — the main instance refused this hub's token (unknown or revoked): ask its admin for a hub token \
             and set [sync] token (or COPI_SYNC_TOKEN)"
        ),
        _ => e.to_string(),
    }
}

/// One round; a failure comes with the wait the main asked for, if any.
fn attempt(
    store: &Store,
    config: &Config,
    batch: usize,
    observer: &dyn Observer,
) -> std::result::Result<RoundReport, (Error, Option<Duration>)> {
    let connector = connector(config, store).map_err(|e| (e, None))?;
    // The admin may have moved the hub's home since start (first-boot wizard).
    let (_, territories) = crate::setup::identity(store, config).map_err(|e| (e, None))?;
    let round = RoundConfig {
        batch,
        scopes: territories.iter().map(|s| s.to_string()).collect(),
    };
    match copi_sync::run_round_observed(store, &connector, &round, observer) {
        Ok(report) => {
            store.record_sync_round(Ok(&report)).map_err(|e| (e, None))?;
            Ok(report)
        }
        Err(e) => {
            let message = describe(&e);
            if let Err(record) = store.record_sync_round(Err(&message)) {
                tracing::warn!(error = %record, "sync status not recorded");
            }
            Err((Error::Config(format!("sync round failed: {message}")), e.retry_after()))
        }
    }
}

/// Runs rounds forever: every `interval` after a success, backing off after failures.
pub fn run_forever(store: &Store, config: &Config, batch: usize) -> ! {
    run_loop(store, config, batch, &SyncControl::default())
}

/// [`run_forever`], woken early by `control`, to which it reports the round's progress.
pub fn run_loop(store: &Store, config: &Config, batch: usize, control: &SyncControl) -> ! {
    let interval = Duration::from_secs(config.sync.interval.unwrap_or(DEFAULT_INTERVAL).max(1));
    let mut backoff = Backoff::new(Duration::from_secs(5), interval.max(Duration::from_secs(60)));
    control.set_state(LoopState::Running);
    let main_url = config.sync.main_url.clone().unwrap_or_default();
    let routes = Path::new("/proc/net/route");
    loop {
        // No uplink: no round (nor a failure to back off from); look again soon, and go as
        // soon as a route appears.
        let offline = !has_uplink(&main_url, std::fs::read_to_string(routes).ok().as_deref());
        let was_offline = std::mem::replace(&mut control.lock().offline, offline);
        if offline {
            if !was_offline {
                tracing::info!("no uplink to the main instance: sync waits for one");
            }
            control.wait(UPLINK_POLL.min(interval));
            continue;
        }
        if was_offline {
            tracing::info!("an uplink appeared: syncing now");
        }
        control.begin_round();
        let result = attempt(store, config, batch, control);
        control.end_round();
        control.lock().failing = result.is_err();
        let wait = match result {
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
        control.wait(wait);
    }
}

/// How often the loop looks for an uplink while there is none.
const UPLINK_POLL: Duration = Duration::from_secs(15);

/// Whether the main instance can be reached from here, going by the kernel's routing table
/// (`/proc/net/route`; unreadable: assumed reachable): a default route, or a main on this
/// machine (`localhost`, a loopback address), or a main whose address is on a network
/// a route leads to (a main on the LAN without internet).
pub fn has_uplink(main_url: &str, routes: Option<&str>) -> bool {
    let Some(routes) = routes else { return true };
    let host = main_url
        .split_once("://")
        .map_or(main_url, |(_, rest)| rest)
        .split(['/', '?', '#'])
        .next()
        .unwrap_or("");
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let host = if let Some(v6) = host.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let ip: Option<std::net::IpAddr> = host.parse().ok();
    if ip.is_some_and(|ip| ip.is_loopback()) {
        return true;
    }
    // Each route: interface, destination, gateway, flags, …, mask: addresses as the kernel
    // holds them (network byte order in memory) printed as native integers in hex.
    let hex = |s: &str| {
        u32::from_str_radix(s, 16)
            .ok()
            .map(|v| u32::from_be_bytes(v.to_ne_bytes()))
    };
    routes.lines().skip(1).any(|line| {
        let cols: Vec<&str> = line.split_whitespace().collect();
        let (Some(dest), Some(mask)) = (cols.get(1).and_then(|d| hex(d)), cols.get(7).and_then(|m| hex(m))) else {
            return false;
        };
        let flags = cols.get(3).and_then(|f| u16::from_str_radix(f, 16).ok()).unwrap_or(0);
        let up = flags & 1 != 0;
        let default = dest == 0 && mask == 0;
        let reaches = match ip {
            Some(std::net::IpAddr::V4(v4)) => u32::from(v4) & mask == dest & mask,
            _ => false,
        };
        up && cols[0] != "lo" && (default || reaches)
    })
}

/// Starts the periodic rounds of `copi serve` when `[sync]` names a main instance; `control`
/// wakes them and shows their progress.
pub fn spawn(store: Arc<Store>, config: &Config, control: SyncControl) {
    if config.sync.main_url.is_none() {
        control.set_state(LoopState::Unavailable(
            "no main instance is configured: set [sync] main_url (or COPI_SYNC_MAIN_URL)".into(),
        ));
        return;
    }
    if let Err(e) = connector(config, &store) {
        tracing::error!(error = %e, "sync not started");
        control.set_state(LoopState::Unavailable(e.to_string()));
        return;
    }
    let config = config.clone();
    let looping = control.clone();
    let started = std::thread::Builder::new()
        .name("sync".into())
        .spawn(move || run_loop(&store, &config, copi_sync::protocol::DEFAULT_BATCH, &looping));
    if let Err(e) = started {
        tracing::error!(error = %e, "sync not started");
        control.set_state(LoopState::Unavailable(format!("the sync thread did not start: {e}")));
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
    fn a_request_wakes_the_waiting_loop_and_a_round_answers_the_requests_before_it() {
        let control = SyncControl::default();
        assert_eq!(control.current(), None);
        // A request made while waiting ends the wait long before its hour.
        let waiter = control.clone();
        let waiting = std::thread::spawn(move || waiter.wait(Duration::from_secs(3600)));
        control.request_round().unwrap();
        waiting.join().unwrap();
        assert!(control.round_requested());
        // A round starts: it answers that request, and shows its progress while it runs.
        control.begin_round();
        assert!(!control.round_requested());
        let progress = RoundProgress {
            phase: copi_sync::Phase::Pulling,
            pulled_batches: 2,
            pulled_changes: 700,
            ..RoundProgress::default()
        };
        control.progress(&progress);
        assert_eq!(control.current().map(|r| r.progress), Some(progress));
        // A request during the round is kept for one more round after it, not run beside it.
        control.request_round().unwrap();
        assert!(control.current().is_some() && control.round_requested());
        control.end_round();
        assert_eq!(control.current(), None);
        control.wait(Duration::from_secs(3600)); // returns at once: a round is owed
                                                 // Progress outside a round is not shown.
        control.progress(&progress);
        assert_eq!(control.current(), None);
        // A loop that cannot run refuses, with the reason.
        control.set_state(LoopState::Unavailable("no main".into()));
        assert_eq!(control.request_round(), Err("no main".into()));
        let config = Config::default();
        assert!(matches!(request_round_now(&config, &control), Err(Error::Conflict(_))));
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

    #[test]
    fn an_uplink_is_a_route_to_the_main() {
        let head = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n";
        // wlan0 is the access point (10.42.0.0/24); eth0 has the default route via 192.168.1.1.
        let ap = "wlan0\t00002A0A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n";
        let lan = "eth0\t0001A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0\n";
        let default = "eth0\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n";
        let down = "eth0\t00000000\t0101A8C0\t0002\t0\t0\t100\t00000000\t0\t0\t0\n";
        let online = format!("{head}{ap}{lan}{default}");
        let offline = format!("{head}{ap}");
        let url = "https://www.communecter.org/co2";
        assert!(has_uplink(url, Some(&online)));
        assert!(!has_uplink(url, Some(&offline)));
        assert!(
            !has_uplink(url, Some(&format!("{head}{ap}{down}"))),
            "a route that is down"
        );
        // A main on the LAN is reachable without internet; on the Wi-Fi side too; on this machine always.
        let lan_only = format!("{head}{ap}{lan}");
        assert!(has_uplink("http://192.168.1.20:8000", Some(&lan_only)));
        assert!(!has_uplink("http://192.168.2.20:8000", Some(&lan_only)));
        assert!(has_uplink("http://user@10.42.0.7/", Some(&offline)));
        assert!(has_uplink("http://127.0.0.1:9000", Some(&offline)));
        assert!(has_uplink("http://localhost:9000", Some(&offline)));
        assert!(has_uplink("http://[::1]:9000", Some(&offline)));
        // No routing table to read (not Linux): assume one.
        assert!(has_uplink(url, None));
    }

    #[test]
    fn the_led_says_syncing_then_offline_then_failing() {
        let control = SyncControl::default();
        assert_eq!(control.health(), SyncHealth::Idle, "not running");
        control.set_state(LoopState::Running);
        assert_eq!(control.health(), SyncHealth::Idle);
        control.lock().offline = true;
        assert_eq!(control.health(), SyncHealth::Offline);
        assert_eq!(control.offline(), Some(true));
        control.begin_round();
        assert_eq!(control.health(), SyncHealth::Syncing);
        control.end_round();
        control.lock().offline = false;
        control.lock().failing = true;
        assert_eq!(control.health(), SyncHealth::Failing);
    }

    #[test]
    fn an_https_main_is_spoken_to_with_tls() {
        // A plain-HTTP server on the port: the TLS handshake fails (the client speaks TLS),
        // where a client without TLS would refuse the scheme before connecting.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            use std::io::{Read, Write};
            if let Ok((mut s, _)) = listener.accept() {
                let mut buf = [0u8; 512];
                let _ = s.read(&mut buf);
                let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n");
            }
        });
        let connector = HttpConnector::new(&format!("https://127.0.0.1:{port}"), "0123456789abcdef0123");
        let hello = Hello {
            hub: "h".into(),
            protocol: copi_sync::protocol::PROTOCOL,
        };
        let err = connector.hello(&hello).unwrap_err().to_string();
        assert!(!err.to_lowercase().contains("scheme"), "{err}");
        assert!(err.contains("unreachable"), "{err}");
    }
}
