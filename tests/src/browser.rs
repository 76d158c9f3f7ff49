//! A real browser for the end-to-end tests: Debian's headless Chromium, driven over the
//! DevTools protocol, on a phone-sized viewport, with every host but the test hub
//! unreachable.
//!
//! Nothing is skipped: without Chromium or axe-core the tests fail and say to run
//! `scripts/deps test`. Screenshots go to `$COPI_SCREENSHOTS`, else
//! `<workspace>/target/screenshots/` (the folder CI keeps).
//!
//! How other hosts are cut off (two layers, so that one forgotten case is caught by the other):
//! - every request goes through a proxy on a closed loopback port, except those for
//!   `127.0.0.1` and `localhost` (`<-loopback>` drops Chromium's implicit bypass of the rest
//!   of 127.0.0.0/8 and of `[::1]`, so even another loopback address counts as another host);
//! - every host name resolves to nothing, except `127.0.0.1` and `localhost`, for whatever
//!   does not use the proxy (WebRTC is kept to proxied UDP, i.e. none).

use std::marker::PhantomData;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use base64ct::Encoding as _;
use headless_chrome as hc;
use headless_chrome::protocol::cdp::types::Event;
use headless_chrome::protocol::cdp::{Emulation, Network, Page as Cdp, Runtime};
use serde_json::Value;

/// The phone the pages are seen on: CSS pixels, device pixel ratio.
pub const VIEWPORT: (u32, u32) = (390, 844);
pub const DEVICE_SCALE: f64 = 2.0;

/// A loopback port nothing listens on (discard): the proxy every other host goes through.
const DEAD_PROXY_PORT: u16 = 9;

/// How long a page may take to load, or a selector to appear.
const TIMEOUT: Duration = Duration::from_secs(20);

const DEPS_HINT: &str = "run scripts/deps test";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_owned()
}

/// Debian's Chromium (`$COPI_CHROMIUM` to use another build).
pub fn chromium_path() -> PathBuf {
    std::env::var_os("COPI_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

/// Where screenshots are written: `$COPI_SCREENSHOTS`, else `<workspace>/target/screenshots`.
pub fn screenshots_dir() -> PathBuf {
    std::env::var_os("COPI_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target").join("screenshots"))
}

/// axe-core as npm installed it in `assets/node_modules` (by `scripts/deps test`).
pub fn axe_path() -> PathBuf {
    workspace_root().join("assets/node_modules/axe-core/axe.min.js")
}

fn axe_source() -> &'static str {
    static SOURCE: OnceLock<String> = OnceLock::new();
    SOURCE.get_or_init(|| {
        let path = axe_path();
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("axe-core not found at {} ({e}): {DEPS_HINT}", path.display()))
    })
}

/// Whether a request URL stays on the test machine's hub: `127.0.0.1` or `localhost` over
/// HTTP(S) or WebSocket, or a URL that names no host at all (`data:`, `blob:`, `about:`).
/// Anything else, including other schemes, counts as another host.
pub fn is_local(url: &str) -> bool {
    let Some((scheme, rest)) = url.split_once(':') else {
        return false;
    };
    match scheme.to_ascii_lowercase().as_str() {
        "data" | "blob" | "about" => true,
        "http" | "https" | "ws" | "wss" => {
            let Some(rest) = rest.strip_prefix("//") else {
                return false;
            };
            let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
            let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            let host = match host_port.strip_prefix('[') {
                Some(v6) => v6.split(']').next().unwrap_or(""),
                None => host_port.split(':').next().unwrap_or(""),
            };
            let host = host.trim_end_matches('.');
            host == "127.0.0.1" || host.eq_ignore_ascii_case("localhost")
        }
        _ => false,
    }
}

/// A headless Chromium; closed (the process killed) when dropped.
pub struct Browser {
    inner: hc::Browser,
    user_agent: String,
}

