//! Code actions end to end: the real `codex-lsp` binary over stdio, driven by
//! a fake editor, talking through the real reqwest client to the fake
//! Responses server over loopback.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use codex_lsp_tests::assert_json_snapshot;
use codex_lsp_tests::harness::{TestServer, TestServerBuilder, apply_lsp_edits, edits_for, range};
use codex_lsp_tests::{Fault, Rule, Script};
use serde_json::{Value, json};

const SOURCE: &str = "fn add(a: i32, b: i32) -> i32 {\n    a+b\n}\n\nfn main() {\n    println!(\"{}\", add(1, 2));\n}\n";

const SPACING_PATCH: &str = "*** Begin Patch\n*** Update File: src/lib.rs\n@@\n fn add(a: i32, b: i32) -> i32 {\n-    a+b\n+    a + b\n }\n*** End Patch\n";

/// The editor of these tests: the harness defaults (command path, UTF-16,
/// `documentChanges` with `create`, progress, `showDocument`) and a 20 s
/// request timeout, with `src/lib.rs` open.
fn editor() -> TestServerBuilder {
    TestServer::builder().setting("requestTimeoutMs", 20000)
}

async fn start(script: Script) -> TestServer {
    editor()
        .file("src/lib.rs", SOURCE)
        .script(script)
        .start()
        .await
}

