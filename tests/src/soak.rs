//! The soak load (issue 9): N clients, each on its own keep-alive connection, mix page views,
//! searches and writes against a running hub for a while. Every request's latency is kept;
//! the server's RSS and open file descriptors are sampled as it goes. The run passes with
//! 0 errors, no RSS growth and stable file descriptors (the rules are in [`Verdict`]).
//!
//! `src/bin/soak.rs` runs it against any hub (`scripts/bench --soak`: 200 clients, 10 min,
//! 20k elements); the e2e test `soak` runs a short version in CI.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::Read;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// What to run, against what.
#[derive(Debug, Clone)]
pub struct Config {
    /// The hub, e.g. `http://127.0.0.1:8000`.
    pub base: String,
    /// The admin bearer token (`COPI_ADMIN_TOKEN`) the writes are made with.
    pub token: String,
    /// The server's process id, for `/proc/PID/status` and `/proc/PID/fd`.
    pub pid: u32,
    pub clients: usize,
    pub duration: Duration,
    pub seed: u64,
    /// How often RSS and file descriptors are sampled.
    pub sample_every: Duration,
}

/// Every request waits this long at most; a timeout is an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Elements a client keeps at most: its creates and deletes balance around this, so the hub
/// does not grow during the run (growth of the data is not a leak).
const OWN_MAX: usize = 4;
/// Errors listed in the report (all are counted).
const ERRORS_LISTED: usize = 20;
/// The RSS rule: the peak of the last third may exceed the peak of the middle third by this
/// factor plus [`RSS_SLACK_KIB`] (the first third is warm-up: caches, pools, index readers).
const RSS_FACTOR: f64 = 1.10;
const RSS_SLACK_KIB: u64 = 8 * 1024;
/// The fd rule: the peak of the last third may exceed the peak of the first third by this.
const FD_SLACK: usize = 16;
/// Linux's USER_HZ, the unit of the CPU times in `/proc/PID/stat`.
const TICKS_PER_SECOND: f64 = 100.0;

/// What a request is, for the per-kind figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Page,
    Search,
    Write,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Page => "page views",
            Kind::Search => "searches",
            Kind::Write => "writes",
        }
    }
}

/// An element of the hub the clients read.
struct Target {
    kind: String,
    slug: String,
    id: String,
    /// Longitude and latitude, for map bounding boxes.
    at: Option<(f64, f64)>,
}

/// What the clients pick from: real elements, words of their names, tags, event days.
struct Corpus {
    elements: Vec<Target>,
    words: Vec<String>,
    tags: Vec<String>,
    days: Vec<String>,
}

const DIRECTORY_KINDS: [&str; 5] = ["organization", "project", "person", "poi", "event"];
const KINDS: [&str; 7] = [
    "person",
    "organization",
    "project",
    "event",
    "poi",
    "classified",
    "resource",
];

fn agent() -> ureq::Agent {
    // No redirects followed: a 3xx is an answer (e.g. /feed sends visitors to sign in).
    ureq::AgentBuilder::new().timeout(REQUEST_TIMEOUT).redirects(0).build()
}

fn get_json(agent: &ureq::Agent, url: &str) -> Result<Value, String> {
    let resp = agent.get(url).call().map_err(|e| format!("GET {url}: {e}"))?;
    resp.into_json().map_err(|e| format!("GET {url}: {e}"))
}

