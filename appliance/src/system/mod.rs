//! The system's configuration, rendered from CoPi's: the access point (hostapd), DHCP and
//! DNS (dnsmasq), addresses (systemd-networkd) and the Wi-Fi uplink (wpa_supplicant).
//! `copi.toml` is the only file the admin edits; at boot `copi render-config --out DIR`
//! turns it into these, before the daemons start:
//!
//! | file | read by |
//! |---|---|
//! | `hostapd.conf` | hostapd: the access point on `wlan0` |
//! | `dnsmasq.conf` | dnsmasq: DHCP for visitors, the hub's names (`copi`, `copi.lan`, `copi.local`) |
//! | `dnsmasq-offline.conf` | dnsmasq, while there is no uplink: linked into [`DNSMASQ_DROPIN_DIR`] (every name → the hub, for captive-portal checks) |
//! | `10-copi-ap.network` | systemd-networkd: the hub's fixed address on `wlan0` |
//! | `20-copi-ethernet.network` | systemd-networkd: DHCP on `eth0`, when `uplink.ethernet` |
//! | `30-copi-wifi-uplink.network`, `wpa_supplicant-IFACE.conf` | systemd-networkd and `wpa_supplicant@IFACE`: the Wi-Fi uplink, when `[uplink.wifi]` |
//! | `copi-network.env` | the image's scripts (shell or systemd `EnvironmentFile`): interfaces, address, names |
//! | `journald-copi.conf` | systemd-journald (a drop-in in `journald.conf.d/`): logs kept in RAM only, bounded, to spare the SD card |
//!
//! The image puts the `.network` files where networkd reads them, creates
//! [`DNSMASQ_DROPIN_DIR`] (dnsmasq refuses to start without it) and switches the offline
//! drop-in as uplinks come and go. Rendering is pure ([`render`]) so that golden tests
//! pin every byte; [`write`] only writes what changed.
//!
//! Every value written comes from a validated [`Config`]: SSIDs and passphrases on one line,
//! names and interfaces from fixed alphabets, so no value can add a line to a file.

mod dnsmasq;
mod hostapd;
mod networkd;
#[cfg(test)]
mod tests;

use std::io::Write;
use std::path::Path;

use crate::config::Config;
use crate::error::{Error, Result};

/// Where dnsmasq reads drop-ins; `dnsmasq-offline.conf` is linked here while offline.
pub const DNSMASQ_DROPIN_DIR: &str = "/run/copi/dnsmasq.d";

/// The list of files the last render wrote, kept in the output dir to remove those a new
/// config no longer needs (a Wi-Fi uplink that was taken out).
const MANIFEST: &str = ".copi-render-config";

/// First line of every file.
const HEADER: &str = "# Written by `copi render-config` from copi.toml: edit copi.toml, not this file.\n";

/// One rendered file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemFile {
    /// File name, without a directory.
    pub name: String,
    pub contents: String,
    /// Holds a passphrase: readable by root only.
    pub secret: bool,
}

impl SystemFile {
    fn new(name: impl Into<String>, contents: String) -> SystemFile {
        SystemFile {
            name: name.into(),
            contents,
            secret: false,
        }
    }

    fn secret(name: impl Into<String>, contents: String) -> SystemFile {
        SystemFile {
            secret: true,
            ..SystemFile::new(name, contents)
        }
    }
}

/// Renders the system files for `config`, sorted by name. Refuses a config without a
/// `[wifi]` table: the appliance is an access point.
pub fn render(config: &Config) -> Result<Vec<SystemFile>> {
    // Loading validates already; a Config built in code gets the same guard against values
    // that would break a file.
    config.validate()?;
    let (Some(wifi), Some(ssid)) = (&config.wifi, config.wifi_ssid()) else {
        return Err(Error::Config(
            "the config has no [wifi] table: the access point needs at least wifi.country (e.g. country = \"FR\")"
                .into(),
        ));
    };
    let mut files = vec![
        SystemFile {
            name: "hostapd.conf".into(),
            contents: hostapd::render(wifi, &ssid),
            secret: wifi.passphrase.is_some(),
        },
        SystemFile::new("dnsmasq.conf", dnsmasq::render(config)),
        SystemFile::new("dnsmasq-offline.conf", dnsmasq::render_offline(config)),
        SystemFile::new("copi-network.env", networkd::render_env(config)),
        SystemFile::new("journald-copi.conf", journald()),
    ];
    files.extend(networkd::render(config));
    files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(files)
}

