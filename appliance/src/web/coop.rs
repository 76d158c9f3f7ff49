//! The cooperative space's pages, usable without JavaScript: "my cooperative space"
//! (`/cooperative`: proposals to vote on, my votes, my actions) and an element's space
//! (`/{kind}/{slug}/cooperative`: its proposals with their results as their visibility
//! allows and vote forms for members, its actions with their status). Forms post to the
//! handlers below, which check the session's CSRF token in the `csrf` field, follow the
//! API's rules (`api::coop`, the same functions) and redirect back.
//!
//! | route | does |
//! |---|---|
//! | `GET /cooperative` | my cooperative space (sign-in required: redirects to `/login?back=…`) |
//! | `GET /{kind}/{slug}/cooperative` | an element's space (404 for whoever may not see the element) |
//! | `POST /{kind}/{slug}/cooperative/proposals` `csrf, title, description, deadline, visibility` | proposes |
//! | `POST /{kind}/{slug}/cooperative/actions` `csrf, title, description, due, assignees…` | adds an action |
//! | `POST /proposals/{id}/vote` `csrf, vote, back` | votes or changes one's vote |
//! | `POST /proposals/{id}/close` `csrf, back` | an element admin closes a proposal |
//! | `POST /actions/{id}/status` `csrf, status, back` | a member or an assignee changes an action's status |

use std::collections::HashMap;

use maud::{html, Markup};
use rocket::form::{Form, FromForm};
use rocket::http::Status;
use rocket::response::Redirect;
use serde_json::Value;

use super::i18n;
use super::layout::{enc, error_page, page, safe_back, Ctx};
use super::pages::{fail, load, Failure, Html};
use super::view;
use crate::api::citizens::Refusal;
use crate::api::coop as rules;
use crate::api::User;
use crate::config::Module;
use crate::error::Error;
use crate::model::{self, Element, ElementId, Kind};
use crate::store::{
    parse_when, Action, ActionEdit, ActionStatus, NewAction, NewProposal, Proposal, Reader, ResultsVisibility, Vote,
    COOP_MAX_LIMIT,
};

/// Every page route and form handler of the cooperative space.
pub(super) fn routes() -> Vec<rocket::Route> {
    rocket::routes![mine, space, propose, add_action, vote, close, action_status]
}

// ---- helpers ----------------------------------------------------------------------------

fn not_found(ctx: &Ctx<'_>, what: &str) -> Failure {
    fail(ctx, Error::not_found(what.to_owned()))
}

fn module_on(ctx: &Ctx<'_>) -> Result<(), Failure> {
    ctx.hub.require(Module::Cooperative).map_err(|e| fail(ctx, e))
}

/// A refusal of the rules as a page.
fn refused(ctx: &Ctx<'_>, r: Refusal) -> Failure {
    match r {
        Refusal::Api(e) => fail(ctx, e.0),
        Refusal::Forbidden(_) => Failure(
            Status::Forbidden,
            error_page(ctx, 403, &ctx.t("coop-forbidden")).into_string(),
        ),
    }
}

fn csrf_refused(ctx: &Ctx<'_>) -> Failure {
    Failure(
        Status::Forbidden,
        error_page(ctx, 403, &ctx.t("account-form-expired")).into_string(),
    )
}

/// The signed-in person of a form whose CSRF token matches; a redirect to sign in when
/// nobody is; 403 for a missing or wrong token.
fn form_user(ctx: &Ctx<'_>, csrf: Option<&str>, back: &str) -> Result<Result<User, Redirect>, Failure> {
    let Some(user) = ctx.user.clone() else {
        return Ok(Err(Redirect::to(format!("/login?back={}", enc(back)))));
    };
    if !user.csrf_matches(csrf) {
        return Err(csrf_refused(ctx));
    }
    Ok(Ok(user))
}

