//! Citizens' core over HTTP: elements made by persons, membership (invitations by code,
//! join requests, roles, admins), follows and the home feed, journals and comments. Who may
//! see what is the store's (`store::citizens`); who may do what is decided here.
//!
//! | route | who | does |
//! |---|---|---|
//! | `POST /api/v1/elements` | person | creates an element; the person is `creator` and admin |
//! | `GET /api/v1/elements/{id}` | person | the element, private ones to their members |
//! | `PATCH`, `DELETE /api/v1/elements/{id}` | element admin | edits, deletes |
//! | `POST /api/v1/elements/{id}/invitations` `{roles?, isAdmin?, uses?, days?, email?}` | element admin | 201 `{code, url: "/join/<code>", …}` |
//! | `GET /api/v1/elements/{id}/invitations`, `DELETE …/invitations/{code}` | element admin | lists (with `emailStatus`: `queued`, `sent`, `failed`, `emailError` and `emailSent`), withdraws |
//! | `GET /api/v1/join/{code}` | whoever holds the code | `{element, roles, isAdmin, expires, usable}` |
//! | `POST /api/v1/join/{code}` | person | joins with the invitation's roles |
//! | `POST /api/v1/elements/{id}/join` | person | asks to join (`toBeValidated`) |
//! | `POST /api/v1/elements/{id}/members/{person}` `{accept?, refuse?, roles?, isAdmin?}` | element admin | answers, sets roles and admins |
//! | `DELETE /api/v1/elements/{id}/members/{person}` | element admin, or the person | removes |
//! | `POST`, `DELETE /api/v1/elements/{id}/follow` | person | follows, stops |
//! | `GET /api/v1/me/feed?limit=&cursor=` | person | posts of what one follows or belongs to |
//! | `POST /api/v1/elements/{id}/posts` `{text, audience?, tags?}` | member (own journal for a person) | 201 the post |
//! | `GET /api/v1/elements/{id}/posts?limit=&cursor=`, `GET /api/v1/posts/{id}` | anyone | what the reader may see |
//! | `PATCH /api/v1/posts/{id}` `{text?, audience?, tags?}` | author, element admin | edits |
//! | `DELETE /api/v1/posts/{id}` | author, element admin, hub admin | deletes with its comments |
//! | `POST /api/v1/posts/{id}/comments`, `POST /api/v1/elements/{id}/comments` `{text, parentId?}` | person who sees it | 201 the comment |
//! | `GET /api/v1/posts/{id}/comments`, `GET /api/v1/elements/{id}/comments` | anyone who sees it | top-level comments with their `replies` |
//! | `PATCH /api/v1/comments/{id}` `{text}` | author, element admin | edits |
//! | `DELETE /api/v1/comments/{id}` | author, element admin, hub admin | deletes with its replies |
//!
//! Refusals: 401 not signed in, 403 `forbidden` signed in but not allowed, 404 what the
//! reader may not see (a private element is never revealed), 400/422 bad bodies; a refused
//! request changes nothing. The person routes on `/api/v1/elements` and
//! `/api/v1/elements/{id}` rank before the admin-token ones of `elements.rs` and forward to
//! them when the request carries no person's credentials.

use rocket::data::{Data, FromData};
use rocket::fairing::AdHoc;
use rocket::http::Status;
use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::{self, Responder};
use rocket::serde::json::Json;
use rocket::State;
use serde_json::{json, Map, Value};

use super::auth::SESSION_COOKIE;
use super::elements::parse_limit;
use super::{blocking, Admin, ApiError, Hub, JsonObject, User};
use crate::error::Error;
use crate::model::{self, Audience, Element, ElementId, Kind, ModelError, Record};
use crate::store::{Context, MemberUpdate, Membership, NewInvitation, NewPost, Reader, Standing};

/// Invitation codes: 12 characters a person can type on a phone (no 0/o, 1/l/i).
const CODE_ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyz";
const CODE_LEN: usize = 12;

/// Days an invitation lasts unless told otherwise.
const INVITATION_DAYS: u32 = 30;

const MAX_ROLES: usize = 20;
const MAX_ROLE_CHARS: usize = 64;

// ---- errors -----------------------------------------------------------------------------

/// An API refusal, or 403 `forbidden`: signed in, but not allowed (the crate's `Error` has
/// no such variant yet).
#[derive(Debug)]
pub enum Refusal {
    Api(ApiError),
    Forbidden(String),
}

impl From<Error> for Refusal {
    fn from(e: Error) -> Self {
        Refusal::Api(ApiError(e))
    }
}

impl From<ApiError> for Refusal {
    fn from(e: ApiError) -> Self {
        Refusal::Api(e)
    }
}

impl From<ModelError> for Refusal {
    fn from(e: ModelError) -> Self {
        Refusal::Api(ApiError(e.into()))
    }
}

impl<'r> Responder<'r, 'static> for Refusal {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        match self {
            Refusal::Api(e) => e.respond_to(req),
            Refusal::Forbidden(message) => super::error_response(Status::Forbidden, "forbidden", &message, req),
        }
    }
}

type Answer<T> = Result<T, Refusal>;

fn forbidden(message: impl Into<String>) -> Refusal {
    Refusal::Forbidden(message.into())
}

fn not_found(id: &ElementId) -> Refusal {
    Error::not_found(format!("element {id}")).into()
}

