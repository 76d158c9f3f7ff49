//! The mail queue against a real SMTP conversation: a small SMTP server written here (a std
//! `TcpListener` on 127.0.0.1) that accepts or refuses with the codes a test gives and keeps
//! what it received, and a real store.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64ct::Encoding;
use serde_json::{json, Map, Value};

use super::*;
use crate::config::MailConfig;
use crate::model::{ElementId, Kind};
use crate::store::NewInvitation;

// ---- the SMTP sink -----------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Received {
    from: String,
    to: Vec<String>,
    data: String,
}

#[derive(Default)]
struct SinkState {
    /// Answers to RCPT TO for these addresses (others get 250).
    rcpt: HashMap<String, (u16, String)>,
    /// Answer to MAIL FROM (250 when unset).
    mail: Option<(u16, String)>,
    /// Answer to the end of DATA (250 when unset).
    data: Option<(u16, String)>,
    messages: Vec<Received>,
    rcpt_tried: Vec<String>,
    auth: Vec<String>,
}

struct Sink {
    port: u16,
    state: Arc<Mutex<SinkState>>,
}

impl Sink {
    fn start() -> Sink {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(SinkState::default()));
        let shared = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = shared.clone();
                std::thread::spawn(move || {
                    let _ = session(stream, &shared);
                });
            }
        });
        Sink { port, state }
    }

    fn with<T>(&self, f: impl FnOnce(&mut SinkState) -> T) -> T {
        f(&mut self.state.lock().unwrap())
    }

    fn messages(&self) -> Vec<Received> {
        self.with(|s| s.messages.clone())
    }
}

fn session(stream: TcpStream, state: &Mutex<SinkState>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut out = stream;
    out.write_all(b"220 sink.test ESMTP\r\n")?;
    let (mut from, mut to) = (String::new(), Vec::new());
    let reply =
        |out: &mut TcpStream, (code, text): (u16, String)| out.write_all(format!("{code} {text}\r\n").as_bytes());
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end().to_owned();
        let upper = cmd.to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            out.write_all(b"250-sink.test\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n")?;
        } else if upper.starts_with("HELO") || upper == "RSET" || upper == "NOOP" {
            reply(&mut out, (250, "OK".into()))?;
        } else if upper.starts_with("AUTH") {
            state.lock().unwrap().auth.push(cmd);
            reply(&mut out, (235, "2.7.0 authenticated".into()))?;
        } else if let Some(address) = upper.strip_prefix("MAIL FROM:").map(|_| cmd[10..].to_owned()) {
            let answer = state
                .lock()
                .unwrap()
                .mail
                .clone()
                .unwrap_or((250, "2.1.0 sender OK".into()));
            if answer.0 == 250 {
                from = address;
                to.clear();
            }
            reply(&mut out, answer)?;
        } else if let Some(address) = upper.strip_prefix("RCPT TO:").map(|_| cmd[8..].to_owned()) {
            let bare = address.trim_matches(|c| c == '<' || c == '>').to_owned();
            let answer = {
                let mut s = state.lock().unwrap();
                s.rcpt_tried.push(bare.clone());
                s.rcpt.get(&bare).cloned().unwrap_or((250, "2.1.5 recipient OK".into()))
            };
            if answer.0 == 250 {
                to.push(bare);
            }
            reply(&mut out, answer)?;
        } else if upper == "DATA" {
            reply(&mut out, (354, "end with <CRLF>.<CRLF>".into()))?;
            let mut data = String::new();
            loop {
                line.clear();
                if reader.read_line(&mut line)? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" {
                    break;
                }
                data.push_str(
                    line.strip_prefix('.')
                        .filter(|_| line.starts_with(".."))
                        .unwrap_or(&line),
                );
            }
            let answer = state
                .lock()
                .unwrap()
                .data
                .clone()
                .unwrap_or((250, "2.0.0 queued".into()));
            if answer.0 == 250 {
                state.lock().unwrap().messages.push(Received {
                    from: from.clone(),
                    to: std::mem::take(&mut to),
                    data,
                });
            }
            reply(&mut out, answer)?;
        } else if upper == "QUIT" {
            reply(&mut out, (221, "bye".into()))?;
            return Ok(());
        } else {
            reply(&mut out, (502, "5.5.2 not implemented".into()))?;
        }
    }
}

