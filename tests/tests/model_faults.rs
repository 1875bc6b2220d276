//! Every fault mode of the fake Responses server, end to end over stdio, on
//! both execution paths (`workspace/executeCommand` and `codeAction/resolve`):
//! the user gets exactly one clear `window/showMessage`, no edit is applied,
//! the number of requests matches the retry policy, and nothing waits past
//! the configured timeouts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use codex_lsp_tests::lsp_client::{LspClient, file_uri};
use codex_lsp_tests::{FakeResponses, Fault, Rule, Script};
use serde_json::{Value, json};

const SOURCE: &str = "fn add(a: i32, b: i32) -> i32 {\n    a+b\n}\n";
const PATCH: &str = "*** Begin Patch\n*** Update File: src/lib.rs\n@@\n fn add(a: i32, b: i32) -> i32 {\n-    a+b\n+    a + b\n }\n*** End Patch\n";
const KEY: &str = "sk-proj-faultsTESTkey0123456789abcdef";

/// Settings of every case: two retries, short timeouts.
const MAX_RETRIES: u32 = 2;
const REQUEST_TIMEOUT_MS: u64 = 6_000;
const IDLE_TIMEOUT_MS: u64 = 300;

struct Case {
    fault: Fault,
    /// The rule carries the patch as its reply (so stream faults deliver
    /// part of it before failing).
    with_reply: bool,
    /// Requests the fake must see: 1 + retries.
    requests: usize,
    /// Lower-case words the message must contain.
    needle: &'static str,
}

fn cases() -> Vec<Case> {
    let c = |fault, with_reply, requests, needle| Case {
        fault,
        with_reply,
        requests,
        needle,
    };
    let all = 1 + MAX_RETRIES as usize;
    vec![
        c(Fault::Http429, false, all, "rate limited"),
        c(Fault::Http500, false, all, "server had an error"),
        c(Fault::Http400, false, 1, "rejected the request"),
        c(Fault::Http401, false, 1, "api key"),
        c(Fault::ContextLengthExceeded, false, 1, "context window"),
        c(Fault::InsufficientQuota, false, 1, "quota"),
        // Part of the answer arrived: never retried.
        c(Fault::MalformedJson, true, 1, "malformed"),
        c(Fault::CutMidStream, true, 1, "closed the stream"),
        // Cut before any text: retried.
        c(Fault::CutMidStream, false, all, "closed the stream"),
        // `server_error` codes are retryable.
        c(Fault::ErrorEvent, false, all, "failed (server_error)"),
        c(Fault::ResponseFailed, false, all, "failed (server_error)"),
        c(Fault::Incomplete, true, 1, "stopped before finishing"),
        // Idle timeout, retried.
        c(Fault::Hang, false, all, "stalled"),
    ]
}

fn caps(resolve: bool) -> Value {
    let mut code_action = json!({
        "codeActionLiteralSupport": { "codeActionKind": { "valueSet": ["quickfix", "refactor"] } },
        "dataSupport": true
    });
    if resolve {
        code_action["resolveSupport"] = json!({ "properties": ["edit"] });
    }
    json!({
        "general": { "positionEncodings": ["utf-16"] },
        "workspace": { "applyEdit": true, "workspaceEdit": { "documentChanges": true } },
        "textDocument": { "codeAction": code_action },
        "window": { "workDoneProgress": true }
    })
}

struct Harness {
    _dir: tempfile::TempDir,
    fake: FakeResponses,
    client: LspClient,
    uri: String,
}

async fn start(rule: Rule, resolve: bool, options: Value) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let root: PathBuf = dir.path().canonicalize().unwrap();
    let path = root.join("src/lib.rs");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, SOURCE).unwrap();
    let fake = FakeResponses::start(Script::new(vec![rule])).await;
    let mut client = LspClient::spawn(&[("OPENAI_API_KEY", KEY)]).unwrap();
    let mut opts = json!({
        "baseUrl": fake.base_url(),
        "maxRetries": MAX_RETRIES,
        "requestTimeoutMs": REQUEST_TIMEOUT_MS,
        "streamIdleTimeoutMs": IDLE_TIMEOUT_MS,
    });
    for (k, v) in options.as_object().unwrap() {
        opts[k] = v.clone();
    }
    client.initialize(Some(&root), caps(resolve), opts).await;
    let uri = file_uri(&path);
    client.did_open(&uri, "rust", 1, SOURCE);
    Harness {
        _dir: dir,
        fake,
        client,
        uri,
    }
}

fn range() -> Value {
    json!({ "start": { "line": 1, "character": 4 }, "end": { "line": 1, "character": 4 } })
}

/// Runs the action on one path; returns the response and how long the
/// model call took: from the fake's receipt of the first request to the
/// response (building the first prompt loads the tokenizer, which takes
/// seconds in debug builds and is no model wait).
async fn run_action(h: &mut Harness, resolve: bool) -> (Value, Duration) {
    let response = if resolve {
        let list = h
            .client
            .request(
                "textDocument/codeAction",
                json!({ "textDocument": { "uri": h.uri }, "range": range(), "context": { "diagnostics": [] } }),
            )
            .await;
        let action = list["result"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["title"] == "Codex: Simplify")
            .cloned()
            .unwrap();
        assert!(action.get("edit").is_none() || action["edit"].is_null());
        h.client.request("codeAction/resolve", action).await
    } else {
        h.client
            .request(
                "workspace/executeCommand",
                json!({ "command": "codex.runAction", "arguments": [
                    { "action": "simplify", "textDocument": { "uri": h.uri }, "range": range() }
                ] }),
            )
            .await
    };
    let answered = Instant::now();
    let first = h.fake.requests().first().map(|r| r.received_at);
    let elapsed = first.map_or(Duration::ZERO, |t| answered.duration_since(t));
    (response, elapsed)
}

