//! The `communecter` connector: a hub syncing with a Communecter main instance through that
//! instance's own API (see `../shared/ref/communecter-model.md`), pure over two ports — the
//! [`Upstream`] (HTTP, in the appliance) and the [`ListingStore`] (the hub's store) — so
//! the whole protocol is tested here with fakes.
//!
//! Communecter has no change feed, no "modified since" and no tombstones, so a pull lists
//! each home territory, collection by collection, page by page
//! (`POST /co2/search/globalautocomplete` with a `locality` scope, `indexMin`/`indexStep`),
//! and compares what it sees with what it saw last time (per main, territory and
//! collection: each id with a fingerprint of its listed entry):
//!
//! - an id that is new or whose fingerprint changed is fetched in full with the
//!   authenticated `GET /co2/element/get/type/<collection>/id/<id>` (the listing is a
//!   reduced view) and becomes a change;
//! - ids seen before and absent from a **complete** listing of the territory are only
//!   candidates: each is confirmed with the same full get, and becomes a deletion only if
//!   the main answers that it is gone (404 or its "Unknown (deleted)" ghost) or private. An
//!   element still there (offset paging over a list that changed under it can skip one, or
//!   it moved away) is refreshed and forgotten for that territory, never deleted.
//!
//! **Resumable, and exactly as far as the hub applied.** The round applies each pull answer
//! with its checkpoint in one transaction; here the checkpoint is a step counter. What a
//! pull learnt (fingerprints, listing cursors) is *staged* under the step of its answer, and
//! settled at the next pull: steps up to the hub's checkpoint were applied and are kept,
//! later ones (an answer lost in a cut) are dropped and listed again. So a round cut
//! anywhere resumes where the hub really was, and deletions are looked for only once a
//! listing finished in an earlier, applied step.
//!
//! Memory is bounded by a pull's pages (at most [`MAX_PAGES`] of [`MAX_PAGE`] entries) and
//! its changes (the round's batch size), whatever the territory holds.
//!
//! **Pushes** send what [`crate::Replica::outgoing`] yields (public elements of this hub's
//! origin only; private ones stay home): an element is saved with its id through
//! `POST /co2/element/save` (which creates it under that id when new), as PHP form fields
//! restricted to the fields Communecter's data binding accepts (it refuses unknown ones);
//! a withdrawal goes to `POST /co2/element/delete/type/<collection>/id/<id>`. Persons are
//! not pushed: on Communecter a person is an account, made by registering.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use crate::protocol::{PullRequest, PullResponse, PushRequest, PushResponse, Welcome, WireChange, PROTOCOL};
use crate::round::{Connector, ConnectorError, Traffic};
use crate::{ChangeOp, ChangeSeq, EntityKind, Hello};

/// The collections a hub pulls, in listing order. Mutual-aid resources live in
/// `classifieds` with `type: "ressources"` (how Communecter's 2018 forms save them).
pub const COLLECTIONS: &[&str] = &["citoyens", "organizations", "projects", "events", "poi", "classifieds"];

/// Largest listing page asked for (`indexStep`).
pub const MAX_PAGE: usize = 100;

/// Listing pages one pull looks at, at most.
pub const MAX_PAGES: usize = 10;

/// Fields the search adds to each result, or that change without the element changing
/// (`updatedLbl` is "il y a 3 minutes"): left out of fingerprints.
const VOLATILE: &[&str] = &["updatedLbl", "sorting", "typeSig", "isFollowed", "counts"];

/// Fields `/co2/element/get` adds to the stored document: not part of the element.
const RESPONSE_ONLY: &[&str] = &["counts", "typeSig"];

/// A malformed answer, or a document that cannot be mapped. The message says what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MappingError(pub String);

impl From<MappingError> for ConnectorError {
    fn from(e: MappingError) -> ConnectorError {
        ConnectorError::Protocol(e.0)
    }
}

fn bad(message: impl Into<String>) -> MappingError {
    MappingError(message.into())
}

/// The controller key Communecter's `/co2/element/save` wants beside the collection.
pub fn controller_key(collection: &str) -> Option<&'static str> {
    Some(match collection {
        "citoyens" => "person",
        "organizations" => "organization",
        "projects" => "project",
        "events" => "event",
        "poi" => "poi",
        "classifieds" => "classified",
        _ => return None,
    })
}

fn is_collection(s: &str) -> bool {
    controller_key(s).is_some()
}

/// Ids as CoPi accepts them (Communecter's are 24 hex digits).
fn valid_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

// ---------------------------------------------------------------------------------------
// Credentials

