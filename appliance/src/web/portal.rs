//! The captive portal.
//!
//! Phones check for internet by fetching a known URL when they join a Wi-Fi network; an
//! answer other than the expected one makes them open a "sign in to network" window on what
//! they were sent. The hub answers every probe with a redirect to its landing page (over
//! plain HTTP: the window follows redirects but never accepts an HTTPS one for a portal),
//! and any request for a host name that is not the hub's (dnsmasq sends every name to the
//! hub when offline) is redirected the same way. That last part only on an appliance (a
//! `[wifi]` table): a hub on a server, a main reached by its DNS name, answers every name.

use rocket::data::Data;
use rocket::fairing::{AdHoc, Fairing, Info, Kind};
use rocket::http::{ContentType, Header, Method, Status};
use rocket::response::content::RawHtml;
use rocket::response::Redirect;
use rocket::{Request, Response, State};

use crate::api::Hub;

/// Where the portal sends people, and the names the hub answers to.
#[derive(Debug, Clone)]
pub struct Portal {
    /// The hub's canonical host: `copi.lan`.
    pub canonical: String,
    /// Other names the hub answers to (`copi.local`, …); IP addresses and `localhost`
    /// always count.
    pub names: Vec<String>,
    /// Whether requests for other host names go to the landing page: only on the hub's own
    /// access point, where dnsmasq sends every name to the hub.
    pub captive: bool,
}

impl Default for Portal {
    fn default() -> Self {
        Portal {
            canonical: "copi.lan".into(),
            names: vec!["copi.local".into()],
            captive: true,
        }
    }
}

impl Portal {
    pub fn landing_url(&self) -> String {
        format!("http://{}/portal", self.canonical)
    }

    /// Whether a request for `host` goes to the landing page instead of its route.
    pub fn is_foreign(&self, host: &str) -> bool {
        self.captive && !self.is_own_host(host)
    }

    /// Whether a request's `Host` names this hub.
    pub fn is_own_host(&self, host: &str) -> bool {
        let name = host_name(host);
        name.is_empty()
            || name.eq_ignore_ascii_case("localhost")
            || name.parse::<std::net::IpAddr>().is_ok()
            || name.eq_ignore_ascii_case(&self.canonical)
            || self.names.iter().any(|n| n.eq_ignore_ascii_case(name))
    }
}

/// The host part of a `Host` header: no port, no brackets around IPv6.
fn host_name(host: &str) -> &str {
    let host = host.trim();
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("");
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => host,
    }
    .trim_end_matches('.')
}

fn portal_of(hub: &Hub) -> &Portal {
    &hub.portal
}

// Android and ChromeOS.
#[rocket::get("/generate_204")]
fn android(hub: &State<Hub>) -> Redirect {
    Redirect::found(portal_of(hub).landing_url())
}

#[rocket::get("/gen_204")]
fn android_short(hub: &State<Hub>) -> Redirect {
    Redirect::found(portal_of(hub).landing_url())
}

// Apple: iOS and macOS expect "Success"; anything else opens the portal window.
#[rocket::get("/hotspot-detect.html")]
fn apple(hub: &State<Hub>) -> Redirect {
    Redirect::found(portal_of(hub).landing_url())
}

#[rocket::get("/library/test/success.html")]
fn apple_old(hub: &State<Hub>) -> Redirect {
    Redirect::found(portal_of(hub).landing_url())
}

// Windows: "Microsoft Connect Test" and "Microsoft NCSI".
#[rocket::get("/connecttest.txt")]
fn windows(hub: &State<Hub>) -> Redirect {
    Redirect::found(portal_of(hub).landing_url())
}

#[rocket::get("/ncsi.txt")]
fn windows_ncsi(hub: &State<Hub>) -> Redirect {
    Redirect::found(portal_of(hub).landing_url())
}

#[rocket::get("/redirect")]
fn windows_redirect(hub: &State<Hub>) -> Redirect {
    Redirect::found(portal_of(hub).landing_url())
}

// Firefox.
#[rocket::get("/canonical.html")]
fn firefox(hub: &State<Hub>) -> Redirect {
    Redirect::found(portal_of(hub).landing_url())
}

#[rocket::get("/success.txt")]
fn firefox_success(hub: &State<Hub>) -> Redirect {
    Redirect::found(portal_of(hub).landing_url())
}

/// An SVG QR code of `text`.
pub fn qr_svg(text: &str) -> Option<String> {
    let code = qrcode::QrCode::new(text.as_bytes()).ok()?;
    Some(
        code.render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(200, 200)
            .dark_color(qrcode::render::svg::Color("#000000"))
            .light_color(qrcode::render::svg::Color("#ffffff"))
            .build(),
    )
}

