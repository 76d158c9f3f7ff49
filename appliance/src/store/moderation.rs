//! Moderation: reports, hidden and pending elements and records, blocked accounts.
//!
//! # Design
//!
//! An element or a record (post, comment) carries a moderation state in its `moderation`
//! column (migration `0006_moderation`), beside its privacy:
//! - `hidden`: the hub's admin hid it. It is kept (unhide restores it as it was);
//! - `pending`: an anonymous submission (an event, a mutual-aid offer or need) awaiting the
//!   admin's approval, as Gancio does;
//! - none (NULL): what its privacy and audience say.
//!
//! A hidden or pending item is seen by the hub's admin only: not by anonymous visitors, not
//! by signed-in persons, not even by its own members, creator or author. The condition is in
//! the SQL next to every privacy condition (`private = 0` and the citizens' visibility
//! SQL), so that every surface built on the store inherits it before paging: lists, reads by
//! id, counts, the agenda, the live feed, the map, journals, home feeds and comments; the
//! replies to a hidden comment and the comments on a hidden post go with it. `get_elements`
//! (hits of searches, linked elements of a page or graph) leaves moderated elements out for
//! everyone; [`Store::get_elements_for_admin`] gives them too. A person's [`Store::standing`]
//! with a moderated element is none, so nobody joins, follows or posts on it.
//!
//! The search index holds a moderated element with visibility `hidden` (and no readers), so
//! only the admin's searches match it. Every moderation change appends an `update` to the
//! change log for the element or record, in the same transaction, so the indexer (which
//! follows the log) catches up, and a search made after the change sees it.
//!
//! Reports (`reports`) are about an element, a post or a comment the reporter may see, by a
//! signed-in person or an anonymous visitor (kept as the throttling key of their address);
//! the same reporter reporting the same thing again while the report is open adds nothing.
//! Like accounts, reports never sync and are not in the change log. Hiding or deleting a
//! target resolves its open reports.
//!
//! Blocking an account disables its login (the `accounts.disabled` flag, which sign-in and
//! token checks already refuse) and revokes its tokens and sessions, in one transaction;
//! optionally it also hides the person and what they created (elements whose `creator` they
//! are, their posts and comments). Unblocking lets them sign in again; what was hidden stays
//! hidden until the admin unhides it.
//!
//! Sync (issue 6) must not send moderated items to a main instance: read
//! [`Store::target_state`] before pushing.

use std::collections::HashSet;

use copi_sync::{ChangeOp, EntityKind};
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{Map, Value};

use super::citizens::{Context, Reader};
use super::elements::{load_many, Page};
use super::{changes, Store};
use crate::error::{Error, Result};
use crate::model::{self, Element, ElementId, Kind, ModelError};

/// Largest page of the admin's queues.
pub const MODERATION_MAX_LIMIT: usize = 200;

/// Longest reason of a report, and resolution note, in characters.
pub const MAX_REASON_CHARS: usize = 1000;

/// The moderation state of an element or a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moderation {
    /// Hidden by the hub's admin.
    Hidden,
    /// An anonymous submission awaiting approval.
    Pending,
}

impl Moderation {
    pub fn as_str(self) -> &'static str {
        match self {
            Moderation::Hidden => "hidden",
            Moderation::Pending => "pending",
        }
    }

    pub fn parse(s: &str) -> Option<Moderation> {
        match s {
            "hidden" => Some(Moderation::Hidden),
            "pending" => Some(Moderation::Pending),
            _ => None,
        }
    }
}

/// What may be reported and moderated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    Element,
    Post,
    Comment,
}

impl TargetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Element => "element",
            TargetKind::Post => "post",
            TargetKind::Comment => "comment",
        }
    }

    pub fn parse(s: &str) -> Option<TargetKind> {
        match s {
            "element" => Some(TargetKind::Element),
            "post" => Some(TargetKind::Post),
            "comment" => Some(TargetKind::Comment),
            _ => None,
        }
    }

    fn entity(self) -> EntityKind {
        match self {
            TargetKind::Element => EntityKind::Element,
            TargetKind::Post => EntityKind::Post,
            TargetKind::Comment => EntityKind::Comment,
        }
    }

    /// The row of the target, its moderation column first.
    fn select(self) -> &'static str {
        match self {
            TargetKind::Element => "SELECT moderation FROM elements WHERE id = ?1",
            TargetKind::Post => "SELECT moderation FROM records WHERE id = ?1 AND kind = 'news'",
            TargetKind::Comment => "SELECT moderation FROM records WHERE id = ?1 AND kind = 'comments'",
        }
    }

    fn table(self) -> &'static str {
        match self {
            TargetKind::Element => "elements",
            TargetKind::Post | TargetKind::Comment => "records",
        }
    }
}

