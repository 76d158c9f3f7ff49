//! `/api/v1/auth/*` and `/api/v1/admin/accounts/*`: registration, login, logout, the current
//! person, their tokens, and the admin's password reset. Session and CSRF design: see
//! [`super::auth`]. Throttling: see [`crate::accounts`]'s `throttle`.
//!
//! | route | does |
//! |---|---|
//! | `POST /api/v1/auth/register` `{"name","email","password"}` | 201 `{"person","token","csrf"}` + session cookie |
//! | `POST /api/v1/auth/login` `{"email","password"}` | 200 `{"person","token","csrf"}` + session cookie |
//! | `POST /api/v1/auth/logout` | 204: revokes the token or session used, drops the cookie |
//! | `GET /api/v1/auth/me` | `{"person","email"}` |
//! | `GET /api/v1/auth/csrf` | `{"csrf"}` (`null` for bearer tokens, which need none) |
//! | `GET /api/v1/auth/tokens` | `{"items": [{"id","kind","created","last_used","current"}], "next": null}` |
//! | `DELETE /api/v1/auth/tokens/{id}` | 204: revokes one of one's own tokens or sessions |
//! | `POST /api/v1/admin/accounts/{person_id}/password` `{"password"}` | admin: new password, every token revoked |

use std::time::{Duration, Instant};

use rocket::fairing::AdHoc;
use rocket::http::{Cookie, CookieJar, SameSite, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::{self, Responder};
use rocket::serde::json::Json;
use rocket::tokio::sync::Semaphore;
use rocket::State;
use serde_json::{json, Map, Value};

use super::auth::{Credential, SESSION_COOKIE};
use super::{blocking, Admin, ApiError, Hub, JsonObject, User};
use crate::accounts::{self, Limiter, LoginThrottle, ThrottleLimits, TokenKind, TokenSecret};
use crate::error::Error;
use crate::model::{ElementId, ModelError};
use crate::store::Visibility;

/// Password hashes computed at once: each takes 19 MiB and a core for a while, and the Pi
/// Zero 2 has 512 MB and 4 cores. Further logins wait their turn.
const HASHES_AT_ONCE: usize = 2;

/// How long a browser keeps the session cookie (`Max-Age`; no `Expires`, since the Pi's clock
/// may be wrong).
const SESSION_DAYS: i64 = 30;

/// The accounts area's state: throttles and the hashing gate.
pub struct Accounts {
    login: LoginThrottle,
    registrations: Limiter,
    hashing: Semaphore,
}

impl Accounts {
    pub fn new(limits: &ThrottleLimits) -> Accounts {
        Accounts {
            login: LoginThrottle::new(limits),
            registrations: Limiter::new(limits.registrations_per_ip, limits.registration_window),
            hashing: Semaphore::new(HASHES_AT_ONCE),
        }
    }

    async fn hash(&self, password: String) -> Result<String, ApiError> {
        let _permit = self.hashing.acquire().await.map_err(|_| closed())?;
        blocking(move || accounts::hash_password(&password)).await
    }

    async fn verify(&self, password: String, stored: Option<String>) -> Result<bool, ApiError> {
        let _permit = self.hashing.acquire().await.map_err(|_| closed())?;
        blocking(move || Ok(accounts::verify_password_or_dummy(&password, stored.as_deref()))).await
    }
}

fn closed() -> ApiError {
    ApiError(Error::Corrupt("the hashing gate is closed".into()))
}

fn throttled(wait: Duration) -> Error {
    Error::Throttled {
        retry_after: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
    }
}

/// An API error that also says when to retry (`Retry-After`) when it is a throttling refusal.
#[derive(Debug)]
pub struct AccountError(pub(crate) ApiError);

impl From<Error> for AccountError {
    fn from(e: Error) -> Self {
        AccountError(ApiError(e))
    }
}

impl From<ApiError> for AccountError {
    fn from(e: ApiError) -> Self {
        AccountError(e)
    }
}

impl From<ModelError> for AccountError {
    fn from(e: ModelError) -> Self {
        AccountError(ApiError(e.into()))
    }
}

impl<'r> Responder<'r, 'static> for AccountError {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let retry_after = match &self.0 .0 {
            Error::Throttled { retry_after } => Some(*retry_after),
            _ => None,
        };
        let mut res = self.0.respond_to(req)?;
        if let Some(secs) = retry_after {
            res.set_raw_header("Retry-After", secs.max(1).to_string());
        }
        Ok(res)
    }
}

type AccountResult<T> = Result<T, AccountError>;

