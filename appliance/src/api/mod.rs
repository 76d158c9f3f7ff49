//! The JSON API and the Rocket assembly. Together with `web`, the only place with Rocket
//! types. Handlers are thin: request guards for auth and the store, then a call into the
//! store off the async executor.

pub(crate) mod accounts;
mod auth;
mod body;
pub mod citizens;
pub(crate) mod coop;
mod elements;
mod files;
pub(crate) mod moderation;
pub mod modules;
mod search;
mod status;
pub mod sync;

use std::sync::Arc;
use std::time::Instant;

use rocket::http::{ContentType, Status};
use rocket::response::{self, Responder};
use rocket::serde::json::Json;
use rocket::{Build, Request, Rocket};
use serde_json::{json, Value};

use crate::config::Config;
use crate::error::Error;
use crate::store::Store;

pub(crate) use auth::authenticate_without_csrf;
pub use auth::{Admin, User, Viewer, SESSION_COOKIE};
pub use body::JsonObject;

/// What every handler can reach, kept in Rocket's managed state.
pub struct Hub {
    pub store: Arc<Store>,
    pub search: Arc<crate::search::SearchIndex>,
    pub config: Config,
    pub started: Instant,
    /// The hub's name and home territories (the config file's, or the admin's later choice).
    identity: std::sync::RwLock<Arc<Identity>>,
    /// The captive portal's names.
    pub portal: crate::web::Portal,
    /// Why the config file was not used (the last working one is in force), for the admin.
    pub config_error: Option<String>,
    /// The config file the hub was started with (the setup code lives beside it).
    pub config_file: Option<std::path::PathBuf>,
    /// The modules on now (the config file's, or the admin's later choice).
    pub modules: modules::ModuleSwitch,
    /// Wakes the sync loop ("sync now") and holds the running round's progress.
    pub sync: crate::syncer::SyncControl,
}

impl Hub {
    /// Opens what a hub serves from its config: the store and the search index (rebuilt if
    /// unusable), with the indexer running.
    pub fn open(config: Config) -> crate::error::Result<Hub> {
        let store = Arc::new(Store::open(&config.data)?.with_zone(config.time_zone()));
        let search = Arc::new(crate::search::SearchIndex::open_or_recreate(&config.data)?);
        if search.indexed_seq() > copi_sync::ChangeFeed::last_seq(&*store)? {
            tracing::warn!("search index is ahead of the store (restored data?): rebuilding it");
            search.rebuild(&store, |_| {})?;
        }
        crate::search::spawn_indexer(search.clone(), store.clone());
        let (name, territories) = crate::setup::identity(&store, &config)?;
        let identity = std::sync::RwLock::new(Arc::new(Identity::new(name, territories)));
        let modules = modules::ModuleSwitch::new(&modules::stored(&store)?.unwrap_or_else(|| config.modules.clone()));
        let portal = crate::web::Portal {
            canonical: config.network.lan_name(),
            names: vec![config.network.mdns_name()],
            captive: config.wifi.is_some(),
        };
        Ok(Hub {
            store,
            search,
            config,
            started: Instant::now(),
            identity,
            portal,
            config_error: None,
            config_file: None,
            modules,
            sync: crate::syncer::SyncControl::default(),
        })
    }
}

/// What the hub calls itself and where it is at home.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    pub name: String,
    pub territories: Vec<crate::territory::Scope>,
    /// The home point (latitude, longitude), for ranking by proximity.
    pub home: Option<(f64, f64)>,
}

impl Identity {
    pub fn new(name: String, territories: Vec<crate::territory::Scope>) -> Identity {
        let home = crate::territory::home_point(&territories);
        Identity {
            name,
            territories,
            home,
        }
    }
}

impl Hub {
    /// The hub's name and home territories now.
    pub fn identity(&self) -> Arc<Identity> {
        self.identity.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Puts a new name or home in force, once the store keeps it (`setup::set_identity`).
    pub fn set_identity(&self, name: String, territories: Vec<crate::territory::Scope>) {
        *self.identity.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(Identity::new(name, territories));
    }
}

/// An error as the API answers it: `{"error": {"code", "message"}}` with its status.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl<E: Into<Error>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

impl<'r> Responder<'r, 'static> for ApiError {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let status = Status::from_code(self.0.status()).unwrap_or(Status::InternalServerError);
        if status.code >= 500 {
            tracing::error!(error = %self.0, uri = %req.uri(), "request failed");
        }
        error_response(status, self.0.code(), &self.0.public_message(), req)
    }
}

