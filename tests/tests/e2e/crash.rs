//! `kill -9` at random moments under a mixed load (SPEC §8 durability): writers create,
//! edit and delete elements while readers load pages, search and suggest. Every write that
//! got a 2xx answer is there after each restart and at the end: a created element exists, its
//! last acknowledged edit is what it says, an acknowledged delete stays deleted. A write cut
//! by the kill may have happened or not, but only wholly and at most once. At the end
//! `copi check` finds the store and the index consistent and search finds exactly what is
//! there.
//!
//! `COPI_TORTURE_KILLS` sets the number of kills (CI: 20; `scripts/torture`: 100);
//! `COPI_TORTURE_SEED=<seed>` replays the random choices (not the kernel's timing).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use copi_e2e::{copi, seed_from_env, size_from_env, Server, TestDir, TOKEN};
use serde_json::{json, Value};

const WRITERS: usize = 3;
const READERS: usize = 2;

/// What the tests knows of one element, from acknowledged writes.
#[derive(Debug, Clone)]
struct Known {
    /// The word only this element's name holds.
    word: String,
    /// The last acknowledged `shortDescription` (None: never edited).
    edit: Option<String>,
    deleted: bool,
    /// A write cut by the kill: it may or may not have happened.
    pending: Option<Pending>,
}

#[derive(Debug, Clone)]
enum Pending {
    Edit(String),
    Delete,
}

#[derive(Default)]
struct Ledger {
    /// id → what is known, per writer (a writer only touches the elements it created).
    elements: BTreeMap<String, (usize, Known)>,
    /// Creates cut by a kill: the element's word (it may exist, once, or not at all).
    pending_creates: Vec<String>,
    creates: usize,
    edits: usize,
    deletes: usize,
    cut: usize,
}

#[derive(Default)]
struct Reads {
    served: AtomicUsize,
    /// Answers other than 2xx/3xx while the hub was up (cut connections are not counted).
    failed: Mutex<Vec<String>>,
}

fn request(method: &str, url: &str) -> ureq::Request {
    ureq::request(method, url)
        .set("Authorization", &format!("Bearer {TOKEN}"))
        .timeout(Duration::from_secs(20))
}

/// One writer's round: creates, edits and deletes its own elements until the hub is killed.
fn write_load(base: &str, w: usize, round: usize, ledger: &Mutex<Ledger>, stop: &AtomicBool, seed: u64) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        // Elements of this writer that are there and not in doubt.
        let mine: Vec<String> = {
            let l = ledger.lock().unwrap();
            l.elements
                .iter()
                .filter(|(_, (owner, k))| *owner == w && !k.deleted && k.pending.is_none())
                .map(|(id, _)| id.clone())
                .collect()
        };
        let roll = rng.u32(0..100);
        if mine.is_empty() || roll < 50 {
            let word = format!("crash{round}x{w}x{n}");
            let body = json!({"kind": "event", "name": format!("Atelier {word}"), "type": "workshop",
                "startDate": "2026-12-01 10:00", "tags": ["crash"], "description": "x".repeat(rng.usize(0..2000))});
            match request("POST", &format!("{base}/api/v1/elements")).send_json(body) {
                Ok(resp) => {
                    assert_eq!(resp.status(), 201, "create {word}");
                    let v: Value = resp.into_json().expect("the created element");
                    let id = v["id"].as_str().expect("an id").to_owned();
                    let known = Known {
                        word,
                        edit: None,
                        deleted: false,
                        pending: None,
                    };
                    let mut l = ledger.lock().unwrap();
                    l.elements.insert(id, (w, known));
                    l.creates += 1;
                }
                Err(ureq::Error::Status(s, r)) => panic!("create {word}: {s} {}", r.into_string().unwrap_or_default()),
                Err(_) => {
                    let mut l = ledger.lock().unwrap();
                    l.pending_creates.push(word);
                    l.cut += 1;
                    return;
                }
            }
        } else if roll < 85 {
            let id = &mine[rng.usize(..mine.len())];
            let text = format!("retouche{round}x{w}x{n}");
            let r =
                request("PATCH", &format!("{base}/api/v1/elements/{id}")).send_json(json!({"shortDescription": text}));
            let mut l = ledger.lock().unwrap();
            match r {
                Ok(resp) => {
                    assert_eq!(resp.status(), 200, "edit {id}");
                    l.elements.get_mut(id).unwrap().1.edit = Some(text);
                    l.edits += 1;
                }
                Err(ureq::Error::Status(s, r)) => panic!("edit {id}: {s} {}", r.into_string().unwrap_or_default()),
                Err(_) => {
                    l.elements.get_mut(id).unwrap().1.pending = Some(Pending::Edit(text));
                    l.cut += 1;
                    return;
                }
            }
        } else {
            let id = &mine[rng.usize(..mine.len())];
            let r = request("DELETE", &format!("{base}/api/v1/elements/{id}")).call();
            let mut l = ledger.lock().unwrap();
            match r {
                Ok(resp) => {
                    assert_eq!(resp.status(), 204, "delete {id}");
                    l.elements.get_mut(id).unwrap().1.deleted = true;
                    l.deletes += 1;
                }
                Err(ureq::Error::Status(s, r)) => panic!("delete {id}: {s} {}", r.into_string().unwrap_or_default()),
                Err(_) => {
                    l.elements.get_mut(id).unwrap().1.pending = Some(Pending::Delete);
                    l.cut += 1;
                    return;
                }
            }
        }
    }
}

