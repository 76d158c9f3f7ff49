//! Elements, their tags and their links.

use std::collections::BTreeMap;

use copi_sync::{ChangeOp, EntityKind};
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{Map, Value};

use super::{changes, CheckReport, Store};
use crate::error::{Error, Result};
use crate::model::{self, Element, ElementId, Facts, Kind, Link};
use crate::territory::{self, Scope};

/// Who is looking, as far as the store is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// Anonymous visitors: private elements are left out, and hidden or pending ones
    /// (see `moderation`).
    Public,
    /// The hub's admin: everything.
    All,
}

/// A page of a list.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Opaque cursor of the next page, if there is one.
    pub next: Option<String>,
}

/// Largest page a client may ask for.
pub const MAX_LIMIT: usize = 200;

#[derive(Debug, Clone)]
pub struct ListQuery {
    /// Any of these kinds (all when empty).
    pub kinds: Vec<Kind>,
    /// Any of these tags (all elements when empty), normalised.
    pub tags: Vec<String>,
    /// Any of these `type` values, compared case-insensitively (all when empty): an
    /// organisation's NGO, Cooperative…, an event's workshop, concert…, a POI's type.
    pub types: Vec<String>,
    /// Inside any of these territories (everywhere when empty).
    pub scopes: Vec<Scope>,
    pub limit: usize,
    pub cursor: Option<String>,
    pub visibility: Visibility,
    /// Private elements the reader may see anyway (they are a member).
    pub member_of: Vec<ElementId>,
}

/// The visibility condition of a public read: not private (unless the reader is a member:
/// `member_of`) and not moderated.
pub(super) fn public_condition(sql: &mut String, args: &mut Vec<rusqlite::types::Value>, member_of: &[ElementId]) {
    if member_of.is_empty() {
        sql.push_str(" AND private = 0 AND moderation IS NULL");
        return;
    }
    sql.push_str(" AND (private = 0 OR id IN (");
    for (i, id) in member_of.iter().enumerate() {
        if i > 0 {
            sql.push(',');
        }
        sql.push('?');
        args.push(id.as_str().to_owned().into());
    }
    sql.push_str(")) AND moderation IS NULL");
}

impl Default for ListQuery {
    fn default() -> Self {
        ListQuery {
            kinds: Vec::new(),
            tags: Vec::new(),
            types: Vec::new(),
            scopes: Vec::new(),
            limit: 20,
            cursor: None,
            visibility: Visibility::Public,
            member_of: Vec::new(),
        }
    }
}

/// Slugs as Communecter makes them: lower-case ASCII letters and digits only.
pub fn slugify(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        let folded = crate::territory::folded(&c.to_string());
        out.extend(
            folded
                .chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .map(|c| c.to_ascii_lowercase()),
        );
        if out.len() >= 60 {
            break;
        }
    }
    if out.is_empty() {
        out.push_str("element");
    }
    out
}

fn unique_slug(conn: &Connection, wanted: &str, id: &ElementId) -> Result<String> {
    let base = if wanted.is_empty() {
        "element".to_owned()
    } else {
        wanted.to_owned()
    };
    let mut candidate = base.clone();
    for n in 2.. {
        let owner: Option<String> = conn
            .prepare_cached("SELECT id FROM elements WHERE slug = ?1")?
            .query_row([&candidate], |r| r.get(0))
            .optional()?;
        match owner {
            None => return Ok(candidate),
            Some(o) if o == id.as_str() => return Ok(candidate),
            Some(_) => candidate = format!("{base}{n}"),
        }
    }
    unreachable!("an unbounded loop returns")
}

/// Where an element is, resolved against the reference territories.
struct Place {
    insee: Option<String>,
    postal_code: Option<String>,
    department: Option<String>,
    region: Option<String>,
}

fn place_of(facts: &Facts) -> Place {
    match territory::locate(
        facts.insee.as_deref(),
        facts.postal_code.as_deref(),
        facts.locality.as_deref(),
    ) {
        Some(c) => Place {
            insee: Some(c.insee.to_owned()),
            postal_code: facts.postal_code.clone(),
            department: Some(c.department.to_owned()),
            region: Some(c.region.to_owned()),
        },
        None => Place {
            insee: facts.insee.clone(),
            postal_code: facts.postal_code.clone(),
            department: None,
            region: None,
        },
    }
}

