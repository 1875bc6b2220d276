//! Edge defects of issue 13 (hover, explain, actions, progress, transport)
//! end to end: the real binary over stdio against the fake Responses
//! server. Each test names the defect it pins down.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use codex_lsp_tests::harness::{TestServer, TestServerBuilder, WAIT, hover_text, range};
use codex_lsp_tests::{Fault, Rule, Script};
use serde_json::{Value, json};

const EXPLANATION: &str = "**Computes the area of a circle.**";

/// A module with five import lines and one function.
const IMPORTS: &str = "import os\nimport sys\nimport json\nimport re\nimport math\n\n\ndef area(r):\n    return math.pi * r * r\n\n\nif __name__ == \"__main__\":\n    print(area(2))\n";

/// The editor of these tests: Markdown hovers, documents shown with
/// `window/showDocument`, no work-done progress.
fn editor() -> TestServerBuilder {
    TestServer::builder().no_progress()
}

// Defect 13: in the default hover mode (`auto`) a hover outside every
// definition (module-level lines) never calls the model; hovering a
// definition still does, and the explain command explains any line on
// request.
#[tokio::test]
async fn hovers_outside_definitions_never_call_the_model() {
    let mut h = editor()
        .file_as("app.py", "python", IMPORTS)
        .reply(EXPLANATION)
        .start()
        .await;
    // Five import lines, and a module-level block that is no definition.
    for line in [0, 1, 2, 3, 4, 12] {
        let response = h.hover(line, 3).await;
        assert_eq!(response["result"], Value::Null, "line {line}: {response}");
    }
    assert_eq!(
        h.model_requests().len(),
        0,
        "a hover outside a definition called the model"
    );
    // A definition is explained on hover.
    assert_eq!(hover_text(&h.hover(8, 10).await), EXPLANATION);
    assert_eq!(h.model_requests().len(), 1);
    // The user can still ask for an import line (the explain command, as
    // the "Explain this code" action runs it).
    let uri = h.uri();
    let response = h.explain(&uri, range(0, 3, 0, 3)).await;
    assert_eq!(response["result"]["markdown"], EXPLANATION, "{response}");
    assert_eq!(h.model_requests().len(), 2);
    assert_eq!(h.shown_documents().len(), 1);
    // Now cached, the explanation of that line also shows on hover.
    assert_eq!(hover_text(&h.hover(0, 3).await), EXPLANATION);
    assert_eq!(h.model_requests().len(), 2);
    // A language without a grammar: its indented blocks are the
    // definitions we can find; lines outside any block are not explained.
    let lua = h.open(
        "sample.lua",
        "lua",
        "local function add(a, b)\n  return a+b\nend\n\nreturn add\n",
    );
    assert_eq!(h.hover_in(&lua, 4, 2).await["result"], Value::Null);
    assert_eq!(h.model_requests().len(), 2);
    assert_eq!(hover_text(&h.hover_in(&lua, 1, 4).await), EXPLANATION);
    assert_eq!(h.model_requests().len(), 3);
}

/// The `codex/status` or `$/progress` notifications of one progress token.
fn of_token<'a>(notifications: &'a [Value], token: &str) -> Vec<&'a Value> {
    notifications
        .iter()
        .filter(|n| n["params"]["progressToken"] == token || n["params"]["token"] == token)
        .collect()
}

