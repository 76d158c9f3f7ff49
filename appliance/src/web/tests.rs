//! Page tests with Rocket's local client on a demo hub: every route answers with the right
//! status and type and shows what it should; bad query strings give a 400 page, never a 500;
//! no page refers to another host; private elements never show.

use std::io::Write;
use std::sync::{Mutex, MutexGuard, OnceLock};

use rocket::http::{ContentType, Cookie, Header, Status};
use rocket::local::blocking::Client;
use serde_json::json;

use crate::api::{rocket, Hub};
use crate::bundle::Bundle;
use crate::config::Config;

struct Demo {
    client: Client,
    _dir: tempfile::TempDir,
}

/// One demo hub for every test of this module (building it takes a few seconds), one test
/// at a time.
fn demo() -> MutexGuard<'static, Demo> {
    static DEMO: OnceLock<Mutex<Demo>> = OnceLock::new();
    let demo = DEMO.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            data: dir.path().to_owned(),
            admin_token: Some("web-test-admin-token-0123456789".into()),
            ..Config::default()
        };
        let hub = Hub::open(config).unwrap();
        let today = jiff::Timestamp::now().to_zoned_datetime(hub.store.zone().clone()).date();
        let mut value = crate::demo::generate(today, &crate::demo::DemoSize::default());
        // A private event, to prove pages never show it.
        value["elements"].as_array_mut().unwrap().push(json!({
            "id": "6a0000000000000000000001", "kind": "event", "name": "Réunion secrète du bureau", "slug": "reunionsecretedubureau",
            "type": "meeting", "startDate": today.to_string() + "T18:00:00+01:00",
            "endDate": today.to_string() + "T20:00:00+01:00",
            "preferences": {"private": true},
            "address": {"@type": "PostalAddress", "postalCode": "26400", "addressLocality": "Crest", "codeInsee": "26108"},
        }));
        let bundle = Bundle::from_json(value, hub.store.zone()).unwrap();
        bundle.write(&hub.store, || {}).unwrap();
        Mutex::new(Demo {
            client: Client::untracked(rocket(hub)).unwrap(),
            _dir: dir,
        })
    });
    demo.lock().unwrap_or_else(|e| e.into_inner())
}

fn get(d: &Demo, uri: &str) -> (Status, Option<ContentType>, String) {
    let r = d.client.get(uri.to_owned()).dispatch();
    (r.status(), r.content_type(), r.into_string().unwrap_or_default())
}

fn page_ok(d: &Demo, uri: &str) -> String {
    let (status, ct, body) = get(d, uri);
    assert_eq!(status, Status::Ok, "{uri}: {body:.400}");
    assert_eq!(ct, Some(ContentType::HTML), "{uri}");
    assert!(body.starts_with("<!DOCTYPE html>"), "{uri}");
    body
}

/// The first `/{kind}/…` link of a page.
fn first_link(body: &str, kind: &str) -> String {
    let start = body.find(&format!("href=\"/{kind}/")).expect(kind) + 6;
    let end = body[start..].find('"').unwrap() + start;
    body[start..end].to_owned()
}

