//! CoPi, the hub: CLI, HTTP server, element model, store.
pub mod api;
pub mod bundle;
pub mod cli;
pub mod config;
pub mod demo;
pub mod error;
pub mod model;
pub mod search;
pub mod store;
pub mod territory;
