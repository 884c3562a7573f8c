//! Tutela's integration tests, in one binary so linking stays fast.
//!
//! Every test that needs storage gets a fresh database: a SQLite file in a
//! temporary directory, or a fresh PostgreSQL database on the server named by
//! `TUTELA_TEST_POSTGRES_URL` (set by `scripts/test`, which starts one).

// This whole crate is test code: a failed assumption in a helper is a failed
// test. clippy's allow-*-in-tests settings cover `#[test]` functions only,
// not the helpers and conformance cases they call.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod access;
mod api;
mod audit;
mod audit_concurrency;
mod audit_crash;
mod calls;
mod config;
mod conformance;
mod conformance_access;
mod conformance_audit;
mod conformance_calls;
mod conformance_contacts;
mod conformance_requests;
mod contacts;
mod erasure;
mod import_crash;
mod logs;
mod recording_crash;
mod recordings;
mod requests;
mod scenario;
mod serve_binary;
mod support;
mod tls;
