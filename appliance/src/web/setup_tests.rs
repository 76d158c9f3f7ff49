//! The first-boot wizard through Rocket's local client with a real store: the code opens it,
//! each step is kept, an interrupted wizard resumes, the end signs the admin in and closes
//! the wizard for good; no password works before; CSRF and throttling hold.

use rocket::http::{ContentType, Status};
use rocket::local::blocking::{Client, LocalResponse};

use crate::api::{rocket, Hub};
use crate::config::Config;

const PASSWORD: &str = "correct horse battery";

struct Fixture {
    data: tempfile::TempDir,
    boot: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        Fixture {
            data: tempfile::tempdir().unwrap(),
            boot: tempfile::tempdir().unwrap(),
        }
    }

    fn config(&self) -> Config {
        Config {
            data: self.data.path().to_owned(),
            ..Config::default()
        }
    }

    fn toml(&self) -> std::path::PathBuf {
        self.boot.path().join("copi.toml")
    }

    /// Starts the hub as `copi serve` does (the code is prepared first); a tracked client
    /// keeps cookies like a browser.
    fn start(&self) -> Client {
        let config = self.config();
        let store = crate::store::Store::open(&config.data).unwrap();
        crate::setup::prepare(&store, &config, Some(&self.toml())).unwrap();
        drop(store);
        let mut hub = Hub::open(config).unwrap();
        hub.config_file = Some(self.toml());
        Client::tracked(rocket(hub)).unwrap()
    }

    fn code_file(&self) -> std::path::PathBuf {
        self.boot.path().join(crate::setup::CODE_FILE)
    }

    fn code(&self) -> String {
        let text = std::fs::read_to_string(self.code_file()).unwrap();
        text.lines().next().unwrap().rsplit(' ').next().unwrap().to_owned()
    }
}

fn form<'c>(client: &'c Client, uri: &str, body: &str) -> LocalResponse<'c> {
    client
        .post(uri.to_owned())
        .header(ContentType::Form)
        .body(body)
        .dispatch()
}

fn page(client: &Client, uri: &str) -> (Status, String) {
    let r = client.get(uri.to_owned()).dispatch();
    (r.status(), r.into_string().unwrap_or_default())
}

fn csrf(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a form with a CSRF token") + 19;
    html[at..].split('"').next().unwrap().to_owned()
}

fn enc(s: &str) -> String {
    crate::web::layout::enc(s)
}

fn admin_step(client: &Client, email: &str) -> Status {
    let (_, html) = page(client, "/setup");
    let body = format!(
        "csrf={}&name=Camille&email={}&password={}&password2={}",
        csrf(&html),
        enc(email),
        enc(PASSWORD),
        enc(PASSWORD)
    );
    form(client, "/setup/admin", &body).status()
}

fn open(client: &Client, code: &str) -> Status {
    form(client, "/setup/code", &format!("code={}", enc(code))).status()
}

