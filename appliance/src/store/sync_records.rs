//! Sync of what hangs off elements: journal posts, comments, attachments (document
//! records), and the cooperative space's proposals and actions. A child of `store::sync`,
//! which runs the protocol; this module says, for each of these entities, whether it may
//! leave, what document leaves, and how a received one is written.
//!
//! **What leaves** (the same rule on a hub pushing and on a main answering a pull):
//! - a post (`news`) whose audience is `public`, not hidden or pending, on an element that
//!   is here, public (`private = 0`) and not hidden or pending;
//! - a comment not hidden or pending, whose context leaves: the element it is on (public,
//!   not moderated), or the post it is on (as above), or, for a reply, the comment it
//!   answers (as a comment);
//! - an attachment (document record) not moderated, on a public, non-moderated element: the
//!   record only, with its file's name, size, type, SHA-256 and dimensions — not the bytes
//!   (see below);
//! - a proposal or an action of a public, non-moderated element's space. A proposal leaves
//!   with its counts (`voteCount {up, down, white}`) and without `votes` (who voted what):
//!   CoPi makes every proposal `voteAnonymous: true` and shows a reader their own vote only,
//!   so the names in Communecter's `votes` lists stay on the hub where the votes are cast.
//!   Votes are cast on that hub only: a copy (a document with `voteCount`) takes no vote,
//!   and its counts are the ones it carries. An action leaves whole (its assignees are
//!   `links.contributors`, as Communecter publishes them).
//!
//! Anything else stays home: members-only, followers-only and private posts and the
//! comments under them, everything of a private or moderated element, accounts, e-mails,
//! invitations, reports, votes by name. What was sent (`sync_published`) and no longer
//! leaves — deleted, made non-public, hidden — is sent as a deletion.
//!
//! **Authors.** A post's or comment's `author` (a proposal's or action's `idUserAuthor`)
//! is a person's id and is kept as it is. The person may not be on the other side (a
//! private person stays home, and a hub pulls only the persons of its territories), so the
//! document also carries `authorName`: the person's name when the person is public here,
//! else the `authorName` the document already had (it came from where the person is), else
//! none — a private person's name never leaves. The receiver stores the document as it
//! comes and shows `authorName` where it cannot find the person.
//!
//! **Attachment bytes do not travel.** A batch is bounded (4 MiB of documents, applied in one
//! SQLite transaction); a file may be 8 MiB, and writing files cannot be part of that
//! transaction, so carrying them would break both the bounded memory and the "one batch,
//! one transaction, or nothing" rule. The record leaves without its local paths
//! (`copi.file`, `copi.thumb`), with `copi.origin` naming the instance that holds the bytes
//! (served there at `/files/<id>`) and `copi.sha256` to check them by; a receiver never
//! takes paths from a peer, and keeps its own when the record is its own. URL lists are the
//! element's `urls` field and travel with it.
//!
//! **Order.** A receiver applies a batch's elements first, then posts, then comments, then
//! the rest, so a comment in the same batch as its post, or a post with its element, never
//! comes first. Across batches: posts and comments reference their parents by id only (no
//! foreign key), so one that arrives before its parent is written and simply waits for it;
//! a proposal or an action cannot be written without its element (its table references
//! elements), so one whose element is not here yet is parked in `sync_parked` and written
//! when the element arrives.

use copi_sync::{ChangeOp, EntityKind};
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{json, Map, Value};

use crate::error::{Error, Result};
use crate::model::{self, Audience, ElementId, Kind, Record, RecordFacts, RecordKind};
use crate::store::{changes, Store};

/// How deep a comment's context goes: a reply, its comment, a post, an element.
const MAX_DEPTH: usize = 4;

/// Where a change goes in a batch being applied: parents before what hangs off them.
pub(super) fn rank(entity: EntityKind) -> u8 {
    match entity {
        EntityKind::Element => 0,
        EntityKind::Post => 1,
        EntityKind::Comment => 2,
        EntityKind::Attachment | EntityKind::Proposal | EntityKind::Action => 3,
    }
}

