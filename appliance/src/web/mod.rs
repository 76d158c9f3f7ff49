//! Pages for people. With `api`, the only place with Rocket types. So far: the captive
//! portal (the probes phones send when they join the hub's Wi-Fi, and the landing page they
//! are sent to); the visitor pages arrive with issue 3.

mod portal;

pub use portal::{stage as portal_stage, Portal};
