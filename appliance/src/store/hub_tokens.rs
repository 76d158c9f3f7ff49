//! Hub tokens of a main instance: the main's admin makes one per hub (or group of hubs), and
//! a hub presents it instead of the main's admin token to sync (`api/sync.rs`). The secret
//! is shown once when it is made (`accounts::TokenSecret`); the store keeps its SHA-256
//! only. A token is checked against every live one with a constant-time comparison; a
//! revoked token stays listed and is never accepted again.

use rusqlite::{params, OptionalExtension, Row};
use serde::Serialize;
use subtle::ConstantTimeEq;

use super::Store;
use crate::error::{Error, Result};
use crate::model::{self, ModelError};

/// Longest name of a hub token, in characters.
pub const MAX_HUB_TOKEN_NAME: usize = 100;

/// A token's last use is written at most this often (seconds), unless another hub uses it:
/// a hub's round is many requests, and each write would wake the indexer and the page cache.
const LAST_USED_RESOLUTION: i64 = 60;

/// Hub tokens listed, at most.
const MAX_LISTED: usize = 500;

/// A hub token as the admin sees it (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HubToken {
    pub id: i64,
    pub name: String,
    /// Epoch seconds, informational (the Pi has no real-time clock).
    pub created: i64,
    pub last_used: Option<i64>,
    /// The instance id of the hub that used it last.
    pub last_hub: Option<String>,
    pub revoked: Option<i64>,
}

impl HubToken {
    fn from_row(r: &Row<'_>) -> rusqlite::Result<HubToken> {
        Ok(HubToken {
            id: r.get(0)?,
            name: r.get(1)?,
            created: r.get(2)?,
            last_used: r.get(3)?,
            last_hub: r.get(4)?,
            revoked: r.get(5)?,
        })
    }

    /// The name as it is kept: trimmed, 1 to [`MAX_HUB_TOKEN_NAME`] characters, no control
    /// characters.
    pub fn check_name(name: &str) -> Result<String> {
        let invalid = |message: &str| {
            Error::Invalid(ModelError::Invalid {
                field: "name".into(),
                message: message.into(),
            })
        };
        let name = name.trim();
        if name.is_empty() {
            return Err(invalid("is required (which hub the token is for)"));
        }
        if name.chars().count() > MAX_HUB_TOKEN_NAME {
            return Err(invalid(&format!("is longer than {MAX_HUB_TOKEN_NAME} characters")));
        }
        if name.chars().any(char::is_control) {
            return Err(invalid("has control characters"));
        }
        Ok(name.to_owned())
    }
}

/// A live hub token that a request presented, with what is known of its last use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubTokenUse {
    pub id: i64,
    last_used: Option<i64>,
    last_hub: Option<String>,
}

const COLUMNS: &str = "id, name, created, last_used, last_hub, revoked";

impl Store {
    /// Keeps a new hub token (its secret's SHA-256) under `name` (see [`HubToken::check_name`]).
    pub fn create_hub_token(&self, name: &str, hash: &[u8; 32]) -> Result<HubToken> {
        let name = HubToken::check_name(name)?;
        let now = model::now_seconds();
        self.write(|tx| {
            tx.prepare_cached("INSERT INTO hub_tokens (name, token_hash, created) VALUES (?1, ?2, ?3)")?
                .execute(params![name, &hash[..], now])?;
            let id = tx.last_insert_rowid();
            Ok(tx
                .prepare_cached(&format!("SELECT {COLUMNS} FROM hub_tokens WHERE id = ?1"))?
                .query_row([id], HubToken::from_row)?)
        })
    }