/// How the hub authenticates to a Communecter main, from `[sync] token`:
///
/// - `USERID:TOKEN`: a personal access token, sent as `X-User-Id` and `X-Auth-Token`
///   (the user id is the account's 24-hex-digit ObjectId);
/// - `basic:LOGIN:PASSWORD`: HTTP Basic with the account's email (or username) and password.
#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    Token { user_id: String, token: String },
    Basic { login: String, password: String },
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::Token { user_id, .. } => write!(f, "Auth::Token({user_id}, …)"),
            Auth::Basic { login, .. } => write!(f, "Auth::Basic({login}, …)"),
        }
    }
}

impl Auth {
    pub fn parse(text: &str) -> Result<Auth, String> {
        let usage = "sync.token for the communecter connector must be USERID:TOKEN (the Communecter account's \
                     id, 24 hex digits, and a personal access token) or basic:LOGIN:PASSWORD (HTTP Basic)";
        let text = text.trim();
        if let Some(rest) = text.strip_prefix("basic:") {
            let (login, password) = rest.split_once(':').ok_or_else(|| usage.to_owned())?;
            if login.is_empty() || password.is_empty() {
                return Err(usage.into());
            }
            return Ok(Auth::Basic {
                login: login.into(),
                password: password.into(),
            });
        }
        let (user_id, token) = text.split_once(':').ok_or_else(|| usage.to_owned())?;
        if user_id.len() != 24 || !user_id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("{usage}; \"{user_id}\" is not a user id"));
        }
        if token.is_empty() || token.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!("{usage}; the token is empty or has spaces"));
        }
        Ok(Auth::Token {
            user_id: user_id.into(),
            token: token.into(),
        })
    }
}

// ---------------------------------------------------------------------------------------
// Territories

/// A Communecter search scope (`locality[<key>]` of `globalautocomplete`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Locality {
    /// A commune by its `cities._id`: matches `address.localityId`.
    City { id: String, name: String },
    /// A zone of level 1–4 (`level3` ≈ région, `level4` ≈ département in France).
    Level { level: u8, id: String },
    /// A postal code (prefix match on `address.postalCode`) in a country.
    PostalCode { code: String, country: String },
}

impl Locality {
    /// The form fields of the scope, keyed as Communecter's front end keys them.
    pub fn form(&self) -> Vec<(String, String)> {
        let (key, fields): (String, Vec<(&str, String)>) = match self {
            Locality::City { id, name } => (
                format!("{id}cities"),
                vec![
                    ("type", "cities".into()),
                    ("id", id.clone()),
                    ("name", name.clone()),
                    ("active", "true".into()),
                ],
            ),
            Locality::Level { level, id } => (
                format!("{id}level{level}"),
                vec![
                    ("type", format!("level{level}")),
                    ("id", id.clone()),
                    ("level", level.to_string()),
                    ("active", "true".into()),
                ],
            ),
            Locality::PostalCode { code, country } => (
                format!("{code}{country}"),
                vec![
                    ("type", "cp".into()),
                    ("name", code.clone()),
                    ("countryCode", country.clone()),
                    ("active", "true".into()),
                ],
            ),
        };
        fields
            .into_iter()
            .map(|(k, v)| (format!("locality[{key}][{k}]"), v))
            .collect()
    }
}

/// How a hub territory (`city:`, `cp:`, `dep:`, `region:`) is asked for upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeQuery {
    /// Directly a search scope (postal codes).
    Direct(Locality),
    /// Look the commune up (`/api/city/get/insee/<insee>`), then search by its id.
    City { insee: String },
    /// Look a commune of the department up, then search by its `level4` zone.
    Department { code: String },
    /// Look a commune of the region up, then search by its `level3` zone.
    Region { code: String },
}

pub fn scope_query(scope: &str) -> Result<ScopeQuery, MappingError> {
    let (kind, code) = scope
        .split_once(':')
        .filter(|(_, c)| !c.is_empty() && c.len() <= 16 && c.bytes().all(|b| b.is_ascii_alphanumeric()))
        .ok_or_else(|| {
            bad(format!(
                "territory \"{scope}\" must look like city:, cp:, dep: or region:"
            ))
        })?;
    Ok(match kind {
        "city" => ScopeQuery::City { insee: code.into() },
        "cp" => ScopeQuery::Direct(Locality::PostalCode {
            code: code.into(),
            country: "FR".into(),
        }),
        "dep" => ScopeQuery::Department { code: code.into() },
        "region" => ScopeQuery::Region { code: code.into() },
        _ => return Err(bad(format!("territory \"{scope}\" is not city:, cp:, dep: or region:"))),
    })
}

/// A commune as the public API gives it: its id and the zones it lies in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CityRef {
    pub id: String,
    pub name: String,
    /// `level1` … `level4` zone ids, where given.
    pub levels: [Option<String>; 4],
    /// Their names.
    pub level_names: [Option<String>; 4],
}

