//! The first-boot wizard (`/setup`), open only while the hub has no admin (see
//! `crate::setup`): the one-time code from the SD card opens it, then three steps — the admin
//! account, the hub's name and territory, its modules. Each step is kept when submitted, so
//! an interrupted wizard resumes at the first step not done (after the code again). At the
//! end the admin is signed in, the code is forgotten, and every `/setup` route answers 404.
//!
//! The wizard's browser session is a private cookie (encrypted and authenticated with the
//! hub's key) with a random nonce; its forms carry a CSRF token derived from the nonce. Code
//! attempts are limited per client and in total (a neighbour on the open Wi-Fi may change
//! addresses).

use std::time::{Duration, Instant};

use maud::{html, Markup};
use rocket::form::{Form, FromForm};
use rocket::http::{Cookie, CookieJar, SameSite, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::Redirect;
use rocket::{Route, State};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::layout::{page, Ctx};
use super::pages::{load, Failure, Html};
use crate::accounts::Limiter;
use crate::api::accounts::{self as api_accounts, Accounts, ClientKey};
use crate::config::Module;
use crate::error::Error;
use crate::setup::{Found, State as SetupState, Step};
use crate::territory::Scope;

const SETUP_COOKIE: &str = "copi_setup";
const SESSION_HOURS: i64 = 2;

/// Code attempts: 10 per client address, 30 in all, per 15 minutes.
pub struct SetupThrottle {
    per_client: Limiter,
    all: Limiter,
}

impl Default for SetupThrottle {
    fn default() -> Self {
        SetupThrottle {
            per_client: Limiter::new(10, Duration::from_secs(15 * 60)),
            all: Limiter::new(30, Duration::from_secs(15 * 60)),
        }
    }
}

/// A browser that typed the right code, with the CSRF token of its forms.
pub struct SetupSession {
    csrf: String,
}

fn csrf_of(nonce: &str) -> String {
    let digest = Sha256::digest(format!("copi setup csrf v1\0{nonce}").as_bytes());
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for SetupSession {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let now = crate::model::now_seconds();
        let session = req.cookies().get_private(SETUP_COOKIE).and_then(|c| {
            let (nonce, issued) = c.value().split_once(':')?;
            let issued: i64 = issued.parse().ok()?;
            ((0..SESSION_HOURS * 3600).contains(&(now - issued)) && nonce.len() >= 20)
                .then(|| SetupSession { csrf: csrf_of(nonce) })
        });
        match session {
            Some(s) => Outcome::Success(s),
            None => Outcome::Forward(Status::Unauthorized),
        }
    }
}

impl SetupSession {
    fn check(&self, given: &str) -> bool {
        bool::from(self.csrf.as_bytes().ct_eq(given.as_bytes()))
    }
}

/// The step the wizard waits at, or a 404 once the hub has an admin: the wizard is gone.
async fn pending(ctx: &Ctx<'_>) -> Result<Step, Failure> {
    let store = ctx.hub.store.clone();
    let config = ctx.hub.config.clone();
    match load(ctx, move || crate::setup::state(&store, &config)).await? {
        SetupState::Pending(step) => Ok(step),
        SetupState::Done | SetupState::Configured => Err(super::pages::fail(ctx, Error::not_found("/setup"))),
    }
}

/// The wizard's session, or the code page (401) for a browser that has not typed the code.
fn signed_in(ctx: &Ctx<'_>, session: Option<SetupSession>) -> Result<SetupSession, Failure> {
    session.ok_or_else(|| Failure(Status::Unauthorized, code_page(ctx, None).into_string()))
}

fn expired(ctx: &Ctx<'_>) -> Failure {
    Failure(
        Status::Forbidden,
        super::layout::error_page(ctx, 403, &ctx.t("account-form-expired")).into_string(),
    )
}

fn shell(ctx: &Ctx<'_>, at: Option<Step>, reached: Step, body: Markup) -> Markup {
    let main = html! {
        h1 { (ctx.t("setup-title")) }
        @if let Some(at) = at {
            ol.steps aria-label=(ctx.t("setup-steps")) {
                @for step in Step::ALL {
                    li aria-current=[(step == at).then_some("step")] {
                        @if step <= reached && step != at {
                            a href={ "/setup?step=" (step.as_str()) } { (ctx.t(title_of(step))) }
                        } @else {
                            (ctx.t(title_of(step)))
                        }
                    }
                }
            }
            p.meta { (ctx.ta("setup-step", &[("n", (at.number() as i64).into()), ("total", (Step::ALL.len() as i64).into())])) }
        }
        (body)
    };
    page(ctx, &ctx.t("setup-title"), main)
}

fn title_of(step: Step) -> &'static str {
    match step {
        Step::Admin => "setup-admin-title",
        Step::Hub => "setup-hub-title",
        Step::Modules => "setup-modules-title",
    }
}