/// Percent-encodes a query value.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `YYYY-MM-DD` of a Unix time (UTC), by Howard Hinnant's days-to-civil.
fn day_of(secs: i64) -> String {
    let z = secs.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Reads up to 400 elements of each kind from the API.
fn corpus(agent: &ureq::Agent, base: &str) -> Result<Corpus, String> {
    let (mut elements, mut words, mut tags, mut days) = (Vec::new(), BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    for kind in KINDS {
        let mut cursor = String::new();
        for _ in 0..2 {
            let page = get_json(agent, &format!("{base}/api/v1/elements?type={kind}&limit=200{cursor}"))?;
            for e in page["items"].as_array().ok_or("no items in /api/v1/elements")? {
                let (Some(id), Some(name)) = (e["id"].as_str(), e["name"].as_str()) else {
                    continue;
                };
                let coords = &e["geoPosition"]["coordinates"];
                elements.push(Target {
                    kind: kind.to_owned(),
                    slug: e["slug"].as_str().unwrap_or(id).to_owned(),
                    id: id.to_owned(),
                    at: coords[0].as_f64().zip(coords[1].as_f64()),
                });
                for w in name.split(|c: char| !c.is_alphanumeric()) {
                    if w.chars().count() >= 5 {
                        words.insert(w.to_lowercase());
                    }
                }
                for t in e["tags"].as_array().into_iter().flatten().filter_map(Value::as_str) {
                    tags.insert(t.to_owned());
                }
                if let Some(s) = e["startDate"]["sec"].as_i64() {
                    days.insert(day_of(s));
                }
            }
            match page["next"].as_str() {
                Some(next) => cursor = format!("&cursor={next}"),
                None => break,
            }
        }
    }
    if elements.is_empty() || words.is_empty() || tags.is_empty() || days.is_empty() {
        return Err(format!(
            "the hub has too little to read: {} elements, {} words, {} tags, {} event days",
            elements.len(),
            words.len(),
            tags.len(),
            days.len()
        ));
    }
    Ok(Corpus {
        elements,
        words: words.into_iter().collect(),
        tags: tags.into_iter().collect(),
        days: days.into_iter().collect(),
    })
}

/// What a write does to the client's own elements when it succeeds.
enum Effect {
    None,
    Created(&'static str),
    Deleted(usize),
}

/// One request: its kind, its route (for the per-route figures) and what it sends.
struct Request {
    kind: Kind,
    route: &'static str,
    method: &'static str,
    path: String,
    body: Option<Value>,
    effect: Effect,
}

impl Request {
    fn get(kind: Kind, route: &'static str, path: String) -> Request {
        Request {
            kind,
            route,
            method: "GET",
            path,
            body: None,
            effect: Effect::None,
        }
    }
}

/// One client's state: its random stream and the elements it created (and alone touches).
struct Client<'a> {
    n: usize,
    rng: fastrand::Rng,
    corpus: &'a Corpus,
    own: Vec<(&'static str, String)>,
    serial: usize,
}

impl Client<'_> {
    fn word(&mut self) -> String {
        self.corpus.words[self.rng.usize(..self.corpus.words.len())].clone()
    }

    fn tag(&mut self) -> String {
        self.corpus.tags[self.rng.usize(..self.corpus.tags.len())].clone()
    }

    fn day(&mut self) -> String {
        self.corpus.days[self.rng.usize(..self.corpus.days.len())].clone()
    }

    fn kind(&mut self) -> &'static str {
        KINDS[self.rng.usize(..KINDS.len())]
    }

    fn element(&mut self) -> &Target {
        &self.corpus.elements[self.rng.usize(..self.corpus.elements.len())]
    }

    /// A page view (70 % of requests): the busy pages, element pages above all.
    fn page(&mut self) -> Request {
        use Kind::Page;
        let r = self.rng.u32(0..70);
        match r {
            0..=9 => Request::get(Page, "GET /", "/".into()),
            10..=15 => Request::get(Page, "GET /agenda", "/agenda".into()),
            16..=20 => {
                let view = if r < 19 { "week" } else { "month" };
                let day = self.day();
                Request::get(Page, "GET /agenda?view&date", format!("/agenda?view={view}&date={day}"))
            }
            21..=25 => Request::get(Page, "GET /live", "/live".into()),
            26..=28 => Request::get(Page, "GET /directory", "/directory".into()),
            29..=32 => {
                // The kinds the directory lists (classifieds and resources have pages of their own).
                let kind = DIRECTORY_KINDS[self.rng.usize(..DIRECTORY_KINDS.len())];
                Request::get(Page, "GET /directory?kind", format!("/directory?kind={kind}"))
            }
            33..=34 => Request::get(Page, "GET /marketplace", "/marketplace".into()),
            35..=36 => Request::get(Page, "GET /mutual-aid", "/mutual-aid".into()),
            37..=39 => Request::get(Page, "GET /map", "/map".into()),
            40..=41 => {
                let (lon, lat) = self.element().at.unwrap_or((4.89, 44.93));
                let bbox = format!(
                    "{:.4},{:.4},{:.4},{:.4}",
                    lon - 0.05,
                    lat - 0.05,
                    lon + 0.05,
                    lat + 0.05
                );
                Request::get(
                    Page,
                    "GET /api/v1/map.geojson?bbox",
                    format!("/api/v1/map.geojson?bbox={bbox}"),
                )
            }
            42..=61 => {
                // One view in five is of an element the client made (its page changes).
                if !self.own.is_empty() && self.rng.u32(0..5) == 0 {
                    let (kind, id) = &self.own[self.rng.usize(..self.own.len())];
                    return Request::get(Page, "GET /{kind}/{slug}", format!("/{kind}/{id}"));
                }
                let e = self.element();
                let path = format!("/{}/{}", e.kind, encode(&e.slug));
                Request::get(Page, "GET /{kind}/{slug}", path)
            }
            62..=63 => {
                let e = self.element();
                let path = format!("/{}/{}/graph", e.kind, encode(&e.slug));
                Request::get(Page, "GET /{kind}/{slug}/graph", path)
            }
            64..=67 => {
                let path = format!("/api/v1/elements/{}", self.element().id);
                Request::get(Page, "GET /api/v1/elements/{id}", path)
            }
            _ => {
                let kind = self.kind();
                let path = format!("/api/v1/elements?type={kind}&limit=20");
                Request::get(Page, "GET /api/v1/elements?type", path)
            }
        }
    }

    /// A search (20 %): the API, the page, suggestions, the map's search, a tag.
    fn search(&mut self) -> Request {
        use Kind::Search;
        let word = self.word();
        match self.rng.u32(0..20) {
            0..=6 => {
                let path = format!("/api/v1/search?q={}&limit=20", encode(&word));
                Request::get(Search, "GET /api/v1/search?q", path)
            }
            7..=12 => Request::get(Search, "GET /search?q", format!("/search?q={}", encode(&word))),
            13..=17 => {
                let prefix: String = word.chars().take(3).collect();
                let path = format!("/api/v1/search/suggest?q={}", encode(&prefix));
                Request::get(Search, "GET /api/v1/search/suggest", path)
            }
            18 => {
                let path = format!("/map/search.geojson?q={}", encode(&word));
                Request::get(Search, "GET /map/search.geojson?q", path)
            }
            _ => {
                let path = format!("/api/v1/search?tags={}&limit=20", encode(&self.tag()));
                Request::get(Search, "GET /api/v1/search?tags", path)
            }
        }
    }

    /// A write (10 %) with the admin token: creates, edits and deletes of the client's own
    /// elements, projects and events.
    fn write(&mut self) -> Request {
        self.serial += 1;
        let (n, serial) = (self.n, self.serial);
        let r = self.rng.u32(0..100);
        if self.own.is_empty() || (r < 40 && self.own.len() < OWN_MAX) {
            let word = self.word();
            let name = format!("Soak {word} c{n} n{serial}");
            let (kind, body) = if self.rng.bool() {
                let day = self.day();
                let body = json!({"kind": "event", "name": name, "type": "workshop",
                    "startDate": format!("{day} 18:00"), "tags": ["soak"],
                    "shortDescription": format!("Atelier {word}")});
                ("event", body)
            } else {
                let tag = self.tag();
                let body = json!({"kind": "project", "name": name, "tags": ["soak", tag],
                    "shortDescription": format!("Projet {word}")});
                ("project", body)
            };
            Request {
                kind: Kind::Write,
                route: "POST /api/v1/elements",
                method: "POST",
                path: "/api/v1/elements".into(),
                body: Some(body),
                effect: Effect::Created(kind),
            }
        } else if r < 75 {
            let id = self.own[self.rng.usize(..self.own.len())].1.clone();
            let word = self.word();
            Request {
                kind: Kind::Write,
                route: "PATCH /api/v1/elements/{id}",
                method: "PATCH",
                path: format!("/api/v1/elements/{id}"),
                body: Some(json!({"shortDescription": format!("Retouche {serial}: {word}")})),
                effect: Effect::None,
            }
        } else {
            let i = self.rng.usize(..self.own.len());
            Request {
                kind: Kind::Write,
                route: "DELETE /api/v1/elements/{id}",
                method: "DELETE",
                path: format!("/api/v1/elements/{}", self.own[i].1),
                body: None,
                effect: Effect::Deleted(i),
            }
        }
    }

    fn next(&mut self) -> Request {
        match self.rng.u32(0..100) {
            0..=69 => self.page(),
            70..=89 => self.search(),
            _ => self.write(),
        }
    }
}

/// Counters the sampler reads while the clients run.
#[derive(Default)]
struct Shared {
    stop: AtomicBool,
    requests: AtomicU64,
    errors: AtomicU64,
}

/// One client's figures.
#[derive(Default)]
struct Tally {
    /// Latencies in µs, per (kind, route).
    latencies: BTreeMap<(Kind, &'static str), Vec<u32>>,
    errors: BTreeMap<(Kind, &'static str), u64>,
    listed: Vec<String>,
}

/// Sends `req`; `Ok` with the status and, for a create, the new element's id.
fn send(agent: &ureq::Agent, cfg: &Config, req: &Request) -> Result<(u16, Option<String>), String> {
    let url = format!("{}{}", cfg.base, req.path);
    let mut r = agent.request(req.method, &url);
    if req.kind == Kind::Write {
        r = r.set("Authorization", &format!("Bearer {}", cfg.token));
    }
    let answer = match &req.body {
        Some(body) => r.send_json(body.clone()),
        None => r.call(),
    };
    match answer {
        Ok(resp) => {
            let status = resp.status();
            if matches!(req.effect, Effect::Created(_)) {
                let v: Value = resp.into_json().map_err(|e| format!("reading the answer: {e}"))?;
                let id = v["id"].as_str().ok_or_else(|| format!("{status} without an id: {v}"))?;
                return Ok((status, Some(id.to_owned())));
            }
            // The whole body: the latency is the time to the last byte, and the connection
            // is then reused.
            std::io::copy(&mut resp.into_reader(), &mut std::io::sink()).map_err(|e| format!("reading: {e}"))?;
            Ok((status, None))
        }
        Err(ureq::Error::Status(status, resp)) => {
            let mut text = String::new();
            let _ = resp.into_reader().take(64 * 1024).read_to_string(&mut text);
            Err(format!("{status}: {}", gist(&text)))
        }
        Err(e) => Err(e.to_string()),
    }
}

/// The gist of an error answer: a page's title, else the start of the text.
fn gist(text: &str) -> String {
    let title = text
        .split_once("<title>")
        .and_then(|(_, rest)| rest.split_once("</title>"))
        .map(|(title, _)| title);
    title.unwrap_or(text).trim().chars().take(200).collect()
}

fn client_loop(n: usize, cfg: &Config, corpus: &Corpus, shared: &Shared, deadline: Instant) -> Tally {
    let agent = agent();
    let mut client = Client {
        n,
        rng: fastrand::Rng::with_seed(cfg.seed ^ (n as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)),
        corpus,
        own: Vec::new(),
        serial: 0,
    };
    let mut tally = Tally::default();
    while Instant::now() < deadline && !shared.stop.load(Ordering::Relaxed) {
        let req = client.next();
        let started = Instant::now();
        let result = send(&agent, cfg, &req);
        let micros = u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX);
        shared.requests.fetch_add(1, Ordering::Relaxed);
        tally.latencies.entry((req.kind, req.route)).or_default().push(micros);
        match result {
            Ok((status, id)) if (200..400).contains(&status) => match (req.effect, id) {
                (Effect::Created(kind), Some(id)) => client.own.push((kind, id)),
                (Effect::Deleted(i), _) => {
                    client.own.swap_remove(i);
                }
                _ => {}
            },
            other => {
                shared.errors.fetch_add(1, Ordering::Relaxed);
                *tally.errors.entry((req.kind, req.route)).or_default() += 1;
                if tally.listed.len() < ERRORS_LISTED {
                    let what = match other {
                        Ok((status, _)) => format!("{status}"),
                        Err(e) => e,
                    };
                    tally
                        .listed
                        .push(format!("client {n}: {} {}: {what}", req.method, req.path));
                }
                // A delete that failed is not retried: its element is forgotten.
                if let Effect::Deleted(i) = req.effect {
                    client.own.swap_remove(i);
                }
            }
        }
    }
    tally
}

/// One reading of the server process.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Since the start of the load.
    pub at: Duration,
    pub rss_kib: u64,
    /// The anonymous part of the RSS (heap, stacks), beside file-backed pages (the binary,
    /// the mapped index).
    pub anon_kib: u64,
    pub fds: usize,
    pub threads: u64,
    /// Requests answered so far (all clients).
    pub requests: u64,
    pub errors: u64,
}

/// VmRSS (KiB), RssAnon (KiB) and Threads of a process.
fn status_of(pid: u32) -> Result<(u64, u64, u64), String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(|e| format!("process {pid}: {e}"))?;
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or_else(|| format!("no {name} in /proc/{pid}/status"))
    };
    Ok((field("VmRSS:")?, field("RssAnon:")?, field("Threads:")?))
}

