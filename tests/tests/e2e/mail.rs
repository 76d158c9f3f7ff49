//! Invitations by e-mail through a real `copi serve` configured with `[mail]`: an element
//! admin invites an address over the HTTP API, a small SMTP server written here receives the
//! message, and the invitation shows as sent.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use copi_e2e::{Server, TestDir};
use serde_json::{json, Value};

/// A message as the SMTP server received it.
#[derive(Debug, Clone)]
struct Received {
    to: Vec<String>,
    data: String,
}

/// An SMTP server on 127.0.0.1 that accepts every message (EHLO/HELO, MAIL, RCPT, DATA, QUIT).
fn smtp_sink() -> (u16, Arc<Mutex<Vec<Received>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let received = Arc::new(Mutex::new(Vec::new()));
    let shared = received.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let shared = shared.clone();
            std::thread::spawn(move || {
                let _ = session(stream, &shared);
            });
        }
    });
    (port, received)
}

fn session(stream: TcpStream, received: &Mutex<Vec<Received>>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut out = stream;
    out.write_all(b"220 sink.test ESMTP\r\n")?;
    let mut to = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end().to_owned();
        let upper = cmd.to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            out.write_all(b"250-sink.test\r\n250 8BITMIME\r\n")?;
        } else if upper.starts_with("RCPT TO:") {
            to.push(cmd[8..].trim_matches(|c| c == '<' || c == '>').to_owned());
            out.write_all(b"250 2.1.5 OK\r\n")?;
        } else if upper == "DATA" {
            out.write_all(b"354 go ahead\r\n")?;
            let mut data = String::new();
            loop {
                line.clear();
                if reader.read_line(&mut line)? == 0 || line == ".\r\n" {
                    break;
                }
                data.push_str(&line);
            }
            received.lock().unwrap().push(Received {
                to: std::mem::take(&mut to),
                data,
            });
            out.write_all(b"250 2.0.0 queued\r\n")?;
        } else if upper == "QUIT" {
            out.write_all(b"221 bye\r\n")?;
            return Ok(());
        } else {
            // HELO, MAIL FROM, RSET, NOOP.
            out.write_all(b"250 OK\r\n")?;
        }
    }
}

fn call(server: &Server, method: &str, path: &str, token: Option<&str>, body: Option<&Value>) -> (u16, Value) {
    let mut req = ureq::request(method, &format!("{}{path}", server.base)).timeout(Duration::from_secs(30));
    if let Some(t) = token {
        req = req.set("Authorization", &format!("Bearer {t}"));
    }
    let result = match body {
        Some(b) => req.send_json(b.clone()),
        None => req.call(),
    };
    match result {
        Ok(r) => (r.status(), r.into_json().unwrap_or(Value::Null)),
        Err(ureq::Error::Status(status, r)) => (status, r.into_json().unwrap_or(Value::Null)),
        Err(e) => (0, Value::String(e.to_string())),
    }
}

#[test]
fn an_invitation_by_email_reaches_the_smtp_server_and_shows_as_sent() {
    let (port, received) = smtp_sink();
    let dir = TestDir::new();
    let config = dir.path().join("copi.toml");
    std::fs::write(
        &config,
        format!(
            "[hub]\nname = \"Placette\"\n\n[network]\nname = \"placette\"\n\n\
             [mail]\nhost = \"127.0.0.1\"\nport = {port}\nsecurity = \"none\"\nfrom = \"hub@example.org\"\n"
        ),
    )
    .unwrap();
    let server = Server::start(&dir, &["--config", config.to_str().unwrap()]);

    let (status, r) = call(
        &server,
        "POST",
        "/api/v1/auth/register",
        None,
        Some(&json!({"name": "Alice", "email": "alice@example.org", "password": "un mot de passe assez long"})),
    );
    assert_eq!(status, 201, "{r}");
    let token = r["token"].as_str().unwrap().to_owned();
    let (status, r) = call(
        &server,
        "POST",
        "/api/v1/elements",
        Some(&token),
        Some(&json!({"kind": "organization", "type": "NGO", "name": "Jardin des Cordeliers"})),
    );
    assert_eq!(status, 201, "{r}");
    let org = r["_id"]["$id"].as_str().or(r["id"].as_str()).unwrap().to_owned();

    let invitations = format!("/api/v1/elements/{org}/invitations");
    let (status, inv) = call(
        &server,
        "POST",
        &invitations,
        Some(&token),
        Some(&json!({"email": "bob@example.net", "roles": ["partner"]})),
    );
    assert_eq!(status, 201, "{inv}");
    let code = inv["code"].as_str().unwrap().to_owned();
    assert_eq!(inv["email"], json!("bob@example.net"));
    assert!(
        ["queued", "sent"].contains(&inv["emailStatus"].as_str().unwrap_or("")),
        "{inv}"
    );

    // The message arrives (generous deadline: the hub sends as soon as the invitation is stored).
    let deadline = Instant::now() + Duration::from_secs(60);
    let message = loop {
        if let Some(m) = received.lock().unwrap().first().cloned() {
            break m;
        }
        assert!(
            Instant::now() < deadline,
            "no e-mail within 60 s; server log:\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(message.to, vec!["bob@example.net".to_owned()]);
    let text = message.data.replace("=\r\n", "");
    let link = format!("http://placette.lan/join/{code}");
    assert!(text.contains(&link), "{link} not in:\n{}", message.data);
    assert!(
        message.data.contains("From: Placette <hub@example.org>"),
        "{}",
        message.data
    );

    // The invitation shows as sent to its element's admin.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, list) = call(&server, "GET", &invitations, Some(&token), None);
        assert_eq!(status, 200, "{list}");
        let item = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["code"] == json!(code))
            .cloned()
            .unwrap();
        if item["emailStatus"] == json!("sent") {
            assert_eq!(item["emailError"], Value::Null);
            assert!(item["emailSent"].is_i64(), "{item}");
            break;
        }
        assert!(Instant::now() < deadline, "not marked sent: {item}");
        std::thread::sleep(Duration::from_millis(100));
    }

    // The link's page on the hub shows the invitation.
    let page = ureq::get(&format!("{}/join/{code}", server.base))
        .timeout(Duration::from_secs(30))
        .call()
        .unwrap_or_else(|e| panic!("the invitation page: {e}"))
        .into_string()
        .unwrap();
    assert!(page.contains("Jardin des Cordeliers"), "{page}");

    // Sent once: nothing more arrives.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(received.lock().unwrap().len(), 1);
}
