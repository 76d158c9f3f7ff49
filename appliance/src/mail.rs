//! Invitations by e-mail: an element admin who invites someone by address (`POST
//! /api/v1/elements/{id}/invitations` with an `email`) queues a message that this module
//! sends through the SMTP server of `[mail]` when one can be reached (the hub is offline most
//! of the time).
//!
//! `serve` starts one thread ([`spawn`]) when `[mail]` names a server. It takes the queued
//! invitations in the order they were made (`store/mail.rs`), builds each message in the
//! hub's language (who invites, to what, the link `http://<name>.lan/join/<code>` and the
//! code), and sends it on a connection of its own:
//! - the invitation is marked `emailed` only once the server has accepted the message (its
//!   answer to the end of DATA), so nothing the server acknowledged is lost, and a crash or a
//!   power cut between the acceptance and the mark sends that one message again, never more
//!   (the copy carries the same `Message-ID`). A mark that fails is retried before anything
//!   else is sent;
//! - what can pass later stops the round and waits with a jittered exponential backoff: no
//!   connection, TLS, a 4xx, and every refusal that is not about this message (the server's
//!   greeting, STARTTLS, the account, the sender): retrying them cannot fail an invitation;
//! - a 5xx for the recipient (RCPT) or for the message (after DATA) is final: the invitation
//!   leaves the queue with the server's answer kept in `email_error`, for the element's admins
//!   to read (`emailStatus` in the API), and the next one is sent.
//!
//! Used-up, expired and withdrawn invitations are not sent. Nothing secret is logged: not
//! the server's password, not the invitation codes, not the addresses.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{SmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use lettre::{Address, Message};
use sha2::{Digest, Sha256};

use crate::config::{Config, MailConfig, MailSecurity};
use crate::error::{Error, Result};
use crate::model;
use crate::store::{Invitation, QueuedEmail, Store};

/// Wait for each answer of the SMTP server.
const TIMEOUT: Duration = Duration::from_secs(30);

/// First wait after a failed round, doubled after each one up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(15);
const MAX_BACKOFF: Duration = Duration::from_secs(30 * 60);

/// With nothing queued the loop sleeps until the store is written, and looks anyway this often.
const IDLE_CHECK: Duration = Duration::from_secs(3600);

/// Why a message was not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// It may pass later: no connection, a 4xx, or a refusal of the server or of the hub's
    /// account rather than of this message. Every queued message waits.
    Later(String),
    /// Refused for good (5xx) for this recipient or this message.
    Refused(String),
}

/// The SMTP server of `[mail]`, ready to connect to.
pub struct Mailer {
    host: String,
    port: u16,
    security: MailSecurity,
    tls: Option<TlsParameters>,
    credentials: Option<Credentials>,
    hello: ClientId,
    from: Address,
    reply_to: Option<Address>,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .finish_non_exhaustive()
    }
}

impl Mailer {
    /// The mailer of `[mail]`, or `None` when it names no server. `hello` is the name the hub
    /// gives itself (EHLO).
    pub fn new(mail: &MailConfig, hello: &str) -> Result<Option<Mailer>> {
        let Some(host) = mail.host.clone() else {
            return Ok(None);
        };
        let bad = |key: &str, e: &dyn std::fmt::Display| Error::Config(format!("mail.{key}: {e}"));
        let from: Address = mail
            .from
            .as_deref()
            .ok_or_else(|| Error::Config("mail.from is required".into()))?
            .parse()
            .map_err(|e| bad("from", &e))?;
        let reply_to = match &mail.reply_to {
            Some(r) => Some(r.parse().map_err(|e| bad("reply_to", &e))?),
            None => None,
        };
        let tls = match mail.security {
            MailSecurity::None => None,
            MailSecurity::Starttls | MailSecurity::Tls => {
                Some(TlsParameters::new(host.clone()).map_err(|e| bad("host", &e))?)
            }
        };
        let credentials = match (&mail.username, &mail.password) {
            (Some(user), Some(password)) => Some(Credentials::new(user.clone(), password.clone())),
            _ => None,
        };
        Ok(Some(Mailer {
            port: mail.port(),
            host,
            security: mail.security,
            tls,
            credentials,
            hello: ClientId::Domain(hello.to_owned()),
            from,
            reply_to,
        }))
    }

