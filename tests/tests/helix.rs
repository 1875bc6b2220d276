//! codex-lsp as Helix meets it (issue 14), through the harness's Helix
//! flavour: a picked code action is resolved synchronously, and the
//! server's own requests wait until the resolve returns; Helix gives up
//! after 20 s and never cancels; its cursor is a one-character selection.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use codex_lsp_tests::harness::{HELIX_TIMEOUT, TestServer, cursor, range};
use codex_lsp_tests::{Fault, Rule};
use serde_json::{Value, json};

const UTIL: &str = "def add(a, b):\n    return a+b\n";
const PATCH: &str = "*** Begin Patch\n*** Update File: util.py\n@@\n def add(a, b):\n-    return a+b\n+    return a + b\n*** End Patch\n";

// Defect 1: resolving a picked action never waits on a request the client
// can only answer after the resolve (the progress token's creation). Helix
// itself is offered the command path (defect 2); a client that resolves as
// Helix does but is not known by name still gets the resolve path.
#[tokio::test]
async fn resolving_an_action_in_helix_does_not_wait_on_helix() {
    let mut h = TestServer::builder()
        .helix()
        .client_name("helix-fork")
        .file_as("util.py", "python", UTIL)
        .reply(PATCH)
        .start()
        .await;
    let simplify = h.action(range(1, 11, 1, 12), "Codex: Simplify").await;
    assert!(simplify.get("data").is_some(), "{simplify}");
    let (_, pending) = h.send_request("codeAction/resolve", simplify);
    let resolved = tokio::time::timeout(HELIX_TIMEOUT, pending)
        .await
        .expect("the resolve answered before Helix gives up")
        .unwrap();
    let edit = &resolved["result"]["edit"];
    assert!(edit.get("documentChanges").is_some(), "{resolved}");
    assert_eq!(h.model_requests().len(), 1);
    // Helix answers the token's creation only now, after the job ended:
    // no progress follows the answer (issue 13, defect 29), the outcome is
    // in the `codex/status` idle notification.
    h.barrier().await;
    let progress = h.notifications("$/progress");
    assert!(progress.is_empty(), "{progress:?}");
    let idle = h.notifications("codex/status").pop().unwrap();
    assert_eq!(idle["params"]["state"], "idle", "{idle}");
}

fn titles(actions: &[Value]) -> Vec<&str> {
    actions.iter().filter_map(|a| a["title"].as_str()).collect()
}

// Defect 2: Helix is offered the command path: a picked action's resolve
// answers at once, and the command (asynchronous in Helix) shows progress
// and applies its edit with `workspace/applyEdit`.
#[tokio::test]
async fn helix_runs_picked_actions_through_the_command_path() {
    let mut h = TestServer::builder()
        .helix()
        .file_as("util.py", "python", UTIL)
        .reply(PATCH)
        .start()
        .await;
    let simplify = h.action(cursor(1, 11), "Codex: Simplify").await;
    assert_eq!(
        simplify["command"]["command"], "codex.runAction",
        "{simplify}"
    );
    assert!(simplify.get("data").is_none(), "{simplify}");
    let picked = h.pick(simplify).await;
    assert!(
        picked.resolved.get("edit").is_none(),
        "{:?}",
        picked.resolved
    );
    assert!(
        h.model_requests().is_empty(),
        "the resolve called the model"
    );
    let (_, pending) = picked.command.expect("the action carries its command");
    let response = h.within_helix_timeout(pending).await;
    assert_eq!(response["result"], json!({ "applied": true }), "{response}");
    assert_eq!(h.applied_text(UTIL), "def add(a, b):\n    return a + b\n");
    let kinds: Vec<Value> = h
        .notifications("$/progress")
        .iter()
        .map(|p| p["params"]["value"]["kind"].clone())
        .collect();
    assert_eq!(kinds.first(), Some(&json!("begin")), "{kinds:?}");
    assert_eq!(kinds.last(), Some(&json!("end")), "{kinds:?}");
}

// Defect 2: `codeActionResolve: "never"` puts every client on the command
// path, whatever it announces.
#[tokio::test]
async fn code_action_resolve_never_forces_the_command_path() {
    let mut h = TestServer::builder()
        .resolve()
        .setting("codeActionResolve", "never")
        .file_as("util.py", "python", UTIL)
        .start()
        .await;
    let simplify = h.action(cursor(1, 11), "Codex: Simplify").await;
    assert_eq!(
        simplify["command"]["command"], "codex.runAction",
        "{simplify}"
    );
    assert!(simplify.get("data").is_none(), "{simplify}");
}