/// One reader's round: pages, searches, suggestions, the map, until the hub is killed.
fn read_load(base: &str, reads: &Reads, stop: &AtomicBool, seed: u64) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(20)).build();
    while !stop.load(Ordering::Relaxed) {
        let path = match rng.u32(0..7) {
            0 => "/".to_owned(),
            1 => "/agenda".to_owned(),
            2 => format!("/search?q=atelier&page={}", rng.u32(1..3)),
            3 => format!("/api/v1/search?q=crash{}&limit=10", rng.u32(0..20)),
            4 => "/api/v1/search?tags=crash&limit=20".to_owned(),
            5 => "/api/v1/search/suggest?q=ate".to_owned(),
            _ => "/api/v1/map.geojson".to_owned(),
        };
        match agent.get(&format!("{base}{path}")).call() {
            Ok(_) => {
                reads.served.fetch_add(1, Ordering::Relaxed);
            }
            Err(ureq::Error::Status(s, _)) => reads.failed.lock().unwrap().push(format!("{s} {path}")),
            // Killed mid-request.
            Err(_) => return,
        }
    }
}

/// What the hub says of `id` now: `None` if it is gone (404), else its shortDescription.
fn observe(server: &Server, id: &str) -> Option<Option<String>> {
    let (status, e) = server.get(&format!("/api/v1/elements/{id}"));
    match status {
        404 => None,
        200 => Some(e["shortDescription"].as_str().map(str::to_owned)),
        _ => panic!("GET {id}: {status} {e}"),
    }
}

/// Checks `id` against what is known; a write in doubt is settled by what the hub holds
/// (both outcomes are right, as long as it is one of them). Returns a description of a
/// loss, if any.
fn verify(server: &Server, id: &str, known: &mut Known) -> Result<(), String> {
    let seen = observe(server, id);
    match known.pending.take() {
        None if known.deleted => match seen {
            None => Ok(()),
            Some(_) => Err(format!("{id} ({}) was deleted and is back", known.word)),
        },
        None => match seen {
            None => Err(format!("{id} ({}) lost", known.word)),
            Some(d) if d == known.edit => Ok(()),
            Some(d) => Err(format!(
                "{id} ({}): {d:?}, not the acknowledged {:?}",
                known.word, known.edit
            )),
        },
        Some(Pending::Delete) => match seen {
            None => {
                known.deleted = true;
                Ok(())
            }
            Some(d) if d == known.edit => Ok(()),
            Some(d) => Err(format!("{id} ({}): {d:?} after a cut delete", known.word)),
        },
        Some(Pending::Edit(text)) => match seen {
            None => Err(format!("{id} ({}) lost", known.word)),
            Some(d) if d == known.edit => Ok(()),
            Some(Some(d)) if d == text => {
                known.edit = Some(text);
                Ok(())
            }
            Some(d) => Err(format!(
                "{id} ({}): {d:?}, neither {:?} nor {text:?}",
                known.word, known.edit
            )),
        },
    }
}

/// Every id the search finds for `tags=crash`.
fn searchable(server: &Server) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut cursor = String::new();
    loop {
        let (status, page) = server.get(&format!("/api/v1/search?tags=crash&limit=200{cursor}"));
        assert_eq!(status, 200, "{page}");
        for item in page["items"].as_array().unwrap() {
            assert!(found.insert(item["id"].as_str().unwrap().to_owned()), "a hit twice");
        }
        match page["next"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => return found,
        }
    }
}

/// `copi check --dry-run` on the stopped hub: its report, and whether it found nothing wrong.
fn check(dir: &TestDir) -> (String, bool) {
    let out = copi(dir, &["check", "--dry-run"]);
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (report, out.status.success())
}

