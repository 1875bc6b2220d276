//! Test support for codex-lsp: the fake Responses API server used by the
//! model-client tests, the end-to-end tests and the editor tests (through the
//! `fake-responses` binary). See `tests/README.md` for the scenario format.

pub mod script;
pub mod server;

pub use script::{Fault, Rule, Script};
pub use server::{FakeResponses, RecordedRequest};