    /// The hub tokens, live and revoked, newest first.
    pub fn hub_tokens(&self) -> Result<Vec<HubToken>> {
        self.read(|c| {
            Ok(c.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM hub_tokens ORDER BY id DESC LIMIT {MAX_LISTED}"
            ))?
            .query_map([], HubToken::from_row)?
            .collect::<rusqlite::Result<_>>()?)
        })
    }

    /// Revokes a hub token: refused from now on. `None` if there is no such token; whether
    /// it was live before.
    pub fn revoke_hub_token(&self, id: i64) -> Result<Option<bool>> {
        let now = model::now_seconds();
        self.write(|tx| {
            let revoked: Option<Option<i64>> = tx
                .prepare_cached("SELECT revoked FROM hub_tokens WHERE id = ?1")?
                .query_row([id], |r| r.get(0))
                .optional()?;
            match revoked {
                None => Ok(None),
                Some(Some(_)) => Ok(Some(false)),
                Some(None) => {
                    tx.prepare_cached("UPDATE hub_tokens SET revoked = ?2 WHERE id = ?1")?
                        .execute(params![id, now])?;
                    Ok(Some(true))
                }
            }
        })
    }

    /// The live hub token whose secret hashes to `hash`, if any. Every live token is
    /// compared, each in constant time, so the time taken says nothing of the secrets.
    pub fn authenticate_hub_token(&self, hash: &[u8; 32]) -> Result<Option<HubTokenUse>> {
        type Live = (i64, Vec<u8>, Option<i64>, Option<String>);
        let live: Vec<Live> = self.read(|c| {
            Ok(
                c.prepare_cached("SELECT id, token_hash, last_used, last_hub FROM hub_tokens WHERE revoked IS NULL")?
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                    .collect::<rusqlite::Result<_>>()?,
            )
        })?;
        let mut found = None;
        for (id, stored, last_used, last_hub) in live {
            if bool::from(stored.as_slice().ct_eq(&hash[..])) {
                found = Some(HubTokenUse {
                    id,
                    last_used,
                    last_hub,
                });
            }
        }
        Ok(found)
    }

    /// Notes that `hub` (its instance id, as it says: at most 100 characters kept) used the
    /// token, unless that was noted lately.
    pub fn note_hub_token_use(&self, used: &HubTokenUse, hub: &str) -> Result<()> {
        let hub: String = hub.chars().take(100).collect();
        let hub = hub.as_str();
        let now = model::now_seconds();
        let fresh = used.last_used.is_some_and(|t| (now - t).abs() < LAST_USED_RESOLUTION);
        if fresh && used.last_hub.as_deref() == Some(hub) {
            return Ok(());
        }
        self.write(|tx| {
            tx.prepare_cached("UPDATE hub_tokens SET last_used = ?2, last_hub = ?3 WHERE id = ?1")?
                .execute(params![used.id, now, hub])?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(n: u8) -> [u8; 32] {
        [n; 32]
    }

    #[test]
    fn names_are_checked() {
        let check = |name: &str, ok: Option<&str>| {
            assert_eq!(HubToken::check_name(name).ok().as_deref(), ok, "{name:?}");
        };
        check("  Hub de Crest ", Some("Hub de Crest"));
        check("", None);
        check("   ", None);
        check("a\u{7}b", None);
        check(&"x".repeat(MAX_HUB_TOKEN_NAME), Some(&"x".repeat(MAX_HUB_TOKEN_NAME)));
        check(&"x".repeat(MAX_HUB_TOKEN_NAME + 1), None);
    }

    #[test]
    fn a_token_is_accepted_until_revoked_and_its_use_is_noted() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let a = store.create_hub_token("Crest", &hash(1)).unwrap();
        let b = store.create_hub_token("Die", &hash(2)).unwrap();
        assert_eq!((a.last_used, a.revoked), (None, None));
        assert_eq!(store.authenticate_hub_token(&hash(3)).unwrap(), None);
        let used = store.authenticate_hub_token(&hash(1)).unwrap().expect("live");
        assert_eq!(used.id, a.id);
        store.note_hub_token_use(&used, "hub-one").unwrap();
        let listed = store.hub_tokens().unwrap();
        assert_eq!(listed.iter().map(|t| t.id).collect::<Vec<_>>(), vec![b.id, a.id]);
        assert_eq!(listed[1].last_hub.as_deref(), Some("hub-one"));
        assert!(listed[1].last_used.is_some());
        // Another hub with the same token: noted at once.
        let used = store.authenticate_hub_token(&hash(1)).unwrap().unwrap();
        store.note_hub_token_use(&used, "hub-two").unwrap();
        assert_eq!(store.hub_tokens().unwrap()[1].last_hub.as_deref(), Some("hub-two"));

        assert_eq!(store.revoke_hub_token(a.id).unwrap(), Some(true));
        assert_eq!(store.revoke_hub_token(a.id).unwrap(), Some(false));
        assert_eq!(store.revoke_hub_token(9999).unwrap(), None);
        assert_eq!(store.authenticate_hub_token(&hash(1)).unwrap(), None);
        assert!(store.authenticate_hub_token(&hash(2)).unwrap().is_some());
        assert!(store.hub_tokens().unwrap()[1].revoked.is_some());
        // The same secret cannot be kept twice.
        assert!(store.create_hub_token("again", &hash(2)).is_err());
    }
}