#[test]
fn every_page_answers_with_its_content() {
    let d = demo();
    let home = page_ok(&d, "/");
    for needle in [
        "Bienvenue sur",
        "Prochains événements",
        "Dernières nouvelles",
        "Entraide",
        "<svg",
        "lang=\"fr\"",
    ] {
        assert!(home.contains(needle), "home lacks {needle}");
    }
    assert!(page_ok(&d, "/live").contains("Fil d’actu"));
    for view in [
        "",
        "?view=list",
        "?view=week",
        "?view=month",
        "?view=month&date=2026-02",
        "?date=2027-01-15",
    ] {
        let body = page_ok(&d, &format!("/agenda{view}"));
        assert!(body.contains("Agenda"), "{view}");
    }
    assert!(page_ok(&d, "/agenda?view=month").contains("<table class=\"month\""));
    let orgs = page_ok(&d, "/directory?kind=organization");
    assert!(orgs.contains("href=\"/organization/"));
    assert!(
        !orgs.contains("href=\"/person/"),
        "filter by kind keeps only organisations"
    );
    assert!(page_ok(&d, "/directory?tags=jardin").contains("#jardin"));
    let coops = page_ok(&d, "/directory?kind=organization&type=cooperative");
    assert!(
        coops.contains("· Cooperative") && !coops.contains("· NGO"),
        "filtered by type"
    );
    assert!(page_ok(&d, "/marketplace").contains("href=\"/classified/"));
    let aid = page_ok(&d, "/mutual-aid");
    assert!(aid.contains("Offres") && aid.contains("Besoins"));
    assert!(page_ok(&d, "/search?q=jardin").contains("résultats"));
    assert!(page_ok(&d, "/search").contains("type=\"search\""));
    assert!(page_ok(&d, "/territory?q=crest").contains("city:26108"));
    assert!(page_ok(&d, "/offline").contains("Hors ligne"));

    let event = first_link(&page_ok(&d, "/agenda"), "event");
    let body = page_ok(&d, &event);
    assert!(body.contains("application/ld+json") && body.contains("\"@type\":\"Event\""));
    assert!(body.contains("/calendar.ics"));
    assert!(page_ok(&d, &format!("{event}/graph")).contains("<svg"));
    let org = first_link(&orgs, "organization");
    let body = page_ok(&d, &org);
    assert!(body.contains("\"@type\":\"Organization\"") && body.contains("/export"));
    for kind in ["project", "poi", "classified", "resource", "person"] {
        let list = if kind == "classified" {
            page_ok(&d, "/marketplace")
        } else if kind == "resource" {
            page_ok(&d, "/mutual-aid")
        } else {
            page_ok(&d, &format!("/directory?kind={kind}"))
        };
        let href = first_link(&list, kind);
        let body = page_ok(&d, &href);
        if kind == "person" {
            assert!(!body.contains("@example.com"), "a person's email never shows");
        }
    }
}

#[test]
fn bad_query_strings_give_a_400_page() {
    let d = demo();
    for uri in [
        "/agenda?date=2026-13-45",
        "/agenda?date=yesterday",
        "/agenda?view=year",
        "/agenda?cursor=%00%01",
        "/directory?kind=spaceship",
        "/directory?kind=classified",
        "/directory?scope=planet:mars",
        "/directory?cursor=zzz",
        "/live?cursor=-1",
        "/search?q=x&kind=nope",
        "/search?q=x&page=0",
        "/search?q=x&page=abc",
        "/territory/set?scope=nowhere:1",
        "/lang/xx",
    ] {
        let (status, ct, body) = get(&d, uri);
        assert_eq!(status, Status::BadRequest, "{uri}");
        assert_eq!(ct, Some(ContentType::HTML), "{uri}");
        assert!(body.contains("Requête invalide"), "{uri}");
    }
    for uri in ["/event/nothing-here", "/spaceship/x", "/organization/nothing/graph"] {
        let (status, ct, _) = get(&d, uri);
        assert_eq!(status, Status::NotFound, "{uri}");
        assert_eq!(ct, Some(ContentType::HTML), "{uri}");
    }
}

#[test]
fn private_elements_never_show_to_visitors() {
    let d = demo();
    for uri in [
        "/",
        "/agenda",
        "/agenda?view=month",
        "/agenda?view=week",
        "/search?q=secrete",
        "/directory?kind=event",
    ] {
        assert!(!page_ok(&d, uri).contains("secrète"), "{uri}");
    }
    assert_eq!(get(&d, "/event/reunionsecretedubureau").0, Status::NotFound);
    let admin = d
        .client
        .get("/event/reunionsecretedubureau")
        .header(Header::new("Authorization", "Bearer web-test-admin-token-0123456789"))
        .dispatch();
    assert_eq!(admin.status(), Status::Ok, "the admin sees it");
}