impl CityRef {
    /// The search scope for `query` once this commune is known.
    pub fn locality(&self, query: &ScopeQuery) -> Result<Locality, MappingError> {
        let level = |n: u8| {
            self.levels[usize::from(n - 1)]
                .clone()
                .map(|id| Locality::Level { level: n, id })
                .ok_or_else(|| bad(format!("the main gives commune {} no level{n} zone", self.id)))
        };
        match query {
            ScopeQuery::Direct(l) => Ok(l.clone()),
            ScopeQuery::City { .. } => Ok(Locality::City {
                id: self.id.clone(),
                name: self.name.clone(),
            }),
            ScopeQuery::Department { .. } => level(4),
            ScopeQuery::Region { .. } => level(3),
        }
    }
}

/// Reads `GET /api/city/get/insee/<insee>`: `{"meta":…, "entities":{"<id>":{…}}}`.
/// `None` when the main knows no such commune.
pub fn parse_city(body: &Value, insee: &str) -> Result<Option<CityRef>, MappingError> {
    let entities = body
        .get("entities")
        .ok_or_else(|| bad("the city answer has no \"entities\""))?;
    let pick = |id: &str, city: &Value| -> Result<CityRef, MappingError> {
        let id = city.get("_id").and_then(object_id).unwrap_or(id).to_owned();
        if !valid_id(&id) {
            return Err(bad(format!("commune {insee}: \"{id}\" is not an id")));
        }
        let text = |k: &str| {
            city.get(k)
                .or_else(|| city.get("address").and_then(|a| a.get(k)))
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        Ok(CityRef {
            name: text("name").unwrap_or_default(),
            levels: [text("level1"), text("level2"), text("level3"), text("level4")],
            level_names: [
                text("level1Name"),
                text("level2Name"),
                text("level3Name"),
                text("level4Name"),
            ],
            id,
        })
    };
    match entities {
        Value::Object(m) => m.iter().next().map(|(id, c)| pick(id, c)).transpose(),
        Value::Array(a) => a.first().map(|c| pick("", c)).transpose(),
        _ => Err(bad("the city answer's \"entities\" is not an object")),
    }
}

// ---------------------------------------------------------------------------------------
// Listings

/// One element of a listing page: its id and the fingerprint of its listed entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub id: String,
    pub fingerprint: String,
}

fn object_id(v: &Value) -> Option<&str> {
    match v {
        Value::String(s) => Some(s),
        Value::Object(m) => m.get("$id").or_else(|| m.get("$oid")).and_then(Value::as_str),
        _ => None,
    }
}

/// Reads a `globalautocomplete` answer: `{"results":{"<id>":{…}}, "count":{…}}` (PHP
/// writes an empty map as `[]`; a list of results is read too).
pub fn parse_search(body: &Value) -> Result<Vec<Listed>, MappingError> {
    let results = body
        .get("results")
        .ok_or_else(|| bad("the search answer has no \"results\""))?;
    let entry = |key: Option<&str>, v: &Value| -> Result<Listed, MappingError> {
        let Value::Object(m) = v else {
            return Err(bad("a search result is not an object"));
        };
        let id = m.get("_id").and_then(object_id).or(key).unwrap_or_default();
        if !valid_id(id) {
            return Err(bad(format!("search result \"{id}\" has no valid id")));
        }
        if let (Some(key), Some(inner)) = (key, m.get("_id").and_then(object_id)) {
            if key != inner {
                return Err(bad(format!("search result \"{key}\" carries the id \"{inner}\"")));
            }
        }
        Ok(Listed {
            id: id.to_owned(),
            fingerprint: fingerprint(m),
        })
    };
    match results {
        Value::Object(m) => m.iter().map(|(k, v)| entry(Some(k), v)).collect(),
        Value::Array(a) => a.iter().map(|v| entry(None, v)).collect(),
        _ => Err(bad("the search answer's \"results\" is not an object")),
    }
}

/// A fingerprint of a listed entry: a 64-bit FNV-1a hash of its fields (keys sorted,
/// volatile ones left out). It covers `updated` (int seconds) and `modified`, and every
/// listed field, so an edit within the second is seen when it shows in the listing.
pub fn fingerprint(entry: &Map<String, Value>) -> String {
    let mut h = Fnv::new();
    let mut keys: Vec<&String> = entry.keys().filter(|k| !VOLATILE.contains(&k.as_str())).collect();
    keys.sort();
    for k in keys {
        h.write(k.as_bytes());
        h.write(b"=");
        hash_value(&entry[k], &mut h);
    }
    format!("{:016x}", h.0)
}

struct Fnv(u64);

