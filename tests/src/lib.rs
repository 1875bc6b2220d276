//! Test support for codex-lsp: the fake Responses API server used by the
//! model-client tests, the end-to-end tests and the editor tests (through the
//! `fake-responses` binary; see `tests/README.md` for the scenario format),
//! an LSP client that drives the real `codex-lsp` binary over stdio, and the
//! end-to-end [`harness`] built on both.
//!
//! This crate is test tooling: a poisoned lock or a broken pipe here is a
//! failed test, so it may `unwrap` (the server crate may not).
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod harness;
pub mod lsp_client;
pub mod script;
pub mod server;

pub use script::{Fault, Rule, Script};
pub use server::{FakeResponses, RecordedRequest};
