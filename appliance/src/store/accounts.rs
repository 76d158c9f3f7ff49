//! Accounts and their tokens (API tokens and browser sessions). Accounts never sync, so they
//! are not in the change log; the person element an account belongs to is, and registration
//! writes both in one transaction. Tokens are looked up by the SHA-256 of their secret.

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{Map, Value};

use super::Store;
use crate::accounts::{Account, TokenInfo, TokenKind, TokenOwner, MAX_LIVE_TOKENS};
use crate::error::{Error, Result};
use crate::model::{self, Element, ElementId, Kind};

/// `last_used` is rewritten at most this often (seconds), to spare the SD card a write per
/// request.
const LAST_USED_RESOLUTION: i64 = 300;

fn read_account(r: &rusqlite::Row<'_>) -> rusqlite::Result<(String, String, String, i64, bool)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

fn to_account(
    (person_id, email, password_hash, created, disabled): (String, String, String, i64, bool),
) -> Result<Account> {
    let person_id = ElementId::parse(&person_id)
        .ok_or_else(|| Error::Corrupt(format!("account with a bad person id {person_id:?}")))?;
    Ok(Account {
        person_id,
        email,
        password_hash,
        created,
        disabled,
    })
}

fn email_taken(conn: &Connection, email: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT EXISTS(SELECT 1 FROM accounts WHERE email = ?1)")?
        .query_row([email], |r| r.get(0))?)
}

/// A unique-constraint failure on `accounts.email` (the check before the insert makes this
/// unreachable with one writer, but the database has the last word).
fn duplicate_email(e: rusqlite::Error) -> Error {
    match &e {
        rusqlite::Error::SqliteFailure(f, Some(msg))
            if f.code == rusqlite::ErrorCode::ConstraintViolation && msg.contains("accounts.email") =>
        {
            Error::Conflict("an account with this email already exists".into())
        }
        _ => e.into(),
    }
}

fn insert_tokens(conn: &Connection, person: &str, tokens: &[(TokenKind, [u8; 32])], now: i64) -> Result<Vec<i64>> {
    let mut ids = Vec::with_capacity(tokens.len());
    for (kind, hash) in tokens {
        conn.prepare_cached("INSERT INTO api_tokens (person_id, kind, token_hash, created) VALUES (?1, ?2, ?3, ?4)")?
            .execute(params![person, kind.as_str(), &hash[..], now])?;
        ids.push(conn.last_insert_rowid());
        // Past the limit, the oldest live tokens of this kind are revoked, and only the most
        // recent revoked ones are kept.
        conn.prepare_cached(
            "UPDATE api_tokens SET revoked = ?3 WHERE person_id = ?1 AND kind = ?2 AND revoked IS NULL
               AND id NOT IN (SELECT id FROM api_tokens WHERE person_id = ?1 AND kind = ?2 AND revoked IS NULL
                              ORDER BY id DESC LIMIT ?4)",
        )?
        .execute(params![person, kind.as_str(), now, MAX_LIVE_TOKENS as i64])?;
        conn.prepare_cached(
            "DELETE FROM api_tokens WHERE person_id = ?1 AND kind = ?2 AND revoked IS NOT NULL
               AND id NOT IN (SELECT id FROM api_tokens WHERE person_id = ?1 AND kind = ?2 AND revoked IS NOT NULL
                              ORDER BY id DESC LIMIT ?3)",
        )?
        .execute(params![person, kind.as_str(), MAX_LIVE_TOKENS as i64])?;
    }
    Ok(ids)
}