fn invalid(field: &str, message: impl Into<String>) -> Refusal {
    ModelError::Invalid {
        field: field.into(),
        message: message.into(),
    }
    .into()
}

// ---- guards -----------------------------------------------------------------------------

/// The reader: the hub's admin (admin token), a signed-in person with the elements they
/// belong to, or anonymous (also when credentials are stale: reading needs none).
#[rocket::async_trait]
impl<'r> FromRequest<'r> for Reader {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        if req.guard::<Admin>().await.is_success() {
            return Outcome::Success(Reader::hub_admin());
        }
        let (Outcome::Success(user), Some(hub)) = (req.guard::<User>().await, req.rocket().state::<Hub>()) else {
            return Outcome::Success(Reader::anonymous());
        };
        let store = hub.store.clone();
        match blocking(move || store.reader_for(&user.person)).await {
            Ok(reader) => Outcome::Success(reader),
            Err(e) => {
                tracing::error!(error = %e.0, "cannot read a person's memberships");
                Outcome::Success(Reader::anonymous())
            }
        }
    }
}

/// A signed-in person reading; forwards (to the routes for everyone else) otherwise.
pub struct PersonReader(pub Reader);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for PersonReader {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        match req.guard::<Reader>().await {
            Outcome::Success(r) if r.person.is_some() => Outcome::Success(PersonReader(r)),
            _ => Outcome::Forward(Status::NotFound),
        }
    }
}

/// A request that carries a person's credentials (a bearer token that is not the admin
/// token, or a session cookie), whether they hold or not. Forwards otherwise, so that the
/// admin-token routes answer the admin and those without credentials.
pub struct PersonCall(pub Result<User, Error>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for PersonCall {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        if req.guard::<Admin>().await.is_success() {
            return Outcome::Forward(Status::Unauthorized);
        }
        let bearer = req.headers().get_one("Authorization").is_some();
        if !bearer && req.cookies().get_private(SESSION_COOKIE).is_none() {
            return Outcome::Forward(Status::Unauthorized);
        }
        match req.guard::<User>().await {
            Outcome::Success(u) => Outcome::Success(PersonCall(Ok(u))),
            Outcome::Error((_, e)) => Outcome::Success(PersonCall(Err(e))),
            Outcome::Forward(s) => Outcome::Forward(s),
        }
    }
}

/// Who acts where the hub's admin may moderate: the admin token, or a signed-in person.
pub enum Actor {
    HubAdmin,
    Person(User),
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Actor {
    type Error = Error;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        if req.guard::<Admin>().await.is_success() {
            return Outcome::Success(Actor::HubAdmin);
        }
        req.guard::<User>().await.map(Actor::Person)
    }
}

/// A JSON object body, or none at all.
pub struct MaybeJson(pub Option<Map<String, Value>>);

#[rocket::async_trait]
impl<'r> FromData<'r> for MaybeJson {
    type Error = Error;

    async fn from_data(req: &'r Request<'_>, mut data: Data<'r>) -> rocket::data::Outcome<'r, Self> {
        if data.peek(1).await.is_empty() && data.peek_complete() {
            return rocket::data::Outcome::Success(MaybeJson(None));
        }
        JsonObject::from_data(req, data).await.map(|j| MaybeJson(Some(j.0)))
    }
}

/// What search should let a reader find: the index lists a private element's readers by
/// person id (its members, contributors, attendees and creator).
pub fn search_viewer(reader: &Reader) -> crate::search::Viewer {
    crate::search::Viewer {
        all: reader.admin,
        ids: reader.person.iter().map(ElementId::to_string).collect(),
    }
}

// ---- bodies -----------------------------------------------------------------------------

/// A request body read field by field; unknown fields are refused at the end.
struct Body(Map<String, Value>);

impl Body {
    fn new(body: Result<JsonObject, Error>) -> Answer<Body> {
        Ok(Body(body?.0))
    }

    fn string(&mut self, name: &str) -> Answer<Option<String>> {
        match self.0.remove(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(invalid(name, "must be a string")),
        }
    }

    fn text(&mut self, name: &str, required: bool) -> Answer<Option<String>> {
        match self.string(name)? {
            Some(t) if !t.trim().is_empty() => Ok(Some(t)),
            Some(_) => Err(invalid(name, "must not be empty")),
            None if required => Err(invalid(name, "is required")),
            None => Ok(None),
        }
    }

    fn bool(&mut self, name: &str) -> Answer<Option<bool>> {
        match self.0.remove(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(b)),
            Some(_) => Err(invalid(name, "must be true or false")),
        }
    }

