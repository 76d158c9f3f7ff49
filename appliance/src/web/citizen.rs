//! What a signed-in person does from the pages (issue 5), as HTML forms: follow, ask to
//! join, post on a journal with an audience, comment; the home feed of what one follows;
//! joining with an invitation code. Every form carries the session's CSRF token (checked
//! with [`crate::api::User::csrf_matches`]); the rules are the API's (`api/citizens.rs`):
//! members post on a group's journal, a person on their own; anyone who may see an element
//! may follow it, comment, or ask to join it.

use maud::{html, Markup};
use rocket::form::{Form, FromForm};
use rocket::http::Status;
use rocket::response::Redirect;

use super::layout::{enc, page, Ctx};
use super::pages::{bad, fail, load, Failure, Html};
use super::view;
use crate::error::Error;
use crate::model::{Audience, Element, ElementId, Kind};
use crate::store::{Context, Membership, NewPost, Standing};

#[derive(FromForm)]
pub struct ActionForm<'r> {
    csrf: &'r str,
    /// follow, unfollow, join
    action: Option<&'r str>,
    text: Option<&'r str>,
    audience: Option<&'r str>,
    /// The post a comment answers (none: a comment on the element).
    post: Option<&'r str>,
}

/// What the element page shows a signed-in person: their standing and the forms it allows.
pub fn forms(ctx: &Ctx<'_>, e: &Element, standing: Option<&Standing>) -> Markup {
    let Some(user) = &ctx.user else {
        return html! {
            p.actions { a.button.secondary href={ "/login?back=" (enc(&view::url(e))) } { (ctx.t("element-actions-signin")) } }
        };
    };
    let csrf = user.csrf().unwrap_or("");
    let action = format!("{}/act", view::url(e));
    let member = standing.is_some_and(Standing::member);
    let follower = standing.is_some_and(|s| s.follower);
    let pending = standing.is_some_and(|s| matches!(s.membership, Membership::Pending { .. }));
    let itself = standing.is_some_and(|s| s.itself);
    let may_post = if e.kind == Kind::Person { itself } else { member };
    let groups = matches!(e.kind, Kind::Organization | Kind::Project | Kind::Event);
    html! {
        div.actions {
            @if !itself {
                form method="post" action=(action) {
                    input type="hidden" name="csrf" value=(csrf);
                    @if follower {
                        button.secondary type="submit" name="action" value="unfollow" { (ctx.t("element-unfollow")) }
                    } @else {
                        button.secondary type="submit" name="action" value="follow" { (ctx.t("element-follow")) }
                    }
                }
            }
            @if groups && !member {
                @if pending {
                    span.meta { (ctx.t("element-join-pending")) }
                } @else {
                    form method="post" action=(action) {
                        input type="hidden" name="csrf" value=(csrf);
                        button.secondary type="submit" name="action" value="join" { (ctx.t("element-join")) }
                    }
                }
            }
            @if member && !itself { span.meta { (ctx.t("element-you-are-member")) } }
        }
        @if may_post {
            form.filters method="post" action=(action) {
                input type="hidden" name="csrf" value=(csrf);
                div {
                    label for="post-text" { (ctx.t("journal-new")) }
                    textarea #post-text name="text" rows="3" required maxlength="5000" {}
                }
                div {
                    label for="post-audience" { (ctx.t("journal-audience")) }
                    select #post-audience name="audience" {
                        @for (value, id) in [("public", "audience-public"), ("members", "audience-members"), ("followers", "audience-followers"), ("private", "audience-private")] {
                            option value=(value) { (ctx.t(id)) }
                        }
                    }
                }
                button type="submit" { (ctx.t("journal-publish")) }
            }
        }
    }
}

