//! Password hashes: argon2id, stored as PHC strings (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`).
//!
//! Parameters are OWASP's first choice for argon2id, sized for a Pi Zero 2 W (4 × Cortex-A53,
//! 512 MB): 19 MiB of memory, 2 passes, 1 lane. The API hashes at most a couple of passwords
//! at once, so memory stays bounded under a flood of logins. A hash records its parameters, so
//! raising them later still verifies older hashes.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::error::{Error, Result};

/// Memory per hash, in KiB (19 MiB).
pub const ARGON2_M_KIB: u32 = 19 * 1024;
/// Passes over the memory.
pub const ARGON2_T: u32 = 2;
/// Lanes (parallelism).
pub const ARGON2_P: u32 = 1;

/// Bytes of random salt per hash (the PHC recommendation).
const SALT_LEN: usize = 16;

/// Largest memory a stored hash may ask for when verifying (a damaged or hostile row must not
/// make the hub allocate gigabytes).
const MAX_VERIFY_M_KIB: u32 = 256 * 1024;

/// A hash of a random password that nobody knows, with the current parameters: verified
/// against when an email has no account, so that the answer takes as long as for a real one.
/// `tests::dummy_hash_has_the_current_parameters` keeps it in step with the constants.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$Y29waS1kdW1teS1zYWx0$4zzwPsF4MSw2ChDfHa9vQg7/HytZ5eXYHYAXoGj1VxY";

fn argon2() -> Argon2<'static> {
    let params = Params::new(ARGON2_M_KIB, ARGON2_T, ARGON2_P, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password with a fresh random salt. Slow on purpose (tens to hundreds of ms):
/// call it off the async executor.
pub fn hash_password(password: &str) -> Result<String> {
    let salt_bytes = super::random_bytes::<SALT_LEN>()?;
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| Error::Corrupt(format!("salt: {e}")))?;
    let hash = argon2()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| Error::Corrupt(format!("password hashing failed: {e}")))?;
    Ok(hash.to_string())
}

/// Whether `password` matches the PHC string `stored`. Only argon2id hashes are accepted; an
/// unreadable hash matches nothing. The comparison is constant-time.
pub fn verify_password(password: &str, stored: &str) -> bool {
    let Ok(hash) = PasswordHash::new(stored) else {
        tracing::warn!("a stored password hash is unreadable");
        return false;
    };
    if hash.algorithm != argon2::ARGON2ID_IDENT {
        return false;
    }
    match Params::try_from(&hash) {
        Ok(p) if p.m_cost() <= MAX_VERIFY_M_KIB => {}
        _ => return false,
    }
    argon2().verify_password(password.as_bytes(), &hash).is_ok()
}

/// [`verify_password`] against `stored`, or against a dummy hash of the same cost when there is
/// no account, so that an unknown email answers as slowly as a wrong password.
pub fn verify_password_or_dummy(password: &str, stored: Option<&str>) -> bool {
    match stored {
        Some(s) => verify_password(password, s),
        None => {
            verify_password(password, DUMMY_HASH);
            false
        }
    }
}

#[cfg(test)]
pub(super) fn dummy_hash() -> &'static str {
    DUMMY_HASH
}
