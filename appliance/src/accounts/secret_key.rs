//! The key that encrypts and signs session cookies: 64 random bytes made at first start in
//! `<data>/secret.key` (mode 0600), reused at every start after, so sessions survive restarts.
//! It is never in the config file (which sits on the card's FAT boot partition, readable by
//! anyone who takes the card out) and never logged. Deleting the file signs everyone out.

use std::io::{Read, Write};
use std::path::Path;

use crate::error::{Error, Result};

/// File name of the cookie key in the data dir.
pub const SECRET_KEY_FILE: &str = "secret.key";
/// Bytes in the key (Rocket's master key: encryption and signing keys are derived from it).
pub const SECRET_KEY_LEN: usize = 64;

/// Reads the key from the data dir, creating it (atomically, 0600, fsynced) on first start.
/// A file of the wrong size is an error: a silently replaced key would sign everyone out and
/// hide tampering.
pub fn load_or_create_secret_key(data_dir: &Path) -> Result<Vec<u8>> {
    let path = data_dir.join(SECRET_KEY_FILE);
    match std::fs::File::open(&path) {
        Ok(mut f) => {
            restrict(&path, &f)?;
            let mut key = Vec::with_capacity(SECRET_KEY_LEN);
            Read::by_ref(&mut f)
                .take(SECRET_KEY_LEN as u64 + 1)
                .read_to_end(&mut key)
                .map_err(Error::io(format!("cannot read {}", path.display())))?;
            if key.len() != SECRET_KEY_LEN {
                return Err(Error::Config(format!(
                    "{} is damaged (it must hold {SECRET_KEY_LEN} bytes); delete it to make a new one \
                     (everyone will have to sign in again)",
                    path.display()
                )));
            }
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create(data_dir, &path),
        Err(e) => Err(Error::io(format!("cannot open {}", path.display()))(e)),
    }
}

/// Makes sure only the owner can read the key file, tightening it if someone loosened it.
fn restrict(path: &Path, f: &std::fs::File) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = f
            .metadata()
            .map_err(Error::io(format!("cannot read {}", path.display())))?;
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(file = %path.display(), "the cookie key was readable by others: now 0600");
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                .map_err(Error::io(format!("cannot restrict {}", path.display())))?;
        }
    }
    #[cfg(not(unix))]
    let _ = (path, f);
    Ok(())
}

fn create(data_dir: &Path, path: &Path) -> Result<Vec<u8>> {
    std::fs::create_dir_all(data_dir).map_err(Error::io(format!("cannot create {}", data_dir.display())))?;
    let key = super::random_bytes::<SECRET_KEY_LEN>()?.to_vec();
    let partial = data_dir.join(format!("{SECRET_KEY_FILE}.partial"));
    // A partial file is what a power cut during a first start leaves: never used, replaced.
    let _ = std::fs::remove_file(&partial);
    let write_err = || Error::io(format!("cannot write {}", partial.display()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(&partial).map_err(write_err())?;
    f.write_all(&key).map_err(write_err())?;
    f.sync_all().map_err(write_err())?;
    drop(f);
    std::fs::rename(&partial, path).map_err(Error::io(format!("cannot create {}", path.display())))?;
    if let Ok(dir) = std::fs::File::open(data_dir) {
        let _ = dir.sync_all();
    }
    tracing::info!(file = %path.display(), "created the cookie key");
    Ok(key)
}
