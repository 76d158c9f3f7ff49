//! The `communecter` connector's durable state (the [`ListingStore`] port of
//! `sync/src/communecter.rs`): per main, each territory's listing of each collection (its
//! generation, next page, phase), the ids it saw with their fingerprints, what a pull
//! learnt staged under the step of its answer, and the collection of what this hub saved
//! upstream. Staged steps are settled against the hub's pull checkpoint for the main,
//! which the round commits with the applied changes: so the state never runs ahead of
//! what the hub holds.

use std::collections::HashMap;

use copi_sync::communecter::{Listing, ListingPhase, ListingStore, StagedOp};
use copi_sync::ChangeSeq;
use rusqlite::{params, Connection, OptionalExtension};

use super::Store;
use crate::error::{Error, Result};

/// A staged row as stored.
type StagedRow = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<String>,
);

fn phase(text: &str) -> Result<ListingPhase> {
    ListingPhase::parse(text).ok_or_else(|| Error::Corrupt(format!("communecter listing phase \"{text}\"")))
}

/// Applies the staged steps up to `applied`, drops the others.
fn settle(tx: &Connection, main: &str, applied: i64) -> Result<()> {
    let rows: Vec<StagedRow> = tx
        .prepare_cached(
            "SELECT op, territory, collection, id, fingerprint, generation, next_index, phase
             FROM communecter_staged WHERE main = ?1 AND step <= ?2 ORDER BY step, pos",
        )?
        .query_map(params![main, applied], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
            ))
        })?
        .collect::<std::result::Result<_, _>>()?;
    let corrupt = || Error::Corrupt("communecter_staged: a row lacks its fields".into());
    for (op, territory, collection, id, fingerprint, generation, next_index, ph) in rows {
        match op.as_str() {
            "seen" => {
                let (id, fingerprint, generation) = (
                    id.ok_or_else(corrupt)?,
                    fingerprint.ok_or_else(corrupt)?,
                    generation.ok_or_else(corrupt)?,
                );
                tx.prepare_cached(
                    "INSERT INTO communecter_seen (main, territory, collection, id, fingerprint, generation)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (main, territory, collection, id)
                     DO UPDATE SET fingerprint = excluded.fingerprint, generation = excluded.generation",
                )?
                .execute(params![main, territory, collection, id, fingerprint, generation])?;
            }
            "forget" => {
                tx.prepare_cached(
                    "DELETE FROM communecter_seen WHERE main = ?1 AND territory = ?2 AND collection = ?3 AND id = ?4",
                )?
                .execute(params![main, territory, collection, id.ok_or_else(corrupt)?])?;
            }
            "cursor" => {
                let ph = phase(&ph.ok_or_else(corrupt)?)?;
                tx.prepare_cached(
                    "UPDATE communecter_listings SET next_index = ?4, phase = ?5
                     WHERE main = ?1 AND territory = ?2 AND collection = ?3",
                )?
                .execute(params![
                    main,
                    territory,
                    collection,
                    next_index.ok_or_else(corrupt)?,
                    ph.as_str()
                ])?;
            }
            other => return Err(Error::Corrupt(format!("communecter_staged: op \"{other}\""))),
        }
    }
    tx.prepare_cached("DELETE FROM communecter_staged WHERE main = ?1")?
        .execute([main])?;
    Ok(())
}

impl ListingStore for &Store {
    type Error = Error;

    fn pushed_to(&self, main: &str) -> Result<ChangeSeq> {
        Ok(self.sync_checkpoint(main)?.pushed)
    }

