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
use crate::failure::ActionError;
use crate::lsp::ext::RunActionArgs;
use crate::lsp::to_proto::{self, DocumentEdit, EditShape, NewFile};
use crate::model::ModelError;
use crate::progress::{DocumentGone, Job, JobInfo};
use crate::state::{KnownClient, OpenSnapshot, State};
use crate::text::TextEdit;
use crate::workspace::{DocumentKey, Refusal, WorkspacePolicy};

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
    // A fix targets the node around its diagnostic, whatever range the
    // client listed it for.
    let (range, at_cursor) = match (&args.diagnostic, action) {
        (Some(diagnostic), ActionKind::Fix) => (diagnostic.range, true),
        _ => (args.range, false),
    };
    let target = Target::new(
        state,
        &args.text_document.uri,
        range,
        args.version,
        at_cursor,
    )?;
    let prepared = prepare(state, target, action, instruction, args.diagnostic.as_ref()).await?;

    let features = state.features();
    let open = &prepared.target.open;
    let info = JobInfo {
        title: action.title().to_owned(),
        progress_title: features
            .work_done_progress
            .then(|| progress_title(action, features.client).to_owned()),
        document: Some(open.key.clone()),
    };
    let mut job = Job::begin(&state.jobs, &state.client, info).await;
    let cancel = job.cancellation();
    // Closed before the job was registered for its document, so closing
    // could not cancel it: it ends here, before the model call.
    if !still_open(state, open) {
        let err = gone(state, open);
        job.end(&err.user_message(), None).await;
        return Err(err);
    }
    let answer = match ask_model(state, &prepared, Some(&mut job), &cancel).await {
        Ok(answer) => answer,
        Err(err) => {
            // Cancelled because the document was closed (or replaced by a
            // new open): that is the outcome, not a cancellation by the
            // user.
            let err = match (err, job.document_gone()) {
                (ActionError::Model(ModelError::Cancelled), Some(DocumentGone::Closed)) => {
                    ActionError::Closed
                }
                (ActionError::Model(ModelError::Cancelled), Some(DocumentGone::Reopened)) => {
                    ActionError::Reopened
                }
                (other, _) => other,
            };
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

/// The title of an action's `$/progress`: a client that shows the
/// server's name before it (Helix: `codex: Simplify`) gets it without
/// "Codex".
fn progress_title(action: ActionKind, client: KnownClient) -> &'static str {
    if !client.names_server_in_progress() {
        return action.title();
    }
    match action {
        ActionKind::Rewrite => "Rewrite",
        ActionKind::Simplify => "Simplify",
        ActionKind::Document => "Add documentation",
        ActionKind::ErrorHandling => "Add error handling",
        ActionKind::Tests => "Generate tests",
        ActionKind::Fix => "Fix",
        ActionKind::Explain => "Explain",
    }
}

/// Whether the open the action works on is still open (not closed, not
/// replaced by a newer open).
fn still_open(state: &State, open: &OpenSnapshot) -> bool {
    state
        .with_generation(&open.key, open.generation, |_, _| ())
        .is_some()
}

/// Why an action's document is no longer the one it worked on.
fn gone(state: &State, open: &OpenSnapshot) -> ActionError {
    if state.open_snapshot(&open.key).is_some() {
        ActionError::Reopened
    } else {
        ActionError::Closed
    }
}

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
        let key = DocumentKey::file(path);
        let (text, read) = match self.state.open_snapshot(&key) {
            Some(open) => (open.snapshot.rope.to_string(), Read::Open(open)),
            None => match self.policy.read(path, self.cap) {
                Ok(read) if !read.truncated => (read.text.clone(), Read::Disk(read.text)),
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

fn edit_from_reply(
    state: &State,
    prepared: &Prepared,
    reply: &str,
) -> Result<WorkspaceEdit, ActionError> {
    let patch = assist::parse_patch(reply)?;
    let text = prepared.target.open.snapshot.rope.to_string();
    let sources = Sources {
        state,
        policy: &prepared.policy,
        cap: prepared.settings.max_file_bytes,
        read: Mutex::new(HashMap::new()),
        refused: Mutex::new(Vec::new()),
    };
    let planned = assist::plan_edits(
        &patch,
        (&prepared.path, &text),
        &sources,
        prepared.root.as_deref(),
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
