//! `copi.toml`: read from a file as the hub reads it (`Config::load`, with the errors that
//! name the key and line), validated, then the system files rendered from it; and the
//! fallback to the last working copy (`Config::load_with_fallback`).
//!
//! Checks: no panic; a refused file is a config error (never I/O or a crash); a loaded
//! config validates; with a last working copy in place, loading never fails.
#![no_main]

use std::path::PathBuf;

use copi::config::{Config, Overrides};
use copi::error::Error;
use libfuzzer_sys::fuzz_target;

struct Files {
    config: PathBuf,
    last_good: PathBuf,
}

thread_local! {
    static FILES: Files = {
        let dir = copi_fuzz::scratch_dir("copi-fuzz-config-");
        let last_good = dir.join("copi.last-good.toml");
        std::fs::write(&last_good, include_str!("../../copi.example.toml")).expect("writing the example config");
        Files { config: dir.join("copi.toml"), last_good }
    };
}

fuzz_target!(|data: &[u8]| {
    FILES.with(|f| {
        std::fs::write(&f.config, data).expect("writing the fuzzed config");
        let overrides = Overrides::default();
        match Config::load(Some(&f.config), &overrides) {
            Ok(config) => {
                config.validate().expect("a loaded config validates");
                let _ = config.time_zone();
                let _ = config.wifi_ssid();
                let _ = config.network.lan_name();
                let _ = config.network.mdns_name();
                let _ = config.network.dhcp_range();
                if let Err(e) = copi::system::render(&config) {
                    assert!(matches!(e, Error::Config(_)), "rendering a loaded config: {e:?}");
                }
            }
            Err(Error::Config(_)) => {}
            Err(e) => panic!("a config file refused with a non-config error: {e:?}"),
        }
        if let Err(e) = Config::load_with_fallback(Some(&f.config), &overrides, &f.last_good) {
            panic!("the last working config did not stay in force: {e:?}");
        }
    });
});
