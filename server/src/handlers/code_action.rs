//! `textDocument/codeAction` (listing, instant and offline) and
//! `codeAction/resolve` (the model call, for clients that resolve edits).

use serde_json::Value;
use tower_lsp_server::ls_types::{
    CodeAction, CodeActionDisabled, CodeActionKind, CodeActionOrCommand, CodeActionParams,
    CodeActionResponse, CodeActionTriggerKind, Command, Diagnostic, TextDocumentIdentifier, Uri,
};

use super::command::show_failure;
use crate::assist::ActionKind;
use crate::config::{CodeActionResolve, Provider, Settings};
use crate::lsp::ai_tag;
use crate::lsp::ext::{self, ExplainArgs, RunActionArgs};
use crate::price;
use crate::state::{ClientFeatures, KnownClient, State};

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

/// Why no action can run on this document, said up front: the file is
/// excluded, or the provider needs an API key and there is none. The
/// reason is written for the client (its own way to set a key).
fn why_blocked(
    state: &State,
    uri: &Uri,
    settings: &Settings,
    client: KnownClient,
) -> Option<String> {
    if state.is_excluded(uri) {
        return Some("Codex: this file is excluded by `exclude`".to_owned());
    }
    let needs_key = settings.provider != Provider::None;
    let has_key = (state.options.env)(&settings.api_key_env).is_some_and(|k| !k.is_empty());
    if needs_key && !has_key {
        let env = &settings.api_key_env;
        return Some(match client {
            KnownClient::VsCode => "Codex: no API key; run \"Codex: Set API Key\"".to_owned(),
            KnownClient::Neovim => format!("Codex: set {env} (see :help codex)"),
            _ => format!("Codex: set {env} where the editor starts codex-lsp"),
        });
    }
    None
}

/// What the server knows of an action before it runs: the model, the
/// reasoning effort and the model's price (the command's LSP 3.18
/// `tooltip`). No input estimate: counting the context's tokens would
/// build the prompt (and load the tokenizer), past the listing's budget.
fn tooltip(settings: &Settings, action: ActionKind) -> String {
    let model = settings.model.trim();
    let effort = action.effort(settings).as_str();
    match settings.price() {
        Some(price) => format!(
            "{model}, reasoning effort {effort}; {}",
            price::format_price(&price)
        ),
        None => format!("{model}, reasoning effort {effort}; no price known (tokens only)"),
    }
}

/// `data` that only carries the command's tooltip, which the LSP 3.18 edge
/// layer moves onto the command (`ls-types`' `Command` has no `tooltip`).
fn tooltip_data(text: String) -> Value {
    serde_json::json!({ ai_tag::TOOLTIP_MARKER: text })
}

/// Lists the Codex actions for a range. Never touches the network; cost is
/// independent of the document's size apart from one exclusion check.
/// Actions that cannot run (excluded file, no API key) are listed
/// `disabled` with the reason to clients that support it, and not at all
/// to others.
pub(crate) fn list(state: &State, params: CodeActionParams) -> Option<CodeActionResponse> {
    let uri = params.text_document.uri;
    if !state.is_open(&uri) {
        return None;
    }
    let features = state.features();
    let settings = state.settings();
    let blocked = why_blocked(state, &uri, &settings, features.client);
    if blocked.is_some() && !(features.code_action_disabled && features.code_action_literals) {
        return Some(Vec::new());
    }
    let only = params.context.only.as_deref();
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
        let tip = tooltip(&settings, args.action);
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
            data: if via_resolve {
                data
            } else {
                Some(tooltip_data(tip))
            },
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
                    data: Some(tooltip_data(tooltip(&settings, action))),
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
    if let Some(reason) = blocked {
        // Listed so the user sees why, never runnable.
        for action in &mut actions {
            if let CodeActionOrCommand::CodeAction(action) = action {
                action.command = None;
                action.data = None;
                action.disabled = Some(CodeActionDisabled {
                    reason: reason.clone(),
                });
            }
        }
        return Some(actions);
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