    fn number(&mut self, name: &str, range: std::ops::RangeInclusive<u32>) -> Answer<Option<u32>> {
        match self.0.remove(name) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| range.contains(n))
                .map(Some)
                .ok_or_else(|| {
                    invalid(
                        name,
                        format!("must be a whole number from {} to {}", range.start(), range.end()),
                    )
                }),
        }
    }

    fn strings(&mut self, name: &str, max: usize, max_chars: usize) -> Answer<Option<Vec<String>>> {
        let items = match self.0.remove(name) {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::Array(items)) => items,
            Some(_) => return Err(invalid(name, "must be a list of strings")),
        };
        let mut out: Vec<String> = Vec::new();
        for item in items {
            let s = item
                .as_str()
                .map(str::trim)
                .ok_or_else(|| invalid(name, "must be a list of strings"))?;
            if s.is_empty() || s.chars().count() > max_chars {
                return Err(invalid(name, format!("each must have 1 to {max_chars} characters")));
            }
            if !out.iter().any(|o| o == s) {
                out.push(s.to_owned());
            }
        }
        if out.len() > max {
            return Err(invalid(name, format!("has more than {max} items")));
        }
        Ok(Some(out))
    }

    fn audience(&mut self) -> Answer<Option<Audience>> {
        match self.string("audience")? {
            None => Ok(None),
            Some(a) => Audience::parse(&a)
                .map(Some)
                .ok_or_else(|| invalid("audience", "must be public, members, followers or private")),
        }
    }

    fn id(&mut self, name: &str) -> Answer<Option<ElementId>> {
        match self.0.remove(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(v) => model::id_from_value(&v)
                .map(Some)
                .ok_or_else(|| invalid(name, "must be an id")),
        }
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn finish(self, expected: &str) -> Answer<()> {
        match self.0.keys().next() {
            None => Ok(()),
            Some(unknown) => Err(invalid(unknown, format!("is not a field here (expected {expected})"))),
        }
    }
}

// ---- answers ----------------------------------------------------------------------------

fn element_ref(e: &Element) -> Value {
    json!({"id": e.id.as_str(), "kind": e.kind.as_str(), "name": e.doc.get("name"), "slug": e.doc.get("slug")})
}

/// A post as the API gives it: Communecter's document, plus `id` and `audience`.
fn post_json(post: &Record) -> Value {
    let mut v = post.to_json();
    if let Value::Object(m) = &mut v {
        m.insert("id".into(), Value::String(post.id.to_string()));
        let audience = Audience::of_post(&post.doc).map_or("public", |a| a.as_str());
        m.insert("audience".into(), Value::from(audience));
    }
    v
}

fn comment_json(comment: &Record) -> Value {
    let mut v = comment.to_json();
    if let Value::Object(m) = &mut v {
        m.insert("id".into(), Value::String(comment.id.to_string()));
    }
    v
}

/// Top-level comments in order, each with its `replies`.
fn comment_tree(comments: &[Record]) -> Vec<Value> {
    let parent = |c: &Record| c.doc.get("parentId").and_then(model::id_from_value);
    let tops: Vec<&Record> = comments
        .iter()
        .filter(|c| parent(c).is_none_or(|p| !comments.iter().any(|o| o.id == p)))
        .collect();
    tops.into_iter()
        .map(|top| {
            let mut v = comment_json(top);
            let replies: Vec<Value> = comments
                .iter()
                .filter(|c| parent(c).as_ref() == Some(&top.id))
                .map(comment_json)
                .collect();
            v["replies"] = Value::Array(replies);
            v
        })
        .collect()
}

fn membership_json(element: &ElementId, person: &ElementId, m: &Membership) -> Value {
    json!({
        "element": element.as_str(),
        "person": person.as_str(),
        "membership": m.as_str(),
        "isAdmin": matches!(m, Membership::Member { admin: true, .. }),
        "roles": m.roles(),
    })
}

fn invitation_json(i: &crate::store::Invitation) -> Value {
    // The e-mail's state (`mail.rs`): null without an address, else queued, sent or failed
    // with the reason.
    let (email_status, email_error) = crate::mail::email_status(i, model::now_seconds()).unzip();
    json!({
        "code": i.code,
        "url": format!("/join/{}", i.code),
        "element": i.element.as_str(),
        "roles": i.roles,
        "isAdmin": i.is_admin,
        "createdBy": i.created_by.as_str(),
        "created": i.created,
        "expires": i.expires,
        "maxUses": i.max_uses,
        "uses": i.uses,
        "email": i.email,
        "emailStatus": email_status,
        "emailError": email_error.flatten(),
        "emailSent": i.emailed,
    })
}

// ---- shared checks ----------------------------------------------------------------------

/// Where the person stands with an element they may see; 404 otherwise.
async fn standing(hub: &Hub, element: &ElementId, person: &ElementId) -> Answer<Standing> {
    let (store, e, p) = (hub.store.clone(), element.clone(), person.clone());
    match blocking(move || store.standing(&e, &p)).await? {
        Some(s) if s.visible() => Ok(s),
        _ => Err(not_found(element)),
    }
}

async fn reader_of(hub: &Hub, user: &User) -> Answer<Reader> {
    let (store, person) = (hub.store.clone(), user.person.clone());
    Ok(blocking(move || store.reader_for(&person)).await?)
}

/// Elements people join: organisations, projects and events.
fn has_members(kind: Kind) -> Answer<()> {
    match kind {
        Kind::Organization | Kind::Project | Kind::Event => Ok(()),
        _ => Err(Error::BadRequest(format!("a {} has no members to join", kind.as_str())).into()),
    }
}

fn new_code() -> Result<String, Error> {
    let mut code = String::with_capacity(CODE_LEN);
    while code.len() < CODE_LEN {
        // Bytes past the largest multiple of the alphabet's size are dropped: no bias.
        let limit = (256 / CODE_ALPHABET.len() * CODE_ALPHABET.len()) as u8;
        for b in crate::accounts::random_bytes::<32>()? {
            if b < limit && code.len() < CODE_LEN {
                code.push(CODE_ALPHABET[usize::from(b) % CODE_ALPHABET.len()] as char);
            }
        }
    }
    Ok(code)
}