fn error_response(status: Status, code: &str, message: &str, req: &Request<'_>) -> response::Result<'static> {
    let body = json!({"error": {"code": code, "message": message}});
    response::Response::build_from(Json(body).respond_to(req)?)
        .status(status)
        .header(ContentType::JSON)
        .ok()
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Runs blocking store work on Tokio's blocking pool.
pub async fn blocking<T: Send + 'static>(f: impl FnOnce() -> crate::error::Result<T> + Send + 'static) -> ApiResult<T> {
    match rocket::tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(ApiError),
        Err(e) => Err(ApiError(Error::Corrupt(format!("a worker failed: {e}")))),
    }
}

/// Errors for people (a browser asking for a page) are pages; everything else gets JSON.
#[rocket::catch(default)]
fn default_catcher(
    status: Status,
    req: &Request<'_>,
) -> Result<(Status, Json<Value>), (Status, rocket::response::content::RawHtml<String>)> {
    let wants_html =
        !req.uri().path().starts_with("/api/") && req.headers().get("Accept").any(|a| a.contains("text/html"));
    if let (true, Some(hub)) = (wants_html, req.rocket().state::<Hub>()) {
        return Err((status, crate::web::error_page_for(hub, req, status.code)));
    }
    Ok(json_error(status, req))
}

fn json_error(status: Status, req: &Request<'_>) -> (Status, Json<Value>) {
    let (code, message) = match status.code {
        400 => ("bad_request", "the request is malformed".to_owned()),
        401 => (
            "unauthorized",
            "a valid admin token is required (Authorization: Bearer …)".to_owned(),
        ),
        404 => ("not_found", format!("nothing at {}", req.uri().path())),
        405 => ("method_not_allowed", "method not allowed here".to_owned()),
        413 => ("too_large", "the request body is too large".to_owned()),
        415 => (
            "unsupported_media_type",
            "send JSON (Content-Type: application/json)".to_owned(),
        ),
        422 => ("invalid", "the request could not be understood".to_owned()),
        c if c >= 500 => ("internal", "the hub could not complete the request".to_owned()),
        _ => ("error", status.reason().unwrap_or("error").to_owned()),
    };
    (status, Json(json!({"error": {"code": code, "message": message}})))
}

/// Builds the Rocket instance: managed state, the API routes, JSON catchers.
pub fn rocket(hub: Hub) -> Rocket<Build> {
    let figment = rocket::Config::figment()
        .merge(("address", hub.config.bind.ip()))
        .merge(("port", hub.config.bind.port()))
        .merge(("ident", "CoPi"))
        // Client addresses are the socket peers: a header must not choose a throttling bucket.
        .merge(("ip_header", false))
        .merge(("log_level", rocket::config::LogLevel::Off))
        .merge(("cli_colors", false))
        .merge((
            "limits",
            rocket::data::Limits::default().limit("json", rocket::data::ByteUnit::from(hub.config.limits.json_body)),
        ));
    rocket::custom(figment)
        .manage(hub)
        .register("/", rocket::catchers![default_catcher])
        .attach(status::stage())
        .attach(status::admin_stage())
        .attach(elements::stage())
        .attach(citizens::stage())
        .attach(coop::stage())
        .attach(files::stage())
        .attach(moderation::stage())
        .attach(search::stage())
        .attach(modules::stage())
        .attach(accounts::stage())
        .attach(crate::web::portal_stage())
        .attach(crate::web::stage())
        .attach(crate::web::feeds_stage())
        .attach(crate::web::ContentSecurity)
}

#[cfg(test)]
mod test_hub;
#[cfg(test)]
mod tests;

#[cfg(test)]
#[path = "privacy_tests.rs"]
mod privacy_tests;
