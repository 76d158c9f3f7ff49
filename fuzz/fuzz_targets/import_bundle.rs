//! `copi import FILE`: a JSON bundle in CoPi's shape (`copi export`) or Communecter's
//! (collections, the API's `entities` envelope, a list, one document), read and validated,
//! then written into a store and indexed.
//!
//! Checks: no panic; an error about the input, never a store error, once a bundle passed
//! validation; every element written reads back as a valid element.
#![no_main]

use std::cell::RefCell;

use copi::bundle::Bundle;
use copi::model::Element;
use copi::search::SearchIndex;
use copi::store::Store;
use libfuzzer_sys::fuzz_target;

/// A fresh store after this many bundles written: it must not grow for the whole run.
const WRITES_PER_STORE: u32 = 2000;

struct State {
    store: Store,
    index: SearchIndex,
    writes: u32,
}

fn fresh() -> State {
    State {
        store: Store::open(&copi_fuzz::scratch_dir("copi-fuzz-import-"))
            .expect("opening a store")
            .with_zone(copi_fuzz::zone()),
        index: SearchIndex::in_memory().expect("an index in memory"),
        writes: 0,
    }
}

thread_local! {
    static STATE: RefCell<Option<State>> = const { RefCell::new(None) };
    static ZONE: jiff::tz::TimeZone = copi_fuzz::zone();
}

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let zone = ZONE.with(Clone::clone);
    let bundle = match Bundle::from_json(value, &zone) {
        Ok(b) => b,
        Err(e) => return copi_fuzz::assert_input_error(&e, "reading a bundle"),
    };
    // What validation accepted is accepted again as it would be exported.
    for (e, _) in &bundle.elements {
        if let Err(err) = Element::from_json(e.to_json(), None, &zone) {
            panic!("element {} does not read back: {err}\n{}", e.id, e.to_json());
        }
    }
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        if s.as_ref().is_none_or(|st| st.writes >= WRITES_PER_STORE) {
            *s = Some(fresh());
        }
        let st = s.as_mut().expect("a state");
        st.writes += 1;
        if let Err(e) = bundle.write(&st.store, || {}) {
            copi_fuzz::assert_input_error(&e, "writing a validated bundle");
            return;
        }
        st.index.catch_up(&st.store).expect("indexing an imported bundle");
    });
});