impl Fnv {
    fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

fn hash_value(v: &Value, h: &mut Fnv) {
    match v {
        Value::Null => h.write(b"n"),
        Value::Bool(b) => h.write(if *b { b"t" } else { b"f" }),
        Value::Number(n) => {
            h.write(b"#");
            h.write(n.to_string().as_bytes());
        }
        Value::String(s) => {
            h.write(b"\"");
            h.write(&(s.len() as u64).to_le_bytes());
            h.write(s.as_bytes());
        }
        Value::Array(a) => {
            h.write(b"[");
            for x in a {
                hash_value(x, h);
                h.write(b",");
            }
            h.write(b"]");
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            h.write(b"{");
            for k in keys {
                h.write(&(k.len() as u64).to_le_bytes());
                h.write(k.as_bytes());
                hash_value(&m[k], h);
            }
            h.write(b"}");
        }
    }
}

// ---------------------------------------------------------------------------------------
// Full documents

/// What the authenticated full get says of an element.
#[derive(Debug, Clone, PartialEq)]
pub enum Fetched {
    /// Public: the document in CoPi's shape (`id`, `collection`, every stored field).
    Public(Value),
    /// It exists but is private: it must not be (or stay) on the hub.
    Private,
    /// Removed (404, no map, or Communecter's "Unknown (deleted)" ghost).
    Gone,
}

/// Reads `/co2/element/get/type/<collection>/id/<id>`: `{"result":true,"map":{…}}`.
pub fn parse_element(body: &Value, collection: &str, id: &str) -> Result<Fetched, MappingError> {
    let Value::Object(envelope) = body else {
        return Err(bad(format!("element {id}: the answer is not a JSON object")));
    };
    match envelope.get("result") {
        Some(Value::Bool(true)) => {}
        Some(Value::String(s)) if s == "true" => {}
        // A refusal is not a deletion: it may be an expired session.
        Some(_) => {
            let msg = envelope.get("msg").and_then(Value::as_str).unwrap_or("no reason given");
            return Err(bad(format!("element {collection}/{id} refused: {msg}")));
        }
        None => return Err(bad(format!("element {collection}/{id}: the answer has no \"result\""))),
    }
    let map = match envelope.get("map") {
        None | Some(Value::Null) => return Ok(Fetched::Gone),
        Some(Value::Array(a)) if a.is_empty() => return Ok(Fetched::Gone),
        Some(Value::Object(m)) => m,
        Some(_) => return Err(bad(format!("element {collection}/{id}: \"map\" is not an object"))),
    };
    let ghost = map.get("name").and_then(Value::as_str) == Some("Unknown (deleted)")
        || map.get("slug").and_then(Value::as_str) == Some("unknown");
    if ghost || map.is_empty() {
        return Ok(Fetched::Gone);
    }
    match map.get("_id").map(|v| object_id(v).ok_or(v)) {
        Some(Ok(got)) if got == id => {}
        Some(Ok(got)) => return Err(bad(format!("element {collection}/{id} came back as \"{got}\""))),
        Some(Err(v)) => return Err(bad(format!("element {collection}/{id}: _id {v} is not an id"))),
        None => {}
    }
    if is_private(map) {
        return Ok(Fetched::Private);
    }
    Ok(Fetched::Public(to_copi(map, collection, id)))
}

fn is_private(doc: &Map<String, Value>) -> bool {
    match doc.get("preferences").and_then(|p| p.get("private")) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true" || s == "1",
        Some(Value::Number(n)) => n.as_i64() == Some(1),
        _ => false,
    }
}

/// A stored Communecter document in CoPi's shape: `_id` becomes `id`, the collection is
/// named, every other field is kept as it is, but for the few types PHP forms turn into
/// strings that CoPi checks (a numeric `price`, `geoPosition` coordinates, `geo` numbers).
pub fn to_copi(map: &Map<String, Value>, collection: &str, id: &str) -> Value {
    let mut out = Map::with_capacity(map.len() + 2);
    out.insert("id".into(), Value::String(id.into()));
    out.insert("collection".into(), Value::String(collection.into()));
    for (k, v) in map {
        if k == "_id" || k == "id" || k == "collection" || k == "kind" || RESPONSE_ONLY.contains(&k.as_str()) {
            continue;
        }
        out.insert(k.clone(), v.clone());
    }
    if let Some(Value::String(p)) = out.get("price") {
        if let Ok(n) = p.trim().parse::<i64>() {
            out.insert("price".into(), Value::from(n));
        } else if let Some(n) = p.trim().parse::<f64>().ok().and_then(serde_json::Number::from_f64) {
            out.insert("price".into(), Value::Number(n));
        }
    }
    if let Some(Value::Array(coords)) = out.get_mut("geoPosition").and_then(|g| g.get_mut("coordinates")) {
        for c in coords.iter_mut() {
            if let Some(n) = c.as_str().and_then(|s| s.trim().parse::<f64>().ok()) {
                if let Some(n) = serde_json::Number::from_f64(n) {
                    *c = Value::Number(n);
                }
            }
        }
    }
    if let Some(Value::Object(geo)) = out.get_mut("geo") {
        for k in ["latitude", "longitude"] {
            if let Some(Value::Number(n)) = geo.get(k) {
                let s = n.to_string();
                geo.insert(k.into(), Value::String(s));
            }
        }
    }
    Value::Object(out)
}

