//! The cooperative space ("espace coopératif") of an element: proposals with their votes,
//! and actions (tasks) with their assignees — Communecter's `proposals` and `actions`
//! collections. Each keeps its Communecter-shaped document (so that sync can carry it) beside
//! the columns the rules and lists read, and every write appends to the change log in its
//! transaction.
//!
//! Rules (who may do what is the API's business, `api::coop`; the store keeps the data
//! true):
//! - a proposal is **open** until an element admin closes it (`closed_at`) or its deadline
//!   passes on the hub's clock (the Pi may have none: a deadline is optional, and an admin
//!   can always close); then it is **closed**, for good;
//! - one vote per person per proposal (`for`, `against`, `abstain`, Communecter's `up`,
//!   `down`, `white`), changed in place while the proposal is open;
//! - the counts are shown while the proposal is open when its results are `live`, and only
//!   once it is closed when they are `closed` ([`Proposal::results`] is the only way to them);
//!   who voted what is never shown, only one's own vote;
//! - a proposal's text, deadline and results rule change only while it is open and nobody
//!   has voted;
//! - an action's assignees are validated members of its element (a person's own space: that
//!   person), checked in the transaction that writes them;
//! - what a reader may see follows the element: a private element's space is seen by its
//!   members (the rule of `citizens`, in the SQL of every read).
//!
//! Documents. A proposal: `title`, `description`, `parentId`/`parentType`, `idUserAuthor`,
//! `creator`, `status` (`tovote`, `closed`), `voteActivated`, `voteCanChange`,
//! `voteAnonymous`, `voteDateEnd` (epoch seconds), `amendementActivated: false`,
//! `votes {up, down, white}` (person ids), and CoPi's `resultsVisibility` (`live`, `closed`)
//! and `closedBy`. An action: `name`, `description`, `status` (`todo`, `doing`, `done`),
//! `endDate` (the due date), `links.contributors.<person> = {type: citoyens}`,
//! `parentId`/`parentType`, `idUserAuthor`, `creator`.

use copi_sync::{ChangeOp, EntityKind};
use rusqlite::{named_params, params, Connection, OptionalExtension};
use serde_json::{json, Map, Value};

use super::citizens::Reader;
use super::elements::Page;
use super::{changes, Store};
use crate::error::{Error, Result};
use crate::model::{self, ElementId, Kind, ModelError};

/// Largest page of proposals or actions, and most items of each list of "my cooperative
/// space".
pub const COOP_MAX_LIMIT: usize = 100;
/// Most assignees of one action.
pub const MAX_ASSIGNEES: usize = 20;
const MAX_TITLE: usize = 200;
const MAX_DESCRIPTION: usize = 10_000;

/// A vote on a proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Vote {
    For,
    Against,
    Abstain,
}

impl Vote {
    pub const ALL: [Vote; 3] = [Vote::For, Vote::Against, Vote::Abstain];

    pub fn as_str(self) -> &'static str {
        match self {
            Vote::For => "for",
            Vote::Against => "against",
            Vote::Abstain => "abstain",
        }
    }

    pub fn parse(s: &str) -> Option<Vote> {
        Vote::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// The key of Communecter's `votes` map.
    pub fn communecter(self) -> &'static str {
        match self {
            Vote::For => "up",
            Vote::Against => "down",
            Vote::Abstain => "white",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// When a proposal's counts are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ResultsVisibility {
    /// While the vote runs, and after.
    #[default]
    Live,
    /// Only once the proposal is closed.
    Closed,
}

impl ResultsVisibility {
    pub fn as_str(self) -> &'static str {
        match self {
            ResultsVisibility::Live => "live",
            ResultsVisibility::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<ResultsVisibility> {
        match s {
            "live" => Some(ResultsVisibility::Live),
            "closed" => Some(ResultsVisibility::Closed),
            _ => None,
        }
    }
}

/// Where an action stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ActionStatus {
    #[default]
    Todo,
    Doing,
    Done,
}

impl ActionStatus {
    pub const ALL: [ActionStatus; 3] = [ActionStatus::Todo, ActionStatus::Doing, ActionStatus::Done];

    pub fn as_str(self) -> &'static str {
        match self {
            ActionStatus::Todo => "todo",
            ActionStatus::Doing => "doing",
            ActionStatus::Done => "done",
        }
    }

    pub fn parse(s: &str) -> Option<ActionStatus> {
        ActionStatus::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// The counts of a proposal's votes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tally([u32; 3]);

impl Tally {
    pub fn count(&self, v: Vote) -> u32 {
        self.0[v.index()]
    }

    pub fn total(&self) -> u32 {
        self.0.iter().sum()
    }
}

/// A proposal as a reader gets it. Who voted what is not in it.
#[derive(Debug, Clone, PartialEq)]
pub struct Proposal {
    pub id: ElementId,
    /// The element whose space it is in.
    pub element: ElementId,
    pub author: String,
    pub title: String,
    pub description: Option<String>,
    pub visibility: ResultsVisibility,
    /// Epoch seconds (the hub's clock).
    pub deadline: Option<i64>,
    /// When an element admin closed it.
    pub closed_at: Option<i64>,
    pub closed_by: Option<String>,
    pub created: i64,
    pub updated: i64,
    /// The reader's own vote, when the reader is a person.
    pub my_vote: Option<Vote>,
    tally: Tally,
}

impl Proposal {
    /// Open until an admin closes it or its deadline passes at `now`.
    pub fn is_open(&self, now: i64) -> bool {
        self.closed_at.is_none() && self.deadline.is_none_or(|d| now < d)
    }

    /// The counts, if its results rule lets them be shown at `now`.
    pub fn results(&self, now: i64) -> Option<Tally> {
        (self.visibility == ResultsVisibility::Live || !self.is_open(now)).then_some(self.tally)
    }

    /// Whether anybody voted (for those who may edit it: it can no longer change).
    pub fn has_votes(&self) -> bool {
        self.tally.total() > 0
    }
}

/// A proposal to write.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NewProposal {
    pub title: String,
    pub description: Option<String>,
    pub deadline: Option<i64>,
    pub visibility: ResultsVisibility,
}

/// Changes to a proposal's text (only before any vote). `Some(None)` removes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProposalEdit {
    pub title: Option<String>,
    pub description: Option<Option<String>>,
    pub deadline: Option<Option<i64>>,
    pub visibility: Option<ResultsVisibility>,
}

/// An action (task).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    pub id: ElementId,
    pub element: ElementId,
    pub author: String,
    pub title: String,
    pub description: Option<String>,
    pub status: ActionStatus,
    /// Epoch seconds.
    pub due: Option<i64>,
    pub assignees: Vec<ElementId>,
    pub created: i64,
    pub updated: i64,
}

/// An action to write.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NewAction {
    pub title: String,
    pub description: Option<String>,
    pub status: ActionStatus,
    pub due: Option<i64>,
    pub assignees: Vec<ElementId>,
}

/// Changes to an action. `Some(None)` removes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ActionEdit {
    pub title: Option<String>,
    pub description: Option<Option<String>>,
    pub status: Option<ActionStatus>,
    pub due: Option<Option<i64>>,
    pub assignees: Option<Vec<ElementId>>,
}