// Defect 4: Helix cannot ask for the instruction a rewrite needs, so it is
// not offered "Codex: Rewrite…" (the README gives the command form).
#[tokio::test]
async fn helix_is_not_offered_a_rewrite_it_cannot_prompt_for() {
    let mut h = TestServer::builder()
        .helix()
        .file_as("util.py", "python", UTIL)
        .start()
        .await;
    let actions = h.list_actions(cursor(1, 11)).await;
    let titles = titles(&actions);
    assert!(!titles.contains(&"Codex: Rewrite…"), "{titles:?}");
    assert!(titles.contains(&"Codex: Simplify"), "{titles:?}");
}

// Defect 5: Helix replaces the current view with a shown document, so an
// explanation comes as a message.
#[tokio::test]
async fn helix_gets_explanations_as_messages_not_views() {
    let mut h = TestServer::builder()
        .helix()
        .file_as("util.py", "python", UTIL)
        .reply("Adds two numbers.")
        .start()
        .await;
    let explain = h.action(cursor(1, 11), "Codex: Explain this code").await;
    let picked = h.pick(explain).await;
    let (_, pending) = picked.command.expect("explain is a command");
    let response = h.within_helix_timeout(pending).await;
    assert_eq!(
        response["result"]["markdown"], "Adds two numbers.",
        "{response}"
    );
    assert_eq!(h.shown_documents(), Vec::<Value>::new());
    assert_eq!(h.messages(), vec!["Adds two numbers.".to_owned()]);
}

// Defect 7: closing a document is the only cancellation Helix sends: it
// stops the document's model calls, and the outcome is no error.
#[tokio::test]
async fn closing_a_document_cancels_its_model_calls_quietly() {
    let mut h = TestServer::builder()
        .helix()
        .file_as("util.py", "python", UTIL)
        .rule(Rule::fault(Fault::Hang))
        .start()
        .await;
    let args = h.run_args("simplify", cursor(1, 11));
    let (_, pending) = h.send_run_action(args);
    h.wait_for_model_requests(1).await;
    let uri = h.uri();
    h.notify(
        "textDocument/didClose",
        json!({ "textDocument": { "uri": uri } }),
    );
    h.wait_for_disconnect().await;
    let response = h.within_helix_timeout(pending).await;
    assert_eq!(response["result"]["applied"], false, "{response}");
    let message = response["result"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("closed"), "{response}");
    assert_eq!(h.messages(), Vec::<String>::new());
}

// Defect 7, for `codex.explain`: closing the document stops the model call
// the explanation waits for, and that is no error.
#[tokio::test]
async fn closing_a_document_cancels_its_explanation_quietly() {
    let mut h = TestServer::builder()
        .helix()
        .file_as("util.py", "python", UTIL)
        .rule(Rule::fault(Fault::Hang))
        .start()
        .await;
    let uri = h.uri();
    let params = json!({ "command": "codex.explain",
                         "arguments": [{ "textDocument": { "uri": uri }, "range": cursor(1, 11) }] });
    let (_, pending) = h.send_request("workspace/executeCommand", params);
    h.wait_for_model_requests(1).await;
    h.notify(
        "textDocument/didClose",
        json!({ "textDocument": { "uri": uri } }),
    );
    h.wait_for_disconnect().await;
    let response = h.within_helix_timeout(pending).await;
    assert!(response["result"]["markdown"].is_null(), "{response}");
    assert_eq!(h.messages(), Vec::<String>::new());
}

// Defect 8: Helix shows progress as "<server name>: <title>", so titles do
// not repeat "Codex:".
#[tokio::test]
async fn progress_titles_in_helix_do_not_repeat_the_server_name() {
    let mut h = TestServer::builder()
        .helix()
        .file_as("util.py", "python", UTIL)
        .reply(PATCH)
        .start()
        .await;
    let args = h.run_args("simplify", cursor(1, 11));
    let (_, pending) = h.send_run_action(args);
    let response = h.within_helix_timeout(pending).await;
    assert_eq!(response["result"]["applied"], true, "{response}");
    h.applied_edits();
    let begin = h
        .notifications("$/progress")
        .into_iter()
        .find(|p| p["params"]["value"]["kind"] == "begin")
        .expect("progress began");
    assert_eq!(begin["params"]["value"]["title"], "Simplify", "{begin}");
}

