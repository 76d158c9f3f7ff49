//! Sync of posts, comments and the cooperative space with real processes (issue 6): a
//! person on hub A writes public and non-public things; after rounds, hub B (same
//! territory, same main) sees exactly the public ones through its HTTP API, the main never
//! holds the others, and a deletion on A reaches both.

use std::path::{Path, PathBuf};
use std::time::Duration;

use copi_e2e::{copi_ok, export_of, Server, TestDir, TOKEN};
use serde_json::{json, Value};

fn hub_config(hub: &TestDir, name: &str, base: &str) -> PathBuf {
    let path = hub.path().join("hub.toml");
    std::fs::write(
        &path,
        format!(
            "[hub]\nname = \"{name}\"\nterritories = [\"city:26108\"]\n\n[sync]\nmain_url = \"{base}\"\nconnector = \"copi\"\ntoken = \"{TOKEN}\"\n"
        ),
    )
    .unwrap();
    path
}

fn round(hub: &TestDir, config: &Path) -> Value {
    let out = copi_ok(hub, &["sync", "--once", "--config", config.to_str().unwrap()]);
    serde_json::from_slice(&out.stdout).expect("the round's report as JSON")
}

fn answer(r: Result<ureq::Response, ureq::Error>) -> (u16, Value) {
    match r {
        Ok(resp) => {
            let status = resp.status();
            (status, resp.into_json().unwrap_or(Value::Null))
        }
        Err(ureq::Error::Status(status, resp)) => (status, resp.into_json().unwrap_or(Value::Null)),
        Err(e) => panic!("request failed: {e}"),
    }
}

/// A request with a bearer token (a person's, or the admin's), or none.
fn call(server: &Server, method: &str, path: &str, token: Option<&str>, body: Option<&Value>) -> (u16, Value) {
    let mut req = ureq::request(method, &format!("{}{path}", server.base)).timeout(Duration::from_secs(30));
    if let Some(t) = token {
        req = req.set("Authorization", &format!("Bearer {t}"));
    }
    answer(match body {
        Some(b) => req.send_json(b.clone()),
        None => req.call(),
    })
}

/// Registers a person; returns (person id, token).
fn register(server: &Server, name: &str) -> (String, String) {
    let body = json!({"name": name, "email": format!("{}@example.org", name.to_lowercase()),
                      "password": "un mot de passe assez long"});
    let (status, r) = call(server, "POST", "/api/v1/auth/register", None, Some(&body));
    assert_eq!(status, 201, "{r}");
    (
        r["person"]["id"].as_str().or(r["person"].as_str()).unwrap().to_owned(),
        r["token"].as_str().unwrap().to_owned(),
    )
}

fn created(server: &Server, path: &str, token: &str, body: Value) -> String {
    let (status, r) = call(server, "POST", path, Some(token), Some(&body));
    assert_eq!(status, 201, "POST {path}: {r}");
    r["_id"]["$id"]
        .as_str()
        .or(r["id"].as_str())
        .unwrap_or_else(|| panic!("no id in {r}"))
        .to_owned()
}

fn org(server: &Server, token: &str, name: &str, private: bool) -> String {
    let mut body = json!({"kind": "organization", "type": "NGO", "name": name,
        "address": {"addressLocality": "Crest", "postalCode": "26400", "codeInsee": "26108", "addressCountry": "FR"}});
    if private {
        body["preferences"] = json!({"private": true});
    }
    created(server, "/api/v1/elements", token, body)
}

/// The status of reading `path` anonymously and as the admin.
fn seen(server: &Server, path: &str) -> (u16, u16) {
    (
        call(server, "GET", path, None, None).0,
        call(server, "GET", path, Some(TOKEN), None).0,
    )
}