/// The message's headers and its parts' bodies, decoded (quoted-printable, base64), as text.
fn decoded(data: &str) -> String {
    let mut out = String::new();
    for chunk in data.split("\r\n--") {
        let (headers, body) = chunk.split_once("\r\n\r\n").unwrap_or((chunk, ""));
        out.push_str(headers);
        out.push('\n');
        let lower = headers.to_ascii_lowercase();
        let bytes = if lower.contains("content-transfer-encoding: quoted-printable") {
            let joined = body.replace("=\r\n", "");
            let raw = joined.as_bytes();
            let mut bytes = Vec::new();
            let mut i = 0;
            while i < raw.len() {
                let hex = raw.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
                if raw[i] == b'=' {
                    if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                        bytes.push(b);
                        i += 3;
                        continue;
                    }
                }
                bytes.push(raw[i]);
                i += 1;
            }
            bytes
        } else if lower.contains("content-transfer-encoding: base64") {
            let compact: String = body.split_whitespace().collect();
            base64ct::Base64::decode_vec(&compact).unwrap_or_default()
        } else {
            body.as_bytes().to_vec()
        };
        out.push_str(&String::from_utf8_lossy(&bytes));
        out.push('\n');
    }
    out
}

// ---- a hub -------------------------------------------------------------------------------

fn doc(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => unreachable!(),
    }
}

struct Hub {
    dir: tempfile::TempDir,
    store: Store,
    config: Config,
    alice: ElementId,
    org: ElementId,
}

fn mail_to(port: u16) -> MailConfig {
    MailConfig {
        host: Some("127.0.0.1".into()),
        port: Some(port),
        security: MailSecurity::None,
        from: Some("hub@example.org".into()),
        ..MailConfig::default()
    }
}

fn hub(sink: &Sink) -> Hub {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut config = Config {
        data: dir.path().to_owned(),
        mail: mail_to(sink.port),
        ..Config::default()
    };
    config.hub.name = "Placette".into();
    config.network.name = "placette".into();
    let alice = store
        .create_element(Kind::Person, doc(json!({"name": "Alice Martin"})), None)
        .unwrap()
        .id;
    let org = store
        .create_element_by(
            &alice,
            Kind::Organization,
            doc(json!({"name": "Jardin partagé", "type": "NGO"})),
            None,
        )
        .unwrap()
        .id;
    Hub {
        dir,
        store,
        config,
        alice,
        org,
    }
}

impl Hub {
    fn invite(&self, code: &str, email: &str) {
        self.invite_to(&self.org.clone(), code, email, vec![]);
    }

    fn invite_to(&self, element: &ElementId, code: &str, email: &str, roles: Vec<String>) {
        self.store
            .create_invitation(&NewInvitation {
                code: code.into(),
                element: element.clone(),
                roles,
                is_admin: false,
                created_by: self.alice.clone(),
                expires: Some(model::now_seconds() + 7 * 86_400),
                max_uses: 1,
                email: Some(email.into()),
            })
            .unwrap();
    }

    fn pass(&self) -> Report {
        let mailer = Mailer::new(&self.config.mail, "placette.lan").unwrap().unwrap();
        let sender = Sender::of(&self.store, &self.config).unwrap();
        send_queued(&self.store, &mailer, &sender, &mut None).unwrap()
    }

    fn status(&self, code: &str) -> Option<(&'static str, Option<String>)> {
        let list = self.store.invitations_of(&self.org).unwrap();
        let i = list.iter().find(|i| i.code == code).unwrap();
        email_status(i, model::now_seconds())
    }
}

// ---- tests -------------------------------------------------------------------------------

