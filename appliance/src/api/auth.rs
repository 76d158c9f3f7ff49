//! Who is calling: request guards for the admin token ([`Admin`], [`Viewer`]) and for a
//! signed-in person ([`User`]).
//!
//! # Sessions and CSRF
//!
//! A person is signed in either by an API token (`Authorization: Bearer TOKEN`, for scripts
//! and apps) or by a session cookie (for browsers). The cookie `copi_session` is a Rocket
//! private cookie: its value (a random 32-byte session secret) is encrypted and authenticated
//! with the hub's key (`<data>/secret.key`), it is `HttpOnly`, `SameSite=Lax` and `Path=/`. The
//! store keeps only the SHA-256 of the secret, so a session ends for good when its row is
//! revoked (logout, password reset), whatever the browser still holds. It is not `Secure`: the
//! hub speaks plain HTTP on its own Wi-Fi.
//!
//! A browser sends cookies with requests that other sites make it send, so every unsafe
//! request (anything but GET, HEAD, OPTIONS) authenticated by the cookie must also carry the
//! header `X-CSRF-Token` with the session's CSRF token, else it is refused with 403 `csrf`
//! before the handler runs. The token is derived from the session secret
//! (`SHA-256("copi csrf v1\0" ‖ secret)`, see [`TokenSecret::csrf`]): it is bound to the session
//! (another session's token, an earlier login's included, is refused), it needs no state of
//! its own, and another site can neither read it (the cookie is HttpOnly and encrypted;
//! the API sends no CORS headers, so cross-origin pages cannot read `GET /api/v1/auth/csrf`) nor
//! set a custom header on a cross-site request. The login and registration answers include it,
//! and `GET /api/v1/auth/csrf` gives it again. Requests with a bearer token need no CSRF token:
//! browsers never add an `Authorization` header on their own. Pages with HTML forms (the
//! `web` module) put the same token in a hidden field and check it with [`User::csrf_matches`].
//!
//! `SameSite=Lax` alone would already keep the cookie off cross-site POSTs in current
//! browsers; the token also covers older browsers and same-site attackers (another service
//! under the same name).

use rocket::http::Method;
use rocket::request::{FromRequest, Outcome, Request};
use subtle::ConstantTimeEq;

use super::Hub;
use crate::accounts::{TokenKind, TokenSecret};
use crate::error::Error;
use crate::model::ElementId;
use crate::store::Visibility;

/// Name of the session cookie (a private cookie holding the session secret).
pub const SESSION_COOKIE: &str = "copi_session";
/// Header that carries the CSRF token on cookie-authenticated unsafe requests.
pub const CSRF_HEADER: &str = "X-CSRF-Token";

/// The caller presented the admin token (`Authorization: Bearer …`).
#[derive(Debug)]
pub struct Admin;

/// Whoever is calling, as far as reading goes.
#[derive(Debug, Clone, Copy)]
pub struct Viewer(pub Visibility);

fn is_admin(req: &Request<'_>) -> bool {
    let Some(hub) = req.rocket().state::<Hub>() else {
        return false;
    };
    let Some(expected) = hub.config.admin_token.as_deref() else {
        return false;
    };
    let Some(given) = req
        .headers()
        .get_one("Authorization")
        .and_then(|h| h.strip_prefix("Bearer "))
    else {
        return false;
    };
    given.trim().as_bytes().ct_eq(expected.as_bytes()).into()
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Admin {
    type Error = Error;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        if is_admin(req) {
            Outcome::Success(Admin)
        } else {
            Outcome::Error((rocket::http::Status::Unauthorized, Error::Unauthorized))
        }
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Viewer {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        Outcome::Success(Viewer(if is_admin(req) {
            Visibility::All
        } else {
            Visibility::Public
        }))
    }
}

/// How a [`User`] proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// `Authorization: Bearer` with an API token.
    Bearer,
    /// The session cookie.
    Cookie,
}

