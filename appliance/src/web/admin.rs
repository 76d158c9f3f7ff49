//! The admin's pages: sign in with the admin password (`[admin] password_hash` in the config
//! file, else the password of the admin account the first-boot wizard made) or the admin
//! token, then one page with the hub's state (version, uptime, counts,
//! disk, memory, temperature, config errors), the modules on and off, the moderation queue
//! (open reports, submissions awaiting approval) and a backup download.
//!
//! Sync: the state of sync with the main instance (last success, changes waiting, the round
//! running, last error, conflicts) and a "sync now" button; on a main (`serve --role main`),
//! the hub tokens, made with their secret shown once, listed and revoked.
//!
//! The admin's browser session is a private cookie (encrypted and authenticated with the
//! hub's key) holding a random nonce and the time it was issued; it lasts 12 hours. Forms
//! carry a CSRF token derived from the nonce. Sign-in attempts are limited per client.

use std::time::{Duration, Instant};

use maud::{html, Markup};
use rocket::form::{Form, FromForm};
use rocket::http::{ContentType, Cookie, CookieJar, Header, SameSite, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::{self, Redirect, Responder, Response};
use rocket::State;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::layout::{page, Ctx};
use super::pages::{load, Failure, Html};
use crate::accounts::Limiter;
use crate::api::accounts::ClientKey;
use crate::api::sync::ServesAsMain;
use crate::config::Module;
use crate::error::Error;
use crate::model::ElementId;
use crate::store::{HubToken, Moderation, ModerationAction, ReportStatus, Target, TargetKind};

const ADMIN_COOKIE: &str = "copi_admin";
const SESSION_HOURS: i64 = 12;

/// Sign-in attempts: 10 per client address per 15 minutes.
pub struct AdminThrottle(Limiter);

impl Default for AdminThrottle {
    fn default() -> Self {
        AdminThrottle(Limiter::new(10, Duration::from_secs(15 * 60)))
    }
}

/// A signed-in admin (by the session cookie), with the CSRF token of its forms.
pub struct AdminSession {
    csrf: String,
}

fn csrf_of(nonce: &str) -> String {
    let digest = Sha256::digest(format!("copi admin csrf v1\0{nonce}").as_bytes());
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for AdminSession {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let now = crate::model::now_seconds();
        let session = req.cookies().get_private(ADMIN_COOKIE).and_then(|c| {
            let (nonce, issued) = c.value().split_once(':')?;
            let issued: i64 = issued.parse().ok()?;
            ((0..SESSION_HOURS * 3600).contains(&(now - issued)) && nonce.len() >= 20)
                .then(|| AdminSession { csrf: csrf_of(nonce) })
        });
        match session {
            Some(s) => Outcome::Success(s),
            None => Outcome::Forward(Status::Unauthorized),
        }
    }
}

impl AdminSession {
    fn check(&self, given: &str) -> bool {
        bool::from(self.csrf.as_bytes().ct_eq(given.as_bytes()))
    }
}

#[derive(FromForm)]
pub struct LoginForm<'r> {
    secret: &'r str,
}

fn login_page(ctx: &Ctx<'_>, error: Option<&str>) -> Markup {
    let pending = crate::setup::state(&ctx.hub.store, &ctx.hub.config).is_ok_and(|s| s.is_pending());
    let body = html! {
        h1 { (ctx.t("admin-login-title")) }
        @if pending { p.notice { (ctx.t("setup-pending")) " " a href="/setup" { (ctx.t("setup-open")) } } }
        @if let Some(e) = error { p.notice role="alert" { (e) } }
        form.stack method="post" action="/admin/login" {
            div {
                label for="admin-secret" { (ctx.t("admin-secret")) }
                input #admin-secret type="password" name="secret" required autocomplete="current-password";
            }
            button type="submit" { (ctx.t("nav-login")) }
        }
        p.meta { (ctx.t("admin-secret-help")) }
    };
    page(ctx, &ctx.t("admin-login-title"), body)
}

#[rocket::get("/admin/login")]
pub fn login_form(ctx: Ctx<'_>) -> Html {
    Html::from(login_page(&ctx, None))
}

