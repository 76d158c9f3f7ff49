//! Moderation over HTTP: anyone reports an element, a post or a comment; anyone submits an
//! event or a mutual-aid offer or need, held for approval (as Gancio does); the hub's admin
//! (admin token) works the queues, hides, unhides, approves and deletes, and blocks accounts.
//! What a moderation state means, and where it is filtered: see `store::moderation`.
//!
//! | route | who | does |
//! |---|---|---|
//! | `POST /api/v1/reports` `{target: {kind: element\|post\|comment, id}, reason}` | anyone who sees the target | 201 the report (200 when the same reporter's report is still open) |
//! | `POST /api/v1/submissions` `{kind: event\|resource, name, …}` | anyone | 202 `{id, kind, state: "pending"}` |
//! | `GET /api/v1/admin/reports?status=open\|resolved\|all&limit=&cursor=` | admin | reports, newest first (default: open) |
//! | `POST /api/v1/admin/reports/{id}/resolve` `{resolution?}` | admin | the resolved report |
//! | `POST /api/v1/admin/moderation/{kind}/{id}` `{action: hide\|unhide\|approve\|delete}` | admin | `{target, state, changed}` |
//! | `GET /api/v1/admin/submissions?limit=&cursor=` | admin | pending submissions, newest first |
//! | `POST /api/v1/admin/accounts/{person}/block` `{hide?: bool}` | admin | login refused, tokens and sessions revoked; with `hide`, the person and what they made hidden |
//! | `POST /api/v1/admin/accounts/{person}/unblock` | admin | may sign in again |
//!
//! Reports and submissions must say they are JSON (`Content-Type: application/json`), so a
//! cross-site form cannot make a visitor's browser file them. They are limited per client
//! address (anonymous) or per person, in memory: past the limit, 429 `too_many_attempts`
//! with `Retry-After`. Refusals: 401 without the admin token on admin routes, 404 for what
//! is not on this hub or not visible to the caller, 400/415/422 for bad requests, 409 for
//! an action that does not apply (approving what is not pending); a refused request changes
//! nothing.

use std::time::{Duration, Instant};

use rocket::fairing::AdHoc;
use rocket::http::Status;
use rocket::response::{self, Responder};
use rocket::serde::json::Json;
use rocket::{Request, State};
use serde_json::{json, Map, Value};

use super::accounts::{ClientKey, JsonContent};
use super::citizens::MaybeJson;
use super::elements::parse_limit;
use super::{blocking, Admin, ApiError, Hub, JsonObject};
use crate::accounts::Limiter;
use crate::error::Error;
use crate::model::{self, ElementId, Kind, ModelError};
use crate::store::{
    Moderation, ModerationAction, NewReport, Reader, Report, ReportStatus, Reporter, Target, TargetKind, Visibility,
};

/// Reports an anonymous client address may file per window.
const ANONYMOUS_REPORTS: u32 = 10;
/// Reports a signed-in person may file per window.
const PERSON_REPORTS: u32 = 30;
/// Anonymous submissions per client address per window.
const SUBMISSIONS: u32 = 5;
const WINDOW: Duration = Duration::from_secs(60 * 60);

/// The moderation area's state: its rate limits.
pub struct Limits {
    anonymous_reports: Limiter,
    person_reports: Limiter,
    submissions: Limiter,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            anonymous_reports: Limiter::new(ANONYMOUS_REPORTS, WINDOW),
            person_reports: Limiter::new(PERSON_REPORTS, WINDOW),
            submissions: Limiter::new(SUBMISSIONS, WINDOW),
        }
    }
}

impl Limits {
    /// Counts an anonymous submission from `client`; the wait when over the limit.
    pub(crate) fn submission(&self, client: &str) -> Result<(), Duration> {
        self.submissions.try_hit(client, Instant::now())
    }

    /// Who files a report, once counted against their limit (a person by their id, an
    /// anonymous visitor by their address); the wait when over it.
    pub(crate) fn reporter(&self, reader: &Reader, client: &str) -> Result<Reporter, Duration> {
        match &reader.person {
            Some(person) => {
                self.person_reports.try_hit(person.as_str(), Instant::now())?;
                Ok(Reporter::Person(person.clone()))
            }
            None => {
                self.anonymous_reports.try_hit(client, Instant::now())?;
                Ok(Reporter::Anonymous(client.to_owned()))
            }
        }
    }
}

// ---- errors -----------------------------------------------------------------------------