// Defect 9: the log answers "what does this client send": its name and
// version and the features read from its capabilities (info), and every
// request (debug).
#[tokio::test]
async fn the_log_names_the_client_its_features_and_its_requests() {
    let mut h = TestServer::builder()
        .helix()
        .env("CODEX_LSP_LOG", "codex_lsp=debug")
        .file_as("util.py", "python", UTIL)
        .start()
        .await;
    h.list_actions(cursor(1, 11)).await;
    let (_, logs) = h.shutdown_keep_logs().await;
    let info = logs
        .lines()
        .find(|l| l.contains("INFO") && l.contains("25.07.1"))
        .unwrap_or_else(|| panic!("no info line with the client's version:\n{logs}"));
    assert!(info.contains("helix"), "{info}");
    assert!(info.contains("Helix"), "the known client: {info}");
    assert!(info.contains("code_action_resolve_edit: true"), "{info}");
    assert!(
        logs.lines()
            .any(|l| l.contains("DEBUG") && l.contains("textDocument/codeAction")),
        "no debug line for the request:\n{logs}"
    );
}

// Defect 10: with Helix's hint gutter on, actions are listed automatically
// (`triggerKind: 2`) on every line: only quick fixes are offered then.
#[tokio::test]
async fn automatic_listings_offer_only_quick_fixes() {
    let mut h = TestServer::builder()
        .helix()
        .file_as("util.py", "python", UTIL)
        .start()
        .await;
    let uri = h.uri();
    let diagnostic =
        json!({ "range": range(1, 11, 1, 14), "message": "missing spaces", "severity": 2 });
    let automatic = json!({ "diagnostics": [diagnostic], "triggerKind": 2 });
    let actions = h.list_actions_in(&uri, cursor(1, 11), automatic).await;
    assert_eq!(titles(&actions), vec!["Fix with Codex: missing spaces"]);
    let none = json!({ "diagnostics": [], "triggerKind": 2 });
    assert!(h.list_actions_in(&uri, cursor(0, 0), none).await.is_empty());
    let invoked = json!({ "diagnostics": [], "triggerKind": 1 });
    let listed = h.list_actions_in(&uri, cursor(1, 11), invoked).await;
    assert!(titles(&listed).contains(&"Codex: Simplify"), "{listed:?}");
}

/// The README's Helix section.
fn readme_helix_section() -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md");
    readme
        .split("\n## ")
        .find(|s| s.starts_with("Helix"))
        .expect("README.md has a `## Helix` section")
        .to_owned()
}

/// The TOML blocks of the README's Helix section.
fn readme_helix_blocks() -> Vec<String> {
    readme_helix_section()
        .split("```toml\n")
        .skip(1)
        .filter_map(|b| b.split("\n```").next())
        .map(str::to_owned)
        .collect()
}

// Defect 11: the README's Helix configuration is the tested one: it names
// the server as installed, keeps another server for the language, turns
// progress messages on, and its `config` is settings the server accepts.
#[tokio::test]
async fn the_readme_helix_configuration_is_accepted() {
    let blocks: Vec<toml::Table> = readme_helix_blocks()
        .iter()
        .map(|b| {
            b.parse()
                .unwrap_or_else(|e| panic!("bad TOML in README: {e}\n{b}"))
        })
        .collect();
    let languages = blocks
        .iter()
        .find(|t| t.contains_key("language-server"))
        .expect("a languages.toml block");
    let codex = &languages["language-server"]["codex"];
    assert_eq!(codex["command"].as_str(), Some("codex-lsp"), "{codex}");
    if let Some(args) = codex.get("args") {
        assert_eq!(
            args.as_array().map(Vec::len),
            Some(0),
            "codex-lsp takes no arguments: {args}"
        );
    }
    let entries = languages["language"]
        .as_array()
        .expect("[[language]] entries");
    assert!(!entries.is_empty());
    for entry in entries {
        let servers: Vec<&str> = entry["language-servers"]
            .as_array()
            .expect("language-servers")
            .iter()
            .filter_map(|s| s.as_str())
            .collect();
        assert_eq!(servers.last(), Some(&"codex"), "{entry}");
        assert!(
            servers.len() >= 2,
            "keeps the language's usual server: {entry}"
        );
    }
    let editor = blocks
        .iter()
        .find(|t| t.contains_key("editor"))
        .expect("a config.toml block");
    assert_eq!(
        editor["editor"]["lsp"]["display-progress-messages"].as_bool(),
        Some(true)
    );
    let section = readme_helix_section();
    for needle in [
        "replaces",
        "display-progress-messages",
        ":workspace-trust",
        ":lsp-workspace-command",
        "codeActionResolve",
    ] {
        assert!(
            section.contains(needle),
            "the Helix section says nothing of {needle:?}"
        );
    }
    // Helix sends `config` as initializationOptions, as it is.
    let config: Value = serde_json::to_value(&codex["config"]).unwrap();
    assert!(config["codex"].is_object(), "{config}");
    let mut h = TestServer::builder()
        .helix()
        .raw_initialization_options(config)
        .start()
        .await;
    assert_eq!(h.settled_messages().await, Vec::<String>::new());
}