/// A comment form under a post (or on the element when `post` is none).
pub fn comment_form(ctx: &Ctx<'_>, e: &Element, post: Option<&ElementId>) -> Markup {
    let Some(user) = &ctx.user else { return html! {} };
    let id = format!("comment-{}", post.map_or("element".to_owned(), ToString::to_string));
    html! {
        form.comment method="post" action={ (view::url(e)) "/act" } {
            input type="hidden" name="csrf" value=(user.csrf().unwrap_or(""));
            @if let Some(p) = post { input type="hidden" name="post" value=(p); }
            label.visually-hidden for=(id) { (ctx.t("comment-label")) }
            input #(id) type="text" name="text" required maxlength="2000" placeholder=(ctx.t("comment-label"));
            " " button.secondary type="submit" { (ctx.t("comment-send")) }
        }
    }
}

fn forbidden(ctx: &Ctx<'_>, message: String) -> Failure {
    Failure(
        Status::Forbidden,
        super::layout::error_page(ctx, 403, &message).into_string(),
    )
}

/// `POST /{kind}/{slug}/act`: follow, unfollow, join, post or comment, then back to the page.
#[rocket::post("/<kind>/<slug>/act", data = "<form>", rank = 20)]
pub async fn act(ctx: Ctx<'_>, kind: &str, slug: &str, form: Form<ActionForm<'_>>) -> Result<Redirect, Failure> {
    let Some(user) = ctx.user.clone() else {
        return Ok(Redirect::to(format!("/login?back={}", enc(&format!("/{kind}/{slug}")))));
    };
    if !user.csrf_matches(Some(form.csrf)) {
        return Err(forbidden(&ctx, ctx.t("account-form-expired")));
    }
    let e = super::element::find(&ctx, kind, slug).await?;
    let back = view::url(&e);
    let store = ctx.hub.store.clone();
    let (id, person) = (e.id.clone(), user.person.clone());
    let standing = load(&ctx, move || store.standing(&id, &person))
        .await?
        .ok_or_else(|| fail(&ctx, Error::not_found(slug.to_owned())))?;
    let store = ctx.hub.store.clone();
    let (id, person) = (e.id.clone(), user.person.clone());
    match (form.action, form.text.map(str::trim)) {
        (Some("follow"), _) => {
            load(&ctx, move || store.follow(&person, &id)).await?;
        }
        (Some("unfollow"), _) => {
            load(&ctx, move || store.unfollow(&person, &id)).await?;
        }
        (Some("join"), _) => {
            load(&ctx, move || store.request_to_join(&id, &person)).await?;
        }
        (Some(other), _) => return Err(bad(&ctx, format!("action {other:?}"))),
        (None, Some(text)) if !text.is_empty() && text.chars().count() <= 5000 => {
            let text = text.to_owned();
            if form.audience.is_some() {
                let allowed = if e.kind == Kind::Person {
                    standing.itself
                } else {
                    standing.member()
                };
                if !allowed {
                    return Err(forbidden(&ctx, ctx.t("journal-members-only")));
                }
                let audience = match form.audience {
                    Some("public") => Audience::Public,
                    Some("members") => Audience::Members,
                    Some("followers") => Audience::Followers,
                    Some("private") => Audience::Private,
                    other => return Err(bad(&ctx, format!("audience {other:?}"))),
                };
                let post = NewPost {
                    text,
                    audience,
                    tags: Vec::new(),
                };
                load(&ctx, move || store.create_post(&id, &person, &post)).await?;
            } else {
                let context = match form.post {
                    Some(p) => Context::Post(ElementId::parse(p).ok_or_else(|| bad(&ctx, format!("post {p:?}")))?),
                    None => Context::Element(id),
                };
                let reader = ctx.reader.clone();
                load(&ctx, move || {
                    // The post must be one this reader sees, on this element.
                    if let Context::Post(p) = &context {
                        if store.post_for(p, &reader)?.is_none() {
                            return Err(Error::not_found(format!("post {p}")));
                        }
                    }
                    store.create_comment(&context, None, &person, &text)
                })
                .await?;
            }
        }
        _ => return Err(bad(&ctx, ctx.t("comment-empty"))),
    }
    Ok(Redirect::to(back))
}

#[derive(FromForm)]
pub struct ReportForm<'r> {
    csrf: &'r str,
    reason: &'r str,
}

