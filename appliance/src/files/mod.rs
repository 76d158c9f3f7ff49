//! Files attached to elements: uploads checked, cleaned and kept in the data dir, and the
//! element's list of URLs. No HTTP here (the routes are `api/files.rs`).
//!
//! What a file is comes from its bytes, never from its name or declared type:
//!
//! - JPEG, PNG, WebP and GIF images (magic numbers, [`image::guess_format`]) are decoded
//!   under limits ([`MAX_SIDE`] pixels a side, [`MAX_DECODED_BYTES`] decoded), so a
//!   decompression bomb is refused from its header before anything is allocated; they are
//!   turned upright (EXIF orientation), re-encoded — JPEG q85 for photos, PNG for PNG and GIF
//!   (first frame) and for WebP with transparency — which leaves EXIF (GPS included), XMP,
//!   ICC and comments behind, and get a thumbnail of at most [`THUMB_SIDE`] pixels a side.
//! - PDF (`%PDF-`) and UTF-8 plain text are kept as they are, served as downloads.
//! - Anything else is refused, and so is a non-image named or declared as an image.
//!
//! Files are written atomically (a temp file in the same folder, synced, renamed) under
//! `<data>/uploads/<2 hex>/<file id>.<ext>`, the thumbnail beside as `<file id>.thumb.<ext>`.
//! The document record (Communecter's `documents` shape) names them in its `copi` object;
//! a record whose paths are not of that form is never served (records can be imported).
//! If the record cannot be written, the files are removed: a refused upload leaves nothing.

mod picture;
mod sniff;
mod urls;

#[cfg(test)]
pub(crate) mod samples;
#[cfg(test)]
mod tests;

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::model::{Element, ElementId, ModelError, Record, RecordKind};
use crate::store::Store;

pub use urls::{check_url_list, MAX_URLS, MAX_URL_ENTRY_BYTES};

/// Largest upload, in bytes (before cleaning). A constant for now, not a config key.
pub const MAX_UPLOAD_BYTES: u64 = 8 << 20;
/// Largest width and height of an image accepted.
pub const MAX_SIDE: u32 = 8000;
/// Most memory an image may take once decoded (4096×4096 RGBA; a 12 Mpx photo in RGB).
pub const MAX_DECODED_BYTES: u64 = 64 << 20;
/// Thumbnails fit in a square of this side.
pub const THUMB_SIDE: u32 = 320;
/// Longest file name kept, in characters.
const MAX_NAME_CHARS: usize = 120;

/// Who attaches or removes a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Uploader {
    /// The hub's admin (the admin token): not a person, so the document has no author.
    Admin,
    /// A signed-in person.
    Person(ElementId),
}

/// Whether `who` may attach files or set the URL list of `element`: the admin always; a
/// signed-in person on any element everyone can see. This is the one place that decides it:
/// when elements get members and roles, it narrows to the element's members and admins.
pub fn may_attach(who: &Uploader, element: &Element) -> bool {
    match who {
        Uploader::Admin => true,
        Uploader::Person(_) => !is_private(element),
    }
}

/// Whether `who` may remove a document: the admin, or the person who attached it.
pub fn may_delete(who: &Uploader, record: &Record) -> bool {
    match who {
        Uploader::Admin => true,
        Uploader::Person(p) => record.doc.get("author").and_then(Value::as_str) == Some(p.as_str()),
    }
}

/// `preferences.private` (already validated by the model when the element was written).
pub fn is_private(element: &Element) -> bool {
    element
        .doc
        .get("preferences")
        .and_then(|p| p.get("private"))
        .is_some_and(|v| v == &Value::Bool(true) || v.as_str() == Some("true"))
}

/// What a person sent.
#[derive(Debug, Clone, Copy)]
pub struct Upload<'a> {
    pub bytes: &'a [u8],
    /// The file name the client gave (any path in it is dropped).
    pub name: &'a str,
    /// The Content-Type the client gave, if any: checked against the bytes, never trusted.
    pub declared_type: Option<&'a str>,
}

/// Images or other files: Communecter's `doctype`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocType {
    Image,
    File,
}