#[test]
fn language_from_header_cookie_and_switcher() {
    let d = demo();
    let r = d
        .client
        .get("/")
        .header(Header::new("Accept-Language", "en-GB,en;q=0.9"))
        .dispatch();
    let body = r.into_string().unwrap();
    assert!(body.contains("lang=\"en\"") && body.contains("Welcome to"));
    let r = d
        .client
        .get("/agenda")
        .header(Header::new("Accept-Language", "de"))
        .dispatch();
    assert!(r.into_string().unwrap().contains("lang=\"de\""));
    // The switcher sets a cookie that wins over the header, and goes back.
    let r = d.client.get("/lang/de?back=/agenda").dispatch();
    assert_eq!(r.status(), Status::SeeOther);
    assert_eq!(r.headers().get_one("Location"), Some("/agenda"));
    let cookie = r.cookies().get("copi_lang").expect("cookie set").value().to_owned();
    assert_eq!(cookie, "de");
    let r = d
        .client
        .get("/")
        .header(Header::new("Accept-Language", "en"))
        .cookie(Cookie::new("copi_lang", "de"))
        .dispatch();
    assert!(r.into_string().unwrap().contains("Willkommen bei"));
    // Never an open redirect.
    for back in [
        "//evil.example/",
        "http://evil.example/",
        "\\\\evil",
        "javascript:alert(1)",
    ] {
        let r = d
            .client
            .get(format!("/lang/en?back={}", crate::web::layout::enc(back)))
            .dispatch();
        assert_eq!(r.headers().get_one("Location"), Some("/"), "{back}");
    }
}

#[test]
fn territory_scopes_the_lists() {
    let d = demo();
    let r = d.client.get("/territory/set?scope=dep:07&back=/directory").dispatch();
    assert_eq!(r.status(), Status::SeeOther);
    let r = d
        .client
        .get("/directory?kind=organization")
        .cookie(Cookie::new("copi_scope", "dep:07"))
        .dispatch();
    let body = r.into_string().unwrap();
    assert!(body.contains("Ardèche"), "the footer names the territory");
    // A broken cookie is ignored, not an error.
    let r = d.client.get("/").cookie(Cookie::new("copi_scope", "%%%")).dispatch();
    assert_eq!(r.status(), Status::Ok);
}

#[test]
fn no_page_refers_to_another_host() {
    let d = demo();
    for uri in [
        "/",
        "/live",
        "/agenda",
        "/agenda?view=month",
        "/directory",
        "/marketplace",
        "/mutual-aid",
        "/search?q=v%C3%A9lo",
        "/territory",
    ] {
        let body = page_ok(&d, uri);
        for attr in ["src=\"", "href=\"", "action=\""] {
            for (i, _) in body.match_indices(attr) {
                let value = &body[i + attr.len()..];
                let value = &value[..value.find('"').unwrap()];
                assert!(
                    value.starts_with('/') || value.starts_with('#') || value.starts_with('?'),
                    "{uri}: {attr}{value}"
                );
            }
        }
    }
    for asset in crate::web::assets::all() {
        if asset.name.ends_with(".css") || asset.name.ends_with(".js") {
            let text = String::from_utf8_lossy(&asset.bytes);
            for (i, _) in text.match_indices("url(") {
                let v = text[i + 4..].trim_start_matches(['"', '\'']);
                assert!(
                    !v.starts_with("http") && !v.starts_with("//"),
                    "{}: url({v:.40}",
                    asset.name
                );
            }
        }
    }
}

#[test]
fn the_home_page_and_its_assets_fit_the_budget() {
    let d = demo();
    let home = page_ok(&d, "/");
    let gz = |bytes: &[u8]| {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(bytes).unwrap();
        e.finish().unwrap().len()
    };
    let mut total = gz(home.as_bytes());
    for name in ["copi.css", "copi.js", "icon.svg"] {
        total += gz(&crate::web::assets::get(name).unwrap().bytes);
    }
    assert!(total <= 150 * 1024, "home page with its CSS/JS: {total} bytes gzipped");
}

