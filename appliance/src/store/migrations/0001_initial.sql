-- Key/value facts about this data dir: schema version, instance id and fingerprint.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

-- Every change, in order, written in the same transaction as the change itself. The search
-- index and sync consume it by sequence; the wall-clock `at` is informational only.
CREATE TABLE changes (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    entity    TEXT NOT NULL CHECK (entity IN ('element', 'post', 'comment', 'attachment')),
    entity_id TEXT NOT NULL,
    op        TEXT NOT NULL CHECK (op IN ('create', 'update', 'delete')),
    origin    TEXT NOT NULL,
    at        INTEGER NOT NULL
) STRICT;
CREATE INDEX changes_entity ON changes (entity_id);

-- Elements: the Communecter-shaped document in `doc`, and the facts read from it as
-- columns for filtering. `created_seq` orders lists stably; `seq` is the last change.
CREATE TABLE elements (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    name        TEXT NOT NULL,
    slug        TEXT NOT NULL UNIQUE,
    type        TEXT,
    insee       TEXT,
    postal_code TEXT,
    department  TEXT,
    region      TEXT,
    lat         REAL,
    lon         REAL,
    start_at    INTEGER,
    end_at      INTEGER,
    parent_id   TEXT,
    private     INTEGER NOT NULL DEFAULT 0,
    doc         TEXT NOT NULL,
    created_seq INTEGER NOT NULL UNIQUE,
    seq         INTEGER NOT NULL
) STRICT;
CREATE INDEX elements_kind ON elements (kind, created_seq);
CREATE INDEX elements_insee ON elements (insee);
CREATE INDEX elements_postal_code ON elements (postal_code);
CREATE INDEX elements_department ON elements (department);
CREATE INDEX elements_region ON elements (region);
CREATE INDEX elements_start ON elements (start_at) WHERE start_at IS NOT NULL;
CREATE INDEX elements_parent ON elements (parent_id) WHERE parent_id IS NOT NULL;

CREATE TABLE element_tags (
    tag        TEXT NOT NULL,
    element_id TEXT NOT NULL REFERENCES elements (id) ON DELETE CASCADE,
    PRIMARY KEY (tag, element_id)
) WITHOUT ROWID;
CREATE INDEX element_tags_element ON element_tags (element_id);

-- One side of a relation, as stored on the element `element_id`
-- (Communecter's links.<link_type>.<other_id> = attrs). Both sides are rows.
CREATE TABLE links (
    element_id TEXT NOT NULL REFERENCES elements (id) ON DELETE CASCADE,
    link_type  TEXT NOT NULL,
    other_id   TEXT NOT NULL,
    attrs      TEXT NOT NULL,
    position   INTEGER NOT NULL,
    PRIMARY KEY (element_id, link_type, other_id)
) WITHOUT ROWID;
CREATE INDEX links_other ON links (other_id);

-- Journal posts, comments and documents (attached files).
CREATE TABLE records (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('news', 'comments', 'documents')),
    element_id  TEXT,
    parent_id   TEXT,
    author      TEXT,
    audience    TEXT NOT NULL,
    doc         TEXT NOT NULL,
    created_seq INTEGER NOT NULL UNIQUE,
    seq         INTEGER NOT NULL
) STRICT;
CREATE INDEX records_element ON records (element_id, kind);
CREATE INDEX records_parent ON records (parent_id);
