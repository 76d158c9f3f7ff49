//! Helpers for the end-to-end tests: build the real `copi` binary once, run it in a unique
//! temporary data dir on a free loopback port, talk to it over HTTP. On failure, a command's
//! output is printed with the data dir's listing.

pub mod browser;
pub mod communecter_main;
pub mod soak;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The admin token every test hub is started with.
pub const TOKEN: &str = "e2e-admin-token-0123456789abcdef";

/// Path of the `copi` binary, built on first use with the same cargo that runs the tests:
/// the debug build, or the release build (what a hub runs) with `COPI_E2E_RELEASE=1`, which
/// `scripts/torture` sets for its full-size runs.
pub fn copi_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("workspace root")
            .to_owned();
        let release = std::env::var("COPI_E2E_RELEASE").is_ok_and(|v| v == "1");
        let mut args = vec!["build", "--quiet", "-p", "copi", "--bin", "copi"];
        if release {
            args.extend(["--release", "--locked"]);
        }
        let status = Command::new(cargo)
            .args(&args)
            .current_dir(&root)
            .status()
            .expect("cargo build runs");
        assert!(status.success(), "cargo build of copi failed");
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target"));
        let bin = target.join(if release { "release" } else { "debug" }).join("copi");
        assert!(bin.exists(), "{} missing after build", bin.display());
        bin
    })
}

/// A data dir of its own for one test.
pub struct TestDir {
    pub dir: tempfile::TempDir,
}

impl TestDir {
    pub fn new() -> TestDir {
        TestDir {
            dir: tempfile::Builder::new()
                .prefix("copi-e2e-")
                .tempdir()
                .expect("temp dir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn listing(&self) -> String {
        let mut out = String::new();
        fn walk(p: &Path, out: &mut String) {
            if let Ok(rd) = std::fs::read_dir(p) {
                for e in rd.flatten() {
                    let len = e.metadata().map(|m| m.len()).unwrap_or(0);
                    out.push_str(&format!("  {} ({len} bytes)\n", e.path().display()));
                    walk(&e.path(), out);
                }
            }
        }
        walk(self.path(), &mut out);
        out
    }
}

impl Default for TestDir {
    fn default() -> Self {
        Self::new()
    }
}

/// Runs `copi ARGS --data <dir>/data` to completion.
pub fn copi(dir: &TestDir, args: &[&str]) -> Output {
    let out = Command::new(copi_bin())
        .args(args)
        .arg("--data")
        .arg(dir.data())
        .env("COPI_LOG", "warn")
        .env_remove("COPI_CONFIG")
        .env_remove("COPI_ADMIN_TOKEN")
        .env_remove("COPI_DATA")
        .stdin(Stdio::null())
        .output()
        .expect("copi runs");
    out
}

/// Like [`copi`], and panics with the whole story if the command failed.
pub fn copi_ok(dir: &TestDir, args: &[&str]) -> Output {
    let out = copi(dir, args);
    if !out.status.success() {
        panic!(
            "copi {args:?} failed ({}):\nstdout:\n{}\nstderr:\n{}\ndata dir:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            dir.listing()
        );
    }
    out
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// A running `copi serve`.
pub struct Server {
    pub child: Child,
    pub base: String,
    log: PathBuf,
}

impl Server {
    /// Starts `copi serve` on a free port with the test admin token and waits until
    /// `/healthz` answers.
    pub fn start(dir: &TestDir, extra: &[&str]) -> Server {
        let port = free_port();
        let log = dir.path().join(format!("server-{port}.log"));
        let log_file = std::fs::File::create(&log).expect("log file");
        let child = Command::new(copi_bin())
            .arg("serve")
            .arg("--data")
            .arg(dir.data())
            .arg("--bind")
            .arg(format!("127.0.0.1:{port}"))
            .args(extra)
            .env("COPI_ADMIN_TOKEN", TOKEN)
            .env("COPI_LOG", "warn")
            .env_remove("COPI_CONFIG")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("log"))
            .stderr(log_file)
            .spawn()
            .expect("copi serve starts");
        let mut server = Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
        };
        server.wait_ready(Duration::from_secs(60));
        server
    }

    fn wait_ready(&mut self, timeout: Duration) {
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("copi serve exited early ({status}):\n{}", self.log());
            }
            if let Ok(r) = ureq::get(&format!("{}/healthz", self.base))
                .timeout(Duration::from_secs(2))
                .call()
            {
                if r.status() == 200 {
                    return;
                }
            }
            if start.elapsed() > timeout {
                panic!("copi serve did not answer within {timeout:?}:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Kills the server without warning (SIGKILL).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn get(&self, path: &str) -> (u16, Value) {
        answer(
            ureq::get(&format!("{}{path}", self.base))
                .timeout(Duration::from_secs(30))
                .call(),
        )
    }

    pub fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        answer(
            ureq::post(&format!("{}{path}", self.base))
                .set("Authorization", &format!("Bearer {TOKEN}"))
                .timeout(Duration::from_secs(30))
                .send_json(body.clone()),
        )
    }

    /// PATCH with the admin token.
    pub fn patch(&self, path: &str, body: &Value) -> (u16, Value) {
        answer(
            ureq::request("PATCH", &format!("{}{path}", self.base))
                .set("Authorization", &format!("Bearer {TOKEN}"))
                .timeout(Duration::from_secs(30))
                .send_json(body.clone()),
        )
    }

    /// DELETE with the admin token.
    pub fn delete(&self, path: &str) -> (u16, Value) {
        answer(
            ureq::delete(&format!("{}{path}", self.base))
                .set("Authorization", &format!("Bearer {TOKEN}"))
                .timeout(Duration::from_secs(30))
                .call(),
        )
    }

    /// The server's process id (for /proc/PID/status and /proc/PID/fd).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

/// A size for a torture or soak test: the environment variable `name` if set (the full-size
/// runs of `scripts/torture`), else the CI-sized `default`.
pub fn size_from_env(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v.parse().unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
        Err(_) => default,
    }
}

/// A seed from the environment variable `name` (to replay a run), else a random one.
pub fn seed_from_env(name: &str) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..))
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