impl ActionEdit {
    /// Whether it changes nothing but the status (what an assignee may do).
    pub fn status_only(&self) -> bool {
        self.title.is_none() && self.description.is_none() && self.due.is_none() && self.assignees.is_none()
    }
}

/// What concerns a person in every space they belong to.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Cooperative {
    /// Open proposals in the spaces of elements they are a member of, not voted on yet,
    /// nearest deadline first.
    pub to_vote: Vec<Proposal>,
    /// Proposals they voted on (their vote in `my_vote`), newest first.
    pub voted: Vec<Proposal>,
    /// Actions assigned to them: to do and doing first, nearest due date first.
    pub actions: Vec<Action>,
}

// ---- SQL pieces -------------------------------------------------------------------------

/// `:person` is a validated member or admin of the element `x` (the rule of `citizens`), or
/// is that element (a person's own space).
fn member_sql(x: &str) -> String {
    format!("({x} = :person OR {})", super::citizens::member_sql(x))
}

/// The reader (`:all`, `:person`) may see the element row `e`: `citizens`' one rule.
fn element_visible_sql() -> String {
    super::citizens::element_visible_sql("e")
}

/// The counts come from the votes cast here, or from `voteCount` for a proposal made on
/// another replica (its votes are cast and counted there: see `store/sync_records.rs`).
const PROPOSAL_COLUMNS: &str = "p.id, p.element_id, p.author, p.visibility, p.deadline, p.closed_at, p.doc,
    coalesce(json_extract(p.doc, '$.voteCount.up'), (SELECT count(*) FROM votes v WHERE v.proposal_id = p.id AND v.value = 'for')),
    coalesce(json_extract(p.doc, '$.voteCount.down'), (SELECT count(*) FROM votes v WHERE v.proposal_id = p.id AND v.value = 'against')),
    coalesce(json_extract(p.doc, '$.voteCount.white'), (SELECT count(*) FROM votes v WHERE v.proposal_id = p.id AND v.value = 'abstain')),
    (SELECT v.value FROM votes v WHERE v.proposal_id = p.id AND v.person_id = :person),
    p.created_seq";

const ACTION_COLUMNS: &str = "a.id, a.element_id, a.author, a.status, a.due, a.doc,
    (SELECT json_group_array(person_id) FROM (SELECT person_id FROM action_assignees x WHERE x.action_id = a.id ORDER BY person_id)),
    a.created_seq";

// ---- small helpers ----------------------------------------------------------------------

fn invalid(field: &str, message: impl Into<String>) -> Error {
    Error::Invalid(ModelError::Invalid {
        field: field.into(),
        message: message.into(),
    })
}

fn parse_id(s: &str) -> Result<ElementId> {
    ElementId::parse(s).ok_or_else(|| Error::Corrupt(format!("bad stored id {s:?}")))
}

fn parse_doc(what: &str, text: &str) -> Result<Map<String, Value>> {
    serde_json::from_str(text).map_err(|e| Error::Corrupt(format!("{what}: stored document unreadable: {e}")))
}

fn to_text(doc: &Map<String, Value>) -> Result<String> {
    serde_json::to_string(doc).map_err(|e| Error::Corrupt(e.to_string()))
}

fn doc_str(doc: &Map<String, Value>, key: &str) -> Option<String> {
    doc.get(key)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .filter(|s| !s.is_empty())
}

fn doc_int(doc: &Map<String, Value>, key: &str) -> i64 {
    doc.get(key).and_then(Value::as_i64).unwrap_or(0)
}

/// A title: trimmed, 1 to [`MAX_TITLE`] characters.
fn check_title(field: &str, title: &str) -> Result<String> {
    let t = title.trim();
    if t.is_empty() {
        return Err(invalid(field, "must not be empty"));
    }
    if t.chars().count() > MAX_TITLE {
        return Err(invalid(field, format!("must have at most {MAX_TITLE} characters")));
    }
    Ok(t.to_owned())
}

/// A description: trimmed (empty is none), at most [`MAX_DESCRIPTION`] characters.
fn check_description(text: Option<&str>) -> Result<Option<String>> {
    let Some(t) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if t.chars().count() > MAX_DESCRIPTION {
        return Err(invalid(
            "description",
            format!("must have at most {MAX_DESCRIPTION} characters"),
        ));
    }
    Ok(Some(t.to_owned()))
}

/// A deadline must still be ahead on the hub's clock (which the message shows, since the
/// Pi's may be wrong).
fn check_deadline(deadline: Option<i64>, now: i64) -> Result<()> {
    match deadline {
        Some(d) if d <= now => {
            let clock = jiff::Timestamp::from_second(now).map_or_else(|_| now.to_string(), |t| t.to_string());
            Err(invalid(
                "deadline",
                format!("is already past on the hub's clock ({clock})"),
            ))
        }
        _ => Ok(()),
    }
}

fn set_or_remove(doc: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    match value {
        Some(v) => {
            doc.insert(key.into(), v);
        }
        None => {
            doc.remove(key);
        }
    }
}

/// `c<created_seq>` of the last item of a page.
fn parse_cursor(cursor: Option<&str>) -> Result<i64> {
    match cursor {
        None => Ok(i64::MAX),
        Some(c) => c
            .strip_prefix('c')
            .and_then(|n| n.parse().ok())
            .filter(|n: &i64| *n > 0)
            .ok_or_else(|| Error::BadRequest(format!("cursor \"{c}\" is not one this hub gave"))),
    }
}

fn element_kind(conn: &Connection, id: &ElementId) -> Result<Kind> {
    let kind: Option<String> = conn
        .prepare_cached("SELECT kind FROM elements WHERE id = ?1")?
        .query_row([id.as_str()], |r| r.get(0))
        .optional()?;
    kind.and_then(|k| Kind::parse(&k))
        .ok_or_else(|| Error::not_found(format!("element {id}")))
}

fn is_member(conn: &Connection, element: &ElementId, person: &ElementId) -> Result<bool> {
    Ok(conn
        .prepare_cached(&format!("SELECT {}", member_sql(":element")))?
        .query_row(
            named_params! {":element": element.as_str(), ":person": person.as_str()},
            |r| r.get(0),
        )?)
}

/// Assignees: at most [`MAX_ASSIGNEES`], each once, each a member of `element`.
fn check_assignees(conn: &Connection, element: &ElementId, assignees: &[ElementId]) -> Result<Vec<ElementId>> {
    let mut out: Vec<ElementId> = Vec::new();
    for a in assignees {
        if !out.contains(a) {
            out.push(a.clone());
        }
    }
    if out.len() > MAX_ASSIGNEES {
        return Err(invalid("assignees", format!("has more than {MAX_ASSIGNEES} persons")));
    }
    for a in &out {
        if !is_member(conn, element, a)? {
            return Err(invalid("assignees", format!("{a} is not a member of this element")));
        }
    }
    out.sort();
    Ok(out)
}

// ---- the change log ---------------------------------------------------------------------

/// The cooperative space's entities in the change log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entity {
    Proposal,
    Action,
}

impl Entity {
    fn name(self) -> &'static str {
        match self {
            Entity::Proposal => "proposal",
            Entity::Action => "action",
        }
    }
}

