//! The appliance's hard days: a full SD card.

use std::process::Command;

use copi_e2e::{copi, Server, TestDir};
use serde_json::json;

/// Mounts a small tmpfs on `dir`'s data dir; `None` where mounting is not allowed (not
/// root), in which case the test says so and checks nothing.
fn small_filesystem(dir: &TestDir, size: &str) -> Option<Unmount> {
    std::fs::create_dir_all(dir.data()).unwrap();
    let ok = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(dir.data())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    ok.then(|| Unmount(dir.data()))
}

struct Unmount(std::path::PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_gives_a_clear_error_and_an_intact_store() {
    let dir = TestDir::new();
    let Some(_mounted) = small_filesystem(&dir, "3m") else {
        eprintln!("skipped: mounting a tmpfs needs root (CI runs as root)");
        return;
    };
    // Room the admin will free later (old photos, say), so the test does not hang on how
    // much the index rebuild needs compared with what the deleted index held.
    let ballast = dir.data().join("ballast");
    std::fs::write(&ballast, vec![0u8; 256 * 1024]).unwrap();
    let mut server = Server::start(&dir, &[]);
    let mut acked = Vec::new();
    let mut refusal = None;
    for n in 0..2000 {
        let body = json!({"kind": "project", "name": format!("Projet {n}"), "description": "é".repeat(10_000)});
        let (status, answer) = server.post("/api/v1/elements", &body);
        match status {
            201 => acked.push(answer["id"].as_str().unwrap().to_owned()),
            _ => {
                refusal = Some((status, answer));
                break;
            }
        }
    }
    let (status, answer) = refusal.expect("a 3 MB filesystem fills up");
    assert_eq!(status, 507, "{answer}");
    assert_eq!(answer["error"]["code"], json!("storage_full"));
    assert!(answer["error"]["message"].as_str().unwrap().contains("storage is full"));
    assert!(acked.len() > 10, "only {} writes before the disk was full", acked.len());
    // Reads still work, and more writes keep failing cleanly.
    assert_eq!(server.get("/healthz").0, 200);
    let (status, _) = server.post(
        "/api/v1/elements",
        &json!({"kind": "project", "name": "encore", "description": "é".repeat(10_000)}),
    );
    assert_eq!(status, 507);
    for id in &acked {
        assert_eq!(server.get(&format!("/api/v1/elements/{id}")).0, 200, "{id}");
    }
    server.kill();

    // The store is intact on the full disk.
    let out = copi(&dir, &["check", "--dry-run"]);
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.contains(&format!("checked {} elements", acked.len())),
        "{report}"
    );
    assert!(!report.contains("SQLite integrity"), "{report}");
    // Space is freed (the search index can always be rebuilt, and the ballast goes), and the hub serves again
    // with every acknowledged write.
    std::fs::remove_dir_all(dir.data().join("index")).unwrap();
    std::fs::remove_file(&ballast).unwrap();
    let server = Server::start(&dir, &[]);
    for id in &acked {
        assert_eq!(server.get(&format!("/api/v1/elements/{id}")).0, 200, "{id}");
    }
    let (_, hits) = server.get("/api/v1/search?q=projet&limit=1");
    assert_eq!(hits["total"].as_u64(), Some(acked.len() as u64));
}

#[test]
fn the_service_manager_is_told_when_the_hub_is_ready_and_its_watchdog_is_petted() {
    use std::os::unix::net::UnixDatagram;
    use std::time::Duration;
    let dir = TestDir::new();
    let socket_path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let port = copi_e2e::free_port();
    let mut child = Command::new(copi_e2e::copi_bin())
        .args(["serve", "--bind", &format!("127.0.0.1:{port}"), "--data"])
        .arg(dir.data())
        .env("NOTIFY_SOCKET", &socket_path)
        .env("WATCHDOG_USEC", "200000")
        .env("COPI_LOG", "warn")
        .env_remove("COPI_CONFIG")
        .spawn()
        .unwrap();
    let mut buf = [0u8; 256];
    let mut messages = Vec::new();
    while messages.iter().filter(|m: &&String| m.as_str() == "WATCHDOG=1").count() < 3 {
        let n = socket.recv(&mut buf).expect("a notification within 30 s");
        messages.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(messages[0].starts_with("READY=1"), "{messages:?}");
    // READY is sent once the server answers.
    assert!(messages.iter().skip(1).all(|m| m == "WATCHDOG=1"), "{messages:?}");
}

fn write_config(dir: &TestDir, text: &str) -> std::path::PathBuf {
    let path = dir.path().join("copi.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_resolver_on_this_machine_finds_the_hub_over_mdns() {
    let dir = TestDir::new();
    let name = format!("copie2e{}", fastrand::u32(..));
    let config = write_config(
        &dir,
        &format!("[hub]\nname = \"Tiers-lieu {name}\"\n[wifi]\ncountry = \"FR\"\n[network]\nname = \"{name}\"\n"),
    );
    let server = Server::start(&dir, &["--config", config.to_str().unwrap()]);
    let port = server.base.rsplit(':').next().unwrap().to_owned();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join("mdns_browse.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(format!("Tiers-lieu {name}"))
        .arg("20")
        .output()
        .unwrap();
    let found = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "not found over mDNS: {}{}",
        found,
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(found.trim(), format!("{name}.local. {port} /"));
}

#[test]
fn a_broken_config_file_leaves_the_last_working_one_in_force() {
    let dir = TestDir::new();
    let config = write_config(&dir, "[hub]\nname = \"Hub des Lilas\"\n");
    let mut server = Server::start(&dir, &["--config", config.to_str().unwrap()]);
    assert_eq!(server.get("/api/v1/status").1["name"], json!("Hub des Lilas"));
    server.kill();
    write_config(&dir, "[hub]\nname = \"Hub des Roses\"\nnmae = \"typo\"\n");
    let server = Server::start(&dir, &["--config", config.to_str().unwrap()]);
    assert_eq!(server.get("/api/v1/status").1["name"], json!("Hub des Lilas"));
    let status: serde_json::Value = ureq::get(&format!("{}/api/v1/status", server.base))
        .set("Authorization", &format!("Bearer {}", copi_e2e::TOKEN))
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    let error = status["config_error"].as_str().unwrap();
    assert!(error.contains("line 3") && error.contains("nmae"), "{error}");
    // Other commands refuse the broken file outright.
    let out = copi(&dir, &["export", "--config", config.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nmae"));
}

#[test]
fn maintenance_commands_never_pull_the_index_from_under_a_running_hub() {
    let dir = TestDir::new();
    let server = Server::start(&dir, &["--demo"]);
    let (_, before) = server.get("/api/v1/search?q=compost");
    assert!(before["total"].as_u64().unwrap() > 0);
    let out = copi(&dir, &["check", "--dry-run"]);
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{report}{}", String::from_utf8_lossy(&out.stderr));
    assert!(report.contains("search index not checked"), "{report}");
    let out = copi(&dir, &["reindex"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("in use by another copi process"));
    let (_, after) = server.get("/api/v1/search?q=compost");
    assert_eq!(after["total"], before["total"]);
}