/// Checks one case on one path; returns a line for the report.
async fn check(case: &Case, resolve: bool) -> String {
    let rule = if case.with_reply {
        Rule::reply(PATCH).chunks(8, 0).with_fault(case.fault)
    } else {
        Rule::fault(case.fault)
    };
    let mut h = start(rule, resolve, json!({})).await;
    let (response, elapsed) = run_action(&mut h, resolve).await;
    let label = format!(
        "{:?}{} via {}",
        case.fault,
        if case.with_reply { " (with text)" } else { "" },
        if resolve { "resolve" } else { "command" }
    );
    // Answered, with a result and no edit.
    assert!(response.get("error").is_none(), "{label}: {response}");
    if resolve {
        assert!(
            response["result"].get("edit").is_none() || response["result"]["edit"].is_null(),
            "{label}: an edit came back: {response}"
        );
    } else {
        assert_eq!(response["result"]["applied"], false, "{label}: {response}");
    }
    assert!(
        h.client
            .server_requests_named("workspace/applyEdit")
            .is_empty(),
        "{label}: workspace/applyEdit was sent"
    );
    // Exactly one clear message.
    let shown = h.client.settled_messages().await;
    assert_eq!(shown.len(), 1, "{label}: {shown:?}");
    let message = &shown[0];
    assert!(message.starts_with("Codex: "), "{label}: {message}");
    assert!(
        message.to_lowercase().contains(case.needle),
        "{label}: `{message}` lacks `{}`",
        case.needle
    );
    assert!(!message.contains(KEY), "{label}: the key leaked");
    if !resolve {
        assert_eq!(
            response["result"]["message"].as_str(),
            Some(message.as_str()),
            "{label}: the result carries the message shown"
        );
    }
    // Retries within policy.
    let requests = h.fake.requests();
    assert_eq!(
        requests.len(),
        case.requests,
        "{label}: {} requests to the fake",
        requests.len()
    );
    // Nothing waits past the configured timeout (generous margin for a
    // loaded machine).
    let bound = Duration::from_millis(REQUEST_TIMEOUT_MS) + Duration::from_secs(5);
    assert!(elapsed < bound, "{label}: took {elapsed:?}");
    let line = format!(
        "{label}: {} request(s), {:.2} s, \"{message}\"",
        requests.len(),
        elapsed.as_secs_f64()
    );
    h.client.shutdown().await;
    line
}

async fn every_fault(resolve: bool) {
    let cases = cases();
    // Cases are independent (own fake, own server): run them side by side.
    let lines = futures_util::future::join_all(cases.iter().map(|c| check(c, resolve))).await;
    for line in lines {
        println!("{line}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_fault_via_execute_command() {
    every_fault(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_fault_via_code_action_resolve() {
    every_fault(true).await;
}

#[tokio::test]
async fn a_hang_ends_at_the_request_timeout_even_with_a_long_idle_timeout() {
    // Idle timeout far away: only requestTimeoutMs can end the call.
    let mut h = start(
        Rule::fault(Fault::Hang),
        false,
        json!({ "requestTimeoutMs": 1500, "streamIdleTimeoutMs": 600000 }),
    )
    .await;
    let (response, elapsed) = run_action(&mut h, false).await;
    assert_eq!(response["result"]["applied"], false, "{response}");
    let shown = h.client.settled_messages().await;
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert!(shown[0].contains("requestTimeoutMs"), "{shown:?}");
    assert!(
        elapsed >= Duration::from_millis(1400),
        "ended before the timeout: {elapsed:?}"
    );
    assert!(
        elapsed < Duration::from_millis(1500) + Duration::from_secs(5),
        "{elapsed:?}"
    );
    assert_eq!(h.fake.requests().len(), 1);
    // The hung connection was closed, not leaked.
    assert!(
        h.fake
            .wait_for_disconnect(Duration::from_secs(5))
            .await
            .is_some(),
        "the hung stream was not closed"
    );
    println!(
        "hang with requestTimeoutMs 1500: ended after {elapsed:?}: {}",
        shown[0]
    );
}

#[tokio::test]
async fn retries_never_run_past_the_request_timeout() {
    // Each 429 asks for a 3 s wait; with a 2 s budget the second attempt
    // would end past it, so it must not start.
    let mut rule = Rule::fault(Fault::Http429);
    rule.retry_after = 3.0;
    let mut h = start(
        rule,
        false,
        json!({ "requestTimeoutMs": 2000, "maxRetries": 5 }),
    )
    .await;
    let (response, elapsed) = run_action(&mut h, false).await;
    assert_eq!(response["result"]["applied"], false, "{response}");
    let shown = h.client.settled_messages().await;
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert_eq!(h.fake.requests().len(), 1, "retried past the budget");
    assert!(
        elapsed < Duration::from_secs(2) + Duration::from_secs(5),
        "{elapsed:?}"
    );
}
