//! Sign-up, sign-in, sign-out and "my account" pages: HTML forms over the same checks as
//! `/api/v1/auth/*` (throttling, argon2id, one account per email).
//!
//! CSRF: the sign-up and sign-in forms are sent before any session exists, so they carry a
//! double-submit token: a random value in a `SameSite=Strict`, `HttpOnly` cookie and the same
//! in a hidden field; another site can neither read the cookie nor make the browser send it
//! on a cross-site POST. Forms of a signed-in person carry the session's CSRF token.

use maud::{html, Markup};
use rocket::form::{Form, FromForm};
use rocket::http::{Cookie, CookieJar, SameSite, Status};
use rocket::response::Redirect;
use rocket::State;
use subtle::ConstantTimeEq;

use super::layout::{enc, page, safe_back, Ctx};
use super::pages::{load, Failure, Html};
use crate::api::accounts::{self as api_accounts, Accounts, ClientKey};
use crate::error::Error;
use crate::store::Visibility;

/// The double-submit cookie of the forms sent before signing in.
const FORM_COOKIE: &str = "copi_form";

pub(super) fn form_token(jar: &CookieJar<'_>) -> String {
    if let Some(c) = jar.get(FORM_COOKIE).filter(|c| c.value().len() == 43) {
        return c.value().to_owned();
    }
    let token = crate::accounts::TokenSecret::generate()
        .map(|t| t.encode())
        .unwrap_or_default();
    jar.add(
        Cookie::build((FORM_COOKIE, token.clone()))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Strict)
            .build(),
    );
    token
}

pub(super) fn form_token_matches(jar: &CookieJar<'_>, given: &str) -> bool {
    jar.get(FORM_COOKIE)
        .is_some_and(|c| !given.is_empty() && bool::from(c.value().as_bytes().ct_eq(given.as_bytes())))
}

#[derive(FromForm)]
pub struct SignUpForm<'r> {
    name: &'r str,
    email: &'r str,
    password: &'r str,
    csrf: &'r str,
    back: Option<&'r str>,
}

#[derive(FromForm)]
pub struct SignInForm<'r> {
    email: &'r str,
    password: &'r str,
    csrf: &'r str,
    back: Option<&'r str>,
}

#[derive(FromForm)]
pub struct TokenForm<'r> {
    csrf: &'r str,
    id: Option<i64>,
}

fn field(ctx: &Ctx<'_>, id: &str, label: &str, kind: &str, value: &str, autocomplete: &str) -> Markup {
    html! {
        div {
            label for=(id) { (ctx.t(label)) }
            input #(id) type=(kind) name=(id.trim_start_matches("f-")) value=(value) required autocomplete=(autocomplete);
        }
    }
}

fn error_box(message: Option<&str>) -> Markup {
    html! {
        @if let Some(m) = message { p.notice role="alert" { (m) } }
    }
}

/// What an account error says to a person (never the password or the email back).
fn say(ctx: &Ctx<'_>, e: &Error) -> (Status, String) {
    let status = Status::from_code(e.status()).unwrap_or(Status::InternalServerError);
    let text = match e {
        Error::WrongCredentials => ctx.t("account-wrong"),
        Error::Throttled { retry_after } => ctx.ta("account-throttled", &[("seconds", (*retry_after as i64).into())]),
        Error::Conflict(_) => ctx.t("account-email-taken"),
        e if status.code < 500 => e.public_message(),
        _ => ctx.t("error-other"),
    };
    (status, text)
}

fn signup_page(ctx: &Ctx<'_>, token: &str, back: &str, name: &str, email: &str, error: Option<&str>) -> Markup {
    let body = html! {
        h1 { (ctx.t("account-signup-title")) }
        p { (ctx.t("account-signup-intro")) }
        (error_box(error))
        form.stack method="post" action="/signup" {
            input type="hidden" name="csrf" value=(token);
            input type="hidden" name="back" value=(back);
            (field(ctx, "f-name", "account-name", "text", name, "name"))
            (field(ctx, "f-email", "account-email", "email", email, "email"))
            (field(ctx, "f-password", "account-password", "password", "", "new-password"))
            p.meta { (ctx.t("account-password-rule")) }
            button type="submit" { (ctx.t("account-signup")) }
        }
        p { a href={ "/login?back=" (enc(back)) } { (ctx.t("account-have-one")) } }
    };
    page(ctx, &ctx.t("account-signup-title"), body)
}

