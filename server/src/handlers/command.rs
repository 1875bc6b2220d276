//! `workspace/executeCommand`: `codex.runAction` (run an action and apply
//! its edit with `workspace/applyEdit`) and `codex.explain` (whose views,
//! temporary Markdown files, are removed when their document closes and
//! when the server stops).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

use serde_json::Value;
use tower_lsp_server::jsonrpc::{Error, ErrorCode, Result};
use tower_lsp_server::ls_types::{
    ApplyWorkspaceEditResponse, ExecuteCommandParams, MessageType, ShowDocumentParams, Uri,
};

use super::edit::ProducedEdit;
use super::explain::{self, ExplainMode};
use super::{confirm, edit, refine};
use crate::conversations::Delivery;
use crate::failure::ActionError;
use crate::lsp::ext::{
    self, ExplainArgs, ExplainResult, RefineArgs, RunActionArgs, RunActionResult,
};
use crate::lsp::from_proto;
use crate::state::State;

fn invalid_params(message: impl Into<String>) -> Error {
    Error {
        code: ErrorCode::InvalidParams,
        message: message.into().into(),
        data: None,
    }
}

fn single_argument<T: serde::de::DeserializeOwned>(
    params: &ExecuteCommandParams,
    usage: &str,
) -> Result<T> {
    let first = params.arguments.first().cloned().unwrap_or(Value::Null);
    serde_json::from_value(first)
        .map_err(|e| invalid_params(format!("{}: {e}. Usage: {usage}", params.command)))
}

fn to_value<T: serde::Serialize>(result: &T) -> Result<Option<Value>> {
    serde_json::to_value(result)
        .map(Some)
        .map_err(|_| Error::internal_error())
}

/// Dispatches a command.
pub(crate) async fn execute(state: &State, params: ExecuteCommandParams) -> Result<Option<Value>> {
    match params.command.as_str() {
        ext::RUN_ACTION_COMMAND => {
            let args: RunActionArgs = single_argument(
                &params,
                "one object {action, textDocument, range, instruction?, diagnostic?}",
            )?;
            to_value(&run_action(state, args).await?)
        }
        ext::REFINE_COMMAND => {
            let args: RefineArgs =
                single_argument(&params, "one object {textDocument, instruction}")?;
            to_value(&refine(state, args).await?)
        }
        ext::EXPLAIN_COMMAND => {
            let args: ExplainArgs = single_argument(&params, "one object {textDocument, range}")?;
            to_value(&explain(state, args).await)
        }
        other => Err(invalid_params(format!("unknown command `{other}`"))),
    }
}

/// Why `codex.runAction` is refused, before the model is asked, for a
/// client that cannot apply edits.
const NO_APPLY_EDIT: &str = "Codex: this editor does not support workspace/applyEdit, so codex.runAction cannot apply an edit; nothing was sent to the model.";

async fn run_action(state: &State, args: RunActionArgs) -> Result<RunActionResult> {
    if let Some(refused) = refuse_without_apply_edit(state).await {
        return Ok(refused);
    }
    let result = edit::run_reporting(state, &args).await;
    deliver(state, &args.text_document.uri, result).await
}

/// `codex.refine`: continues the document's last edit conversation and
/// applies the new edit like `codex.runAction`.
async fn refine(state: &State, args: RefineArgs) -> Result<RunActionResult> {
    if let Some(refused) = refuse_without_apply_edit(state).await {
        return Ok(refused);
    }
    let result = refine::run(state, &args).await;
    deliver(state, &args.text_document.uri, result).await
}

/// Refuses an edit command before the model call the user would pay for in
/// vain, for a client that cannot apply edits (said once per call).
async fn refuse_without_apply_edit(state: &State) -> Option<RunActionResult> {
    if state.features().apply_edit {
        return None;
    }
    state
        .client
        .show_message(MessageType::WARNING, NO_APPLY_EDIT)
        .await;
    Some(RunActionResult {
        applied: false,
        message: Some(NO_APPLY_EDIT.to_owned()),
    })
}

