//! The cooperative space over HTTP: proposals and votes, actions (tasks), and "my
//! cooperative space". What a reader may see and what the data must be is the store's
//! (`store::coop`); who may do what is decided here, in functions the pages (`web::coop`)
//! call too, so that a form and the API follow one set of rules.
//!
//! | route | who | does |
//! |---|---|---|
//! | `POST /api/v1/elements/{id}/proposals` `{title, description?, deadline?, visibility?}` | member | 201 the proposal, open |
//! | `GET /api/v1/elements/{id}/proposals?limit=&cursor=` | anyone who sees the element | newest first |
//! | `GET /api/v1/proposals/{id}` | anyone who sees the element | the proposal |
//! | `PATCH /api/v1/proposals/{id}` `{close: true}` | element admin | closes it |
//! | `PATCH /api/v1/proposals/{id}` `{title?, description?, deadline?, visibility?}` | author, element admin | edits, before any vote |
//! | `PUT /api/v1/proposals/{id}/vote` `{vote: "for"/"against"/"abstain"}` | member | votes, or changes one's vote |
//! | `POST /api/v1/elements/{id}/actions` `{title, description?, status?, due?, assignees?}` | member | 201 the action |
//! | `GET /api/v1/elements/{id}/actions?limit=&cursor=`, `GET /api/v1/actions/{id}` | anyone who sees the element | newest first |
//! | `PATCH /api/v1/actions/{id}` `{title?, description?, status?, due?, assignees?}` | member; an assignee: `status` only | changes it |
//! | `GET /api/v1/me/cooperative` | person | `{toVote, votes, actions, elements}` |
//!
//! Rules:
//! - members (validated members and admins, a person in their own space) propose, vote and
//!   write actions; one vote per person per proposal, changed at will while it is open;
//! - a proposal is open until its deadline passes on the hub's clock or an element admin
//!   closes it (the Pi's clock may be wrong: the deadline is optional and closing always
//!   works); a vote on a closed proposal is refused (409);
//! - `visibility`: `live` shows the counts (`results`) while the vote runs, `closed` only once
//!   the proposal is closed (`results: null` until then, for everybody); who voted what is
//!   never shown, only the reader's own vote (`myVote`);
//! - a proposal's text, deadline and visibility change only before the first vote (409);
//! - assignees are members of the element (422 otherwise); members change anything of an
//!   action, its assignees its `status`;
//! - dates (`deadline`, `due`) are epoch seconds or ISO 8601 / `YYYY-MM-DD[ HH:MM]` read in
//!   the hub's zone; a deadline must be ahead of the hub's clock (422, which shows it);
//! - everything in a private element's space answers 404 to whoever may not see the element,
//!   as does every route while the cooperative module is off.
//!
//! Refusals: 401 not signed in, 403 `forbidden` (or `csrf`), 404, 409, 422; a refused
//! request changes nothing.

use std::collections::HashMap;

use rocket::fairing::AdHoc;
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::State;
use serde_json::{json, Map, Value};

use super::citizens::Refusal;
use super::elements::parse_limit;
use super::{blocking, Hub, JsonObject, User};
use crate::config::Module;
use crate::error::Error;
use crate::model::{self, Element, ElementId, ModelError};
use crate::store::{
    parse_when, Action, ActionEdit, ActionStatus, Cooperative, NewAction, NewProposal, Proposal, ProposalEdit, Reader,
    ResultsVisibility, Standing, Vote, MAX_ASSIGNEES,
};

type Answer<T> = Result<T, Refusal>;

fn forbidden(message: &str) -> Refusal {
    Refusal::Forbidden(message.to_owned())
}

fn invalid(field: &str, message: impl Into<String>) -> Refusal {
    Refusal::from(ModelError::Invalid {
        field: field.into(),
        message: message.into(),
    })
}

fn module_on(hub: &Hub) -> Answer<()> {
    Ok(hub.require(Module::Cooperative)?)
}

// ---- the rules, shared with the pages ---------------------------------------------------