impl Store {
    /// Registers a person: creates the person element (in the change log, so it is indexed
    /// and syncs) and its account, with `tokens` (hashes) already issued, in one transaction.
    /// The email goes into the account only, never into the element's document.
    pub fn register_person(
        &self,
        name: &str,
        email: &str,
        password_hash: &str,
        tokens: &[(TokenKind, [u8; 32])],
    ) -> Result<(Element, Vec<i64>)> {
        let now = model::now_seconds();
        let mut doc = Map::new();
        doc.insert("name".into(), Value::String(name.to_owned()));
        doc.insert("created".into(), Value::from(now));
        doc.insert("updated".into(), Value::from(now));
        let facts = model::check(Kind::Person, &mut doc, &self.zone)?;
        let mut element = Element {
            id: ElementId::generate(),
            kind: Kind::Person,
            doc,
            links: Vec::new(),
        };
        let ids = self.write(|tx| {
            if email_taken(tx, email)? {
                return Err(Error::Conflict("an account with this email already exists".into()));
            }
            self.put_element(tx, &mut element, &facts)?;
            tx.prepare_cached(
                "INSERT INTO accounts (person_id, email, password_hash, created) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![element.id.as_str(), email, password_hash, now])
            .map_err(duplicate_email)?;
            insert_tokens(tx, element.id.as_str(), tokens, now)
        })?;
        Ok((element, ids))
    }

    /// Whether an account has this email (compared without case).
    pub fn email_has_account(&self, email: &str) -> Result<bool> {
        self.read(|c| email_taken(c, email))
    }

    /// The account with this email (compared without case).
    pub fn account_by_email(&self, email: &str) -> Result<Option<Account>> {
        let row = self.read(|c| {
            Ok(c.prepare_cached(
                "SELECT person_id, email, password_hash, created, disabled FROM accounts WHERE email = ?1",
            )?
            .query_row([email], read_account)
            .optional()?)
        })?;
        row.map(to_account).transpose()
    }

    /// The account of a person.
    pub fn account_of(&self, person: &ElementId) -> Result<Option<Account>> {
        let row = self.read(|c| {
            Ok(c.prepare_cached(
                "SELECT person_id, email, password_hash, created, disabled FROM accounts WHERE person_id = ?1",
            )?
            .query_row([person.as_str()], read_account)
            .optional()?)
        })?;
        row.map(to_account).transpose()
    }

    /// Issues tokens (by their hashes) to a person; returns their ids.
    pub fn add_tokens(&self, person: &ElementId, tokens: &[(TokenKind, [u8; 32])]) -> Result<Vec<i64>> {
        let now = model::now_seconds();
        self.write(|tx| insert_tokens(tx, person.as_str(), tokens, now))
    }

    /// Whose live token of `kind` has this hash, if any (revoked tokens and disabled accounts
    /// authenticate nobody). Notes the use, at most every few minutes.
    pub fn authenticate_token(&self, kind: TokenKind, hash: &[u8; 32]) -> Result<Option<TokenOwner>> {
        let found: Option<(i64, String, Option<i64>)> =
            self.read(|c| {
                Ok(c.prepare_cached(
                "SELECT t.id, t.person_id, t.last_used FROM api_tokens t JOIN accounts a ON a.person_id = t.person_id
                 WHERE t.token_hash = ?1 AND t.kind = ?2 AND t.revoked IS NULL AND a.disabled = 0",
            )?
            .query_row(params![&hash[..], kind.as_str()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?)
            })?;
        let Some((token_id, person, last_used)) = found else {
            return Ok(None);
        };
        let now = model::now_seconds();
        if last_used.is_none_or(|t| (now - t).abs() >= LAST_USED_RESOLUTION) {
            // Informational only: a full card must not sign anyone out.
            let noted = self.write(|tx| {
                tx.prepare_cached("UPDATE api_tokens SET last_used = ?1 WHERE id = ?2")?
                    .execute(params![now, token_id])?;
                Ok(())
            });
            if let Err(e) = noted {
                tracing::warn!(error = %e, "cannot note a token's last use");
            }
        }
        let person_id = ElementId::parse(&person)
            .ok_or_else(|| Error::Corrupt(format!("token with a bad person id {person:?}")))?;
        Ok(Some(TokenOwner { token_id, person_id }))
    }

    /// Revokes one of a person's live tokens. Returns whether there was one.
    pub fn revoke_token(&self, person: &ElementId, token_id: i64) -> Result<bool> {
        let now = model::now_seconds();
        self.write(|tx| {
            let n = tx
                .prepare_cached(
                    "UPDATE api_tokens SET revoked = ?3 WHERE id = ?1 AND person_id = ?2 AND revoked IS NULL",
                )?
                .execute(params![token_id, person.as_str(), now])?;
            Ok(n > 0)
        })
    }

    /// A person's live tokens, oldest first.
    pub fn list_tokens(&self, person: &ElementId) -> Result<Vec<TokenInfo>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, kind, created, last_used FROM api_tokens WHERE person_id = ?1 AND revoked IS NULL ORDER BY id",
            )?;
            let rows = stmt.query_map([person.as_str()], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, Option<i64>>(3)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (id, kind, created, last_used) = row?;
                let kind = TokenKind::parse(&kind).ok_or_else(|| Error::Corrupt(format!("token {id}: kind {kind:?}")))?;
                out.push(TokenInfo {
                    id,
                    kind,
                    created,
                    last_used,
                });
            }
            Ok(out)
        })
    }

    /// Replaces a person's password hash and revokes all their tokens and sessions. Returns
    /// how many were revoked.
    pub fn set_password(&self, person: &ElementId, password_hash: &str) -> Result<usize> {
        let now = model::now_seconds();
        self.write(|tx| {
            let n = tx
                .prepare_cached("UPDATE accounts SET password_hash = ?2 WHERE person_id = ?1")?
                .execute(params![person.as_str(), password_hash])?;
            if n == 0 {
                return Err(Error::not_found(format!("account of {person}")));
            }
            Ok(tx
                .prepare_cached("UPDATE api_tokens SET revoked = ?2 WHERE person_id = ?1 AND revoked IS NULL")?
                .execute(params![person.as_str(), now])?)
        })
    }
}
