-- Invitations to join an element, by a code typed on the hub or a link `/join/<code>` (and,
-- when `email` is set, by an e-mail queued until the hub can send it). Like accounts,
-- invitations never sync and are not in the change log: the membership they create is.
-- Times are epoch seconds; `expires` trusts the wall clock, which the Pi may not have, so
-- codes are also limited in uses.
CREATE TABLE invitations (
    code        TEXT PRIMARY KEY,
    element_id  TEXT NOT NULL REFERENCES elements (id) ON DELETE CASCADE,
    roles       TEXT NOT NULL DEFAULT '[]',
    is_admin    INTEGER NOT NULL DEFAULT 0,
    created_by  TEXT NOT NULL,
    created     INTEGER NOT NULL,
    expires     INTEGER,
    max_uses    INTEGER NOT NULL DEFAULT 1 CHECK (max_uses >= 1),
    uses        INTEGER NOT NULL DEFAULT 0,
    email       TEXT,
    emailed     INTEGER
) STRICT;
CREATE INDEX invitations_element ON invitations (element_id);
CREATE INDEX invitations_unsent ON invitations (created) WHERE email IS NOT NULL AND emailed IS NULL;

-- A journal reads an element's posts newest first.
CREATE INDEX records_news_element ON records (element_id, created_seq) WHERE kind = 'news';