/// A code as typed (any case); `None` for what no code looks like.
fn typed_code(code: &str) -> Option<String> {
    let code = code.trim().to_ascii_lowercase();
    (!code.is_empty() && code.len() <= 64 && code.bytes().all(|b| b.is_ascii_alphanumeric())).then_some(code)
}

/// Whether `person` may edit or delete a record by `author` on `element`.
async fn author_or_admin(
    hub: &Hub,
    person: &ElementId,
    author: Option<&str>,
    element: Option<ElementId>,
) -> Answer<()> {
    if author == Some(person.as_str()) {
        return Ok(());
    }
    if let Some(element) = element {
        let (store, p) = (hub.store.clone(), person.clone());
        if blocking(move || store.is_element_admin(&p, &element)).await? {
            return Ok(());
        }
    }
    Err(forbidden("only its author and the element's admins may do this"))
}

// ---- elements made by persons -----------------------------------------------------------

/// Whether `person` may hang an element under the `parentId` of `doc`: under themselves or
/// an element they are a member of (else anyone could add to a festival's programme). The
/// parent an element already has (`current`) is kept without a check.
async fn may_hang_under(
    hub: &Hub,
    doc: &Map<String, Value>,
    person: &ElementId,
    current: Option<&ElementId>,
) -> Answer<()> {
    let Some(parent) = doc.get("parentId").filter(|p| !p.is_null() && p.as_str() != Some("")) else {
        return Ok(());
    };
    let parent = model::id_from_value(parent).ok_or_else(|| invalid("parentId", "must be an element id"))?;
    if &parent == person || Some(&parent) == current {
        return Ok(());
    }
    let s = standing(hub, &parent, person)
        .await
        .map_err(|_| invalid("parentId", "is not an element on this hub"))?;
    if !s.member() {
        return Err(forbidden("only members of an element may add to it"));
    }
    Ok(())
}

/// The rank of the person routes on the paths of `elements.rs`: before its admin-token
/// routes (default ranks are -12 to -1), to which their guards forward.
const PERSON_FIRST: isize = -20;

#[rocket::post("/api/v1/elements", data = "<body>")]
async fn create_element(
    hub: &State<Hub>,
    caller: PersonCall,
    body: Result<JsonObject, Error>,
) -> Answer<(Status, Json<Value>)> {
    let user = caller.0?;
    let mut doc = body?.0;
    let kind = model::kind_of(&doc, None)?;
    if kind == Kind::Person {
        return Err(forbidden(
            "persons are not created: they register (POST /api/v1/auth/register)",
        ));
    }
    doc.remove("kind");
    doc.remove("collection");
    doc.remove("creator");
    let id = match doc.remove("id").or_else(|| doc.remove("_id")) {
        None => None,
        Some(v) => {
            Some(model::id_from_value(&v).ok_or_else(|| invalid("id", "must be 1-64 characters of [0-9A-Za-z_-]"))?)
        }
    };
    if doc.contains_key("links") {
        return Err(invalid("links", "are made by joining, inviting and following"));
    }
    may_hang_under(hub, &doc, &user.person, None).await?;
    let store = hub.store.clone();
    let e = blocking(move || store.create_element_by(&user.person, kind, doc, id)).await?;
    Ok((Status::Created, Json(e.to_json())))
}

#[rocket::get("/api/v1/elements/<id>")]
async fn get_element(hub: &State<Hub>, reader: PersonReader, id: Result<ElementId, Error>) -> Answer<Json<Value>> {
    let id = id?;
    let store = hub.store.clone();
    let found = blocking(move || {
        store
            .get_element_for(&id, &reader.0)?
            .ok_or_else(|| Error::not_found(format!("element {id}")))
    })
    .await?;
    if !hub.kind_on(found.kind) {
        return Err(Error::not_found(format!("element {} (its module is off)", found.id)).into());
    }
    Ok(Json(found.to_json()))
}

#[rocket::patch("/api/v1/elements/<id>", data = "<body>")]
async fn update_element(
    hub: &State<Hub>,
    caller: PersonCall,
    id: Result<ElementId, Error>,
    body: Result<JsonObject, Error>,
) -> Answer<Json<Value>> {
    let user = caller.0?;
    let id = id?;
    if !standing(hub, &id, &user.person).await?.admin() {
        return Err(forbidden("only the element's admins may change it"));
    }
    let patch = body?.0;
    if patch.contains_key("creator") {
        return Err(invalid("creator", "cannot be changed"));
    }
    let (store, wanted) = (hub.store.clone(), id.clone());
    let current = blocking(move || store.get_element(&wanted, crate::store::Visibility::All))
        .await?
        .and_then(|e| e.doc.get("parentId").and_then(model::id_from_value));
    may_hang_under(hub, &patch, &user.person, current.as_ref()).await?;
    let store = hub.store.clone();
    let e = blocking(move || store.update_element(&id, patch)).await?;
    Ok(Json(e.to_json()))
}

