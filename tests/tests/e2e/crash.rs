//! `kill -9` at random moments under a write load: every write that got a 2xx answer is
//! there after a restart.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use copi_e2e::{copi_ok, Server, TestDir};
use serde_json::json;

const ROUNDS: usize = 20;

#[test]
fn acknowledged_writes_survive_kill_9() {
    let dir = TestDir::new();
    let acknowledged: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut rng = fastrand::Rng::with_seed(0xC0_71);
    let mut kills = 0;
    for round in 0..ROUNDS {
        let mut server = Server::start(&dir, &[]);
        // Everything acknowledged so far is there.
        for id in acknowledged.lock().unwrap().iter() {
            let (status, body) = server.get(&format!("/api/v1/elements/{id}"));
            assert_eq!(status, 200, "round {round}: acknowledged element {id} lost: {body}");
        }
        let stop = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = (0..2)
            .map(|w| {
                let (base, acked, stop) = (server.base.clone(), acknowledged.clone(), stop.clone());
                std::thread::spawn(move || {
                    let mut n = 0;
                    while !stop.load(Ordering::Relaxed) {
                        let body = json!({"kind": "event", "name": format!("Atelier crashtest{round}x{w}x{n}"), "type": "workshop",
                            "startDate": "2026-12-01 10:00", "tags": ["crash"], "description": "x".repeat(n % 2000)});
                        let r = ureq::post(&format!("{base}/api/v1/elements"))
                            .set("Authorization", &format!("Bearer {}", copi_e2e::TOKEN))
                            .timeout(Duration::from_secs(10))
                            .send_json(body);
                        match r {
                            Ok(resp) if resp.status() == 201 => {
                                let v: serde_json::Value = resp.into_json().unwrap();
                                acked.lock().unwrap().push(v["id"].as_str().unwrap().to_owned());
                            }
                            // Killed mid-request, or the answer was lost: not acknowledged.
                            _ => break,
                        }
                        n += 1;
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(rng.u64(30..400)));
        server.kill();
        kills += 1;
        stop.store(true, Ordering::Relaxed);
        for w in writers {
            w.join().unwrap();
        }
    }
    let server = Server::start(&dir, &[]);
    let acked = acknowledged.lock().unwrap().clone();
    assert!(
        acked.len() > ROUNDS,
        "the load wrote too little to mean anything: {}",
        acked.len()
    );
    for id in &acked {
        let (status, _) = server.get(&format!("/api/v1/elements/{id}"));
        assert_eq!(status, 200, "acknowledged element {id} lost");
    }
    let (_, status) = server.get("/api/v1/status");
    assert!(status["elements"]["event"].as_u64().unwrap() >= acked.len() as u64);

    // Every acknowledged element is searchable: all of them by tag, a sample by name.
    let mut found = std::collections::HashSet::new();
    let mut cursor = String::new();
    loop {
        let (status, page) = server.get(&format!("/api/v1/search?tags=crash&limit=200{cursor}"));
        assert_eq!(status, 200, "{page}");
        for item in page["items"].as_array().unwrap() {
            found.insert(item["id"].as_str().unwrap().to_owned());
        }
        match page["next"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    for id in &acked {
        assert!(found.contains(id), "acknowledged element {id} is not searchable");
    }
    for id in acked.iter().step_by((acked.len() / 50).max(1)) {
        let (_, element) = server.get(&format!("/api/v1/elements/{id}"));
        let word = element["name"].as_str().unwrap().split(' ').nth(1).unwrap().to_owned();
        let (_, hits) = server.get(&format!("/api/v1/search?q={word}"));
        assert_eq!(hits["items"][0]["id"].as_str(), Some(id.as_str()), "{word}");
    }
    drop(server);
    assert_eq!(kills, ROUNDS);
    // The store is consistent after all that.
    copi_ok(&dir, &["check", "--dry-run"]);
    eprintln!(
        "{kills} kills, {} acknowledged writes, none lost, all searchable",
        acked.len()
    );
}
