-- Moderation (see store/moderation.rs). An element or a record with a `moderation` state is
-- kept but seen by the hub's admin only: `hidden` (the admin hid it) or `pending` (an
-- anonymous submission awaiting the admin's approval). NULL: as its privacy says.
ALTER TABLE elements ADD COLUMN moderation TEXT CHECK (moderation IN ('hidden', 'pending'));
ALTER TABLE records ADD COLUMN moderation TEXT CHECK (moderation IN ('hidden', 'pending'));

-- The admin's queues (few rows: partial indexes).
CREATE INDEX elements_moderation ON elements (moderation, created_seq) WHERE moderation IS NOT NULL;
CREATE INDEX records_moderation ON records (moderation, created_seq) WHERE moderation IS NOT NULL;

-- The agenda's covering index now also answers the moderation filter.
DROP INDEX elements_agenda;
CREATE INDEX elements_agenda ON elements (kind, start_at, created_seq, end_at, private, moderation)
    WHERE start_at IS NOT NULL;

-- Reports of an element, a post or a comment, by a signed-in person (`reporter`) or by an
-- anonymous visitor (`client`: the throttling key of their address, so the admin can tell
-- a flood from one source). Like accounts, reports never sync and are not in the change
-- log; what the admin does about them is. Times are epoch seconds, informational.
CREATE TABLE reports (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    target_kind TEXT NOT NULL CHECK (target_kind IN ('element', 'post', 'comment')),
    target_id   TEXT NOT NULL,
    reason      TEXT NOT NULL,
    reporter    TEXT,
    client      TEXT,
    created     INTEGER NOT NULL,
    status      TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
    resolved    INTEGER,
    resolution  TEXT,
    CHECK ((reporter IS NULL) != (client IS NULL))
) STRICT;
CREATE INDEX reports_status ON reports (status, id);
CREATE INDEX reports_target ON reports (target_id, target_kind, status);
