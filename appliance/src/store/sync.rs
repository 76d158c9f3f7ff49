//! Sync's side of the store: the outbox (the change log itself), the inbox (applying a
//! peer's changes idempotently, one transaction per batch), checkpoints, applied batch ids,
//! conflicts and the last round's status. See `sync/src/protocol.rs` for the wire format.
//!
//! - **What leaves**: of this replica's own origin, public elements (`private = 0` and no
//!   moderation state), without their links to elements that are private or moderated
//!   here; and what hangs off public elements as far as its own audience allows — public
//!   posts, comments on public things, attachment records, proposals (counts, not who
//!   voted) and actions: the rules are in [`records`] (`sync_records.rs`). Accounts,
//!   e-mails, invitations, reports and votes by name never leave. What was sent
//!   (`sync_published`) and then is deleted, made private or non-public, or hidden, is
//!   withdrawn with a deletion carrying only its id. A main answers a pull with the same
//!   rules, within the hub's territories (a post, comment, attachment, proposal or action
//!   belongs to the territory of its element).
//! - **Echo suppression**: a peer's changes are written to the change log with the peer as
//!   `origin`; only changes of this replica's origin are pushed, and a main never sends a
//!   hub the changes that came from it.
//! - **Conflicts** (the losing version goes to `sync_conflicts`, never dropped), the same
//!   for every entity: on a main, a hub's change to an entity the main changed after what
//!   the hub had pulled (`base`) wins — last writer by the main's sequence, i.e. by
//!   arrival; on a hub, a pulled change to an entity with local changes not yet
//!   acknowledged by the main loses (the local one reaches the main next round and wins
//!   there), so both converge.
//! - **Order**: a batch is applied elements first, then posts, comments, the rest; a
//!   proposal or action whose element is not here yet waits in `sync_parked`.

use std::collections::HashMap;

use copi_sync::{
    Applied, Batch, BatchId, ChangeOp, ChangeSeq, EntityKind, PullResponse, PushRequest, PushResponse, Replica,
    RoundReport, SyncCheckpoint, Welcome, WireChange,
};
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{json, Value};

use super::{changes, elements, Store};
use crate::error::{Error, Result};
use crate::model::{Element, ElementId};
use crate::territory::{self, Scope};

#[path = "sync_records.rs"]
mod records;

#[cfg(test)]
#[path = "sync_records_tests.rs"]
mod records_tests;

/// Bytes of documents in one outgoing batch, at most (one document always fits): keeps
/// a batch's memory bounded whatever the documents weigh.
const BATCH_BYTES: usize = 4 << 20;

/// How a batch's conflicts are settled, by the side applying it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Policy {
    /// A main applying a hub's push; `base` is how far the hub had pulled the main.
    Main { base: ChangeSeq },
    /// A hub applying what it pulled; `pushed` is how far the main has applied the hub.
    Hub { pushed: ChangeSeq },
}

fn checkpoint_of(conn: &Connection, peer: &str) -> Result<SyncCheckpoint> {
    Ok(conn
        .prepare_cached("SELECT pushed, pulled FROM sync_checkpoints WHERE peer = ?1")?
        .query_row([peer], |r| {
            Ok(SyncCheckpoint {
                pushed: ChangeSeq(r.get(0)?),
                pulled: ChangeSeq(r.get(1)?),
            })
        })
        .optional()?
        .unwrap_or_default())
}

fn set_checkpoint(conn: &Connection, peer: &str, column: &str, seq: ChangeSeq) -> Result<()> {
    conn.prepare_cached(&format!(
        "INSERT INTO sync_checkpoints (peer, {column}) VALUES (?1, ?2)
         ON CONFLICT (peer) DO UPDATE SET {column} = excluded.{column}"
    ))?
    .execute(params![peer, seq.0])?;
    Ok(())
}

fn last_seq(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("SELECT coalesce(max(seq), 0) FROM changes", [], |r| r.get(0))?)
}

/// `(sql, args)` of a condition on `elements` columns: inside any of `scopes`.
fn scope_clause(scopes: &[Scope]) -> (String, Vec<String>) {
    if scopes.is_empty() {
        return ("1".into(), Vec::new());
    }
    let mut sql = String::from("(0");
    let mut args = Vec::new();
    for scope in scopes {
        let (column, code) = match scope {
            Scope::City(c) => {
                for a in territory::arrondissements_of(c) {
                    sql.push_str(" OR insee = ?");
                    args.push(a.insee.to_owned());
                }
                ("insee", c)
            }
            Scope::PostalCode(c) => ("postal_code", c),
            Scope::Department(c) => ("department", c),
            Scope::Region(c) => ("region", c),
        };
        sql.push_str(&format!(" OR {column} = ?"));
        args.push(code.clone());
    }
    sql.push(')');
    (sql, args)
}