// Defect 14: `$/cancelRequest` on an action (resolve or the runAction
// command) ends its progress and its `codex/status` like any other end.
#[tokio::test]
async fn a_cancelled_request_ends_its_progress_and_status() {
    for resolve in [false, true] {
        let builder = TestServer::builder()
            .file_as("util.py", "python", "def add(a, b):\n    return a+b\n")
            .rule(Rule::fault(Fault::Hang));
        let mut h = if resolve { builder.resolve() } else { builder }
            .start()
            .await;
        let (id, pending) = if resolve {
            let action = h.action(range(1, 4, 1, 4), "Codex: Simplify").await;
            h.send_request("codeAction/resolve", action)
        } else {
            let args = h.run_args("simplify", range(1, 4, 1, 4));
            h.send_run_action(args)
        };
        h.wait_for_model_requests(1).await;
        let running = h
            .wait_for_notification("codex/status", |n| n["params"]["state"] == "running")
            .await;
        let token = running["params"]["progressToken"]
            .as_str()
            .unwrap()
            .to_owned();
        // The progress is on screen (a job that ends before the client
        // accepted its token shows none, so there would be nothing to end).
        h.wait_for_notification("$/progress", |n| {
            n["params"]["token"] == token.as_str() && n["params"]["value"]["kind"] == "begin"
        })
        .await;
        h.notify("$/cancelRequest", json!({ "id": id }));
        let response = tokio::time::timeout(WAIT, pending).await.unwrap().unwrap();
        assert_eq!(response["error"]["code"], -32800, "{response}");
        h.wait_for_notification("$/progress", |n| {
            n["params"]["token"] == token.as_str() && n["params"]["value"]["kind"] == "end"
        })
        .await;
        h.wait_for_notification("codex/status", |n| {
            n["params"]["progressToken"] == token.as_str() && n["params"]["state"] == "idle"
        })
        .await;
        // Exactly one end of each, and nothing shown for a cancel.
        h.barrier().await;
        let progress = h.notifications("$/progress");
        let ends: Vec<_> = of_token(&progress, &token)
            .into_iter()
            .filter(|n| n["params"]["value"]["kind"] == "end")
            .collect();
        assert_eq!(ends.len(), 1, "resolve: {resolve}: {progress:?}");
        let status = h.notifications("codex/status");
        let idle: Vec<_> = of_token(&status, &token)
            .into_iter()
            .filter(|n| n["params"]["state"] == "idle")
            .collect();
        assert_eq!(idle.len(), 1, "resolve: {resolve}: {status:?}");
        assert_eq!(idle[0]["params"]["message"], "cancelled");
        assert!(h.messages().is_empty());
    }
}

const MODELS: &str = "class User:\n    def __init__(self, name):\n        self.name = name\n\n    def __str__(self):\n        return self.name\n\n\nclass Product:\n    def __init__(self, name):\n        self.name = name\n\n    def __str__(self):\n        return self.name\n";

// Defect 15: an explanation is never reused for identical code in another
// class or another file: the cache key is what went into the answer.
#[tokio::test]
async fn identical_code_elsewhere_gets_its_own_explanation() {
    let mut h = editor()
        .file_as("models.py", "python", MODELS)
        .script(Script::new(vec![
            Rule::reply("Shows a user.").times(1),
            Rule::reply("Shows a product.").times(1),
            Rule::reply("Shows a copied user."),
        ]))
        .start()
        .await;
    let copy = h.open("copy/models.py", "python", MODELS);
    assert_eq!(hover_text(&h.hover(5, 10).await), "Shows a user.");
    assert_eq!(hover_text(&h.hover(13, 10).await), "Shows a product.");
    assert_eq!(
        hover_text(&h.hover_in(&copy, 5, 10).await),
        "Shows a copied user."
    );
    assert_eq!(h.model_requests().len(), 3);
    // Each is cached under its own key.
    assert_eq!(hover_text(&h.hover(5, 12).await), "Shows a user.");
    assert_eq!(hover_text(&h.hover(13, 12).await), "Shows a product.");
    assert_eq!(h.model_requests().len(), 3);
}