/// Where a person stands with an element they may see; 404 otherwise.
async fn standing(hub: &Hub, element: &ElementId, person: &ElementId) -> Answer<Standing> {
    let (store, e, p) = (hub.store.clone(), element.clone(), person.clone());
    match blocking(move || store.standing(&e, &p)).await? {
        Some(s) if s.visible() => Ok(s),
        _ => Err(Error::not_found(format!("element {element}")).into()),
    }
}

async fn reader_of(hub: &Hub, person: &ElementId) -> Answer<Reader> {
    let (store, person) = (hub.store.clone(), person.clone());
    Ok(blocking(move || store.reader_for(&person)).await?)
}

/// A proposal the person may see; 404 otherwise.
async fn visible_proposal(hub: &Hub, person: &ElementId, id: &ElementId) -> Answer<Proposal> {
    let reader = reader_of(hub, person).await?;
    let (store, id) = (hub.store.clone(), id.clone());
    Ok(blocking(move || {
        store
            .proposal_for(&id, &reader)?
            .ok_or_else(|| Error::not_found(format!("proposal {id}")))
    })
    .await?)
}

/// An action the person may see; 404 otherwise.
async fn visible_action(hub: &Hub, person: &ElementId, id: &ElementId) -> Answer<Action> {
    let reader = reader_of(hub, person).await?;
    let (store, id) = (hub.store.clone(), id.clone());
    Ok(blocking(move || {
        store
            .action_for(&id, &reader)?
            .ok_or_else(|| Error::not_found(format!("action {id}")))
    })
    .await?)
}

/// `person` proposes in `element`'s space: members only.
pub(crate) async fn propose(hub: &Hub, person: &ElementId, element: &ElementId, new: NewProposal) -> Answer<Proposal> {
    module_on(hub)?;
    if !standing(hub, element, person).await?.member() {
        return Err(forbidden("only the element's members may make proposals"));
    }
    let (store, e, p) = (hub.store.clone(), element.clone(), person.clone());
    Ok(blocking(move || store.create_proposal(&e, &p, &new, model::now_seconds())).await?)
}

/// `person` votes: members only, while the proposal is open.
pub(crate) async fn cast_vote(hub: &Hub, person: &ElementId, proposal: &ElementId, vote: Vote) -> Answer<Proposal> {
    module_on(hub)?;
    let p = visible_proposal(hub, person, proposal).await?;
    if !standing(hub, &p.element, person).await?.member() {
        return Err(forbidden("only the element's members may vote on its proposals"));
    }
    let (store, id, who) = (hub.store.clone(), proposal.clone(), person.clone());
    Ok(blocking(move || store.vote(&id, &who, vote, model::now_seconds())).await?)
}

/// An element admin closes a proposal (also when the hub's clock cannot be trusted).
pub(crate) async fn close(hub: &Hub, person: &ElementId, proposal: &ElementId) -> Answer<Proposal> {
    module_on(hub)?;
    let p = visible_proposal(hub, person, proposal).await?;
    if !standing(hub, &p.element, person).await?.admin() {
        return Err(forbidden("only the element's admins may close a proposal"));
    }
    let (store, id, who) = (hub.store.clone(), proposal.clone(), person.clone());
    Ok(blocking(move || store.close_proposal(&id, &who, model::now_seconds())).await?)
}

/// The author or an element admin edits a proposal (the store refuses once voted on).
pub(crate) async fn edit(hub: &Hub, person: &ElementId, proposal: &ElementId, edit: ProposalEdit) -> Answer<Proposal> {
    module_on(hub)?;
    let p = visible_proposal(hub, person, proposal).await?;
    if p.author != person.as_str() && !standing(hub, &p.element, person).await?.admin() {
        return Err(forbidden(
            "only its author and the element's admins may edit a proposal",
        ));
    }
    let (store, id, who) = (hub.store.clone(), proposal.clone(), person.clone());
    Ok(blocking(move || store.update_proposal(&id, &edit, Some(&who), model::now_seconds())).await?)
}

