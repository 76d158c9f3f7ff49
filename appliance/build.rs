//! Makes sure the npm packages the binary embeds (Leaflet, see `assets/package.json`) are
//! installed before rust-embed reads them: runs `npm ci` in `assets/` when they are missing
//! or older than the lock file. Nothing else; the lock file pins every version.

use std::path::Path;
use std::process::Command;

fn main() {
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