/// Appends the change of a proposal or an action and returns its sequence.
///
/// The log's table accepts `proposal` and `action` (migration 0005); until
/// `copi_sync::EntityKind` names them too, such a change is logged as an update of the
/// element whose space it is (what reads the log must parse every entry), so that the
/// change is still carried in order.
fn log(
    conn: &Connection,
    origin: &str,
    entity: Entity,
    id: &ElementId,
    element: &ElementId,
    op: ChangeOp,
) -> Result<i64> {
    match EntityKind::parse(entity.name()) {
        Some(kind) => changes::record(conn, origin, kind, id.as_str(), op),
        None => {
            let seq = changes::record(conn, origin, EntityKind::Element, element.as_str(), ChangeOp::Update)?;
            conn.prepare_cached("UPDATE elements SET seq = ?1 WHERE id = ?2")?
                .execute(params![seq, element.as_str()])?;
            Ok(seq)
        }
    }
}

/// Deletes the cooperative space of an element that is being deleted, logging each
/// proposal and action deleted (the rows would otherwise go with the element by cascade,
/// unlogged). For `Store::delete_element`, inside its transaction.
#[allow(dead_code)] // Until `Store::delete_element` (elements.rs) calls it.
pub(super) fn delete_for_element(conn: &Connection, origin: &str, element: &str) -> Result<()> {
    for (table, entity) in [("proposals", Entity::Proposal), ("actions", Entity::Action)] {
        let ids: Vec<String> = {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT id FROM {table} WHERE element_id = ?1 ORDER BY created_seq"
            ))?;
            let rows = stmt.query_map([element], |r| r.get(0))?;
            rows.collect::<Result<_, _>>()?
        };
        for id in ids {
            conn.prepare_cached(&format!("DELETE FROM {table} WHERE id = ?1"))?
                .execute([&id])?;
            // Without an entity of its own, the element's deletion says it all.
            if let Some(kind) = EntityKind::parse(entity.name()) {
                changes::record(conn, origin, kind, &id, ChangeOp::Delete)?;
            }
        }
    }
    Ok(())
}

// ---- rows -------------------------------------------------------------------------------

/// A proposal's row as read, checked by [`RawProposal::finish`] (outside rusqlite's error
/// type).
struct RawProposal {
    id: String,
    element: String,
    author: String,
    visibility: String,
    deadline: Option<i64>,
    closed_at: Option<i64>,
    doc: String,
    counts: [u32; 3],
    my_vote: Option<String>,
    created_seq: i64,
}

