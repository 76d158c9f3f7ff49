//! Sync between two real processes: a main (`serve --role main`) and a hub with the demo
//! territory, through `copi sync --once` (the `copi` connector, issue 6).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use copi_e2e::{copi, copi_bin, copi_ok, export_of, Server, TestDir, TOKEN};
use serde_json::{json, Value};

/// Writes the hub's config naming the main at `base`.
fn hub_config(hub: &TestDir, base: &str) -> PathBuf {
    let path = hub.path().join("hub.toml");
    std::fs::write(
        &path,
        format!(
            "[hub]\nname = \"Hub\"\nterritories = [\"dep:26\"]\n\n[sync]\nmain_url = \"{base}\"\nconnector = \"copi\"\ntoken = \"{TOKEN}\"\n"
        ),
    )
    .unwrap();
    path
}

/// Runs one round on the hub and returns its report.
fn round(hub: &TestDir, config: &std::path::Path, extra: &[&str]) -> Value {
    let mut args = vec!["sync", "--once", "--config", config.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = copi_ok(hub, &args);
    serde_json::from_slice(&out.stdout).expect("the round's report as JSON")
}

fn elements(export: &Value) -> BTreeMap<String, Value> {
    export["elements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["id"].as_str().unwrap().to_owned(), e.clone()))
        .collect()
}

fn is_private(e: &Value) -> bool {
    e["preferences"]["private"] == json!(true)
}

/// Every public element of the hub is on the main with the same document (links to
/// private elements left out), no private one is, and nothing else of the hub is.
fn assert_main_has_the_hubs_public_elements(hub: &BTreeMap<String, Value>, main: &BTreeMap<String, Value>) {
    let mut public = 0;
    for (id, e) in hub {
        if is_private(e) {
            assert!(!main.contains_key(id), "private element {id} left the hub");
            continue;
        }
        public += 1;
        let got = main
            .get(id)
            .unwrap_or_else(|| panic!("public element {id} ({}) not on the main", e["name"]));
        let strip = |v: &Value| {
            let mut v = v.clone();
            v.as_object_mut().unwrap().remove("links");
            v
        };
        assert_eq!(strip(got), strip(e), "element {id} differs on the main");
        if let Some(links) = got["links"].as_object() {
            for (t, others) in links {
                for other in others.as_object().unwrap().keys() {
                    assert!(
                        hub.get(other).is_none_or(|o| !is_private(o)),
                        "{id}: link {t} to private element {other} left the hub"
                    );
                    assert!(e["links"][t].get(other).is_some(), "{id}: link {t} {other} invented");
                }
            }
        }
    }
    assert!(public > 50, "the demo has public elements ({public})");
}

/// id → record of one section of an export.
fn records(export: &Value, section: &str) -> BTreeMap<String, Value> {
    export[section]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["_id"]["$id"].as_str().unwrap().to_owned(), r.clone()))
        .collect()
}

fn public_post(post: &Value) -> bool {
    let scope = &post["scope"];
    match scope.get("audience") {
        Some(a) => a == "public",
        None => scope.is_null() || scope["type"] == "public",
    }
}

