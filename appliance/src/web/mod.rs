//! Pages for people. With `api`, the only place with Rocket types: the visitor pages
//! (server-rendered with maud, usable without JavaScript, in French, English or German),
//! the feeds (iCalendar, Atom, GeoJSON), the embedded assets, and the captive portal (the
//! probes phones send when they join the hub's Wi-Fi, and the landing page they are sent to).

mod account;
mod admin;
mod agenda;
pub mod assets;
pub mod cache;
mod citizen;
mod coop;
mod element;
mod feeds;
pub mod i18n;
pub mod layout;
mod map;
mod pages;
mod portal;
mod setup;
mod view;

pub use feeds::stage as feeds_stage;
pub use portal::{qr_svg, stage as portal_stage, Portal};

use rocket::fairing::AdHoc;

/// A request guard that lets a route answer only while module `I` (its index in
/// [`crate::config::Module::ALL`], i.e. `Module::X as usize`) is on; otherwise the request
/// goes on to the other routes and ends as a 404.
pub struct ModuleOn<const I: usize>;

#[rocket::async_trait]
impl<'r, const I: usize> rocket::request::FromRequest<'r> for ModuleOn<I> {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r rocket::Request<'_>) -> rocket::request::Outcome<Self, Self::Error> {
        let on = crate::config::Module::ALL
            .get(I)
            .zip(req.rocket().state::<crate::api::Hub>())
            .is_some_and(|(m, hub)| hub.module_on(*m));
        if on {
            rocket::request::Outcome::Success(ModuleOn)
        } else {
            rocket::request::Outcome::Forward(rocket::http::Status::NotFound)
        }
    }
}

/// The error page a catcher shows a browser (no request guards there: the language comes
/// from the cookie or `Accept-Language`).
pub fn error_page_for(
    hub: &crate::api::Hub,
    req: &rocket::Request<'_>,
    status: u16,
) -> rocket::response::content::RawHtml<String> {
    let lang = req
        .cookies()
        .get(layout::LANG_COOKIE)
        .and_then(|c| i18n::Lang::parse(c.value()))
        .unwrap_or_else(|| i18n::Lang::negotiate(req.headers().get_one("Accept-Language")));
    let ctx = layout::Ctx {
        hub,
        lang,
        scopes: Vec::new(),
        viewer: crate::store::Visibility::Public,
        user: None,
        reader: crate::store::Reader::anonymous(),
        here: req.uri().to_string(),
        bare: false,
    };
    rocket::response::content::RawHtml(layout::error_page(&ctx, status, "").into_string())
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod threat_tests;

/// What a page may load and run: its own host only, nothing else (no CDN, no other origin,
/// no inline script; inline styles are allowed for the SVG maps and the portal). Pages may
/// not be framed, but `/embed/map`, whose own `frame-ancestors *` is kept.
pub const PAGE_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; \
     form-action 'self'";

/// Adds the [`PAGE_POLICY`] Content-Security-Policy to every HTML answer (Rocket's Shield
/// already sends `X-Content-Type-Options: nosniff` and `X-Frame-Options`). An answer with a
/// policy of its own keeps it, completed when it only says `frame-ancestors` (the embed).
pub struct ContentSecurity;

#[rocket::async_trait]
impl rocket::fairing::Fairing for ContentSecurity {
    fn info(&self) -> rocket::fairing::Info {
        rocket::fairing::Info {
            name: "Content-Security-Policy",
            kind: rocket::fairing::Kind::Response,
        }
    }

    async fn on_response<'r>(&self, _req: &'r rocket::Request<'_>, res: &mut rocket::Response<'r>) {
        let html = res.content_type().is_some_and(|c| c.is_html());
        if !html {
            return;
        }
        let own = res.headers().get_one("Content-Security-Policy").map(str::to_owned);
        let policy = match own {
            None => format!("{PAGE_POLICY}; frame-ancestors 'none'"),
            Some(p) if p.trim_start().starts_with("frame-ancestors") => format!("{PAGE_POLICY}; {p}"),
            Some(_) => return,
        };
        res.set_raw_header("Content-Security-Policy", policy);
    }
}

/// Every page route, the assets, the feeds.
pub fn stage() -> AdHoc {
    AdHoc::on_ignite("web", |rocket| async {
        rocket
            .manage(cache::PageCache::default())
            .manage(admin::AdminThrottle::default())
            .manage(setup::SetupThrottle::default())
            .mount(
                "/",
                rocket::routes![
                    assets::serve,
                    pages::home,
                    pages::live,
                    pages::directory,
                    pages::marketplace,
                    pages::mutual_aid,
                    pages::search,
                    pages::territory_page,
                    pages::territory_set,
                    pages::lang_set,
                    pages::manifest,
                    pages::service_worker,
                    pages::offline,
                    agenda::agenda,
                    account::signup_form,
                    account::signup,
                    account::login_form,
                    account::login,
                    account::logout,
                    account::account,
                    account::revoke,
                    admin::login_form,
                    admin::login,
                    admin::logout,
                    admin::dashboard,
                    admin::dashboard_signin,
                    admin::modules,
                    admin::moderate,
                    admin::resolve,
                    admin::backup,
                    admin::pick_conflict,
                    citizen::act,
                    citizen::report,
                    citizen::submit_form,
                    citizen::submit,
                    citizen::feed,
                    citizen::invitation,
                    citizen::accept_invitation,
                    element::element_page,
                    element::graph,
                ],
            )
            .mount("/", map::routes())
            .mount("/", admin::sync_routes())
            .mount("/", coop::routes())
            .mount("/", setup::routes())
    })
}