/// The element of `/{kind}/{slug}` (or `/{kind}/{id}`) as `reader` may see it; 404 otherwise.
async fn find(ctx: &Ctx<'_>, reader: Reader, kind: &str, slug: &str) -> Result<Element, Failure> {
    let Some(kind) = Kind::parse(kind).filter(|k| k.as_str() == kind) else {
        return Err(not_found(ctx, kind));
    };
    let store = ctx.hub.store.clone();
    let slug_owned = slug.to_owned();
    let element = load(ctx, move || {
        let id = match store.element_id_by_slug(&slug_owned)? {
            Some(id) => Some(id),
            None => ElementId::parse(&slug_owned),
        };
        match id {
            Some(id) => store.get_element_for(&id, &reader),
            None => Ok(None),
        }
    })
    .await?;
    element.filter(|e| e.kind == kind).ok_or_else(|| not_found(ctx, slug))
}

/// The reader a form's person is (forms carry no CSRF header, so `ctx.reader` is anonymous).
async fn reader_of(ctx: &Ctx<'_>, person: &ElementId) -> Result<Reader, Failure> {
    let (store, person) = (ctx.hub.store.clone(), person.clone());
    load(ctx, move || store.reader_for(&person)).await
}

fn coop_url(e: &Element) -> String {
    format!("{}/cooperative", view::url(e))
}

/// "28/11/2026, 14 h 30" in the hub's zone.
fn when(ctx: &Ctx<'_>, secs: i64) -> String {
    jiff::Timestamp::from_second(secs)
        .map(|t| {
            let z = t.to_zoned_datetime(ctx.hub.store.zone().clone());
            format!(
                "{}, {}",
                i18n::date_short(ctx.lang, z.date()),
                i18n::time(ctx.lang, z.time())
            )
        })
        .unwrap_or_default()
}

fn day(ctx: &Ctx<'_>, secs: i64) -> String {
    jiff::Timestamp::from_second(secs)
        .map(|t| i18n::date_short(ctx.lang, t.to_zoned_datetime(ctx.hub.store.zone().clone()).date()))
        .unwrap_or_default()
}

fn vote_label(ctx: &Ctx<'_>, v: Vote) -> String {
    ctx.t(&format!("coop-vote-{}", v.as_str()))
}

fn status_label(ctx: &Ctx<'_>, s: ActionStatus) -> String {
    ctx.t(&format!("coop-status-{}", s.as_str()))
}

/// A date field of a form (`label`: its message id): empty is none; anything else must read
/// as a date.
fn form_date(ctx: &Ctx<'_>, label: &str, value: Option<&str>) -> Result<Option<i64>, Failure> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => parse_when(&Value::String(v.to_owned()), ctx.hub.store.zone())
            .map(Some)
            .ok_or_else(|| {
                Failure(
                    Status::UnprocessableEntity,
                    error_page(ctx, 422, &ctx.ta("coop-bad-date", &[("field", ctx.t(label).into())])).into_string(),
                )
            }),
    }
}

// ---- pieces -----------------------------------------------------------------------------

/// What a person may do in the spaces on a page.
struct Powers<'a> {
    csrf: Option<&'a str>,
    person: Option<&'a ElementId>,
    /// Elements where the person is a member (their own person element included).
    member_of: &'a [ElementId],
    /// Elements where the person is an admin.
    admin_of: &'a [ElementId],
    back: &'a str,
}

impl Powers<'_> {
    fn member(&self, element: &ElementId) -> bool {
        self.person == Some(element) || self.member_of.contains(element)
    }
}

fn hidden_fields(csrf: &str, back: &str) -> Markup {
    html! {
        input type="hidden" name="csrf" value=(csrf);
        input type="hidden" name="back" value=(back);
    }
}

