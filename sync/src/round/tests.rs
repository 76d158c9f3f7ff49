//! The round against an in-memory replica and an in-memory main that can be cut at any
//! call (before answering, or after applying a push: a lost answer).

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashSet};

use serde_json::{json, Value};

use super::*;
use crate::protocol::{BatchId, PROTOCOL};
use crate::{ChangeOp, EntityKind};

#[derive(Debug, thiserror::Error)]
#[error("never")]
struct Never;

/// A replica: a log of (seq, entity id, origin) and the current documents.
struct Mem {
    id: String,
    log: RefCell<Vec<(i64, String, String)>>,
    docs: RefCell<BTreeMap<String, Value>>,
    cp: RefCell<BTreeMap<String, SyncCheckpoint>>,
}

impl Mem {
    fn new(id: &str) -> Mem {
        Mem {
            id: id.into(),
            log: RefCell::default(),
            docs: RefCell::default(),
            cp: RefCell::default(),
        }
    }

    fn write(&self, id: &str, doc: Value, origin: &str) {
        let mut log = self.log.borrow_mut();
        let seq = log.len() as i64 + 1;
        log.push((seq, id.into(), origin.into()));
        self.docs.borrow_mut().insert(id.into(), doc);
    }

    fn count_origin(&self, origin: &str) -> usize {
        self.log.borrow().iter().filter(|c| c.2 == origin).count()
    }

    /// Up to `limit` changes kept by `keep` (`per_kept`, as the store's outbox does) or up to
    /// `limit` looked at (as the main's pull does).
    fn changes_after(
        &self,
        after: ChangeSeq,
        limit: usize,
        per_kept: bool,
        keep: impl Fn(&str) -> bool,
    ) -> (Vec<WireChange>, ChangeSeq, bool) {
        let log = self.log.borrow();
        let mut out = Vec::new();
        let mut to = after;
        let mut scanned = 0;
        for (seq, id, origin) in log.iter().filter(|c| c.0 > after.0) {
            if (if per_kept { out.len() } else { scanned }) == limit {
                break;
            }
            scanned += 1;
            to = ChangeSeq(*seq);
            if keep(origin) {
                out.push(WireChange {
                    entity: EntityKind::Element,
                    op: ChangeOp::Update,
                    id: id.clone(),
                    seq: ChangeSeq(*seq),
                    doc: self.docs.borrow().get(id).cloned(),
                });
            }
        }
        (out, to, scanned < limit)
    }
}

impl Replica for Mem {
    type Error = Never;

    fn instance_id(&self) -> String {
        self.id.clone()
    }

    fn checkpoint(&self, peer: &str) -> Result<SyncCheckpoint, Never> {
        Ok(self.cp.borrow().get(peer).copied().unwrap_or_default())
    }

    fn outgoing(&self, after: ChangeSeq, limit: usize) -> Result<Batch, Never> {
        let (changes, to, _) = self.changes_after(after, limit, true, |o| o == self.id);
        Ok(Batch {
            id: BatchId::new(&self.id, after, to),
            from_seq: after,
            to_seq: to,
            changes,
        })
    }

    fn set_pushed(&self, peer: &str, to: ChangeSeq) -> Result<(), Never> {
        self.cp.borrow_mut().entry(peer.into()).or_default().pushed = to;
        Ok(())
    }

    fn apply_pulled(&self, peer: &str, changes: &[WireChange], next: ChangeSeq) -> Result<Applied, Never> {
        let mut applied = 0;
        for c in changes {
            if self.docs.borrow().get(&c.id) != c.doc.as_ref() {
                self.write(&c.id, c.doc.clone().unwrap_or(Value::Null), peer);
                applied += 1;
            }
        }
        self.cp.borrow_mut().entry(peer.into()).or_default().pulled = next;
        Ok(Applied { applied, conflicts: 0 })
    }
}

/// A main that applies every change of a new batch unconditionally: only its batch ids and
/// checkpoints keep a replay from applying twice.
struct FakeMain {
    main: Mem,
    pushed: RefCell<BTreeMap<String, ChangeSeq>>,
    batches: RefCell<HashSet<BatchId>>,
    calls: Cell<usize>,
    cut_at: Cell<Option<usize>>,
}

