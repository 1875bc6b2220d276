//! Property test: random incremental edits in all three position encodings,
//! applied both to the rope document store and to a naive `String` model
//! written independently from the LSP rules, must give the same text.
#![allow(clippy::unwrap_used, clippy::expect_used)]

// The naive model of the LSP position rules is shared with the fuzz targets.
#[allow(dead_code, unreachable_pub)]
#[path = "../../fuzz/src/checks.rs"]
mod checks;

use checks::naive_offset;
use codex_lsp::document::{ContentChange, Document};
use codex_lsp::text::{LineCol, PositionEncoding};
use proptest::prelude::*;

fn line_count(text: &str) -> u32 {
    let t = text.replace("\r\n", "\n").replace('\r', "\n");
    t.matches('\n').count() as u32 + 1
}

fn edit_strategy() -> impl Strategy<Value = (u32, u32, u32, u32, String, u8)> {
    (
        0u32..1000,
        0u32..1000,
        0u32..1000,
        0u32..1000,
        "(a|é|日本|😀|\r\n|\n|\r|x y|)*{0,3}".prop_map(|s| s),
        0u8..3,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn rope_store_matches_naive_model(
        initial in "(a|é|日本|😀|\r\n|\n|\r|x)*{0,12}",
        edits in proptest::collection::vec(edit_strategy(), 1..25),
    ) {
        let mut naive = initial.clone();
        let mut doc = Document::new(&initial, 1, "text");
        for (a, b, c, d, insert, enc_i) in edits {
            let enc = [PositionEncoding::Utf8, PositionEncoding::Utf16, PositionEncoding::Utf32][enc_i as usize];
            // Mostly in-bounds positions, sometimes one line/cols past the end.
            let lines = line_count(&naive) + 1;
            let start = LineCol::new(a % lines, b % 12);
            let end = LineCol::new(c % lines, d % 12);
            let change = ContentChange { range: Some(start..end), text: insert.clone() };
            let result = doc.apply_change(&change, enc);
            if start > end {
                prop_assert!(result.is_err(), "inverted range must be refused");
            } else {
                let s = naive_offset(&naive, start, enc);
                let e = naive_offset(&naive, end, enc).max(s);
                naive.replace_range(s..e, &insert);
            }
            prop_assert_eq!(doc.rope().to_string(), naive.clone());
        }
    }
}