// ---------------------------------------------------------------------------------------
// Pushes

/// The INSEE code of an outgoing element's address that lacks Communecter's commune id
/// (`address.localityId`), which the main's address validation requires.
pub fn address_to_complete(doc: &Value) -> Option<&str> {
    let address = doc.get("address")?;
    let has = |k: &str| address.get(k).and_then(Value::as_str).is_some_and(|s| !s.is_empty());
    if has("localityId") || has("osmID") {
        return None;
    }
    address
        .get("codeInsee")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// Adds the commune's id and zones (`localityId`, `levelN`, `levelNName`) to an address
/// that lacks them, as Communecter's own forms fill them in; fields present are kept.
pub fn complete_address(doc: &mut Value, city: &CityRef) {
    let Some(Value::Object(address)) = doc.get_mut("address") else {
        return;
    };
    address
        .entry("localityId")
        .or_insert_with(|| Value::String(city.id.clone()));
    for n in 0..4 {
        if let Some(id) = &city.levels[n] {
            address
                .entry(format!("level{}", n + 1))
                .or_insert_with(|| Value::String(id.clone()));
        }
        if let Some(name) = &city.level_names[n] {
            address
                .entry(format!("level{}Name", n + 1))
                .or_insert_with(|| Value::String(name.clone()));
        }
    }
}

/// Fields every element's data binding accepts (`Organization`, `Project`, `Event`, `Poi`,
/// `Classified` `$dataBinding`). The server sets `creator`, `created`, `updated`,
/// `modified`; images come with uploads; links with `/co2/link/*`.
const COMMON_FIELDS: &[&str] = &[
    "name",
    "slug",
    "email",
    "type",
    "shortDescription",
    "description",
    "descriptionHTML",
    "tags",
    "url",
    "urls",
    "contacts",
    "telephone",
    "socialNetwork",
    "address",
    "addresses",
    "geo",
    "geoPosition",
    "preferences",
    "source",
    "parentId",
    "parentType",
];

fn kind_fields(collection: &str) -> &'static [&'static str] {
    match collection {
        "organizations" => &[
            "category",
            "typeIntervention",
            "typeOfPublic",
            "video",
            "urlFacebook",
            "urlTwitter",
            "urlWiki",
            "urlImg",
        ],
        "projects" => &["startDate", "endDate", "licence", "properties", "public"],
        "events" => &[
            "startDate",
            "endDate",
            "allDay",
            "organizerId",
            "organizerType",
            "organizer",
            "parent",
            "public",
        ],
        "poi" => &["section", "subtype", "media", "medias"],
        "classifieds" => &[
            "section",
            "category",
            "subtype",
            "price",
            "devise",
            "contactInfo",
            "public",
        ],
        _ => &[],
    }
}

/// One `POST /co2/element/save`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaveRequest {
    pub collection: &'static str,
    pub id: String,
    /// Every form field, `collection`, `key` and `id` first.
    pub form: Vec<(String, String)>,
}

/// Where a CoPi element goes upstream: its collection (resources travel as classifieds),
/// or `None` for what is not pushed (persons).
pub fn upstream_collection(doc: &Value) -> Result<Option<&'static str>, MappingError> {
    let name = doc
        .get("collection")
        .or_else(|| doc.get("kind"))
        .and_then(Value::as_str)
        .ok_or_else(|| bad("an outgoing element names no collection"))?;
    Ok(match name {
        "citoyens" | "person" => None,
        "organizations" | "organization" => Some("organizations"),
        "projects" | "project" => Some("projects"),
        "events" | "event" => Some("events"),
        "poi" => Some("poi"),
        "classifieds" | "classified" | "ressources" | "resource" => Some("classifieds"),
        other => {
            return Err(bad(format!(
                "an outgoing element has the unknown collection \"{other}\""
            )))
        }
    })
}

/// The save of an outgoing CoPi element, or `None` when it is not pushed (see
/// [`upstream_collection`]). Fields outside the binding (CoPi's own, such as `timeZone`)
/// stay on the hub: the main would refuse the whole save for them.
pub fn save_request(doc: &Value) -> Result<Option<SaveRequest>, MappingError> {
    let Some(collection) = upstream_collection(doc)? else {
        return Ok(None);
    };
    let Value::Object(m) = doc else {
        return Err(bad("an outgoing element is not an object"));
    };
    let id = m
        .get("id")
        .or_else(|| m.get("_id"))
        .and_then(object_id)
        .filter(|s| valid_id(s))
        .ok_or_else(|| bad("an outgoing element has no valid id"))?
        .to_owned();
    let key = controller_key(collection).unwrap_or("element");
    let mut form = vec![
        ("collection".to_owned(), collection.to_owned()),
        ("key".to_owned(), key.to_owned()),
        ("id".to_owned(), id.clone()),
    ];
    let allowed = kind_fields(collection);
    for (k, v) in m {
        if COMMON_FIELDS.contains(&k.as_str()) || allowed.contains(&k.as_str()) {
            php_fields(k, v, &mut form);
        }
    }
    Ok(Some(SaveRequest { collection, id, form }))
}

