//! Every fault mode of the fake Responses server, end to end over stdio, on
//! both execution paths (`workspace/executeCommand` and `codeAction/resolve`):
//! the user gets exactly one clear `window/showMessage`, no edit is applied,
//! the number of requests matches the retry policy, and nothing waits past
//! the configured timeouts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::time::{Duration, Instant};

use codex_lsp_tests::harness::{self, TestServer};
use codex_lsp_tests::{Fault, Rule};
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

/// The editor of these tests: `documentChanges` without resource
/// operations, progress, no `showDocument`; resolve support on the resolve
/// path. Two retries and short timeouts unless `options` say otherwise.
async fn start(rule: Rule, resolve: bool, options: Value) -> TestServer {
    let mut builder = TestServer::builder()
        .create_files(false)
        .show_document(false)
        .api_key(KEY)
        .file("src/lib.rs", SOURCE)
        .rule(rule)
        .settings(json!({
            "maxRetries": MAX_RETRIES,
            "requestTimeoutMs": REQUEST_TIMEOUT_MS,
            "streamIdleTimeoutMs": IDLE_TIMEOUT_MS,
        }))
        .settings(options);
    if resolve {
        builder = builder.resolve();
    }
    builder.start().await
}

fn range() -> Value {
    harness::range(1, 4, 1, 4)
}

/// Runs the action on one path; returns the response and how long the
/// model call took: from the fake's receipt of the first request to the
/// response (building the first prompt loads the tokenizer, which takes
/// seconds in debug builds and is no model wait).
async fn run_action(h: &mut TestServer, resolve: bool) -> (Value, Duration) {
    let response = if resolve {
        let action = h.action(range(), "Codex: Simplify").await;
        assert!(action.get("edit").is_none() || action["edit"].is_null());
        h.request("codeAction/resolve", action).await
    } else {
        let args = h.run_args("simplify", range());
        h.request(
            "workspace/executeCommand",
            json!({ "command": "codex.runAction", "arguments": [args] }),
        )
        .await
    };
    let answered = Instant::now();
    let first = h.model_requests().first().map(|r| r.received_at);
    let elapsed = first.map_or(Duration::ZERO, |t| answered.duration_since(t));
    (response, elapsed)
}

/// Checks one case on one path; returns a line for the report and a row
/// (case, requests, message) for the snapshot.
async fn check(case: &Case, resolve: bool) -> (String, Value) {
    let rule = if case.with_reply {
        Rule::reply(PATCH).chunks(8, 0).with_fault(case.fault)
    } else {
        Rule::fault(case.fault)
    };
    let mut h = start(rule, resolve, json!({})).await;
    let (response, elapsed) = run_action(&mut h, resolve).await;
    let case_name = format!(
        "{:?}{}",
        case.fault,
        if case.with_reply { " (with text)" } else { "" }
    );
    let label = format!(
        "{case_name} via {}",
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
    h.barrier().await;
    assert!(
        h.applied_edits().is_empty(),
        "{label}: workspace/applyEdit was sent"
    );
    // Exactly one clear message.
    let shown = h.wait_for_messages(1).await;
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
    let requests = h.model_requests();
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
    let row = json!({ "case": case_name, "requests": requests.len(), "message": message });
    assert_eq!(h.shutdown().await, Some(0), "{label}: exit code");
    (line, row)
}

async fn every_fault(resolve: bool) {
    let cases = cases();
    // Cases are independent (own fake, own server): run them side by side.
    let results = futures_util::future::join_all(cases.iter().map(|c| check(c, resolve))).await;
    let mut rows = Vec::new();
    for (line, row) in results {
        println!("{line}");
        rows.push(row);
    }
    // The same messages on both paths.
    insta::assert_json_snapshot!("every_fault", rows);
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
    let shown = h.wait_for_messages(1).await;
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
    assert_eq!(h.model_requests().len(), 1);
    // The hung connection was closed, not leaked.
    assert!(
        h.fake()
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
    let shown = h.wait_for_messages(1).await;
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert_eq!(h.model_requests().len(), 1, "retried past the budget");
    assert!(
        elapsed < Duration::from_secs(2) + Duration::from_secs(5),
        "{elapsed:?}"
    );
}
