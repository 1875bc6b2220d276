//! Names that make up our wire contract beyond plain LSP: command ids, code
//! action kinds and the status notification. `docs/protocol.md` documents them
//! for client authors; keep the two in step.

/// `workspace/executeCommand`: run a Codex action and apply its edit with
/// `workspace/applyEdit`. Arguments: one [`RunActionArgs`](crate::handlers::command::RunActionArgs) object.
pub const RUN_ACTION_COMMAND: &str = "codex.runAction";
/// `workspace/executeCommand`: explain a range and show the explanation.
pub const EXPLAIN_COMMAND: &str = "codex.explain";

/// Every command the server executes.
pub const COMMANDS: &[&str] = &[RUN_ACTION_COMMAND, EXPLAIN_COMMAND];

/// Code action kind prefix of every Codex refactor action.
pub const REFACTOR_KIND_PREFIX: &str = "refactor.rewrite.codex";
/// Code action kind of "Fix with Codex" quick fixes.
pub const QUICKFIX_KIND: &str = "quickfix.codex";
/// Code action kind of "Explain this code".
pub const EXPLAIN_KIND: &str = "refactor.codex.explain";

/// Server-to-client notification carrying the state of model calls, so thin
/// clients can show a status item without parsing progress titles.
pub const STATUS_NOTIFICATION: &str = "codex/status";

/// Whether a code action kind is one of ours.
pub fn is_codex_kind(kind: &str) -> bool {
    kind.starts_with(REFACTOR_KIND_PREFIX)
        || kind.starts_with(QUICKFIX_KIND)
        || kind == EXPLAIN_KIND
}

/// One listed refactor action: id (as in `codex.runAction`), title, kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListedAction {
    /// Action id, the `action` argument of `codex.runAction`.
    pub id: &'static str,
    /// Title shown in the editor's menu.
    pub title: &'static str,
    /// Code action kind.
    pub kind: &'static str,
    /// Whether the action needs user input and so always goes through a
    /// command the client intercepts (never through resolve).
    pub needs_input: bool,
}

/// The refactor actions listed for every range, in menu order.
pub const REFACTOR_ACTIONS: &[ListedAction] = &[
    ListedAction {
        id: "rewrite",
        title: "Codex: Rewrite…",
        kind: "refactor.rewrite.codex.rewrite",
        needs_input: true,
    },
    ListedAction {
        id: "simplify",
        title: "Codex: Simplify",
        kind: "refactor.rewrite.codex.simplify",
        needs_input: false,
    },
    ListedAction {
        id: "document",
        title: "Codex: Add documentation",
        kind: "refactor.rewrite.codex.document",
        needs_input: false,
    },
    ListedAction {
        id: "errorHandling",
        title: "Codex: Add error handling",
        kind: "refactor.rewrite.codex.errorHandling",
        needs_input: false,
    },
    ListedAction {
        id: "tests",
        title: "Codex: Generate tests",
        kind: "refactor.rewrite.codex.tests",
        needs_input: false,
    },
];

/// Title prefix of the per-diagnostic quick fix.
pub const FIX_TITLE_PREFIX: &str = "Fix with Codex: ";
/// Title of the explain action.
pub const EXPLAIN_TITLE: &str = "Codex: Explain this code";
