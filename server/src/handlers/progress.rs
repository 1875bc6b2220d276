//! `window/workDoneProgress/cancel`: the user cancelled a model call from
//! the editor's progress display.

use tower_lsp_server::ls_types::{NumberOrString, WorkDoneProgressCancelParams};

use crate::state::State;

/// Cancels the job with that progress token, if it still runs.
pub(crate) fn cancel(state: &State, params: WorkDoneProgressCancelParams) {
    let token = match params.token {
        NumberOrString::String(s) => s,
        NumberOrString::Number(n) => n.to_string(),
    };
    if !state.jobs.cancel(&token) {
        tracing::debug!(token, "cancel for a job that is not running");
    }
}
