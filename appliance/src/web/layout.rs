//! What every page shares: who is looking and in which language and territory ([`Ctx`]),
//! and the page shell ([`page`]): header with the hub's name and the navigation, the main
//! content, a footer with the language switcher and the territory.

use maud::{html, Markup, PreEscaped, DOCTYPE};
use rocket::http::uri::Origin;
use rocket::request::{FromRequest, Outcome, Request};

use super::assets;
use super::i18n::{self, Lang};
use crate::api::{Hub, User, Viewer};
use crate::config::Module;
use crate::store::Visibility;
use crate::territory::Scope;

/// Cookie holding the language the visitor chose with the switcher.
pub const LANG_COOKIE: &str = "copi_lang";
/// Cookie holding the territory the visitor chose (a scope list, `city:26108`).
pub const SCOPE_COOKIE: &str = "copi_scope";

/// Who is looking, in which language, in which territory, at which page.
pub struct Ctx<'r> {
    pub hub: &'r Hub,
    pub lang: Lang,
    /// The visitor's territory (cookie), else empty: the whole hub.
    pub scopes: Vec<Scope>,
    pub viewer: Visibility,
    /// The signed-in person, if any.
    pub user: Option<User>,
    /// What the viewer may read beyond public things: the hub admin, or a person and the
    /// elements they are a member of.
    pub reader: crate::store::Reader,
    /// This page's path and query, for the switchers to come back to.
    pub here: String,
    /// Whether the page is rendered for the embeddable map (no header, no footer).
    pub bare: bool,
}