    /// Sends one message on a connection of its own; `Ok` once the server has accepted it.
    pub fn send(&self, message: &Message) -> std::result::Result<(), Failure> {
        let wrapper = match self.security {
            MailSecurity::Tls => self.tls.as_ref(),
            _ => None,
        };
        let mut conn = SmtpConnection::connect(
            (self.host.as_str(), self.port),
            Some(TIMEOUT),
            &self.hello,
            wrapper,
            None,
        )
        .map_err(|e| Failure::Later(format!("cannot reach {}:{}: {e}", self.host, self.port)))?;
        let result = self.transaction(&mut conn, message);
        match &result {
            Ok(()) => {
                // The message is the server's now: a failed goodbye changes nothing.
                let _ = conn.quit();
            }
            Err(_) => conn.abort(),
        }
        result
    }

    fn transaction(&self, conn: &mut SmtpConnection, message: &Message) -> std::result::Result<(), Failure> {
        fn later(what: &'static str) -> impl Fn(lettre::transport::smtp::Error) -> Failure {
            move |e| Failure::Later(format!("{what}: {e}"))
        }
        if self.security == MailSecurity::Starttls {
            let tls = self
                .tls
                .as_ref()
                .ok_or_else(|| Failure::Later("no TLS parameters".into()))?;
            // Required: a server that does not offer it gets no password and no message.
            conn.starttls(tls, &self.hello).map_err(later("STARTTLS"))?;
        }
        if let Some(credentials) = &self.credentials {
            conn.auth(&[Mechanism::Plain, Mechanism::Login], credentials)
                .map_err(later("the server refused the hub's account"))?;
        }
        let bytes = message.formatted();
        let mut options = Vec::new();
        if !bytes.is_ascii() {
            if !conn.server_info().supports_feature(Extension::EightBitMime) {
                return Err(Failure::Refused(
                    "the message is not 7-bit and the server takes no 8BITMIME".into(),
                ));
            }
            options.push(MailParameter::Body(MailBodyParameter::EightBitMime));
        }
        let envelope = message.envelope();
        conn.command(Mail::new(envelope.from().cloned(), options))
            .map_err(later("the server refused the sender"))?;
        for to in envelope.to() {
            conn.command(Rcpt::new(to.clone(), Vec::new()))
                .map_err(|e| final_if_5xx("recipient refused", e))?;
        }
        conn.command(Data).map_err(later("DATA"))?;
        conn.message(&bytes).map_err(|e| final_if_5xx("message refused", e))?;
        Ok(())
    }
}

/// A 5xx is the server's final word on this message; anything else may pass later.
fn final_if_5xx(what: &str, e: lettre::transport::smtp::Error) -> Failure {
    if e.is_permanent() {
        Failure::Refused(format!("{what}: {e}"))
    } else {
        Failure::Later(format!("{what}: {e}"))
    }
}

// ---- the message -------------------------------------------------------------------------

/// What the hub says about itself in a message.
#[derive(Debug, Clone)]
pub struct Sender {
    /// The hub's name (the wizard's, else `hub.name`).
    pub hub_name: String,
    /// `copi.lan`: links are `http://<lan_name>/…`.
    pub lan_name: String,
    /// The Wi-Fi to join for the link to open, if the hub runs one.
    pub ssid: Option<String>,
    /// `fr`, `en` or `de`.
    pub language: String,
    pub zone: jiff::tz::TimeZone,
}

impl Sender {
    pub fn of(store: &Store, config: &Config) -> Result<Sender> {
        let (hub_name, _) = crate::setup::identity(store, config)?;
        Ok(Sender {
            hub_name,
            lan_name: config.network.lan_name(),
            ssid: config.wifi_ssid(),
            language: config.hub.language.clone(),
            zone: config.time_zone(),
        })
    }
}