impl FakeMain {
    fn new() -> FakeMain {
        FakeMain {
            main: Mem::new("main"),
            pushed: RefCell::default(),
            batches: RefCell::default(),
            calls: Cell::new(0),
            cut_at: Cell::new(None),
        }
    }

    fn call(&self) -> Result<(), ConnectorError> {
        let n = self.calls.get() + 1;
        self.calls.set(n);
        if self.cut_at.get() == Some(n) {
            return Err(ConnectorError::Unreachable("cut".into()));
        }
        Ok(())
    }
}

impl Connector for FakeMain {
    fn hello(&self, req: &Hello) -> Result<Welcome, ConnectorError> {
        self.call()?;
        Ok(Welcome {
            main: self.main.id.clone(),
            protocol: PROTOCOL,
            pushed_to: self.pushed.borrow().get(&req.hub).copied().unwrap_or_default(),
        })
    }

    fn push(&self, req: &PushRequest) -> Result<PushResponse, ConnectorError> {
        let cp = self.pushed.borrow().get(&req.hub).copied().unwrap_or_default();
        let b = &req.batch;
        let replayed = self.batches.borrow().contains(&b.id) || b.to_seq <= cp;
        if !replayed {
            if b.from_seq > cp {
                return Err(ConnectorError::Gap);
            }
            for c in &b.changes {
                self.main.write(&c.id, c.doc.clone().unwrap_or(Value::Null), &req.hub);
            }
            self.pushed.borrow_mut().insert(req.hub.clone(), b.to_seq);
            self.batches.borrow_mut().insert(b.id.clone());
        }
        // Cut after applying: the answer is lost.
        self.call()?;
        Ok(PushResponse {
            applied_to: self.pushed.borrow()[&req.hub],
            replayed,
            applied: if replayed { 0 } else { b.changes.len() },
            conflicts: 0,
        })
    }

    fn pull(&self, req: &PullRequest) -> Result<PullResponse, ConnectorError> {
        self.call()?;
        let (changes, next_since, done) = self.main.changes_after(req.since, req.limit, false, |o| o != req.hub);
        Ok(PullResponse {
            main: self.main.id.clone(),
            changes,
            next_since,
            done,
        })
    }
}

fn setup() -> (Mem, FakeMain) {
    let hub = Mem::new("hub");
    for i in 0..7 {
        hub.write(&format!("h{i}"), json!({"name": format!("hub {i}")}), "hub");
    }
    // One element written twice: the batch carries its latest state.
    hub.write("h3", json!({"name": "hub 3 renamed"}), "hub");
    let main = FakeMain::new();
    for i in 0..3 {
        main.main
            .write(&format!("m{i}"), json!({"name": format!("main {i}")}), "main");
    }
    (hub, main)
}

fn config() -> RoundConfig {
    RoundConfig {
        batch: 2,
        scopes: Vec::new(),
    }
}

fn converged(hub: &Mem, main: &FakeMain) {
    for (id, doc) in hub.docs.borrow().iter() {
        assert_eq!(main.main.docs.borrow().get(id), Some(doc), "{id} on the main");
    }
    for (id, doc) in main.main.docs.borrow().iter() {
        assert_eq!(hub.docs.borrow().get(id), Some(doc), "{id} on the hub");
    }
    // Each of the hub's 8 log entries travelled in exactly one applied batch; each of the
    // main's 3 was applied once on the hub.
    assert!(main.main.count_origin("hub") <= 8, "no batch applied twice");
    assert_eq!(hub.count_origin("main"), 3, "no pulled change applied twice");
}

#[test]
fn a_round_moves_everything_and_a_second_moves_nothing() {
    let (hub, main) = setup();
    let r = run_round(&hub, &main, &config()).unwrap();
    assert_eq!((r.pushed_batches, r.pulled_changes, r.applied), (4, 3, 3));
    assert_eq!(r.pushed_to, ChangeSeq(8));
    converged(&hub, &main);
    let again = run_round(&hub, &main, &config()).unwrap();
    assert_eq!(
        (again.pushed_batches, again.pushed_changes),
        (1, 0),
        "only the pulled range is acknowledged"
    );
    assert_eq!((again.pulled_changes, again.applied), (0, 0));
    let third = run_round(&hub, &main, &config()).unwrap();
    assert_eq!(
        (third.pushed_batches, third.pulled_batches, third.pulled_changes),
        (0, 0, 0)
    );
    converged(&hub, &main);
}