/// The command each listed action carries (`None` for one resolved).
fn listed_commands(actions: &[Value]) -> Vec<(String, Option<String>)> {
    actions
        .iter()
        .map(|a| {
            (
                a["title"].as_str().unwrap_or_default().to_owned(),
                a["command"]["command"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

// Defect 22: a client without `workspace/applyEdit` is never offered an
// action whose edit would have to be applied with it, and running one
// anyway is refused before the model is called, with one message.
#[tokio::test]
async fn without_apply_edit_command_path_edits_are_not_offered_nor_run() {
    let mut h = TestServer::builder()
        .capability("/workspace/applyEdit", json!(false))
        .file_as("util.py", "python", "def add(a, b):\n    return a+b\n")
        .reply("*** Begin Patch\n*** End Patch\n")
        .start()
        .await;
    let actions = h.list_actions(range(1, 4, 1, 4)).await;
    assert_eq!(
        listed_commands(&actions),
        [(
            "Codex: Explain this code".to_owned(),
            Some("codex.explain".to_owned())
        )],
        "{actions:?}"
    );
    let response = h.run_action("simplify", range(1, 4, 1, 4)).await;
    assert_eq!(response["result"]["applied"], false, "{response}");
    let message = response["result"]["message"].as_str().unwrap();
    assert!(message.contains("workspace/applyEdit"), "{message}");
    assert_eq!(h.messages(), [message]);
    assert!(h.model_requests().is_empty(), "the model was called");

    // On the resolve path the resolvable edits stay (resolve returns the
    // edit; no applyEdit needed); rewrite, a command, does not.
    let mut h = TestServer::builder()
        .resolve()
        .capability("/workspace/applyEdit", json!(false))
        .file_as("util.py", "python", "def add(a, b):\n    return a+b\n")
        .start()
        .await;
    let titles: Vec<_> = listed_commands(&h.list_actions(range(1, 4, 1, 4)).await)
        .into_iter()
        .map(|(title, command)| (title, command.is_some()))
        .collect();
    assert_eq!(
        titles,
        [
            ("Codex: Simplify".to_owned(), false),
            ("Codex: Add documentation".to_owned(), false),
            ("Codex: Add error handling".to_owned(), false),
            ("Codex: Generate tests".to_owned(), false),
            ("Codex: Explain this code".to_owned(), true),
        ]
    );
}

const KEY_FN: &str = "fn key() -> &'static str {\n    \"not a secret\"\n}\n";

// Defect 23: a hover in an excluded file, or without an API key, answers
// nothing (so no "Codex: …" line sits above other servers' hovers); the
// reason is shown once per session, once for each.
#[tokio::test]
async fn excluded_and_keyless_hovers_answer_nothing_and_say_so_once() {
    let mut h = editor()
        .no_api_key()
        .file("lib.rs", KEY_FN)
        .file_as("server.pem", "rust", KEY_FN)
        .file_as("client.pem", "rust", KEY_FN)
        .reply(EXPLANATION)
        .start()
        .await;
    let (pem, other_pem) = (h.uri_of("server.pem"), h.uri_of("client.pem"));
    for uri in [&pem, &other_pem, &pem] {
        let response = h.hover_in(uri, 1, 6).await;
        assert_eq!(response["result"], Value::Null, "{response}");
    }
    let shown = h.messages();
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert!(
        shown[0].contains("server.pem") && shown[0].contains("excluded"),
        "{shown:?}"
    );
    for _ in 0..3 {
        let response = h.hover(1, 6).await;
        assert_eq!(response["result"], Value::Null, "{response}");
    }
    let shown = h.new_messages();
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert!(shown[0].contains("OPENAI_API_KEY"), "{shown:?}");
    assert!(h.model_requests().is_empty());
    // Other failures stay hover text (see hover.rs); the explain command,
    // which the user asked for, still says why every time.
    let uri = h.uri();
    let response = h.explain(&uri, range(1, 6, 1, 6)).await;
    let message = response["result"]["message"].as_str().unwrap();
    assert!(message.contains("OPENAI_API_KEY"), "{response}");
    assert_eq!(h.new_messages(), [message]);
}

/// The local path of a `file://` URI the server sent.
fn local_path(uri: &Value) -> std::path::PathBuf {
    std::path::PathBuf::from(uri.as_str().unwrap().trim_start_matches("file://"))
}

// Defect 28: explanation views (private code, model output) do not stay
// in the temporary directory: a view goes when its document closes, and
// every view when the server shuts down.
#[tokio::test]
async fn explanation_views_are_removed_on_close_and_shutdown() {
    let tmp = tempfile::tempdir().unwrap();
    let views = tmp.path().join("codex-lsp-explanations");
    let mut h = editor()
        .env("TMPDIR", tmp.path())
        .file("lib.rs", KEY_FN)
        .reply(EXPLANATION)
        .start()
        .await;
    let uri = h.uri();
    let other = h.open("other.rs", "rust", "fn other() {\n    let _ = 1;\n}\n");
    h.explain(&uri, range(1, 4, 1, 4)).await;
    h.explain(&other, range(1, 4, 1, 4)).await;
    let shown = h.shown_documents();
    assert_eq!(shown.len(), 2, "{shown:?}");
    let (view, other_view) = (local_path(&shown[0]["uri"]), local_path(&shown[1]["uri"]));
    assert!(view.starts_with(&views) && other_view.starts_with(&views));
    assert_eq!(std::fs::read_to_string(&view).unwrap(), EXPLANATION);
    assert!(other_view.exists());
    // Closing a document removes its view, and only its view.
    h.notify(
        "textDocument/didClose",
        json!({ "textDocument": { "uri": uri } }),
    );
    h.barrier().await;
    assert!(!view.exists(), "the view outlived its document");
    assert!(other_view.exists(), "another document's view went too");
    // Shutting down removes the rest.
    assert_eq!(h.shutdown().await, Some(0));
    assert!(!other_view.exists(), "the view outlived the server");
    assert_eq!(std::fs::read_dir(&views).unwrap().count(), 0);
    // An `exit` without `shutdown` removes them too.
    let mut h = editor()
        .env("TMPDIR", tmp.path())
        .file("lib.rs", KEY_FN)
        .reply(EXPLANATION)
        .start()
        .await;
    let uri = h.uri();
    h.explain(&uri, range(1, 4, 1, 4)).await;
    let view = local_path(&h.shown_documents()[0]["uri"]);
    assert!(view.exists());
    h.notify("exit", Value::Null);
    // The server's output ends when its process does.
    h.wait_for_notification("$/eof", |_| true).await;
    assert!(!view.exists(), "the view outlived the server");
}

/// The `seq` of the first arrival for which `pred` holds.
fn arrived(arrivals: &[Value], what: &str, pred: impl Fn(&Value) -> bool) -> u64 {
    arrivals
        .iter()
        .find(|a| pred(a))
        .and_then(|a| a["seq"].as_u64())
        .unwrap_or_else(|| panic!("no {what} among {arrivals:?}"))
}

// Defect 29: what a request's handler sent before answering (the failure
// message, the progress end, the idle status) reaches the client before
// the answer.
#[tokio::test]
async fn messages_and_progress_end_arrive_before_the_response() {
    for resolve in [false, true] {
        let builder = TestServer::builder()
            .file_as("util.py", "python", "def add(a, b):\n    return a+b\n")
            .rule(Rule::fault(Fault::Http500));
        let mut h = if resolve { builder.resolve() } else { builder }
            .start()
            .await;
        let (id, pending) = if resolve {
            let action = h.action(range(1, 4, 1, 4), "Codex: Simplify").await;
            h.send_request("codeAction/resolve", action)
        } else {
            let args = h.run_args("simplify", range(1, 4, 1, 4));
            h.send_run_action(args)
        };
        let response = tokio::time::timeout(WAIT, pending).await.unwrap().unwrap();
        assert!(response.get("result").is_some(), "{response}");
        h.barrier().await;
        let arrivals = h.arrivals();
        let answer = arrived(&arrivals, "response", |a| {
            a["kind"] == "response" && a["id"] == id
        });
        let message = arrived(&arrivals, "message", |a| {
            a["method"] == "window/showMessage"
        });
        let idle = arrived(&arrivals, "idle status", |a| a["state"] == "idle");
        assert!(
            message < answer && idle < answer,
            "resolve: {resolve}: {arrivals:?}"
        );
        // The progress either ended before the answer or, when the client
        // had not accepted the token by then, was never shown: no `begin`
        // or `end` follows the answer.
        let late = arrivals.iter().any(|a| {
            a["method"] == "$/progress" && a["seq"].as_u64().is_some_and(|seq| seq > answer)
        });
        assert!(!late, "resolve: {resolve}: {arrivals:?}");
        if let Some(end) = arrivals.iter().find(|a| a["progress"] == "end") {
            assert!(end["seq"].as_u64() < Some(answer), "{arrivals:?}");
        }
        let shown = h.messages();
        assert_eq!(shown.len(), 1, "{shown:?}");
    }
}

const FUNCS: &str = "def f0(x):\n    return x+0\n\n\ndef f1(x):\n    return x+1\n\n\ndef f2(x):\n    return x+2\n\n\ndef f3(x):\n    return x+3\n\n\ndef f4(x):\n    return x+4\n";
const F4_PATCH: &str = "*** Begin Patch\n*** Update File: funcs.py\n@@\n def f4(x):\n-    return x+4\n+    return x + 4\n*** End Patch\n";

// Defect 31: stalled hovers never take every `maxConcurrentRequests`
// slot: the user's explicit action still runs, and hovers and actions
// together stay within the limit.
#[tokio::test]
async fn stalled_hovers_leave_a_slot_for_the_users_action() {
    let mut h = editor()
        .file_as("funcs.py", "python", FUNCS)
        .script(Script::new(vec![
            Rule::fault(Fault::Hang).matching("Explain the target code"),
            Rule::reply(F4_PATCH),
        ]))
        .setting("maxConcurrentRequests", 4)
        .start()
        .await;
    let uri = h.uri();
    let mut hovers = Vec::new();
    for f in 0..4 {
        let (_, pending) = h.send_request(
            "textDocument/hover",
            TestServer::hover_params(&uri, f * 4 + 1, 8),
        );
        hovers.push(pending);
    }
    // Three hovers hang at the model; the fourth waits for a hover slot.
    h.wait_for_model_requests(3).await;
    let args = h.run_args("simplify", range(17, 8, 17, 8));
    let (_, pending) = h.send_run_action(args);
    let response = tokio::time::timeout(WAIT, pending)
        .await
        .expect("the action waited behind the stalled hovers")
        .unwrap();
    assert_eq!(response["result"]["applied"], true, "{response}");
    h.barrier().await;
    assert_eq!(h.applied_edits().len(), 1);
    // The limit is a total: three hovers and the action.
    let requests = h.model_requests();
    assert_eq!(requests.len(), 4, "{} model requests", requests.len());
    drop(hovers);
}

/// A typo in one setting used to reject the whole object: the server then
/// ran on the defaults, so a `baseUrl` pointing at a local server fell back
/// to OpenAI's (the code went elsewhere, or nowhere).
#[tokio::test]
async fn one_bad_setting_keeps_the_others_in_force() {
    let mut h = TestServer::builder()
        .file_as("app.py", "python", "def add(a, b):\n    return a+b\n")
        .setting("explain", json!({ "hoverWaitMs": "soon" }))
        .setting("modle", "typo")
        .reply("*** Begin Patch\n*** Update File: app.py\n@@\n def add(a, b):\n-    return a+b\n+    return a + b\n*** End Patch\n")
        .start()
        .await;
    let shown = h.wait_for_messages(1).await;
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert!(
        shown[0].contains("codex.explain.hoverWaitMs") && shown[0].contains("modle"),
        "{shown:?}"
    );
    assert!(shown[0].contains("the other settings apply"), "{shown:?}");
    // The fake server's baseUrl (a setting beside the bad ones) is in force.
    let response = h.run_action("simplify", range(1, 4, 1, 4)).await;
    assert_eq!(response["result"]["applied"], true, "{response}");
    assert_eq!(h.model_requests().len(), 1);
    let _ = h.applied_edits();
}
