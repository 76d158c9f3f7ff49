//! CoPi, the hub: CLI, HTTP server, element model, store.
pub mod cli;
pub mod model;
