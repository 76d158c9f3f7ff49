//! Gzip for request and response bodies, with a cap on what a body may inflate to (a small
//! gzip bomb must not fill the Pi's memory).

use std::io::{Read, Write};

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;

/// Largest decompressed body accepted by default (a batch of 2000 large documents).
pub const MAX_INFLATED: u64 = 64 << 20;

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    // Level 6 is the usual balance; the Pi's CPU is slower than its uplink is thin.
    let mut enc = GzEncoder::new(Vec::with_capacity(bytes.len() / 4 + 64), Compression::new(6));
    // Writing into a Vec cannot fail.
    let _ = enc.write_all(bytes);
    enc.finish().unwrap_or_default()
}

#[derive(Debug, thiserror::Error)]
pub enum GunzipError {
    #[error("the body is not valid gzip: {0}")]
    Invalid(#[from] std::io::Error),
    #[error("the body inflates to more than {0} bytes")]
    TooLarge(u64),
}

pub fn gunzip(bytes: &[u8], max: u64) -> Result<Vec<u8>, GunzipError> {
    let mut out = Vec::with_capacity(bytes.len() * 4);
    GzDecoder::new(bytes).take(max + 1).read_to_end(&mut out)?;
    if out.len() as u64 > max {
        return Err(GunzipError::TooLarge(max));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_caps() {
        let text = b"{\"changes\":[]}".repeat(1000);
        let packed = gzip(&text);
        assert!(packed.len() < text.len() / 10);
        assert_eq!(gunzip(&packed, MAX_INFLATED).unwrap(), text);
        assert!(matches!(gunzip(&packed, 100), Err(GunzipError::TooLarge(100))));
        assert!(matches!(gunzip(b"not gzip", 100), Err(GunzipError::Invalid(_))));
    }
}
