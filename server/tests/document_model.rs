//! Property test: random incremental edits in all three position encodings,
//! applied both to the rope document store and to a naive `String` model
//! written independently from the LSP rules, must give the same text.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use codex_lsp::document::{ContentChange, Document};
use codex_lsp::text::{LineCol, PositionEncoding};
use proptest::prelude::*;

/// Naive: byte offset of a position, by walking the string char by char.
fn naive_offset(text: &str, pos: LineCol, enc: PositionEncoding) -> usize {
    // Split into lines, remembering where each line's content starts/ends.
    let mut lines: Vec<(usize, usize)> = Vec::new(); // (content start, content end)
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                lines.push((start, i));
                start = i + 1;
            }
            b'\r' => {
                lines.push((start, i));
                if bytes.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    lines.push((start, bytes.len()));
    let Some(&(s, e)) = lines.get(pos.line as usize) else {
        return text.len();
    };
    let mut units = 0usize;
    for (off, c) in text[s..e].char_indices() {
        let w = match enc {
            PositionEncoding::Utf8 => c.len_utf8(),
            PositionEncoding::Utf16 => c.len_utf16(),
            PositionEncoding::Utf32 => 1,
        };
        if units + w > pos.col as usize {
            return s + off;
        }
        units += w;
    }
    e
}

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