/// All text of the input items of a recorded request body.
fn input_text(body: &Value) -> String {
    fn collect(v: &Value, out: &mut String) {
        match v {
            Value::Object(map) => {
                if let Some(Value::String(t)) = map.get("text") {
                    out.push_str(t);
                }
                map.values().for_each(|v| collect(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| collect(v, out)),
            Value::String(s) if out.is_empty() => out.push_str(s),
            _ => {}
        }
    }
    let mut out = String::new();
    collect(&body["input"], &mut out);
    out
}

#[tokio::test]
async fn every_edit_action_kind_applies_its_scripted_edit() {
    let diagnostic = json!({
        "range": range(1, 4, 1, 7), "severity": 2, "code": "E0001", "source": "rustc",
        "message": "missing spaces around operator"
    });
    let doc_patch = "*** Begin Patch\n*** Update File: src/lib.rs\n@@\n+/// Adds two numbers.\n fn add(a: i32, b: i32) -> i32 {\n*** End Patch\n";
    let tests_patch = "*** Begin Patch\n*** Update File: src/lib.rs\n@@ fn main() {\n     println!(\"{}\", add(1, 2));\n }\n+\n+#[cfg(test)]\n+mod tests {\n+    #[test]\n+    fn adds() {\n+        assert_eq!(super::add(1, 2), 3);\n+    }\n+}\n*** End Patch\n";
    let err_patch = "*** Begin Patch\n*** Update File: src/lib.rs\n@@\n fn add(a: i32, b: i32) -> i32 {\n-    a+b\n+    a.checked_add(b).unwrap_or(i32::MAX)\n }\n*** End Patch\n";
    let cases: Vec<(&str, Value, &str, String, &str)> = vec![
        (
            "simplify",
            json!({}),
            SPACING_PATCH,
            SOURCE.replace("a+b", "a + b"),
            "Simplify",
        ),
        (
            "document",
            json!({}),
            doc_patch,
            format!("/// Adds two numbers.\n{SOURCE}"),
            "documentation",
        ),
        (
            "errorHandling",
            json!({}),
            err_patch,
            SOURCE.replace("a+b", "a.checked_add(b).unwrap_or(i32::MAX)"),
            "error handling",
        ),
        (
            "tests",
            json!({}),
            tests_patch,
            format!(
                "{SOURCE}\n#[cfg(test)]\nmod tests {{\n    #[test]\n    fn adds() {{\n        assert_eq!(super::add(1, 2), 3);\n    }}\n}}\n"
            ),
            "test",
        ),
        (
            "rewrite",
            json!({ "instruction": "put spaces around the plus" }),
            SPACING_PATCH,
            SOURCE.replace("a+b", "a + b"),
            "put spaces around the plus",
        ),
        (
            "fix",
            json!({ "diagnostic": diagnostic }),
            SPACING_PATCH,
            SOURCE.replace("a+b", "a + b"),
            "missing spaces around operator",
        ),
    ];
    let mut h = start(Script::reply(SPACING_PATCH)).await;
    for (i, (action, extra, patch, expected, prompt_mentions)) in cases.into_iter().enumerate() {
        h.set_script(Script::reply(patch));
        let mut args = h.run_args(action, range(1, 4, 1, 4));
        for (k, v) in extra.as_object().unwrap() {
            args[k] = v.clone();
        }
        let response = h.run_action_with(args).await;
        assert_eq!(
            response["result"]["applied"],
            true,
            "{action}: {response}\nmessages: {:?}",
            h.messages()
        );
        assert_eq!(h.applied_text(SOURCE), expected, "{action}");
        let request = &h.model_requests()[i];
        assert_eq!(request.path, "/v1/responses");
        assert_eq!(request.body["stream"], true);
        assert_eq!(request.body["store"], false);
        let sent = format!(
            "{}{}",
            request.body["instructions"].as_str().unwrap_or_default(),
            input_text(&request.body)
        );
        assert!(
            sent.to_lowercase()
                .contains(&prompt_mentions.to_lowercase()),
            "{action}: prompt lacks {prompt_mentions:?}"
        );
    }
    // One workspace/applyEdit per action, none shown as a failure.
    assert_eq!(h.applied_edits().len(), 6);
    assert_eq!(h.messages(), Vec::<String>::new());
    // Versioned edit: the snapshot's version is carried.
    let last = h.last_applied_edit();
    assert_eq!(last["documentChanges"][0]["textDocument"]["version"], 1);
    assert_json_snapshot!(h, "fix_workspace_edit", last);
}

#[tokio::test]
async fn resolve_path_returns_the_edit_in_resolve() {
    let mut h = editor()
        .resolve()
        .file("src/lib.rs", SOURCE)
        .reply(SPACING_PATCH)
        .start()
        .await;
    let actions = h.list_actions(range(1, 4, 1, 4)).await;
    let titles: Vec<&str> = actions
        .iter()
        .map(|a| a["title"].as_str().unwrap())
        .collect();
    assert!(
        titles.contains(&"Codex: Simplify") && titles.contains(&"Codex: Rewrite…"),
        "{titles:?}"
    );
    assert_json_snapshot!(h, "resolve_listing", actions);
    assert!(
        h.model_requests().is_empty(),
        "listing must not call the model"
    );
    let simplify = actions
        .iter()
        .find(|a| a["title"] == "Codex: Simplify")
        .unwrap()
        .clone();
    assert!(
        simplify.get("command").is_none() && simplify.get("data").is_some(),
        "{simplify}"
    );
    let rewrite = actions
        .iter()
        .find(|a| a["title"] == "Codex: Rewrite…")
        .unwrap();
    assert_eq!(
        rewrite["command"]["command"], "codex.runAction",
        "rewrite needs input: command path"
    );
    let resolved = h.resolve(simplify).await;
    let edits = edits_for(&resolved["result"]["edit"], &h.uri());
    assert_eq!(
        apply_lsp_edits(SOURCE, &edits, "utf-16"),
        SOURCE.replace("a+b", "a + b")
    );
    assert_eq!(
        edits.len(),
        1,
        "minimal: one insertion-sized edit, got {edits:?}"
    );
    assert_json_snapshot!(h, "resolved_simplify", resolved["result"]);
    h.assert_no_applied_edits().await;
}

#[tokio::test]
async fn command_path_lists_commands_and_respects_only() {
    let mut h = start(Script::reply(SPACING_PATCH)).await;
    let diagnostic = json!({ "range": range(1, 4, 1, 7), "message": "bad spacing\nsecond line" });
    let uri = h.uri();
    let actions = h
        .list_actions_in(
            &uri,
            range(1, 4, 1, 4),
            json!({ "diagnostics": [diagnostic], "only": ["quickfix"] }),
        )
        .await;
    assert_eq!(actions.len(), 1, "{actions:?}");
    assert_eq!(actions[0]["title"], "Fix with Codex: bad spacing");
    assert_eq!(actions[0]["kind"], "quickfix.codex");
    assert_eq!(
        actions[0]["diagnostics"][0]["message"],
        "bad spacing\nsecond line"
    );
    assert_eq!(actions[0]["command"]["command"], "codex.runAction");
    assert!(
        actions[0].get("tags").is_none(),
        "no tags without tagSupport"
    );
    assert_json_snapshot!(h, "quickfix_only_listing", actions);
}

#[tokio::test]
async fn ai_tag_is_added_when_the_client_supports_it() {
    // Both paths: listed actions (with a quick fix among them) and the
    // action a resolve returns carry `LLMGenerated`.
    for resolve in [false, true] {
        let mut builder = editor().tag_support().file("src/lib.rs", SOURCE);
        if resolve {
            builder = builder.resolve();
        }
        let mut h = builder.reply(SPACING_PATCH).start().await;
        let diagnostic = json!({ "range": range(1, 4, 1, 7), "message": "bad spacing" });
        let uri = h.uri();
        let actions = h
            .list_actions_in(
                &uri,
                range(1, 4, 1, 4),
                json!({ "diagnostics": [diagnostic] }),
            )
            .await;
        // Title, kind, tags and how the action runs.
        let tagged: Vec<Value> = actions
            .iter()
            .map(|a| {
                let runs = if a.get("data").is_some() {
                    "resolve"
                } else {
                    "command"
                };
                json!([a["title"], a["kind"], a["tags"], runs])
            })
            .collect();
        // The whole list, so an empty or shortened one fails.
        assert_json_snapshot!(h, format!("tagged_listing_resolve_{resolve}"), tagged);
        assert_eq!(actions.len(), 7, "{actions:?}");
        for action in &actions {
            assert_eq!(action["tags"], json!([1]), "resolve {resolve}: {action}");
        }
        if resolve {
            let simplify = h.action(range(1, 4, 1, 4), "Codex: Simplify").await;
            let resolved = h.resolve(simplify).await;
            assert!(resolved["result"]["edit"].is_object(), "{resolved}");
            assert_eq!(resolved["result"]["tags"], json!([1]), "{resolved}");
        }
    }
}

#[tokio::test]
async fn multi_byte_text_in_every_encoding() {
    let source = "fn add(a: i32, b: i32) -> i32 {\n    /* 😀 日本 é */ a+b\n}\n";
    let patch = "*** Begin Patch\n*** Update File: src/lib.rs\n@@\n fn add(a: i32, b: i32) -> i32 {\n-    /* 😀 日本 é */ a+b\n+    /* 😀 日本 é */ a + b\n }\n*** End Patch\n";
    for encoding in ["utf-8", "utf-16", "utf-32"] {
        let mut h = editor()
            .encoding(encoding)
            .file("src/lib.rs", source)
            .reply(patch)
            .start()
            .await;
        assert_eq!(h.encoding(), encoding, "negotiated");
        let response = h.run_action("simplify", range(0, 3, 0, 3)).await;
        assert_eq!(
            response["result"]["applied"], true,
            "{encoding}: {response}"
        );
        let edited = apply_lsp_edits(
            source,
            &edits_for(&h.last_applied_edit(), &h.uri()),
            encoding,
        );
        assert_eq!(edited, source.replace("a+b", "a + b"), "{encoding}");
    }
}

#[tokio::test]
async fn plain_changes_client_gets_an_unversioned_edit() {
    let mut h = editor()
        .plain_changes()
        .file("src/lib.rs", SOURCE)
        .reply(SPACING_PATCH)
        .start()
        .await;
    let response = h.run_action("simplify", range(1, 4, 1, 4)).await;
    assert_eq!(response["result"]["applied"], true, "{response}");
    let edit = h.last_applied_edit();
    assert!(edit.get("documentChanges").is_none(), "{edit}");
    assert_eq!(h.applied_text(SOURCE), SOURCE.replace("a+b", "a + b"));
    assert_json_snapshot!(h, "plain_changes_edit", edit);
}

#[tokio::test]
async fn stale_document_inside_the_region_is_refused() {
    let mut h = start(Script::new(vec![Rule::reply(SPACING_PATCH).delay_ms(700)])).await;
    let args = h.run_args("simplify", range(1, 4, 1, 4));
    let (_, pending) = h.send_run_action(args);
    h.wait_for_model_requests(1).await;
    // The user types inside the function while the model thinks.
    h.did_change(2, range(1, 5, 1, 5), "+0");
    let response = tokio::time::timeout(Duration::from_secs(20), pending)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(response["result"]["applied"], false, "{response}");
    h.assert_no_applied_edits().await;
    let shown = h.wait_for_messages(1).await;
    assert!(
        shown
            .iter()
            .any(|m| m.contains("the document changed; run the action again")),
        "{shown:?}"
    );
}

#[tokio::test]
async fn stale_document_outside_the_region_is_rebased() {
    let mut h = start(Script::new(vec![Rule::reply(SPACING_PATCH).delay_ms(700)])).await;
    let args = h.run_args("simplify", range(1, 4, 1, 4));
    let (_, pending) = h.send_run_action(args);
    h.wait_for_model_requests(1).await;
    // A comment is added above the function: the edit must shift by a line.
    h.did_change(2, range(0, 0, 0, 0), "// hello 😀\n");
    let response = tokio::time::timeout(Duration::from_secs(20), pending)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(response["result"]["applied"], true, "{response}");
    let current = format!("// hello 😀\n{SOURCE}");
    assert_eq!(h.applied_text(&current), current.replace("a+b", "a + b"));
    let edits = h.applied_edits();
    assert_eq!(edits.len(), 1);
    let version = &edits[0]["documentChanges"][0]["textDocument"]["version"];
    assert_eq!(*version, 2, "the rebased edit targets the current version");
}

#[tokio::test]
async fn cancel_request_mid_stream_closes_the_connection_and_edits_nothing() {
    let mut h = start(Script::new(vec![Rule::reply(SPACING_PATCH).chunks(4, 300)])).await;
    let args = h.run_args("simplify", range(1, 4, 1, 4));
    let (id, pending) = h.send_run_action(args);
    h.wait_for_model_requests(1).await;
    // Some deltas have streamed: the server reports text received.
    h.wait_for_streamed_text().await;
    h.notify("$/cancelRequest", json!({ "id": id }));
    let response = tokio::time::timeout(Duration::from_secs(10), pending)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(response["error"]["code"], -32800, "{response}");
    h.wait_for_disconnect().await;
    let request = &h.model_requests()[0];
    assert!(
        !request.completed,
        "the answer was streamed to the end before the cancel"
    );
    h.assert_no_applied_edits().await;
}

#[tokio::test]
async fn progress_cancel_aborts_the_model_request() {
    let mut h = start(Script::new(vec![Rule::reply(SPACING_PATCH).chunks(4, 300)])).await;
    let args = h.run_args("simplify", range(1, 4, 1, 4));
    let (_, pending) = h.send_run_action(args);
    let status = h
        .wait_for_notification("codex/status", |m| m["params"]["state"] == "running")
        .await;
    // Cancel mid-stream (a cancel before the request is sent just never connects).
    h.wait_for_model_requests(1).await;
    h.wait_for_streamed_text().await;
    let token = status["params"]["progressToken"].clone();
    h.notify("window/workDoneProgress/cancel", json!({ "token": token }));
    let response = tokio::time::timeout(Duration::from_secs(10), pending)
        .await
        .unwrap()
        .unwrap();
    assert!(
        response.get("error").is_some() || response["result"]["applied"] == false,
        "{response}"
    );
    h.wait_for_disconnect().await;
    assert!(
        !h.model_requests()[0].completed,
        "the answer was streamed to the end before the cancel"
    );
    h.assert_no_applied_edits().await;
    assert_eq!(h.messages(), Vec::<String>::new(), "a cancel is no failure");
}

#[tokio::test]
async fn malformed_reply_edits_nothing_and_says_so_once() {
    let mut h = start(Script::reply("You should add spaces around the plus sign.")).await;
    let response = h.run_action("simplify", range(1, 4, 1, 4)).await;
    assert_eq!(response["result"]["applied"], false);
    h.assert_no_applied_edits().await;
    let shown = h.wait_for_messages(1).await;
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert!(
        shown[0].contains("could not be used after 3 attempts"),
        "{shown:?}"
    );
    // The model was told why, twice (maxPatchRepairs), each time in a
    // request that extends the one before.
    let requests = h.model_requests();
    assert_eq!(requests.len(), 3);
    let last = requests[2].body["input"].to_string();
    assert!(last.contains("The patch did not apply"), "{last}");
}

#[tokio::test]
async fn model_faults_give_one_clear_message_and_no_edit() {
    let cases = [
        (Fault::Http429, "rate"),
        (Fault::Http401, "key"),
        (Fault::InsufficientQuota, "quota"),
        (Fault::ContextLengthExceeded, "context"),
        (Fault::Http500, "server"),
        (Fault::CutMidStream, "stream"),
        (Fault::ResponseFailed, "failed"),
    ];
    let mut shown_all = Vec::new();
    for (fault, needle) in cases {
        let mut h = start(Script::new(vec![Rule::fault(fault)])).await;
        let response = h.run_action("simplify", range(1, 4, 1, 4)).await;
        assert_eq!(
            response["result"]["applied"], false,
            "{fault:?}: {response}"
        );
        h.assert_no_applied_edits().await;
        let shown = h.wait_for_messages(1).await;
        assert_eq!(shown.len(), 1, "{fault:?}: {shown:?}");
        assert!(
            shown[0].to_lowercase().contains(needle),
            "{fault:?}: {shown:?}"
        );
        assert!(!shown[0].contains(codex_lsp_tests::harness::DEFAULT_API_KEY));
        shown_all.push(json!({ "fault": format!("{fault:?}"), "message": shown[0] }));
    }
    insta::assert_json_snapshot!("fault_messages", shown_all);
}

#[tokio::test]
async fn excluded_file_is_never_sent() {
    let mut h = editor()
        .file(".env", "OPENAI_API_KEY=sk-secret\n")
        .reply(SPACING_PATCH)
        .start()
        .await;
    let actions = h.list_actions(range(0, 0, 0, 0)).await;
    assert!(
        actions.is_empty(),
        "no actions offered for an excluded file: {actions:?}"
    );
    let response = h.run_action("simplify", range(0, 0, 0, 0)).await;
    assert_eq!(response["result"]["applied"], false);
    let shown = h.wait_for_messages(1).await;
    assert!(shown.iter().any(|m| m.contains("exclude")), "{shown:?}");
    assert!(
        h.model_requests().is_empty(),
        "the fake server received {:?}",
        h.model_requests()
    );
}

#[tokio::test]
async fn missing_api_key_says_how_to_set_it() {
    let mut h = editor()
        .no_api_key()
        .file("src/lib.rs", SOURCE)
        .reply(SPACING_PATCH)
        .start()
        .await;
    let response = h.run_action("simplify", range(1, 4, 1, 4)).await;
    assert_eq!(response["result"]["applied"], false);
    let shown = h.wait_for_messages(1).await;
    assert!(
        shown.len() == 1 && shown[0].contains("OPENAI_API_KEY"),
        "{shown:?}"
    );
    assert!(h.model_requests().is_empty());
}

#[tokio::test]
async fn rewrite_without_instruction_is_invalid_params() {
    let mut h = start(Script::reply(SPACING_PATCH)).await;
    let response = h.run_action("rewrite", range(1, 4, 1, 4)).await;
    assert_eq!(response["error"]["code"], -32602, "{response}");
    assert!(h.model_requests().is_empty());
}

/// A realistic 300-line module: 30 small functions.
fn module_source() -> String {
    let mut text = String::from("//! Inventory helpers.\nuse std::collections::HashMap;\n\n");
    for i in 0..30 {
        text.push_str(&format!(
            "/// Step {i} of the pipeline.\npub fn step_{i}(items: &HashMap<String, u32>) -> u32 {{\n    let mut total = 0;\n    for (_, qty) in items {{\n        total += qty * {i};\n    }}\n    total\n}}\n\n"
        ));
    }
    text
}

#[tokio::test]
async fn two_actions_on_one_file_share_a_cacheable_prefix() {
    let source = module_source();
    let mut h = editor()
        .file("src/lib.rs", &source)
        .reply(SPACING_PATCH)
        .setting("maxPatchRepairs", 0)
        .start()
        .await;
    // Two different actions on two different functions of the same file.
    h.run_action("simplify", range(5, 8, 5, 8)).await;
    h.run_action("document", range(105, 8, 105, 8)).await;
    // The scripted patch fits neither function (this test is about the
    // prompts): each action says so once and edits nothing.
    let shown = h.messages();
    assert_eq!(shown.len(), 2, "{shown:?}");
    assert!(
        shown
            .iter()
            .all(|m| m.contains("does not match `src/lib.rs`")),
        "{shown:?}"
    );
    assert!(h.applied_edits().is_empty());
    let requests = h.model_requests();
    assert_eq!(requests.len(), 2);
    let (a, b) = (input_text(&requests[0].body), input_text(&requests[1].body));
    let common = a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
    let share = common as f64 / a.chars().count() as f64;
    println!(
        "common input prefix: {common} of {} chars ({:.1}%)",
        a.chars().count(),
        share * 100.0
    );
    assert!(share >= 0.9, "only {:.1}% shared", share * 100.0);
    assert_eq!(
        requests[0].body["instructions"],
        requests[1].body["instructions"]
    );
    assert_eq!(
        requests[0].body["prompt_cache_key"],
        requests[1].body["prompt_cache_key"]
    );
    // The fake server reports the shared prefix as cached input tokens.
    let idle = h.notifications("codex/status").pop().unwrap();
    assert!(
        idle["params"]["usage"]["cachedTokens"].as_u64().unwrap() > 0,
        "{idle}"
    );
}

#[tokio::test]
async fn progress_reports_begin_and_end_with_usage() {
    let mut h = start(Script::reply(SPACING_PATCH)).await;
    h.run_action("simplify", range(1, 4, 1, 4)).await;
    assert_eq!(h.applied_text(SOURCE), SOURCE.replace("a+b", "a + b"));
    let creates = h.server_requests("window/workDoneProgress/create");
    assert_eq!(creates.len(), 1);
    let progress = h.notifications("$/progress");
    assert_eq!(
        progress.first().unwrap()["params"]["value"]["kind"],
        "begin"
    );
    assert_eq!(
        progress.first().unwrap()["params"]["value"]["title"],
        "Codex: Simplify"
    );
    let end = progress.last().unwrap();
    assert_eq!(end["params"]["value"]["kind"], "end");
    assert!(
        end["params"]["value"]["message"]
            .as_str()
            .unwrap()
            .contains("cached"),
        "{end}"
    );
    let idle = h.notifications("codex/status").pop().unwrap();
    assert_eq!(idle["params"]["state"], "idle");
    assert!(
        idle["params"]["usage"]["inputTokens"].as_u64().unwrap() > 0,
        "{idle}"
    );
}

#[tokio::test]
async fn without_progress_support_no_progress_is_sent() {
    let mut h = editor()
        .no_progress()
        .file("src/lib.rs", SOURCE)
        .reply(SPACING_PATCH)
        .start()
        .await;
    let response = h.run_action("simplify", range(1, 4, 1, 4)).await;
    assert_eq!(response["result"]["applied"], true, "{response}");
    assert_eq!(h.applied_text(SOURCE), SOURCE.replace("a+b", "a + b"));
    assert!(
        h.server_requests("window/workDoneProgress/create")
            .is_empty()
    );
    assert!(h.notifications("$/progress").is_empty());
    // The status notifications remain.
    let states: Vec<Value> = h
        .notifications("codex/status")
        .iter()
        .map(|s| s["params"]["state"].clone())
        .collect();
    assert_eq!(states, [json!("running"), json!("idle")]);
}
