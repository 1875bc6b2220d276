//! Conversions from the core's types into protocol values.

use std::ops::Range;

use ropey::Rope;
use tower_lsp_server::ls_types::{self, Position, PositionEncodingKind};

use crate::text::{self, LineCol, PositionEncoding};

/// The protocol name of a position encoding.
pub fn encoding_kind(encoding: PositionEncoding) -> PositionEncodingKind {
    match encoding {
        PositionEncoding::Utf8 => PositionEncodingKind::UTF8,
        PositionEncoding::Utf16 => PositionEncodingKind::UTF16,
        PositionEncoding::Utf32 => PositionEncodingKind::UTF32,
    }
}

/// A line/column as a protocol position.
pub fn position(lc: LineCol) -> Position {
    Position::new(lc.line, lc.col)
}

/// A byte offset in `rope` as a protocol position.
pub fn position_at(rope: &Rope, offset: usize, encoding: PositionEncoding) -> Position {
    position(text::position_at(rope, offset, encoding))
}

/// A byte range in `rope` as a protocol range.
pub fn range(rope: &Rope, range: Range<usize>, encoding: PositionEncoding) -> ls_types::Range {
    ls_types::Range::new(
        position_at(rope, range.start, encoding),
        position_at(rope, range.end, encoding),
    )
}
