//! The instance id: this hub's name in the sync protocol and in the change log.
//!
//! A fingerprint of where the data lives (the board's serial number or the machine id, the
//! data dir's path, the database file's inode) is kept beside the id. A data dir that finds
//! a different fingerprint was copied — an SD card cloned, a backup restored elsewhere — and
//! takes a new instance id, so two copies never pass for one hub.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension};

use crate::error::Result;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    pub id: String,
    /// The id this data dir had before it was found copied, if it just was.
    pub previous: Option<String>,
}

fn host_id() -> String {
    for path in [
        "/sys/firmware/devicetree/base/serial-number",
        "/etc/machine-id",
        "/var/lib/dbus/machine-id",
    ] {
        if let Ok(s) = std::fs::read_to_string(path) {
            let s = s.trim_matches(|c: char| c.is_whitespace() || c == '\0');
            if !s.is_empty() {
                return s.to_owned();
            }
        }
    }
    std::fs::read_to_string("/etc/hostname")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

fn fingerprint(data_dir: &Path, db: &Path) -> String {
    let dir = std::fs::canonicalize(data_dir).unwrap_or_else(|_| data_dir.to_owned());
    #[cfg(unix)]
    let inode = {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(db).map(|m| m.ino()).unwrap_or(0)
    };
    #[cfg(not(unix))]
    let inode = 0u64;
    format!("host={};dir={};inode={}", host_id(), dir.display(), inode)
}

fn new_id() -> String {
    let mut rng = fastrand::Rng::new();
    (0..16).map(|_| format!("{:02x}", rng.u8(..))).collect()
}

fn meta(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?)
}

fn set_meta(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [key, value],
    )?;
    Ok(())
}

pub(super) fn ensure(conn: &Connection, data_dir: &Path, db: &Path) -> Result<Instance> {
    let here = fingerprint(data_dir, db);
    let id = meta(conn, "instance_id")?;
    let seen = meta(conn, "instance_fingerprint")?;
    match (id, seen) {
        (Some(id), Some(seen)) if seen == here => Ok(Instance { id, previous: None }),
        (previous, _) => {
            let id = new_id();
            if let Some(old) = &previous {
                tracing::warn!(old = %old, new = %id, "data dir was copied (new card, path or restore): taking a new instance id");
                let history = meta(conn, "instance_history")?.unwrap_or_default();
                set_meta(conn, "instance_history", &format!("{history}{old}\n"))?;
            }
            set_meta(conn, "instance_id", &id)?;
            set_meta(conn, "instance_fingerprint", &here)?;
            Ok(Instance { id, previous })
        }
    }
}