/// An answer that must not be cached (it holds a token or a person's own data).
pub struct NoStore<R>(pub R);

impl<'r, R: Responder<'r, 'static>> Responder<'r, 'static> for NoStore<R> {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let mut res = self.0.respond_to(req)?;
        res.set_raw_header("Cache-Control", "no-store");
        Ok(res)
    }
}

/// The request says its body is JSON. Required where no credential is checked (register,
/// login): a cross-site form can only send form or text bodies, so it cannot sign a visitor
/// in to an attacker's account (login CSRF) nor register in their name.
pub struct JsonContent;

#[rocket::async_trait]
impl<'r> FromRequest<'r> for JsonContent {
    type Error = Error;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        if req.content_type().is_some_and(|c| c.is_json()) {
            Outcome::Success(JsonContent)
        } else {
            Outcome::Error((
                Status::UnsupportedMediaType,
                Error::UnsupportedMediaType("send JSON (Content-Type: application/json)".into()),
            ))
        }
    }
}

/// The throttling key of the caller: the socket's peer address (never a header a client can
/// write, such as `X-Real-IP`), an IPv6 client by its /64.
pub struct ClientKey(pub(crate) String);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ClientKey {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        Outcome::Success(ClientKey(accounts::ip_key(req.remote().map(|a| a.ip()))))
    }
}

/// Takes the string fields `names` out of a body, refusing missing ones, other types and
/// unknown fields. Values are never echoed in errors (one of them is a password).
fn fields<const N: usize>(mut body: Map<String, Value>, names: [&str; N]) -> Result<[String; N], ModelError> {
    let mut out: [String; N] = std::array::from_fn(|_| String::new());
    for (slot, name) in out.iter_mut().zip(names) {
        *slot = match body.remove(name) {
            None | Some(Value::Null) => {
                return Err(ModelError::Invalid {
                    field: name.into(),
                    message: "is required".into(),
                })
            }
            Some(Value::String(s)) => s,
            Some(_) => {
                return Err(ModelError::Invalid {
                    field: name.into(),
                    message: "must be a string".into(),
                })
            }
        };
    }
    if let Some(unknown) = body.keys().next() {
        return Err(ModelError::Invalid {
            field: unknown.clone(),
            message: format!("is not a field here (expected {})", names.join(", ")),
        });
    }
    Ok(out)
}

/// Sets the session cookie for a new session.
pub(crate) fn start_session(cookies: &CookieJar<'_>, session: &TokenSecret) {
    let cookie = Cookie::build((SESSION_COOKIE, session.encode()))
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/")
        .expires(None)
        .max_age(rocket::time::Duration::days(SESSION_DAYS));
    cookies.add_private(cookie);
}

pub(crate) fn end_session(cookies: &CookieJar<'_>) {
    cookies.remove_private(Cookie::build(SESSION_COOKIE).path("/"));
}

/// What a sign-in (registration or login) issues: an API token and a session secret.
pub(crate) struct SignIn {
    api: TokenSecret,
    session: TokenSecret,
}

impl SignIn {
    /// The session secret, for the session cookie.
    pub(crate) fn session(&self) -> &TokenSecret {
        &self.session
    }

    fn generate() -> Result<SignIn, Error> {
        Ok(SignIn {
            api: TokenSecret::generate()?,
            session: TokenSecret::generate()?,
        })
    }

    /// What the store keeps.
    fn hashes(&self) -> [(TokenKind, [u8; 32]); 2] {
        [
            (TokenKind::Api, self.api.hash()),
            (TokenKind::Session, self.session.hash()),
        ]
    }

    /// Sets the session cookie and makes the answer.
    fn finish(&self, cookies: &CookieJar<'_>, person: Value) -> NoStore<Json<Value>> {
        start_session(cookies, &self.session);
        NoStore(Json(
            json!({"person": person, "token": self.api.encode(), "csrf": self.session.csrf()}),
        ))
    }
}

#[rocket::post("/api/v1/auth/register", data = "<body>")]
async fn register(
    hub: &State<Hub>,
    state: &State<Accounts>,
    json: Result<JsonContent, Error>,
    client: ClientKey,
    cookies: &CookieJar<'_>,
    body: Result<JsonObject, Error>,
) -> AccountResult<(Status, NoStore<Json<Value>>)> {
    json?;
    let [name, email, password] = fields(body?.0, ["name", "email", "password"])?;
    let (person, sign_in) = register_person(hub, state, &client, name, email, password).await?;
    Ok((Status::Created, sign_in.finish(cookies, person.to_json())))
}

