//! A Communecter main instance for the end-to-end tests, written from
//! `../shared/ref/communecter-model.md` (§4): a small HTTP/1.1 server on a free loopback
//! port (std's `TcpListener`, a thread per connection, `Connection: close`) that keeps its
//! elements in memory as Communecter stores them (`_id: {"$id"}`, `updated` int seconds,
//! `modified` and dates as `{"sec","usec"}`), and answers in Communecter's shapes:
//!
//! - `GET /api/city/get/insee/<insee>` → `{"meta", "entities": {"<id>": city}}`;
//! - `POST /co2/search/globalautocomplete` (form: `searchType[]`, `locality[…]`, `indexMin`,
//!   `indexStep`) → `{"results": {"<id>": reduced view}, "count"}` sorted by `updated`
//!   descending, private elements left out (but the caller's own), `[]` when empty;
//! - `GET|POST /co2/element/get/type/<collection>/id/<id>` (authenticated) →
//!   `{"result": true, "map": document}` with `counts`, `typeSig` and ISO event dates, or the
//!   "Unknown (deleted)" ghost for an id it does not hold;
//! - `POST /co2/element/save` (authenticated, PHP form fields; refuses fields outside the
//!   binding with "Unknown field") → creates under the given `id` or updates;
//! - `POST /co2/element/delete/type/<collection>/id/<id>` (authenticated): a hard remove.
//!
//! Credentials are `X-User-Id` + `X-Auth-Token`, or HTTP Basic; missing ones on an
//! authenticated route, or wrong ones anywhere, get 401 `{"result": false, "msg"}`. Faults
//! can be queued: an error status (with `Retry-After`), a malformed body, or a connection
//! closed without an answer. Every request is logged for the tests to look at.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64ct::Encoding;
use serde_json::{json, Map, Value};

/// The collections the double serves, with their controller keys.
const COLLECTIONS: &[(&str, &str)] = &[
    ("citoyens", "person"),
    ("organizations", "organization"),
    ("projects", "project"),
    ("events", "event"),
    ("poi", "poi"),
    ("classifieds", "classified"),
];

/// The data binding of `/co2/element/save` (reference §2.1, §2.2, §2.7).
const BINDING: &[&str] = &[
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
    "category",
    "typeIntervention",
    "typeOfPublic",
    "video",
    "urlFacebook",
    "urlTwitter",
    "urlWiki",
    "urlImg",
    "startDate",
    "endDate",
    "licence",
    "properties",
    "public",
    "allDay",
    "organizerId",
    "organizerType",
    "organizer",
    "parent",
    "section",
    "subtype",
    "media",
    "medias",
    "price",
    "devise",
    "contactInfo",
];

/// Fields of the search's reduced view (the rest needs the full get).
const LISTED: &[&str] = &[
    "_id",
    "name",
    "slug",
    "shortDescription",
    "tags",
    "address",
    "geo",
    "geoPosition",
    "profilImageUrl",
    "profilThumbImageUrl",
    "startDate",
    "endDate",
    "section",
    "category",
    "price",
    "devise",
    "created",
    "updated",
];

/// A fault to answer instead of the real thing.
#[derive(Debug, Clone)]
pub struct Fault {
    /// Requests whose path contains this are concerned.
    pub path: String,
    /// Concerned requests answered normally first.
    pub skip: usize,
    /// Concerned requests then answered with the fault.
    pub times: usize,
    /// The status; 0 closes the connection without an answer.
    pub status: u16,
    pub retry_after: Option<u64>,
    /// The body (JSON error by default); may be malformed on purpose.
    pub body: Option<String>,
}

impl Fault {
    pub fn status(path: &str, skip: usize, status: u16, retry_after: Option<u64>) -> Fault {
        Fault {
            path: path.into(),
            skip,
            times: 1,
            status,
            retry_after,
            body: None,
        }
    }
}

/// A request the double received.
#[derive(Debug, Clone)]
pub struct Logged {
    pub at: Instant,
    pub method: String,
    pub path: String,
    pub body: String,
    pub status: u16,
}

struct User {
    id: String,
    token: String,
    login: String,
    password: String,
}

