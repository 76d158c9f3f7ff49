//! Backups: `copi backup` writes one archive of a hub, `copi restore` puts it back into an
//! empty data dir (a fresh card).
//!
//! The archive is a gzipped tar. Its first entry is `copi-backup.json`, the [`Manifest`]:
//! format and version, the CoPi that wrote it, the source's instance id, when, and the size
//! and SHA-256 of every other entry. Then come `store/copi.db` (a consistent snapshot of the
//! store taken with SQLite's online backup API, see [`crate::store::snapshot`]),
//! `config/copi.toml` (the config file the backup ran with, if any) and `uploads/…` (the
//! data dir's uploads folder). The search index and the WAL are not in it: the snapshot
//! holds every committed write, and the index is rebuilt from the store.
//!
//! A restore reads and checks the whole archive into a temporary folder beside the data dir
//! before it moves anything into place, so a refused archive leaves the data dir as it was.
//! The restored store takes a new instance id; the backup's is kept as its previous one.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::search::SearchIndex;
use crate::store::{snapshot, Instance, Store, Visibility, DB_FILE};

/// Format name and version written in the manifest.
pub const FORMAT: &str = "copi-backup";
pub const FORMAT_VERSION: u64 = 1;
/// The archive's first entry.
pub const MANIFEST: &str = "copi-backup.json";
pub const STORE_ENTRY: &str = "store/copi.db";
pub const CONFIG_ENTRY: &str = "config/copi.toml";
/// Folder of uploaded files inside the data dir (and of their entries in the archive).
pub const UPLOADS_DIR: &str = "uploads";
/// Where a restore writes the backup's config file, inside the data dir: the admin decides
/// where it goes (on the appliance, the boot partition).
pub const RESTORED_CONFIG: &str = "copi.toml.restored";

/// Largest manifest read: a few hundred bytes per entry.
const MAX_MANIFEST_BYTES: u64 = 64 << 20;

/// What the archive holds, written as its first entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub version: u64,
    /// The CoPi that wrote the backup.
    pub copi_version: String,
    /// The instance id of the hub backed up.
    pub instance_id: String,
    /// When the backup was made, RFC 3339 (informational: a Pi may have no clock).
    pub created: String,
    /// Where the config file was read from, if the backup had one.
    #[serde(default)]
    pub config_source: Option<String>,
    pub store: StoreFacts,
    /// Every entry after the manifest, in archive order.
    pub entries: Vec<ManifestEntry>,
}

/// What the store snapshot holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoreFacts {
    /// Migrations applied.
    pub schema: Vec<String>,
    /// The last change sequence in the snapshot.
    pub last_seq: i64,
    pub elements: u64,
    pub records: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestEntry {
    pub path: String,
    pub size: u64,
    /// Lowercase hex.
    pub sha256: String,
}

/// An archive that cannot be restored. The caller adds which archive, and that nothing was
/// changed.
fn refused(reason: impl Into<String>) -> Error {
    Error::Corrupt(reason.into())
}

fn damaged(e: io::Error) -> Error {
    refused(format!("the archive is damaged or truncated ({})", printable(&e)))
}

fn not_an_archive(e: io::Error) -> Error {
    refused(format!("it is not a CoPi backup archive ({})", printable(&e)))
}

/// An error from a decoder, without the raw bytes that some quote from the archive.
fn printable(e: &io::Error) -> String {
    let text = e.to_string();
    let clean: String = text
        .chars()
        .map(|c| if c.is_ascii_graphic() || c == ' ' { c } else { '?' })
        .take(100)
        .collect();
    if clean.chars().filter(|&c| c == '?').count() > 3 {
        // Mostly garbage: keep the words before it.
        let words: String = clean.split('?').next().unwrap_or_default().trim().to_owned();
        format!("{words} …")
    } else {
        clean
    }
}

impl Manifest {
    /// Reads and checks a manifest: our format, a version this CoPi reads, entries that are
    /// safe paths of a CoPi backup, listed once each, with one store.
    pub fn parse(bytes: &[u8]) -> Result<Manifest> {
        let v: Value = serde_json::from_slice(bytes)
            .map_err(|e| refused(format!("its {MANIFEST} is not valid JSON ({e}): not a CoPi backup")))?;
        if v.get("format").and_then(Value::as_str) != Some(FORMAT) {
            return Err(refused(format!(
                "its {MANIFEST} does not name the {FORMAT} format: not a CoPi backup"
            )));
        }
        let version = v.get("version").and_then(Value::as_u64).unwrap_or(0);
        if version > FORMAT_VERSION {
            return Err(refused(format!(
                "it was written by a newer CoPi (backup format version {version}, this CoPi reads \
                 version {FORMAT_VERSION}): update CoPi to restore it"
            )));
        }
        if version == 0 {
            return Err(refused(format!("its {MANIFEST} has no valid format version")));
        }
        let manifest: Manifest =
            serde_json::from_value(v).map_err(|e| refused(format!("its {MANIFEST} is malformed ({e})")))?;
        manifest.validate()?;
        Ok(manifest)
    }

    fn validate(&self) -> Result<()> {
        let mut seen = BTreeSet::new();
        for e in &self.entries {
            data_path(&e.path).map_err(refused)?;
            if !seen.insert(e.path.as_str()) {
                return Err(refused(format!("its {MANIFEST} lists {} twice", e.path)));
            }
            if e.sha256.len() != 64
                || !e
                    .sha256
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            {
                return Err(refused(format!("its {MANIFEST} gives {} a malformed SHA-256", e.path)));
            }
        }
        if !seen.contains(STORE_ENTRY) {
            return Err(refused(format!("its {MANIFEST} lists no {STORE_ENTRY}")));
        }
        Ok(())
    }
}

