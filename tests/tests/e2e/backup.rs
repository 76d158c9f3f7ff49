//! `copi backup` / `copi restore`: a hub backed up while it serves and writes, restored into
//! empty data dirs; damaged, foreign and unsafe archives refused without changing anything.

use copi_e2e::{by_id, export_of};

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use copi_e2e::{copi, copi_ok, samples_path, Server, TestDir};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Uploaded files and a config file beside a hub's store.
fn add_uploads_and_config(dir: &TestDir) -> PathBuf {
    let uploads = dir.data().join("uploads");
    std::fs::create_dir_all(uploads.join("2026/05")).unwrap();
    std::fs::write(uploads.join("logo.png"), b"\x89PNG\r\n not really a PNG").unwrap();
    let poster: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(uploads.join("2026/05/affiche.pdf"), poster).unwrap();
    let config = dir.path().join("copi.toml");
    std::fs::write(&config, "[hub]\nname = \"Crest en transition\"\n").unwrap();
    config
}

/// Files under a folder, relative path → bytes.
fn files_under(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                let rel = e.path().strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read(e.path()).unwrap());
            }
        }
    }
    out
}

/// Writer threads posting events to a hub until stopped; the ids of the acknowledged ones.
struct Load {
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<Vec<String>>>,
    threads: Vec<JoinHandle<()>>,
}

