//! `/api/v1/elements`: list, read, write, link, export.

use rocket::fairing::AdHoc;
use rocket::http::Status;
use rocket::request::FromParam;
use rocket::serde::json::Json;
use rocket::State;
use serde_json::{json, Map, Value};

use super::{blocking, Admin, ApiError, ApiResult, Hub, JsonObject, Viewer};
use crate::error::Error;
use crate::model::{self, ElementId, Kind};
use crate::store::{ListQuery, Visibility};
use crate::territory::Scope;

impl<'a> FromParam<'a> for ElementId {
    type Error = Error;

    fn from_param(param: &'a str) -> Result<Self, Self::Error> {
        ElementId::parse(param).ok_or_else(|| Error::not_found(format!("element {param:?}")))
    }
}

pub(super) fn parse_limit(limit: Option<&str>) -> Result<usize, Error> {
    match limit {
        None => Ok(20),
        Some(s) => match s.parse::<usize>() {
            Ok(n) if (1..=crate::store::elements_max_limit()).contains(&n) => Ok(n),
            _ => Err(Error::BadRequest(format!(
                "limit must be a whole number from 1 to {}",
                crate::store::elements_max_limit()
            ))),
        },
    }
}

pub(super) fn parse_kinds(kinds: Option<&str>) -> Result<Vec<Kind>, Error> {
    kinds
        .unwrap_or("")
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| Kind::parse(s).ok_or_else(|| Error::Invalid(model::ModelError::UnknownKind(s.trim().to_owned()))))
        .collect()
}