impl Browser {
    /// Starts headless Chromium with other hosts cut off (see the module's doc). Panics, with
    /// what to do, if Chromium is missing or does not start.
    pub fn launch() -> Browser {
        let path = chromium_path();
        assert!(
            path.exists(),
            "Chromium not found at {}: {DEPS_HINT} (Debian's `chromium` package)",
            path.display()
        );
        assert!(
            TcpStream::connect_timeout(
                &SocketAddr::from((Ipv4Addr::LOCALHOST, DEAD_PROXY_PORT)),
                Duration::from_secs(1)
            )
            .is_err(),
            "something listens on 127.0.0.1:{DEAD_PROXY_PORT}, the closed port the browser's \
             proxy must point at"
        );
        let args: Vec<String> = vec![
            format!("--proxy-server=http://127.0.0.1:{DEAD_PROXY_PORT}"),
            "--proxy-bypass-list=<-loopback>;127.0.0.1;localhost".into(),
            "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1, EXCLUDE localhost".into(),
            "--force-webrtc-ip-handling-policy=disable_non_proxied_udp".into(),
            // Less of the browser's own traffic (it would fail anyway, but keeps logs quiet).
            "--disable-component-update".into(),
            "--disable-domain-reliability".into(),
            "--no-default-browser-check".into(),
            "--no-pings".into(),
            "--dns-prefetch-disable".into(),
            "--hide-scrollbars".into(),
            "--mute-audio".into(),
            // A French phone, as most visitors' (Accept-Language and navigator.language).
            "--lang=fr-FR".into(),
        ];
        let options = hc::LaunchOptions::default_builder()
            .path(Some(path.clone()))
            .headless(true)
            .sandbox(false) // the tests run as root, which Chromium's sandbox refuses
            .window_size(Some(VIEWPORT))
            .idle_browser_timeout(Duration::from_secs(300))
            .args(args.iter().map(std::ffi::OsStr::new).collect())
            .build()
            .expect("launch options");
        let inner = hc::Browser::new(options)
            .unwrap_or_else(|e| panic!("Chromium ({}) did not start: {e:#} ({DEPS_HINT})", path.display()));
        // The phone's own user agent, with this Chromium's version.
        let version = inner
            .get_version()
            .map(|v| v.product.rsplit('/').next().unwrap_or("").to_owned())
            .unwrap_or_default();
        let user_agent = format!(
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) \
             Chrome/{version} Mobile Safari/537.36"
        );
        Browser { inner, user_agent }
    }

    /// Opens `url` in a new tab on the phone viewport and waits until it has loaded; every
    /// request the tab makes from the start is recorded.
    pub fn open(&self, url: &str) -> Page<'_> {
        let tab = self.inner.new_tab().expect("new tab");
        tab.set_default_timeout(TIMEOUT);
        let page = Page {
            tab,
            log: Arc::new(Mutex::new(Log::default())),
            _browser: PhantomData,
        };
        page.setup(&self.user_agent);
        page.goto(url);
        page
    }
}

#[derive(Default)]
struct Log {
    /// Every request's id and URL, in order (a redirect is a new URL under the same id).
    requests: Vec<(String, String)>,
    /// Id and network error of each request that failed.
    failures: Vec<(String, String)>,
    /// URL and status of each document response (the page and its frames).
    documents: Vec<(String, u32)>,
}

/// One tab. Its methods panic with the page's URL and what was expected: they are for tests.
pub struct Page<'b> {
    tab: Arc<hc::Tab>,
    log: Arc<Mutex<Log>>,
    _browser: PhantomData<&'b Browser>,
}

