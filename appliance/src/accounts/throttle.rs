//! Login throttling: sliding windows of failed attempts kept in memory (a restart forgets
//! them, which costs an attacker a reboot they cannot cause), per account and per client IP.
//!
//! - Per account (keyed by the email as typed, lower-cased, whether or not an account has it,
//!   so a refusal says nothing about which accounts exist): 5 failures in 15 minutes.
//! - Per client IP (an IPv6 client by its /64, since it can pick any address in it):
//!   20 failures in 15 minutes, whatever the emails tried.
//!
//! An attempt is counted *before* its password is checked, atomically with the check of the
//! limits, so a burst of concurrent guesses cannot all slip in before the first failure is
//! recorded. A success then takes its own attempt back from its IP (never anyone else's
//! failures) and clears the account's. While over a limit, even the right password is
//! refused: that is what stops guessing.
//!
//! Memory is bounded: each map keeps at most [`MAX_KEYS`] keys, dropping expired ones first,
//! then the stalest.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most keys one window map holds.
pub const MAX_KEYS: usize = 10_000;

/// How many attempts are allowed in how long.
#[derive(Debug, Clone, Copy)]
pub struct ThrottleLimits {
    pub failures_per_account: u32,
    pub failures_per_ip: u32,
    pub login_window: Duration,
    /// Registrations (each costs a password hash) per client IP.
    pub registrations_per_ip: u32,
    pub registration_window: Duration,
}

impl Default for ThrottleLimits {
    fn default() -> Self {
        ThrottleLimits {
            failures_per_account: 5,
            failures_per_ip: 20,
            login_window: Duration::from_secs(15 * 60),
            registrations_per_ip: 10,
            registration_window: Duration::from_secs(60 * 60),
        }
    }
}

/// The throttling key of a client address: IPv4 as is (IPv4-mapped IPv6 too), IPv6 by its /64.
/// Rocket's `client_ip()` is not used by callers: it trusts an `X-Real-IP` header that anyone
/// on the hub's Wi-Fi can forge; the socket's peer address is what counts.
pub fn ip_key(ip: Option<IpAddr>) -> String {
    match ip {
        None => "unknown".into(),
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// Hits per key within a sliding window.
#[derive(Debug)]
struct Windows {
    max: u32,
    window: Duration,
    hits: HashMap<String, VecDeque<Instant>>,
}

impl Windows {
    fn new(max: u32, window: Duration) -> Windows {
        Windows {
            max,
            window,
            hits: HashMap::new(),
        }
    }

    fn prune(&mut self, key: &str, now: Instant) {
        if let Some(q) = self.hits.get_mut(key) {
            while q
                .front()
                .is_some_and(|t| now.saturating_duration_since(*t) >= self.window)
            {
                q.pop_front();
            }
            if q.is_empty() {
                self.hits.remove(key);
            }
        }
    }

    /// How long until `key` may try again, if it is at its limit now.
    fn blocked(&mut self, key: &str, now: Instant) -> Option<Duration> {
        self.prune(key, now);
        let q = self.hits.get(key)?;
        if q.len() < self.max as usize {
            return None;
        }
        // Below the limit again once the hits up to this one have left the window.
        let freeing = q[q.len() - self.max as usize];
        Some((freeing + self.window).saturating_duration_since(now))
    }

    fn hit(&mut self, key: &str, now: Instant) {
        if !self.hits.contains_key(key) && self.hits.len() >= MAX_KEYS {
            self.make_room(now);
        }
        self.hits.entry(key.to_owned()).or_default().push_back(now);
    }

    fn make_room(&mut self, now: Instant) {
        let window = self.window;
        self.hits
            .retain(|_, q| q.back().is_some_and(|t| now.saturating_duration_since(*t) < window));
        if self.hits.len() >= MAX_KEYS {
            let stalest = self
                .hits
                .iter()
                .min_by_key(|(_, q)| q.back().copied())
                .map(|(k, _)| k.clone());
            if let Some(k) = stalest {
                self.hits.remove(&k);
            }
        }
    }

    /// Takes back one hit made at `at`.
    fn undo(&mut self, key: &str, at: Instant) {
        if let Some(q) = self.hits.get_mut(key) {
            if let Some(i) = q.iter().rposition(|t| *t == at) {
                q.remove(i);
            }
            if q.is_empty() {
                self.hits.remove(key);
            }
        }
    }

    fn clear(&mut self, key: &str) {
        self.hits.remove(key);
    }
}

/// One sliding-window limit on its own (registrations per IP).
#[derive(Debug)]
pub struct Limiter(Mutex<Windows>);

impl Limiter {
    pub fn new(max: u32, window: Duration) -> Limiter {
        Limiter(Mutex::new(Windows::new(max, window)))
    }

    /// Counts an attempt by `key`, or says how long to wait if it is at its limit.
    pub fn try_hit(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let mut w = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(wait) = w.blocked(key, now) {
            return Err(wait);
        }
        w.hit(key, now);
        Ok(())
    }
}

/// The login limits, per account and per IP, checked and counted together.
#[derive(Debug)]
pub struct LoginThrottle {
    state: Mutex<(Windows, Windows)>,
}

/// A login attempt that has been counted as a failure until [`LoginThrottle::succeeded`]
/// says otherwise.
#[derive(Debug)]
#[must_use = "report a success with LoginThrottle::succeeded; a dropped attempt stays a failure"]
pub struct LoginAttempt {
    account: String,
    ip: String,
    at: Instant,
}

impl LoginThrottle {
    pub fn new(limits: &ThrottleLimits) -> LoginThrottle {
        LoginThrottle {
            state: Mutex::new((
                Windows::new(limits.failures_per_account, limits.login_window),
                Windows::new(limits.failures_per_ip, limits.login_window),
            )),
        }
    }

    /// Starts an attempt on `account` from `ip`: refused with the time to wait if either is
    /// at its limit, else counted (as a failure until it succeeds).
    pub fn begin(&self, account: &str, ip: &str, now: Instant) -> Result<LoginAttempt, Duration> {
        let mut guard = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (accounts, ips) = &mut *guard;
        let wait = [accounts.blocked(account, now), ips.blocked(ip, now)]
            .into_iter()
            .flatten()
            .max();
        if let Some(wait) = wait {
            return Err(wait);
        }
        accounts.hit(account, now);
        ips.hit(ip, now);
        Ok(LoginAttempt {
            account: account.to_owned(),
            ip: ip.to_owned(),
            at: now,
        })
    }

    /// The attempt succeeded: its own count is taken back from its IP, and the account's
    /// failures are forgotten. Other attempts from the same IP still count.
    pub fn succeeded(&self, attempt: LoginAttempt) {
        let mut guard = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (accounts, ips) = &mut *guard;
        accounts.clear(&attempt.account);
        ips.undo(&attempt.ip, attempt.at);
    }

    /// Forgets an account's failures (its password was just reset).
    pub fn forget_account(&self, account: &str) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).0.clear(account);
    }
}
