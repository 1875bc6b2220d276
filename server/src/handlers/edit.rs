//! The edit pipeline: runs one Codex edit action end to end and returns its
//! `WorkspaceEdit` (not yet applied). `codeAction/resolve` and
//! `codex.runAction` both call [`run`].
//!
//! snapshot and region ([`Target`]) → prompt ([`prepare`]) → model call
//! with progress ([`ask_model`]) → patch → minimal edits on the snapshot
//! (`assist::plan_edits`) → rebase onto the current text under the
//! document's guard → `WorkspaceEdit` in the client's shape
//! (`to_proto::workspace_edit`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ropey::Rope;
use tower_lsp_server::ls_types::{Uri, WorkspaceEdit};

use super::model_call::{Prepared, Target, ask_model, prepare};
use crate::assist::{self, ActionKind, FileChange, FileChangeKind, FileSource};
use crate::document::Snapshot;
use crate::failure::ActionError;
use crate::lsp::ext::RunActionArgs;
use crate::lsp::to_proto::{self, DocumentEdit, EditShape, NewFile};
use crate::model::ModelError;
use crate::progress::Job;
use crate::state::State;
use crate::text::TextEdit;

/// Checks the arguments, then runs the action with progress (whose end
/// reports what the call cost). Returns the edit, not yet applied.
pub(crate) async fn run(state: &State, args: &RunActionArgs) -> Result<WorkspaceEdit, ActionError> {
    let action = args.action;
    if !action.produces_edits() {
        return Err(ActionError::BadArguments(format!(
            "`{}` is not an edit action",
            action.id()
        )));
    }
    let instruction = args
        .instruction
        .as_deref()
        .map(str::trim)
        .filter(|i| !i.is_empty());
    if action.needs_instruction() && instruction.is_none() {
        return Err(ActionError::BadArguments(
            "a rewrite needs an `instruction`".to_owned(),
        ));
    }
    if action == ActionKind::Fix && args.diagnostic.is_none() {
        return Err(ActionError::BadArguments(
            "a fix needs the `diagnostic`".to_owned(),
        ));
    }
    let target = Target::new(state, &args.text_document.uri, args.range)?;
    let prepared = prepare(state, target, action, instruction, args.diagnostic.as_ref()).await?;

    let mut job = Job::begin(
        &state.jobs,
        &state.client,
        action.title(),
        state.features().work_done_progress,
    )
    .await;
    let cancel = job.cancellation();
    let answer = match ask_model(state, &prepared, Some(&mut job), &cancel).await {
        Ok(answer) => answer,
        Err(err) => {
            let message = match &err {
                ActionError::Model(ModelError::Cancelled) => "cancelled".to_owned(),
                ActionError::Model(e) => e.user_message(),
                other => other.user_message(),
            };
            job.end(&message, None).await;
            return Err(err);
        }
    };
    let result = edit_from_reply(state, &prepared, &answer.text);
    let outcome_message = match &result {
        Ok(_) => "edit ready".to_owned(),
        Err(e) => e.user_message(),
    };
    job.end(&outcome_message, Some(answer.usage)).await;
    result
}

/// Reads other files for the patch planner: open documents first (their
/// snapshot is remembered, so their edits are rebased like the target's),
/// then disk.
struct Sources<'a> {
    state: &'a State,
    read: Mutex<HashMap<PathBuf, (Uri, Snapshot)>>,
}

impl FileSource for Sources<'_> {
    fn read(&self, path: &Path) -> Option<String> {
        let uri = Uri::from_file_path(path)?;
        match self.state.snapshot(&uri) {
            Some(snapshot) => {
                let text = snapshot.rope.to_string();
                if let Ok(mut read) = self.read.lock() {
                    read.insert(path.to_path_buf(), (uri, snapshot));
                }
                Some(text)
            }
            None => std::fs::read_to_string(path).ok(),
        }
    }
}

fn edit_from_reply(
    state: &State,
    prepared: &Prepared,
    reply: &str,
) -> Result<WorkspaceEdit, ActionError> {
    let patch = assist::parse_patch(reply)?;
    let text = prepared.target.snapshot.rope.to_string();
    let sources = Sources {
        state,
        read: Mutex::new(HashMap::new()),
    };
    let changes = assist::plan_edits(
        &patch,
        (&prepared.path, &text),
        &sources,
        prepared.root.as_deref(),
    )?;
    let read = sources.read.into_inner().unwrap_or_default();
    build_workspace_edit(state, prepared, &read, changes)
}

/// Rebases `edits` (computed on `snapshot`) onto the open document's
/// current text; the version and rope come from the same guard, so the
/// edit's positions and version always agree.
fn rebase_open(
    state: &State,
    uri: &Uri,
    snapshot: &Snapshot,
    edits: &[TextEdit],
) -> Result<DocumentEdit, ActionError> {
    state
        .with_document(uri, |doc| {
            let since = doc
                .changes_since(snapshot.revision)
                .ok_or(ActionError::HistoryLost)?;
            let edits = assist::rebase(edits, &since)?;
            Ok(DocumentEdit {
                uri: uri.clone(),
                version: Some(doc.version()),
                rope: doc.rope().clone(),
                edits,
            })
        })
        .ok_or(ActionError::Closed)?
}

fn build_workspace_edit(
    state: &State,
    prepared: &Prepared,
    read: &HashMap<PathBuf, (Uri, Snapshot)>,
    changes: Vec<FileChange>,
) -> Result<WorkspaceEdit, ActionError> {
    let features = state.features();
    let mut updates: Vec<DocumentEdit> = Vec::new();
    let mut creates: Vec<NewFile> = Vec::new();
    for change in changes {
        match change.kind {
            FileChangeKind::Update { edits } if edits.is_empty() => {}
            FileChangeKind::Update { edits } => {
                let target = &prepared.target;
                if change.path == prepared.path {
                    updates.push(rebase_open(state, &target.uri, &target.snapshot, &edits)?);
                } else if let Some((uri, snapshot)) = read.get(&change.path) {
                    updates.push(rebase_open(state, uri, snapshot, &edits)?);
                } else {
                    let uri = Uri::from_file_path(&change.path).ok_or_else(|| {
                        ActionError::BadArguments(format!("bad path {}", change.path.display()))
                    })?;
                    let text = std::fs::read_to_string(&change.path).unwrap_or_default();
                    updates.push(DocumentEdit {
                        uri,
                        version: None,
                        rope: Rope::from_str(&text),
                        edits,
                    });
                }
            }
            FileChangeKind::Create { content } => {
                let display = change.path.display().to_string();
                if !(features.document_changes && features.create_files) {
                    return Err(ActionError::CannotCreate(display));
                }
                let uri =
                    Uri::from_file_path(&change.path).ok_or(ActionError::CannotCreate(display))?;
                creates.push(NewFile { uri, content });
            }
        }
    }
    if updates.is_empty() && creates.is_empty() {
        return Err(ActionError::NoChange);
    }
    let shape = if features.document_changes {
        EditShape::DocumentChanges
    } else {
        EditShape::Changes
    };
    Ok(to_proto::workspace_edit(
        creates,
        updates,
        shape,
        state.encoding(),
    ))
}