impl DocType {
    pub fn as_str(self) -> &'static str {
        match self {
            DocType::Image => "image",
            DocType::File => "file",
        }
    }
}

/// A file written under `<data>/uploads`.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredFile {
    /// The name shown and offered on download: the client's, cleaned, with the extension of
    /// what was stored.
    pub name: String,
    pub doctype: DocType,
    pub content_type: &'static str,
    /// Bytes stored (after cleaning).
    pub size: u64,
    /// SHA-256 of the stored bytes, hex.
    pub sha256: String,
    /// Relative to `<data>/uploads`: `ab/<id>.jpg`.
    pub path: String,
    /// The thumbnail, relative to `<data>/uploads` (images only).
    pub thumb: Option<String>,
    /// Images only.
    pub dimensions: Option<(u32, u32)>,
}

/// The uploads folder of a data dir.
pub fn uploads_dir(data_dir: &Path) -> PathBuf {
    data_dir.join(crate::backup::UPLOADS_DIR)
}

fn invalid(message: impl Into<String>) -> Error {
    Error::Invalid(ModelError::Invalid {
        field: "file".into(),
        message: message.into(),
    })
}

/// Checks an upload, cleans it and writes it (with its thumbnail) under `<data>/uploads`.
/// Nothing is left on disk when it fails.
pub fn store_upload(data_dir: &Path, upload: Upload<'_>) -> Result<StoredFile> {
    let bytes = upload.bytes;
    if bytes.len() as u64 > MAX_UPLOAD_BYTES {
        return Err(Error::TooLarge(format!(
            "the file is larger than {} MiB",
            MAX_UPLOAD_BYTES >> 20
        )));
    }
    if bytes.is_empty() {
        return Err(invalid("is empty"));
    }
    let base = sniff::base_name(upload.name);
    let sniffed = sniff::sniff(bytes)?;
    let claims_image = sniff::has_image_extension(&base)
        || upload
            .declared_type
            .is_some_and(|t| t.trim().to_ascii_lowercase().starts_with("image/"));
    if claims_image && !matches!(sniffed, sniff::Sniffed::Image(_)) {
        return Err(invalid(format!(
            "{:?} is named or declared as an image, but its content is {}: only JPEG, PNG, WebP and GIF images are accepted",
            if base.is_empty() { "the file" } else { base.as_str() },
            sniffed.describe()
        )));
    }
    let (stored, thumb, doctype, content_type, ext, dimensions) = match sniffed {
        sniff::Sniffed::Image(format) => {
            let c = picture::clean(bytes, format)?;
            (
                c.bytes,
                Some(c.thumb),
                DocType::Image,
                c.content_type,
                c.ext,
                Some(c.dimensions),
            )
        }
        sniff::Sniffed::Pdf => (bytes.to_vec(), None, DocType::File, "application/pdf", "pdf", None),
        sniff::Sniffed::Text => (
            bytes.to_vec(),
            None,
            DocType::File,
            "text/plain; charset=utf-8",
            "txt",
            None,
        ),
    };
    let name = sniff::display_name(&base, ext, sniffed);
    let id = ElementId::generate();
    let shard = shard_of(&id);
    let file_name = format!("{id}.{ext}");
    let thumb_name = thumb.as_ref().map(|_| format!("{id}.thumb.{ext}"));
    let dir = uploads_dir(data_dir).join(&shard);
    std::fs::create_dir_all(&dir).map_err(io_error("creating the uploads folder"))?;
    let main = write_atomic(&dir, &file_name, &stored)?;
    if let (Some(t), Some(n)) = (&thumb, &thumb_name) {
        if let Err(e) = write_atomic(&dir, n, t) {
            let _ = std::fs::remove_file(&main);
            return Err(e);
        }
    }
    sync_dir(&dir);
    Ok(StoredFile {
        name,
        doctype,
        content_type,
        size: stored.len() as u64,
        sha256: hex(&Sha256::digest(&stored)),
        path: format!("{shard}/{file_name}"),
        thumb: thumb_name.map(|n| format!("{shard}/{n}")),
        dimensions,
    })
}

