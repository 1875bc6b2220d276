//! Review before apply (setting `confirmEdits`).
//!
//! An edit that needs review is sent with `workspace/applyEdit` with every
//! change under one change annotation with `needsConfirmation: true`, a
//! label (the action's title) and a description (model, usage, size), so
//! the editor shows it before it applies (VS Code's refactor preview; the
//! Neovim plugin's diff window on 0.11). Only the command path can do it:
//! annotations on a resolved code action's edit are not honoured (VS
//! Code), and whether an edit needs review is known only once the model
//! answered. So with `confirmEdits` other than `never`, a client that
//! announces `changeAnnotationSupport` (with `documentChanges`) and
//! `workspace/applyEdit` gets the command path for every edit action.
//!
//! A client without annotation support cannot review: its edits apply
//! directly, and the first edit this session that would have been
//! reviewed says so once ([`UNREVIEWED`]).
//!
//! Size: the changed lines of an edit are counted over all its files; per
//! text edit, the larger of the lines its range spans and the lines of its
//! new text (a created file counts its lines).

use std::collections::HashSet;

use tower_lsp_server::ls_types::{
    self, ChangeAnnotation, DocumentChangeOperation, DocumentChanges, MessageType, OneOf,
    ResourceOp, WorkspaceEdit,
};

use super::edit::ProducedEdit;
use crate::config::{ConfirmEdits, Settings};
use crate::lsp::to_proto;
use crate::state::{ClientFeatures, State};

/// Shown (and answered) once when a reviewed edit comes back not applied:
/// the user rejected it in the review.
pub(crate) const REJECTED: &str = "Codex: edit not applied (rejected in review).";

/// Shown once per session, at the first edit that would have been
/// reviewed in an editor that cannot review edits.
pub(crate) const UNREVIEWED: &str = "Codex: this editor cannot show an edit for review before it applies (it does not announce workspace.workspaceEdit.changeAnnotationSupport with documentChanges), so Codex edits apply directly (undo reverts them). Set codex.confirmEdits to \"never\" to silence this.";

/// How many files and changed lines an edit has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct EditSize {
    pub(crate) files: usize,
    pub(crate) lines: u64,
}

/// The changed lines of one document's text edits: the lines of the old
/// text they touch (counted once however many edits touch a line, as a
/// minimal diff splits one changed line into several edits), plus the
/// lines they add. A pure insertion at a line's start touches no old line.
fn document_lines<'a>(edits: impl Iterator<Item = &'a ls_types::TextEdit>) -> u64 {
    let mut touched: Vec<(u32, u32)> = Vec::new();
    let mut added: i64 = 0;
    for edit in edits {
        let (start, end) = (edit.range.start, edit.range.end);
        let new_lines = edit.new_text.matches('\n').count() as i64;
        added += new_lines - i64::from(end.line.saturating_sub(start.line));
        let last = if end.character > 0 || (start == end && start.character > 0) {
            Some(end.line)
        } else {
            end.line.checked_sub(1)
        };
        match last {
            Some(last) if last >= start.line && (start != end || start.character > 0) => {
                touched.push((start.line, last));
            }
            // An insertion at a line's start that does not end with a
            // newline changes that line too.
            _ if start == end && !edit.new_text.is_empty() && !edit.new_text.ends_with('\n') => {
                touched.push((start.line, start.line));
            }
            _ => {}
        }
    }
    touched.sort_unstable();
    let mut lines = 0u64;
    let mut current: Option<(u32, u32)> = None;
    for (first, last) in touched {
        current = match current {
            Some((a, b)) if first <= b => Some((a, b.max(last))),
            Some((a, b)) => {
                lines += u64::from(b - a) + 1;
                Some((first, last))
            }
            None => Some((first, last)),
        };
    }
    if let Some((a, b)) = current {
        lines += u64::from(b - a) + 1;
    }
    lines + u64::try_from(added.max(0)).unwrap_or(0)
}

