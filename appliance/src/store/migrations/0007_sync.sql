-- Sync with a main instance (store/sync.rs, protocol in sync/src/protocol.rs).

-- Per peer (a hub's main, or a main's hubs), in each replica's own sequences:
-- `pushed`: this replica's changes the peer has applied, up to here;
-- `pulled`: the peer's changes applied here, up to here.
CREATE TABLE sync_checkpoints (
    peer   TEXT PRIMARY KEY,
    pushed INTEGER NOT NULL DEFAULT 0,
    pulled INTEGER NOT NULL DEFAULT 0
) STRICT;

-- Batches a main has applied, by the hub that sent them: a replay changes nothing.
CREATE TABLE sync_batches (
    peer       TEXT NOT NULL,
    batch_id   TEXT NOT NULL,
    applied_to INTEGER NOT NULL,
    PRIMARY KEY (peer, batch_id)
) STRICT, WITHOUT ROWID;

-- Elements this replica has sent as public: only these are withdrawn (sent as deletions)
-- when deleted, made private or hidden here. Nothing else of a private element leaves.
CREATE TABLE sync_published (
    entity_id TEXT PRIMARY KEY
) STRICT, WITHOUT ROWID;

-- The losing versions of conflicts, kept for the admin. `kept`: which side won here.
CREATE TABLE sync_conflicts (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    entity     TEXT NOT NULL,
    entity_id  TEXT NOT NULL,
    peer       TEXT NOT NULL,
    kept       TEXT NOT NULL CHECK (kept IN ('local', 'incoming')),
    losing_doc TEXT,
    seq        INTEGER NOT NULL,
    at         INTEGER NOT NULL
) STRICT;
CREATE INDEX sync_conflicts_entity ON sync_conflicts (entity_id);

-- The last round a hub ran (one row): what the admin sees in /api/v1/status. Wall-clock
-- times are informational only.
CREATE TABLE sync_status (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    main         TEXT,
    last_attempt INTEGER,
    last_success INTEGER,
    last_error   TEXT,
    last_report  TEXT
) STRICT;