/// Flattens a JSON value into PHP form fields: `address[postalCode]=…`, `tags[0]=…`.
/// Booleans are `true`/`false` (as Communecter's forms post them), numbers their decimal
/// text; nulls and empty lists or maps are left out (a form cannot say them).
pub fn php_fields(name: &str, v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Null => {}
        Value::Bool(b) => out.push((name.to_owned(), b.to_string())),
        Value::Number(n) => out.push((name.to_owned(), n.to_string())),
        Value::String(s) => out.push((name.to_owned(), s.clone())),
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                php_fields(&format!("{name}[{i}]"), x, out);
            }
        }
        Value::Object(m) => {
            for (k, x) in m {
                php_fields(&format!("{name}[{k}]"), x, out);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Ports

/// The main instance's API, as the appliance calls it over HTTP. Errors are already
/// [`ConnectorError`]s: 429 and 5xx with their `Retry-After` as `Refused`.
pub trait Upstream {
    /// The search scope of a hub territory (may look a commune up).
    fn locality(&self, scope: &str) -> Result<Locality, ConnectorError>;
    /// A commune of the main's `cities`, by INSEE code.
    fn city(&self, insee: &str) -> Result<Option<CityRef>, ConnectorError>;
    /// One page of a territory's listing of one collection.
    fn search(
        &self,
        collection: &str,
        locality: &Locality,
        index: usize,
        step: usize,
    ) -> Result<Vec<Listed>, ConnectorError>;
    /// The full document (authenticated).
    fn get(&self, collection: &str, id: &str) -> Result<Fetched, ConnectorError>;
    fn save(&self, req: &SaveRequest) -> Result<(), ConnectorError>;
    /// Removes an element; an element already gone is not an error.
    fn delete(&self, collection: &str, id: &str) -> Result<(), ConnectorError>;
    fn traffic(&self) -> Traffic {
        Traffic::default()
    }
}

/// Where a territory's listing of one collection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListingPhase {
    /// Pages are being read from `next_index`.
    Listing,
    /// Every page was read (in an applied step): ids not listed are being confirmed.
    Checking,
    /// Finished; the next round starts a new generation.
    Done,
}

impl ListingPhase {
    pub fn as_str(self) -> &'static str {
        match self {
            ListingPhase::Listing => "listing",
            ListingPhase::Checking => "checking",
            ListingPhase::Done => "done",
        }
    }

    pub fn parse(s: &str) -> Option<ListingPhase> {
        Some(match s {
            "listing" => ListingPhase::Listing,
            "checking" => ListingPhase::Checking,
            "done" => ListingPhase::Done,
            _ => return None,
        })
    }
}

/// One territory's listing of one collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    pub territory: String,
    pub collection: String,
    /// Bumped at each new listing; ids seen by this one carry it.
    pub generation: i64,
    pub next_index: usize,
    pub phase: ListingPhase,
}

/// What a pull learnt, kept only once the hub has applied the answer it came with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StagedOp {
    /// The id was listed by `generation` with this fingerprint (and is on the hub as such).
    Seen {
        territory: String,
        collection: String,
        id: String,
        fingerprint: String,
        generation: i64,
    },
    /// The id is no longer followed in this territory.
    Forget {
        territory: String,
        collection: String,
        id: String,
    },
    /// The listing moved on.
    Cursor {
        territory: String,
        collection: String,
        next_index: usize,
        phase: ListingPhase,
    },
}

/// The connector's durable state, kept by the hub's store, per main.
pub trait ListingStore {
    type Error: std::fmt::Display;

    /// How far this hub's changes were pushed to `main` (the hub's own checkpoint: a
    /// Communecter main keeps none for it).
    fn pushed_to(&self, main: &str) -> Result<ChangeSeq, Self::Error>;
    /// Settles staged steps: those up to `applied` (the hub's pull checkpoint) are kept,
    /// later ones dropped. Forgets territories no longer served. With `new_round`, starts a
    /// new generation of every finished listing. Returns the listings of `territories` ×
    /// `collections` (created as needed), in that order.
    fn begin_pull(
        &self,
        main: &str,
        applied: ChangeSeq,
        territories: &[String],
        collections: &[&str],
        new_round: bool,
    ) -> Result<Vec<Listing>, Self::Error>;
    /// The fingerprints last seen of those of `ids` followed in this listing.
    fn fingerprints(
        &self,
        main: &str,
        territory: &str,
        collection: &str,
        ids: &[String],
    ) -> Result<HashMap<String, String>, Self::Error>;
    /// Ids followed in this listing that `generation` did not list, at most `limit`.
    fn vanished(
        &self,
        main: &str,
        territory: &str,
        collection: &str,
        generation: i64,
        limit: usize,
    ) -> Result<Vec<String>, Self::Error>;
    /// Stages what the answer of `step` learnt (replacing anything staged for it).
    fn stage(&self, main: &str, step: ChangeSeq, ops: &[StagedOp]) -> Result<(), Self::Error>;
    /// Remembers the collection an element was saved to upstream (for its withdrawal).
    fn remember_upstream(&self, main: &str, id: &str, collection: &str) -> Result<(), Self::Error>;
    /// The collection an element has upstream, if it was saved or pulled.
    fn upstream_collection(&self, main: &str, id: &str) -> Result<Option<String>, Self::Error>;
}