impl Page<'_> {
    fn setup(&self, user_agent: &str) {
        let log = Arc::clone(&self.log);
        self.tab
            .add_event_listener(Arc::new(move |event: &Event| {
                let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
                match event {
                    Event::NetworkRequestWillBeSent(e) => {
                        let p = &e.params;
                        log.requests.push((p.request_id.clone(), p.request.url.clone()));
                    }
                    Event::NetworkWebSocketCreated(e) => {
                        let p = &e.params;
                        log.requests.push((p.request_id.clone(), p.url.clone()));
                    }
                    Event::NetworkLoadingFailed(e) => {
                        let p = &e.params;
                        log.failures.push((p.request_id.clone(), p.error_text.clone()));
                    }
                    Event::NetworkResponseReceived(e) if e.params.Type == Network::ResourceType::Document => {
                        log.documents
                            .push((e.params.response.url.clone(), e.params.response.status));
                    }
                    _ => {}
                }
            }))
            .expect("event listener");
        self.call(Network::Enable {
            max_total_buffer_size: None,
            max_resource_buffer_size: None,
            max_post_data_size: None,
            report_direct_socket_traffic: Some(true),
            enable_durable_messages: None,
        });
        self.call(Emulation::SetDeviceMetricsOverride {
            width: VIEWPORT.0,
            height: VIEWPORT.1,
            device_scale_factor: DEVICE_SCALE,
            mobile: true,
            scale: None,
            screen_width: Some(VIEWPORT.0),
            screen_height: Some(VIEWPORT.1),
            position_x: None,
            position_y: None,
            dont_set_visible_size: None,
            screen_orientation: None,
            viewport: None,
            display_feature: None,
            device_posture: None,
        });
        self.call(Emulation::SetTouchEmulationEnabled {
            enabled: true,
            max_touch_points: Some(5),
        });
        self.tab
            .set_user_agent(user_agent, Some("fr-FR,fr;q=0.9,en;q=0.5"), Some("Linux armv8l"))
            .expect("user agent");
    }

    fn call<C>(&self, method: C) -> C::ReturnObject
    where
        C: hc::protocol::cdp::types::Method + serde::Serialize + std::fmt::Debug,
    {
        let name = format!("{method:?}");
        self.tab
            .call_method(method)
            .unwrap_or_else(|e| panic!("DevTools call {name:.80} failed: {e:#}"))
    }

    /// Navigates this tab to `url` and waits until the new document has loaded.
    pub fn goto(&self, url: &str) {
        self.mark_document();
        self.tab
            .navigate_to(url)
            .unwrap_or_else(|e| panic!("navigating to {url}: {e:#}"));
        self.wait_new_document(&format!("loading {url}"));
    }

    /// Tags the current document, so that a new one can be told apart.
    fn mark_document(&self) {
        let _ = self.try_eval("window.__copiOld = true");
    }

    /// Waits for a document without the tag, fully loaded.
    fn wait_new_document(&self, what: &str) {
        let _ = self.tab.wait_until_navigated();
        self.poll(what, || {
            matches!(
                self.try_eval("!window.__copiOld && document.readyState === 'complete'"),
                Ok(Value::Bool(true))
            )
        });
    }

    fn poll(&self, what: &str, mut done: impl FnMut() -> bool) {
        let start = Instant::now();
        while !done() {
            if start.elapsed() > TIMEOUT {
                panic!(
                    "timed out after {TIMEOUT:?} {what} (page {}; text: {:.300})",
                    self.url_now(),
                    self.try_eval("document.body ? document.body.innerText : ''")
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn url_now(&self) -> String {
        self.try_eval("location.href")
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_else(|| self.tab.get_url())
    }

    /// Evaluates `js` in the page (promises are awaited) and returns its value as JSON
    /// (`null` for `undefined`); a thrown exception is an `Err` with its text.
    pub fn try_eval(&self, js: &str) -> Result<Value, String> {
        let answer = self
            .tab
            .call_method(Runtime::Evaluate {
                expression: js.to_owned(),
                object_group: None,
                include_command_line_api: None,
                silent: Some(true),
                context_id: None,
                return_by_value: Some(true),
                generate_preview: None,
                user_gesture: Some(true),
                await_promise: Some(true),
                throw_on_side_effect: None,
                timeout: None,
                disable_breaks: None,
                repl_mode: None,
                allow_unsafe_eval_blocked_by_csp: Some(true),
                unique_context_id: None,
                serialization_options: None,
            })
            .map_err(|e| format!("{e:#}"))?;
        if let Some(ex) = answer.exception_details {
            let detail = ex.exception.and_then(|o| o.description).unwrap_or_default();
            return Err(format!("{} {detail}", ex.text));
        }
        Ok(answer.result.value.unwrap_or(Value::Null))
    }

    /// Like [`Page::try_eval`]; panics if the script throws.
    pub fn eval(&self, js: &str) -> Value {
        self.try_eval(js)
            .unwrap_or_else(|e| panic!("script failed on {}: {e}\nscript: {js:.300}", self.url_now()))
    }

    /// The page's URL now.
    pub fn url(&self) -> String {
        self.url_now()
    }

    /// `<html lang>`.
    pub fn lang(&self) -> String {
        self.eval("document.documentElement.lang")
            .as_str()
            .unwrap_or("")
            .to_owned()
    }

    pub fn title(&self) -> String {
        self.eval("document.title").as_str().unwrap_or("").to_owned()
    }

    /// HTTP status of the last document loaded in the tab (a 404 page loads too).
    pub fn status(&self) -> u32 {
        let log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        log.documents.last().map_or(0, |(_, status)| *status)
    }

    /// Every request URL the tab made so far, in order.
    pub fn requests(&self) -> Vec<String> {
        let log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        log.requests.iter().map(|(_, url)| url.clone()).collect()
    }

    /// The requests that failed, as (last URL, network error such as
    /// `net::ERR_PROXY_CONNECTION_FAILED`).
    pub fn failed_requests(&self) -> Vec<(String, String)> {
        let log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        log.failures
            .iter()
            .map(|(id, error)| {
                let url = log.requests.iter().rev().find(|(r, _)| r == id).map(|(_, u)| u.clone());
                (url.unwrap_or_default(), error.clone())
            })
            .collect()
    }

    /// The requests to any host other than the hub's (see [`is_local`]).
    pub fn foreign_requests(&self) -> Vec<String> {
        self.requests().into_iter().filter(|u| !is_local(u)).collect()
    }

    pub fn assert_no_foreign_requests(&self) {
        let foreign = self.foreign_requests();
        assert!(
            foreign.is_empty(),
            "{} asked other hosts for:\n  {}",
            self.url_now(),
            foreign.join("\n  ")
        );
    }

    /// Waits until `selector` matches an element.
    pub fn wait_for(&self, selector: &str) {
        let js = format!("document.querySelector({}) !== null", js_string(selector));
        self.poll(&format!("waiting for `{selector}`"), || {
            matches!(self.try_eval(&js), Ok(Value::Bool(true)))
        });
    }

    /// How many elements match `selector`.
    pub fn count(&self, selector: &str) -> usize {
        let js = format!("document.querySelectorAll({}).length", js_string(selector));
        self.eval(&js).as_u64().unwrap_or(0) as usize
    }

    /// The text of the first element matching `selector` (panics if there is none).
    pub fn text(&self, selector: &str) -> String {
        let js = format!("(document.querySelector({}) || {{}}).innerText", js_string(selector));
        match self.eval(&js) {
            Value::String(s) => s,
            _ => panic!("no `{selector}` on {}", self.url_now()),
        }
    }

    fn element(&self, selector: &str) -> hc::Element<'_> {
        self.wait_for(selector);
        self.tab
            .find_element(selector)
            .unwrap_or_else(|e| panic!("no `{selector}` on {}: {e:#}", self.url_now()))
    }

    /// Taps the first element matching `selector` (a real pointer event at its centre).
    pub fn click(&self, selector: &str) {
        self.element(selector)
            .click()
            .unwrap_or_else(|e| panic!("clicking `{selector}` on {}: {e:#}", self.url_now()));
    }

    /// Taps `selector` (a link, a submit button) and waits for the document it leads to.
    pub fn click_and_wait(&self, selector: &str) {
        let element = self.element(selector);
        self.mark_document();
        element
            .click()
            .unwrap_or_else(|e| panic!("clicking `{selector}` on {}: {e:#}", self.url_now()));
        self.wait_new_document(&format!("for the page after clicking `{selector}`"));
    }

    /// Replaces the value of the input matching `selector` by typing `text` into it.
    pub fn fill(&self, selector: &str, text: &str) {
        let element = self.element(selector);
        self.eval(&format!("document.querySelector({}).value = ''", js_string(selector)));
        element
            .type_into(text)
            .unwrap_or_else(|e| panic!("typing into `{selector}` on {}: {e:#}", self.url_now()));
    }

    /// Chooses `value` in the `<select>` matching `selector`, as a person would (input and
    /// change events fire).
    pub fn select(&self, selector: &str, value: &str) {
        self.wait_for(selector);
        let js = format!(
            "(() => {{ const s = document.querySelector({}); s.value = {}; \
             if (s.value !== {1}) throw new Error('no option ' + {1}); \
             s.dispatchEvent(new Event('input', {{bubbles: true}})); \
             s.dispatchEvent(new Event('change', {{bubbles: true}})); }})()",
            js_string(selector),
            js_string(value)
        );
        self.eval(&js);
    }

    /// Writes a PNG of what the phone's screen shows (the top of the page) to
    /// [`screenshots_dir`]`/<name>.png` and returns its path.
    pub fn screenshot(&self, name: &str) -> PathBuf {
        self.capture(name, false)
    }

    /// Like [`Page::screenshot`], with the whole page however long it is.
    pub fn screenshot_full(&self, name: &str) -> PathBuf {
        self.capture(name, true)
    }

    fn capture(&self, name: &str, whole_page: bool) -> PathBuf {
        let shot = self.call(Cdp::CaptureScreenshot {
            format: Some(Cdp::CaptureScreenshotFormatOption::Png),
            quality: None,
            clip: None,
            from_surface: Some(true),
            capture_beyond_viewport: Some(whole_page),
            optimize_for_speed: None,
        });
        let png = base64ct::Base64::decode_vec(&shot.data).expect("screenshot is base64");
        let dir = screenshots_dir();
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
        let name: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        path
    }

    /// Runs axe-core on the page and returns its violations.
    pub fn axe(&self) -> Vec<Violation> {
        // The script defines `window.axe`; the trailing expression keeps its value small.
        self.eval(&format!("{}\n;typeof axe", axe_source()));
        let found = self.eval(
            "axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map(v => \
             ({id: v.id, impact: v.impact || '', help: v.help, help_url: v.helpUrl, \
               nodes: v.nodes.map(n => n.target.join(' '))})))",
        );
        serde_json::from_value(found.clone()).unwrap_or_else(|e| panic!("axe's answer {found}: {e}"))
    }
}

impl Drop for Page<'_> {
    fn drop(&mut self) {
        let _ = self.tab.close(false);
    }
}

/// One rule axe-core found broken, with the elements (CSS selectors) that break it.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Violation {
    pub id: String,
    /// minor, moderate, serious or critical.
    pub impact: String,
    pub help: String,
    pub help_url: String,
    pub nodes: Vec<String>,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}] {}: {} ({})", self.impact, self.id, self.help, self.help_url)?;
        for node in &self.nodes {
            write!(f, "\n      at {node}")?;
        }
        Ok(())
    }
}