#[derive(Default)]
struct State {
    /// (collection, document), in insertion order.
    elements: Vec<(String, Map<String, Value>)>,
    cities: Vec<Map<String, Value>>,
    users: Vec<User>,
    faults: Vec<Fault>,
    log: Vec<Logged>,
    /// Epoch seconds of the last write: every write moves it on by one.
    clock: i64,
    searches: u64,
}

pub struct CommunecterMain {
    pub base: String,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    port: u16,
}

impl CommunecterMain {
    /// Starts the double on a free loopback port.
    pub fn start() -> CommunecterMain {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let state = Arc::new(Mutex::new(State {
            clock: 1_700_000_000,
            ..State::default()
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (state.clone(), stop.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if st.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let s = s.clone();
                std::thread::spawn(move || serve(stream, &s));
            }
        });
        CommunecterMain {
            base: format!("http://127.0.0.1:{port}"),
            state,
            stop,
            port,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn add_user(&self, id: &str, token: &str, login: &str, password: &str) {
        self.lock().users.push(User {
            id: id.into(),
            token: token.into(),
            login: login.into(),
            password: password.into(),
        });
    }

    /// A commune of the `cities` collection (`_id`, `insee`, `level1`…`level4`, …).
    pub fn add_city(&self, city: Value) {
        self.lock()
            .cities
            .push(city.as_object().expect("a city object").clone());
    }

    /// Stores a raw document (with its `_id`) as it is.
    pub fn insert(&self, collection: &str, doc: Value) {
        let doc = doc.as_object().expect("a document").clone();
        let id = id_of(&doc).expect("an _id");
        let mut st = self.lock();
        st.elements.retain(|(_, d)| id_of(d).as_deref() != Some(id.as_str()));
        st.elements.push((collection.into(), doc));
    }

    /// Changes fields of a stored document as an edit on the main does: `updated` and
    /// `modified` move on.
    pub fn update(&self, id: &str, patch: Value) {
        let mut st = self.lock();
        st.clock += 1;
        let now = st.clock;
        let (_, doc) = st
            .elements
            .iter_mut()
            .find(|(_, d)| id_of(d).as_deref() == Some(id))
            .expect("the element is on the double");
        for (k, v) in patch.as_object().expect("a patch object") {
            doc.insert(k.clone(), v.clone());
        }
        doc.insert("updated".into(), json!(now));
        doc.insert("modified".into(), json!({"sec": now, "usec": 0}));
    }

    /// A hard remove, as a confirmed deletion on Communecter.
    pub fn remove(&self, id: &str) -> bool {
        let mut st = self.lock();
        let before = st.elements.len();
        st.elements.retain(|(_, d)| id_of(d).as_deref() != Some(id));
        st.elements.len() < before
    }

    /// A stored document and its collection.
    pub fn element(&self, id: &str) -> Option<(String, Value)> {
        self.lock()
            .elements
            .iter()
            .find(|(_, d)| id_of(d).as_deref() == Some(id))
            .map(|(c, d)| (c.clone(), Value::Object(d.clone())))
    }

    pub fn ids(&self) -> Vec<String> {
        self.lock().elements.iter().filter_map(|(_, d)| id_of(d)).collect()
    }

    pub fn fault(&self, fault: Fault) {
        self.lock().faults.push(fault);
    }

    /// The requests received so far.
    pub fn log(&self) -> Vec<Logged> {
        self.lock().log.clone()
    }

    pub fn clear_log(&self) {
        self.lock().log.clear();
    }
}

impl Drop for CommunecterMain {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn id_of(doc: &Map<String, Value>) -> Option<String> {
    match doc.get("_id")? {
        Value::String(s) => Some(s.clone()),
        Value::Object(m) => m.get("$id").or_else(|| m.get("$oid"))?.as_str().map(str::to_owned),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------
// HTTP

struct Request {
    method: String,
    path: String,
    query: String,
    headers: BTreeMap<String, String>,
    body: String,
}

fn read_request(stream: &TcpStream) -> Option<Request> {
    stream.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let target = parts.next()?.to_owned();
    let mut headers = BTreeMap::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    let len: usize = headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut body = vec![0; len.min(16 << 20)];
    reader.read_exact(&mut body).ok()?;
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    Some(Request {
        method,
        path: path.to_owned(),
        query: query.to_owned(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        401 => "Unauthorized",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

fn serve(mut stream: TcpStream, state: &Mutex<State>) {
    let Some(req) = read_request(&stream) else { return };
    let mut st = state.lock().unwrap_or_else(|e| e.into_inner());
    let fault = take_fault(&mut st, &req.path);
    let (status, extra, body) = match &fault {
        Some(f) => (
            f.status,
            f.retry_after
                .map(|s| format!("Retry-After: {s}\r\n"))
                .unwrap_or_default(),
            f.body
                .clone()
                .unwrap_or_else(|| json!({"result": false, "msg": "Service indisponible"}).to_string()),
        ),
        None => {
            let (status, body) = route(&mut st, &req);
            (status, String::new(), body.to_string())
        }
    };
    st.log.push(Logged {
        at: Instant::now(),
        method: req.method.clone(),
        path: req.path.clone(),
        body: req.body.clone(),
        status,
    });
    drop(st);
    if status == 0 {
        return; // hang up without an answer
    }
    let head = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n",
        reason(status),
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body.as_bytes());
    let _ = stream.flush();
}

fn take_fault(st: &mut State, path: &str) -> Option<Fault> {
    let i = st.faults.iter().position(|f| path.contains(&f.path))?;
    let f = &mut st.faults[i];
    if f.skip > 0 {
        f.skip -= 1;
        return None;
    }
    let out = f.clone();
    f.times -= 1;
    if f.times == 0 {
        st.faults.remove(i);
    }
    Some(out)
}

/// Yii's path parameters (`/type/<t>/id/<id>`) after the action, and the query string.
fn params(req: &Request, action: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let lower = req.path.to_ascii_lowercase();
    if let Some(at) = lower.find(action) {
        let rest: Vec<&str> = req.path[at + action.len()..]
            .split('/')
            .filter(|s| !s.is_empty())
            .collect();
        for pair in rest.chunks(2) {
            if let [k, v] = pair {
                out.insert(k.to_string(), url_decode(v));
            }
        }
    }
    for pair in req.query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        out.insert(url_decode(k), url_decode(v));
    }
    out
}

fn url_decode(s: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// PHP's reading of a form: `a[b][0]=x` → `{"a": {"b": ["x"]}}`.
pub fn parse_php_form(body: &str) -> Map<String, Value> {
    let mut root = Map::new();
    for pair in body.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (url_decode(k), url_decode(v));
        let (head, rest) = match k.find('[') {
            Some(i) => (&k[..i], &k[i..]),
            None => (k.as_str(), ""),
        };
        let keys: Vec<&str> = rest
            .split('[')
            .filter(|s| !s.is_empty())
            .map(|s| s.trim_end_matches(']'))
            .collect();
        let mut slot = root.entry(head.to_owned()).or_insert(Value::Null);
        for key in keys {
            if !slot.is_object() {
                *slot = Value::Object(Map::new());
            }
            let m = slot.as_object_mut().expect("object");
            let key = if key.is_empty() {
                m.len().to_string()
            } else {
                key.to_owned()
            };
            slot = m.entry(key).or_insert(Value::Null);
        }
        *slot = Value::String(v);
    }
    root.into_iter().map(|(k, v)| (k, lists(v))).collect()
}

/// Maps keyed 0…n-1 become lists, as PHP arrays do in JSON.
fn lists(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            let is_list = !m.is_empty() && m.keys().enumerate().all(|(i, k)| k == &i.to_string());
            let mut sorted: Vec<(String, Value)> = m.into_iter().map(|(k, v)| (k, lists(v))).collect();
            if is_list {
                sorted.sort_by_key(|(k, _)| k.parse::<usize>().unwrap_or(0));
                Value::Array(sorted.into_iter().map(|(_, v)| v).collect())
            } else {
                Value::Object(sorted.into_iter().collect())
            }
        }
        other => other,
    }
}

// ---------------------------------------------------------------------------------------
// Routes

/// Who calls: `Ok(None)` anonymous, `Err` wrong credentials.
fn caller(st: &State, req: &Request) -> Result<Option<String>, ()> {
    if let (Some(id), Some(token)) = (req.headers.get("x-user-id"), req.headers.get("x-auth-token")) {
        return st
            .users
            .iter()
            .find(|u| &u.id == id && &u.token == token)
            .map(|u| Some(u.id.clone()))
            .ok_or(());
    }
    if let Some(basic) = req.headers.get("authorization").and_then(|a| a.strip_prefix("Basic ")) {
        let decoded = base64ct::Base64::decode_vec(basic.trim()).map_err(|_| ())?;
        let text = String::from_utf8(decoded).map_err(|_| ())?;
        let (login, password) = text.split_once(':').ok_or(())?;
        return st
            .users
            .iter()
            .find(|u| u.login == login && u.password == password)
            .map(|u| Some(u.id.clone()))
            .ok_or(());
    }
    if req.headers.contains_key("x-auth-token") || req.headers.contains_key("x-user-id") {
        return Err(());
    }
    Ok(None)
}

fn unauthorized() -> (u16, Value) {
    (
        401,
        json!({"result": false, "msg": "Vous devez être connecté pour effectuer cette action"}),
    )
}

fn route(st: &mut State, req: &Request) -> (u16, Value) {
    let user = match caller(st, req) {
        Ok(u) => u,
        Err(()) => return unauthorized(),
    };
    let path = req.path.to_ascii_lowercase();
    if path.starts_with("/api/city/get") {
        return city_get(st, &params(req, "/api/city/get"));
    }
    if path == "/co2/search/globalautocomplete" && req.method == "POST" {
        return search(st, &parse_php_form(&req.body), user.as_deref());
    }
    let Some(user) = user else {
        if path.starts_with("/co2/element/") {
            return unauthorized();
        }
        return (404, json!({"result": false, "msg": "Page introuvable"}));
    };
    if path.starts_with("/co2/element/get") {
        return element_get(st, &params(req, "/co2/element/get"));
    }
    if path == "/co2/element/save" && req.method == "POST" {
        return element_save(st, parse_php_form(&req.body), &user);
    }
    if path.starts_with("/co2/element/delete") && req.method == "POST" {
        let p = params(req, "/co2/element/delete");
        let id = p.get("id").cloned().unwrap_or_default();
        let before = st.elements.len();
        st.elements
            .retain(|(c, d)| !(Some(c) == p.get("type") && id_of(d).as_deref() == Some(id.as_str())));
        return if st.elements.len() < before {
            (200, json!({"result": true, "msg": "L'élément a été supprimé"}))
        } else {
            (200, json!({"result": false, "msg": "Cet élément n'existe pas"}))
        };
    }
    (404, json!({"result": false, "msg": "Page introuvable"}))
}

fn city_get(st: &State, p: &BTreeMap<String, String>) -> (u16, Value) {
    let insee = p.get("insee").cloned().unwrap_or_default();
    let mut entities = Map::new();
    for c in st
        .cities
        .iter()
        .filter(|c| c.get("insee").and_then(Value::as_str) == Some(&insee))
    {
        let id = id_of(c).unwrap_or_default();
        let mut city = c.clone();
        city.remove("_id");
        city.insert("@type".into(), json!("City"));
        entities.insert(id, Value::Object(city));
    }
    let entities = if entities.is_empty() {
        json!([])
    } else {
        Value::Object(entities)
    };
    (200, json!({"meta": {"limit": 1}, "entities": entities}))
}

fn seconds(v: Option<&Value>) -> i64 {
    match v {
        Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
        Some(Value::Object(m)) => m.get("sec").and_then(Value::as_i64).unwrap_or(0),
        Some(Value::String(s)) => s.parse().unwrap_or(0),
        _ => 0,
    }
}

fn text<'a>(doc: &'a Map<String, Value>, path: &[&str]) -> Option<&'a str> {
    let mut v = doc.get(path[0])?;
    for k in &path[1..] {
        v = v.get(k)?;
    }
    v.as_str()
}

fn in_locality(doc: &Map<String, Value>, locality: Option<&Value>) -> bool {
    let Some(Value::Object(scopes)) = locality else {
        return true;
    };
    scopes.values().any(|s| {
        let get = |k: &str| s.get(k).and_then(Value::as_str).unwrap_or_default();
        match get("type") {
            "cities" => text(doc, &["address", "localityId"]) == Some(get("id")),
            "cp" => {
                text(doc, &["address", "postalCode"]).is_some_and(|p| p.starts_with(get("name")))
                    && (get("countryCode").is_empty()
                        || text(doc, &["address", "addressCountry"]) == Some(get("countryCode")))
            }
            t if t.starts_with("level") => text(doc, &["address", t]) == Some(get("id")),
            _ => false,
        }
    })
}

fn is_private(doc: &Map<String, Value>) -> bool {
    matches!(
        doc.get("preferences").and_then(|p| p.get("private")),
        Some(Value::Bool(true))
    ) || text(doc, &["preferences", "private"]) == Some("true")
}

fn search(st: &mut State, form: &Map<String, Value>, user: Option<&str>) -> (u16, Value) {
    st.searches += 1;
    let types: Vec<String> = match form.get("searchType") {
        Some(Value::Array(a)) => a.iter().filter_map(|t| t.as_str().map(str::to_owned)).collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    };
    let num = |k: &str, default: usize| {
        form.get(k)
            .and_then(Value::as_str)
            .and_then(|s| s.parse().ok())
            .unwrap_or(default)
    };
    let (index, step) = (num("indexMin", 0), num("indexStep", 30));
    let mut hits: Vec<&(String, Map<String, Value>)> = st
        .elements
        .iter()
        .filter(|(c, d)| {
            types.contains(c)
                && !matches!(text(d, &["state"]), Some("uncomplete" | "deleted"))
                && (!is_private(d) || user.is_some_and(|u| text(d, &["creator"]) == Some(u)))
                && (c != "citoyens"
                    || d.get("preferences")
                        .and_then(|p| p.get("publicFields"))
                        .and_then(Value::as_array)
                        .is_some_and(|f| f.iter().any(|x| x == "locality")))
                && in_locality(d, form.get("locality"))
        })
        .collect();
    hits.sort_by(|(_, a), (_, b)| {
        seconds(b.get("updated"))
            .cmp(&seconds(a.get("updated")))
            .then_with(|| id_of(a).cmp(&id_of(b)))
    });
    let mut count = Map::new();
    for t in &types {
        count.insert(t.clone(), json!(hits.iter().filter(|(c, _)| c == t).count()));
    }
    let mut results = Map::new();
    for (sorting, (collection, d)) in hits.iter().enumerate().skip(index).take(step) {
        let mut entry: Map<String, Value> = LISTED
            .iter()
            .filter_map(|k| d.get(*k).map(|v| ((*k).to_owned(), v.clone())))
            .collect();
        if let Some(t) = d.get("type") {
            let key = if collection == "events" {
                "typeEvent"
            } else {
                "typeOrga"
            };
            entry.insert(key.into(), t.clone());
        }
        entry.insert("type".into(), json!(collection));
        entry.insert("typeSig".into(), json!(collection));
        entry.insert("updatedLbl".into(), json!(format!("il y a {} minutes", st.searches)));
        entry.insert("sorting".into(), json!(sorting));
        results.insert(id_of(d).unwrap_or_default(), Value::Object(entry));
    }
    let results = if results.is_empty() {
        json!([])
    } else {
        Value::Object(results)
    };
    (200, json!({"results": results, "count": count}))
}

/// `2018-12-07T09:00:00+0000`, as PHP's ISO 8601 writes a UTC date.
fn iso(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}+0000",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn element_get(st: &State, p: &BTreeMap<String, String>) -> (u16, Value) {
    let (collection, id) = (
        p.get("type").cloned().unwrap_or_default(),
        p.get("id").cloned().unwrap_or_default(),
    );
    let found = st
        .elements
        .iter()
        .find(|(c, d)| *c == collection && id_of(d).as_deref() == Some(id.as_str()));
    let Some((_, doc)) = found else {
        return (
            200,
            json!({"result": true, "map": {"name": "Unknown (deleted)", "slug": "unknown"}}),
        );
    };
    let mut map = doc.clone();
    map.remove("pwd");
    if collection == "events" {
        for k in ["startDate", "endDate"] {
            if let Some(Value::Object(d)) = map.get(k) {
                let s = d.get("sec").and_then(Value::as_i64).unwrap_or(0);
                map.insert(k.into(), json!(iso(s)));
            }
        }
    }
    let links = |t: &str| {
        map.get("links")
            .and_then(|l| l.get(t))
            .and_then(Value::as_object)
            .map_or(0, |m| m.len())
    };
    let counts = json!({"members": links("members"), "followers": links("followers"), "attendees": links("attendees")});
    map.insert("counts".into(), counts);
    map.insert("typeSig".into(), json!(collection));
    (200, json!({"result": true, "map": map}))
}

fn slug_of(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase()
}

fn element_save(st: &mut State, mut form: Map<String, Value>, user: &str) -> (u16, Value) {
    let take = |form: &mut Map<String, Value>, k: &str| form.remove(k).and_then(|v| v.as_str().map(str::to_owned));
    let collection = take(&mut form, "collection").unwrap_or_default();
    let key = take(&mut form, "key").unwrap_or_default();
    let Some(id) = take(&mut form, "id").filter(|i| !i.is_empty()) else {
        return (200, json!({"result": false, "msg": "Il manque l'id"}));
    };
    if !COLLECTIONS.iter().any(|(c, k)| *c == collection && *k == key) {
        return (
            200,
            json!({"result": false, "msg": format!("Collection inconnue : {collection}/{key}")}),
        );
    }
    if let Some(unknown) = form.keys().find(|k| !BINDING.contains(&k.as_str())) {
        return (
            200,
            json!({"result": false, "msg": format!("Unknown field : {unknown}")}),
        );
    }
    // `DataValidator::addressValid`: a country, a locality, and the commune's id.
    if let Some(address) = form.get("address") {
        let has = |k: &str| address.get(k).and_then(Value::as_str).is_some_and(|s| !s.is_empty());
        if !(has("addressCountry") && has("addressLocality") && (has("localityId") || has("osmID"))) {
            let msg = "Adresse non valide : il manque le pays, la ville ou son identifiant";
            return (200, json!({"result": false, "msg": msg}));
        }
    }
    // What Communecter casts: GeoJSON coordinates to floats, a price to an int.
    if let Some(Value::Array(coords)) = form.get_mut("geoPosition").and_then(|g| g.get_mut("coordinates")) {
        for c in coords.iter_mut() {
            if let Some(f) = c.as_str().and_then(|s| s.parse::<f64>().ok()) {
                *c = json!(f);
            }
        }
    }
    if let Some(p) = form
        .get("price")
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<i64>().ok())
    {
        form.insert("price".into(), json!(p));
    }
    st.clock += 1;
    let now = st.clock;
    let existing = st
        .elements
        .iter_mut()
        .find(|(_, d)| id_of(d).as_deref() == Some(id.as_str()));
    let doc = match existing {
        Some((c, doc)) => {
            if *c != collection {
                return (
                    200,
                    json!({"result": false, "msg": "L'élément est dans une autre collection"}),
                );
            }
            doc.extend(form);
            doc.insert("updated".into(), json!(now));
            doc.insert("modified".into(), json!({"sec": now, "usec": 0}));
            doc.clone()
        }
        None => {
            let mut doc = Map::new();
            doc.insert("_id".into(), json!({"$id": id}));
            doc.extend(form);
            if !doc.contains_key("slug") {
                let slug = slug_of(doc.get("name").and_then(Value::as_str).unwrap_or(&id));
                doc.insert("slug".into(), json!(slug));
            }
            doc.insert("creator".into(), json!(user));
            doc.insert("created".into(), json!(now));
            doc.insert("updated".into(), json!(now));
            doc.insert("modified".into(), json!({"sec": now, "usec": 0}));
            st.elements.push((collection.clone(), doc.clone()));
            doc
        }
    };
    (
        200,
        json!({"result": true, "msg": "Vos informations ont bien été enregistrées", "map": doc, "id": id,
               "url": format!("#page.type.{collection}.id.{id}")}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn php_forms_become_nested_documents() {
        let form = parse_php_form(
            "collection=poi&address%5BpostalCode%5D=97460&tags%5B0%5D=a&tags%5B1%5D=b+c&urls%5B0%5D%5Burl%5D=x%26y",
        );
        assert_eq!(
            Value::Object(form),
            json!({"collection": "poi", "address": {"postalCode": "97460"}, "tags": ["a", "b c"], "urls": [{"url": "x&y"}]})
        );
    }

    #[test]
    fn dates_are_written_as_php_writes_them() {
        assert_eq!(iso(1544173200), "2018-12-07T09:00:00+0000");
        assert_eq!(iso(0), "1970-01-01T00:00:00+0000");
        assert_eq!(iso(951782400), "2000-02-29T00:00:00+0000");
    }
}