fn local<E: std::fmt::Display>(e: E) -> ConnectorError {
    ConnectorError::Local(e.to_string())
}

// ---------------------------------------------------------------------------------------
// The connector

/// The `communecter` connector. One per round: its first pull starts the round's listings.
pub struct CommunecterConnector<U: Upstream, S: ListingStore> {
    upstream: U,
    state: S,
    /// This main's name in the hub's checkpoints (`communecter:<url>`).
    main: String,
    started: Cell<bool>,
    localities: RefCell<HashMap<String, Locality>>,
    cities: RefCell<HashMap<String, Option<CityRef>>>,
}

impl<U: Upstream, S: ListingStore> CommunecterConnector<U, S> {
    pub fn new(upstream: U, state: S, main: String) -> Self {
        CommunecterConnector {
            upstream,
            state,
            main,
            started: Cell::new(false),
            localities: RefCell::new(HashMap::new()),
            cities: RefCell::new(HashMap::new()),
        }
    }

    pub fn upstream(&self) -> &U {
        &self.upstream
    }

    fn locality(&self, territory: &str) -> Result<Locality, ConnectorError> {
        if let Some(l) = self.localities.borrow().get(territory) {
            return Ok(l.clone());
        }
        let l = self.upstream.locality(territory)?;
        self.localities.borrow_mut().insert(territory.to_owned(), l.clone());
        Ok(l)
    }

    /// An outgoing document with its address completed for the main (once per commune).
    fn with_address(&self, doc: &Value) -> Result<Option<Value>, ConnectorError> {
        let Some(insee) = address_to_complete(doc) else {
            return Ok(None);
        };
        let known = self.cities.borrow().get(insee).cloned();
        let city = match known {
            Some(c) => c,
            None => {
                let c = self.upstream.city(insee)?;
                self.cities.borrow_mut().insert(insee.to_owned(), c.clone());
                c
            }
        };
        Ok(city.map(|city| {
            let mut doc = doc.clone();
            complete_address(&mut doc, &city);
            doc
        }))
    }

    fn change(id: &str, step: ChangeSeq, doc: Option<Value>) -> WireChange {
        WireChange {
            entity: EntityKind::Element,
            op: if doc.is_some() {
                ChangeOp::Update
            } else {
                ChangeOp::Delete
            },
            id: id.to_owned(),
            seq: step,
            doc,
        }
    }
}

impl<U: Upstream, S: ListingStore> Connector for CommunecterConnector<U, S> {
    fn hello(&self, _req: &Hello) -> Result<Welcome, ConnectorError> {
        Ok(Welcome {
            main: self.main.clone(),
            protocol: PROTOCOL,
            pushed_to: self.state.pushed_to(&self.main).map_err(local)?,
        })
    }

    fn push(&self, req: &PushRequest) -> Result<PushResponse, ConnectorError> {
        let mut applied = 0;
        for change in &req.batch.changes {
            if change.entity != EntityKind::Element {
                continue;
            }
            match (change.op, &change.doc) {
                (ChangeOp::Delete, _) => {
                    let known = self.state.upstream_collection(&self.main, &change.id).map_err(local)?;
                    if let Some(collection) = known {
                        if !is_collection(&collection) || !valid_id(&change.id) {
                            return Err(ConnectorError::Local(format!(
                                "element {} is recorded in the unknown collection \"{collection}\"",
                                change.id
                            )));
                        }
                        self.upstream.delete(&collection, &change.id)?;
                        applied += 1;
                    }
                }
                (_, Some(doc)) => {
                    let completed = self.with_address(doc)?;
                    // Persons are not pushed (see the module's documentation).
                    let Some(save) = save_request(completed.as_ref().unwrap_or(doc))? else {
                        continue;
                    };
                    if save.id != change.id {
                        return Err(ConnectorError::Protocol(format!(
                            "outgoing element {} carries the id {}",
                            change.id, save.id
                        )));
                    }
                    // Recorded first: at worst a later withdrawal asks to delete an
                    // element the main never got, which is not an error.
                    self.state
                        .remember_upstream(&self.main, &save.id, save.collection)
                        .map_err(local)?;
                    self.upstream.save(&save)?;
                    applied += 1;
                }
                (_, None) => {
                    return Err(ConnectorError::Protocol(format!(
                        "outgoing element {} has no document",
                        change.id
                    )))
                }
            }
        }
        Ok(PushResponse {
            applied_to: req.batch.to_seq,
            replayed: false,
            applied,
            conflicts: 0,
        })
    }