fn notice(error: Option<&str>) -> Markup {
    html! { @if let Some(e) = error { p.notice role="alert" { (e) } } }
}

fn code_page(ctx: &Ctx<'_>, error: Option<&str>) -> Markup {
    let body = html! {
        p { (ctx.t("setup-intro")) }
        (notice(error))
        form.stack method="post" action="/setup/code" {
            div {
                label for="setup-code" { (ctx.t("setup-code")) }
                input #setup-code type="text" name="code" required autocomplete="off" autocapitalize="characters"
                    spellcheck="false" placeholder="XXXX-XXXX-XXXX-XX";
            }
            button type="submit" { (ctx.t("setup-continue")) }
        }
        p.meta { (ctx.t("setup-code-help")) }
    };
    shell(ctx, None, Step::Admin, body)
}

struct AdminValues<'a> {
    name: &'a str,
    email: &'a str,
}

fn admin_page(
    ctx: &Ctx<'_>,
    session: &SetupSession,
    reached: Step,
    existing: Option<(String, String)>,
    values: AdminValues<'_>,
    error: Option<&str>,
) -> Markup {
    let body = html! {
        h2 { (ctx.t("setup-admin-title")) }
        @if let Some((name, email)) = existing {
            p { (ctx.ta("setup-admin-exists", &[("name", name.into()), ("email", email.into())])) }
            p { a.button href="/setup?step=hub" { (ctx.t("setup-continue")) } }
        } @else {
            p { (ctx.t("setup-admin-intro")) }
            (notice(error))
            form.stack method="post" action="/setup/admin" {
                input type="hidden" name="csrf" value=(session.csrf);
                div {
                    label for="s-name" { (ctx.t("account-name")) }
                    input #s-name type="text" name="name" value=(values.name) required autocomplete="name";
                }
                div {
                    label for="s-email" { (ctx.t("account-email")) }
                    input #s-email type="email" name="email" value=(values.email) required autocomplete="email";
                }
                div {
                    label for="s-password" { (ctx.t("account-password")) }
                    input #s-password type="password" name="password" required autocomplete="new-password";
                }
                div {
                    label for="s-password2" { (ctx.t("setup-password-again")) }
                    input #s-password2 type="password" name="password2" required autocomplete="new-password";
                }
                p.meta { (ctx.t("account-password-rule")) }
                button type="submit" { (ctx.t("setup-continue")) }
            }
        }
    };
    shell(ctx, Some(Step::Admin), reached, body)
}

fn hub_page(
    ctx: &Ctx<'_>,
    session: &SetupSession,
    reached: Step,
    name: &str,
    territory: &str,
    choices: &[Scope],
    error: Option<&str>,
) -> Markup {
    let body = html! {
        h2 { (ctx.t("setup-hub-title")) }
        (notice(error))
        form.stack method="post" action="/setup/hub" {
            input type="hidden" name="csrf" value=(session.csrf);
            div {
                label for="s-hub-name" { (ctx.t("setup-hub-name")) }
                input #s-hub-name type="text" name="name" value=(name) required maxlength=(crate::setup::MAX_HUB_NAME);
            }
            div {
                label for="s-territory" { (ctx.t("setup-territory")) }
                input #s-territory type="text" name="territory" value=(territory) required;
                p.meta { (ctx.t("setup-territory-help")) }
            }
            @if !choices.is_empty() {
                fieldset {
                    legend { (ctx.t("setup-territory-choose")) }
                    @for (i, scope) in choices.iter().enumerate() {
                        div {
                            input type="radio" id={ "s-choice-" (i) } name="choice" value=(scope.to_string()) checked[i == 0];
                            " " label for={ "s-choice-" (i) } { (scope.label()) }
                        }
                    }
                }
            }
            button type="submit" { (ctx.t("setup-continue")) }
        }
    };
    shell(ctx, Some(Step::Hub), reached, body)
}

