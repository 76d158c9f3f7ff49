//! The hub's feeds: the agenda (events by date), the live feed (the latest public journal
//! posts) and the map's points. Each filters privacy and territory in its SQL, never after
//! paging.

use rusqlite::types::Value as SqlValue;
use rusqlite::Connection;
use serde_json::{Map, Value};

use super::elements::{load_many, Page, Visibility};
use super::Store;
use crate::error::{Error, Result};
use crate::model::{Audience, Element, ElementId, Kind, Record, RecordKind};
use crate::territory::{self, Scope};

/// Largest page of the agenda (the iCalendar feeds read it page by page).
pub const AGENDA_MAX_LIMIT: usize = 1000;

/// Largest page of the live feed.
pub const LIVE_MAX_LIMIT: usize = 200;

/// What the agenda lists: events overlapping `[from, to)`, ordered by start.
#[derive(Debug, Clone)]
pub struct AgendaQuery {
    /// Events still running at or after this time (epoch seconds); all past ones when `None`.
    pub from: Option<i64>,
    /// Events starting before this time (epoch seconds); all coming ones when `None`.
    pub to: Option<i64>,
    /// Inside any of these territories (everywhere when empty).
    pub scopes: Vec<Scope>,
    /// Any of these tags (all events when empty), normalised.
    pub tags: Vec<String>,
    /// Only the events that belong to this element: its sub-events (`parentId`) and the
    /// events it organises (an `organizer` link on the event, or Communecter's
    /// `organizerId`).
    pub parent: Option<ElementId>,
    pub limit: usize,
    pub cursor: Option<String>,
    pub visibility: Visibility,
    /// Private events the reader may see anyway (they are a member).
    pub member_of: Vec<ElementId>,
}

impl Default for AgendaQuery {
    fn default() -> Self {
        AgendaQuery {
            from: None,
            to: None,
            scopes: Vec::new(),
            tags: Vec::new(),
            parent: None,
            limit: 20,
            cursor: None,
            visibility: Visibility::Public,
            member_of: Vec::new(),
        }
    }
}

/// What the live feed lists: public journal posts, newest first.
#[derive(Debug, Clone)]
pub struct LiveQuery {
    /// Posts on elements inside any of these territories (everywhere when empty).
    pub scopes: Vec<Scope>,
    pub limit: usize,
    pub cursor: Option<String>,
    pub visibility: Visibility,
}

impl Default for LiveQuery {
    fn default() -> Self {
        LiveQuery {
            scopes: Vec::new(),
            limit: 20,
            cursor: None,
            visibility: Visibility::Public,
        }
    }
}

/// A rectangle on the map, in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BBox {
    pub min_lon: f64,
    pub min_lat: f64,
    pub max_lon: f64,
    pub max_lat: f64,
}

/// What the map shows: geolocated elements, newest first.
#[derive(Debug, Clone)]
pub struct MapQuery {
    /// Any of these kinds (all when empty).
    pub kinds: Vec<Kind>,
    /// Any of these tags (all elements when empty), normalised.
    pub tags: Vec<String>,
    pub scopes: Vec<Scope>,
    pub bbox: Option<BBox>,
    pub visibility: Visibility,
    /// Private elements the reader may see anyway (they are a member).
    pub member_of: Vec<ElementId>,
    /// At most this many points.
    pub limit: usize,
}

/// One element on the map: columns only, no document.
#[derive(Debug, Clone, PartialEq)]
pub struct MapPoint {
    pub id: ElementId,
    pub kind: Kind,
    pub name: String,
    pub slug: String,
    pub type_: Option<String>,
    pub lat: f64,
    pub lon: f64,
    /// Events: the start, epoch seconds.
    pub start_at: Option<i64>,
}