    fn pull(&self, req: &PullRequest) -> Result<PullResponse, ConnectorError> {
        let since = req.since;
        let step = ChangeSeq(since.0 + 1);
        let new_round = !self.started.replace(true);
        let mut listings = self
            .state
            .begin_pull(&self.main, since, &req.scopes, COLLECTIONS, new_round)
            .map_err(local)?;
        let limit = req.limit.max(1);
        let page = limit.min(MAX_PAGE);
        let mut changes: Vec<WireChange> = Vec::new();
        let mut ops: Vec<StagedOp> = Vec::new();
        let mut fetched: HashSet<String> = HashSet::new();
        let mut pages = 0;
        for l in &mut listings {
            if l.phase == ListingPhase::Done || changes.len() >= limit || pages >= MAX_PAGES {
                continue;
            }
            let seen = |id: &str, fingerprint: &str| StagedOp::Seen {
                territory: l.territory.clone(),
                collection: l.collection.clone(),
                id: id.to_owned(),
                fingerprint: fingerprint.to_owned(),
                generation: l.generation,
            };
            let forget = |id: &str| StagedOp::Forget {
                territory: l.territory.clone(),
                collection: l.collection.clone(),
                id: id.to_owned(),
            };
            match l.phase {
                ListingPhase::Done => {}
                ListingPhase::Listing => loop {
                    let locality = self.locality(&l.territory)?;
                    let entries = self.upstream.search(&l.collection, &locality, l.next_index, page)?;
                    pages += 1;
                    let ids: Vec<String> = entries.iter().map(|e| e.id.clone()).collect();
                    let known = self
                        .state
                        .fingerprints(&self.main, &l.territory, &l.collection, &ids)
                        .map_err(local)?;
                    for e in &entries {
                        if known.get(&e.id) == Some(&e.fingerprint) || !fetched.insert(e.id.clone()) {
                            ops.push(seen(&e.id, &e.fingerprint));
                            continue;
                        }
                        match self.upstream.get(&l.collection, &e.id)? {
                            Fetched::Public(doc) => {
                                changes.push(Self::change(&e.id, step, Some(doc)));
                                ops.push(seen(&e.id, &e.fingerprint));
                            }
                            Fetched::Private => {
                                changes.push(Self::change(&e.id, step, None));
                                ops.push(seen(&e.id, &e.fingerprint));
                            }
                            Fetched::Gone => {
                                changes.push(Self::change(&e.id, step, None));
                                ops.push(forget(&e.id));
                            }
                        }
                    }
                    l.next_index += entries.len();
                    if entries.len() < page {
                        // Complete: the ids it did not list are looked at in a later pull,
                        // once this one's marks are applied and settled.
                        l.phase = ListingPhase::Checking;
                    }
                    ops.push(StagedOp::Cursor {
                        territory: l.territory.clone(),
                        collection: l.collection.clone(),
                        next_index: l.next_index,
                        phase: l.phase,
                    });
                    if l.phase != ListingPhase::Listing || changes.len() >= limit || pages >= MAX_PAGES {
                        break;
                    }
                },
                ListingPhase::Checking => {
                    let room = limit.saturating_sub(changes.len()).max(1);
                    let gone = self
                        .state
                        .vanished(&self.main, &l.territory, &l.collection, l.generation, room)
                        .map_err(local)?;
                    if gone.is_empty() {
                        l.phase = ListingPhase::Done;
                        ops.push(StagedOp::Cursor {
                            territory: l.territory.clone(),
                            collection: l.collection.clone(),
                            next_index: l.next_index,
                            phase: ListingPhase::Done,
                        });
                        continue;
                    }
                    for id in &gone {
                        // Not listed is not deleted: the main says which it is.
                        let doc = match self.upstream.get(&l.collection, id)? {
                            Fetched::Public(doc) => Some(doc),
                            Fetched::Private | Fetched::Gone => None,
                        };
                        changes.push(Self::change(id, step, doc));
                        ops.push(forget(id));
                    }
                }
            }
        }
        let pending = listings.iter().any(|l| l.phase != ListingPhase::Done);
        let next_since = if ops.is_empty() && changes.is_empty() && !pending {
            since
        } else {
            self.state.stage(&self.main, step, &ops).map_err(local)?;
            step
        };
        Ok(PullResponse {
            main: self.main.clone(),
            changes,
            next_since,
            done: !pending,
        })
    }

    fn traffic(&self) -> Traffic {
        self.upstream.traffic()
    }
}

#[cfg(test)]
mod tests;
