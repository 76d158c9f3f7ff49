//! Files and links attached to elements (the checks and the disk are in `crate::files`).
//!
//! - `POST /api/v1/elements/{id}/files`: `multipart/form-data` with one `file` field, or the
//!   file itself as the body (`Content-Type` `image/…`, `application/pdf`, `text/plain` or
//!   `application/octet-stream`; its name in `?name=`). The admin or a signed-in person (see
//!   [`files::may_attach`]). 201 with the document record, its `url` and `thumbUrl`.
//! - `GET /api/v1/elements/{id}/files`: the element's documents.
//! - `GET /files/{id}`, `GET /files/{id}/thumb`: the stored bytes, with their type,
//!   `Content-Disposition` (inline for images, attachment otherwise), `nosniff`, a strong
//!   ETag (`If-None-Match` answers 304) and a year of cache (revalidated for private
//!   elements, which only the admin sees).
//! - `DELETE /api/v1/files/{id}`: the admin, or the person who attached the file.
//! - `PUT /api/v1/elements/{id}/urls` with `[{"url", "title", "type"?}]`: the element's
//!   `urls` (Communecter's shape), replaced as a whole.
//!
//! The upload limit ([`files::MAX_UPLOAD_BYTES`]) holds before the body is read: the raw body
//! is read through a cap, and the stage sets Rocket's `file` and `data-form` limits for
//! multipart forms, so a larger upload is a 413 without being held whole. Authentication
//! is checked before any of the body is read.

