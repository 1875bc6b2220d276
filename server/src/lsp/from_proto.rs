//! Conversions from protocol values into the core's types.

use std::ops::Range;
use std::path::PathBuf;

use ropey::Rope;
use tower_lsp_server::ls_types::{
    ClientCapabilities, InitializeParams, Position, PositionEncodingKind,
    TextDocumentContentChangeEvent, Uri,
};

use crate::document::ContentChange;
use crate::text::{self, LineCol, PositionEncoding};

/// Picks the position encoding: UTF-8 when offered (no conversion cost),
/// else UTF-16 (mandatory for every client), else UTF-32.
pub fn negotiate_encoding(caps: &ClientCapabilities) -> PositionEncoding {
    let offered = caps
        .general
        .as_ref()
        .and_then(|g| g.position_encodings.as_deref())
        .unwrap_or_default();
    if offered.contains(&PositionEncodingKind::UTF8) {
        PositionEncoding::Utf8
    } else if offered.contains(&PositionEncodingKind::UTF16) || offered.is_empty() {
        PositionEncoding::Utf16
    } else if offered.contains(&PositionEncodingKind::UTF32) {
        PositionEncoding::Utf32
    } else {
        PositionEncoding::Utf16
    }
}

/// A protocol position as a line/column.
pub fn line_col(position: Position) -> LineCol {
    LineCol::new(position.line, position.character)
}

/// A protocol range as a line/column range (not normalised).
pub fn line_col_range(range: tower_lsp_server::ls_types::Range) -> Range<LineCol> {
    line_col(range.start)..line_col(range.end)
}

/// A protocol position as a byte offset in `rope` (clamped).
pub fn offset(rope: &Rope, position: Position, encoding: PositionEncoding) -> usize {
    text::offset_at(rope, line_col(position), encoding)
}

/// A protocol range as a byte range in `rope` (clamped, normalised).
pub fn byte_range(
    rope: &Rope,
    range: tower_lsp_server::ls_types::Range,
    encoding: PositionEncoding,
) -> Range<usize> {
    text::range_at(rope, line_col_range(range), encoding)
}

/// A `didChange` content change for the document store.
pub fn content_change(event: TextDocumentContentChangeEvent) -> ContentChange {
    ContentChange {
        range: event.range.map(line_col_range),
        text: event.text,
    }
}

/// The workspace root: the first workspace folder, else the deprecated
/// `rootUri`, when it is a `file:` URI.
#[allow(deprecated)]
pub fn workspace_root(params: &InitializeParams) -> Option<PathBuf> {
    let from_folders = params
        .workspace_folders
        .as_ref()
        .and_then(|f| f.first())
        .and_then(|f| file_path(&f.uri));
    from_folders.or_else(|| params.root_uri.as_ref().and_then(file_path))
}

/// The local path of a `file:` URI.
pub fn file_path(uri: &Uri) -> Option<PathBuf> {
    uri.to_file_path().map(|p| p.into_owned())
}