/// Logs in RAM (`/run/log/journal`), never on the card: a log line per request would wear
/// an SD card out, and a hub's logs matter until the next reboot only. Bounded so that a
/// chatty service cannot eat the Pi Zero's 512 MB.
fn journald() -> String {
    format!(
        "{HEADER}[Journal]\n\
         Storage=volatile\n\
         RuntimeMaxUse=16M\n\
         RuntimeMaxFileSize=2M\n\
         ForwardToSyslog=no\n\
         MaxLevelStore=info\n"
    )
}

/// What [`write`] did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Written {
    /// Files created or rewritten.
    pub changed: Vec<String>,
    /// Files that already held what was rendered.
    pub unchanged: usize,
    /// Files an earlier render wrote that this config no longer has.
    pub removed: Vec<String>,
}

/// Writes `files` into `dir` (created if missing). Each file is replaced atomically
/// (a temporary file, fsync, rename), only when its contents differ, so running it again
/// changes nothing; files an earlier render wrote that are not in `files` are removed.
pub fn write(dir: &Path, files: &[SystemFile]) -> Result<Written> {
    let fail = |what: &str, name: &str| Error::io(format!("cannot {what} {}", dir.join(name).display()));
    std::fs::create_dir_all(dir).map_err(Error::io(format!("cannot create {}", dir.display())))?;
    let mut written = Written::default();
    for file in files {
        let path = dir.join(&file.name);
        let mode = if file.secret { 0o600 } else { 0o644 };
        if std::fs::read(&path).is_ok_and(|old| old == file.contents.as_bytes()) {
            set_mode(&path, mode).map_err(fail("set the mode of", &file.name))?;
            written.unchanged += 1;
        } else {
            replace(dir, &file.name, file.contents.as_bytes(), mode).map_err(fail("write", &file.name))?;
            written.changed.push(file.name.clone());
        }
    }
    let old = std::fs::read_to_string(dir.join(MANIFEST)).unwrap_or_default();
    for name in old.lines() {
        let plain = !name.is_empty() && !name.contains('/') && !name.starts_with('.');
        if plain && !files.iter().any(|f| f.name == name) {
            match std::fs::remove_file(dir.join(name)) {
                Ok(()) => written.removed.push(name.to_owned()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(fail("remove", name)(e)),
            }
        }
    }
    let manifest: String = files.iter().map(|f| format!("{}\n", f.name)).collect();
    if old != manifest {
        replace(dir, MANIFEST, manifest.as_bytes(), 0o644).map_err(fail("write", MANIFEST))?;
    }
    if !written.changed.is_empty() || !written.removed.is_empty() {
        // The renames and removals themselves survive a power cut once the dir is synced.
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(Error::io(format!("cannot sync {}", dir.display())))?;
    }
    Ok(written)
}

/// Replaces `dir/name` with `contents`: a reader sees the old file or the new one, never a
/// part. A secret is never readable by others, not even in the temporary file.
fn replace(dir: &Path, name: &str, contents: &[u8], mode: u32) -> std::io::Result<()> {
    let tmp = dir.join(format!(".{name}.tmp"));
    let _ = std::fs::remove_file(&tmp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    let mut file = options.open(&tmp)?;
    file.write_all(contents)?;
    file.sync_all()?;
    drop(file);
    set_mode(&tmp, mode)?;
    std::fs::rename(&tmp, dir.join(name))
}

/// The umask may have narrowed the mode at creation; an existing file may have another.
fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if std::fs::metadata(path)?.permissions().mode() & 0o777 != mode {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
        }
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
}