#[rocket::delete("/api/v1/elements/<id>")]
async fn delete_element(hub: &State<Hub>, caller: PersonCall, id: Result<ElementId, Error>) -> Answer<Status> {
    let user = caller.0?;
    let id = id?;
    let s = standing(hub, &id, &user.person).await?;
    if s.itself || !s.admin() {
        return Err(forbidden(
            "only the element's admins may delete it (persons are not deleted here)",
        ));
    }
    let store = hub.store.clone();
    blocking(move || store.delete_element(&id)).await?;
    Ok(Status::NoContent)
}

// ---- membership -------------------------------------------------------------------------

/// The element, its kind able to have members, and the caller an admin of it.
async fn admin_of_group(hub: &Hub, id: &ElementId, user: &User) -> Answer<Standing> {
    let s = standing(hub, id, &user.person).await?;
    if !s.admin() {
        return Err(forbidden("only the element's admins may do this"));
    }
    has_members(s.kind)?;
    Ok(s)
}

#[rocket::post("/api/v1/elements/<id>/invitations", data = "<body>")]
async fn invite(
    hub: &State<Hub>,
    user: Result<User, Error>,
    id: Result<ElementId, Error>,
    body: Result<MaybeJson, Error>,
) -> Answer<(Status, Json<Value>)> {
    let (user, id) = (user?, id?);
    admin_of_group(hub, &id, &user).await?;
    let mut body = Body(body?.0.unwrap_or_default());
    let roles = body.strings("roles", MAX_ROLES, MAX_ROLE_CHARS)?.unwrap_or_default();
    let is_admin = body.bool("isAdmin")?.unwrap_or(false);
    let max_uses = body.number("uses", 1..=1000)?.unwrap_or(1);
    let days = body.number("days", 1..=365)?.unwrap_or(INVITATION_DAYS);
    let email = match body.string("email")? {
        None => None,
        Some(e) => Some(crate::accounts::check_email(&e)?),
    };
    body.finish("roles, isAdmin, uses, days, email")?;
    let new = NewInvitation {
        code: new_code()?,
        element: id,
        roles,
        is_admin,
        created_by: user.person,
        expires: Some(model::now_seconds() + i64::from(days) * 86_400),
        max_uses,
        email,
    };
    let store = hub.store.clone();
    let invitation = blocking(move || store.create_invitation(&new)).await?;
    Ok((Status::Created, Json(invitation_json(&invitation))))
}

#[rocket::get("/api/v1/elements/<id>/invitations")]
async fn invitations(hub: &State<Hub>, user: Result<User, Error>, id: Result<ElementId, Error>) -> Answer<Json<Value>> {
    let (user, id) = (user?, id?);
    admin_of_group(hub, &id, &user).await?;
    let store = hub.store.clone();
    let list = blocking(move || store.invitations_of(&id)).await?;
    Ok(Json(
        json!({"items": list.iter().map(invitation_json).collect::<Vec<_>>(), "next": null}),
    ))
}

#[rocket::delete("/api/v1/elements/<id>/invitations/<code>")]
async fn withdraw_invitation(
    hub: &State<Hub>,
    user: Result<User, Error>,
    id: Result<ElementId, Error>,
    code: &str,
) -> Answer<Status> {
    let (user, id) = (user?, id?);
    admin_of_group(hub, &id, &user).await?;
    let code = typed_code(code).ok_or_else(|| Error::not_found("invitation"))?;
    let store = hub.store.clone();
    if blocking(move || store.delete_invitation(&id, &code)).await? {
        Ok(Status::NoContent)
    } else {
        Err(Error::not_found("invitation").into())
    }
}

/// What an invitation is for, to whoever holds its code (the code is the secret): the
/// element (private ones too), the roles, and whether it can still be used.
#[rocket::get("/api/v1/join/<code>")]
async fn show_invitation(hub: &State<Hub>, code: &str) -> Answer<Json<Value>> {
    let missing = || Error::not_found("invitation");
    let code = typed_code(code).ok_or_else(missing)?;
    let store = hub.store.clone();
    let (invitation, element) = blocking(move || {
        let invitation = store.invitation(&code)?.ok_or_else(missing)?;
        let element = store
            .get_element(&invitation.element, crate::store::Visibility::All)?
            .ok_or_else(missing)?;
        Ok((invitation, element))
    })
    .await?;
    let usable = invitation.uses < invitation.max_uses && invitation.expires.is_none_or(|e| e > model::now_seconds());
    Ok(Json(json!({
        "code": invitation.code,
        "element": element_ref(&element),
        "roles": invitation.roles,
        "isAdmin": invitation.is_admin,
        "expires": invitation.expires,
        "usable": usable,
    })))
}

#[rocket::post("/api/v1/join/<code>")]
async fn join_with_code(hub: &State<Hub>, user: Result<User, Error>, code: &str) -> Answer<Json<Value>> {
    let user = user?;
    let code = typed_code(code).ok_or_else(|| Error::not_found("invitation"))?;
    let store = hub.store.clone();
    let person = user.person.clone();
    let (element, m) = blocking(move || store.join_with_code(&code, &person)).await?;
    Ok(Json(membership_json(&element, &user.person, &m)))
}

