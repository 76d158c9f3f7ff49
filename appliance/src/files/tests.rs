//! Upload checks on real, hand-made files, against a temp data dir.

use std::io::Cursor;
use std::path::Path;
use std::time::{Duration, Instant};

use image::{GenericImageView, ImageDecoder, ImageFormat};

use super::samples::{self, contains};
use super::*;
use crate::error::Error;

fn upload<'a>(bytes: &'a [u8], name: &'a str) -> Upload<'a> {
    Upload {
        bytes,
        name,
        declared_type: None,
    }
}

/// Every file under `<data>/uploads`, temp files included.
fn files_on_disk(data: &Path) -> Vec<PathBuf> {
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
    walk(&uploads_dir(data), &mut out);
    out.sort();
    out
}

fn refused(data: &Path, bytes: &[u8], name: &str, declared: Option<&str>) -> Error {
    let e = store_upload(
        data,
        Upload {
            bytes,
            name,
            declared_type: declared,
        },
    )
    .expect_err(name);
    assert!(files_on_disk(data).is_empty(), "{name}: nothing is left on disk");
    e
}

fn read(data: &Path, rel: &str) -> Vec<u8> {
    std::fs::read(uploads_dir(data).join(rel)).unwrap()
}

#[test]
fn a_photo_comes_back_upright_without_its_exif_and_gps() {
    let dir = tempfile::tempdir().unwrap();
    let photo = samples::jpeg_with_gps(640, 480);
    assert!(contains(&photo, b"Exif\0\0") && contains(&photo, b"MM\0\x2a"));

    let s = store_upload(dir.path(), upload(&photo, "IMG_0042.JPG")).unwrap();
    assert_eq!((s.doctype, s.content_type), (DocType::Image, "image/jpeg"));
    assert_eq!(s.name, "IMG_0042.jpg");
    // Orientation 6 applied: the stored photo is portrait.
    assert_eq!(s.dimensions, Some((480, 640)));
    let stored = read(dir.path(), &s.path);
    assert_eq!(s.size, stored.len() as u64);
    for marker in [&b"Exif"[..], b"MM\0\x2a", b"II\x2a\0", &[0xff, 0xe1]] {
        assert!(!contains(&stored, marker), "{marker:?} left in the stored photo");
    }
    let mut decoder = image::ImageReader::with_format(Cursor::new(&stored), ImageFormat::Jpeg)
        .into_decoder()
        .unwrap();
    assert_eq!(decoder.exif_metadata().unwrap(), None);
    assert_eq!(decoder.dimensions(), (480, 640));
    // Still the same picture: the top left corner is dark, the gradient runs down the
    // (rotated) width.
    let img = image::load_from_memory(&stored).unwrap();
    assert!(img.get_pixel(0, 0)[1] > 200, "rotated: {:?}", img.get_pixel(0, 0));

    let thumb = read(dir.path(), s.thumb.as_deref().unwrap());
    let t = image::load_from_memory_with_format(&thumb, ImageFormat::Jpeg).unwrap();
    assert_eq!(t.dimensions(), (240, 320));
    assert!(!contains(&thumb, b"Exif"));
    assert_eq!(files_on_disk(dir.path()).len(), 2);
}

#[test]
fn png_bombs_are_refused_from_their_header() {
    let dir = tempfile::tempdir().unwrap();
    for (w, h) in [
        (60_000, 60_000),
        (100_000, 100_000),
        (8001, 10),
        (8000, 8000),
        (5000, 5000),
    ] {
        let bomb = samples::png_bomb(w, h);
        assert!(bomb.len() < 100);
        let started = Instant::now();
        let e = refused(dir.path(), &bomb, "bomb.png", Some("image/png"));
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{w}×{h} took {:?}",
            started.elapsed()
        );
        assert_eq!(e.status(), 422, "{w}×{h}: {e}");
        assert!(e.to_string().contains("too large an image"), "{w}×{h}: {e}");
    }
    // Within the limits, the same tiny IDAT is merely a broken image.
    let e = refused(dir.path(), &samples::png_bomb(100, 100), "small.png", None);
    assert!(e.to_string().contains("not a readable image"), "{e}");
}

