//! codex-lsp: a language server that brings OpenAI Codex models into any LSP
//! editor as code actions, quick fixes and an explain-this-code hover.
//!
//! Modules in reading order: the pure core first (text positions, documents,
//! settings, the assist core, the model client), then what the edge shares
//! (the explanation cache, the failure vocabulary, jobs, the state), and
//! last the protocol edge (`lsp`, `handlers`, `server`). See ARCHITECTURE.md.
//!
//! The core modules are public for the benches, fuzz targets and
//! integration tests; the edge is private behind [`run`] and
//! [`build_service`].

pub mod assist;
pub mod config;
pub mod document;
pub mod model;
pub mod price;
pub mod text;
pub mod tools;
pub mod workspace;

mod conversations;
mod explain_cache;
mod failure;
mod memory;
mod progress;
mod state;

mod handlers;
mod lsp;
mod server;

pub use server::{LanguageService, build_service, run};
pub use state::{EnvLookup, ServerOptions};
