//! Sync under faults (issue 6, SPEC §8): a proxy between the hub and the main cuts
//! connections before forwarding or mid-answer, delays, duplicates requests, holds a push
//! and forwards it after the next one, replays old pushes; the main is killed and restarted
//! between rounds; both sides edit between rounds. After clean rounds both hold the same
//! public elements, none lost, none twice, and no private element ever reached the main.
//!
//! The seed is printed; `COPI_FAULT_SEED=<seed>` replays a run; `COPI_FAULT_ROUNDS` sets the
//! number of rounds (default 100). The proxy and the helpers are shared with the three-hub
//! torture in `sync_faults_hubs.rs`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use copi_e2e::{copi, export_of, seed_from_env, size_from_env, Server, TestDir, TOKEN};
use serde_json::{json, Value};

/// What the proxy does with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Fault {
    Forward,
    CutBefore,
    CutAnswer,
    Delay,
    Duplicate,
    /// A push kept back (the hub sees a cut) and forwarded after the next push.
    Hold,
    /// An old push forwarded before this one.
    ReplayOld,
    /// A held push forwarded after a later one.
    ReleaseHeld,
    /// The main did not answer (restarting, or refused).
    UpstreamDown,
}

struct ProxyState {
    upstream: Mutex<String>,
    faults: AtomicBool,
    stop: AtomicBool,
    counts: Mutex<BTreeMap<Fault, usize>>,
}

/// A fault-injecting HTTP/1.1 proxy (one request per connection, answered with
/// `Connection: close`), serving one connection at a time so a seed replays the same
/// decisions.
pub(crate) struct Proxy {
    pub(crate) addr: String,
    state: Arc<ProxyState>,
    thread: Option<JoinHandle<()>>,
}

impl Proxy {
    pub(crate) fn start(upstream: &str, seed: u64) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let state = Arc::new(ProxyState {
            upstream: Mutex::new(host_of(upstream)),
            faults: AtomicBool::new(true),
            stop: AtomicBool::new(false),
            counts: Mutex::new(BTreeMap::new()),
        });
        let shared = state.clone();
        let thread = std::thread::spawn(move || serve(listener, &shared, seed));
        Proxy {
            addr: format!("http://{addr}"),
            state,
            thread: Some(thread),
        }
    }

    pub(crate) fn set_upstream(&self, base: &str) {
        *self.state.upstream.lock().unwrap() = host_of(base);
    }

    pub(crate) fn set_faults(&self, on: bool) {
        self.state.faults.store(on, Ordering::SeqCst);
    }

    pub(crate) fn counts(&self) -> BTreeMap<Fault, usize> {
        self.state.counts.lock().unwrap().clone()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop up so it sees `stop`.
        let _ = TcpStream::connect(self.addr.trim_start_matches("http://"));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn host_of(base: &str) -> String {
    base.trim_start_matches("http://").trim_end_matches('/').to_owned()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Splits a message into its head lines (without `Connection`) and body; `None` if the
/// head is incomplete.
fn split_head(raw: &[u8]) -> Option<(Vec<String>, &[u8])> {
    let end = find(raw, b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..end]);
    let lines = head
        .split("\r\n")
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .map(str::to_owned)
        .collect();
    Some((lines, &raw[end + 4..]))
}

fn with_close(lines: &[String], body: &[u8]) -> Vec<u8> {
    let mut out = lines.join("\r\n").into_bytes();
    out.extend_from_slice(b"\r\nConnection: close\r\n\r\n");
    out.extend_from_slice(body);
    out
}

/// Reads one whole request (head and `Content-Length` body); returns it rewritten with
/// `Connection: close`, and whether it is a push.
fn read_request(client: &mut TcpStream) -> Option<(Vec<u8>, bool)> {
    let mut raw = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let head_end = loop {
        if let Some(end) = find(&raw, b"\r\n\r\n") {
            break end;
        }
        let n = client.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
    let length: usize = head
        .split("\r\n")
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .map_or(0, |(_, v)| v.trim().parse().unwrap_or(0));
    while raw.len() < head_end + 4 + length {
        let n = client.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        raw.extend_from_slice(&buf[..n]);
    }
    let is_push = head.starts_with("POST /api/v1/sync/push");
    let (lines, body) = split_head(&raw)?;
    Some((with_close(&lines, body), is_push))
}

/// Sends a request to the main and reads its whole answer (rewritten with
/// `Connection: close`); `None` if the main did not answer.
fn forward(upstream: &str, request: &[u8]) -> Option<Vec<u8>> {
    let mut s = TcpStream::connect(upstream).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(60))).ok()?;
    s.write_all(request).ok()?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).ok()?;
    let (lines, body) = split_head(&raw)?;
    Some(with_close(&lines, body))
}

