//! Fuzz target `settings`: The settings parser: single values and layered settings.
//! The checks live in `codex_lsp_fuzz::checks::settings`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| codex_lsp_fuzz::checks::settings(data));
