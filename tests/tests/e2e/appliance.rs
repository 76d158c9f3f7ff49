//! The appliance's hard days: a full SD card, and a card the kernel made read-only under the hub.

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
    let started = std::time::Instant::now();
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
    println!(
        "disk-full: {} acknowledged writes filled a 3 MB filesystem, then 507 storage_full (twice), nothing \
         changed; reads served while full; copi check clean on the full disk; after freeing space all {} there and \
         searchable; {:.1?}",
        acked.len(),
        acked.len(),
        started.elapsed()
    );
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

/// An ext4 filesystem in a file, loop-mounted on `dir`'s data dir with `errors=remount-ro`
/// (how an appliance mounts its data partition); `None` where loop devices or ext4 are not
/// available (not root, a container), in which case the test says so and checks nothing.
struct Ext4 {
    image: std::path::PathBuf,
    mountpoint: std::path::PathBuf,
}

impl Ext4 {
    fn new(dir: &TestDir, size: &str) -> Option<Ext4> {
        let image = dir.path().join("card.img");
        let made = Command::new("truncate")
            .args(["-s", size])
            .arg(&image)
            .status()
            .is_ok_and(|s| s.success())
            && Command::new("mkfs.ext4")
                .args(["-q", "-F"])
                .arg(&image)
                .status()
                .is_ok_and(|s| s.success());
        let ext4 = Ext4 {
            image,
            mountpoint: dir.data(),
        };
        (made && ext4.mount()).then_some(ext4)
    }

    fn mount(&self) -> bool {
        std::fs::create_dir_all(&self.mountpoint).unwrap();
        Command::new("mount")
            .args(["-o", "loop,errors=remount-ro"])
            .arg(&self.image)
            .arg(&self.mountpoint)
            .status()
            .is_ok_and(|s| s.success())
    }

    /// The loop device's name under /sys/fs/ext4.
    fn device(&self) -> String {
        let out = Command::new("findmnt")
            .args(["-n", "-o", "SOURCE"])
            .arg(&self.mountpoint)
            .output()
            .unwrap();
        let source = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        source.rsplit('/').next().unwrap().to_owned()
    }

    /// Makes ext4 report an error, as it does when the card fails a write: with
    /// `errors=remount-ro` the kernel stops every write to the filesystem from then on,
    /// under the running hub. (A plain `mount -o remount,ro` is refused while the hub holds
    /// its database open for writing.) `false` where the kernel has no such knob.
    fn fail(&self) -> bool {
        let knob = format!("/sys/fs/ext4/{}/trigger_fs_error", self.device());
        std::fs::write(knob, "copi e2e: the card failed a write").is_ok()
    }

    /// What the next boot does: unmount, repair (`e2fsck -y`), mount read-write again.
    fn repair_and_remount(&self) {
        assert!(Command::new("umount").arg(&self.mountpoint).status().unwrap().success());
        let fsck = Command::new("e2fsck")
            .args(["-f", "-y"])
            .arg(&self.image)
            .output()
            .unwrap();
        // 0: clean, 1: errors corrected.
        assert!(
            matches!(fsck.status.code(), Some(0 | 1)),
            "e2fsck: {}{}",
            String::from_utf8_lossy(&fsck.stdout),
            String::from_utf8_lossy(&fsck.stderr)
        );
        assert!(self.mount(), "mounting the repaired filesystem");
    }
}

impl Drop for Ext4 {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.mountpoint).status();
    }
}

/// GET returning the status and the body as text (pages are HTML).
fn get_text(server: &Server, path: &str) -> (u16, String) {
    match ureq::get(&format!("{}{path}", server.base))
        .timeout(std::time::Duration::from_secs(30))
        .call()
    {
        Ok(r) => (r.status(), r.into_string().unwrap_or_default()),
        Err(ureq::Error::Status(s, r)) => (s, r.into_string().unwrap_or_default()),
        Err(e) => panic!("GET {path}: {e}"),
    }
}

/// POST as a person.
fn as_person(server: &Server, token: &str, path: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
    let r = ureq::post(&format!("{}{path}", server.base))
        .set("Authorization", &format!("Bearer {token}"))
        .timeout(std::time::Duration::from_secs(30))
        .send_json(body.clone());
    match r {
        Ok(r) => (r.status(), r.into_json().unwrap_or_default()),
        Err(ureq::Error::Status(s, r)) => (s, r.into_json().unwrap_or_default()),
        Err(e) => panic!("POST {path}: {e}"),
    }
}

