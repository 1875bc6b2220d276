//! Position encodings and conversions between byte offsets and line/column
//! positions on a rope.
//!
//! Everything else in the server works in byte offsets into a document's text;
//! only the protocol edge speaks line/column. All conversions live here so the
//! clamping rules are in one place:
//!
//! * a line past the last line clamps to the end of the document;
//! * a column past the end of a line clamps to the end of that line's content
//!   (before its `\n`, `\r\n` or `\r`), as the LSP spec asks;
//! * a UTF-16 column inside a surrogate pair, or a UTF-8 column inside a
//!   multi-byte character, snaps back to the start of that character.
//!
//! Lines end at `\n`, `\r\n` and `\r` only (ropey is built with `cr_lines` and
//! without `unicode_lines`), which is exactly the LSP definition.

use std::ops::Range;

use ropey::{Rope, RopeSlice};

/// How a column counts characters; negotiated with the client at initialize.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PositionEncoding {
    /// Columns count UTF-8 bytes (cheapest for us; preferred when offered).
    Utf8,
    /// Columns count UTF-16 code units (the LSP default every client supports).
    #[default]
    Utf16,
    /// Columns count Unicode scalar values.
    Utf32,
}

impl PositionEncoding {
    /// Code units this character occupies in the encoding.
    pub fn len_of(self, c: char) -> usize {
        match self {
            PositionEncoding::Utf8 => c.len_utf8(),
            PositionEncoding::Utf16 => c.len_utf16(),
            PositionEncoding::Utf32 => 1,
        }
    }

    /// Code units a string occupies in the encoding.
    pub fn len_of_str(self, s: &str) -> usize {
        match self {
            PositionEncoding::Utf8 => s.len(),
            PositionEncoding::Utf16 => s.encode_utf16().count(),
            PositionEncoding::Utf32 => s.chars().count(),
        }
    }
}

/// A zero-based line and a column counted in code units of some encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct LineCol {
    /// Zero-based line number.
    pub line: u32,
    /// Zero-based column, in code units of the negotiated encoding.
    pub col: u32,
}

impl LineCol {
    /// Shorthand constructor, mostly for tests and tables.
    pub const fn new(line: u32, col: u32) -> Self {
        Self { line, col }
    }
}

/// A replacement of a byte range of a text by new text.
///
/// The common currency between the assist core, the document store and the
/// protocol edge: edits are computed and rebased as byte ranges and converted
/// to line/column only when they leave the server.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TextEdit {
    /// Byte range of the original text that is replaced.
    pub range: Range<usize>,
    /// The text that replaces it.
    pub new_text: String,
}

/// A change already applied to a document, kept so later edits can be rebased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedChange {
    /// Byte range of the text before the change that was replaced.
    pub range: Range<usize>,
    /// Byte length of the inserted text.
    pub new_len: usize,
}

/// Char index just past the content of `line`, i.e. before its line break.
fn line_content_end_char(rope: &Rope, line: usize) -> usize {
    let start = rope.line_to_char(line);
    let slice: RopeSlice<'_> = rope.line(line);
    let len = slice.len_chars();
    let mut end = len;
    if end > 0 && slice.char(end - 1) == '\n' {
        end -= 1;
        if end > 0 && slice.char(end - 1) == '\r' {
            end -= 1;
        }
    } else if end > 0 && slice.char(end - 1) == '\r' {
        end -= 1;
    }
    start + end
}

/// Converts a line/column position to a byte offset, clamping as described in
/// the module documentation. Never panics, whatever the input.
pub fn offset_at(rope: &Rope, pos: LineCol, encoding: PositionEncoding) -> usize {
    offset_at_checked(rope, pos, encoding).0
}