/// The sentences of a message, with `{name}` holes.
struct Texts {
    subject: &'static str,
    subject_anonymous: &'static str,
    hello: &'static str,
    invites: &'static str,
    invites_anonymous: &'static str,
    roles: &'static str,
    admin: &'static str,
    open_on_wifi: &'static str,
    open: &'static str,
    code: &'static str,
    expires: &'static str,
    date: &'static str,
    why: &'static str,
}

const FR: Texts = Texts {
    subject: "{inviter} vous invite à rejoindre {element}",
    subject_anonymous: "Invitation à rejoindre {element}",
    hello: "Bonjour,",
    invites: "{inviter} vous invite à rejoindre « {element} » sur {hub}.",
    invites_anonymous: "Vous êtes invité·e à rejoindre « {element} » sur {hub}.",
    roles: "Rôle proposé : {roles}.",
    admin: "Vous en serez aussi administrateur·rice.",
    open_on_wifi: "Pour accepter, connectez-vous au Wi-Fi « {ssid} » du hub et ouvrez ce lien :",
    open: "Pour accepter, ouvrez ce lien depuis le réseau du hub :",
    code: "Code d'invitation : {code}",
    expires: "Cette invitation est valable jusqu'au {date}.",
    date: "%d/%m/%Y",
    why: "Vous recevez ce message parce que votre adresse a été donnée sur {hub} pour cette invitation. \
          Si vous n'y donnez pas suite, il ne se passera rien de plus.",
};

const EN: Texts = Texts {
    subject: "{inviter} invites you to join {element}",
    subject_anonymous: "Invitation to join {element}",
    hello: "Hello,",
    invites: "{inviter} invites you to join \"{element}\" on {hub}.",
    invites_anonymous: "You are invited to join \"{element}\" on {hub}.",
    roles: "Role offered: {roles}.",
    admin: "You will also be one of its admins.",
    open_on_wifi: "To accept, join the hub's Wi-Fi \"{ssid}\" and open this link:",
    open: "To accept, open this link from the hub's network:",
    code: "Invitation code: {code}",
    expires: "This invitation is valid until {date}.",
    date: "%Y-%m-%d",
    why: "You receive this message because your address was given on {hub} for this invitation. \
          If you do not follow it up, nothing more will happen.",
};

const DE: Texts = Texts {
    subject: "{inviter} lädt Sie ein, {element} beizutreten",
    subject_anonymous: "Einladung: {element} beitreten",
    hello: "Guten Tag,",
    invites: "{inviter} lädt Sie ein, „{element}“ auf {hub} beizutreten.",
    invites_anonymous: "Sie sind eingeladen, „{element}“ auf {hub} beizutreten.",
    roles: "Vorgeschlagene Rolle: {roles}.",
    admin: "Sie werden dort auch Administrator·in.",
    open_on_wifi: "Um anzunehmen, verbinden Sie sich mit dem WLAN „{ssid}“ des Hubs und öffnen Sie diesen Link:",
    open: "Um anzunehmen, öffnen Sie diesen Link im Netz des Hubs:",
    code: "Einladungscode: {code}",
    expires: "Diese Einladung gilt bis zum {date}.",
    date: "%d.%m.%Y",
    why: "Sie erhalten diese Nachricht, weil Ihre Adresse auf {hub} für diese Einladung angegeben wurde. \
          Wenn Sie nicht darauf eingehen, geschieht nichts weiter.",
};

fn texts(language: &str) -> &'static Texts {
    match language {
        "en" => &EN,
        "de" => &DE,
        _ => &FR,
    }
}