/// Writes an element's row, tags and links (replacing what was there) and logs the change.
/// The slug is made unique first (and written into the document).
fn save(conn: &Connection, origin: &str, element: &mut Element, facts: &Facts, op: ChangeOp) -> Result<i64> {
    let wanted = facts
        .slug
        .clone()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| slugify(&facts.name));
    let slug = unique_slug(conn, &wanted, &element.id)?;
    if facts.slug.as_deref() != Some(slug.as_str()) {
        element.doc.insert("slug".into(), Value::String(slug.clone()));
    }
    let seq = changes::record(conn, origin, EntityKind::Element, element.id.as_str(), op)?;
    let place = place_of(facts);
    let doc = serde_json::to_string(&element.doc).map_err(|e| Error::Corrupt(e.to_string()))?;
    let (lat, lon) = facts.position.map_or((None, None), |(a, b)| (Some(a), Some(b)));
    conn.prepare_cached(
        "INSERT INTO elements (id, kind, name, slug, type, insee, postal_code, department, region, lat, lon,
                               start_at, end_at, parent_id, private, doc, created_seq, seq)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?17)
         ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, name = excluded.name, slug = excluded.slug,
             type = excluded.type, insee = excluded.insee, postal_code = excluded.postal_code,
             department = excluded.department, region = excluded.region, lat = excluded.lat, lon = excluded.lon,
             start_at = excluded.start_at, end_at = excluded.end_at, parent_id = excluded.parent_id,
             private = excluded.private, doc = excluded.doc, seq = excluded.seq",
    )?
    .execute(params![
        element.id.as_str(),
        element.kind.as_str(),
        facts.name,
        slug,
        facts.type_,
        place.insee,
        place.postal_code,
        place.department,
        place.region,
        lat,
        lon,
        facts.start,
        facts.end,
        facts.parent.as_ref().map(|p| p.as_str()),
        facts.private,
        doc,
        seq,
    ])?;
    conn.prepare_cached("DELETE FROM element_tags WHERE element_id = ?1")?
        .execute([element.id.as_str()])?;
    let mut tag_stmt = conn.prepare_cached("INSERT OR IGNORE INTO element_tags (tag, element_id) VALUES (?1, ?2)")?;
    for tag in &facts.tags {
        tag_stmt.execute([tag.as_str(), element.id.as_str()])?;
    }
    write_links(conn, &element.id, &element.links)?;
    Ok(seq)
}

fn write_links(conn: &Connection, id: &ElementId, links: &[Link]) -> Result<()> {
    conn.prepare_cached("DELETE FROM links WHERE element_id = ?1")?
        .execute([id.as_str()])?;
    let mut stmt = conn.prepare_cached(
        "INSERT INTO links (element_id, link_type, other_id, attrs, position) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT DO UPDATE SET attrs = excluded.attrs",
    )?;
    for (i, link) in links.iter().enumerate() {
        let attrs = serde_json::to_string(&link.attrs).map_err(|e| Error::Corrupt(e.to_string()))?;
        stmt.execute(params![
            id.as_str(),
            link.link_type,
            link.other.as_str(),
            attrs,
            i as i64
        ])?;
    }
    Ok(())
}

fn parse_doc(id: &str, text: &str) -> Result<Map<String, Value>> {
    serde_json::from_str(text).map_err(|e| Error::Corrupt(format!("element {id}: stored document unreadable: {e}")))
}