#[test]
fn acknowledged_writes_survive_kill_9_under_mixed_load() {
    let started = Instant::now();
    let kills = size_from_env("COPI_TORTURE_KILLS", 20);
    let seed = seed_from_env("COPI_TORTURE_SEED");
    println!("crash seed: {seed} (COPI_TORTURE_SEED={seed} replays it), {kills} kills");
    let mut rng = fastrand::Rng::with_seed(seed);
    let dir = TestDir::new();
    let ledger: Arc<Mutex<Ledger>> = Arc::default();
    let reads: Arc<Reads> = Arc::default();
    let mut checked = 0;
    for round in 0..kills {
        let mut server = Server::start(&dir, &[]);
        // Writes in doubt are settled, and a sample of the rest still holds.
        {
            let mut l = ledger.lock().unwrap();
            let ids: Vec<String> = l.elements.keys().cloned().collect();
            let sample: BTreeSet<String> = (0..ids.len().min(25))
                .map(|_| ids[rng.usize(..ids.len())].clone())
                .collect();
            for (id, (_, known)) in l.elements.iter_mut() {
                if known.pending.is_some() || sample.contains(id) {
                    verify(&server, id, known).unwrap_or_else(|e| panic!("round {round}: {e}"));
                    checked += 1;
                }
            }
        }
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        for w in 0..WRITERS {
            let (base, ledger, stop, s) = (server.base.clone(), ledger.clone(), stop.clone(), rng.u64(..));
            threads.push(std::thread::spawn(move || {
                write_load(&base, w, round, &ledger, &stop, s)
            }));
        }
        for _ in 0..READERS {
            let (base, reads, stop, s) = (server.base.clone(), reads.clone(), stop.clone(), rng.u64(..));
            threads.push(std::thread::spawn(move || read_load(&base, &reads, &stop, s)));
        }
        // Sometimes right after the start (the index still catching up), mostly later.
        let wait = if rng.u32(0..5) == 0 {
            rng.u64(0..50)
        } else {
            rng.u64(50..500)
        };
        std::thread::sleep(Duration::from_millis(wait));
        server.kill();
        stop.store(true, Ordering::Relaxed);
        for t in threads {
            t.join().expect("a load thread panicked");
        }
        // Now and then, the store as the kill left it: intact, and the index never ahead
        // of it (lagging, with fewer documents, is fine: the hub catches up when it starts).
        if round % 10 == 9 {
            let (report, _) = check(&dir);
            let lags = report.contains("search index lags the store");
            let problems: Vec<&str> = report
                .lines()
                .filter(|l| l.starts_with("problem:"))
                .filter(|l| !(lags && (l.contains("lags the store") || l.contains("search index holds"))))
                .collect();
            assert!(problems.is_empty(), "round {round}: {report}");
        }
    }

    // Everything, once more, on a hub that was killed 'kills' times.
    let server = Server::start(&dir, &[]);
    let mut l = ledger.lock().unwrap();
    let mut lost = Vec::new();
    for (id, (_, known)) in l.elements.iter_mut() {
        if let Err(e) = verify(&server, id, known) {
            lost.push(e);
        }
    }
    assert!(lost.is_empty(), "{} acknowledged writes lost: {lost:?}", lost.len());
    let live: BTreeSet<String> = l
        .elements
        .iter()
        .filter(|(_, (_, k))| !k.deleted)
        .map(|(id, _)| id.clone())
        .collect();
    let acknowledged = l.creates + l.edits + l.deletes;
    assert!(
        acknowledged > 5 * kills && l.edits > kills && l.deletes > kills / 2,
        "the load wrote too little to mean anything: {} creates, {} edits, {} deletes",
        l.creates,
        l.edits,
        l.deletes
    );

    // The search finds what is there: every live element, no deleted one; a create cut by
    // a kill is there once or not at all.
    let found = searchable(&server);
    let missing: Vec<&String> = live.difference(&found).collect();
    assert!(missing.is_empty(), "not searchable: {missing:?}");
    let extra: Vec<String> = found.difference(&live).cloned().collect();
    let pending_words: BTreeSet<&String> = l.pending_creates.iter().collect();
    let mut landed = 0;
    for id in &extra {
        let (status, e) = server.get(&format!("/api/v1/elements/{id}"));
        assert_eq!(status, 200, "search finds {id}, which is not there: {e}");
        let word = e["name"].as_str().unwrap().trim_start_matches("Atelier ").to_owned();
        assert!(pending_words.contains(&word), "{id} ({word}) found but never written");
        landed += 1;
    }
    assert_eq!(found.len(), live.len() + landed, "a cut create landed twice");
    // Names and last edits are searchable by their words (a sample).
    let sample: Vec<(&String, &Known)> = l
        .elements
        .iter()
        .filter(|(_, (_, k))| !k.deleted)
        .map(|(id, (_, k))| (id, k))
        .step_by((live.len() / 40).max(1))
        .collect();
    for (id, known) in sample {
        for word in std::iter::once(&known.word).chain(known.edit.iter()) {
            let (_, hits) = server.get(&format!("/api/v1/search?q={word}"));
            assert_eq!(hits["items"][0]["id"].as_str(), Some(id.as_str()), "{word}: {hits}");
        }
    }
    let failed_reads = reads.failed.lock().unwrap().clone();
    assert!(failed_reads.is_empty(), "reads answered with errors: {failed_reads:?}");
    drop(server);

    // The store and the index agree (the last hub caught up before it was killed).
    let (report, ok) = check(&dir);
    assert!(ok && !report.contains("problem:"), "{report}");
    assert!(
        report.contains(&format!("checked {} elements", live.len() + landed)),
        "{report}"
    );
    println!(
        "crash: {kills} kills, {acknowledged} acknowledged writes ({} creates, {} edits, {} deletes), \
         0 lost; {} writes cut by a kill ({} cut creates, {landed} of them landed once), \
         {} live elements all searchable, {} reads served, 0 failed; {checked} checks between kills; \
         copi check clean; {:.1?}",
        l.creates,
        l.edits,
        l.deletes,
        l.cut,
        l.pending_creates.len(),
        live.len() + landed,
        reads.served.load(Ordering::Relaxed),
        started.elapsed()
    );
}
