//! The sync endpoints of a main instance (mounted by `copi serve --role main` only):
//! `POST /api/v1/sync/hello`, `POST /api/v1/sync/push`, `GET /api/v1/sync/pull`. Bodies
//! are JSON, gzipped when `Content-Encoding: gzip` says so; answers are gzipped when the
//! client accepts it. A hub presents the main's admin token (hub tokens come later). The
//! protocol is in `sync/src/protocol.rs`; the store does the work (`store/sync.rs`).

use rocket::data::{Data, ToByteUnit};
use rocket::fairing::AdHoc;
use rocket::http::{ContentType, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::{self, Responder, Response};
use rocket::State;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{blocking, Admin, ApiResult, Hub};
use crate::error::Error;
use crate::territory::Scope;

/// Largest body on the wire (compressed or not).
const MAX_WIRE_BYTES: u64 = 32 << 20;

/// How the request is encoded and what the client accepts.
pub struct Encoding {
    gzip_body: bool,
    accepts_gzip: bool,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Encoding {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let has = |name: &str| {
            req.headers()
                .get(name)
                .any(|v| v.split(',').any(|p| p.trim().eq_ignore_ascii_case("gzip")))
        };
        Outcome::Success(Encoding {
            gzip_body: has("Content-Encoding"),
            accepts_gzip: has("Accept-Encoding"),
        })
    }
}

/// A JSON answer, gzipped for clients that accept it.
pub struct Packed {
    body: Vec<u8>,
    gzip: bool,
}

impl Packed {
    fn new<T: Serialize>(value: &T, enc: &Encoding) -> ApiResult<Packed> {
        let json = serde_json::to_vec(value).map_err(|e| Error::Corrupt(e.to_string()))?;
        Ok(if enc.accepts_gzip {
            Packed {
                body: copi_sync::gzip::gzip(&json),
                gzip: true,
            }
        } else {
            Packed {
                body: json,
                gzip: false,
            }
        })
    }
}

impl<'r> Responder<'r, 'static> for Packed {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        let mut res = Response::build();
        res.status(Status::Ok).header(ContentType::JSON);
        if self.gzip {
            res.raw_header("Content-Encoding", "gzip");
        }
        res.sized_body(self.body.len(), std::io::Cursor::new(self.body)).ok()
    }
}

async fn read_body<T: DeserializeOwned>(data: Data<'_>, enc: &Encoding) -> ApiResult<T> {
    let bytes = data
        .open(MAX_WIRE_BYTES.bytes())
        .into_bytes()
        .await
        .map_err(Error::io("cannot read the sync request"))?;
    if !bytes.is_complete() {
        return Err(Error::TooLarge(format!("a sync request is limited to {MAX_WIRE_BYTES} bytes")).into());
    }
    let raw = bytes.into_inner();
    let raw = if enc.gzip_body {
        copi_sync::gzip::gunzip(&raw, copi_sync::gzip::MAX_INFLATED)
            .map_err(|e| Error::BadRequest(format!("sync request: {e}")))?
    } else {
        raw
    };
    Ok(serde_json::from_slice(&raw).map_err(|e| Error::BadRequest(format!("sync request: {e}")))?)
}

#[rocket::post("/api/v1/sync/hello", data = "<data>")]
async fn hello(hub: &State<Hub>, admin: Result<Admin, Error>, enc: Encoding, data: Data<'_>) -> ApiResult<Packed> {
    admin?;
    let req: copi_sync::Hello = read_body(data, &enc).await?;
    if req.protocol != copi_sync::protocol::PROTOCOL {
        return Err(Error::BadRequest(format!(
            "sync protocol {} is not spoken here (this main speaks {})",
            req.protocol,
            copi_sync::protocol::PROTOCOL
        ))
        .into());
    }
    let store = hub.store.clone();
    let welcome = blocking(move || store.sync_hello(&req.hub)).await?;
    Packed::new(&welcome, &enc)
}

#[rocket::post("/api/v1/sync/push", data = "<data>")]
async fn push(hub: &State<Hub>, admin: Result<Admin, Error>, enc: Encoding, data: Data<'_>) -> ApiResult<Packed> {
    admin?;
    let req: copi_sync::PushRequest = read_body(data, &enc).await?;
    let store = hub.store.clone();
    let resp = blocking(move || store.sync_accept_push(&req)).await?;
    Packed::new(&resp, &enc)
}

#[rocket::get("/api/v1/sync/pull?<hub>&<since>&<limit>&<scope>")]
async fn pull(
    state: &State<Hub>,
    admin: Result<Admin, Error>,
    enc: Encoding,
    hub: String,
    since: Option<i64>,
    limit: Option<usize>,
    scope: Vec<String>,
) -> ApiResult<Packed> {
    admin?;
    let scopes = scope
        .iter()
        .map(|s| s.parse::<Scope>().map_err(|e| Error::BadRequest(e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    let since = copi_sync::ChangeSeq(since.unwrap_or(0).max(0));
    let limit = limit.unwrap_or(copi_sync::protocol::DEFAULT_BATCH);
    let store = state.store.clone();
    let resp = blocking(move || store.sync_changes_for(&hub, since, limit, &scopes)).await?;
    Packed::new(&resp, &enc)
}

/// The sync endpoints; attached only when serving as a main instance.
pub fn stage() -> AdHoc {
    AdHoc::on_ignite("sync (main role)", |rocket| async {
        rocket.mount("/", rocket::routes![hello, push, pull])
    })
}
