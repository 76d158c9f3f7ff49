//! Citizens' core: membership (Communecter's `members`/`memberOf`, `contributors`/`projects`
//! and `attendees`/`events` links with `isAdmin`, `roles`, `toBeValidated`), follows
//! (`followers`/`follows`), invitations by code, and the journal (posts and comments) as each
//! reader may see it.
//!
//! Who may *see* what is decided here, in the SQL of every read, before paging:
//! - an element marked `preferences.private` is seen by its validated members and admins,
//!   by itself (a person) and by the hub's admin;
//! - a post is seen by whoever sees its element, then as its audience says: `public` by all
//!   of them, `members` by validated members and admins, `followers` by followers, members
//!   and admins, `private` by the element's admins; its author and the person whose own
//!   journal it is on always see it;
//! - a comment is seen by whoever sees its post (or its element). Its `audience` column holds
//!   its post's, so that what reads the column (sync) never takes a comment on a members-only
//!   post for a public one.
//!
//! Who may *do* what is the API's business (`api::citizens`): the store gives the facts
//! ([`Standing`]) and the writes, each one transaction with its change-log entries (links
//! touch both elements, as [`Store::link`] does).

use copi_sync::{ChangeOp, EntityKind};
use rusqlite::{named_params, params, Connection, OptionalExtension};
use serde_json::{Map, Value};

use super::elements::{load, load_many, Page, Visibility};
use super::{changes, Store};
use crate::error::{Error, Result};
use crate::model::{self, Audience, Element, ElementId, Kind, ModelError, Record, RecordFacts, RecordKind};

/// Largest page of a journal or a home feed.
pub const JOURNAL_MAX_LIMIT: usize = 200;

/// Most comments (replies included) returned for one post or element.
pub const MAX_COMMENTS: usize = 1000;

/// Link types that make someone part of an element (validated unless `toBeValidated` or
/// `isInviting`; an admin with `isAdmin`).
const MEMBER_LINKS: &str = "('members', 'contributors', 'attendees')";

/// Who reads, as far as privacy goes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reader {
    /// The hub's admin (the admin token): sees everything.
    pub admin: bool,
    /// The signed-in person, if any.
    pub person: Option<ElementId>,
    /// The elements the person is a validated member or admin of (see [`Store::reader_for`]).
    pub member_of: Vec<ElementId>,
}

impl Reader {
    pub fn anonymous() -> Reader {
        Reader::default()
    }

    pub fn hub_admin() -> Reader {
        Reader {
            admin: true,
            ..Reader::default()
        }
    }

    /// What the element lists that know no persons yet may show this reader.
    pub fn visibility(&self) -> Visibility {
        if self.admin {
            Visibility::All
        } else {
            Visibility::Public
        }
    }

    /// Whether this reader may see `e` (the same rule as the store's SQL, on a loaded
    /// element and the `member_of` list). Moderation is not in the document: hidden and
    /// pending elements are left out by the reads that load elements (`get_elements`).
    pub fn may_see(&self, e: &Element) -> bool {
        self.admin || !is_private(e) || self.person.as_ref() == Some(&e.id) || self.member_of.contains(&e.id)
    }

    fn all(&self) -> i64 {
        i64::from(self.admin)
    }

    fn person(&self) -> Option<&str> {
        self.person.as_ref().map(ElementId::as_str)
    }
}

/// `preferences.private` of a stored element.
pub fn is_private(e: &Element) -> bool {
    e.doc
        .get("preferences")
        .and_then(|p| p.get("private"))
        .is_some_and(|v| v == &Value::Bool(true) || v.as_str() == Some("true"))
}

/// Where a person stands with an element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Membership {
    None,
    /// Asked to join (`toBeValidated`) or invited by an admin (`isInviting`), not yet in.
    Pending {
        roles: Vec<String>,
    },
    Member {
        admin: bool,
        roles: Vec<String>,
    },
}

impl Membership {
    /// `none`, `pending`, `member` or `admin`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Membership::None => "none",
            Membership::Pending { .. } => "pending",
            Membership::Member { admin: false, .. } => "member",
            Membership::Member { admin: true, .. } => "admin",
        }
    }

    pub fn roles(&self) -> &[String] {
        match self {
            Membership::None => &[],
            Membership::Pending { roles } | Membership::Member { roles, .. } => roles,
        }
    }

    fn of_attrs(attrs: &Map<String, Value>) -> Membership {
        let roles = roles_of(attrs);
        if flag(attrs, "toBeValidated") || flag(attrs, "isInviting") {
            Membership::Pending { roles }
        } else {
            Membership::Member {
                admin: flag(attrs, "isAdmin") && !flag(attrs, "isAdminPending"),
                roles,
            }
        }
    }
}

/// What the API needs to decide what a person may do with an element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    pub kind: Kind,
    pub private: bool,
    pub membership: Membership,
    pub follower: bool,
    /// The element is the person.
    pub itself: bool,
}

impl Standing {
    pub fn visible(&self) -> bool {
        !self.private || self.member()
    }

    /// A validated member or admin (a person is a member of itself).
    pub fn member(&self) -> bool {
        self.itself || matches!(self.membership, Membership::Member { .. })
    }

    /// An admin of the element (a person administers itself).
    pub fn admin(&self) -> bool {
        self.itself || matches!(self.membership, Membership::Member { admin: true, .. })
    }
}

/// The link that makes a person part of an element of `kind`, as Communecter writes it:
/// organisations have `members`, projects `contributors`, events `attendees`; the other
/// kinds (points of interest, classifieds, resources) `members`, for their admins.
pub fn membership_link(kind: Kind) -> &'static str {
    match kind {
        Kind::Project => "contributors",
        Kind::Event => "attendees",
        _ => "members",
    }
}

/// A change to a member's link, by an element admin.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberUpdate {
    /// Validates a join request (or an admin's invitation).
    pub accept: bool,
    /// Replaces the roles (none when empty).
    pub roles: Option<Vec<String>>,
    pub is_admin: Option<bool>,
}

/// An invitation to join an element, as the API issues it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInvitation {
    pub code: String,
    pub element: ElementId,
    pub roles: Vec<String>,
    pub is_admin: bool,
    pub created_by: ElementId,
    /// Epoch seconds (the Pi's clock may be wrong: uses are limited too).
    pub expires: Option<i64>,
    pub max_uses: u32,
    /// Someone to tell by e-mail when the hub can send mail (kept on the hub only).
    pub email: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    pub code: String,
    pub element: ElementId,
    pub roles: Vec<String>,
    pub is_admin: bool,
    pub created_by: ElementId,
    pub created: i64,
    pub expires: Option<i64>,
    pub max_uses: u32,
    pub uses: u32,
    pub email: Option<String>,
    /// When the SMTP server accepted the invitation's e-mail (epoch seconds, the Pi's clock).
    pub emailed: Option<i64>,
    /// Why a server refused the e-mail for good (it is not tried again).
    pub email_error: Option<String>,
}

/// A journal post to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPost {
    pub text: String,
    pub audience: Audience,
    pub tags: Vec<String>,
}

/// A post with what privacy reads of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Post {
    pub record: Record,
    pub audience: Audience,
    /// The element whose journal it is on (`target.id`).
    pub element: Option<ElementId>,
    pub author: Option<String>,
}

/// What a comment is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Context {
    Post(ElementId),
    Element(ElementId),
}

/// A comment with its context.
#[derive(Debug, Clone, PartialEq)]
pub struct Comment {
    pub record: Record,
    pub context: Context,
    pub author: Option<String>,
    /// The comment it answers, if it is a reply.
    pub reply_to: Option<ElementId>,
}

// ---- SQL pieces -------------------------------------------------------------------------

/// Conditions on a links row `a` that make it a validated membership.
fn validated(a: &str) -> String {
    format!(
        "coalesce(json_extract({a}.attrs, '$.toBeValidated'), 0) IN (0, 'false')
         AND coalesce(json_extract({a}.attrs, '$.isInviting'), 0) IN (0, 'false')"
    )
}