fn modules_page(ctx: &Ctx<'_>, session: &SetupSession, reached: Step) -> Markup {
    let body = html! {
        h2 { (ctx.t("setup-modules-title")) }
        form.stack method="post" action="/setup/modules" {
            input type="hidden" name="csrf" value=(session.csrf);
            fieldset {
                legend { (ctx.t("setup-modules-intro")) }
                @for m in Module::ALL {
                    div {
                        input type="checkbox" id={ "s-m-" (m.as_str()) } name="on" value=(m.as_str()) checked[ctx.hub.module_on(m)];
                        " " label for={ "s-m-" (m.as_str()) } { (m.as_str()) }
                    }
                }
            }
            button type="submit" { (ctx.t("setup-finish")) }
        }
    };
    shell(ctx, Some(Step::Modules), reached, body)
}

/// The admin account the wizard made, as (name, email).
async fn existing_admin(ctx: &Ctx<'_>) -> Result<Option<(String, String)>, Failure> {
    let store = ctx.hub.store.clone();
    load(ctx, move || {
        let Some(person) = crate::setup::admin_person(&store)? else {
            return Ok(None);
        };
        let Some(account) = store.account_of(&person)? else {
            return Ok(None);
        };
        let name = store
            .get_element(&person, crate::store::Visibility::All)?
            .map(|e| super::view::name(&e).to_owned())
            .unwrap_or_default();
        Ok(Some((name, account.email)))
    })
    .await
}

/// The hub step's fields as they stand: the name, and the territories as `copi.toml` writes them.
fn hub_values(ctx: &Ctx<'_>) -> (String, String) {
    let identity = ctx.hub.identity();
    let territories: Vec<String> = identity.territories.iter().map(ToString::to_string).collect();
    (identity.name.clone(), territories.join(", "))
}

/// `GET /setup[?step=]`: the code, or the step asked for (never past the first not done).
#[rocket::get("/setup?<step>")]
pub async fn wizard(ctx: Ctx<'_>, session: Option<SetupSession>, step: Option<&str>) -> Result<Html, Failure> {
    let reached = pending(&ctx).await?;
    let Some(session) = session else {
        return Ok(Html::from(code_page(&ctx, None)));
    };
    let at = step.and_then(Step::parse).filter(|s| *s <= reached).unwrap_or(reached);
    let markup = match at {
        Step::Admin => {
            let existing = existing_admin(&ctx).await?;
            admin_page(
                &ctx,
                &session,
                reached,
                existing,
                AdminValues { name: "", email: "" },
                None,
            )
        }
        Step::Hub => {
            let (name, territory) = hub_values(&ctx);
            hub_page(&ctx, &session, reached, &name, &territory, &[], None)
        }
        Step::Modules => modules_page(&ctx, &session, reached),
    };
    Ok(Html::from(markup))
}

#[derive(FromForm)]
pub struct CodeForm<'r> {
    code: &'r str,
}

/// `POST /setup/code`: the code from the SD card opens the wizard in this browser.
#[rocket::post("/setup/code", data = "<form>")]
pub async fn code(
    ctx: Ctx<'_>,
    jar: &CookieJar<'_>,
    throttle: &State<SetupThrottle>,
    client: ClientKey,
    form: Form<CodeForm<'_>>,
) -> Result<Redirect, Failure> {
    pending(&ctx).await?;
    let now = Instant::now();
    if let Err(wait) = throttle
        .per_client
        .try_hit(&client.0, now)
        .and_then(|()| throttle.all.try_hit("all", now))
    {
        let message = ctx.ta(
            "account-throttled",
            &[("seconds", (wait.as_secs().max(1) as i64).into())],
        );
        return Err(Failure(
            Status::TooManyRequests,
            code_page(&ctx, Some(&message)).into_string(),
        ));
    }
    let store = ctx.hub.store.clone();
    let given = form.code.to_owned();
    if !load(&ctx, move || crate::setup::check_code(&store, &given)).await? {
        tracing::warn!("a wrong setup code was typed");
        let page = code_page(&ctx, Some(&ctx.t("setup-code-wrong")));
        return Err(Failure(Status::Unauthorized, page.into_string()));
    }
    let nonce = crate::accounts::TokenSecret::generate()
        .map_err(|e| super::pages::fail(&ctx, e))?
        .encode();
    jar.add_private(
        Cookie::build((SETUP_COOKIE, format!("{nonce}:{}", crate::model::now_seconds())))
            .path("/setup")
            .http_only(true)
            .same_site(SameSite::Strict)
            .max_age(rocket::time::Duration::hours(SESSION_HOURS)),
    );
    tracing::info!("the setup code was typed: the wizard is open in one browser");
    Ok(Redirect::to("/setup"))
}