/// An API error, or a rate-limit refusal (429 with `Retry-After`, and a message that says
/// what was limited).
#[derive(Debug)]
enum Refusal {
    Api(ApiError),
    TooMany { what: &'static str, retry_after: u64 },
}

impl<E: Into<Error>> From<E> for Refusal {
    fn from(e: E) -> Self {
        Refusal::Api(ApiError(e.into()))
    }
}

impl From<ApiError> for Refusal {
    fn from(e: ApiError) -> Self {
        Refusal::Api(e)
    }
}

impl<'r> Responder<'r, 'static> for Refusal {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        match self {
            Refusal::Api(e) => e.respond_to(req),
            Refusal::TooMany { what, retry_after } => {
                let message = format!("too many {what} from here: try again in {retry_after} seconds");
                let mut res = super::error_response(Status::TooManyRequests, "too_many_attempts", &message, req)?;
                res.set_raw_header("Retry-After", retry_after.max(1).to_string());
                Ok(res)
            }
        }
    }
}

type Answer<T> = Result<T, Refusal>;

fn invalid(field: &str, message: impl Into<String>) -> Refusal {
    ModelError::Invalid {
        field: field.into(),
        message: message.into(),
    }
    .into()
}

fn hit(limiter: &Limiter, key: &str, what: &'static str) -> Answer<()> {
    limiter.try_hit(key, Instant::now()).map_err(|wait| Refusal::TooMany {
        what,
        retry_after: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
    })
}

/// Refuses a body's fields other than `expected`.
fn only(body: &Map<String, Value>, expected: &[&str]) -> Answer<()> {
    match body.keys().find(|k| !expected.contains(&k.as_str())) {
        None => Ok(()),
        Some(unknown) => Err(invalid(
            unknown,
            format!("is not a field here (expected {})", expected.join(", ")),
        )),
    }
}

fn string_field(body: &Map<String, Value>, name: &str) -> Answer<Option<String>> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(invalid(name, "must be a string")),
    }
}

fn target_kind(kind: &str) -> Option<TargetKind> {
    TargetKind::parse(kind)
}

// ---- answers ----------------------------------------------------------------------------

fn report_json(r: &Report) -> Value {
    json!({
        "id": r.id,
        "target": {"kind": r.target.kind.as_str(), "id": r.target.id.as_str(), "state": r.target_state.as_str()},
        "reason": r.reason,
        "reporter": r.reporter.as_ref().map(ElementId::as_str),
        "anonymous": r.reporter.is_none(),
        "created": r.created,
        "status": r.status.as_str(),
        "resolved": r.resolved,
        "resolution": r.resolution,
    })
}

// ---- reports ----------------------------------------------------------------------------

/// `{target: {kind, id}, reason}`.
fn parse_report(body: Map<String, Value>) -> Answer<(Target, String)> {
    only(&body, &["target", "reason"])?;
    let target = match body.get("target") {
        Some(Value::Object(t)) => t,
        None | Some(Value::Null) => return Err(invalid("target", "is required: {\"kind\", \"id\"}")),
        Some(_) => return Err(invalid("target", "must be {\"kind\", \"id\"}")),
    };
    only(target, &["kind", "id"])?;
    let kind = string_field(target, "kind")?
        .as_deref()
        .and_then(target_kind)
        .ok_or_else(|| invalid("target.kind", "must be element, post or comment"))?;
    let id = target
        .get("id")
        .and_then(model::id_from_value)
        .ok_or_else(|| invalid("target.id", "must be an id"))?;
    let reason = string_field(&body, "reason")?.ok_or_else(|| invalid("reason", "is required"))?;
    let n = reason.trim().chars().count();
    if n == 0 || n > crate::store::MAX_REASON_CHARS {
        return Err(invalid(
            "reason",
            format!("must have 1 to {} characters", crate::store::MAX_REASON_CHARS),
        ));
    }
    Ok((Target::new(kind, id), reason))
}

#[rocket::post("/api/v1/reports", data = "<body>")]
async fn report(
    hub: &State<Hub>,
    limits: &State<Limits>,
    reader: Reader,
    client: ClientKey,
    json: Result<JsonContent, Error>,
    body: Result<JsonObject, Error>,
) -> Answer<(Status, Json<Value>)> {
    json?;
    let (target, reason) = parse_report(body?.0)?;
    let reporter = match &reader.person {
        Some(person) => {
            hit(&limits.person_reports, person.as_str(), "reports")?;
            Reporter::Person(person.clone())
        }
        None => {
            hit(&limits.anonymous_reports, &client.0, "reports")?;
            Reporter::Anonymous(client.0.clone())
        }
    };
    let store = hub.store.clone();
    let (report, created) = blocking(move || {
        // What the reporter may not see does not exist for them.
        if !store.may_see_target(&target, &reader)? {
            return Err(Error::not_found(format!("{} {}", target.kind.as_str(), target.id)));
        }
        store.create_report(&NewReport {
            target,
            reason,
            reporter,
        })
    })
    .await?;
    let status = if created { Status::Created } else { Status::Ok };
    Ok((
        status,
        Json(json!({
            "id": report.id,
            "target": {"kind": report.target.kind.as_str(), "id": report.target.id.as_str()},
            "status": report.status.as_str(),
            "created": report.created,
        })),
    ))
}