#[test]
fn assets_have_hashed_names_long_cache_etags_and_gzip() {
    let d = demo();
    let url = crate::web::assets::url("copi.css");
    let r = d
        .client
        .get(url.clone())
        .header(Header::new("Accept-Encoding", "gzip"))
        .dispatch();
    assert_eq!(r.status(), Status::Ok);
    assert_eq!(r.content_type(), Some(ContentType::CSS));
    assert_eq!(r.headers().get_one("Content-Encoding"), Some("gzip"));
    assert!(r.headers().get_one("Cache-Control").unwrap().contains("immutable"));
    let etag = r.headers().get_one("ETag").unwrap().to_owned();
    let r = d.client.get(url).header(Header::new("If-None-Match", etag)).dispatch();
    assert_eq!(r.status(), Status::NotModified);
    let r = d.client.get("/static/vendor/leaflet/images/marker-icon.png").dispatch();
    assert_eq!((r.status(), r.content_type()), (Status::Ok, Some(ContentType::PNG)));
    assert_eq!(
        d.client.get("/static/../Cargo.toml").dispatch().status(),
        Status::NotFound
    );
    let (status, ct, body) = get(&d, "/manifest.webmanifest");
    assert_eq!(status, Status::Ok);
    assert_eq!(ct.map(|c| c.to_string()), Some("application/manifest+json".into()));
    assert!(serde_json::from_str::<serde_json::Value>(&body).unwrap()["start_url"] == "/");
    let (status, ct, body) = get(&d, "/sw.js");
    assert_eq!((status, ct), (Status::Ok, Some(ContentType::JavaScript)));
    assert!(body.contains("caches.open"));
}