#[test]
fn a_non_image_named_or_declared_as_an_image_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let text = b"Bonjour, ceci n'est pas une photo.\n";
    for name in [
        "photo.jpg",
        "photo.JPEG",
        "x.png",
        "anim.gif",
        "a.webp",
        "logo.svg",
        "scan.tiff",
        "dir/p.heic",
    ] {
        let e = refused(dir.path(), text, name, None);
        assert_eq!(e.status(), 422, "{name}: {e}");
        assert!(e.to_string().contains("plain text"), "{name}: {e}");
    }
    let e = refused(dir.path(), samples::PDF, "scan.png", None);
    assert!(e.to_string().contains("a PDF document"), "{e}");
    let e = refused(dir.path(), text, "notes.txt", Some("image/jpeg"));
    assert_eq!(e.status(), 422, "{e}");
}

#[test]
fn only_known_kinds_of_file_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let check = |bytes: &[u8], name: &str, message: &str| {
        let e = refused(dir.path(), bytes, name, None);
        assert_eq!(e.status(), 415, "{name}: {e}");
        assert!(e.to_string().contains(message), "{name}: {e}");
    };
    check(b"PK\x03\x04\x14\0\0\0\x08\0", "archive.zip", "not accepted");
    check(b"\x7fELF\x02\x01\x01\0\0\0", "tool", "not accepted");
    check(
        b"BM\x3e\0\0\0\0\0\0\0\x3e\0\0\0\x28\0\xff\xfe",
        "old.bmp",
        "BMP images are not accepted",
    );
    check(b"II*\0\x08\0\0\0\xff\xfe", "scan.tif", "TIF");
    check(b"caf\xe9 latin-1\n", "notes.txt", "not accepted");
    check(b"text with a NUL\0", "notes.txt", "not accepted");
    assert!(matches!(refused(dir.path(), b"", "empty.txt", None), Error::Invalid(_)));
    let big = vec![b'a'; MAX_UPLOAD_BYTES as usize + 1];
    assert_eq!(refused(dir.path(), &big, "big.txt", None).status(), 413);
}

#[test]
fn pdf_and_text_are_kept_as_sent() {
    let dir = tempfile::tempdir().unwrap();
    let s = store_upload(dir.path(), upload(samples::PDF, "../../Compte rendu.PDF")).unwrap();
    assert_eq!(
        (s.name.as_str(), s.doctype, s.content_type, s.thumb.as_deref()),
        ("Compte rendu.pdf", DocType::File, "application/pdf", None)
    );
    assert_eq!(read(dir.path(), &s.path), samples::PDF);
    assert!(s.path.ends_with(".pdf"));

    let text = "Ordre du jour : compost, vélos.\r\n\tFin.\n".as_bytes();
    let s = store_upload(dir.path(), upload(text, "notes.html")).unwrap();
    assert_eq!(
        (s.name.as_str(), s.content_type),
        ("notes.html.txt", "text/plain; charset=utf-8")
    );
    assert_eq!(read(dir.path(), &s.path), text);
    // Words that start like other formats' magic numbers are text.
    let s = store_upload(dir.path(), upload(b"BMX club: P1 results", "club.csv")).unwrap();
    assert_eq!(s.name, "club.csv");
    assert_eq!(files_on_disk(dir.path()).len(), 3);
}