fn login_page(ctx: &Ctx<'_>, token: &str, back: &str, email: &str, error: Option<&str>) -> Markup {
    let body = html! {
        h1 { (ctx.t("account-login-title")) }
        (error_box(error))
        form.stack method="post" action="/login" {
            input type="hidden" name="csrf" value=(token);
            input type="hidden" name="back" value=(back);
            (field(ctx, "f-email", "account-email", "email", email, "email"))
            (field(ctx, "f-password", "account-password", "password", "", "current-password"))
            button type="submit" { (ctx.t("nav-login")) }
        }
        p { a href={ "/signup?back=" (enc(back)) } { (ctx.t("account-create")) } }
        p.meta { (ctx.t("account-forgot")) }
    };
    page(ctx, &ctx.t("account-login-title"), body)
}

#[rocket::get("/signup?<back>")]
pub fn signup_form(ctx: Ctx<'_>, jar: &CookieJar<'_>, back: Option<&str>) -> Html {
    let token = form_token(jar);
    Html::from(signup_page(&ctx, &token, &safe_back(back), "", "", None))
}

#[rocket::post("/signup", data = "<form>")]
pub async fn signup(
    ctx: Ctx<'_>,
    jar: &CookieJar<'_>,
    state: &State<Accounts>,
    client: ClientKey,
    form: Form<SignUpForm<'_>>,
) -> Result<Redirect, Failure> {
    let back = safe_back(form.back);
    let token = form_token(jar);
    if !form_token_matches(jar, form.csrf) {
        let page = signup_page(
            &ctx,
            &token,
            &back,
            form.name,
            form.email,
            Some(&ctx.t("account-form-expired")),
        );
        return Err(Failure(Status::Forbidden, page.into_string()));
    }
    match api_accounts::register_person(
        ctx.hub,
        state,
        &client,
        form.name.to_owned(),
        form.email.to_owned(),
        form.password.to_owned(),
    )
    .await
    {
        Ok((_, sign_in)) => {
            api_accounts::start_session(jar, sign_in.session());
            Ok(Redirect::to(back))
        }
        Err(e) => {
            let (status, text) = say(&ctx, &e.0 .0);
            let page = signup_page(&ctx, &token, &back, form.name, form.email, Some(&text));
            Err(Failure(status, page.into_string()))
        }
    }
}

#[rocket::get("/login?<back>")]
pub fn login_form(ctx: Ctx<'_>, jar: &CookieJar<'_>, back: Option<&str>) -> Html {
    let token = form_token(jar);
    Html::from(login_page(&ctx, &token, &safe_back(back), "", None))
}

#[rocket::post("/login", data = "<form>")]
pub async fn login(
    ctx: Ctx<'_>,
    jar: &CookieJar<'_>,
    state: &State<Accounts>,
    client: ClientKey,
    form: Form<SignInForm<'_>>,
) -> Result<Redirect, Failure> {
    let back = safe_back(form.back);
    let token = form_token(jar);
    if !form_token_matches(jar, form.csrf) {
        let page = login_page(&ctx, &token, &back, form.email, Some(&ctx.t("account-form-expired")));
        return Err(Failure(Status::Forbidden, page.into_string()));
    }
    match api_accounts::sign_in(ctx.hub, state, &client, form.email.to_owned(), form.password.to_owned()).await {
        Ok((_, sign_in)) => {
            api_accounts::start_session(jar, sign_in.session());
            Ok(Redirect::to(back))
        }
        Err(e) => {
            let (status, text) = say(&ctx, &e.0 .0);
            let page = login_page(&ctx, &token, &back, form.email, Some(&text));
            Err(Failure(status, page.into_string()))
        }
    }
}