/// Applies an action's edit with `workspace/applyEdit` (or shows why there
/// is none), for review where `confirmEdits` asks for it, and records, for
/// a later refine, whether it was applied.
async fn deliver(
    state: &State,
    uri: &Uri,
    result: std::result::Result<ProducedEdit, ActionError>,
) -> Result<RunActionResult> {
    let not_applied = |message| RunActionResult {
        applied: false,
        message: Some(message),
    };
    let produced = match result {
        Ok(produced) => produced,
        Err(ActionError::BadArguments(message)) => return Err(invalid_params(message)),
        Err(e) if e.is_cancelled() => return Err(Error::request_cancelled()),
        Err(e) => return Ok(not_applied(show_failure(state, &e).await)),
    };
    // Review before apply (`confirmEdits`): annotated for review, or not.
    let delivery = confirm::delivery(&state.features(), &state.settings(), produced);
    let reviewed = matches!(delivery, confirm::Delivery::Review(_));
    let unreviewable = matches!(delivery, confirm::Delivery::Unreviewable(_));
    let response = state.client.apply_edit(delivery.into_edit()).await;
    let applied = matches!(
        response,
        Ok(ApplyWorkspaceEditResponse { applied: true, .. })
    );
    state.conversations().set_delivery(
        &from_proto::document_key(uri),
        if applied {
            Delivery::Applied
        } else {
            Delivery::Rejected
        },
    );
    let message = match response {
        Ok(ApplyWorkspaceEditResponse { applied: true, .. }) => {
            if unreviewable {
                confirm::say_unreviewed(state).await;
            }
            return Ok(RunActionResult {
                applied: true,
                message: None,
            });
        }
        // Declined in the editor's review: nothing changed, said once.
        Ok(ApplyWorkspaceEditResponse {
            failure_reason: None,
            ..
        }) if reviewed => {
            state
                .client
                .show_message(MessageType::INFO, confirm::REJECTED)
                .await;
            return Ok(not_applied(confirm::REJECTED.to_owned()));
        }
        Ok(response) => format!(
            "Codex: the editor did not apply the edit ({}).",
            response
                .failure_reason
                .unwrap_or_else(|| "no reason given".to_owned())
        ),
        Err(err) => {
            tracing::warn!(%err, "workspace/applyEdit failed");
            "Codex: the editor failed to apply the edit.".to_owned()
        }
    };
    state
        .client
        .show_message(MessageType::WARNING, &message)
        .await;
    Ok(not_applied(message))
}

/// Shows an action's failure once (details go to the log) and returns the
/// message shown. Cancellation shows nothing, and neither does a document
/// closed while Codex worked: the user closed it, nothing went wrong.
pub(crate) async fn show_failure(state: &State, err: &ActionError) -> String {
    let message = err.user_message();
    if err.is_quiet() {
        tracing::info!(outcome = %err, "action ended without an edit");
    } else if !err.is_cancelled() {
        tracing::warn!(error = %err, "action failed");
        state
            .client
            .show_message(MessageType::ERROR, &message)
            .await;
    }
    message
}

async fn explain(state: &State, args: ExplainArgs) -> ExplainResult {
    let uri = args.text_document.uri;
    // Closing the document stops the explanation (and its model call,
    // unless a hover shares it): nobody reads it anymore, and that is no
    // failure.
    let watch = state.jobs.watch(from_proto::document_key(&uri));
    let explained = tokio::select! {
        explained = explain::explain(state, &uri, args.range, ExplainMode::Compute) => explained,
        () = watch.gone() => {
            tracing::info!(uri = uri.as_str(), "the document closed; its explanation was dropped");
            return ExplainResult {
                markdown: None,
                message: None,
            };
        }
    };
    match explained {
        Ok(Some(explanation)) => {
            let markdown = explanation.markdown.to_string();
            show_explanation(state, &uri, &markdown).await;
            ExplainResult {
                markdown: Some(markdown),
                message: None,
            }
        }
        Ok(None) => ExplainResult {
            markdown: None,
            message: None,
        },
        Err(failure) => {
            let message = show_failure(state, &failure).await;
            ExplainResult {
                markdown: None,
                message: Some(message),
            }
        }
    }
}

