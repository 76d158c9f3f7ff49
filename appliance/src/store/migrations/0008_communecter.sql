-- The `communecter` connector's state (sync/src/communecter.rs, store/communecter.rs).
-- A Communecter main has no change feed and no tombstones: a hub lists its territories
-- and compares with what it saw last time. Rows are per main (`communecter:<url>`).

-- Each home territory's listing of one collection: the one under way, or the last one.
CREATE TABLE communecter_listings (
    main       TEXT NOT NULL,
    territory  TEXT NOT NULL,
    collection TEXT NOT NULL,
    -- Bumped when a new listing starts; ids it lists carry it.
    generation INTEGER NOT NULL,
    -- Offset of the next page to ask for.
    next_index INTEGER NOT NULL,
    -- listing (pages), checking (confirming ids it did not list), done.
    phase      TEXT NOT NULL CHECK (phase IN ('listing', 'checking', 'done')),
    PRIMARY KEY (main, territory, collection)
) STRICT, WITHOUT ROWID;

-- Ids listed in a territory and applied on the hub: the fingerprint of the listed entry
-- and the generation of the last listing that saw them.
CREATE TABLE communecter_seen (
    main        TEXT NOT NULL,
    territory   TEXT NOT NULL,
    collection  TEXT NOT NULL,
    id          TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    generation  INTEGER NOT NULL,
    PRIMARY KEY (main, territory, collection, id)
) STRICT, WITHOUT ROWID;
CREATE INDEX communecter_seen_generation ON communecter_seen (main, territory, collection, generation);
CREATE INDEX communecter_seen_id ON communecter_seen (main, id);

-- What a pull learnt, under the step (pull checkpoint) of the answer it came with: kept
-- once the hub's checkpoint reaches the step (the answer was applied), dropped otherwise.
CREATE TABLE communecter_staged (
    main        TEXT NOT NULL,
    step        INTEGER NOT NULL,
    pos         INTEGER NOT NULL,
    op          TEXT NOT NULL CHECK (op IN ('seen', 'forget', 'cursor')),
    territory   TEXT NOT NULL,
    collection  TEXT NOT NULL,
    id          TEXT,
    fingerprint TEXT,
    generation  INTEGER,
    next_index  INTEGER,
    phase       TEXT,
    PRIMARY KEY (main, step, pos)
) STRICT, WITHOUT ROWID;

-- The collection each element this hub saved upstream went to (a withdrawal needs it).
CREATE TABLE communecter_upstream (
    main       TEXT NOT NULL,
    id         TEXT NOT NULL,
    collection TEXT NOT NULL,
    PRIMARY KEY (main, id)
) STRICT, WITHOUT ROWID;
