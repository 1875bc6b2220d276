//! The edit pipeline: runs one Codex edit action end to end and returns its
//! `WorkspaceEdit` (not yet applied). `codeAction/resolve` and
//! `codex.runAction` both call [`run`].
//!
//! snapshot and region ([`Target`]) → prompt ([`prepare`]) → the edit loop
//! with progress (`conversation::run`: model turns, read-only tools, the
//! patch, repairs) → minimal edits on the snapshot, rebased onto the
//! current text (`patch_edit::edit_from_reply`) → `WorkspaceEdit` in the
//! client's shape. A server that rejects the edit tools gets the prompt
//! again for the next simpler mode, once per session.

use tokio_util::sync::CancellationToken;
use tower_lsp_server::ls_types::{Range, WorkspaceEdit};

use super::conversation::{self, History, Outcome};
use super::model_call::{Prepared, Target, prepare};
use super::patch_edit;
use crate::assist::ActionKind;
use crate::conversations::Saved;
use crate::failure::ActionError;
use crate::lsp::ext::{RunActionArgs, UsageReport};
use crate::model::ModelError;
use crate::progress::{DocumentGone, Job, JobInfo};
use crate::state::{KnownClient, OpenSnapshot, State};

/// An edit the model produced, not yet applied, with what it cost (for a
/// review's description: see `handlers::confirm`).
#[derive(Debug, Clone)]
pub(crate) struct ProducedEdit {
    pub(crate) edit: WorkspaceEdit,
    /// The action that made it (a refine: the action it continues).
    pub(crate) action: ActionKind,
    /// The model that made it.
    pub(crate) model: String,
    /// What all its requests used together.
    pub(crate) usage: UsageReport,
}

/// Checks the arguments, then runs the action with progress (whose end
/// reports what the call cost). Returns the edit, not yet applied.
pub(crate) async fn run(state: &State, args: &RunActionArgs) -> Result<WorkspaceEdit, ActionError> {
    run_reporting(state, args)
        .await
        .map(|produced| produced.edit)
}

/// [`run`], returning the edit with the model and usage behind it.
pub(crate) async fn run_reporting(
    state: &State,
    args: &RunActionArgs,
) -> Result<ProducedEdit, ActionError> {
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
    let mut prepared = prepare(
        state,
        target.clone(),
        action,
        instruction,
        args.diagnostic.as_ref(),
    )
    .await?;

    let (mut job, cancel) = begin(state, action, &prepared).await?;
    loop {
        match conversation::run(state, &prepared, &mut job, &cancel).await {
            Outcome::Edit(edit, usage, history) => {
                job.end("edit ready", Some(usage.clone())).await;
                save(state, &prepared, range, history);
                return Ok(ProducedEdit {
                    edit,
                    action,
                    model: prepared.settings.model.trim().to_owned(),
                    usage,
                });
            }
            Outcome::Failed(err, usage) => return Err(failed(job, err, usage).await),
            Outcome::Rejected { simpler, reason } => {
                // Once per session and server: the prompt is made again for
                // the simpler mode, whose instructions differ.
                tracing::warn!(
                    from = ?prepared.settings.edit_tool(),
                    to = ?simpler,
                    %reason,
                    "the server rejected the edit tools; falling back"
                );
                state.fall_back_to(&prepared.settings, simpler);
                prepared = prepare(
                    state,
                    target.clone(),
                    action,
                    instruction,
                    args.diagnostic.as_ref(),
                )
                .await?;
            }
        }
    }
}

/// Starts the progress of an edit action (whose end reports what the
/// calls cost) and its cancellation; refused when the document was closed
/// before the job was registered for it (closing could not cancel it).
pub(crate) async fn begin(
    state: &State,
    action: ActionKind,
    prepared: &Prepared,
) -> Result<(Job, CancellationToken), ActionError> {
    let features = state.features();
    let info = JobInfo {
        title: action.title().to_owned(),
        progress_title: features
            .work_done_progress
            .then(|| progress_title(action, features.client).to_owned()),
        document: Some(prepared.target.open.key.clone()),
    };
    let job = Job::begin(&state.jobs, &state.client, info).await;
    let cancel = job.cancellation();
    if !still_open(state, &prepared.target.open) {
        let err = patch_edit::gone(state, &prepared.target.open);
        job.end(&err.user_message(), None).await;
        return Err(err);
    }
    Ok((job, cancel))
}

/// Ends the progress of a failed action with its reason and returns the
/// error to report.
pub(crate) async fn failed(job: Job, err: ActionError, usage: Option<UsageReport>) -> ActionError {
    // Cancelled because the document was closed (or replaced by a new
    // open): that is the outcome, not a cancellation by the user.
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
    job.end(&message, usage).await;
    err
}

/// Keeps the finished conversation for `codex.refine` on its document
/// (unless refining is off).
pub(crate) fn save(state: &State, prepared: &Prepared, range: Range, history: History) {
    if prepared.settings.refine_ttl_minutes == 0 {
        return;
    }
    let open = &prepared.target.open;
    state.conversations().save(
        open.key.clone(),
        Saved::new(
            open.generation,
            prepared.action,
            range,
            history.mode,
            history.input,
            history.pending,
        ),
    );
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