use rocket::data::{Capped, Data, FromData, Outcome as DataOutcome, ToByteUnit};
use rocket::fairing::AdHoc;
use rocket::form::{Errors, Form};
use rocket::fs::TempFile;
use rocket::http::{ContentType, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::{self, Responder, Response};
use rocket::serde::json::Json;
use rocket::tokio::io::AsyncReadExt;
use rocket::State;
use serde_json::{json, Map, Value};

use super::{blocking, Admin, ApiResult, Hub, User, Viewer};
use crate::error::Error;
use crate::files::{self, Uploader, MAX_UPLOAD_BYTES};
use crate::model::{id_from_value, Element, ElementId, Record, RecordKind};
use crate::store::{Store, Visibility};

/// Room for a multipart form's boundaries and part headers around the file.
const FORM_OVERHEAD: u64 = 64 * 1024;

/// Whoever may write: the admin token, or a signed-in person (a live API token, or the
/// session cookie with its CSRF token). Fails like [`User`] (401, or 403 `csrf`).
pub(crate) struct Caller(pub Uploader);

impl Caller {
    fn visibility(&self) -> Visibility {
        match self.0 {
            Uploader::Admin => Visibility::All,
            Uploader::Person(_) => Visibility::Public,
        }
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Caller {
    type Error = Error;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        if req.guard::<Admin>().await.is_success() {
            return Outcome::Success(Caller(Uploader::Admin));
        }
        req.guard::<User>().await.map(|u| Caller(Uploader::Person(u.person)))
    }
}

fn not_found(what: &str, id: &ElementId) -> Error {
    Error::not_found(format!("{what} {id}"))
}

/// The element if `who` may attach to it; else 404, as if it did not exist.
fn attachable(store: &Store, id: &ElementId, who: &Caller) -> crate::error::Result<Element> {
    store
        .get_element(id, who.visibility())?
        .filter(|e| files::may_attach(&who.0, e))
        .ok_or_else(|| not_found("element", id))
}

fn too_large() -> Error {
    Error::TooLarge(format!("the file is larger than {} MiB", MAX_UPLOAD_BYTES >> 20))
}

/// An upload as received, from an authenticated caller.
struct Incoming {
    caller: Caller,
    bytes: Vec<u8>,
    name: String,
    declared_type: Option<String>,
}

#[derive(rocket::FromForm)]
struct FileForm<'r> {
    file: Capped<TempFile<'r>>,
}

fn form_error(status: Status, errors: &Errors<'_>) -> Error {
    match status.code {
        413 => too_large(),
        400 => Error::BadRequest(format!("the form could not be read: {errors}")),
        _ => Error::Invalid(crate::model::ModelError::Invalid {
            field: "file".into(),
            message: format!("is required: send the file in a multipart field named `file` ({errors})"),
        }),
    }
}

/// Raw bodies accepted: what the file may be (the bytes decide).
fn raw_type_accepted(ct: &ContentType) -> bool {
    let (top, sub) = (ct.top().as_str(), ct.sub().as_str());
    top.eq_ignore_ascii_case("image")
        || (top.eq_ignore_ascii_case("application")
            && (sub.eq_ignore_ascii_case("pdf") || sub.eq_ignore_ascii_case("octet-stream")))
        || (top.eq_ignore_ascii_case("text") && sub.eq_ignore_ascii_case("plain"))
}

async fn read_upload<'r>(req: &'r Request<'_>, data: Data<'r>) -> Result<Incoming, Error> {
    let caller = match req.guard::<Caller>().await {
        Outcome::Success(c) => c,
        Outcome::Error((_, e)) => return Err(e),
        Outcome::Forward(_) => return Err(Error::SignInRequired),
    };
    let query_name = req.query_value::<String>("name").and_then(Result::ok);
    let content_type = req.content_type().cloned();
    match content_type {
        Some(ct) if ct.is_form_data() => {
            let form = match Form::<FileForm<'r>>::from_data(req, data).await {
                DataOutcome::Success(f) => f.into_inner(),
                DataOutcome::Error((status, errors)) => return Err(form_error(status, &errors)),
                DataOutcome::Forward(_) => return Err(Error::BadRequest("the form could not be read".into())),
            };
            let file = form.file;
            if !file.is_complete() {
                return Err(too_large());
            }
            let mut bytes = Vec::with_capacity(file.len().min(MAX_UPLOAD_BYTES) as usize);
            let read = async {
                let mut reader = file.open().await?;
                reader.read_to_end(&mut bytes).await
            };
            read.await.map_err(Error::io("reading an uploaded file"))?;
            let name = file
                .raw_name()
                .map(|n| n.dangerous_unsafe_unsanitized_raw().as_str().to_owned())
                .or(query_name)
                .unwrap_or_default();
            Ok(Incoming {
                caller,
                bytes,
                name,
                declared_type: file.content_type().map(ToString::to_string),
            })
        }
        Some(ct) if raw_type_accepted(&ct) => {
            let capped = data
                .open(MAX_UPLOAD_BYTES.bytes())
                .into_bytes()
                .await
                .map_err(|e| Error::BadRequest(format!("the request body could not be read: {e}")))?;
            if !capped.is_complete() {
                return Err(too_large());
            }
            Ok(Incoming {
                caller,
                bytes: capped.into_inner(),
                name: query_name.unwrap_or_default(),
                declared_type: Some(ct.to_string()),
            })
        }
        _ => Err(Error::UnsupportedMediaType(
            "send multipart/form-data with a `file` field, or the file itself as the body with its Content-Type (image/…, application/pdf, text/plain)".into(),
        )),
    }
}

#[rocket::async_trait]
impl<'r> FromData<'r> for Incoming {
    type Error = Error;

