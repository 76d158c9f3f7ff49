//! Prepares what the binary embeds:
//! - the npm packages (Leaflet, see `assets/package.json`), installed before rust-embed reads
//!   them: runs `npm ci` in `assets/` when they are missing or older than the lock file (the
//!   lock file pins every version);
//! - the French territory table (`data/territories-fr.tsv`, 1.6 MB), deflated into `OUT_DIR`
//!   (0.6 MB): the binary carries the compressed bytes and inflates them on first use.

use std::io::Write;
use std::path::Path;
use std::process::Command;

fn main() {
    pack_territories();
    install_npm_assets();
}

/// Deflates the territory table into `$OUT_DIR/territories-fr.tsv.deflate`, checking that it
/// is UTF-8 (the binary trusts it).
fn pack_territories() {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/territories-fr.tsv");
    println!("cargo:rerun-if-changed={}", source.display());
    let text = std::fs::read(&source).unwrap_or_else(|e| panic!("cannot read {}: {e}", source.display()));
    if let Err(e) = std::str::from_utf8(&text) {
        panic!("{} is not UTF-8: {e}", source.display());
    }
    let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(&text).expect("deflating into memory");
    let packed = encoder.finish().expect("deflating into memory");
    let out = Path::new(&std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("territories-fr.tsv.deflate");
    std::fs::write(&out, packed).unwrap_or_else(|e| panic!("cannot write {}: {e}", out.display()));
}

fn install_npm_assets() {
    let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets");
    let lock = assets.join("package-lock.json");
    println!("cargo:rerun-if-changed={}", lock.display());
    let marker = assets.join("node_modules/.package-lock.json");
    let wanted = [
        "node_modules/leaflet/dist/leaflet.js",
        "node_modules/leaflet.markercluster/dist/leaflet.markercluster.js",
    ];
    let stale = match (
        marker.metadata().and_then(|m| m.modified()),
        lock.metadata().and_then(|m| m.modified()),
    ) {
        (Ok(installed), Ok(locked)) => installed < locked,
        _ => true,
    };
    if !stale && wanted.iter().all(|w| assets.join(w).exists()) {
        return;
    }
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(&assets)
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => panic!(
            "`npm ci` in {} failed ({s}): the pages embed Leaflet from npm",
            assets.display()
        ),
        Err(e) => panic!(
            "cannot run npm ({e}): install Node.js and npm (scripts/deps test does), then build again; \
             the pages embed Leaflet from npm (assets/package.json)"
        ),
    }
}
