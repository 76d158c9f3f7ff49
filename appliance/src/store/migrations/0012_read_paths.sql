-- What the home page and event pages read on every render, answered without scanning.

-- How many elements of each kind there are, public (not private, not moderated: what an
-- anonymous visitor may see) or not. Counting 20k rows took 15 ms per home page. Triggers
-- keep the counts in the transaction of every write (creates, edits, imports, sync,
-- moderation, deletions), so they cannot drift from the rows; `copi check` recounts them.
CREATE TABLE element_counts (
    kind   TEXT NOT NULL,
    public INTEGER NOT NULL,
    n      INTEGER NOT NULL,
    PRIMARY KEY (kind, public)
) STRICT, WITHOUT ROWID;
INSERT INTO element_counts (kind, public, n)
    SELECT kind, private = 0 AND moderation IS NULL, count(*) FROM elements GROUP BY 1, 2;
CREATE TRIGGER element_counts_insert AFTER INSERT ON elements BEGIN
    INSERT INTO element_counts (kind, public, n) VALUES (new.kind, new.private = 0 AND new.moderation IS NULL, 1)
        ON CONFLICT (kind, public) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER element_counts_delete AFTER DELETE ON elements BEGIN
    UPDATE element_counts SET n = n - 1
        WHERE kind = old.kind AND public = (old.private = 0 AND old.moderation IS NULL);
END;
CREATE TRIGGER element_counts_update AFTER UPDATE OF kind, private, moderation ON elements
    WHEN old.kind IS NOT new.kind
        OR (old.private = 0 AND old.moderation IS NULL) IS NOT (new.private = 0 AND new.moderation IS NULL)
BEGIN
    UPDATE element_counts SET n = n - 1
        WHERE kind = old.kind AND public = (old.private = 0 AND old.moderation IS NULL);
    INSERT INTO element_counts (kind, public, n) VALUES (new.kind, new.private = 0 AND new.moderation IS NULL, 1)
        ON CONFLICT (kind, public) DO UPDATE SET n = n + 1;
END;

-- The events an element organises through Communecter's `organizerId` (an event page lists
-- its sub-events and the events it organises): found here instead of by reading every
-- event's document. `Store::agenda` names the same expression and `kind = 'event'`.
CREATE INDEX elements_organizer ON elements (json_extract(doc, '$.organizerId')) WHERE kind = 'event';

-- The live feed reads the newest public posts: in this index, comments and documents (which
-- an import writes after the posts) are not walked through on the way.
CREATE INDEX records_live ON records (created_seq, audience) WHERE kind = 'news';
