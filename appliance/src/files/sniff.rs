//! What a file really is, from its first bytes, and the name it is kept under.

use image::ImageFormat;

use crate::error::{Error, Result};

/// The kinds of file accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Sniffed {
    /// JPEG, PNG, WebP or GIF.
    Image(ImageFormat),
    Pdf,
    /// Valid UTF-8 without control characters other than tab, line feed, form feed and
    /// carriage return.
    Text,
}

impl Sniffed {
    /// What the content is, for messages.
    pub(super) fn describe(self) -> &'static str {
        match self {
            Sniffed::Image(_) => "an image",
            Sniffed::Pdf => "a PDF document",
            Sniffed::Text => "plain text",
        }
    }
}

/// Extensions that promise an image. A file named so must be one of the images accepted.
const IMAGE_EXTENSIONS: &[&str] = &[
    "jpg", "jpeg", "jpe", "jfif", "pjpeg", "pjp", "png", "apng", "gif", "webp", "bmp", "dib", "tif", "tiff", "svg",
    "svgz", "ico", "cur", "heic", "heif", "avif", "jxl",
];

/// Text files keep these extensions; any other text gets `.txt` added.
const TEXT_EXTENSIONS: &[&str] = &["txt", "text", "md", "csv", "tsv"];

/// Recognises the file from its bytes. Other image formats and anything not in the short
/// list are refused with 415.
pub(super) fn sniff(bytes: &[u8]) -> Result<Sniffed> {
    let guessed = image::guess_format(bytes).ok();
    if let Some(f @ (ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP | ImageFormat::Gif)) = guessed {
        return Ok(Sniffed::Image(f));
    }
    if bytes.starts_with(b"%PDF-") {
        return Ok(Sniffed::Pdf);
    }
    // Before the other image formats: some magic numbers ("BM", "P1"…) are also words.
    if is_text(bytes) {
        return Ok(Sniffed::Text);
    }
    Err(Error::UnsupportedMediaType(match guessed {
        Some(f) => format!(
            "{} images are not accepted: send JPEG, PNG, WebP or GIF",
            f.extensions_str().first().map_or("these", |e| e).to_ascii_uppercase()
        ),
        None => "this kind of file is not accepted: send an image (JPEG, PNG, WebP, GIF), a PDF or plain text".into(),
    }))
}

fn is_text(bytes: &[u8]) -> bool {
    match std::str::from_utf8(bytes) {
        Ok(s) => !s
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\x0c')),
        Err(_) => false,
    }
}

fn extension(name: &str) -> Option<String> {
    let (stem, ext) = name.rsplit_once('.')?;
    (!stem.is_empty()).then(|| ext.to_ascii_lowercase())
}

pub(super) fn has_image_extension(name: &str) -> bool {
    extension(name).is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.as_str()))
}

/// The last component of a client's file name, without control characters, quotes,
/// leading dots or surrounding spaces, at most [`super::MAX_NAME_CHARS`] characters.
pub(crate) fn base_name(given: &str) -> String {
    let last = given.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}'))
        .collect();
    let trimmed = cleaned.trim().trim_start_matches('.').trim();
    trimmed.chars().take(super::MAX_NAME_CHARS).collect()
}

/// The name a stored file is offered under: the client's with the extension of what was
/// stored (`photo.webp` re-encoded as JPEG becomes `photo.jpg`; `notes.html` as text becomes
/// `notes.html.txt`).
pub(super) fn display_name(base: &str, ext: &str, sniffed: Sniffed) -> String {
    let (stem, given_ext) = match base.rsplit_once('.') {
        Some((stem, e)) if !stem.is_empty() => (stem, Some(e.to_ascii_lowercase())),
        _ => (base, None),
    };
    let stem = if stem.is_empty() { "file" } else { stem };
    match sniffed {
        Sniffed::Text => match given_ext {
            Some(e) if TEXT_EXTENSIONS.contains(&e.as_str()) => format!("{stem}.{e}"),
            Some(_) => format!("{base}.txt"),
            None => format!("{stem}.txt"),
        },
        Sniffed::Image(_) | Sniffed::Pdf => format!("{stem}.{ext}"),
    }
}