pub(super) fn load(conn: &Connection, id: &str) -> Result<Option<Element>> {
    let row: Option<(String, String)> = conn
        .prepare_cached("SELECT kind, doc FROM elements WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((kind, doc)) = row else { return Ok(None) };
    let kind = Kind::parse(&kind).ok_or_else(|| Error::Corrupt(format!("element {id}: unknown kind {kind}")))?;
    let element_id = ElementId::parse(id).ok_or_else(|| Error::Corrupt(format!("bad stored id {id}")))?;
    Ok(Some(Element {
        id: element_id,
        kind,
        doc: parse_doc(id, &doc)?,
        links: load_links(conn, id)?,
    }))
}

/// Loads several elements with two queries, in the order of `ids` (missing ones skipped).
pub(super) fn load_many(conn: &Connection, ids: &[String]) -> Result<Vec<Element>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let marks = vec!["?"; ids.len()].join(",");
    let mut docs: std::collections::HashMap<String, (String, String)> = std::collections::HashMap::new();
    {
        let mut stmt = conn.prepare(&format!("SELECT id, kind, doc FROM elements WHERE id IN ({marks})"))?;
        let rows = stmt.query_map(rusqlite::params_from_iter(ids.iter()), |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
        for row in rows {
            let (id, kind, doc): (String, String, String) = row?;
            docs.insert(id, (kind, doc));
        }
    }
    let mut links: std::collections::HashMap<String, Vec<Link>> = std::collections::HashMap::new();
    {
        let mut stmt = conn.prepare(&format!(
            "SELECT element_id, link_type, other_id, attrs FROM links WHERE element_id IN ({marks})
             ORDER BY element_id, position, link_type, other_id"
        ))?;
        let rows = stmt.query_map(rusqlite::params_from_iter(ids.iter()), |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?;
        for row in rows {
            let (id, link_type, other, attrs) = row?;
            let other =
                ElementId::parse(&other).ok_or_else(|| Error::Corrupt(format!("element {id}: bad link id {other}")))?;
            let attrs = parse_doc(&id, &attrs)?;
            links.entry(id).or_default().push(Link {
                link_type,
                other,
                attrs,
            });
        }
    }
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let Some((kind, doc)) = docs.remove(id) else { continue };
        let kind = Kind::parse(&kind).ok_or_else(|| Error::Corrupt(format!("element {id}: unknown kind {kind}")))?;
        let element_id = ElementId::parse(id).ok_or_else(|| Error::Corrupt(format!("bad stored id {id}")))?;
        out.push(Element {
            id: element_id,
            kind,
            doc: parse_doc(id, &doc)?,
            links: links.remove(id).unwrap_or_default(),
        });
    }
    Ok(out)
}

fn load_links(conn: &Connection, id: &str) -> Result<Vec<Link>> {
    let mut stmt = conn.prepare_cached(
        "SELECT link_type, other_id, attrs FROM links WHERE element_id = ?1 ORDER BY position, link_type, other_id",
    )?;
    let rows = stmt.query_map([id], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
    })?;
    let mut links = Vec::new();
    for row in rows {
        let (link_type, other, attrs) = row?;
        let other =
            ElementId::parse(&other).ok_or_else(|| Error::Corrupt(format!("element {id}: bad link id {other}")))?;
        let attrs = parse_doc(id, &attrs)?;
        links.push(Link {
            link_type,
            other,
            attrs,
        });
    }
    Ok(links)
}

