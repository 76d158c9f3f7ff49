//! End-to-end tests: the real `copi` binary, real data dirs, real HTTP on loopback.

mod appliance;
mod backup;
mod browser;
mod bundles;
mod crash;
mod demo;
mod feeds;
mod mail;
mod render;
mod soak;
mod sync;
mod sync_communecter;
mod sync_faults;
mod sync_faults_hubs;
mod sync_records;
mod sync_tokens;
mod sync_topology;