#[test]
fn a_queued_invitation_is_sent_once_and_marked_and_a_restart_sends_nothing_more() {
    let sink = Sink::start();
    let mut h = hub(&sink);
    h.config.mail.username = Some("copi".into());
    h.config.mail.password = Some("mot de passe smtp".into());
    h.invite("abcdefghjkmn", "bob@example.net");
    h.invite("withdrawnnnn", "carol@example.net");
    assert!(h.store.delete_invitation(&h.org, "withdrawnnnn").unwrap());
    assert_eq!(h.status("abcdefghjkmn"), Some(("queued", None)));

    assert_eq!(
        h.pass(),
        Report {
            sent: 1,
            ..Report::default()
        }
    );
    let got = sink.messages();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].from, "<hub@example.org>");
    assert_eq!(got[0].to, vec!["bob@example.net".to_owned()]);
    assert_eq!(h.status("abcdefghjkmn"), Some(("sent", None)));
    // The account was given (AUTH PLAIN: NUL user NUL password).
    let auth = sink.with(|s| s.auth.clone());
    let plain = auth[0].rsplit(' ').next().unwrap();
    let plain = base64ct::Base64::decode_vec(plain).unwrap();
    assert_eq!(plain, b"\0copi\0mot de passe smtp");

    // Another pass, then a restart: nothing more is sent.
    assert_eq!(h.pass(), Report::default());
    let Hub {
        dir,
        store,
        config,
        org,
        alice,
    } = h;
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    let h = Hub {
        dir,
        store,
        config,
        alice,
        org,
    };
    assert_eq!(h.pass(), Report::default());
    assert_eq!(sink.messages().len(), 1);
    assert_eq!(sink.with(|s| s.rcpt_tried.clone()), vec!["bob@example.net".to_owned()]);
    // An invitation without an address has no e-mail state.
    h.store
        .create_invitation(&NewInvitation {
            code: "nomailnomail".into(),
            element: h.org.clone(),
            roles: vec![],
            is_admin: false,
            created_by: h.alice.clone(),
            expires: None,
            max_uses: 1,
            email: None,
        })
        .unwrap();
    assert_eq!(h.status("nomailnomail"), None);
}

#[test]
fn what_may_pass_later_waits_and_is_sent_later() {
    let sink = Sink::start();
    let h = hub(&sink);
    h.invite("firstfirstfi", "bob@example.net");
    h.invite("secondsecond", "carol@example.net");

    // 4xx for the first recipient: the pass stops, both stay queued, in order.
    sink.with(|s| {
        s.rcpt.insert(
            "bob@example.net".into(),
            (451, "4.7.1 greylisted, try again later".into()),
        )
    });
    let report = h.pass();
    assert_eq!((report.sent, report.refused), (0, 0));
    assert!(report.later.as_deref().unwrap().contains("451"), "{report:?}");
    assert_eq!(h.status("firstfirstfi"), Some(("queued", None)));
    assert_eq!(sink.with(|s| s.rcpt_tried.clone()), vec!["bob@example.net".to_owned()]);

    // 4xx at the end of DATA, and a sender the server does not take now: still queued.
    sink.with(|s| {
        s.rcpt.clear();
        s.data = Some((452, "4.3.1 insufficient storage".into()));
    });
    assert!(h.pass().later.unwrap().contains("452"));
    sink.with(|s| {
        s.data = None;
        s.mail = Some((550, "5.7.1 sender not allowed".into()));
    });
    let report = h.pass();
    assert!(
        report.later.unwrap().contains("550"),
        "a refused sender fails no invitation"
    );
    assert_eq!(h.status("firstfirstfi"), Some(("queued", None)));

    // No server at all.
    let mut offline = h.config.clone();
    offline.mail.port = Some(closed_port());
    let mailer = Mailer::new(&offline.mail, "placette.lan").unwrap().unwrap();
    let sender = Sender::of(&h.store, &offline).unwrap();
    let report = send_queued(&h.store, &mailer, &sender, &mut None).unwrap();
    assert!(report.later.unwrap().contains("cannot reach"), "offline");
    assert!(sink.messages().is_empty());

    // The server takes mail again: both go, in order.
    sink.with(|s| s.mail = None);
    assert_eq!(h.pass().sent, 2);
    let to: Vec<Vec<String>> = sink.messages().into_iter().map(|m| m.to).collect();
    assert_eq!(
        to,
        vec![vec!["bob@example.net".to_owned()], vec!["carol@example.net".to_owned()]]
    );
    assert_eq!(h.status("firstfirstfi"), Some(("sent", None)));
    assert_eq!(h.status("secondsecond"), Some(("sent", None)));
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    port
}

