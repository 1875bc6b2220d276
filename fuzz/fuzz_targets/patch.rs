//! Fuzz target `patch`: Patch parser, hunk applier, planner (workspace safety) and minimal edits.
//! The checks live in `codex_lsp_fuzz::checks::patch`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| codex_lsp_fuzz::checks::patch(data));
