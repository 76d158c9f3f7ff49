//! Sync under faults with three hubs (issue 9): each hub syncs with one main through a
//! fault-injecting proxy of its own (cuts before forwarding and mid-answer, delays,
//! duplicates, held and replayed pushes); the main is killed and restarted between rounds;
//! every hub and the main edit between rounds. The hubs' territories overlap (Crest is
//! both A's and B's, Valence both B's and C's), so what one hub writes reaches the others
//! through the main, and Grenoble is no hub's. After clean rounds the main holds every public
//! element once, each hub holds what it created and the public elements of its territories
//! as the main has them, none lost, none twice, and no private element ever left its hub.
//!
//! The seed is printed; `COPI_FAULT_SEED=<seed>` replays a run; `COPI_FAULT_ROUNDS` sets the
//! number of rounds (CI: 20; `scripts/torture`: 100).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Instant;

use copi_e2e::{seed_from_env, size_from_env, Server, TestDir, TOKEN};
use serde_json::{json, Value};

use crate::sync_faults::{assert_names_unique, elements, failure_kind, patch, read_status, round, strip, Fault, Proxy};
use crate::sync_topology::{create, Place};

const PLACES: [Place; 4] = [
    Place {
        locality: "Crest",
        postal: "26400",
        insee: "26108",
    },
    Place {
        locality: "Valence",
        postal: "26000",
        insee: "26362",
    },
    Place {
        locality: "Privas",
        postal: "07000",
        insee: "07186",
    },
    Place {
        locality: "Grenoble",
        postal: "38000",
        insee: "38185",
    },
];

/// A hub: its name, its territories as configured, and which INSEE codes they cover.
struct HubSpec {
    name: &'static str,
    territories: &'static [&'static str],
    covers: fn(&str) -> bool,
}

static HUBS: [HubSpec; 3] = [
    HubSpec {
        name: "A",
        territories: &["city:26108"],
        covers: |insee| insee == "26108",
    },
    HubSpec {
        name: "B",
        territories: &["dep:26"],
        covers: |insee| insee.starts_with("26"),
    },
    HubSpec {
        name: "C",
        territories: &["city:26362", "dep:07"],
        covers: |insee| insee == "26362" || insee.starts_with("07"),
    },
];

struct Hub {
    spec: &'static HubSpec,
    dir: TestDir,
    server: Server,
    proxy: Proxy,
    config: PathBuf,
    /// Public elements this hub created.
    own: BTreeSet<String>,
    /// Private elements this hub created.
    private: BTreeSet<String>,
    failed: usize,
}

fn hub_config(dir: &TestDir, spec: &HubSpec, base: &str) -> PathBuf {
    let path = dir.path().join("hub.toml");
    let territories = spec
        .territories
        .iter()
        .map(|t| format!("\"{t}\""))
        .collect::<Vec<_>>()
        .join(", ");
    std::fs::write(
        &path,
        format!(
            "[hub]\nname = \"Hub {}\"\nterritories = [{territories}]\n\n[sync]\nmain_url = \"{base}\"\nconnector = \"copi\"\ntoken = \"{TOKEN}\"\n",
            spec.name
        ),
    )
    .unwrap();
    path
}

/// The elements of a data dir but the persons.
fn organizations(dir: &TestDir) -> BTreeMap<String, Value> {
    elements(dir)
        .into_iter()
        .filter(|(_, e)| e["kind"] != "person")
        .collect()
}

fn quiet(report: &Value) -> bool {
    report["pushed_changes"] == 0 && report["pulled_changes"] == 0 && report["applied"] == 0
}

