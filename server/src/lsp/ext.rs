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