/// `person` writes an action in `element`'s space: members only.
pub(crate) async fn create_action(
    hub: &Hub,
    person: &ElementId,
    element: &ElementId,
    new: NewAction,
) -> Answer<Action> {
    module_on(hub)?;
    if !standing(hub, element, person).await?.member() {
        return Err(forbidden("only the element's members may add actions"));
    }
    let (store, e, p) = (hub.store.clone(), element.clone(), person.clone());
    Ok(blocking(move || store.create_action(&e, &p, &new, model::now_seconds())).await?)
}

/// Members change an action; its assignees change its status.
pub(crate) async fn update_action(
    hub: &Hub,
    person: &ElementId,
    action: &ElementId,
    edit: ActionEdit,
) -> Answer<Action> {
    module_on(hub)?;
    let a = visible_action(hub, person, action).await?;
    let member = standing(hub, &a.element, person).await?.member();
    let assignee = a.assignees.contains(person);
    let allowed = member || (assignee && edit.status_only());
    if !allowed {
        return Err(forbidden(if assignee {
            "an assignee who is not a member may change the status only"
        } else {
            "only the element's members and the action's assignees may change it"
        }));
    }
    let (store, id) = (hub.store.clone(), action.clone());
    Ok(blocking(move || store.update_action(&id, &edit, model::now_seconds())).await?)
}

/// An element's space as `reader` sees it: the element (404 when hidden), its proposals and
/// its actions (newest first, at most `limit` each).
pub(crate) async fn space(
    hub: &Hub,
    reader: Reader,
    element: &ElementId,
    limit: usize,
) -> Answer<(Element, Vec<Proposal>, Vec<Action>)> {
    module_on(hub)?;
    let (store, id) = (hub.store.clone(), element.clone());
    Ok(blocking(move || {
        let element = store
            .get_element_for(&id, &reader)?
            .ok_or_else(|| Error::not_found(format!("element {id}")))?;
        let proposals = store.proposals_of(&id, &reader, limit, None)?.items;
        let actions = store.actions_of(&id, &reader, limit, None)?.items;
        Ok((element, proposals, actions))
    })
    .await?)
}

/// "My cooperative space", with the elements its items are in (all of which the person may
/// see).
pub(crate) async fn my_space(hub: &Hub, person: &ElementId) -> Answer<(Cooperative, HashMap<String, Element>)> {
    module_on(hub)?;
    let (store, person) = (hub.store.clone(), person.clone());
    Ok(blocking(move || {
        let space = store.cooperative_space(&person, model::now_seconds())?;
        let mut ids: Vec<String> = space
            .to_vote
            .iter()
            .chain(&space.voted)
            .map(|p| p.element.to_string())
            .chain(space.actions.iter().map(|a| a.element.to_string()))
            .collect();
        ids.sort();
        ids.dedup();
        let reader = store.reader_for(&person)?;
        let elements = store
            .get_elements(&ids)?
            .into_iter()
            .filter(|e| reader.may_see(e))
            .map(|e| (e.id.to_string(), e))
            .collect();
        Ok((space, elements))
    })
    .await?)
}

// ---- answers ----------------------------------------------------------------------------

/// A proposal as the API gives it at `now`: the counts only when its visibility allows.
pub fn proposal_json(p: &Proposal, now: i64) -> Value {
    let results = p.results(now).map(|t| {
        json!({
            "for": t.count(Vote::For),
            "against": t.count(Vote::Against),
            "abstain": t.count(Vote::Abstain),
            "total": t.total(),
        })
    });
    json!({
        "id": p.id.as_str(),
        "element": p.element.as_str(),
        "title": p.title,
        "description": p.description,
        "author": p.author,
        "status": if p.is_open(now) { "open" } else { "closed" },
        "visibility": p.visibility.as_str(),
        "deadline": p.deadline,
        "closedAt": p.closed_at,
        "closedBy": p.closed_by,
        "created": p.created,
        "updated": p.updated,
        "results": results,
        "myVote": p.my_vote.map(Vote::as_str),
    })
}