/// The main holds exactly the hub's posts with a public audience on public elements, the
/// comments on those posts and on public elements, and the documents of public elements;
/// nothing members-only or private, and nothing of a private element.
fn assert_main_has_the_hubs_public_records(hub: &Value, main: &Value, hub_elements: &BTreeMap<String, Value>) {
    let public_element = |id: &Value| {
        id.as_str()
            .and_then(|id| hub_elements.get(id))
            .is_some_and(|e| !is_private(e))
    };
    let (hub_posts, main_posts) = (records(hub, "news"), records(main, "news"));
    let expected: BTreeSet<&String> = hub_posts
        .iter()
        .filter(|(_, p)| public_post(p) && public_element(&p["target"]["id"]))
        .map(|(id, _)| id)
        .collect();
    assert!(!expected.is_empty(), "the demo has public posts");
    assert!(expected.len() < hub_posts.len(), "the demo has non-public posts");
    assert_eq!(
        main_posts.keys().collect::<BTreeSet<_>>(),
        expected,
        "posts on the main"
    );
    for (id, p) in &main_posts {
        assert_eq!(p["text"], hub_posts[id]["text"], "post {id}");
    }
    let hub_comments = records(hub, "comments");
    let expected: BTreeSet<&String> = hub_comments
        .iter()
        .filter(|(_, c)| match c["contextType"].as_str() {
            Some("news") => c["contextId"].as_str().is_some_and(|p| main_posts.contains_key(p)),
            _ => public_element(&c["contextId"]),
        })
        .map(|(id, _)| id)
        .collect();
    let main_comments = records(main, "comments");
    assert_eq!(
        main_comments.keys().collect::<BTreeSet<_>>(),
        expected,
        "comments on the main"
    );
    let hub_documents = records(hub, "documents");
    let expected: BTreeSet<&String> = hub_documents
        .iter()
        .filter(|(_, d)| public_element(&d["id"]))
        .map(|(id, _)| id)
        .collect();
    let main_documents = records(main, "documents");
    assert_eq!(
        main_documents.keys().collect::<BTreeSet<_>>(),
        expected,
        "documents on the main"
    );
    for d in main_documents.values() {
        assert!(d["copi"].get("file").is_none(), "no local path left the hub: {d}");
    }
}

fn seq(server: &Server) -> i64 {
    server.get("/api/v1/status").1["search"]["store_seq"].as_i64().unwrap()
}

#[test]
fn sync_pushes_public_elements_pulls_the_territory_and_replays_change_nothing() {
    let main_dir = TestDir::new();
    let main = Server::start(&main_dir, &["--role", "main"]);
    let hub_dir = TestDir::new();
    let hub = Server::start(&hub_dir, &["--demo"]);
    let config = hub_config(&hub_dir, &main.base);

    // A plain hub serves no sync endpoints.
    assert_eq!(hub.get("/api/v1/sync/pull?hub=x").0, 404);
    // A main wants its admin token.
    let (status, _) = copi_e2e_get_unauthorized(&main.base);
    assert_eq!(status, 401);

    let first = round(&hub_dir, &config, &[]);
    assert!(first["pushed_changes"].as_u64().unwrap() > 50, "{first}");
    let hub_export = export_of(&hub_dir);
    let main_export = export_of(&main_dir);
    let hub_elements = elements(&hub_export);
    let main_elements = elements(&main_export);
    assert_main_has_the_hubs_public_elements(&hub_elements, &main_elements);
    assert_eq!(
        main_elements.len(),
        hub_elements.values().filter(|e| !is_private(e)).count(),
        "nothing else reached the main"
    );
    assert_main_has_the_hubs_public_records(&hub_export, &main_export, &hub_elements);

    // Created on the main in the hub's territory: on the hub after the next round.
    let (status, created) = main.post(
        "/api/v1/elements",
        &json!({"kind": "organization", "type": "NGO", "name": "Association créée sur le main",
                "address": {"addressLocality": "Crest", "postalCode": "26400", "codeInsee": "26108", "addressCountry": "FR"}}),
    );
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    let second = round(&hub_dir, &config, &[]);
    assert!(second["applied"].as_u64().unwrap() >= 1, "{second}");
    let (status, got) = hub.get(&format!("/api/v1/elements/{id}"));
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["name"], "Association créée sur le main");

    // Nothing new: almost nothing moves and nothing changes.
    let (main_seq, hub_seq) = (seq(&main), seq(&hub));
    let third = round(&hub_dir, &config, &[]);
    assert_eq!(third["pushed_changes"], 0, "{third}");
    assert_eq!(third["pulled_changes"], 0, "{third}");
    assert_eq!(third["applied"], 0, "{third}");
    assert!(third["bytes_sent"].as_u64().unwrap() < 1000, "{third}");
    assert!(third["bytes_received"].as_u64().unwrap() < 1000, "{third}");
    assert_eq!(
        (seq(&main), seq(&hub)),
        (main_seq, hub_seq),
        "a round with nothing new writes nothing"
    );

    // The hub's status shows the sync state.
    let state = hub.get("/api/v1/status").1["sync"]["state"].clone();
    assert!(state["last_success"].is_i64(), "{state}");
    assert_eq!(state["pending_changes"], 0, "{state}");
    assert!(state["last_error"].is_null(), "{state}");

    // A batch sent twice by hand: the second changes nothing.
    let fresh = "65f00000000000000000abcd";
    let push = json!({"hub": "e2e-hand-hub", "base": 0, "batch": {
        "id": "e2e-hand-hub:0-1", "from_seq": 0, "to_seq": 1,
        "changes": [{"entity": "element", "op": "create", "id": fresh, "seq": 1,
                     "doc": {"id": fresh, "kind": "project", "name": "Projet rejoué"}}]}});
    let (status, once) = main.post("/api/v1/sync/push", &push);
    assert_eq!(status, 200, "{once}");
    assert_eq!(
        (once["applied"].clone(), once["replayed"].clone()),
        (json!(1), json!(false))
    );
    let before = seq(&main);
    let before_export = elements(&export_of(&main_dir));
    let (status, twice) = main.post("/api/v1/sync/push", &push);
    assert_eq!(status, 200, "{twice}");
    assert_eq!(
        (twice["applied"].clone(), twice["replayed"].clone()),
        (json!(0), json!(true))
    );
    assert_eq!(twice["applied_to"], once["applied_to"]);
    assert_eq!(seq(&main), before, "a replayed batch writes nothing");
    assert_eq!(elements(&export_of(&main_dir)), before_export);
}

