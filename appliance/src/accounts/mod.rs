//! Accounts of the hub's people: the rules of a registration (name, email, password), argon2id
//! password hashes, random tokens, login throttling and the cookie key file. Pure logic and
//! file I/O: no SQL (the rows live in `store::accounts`) and no HTTP (routes in
//! `api::accounts`).
//!
//! An account belongs to a person element (Communecter's `citoyens`): the element is public
//! data that syncs, the account (email, password hash, tokens) never leaves the hub.

mod password;
mod secret_key;
mod throttle;
mod token;

pub use password::{hash_password, verify_password, verify_password_or_dummy, ARGON2_M_KIB, ARGON2_P, ARGON2_T};
pub use secret_key::{load_or_create_secret_key, SECRET_KEY_FILE, SECRET_KEY_LEN};
pub use throttle::{ip_key, Limiter, LoginAttempt, LoginThrottle, ThrottleLimits};
pub use token::{random_bytes, TokenSecret};

use crate::model::{ElementId, ModelError};

/// Shortest password accepted, in characters.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Longest password accepted, in bytes (argon2 would take more, but nobody types this much).
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// Longest person name, in characters.
pub const MAX_PERSON_NAME: usize = 100;
/// Longest email address (RFC 5321's path limit).
pub const MAX_EMAIL: usize = 254;

/// A person's account, as the store keeps it. `Debug` leaves the password hash out.
#[derive(Clone)]
pub struct Account {
    pub person_id: ElementId,
    pub email: String,
    pub password_hash: String,
    /// Epoch seconds, informational (the Pi has no real-time clock).
    pub created: i64,
    pub disabled: bool,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("person_id", &self.person_id)
            .field("email", &self.email)
            .field("created", &self.created)
            .field("disabled", &self.disabled)
            .finish_non_exhaustive()
    }
}

/// What a token authenticates: an API client (`Authorization: Bearer`) or a browser session
/// (the private cookie). A token of one kind is never accepted as the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Api,
    Session,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Api => "api",
            TokenKind::Session => "session",
        }
    }

    pub fn parse(s: &str) -> Option<TokenKind> {
        match s {
            "api" => Some(TokenKind::Api),
            "session" => Some(TokenKind::Session),
            _ => None,
        }
    }
}

/// Whose a presented token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenOwner {
    pub token_id: i64,
    pub person_id: ElementId,
}

/// Most live tokens of each kind a person keeps: logging in again past this revokes the
/// oldest, so a script that logs in in a loop cannot grow the table without bound.
pub const MAX_LIVE_TOKENS: usize = 20;

/// One of a person's tokens, as listed to them (never the secret, never its hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub id: i64,
    pub kind: TokenKind,
    pub created: i64,
    pub last_used: Option<i64>,
}

fn invalid(field: &str, message: impl Into<String>) -> ModelError {
    ModelError::Invalid {
        field: field.to_owned(),
        message: message.into(),
    }
}

/// A person's name as given at registration: trimmed, 1 to [`MAX_PERSON_NAME`] characters,
/// no control characters.
pub fn check_name(name: &str) -> Result<String, ModelError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(invalid("name", "is required"));
    }
    if name.chars().count() > MAX_PERSON_NAME {
        return Err(invalid("name", format!("is longer than {MAX_PERSON_NAME} characters")));
    }
    if name.chars().any(char::is_control) {
        return Err(invalid("name", "must not contain control characters"));
    }
    Ok(name.to_owned())
}

/// An email address: trimmed, ASCII, `local@domain` with a dotted domain of letters, digits
/// and hyphens. Non-ASCII addresses are refused: SQLite's case-insensitive uniqueness
/// (`COLLATE NOCASE`) folds ASCII only, and look-alike letters would allow two accounts that
/// read the same.
pub fn check_email(email: &str) -> Result<String, ModelError> {
    let email = email.trim();
    if email.is_empty() {
        return Err(invalid("email", "is required"));
    }
    let bad = || {
        invalid(
            "email",
            "is not an email address (like name@example.org, ASCII letters only)",
        )
    };
    if email.len() > MAX_EMAIL || !email.is_ascii() {
        return Err(bad());
    }
    let (local, domain) = email.rsplit_once('@').ok_or_else(bad)?;
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~.-".contains(&b));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if local_ok && domain_ok {
        Ok(email.to_owned())
    } else {
        Err(bad())
    }
}

/// The key under which an email's failed logins are counted: the same for every spelling the
/// store would match (case, surrounding spaces), whether or not an account has it, so that
/// throttling tells nothing about which accounts exist.
pub fn email_key(email: &str) -> String {
    email.trim().to_ascii_lowercase()
}

/// A new password: at least [`MIN_PASSWORD_CHARS`] characters, at most
/// [`MAX_PASSWORD_BYTES`] bytes.
pub fn check_password(password: &str) -> Result<(), ModelError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(invalid(
            "password",
            format!("must be at least {MIN_PASSWORD_CHARS} characters long"),
        ));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(invalid(
            "password",
            format!("must be at most {MAX_PASSWORD_BYTES} bytes long"),
        ));
    }
    if password.trim().is_empty() {
        return Err(invalid("password", "must not be only spaces"));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