pub fn action_json(a: &Action) -> Value {
    json!({
        "id": a.id.as_str(),
        "element": a.element.as_str(),
        "title": a.title,
        "description": a.description,
        "status": a.status.as_str(),
        "due": a.due,
        "assignees": a.assignees.iter().map(ElementId::as_str).collect::<Vec<_>>(),
        "author": a.author,
        "created": a.created,
        "updated": a.updated,
    })
}

fn element_ref(e: &Element) -> Value {
    json!({"id": e.id.as_str(), "kind": e.kind.as_str(), "name": e.doc.get("name"), "slug": e.doc.get("slug")})
}

// ---- bodies -----------------------------------------------------------------------------

/// A request body read field by field; unknown fields are refused at the end.
struct Body {
    fields: Map<String, Value>,
    zone: jiff::tz::TimeZone,
}

impl Body {
    fn new(hub: &Hub, body: Result<JsonObject, Error>) -> Answer<Body> {
        Ok(Body {
            fields: body?.0,
            zone: hub.store.zone().clone(),
        })
    }

    fn has(&self, name: &str) -> bool {
        self.fields.contains_key(name)
    }

    fn string(&mut self, name: &str) -> Answer<Option<String>> {
        match self.fields.remove(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(invalid(name, "must be a string")),
        }
    }

    /// A date: `Some(None)` when sent as `null` or `""` (none).
    fn date(&mut self, name: &str) -> Answer<Option<Option<i64>>> {
        match self.fields.remove(name) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(None)),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(Some(None)),
            Some(v) => parse_when(&v, &self.zone).map(|t| Some(Some(t))).ok_or_else(|| {
                invalid(
                    name,
                    "must be a date: epoch seconds, or YYYY-MM-DD, YYYY-MM-DDTHH:MM or ISO 8601",
                )
            }),
        }
    }

    fn choice<T>(&mut self, name: &str, parse: fn(&str) -> Option<T>, expected: &str) -> Answer<Option<T>> {
        match self.string(name)? {
            None => Ok(None),
            Some(s) => parse(&s)
                .map(Some)
                .ok_or_else(|| invalid(name, format!("must be {expected}"))),
        }
    }

    fn ids(&mut self, name: &str) -> Answer<Option<Vec<ElementId>>> {
        let items = match self.fields.remove(name) {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::Array(items)) => items,
            Some(_) => return Err(invalid(name, "must be a list of person ids")),
        };
        if items.len() > MAX_ASSIGNEES {
            return Err(invalid(name, format!("has more than {MAX_ASSIGNEES} persons")));
        }
        items
            .iter()
            .map(|v| model::id_from_value(v).ok_or_else(|| invalid(name, "must be a list of person ids")))
            .collect::<Answer<Vec<_>>>()
            .map(Some)
    }

    fn finish(self, expected: &str) -> Answer<()> {
        match self.fields.keys().next() {
            None => Ok(()),
            Some(unknown) => Err(invalid(unknown, format!("is not a field here (expected {expected})"))),
        }
    }
}

const VISIBILITIES: &str = "live or closed";
const STATUSES: &str = "todo, doing or done";
const VOTES: &str = "for, against or abstain";

// ---- routes -----------------------------------------------------------------------------

#[rocket::post("/api/v1/elements/<id>/proposals", data = "<body>")]
async fn create_proposal(
    hub: &State<Hub>,
    user: Result<User, Error>,
    id: Result<ElementId, Error>,
    body: Result<JsonObject, Error>,
) -> Answer<(Status, Json<Value>)> {
    module_on(hub)?;
    let (user, id) = (user?, id?);
    let mut body = Body::new(hub, body)?;
    let new = NewProposal {
        title: body.string("title")?.ok_or_else(|| invalid("title", "is required"))?,
        description: body.string("description")?,
        deadline: body.date("deadline")?.flatten(),
        visibility: body
            .choice("visibility", ResultsVisibility::parse, VISIBILITIES)?
            .unwrap_or_default(),
    };
    body.finish("title, description, deadline, visibility")?;
    let p = propose(hub, &user.person, &id, new).await?;
    Ok((Status::Created, Json(proposal_json(&p, model::now_seconds()))))
}

