//! Fuzz support for codex-lsp: the invariant checks every target runs
//! ([`checks`]), shared with the proptest fallback in
//! `server/tests/fuzz_props.rs`.

pub mod checks;