/// The admin signs in with the password of `[admin] password_hash` or the admin token. The
/// form needs no CSRF token: signing someone in as the admin requires the secret itself.
#[rocket::post("/admin/login", data = "<form>")]
pub async fn login(
    ctx: Ctx<'_>,
    jar: &CookieJar<'_>,
    throttle: &State<AdminThrottle>,
    client: ClientKey,
    form: Form<LoginForm<'_>>,
) -> Result<Redirect, Failure> {
    let refused = |status: Status, message: String| Failure(status, login_page(&ctx, Some(&message)).into_string());
    if let Err(wait) = throttle.0.try_hit(&client.0, Instant::now()) {
        return Err(refused(
            Status::TooManyRequests,
            ctx.ta(
                "account-throttled",
                &[("seconds", (wait.as_secs().max(1) as i64).into())],
            ),
        ));
    }
    let secret = form.secret.to_owned();
    let token = ctx.hub.config.admin_token.clone();
    let store = ctx.hub.store.clone();
    let configured = ctx.hub.config.admin.password_hash.clone();
    let hash = load(&ctx, move || admin_password_hash(&store, configured)).await?;
    if token.is_none() && hash.is_none() {
        return Err(refused(Status::Forbidden, ctx.t("admin-no-secret")));
    }
    let ok = load(&ctx, move || {
        let by_token = token.is_some_and(|t| bool::from(t.as_bytes().ct_eq(secret.as_bytes())));
        Ok(by_token || crate::accounts::verify_password_or_dummy(&secret, hash.as_deref()))
    })
    .await?;
    if !ok {
        return Err(refused(Status::Unauthorized, ctx.t("admin-wrong")));
    }
    start_admin_session(jar).map_err(|e| super::pages::fail(&ctx, e))?;
    tracing::info!("the admin signed in");
    Ok(Redirect::to("/admin"))
}

/// The password that signs the admin in: the config file's (it wins: whoever holds the SD
/// card can reset it), else that of the admin account the first-boot wizard made (a disabled
/// account signs nobody in).
fn admin_password_hash(
    store: &crate::store::Store,
    configured: Option<String>,
) -> crate::error::Result<Option<String>> {
    if configured.is_some() {
        return Ok(configured);
    }
    let Some(person) = crate::setup::admin_person(store)? else {
        return Ok(None);
    };
    Ok(store
        .account_of(&person)?
        .filter(|a| !a.disabled)
        .map(|a| a.password_hash))
}

/// Signs the browser in as the admin (the sign-in form, or the end of the first-boot wizard).
pub(super) fn start_admin_session(jar: &CookieJar<'_>) -> crate::error::Result<()> {
    let nonce = crate::accounts::TokenSecret::generate()?.encode();
    let value = format!("{nonce}:{}", crate::model::now_seconds());
    jar.add_private(
        Cookie::build((ADMIN_COOKIE, value))
            .path("/admin")
            .http_only(true)
            .same_site(SameSite::Strict)
            .max_age(rocket::time::Duration::hours(SESSION_HOURS)),
    );
    Ok(())
}

#[derive(FromForm)]
pub struct CsrfOnly<'r> {
    csrf: &'r str,
}

#[rocket::post("/admin/logout", data = "<form>")]
pub fn logout(session: AdminSession, jar: &CookieJar<'_>, form: Form<CsrfOnly<'_>>) -> Result<Redirect, Status> {
    if !session.check(form.csrf) {
        return Err(Status::Forbidden);
    }
    jar.remove_private(Cookie::build(ADMIN_COOKIE).path("/admin"));
    Ok(Redirect::to("/"))
}

fn mib(kib: u64) -> String {
    format!("{:.0} MiB", kib as f64 / 1024.0)
}