    fn begin_pull(
        &self,
        main: &str,
        applied: ChangeSeq,
        territories: &[String],
        collections: &[&str],
        new_round: bool,
    ) -> Result<Vec<Listing>> {
        self.write(|tx| {
            settle(tx, main, applied.0)?;
            // Territories the hub no longer serves: their elements stay, unfollowed.
            let served = serde_json::to_string(territories).map_err(|e| Error::Corrupt(e.to_string()))?;
            for table in ["communecter_listings", "communecter_seen"] {
                tx.execute(
                    &format!(
                        "DELETE FROM {table} WHERE main = ?1
                         AND territory NOT IN (SELECT value FROM json_each(?2))"
                    ),
                    params![main, served],
                )?;
            }
            let mut out = Vec::with_capacity(territories.len() * collections.len());
            for territory in territories {
                for collection in collections {
                    tx.prepare_cached(
                        "INSERT OR IGNORE INTO communecter_listings
                         (main, territory, collection, generation, next_index, phase)
                         VALUES (?1, ?2, ?3, 0, 0, 'done')",
                    )?
                    .execute(params![main, territory, collection])?;
                    if new_round {
                        tx.prepare_cached(
                            "UPDATE communecter_listings SET generation = generation + 1, next_index = 0,
                             phase = 'listing'
                             WHERE main = ?1 AND territory = ?2 AND collection = ?3 AND phase = 'done'",
                        )?
                        .execute(params![main, territory, collection])?;
                    }
                    let (generation, next_index, ph): (i64, i64, String) = tx
                        .prepare_cached(
                            "SELECT generation, next_index, phase FROM communecter_listings
                             WHERE main = ?1 AND territory = ?2 AND collection = ?3",
                        )?
                        .query_row(params![main, territory, collection], |r| {
                            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                        })?;
                    out.push(Listing {
                        territory: territory.clone(),
                        collection: (*collection).to_owned(),
                        generation,
                        next_index: usize::try_from(next_index).unwrap_or(0),
                        phase: phase(&ph)?,
                    });
                }
            }
            Ok(out)
        })
    }