/// [`offset_at`], also telling whether the position had to be clamped (its
/// line does not exist, or its column lies past the line's content). One walk
/// of the rope serves both, which matters on the `didChange` hot path.
pub fn offset_at_checked(rope: &Rope, pos: LineCol, encoding: PositionEncoding) -> (usize, bool) {
    let line = pos.line as usize;
    if line >= rope.len_lines() {
        return (rope.len_bytes(), true);
    }
    let col = pos.col as usize;
    let line_start_char = rope.line_to_char(line);
    let content_end_char = line_content_end_char(rope, line);
    let (char_idx, clamped) = match encoding {
        PositionEncoding::Utf8 => {
            let line_start_byte = rope.char_to_byte(line_start_char);
            let content_end_byte = rope.char_to_byte(content_end_char);
            let wanted = line_start_byte.saturating_add(col);
            // byte_to_char returns the char containing the byte: snaps back.
            (
                rope.byte_to_char(wanted.min(content_end_byte)),
                wanted > content_end_byte,
            )
        }
        PositionEncoding::Utf16 => {
            let line_start_cu = rope.char_to_utf16_cu(line_start_char);
            let content_end_cu = rope.char_to_utf16_cu(content_end_char);
            let wanted = line_start_cu.saturating_add(col);
            // Inside a surrogate pair, ropey returns the pair's char: snaps back.
            (
                rope.utf16_cu_to_char(wanted.min(content_end_cu)),
                wanted > content_end_cu,
            )
        }
        PositionEncoding::Utf32 => {
            let wanted = line_start_char.saturating_add(col);
            (wanted.min(content_end_char), wanted > content_end_char)
        }
    };
    (rope.char_to_byte(char_idx), clamped)
}

/// Converts a byte offset to a line/column position. An offset past the end
/// clamps to the end; an offset inside a character snaps to its start.
pub fn position_at(rope: &Rope, offset: usize, encoding: PositionEncoding) -> LineCol {
    let offset = offset.min(rope.len_bytes());
    let char_idx = rope.byte_to_char(offset);
    let line = rope.char_to_line(char_idx);
    let line_start_char = rope.line_to_char(line);
    let col = match encoding {
        PositionEncoding::Utf8 => rope.char_to_byte(char_idx) - rope.line_to_byte(line),
        PositionEncoding::Utf16 => {
            rope.char_to_utf16_cu(char_idx) - rope.char_to_utf16_cu(line_start_char)
        }
        PositionEncoding::Utf32 => char_idx - line_start_char,
    };
    LineCol {
        line: u32::try_from(line).unwrap_or(u32::MAX),
        col: u32::try_from(col).unwrap_or(u32::MAX),
    }
}

/// Converts a line/column range to a byte range; an inverted range is
/// normalised so that start <= end.
pub fn range_at(rope: &Rope, range: Range<LineCol>, encoding: PositionEncoding) -> Range<usize> {
    let a = offset_at(rope, range.start, encoding);
    let b = offset_at(rope, range.end, encoding);
    a.min(b)..a.max(b)
}

/// Whether a byte range is a cursor rather than a selection: empty, or on
/// one line and within one grapheme (Helix's block cursor is always a
/// one-character selection; an emoji with modifiers is one grapheme of
/// several characters).
pub fn is_cursor_like(rope: &Rope, range: Range<usize>) -> bool {
    use unicode_segmentation::UnicodeSegmentation;
    let end = range.end.min(rope.len_bytes());
    let start = range.start.min(end);
    if start == end {
        return true;
    }
    let text: String = rope.byte_slice(start..end).chars().collect();
    !text.contains(['\n', '\r']) && text.graphemes(true).count() <= 1
}