#[rocket::post("/api/v1/elements/<id>/join")]
async fn request_to_join(
    hub: &State<Hub>,
    user: Result<User, Error>,
    id: Result<ElementId, Error>,
) -> Answer<Json<Value>> {
    let (user, id) = (user?, id?);
    let s = standing(hub, &id, &user.person).await?;
    has_members(s.kind)?;
    let store = hub.store.clone();
    let (e, p) = (id.clone(), user.person.clone());
    let m = blocking(move || store.request_to_join(&e, &p)).await?;
    Ok(Json(membership_json(&id, &user.person, &m)))
}

#[rocket::post("/api/v1/elements/<id>/members/<person>", data = "<body>")]
async fn answer_member(
    hub: &State<Hub>,
    user: Result<User, Error>,
    id: Result<ElementId, Error>,
    person: Result<ElementId, Error>,
    body: Result<JsonObject, Error>,
) -> Answer<Json<Value>> {
    let (user, id, person) = (user?, id?, person?);
    admin_of_group(hub, &id, &user).await?;
    let mut body = Body::new(body)?;
    if body.is_empty() {
        return Err(invalid("accept", "say accept, refuse, roles or isAdmin"));
    }
    let accept = body.bool("accept")?;
    let refuse = body.bool("refuse")?;
    let update = MemberUpdate {
        accept: accept == Some(true),
        roles: body.strings("roles", MAX_ROLES, MAX_ROLE_CHARS)?,
        is_admin: body.bool("isAdmin")?,
    };
    body.finish("accept, refuse, roles, isAdmin")?;
    if accept == Some(false) || refuse == Some(false) {
        return Err(invalid("accept", "say accept: true or refuse: true"));
    }
    let store = hub.store.clone();
    let (e, p) = (id.clone(), person.clone());
    let m = blocking(move || {
        let current = store.membership(&e, &p)?;
        if current == Membership::None {
            return Err(Error::not_found(format!("member {p}")));
        }
        if refuse == Some(true) {
            if update != MemberUpdate::default() {
                return Err(Error::BadRequest("refuse goes alone".into()));
            }
            if !matches!(current, Membership::Pending { .. }) {
                return Err(Error::Conflict(
                    "only a request is refused: remove a member with DELETE".into(),
                ));
            }
            store.remove_member(&e, &p)?;
            return Ok(Membership::None);
        }
        store.update_member(&e, &p, &update)
    })
    .await?;
    Ok(Json(membership_json(&id, &person, &m)))
}

#[rocket::delete("/api/v1/elements/<id>/members/<person>")]
async fn remove_member(
    hub: &State<Hub>,
    user: Result<User, Error>,
    id: Result<ElementId, Error>,
    person: Result<ElementId, Error>,
) -> Answer<Status> {
    let (user, id, person) = (user?, id?, person?);
    let s = standing(hub, &id, &user.person).await?;
    if person != user.person && !s.admin() {
        return Err(forbidden("only the element's admins may remove someone else"));
    }
    let store = hub.store.clone();
    if blocking(move || store.remove_member(&id, &person)).await? {
        Ok(Status::NoContent)
    } else {
        Err(Error::not_found("member").into())
    }
}

// ---- follows and the home feed ----------------------------------------------------------

#[rocket::post("/api/v1/elements/<id>/follow")]
async fn follow(hub: &State<Hub>, user: Result<User, Error>, id: Result<ElementId, Error>) -> Answer<Json<Value>> {
    let (user, id) = (user?, id?);
    standing(hub, &id, &user.person).await?;
    let store = hub.store.clone();
    let (e, p) = (id.clone(), user.person.clone());
    blocking(move || store.follow(&p, &e)).await?;
    Ok(Json(
        json!({"element": id.as_str(), "person": user.person.as_str(), "following": true}),
    ))
}

#[rocket::delete("/api/v1/elements/<id>/follow")]
async fn unfollow(hub: &State<Hub>, user: Result<User, Error>, id: Result<ElementId, Error>) -> Answer<Status> {
    let (user, id) = (user?, id?);
    standing(hub, &id, &user.person).await?;
    let store = hub.store.clone();
    blocking(move || store.unfollow(&user.person, &id)).await?;
    Ok(Status::NoContent)
}

#[rocket::get("/api/v1/me/feed?<limit>&<cursor>")]
async fn feed(
    hub: &State<Hub>,
    user: Result<User, Error>,
    limit: Option<&str>,
    cursor: Option<&str>,
) -> Answer<Json<Value>> {
    let user = user?;
    let limit = parse_limit(limit)?;
    let cursor = cursor.map(str::to_owned);
    let store = hub.store.clone();
    let page = blocking(move || store.home_feed(&user.person, limit, cursor.as_deref())).await?;
    let items: Vec<Value> = page
        .items
        .iter()
        .map(|(p, e)| {
            let mut v = post_json(p);
            v["element"] = e.as_ref().map_or(Value::Null, element_ref);
            v
        })
        .collect();
    Ok(Json(json!({"items": items, "next": page.next})))
}

// ---- the journal ------------------------------------------------------------------------

