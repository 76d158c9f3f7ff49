//! The hub's pages in real headless Chromium on a phone, with every other host unreachable:
//! each page loads, asks nothing of another host, passes axe-core with no serious or
//! critical violation, and leaves a screenshot in `target/screenshots/` (or
//! `$COPI_SCREENSHOTS`).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use copi_e2e::browser::{assert_no_serious, serious_report, Browser, Page, DEVICE_SCALE, VIEWPORT};
use copi_e2e::{Server, TestDir};

/// What every page must pass: a 200, nothing from another host, axe, a screenshot.
fn check_page(page: &Page<'_>, screenshot: &str) {
    assert_eq!(page.status(), 200, "{}: {}", page.url(), page.title());
    page.assert_no_foreign_requests();
    let shot = page.screenshot(screenshot);
    assert_png_of_phone_screen(&shot);
    assert_no_serious(&page.axe());
}

/// The file is a PNG of the phone's screen in device pixels.
fn assert_png_of_phone_screen(path: &std::path::Path) {
    let png = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{} is not a PNG", path.display());
    let size = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
    let device = |css: u32| (f64::from(css) * DEVICE_SCALE) as u32;
    let expected = (device(VIEWPORT.0), device(VIEWPORT.1));
    assert_eq!((size(16), size(20)), expected, "{}", path.display());
}

#[test]
fn portal_on_a_phone_works_offline_and_passes_axe() {
    let dir = TestDir::new();
    let server = Server::start(&dir, &[]);
    let browser = Browser::launch();
    let page = browser.open(&format!("{}/portal", server.base));

    // The phone it is seen on.
    assert_eq!(
        page.eval("[innerWidth, devicePixelRatio, navigator.maxTouchPoints > 0]"),
        serde_json::json!([390, 2, true])
    );
    assert!(page.eval("navigator.userAgent").as_str().unwrap().contains("Mobile"));

    assert_eq!(page.lang(), "fr");
    assert!(
        page.text("h1").starts_with("Vous êtes sur le hub"),
        "{}",
        page.text("h1")
    );
    assert_eq!(page.count("figure svg"), 1, "the QR code");
    let requests = page.requests();
    assert!(requests[0].ends_with("/portal"), "{requests:?}");
    check_page(&page, "portal");

    // The check bites: an image without text alternative is a critical violation.
    page.eval(
        "document.body.insertAdjacentHTML('beforeend', '<img src=\"data:image/gif;base64,R0lGODlhAQABAAAAACw=\">')",
    );
    let violations = page.axe();
    assert!(
        violations
            .iter()
            .any(|v| v.id == "image-alt" && v.impact == "critical" && v.nodes == ["img"]),
        "{violations:?}"
    );
    let report = serious_report(&violations).expect("a report");
    assert!(report.contains("[critical] image-alt"), "{report}");
}

/// An HTTP server on another loopback address: a host that is really reachable from this
/// machine, which the browser must nevertheless not reach. Counts the connections it gets.
fn other_host() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.2:0").expect("bind 127.0.0.2");
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&hits);
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            counted.fetch_add(1, Ordering::SeqCst);
            let _ = conn.set_read_timeout(Some(Duration::from_secs(1)));
            let _ = conn.read(&mut [0; 4096]);
            let _ = conn.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nAccess-Control-Allow-Origin: *\r\nConnection: close\r\n\r\nok",
            );
        }
    });
    (format!("http://{addr}"), hits)
}

#[test]
fn the_browser_reaches_no_other_host() {
    let (other, hits) = other_host();
    // The other host answers anyone else.
    let answer = ureq::get(&format!("{other}/"))
        .call()
        .expect("other host answers")
        .into_string()
        .unwrap();
    assert_eq!((answer.as_str(), hits.swap(0, Ordering::SeqCst)), ("ok", 1));

    let dir = TestDir::new();
    let server = Server::start(&dir, &[]);
    let browser = Browser::launch();
    // A document without the pages' Content-Security-Policy (which would stop these requests
    // before they leave, see below): what stops them here is the harness.
    let page = browser.open(&format!("{}/api/v1/status", server.base));

    // The hub itself is reachable from the page's scripts…
    let own = page.eval("fetch('/healthz').then(r => r.status, e => 'failed: ' + e)");
    assert_eq!(own, 200);
    // …nothing else is: a name, another loopback address, an image.
    for url in ["http://example.com/", &format!("{other}/x")] {
        let got = page.eval(&format!(
            "fetch('{url}', {{mode: 'no-cors', cache: 'no-store'}}).then(r => 'reached', e => 'failed')"
        ));
        assert_eq!(got, "failed", "{url}");
    }
    let img = page.eval(
        "new Promise(done => { const i = new Image(); i.onload = () => done('loaded'); \
         i.onerror = () => done('failed'); i.src = 'http://example.com/x.png'; })",
    );
    assert_eq!(img, "failed");
    assert_eq!(hits.load(Ordering::SeqCst), 0, "the browser reached {other}");

    // On the hub's pages, the policy refuses other origins before any request is made.
    let portal = browser.open(&format!("{}/portal", server.base));
    let got = portal.eval(&format!(
        "fetch('{other}/y', {{mode: 'no-cors', cache: 'no-store'}}).then(r => 'reached', e => 'failed')"
    ));
    assert_eq!(got, "failed");
    assert!(portal.foreign_requests().is_empty(), "{:?}", portal.foreign_requests());
    assert_eq!(hits.load(Ordering::SeqCst), 0, "the browser reached {other}");

    // The requests were made, seen by the recorder and stopped at the dead proxy.
    let foreign = page.foreign_requests();
    for url in ["http://example.com/", &format!("{other}/x"), "http://example.com/x.png"] {
        assert!(foreign.iter().any(|u| u == url), "{url} not recorded: {foreign:?}");
    }
    let failed = page.failed_requests();
    for url in &foreign {
        assert!(
            failed
                .iter()
                .any(|(u, e)| u == url && e == "net::ERR_PROXY_CONNECTION_FAILED"),
            "{url}: {failed:?}"
        );
    }
}

