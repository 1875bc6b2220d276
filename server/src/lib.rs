//! codex-lsp: a language server that brings OpenAI Codex models into any LSP
//! editor as code actions, quick fixes and an explain-this-code hover.
//!
//! Modules in reading order: the pure core first (text positions, documents,
//! settings, the assist core, the model client), then the shared session, and
//! last the protocol edge (`lsp`, `handlers`, `server`). See ARCHITECTURE.md.

pub mod assist;
pub mod config;
pub mod document;
pub mod explain_cache;
pub mod handlers;
pub mod lsp;
pub mod memory;
pub mod model;
pub mod server;
pub mod session;
pub mod text;

pub use server::{ServerOptions, run};
