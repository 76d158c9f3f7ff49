//! The sync endpoints of a main instance (mounted by `copi serve --role main` only):
//! `POST /api/v1/sync/hello`, `POST /api/v1/sync/push`, `GET /api/v1/sync/pull`. Bodies
//! are JSON, gzipped when `Content-Encoding: gzip` says so; answers are gzipped when the
//! client accepts it. A hub presents the main's admin token or a live hub token that the
//! main's admin made ([`SyncCaller`]); a revoked or unknown token gets 401. The protocol is
//! in `sync/src/protocol.rs`; the store does the work (`store/sync.rs`).
//!
//! Hub tokens, with the admin token (mounted with the sync endpoints, so on a main only):
//!
//! | route | does |
//! |---|---|
//! | `POST /api/v1/admin/sync/tokens` `{"name"}` | 201 `{id, name, created, token}`: the secret, shown this once |
//! | `GET /api/v1/admin/sync/tokens` | `{items: [{id, name, created, last_used, last_hub, revoked}], next: null}`, newest first |
//! | `DELETE /api/v1/admin/sync/tokens/{id}` | 204: refused from the next request on; 404 if there is no such token |

use rocket::data::{Data, ToByteUnit};
use rocket::fairing::AdHoc;
use rocket::http::{ContentType, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::{self, Responder, Response};
use rocket::serde::json::Json;
use rocket::State;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};

use super::{blocking, Admin, ApiResult, Hub, JsonObject};
use crate::accounts::TokenSecret;
use crate::error::Error;
use crate::model::ModelError;
use crate::store::{HubToken, HubTokenUse, Store};
use crate::territory::Scope;

/// Managed when the sync endpoints are mounted: this instance serves as a main.
#[derive(Debug)]
pub struct MainRole;

/// Whether this instance serves as a main (`serve --role main`); a guard that never fails.
#[derive(Debug, Clone, Copy)]
pub struct ServesAsMain(pub bool);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ServesAsMain {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        Outcome::Success(ServesAsMain(req.rocket().state::<MainRole>().is_some()))
    }
}

/// Who may sync with this main: the caller presented the main's admin token or a live hub
/// token. Anything else is 401 `unauthorized`, a token revoked a moment ago included.
#[derive(Debug)]
pub enum SyncCaller {
    Admin,
    Hub(HubTokenUse),
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for SyncCaller {
    type Error = Error;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        if let Outcome::Success(Admin) = req.guard::<Admin>().await {
            return Outcome::Success(SyncCaller::Admin);
        }
        let refused = || Outcome::Error((Status::Unauthorized, Error::Unauthorized));
        let (Some(hub), Some(secret)) = (
            req.rocket().state::<Hub>(),
            req.headers()
                .get_one("Authorization")
                .and_then(|h| h.strip_prefix("Bearer "))
                .and_then(TokenSecret::parse),
        ) else {
            return refused();
        };
        let store = hub.store.clone();
        match blocking(move || store.authenticate_hub_token(&secret.hash())).await {
            Ok(Some(used)) => Outcome::Success(SyncCaller::Hub(used)),
            Ok(None) => refused(),
            Err(e) => Outcome::Error((
                Status::from_code(e.0.status()).unwrap_or(Status::InternalServerError),
                e.0,
            )),
        }
    }
}

impl SyncCaller {
    /// Notes which hub used its token (for the admin's list). Informational: a failure to
    /// note it (a full card) does not refuse the sync.
    fn note(&self, store: &Store, hub: &str) {
        if let SyncCaller::Hub(used) = self {
            if let Err(e) = store.note_hub_token_use(used, hub) {
                tracing::warn!(error = %e, "cannot note a hub token's use");
            }
        }
    }
}

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
async fn hello(
    hub: &State<Hub>,
    caller: Result<SyncCaller, Error>,
    enc: Encoding,
    data: Data<'_>,
) -> ApiResult<Packed> {
    let caller = caller?;
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
    let welcome = blocking(move || {
        caller.note(&store, &req.hub);
        store.sync_hello(&req.hub)
    })
    .await?;
    Packed::new(&welcome, &enc)
}