// The visitor's pages (issue 3), on the demo hub.

/// The demo hub, and a browser to look at it.
fn demo() -> (TestDir, Server, Browser) {
    let dir = TestDir::new();
    let server = Server::start(&dir, &["--demo"]);
    (dir, server, Browser::launch())
}

#[test]
fn home_on_a_phone() {
    let (_dir, server, browser) = demo();
    let page = browser.open(&format!("{}/", server.base));
    assert_eq!(page.lang(), "fr");
    assert!(page.count("main a[href]") > 0, "an empty home page");
    check_page(&page, "home");
}

#[test]
fn agenda_month_view() {
    let (_dir, server, browser) = demo();
    let page = browser.open(&format!("{}/agenda?view=month", server.base));
    assert_eq!(page.count("table.month"), 1);
    assert!(page.count("table.month td") >= 28, "not a month");
    check_page(&page, "agenda-month");
}

#[test]
fn directory_filtered_by_kind() {
    let (_dir, server, browser) = demo();
    let page = browser.open(&format!("{}/directory", server.base));
    page.select("form.filters select[name=kind]", "organization");
    page.click_and_wait("form.filters button[type=submit]");
    assert!(page.url().contains("kind=organization"), "{}", page.url());
    let links = page.eval("[...document.querySelectorAll('ul.cards li.card h3 a')].map(a => a.pathname)");
    let links: Vec<&str> = links.as_array().unwrap().iter().map(|l| l.as_str().unwrap()).collect();
    assert!(!links.is_empty(), "no organization listed");
    assert!(links.iter().all(|l| l.starts_with("/organization/")), "{links:?}");
    check_page(&page, "directory-organizations");
}

#[test]
fn event_page() {
    let (_dir, server, browser) = demo();
    let (status, list) = server.get("/api/v1/elements?type=event&limit=1");
    assert_eq!(status, 200, "{list}");
    let event = &list["items"][0];
    let slug = event["slug"].as_str().expect("an event with a slug");
    let page = browser.open(&format!("{}/event/{slug}", server.base));
    assert_eq!(page.text("main h1").trim(), event["name"].as_str().unwrap().trim());
    check_page(&page, "event");
}

#[test]
fn map_draws_markers_offline() {
    let (_dir, server, browser) = demo();
    let page = browser.open(&format!("{}/map", server.base));
    page.wait_for(".leaflet-marker-icon, .marker-cluster");
    assert!(page.count(".leaflet-marker-icon, .marker-cluster") > 0);
    check_page(&page, "map");
}

#[test]
fn language_switcher_turns_pages_english() {
    let (_dir, server, browser) = demo();
    let page = browser.open(&format!("{}/agenda?view=month", server.base));
    assert_eq!(page.lang(), "fr");
    page.click_and_wait("footer nav.langs a[hreflang=en]");
    assert_eq!(page.lang(), "en");
    assert!(
        page.url().ends_with("/agenda?view=month"),
        "back where it was: {}",
        page.url()
    );
    check_page(&page, "agenda-month-en");
    // The choice stays for the next pages.
    page.goto(&format!("{}/", server.base));
    assert_eq!(page.lang(), "en");
}