/// Shows an explanation as a Markdown document where the client can show
/// documents beside the code, else as a message: a client whose
/// `window/showDocument` replaces the current view (Helix) would hide the
/// code being explained. No view is written for a document closed
/// meanwhile (closing removes views; this one would stay behind).
async fn show_explanation(state: &State, uri: &Uri, markdown: &str) {
    let features = state.features();
    let as_view = features.show_document && !features.client.show_document_replaces_view();
    let view = (as_view && state.is_open(uri))
        .then(|| write_explanation_file(uri, markdown))
        .flatten();
    if let Some(view) = view {
        let params = ShowDocumentParams {
            uri: view,
            external: Some(false),
            take_focus: Some(false),
            selection: None,
        };
        if matches!(state.client.show_document(params).await, Ok(true)) {
            return;
        }
    }
    state.client.show_message(MessageType::INFO, markdown).await;
}

/// The directory of explanation views under the temporary directory, made
/// private to this user. The temporary directory may be shared (`/tmp`):
/// a planted symbolic link or a directory owned by someone else is refused,
/// so model output is never written where another user points it.
fn explanation_dir() -> Option<std::path::PathBuf> {
    let dir = std::env::temp_dir().join("codex-lsp-explanations");
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        let _ = std::fs::DirBuilder::new().mode(0o700).create(&dir);
        // `symlink_metadata` does not follow a link: a link is not a dir.
        if !std::fs::symlink_metadata(&dir).ok()?.is_dir() {
            tracing::warn!(dir = %dir.display(), "explanation directory is not a plain directory; not using it");
            return None;
        }
        // Only the owner may change the mode: this refuses a directory
        // another user created, and closes one left open to others.
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).ok()?;
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(&dir).ok()?;
    Some(dir)
}

/// The explanation views this process wrote and has not removed, by the
/// path of the document they explain. Process-wide, as the files are: the
/// server removes them when a document closes, at `shutdown`, and when
/// [`crate::run`] returns (exit, or the end of input), so private code and
/// model output do not stay in the temporary directory.
static VIEWS: Mutex<BTreeMap<PathBuf, PathBuf>> = Mutex::new(BTreeMap::new());

fn views() -> std::sync::MutexGuard<'static, BTreeMap<PathBuf, PathBuf>> {
    VIEWS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Writes the explanation to a temporary Markdown file named after the
/// source file plus a hash of its full path and of this process (so
/// same-named files in different folders, and two servers explaining one
/// file, get different views). An existing entry is removed first and the
/// file created anew, so a link in its place is never followed.
fn write_explanation_file(uri: &Uri, markdown: &str) -> Option<Uri> {
    use std::io::Write;

    use sha2::{Digest, Sha256};
    let dir = explanation_dir()?;
    let path = from_proto::document_path(uri);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "code".to_owned());
    let mut hasher = Sha256::new();
    hasher.update(std::process::id().to_le_bytes());
    hasher.update(path.as_os_str().as_encoded_bytes());
    let digest = hasher.finalize();
    let tag: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    let view = dir.join(format!("{name}-{tag}.explanation.md"));
    let _ = std::fs::remove_file(&view);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&view)
        .ok()?;
    views().insert(path, view.clone());
    file.write_all(markdown.as_bytes()).ok()?;
    Uri::from_file_path(&view)
}

/// Removes the explanation view of a document (it was closed).
pub(crate) fn remove_explanation_view(uri: &Uri) {
    let removed = views().remove(&from_proto::document_path(uri));
    if let Some(view) = removed {
        remove_view(&view);
    }
}

/// Removes every explanation view this process wrote (shutdown, exit).
pub(crate) fn remove_explanation_views() {
    let all = std::mem::take(&mut *views());
    for view in all.values() {
        remove_view(view);
    }
}

/// Removes one view file; `remove_file` removes a link in its place, never
/// what it points to.
fn remove_view(view: &std::path::Path) {
    match std::fs::remove_file(view) {
        Ok(()) => {}
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => {
            tracing::warn!(%err, view = %view.display(), "cannot remove an explanation view")
        }
    }
}