/// `template` with each `{name}` replaced by its value, in one pass (a value that looks like
/// a hole stays as it is).
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after
            .find('}')
            .and_then(|end| Some((end, values.iter().find(|(k, _)| *k == &after[..end])?)))
        {
            Some((end, (_, value))) => {
                out.push_str(value);
                rest = &after[end + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// A name as it may appear in a header or a sentence: one line, not too long.
fn one_line(s: &str) -> String {
    let line: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() > 120 {
        line.chars().take(119).chain(['…']).collect()
    } else {
        line
    }
}

/// The invitation's link on the hub.
pub fn join_link(lan_name: &str, code: &str) -> String {
    format!("http://{lan_name}/join/{code}")
}

/// The invitation e-mail for `q`, from `mailer`'s address under the hub's name.
pub fn compose(mailer: &Mailer, sender: &Sender, q: &QueuedEmail) -> std::result::Result<Message, Failure> {
    let t = texts(&sender.language);
    let link = join_link(&sender.lan_name, &q.code);
    let element = one_line(&q.element_name);
    let hub = one_line(&sender.hub_name);
    let inviter = q.inviter.as_deref().map(one_line).filter(|n| !n.is_empty());
    let roles = q.roles.iter().map(|r| one_line(r)).collect::<Vec<_>>().join(", ");
    let date = q.expires.and_then(|e| {
        let at = jiff::Timestamp::from_second(e)
            .ok()?
            .to_zoned_datetime(sender.zone.clone());
        Some(at.strftime(t.date).to_string())
    });
    let ssid = sender.ssid.as_deref().map(one_line);
    let values: Vec<(&str, &str)> = vec![
        ("inviter", inviter.as_deref().unwrap_or("")),
        ("element", &element),
        ("hub", &hub),
        ("roles", &roles),
        ("ssid", ssid.as_deref().unwrap_or("")),
        ("code", &q.code),
        ("date", date.as_deref().unwrap_or("")),
    ];
    let subject = fill(
        if inviter.is_some() {
            t.subject
        } else {
            t.subject_anonymous
        },
        &values,
    );
    let mut lines = vec![fill(
        if inviter.is_some() {
            t.invites
        } else {
            t.invites_anonymous
        },
        &values,
    )];
    if !q.roles.is_empty() {
        lines.push(fill(t.roles, &values));
    }
    if q.is_admin {
        lines.push(t.admin.to_owned());
    }
    let open = fill(if ssid.is_some() { t.open_on_wifi } else { t.open }, &values);
    let code = fill(t.code, &values);
    let expires = date.as_ref().map(|_| fill(t.expires, &values));
    let why = fill(t.why, &values);

    let mut text = format!("{}\n\n{}\n\n{open}\n{link}\n\n{code}\n", t.hello, lines.join(" "));
    if let Some(expires) = &expires {
        let _ = writeln!(text, "{expires}");
    }
    let _ = write!(text, "\n-- \n{why}\n");
    let html = maud::html! {
        (maud::DOCTYPE)
        html lang=(sender.language) {
            head { meta charset="utf-8"; title { (subject) } }
            body {
                p { (t.hello) }
                p { (lines.join(" ")) }
                p { (open) br; a href=(link) { (link) } }
                p { (code) }
                @if let Some(expires) = &expires { p { (expires) } }
                hr;
                p { small { (why) } }
            }
        }
    }
    .into_string();

    let to: Address = q
        .email
        .parse()
        .map_err(|e| Failure::Refused(format!("the address cannot be written in an e-mail: {e}")))?;
    // The same id for a copy sent again after a crash, without revealing the code.
    let digest = Sha256::digest(q.code.as_bytes());
    let id: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    let mut builder = Message::builder()
        .from(Mailbox::new(Some(hub), mailer.from.clone()))
        .to(Mailbox::new(None, to))
        .subject(one_line(&subject))
        .message_id(Some(format!("<invitation.{id}@{}>", mailer.from.domain())));
    if let Some(reply_to) = &mailer.reply_to {
        builder = builder.reply_to(Mailbox::new(None, reply_to.clone()));
    }
    builder
        .multipart(MultiPart::alternative_plain_html(text, html))
        .map_err(|e| Failure::Refused(format!("the message cannot be built: {e}")))
}

// ---- the queue ---------------------------------------------------------------------------

/// What a pass over the queue did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub sent: usize,
    pub refused: usize,
    /// Why the pass stopped with messages still queued (they wait for the next one).
    pub later: Option<String>,
}

/// Sends queued invitations, in order, until none is left or one must wait. `unsaved` holds
/// the code of a message the server accepted but that could not be marked: it is marked
/// before anything is sent, so a store that fails never makes the hub send it twice.
pub fn send_queued(store: &Store, mailer: &Mailer, sender: &Sender, unsaved: &mut Option<String>) -> Result<Report> {
    if let Some(code) = unsaved.as_deref() {
        store.mark_email_sent(code, model::now_seconds())?;
        *unsaved = None;
    }
    let mut report = Report::default();
    while let Some(q) = store.next_queued_email(model::now_seconds())? {
        let result = compose(mailer, sender, &q).and_then(|message| mailer.send(&message));
        match result {
            Ok(()) => {
                *unsaved = Some(q.code.clone());
                store.mark_email_sent(&q.code, model::now_seconds())?;
                *unsaved = None;
                report.sent += 1;
                tracing::info!(element = %q.element_id, "invitation e-mail sent");
            }
            Err(Failure::Refused(why)) => {
                store.mark_email_failed(&q.code, &why)?;
                report.refused += 1;
                tracing::warn!(element = %q.element_id, error = %why, "invitation e-mail refused for good");
            }
            Err(Failure::Later(why)) => {
                report.later = Some(why);
                break;
            }
        }
    }
    Ok(report)
}

/// `wait` less a random part of up to half, so that hubs behind one uplink do not retry
/// together.
fn jitter(wait: Duration) -> Duration {
    wait.mul_f64(0.5 + fastrand::f64() * 0.5)
}

/// Starts the thread that sends invitation e-mails, when `[mail]` names a server.
pub fn spawn(store: Arc<Store>, config: &Config) {
    let mailer = match Mailer::new(&config.mail, &config.network.lan_name()) {
        Ok(Some(m)) => m,
        Ok(None) => return,
        Err(e) => {
            tracing::error!(error = %e, "invitation e-mails will not be sent");
            return;
        }
    };
    let config = config.clone();
    let started = std::thread::Builder::new()
        .name("mail".into())
        .spawn(move || run_loop(&store, &config, &mailer));
    if let Err(e) = started {
        tracing::error!(error = %e, "the mail thread did not start: invitation e-mails will not be sent");
    }
}

/// Sends the queue whenever the store changes (a new invitation), backing off after failures.
fn run_loop(store: &Store, config: &Config, mailer: &Mailer) -> ! {
    let woken = store.subscribe();
    let mut backoff = copi_sync::Backoff::new(FIRST_BACKOFF, MAX_BACKOFF);
    let mut unsaved = None;
    tracing::info!(server = %mailer.host, port = mailer.port, "invitation e-mails go through this SMTP server");
    loop {
        let pass = Sender::of(store, config).and_then(|sender| send_queued(store, mailer, &sender, &mut unsaved));
        let why = match pass {
            Ok(Report { later: None, .. }) => None,
            Ok(Report { later: Some(why), .. }) => Some(why),
            Err(e) => Some(e.to_string()),
        };
        match why {
            None => {
                backoff.success();
                let _ = woken.recv_timeout(IDLE_CHECK);
            }
            Some(why) => {
                let wait = jitter(backoff.failure(None));
                tracing::warn!(error = %why, retry_in = ?wait, "invitation e-mails wait");
                std::thread::sleep(wait);
                // Writes made meanwhile are seen by the next pass.
                while woken.try_recv().is_ok() {}
            }
        }
    }
}

// ---- what the admins see -----------------------------------------------------------------

/// The e-mail of an invitation as its element's admins see it: `None` without an address,
/// else `queued`, `sent`, or `failed` with the reason.
pub fn email_status(i: &Invitation, now: i64) -> Option<(&'static str, Option<String>)> {
    i.email.as_ref()?;
    Some(if i.emailed.is_some() {
        ("sent", None)
    } else if let Some(error) = &i.email_error {
        ("failed", Some(error.clone()))
    } else if i.uses >= i.max_uses {
        ("failed", Some("not sent: the invitation was used first".into()))
    } else if i.expires.is_some_and(|e| e <= now) {
        ("failed", Some("not sent: the invitation expired first".into()))
    } else {
        ("queued", None)
    })
}

#[cfg(test)]
#[path = "mail_tests.rs"]
mod tests;
