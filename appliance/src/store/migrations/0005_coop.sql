-- The cooperative space (Communecter's `proposals` and `actions` collections): proposals
-- with their votes, actions (tasks) with their assignees, each on an element.

-- The change log learns two entities, `proposal` and `action`. SQLite cannot change a CHECK
-- constraint in place, so the table is rebuilt (inside the migration's transaction): same
-- columns and rows, and the AUTOINCREMENT high-water mark carried over so that no sequence
-- number is ever given twice.
CREATE TABLE changes_new (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    entity    TEXT NOT NULL CHECK (entity IN ('element', 'post', 'comment', 'attachment', 'proposal', 'action')),
    entity_id TEXT NOT NULL,
    op        TEXT NOT NULL CHECK (op IN ('create', 'update', 'delete')),
    origin    TEXT NOT NULL,
    at        INTEGER NOT NULL
) STRICT;
INSERT INTO changes_new (seq, entity, entity_id, op, origin, at)
    SELECT seq, entity, entity_id, op, origin, at FROM changes ORDER BY seq;
DELETE FROM sqlite_sequence WHERE name = 'changes_new';
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'changes_new', max(seq) FROM (
        SELECT seq FROM sqlite_sequence WHERE name = 'changes'
        UNION ALL SELECT coalesce(max(seq), 0) FROM changes_new
    );
DROP TABLE changes;
ALTER TABLE changes_new RENAME TO changes;
CREATE INDEX changes_entity ON changes (entity_id);

-- Proposals: the Communecter-shaped document in `doc` (title, description, status,
-- voteDateEnd, votes {up, down, white}, parentId/parentType, …), and what rules and lists
-- read as columns. `deadline` and `closed_at` are epoch seconds of the hub's clock
-- (`closed_at`: an element admin closed it). `visibility` says when counts are shown:
-- `live` (always) or `closed` (once the proposal is closed).
CREATE TABLE proposals (
    id          TEXT PRIMARY KEY,
    element_id  TEXT NOT NULL REFERENCES elements (id) ON DELETE CASCADE,
    author      TEXT NOT NULL,
    visibility  TEXT NOT NULL CHECK (visibility IN ('live', 'closed')),
    deadline    INTEGER,
    closed_at   INTEGER,
    doc         TEXT NOT NULL,
    created_seq INTEGER NOT NULL UNIQUE,
    seq         INTEGER NOT NULL
) STRICT;
CREATE INDEX proposals_element ON proposals (element_id, created_seq);

-- One vote per person per proposal (changed in place until the proposal closes). The
-- proposal's document carries the same votes, as Communecter keeps them.
CREATE TABLE votes (
    proposal_id TEXT NOT NULL REFERENCES proposals (id) ON DELETE CASCADE,
    person_id   TEXT NOT NULL,
    value       TEXT NOT NULL CHECK (value IN ('for', 'against', 'abstain')),
    at          INTEGER NOT NULL,
    PRIMARY KEY (proposal_id, person_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX votes_person ON votes (person_id);

-- Actions (tasks): the Communecter-shaped document in `doc` (name, description, status,
-- endDate, links.contributors, parentId/parentType, …); `due` in epoch seconds.
CREATE TABLE actions (
    id          TEXT PRIMARY KEY,
    element_id  TEXT NOT NULL REFERENCES elements (id) ON DELETE CASCADE,
    author      TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('todo', 'doing', 'done')),
    due         INTEGER,
    doc         TEXT NOT NULL,
    created_seq INTEGER NOT NULL UNIQUE,
    seq         INTEGER NOT NULL
) STRICT;
CREATE INDEX actions_element ON actions (element_id, created_seq);

-- Who an action is assigned to (the document's links.contributors).
CREATE TABLE action_assignees (
    action_id TEXT NOT NULL REFERENCES actions (id) ON DELETE CASCADE,
    person_id TEXT NOT NULL,
    PRIMARY KEY (action_id, person_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX action_assignees_person ON action_assignees (person_id);