/// Where an archive entry goes, relative to the data dir; `Err` names what is wrong with it.
/// Only the parts of a backup are accepted, as relative paths without `.`, `..` or empty
/// components, so nothing can be written outside the data dir.
fn data_path(entry: &str) -> std::result::Result<PathBuf, String> {
    let parts: Vec<&str> = entry.split('/').collect();
    if entry.contains(['\\', '\0']) || parts.iter().any(|p| p.is_empty() || *p == "." || *p == "..") {
        return Err(format!(
            "entry {entry:?} has an unsafe path (absolute, or with `..`, `.` or empty parts)"
        ));
    }
    match parts[..] {
        ["store", "copi.db"] => Ok(PathBuf::from(DB_FILE)),
        ["config", "copi.toml"] => Ok(PathBuf::from(RESTORED_CONFIG)),
        ["uploads", ref rest @ ..] if !rest.is_empty() => {
            Ok(rest.iter().fold(PathBuf::from(UPLOADS_DIR), |p, c| p.join(c)))
        }
        _ => Err(format!("entry {entry:?} is not a part of a CoPi backup")),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Size and SHA-256 of a file.
fn hash_file(path: &Path) -> Result<(u64, String)> {
    let mut file = File::open(path).map_err(Error::io(format!("cannot open {}", path.display())))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = file
            .read(&mut buf)
            .map_err(Error::io(format!("cannot read {}", path.display())))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok((size, hex(&hasher.finalize())))
}

/// Reads exactly `left` bytes of a file into the archive, hashing them: a file that shrank
/// since it was hashed is an error (the tar header already announced its size).
struct Checked<'a, R> {
    inner: R,
    left: u64,
    hasher: Sha256,
    name: &'a Path,
}

impl<R: Read> Read for Checked<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 || buf.is_empty() {
            return Ok(0);
        }
        let max = buf.len().min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..max])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("{} shrank during the backup; run the backup again", self.name.display()),
            ));
        }
        self.hasher.update(&buf[..n]);
        self.left -= n as u64;
        Ok(n)
    }
}

/// Files under `dir` (regular files only, sorted), as archive names under `prefix`.
fn list_files(dir: &Path, prefix: &str, out: &mut Vec<(String, PathBuf)>) -> Result<()> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .map_err(Error::io(format!("cannot read {}", dir.display())))?
        .collect::<io::Result<_>>()
        .map_err(Error::io(format!("cannot read {}", dir.display())))?;
    names.sort_by_key(|e| e.file_name());
    for e in names {
        let path = e.path();
        let Some(name) = e.file_name().to_str().map(str::to_owned) else {
            return Err(Error::Config(format!(
                "cannot back up {}: its name is not UTF-8",
                path.display()
            )));
        };
        let kind = e
            .file_type()
            .map_err(Error::io(format!("cannot read {}", path.display())))?;
        let entry = format!("{prefix}/{name}");
        if kind.is_dir() {
            list_files(&path, &entry, out)?;
        } else if kind.is_file() {
            out.push((entry, path));
        } else {
            tracing::warn!(path = %path.display(), "not a regular file: left out of the backup");
        }
    }
    Ok(())
}

/// Best effort: some filesystems (the FAT boot partition) cannot sync a folder.
fn sync_dir(dir: &Path) {
    if let Ok(f) = File::open(dir) {
        let _ = f.sync_all();
    }
}

/// What `copi backup` wrote.
#[derive(Debug, Clone)]
pub struct BackupSummary {
    pub manifest: Manifest,
    pub uploads: usize,
    /// Size of the archive.
    pub bytes: u64,
}

