//! Journal posts, comments and documents.

use copi_sync::{ChangeOp, EntityKind};
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{Map, Value};

use super::{changes, Store};
use crate::error::{Error, Result};
use crate::model::{self, ElementId, Record, RecordFacts, RecordKind};

fn entity(kind: RecordKind) -> EntityKind {
    match kind {
        RecordKind::Post => EntityKind::Post,
        RecordKind::Comment => EntityKind::Comment,
        RecordKind::Document => EntityKind::Attachment,
    }
}

fn save(conn: &Connection, origin: &str, record: &Record, facts: &RecordFacts) -> Result<()> {
    let exists: bool = conn
        .prepare_cached("SELECT EXISTS(SELECT 1 FROM records WHERE id = ?1)")?
        .query_row([record.id.as_str()], |r| r.get(0))?;
    let op = if exists { ChangeOp::Update } else { ChangeOp::Create };
    let seq = changes::record(conn, origin, entity(record.kind), record.id.as_str(), op)?;
    let doc = serde_json::to_string(&record.doc).map_err(|e| Error::Corrupt(e.to_string()))?;
    conn.prepare_cached(
        "INSERT INTO records (id, kind, element_id, parent_id, author, audience, doc, created_seq, seq)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)
         ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, element_id = excluded.element_id,
             parent_id = excluded.parent_id, author = excluded.author, audience = excluded.audience,
             doc = excluded.doc, seq = excluded.seq",
    )?
    .execute(params![
        record.id.as_str(),
        record.kind.collection(),
        facts.element.as_ref().map(|e| e.as_str()),
        facts.parent.as_ref().map(|e| e.as_str()),
        facts.author,
        facts.audience.as_str(),
        doc,
        seq,
    ])?;
    Ok(())
}

fn kind_from(collection: &str) -> Result<RecordKind> {
    RecordKind::ALL
        .into_iter()
        .find(|k| k.collection() == collection)
        .ok_or_else(|| Error::Corrupt(format!("unknown record kind {collection}")))
}

fn row_to_record(id: String, kind: String, doc: String) -> Result<Record> {
    let kind = kind_from(&kind)?;
    let doc: Map<String, Value> =
        serde_json::from_str(&doc).map_err(|e| Error::Corrupt(format!("record {id}: {e}")))?;
    let id = ElementId::parse(&id).ok_or_else(|| Error::Corrupt(format!("bad stored record id {id}")))?;
    Ok(Record { id, kind, doc })
}

/// Deletes the records that belong to an element: its posts and files, the comments on it
/// and on its posts.
pub(super) fn delete_for_element(conn: &Connection, origin: &str, element: &str) -> Result<()> {
    let ids: Vec<(String, String)> = {
        let mut stmt = conn.prepare_cached(
            "SELECT id, kind FROM records WHERE element_id = ?1
             UNION SELECT c.id, c.kind FROM records c JOIN records p ON c.parent_id = p.id WHERE p.element_id = ?1",
        )?;
        let rows = stmt.query_map([element], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<Result<_, _>>()?
    };
    for (id, kind) in ids {
        conn.prepare_cached("DELETE FROM records WHERE id = ?1")?
            .execute([&id])?;
        changes::record(conn, origin, entity(kind_from(&kind)?), &id, ChangeOp::Delete)?;
    }
    Ok(())
}

impl Store {
    /// Creates a record (a post, a comment, a document) from its document.
    pub fn create_record(&self, kind: RecordKind, mut doc: Map<String, Value>) -> Result<Record> {
        doc.entry("created")
            .or_insert_with(|| Value::from(model::now_seconds()));
        let facts = model::check_record(kind, &doc)?;
        let record = Record {
            id: ElementId::generate(),
            kind,
            doc,
        };
        self.write(|tx| save(tx, &self.instance.id, &record, &facts))?;
        Ok(record)
    }

    /// Writes an imported record as it is. Runs inside the caller's transaction.
    pub(crate) fn put_record(&self, tx: &Connection, record: &Record, facts: &RecordFacts) -> Result<()> {
        save(tx, &self.instance.id, record, facts)
    }

    pub fn get_record(&self, id: &ElementId) -> Result<Option<Record>> {
        self.read(|c| {
            let row: Option<(String, String, String)> = c
                .prepare_cached("SELECT id, kind, doc FROM records WHERE id = ?1")?
                .query_row([id.as_str()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()?;
            row.map(|(id, kind, doc)| row_to_record(id, kind, doc)).transpose()
        })
    }

    /// The records of one kind that belong to an element, oldest first. Hidden ones
    /// (moderation) are left out, with the replies to a hidden comment.
    pub fn records_of(&self, element: &ElementId, kind: RecordKind) -> Result<Vec<Record>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT r.id, r.kind, r.doc FROM records r WHERE r.element_id = ?1 AND r.kind = ?2
                   AND r.moderation IS NULL
                   AND NOT EXISTS (SELECT 1 FROM records p WHERE p.id = r.parent_id AND p.moderation IS NOT NULL)
                 ORDER BY r.created_seq",
            )?;
            let rows = stmt.query_map([element.as_str(), kind.collection()], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (id, kind, doc) = row?;
                out.push(row_to_record(id, kind, doc)?);
            }
            Ok(out)
        })
    }

    /// How many records of each kind the store holds.
    pub fn count_records(&self) -> Result<Vec<(RecordKind, u64)>> {
        self.read(|c| {
            let mut out = Vec::new();
            for kind in RecordKind::ALL {
                let n: i64 = c
                    .prepare_cached("SELECT count(*) FROM records WHERE kind = ?1")?
                    .query_row([kind.collection()], |r| r.get(0))?;
                out.push((kind, n as u64));
            }
            Ok(out)
        })
    }

    /// Calls `f` on every record, oldest first, reading in batches.
    pub fn for_each_record(&self, mut f: impl FnMut(Record) -> Result<()>) -> Result<()> {
        let mut after = 0i64;
        loop {
            let batch: Vec<(i64, Record)> = self.read(|c| {
                let mut stmt = c.prepare_cached("SELECT id, kind, doc, created_seq FROM records WHERE created_seq > ?1 ORDER BY created_seq LIMIT 500")?;
                let rows = stmt.query_map([after], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
                let mut out = Vec::new();
                for row in rows {
                    let (id, kind, doc, seq): (String, String, String, i64) = row?;
                    out.push((seq, row_to_record(id, kind, doc)?));
                }
                Ok(out)
            })?;
            if batch.is_empty() {
                return Ok(());
            }
            for (seq, r) in batch {
                after = seq;
                f(r)?;
            }
        }
    }
}