#[test]
fn a_5xx_fails_the_invitation_for_good_and_the_others_go_on() {
    let sink = Sink::start();
    let h = hub(&sink);
    h.invite("unknownusers", "nobody@example.net");
    h.invite("goodonegoodo", "carol@example.net");
    sink.with(|s| {
        s.rcpt.insert(
            "nobody@example.net".into(),
            (550, "5.1.1 <nobody@example.net>: user unknown".into()),
        )
    });
    let report = h.pass();
    assert_eq!((report.sent, report.refused, report.later), (1, 1, None));
    let (state, why) = h.status("unknownusers").unwrap();
    assert_eq!(state, "failed");
    let why = why.unwrap();
    assert!(why.contains("550") && why.contains("user unknown"), "{why}");
    assert_eq!(h.status("goodonegoodo"), Some(("sent", None)));

    // Never tried again, even once the server would take it.
    sink.with(|s| s.rcpt.clear());
    assert_eq!(h.pass(), Report::default());
    let tried = sink.with(|s| s.rcpt_tried.clone());
    assert_eq!(tried.iter().filter(|a| *a == "nobody@example.net").count(), 1);
    assert_eq!(sink.messages().len(), 1);

    // A message refused after DATA is final too.
    h.invite("spamspamspam", "dave@example.net");
    sink.with(|s| s.data = Some((554, "5.7.1 message rejected".into())));
    assert_eq!(h.pass().refused, 1);
    assert_eq!(h.status("spamspamspam").unwrap().0, "failed");
}

