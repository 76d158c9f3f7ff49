//! Who is calling: request guards for the admin token (until accounts arrive, issue 5).

use rocket::request::{FromRequest, Outcome, Request};
use subtle::ConstantTimeEq;

use super::Hub;
use crate::error::Error;
use crate::store::Visibility;

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
