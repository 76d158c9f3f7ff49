//! Modules on and off while the hub runs (issue 5): the config file says which modules are
//! on at start (`modules = [...]`); the admin can turn any of them off and on again with
//! `PUT /api/v1/admin/modules`, a choice kept in the store (it outlives restarts and wins
//! over the file). A module that is off disappears from the navigation, its pages and API
//! routes answer 404, and its kinds leave search.
//!
//! | route | does |
//! |---|---|
//! | `GET /api/v1/admin/modules` | `{"modules": {"search": true, …}, "source": "config" or "admin"}` |
//! | `PUT /api/v1/admin/modules` `{"map": false, …}` | turns the named modules on or off; the others keep their state |

use std::sync::atomic::{AtomicU32, Ordering};

use rocket::fairing::AdHoc;
use rocket::serde::json::Json;
use rocket::State;
use serde_json::{json, Map, Value};

use super::{blocking, Admin, ApiResult, Hub, JsonObject};
use crate::config::Module;
use crate::error::Error;
use crate::model::{Kind, ModelError};

/// The store key of the admin's choice.
const SETTING: &str = "modules";

/// Which modules are on, readable from any thread without a lock.
#[derive(Debug)]
pub struct ModuleSwitch(AtomicU32);

fn bit(m: Module) -> u32 {
    let i = Module::ALL.iter().position(|x| *x == m).unwrap_or(0);
    1 << i
}

fn bits(modules: &[Module]) -> u32 {
    modules.iter().fold(0, |acc, m| acc | bit(*m))
}

impl ModuleSwitch {
    pub fn new(on: &[Module]) -> ModuleSwitch {
        ModuleSwitch(AtomicU32::new(bits(on)))
    }

    pub fn is_on(&self, m: Module) -> bool {
        self.0.load(Ordering::Acquire) & bit(m) != 0
    }

    pub fn on(&self) -> Vec<Module> {
        Module::ALL.into_iter().filter(|m| self.is_on(*m)).collect()
    }

    fn set(&self, on: &[Module]) {
        self.0.store(bits(on), Ordering::Release);
    }
}

/// The modules the admin chose, if they ever did (a list of names in the store).
pub fn stored(store: &crate::store::Store) -> crate::error::Result<Option<Vec<Module>>> {
    let Some(text) = store.setting(SETTING)? else {
        return Ok(None);
    };
    // A value this CoPi cannot read (written by a newer one) is ignored, not fatal.
    match serde_json::from_str::<Vec<Module>>(&text) {
        Ok(list) => Ok(Some(list)),
        Err(e) => {
            tracing::warn!(error = %e, "the stored module choice is unreadable: using the config file's");
            Ok(None)
        }
    }
}

/// The module a kind of element belongs to, when one can turn it off.
pub fn module_of(kind: Kind) -> Option<Module> {
    match kind {
        Kind::Event => Some(Module::Agenda),
        Kind::Classified => Some(Module::Marketplace),
        Kind::Resource => Some(Module::MutualAid),
        Kind::Poi => Some(Module::Poi),
        Kind::Person | Kind::Organization | Kind::Project => None,
    }
}

impl Hub {
    /// Whether a module is on now.
    pub fn module_on(&self, m: Module) -> bool {
        self.modules.is_on(m)
    }

    /// Whether elements of a kind are shown (their module is on).
    pub fn kind_on(&self, kind: Kind) -> bool {
        module_of(kind).is_none_or(|m| self.module_on(m))
    }

    /// The kinds whose module is on.
    pub fn kinds_on(&self) -> Vec<Kind> {
        Kind::ALL.into_iter().filter(|k| self.kind_on(*k)).collect()
    }

    /// 404 when the module is off.
    pub fn require(&self, m: Module) -> Result<(), Error> {
        if self.module_on(m) {
            Ok(())
        } else {
            Err(Error::not_found(format!("the {m} module (turned off on this hub)")))
        }
    }
}

fn listing(hub: &Hub, source: &str) -> Value {
    let modules: Map<String, Value> = Module::ALL
        .into_iter()
        .map(|m| (m.as_str().to_owned(), Value::Bool(hub.module_on(m))))
        .collect();
    json!({"modules": modules, "source": source})
}

#[rocket::get("/api/v1/admin/modules")]
async fn get(hub: &State<Hub>, admin: Result<Admin, Error>) -> ApiResult<Json<Value>> {
    admin?;
    let store = hub.store.clone();
    let source = if blocking(move || stored(&store)).await?.is_some() {
        "admin"
    } else {
        "config"
    };
    Ok(Json(listing(hub, source)))
}