fn raw_proposal(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawProposal> {
    Ok(RawProposal {
        id: r.get(0)?,
        element: r.get(1)?,
        author: r.get(2)?,
        visibility: r.get(3)?,
        deadline: r.get(4)?,
        closed_at: r.get(5)?,
        doc: r.get(6)?,
        counts: [r.get(7)?, r.get(8)?, r.get(9)?],
        my_vote: r.get(10)?,
        created_seq: r.get(11)?,
    })
}

impl RawProposal {
    fn finish(self) -> Result<Proposal> {
        let what = format!("proposal {}", self.id);
        let doc = parse_doc(&what, &self.doc)?;
        Ok(Proposal {
            id: parse_id(&self.id)?,
            element: parse_id(&self.element)?,
            author: self.author,
            title: doc_str(&doc, "title").unwrap_or_default(),
            description: doc_str(&doc, "description"),
            visibility: ResultsVisibility::parse(&self.visibility)
                .ok_or_else(|| Error::Corrupt(format!("{what}: visibility {}", self.visibility)))?,
            deadline: self.deadline,
            closed_at: self.closed_at,
            closed_by: doc_str(&doc, "closedBy"),
            created: doc_int(&doc, "created"),
            updated: doc_int(&doc, "updated"),
            my_vote: self.my_vote.as_deref().and_then(Vote::parse),
            tally: Tally(self.counts),
        })
    }
}

/// An action's row as read, checked by [`RawAction::finish`].
struct RawAction {
    id: String,
    element: String,
    author: String,
    status: String,
    due: Option<i64>,
    doc: String,
    assignees: String,
    created_seq: i64,
}

fn raw_action(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawAction> {
    Ok(RawAction {
        id: r.get(0)?,
        element: r.get(1)?,
        author: r.get(2)?,
        status: r.get(3)?,
        due: r.get(4)?,
        doc: r.get(5)?,
        assignees: r.get(6)?,
        created_seq: r.get(7)?,
    })
}

impl RawAction {
    fn finish(self) -> Result<Action> {
        let what = format!("action {}", self.id);
        let doc = parse_doc(&what, &self.doc)?;
        let assignees: Vec<String> =
            serde_json::from_str(&self.assignees).map_err(|e| Error::Corrupt(format!("{what}: {e}")))?;
        Ok(Action {
            id: parse_id(&self.id)?,
            element: parse_id(&self.element)?,
            author: self.author,
            title: doc_str(&doc, "name").unwrap_or_default(),
            description: doc_str(&doc, "description"),
            status: ActionStatus::parse(&self.status)
                .ok_or_else(|| Error::Corrupt(format!("{what}: status {}", self.status)))?,
            due: self.due,
            assignees: assignees.iter().map(|a| parse_id(a)).collect::<Result<_>>()?,
            created: doc_int(&doc, "created"),
            updated: doc_int(&doc, "updated"),
        })
    }
}

/// A proposal whoever reads (the caller decided they may), with `person`'s vote.
fn load_proposal(conn: &Connection, id: &ElementId, person: Option<&ElementId>) -> Result<Option<Proposal>> {
    let row = conn
        .prepare_cached(&format!("SELECT {PROPOSAL_COLUMNS} FROM proposals p WHERE p.id = :id"))?
        .query_row(
            named_params! {":id": id.as_str(), ":person": person.map(ElementId::as_str)},
            raw_proposal,
        )
        .optional()?;
    row.map(RawProposal::finish).transpose()
}

fn load_action(conn: &Connection, id: &ElementId) -> Result<Option<Action>> {
    let row = conn
        .prepare_cached(&format!("SELECT {ACTION_COLUMNS} FROM actions a WHERE a.id = ?1"))?
        .query_row([id.as_str()], raw_action)
        .optional()?;
    row.map(RawAction::finish).transpose()
}

/// The stored document and the columns a write needs.
struct Stored {
    element: ElementId,
    deadline: Option<i64>,
    closed_at: Option<i64>,
    doc: Map<String, Value>,
}

fn stored_proposal(conn: &Connection, id: &ElementId) -> Result<Stored> {
    let row: Option<(String, Option<i64>, Option<i64>, String)> = conn
        .prepare_cached("SELECT element_id, deadline, closed_at, doc FROM proposals WHERE id = ?1")?
        .query_row([id.as_str()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .optional()?;
    let (element, deadline, closed_at, doc) = row.ok_or_else(|| Error::not_found(format!("proposal {id}")))?;
    Ok(Stored {
        element: parse_id(&element)?,
        deadline,
        closed_at,
        doc: parse_doc(&format!("proposal {id}"), &doc)?,
    })
}

impl Stored {
    fn is_open(&self, now: i64) -> bool {
        self.closed_at.is_none() && self.deadline.is_none_or(|d| now < d)
    }
}

/// Communecter's `votes {up, down, white}` from the votes table, oldest vote first.
fn votes_doc(conn: &Connection, proposal: &ElementId) -> Result<Value> {
    let mut out = Map::new();
    for v in Vote::ALL {
        let mut stmt = conn.prepare_cached(
            "SELECT person_id FROM votes WHERE proposal_id = ?1 AND value = ?2 ORDER BY at, person_id",
        )?;
        let rows = stmt.query_map([proposal.as_str(), v.as_str()], |r| r.get::<_, String>(0))?;
        let ids: Vec<String> = rows.collect::<Result<_, _>>()?;
        out.insert(v.communecter().into(), Value::from(ids));
    }
    Ok(Value::Object(out))
}

impl Store {
    // ---- proposals ----------------------------------------------------------------------

    /// Writes a proposal on `element`'s space by `author` (the API checked they are a
    /// member), open, with no votes. Refused (422) with a deadline already past at `now`.
    pub fn create_proposal(
        &self,
        element: &ElementId,
        author: &ElementId,
        new: &NewProposal,
        now: i64,
    ) -> Result<Proposal> {
        let title = check_title("title", &new.title)?;
        let description = check_description(new.description.as_deref())?;
        check_deadline(new.deadline, now)?;
        self.write(|tx| {
            let kind = element_kind(tx, element)?;
            let id = ElementId::generate();
            let mut doc = Map::new();
            doc.insert("title".into(), Value::from(title.clone()));
            set_or_remove(&mut doc, "description", description.clone().map(Value::from));
            doc.insert("parentId".into(), Value::from(element.as_str()));
            doc.insert("parentType".into(), Value::from(kind.collection()));
            doc.insert("idUserAuthor".into(), Value::from(author.as_str()));
            doc.insert("creator".into(), Value::from(author.as_str()));
            doc.insert("status".into(), Value::from("tovote"));
            doc.insert("voteActivated".into(), Value::Bool(true));
            doc.insert("voteCanChange".into(), Value::Bool(true));
            doc.insert("voteAnonymous".into(), Value::Bool(true));
            doc.insert("amendementActivated".into(), Value::Bool(false));
            set_or_remove(&mut doc, "voteDateEnd", new.deadline.map(Value::from));
            doc.insert("resultsVisibility".into(), Value::from(new.visibility.as_str()));
            doc.insert("votes".into(), json!({"up": [], "down": [], "white": []}));
            doc.insert("created".into(), Value::from(now));
            doc.insert("updated".into(), Value::from(now));
            let seq = log(tx, &self.instance.id, Entity::Proposal, &id, element, ChangeOp::Create)?;
            tx.prepare_cached(
                "INSERT INTO proposals (id, element_id, author, visibility, deadline, closed_at, doc, created_seq, seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, NULL, ?6, ?7, ?7)",
            )?
            .execute(params![
                id.as_str(),
                element.as_str(),
                author.as_str(),
                new.visibility.as_str(),
                new.deadline,
                to_text(&doc)?,
                seq
            ])?;
            load_proposal(tx, &id, Some(author))?.ok_or_else(|| Error::Corrupt("proposal vanished".into()))
        })
    }

    /// A proposal, if the reader may see its element; with the reader's vote.
    pub fn proposal_for(&self, id: &ElementId, reader: &Reader) -> Result<Option<Proposal>> {
        self.read(|c| {
            let row = c
                .prepare_cached(&format!(
                    "SELECT {PROPOSAL_COLUMNS} FROM proposals p JOIN elements e ON e.id = p.element_id
                     WHERE p.id = :id AND {}",
                    element_visible_sql()
                ))?
                .query_row(
                    named_params! {
                        ":id": id.as_str(),
                        ":all": i64::from(reader.admin),
                        ":person": reader.person.as_ref().map(ElementId::as_str),
                    },
                    raw_proposal,
                )
                .optional()?;
            row.map(RawProposal::finish).transpose()
        })
    }

    /// The proposals of `element`'s space that the reader may see, newest first.
    pub fn proposals_of(
        &self,
        element: &ElementId,
        reader: &Reader,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<Proposal>> {
        let limit = limit.clamp(1, COOP_MAX_LIMIT);
        let before = parse_cursor(cursor)?;
        self.read(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {PROPOSAL_COLUMNS} FROM proposals p JOIN elements e ON e.id = p.element_id
                 WHERE p.element_id = :element AND p.created_seq < :before AND {}
                 ORDER BY p.created_seq DESC LIMIT :limit",
                element_visible_sql()
            ))?;
            let rows = stmt.query_map(
                named_params! {
                    ":element": element.as_str(),
                    ":before": before,
                    ":limit": (limit + 1) as i64,
                    ":all": i64::from(reader.admin),
                    ":person": reader.person.as_ref().map(ElementId::as_str),
                },
                raw_proposal,
            )?;
            let rows: Vec<_> = rows.collect::<Result<_, _>>()?;
            let next = (rows.len() > limit).then(|| format!("c{}", rows[limit - 1].created_seq));
            let items = rows
                .into_iter()
                .take(limit)
                .map(RawProposal::finish)
                .collect::<Result<_>>()?;
            Ok(Page { items, next })
        })
    }

    /// `person` votes (the API checked they are a member). Voting the same again writes
    /// nothing; another vote replaces theirs. Refused (409) once the proposal is closed.
    pub fn vote(&self, proposal: &ElementId, person: &ElementId, vote: Vote, now: i64) -> Result<Proposal> {
        self.write(|tx| {
            let mut stored = stored_proposal(tx, proposal)?;
            if stored.doc.contains_key("voteCount") {
                return Err(Error::Conflict(
                    "this proposal was made on another hub: votes are cast there".into(),
                ));
            }
            if !stored.is_open(now) {
                return Err(Error::Conflict(
                    "this proposal is closed: votes can no longer be cast or changed".into(),
                ));
            }
            if !is_member(tx, &stored.element, person)? {
                return Err(Error::Conflict(
                    "only the element's members vote on its proposals".into(),
                ));
            }
            let before: Option<String> = tx
                .prepare_cached("SELECT value FROM votes WHERE proposal_id = ?1 AND person_id = ?2")?
                .query_row([proposal.as_str(), person.as_str()], |r| r.get(0))
                .optional()?;
            if before.as_deref() != Some(vote.as_str()) {
                tx.prepare_cached(
                    "INSERT INTO votes (proposal_id, person_id, value, at) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT DO UPDATE SET value = excluded.value, at = excluded.at",
                )?
                .execute(params![proposal.as_str(), person.as_str(), vote.as_str(), now])?;
                stored.doc.insert("votes".into(), votes_doc(tx, proposal)?);
                stored.doc.insert("updated".into(), Value::from(now));
                let seq = log(
                    tx,
                    &self.instance.id,
                    Entity::Proposal,
                    proposal,
                    &stored.element,
                    ChangeOp::Update,
                )?;
                tx.prepare_cached("UPDATE proposals SET doc = ?1, seq = ?2 WHERE id = ?3")?
                    .execute(params![to_text(&stored.doc)?, seq, proposal.as_str()])?;
            }
            load_proposal(tx, proposal, Some(person))?.ok_or_else(|| Error::Corrupt("proposal vanished".into()))
        })
    }

    /// Changes a proposal's text, deadline or results rule: refused (409) once closed or
    /// once anybody voted, and (422) with a deadline already past.
    pub fn update_proposal(
        &self,
        id: &ElementId,
        edit: &ProposalEdit,
        reader: Option<&ElementId>,
        now: i64,
    ) -> Result<Proposal> {
        let title = edit.title.as_deref().map(|t| check_title("title", t)).transpose()?;
        let description = edit
            .description
            .as_ref()
            .map(|d| check_description(d.as_deref()))
            .transpose()?;
        if let Some(deadline) = edit.deadline {
            check_deadline(deadline, now)?;
        }
        self.write(|tx| {
            let mut stored = stored_proposal(tx, id)?;
            if !stored.is_open(now) {
                return Err(Error::Conflict(
                    "this proposal is closed: it can no longer change".into(),
                ));
            }
            let votes: i64 = tx
                .prepare_cached("SELECT count(*) FROM votes WHERE proposal_id = ?1")?
                .query_row([id.as_str()], |r| r.get(0))?;
            if votes > 0 {
                return Err(Error::Conflict(
                    "votes have been cast: the proposal can no longer change (an admin may close it)".into(),
                ));
            }
            let doc = &mut stored.doc;
            if let Some(t) = &title {
                doc.insert("title".into(), Value::from(t.clone()));
            }
            if let Some(d) = description {
                set_or_remove(doc, "description", d.map(Value::from));
            }
            if let Some(d) = edit.deadline {
                set_or_remove(doc, "voteDateEnd", d.map(Value::from));
                stored.deadline = d;
            }
            let visibility = edit.visibility.unwrap_or_else(|| {
                doc_str(doc, "resultsVisibility")
                    .and_then(|v| ResultsVisibility::parse(&v))
                    .unwrap_or_default()
            });
            doc.insert("resultsVisibility".into(), Value::from(visibility.as_str()));
            doc.insert("updated".into(), Value::from(now));
            let seq = log(
                tx,
                &self.instance.id,
                Entity::Proposal,
                id,
                &stored.element,
                ChangeOp::Update,
            )?;
            tx.prepare_cached("UPDATE proposals SET doc = ?1, deadline = ?2, visibility = ?3, seq = ?4 WHERE id = ?5")?
                .execute(params![
                    to_text(&stored.doc)?,
                    stored.deadline,
                    visibility.as_str(),
                    seq,
                    id.as_str()
                ])?;
            load_proposal(tx, id, reader)?.ok_or_else(|| Error::Corrupt("proposal vanished".into()))
        })
    }

    /// Closes a proposal (an element admin's decision, the API checked). A proposal already
    /// closed (by an admin or its deadline) stays as it is, and nothing is written.
    pub fn close_proposal(&self, id: &ElementId, by: &ElementId, now: i64) -> Result<Proposal> {
        self.write(|tx| {
            let mut stored = stored_proposal(tx, id)?;
            if stored.is_open(now) {
                stored.doc.insert("status".into(), Value::from("closed"));
                stored.doc.insert("closedBy".into(), Value::from(by.as_str()));
                stored.doc.insert("updated".into(), Value::from(now));
                let seq = log(
                    tx,
                    &self.instance.id,
                    Entity::Proposal,
                    id,
                    &stored.element,
                    ChangeOp::Update,
                )?;
                tx.prepare_cached("UPDATE proposals SET doc = ?1, closed_at = ?2, seq = ?3 WHERE id = ?4")?
                    .execute(params![to_text(&stored.doc)?, now, seq, id.as_str()])?;
            }
            load_proposal(tx, id, Some(by))?.ok_or_else(|| Error::Corrupt("proposal vanished".into()))
        })
    }

    /// A proposal's Communecter document as stored, votes included: for sync and exports,
    /// never for readers.
    pub fn proposal_document(&self, id: &ElementId) -> Result<Option<Map<String, Value>>> {
        self.read(|c| {
            let doc: Option<String> = c
                .prepare_cached("SELECT doc FROM proposals WHERE id = ?1")?
                .query_row([id.as_str()], |r| r.get(0))
                .optional()?;
            doc.map(|d| parse_doc(&format!("proposal {id}"), &d)).transpose()
        })
    }

    // ---- actions ------------------------------------------------------------------------

    /// Writes an action on `element`'s space by `author` (the API checked they are a
    /// member). Refused (422) when an assignee is not a member of the element.
    pub fn create_action(&self, element: &ElementId, author: &ElementId, new: &NewAction, now: i64) -> Result<Action> {
        let title = check_title("title", &new.title)?;
        let description = check_description(new.description.as_deref())?;
        self.write(|tx| {
            let kind = element_kind(tx, element)?;
            let assignees = check_assignees(tx, element, &new.assignees)?;
            let id = ElementId::generate();
            let mut doc = Map::new();
            doc.insert("name".into(), Value::from(title.clone()));
            set_or_remove(&mut doc, "description", description.clone().map(Value::from));
            doc.insert("status".into(), Value::from(new.status.as_str()));
            set_or_remove(&mut doc, "endDate", new.due.map(Value::from));
            doc.insert("parentId".into(), Value::from(element.as_str()));
            doc.insert("parentType".into(), Value::from(kind.collection()));
            doc.insert("idUserAuthor".into(), Value::from(author.as_str()));
            doc.insert("creator".into(), Value::from(author.as_str()));
            set_contributors(&mut doc, &assignees);
            doc.insert("created".into(), Value::from(now));
            doc.insert("updated".into(), Value::from(now));
            let seq = log(tx, &self.instance.id, Entity::Action, &id, element, ChangeOp::Create)?;
            tx.prepare_cached(
                "INSERT INTO actions (id, element_id, author, status, due, doc, created_seq, seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
            )?
            .execute(params![
                id.as_str(),
                element.as_str(),
                author.as_str(),
                new.status.as_str(),
                new.due,
                to_text(&doc)?,
                seq
            ])?;
            put_assignees(tx, &id, &assignees)?;
            load_action(tx, &id)?.ok_or_else(|| Error::Corrupt("action vanished".into()))
        })
    }

    /// An action, if the reader may see its element.
    pub fn action_for(&self, id: &ElementId, reader: &Reader) -> Result<Option<Action>> {
        self.read(|c| {
            let row = c
                .prepare_cached(&format!(
                    "SELECT {ACTION_COLUMNS} FROM actions a JOIN elements e ON e.id = a.element_id
                     WHERE a.id = :id AND {}",
                    element_visible_sql()
                ))?
                .query_row(
                    named_params! {
                        ":id": id.as_str(),
                        ":all": i64::from(reader.admin),
                        ":person": reader.person.as_ref().map(ElementId::as_str),
                    },
                    raw_action,
                )
                .optional()?;
            row.map(RawAction::finish).transpose()
        })
    }

    /// The actions of `element`'s space that the reader may see, newest first.
    pub fn actions_of(
        &self,
        element: &ElementId,
        reader: &Reader,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<Action>> {
        let limit = limit.clamp(1, COOP_MAX_LIMIT);
        let before = parse_cursor(cursor)?;
        self.read(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {ACTION_COLUMNS} FROM actions a JOIN elements e ON e.id = a.element_id
                 WHERE a.element_id = :element AND a.created_seq < :before AND {}
                 ORDER BY a.created_seq DESC LIMIT :limit",
                element_visible_sql()
            ))?;
            let rows = stmt.query_map(
                named_params! {
                    ":element": element.as_str(),
                    ":before": before,
                    ":limit": (limit + 1) as i64,
                    ":all": i64::from(reader.admin),
                    ":person": reader.person.as_ref().map(ElementId::as_str),
                },
                raw_action,
            )?;
            let rows: Vec<_> = rows.collect::<Result<_, _>>()?;
            let next = (rows.len() > limit).then(|| format!("c{}", rows[limit - 1].created_seq));
            let items = rows
                .into_iter()
                .take(limit)
                .map(RawAction::finish)
                .collect::<Result<_>>()?;
            Ok(Page { items, next })
        })
    }

    /// Changes an action (the API checked who may change what). A change that changes
    /// nothing writes nothing. Refused (422) when an assignee is not a member.
    pub fn update_action(&self, id: &ElementId, edit: &ActionEdit, now: i64) -> Result<Action> {
        let title = edit.title.as_deref().map(|t| check_title("title", t)).transpose()?;
        let description = edit
            .description
            .as_ref()
            .map(|d| check_description(d.as_deref()))
            .transpose()?;
        self.write(|tx| {
            let current = load_action(tx, id)?.ok_or_else(|| Error::not_found(format!("action {id}")))?;
            let mut next = current.clone();
            if let Some(t) = &title {
                next.title = t.clone();
            }
            if let Some(d) = &description {
                next.description = d.clone();
            }
            if let Some(s) = edit.status {
                next.status = s;
            }
            if let Some(d) = edit.due {
                next.due = d;
            }
            if let Some(a) = &edit.assignees {
                next.assignees = check_assignees(tx, &current.element, a)?;
            }
            if next == current {
                return Ok(current);
            }
            let text: String = tx
                .prepare_cached("SELECT doc FROM actions WHERE id = ?1")?
                .query_row([id.as_str()], |r| r.get(0))?;
            let mut doc = parse_doc(&format!("action {id}"), &text)?;
            doc.insert("name".into(), Value::from(next.title.clone()));
            set_or_remove(&mut doc, "description", next.description.clone().map(Value::from));
            doc.insert("status".into(), Value::from(next.status.as_str()));
            set_or_remove(&mut doc, "endDate", next.due.map(Value::from));
            set_contributors(&mut doc, &next.assignees);
            doc.insert("updated".into(), Value::from(now));
            let seq = log(
                tx,
                &self.instance.id,
                Entity::Action,
                id,
                &current.element,
                ChangeOp::Update,
            )?;
            tx.prepare_cached("UPDATE actions SET status = ?1, due = ?2, doc = ?3, seq = ?4 WHERE id = ?5")?
                .execute(params![
                    next.status.as_str(),
                    next.due,
                    to_text(&doc)?,
                    seq,
                    id.as_str()
                ])?;
            if next.assignees != current.assignees {
                tx.prepare_cached("DELETE FROM action_assignees WHERE action_id = ?1")?
                    .execute([id.as_str()])?;
                put_assignees(tx, id, &next.assignees)?;
            }
            load_action(tx, id)?.ok_or_else(|| Error::Corrupt("action vanished".into()))
        })
    }

    /// An action's Communecter document as stored: for sync and exports.
    pub fn action_document(&self, id: &ElementId) -> Result<Option<Map<String, Value>>> {
        self.read(|c| {
            let doc: Option<String> = c
                .prepare_cached("SELECT doc FROM actions WHERE id = ?1")?
                .query_row([id.as_str()], |r| r.get(0))
                .optional()?;
            doc.map(|d| parse_doc(&format!("action {id}"), &d)).transpose()
        })
    }

    // ---- my cooperative space -----------------------------------------------------------

    /// What concerns `person` at `now`: open proposals to vote on, their votes, the actions
    /// assigned to them, each list at most [`COOP_MAX_LIMIT`] long, only on elements they
    /// may see.
    pub fn cooperative_space(&self, person: &ElementId, now: i64) -> Result<Cooperative> {
        let visible = element_visible_sql();
        let member = member_sql("p.element_id");
        self.read(|c| {
            let proposals = |sql: &str, params: &[(&str, &dyn rusqlite::ToSql)]| -> Result<Vec<Proposal>> {
                let mut stmt = c.prepare_cached(sql)?;
                let rows = stmt.query_map(params, raw_proposal)?;
                let rows: Vec<_> = rows.collect::<Result<_, _>>()?;
                rows.into_iter().map(RawProposal::finish).collect()
            };
            let limit = COOP_MAX_LIMIT as i64;
            let to_vote = proposals(
                &format!(
                    "SELECT {PROPOSAL_COLUMNS} FROM proposals p JOIN elements e ON e.id = p.element_id
                     WHERE p.closed_at IS NULL AND (p.deadline IS NULL OR p.deadline > :now) AND {member} AND {visible}
                       AND NOT EXISTS (SELECT 1 FROM votes v WHERE v.proposal_id = p.id AND v.person_id = :person)
                     ORDER BY p.deadline IS NULL, p.deadline, p.created_seq DESC LIMIT :limit"
                ),
                named_params! {":person": person.as_str(), ":all": 0i64, ":now": now, ":limit": limit},
            )?;
            let voted = proposals(
                &format!(
                    "SELECT {PROPOSAL_COLUMNS} FROM proposals p JOIN elements e ON e.id = p.element_id
                     JOIN votes mine ON mine.proposal_id = p.id AND mine.person_id = :person
                     WHERE {visible}
                     ORDER BY p.created_seq DESC LIMIT :limit"
                ),
                named_params! {":person": person.as_str(), ":all": 0i64, ":limit": limit},
            )?;
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {ACTION_COLUMNS} FROM actions a JOIN elements e ON e.id = a.element_id
                 JOIN action_assignees mine ON mine.action_id = a.id AND mine.person_id = :person
                 WHERE {visible}
                 ORDER BY a.status = 'done', a.due IS NULL, a.due, a.created_seq DESC LIMIT :limit"
            ))?;
            let rows = stmt.query_map(
                named_params! {":person": person.as_str(), ":all": 0i64, ":limit": limit},
                raw_action,
            )?;
            let rows: Vec<_> = rows.collect::<Result<_, _>>()?;
            let actions = rows.into_iter().map(RawAction::finish).collect::<Result<_>>()?;
            Ok(Cooperative {
                to_vote,
                voted,
                actions,
            })
        })
    }
}

