//! Files made byte by byte for the upload tests: photos with GPS in their EXIF, PNG
//! decompression bombs, a PDF.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::{DynamicImage, RgbImage, RgbaImage};

/// The latitude written in the GPS block: degrees, minutes, seconds of Crest (44°43'41").
pub const GPS_SECONDS: u32 = 41;

/// A colourful RGB image.
pub fn gradient(width: u32, height: u32) -> DynamicImage {
    DynamicImage::ImageRgb8(RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x * 255 / width.max(1)) as u8, (y * 255 / height.max(1)) as u8, 128])
    }))
}

pub fn png(width: u32, height: u32, alpha: bool) -> Vec<u8> {
    let img = if alpha {
        DynamicImage::ImageRgba8(RgbaImage::from_fn(width, height, |x, _| {
            image::Rgba([200, 10, 10, (x % 256) as u8])
        }))
    } else {
        gradient(width, height)
    };
    let mut out = Vec::new();
    img.write_with_encoder(PngEncoder::new(&mut out)).unwrap();
    out
}

pub fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    gradient(width, height)
        .write_with_encoder(JpegEncoder::new_with_quality(&mut out, 90))
        .unwrap();
    out
}

/// An EXIF APP1 segment (big-endian TIFF) with IFD0 holding an orientation (6: turn 90°
/// clockwise to view) and a pointer to a GPS IFD with `GPSLatitudeRef = N` and
/// `GPSLatitude = 44/1, 43/1, 41/1`.
pub fn exif_app1_with_gps() -> Vec<u8> {
    let mut tiff = Vec::new();
    tiff.extend_from_slice(b"MM\0\x2a");
    tiff.extend_from_slice(&8u32.to_be_bytes()); // IFD0 right after the header
                                                 // IFD0: 2 entries (12 bytes each) + next-IFD offset: 2 + 24 + 4 = 30 bytes, at 8.
    let gps_ifd = 8 + 30u32;
    tiff.extend_from_slice(&2u16.to_be_bytes());
    // Orientation (0x0112), SHORT (3), 1, value 6 left-justified.
    tiff.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0]);
    // GPSInfo (0x8825), LONG (4), 1, offset of the GPS IFD.
    tiff.extend_from_slice(&[0x88, 0x25, 0, 4, 0, 0, 0, 1]);
    tiff.extend_from_slice(&gps_ifd.to_be_bytes());
    tiff.extend_from_slice(&0u32.to_be_bytes());
    // GPS IFD: 2 entries + next: 30 bytes; the rationals follow.
    let rationals = gps_ifd + 30;
    tiff.extend_from_slice(&2u16.to_be_bytes());
    // GPSLatitudeRef (1), ASCII (2), 2, "N\0".
    tiff.extend_from_slice(&[0, 1, 0, 2, 0, 0, 0, 2, b'N', 0, 0, 0]);
    // GPSLatitude (2), RATIONAL (5), 3, offset.
    tiff.extend_from_slice(&[0, 2, 0, 5, 0, 0, 0, 3]);
    tiff.extend_from_slice(&rationals.to_be_bytes());
    tiff.extend_from_slice(&0u32.to_be_bytes());
    for (num, den) in [(44u32, 1u32), (43, 1), (GPS_SECONDS, 1)] {
        tiff.extend_from_slice(&num.to_be_bytes());
        tiff.extend_from_slice(&den.to_be_bytes());
    }
    let mut seg = vec![0xff, 0xe1];
    let len = (2 + 6 + tiff.len()) as u16;
    seg.extend_from_slice(&len.to_be_bytes());
    seg.extend_from_slice(b"Exif\0\0");
    seg.extend_from_slice(&tiff);
    seg
}

/// A `width`×`height` JPEG photo carrying [`exif_app1_with_gps`] right after its SOI.
pub fn jpeg_with_gps(width: u32, height: u32) -> Vec<u8> {
    let plain = jpeg(width, height);
    assert_eq!(&plain[..2], &[0xff, 0xd8]);
    let mut out = plain[..2].to_vec();
    out.extend(exif_app1_with_gps());
    out.extend_from_slice(&plain[2..]);
    // The photo is a valid JPEG whose EXIF the decoder reads.
    {
        use image::ImageDecoder;
        let mut decoder = image::ImageReader::new(Cursor::new(&out))
            .with_guessed_format()
            .unwrap()
            .into_decoder()
            .unwrap();
        assert!(decoder.exif_metadata().unwrap().is_some(), "the sample carries EXIF");
    }
    out
}

pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// A valid PNG header declaring `width`×`height` 8-bit RGBA pixels, with a tiny IDAT (a zlib
/// stream of one zero byte) and IEND: a few dozen bytes promising gigabytes.
pub fn png_bomb(width: u32, height: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]); // 8 bits, RGBA, deflate, adaptive, no interlace
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(
        &mut out,
        b"IDAT",
        &[0x78, 0x9c, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01],
    );
    chunk(&mut out, b"IEND", &[]);
    out
}

pub const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n\
2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";

/// Whether `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