fn kind_of_id(conn: &Connection, id: &str) -> Result<Option<Kind>> {
    let kind: Option<String> = conn
        .prepare_cached("SELECT kind FROM elements WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?;
    Ok(kind.and_then(|k| Kind::parse(&k)))
}

/// Merges `patch` into `doc` (JSON merge patch, RFC 7396: `null` removes a field).
fn merge_patch(doc: &mut Map<String, Value>, patch: Map<String, Value>) {
    for (k, v) in patch {
        match v {
            Value::Null => {
                doc.remove(&k);
            }
            Value::Object(inner) => match doc.get_mut(&k) {
                Some(Value::Object(existing)) => merge_patch(existing, inner),
                _ => {
                    let mut fresh = Map::new();
                    merge_patch(&mut fresh, inner);
                    doc.insert(k, Value::Object(fresh));
                }
            },
            v => {
                doc.insert(k, v);
            }
        }
    }
}

impl Store {
    /// Creates an element from a document. `id` lets a client choose the id (as
    /// Communecter clients do); it must not be in use.
    pub fn create_element(&self, kind: Kind, mut doc: Map<String, Value>, id: Option<ElementId>) -> Result<Element> {
        let now = Value::from(model::now_seconds());
        doc.entry("created").or_insert_with(|| now.clone());
        doc.insert("updated".into(), now);
        let facts = model::check(kind, &mut doc, &self.zone)?;
        let id = id.unwrap_or_else(ElementId::generate);
        let mut element = Element {
            id,
            kind,
            doc,
            links: Vec::new(),
        };
        self.write(|tx| {
            if kind_of_id(tx, element.id.as_str())?.is_some() {
                return Err(Error::Conflict(format!(
                    "an element with id {} already exists",
                    element.id
                )));
            }
            save(tx, &self.instance.id, &mut element, &facts, ChangeOp::Create)?;
            Ok(())
        })?;
        Ok(element)
    }

    /// Applies a JSON merge patch to an element's document. Identity fields and links
    /// cannot be patched.
    pub fn update_element(&self, id: &ElementId, patch: Map<String, Value>) -> Result<Element> {
        for key in model::RESERVED {
            if patch.contains_key(*key) {
                return Err(model::ModelError::Invalid {
                    field: (*key).into(),
                    message: "cannot be changed".into(),
                }
                .into());
            }
        }
        self.write(|tx| {
            let mut element = load(tx, id.as_str())?.ok_or_else(|| Error::not_found(format!("element {id}")))?;
            merge_patch(&mut element.doc, patch);
            element.doc.insert("updated".into(), Value::from(model::now_seconds()));
            let facts = model::check(element.kind, &mut element.doc, &self.zone)?;
            save(tx, &self.instance.id, &mut element, &facts, ChangeOp::Update)?;
            Ok(element)
        })
    }

    /// Deletes an element with its links (on both sides), its journal, comments and files.
    pub fn delete_element(&self, id: &ElementId) -> Result<()> {
        self.write(|tx| {
            if kind_of_id(tx, id.as_str())?.is_none() {
                return Err(Error::not_found(format!("element {id}")));
            }
            // The other side of each link changes too.
            let others: Vec<String> = {
                let mut stmt = tx
                    .prepare_cached("SELECT DISTINCT element_id FROM links WHERE other_id = ?1 AND element_id != ?1")?;
                let rows = stmt.query_map([id.as_str()], |r| r.get(0))?;
                rows.collect::<Result<_, _>>()?
            };
            tx.prepare_cached("DELETE FROM links WHERE other_id = ?1")?
                .execute([id.as_str()])?;
            for other in &others {
                touch(tx, &self.instance.id, other)?;
            }
            super::records::delete_for_element(tx, &self.instance.id, id.as_str())?;
            tx.prepare_cached("DELETE FROM elements WHERE id = ?1")?
                .execute([id.as_str()])?;
            changes::record(
                tx,
                &self.instance.id,
                EntityKind::Element,
                id.as_str(),
                ChangeOp::Delete,
            )?;
            Ok(())
        })
    }

    pub fn get_element(&self, id: &ElementId, visibility: Visibility) -> Result<Option<Element>> {
        self.read(|c| {
            if visibility == Visibility::Public {
                let private: Option<bool> = c
                    .prepare_cached("SELECT private OR moderation IS NOT NULL FROM elements WHERE id = ?1")?
                    .query_row([id.as_str()], |r| r.get(0))
                    .optional()?;
                if private != Some(false) {
                    return Ok(None);
                }
            }
            load(c, id.as_str())
        })
    }

    /// The elements among `ids` that exist, in that order, private ones included, hidden
    /// and pending ones (moderation) left out; see `get_elements_for_admin`.
    pub fn get_elements(&self, ids: &[String]) -> Result<Vec<Element>> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            out.extend(self.read(|c| {
                let moderated = super::moderation::moderated_among(c, chunk)?;
                let mut found = load_many(c, chunk)?;
                found.retain(|e| !moderated.contains(e.id.as_str()));
                Ok(found)
            })?);
        }
        Ok(out)
    }

    /// Finds an element by its slug.
    pub fn element_id_by_slug(&self, slug: &str) -> Result<Option<ElementId>> {
        self.read(|c| {
            let id: Option<String> = c
                .prepare_cached("SELECT id FROM elements WHERE slug = ?1")?
                .query_row([slug], |r| r.get(0))
                .optional()?;
            Ok(id.and_then(|i| ElementId::parse(&i)))
        })
    }

    /// Lists elements, newest first, one page at a time.
    pub fn list_elements(&self, q: &ListQuery) -> Result<Page<Element>> {
        let limit = q.limit.clamp(1, MAX_LIMIT);
        let mut sql = String::from("SELECT id, created_seq FROM elements WHERE 1 = 1");
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        if q.visibility == Visibility::Public {
            public_condition(&mut sql, &mut args, &q.member_of);
        }
        let mut push = |sql: &mut String, clause: &str, values: Vec<String>| {
            sql.push_str(clause);
            sql.push('(');
            for (i, v) in values.into_iter().enumerate() {
                if i > 0 {
                    sql.push(',');
                }
                sql.push('?');
                args.push(v.into());
            }
            sql.push(')');
        };
        if !q.kinds.is_empty() {
            push(
                &mut sql,
                " AND kind IN ",
                q.kinds.iter().map(|k| k.as_str().to_owned()).collect(),
            );
        }
        if !q.types.is_empty() {
            push(
                &mut sql,
                " AND lower(type) IN ",
                q.types.iter().map(|t| t.to_lowercase()).collect(),
            );
        }
        if !q.tags.is_empty() {
            push(
                &mut sql,
                " AND id IN (SELECT element_id FROM element_tags WHERE tag IN ",
                q.tags.clone(),
            );
            sql.push(')');
        }
        if !q.scopes.is_empty() {
            sql.push_str(" AND (0");
            for scope in &q.scopes {
                let (column, code) = match scope {
                    Scope::City(c) => {
                        // A city holds its municipal arrondissements (Paris, Lyon, Marseille).
                        for a in territory::arrondissements_of(c) {
                            sql.push_str(" OR insee = ?");
                            args.push(a.insee.to_owned().into());
                        }
                        ("insee", c)
                    }
                    Scope::PostalCode(c) => ("postal_code", c),
                    Scope::Department(c) => ("department", c),
                    Scope::Region(c) => ("region", c),
                };
                sql.push_str(&format!(" OR {column} = ?"));
                args.push(code.clone().into());
            }
            sql.push(')');
        }
        if let Some(cursor) = &q.cursor {
            let before: i64 = cursor
                .strip_prefix('c')
                .and_then(|n| n.parse().ok())
                .filter(|n| *n > 0)
                .ok_or_else(|| Error::BadRequest(format!("cursor \"{cursor}\" is not one this hub gave")))?;
            sql.push_str(" AND created_seq < ?");
            args.push(before.into());
        }
        sql.push_str(" ORDER BY created_seq DESC LIMIT ?");
        args.push(((limit + 1) as i64).into());
        self.read(|c| {
            let mut stmt = c.prepare_cached(&sql)?;
            let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })?;
            let ids: Vec<(String, i64)> = rows.collect::<Result<_, _>>()?;
            let next = (ids.len() > limit).then(|| format!("c{}", ids[limit - 1].1));
            let ids: Vec<String> = ids.into_iter().take(limit).map(|(id, _)| id).collect();
            Ok(Page {
                items: load_many(c, &ids)?,
                next,
            })
        })
    }

    /// How many elements of each kind the viewer can see. Read from `element_counts`, which
    /// triggers keep in the transaction of every write (migration 0012): the home page shows
    /// these on every render, and counting the rows took 15 ms at 20k elements.
    pub fn count_elements(&self, visibility: Visibility) -> Result<BTreeMap<Kind, u64>> {
        let sql = match visibility {
            Visibility::Public => "SELECT kind, n FROM element_counts WHERE public = 1",
            Visibility::All => "SELECT kind, sum(n) FROM element_counts GROUP BY kind",
        };
        self.read(|c| {
            let mut counts: BTreeMap<Kind, u64> = Kind::ALL.iter().map(|k| (*k, 0)).collect();
            let mut stmt = c.prepare_cached(sql)?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
            for row in rows {
                let (kind, n) = row?;
                if let Some(k) = Kind::parse(&kind) {
                    counts.insert(k, n.max(0) as u64);
                }
            }
            Ok(counts)
        })
    }

    /// Links `from` to `to` (`from.links.<link_type>.<to> = attrs`) and, when `to` is on
    /// this hub and the link type has a mirror, writes the other side as Communecter does.
    pub fn link(&self, from: &ElementId, link_type: &str, to: &ElementId, attrs: Map<String, Value>) -> Result<()> {
        if link_type.is_empty() || link_type.len() > 64 || !link_type.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(Error::BadRequest(format!("\"{link_type}\" is not a link type")));
        }
        if from == to {
            return Err(Error::BadRequest("an element cannot be linked to itself".into()));
        }
        self.write(|tx| {
            let from_kind =
                kind_of_id(tx, from.as_str())?.ok_or_else(|| Error::not_found(format!("element {from}")))?;
            let to_kind = kind_of_id(tx, to.as_str())?;
            let mut attrs = attrs;
            if let Some(k) = to_kind {
                attrs.insert("type".into(), Value::String(k.collection().into()));
            }
            put_link(tx, &self.instance.id, from, link_type, to, attrs.clone())?;
            if let Some(to_kind) = to_kind {
                if let Some(mirror) = model::reciprocal(link_type, from_kind, to_kind) {
                    let mut back = Map::new();
                    back.insert("type".into(), Value::String(from_kind.collection().into()));
                    for key in ["isAdmin", "isAdminPending", "toBeValidated", "isInviting", "roles"] {
                        if let Some(v) = attrs.get(key) {
                            back.insert(key.into(), v.clone());
                        }
                    }
                    put_link(tx, &self.instance.id, to, mirror, from, back)?;
                }
            }
            Ok(())
        })
    }

    /// Removes a link and its mirror. Returns whether there was one.
    pub fn unlink(&self, from: &ElementId, link_type: &str, to: &ElementId) -> Result<bool> {
        self.write(|tx| {
            let from_kind =
                kind_of_id(tx, from.as_str())?.ok_or_else(|| Error::not_found(format!("element {from}")))?;
            let n = tx
                .prepare_cached("DELETE FROM links WHERE element_id = ?1 AND link_type = ?2 AND other_id = ?3")?
                .execute([from.as_str(), link_type, to.as_str()])?;
            if n == 0 {
                return Ok(false);
            }
            touch(tx, &self.instance.id, from.as_str())?;
            if let Some(to_kind) = kind_of_id(tx, to.as_str())? {
                if let Some(mirror) = model::reciprocal(link_type, from_kind, to_kind) {
                    let m = tx
                        .prepare_cached("DELETE FROM links WHERE element_id = ?1 AND link_type = ?2 AND other_id = ?3")?
                        .execute([to.as_str(), mirror, from.as_str()])?;
                    if m > 0 {
                        touch(tx, &self.instance.id, to.as_str())?;
                    }
                }
            }
            Ok(true)
        })
    }

    /// Writes imported elements as they are (ids, slugs, dates kept), replacing elements
    /// with the same id. Runs inside the caller's transaction.
    pub(crate) fn put_element(&self, tx: &Connection, element: &mut Element, facts: &Facts) -> Result<()> {
        let op = if kind_of_id(tx, element.id.as_str())?.is_some() {
            ChangeOp::Update
        } else {
            ChangeOp::Create
        };
        save(tx, &self.instance.id, element, facts, op)?;
        Ok(())
    }

    /// Calls `f` on every element, oldest first, reading in batches.
    pub fn for_each_element(&self, mut f: impl FnMut(Element) -> Result<()>) -> Result<()> {
        let mut after = 0i64;
        loop {
            let batch: Vec<(i64, Element)> = self.read(|c| {
                let mut stmt = c.prepare_cached(
                    "SELECT id, created_seq FROM elements WHERE created_seq > ?1 ORDER BY created_seq LIMIT 500",
                )?;
                let ids: Vec<(String, i64)> = stmt
                    .query_map([after], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<Result<_, _>>()?;
                let seqs: std::collections::HashMap<String, i64> = ids.iter().cloned().collect();
                let ids: Vec<String> = ids.into_iter().map(|(id, _)| id).collect();
                Ok(load_many(c, &ids)?
                    .into_iter()
                    .map(|e| (seqs[e.id.as_str()], e))
                    .collect())
            })?;
            if batch.is_empty() {
                return Ok(());
            }
            for (seq, e) in batch {
                after = seq;
                f(e)?;
            }
        }
    }

    /// True when the store holds no element and no record.
    pub fn is_empty(&self) -> Result<bool> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT NOT EXISTS(SELECT 1 FROM elements) AND NOT EXISTS(SELECT 1 FROM records)",
                [],
                |r| r.get(0),
            )?)
        })
    }
}