impl Ctx<'_> {
    /// A message in the visitor's language.
    pub fn t(&self, id: &str) -> String {
        i18n::message(self.lang, id, None)
    }

    /// A message with arguments.
    pub fn ta(&self, id: &str, args: &[(&str, fluent_bundle::FluentValue<'_>)]) -> String {
        i18n::message(self.lang, id, Some(&i18n::args(args)))
    }

    /// A number as the visitor's language writes it.
    pub fn n(&self, n: impl Into<i64>) -> String {
        i18n::number(self.lang, n.into())
    }

    /// Whether a page can be cached for everybody who shares its language and territory.
    pub fn cacheable(&self) -> bool {
        self.viewer == Visibility::Public && self.user.is_none() && self.reader.person.is_none() && !self.reader.admin
    }

    /// The territory as the cookie keeps it (`city:26108,dep:07`), empty for the whole hub.
    pub fn scope_key(&self) -> String {
        self.scopes
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The territory's name, or the hub's own territories' names.
    pub fn territory_label(&self) -> String {
        let identity = self.hub.identity();
        let scopes = if self.scopes.is_empty() {
            &identity.territories
        } else {
            &self.scopes
        };
        if scopes.is_empty() {
            return self.t("territory-everywhere");
        }
        scopes.iter().map(Scope::label).collect::<Vec<_>>().join(", ")
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Ctx<'r> {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let Some(hub) = req.rocket().state::<Hub>() else {
            return Outcome::Forward(rocket::http::Status::InternalServerError);
        };
        let cookies = req.cookies();
        let lang = if !hub.module_on(Module::I18n) {
            Lang::Fr
        } else {
            cookies
                .get(LANG_COOKIE)
                .and_then(|c| Lang::parse(c.value()))
                .unwrap_or_else(|| Lang::negotiate(req.headers().get_one("Accept-Language")))
        };
        // A cookie that no longer parses (hand-edited, an older CoPi) is ignored, not an error.
        let scopes = cookies
            .get(SCOPE_COOKIE)
            .and_then(|c| Scope::parse_list(c.value()).ok())
            .unwrap_or_default();
        let viewer = match req.guard::<Viewer>().await {
            Outcome::Success(v) => v.0,
            _ => Visibility::Public,
        };
        // Forms check the session's CSRF token in a field (see `account.rs`), so the header
        // check of the API's `User` guard does not apply here.
        let user = if cookies.get_private(crate::api::SESSION_COOKIE).is_some() {
            crate::api::authenticate_without_csrf(req).await.ok()
        } else {
            None
        };
        let reader = match req.guard::<crate::store::Reader>().await {
            Outcome::Success(r) => r,
            _ => crate::store::Reader::anonymous(),
        };
        Outcome::Success(Ctx {
            hub,
            lang,
            scopes,
            viewer,
            user,
            reader,
            here: req.uri().to_string(),
            bare: false,
        })
    }
}

/// A link back to `here` that is safe to redirect to: a local path only.
pub fn safe_back(back: Option<&str>) -> String {
    match back {
        Some(b) if b.starts_with('/') && !b.starts_with("//") && !b.contains('\\') && Origin::parse(b).is_ok() => {
            b.to_owned()
        }
        _ => "/".to_owned(),
    }
}

/// Percent-encodes a query value.
pub fn enc(s: &str) -> String {
    rocket::http::RawStr::new(s).percent_encode().to_string()
}

/// The main navigation: (path, message id, the module that shows it).
pub const NAV: [(&str, &str, Option<Module>); 8] = [
    ("/", "nav-home", None),
    ("/live", "nav-live", Some(Module::Live)),
    ("/agenda", "nav-agenda", Some(Module::Agenda)),
    ("/directory", "nav-directory", Some(Module::Directory)),
    ("/marketplace", "nav-marketplace", Some(Module::Marketplace)),
    ("/mutual-aid", "nav-mutual-aid", Some(Module::MutualAid)),
    ("/map", "nav-map", Some(Module::Map)),
    ("/search", "nav-search", Some(Module::Search)),
];

/// The page shell around `main`.
pub fn page(ctx: &Ctx<'_>, title: &str, main: Markup) -> Markup {
    page_with(ctx, title, html! {}, main)
}

/// The page shell, with extra elements in `<head>` (JSON-LD, page scripts).
pub fn page_with(ctx: &Ctx<'_>, title: &str, head: Markup, main: Markup) -> Markup {
    let identity = ctx.hub.identity();
    let name = &identity.name;
    let path = ctx.here.split('?').next().unwrap_or("/");
    let full_title = if title.is_empty() {
        name.clone()
    } else {
        format!("{title} · {name}")
    };
    html! {
        (DOCTYPE)
        html lang=(ctx.lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (full_title) }
                meta name="description" content=(ctx.ta("site-description", &[("name", name.as_str().into())]));
                link rel="stylesheet" href=(assets::url("copi.css"));
                link rel="manifest" href="/manifest.webmanifest";
                link rel="icon" href=(assets::url("icon.svg")) type="image/svg+xml";
                meta name="theme-color" content="#0b6e4f";
                link rel="alternate" type="application/atom+xml" href="/live.atom" title=(ctx.t("nav-live"));
                link rel="alternate" type="text/calendar" href="/agenda.ics" title=(ctx.t("nav-agenda"));
                (head)
                script src=(assets::url("copi.js")) defer {}
            }
            body {
                @if ctx.bare {
                    main id="main" { (main) }
                } @else {
                    a.skip href="#main" { (ctx.t("skip-to-content")) }
                    header.top {
                        a.brand href="/" { (name) }
                        form.quick role="search" action="/search" method="get" {
                            label.visually-hidden for="quick-q" { (ctx.t("search-label")) }
                            input #quick-q type="search" name="q" placeholder=(ctx.t("search-placeholder"));
                            button type="submit" { (ctx.t("search-button")) }
                        }
                        nav aria-label=(ctx.t("nav-label")) {
                            ul {
                                @for (href, id, module) in NAV {
                                    @if module.is_none_or(|m| ctx.hub.module_on(m)) {
                                    li {
                                        @let current = if href == "/" { path == "/" } else { path.starts_with(href) };
                                        a href=(href) aria-current=[current.then_some("page")] { (ctx.t(id)) }
                                    }
                                    }
                                }
                            }
                        }
                    }
                    main id="main" tabindex="-1" { (main) }
                    footer.bottom {
                        p.territory {
                            (ctx.t("territory-current")) " "
                            strong { (ctx.territory_label()) }
                            " · "
                            a href={ "/territory?back=" (enc(&ctx.here)) } { (ctx.t("territory-change")) }
                        }
                        @if ctx.hub.module_on(Module::I18n) {
                        nav.langs aria-label=(ctx.t("language-label")) {
                            ul {
                                @for l in Lang::ALL {
                                    li {
                                        @if l == ctx.lang {
                                            span lang=(l.code()) aria-current="true" { (l.endonym()) }
                                        } @else {
                                            a lang=(l.code()) hreflang=(l.code()) href={ "/lang/" (l.code()) "?back=" (enc(&ctx.here)) } { (l.endonym()) }
                                        }
                                    }
                                }
                            }
                        }
                        }
                        p.account {
                            @if ctx.user.is_some() {
                                a href="/feed" { (ctx.t("feed-title")) }
                                @if ctx.hub.module_on(Module::Cooperative) { " · " a href="/cooperative" { (ctx.t("coop-mine-title")) } }
                                " · " a href="/account" { (ctx.t("nav-account")) }
                            } @else {
                                a href={ "/login?back=" (enc(&ctx.here)) } { (ctx.t("nav-login")) }
                            }
                            " · " a href="/portal" { (ctx.t("nav-about")) }
                        }
                    }
                }
            }
        }
    }
}

/// A page that says what went wrong (400, 404, …), in the visitor's language.
pub fn error_page(ctx: &Ctx<'_>, status: u16, detail: &str) -> Markup {
    let title = match status {
        404 => ctx.t("error-not-found"),
        400 | 422 => ctx.t("error-bad-request"),
        _ => ctx.t("error-other"),
    };
    page(
        ctx,
        &title,
        html! {
            h1 { (title) }
            @if !detail.is_empty() { p { (detail) } }
            p { a href="/" { (ctx.t("error-back-home")) } }
        },
    )
}

/// Inline JSON-LD (schema.org) for `<head>`: every `<` is written `\u003c` (the same JSON),
/// so no text can close the script element or put the parser in another state (`<!--<script>`).
pub fn json_ld(value: &serde_json::Value) -> Markup {
    let text = value.to_string().replace('<', "\\u003c");
    html! { script type="application/ld+json" { (PreEscaped(text)) } }
}