#[test]
fn public_posts_comments_and_proposals_reach_the_other_hub_and_nothing_else_leaves() {
    let main_dir = TestDir::new();
    let main = Server::start(&main_dir, &["--role", "main"]);
    let (a_dir, b_dir) = (TestDir::new(), TestDir::new());
    let a = Server::start(&a_dir, &[]);
    let b = Server::start(&b_dir, &[]);
    let a_config = hub_config(&a_dir, "Hub A", &main.base);
    let b_config = hub_config(&b_dir, "Hub B", &main.base);

    let (alice, token) = register(&a, "Alice");
    let open = org(&a, &token, "Jardin des Cordeliers", false);
    let closed = org(&a, &token, "Cercle fermé", true);
    let public_post = created(
        &a,
        &format!("/api/v1/elements/{open}/posts"),
        &token,
        json!({"text": "Plantation samedi à 10 h", "audience": "public"}),
    );
    let public_comment = created(
        &a,
        &format!("/api/v1/posts/{public_post}/comments"),
        &token,
        json!({"text": "J'apporte des pelles"}),
    );
    let members_post = created(
        &a,
        &format!("/api/v1/elements/{open}/posts"),
        &token,
        json!({"text": "Le code du portail est 1234", "audience": "members"}),
    );
    let private_element_post = created(
        &a,
        &format!("/api/v1/elements/{closed}/posts"),
        &token,
        json!({"text": "Entre nous", "audience": "public"}),
    );
    let proposal = created(
        &a,
        &format!("/api/v1/elements/{open}/proposals"),
        &token,
        json!({"title": "Acheter un composteur"}),
    );
    let (status, voted) = call(
        &a,
        "PUT",
        &format!("/api/v1/proposals/{proposal}/vote"),
        Some(&token),
        Some(&json!({"vote": "for"})),
    );
    assert_eq!(status, 200, "{voted}");

    for _ in 0..2 {
        round(&a_dir, &a_config);
        round(&b_dir, &b_config);
    }

    // Hub B: the public post, its comment and the proposal (with its count), anonymously.
    let (status, post) = call(&b, "GET", &format!("/api/v1/posts/{public_post}"), None, None);
    assert_eq!(status, 200, "{post}");
    assert_eq!(post["text"], "Plantation samedi à 10 h");
    assert_eq!(post["author"], alice.as_str());
    assert_eq!(post["authorName"], "Alice", "{post}");
    let (status, comments) = call(&b, "GET", &format!("/api/v1/posts/{public_post}/comments"), None, None);
    assert_eq!(status, 200, "{comments}");
    let texts: Vec<&str> = comments["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["text"].as_str())
        .collect();
    assert_eq!(texts, ["J'apporte des pelles"], "{comments}");
    assert!(comments.to_string().contains(&public_comment));
    let (status, p) = call(&b, "GET", &format!("/api/v1/proposals/{proposal}"), None, None);
    assert_eq!(status, 200, "{p}");
    assert_eq!(p["title"], "Acheter un composteur");
    assert!(p.to_string().contains("\"for\":1"), "the vote is counted on B: {p}");
    // Not even B's admin sees what did not leave A.
    for id in [&members_post, &private_element_post] {
        assert_eq!(seen(&b, &format!("/api/v1/posts/{id}")), (404, 404), "{id} on hub B");
        assert_eq!(
            seen(&main, &format!("/api/v1/posts/{id}")),
            (404, 404),
            "{id} on the main"
        );
    }
    assert_eq!(seen(&main, &format!("/api/v1/elements/{closed}")).1, 404);
    // Nor anywhere in the main's store (its export holds every record, private ones too).
    let exported = export_of(&main_dir).to_string();
    for (what, text) in [
        ("members-only post", "code du portail"),
        ("private element's post", "Entre nous"),
    ] {
        assert!(!exported.contains(text), "the {what} reached the main");
    }
    assert!(exported.contains("J'apporte des pelles"), "the export holds records");
    assert_eq!(seen(&main, &format!("/api/v1/posts/{public_post}")), (200, 200));
    // B's journal of the element: the public post only.
    let (status, journal) = call(&b, "GET", &format!("/api/v1/elements/{open}/posts"), Some(TOKEN), None);
    assert_eq!(status, 200, "{journal}");
    let items = journal["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{journal}");

    // Deleted on A: gone from the main and from B, with its comment.
    let (status, r) = call(
        &a,
        "DELETE",
        &format!("/api/v1/posts/{public_post}"),
        Some(&token),
        None,
    );
    assert!(status == 200 || status == 204, "{status} {r}");
    for _ in 0..2 {
        round(&a_dir, &a_config);
        round(&b_dir, &b_config);
    }
    assert_eq!(seen(&main, &format!("/api/v1/posts/{public_post}")), (404, 404));
    assert_eq!(seen(&b, &format!("/api/v1/posts/{public_post}")), (404, 404));
    for (dir, side) in [(&main_dir, "main"), (&b_dir, "hub B")] {
        let exported = export_of(dir).to_string();
        assert!(!exported.contains(&public_comment), "the comment stays on the {side}");
        assert!(!exported.contains("Plantation samedi"), "the post stays on the {side}");
    }
    // A quiet round moves nothing.
    let quiet = round(&a_dir, &a_config);
    assert_eq!(quiet["pushed_changes"], 0, "{quiet}");
    assert_eq!(quiet["applied"], 0, "{quiet}");
}