#[test]
fn security_none_is_refused_for_a_server_that_is_not_this_machine() {
    let dir = tempfile::tempdir().unwrap();
    let load = |toml: &str| {
        let file = dir.path().join("copi.toml");
        std::fs::write(&file, toml).unwrap();
        Config::load_file_only(&file)
    };
    for host in ["smtp.example.org", "192.168.1.10", "10.42.0.1"] {
        let err = load(&format!(
            "[mail]\nhost = \"{host}\"\nsecurity = \"none\"\nfrom = \"hub@example.org\"\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("line 3: mail.security") && err.contains("only for a server on this machine"),
            "{host}: {err}"
        );
    }
    let c = load("[mail]\nhost = \"localhost\"\nsecurity = \"none\"\nfrom = \"hub@example.org\"\n").unwrap();
    let mailer = Mailer::new(&c.mail, "copi.lan").unwrap().unwrap();
    assert_eq!((mailer.port, mailer.security), (25, MailSecurity::None));
    assert!(mailer.tls.is_none());
    // TLS needs no network to prepare; no [mail], no mailer.
    let c = load("[mail]\nhost = \"smtp.example.org\"\nfrom = \"hub@example.org\"\n").unwrap();
    let mailer = Mailer::new(&c.mail, "copi.lan").unwrap().unwrap();
    assert_eq!((mailer.port, mailer.security), (587, MailSecurity::Starttls));
    assert!(format!("{mailer:?}").contains("smtp.example.org"));
    assert!(Mailer::new(&MailConfig::default(), "copi.lan").unwrap().is_none());
}

#[test]
fn starttls_is_required_when_asked_for() {
    // The sink offers no STARTTLS: with `starttls`, no password and no message leave.
    let sink = Sink::start();
    let mut h = hub(&sink);
    h.config.mail.security = MailSecurity::Starttls;
    h.config.mail.username = Some("copi".into());
    h.config.mail.password = Some("secret".into());
    h.invite("abcdefghjkmn", "bob@example.net");
    let report = h.pass();
    assert!(report.later.unwrap().contains("STARTTLS"));
    assert!(sink.with(|s| s.auth.is_empty() && s.rcpt_tried.is_empty()));
    assert_eq!(h.status("abcdefghjkmn"), Some(("queued", None)));
}

#[test]
fn the_message_has_the_link_and_nothing_of_other_invitees() {
    let sink = Sink::start();
    let mut h = hub(&sink);
    h.config.mail.reply_to = Some("contact@example.org".into());
    h.config.wifi = Some(crate::config::WifiConfig {
        country: Some("FR".into()),
        ..crate::config::WifiConfig::default()
    });
    let other = h
        .store
        .create_element_by(
            &h.alice,
            Kind::Project,
            doc(json!({"name": "Fête des voisins secrète"})),
            None,
        )
        .unwrap()
        .id;
    h.invite_to(
        &h.org.clone(),
        "codeforbobbb",
        "bob@example.net",
        vec!["organizer".into()],
    );
    h.invite_to(&other, "codeforcarol", "carol@example.net", vec![]);
    assert_eq!(h.pass().sent, 2);
    let got = sink.messages();
    let bob = got.iter().find(|m| m.to == ["bob@example.net"]).unwrap();
    let text = decoded(&bob.data);
    for expected in [
        "http://placette.lan/join/codeforbobbb",
        "codeforbobbb",
        "Alice Martin vous invite à rejoindre « Jardin partagé » sur Placette.",
        "Rôle proposé : organizer.",
        "connectez-vous au Wi-Fi « Placette »",
        "To: bob@example.net",
        "Reply-To: contact@example.org",
        "href=\"http://placette.lan/join/codeforbobbb\"",
    ] {
        assert!(text.contains(expected), "{expected:?} not in:\n{text}");
    }
    assert!(bob.data.contains("From: Placette <hub@example.org>"), "{}", bob.data);
    for foreign in ["codeforcarol", "carol@example.net", "Fête des voisins", "secrète"] {
        assert!(!text.contains(foreign), "{foreign:?} in bob's message:\n{text}");
        assert!(!bob.data.contains(foreign));
    }
    // The same Message-ID if it had to be sent again; not the code.
    let id = |data: &str| {
        data.lines()
            .find(|l| l.to_ascii_lowercase().starts_with("message-id:"))
            .unwrap()
            .to_owned()
    };
    assert!(!id(&bob.data).contains("codeforbobbb"));
    assert!(id(&bob.data).contains("@example.org>"));
    let mailer = Mailer::new(&h.config.mail, "placette.lan").unwrap().unwrap();
    let sender = Sender::of(&h.store, &h.config).unwrap();
    let q = QueuedEmail {
        code: "codeforbobbb".into(),
        email: "bob@example.net".into(),
        element_id: h.org.to_string(),
        element_kind: Kind::Organization,
        element_name: "Jardin partagé".into(),
        inviter: None,
        roles: vec![],
        is_admin: true,
        expires: None,
    };
    let again = String::from_utf8(compose(&mailer, &sender, &q).unwrap().formatted()).unwrap();
    assert_eq!(id(&again), id(&bob.data));

    // In the hub's language.
    let mut english = h.config.clone();
    english.hub.language = "en".into();
    english.wifi = None;
    let sender = Sender::of(&h.store, &english).unwrap();
    let text = decoded(&String::from_utf8(compose(&mailer, &sender, &q).unwrap().formatted()).unwrap());
    for expected in [
        "You are invited to join \"Jardin partagé\" on Placette.",
        "You will also be one of its admins.",
        "open this link from the hub's network:",
        "http://placette.lan/join/codeforbobbb",
    ] {
        assert!(text.contains(expected), "{expected:?} not in:\n{text}");
    }
}

#[test]
fn holes_are_filled_once() {
    assert_eq!(
        fill("{a} and {b} {unknown} {", &[("a", "{b}"), ("b", "x")]),
        "{b} and x {unknown} {"
    );
    assert_eq!(one_line("  Jardin\n\tpartagé "), "Jardin partagé");
    let wait = jitter(Duration::from_secs(100));
    assert!(wait >= Duration::from_secs(50) && wait <= Duration::from_secs(100));
}