#[test]
fn a_card_gone_read_only_under_the_hub_refuses_writes_clearly_and_keeps_serving_reads() {
    let started = std::time::Instant::now();
    let dir = TestDir::new();
    let Some(card) = Ext4::new(&dir, "64M") else {
        eprintln!("skipped: a loop-mounted ext4 needs root and loop devices (CI runs as root)");
        return;
    };
    let mut server = Server::start(&dir, &[]);

    // Acknowledged writes of every kind: creates, an edit, a delete, a person, a post.
    let mut acked = Vec::new();
    for n in 0..30 {
        let body =
            json!({"kind": "project", "name": format!("Projet {n} carte"), "description": "un projet du tiers-lieu"});
        let (status, answer) = server.post("/api/v1/elements", &body);
        assert_eq!(status, 201, "{answer}");
        acked.push(answer["id"].as_str().unwrap().to_owned());
    }
    let (status, answer) = server.patch(
        &format!("/api/v1/elements/{}", acked[0]),
        &json!({"shortDescription": "retouche avant la panne"}),
    );
    assert_eq!(status, 200, "{answer}");
    let deleted = acked.pop().unwrap();
    assert_eq!(server.delete(&format!("/api/v1/elements/{deleted}")).0, 204);
    let (status, person) = server.post(
        "/api/v1/auth/register",
        &json!({"name": "Alice", "email": "alice@example.org", "password": "un mot de passe assez long"}),
    );
    assert_eq!(status, 201, "{person}");
    let alice = person["token"].as_str().unwrap().to_owned();
    let (status, org) = as_person(
        &server,
        &alice,
        "/api/v1/elements",
        &json!({"kind": "organization", "type": "NGO", "name": "Jardin d'Alice"}),
    );
    assert_eq!(status, 201, "{org}");
    let org_id = org["id"].as_str().unwrap().to_owned();
    let posts = format!("/api/v1/elements/{org_id}/posts");
    let (status, post) = as_person(
        &server,
        &alice,
        &posts,
        &json!({"text": "avant la panne", "audience": "public"}),
    );
    assert_eq!(status, 201, "{post}");
    let post_id = post["id"].as_str().unwrap().to_owned();
    let (_, before) = server.get("/api/v1/status");
    let (_, found_before) = server.get("/api/v1/search?q=carte&limit=100");
    assert_eq!(
        found_before["total"].as_u64(),
        Some(acked.len() as u64),
        "{found_before}"
    );

    // The card fails: the kernel stops every write.
    if !card.fail() {
        eprintln!("skipped: this kernel has no ext4 trigger_fs_error");
        return;
    }
    let probe = std::fs::write(dir.data().join("probe"), b"x").unwrap_err();
    assert_eq!(probe.kind(), std::io::ErrorKind::ReadOnlyFilesystem, "{probe}");

    // Writes answer 503 storage_read_only with a clear message, and change nothing.
    let refused = |(status, answer): (u16, serde_json::Value), what: &str| {
        assert_eq!(status, 503, "{what}: {answer}");
        assert_eq!(answer["error"]["code"], json!("storage_read_only"), "{what}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("read-only") && message.contains("nothing was changed"),
            "{what}: {message}"
        );
    };
    let mut refusals = 0;
    for n in 0..5 {
        let body = json!({"kind": "project", "name": format!("Projet {n} perdu")});
        refused(server.post("/api/v1/elements", &body), "create");
        refusals += 1;
    }
    refused(
        server.patch(
            &format!("/api/v1/elements/{}", acked[2]),
            &json!({"shortDescription": "jamais"}),
        ),
        "edit",
    );
    refused(server.delete(&format!("/api/v1/elements/{}", acked[3])), "delete");
    refused(
        as_person(
            &server,
            &alice,
            &posts,
            &json!({"text": "pendant la panne", "audience": "public"}),
        ),
        "post",
    );
    refused(
        server.post(
            "/api/v1/auth/register",
            &json!({"name": "Bruno", "email": "bruno@example.org", "password": "un mot de passe assez long"}),
        ),
        "register",
    );
    refusals += 4;

    // Health and status say so; reads keep working (API, pages, search).
    let (status, health) = server.get("/healthz");
    assert_eq!((status, &health["status"]), (200, &json!("read_only")), "{health}");
    let (status, after) = server.get("/api/v1/status");
    assert_eq!(status, 200, "{after}");
    assert_eq!(after["storage"]["read_only"], json!(true), "{after}");
    assert_eq!(after["elements_total"], before["elements_total"], "nothing was written");
    assert_eq!(
        after["search"]["store_seq"], before["search"]["store_seq"],
        "nothing was written"
    );
    for id in &acked {
        assert_eq!(server.get(&format!("/api/v1/elements/{id}")).0, 200, "{id}");
    }
    assert_eq!(server.get(&format!("/api/v1/elements/{deleted}")).0, 404);
    let (_, first) = server.get(&format!("/api/v1/elements/{}", acked[0]));
    assert_eq!(first["shortDescription"], json!("retouche avant la panne"));
    let (_, third) = server.get(&format!("/api/v1/elements/{}", acked[2]));
    assert!(
        third["shortDescription"].is_null(),
        "the refused edit changed nothing: {third}"
    );
    let (status, list) = server.get("/api/v1/elements?limit=100");
    assert_eq!(status, 200, "{list}");
    // The projects, Alice and her organization.
    assert_eq!(list["items"].as_array().map(Vec::len), Some(acked.len() + 2), "{list}");
    let (_, found) = server.get("/api/v1/search?q=carte&limit=100");
    assert_eq!(found["total"], found_before["total"], "{found}");
    let (_, perdu) = server.get("/api/v1/search?q=perdu");
    assert_eq!(perdu["total"].as_u64(), Some(0), "{perdu}");
    let slug = first["slug"].as_str().unwrap();
    let mut pages = 0;
    for path in [
        "/".to_owned(),
        "/agenda".to_owned(),
        "/directory".to_owned(),
        "/search?q=carte".to_owned(),
        format!("/project/{slug}"),
    ] {
        let (status, page) = get_text(&server, &path);
        assert_eq!(status, 200, "{path}: {page}");
        pages += 1;
    }
    let (_, search_page) = get_text(&server, "/search?q=carte");
    assert!(search_page.contains("carte"), "the search page finds the projects");
    // Still there, and said nothing it should not have.
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "the hub exited:\n{}",
        server.log()
    );
    let log = server.log();
    assert!(!log.contains("panicked"), "{log}");
    server.kill();

    // Restarted on the card still read-only (a crash, the watchdog, a reboot that could not
    // repair it): the hub starts, with its search index rebuilt in memory, and serves reads.
    let mut server = Server::start(&dir, &[]);
    let (_, health) = server.get("/healthz");
    assert_eq!(health["status"], json!("read_only"), "{health}");
    let (_, status) = server.get("/api/v1/status");
    assert_eq!(status["storage"]["read_only"], json!(true), "{status}");
    assert_eq!(status["search"]["in_memory"], json!(true), "{status}");
    for id in &acked {
        assert_eq!(server.get(&format!("/api/v1/elements/{id}")).0, 200, "{id}");
    }
    let (_, found) = server.get("/api/v1/search?q=carte&limit=100");
    assert_eq!(found["total"], found_before["total"], "{found}");
    assert_eq!(get_text(&server, "/").0, 200);
    refused(
        server.post("/api/v1/elements", &json!({"kind": "project", "name": "Projet perdu"})),
        "create",
    );
    refusals += 1;
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "the hub exited:\n{}",
        server.log()
    );
    server.kill();

    // The next boot repairs the filesystem: every acknowledged write is there, none refused.
    card.repair_and_remount();
    let server = Server::start(&dir, &[]);
    for id in &acked {
        assert_eq!(server.get(&format!("/api/v1/elements/{id}")).0, 200, "{id}");
    }
    assert_eq!(server.get(&format!("/api/v1/elements/{deleted}")).0, 404);
    let (_, first) = server.get(&format!("/api/v1/elements/{}", acked[0]));
    assert_eq!(first["shortDescription"], json!("retouche avant la panne"));
    assert_eq!(server.get(&format!("/api/v1/posts/{post_id}")).0, 200, "the post");
    let (_, health) = server.get("/healthz");
    assert_eq!(health["status"], json!("ok"));
    let (_, found) = server.get("/api/v1/search?q=carte&limit=100");
    assert_eq!(found["total"].as_u64(), Some(acked.len() as u64), "{found}");
    let (_, perdu) = server.get("/api/v1/search?q=perdu");
    assert_eq!(perdu["total"].as_u64(), Some(0), "{perdu}");
    // And it writes again.
    let (status, answer) = server.post("/api/v1/elements", &json!({"kind": "project", "name": "Projet réparé"}));
    assert_eq!(status, 201, "{answer}");
    // Searchable, so the index has caught up before the hub stops.
    let (_, repaired) = server.get("/api/v1/search?q=r%C3%A9par%C3%A9");
    assert_eq!(repaired["total"].as_u64(), Some(1), "{repaired}");
    let (_, status) = server.get("/api/v1/status");
    assert_eq!(
        status["search"]["indexed_seq"], status["search"]["store_seq"],
        "{status}"
    );
    drop(server);
    let out = copi(&dir, &["check", "--dry-run"]);
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && !report.contains("problem:"), "{report}");
    // The projects, the new one, Alice and her organization.
    assert!(
        report.contains(&format!("checked {} elements", acked.len() + 3)),
        "{report}"
    );
    println!(
        "read-only: {} acknowledged writes before the card failed, all there after the repair; \
         {refusals} writes refused with 503 storage_read_only, nothing changed; {} elements, search and {pages} pages \
         served read-only, and again by a hub restarted on the read-only card (index in memory); /healthz read_only, status \
         storage.read_only true; copi check clean; {:.1?}",
        acked.len() + 6,
        acked.len(),
        started.elapsed()
    );
}
