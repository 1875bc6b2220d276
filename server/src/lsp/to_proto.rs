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

// --- Review before apply (setting `confirmEdits`) ---

/// The id of the one change annotation a reviewed edit carries.
pub(crate) const REVIEW_ANNOTATION_ID: &str = "codex-review";

/// `edit` with every change under one annotation: each text edit becomes an
/// `AnnotatedTextEdit`, each file creation names it, and the annotation is
/// declared in `changeAnnotations`. `None` for an edit in the plain
/// `changes` shape, whose text edits cannot carry an annotation.
pub(crate) fn annotate(
    edit: WorkspaceEdit,
    annotation: ls_types::ChangeAnnotation,
) -> Option<WorkspaceEdit> {
    let id = REVIEW_ANNOTATION_ID.to_owned();
    let annotate_edits = |doc: TextDocumentEdit| TextDocumentEdit {
        text_document: doc.text_document,
        edits: doc
            .edits
            .into_iter()
            .map(|e| match e {
                OneOf::Left(text_edit) => OneOf::Right(ls_types::AnnotatedTextEdit {
                    text_edit,
                    annotation_id: id.clone(),
                }),
                OneOf::Right(annotated) => OneOf::Right(ls_types::AnnotatedTextEdit {
                    annotation_id: id.clone(),
                    ..annotated
                }),
            })
            .collect(),
    };
    let changes = match edit.document_changes? {
        DocumentChanges::Edits(docs) => {
            DocumentChanges::Edits(docs.into_iter().map(annotate_edits).collect())
        }
        DocumentChanges::Operations(ops) => DocumentChanges::Operations(
            ops.into_iter()
                .map(|op| match op {
                    DocumentChangeOperation::Edit(doc) => {
                        DocumentChangeOperation::Edit(annotate_edits(doc))
                    }
                    DocumentChangeOperation::Op(ResourceOp::Create(create)) => {
                        DocumentChangeOperation::Op(ResourceOp::Create(CreateFile {
                            annotation_id: Some(id.clone()),
                            ..create
                        }))
                    }
                    DocumentChangeOperation::Op(ResourceOp::Rename(rename)) => {
                        DocumentChangeOperation::Op(ResourceOp::Rename(ls_types::RenameFile {
                            annotation_id: Some(id.clone()),
                            ..rename
                        }))
                    }
                    DocumentChangeOperation::Op(ResourceOp::Delete(delete)) => {
                        DocumentChangeOperation::Op(ResourceOp::Delete(ls_types::DeleteFile {
                            annotation_id: Some(id.clone()),
                            ..delete
                        }))
                    }
                })
                .collect(),
        ),
    };
    Some(WorkspaceEdit {
        changes: None,
        document_changes: Some(changes),
        change_annotations: Some(HashMap::from([(id.clone(), annotation)])),
    })
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
    fn an_annotated_edit_names_the_annotation_on_every_change() {
        let edit = workspace_edit(
            new_file(),
            updates(),
            EditShape::DocumentChanges,
            PositionEncoding::Utf16,
        );
        let annotation = ls_types::ChangeAnnotation {
            label: "Codex: Simplify".to_owned(),
            needs_confirmation: Some(true),
            description: Some("gpt-5.2-codex".to_owned()),
        };
        let annotated = annotate(edit, annotation);
        insta::assert_json_snapshot!(annotated);
        let plain = workspace_edit(
            Vec::new(),
            updates(),
            EditShape::Changes,
            PositionEncoding::Utf16,
        );
        let label = ls_types::ChangeAnnotation {
            label: "x".to_owned(),
            needs_confirmation: Some(true),
            description: None,
        };
        assert_eq!(annotate(plain, label), None);
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
