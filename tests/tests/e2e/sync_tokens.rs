//! Hub tokens and "sync now" with real processes: a main's admin makes a hub token through
//! the API, a serving hub configured with it syncs (woken by `POST /api/v1/admin/sync/now`,
//! its interval being an hour), and once the token is revoked the hub's next round fails
//! with a 401 that its `/api/v1/status` shows (issue 6).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use copi_e2e::{Server, TestDir, TOKEN};
use serde_json::{json, Value};

/// Polls `check` until it gives a value; panics with `what` after a generous deadline.
fn eventually<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(Instant::now() < deadline, "gave up waiting: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn hub_config(hub: &TestDir, base: &str, token: &str) -> PathBuf {
    let path = hub.path().join("hub.toml");
    std::fs::write(
        &path,
        format!(
            "[hub]\nname = \"Hub\"\nterritories = [\"dep:26\"]\n\n[sync]\nmain_url = \"{base}\"\nconnector = \"copi\"\ntoken = \"{token}\"\ninterval = 3600\n"
        ),
    )
    .unwrap();
    path
}

fn delete(server: &Server, path: &str) -> u16 {
    match ureq::delete(&format!("{}{path}", server.base))
        .set("Authorization", &format!("Bearer {TOKEN}"))
        .call()
    {
        Ok(r) => r.status(),
        Err(ureq::Error::Status(s, _)) => s,
        Err(e) => panic!("{e}"),
    }
}

fn get_as_admin(server: &Server, path: &str) -> Value {
    ureq::get(&format!("{}{path}", server.base))
        .set("Authorization", &format!("Bearer {TOKEN}"))
        .call()
        .expect("an answer")
        .into_json()
        .expect("JSON")
}

fn sync_state(hub: &Server) -> Value {
    hub.get("/api/v1/status").1["sync"].clone()
}

#[test]
fn a_hub_syncs_with_a_hub_token_until_it_is_revoked_and_sync_now_wakes_it() {
    let main_dir = TestDir::new();
    let main = Server::start(&main_dir, &["--role", "main"]);
    let (status, made) = main.post("/api/v1/admin/sync/tokens", &json!({"name": "Hub e2e"}));
    assert_eq!(status, 201, "{made}");
    let token = made["token"].as_str().unwrap().to_owned();
    assert_ne!(token, TOKEN);

    let hub_dir = TestDir::new();
    let config = hub_config(&hub_dir, &main.base, &token);
    let hub = Server::start(&hub_dir, &["--config", config.to_str().unwrap()]);
    let instance = hub.get("/api/v1/status").1["instance"].as_str().unwrap().to_owned();

    // The loop's first round, at start, with the hub token.
    let first = eventually("the first round", || {
        let s = sync_state(&hub);
        s["state"]["last_success"].as_i64().map(|_| s)
    });
    assert!(first["state"]["last_error"].is_null(), "{first}");
    assert!(
        first.get("round").is_some(),
        "the status has the running round's place: {first}"
    );
    let list = get_as_admin(&main, "/api/v1/admin/sync/tokens");
    assert_eq!(list["items"][0]["last_hub"], instance.as_str(), "{list}");
    assert!(!list.to_string().contains(&token), "the secret is never listed again");

    // Written on the hub, then "sync now": on the main long before the hour is up.
    let (status, created) = hub.post(
        "/api/v1/elements",
        &json!({"kind": "organization", "type": "NGO", "name": "Association synchronisée tout de suite",
                "address": {"addressLocality": "Crest", "postalCode": "26400", "codeInsee": "26108", "addressCountry": "FR"}}),
    );
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(main.get(&format!("/api/v1/elements/{id}")).0, 404);
    let (status, answer) = hub.post("/api/v1/admin/sync/now", &json!({}));
    assert_eq!(status, 202, "{answer}");
    eventually("the element on the main after sync now", || {
        (main.get(&format!("/api/v1/elements/{id}")).0 == 200).then_some(())
    });
    eventually("the hub acknowledging it", || {
        (sync_state(&hub)["state"]["pending_changes"] == 0).then_some(())
    });

    // Revoked on the main: the hub's next round is refused, and its status says why.
    let token_id = made["id"].as_i64().unwrap();
    assert_eq!(delete(&main, &format!("/api/v1/admin/sync/tokens/{token_id}")), 204);
    let (status, _) = hub.post("/api/v1/admin/sync/now", &json!({}));
    assert_eq!(status, 202);
    let error = eventually("the refused round in the hub's status", || {
        sync_state(&hub)["state"]["last_error"].as_str().map(str::to_owned)
    });
    assert!(error.contains("401"), "{error}");
    assert!(error.contains("revoked"), "says what to do: {error}");

    // A hub with no main configured cannot sync now, and says so.
    let alone_dir = TestDir::new();
    let alone = Server::start(&alone_dir, &[]);
    let (status, answer) = alone.post("/api/v1/admin/sync/now", &json!({}));
    assert_eq!(status, 409, "{answer}");
    assert!(
        answer["error"]["message"].as_str().unwrap().contains("main_url"),
        "{answer}"
    );
}