/// A report form, for anyone (before signing in, a double-submit token guards it).
pub fn report_form(ctx: &Ctx<'_>, e: &Element, form_token: &str) -> Markup {
    let csrf = ctx.user.as_ref().and_then(|u| u.csrf()).unwrap_or(form_token);
    html! {
        details.report {
            summary { (ctx.t("report-title")) }
            form method="post" action={ (view::url(e)) "/report" } {
                input type="hidden" name="csrf" value=(csrf);
                label for="report-reason" { (ctx.t("report-reason")) }
                textarea #report-reason name="reason" rows="2" required maxlength="1000" {}
                button.secondary type="submit" { (ctx.t("report-send")) }
            }
        }
    }
}

/// `POST /{kind}/{slug}/report`: anyone reports an element to the admin (rate-limited).
#[rocket::post("/<kind>/<slug>/report", data = "<form>", rank = 20)]
pub async fn report(
    ctx: Ctx<'_>,
    jar: &rocket::http::CookieJar<'_>,
    limits: &rocket::State<crate::api::moderation::Limits>,
    client: crate::api::accounts::ClientKey,
    kind: &str,
    slug: &str,
    form: Form<ReportForm<'_>>,
) -> Result<Html, Failure> {
    let valid = match &ctx.user {
        Some(user) => user.csrf_matches(Some(form.csrf)),
        None => super::account::form_token_matches(jar, form.csrf),
    };
    if !valid {
        return Err(forbidden(&ctx, ctx.t("account-form-expired")));
    }
    let reason = form.reason.trim();
    if reason.is_empty() || reason.chars().count() > 1000 {
        return Err(bad(&ctx, ctx.t("comment-empty")));
    }
    let e = super::element::find(&ctx, kind, slug).await?;
    let reporter = limits.reporter(&ctx.reader, &client.0).map_err(|wait| {
        let body = super::layout::error_page(
            &ctx,
            429,
            &ctx.ta(
                "account-throttled",
                &[("seconds", (wait.as_secs().max(1) as i64).into())],
            ),
        );
        Failure(Status::TooManyRequests, body.into_string())
    })?;
    let store = ctx.hub.store.clone();
    let (target, reason) = (
        crate::store::Target::new(crate::store::TargetKind::Element, e.id.clone()),
        reason.to_owned(),
    );
    load(&ctx, move || {
        store.create_report(&crate::store::NewReport {
            target,
            reason,
            reporter,
        })
    })
    .await?;
    let body = html! {
        h1 { (ctx.t("report-thanks")) }
        p { a href=(view::url(&e)) { "← " (view::name(&e)) } }
    };
    Ok(Html::from(page(&ctx, &ctx.t("report-thanks"), body)))
}

#[derive(FromForm)]
pub struct SubmissionForm<'r> {
    csrf: &'r str,
    kind: &'r str,
    name: &'r str,
    description: Option<&'r str>,
    /// Events: `YYYY-MM-DDTHH:MM` (a datetime-local field).
    start: Option<&'r str>,
    end: Option<&'r str>,
    locality: Option<&'r str>,
    postal_code: Option<&'r str>,
}