/// Snaps a byte offset back to the nearest character boundary of `text`.
pub fn floor_char_boundary(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// Bytes of a rope copied at a time by [`first_and_last`].
const SCAN_BLOCK: usize = 64 * 1024;

/// Where each needle first and last starts in `rope` (byte offsets; `None`
/// for a needle that does not occur, and always for an empty one), in one
/// pass over the text. The text is copied a block at a time (keeping the
/// longest needle's length less one byte between blocks), so a needle across
/// chunk boundaries is found and the document is never copied whole.
///
/// The searcher skips ahead on the needle's two rarest bytes, ranked by how
/// often they occur in a sample of this text rather than in typical text: in
/// a file whose every line holds the same non-ASCII words, those bytes are
/// not rare, its digits are.
pub fn first_and_last(rope: &Rope, needles: &[&[u8]]) -> Vec<Option<(usize, usize)>> {
    let ranker = SampledRank::of(rope);
    let builder = memchr::memmem::FinderBuilder::new();
    let finders: Vec<Option<memchr::memmem::Finder<'_>>> = needles
        .iter()
        .map(|n| {
            (!n.is_empty()).then(|| {
                // A needle with a byte the sample never shows is searched
                // by the usual ranking (all such bytes would tie here).
                if n.iter().all(|&b| ranker.0[usize::from(b)] > 0) {
                    builder.build_forward_with_ranker(ranker, n)
                } else {
                    builder.build_forward(n)
                }
            })
        })
        .collect();
    let keep = needles
        .iter()
        .map(|n| n.len())
        .max()
        .unwrap_or(1)
        .saturating_sub(1);
    let mut found: Vec<Option<(usize, usize)>> = vec![None; needles.len()];
    let scan = |block: &[u8], at: usize, found: &mut Vec<Option<(usize, usize)>>| {
        for (slot, finder) in found.iter_mut().zip(&finders) {
            let Some(finder) = finder else { continue };
            for m in finder.find_iter(block) {
                let o = at + m;
                *slot = Some(slot.map_or((o, o), |(a, b)| (a.min(o), b.max(o))));
            }
        }
    };
    let mut block: Vec<u8> = Vec::with_capacity(SCAN_BLOCK + keep + 4096);
    let mut block_at = 0;
    for chunk in rope.chunks() {
        block.extend_from_slice(chunk.as_bytes());
        if block.len() >= SCAN_BLOCK {
            scan(&block, block_at, &mut found);
            let cut = block.len() - keep.min(block.len());
            block.drain(..cut);
            block_at += cut;
        }
    }
    if !block.is_empty() {
        scan(&block, block_at, &mut found);
    }
    found
}

/// Byte frequencies of a sample of a text (up to 8 KiB at each of 8 places),
/// as the rank `memchr` picks a needle's rarest bytes by.
#[derive(Clone, Copy)]
struct SampledRank([u8; 256]);

impl SampledRank {
    fn of(rope: &Rope) -> Self {
        const PLACES: usize = 8;
        const TAKE: usize = 8 * 1024;
        let mut counts = [0u32; 256];
        let len = rope.len_bytes();
        for i in 0..PLACES {
            let (chunks, mut at, _, _) = rope.chunks_at_byte(len * i / PLACES);
            let stop = at + TAKE;
            for chunk in chunks {
                for &b in chunk.as_bytes() {
                    counts[usize::from(b)] += 1;
                }
                at += chunk.len();
                if at >= stop {
                    break;
                }
            }
        }
        let max = counts.iter().copied().max().unwrap_or(0).max(1);
        let mut rank = [0u8; 256];
        for (r, &c) in rank.iter_mut().zip(&counts) {
            // Never-seen bytes rank lowest; the most frequent, highest.
            *r = u8::try_from(u64::from(c) * 254 / u64::from(max) + u64::from(c > 0))
                .unwrap_or(u8::MAX);
        }
        Self(rank)
    }
}

impl memchr::arch::all::packedpair::HeuristicFrequencyRank for SampledRank {
    fn rank(&self, byte: u8) -> u8 {
        self.0[usize::from(byte)]
    }
}

/// Whether the rope holds a NUL byte (the text looks binary).
pub fn has_nul(rope: &Rope) -> bool {
    rope.chunks()
        .any(|c| memchr::memchr(0, c.as_bytes()).is_some())
}

/// The start of the line `n` lines above the one holding byte `at`, lines
/// ending at `\n` only (as a patch reads them); 0 when there are fewer.
pub fn line_start_before(rope: &Rope, at: usize, n: usize) -> usize {
    let at = at.min(rope.len_bytes());
    let mut bytes = rope.bytes_at(at);
    let mut pos = at;
    let mut seen = 0;
    while let Some(b) = bytes.prev() {
        pos -= 1;
        if b == b'\n' {
            seen += 1;
            if seen > n {
                return pos + 1;
            }
        }
    }
    0
}

/// The end (past its `\n`) of the line `n` lines below the one holding byte
/// `at`, lines ending at `\n` only; the text's end when there are fewer.
pub fn line_end_after(rope: &Rope, at: usize, n: usize) -> usize {
    let len = rope.len_bytes();
    let at = at.min(len);
    let mut pos = at;
    let mut seen = 0;
    for b in rope.bytes_at(at) {
        pos += 1;
        if b == b'\n' {
            seen += 1;
            if seen > n {
                return pos;
            }
        }
    }
    len
}

#[cfg(test)]
mod tests {
    use super::*;
    use PositionEncoding::{Utf8, Utf16, Utf32};

    fn lc(line: u32, col: u32) -> LineCol {
        LineCol::new(line, col)
    }

    #[test]
    fn offsets_table() {
        // (text, position, encoding, expected byte offset)
        let cases: &[(&str, LineCol, PositionEncoding, usize)] = &[
            ("abc", lc(0, 0), Utf16, 0),
            ("abc", lc(0, 3), Utf16, 3),
            ("abc", lc(0, 99), Utf16, 3),       // column clamps
            ("abc\ndef", lc(1, 1), Utf16, 5),   // second line
            ("abc\r\ndef", lc(0, 5), Utf16, 3), // clamps before CRLF
            ("abc\r\ndef", lc(1, 0), Utf16, 5), // CRLF is one break
            ("abc\rdef", lc(1, 2), Utf16, 6),   // lone CR is a break
            ("abc", lc(7, 0), Utf16, 3),        // line past end
            ("abc\n", lc(1, 0), Utf16, 4),      // empty last line
            ("abc\n", lc(1, 4), Utf16, 4),      // clamps on empty last line
            ("é", lc(0, 1), Utf16, 2),          // é is 1 UTF-16 unit, 2 bytes
            ("é", lc(0, 1), Utf8, 0),           // inside é snaps back
            ("é", lc(0, 2), Utf8, 2),
            ("😀x", lc(0, 1), Utf16, 0), // inside surrogate pair
            ("😀x", lc(0, 2), Utf16, 4),
            ("😀x", lc(0, 3), Utf16, 5),
            ("😀x", lc(0, 1), Utf32, 4),
            ("😀x", lc(0, 2), Utf32, 5),
            ("日本\n語", lc(1, 1), Utf16, 10),
            ("日本\n語", lc(0, 1), Utf32, 3),
            ("a\u{2028}b", lc(0, 2), Utf16, 4), // U+2028 is not a line break in LSP
            ("", lc(0, 0), Utf8, 0),
            ("", lc(3, 3), Utf32, 0),
        ];
        for (text, pos, enc, want) in cases {
            let rope = Rope::from_str(text);
            assert_eq!(
                offset_at(&rope, *pos, *enc),
                *want,
                "{text:?} {pos:?} {enc:?}"
            );
        }
    }

    #[test]
    fn positions_table() {
        let cases: &[(&str, usize, PositionEncoding, LineCol)] = &[
            ("abc\ndef", 5, Utf16, lc(1, 1)),
            ("abc\r\ndef", 5, Utf16, lc(1, 0)),
            ("😀x", 4, Utf16, lc(0, 2)),
            ("😀x", 4, Utf8, lc(0, 4)),
            ("😀x", 4, Utf32, lc(0, 1)),
            ("😀x", 2, Utf16, lc(0, 0)),  // inside a char snaps back
            ("abc", 99, Utf16, lc(0, 3)), // past the end clamps
            ("abc\n", 4, Utf16, lc(1, 0)),
        ];
        for (text, off, enc, want) in cases {
            let rope = Rope::from_str(text);
            assert_eq!(
                position_at(&rope, *off, *enc),
                *want,
                "{text:?} {off} {enc:?}"
            );
        }
    }

    #[test]
    fn cursors_are_empty_or_one_grapheme_on_one_line() {
        let rope = Rope::from_str("ab\n👍🏽x\n");
        let family = "👍🏽".len();
        assert!(is_cursor_like(&rope, 1..1));
        assert!(is_cursor_like(&rope, 0..1));
        assert!(
            is_cursor_like(&rope, 3..3 + family),
            "one grapheme, two chars"
        );
        assert!(!is_cursor_like(&rope, 0..2));
        assert!(!is_cursor_like(&rope, 1..3), "crosses a line break");
        assert!(!is_cursor_like(&rope, 3..4 + family));
    }

    #[test]
    fn bounds() {
        let rope = Rope::from_str("ab\r\n😀");
        assert!(!offset_at_checked(&rope, lc(0, 2), Utf16).1);
        assert!(offset_at_checked(&rope, lc(0, 3), Utf16).1);
        assert!(!offset_at_checked(&rope, lc(1, 2), Utf16).1);
        assert!(offset_at_checked(&rope, lc(1, 2), Utf32).1);
        assert!(offset_at_checked(&rope, lc(2, 0), Utf16).1);
    }

    #[test]
    fn inverted_range_is_normalised() {
        let rope = Rope::from_str("hello\nworld");
        assert_eq!(range_at(&rope, lc(1, 2)..lc(0, 1), Utf16), 1..8);
    }

    /// The naive answer: every start of `needle` in `text`, overlapping.
    fn naive(text: &str, needle: &[u8]) -> Option<(usize, usize)> {
        let hits: Vec<usize> = (0..text.len())
            .filter(|&i| !needle.is_empty() && text.as_bytes()[i..].starts_with(needle))
            .collect();
        Some((*hits.first()?, *hits.last()?))
    }

    #[test]
    fn needles_are_found_across_chunks_and_blocks() {
        // A rope grown by edits (uneven chunks), longer than two scan
        // blocks, with needles shorter and longer than a chunk placed at
        // many offsets, block edges included.
        let long: String = "é日x".repeat(700);
        let mut text = String::new();
        let mut i = 0u32;
        while text.len() < 3 * SCAN_BLOCK {
            i = i.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            match i % 7 {
                0 => text.push_str("needle"),
                1 => text.push_str("aaab"),
                2 if i.is_multiple_of(5) => text.push_str(&long),
                _ => text.push_str("lorem ipsum\n"),
            }
        }
        let mut rope = Rope::new();
        for (k, piece) in text.split_inclusive('\n').enumerate() {
            let at = if k % 3 == 0 {
                rope.len_chars()
            } else {
                rope.len_chars() / 2
            };
            rope.insert(at, piece);
        }
        let text = rope.to_string();
        let needles: Vec<&[u8]> = vec![
            b"needle",
            b"aab",
            b"a",
            b"\n",
            long.as_bytes(),
            b"absent",
            b"",
            b"ipsum\nlorem",
        ];
        let found = first_and_last(&rope, &needles);
        for (needle, got) in needles.iter().zip(found) {
            assert_eq!(
                got,
                naive(&text, needle),
                "{:?}",
                String::from_utf8_lossy(needle)
            );
        }
        assert!(!has_nul(&rope));
        rope.insert(rope.len_chars() / 3, "\0");
        assert!(has_nul(&rope));
    }

    #[test]
    fn line_bounds_count_newlines_only() {
        let rope = Rope::from_str("a\nb\rc\r\nd\ne");
        // Lines: "a\n" 0..2, "b\rc\r\n" 2..7, "d\n" 7..9, "e" 9..10.
        assert_eq!(line_start_before(&rope, 4, 0), 2);
        assert_eq!(line_start_before(&rope, 4, 1), 0);
        assert_eq!(line_start_before(&rope, 4, 5), 0);
        assert_eq!(line_start_before(&rope, 2, 0), 2);
        assert_eq!(line_end_after(&rope, 4, 0), 7);
        assert_eq!(line_end_after(&rope, 4, 1), 9);
        assert_eq!(line_end_after(&rope, 4, 2), 10);
        assert_eq!(line_end_after(&rope, 10, 0), 10);
    }

    proptest::proptest! {
        #[test]
        fn roundtrip_on_char_boundaries(text in "(a|é|日|😀|\r\n|\n|\r| ){0,40}", enc_i in 0u8..3) {
            let enc = [Utf8, Utf16, Utf32][enc_i as usize];
            let rope = Rope::from_str(&text);
            for (offset, _) in text.char_indices().chain(std::iter::once((text.len(), ' '))) {
                // The middle of a CRLF is not addressable by a position.
                if offset > 0 && text.as_bytes()[offset - 1] == b'\r' && text.as_bytes().get(offset) == Some(&b'\n') {
                    continue;
                }
                let pos = position_at(&rope, offset, enc);
                proptest::prop_assert_eq!(offset_at(&rope, pos, enc), offset);
            }
        }
    }
}