fn record_kind(entity: EntityKind) -> Option<RecordKind> {
    match entity {
        EntityKind::Post => Some(RecordKind::Post),
        EntityKind::Comment => Some(RecordKind::Comment),
        EntityKind::Attachment => Some(RecordKind::Document),
        _ => None,
    }
}

fn entity_of(collection: &str) -> Result<EntityKind> {
    match collection {
        "news" => Ok(EntityKind::Post),
        "comments" => Ok(EntityKind::Comment),
        "documents" => Ok(EntityKind::Attachment),
        other => Err(Error::Corrupt(format!("unknown record kind {other}"))),
    }
}

fn coop_table(entity: EntityKind) -> Option<&'static str> {
    match entity {
        EntityKind::Proposal => Some("proposals"),
        EntityKind::Action => Some("actions"),
        _ => None,
    }
}

fn parse_map(what: &str, text: &str) -> Result<Map<String, Value>> {
    serde_json::from_str(text).map_err(|e| Error::Corrupt(format!("{what}: stored document unreadable: {e}")))
}

fn to_text(doc: &Map<String, Value>) -> Result<String> {
    serde_json::to_string(doc).map_err(|e| Error::Corrupt(e.to_string()))
}

fn bad(message: String) -> Error {
    Error::BadRequest(format!("sync: {message}"))
}

/// `{"_id": {"$id"}, …doc}`: how proposals and actions travel, like records.
fn with_id(id: &str, doc: &Map<String, Value>) -> Value {
    let mut out = Map::with_capacity(doc.len() + 1);
    out.insert("_id".into(), json!({"$id": id}));
    for (k, v) in doc {
        out.insert(k.clone(), v.clone());
    }
    Value::Object(out)
}

