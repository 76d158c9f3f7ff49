//! The store: one SQLite database in the data dir, the system of record. This is the only
//! module with SQL.
//!
//! One writer connection (behind a mutex, every write in an immediate transaction) and a
//! small pool of read-only connections; with WAL, readers never wait for the writer. Every
//! write appends to the change log in the same transaction.

mod accounts;
mod agenda;
mod changes;
mod citizens;
mod communecter;
mod coop;
mod elements;
mod export;
mod hub_tokens;
mod instance;
mod mail;
mod moderation;
mod records;
mod settings;
pub mod snapshot;
mod sync;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

use crate::error::{Error, Result};

pub use agenda::{AgendaQuery, BBox, LiveQuery, MapPoint, MapQuery, AGENDA_MAX_LIMIT, LIVE_MAX_LIMIT};
pub use citizens::{
    is_private, membership_link, scope_of, Comment, Context, Invitation, MemberUpdate, Membership, NewInvitation,
    NewPost, Post, Reader, Standing, JOURNAL_MAX_LIMIT, MAX_COMMENTS,
};
pub use coop::{
    parse_when, Action, ActionEdit, ActionStatus, Cooperative, NewAction, NewProposal, Proposal, ProposalEdit,
    ResultsVisibility, Tally, Vote, COOP_MAX_LIMIT, MAX_ASSIGNEES,
};
pub use elements::{slugify, ListQuery, Page, Visibility, MAX_LIMIT};
pub use hub_tokens::{HubToken, HubTokenUse, MAX_HUB_TOKEN_NAME};
pub use mail::QueuedEmail;
pub use moderation::{
    Blocked, Moderated, Moderation, ModerationAction, NewReport, Report, ReportStatus, Reporter, Target, TargetKind,
    TargetState, MAX_REASON_CHARS, MODERATION_MAX_LIMIT,
};

/// Largest page a list may ask for.
pub fn elements_max_limit() -> usize {
    MAX_LIMIT
}
pub use instance::Instance;

const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_initial", include_str!("migrations/0001_initial.sql")),
    ("0002_accounts", include_str!("migrations/0002_accounts.sql")),
    ("0003_agenda_index", include_str!("migrations/0003_agenda_index.sql")),
    ("0004_citizens", include_str!("migrations/0004_citizens.sql")),
    ("0005_coop", include_str!("migrations/0005_coop.sql")),
    ("0006_moderation", include_str!("migrations/0006_moderation.sql")),
    ("0007_sync", include_str!("migrations/0007_sync.sql")),
    ("0008_communecter", include_str!("migrations/0008_communecter.sql")),
    ("0009_hub_tokens", include_str!("migrations/0009_hub_tokens.sql")),
    ("0010_sync_records", include_str!("migrations/0010_sync_records.sql")),
    ("0011_mail", include_str!("migrations/0011_mail.sql")),
    ("0012_read_paths", include_str!("migrations/0012_read_paths.sql")),
];

/// Read connections kept open between requests.
const MAX_IDLE_READERS: usize = 4;

/// The zone of a hub that names none: CoPi is French first.
pub const DEFAULT_ZONE: &str = "Europe/Paris";

/// File name of the database inside the data dir.
pub const DB_FILE: &str = "copi.db";

pub struct Store {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    instance: Instance,
    /// The zone civil times are read in when a document names none.
    zone: jiff::tz::TimeZone,
    /// Woken after every committed write (the indexer, sync).
    subscribers: Mutex<Vec<std::sync::mpsc::SyncSender<()>>>,
    /// Bumped after every committed write: caches of rendered pages compare it.
    generation: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .field("instance", &self.instance)
            .finish()
    }
}

/// Connection settings chosen for an SD card that may lose power at any moment:
/// WAL (readers don't block the writer, a torn write is rolled back at the next open) and
/// `synchronous = FULL`, so that a write acknowledged to a client has reached the card
/// (NORMAL would keep the database consistent but could forget the last transactions).
fn configure(conn: &Connection) -> Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA cache_size = -2000;
         PRAGMA temp_store = MEMORY;",
    )?;
    Ok(())
}

