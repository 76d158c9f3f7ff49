//! Pages for people. With `api`, the only place with Rocket types: the visitor pages
//! (server-rendered with maud, usable without JavaScript, in French, English or German),
//! the feeds (iCalendar, Atom, GeoJSON), the embedded assets, and the captive portal (the
//! probes phones send when they join the hub's Wi-Fi, and the landing page they are sent to).

mod agenda;
pub mod assets;
pub mod cache;
mod element;
// mod feeds; (lands with the feeds)
pub mod i18n;
pub mod layout;
mod pages;
mod portal;
mod view;

// pub use feeds::stage as feeds_stage;
pub use portal::{qr_svg, stage as portal_stage, Portal};

use rocket::fairing::AdHoc;

/// Every page route, the assets, the feeds.
pub fn stage() -> AdHoc {
    AdHoc::on_ignite("web", |rocket| async {
        rocket
            .manage(cache::PageCache::default())
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
                    element::element_page,
                    element::graph,
                ],
            )
            
    })
}
