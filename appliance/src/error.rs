//! The crate's errors. Each maps to a stable code and an HTTP status in one table
//! ([`Error::code`], [`Error::status`]); the message is for the person who caused it, log
//! detail stays in the logs.

use crate::model::ModelError;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Invalid(#[from] ModelError),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("{what} not found")]
    NotFound { what: String },
    #[error("{0}")]
    Conflict(String),
    #[error("a valid admin token is required (Authorization: Bearer …)")]
    Unauthorized,
    #[error("sign in first: a session cookie or Authorization: Bearer TOKEN (POST /api/v1/auth/login)")]
    SignInRequired,
    #[error("wrong email or password")]
    WrongCredentials,
    #[error("this request needs the X-CSRF-Token header of your session (GET /api/v1/auth/csrf)")]
    Csrf,
    #[error("too many failed attempts: try again in {retry_after} seconds")]
    Throttled { retry_after: u64 },
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    Config(String),
    #[error("{0}")]
    Import(String),
    #[error("the data store failed: {0}")]
    Store(rusqlite::Error),
    #[error("the hub's storage is full: nothing was changed; the admin must free space (old uploads, backups) before anything can be written")]
    StorageFull,
    #[error("the hub's storage is read-only (the system stops writing to a failing card): nothing was changed; reading still works, the admin must check the card and restart the hub before anything can be written")]
    StorageReadOnly,
    #[error("{0}")]
    Corrupt(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DiskFull) => Error::StorageFull,
            _ => Error::Store(e),
        }
    }
}

impl Error {
    pub fn not_found(what: impl Into<String>) -> Self {
        Error::NotFound { what: what.into() }
    }

    pub fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
        let context = context.into();
        move |source| Error::Io { context, source }
    }

    /// The stable, machine-readable code of the error.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Invalid(ModelError::UnknownKind(_)) => "unknown_kind",
            Error::Invalid(_) => "invalid",
            Error::BadRequest(_) => "bad_request",
            Error::TooLarge(_) => "too_large",
            Error::NotFound { .. } => "not_found",
            Error::Conflict(_) => "conflict",
            Error::Unauthorized | Error::SignInRequired => "unauthorized",
            Error::WrongCredentials => "wrong_credentials",
            Error::Csrf => "csrf",
            Error::Throttled { .. } => "too_many_attempts",
            Error::UnsupportedMediaType(_) => "unsupported_media_type",
            Error::Config(_) => "config",
            Error::Import(_) => "import",
            Error::Store(_) => "store",
            Error::StorageFull => "storage_full",
            Error::StorageReadOnly => "storage_read_only",
            Error::Corrupt(_) => "corrupt",
            Error::Io { .. } => "io",
        }
    }

    /// The HTTP status the error answers with.
    pub fn status(&self) -> u16 {
        match self {
            Error::BadRequest(_) => 400,
            Error::TooLarge(_) => 413,
            Error::Invalid(_) | Error::Import(_) => 422,
            Error::NotFound { .. } => 404,
            Error::Conflict(_) => 409,
            Error::Unauthorized | Error::SignInRequired | Error::WrongCredentials => 401,
            Error::Csrf => 403,
            Error::UnsupportedMediaType(_) => 415,
            Error::Throttled { .. } => 429,
            Error::StorageFull => 507,
            Error::StorageReadOnly => 503,
            Error::Config(_) | Error::Store(_) | Error::Corrupt(_) | Error::Io { .. } => 500,
        }
    }

    /// What a client is told. Server-side failures are not described to clients, except a
    /// full or read-only disk, which the admin has to act on.
    pub fn public_message(&self) -> String {
        if self.status() >= 500 && !matches!(self, Error::StorageFull | Error::StorageReadOnly) {
            "the hub could not complete the request; the admin can find details in its logs".into()
        } else {
            self.to_string()
        }
    }
}