fn submission_page(ctx: &Ctx<'_>, token: &str, error: Option<&str>) -> Markup {
    html! {
        h1 { (ctx.t("submit-title")) }
        p { (ctx.t("submit-intro")) }
        @if let Some(e) = error { p.notice role="alert" { (e) } }
        form.stack method="post" action="/submit" {
            input type="hidden" name="csrf" value=(token);
            fieldset {
                legend { (ctx.t("submit-what")) }
                div { input #s-event type="radio" name="kind" value="event" checked; " " label for="s-event" { (ctx.t("kind-event")) } }
                div { input #s-offer type="radio" name="kind" value="offer"; " " label for="s-offer" { (ctx.t("element-offer")) } }
                div { input #s-need type="radio" name="kind" value="need"; " " label for="s-need" { (ctx.t("element-need")) } }
            }
            div { label for="s-name" { (ctx.t("coop-field-title")) } input #s-name type="text" name="name" required maxlength="200"; }
            div { label for="s-desc" { (ctx.t("coop-field-description")) } textarea #s-desc name="description" rows="4" maxlength="5000" {} }
            div { label for="s-start" { (ctx.t("submit-start")) } input #s-start type="datetime-local" name="start"; }
            div { label for="s-end" { (ctx.t("submit-end")) } input #s-end type="datetime-local" name="end"; }
            div { label for="s-cp" { (ctx.t("submit-postal-code")) } input #s-cp type="text" name="postal_code" inputmode="numeric" maxlength="5"; }
            div { label for="s-town" { (ctx.t("submit-town")) } input #s-town type="text" name="locality" maxlength="100"; }
            button type="submit" { (ctx.t("submit-send")) }
        }
    }
}

/// `/submit`: anyone proposes an event or a mutual-aid offer or need; the admin approves it
/// before it is published.
#[rocket::get("/submit")]
pub fn submit_form(ctx: Ctx<'_>, jar: &rocket::http::CookieJar<'_>) -> Html {
    let token = super::account::form_token(jar);
    Html::from(page(&ctx, &ctx.t("submit-title"), submission_page(&ctx, &token, None)))
}

#[rocket::post("/submit", data = "<form>")]
pub async fn submit(
    ctx: Ctx<'_>,
    jar: &rocket::http::CookieJar<'_>,
    limits: &rocket::State<crate::api::moderation::Limits>,
    client: crate::api::accounts::ClientKey,
    form: Form<SubmissionForm<'_>>,
) -> Result<Html, Failure> {
    let token = super::account::form_token(jar);
    let refuse = |status: Status, message: String| {
        Failure(
            status,
            page(
                &ctx,
                &ctx.t("submit-title"),
                submission_page(&ctx, &token, Some(&message)),
            )
            .into_string(),
        )
    };
    if !super::account::form_token_matches(jar, form.csrf) {
        return Err(refuse(Status::Forbidden, ctx.t("account-form-expired")));
    }
    let mut doc = serde_json::Map::new();
    doc.insert("name".into(), form.name.trim().into());
    if let Some(d) = form.description.map(str::trim).filter(|d| !d.is_empty()) {
        doc.insert("description".into(), d.into());
    }
    let (kind, section) = match form.kind {
        "event" => (Kind::Event, None),
        "offer" => (Kind::Resource, Some("offer")),
        "need" => (Kind::Resource, Some("need")),
        other => return Err(refuse(Status::BadRequest, format!("{other:?}"))),
    };
    match kind {
        Kind::Event => {
            doc.insert("type".into(), "other".into());
            let when = |v: Option<&str>| v.map(str::trim).filter(|v| !v.is_empty()).map(|v| v.replace('T', " "));
            match when(form.start) {
                Some(start) => doc.insert("startDate".into(), start.into()),
                None => return Err(refuse(Status::UnprocessableEntity, ctx.t("submit-start-needed"))),
            };
            if let Some(end) = when(form.end) {
                doc.insert("endDate".into(), end.into());
            }
        }
        _ => {
            doc.insert("section".into(), section.unwrap_or("offer").into());
        }
    }
    let locality = form.locality.map(str::trim).filter(|v| !v.is_empty());
    let postal = form.postal_code.map(str::trim).filter(|v| !v.is_empty());
    if locality.is_some() || postal.is_some() {
        let mut address = serde_json::Map::new();
        address.insert("@type".into(), "PostalAddress".into());
        if let Some(l) = locality {
            address.insert("addressLocality".into(), l.into());
        }
        if let Some(p) = postal {
            address.insert("postalCode".into(), p.into());
        }
        address.insert("addressCountry".into(), "FR".into());
        doc.insert("address".into(), address.into());
    }
    // Bad input is refused before it counts against the limit, and changes nothing.
    if let Err(e) = crate::model::check(kind, &mut doc.clone(), ctx.hub.store.zone()) {
        return Err(refuse(Status::UnprocessableEntity, Error::from(e).public_message()));
    }
    if let Err(wait) = limits.submission(&client.0) {
        let message = ctx.ta(
            "account-throttled",
            &[("seconds", (wait.as_secs().max(1) as i64).into())],
        );
        return Err(refuse(Status::TooManyRequests, message));
    }
    let store = ctx.hub.store.clone();
    load(&ctx, move || store.submit_element(kind, doc)).await?;
    let body = html! {
        h1 { (ctx.t("submit-thanks")) }
        p { a href="/" { (ctx.t("error-back-home")) } }
    };
    Ok(Html::from(page(&ctx, &ctx.t("submit-thanks"), body)))
}

/// `/feed`: the posts of what I follow and belong to.
#[rocket::get("/feed?<cursor>")]
pub async fn feed(ctx: Ctx<'_>, cursor: Option<&str>) -> Result<Result<Html, Redirect>, Failure> {
    let Some(user) = ctx.user.clone() else {
        return Ok(Err(Redirect::to("/login?back=/feed")));
    };
    let store = ctx.hub.store.clone();
    let cursor = cursor.map(str::to_owned);
    let page_ = load(&ctx, move || store.home_feed(&user.person, 20, cursor.as_deref())).await?;
    let body = html! {
        h1 { (ctx.t("feed-title")) }
        p { (ctx.t("feed-intro")) }
        @if page_.items.is_empty() { p.meta { (ctx.t("empty")) } }
        @for (post, element) in &page_.items { (super::pages::post_view(&ctx, post, element.as_ref())) }
        (view::pager(&ctx, page_.next))
    };
    Ok(Ok(Html::from(page(&ctx, &ctx.t("feed-title"), body))))
}

#[derive(FromForm)]
pub struct CsrfForm<'r> {
    csrf: &'r str,
}

/// `/join/{code}`: an invitation: what it is for, and a button to accept it.
#[rocket::get("/join/<code>")]
pub async fn invitation(ctx: Ctx<'_>, code: &str) -> PageResultOrRedirect {
    let store = ctx.hub.store.clone();
    let wanted = code.trim().to_ascii_lowercase();
    let found = load(&ctx, move || {
        let Some(inv) = store.invitation(&wanted)? else {
            return Ok(None);
        };
        Ok(store
            .get_element(&inv.element, crate::store::Visibility::All)?
            .map(|e| (inv, e)))
    })
    .await?;
    let Some((inv, e)) = found else {
        return Err(fail(&ctx, Error::not_found(format!("invitation {code}"))));
    };
    let body = html! {
        h1 { (ctx.ta("invitation-title", &[("name", view::name(&e).into())])) }
        @if !inv.roles.is_empty() { p { (ctx.t("element-roles")) " : " (inv.roles.join(", ")) } }
        @if let Some(user) = &ctx.user {
            form method="post" action={ "/join/" (enc(code)) } {
                input type="hidden" name="csrf" value=(user.csrf().unwrap_or(""));
                button type="submit" { (ctx.t("invitation-accept")) }
            }
        } @else {
            p { a.button href={ "/login?back=" (enc(&ctx.here)) } { (ctx.t("element-actions-signin")) } }
        }
    };
    Ok(Ok(Html::from(page(&ctx, &ctx.t("element-join"), body))))
}

type PageResultOrRedirect = Result<Result<Html, Redirect>, Failure>;

#[rocket::post("/join/<code>", data = "<form>")]
pub async fn accept_invitation(ctx: Ctx<'_>, code: &str, form: Form<CsrfForm<'_>>) -> Result<Redirect, Failure> {
    let Some(user) = ctx.user.clone() else {
        return Ok(Redirect::to(format!("/login?back={}", enc(&format!("/join/{code}")))));
    };
    if !user.csrf_matches(Some(form.csrf)) {
        return Err(forbidden(&ctx, ctx.t("account-form-expired")));
    }
    let store = ctx.hub.store.clone();
    let wanted = code.trim().to_ascii_lowercase();
    let element = load(&ctx, move || {
        let (id, _) = store.join_with_code(&wanted, &user.person)?;
        store.get_element(&id, crate::store::Visibility::All)
    })
    .await?;
    Ok(Redirect::to(element.map_or_else(|| "/".to_owned(), |e| view::url(&e))))
}
