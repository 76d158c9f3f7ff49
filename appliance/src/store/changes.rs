//! The change log: one row per change, appended in the transaction that makes it.

use copi_sync::{Change, ChangeFeed, ChangeOp, ChangeSeq, EntityKind};
use rusqlite::Connection;

use super::Store;
use crate::error::{Error, Result};

/// Appends a change and returns its sequence number.
pub(super) fn record(conn: &Connection, origin: &str, entity: EntityKind, id: &str, op: ChangeOp) -> Result<i64> {
    conn.prepare_cached("INSERT INTO changes (entity, entity_id, op, origin, at) VALUES (?1, ?2, ?3, ?4, ?5)")?
        .execute(rusqlite::params![
            entity.as_str(),
            id,
            op.as_str(),
            origin,
            crate::model::now_seconds()
        ])?;
    Ok(conn.last_insert_rowid())
}

impl ChangeFeed for Store {
    type Error = Error;

    fn changes_since(&self, after: ChangeSeq, limit: usize) -> Result<Vec<Change>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT seq, entity, entity_id, op, origin FROM changes WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )?;
            let rows = stmt.query_map(rusqlite::params![after.0, limit as i64], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (seq, entity, entity_id, op, origin) = row?;
                let entity = EntityKind::parse(&entity)
                    .ok_or_else(|| Error::Corrupt(format!("change {seq}: unknown entity {entity}")))?;
                let op =
                    ChangeOp::parse(&op).ok_or_else(|| Error::Corrupt(format!("change {seq}: unknown op {op}")))?;
                out.push(Change {
                    seq: ChangeSeq(seq),
                    entity,
                    entity_id,
                    op,
                    origin,
                });
            }
            Ok(out)
        })
    }

    fn last_seq(&self) -> Result<ChangeSeq> {
        self.read(|c| {
            Ok(ChangeSeq(c.query_row(
                "SELECT coalesce(max(seq), 0) FROM changes",
                [],
                |r| r.get(0),
            )?))
        })
    }
}