/// Writes a backup of the hub in `data_dir` (which may be serving and writing meanwhile) to
/// `out`, atomically: a temporary file beside it, fsynced, then renamed.
pub fn create(data_dir: &Path, config_file: Option<&Path>, out: &Path) -> Result<BackupSummary> {
    let db = data_dir.join(DB_FILE);
    if !db.is_file() {
        return Err(Error::Config(format!(
            "there is no CoPi store in {}: nothing to back up",
            data_dir.display()
        )));
    }
    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let Some(out_name) = out.file_name().and_then(|n| n.to_str()) else {
        return Err(Error::BadRequest(format!("--out {} names no file", out.display())));
    };
    let uploads = data_dir.join(UPLOADS_DIR);
    if let (Ok(d), Ok(u)) = (std::fs::canonicalize(&dir), std::fs::canonicalize(&uploads)) {
        if d.starts_with(u) {
            return Err(Error::BadRequest(
                "--out must not be inside the uploads folder it backs up".into(),
            ));
        }
    }
    let work = tempfile::Builder::new()
        .prefix(".copi-backup-")
        .tempdir_in(&dir)
        .map_err(Error::io(format!(
            "cannot create a temporary folder in {}",
            dir.display()
        )))?;
    let snap = work.path().join(DB_FILE);
    let facts = snapshot::snapshot(&db, &snap)?;

    let mut files = vec![(STORE_ENTRY.to_owned(), snap)];
    if let Some(c) = config_file {
        files.push((CONFIG_ENTRY.to_owned(), c.to_owned()));
    }
    if uploads.is_dir() {
        list_files(&uploads, UPLOADS_DIR, &mut files)?;
    }
    let mut entries = Vec::with_capacity(files.len());
    for (name, path) in &files {
        let (size, sha256) = hash_file(path)?;
        entries.push(ManifestEntry {
            path: name.clone(),
            size,
            sha256,
        });
    }
    let now = jiff::Timestamp::now();
    let manifest = Manifest {
        format: FORMAT.into(),
        version: FORMAT_VERSION,
        copi_version: env!("CARGO_PKG_VERSION").into(),
        instance_id: facts.instance_id,
        created: now.to_string(),
        config_source: config_file.map(|c| {
            std::path::absolute(c)
                .unwrap_or_else(|_| c.to_owned())
                .display()
                .to_string()
        }),
        store: StoreFacts {
            schema: facts.schema,
            last_seq: facts.last_seq,
            elements: facts.elements,
            records: facts.records,
        },
        entries,
    };

    // The archive may hold the config's secrets: the temporary file is private (0600) and
    // the rename keeps that.
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{out_name}."))
        .suffix(".partial")
        .tempfile_in(&dir)
        .map_err(Error::io(format!(
            "cannot create a temporary file in {}",
            dir.display()
        )))?;
    let write_err = || Error::io(format!("cannot write {}", out.display()));
    let mtime = u64::try_from(now.as_second()).unwrap_or(0);
    let gz = flate2::write::GzEncoder::new(BufWriter::new(tmp.as_file()), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| Error::Corrupt(e.to_string()))?;
    append(&mut tar, MANIFEST, json.len() as u64, 0o644, mtime, &json[..]).map_err(write_err())?;
    for ((name, path), entry) in files.iter().zip(&manifest.entries) {
        let file = File::open(path).map_err(Error::io(format!("cannot open {}", path.display())))?;
        let mut reader = Checked {
            inner: BufReader::new(file),
            left: entry.size,
            hasher: Sha256::new(),
            name: path,
        };
        let mode = if name == CONFIG_ENTRY { 0o600 } else { 0o644 };
        append(&mut tar, name, entry.size, mode, mtime, &mut reader).map_err(write_err())?;
        if hex(&reader.hasher.finalize()) != entry.sha256 {
            return Err(Error::Conflict(format!(
                "{} changed during the backup; run the backup again",
                path.display()
            )));
        }
    }
    let gz = tar.into_inner().map_err(write_err())?;
    let buffered = gz.finish().map_err(write_err())?;
    buffered.into_inner().map_err(|e| write_err()(e.into_error()))?;
    tmp.as_file().sync_all().map_err(write_err())?;
    let bytes = tmp.as_file().metadata().map_err(write_err())?.len();
    tmp.persist(out)
        .map_err(|e| Error::io(format!("cannot rename to {}", out.display()))(e.error))?;
    sync_dir(&dir);
    drop(work);
    let uploads = files.iter().filter(|(n, _)| n.starts_with("uploads/")).count();
    Ok(BackupSummary {
        manifest,
        uploads,
        bytes,
    })
}

fn append<W: Write>(
    tar: &mut tar::Builder<W>,
    name: &str,
    size: u64,
    mode: u32,
    mtime: u64,
    data: impl Read,
) -> io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_size(size);
    header.set_mode(mode);
    header.set_mtime(mtime);
    tar.append_data(&mut header, name, data)
}

/// What `copi restore` did.
#[derive(Debug, Clone)]
pub struct RestoreSummary {
    pub manifest: Manifest,
    /// The restored hub's instance: a new id, the backup's as `previous`.
    pub instance: Instance,
    pub elements: u64,
    pub uploads: usize,
    /// Where the backup's config file was written, if it had one.
    pub config: Option<PathBuf>,
    /// Elements indexed for search.
    pub indexed: usize,
}

#[derive(Debug, PartialEq, Eq)]
enum Target {
    Absent,
    /// Empty but for `lost+found` (a freshly formatted data partition).
    Empty,
}

fn target(data_dir: &Path) -> Result<Target> {
    if data_dir.exists() && !data_dir.is_dir() {
        return Err(Error::Conflict(format!(
            "{} is not a folder: nothing was changed",
            data_dir.display()
        )));
    }
    let entries = match std::fs::read_dir(data_dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Target::Absent),
        Err(e) => return Err(Error::io(format!("cannot read {}", data_dir.display()))(e)),
    };
    for e in entries {
        let e = e.map_err(Error::io(format!("cannot read {}", data_dir.display())))?;
        if e.file_name() != "lost+found" {
            return Err(Error::Conflict(format!(
                "the data dir {} is not empty ({} is there): a backup restores only into an empty \
                 or absent data dir; nothing was changed",
                data_dir.display(),
                e.file_name().to_string_lossy()
            )));
        }
    }
    Ok(Target::Empty)
}

#[cfg(unix)]
fn same_device(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev(),
        _ => true,
    }
}

#[cfg(not(unix))]
fn same_device(_: &Path, _: &Path) -> bool {
    true
}

