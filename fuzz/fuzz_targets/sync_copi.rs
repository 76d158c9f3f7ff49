//! Sync payloads of the `copi` connector (JSON, gzipped or not; frames split on `--`
//! lines), on a store with a small demo territory:
//!
//! - as the hub: a whole round (`run_round`) against a main whose answers (`Welcome`,
//!   `PushResponse`, `PullResponse`…) are the frames, in order; pulled changes are applied;
//! - as the main (input starting with `MAIN`): each frame is a `Hello` or a `PushRequest`
//!   that the store answers or applies.
//!
//! Checks: no panic; the round ends (it has finitely many answers); a failure is about the
//! input (a protocol error or a 4xx from the store), never a store failure.
#![no_main]

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;

use copi::store::Store;
use copi_sync::protocol::{Hello, PushRequest};
use copi_sync::{Connector, ConnectorError, PullRequest, PullResponse, PushResponse, RoundConfig, RoundError, Welcome};
use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;

/// A main whose answers are the input's frames.
struct Scripted<'a> {
    answers: RefCell<VecDeque<&'a [u8]>>,
    calls: Cell<usize>,
}

impl Scripted<'_> {
    fn next<T: DeserializeOwned>(&self) -> Result<T, ConnectorError> {
        self.calls.set(self.calls.get() + 1);
        assert!(self.calls.get() < 10_000, "the round does not end");
        let frame = self
            .answers
            .borrow_mut()
            .pop_front()
            .ok_or_else(|| ConnectorError::Unreachable("no more answers".into()))?;
        let raw = copi_fuzz::unpack(frame).ok_or_else(|| ConnectorError::Protocol("bad gzip".into()))?;
        serde_json::from_slice(&raw).map_err(|e| ConnectorError::Protocol(e.to_string()))
    }
}

impl Connector for Scripted<'_> {
    fn hello(&self, _: &Hello) -> Result<Welcome, ConnectorError> {
        self.next()
    }

    fn push(&self, _: &PushRequest) -> Result<PushResponse, ConnectorError> {
        self.next()
    }

    fn pull(&self, _: &PullRequest) -> Result<PullResponse, ConnectorError> {
        self.next()
    }
}

fn store_error(e: &RoundError) {
    if let RoundError::Replica(inner) = e {
        match inner.downcast_ref::<copi::error::Error>() {
            Some(err) => copi_fuzz::assert_input_error(err, "applying a sync round"),
            None => panic!("a round failed in the store: {inner}"),
        }
    }
}

fn as_main(store: &Store, frames: &[&[u8]]) {
    for frame in frames {
        let Some(raw) = copi_fuzz::unpack(frame) else {
            continue;
        };
        if let Ok(hello) = serde_json::from_slice::<Hello>(&raw) {
            if let Err(e) = store.sync_hello(&hello.hub) {
                copi_fuzz::assert_input_error(&e, "a hello");
            }
        } else if let Ok(push) = serde_json::from_slice::<PushRequest>(&raw) {
            if let Err(e) = store.sync_accept_push(&push) {
                copi_fuzz::assert_input_error(&e, "a push");
            }
        }
    }
}

thread_local! {
    static STORE: Store = copi_fuzz::demo_store(40);
}

fuzz_target!(|data: &[u8]| {
    STORE.with(|store| {
        if let Some(rest) = data.strip_prefix(b"MAIN\n") {
            return as_main(store, &copi_fuzz::frames(rest));
        }
        let main = Scripted {
            answers: RefCell::new(copi_fuzz::frames(data).into()),
            calls: Cell::new(0),
        };
        let config = RoundConfig {
            batch: 16,
            scopes: vec!["city:26108".into()],
        };
        if let Err(e) = copi_sync::run_round(store, &main, &config) {
            store_error(&e);
        }
    });
});