/// `/admin`: the hub at a glance and what the admin acts on.
#[rocket::get("/admin")]
pub async fn dashboard(ctx: Ctx<'_>, session: AdminSession, role: ServesAsMain) -> Result<Html, Failure> {
    let store = ctx.hub.store.clone();
    let data = ctx.hub.config.data.clone();
    let (counts, reports, pending, info, conflicts) = load(&ctx, move || {
        let counts = store.count_elements(crate::store::Visibility::All)?;
        let reports = store.reports(Some(ReportStatus::Open), 50, None)?.items;
        let pending = store.moderated_elements(Moderation::Pending, 50, None)?.items;
        let info = crate::sysinfo::Sources::default().collect(&data);
        let conflicts = store.sync_conflicts(50)?;
        Ok((counts, reports, pending, info, conflicts))
    })
    .await?;
    let sync = load_sync(&ctx, role.0).await?;
    let csrf = &session.csrf;
    let hub = ctx.hub;
    let uptime = hub.started.elapsed().as_secs();
    let body = html! {
        h1 { (ctx.t("admin-title")) }
        @if let Some(e) = &hub.config_error { p.notice role="alert" { (ctx.t("admin-config-error")) " " (e) } }
        section {
            h2 { (ctx.t("admin-state")) }
            dl.facts {
                dt { "CoPi" } dd { (env!("CARGO_PKG_VERSION")) " · " (hub.store.instance().id) }
                dt { (ctx.t("admin-uptime")) } dd { (uptime / 3600) " h " (uptime % 3600 / 60) " min" }
                dt { (ctx.t("admin-elements")) } dd { (ctx.n(counts.values().sum::<u64>() as i64)) }
                @if let Some(d) = &info.disk {
                    dt { (ctx.t("admin-disk")) } dd { (format!("{:.0} %", d.used_percent)) " · " (mib(d.available_bytes / 1024)) " " (ctx.t("admin-free")) }
                }
                @if let Some(m) = &info.memory {
                    dt { (ctx.t("admin-memory")) } dd { (mib(m.available_kib)) " " (ctx.t("admin-free")) " / " (mib(m.total_kib)) }
                }
                @if let Some(t) = info.cpu_temperature_celsius { dt { (ctx.t("admin-temperature")) } dd { (format!("{t:.0} °C")) } }
                @if let Some(th) = &info.throttling {
                    dt { (ctx.t("admin-throttling")) }
                    dd {
                        @if th.under_voltage_now { (ctx.t("admin-under-voltage")) " · " }
                        @if th.throttled_now || th.frequency_capped_now || th.soft_temperature_limit_now {
                            (ctx.t("admin-throttled-now"))
                        } @else if th.under_voltage_since_boot || th.throttled_since_boot || th.frequency_capped_since_boot {
                            (ctx.t("admin-throttled-since-boot"))
                        } @else {
                            (ctx.t("admin-throttled-never"))
                        }
                    }
                }
                @if let Some(n) = info.wifi_clients { dt { "Wi-Fi" } dd { (n) } }
                dt { (ctx.t("admin-uplink")) } dd { (info.uplink.as_deref().unwrap_or("—")) }
            }
            p { a.button href="/admin/backup" download { (ctx.t("admin-backup")) } }
        }
        section {
            h2 { (ctx.t("admin-modules")) }
            form method="post" action="/admin/modules" {
                input type="hidden" name="csrf" value=(csrf);
                fieldset {
                    legend { (ctx.t("admin-modules-help")) }
                    @for m in Module::ALL {
                        div {
                            input type="checkbox" id={ "m-" (m.as_str()) } name="on" value=(m.as_str()) checked[hub.module_on(m)];
                            " " label for={ "m-" (m.as_str()) } { (m.as_str()) }
                        }
                    }
                }
                button type="submit" { (ctx.t("admin-save")) }
            }
        }
        section {
            h2 { (ctx.t("admin-reports")) }
            @if reports.is_empty() { p.meta { (ctx.t("empty")) } }
            ul {
                @for r in &reports {
                    li {
                        strong { (r.target.kind.as_str()) " " (r.target.id) } " — " (r.reason)
                        @for (action, label) in [("hide", "admin-hide"), ("delete", "admin-delete")] {
                            form.inline method="post" action="/admin/moderate" {
                                input type="hidden" name="csrf" value=(csrf);
                                input type="hidden" name="kind" value=(r.target.kind.as_str());
                                input type="hidden" name="id" value=(r.target.id);
                                input type="hidden" name="action" value=(action);
                                " " button.secondary type="submit" { (ctx.t(label)) }
                            }
                        }
                        form.inline method="post" action="/admin/resolve" {
                            input type="hidden" name="csrf" value=(csrf);
                            input type="hidden" name="report" value=(r.id);
                            " " button.secondary type="submit" { (ctx.t("admin-resolve")) }
                        }
                    }
                }
            }
        }
        section {
            h2 { (ctx.t("admin-submissions")) }
            @if pending.is_empty() { p.meta { (ctx.t("empty")) } }
            ul {
                @for e in &pending {
                    li {
                        strong { (super::view::name(e)) } " · " (super::view::kind_label(&ctx, e.kind))
                        @if let Some(s) = super::view::summary(e) { " — " (s) }
                        @for (action, label) in [("approve", "admin-approve"), ("delete", "admin-delete")] {
                            form.inline method="post" action="/admin/moderate" {
                                input type="hidden" name="csrf" value=(csrf);
                                input type="hidden" name="kind" value="element";
                                input type="hidden" name="id" value=(e.id);
                                input type="hidden" name="action" value=(action);
                                " " button.secondary type="submit" { (ctx.t(label)) }
                            }
                        }
                    }
                }
            }
        }
        (sync_section(&ctx, csrf, &sync))
        section {
            h2 { (ctx.t("admin-conflicts")) }
            @if conflicts.is_empty() { p.meta { (ctx.t("empty")) } }
            ul {
                @for c in &conflicts {
                    li {
                        (c.entity) " " code { (c.entity_id) } " · " (c.kept) " · "
                        @if let Some(name) = c.losing_doc.as_ref().and_then(|d| d.get("name")).and_then(|n| n.as_str()) {
                            (ctx.t("admin-conflict-loser")) " « " (name) " »"
                        }
                        @if c.losing_doc.is_some() {
                            form.inline method="post" action={ "/admin/conflicts/" (c.id) "/pick" } {
                                input type="hidden" name="csrf" value=(csrf);
                                " " button.secondary type="submit" { (ctx.t("admin-conflict-pick")) }
                            }
                        }
                    }
                }
            }
        }
        form method="post" action="/admin/logout" {
            input type="hidden" name="csrf" value=(csrf);
            button.secondary type="submit" { (ctx.t("account-logout")) }
        }
    };
    Ok(Html::from(page(&ctx, &ctx.t("admin-title"), body)))
}