#[rocket::post("/api/v1/sync/push", data = "<data>")]
async fn push(hub: &State<Hub>, caller: Result<SyncCaller, Error>, enc: Encoding, data: Data<'_>) -> ApiResult<Packed> {
    let caller = caller?;
    let req: copi_sync::PushRequest = read_body(data, &enc).await?;
    let store = hub.store.clone();
    let resp = blocking(move || {
        caller.note(&store, &req.hub);
        store.sync_accept_push(&req)
    })
    .await?;
    Packed::new(&resp, &enc)
}

#[rocket::get("/api/v1/sync/pull?<hub>&<since>&<limit>&<scope>")]
async fn pull(
    state: &State<Hub>,
    caller: Result<SyncCaller, Error>,
    enc: Encoding,
    hub: String,
    since: Option<i64>,
    limit: Option<usize>,
    scope: Vec<String>,
) -> ApiResult<Packed> {
    let caller = caller?;
    let scopes = scope
        .iter()
        .map(|s| s.parse::<Scope>().map_err(|e| Error::BadRequest(e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    let since = copi_sync::ChangeSeq(since.unwrap_or(0).max(0));
    let limit = limit.unwrap_or(copi_sync::protocol::DEFAULT_BATCH);
    let store = state.store.clone();
    let resp = blocking(move || {
        caller.note(&store, &hub);
        store.sync_changes_for(&hub, since, limit, &scopes)
    })
    .await?;
    Packed::new(&resp, &enc)
}

/// A hub token as the API lists it.
fn token_json(t: &HubToken) -> Value {
    json!({"id": t.id, "name": t.name, "created": t.created, "last_used": t.last_used,
           "last_hub": t.last_hub, "revoked": t.revoked})
}

/// Makes a hub token named `name`: what the store keeps, and the secret to show once.
pub(crate) fn create_hub_token(store: &Store, name: &str) -> crate::error::Result<(HubToken, String)> {
    let secret = TokenSecret::generate()?;
    let token = store.create_hub_token(name, &secret.hash())?;
    tracing::info!(id = token.id, name = %token.name, "hub token created");
    Ok((token, secret.encode()))
}

/// Revokes a hub token; `NotFound` if there is no such token.
pub(crate) fn revoke_hub_token(store: &Store, id: i64) -> crate::error::Result<()> {
    match store.revoke_hub_token(id)? {
        None => Err(Error::not_found(format!("hub token {id}"))),
        Some(was_live) => {
            if was_live {
                tracing::info!(id, "hub token revoked");
            }
            Ok(())
        }
    }
}

#[rocket::post("/api/v1/admin/sync/tokens", data = "<body>")]
async fn create_token(
    hub: &State<Hub>,
    admin: Result<Admin, Error>,
    body: Result<JsonObject, Error>,
) -> ApiResult<(Status, Json<Value>)> {
    admin?;
    let body = body?.0;
    let name = match body.get("name") {
        Some(Value::String(s)) => s.clone(),
        _ => {
            return Err(Error::Invalid(ModelError::Invalid {
                field: "name".into(),
                message: "is required: a text naming the hub the token is for".into(),
            })
            .into())
        }
    };
    let store = hub.store.clone();
    let (token, secret) = blocking(move || create_hub_token(&store, &name)).await?;
    let mut out = token_json(&token);
    out["token"] = Value::String(secret);
    Ok((Status::Created, Json(out)))
}

#[rocket::get("/api/v1/admin/sync/tokens")]
async fn list_tokens(hub: &State<Hub>, admin: Result<Admin, Error>) -> ApiResult<Json<Value>> {
    admin?;
    let store = hub.store.clone();
    let tokens = blocking(move || store.hub_tokens()).await?;
    Ok(Json(
        json!({"items": tokens.iter().map(token_json).collect::<Vec<_>>(), "next": null}),
    ))
}

#[rocket::delete("/api/v1/admin/sync/tokens/<id>")]
async fn revoke_token(hub: &State<Hub>, admin: Result<Admin, Error>, id: i64) -> ApiResult<Status> {
    admin?;
    let store = hub.store.clone();
    blocking(move || revoke_hub_token(&store, id)).await?;
    Ok(Status::NoContent)
}

/// The sync endpoints and the hub tokens' routes; attached only when serving as a main
/// instance.
pub fn stage() -> AdHoc {
    AdHoc::on_ignite("sync (main role)", |rocket| async {
        rocket.manage(MainRole).mount(
            "/",
            rocket::routes![hello, push, pull, create_token, list_tokens, revoke_token],
        )
    })
}

#[cfg(test)]
#[path = "sync_tests.rs"]
mod tests;