    async fn from_data(req: &'r Request<'_>, data: Data<'r>) -> DataOutcome<'r, Self> {
        match read_upload(req, data).await {
            Ok(upload) => DataOutcome::Success(upload),
            Err(e) => DataOutcome::Error((Status::from_code(e.status()).unwrap_or(Status::BadRequest), e)),
        }
    }
}

#[rocket::post("/api/v1/elements/<id>/files", data = "<upload>")]
async fn upload(
    hub: &State<Hub>,
    id: Result<ElementId, Error>,
    upload: Result<Incoming, Error>,
) -> ApiResult<(Status, Json<Value>)> {
    let upload = upload?;
    let id = id?;
    let store = hub.store.clone();
    let data_dir = hub.config.data.clone();
    let record = blocking(move || {
        let element = attachable(&store, &id, &upload.caller)?;
        files::attach(
            &store,
            &data_dir,
            &element,
            &upload.caller.0,
            files::Upload {
                bytes: &upload.bytes,
                name: &upload.name,
                declared_type: upload.declared_type.as_deref(),
            },
        )
    })
    .await?;
    Ok((Status::Created, Json(files::document_json(&record))))
}

#[rocket::get("/api/v1/elements/<id>/files")]
async fn list(hub: &State<Hub>, viewer: Viewer, id: Result<ElementId, Error>) -> ApiResult<Json<Value>> {
    let id = id?;
    let store = hub.store.clone();
    let items = blocking(move || {
        store
            .get_element(&id, viewer.0)?
            .ok_or_else(|| not_found("element", &id))?;
        let docs = store.records_of(&id, RecordKind::Document)?;
        Ok(docs.iter().map(files::document_json).collect::<Vec<_>>())
    })
    .await?;
    Ok(Json(json!({ "items": items })))
}

/// The `If-None-Match` header, if any.
struct IfNoneMatch(Option<String>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for IfNoneMatch {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        Outcome::Success(IfNoneMatch(req.headers().get_one("If-None-Match").map(str::to_owned)))
    }
}

impl IfNoneMatch {
    fn matches(&self, etag: &str) -> bool {
        self.0.as_deref().is_some_and(|h| {
            h.split(',')
                .any(|t| t.trim() == "*" || t.trim().trim_start_matches("W/") == etag)
        })
    }
}

/// A stored file as answered.
enum FileResponse {
    NotModified {
        etag: String,
        cache: &'static str,
    },
    Body {
        file: rocket::tokio::fs::File,
        served: files::Served,
        cache: &'static str,
    },
}

/// `inline` or `attachment` with the name twice: ASCII for old clients, UTF-8 (RFC 6266).
fn content_disposition(inline: bool, name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || " ._-()".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let kind = if inline { "inline" } else { "attachment" };
    format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

impl<'r> Responder<'r, 'static> for FileResponse {
    fn respond_to(self, _req: &'r Request<'_>) -> response::Result<'static> {
        let mut r = Response::build();
        r.raw_header("X-Content-Type-Options", "nosniff");
        match self {
            FileResponse::NotModified { etag, cache } => {
                r.status(Status::NotModified)
                    .raw_header("ETag", etag)
                    .raw_header("Cache-Control", cache);
            }
            FileResponse::Body { file, served, cache } => {
                r.raw_header("Content-Type", served.content_type)
                    .raw_header("Content-Disposition", content_disposition(served.inline, &served.name))
                    // Opened on its own, a file runs no script and reaches nothing.
                    .raw_header("Content-Security-Policy", "sandbox")
                    .raw_header("ETag", served.etag)
                    .raw_header("Cache-Control", cache)
                    .sized_body(None, file);
            }
        }
        r.ok()
    }
}

async fn serve(
    hub: &Hub,
    viewer: Viewer,
    id: ElementId,
    thumb: bool,
    condition: IfNoneMatch,
) -> ApiResult<FileResponse> {
    let store = hub.store.clone();
    let data_dir = hub.config.data.clone();
    let wanted = id.clone();
    let (served, public) = blocking(move || {
        let id = wanted;
        let missing = || not_found("file", &id);
        let record = store
            .get_record(&id)?
            .filter(|r| r.kind == RecordKind::Document)
            .ok_or_else(missing)?;
        let owner = record.doc.get("id").and_then(id_from_value).ok_or_else(missing)?;
        let element = store.get_element(&owner, viewer.0)?.ok_or_else(missing)?;
        let served = files::locate(&data_dir, &record, thumb).ok_or_else(missing)?;
        Ok((served, !files::is_private(&element)))
    })
    .await?;
    // Files never change under an id. Private ones are revalidated, so that access follows
    // the element's privacy.
    let cache = if public {
        "public, max-age=31536000, immutable"
    } else {
        "private, no-cache"
    };
    if condition.matches(&served.etag) {
        return Ok(FileResponse::NotModified {
            etag: served.etag,
            cache,
        });
    }
    match rocket::tokio::fs::File::open(&served.path).await {
        Ok(file) => Ok(FileResponse::Body { file, served, cache }),
        Err(e) => {
            tracing::warn!(path = %served.path.display(), error = %e, "a document's file is missing");
            Err(Error::not_found(format!("file {id}")).into())
        }
    }
}