#[test]
fn cached_pages_follow_writes() {
    let d = demo();
    let before = page_ok(&d, "/marketplace");
    assert!(!before.contains("Vélo cargo tout neuf"));
    let r = d
        .client
        .post("/api/v1/elements")
        .header(Header::new("Authorization", "Bearer web-test-admin-token-0123456789"))
        .header(ContentType::JSON)
        .body(r#"{"kind": "classified", "name": "Vélo cargo tout neuf", "section": "forsale", "price": 900}"#)
        .dispatch();
    assert_eq!(r.status(), Status::Created, "{:?}", r.into_string());
    assert!(
        page_ok(&d, "/marketplace").contains("Vélo cargo tout neuf"),
        "the cache was dropped after the write"
    );
}

/// The value of the hidden field `name` in a page.
fn hidden(body: &str, name: &str) -> String {
    let at = body
        .find(&format!("name=\"{name}\" value=\""))
        .unwrap_or_else(|| panic!("no {name} field"))
        + name.len()
        + 15;
    body[at..at + body[at..].find('"').unwrap()].to_owned()
}

#[test]
fn sign_up_sign_in_and_out_with_forms() {
    let d = demo();
    let c = &d.client;
    // The form sets its double-submit cookie and carries the same token.
    let r = c.get("/signup?back=/agenda").dispatch();
    assert_eq!(r.status(), Status::Ok);
    let form_cookie = r.cookies().get("copi_form").expect("form cookie").value().to_owned();
    let body = r.into_string().unwrap();
    let token = hidden(&body, "csrf");
    assert_eq!(token, form_cookie);
    let form = |name: &str, email: &str, password: &str, csrf: &str| {
        format!(
            "name={}&email={}&password={}&csrf={}&back=%2Fagenda",
            crate::web::layout::enc(name),
            crate::web::layout::enc(email),
            crate::web::layout::enc(password),
            crate::web::layout::enc(csrf)
        )
    };
    // Without the cookie (a cross-site form) or with another token: refused, nothing made.
    let r = c
        .post("/signup")
        .header(ContentType::Form)
        .body(form("Zoé", "zoe@example.org", "correct horse battery", &token))
        .dispatch();
    assert_eq!(r.status(), Status::Forbidden);
    let r = c
        .post("/signup")
        .header(ContentType::Form)
        .cookie(Cookie::new("copi_form", form_cookie.clone()))
        .body(form("Zoé", "zoe@example.org", "correct horse battery", "forged"))
        .dispatch();
    assert_eq!(r.status(), Status::Forbidden);
    // A short password: the page says why, keeps the name, never echoes the password.
    let r = c
        .post("/signup")
        .header(ContentType::Form)
        .cookie(Cookie::new("copi_form", form_cookie.clone()))
        .body(form("Zoé", "zoe@example.org", "short", &token))
        .dispatch();
    assert_eq!(r.status(), Status::UnprocessableEntity);
    let body = r.into_string().unwrap();
    assert!(body.contains("value=\"Zoé\"") && !body.contains("value=\"short\""));
    // The real thing: a session cookie, back where the visitor came from.
    let r = c
        .post("/signup")
        .header(ContentType::Form)
        .cookie(Cookie::new("copi_form", form_cookie.clone()))
        .body(form("Zoé", "zoe@example.org", "correct horse battery", &token))
        .dispatch();
    assert_eq!(r.status(), Status::SeeOther);
    assert_eq!(r.headers().get_one("Location"), Some("/agenda"));
    let session = r
        .cookies()
        .get("copi_session")
        .expect("session cookie")
        .value()
        .to_owned();
    // The same email again: refused.
    let r = c
        .post("/signup")
        .header(ContentType::Form)
        .cookie(Cookie::new("copi_form", form_cookie.clone()))
        .body(form("Zoé bis", "ZOE@example.org", "correct horse battery", &token))
        .dispatch();
    assert_eq!(r.status(), Status::Conflict);
    // My account page shows who I am and carries the session's CSRF token.
    let r = c
        .get("/account")
        .cookie(Cookie::new("copi_session", session.clone()))
        .dispatch();
    assert_eq!(r.status(), Status::Ok);
    let body = r.into_string().unwrap();
    assert!(body.contains("zoe@example.org") && body.contains("Zoé"));
    let csrf = hidden(&body, "csrf");
    // Signing out needs that token.
    let r = c
        .post("/logout")
        .header(ContentType::Form)
        .cookie(Cookie::new("copi_session", session.clone()))
        .body("csrf=nope")
        .dispatch();
    assert_eq!(r.status(), Status::Forbidden);
    let r = c
        .post("/logout")
        .header(ContentType::Form)
        .cookie(Cookie::new("copi_session", session.clone()))
        .body(format!("csrf={}", crate::web::layout::enc(&csrf)))
        .dispatch();
    assert_eq!(r.status(), Status::SeeOther);
    // The session is over for good, whatever the browser still holds.
    let r = c
        .get("/account")
        .cookie(Cookie::new("copi_session", session))
        .dispatch();
    assert_eq!(r.status(), Status::SeeOther);
    assert!(r.headers().get_one("Location").unwrap().starts_with("/login"));
    // Signing in again works; a wrong password says so; many are throttled (429).
    let r = c.get("/login").dispatch();
    let login_cookie = r.cookies().get("copi_form").unwrap().value().to_owned();
    let token = hidden(&r.into_string().unwrap(), "csrf");
    let login = |password: &str| {
        c.post("/login")
            .header(ContentType::Form)
            .cookie(Cookie::new("copi_form", login_cookie.clone()))
            .body(format!(
                "email=zoe%40example.org&password={}&csrf={}",
                crate::web::layout::enc(password),
                crate::web::layout::enc(&token)
            ))
            .dispatch()
            .status()
    };
    assert_eq!(login("correct horse battery"), Status::SeeOther);
    let statuses: Vec<Status> = (0..30).map(|_| login("wrong password!")).collect();
    assert_eq!(statuses[0], Status::Unauthorized);
    assert_eq!(*statuses.last().unwrap(), Status::TooManyRequests, "{statuses:?}");
}

#[test]
fn a_citizen_follows_asks_to_join_posts_and_comments_from_the_pages() {
    let d = demo();
    let c = &d.client;
    let r = c.get("/signup").dispatch();
    let form_cookie = r.cookies().get("copi_form").unwrap().value().to_owned();
    let token = hidden(&r.into_string().unwrap(), "csrf");
    let r = c
        .post("/signup")
        .header(ContentType::Form)
        .cookie(Cookie::new("copi_form", form_cookie.clone()))
        .body(format!(
            "name=Lou%20Martin&email=lou%40example.org&password=correct%20horse%20battery&csrf={}",
            crate::web::layout::enc(&token)
        ))
        .dispatch();
    assert_eq!(r.status(), Status::SeeOther);
    let session = Cookie::new(
        "copi_session",
        r.cookies().get("copi_session").unwrap().value().to_owned(),
    );
    let get = |uri: &str| {
        let r = c.get(uri.to_owned()).cookie(session.clone()).dispatch();
        (r.status(), r.into_string().unwrap_or_default())
    };
    let (_, account) = get("/account");
    let csrf = hidden(&account, "csrf");
    let me = first_link(&account, "person");
    let (_, orgs) = get("/directory?kind=organization");
    let org = first_link(&orgs, "organization");
    let act = |page: &str, body: &str| {
        let r = c
            .post(format!("{page}/act"))
            .header(ContentType::Form)
            .cookie(session.clone())
            .body(body)
            .dispatch();
        (r.status(), r.headers().get_one("Location").map(str::to_owned))
    };
    let csrf_q = crate::web::layout::enc(&csrf);
    // Without the session's token: refused.
    assert_eq!(act(&org, "csrf=forged&action=follow").0, Status::Forbidden);
    // Follow, ask to join: the page then says so.
    assert_eq!(
        act(&org, &format!("csrf={csrf_q}&action=follow")),
        (Status::SeeOther, Some(org.clone()))
    );
    assert_eq!(act(&org, &format!("csrf={csrf_q}&action=join")).0, Status::SeeOther);
    let (_, page) = get(&org);
    assert!(
        page.contains("value=\"unfollow\"") && page.contains("en attente"),
        "{page:.300}"
    );
    // Not a member: no journal form, and posting there is refused.
    assert!(!page.contains("name=\"audience\""));
    assert_eq!(
        act(&org, &format!("csrf={csrf_q}&text=Bonjour&audience=public")).0,
        Status::Forbidden
    );
    // A comment on the organisation shows on its page.
    assert_eq!(
        act(&org, &format!("csrf={csrf_q}&text=Merci%20pour%20l%E2%80%99atelier")).0,
        Status::SeeOther
    );
    assert!(get(&org).1.contains("Merci pour l’atelier"));
    // On my own journal: a members-only post I see, that visitors do not.
    assert_eq!(
        act(&me, &format!("csrf={csrf_q}&text=Note%20pour%20moi&audience=private")).0,
        Status::SeeOther
    );
    assert!(get(&me).1.contains("Note pour moi"));
    assert!(
        !page_ok(&d, &me).contains("Note pour moi"),
        "anonymous visitors never see it"
    );
    // My feed answers (the organisation I follow may have public posts).
    assert_eq!(get("/feed").0, Status::Ok);
    assert_eq!(
        c.get("/feed").dispatch().status(),
        Status::SeeOther,
        "signed out: to the sign-in page"
    );
}

#[test]
fn element_pages_show_their_files_and_urls() {
    let d = demo();
    let orgs = page_ok(&d, "/directory?kind=organization");
    let org = first_link(&orgs, "organization");
    let id = hidden_id(&page_ok(&d, &org));
    let admin = Header::new("Authorization", "Bearer web-test-admin-token-0123456789");
    let r = d
        .client
        .post(format!("/api/v1/elements/{id}/files?name=affiche.png"))
        .header(admin.clone())
        .header(ContentType::PNG)
        .body(crate::files::samples::png(600, 400, false))
        .dispatch();
    assert_eq!(r.status(), Status::Created, "{:?}", r.into_string());
    let r = d
        .client
        .put(format!("/api/v1/elements/{id}/urls"))
        .header(admin)
        .header(ContentType::JSON)
        .body(r#"[{"url": "https://example.org/agenda", "title": "Notre agenda"}]"#)
        .dispatch();
    assert_eq!(r.status(), Status::Ok, "{:?}", r.into_string());
    let page = page_ok(&d, &org);
    assert!(
        page.contains("/thumb\"") && page.contains("alt=\"affiche.png\""),
        "the image and its thumbnail"
    );
    assert!(page.contains("Notre agenda") && page.contains("<code>https://example.org/agenda</code>"));
}

/// The element id in a page's export link.
fn hidden_id(body: &str) -> String {
    let at = body.find("/api/v1/elements/").expect("an export link") + 17;
    body[at..at + 24].to_owned()
}

#[test]
fn the_admin_signs_in_sees_the_hub_switches_modules_and_downloads_a_backup() {
    let d = demo();
    let c = &d.client;
    let r = c.get("/admin").dispatch();
    assert_eq!(
        (r.status(), r.headers().get_one("Location")),
        (Status::SeeOther, Some("/admin/login"))
    );
    assert_eq!(
        c.post("/admin/login")
            .header(ContentType::Form)
            .body("secret=nope")
            .dispatch()
            .status(),
        Status::Unauthorized
    );
    let r = c
        .post("/admin/login")
        .header(ContentType::Form)
        .body("secret=web-test-admin-token-0123456789")
        .dispatch();
    assert_eq!(r.status(), Status::SeeOther);
    let session = Cookie::new("copi_admin", r.cookies().get("copi_admin").unwrap().value().to_owned());
    let r = c.get("/admin").cookie(session.clone()).dispatch();
    assert_eq!(r.status(), Status::Ok);
    let body = r.into_string().unwrap();
    assert!(body.contains("Administration") && body.contains("name=\"on\" value=\"map\""));
    let csrf = hidden(&body, "csrf");
    // A form without the token changes nothing.
    let r = c
        .post("/admin/modules")
        .header(ContentType::Form)
        .cookie(session.clone())
        .body("csrf=forged&on=search")
        .dispatch();
    assert_eq!(r.status(), Status::BadRequest);
    assert_eq!(c.get("/map").dispatch().status(), Status::Ok);
    // Every module but the map.
    let on: String = crate::config::Module::ALL
        .iter()
        .filter(|m| **m != crate::config::Module::Map)
        .map(|m| format!("&on={}", m.as_str()))
        .collect();
    let r = c
        .post("/admin/modules")
        .header(ContentType::Form)
        .cookie(session.clone())
        .body(format!("csrf={}{on}", crate::web::layout::enc(&csrf)))
        .dispatch();
    assert_eq!(r.status(), Status::SeeOther);
    assert_eq!(c.get("/map").dispatch().status(), Status::NotFound);
    let all: String = crate::config::Module::ALL
        .iter()
        .map(|m| format!("&on={}", m.as_str()))
        .collect();
    c.post("/admin/modules")
        .header(ContentType::Form)
        .cookie(session.clone())
        .body(format!("csrf={}{all}", crate::web::layout::enc(&csrf)))
        .dispatch();
    assert_eq!(c.get("/map").dispatch().status(), Status::Ok);
    // The backup is a gzipped tar that starts with its manifest.
    let r = c.get("/admin/backup").cookie(session.clone()).dispatch();
    assert_eq!(r.status(), Status::Ok);
    assert!(r
        .headers()
        .get_one("Content-Disposition")
        .unwrap()
        .contains("copi-backup-"));
    let bytes = r.into_bytes().unwrap();
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]));
    let first = tar.entries().unwrap().next().unwrap().unwrap();
    assert_eq!(first.path().unwrap().to_string_lossy(), crate::backup::MANIFEST);
    // Without the session: no backup.
    assert_ne!(c.get("/admin/backup").dispatch().status(), Status::Ok);
}