fn serve(listener: TcpListener, state: &ProxyState, seed: u64) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut held: Option<Vec<u8>> = None;
    let mut old_pushes: Vec<Vec<u8>> = Vec::new();
    for conn in listener.incoming() {
        if state.stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(mut client) = conn else { continue };
        let _ = client.set_read_timeout(Some(Duration::from_secs(30)));
        let Some((request, is_push)) = read_request(&mut client) else {
            continue;
        };
        let upstream = state.upstream.lock().unwrap().clone();
        let count = |f: Fault| *state.counts.lock().unwrap().entry(f).or_default() += 1;
        let fault = if !state.faults.load(Ordering::SeqCst) {
            Fault::Forward
        } else {
            match rng.u32(0..100) {
                0..=9 => Fault::CutBefore,
                10..=19 => Fault::CutAnswer,
                20..=27 => Fault::Delay,
                28..=35 => Fault::Duplicate,
                36..=45 if is_push && held.is_none() => Fault::Hold,
                46..=57 if is_push && !old_pushes.is_empty() => Fault::ReplayOld,
                _ => Fault::Forward,
            }
        };
        count(fault);
        if is_push {
            if old_pushes.len() >= 64 {
                old_pushes.remove(rng.usize(..old_pushes.len()));
            }
            old_pushes.push(request.clone());
        }
        let answer = match fault {
            Fault::CutBefore => None,
            Fault::Hold => {
                held = Some(request);
                None
            }
            Fault::Delay => {
                std::thread::sleep(Duration::from_millis(rng.u64(5..150)));
                forward(&upstream, &request)
            }
            Fault::Duplicate => {
                let _ = forward(&upstream, &request);
                forward(&upstream, &request)
            }
            Fault::ReplayOld => {
                let old = &old_pushes[rng.usize(..old_pushes.len() - 1)];
                let _ = forward(&upstream, old);
                forward(&upstream, &request)
            }
            _ => forward(&upstream, &request),
        };
        let Some(mut answer) = answer else {
            if !matches!(fault, Fault::CutBefore | Fault::Hold) {
                count(Fault::UpstreamDown);
            }
            continue; // dropping the client cuts the connection
        };
        // The held push reaches the main after a later one.
        if is_push {
            if let Some(h) = held.take() {
                count(Fault::ReleaseHeld);
                let _ = forward(&upstream, &h);
            }
        }
        if fault == Fault::CutAnswer {
            answer.truncate(rng.usize(..answer.len()));
        }
        let _ = client.write_all(&answer);
        let _ = client.shutdown(Shutdown::Both);
    }
}

/// The kind of a failed round's error: "main instance unreachable", "main instance
/// answered 409"…
pub(crate) fn failure_kind(stderr: &str) -> String {
    let last = stderr.lines().last().unwrap_or("");
    let detail = last.split_once("sync round failed: ").map_or(last, |(_, d)| d);
    detail.split(": ").next().unwrap_or(detail).to_owned()
}

/// The hub's config: Crest, the main reached through `base`.
fn hub_config(hub: &TestDir, base: &str) -> PathBuf {
    let path = hub.path().join("hub.toml");
    std::fs::write(
        &path,
        format!(
            "[hub]\nname = \"Hub Crest\"\nterritories = [\"city:26108\"]\n\n[sync]\nmain_url = \"{base}\"\nconnector = \"copi\"\ntoken = \"{TOKEN}\"\n"
        ),
    )
    .unwrap();
    path
}