fn proposal_view(ctx: &Ctx<'_>, p: &Proposal, now: i64, powers: &Powers<'_>, heading: &str) -> Markup {
    let open = p.is_open(now);
    let anchor = format!("p-{}", p.id);
    html! {
        article.proposal id=(anchor) {
            @if heading == "h2" { h2 { (p.title) } } @else { h3 { (p.title) } }
            p.meta {
                @if open { strong { (ctx.t("coop-open")) } } @else { strong { (ctx.t("coop-closed")) } }
                " · "
                @match p.deadline {
                    Some(d) => (ctx.ta("coop-deadline-at", &[("when", when(ctx, d).into())])),
                    None => (ctx.t("coop-no-deadline")),
                }
                " · "
                @if p.visibility == ResultsVisibility::Live { (ctx.t("coop-results-live")) } @else { (ctx.t("coop-results-at-close")) }
            }
            @if let Some(d) = &p.description { p { (d) } }
            @match p.results(now) {
                Some(t) => {
                    table.results {
                        caption { (ctx.t("coop-results")) }
                        tbody {
                            @for v in Vote::ALL {
                                tr { th scope="row" { (vote_label(ctx, v)) } td { (ctx.n(t.count(v))) } }
                            }
                            tr { th scope="row" { (ctx.t("coop-total")) } td { (ctx.n(t.total())) } }
                        }
                    }
                },
                None => p.meta { (ctx.t("coop-results-hidden")) },
            }
            @if let Some(v) = p.my_vote {
                p { (ctx.t("coop-my-vote")) " " strong { (vote_label(ctx, v)) } }
            }
            @if let (Some(csrf), true, true) = (powers.csrf, open, powers.member(&p.element)) {
                form method="post" action={ "/proposals/" (p.id) "/vote" } {
                    (hidden_fields(csrf, powers.back))
                    fieldset {
                        legend { (ctx.t("coop-your-vote")) }
                        @for v in Vote::ALL {
                            @let id = format!("v-{}-{}", p.id, v.as_str());
                            div {
                                input type="radio" name="vote" id=(id) value=(v.as_str()) checked[p.my_vote == Some(v)] required;
                                " " label for=(id) { (vote_label(ctx, v)) }
                            }
                        }
                    }
                    button type="submit" {
                        @if p.my_vote.is_some() { (ctx.t("coop-change-vote")) } @else { (ctx.t("coop-vote")) }
                    }
                }
            }
            @if let (Some(csrf), true, true) = (powers.csrf, open, powers.admin_of.contains(&p.element)) {
                form method="post" action={ "/proposals/" (p.id) "/close" } {
                    (hidden_fields(csrf, powers.back))
                    button.secondary type="submit" { (ctx.t("coop-close")) }
                }
            }
        }
    }
}

fn action_view(
    ctx: &Ctx<'_>,
    a: &Action,
    names: &HashMap<String, String>,
    powers: &Powers<'_>,
    heading: &str,
) -> Markup {
    let assigned: Vec<&str> = a
        .assignees
        .iter()
        .map(|id| names.get(id.as_str()).map_or("—", String::as_str))
        .collect();
    let may_change = powers.member(&a.element) || powers.person.is_some_and(|p| a.assignees.contains(p));
    html! {
        article.action id={ "a-" (a.id) } {
            @if heading == "h2" { h2 { (a.title) } } @else { h3 { (a.title) } }
            p.meta {
                strong { (status_label(ctx, a.status)) }
                @if let Some(d) = a.due { " · " (ctx.ta("coop-due", &[("when", day(ctx, d).into())])) }
                " · "
                @if assigned.is_empty() { (ctx.t("coop-unassigned")) }
                @else { (ctx.ta("coop-assigned", &[("names", assigned.join(", ").into())])) }
            }
            @if let Some(d) = &a.description { p { (d) } }
            @if let (Some(csrf), true) = (powers.csrf, may_change) {
                form.inline method="post" action={ "/actions/" (a.id) "/status" } {
                    (hidden_fields(csrf, powers.back))
                    @let id = format!("s-{}", a.id);
                    label for=(id) { (ctx.t("coop-status")) }
                    " "
                    select id=(id) name="status" {
                        @for s in ActionStatus::ALL {
                            option value=(s.as_str()) selected[s == a.status] { (status_label(ctx, s)) }
                        }
                    }
                    " " button type="submit" { (ctx.t("coop-update")) }
                }
            }
        }
    }
}