#[derive(FromForm)]
pub struct AdminForm<'r> {
    csrf: &'r str,
    name: &'r str,
    email: &'r str,
    password: &'r str,
    password2: &'r str,
}

/// `POST /setup/admin`: the admin's account, a person of the hub like any other whose
/// password also opens `/admin`. The admin is signed in as that person.
#[rocket::post("/setup/admin", data = "<form>")]
pub async fn admin(
    ctx: Ctx<'_>,
    session: Option<SetupSession>,
    jar: &CookieJar<'_>,
    accounts: &State<Accounts>,
    client: ClientKey,
    form: Form<AdminForm<'_>>,
) -> Result<Redirect, Failure> {
    let reached = pending(&ctx).await?;
    let session = signed_in(&ctx, session)?;
    if !session.check(form.csrf) {
        return Err(expired(&ctx));
    }
    if existing_admin(&ctx).await?.is_some() {
        return Ok(Redirect::to("/setup?step=hub"));
    }
    let refuse = |status: Status, message: String| {
        let values = AdminValues {
            name: form.name,
            email: form.email,
        };
        Failure(
            status,
            admin_page(&ctx, &session, reached, None, values, Some(&message)).into_string(),
        )
    };
    if form.password != form.password2 {
        return Err(refuse(Status::UnprocessableEntity, ctx.t("setup-password-mismatch")));
    }
    // An account with this email made by an interrupted wizard (power lost before the step
    // was kept) is taken over by whoever knows both the code and its password.
    let store = ctx.hub.store.clone();
    let (email, password) = (form.email.trim().to_owned(), form.password.to_owned());
    let existing = load(&ctx, move || {
        let Some(account) = store.account_by_email(&email)? else {
            return Ok(None);
        };
        Ok(crate::accounts::verify_password(&password, &account.password_hash).then_some(account.person_id))
    })
    .await?;
    let person = match existing {
        Some(person) => person,
        None => match api_accounts::register_person(
            ctx.hub,
            accounts,
            &client,
            form.name.to_owned(),
            form.email.to_owned(),
            form.password.to_owned(),
        )
        .await
        {
            Ok((person, sign_in)) => {
                api_accounts::start_session(jar, sign_in.session());
                person.id
            }
            Err(e) => {
                let e = e.0 .0;
                let status = Status::from_code(e.status()).unwrap_or(Status::InternalServerError);
                let text = match &e {
                    Error::Conflict(_) => ctx.t("account-email-taken"),
                    Error::Throttled { retry_after } => {
                        ctx.ta("account-throttled", &[("seconds", (*retry_after as i64).into())])
                    }
                    e if status.code < 500 => e.public_message(),
                    _ => ctx.t("error-other"),
                };
                return Err(refuse(status, text));
            }
        },
    };
    let store = ctx.hub.store.clone();
    let id = person.clone();
    load(&ctx, move || {
        store.set_setting(crate::setup::KEY_ADMIN_PERSON, id.as_str())?;
        crate::setup::step_done(&store, Step::Admin)
    })
    .await?;
    tracing::info!(person = %person, "first boot: the admin account is made");
    Ok(Redirect::to("/setup"))
}

#[derive(FromForm)]
pub struct HubForm<'r> {
    csrf: &'r str,
    name: &'r str,
    territory: &'r str,
    choice: Option<&'r str>,
}

