//! From the model's patch to the `WorkspaceEdit` the client applies: the
//! patch is planned against the snapshot the model saw (other files read
//! through the workspace policy, open documents from the editor), every
//! file it touches crosses the policy's write check, and each document's
//! edits are rebased onto its current text under the document's guard.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ropey::Rope;
use tower_lsp_server::ls_types::{Uri, WorkspaceEdit};

use super::model_call::Prepared;
use crate::assist::{self, FileChange, FileChangeKind, FileSource};
use crate::failure::ActionError;
use crate::lsp::to_proto::{self, DocumentEdit, EditShape, NewFile};
use crate::state::{OpenSnapshot, State};
use crate::text::TextEdit;
use crate::workspace::{DocumentKey, Refusal, WorkspacePolicy};

/// What the patch planner read for a file other than the target: an open
/// document (its edit is rebased like the target's) or the file on disk
/// (its edit is converted against exactly the text that was read).
enum Read {
    Open(OpenSnapshot),
    Disk(String),
}

/// Reads other files for the patch planner through the workspace policy:
/// open documents by identity (however their URI is spelled) first, then
/// the disk (regular files inside the folders, bounded).
struct Sources<'a> {
    state: &'a State,
    policy: &'a WorkspacePolicy,
    cap: u64,
    read: Mutex<HashMap<PathBuf, Read>>,
    /// Why reads were refused, so the user hears the reason rather than
    /// "does not exist".
    refused: Mutex<Vec<Refusal>>,
}

impl FileSource for Sources<'_> {
    fn read(&self, path: &Path) -> Option<String> {
        self.read_rope(path).map(|rope| rope.to_string())
    }

    fn read_rope(&self, path: &Path) -> Option<Rope> {
        let key = DocumentKey::file(path);
        let (text, read) = match self.state.open_snapshot(&key) {
            Some(open) => (open.snapshot.rope.clone(), Read::Open(open)),
            None => match self.policy.read(path, self.cap) {
                Ok(read) if !read.truncated => (Rope::from_str(&read.text), Read::Disk(read.text)),
                Ok(_) => return None,
                Err(refusal) => {
                    tracing::debug!(%refusal, "patch planner read refused");
                    if let Ok(mut refused) = self.refused.lock() {
                        refused.push(refusal);
                    }
                    return None;
                }
            },
        };
        if let Ok(mut map) = self.read.lock() {
            map.insert(path.to_path_buf(), read);
        }
        Some(text)
    }
}

pub(crate) fn edit_from_reply(
    state: &State,
    prepared: &Prepared,
    reply: &str,
) -> Result<WorkspaceEdit, ActionError> {
    let patch = assist::parse_patch(reply)?;
    let sources = Sources {
        state,
        policy: &prepared.policy,
        cap: prepared.settings.max_file_bytes,
        read: Mutex::new(HashMap::new()),
        refused: Mutex::new(Vec::new()),
    };
    let planned = assist::plan_edits_with(
        &patch,
        (&prepared.path, &prepared.target.open.snapshot.rope),
        &sources,
        prepared.root.as_deref(),
        assist::Windowing::Auto,
    );
    let changes = match planned {
        Ok(changes) => changes,
        Err(err) => {
            let refused = sources.refused.into_inner().unwrap_or_default();
            return Err(match refused.into_iter().next() {
                Some(refusal) => refusal.into(),
                None => err.into(),
            });
        }
    };
    // Every file the patch touches crosses the policy, the target included:
    // the model's word that it "only changes the current file" is not a check.
    for change in &changes {
        prepared.policy.check_write(&change.path, &prepared.path)?;
    }
    let read = sources.read.into_inner().unwrap_or_default();
    build_workspace_edit(state, prepared, read, changes)
}

/// Rebases `edits` (computed on `open`'s snapshot) onto the document's
/// current text, if it is still the same open of it; the version and rope
/// come from the same guard, so the edit's positions and version agree.
///
/// `guards` widen each edit to the lines its hunk rewrote, so typing on
/// such a line is a conflict even where the minimal edit is elsewhere on it.
fn rebase_open(
    state: &State,
    open: &OpenSnapshot,
    edits: &[TextEdit],
    guards: &[std::ops::Range<usize>],
) -> Result<DocumentEdit, ActionError> {
    let rebased = state.with_generation(&open.key, open.generation, |uri, doc| {
        let since = doc
            .changes_since(open.snapshot.revision)
            .ok_or(ActionError::HistoryLost)?;
        let edits = assist::rebase_guarded(edits, guards, &since)?;
        Ok(DocumentEdit {
            uri: uri.clone(),
            version: Some(doc.version()),
            rope: doc.rope().clone(),
            edits,
        })
    });
    match rebased {
        Some(result) => result,
        None => Err(gone(state, open)),
    }
}

fn build_workspace_edit(
    state: &State,
    prepared: &Prepared,
    mut read: HashMap<PathBuf, Read>,
    changes: Vec<FileChange>,
) -> Result<WorkspaceEdit, ActionError> {
    let features = state.features();
    let mut updates: Vec<DocumentEdit> = Vec::new();
    let mut creates: Vec<NewFile> = Vec::new();
    for change in changes {
        match change.kind {
            FileChangeKind::Update { edits } if edits.is_empty() => {}
            FileChangeKind::Update { edits } => {
                let guards = &change.guards;
                if change.path == prepared.path {
                    updates.push(rebase_open(state, &prepared.target.open, &edits, guards)?);
                    continue;
                }
                match read.remove(&change.path) {
                    Some(Read::Open(open)) => {
                        updates.push(rebase_open(state, &open, &edits, guards)?)
                    }
                    Some(Read::Disk(text)) => {
                        let uri = Uri::from_file_path(&change.path).ok_or_else(|| {
                            ActionError::BadArguments(format!("bad path {}", change.path.display()))
                        })?;
                        updates.push(DocumentEdit {
                            uri,
                            version: None,
                            rope: Rope::from_str(&text),
                            edits,
                        });
                    }
                    // The planner updates only files it read.
                    None => return Err(ActionError::NoChange),
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

/// Why an action's document is no longer the one it worked on.
pub(crate) fn gone(state: &State, open: &OpenSnapshot) -> ActionError {
    if state.open_snapshot(&open.key).is_some() {
        ActionError::Reopened
    } else {
        ActionError::Closed
    }
}
