//! Copies of the database for backups, and the checks a copy passes before it is restored.
//!
//! A snapshot goes through SQLite's online backup API from a read-only connection, all pages
//! in one step: that is one read transaction, so the copy is one consistent state of the
//! store, and with WAL the hub's writer keeps writing meanwhile. Copying the database file
//! instead could catch it between a WAL write and a checkpoint, and would miss the WAL.

use std::path::Path;
use std::time::Duration;

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags, OptionalExtension};

use super::MIGRATIONS;
use crate::error::{Error, Result};

/// How long a snapshot waits for the database when it is busy (a WAL recovery, say).
const BUSY_RETRIES: u32 = 100;

/// What a database copy says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotFacts {
    /// The instance id recorded in the copy.
    pub instance_id: String,
    /// Migrations applied, in order.
    pub schema: Vec<String>,
    /// The last change sequence in the copy.
    pub last_seq: i64,
    pub elements: u64,
    pub records: u64,
}

/// Writes a consistent copy of the database `db` to `dest` (a new file), while other
/// processes may be reading and writing `db`. The copy is in rollback-journal mode so that
/// it is one self-contained file, and it is checked like a copy about to be restored.
pub fn snapshot(db: &Path, dest: &Path) -> Result<SnapshotFacts> {
    if !db.is_file() {
        return Err(Error::not_found(format!("database {}", db.display())));
    }
    let src = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    src.busy_timeout(Duration::from_secs(10))?;
    let mut dst = Connection::open(dest)?;
    {
        let backup = Backup::new(&src, &mut dst)?;
        let mut retries = 0;
        loop {
            // -1: every page in one step, i.e. one read transaction on the source. Smaller
            // steps would restart from scratch after each write by the hub.
            match backup.step(-1)? {
                StepResult::Done => break,
                StepResult::More => {}
                StepResult::Busy | StepResult::Locked => {
                    retries += 1;
                    if retries > BUSY_RETRIES {
                        return Err(Error::Conflict(format!(
                            "{} stayed busy: cannot take a snapshot of it now",
                            db.display()
                        )));
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                // StepResult is non-exhaustive.
                _ => {}
            }
        }
    }
    drop(src);
    dst.execute_batch("PRAGMA journal_mode = DELETE;")?;
    let facts = inspect(&dst)?;
    dst.close().map_err(|(_, e)| Error::Store(e))?;
    Ok(facts)
}

/// Checks a database copy about to be restored, opened read-only: it is an SQLite database
/// that passes `PRAGMA integrity_check`, it is a CoPi store, and every migration it records
/// is one this CoPi knows (older ones are migrated when the store is opened).
pub fn verify_copy(path: &Path) -> Result<SnapshotFacts> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(|e| Error::Corrupt(format!("the store in the archive cannot be opened: {e}")))?;
    inspect(&conn)
}

/// Makes a verified copy forget where it came from, so that the store opened on it takes a
/// new instance id (keeping the old one as its previous id) even if the restored data dir
/// happens to have the same path and inode as the source: two hubs restored from one
/// backup must never share an id.
pub fn forget_origin(path: &Path) -> Result<()> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.execute("DELETE FROM meta WHERE key = 'instance_fingerprint'", [])?;
    conn.close().map_err(|(_, e)| Error::Store(e))?;
    Ok(())
}

fn inspect(conn: &Connection) -> Result<SnapshotFacts> {
    let corrupt = |e: rusqlite::Error| Error::Corrupt(format!("the store is not a readable SQLite database: {e}"));
    let integrity: Vec<String> = {
        let mut stmt = conn.prepare("PRAGMA integrity_check(5)").map_err(corrupt)?;
        let rows = stmt.query_map([], |r| r.get(0)).map_err(corrupt)?;
        rows.collect::<Result<_, _>>().map_err(corrupt)?
    };
    if integrity != ["ok"] {
        let found: Vec<&str> = integrity
            .iter()
            .map(|l| l.trim())
            .filter(|l| !l.starts_with("***"))
            .collect();
        return Err(Error::Corrupt(format!(
            "the store fails SQLite's integrity check ({})",
            found.join("; ")
        )));
    }
    let has_table = |name: &str| -> Result<bool> {
        Ok(conn
            .query_row(
                "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1",
                [name],
                |_| Ok(()),
            )
            .optional()
            .map_err(corrupt)?
            .is_some())
    };
    for table in ["schema_migrations", "meta", "changes", "elements", "records"] {
        if !has_table(table)? {
            return Err(Error::Corrupt(format!(
                "the database is not a CoPi store (it has no {table} table)"
            )));
        }
    }
    let schema: Vec<String> = {
        let mut stmt = conn
            .prepare("SELECT name FROM schema_migrations ORDER BY name")
            .map_err(corrupt)?;
        let rows = stmt.query_map([], |r| r.get(0)).map_err(corrupt)?;
        rows.collect::<Result<_, _>>().map_err(corrupt)?
    };
    if let Some(unknown) = schema.iter().find(|n| !MIGRATIONS.iter().any(|(m, _)| m == n)) {
        return Err(Error::Corrupt(format!(
            "the store was written by a newer CoPi (migration {unknown}); update CoPi first"
        )));
    }
    if schema.is_empty() {
        return Err(Error::Corrupt("the store records no schema migration".into()));
    }
    let instance_id: Option<String> = conn
        .query_row("SELECT value FROM meta WHERE key = 'instance_id'", [], |r| r.get(0))
        .optional()
        .map_err(corrupt)?;
    let Some(instance_id) = instance_id else {
        return Err(Error::Corrupt("the store has no instance id".into()));
    };
    let count = |sql: &str| -> Result<i64> { conn.query_row(sql, [], |r| r.get(0)).map_err(corrupt) };
    Ok(SnapshotFacts {
        instance_id,
        schema,
        last_seq: count("SELECT COALESCE(MAX(seq), 0) FROM changes")?,
        elements: count("SELECT count(*) FROM elements")?.max(0) as u64,
        records: count("SELECT count(*) FROM records")?.max(0) as u64,
    })
}