#[test]
fn anyone_reports_an_element_from_its_page_and_the_admin_sees_it() {
    let d = demo();
    let c = &d.client;
    let orgs = page_ok(&d, "/directory?kind=organization");
    let org = first_link(&orgs, "organization");
    let r = c.get(org.clone()).dispatch();
    let form_cookie = r.cookies().get("copi_form").expect("a form token").value().to_owned();
    let body = r.into_string().unwrap();
    assert!(body.contains("Signaler un problème"));
    let token = hidden(&body, "csrf");
    let post = |csrf: &str, reason: &str, cookie: bool| {
        let mut req = c.post(format!("{org}/report")).header(ContentType::Form).body(format!(
            "csrf={}&reason={}",
            crate::web::layout::enc(csrf),
            crate::web::layout::enc(reason)
        ));
        if cookie {
            req = req.cookie(Cookie::new("copi_form", form_cookie.clone()));
        }
        req.dispatch().status()
    };
    assert_eq!(
        post(&token, "Horaires faux", false),
        Status::Forbidden,
        "a cross-site form has no cookie"
    );
    assert_eq!(post(&token, "", true), Status::BadRequest);
    assert_eq!(post(&token, "Les horaires sont faux", true), Status::Ok);
    let r = c
        .get("/api/v1/admin/reports")
        .header(Header::new("Authorization", "Bearer web-test-admin-token-0123456789"))
        .dispatch();
    assert!(r.into_string().unwrap().contains("Les horaires sont faux"));
}

