//! Random tokens: API tokens and session tokens are 32 random bytes from the OS, shown to
//! their holder once as base64url (43 characters); the store keeps only their SHA-256.

use base64ct::{Base64UrlUnpadded, Encoding};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// `N` bytes from the operating system's random source.
pub fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).map_err(|e| Error::Corrupt(format!("the system's random source failed: {e}")))?;
    Ok(out)
}

/// The secret of a token. `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenSecret([u8; 32]);

impl std::fmt::Debug for TokenSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenSecret(…)")
    }
}

impl TokenSecret {
    pub fn generate() -> Result<TokenSecret> {
        Ok(TokenSecret(random_bytes()?))
    }

    /// Reads a token as its holder presents it; `None` if it cannot be one of ours.
    pub fn parse(text: &str) -> Option<TokenSecret> {
        let text = text.trim();
        if text.len() != 43 {
            return None;
        }
        let mut out = [0u8; 32];
        let decoded = Base64UrlUnpadded::decode(text, &mut out).ok()?;
        (decoded.len() == 32).then_some(TokenSecret(out))
    }

    /// What the holder is given (and presents back).
    pub fn encode(&self) -> String {
        Base64UrlUnpadded::encode_string(&self.0)
    }

    /// What the store keeps: SHA-256 of the secret. A token has 256 bits of entropy, so a
    /// plain hash (no salt, no stretching) cannot be reversed, and it allows an indexed look-up.
    pub fn hash(&self) -> [u8; 32] {
        Sha256::digest(self.0).into()
    }

    /// The CSRF token bound to a session: derived from the session's secret with a label
    /// (distinct from [`hash`](Self::hash), which the database holds), so only whoever holds
    /// the session secret or has been given this value can present it.
    pub fn csrf(&self) -> String {
        let mut h = Sha256::new();
        h.update(b"copi csrf v1\0");
        h.update(self.0);
        Base64UrlUnpadded::encode_string(&h.finalize())
    }
}
