//! The whole wire contract beyond plain LSP: command ids and their argument
//! and result types, code action kinds, and the `codex/status`
//! notification. `docs/protocol.md` documents every name here for client
//! authors; the tidy test (`server/tests/tidy.rs`) keeps the two in step.

use serde::{Deserialize, Serialize};
use tower_lsp_server::ls_types::notification::Notification;
use tower_lsp_server::ls_types::{Diagnostic, Range, TextDocumentIdentifier};

use crate::assist::ActionKind;
use crate::price::{Price, Tokens, format_count, format_usd};

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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// What the model calls of this session cost so far, in all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) session: Option<SessionUsage>,
}

/// Whether a model call is running (`running`) or has ended (`idle`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum StatusState {
    Running,
    Idle,
}

/// Token usage of one call (or of the turns of one action, added up), and
/// its cost where the model's price is known.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UsageReport {
    /// Input tokens, cached ones included.
    pub(crate) input_tokens: u64,
    /// Input tokens served from the prompt cache.
    pub(crate) cached_tokens: u64,
    /// Output tokens, reasoning included.
    pub(crate) output_tokens: u64,
    pub(crate) reasoning_tokens: u64,
    /// Input tokens written to the prompt cache (billed only where the
    /// price has `cacheWrite`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub(crate) cache_write_tokens: u64,
    /// The cost in US dollars; absent when the model's price is unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) cost_usd: Option<f64>,
    /// The model that answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) model: Option<String>,
    /// For people: "$0.0042, 1,024 of 1,200 input tokens cached, 80 output
    /// tokens" (tokens only when the price is unknown).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub(crate) summary: String,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl UsageReport {
    /// The usage of one request to `model`, priced at `price` when known.
    pub(crate) fn priced(tokens: &crate::model::Usage, model: &str, price: Option<Price>) -> Self {
        let mut report = Self {
            input_tokens: tokens.input_tokens,
            cached_tokens: tokens.cached_tokens,
            output_tokens: tokens.output_tokens,
            reasoning_tokens: tokens.reasoning_tokens,
            cache_write_tokens: tokens.cache_write_tokens,
            cost_usd: None,
            model: Some(model.trim().to_owned()),
            summary: String::new(),
        };
        report.cost_usd = price.map(|p| p.cost(&report.tokens()));
        report.summary = report.render();
        report
    }

    fn tokens(&self) -> Tokens {
        Tokens {
            input: self.input_tokens,
            cached: self.cached_tokens,
            cache_write: self.cache_write_tokens,
            output: self.output_tokens,
        }
    }

    /// Adds another request's usage (the turns of one action add up). The
    /// sum has a cost only when both parts have one; adding to an empty
    /// report (the default, of no request) gives the other.
    pub(crate) fn add(&mut self, other: UsageReport) {
        if self.model.is_none() && *self == UsageReport::default() {
            *self = other;
            return;
        }
        self.input_tokens += other.input_tokens;
        self.cached_tokens += other.cached_tokens;
        self.output_tokens += other.output_tokens;
        self.reasoning_tokens += other.reasoning_tokens;
        self.cache_write_tokens += other.cache_write_tokens;
        self.cost_usd = match (self.cost_usd, other.cost_usd) {
            (Some(a), Some(b)) => Some(a + b),
            _ => None,
        };
        if self.model.is_none() {
            self.model.clone_from(&other.model);
        }
        self.summary = self.render();
    }

    /// "$0.0042, 1,024 of 1,200 input tokens cached, 80 output tokens";
    /// without a known price, the tokens only.
    pub(crate) fn summary(&self) -> String {
        self.render()
    }

    fn render(&self) -> String {
        let tokens = format!(
            "{} of {} input tokens cached, {} output tokens",
            format_count(self.cached_tokens),
            format_count(self.input_tokens),
            format_count(self.output_tokens)
        );
        match self.cost_usd {
            Some(cost) => format!("{}, {tokens}", format_usd(cost)),
            None => tokens,
        }
    }
}

/// What the model calls of a session (this server process) cost, in all:
/// actions, explanations and hovers alike.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SessionUsage {
    /// Model requests answered.
    pub(crate) requests: u64,
    pub(crate) input_tokens: u64,
    pub(crate) cached_tokens: u64,
    pub(crate) output_tokens: u64,
    /// The cost of the requests whose price was known, in US dollars.
    pub(crate) cost_usd: f64,
    /// Requests to models without a known price (not in `costUsd`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub(crate) unpriced_requests: u64,
    /// For people: "$0.0123 in 3 requests" (and how many had no price).
    pub(crate) summary: String,
}

impl SessionUsage {
    /// Counts one more answered request.
    pub(crate) fn add(&mut self, usage: &UsageReport) {
        self.requests += 1;
        self.input_tokens += usage.input_tokens;
        self.cached_tokens += usage.cached_tokens;
        self.output_tokens += usage.output_tokens;
        match usage.cost_usd {
            Some(cost) => self.cost_usd += cost,
            None => self.unpriced_requests += 1,
        }
        let requests = match self.requests {
            1 => "1 request".to_owned(),
            n => format!("{} requests", format_count(n)),
        };
        let priced = self.requests - self.unpriced_requests;
        self.summary = match (priced, self.unpriced_requests) {
            (_, 0) => format!("{} in {requests}", format_usd(self.cost_usd)),
            (0, _) => format!(
                "{} input and {} output tokens in {requests} (no price known)",
                format_count(self.input_tokens),
                format_count(self.output_tokens)
            ),
            (_, unpriced) => format!(
                "{} in {requests} ({} without a known price)",
                format_usd(self.cost_usd),
                format_count(unpriced)
            ),
        };
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

    fn usage(input: u64, cached: u64, output: u64) -> crate::model::Usage {
        crate::model::Usage {
            input_tokens: input,
            cached_tokens: cached,
            output_tokens: output,
            ..Default::default()
        }
    }

    #[test]
    fn usage_reports_carry_the_cost_where_the_price_is_known() {
        let price = crate::price::price_of(&Default::default(), "gpt-5.3-codex");
        let report = UsageReport::priced(&usage(1200, 1024, 80), "gpt-5.3-codex", price);
        // 176 at $2, 1024 at $0.20, 80 at $15 per 1M: $0.0017568.
        assert_eq!(
            report.summary,
            "$0.0018, 1,024 of 1,200 input tokens cached, 80 output tokens"
        );
        let unknown = UsageReport::priced(&usage(1200, 1024, 80), "llama3", None);
        assert_eq!(unknown.cost_usd, None);
        assert_eq!(
            unknown.summary,
            "1,024 of 1,200 input tokens cached, 80 output tokens"
        );
        let wire = serde_json::to_value(&report).unwrap();
        assert_eq!(wire["costUsd"].as_f64(), report.cost_usd);
        assert!(
            serde_json::to_value(&unknown)
                .unwrap()
                .get("costUsd")
                .is_none()
        );

        let mut both = report.clone();
        both.add(report.clone());
        assert_eq!(both.input_tokens, 2400);
        assert_eq!(
            both.summary,
            "$0.0035, 2,048 of 2,400 input tokens cached, 160 output tokens"
        );
        let mut session = SessionUsage::default();
        session.add(&report);
        session.add(&report);
        assert_eq!(session.summary, "$0.0035 in 2 requests");
        session.add(&unknown);
        assert_eq!(
            session.summary,
            "$0.0035 in 3 requests (1 without a known price)"
        );
        let mut unpriced = SessionUsage::default();
        unpriced.add(&unknown);
        assert_eq!(
            unpriced.summary,
            "1,200 input and 80 output tokens in 1 request (no price known)"
        );
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