#[test]
fn anyone_proposes_an_event_that_waits_for_the_admin() {
    let d = demo();
    let c = &d.client;
    let r = c.get("/submit").dispatch();
    let cookie = Cookie::new("copi_form", r.cookies().get("copi_form").unwrap().value().to_owned());
    let token = hidden(&r.into_string().unwrap(), "csrf");
    let send = |body: String, with_cookie: bool| {
        let mut req = c.post("/submit").header(ContentType::Form).body(body);
        if with_cookie {
            req = req.cookie(cookie.clone());
        }
        req.dispatch().status()
    };
    let csrf = crate::web::layout::enc(&token);
    let body = format!("csrf={csrf}&kind=event&name=Bal%20folk%20du%20Moulin&start=2030-06-21T20%3A00&postal_code=26400&locality=Crest");
    assert_eq!(send(body.clone(), false), Status::Forbidden);
    assert_eq!(
        send(format!("csrf={csrf}&kind=event&name=Sans%20date"), true),
        Status::UnprocessableEntity
    );
    assert_eq!(
        send(format!("csrf={csrf}&kind=spaceship&name=x"), true),
        Status::BadRequest
    );
    assert_eq!(send(body, true), Status::Ok);
    // Held: nobody sees it until the admin approves it.
    assert!(!page_ok(&d, "/agenda?date=2030-06-21").contains("Bal folk du Moulin"));
    let r = c
        .get("/api/v1/admin/submissions")
        .header(Header::new("Authorization", "Bearer web-test-admin-token-0123456789"))
        .dispatch();
    assert!(r.into_string().unwrap().contains("Bal folk du Moulin"));
}

