-- Hub tokens a main's admin made (store/hub_tokens.rs): a hub presents one, instead of the
-- main's admin token, to sync with this main. Only the SHA-256 of each secret is kept; a
-- revoked token stays listed (revoked time set) and is never accepted again. Times are
-- epoch seconds, informational (no RTC on the Pi). `last_hub`: the instance id of the hub
-- that used the token last.
CREATE TABLE hub_tokens (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL,
    token_hash BLOB NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    created    INTEGER NOT NULL,
    last_used  INTEGER,
    last_hub   TEXT,
    revoked    INTEGER
) STRICT;
