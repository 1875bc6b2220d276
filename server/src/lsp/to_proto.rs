//! Conversions from the core's types into protocol values: positions,
//! ranges, and the `WorkspaceEdit` an action answers with, in the shape the
//! client asked for (`documentChanges` with versions and file creation, or
//! plain `changes`).

use std::collections::HashMap;
use std::ops::Range;

use ropey::Rope;
use tower_lsp_server::ls_types::{
    self, CreateFile, CreateFileOptions, DocumentChangeOperation, DocumentChanges, OneOf,
    OptionalVersionedTextDocumentIdentifier, Position, PositionEncodingKind, ResourceOp,
    TextDocumentEdit, Uri, WorkspaceEdit,
};

use crate::text::{self, LineCol, PositionEncoding, TextEdit};

pub(crate) fn encoding_kind(encoding: PositionEncoding) -> PositionEncodingKind {
    match encoding {
        PositionEncoding::Utf8 => PositionEncodingKind::UTF8,
        PositionEncoding::Utf16 => PositionEncodingKind::UTF16,
        PositionEncoding::Utf32 => PositionEncodingKind::UTF32,
    }
}

pub(crate) fn position(lc: LineCol) -> Position {
    Position::new(lc.line, lc.col)
}

/// A byte offset in `rope` as a protocol position.
pub(crate) fn position_at(rope: &Rope, offset: usize, encoding: PositionEncoding) -> Position {
    position(text::position_at(rope, offset, encoding))
}

/// A byte range in `rope` as a protocol range.
pub(crate) fn range(
    rope: &Rope,
    range: Range<usize>,
    encoding: PositionEncoding,
) -> ls_types::Range {
    ls_types::Range::new(
        position_at(rope, range.start, encoding),
        position_at(rope, range.end, encoding),
    )
}

/// One document's edits, in bytes of `rope`: the text the client holds at
/// `version` (`None` for a file that is not open in the editor).
#[derive(Debug, Clone)]
pub(crate) struct DocumentEdit {
    pub(crate) uri: Uri,
    pub(crate) version: Option<i32>,
    pub(crate) rope: Rope,
    pub(crate) edits: Vec<TextEdit>,
}

/// A file the edit creates, with its whole content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NewFile {
    pub(crate) uri: Uri,
    pub(crate) content: String,
}

/// How the client takes workspace edits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EditShape {
    /// `documentChanges`: versioned text edits, file creation first.
    DocumentChanges,
    /// `changes`: unversioned text edits by URI; cannot create files.
    Changes,
}

fn text_edits(update: DocumentEdit, encoding: PositionEncoding) -> Vec<ls_types::TextEdit> {
    update
        .edits
        .into_iter()
        .map(|e| ls_types::TextEdit {
            range: range(&update.rope, e.range, encoding),
            new_text: e.new_text,
        })
        .collect()
}

/// The `WorkspaceEdit` for created files and document edits. With
/// [`EditShape::Changes`] created files are left out: the caller refuses
/// such an edit before it gets here.
pub(crate) fn workspace_edit(
    creates: Vec<NewFile>,
    updates: Vec<DocumentEdit>,
    shape: EditShape,
    encoding: PositionEncoding,
) -> WorkspaceEdit {
    match shape {
        EditShape::DocumentChanges => {
            let mut ops: Vec<DocumentChangeOperation> = Vec::new();
            for NewFile { uri, content } in creates {
                ops.push(DocumentChangeOperation::Op(ResourceOp::Create(
                    CreateFile {
                        uri: uri.clone(),
                        options: Some(CreateFileOptions {
                            overwrite: Some(false),
                            ignore_if_exists: Some(false),
                        }),
                        annotation_id: None,
                    },
                )));
                ops.push(DocumentChangeOperation::Edit(TextDocumentEdit {
                    text_document: OptionalVersionedTextDocumentIdentifier { uri, version: None },
                    edits: vec![OneOf::Left(ls_types::TextEdit {
                        range: ls_types::Range::new(Position::new(0, 0), Position::new(0, 0)),
                        new_text: content,
                    })],
                }));
            }
            for update in updates {
                let text_document = OptionalVersionedTextDocumentIdentifier {
                    uri: update.uri.clone(),
                    version: update.version,
                };
                let edits = text_edits(update, encoding);
                ops.push(DocumentChangeOperation::Edit(TextDocumentEdit {
                    text_document,
                    edits: edits.into_iter().map(OneOf::Left).collect(),
                }));
            }
            WorkspaceEdit {
                document_changes: Some(DocumentChanges::Operations(ops)),
                ..WorkspaceEdit::default()
            }
        }
        EditShape::Changes => {
            let mut map = HashMap::new();
            for update in updates {
                let uri = update.uri.clone();
                map.insert(uri, text_edits(update, encoding));
            }
            WorkspaceEdit {
                changes: Some(map),
                ..WorkspaceEdit::default()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(s: &str) -> Uri {
        match s.parse() {
            Ok(uri) => uri,
            Err(e) => panic!("test URI {s}: {e:?}"),
        }
    }

    /// A primary document edited at version 7 (a multi-byte line, so the
    /// encoding shows) and a second file that is not open.
    fn updates() -> Vec<DocumentEdit> {
        let primary = Rope::from_str("fn add() {\n    /* 😀 */ a+b\n}\n");
        let at = "fn add() {\n    /* 😀 */ a".len();
        vec![
            DocumentEdit {
                uri: uri("file:///w/src/lib.rs"),
                version: Some(7),
                rope: primary,
                edits: vec![TextEdit {
                    range: at..at + 1,
                    new_text: " + ".to_owned(),
                }],
            },
            DocumentEdit {
                uri: uri("file:///w/src/util.rs"),
                version: None,
                rope: Rope::from_str("pub fn one() {}\n"),
                edits: vec![TextEdit {
                    range: 0..0,
                    new_text: "// util\n".to_owned(),
                }],
            },
        ]
    }

    fn new_file() -> Vec<NewFile> {
        vec![NewFile {
            uri: uri("file:///w/src/new.rs"),
            content: "pub fn new() {}\n".to_owned(),
        }]
    }

    #[test]
    fn document_changes_with_a_created_file() {
        let edit = workspace_edit(
            new_file(),
            updates(),
            EditShape::DocumentChanges,
            PositionEncoding::Utf16,
        );
        insta::assert_json_snapshot!(edit);
    }

    #[test]
    fn document_changes_in_utf8() {
        let edit = workspace_edit(
            Vec::new(),
            updates(),
            EditShape::DocumentChanges,
            PositionEncoding::Utf8,
        );
        insta::assert_json_snapshot!(edit);
    }

    #[test]
    fn plain_changes_in_utf32() {
        let edit = workspace_edit(
            Vec::new(),
            updates(),
            EditShape::Changes,
            PositionEncoding::Utf32,
        );
        insta::assert_json_snapshot!(edit, {
            // `changes` is a map: sort its keys so the snapshot is stable.
            ".changes" => insta::sorted_redaction()
        });
    }
}