/// Conditions on a links row `a` that make it an admin's.
fn admin_flag(a: &str) -> String {
    format!(
        "json_extract({a}.attrs, '$.isAdmin') IN (1, 'true')
         AND coalesce(json_extract({a}.attrs, '$.isAdminPending'), 0) IN (0, 'false')"
    )
}

/// `:person` is a validated member (or admin) of the element whose id is the SQL `x`.
pub(super) fn member_sql(x: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM links m WHERE m.element_id = {x} AND m.other_id = :person
                 AND m.link_type IN {MEMBER_LINKS} AND {})",
        validated("m")
    )
}

/// `:person` is an admin of the element `x`.
fn admin_sql(x: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM links m WHERE m.element_id = {x} AND m.other_id = :person
                 AND m.link_type IN {MEMBER_LINKS} AND {} AND {})",
        validated("m"),
        admin_flag("m")
    )
}

/// `:person` follows the element `x`.
fn follower_sql(x: &str) -> String {
    format!("EXISTS (SELECT 1 FROM links f WHERE f.element_id = {x} AND f.link_type = 'followers' AND f.other_id = :person)")
}

/// The reader (`:all`, `:person`) may see the element row `e` (or its absence: a post on an
/// element of another hub). A hidden or pending element (moderation) is the hub admin's only.
pub(super) fn element_visible_sql(e: &str) -> String {
    format!(
        "(:all = 1 OR ({e}.moderation IS NULL AND (coalesce({e}.private, 0) = 0 OR {e}.id = :person OR {})))",
        member_sql(&format!("{e}.id"))
    )
}

/// The reader may see the post row `r`, on the element row `e` (LEFT JOINed).
fn post_visible_sql() -> String {
    let on = "r.element_id";
    format!(
        "(:all = 1 OR (r.moderation IS NULL AND {element} AND (r.audience = 'public' OR r.author = :person OR r.element_id = :person
            OR (r.audience = 'members' AND {member})
            OR (r.audience = 'followers' AND ({member} OR {follower}))
            OR (r.audience = 'private' AND {admin}))))",
        element = element_visible_sql("e"),
        member = member_sql(on),
        follower = follower_sql(on),
        admin = admin_sql(on),
    )
}

// ---- small helpers ----------------------------------------------------------------------

fn flag(attrs: &Map<String, Value>, key: &str) -> bool {
    matches!(attrs.get(key), Some(Value::Bool(true))) || attrs.get(key).and_then(Value::as_str) == Some("true")
}

fn roles_of(attrs: &Map<String, Value>) -> Vec<String> {
    attrs
        .get("roles")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

fn corrupt_json(what: &str) -> impl FnOnce(serde_json::Error) -> Error + '_ {
    move |e| Error::Corrupt(format!("{what}: stored JSON unreadable: {e}"))
}

fn parse_id(s: &str) -> Result<ElementId> {
    ElementId::parse(s).ok_or_else(|| Error::Corrupt(format!("bad stored id {s:?}")))
}

fn kind_of(conn: &Connection, id: &str) -> Result<Option<Kind>> {
    let kind: Option<String> = conn
        .prepare_cached("SELECT kind FROM elements WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?;
    Ok(kind.and_then(|k| Kind::parse(&k)))
}

fn entity(kind: RecordKind) -> EntityKind {
    match kind {
        RecordKind::Post => EntityKind::Post,
        RecordKind::Comment => EntityKind::Comment,
        RecordKind::Document => EntityKind::Attachment,
    }
}

fn record_kind(collection: &str) -> Result<RecordKind> {
    RecordKind::ALL
        .into_iter()
        .find(|k| k.collection() == collection)
        .ok_or_else(|| Error::Corrupt(format!("unknown record kind {collection}")))
}

fn audience_of(column: &str) -> Result<Audience> {
    Audience::parse(column).ok_or_else(|| Error::Corrupt(format!("unknown audience {column}")))
}

fn record_from(id: &str, kind: RecordKind, doc: &str) -> Result<Record> {
    Ok(Record {
        id: parse_id(id)?,
        kind,
        doc: serde_json::from_str(doc).map_err(corrupt_json("record"))?,
    })
}

/// `p<created_seq>` of the last post of a page, like the live feed's.
fn parse_cursor(cursor: Option<&str>) -> Result<i64> {
    match cursor {
        None => Ok(i64::MAX),
        Some(c) => c
            .strip_prefix('p')
            .and_then(|n| n.parse().ok())
            .filter(|n: &i64| *n > 0)
            .ok_or_else(|| Error::BadRequest(format!("cursor \"{c}\" is not one this hub gave"))),
    }
}

fn invalid(field: &str, message: impl Into<String>) -> Error {
    Error::Invalid(ModelError::Invalid {
        field: field.into(),
        message: message.into(),
    })
}

/// The Communecter `scope` of a post with this audience (`scope.audience` is CoPi's, read
/// first by [`Audience::of_post`]; `restricted` is Communecter's "my network"). Both keys are
/// always there, so that it also serves as a merge patch.
pub fn scope_of(audience: Audience) -> Value {
    match audience {
        Audience::Public => serde_json::json!({"type": "public", "audience": "public"}),
        Audience::Members => serde_json::json!({"type": "restricted", "audience": "members"}),
        Audience::Followers => serde_json::json!({"type": "restricted", "audience": "followers"}),
        Audience::Private => serde_json::json!({"type": "private", "audience": "private"}),
    }
}

// ---- links, both sides ------------------------------------------------------------------

/// Records that an element changed without its document changing (its links did).
fn touch(conn: &Connection, origin: &str, id: &str) -> Result<()> {
    let seq = changes::record(conn, origin, EntityKind::Element, id, ChangeOp::Update)?;
    conn.prepare_cached("UPDATE elements SET seq = ?1 WHERE id = ?2")?
        .execute(params![seq, id])?;
    Ok(())
}

fn upsert_side(conn: &Connection, from: &str, link_type: &str, to: &str, attrs: &Map<String, Value>) -> Result<()> {
    let attrs = serde_json::to_string(attrs).map_err(|e| Error::Corrupt(e.to_string()))?;
    conn.prepare_cached(
        "INSERT INTO links (element_id, link_type, other_id, attrs, position)
         VALUES (?1, ?2, ?3, ?4, (SELECT coalesce(max(position) + 1, 0) FROM links WHERE element_id = ?1))
         ON CONFLICT DO UPDATE SET attrs = excluded.attrs",
    )?
    .execute(params![from, link_type, to, attrs])?;
    Ok(())
}

/// Writes `from.links.<link_type>.<to> = attrs` and its mirror on `to`, touching both.
fn put_pair(
    conn: &Connection,
    origin: &str,
    from: (&ElementId, Kind),
    link_type: &str,
    to: (&ElementId, Kind),
    mut attrs: Map<String, Value>,
) -> Result<()> {
    attrs.insert("type".into(), Value::String(to.1.collection().into()));
    upsert_side(conn, from.0.as_str(), link_type, to.0.as_str(), &attrs)?;
    touch(conn, origin, from.0.as_str())?;
    if let Some(mirror) = model::reciprocal(link_type, from.1, to.1) {
        let mut back = Map::new();
        back.insert("type".into(), Value::String(from.1.collection().into()));
        for key in ["isAdmin", "isAdminPending", "toBeValidated", "isInviting", "roles"] {
            if let Some(v) = attrs.get(key) {
                back.insert(key.into(), v.clone());
            }
        }
        upsert_side(conn, to.0.as_str(), mirror, from.0.as_str(), &back)?;
        touch(conn, origin, to.0.as_str())?;
    }
    Ok(())
}

/// Removes a link and its mirror; returns whether there was one.
fn delete_pair(
    conn: &Connection,
    origin: &str,
    from: (&ElementId, Kind),
    link_type: &str,
    to: (&ElementId, Kind),
) -> Result<bool> {
    let delete = "DELETE FROM links WHERE element_id = ?1 AND link_type = ?2 AND other_id = ?3";
    let n = conn
        .prepare_cached(delete)?
        .execute([from.0.as_str(), link_type, to.0.as_str()])?;
    if n == 0 {
        return Ok(false);
    }
    touch(conn, origin, from.0.as_str())?;
    if let Some(mirror) = model::reciprocal(link_type, from.1, to.1) {
        if conn
            .prepare_cached(delete)?
            .execute([to.0.as_str(), mirror, from.0.as_str()])?
            > 0
        {
            touch(conn, origin, to.0.as_str())?;
        }
    }
    Ok(true)
}

/// The person's membership link on the element: its type and attributes.
fn member_link(
    conn: &Connection,
    element: &ElementId,
    person: &ElementId,
) -> Result<Option<(String, Map<String, Value>)>> {
    let row: Option<(String, String)> = conn
        .prepare_cached(&format!(
            "SELECT link_type, attrs FROM links WHERE element_id = ?1 AND other_id = ?2 AND link_type IN {MEMBER_LINKS}
             ORDER BY position LIMIT 1"
        ))?
        .query_row([element.as_str(), person.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    row.map(|(t, a)| Ok((t, serde_json::from_str(&a).map_err(corrupt_json("link"))?)))
        .transpose()
}

/// Validated admins of `element` other than `person`.
fn other_admins(conn: &Connection, element: &ElementId, person: &ElementId) -> Result<i64> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT count(*) FROM links a WHERE a.element_id = ?1 AND a.other_id != ?2
             AND a.link_type IN {MEMBER_LINKS} AND {} AND {}",
            validated("a"),
            admin_flag("a")
        ))?
        .query_row([element.as_str(), person.as_str()], |r| r.get(0))?)
}