/// Restores the archive `archive` into `data_dir`, which must be absent or empty. The whole
/// archive is read and checked first (into a temporary folder beside the data dir, or inside
/// it when it is a mount point); only then is anything moved into place. The search index is
/// rebuilt from the restored store, calling `progress(done, total)` on the way.
pub fn restore(archive: &Path, data_dir: &Path, mut progress: impl FnMut(usize, u64)) -> Result<RestoreSummary> {
    let not_restored = |e: Error| match e {
        Error::Corrupt(reason) => Error::Corrupt(format!(
            "cannot restore {}: {reason}; nothing was changed",
            archive.display()
        )),
        Error::Io { context, source } => Error::Io {
            context: format!("cannot restore {} (nothing was changed): {context}", archive.display()),
            source,
        },
        other => other,
    };
    let state = target(data_dir)?;
    let file = File::open(archive).map_err(Error::io(format!("cannot open {}", archive.display())))?;
    let data_dir =
        std::path::absolute(data_dir).map_err(Error::io(format!("cannot resolve {}", data_dir.display())))?;
    let Some(parent) = data_dir.parent() else {
        return Err(Error::Config("the data dir cannot be the root folder".into()));
    };
    std::fs::create_dir_all(parent).map_err(Error::io(format!("cannot create {}", parent.display())))?;
    // Beside the data dir, so that moving into place is a rename; inside it when it is a
    // mount point (the appliance's data partition), for the same reason.
    let staging_in = if state == Target::Empty && !same_device(&data_dir, parent) {
        data_dir.clone()
    } else {
        parent.to_owned()
    };
    let staging = tempfile::Builder::new()
        .prefix(".copi-restore-")
        .tempdir_in(&staging_in)
        .map_err(Error::io(format!(
            "cannot create a temporary folder in {}",
            staging_in.display()
        )))?;
    let staged = staging.path().join("data");
    std::fs::create_dir(&staged).map_err(Error::io(format!("cannot create {}", staged.display())))?;

    let (manifest, uploads) = unpack(file, &staged).map_err(not_restored)?;
    let db = staged.join(DB_FILE);
    let facts = snapshot::verify_copy(&db).map_err(not_restored)?;
    if facts.instance_id != manifest.instance_id {
        return Err(not_restored(refused(format!(
            "its store belongs to instance {}, its manifest names {}",
            facts.instance_id, manifest.instance_id
        ))));
    }
    snapshot::forget_origin(&db)?;
    sync_tree(&staged);

    match state {
        Target::Absent => std::fs::rename(&staged, &data_dir).map_err(Error::io(format!(
            "cannot move the restored data to {}",
            data_dir.display()
        )))?,
        Target::Empty => {
            let entries: Vec<_> = std::fs::read_dir(&staged)
                .map_err(Error::io(format!("cannot read {}", staged.display())))?
                .collect::<io::Result<_>>()
                .map_err(Error::io(format!("cannot read {}", staged.display())))?;
            for e in entries {
                let to = data_dir.join(e.file_name());
                std::fs::rename(e.path(), &to)
                    .map_err(Error::io(format!("cannot move the restored data to {}", to.display())))?;
            }
        }
    }
    sync_dir(&data_dir);
    sync_dir(parent);
    drop(staging);

    let store = Store::open(&data_dir)?;
    let elements: u64 = store.count_elements(Visibility::All)?.values().sum();
    let index = SearchIndex::recreate(&data_dir)?;
    let indexed = index.rebuild(&store, |n| progress(n, elements))?;
    let config = manifest
        .entries
        .iter()
        .any(|e| e.path == CONFIG_ENTRY)
        .then(|| data_dir.join(RESTORED_CONFIG));
    Ok(RestoreSummary {
        instance: store.instance().clone(),
        manifest,
        elements,
        uploads,
        config,
        indexed,
    })
}

fn sync_tree(dir: &Path) {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                sync_tree(&e.path());
            }
        }
    }
    sync_dir(dir);
}

fn describe(kind: tar::EntryType) -> &'static str {
    match kind {
        tar::EntryType::Symlink => "a symbolic link",
        tar::EntryType::Link => "a hard link",
        tar::EntryType::Directory => "a folder",
        _ => "a special file",
    }
}