#[rocket::post("/api/v1/elements/<id>/posts", data = "<body>")]
async fn create_post(
    hub: &State<Hub>,
    user: Result<User, Error>,
    id: Result<ElementId, Error>,
    body: Result<JsonObject, Error>,
) -> Answer<(Status, Json<Value>)> {
    let (user, id) = (user?, id?);
    let s = standing(hub, &id, &user.person).await?;
    let allowed = if s.kind == Kind::Person { s.itself } else { s.member() };
    if !allowed {
        return Err(forbidden(if s.kind == Kind::Person {
            "one posts on one's own journal only"
        } else {
            "only members may post on this journal"
        }));
    }
    let mut body = Body::new(body)?;
    let post = NewPost {
        text: body.text("text", true)?.unwrap_or_default(),
        audience: body.audience()?.unwrap_or(Audience::Public),
        tags: body.strings("tags", 20, 64)?.unwrap_or_default(),
    };
    body.finish("text, audience, tags")?;
    let store = hub.store.clone();
    let record = blocking(move || store.create_post(&id, &user.person, &post)).await?;
    Ok((Status::Created, Json(post_json(&record))))
}

#[rocket::get("/api/v1/elements/<id>/posts?<limit>&<cursor>")]
async fn journal(
    hub: &State<Hub>,
    reader: Reader,
    id: Result<ElementId, Error>,
    limit: Option<&str>,
    cursor: Option<&str>,
) -> Answer<Json<Value>> {
    let id = id?;
    let limit = parse_limit(limit)?;
    let cursor = cursor.map(str::to_owned);
    let store = hub.store.clone();
    let page = blocking(move || {
        if store.get_element_for(&id, &reader)?.is_none() {
            return Err(Error::not_found(format!("element {id}")));
        }
        store.journal(&id, &reader, limit, cursor.as_deref())
    })
    .await?;
    Ok(Json(
        json!({"items": page.items.iter().map(post_json).collect::<Vec<_>>(), "next": page.next}),
    ))
}

#[rocket::get("/api/v1/posts/<id>")]
async fn get_post(hub: &State<Hub>, reader: Reader, id: Result<ElementId, Error>) -> Answer<Json<Value>> {
    let id = id?;
    let store = hub.store.clone();
    let post = blocking(move || {
        store
            .post_for(&id, &reader)?
            .ok_or_else(|| Error::not_found(format!("post {id}")))
    })
    .await?;
    Ok(Json(post_json(&post.record)))
}

#[rocket::patch("/api/v1/posts/<id>", data = "<body>")]
async fn update_post(
    hub: &State<Hub>,
    user: Result<User, Error>,
    id: Result<ElementId, Error>,
    body: Result<JsonObject, Error>,
) -> Answer<Json<Value>> {
    let (user, id) = (user?, id?);
    let reader = reader_of(hub, &user).await?;
    let store = hub.store.clone();
    let post_id = id.clone();
    let post = blocking(move || {
        store
            .post_for(&post_id, &reader)?
            .ok_or_else(|| Error::not_found(format!("post {post_id}")))
    })
    .await?;
    author_or_admin(hub, &user.person, post.author.as_deref(), post.element).await?;
    let mut body = Body::new(body)?;
    let mut patch = Map::new();
    if let Some(text) = body.text("text", false)? {
        patch.insert("text".into(), Value::String(text));
    }
    if let Some(audience) = body.audience()? {
        patch.insert("scope".into(), crate::store::scope_of(audience));
    }
    if let Some(tags) = body.strings("tags", 20, 64)? {
        patch.insert("tags".into(), Value::from(tags));
    }
    body.finish("text, audience, tags")?;
    if patch.is_empty() {
        return Err(invalid("text", "say text, audience or tags"));
    }
    let store = hub.store.clone();
    let record = blocking(move || store.update_record(&id, patch)).await?;
    Ok(Json(post_json(&record)))
}

#[rocket::delete("/api/v1/posts/<id>")]
async fn delete_post(hub: &State<Hub>, actor: Result<Actor, Error>, id: Result<ElementId, Error>) -> Answer<Status> {
    let (actor, id) = (actor?, id?);
    let reader = match &actor {
        Actor::HubAdmin => Reader::hub_admin(),
        Actor::Person(user) => reader_of(hub, user).await?,
    };
    let store = hub.store.clone();
    let post_id = id.clone();
    let post = blocking(move || {
        store
            .post_for(&post_id, &reader)?
            .ok_or_else(|| Error::not_found(format!("post {post_id}")))
    })
    .await?;
    if let Actor::Person(user) = &actor {
        author_or_admin(hub, &user.person, post.author.as_deref(), post.element).await?;
    }
    let store = hub.store.clone();
    blocking(move || store.delete_record(&id)).await?;
    Ok(Status::NoContent)
}

// ---- comments ---------------------------------------------------------------------------

/// The element a comment's context belongs to, if the reader may see that context; `None`
/// (404) otherwise.
fn visible_context(
    store: &crate::store::Store,
    context: &Context,
    reader: &Reader,
) -> crate::error::Result<Option<Option<ElementId>>> {
    Ok(match context {
        Context::Post(p) => store.post_for(p, reader)?.map(|post| post.element),
        Context::Element(e) => store.get_element_for(e, reader)?.map(|_| Some(e.clone())),
    })
}