#[rocket::get("/api/v1/elements/<id>/proposals?<limit>&<cursor>")]
async fn list_proposals(
    hub: &State<Hub>,
    reader: Reader,
    id: Result<ElementId, Error>,
    limit: Option<&str>,
    cursor: Option<&str>,
) -> Answer<Json<Value>> {
    module_on(hub)?;
    let id = id?;
    let limit = parse_limit(limit)?;
    let cursor = cursor.map(str::to_owned);
    let store = hub.store.clone();
    let page = blocking(move || {
        if store.get_element_for(&id, &reader)?.is_none() {
            return Err(Error::not_found(format!("element {id}")));
        }
        store.proposals_of(&id, &reader, limit, cursor.as_deref())
    })
    .await?;
    let now = model::now_seconds();
    let items: Vec<Value> = page.items.iter().map(|p| proposal_json(p, now)).collect();
    Ok(Json(json!({"items": items, "next": page.next})))
}

#[rocket::get("/api/v1/proposals/<id>")]
async fn get_proposal(hub: &State<Hub>, reader: Reader, id: Result<ElementId, Error>) -> Answer<Json<Value>> {
    module_on(hub)?;
    let id = id?;
    let store = hub.store.clone();
    let p = blocking(move || {
        store
            .proposal_for(&id, &reader)?
            .ok_or_else(|| Error::not_found(format!("proposal {id}")))
    })
    .await?;
    Ok(Json(proposal_json(&p, model::now_seconds())))
}

#[rocket::patch("/api/v1/proposals/<id>", data = "<body>")]
async fn update_proposal(
    hub: &State<Hub>,
    user: Result<User, Error>,
    id: Result<ElementId, Error>,
    body: Result<JsonObject, Error>,
) -> Answer<Json<Value>> {
    module_on(hub)?;
    let (user, id) = (user?, id?);
    let mut body = Body::new(hub, body)?;
    if body.has("close") {
        let close_it = matches!(body.fields.remove("close"), Some(Value::Bool(true)));
        if !close_it {
            return Err(invalid("close", "must be true (a closed proposal stays closed)"));
        }
        body.finish("close alone")?;
        let p = close(hub, &user.person, &id).await?;
        return Ok(Json(proposal_json(&p, model::now_seconds())));
    }
    let description = if body.has("description") {
        Some(body.string("description")?)
    } else {
        None
    };
    let change = ProposalEdit {
        title: body.string("title")?,
        description,
        deadline: body.date("deadline")?,
        visibility: body.choice("visibility", ResultsVisibility::parse, VISIBILITIES)?,
    };
    body.finish("close, or title, description, deadline, visibility")?;
    if change == ProposalEdit::default() {
        return Err(invalid(
            "title",
            "say close, or title, description, deadline or visibility",
        ));
    }
    let p = edit(hub, &user.person, &id, change).await?;
    Ok(Json(proposal_json(&p, model::now_seconds())))
}

#[rocket::put("/api/v1/proposals/<id>/vote", data = "<body>")]
async fn vote(
    hub: &State<Hub>,
    user: Result<User, Error>,
    id: Result<ElementId, Error>,
    body: Result<JsonObject, Error>,
) -> Answer<Json<Value>> {
    module_on(hub)?;
    let (user, id) = (user?, id?);
    let mut body = Body::new(hub, body)?;
    let vote = body
        .choice("vote", Vote::parse, VOTES)?
        .ok_or_else(|| invalid("vote", format!("is required: {VOTES}")))?;
    body.finish("vote")?;
    let p = cast_vote(hub, &user.person, &id, vote).await?;
    Ok(Json(proposal_json(&p, model::now_seconds())))
}

#[rocket::post("/api/v1/elements/<id>/actions", data = "<body>")]
async fn post_action(
    hub: &State<Hub>,
    user: Result<User, Error>,
    id: Result<ElementId, Error>,
    body: Result<JsonObject, Error>,
) -> Answer<(Status, Json<Value>)> {
    module_on(hub)?;
    let (user, id) = (user?, id?);
    let mut body = Body::new(hub, body)?;
    let new = NewAction {
        title: body.string("title")?.ok_or_else(|| invalid("title", "is required"))?,
        description: body.string("description")?,
        status: body
            .choice("status", ActionStatus::parse, STATUSES)?
            .unwrap_or_default(),
        due: body.date("due")?.flatten(),
        assignees: body.ids("assignees")?.unwrap_or_default(),
    };
    body.finish("title, description, status, due, assignees")?;
    let a = create_action(hub, &user.person, &id, new).await?;
    Ok((Status::Created, Json(action_json(&a))))
}

