//! Front-end assets compiled into the binary: CoPi's own (`static/`) and Leaflet's (from
//! npm, `assets/node_modules`, installed by `build.rs`). Each is served at a name holding
//! its content hash (`/static/copi.1a2b3c4d.css`) with a year-long immutable cache, and at
//! its plain name (for the relative URLs inside Leaflet's CSS) with revalidation; both with
//! an ETag, and gzipped once, the first time a client accepting gzip asks.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::OnceLock;

use rocket::http::{ContentType, Header, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::{self, Responder, Response};

#[derive(rust_embed::Embed)]
#[folder = "../static/"]
#[exclude = "README.md"]
struct Own;

#[derive(rust_embed::Embed)]
#[folder = "../assets/node_modules/leaflet/dist/"]
#[include = "leaflet.js"]
#[include = "leaflet.css"]
#[include = "images/*.png"]
#[prefix = "vendor/leaflet/"]
struct Leaflet;

#[derive(rust_embed::Embed)]
#[folder = "../assets/node_modules/leaflet.markercluster/dist/"]
#[include = "leaflet.markercluster.js"]
#[include = "MarkerCluster.css"]
#[include = "MarkerCluster.Default.css"]
#[prefix = "vendor/markercluster/"]
struct MarkerCluster;

/// One asset: its bytes, its type and its names.
pub struct Asset {
    pub name: String,
    pub hashed: String,
    pub etag: String,
    pub content_type: ContentType,
    pub bytes: std::borrow::Cow<'static, [u8]>,
    gzipped: OnceLock<Option<Vec<u8>>>,
}

impl Asset {
    fn compressible(&self) -> bool {
        let ext = self.name.rsplit('.').next().unwrap_or("");
        matches!(ext, "css" | "js" | "json" | "svg" | "webmanifest" | "txt" | "geojson")
    }

    /// The gzipped bytes, made once; none when gzip does not make it smaller.
    pub fn gzipped(&self) -> Option<&[u8]> {
        self.gzipped
            .get_or_init(|| {
                if !self.compressible() {
                    return None;
                }
                let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
                gz.write_all(&self.bytes).ok()?;
                let out = gz.finish().ok()?;
                (out.len() < self.bytes.len()).then_some(out)
            })
            .as_deref()
    }
}

struct Table {
    by_name: HashMap<String, usize>,
    by_hashed: HashMap<String, usize>,
    assets: Vec<Asset>,
}

fn content_type(name: &str) -> ContentType {
    let ext = name.rsplit('.').next().unwrap_or("");
    match ext {
        "webmanifest" => ContentType::new("application", "manifest+json"),
        "geojson" => ContentType::new("application", "geo+json"),
        _ => ContentType::from_extension(ext).unwrap_or(ContentType::Binary),
    }
}

/// `dir/name.ext` → `dir/name.HASH.ext`.
fn hashed_name(name: &str, hash: &str) -> String {
    let (dir, file) = name.rsplit_once('/').map_or(("", name), |(d, f)| (d, f));
    let file = match file.rsplit_once('.') {
        Some((stem, ext)) => format!("{stem}.{hash}.{ext}"),
        None => format!("{file}.{hash}"),
    };
    if dir.is_empty() {
        file
    } else {
        format!("{dir}/{file}")
    }
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut assets = Vec::new();
        let mut add = |name: String, file: rust_embed::EmbeddedFile| {
            let hash: String = file.metadata.sha256_hash()[..4]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assets.push(Asset {
                hashed: hashed_name(&name, &hash),
                etag: format!("\"{hash}\""),
                content_type: content_type(&name),
                bytes: file.data,
                gzipped: OnceLock::new(),
                name,
            });
        };
        for name in Own::iter() {
            if let Some(f) = Own::get(&name) {
                add(name.into_owned(), f);
            }
        }
        for name in Leaflet::iter() {
            if let Some(f) = Leaflet::get(&name) {
                add(name.into_owned(), f);
            }
        }
        for name in MarkerCluster::iter() {
            if let Some(f) = MarkerCluster::get(&name) {
                add(name.into_owned(), f);
            }
        }
        let by_name = assets.iter().enumerate().map(|(i, a)| (a.name.clone(), i)).collect();
        let by_hashed = assets.iter().enumerate().map(|(i, a)| (a.hashed.clone(), i)).collect();
        Table {
            by_name,
            by_hashed,
            assets,
        }
    })
}