/// One round with 3 changes per batch; the report, or the error if the round failed.
pub(crate) fn round(hub: &TestDir, config: &Path) -> Result<Value, String> {
    let args = [
        "sync",
        "--once",
        "--config",
        config.to_str().unwrap(),
        "--batch-size",
        "3",
    ];
    let out = copi(hub, &args);
    if out.status.success() {
        Ok(serde_json::from_slice(&out.stdout).expect("the round's report as JSON"))
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn org_body(name: &str) -> Value {
    json!({"kind": "organization", "type": "NGO", "name": name,
        "address": {"addressLocality": "Crest", "postalCode": "26400",
                    "codeInsee": "26108", "addressCountry": "FR"}})
}

fn create(server: &Server, name: &str, private: bool) -> String {
    let mut body = json!({"kind": "organization", "type": "NGO", "name": name,
        "address": {"addressLocality": "Crest", "postalCode": "26400",
                    "codeInsee": "26108", "addressCountry": "FR"}});
    if private {
        body["preferences"] = json!({"private": true});
    }
    let (status, created) = server.post("/api/v1/elements", &body);
    assert_eq!(status, 201, "{created}");
    created["id"].as_str().unwrap().to_owned()
}

/// Patches `id`; false if the element is not there (yet).
pub(crate) fn patch(server: &Server, id: &str, body: &Value) -> bool {
    let r = ureq::request("PATCH", &format!("{}/api/v1/elements/{id}", server.base))
        .set("Authorization", &format!("Bearer {TOKEN}"))
        .timeout(Duration::from_secs(30))
        .send_json(body.clone());
    match r {
        Ok(r) => {
            assert_eq!(r.status(), 200);
            true
        }
        Err(ureq::Error::Status(404, _)) => false,
        Err(e) => panic!("PATCH {id}: {e}"),
    }
}

/// The HTTP status of reading `id` with the admin token.
pub(crate) fn read_status(server: &Server, id: &str) -> u16 {
    let r = ureq::get(&format!("{}/api/v1/elements/{id}", server.base))
        .set("Authorization", &format!("Bearer {TOKEN}"))
        .timeout(Duration::from_secs(30))
        .call();
    match r {
        Ok(r) => r.status(),
        Err(ureq::Error::Status(s, _)) => s,
        Err(e) => panic!("GET {id}: {e}"),
    }
}

/// Registers a person; returns (person id, token).
fn register(server: &Server, name: &str) -> (String, String) {
    let body = json!({"name": name, "email": format!("{}@example.org", name.to_lowercase()),
                      "password": "un mot de passe assez long"});
    let r = ureq::post(&format!("{}/api/v1/auth/register", server.base))
        .timeout(Duration::from_secs(30))
        .send_json(body)
        .unwrap_or_else(|e| panic!("register {name}: {e}"));
    let r: Value = r.into_json().unwrap();
    (
        r["person"]["id"].as_str().unwrap().to_owned(),
        r["token"].as_str().unwrap().to_owned(),
    )
}

/// POSTs as a person; the new thing's id, or `None` if refused (404: not there yet).
fn post_as(server: &Server, token: &str, path: &str, body: Value) -> Option<String> {
    let r = ureq::post(&format!("{}{path}", server.base))
        .set("Authorization", &format!("Bearer {token}"))
        .timeout(Duration::from_secs(30))
        .send_json(body);
    match r {
        Ok(r) => {
            assert_eq!(r.status(), 201);
            let v: Value = r.into_json().unwrap();
            Some(v["id"].as_str().unwrap().to_owned())
        }
        Err(ureq::Error::Status(404, _)) => None,
        Err(e) => panic!("POST {path}: {e}"),
    }
}

/// id → document of the posts and comments in a data dir's export.
fn records(dir: &TestDir) -> BTreeMap<String, Value> {
    let export = export_of(dir);
    let mut out = BTreeMap::new();
    for section in ["news", "comments"] {
        for r in export[section].as_array().unwrap() {
            let id = r["_id"]["$id"].as_str().unwrap().to_owned();
            assert!(out.insert(id, r.clone()).is_none(), "a record is exported twice");
        }
    }
    out
}

/// A record as both sides must hold it: the author's name is filled in where the author
/// is public, which the hub's own copy does not need.
fn strip_record(r: &Value) -> Value {
    let mut r = r.clone();
    r.as_object_mut().unwrap().remove("authorName");
    r
}

pub(crate) fn elements(dir: &TestDir) -> BTreeMap<String, Value> {
    let export = export_of(dir);
    let list = export["elements"].as_array().unwrap();
    let map: BTreeMap<String, Value> = list
        .iter()
        .map(|e| (e["id"].as_str().unwrap().to_owned(), e.clone()))
        .collect();
    assert_eq!(map.len(), list.len(), "an id is exported twice");
    map
}

pub(crate) fn assert_names_unique(map: &BTreeMap<String, Value>, what: &str) {
    let mut seen = BTreeMap::new();
    for (id, e) in map {
        if let Some(other) = seen.insert(e["name"].as_str().unwrap_or("").to_owned(), id.clone()) {
            panic!("{what}: \"{}\" twice ({other} and {id})", e["name"]);
        }
    }
}

/// The document without its links (a link to a private element stays home).
pub(crate) fn strip(e: &Value) -> Value {
    let mut e = e.clone();
    e.as_object_mut().unwrap().remove("links");
    e
}

#[test]
fn sync_converges_through_cuts_duplicates_reorders_and_main_restarts() {
    let started = Instant::now();
    let rounds = size_from_env("COPI_FAULT_ROUNDS", 100);
    let seed = seed_from_env("COPI_FAULT_SEED");
    eprintln!("sync_faults seed: {seed} (COPI_FAULT_SEED={seed} replays it)");
    let mut rng = fastrand::Rng::with_seed(seed ^ 0x5eed);

    let main_dir = TestDir::new();
    let mut main = Server::start(&main_dir, &["--role", "main"]);
    let hub_dir = TestDir::new();
    let hub = Server::start(&hub_dir, &[]);
    let proxy = Proxy::start(&main.base, seed);
    let config = hub_config(&hub_dir, &proxy.addr);

    let mut public: Vec<String> = Vec::new(); // created public, on either side
    let mut private: Vec<String> = Vec::new(); // created private on the hub

    // A person on each side with an element in Crest: posts (public and members-only) and
    // comments, on either side, between rounds too.
    let (_alice, alice) = register(&hub, "Alice");
    let (_marc, marc) = register(&main, "Marc");
    let hub_org = post_as(&hub, &alice, "/api/v1/elements", org_body("Jardin de la hub")).unwrap();
    let main_org = post_as(&main, &marc, "/api/v1/elements", org_body("Fournil du main")).unwrap();
    public.push(hub_org.clone());
    public.push(main_org.clone());
    let mut public_posts: Vec<String> = Vec::new();
    let mut members_posts: Vec<String> = Vec::new();
    let mut comments: Vec<String> = Vec::new();
    let (mut hub_n, mut main_n) = (0, 0);
    let (mut failed, mut restarts) = (0, 0);
    let mut failures: BTreeMap<String, usize> = BTreeMap::new();

    for r in 0..rounds {
        // Edits on both sides between rounds.
        for _ in 0..rng.usize(0..=2) {
            hub_n += 1;
            public.push(create(&hub, &format!("H{hub_n} hub"), false));
        }
        if rng.u32(0..4) == 0 {
            hub_n += 1;
            private.push(create(&hub, &format!("H{hub_n} privé"), true));
        }
        if !private.is_empty() && rng.u32(0..8) == 0 {
            let id = &private[rng.usize(..private.len())];
            assert!(patch(&hub, id, &json!({"shortDescription": format!("privé r{r}")})));
        }
        for _ in 0..rng.usize(0..=1) {
            main_n += 1;
            public.push(create(&main, &format!("M{main_n} main"), false));
        }
        for (server, side) in [(&hub, "hub"), (&main, "main")] {
            if !public.is_empty() && rng.bool() {
                let id = &public[rng.usize(..public.len())];
                patch(server, id, &json!({"shortDescription": format!("r{r} {side}")}));
            }
        }
        for (server, token, org, side) in [(&hub, &alice, &hub_org, "hub"), (&main, &marc, &main_org, "main")] {
            if rng.u32(0..3) == 0 {
                let audience = if rng.u32(0..4) == 0 { "members" } else { "public" };
                let path = format!("/api/v1/elements/{org}/posts");
                let text = format!("r{r} {side} {audience}");
                let id = post_as(server, token, &path, json!({"text": text, "audience": audience})).unwrap();
                if audience == "public" {
                    public_posts.push(id);
                } else {
                    members_posts.push(id);
                }
            }
            if !public_posts.is_empty() && rng.u32(0..3) == 0 {
                // A post of either side: it may not have reached this one yet.
                let on = &public_posts[rng.usize(..public_posts.len())];
                let path = format!("/api/v1/posts/{on}/comments");
                if let Some(id) = post_as(server, token, &path, json!({"text": format!("r{r} {side} commente")})) {
                    comments.push(id);
                }
            }
        }

        match round(&hub_dir, &config) {
            Ok(_) => {}
            Err(e) => {
                failed += 1;
                *failures.entry(failure_kind(&e)).or_default() += 1;
            }
        }
        for id in &private {
            assert_eq!(read_status(&main, id), 404, "round {r}: private {id} reached the main");
        }
        if rng.u32(0..100) < 7 {
            restarts += 1;
            main.kill();
            main = Server::start(&main_dir, &["--role", "main"]);
            proxy.set_upstream(&main.base);
        }
    }

    // Clean rounds until one moves nothing.
    proxy.set_faults(false);
    let mut clean = 0;
    loop {
        clean += 1;
        assert!(clean <= 30, "no quiet round after {clean} clean rounds");
        let report = round(&hub_dir, &config).unwrap_or_else(|e| panic!("clean round failed: {e}"));
        if report["pushed_changes"] == 0 && report["pulled_changes"] == 0 && report["applied"] == 0 {
            break;
        }
    }

    let persons = |m: BTreeMap<String, Value>| -> BTreeMap<String, Value> {
        m.into_iter().filter(|(_, e)| e["kind"] != "person").collect()
    };
    let on_main = persons(elements(&main_dir));
    let on_hub = persons(elements(&hub_dir));
    let private: BTreeSet<String> = private.into_iter().collect();
    let public: BTreeSet<String> = public.into_iter().collect();
    for id in &private {
        assert!(on_hub.contains_key(id), "private {id} lost on the hub");
        assert!(!on_main.contains_key(id), "private {id} reached the main");
    }
    let main_ids: BTreeSet<String> = on_main.keys().cloned().collect();
    let hub_public: BTreeSet<String> = on_hub.keys().filter(|id| !private.contains(*id)).cloned().collect();
    let lost_main: Vec<&String> = public.difference(&main_ids).collect();
    let lost_hub: Vec<&String> = public.difference(&hub_public).collect();
    assert!(lost_main.is_empty(), "lost on the main: {lost_main:?}");
    assert!(lost_hub.is_empty(), "lost on the hub: {lost_hub:?}");
    assert_eq!(
        main_ids, hub_public,
        "the main and the hub hold the same public elements"
    );
    assert_eq!(main_ids, public, "nothing invented");
    assert_names_unique(&on_main, "main");
    assert_names_unique(&on_hub, "hub");
    let differ: Vec<&String> = main_ids
        .iter()
        .filter(|id| strip(&on_main[*id]) != strip(&on_hub[*id]))
        .collect();
    for id in differ.iter().take(3) {
        eprintln!("{id}\n main: {}\n hub:  {}", strip(&on_main[*id]), strip(&on_hub[*id]));
    }
    assert!(differ.is_empty(), "{} documents differ: {differ:?}", differ.len());

    // Posts and comments: the public ones on both sides, the same; members-only ones never
    // on the other side.
    let (main_records, hub_records) = (records(&main_dir), records(&hub_dir));
    let expected: BTreeSet<String> = public_posts.iter().chain(comments.iter()).cloned().collect();
    let main_set: BTreeSet<String> = main_records
        .keys()
        .filter(|id| !members_posts.contains(id))
        .cloned()
        .collect();
    let hub_set: BTreeSet<String> = hub_records
        .keys()
        .filter(|id| !members_posts.contains(id))
        .cloned()
        .collect();
    assert_eq!(main_set, expected, "the main holds every public post and comment, once");
    assert_eq!(hub_set, expected, "the hub holds every public post and comment, once");
    for id in &expected {
        assert_eq!(
            strip_record(&main_records[id]),
            strip_record(&hub_records[id]),
            "{id} differs"
        );
    }
    for id in &members_posts {
        let on_both = main_records.contains_key(id) && hub_records.contains_key(id);
        assert!(!on_both, "members-only post {id} left its side");
    }

    eprintln!(
        "sync_faults seed {seed}: {rounds} rounds ({failed} failed, {clean} clean after), {restarts} main restarts, \
         {} public + {} private elements, {} public + {} members-only posts, {} comments, faults {:?}, \
         failures {failures:?}, {:.1?}",
        public.len(),
        private.len(),
        public_posts.len(),
        members_posts.len(),
        comments.len(),
        proxy.counts(),
        started.elapsed()
    );
}
