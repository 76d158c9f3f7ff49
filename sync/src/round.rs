//! One sync round, pure: push this replica's batches, then pull the main's, resuming from
//! the checkpoints both sides keep. The appliance supplies the [`Replica`] (its store) and
//! the [`Connector`] (HTTP); tests supply fakes.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::protocol::{
    Applied, Batch, Hello, PullRequest, PullResponse, PushRequest, PushResponse, SyncCheckpoint, Welcome, WireChange,
    PROTOCOL,
};
use crate::ChangeSeq;

/// Why a connector call failed.
#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    /// No answer (refused, reset, timed out): try again later.
    #[error("main instance unreachable: {0}")]
    Unreachable(String),
    /// The main answered with an error status.
    #[error("main instance answered {status}: {message}")]
    Refused {
        status: u16,
        message: String,
        retry_after: Option<u64>,
    },
    /// The main's checkpoint is behind the batch (the main was restored): say hello again.
    #[error("the main instance is missing earlier batches")]
    Gap,
    /// The answer could not be understood.
    #[error("bad answer from the main instance: {0}")]
    Protocol(String),
    /// The connector's own state on this replica failed (a connector that keeps some).
    #[error("local sync state: {0}")]
    Local(String),
}

impl ConnectorError {
    /// How long the main asked us to wait (`Retry-After`).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ConnectorError::Refused {
                retry_after: Some(s), ..
            } => Some(Duration::from_secs(*s)),
            _ => None,
        }
    }
}

/// Bytes moved so far on the wire (compressed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Traffic {
    pub sent: u64,
    pub received: u64,
}

/// How a replica reaches its main instance.
pub trait Connector {
    fn hello(&self, req: &Hello) -> Result<Welcome, ConnectorError>;
    fn push(&self, req: &PushRequest) -> Result<PushResponse, ConnectorError>;
    fn pull(&self, req: &PullRequest) -> Result<PullResponse, ConnectorError>;
    fn traffic(&self) -> Traffic {
        Traffic::default()
    }
}

/// The replica's side of a round: its outbox (the change log), inbox and checkpoints.
pub trait Replica {
    type Error: std::error::Error + Send + Sync + 'static;

    fn instance_id(&self) -> String;
    fn checkpoint(&self, peer: &str) -> Result<SyncCheckpoint, Self::Error>;
    /// The next batch of this replica's own changes after `after`: at most `limit` changes,
    /// only what may leave. `to_seq == after` when the log holds nothing after `after`.
    fn outgoing(&self, after: ChangeSeq, limit: usize) -> Result<Batch, Self::Error>;
    fn set_pushed(&self, peer: &str, to: ChangeSeq) -> Result<(), Self::Error>;
    /// Applies the peer's changes and moves the pull checkpoint to `next_since`, in one
    /// transaction.
    fn apply_pulled(&self, peer: &str, changes: &[WireChange], next_since: ChangeSeq) -> Result<Applied, Self::Error>;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoundConfig {
    pub batch: usize,
    pub scopes: Vec<String>,
}

/// What a round did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoundReport {
    pub main: String,
    pub pushed_batches: usize,
    pub pushed_changes: usize,
    pub replayed_batches: usize,
    pub pushed_to: ChangeSeq,
    pub pulled_batches: usize,
    pub pulled_changes: usize,
    /// Pulled changes that changed something here.
    pub applied: usize,
    pub pulled_to: ChangeSeq,
    /// Conflicts on both sides (the losing versions are kept).
    pub conflicts: usize,
    pub bytes_sent: u64,
    pub bytes_received: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum RoundError {
    #[error(transparent)]
    Connector(#[from] ConnectorError),
    #[error("local store: {0}")]
    Replica(Box<dyn std::error::Error + Send + Sync>),
}

impl RoundError {
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            RoundError::Connector(c) => c.retry_after(),
            RoundError::Replica(_) => None,
        }
    }
}

/// Where a round is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Saying hello, before the first batch.
    #[default]
    Starting,
    Pushing,
    Pulling,
}

/// How far the round running now has gone: what moved so far, counted as in the
/// [`RoundReport`] it ends with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoundProgress {
    pub phase: Phase,
    pub pushed_batches: usize,
    pub pushed_changes: usize,
    pub pulled_batches: usize,
    pub pulled_changes: usize,
    pub bytes_sent: u64,
    pub bytes_received: u64,
}

/// Told of a round's progress as it goes (when a phase starts and after each batch), for
/// the admin to see. Called on the round's thread; must not block for long.
pub trait Observer {
    fn progress(&self, progress: &RoundProgress);
}

/// An observer that looks at nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoObserver;

impl Observer for NoObserver {
    fn progress(&self, _: &RoundProgress) {}
}

impl<F: Fn(&RoundProgress)> Observer for F {
    fn progress(&self, progress: &RoundProgress) {
        self(progress)
    }
}

fn local<E: std::error::Error + Send + Sync + 'static>(e: E) -> RoundError {
    RoundError::Replica(Box::new(e))
}

