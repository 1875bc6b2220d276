//! Code actions end to end: the real `codex-lsp` binary over stdio, driven by
//! a fake editor, talking through the real reqwest client to the fake
//! Responses server over loopback.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::Duration;

use codex_lsp_tests::lsp_client::{LspClient, apply_lsp_edits, file_uri, range};
use codex_lsp_tests::{FakeResponses, Fault, Rule, Script};
use serde_json::{Value, json};

const SOURCE: &str = "fn add(a: i32, b: i32) -> i32 {\n    a+b\n}\n\nfn main() {\n    println!(\"{}\", add(1, 2));\n}\n";

const SPACING_PATCH: &str = "*** Begin Patch\n*** Update File: src/lib.rs\n@@\n fn add(a: i32, b: i32) -> i32 {\n-    a+b\n+    a + b\n }\n*** End Patch\n";

struct Harness {
    _dir: tempfile::TempDir,
    root: PathBuf,
    fake: FakeResponses,
    client: LspClient,
    uri: String,
}

fn caps(resolve: bool, encoding: &str) -> Value {
    let mut code_action = json!({
        "codeActionLiteralSupport": { "codeActionKind": { "valueSet": ["quickfix", "refactor", "refactor.rewrite"] } },
        "dataSupport": true
    });
    if resolve {
        code_action["resolveSupport"] = json!({ "properties": ["edit"] });
    }
    json!({
        "general": { "positionEncodings": [encoding] },
        "workspace": { "applyEdit": true, "workspaceEdit": { "documentChanges": true, "resourceOperations": ["create"] } },
        "textDocument": { "codeAction": code_action, "hover": { "contentFormat": ["markdown"] } },
        "window": { "workDoneProgress": true, "showDocument": { "support": true } }
    })
}

async fn start_with(script: Script, caps: Value, key: bool, file: (&str, &str)) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let path = root.join(file.0);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, file.1).unwrap();
    let fake = FakeResponses::start(script).await;
    let env: Vec<(&str, &str)> = if key {
        vec![("OPENAI_API_KEY", "test-key-e2e")]
    } else {
        vec![]
    };
    let mut client = LspClient::spawn(&env).unwrap();
    let options = json!({ "baseUrl": fake.base_url(), "maxRetries": 0, "requestTimeoutMs": 20000 });
    client.initialize(Some(&root), caps, options).await;
    let uri = file_uri(&path);
    let language = if file.0.ends_with(".rs") {
        "rust"
    } else {
        "plaintext"
    };
    client.did_open(&uri, language, 1, file.1);
    Harness {
        _dir: dir,
        root,
        fake,
        client,
        uri,
    }
}

async fn start(script: Script) -> Harness {
    start_with(script, caps(false, "utf-16"), true, ("src/lib.rs", SOURCE)).await
}

fn run_args(h: &Harness, action: &str, range: Value) -> Value {
    json!({ "action": action, "textDocument": { "uri": h.uri }, "range": range })
}

async fn execute(h: &mut Harness, args: Value) -> Value {
    h.client
        .request(
            "workspace/executeCommand",
            json!({ "command": "codex.runAction", "arguments": [args] }),
        )
        .await
}

async fn run(h: &mut Harness, action: &str, range: Value) -> Value {
    let args = run_args(h, action, range);
    execute(h, args).await
}

/// The edits of the last `workspace/applyEdit` for `uri`.
fn applied_edits(h: &Harness) -> Vec<Value> {
    let requests = h.client.server_requests_named("workspace/applyEdit");
    let last = requests.last().expect("no workspace/applyEdit");
    let changes = &last["params"]["edit"]["documentChanges"];
    let doc = changes
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["textDocument"]["uri"] == h.uri)
        .unwrap();
    doc["edits"].as_array().unwrap().clone()
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
        h.fake.set_script(Script::reply(patch));
        let mut args = run_args(&h, action, range(1, 4, 1, 4));
        for (k, v) in extra.as_object().unwrap() {
            args[k] = v.clone();
        }
        let response = execute(&mut h, args).await;
        assert_eq!(
            response["result"]["applied"],
            true,
            "{action}: {response}\nmessages: {:?}",
            h.client.shown_messages()
        );
        let edited = apply_lsp_edits(SOURCE, &applied_edits(&h), "utf-16");
        assert_eq!(edited, expected, "{action}");
        let request = &h.fake.requests()[i];
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
    // Versioned edit: the snapshot's version is carried.
    let last = h
        .client
        .server_requests_named("workspace/applyEdit")
        .pop()
        .unwrap();
    assert_eq!(
        last["params"]["edit"]["documentChanges"][0]["textDocument"]["version"],
        1
    );
}

