//! Upload, serving, deletion and URL lists through Rocket's local client, each test on its
//! own data dir with a real store.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use copi_sync::ChangeFeed;
use rocket::http::{ContentType, Cookie, Header, Status};
use rocket::local::blocking::{Client, LocalRequest};
use serde_json::{json, Value};

use crate::api::{rocket, Hub, SESSION_COOKIE};
use crate::config::Config;
use crate::files::samples::{self, contains};
use crate::files::{MAX_UPLOAD_BYTES, THUMB_SIDE};
use crate::model::RecordKind;
use crate::store::Store;

const ADMIN: &str = "test-admin-token-0123456789";

struct Fixture {
    client: Client,
    store: Arc<Store>,
    dir: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        data: dir.path().to_owned(),
        admin_token: Some(ADMIN.into()),
        ..Config::default()
    };
    let hub = Hub::open(config).unwrap();
    let store = hub.store.clone();
    Fixture {
        // Untracked: a request carries only the cookies a test gives it.
        client: Client::untracked(rocket(hub)).unwrap(),
        store,
        dir,
    }
}

/// Who sends a request.
#[derive(Clone, Copy)]
enum As<'a> {
    Nobody,
    Admin,
    Bearer(&'a str),
    /// The session cookie, with the CSRF header or not.
    Cookie(&'a Person, bool),
}

struct Person {
    id: String,
    token: String,
    csrf: String,
    cookie: Cookie<'static>,
}

struct Answer {
    status: Status,
    body: Vec<u8>,
    json: Value,
    header: Vec<(String, String)>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.header
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn expect_error(&self, status: Status, code: &str) {
        assert_eq!(self.status, status, "{}", self.json);
        assert_eq!(self.json["error"]["code"], json!(code), "{}", self.json);
        assert!(self.json["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
}

/// A multipart body with one `file` field.
fn multipart(name: &str, content_type: &str, bytes: &[u8]) -> (ContentType, Vec<u8>) {
    let boundary = "copi-test-boundary-5f3a9c";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: {content_type}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let ct = ContentType::new("multipart", "form-data").with_params(("boundary", boundary));
    (ct, body)
}

impl Fixture {
    fn send(&self, req: LocalRequest<'_>, who: As<'_>) -> Answer {
        let req = match who {
            As::Nobody => req,
            As::Admin => req.header(Header::new("Authorization", format!("Bearer {ADMIN}"))),
            As::Bearer(t) => req.header(Header::new("Authorization", format!("Bearer {t}"))),
            As::Cookie(p, csrf) => {
                let req = req.cookie(p.cookie.clone());
                if csrf {
                    req.header(Header::new("X-CSRF-Token", p.csrf.clone()))
                } else {
                    req
                }
            }
        };
        let r = req.dispatch();
        let status = r.status();
        let header = r
            .headers()
            .iter()
            .map(|h| (h.name().to_string(), h.value().to_string()))
            .collect();
        let body = r.into_bytes().unwrap_or_default();
        let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
        Answer {
            status,
            body,
            json,
            header,
        }
    }

    fn get(&self, uri: &str, who: As<'_>) -> Answer {
        self.send(self.client.get(uri.to_owned()), who)
    }

    fn element(&self, body: Value) -> String {
        let a = self.send(
            self.client
                .post("/api/v1/elements")
                .header(ContentType::JSON)
                .body(body.to_string()),
            As::Admin,
        );
        assert_eq!(a.status, Status::Created, "{}", a.json);
        a.json["id"].as_str().unwrap().to_owned()
    }

    fn person(&self, name: &str, email: &str) -> Person {
        let r = self
            .client
            .post("/api/v1/auth/register")
            .header(ContentType::JSON)
            .body(json!({"name": name, "email": email, "password": "correct horse battery"}).to_string())
            .dispatch();
        assert_eq!(r.status(), Status::Created);
        let cookie = r.cookies().get(SESSION_COOKIE).cloned().expect("a session cookie");
        let body: Value = r.into_json().unwrap();
        Person {
            id: body["person"]["id"].as_str().unwrap().to_owned(),
            token: body["token"].as_str().unwrap().to_owned(),
            csrf: body["csrf"].as_str().unwrap().to_owned(),
            cookie,
        }
    }

    fn upload(&self, element: &str, name: &str, content_type: &str, bytes: &[u8], who: As<'_>) -> Answer {
        let (ct, body) = multipart(name, content_type, bytes);
        self.send(
            self.client
                .post(format!("/api/v1/elements/{element}/files"))
                .header(ct)
                .body(body),
            who,
        )
    }

    fn upload_raw(&self, element: &str, query: &str, content_type: ContentType, bytes: &[u8], who: As<'_>) -> Answer {
        self.send(
            self.client
                .post(format!("/api/v1/elements/{element}/files{query}"))
                .header(content_type)
                .body(bytes),
            who,
        )
    }

    fn delete(&self, uri: &str, who: As<'_>) -> Answer {
        self.send(self.client.delete(uri.to_owned()), who)
    }

    fn put_urls(&self, element: &str, body: &str, who: As<'_>) -> Answer {
        self.send(
            self.client
                .put(format!("/api/v1/elements/{element}/urls"))
                .header(ContentType::JSON)
                .body(body),
            who,
        )
    }

    /// Files under `<data>/uploads`.
    fn files_on_disk(&self) -> Vec<PathBuf> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            let Ok(entries) = std::fs::read_dir(dir) else { return };
            for e in entries.flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else {
                    out.push(p);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.dir.path().join("uploads"), &mut out);
        out
    }

    /// The change log's end and the number of documents: a refused request changes neither.
    fn state(&self) -> (i64, u64) {
        let docs = self
            .store
            .count_records()
            .unwrap()
            .into_iter()
            .find(|(k, _)| *k == RecordKind::Document)
            .map_or(0, |(_, n)| n);
        (self.store.last_seq().unwrap().0, docs)
    }

    /// Sends a bad upload and checks the answer and that nothing changed.
    fn refused(&self, answer: impl FnOnce(&Fixture) -> Answer, status: Status, code: &str) -> Answer {
        let before = (self.state(), self.files_on_disk());
        let a = answer(self);
        a.expect_error(status, code);
        assert_eq!(
            (self.state(), self.files_on_disk()),
            before,
            "a refused upload changes nothing"
        );
        a
    }
}

#[test]
fn a_photo_is_served_without_its_gps_and_with_a_thumbnail() {
    let f = fixture();
    let project = f.element(json!({"kind": "project", "name": "Jardin partagé"}));
    let photo = samples::jpeg_with_gps(1200, 800);
    let a = f.upload(&project, "IMG_2026.jpg", "image/jpeg", &photo, As::Admin);
    assert_eq!(a.status, Status::Created, "{}", a.json);
    let doc = &a.json;
    let id = doc["_id"]["$id"].as_str().unwrap().to_owned();
    // Communecter's `documents` shape.
    assert_eq!(doc["id"], json!(project));
    assert_eq!(doc["type"], json!("projects"));
    assert_eq!(doc["folder"], json!(format!("projects/{project}")));
    assert_eq!(doc["doctype"], json!("image"));
    assert_eq!(doc["contentKey"], json!("slider"));
    assert_eq!(doc["name"], json!("IMG_2026.jpg"));
    assert!(doc["created"].is_i64());
    assert_eq!(doc.get("author"), None, "the admin is not a person");
    assert_eq!(doc["copi"]["width"], json!(800), "turned upright");
    assert_eq!(doc["url"], json!(format!("/files/{id}")));
    assert_eq!(doc["thumbUrl"], json!(format!("/files/{id}/thumb")));
    let record = f
        .store
        .get_record(&crate::model::ElementId::parse(&id).unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(record.kind, RecordKind::Document);

    let served = f.get(&format!("/files/{id}"), As::Nobody);
    assert_eq!(served.status, Status::Ok);
    assert_eq!(served.header("Content-Type"), Some("image/jpeg"));
    assert_eq!(served.header("X-Content-Type-Options"), Some("nosniff"));
    assert!(served
        .header("Content-Disposition")
        .unwrap()
        .starts_with("inline; filename=\"IMG_2026.jpg\""));
    assert_eq!(
        served.header("Cache-Control"),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(doc["size"], json!(served.body.len()));
    assert!(contains(&photo, b"Exif\0\0"));
    for marker in [&b"Exif"[..], b"MM\0\x2a", &[0xff, 0xe1]] {
        assert!(!contains(&served.body, marker), "{marker:?} served");
    }
    let img = image::load_from_memory_with_format(&served.body, image::ImageFormat::Jpeg).unwrap();
    assert_eq!((img.width(), img.height()), (800, 1200));

    let etag = served.header("ETag").unwrap().to_owned();
    let again = f.send(
        f.client
            .get(format!("/files/{id}"))
            .header(Header::new("If-None-Match", etag.clone())),
        As::Nobody,
    );
    assert_eq!(again.status, Status::NotModified);
    assert!(again.body.is_empty());

    let thumb = f.get(&format!("/files/{id}/thumb"), As::Nobody);
    assert_eq!(thumb.status, Status::Ok);
    assert_eq!(thumb.header("Content-Type"), Some("image/jpeg"));
    assert_ne!(thumb.header("ETag"), Some(etag.as_str()));
    let t = image::load_from_memory(&thumb.body).unwrap();
    assert!(t.width() <= THUMB_SIDE && t.height() <= THUMB_SIDE);
    assert_eq!(t.height(), 320);
    assert!((213..=214).contains(&t.width()), "{}", t.width());
    assert!(!contains(&thumb.body, b"Exif"));

    let list = f.get(&format!("/api/v1/elements/{project}/files"), As::Nobody);
    assert_eq!(list.status, Status::Ok);
    assert_eq!(list.json["items"][0]["_id"]["$id"], json!(id));
    assert_eq!(f.files_on_disk().len(), 2);
}

#[test]
fn oversized_uploads_are_refused_with_413_and_leave_nothing() {
    let f = fixture();
    let project = f.element(json!({"kind": "project", "name": "Compost"}));
    let big = vec![b'a'; MAX_UPLOAD_BYTES as usize + 1];
    f.refused(
        |f| f.upload(&project, "big.txt", "text/plain", &big, As::Admin),
        Status::PayloadTooLarge,
        "too_large",
    );
    f.refused(
        |f| f.upload_raw(&project, "?name=big.txt", ContentType::Plain, &big, As::Admin),
        Status::PayloadTooLarge,
        "too_large",
    );
    // Exactly the limit is fine.
    let a = f.upload(&project, "limit.txt", "text/plain", &big[1..], As::Admin);
    assert_eq!(a.status, Status::Created, "{}", a.json);
    assert_eq!(a.json["size"], json!(MAX_UPLOAD_BYTES));
}

#[test]
fn bad_files_are_refused_and_leave_nothing() {
    let f = fixture();
    let project = f.element(json!({"kind": "project", "name": "Compost"}));
    // A decompression bomb: 73 bytes declaring 60000×60000 RGBA pixels.
    let bomb = samples::png_bomb(60_000, 60_000);
    let a = f.refused(
        |f| f.upload_raw(&project, "?name=bomb.png", ContentType::PNG, &bomb, As::Admin),
        Status::UnprocessableEntity,
        "invalid",
    );
    assert!(a.json["error"]["message"]
        .as_str()
        .unwrap()
        .contains("too large an image"));
    f.refused(
        |f| f.upload(&project, "bomb.png", "image/png", &bomb, As::Admin),
        Status::UnprocessableEntity,
        "invalid",
    );
    // Text with an image's name, or sent as an image.
    let text = b"pas une photo";
    let a = f.refused(
        |f| f.upload(&project, "photo.jpg", "image/jpeg", text, As::Admin),
        Status::UnprocessableEntity,
        "invalid",
    );
    assert!(
        a.json["error"]["message"].as_str().unwrap().contains("photo.jpg"),
        "{}",
        a.json
    );
    f.refused(
        |f| f.upload_raw(&project, "", ContentType::JPEG, text, As::Admin),
        Status::UnprocessableEntity,
        "invalid",
    );
    // Not an accepted kind of file.
    f.refused(
        |f| f.upload(&project, "a.zip", "application/zip", b"PK\x03\x04\0\0", As::Admin),
        Status::UnsupportedMediaType,
        "unsupported_media_type",
    );
    f.refused(
        |f| f.upload_raw(&project, "", ContentType::JSON, b"{}", As::Admin),
        Status::UnsupportedMediaType,
        "unsupported_media_type",
    );
    // A form without a `file` field.
    f.refused(
        |f| {
            let (ct, body) = multipart("x.txt", "text/plain", b"hello");
            let body = String::from_utf8(body)
                .unwrap()
                .replace("name=\"file\"", "name=\"other\"");
            f.send(
                f.client
                    .post(format!("/api/v1/elements/{project}/files"))
                    .header(ct)
                    .body(body),
                As::Admin,
            )
        },
        Status::UnprocessableEntity,
        "invalid",
    );
    f.refused(
        |f| f.upload(&project, "empty.txt", "text/plain", b"", As::Admin),
        Status::UnprocessableEntity,
        "invalid",
    );
}

#[test]
fn who_may_attach() {
    let f = fixture();
    let project = f.element(json!({"kind": "project", "name": "Compost"}));
    let hidden = f.element(json!({"kind": "project", "name": "Secret", "preferences": {"private": true}}));
    let marie = f.person("Marie Dupont", "marie@example.org");
    let pdf = samples::PDF;

    f.refused(
        |f| f.upload(&project, "cr.pdf", "application/pdf", pdf, As::Nobody),
        Status::Unauthorized,
        "unauthorized",
    );
    f.refused(
        |f| f.upload(&project, "cr.pdf", "application/pdf", pdf, As::Bearer("not-a-token")),
        Status::Unauthorized,
        "unauthorized",
    );
    f.refused(
        |f| f.upload(&project, "cr.pdf", "application/pdf", pdf, As::Cookie(&marie, false)),
        Status::Forbidden,
        "csrf",
    );
    f.refused(
        |f| f.upload("5b0f00000000000000000099", "cr.pdf", "application/pdf", pdf, As::Admin),
        Status::NotFound,
        "not_found",
    );
    // A private element does not exist for whoever cannot see it.
    f.refused(
        |f| f.upload(&hidden, "cr.pdf", "application/pdf", pdf, As::Bearer(&marie.token)),
        Status::NotFound,
        "not_found",
    );

    // A signed-in person, by token or by cookie with the CSRF token.
    let a = f.upload(
        &project,
        "Compte rendu.pdf",
        "application/pdf",
        pdf,
        As::Bearer(&marie.token),
    );
    assert_eq!(a.status, Status::Created, "{}", a.json);
    assert_eq!(a.json["author"], json!(marie.id));
    assert_eq!(a.json["doctype"], json!("file"));
    assert_eq!(a.json.get("thumbUrl"), None);
    let id = a.json["_id"]["$id"].as_str().unwrap().to_owned();
    let served = f.get(&format!("/files/{id}"), As::Nobody);
    assert_eq!(served.status, Status::Ok);
    assert_eq!(served.body, pdf);
    assert_eq!(served.header("Content-Type"), Some("application/pdf"));
    assert_eq!(
        served.header("Content-Disposition"),
        Some("attachment; filename=\"Compte rendu.pdf\"; filename*=UTF-8''Compte%20rendu.pdf")
    );
    assert_eq!(served.header("X-Content-Type-Options"), Some("nosniff"));
    f.get(&format!("/files/{id}/thumb"), As::Nobody)
        .expect_error(Status::NotFound, "not_found");
    let a = f.upload(
        &project,
        "notes.txt",
        "text/plain",
        b"ordre du jour",
        As::Cookie(&marie, true),
    );
    assert_eq!(a.status, Status::Created, "{}", a.json);

    // The admin attaches to a private element; only the admin gets the file back.
    let a = f.upload(
        &hidden,
        "plan.png",
        "image/png",
        &samples::png(50, 50, false),
        As::Admin,
    );
    assert_eq!(a.status, Status::Created, "{}", a.json);
    let id = a.json["_id"]["$id"].as_str().unwrap();
    for uri in [format!("/files/{id}"), format!("/files/{id}/thumb")] {
        f.get(&uri, As::Nobody).expect_error(Status::NotFound, "not_found");
        f.get(&uri, As::Bearer(&marie.token))
            .expect_error(Status::NotFound, "not_found");
        let got = f.get(&uri, As::Admin);
        assert_eq!(got.status, Status::Ok);
        assert_eq!(got.header("Content-Type"), Some("image/png"));
        assert_eq!(got.header("Cache-Control"), Some("private, no-cache"));
    }
    f.get(&format!("/api/v1/elements/{hidden}/files"), As::Nobody)
        .expect_error(Status::NotFound, "not_found");
    f.get("/files/5b0f00000000000000000099", As::Nobody)
        .expect_error(Status::NotFound, "not_found");
    f.get("/files/not%20an%20id", As::Nobody)
        .expect_error(Status::NotFound, "not_found");
}

#[test]
fn the_uploader_or_the_admin_deletes_a_file_and_its_bytes() {
    let f = fixture();
    let project = f.element(json!({"kind": "project", "name": "Compost"}));
    let marie = f.person("Marie Dupont", "marie@example.org");
    let paul = f.person("Paul Martin", "paul@example.org");
    let upload = |who| {
        let a = f.upload(&project, "p.jpg", "image/jpeg", &samples::jpeg(500, 400), who);
        assert_eq!(a.status, Status::Created, "{}", a.json);
        a.json["_id"]["$id"].as_str().unwrap().to_owned()
    };
    let id = upload(As::Bearer(&marie.token));
    assert_eq!(f.files_on_disk().len(), 2);
    let uri = format!("/api/v1/files/{id}");

    f.refused(|f| f.delete(&uri, As::Nobody), Status::Unauthorized, "unauthorized");
    f.refused(
        |f| f.delete(&uri, As::Bearer(&paul.token)),
        Status::Unauthorized,
        "unauthorized",
    );
    f.refused(|f| f.delete(&uri, As::Cookie(&marie, false)), Status::Forbidden, "csrf");

    let a = f.delete(&uri, As::Cookie(&marie, true));
    assert_eq!(a.status, Status::NoContent, "{}", a.json);
    assert!(f.files_on_disk().is_empty(), "the file and its thumbnail are gone");
    f.get(&format!("/files/{id}"), As::Nobody)
        .expect_error(Status::NotFound, "not_found");
    f.delete(&uri, As::Admin).expect_error(Status::NotFound, "not_found");

    let id = upload(As::Bearer(&paul.token));
    let a = f.delete(&format!("/api/v1/files/{id}"), As::Admin);
    assert_eq!(a.status, Status::NoContent);
    assert!(f.files_on_disk().is_empty());
    assert_eq!(f.state().1, 0);
}

#[test]
fn url_lists_with_titles() {
    let f = fixture();
    let org = f.element(json!({"kind": "organization", "name": "Compost'Ile", "type": "NGO"}));
    let marie = f.person("Marie Dupont", "marie@example.org");
    let list = r#"[{"url": "https://compostile.example.org/", "title": "Site"},
                   {"url": "HTTP://wiki.example.org/compost", "type": "wiki"}]"#;

    let before = f.state();
    f.put_urls(&org, list, As::Nobody)
        .expect_error(Status::Unauthorized, "unauthorized");
    for (bad, status, code) in [
        (
            r#"[{"url": "javascript:alert(1)", "title": "x"}]"#,
            Status::UnprocessableEntity,
            "invalid",
        ),
        (
            r#"[{"url": "https://a.example", "icon": "x"}]"#,
            Status::UnprocessableEntity,
            "invalid",
        ),
        (r#"{"url": "https://a.example"}"#, Status::BadRequest, "bad_request"),
        (r#"[{"url": "https://a.example""#, Status::BadRequest, "bad_request"),
    ] {
        f.put_urls(&org, bad, As::Bearer(&marie.token))
            .expect_error(status, code);
    }
    let many: Vec<Value> = (0..51)
        .map(|i| json!({"url": format!("https://a.example/{i}")}))
        .collect();
    f.put_urls(&org, &Value::from(many).to_string(), As::Admin)
        .expect_error(Status::UnprocessableEntity, "invalid");
    assert_eq!(f.state(), before, "refused lists change nothing");
    f.put_urls("5b0f00000000000000000099", list, As::Admin)
        .expect_error(Status::NotFound, "not_found");

    let a = f.put_urls(&org, list, As::Bearer(&marie.token));
    assert_eq!(a.status, Status::Ok, "{}", a.json);
    let expected = json!([
        {"url": "https://compostile.example.org/", "title": "Site"},
        {"url": "http://wiki.example.org/compost", "title": "wiki.example.org", "type": "wiki"}
    ]);
    assert_eq!(a.json["urls"], expected);
    assert_eq!(a.json["name"], json!("Compost'Ile"), "the rest of the element is kept");
    assert_eq!(
        f.get(&format!("/api/v1/elements/{org}"), As::Nobody).json["urls"],
        expected
    );

    let a = f.put_urls(&org, "[]", As::Admin);
    assert_eq!(a.json["urls"], json!([]));
}