/// `links.contributors` of an action: its assignees, as Communecter links persons.
fn set_contributors(doc: &mut Map<String, Value>, assignees: &[ElementId]) {
    let contributors: Map<String, Value> = assignees
        .iter()
        .map(|a| (a.to_string(), json!({"type": "citoyens"})))
        .collect();
    let links = doc.entry("links").or_insert_with(|| Value::Object(Map::new()));
    if !links.is_object() {
        *links = Value::Object(Map::new());
    }
    if let Value::Object(links) = links {
        if contributors.is_empty() {
            links.remove("contributors");
        } else {
            links.insert("contributors".into(), Value::Object(contributors));
        }
    }
    if doc.get("links").and_then(Value::as_object).is_some_and(Map::is_empty) {
        doc.remove("links");
    }
}

fn put_assignees(conn: &Connection, action: &ElementId, assignees: &[ElementId]) -> Result<()> {
    for a in assignees {
        conn.prepare_cached("INSERT INTO action_assignees (action_id, person_id) VALUES (?1, ?2)")?
            .execute([action.as_str(), a.as_str()])?;
    }
    Ok(())
}

/// Reads a date as the API and the pages take it: epoch seconds, or a date (`2026-05-01`,
/// read as midnight), a date and time (`2026-05-01T18:00`, `2026-05-01 18:00`), an ISO 8601
/// instant; civil times are read in `zone` (the hub's).
pub fn parse_when(value: &Value, zone: &jiff::tz::TimeZone) -> Option<i64> {
    model::timestamp_from_value(value, zone).map(|t| t.as_second())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{MemberUpdate, Visibility};
    use copi_sync::ChangeFeed;

    fn doc(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn store() -> (tempfile::TempDir, Store) {
        let d = tempfile::tempdir().unwrap();
        let s = Store::open(d.path()).unwrap();
        (d, s)
    }

    fn person(s: &Store, name: &str) -> ElementId {
        s.create_element(Kind::Person, doc(json!({"name": name})), None)
            .unwrap()
            .id
    }

    /// Alice's organisation (public or private) with Bob a member; Carol outside.
    fn group(s: &Store, private: bool) -> (ElementId, ElementId, ElementId, ElementId) {
        let (alice, bob, carol) = (person(s, "Alice"), person(s, "Bob"), person(s, "Carol"));
        let org = s
            .create_element_by(
                &alice,
                Kind::Organization,
                doc(json!({"name": "Jardin", "type": "NGO", "preferences": {"private": private}})),
                None,
            )
            .unwrap()
            .id;
        s.request_to_join(&org, &bob).unwrap();
        s.update_member(
            &org,
            &bob,
            &MemberUpdate {
                accept: true,
                ..MemberUpdate::default()
            },
        )
        .unwrap();
        (org, alice, bob, carol)
    }

    const NOW: i64 = 1_800_000_000;

    fn proposal(s: &Store, org: &ElementId, by: &ElementId, visibility: ResultsVisibility) -> Proposal {
        s.create_proposal(
            org,
            by,
            &NewProposal {
                title: "  Acheter une grelinette  ".into(),
                description: Some("Pour le potager".into()),
                deadline: Some(NOW + 3600),
                visibility,
            },
            NOW,
        )
        .unwrap()
    }

    #[test]
    fn votes_are_one_per_person_and_close_with_the_deadline() {
        let (_d, s) = store();
        let (org, alice, bob, carol) = group(&s, false);
        let p = proposal(&s, &org, &alice, ResultsVisibility::Live);
        assert_eq!(p.title, "Acheter une grelinette");
        assert!(p.is_open(NOW));
        assert_eq!(p.results(NOW).map(|t| t.total()), Some(0));
        s.vote(&p.id, &alice, Vote::For, NOW + 1).unwrap();
        let seq = s.last_seq().unwrap();
        let again = s.vote(&p.id, &alice, Vote::For, NOW + 2).unwrap();
        assert_eq!(s.last_seq().unwrap(), seq, "the same vote again writes nothing");
        assert_eq!(again.my_vote, Some(Vote::For));
        let changed = s.vote(&p.id, &alice, Vote::Against, NOW + 3).unwrap();
        let t = changed.results(NOW + 3).unwrap();
        assert_eq!((t.count(Vote::For), t.count(Vote::Against), t.total()), (0, 1, 1));
        s.vote(&p.id, &bob, Vote::Abstain, NOW + 4).unwrap();
        // Carol is not a member: the store refuses too.
        assert_eq!(s.vote(&p.id, &carol, Vote::For, NOW + 5).unwrap_err().status(), 409);
        // The deadline passes on the hub's clock.
        let seq = s.last_seq().unwrap();
        assert_eq!(s.vote(&p.id, &bob, Vote::For, NOW + 3600).unwrap_err().status(), 409);
        assert_eq!(s.last_seq().unwrap(), seq);
        // Communecter's shape keeps who voted what, for sync only.
        let stored = s.proposal_document(&p.id).unwrap().unwrap();
        assert_eq!(
            stored["votes"],
            json!({"up": [], "down": [alice.as_str()], "white": [bob.as_str()]})
        );
        assert_eq!(stored["parentType"], json!("organizations"));
        assert_eq!(stored["voteDateEnd"], json!(NOW + 3600));
        // Deadlines must be ahead of the hub's clock.
        let past = NewProposal {
            title: "Trop tard".into(),
            deadline: Some(NOW - 1),
            ..NewProposal::default()
        };
        assert_eq!(s.create_proposal(&org, &alice, &past, NOW).unwrap_err().status(), 422);
    }

    #[test]
    fn closed_results_show_once_closed_and_edits_stop_at_the_first_vote() {
        let (_d, s) = store();
        let (org, alice, bob, _) = group(&s, false);
        let p = proposal(&s, &org, &alice, ResultsVisibility::Closed);
        let edit = ProposalEdit {
            title: Some("Acheter deux grelinettes".into()),
            deadline: Some(None),
            ..ProposalEdit::default()
        };
        let p2 = s.update_proposal(&p.id, &edit, Some(&alice), NOW).unwrap();
        assert_eq!((p2.title.as_str(), p2.deadline), ("Acheter deux grelinettes", None));
        let voted = s.vote(&p.id, &bob, Vote::For, NOW).unwrap();
        assert_eq!(voted.results(NOW), None, "counts hidden while open");
        assert!(voted.has_votes());
        assert_eq!(s.update_proposal(&p.id, &edit, None, NOW).unwrap_err().status(), 409);
        // No deadline: open until an admin closes it.
        assert!(voted.is_open(NOW + 10_000_000));
        let closed = s.close_proposal(&p.id, &alice, NOW + 10).unwrap();
        assert!(!closed.is_open(NOW + 10));
        assert_eq!(closed.results(NOW + 10).unwrap().count(Vote::For), 1);
        assert_eq!(closed.closed_by.as_deref(), Some(alice.as_str()));
        let seq = s.last_seq().unwrap();
        s.close_proposal(&p.id, &alice, NOW + 20).unwrap();
        assert_eq!(s.last_seq().unwrap(), seq, "closing twice writes nothing");
        assert_eq!(s.vote(&p.id, &bob, Vote::Against, NOW + 30).unwrap_err().status(), 409);
        assert_eq!(s.proposal_document(&p.id).unwrap().unwrap()["status"], json!("closed"));
    }

    #[test]
    fn private_spaces_are_read_by_members_only() {
        let (_d, s) = store();
        let (org, alice, bob, carol) = group(&s, true);
        let p = proposal(&s, &org, &alice, ResultsVisibility::Live);
        let a = s
            .create_action(
                &org,
                &alice,
                &NewAction {
                    title: "Arroser".into(),
                    assignees: vec![bob.clone()],
                    ..NewAction::default()
                },
                NOW,
            )
            .unwrap();
        for (reader, sees) in [
            (Reader::anonymous(), false),
            (s.reader_for(&carol).unwrap(), false),
            (s.reader_for(&bob).unwrap(), true),
            (Reader::hub_admin(), true),
        ] {
            assert_eq!(s.proposal_for(&p.id, &reader).unwrap().is_some(), sees);
            assert_eq!(s.action_for(&a.id, &reader).unwrap().is_some(), sees);
            assert_eq!(
                s.proposals_of(&org, &reader, 10, None).unwrap().items.len(),
                usize::from(sees)
            );
            assert_eq!(
                s.actions_of(&org, &reader, 10, None).unwrap().items.len(),
                usize::from(sees)
            );
        }
        // Bob leaves: the space and his task leave his list.
        assert_eq!(s.cooperative_space(&bob, NOW).unwrap().actions.len(), 1);
        s.remove_member(&org, &bob).unwrap();
        let space = s.cooperative_space(&bob, NOW).unwrap();
        assert!(space.actions.is_empty() && space.to_vote.is_empty());
    }

    #[test]
    fn actions_have_member_assignees() {
        let (_d, s) = store();
        let (org, alice, bob, carol) = group(&s, false);
        let new = NewAction {
            title: "Réparer la serre".into(),
            description: Some("Vitres".into()),
            status: ActionStatus::Todo,
            due: Some(NOW + 86_400),
            assignees: vec![bob.clone(), bob.clone()],
        };
        let a = s.create_action(&org, &alice, &new, NOW).unwrap();
        assert_eq!(a.assignees, vec![bob.clone()]);
        let stored = s.action_document(&a.id).unwrap().unwrap();
        assert_eq!(
            stored["links"]["contributors"][bob.as_str()],
            json!({"type": "citoyens"})
        );
        assert_eq!(
            (stored["name"].clone(), stored["endDate"].clone()),
            (json!("Réparer la serre"), json!(NOW + 86_400))
        );
        let with_carol = NewAction {
            assignees: vec![carol.clone()],
            ..new.clone()
        };
        let seq = s.last_seq().unwrap();
        assert_eq!(
            s.create_action(&org, &alice, &with_carol, NOW).unwrap_err().status(),
            422
        );
        let edit = ActionEdit {
            assignees: Some(vec![alice.clone(), carol.clone()]),
            ..ActionEdit::default()
        };
        assert_eq!(s.update_action(&a.id, &edit, NOW).unwrap_err().status(), 422);
        assert_eq!(s.last_seq().unwrap(), seq);
        let doing = ActionEdit {
            status: Some(ActionStatus::Doing),
            ..ActionEdit::default()
        };
        let a2 = s.update_action(&a.id, &doing, NOW + 1).unwrap();
        assert_eq!(a2.status, ActionStatus::Doing);
        let seq = s.last_seq().unwrap();
        s.update_action(&a.id, &doing, NOW + 2).unwrap();
        assert_eq!(s.last_seq().unwrap(), seq, "no change, no write");
        let swap = ActionEdit {
            assignees: Some(vec![alice.clone()]),
            due: Some(None),
            ..ActionEdit::default()
        };
        let a3 = s.update_action(&a.id, &swap, NOW + 3).unwrap();
        assert_eq!((a3.assignees.clone(), a3.due), (vec![alice.clone()], None));
        assert!(s.cooperative_space(&bob, NOW).unwrap().actions.is_empty());
        assert_eq!(s.cooperative_space(&alice, NOW).unwrap().actions, vec![a3]);
        // Deleting the element logs the space's deletions (when the log knows them) and
        // leaves no rows behind.
        s.write(|tx| delete_for_element(tx, "test", org.as_str())).unwrap();
        assert!(s.action_for(&a.id, &Reader::hub_admin()).unwrap().is_none());
        s.delete_element(&org).unwrap();
        assert!(s.get_element(&org, Visibility::All).unwrap().is_none());
    }

    #[test]
    fn my_space_lists_what_concerns_me() {
        let (_d, s) = store();
        let (org, alice, bob, carol) = group(&s, false);
        let later = s
            .create_proposal(
                &org,
                &alice,
                &NewProposal {
                    title: "Sans échéance".into(),
                    ..NewProposal::default()
                },
                NOW,
            )
            .unwrap();
        let soon = proposal(&s, &org, &alice, ResultsVisibility::Closed);
        let space = s.cooperative_space(&bob, NOW).unwrap();
        assert_eq!(
            space.to_vote.iter().map(|p| &p.id).collect::<Vec<_>>(),
            [&soon.id, &later.id]
        );
        s.vote(&soon.id, &bob, Vote::Against, NOW).unwrap();
        let space = s.cooperative_space(&bob, NOW).unwrap();
        assert_eq!(space.to_vote.iter().map(|p| &p.id).collect::<Vec<_>>(), [&later.id]);
        assert_eq!(space.voted.len(), 1);
        assert_eq!(space.voted[0].my_vote, Some(Vote::Against));
        assert_eq!(space.voted[0].results(NOW), None);
        // Past the deadline, nothing is left to vote on there.
        assert_eq!(s.cooperative_space(&bob, NOW + 3600).unwrap().to_vote.len(), 1);
        assert!(s.cooperative_space(&carol, NOW).unwrap().to_vote.is_empty());
        // Pages of an element's proposals.
        let first = s.proposals_of(&org, &Reader::anonymous(), 1, None).unwrap();
        let second = s
            .proposals_of(&org, &Reader::anonymous(), 1, first.next.as_deref())
            .unwrap();
        assert_eq!(
            (first.items[0].id.clone(), second.items[0].id.clone()),
            (soon.id, later.id)
        );
        assert!(second.next.is_none());
        assert!(s.proposals_of(&org, &Reader::anonymous(), 1, Some("x")).is_err());
    }

    #[test]
    fn the_change_log_keeps_its_sequence_through_the_migration() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = Connection::open(dir.path().join("old.db")).unwrap();
        for (name, sql) in super::super::MIGRATIONS.iter().filter(|(n, _)| *n < "0005") {
            conn.execute_batch(sql).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        for i in 0..3 {
            conn.execute(
                "INSERT INTO changes (entity, entity_id, op, origin, at) VALUES ('element', ?1, 'create', 'x', 0)",
                [i.to_string()],
            )
            .unwrap();
        }
        // The newest entry gone (as compaction could do): its number is still never reused.
        conn.execute("DELETE FROM changes WHERE seq = 3", []).unwrap();
        let tx = conn.transaction().unwrap();
        tx.execute_batch(include_str!("migrations/0005_coop.sql")).unwrap();
        tx.commit().unwrap();
        conn.execute(
            "INSERT INTO changes (entity, entity_id, op, origin, at) VALUES ('proposal', 'p', 'create', 'x', 0)",
            [],
        )
        .unwrap();
        assert_eq!(conn.last_insert_rowid(), 4);
        let kept: i64 = conn
            .query_row("SELECT count(*) FROM changes", [], |r| r.get(0))
            .unwrap();
        assert_eq!(kept, 3);
        assert!(conn
            .execute(
                "INSERT INTO changes (entity, entity_id, op, origin, at) VALUES ('vote', 'p', 'create', 'x', 0)",
                [],
            )
            .is_err());
    }

    #[test]
    fn dates_are_read_in_the_hub_zone() {
        let paris = jiff::tz::TimeZone::get("Europe/Paris").unwrap();
        assert_eq!(parse_when(&json!("2026-01-15T18:00"), &paris), Some(1_768_496_400));
        assert_eq!(parse_when(&json!("2026-01-15 18:00"), &paris), Some(1_768_496_400));
        assert_eq!(parse_when(&json!(1_768_496_400), &paris), Some(1_768_496_400));
        assert_eq!(parse_when(&json!("demain"), &paris), None);
    }
}