/// An element is here, public and not moderated.
fn element_public(conn: &Connection, id: &str) -> Result<bool> {
    let public: Option<bool> = conn
        .prepare_cached("SELECT private = 0 AND moderation IS NULL FROM elements WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?;
    Ok(public == Some(true))
}

/// A record's columns: kind, element, parent, audience, moderation.
type RecordRow = (String, Option<String>, Option<String>, String, Option<String>);

fn record_row(conn: &Connection, id: &str) -> Result<Option<RecordRow>> {
    Ok(conn
        .prepare_cached("SELECT kind, element_id, parent_id, audience, moderation FROM records WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
        .optional()?)
}

fn record_leaves(conn: &Connection, id: &str, depth: usize) -> Result<bool> {
    let Some((kind, element, parent, audience, moderation)) = record_row(conn, id)? else {
        return Ok(false);
    };
    if moderation.is_some() || depth > MAX_DEPTH {
        return Ok(false);
    }
    match kind.as_str() {
        "news" => Ok(audience == Audience::Public.as_str() && element_public(conn, element.as_deref().unwrap_or(""))?),
        "documents" => element_public(conn, element.as_deref().unwrap_or("")),
        _ => {
            if let Some(e) = &element {
                if !element_public(conn, e)? {
                    return Ok(false);
                }
            }
            match parent {
                Some(p) => record_leaves(conn, &p, depth + 1),
                None => Ok(element.is_some()),
            }
        }
    }
}

/// The element an entity belongs to (a comment's is its post's), if it is here.
pub(super) fn element_of(conn: &Connection, entity: EntityKind, id: &str) -> Result<Option<String>> {
    if let Some(table) = coop_table(entity) {
        return Ok(conn
            .prepare_cached(&format!("SELECT element_id FROM {table} WHERE id = ?1"))?
            .query_row([id], |r| r.get(0))
            .optional()?);
    }
    let mut at = id.to_owned();
    for _ in 0..=MAX_DEPTH {
        let Some((_, element, parent, _, _)) = record_row(conn, &at)? else {
            return Ok(None);
        };
        match (element, parent) {
            (Some(e), _) => return Ok(Some(e)),
            (None, Some(p)) => at = p,
            (None, None) => return Ok(None),
        }
    }
    Ok(None)
}

/// Whether the entity is in this replica's store (or parked, waiting for its element).
pub(super) fn present(conn: &Connection, entity: EntityKind, id: &str) -> Result<bool> {
    let sql = match entity {
        EntityKind::Element => "SELECT EXISTS(SELECT 1 FROM elements WHERE id = ?1)",
        EntityKind::Proposal => "SELECT EXISTS(SELECT 1 FROM proposals WHERE id = ?1)",
        EntityKind::Action => "SELECT EXISTS(SELECT 1 FROM actions WHERE id = ?1)",
        _ => "SELECT EXISTS(SELECT 1 FROM records WHERE id = ?1)",
    };
    Ok(conn.prepare_cached(sql)?.query_row([id], |r| r.get(0))?)
}

/// The public name of a person here, if the person is here and public.
fn author_name(conn: &Connection, person: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT name FROM elements WHERE id = ?1 AND kind = ?2 AND private = 0 AND moderation IS NULL")?
        .query_row(params![person, Kind::Person.as_str()], |r| r.get(0))
        .optional()?)
}

/// Sets `authorName` from the person named by `key`, when the person is public here.
fn name_author(conn: &Connection, doc: &mut Map<String, Value>, key: &str) -> Result<()> {
    let person = doc
        .get(key)
        .and_then(|a| model::id_from_value(a).or_else(|| a.get("id").and_then(model::id_from_value)));
    if let Some(person) = person {
        if let Some(name) = author_name(conn, person.as_str())? {
            doc.insert("authorName".into(), Value::String(name));
        }
    }
    Ok(())
}

/// Counts from Communecter's `votes {up: [ids], …}` lists.
fn counts_of_lists(votes: Option<&Value>) -> Value {
    let n = |k: &str| {
        votes
            .and_then(|v| v.get(k))
            .and_then(Value::as_array)
            .map_or(0, Vec::len)
    };
    json!({"up": n("up"), "down": n("down"), "white": n("white")})
}

/// The document of a non-element entity as it leaves this replica, or `None` when it may
/// not leave (see the module's rules). `me` names this replica in `copi.origin`.
pub(super) fn leaving_doc(conn: &Connection, me: &str, entity: EntityKind, id: &str) -> Result<Option<Value>> {
    if let Some(table) = coop_table(entity) {
        let row: Option<(String, String)> = conn
            .prepare_cached(&format!("SELECT element_id, doc FROM {table} WHERE id = ?1"))?
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let Some((element, doc)) = row else { return Ok(None) };
        if !element_public(conn, &element)? {
            return Ok(None);
        }
        let mut doc = parse_map(&format!("{} {id}", entity.as_str()), &doc)?;
        if entity == EntityKind::Proposal {
            // Counts only: who voted what stays where the votes are cast.
            if !doc.contains_key("voteCount") {
                let count = |value: &str| -> Result<i64> {
                    Ok(conn
                        .prepare_cached("SELECT count(*) FROM votes WHERE proposal_id = ?1 AND value = ?2")?
                        .query_row([id, value], |r| r.get(0))?)
                };
                let counts = json!({"up": count("for")?, "down": count("against")?, "white": count("abstain")?});
                doc.insert("voteCount".into(), counts);
            }
            doc.remove("votes");
        }
        name_author(conn, &mut doc, "idUserAuthor")?;
        return Ok(Some(with_id(id, &doc)));
    }
    if !record_leaves(conn, id, 0)? {
        return Ok(None);
    }
    let row: Option<(String, String)> = conn
        .prepare_cached("SELECT kind, doc FROM records WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((kind, doc)) = row else { return Ok(None) };
    if entity_of(&kind)? != entity {
        return Ok(None);
    }
    let mut doc = parse_map(&format!("record {id}"), &doc)?;
    name_author(conn, &mut doc, "author")?;
    if entity == EntityKind::Attachment {
        let copi = doc.entry("copi").or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(copi) = copi {
            copi.remove("file");
            copi.remove("thumb");
            copi.entry("origin").or_insert_with(|| Value::from(me));
        }
    }
    Ok(Some(with_id(id, &doc)))
}

/// A received document, checked, ready to write.
pub(super) enum Incoming {
    Record(Record, RecordFacts),
    /// A proposal or an action: its element and its document (without `_id`).
    Coop(EntityKind, ElementId, Map<String, Value>),
}

impl Incoming {
    /// What it compares as against the stored version.
    pub(super) fn json(&self, id: &str) -> Value {
        match self {
            Incoming::Record(r, _) => r.to_json(),
            Incoming::Coop(_, _, doc) => with_id(id, doc),
        }
    }
}

/// Reads a peer's document of a post, comment, attachment, proposal or action. `None`: a
/// post that is not public, which a receiver takes as a withdrawal (a CoPi never sends one).
pub(super) fn parse_incoming(
    conn: &Connection,
    entity: EntityKind,
    id: &ElementId,
    doc: &Value,
) -> Result<Option<Incoming>> {
    let Value::Object(map) = doc else {
        return Err(bad(format!("{} {id} is not an object", entity.as_str())));
    };
    let mut map = map.clone();
    let carried = map.remove("_id");
    if carried.as_ref().and_then(model::id_from_value).as_ref() != Some(id) {
        return Err(bad(format!("{} {id} carries another _id", entity.as_str())));
    }
    if let Some(kind) = record_kind(entity) {
        let local: Option<(String, String)> = conn
            .prepare_cached("SELECT kind, doc FROM records WHERE id = ?1")?
            .query_row([id.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        if let Some((k, _)) = &local {
            if entity_of(k)? != entity {
                return Err(bad(format!("{id} is a {k} record here, not a {}", entity.as_str())));
            }
        }
        if kind == RecordKind::Document {
            // Paths are never taken from a peer; the record's own, if it is ours, are kept.
            let own = match &local {
                Some((_, d)) => parse_map(&format!("record {id}"), d)?.remove("copi"),
                None => None,
            };
            if let Some(Value::Object(copi)) = map.get_mut("copi") {
                copi.remove("file");
                copi.remove("thumb");
                if let Some(Value::Object(own)) = &own {
                    for key in ["file", "thumb"] {
                        if let Some(v) = own.get(key) {
                            copi.insert(key.into(), v.clone());
                        }
                    }
                }
            }
        }
        let mut facts = model::check_record(kind, &map).map_err(|e| bad(format!("{} {id}: {e}", entity.as_str())))?;
        match kind {
            RecordKind::Post if facts.audience != Audience::Public => return Ok(None),
            RecordKind::Comment => {
                // A comment takes its post's audience (citizens' rule), public until it is here.
                if let Some(parent) = &facts.parent {
                    let audience: Option<String> = conn
                        .prepare_cached("SELECT audience FROM records WHERE id = ?1")?
                        .query_row([parent.as_str()], |r| r.get(0))
                        .optional()?;
                    facts.audience = audience
                        .as_deref()
                        .and_then(Audience::parse)
                        .unwrap_or(Audience::Public);
                }
            }
            _ => {}
        }
        return Ok(Some(Incoming::Record(
            Record {
                id: id.clone(),
                kind,
                doc: map,
            },
            facts,
        )));
    }
    let table = coop_table(entity).ok_or_else(|| bad(format!("{} is not carried here", entity.as_str())))?;
    let element = map
        .get("parentId")
        .and_then(model::id_from_value)
        .ok_or_else(|| bad(format!("{} {id} has no parentId", entity.as_str())))?;
    if entity == EntityKind::Proposal {
        let local: Option<String> = conn
            .prepare_cached(&format!("SELECT doc FROM {table} WHERE id = ?1"))?
            .query_row([id.as_str()], |r| r.get(0))
            .optional()?;
        let local = local.map(|d| parse_map(&format!("proposal {id}"), &d)).transpose()?;
        match local {
            // Made here: the votes cast here are the truth, the counts a peer saw are not.
            Some(own) if !own.contains_key("voteCount") => {
                map.remove("voteCount");
                map.insert(
                    "votes".into(),
                    own.get("votes").cloned().unwrap_or_else(|| counts_of_lists(None)),
                );
            }
            _ => {
                if !map.get("voteCount").is_some_and(valid_counts) {
                    let counts = counts_of_lists(map.get("votes"));
                    map.insert("voteCount".into(), counts);
                }
                map.remove("votes");
            }
        }
    }
    Ok(Some(Incoming::Coop(entity, element, map)))
}

fn valid_counts(v: &Value) -> bool {
    ["up", "down", "white"].iter().all(|k| {
        v.get(k)
            .and_then(Value::as_u64)
            .is_some_and(|n| n <= u64::from(u32::MAX))
    })
}

/// The stored version of a non-element entity (or its parked one), as it compares.
pub(super) fn current_json(conn: &Connection, entity: EntityKind, id: &str) -> Result<Option<Value>> {
    if let Some(table) = coop_table(entity) {
        let doc: Option<String> = conn
            .prepare_cached(&format!("SELECT doc FROM {table} WHERE id = ?1"))?
            .query_row([id], |r| r.get(0))
            .optional()?;
        let doc = match doc {
            Some(d) => Some(d),
            None => conn
                .prepare_cached("SELECT doc FROM sync_parked WHERE entity_id = ?1")?
                .query_row([id], |r| r.get(0))
                .optional()?,
        };
        return doc
            .map(|d| Ok(with_id(id, &parse_map(&format!("{} {id}", entity.as_str()), &d)?)))
            .transpose();
    }
    let doc: Option<(String, String)> = conn
        .prepare_cached("SELECT kind, doc FROM records WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    doc.map(|(_, d)| Ok(with_id(id, &parse_map(&format!("record {id}"), &d)?)))
        .transpose()
}

/// Entities written while applying a peer's batch, with the origin their change-log
/// entries must carry (so that they are not sent back there).
pub(super) type Written = Vec<(String, String)>;

impl Store {
    /// Writes a received post, comment, attachment, proposal or action (logged as this
    /// replica's; the caller re-labels the entries with `origin`). A proposal or an action
    /// whose element is not here is parked until it is.
    pub(super) fn write_incoming(
        &self,
        tx: &Connection,
        origin: &str,
        id: &ElementId,
        incoming: Incoming,
        written: &mut Written,
    ) -> Result<()> {
        match incoming {
            Incoming::Record(record, facts) => {
                self.put_record(tx, &record, &facts)?;
            }
            Incoming::Coop(entity, element, doc) => {
                tx.prepare_cached("DELETE FROM sync_parked WHERE entity_id = ?1")?
                    .execute([id.as_str()])?;
                let here: bool = tx
                    .prepare_cached("SELECT EXISTS(SELECT 1 FROM elements WHERE id = ?1)")?
                    .query_row([element.as_str()], |r| r.get(0))?;
                if !here {
                    tx.prepare_cached(
                        "INSERT INTO sync_parked (entity_id, entity, element_id, peer, doc) VALUES (?1, ?2, ?3, ?4, ?5)",
                    )?
                    .execute(params![id.as_str(), entity.as_str(), element.as_str(), origin, to_text(&doc)?])?;
                    return Ok(());
                }
                put_coop(tx, &self.instance.id, entity, id, &element, &doc)?;
            }
        }
        written.push((id.to_string(), origin.to_owned()));
        Ok(())
    }

    /// Writes the proposals and actions parked for `element`, now that it is here.
    pub(super) fn unpark(&self, tx: &Connection, element: &str, written: &mut Written) -> Result<()> {
        let parked: Vec<(String, String, String, String)> = {
            let mut stmt =
                tx.prepare_cached("SELECT entity_id, entity, peer, doc FROM sync_parked WHERE element_id = ?1")?;
            let rows = stmt.query_map([element], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
            rows.collect::<Result<_, _>>()?
        };
        for (id, entity, peer, doc) in parked {
            tx.prepare_cached("DELETE FROM sync_parked WHERE entity_id = ?1")?
                .execute([&id])?;
            let entity = EntityKind::parse(&entity).ok_or_else(|| Error::Corrupt(format!("parked {id}: {entity}")))?;
            let parsed = ElementId::parse(&id).ok_or_else(|| Error::Corrupt(format!("parked id {id}")))?;
            let element =
                ElementId::parse(element).ok_or_else(|| Error::Corrupt(format!("parked element {element}")))?;
            put_coop(
                tx,
                &self.instance.id,
                entity,
                &parsed,
                &element,
                &parse_map(&format!("parked {id}"), &doc)?,
            )?;
            written.push((id, peer));
        }
        Ok(())
    }
}

/// Writes a proposal or an action from its document, with the columns read from it, and
/// logs the change as `origin`'s.
pub(super) fn put_coop(
    tx: &Connection,
    origin: &str,
    entity: EntityKind,
    id: &ElementId,
    element: &ElementId,
    doc: &Map<String, Value>,
) -> Result<()> {
    let table = coop_table(entity).ok_or_else(|| bad(format!("{} is not a proposal or an action", entity.as_str())))?;
    let exists: bool = tx
        .prepare_cached(&format!("SELECT EXISTS(SELECT 1 FROM {table} WHERE id = ?1)"))?
        .query_row([id.as_str()], |r| r.get(0))?;
    let op = if exists { ChangeOp::Update } else { ChangeOp::Create };
    let seq = changes::record(tx, origin, entity, id.as_str(), op)?;
    let text = |k: &str| {
        doc.get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let author = text("idUserAuthor").or_else(|| text("creator")).unwrap_or_default();
    let int = |k: &str| doc.get(k).and_then(Value::as_i64);
    if entity == EntityKind::Proposal {
        let visibility = match text("resultsVisibility").as_deref() {
            Some("closed") => "closed",
            _ => "live",
        };
        let closed_at = (text("status").as_deref() == Some("closed"))
            .then(|| int("updated").or_else(|| int("created")).unwrap_or(0));
        tx.prepare_cached(
            "INSERT INTO proposals (id, element_id, author, visibility, deadline, closed_at, doc, created_seq, seq)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)
             ON CONFLICT (id) DO UPDATE SET element_id = excluded.element_id, author = excluded.author,
                 visibility = excluded.visibility, deadline = excluded.deadline, closed_at = excluded.closed_at,
                 doc = excluded.doc, seq = excluded.seq",
        )?
        .execute(params![
            id.as_str(),
            element.as_str(),
            author,
            visibility,
            int("voteDateEnd"),
            closed_at,
            to_text(doc)?,
            seq
        ])?;
    } else {
        let status = match text("status").as_deref() {
            Some(s @ ("todo" | "doing" | "done")) => s.to_owned(),
            _ => "todo".to_owned(),
        };
        tx.prepare_cached(
            "INSERT INTO actions (id, element_id, author, status, due, doc, created_seq, seq)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)
             ON CONFLICT (id) DO UPDATE SET element_id = excluded.element_id, author = excluded.author,
                 status = excluded.status, due = excluded.due, doc = excluded.doc, seq = excluded.seq",
        )?
        .execute(params![
            id.as_str(),
            element.as_str(),
            author,
            status,
            int("endDate"),
            to_text(doc)?,
            seq
        ])?;
        tx.prepare_cached("DELETE FROM action_assignees WHERE action_id = ?1")?
            .execute([id.as_str()])?;
        let assignees: Vec<ElementId> = doc
            .get("links")
            .and_then(|l| l.get("contributors"))
            .and_then(Value::as_object)
            .map(|c| c.keys().filter_map(|k| ElementId::parse(k)).collect())
            .unwrap_or_default();
        for a in assignees.iter().take(crate::store::MAX_ASSIGNEES) {
            tx.prepare_cached("INSERT OR IGNORE INTO action_assignees (action_id, person_id) VALUES (?1, ?2)")?
                .execute([id.as_str(), a.as_str()])?;
        }
    }
    Ok(())
}

/// Deletes a post (with its comments and their replies), a comment (with its replies), an
/// attachment, a proposal or an action, logging each deletion as `origin`'s. Returns
/// whether there was one.
pub(super) fn delete_in(
    tx: &Connection,
    origin: &str,
    entity: EntityKind,
    id: &str,
    peer: &str,
    written: &mut Written,
) -> Result<bool> {
    let parked = tx
        .prepare_cached("DELETE FROM sync_parked WHERE entity_id = ?1")?
        .execute([id])?
        > 0;
    if let Some(table) = coop_table(entity) {
        let n = tx
            .prepare_cached(&format!("DELETE FROM {table} WHERE id = ?1"))?
            .execute([id])?;
        if n > 0 {
            changes::record(tx, origin, entity, id, ChangeOp::Delete)?;
            written.push((id.to_owned(), peer.to_owned()));
        }
        return Ok(n > 0 || parked);
    }
    let Some((kind, ..)) = record_row(tx, id)? else {
        return Ok(false);
    };
    let mut doomed = vec![(id.to_owned(), kind)];
    doomed.extend(dependents(tx, id)?);
    delete_records(tx, origin, &doomed, peer, written)?;
    Ok(true)
}

/// The comments (and replies) under a record, parents first.
fn dependents(tx: &Connection, id: &str) -> Result<Vec<(String, String)>> {
    let mut stmt = tx.prepare_cached(
        "SELECT id, kind FROM records WHERE kind = 'comments'
           AND (parent_id = ?1 OR parent_id IN (SELECT t.id FROM records t WHERE t.kind = 'comments' AND t.parent_id = ?1))
         ORDER BY created_seq",
    )?;
    let rows = stmt.query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn delete_records(
    tx: &Connection,
    origin: &str,
    doomed: &[(String, String)],
    peer: &str,
    written: &mut Written,
) -> Result<()> {
    for (id, kind) in doomed {
        if tx.prepare_cached("DELETE FROM records WHERE id = ?1")?.execute([id])? > 0 {
            changes::record(tx, origin, entity_of(kind)?, id, ChangeOp::Delete)?;
            written.push((id.clone(), peer.to_owned()));
        }
    }
    Ok(())
}

/// Deletes what hangs off an element being deleted — its posts, files, the comments on it
/// and on its posts with their replies, its proposals and actions, and what was parked for
/// it — logging each deletion, so that a main passes them on.
pub(super) fn delete_for_element(
    tx: &Connection,
    origin: &str,
    element: &str,
    peer: &str,
    written: &mut Written,
) -> Result<()> {
    let own: Vec<(String, String)> = {
        let mut stmt = tx.prepare_cached("SELECT id, kind FROM records WHERE element_id = ?1 ORDER BY created_seq")?;
        let rows = stmt.query_map([element], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<Result<_, _>>()?
    };
    let mut doomed = Vec::new();
    for (id, kind) in own {
        let under = dependents(tx, &id)?;
        doomed.push((id, kind));
        doomed.extend(under);
    }
    let mut seen = std::collections::HashSet::new();
    doomed.retain(|(id, _)| seen.insert(id.clone()));
    delete_records(tx, origin, &doomed, peer, written)?;
    for table in ["proposals", "actions"] {
        let ids: Vec<String> = {
            let mut stmt = tx.prepare_cached(&format!("SELECT id FROM {table} WHERE element_id = ?1"))?;
            let rows = stmt.query_map([element], |r| r.get(0))?;
            rows.collect::<Result<_, _>>()?
        };
        written.extend(ids.into_iter().map(|id| (id, peer.to_owned())));
    }
    crate::store::coop::delete_for_element(tx, origin, element)?;
    tx.prepare_cached("DELETE FROM sync_parked WHERE element_id = ?1")?
        .execute([element])?;
    Ok(())
}