#[test]
fn pages_forbid_every_other_origin_and_framing_but_the_embed() {
    let d = demo();
    for uri in [
        "/",
        "/agenda",
        "/map",
        "/search?q=jardin",
        "/nothing-here",
        "/admin/login",
        "/portal",
    ] {
        let r = d.client.get(uri).header(Header::new("Accept", "text/html")).dispatch();
        let csp = r
            .headers()
            .get_one("Content-Security-Policy")
            .unwrap_or_default()
            .to_owned();
        for part in [
            "default-src 'self'",
            "script-src 'self'",
            "connect-src 'self'",
            "object-src 'none'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(part), "{uri}: {csp}");
        }
        assert!(!csp.contains("unsafe-eval") && !csp.contains('*'), "{uri}: {csp}");
        assert_eq!(r.headers().get_one("X-Content-Type-Options"), Some("nosniff"), "{uri}");
    }
    // The embeddable map keeps its own framing rule, inside the same policy.
    let r = d.client.get("/embed/map").dispatch();
    let csp = r
        .headers()
        .get_one("Content-Security-Policy")
        .unwrap_or_default()
        .to_owned();
    assert!(
        csp.contains("script-src 'self'") && csp.ends_with("frame-ancestors *"),
        "{csp}"
    );
    // JSON has no page policy, but no sniffing either.
    let r = d.client.get("/api/v1/status").dispatch();
    assert_eq!(r.headers().get_one("Content-Security-Policy"), None);
    assert_eq!(r.headers().get_one("X-Content-Type-Options"), Some("nosniff"));
}
