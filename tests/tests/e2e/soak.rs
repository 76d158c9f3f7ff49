//! The soak run's CI version (issue 9): a debug hub with a few thousand demo elements, 50
//! clients mixing page views, searches and writes for 20 s. 0 errors, RSS bounded, file
//! descriptors stable (the rules of `copi_e2e::soak::Verdict`). The full run, 200 clients for
//! 10 min against 20k elements on the release binary, is `scripts/bench --soak`.
//!
//! `COPI_SOAK_CLIENTS`, `COPI_SOAK_SECS` and `COPI_SOAK_ELEMENTS` resize it;
//! `COPI_SOAK_SEED=<seed>` replays the clients' choices.

use std::time::{Duration, Instant};

use copi_e2e::soak::{self, Config};
use copi_e2e::{copi_bin, copi_ok, seed_from_env, size_from_env, Server, TestDir, TOKEN};

#[test]
fn mixed_load_has_no_errors_and_no_growth() {
    let started = Instant::now();
    let clients = size_from_env("COPI_SOAK_CLIENTS", 50);
    let secs = size_from_env("COPI_SOAK_SECS", 20);
    let elements = size_from_env("COPI_SOAK_ELEMENTS", 3000);
    let seed = seed_from_env("COPI_SOAK_SEED");
    println!("soak seed: {seed} (COPI_SOAK_SEED={seed} replays it), {clients} clients, {secs} s, {elements} elements");

    copi_bin();
    println!("copi built in {:.0?}", started.elapsed());
    let dir = TestDir::new();
    let bundle = dir.path().join("demo.json");
    let bundle = bundle.to_str().expect("utf-8 path");
    let count = elements.to_string();
    copi_ok(
        &dir,
        &[
            "demo-bundle",
            "--elements",
            &count,
            "--today",
            "2026-11-26",
            "--out",
            bundle,
        ],
    );
    copi_ok(&dir, &["import", bundle]);
    let server = Server::start(&dir, &[]);
    println!("hub seeded and started in {:.0?}", started.elapsed());

    let report = soak::run(&Config {
        base: server.base.clone(),
        token: TOKEN.to_owned(),
        pid: server.pid(),
        clients,
        duration: Duration::from_secs(secs as u64),
        seed,
        // Short run: enough samples in each third for the RSS and fd rules.
        sample_every: Duration::from_secs(1),
    })
    .unwrap_or_else(|e| panic!("the soak could not run: {e}\nserver log:\n{}", server.log()));
    println!("{report}");
    println!("soak test took {:.0?} in all", started.elapsed());
    assert!(report.total.requests > clients, "too few requests to judge:\n{report}");
    for kind in ["page views", "searches", "writes"] {
        assert!(
            report.kinds.iter().any(|k| k.label == kind && k.requests > 0),
            "no {kind}:\n{report}"
        );
    }
    assert!(
        report.passed(),
        "soak failed (seed {seed}):\n{report}\nserver log:\n{}",
        server.log()
    );
}