#[rocket::get("/api/v1/elements/<id>/actions?<limit>&<cursor>")]
async fn list_actions(
    hub: &State<Hub>,
    reader: Reader,
    id: Result<ElementId, Error>,
    limit: Option<&str>,
    cursor: Option<&str>,
) -> Answer<Json<Value>> {
    module_on(hub)?;
    let id = id?;
    let limit = parse_limit(limit)?;
    let cursor = cursor.map(str::to_owned);
    let store = hub.store.clone();
    let page = blocking(move || {
        if store.get_element_for(&id, &reader)?.is_none() {
            return Err(Error::not_found(format!("element {id}")));
        }
        store.actions_of(&id, &reader, limit, cursor.as_deref())
    })
    .await?;
    let items: Vec<Value> = page.items.iter().map(action_json).collect();
    Ok(Json(json!({"items": items, "next": page.next})))
}

#[rocket::get("/api/v1/actions/<id>")]
async fn get_action(hub: &State<Hub>, reader: Reader, id: Result<ElementId, Error>) -> Answer<Json<Value>> {
    module_on(hub)?;
    let id = id?;
    let store = hub.store.clone();
    let a = blocking(move || {
        store
            .action_for(&id, &reader)?
            .ok_or_else(|| Error::not_found(format!("action {id}")))
    })
    .await?;
    Ok(Json(action_json(&a)))
}

#[rocket::patch("/api/v1/actions/<id>", data = "<body>")]
async fn patch_action(
    hub: &State<Hub>,
    user: Result<User, Error>,
    id: Result<ElementId, Error>,
    body: Result<JsonObject, Error>,
) -> Answer<Json<Value>> {
    module_on(hub)?;
    let (user, id) = (user?, id?);
    let mut body = Body::new(hub, body)?;
    let description = if body.has("description") {
        Some(body.string("description")?)
    } else {
        None
    };
    let change = ActionEdit {
        title: body.string("title")?,
        description,
        status: body.choice("status", ActionStatus::parse, STATUSES)?,
        due: body.date("due")?,
        assignees: body.ids("assignees")?,
    };
    body.finish("title, description, status, due, assignees")?;
    if change == ActionEdit::default() {
        return Err(invalid("status", "say status, title, description, due or assignees"));
    }
    let a = update_action(hub, &user.person, &id, change).await?;
    Ok(Json(action_json(&a)))
}

#[rocket::get("/api/v1/me/cooperative")]
async fn mine(hub: &State<Hub>, user: Result<User, Error>) -> Answer<Json<Value>> {
    module_on(hub)?;
    let user = user?;
    let (space, elements) = my_space(hub, &user.person).await?;
    let now = model::now_seconds();
    let proposals = |list: &[Proposal]| list.iter().map(|p| proposal_json(p, now)).collect::<Vec<_>>();
    let refs: Map<String, Value> = elements.iter().map(|(id, e)| (id.clone(), element_ref(e))).collect();
    Ok(Json(json!({
        "toVote": proposals(&space.to_vote),
        "votes": proposals(&space.voted),
        "actions": space.actions.iter().map(action_json).collect::<Vec<_>>(),
        "elements": refs,
    })))
}

pub fn stage() -> AdHoc {
    AdHoc::on_ignite("cooperative space", |rocket| async {
        rocket.mount(
            "/",
            rocket::routes![
                create_proposal,
                list_proposals,
                get_proposal,
                update_proposal,
                vote,
                post_action,
                list_actions,
                get_action,
                patch_action,
                mine,
            ],
        )
    })
}

#[cfg(test)]
#[path = "coop_tests.rs"]
mod tests;