/// Not signed in as the admin: to the sign-in page, or to the first-boot wizard while the
/// hub has no admin yet.
#[rocket::get("/admin", rank = 2)]
pub fn dashboard_signin(hub: &State<crate::api::Hub>) -> Redirect {
    let pending = crate::setup::state(&hub.store, &hub.config).is_ok_and(|s| s.is_pending());
    let no_token = hub.config.admin_token.is_none();
    Redirect::to(if pending && no_token { "/setup" } else { "/admin/login" })
}

#[derive(FromForm)]
pub struct ModulesForm<'r> {
    csrf: &'r str,
    on: Vec<&'r str>,
}

#[rocket::post("/admin/modules", data = "<form>")]
pub async fn modules(ctx: Ctx<'_>, session: AdminSession, form: Form<ModulesForm<'_>>) -> Result<Redirect, Failure> {
    if !session.check(form.csrf) {
        return Err(super::pages::bad(&ctx, ctx.t("account-form-expired")));
    }
    let mut on = Vec::new();
    for name in &form.on {
        let m = serde_json::from_value::<Module>(serde_json::Value::String((*name).to_owned()))
            .map_err(|_| super::pages::bad(&ctx, format!("module {name:?}")))?;
        on.push(m);
    }
    crate::api::modules::set_modules(ctx.hub, on)
        .await
        .map_err(|e| super::pages::fail(&ctx, e.0))?;
    Ok(Redirect::to("/admin"))
}

#[derive(FromForm)]
pub struct ModerateForm<'r> {
    csrf: &'r str,
    kind: &'r str,
    id: &'r str,
    action: &'r str,
}

