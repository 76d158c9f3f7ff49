//! The README's first command: `copi serve --demo`.

use copi_e2e::{Server, TestDir};
use serde_json::json;

#[test]
fn serve_demo_fills_an_empty_hub_with_every_kind() {
    let dir = TestDir::new();
    let server = Server::start(&dir, &["--demo"]);
    let (status, body) = server.get("/api/v1/status");
    assert_eq!(status, 200, "{body}");
    let total = body["elements_total"].as_u64().unwrap();
    assert!(total >= 300, "{total} elements: {body}");
    for kind in [
        "person",
        "organization",
        "project",
        "event",
        "poi",
        "classified",
        "resource",
    ] {
        assert!(body["elements"][kind].as_u64().unwrap() > 0, "no {kind}: {body}");
    }
    assert!(body["records"]["news"].as_u64().unwrap() > 0);
    assert!(body["records"]["comments"].as_u64().unwrap() > 0);

    let (status, page) = server.get("/api/v1/elements?type=event&scope=dep:26&limit=50");
    assert_eq!(status, 200);
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 50);
    assert!(page["next"].is_string());
    let id = items[0]["id"].as_str().unwrap();
    let (status, one) = server.get(&format!("/api/v1/elements/{id}"));
    assert_eq!((status, &one["id"]), (200, &json!(id)));

    // A second start does not add the demo again.
    drop(server);
    let server = Server::start(&dir, &["--demo"]);
    let (_, again) = server.get("/api/v1/status");
    assert_eq!(again["elements_total"], body["elements_total"]);
}
