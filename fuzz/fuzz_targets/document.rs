//! Fuzz target `document`: Incremental edits with position conversion in all encodings, against a naive model.
//! The checks live in `codex_lsp_fuzz::checks::document`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| codex_lsp_fuzz::checks::document(data));