/// Removes a stored file and its thumbnail (what is already gone is no error).
pub fn remove_stored(data_dir: &Path, paths: &[&str]) {
    let root = uploads_dir(data_dir);
    for rel in paths {
        if check_stored_path(rel).is_none() {
            continue;
        }
        match std::fs::remove_file(root.join(rel)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(path = %rel, error = %e, "could not remove an uploaded file"),
        }
    }
}

/// Checks, cleans and stores an upload, then writes its document record on `element`.
/// The caller has checked [`may_attach`].
pub fn attach(store: &Store, data_dir: &Path, element: &Element, who: &Uploader, upload: Upload<'_>) -> Result<Record> {
    let stored = store_upload(data_dir, upload)?;
    let doc = document(element, who, &stored);
    match store.create_record(RecordKind::Document, doc) {
        Ok(record) => {
            tracing::info!(document = %record.id, element = %element.id, size = stored.size, "file attached");
            Ok(record)
        }
        Err(e) => {
            let mut paths = vec![stored.path.as_str()];
            paths.extend(stored.thumb.as_deref());
            remove_stored(data_dir, &paths);
            Err(e)
        }
    }
}

/// Removes a document record, then its files. The caller has checked [`may_delete`].
pub fn detach(store: &Store, data_dir: &Path, record: &Record) -> Result<()> {
    store.delete_record(&record.id)?;
    let refs = StoredRefs::of(record);
    let paths: Vec<&str> = [refs.file.as_deref(), refs.thumb.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    remove_stored(data_dir, &paths);
    Ok(())
}

/// A document record in Communecter's shape (`documents`), with what CoPi needs to serve
/// the file in its own `copi` object.
pub fn document(element: &Element, who: &Uploader, stored: &StoredFile) -> Map<String, Value> {
    let (collection, _) = element.to_communecter();
    let mut copi = Map::new();
    copi.insert("file".into(), Value::from(stored.path.clone()));
    if let Some(t) = &stored.thumb {
        copi.insert("thumb".into(), Value::from(t.clone()));
    }
    copi.insert("contentType".into(), Value::from(stored.content_type));
    copi.insert("sha256".into(), Value::from(stored.sha256.clone()));
    if let Some((w, h)) = stored.dimensions {
        copi.insert("width".into(), Value::from(w));
        copi.insert("height".into(), Value::from(h));
    }
    let mut doc = Map::new();
    doc.insert("id".into(), Value::from(element.id.as_str()));
    doc.insert("type".into(), Value::from(collection));
    doc.insert("folder".into(), Value::from(format!("{collection}/{}", element.id)));
    doc.insert("moduleId".into(), Value::from("communecter"));
    doc.insert("name".into(), Value::from(stored.name.clone()));
    doc.insert("size".into(), Value::from(stored.size));
    // Images go to the element's album (Communecter's `slider`); other files are `file`.
    let content_key = match stored.doctype {
        DocType::Image => "slider",
        DocType::File => "file",
    };
    doc.insert("contentKey".into(), Value::from(content_key));
    doc.insert("doctype".into(), Value::from(stored.doctype.as_str()));
    if let Uploader::Person(p) = who {
        doc.insert("author".into(), Value::from(p.as_str()));
    }
    doc.insert("copi".into(), Value::Object(copi));
    doc
}

/// The document as the API answers it: the record plus where to fetch the file.
pub fn document_json(record: &Record) -> Value {
    let mut v = record.to_json();
    if let Value::Object(m) = &mut v {
        m.insert("url".into(), json!(format!("/files/{}", record.id)));
        if StoredRefs::of(record).thumb.is_some() {
            m.insert("thumbUrl".into(), json!(format!("/files/{}/thumb", record.id)));
        }
    }
    v
}

/// The paths a record names, only when they are of the form CoPi writes.
#[derive(Debug, Default)]
struct StoredRefs {
    file: Option<String>,
    thumb: Option<String>,
}

impl StoredRefs {
    fn of(record: &Record) -> StoredRefs {
        let copi = record.doc.get("copi");
        let get = |key: &str| {
            copi.and_then(|c| c.get(key))
                .and_then(Value::as_str)
                .filter(|p| check_stored_path(p).is_some())
                .map(str::to_owned)
        };
        StoredRefs {
            file: get("file"),
            thumb: get("thumb"),
        }
    }
}

/// A stored file to serve.
#[derive(Debug, Clone, PartialEq)]
pub struct Served {
    pub path: PathBuf,
    pub content_type: &'static str,
    /// Images are shown in the page; other files are downloaded.
    pub inline: bool,
    /// The name offered on download.
    pub name: String,
    /// A strong validator: files never change under a document id.
    pub etag: String,
}

/// Where a document's file (or its thumbnail) is, if the record names a well-formed one.
/// The content type comes from the stored extension (which CoPi chose), not from the record.
pub fn locate(data_dir: &Path, record: &Record, thumb: bool) -> Option<Served> {
    if record.kind != RecordKind::Document {
        return None;
    }
    let refs = StoredRefs::of(record);
    let rel = if thumb { refs.thumb? } else { refs.file? };
    let (content_type, inline) = check_stored_path(&rel)?;
    let tag = record
        .doc
        .get("copi")
        .and_then(|c| c.get("sha256"))
        .and_then(Value::as_str)
        .filter(|h| h.len() >= 16 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        .map_or_else(|| record.id.to_string(), |h| h[..32.min(h.len())].to_owned());
    let name = record
        .doc
        .get("name")
        .and_then(Value::as_str)
        .map(sniff::base_name)
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "file".into());
    Some(Served {
        path: uploads_dir(data_dir).join(&rel),
        content_type,
        inline,
        name: if thumb { format!("thumb-{name}") } else { name },
        etag: format!("\"{tag}{}\"", if thumb { "-thumb" } else { "" }),
    })
}

/// `ab/<id>.<ext>` or `ab/<id>.thumb.<ext>` with an extension CoPi writes: its content type
/// and whether it is shown inline. Anything else (`..`, other folders) is `None`.
fn check_stored_path(rel: &str) -> Option<(&'static str, bool)> {
    let (shard, file) = rel.split_once('/')?;
    if shard.len() != 2 || !shard.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let (stem, ext) = file.rsplit_once('.')?;
    let id = stem.strip_suffix(".thumb").unwrap_or(stem);
    ElementId::parse(id).filter(|i| shard_of(i) == shard)?;
    Some(match ext {
        "jpg" => ("image/jpeg", true),
        "png" => ("image/png", true),
        "pdf" => ("application/pdf", false),
        "txt" => ("text/plain; charset=utf-8", false),
        _ => return None,
    })
}

/// The folder of a file: the last two hex digits of its id (the counter part of an
/// ObjectId, so files spread evenly), at most 256 folders.
fn shard_of(id: &ElementId) -> String {
    let s = id.as_str();
    match s.get(s.len().saturating_sub(2)..) {
        Some(t) if t.len() == 2 && t.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) => t.to_owned(),
        _ => hex(&Sha256::digest(s.as_bytes()))[..2].to_owned(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn io_error(context: &'static str) -> impl FnOnce(std::io::Error) -> Error {
    move |e| match e.kind() {
        std::io::ErrorKind::StorageFull => Error::StorageFull,
        std::io::ErrorKind::ReadOnlyFilesystem => Error::StorageReadOnly,
        _ => Error::io(context)(e),
    }
}

/// Writes `bytes` to `dir/name` through a synced temp file renamed into place.
fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf> {
    let mut tmp = tempfile::Builder::new()
        .prefix(".upload-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(io_error("creating an upload's temp file"))?;
    tmp.write_all(bytes).map_err(io_error("writing an upload"))?;
    tmp.as_file().sync_all().map_err(io_error("syncing an upload"))?;
    let target = dir.join(name);
    tmp.persist(&target)
        .map_err(|e| io_error("moving an upload into place")(e.error))?;
    Ok(target)
}

/// Makes the renames durable; failing to is not worth refusing the upload.
fn sync_dir(dir: &Path) {
    if let Err(e) = std::fs::File::open(dir).and_then(|d| d.sync_all()) {
        tracing::debug!(error = %e, "could not sync the uploads folder");
    }
}