/// Runs one round. Every step is committed as it goes (the main's checkpoint after each
/// batch it applies, ours after each batch we apply), so a round cut anywhere resumes
/// where it stopped; nothing is applied twice.
pub fn run_round<R: Replica, C: Connector>(
    replica: &R,
    connector: &C,
    config: &RoundConfig,
) -> Result<RoundReport, RoundError> {
    run_round_observed(replica, connector, config, &NoObserver)
}

/// [`run_round`], telling `observer` how far it has gone.
pub fn run_round_observed<R: Replica, C: Connector, O: Observer + ?Sized>(
    replica: &R,
    connector: &C,
    config: &RoundConfig,
    observer: &O,
) -> Result<RoundReport, RoundError> {
    let tell = |report: &RoundReport, phase: Phase| {
        let traffic = connector.traffic();
        let progress = RoundProgress {
            phase,
            pushed_batches: report.pushed_batches,
            pushed_changes: report.pushed_changes,
            pulled_batches: report.pulled_batches,
            pulled_changes: report.pulled_changes,
            bytes_sent: traffic.sent,
            bytes_received: traffic.received,
        };
        observer.progress(&progress);
    };
    let hub = replica.instance_id();
    let limit = config.batch.clamp(1, crate::protocol::MAX_BATCH);
    let hello = Hello {
        hub: hub.clone(),
        protocol: PROTOCOL,
    };
    let mut welcome = connector.hello(&hello)?;
    if welcome.protocol != PROTOCOL {
        return Err(
            ConnectorError::Protocol(format!("protocol {} (this hub speaks {PROTOCOL})", welcome.protocol)).into(),
        );
    }
    let mut report = RoundReport {
        main: welcome.main.clone(),
        ..RoundReport::default()
    };
    let checkpoint = replica.checkpoint(&welcome.main).map_err(local)?;

    // Push: from what the main says it has applied (it may have lost some: a restore).
    tell(&report, Phase::Pushing);
    let mut after = welcome.pushed_to;
    let mut gaps = 0;
    loop {
        let batch = replica.outgoing(after, limit).map_err(local)?;
        if batch.to_seq <= after {
            break;
        }
        let n = batch.changes.len();
        let to = batch.to_seq;
        let req = PushRequest {
            hub: hub.clone(),
            base: checkpoint.pulled,
            batch,
        };
        match connector.push(&req) {
            Ok(resp) => {
                if resp.applied_to <= after {
                    return Err(ConnectorError::Protocol(format!(
                        "push to {to} left the main's checkpoint at {}",
                        resp.applied_to
                    ))
                    .into());
                }
                report.pushed_batches += 1;
                report.pushed_changes += n;
                report.replayed_batches += usize::from(resp.replayed);
                report.conflicts += resp.conflicts;
                after = resp.applied_to;
                replica.set_pushed(&welcome.main, after).map_err(local)?;
                tell(&report, Phase::Pushing);
            }
            Err(ConnectorError::Gap) if gaps < 3 => {
                gaps += 1;
                welcome = connector.hello(&hello)?;
                after = welcome.pushed_to;
            }
            Err(e) => return Err(e.into()),
        }
    }
    report.pushed_to = after;

    // Pull.
    tell(&report, Phase::Pulling);
    let mut since = checkpoint.pulled;
    loop {
        let resp = connector.pull(&PullRequest {
            hub: hub.clone(),
            since,
            limit,
            scopes: config.scopes.clone(),
        })?;
        if resp.main != welcome.main {
            return Err(ConnectorError::Protocol("the main instance changed during the round".into()).into());
        }
        if resp.next_since < since || (resp.next_since == since && !resp.done) {
            return Err(ConnectorError::Protocol(format!("pull from {since} answered {}", resp.next_since)).into());
        }
        if resp.next_since > since || !resp.changes.is_empty() {
            let applied = replica
                .apply_pulled(&welcome.main, &resp.changes, resp.next_since)
                .map_err(local)?;
            report.pulled_batches += 1;
            report.pulled_changes += resp.changes.len();
            report.applied += applied.applied;
            report.conflicts += applied.conflicts;
            tell(&report, Phase::Pulling);
        }
        since = resp.next_since;
        if resp.done {
            break;
        }
    }
    report.pulled_to = since;
    let traffic = connector.traffic();
    report.bytes_sent = traffic.sent;
    report.bytes_received = traffic.received;
    Ok(report)
}

/// Waits between failed rounds: doubling from `base` up to `max`, never shorter than what
/// the main asked for with `Retry-After`.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    max: Duration,
    failures: u32,
}

impl Backoff {
    pub fn new(base: Duration, max: Duration) -> Backoff {
        Backoff { base, max, failures: 0 }
    }

    pub fn failure(&mut self, retry_after: Option<Duration>) -> Duration {
        let factor = 1u32 << self.failures.min(16);
        self.failures = self.failures.saturating_add(1);
        let wait = self.base.saturating_mul(factor).min(self.max);
        retry_after.map_or(wait, |r| wait.max(r))
    }

    pub fn success(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests;