async fn comment_on(
    hub: &Hub,
    user: User,
    context: Context,
    body: Result<JsonObject, Error>,
) -> Answer<(Status, Json<Value>)> {
    let reader = reader_of(hub, &user).await?;
    let store = hub.store.clone();
    let c = context.clone();
    if blocking(move || visible_context(&store, &c, &reader)).await?.is_none() {
        return Err(Error::not_found(match &context {
            Context::Post(p) => format!("post {p}"),
            Context::Element(e) => format!("element {e}"),
        })
        .into());
    }
    let mut body = Body::new(body)?;
    let text = body.text("text", true)?.unwrap_or_default();
    let parent = body.id("parentId")?;
    body.finish("text, parentId")?;
    let store = hub.store.clone();
    let record = blocking(move || store.create_comment(&context, parent.as_ref(), &user.person, &text)).await?;
    Ok((Status::Created, Json(comment_json(&record))))
}

#[rocket::post("/api/v1/posts/<id>/comments", data = "<body>")]
async fn comment_post(
    hub: &State<Hub>,
    user: Result<User, Error>,
    id: Result<ElementId, Error>,
    body: Result<JsonObject, Error>,
) -> Answer<(Status, Json<Value>)> {
    let (user, id) = (user?, id?);
    comment_on(hub, user, Context::Post(id), body).await
}

#[rocket::post("/api/v1/elements/<id>/comments", data = "<body>")]
async fn comment_element(
    hub: &State<Hub>,
    user: Result<User, Error>,
    id: Result<ElementId, Error>,
    body: Result<JsonObject, Error>,
) -> Answer<(Status, Json<Value>)> {
    let (user, id) = (user?, id?);
    comment_on(hub, user, Context::Element(id), body).await
}

async fn comments(hub: &Hub, reader: Reader, context: Context) -> Answer<Json<Value>> {
    let store = hub.store.clone();
    let list = blocking(move || {
        if visible_context(&store, &context, &reader)?.is_none() {
            return Err(Error::not_found("comments"));
        }
        store.comments_on(&context)
    })
    .await?;
    Ok(Json(json!({"items": comment_tree(&list), "next": null})))
}

#[rocket::get("/api/v1/posts/<id>/comments")]
async fn post_comments(hub: &State<Hub>, reader: Reader, id: Result<ElementId, Error>) -> Answer<Json<Value>> {
    comments(hub, reader, Context::Post(id?)).await
}

#[rocket::get("/api/v1/elements/<id>/comments")]
async fn element_comments(hub: &State<Hub>, reader: Reader, id: Result<ElementId, Error>) -> Answer<Json<Value>> {
    comments(hub, reader, Context::Element(id?)).await
}

/// A comment the actor may see, and whether they may change it (author, the context's
/// element admins, and for deletion the hub's admin).
async fn own_comment(hub: &Hub, actor: &Actor, id: &ElementId) -> Answer<()> {
    let reader = match actor {
        Actor::HubAdmin => Reader::hub_admin(),
        Actor::Person(user) => reader_of(hub, user).await?,
    };
    let store = hub.store.clone();
    let comment_id = id.clone();
    let (comment, element) = blocking(move || {
        let missing = || Error::not_found(format!("comment {comment_id}"));
        let comment = store.comment(&comment_id)?.ok_or_else(missing)?;
        let element = visible_context(&store, &comment.context, &reader)?.ok_or_else(missing)?;
        Ok((comment, element))
    })
    .await?;
    match actor {
        Actor::HubAdmin => Ok(()),
        Actor::Person(user) => author_or_admin(hub, &user.person, comment.author.as_deref(), element).await,
    }
}

#[rocket::patch("/api/v1/comments/<id>", data = "<body>")]
async fn update_comment(
    hub: &State<Hub>,
    user: Result<User, Error>,
    id: Result<ElementId, Error>,
    body: Result<JsonObject, Error>,
) -> Answer<Json<Value>> {
    let (user, id) = (user?, id?);
    own_comment(hub, &Actor::Person(user), &id).await?;
    let mut body = Body::new(body)?;
    let text = body.text("text", true)?.unwrap_or_default();
    body.finish("text")?;
    let mut patch = Map::new();
    patch.insert("text".into(), Value::String(text));
    let store = hub.store.clone();
    let record = blocking(move || store.update_record(&id, patch)).await?;
    Ok(Json(comment_json(&record)))
}

#[rocket::delete("/api/v1/comments/<id>")]
async fn delete_comment(hub: &State<Hub>, actor: Result<Actor, Error>, id: Result<ElementId, Error>) -> Answer<Status> {
    let (actor, id) = (actor?, id?);
    own_comment(hub, &actor, &id).await?;
    let store = hub.store.clone();
    blocking(move || store.delete_record(&id)).await?;
    Ok(Status::NoContent)
}

pub fn stage() -> AdHoc {
    AdHoc::on_ignite("citizens", |rocket| async {
        let mut person_first = rocket::routes![create_element, get_element, update_element, delete_element];
        for route in &mut person_first {
            route.rank = PERSON_FIRST;
        }
        rocket.mount("/", person_first).mount(
            "/",
            rocket::routes![
                invite,
                invitations,
                withdraw_invitation,
                show_invitation,
                join_with_code,
                request_to_join,
                answer_member,
                remove_member,
                follow,
                unfollow,
                feed,
                create_post,
                journal,
                get_post,
                update_post,
                delete_post,
                comment_post,
                comment_element,
                post_comments,
                element_comments,
                update_comment,
                delete_comment,
            ],
        )
    })
}

#[cfg(test)]
#[path = "citizens_tests.rs"]
mod tests;