impl EditSize {
    /// The size of a protocol edit, in either shape.
    pub(crate) fn of(edit: &WorkspaceEdit) -> Self {
        let mut files: HashSet<&str> = HashSet::new();
        let mut lines = 0u64;
        let text_document_edit = |doc: &'_ ls_types::TextDocumentEdit| {
            document_lines(doc.edits.iter().map(|e| match e {
                OneOf::Left(e) => e,
                OneOf::Right(a) => &a.text_edit,
            }))
        };
        match &edit.document_changes {
            Some(DocumentChanges::Edits(docs)) => {
                for doc in docs {
                    files.insert(doc.text_document.uri.as_str());
                    lines += text_document_edit(doc);
                }
            }
            Some(DocumentChanges::Operations(ops)) => {
                for op in ops {
                    match op {
                        DocumentChangeOperation::Edit(doc) => {
                            files.insert(doc.text_document.uri.as_str());
                            lines += text_document_edit(doc);
                        }
                        DocumentChangeOperation::Op(ResourceOp::Create(c)) => {
                            files.insert(c.uri.as_str());
                        }
                        DocumentChangeOperation::Op(ResourceOp::Rename(r)) => {
                            files.insert(r.old_uri.as_str());
                        }
                        DocumentChangeOperation::Op(ResourceOp::Delete(d)) => {
                            files.insert(d.uri.as_str());
                        }
                    }
                }
            }
            None => {}
        }
        for (uri, edits) in edit.changes.iter().flatten() {
            files.insert(uri.as_str());
            lines += document_lines(edits.iter());
        }
        Self {
            files: files.len(),
            lines,
        }
    }

    /// "2 files, 57 changed lines".
    fn describe(self) -> String {
        let plural =
            |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        format!(
            "{}, {}",
            plural(self.files as u64, "file", "files"),
            plural(self.lines, "changed line", "changed lines")
        )
    }
}

/// Whether an edit of this size is reviewed under these settings.
pub(crate) fn needs_review(settings: &Settings, size: EditSize) -> bool {
    match settings.confirm_edits {
        ConfirmEdits::Never => false,
        ConfirmEdits::Always => size.files > 0,
        ConfirmEdits::Auto => {
            size.files > 1 || size.lines > u64::from(settings.confirm_above_lines)
        }
    }
}

/// Whether the client can review edits the server sends it.
fn can_review(features: &ClientFeatures) -> bool {
    features.change_annotations && features.apply_edit
}

/// Whether listed edit actions take the command path so the server can
/// decide on review once the model answered (see the module docs).
pub(crate) fn wants_command_path(features: &ClientFeatures, settings: &Settings) -> bool {
    settings.confirm_edits != ConfirmEdits::Never && can_review(features)
}

/// The description of a reviewed edit: model, cost and tokens (as the
/// progress end shows them), size.
fn description(produced: &ProducedEdit, size: EditSize) -> String {
    format!(
        "{} · {} · {}",
        produced.model,
        produced.usage.summary(),
        size.describe()
    )
}

/// How an edit produced on the command path is sent.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Delivery {
    /// Applied as it is.
    Direct(WorkspaceEdit),
    /// Annotated for review.
    Review(WorkspaceEdit),
    /// It needs review the client cannot give: applied as it is, and
    /// [`UNREVIEWED`] is said once.
    Unreviewable(WorkspaceEdit),
}

impl Delivery {
    pub(crate) fn into_edit(self) -> WorkspaceEdit {
        match self {
            Self::Direct(edit) | Self::Review(edit) | Self::Unreviewable(edit) => edit,
        }
    }
}

/// Decides how an edit is sent, annotating it when it is reviewed.
pub(crate) fn delivery(
    features: &ClientFeatures,
    settings: &Settings,
    produced: ProducedEdit,
) -> Delivery {
    let size = EditSize::of(&produced.edit);
    if !needs_review(settings, size) {
        return Delivery::Direct(produced.edit);
    }
    if !can_review(features) {
        return Delivery::Unreviewable(produced.edit);
    }
    let annotation = ChangeAnnotation {
        label: produced.action.title().trim_end_matches('…').to_owned(),
        needs_confirmation: Some(true),
        description: Some(description(&produced, size)),
    };
    match to_proto::annotate(produced.edit.clone(), annotation) {
        Some(annotated) => Delivery::Review(annotated),
        None => Delivery::Unreviewable(produced.edit),
    }
}