#[rocket::put("/api/v1/admin/modules", data = "<body>")]
async fn put(hub: &State<Hub>, admin: Result<Admin, Error>, body: Result<JsonObject, Error>) -> ApiResult<Json<Value>> {
    admin?;
    let body = body?.0;
    if body.is_empty() {
        return Err(Error::from(ModelError::Invalid {
            field: "modules".into(),
            message: "name at least one module, e.g. {\"map\": false}".into(),
        })
        .into());
    }
    let mut on = hub.modules.on();
    // Everything is checked before anything changes.
    let mut wanted = Vec::with_capacity(body.len());
    for (name, value) in &body {
        let module =
            serde_json::from_value::<Module>(Value::String(name.clone())).map_err(|_| ModelError::Invalid {
                field: name.clone(),
                message: format!(
                    "is not a module (one of {})",
                    Module::ALL.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(", ")
                ),
            })?;
        let Value::Bool(state) = value else {
            return Err(Error::from(ModelError::Invalid {
                field: name.clone(),
                message: "must be true or false".into(),
            })
            .into());
        };
        wanted.push((module, *state));
    }
    for (module, state) in wanted {
        on.retain(|m| *m != module);
        if state {
            on.push(module);
        }
    }
    set_modules(hub, on).await?;
    Ok(Json(listing(hub, "admin")))
}

/// Turns exactly these modules on (the others off), keeps the choice in the store.
pub async fn set_modules(hub: &Hub, mut on: Vec<Module>) -> ApiResult<()> {
    on.sort();
    on.dedup();
    let text = serde_json::to_string(&on).map_err(|e| Error::Corrupt(e.to_string()))?;
    let store = hub.store.clone();
    blocking(move || store.set_setting(SETTING, &text)).await?;
    hub.modules.set(&on);
    tracing::info!(modules = ?on, "the admin changed the modules");
    Ok(())
}

pub fn stage() -> AdHoc {
    AdHoc::on_ignite("modules", |rocket| async {
        rocket.mount("/", rocket::routes![get, put])
    })
}

#[cfg(test)]
mod tests {
    use rocket::http::{ContentType, Header, Status};
    use rocket::local::blocking::Client;
    use serde_json::Value;

    use crate::api::{rocket, Hub};
    use crate::config::{Config, Module};

    const TOKEN: &str = "modules-test-admin-token-0123456789";

    fn client(dir: &std::path::Path) -> Client {
        let config = Config {
            data: dir.to_owned(),
            admin_token: Some(TOKEN.into()),
            ..Config::default()
        };
        Client::untracked(rocket(Hub::open(config).unwrap())).unwrap()
    }

    fn put(c: &Client, body: &str, auth: bool) -> (Status, Value) {
        let mut r = c.put("/api/v1/admin/modules").header(ContentType::JSON).body(body);
        if auth {
            r = r.header(Header::new("Authorization", format!("Bearer {TOKEN}")));
        }
        let r = r.dispatch();
        (r.status(), r.into_json().unwrap_or(Value::Null))
    }

    #[test]
    fn the_admin_turns_modules_off_and_on_and_the_choice_stays() {
        let dir = tempfile::tempdir().unwrap();
        {
            let c = client(dir.path());
            assert_eq!(c.get("/map").dispatch().status(), Status::Ok);
            assert!(c.get("/").dispatch().into_string().unwrap().contains("href=\"/map\""));
            // Not the admin, bad names, bad values: refused, nothing changes.
            assert_eq!(put(&c, r#"{"map": false}"#, false).0, Status::Unauthorized);
            assert_eq!(
                put(&c, r#"{"map": false, "blog": false}"#, true).0,
                Status::UnprocessableEntity
            );
            assert_eq!(put(&c, r#"{"map": "no"}"#, true).0, Status::UnprocessableEntity);
            assert_eq!(put(&c, r#"{}"#, true).0, Status::UnprocessableEntity);
            assert_eq!(c.get("/map").dispatch().status(), Status::Ok);

            let (status, body) = put(&c, r#"{"map": false, "marketplace": false, "search": false}"#, true);
            assert_eq!(status, Status::Ok, "{body}");
            assert_eq!(body["modules"]["map"], false);
            assert_eq!(body["modules"]["agenda"], true);
            for off in [
                "/map",
                "/marketplace",
                "/search?q=x",
                "/api/v1/search?q=x",
                "/api/v1/map.geojson",
            ] {
                assert_eq!(c.get(off).dispatch().status(), Status::NotFound, "{off}");
            }
            let home = c.get("/").dispatch().into_string().unwrap();
            assert!(!home.contains("href=\"/map\"") && !home.contains("href=\"/marketplace\""));
            assert!(home.contains("href=\"/agenda\""));
            // Back on: the page answers again.
            assert_eq!(put(&c, r#"{"map": true}"#, true).0, Status::Ok);
            assert_eq!(c.get("/map").dispatch().status(), Status::Ok);
        }
        // The choice is in the store, which a restarted hub reads before the config file.
        let store = crate::store::Store::open(dir.path()).unwrap();
        let on = super::stored(&store).unwrap().expect("stored");
        assert!(on.contains(&Module::Map) && !on.contains(&Module::Marketplace) && !on.contains(&Module::Search));
    }
}