/// "You are on the hub": what the portal window shows, with the ways back.
#[rocket::get("/portal")]
fn landing(hub: &State<Hub>) -> RawHtml<String> {
    let portal = portal_of(hub);
    let identity = hub.identity();
    let name = &identity.name;
    let home = format!("http://{}/", portal.canonical);
    let qr = qr_svg(&home).unwrap_or_default();
    let page = maud::html! {
        (maud::DOCTYPE)
        html lang="fr" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Bienvenue sur " (name) }
                style { "body{font-family:system-ui,sans-serif;max-width:32rem;margin:1rem auto;padding:0 1rem;line-height:1.5;color:#1a1a1a}"
                        "a.button{display:inline-block;padding:.7rem 1.2rem;background:#0b6e4f;color:#fff;border-radius:.4rem;text-decoration:none;font-weight:600}"
                        "figure{margin:1rem 0}figure svg{width:12rem;height:auto}code{background:#eee;padding:0 .2rem}" }
            }
            body {
                main {
                    h1 { "Vous êtes sur le hub " (name) }
                    p { "Ce réseau Wi-Fi est un point d'accès local : annuaire, agenda, petites annonces, entraide et actualités du territoire, sans internet." }
                    p { a.button href=(home) { "Entrer sur le hub" } }
                    h2 { "Pour revenir plus tard" }
                    ul {
                        li { "ouvrez " code { (portal.canonical) } " dans votre navigateur," }
                        @for n in &portal.names { li { "ou " code { (n) } "," } }
                        li { "ou scannez ce code :" }
                    }
                    figure { (maud::PreEscaped(qr)) figcaption { (home) } }
                }
            }
        }
    };
    RawHtml(page.into_string())
}

/// Redirects requests for other hosts to the landing page.
struct ForeignHosts;

#[rocket::async_trait]
impl Fairing for ForeignHosts {
    fn info(&self) -> Info {
        Info {
            name: "captive portal: foreign hosts",
            kind: Kind::Request | Kind::Response,
        }
    }

    /// A request for another host that could change something (a page of another site whose
    /// name now points at the hub: DNS rebinding) never reaches its handler: it is routed to the
    /// landing page, and answered with the redirect below.
    async fn on_request(&self, req: &mut Request<'_>, _: &mut Data<'_>) {
        let foreign = req
            .rocket()
            .state::<Hub>()
            .is_some_and(|hub| hub.portal.is_foreign(req.headers().get_one("Host").unwrap_or("")));
        if foreign && !matches!(req.method(), Method::Get | Method::Head | Method::Options) {
            req.set_method(Method::Get);
            req.set_uri(rocket::http::uri::Origin::path_only("/portal"));
        }
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        let Some(hub) = req.rocket().state::<Hub>() else { return };
        let host = req.headers().get_one("Host").unwrap_or("");
        if !hub.portal.is_foreign(host) {
            return;
        }
        let body = format!("<a href=\"{0}\">{0}</a>", hub.portal.landing_url());
        res.set_status(Status::Found);
        res.set_header(Header::new("Location", hub.portal.landing_url()));
        res.set_header(Header::new("Cache-Control", "no-store"));
        res.set_header(ContentType::HTML);
        res.set_sized_body(body.len(), std::io::Cursor::new(body));
    }
}

pub fn stage() -> AdHoc {
    AdHoc::on_ignite("captive portal", |rocket| async {
        rocket.attach(ForeignHosts).mount(
            "/",
            rocket::routes![
                android,
                android_short,
                apple,
                apple_old,
                windows,
                windows_ncsi,
                windows_redirect,
                firefox,
                firefox_success,
                landing
            ],
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_hosts() {
        let p = Portal::default();
        fn check(p: &Portal, host: &str, expected: bool) {
            assert_eq!(p.is_own_host(host), expected, "{host}");
        }
        check(&p, "copi.lan", true);
        check(&p, "COPI.LAN:80", true);
        check(&p, "copi.local", true);
        check(&p, "copi.lan.", true);
        check(&p, "10.42.0.1", true);
        check(&p, "127.0.0.1:8000", true);
        check(&p, "[::1]:8000", true);
        check(&p, "localhost:8000", true);
        check(&p, "", true);
        check(&p, "connectivitycheck.gstatic.com", false);
        check(&p, "captive.apple.com", false);
        check(&p, "www.msftconnecttest.com:80", false);
        assert!(p.is_foreign("captive.apple.com") && !p.is_foreign("copi.lan"));
        // A hub without an access point (a main on a server) answers to every name.
        let server = Portal { captive: false, ..p };
        assert!(!server.is_foreign("main.example.org") && !server.is_foreign("copi.lan"));
    }

    #[test]
    fn qr_codes_are_svg() {
        let svg = qr_svg("http://copi.lan/").unwrap();
        assert!(svg.starts_with("<?xml") && svg.contains("<svg"), "{}", &svg[..80]);
    }
}
