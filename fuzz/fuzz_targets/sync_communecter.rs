//! Sync payloads of the `communecter` connector: a whole round (`run_round` over
//! `CommunecterConnector`, its listing state in the store) against a Communecter main whose
//! answers are the input's frames (split on `--` lines), in the order the connector asks:
//! `/api/city/get/insee/…`, `globalautocomplete` listings, `/co2/element/get` documents,
//! saves and deletions. A frame `404` is a not-found. An optional first line
//! `SCOPES city:26108,dep:26` sets the hub's territories.
//!
//! Checks: no panic; a failure is about the answers (a protocol error, a 4xx from the
//! store), never a store failure; the mapped documents that reach the store are validated
//! there like any other.
#![no_main]

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;

use copi::store::Store;
use copi_sync::communecter::{
    parse_city, parse_element, parse_search, scope_query, CityRef, CommunecterConnector, Fetched, Listed, Locality,
    SaveRequest, ScopeQuery, Upstream,
};
use copi_sync::{ConnectorError, RoundConfig, RoundError};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// A Communecter main whose answers are the input's frames.
struct Scripted<'a> {
    answers: RefCell<VecDeque<&'a [u8]>>,
    calls: Cell<usize>,
}

enum Answer {
    Json(Value),
    NotFound,
}

impl Scripted<'_> {
    fn next(&self) -> Result<Answer, ConnectorError> {
        self.calls.set(self.calls.get() + 1);
        assert!(self.calls.get() < 10_000, "the round does not end");
        let frame = self
            .answers
            .borrow_mut()
            .pop_front()
            .ok_or_else(|| ConnectorError::Unreachable("no more answers".into()))?;
        if frame == b"404" {
            return Ok(Answer::NotFound);
        }
        serde_json::from_slice(frame)
            .map(Answer::Json)
            .map_err(|e| ConnectorError::Protocol(format!("not JSON ({e})")))
    }
}

/// As the HTTP upstream reads the main's answers (`appliance/src/syncer/communecter.rs`).
impl Upstream for Scripted<'_> {
    fn locality(&self, scope: &str) -> Result<Locality, ConnectorError> {
        let query = scope_query(scope)?;
        let insee = match &query {
            ScopeQuery::Direct(l) => return Ok(l.clone()),
            ScopeQuery::City { insee } => insee.clone(),
            ScopeQuery::Department { .. } | ScopeQuery::Region { .. } => "26108".into(),
        };
        let city = self
            .city(&insee)?
            .ok_or_else(|| ConnectorError::Protocol(format!("no commune {insee}")))?;
        Ok(city.locality(&query)?)
    }

    fn city(&self, insee: &str) -> Result<Option<CityRef>, ConnectorError> {
        match self.next()? {
            Answer::NotFound => Ok(None),
            Answer::Json(body) => Ok(parse_city(&body, insee)?),
        }
    }

    fn search(&self, _: &str, _: &Locality, _: usize, _: usize) -> Result<Vec<Listed>, ConnectorError> {
        match self.next()? {
            Answer::NotFound => Err(ConnectorError::Protocol("not found".into())),
            Answer::Json(body) => Ok(parse_search(&body)?),
        }
    }

    fn get(&self, collection: &str, id: &str) -> Result<Fetched, ConnectorError> {
        match self.next()? {
            Answer::NotFound => Ok(Fetched::Gone),
            Answer::Json(body) => Ok(parse_element(&body, collection, id)?),
        }
    }

    fn save(&self, _: &SaveRequest) -> Result<(), ConnectorError> {
        match self.next()? {
            Answer::Json(body) if body.get("result") == Some(&Value::Bool(true)) => Ok(()),
            _ => Err(ConnectorError::Protocol("not saved".into())),
        }
    }

    fn delete(&self, _: &str, _: &str) -> Result<(), ConnectorError> {
        match self.next()? {
            Answer::NotFound => Ok(()),
            Answer::Json(body) if body.get("result") == Some(&Value::Bool(true)) => Ok(()),
            Answer::Json(_) => Err(ConnectorError::Protocol("not deleted".into())),
        }
    }
}

thread_local! {
    static STORE: Store = copi_fuzz::demo_store(40);
}

fuzz_target!(|data: &[u8]| {
    let (scopes, rest) = match data.strip_prefix(b"SCOPES ") {
        Some(rest) => {
            let end = rest.iter().position(|b| *b == b'\n').unwrap_or(rest.len());
            let line = String::from_utf8_lossy(&rest[..end]);
            let scopes = line.split(',').map(str::to_owned).collect();
            (scopes, rest.get(end + 1..).unwrap_or_default())
        }
        None => (vec!["city:26108".to_owned()], data),
    };
    STORE.with(|store| {
        let upstream = Scripted {
            answers: RefCell::new(copi_fuzz::frames(rest).into()),
            calls: Cell::new(0),
        };
        let connector = CommunecterConnector::new(upstream, store, "communecter:https://fuzz.example".into());
        let config = RoundConfig { batch: 16, scopes };
        if let Err(RoundError::Replica(inner)) = copi_sync::run_round(store, &connector, &config) {
            match inner.downcast_ref::<copi::error::Error>() {
                Some(err) => copi_fuzz::assert_input_error(err, "a communecter round"),
                None => panic!("a round failed in the store: {inner}"),
            }
        }
    });
});
