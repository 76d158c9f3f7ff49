//! Health and status.

use rocket::fairing::AdHoc;
use rocket::serde::json::Json;
use rocket::State;
use serde_json::{json, Map, Value};

use super::{blocking, ApiResult, Hub, Viewer};

/// 200 when the store answers a query; `"status": "read_only"` when it can be read but not
/// written (a card the kernel made read-only: restarting would not help, the admin must act).
#[rocket::get("/healthz")]
async fn healthz(hub: &State<Hub>) -> ApiResult<Json<Value>> {
    let store = hub.store.clone();
    let read_only = blocking(move || {
        store.read(|c| Ok(c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?))?;
        Ok(store.is_read_only())
    })
    .await?;
    Ok(Json(json!({"status": if read_only { "read_only" } else { "ok" }})))
}

#[rocket::get("/api/v1/status")]
async fn status(hub: &State<Hub>, viewer: Viewer) -> ApiResult<Json<Value>> {
    let store = hub.store.clone();
    let (counts, records, last_seq, sync_state, read_only) = blocking(move || {
        Ok((
            store.count_elements(viewer.0)?,
            store.count_records()?,
            copi_sync::ChangeFeed::last_seq(&*store)?,
            store.sync_status()?,
            store.is_read_only(),
        ))
    })
    .await?;
    let mut elements = Map::new();
    let mut total = 0;
    for (kind, n) in counts {
        elements.insert(kind.as_str().into(), n.into());
        total += n;
    }
    let records: Map<String, Value> = records
        .into_iter()
        .map(|(k, n)| (k.collection().to_owned(), n.into()))
        .collect();
    let sync = &hub.config.sync;
    let identity = hub.identity();
    Ok(Json(json!({
        "name": identity.name,
        "version": env!("CARGO_PKG_VERSION"),
        "instance": hub.store.instance().id,
        "uptime_seconds": hub.started.elapsed().as_secs(),
        // The hub's resident memory now and at its peak (SPEC §8's memory bars), or null.
        "memory": crate::sysinfo::process_memory(),
        "territories": identity.territories.iter().map(|s| json!({"scope": s.to_string(), "label": s.label()})).collect::<Vec<_>>(),
        "elements": elements,
        "elements_total": total,
        "records": records,
        "modules": hub.modules.on().iter().map(|m| m.as_str()).collect::<Vec<_>>(),
        "config_error": if viewer.0 == crate::store::Visibility::All { hub.config_error.clone() } else { None },
        // Read-only: the kernel stopped writes to the card; reads work, writes answer 503.
        "storage": {"read_only": read_only},
        "search": {
            "indexed_seq": hub.search.indexed_seq().0,
            "store_seq": last_seq.0,
            "documents": hub.search.doc_count(),
            "in_memory": hub.search.is_in_memory(),
        },
        "sync": {
            "configured": sync.main_url.is_some(),
            "main_url": sync.main_url,
            "connector": sync.connector,
            "state": sync_state,
            // The round running now (phase, batches and changes so far, bytes, start), or null.
            "round": hub.sync.current(),
            // Whether the loop waits for a route to the main (null: it does not run).
            "offline": hub.sync.offline(),
        },
    })))
}

pub fn stage() -> AdHoc {
    AdHoc::on_ignite("status", |rocket| async {
        rocket.mount("/", rocket::routes![healthz, status])
    })
}

/// `GET /api/v1/admin/system`: the machine, for the admin (disk, temperature, throttling,
/// uptime, network, Wi-Fi clients).
#[rocket::get("/api/v1/admin/system")]
async fn system(hub: &State<Hub>, admin: Result<super::Admin, crate::error::Error>) -> ApiResult<Json<Value>> {
    admin?;
    let data = hub.config.data.clone();
    let info = blocking(move || Ok(crate::sysinfo::Sources::default().collect(&data))).await?;
    Ok(Json(
        serde_json::to_value(info).map_err(|e| crate::error::Error::Corrupt(e.to_string()))?,
    ))
}

/// `GET /api/v1/admin/sync/conflicts`: the conflicts sync settled, newest first, with the
/// losing versions, for the admin to look at (and pick one instead).
#[rocket::get("/api/v1/admin/sync/conflicts")]
async fn conflicts(hub: &State<Hub>, admin: Result<super::Admin, crate::error::Error>) -> ApiResult<Json<Value>> {
    admin?;
    let store = hub.store.clone();
    let list = blocking(move || store.sync_conflicts(200)).await?;
    let items: Vec<Value> = list
        .into_iter()
        .map(|c| json!({"id": c.id, "entity": c.entity, "element": c.entity_id, "peer": c.peer, "kept": c.kept, "losing": c.losing_doc, "at": c.at}))
        .collect();
    Ok(Json(json!({"items": items, "next": null})))
}

/// `POST /api/v1/admin/sync/conflicts/{id}/pick`: the losing version becomes the element's
/// (or the post's, comment's…): its document now.
#[rocket::post("/api/v1/admin/sync/conflicts/<id>/pick")]
async fn pick(hub: &State<Hub>, admin: Result<super::Admin, crate::error::Error>, id: i64) -> ApiResult<Json<Value>> {
    admin?;
    let store = hub.store.clone();
    let (_, doc) = blocking(move || store.pick_sync_loser_entity(id)).await?;
    Ok(Json(doc))
}

/// `POST /api/v1/admin/sync/now`: wakes the sync loop for a round at once (202), or 409 when
/// no main instance is configured. A round already running is not doubled: one follows it.
#[rocket::post("/api/v1/admin/sync/now")]
async fn sync_now(
    hub: &State<Hub>,
    admin: Result<super::Admin, crate::error::Error>,
) -> ApiResult<(rocket::http::Status, Json<Value>)> {
    admin?;
    crate::syncer::request_round_now(&hub.config, &hub.sync)?;
    Ok((
        rocket::http::Status::Accepted,
        Json(json!({"requested": true, "running": hub.sync.current().is_some()})),
    ))
}

pub fn admin_stage() -> AdHoc {
    AdHoc::on_ignite("admin system", |rocket| async {
        rocket.mount("/", rocket::routes![system, conflicts, pick, sync_now])
    })
}