fn copi_e2e_get_unauthorized(base: &str) -> (u16, Value) {
    match ureq::get(&format!("{base}/api/v1/sync/pull?hub=x")).call() {
        Ok(r) => (r.status(), Value::Null),
        Err(ureq::Error::Status(s, r)) => (s, r.into_json().unwrap_or(Value::Null)),
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn sync_cut_mid_round_resumes_with_nothing_lost_or_duplicated() {
    let hub_dir = TestDir::new();
    // The demo territory, then the hub stops: rounds run from the command line.
    Server::start(&hub_dir, &["--demo"]).kill();

    // A main that is not there: the round fails and says why.
    let dead = format!("http://127.0.0.1:{}", copi_e2e::free_port());
    let config = hub_config(&hub_dir, &dead);
    let out = copi(&hub_dir, &["sync", "--once", "--config", config.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unreachable"), "{out:?}");

    // A main killed in the middle of a round of small batches.
    let main_dir = TestDir::new();
    let mut main = Server::start(&main_dir, &["--role", "main"]);
    let config = hub_config(&hub_dir, &main.base);
    let mut child = Command::new(copi_bin())
        .args([
            "sync",
            "--once",
            "--batch-size",
            "3",
            "--config",
            config.to_str().unwrap(),
            "--data",
        ])
        .arg(hub_dir.data())
        .env("COPI_LOG", "warn")
        .env_remove("COPI_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    main.kill();
    let cut = child.wait().unwrap();
    let partial = elements(&export_of(&main_dir)).len();
    eprintln!("cut round: {cut}, {partial} elements on the main after the cut");

    // The main restarts (on another port); the next rounds finish the job.
    let main = Server::start(&main_dir, &["--role", "main"]);
    let config = hub_config(&hub_dir, &main.base);
    let resumed = round(&hub_dir, &config, &["--batch-size", "3"]);
    let again = round(&hub_dir, &config, &[]);
    assert_eq!(again["pushed_changes"], 0, "{again}");

    let hub_elements = elements(&export_of(&hub_dir));
    let main_elements = elements(&export_of(&main_dir));
    assert_main_has_the_hubs_public_elements(&hub_elements, &main_elements);
    let public: BTreeSet<&String> = hub_elements
        .iter()
        .filter(|(_, e)| !is_private(e))
        .map(|(id, _)| id)
        .collect();
    let on_main: BTreeSet<&String> = main_elements.keys().collect();
    assert_eq!(
        on_main, public,
        "0 lost, 0 extra (cut: {cut}, {partial} before the cut, then {resumed})"
    );
    // Each batch was applied once: the main's log holds one change per element pushed
    // at most once per batch range (no batch applied twice).
    let batches = main.get("/api/v1/status").1["sync"]["state"]["batches_received"]
        .as_i64()
        .unwrap();
    assert!(batches > 0);
}