fn element_kind(conn: &Connection, id: &ElementId) -> Result<Kind> {
    kind_of(conn, id.as_str())?.ok_or_else(|| Error::not_found(format!("element {id}")))
}

fn person_kind(conn: &Connection, id: &ElementId) -> Result<()> {
    match kind_of(conn, id.as_str())? {
        Some(Kind::Person) => Ok(()),
        _ => Err(Error::not_found(format!("person {id}"))),
    }
}

fn last_admin() -> Error {
    Error::Conflict("an element keeps at least one admin: make someone else admin first".into())
}

// ---- records ----------------------------------------------------------------------------

/// A stored record with its columns.
struct Row {
    record: Record,
    audience: Audience,
    author: Option<String>,
}

fn load_row(conn: &Connection, id: &str) -> Result<Option<Row>> {
    let row: Option<(String, String, String, Option<String>)> = conn
        .prepare_cached("SELECT kind, doc, audience, author FROM records WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .optional()?;
    let Some((kind, doc, audience, author)) = row else {
        return Ok(None);
    };
    Ok(Some(Row {
        record: record_from(id, record_kind(&kind)?, &doc)?,
        audience: audience_of(&audience)?,
        author,
    }))
}

/// What a comment document is about (`contextId` and `contextType`, `news` for a post).
fn context_of(doc: &Map<String, Value>) -> Option<Context> {
    let id = doc.get("contextId").and_then(model::id_from_value)?;
    match doc.get("contextType").and_then(Value::as_str)? {
        "news" => Some(Context::Post(id)),
        _ => Some(Context::Element(id)),
    }
}

fn reply_to(doc: &Map<String, Value>) -> Option<ElementId> {
    doc.get("parentId").and_then(model::id_from_value)
}

/// The comments on a post, replies included (one level deep, as the hub writes them).
fn comment_ids_of_post(conn: &Connection, post: &str) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id FROM records WHERE kind = 'comments'
           AND (parent_id = ?1 OR parent_id IN (SELECT id FROM records WHERE kind = 'comments' AND parent_id = ?1))
         ORDER BY created_seq",
    )?;
    let rows = stmt.query_map([post], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The replies to a comment.
fn reply_ids(conn: &Connection, comment: &str) -> Result<Vec<String>> {
    let mut stmt =
        conn.prepare_cached("SELECT id FROM records WHERE kind = 'comments' AND parent_id = ?1 ORDER BY created_seq")?;
    let rows = stmt.query_map([comment], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Merges `patch` into `doc` (JSON merge patch, RFC 7396: `null` removes a field).
fn merge_patch(doc: &mut Map<String, Value>, patch: Map<String, Value>) {
    for (k, v) in patch {
        match v {
            Value::Null => {
                doc.remove(&k);
            }
            Value::Object(inner) => {
                let slot = doc.entry(k).or_insert_with(|| Value::Object(Map::new()));
                if !slot.is_object() {
                    *slot = Value::Object(Map::new());
                }
                if let Value::Object(existing) = slot {
                    merge_patch(existing, inner);
                }
            }
            v => {
                doc.insert(k, v);
            }
        }
    }
}

/// Fields of a record that say what it is, where and by whom: never patched.
fn protected_fields(kind: RecordKind) -> &'static [&'static str] {
    match kind {
        RecordKind::Post => &["_id", "type", "author", "target", "created"],
        RecordKind::Comment => &["_id", "author", "contextId", "contextType", "parentId", "created"],
        RecordKind::Document => &["_id", "id", "type", "folder", "author", "created"],
    }
}

fn read_invitations(c: &Connection, sql: &str, arg: &str) -> Result<Vec<Invitation>> {
    let mut stmt = c.prepare_cached(sql)?;
    let rows = stmt.query_map([arg], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, bool>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, i64>(5)?,
            r.get::<_, Option<i64>>(6)?,
            r.get::<_, u32>(7)?,
            r.get::<_, u32>(8)?,
            r.get::<_, Option<String>>(9)?,
            r.get::<_, Option<i64>>(10)?,
            r.get::<_, Option<String>>(11)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (code, element, roles, is_admin, created_by, created, expires, max_uses, uses, email, emailed, email_error) =
            row?;
        out.push(Invitation {
            code,
            element: parse_id(&element)?,
            roles: serde_json::from_str(&roles).map_err(corrupt_json("invitation"))?,
            is_admin,
            created_by: parse_id(&created_by)?,
            created,
            expires,
            max_uses,
            uses,
            email,
            emailed,
            email_error,
        });
    }
    Ok(out)
}

impl Store {
    // ---- readers and standings ----------------------------------------------------------

    /// The reader a signed-in person is, with the elements they are a member of.
    pub fn reader_for(&self, person: &ElementId) -> Result<Reader> {
        Ok(Reader {
            admin: false,
            person: Some(person.clone()),
            member_of: self.elements_of_person(person)?,
        })
    }

    /// The elements `person` is a validated member or admin of.
    pub fn elements_of_person(&self, person: &ElementId) -> Result<Vec<ElementId>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT DISTINCT m.element_id FROM links m WHERE m.other_id = ?1 AND m.link_type IN {MEMBER_LINKS}
                 AND {} ORDER BY m.element_id",
                validated("m")
            ))?;
            let rows = stmt.query_map([person.as_str()], |r| r.get::<_, String>(0))?;
            rows.map(|r| parse_id(&r?)).collect()
        })
    }

    /// Where `person` stands with `element`; `None` when the element is not on this hub, or
    /// is hidden or pending (moderation: nobody but the hub's admin sees it).
    pub fn standing(&self, element: &ElementId, person: &ElementId) -> Result<Option<Standing>> {
        self.read(|c| {
            let row: Option<(String, bool)> = c
                .prepare_cached("SELECT kind, private FROM elements WHERE id = ?1 AND moderation IS NULL")?
                .query_row([element.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            let Some((kind, private)) = row else { return Ok(None) };
            let kind = Kind::parse(&kind).ok_or_else(|| Error::Corrupt(format!("element {element}: kind {kind}")))?;
            let membership = member_link(c, element, person)?.map_or(Membership::None, |(_, a)| Membership::of_attrs(&a));
            let follower: bool = c
                .prepare_cached(
                    "SELECT EXISTS(SELECT 1 FROM links WHERE element_id = ?1 AND link_type = 'followers' AND other_id = ?2)",
                )?
                .query_row([element.as_str(), person.as_str()], |r| r.get(0))?;
            Ok(Some(Standing {
                kind,
                private,
                membership,
                follower,
                itself: element == person,
            }))
        })
    }

    /// Whether `person` is a validated member or admin of `element`.
    pub fn is_member(&self, person: &ElementId, element: &ElementId) -> Result<bool> {
        Ok(self.standing(element, person)?.is_some_and(|s| s.member()))
    }

    /// Whether `person` administers `element` (a person administers itself).
    pub fn is_element_admin(&self, person: &ElementId, element: &ElementId) -> Result<bool> {
        Ok(self.standing(element, person)?.is_some_and(|s| s.admin()))
    }

    /// An element, if the reader may see it.
    pub fn get_element_for(&self, id: &ElementId, reader: &Reader) -> Result<Option<Element>> {
        self.read(|c| {
            let visible: bool = c
                .prepare_cached(&format!(
                    "SELECT EXISTS(SELECT 1 FROM elements e WHERE e.id = :id AND {})",
                    element_visible_sql("e")
                ))?
                .query_row(
                    named_params! {":id": id.as_str(), ":all": reader.all(), ":person": reader.person()},
                    |r| r.get(0),
                )?;
            if visible {
                load(c, id.as_str())
            } else {
                Ok(None)
            }
        })
    }

    // ---- elements made by persons -------------------------------------------------------

    /// Creates an element made by a person: `creator` is set to the person, who becomes its
    /// admin (`members`/`memberOf`, `contributors`/`projects` or `attendees`/`events` with
    /// `isAdmin: true`), in one transaction. Persons are not made this way (they register).
    pub fn create_element_by(
        &self,
        creator: &ElementId,
        kind: Kind,
        mut doc: Map<String, Value>,
        id: Option<ElementId>,
    ) -> Result<Element> {
        if kind == Kind::Person {
            return Err(Error::BadRequest("persons are made by registering, not created".into()));
        }
        let now = Value::from(model::now_seconds());
        doc.entry("created").or_insert_with(|| now.clone());
        doc.insert("updated".into(), now);
        doc.insert("creator".into(), Value::String(creator.to_string()));
        let facts = model::check(kind, &mut doc, &self.zone)?;
        let mut element = Element {
            id: id.unwrap_or_else(ElementId::generate),
            kind,
            doc,
            links: Vec::new(),
        };
        self.write(|tx| {
            if kind_of(tx, element.id.as_str())?.is_some() {
                return Err(Error::Conflict(format!(
                    "an element with id {} already exists",
                    element.id
                )));
            }
            person_kind(tx, creator)?;
            self.put_element(tx, &mut element, &facts)?;
            let mut attrs = Map::new();
            attrs.insert("isAdmin".into(), Value::Bool(true));
            put_pair(
                tx,
                &self.instance.id,
                (&element.id, kind),
                membership_link(kind),
                (creator, Kind::Person),
                attrs,
            )?;
            let stored = load(tx, element.id.as_str())?.ok_or_else(|| Error::Corrupt("element vanished".into()))?;
            element = stored;
            Ok(())
        })?;
        Ok(element)
    }

    // ---- membership ---------------------------------------------------------------------

    /// Where `person` stands, as a membership only.
    pub fn membership(&self, element: &ElementId, person: &ElementId) -> Result<Membership> {
        self.read(|c| Ok(member_link(c, element, person)?.map_or(Membership::None, |(_, a)| Membership::of_attrs(&a))))
    }

    /// A join request (`toBeValidated: true`). Asking again changes nothing; answering an
    /// admin's invitation (`isInviting`) joins. A member cannot ask.
    pub fn request_to_join(&self, element: &ElementId, person: &ElementId) -> Result<Membership> {
        self.write(|tx| {
            let kind = element_kind(tx, element)?;
            person_kind(tx, person)?;
            let (link_type, mut attrs) = match member_link(tx, element, person)? {
                Some((t, a)) => (t, a),
                None => {
                    let mut attrs = Map::new();
                    attrs.insert("toBeValidated".into(), Value::Bool(true));
                    put_pair(
                        tx,
                        &self.instance.id,
                        (element, kind),
                        membership_link(kind),
                        (person, Kind::Person),
                        attrs.clone(),
                    )?;
                    return Ok(Membership::of_attrs(&attrs));
                }
            };
            if flag(&attrs, "toBeValidated") {
                return Ok(Membership::of_attrs(&attrs));
            }
            if !flag(&attrs, "isInviting") {
                return Err(Error::Conflict("already a member".into()));
            }
            attrs.remove("isInviting");
            put_pair(
                tx,
                &self.instance.id,
                (element, kind),
                &link_type,
                (person, Kind::Person),
                attrs.clone(),
            )?;
            Ok(Membership::of_attrs(&attrs))
        })
    }

    /// An admin's answer to a member or a request: accept, roles, admin or not. Refused
    /// (409) when it would leave the element without an admin, or make a pending person
    /// admin without accepting them.
    pub fn update_member(&self, element: &ElementId, person: &ElementId, update: &MemberUpdate) -> Result<Membership> {
        self.write(|tx| {
            let kind = element_kind(tx, element)?;
            let (link_type, mut attrs) =
                member_link(tx, element, person)?.ok_or_else(|| Error::not_found(format!("member {person}")))?;
            let pending = flag(&attrs, "toBeValidated") || flag(&attrs, "isInviting");
            if update.accept {
                attrs.remove("toBeValidated");
                attrs.remove("isInviting");
            } else if pending && update.is_admin == Some(true) {
                return Err(Error::Conflict(
                    "accept the request before making this person admin".into(),
                ));
            }
            if let Some(roles) = &update.roles {
                if roles.is_empty() {
                    attrs.remove("roles");
                } else {
                    attrs.insert("roles".into(), Value::from(roles.clone()));
                }
            }
            match update.is_admin {
                Some(true) => {
                    attrs.insert("isAdmin".into(), Value::Bool(true));
                    attrs.remove("isAdminPending");
                }
                Some(false) => {
                    let was_admin = matches!(Membership::of_attrs(&attrs), Membership::Member { admin: true, .. });
                    if was_admin && other_admins(tx, element, person)? == 0 {
                        return Err(last_admin());
                    }
                    attrs.remove("isAdmin");
                    attrs.remove("isAdminPending");
                }
                None => {}
            }
            put_pair(
                tx,
                &self.instance.id,
                (element, kind),
                &link_type,
                (person, Kind::Person),
                attrs.clone(),
            )?;
            Ok(Membership::of_attrs(&attrs))
        })
    }

    /// Removes a member, a request or an invitation (both sides). Refused (409) for the
    /// last admin. Returns whether there was one.
    pub fn remove_member(&self, element: &ElementId, person: &ElementId) -> Result<bool> {
        self.write(|tx| {
            let kind = element_kind(tx, element)?;
            let Some((link_type, attrs)) = member_link(tx, element, person)? else {
                return Ok(false);
            };
            let admin = matches!(Membership::of_attrs(&attrs), Membership::Member { admin: true, .. });
            if admin && other_admins(tx, element, person)? == 0 {
                return Err(last_admin());
            }
            let person_kind = kind_of(tx, person.as_str())?.unwrap_or(Kind::Person);
            delete_pair(
                tx,
                &self.instance.id,
                (element, kind),
                &link_type,
                (person, person_kind),
            )
        })
    }

    // ---- invitations --------------------------------------------------------------------

    pub fn create_invitation(&self, new: &NewInvitation) -> Result<Invitation> {
        let now = model::now_seconds();
        let roles = serde_json::to_string(&new.roles).map_err(|e| Error::Corrupt(e.to_string()))?;
        self.write(|tx| {
            element_kind(tx, &new.element)?;
            tx.prepare_cached(
                "INSERT INTO invitations (code, element_id, roles, is_admin, created_by, created, expires, max_uses, email)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                new.code,
                new.element.as_str(),
                roles,
                new.is_admin,
                new.created_by.as_str(),
                now,
                new.expires,
                new.max_uses,
                new.email
            ])?;
            Ok(())
        })?;
        Ok(Invitation {
            code: new.code.clone(),
            element: new.element.clone(),
            roles: new.roles.clone(),
            is_admin: new.is_admin,
            created_by: new.created_by.clone(),
            created: now,
            expires: new.expires,
            max_uses: new.max_uses,
            uses: 0,
            email: new.email.clone(),
            emailed: None,
            email_error: None,
        })
    }

    /// An element's invitations, newest first.
    pub fn invitations_of(&self, element: &ElementId) -> Result<Vec<Invitation>> {
        self.read(|c| {
            read_invitations(
                c,
                "SELECT code, element_id, roles, is_admin, created_by, created, expires, max_uses, uses, email,
                        emailed, email_error
                 FROM invitations WHERE element_id = ?1 ORDER BY created DESC, code",
                element.as_str(),
            )
        })
    }

    /// The invitation with this code.
    pub fn invitation(&self, code: &str) -> Result<Option<Invitation>> {
        self.read(|c| {
            Ok(read_invitations(
                c,
                "SELECT code, element_id, roles, is_admin, created_by, created, expires, max_uses, uses, email,
                        emailed, email_error
                 FROM invitations WHERE code = ?1",
                code,
            )?
            .pop())
        })
    }

    /// Withdraws an invitation of `element`. Returns whether there was one.
    pub fn delete_invitation(&self, element: &ElementId, code: &str) -> Result<bool> {
        self.write(|tx| {
            Ok(tx
                .prepare_cached("DELETE FROM invitations WHERE code = ?1 AND element_id = ?2")?
                .execute([code, element.as_str()])?
                > 0)
        })
    }

    /// Joins the element an invitation is for, with its roles (added to any the person has)
    /// and admin flag; a pending request is validated. 404 for an unknown code, 409 for one
    /// used up or expired. A person already in keeps the code unused.
    pub fn join_with_code(&self, code: &str, person: &ElementId) -> Result<(ElementId, Membership)> {
        let now = model::now_seconds();
        self.write(|tx| {
            let row: Option<(String, String, bool, Option<i64>, u32, u32)> = tx
                .prepare_cached(
                    "SELECT element_id, roles, is_admin, expires, max_uses, uses FROM invitations WHERE code = ?1",
                )?
                .query_row([code], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
                })
                .optional()?;
            let (element, roles, is_admin, expires, max_uses, uses) =
                row.ok_or_else(|| Error::not_found("invitation"))?;
            if uses >= max_uses {
                return Err(Error::Conflict("this invitation has already been used".into()));
            }
            if expires.is_some_and(|e| e <= now) {
                return Err(Error::Conflict("this invitation has expired".into()));
            }
            let element = parse_id(&element)?;
            let kind = element_kind(tx, &element)?;
            person_kind(tx, person)?;
            let invited: Vec<String> = serde_json::from_str(&roles).map_err(corrupt_json("invitation"))?;
            let existing = member_link(tx, &element, person)?;
            let before = existing.as_ref().map(|(_, a)| Membership::of_attrs(a));
            let already_in = matches!(before, Some(Membership::Member { .. }));
            let (link_type, mut attrs) = existing.unwrap_or_else(|| (membership_link(kind).to_owned(), Map::new()));
            attrs.remove("toBeValidated");
            attrs.remove("isInviting");
            let mut roles = roles_of(&attrs);
            for r in invited {
                if !roles.contains(&r) {
                    roles.push(r);
                }
            }
            if !roles.is_empty() {
                attrs.insert("roles".into(), Value::from(roles));
            }
            if is_admin {
                attrs.insert("isAdmin".into(), Value::Bool(true));
                attrs.remove("isAdminPending");
            }
            let after = Membership::of_attrs(&attrs);
            if already_in && Some(&after) == before.as_ref() {
                return Ok((element, after));
            }
            put_pair(
                tx,
                &self.instance.id,
                (&element, kind),
                &link_type,
                (person, Kind::Person),
                attrs,
            )?;
            tx.prepare_cached("UPDATE invitations SET uses = uses + 1 WHERE code = ?1")?
                .execute([code])?;
            Ok((element, after))
        })
    }

    // ---- follows ------------------------------------------------------------------------

    /// `person` follows `element` (`follows` on the person, `followers` on the element).
    /// Returns false when it already did (nothing written).
    pub fn follow(&self, person: &ElementId, element: &ElementId) -> Result<bool> {
        if person == element {
            return Err(Error::BadRequest("one cannot follow oneself".into()));
        }
        self.write(|tx| {
            let kind = element_kind(tx, element)?;
            person_kind(tx, person)?;
            let already: bool = tx
                .prepare_cached(
                    "SELECT EXISTS(SELECT 1 FROM links WHERE element_id = ?1 AND link_type = 'follows' AND other_id = ?2)",
                )?
                .query_row([person.as_str(), element.as_str()], |r| r.get(0))?;
            if already {
                return Ok(false);
            }
            put_pair(tx, &self.instance.id, (person, Kind::Person), "follows", (element, kind), Map::new())?;
            Ok(true)
        })
    }

    /// Stops following. Returns whether `person` followed `element`.
    pub fn unfollow(&self, person: &ElementId, element: &ElementId) -> Result<bool> {
        self.write(|tx| {
            let kind = element_kind(tx, element)?;
            delete_pair(
                tx,
                &self.instance.id,
                (person, Kind::Person),
                "follows",
                (element, kind),
            )
        })
    }

    // ---- the journal --------------------------------------------------------------------

    /// Writes a post on `element`'s journal by `author`, in Communecter's shape (`type`,
    /// `text`, `author`, `target {id, type}`, `scope`).
    pub fn create_post(&self, element: &ElementId, author: &ElementId, post: &NewPost) -> Result<Record> {
        let now = model::now_seconds();
        self.write(|tx| {
            let kind = element_kind(tx, element)?;
            let mut doc = Map::new();
            doc.insert("type".into(), Value::from("news"));
            doc.insert("text".into(), Value::from(post.text.clone()));
            doc.insert("author".into(), Value::from(author.as_str()));
            doc.insert(
                "target".into(),
                serde_json::json!({"id": element.as_str(), "type": kind.collection()}),
            );
            doc.insert("scope".into(), scope_of(post.audience));
            if !post.tags.is_empty() {
                doc.insert("tags".into(), Value::from(post.tags.clone()));
            }
            doc.insert("created".into(), Value::from(now));
            doc.insert("updated".into(), Value::from(now));
            let facts = model::check_record(RecordKind::Post, &doc)?;
            let record = Record {
                id: ElementId::generate(),
                kind: RecordKind::Post,
                doc,
            };
            self.put_record(tx, &record, &facts)?;
            Ok(record)
        })
    }

    /// A post, if the reader may see it.
    pub fn post_for(&self, id: &ElementId, reader: &Reader) -> Result<Option<Post>> {
        self.read(|c| {
            let sql = format!(
                "SELECT r.doc, r.audience, r.element_id, r.author FROM records r LEFT JOIN elements e ON e.id = r.element_id
                 WHERE r.id = :id AND r.kind = 'news' AND {}",
                post_visible_sql()
            );
            let row: Option<(String, String, Option<String>, Option<String>)> = c
                .prepare_cached(&sql)?
                .query_row(
                    named_params! {":id": id.as_str(), ":all": reader.all(), ":person": reader.person()},
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .optional()?;
            row.map(|(doc, audience, element, author)| {
                Ok(Post {
                    record: record_from(id.as_str(), RecordKind::Post, &doc)?,
                    audience: audience_of(&audience)?,
                    element: element.as_deref().map(parse_id).transpose()?,
                    author,
                })
            })
            .transpose()
        })
    }

    /// The posts on `element`'s journal that the reader may see, newest first.
    pub fn journal(
        &self,
        element: &ElementId,
        reader: &Reader,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<Record>> {
        let limit = limit.clamp(1, JOURNAL_MAX_LIMIT);
        let before = parse_cursor(cursor)?;
        let sql = format!(
            "SELECT r.id, r.doc, r.created_seq FROM records r LEFT JOIN elements e ON e.id = r.element_id
             WHERE r.kind = 'news' AND r.element_id = :element AND r.created_seq < :before AND {}
             ORDER BY r.created_seq DESC LIMIT :limit",
            post_visible_sql()
        );
        self.read(|c| {
            let mut stmt = c.prepare_cached(&sql)?;
            let rows = stmt.query_map(
                named_params! {
                    ":element": element.as_str(),
                    ":before": before,
                    ":limit": (limit + 1) as i64,
                    ":all": reader.all(),
                    ":person": reader.person(),
                },
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?)),
            )?;
            let rows: Vec<(String, String, i64)> = rows.collect::<Result<_, _>>()?;
            let next = (rows.len() > limit).then(|| format!("p{}", rows[limit - 1].2));
            let items = rows
                .iter()
                .take(limit)
                .map(|(id, doc, _)| record_from(id, RecordKind::Post, doc))
                .collect::<Result<_>>()?;
            Ok(Page { items, next })
        })
    }

    /// The home feed of `person`: posts on their own journal and on the elements they follow
    /// or are a member of, that they may see, newest first, each with its element.
    pub fn home_feed(
        &self,
        person: &ElementId,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<(Record, Option<Element>)>> {
        let limit = limit.clamp(1, JOURNAL_MAX_LIMIT);
        let before = parse_cursor(cursor)?;
        let sql = format!(
            "SELECT r.id, r.doc, r.created_seq, r.element_id FROM records r LEFT JOIN elements e ON e.id = r.element_id
             WHERE r.kind = 'news' AND r.created_seq < :before
               AND (r.element_id = :person
                    OR r.element_id IN (SELECT other_id FROM links WHERE element_id = :person AND link_type = 'follows')
                    OR r.element_id IN (SELECT m.element_id FROM links m WHERE m.other_id = :person
                                        AND m.link_type IN {MEMBER_LINKS} AND {}))
               AND {}
             ORDER BY r.created_seq DESC LIMIT :limit",
            validated("m"),
            post_visible_sql()
        );
        self.read(|c| {
            let mut stmt = c.prepare_cached(&sql)?;
            let rows = stmt.query_map(
                named_params! {
                    ":before": before,
                    ":limit": (limit + 1) as i64,
                    ":all": 0i64,
                    ":person": person.as_str(),
                },
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, Option<String>>(3)?,
                    ))
                },
            )?;
            let rows: Vec<_> = rows.collect::<Result<_, _>>()?;
            let next = (rows.len() > limit).then(|| format!("p{}", rows[limit - 1].2));
            let rows: Vec<_> = rows.into_iter().take(limit).collect();
            let mut ids: Vec<String> = rows.iter().filter_map(|r| r.3.clone()).collect();
            ids.sort();
            ids.dedup();
            let elements: std::collections::HashMap<String, Element> =
                load_many(c, &ids)?.into_iter().map(|e| (e.id.to_string(), e)).collect();
            let mut items = Vec::with_capacity(rows.len());
            for (id, doc, _, element) in rows {
                let element = element.and_then(|e| elements.get(&e).cloned());
                items.push((record_from(&id, RecordKind::Post, &doc)?, element));
            }
            Ok(Page { items, next })
        })
    }

    // ---- comments -----------------------------------------------------------------------

    /// Writes a comment on a post or an element, or a reply (`parent`) to a top-level comment
    /// of the same context, in Communecter's shape (`contextId`, `contextType`, `parentId`,
    /// `text`, `author`, `status`). It takes its post's audience.
    pub fn create_comment(
        &self,
        context: &Context,
        parent: Option<&ElementId>,
        author: &ElementId,
        text: &str,
    ) -> Result<Record> {
        let now = model::now_seconds();
        self.write(|tx| {
            let (context_id, context_type, audience) = match context {
                Context::Post(p) => {
                    let row = load_row(tx, p.as_str())?
                        .filter(|r| r.record.kind == RecordKind::Post)
                        .ok_or_else(|| Error::not_found(format!("post {p}")))?;
                    (p, "news", row.audience)
                }
                Context::Element(e) => (e, element_kind(tx, e)?.collection(), Audience::Public),
            };
            if let Some(parent) = parent {
                let row = load_row(tx, parent.as_str())?
                    .filter(|r| r.record.kind == RecordKind::Comment)
                    .ok_or_else(|| invalid("parentId", "is not a comment here"))?;
                if context_of(&row.record.doc).as_ref() != Some(context) {
                    return Err(invalid("parentId", "is not a comment here"));
                }
                if reply_to(&row.record.doc).is_some() {
                    return Err(invalid(
                        "parentId",
                        "replies go one level deep: answer a comment that is not a reply",
                    ));
                }
            }
            let mut doc = Map::new();
            doc.insert("contextId".into(), Value::from(context_id.as_str()));
            doc.insert("contextType".into(), Value::from(context_type));
            doc.insert("parentId".into(), Value::from(parent.map_or("", ElementId::as_str)));
            doc.insert("text".into(), Value::from(text));
            doc.insert("author".into(), Value::from(author.as_str()));
            doc.insert("tags".into(), Value::Array(Vec::new()));
            doc.insert("status".into(), Value::from("posted"));
            doc.insert("created".into(), Value::from(now));
            let mut facts = model::check_record(RecordKind::Comment, &doc)?;
            facts.audience = audience;
            let record = Record {
                id: ElementId::generate(),
                kind: RecordKind::Comment,
                doc,
            };
            self.put_record(tx, &record, &facts)?;
            Ok(record)
        })
    }

    /// A comment with its context, whoever reads (the API checks the context).
    pub fn comment(&self, id: &ElementId) -> Result<Option<Comment>> {
        self.read(|c| {
            let Some(row) = load_row(c, id.as_str())?.filter(|r| r.record.kind == RecordKind::Comment) else {
                return Ok(None);
            };
            let context =
                context_of(&row.record.doc).ok_or_else(|| Error::Corrupt(format!("comment {id} has no context")))?;
            let reply_to = reply_to(&row.record.doc);
            Ok(Some(Comment {
                record: row.record,
                context,
                author: row.author,
                reply_to,
            }))
        })
    }

    /// The comments on a post or an element, replies included, oldest first (at most
    /// [`MAX_COMMENTS`]). The caller checks that the reader may see the context. Hidden
    /// comments (moderation) are left out with their replies, and so are the comments on a
    /// hidden post.
    pub fn comments_on(&self, context: &Context) -> Result<Vec<Record>> {
        self.read(|c| {
            let (sql, id) = match context {
                Context::Post(p) => (
                    "SELECT c.id FROM records c WHERE c.kind = 'comments' AND c.moderation IS NULL
                       AND NOT EXISTS (SELECT 1 FROM records p WHERE p.id = ?1 AND p.moderation IS NOT NULL)
                       AND (c.parent_id = ?1 OR c.parent_id IN (SELECT t.id FROM records t
                            WHERE t.kind = 'comments' AND t.parent_id = ?1 AND t.moderation IS NULL))
                     ORDER BY c.created_seq",
                    p,
                ),
                Context::Element(e) => (
                    "SELECT c.id FROM records c WHERE c.kind = 'comments' AND c.element_id = ?1
                       AND c.moderation IS NULL
                       AND NOT EXISTS (SELECT 1 FROM records p WHERE p.id = c.parent_id AND p.moderation IS NOT NULL)
                     ORDER BY c.created_seq",
                    e,
                ),
            };
            let ids = {
                let mut stmt = c.prepare_cached(sql)?;
                let rows = stmt.query_map([id.as_str()], |r| r.get(0))?;
                rows.collect::<Result<Vec<String>, _>>()?
            };
            let mut out = Vec::new();
            for id in ids.into_iter().take(MAX_COMMENTS) {
                if let Some(row) = load_row(c, &id)? {
                    out.push(row.record);
                }
            }
            Ok(out)
        })
    }

    // ---- edits and deletions ------------------------------------------------------------

    /// Applies a JSON merge patch to a record's document (what it is, where and by whom
    /// cannot change), with `updated` set. A post's audience follows its `scope`, and its
    /// comments follow it; a comment keeps its post's.
    pub fn update_record(&self, id: &ElementId, patch: Map<String, Value>) -> Result<Record> {
        let now = model::now_seconds();
        self.write(|tx| {
            let row = load_row(tx, id.as_str())?.ok_or_else(|| Error::not_found(format!("record {id}")))?;
            let kind = row.record.kind;
            if let Some(field) = protected_fields(kind).iter().find(|f| patch.contains_key(**f)) {
                return Err(invalid(field, "cannot be changed"));
            }
            let mut record = row.record;
            merge_patch(&mut record.doc, patch);
            record.doc.insert("updated".into(), Value::from(now));
            let mut facts: RecordFacts = model::check_record(kind, &record.doc)?;
            if kind == RecordKind::Comment {
                facts.audience = row.audience;
            }
            self.put_record(tx, &record, &facts)?;
            if kind == RecordKind::Post && facts.audience != row.audience {
                for comment in comment_ids_of_post(tx, id.as_str())? {
                    let seq = changes::record(tx, &self.instance.id, EntityKind::Comment, &comment, ChangeOp::Update)?;
                    tx.prepare_cached("UPDATE records SET audience = ?1, seq = ?2 WHERE id = ?3")?
                        .execute(params![facts.audience.as_str(), seq, comment])?;
                }
            }
            Ok(record)
        })
    }

    /// Deletes a record with what hangs off it: a post's comments and their replies, a
    /// comment's replies. Returns whether there was one.
    pub fn delete_record(&self, id: &ElementId) -> Result<bool> {
        self.write(|tx| {
            let Some(row) = load_row(tx, id.as_str())? else {
                return Ok(false);
            };
            let mut doomed = vec![(id.to_string(), row.record.kind)];
            let dependents = match row.record.kind {
                RecordKind::Post => comment_ids_of_post(tx, id.as_str())?,
                RecordKind::Comment => reply_ids(tx, id.as_str())?,
                RecordKind::Document => Vec::new(),
            };
            doomed.extend(dependents.into_iter().map(|c| (c, RecordKind::Comment)));
            for (doomed, kind) in doomed {
                tx.prepare_cached("DELETE FROM records WHERE id = ?1")?
                    .execute([&doomed])?;
                changes::record(tx, &self.instance.id, entity(kind), &doomed, ChangeOp::Delete)?;
            }
            Ok(true)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use copi_sync::ChangeFeed;
    use serde_json::json;

    fn doc(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn person(s: &Store, name: &str) -> ElementId {
        s.create_element(Kind::Person, doc(json!({"name": name})), None)
            .unwrap()
            .id
    }

    fn store() -> (tempfile::TempDir, Store) {
        let d = tempfile::tempdir().unwrap();
        let s = Store::open(d.path()).unwrap();
        (d, s)
    }

    fn texts(page: &Page<Record>) -> Vec<&str> {
        page.items.iter().map(|r| r.doc["text"].as_str().unwrap()).collect()
    }

    #[test]
    fn creator_is_admin_on_both_sides() {
        let (_d, s) = store();
        let alice = person(&s, "Alice");
        let before = s.last_seq().unwrap();
        let org = s
            .create_element_by(
                &alice,
                Kind::Organization,
                doc(json!({"name": "Jardin", "type": "NGO"})),
                None,
            )
            .unwrap();
        assert_eq!(org.doc["creator"], json!(alice.as_str()));
        assert_eq!(org.links.len(), 1);
        assert_eq!(
            (
                org.links[0].link_type.as_str(),
                &org.links[0].other,
                org.links[0].attrs.get("isAdmin")
            ),
            ("members", &alice, Some(&json!(true)))
        );
        let me = s.get_element(&alice, Visibility::All).unwrap().unwrap();
        assert_eq!(me.links[0].link_type, "memberOf");
        assert_eq!(me.links[0].attrs["type"], json!("organizations"));
        // The element, then both sides of the link: all in the change log.
        let logged: Vec<_> = s
            .changes_since(before, 10)
            .unwrap()
            .into_iter()
            .map(|c| c.entity_id)
            .collect();
        assert_eq!(logged, [org.id.to_string(), org.id.to_string(), alice.to_string()]);
        let project = s
            .create_element_by(&alice, Kind::Project, doc(json!({"name": "Potager"})), None)
            .unwrap();
        assert_eq!(project.links[0].link_type, "contributors");
        assert!(s.is_element_admin(&alice, &project.id).unwrap());
        assert_eq!(s.elements_of_person(&alice).unwrap().len(), 2);
        assert!(s
            .create_element_by(&alice, Kind::Person, doc(json!({"name": "Clone"})), None)
            .is_err());
    }

    #[test]
    fn requests_roles_and_the_last_admin() {
        let (_d, s) = store();
        let (alice, bob) = (person(&s, "Alice"), person(&s, "Bob"));
        let org = s
            .create_element_by(
                &alice,
                Kind::Organization,
                doc(json!({"name": "Jardin", "type": "NGO"})),
                None,
            )
            .unwrap();
        assert_eq!(s.request_to_join(&org.id, &bob).unwrap().as_str(), "pending");
        let seq = s.last_seq().unwrap();
        assert_eq!(s.request_to_join(&org.id, &bob).unwrap().as_str(), "pending");
        assert_eq!(s.last_seq().unwrap(), seq, "asking twice writes nothing");
        assert!(!s.is_member(&bob, &org.id).unwrap());
        assert!(s.elements_of_person(&bob).unwrap().is_empty());
        let err = s
            .update_member(
                &org.id,
                &bob,
                &MemberUpdate {
                    is_admin: Some(true),
                    ..MemberUpdate::default()
                },
            )
            .unwrap_err();
        assert_eq!(err.status(), 409);
        let m = s
            .update_member(
                &org.id,
                &bob,
                &MemberUpdate {
                    accept: true,
                    roles: Some(vec!["Trésorier".into()]),
                    is_admin: None,
                },
            )
            .unwrap();
        assert_eq!(
            m,
            Membership::Member {
                admin: false,
                roles: vec!["Trésorier".into()]
            }
        );
        let bob_doc = s.get_element(&bob, Visibility::All).unwrap().unwrap();
        assert_eq!(bob_doc.links[0].attrs["roles"], json!(["Trésorier"]));
        assert!(bob_doc.links[0].attrs.get("toBeValidated").is_none());
        assert_eq!(s.request_to_join(&org.id, &bob).unwrap_err().status(), 409);
        // Alice cannot leave nor step down while she is the only admin.
        assert_eq!(s.remove_member(&org.id, &alice).unwrap_err().status(), 409);
        let step_down = MemberUpdate {
            is_admin: Some(false),
            ..MemberUpdate::default()
        };
        assert_eq!(s.update_member(&org.id, &alice, &step_down).unwrap_err().status(), 409);
        s.update_member(
            &org.id,
            &bob,
            &MemberUpdate {
                is_admin: Some(true),
                ..MemberUpdate::default()
            },
        )
        .unwrap();
        assert!(s.remove_member(&org.id, &alice).unwrap());
        assert!(!s.remove_member(&org.id, &alice).unwrap());
        assert!(s
            .get_element(&alice, Visibility::All)
            .unwrap()
            .unwrap()
            .links
            .is_empty());
    }

    #[test]
    fn invitation_codes_are_counted() {
        let (_d, s) = store();
        let (alice, bob, carol) = (person(&s, "Alice"), person(&s, "Bob"), person(&s, "Carol"));
        let org = s
            .create_element_by(
                &alice,
                Kind::Organization,
                doc(json!({"name": "Jardin", "type": "NGO"})),
                None,
            )
            .unwrap();
        let invite = |code: &str, expires: Option<i64>| {
            s.create_invitation(&NewInvitation {
                code: code.into(),
                element: org.id.clone(),
                roles: vec!["partner".into()],
                is_admin: false,
                created_by: alice.clone(),
                expires,
                max_uses: 1,
                email: None,
            })
            .unwrap()
        };
        invite("abc", None);
        invite("old", Some(1));
        assert_eq!(s.join_with_code("nope", &bob).unwrap_err().status(), 404);
        assert_eq!(s.join_with_code("old", &bob).unwrap_err().status(), 409);
        let (e, m) = s.join_with_code("abc", &bob).unwrap();
        assert_eq!(
            (e, m),
            (
                org.id.clone(),
                Membership::Member {
                    admin: false,
                    roles: vec!["partner".into()]
                }
            )
        );
        assert_eq!(s.join_with_code("abc", &carol).unwrap_err().status(), 409);
        assert_eq!(
            s.invitations_of(&org.id).unwrap().iter().map(|i| i.uses).sum::<u32>(),
            1
        );
        assert!(s.delete_invitation(&org.id, "old").unwrap());
        assert_eq!(s.invitations_of(&org.id).unwrap().len(), 1);
    }

    #[test]
    fn audiences_by_reader() {
        let (_d, s) = store();
        let [alice, bob, carol, dave] = ["Alice", "Bob", "Carol", "Dave"].map(|n| person(&s, n));
        let org = s
            .create_element_by(
                &alice,
                Kind::Organization,
                doc(json!({"name": "Jardin", "type": "NGO"})),
                None,
            )
            .unwrap();
        s.request_to_join(&org.id, &bob).unwrap();
        s.update_member(
            &org.id,
            &bob,
            &MemberUpdate {
                accept: true,
                ..MemberUpdate::default()
            },
        )
        .unwrap();
        assert!(s.follow(&carol, &org.id).unwrap());
        assert!(!s.follow(&carol, &org.id).unwrap());
        for (text, audience) in [
            ("public", Audience::Public),
            ("members", Audience::Members),
            ("followers", Audience::Followers),
            ("private", Audience::Private),
        ] {
            s.create_post(
                &org.id,
                &alice,
                &NewPost {
                    text: text.into(),
                    audience,
                    tags: vec![],
                },
            )
            .unwrap();
        }
        s.create_post(
            &org.id,
            &bob,
            &NewPost {
                text: "bob's".into(),
                audience: Audience::Private,
                tags: vec![],
            },
        )
        .unwrap();
        let seen = |reader: Reader| {
            let page = s.journal(&org.id, &reader, 50, None).unwrap();
            texts(&page).join(",")
        };
        let as_person = |p: &ElementId| s.reader_for(p).unwrap();
        assert_eq!(seen(Reader::anonymous()), "public");
        assert_eq!(seen(as_person(&dave)), "public");
        assert_eq!(seen(as_person(&carol)), "followers,public");
        assert_eq!(seen(as_person(&bob)), "bob's,followers,members,public");
        assert_eq!(seen(as_person(&alice)), "bob's,private,followers,members,public");
        assert_eq!(seen(Reader::hub_admin()), "bob's,private,followers,members,public");
        // The home feed: the same rule over what one follows or belongs to.
        let feed = |p: &ElementId| {
            let page = s.home_feed(p, 50, None).unwrap();
            page.items
                .iter()
                .map(|(r, _)| r.doc["text"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
                .join(",")
        };
        assert_eq!(feed(&carol), "followers,public");
        assert_eq!(feed(&bob), "bob's,followers,members,public");
        assert_eq!(feed(&dave), "");
        // Pages.
        let first = s.journal(&org.id, &as_person(&alice), 2, None).unwrap();
        let second = s
            .journal(&org.id, &as_person(&alice), 2, first.next.as_deref())
            .unwrap();
        assert_eq!(
            (texts(&first), texts(&second)),
            (vec!["bob's", "private"], vec!["followers", "members"])
        );
        assert!(s.journal(&org.id, &Reader::anonymous(), 2, Some("x")).is_err());
    }

    #[test]
    fn comments_take_their_posts_audience_and_go_one_level_deep() {
        let (_d, s) = store();
        let (alice, bob) = (person(&s, "Alice"), person(&s, "Bob"));
        let org = s
            .create_element_by(
                &alice,
                Kind::Organization,
                doc(json!({"name": "Jardin", "type": "NGO"})),
                None,
            )
            .unwrap();
        let post = s
            .create_post(
                &org.id,
                &alice,
                &NewPost {
                    text: "hi".into(),
                    audience: Audience::Members,
                    tags: vec![],
                },
            )
            .unwrap();
        let on_post = Context::Post(post.id.clone());
        let top = s.create_comment(&on_post, None, &bob, "top").unwrap();
        let reply = s.create_comment(&on_post, Some(&top.id), &alice, "reply").unwrap();
        assert_eq!(
            s.create_comment(&on_post, Some(&reply.id), &bob, "deeper")
                .unwrap_err()
                .status(),
            422
        );
        let on_org = Context::Element(org.id.clone());
        assert_eq!(
            s.create_comment(&on_org, Some(&top.id), &bob, "elsewhere")
                .unwrap_err()
                .status(),
            422
        );
        s.create_comment(&on_org, None, &bob, "on the org").unwrap();
        let audience = |id: &ElementId| -> String {
            s.read(|c| {
                Ok(
                    c.query_row("SELECT audience FROM records WHERE id = ?1", [id.as_str()], |r| {
                        r.get(0)
                    })?,
                )
            })
            .unwrap()
        };
        assert_eq!(
            (audience(&top.id), audience(&reply.id)),
            ("members".into(), "members".into())
        );
        assert_eq!(s.comments_on(&on_post).unwrap().len(), 2);
        assert_eq!(s.comment(&reply.id).unwrap().unwrap().reply_to, Some(top.id.clone()));
        // The post goes public: so do its comments.
        s.update_record(&post.id, doc(json!({"scope": scope_of(Audience::Public)})))
            .unwrap();
        assert_eq!(audience(&reply.id), "public");
        assert_eq!(
            s.update_record(&post.id, doc(json!({"author": "x"})))
                .unwrap_err()
                .status(),
            422
        );
        // Deleting the post takes its comments and their replies.
        let before = s.last_seq().unwrap();
        assert!(s.delete_record(&post.id).unwrap());
        let deleted: Vec<_> = s.changes_since(before, 10).unwrap().into_iter().map(|c| c.op).collect();
        assert_eq!(deleted, [ChangeOp::Delete; 3]);
        assert!(s.comments_on(&on_post).unwrap().is_empty());
        assert_eq!(s.comments_on(&on_org).unwrap().len(), 1);
    }

    #[test]
    fn private_elements_are_seen_by_their_members() {
        let (_d, s) = store();
        let (alice, bob) = (person(&s, "Alice"), person(&s, "Bob"));
        let secret = s
            .create_element_by(
                &alice,
                Kind::Organization,
                doc(json!({"name": "Secret", "type": "NGO", "preferences": {"private": true}})),
                None,
            )
            .unwrap();
        let post = s
            .create_post(
                &secret.id,
                &alice,
                &NewPost {
                    text: "x".into(),
                    audience: Audience::Public,
                    tags: vec![],
                },
            )
            .unwrap();
        assert!(s.get_element_for(&secret.id, &Reader::anonymous()).unwrap().is_none());
        assert!(s
            .get_element_for(&secret.id, &s.reader_for(&bob).unwrap())
            .unwrap()
            .is_none());
        assert!(s.post_for(&post.id, &s.reader_for(&bob).unwrap()).unwrap().is_none());
        assert!(s
            .get_element_for(&secret.id, &s.reader_for(&alice).unwrap())
            .unwrap()
            .is_some());
        assert!(s.get_element_for(&secret.id, &Reader::hub_admin()).unwrap().is_some());
        assert!(s.post_for(&post.id, &s.reader_for(&alice).unwrap()).unwrap().is_some());
        let reader = s.reader_for(&alice).unwrap();
        assert!(reader.may_see(&secret));
        assert!(!s.reader_for(&bob).unwrap().may_see(&secret));
    }
}
