//! Branchline: a single-node call-centre server.
//!
//! The layout follows DESIGN.md: `core` holds the sans-IO state machines, `driver` the thin
//! tokio edges that own sockets and clocks, `storage` the SQLite event log and CDRs, `web` the
//! HTTP API, `config` the bootstrap TOML.

pub mod config;
pub mod core;
pub mod driver;
pub mod reports;
pub mod storage;
pub mod web;
