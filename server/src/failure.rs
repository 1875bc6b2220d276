//! Why an action or explanation ended without a result, and the one message
//! the user sees for it. Errors stay typed from the core up to the handlers;
//! only [`ActionError::user_message`] turns them into text. Protocol-free, so
//! the state's explanation cache can hold these errors.

use crate::assist::{AssistError, PatchError, RebaseConflict};
use crate::explain_cache::Abandoned;
use crate::model::ModelError;
use crate::workspace::Refusal;

/// Every way an action can end without an edit (or an explanation without
/// text). Each variant has one clear sentence for the user.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ActionError {
    /// The arguments do not name a valid action (answered `InvalidParams`).
    #[error("invalid action arguments: {0}")]
    BadArguments(String),
    #[error("the document is not open")]
    NotOpen,
    /// Context building refused or failed (excluded file, binary, too big).
    #[error(transparent)]
    Assist(#[from] AssistError),
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The reply was not a valid patch.
    #[error(transparent)]
    Patch(#[from] PatchError),
    /// The document changed where the edit applies.
    #[error("the document changed; run the action again ({0})")]
    Stale(#[from] RebaseConflict),
    /// So many changes arrived while the model worked that the history no
    /// longer reaches back to the snapshot: treated as stale.
    #[error("the document changed too much while Codex was working")]
    HistoryLost,
    /// The code the action was listed for was edited before it ran.
    #[error("the code changed after the action was listed; run it again")]
    ListedRangeChanged,
    #[error("the document was closed while Codex was working")]
    Closed,
    /// Closed and opened again (a revert, a checkout): the text the edit
    /// was computed on is gone, whatever the new text looks like.
    #[error("the document was reopened while Codex was working; run the action again")]
    Reopened,
    /// The workspace policy refused a read or a write the action needed.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The model wants to create a file and the client cannot.
    #[error("Codex proposed creating {0}, but this editor does not support creating files")]
    CannotCreate(String),
    #[error("Codex proposed no change")]
    NoChange,
    /// The model's patches did not apply, even after being told why.
    #[error("the model's patch did not apply after {attempts} attempts: {reason}")]
    BadPatch { attempts: u32, reason: String },
    /// `codex.refine` on a document without a recent edit conversation.
    #[error("there is no recent Codex edit in this document to refine; run an action first")]
    NothingToRefine,
    /// The edit mode changed since the conversation (settings, or a
    /// server that rejected its tools): its items no longer fit.
    #[error("the edit settings changed since the last edit; run the action again")]
    RefineModeChanged,
    #[error("the model returned an empty explanation")]
    EmptyExplanation,
    /// Every waiter for a shared explanation went away.
    #[error("the explanation was cancelled")]
    Abandoned,
}

impl From<Abandoned> for ActionError {
    fn from(_: Abandoned) -> Self {
        ActionError::Abandoned
    }
}

impl ActionError {
    /// One short sentence for `window/showMessage` or hover text; never
    /// contains secrets.
    pub(crate) fn user_message(&self) -> String {
        match self {
            ActionError::Model(e) => {
                let message = e.user_message();
                if message.starts_with("Codex") {
                    message
                } else {
                    format!("Codex: {message}")
                }
            }
            ActionError::Stale(_) | ActionError::HistoryLost => {
                "Codex: the document changed; run the action again.".to_owned()
            }
            ActionError::Patch(e) => {
                format!("Codex: the model's reply could not be used ({e}); nothing was changed.")
            }
            ActionError::BadPatch { attempts, reason } => {
                let reason = reason.lines().next().unwrap_or_default();
                format!(
                    "Codex: the model's patch could not be used after {attempts} attempts ({reason}); nothing was changed."
                )
            }
            other => format!("Codex: {other}."),
        }
    }

    /// Whether this outcome is no failure the user needs to hear about: the
    /// document was closed while Codex worked (so it is logged, not shown).
    pub(crate) fn is_quiet(&self) -> bool {
        matches!(self, ActionError::Closed)
    }

    /// Whether the user cancelled (no message is shown then).
    pub(crate) fn is_cancelled(&self) -> bool {
        matches!(self, ActionError::Model(ModelError::Cancelled))
    }
}
