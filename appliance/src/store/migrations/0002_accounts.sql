-- Accounts of persons registered on this hub. Accounts never sync and are not in the change
-- log; the person element they belong to is. Deleting the person deletes the account and
-- its tokens. The email lives here only, never in the (public, synced) element document.
CREATE TABLE accounts (
    person_id     TEXT PRIMARY KEY REFERENCES elements (id) ON DELETE CASCADE,
    email         TEXT NOT NULL COLLATE NOCASE UNIQUE,
    password_hash TEXT NOT NULL,
    created       INTEGER NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0
) STRICT;

-- API tokens (`Authorization: Bearer`) and browser sessions (the private cookie): only the
-- SHA-256 of each secret is kept. Times are epoch seconds, informational (no RTC on the Pi).
CREATE TABLE api_tokens (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    person_id  TEXT NOT NULL REFERENCES accounts (person_id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('api', 'session')),
    token_hash BLOB NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    created    INTEGER NOT NULL,
    last_used  INTEGER,
    revoked    INTEGER
) STRICT;
CREATE INDEX api_tokens_person ON api_tokens (person_id, kind);