/// The new-proposal form of an element's space.
fn proposal_form(ctx: &Ctx<'_>, e: &Element, csrf: &str) -> Markup {
    html! {
        form.stack method="post" action={ (coop_url(e)) "/proposals" } {
            input type="hidden" name="csrf" value=(csrf);
            div {
                label for="np-title" { (ctx.t("coop-field-title")) }
                input #np-title type="text" name="title" required maxlength="200";
            }
            div {
                label for="np-description" { (ctx.t("coop-field-description")) }
                textarea #np-description name="description" rows="4" {}
            }
            div {
                label for="np-deadline" { (ctx.t("coop-field-deadline")) }
                input #np-deadline type="datetime-local" name="deadline" aria-describedby="np-deadline-help";
                p.meta #np-deadline-help { (ctx.t("coop-deadline-help")) }
            }
            fieldset {
                legend { (ctx.t("coop-field-visibility")) }
                div {
                    input #np-live type="radio" name="visibility" value="live" checked;
                    " " label for="np-live" { (ctx.t("coop-results-live")) }
                }
                div {
                    input #np-closed type="radio" name="visibility" value="closed";
                    " " label for="np-closed" { (ctx.t("coop-results-at-close")) }
                }
            }
            button type="submit" { (ctx.t("coop-propose")) }
        }
    }
}

/// The new-action form of an element's space, with its members as possible assignees.
fn action_form(ctx: &Ctx<'_>, e: &Element, csrf: &str, members: &[(String, String)]) -> Markup {
    html! {
        form.stack method="post" action={ (coop_url(e)) "/actions" } {
            input type="hidden" name="csrf" value=(csrf);
            div {
                label for="na-title" { (ctx.t("coop-field-title")) }
                input #na-title type="text" name="title" required maxlength="200";
            }
            div {
                label for="na-description" { (ctx.t("coop-field-description")) }
                textarea #na-description name="description" rows="3" {}
            }
            div {
                label for="na-due" { (ctx.t("coop-field-due")) }
                input #na-due type="date" name="due";
            }
            @if !members.is_empty() {
                fieldset {
                    legend { (ctx.t("coop-field-assignees")) }
                    @for (i, (id, name)) in members.iter().enumerate() {
                        @let field = format!("na-assignee-{i}");
                        div {
                            input type="checkbox" name="assignees" id=(field) value=(id);
                            " " label for=(field) { (name) }
                        }
                    }
                }
            }
            button type="submit" { (ctx.t("coop-add-action")) }
        }
    }
}

/// Validated members (persons) of an element, by link: (id, name) once loaded.
fn member_ids(e: &Element) -> Vec<String> {
    let flag = |attrs: &serde_json::Map<String, Value>, key: &str| {
        attrs.get(key).is_some_and(|v| v == &Value::Bool(true) || v == "true")
    };
    let mut ids: Vec<String> = e
        .links
        .iter()
        .filter(|l| matches!(l.link_type.as_str(), "members" | "contributors" | "attendees"))
        .filter(|l| l.other_type().is_none_or(|t| t == "citoyens"))
        .filter(|l| !flag(&l.attrs, "toBeValidated") && !flag(&l.attrs, "isInviting"))
        .map(|l| l.other.to_string())
        .collect();
    if e.kind == Kind::Person {
        ids.push(e.id.to_string());
    }
    ids.sort();
    ids.dedup();
    ids
}

/// Names of persons the reader may see.
fn person_names(
    store: &crate::store::Store,
    reader: &Reader,
    ids: &[String],
) -> crate::error::Result<HashMap<String, String>> {
    Ok(store
        .get_elements(ids)?
        .into_iter()
        .filter(|p| p.kind == Kind::Person && reader.may_see(p))
        .map(|p| (p.id.to_string(), view::name(&p).to_owned()))
        .collect())
}

// ---- pages ------------------------------------------------------------------------------

