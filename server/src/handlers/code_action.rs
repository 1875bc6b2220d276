//! `textDocument/codeAction` (listing, instant and offline) and
//! `codeAction/resolve` (the model call, for clients that resolve edits).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tower_lsp_server::ls_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, CodeActionParams, CodeActionResponse, Command,
    Diagnostic, Range, TextDocumentIdentifier,
};

use crate::lsp::ext;
use crate::server::Backend;

/// Arguments of `codex.runAction`, also stored as `data` on listed actions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunActionArgs {
    /// Action id: `rewrite`, `simplify`, `document`, `errorHandling`, `tests`, `fix`.
    pub action: String,
    /// The document.
    pub text_document: TextDocumentIdentifier,
    /// The range the user selected (may be empty: the enclosing node is used).
    pub range: Range,
    /// The user's instruction, for `rewrite`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instruction: Option<String>,
    /// The diagnostic to fix, for `fix`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diagnostic: Option<Diagnostic>,
    /// Document version when listed (informational; edits are versioned by
    /// the snapshot actually sent to the model).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i32>,
}

/// Arguments of `codex.explain`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExplainArgs {
    /// The document.
    pub text_document: TextDocumentIdentifier,
    /// The range to explain (may be empty: the enclosing node is used).
    pub range: Range,
}

/// Whether `kind` passes the client's `context.only` filter (prefix match on
/// dot-separated segments, as LSP specifies).
fn wanted(only: Option<&[CodeActionKind]>, kind: &str) -> bool {
    match only {
        None => true,
        Some(filters) => filters.iter().any(|f| {
            let f = f.as_str();
            kind == f || (kind.starts_with(f) && kind.as_bytes().get(f.len()) == Some(&b'.'))
        }),
    }
}

/// Lists the Codex actions for a range. Never touches the network; cost is
/// independent of the document's size apart from one exclusion check.
pub fn list(backend: &Backend, params: CodeActionParams) -> Option<CodeActionResponse> {
    let uri = params.text_document.uri;
    let version = backend.session.with_document(&uri, |d| d.version())?;
    if backend.is_excluded(&uri) {
        return Some(Vec::new());
    }
    let features = backend.session.features();
    let only = params.context.only.as_deref();
    let resolve = features.code_action_resolve_edit && features.code_action_literals;
    let mut actions = Vec::new();

    let base = RunActionArgs {
        action: String::new(),
        text_document: TextDocumentIdentifier { uri: uri.clone() },
        range: params.range,
        instruction: None,
        diagnostic: None,
        version: Some(version),
    };
    let mut push = |title: String,
                    kind: &str,
                    args: RunActionArgs,
                    diagnostics: Option<Vec<Diagnostic>>,
                    via_resolve: bool| {
        let data = serde_json::to_value(&args).ok();
        let command = (!via_resolve).then(|| Command {
            title: title.clone(),
            command: ext::RUN_ACTION_COMMAND.to_owned(),
            arguments: data.clone().map(|d| vec![d]),
        });
        actions.push(CodeActionOrCommand::CodeAction(CodeAction {
            title,
            kind: Some(CodeActionKind::from(kind.to_owned())),
            diagnostics,
            edit: None,
            command,
            is_preferred: None,
            disabled: None,
            data: if via_resolve { data } else { None },
        }));
    };

    for diagnostic in &params.context.diagnostics {
        if !wanted(only, ext::QUICKFIX_KIND) {
            break;
        }
        let args = RunActionArgs {
            action: "fix".to_owned(),
            diagnostic: Some(diagnostic.clone()),
            ..base.clone()
        };
        let title = format!(
            "{}{}",
            ext::FIX_TITLE_PREFIX,
            first_line(&diagnostic.message)
        );
        push(
            title,
            ext::QUICKFIX_KIND,
            args,
            Some(vec![diagnostic.clone()]),
            resolve,
        );
    }
    for listed in ext::REFACTOR_ACTIONS {
        if !wanted(only, listed.kind) {
            continue;
        }
        let args = RunActionArgs {
            action: listed.id.to_owned(),
            ..base.clone()
        };
        push(
            listed.title.to_owned(),
            listed.kind,
            args,
            None,
            resolve && !listed.needs_input,
        );
    }
    if wanted(only, ext::EXPLAIN_KIND) {
        let args = ExplainArgs {
            text_document: base.text_document.clone(),
            range: base.range,
        };
        let command = Command {
            title: ext::EXPLAIN_TITLE.to_owned(),
            command: ext::EXPLAIN_COMMAND.to_owned(),
            arguments: serde_json::to_value(&args).ok().map(|v| vec![v]),
        };
        actions.push(CodeActionOrCommand::CodeAction(CodeAction {
            title: ext::EXPLAIN_TITLE.to_owned(),
            kind: Some(CodeActionKind::new(ext::EXPLAIN_KIND)),
            command: Some(command),
            ..CodeAction::default()
        }));
    }
    if !features.code_action_literals {
        // LSP 3.17 clients without literal support only take plain commands.
        actions = actions
            .into_iter()
            .filter_map(|a| match a {
                CodeActionOrCommand::CodeAction(CodeAction {
                    command: Some(c), ..
                }) => Some(CodeActionOrCommand::Command(c)),
                other @ CodeActionOrCommand::Command(_) => Some(other),
                CodeActionOrCommand::CodeAction(_) => None,
            })
            .collect();
    }
    Some(actions)
}