/// The serious and critical violations, one readable paragraph each; `None` if there are
/// none. Lesser ones are printed.
pub fn serious_report(violations: &[Violation]) -> Option<String> {
    let (serious, minor): (Vec<_>, Vec<_>) = violations
        .iter()
        .partition(|v| v.impact == "serious" || v.impact == "critical");
    for v in &minor {
        eprintln!("axe (not failing): {v}");
    }
    (!serious.is_empty()).then(|| {
        format!(
            "axe-core found {} serious or critical violation(s):\n  {}",
            serious.len(),
            serious.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  ")
        )
    })
}

/// Fails on any serious or critical violation, listing them all.
pub fn assert_no_serious(violations: &[Violation]) {
    if let Some(report) = serious_report(violations) {
        panic!("{report}");
    }
}

/// `s` as a JavaScript string literal.
fn js_string(s: &str) -> String {
    Value::String(s.to_owned()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_urls() {
        fn check(url: &str, expected: bool) {
            assert_eq!(is_local(url), expected, "{url}");
        }
        check("http://127.0.0.1:8000/portal", true);
        check("http://localhost:8000/", true);
        check("ws://LOCALHOST/live", true);
        check("https://127.0.0.1/a?b=http://example.com/", true);
        check("data:image/png;base64,AAAA", true);
        check("blob:http://127.0.0.1:8000/1234", true);
        check("about:blank", true);
        check("http://example.com/x.png", false);
        check("http://127.0.0.2:8000/", false);
        check("http://[::1]:8000/", false);
        check("http://127.0.0.1.example.com/", false);
        check("http://127.0.0.1@example.com/", false);
        check("https://tile.openstreetmap.org/1/1/1.png", false);
        check("chrome-extension://abc/x.js", false);
        check("//example.com/", false);
    }
}