#[rocket::post("/admin/moderate", data = "<form>")]
pub async fn moderate(ctx: Ctx<'_>, session: AdminSession, form: Form<ModerateForm<'_>>) -> Result<Redirect, Failure> {
    if !session.check(form.csrf) {
        return Err(super::pages::bad(&ctx, ctx.t("account-form-expired")));
    }
    let kind = TargetKind::parse(form.kind).ok_or_else(|| super::pages::bad(&ctx, format!("kind {:?}", form.kind)))?;
    let id = ElementId::parse(form.id).ok_or_else(|| super::pages::bad(&ctx, format!("id {:?}", form.id)))?;
    let action = ModerationAction::parse(form.action)
        .ok_or_else(|| super::pages::bad(&ctx, format!("action {:?}", form.action)))?;
    let store = ctx.hub.store.clone();
    load(&ctx, move || store.moderate(&Target::new(kind, id), action)).await?;
    Ok(Redirect::to("/admin"))
}

#[derive(FromForm)]
pub struct ResolveForm<'r> {
    csrf: &'r str,
    report: i64,
}

#[rocket::post("/admin/resolve", data = "<form>")]
pub async fn resolve(ctx: Ctx<'_>, session: AdminSession, form: Form<ResolveForm<'_>>) -> Result<Redirect, Failure> {
    if !session.check(form.csrf) {
        return Err(super::pages::bad(&ctx, ctx.t("account-form-expired")));
    }
    let store = ctx.hub.store.clone();
    let id = form.report;
    load(&ctx, move || store.resolve_report(id, None)).await?;
    Ok(Redirect::to("/admin"))
}

/// The admin picks the losing version of a sync conflict.
#[rocket::post("/admin/conflicts/<id>/pick", data = "<form>")]
pub async fn pick_conflict(
    ctx: Ctx<'_>,
    session: AdminSession,
    id: i64,
    form: Form<CsrfOnly<'_>>,
) -> Result<Redirect, Failure> {
    if !session.check(form.csrf) {
        return Err(super::pages::bad(&ctx, ctx.t("account-form-expired")));
    }
    let store = ctx.hub.store.clone();
    load(&ctx, move || store.pick_sync_loser_entity(id)).await?;
    Ok(Redirect::to("/admin"))
}

/// A backup archive, made into a temporary file and sent as a download.
pub struct Download {
    /// Open, already unlinked: the bytes live until they are sent.
    file: std::fs::File,
    len: u64,
    name: String,
}

impl<'r> Responder<'r, 'static> for Download {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        let (file, len) = (self.file, self.len as usize);
        Response::build()
            .header(ContentType::new("application", "gzip"))
            .header(Header::new(
                "Content-Disposition",
                format!("attachment; filename=\"{}\"", self.name),
            ))
            .header(Header::new("Cache-Control", "no-store"))
            .sized_body(len, rocket::tokio::fs::File::from_std(file))
            .ok()
    }
}

/// `GET /admin/backup`: the same archive as `copi backup` (store snapshot, uploads, config).
#[rocket::get("/admin/backup")]
pub async fn backup(ctx: Ctx<'_>, _session: AdminSession) -> Result<Download, Failure> {
    let data = ctx.hub.config.data.clone();
    let day = jiff::Timestamp::now()
        .to_zoned_datetime(ctx.hub.store.zone().clone())
        .date();
    let name = format!("copi-backup-{day}.tar.gz");
    let (file, len) = load(&ctx, move || {
        let dir = tempfile::Builder::new()
            .prefix(".copi-backup-")
            .tempdir_in(&data)
            .map_err(Error::io("a temporary backup folder"))?;
        let out = dir.path().join("backup.tar.gz");
        let summary = crate::backup::create(&data, None, &out)?;
        let file = std::fs::File::open(&out).map_err(Error::io("the backup archive"))?;
        // Dropping `dir` unlinks the archive; the open file keeps it until it is sent.
        drop(dir);
        Ok((file, summary.bytes))
    })
    .await?;
    tracing::info!(bytes = len, "the admin downloaded a backup");
    Ok(Download { file, len, name })
}

/// What the admin page shows of sync.
struct SyncView {
    /// The store's sync state (`Store::sync_status`).
    state: serde_json::Value,
    round: Option<crate::syncer::CurrentRound>,
    /// The hub tokens, on a main only.
    tokens: Option<Vec<HubToken>>,
}