/// `POST /setup/hub`: the hub's name and home territory, in force at once.
#[rocket::post("/setup/hub", data = "<form>")]
pub async fn hub(ctx: Ctx<'_>, session: Option<SetupSession>, form: Form<HubForm<'_>>) -> Result<Redirect, Failure> {
    let reached = pending(&ctx).await?;
    let session = signed_in(&ctx, session)?;
    if !session.check(form.csrf) {
        return Err(expired(&ctx));
    }
    if reached < Step::Hub {
        return Ok(Redirect::to("/setup"));
    }
    let again = |choices: &[Scope], message: String| {
        Failure(
            Status::UnprocessableEntity,
            hub_page(
                &ctx,
                &session,
                reached,
                form.name,
                form.territory,
                choices,
                Some(&message),
            )
            .into_string(),
        )
    };
    let name = crate::setup::check_hub_name(form.name).map_err(|_| again(&[], ctx.t("setup-hub-name-bad")))?;
    let chosen = form.choice.filter(|c| !c.is_empty()).map(str::parse::<Scope>);
    let territories = match chosen {
        Some(Ok(scope)) => vec![scope],
        Some(Err(_)) => return Err(again(&[], ctx.t("setup-territory-none"))),
        // What the field held already (the config file's list) stays as it is.
        None if form.territory.contains(',') || form.territory.contains(':') => {
            Scope::parse_list(form.territory).map_err(|e| again(&[], e.to_string()))?
        }
        None => match crate::setup::find_territory(form.territory) {
            Found::One(scope) => vec![scope],
            Found::Several(choices) => return Err(again(&choices, ctx.t("setup-territory-choose"))),
            Found::None => return Err(again(&[], ctx.t("setup-territory-none"))),
        },
    };
    if territories.is_empty() {
        return Err(again(&[], ctx.t("setup-territory-none")));
    }
    let hub = ctx.hub;
    let store = hub.store.clone();
    let (name_for_log, list) = (name.clone(), territories.clone());
    load(&ctx, move || {
        crate::setup::set_identity(&store, &name, &list)?;
        crate::setup::step_done(&store, Step::Hub)
    })
    .await?;
    hub.set_identity(name_for_log.clone(), territories);
    tracing::info!(name = %name_for_log, "first boot: the hub is named");
    Ok(Redirect::to("/setup"))
}

#[derive(FromForm)]
pub struct ModulesForm<'r> {
    csrf: &'r str,
    on: Vec<&'r str>,
}

/// `POST /setup/modules`: the modules on, and the end of the wizard: the admin is signed in
/// and the wizard closes for good.
#[rocket::post("/setup/modules", data = "<form>")]
pub async fn modules(
    ctx: Ctx<'_>,
    session: Option<SetupSession>,
    jar: &CookieJar<'_>,
    form: Form<ModulesForm<'_>>,
) -> Result<Redirect, Failure> {
    let reached = pending(&ctx).await?;
    let session = signed_in(&ctx, session)?;
    if !session.check(form.csrf) {
        return Err(expired(&ctx));
    }
    if reached < Step::Modules {
        return Ok(Redirect::to("/setup"));
    }
    let mut on = Vec::new();
    for name in &form.on {
        let m = serde_json::from_value::<Module>(serde_json::Value::String((*name).to_owned()))
            .map_err(|_| super::pages::bad(&ctx, format!("module {name:?}")))?;
        on.push(m);
    }
    crate::api::modules::set_modules(ctx.hub, on)
        .await
        .map_err(|e| super::pages::fail(&ctx, e.0))?;
    let store = ctx.hub.store.clone();
    let config = ctx.hub.config.clone();
    let file = ctx.hub.config_file.clone();
    load(&ctx, move || crate::setup::finish(&store, &config, file.as_deref())).await?;
    jar.remove_private(Cookie::build(SETUP_COOKIE).path("/setup"));
    super::admin::start_admin_session(jar).map_err(|e| super::pages::fail(&ctx, e))?;
    Ok(Redirect::to("/admin"))
}

pub fn routes() -> Vec<Route> {
    rocket::routes![wizard, code, admin, hub, modules]
}

#[cfg(test)]
#[path = "setup_tests.rs"]
mod tests;