/// Runs the wizard to its end in one browser, checking each step.
fn run_wizard(f: &Fixture, client: &Client) -> String {
    // No admin yet: no password opens /admin, which sends to the wizard.
    assert_eq!(
        client.get("/admin").dispatch().headers().get_one("Location"),
        Some("/setup")
    );
    assert_eq!(form(client, "/admin/login", "secret=admin").status(), Status::Forbidden);
    let (status, html) = page(client, "/setup");
    assert_eq!(status, Status::Ok);
    assert!(html.contains("copi-setup-code.txt"), "{html:.600}");
    assert!(!html.contains("name=\"csrf\""), "no step before the code");
    // Steps refuse a browser without the code.
    assert_eq!(
        form(
            client,
            "/setup/admin",
            "csrf=x&name=a&email=a@b.fr&password=p&password2=p"
        )
        .status(),
        Status::Unauthorized
    );

    // The code, typed loosely.
    let code = f.code();
    assert_eq!(open(client, "wrong-code-0000"), Status::Unauthorized);
    assert_eq!(open(client, &code.to_lowercase().replace('-', " ")), Status::SeeOther);
    let (_, html) = page(client, "/setup");
    assert!(html.contains("/setup/admin"), "{html:.600}");
    assert!(html.contains("1"), "step 1 of 3");

    // Step 1: the admin account (a CSRF token is needed; passwords must match).
    let refused = form(
        client,
        "/setup/admin",
        &format!(
            "csrf=forged&name=Camille&email=camille%40tiers.fr&password={0}&password2={0}",
            enc(PASSWORD)
        ),
    );
    assert_eq!(refused.status(), Status::Forbidden);
    let (_, html) = page(client, "/setup");
    let mismatch = form(
        client,
        "/setup/admin",
        &format!(
            "csrf={}&name=Camille&email=camille%40tiers.fr&password={}&password2=other+password+here",
            csrf(&html),
            enc(PASSWORD)
        ),
    );
    assert_eq!(mismatch.status(), Status::UnprocessableEntity);
    let body = mismatch.into_string().unwrap();
    assert!(
        body.contains("camille@tiers.fr") && !body.contains(PASSWORD),
        "kept fields, never the password"
    );
    assert_eq!(admin_step(client, "camille@tiers.fr"), Status::SeeOther);

    // Step 2: the hub's name and territory; an ambiguous place offers choices.
    let (_, html) = page(client, "/setup");
    assert!(html.contains("/setup/hub"), "{html:.600}");
    let token = csrf(&html);
    let r = form(
        client,
        "/setup/hub",
        &format!("csrf={token}&name=La+Fabrique&territory=26400"),
    );
    assert_eq!(r.status(), Status::UnprocessableEntity);
    let body = r.into_string().unwrap();
    assert!(body.contains("value=\"city:26108\""), "{body:.2000}");
    let r = form(
        client,
        "/setup/hub",
        &format!("csrf={token}&name=La+Fabrique&territory=26400&choice=city%3A26108"),
    );
    assert_eq!(r.status(), Status::SeeOther);
    // In force at once.
    let (_, home) = page(client, "/");
    assert!(home.contains("La Fabrique") && home.contains("Crest"), "{home:.1000}");

    // Step 3: the modules, and the end: the admin is signed in.
    let (_, html) = page(client, "/setup");
    assert!(html.contains("/setup/modules"));
    let r = form(
        client,
        "/setup/modules",
        &format!("csrf={}&on=search&on=agenda&on=directory&on=map", csrf(&html)),
    );
    assert_eq!(r.status(), Status::SeeOther);
    assert_eq!(r.headers().get_one("Location"), Some("/admin"));
    let (status, admin) = page(client, "/admin");
    assert_eq!(status, Status::Ok, "{admin:.500}");
    let status: serde_json::Value = client.get("/api/v1/status").dispatch().into_json().unwrap();
    assert_eq!(status["name"], "La Fabrique");
    assert_eq!(status["territories"][0]["scope"], "city:26108");
    assert!(!f.code_file().exists(), "the code file is deleted");

    // Never again: every step answers 404, even to the browser that ran it, and the code is dead.
    assert_eq!(page(client, "/setup").0, Status::NotFound);
    assert_eq!(open(client, &code), Status::NotFound);
    let again = "csrf=x&name=a&email=a%40b.fr&password=p&password2=p";
    assert_eq!(form(client, "/setup/admin", again).status(), Status::NotFound);
    code
}

#[test]
fn the_whole_wizard_then_never_again() {
    let f = Fixture::new();
    let client = f.start();
    run_wizard(&f, &client);
    // A restart writes no new code (restarts with real processes: tests/tests/e2e/browser.rs).
    let hub = client.rocket().state::<Hub>().unwrap();
    assert_eq!(
        crate::setup::prepare(&hub.store, &f.config(), Some(&f.toml())).unwrap(),
        None
    );
    assert!(!f.code_file().exists());
    // The admin password is the account's.
    form(&client, "/admin/logout", "csrf=none");
    assert_eq!(
        form(&client, "/admin/login", "secret=wrong+password+here").status(),
        Status::Unauthorized
    );
    let r = form(&client, "/admin/login", &format!("secret={}", enc(PASSWORD)));
    assert_eq!(r.status(), Status::SeeOther);
    assert_eq!(page(&client, "/admin").0, Status::Ok);
    let (_, home) = page(&client, "/");
    assert!(home.contains("La Fabrique"));
    assert!(!home.contains("href=\"/marketplace\""), "the marketplace was left off");
}