async fn load_sync(ctx: &Ctx<'_>, main: bool) -> Result<SyncView, Failure> {
    let store = ctx.hub.store.clone();
    let (state, tokens) = load(ctx, move || {
        let tokens = if main { Some(store.hub_tokens()?) } else { None };
        Ok((store.sync_status()?, tokens))
    })
    .await?;
    Ok(SyncView {
        state,
        round: ctx.hub.sync.current(),
        tokens,
    })
}

/// A wall-clock time (epoch seconds, informational on a Pi without a clock) as the
/// visitor's language writes it, in the hub's zone.
fn when(ctx: &Ctx<'_>, seconds: Option<i64>) -> String {
    let Some(at) = seconds.and_then(|s| jiff::Timestamp::from_second(s).ok()) else {
        return "—".into();
    };
    let local = at.to_zoned_datetime(ctx.hub.store.zone().clone());
    format!(
        "{} {}",
        super::i18n::date_short(ctx.lang, local.date()),
        super::i18n::time(ctx.lang, local.time())
    )
}

fn sync_section(ctx: &Ctx<'_>, csrf: &str, sync: &SyncView) -> Markup {
    let sync_config = &ctx.hub.config.sync;
    let state = &sync.state;
    let number = |key: &str| ctx.n(state[key].as_i64().unwrap_or(0));
    html! {
        section #sync {
            h2 { (ctx.t("admin-sync")) }
            @match &sync_config.main_url {
                None => p.meta { (ctx.t("admin-sync-not-configured")) },
                Some(url) => {
                    dl.facts {
                        dt { (ctx.t("admin-sync-main")) } dd { code { (url) } }
                        dt { (ctx.t("admin-sync-last-success")) } dd { (when(ctx, state["last_success"].as_i64())) }
                        dt { (ctx.t("admin-sync-pending")) } dd { (number("pending_changes")) }
                        dt { (ctx.t("admin-sync-conflicts")) } dd { (number("conflicts")) }
                        @if let Some(e) = state["last_error"].as_str() {
                            dt { (ctx.t("admin-sync-last-error")) } dd.notice role="alert" { (e) }
                        }
                        dt { (ctx.t("admin-sync-round")) }
                        dd {
                            @match &sync.round {
                                None => (ctx.t("admin-sync-idle")),
                                Some(r) => {
                                    (ctx.t(match r.progress.phase {
                                        copi_sync::Phase::Starting => "admin-sync-phase-starting",
                                        copi_sync::Phase::Pushing => "admin-sync-phase-pushing",
                                        copi_sync::Phase::Pulling => "admin-sync-phase-pulling",
                                    }))
                                    " · " (ctx.ta("admin-sync-progress", &[
                                        ("pushed", (r.progress.pushed_changes as i64).into()),
                                        ("pulled", (r.progress.pulled_changes as i64).into()),
                                        ("batches", ((r.progress.pushed_batches + r.progress.pulled_batches) as i64).into()),
                                        ("bytes", ((r.progress.bytes_sent + r.progress.bytes_received) as i64).into()),
                                    ]))
                                    " · " (ctx.t("admin-sync-started")) " " (when(ctx, Some(r.started_at)))
                                }
                            }
                        }
                    }
                    form method="post" action="/admin/sync/now" {
                        input type="hidden" name="csrf" value=(csrf);
                        button type="submit" { (ctx.t("admin-sync-now")) }
                    }
                }
            }
            @if let Some(tokens) = &sync.tokens {
                h3 { (ctx.t("admin-hub-tokens")) }
                p.meta { (ctx.t("admin-hub-tokens-help")) }
                @if tokens.is_empty() { p.meta { (ctx.t("empty")) } }
                ul {
                    @for t in tokens {
                        li {
                            strong { (t.name) } " · " (ctx.t("admin-hub-token-created-at")) " " (when(ctx, Some(t.created))) " · "
                            @match (&t.last_used, &t.last_hub) {
                                (Some(at), hub) => {
                                    (ctx.t("admin-hub-token-used")) " " (when(ctx, Some(*at)))
                                    @if let Some(h) = hub { " (" code { (h) } ")" }
                                }
                                (None, _) => (ctx.t("admin-hub-token-unused")),
                            }
                            @if let Some(at) = t.revoked {
                                " · " strong { (ctx.t("admin-hub-token-revoked")) } " " (when(ctx, Some(at)))
                            } @else {
                                form.inline method="post" action={ "/admin/sync/tokens/" (t.id) "/revoke" } {
                                    input type="hidden" name="csrf" value=(csrf);
                                    " " button.secondary type="submit" { (ctx.t("admin-hub-token-revoke")) }
                                }
                            }
                        }
                    }
                }
                form.stack method="post" action="/admin/sync/tokens" {
                    input type="hidden" name="csrf" value=(csrf);
                    div {
                        label for="hub-token-name" { (ctx.t("admin-hub-token-name")) }
                        input #hub-token-name type="text" name="name" required maxlength=(crate::store::MAX_HUB_TOKEN_NAME);
                    }
                    button type="submit" { (ctx.t("admin-hub-token-create")) }
                }
            }
        }
    }
}