/// An element, a post or a comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub kind: TargetKind,
    pub id: ElementId,
}

impl Target {
    pub fn new(kind: TargetKind, id: ElementId) -> Target {
        Target { kind, id }
    }

    fn not_found(&self) -> Error {
        Error::not_found(format!("{} {}", self.kind.as_str(), self.id))
    }
}

/// How a target stands now, as the admin sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetState {
    Visible,
    Hidden,
    Pending,
    /// Deleted, or never on this hub.
    Gone,
}

impl TargetState {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetState::Visible => "visible",
            TargetState::Hidden => "hidden",
            TargetState::Pending => "pending",
            TargetState::Gone => "gone",
        }
    }

    fn of(row: Option<Option<Moderation>>) -> TargetState {
        match row {
            None => TargetState::Gone,
            Some(None) => TargetState::Visible,
            Some(Some(Moderation::Hidden)) => TargetState::Hidden,
            Some(Some(Moderation::Pending)) => TargetState::Pending,
        }
    }
}

/// What the admin does to a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModerationAction {
    Hide,
    Unhide,
    /// Publishes a pending submission.
    Approve,
    Delete,
}

impl ModerationAction {
    pub fn as_str(self) -> &'static str {
        match self {
            ModerationAction::Hide => "hide",
            ModerationAction::Unhide => "unhide",
            ModerationAction::Approve => "approve",
            ModerationAction::Delete => "delete",
        }
    }

    pub fn parse(s: &str) -> Option<ModerationAction> {
        match s {
            "hide" => Some(ModerationAction::Hide),
            "unhide" => Some(ModerationAction::Unhide),
            "approve" => Some(ModerationAction::Approve),
            "delete" => Some(ModerationAction::Delete),
            _ => None,
        }
    }
}

/// What a moderation action did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moderated {
    pub target: Target,
    pub state: TargetState,
    /// False when the target already was as asked (nothing written).
    pub changed: bool,
}

/// Who reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reporter {
    Person(ElementId),
    /// An anonymous visitor, by the throttling key of their address.
    Anonymous(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReport {
    pub target: Target,
    pub reason: String,
    pub reporter: Reporter,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportStatus {
    Open,
    Resolved,
}

impl ReportStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportStatus::Open => "open",
            ReportStatus::Resolved => "resolved",
        }
    }

    pub fn parse(s: &str) -> Option<ReportStatus> {
        match s {
            "open" => Some(ReportStatus::Open),
            "resolved" => Some(ReportStatus::Resolved),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub id: i64,
    pub target: Target,
    /// How the target stands now.
    pub target_state: TargetState,
    pub reason: String,
    /// The signed-in person who reported, if it was one.
    pub reporter: Option<ElementId>,
    pub created: i64,
    pub status: ReportStatus,
    pub resolved: Option<i64>,
    pub resolution: Option<String>,
}

/// What blocking an account did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Blocked {
    pub tokens_revoked: usize,
    pub hidden_elements: usize,
    pub hidden_posts: usize,
    pub hidden_comments: usize,
}

// ---- SQL pieces -------------------------------------------------------------------------

fn corrupt_state(s: &str) -> Error {
    Error::Corrupt(format!("unknown moderation state {s:?}"))
}

/// The target's moderation; `None` when there is no such target.
fn state_of(conn: &Connection, target: &Target) -> Result<Option<Option<Moderation>>> {
    let row: Option<Option<String>> = conn
        .prepare_cached(target.kind.select())?
        .query_row([target.id.as_str()], |r| r.get(0))
        .optional()?;
    row.map(|m| {
        m.map(|s| Moderation::parse(&s).ok_or_else(|| corrupt_state(&s)))
            .transpose()
    })
    .transpose()
}

/// Sets a target's moderation and logs the change, so the index and sync follow.
fn set_state(conn: &Connection, origin: &str, target: &Target, state: Option<Moderation>) -> Result<()> {
    let seq = changes::record(conn, origin, target.kind.entity(), target.id.as_str(), ChangeOp::Update)?;
    conn.prepare_cached(&format!(
        "UPDATE {} SET moderation = ?1, seq = ?2 WHERE id = ?3",
        target.kind.table()
    ))?
    .execute(params![state.map(Moderation::as_str), seq, target.id.as_str()])?;
    Ok(())
}

