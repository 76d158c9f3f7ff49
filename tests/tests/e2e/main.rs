//! End-to-end tests: the real `copi` binary, real data dirs, real HTTP on loopback.

mod appliance;
mod backup;
mod browser;
mod bundles;
mod crash;
mod demo;
mod feeds;
mod render;
mod sync;
mod sync_faults;
mod sync_topology;