fn answer(r: Result<ureq::Response, ureq::Error>) -> (u16, Value) {
    match r {
        Ok(resp) => {
            let status = resp.status();
            (status, resp.into_json().unwrap_or(Value::Null))
        }
        Err(ureq::Error::Status(status, resp)) => (status, resp.into_json().unwrap_or(Value::Null)),
        Err(e) => (0, Value::String(e.to_string())),
    }
}

/// The Communecter-shaped samples written from the reference.
pub fn samples_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join("communecter-samples.json")
}

/// Comparing Communecter documents.
pub mod communecter {
    use serde_json::{json, Map, Value};

    /// Communecter writes an id as `"…"`, `{"$id"}` or `{"$oid"}`, and an empty map as
    /// `[]`; this writes each the one way CoPi does, so documents compare modulo spelling.
    pub fn normalize(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(s)) = m.get("$oid") {
                    return json!({"$id": s});
                }
                let mut out = Map::new();
                for (k, v) in m {
                    let v = match (k.as_str(), v) {
                        ("_id", Value::String(s)) => json!({"$id": s}),
                        ("links", Value::Array(a)) if a.is_empty() => continue,
                        ("links", Value::Object(types)) => Value::Object(
                            types
                                .iter()
                                .filter(|(_, others)| !matches!(others, Value::Array(a) if a.is_empty()))
                                .map(|(t, others)| (t.clone(), normalize(others)))
                                .collect(),
                        ),
                        _ => normalize(v),
                    };
                    out.insert(k.clone(), v);
                }
                Value::Object(out)
            }
            Value::Array(a) => Value::Array(a.iter().map(normalize).collect()),
            other => other.clone(),
        }
    }

    /// Every field of `input` is in `output` with the same value (`output` may add fields
    /// derived from others, such as `geo` from `geoPosition`).
    pub fn assert_nothing_lost(input: &Value, output: &Value, path: &str) {
        match (input, output) {
            (Value::Object(a), Value::Object(b)) => {
                for (k, v) in a {
                    let other = b.get(k).unwrap_or_else(|| panic!("field {path}.{k} lost"));
                    assert_nothing_lost(v, other, &format!("{path}.{k}"));
                }
            }
            _ => assert_eq!(input, output, "field {path} changed"),
        }
    }
}

/// Reads a JSON file.
pub fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("readable")).expect("JSON")
}

/// `copi export` of a test hub, parsed.
pub fn export_of(dir: &TestDir) -> Value {
    let out = dir.path().join(format!("export-{}.json", fastrand::u32(..)));
    copi_ok(dir, &["export", "--out", out.to_str().expect("utf-8 path")]);
    read_json(&out)
}

/// id → document, for every element and record of an export (records as `news/<id>`, …).
pub fn by_id(export: &Value) -> std::collections::BTreeMap<String, Value> {
    let mut out = std::collections::BTreeMap::new();
    for e in export["elements"].as_array().expect("elements") {
        out.insert(e["id"].as_str().expect("id").to_owned(), e.clone());
    }
    for section in ["news", "comments", "documents"] {
        for r in export[section].as_array().expect("records") {
            out.insert(
                format!("{section}/{}", r["_id"]["$id"].as_str().expect("_id")),
                r.clone(),
            );
        }
    }
    out
}