#[test]
fn a_round_cut_at_any_call_resumes_without_loss_or_duplicates() {
    for cut in 1..20 {
        let (hub, main) = setup();
        main.cut_at.set(Some(cut));
        let first = run_round(&hub, &main, &config());
        main.cut_at.set(None);
        run_round(&hub, &main, &config()).unwrap_or_else(|e| panic!("cut at call {cut}: {e}"));
        converged(&hub, &main);
        assert_eq!(
            main.main.count_origin("hub"),
            8,
            "cut at call {cut} ({first:?}): each of the hub's 8 changes applied once"
        );
    }
}

#[test]
fn a_main_that_lost_batches_gets_them_again() {
    let (hub, main) = setup();
    run_round(&hub, &main, &config()).unwrap();
    // The main is restored from an old backup: it knows nothing of this hub.
    main.pushed.borrow_mut().clear();
    main.batches.borrow_mut().clear();
    main.main.docs.borrow_mut().retain(|id, _| id.starts_with('m'));
    run_round(&hub, &main, &config()).unwrap();
    for id in hub.docs.borrow().keys() {
        assert!(main.main.docs.borrow().contains_key(id), "{id} pushed again");
    }
}

#[test]
fn backoff_doubles_and_honours_retry_after() {
    let s = Duration::from_secs;
    let mut b = Backoff::new(s(5), s(60));
    assert_eq!(b.failure(None), s(5));
    assert_eq!(b.failure(None), s(10));
    assert_eq!(b.failure(Some(s(30))), s(30));
    assert_eq!(b.failure(None), s(40));
    assert_eq!(b.failure(None), s(60));
    assert_eq!(b.failure(Some(s(120))), s(120));
    b.success();
    assert_eq!(b.failure(None), s(5));
}

#[test]
fn the_observer_sees_each_phase_and_batch_as_the_report_counts_them() {
    let (hub, main) = setup();
    let seen = RefCell::new(Vec::new());
    let r = run_round_observed(&hub, &main, &config(), &|p: &RoundProgress| seen.borrow_mut().push(*p)).unwrap();
    let seen = seen.into_inner();
    let phases: Vec<Phase> = seen.iter().map(|p| p.phase).collect();
    // Pushing starts, then one note per pushed batch (4); pulling starts, then one per
    // pulled batch (2 of 2 changes at most).
    let pushing = phases.iter().filter(|p| **p == Phase::Pushing).count();
    let pulling = phases.iter().filter(|p| **p == Phase::Pulling).count();
    assert_eq!(pushing, 1 + r.pushed_batches, "{seen:?}");
    assert_eq!(pulling, 1 + r.pulled_batches, "{seen:?}");
    assert!(phases
        .windows(2)
        .all(|w| w[0] == w[1] || (w[0], w[1]) == (Phase::Pushing, Phase::Pulling)));
    // Counts only grow, and the last note matches the report.
    assert!(seen
        .windows(2)
        .all(|w| w[1].pushed_changes >= w[0].pushed_changes && w[1].pulled_changes >= w[0].pulled_changes));
    let last = seen.last().unwrap();
    assert_eq!(
        (
            last.pushed_batches,
            last.pushed_changes,
            last.pulled_batches,
            last.pulled_changes
        ),
        (r.pushed_batches, r.pushed_changes, r.pulled_batches, r.pulled_changes)
    );
    // A round that fails tells what it did before failing, and nothing after.
    let (hub, main) = setup();
    main.cut_at.set(Some(3));
    let seen = RefCell::new(Vec::new());
    assert!(run_round_observed(&hub, &main, &config(), &|p: &RoundProgress| seen.borrow_mut().push(*p)).is_err());
    let seen = seen.into_inner();
    assert_eq!(
        seen.last().map(|p| (p.phase, p.pushed_batches)),
        Some((Phase::Pushing, 1)),
        "{seen:?}"
    );
}
