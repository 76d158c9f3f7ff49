//! Sync between a CoPi hub and a main instance.
//!
//! This crate knows nothing of Rocket, HTTP clients or SQL. It reads the hub's changes
//! through the [`ChangeFeed`] port, which the appliance's store implements; [`protocol`]
//! is the wire format of the `copi` connector, [`run_round`] one sync round over a
//! [`Replica`] (the store: outbox, inbox, checkpoints) and a [`Connector`] (HTTP, in the
//! appliance), [`gzip`] the body encoding.

pub mod communecter;
pub mod gzip;
pub mod protocol;
mod round;

pub use protocol::{
    Applied, Batch, BatchId, Hello, PullRequest, PullResponse, PushRequest, PushResponse, SyncCheckpoint, Welcome,
    WireChange,
};
pub use round::{
    run_round, run_round_observed, Backoff, Connector, ConnectorError, NoObserver, Observer, Phase, Replica,
    RoundConfig, RoundError, RoundProgress, RoundReport, Traffic,
};

use serde::{Deserialize, Serialize};

/// Position in a replica's change log. Strictly increasing on one replica and never reused,
/// so it orders changes without trusting the wall clock (the Pi has none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ChangeSeq(pub i64);

impl std::fmt::Display for ChangeSeq {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// What a change touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    Element,
    Post,
    Comment,
    Attachment,
    /// A cooperative-space proposal (with its votes).
    Proposal,
    /// A cooperative-space action (task).
    Action,
}

impl EntityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::Element => "element",
            EntityKind::Post => "post",
            EntityKind::Comment => "comment",
            EntityKind::Attachment => "attachment",
            EntityKind::Proposal => "proposal",
            EntityKind::Action => "action",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "element" => EntityKind::Element,
            "post" => EntityKind::Post,
            "comment" => EntityKind::Comment,
            "attachment" => EntityKind::Attachment,
            "proposal" => EntityKind::Proposal,
            "action" => EntityKind::Action,
            _ => return None,
        })
    }
}

/// Whether a change created, changed or removed its entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeOp {
    Create,
    Update,
    Delete,
}

impl ChangeOp {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeOp::Create => "create",
            ChangeOp::Update => "update",
            ChangeOp::Delete => "delete",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "create" => ChangeOp::Create,
            "update" => ChangeOp::Update,
            "delete" => ChangeOp::Delete,
            _ => return None,
        })
    }
}

/// One entry of a replica's change log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub seq: ChangeSeq,
    pub entity: EntityKind,
    pub entity_id: String,
    pub op: ChangeOp,
    /// The replica (instance id) on which the change was made.
    pub origin: String,
}

/// The port through which sync (and the search index) read a replica's changes in order.
pub trait ChangeFeed {
    type Error: std::error::Error + Send + Sync + 'static;

    /// Changes with a sequence strictly greater than `after`, oldest first, at most `limit`.
    fn changes_since(&self, after: ChangeSeq, limit: usize) -> Result<Vec<Change>, Self::Error>;

    /// The newest sequence written so far (`ChangeSeq(0)` for an empty log).
    fn last_seq(&self) -> Result<ChangeSeq, Self::Error>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in [
            EntityKind::Element,
            EntityKind::Post,
            EntityKind::Comment,
            EntityKind::Attachment,
            EntityKind::Proposal,
            EntityKind::Action,
        ] {
            assert_eq!(EntityKind::parse(k.as_str()), Some(k));
        }
        for op in [ChangeOp::Create, ChangeOp::Update, ChangeOp::Delete] {
            assert_eq!(ChangeOp::parse(op.as_str()), Some(op));
        }
        assert_eq!(ChangeOp::parse("upsert"), None);
    }
}