/// Appends ` AND (…)` keeping the rows whose territory columns (of `table`, e.g. `e.`, or
/// `""`) lie in any of `scopes`. A city holds its municipal arrondissements (Paris, Lyon,
/// Marseille). Nothing is appended for no scope.
pub(super) fn push_scopes(sql: &mut String, args: &mut Vec<SqlValue>, table: &str, scopes: &[Scope]) {
    if scopes.is_empty() {
        return;
    }
    sql.push_str(" AND (0");
    for scope in scopes {
        let (column, code) = match scope {
            Scope::City(c) => {
                for a in territory::arrondissements_of(c) {
                    sql.push_str(&format!(" OR {table}insee = ?"));
                    args.push(a.insee.to_owned().into());
                }
                ("insee", c)
            }
            Scope::PostalCode(c) => ("postal_code", c),
            Scope::Department(c) => ("department", c),
            Scope::Region(c) => ("region", c),
        };
        sql.push_str(&format!(" OR {table}{column} = ?"));
        args.push(code.clone().into());
    }
    sql.push(')');
}

/// Appends ` AND <id_column> IN (elements with any of these tags)`.
fn push_tags(sql: &mut String, args: &mut Vec<SqlValue>, id_column: &str, tags: &[String]) {
    if tags.is_empty() {
        return;
    }
    sql.push_str(&format!(
        " AND {id_column} IN (SELECT element_id FROM element_tags WHERE tag IN ({}))",
        marks(tags.len())
    ));
    args.extend(tags.iter().map(|t| SqlValue::from(t.clone())));
}

fn marks(n: usize) -> String {
    vec!["?"; n].join(",")
}

fn bad_cursor(cursor: &str) -> Error {
    Error::BadRequest(format!("cursor \"{cursor}\" is not one this hub gave"))
}

/// Agenda cursors: `e<start>.<created_seq>` of the last event of the page.
fn parse_agenda_cursor(cursor: &str) -> Result<(i64, i64)> {
    cursor
        .strip_prefix('e')
        .and_then(|rest| rest.split_once('.'))
        .and_then(|(start, seq)| Some((start.parse().ok()?, seq.parse().ok()?)))
        .ok_or_else(|| bad_cursor(cursor))
}

/// Live cursors: `p<created_seq>` of the last post of the page.
fn parse_live_cursor(cursor: &str) -> Result<i64> {
    cursor
        .strip_prefix('p')
        .and_then(|n| n.parse().ok())
        .filter(|n: &i64| *n > 0)
        .ok_or_else(|| bad_cursor(cursor))
}

fn post_from_row(id: &str, doc: &str) -> Result<Record> {
    let doc: Map<String, Value> = serde_json::from_str(doc).map_err(|e| Error::Corrupt(format!("record {id}: {e}")))?;
    let id = ElementId::parse(id).ok_or_else(|| Error::Corrupt(format!("bad stored record id {id}")))?;
    Ok(Record {
        id,
        kind: RecordKind::Post,
        doc,
    })
}

