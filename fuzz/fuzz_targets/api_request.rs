//! The whole HTTP surface through Rocket's local client, on a real store (a small demo
//! territory, every module on, the main role's sync endpoints mounted): any method, path,
//! query string, headers, identity (nobody, the admin token, a person's bearer token or
//! session cookie) and body. Input: `METHOD URI [admin|person|cookie]`, header lines, a
//! blank line, the body.
//!
//! Checks: no panic (in a handler too: the fuzzer aborts on any panic), no 500, and every
//! error under `/api/` is `{"error": {"code", "message"}}`.
#![no_main]

use copi_fuzz::{FuzzHub, TextRequest};
use libfuzzer_sys::fuzz_target;

thread_local! {
    static HUB: FuzzHub = FuzzHub::open();
}

fuzz_target!(|data: &[u8]| {
    let Some(req) = TextRequest::parse(data) else {
        return;
    };
    HUB.with(|hub| {
        hub.send(&req);
    });
});