/// An element's JSON as it may leave: links to elements private or moderated here dropped.
fn public_json(conn: &Connection, mut element: Element) -> Result<Value> {
    if !element.links.is_empty() {
        let others: Vec<String> = element.links.iter().map(|l| l.other.to_string()).collect();
        let marks = vec!["?"; others.len()].join(",");
        let mut stmt = conn.prepare(&format!(
            "SELECT id FROM elements WHERE id IN ({marks}) AND (private != 0 OR moderation IS NOT NULL)"
        ))?;
        let hidden: std::collections::HashSet<String> = stmt
            .query_map(rusqlite::params_from_iter(others.iter()), |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        element.links.retain(|l| !hidden.contains(l.other.as_str()));
    }
    Ok(element.to_json())
}

/// Whether an element is here, and if so whether it is public.
fn standing(conn: &Connection, id: &str) -> Result<Option<bool>> {
    Ok(conn
        .prepare_cached("SELECT private = 0 AND moderation IS NULL FROM elements WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?)
}

fn record_conflict(
    conn: &Connection,
    entity: EntityKind,
    peer: &str,
    id: &str,
    kept: &str,
    losing: Option<&Value>,
    seq: ChangeSeq,
) -> Result<()> {
    let losing = losing.map(|v| v.to_string());
    conn.prepare_cached(
        "INSERT INTO sync_conflicts (entity, entity_id, peer, kept, losing_doc, seq, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        entity.as_str(),
        id,
        peer,
        kept,
        losing,
        seq.0,
        crate::model::now_seconds()
    ])?;
    tracing::warn!(
        entity = entity.as_str(),
        id,
        peer,
        kept,
        "sync conflict: the losing version is kept in sync_conflicts"
    );
    Ok(())
}

/// Deletes an element as `Store::delete_element` does, inside the caller's transaction,
/// with what hangs off it (each deletion logged, so that a main passes them on). The
/// entities it touched go to `written`, to be labelled with `peer`.
fn delete_element_in(
    conn: &Connection,
    origin: &str,
    id: &str,
    peer: &str,
    written: &mut records::Written,
) -> Result<bool> {
    if standing(conn, id)?.is_none() {
        return Ok(false);
    }
    let others: Vec<String> = {
        let mut stmt =
            conn.prepare_cached("SELECT DISTINCT element_id FROM links WHERE other_id = ?1 AND element_id != ?1")?;
        let rows = stmt.query_map([id], |r| r.get(0))?;
        rows.collect::<Result<_, _>>()?
    };
    conn.prepare_cached("DELETE FROM links WHERE other_id = ?1")?
        .execute([id])?;
    for other in &others {
        let seq = changes::record(conn, origin, EntityKind::Element, other, ChangeOp::Update)?;
        conn.prepare_cached("UPDATE elements SET seq = ?1 WHERE id = ?2")?
            .execute(params![seq, other])?;
        written.push((other.clone(), peer.to_owned()));
    }
    records::delete_for_element(conn, origin, id, peer, written)?;
    conn.prepare_cached("DELETE FROM elements WHERE id = ?1")?
        .execute([id])?;
    changes::record(conn, origin, EntityKind::Element, id, ChangeOp::Delete)?;
    written.push((id.to_owned(), peer.to_owned()));
    Ok(true)
}

/// A received document, checked.
enum Received {
    Element(Box<(Element, crate::model::Facts)>),
    Other(records::Incoming),
}

impl Received {
    fn json(&self, id: &str) -> Value {
        match self {
            Received::Element(boxed) => boxed.0.to_json(),
            Received::Other(i) => i.json(id),
        }
    }
}

/// The stored version of an entity, as it compares with a received one.
fn current_json(conn: &Connection, entity: EntityKind, id: &str) -> Result<Option<Value>> {
    match entity {
        EntityKind::Element => Ok(elements::load(conn, id)?.map(|e| e.to_json())),
        _ => records::current_json(conn, entity, id),
    }
}

impl Store {
    /// Reads a peer's document of `entity` `id`; `None` when it is to be taken as a
    /// deletion (a post that is not public).
    fn receive(&self, tx: &Connection, entity: EntityKind, id: &ElementId, doc: &Value) -> Result<Option<Received>> {
        if entity != EntityKind::Element {
            return Ok(records::parse_incoming(tx, entity, id, doc)?.map(Received::Other));
        }
        let (element, facts) = Element::from_json(doc.clone(), None, &self.zone)
            .map_err(|e| Error::BadRequest(format!("sync: element {id}: {e}")))?;
        if element.id != *id {
            return Err(Error::BadRequest(format!(
                "sync: element {id} carries the id {}",
                element.id
            )));
        }
        Ok(Some(Received::Element(Box::new((element, facts)))))
    }

    /// Writes a received entity (logged as this replica's until the caller re-labels it
    /// with `origin`).
    fn write_received(
        &self,
        tx: &Connection,
        origin: &str,
        id: &ElementId,
        received: Received,
        written: &mut records::Written,
    ) -> Result<()> {
        match received {
            Received::Element(boxed) => {
                let (mut element, facts) = *boxed;
                self.put_element(tx, &mut element, &facts)?;
                written.push((id.to_string(), origin.to_owned()));
                self.unpark(tx, id.as_str(), written)
            }
            Received::Other(incoming) => self.write_incoming(tx, origin, id, incoming, written),
        }
    }

    /// Deletes an entity on a peer's word.
    fn delete_received(
        &self,
        tx: &Connection,
        entity: EntityKind,
        id: &str,
        origin: &str,
        written: &mut records::Written,
    ) -> Result<bool> {
        let me = self.instance.id.as_str();
        match entity {
            EntityKind::Element => delete_element_in(tx, me, id, origin, written),
            _ => records::delete_in(tx, me, entity, id, origin, written),
        }
    }

    /// Applies a peer's changes in the caller's transaction: elements first, then posts,
    /// comments and the rest (a stable sort: the sender's order within each). Returns
    /// what changed.
    fn apply_in(&self, tx: &Connection, peer: &str, batch: &[WireChange], policy: Policy) -> Result<Applied> {
        let me = self.instance.id.as_str();
        let before = last_seq(tx)?;
        let mut out = Applied::default();
        let mut written: records::Written = Vec::new();
        let mut ordered: Vec<&WireChange> = batch.iter().collect();
        ordered.sort_by_key(|c| records::rank(c.entity));
        for change in ordered {
            let entity = change.entity;
            let id = ElementId::parse(&change.id)
                .ok_or_else(|| Error::BadRequest(format!("sync: \"{}\" is not an id", change.id)))?;
            let received = match (&change.op, &change.doc) {
                (ChangeOp::Delete, _) => None,
                (_, Some(doc)) => self.receive(tx, entity, &id, doc)?,
                (_, None) => {
                    return Err(Error::BadRequest(format!(
                        "sync: {} {id} has no document",
                        entity.as_str()
                    )))
                }
            };
            let current = current_json(tx, entity, id.as_str())?;
            let incoming = received.as_ref().map(|r| r.json(id.as_str()));
            // Identical state: nothing to do (a replay, an echo).
            if current == incoming {
                continue;
            }
            let last: Option<(i64, String)> = tx
                .prepare_cached("SELECT seq, origin FROM changes WHERE entity_id = ?1 ORDER BY seq DESC LIMIT 1")?
                .query_row([id.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            match policy {
                Policy::Main { base } => {
                    if let (Some(cur), Some((seq, origin))) = (&current, &last) {
                        if *seq > base.0 && origin != peer {
                            record_conflict(tx, entity, peer, id.as_str(), "incoming", Some(cur), ChangeSeq(*seq))?;
                            out.conflicts += 1;
                        }
                    }
                }
                Policy::Hub { pushed } => {
                    let unpushed: bool = tx
                        .prepare_cached(
                            "SELECT EXISTS(SELECT 1 FROM changes WHERE entity_id = ?1 AND origin = ?2 AND seq > ?3)",
                        )?
                        .query_row(params![id.as_str(), me, pushed.0], |r| r.get(0))?;
                    if unpushed {
                        record_conflict(tx, entity, peer, id.as_str(), "local", incoming.as_ref(), change.seq)?;
                        out.conflicts += 1;
                        continue;
                    }
                }
            }
            match received {
                Some(r) => self.write_received(tx, peer, &id, r, &mut written)?,
                None => {
                    self.delete_received(tx, entity, id.as_str(), peer, &mut written)?;
                }
            }
            out.applied += 1;
        }
        // What was just written came from the peer (or, unparked, from whoever sent it): it
        // must not be sent back there. What it made public again was logged anew by the
        // triggers of migration 0010 with its own origin, and keeps it.
        let mut relabel = tx.prepare_cached("UPDATE changes SET origin = ?1 WHERE seq > ?2 AND entity_id = ?3")?;
        for (id, origin) in &written {
            relabel.execute(params![origin, before, id])?;
        }
        Ok(out)
    }

    /// A main's answer to a hub's hello.
    pub fn sync_hello(&self, hub: &str) -> Result<Welcome> {
        let cp = self.read(|c| checkpoint_of(c, hub))?;
        Ok(Welcome {
            main: self.instance.id.clone(),
            protocol: copi_sync::protocol::PROTOCOL,
            pushed_to: cp.pulled,
        })
    }

    /// A main applies a hub's batch: all of it in one transaction with the batch id and
    /// the new checkpoint, or nothing. A known batch, or one that ends at or before the
    /// checkpoint, changes nothing; one that starts after it is a gap (`Conflict`).
    pub fn sync_accept_push(&self, req: &PushRequest) -> Result<PushResponse> {
        let hub = req.hub.as_str();
        if hub.is_empty() || hub == self.instance.id {
            return Err(Error::BadRequest(
                "sync: a hub must name itself, and not as this instance".into(),
            ));
        }
        let b = &req.batch;
        if b.id != BatchId::new(hub, b.from_seq, b.to_seq) || b.to_seq < b.from_seq {
            return Err(Error::BadRequest(format!(
                "sync: batch id {} does not match its range",
                b.id
            )));
        }
        self.write(|tx| {
            let cp = checkpoint_of(tx, hub)?;
            let known: bool = tx
                .prepare_cached("SELECT EXISTS(SELECT 1 FROM sync_batches WHERE peer = ?1 AND batch_id = ?2)")?
                .query_row(params![hub, b.id.0], |r| r.get(0))?;
            if known || b.to_seq <= cp.pulled {
                return Ok(PushResponse {
                    applied_to: cp.pulled,
                    replayed: true,
                    applied: 0,
                    conflicts: 0,
                });
            }
            if b.from_seq > cp.pulled {
                return Err(Error::Conflict(format!(
                    "sync: batch {} starts after this main's checkpoint {} for the hub",
                    b.id, cp.pulled
                )));
            }
            let applied = self.apply_in(tx, hub, &b.changes, Policy::Main { base: req.base })?;
            set_checkpoint(tx, hub, "pulled", b.to_seq)?;
            tx.prepare_cached("INSERT INTO sync_batches (peer, batch_id, applied_to) VALUES (?1, ?2, ?3)")?
                .execute(params![hub, b.id.0, b.to_seq.0])?;
            Ok(PushResponse {
                applied_to: b.to_seq,
                replayed: false,
                applied: applied.applied,
                conflicts: applied.conflicts,
            })
        })
    }

    /// A main's changes after `since` for a hub: at most `limit` of its log looked at,
    /// elements in `scopes` only, public ones as documents, the others (deleted, made
    /// private or hidden) as deletions; none that came from `hub`.
    pub fn sync_changes_for(
        &self,
        hub: &str,
        since: ChangeSeq,
        limit: usize,
        scopes: &[Scope],
    ) -> Result<PullResponse> {
        let limit = limit.clamp(1, copi_sync::protocol::MAX_BATCH);
        let (scope_sql, scope_args) = scope_clause(scopes);
        self.read(|c| {
            let end = last_seq(c)?;
            let rows: Vec<(i64, String, String, String)> = c
                .prepare_cached(
                    "SELECT seq, entity, entity_id, origin FROM changes WHERE seq > ?1 AND seq <= ?2
                     ORDER BY seq LIMIT ?3",
                )?
                .query_map(params![since.0, end, limit as i64], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })?
                .collect::<Result<_, _>>()?;
            let done = rows.len() < limit;
            let next_since = if done {
                end.max(since.0)
            } else {
                rows.last().map_or(since.0, |r| r.0)
            };
            // The latest change of each entity, in log order.
            let mut latest: HashMap<String, (i64, EntityKind)> = HashMap::new();
            for (seq, entity, id, origin) in &rows {
                if let Some(kind) = EntityKind::parse(entity).filter(|_| origin != hub) {
                    latest.insert(id.clone(), (*seq, kind));
                }
            }
            let mut ids: Vec<(i64, String, EntityKind)> =
                latest.into_iter().map(|(id, (seq, kind))| (seq, id, kind)).collect();
            ids.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
            // An element without the column a scope reads (a person without an address) is
            // in no territory.
            let in_scope_sql = format!("SELECT coalesce({scope_sql}, 0) FROM elements WHERE id = ?");
            let mut changes = Vec::with_capacity(ids.len());
            for (seq, id, entity) in ids {
                // Whatever hangs off an element is in the territory of its element.
                let element = match entity {
                    EntityKind::Element => Some(id.clone()),
                    _ => records::element_of(c, entity, &id)?,
                };
                let in_scope: Option<bool> = match &element {
                    Some(e) => {
                        let mut args: Vec<String> = scope_args.clone();
                        args.push(e.clone());
                        c.prepare_cached(&in_scope_sql)?
                            .query_row(rusqlite::params_from_iter(args.iter()), |r| r.get(0))
                            .optional()?
                    }
                    None => None,
                };
                let change = |op, doc| WireChange {
                    entity,
                    op,
                    id: id.clone(),
                    seq: ChangeSeq(seq),
                    doc,
                };
                match (records::present(c, entity, &id)?, in_scope) {
                    // Gone, or hanging off an element that is not here: nothing public.
                    (false, _) | (true, None) => changes.push(change(ChangeOp::Delete, None)),
                    (true, Some(false)) => {}
                    (true, Some(true)) => match self.leaving_doc(c, entity, &id)? {
                        Some(doc) => changes.push(change(ChangeOp::Update, Some(doc))),
                        None => changes.push(change(ChangeOp::Delete, None)),
                    },
                }
            }
            Ok(PullResponse {
                main: self.instance.id.clone(),
                changes,
                next_since: ChangeSeq(next_since),
                done,
            })
        })
    }

    /// The document of `entity` `id` as it may leave this replica now, or `None` when it
    /// may not (private, moderated, not public, gone): the one rule of pushes and pulls.
    fn leaving_doc(&self, c: &Connection, entity: EntityKind, id: &str) -> Result<Option<Value>> {
        match entity {
            EntityKind::Element => match standing(c, id)? {
                Some(true) => elements::load(c, id)?.map(|e| public_json(c, e)).transpose(),
                _ => Ok(None),
            },
            _ => records::leaving_doc(c, &self.instance.id, entity, id),
        }
    }

    /// A hub's next outgoing batch after `after` (see [`Replica::outgoing`]).
    pub fn sync_outgoing(&self, after: ChangeSeq, limit: usize) -> Result<Batch> {
        let me = self.instance.id.clone();
        let limit = limit.clamp(1, copi_sync::protocol::MAX_BATCH);
        let (batch, published) = self.read(|c| {
            let end = last_seq(c)?;
            let mut to = after.0;
            let mut out: Vec<WireChange> = Vec::new();
            let mut at: HashMap<String, usize> = HashMap::new();
            let mut published = Vec::new();
            let mut bytes = 0usize;
            let mut cursor = after.0;
            'scan: loop {
                let rows: Vec<(i64, String, String)> = c
                    .prepare_cached(
                        "SELECT seq, entity, entity_id FROM changes WHERE seq > ?1 AND seq <= ?2 AND origin = ?3
                         ORDER BY seq LIMIT 500",
                    )?
                    .query_map(params![cursor, end, me], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                    .collect::<Result<_, _>>()?;
                let Some(last) = rows.last() else {
                    to = end.max(after.0);
                    break;
                };
                cursor = last.0;
                for (seq, entity, id) in rows {
                    let kind = EntityKind::parse(&entity);
                    let Some(kind) = kind.filter(|_| !at.contains_key(&id)) else {
                        to = seq;
                        continue;
                    };
                    if out.len() >= limit || bytes >= BATCH_BYTES {
                        break 'scan;
                    }
                    to = seq;
                    let was_published: bool = c
                        .prepare_cached("SELECT EXISTS(SELECT 1 FROM sync_published WHERE entity_id = ?1)")?
                        .query_row([&id], |r| r.get(0))?;
                    let change = match self.leaving_doc(c, kind, &id)? {
                        Some(doc) => {
                            bytes += doc.to_string().len();
                            published.push(id.clone());
                            WireChange {
                                entity: kind,
                                op: ChangeOp::Update,
                                id: id.clone(),
                                seq: ChangeSeq(seq),
                                doc: Some(doc),
                            }
                        }
                        None if was_published => WireChange {
                            entity: kind,
                            op: ChangeOp::Delete,
                            id: id.clone(),
                            seq: ChangeSeq(seq),
                            doc: None,
                        },
                        None => continue,
                    };
                    at.insert(id, out.len());
                    out.push(change);
                }
            }
            // A later change of an entity already in the batch is covered by its document
            // (read now).
            Ok((
                Batch {
                    id: BatchId::new(&me, after, ChangeSeq(to)),
                    from_seq: after,
                    to_seq: ChangeSeq(to),
                    changes: out,
                },
                published,
            ))
        })?;
        if !published.is_empty() {
            // Recorded before sending: at worst a withdrawal is sent for an element the
            // main never received, which changes nothing there.
            self.write(|tx| {
                let mut stmt = tx.prepare_cached("INSERT OR IGNORE INTO sync_published (entity_id) VALUES (?1)")?;
                for id in &published {
                    stmt.execute([id])?;
                }
                Ok(())
            })?;
        }
        Ok(batch)
    }

    /// A hub applies what it pulled and moves its pull checkpoint, in one transaction.
    pub fn sync_apply_pulled(&self, main: &str, changes: &[WireChange], next_since: ChangeSeq) -> Result<Applied> {
        self.write(|tx| {
            let cp = checkpoint_of(tx, main)?;
            if next_since < cp.pulled {
                // An older answer arriving late: already applied.
                return Ok(Applied::default());
            }
            let applied = self.apply_in(tx, main, changes, Policy::Hub { pushed: cp.pushed })?;
            set_checkpoint(tx, main, "pulled", next_since)?;
            Ok(applied)
        })
    }

    pub fn sync_checkpoint(&self, peer: &str) -> Result<SyncCheckpoint> {
        self.read(|c| checkpoint_of(c, peer))
    }

    pub fn set_sync_pushed(&self, peer: &str, to: ChangeSeq) -> Result<()> {
        self.write(|tx| set_checkpoint(tx, peer, "pushed", to))
    }

    /// Remembers how the last round went, for the admin.
    pub fn record_sync_round(&self, result: std::result::Result<&RoundReport, &str>) -> Result<()> {
        let now = crate::model::now_seconds();
        self.write(|tx| {
            tx.execute("INSERT OR IGNORE INTO sync_status (id) VALUES (1)", [])?;
            match result {
                Ok(report) => {
                    let text = serde_json::to_string(report).map_err(|e| Error::Corrupt(e.to_string()))?;
                    tx.execute(
                        "UPDATE sync_status SET main = ?1, last_attempt = ?2, last_success = ?2, last_error = NULL,
                         last_report = ?3 WHERE id = 1",
                        params![report.main, now, text],
                    )?;
                }
                Err(message) => {
                    tx.execute(
                        "UPDATE sync_status SET last_attempt = ?1, last_error = ?2 WHERE id = 1",
                        params![now, message],
                    )?;
                }
            }
            Ok(())
        })
    }

    /// Sync state for `/api/v1/status`: last success and error, changes not yet
    /// acknowledged by the main, conflicts kept, the last round's report.
    pub fn sync_status(&self) -> Result<Value> {
        let me = self.instance.id.clone();
        self.read(|c| {
            type Row = (Option<String>, Option<i64>, Option<i64>, Option<String>, Option<String>);
            let row: Option<Row> = c
                .query_row(
                    "SELECT main, last_attempt, last_success, last_error, last_report FROM sync_status WHERE id = 1",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                )
                .optional()?;
            let (main, attempt, success, error, report) = row.unwrap_or_default();
            let pushed = match &main {
                Some(m) => checkpoint_of(c, m)?.pushed,
                None => ChangeSeq(0),
            };
            let pending: i64 = c.query_row(
                "SELECT count(*) FROM changes WHERE seq > ?1 AND origin = ?2",
                params![pushed.0, me],
                |r| r.get(0),
            )?;
            let conflicts: i64 = c.query_row("SELECT count(*) FROM sync_conflicts", [], |r| r.get(0))?;
            let hubs: i64 = c.query_row("SELECT count(*) FROM sync_batches", [], |r| r.get(0))?;
            Ok(json!({
                "main": main,
                "last_attempt": attempt,
                "last_success": success,
                "last_error": error,
                "pending_changes": pending,
                "conflicts": conflicts,
                "batches_received": hubs,
                "last_round": report.and_then(|r| serde_json::from_str::<Value>(&r).ok()),
            }))
        })
    }
}

impl Replica for Store {
    type Error = Error;

    fn instance_id(&self) -> String {
        self.instance.id.clone()
    }

    fn checkpoint(&self, peer: &str) -> Result<SyncCheckpoint> {
        self.sync_checkpoint(peer)
    }

    fn outgoing(&self, after: ChangeSeq, limit: usize) -> Result<Batch> {
        self.sync_outgoing(after, limit)
    }

    fn set_pushed(&self, peer: &str, to: ChangeSeq) -> Result<()> {
        self.set_sync_pushed(peer, to)
    }

    fn apply_pulled(&self, peer: &str, changes: &[WireChange], next_since: ChangeSeq) -> Result<Applied> {
        self.sync_apply_pulled(peer, changes, next_since)
    }
}

#[cfg(test)]
mod tests {
    use copi_sync::{ChangeFeed, PushRequest, Replica};
    use serde_json::{json, Map, Value};

    use super::*;
    use crate::model::Kind;

    fn store_seq(store: &Store) -> Result<ChangeSeq> {
        ChangeFeed::last_seq(store)
    }

    fn doc(v: Value) -> Map<String, Value> {
        v.as_object().expect("object").clone()
    }

    fn crest(name: &str) -> Map<String, Value> {
        doc(
            json!({"name": name, "address": {"addressLocality": "Crest", "postalCode": "26400",
            "codeInsee": "26108", "addressCountry": "FR"}}),
        )
    }

    fn org(name: &str) -> Map<String, Value> {
        let mut d = crest(name);
        d.insert("type".into(), json!("NGO"));
        d
    }

    fn stores() -> (tempfile::TempDir, Store, tempfile::TempDir, Store) {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let hub = Store::open(a.path()).unwrap();
        let main = Store::open(b.path()).unwrap();
        (a, hub, b, main)
    }

    fn push_all(hub: &Store, main: &Store, limit: usize) -> usize {
        let welcome = main.sync_hello(&hub.instance().id).unwrap();
        let mut after = welcome.pushed_to;
        let mut batches = 0;
        loop {
            let batch = hub.outgoing(after, limit).unwrap();
            if batch.to_seq <= after {
                let report = RoundReport {
                    main: welcome.main.clone(),
                    ..RoundReport::default()
                };
                hub.record_sync_round(Ok(&report)).unwrap();
                return batches;
            }
            let resp = main
                .sync_accept_push(&PushRequest {
                    hub: hub.instance().id.clone(),
                    base: ChangeSeq(0),
                    batch,
                })
                .unwrap();
            after = resp.applied_to;
            hub.set_pushed(&welcome.main, after).unwrap();
            batches += 1;
        }
    }

    #[test]
    fn only_public_elements_leave_and_links_to_private_ones_are_dropped() {
        let (_a, hub, _b, main) = stores();
        let public = hub.create_element(Kind::Organization, org("Les Amis"), None).unwrap();
        let mut secret = org("Le Cercle");
        secret.insert("preferences".into(), json!({"private": true}));
        let private = hub.create_element(Kind::Organization, secret, None).unwrap();
        hub.link(&public.id, "members", &private.id, Map::new()).unwrap();
        push_all(&hub, &main, 500);
        let got = main
            .get_element(&public.id, crate::store::Visibility::All)
            .unwrap()
            .expect("public pushed");
        assert!(
            got.links.is_empty(),
            "link to the private element dropped: {:?}",
            got.links
        );
        assert!(main
            .get_element(&private.id, crate::store::Visibility::All)
            .unwrap()
            .is_none());
        // Changes applied on the main carry the hub as origin: never sent back to it.
        let back = main
            .sync_changes_for(&hub.instance().id, ChangeSeq(0), 500, &[])
            .unwrap();
        assert!(back.changes.is_empty(), "{:?}", back.changes);
        // Another hub gets it.
        let other = main.sync_changes_for("another-hub", ChangeSeq(0), 500, &[]).unwrap();
        assert_eq!(other.changes.len(), 1);
        assert!(other.done);
    }

    #[test]
    fn a_replayed_batch_changes_nothing_and_a_gap_is_refused() {
        let (_a, hub, _b, main) = stores();
        hub.create_element(Kind::Organization, org("Un"), None).unwrap();
        hub.create_element(Kind::Project, crest("Deux"), None).unwrap();
        let batch = hub.outgoing(ChangeSeq(0), 500).unwrap();
        assert_eq!(batch.changes.len(), 2);
        let req = PushRequest {
            hub: hub.instance().id.clone(),
            base: ChangeSeq(0),
            batch,
        };
        let first = main.sync_accept_push(&req).unwrap();
        assert!(!first.replayed);
        assert_eq!(first.applied, 2);
        let seq = store_seq(&main).unwrap();
        let again = main.sync_accept_push(&req).unwrap();
        assert!(again.replayed);
        assert_eq!(again.applied_to, first.applied_to);
        assert_eq!(store_seq(&main).unwrap(), seq, "nothing written");
        let mut gap = req.clone();
        gap.batch.from_seq = ChangeSeq(first.applied_to.0 + 5);
        gap.batch.to_seq = ChangeSeq(first.applied_to.0 + 9);
        gap.batch.id = BatchId::new(&gap.hub, gap.batch.from_seq, gap.batch.to_seq);
        assert!(matches!(main.sync_accept_push(&gap), Err(Error::Conflict(_))));
        let mut forged = req;
        forged.batch.id = BatchId("someone-else:0-1".into());
        assert!(matches!(main.sync_accept_push(&forged), Err(Error::BadRequest(_))));
    }

    #[test]
    fn pulls_are_scoped_idempotent_and_withdrawals_travel() {
        let (_a, hub, _b, main) = stores();
        let here = main
            .create_element(
                Kind::Event,
                {
                    let mut d = crest("Fête");
                    d.insert("type".into(), json!("festival"));
                    d.insert("startDate".into(), json!("2030-06-01T10:00:00+02:00"));
                    d.insert("endDate".into(), json!("2030-06-01T12:00:00+02:00"));
                    d
                },
                None,
            )
            .unwrap();
        let far = main
            .create_element(
                Kind::Organization,
                doc(json!({"name": "Loin", "type": "NGO", "address": {"addressLocality": "Lyon", "postalCode": "69001", "codeInsee": "69381", "addressCountry": "FR"}})),
                None,
            )
            .unwrap();
        let scopes = vec!["city:26108".parse().unwrap()];
        let resp = main
            .sync_changes_for(&hub.instance().id, ChangeSeq(0), 1, &scopes)
            .unwrap();
        assert!(!resp.done, "paged: one change looked at");
        let mut since = ChangeSeq(0);
        loop {
            let resp = main.sync_changes_for(&hub.instance().id, since, 1, &scopes).unwrap();
            hub.apply_pulled(&resp.main, &resp.changes, resp.next_since).unwrap();
            since = resp.next_since;
            if resp.done {
                break;
            }
        }
        assert!(hub
            .get_element(&here.id, crate::store::Visibility::All)
            .unwrap()
            .is_some());
        assert!(
            hub.get_element(&far.id, crate::store::Visibility::All)
                .unwrap()
                .is_none(),
            "out of scope"
        );
        // Applying the same answer again changes nothing.
        let all = main
            .sync_changes_for(&hub.instance().id, ChangeSeq(0), 500, &scopes)
            .unwrap();
        let seq = store_seq(&hub).unwrap();
        let applied = hub.apply_pulled(&all.main, &all.changes, all.next_since).unwrap();
        assert_eq!(applied.applied, 0);
        assert_eq!(store_seq(&hub).unwrap(), seq);
        // What the hub pulled is not pushed back.
        let out = hub.outgoing(ChangeSeq(0), 500).unwrap();
        assert!(out.changes.is_empty());
        // Deleted on the main: deleted on the hub.
        main.delete_element(&here.id).unwrap();
        let resp = main.sync_changes_for(&hub.instance().id, since, 500, &scopes).unwrap();
        assert_eq!(resp.changes.len(), 1);
        hub.apply_pulled(&resp.main, &resp.changes, resp.next_since).unwrap();
        assert!(hub
            .get_element(&here.id, crate::store::Visibility::All)
            .unwrap()
            .is_none());
    }

    #[test]
    fn an_element_made_private_is_withdrawn_and_conflicts_keep_the_loser() {
        let (_a, hub, _b, main) = stores();
        let e = hub.create_element(Kind::Organization, org("Atelier"), None).unwrap();
        push_all(&hub, &main, 500);
        // The main edits it; the hub edits it too without having pulled: a conflict on the main.
        main.update_element(&e.id, doc(json!({"shortDescription": "from the main"})))
            .unwrap();
        hub.update_element(&e.id, doc(json!({"shortDescription": "from the hub"})))
            .unwrap();
        push_all(&hub, &main, 500);
        let got = main.get_element(&e.id, crate::store::Visibility::All).unwrap().unwrap();
        assert_eq!(got.doc["shortDescription"], "from the hub", "the later arrival wins");
        let status = main.sync_status().unwrap();
        assert_eq!(status["conflicts"], 1, "the main's version is kept");
        // Made private on the hub: withdrawn from the main.
        hub.update_element(&e.id, doc(json!({"preferences": {"private": true}})))
            .unwrap();
        push_all(&hub, &main, 500);
        assert!(main
            .get_element(&e.id, crate::store::Visibility::All)
            .unwrap()
            .is_none());
        assert_eq!(hub.sync_status().unwrap()["pending_changes"], 0);
    }
}

/// A conflict sync settled: which version was kept, and the one that lost.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncConflict {
    pub id: i64,
    /// What it is about: `element`, `post`, `comment`, `attachment`, `proposal`, `action`.
    pub entity: String,
    pub entity_id: String,
    pub peer: String,
    /// `local` or `incoming`: which version won.
    pub kept: String,
    /// The losing document (none when the loser was a deletion).
    pub losing_doc: Option<Value>,
    pub at: i64,
}

impl Store {
    /// The conflicts sync settled, newest first.
    pub fn sync_conflicts(&self, limit: usize) -> Result<Vec<SyncConflict>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, entity_id, peer, kept, losing_doc, at, entity FROM sync_conflicts
                 ORDER BY id DESC LIMIT ?1",
            )?;
            let rows = stmt.query_map([limit.clamp(1, 500) as i64], |r| {
                Ok((
                    (r.get::<_, i64>(0)?, r.get::<_, String>(6)?),
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, i64>(5)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let ((id, entity), entity_id, peer, kept, doc, at) = row?;
                out.push(SyncConflict {
                    id,
                    entity,
                    entity_id,
                    peer,
                    kept,
                    losing_doc: doc.and_then(|d| serde_json::from_str(&d).ok()),
                    at,
                });
            }
            Ok(out)
        })
    }

    /// The admin picks the losing version of an element's conflict: it becomes the
    /// element's document (a local change, which the next round sends on); the conflict
    /// stays recorded. A conflict about anything else: [`Store::pick_sync_loser_entity`].
    pub fn pick_sync_loser(&self, conflict: i64) -> Result<Element> {
        let (entity, (id, _)) = self.conflict_losing(conflict)?;
        if entity != EntityKind::Element {
            return Err(Error::BadRequest(format!(
                "conflict {conflict} is about a {}, not an element",
                entity.as_str()
            )));
        }
        let id = ElementId::parse(&id).ok_or_else(|| Error::Corrupt(format!("conflict {conflict}: id {id}")))?;
        self.pick_sync_loser_entity(conflict)?;
        self.get_element(&id, super::Visibility::All)?
            .ok_or_else(|| Error::not_found(format!("element {id}")))
    }

    fn conflict_losing(&self, conflict: i64) -> Result<(EntityKind, (String, Option<String>))> {
        let found: Option<(String, String, Option<String>)> = self.read(|c| {
            Ok(
                c.prepare_cached("SELECT entity, entity_id, losing_doc FROM sync_conflicts WHERE id = ?1")?
                    .query_row([conflict], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                    .optional()?,
            )
        })?;
        let (entity, id, doc) = found.ok_or_else(|| Error::not_found(format!("conflict {conflict}")))?;
        let entity = EntityKind::parse(&entity)
            .ok_or_else(|| Error::Corrupt(format!("conflict {conflict}: entity {entity}")))?;
        Ok((entity, (id, doc)))
    }

    /// The admin picks the losing version of a conflict about any entity: it becomes the
    /// entity's (a local change, which the next round sends on); the conflict stays
    /// recorded. Returns the entity's kind and its document now.
    pub fn pick_sync_loser_entity(&self, conflict: i64) -> Result<(EntityKind, Value)> {
        let (entity, (entity_id, doc)) = self.conflict_losing(conflict)?;
        let id = ElementId::parse(&entity_id)
            .ok_or_else(|| Error::Corrupt(format!("conflict {conflict}: id {entity_id}")))?;
        let doc: Value = doc
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| Error::Corrupt(format!("conflict {conflict}: {e}")))?
            .ok_or_else(|| Error::BadRequest("the losing version was a deletion: delete it instead".into()))?;
        if entity == EntityKind::Element {
            let Value::Object(mut patch) = doc else {
                return Err(Error::Corrupt(format!("conflict {conflict}: not a document")));
            };
            for reserved in crate::model::RESERVED {
                patch.remove(*reserved);
            }
            return Ok((entity, self.update_element(&id, patch)?.to_json()));
        }
        let me = self.instance.id.clone();
        self.write(|tx| {
            let received = self
                .receive(tx, entity, &id, &doc)?
                .ok_or_else(|| Error::BadRequest("the losing version is not public: edit it instead".into()))?;
            let mut written = Vec::new();
            self.write_received(tx, &me, &id, received, &mut written)?;
            current_json(tx, entity, id.as_str())?
                .map(|v| (entity, v))
                .ok_or_else(|| Error::BadRequest("the losing version waits for its element".into()))
        })
    }
}

#[cfg(test)]
mod conflict_tests {
    use serde_json::json;

    use crate::model::Kind;
    use crate::store::Store;

    #[test]
    fn the_admin_sees_a_losing_version_and_can_pick_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let e = store
            .create_element(
                Kind::Organization,
                json!({"name": "Café des Noyers", "type": "NGO"})
                    .as_object()
                    .unwrap()
                    .clone(),
                None,
            )
            .unwrap();
        let losing = json!({"name": "Café associatif des Noyers", "shortDescription": "ouvert le samedi"});
        store
            .write(|tx| {
                tx.execute(
                    "INSERT INTO sync_conflicts (entity, entity_id, peer, kept, losing_doc, seq, at)
                     VALUES ('element', ?1, 'main', 'incoming', ?2, 1, 0)",
                    [e.id.as_str(), losing.to_string().as_str()],
                )?;
                Ok(())
            })
            .unwrap();
        let list = store.sync_conflicts(10).unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(
            list[0].losing_doc.as_ref().unwrap()["name"],
            "Café associatif des Noyers"
        );
        let picked = store.pick_sync_loser(list[0].id).unwrap();
        assert_eq!(picked.doc["name"], "Café associatif des Noyers");
        assert_eq!(picked.doc["shortDescription"], "ouvert le samedi");
        assert!(store.pick_sync_loser(9999).is_err(), "an unknown conflict");
    }
}