/// The service worker keeps the pages a visitor saw: once the hub is gone (the phone left
/// its Wi-Fi), those pages still show, and a page never seen shows the offline page.
/// Service workers need a secure context, which `http://127.0.0.1` is; see ARCHITECTURE.md
/// for what that means on the hub's own name.
#[test]
fn pages_seen_stay_readable_when_the_hub_is_gone() {
    let dir = TestDir::new();
    let mut server = Server::start(&dir, &["--demo"]);
    let browser = Browser::launch();
    let page = browser.open(&format!("{}/", server.base));
    // Installed, active and controlling this page (the first load is not controlled).
    page.eval("navigator.serviceWorker.ready.then(() => true)");
    page.goto(&format!("{}/", server.base));
    assert_eq!(
        page.eval("!!navigator.serviceWorker.controller"),
        serde_json::json!(true)
    );
    page.goto(&format!("{}/agenda", server.base));
    let agenda_title = page.text("h1");
    server.kill();

    page.goto(&format!("{}/agenda", server.base));
    assert_eq!(page.text("h1"), agenda_title, "the agenda seen before is kept");
    assert!(page.count(".card") > 0, "with its events");
    page.goto(&format!("{}/live", server.base));
    let text = page.eval("document.body.innerText").as_str().unwrap_or("").to_owned();
    assert!(
        text.contains("Hors ligne") && text.contains("Offline"),
        "a page never seen: the offline page: {text:.300}"
    );
    page.screenshot("offline");
}

// First boot (issue 7): the wizard on a phone, cut by a power loss, resumed, closed for good.

#[test]
fn first_boot_wizard_on_a_phone_survives_a_power_cut_and_never_opens_again() {
    let dir = TestDir::new();
    let boot = dir.path().join("boot");
    std::fs::create_dir_all(&boot).unwrap();
    let toml = boot.join("copi.toml");
    std::fs::write(&toml, "[hub]\nname = \"Tiers-lieu\"\n").unwrap();
    let config = toml.to_str().unwrap();
    let code_file = boot.join("copi-setup-code.txt");
    let mut server = Server::start(&dir, &["--config", config]);

    // The code is on the "SD card", beside copi.toml; the store keeps only its hash.
    let text = std::fs::read_to_string(&code_file).expect("a setup code beside copi.toml");
    let code = text.lines().next().unwrap().rsplit(' ').next().unwrap().to_owned();
    assert!(!server.log().contains(&code), "the code is never logged");

    let browser = Browser::launch();
    let page = browser.open(&format!("{}/setup", server.base));
    check_page(&page, "setup-code");
    page.fill("#setup-code", "AAAA-AAAA-AAAA-AA");
    page.click_and_wait("main form button[type=submit]");
    assert_eq!(page.status(), 401);
    page.fill("#setup-code", &code.to_lowercase());
    page.click_and_wait("main form button[type=submit]");
    check_page(&page, "setup-admin");
    page.fill("#s-name", "Camille Martin");
    page.fill("#s-email", "camille@tiers-lieu.fr");
    page.fill("#s-password", "un mot de passe solide");
    page.fill("#s-password2", "un mot de passe solide");
    page.click_and_wait("main form button[type=submit]");
    check_page(&page, "setup-hub");
    assert!(page.url().ends_with("/setup"), "{}", page.url());

    // The power goes (SIGKILL) and comes back: same code, and the wizard resumes at step 2.
    server.kill();
    let server = Server::start(&dir, &["--config", config]);
    assert_eq!(
        std::fs::read_to_string(&code_file).unwrap(),
        text,
        "a restart keeps the code"
    );
    page.goto(&format!("{}/setup", server.base));
    assert_eq!(page.count("#s-hub-name"), 1, "resumed at the hub step");
    page.fill("#s-hub-name", "La Fabrique de Crest");
    page.fill("#s-territory", "Crest");
    page.click_and_wait("main form button[type=submit]");
    check_page(&page, "setup-modules");
    page.click("#s-m-marketplace");
    page.click_and_wait("main form button[type=submit]");

    // Done: the admin is signed in, the hub is named, the code is gone for good.
    assert!(page.url().ends_with("/admin"), "{}", page.url());
    assert_eq!(page.status(), 200);
    assert!(!code_file.exists(), "the code file is deleted");
    let (_, status) = server.get("/api/v1/status");
    assert_eq!(status["name"], "La Fabrique de Crest");
    assert_eq!(status["territories"][0]["scope"], "city:26108");
    page.goto(&format!("{}/setup", server.base));
    assert_eq!(page.status(), 404);
    page.goto(&format!("{}/", server.base));
    assert!(page.text("h1").contains("La Fabrique de Crest"), "{}", page.text("h1"));
    assert_eq!(
        page.count("nav a[href='/marketplace']"),
        0,
        "the marketplace was left off"
    );

    // Another restart: no new code, the wizard stays closed, the password signs the admin in.
    drop(server);
    let server = Server::start(&dir, &["--config", config]);
    assert!(!code_file.exists());
    let other = browser.open(&format!("{}/setup", server.base));
    assert_eq!(other.status(), 404);
    other.goto(&format!("{}/admin/login", server.base));
    other.fill("#admin-secret", "un mot de passe solide");
    other.click_and_wait("main form button[type=submit]");
    assert!(other.url().ends_with("/admin"), "{}", other.url());
    assert_eq!(other.status(), 200);
}