#[rocket::get("/files/<id>")]
async fn file(
    hub: &State<Hub>,
    viewer: Viewer,
    id: Result<ElementId, Error>,
    condition: IfNoneMatch,
) -> ApiResult<FileResponse> {
    serve(hub, viewer, id?, false, condition).await
}

#[rocket::get("/files/<id>/thumb")]
async fn thumb(
    hub: &State<Hub>,
    viewer: Viewer,
    id: Result<ElementId, Error>,
    condition: IfNoneMatch,
) -> ApiResult<FileResponse> {
    serve(hub, viewer, id?, true, condition).await
}

#[rocket::delete("/api/v1/files/<id>")]
async fn delete(hub: &State<Hub>, caller: Result<Caller, Error>, id: Result<ElementId, Error>) -> ApiResult<Status> {
    let caller = caller?;
    let id = id?;
    let store = hub.store.clone();
    let data_dir = hub.config.data.clone();
    blocking(move || {
        let record: Record = store
            .get_record(&id)?
            .filter(|r| r.kind == RecordKind::Document)
            .ok_or_else(|| not_found("file", &id))?;
        // A file on an element the caller cannot see does not exist for them.
        if caller.0 != Uploader::Admin {
            let owner = record.doc.get("id").and_then(id_from_value);
            let visible = match owner {
                Some(o) => store.get_element(&o, caller.visibility())?.is_some(),
                None => false,
            };
            if !visible {
                return Err(not_found("file", &id));
            }
        }
        if !files::may_delete(&caller.0, &record) {
            return Err(Error::Unauthorized);
        }
        files::detach(&store, &data_dir, &record)
    })
    .await?;
    Ok(Status::NoContent)
}

#[rocket::put("/api/v1/elements/<id>/urls", data = "<body>")]
async fn put_urls(
    hub: &State<Hub>,
    caller: Result<Caller, Error>,
    id: Result<ElementId, Error>,
    body: Data<'_>,
) -> ApiResult<Json<Value>> {
    let caller = caller?;
    let id = id?;
    let limit = hub.config.limits.json_body;
    let bytes = body
        .open(limit.bytes())
        .into_bytes()
        .await
        .map_err(|e| Error::BadRequest(format!("the request body could not be read: {e}")))?;
    if !bytes.is_complete() {
        return Err(Error::TooLarge(format!("the request body is larger than {limit} bytes")).into());
    }
    let value: Value = serde_json::from_slice(&bytes.into_inner())
        .map_err(|e| Error::BadRequest(format!("the body is not valid JSON: {e}")))?;
    let urls = files::check_url_list(&value)?;
    let store = hub.store.clone();
    let element = blocking(move || {
        attachable(&store, &id, &caller)?;
        let mut patch = Map::new();
        patch.insert("urls".into(), Value::Array(urls));
        store.update_element(&id, patch)
    })
    .await?;
    Ok(Json(element.to_json()))
}

pub fn stage() -> AdHoc {
    AdHoc::on_ignite("files", |rocket| async {
        // Rocket reads multipart forms itself: its limits cap the file part and the form.
        let figment = rocket
            .figment()
            .clone()
            .merge(("limits.file", MAX_UPLOAD_BYTES))
            .merge(("limits.data-form", MAX_UPLOAD_BYTES + FORM_OVERHEAD));
        rocket
            .configure(figment)
            .mount("/", rocket::routes![upload, list, file, thumb, delete, put_urls])
    })
}

#[cfg(test)]
mod tests;