impl Store {
    /// Opens (creating if needed) the store in `data_dir`, applies pending migrations and
    /// checks the instance id.
    pub fn open(data_dir: &Path) -> Result<Store> {
        std::fs::create_dir_all(data_dir)
            .map_err(Error::io(format!("cannot create data dir {}", data_dir.display())))?;
        let path = data_dir.join(DB_FILE);
        let mut writer = Connection::open(&path)?;
        configure(&writer)?;
        migrate(&mut writer)?;
        let instance = instance::ensure(&writer, data_dir, &path)?;
        Ok(Store {
            path,
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
            instance,
            zone: jiff::tz::TimeZone::get(DEFAULT_ZONE).unwrap_or(jiff::tz::TimeZone::UTC),
            subscribers: Mutex::new(Vec::new()),
            generation: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// Sets the zone in which civil times without a zone are read.
    pub fn with_zone(mut self, zone: jiff::tz::TimeZone) -> Store {
        self.zone = zone;
        self
    }

    pub fn zone(&self) -> &jiff::tz::TimeZone {
        &self.zone
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn instance(&self) -> &Instance {
        &self.instance
    }

    /// Runs `f` on a read-only connection.
    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let pooled = self.readers.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match pooled {
            Some(c) => c,
            None => {
                let c = Connection::open_with_flags(
                    &self.path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
                )?;
                c.busy_timeout(std::time::Duration::from_secs(10))?;
                c.execute_batch("PRAGMA cache_size = -1000; PRAGMA foreign_keys = ON;")?;
                c
            }
        };
        let out = f(&conn);
        let mut pool = self.readers.lock().unwrap_or_else(|e| e.into_inner());
        if pool.len() < MAX_IDLE_READERS {
            pool.push(conn);
        }
        out
    }

    /// Runs `f` in an immediate write transaction, committed if `f` succeeds and rolled
    /// back (changing nothing) if it fails.
    pub fn write<T>(&self, f: impl FnOnce(&Transaction) -> Result<T>) -> Result<T> {
        let mut conn = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let out = Self::transaction(&mut conn, f).map_err(|e| classify_write_error(e, || self.is_read_only()))?;
        drop(conn);
        self.generation.fetch_add(1, std::sync::atomic::Ordering::Release);
        let mut subscribers = self.subscribers.lock().unwrap_or_else(|e| e.into_inner());
        // A full channel already holds a wake-up; a closed one is forgotten.
        subscribers.retain(|s| !matches!(s.try_send(()), Err(std::sync::mpsc::TrySendError::Disconnected(_))));
        Ok(out)
    }

    fn transaction<T>(conn: &mut Connection, f: impl FnOnce(&Transaction) -> Result<T>) -> Result<T> {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Whether the data dir's filesystem refuses writes now: the kernel remounts a card's
    /// ext4 read-only after I/O errors. Opening the database for writing tells, and writes
    /// nothing.
    pub fn is_read_only(&self) -> bool {
        matches!(
            std::fs::OpenOptions::new().append(true).open(&self.path),
            Err(e) if e.kind() == std::io::ErrorKind::ReadOnlyFilesystem
        )
    }

    /// A number that changes after every committed write of this process.
    pub fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::Acquire)
    }

    /// A channel that receives a wake-up after writes (several writes may share one).
    pub fn subscribe(&self) -> std::sync::mpsc::Receiver<()> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.subscribers.lock().unwrap_or_else(|e| e.into_inner()).push(tx);
        rx
    }

    /// Verifies the database file and the facts stored beside each document; repairs what
    /// it can (facts recomputed from documents, missing reciprocal links noted).
    pub fn check(&self, repair: bool) -> Result<CheckReport> {
        let mut report = CheckReport::default();
        let integrity: String = self.read(|c| Ok(c.query_row("PRAGMA integrity_check", [], |r| r.get(0))?))?;
        if integrity != "ok" {
            report.problems.push(format!("SQLite integrity check: {integrity}"));
            return Ok(report);
        }
        let fk: i64 =
            self.read(|c| Ok(c.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| r.get(0))?))?;
        if fk > 0 {
            report.problems.push(format!("{fk} rows break foreign keys"));
        }
        elements::check_facts(self, repair, &mut report)?;
        Ok(report)
    }
}

/// A failed write on a read-only filesystem says so (SQLite only reports an I/O error),
/// so that clients and the admin get "read-only" rather than "the data store failed".
fn classify_write_error(e: Error, read_only: impl Fn() -> bool) -> Error {
    match e {
        Error::Store(_) | Error::Io { .. } if read_only() => Error::StorageReadOnly,
        e => e,
    }
}

/// What `copi check` found.
#[derive(Debug, Default)]
pub struct CheckReport {
    pub elements: usize,
    pub records: usize,
    pub problems: Vec<String>,
    pub repaired: Vec<String>,
}

fn migrate(conn: &mut Connection) -> Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT",
    )?;
    for (name, sql) in MIGRATIONS {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let done: bool = tx.query_row(
            "SELECT EXISTS(SELECT 1 FROM schema_migrations WHERE name = ?1)",
            [name],
            |r| r.get(0),
        )?;
        if !done {
            tracing::info!(migration = name, "applying migration");
            tx.execute_batch(sql)?;
            tx.execute(
                "INSERT INTO schema_migrations (name, applied_at) VALUES (?1, ?2)",
                rusqlite::params![name, crate::model::now_seconds()],
            )?;
        }
        tx.commit()?;
    }
    let known: Vec<String> = {
        let mut stmt = conn.prepare("SELECT name FROM schema_migrations")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        rows.collect::<Result<_, _>>()?
    };
    if let Some(unknown) = known.iter().find(|n| !MIGRATIONS.iter().any(|(m, _)| m == n)) {
        return Err(Error::Corrupt(format!(
            "the data dir was written by a newer CoPi (migration {unknown}); update CoPi before opening it"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