/// `GET /api/v1/elements?type=&tags=&scope=&limit=&cursor=`
#[rocket::get("/api/v1/elements?<type>&<tags>&<scope>&<limit>&<cursor>")]
#[allow(clippy::too_many_arguments)]
async fn list(
    hub: &State<Hub>,
    reader: crate::store::Reader,
    r#type: Option<&str>,
    tags: Option<&str>,
    scope: Option<&str>,
    limit: Option<&str>,
    cursor: Option<&str>,
) -> ApiResult<Json<Value>> {
    let mut kinds = parse_kinds(r#type)?;
    if let Some(k) = kinds.iter().find(|k| !hub.kind_on(**k)) {
        return Err(Error::not_found(format!("the kind {} (its module is off)", k.as_str())).into());
    }
    if kinds.is_empty() && hub.kinds_on().len() < Kind::ALL.len() {
        kinds = hub.kinds_on();
    }
    let query = ListQuery {
        member_of: reader.member_of.clone(),
        types: Vec::new(),
        kinds,
        tags: tags
            .unwrap_or("")
            .split(',')
            .map(model::normalize_tag)
            .filter(|t| !t.is_empty())
            .collect(),
        scopes: Scope::parse_list(scope.unwrap_or("")).map_err(|e| Error::BadRequest(e.to_string()))?,
        limit: parse_limit(limit)?,
        cursor: cursor.map(str::to_owned),
        visibility: reader.visibility(),
    };
    let store = hub.store.clone();
    let page = blocking(move || store.list_elements(&query)).await?;
    Ok(Json(json!({
        "items": page.items.iter().map(|e| e.to_json()).collect::<Vec<_>>(),
        "next": page.next,
    })))
}

#[rocket::get("/api/v1/elements/<id>")]
async fn get(hub: &State<Hub>, viewer: Viewer, id: Result<ElementId, Error>) -> ApiResult<Json<Value>> {
    let id = id?;
    let store = hub.store.clone();
    let found = blocking(move || {
        let e = store.get_element(&id, viewer.0)?;
        e.ok_or_else(|| Error::not_found(format!("element {id}")))
    })
    .await?;
    if !hub.kind_on(found.kind) {
        return Err(Error::not_found(format!("element {} (its module is off)", found.id)).into());
    }
    Ok(Json(found.to_json()))
}

/// A create request: the kind, an optional client-chosen id and the document.
struct NewElement {
    kind: Kind,
    id: Option<ElementId>,
    doc: Map<String, Value>,
}

fn new_element(mut body: Map<String, Value>) -> Result<NewElement, Error> {
    let kind = model::kind_of(&body, None)?;
    body.remove("kind");
    body.remove("collection");
    let id = match body.remove("id").or_else(|| body.remove("_id")) {
        None => None,
        Some(v) => Some(
            model::id_from_value(&v)
                .ok_or_else(|| Error::BadRequest("id must be 1-64 characters of [0-9A-Za-z_-]".into()))?,
        ),
    };
    if body.contains_key("links") {
        return Err(Error::BadRequest(
            "links are written with PUT /api/v1/elements/{id}/links/{type}/{other}".into(),
        ));
    }
    Ok(NewElement { kind, id, doc: body })
}

#[rocket::post("/api/v1/elements", data = "<body>")]
async fn create(
    hub: &State<Hub>,
    admin: Result<Admin, Error>,
    body: Result<JsonObject, Error>,
) -> ApiResult<(Status, Json<Value>)> {
    admin?;
    let NewElement { kind, id, doc } = new_element(body?.0)?;
    let store = hub.store.clone();
    let e = blocking(move || store.create_element(kind, doc, id)).await?;
    Ok((Status::Created, Json(e.to_json())))
}

#[rocket::patch("/api/v1/elements/<id>", data = "<body>")]
async fn update(
    hub: &State<Hub>,
    admin: Result<Admin, Error>,
    id: Result<ElementId, Error>,
    body: Result<JsonObject, Error>,
) -> ApiResult<Json<Value>> {
    admin?;
    let id = id?;
    let patch = body?.0;
    let store = hub.store.clone();
    let e = blocking(move || store.update_element(&id, patch)).await?;
    Ok(Json(e.to_json()))
}

#[rocket::delete("/api/v1/elements/<id>")]
async fn delete(hub: &State<Hub>, admin: Result<Admin, Error>, id: Result<ElementId, Error>) -> ApiResult<Status> {
    admin?;
    let id = id?;
    let store = hub.store.clone();
    blocking(move || store.delete_element(&id)).await?;
    Ok(Status::NoContent)
}

/// `PUT /api/v1/elements/{id}/links/{type}/{other}` with optional attributes
/// (`{"isAdmin": true, "roles": ["Trésorière"]}`): writes both sides of the link.
#[rocket::put("/api/v1/elements/<id>/links/<link_type>/<other>", data = "<body>")]
async fn put_link(
    hub: &State<Hub>,
    admin: Result<Admin, Error>,
    id: Result<ElementId, Error>,
    link_type: &str,
    other: Result<ElementId, Error>,
    body: Option<Result<JsonObject, Error>>,
) -> ApiResult<Json<Value>> {
    admin?;
    let (id, other) = (id?, other?);
    let attrs = match body {
        None => Map::new(),
        Some(b) => b?.0,
    };
    if let Some(roles) = attrs.get("roles") {
        if !roles.as_array().is_some_and(|r| r.iter().all(Value::is_string)) {
            return Err(Error::BadRequest("roles must be a list of strings".into()).into());
        }
    }
    let link_type = link_type.to_owned();
    let store = hub.store.clone();
    let e = blocking(move || {
        store.link(&id, &link_type, &other, attrs)?;
        store
            .get_element(&id, Visibility::All)?
            .ok_or_else(|| Error::not_found(format!("element {id}")))
    })
    .await?;
    Ok(Json(e.to_json()))
}

#[rocket::delete("/api/v1/elements/<id>/links/<link_type>/<other>")]
async fn delete_link(
    hub: &State<Hub>,
    admin: Result<Admin, Error>,
    id: Result<ElementId, Error>,
    link_type: &str,
    other: Result<ElementId, Error>,
) -> ApiResult<Status> {
    admin?;
    let (id, other) = (id?, other?);
    let link_type = link_type.to_owned();
    let store = hub.store.clone();
    let removed = blocking(move || store.unlink(&id, &link_type, &other)).await?;
    if removed {
        Ok(Status::NoContent)
    } else {
        Err(ApiError(Error::not_found("link")))
    }
}

/// JSON export of one element: Communecter's document with its journal and files. A
/// person's export is for the admin only until accounts arrive.
/// `GET /api/v1/elements/{id}/export`: the element in Communecter's shape with its journal
/// and documents as the reader may see them. A person's export (their profile, the elements
/// they created, what they wrote) is for that person and the hub admin only.
#[rocket::get("/api/v1/elements/<id>/export")]
async fn export(
    hub: &State<Hub>,
    reader: crate::store::Reader,
    id: Result<ElementId, Error>,
) -> ApiResult<Json<Value>> {
    hub.require(crate::config::Module::JsonExport)?;
    let id = id?;
    let store = hub.store.clone();
    let kinds_on = hub.kinds_on();
    let value = blocking(move || {
        let e = store
            .get_element_for(&id, &reader)?
            .ok_or_else(|| Error::not_found(format!("element {id}")))?;
        if !kinds_on.contains(&e.kind) {
            return Err(Error::not_found(format!("element {} (its module is off)", e.id)));
        }
        if e.kind == Kind::Person && !reader.admin && reader.person.as_ref() != Some(&e.id) {
            return Err(Error::Unauthorized);
        }
        let (collection, doc) = e.to_communecter();
        let news = store
            .journal(&e.id, &reader, crate::store::JOURNAL_MAX_LIMIT, None)?
            .items;
        let documents = store.records_of(&e.id, model::RecordKind::Document)?;
        let mut out = json!({
            "meta": {"format": "copi-element-export", "version": 1, "kind": e.kind.as_str(), "id": e.id.as_str()},
            collection: [doc],
            "news": news.iter().map(|r| r.to_json()).collect::<Vec<_>>(),
            "documents": documents.iter().map(|r| r.to_json()).collect::<Vec<_>>(),
        });
        if e.kind == Kind::Person {
            // Everything the person created, in Communecter's collections.
            for created in store.created_by(&e.id, reader.admin)? {
                let (collection, doc) = created.to_communecter();
                if let Some(list) = out.get_mut(collection).and_then(Value::as_array_mut) {
                    list.push(doc);
                } else {
                    out[collection] = json!([doc]);
                }
            }
            let authored = store.authored_by(&e.id)?;
            out["authored"] = authored.iter().map(|r| r.to_json()).collect::<Vec<_>>().into();
        }
        Ok(out)
    })
    .await?;
    Ok(Json(value))
}

pub fn stage() -> AdHoc {
    AdHoc::on_ignite("elements", |rocket| async {
        rocket.mount(
            "/",
            rocket::routes![list, get, create, update, delete, put_link, delete_link, export],
        )
    })
}