#[test]
fn three_hubs_with_overlapping_territories_converge_through_faults_and_main_restarts() {
    let started = Instant::now();
    let rounds = size_from_env("COPI_FAULT_ROUNDS", 20);
    let seed = seed_from_env("COPI_FAULT_SEED");
    println!("sync_faults_hubs seed: {seed} (COPI_FAULT_SEED={seed} replays it), {rounds} rounds");
    let mut rng = fastrand::Rng::with_seed(seed ^ 0x3b0b5);

    let main_dir = TestDir::new();
    let mut main = Server::start(&main_dir, &["--role", "main"]);
    let mut hubs: Vec<Hub> = HUBS
        .iter()
        .enumerate()
        .map(|(i, spec)| {
            let dir = TestDir::new();
            let server = Server::start(&dir, &[]);
            let proxy = Proxy::start(&main.base, seed.wrapping_add(i as u64 + 1));
            let config = hub_config(&dir, spec, &proxy.addr);
            Hub {
                spec,
                dir,
                server,
                proxy,
                config,
                own: BTreeSet::new(),
                private: BTreeSet::new(),
                failed: 0,
            }
        })
        .collect();

    // Where each public element is (INSEE code), wherever it was created.
    let mut place_of: BTreeMap<String, &'static str> = BTreeMap::new();
    let mut n = 0;
    let (mut restarts, mut edits, mut missed_edits) = (0, 0, 0);
    let mut failures: BTreeMap<String, usize> = BTreeMap::new();

    for r in 0..rounds {
        // Edits on every hub and on the main between rounds.
        for hub in hubs.iter_mut() {
            for _ in 0..rng.usize(0..=2) {
                n += 1;
                let place = &PLACES[rng.usize(..PLACES.len())];
                let id = create(
                    &hub.server,
                    &format!("{}{n} {}", hub.spec.name, place.locality),
                    place,
                    false,
                );
                place_of.insert(id.clone(), place.insee);
                hub.own.insert(id);
            }
            if rng.u32(0..4) == 0 {
                n += 1;
                let place = &PLACES[rng.usize(..PLACES.len())];
                let name = format!("{}{n} privé {}", hub.spec.name, place.locality);
                hub.private.insert(create(&hub.server, &name, place, true));
            }
            if !hub.private.is_empty() && rng.u32(0..8) == 0 {
                let id = hub.private.iter().nth(rng.usize(..hub.private.len())).unwrap();
                let body = json!({"shortDescription": format!("privé r{r}")});
                assert!(patch(&hub.server, id, &body), "{id} on hub {}", hub.spec.name);
            }
            // An element this hub holds or should hold by now: its own, or another's in its
            // territories (which may not have reached it yet).
            let held: Vec<&String> = place_of
                .iter()
                .filter(|(id, insee)| hub.own.contains(*id) || (hub.spec.covers)(insee))
                .map(|(id, _)| id)
                .collect();
            if !held.is_empty() && rng.bool() {
                let id = held[rng.usize(..held.len())];
                edits += 1;
                let body = json!({"shortDescription": format!("r{r} hub {}", hub.spec.name)});
                if !patch(&hub.server, id, &body) {
                    missed_edits += 1;
                }
            }
        }
        for _ in 0..rng.usize(0..=1) {
            n += 1;
            let place = &PLACES[rng.usize(..PLACES.len())];
            let id = create(&main, &format!("M{n} {}", place.locality), place, false);
            place_of.insert(id, place.insee);
        }
        if !place_of.is_empty() && rng.bool() {
            let ids: Vec<&String> = place_of.keys().collect();
            let id = ids[rng.usize(..ids.len())];
            edits += 1;
            if !patch(&main, id, &json!({"shortDescription": format!("r{r} main")})) {
                missed_edits += 1;
            }
        }

        // A round on each hub, in a random order.
        let mut order: Vec<usize> = (0..hubs.len()).collect();
        rng.shuffle(&mut order);
        for i in order {
            let hub = &mut hubs[i];
            if let Err(e) = round(&hub.dir, &hub.config) {
                hub.failed += 1;
                *failures.entry(failure_kind(&e)).or_default() += 1;
            }
        }
        // No private element ever leaves its hub.
        for (i, hub) in hubs.iter().enumerate() {
            for id in &hub.private {
                assert_eq!(read_status(&main, id), 404, "round {r}: private {id} reached the main");
                for (j, other) in hubs.iter().enumerate() {
                    if i != j {
                        let status = read_status(&other.server, id);
                        assert_eq!(
                            status, 404,
                            "round {r}: private {id} of hub {} on hub {}",
                            hub.spec.name, other.spec.name
                        );
                    }
                }
            }
        }
        if rng.u32(0..100) < 7 {
            restarts += 1;
            main.kill();
            main = Server::start(&main_dir, &["--role", "main"]);
            for hub in &hubs {
                hub.proxy.set_upstream(&main.base);
            }
        }
    }

    // Clean rounds, hub after hub, until a pass where none moves anything.
    for hub in &hubs {
        hub.proxy.set_faults(false);
    }
    let mut passes = 0;
    loop {
        passes += 1;
        assert!(passes <= 30, "no quiet pass after {passes} passes of clean rounds");
        let mut all_quiet = true;
        for hub in &hubs {
            let report = round(&hub.dir, &hub.config)
                .unwrap_or_else(|e| panic!("clean round on hub {} failed: {e}", hub.spec.name));
            all_quiet &= quiet(&report);
        }
        if all_quiet {
            break;
        }
    }

    // The main: every public element, once, and nothing private.
    let on_main = organizations(&main_dir);
    let public: BTreeSet<String> = place_of.keys().cloned().collect();
    let main_ids: BTreeSet<String> = on_main.keys().cloned().collect();
    let lost: Vec<&String> = public.difference(&main_ids).collect();
    assert!(lost.is_empty(), "lost on the main: {lost:?}");
    let invented: Vec<&String> = main_ids.difference(&public).collect();
    assert!(
        invented.is_empty(),
        "on the main but never created public: {invented:?}"
    );
    assert_names_unique(&on_main, "main");

    // Each hub: what it created (private ones too) and the public elements of its
    // territories, those as the main has them.
    let mut held = Vec::new();
    for hub in &hubs {
        let name = hub.spec.name;
        let on_hub = organizations(&hub.dir);
        let in_scope: BTreeSet<String> = place_of
            .iter()
            .filter(|(_, insee)| (hub.spec.covers)(insee))
            .map(|(id, _)| id.clone())
            .collect();
        let expected: BTreeSet<String> = hub.own.iter().chain(&hub.private).chain(&in_scope).cloned().collect();
        let ids: BTreeSet<String> = on_hub.keys().cloned().collect();
        let lost: Vec<&String> = expected.difference(&ids).collect();
        assert!(lost.is_empty(), "lost on hub {name}: {lost:?}");
        let extra: Vec<&String> = ids.difference(&expected).collect();
        assert!(
            extra.is_empty(),
            "on hub {name} but not its own nor in its territories: {extra:?}"
        );
        assert_names_unique(&on_hub, &format!("hub {name}"));
        for other in &hubs {
            if other.spec.name != name {
                let leaked: Vec<&String> = other.private.iter().filter(|id| ids.contains(*id)).collect();
                assert!(
                    leaked.is_empty(),
                    "private elements of hub {} on hub {name}: {leaked:?}",
                    other.spec.name
                );
            }
        }
        let differ: Vec<&String> = in_scope
            .iter()
            .filter(|id| strip(&on_hub[*id]) != strip(&on_main[*id]))
            .collect();
        for id in differ.iter().take(3) {
            eprintln!(
                "{id}\n main:  {}\n hub {name}: {}",
                strip(&on_main[*id]),
                strip(&on_hub[*id])
            );
        }
        assert!(
            differ.is_empty(),
            "hub {name}: {} documents differ from the main: {differ:?}",
            differ.len()
        );
        held.push(format!("{name} {} ({} in its territories)", ids.len(), in_scope.len()));
    }
    for hub in &hubs {
        for id in &hub.private {
            assert!(!on_main.contains_key(id), "private {id} reached the main");
        }
    }

    let mut faults: BTreeMap<Fault, usize> = BTreeMap::new();
    for hub in &hubs {
        for (fault, count) in hub.proxy.counts() {
            *faults.entry(fault).or_default() += count;
        }
    }
    let injected: usize = faults
        .iter()
        .filter(|(f, _)| **f != Fault::Forward)
        .map(|(_, c)| c)
        .sum();
    let failed: usize = hubs.iter().map(|h| h.failed).sum();
    let private: usize = hubs.iter().map(|h| h.private.len()).sum();
    println!(
        "sync_faults_hubs seed {seed}: 3 hubs, {rounds} rounds ({} hub rounds, {failed} failed, {passes} clean passes after), \
         {restarts} main restarts, {} public + {private} private elements, {edits} edits ({missed_edits} on elements not \
         there yet), held per hub: {}; 0 lost, 0 twice, 0 private leaked; {injected} faults injected {faults:?}, \
         failures {failures:?}, {:.1?}",
        rounds * hubs.len(),
        public.len(),
        held.join(", "),
        started.elapsed()
    );
}