/// `/cooperative`: open proposals I can vote on, my votes, the actions assigned to me.
#[rocket::get("/cooperative")]
pub async fn mine(ctx: Ctx<'_>) -> Result<Result<Html, Redirect>, Failure> {
    module_on(&ctx)?;
    let Some(user) = ctx.user.clone() else {
        return Ok(Err(Redirect::to(format!("/login?back={}", enc(&ctx.here)))));
    };
    let (space, elements) = rules::my_space(ctx.hub, &user.person)
        .await
        .map_err(|r| refused(&ctx, r))?;
    let store = ctx.hub.store.clone();
    let reader = ctx.reader.clone();
    let ids: Vec<String> = space
        .actions
        .iter()
        .flat_map(|a| a.assignees.iter().map(ElementId::to_string))
        .collect();
    let names = load(&ctx, move || person_names(&store, &reader, &ids)).await?;
    let now = model::now_seconds();
    let member_of = &ctx.reader.member_of;
    let powers = Powers {
        csrf: user.csrf(),
        person: Some(&user.person),
        member_of,
        admin_of: &[],
        back: "/cooperative",
    };
    let element_link = |id: &ElementId| -> Markup {
        html! {
            @if let Some(e) = elements.get(id.as_str()) {
                p.meta { (view::kind_label(&ctx, e.kind)) " · " a href={ (coop_url(e)) } { (view::name(e)) } }
            }
        }
    };
    let body = html! {
        h1 { (ctx.t("coop-mine-title")) }
        p { (ctx.t("coop-mine-intro")) }
        section {
            h2 { (ctx.t("coop-to-vote")) }
            @if space.to_vote.is_empty() { p.meta { (ctx.t("coop-nothing-to-vote")) } }
            @for p in &space.to_vote {
                (element_link(&p.element))
                (proposal_view(&ctx, p, now, &powers, "h3"))
            }
        }
        section {
            h2 { (ctx.t("coop-my-votes")) }
            @if space.voted.is_empty() { p.meta { (ctx.t("empty")) } }
            @for p in &space.voted {
                (element_link(&p.element))
                (proposal_view(&ctx, p, now, &powers, "h3"))
            }
        }
        section {
            h2 { (ctx.t("coop-my-actions")) }
            @if space.actions.is_empty() { p.meta { (ctx.t("empty")) } }
            @for a in &space.actions {
                (element_link(&a.element))
                (action_view(&ctx, a, &names, &powers, "h3"))
            }
        }
    };
    Ok(Ok(Html::from(page(&ctx, &ctx.t("coop-mine-title"), body))))
}

/// `/{kind}/{slug}/cooperative`: the element's proposals and actions.
#[rocket::get("/<kind>/<slug>/cooperative", rank = 19)]
pub async fn space(ctx: Ctx<'_>, kind: &str, slug: &str) -> Result<Html, Failure> {
    module_on(&ctx)?;
    let element = find(&ctx, ctx.reader.clone(), kind, slug).await?;
    let (element, proposals, actions) = rules::space(ctx.hub, ctx.reader.clone(), &element.id, COOP_MAX_LIMIT)
        .await
        .map_err(|r| refused(&ctx, r))?;
    let user = ctx.user.clone();
    let store = ctx.hub.store.clone();
    let reader = ctx.reader.clone();
    let (e, person) = (element.id.clone(), user.as_ref().map(|u| u.person.clone()));
    let mut ids = member_ids(&element);
    ids.extend(
        actions
            .iter()
            .flat_map(|a| a.assignees.iter().map(ElementId::to_string)),
    );
    ids.sort();
    ids.dedup();
    let (standing, names) = load(&ctx, move || {
        let standing = match &person {
            Some(p) => store.standing(&e, p)?,
            None => None,
        };
        Ok((standing, person_names(&store, &reader, &ids)?))
    })
    .await?;
    let (member, admin) = standing.as_ref().map_or((false, false), |s| {
        (s.visible() && s.member(), s.visible() && s.admin())
    });
    let csrf = user.as_ref().and_then(User::csrf);
    let me = [element.id.clone()];
    let here = coop_url(&element);
    let powers = Powers {
        csrf,
        person: user.as_ref().map(|u| &u.person),
        member_of: if member { &me } else { &[] },
        admin_of: if admin { &me } else { &[] },
        back: &here,
    };
    let members: Vec<(String, String)> = member_ids(&element)
        .into_iter()
        .filter_map(|id| names.get(&id).map(|n| (id.clone(), n.clone())))
        .collect();
    let now = model::now_seconds();
    let name = view::name(&element);
    let title = ctx.ta("coop-space-title", &[("name", name.into())]);
    let body = html! {
        p.meta { a href=(view::url(&element)) { "← " (name) } }
        h1 { (title) }
        @if user.is_none() {
            p { a href={ "/login?back=" (enc(&here)) } { (ctx.t("coop-signin")) } }
        } @else if !member {
            p.meta { (ctx.t("coop-members-only")) }
        }
        section {
            h2 { (ctx.t("coop-proposals")) }
            @if proposals.is_empty() { p.meta { (ctx.t("empty")) } }
            @for p in &proposals { (proposal_view(&ctx, p, now, &powers, "h3")) }
            @if let (Some(csrf), true) = (csrf, member) {
                details {
                    summary { (ctx.t("coop-new-proposal")) }
                    (proposal_form(&ctx, &element, csrf))
                }
            }
        }
        section {
            h2 { (ctx.t("coop-actions")) }
            @if actions.is_empty() { p.meta { (ctx.t("empty")) } }
            @for a in &actions { (action_view(&ctx, a, &names, &powers, "h3")) }
            @if let (Some(csrf), true) = (csrf, member) {
                details {
                    summary { (ctx.t("coop-new-action")) }
                    (action_form(&ctx, &element, csrf, &members))
                }
            }
        }
    };
    Ok(Html::from(page(&ctx, &title, body)))
}

