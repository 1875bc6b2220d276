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

use tower_lsp_server::ls_types::WorkspaceEdit;

use super::conversation::{self, Outcome};
use super::model_call::{Target, prepare};
use crate::assist::ActionKind;
use crate::failure::ActionError;
use crate::lsp::ext::RunActionArgs;
use crate::model::ModelError;
use crate::progress::Job;
use crate::state::State;

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
    let mut prepared = prepare(
        state,
        target.clone(),
        action,
        instruction,
        args.diagnostic.as_ref(),
    )
    .await?;

    let mut job = Job::begin(
        &state.jobs,
        &state.client,
        action.title(),
        state.features().work_done_progress,
    )
    .await;
    let cancel = job.cancellation();
    loop {
        match conversation::run(state, &prepared, &mut job, &cancel).await {
            Outcome::Edit(edit, usage) => {
                job.end("edit ready", Some(usage)).await;
                return Ok(edit);
            }
            Outcome::Failed(err, usage) => {
                let message = match &err {
                    ActionError::Model(ModelError::Cancelled) => "cancelled".to_owned(),
                    ActionError::Model(e) => e.user_message(),
                    other => other.user_message(),
                };
                job.end(&message, usage).await;
                return Err(err);
            }
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