#[test]
fn an_interrupted_wizard_resumes_where_it_stopped() {
    let f = Fixture::new();
    let client = f.start();
    let code = f.code();
    assert_eq!(open(&client, &code), Status::SeeOther);
    assert_eq!(admin_step(&client, "dominique@tiers.fr"), Status::SeeOther);
    // What a restart sees (with real processes: tests/tests/e2e/browser.rs): the same code,
    // the wizard at step 2.
    let hub = client.rocket().state::<Hub>().unwrap();
    let config = f.config();
    crate::setup::prepare(&hub.store, &config, Some(&f.toml())).unwrap();
    assert_eq!(f.code(), code, "a restart keeps the code");
    assert_eq!(
        crate::setup::state(&hub.store, &config).unwrap(),
        crate::setup::State::Pending(crate::setup::Step::Hub)
    );
    let (_, html) = page(&client, "/setup");
    assert!(html.contains("/setup/hub"), "resumes at the hub step: {html:.800}");
    // Step 1 can be looked at, not redone; later steps cannot be skipped to.
    let (_, html) = page(&client, "/setup?step=admin");
    assert!(html.contains("dominique@tiers.fr"), "{html:.800}");
    let (_, html) = page(&client, "/setup?step=modules");
    assert!(html.contains("/setup/hub"));
    let r = form(&client, "/setup/modules", &format!("csrf={}&on=search", csrf(&html)));
    assert_eq!(
        r.headers().get_one("Location"),
        Some("/setup"),
        "modules before the hub step: no"
    );
    assert!(f.code_file().exists());
}

#[test]
fn an_account_made_just_before_a_power_cut_is_taken_over_with_its_password() {
    let f = Fixture::new();
    let client = f.start();
    assert_eq!(open(&client, &f.code()), Status::SeeOther);
    // The account exists but the step was not kept (as if the power went in between).
    {
        let hub = client.rocket().state::<Hub>().unwrap();
        let hash = crate::accounts::hash_password(PASSWORD).unwrap();
        hub.store
            .register_person("Camille", "camille@tiers.fr", &hash, &[])
            .unwrap();
    }
    let (_, html) = page(&client, "/setup");
    let wrong = format!(
        "csrf={}&name=Camille&email=camille%40tiers.fr&password=another+password+1&password2=another+password+1",
        csrf(&html)
    );
    assert_eq!(form(&client, "/setup/admin", &wrong).status(), Status::Conflict);
    assert_eq!(admin_step(&client, "camille@tiers.fr"), Status::SeeOther);
    let (_, html) = page(&client, "/setup");
    assert!(html.contains("/setup/hub"));
}

#[test]
fn guessing_the_code_is_throttled() {
    let f = Fixture::new();
    let client = f.start();
    let mut statuses = Vec::new();
    for _ in 0..12 {
        statuses.push(open(&client, "AAAA-AAAA-AAAA-AA"));
    }
    assert!(
        statuses[..10].iter().all(|s| *s == Status::Unauthorized),
        "{statuses:?}"
    );
    assert_eq!(statuses[11], Status::TooManyRequests);
    // Even the right code waits: a guesser gets no signal.
    assert_eq!(open(&client, &f.code()), Status::TooManyRequests);
}

#[test]
fn a_configured_admin_password_means_no_wizard_and_no_code() {
    let f = Fixture::new();
    let mut config = f.config();
    config.admin.password_hash = Some(crate::accounts::hash_password(PASSWORD).unwrap());
    let store = crate::store::Store::open(&config.data).unwrap();
    assert_eq!(crate::setup::prepare(&store, &config, Some(&f.toml())).unwrap(), None);
    drop(store);
    assert!(!f.code_file().exists());
    let client = Client::tracked(rocket(Hub::open(config).unwrap())).unwrap();
    assert_eq!(page(&client, "/setup").0, Status::NotFound);
    assert_eq!(
        client.get("/admin").dispatch().headers().get_one("Location"),
        Some("/admin/login")
    );
    let r = form(&client, "/admin/login", &format!("secret={}", enc(PASSWORD)));
    assert_eq!(r.status(), Status::SeeOther);
}
