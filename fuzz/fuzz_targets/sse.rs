//! Fuzz target `sse`: Streamed replies: SSE framing and event JSON, whole and split into network chunks.
//! The checks live in `codex_lsp_fuzz::checks::sse`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| codex_lsp_fuzz::checks::sse(data));