// ---- forms ------------------------------------------------------------------------------

#[derive(FromForm)]
pub struct ProposalForm<'r> {
    csrf: Option<&'r str>,
    title: Option<&'r str>,
    description: Option<&'r str>,
    deadline: Option<&'r str>,
    visibility: Option<&'r str>,
}

#[derive(FromForm)]
pub struct ActionForm<'r> {
    csrf: Option<&'r str>,
    title: Option<&'r str>,
    description: Option<&'r str>,
    due: Option<&'r str>,
    assignees: Vec<&'r str>,
}

#[derive(FromForm)]
pub struct ChoiceForm<'r> {
    csrf: Option<&'r str>,
    back: Option<&'r str>,
    vote: Option<&'r str>,
    status: Option<&'r str>,
}

fn bad_field(ctx: &Ctx<'_>, id: &str) -> Failure {
    Failure(
        Status::UnprocessableEntity,
        error_page(ctx, 422, &ctx.t(id)).into_string(),
    )
}

/// The element of a form's `/{kind}/{slug}/cooperative/…`, as the form's person sees it.
async fn form_element(ctx: &Ctx<'_>, user: &User, kind: &str, slug: &str) -> Result<Element, Failure> {
    let reader = reader_of(ctx, &user.person).await?;
    find(ctx, reader, kind, slug).await
}

#[rocket::post("/<kind>/<slug>/cooperative/proposals", data = "<form>")]
pub async fn propose(ctx: Ctx<'_>, kind: &str, slug: &str, form: Form<ProposalForm<'_>>) -> Result<Redirect, Failure> {
    module_on(&ctx)?;
    let here = format!("/{}/{}/cooperative", enc(kind), enc(slug));
    let user = match form_user(&ctx, form.csrf, &here)? {
        Ok(u) => u,
        Err(to_login) => return Ok(to_login),
    };
    let element = form_element(&ctx, &user, kind, slug).await?;
    let visibility = match form.visibility.filter(|v| !v.is_empty()) {
        None => ResultsVisibility::Live,
        Some(v) => ResultsVisibility::parse(v).ok_or_else(|| bad_field(&ctx, "coop-bad-visibility"))?,
    };
    let new = NewProposal {
        title: form.title.unwrap_or("").to_owned(),
        description: form.description.map(str::to_owned),
        deadline: form_date(&ctx, "coop-field-deadline", form.deadline)?,
        visibility,
    };
    let p = rules::propose(ctx.hub, &user.person, &element.id, new)
        .await
        .map_err(|r| refused(&ctx, r))?;
    Ok(Redirect::to(format!("{}#p-{}", coop_url(&element), p.id)))
}