    fn fingerprints(
        &self,
        main: &str,
        territory: &str,
        collection: &str,
        ids: &[String],
    ) -> Result<HashMap<String, String>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT fingerprint FROM communecter_seen
                 WHERE main = ?1 AND territory = ?2 AND collection = ?3 AND id = ?4",
            )?;
            let mut out = HashMap::new();
            for id in ids {
                if let Some(fp) = stmt
                    .query_row(params![main, territory, collection, id], |r| r.get::<_, String>(0))
                    .optional()?
                {
                    out.insert(id.clone(), fp);
                }
            }
            Ok(out)
        })
    }

    fn vanished(
        &self,
        main: &str,
        territory: &str,
        collection: &str,
        generation: i64,
        limit: usize,
    ) -> Result<Vec<String>> {
        self.read(|c| {
            let rows = c
                .prepare_cached(
                    "SELECT id FROM communecter_seen
                     WHERE main = ?1 AND territory = ?2 AND collection = ?3 AND generation < ?4
                     ORDER BY id LIMIT ?5",
                )?
                .query_map(
                    params![main, territory, collection, generation, limit.min(10_000) as i64],
                    |r| r.get(0),
                )?
                .collect::<std::result::Result<_, _>>()?;
            Ok(rows)
        })
    }

    fn stage(&self, main: &str, step: ChangeSeq, ops: &[StagedOp]) -> Result<()> {
        self.write(|tx| {
            tx.prepare_cached("DELETE FROM communecter_staged WHERE main = ?1 AND step >= ?2")?
                .execute(params![main, step.0])?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO communecter_staged
                 (main, step, pos, op, territory, collection, id, fingerprint, generation, next_index, phase)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?;
            for (pos, op) in ops.iter().enumerate() {
                let none = None::<String>;
                match op {
                    StagedOp::Seen {
                        territory,
                        collection,
                        id,
                        fingerprint,
                        generation,
                    } => insert.execute(params![
                        main,
                        step.0,
                        pos as i64,
                        "seen",
                        territory,
                        collection,
                        id,
                        fingerprint,
                        generation,
                        None::<i64>,
                        none
                    ])?,
                    StagedOp::Forget {
                        territory,
                        collection,
                        id,
                    } => insert.execute(params![
                        main,
                        step.0,
                        pos as i64,
                        "forget",
                        territory,
                        collection,
                        id,
                        none,
                        None::<i64>,
                        None::<i64>,
                        none
                    ])?,
                    StagedOp::Cursor {
                        territory,
                        collection,
                        next_index,
                        phase,
                    } => insert.execute(params![
                        main,
                        step.0,
                        pos as i64,
                        "cursor",
                        territory,
                        collection,
                        none,
                        none,
                        None::<i64>,
                        *next_index as i64,
                        phase.as_str()
                    ])?,
                };
            }
            Ok(())
        })
    }

    fn remember_upstream(&self, main: &str, id: &str, collection: &str) -> Result<()> {
        self.write(|tx| {
            tx.prepare_cached(
                "INSERT INTO communecter_upstream (main, id, collection) VALUES (?1, ?2, ?3)
                 ON CONFLICT (main, id) DO UPDATE SET collection = excluded.collection",
            )?
            .execute(params![main, id, collection])?;
            Ok(())
        })
    }

    fn upstream_collection(&self, main: &str, id: &str) -> Result<Option<String>> {
        self.read(|c| {
            let saved: Option<String> = c
                .prepare_cached("SELECT collection FROM communecter_upstream WHERE main = ?1 AND id = ?2")?
                .query_row(params![main, id], |r| r.get(0))
                .optional()?;
            if saved.is_some() {
                return Ok(saved);
            }
            Ok(
                c.prepare_cached("SELECT collection FROM communecter_seen WHERE main = ?1 AND id = ?2 LIMIT 1")?
                    .query_row(params![main, id], |r| r.get(0))
                    .optional()?,
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use copi_sync::communecter::{Listing, ListingPhase, ListingStore, StagedOp};
    use copi_sync::ChangeSeq;

    use crate::store::Store;

    const MAIN: &str = "communecter:http://main";

    fn seen(id: &str, fp: &str, generation: i64) -> StagedOp {
        StagedOp::Seen {
            territory: "dep:974".into(),
            collection: "poi".into(),
            id: id.into(),
            fingerprint: fp.into(),
            generation,
        }
    }

    #[test]
    fn staged_steps_count_only_once_applied_and_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let territories = vec!["dep:974".to_owned()];
        {
            let store = Store::open(dir.path()).unwrap();
            let s = &store;
            let listings = s.begin_pull(MAIN, ChangeSeq(0), &territories, &["poi"], true).unwrap();
            assert_eq!(
                listings,
                vec![Listing {
                    territory: "dep:974".into(),
                    collection: "poi".into(),
                    generation: 1,
                    next_index: 0,
                    phase: ListingPhase::Listing,
                }]
            );
            s.stage(
                MAIN,
                ChangeSeq(1),
                &[
                    seen("a", "fa", 1),
                    seen("b", "fb", 1),
                    StagedOp::Cursor {
                        territory: "dep:974".into(),
                        collection: "poi".into(),
                        next_index: 2,
                        phase: ListingPhase::Checking,
                    },
                ],
            )
            .unwrap();
            // Step 2 is staged but its answer never applied (the hub's checkpoint stays 1).
            s.stage(MAIN, ChangeSeq(2), &[seen("c", "fc", 1)]).unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        let s = &store;
        let listings = s.begin_pull(MAIN, ChangeSeq(1), &territories, &["poi"], true).unwrap();
        assert_eq!(listings[0].phase, ListingPhase::Checking, "resumed, not restarted");
        assert_eq!(listings[0].next_index, 2);
        let ids = vec!["a".to_owned(), "b".to_owned(), "c".to_owned()];
        let fps = s.fingerprints(MAIN, "dep:974", "poi", &ids).unwrap();
        assert_eq!(fps.len(), 2, "{fps:?}");
        assert_eq!(fps["b"], "fb");
        assert!(s.vanished(MAIN, "dep:974", "poi", 1, 10).unwrap().is_empty());
        assert_eq!(
            s.vanished(MAIN, "dep:974", "poi", 2, 10).unwrap(),
            vec!["a".to_owned(), "b".to_owned()]
        );
        s.stage(
            MAIN,
            ChangeSeq(2),
            &[StagedOp::Forget {
                territory: "dep:974".into(),
                collection: "poi".into(),
                id: "a".into(),
            }],
        )
        .unwrap();
        s.begin_pull(MAIN, ChangeSeq(2), &territories, &["poi"], false).unwrap();
        assert_eq!(s.fingerprints(MAIN, "dep:974", "poi", &ids).unwrap().len(), 1);
        assert_eq!(s.upstream_collection(MAIN, "b").unwrap().as_deref(), Some("poi"));
        s.remember_upstream(MAIN, "z", "events").unwrap();
        assert_eq!(s.upstream_collection(MAIN, "z").unwrap().as_deref(), Some("events"));
        assert_eq!(s.upstream_collection(MAIN, "y").unwrap(), None);
        // A territory no longer served is forgotten.
        s.begin_pull(MAIN, ChangeSeq(2), &["city:97415".to_owned()], &["poi"], true)
            .unwrap();
        assert!(s.fingerprints(MAIN, "dep:974", "poi", &ids).unwrap().is_empty());
    }
}
