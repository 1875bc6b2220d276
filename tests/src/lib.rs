//! Test support for codex-lsp: an LSP client that drives the real binary over
//! stdio, and (module `fake`) the fake Responses API server.

pub mod lsp_client;