impl Load {
    fn start(server: &Server, writers: usize, tag: &str) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let acked: Arc<Mutex<Vec<String>>> = Arc::default();
        let threads = (0..writers)
            .map(|w| {
                let (base, acked, stop, tag) = (server.base.clone(), acked.clone(), stop.clone(), tag.to_owned());
                std::thread::spawn(move || {
                    // Bounded: a few thousand writes at most, whatever happens.
                    for n in 0..5000 {
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        let body = json!({"kind": "event", "name": format!("Atelier {tag}{w}x{n}"), "type": "workshop",
                            "startDate": "2026-12-01 10:00", "tags": [tag], "description": "réparation ".repeat(n % 300)});
                        let r = ureq::post(&format!("{base}/api/v1/elements"))
                            .set("Authorization", &format!("Bearer {}", copi_e2e::TOKEN))
                            .timeout(Duration::from_secs(30))
                            .send_json(body);
                        match r {
                            Ok(resp) if resp.status() == 201 => {
                                let v: Value = resp.into_json().unwrap();
                                acked.lock().unwrap().push(v["id"].as_str().unwrap().to_owned());
                            }
                            other => panic!("write refused while backing up: {other:?}"),
                        }
                    }
                })
            })
            .collect();
        Load { stop, acked, threads }
    }

    fn acked(&self) -> Vec<String> {
        self.acked.lock().unwrap().clone()
    }

    /// Waits until `n` more writes than `from` are acknowledged.
    fn wait_for(&self, from: usize, n: usize) {
        let start = Instant::now();
        while self.acked.lock().unwrap().len() < from + n {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "the hub stopped acknowledging writes"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn stop(self) -> Vec<String> {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads {
            t.join().unwrap();
        }
        self.acked.lock().unwrap().clone()
    }
}

fn instance_of(server: &Server) -> String {
    let (status, body) = server.get("/api/v1/status");
    assert_eq!(status, 200, "{body}");
    body["instance"].as_str().unwrap().to_owned()
}

#[test]
fn a_hub_backed_up_while_serving_and_writing_restores_identically_elsewhere() {
    let a = TestDir::new();
    copi_ok(&a, &["import", samples_path().to_str().unwrap()]);
    let config = add_uploads_and_config(&a);
    let server = Server::start(&a, &[]);
    let source_instance = instance_of(&server);

    // Backup while writes go on.
    let load = Load::start(&server, 2, "sauvegarde");
    load.wait_for(0, 20);
    let before = load.acked();
    let archive = a.path().join("during.copi-backup.tar.gz");
    let out = copi_ok(
        &a,
        &[
            "backup",
            "--out",
            archive.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ],
    );
    let text = stdout(&out);
    assert!(
        text.contains(&format!("backed up instance {source_instance}")) && text.contains("2 uploaded files"),
        "{text}"
    );
    // The hub kept acknowledging writes after the backup.
    let after_backup = load.acked().len();
    load.wait_for(after_backup, 10);
    let all = load.stop();
    let source = by_id(&export_of(&a));

    let b = TestDir::new();
    let out = copi_ok(&b, &["restore", archive.to_str().unwrap()]);
    let text = stdout(&out);
    let restored = by_id(&export_of(&b));
    // Every write acknowledged before the backup started is there...
    for id in &before {
        assert!(
            restored.contains_key(id),
            "{id}, acknowledged before the backup, not restored"
        );
    }
    // ... and everything restored is exactly as the source has it: a consistent snapshot, no
    // torn element, nothing that was never acknowledged.
    for (id, doc) in &restored {
        assert_eq!(Some(doc), source.get(id), "{id} differs from the source");
    }
    let written: std::collections::HashSet<&String> = all.iter().collect();
    let restored_writes = restored.keys().filter(|id| written.contains(id)).count();
    assert!(restored_writes >= before.len() && restored_writes <= all.len());
    assert_eq!(restored.len(), source.len() - (all.len() - restored_writes));
    eprintln!(
        "{} writes acknowledged before the backup, {restored_writes} in it, {} in all",
        before.len(),
        all.len()
    );

    // Uploads and the config file came along; the config waits for the admin.
    assert_eq!(
        files_under(&b.data().join("uploads")),
        files_under(&a.data().join("uploads"))
    );
    assert_eq!(
        std::fs::read(b.data().join("copi.toml.restored")).unwrap(),
        std::fs::read(&config).unwrap()
    );
    assert!(
        text.contains("copi.toml.restored") && text.contains("move it"),
        "{text}"
    );

    // The restored hub is a new instance that remembers the old one, checks clean and finds
    // what it holds.
    copi_ok(&b, &["check", "--dry-run"]);
    let restored_server = Server::start(&b, &[]);
    let new_instance = instance_of(&restored_server);
    assert_ne!(new_instance, source_instance);
    assert!(
        text.contains(&format!(
            "instance id: {new_instance} (new; the backup's {source_instance} is kept as the previous id)"
        )),
        "{text}"
    );
    let (_, hits) = restored_server.get("/api/v1/search?tags=sauvegarde&limit=1");
    assert!(!hits["items"].as_array().unwrap().is_empty(), "{hits}");
    drop(restored_server);

    // With writes stopped, a backup restores to exactly the source's export.
    let quiet = a.path().join("quiet.copi-backup.tar.gz");
    copi_ok(&a, &["backup", "--out", quiet.to_str().unwrap()]);
    let source = by_id(&export_of(&a));
    drop(server);
    let c = TestDir::new();
    let out = copi_ok(&c, &["restore", quiet.to_str().unwrap()]);
    assert!(stdout(&out).contains("the backup holds no config file"));
    let restored = by_id(&export_of(&c));
    assert_eq!(restored.len(), source.len());
    assert!(source.len() > all.len());
    for (id, doc) in &source {
        assert_eq!(Some(doc), restored.get(id), "{id} differs after backup and restore");
    }
    copi_ok(&c, &["check", "--dry-run"]);
}

#[test]
fn backups_taken_during_writes_restore_to_stores_that_check_clean() {
    let a = TestDir::new();
    let server = Server::start(&a, &[]);
    let load = Load::start(&server, 3, "charge");
    let mut archives = Vec::new();
    for i in 0..3 {
        load.wait_for(load.acked().len(), 5);
        let archive = a.path().join(format!("b{i}.tar.gz"));
        copi_ok(&a, &["backup", "--out", archive.to_str().unwrap()]);
        archives.push(archive);
    }
    load.stop();
    drop(server);
    let mut previous = 0;
    for archive in &archives {
        let b = TestDir::new();
        copi_ok(&b, &["restore", archive.to_str().unwrap()]);
        let out = copi_ok(&b, &["check", "--dry-run"]);
        assert!(stdout(&out).contains("ok"), "{}", stdout(&out));
        let n = export_of(&b)["elements"].as_array().unwrap().len();
        assert!(n >= previous + 5, "{n} elements after {previous}");
        previous = n;
    }
}

/// An archive entry as bytes, to write archives that CoPi would not.
#[derive(Clone)]
struct Raw {
    name: String,
    kind: tar::EntryType,
    data: Vec<u8>,
}

fn raw(name: &str, data: &[u8]) -> Raw {
    Raw {
        name: name.into(),
        kind: tar::EntryType::Regular,
        data: data.to_vec(),
    }
}

fn read_raw(path: &Path) -> Vec<Raw> {
    let gz = flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap());
    let mut archive = tar::Archive::new(gz);
    archive
        .entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let mut data = Vec::new();
            e.read_to_end(&mut data).unwrap();
            Raw {
                name: String::from_utf8(e.path_bytes().into_owned()).unwrap(),
                kind: e.header().entry_type(),
                data,
            }
        })
        .collect()
}