/// `/account`: who I am, my sessions and tokens (revocable), sign out.
#[rocket::get("/account")]
pub async fn account(ctx: Ctx<'_>) -> Result<Result<Html, Redirect>, Failure> {
    let Some(user) = ctx.user.clone() else {
        return Ok(Err(Redirect::to(format!("/login?back={}", enc(&ctx.here)))));
    };
    let store = ctx.hub.store.clone();
    let person = user.person.clone();
    let (element, account, tokens) = load(&ctx, move || {
        let element = store.get_element(&person, Visibility::All)?;
        let account = store.account_of(&person)?;
        let tokens = store.list_tokens(&person)?;
        Ok((element, account, tokens))
    })
    .await?;
    let csrf = user.csrf().unwrap_or("");
    let zone = ctx.hub.store.zone();
    let when = |secs: i64| {
        jiff::Timestamp::from_second(secs)
            .map(|t| {
                let z = t.to_zoned_datetime(zone.clone());
                format!(
                    "{}, {}",
                    super::i18n::date_short(ctx.lang, z.date()),
                    super::i18n::time(ctx.lang, z.time())
                )
            })
            .unwrap_or_default()
    };
    let body = html! {
        h1 { (ctx.t("nav-account")) }
        @if let Some(e) = &element {
            p { strong { (super::view::name(e)) } " · " a href=(super::view::url(e)) { (ctx.t("account-my-page")) }
                " · " a href={ "/api/v1/elements/" (e.id) "/export" } { (ctx.t("element-export")) } }
        }
        @if let Some(a) = &account { p.meta { (a.email) } }
        h2 { (ctx.t("account-sessions")) }
        ul {
            @for t in &tokens {
                li {
                    (t.kind.as_str()) " · " (when(t.created))
                    @if t.id == user.token_id { " · " strong { (ctx.t("account-this-session")) } }
                    @else {
                        form.inline method="post" action="/account/revoke" {
                            input type="hidden" name="csrf" value=(csrf);
                            input type="hidden" name="id" value=(t.id);
                            " " button.secondary type="submit" { (ctx.t("account-revoke")) }
                        }
                    }
                }
            }
        }
        form method="post" action="/logout" {
            input type="hidden" name="csrf" value=(csrf);
            button type="submit" { (ctx.t("account-logout")) }
        }
    };
    Ok(Ok(Html::from(page(&ctx, &ctx.t("nav-account"), body))))
}

fn csrf_refused(ctx: &Ctx<'_>) -> Failure {
    Failure(
        Status::Forbidden,
        super::layout::error_page(ctx, 403, &ctx.t("account-form-expired")).into_string(),
    )
}

#[rocket::post("/logout", data = "<form>")]
pub async fn logout(ctx: Ctx<'_>, jar: &CookieJar<'_>, form: Form<TokenForm<'_>>) -> Result<Redirect, Failure> {
    let Some(user) = ctx.user.clone() else {
        return Ok(Redirect::to("/"));
    };
    if !user.csrf_matches(Some(form.csrf)) {
        return Err(csrf_refused(&ctx));
    }
    let store = ctx.hub.store.clone();
    load(&ctx, move || store.revoke_token(&user.person, user.token_id)).await?;
    api_accounts::end_session(jar);
    Ok(Redirect::to("/"))
}

#[rocket::post("/account/revoke", data = "<form>")]
pub async fn revoke(ctx: Ctx<'_>, form: Form<TokenForm<'_>>) -> Result<Redirect, Failure> {
    let Some(user) = ctx.user.clone() else {
        return Ok(Redirect::to("/login?back=/account"));
    };
    if !user.csrf_matches(Some(form.csrf)) {
        return Err(csrf_refused(&ctx));
    }
    if let Some(id) = form.id {
        let store = ctx.hub.store.clone();
        load(&ctx, move || store.revoke_token(&user.person, id)).await?;
    }
    Ok(Redirect::to("/account"))
}
