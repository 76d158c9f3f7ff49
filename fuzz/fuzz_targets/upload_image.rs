//! Uploaded files (`POST /api/v1/elements/{id}/files` without the multipart layer):
//! `files::store_upload` sniffs the bytes, decodes images under limits, turns them upright,
//! re-encodes them without metadata and makes a thumbnail, then writes both. The name and
//! declared type vary with the input's length, so the image-named-but-not-an-image checks
//! run too.
//!
//! Checks: no panic, no allocation past the decoding limits; a stored image decodes again,
//! within `MAX_SIDE`, and its thumbnail within `THUMB_SIDE`.
#![no_main]

use std::path::PathBuf;

use copi::files::{self, DocType, Upload, MAX_SIDE, THUMB_SIDE};
use libfuzzer_sys::fuzz_target;

const NAMES: &[(&str, Option<&str>)] = &[
    ("photo.jpg", Some("image/jpeg")),
    ("image.png", None),
    ("anim.gif", Some("image/gif")),
    ("pic.webp", Some("image/webp")),
    ("notes.txt", Some("text/plain")),
    ("scan", None),
    ("../../etc/passwd", Some("application/octet-stream")),
];

thread_local! {
    static DATA: PathBuf = copi_fuzz::scratch_dir("copi-fuzz-upload-");
}

fn dimensions(bytes: &[u8]) -> (u32, u32) {
    let img = image::load_from_memory(bytes).expect("a stored image decodes again");
    (img.width(), img.height())
}

fuzz_target!(|data: &[u8]| {
    let (name, declared_type) = NAMES[data.len() % NAMES.len()];
    DATA.with(|dir| {
        let stored = match files::store_upload(
            dir,
            Upload {
                bytes: data,
                name,
                declared_type,
            },
        ) {
            Ok(s) => s,
            Err(e) => return copi_fuzz::assert_input_error(&e, "an upload"),
        };
        let root = files::uploads_dir(dir);
        let main = std::fs::read(root.join(&stored.path)).expect("the stored file");
        assert_eq!(main.len() as u64, stored.size);
        if stored.doctype == DocType::Image {
            let (w, h) = dimensions(&main);
            assert!(w <= MAX_SIDE && h <= MAX_SIDE, "stored {w}×{h}");
            assert_eq!(Some((w, h)), stored.dimensions);
            let thumb = stored.thumb.as_ref().expect("an image has a thumbnail");
            let (tw, th) = dimensions(&std::fs::read(root.join(thumb)).expect("the thumbnail"));
            assert!(tw <= THUMB_SIDE && th <= THUMB_SIDE, "thumbnail {tw}×{th}");
        }
        let mut paths = vec![stored.path.as_str()];
        paths.extend(stored.thumb.as_deref());
        files::remove_stored(dir, &paths);
    });
});
