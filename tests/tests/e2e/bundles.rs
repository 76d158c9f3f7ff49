//! `copi export` / `copi import` across data dirs.

use copi_e2e::{by_id, export_of, read_json};

use copi_e2e::communecter::{assert_nothing_lost, normalize};
use copi_e2e::{copi, copi_ok, samples_path, TestDir};
use serde_json::{json, Value};

#[test]
fn export_then_import_gives_an_identical_hub() {
    let a = TestDir::new();
    let demo = a.path().join("demo.json");
    copi_ok(
        &a,
        &["demo-bundle", "--today", "2026-11-26", "--out", demo.to_str().unwrap()],
    );
    copi_ok(&a, &["import", demo.to_str().unwrap()]);
    let first = export_of(&a);
    let elements = first["elements"].as_array().unwrap().len();
    assert!(elements >= 300, "{elements} elements");

    let b = TestDir::new();
    let file = a.path().join("a.json");
    std::fs::write(&file, serde_json::to_vec(&first).unwrap()).unwrap();
    let out = copi_ok(&b, &["import", file.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("imported {elements} elements")));
    let second = export_of(&b);

    let (x, y) = (by_id(&first), by_id(&second));
    assert_eq!(x.len(), y.len());
    for (id, element) in &x {
        assert_eq!(Some(element), y.get(id), "{id} differs after export and import");
    }
    // And the second hub checks clean.
    copi_ok(&b, &["check"]);
}

#[test]
fn a_truncated_or_malformed_import_imports_nothing() {
    let a = TestDir::new();
    let demo = a.path().join("demo.json");
    copi_ok(
        &a,
        &["demo-bundle", "--today", "2026-11-26", "--out", demo.to_str().unwrap()],
    );
    let text = std::fs::read(&demo).unwrap();

    let mut bad_field: Value = serde_json::from_slice(&text).unwrap();
    let n = bad_field["elements"].as_array().unwrap().len();
    bad_field["elements"][n - 1]["name"] = json!(42);
    let mut unknown_kind: Value = serde_json::from_slice(&text).unwrap();
    unknown_kind["elements"][n / 2]["kind"] = json!("spaceship");

    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("truncated", text[..text.len() / 2].to_vec()),
        ("truncated by one byte", text[..text.len() - 2].to_vec()),
        ("not JSON", b"elements: none".to_vec()),
        ("empty", Vec::new()),
        (
            "a bad field in the last element",
            serde_json::to_vec(&bad_field).unwrap(),
        ),
        ("an unknown kind", serde_json::to_vec(&unknown_kind).unwrap()),
        ("a number", b"42".to_vec()),
    ];
    for (what, bytes) in cases {
        let b = TestDir::new();
        let file = b.path().join("bad.json");
        std::fs::write(&file, bytes).unwrap();
        let out = copi(&b, &["import", file.to_str().unwrap()]);
        assert!(!out.status.success(), "{what}: import succeeded");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.starts_with("copi: "), "{what}: unclear error: {stderr}");
        let after = export_of(&b);
        assert_eq!(after["elements"], json!([]), "{what}: something was imported");
        assert_eq!(after["news"], json!([]), "{what}: something was imported");
    }
    let b = TestDir::new();
    let out = copi(&b, &["import", "/nonexistent/file.json"]);
    assert!(!out.status.success());
}

#[test]
fn communecter_samples_import_and_export_without_loss() {
    let dir = TestDir::new();
    copi_ok(&dir, &["import", samples_path().to_str().unwrap()]);
    let export = export_of(&dir);
    let exported = by_id(&export);
    let samples = read_json(&samples_path());
    let mut kinds = std::collections::BTreeSet::new();
    for (collection, docs) in samples.as_object().unwrap() {
        for doc in docs.as_array().unwrap() {
            let doc = normalize(doc);
            let id = doc["_id"]["$id"].as_str().unwrap().to_owned();
            let key = if ["news", "comments", "documents"].contains(&collection.as_str()) {
                format!("{collection}/{id}")
            } else {
                id.clone()
            };
            let out = exported
                .get(&key)
                .unwrap_or_else(|| panic!("{collection} {id} missing from the export"));
            let mut out = normalize(out);
            if let Some(kind) = out.get("kind").and_then(Value::as_str) {
                kinds.insert(kind.to_owned());
                // CoPi's shape names the id `id`; Communecter's `_id`.
                out.as_object_mut().unwrap().insert("_id".into(), json!({"$id": id}));
            }
            assert_nothing_lost(&doc, &out, &key);
        }
    }
    assert_eq!(kinds.len(), 7, "samples cover every kind: {kinds:?}");
}

#[test]
fn check_repairs_a_lagging_or_broken_search_index_and_reindex_rebuilds_it() {
    let dir = TestDir::new();
    copi_ok(&dir, &["import", samples_path().to_str().unwrap()]);
    // The import indexed what it wrote.
    copi_ok(&dir, &["check", "--dry-run"]);
    // An index left behind by later writes (here: put back as it was) lags.
    let index = dir.data().join("index");
    let saved = dir.path().join("index-before");
    copy_dir(&index, &saved);
    let more = dir.path().join("more.json");
    copi_ok(
        &dir,
        &[
            "demo-bundle",
            "--elements",
            "20",
            "--today",
            "2026-11-26",
            "--out",
            more.to_str().unwrap(),
        ],
    );
    copi_ok(&dir, &["import", more.to_str().unwrap()]);
    std::fs::remove_dir_all(&index).unwrap();
    copy_dir(&saved, &index);
    let out = copi(&dir, &["check", "--dry-run"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success() && text.contains("search index lags"), "{text}");
    let out = copi_ok(&dir, &["check"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("caught up"));
    copi_ok(&dir, &["check", "--dry-run"]);

    // A damaged index is rebuilt.
    let meta = dir.data().join("index").join("meta.json");
    std::fs::write(&meta, b"{ not json").unwrap();
    let out = copi(&dir, &["check", "--dry-run"]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stdout).contains("unusable"));
    let out = copi_ok(&dir, &["check"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("rebuilt"));
    copi_ok(&dir, &["check", "--dry-run"]);

    let out = copi_ok(&dir, &["reindex"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("indexed 29 elements"));
    copi_ok(&dir, &["check", "--dry-run"]);
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}