#[test]
fn images_keep_their_kind_and_get_small_thumbnails() {
    let dir = tempfile::tempdir().unwrap();
    // PNG stays PNG (transparency kept); a mislabelled one is renamed.
    let s = store_upload(dir.path(), upload(&samples::png(1000, 500, true), "carte.jpg")).unwrap();
    assert_eq!(
        (s.name.as_str(), s.content_type, s.dimensions),
        ("carte.png", "image/png", Some((1000, 500)))
    );
    let img = image::load_from_memory_with_format(&read(dir.path(), &s.path), ImageFormat::Png).unwrap();
    assert!(img.color().has_alpha());
    let t = image::load_from_memory(&read(dir.path(), s.thumb.as_deref().unwrap())).unwrap();
    assert_eq!(t.dimensions(), (320, 160));

    // A small image is its own thumbnail.
    let s = store_upload(dir.path(), upload(&samples::jpeg(100, 60), "")).unwrap();
    assert_eq!(s.name, "file.jpg");
    assert_eq!(read(dir.path(), &s.path), read(dir.path(), s.thumb.as_deref().unwrap()));

    // GIF: the first frame, as PNG.
    let mut gif = Vec::new();
    samples::gradient(400, 400)
        .write_to(&mut Cursor::new(&mut gif), ImageFormat::Gif)
        .unwrap();
    let s = store_upload(dir.path(), upload(&gif, "anim.gif")).unwrap();
    assert_eq!((s.name.as_str(), s.content_type), ("anim.png", "image/png"));
    let t = image::load_from_memory(&read(dir.path(), s.thumb.as_deref().unwrap())).unwrap();
    assert!(
        t.width() <= THUMB_SIDE && t.height() <= THUMB_SIDE,
        "{:?}",
        t.dimensions()
    );
}

#[test]
fn stored_paths_are_checked_before_use() {
    let id = ElementId::generate();
    let shard = shard_of(&id);
    assert_eq!(
        check_stored_path(&format!("{shard}/{id}.jpg")),
        Some(("image/jpeg", true))
    );
    assert_eq!(
        check_stored_path(&format!("{shard}/{id}.thumb.png")),
        Some(("image/png", true))
    );
    assert_eq!(
        check_stored_path(&format!("{shard}/{id}.pdf")),
        Some(("application/pdf", false))
    );
    for bad in [
        format!("{shard}/{id}.html"),
        format!("{shard}/../{id}.jpg"),
        format!("../{shard}/{id}.jpg"),
        format!("zz/{id}.jpg"),
        format!("{shard}/{id}/x.jpg"),
        "../../secret.key".into(),
        "/etc/passwd".into(),
        String::new(),
    ] {
        assert_eq!(check_stored_path(&bad), None, "{bad}");
    }
}

#[test]
fn names_are_cleaned() {
    use super::sniff::base_name;
    assert_eq!(base_name("C:\\Users\\marie\\photo.jpg"), "photo.jpg");
    assert_eq!(base_name("../../.ssh/id_rsa"), "id_rsa");
    assert_eq!(base_name(" .hidden "), "hidden");
    assert_eq!(base_name("a\"b\u{202e}gpj.exe\n"), "abgpj.exe");
    assert_eq!(base_name(&"é".repeat(300)).chars().count(), MAX_NAME_CHARS);
}

/// Found by fuzzing (fuzz/, `upload_image`): a GIF whose screen is 0 pixels high decoded,
/// then failed to re-encode, and the upload was a 500 instead of a 422.
#[test]
fn an_image_with_a_side_of_zero_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let gif: &[u8] = &[
        0x47, 0x49, 0x46, 0x38, 0x37, 0x61, 0x00, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2c, 0xd5, 0x45, 0x78, 0x69,
        0x66, 0x00, 0x00, 0x00, 0xd8, 0xff, 0xd3, 0xee, 0x85, 0xc4, 0x03, 0x03, 0x3a, 0x03, 0x25, 0x32, 0x70, 0x44,
        0x01, 0x01, 0x12, 0x46, 0x46, 0x2d, 0xd9, 0x09, 0x09,
    ];
    let e = refused(dir.path(), gif, "flat.gif", Some("image/gif"));
    assert_eq!(e.status(), 422, "{e}");
    assert!(e.to_string().contains("without pixels"), "{e}");
}
