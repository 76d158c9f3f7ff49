//! Sync with a Communecter main instance (the `communecter` connector, issue 6): a real
//! `copi` hub against the Communecter-shaped double of `copi_e2e::communecter_main`,
//! through `copi sync`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use copi_e2e::communecter::{assert_nothing_lost, normalize};
use copi_e2e::communecter_main::{CommunecterMain, Fault};
use copi_e2e::{copi, copi_bin, copi_ok, export_of, read_json, samples_path, Server, TestDir};
use serde_json::{json, Value};

/// The hub's account on the main, and its personal access token.
const USER: &str = "5c9e00000000000000000042";
const USER_TOKEN: &str = "pat-0123456789abcdef";
const REUNION: &str = "58be4af494ef47df1d0ddbcc";
const SAINT_PAUL: &str = "54c0965cf6b95c141800a517";

fn token() -> String {
    format!("{USER}:{USER_TOKEN}")
}

/// A main with the hub's account and the communes the tests use.
fn double() -> CommunecterMain {
    let main = CommunecterMain::start();
    main.add_user(USER, USER_TOKEN, "hub@example.org", "mot-de-passe");
    for (id, insee, name, cp) in [
        (SAINT_PAUL, "97415", "Saint-Paul", "97460"),
        ("54c0965cf6b95c141800a4f1", "97411", "Saint-Denis", "97400"),
    ] {
        main.add_city(
            json!({"_id": {"$id": id}, "name": name, "alternateName": name.to_uppercase(), "insee": insee,
            "country": "RE", "postalCodes": [{"postalCode": cp, "name": name.to_uppercase()}],
            "level1": REUNION, "level1Name": "Réunion", "level3": REUNION, "level3Name": "Réunion",
            "level4": REUNION, "level4Name": "Réunion"}),
        );
    }
    main.add_city(json!({"_id": {"$id": "54c0965cf6b95c141800b001"}, "name": "Crest", "insee": "26108", "country": "FR",
        "level1": "58bd5d6494ef471f218b4588", "level3": "58be4af494ef47df1d0ddb01", "level4": "58be4af494ef47df1d0ddb26"}));
    main
}

fn saint_paul() -> Value {
    json!({"@type": "PostalAddress", "streetAddress": "", "postalCode": "97460", "addressLocality": "Saint-Paul",
        "codeInsee": "97415", "addressCountry": "RE", "localityId": SAINT_PAUL, "level1": REUNION, "level1Name": "Réunion",
        "level3": REUNION, "level3Name": "Réunion", "level4": REUNION, "level4Name": "Réunion"})
}

/// The reference's sample elements, all moved to Saint-Paul; returns their ids.
fn seed_samples(main: &CommunecterMain) -> Vec<String> {
    let samples = read_json(&samples_path());
    let mut ids = Vec::new();
    for collection in ["citoyens", "organizations", "projects", "events", "poi", "classifieds"] {
        for doc in samples[collection].as_array().unwrap() {
            let mut doc = doc.clone();
            doc["address"] = saint_paul();
            let id = doc["_id"]["$id"]
                .as_str()
                .or(doc["_id"]["$oid"].as_str())
                .unwrap()
                .to_owned();
            main.insert(collection, doc);
            ids.push(id);
        }
    }
    ids
}

fn hub_config(hub: &TestDir, base: &str, token: &str) -> PathBuf {
    let path = hub.path().join("hub.toml");
    std::fs::write(
        &path,
        format!(
            "[hub]\nname = \"Hub de la Réunion\"\nterritories = [\"dep:974\"]\n\n[sync]\nmain_url = \"{base}\"\nconnector = \"communecter\"\ntoken = \"{token}\"\n"
        ),
    )
    .unwrap();
    path
}

