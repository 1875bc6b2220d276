//! The whole wire contract beyond plain LSP: command ids and their argument
//! and result types, code action kinds, and the `codex/status`
//! notification. `docs/protocol.md` documents every name here for client
//! authors; the tidy test (`server/tests/tidy.rs`) keeps the two in step.

use serde::{Deserialize, Serialize};
use tower_lsp_server::ls_types::notification::Notification;
use tower_lsp_server::ls_types::{Diagnostic, Range, TextDocumentIdentifier};

use crate::assist::ActionKind;

/// `workspace/executeCommand`: run a Codex action and apply its edit with
/// `workspace/applyEdit`. Arguments: one [`RunActionArgs`].
pub(crate) const RUN_ACTION_COMMAND: &str = "codex.runAction";
/// `workspace/executeCommand`: explain a range and show the explanation.
/// Arguments: one [`ExplainArgs`].
pub(crate) const EXPLAIN_COMMAND: &str = "codex.explain";

/// Continues the last edit action on a document with a new instruction;
/// argument [`RefineArgs`], answers [`RunActionResult`].
pub(crate) const REFINE_COMMAND: &str = "codex.refine";

/// Every command the server executes.
pub(crate) const COMMANDS: &[&str] = &[RUN_ACTION_COMMAND, EXPLAIN_COMMAND, REFINE_COMMAND];

/// Code action kind prefix of every Codex refactor action; the action id
/// follows it (`refactor.rewrite.codex.simplify`).
pub(crate) const REFACTOR_KIND_PREFIX: &str = "refactor.rewrite.codex";
/// Code action kind of "Fix with Codex" quick fixes.
pub(crate) const QUICKFIX_KIND: &str = "quickfix.codex";
/// Code action kind of "Explain this code".
pub(crate) const EXPLAIN_KIND: &str = "refactor.codex.explain";

/// Title prefix of the per-diagnostic quick fix; the diagnostic's first
/// line follows.
pub(crate) const FIX_TITLE_PREFIX: &str = "Fix with Codex: ";

/// The code action kind an action is listed under.
pub(crate) fn action_kind(action: ActionKind) -> String {
    match action {
        ActionKind::Fix => QUICKFIX_KIND.to_owned(),
        ActionKind::Explain => EXPLAIN_KIND.to_owned(),
        refactor => format!("{REFACTOR_KIND_PREFIX}.{}", refactor.id()),
    }
}

/// Whether a code action kind is one of ours.
pub(crate) fn is_codex_kind(kind: &str) -> bool {
    kind.starts_with(REFACTOR_KIND_PREFIX)
        || kind.starts_with(QUICKFIX_KIND)
        || kind == EXPLAIN_KIND
}

/// Arguments of `codex.runAction`, also stored as `data` on listed actions
/// that the client resolves. An unknown `action` id fails deserialization,
/// so the client gets `InvalidParams`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RunActionArgs {
    pub(crate) action: ActionKind,
    pub(crate) text_document: TextDocumentIdentifier,
    /// The range the user selected (may be empty: the enclosing syntax node
    /// is used).
    pub(crate) range: Range,
    /// The user's instruction, required for `rewrite`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) instruction: Option<String>,
    /// The diagnostic to fix, required for `fix`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) diagnostic: Option<Diagnostic>,
    /// The document version `range` (and the diagnostic) refer to; listed
    /// actions carry it. When the text changed since, the range is mapped
    /// through the changes, or the action refused if they touch it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) version: Option<i32>,
}

/// What `codex.runAction` answers once the action ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RunActionResult {
    /// Whether the client applied the edit.
    pub(crate) applied: bool,
    /// What went wrong (the message that was also shown), when not applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) message: Option<String>,
}

/// Arguments of `codex.refine`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RefineArgs {
    pub(crate) text_document: TextDocumentIdentifier,
    /// What to do differently ("keep the old name", "use a match instead").
    pub(crate) instruction: String,
}

/// Arguments of `codex.explain`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ExplainArgs {
    pub(crate) text_document: TextDocumentIdentifier,
    /// The range to explain (may be empty: the enclosing node is used).
    pub(crate) range: Range,
}

/// What `codex.explain` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ExplainResult {
    /// The explanation; `null` when there is none.
    pub(crate) markdown: Option<String>,
    /// Why there is none, when it failed (also shown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) message: Option<String>,
}

/// Server-to-client notification carrying the state of model calls, so
/// thin clients can show a status item without parsing progress titles.
#[derive(Debug)]
pub(crate) enum StatusNotification {}

impl Notification for StatusNotification {
    type Params = StatusParams;
    const METHOD: &'static str = "codex/status";
}

/// Params of `codex/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StatusParams {
    pub(crate) state: StatusState,
    /// Title of the call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) title: Option<String>,
    /// Progress token to cancel the running call with
    /// (`window/workDoneProgress/cancel`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) progress_token: Option<String>,
    /// Outcome of the finished call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) message: Option<String>,
    /// Usage of the finished call, when the model answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) usage: Option<UsageReport>,
}

/// Whether a model call is running (`running`) or has ended (`idle`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum StatusState {
    Running,
    Idle,
}

/// Token usage of one call, as shown to the user.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UsageReport {
    /// Input tokens, cached ones included.
    pub(crate) input_tokens: u64,
    /// Input tokens served from the prompt cache.
    pub(crate) cached_tokens: u64,
    /// Output tokens, reasoning included.
    pub(crate) output_tokens: u64,
    pub(crate) reasoning_tokens: u64,
}

impl UsageReport {
    /// Adds another request's usage (the turns of one action add up).
    pub(crate) fn add(&mut self, other: UsageReport) {
        self.input_tokens += other.input_tokens;
        self.cached_tokens += other.cached_tokens;
        self.output_tokens += other.output_tokens;
        self.reasoning_tokens += other.reasoning_tokens;
    }

    /// "1200 in (1024 cached), 80 out", for progress messages.
    pub(crate) fn summary(&self) -> String {
        format!(
            "{} in ({} cached), {} out",
            self.input_tokens, self.cached_tokens, self.output_tokens
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_kinds_are_ours_and_distinct() {
        let kinds: Vec<String> = ActionKind::ALL.into_iter().map(action_kind).collect();
        for kind in &kinds {
            assert!(is_codex_kind(kind), "{kind}");
        }
        let unique: std::collections::HashSet<_> = kinds.iter().collect();
        assert_eq!(unique.len(), kinds.len());
        assert_eq!(
            action_kind(ActionKind::ErrorHandling),
            "refactor.rewrite.codex.errorHandling"
        );
        assert!(!is_codex_kind("refactor.rewrite"));
    }

    #[test]
    fn an_unknown_action_id_fails_to_deserialize() {
        let args = serde_json::json!({
            "action": "explode",
            "textDocument": { "uri": "file:///a.rs" },
            "range": { "start": { "line": 0, "character": 0 }, "end": { "line": 0, "character": 0 } }
        });
        let err = serde_json::from_value::<RunActionArgs>(args).err();
        assert!(
            err.is_some_and(|e| e.to_string().contains("unknown variant `explode`")),
            "an unknown id must be a deserialization error"
        );
    }
}