/// Reads the whole archive into `staged`, checking it against its manifest. Returns the
/// manifest and the number of uploaded files.
fn unpack(file: File, staged: &Path) -> Result<(Manifest, usize)> {
    let mut reader = BufReader::with_capacity(64 * 1024, file);
    let gzipped = reader.fill_buf().map_err(damaged)?.starts_with(&[0x1f, 0x8b]);
    let input: Box<dyn Read> = if gzipped {
        Box::new(flate2::bufread::GzDecoder::new(reader))
    } else {
        Box::new(reader)
    };
    let mut archive = tar::Archive::new(input);
    let mut manifest: Option<Manifest> = None;
    let mut expected: BTreeMap<String, ManifestEntry> = BTreeMap::new();
    let mut done = BTreeSet::new();
    let mut uploads = 0;
    let entries = archive.entries().map_err(not_an_archive)?;
    for entry in entries {
        let mut entry = entry.map_err(|e| match manifest {
            None => not_an_archive(e),
            Some(_) => damaged(e),
        })?;
        let name =
            String::from_utf8(entry.path_bytes().into_owned()).map_err(|_| refused("an entry's name is not UTF-8"))?;
        let kind = entry.header().entry_type();
        if manifest.is_none() {
            if name != MANIFEST {
                return Err(refused(format!("it does not begin with {MANIFEST}: not a CoPi backup")));
            }
            if !kind.is_file() {
                return Err(refused(format!("its {MANIFEST} is {}", describe(kind))));
            }
            if entry.size() > MAX_MANIFEST_BYTES {
                return Err(refused(format!("its {MANIFEST} is too large")));
            }
            let mut bytes = Vec::new();
            (&mut entry)
                .take(MAX_MANIFEST_BYTES)
                .read_to_end(&mut bytes)
                .map_err(damaged)?;
            if bytes.len() as u64 != entry.size() {
                return Err(refused(format!("its {MANIFEST} is truncated")));
            }
            let m = Manifest::parse(&bytes)?;
            expected = m.entries.iter().map(|e| (e.path.clone(), e.clone())).collect();
            manifest = Some(m);
            continue;
        }
        let rel = data_path(&name).map_err(refused)?;
        if !kind.is_file() {
            return Err(refused(format!(
                "entry {name:?} is {} (only regular files are restored)",
                describe(kind)
            )));
        }
        let Some(listed) = expected.remove(&name) else {
            return Err(refused(if done.contains(&name) {
                format!("entry {name:?} appears twice")
            } else {
                format!("entry {name:?} is not listed in its {MANIFEST}")
            }));
        };
        if entry.size() != listed.size {
            return Err(refused(format!(
                "entry {name:?} is {} bytes, its {MANIFEST} says {}",
                entry.size(),
                listed.size
            )));
        }
        let target = staged.join(&rel);
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir).map_err(Error::io(format!("cannot create {}", dir.display())))?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        if name == CONFIG_ENTRY {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let out = options
            .open(&target)
            .map_err(Error::io(format!("cannot create {}", target.display())))?;
        let mut out = BufWriter::new(out);
        let mut hasher = Sha256::new();
        let mut buf = vec![0; 64 * 1024];
        let mut size = 0u64;
        loop {
            let n = entry.read(&mut buf).map_err(damaged)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n])
                .map_err(Error::io(format!("cannot write {}", target.display())))?;
            size += n as u64;
        }
        let out = out
            .into_inner()
            .map_err(|e| Error::io(format!("cannot write {}", target.display()))(e.into_error()))?;
        if size != listed.size {
            return Err(refused(format!(
                "entry {name:?} is truncated ({size} of {} bytes)",
                listed.size
            )));
        }
        if hex(&hasher.finalize()) != listed.sha256 {
            return Err(refused(format!(
                "entry {name:?} does not match its SHA-256 in {MANIFEST}: the archive is damaged"
            )));
        }
        out.sync_all()
            .map_err(Error::io(format!("cannot write {}", target.display())))?;
        if name.starts_with("uploads/") {
            uploads += 1;
        }
        done.insert(name);
    }
    let Some(manifest) = manifest else {
        return Err(refused(format!("it holds no {MANIFEST}: not a CoPi backup")));
    };
    if let Some(missing) = expected.keys().next() {
        return Err(refused(format!(
            "{missing} is missing: the archive is truncated or incomplete"
        )));
    }
    // Read to the end, so that gzip checks its CRC and length.
    io::copy(&mut archive.into_inner(), &mut io::sink()).map_err(damaged)?;
    Ok((manifest, uploads))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Kind;
    use serde_json::json;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    #[test]
    fn entry_paths() {
        fn check(entry: &str, expected: std::result::Result<&str, &str>) {
            match (data_path(entry), expected) {
                (Ok(p), Ok(want)) => assert_eq!(p, Path::new(want), "{entry}"),
                (Err(e), Err(want)) => assert!(e.contains(want), "{entry}: {e}"),
                (got, want) => panic!("{entry}: got {got:?}, expected {want:?}"),
            }
        }
        check("store/copi.db", Ok("copi.db"));
        check("config/copi.toml", Ok("copi.toml.restored"));
        check("uploads/photo.jpg", Ok("uploads/photo.jpg"));
        check("uploads/2026/05/a b.png", Ok("uploads/2026/05/a b.png"));
        check("../copi.db", Err("unsafe"));
        check("uploads/../../etc/passwd", Err("unsafe"));
        check("uploads/a/../b", Err("unsafe"));
        check("/etc/passwd", Err("unsafe"));
        check("/store/copi.db", Err("unsafe"));
        check("uploads//a", Err("unsafe"));
        check("uploads/./a", Err("unsafe"));
        check("uploads/a/", Err("unsafe"));
        check("uploads\\..\\a", Err("unsafe"));
        check("", Err("unsafe"));
        check("uploads", Err("not a part"));
        check("index/meta.json", Err("not a part"));
        check("copi.db-wal", Err("not a part"));
        check("config/other.toml", Err("not a part"));
        check(MANIFEST, Err("not a part"));
    }

    fn manifest_json() -> Value {
        json!({
            "format": FORMAT, "version": 1, "copi_version": "0.1.0", "instance_id": "abc",
            "created": "2026-05-01T10:00:00Z", "config_source": null,
            "store": {"schema": ["0001_initial"], "last_seq": 3, "elements": 1, "records": 0},
            "entries": [{"path": STORE_ENTRY, "size": 4, "sha256": "0".repeat(64)}],
        })
    }

    #[test]
    fn manifests_are_checked() {
        fn check(edit: impl FnOnce(&mut Value), expected: Option<&str>) {
            let mut v = manifest_json();
            edit(&mut v);
            match (Manifest::parse(&serde_json::to_vec(&v).unwrap()), expected) {
                (Ok(m), None) => assert_eq!(m.instance_id, "abc"),
                (Err(e), Some(want)) => assert!(e.to_string().contains(want), "{e}"),
                (got, want) => panic!("{v}: got {got:?}, expected {want:?}"),
            }
        }
        check(|_| {}, None);
        // Fields a later 1.x may add are ignored.
        check(|v| v["extra"] = json!(1), None);
        check(|v| v["format"] = json!("copi-bundle"), Some("not a CoPi backup"));
        check(|v| *v = json!({"elements": []}), Some("not a CoPi backup"));
        check(|v| v["version"] = json!(2), Some("newer CoPi"));
        check(|v| v["version"] = json!(0), Some("no valid format version"));
        check(|v| v["version"] = json!("1"), Some("no valid format version"));
        check(|v| v["entries"] = json!([]), Some("lists no store/copi.db"));
        check(|v| v["entries"][0]["sha256"] = json!("xyz"), Some("malformed SHA-256"));
        check(
            |v| v["entries"][0]["sha256"] = json!("A".repeat(64)),
            Some("malformed SHA-256"),
        );
        check(|v| v["entries"][0]["size"] = json!(-1), Some("malformed"));
        check(
            |v| v.as_object_mut().unwrap().remove("instance_id").map(drop).unwrap(),
            Some("malformed"),
        );
        check(
            |v| {
                let e = v["entries"][0].clone();
                v["entries"].as_array_mut().unwrap().push(e);
            },
            Some("twice"),
        );
        check(
            |v| {
                v["entries"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"path": "uploads/../../x", "size": 1, "sha256": "0".repeat(64)}))
            },
            Some("unsafe path"),
        );
        assert!(Manifest::parse(b"{ not json")
            .unwrap_err()
            .to_string()
            .contains("not valid JSON"));
    }

    /// A hub with a few elements, uploads and a config file.
    struct Hub {
        dir: tempfile::TempDir,
    }

    impl Hub {
        fn new() -> Hub {
            let hub = Hub {
                dir: tempfile::tempdir().unwrap(),
            };
            let store = Store::open(&hub.data()).unwrap();
            for i in 0..5 {
                let doc = json!({"name": format!("Jardin partagé {i}"), "type": "NGO", "tags": ["jardin"]});
                store
                    .create_element(Kind::Organization, doc.as_object().unwrap().clone(), None)
                    .unwrap();
            }
            let uploads = hub.data().join(UPLOADS_DIR);
            std::fs::create_dir_all(uploads.join("2026/05")).unwrap();
            std::fs::write(uploads.join("logo.png"), b"\x89PNG not really").unwrap();
            std::fs::write(uploads.join("2026/05/affiche.pdf"), vec![7u8; 100_000]).unwrap();
            std::fs::write(hub.config(), "[hub]\nname = \"Crest\"\n").unwrap();
            hub
        }

        fn data(&self) -> PathBuf {
            self.dir.path().join("data")
        }

        fn config(&self) -> PathBuf {
            self.dir.path().join("copi.toml")
        }

        fn backup(&self) -> PathBuf {
            let out = self.dir.path().join("hub.copi-backup.tar.gz");
            create(&self.data(), Some(&self.config()), &out).unwrap();
            out
        }
    }

    fn names(store: &Store) -> Vec<String> {
        let mut out = Vec::new();
        store
            .for_each_element(|e| {
                out.push(serde_json::to_string(&e.doc).unwrap());
                Ok(())
            })
            .unwrap();
        out.sort();
        out
    }

    #[test]
    fn backup_then_restore_gives_the_same_hub_with_a_new_instance_id() {
        let hub = Hub::new();
        let out = hub.backup();
        let source = Store::open(&hub.data()).unwrap();

        let target = tempfile::tempdir().unwrap();
        let data = target.path().join("restored");
        let summary = restore(&out, &data, |_, _| {}).unwrap();
        assert_eq!(summary.manifest.instance_id, source.instance().id);
        assert_eq!(summary.elements, 5);
        assert_eq!(summary.indexed, 5);
        assert_eq!(summary.uploads, 2);
        assert_eq!(summary.config, Some(data.join(RESTORED_CONFIG)));
        assert_ne!(summary.instance.id, source.instance().id);
        assert_eq!(
            summary.instance.previous.as_deref(),
            Some(source.instance().id.as_str())
        );

        let restored = Store::open(&data).unwrap();
        assert_eq!(restored.instance().id, summary.instance.id, "the new id is kept");
        assert_eq!(names(&restored), names(&source));
        assert!(restored.check(false).unwrap().problems.is_empty());
        assert_eq!(
            std::fs::read(data.join("uploads/2026/05/affiche.pdf")).unwrap(),
            vec![7u8; 100_000]
        );
        assert_eq!(
            std::fs::read(data.join("uploads/logo.png")).unwrap(),
            b"\x89PNG not really"
        );
        assert_eq!(
            std::fs::read_to_string(data.join(RESTORED_CONFIG)).unwrap(),
            "[hub]\nname = \"Crest\"\n"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(data.join(RESTORED_CONFIG))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "the config may hold secrets");
            let mode = std::fs::metadata(&out).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "the archive may hold secrets");
        }
        // The index was rebuilt.
        let index = SearchIndex::open(&data).unwrap();
        assert_eq!(index.doc_count(), 5);
        // No WAL, no index, no temporary files in the archive or left behind.
        let entries = read_raw(&out);
        let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(
            names,
            [
                MANIFEST,
                STORE_ENTRY,
                CONFIG_ENTRY,
                "uploads/2026/05/affiche.pdf",
                "uploads/logo.png"
            ]
        );
        assert_no_leftovers(target.path());
        assert_no_leftovers(hub.dir.path());
    }

    #[test]
    fn restore_into_an_empty_existing_dir_and_without_uploads_or_config() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("data")).unwrap();
        drop(store);
        let out = dir.path().join("b.tar.gz");
        let summary = create(&dir.path().join("data"), None, &out).unwrap();
        assert_eq!(summary.manifest.entries.len(), 1);
        assert_eq!(summary.manifest.config_source, None);
        let data = dir.path().join("empty");
        std::fs::create_dir_all(data.join("lost+found")).unwrap();
        let summary = restore(&out, &data, |_, _| {}).unwrap();
        assert_eq!((summary.elements, summary.uploads, summary.config), (0, 0, None));
        assert!(data.join(DB_FILE).is_file());
        assert_no_leftovers(dir.path());
    }

    #[test]
    fn a_non_empty_data_dir_is_refused_and_left_alone() {
        let hub = Hub::new();
        let out = hub.backup();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"mine").unwrap();
        let err = restore(&out, dir.path(), |_, _| {}).unwrap_err().to_string();
        assert!(err.contains("not empty") && err.contains("notes.txt"), "{err}");
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, ["notes.txt"]);
        // Nor does a backup restore over the hub it came from.
        let err = restore(&out, &hub.data(), |_, _| {}).unwrap_err().to_string();
        assert!(err.contains("not empty"), "{err}");
    }

    #[test]
    fn backup_needs_a_store() {
        let dir = tempfile::tempdir().unwrap();
        let err = create(&dir.path().join("none"), None, &dir.path().join("b.tar.gz")).unwrap_err();
        assert!(err.to_string().contains("nothing to back up"), "{err}");
        assert!(!dir.path().join("none").exists());
    }

    #[test]
    fn a_snapshot_taken_while_writing_is_consistent() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let stop = Arc::new(AtomicBool::new(false));
        let writer = {
            let (store, stop) = (store.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let doc = json!({"name": format!("Asso {n}"), "type": "NGO", "description": "x".repeat(n % 3000)});
                    store
                        .create_element(Kind::Organization, doc.as_object().unwrap().clone(), None)
                        .unwrap();
                    n += 1;
                }
                n
            })
        };
        let mut last = 0;
        for i in 0..5 {
            std::thread::sleep(std::time::Duration::from_millis(30));
            let copy = dir.path().join(format!("snap-{i}.db"));
            let facts = snapshot::snapshot(store.path(), &copy).unwrap();
            assert!(facts.elements >= last);
            assert_eq!(facts.last_seq as u64, facts.elements, "one change per element created");
            assert_eq!(snapshot::verify_copy(&copy).unwrap(), facts);
            assert!(!copy.with_extension("db-wal").exists());
            last = facts.elements;
        }
        stop.store(true, Ordering::Relaxed);
        let written = writer.join().unwrap();
        assert!(last > 0 && written as u64 >= last);
    }

    fn assert_no_leftovers(dir: &Path) {
        let mut stack = vec![dir.to_owned()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let e = e.unwrap();
                let name = e.file_name().to_string_lossy().into_owned();
                assert!(
                    !name.starts_with(".copi-") && !name.ends_with(".partial"),
                    "{} left behind",
                    e.path().display()
                );
                if e.file_type().unwrap().is_dir() {
                    stack.push(e.path());
                }
            }
        }
    }

    /// An archive entry as bytes, to write archives a CoPi would not.
    #[derive(Clone)]
    struct Raw {
        name: String,
        kind: tar::EntryType,
        data: Vec<u8>,
    }

    fn read_raw(path: &Path) -> Vec<Raw> {
        let gz = flate2::read::GzDecoder::new(File::open(path).unwrap());
        let mut archive = tar::Archive::new(gz);
        archive
            .entries()
            .unwrap()
            .map(|e| {
                let mut e = e.unwrap();
                let mut data = Vec::new();
                e.read_to_end(&mut data).unwrap();
                Raw {
                    name: String::from_utf8(e.path_bytes().into_owned()).unwrap(),
                    kind: e.header().entry_type(),
                    data,
                }
            })
            .collect()
    }

    fn tar_of(entries: &[Raw]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for e in entries {
            let mut h = tar::Header::new_gnu();
            let name = e.name.as_bytes();
            h.as_old_mut().name[..name.len()].copy_from_slice(name);
            h.set_entry_type(e.kind);
            h.set_size(e.data.len() as u64);
            h.set_mode(0o644);
            if e.kind == tar::EntryType::Symlink {
                h.set_link_name_literal("/etc/passwd").unwrap();
                h.set_size(0);
            }
            h.set_cksum();
            let data: &[u8] = if e.kind == tar::EntryType::Symlink {
                &[]
            } else {
                &e.data
            };
            b.append(&h, data).unwrap();
        }
        b.into_inner().unwrap()
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(bytes).unwrap();
        gz.finish().unwrap()
    }

    fn manifest_of(entries: &[Raw]) -> Value {
        serde_json::from_slice(&entries[0].data).unwrap()
    }

    fn set_manifest(entries: &mut [Raw], v: &Value) {
        entries[0].data = serde_json::to_vec(v).unwrap();
    }

    /// Lists every entry but the manifest with its true size and hash, so that only the
    /// fault under test is left.
    fn relist(entries: &mut [Raw]) {
        let mut v = manifest_of(entries);
        v["entries"] = entries[1..]
            .iter()
            .map(|e| json!({"path": e.name, "size": e.data.len(), "sha256": hex(&Sha256::digest(&e.data))}))
            .collect();
        set_manifest(entries, &v);
    }

    fn other_sqlite(dir: &Path, sql: &str) -> Vec<u8> {
        let path = dir.join(format!("other-{}.db", fastrand::u32(..)));
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(sql).unwrap();
        drop(conn);
        std::fs::read(path).unwrap()
    }

    #[test]
    fn damaged_foreign_or_unsafe_archives_are_refused_and_change_nothing() {
        let hub = Hub::new();
        let out = hub.backup();
        let good = std::fs::read(&out).unwrap();
        let raw = read_raw(&out);
        let edited = |f: &dyn Fn(&mut Vec<Raw>)| {
            let mut entries = raw.clone();
            f(&mut entries);
            gzip(&tar_of(&entries))
        };
        let mut flipped = good.clone();
        flipped[good.len() / 2] ^= 0x20;
        let mut flipped_crc = good.clone();
        let n = good.len();
        flipped_crc[n - 6] ^= 0x01;
        let upload = raw.iter().position(|e| e.name == "uploads/logo.png").unwrap();
        let store = raw.iter().position(|e| e.name == STORE_ENTRY).unwrap();

        let mut future_db = raw[store].data.clone();
        {
            let path = hub.dir.path().join("future.db");
            std::fs::write(&path, &future_db).unwrap();
            let conn = rusqlite::Connection::open(&path).unwrap();
            conn.execute("INSERT INTO schema_migrations VALUES ('9999_future', 0)", [])
                .unwrap();
            drop(conn);
            future_db = std::fs::read(&path).unwrap();
        }
        let foreign_db = other_sqlite(hub.dir.path(), "CREATE TABLE t (x); INSERT INTO t VALUES (1);");
        // Page 2 onwards overwritten: the first tables' pages.
        let mut torn_db = raw[store].data.clone();
        for b in &mut torn_db[4096..8192] {
            *b = 0xAA;
        }

        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            // Where a flipped bit lands (deflate codes, a header, data) decides the message.
            ("a flipped byte", flipped, ""),
            ("a flipped CRC", flipped_crc, "damaged"),
            ("truncated by half", good[..n / 2].to_vec(), "damaged or truncated"),
            ("truncated by one byte", good[..n - 1].to_vec(), "damaged or truncated"),
            ("empty", Vec::new(), "holds no copi-backup.json"),
            (
                "random bytes",
                (0..5000).map(|_| fastrand::u8(..)).collect(),
                "not a CoPi backup",
            ),
            (
                "a gzip of something else",
                gzip(b"{\"elements\": []}"),
                "not a CoPi backup",
            ),
            (
                "a random tar",
                tar_of(&[Raw {
                    name: "notes.txt".into(),
                    kind: tar::EntryType::Regular,
                    data: b"hello".to_vec(),
                }]),
                "does not begin with copi-backup.json",
            ),
            (
                "a random tar.gz",
                gzip(&tar_of(&[Raw {
                    name: "a/b.txt".into(),
                    kind: tar::EntryType::Regular,
                    data: b"x".to_vec(),
                }])),
                "does not begin with copi-backup.json",
            ),
            (
                "a wrong hash in the manifest",
                edited(&|e| {
                    let mut v = manifest_of(e);
                    v["entries"][0]["sha256"] = json!("0".repeat(64));
                    set_manifest(e, &v);
                }),
                "does not match its SHA-256",
            ),
            (
                "a wrong size in the manifest",
                edited(&|e| {
                    let mut v = manifest_of(e);
                    v["entries"][2]["size"] = json!(3);
                    set_manifest(e, &v);
                }),
                "its copi-backup.json says 3",
            ),
            (
                "a changed upload",
                edited(&|e| e[upload].data[0] ^= 1),
                "does not match its SHA-256",
            ),
            (
                "a missing entry",
                edited(&|e| drop(e.remove(upload))),
                "uploads/logo.png is missing",
            ),
            (
                "an entry not in the manifest",
                edited(&|e| {
                    e.push(Raw {
                        name: "uploads/extra".into(),
                        kind: tar::EntryType::Regular,
                        data: b"x".to_vec(),
                    })
                }),
                "not listed",
            ),
            (
                "an entry twice",
                edited(&|e| {
                    let again = e[upload].clone();
                    e.push(again)
                }),
                "appears twice",
            ),
            (
                "the manifest not first",
                edited(&|e| e.swap(0, 1)),
                "does not begin with copi-backup.json",
            ),
            (
                "a newer format version",
                edited(&|e| {
                    let mut v = manifest_of(e);
                    v["version"] = json!(2);
                    set_manifest(e, &v);
                }),
                "newer CoPi",
            ),
            (
                "a path traversal",
                edited(&|e| {
                    e.push(Raw {
                        name: "uploads/../../evil.sh".into(),
                        kind: tar::EntryType::Regular,
                        data: b"rm -rf /".to_vec(),
                    });
                    relist(e);
                }),
                "unsafe path",
            ),
            (
                "a path traversal not in the manifest",
                edited(&|e| {
                    e.push(Raw {
                        name: "../evil.sh".into(),
                        kind: tar::EntryType::Regular,
                        data: b"x".to_vec(),
                    })
                }),
                "unsafe path",
            ),
            (
                "an absolute path",
                edited(&|e| {
                    e.push(Raw {
                        name: "/tmp/evil.sh".into(),
                        kind: tar::EntryType::Regular,
                        data: b"x".to_vec(),
                    });
                    relist(e);
                }),
                "unsafe path",
            ),
            (
                "a symbolic link",
                edited(&|e| {
                    e.push(Raw {
                        name: "uploads/passwd".into(),
                        kind: tar::EntryType::Symlink,
                        data: Vec::new(),
                    });
                    relist(e);
                }),
                "is a symbolic link",
            ),
            (
                "a folder entry",
                edited(&|e| {
                    e.insert(
                        1,
                        Raw {
                            name: "uploads/2026".into(),
                            kind: tar::EntryType::Directory,
                            data: Vec::new(),
                        },
                    );
                    relist(e);
                }),
                "is a folder",
            ),
            (
                "a store of a newer CoPi",
                edited(&|e| {
                    e[store].data = future_db.clone();
                    relist(e);
                }),
                "newer CoPi (migration 9999_future)",
            ),
            (
                "an SQLite database that is not a CoPi store",
                edited(&|e| {
                    e[store].data = foreign_db.clone();
                    relist(e);
                }),
                "not a CoPi store",
            ),
            (
                "a store that is not a database",
                edited(&|e| {
                    e[store].data = b"SQLite format 3\0 but no more".to_vec();
                    relist(e);
                }),
                "store",
            ),
            (
                "a torn store",
                edited(&|e| {
                    e[store].data = torn_db.clone();
                    relist(e);
                }),
                "store",
            ),
        ];
        for (what, bytes, expected) in cases {
            let dir = tempfile::tempdir().unwrap();
            let archive = dir.path().join("bad.tar.gz");
            std::fs::write(&archive, &bytes).unwrap();
            for existing in [false, true] {
                let data = dir.path().join("data");
                if existing {
                    std::fs::create_dir(&data).unwrap();
                }
                let err = restore(&archive, &data, |_, _| {}).unwrap_err().to_string();
                assert!(
                    err.starts_with("cannot restore") && err.contains("nothing was changed"),
                    "{what}: {err}"
                );
                assert!(err.contains(expected), "{what}: expected {expected:?} in {err}");
                if existing {
                    assert_eq!(std::fs::read_dir(&data).unwrap().count(), 0, "{what}: data dir changed");
                    std::fs::remove_dir(&data).unwrap();
                } else {
                    assert!(!data.exists(), "{what}: data dir created");
                }
                let left: Vec<_> = std::fs::read_dir(dir.path())
                    .unwrap()
                    .map(|e| e.unwrap().file_name())
                    .collect();
                assert_eq!(left, ["bad.tar.gz"], "{what}: left behind");
                assert!(!dir.path().parent().unwrap().join("evil.sh").exists());
            }
        }
        // The untouched archive still restores.
        let data = tempfile::tempdir().unwrap();
        restore(&out, &data.path().join("data"), |_, _| {}).unwrap();
    }
}