/// A tar written header by header, names as given (the tar crate's own checks would refuse
/// `..`).
fn tar_of(entries: &[Raw]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        let mut h = tar::Header::new_gnu();
        h.as_old_mut().name[..e.name.len()].copy_from_slice(e.name.as_bytes());
        h.set_entry_type(e.kind);
        h.set_mode(0o644);
        let data: &[u8] = if e.kind == tar::EntryType::Symlink {
            h.set_link_name_literal("/etc/passwd").unwrap();
            &[]
        } else {
            &e.data
        };
        h.set_size(data.len() as u64);
        h.set_cksum();
        b.append(&h, data).unwrap();
    }
    b.into_inner().unwrap()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

fn edit_manifest(entries: &mut [Raw], f: impl FnOnce(&mut Value)) {
    let mut v: Value = serde_json::from_slice(&entries[0].data).unwrap();
    f(&mut v);
    entries[0].data = serde_json::to_vec(&v).unwrap();
}

/// Lists every entry but the manifest with its true size and hash, so that the fault under
/// test is the only one.
fn relist(entries: &mut [Raw]) {
    let listed: Vec<Value> = entries[1..]
        .iter()
        .map(|e| {
            let hash: String = Sha256::digest(&e.data).iter().map(|b| format!("{b:02x}")).collect();
            json!({"path": e.name, "size": e.data.len(), "sha256": hash})
        })
        .collect();
    edit_manifest(entries, |v| v["entries"] = Value::Array(listed));
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn damaged_foreign_or_unsafe_archives_are_refused_and_the_data_dir_is_untouched() {
    let a = TestDir::new();
    copi_ok(&a, &["import", samples_path().to_str().unwrap()]);
    add_uploads_and_config(&a);
    let archive = a.path().join("good.tar.gz");
    copi_ok(&a, &["backup", "--out", archive.to_str().unwrap()]);
    let good = std::fs::read(&archive).unwrap();
    let entries = read_raw(&archive);
    let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "copi-backup.json",
            "store/copi.db",
            "uploads/2026/05/affiche.pdf",
            "uploads/logo.png"
        ],
        "no WAL, no search index"
    );
    let edited = |f: &dyn Fn(&mut Vec<Raw>)| {
        let mut e = entries.clone();
        f(&mut e);
        gzip(&tar_of(&e))
    };
    let n = good.len();
    let mut flipped = good.clone();
    flipped[n / 2] ^= 0x10;
    let mut flipped_crc = good.clone();
    flipped_crc[n - 7] ^= 0x01;

    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("a flipped byte", flipped, ""),
        ("a flipped byte in the gzip checksum", flipped_crc, "damaged"),
        ("truncated by half", good[..n / 2].to_vec(), "truncated"),
        ("truncated by one byte", good[..n - 1].to_vec(), "truncated"),
        (
            "a random tar",
            tar_of(&[raw("notes.txt", b"hello"), raw("photo.jpg", b"\xff\xd8")]),
            "not a CoPi backup",
        ),
        (
            "a random tar.gz",
            gzip(&tar_of(&[raw("notes.txt", b"hello")])),
            "not a CoPi backup",
        ),
        (
            "a gzip of something else",
            gzip(&std::fs::read(samples_path()).unwrap()),
            "not a CoPi backup",
        ),
        (
            "a JSON bundle",
            std::fs::read(samples_path()).unwrap(),
            "not a CoPi backup",
        ),
        (
            "a manifest with a wrong hash",
            edited(&|e| edit_manifest(e, |v| v["entries"][0]["sha256"] = json!("ab".repeat(32)))),
            "SHA-256",
        ),
        (
            "a changed entry",
            edited(&|e| {
                let last = e.len() - 1;
                e[last].data[0] ^= 1
            }),
            "SHA-256",
        ),
        (
            "a path traversal",
            edited(&|e| {
                e.push(raw("uploads/../../../evil.sh", b"#!/bin/sh\necho pwned\n"));
                relist(e);
            }),
            "unsafe path",
        ),
        (
            "an absolute path",
            edited(&|e| {
                e.push(raw("/tmp/copi-e2e-evil.sh", b"x"));
                relist(e);
            }),
            "unsafe path",
        ),
        (
            "a symbolic link",
            edited(&|e| {
                e.push(Raw {
                    kind: tar::EntryType::Symlink,
                    ..raw("uploads/passwd", b"")
                });
                relist(e);
            }),
            "symbolic link",
        ),
        (
            "an entry the manifest does not list",
            edited(&|e| e.push(raw("uploads/extra.txt", b"x"))),
            "not listed",
        ),
        ("a missing entry", edited(&|e| drop(e.pop())), "missing"),
        (
            "a newer format version",
            edited(&|e| edit_manifest(e, |v| v["version"] = json!(2))),
            "newer CoPi",
        ),
        (
            "a store that is not a database",
            edited(&|e| {
                e[1].data = b"not SQLite at all".repeat(100);
                relist(e);
            }),
            "store",
        ),
    ];
    for (what, bytes, expected) in cases {
        let d = TestDir::new();
        let file = d.path().join("bad.tar.gz");
        std::fs::write(&file, &bytes).unwrap();
        for existing in [false, true] {
            if existing {
                std::fs::create_dir(d.data()).unwrap();
            }
            let out = copi(&d, &["restore", file.to_str().unwrap()]);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(!out.status.success(), "{what}: restored");
            assert!(
                stderr.starts_with("copi: cannot restore") && stderr.contains("nothing was changed"),
                "{what}: unclear error: {stderr}"
            );
            assert!(stderr.contains(expected), "{what}: expected {expected:?} in {stderr}");
            if existing {
                assert!(listing(&d.data()).is_empty(), "{what}: data dir changed");
                std::fs::remove_dir(d.data()).unwrap();
            } else {
                assert!(!d.data().exists(), "{what}: data dir created");
            }
            assert_eq!(listing(d.path()), ["bad.tar.gz"], "{what}: something left behind");
        }
    }
    assert!(!Path::new("/tmp/copi-e2e-evil.sh").exists());
    // The good archive restores.
    let d = TestDir::new();
    copi_ok(&d, &["restore", archive.to_str().unwrap()]);
    copi_ok(&d, &["check", "--dry-run"]);
}