/// A signed-in person: a live API token (`Authorization: Bearer`), or a live session cookie
/// whose CSRF token came with the request if the method is unsafe. The admin token is not a
/// person and does not make a `User`. Fails with 401 `unauthorized` (nobody, or a revoked or
/// unknown token) or 403 `csrf`.
#[derive(Debug, Clone)]
pub struct User {
    pub person: ElementId,
    /// The id of the token or session used (its row in the store).
    pub token_id: i64,
    pub via: Credential,
    /// The CSRF token of the session (cookie sign-ins only).
    csrf: Option<String>,
}

impl User {
    /// The session's CSRF token, for pages to put in their forms (`None` for bearer tokens).
    pub fn csrf(&self) -> Option<&str> {
        self.csrf.as_deref()
    }

    /// Whether `given` is this session's CSRF token (constant-time). Always true for bearer
    /// tokens, which need none.
    pub fn csrf_matches(&self, given: Option<&str>) -> bool {
        match (&self.csrf, given) {
            (None, _) => true,
            (Some(expected), Some(given)) => given.trim().as_bytes().ct_eq(expected.as_bytes()).into(),
            (Some(_), None) => false,
        }
    }
}

/// Whether a method may change something (and so needs a CSRF token with a cookie).
fn is_unsafe(method: Method) -> bool {
    !matches!(method, Method::Get | Method::Head | Method::Options)
}

async fn authenticate(req: &Request<'_>) -> Result<User, Error> {
    let user = authenticate_without_csrf(req).await?;
    if user.via == Credential::Cookie
        && is_unsafe(req.method())
        && !user.csrf_matches(req.headers().get_one(CSRF_HEADER))
    {
        return Err(Error::Csrf);
    }
    Ok(user)
}

/// The signed-in person without the CSRF header check: for HTML forms, which carry the
/// token in a field and check it with [`User::csrf_matches`] themselves.
pub(crate) async fn authenticate_without_csrf(req: &Request<'_>) -> Result<User, Error> {
    let hub = req.rocket().state::<Hub>().ok_or(Error::SignInRequired)?;
    if let Some(header) = req.headers().get_one("Authorization") {
        // A bearer token that is not a live one is refused even if a cookie came too: the
        // client said who it is, and it is not.
        let secret = header
            .strip_prefix("Bearer ")
            .and_then(TokenSecret::parse)
            .ok_or(Error::SignInRequired)?;
        let store = hub.store.clone();
        let owner = super::blocking(move || store.authenticate_token(TokenKind::Api, &secret.hash()))
            .await
            .map_err(|e| e.0)?
            .ok_or(Error::SignInRequired)?;
        return Ok(User {
            person: owner.person_id,
            token_id: owner.token_id,
            via: Credential::Bearer,
            csrf: None,
        });
    }
    let cookies = req.cookies();
    let secret = cookies
        .get_private(SESSION_COOKIE)
        .and_then(|c| TokenSecret::parse(c.value()))
        .ok_or(Error::SignInRequired)?;
    let store = hub.store.clone();
    let hash = secret.hash();
    let owner = super::blocking(move || store.authenticate_token(TokenKind::Session, &hash))
        .await
        .map_err(|e| e.0)?;
    let Some(owner) = owner else {
        // Ended (logout, password reset): the browser may forget it.
        cookies.remove_private(rocket::http::Cookie::build(SESSION_COOKIE).path("/"));
        return Err(Error::SignInRequired);
    };
    let user = User {
        person: owner.person_id,
        token_id: owner.token_id,
        via: Credential::Cookie,
        csrf: Some(secret.csrf()),
    };
    Ok(user)
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for User {
    type Error = Error;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        match authenticate(req).await {
            Ok(user) => Outcome::Success(user),
            Err(e) => {
                let status = rocket::http::Status::from_code(e.status()).unwrap_or(rocket::http::Status::Unauthorized);
                Outcome::Error((status, e))
            }
        }
    }
}