/// Registers a person: checks, throttles per client, refuses a known email, hashes. Shared
/// by the API and the sign-up page; the caller opens the session.
pub(crate) async fn register_person(
    hub: &Hub,
    state: &Accounts,
    client: &ClientKey,
    name: String,
    email: String,
    password: String,
) -> Result<(crate::model::Element, SignIn), AccountError> {
    let name = accounts::check_name(&name)?;
    let email = accounts::check_email(&email)?;
    accounts::check_password(&password)?;
    // Each registration costs a password hash: limited per client before the hash.
    state
        .registrations
        .try_hit(&client.0, Instant::now())
        .map_err(throttled)?;
    let store = hub.store.clone();
    let wanted = email.clone();
    if blocking(move || store.email_has_account(&wanted)).await? {
        return Err(Error::Conflict("an account with this email already exists".into()).into());
    }
    let password_hash = state.hash(password).await?;
    let sign_in = SignIn::generate()?;
    let hashes = sign_in.hashes();
    let store = hub.store.clone();
    let (person, _) = blocking(move || store.register_person(&name, &email, &password_hash, &hashes)).await?;
    tracing::info!(person = %person.id, "a person registered");
    Ok((person, sign_in))
}

#[rocket::post("/api/v1/auth/login", data = "<body>")]
async fn login(
    hub: &State<Hub>,
    state: &State<Accounts>,
    json: Result<JsonContent, Error>,
    client: ClientKey,
    cookies: &CookieJar<'_>,
    body: Result<JsonObject, Error>,
) -> AccountResult<NoStore<Json<Value>>> {
    json?;
    let [email, password] = fields(body?.0, ["email", "password"])?;
    let (person, sign_in) = sign_in(hub, state, &client, email, password).await?;
    Ok(sign_in.finish(cookies, person.to_json()))
}

/// Checks an email and password (throttled per account and per client, the same work for
/// an unknown email) and issues a token and a session. Shared by the API and the sign-in
/// page; the caller opens the session.
pub(crate) async fn sign_in(
    hub: &Hub,
    state: &Accounts,
    client: &ClientKey,
    email: String,
    password: String,
) -> Result<(crate::model::Element, SignIn), AccountError> {
    // Lengths no account can have are refused before they are counted or hashed (and so
    // never fill the throttle's memory).
    if email.trim().is_empty() || email.len() > accounts::MAX_EMAIL {
        return Err(Error::from(ModelError::Invalid {
            field: "email".into(),
            message: format!("must be 1 to {} characters", accounts::MAX_EMAIL),
        })
        .into());
    }
    if password.len() > accounts::MAX_PASSWORD_BYTES {
        return Err(Error::from(ModelError::Invalid {
            field: "password".into(),
            message: format!("must be at most {} bytes long", accounts::MAX_PASSWORD_BYTES),
        })
        .into());
    }
    // Counted before the check, refused while over a limit even with the right password.
    let attempt = state
        .login
        .begin(&accounts::email_key(&email), &client.0, Instant::now())
        .map_err(throttled)?;
    let store = hub.store.clone();
    let account = blocking(move || store.account_by_email(email.trim())).await?;
    // An unknown email is checked against a dummy hash: same work, same answer.
    let matches = state
        .verify(password, account.as_ref().map(|a| a.password_hash.clone()))
        .await?;
    let Some(account) = account.filter(|a| matches && !a.disabled) else {
        // `attempt` stays counted as a failure.
        return Err(Error::WrongCredentials.into());
    };
    state.login.succeeded(attempt);
    let sign_in = SignIn::generate()?;
    let hashes = sign_in.hashes();
    let store = hub.store.clone();
    let person = blocking(move || {
        store.add_tokens(&account.person_id, &hashes)?;
        store
            .get_element(&account.person_id, Visibility::All)?
            .ok_or_else(|| Error::Corrupt(format!("account of a missing person {}", account.person_id)))
    })
    .await?;
    Ok((person, sign_in))
}

#[rocket::post("/api/v1/auth/logout")]
async fn logout(hub: &State<Hub>, user: Result<User, Error>, cookies: &CookieJar<'_>) -> AccountResult<Status> {
    let user = user?;
    let store = hub.store.clone();
    let (person, token) = (user.person.clone(), user.token_id);
    blocking(move || store.revoke_token(&person, token)).await?;
    if user.via == Credential::Cookie {
        end_session(cookies);
    }
    Ok(Status::NoContent)
}