/// Says [`UNREVIEWED`], the first time this session.
pub(crate) async fn say_unreviewed(state: &State) {
    if state.first_time("unreviewed edits") {
        state
            .client
            .show_message(MessageType::INFO, UNREVIEWED)
            .await;
    }
}

/// On the resolve path (the client applies the returned edit itself): says
/// [`UNREVIEWED`] once when the edit would have been reviewed.
pub(crate) async fn note_resolved(state: &State, edit: &WorkspaceEdit) {
    if needs_review(&state.settings(), EditSize::of(edit)) {
        say_unreviewed(state).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower_lsp_server::ls_types::{Position, Range, TextEdit};

    fn edit(start: (u32, u32), end: (u32, u32), text: &str) -> TextEdit {
        TextEdit {
            range: Range::new(Position::new(start.0, start.1), Position::new(end.0, end.1)),
            new_text: text.to_owned(),
        }
    }

    #[test]
    fn changed_lines_count_touched_lines_once_and_added_lines() {
        let lines = |edits: &[TextEdit]| document_lines(edits.iter());
        // Within one line.
        assert_eq!(lines(&[edit((1, 4), (1, 9), "x + y")]), 1);
        // Two edits on one line (a minimal diff of one changed line).
        assert_eq!(
            lines(&[edit((4, 11), (4, 13), "de"), edit((4, 20), (4, 22), "de")]),
            1
        );
        // An insertion of two lines at a line's start.
        assert_eq!(lines(&[edit((0, 0), (0, 0), "a\nb\n")]), 2);
        // A line break inserted mid-line: that line and a new one.
        assert_eq!(lines(&[edit((1, 2), (1, 2), "x\ny")]), 2);
        // Text inserted at a line's start, no newline: that line.
        assert_eq!(lines(&[edit((1, 0), (1, 0), "// ")]), 1);
        // A deletion of three whole lines.
        assert_eq!(lines(&[edit((2, 0), (5, 0), "")]), 3);
        // Three lines become one.
        assert_eq!(lines(&[edit((2, 0), (4, 3), "z")]), 3);
        // One line becomes three.
        assert_eq!(lines(&[edit((1, 0), (2, 0), "a\nb\nc\n")]), 3);
        assert_eq!(lines(&[edit((0, 0), (0, 0), "")]), 0);
    }

    fn settings(mode: ConfirmEdits, above: u32) -> Settings {
        Settings {
            confirm_edits: mode,
            confirm_above_lines: above,
            ..Settings::default()
        }
    }

    #[test]
    fn auto_reviews_multi_file_and_large_edits() {
        let size = |files, lines| EditSize { files, lines };
        let auto = settings(ConfirmEdits::Auto, 40);
        assert!(!needs_review(&auto, size(1, 40)));
        assert!(needs_review(&auto, size(1, 41)));
        assert!(needs_review(&auto, size(2, 2)));
        let always = settings(ConfirmEdits::Always, 40);
        assert!(needs_review(&always, size(1, 1)));
        assert!(!needs_review(&always, size(0, 0)));
        let never = settings(ConfirmEdits::Never, 40);
        assert!(!needs_review(&never, size(5, 500)));
    }

    #[test]
    fn sizes_count_files_across_shapes() {
        let uri = |s: &str| s.parse::<ls_types::Uri>().ok();
        let (Some(a), Some(b)) = (uri("file:///w/a.rs"), uri("file:///w/b.rs")) else {
            panic!("test URIs");
        };
        let changes = WorkspaceEdit {
            changes: Some(
                [
                    (
                        a,
                        vec![edit((0, 0), (0, 0), "x\n"), edit((3, 0), (3, 2), "y")],
                    ),
                    (b, vec![edit((0, 0), (2, 0), "")]),
                ]
                .into_iter()
                .collect(),
            ),
            ..WorkspaceEdit::default()
        };
        assert_eq!(EditSize::of(&changes), EditSize { files: 2, lines: 4 });
        assert_eq!(
            EditSize { files: 2, lines: 4 }.describe(),
            "2 files, 4 changed lines"
        );
        assert_eq!(
            EditSize { files: 1, lines: 1 }.describe(),
            "1 file, 1 changed line"
        );
    }
}