#[rocket::get("/api/v1/admin/reports?<status>&<limit>&<cursor>")]
async fn reports(
    hub: &State<Hub>,
    admin: Result<Admin, Error>,
    status: Option<&str>,
    limit: Option<&str>,
    cursor: Option<&str>,
) -> Answer<Json<Value>> {
    admin?;
    let status = match status.unwrap_or("open") {
        "all" => None,
        s => Some(
            ReportStatus::parse(s)
                .ok_or_else(|| Error::BadRequest(format!("status \"{s}\" must be open, resolved or all")))?,
        ),
    };
    let limit = parse_limit(limit)?;
    let cursor = cursor.map(str::to_owned);
    let store = hub.store.clone();
    let page = blocking(move || store.reports(status, limit, cursor.as_deref())).await?;
    Ok(Json(json!({
        "items": page.items.iter().map(report_json).collect::<Vec<_>>(),
        "next": page.next,
    })))
}

#[rocket::post("/api/v1/admin/reports/<id>/resolve", data = "<body>")]
async fn resolve(
    hub: &State<Hub>,
    admin: Result<Admin, Error>,
    id: &str,
    body: Result<MaybeJson, Error>,
) -> Answer<Json<Value>> {
    admin?;
    let id: i64 = id
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| Error::not_found(format!("report {id:?}")))?;
    let body = body?.0.unwrap_or_default();
    only(&body, &["resolution"])?;
    let resolution = string_field(&body, "resolution")?;
    let store = hub.store.clone();
    let report = blocking(move || store.resolve_report(id, resolution.as_deref())).await?;
    Ok(Json(report_json(&report)))
}

// ---- moderation actions -----------------------------------------------------------------

#[rocket::post("/api/v1/admin/moderation/<kind>/<id>", data = "<body>")]
async fn moderate(
    hub: &State<Hub>,
    admin: Result<Admin, Error>,
    kind: &str,
    id: Result<ElementId, Error>,
    body: Result<JsonObject, Error>,
) -> Answer<Json<Value>> {
    admin?;
    let kind = target_kind(kind).ok_or_else(|| Error::not_found(format!("moderation target kind {kind:?}")))?;
    let id = id?;
    let body = body?.0;
    only(&body, &["action"])?;
    let action = string_field(&body, "action")?
        .as_deref()
        .and_then(ModerationAction::parse)
        .ok_or_else(|| invalid("action", "must be hide, unhide, approve or delete"))?;
    let target = Target::new(kind, id);
    let store = hub.store.clone();
    let done = blocking(move || store.moderate(&target, action)).await?;
    tracing::info!(kind = done.target.kind.as_str(), id = %done.target.id, action = action.as_str(), "moderated");
    Ok(Json(json!({
        "target": {"kind": done.target.kind.as_str(), "id": done.target.id.as_str()},
        "state": done.state.as_str(),
        "changed": done.changed,
    })))
}

// ---- accounts ---------------------------------------------------------------------------

#[rocket::post("/api/v1/admin/accounts/<person>/block", data = "<body>")]
async fn block(
    hub: &State<Hub>,
    admin: Result<Admin, Error>,
    person: Result<ElementId, Error>,
    body: Result<MaybeJson, Error>,
) -> Answer<Json<Value>> {
    admin?;
    let person = person?;
    let body = body?.0.unwrap_or_default();
    only(&body, &["hide"])?;
    let hide = match body.get("hide") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(invalid("hide", "must be true or false")),
    };
    let store = hub.store.clone();
    let id = person.clone();
    let blocked = blocking(move || store.block_account(&id, hide)).await?;
    tracing::info!(person = %person, hide, "the admin blocked an account");
    Ok(Json(json!({
        "person": person.as_str(),
        "blocked": true,
        "tokens_revoked": blocked.tokens_revoked,
        "hidden": {
            "elements": blocked.hidden_elements,
            "posts": blocked.hidden_posts,
            "comments": blocked.hidden_comments,
        },
    })))
}