#[test]
fn restore_refuses_a_data_dir_that_is_not_empty_and_backup_needs_a_store() {
    let a = TestDir::new();
    let out = copi(&a, &["backup", "--out", a.path().join("x.tar.gz").to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to back up"));
    assert!(!a.data().exists() && !a.path().join("x.tar.gz").exists());

    copi_ok(&a, &["import", samples_path().to_str().unwrap()]);
    let archive = a.path().join("a.tar.gz");
    copi_ok(&a, &["backup", "--out", archive.to_str().unwrap()]);

    let b = TestDir::new();
    std::fs::create_dir_all(b.data()).unwrap();
    std::fs::write(b.data().join("notes.txt"), b"keep me").unwrap();
    // A hub of its own, too.
    copi_ok(&b, &["import", samples_path().to_str().unwrap()]);
    let before = export_of(&b);
    let files = files_under(&b.data());
    for target in [&b, &a] {
        let out = copi(target, &["restore", archive.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success());
        assert!(
            stderr.starts_with("copi: the data dir")
                && stderr.contains("is not empty")
                && stderr.contains("nothing was changed"),
            "{stderr}"
        );
    }
    assert_eq!(files_under(&b.data()), files);
    assert_eq!(by_id(&export_of(&b)), by_id(&before));
}
