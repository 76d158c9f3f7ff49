-- Sync carries journal posts, comments, attachments and the cooperative space too
-- (store/sync.rs, store/sync_records.rs).

-- A proposal or an action whose element has not arrived yet (it cannot be written: its
-- table references elements). Kept as it came, and written when the element arrives.
CREATE TABLE sync_parked (
    entity_id  TEXT PRIMARY KEY,
    entity     TEXT NOT NULL CHECK (entity IN ('proposal', 'action')),
    element_id TEXT NOT NULL,
    peer       TEXT NOT NULL,
    doc        TEXT NOT NULL
) STRICT;
CREATE INDEX sync_parked_element ON sync_parked (element_id);

-- What hangs off an element or a post is only sent while its element (and post) is public.
-- When one becomes public again — made public, un-hidden, approved, its audience widened —
-- its dependents are logged again, right after the change that did it, so that sync (and
-- the index) look at them anew; each keeps the origin of its own last change, so that what
-- came from a peer is not sent back to it. Triggers, because every path that changes these
-- columns (edits, moderation, imports, sync itself, the admin picking a conflict's loser)
-- must do it, in the same transaction.
CREATE TRIGGER sync_element_public_again AFTER UPDATE OF private, moderation ON elements
WHEN (old.private != 0 OR old.moderation IS NOT NULL) AND new.private = 0 AND new.moderation IS NULL
BEGIN
    INSERT INTO changes (entity, entity_id, op, origin, at)
    SELECT CASE d.kind WHEN 'news' THEN 'post' WHEN 'comments' THEN 'comment' ELSE 'attachment' END,
           d.id, 'update',
           coalesce((SELECT c.origin FROM changes c WHERE c.entity_id = d.id ORDER BY c.seq DESC LIMIT 1),
                    (SELECT value FROM meta WHERE key = 'instance_id'), ''),
           CAST(strftime('%s', 'now') AS INTEGER)
    FROM records d
    WHERE d.element_id = new.id
       OR d.parent_id IN (SELECT p.id FROM records p WHERE p.element_id = new.id)
       OR d.parent_id IN (SELECT t.id FROM records t WHERE t.parent_id IN
                              (SELECT p.id FROM records p WHERE p.element_id = new.id))
    ORDER BY d.created_seq;
    INSERT INTO changes (entity, entity_id, op, origin, at)
    SELECT x.entity, x.id, 'update',
           coalesce((SELECT c.origin FROM changes c WHERE c.entity_id = x.id ORDER BY c.seq DESC LIMIT 1),
                    (SELECT value FROM meta WHERE key = 'instance_id'), ''),
           CAST(strftime('%s', 'now') AS INTEGER)
    FROM (SELECT 'proposal' AS entity, id, created_seq FROM proposals WHERE element_id = new.id
          UNION ALL SELECT 'action', id, created_seq FROM actions WHERE element_id = new.id) x
    ORDER BY x.created_seq;
END;

CREATE TRIGGER sync_record_public_again AFTER UPDATE OF audience, moderation ON records
WHEN new.kind IN ('news', 'comments') AND new.audience = 'public' AND new.moderation IS NULL
     AND (old.audience != 'public' OR old.moderation IS NOT NULL)
BEGIN
    INSERT INTO changes (entity, entity_id, op, origin, at)
    SELECT 'comment', d.id, 'update',
           coalesce((SELECT c.origin FROM changes c WHERE c.entity_id = d.id ORDER BY c.seq DESC LIMIT 1),
                    (SELECT value FROM meta WHERE key = 'instance_id'), ''),
           CAST(strftime('%s', 'now') AS INTEGER)
    FROM records d
    WHERE d.kind = 'comments'
      AND (d.parent_id = new.id
           OR d.parent_id IN (SELECT t.id FROM records t WHERE t.kind = 'comments' AND t.parent_id = new.id))
    ORDER BY d.created_seq;
END;

-- Before this version only elements travelled: every post, comment, attachment, proposal
-- and action is logged once more, so that what may leave does (each with the origin of its
-- last change; sync looks at what may leave, the rest stays home).
INSERT INTO changes (entity, entity_id, op, origin, at)
SELECT CASE d.kind WHEN 'news' THEN 'post' WHEN 'comments' THEN 'comment' ELSE 'attachment' END,
       d.id, 'update', (SELECT c.origin FROM changes c WHERE c.entity_id = d.id ORDER BY c.seq DESC LIMIT 1),
       CAST(strftime('%s', 'now') AS INTEGER)
FROM records d WHERE EXISTS (SELECT 1 FROM changes c WHERE c.entity_id = d.id)
ORDER BY d.created_seq;
INSERT INTO changes (entity, entity_id, op, origin, at)
SELECT x.entity, x.id, 'update', (SELECT c.origin FROM changes c WHERE c.entity_id = x.id ORDER BY c.seq DESC LIMIT 1),
       CAST(strftime('%s', 'now') AS INTEGER)
FROM (SELECT 'proposal' AS entity, id, created_seq FROM proposals
      UNION ALL SELECT 'action', id, created_seq FROM actions) x
WHERE EXISTS (SELECT 1 FROM changes c WHERE c.entity_id = x.id)
ORDER BY x.created_seq;