fn first_line(message: &str) -> &str {
    let line = message.lines().next().unwrap_or(message);
    match line.char_indices().nth(80) {
        Some((i, _)) => &line[..i],
        None => line,
    }
}

/// Resolves a listed action: runs the model and fills in `edit`. A failure
/// is shown once and the action comes back without an edit.
pub async fn resolve(
    backend: &Backend,
    mut action: CodeAction,
) -> tower_lsp_server::jsonrpc::Result<CodeAction> {
    let Some(args) = run_action_args(action.data.as_ref()) else {
        return Ok(action);
    };
    match super::actions::run(backend, &args).await {
        Ok(outcome) => {
            action.edit = Some(outcome.edit);
            Ok(action)
        }
        Err(e) if e.is_cancelled() => Err(tower_lsp_server::jsonrpc::Error::request_cancelled()),
        Err(e) => {
            super::command::show_failure(backend, &e).await;
            Ok(action)
        }
    }
}

/// Parses the `data` or command arguments of one of our actions.
pub fn run_action_args(value: Option<&Value>) -> Option<RunActionArgs> {
    value.and_then(|v| serde_json::from_value(v.clone()).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_filter_is_a_dotted_prefix_match() {
        let kinds = |v: &[&str]| {
            v.iter()
                .map(|k| CodeActionKind::from(k.to_string()))
                .collect::<Vec<_>>()
        };
        let table: &[(&[&str], &str, bool)] = &[
            (&["refactor"], "refactor.rewrite.codex.simplify", true),
            (
                &["refactor.rewrite"],
                "refactor.rewrite.codex.simplify",
                true,
            ),
            (&["refactor.rew"], "refactor.rewrite.codex.simplify", false),
            (&["quickfix"], "quickfix.codex", true),
            (&["quickfix"], "refactor.rewrite.codex.simplify", false),
            (&["source"], "refactor.codex.explain", false),
        ];
        for (only, kind, expected) in table {
            assert_eq!(
                wanted(Some(&kinds(only)), kind),
                *expected,
                "{only:?} {kind}"
            );
        }
        assert!(wanted(None, "anything"));
    }

    #[test]
    fn long_diagnostic_messages_are_shortened() {
        assert_eq!(first_line("a\nb"), "a");
        assert_eq!(first_line(&"é".repeat(100)).chars().count(), 80);
    }
}