/// The asset called `name` (its plain name, e.g. `copi.css`).
pub fn get(name: &str) -> Option<&'static Asset> {
    let t = table();
    t.by_name.get(name).map(|&i| &t.assets[i])
}

/// Every asset (for tests and the size budget).
pub fn all() -> &'static [Asset] {
    &table().assets
}

/// The URL of an asset under its hashed name: `/static/copi.1a2b3c4d.css`.
pub fn url(name: &str) -> String {
    match get(name) {
        Some(a) => format!("/static/{}", a.hashed),
        None => {
            tracing::error!(asset = name, "no such asset");
            format!("/static/{name}")
        }
    }
}

/// Whether the client accepts gzip, and what it already has (`If-None-Match`).
pub struct Conditional {
    gzip: bool,
    if_none_match: Option<String>,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Conditional {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let gzip = req
            .headers()
            .get("Accept-Encoding")
            .flat_map(|h| h.split(','))
            .any(|e| {
                let mut parts = e.split(';');
                let coding = parts.next().unwrap_or("").trim();
                let refused = parts.any(|p| matches!(p.trim(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"));
                coding.eq_ignore_ascii_case("gzip") && !refused
            });
        let if_none_match = req.headers().get_one("If-None-Match").map(str::to_owned);
        Outcome::Success(Conditional { gzip, if_none_match })
    }
}

/// An asset response (or 304).
pub struct Served {
    asset: &'static Asset,
    immutable: bool,
    cond: Conditional,
}

impl<'r> Responder<'r, 'static> for Served {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        let a = self.asset;
        let cache = if self.immutable {
            "public, max-age=31536000, immutable"
        } else {
            "public, max-age=3600, must-revalidate"
        };
        let mut r = Response::build();
        r.header(Header::new("Cache-Control", cache))
            .header(Header::new("ETag", a.etag.clone()))
            .header(Header::new("Vary", "Accept-Encoding"))
            .header(a.content_type.clone());
        let matches = self
            .cond
            .if_none_match
            .as_deref()
            .is_some_and(|v| v.trim() == "*" || v.split(',').any(|t| t.trim().trim_start_matches("W/") == a.etag));
        if matches {
            return r.status(Status::NotModified).ok();
        }
        match (self.cond.gzip, a.gzipped()) {
            (true, Some(gz)) => {
                r.header(Header::new("Content-Encoding", "gzip"));
                r.max_chunk_size(gz.len().max(4096));
                r.sized_body(gz.len(), std::io::Cursor::new(gz));
            }
            _ => {
                let bytes: &'static [u8] = match &a.bytes {
                    std::borrow::Cow::Borrowed(b) => b,
                    // Debug builds read the files from disk: keep one copy for the process.
                    std::borrow::Cow::Owned(v) => v.as_slice(),
                };
                r.max_chunk_size(bytes.len().max(4096));
                r.sized_body(bytes.len(), std::io::Cursor::new(bytes));
            }
        }
        r.ok()
    }
}

#[rocket::get("/static/<path..>")]
pub(super) fn serve(path: PathBuf, cond: Conditional) -> Option<Served> {
    let path = path.to_str()?;
    let t = table();
    if let Some(&i) = t.by_hashed.get(path) {
        return Some(Served {
            asset: &t.assets[i],
            immutable: true,
            cond,
        });
    }
    t.by_name.get(path).map(|&i| Served {
        asset: &t.assets[i],
        immutable: false,
        cond,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_hash() {
        assert_eq!(hashed_name("copi.css", "0a1b2c3d"), "copi.0a1b2c3d.css");
        assert_eq!(
            hashed_name("vendor/leaflet/leaflet.js", "ff"),
            "vendor/leaflet/leaflet.ff.js"
        );
        assert_eq!(hashed_name("LICENSE", "ab"), "LICENSE.ab");
        let css = get("copi.css").expect("copi.css is embedded");
        assert!(url("copi.css").starts_with("/static/copi.") && url("copi.css").ends_with(".css"));
        assert!(css.gzipped().is_some_and(|g| g.len() < css.bytes.len()));
        assert!(get("vendor/leaflet/leaflet.js").is_some());
        assert!(get("vendor/leaflet/images/marker-icon.png").is_some());
        assert!(get("vendor/markercluster/leaflet.markercluster.js").is_some());
    }
}
