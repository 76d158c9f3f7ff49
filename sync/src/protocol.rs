//! The wire format of the `copi` connector (HTTP JSON, gzip bodies), version 1.
//!
//! - `POST /api/v1/sync/hello` [`Hello`] → [`Welcome`]: the main's instance id and how far
//!   it has applied this hub's change log (its checkpoint for the hub, the truth a round
//!   resumes from).
//! - `POST /api/v1/sync/push` [`PushRequest`] → [`PushResponse`]: one [`Batch`] of the
//!   hub's changes, applied in one transaction. A batch whose id the main has seen, or that
//!   ends at or before its checkpoint, changes nothing and gets the same answer; one that
//!   starts after the checkpoint (a gap) is refused with 409 and the hub says hello again.
//! - `GET /api/v1/sync/pull?hub=&since=&limit=&scope=…` → [`PullResponse`]: the main's
//!   public changes after `since` in the hub's territories, without those that came from
//!   this hub (echo suppression).
//!
//! Every change carries the entity's whole current state (or nothing, for a deletion), so
//! applying a change twice, or an older batch after a newer one, changes nothing new.
//!
//! Entities: elements (CoPi's element JSON), and what hangs off them in Communecter's
//! shape with `_id` as `{"$id"}` — posts (`news`), comments, attachments (`documents`
//! records, without local file paths), proposals (with `voteCount {up, down, white}`
//! instead of the voters' `votes` lists) and actions. A replica that knows only elements
//! skips the others (this slice of v1 did), so the wire format and the version are
//! unchanged. A receiver applies a batch's elements first, then posts, then comments.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{ChangeOp, ChangeSeq, EntityKind};

/// Version of this protocol, sent in `hello`.
pub const PROTOCOL: u32 = 1;

/// Changes per batch unless told otherwise.
pub const DEFAULT_BATCH: usize = 500;

/// Largest batch a peer may ask for.
pub const MAX_BATCH: usize = 2000;

/// A batch's name: the origin's instance id and the range of its change log it covers.
/// Built from the range alone, so a batch rebuilt after a cut has the same id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BatchId(pub String);

impl BatchId {
    pub fn new(origin: &str, from: ChangeSeq, to: ChangeSeq) -> BatchId {
        BatchId(format!("{origin}:{}-{}", from.0, to.0))
    }
}

impl std::fmt::Display for BatchId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One change on the wire: the entity's state after it (`doc`, absent for a deletion).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireChange {
    pub entity: EntityKind,
    pub op: ChangeOp,
    pub id: String,
    /// The sender's sequence of the entity's latest change.
    pub seq: ChangeSeq,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc: Option<Value>,
}

/// A range `(from_seq, to_seq]` of the origin's change log and what of it may leave.
/// `changes` may be empty (nothing public in the range): the checkpoint still moves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Batch {
    pub id: BatchId,
    pub from_seq: ChangeSeq,
    pub to_seq: ChangeSeq,
    pub changes: Vec<WireChange>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hello {
    pub hub: String,
    pub protocol: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Welcome {
    /// The main's instance id: the key of the hub's checkpoints.
    pub main: String,
    pub protocol: u32,
    /// The main's checkpoint for this hub: the hub's changes up to here are applied.
    pub pushed_to: ChangeSeq,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushRequest {
    pub hub: String,
    /// How far the hub has pulled the main's log: a main change to the same element after
    /// this is concurrent (a conflict).
    pub base: ChangeSeq,
    pub batch: Batch,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushResponse {
    /// The main's checkpoint for the hub after this batch.
    pub applied_to: ChangeSeq,
    /// The batch was already applied: nothing changed.
    pub replayed: bool,
    pub applied: usize,
    pub conflicts: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PullRequest {
    pub hub: String,
    pub since: ChangeSeq,
    pub limit: usize,
    /// The hub's home territories (`city:26108`, `dep:26`…); all public elements if empty.
    pub scopes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PullResponse {
    pub main: String,
    pub changes: Vec<WireChange>,
    /// The main's sequence to ask from next time (the last one looked at).
    pub next_since: ChangeSeq,
    /// Nothing after `next_since` yet.
    pub done: bool,
}

/// What a replica remembers of a peer: how far each direction has gone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncCheckpoint {
    /// This replica's own changes the peer has applied, up to here.
    pub pushed: ChangeSeq,
    /// The peer's changes this replica has applied, up to here (in the peer's sequence).
    pub pulled: ChangeSeq,
}

/// What applying changes did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    /// Changes written (an identical document or a deletion of an absent entity counts as
    /// nothing).
    pub applied: usize,
    pub conflicts: usize,
}