/// Resolves the open reports about a target.
fn resolve_open(conn: &Connection, target: &Target, resolution: &str, now: i64) -> Result<usize> {
    Ok(conn
        .prepare_cached(
            "UPDATE reports SET status = 'resolved', resolved = ?1, resolution = ?2
             WHERE target_id = ?3 AND target_kind = ?4 AND status = 'open'",
        )?
        .execute(params![now, resolution, target.id.as_str(), target.kind.as_str()])?)
}

/// The ids among `ids` of elements that are hidden or pending.
pub(super) fn moderated_among(conn: &Connection, ids: &[String]) -> Result<HashSet<String>> {
    let mut out = HashSet::new();
    for chunk in ids.chunks(500) {
        let marks = vec!["?"; chunk.len()].join(",");
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT id FROM elements WHERE moderation IS NOT NULL AND id IN ({marks})"
        ))?;
        let rows = stmt.query_map(rusqlite::params_from_iter(chunk.iter()), |r| r.get::<_, String>(0))?;
        for row in rows {
            out.insert(row?);
        }
    }
    Ok(out)
}

const REPORT_COLUMNS: &str = "id, target_kind, target_id, reason, reporter, created, status, resolved, resolution,
    CASE target_kind
        WHEN 'element' THEN (SELECT coalesce(e.moderation, 'visible') FROM elements e WHERE e.id = target_id)
        WHEN 'post' THEN (SELECT coalesce(r.moderation, 'visible') FROM records r WHERE r.id = target_id AND r.kind = 'news')
        ELSE (SELECT coalesce(r.moderation, 'visible') FROM records r WHERE r.id = target_id AND r.kind = 'comments')
    END";

type ReportRow = (
    i64,
    String,
    String,
    String,
    Option<String>,
    i64,
    String,
    Option<i64>,
    Option<String>,
    Option<String>,
);

fn report_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ReportRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
    ))
}

fn to_report(row: ReportRow) -> Result<Report> {
    let (id, kind, target, reason, reporter, created, status, resolved, resolution, state) = row;
    let bad = |what: &str| Error::Corrupt(format!("report {id}: bad {what}"));
    let target_state = match state.as_deref() {
        None => TargetState::Gone,
        Some("visible") => TargetState::Visible,
        Some(s) => TargetState::of(Some(Some(Moderation::parse(s).ok_or_else(|| corrupt_state(s))?))),
    };
    Ok(Report {
        id,
        target: Target {
            kind: TargetKind::parse(&kind).ok_or_else(|| bad("target kind"))?,
            id: ElementId::parse(&target).ok_or_else(|| bad("target id"))?,
        },
        target_state,
        reason,
        reporter: reporter
            .map(|p| ElementId::parse(&p).ok_or_else(|| bad("reporter")))
            .transpose()?,
        created,
        status: ReportStatus::parse(&status).ok_or_else(|| bad("status"))?,
        resolved,
        resolution,
    })
}

fn read_report(conn: &Connection, id: i64) -> Result<Option<Report>> {
    conn.prepare_cached(&format!("SELECT {REPORT_COLUMNS} FROM reports WHERE id = ?1"))?
        .query_row([id], report_row)
        .optional()?
        .map(to_report)
        .transpose()
}

/// A reason or a note: trimmed, 1 to [`MAX_REASON_CHARS`] characters.
fn checked_text(field: &str, text: &str) -> Result<String> {
    let text = text.trim();
    let n = text.chars().count();
    if n == 0 || n > MAX_REASON_CHARS {
        return Err(ModelError::Invalid {
            field: field.into(),
            message: format!("must have 1 to {MAX_REASON_CHARS} characters"),
        }
        .into());
    }
    Ok(text.to_owned())
}

/// `<prefix><n>` cursors of the admin's queues.
fn parse_cursor(prefix: char, cursor: Option<&str>) -> Result<i64> {
    match cursor {
        None => Ok(i64::MAX),
        Some(c) => c
            .strip_prefix(prefix)
            .and_then(|n| n.parse().ok())
            .filter(|n: &i64| *n > 0)
            .ok_or_else(|| Error::BadRequest(format!("cursor \"{c}\" is not one this hub gave"))),
    }
}

impl Store {
    /// How a target stands now (`Gone` when it is not on this hub).
    pub fn target_state(&self, target: &Target) -> Result<TargetState> {
        self.read(|c| Ok(TargetState::of(state_of(c, target)?)))
    }