fn put_link(
    conn: &Connection,
    origin: &str,
    from: &ElementId,
    link_type: &str,
    to: &ElementId,
    attrs: Map<String, Value>,
) -> Result<()> {
    let position: i64 = conn
        .prepare_cached("SELECT coalesce(max(position) + 1, 0) FROM links WHERE element_id = ?1")?
        .query_row([from.as_str()], |r| r.get(0))?;
    let attrs = serde_json::to_string(&attrs).map_err(|e| Error::Corrupt(e.to_string()))?;
    conn.prepare_cached(
        "INSERT INTO links (element_id, link_type, other_id, attrs, position) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT DO UPDATE SET attrs = excluded.attrs",
    )?
    .execute(params![from.as_str(), link_type, to.as_str(), attrs, position])?;
    touch(conn, origin, from.as_str())
}

/// Records that an element changed without its document changing (its links did).
fn touch(conn: &Connection, origin: &str, id: &str) -> Result<()> {
    let seq = changes::record(conn, origin, EntityKind::Element, id, ChangeOp::Update)?;
    conn.prepare_cached("UPDATE elements SET seq = ?1 WHERE id = ?2")?
        .execute(params![seq, id])?;
    Ok(())
}

/// `copi check`: every stored document still validates and its columns match its facts.
pub(super) fn check_facts(store: &Store, repair: bool, report: &mut CheckReport) -> Result<()> {
    let mut stale = Vec::new();
    store.for_each_element(|mut e| {
        report.elements += 1;
        match model::check(e.kind, &mut e.doc, &store.zone) {
            Err(err) => report.problems.push(format!("element {}: {err}", e.id)),
            Ok(facts) => {
                let place = place_of(&facts);
                let stored: (String, Option<String>, Option<String>, bool) = store.read(|c| {
                    Ok(c.query_row(
                        "SELECT name, insee, department, private FROM elements WHERE id = ?1",
                        [e.id.as_str()],
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                    )?)
                })?;
                if stored
                    != (
                        facts.name.clone(),
                        place.insee.clone(),
                        place.department.clone(),
                        facts.private,
                    )
                {
                    report
                        .problems
                        .push(format!("element {}: indexed columns differ from its document", e.id));
                    stale.push((e, facts));
                }
            }
        }
        Ok(())
    })?;
    if repair {
        for (mut e, facts) in stale {
            let id = e.id.clone();
            store.write(|tx| save(tx, &store.instance.id, &mut e, &facts, ChangeOp::Update).map(|_| ()))?;
            report.repaired.push(format!("element {id}: columns recomputed"));
        }
    }
    check_counts(store, repair, report)?;
    report.records =
        store.read(|c| Ok(c.query_row("SELECT count(*) FROM records", [], |r| r.get::<_, i64>(0))? as usize))?;
    Ok(())
}

