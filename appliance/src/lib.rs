//! CoPi, the hub: CLI, HTTP server, element model, store.
pub mod cli;
pub mod error;
pub mod model;
pub mod store;
pub mod territory;
