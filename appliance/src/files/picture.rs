//! Images: decoded under limits, turned upright, re-encoded without metadata, thumbnailed.

use std::io::Cursor;
use std::sync::Mutex;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::error::ImageError;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};

use super::{invalid, MAX_DECODED_BYTES, MAX_SIDE, THUMB_SIDE};
use crate::error::{Error, Result};

/// JPEG quality of re-encoded photos and thumbnails.
const JPEG_QUALITY: u8 = 85;

/// One image at a time: a decoded image may take [`MAX_DECODED_BYTES`] and its copies as
/// much again, and the hub has 512 MB.
static DECODING: Mutex<()> = Mutex::new(());

/// A cleaned image and its thumbnail, in the same format.
pub(super) struct Cleaned {
    pub bytes: Vec<u8>,
    pub thumb: Vec<u8>,
    pub ext: &'static str,
    pub content_type: &'static str,
    /// Upright width and height.
    pub dimensions: (u32, u32),
}

fn limits() -> Limits {
    let mut l = Limits::default();
    l.max_image_width = Some(MAX_SIDE);
    l.max_image_height = Some(MAX_SIDE);
    l.max_alloc = Some(MAX_DECODED_BYTES);
    l
}

fn too_large() -> Error {
    invalid(format!(
        "is too large an image: at most {MAX_SIDE}×{MAX_SIDE} pixels and {} MiB once decoded",
        MAX_DECODED_BYTES >> 20
    ))
}

fn decode_error(e: ImageError) -> Error {
    match e {
        ImageError::Limits(_) => too_large(),
        e => invalid(format!("is not a readable image ({e})")),
    }
}

/// Decodes with limits: the dimensions are checked from the header (before any pixel
/// buffer exists), then the decoded size, then the pixels are read.
fn decode(bytes: &[u8], format: ImageFormat) -> Result<DynamicImage> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits());
    let mut decoder = reader.into_decoder().map_err(decode_error)?;
    // A side of 0 decodes (GIF allows it) but cannot be re-encoded.
    if decoder.dimensions().0 == 0 || decoder.dimensions().1 == 0 {
        return Err(invalid("is an image without pixels (a side of 0)"));
    }
    if decoder.total_bytes() > MAX_DECODED_BYTES {
        return Err(too_large());
    }
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(decode_error)?;
    img.apply_orientation(orientation);
    Ok(img)
}

/// 8 bits a channel, keeping grey and transparency only where the output format can.
fn for_output(img: DynamicImage, keep_alpha: bool) -> DynamicImage {
    let color = img.color();
    match (color.has_color(), keep_alpha && color.has_alpha()) {
        (true, true) => DynamicImage::ImageRgba8(img.into_rgba8()),
        (true, false) => DynamicImage::ImageRgb8(img.into_rgb8()),
        (false, true) => DynamicImage::ImageLumaA8(img.into_luma_alpha8()),
        (false, false) => DynamicImage::ImageLuma8(img.into_luma8()),
    }
}

fn encode(img: &DynamicImage, as_png: bool) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let written = if as_png {
        img.write_with_encoder(PngEncoder::new(&mut out))
    } else {
        img.write_with_encoder(JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY))
    };
    written.map_err(|e| Error::Corrupt(format!("re-encoding an image failed: {e}")))?;
    Ok(out)
}

/// Decodes, re-encodes (JPEG for photos; PNG for PNG, GIF and transparent WebP) and makes
/// the thumbnail. Nothing of the original but its pixels survives.
pub(super) fn clean(bytes: &[u8], format: ImageFormat) -> Result<Cleaned> {
    let _one_at_a_time = DECODING.lock().unwrap_or_else(|e| e.into_inner());
    let img = decode(bytes, format)?;
    let as_png = match format {
        ImageFormat::Png | ImageFormat::Gif => true,
        ImageFormat::WebP => img.color().has_alpha(),
        _ => false,
    };
    let img = for_output(img, as_png);
    let dimensions = (img.width(), img.height());
    let stored = encode(&img, as_png)?;
    let thumb = if img.width() > THUMB_SIDE || img.height() > THUMB_SIDE {
        encode(&img.thumbnail(THUMB_SIDE, THUMB_SIDE), as_png)?
    } else {
        stored.clone()
    };
    let (ext, content_type) = if as_png {
        ("png", "image/png")
    } else {
        ("jpg", "image/jpeg")
    };
    Ok(Cleaned {
        bytes: stored,
        thumb,
        ext,
        content_type,
        dimensions,
    })
}
