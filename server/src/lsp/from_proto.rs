//! Conversions from protocol values into the core's types: positions and
//! ranges into byte offsets, content changes, diagnostics, document paths.

use std::ops::Range;
use std::path::PathBuf;

use ropey::Rope;
use tower_lsp_server::ls_types::{
    ClientCapabilities, Diagnostic, DiagnosticSeverity, InitializeParams, NumberOrString, Position,
    PositionEncodingKind, TextDocumentContentChangeEvent, Uri,
};

use crate::assist::{DiagnosticInfo, RelatedInfo};
use crate::document::ContentChange;
use crate::text::{self, LineCol, PositionEncoding};
use crate::workspace::DocumentKey;

/// Picks the position encoding: UTF-8 when offered (no conversion cost),
/// else UTF-16 (mandatory for every client), else UTF-32.
pub(crate) fn negotiate_encoding(caps: &ClientCapabilities) -> PositionEncoding {
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
pub(crate) fn line_col(position: Position) -> LineCol {
    LineCol::new(position.line, position.character)
}

/// A protocol range as a line/column range (not normalised).
pub(crate) fn line_col_range(range: tower_lsp_server::ls_types::Range) -> Range<LineCol> {
    line_col(range.start)..line_col(range.end)
}

/// A protocol range as a byte range in `rope` (clamped, normalised).
pub(crate) fn byte_range(
    rope: &Rope,
    range: tower_lsp_server::ls_types::Range,
    encoding: PositionEncoding,
) -> Range<usize> {
    text::range_at(rope, line_col_range(range), encoding)
}

/// A `didChange` content change for the document store.
pub(crate) fn content_change(event: TextDocumentContentChangeEvent) -> ContentChange {
    ContentChange {
        range: event.range.map(line_col_range),
        text: event.text,
    }
}

/// The workspace folders: every `file:` folder of `workspaceFolders`, else
/// the deprecated `rootUri`.
#[allow(deprecated)]
pub(crate) fn workspace_folders(params: &InitializeParams) -> Vec<PathBuf> {
    match &params.workspace_folders {
        Some(folders) if !folders.is_empty() => {
            folders.iter().filter_map(|f| file_path(&f.uri)).collect()
        }
        _ => params.root_uri.iter().filter_map(file_path).collect(),
    }
}

/// Who a document is, however the client spelled its URI (percent-encoded
/// or not, `.` segments): the decoded, normalised path of a `file:` URI,
/// else the URI's text.
pub(crate) fn document_key(uri: &Uri) -> DocumentKey {
    match file_path(uri) {
        Some(path) => DocumentKey::file(&path),
        None => DocumentKey::Other(uri.as_str().to_owned()),
    }
}

/// The local path of a `file:` URI; `None` for any other scheme
/// (`untitled:`, `vscode-notebook-cell:`, …), whose path is not a file.
pub(crate) fn file_path(uri: &Uri) -> Option<PathBuf> {
    if !uri.scheme().as_str().eq_ignore_ascii_case("file") {
        return None;
    }
    uri.to_file_path().map(|p| p.into_owned())
}

/// The local path of a document; a placeholder under `/untitled/` for URIs
/// that are not `file:` (unsaved buffers), so they are never mistaken for a
/// file on disk.
pub(crate) fn document_path(uri: &Uri) -> PathBuf {
    file_path(uri).unwrap_or_else(|| PathBuf::from(format!("/untitled/{}", uri.path())))
}

/// A diagnostic the client sent, as the prompt describes it: its range in
/// bytes of `rope`, severity, code, source, message and related locations,
/// each named by `locate` (which decides how much of a path and which
/// column may be shown to the model).
pub(crate) fn diagnostic(
    d: &Diagnostic,
    rope: &Rope,
    encoding: PositionEncoding,
    locate: &dyn Fn(&Uri, Position) -> String,
) -> DiagnosticInfo {
    let severity = d.severity.map(|s| {
        match s {
            DiagnosticSeverity::ERROR => "error",
            DiagnosticSeverity::WARNING => "warning",
            DiagnosticSeverity::INFORMATION => "information",
            _ => "hint",
        }
        .to_owned()
    });
    let code = d.code.as_ref().map(|c| match c {
        NumberOrString::Number(n) => n.to_string(),
        NumberOrString::String(s) => s.clone(),
    });
    let related = d
        .related_information
        .iter()
        .flatten()
        .map(|r| RelatedInfo {
            location: locate(&r.location.uri, r.location.range.start),
            message: r.message.clone(),
        })
        .collect();
    DiagnosticInfo {
        range: byte_range(rope, d.range, encoding),
        severity,
        code,
        source: d.source.clone(),
        message: d.message.clone(),
        related,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower_lsp_server::ls_types::{DiagnosticRelatedInformation, Location};

    #[test]
    fn a_diagnostic_becomes_what_the_prompt_describes() {
        let rope = Rope::from_str("let é = 1;\nlet x = y;\n");
        let uri = |s: &str| s.parse::<Uri>().ok();
        let (Some(file), Some(other)) = (uri("file:///w/a.rs"), uri("file:///w/b.rs")) else {
            panic!("test URIs parse");
        };
        let d = Diagnostic {
            range: tower_lsp_server::ls_types::Range::new(Position::new(1, 8), Position::new(1, 9)),
            severity: Some(DiagnosticSeverity::ERROR),
            code: Some(NumberOrString::Number(425)),
            source: Some("rustc".to_owned()),
            message: "cannot find value `y`".to_owned(),
            related_information: Some(vec![DiagnosticRelatedInformation {
                location: Location::new(
                    other,
                    tower_lsp_server::ls_types::Range::new(
                        Position::new(3, 4),
                        Position::new(3, 5),
                    ),
                ),
                message: "similar name".to_owned(),
            }]),
            ..Diagnostic::default()
        };
        let locate = |uri: &Uri, p: Position| format!("{}:{}", uri.path(), p.line + 1);
        let info = diagnostic(&d, &rope, PositionEncoding::Utf16, &locate);
        // "let é = 1;\n" is 12 bytes (é is two), so line 1 column 8 is byte 20.
        assert_eq!(info.range, 20..21);
        assert_eq!(info.severity.as_deref(), Some("error"));
        assert_eq!(info.code.as_deref(), Some("425"));
        assert_eq!(info.source.as_deref(), Some("rustc"));
        assert_eq!(info.related.len(), 1);
        assert_eq!(info.related[0].location, "/w/b.rs:4");
        assert_eq!(document_path(&file), PathBuf::from("/w/a.rs"));
    }

    #[test]
    fn unsaved_buffers_get_a_placeholder_path() {
        let Ok(uri) = "untitled:Untitled-1".parse::<Uri>() else {
            panic!("test URI parses");
        };
        assert_eq!(document_path(&uri), PathBuf::from("/untitled/Untitled-1"));
    }
}