#[rocket::post("/api/v1/admin/accounts/<person>/unblock")]
async fn unblock(
    hub: &State<Hub>,
    admin: Result<Admin, Error>,
    person: Result<ElementId, Error>,
) -> Answer<Json<Value>> {
    admin?;
    let person = person?;
    let store = hub.store.clone();
    let id = person.clone();
    blocking(move || store.unblock_account(&id)).await?;
    tracing::info!(person = %person, "the admin unblocked an account");
    Ok(Json(json!({"person": person.as_str(), "blocked": false})))
}

// ---- submissions ------------------------------------------------------------------------

/// An anonymous submission: the document of an event or a resource, as for
/// `POST /api/v1/elements`, without an id, links, creator or privacy of its own.
fn parse_submission(hub: &Hub, mut doc: Map<String, Value>) -> Answer<(Kind, Map<String, Value>)> {
    let kind = model::kind_of(&doc, None)?;
    if !matches!(kind, Kind::Event | Kind::Resource) {
        return Err(invalid(
            "kind",
            "submissions are events or mutual-aid offers and needs (resource)",
        ));
    }
    doc.remove("kind");
    doc.remove("collection");
    for (field, why) in [
        ("id", "is given by the hub"),
        ("_id", "is given by the hub"),
        ("links", "are not made by submissions"),
        ("creator", "is not set by anonymous submissions"),
        ("created", "is set by the hub"),
        ("updated", "is set by the hub"),
    ] {
        if doc.contains_key(field) {
            return Err(invalid(field, why));
        }
    }
    let private = doc
        .get("preferences")
        .and_then(|p| p.get("private"))
        .is_some_and(|v| v == &Value::Bool(true) || v.as_str() == Some("true"));
    if private {
        return Err(invalid(
            "preferences.private",
            "an anonymous submission is public once approved",
        ));
    }
    // Checked here too, so that bad input is refused before it counts against the limit.
    model::check(kind, &mut doc.clone(), hub.store.zone())?;
    Ok((kind, doc))
}

#[rocket::post("/api/v1/submissions", data = "<body>")]
async fn submit(
    hub: &State<Hub>,
    limits: &State<Limits>,
    client: ClientKey,
    json: Result<JsonContent, Error>,
    body: Result<JsonObject, Error>,
) -> Answer<(Status, Json<Value>)> {
    json?;
    let (kind, doc) = parse_submission(hub, body?.0)?;
    let parent = match doc.get("parentId") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(v) => Some(model::id_from_value(v).ok_or_else(|| invalid("parentId", "must be an element id"))?),
    };
    if let Some(parent) = parent {
        let store = hub.store.clone();
        if blocking(move || store.get_element(&parent, Visibility::Public))
            .await?
            .is_none()
        {
            return Err(invalid("parentId", "is not a public element on this hub"));
        }
    }
    hit(&limits.submissions, &client.0, "submissions")?;
    let store = hub.store.clone();
    let element = blocking(move || store.submit_element(kind, doc)).await?;
    tracing::info!(id = %element.id, kind = element.kind.as_str(), "a submission awaits approval");
    Ok((
        Status::Accepted,
        Json(json!({
            "id": element.id.as_str(),
            "kind": element.kind.as_str(),
            "state": Moderation::Pending.as_str(),
            "message": "thank you: the hub's admin will review it before it is published",
        })),
    ))
}

#[rocket::get("/api/v1/admin/submissions?<limit>&<cursor>")]
async fn submissions(
    hub: &State<Hub>,
    admin: Result<Admin, Error>,
    limit: Option<&str>,
    cursor: Option<&str>,
) -> Answer<Json<Value>> {
    admin?;
    let limit = parse_limit(limit)?;
    let cursor = cursor.map(str::to_owned);
    let store = hub.store.clone();
    let page = blocking(move || store.moderated_elements(Moderation::Pending, limit, cursor.as_deref())).await?;
    Ok(Json(json!({
        "items": page.items.iter().map(|e| e.to_json()).collect::<Vec<_>>(),
        "next": page.next,
    })))
}

pub fn stage() -> AdHoc {
    AdHoc::on_ignite("moderation", |rocket| async {
        rocket.manage(Limits::default()).mount(
            "/",
            rocket::routes![report, reports, resolve, moderate, block, unblock, submit, submissions],
        )
    })
}

#[cfg(test)]
#[path = "moderation_tests.rs"]
mod tests;