#[tokio::test]
async fn resolve_path_returns_the_edit_in_resolve() {
    let mut h = start_with(
        Script::reply(SPACING_PATCH),
        caps(true, "utf-16"),
        true,
        ("src/lib.rs", SOURCE),
    )
    .await;
    let list = h
        .client
        .request("textDocument/codeAction", json!({
            "textDocument": { "uri": h.uri }, "range": range(1, 4, 1, 4), "context": { "diagnostics": [] }
        }))
        .await;
    let actions = list["result"].as_array().unwrap().clone();
    let titles: Vec<&str> = actions
        .iter()
        .map(|a| a["title"].as_str().unwrap())
        .collect();
    assert!(
        titles.contains(&"Codex: Simplify") && titles.contains(&"Codex: Rewrite…"),
        "{titles:?}"
    );
    assert!(
        h.fake.requests().is_empty(),
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
    let resolved = h.client.request("codeAction/resolve", simplify).await;
    let edits = resolved["result"]["edit"]["documentChanges"][0]["edits"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(
        apply_lsp_edits(SOURCE, &edits, "utf-16"),
        SOURCE.replace("a+b", "a + b")
    );
    assert_eq!(
        edits.len(),
        1,
        "minimal: one insertion-sized edit, got {edits:?}"
    );
    assert!(
        h.client
            .server_requests_named("workspace/applyEdit")
            .is_empty()
    );
}

#[tokio::test]
async fn command_path_lists_commands_and_respects_only() {
    let mut h = start(Script::reply(SPACING_PATCH)).await;
    let diagnostic = json!({ "range": range(1, 4, 1, 7), "message": "bad spacing\nsecond line" });
    let list = h
        .client
        .request(
            "textDocument/codeAction",
            json!({
                "textDocument": { "uri": h.uri }, "range": range(1, 4, 1, 4),
                "context": { "diagnostics": [diagnostic], "only": ["quickfix"] }
            }),
        )
        .await;
    let actions = list["result"].as_array().unwrap();
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
}

#[tokio::test]
async fn ai_tag_is_added_when_the_client_supports_it() {
    let mut c = caps(true, "utf-16");
    c["textDocument"]["codeAction"]["tagSupport"] = json!({ "valueSet": [1] });
    let mut h = start_with(
        Script::reply(SPACING_PATCH),
        c,
        true,
        ("src/lib.rs", SOURCE),
    )
    .await;
    let list = h
        .client
        .request("textDocument/codeAction", json!({
            "textDocument": { "uri": h.uri }, "range": range(1, 4, 1, 4), "context": { "diagnostics": [] }
        }))
        .await;
    for action in list["result"].as_array().unwrap() {
        assert_eq!(action["tags"], json!([1]), "{action}");
    }
}

#[tokio::test]
async fn multi_byte_text_in_every_encoding() {
    let source = "fn add(a: i32, b: i32) -> i32 {\n    /* 😀 日本 é */ a+b\n}\n";
    let patch = "*** Begin Patch\n*** Update File: src/lib.rs\n@@\n fn add(a: i32, b: i32) -> i32 {\n-    /* 😀 日本 é */ a+b\n+    /* 😀 日本 é */ a + b\n }\n*** End Patch\n";
    for encoding in ["utf-8", "utf-16", "utf-32"] {
        let mut h = start_with(
            Script::reply(patch),
            caps(false, encoding),
            true,
            ("src/lib.rs", source),
        )
        .await;
        let response = run(&mut h, "simplify", range(0, 3, 0, 3)).await;
        assert_eq!(
            response["result"]["applied"], true,
            "{encoding}: {response}"
        );
        let edited = apply_lsp_edits(source, &applied_edits(&h), encoding);
        assert_eq!(edited, source.replace("a+b", "a + b"), "{encoding}");
    }
}

#[tokio::test]
async fn stale_document_inside_the_region_is_refused() {
    let mut h = start(Script::new(vec![Rule::reply(SPACING_PATCH).delay_ms(700)])).await;
    let args = run_args(&h, "simplify", range(1, 4, 1, 4));
    let (_, pending) = h.client.send_request(
        "workspace/executeCommand",
        json!({ "command": "codex.runAction", "arguments": [args] }),
    );
    assert!(h.fake.wait_for_requests(1, Duration::from_secs(10)).await);
    // The user types inside the function while the model thinks.
    h.client.did_change(&h.uri, 2, range(1, 5, 1, 5), "+0");
    let response = tokio::time::timeout(Duration::from_secs(20), pending)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(response["result"]["applied"], false, "{response}");
    assert!(
        h.client
            .server_requests_named("workspace/applyEdit")
            .is_empty(),
        "no edit may be sent"
    );
    let shown = h.client.settled_messages().await;
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
    let args = run_args(&h, "simplify", range(1, 4, 1, 4));
    let (_, pending) = h.client.send_request(
        "workspace/executeCommand",
        json!({ "command": "codex.runAction", "arguments": [args] }),
    );
    assert!(h.fake.wait_for_requests(1, Duration::from_secs(10)).await);
    // A comment is added above the function: the edit must shift by a line.
    h.client
        .did_change(&h.uri, 2, range(0, 0, 0, 0), "// hello 😀\n");
    let response = tokio::time::timeout(Duration::from_secs(20), pending)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(response["result"]["applied"], true, "{response}");
    let current = format!("// hello 😀\n{SOURCE}");
    let edited = apply_lsp_edits(&current, &applied_edits(&h), "utf-16");
    assert_eq!(edited, current.replace("a+b", "a + b"));
    let version = &h.client.server_requests_named("workspace/applyEdit")[0]["params"]["edit"]["documentChanges"]
        [0]["textDocument"]["version"];
    assert_eq!(*version, 2, "the rebased edit targets the current version");
}

#[tokio::test]
async fn cancel_request_mid_stream_closes_the_connection_and_edits_nothing() {
    let mut h = start(Script::new(vec![Rule::reply(SPACING_PATCH).chunks(4, 300)])).await;
    let args = run_args(&h, "simplify", range(1, 4, 1, 4));
    let (id, pending) = h.client.send_request(
        "workspace/executeCommand",
        json!({ "command": "codex.runAction", "arguments": [args] }),
    );
    assert!(h.fake.wait_for_requests(1, Duration::from_secs(10)).await);
    tokio::time::sleep(Duration::from_millis(400)).await; // some deltas have streamed
    h.client.notify("$/cancelRequest", json!({ "id": id }));
    let response = tokio::time::timeout(Duration::from_secs(10), pending)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(response["error"]["code"], -32800, "{response}");
    assert!(
        h.fake
            .wait_for_disconnect(Duration::from_secs(5))
            .await
            .is_some(),
        "the fake server saw no disconnect"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        h.client
            .server_requests_named("workspace/applyEdit")
            .is_empty()
    );
}

#[tokio::test]
async fn progress_cancel_aborts_the_model_request() {
    let mut h = start(Script::new(vec![Rule::reply(SPACING_PATCH).chunks(4, 300)])).await;
    let args = run_args(&h, "simplify", range(1, 4, 1, 4));
    let (_, pending) = h.client.send_request(
        "workspace/executeCommand",
        json!({ "command": "codex.runAction", "arguments": [args] }),
    );
    let running = h
        .client
        .wait_until(Duration::from_secs(10), |n, _| {
            n.iter()
                .any(|m| m["method"] == "codex/status" && m["params"]["state"] == "running")
        })
        .await;
    assert!(running);
    // Cancel mid-stream (a cancel before the request is sent just never connects).
    assert!(h.fake.wait_for_requests(1, Duration::from_secs(10)).await);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let status = h.client.notifications_named("codex/status")[0].clone();
    let token = status["params"]["progressToken"].clone();
    h.client
        .notify("window/workDoneProgress/cancel", json!({ "token": token }));
    let response = tokio::time::timeout(Duration::from_secs(10), pending)
        .await
        .unwrap()
        .unwrap();
    assert!(
        response.get("error").is_some() || response["result"]["applied"] == false,
        "{response}"
    );
    assert!(
        h.fake
            .wait_for_disconnect(Duration::from_secs(5))
            .await
            .is_some()
    );
    assert!(
        h.client
            .server_requests_named("workspace/applyEdit")
            .is_empty()
    );
}

#[tokio::test]
async fn malformed_reply_edits_nothing_and_says_so_once() {
    let mut h = start(Script::reply("You should add spaces around the plus sign.")).await;
    let response = run(&mut h, "simplify", range(1, 4, 1, 4)).await;
    assert_eq!(response["result"]["applied"], false);
    assert!(
        h.client
            .server_requests_named("workspace/applyEdit")
            .is_empty()
    );
    let shown = h.client.settled_messages().await;
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert!(shown[0].contains("could not be used"), "{shown:?}");
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
    for (fault, needle) in cases {
        let mut h = start(Script::new(vec![Rule::fault(fault)])).await;
        let response = run(&mut h, "simplify", range(1, 4, 1, 4)).await;
        assert_eq!(
            response["result"]["applied"], false,
            "{fault:?}: {response}"
        );
        assert!(
            h.client
                .server_requests_named("workspace/applyEdit")
                .is_empty()
        );
        let shown = h.client.settled_messages().await;
        assert_eq!(shown.len(), 1, "{fault:?}: {shown:?}");
        assert!(
            shown[0].to_lowercase().contains(needle),
            "{fault:?}: {shown:?}"
        );
        assert!(!shown[0].contains("test-key-e2e"));
    }
}

#[tokio::test]
async fn excluded_file_is_never_sent() {
    let mut h = start_with(
        Script::reply(SPACING_PATCH),
        caps(false, "utf-16"),
        true,
        (".env", "OPENAI_API_KEY=sk-secret\n"),
    )
    .await;
    let list = h
        .client
        .request("textDocument/codeAction", json!({
            "textDocument": { "uri": h.uri }, "range": range(0, 0, 0, 0), "context": { "diagnostics": [] }
        }))
        .await;
    assert_eq!(
        list["result"],
        json!([]),
        "no actions offered for an excluded file"
    );
    let response = run(&mut h, "simplify", range(0, 0, 0, 0)).await;
    assert_eq!(response["result"]["applied"], false);
    let shown = h.client.settled_messages().await;
    assert!(shown.iter().any(|m| m.contains("exclude")), "{shown:?}");
    assert!(
        h.fake.requests().is_empty(),
        "the fake server received {:?}",
        h.fake.requests()
    );
}

#[tokio::test]
async fn missing_api_key_says_how_to_set_it() {
    let mut h = start_with(
        Script::reply(SPACING_PATCH),
        caps(false, "utf-16"),
        false,
        ("src/lib.rs", SOURCE),
    )
    .await;
    let response = run(&mut h, "simplify", range(1, 4, 1, 4)).await;
    assert_eq!(response["result"]["applied"], false);
    let shown = h.client.settled_messages().await;
    assert!(
        shown.len() == 1 && shown[0].contains("OPENAI_API_KEY"),
        "{shown:?}"
    );
    assert!(h.fake.requests().is_empty());
}

#[tokio::test]
async fn rewrite_without_instruction_is_invalid_params() {
    let mut h = start(Script::reply(SPACING_PATCH)).await;
    let response = run(&mut h, "rewrite", range(1, 4, 1, 4)).await;
    assert_eq!(response["error"]["code"], -32602, "{response}");
    assert!(h.fake.requests().is_empty());
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
    let mut h = start_with(
        Script::reply(SPACING_PATCH),
        caps(false, "utf-16"),
        true,
        ("src/lib.rs", &source),
    )
    .await;
    // Two different actions on two different functions of the same file.
    run(&mut h, "simplify", range(5, 8, 5, 8)).await;
    run(&mut h, "document", range(105, 8, 105, 8)).await;
    let requests = h.fake.requests();
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
    let idle = h.client.notifications_named("codex/status").pop().unwrap();
    assert!(
        idle["params"]["usage"]["cachedTokens"].as_u64().unwrap() > 0,
        "{idle}"
    );
}

#[tokio::test]
async fn progress_reports_begin_and_end_with_usage() {
    let mut h = start(Script::reply(SPACING_PATCH)).await;
    run(&mut h, "simplify", range(1, 4, 1, 4)).await;
    let creates = h
        .client
        .server_requests_named("window/workDoneProgress/create");
    assert_eq!(creates.len(), 1);
    let progress = h.client.notifications_named("$/progress");
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
    let idle = h.client.notifications_named("codex/status").pop().unwrap();
    assert_eq!(idle["params"]["state"], "idle");
    assert!(
        idle["params"]["usage"]["inputTokens"].as_u64().unwrap() > 0,
        "{idle}"
    );
    let _ = &h.root;
}