#[rocket::post("/<kind>/<slug>/cooperative/actions", data = "<form>")]
pub async fn add_action(ctx: Ctx<'_>, kind: &str, slug: &str, form: Form<ActionForm<'_>>) -> Result<Redirect, Failure> {
    module_on(&ctx)?;
    let here = format!("/{}/{}/cooperative", enc(kind), enc(slug));
    let user = match form_user(&ctx, form.csrf, &here)? {
        Ok(u) => u,
        Err(to_login) => return Ok(to_login),
    };
    let element = form_element(&ctx, &user, kind, slug).await?;
    let assignees = form
        .assignees
        .iter()
        .map(|a| ElementId::parse(a).ok_or_else(|| bad_field(&ctx, "coop-bad-assignee")))
        .collect::<Result<Vec<_>, _>>()?;
    let new = NewAction {
        title: form.title.unwrap_or("").to_owned(),
        description: form.description.map(str::to_owned),
        status: ActionStatus::Todo,
        due: form_date(&ctx, "coop-field-due", form.due)?,
        assignees,
    };
    let a = rules::create_action(ctx.hub, &user.person, &element.id, new)
        .await
        .map_err(|r| refused(&ctx, r))?;
    Ok(Redirect::to(format!("{}#a-{}", coop_url(&element), a.id)))
}

/// The id of a form handler's path, or 404.
fn path_id(ctx: &Ctx<'_>, id: &str) -> Result<ElementId, Failure> {
    ElementId::parse(id).ok_or_else(|| not_found(ctx, id))
}

#[rocket::post("/proposals/<id>/vote", data = "<form>")]
pub async fn vote(ctx: Ctx<'_>, id: &str, form: Form<ChoiceForm<'_>>) -> Result<Redirect, Failure> {
    module_on(&ctx)?;
    let back = safe_back(form.back);
    let user = match form_user(&ctx, form.csrf, &back)? {
        Ok(u) => u,
        Err(to_login) => return Ok(to_login),
    };
    let id = path_id(&ctx, id)?;
    let vote = form
        .vote
        .and_then(Vote::parse)
        .ok_or_else(|| bad_field(&ctx, "coop-bad-vote"))?;
    let p = rules::cast_vote(ctx.hub, &user.person, &id, vote)
        .await
        .map_err(|r| refused(&ctx, r))?;
    Ok(Redirect::to(format!("{back}#p-{}", p.id)))
}

#[rocket::post("/proposals/<id>/close", data = "<form>")]
pub async fn close(ctx: Ctx<'_>, id: &str, form: Form<ChoiceForm<'_>>) -> Result<Redirect, Failure> {
    module_on(&ctx)?;
    let back = safe_back(form.back);
    let user = match form_user(&ctx, form.csrf, &back)? {
        Ok(u) => u,
        Err(to_login) => return Ok(to_login),
    };
    let id = path_id(&ctx, id)?;
    let p = rules::close(ctx.hub, &user.person, &id)
        .await
        .map_err(|r| refused(&ctx, r))?;
    Ok(Redirect::to(format!("{back}#p-{}", p.id)))
}

#[rocket::post("/actions/<id>/status", data = "<form>")]
pub async fn action_status(ctx: Ctx<'_>, id: &str, form: Form<ChoiceForm<'_>>) -> Result<Redirect, Failure> {
    module_on(&ctx)?;
    let back = safe_back(form.back);
    let user = match form_user(&ctx, form.csrf, &back)? {
        Ok(u) => u,
        Err(to_login) => return Ok(to_login),
    };
    let id = path_id(&ctx, id)?;
    let status = form
        .status
        .and_then(ActionStatus::parse)
        .ok_or_else(|| bad_field(&ctx, "coop-bad-status"))?;
    let edit = ActionEdit {
        status: Some(status),
        ..ActionEdit::default()
    };
    let a = rules::update_action(ctx.hub, &user.person, &id, edit)
        .await
        .map_err(|r| refused(&ctx, r))?;
    Ok(Redirect::to(format!("{back}#a-{}", a.id)))
}
