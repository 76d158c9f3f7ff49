//! An element's list of links: Communecter's `urls` field, a list of
//! `{"url", "title", "type"}` objects (`co2:assets/js/dynForm/url.js`).

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::model::ModelError;

/// Most links an element keeps.
pub const MAX_URLS: usize = 50;
/// Largest entry: its URL, title and type together, in bytes.
pub const MAX_URL_ENTRY_BYTES: usize = 2048;

fn invalid(field: String, message: impl Into<String>) -> Error {
    Error::Invalid(ModelError::Invalid {
        field,
        message: message.into(),
    })
}

/// Checks a list sent by a client (`[{"url", "title"?, "type"?}]`) and returns it as it is
/// stored: URLs trimmed with a lower-case scheme, titles trimmed (the URL's host when none
/// is given), `type` kept when given.
pub fn check_url_list(v: &Value) -> Result<Vec<Value>> {
    let Value::Array(items) = v else {
        return Err(Error::BadRequest(
            "the body must be a JSON list of {\"url\", \"title\"}".into(),
        ));
    };
    if items.len() > MAX_URLS {
        return Err(invalid("urls".into(), format!("has more than {MAX_URLS} entries")));
    }
    items.iter().enumerate().map(|(i, item)| check_entry(i, item)).collect()
}

fn check_entry(i: usize, item: &Value) -> Result<Value> {
    let field = |name: &str| format!("urls[{i}].{name}");
    let Value::Object(m) = item else {
        return Err(invalid(format!("urls[{i}]"), "must be {\"url\", \"title\"}"));
    };
    if let Some(k) = m.keys().find(|k| !matches!(k.as_str(), "url" | "title" | "type")) {
        return Err(invalid(field(k), "is not a field of a link: use url, title and type"));
    }
    let text = |name: &str| -> Result<Option<String>> {
        match m.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => {
                if s.chars().any(char::is_control) {
                    return Err(invalid(field(name), "must not contain control characters"));
                }
                Ok(Some(s.trim().to_owned()).filter(|s| !s.is_empty()))
            }
            Some(_) => Err(invalid(field(name), "must be a string")),
        }
    };
    let url = text("url")?.ok_or_else(|| invalid(field("url"), "is required"))?;
    let (url, host) = check_url(&url).map_err(|m| invalid(field("url"), m))?;
    let title = text("title")?.unwrap_or(host);
    let kind = text("type")?;
    let size = url.len() + title.len() + kind.as_ref().map_or(0, String::len);
    if size > MAX_URL_ENTRY_BYTES {
        return Err(invalid(
            format!("urls[{i}]"),
            format!("is longer than {MAX_URL_ENTRY_BYTES} bytes"),
        ));
    }
    let mut out = Map::new();
    out.insert("url".into(), Value::from(url));
    out.insert("title".into(), Value::from(title));
    if let Some(k) = kind {
        out.insert("type".into(), Value::from(k));
    }
    Ok(Value::Object(out))
}

/// An absolute `http` or `https` URL with a host, no credentials and no spaces: the URL
/// with its scheme in lower case, and its host.
fn check_url(url: &str) -> Result<(String, String), String> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| "must be an absolute http:// or https:// URL".to_owned())?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return Err("must be an http:// or https:// URL".into());
    }
    if rest.chars().any(char::is_whitespace) {
        return Err("must not contain spaces (encode them as %20)".into());
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return Err("must not contain a user name or password".into());
    }
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        authority.split(':').next().unwrap_or("")
    };
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '.' | ':' | '_'))
        && !host.starts_with(['.', '-']);
    if !host_ok {
        return Err("must name a host".into());
    }
    Ok((format!("{scheme}://{rest}"), host.to_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(input: Value, expected: Result<Value, &str>) {
        let got = check_url_list(&input).map(Value::from).map_err(|e| e.to_string());
        match (&got, &expected) {
            (Ok(g), Ok(e)) => assert_eq!(g, e, "{input}"),
            (Err(g), Err(e)) => assert!(g.contains(e), "{input}: {g}"),
            _ => panic!("{input}: got {got:?}, expected {expected:?}"),
        }
    }

    #[test]
    fn url_lists() {
        check(json!([]), Ok(json!([])));
        check(
            json!([{"url": " HTTPS://Compost.example.org/atelier?x=1 ", "title": " Atelier "}]),
            Ok(json!([{"url": "https://Compost.example.org/atelier?x=1", "title": "Atelier"}])),
        );
        check(
            json!([{"url": "http://[::1]:8080/", "type": "website"}]),
            Ok(json!([{"url": "http://[::1]:8080/", "title": "::1", "type": "website"}])),
        );
        check(
            json!([{"url": "https://Crest.fr"}]),
            Ok(json!([{"url": "https://Crest.fr", "title": "crest.fr"}])),
        );
        check(json!({"url": "https://a.b"}), Err("JSON list"));
        check(json!(["https://a.b"]), Err("urls[0]"));
        check(json!([{"url": "javascript:alert(1)"}]), Err("urls[0].url"));
        check(json!([{"url": "ftp://a.b/c"}]), Err("http"));
        check(json!([{"url": "https://user:pw@a.b/"}]), Err("user name"));
        check(json!([{"url": "https:///path"}]), Err("host"));
        check(json!([{"url": "https://a.b/x y"}]), Err("spaces"));
        check(json!([{"title": "no url"}]), Err("urls[0].url` is required"));
        check(json!([{"url": "https://a.b", "title": 3}]), Err("urls[0].title"));
        check(json!([{"url": "https://a.b", "title": "a\u{7}"}]), Err("control"));
        check(json!([{"url": "https://a.b", "icon": "x"}]), Err("urls[0].icon"));
        let long = format!("https://a.b/{}", "x".repeat(MAX_URL_ENTRY_BYTES));
        check(json!([{"url": long}]), Err("longer than 2048"));
        let many: Vec<Value> = (0..=MAX_URLS)
            .map(|i| json!({"url": format!("https://a.b/{i}")}))
            .collect();
        check(Value::from(many), Err("more than 50"));
    }
}
