//! Wiring of the `tutela` binary: configuration, the data directory, the
//! choice of storage backend by URL, and the `serve` command. The binary's
//! `main` parses the command line and calls into here; the integration tests
//! call the same functions.

pub mod audit_cmd;
pub mod config;
pub mod data_dir;
pub mod lists_cmd;
pub mod scrub_cmd;
pub mod serve;
pub mod store;