/// "Sync now": wakes the sync loop for a round at once.
#[rocket::post("/admin/sync/now", data = "<form>")]
pub async fn sync_now(ctx: Ctx<'_>, session: AdminSession, form: Form<CsrfOnly<'_>>) -> Result<Redirect, Failure> {
    if !session.check(form.csrf) {
        return Err(super::pages::bad(&ctx, ctx.t("account-form-expired")));
    }
    crate::syncer::request_round_now(&ctx.hub.config, &ctx.hub.sync).map_err(|e| super::pages::fail(&ctx, e))?;
    Ok(Redirect::to("/admin#sync"))
}

#[derive(FromForm)]
pub struct HubTokenForm<'r> {
    csrf: &'r str,
    name: &'r str,
}

/// A page saying there is nothing here: the hub tokens' forms exist on a main only.
fn not_main(ctx: &Ctx<'_>) -> Failure {
    super::pages::fail(ctx, Error::not_found("hub tokens (this instance is not a main)"))
}

/// A new hub token: its secret is on this page, and never shown again.
#[rocket::post("/admin/sync/tokens", data = "<form>")]
pub async fn create_hub_token(
    ctx: Ctx<'_>,
    session: AdminSession,
    role: ServesAsMain,
    form: Form<HubTokenForm<'_>>,
) -> Result<Html, Failure> {
    if !role.0 {
        return Err(not_main(&ctx));
    }
    if !session.check(form.csrf) {
        return Err(super::pages::bad(&ctx, ctx.t("account-form-expired")));
    }
    let store = ctx.hub.store.clone();
    let name = form.name.to_owned();
    let (token, secret) = load(&ctx, move || crate::api::sync::create_hub_token(&store, &name)).await?;
    let body = html! {
        h1 { (ctx.t("admin-hub-token-created")) }
        p { strong { (token.name) } }
        p.notice role="status" { (ctx.t("admin-hub-token-once")) }
        p { code #hub-token { (secret) } }
        pre { "[sync]\ntoken = \"" (secret) "\"" }
        p { a.button href="/admin#sync" { (ctx.t("admin-back")) } }
    };
    Ok(Html::from(page(&ctx, &ctx.t("admin-hub-token-created"), body)))
}

#[rocket::post("/admin/sync/tokens/<id>/revoke", data = "<form>")]
pub async fn revoke_hub_token(
    ctx: Ctx<'_>,
    session: AdminSession,
    role: ServesAsMain,
    id: i64,
    form: Form<CsrfOnly<'_>>,
) -> Result<Redirect, Failure> {
    if !role.0 {
        return Err(not_main(&ctx));
    }
    if !session.check(form.csrf) {
        return Err(super::pages::bad(&ctx, ctx.t("account-form-expired")));
    }
    let store = ctx.hub.store.clone();
    load(&ctx, move || crate::api::sync::revoke_hub_token(&store, id)).await?;
    Ok(Redirect::to("/admin#sync"))
}

/// The sync forms' routes.
pub fn sync_routes() -> Vec<rocket::Route> {
    rocket::routes![sync_now, create_hub_token, revoke_hub_token]
}
