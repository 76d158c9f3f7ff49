//! CoPi, the hub: CLI, HTTP server, element model, store.
pub mod announce;
pub mod api;
pub mod backup;
pub mod bundle;
pub mod cli;
pub mod config;
pub mod demo;
pub mod error;
pub mod hardware;
pub mod model;
pub mod search;
pub mod store;
pub mod sysinfo;
pub mod system;
pub mod territory;
pub mod watchdog;
pub mod web;