#[rocket::get("/api/v1/auth/me")]
async fn me(hub: &State<Hub>, user: Result<User, Error>) -> AccountResult<NoStore<Json<Value>>> {
    let user = user?;
    let store = hub.store.clone();
    let (person, account) = blocking(move || {
        let person = store
            .get_element(&user.person, Visibility::All)?
            .ok_or(Error::SignInRequired)?;
        let account = store.account_of(&user.person)?.ok_or(Error::SignInRequired)?;
        Ok((person, account))
    })
    .await?;
    Ok(NoStore(Json(
        json!({"person": person.to_json(), "email": account.email}),
    )))
}

#[rocket::get("/api/v1/auth/csrf")]
async fn csrf(user: Result<User, Error>) -> AccountResult<NoStore<Json<Value>>> {
    let user = user?;
    Ok(NoStore(Json(json!({"csrf": user.csrf()}))))
}

#[rocket::get("/api/v1/auth/tokens")]
async fn tokens(hub: &State<Hub>, user: Result<User, Error>) -> AccountResult<NoStore<Json<Value>>> {
    let user = user?;
    let store = hub.store.clone();
    let person = user.person.clone();
    let list = blocking(move || store.list_tokens(&person)).await?;
    let items: Vec<Value> = list
        .iter()
        .map(|t| {
            json!({
                "id": t.id,
                "kind": t.kind.as_str(),
                "created": t.created,
                "last_used": t.last_used,
                "current": t.id == user.token_id,
            })
        })
        .collect();
    Ok(NoStore(Json(json!({"items": items, "next": null}))))
}

#[rocket::delete("/api/v1/auth/tokens/<id>")]
async fn revoke(hub: &State<Hub>, user: Result<User, Error>, id: i64) -> AccountResult<Status> {
    let user = user?;
    let store = hub.store.clone();
    let person = user.person.clone();
    if blocking(move || store.revoke_token(&person, id)).await? {
        Ok(Status::NoContent)
    } else {
        Err(Error::not_found(format!("token {id}")).into())
    }
}

/// The admin sets a person's password (they forgot theirs): every token and session of the
/// account is revoked, and its failed logins forgotten.
#[rocket::post("/api/v1/admin/accounts/<person>/password", data = "<body>")]
async fn reset_password(
    hub: &State<Hub>,
    state: &State<Accounts>,
    admin: Result<Admin, Error>,
    json: Result<JsonContent, Error>,
    person: Result<ElementId, Error>,
    body: Result<JsonObject, Error>,
) -> AccountResult<Json<Value>> {
    admin?;
    json?;
    let person = person?;
    let [password] = fields(body?.0, ["password"])?;
    accounts::check_password(&password)?;
    let store = hub.store.clone();
    let id = person.clone();
    let account = blocking(move || store.account_of(&id))
        .await?
        .ok_or_else(|| Error::not_found(format!("account of {person}")))?;
    let password_hash = state.hash(password).await?;
    let store = hub.store.clone();
    let id = person.clone();
    let revoked = blocking(move || store.set_password(&id, &password_hash)).await?;
    state.login.forget_account(&accounts::email_key(&account.email));
    tracing::info!(person = %person, revoked, "the admin reset a password");
    Ok(Json(json!({"person": person.as_str(), "tokens_revoked": revoked})))
}

/// Loads (or creates, at first start) the cookie key from the data dir into Rocket's config,
/// manages the accounts state and mounts the routes.
pub fn stage() -> AdHoc {
    AdHoc::try_on_ignite("accounts", |rocket| async {
        let Some(data) = rocket.state::<Hub>().map(|h| h.config.data.clone()) else {
            tracing::error!("the accounts stage needs the hub's state");
            return Err(rocket);
        };
        // Without a usable key file (a full or read-only card, a damaged file, which is left
        // as it is for the admin to look at), the hub still serves, with a key in memory:
        // sessions then end at the next restart.
        let key = match accounts::load_or_create_secret_key(&data) {
            Ok(key) => key,
            Err(e) => {
                tracing::error!(error = %e, "no usable cookie key: using one in memory until restart");
                match accounts::random_bytes::<{ accounts::SECRET_KEY_LEN }>() {
                    Ok(key) => key.to_vec(),
                    Err(e) => {
                        tracing::error!(error = %e, "cannot make a cookie key");
                        return Err(rocket);
                    }
                }
            }
        };
        let figment = rocket.figment().clone().merge((rocket::Config::SECRET_KEY, key));
        Ok(rocket
            .configure(figment)
            .manage(Accounts::new(&ThrottleLimits::default()))
            .mount(
                "/",
                rocket::routes![register, login, logout, me, csrf, tokens, revoke, reset_password],
            ))
    })
}

#[cfg(test)]
mod tests;