/// One round on the hub; its report.
fn round(hub: &TestDir, config: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["sync", "--once", "--config", config.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = copi_ok(hub, &args);
    serde_json::from_slice(&out.stdout).expect("the round's report as JSON")
}

/// One round that must fail; its stderr.
fn failed_round(hub: &TestDir, config: &Path, extra: &[&str]) -> String {
    let mut args = vec!["sync", "--once", "--config", config.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = copi(hub, &args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "the round should fail: {stderr}");
    stderr
}

fn elements(hub: &TestDir) -> BTreeMap<String, Value> {
    export_of(hub)["elements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["id"].as_str().unwrap().to_owned(), e.clone()))
        .collect()
}

/// What the main's authenticated full get answers for an element, as a stored document.
fn full_get(main: &CommunecterMain, collection: &str, id: &str) -> Value {
    let r = ureq::get(&format!("{}/co2/element/get/type/{collection}/id/{id}", main.base))
        .set("X-User-Id", USER)
        .set("X-Auth-Token", USER_TOKEN)
        .call()
        .unwrap();
    let mut map = r.into_json::<Value>().unwrap()["map"].clone();
    let m = map.as_object_mut().unwrap();
    for k in ["_id", "counts", "typeSig"] {
        m.remove(k);
    }
    map
}

fn seq(server: &Server) -> i64 {
    server.get("/api/v1/status").1["search"]["store_seq"].as_i64().unwrap()
}

#[test]
fn communecter_pull_push_update_delete_and_a_quiet_round() {
    let main = double();
    let ids = seed_samples(&main);
    // Out of the territory (Crest), and private upstream (listed to its creator only).
    main.insert(
        "organizations",
        json!({"_id": {"$id": "5c9e000000000000000000c1"}, "name": "Association de Crest", "type": "NGO",
            "address": {"postalCode": "26400", "addressLocality": "Crest", "codeInsee": "26108", "addressCountry": "FR",
                        "localityId": "54c0965cf6b95c141800b001", "level4": "58be4af494ef47df1d0ddb26"},
            "created": 1544000000, "updated": 1544000000}),
    );
    main.insert(
        "organizations",
        json!({"_id": {"$id": "5c9e000000000000000000c2"}, "name": "Cercle fermé", "type": "Group", "creator": USER,
            "address": saint_paul(), "preferences": {"private": true}, "created": 1544000000, "updated": 1544000000}),
    );

    let hub_dir = TestDir::new();
    let hub = Server::start(&hub_dir, &[]);
    let config = hub_config(&hub_dir, &main.base, &token());
    let address =
        json!({"postalCode": "97460", "addressLocality": "Saint-Paul", "codeInsee": "97415", "addressCountry": "RE"});
    let (status, created) = hub.post(
        "/api/v1/elements",
        &json!({"kind": "organization", "type": "NGO", "name": "Jardin partagé de la Saline",
            "shortDescription": "Créé sur le hub", "tags": ["jardin", "partage"], "address": address}),
    );
    assert_eq!(status, 201, "{created}");
    let public_id = created["id"].as_str().unwrap().to_owned();
    let (status, created) = hub.post(
        "/api/v1/elements",
        &json!({"kind": "organization", "type": "Group", "name": "Cercle secret du hub",
            "address": address, "preferences": {"private": true}}),
    );
    assert_eq!(status, 201, "{created}");
    let private_id = created["id"].as_str().unwrap().to_owned();

    let first = round(&hub_dir, &config, &[]);
    assert_eq!(first["pushed_changes"], 1, "{first}");

    // Pushed: upstream under the same id, the main's creator and dates.
    let (collection, up) = main.element(&public_id).expect("pushed upstream under its id");
    assert_eq!(collection, "organizations");
    assert_eq!(up["_id"], json!({"$id": public_id}));
    assert_eq!(up["name"], "Jardin partagé de la Saline");
    assert_eq!(up["shortDescription"], "Créé sur le hub");
    assert_eq!(up["tags"], json!(["jardin", "partage"]));
    assert_eq!(up["address"]["codeInsee"], "97415");
    assert_eq!(up["creator"], USER);
    // The private one never reached the main, not even its name.
    assert!(main.element(&private_id).is_none());
    for r in main.log() {
        assert!(
            !r.body.contains(&private_id) && !r.body.contains("Cercle secret") && !r.path.contains(&private_id),
            "the private element reached the main: {} {}",
            r.path,
            r.body
        );
    }

    // Pulled: every sample, whole (the listing is a reduced view: the full get was used).
    let on_hub = elements(&hub_dir);
    for id in &ids {
        let (collection, _) = main.element(id).unwrap();
        let full = full_get(&main, &collection, id);
        let got = on_hub
            .get(id)
            .unwrap_or_else(|| panic!("{collection}/{id} ({}) not pulled", full["name"]));
        assert_nothing_lost(&normalize(&full), &normalize(got), &format!("{collection}/{id}"));
    }
    assert!(on_hub["5b0f00000000000000000001"]["description"].is_string());
    assert!(on_hub["5b0f00000000000000000001"]["links"]["members"].is_object());
    assert!(!on_hub.contains_key("5c9e000000000000000000c1"), "out of the territory");
    assert!(!on_hub.contains_key("5c9e000000000000000000c2"), "private upstream");
    // The hub's own element came back as the main keeps it.
    assert_eq!(on_hub[&public_id]["creator"], USER);
    assert!(is_private(&on_hub[&private_id]), "still home");

    // Changed upstream: pulled.
    main.update(
        "5b0f00000000000000000001",
        json!({"shortDescription": "Association réunionnaise de compostage"}),
    );
    let second = round(&hub_dir, &config, &[]);
    assert_eq!(second["pulled_changes"], 1, "{second}");
    let (status, got) = hub.get("/api/v1/elements/5b0f00000000000000000001");
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["shortDescription"], "Association réunionnaise de compostage");

    // Hard delete upstream: found by its absence, confirmed, removed on the hub.
    assert!(main.remove("5b0f00000000000000000003"));
    let third = round(&hub_dir, &config, &[]);
    assert_eq!(third["applied"], 1, "{third}");
    assert_eq!(hub.get("/api/v1/elements/5b0f00000000000000000003").0, 404);
    let now = elements(&hub_dir);
    assert_eq!(now.len(), on_hub.len() - 1, "nothing else went");

    // Nothing new: nothing fetched in full, nothing saved, nothing written on the hub.
    main.clear_log();
    let before = seq(&hub);
    let quiet = round(&hub_dir, &config, &[]);
    assert_eq!(
        (
            quiet["pushed_changes"].clone(),
            quiet["pulled_changes"].clone(),
            quiet["applied"].clone()
        ),
        (json!(0), json!(0), json!(0)),
        "{quiet}"
    );
    assert_eq!(seq(&hub), before, "a round with nothing new writes nothing");
    assert_eq!(elements(&hub_dir), now);
    for r in main.log() {
        assert!(
            r.path == "/co2/search/globalautocomplete" || r.path.starts_with("/api/city/get"),
            "a quiet round only lists: {} {}",
            r.method,
            r.path
        );
    }
}

fn is_private(e: &Value) -> bool {
    e["preferences"]["private"] == json!(true)
}

/// Twelve organisations in Saint-Paul.
fn seed_orgs(main: &CommunecterMain) -> Vec<String> {
    (0..12)
        .map(|i| {
            let id = format!("5c9e0000000000000000{i:04}");
            main.insert(
                "organizations",
                json!({"_id": {"$id": id}, "name": format!("Association {i:02}"), "type": "NGO",
                    "description": format!("La {i}e association"), "address": saint_paul(),
                    "created": 1544000000 + i, "updated": 1544000000 + i}),
            );
            id
        })
        .collect()
}

#[test]
fn communecter_a_cut_listing_deletes_nothing_and_the_next_round_finishes() {
    let main = double();
    let orgs = seed_orgs(&main);
    let hub_dir = TestDir::new();
    let config = hub_config(&hub_dir, &main.base, &token());
    round(&hub_dir, &config, &["--batch-size", "3"]);
    assert_eq!(elements(&hub_dir).len(), 12);

    // Six edited and one removed upstream; the round is cut at the fourth listing page:
    // after two pulls were applied, before the listing could end.
    for id in &orgs[6..] {
        main.update(id, json!({"shortDescription": "modifiée"}));
    }
    assert!(main.remove(&orgs[2]));
    main.fault(Fault::status("globalautocomplete", 3, 503, Some(1)));
    let err = failed_round(&hub_dir, &config, &["--batch-size", "3"]);
    assert!(err.contains("503"), "{err}");
    let hub = elements(&hub_dir);
    assert_eq!(hub.len(), 12, "no deletion from a cut listing");
    let edited = orgs[6..]
        .iter()
        .filter(|id| hub[*id]["shortDescription"] == "modifiée")
        .count();
    assert_eq!(edited, 6, "what was applied before the cut is kept");

    // The next round resumes the listing; the deletion's confirmation answers garbage:
    // a clear error, nothing deleted.
    main.fault(Fault {
        path: "/co2/element/get".into(),
        skip: 0,
        times: 1,
        status: 200,
        retry_after: None,
        body: Some("{\"result\":true,\"map\":".into()),
    });
    let err = failed_round(&hub_dir, &config, &["--batch-size", "3"]);
    assert!(err.contains("bad answer"), "{err}");
    assert_eq!(elements(&hub_dir).len(), 12);

    // Then it finishes: the one removed upstream goes, nothing else.
    round(&hub_dir, &config, &["--batch-size", "3"]);
    let hub = elements(&hub_dir);
    assert_eq!(hub.len(), 11);
    assert!(!hub.contains_key(&orgs[2]));
    let quiet = round(&hub_dir, &config, &["--batch-size", "3"]);
    assert_eq!(
        (quiet["pulled_changes"].clone(), quiet["applied"].clone()),
        (json!(0), json!(0)),
        "{quiet}"
    );
}

#[test]
fn communecter_429_with_retry_after_is_honoured() {
    let main = double();
    seed_orgs(&main);
    let hub_dir = TestDir::new();
    let config = hub_config(&hub_dir, &main.base, &token());

    // A single round says why it failed.
    main.fault(Fault::status("globalautocomplete", 0, 503, Some(2)));
    let err = failed_round(&hub_dir, &config, &[]);
    assert!(err.contains("503"), "{err}");

    // The loop waits as long as the main asks: 7 s, longer than its first backoff (5 s).
    main.clear_log();
    main.fault(Fault::status("globalautocomplete", 0, 429, Some(7)));
    let mut child = Command::new(copi_bin())
        .args(["sync", "--config", config.to_str().unwrap(), "--data"])
        .arg(hub_dir.data())
        .env("COPI_LOG", "warn")
        .env_remove("COPI_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let log = loop {
        let log = main.log();
        if log
            .iter()
            .filter(|r| r.status == 200 && r.path.contains("globalautocomplete"))
            .count()
            >= 2
        {
            break log;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "no retry: {log:?}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let _ = child.kill();
    let _ = child.wait();
    let refused = log.iter().position(|r| r.status == 429).expect("the 429 was answered");
    let next = &log[refused + 1];
    let waited = next.at - log[refused].at;
    assert!(
        waited >= Duration::from_millis(6900),
        "the next request came {waited:?} after a 429 with Retry-After: 7"
    );
    // And then the rounds go on: a last one converges.
    round(&hub_dir, &config, &[]);
    assert_eq!(elements(&hub_dir).len(), 12);
}

#[test]
fn communecter_credentials_are_checked_on_both_sides() {
    let main = double();
    seed_orgs(&main);
    let hub_dir = TestDir::new();

    let config = hub_config(&hub_dir, &main.base, "only-a-token");
    let err = failed_round(&hub_dir, &config, &[]);
    assert!(err.contains("USERID:TOKEN"), "the expected shape is said: {err}");

    let config = hub_config(&hub_dir, &main.base, &format!("{USER}:wrong-token"));
    let err = failed_round(&hub_dir, &config, &[]);
    assert!(err.contains("401"), "{err}");
    assert!(elements(&hub_dir).is_empty());

    // The main refuses a full get without credentials.
    match ureq::get(&format!(
        "{}/co2/element/get/type/organizations/id/5c9e00000000000000000001",
        main.base
    ))
    .call()
    {
        Err(ureq::Error::Status(401, _)) => {}
        other => panic!("expected 401, got {other:?}"),
    }

    // HTTP Basic works as well.
    let config = hub_config(&hub_dir, &main.base, "basic:hub@example.org:mot-de-passe");
    round(&hub_dir, &config, &[]);
    assert_eq!(elements(&hub_dir).len(), 12);
}