fn fds_of(pid: u32) -> Result<usize, String> {
    Ok(std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map_err(|e| format!("/proc/{pid}/fd: {e}"))?
        .count())
}

/// User plus system CPU time of a process (`self` for this one), in seconds.
fn cpu_seconds(pid: &str) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the command's closing parenthesis: state is field 3, utime 14, stime 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i - 3).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(14) + ticks(15)) / TICKS_PER_SECOND
}

fn sample(pid: u32, start: Instant, shared: &Shared) -> Result<Sample, String> {
    let (rss_kib, anon_kib, threads) = status_of(pid)?;
    Ok(Sample {
        at: start.elapsed(),
        rss_kib,
        anon_kib,
        fds: fds_of(pid)?,
        threads,
        requests: shared.requests.load(Ordering::Relaxed),
        errors: shared.errors.load(Ordering::Relaxed),
    })
}

/// Samples every `every` until `stop`, and once more at the end.
fn sampler(pid: u32, every: Duration, start: Instant, shared: &Shared) -> (Vec<Sample>, Option<String>) {
    let mut samples = Vec::new();
    let mut next = start;
    loop {
        let stopping = shared.stop.load(Ordering::Relaxed);
        if stopping || Instant::now() >= next {
            match sample(pid, start, shared) {
                Ok(s) => samples.push(s),
                Err(e) => return (samples, Some(e)),
            }
            next += every;
        }
        if stopping {
            return (samples, None);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Latency figures of a set of requests.
#[derive(Debug, Clone)]
pub struct Figures {
    pub label: String,
    pub requests: usize,
    pub errors: u64,
    /// In microseconds.
    pub p50: u32,
    pub p90: u32,
    pub p99: u32,
    pub max: u32,
}

impl Figures {
    fn of(label: String, mut latencies: Vec<u32>, errors: u64) -> Figures {
        latencies.sort_unstable();
        let at = |q: f64| {
            if latencies.is_empty() {
                return 0;
            }
            let rank = (q * latencies.len() as f64).ceil() as usize;
            latencies[rank.clamp(1, latencies.len()) - 1]
        };
        Figures {
            label,
            requests: latencies.len(),
            errors,
            p50: at(0.50),
            p90: at(0.90),
            p99: at(0.99),
            max: latencies.last().copied().unwrap_or(0),
        }
    }
}

/// The pass/fail rules and what they were measured on.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub errors: u64,
    /// Why the server could not be sampled (it died, most likely).
    pub sampling_failed: Option<String>,
    /// Peak RSS of the middle and of the last third of the run (KiB).
    pub rss_middle_kib: Option<u64>,
    pub rss_last_kib: Option<u64>,
    /// Peak fds of the first and of the last third.
    pub fds_first: Option<usize>,
    pub fds_last: Option<usize>,
}

impl Verdict {
    fn of(samples: &[Sample], elapsed: Duration, errors: u64, sampling_failed: Option<String>) -> Verdict {
        let third = elapsed / 3;
        let within = |from: Duration, to: Duration| samples.iter().filter(move |s| s.at >= from && s.at < to);
        let end = elapsed + Duration::from_secs(3600);
        Verdict {
            errors,
            sampling_failed,
            rss_middle_kib: within(third, third * 2).map(|s| s.rss_kib).max(),
            rss_last_kib: within(third * 2, end).map(|s| s.rss_kib).max(),
            fds_first: within(Duration::ZERO, third).map(|s| s.fds).max(),
            fds_last: within(third * 2, end).map(|s| s.fds).max(),
        }
    }

    /// RSS bound of the last third: peak of the middle third × 1.10 + 8 MiB.
    pub fn rss_limit_kib(&self) -> Option<u64> {
        self.rss_middle_kib
            .map(|m| (m as f64 * RSS_FACTOR) as u64 + RSS_SLACK_KIB)
    }

    pub fn rss_ok(&self) -> bool {
        matches!((self.rss_last_kib, self.rss_limit_kib()), (Some(last), Some(limit)) if last <= limit)
    }

    /// Fd bound of the last third: peak of the first third + 16.
    pub fn fds_ok(&self) -> bool {
        matches!((self.fds_first, self.fds_last), (Some(first), Some(last)) if last <= first + FD_SLACK)
    }

    pub fn passed(&self) -> bool {
        self.errors == 0 && self.sampling_failed.is_none() && self.rss_ok() && self.fds_ok()
    }
}

/// What a soak run found; `Display` writes it as a Markdown section.
#[derive(Debug, Clone)]
pub struct Report {
    pub clients: usize,
    pub seed: u64,
    /// How long the load ran.
    pub elapsed: Duration,
    pub sample_every: Duration,
    /// Elements on the hub before and after (`/api/v1/status`).
    pub elements_before: u64,
    pub elements_after: Option<u64>,
    pub total: Figures,
    pub kinds: Vec<Figures>,
    pub routes: Vec<Figures>,
    /// The first errors (all are counted in the figures).
    pub errors_listed: Vec<String>,
    pub samples: Vec<Sample>,
    /// CPU time of the server and of this load generator during the run, in seconds.
    pub server_cpu: f64,
    pub generator_cpu: f64,
    pub verdict: Verdict,
}

impl Report {
    pub fn passed(&self) -> bool {
        self.verdict.passed()
    }
}

fn elements_total(agent: &ureq::Agent, base: &str) -> Result<u64, String> {
    let status = get_json(agent, &format!("{base}/api/v1/status"))?;
    status["elements_total"]
        .as_u64()
        .ok_or_else(|| format!("no elements_total in /api/v1/status: {status}"))
}

/// Runs the soak: reads the hub's elements, starts `clients` threads for `duration` while a
/// sampler watches the server process, and gathers the figures.
pub fn run(cfg: &Config) -> Result<Report, String> {
    if cfg.clients == 0 || cfg.duration.is_zero() || cfg.sample_every.is_zero() {
        return Err("clients, duration and the sampling interval must be positive".into());
    }
    let agent = agent();
    let elements_before = elements_total(&agent, &cfg.base)?;
    let corpus = corpus(&agent, &cfg.base)?;
    status_of(cfg.pid)?;
    let shared = Shared::default();
    let (cpu_server, cpu_self) = (cpu_seconds(&cfg.pid.to_string()), cpu_seconds("self"));
    let start = Instant::now();
    let deadline = start + cfg.duration;
    let tallies = Mutex::new(Vec::with_capacity(cfg.clients));
    let (samples, sampling_failed) = std::thread::scope(|s| {
        let sampler = s.spawn(|| sampler(cfg.pid, cfg.sample_every, start, &shared));
        let clients: Vec<_> = (0..cfg.clients)
            .map(|n| {
                let (corpus, shared, tallies) = (&corpus, &shared, &tallies);
                std::thread::Builder::new()
                    .name(format!("soak-{n}"))
                    .stack_size(256 * 1024)
                    .spawn_scoped(s, move || {
                        let tally = client_loop(n, cfg, corpus, shared, deadline);
                        tallies.lock().expect("tallies").push(tally);
                    })
                    .expect("a client thread")
            })
            .collect();
        for c in clients {
            if c.join().is_err() {
                shared.errors.fetch_add(1, Ordering::Relaxed);
            }
        }
        shared.stop.store(true, Ordering::Relaxed);
        sampler.join().expect("the sampler")
    });
    let elapsed = start.elapsed();
    let server_cpu = cpu_seconds(&cfg.pid.to_string()) - cpu_server;
    let generator_cpu = cpu_seconds("self") - cpu_self;
    let elements_after = elements_total(&agent, &cfg.base).ok();

    let mut per_route: BTreeMap<(Kind, &'static str), (Vec<u32>, u64)> = BTreeMap::new();
    let mut errors_listed = Vec::new();
    for tally in tallies.into_inner().expect("tallies") {
        for (key, lat) in tally.latencies {
            per_route.entry(key).or_default().0.extend(lat);
        }
        for (key, n) in tally.errors {
            per_route.entry(key).or_default().1 += n;
        }
        errors_listed.extend(tally.listed);
    }
    errors_listed.sort();
    errors_listed.truncate(ERRORS_LISTED);
    let errors = shared.errors.load(Ordering::Relaxed);
    let mut per_kind: BTreeMap<Kind, (Vec<u32>, u64)> = BTreeMap::new();
    let mut all = Vec::new();
    let mut routes = Vec::new();
    for ((kind, route), (lat, errs)) in per_route {
        let k = per_kind.entry(kind).or_default();
        k.0.extend(&lat);
        k.1 += errs;
        all.extend(&lat);
        routes.push(Figures::of(route.to_owned(), lat, errs));
    }
    let kinds = per_kind
        .into_iter()
        .map(|(kind, (lat, errs))| Figures::of(kind.label().to_owned(), lat, errs))
        .collect();
    let verdict = Verdict::of(&samples, elapsed, errors, sampling_failed);
    Ok(Report {
        clients: cfg.clients,
        seed: cfg.seed,
        elapsed,
        sample_every: cfg.sample_every,
        elements_before,
        elements_after,
        total: Figures::of("all".into(), all, errors),
        kinds,
        routes,
        errors_listed,
        samples,
        server_cpu,
        generator_cpu,
        verdict,
    })
}

fn ms(micros: u32) -> String {
    format!("{:.1} ms", f64::from(micros) / 1000.0)
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn check(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "**FAILED**"
    }
}

/// At most `n` samples, evenly spread, the first and the last always in.
fn condensed(samples: &[Sample], n: usize) -> Vec<&Sample> {
    if samples.len() <= n {
        return samples.iter().collect();
    }
    let mut picked: Vec<&Sample> = (0..n - 1)
        .map(|i| &samples[i * (samples.len() - 1) / (n - 1)])
        .collect();
    picked.push(&samples[samples.len() - 1]);
    picked
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.elapsed.as_secs_f64();
        let v = &self.verdict;
        writeln!(
            f,
            "### Soak: {} clients for {:.0} s against {} elements",
            self.clients, secs, self.elements_before
        )?;
        writeln!(f)?;
        writeln!(
            f,
            "Seed {} (`--seed {}` replays the choices). Mix: 70 % page views, 20 % searches, 10 % writes \
             (admin token: creates, edits and deletes of each client's own projects and events, at most {OWN_MAX} \
             each). Elements after the run: {}.",
            self.seed,
            self.seed,
            self.elements_after.map_or("unknown".into(), |n| n.to_string())
        )?;
        writeln!(f)?;
        writeln!(
            f,
            "{} requests, {:.0} requests/s, {} errors. CPU during the run: server {:.0} s ({:.0} % of one core), \
             load generator {:.1} s.",
            self.total.requests,
            self.total.requests as f64 / secs,
            self.total.errors,
            self.server_cpu,
            100.0 * self.server_cpu / secs,
            self.generator_cpu
        )?;
        writeln!(f)?;
        writeln!(f, "| requests | count | errors | p50 | p90 | p99 | max |")?;
        writeln!(f, "|---|---|---|---|---|---|---|")?;
        for k in self.kinds.iter().chain([&self.total]) {
            writeln!(
                f,
                "| {} | {} | {} | {} | {} | {} | {} |",
                k.label,
                k.requests,
                k.errors,
                ms(k.p50),
                ms(k.p90),
                ms(k.p99),
                ms(k.max)
            )?;
        }
        writeln!(f)?;
        writeln!(f, "<details><summary>Per route</summary>")?;
        writeln!(f)?;
        writeln!(f, "| route | count | errors | p50 | p99 | max |")?;
        writeln!(f, "|---|---|---|---|---|---|")?;
        for r in &self.routes {
            writeln!(
                f,
                "| `{}` | {} | {} | {} | {} | {} |",
                r.label,
                r.requests,
                r.errors,
                ms(r.p50),
                ms(r.p99),
                ms(r.max)
            )?;
        }
        writeln!(f)?;
        writeln!(f, "</details>")?;
        writeln!(f)?;
        if let (Some(first), Some(last)) = (self.samples.first(), self.samples.last()) {
            let peak = self.samples.iter().max_by_key(|s| s.rss_kib).unwrap_or(first);
            let fds_min = self.samples.iter().map(|s| s.fds).min().unwrap_or(0);
            let fds_max = self.samples.iter().map(|s| s.fds).max().unwrap_or(0);
            let threads_max = self.samples.iter().map(|s| s.threads).max().unwrap_or(0);
            writeln!(
                f,
                "Server process, sampled every {} s ({} samples): RSS {} at the start, peak {} at {} s, {} at the \
                 end; open fds {fds_min} to {fds_max}; threads up to {threads_max}.",
                self.sample_every.as_secs_f64(),
                self.samples.len(),
                mib(first.rss_kib),
                mib(peak.rss_kib),
                peak.at.as_secs(),
                mib(last.rss_kib)
            )?;
            writeln!(f)?;
            writeln!(
                f,
                "| t | RSS | of which anonymous | fds | threads | requests/s since the previous row |"
            )?;
            writeln!(f, "|---|---|---|---|---|---|")?;
            let mut previous: Option<&Sample> = None;
            for s in condensed(&self.samples, 13) {
                let rate = previous.map_or("".to_owned(), |p| {
                    let dt = (s.at - p.at).as_secs_f64().max(0.001);
                    format!("{:.0}", (s.requests - p.requests) as f64 / dt)
                });
                writeln!(
                    f,
                    "| {} s | {} | {} | {} | {} | {rate} |",
                    s.at.as_secs(),
                    mib(s.rss_kib),
                    mib(s.anon_kib),
                    s.fds,
                    s.threads
                )?;
                previous = Some(s);
            }
            writeln!(f)?;
        }
        writeln!(f, "Verdict:")?;
        writeln!(f)?;
        writeln!(f, "- errors: {} ({})", v.errors, check(v.errors == 0))?;
        if let Some(e) = &v.sampling_failed {
            writeln!(f, "- sampling the server failed: {e} (**FAILED**)")?;
        }
        let opt_mib = |k: Option<u64>| k.map_or("none".to_owned(), mib);
        writeln!(
            f,
            "- RSS bounded: peak of the last third {} ≤ peak of the middle third {} × {RSS_FACTOR:.2} + {} = {} ({})",
            opt_mib(v.rss_last_kib),
            opt_mib(v.rss_middle_kib),
            mib(RSS_SLACK_KIB),
            opt_mib(v.rss_limit_kib()),
            check(v.rss_ok())
        )?;
        let opt = |n: Option<usize>| n.map_or("none".to_owned(), |n| n.to_string());
        writeln!(
            f,
            "- fds stable: peak of the last third {} ≤ peak of the first third {} + {FD_SLACK} ({})",
            opt(v.fds_last),
            opt(v.fds_first),
            check(v.fds_ok())
        )?;
        if let Some(peak) = self.samples.iter().map(|s| s.rss_kib).max() {
            writeln!(
                f,
                "- for reference, SPEC §8's bar (RSS ≤ 64 MB under 200 clients at 20k elements): peak {}",
                mib(peak)
            )?;
        }
        writeln!(f)?;
        writeln!(f, "**{}**", if self.passed() { "PASSED" } else { "FAILED" })?;
        if !self.errors_listed.is_empty() {
            writeln!(f)?;
            writeln!(f, "First errors:")?;
            writeln!(f)?;
            for e in &self.errors_listed {
                writeln!(f, "- `{e}`")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_of_unix_times() {
        for (secs, day) in [
            (0, "1970-01-01"),
            (951_782_400, "2000-02-29"),
            (1_796_475_600, "2026-12-05"),
            (-86_400, "1969-12-31"),
        ] {
            assert_eq!(day_of(secs), day, "{secs}");
        }
    }

    #[test]
    fn percentiles_of_a_sorted_list() {
        let f = Figures::of("x".into(), (1..=100).rev().collect(), 0);
        assert_eq!((f.requests, f.p50, f.p90, f.p99, f.max), (100, 50, 90, 99, 100));
        let f = Figures::of("x".into(), vec![7], 0);
        assert_eq!((f.p50, f.p99, f.max), (7, 7, 7));
    }

    fn at(secs: u64, rss_kib: u64, fds: usize) -> Sample {
        Sample {
            at: Duration::from_secs(secs),
            rss_kib,
            anon_kib: rss_kib / 2,
            fds,
            threads: 1,
            requests: 0,
            errors: 0,
        }
    }

    #[test]
    fn rss_growth_and_fd_leaks_fail_the_verdict() {
        let flat: Vec<Sample> = (0..=30).map(|t| at(t, 40_000 + t % 3 * 100, 210)).collect();
        let v = Verdict::of(&flat, Duration::from_secs(30), 0, None);
        assert!(v.passed(), "{v:?}");
        let growing: Vec<Sample> = (0..=30).map(|t| at(t, 40_000 + t * 3_000, 210)).collect();
        assert!(!Verdict::of(&growing, Duration::from_secs(30), 0, None).rss_ok());
        let leaking: Vec<Sample> = (0..=30).map(|t| at(t, 40_000, 210 + t as usize * 2)).collect();
        assert!(!Verdict::of(&leaking, Duration::from_secs(30), 0, None).fds_ok());
        assert!(!Verdict::of(&flat, Duration::from_secs(30), 1, None).passed());
        assert!(
            !Verdict::of(&flat[..5], Duration::from_secs(30), 0, None).passed(),
            "too few samples"
        );
    }

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(encode("déménagement a&b"), "d%C3%A9m%C3%A9nagement%20a%26b");
    }
}