/// Counts of elements per kind and publicity, as `element_counts` keeps them.
const COUNTED: &str = "SELECT kind, public, n FROM element_counts WHERE n != 0 ORDER BY kind, public";

/// The same, counted from the rows.
const RECOUNTED: &str =
    "SELECT kind, private = 0 AND moderation IS NULL, count(*) FROM elements GROUP BY 1, 2 ORDER BY 1, 2";

fn counts(conn: &Connection, sql: &str) -> Result<Vec<(String, bool, i64)>> {
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// `copi check`: the counts the home page shows are those of the rows. The triggers keep them
/// so; a database edited by hand (or damaged) may not be, and a repair recounts.
fn check_counts(store: &Store, repair: bool, report: &mut CheckReport) -> Result<()> {
    let (kept, rows) = store.read(|c| Ok((counts(c, COUNTED)?, counts(c, RECOUNTED)?)))?;
    if kept == rows {
        return Ok(());
    }
    report
        .problems
        .push("element counts per kind differ from the elements".to_owned());
    if repair {
        store.write(|tx| {
            tx.execute("DELETE FROM element_counts", [])?;
            tx.execute(
                &format!("INSERT INTO element_counts (kind, public, n) SELECT * FROM ({RECOUNTED})"),
                [],
            )?;
            Ok(())
        })?;
        report.repaired.push("element counts recounted".to_owned());
    }
    Ok(())
}