    /// Whether `reader` may see the target (what one may report).
    pub fn may_see_target(&self, target: &Target, reader: &Reader) -> Result<bool> {
        match target.kind {
            TargetKind::Element => Ok(self.get_element_for(&target.id, reader)?.is_some()),
            TargetKind::Post => Ok(self.post_for(&target.id, reader)?.is_some()),
            TargetKind::Comment => {
                let Some(comment) = self.comment(&target.id)? else {
                    return Ok(false);
                };
                if !reader.admin {
                    // The comment, and the comment it answers, must not be moderated.
                    let moderated: bool = self.read(|c| {
                        Ok(c.prepare_cached(
                            "SELECT EXISTS(SELECT 1 FROM records c LEFT JOIN records p ON p.id = c.parent_id
                             WHERE c.id = ?1 AND (c.moderation IS NOT NULL OR p.moderation IS NOT NULL))",
                        )?
                        .query_row([target.id.as_str()], |r| r.get(0))?)
                    })?;
                    if moderated {
                        return Ok(false);
                    }
                }
                match &comment.context {
                    Context::Post(p) => Ok(self.post_for(p, reader)?.is_some()),
                    Context::Element(e) => Ok(self.get_element_for(e, reader)?.is_some()),
                }
            }
        }
    }

    /// Files a report. The same reporter reporting the same target again while a report of
    /// theirs is open adds nothing: that report is returned with `false`. 404 for a target
    /// not on this hub (the caller checks that the reporter may see it).
    pub fn create_report(&self, new: &NewReport) -> Result<(Report, bool)> {
        let reason = checked_text("reason", &new.reason)?;
        let now = model::now_seconds();
        let (reporter, client) = match &new.reporter {
            Reporter::Person(p) => (Some(p.as_str()), None),
            Reporter::Anonymous(k) => (None, Some(k.as_str())),
        };
        self.write(|tx| {
            if state_of(tx, &new.target)?.is_none() {
                return Err(new.target.not_found());
            }
            let existing: Option<i64> = tx
                .prepare_cached(
                    "SELECT id FROM reports WHERE target_id = ?1 AND target_kind = ?2 AND status = 'open'
                       AND (reporter = ?3 OR client = ?4) ORDER BY id LIMIT 1",
                )?
                .query_row(
                    params![new.target.id.as_str(), new.target.kind.as_str(), reporter, client],
                    |r| r.get(0),
                )
                .optional()?;
            let (id, created) = match existing {
                Some(id) => (id, false),
                None => {
                    tx.prepare_cached(
                        "INSERT INTO reports (target_kind, target_id, reason, reporter, client, created)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    )?
                    .execute(params![
                        new.target.kind.as_str(),
                        new.target.id.as_str(),
                        reason,
                        reporter,
                        client,
                        now
                    ])?;
                    (tx.last_insert_rowid(), true)
                }
            };
            let report = read_report(tx, id)?.ok_or_else(|| Error::Corrupt("report vanished".into()))?;
            Ok((report, created))
        })
    }

    /// Reports, newest first, of one status or all, one page at a time (cursor `r<id>`).
    pub fn reports(&self, status: Option<ReportStatus>, limit: usize, cursor: Option<&str>) -> Result<Page<Report>> {
        let limit = limit.clamp(1, MODERATION_MAX_LIMIT);
        let before = parse_cursor('r', cursor)?;
        self.read(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {REPORT_COLUMNS} FROM reports WHERE (?1 IS NULL OR status = ?1) AND id < ?2
                 ORDER BY id DESC LIMIT ?3"
            ))?;
            let rows = stmt.query_map(
                params![status.map(ReportStatus::as_str), before, (limit + 1) as i64],
                report_row,
            )?;
            let mut items = rows.map(|r| to_report(r?)).collect::<Result<Vec<Report>>>()?;
            let next = (items.len() > limit).then(|| format!("r{}", items[limit - 1].id));
            items.truncate(limit);
            Ok(Page { items, next })
        })
    }

    pub fn report(&self, id: i64) -> Result<Option<Report>> {
        self.read(|c| read_report(c, id))
    }

    /// Resolves a report, with an optional note. A resolved report stays as it was.
    pub fn resolve_report(&self, id: i64, resolution: Option<&str>) -> Result<Report> {
        let resolution = resolution.map(|r| checked_text("resolution", r)).transpose()?;
        let now = model::now_seconds();
        self.write(|tx| {
            let report = read_report(tx, id)?.ok_or_else(|| Error::not_found(format!("report {id}")))?;
            if report.status == ReportStatus::Resolved {
                return Ok(report);
            }
            tx.prepare_cached("UPDATE reports SET status = 'resolved', resolved = ?1, resolution = ?2 WHERE id = ?3")?
                .execute(params![now, resolution, id])?;
            read_report(tx, id)?.ok_or_else(|| Error::Corrupt("report vanished".into()))
        })
    }

    /// Hides, unhides, approves or deletes a target. Hiding a pending submission keeps it
    /// out of sight (rejected but kept); unhiding a pending one, or approving one that is
    /// not pending, is refused (409). Hiding and deleting resolve the target's open reports.
    pub fn moderate(&self, target: &Target, action: ModerationAction) -> Result<Moderated> {
        let now = model::now_seconds();
        if action == ModerationAction::Delete {
            match target.kind {
                TargetKind::Element => self.delete_element(&target.id)?,
                TargetKind::Post | TargetKind::Comment => {
                    if self.read(|c| state_of(c, target))?.is_none() || !self.delete_record(&target.id)? {
                        return Err(target.not_found());
                    }
                }
            }
            self.write(|tx| resolve_open(tx, target, "deleted", now))?;
            return Ok(Moderated {
                target: target.clone(),
                state: TargetState::Gone,
                changed: true,
            });
        }
        self.write(|tx| {
            let current = state_of(tx, target)?.ok_or_else(|| target.not_found())?;
            let next = match (action, current) {
                (ModerationAction::Hide, _) => Some(Moderation::Hidden),
                (ModerationAction::Unhide, Some(Moderation::Pending)) => {
                    return Err(Error::Conflict(
                        "this submission awaits approval: approve it (or hide or delete it)".into(),
                    ))
                }
                (ModerationAction::Unhide, _) => None,
                (ModerationAction::Approve, Some(Moderation::Pending)) => None,
                (ModerationAction::Approve, _) => {
                    return Err(Error::Conflict(format!(
                        "this {} is not awaiting approval",
                        target.kind.as_str()
                    )))
                }
                (ModerationAction::Delete, _) => unreachable!("deletion is handled above"),
            };
            let changed = next != current;
            if changed {
                set_state(tx, &self.instance.id, target, next)?;
            }
            if action == ModerationAction::Hide {
                resolve_open(tx, target, "hidden", now)?;
            }
            Ok(Moderated {
                target: target.clone(),
                state: TargetState::of(Some(next)),
                changed,
            })
        })
    }

    /// Stores an anonymous submission (an event or a mutual-aid resource) as pending: no
    /// creator, no links, seen by the hub's admin only until approved.
    pub fn submit_element(&self, kind: Kind, mut doc: Map<String, Value>) -> Result<Element> {
        if !matches!(kind, Kind::Event | Kind::Resource) {
            return Err(ModelError::Invalid {
                field: "kind".into(),
                message: "submissions are events or mutual-aid offers and needs (resource)".into(),
            }
            .into());
        }
        let now = Value::from(model::now_seconds());
        doc.insert("created".into(), now.clone());
        doc.insert("updated".into(), now);
        let facts = model::check(kind, &mut doc, &self.zone)?;
        let mut element = Element {
            id: ElementId::generate(),
            kind,
            doc,
            links: Vec::new(),
        };
        self.write(|tx| {
            self.put_element(tx, &mut element, &facts)?;
            tx.prepare_cached("UPDATE elements SET moderation = 'pending' WHERE id = ?1")?
                .execute([element.id.as_str()])?;
            Ok(())
        })?;
        Ok(element)
    }

    /// Elements awaiting approval (or, with `Hidden`, hidden ones), newest first, one page
    /// at a time (cursor `c<created_seq>`).
    pub fn moderated_elements(&self, state: Moderation, limit: usize, cursor: Option<&str>) -> Result<Page<Element>> {
        let limit = limit.clamp(1, MODERATION_MAX_LIMIT);
        let before = parse_cursor('c', cursor)?;
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, created_seq FROM elements WHERE moderation = ?1 AND created_seq < ?2
                 ORDER BY created_seq DESC LIMIT ?3",
            )?;
            let rows = stmt.query_map(params![state.as_str(), before, (limit + 1) as i64], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })?;
            let rows: Vec<(String, i64)> = rows.collect::<Result<_, _>>()?;
            let next = (rows.len() > limit).then(|| format!("c{}", rows[limit - 1].1));
            let ids: Vec<String> = rows.into_iter().take(limit).map(|(id, _)| id).collect();
            Ok(Page {
                items: load_many(c, &ids)?,
                next,
            })
        })
    }

    /// Blocks an account: its login is refused and its tokens and sessions are revoked;
    /// with `hide`, the person and what they created (elements, posts, comments) are hidden
    /// too. 404 when the person has no account here.
    pub fn block_account(&self, person: &ElementId, hide: bool) -> Result<Blocked> {
        let now = model::now_seconds();
        self.write(|tx| {
            let n = tx
                .prepare_cached("UPDATE accounts SET disabled = 1 WHERE person_id = ?1")?
                .execute([person.as_str()])?;
            if n == 0 {
                return Err(Error::not_found(format!("account of {person}")));
            }
            let mut blocked = Blocked {
                tokens_revoked: tx
                    .prepare_cached("UPDATE api_tokens SET revoked = ?2 WHERE person_id = ?1 AND revoked IS NULL")?
                    .execute(params![person.as_str(), now])?,
                ..Blocked::default()
            };
            if !hide {
                return Ok(blocked);
            }
            let elements: Vec<String> = {
                let mut stmt = tx.prepare_cached(
                    "SELECT id FROM elements WHERE moderation IS NULL
                       AND (id = ?1 OR json_extract(doc, '$.creator') = ?1) ORDER BY created_seq",
                )?;
                let rows = stmt.query_map([person.as_str()], |r| r.get(0))?;
                rows.collect::<Result<_, _>>()?
            };
            for id in elements {
                let id = ElementId::parse(&id).ok_or_else(|| Error::Corrupt(format!("bad stored id {id:?}")))?;
                let target = Target::new(TargetKind::Element, id);
                set_state(tx, &self.instance.id, &target, Some(Moderation::Hidden))?;
                blocked.hidden_elements += 1;
            }
            let records: Vec<(String, String)> = {
                let mut stmt = tx.prepare_cached(
                    "SELECT id, kind FROM records WHERE moderation IS NULL AND author = ?1
                       AND kind IN ('news', 'comments') ORDER BY created_seq",
                )?;
                let rows = stmt.query_map([person.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))?;
                rows.collect::<Result<_, _>>()?
            };
            for (id, kind) in records {
                let id = ElementId::parse(&id).ok_or_else(|| Error::Corrupt(format!("bad stored record id {id:?}")))?;
                let kind = if kind == "news" {
                    blocked.hidden_posts += 1;
                    TargetKind::Post
                } else {
                    blocked.hidden_comments += 1;
                    TargetKind::Comment
                };
                set_state(tx, &self.instance.id, &Target::new(kind, id), Some(Moderation::Hidden))?;
            }
            Ok(blocked)
        })
    }

    /// Lets a blocked person sign in again (what was hidden stays hidden). 404 when the
    /// person has no account here.
    pub fn unblock_account(&self, person: &ElementId) -> Result<()> {
        self.write(|tx| {
            let n = tx
                .prepare_cached("UPDATE accounts SET disabled = 0 WHERE person_id = ?1")?
                .execute([person.as_str()])?;
            if n == 0 {
                return Err(Error::not_found(format!("account of {person}")));
            }
            Ok(())
        })
    }

    /// The elements among `ids` that exist, in that order, private, hidden and pending ones
    /// included: for the search index and the hub's admin.
    pub fn get_elements_for_admin(&self, ids: &[String]) -> Result<Vec<Element>> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            out.extend(self.read(|c| load_many(c, chunk))?);
        }
        Ok(out)
    }

    /// The ids among `ids` of hidden or pending elements (for the search index).
    pub fn moderated_ids(&self, ids: &[String]) -> Result<HashSet<String>> {
        self.read(|c| moderated_among(c, ids))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Audience;
    use crate::store::{AgendaQuery, ListQuery, LiveQuery, MapQuery, NewPost, Visibility};
    use copi_sync::ChangeFeed;
    use serde_json::json;

    fn store() -> (tempfile::TempDir, Store) {
        let d = tempfile::tempdir().unwrap();
        let s = Store::open(d.path()).unwrap();
        (d, s)
    }

    fn doc(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn element(id: &ElementId) -> Target {
        Target::new(TargetKind::Element, id.clone())
    }

    #[test]
    fn moderation_hides_an_element_from_every_store_read_but_the_admins() {
        let (_d, s) = store();
        let alice = s
            .create_element(Kind::Person, doc(json!({"name": "Alice"})), None)
            .unwrap()
            .id;
        let event = s
            .create_element_by(
                &alice,
                Kind::Event,
                doc(
                    json!({"name": "Fête", "type": "festival", "startDate": "2030-06-01 18:00", "timeZone": "UTC",
                           "geo": {"latitude": "44.7", "longitude": "5.0"}}),
                ),
                None,
            )
            .unwrap();
        let post = s
            .create_post(
                &event.id,
                &alice,
                &NewPost {
                    text: "venez".into(),
                    audience: Audience::Public,
                    tags: vec![],
                },
            )
            .unwrap();
        let seen = |v: Visibility| {
            let list = s
                .list_elements(&ListQuery {
                    kinds: vec![Kind::Event],
                    visibility: v,
                    ..ListQuery::default()
                })
                .unwrap()
                .items
                .len();
            let agenda = s
                .agenda(&AgendaQuery {
                    visibility: v,
                    ..AgendaQuery::default()
                })
                .unwrap()
                .items
                .len();
            let map = s
                .map_points(&MapQuery {
                    kinds: vec![],
                    tags: vec![],
                    scopes: vec![],
                    bbox: None,
                    visibility: v,
                    member_of: vec![],
                    limit: 10,
                })
                .unwrap()
                .len();
            let live = s
                .live(&LiveQuery {
                    visibility: v,
                    ..LiveQuery::default()
                })
                .unwrap()
                .items
                .len();
            let count = s.count_elements(v).unwrap()[&Kind::Event];
            let by_id = s.get_element(&event.id, v).unwrap().is_some();
            (list, agenda, map, live, count, by_id)
        };
        assert_eq!(seen(Visibility::Public), (1, 1, 1, 1, 1, true));
        let before = s.last_seq().unwrap();
        let done = s.moderate(&element(&event.id), ModerationAction::Hide).unwrap();
        assert_eq!((done.state, done.changed), (TargetState::Hidden, true));
        // One change for the element, so the index catches up.
        let logged = s.changes_since(before, 10).unwrap();
        assert_eq!(logged.len(), 1);
        assert_eq!(
            (logged[0].entity_id.as_str(), logged[0].op),
            (event.id.as_str(), ChangeOp::Update)
        );
        assert_eq!(seen(Visibility::Public), (0, 0, 0, 0, 0, false));
        assert_eq!(seen(Visibility::All), (1, 1, 1, 1, 1, true));
        let creator = s.reader_for(&alice).unwrap();
        assert!(s.get_element_for(&event.id, &creator).unwrap().is_none());
        assert!(s.get_element_for(&event.id, &Reader::hub_admin()).unwrap().is_some());
        assert!(s.post_for(&post.id, &creator).unwrap().is_none());
        assert!(s.journal(&event.id, &creator, 10, None).unwrap().items.is_empty());
        assert!(s.standing(&event.id, &alice).unwrap().is_none());
        assert!(s.get_elements(&[event.id.to_string()]).unwrap().is_empty());
        assert_eq!(s.get_elements_for_admin(&[event.id.to_string()]).unwrap().len(), 1);
        assert_eq!(
            s.moderated_ids(&[event.id.to_string(), alice.to_string()])
                .unwrap()
                .len(),
            1
        );
        // Hiding again changes nothing; unhiding restores.
        let seq = s.last_seq().unwrap();
        assert!(!s.moderate(&element(&event.id), ModerationAction::Hide).unwrap().changed);
        assert_eq!(s.last_seq().unwrap(), seq);
        assert_eq!(
            s.moderate(&element(&event.id), ModerationAction::Approve)
                .unwrap_err()
                .status(),
            409
        );
        s.moderate(&element(&event.id), ModerationAction::Unhide).unwrap();
        assert_eq!(seen(Visibility::Public), (1, 1, 1, 1, 1, true));
        assert!(s.standing(&event.id, &alice).unwrap().is_some());
    }

    #[test]
    fn moderation_of_posts_and_comments() {
        let (_d, s) = store();
        let alice = s
            .create_element(Kind::Person, doc(json!({"name": "Alice"})), None)
            .unwrap()
            .id;
        let org = s
            .create_element_by(
                &alice,
                Kind::Organization,
                doc(json!({"name": "Jardin", "type": "NGO"})),
                None,
            )
            .unwrap();
        let post = |text: &str| {
            s.create_post(
                &org.id,
                &alice,
                &NewPost {
                    text: text.into(),
                    audience: Audience::Public,
                    tags: vec![],
                },
            )
            .unwrap()
        };
        let (kept, spam) = (post("kept"), post("spam"));
        let on_org = Context::Element(org.id.clone());
        let top = s.create_comment(&on_org, None, &alice, "top").unwrap();
        s.create_comment(&on_org, Some(&top.id), &alice, "reply").unwrap();
        s.create_comment(&on_org, None, &alice, "other").unwrap();
        let on_spam = Context::Post(spam.id.clone());
        s.create_comment(&on_spam, None, &alice, "under spam").unwrap();
        s.moderate(&Target::new(TargetKind::Post, spam.id.clone()), ModerationAction::Hide)
            .unwrap();
        s.moderate(
            &Target::new(TargetKind::Comment, top.id.clone()),
            ModerationAction::Hide,
        )
        .unwrap();
        let anyone = Reader::anonymous();
        let journal: Vec<ElementId> = s
            .journal(&org.id, &anyone, 10, None)
            .unwrap()
            .items
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(journal, std::slice::from_ref(&kept.id));
        assert_eq!(
            s.journal(&org.id, &Reader::hub_admin(), 10, None).unwrap().items.len(),
            2
        );
        let texts = |list: Vec<crate::model::Record>| -> Vec<String> {
            list.iter()
                .map(|r| r.doc["text"].as_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(texts(s.comments_on(&on_org).unwrap()), ["other"]);
        assert!(s.comments_on(&on_spam).unwrap().is_empty());
        assert_eq!(
            texts(s.records_of(&org.id, crate::model::RecordKind::Comment).unwrap()),
            ["other"]
        );
        assert_eq!(s.records_of(&org.id, crate::model::RecordKind::Post).unwrap().len(), 1);
        assert_eq!(s.live(&LiveQuery::default()).unwrap().items.len(), 1);
        // A post id is not a comment: 404, nothing written.
        let seq = s.last_seq().unwrap();
        let wrong = Target::new(TargetKind::Comment, kept.id.clone());
        assert_eq!(s.moderate(&wrong, ModerationAction::Hide).unwrap_err().status(), 404);
        assert_eq!(s.moderate(&wrong, ModerationAction::Delete).unwrap_err().status(), 404);
        assert_eq!(s.last_seq().unwrap(), seq);
    }

    #[test]
    fn moderation_reports_and_submissions() {
        let (_d, s) = store();
        let poi = s.create_element(Kind::Poi, doc(json!({"name": "Banc"})), None).unwrap();
        let target = element(&poi.id);
        let anonymous = |key: &str| NewReport {
            target: target.clone(),
            reason: " spam ".into(),
            reporter: Reporter::Anonymous(key.into()),
        };
        let seq = s.last_seq().unwrap();
        let (first, created) = s.create_report(&anonymous("10.0.0.1")).unwrap();
        assert!(created);
        assert_eq!(
            (first.reason.as_str(), first.target_state),
            ("spam", TargetState::Visible)
        );
        let (again, created) = s.create_report(&anonymous("10.0.0.1")).unwrap();
        assert_eq!((again.id, created), (first.id, false));
        s.create_report(&anonymous("10.0.0.2")).unwrap();
        assert_eq!(s.last_seq().unwrap(), seq, "reports are not in the change log");
        let mut bad = anonymous("x");
        bad.reason = "  ".into();
        assert_eq!(s.create_report(&bad).unwrap_err().status(), 422);
        bad.reason = "ok".into();
        bad.target = element(&ElementId::generate());
        assert_eq!(s.create_report(&bad).unwrap_err().status(), 404);
        assert_eq!(s.reports(Some(ReportStatus::Open), 10, None).unwrap().items.len(), 2);
        let page = s.reports(None, 1, None).unwrap();
        assert_eq!(page.items.len(), 1);
        assert_eq!(s.reports(None, 1, page.next.as_deref()).unwrap().items[0].id, first.id);
        // Hiding resolves the open reports.
        s.moderate(&target, ModerationAction::Hide).unwrap();
        let resolved = s.reports(Some(ReportStatus::Resolved), 10, None).unwrap().items;
        assert_eq!(resolved.len(), 2);
        assert_eq!(resolved[0].target_state, TargetState::Hidden);
        assert_eq!(resolved[0].resolution.as_deref(), Some("hidden"));
        assert_eq!(s.resolve_report(9999, None).unwrap_err().status(), 404);
        // Submissions wait for approval.
        let pending = s
            .submit_element(
                Kind::Resource,
                doc(json!({"name": "Prête une perceuse", "section": "offer", "category": "material"})),
            )
            .unwrap();
        assert!(s.get_element(&pending.id, Visibility::Public).unwrap().is_none());
        let queue = s.moderated_elements(Moderation::Pending, 10, None).unwrap();
        assert_eq!(queue.items.len(), 1);
        assert_eq!(
            s.moderate(&element(&pending.id), ModerationAction::Unhide)
                .unwrap_err()
                .status(),
            409
        );
        s.moderate(&element(&pending.id), ModerationAction::Approve).unwrap();
        assert!(s.get_element(&pending.id, Visibility::Public).unwrap().is_some());
        assert!(s
            .submit_element(Kind::Organization, doc(json!({"name": "x", "type": "NGO"})))
            .is_err());
        assert!(s.moderated_elements(Moderation::Pending, 10, Some("x")).is_err());
    }
}
