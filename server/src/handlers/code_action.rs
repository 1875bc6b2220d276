//! `textDocument/codeAction` (listing, instant and offline) and
//! `codeAction/resolve` (the model call, for clients that resolve edits).

use serde_json::Value;
use tower_lsp_server::ls_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, CodeActionParams, CodeActionResponse,
    CodeActionTriggerKind, Command, Diagnostic, TextDocumentIdentifier,
};

use super::command::show_failure;
use crate::assist::ActionKind;
use crate::config::CodeActionResolve;
use crate::lsp::ext::{self, ExplainArgs, RunActionArgs};
use crate::state::{ClientFeatures, State};

/// Whether edit actions take the resolve path for this client: it must
/// resolve `edit` on literal code actions, and the setting
/// `codeActionResolve` must allow it. `auto` keeps clients that resolve
/// synchronously (Helix) off it when they can apply edits, since the
/// command path is asynchronous there: progress shows and no request
/// timeout throws the edit away.
fn resolves_edits(features: &ClientFeatures, mode: CodeActionResolve) -> bool {
    let can_resolve = features.code_action_resolve_edit && features.code_action_literals;
    let prefers_commands = match mode {
        CodeActionResolve::Never => true,
        CodeActionResolve::Auto => features.client.resolves_synchronously() && features.apply_edit,
    };
    can_resolve && !prefers_commands
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
pub(crate) fn list(state: &State, params: CodeActionParams) -> Option<CodeActionResponse> {
    let uri = params.text_document.uri;
    if !state.is_open(&uri) {
        return None;
    }
    if state.is_excluded(&uri) {
        return Some(Vec::new());
    }
    let features = state.features();
    let only = params.context.only.as_deref();
    let settings = state.settings();
    // Review before apply needs the command path (see `confirm`).
    let resolve = resolves_edits(&features, settings.code_action_resolve)
        && !super::confirm::wants_command_path(&features, &settings);
    // Listed without being asked (Helix's hint gutter, VS Code's light
    // bulb): only quick fixes, so refactors do not light up every line.
    let automatic = params.context.trigger_kind == Some(CodeActionTriggerKind::AUTOMATIC);
    // An edit on the command path is applied with `workspace/applyEdit`:
    // a client without it is not offered what could never apply.
    let commands_can_edit = features.apply_edit;
    let mut actions = Vec::new();

    let version = state.version(&uri);
    let text_document = TextDocumentIdentifier { uri: uri.clone() };
    let args = |action: ActionKind, diagnostic: Option<&Diagnostic>| RunActionArgs {
        action,
        text_document: text_document.clone(),
        range: params.range,
        instruction: None,
        diagnostic: diagnostic.cloned(),
        version,
    };
    let listed = |title: String,
                  kind: String,
                  args: RunActionArgs,
                  diagnostics: Option<Vec<Diagnostic>>,
                  via_resolve: bool| {
        let data = serde_json::to_value(&args).ok();
        let command = (!via_resolve).then(|| Command {
            title: title.clone(),
            command: ext::RUN_ACTION_COMMAND.to_owned(),
            arguments: data.clone().map(|d| vec![d]),
        });
        CodeActionOrCommand::CodeAction(CodeAction {
            title,
            kind: Some(CodeActionKind::from(kind)),
            diagnostics,
            edit: None,
            command,
            is_preferred: None,
            disabled: None,
            data: if via_resolve { data } else { None },
        })
    };

    for action in ActionKind::ALL {
        let kind = ext::action_kind(action);
        if !wanted(only, &kind) || (automatic && action != ActionKind::Fix) {
            continue;
        }
        match action {
            ActionKind::Fix if !resolve && !commands_can_edit => {}
            ActionKind::Fix => {
                for diagnostic in &params.context.diagnostics {
                    let title = format!(
                        "{}{}",
                        ext::FIX_TITLE_PREFIX,
                        first_line(&diagnostic.message)
                    );
                    actions.push(listed(
                        title,
                        kind.clone(),
                        args(action, Some(diagnostic)),
                        Some(vec![diagnostic.clone()]),
                        resolve,
                    ));
                }
            }
            // Explanations are text, not edits: always a command.
            ActionKind::Explain => {
                let explain = ExplainArgs {
                    text_document: text_document.clone(),
                    range: params.range,
                };
                let command = Command {
                    title: action.title().to_owned(),
                    command: ext::EXPLAIN_COMMAND.to_owned(),
                    arguments: serde_json::to_value(&explain).ok().map(|v| vec![v]),
                };
                actions.push(CodeActionOrCommand::CodeAction(CodeAction {
                    title: action.title().to_owned(),
                    kind: Some(CodeActionKind::from(kind)),
                    command: Some(command),
                    ..CodeAction::default()
                }));
            }
            // An action that needs the user's instruction always goes
            // through a command the client intercepts, never resolve; a
            // client that cannot ask for it is not offered it (picking it
            // could only fail; the README gives Helix the command form).
            refactor if !commands_can_edit && (!resolve || refactor.needs_instruction()) => {}
            refactor
                if refactor.needs_instruction()
                    && !features.client.can_prompt_for_instruction() => {}
            refactor => actions.push(listed(
                refactor.title().to_owned(),
                kind,
                args(refactor, None),
                None,
                resolve && !refactor.needs_instruction(),
            )),
        }
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
pub(crate) async fn resolve(
    state: &State,
    mut action: CodeAction,
) -> tower_lsp_server::jsonrpc::Result<CodeAction> {
    let Some(args) = run_action_args(action.data.as_ref()) else {
        return Ok(action);
    };
    match super::edit::run(state, &args).await {
        Ok(edit) => {
            super::confirm::note_resolved(state, &edit).await;
            action.edit = Some(edit);
            Ok(action)
        }
        Err(e) if e.is_cancelled() => Err(tower_lsp_server::jsonrpc::Error::request_cancelled()),
        Err(e) => {
            show_failure(state, &e).await;
            Ok(action)
        }
    }
}

/// Parses the `data` or command arguments of one of our actions.
fn run_action_args(value: Option<&Value>) -> Option<RunActionArgs> {
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