fn query_ids<T>(
    c: &Connection,
    sql: &str,
    args: &[SqlValue],
    row: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>> {
    let mut stmt = c.prepare_cached(sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The agenda's query: ids, starts and creation sequences of at most `limit + 1` events.
fn agenda_sql(q: &AgendaQuery, limit: usize) -> Result<(String, Vec<SqlValue>)> {
    let mut sql = String::from("SELECT id, start_at, created_seq FROM ");
    let mut args: Vec<SqlValue> = Vec::new();
    if let Some(parent) = &q.parent {
        // The element's events are few: each way of belonging is an index lookup, and the
        // rows are read by id. (As `OR`s in the WHERE clause, SQLite walked every event in
        // start order, reading each document for its `organizerId`.) CROSS JOIN keeps
        // that order of the loops.
        sql.push_str(
            "(SELECT id AS belongs FROM elements WHERE parent_id = ?
              UNION SELECT element_id FROM links WHERE other_id = ? AND link_type = 'organizer'
              UNION SELECT id FROM elements WHERE kind = 'event' AND json_extract(doc, '$.organizerId') = ?)
             CROSS JOIN elements ON id = belongs",
        );
        for _ in 0..3 {
            args.push(parent.as_str().to_owned().into());
        }
    } else {
        sql.push_str("elements");
    }
    sql.push_str(" WHERE kind = 'event' AND start_at IS NOT NULL");
    if q.visibility == Visibility::Public {
        super::elements::public_condition(&mut sql, &mut args, &q.member_of);
    }
    if let Some(to) = q.to {
        sql.push_str(" AND start_at < ?");
        args.push(to.into());
    }
    if let Some(from) = q.from {
        // Still running at `from`, or an instant at or after it.
        sql.push_str(" AND (start_at >= ? OR coalesce(end_at, start_at) > ?)");
        args.push(from.into());
        args.push(from.into());
    }
    push_tags(&mut sql, &mut args, "id", &q.tags);
    push_scopes(&mut sql, &mut args, "", &q.scopes);
    if let Some(cursor) = &q.cursor {
        let (start, seq) = parse_agenda_cursor(cursor)?;
        sql.push_str(" AND (start_at, created_seq) > (?, ?)");
        args.push(start.into());
        args.push(seq.into());
    }
    sql.push_str(" ORDER BY start_at, created_seq LIMIT ?");
    args.push(((limit + 1) as i64).into());
    Ok((sql, args))
}

/// The live feed's query: at most `limit + 1` posts, newest first, with their element's id.
/// SQLite walks the posts in `records_live` (migration 0012), not the comments and documents.
fn live_sql(q: &LiveQuery, limit: usize) -> Result<(String, Vec<SqlValue>)> {
    let mut sql = String::from(
        "SELECT r.id, r.doc, r.created_seq, r.element_id FROM records r
         LEFT JOIN elements e ON e.id = r.element_id
         WHERE r.kind = 'news' AND r.audience = ?",
    );
    let mut args: Vec<SqlValue> = vec![Audience::Public.as_str().to_owned().into()];
    if q.visibility == Visibility::Public {
        sql.push_str(" AND coalesce(e.private, 0) = 0 AND e.moderation IS NULL AND r.moderation IS NULL");
    }
    push_scopes(&mut sql, &mut args, "e.", &q.scopes);
    if let Some(cursor) = &q.cursor {
        sql.push_str(" AND r.created_seq < ?");
        args.push(parse_live_cursor(cursor)?.into());
    }
    sql.push_str(" ORDER BY r.created_seq DESC LIMIT ?");
    args.push(((limit + 1) as i64).into());
    Ok((sql, args))
}

impl Store {
    /// Events overlapping `[from, to)` (an event without an end counts as its start), by
    /// start then creation, one page at a time.
    pub fn agenda(&self, q: &AgendaQuery) -> Result<Page<Element>> {
        let limit = q.limit.clamp(1, AGENDA_MAX_LIMIT);
        let (sql, args) = agenda_sql(q, limit)?;
        self.read(|c| {
            let rows: Vec<(String, i64, i64)> = query_ids(c, &sql, &args, |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            let next = (rows.len() > limit).then(|| {
                let (_, start, seq) = &rows[limit - 1];
                format!("e{start}.{seq}")
            });
            let ids: Vec<String> = rows.into_iter().take(limit).map(|(id, _, _)| id).collect();
            Ok(Page {
                items: load_many(c, &ids)?,
                next,
            })
        })
    }

    /// The latest public journal posts on elements the viewer may see, newest first, each
    /// with its element (`None` when the element is not on this hub).
    pub fn live(&self, q: &LiveQuery) -> Result<Page<(Record, Option<Element>)>> {
        let limit = q.limit.clamp(1, LIVE_MAX_LIMIT);
        let (sql, args) = live_sql(q, limit)?;
        self.read(|c| {
            let rows: Vec<(String, String, i64, Option<String>)> =
                query_ids(c, &sql, &args, |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
            let next = (rows.len() > limit).then(|| format!("p{}", rows[limit - 1].2));
            let rows: Vec<_> = rows.into_iter().take(limit).collect();
            let mut element_ids: Vec<String> = rows.iter().filter_map(|r| r.3.clone()).collect();
            element_ids.sort();
            element_ids.dedup();
            let elements: std::collections::HashMap<String, Element> = load_many(c, &element_ids)?
                .into_iter()
                .map(|e| (e.id.to_string(), e))
                .collect();
            let mut items = Vec::with_capacity(rows.len());
            for (id, doc, _, element_id) in rows {
                let element = element_id.and_then(|e| elements.get(&e).cloned());
                items.push((post_from_row(&id, &doc)?, element));
            }
            Ok(Page { items, next })
        })
    }

    /// Geolocated elements for the map, newest first, at most `q.limit` of them. Reads
    /// columns only, never documents.
    pub fn map_points(&self, q: &MapQuery) -> Result<Vec<MapPoint>> {
        let mut sql = String::from(
            "SELECT id, kind, name, slug, type, lat, lon, start_at FROM elements
             WHERE lat IS NOT NULL AND lon IS NOT NULL",
        );
        let mut args: Vec<SqlValue> = Vec::new();
        if q.visibility == Visibility::Public {
            super::elements::public_condition(&mut sql, &mut args, &q.member_of);
        }
        if !q.kinds.is_empty() {
            sql.push_str(&format!(" AND kind IN ({})", marks(q.kinds.len())));
            args.extend(q.kinds.iter().map(|k| SqlValue::from(k.as_str().to_owned())));
        }
        push_tags(&mut sql, &mut args, "id", &q.tags);
        push_scopes(&mut sql, &mut args, "", &q.scopes);
        if let Some(b) = q.bbox {
            sql.push_str(" AND lon BETWEEN ? AND ? AND lat BETWEEN ? AND ?");
            args.extend([b.min_lon, b.max_lon, b.min_lat, b.max_lat].map(SqlValue::from));
        }
        sql.push_str(" ORDER BY created_seq DESC LIMIT ?");
        args.push((q.limit as i64).into());
        self.read(|c| {
            let rows = query_ids(c, &sql, &args, |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, f64>(5)?,
                    r.get::<_, f64>(6)?,
                    r.get::<_, Option<i64>>(7)?,
                ))
            })?;
            rows.into_iter()
                .map(|(id, kind, name, slug, type_, lat, lon, start_at)| {
                    Ok(MapPoint {
                        kind: Kind::parse(&kind)
                            .ok_or_else(|| Error::Corrupt(format!("element {id}: unknown kind {kind}")))?,
                        id: ElementId::parse(&id).ok_or_else(|| Error::Corrupt(format!("bad stored id {id}")))?,
                        name,
                        slug,
                        type_,
                        lat,
                        lon,
                        start_at,
                    })
                })
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        (dir, store)
    }

    fn doc(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn event(store: &Store, name: &str, start: &str, end: Option<&str>, extra: Value) -> Element {
        let mut d = doc(json!({"name": name, "type": "workshop", "startDate": start, "timeZone": "UTC"}));
        if let Some(end) = end {
            d.insert("endDate".into(), json!(end));
        }
        d.extend(doc(extra));
        store.create_element(Kind::Event, d, None).unwrap()
    }

    fn names(page: &Page<Element>) -> Vec<String> {
        page.items
            .iter()
            .map(|e| e.doc["name"].as_str().unwrap().to_owned())
            .collect()
    }

    fn ts(s: &str) -> i64 {
        s.parse::<jiff::Timestamp>().unwrap().as_second()
    }

    #[test]
    fn agenda_overlaps_orders_and_pages() {
        let (_d, s) = store();
        event(&s, "before", "2026-01-01 10:00", Some("2026-01-01 12:00"), json!({}));
        event(&s, "running", "2026-01-01 10:00", Some("2026-01-10 12:00"), json!({}));
        event(&s, "instant", "2026-01-05 00:00", None, json!({}));
        event(&s, "b", "2026-01-06 10:00", None, json!({}));
        event(&s, "a", "2026-01-06 10:00", None, json!({}));
        event(&s, "after", "2026-02-01 10:00", None, json!({}));
        let q = AgendaQuery {
            from: Some(ts("2026-01-05T00:00:00Z")),
            to: Some(ts("2026-02-01T10:00:00Z")),
            limit: 2,
            ..AgendaQuery::default()
        };
        let mut all = Vec::new();
        let mut page = s.agenda(&q).unwrap();
        loop {
            all.extend(names(&page));
            let Some(next) = page.next.clone() else { break };
            page = s
                .agenda(&AgendaQuery {
                    cursor: Some(next),
                    ..q.clone()
                })
                .unwrap();
        }
        assert_eq!(all, ["running", "instant", "b", "a"]);
        assert!(matches!(
            s.agenda(&AgendaQuery {
                cursor: Some("x".into()),
                ..q
            }),
            Err(Error::BadRequest(_))
        ));
    }

    #[test]
    fn agenda_hides_private_events_and_finds_sub_events() {
        let (_d, s) = store();
        let festival = event(&s, "festival", "2026-07-01 10:00", None, json!({}));
        let org = s
            .create_element(Kind::Organization, doc(json!({"name": "Asso", "type": "NGO"})), None)
            .unwrap();
        event(
            &s,
            "concert",
            "2026-07-01 20:00",
            None,
            json!({"parentId": festival.id.as_str(), "parentType": "events"}),
        );
        event(
            &s,
            "secret",
            "2026-07-02 20:00",
            None,
            json!({"preferences": {"private": true}}),
        );
        let organised = event(&s, "atelier", "2026-07-03 20:00", None, json!({}));
        s.link(&organised.id, "organizer", &org.id, Map::new()).unwrap();
        event(
            &s,
            "by id",
            "2026-07-04 20:00",
            None,
            json!({"organizerId": org.id.as_str()}),
        );
        let all = |visibility| AgendaQuery {
            visibility,
            limit: 100,
            ..AgendaQuery::default()
        };
        assert_eq!(
            names(&s.agenda(&all(Visibility::Public)).unwrap()),
            ["festival", "concert", "atelier", "by id"]
        );
        assert_eq!(names(&s.agenda(&all(Visibility::All)).unwrap()).len(), 5);
        let of = |id: &ElementId| AgendaQuery {
            parent: Some(id.clone()),
            ..all(Visibility::Public)
        };
        assert_eq!(names(&s.agenda(&of(&festival.id)).unwrap()), ["concert"]);
        assert_eq!(names(&s.agenda(&of(&org.id)).unwrap()), ["atelier", "by id"]);
    }

    /// The agenda of `parent` as the query was before 0012: the three ways of belonging as
    /// `OR`s in the WHERE clause (which made SQLite read every event's document).
    fn agenda_with_ors(s: &Store, q: &AgendaQuery) -> (Vec<String>, Option<String>) {
        let parent = q.parent.clone().unwrap();
        let limit = q.limit.clamp(1, AGENDA_MAX_LIMIT);
        let (sql, rest) = agenda_sql(
            &AgendaQuery {
                parent: None,
                ..q.clone()
            },
            limit,
        )
        .unwrap();
        let sql = sql.replacen(
            "start_at IS NOT NULL",
            "start_at IS NOT NULL AND (parent_id = ?
                OR id IN (SELECT element_id FROM links WHERE other_id = ? AND link_type = 'organizer')
                OR json_extract(doc, '$.organizerId') = ?)",
            1,
        );
        let mut args: Vec<SqlValue> = vec![SqlValue::from(parent.as_str().to_owned()); 3];
        args.extend(rest);
        let rows: Vec<(String, i64, i64)> = s
            .read(|c| query_ids(c, &sql, &args, |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))))
            .unwrap();
        let next = (rows.len() > limit).then(|| format!("e{}.{}", rows[limit - 1].1, rows[limit - 1].2));
        (rows.into_iter().take(limit).map(|r| r.0).collect(), next)
    }

    #[test]
    fn an_event_page_lists_the_same_events_as_before() {
        let (_d, s) = store();
        let org = s
            .create_element(Kind::Organization, doc(json!({"name": "Asso", "type": "NGO"})), None)
            .unwrap();
        let other = s
            .create_element(Kind::Organization, doc(json!({"name": "Autre", "type": "NGO"})), None)
            .unwrap();
        let festival = event(&s, "festival", "2026-07-01 10:00", Some("2026-07-05 10:00"), json!({}));
        let sub = |name: &str, start: &str, extra: Value| {
            let mut d = doc(json!({"parentId": festival.id.as_str(), "parentType": "events"}));
            d.extend(doc(extra));
            event(&s, name, start, None, Value::Object(d))
        };
        sub("concert", "2026-07-01 20:00", json!({"tags": ["musique"]}));
        sub("bal", "2026-07-02 20:00", json!({}));
        sub("même heure", "2026-07-02 20:00", json!({}));
        let secret = sub(
            "répétition",
            "2026-07-03 20:00",
            json!({"preferences": {"private": true}}),
        );
        let hidden = sub("caché", "2026-07-04 20:00", json!({}));
        s.moderate(
            &super::super::Target::new(super::super::TargetKind::Element, hidden.id.clone()),
            super::super::ModerationAction::Hide,
        )
        .unwrap();
        // Organised by `org`: a link, `organizerId`, both, and a sub-event of the festival
        // also organised by it.
        let linked = event(&s, "atelier", "2026-06-01 10:00", None, json!({"tags": ["musique"]}));
        s.link(&linked.id, "organizer", &org.id, Map::new()).unwrap();
        event(
            &s,
            "par id",
            "2026-06-02 10:00",
            None,
            json!({"organizerId": org.id.as_str()}),
        );
        let both = event(
            &s,
            "les deux",
            "2025-06-02 10:00",
            None,
            json!({"organizerId": org.id.as_str()}),
        );
        s.link(&both.id, "organizer", &org.id, Map::new()).unwrap();
        let shared = sub(
            "scène ouverte",
            "2026-07-01 22:00",
            json!({"organizerId": org.id.as_str()}),
        );
        s.link(&shared.id, "organizer", &org.id, Map::new()).unwrap();
        let private_org = event(
            &s,
            "réunion",
            "2026-06-03 10:00",
            None,
            json!({"organizerId": org.id.as_str(), "preferences": {"private": true}}),
        );
        // Someone else's, and a member of the organisation (not an event) linked to it.
        let theirs = event(
            &s,
            "ailleurs",
            "2026-06-01 10:00",
            None,
            json!({"organizerId": other.id.as_str()}),
        );
        s.link(&theirs.id, "organizer", &other.id, Map::new()).unwrap();
        let person = s
            .create_element(Kind::Person, doc(json!({"name": "Léa"})), None)
            .unwrap();
        s.link(&org.id, "members", &person.id, Map::new()).unwrap();

        let mut compared = 0;
        for parent in [&org.id, &festival.id, &other.id, &person.id, &secret.id] {
            for (visibility, member_of) in [
                (Visibility::Public, vec![]),
                (Visibility::Public, vec![secret.id.clone(), private_org.id.clone()]),
                (Visibility::All, vec![]),
            ] {
                for (tags, from, to) in [
                    (vec![], None, None),
                    (vec!["musique".to_owned()], None, None),
                    (
                        vec![],
                        Some(ts("2026-06-02T12:00:00Z")),
                        Some(ts("2026-07-02T20:00:00Z")),
                    ),
                ] {
                    for limit in [1, 2, 100] {
                        let mut q = AgendaQuery {
                            parent: Some(parent.clone()),
                            visibility,
                            member_of: member_of.clone(),
                            tags: tags.clone(),
                            from,
                            to,
                            limit,
                            ..AgendaQuery::default()
                        };
                        loop {
                            let page = s.agenda(&q).unwrap();
                            let ids: Vec<String> = page.items.iter().map(|e| e.id.to_string()).collect();
                            assert_eq!((ids, page.next.clone()), agenda_with_ors(&s, &q), "{q:?}");
                            compared += 1;
                            let Some(next) = page.next else { break };
                            q.cursor = Some(next);
                        }
                    }
                }
            }
        }
        assert!(compared > 100);
        let of = |id: &ElementId, visibility| AgendaQuery {
            parent: Some(id.clone()),
            visibility,
            limit: 100,
            ..AgendaQuery::default()
        };
        assert_eq!(
            names(&s.agenda(&of(&org.id, Visibility::Public)).unwrap()),
            ["les deux", "atelier", "par id", "scène ouverte"]
        );
        assert_eq!(names(&s.agenda(&of(&org.id, Visibility::All)).unwrap()).len(), 5);
        assert_eq!(
            names(&s.agenda(&of(&festival.id, Visibility::Public)).unwrap()),
            ["concert", "scène ouverte", "bal", "même heure"]
        );
        assert_eq!(names(&s.agenda(&of(&festival.id, Visibility::All)).unwrap()).len(), 6);
    }

    /// The plan SQLite chooses for a query, one step a line.
    fn plan(s: &Store, (sql, args): (String, Vec<SqlValue>)) -> String {
        s.read(|c| {
            let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
            let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), |r| r.get::<_, String>(3))?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?.join("\n"))
        })
        .unwrap()
    }

    #[test]
    fn event_pages_and_the_live_feed_read_through_indexes() {
        let (_d, s) = store();
        let id = ElementId::generate();
        for q in [
            AgendaQuery {
                parent: Some(id.clone()),
                ..AgendaQuery::default()
            },
            AgendaQuery {
                parent: Some(id.clone()),
                member_of: vec![ElementId::generate()],
                tags: vec!["musique".into()],
                scopes: Scope::parse_list("dep:26").unwrap(),
                from: Some(0),
                cursor: Some("e1.1".into()),
                ..AgendaQuery::default()
            },
            AgendaQuery {
                parent: Some(id.clone()),
                visibility: Visibility::All,
                ..AgendaQuery::default()
            },
        ] {
            let plan = plan(&s, agenda_sql(&q, 100).unwrap());
            for index in ["elements_parent", "links_other", "elements_organizer"] {
                assert!(plan.contains(&format!("INDEX {index} ")), "{index}: {plan}");
            }
            assert!(!plan.contains("SCAN elements"), "{plan}");
            assert!(!plan.contains("elements_agenda"), "{plan}");
        }
        for q in [
            LiveQuery::default(),
            LiveQuery {
                scopes: Scope::parse_list("dep:26").unwrap(),
                cursor: Some("p10".into()),
                ..LiveQuery::default()
            },
            LiveQuery {
                visibility: Visibility::All,
                ..LiveQuery::default()
            },
        ] {
            let plan = plan(&s, live_sql(&q, 20).unwrap());
            assert!(plan.contains("USING INDEX records_live"), "{plan}");
            assert!(!plan.contains("TEMP B-TREE"), "no sort: {plan}");
        }
    }

    #[test]
    fn live_keeps_public_posts_on_visible_elements() {
        let (_d, s) = store();
        let open = s
            .create_element(
                Kind::Organization,
                doc(
                    json!({"name": "Ouverte", "type": "NGO", "address": {"codeInsee": "26108", "postalCode": "26400"}}),
                ),
                None,
            )
            .unwrap();
        let closed = s
            .create_element(
                Kind::Organization,
                doc(json!({"name": "Fermée", "type": "NGO", "preferences": {"private": true}})),
                None,
            )
            .unwrap();
        let post = |target: &Element, text: &str, scope: Value| {
            s.create_record(
                RecordKind::Post,
                doc(json!({"text": text, "target": {"id": target.id.as_str(), "type": "organizations"}, "scope": scope})),
            )
            .unwrap();
        };
        post(&open, "one", json!({"type": "public"}));
        post(&open, "members", json!({"type": "restricted"}));
        post(&closed, "hidden", json!({"type": "public"}));
        post(&open, "two", json!({"type": "public"}));
        post(&open, "three", json!({"type": "public"}));
        let texts = |page: &Page<(Record, Option<Element>)>| -> Vec<String> {
            page.items
                .iter()
                .map(|(r, _)| r.doc["text"].as_str().unwrap().to_owned())
                .collect()
        };
        let q = LiveQuery {
            limit: 2,
            ..LiveQuery::default()
        };
        let first = s.live(&q).unwrap();
        assert_eq!(texts(&first), ["three", "two"]);
        assert_eq!(first.items[0].1.as_ref().unwrap().id, open.id);
        let second = s
            .live(&LiveQuery {
                cursor: first.next.clone(),
                ..q.clone()
            })
            .unwrap();
        assert_eq!((texts(&second), second.next), (vec!["one".to_owned()], None));
        let admin = s
            .live(&LiveQuery {
                visibility: Visibility::All,
                limit: 10,
                ..LiveQuery::default()
            })
            .unwrap();
        assert_eq!(texts(&admin), ["three", "two", "hidden", "one"]);
        let scoped = |scope: &str| {
            s.live(&LiveQuery {
                scopes: Scope::parse_list(scope).unwrap(),
                limit: 10,
                ..LiveQuery::default()
            })
            .unwrap()
            .items
            .len()
        };
        assert_eq!((scoped("city:26108"), scoped("dep:26"), scoped("dep:07")), (3, 3, 0));
        assert!(s
            .live(&LiveQuery {
                cursor: Some("p-1".into()),
                ..q
            })
            .is_err());
    }

    #[test]
    fn map_points_filter_by_kind_box_and_privacy() {
        let (_d, s) = store();
        let at = |name: &str, kind: Kind, lat: &str, lon: &str, extra: Value| {
            let mut d = doc(json!({"name": name, "geo": {"latitude": lat, "longitude": lon}}));
            d.extend(doc(extra));
            s.create_element(kind, d, None).unwrap()
        };
        at("crest", Kind::Poi, "44.73", "5.02", json!({"tags": ["compost"]}));
        at("lyon", Kind::Poi, "45.76", "4.83", json!({}));
        at(
            "secret",
            Kind::Poi,
            "44.74",
            "5.03",
            json!({"preferences": {"private": true}}),
        );
        at("asso", Kind::Organization, "44.72", "5.01", json!({"type": "NGO"}));
        s.create_element(Kind::Poi, doc(json!({"name": "nowhere"})), None)
            .unwrap();
        let q = MapQuery {
            kinds: Vec::new(),
            tags: Vec::new(),
            scopes: Vec::new(),
            bbox: None,
            visibility: Visibility::Public,
            member_of: Vec::new(),
            limit: 100,
        };
        let names = |q: &MapQuery| -> Vec<String> { s.map_points(q).unwrap().into_iter().map(|p| p.name).collect() };
        assert_eq!(names(&q), ["asso", "lyon", "crest"]);
        let crest = BBox {
            min_lon: 4.9,
            min_lat: 44.6,
            max_lon: 5.1,
            max_lat: 44.8,
        };
        assert_eq!(
            names(&MapQuery {
                bbox: Some(crest),
                kinds: vec![Kind::Poi],
                ..q.clone()
            }),
            ["crest"]
        );
        assert_eq!(
            names(&MapQuery {
                tags: vec!["compost".into()],
                ..q.clone()
            }),
            ["crest"]
        );
        assert_eq!(
            names(&MapQuery {
                visibility: Visibility::All,
                limit: 2,
                ..q.clone()
            }),
            ["asso", "secret"]
        );
        let p = &s.map_points(&q).unwrap()[2];
        assert_eq!(
            (p.lat, p.lon, p.kind, p.slug.as_str()),
            (44.73, 5.02, Kind::Poi, "crest")
        );
    }
}
