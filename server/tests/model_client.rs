//! The real model client (reqwest, rustls build, SSE parser) against the fake
//! Responses server over 127.0.0.1: every fault mode, retries as the server
//! saw them, timeouts, usage, the request body snapshot and cancellation.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::time::{Duration, Instant};

use codex_lsp::config::Effort;
use codex_lsp::model::{
    ApiKey, Auth, CallPolicy, Endpoint, InputItem, ModelClient, ModelError, ModelReply, Progress,
    Reasoning, ResponsesRequest, TextConfig, TextFormat, Usage,
};
use codex_lsp_tests::{FakeResponses, Fault, RecordedRequest, Rule, Script};
use tokio_util::sync::CancellationToken;

const KEY: &str = "sk-test-model-client-0123456789";

fn endpoint(server: &FakeResponses) -> Endpoint {
    Endpoint {
        base_url: server.base_url(),
        auth: Auth::Bearer(ApiKey::new(KEY)),
    }
}

/// Fast retries so the suite stays quick; generous overall timeout.
fn policy() -> CallPolicy {
    CallPolicy {
        request_timeout: Duration::from_secs(15),
        idle_timeout: Duration::from_secs(3),
        max_retries: 2,
        max_retry_delay: Duration::from_secs(2),
        initial_retry_delay: Duration::from_millis(10),
    }
}

fn request(task: &str) -> ResponsesRequest {
    ResponsesRequest::new("gpt-5.2-codex", vec![InputItem::user_text(task)])
}

/// What one call did, as the caller saw it.
#[derive(Debug, Default)]
struct Seen {
    deltas: Vec<String>,
    delta_times: Vec<Instant>,
    retries: Vec<(u32, Duration, String)>,
}

async fn call_with(
    server: &FakeResponses,
    req: &ResponsesRequest,
    policy: &CallPolicy,
) -> (Result<ModelReply, ModelError>, Seen) {
    let client = ModelClient::new().unwrap();
    let mut seen = Seen::default();
    let mut on_progress = |p: Progress<'_>| match p {
        Progress::Delta(d) => {
            seen.deltas.push(d.to_owned());
            seen.delta_times.push(Instant::now());
        }
        Progress::Retrying {
            attempt,
            delay,
            reason,
        } => seen.retries.push((attempt, delay, reason)),
    };
    let result = client
        .respond(&endpoint(server), req, policy, &mut on_progress)
        .await;
    (result, seen)
}

async fn run_script(
    script: Script,
) -> (Result<ModelReply, ModelError>, Seen, Vec<RecordedRequest>) {
    let server = FakeResponses::start(script).await;
    let (result, seen) = call_with(&server, &request("Explain this code"), &policy()).await;
    let requests = server.requests();
    (result, seen, requests)
}

type Check = fn(&Result<ModelReply, ModelError>) -> bool;

#[tokio::test]
async fn every_fault_mode_against_the_real_client() {
    let long = "The quick brown fox jumps over the lazy dog. ".repeat(4);
    // (name, rules, expected outcome, requests the server must see, deltas delivered?)
    let cases: Vec<(&str, Vec<Rule>, Check, usize, bool)> = vec![
        (
            "success",
            vec![Rule::reply("Hello, wörld — ✓")],
            |r| matches!(r, Ok(reply) if reply.text == "Hello, wörld — ✓" && reply.response_id == "resp_fake_1"),
            1,
            true,
        ),
        (
            "http500 always: retried max_retries times",
            vec![Rule::fault(Fault::Http500)],
            |r| matches!(r, Err(ModelError::Server { status: 500, .. })),
            3,
            false,
        ),
        (
            "http500 twice then success",
            vec![Rule::fault(Fault::Http500).times(2), Rule::reply("ok")],
            |r| matches!(r, Ok(reply) if reply.text == "ok"),
            3,
            true,
        ),
        (
            "http500 with x-should-retry: false",
            vec![Rule::fault(Fault::Http500).header("x-should-retry", Some("false"))],
            |r| matches!(r, Err(ModelError::Server { .. })),
            1,
            false,
        ),
        (
            "http400 is fatal",
            vec![Rule::fault(Fault::Http400)],
            |r| matches!(r, Err(ModelError::BadRequest { code: Some(c), .. }) if c == "invalid_value"),
            1,
            false,
        ),
        (
            "http400 stays fatal despite x-should-retry: true",
            vec![Rule::fault(Fault::Http400).header("x-should-retry", Some("true"))],
            |r| matches!(r, Err(ModelError::BadRequest { .. })),
            1,
            false,
        ),
        (
            "http401 is fatal",
            vec![Rule::fault(Fault::Http401)],
            |r| matches!(r, Err(ModelError::Unauthorized { message }) if message.starts_with("Incorrect API key")),
            1,
            false,
        ),
        (
            "contextLengthExceeded is fatal",
            vec![Rule::fault(Fault::ContextLengthExceeded)],
            |r| matches!(r, Err(ModelError::ContextLengthExceeded { .. })),
            1,
            false,
        ),
        (
            "insufficientQuota is fatal even on 429",
            vec![Rule::fault(Fault::InsufficientQuota)],
            |r| matches!(r, Err(ModelError::QuotaExceeded { .. })),
            1,
            false,
        ),
        (
            "http429 once then success",
            vec![
                Rule::fault(Fault::Http429)
                    .header("retry-after", None)
                    .header("retry-after-ms", Some("30"))
                    .times(1),
                Rule::reply("after the limit"),
            ],
            |r| matches!(r, Ok(reply) if reply.text == "after the limit"),
            2,
            true,
        ),
        (
            "malformedJson after a delta",
            vec![
                Rule::reply("abcdefghijklmnopqrstuvwxyz")
                    .chunks(4, 0)
                    .with_fault(Fault::MalformedJson),
            ],
            |r| matches!(r, Err(ModelError::MalformedEvent { .. })),
            1,
            true,
        ),
        (
            "cutMidStream after deltas: not retried",
            vec![
                Rule::reply(&long)
                    .chunks(8, 0)
                    .with_fault(Fault::CutMidStream),
            ],
            |r| matches!(r, Err(ModelError::StreamEnded)),
            1,
            true,
        ),
        (
            "cutMidStream before any delta: retried",
            vec![Rule::fault(Fault::CutMidStream)],
            |r| matches!(r, Err(ModelError::StreamEnded)),
            3,
            false,
        ),
        (
            "cutMidStream once, then success",
            vec![
                Rule::fault(Fault::CutMidStream).times(1),
                Rule::reply("second try"),
            ],
            |r| matches!(r, Ok(reply) if reply.text == "second try"),
            2,
            true,
        ),
        (
            "errorEvent server_error: retried",
            vec![Rule::fault(Fault::ErrorEvent)],
            |r| matches!(r, Err(ModelError::Failed { code: Some(c), .. }) if c == "server_error"),
            3,
            false,
        ),
        (
            "errorEvent invalid_prompt: fatal",
            vec![Rule::fault(Fault::ErrorEvent).error_code("invalid_prompt")],
            |r| matches!(r, Err(ModelError::Failed { code: Some(c), .. }) if c == "invalid_prompt"),
            1,
            false,
        ),
        (
            "errorEvent insufficient_quota: typed and fatal",
            vec![Rule::fault(Fault::ErrorEvent).error_code("insufficient_quota")],
            |r| matches!(r, Err(ModelError::QuotaExceeded { .. })),
            1,
            false,
        ),
        (
            "responseFailed once, then success",
            vec![
                Rule::fault(Fault::ResponseFailed).times(1),
                Rule::reply("recovered"),
            ],
            |r| matches!(r, Ok(reply) if reply.text == "recovered"),
            2,
            true,
        ),
        (
            "responseFailed context_length_exceeded: fatal",
            vec![Rule::fault(Fault::ResponseFailed).error_code("context_length_exceeded")],
            |r| matches!(r, Err(ModelError::ContextLengthExceeded { .. })),
            1,
            false,
        ),
        (
            "incomplete carries the reason",
            vec![Rule::reply(&long).with_fault(Fault::Incomplete)],
            |r| matches!(r, Err(ModelError::Incomplete { reason }) if reason == "max_output_tokens"),
            1,
            true,
        ),
        (
            "no rule matched: the fake's 400",
            vec![Rule::reply("x").matching("a phrase nobody sends")],
            |r| matches!(r, Err(ModelError::BadRequest { code: Some(c), .. }) if c == "no_rule_matched"),
            1,
            false,
        ),
    ];
    for (name, rules, check, want_requests, want_deltas) in cases {
        let (result, seen, requests) = run_script(Script::new(rules)).await;
        assert!(check(&result), "{name}: got {result:?}");
        assert_eq!(
            requests.len(),
            want_requests,
            "{name}: requests seen by the server"
        );
        assert_eq!(
            seen.retries.len(),
            want_requests - 1,
            "{name}: retries reported"
        );
        assert_eq!(
            !seen.deltas.is_empty(),
            want_deltas,
            "{name}: deltas {:?}",
            seen.deltas
        );
        for (i, (attempt, _, reason)) in seen.retries.iter().enumerate() {
            assert_eq!(*attempt as usize, i + 1, "{name}");
            assert!(!reason.is_empty(), "{name}");
        }
        for r in &requests {
            assert_eq!(
                (r.method.as_str(), r.path.as_str()),
                ("POST", "/v1/responses"),
                "{name}"
            );
            assert_eq!(
                r.headers.get("authorization").map(String::as_str),
                Some("[redacted]")
            );
        }
        if let Ok(reply) = &result {
            assert_eq!(
                seen.deltas.concat(),
                reply.text,
                "{name}: deltas add up to the text"
            );
        }
        if let Err(e) = &result {
            let msg = e.user_message();
            assert!(!msg.contains(KEY) && !msg.is_empty(), "{name}: {msg}");
        }
    }
}

#[tokio::test]
async fn rate_limit_delays_are_honoured() {
    // (name, 429 rule, expected reported delay)
    let cases: Vec<(&str, Rule, Duration)> = vec![
        (
            "Retry-After seconds header",
            Rule::fault(Fault::Http429),
            Duration::from_secs(1),
        ),
        (
            "retry-after-ms header wins",
            Rule::fault(Fault::Http429).header("retry-after-ms", Some("300")),
            Duration::from_millis(300),
        ),
        (
            "message hint when no header",
            Rule {
                retry_after: 0.4,
                ..Rule::fault(Fault::Http429)
            }
            .header("retry-after", None),
            Duration::from_millis(400),
        ),
        (
            "capped by max_retry_delay",
            Rule {
                retry_after: 30.0,
                ..Rule::fault(Fault::Http429)
            },
            Duration::from_millis(500),
        ),
    ];
    for (name, rule, want) in cases {
        let server =
            FakeResponses::start(Script::new(vec![rule.times(1), Rule::reply("done")])).await;
        let policy = CallPolicy {
            max_retry_delay: Duration::from_millis(500),
            ..policy()
        };
        let policy = if want > policy.max_retry_delay {
            CallPolicy {
                max_retry_delay: want,
                ..policy
            }
        } else {
            policy
        };
        let (result, seen) = call_with(&server, &request("hi"), &policy).await;
        assert_eq!(result.unwrap().text, "done", "{name}");
        assert_eq!(seen.retries.len(), 1, "{name}");
        assert_eq!(seen.retries[0].1, want, "{name}: reported delay");
        assert!(
            seen.retries[0].2.contains("Rate limited"),
            "{name}: {}",
            seen.retries[0].2
        );
        let reqs = server.requests();
        assert_eq!(reqs.len(), 2, "{name}");
        let gap = reqs[1].received_at - reqs[0].received_at;
        println!("429 {name}: asked {want:?}, server saw the retry after {gap:?}");
        assert!(
            gap >= want.mul_f64(0.9),
            "{name}: retried after {gap:?}, asked {want:?}"
        );
    }
}

#[tokio::test]
async fn idle_timeout_on_hang_is_retried_then_reported() {
    let server = FakeResponses::start(Script::new(vec![Rule::fault(Fault::Hang)])).await;
    let policy = CallPolicy {
        idle_timeout: Duration::from_millis(300),
        max_retries: 1,
        ..policy()
    };
    let started = Instant::now();
    let (result, seen) = call_with(&server, &request("hi"), &policy).await;
    let elapsed = started.elapsed();
    println!("hang: IdleTimeout after {elapsed:?} (2 attempts × 300 ms idle)");
    assert_eq!(
        result.unwrap_err(),
        ModelError::IdleTimeout {
            after: Duration::from_millis(300)
        }
    );
    assert_eq!(seen.retries.len(), 1);
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    // The client closed both stalled connections; the server notices.
    let both_closed = server
        .wait_until(Duration::from_secs(2), |r| {
            r.len() == 2 && r.iter().all(|r| r.disconnected_early)
        })
        .await;
    assert!(both_closed, "{:?}", server.requests());
}

#[tokio::test]
async fn overall_timeout_bounds_the_whole_call() {
    // (name, rule, idle timeout): each would go on far longer than the 1 s budget.
    let cases = [
        (
            "slow stream, every event within the idle timeout",
            Rule::reply("slow ".repeat(100)).chunks(1, 100),
        ),
        ("headers never come", Rule::reply("late").delay_ms(10_000)),
        ("retries that never succeed", Rule::fault(Fault::Http500)),
    ];
    for (name, rule) in cases {
        let server = FakeResponses::start(Script::new(vec![rule])).await;
        let policy = CallPolicy {
            request_timeout: Duration::from_secs(1),
            idle_timeout: Duration::from_secs(3),
            max_retries: 10,
            initial_retry_delay: Duration::from_millis(200),
            ..policy()
        };
        let started = Instant::now();
        let (result, _) = call_with(&server, &request("hi"), &policy).await;
        let elapsed = started.elapsed();
        println!("overall timeout, {name}: ended after {elapsed:?} with {result:?}");
        match result {
            Err(ModelError::Timeout { after }) => assert_eq!(after, Duration::from_secs(1)),
            // Retrying stops early when the next backoff would cross the deadline.
            Err(ModelError::Server { .. }) => assert!(name.starts_with("retries")),
            other => panic!("{name}: {other:?}"),
        }
        assert!(elapsed < Duration::from_secs(3), "{name}: {elapsed:?}");
    }
}

#[tokio::test]
async fn request_body_snapshot_for_a_typical_call() {
    let server = FakeResponses::start(Script::reply("```rust\nfn main() {}\n```")).await;
    let mut req = ResponsesRequest::new(
        "gpt-5.2-codex",
        vec![
            InputItem::developer_text(
                "File: src/main.rs (rust)\n<context>\nfn main() {}\n</context>",
            ),
            InputItem::user_text("Rewrite the selection: add error handling"),
        ],
    );
    req.instructions =
        Some("You are Codex inside an editor. Answer with an apply_patch hunk.".into());
    req.reasoning = Some(Reasoning::effort(Effort::Medium));
    req.max_output_tokens = Some(16_000);
    req.prompt_cache_key = Some("codex-lsp:workspace-3f2a".into());
    req.include = vec!["reasoning.encrypted_content".into()];
    req.text = Some(TextConfig {
        format: Some(TextFormat::Text),
        verbosity: None,
    });
    let (result, _) = call_with(&server, &req, &policy()).await;
    assert_eq!(result.unwrap().text, "```rust\nfn main() {}\n```");
    let recorded = server.requests().remove(0);
    insta::assert_snapshot!(
        "typical_request_body",
        serde_json::to_string_pretty(&recorded.body).unwrap()
    );
    let h = &recorded.headers;
    assert_eq!(
        h.get("content-type").map(String::as_str),
        Some("application/json")
    );
    assert_eq!(
        h.get("authorization").map(String::as_str),
        Some("[redacted]")
    );
    assert!(h.get("user-agent").unwrap().starts_with("codex-lsp/"));
    assert!(h.get("accept").unwrap().contains("text/event-stream"));
}

#[tokio::test]
async fn usage_accounting_includes_cached_and_reasoning_tokens() {
    let server = FakeResponses::start(Script::reply("twelve chars")).await;
    let instructions = "Stable instructions that form a cacheable prefix. ".repeat(40);
    let make = |task: &str| {
        let mut r = request(task);
        r.instructions = Some(instructions.clone());
        r.reasoning = Some(Reasoning::effort(Effort::Medium));
        r
    };
    let (first, _) = call_with(&server, &make("first task"), &policy()).await;
    let (second, _) = call_with(&server, &make("second task"), &policy()).await;
    let (first, second) = (first.unwrap().usage, second.unwrap().usage);
    let requests = server.requests();
    for (usage, recorded) in [(first, &requests[0]), (second, &requests[1])] {
        let body_len: u64 = recorded.headers["content-length"].parse().unwrap();
        assert_eq!(usage.input_tokens, body_len.div_ceil(4));
        assert_eq!(usage.reasoning_tokens, 64, "medium effort in the fake");
        assert_eq!(usage.output_tokens, 3 + 64, "12 chars / 4 + reasoning");
    }
    println!("usage: first {first:?}, second {second:?}");
    assert_eq!(first.cached_tokens, 0);
    // The shared prefix is the instructions plus the start of the input.
    assert!(
        second.cached_tokens >= (instructions.len() / 4) as u64,
        "{second:?}"
    );
    assert!(second.cached_tokens < second.input_tokens);
}

#[tokio::test]
async fn deltas_reach_the_caller_while_the_stream_is_still_running() {
    let server = FakeResponses::start(Script::new(vec![
        Rule::reply("aaaabbbbccccddddeeee").chunks(4, 100),
    ]))
    .await;
    let started = Instant::now();
    let (result, seen) = call_with(&server, &request("hi"), &policy()).await;
    let total = started.elapsed();
    assert_eq!(result.unwrap().text, "aaaabbbbccccddddeeee");
    assert_eq!(seen.deltas, ["aaaa", "bbbb", "cccc", "dddd", "eeee"]);
    let first = seen.delta_times[0] - started;
    let spread = seen.delta_times[4] - seen.delta_times[0];
    println!("streaming: first delta after {first:?}, last-first {spread:?}, call {total:?}");
    // Four 100 ms gaps on the server: buffered delivery would show no spread.
    assert!(spread >= Duration::from_millis(300), "{spread:?}");
}

#[tokio::test]
async fn non_streaming_requests_are_understood() {
    let server = FakeResponses::start(Script::reply("plain JSON answer")).await;
    let mut req = request("hi");
    req.stream = false;
    let (result, seen) = call_with(&server, &req, &policy()).await;
    let reply = result.unwrap();
    assert_eq!(reply.text, "plain JSON answer");
    assert!(reply.usage.input_tokens > 0);
    assert!(seen.deltas.is_empty());
}

#[tokio::test]
async fn providers_send_their_auth_header_and_join_urls() {
    let server = FakeResponses::start(Script::reply("ok")).await;
    let key = || ApiKey::new(KEY);
    // (auth, base url suffix, header expected present, header expected absent)
    let cases: Vec<(Auth, &str, Option<&str>, &[&str])> = vec![
        (Auth::Bearer(key()), "", Some("authorization"), &["api-key"]),
        (
            Auth::AzureApiKey(key()),
            "/",
            Some("api-key"),
            &["authorization"],
        ),
        (Auth::None, "//", None, &["authorization", "api-key"]),
    ];
    for (auth, suffix, present, absent) in cases {
        server.clear_requests();
        let endpoint = Endpoint {
            base_url: format!("{}{suffix}", server.base_url()),
            auth: auth.clone(),
        };
        let client = ModelClient::new().unwrap();
        let reply = client
            .respond(&endpoint, &request("hi"), &policy(), &mut |_| {})
            .await
            .unwrap();
        assert_eq!(reply.text, "ok");
        let r = server.requests().remove(0);
        assert_eq!(r.path, "/v1/responses", "{auth:?}");
        if let Some(h) = present {
            assert_eq!(
                r.headers.get(h).map(String::as_str),
                Some("[redacted]"),
                "{auth:?}"
            );
        }
        for h in absent {
            assert!(!r.headers.contains_key(*h), "{auth:?} sent {h}");
        }
    }
}

#[tokio::test]
async fn connection_refused_is_a_retried_transport_error() {
    // Bind then drop to get a port nobody listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let endpoint = Endpoint {
        base_url: format!("http://127.0.0.1:{port}/v1"),
        auth: Auth::None,
    };
    let mut retries = 0;
    let result = ModelClient::new()
        .unwrap()
        .respond(&endpoint, &request("hi"), &policy(), &mut |p| {
            if matches!(p, Progress::Retrying { .. }) {
                retries += 1;
            }
        })
        .await;
    assert!(
        matches!(result, Err(ModelError::Transport { .. })),
        "{result:?}"
    );
    assert_eq!(retries, 2);
}

#[tokio::test]
async fn dropping_the_call_closes_the_connection() {
    // (name, rule, drop after the first delta?)
    let cases = [
        (
            "mid-stream",
            Rule::reply("x".repeat(2000)).chunks(10, 20),
            true,
        ),
        (
            "waiting for headers",
            Rule::reply("late").delay_ms(5_000),
            false,
        ),
    ];
    let mut figures = Vec::new();
    for (name, rule, after_delta) in cases {
        for round in 0..5 {
            let server = FakeResponses::start(Script::new(vec![rule.clone()])).await;
            let client = ModelClient::new().unwrap();
            let endpoint = endpoint(&server);
            let req = request("long answer please");
            let policy = policy();
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            let mut on_progress = move |p: Progress<'_>| {
                if let Progress::Delta(_) = p {
                    let _ = tx.send(());
                }
            };
            let call = client.respond(&endpoint, &req, &policy, &mut on_progress);
            let dropped_at = tokio::select! {
                r = call => panic!("{name}: call finished before the drop: {r:?}"),
                _ = async {
                    if after_delta {
                        rx.recv().await;
                    } else {
                        server.wait_for_requests(1, Duration::from_secs(2)).await;
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                } => Instant::now(),
            };
            // `call` is dropped here, at the end of `select!`.
            let noticed = server
                .wait_for_disconnect(Duration::from_secs(2))
                .await
                .unwrap_or_else(|| panic!("{name}: the server never saw the connection close"));
            let latency = noticed.saturating_duration_since(dropped_at);
            figures.push((name, round, latency));
            let r = server.requests().remove(0);
            assert!(r.disconnected_early && !r.completed, "{name}: {r:?}");
        }
    }
    for (name, round, latency) in &figures {
        println!("cancel {name} round {round}: drop → server saw close in {latency:?}");
    }
}

#[tokio::test]
async fn cancellation_token_aborts_the_call() {
    let server = FakeResponses::start(Script::new(vec![
        Rule::reply("y".repeat(1000)).chunks(5, 20),
    ]))
    .await;
    let client = ModelClient::new().unwrap();
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    let mut deltas = 0;
    let result = client
        .respond_until_cancelled(
            &endpoint(&server),
            &request("hi"),
            &policy(),
            &mut |p| {
                if let Progress::Delta(_) = p {
                    deltas += 1;
                    if deltas == 3 {
                        trigger.cancel();
                    }
                }
            },
            &cancel,
        )
        .await;
    assert_eq!(result, Err(ModelError::Cancelled));
    assert!(
        server
            .wait_for_disconnect(Duration::from_secs(2))
            .await
            .is_some()
    );
}

/// Serves one canned HTTP response per connection on 127.0.0.1, for wire
/// quirks of compatible servers that the fake does not produce.
async fn canned_server(content_type: &'static str, body: String) -> String {
    canned_server_status("200 OK", content_type, body).await
}

/// [`canned_server`] with another status line, e.g. `"429 Too Many Requests"`.
async fn canned_server_status(
    status: &'static str,
    content_type: &'static str,
    body: String,
) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let body = body.clone();
            tokio::spawn(async move {
                // Read the whole request so closing does not reset the connection.
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let n = socket.read(&mut chunk).await.unwrap();
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf);
                    if let Some(end) = text.find("\r\n\r\n") {
                        let len: usize = text[..end]
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse().unwrap())
                            })
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + len {
                            break;
                        }
                    }
                    if n == 0 {
                        break;
                    }
                }
                let head = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\nconnection: close\r\n\r\n"
                );
                socket.write_all(head.as_bytes()).await.unwrap();
                socket.write_all(body.as_bytes()).await.unwrap();
                socket.shutdown().await.unwrap();
            });
        }
    });
    format!("http://{addr}/v1")
}

#[tokio::test]
async fn compatible_server_quirks_are_tolerated() {
    let completed = r#"{"type":"response.completed","response":{"id":"resp_q","output":[{"type":"message","content":[{"type":"output_text","text":"ok!"}]}]}}"#;
    let delta = r#"{"type":"response.output_text.delta","delta":"ok!"}"#;
    // (name, content type, raw body, expected)
    let cases: Vec<(&str, &str, String, Result<&str, ModelError>)> = vec![
        (
            "data-only frames, no sequence numbers, trailing [DONE]",
            "text/event-stream",
            format!("data: {delta}\n\ndata: {completed}\n\ndata: [DONE]\n\n"),
            Ok("ok!"),
        ),
        (
            "CRLF line endings, comments, event names that differ from type",
            "text/event-stream",
            format!(": keep-alive\r\n\r\nevent: message\r\ndata: {delta}\r\n\r\n: ping\r\n\r\nevent: whatever\r\ndata: {completed}\r\n\r\n"),
            Ok("ok!"),
        ),
        (
            "unknown events and fields ignored",
            "text/event-stream",
            format!("event: response.reasoning_summary_text.delta\ndata: {{\"type\":\"response.reasoning_summary_text.delta\",\"delta\":\"thinking\",\"new\":{{\"x\":1}}}}\n\ndata: {{\"type\":\"response.future_event\"}}\n\ndata: {delta}\n\ndata: {completed}\n\n"),
            Ok("ok!"),
        ),
        (
            "[DONE] without response.completed",
            "text/event-stream",
            format!("data: {delta}\n\ndata: [DONE]\n\n"),
            Err(ModelError::StreamEnded),
        ),
        (
            "clean EOF without response.completed",
            "text/event-stream",
            format!("data: {delta}\n\n"),
            Err(ModelError::StreamEnded),
        ),
        (
            "flat error event",
            "text/event-stream",
            "event: error\ndata: {\"type\":\"error\",\"code\":\"invalid_prompt\",\"message\":\"flat message\",\"param\":null}\n\n".to_owned(),
            Err(ModelError::Failed { code: Some("invalid_prompt".into()), message: "flat message".into() }),
        ),
        (
            "server ignores stream:true and answers JSON",
            "application/json",
            r#"{"id":"resp_j","object":"response","status":"completed","output":[{"type":"message","content":[{"type":"output_text","text":"ok!"}]}],"usage":null}"#.to_owned(),
            Ok("ok!"),
        ),
    ];
    for (name, content_type, body, want) in cases {
        let base_url = canned_server(content_type, body).await;
        let endpoint = Endpoint {
            base_url,
            auth: Auth::None,
        };
        let policy = CallPolicy {
            max_retries: 0,
            ..policy()
        };
        let result = ModelClient::new()
            .unwrap()
            .respond(&endpoint, &request("hi"), &policy, &mut |_| {})
            .await;
        match (result, want) {
            (Ok(reply), Ok(text)) => assert_eq!(reply.text, text, "{name}"),
            (Err(got), Err(want)) => assert_eq!(got, want, "{name}"),
            (got, want) => panic!("{name}: got {got:?}, want {want:?}"),
        }
    }
}

#[tokio::test]
async fn usage_numbers_as_floats_or_garbage_never_fail_a_reply() {
    // Some compatible servers write token counts as JSON floats; others send
    // odd shapes. The text has arrived by then: usage must never fail it.
    let delta = r#"{"type":"response.output_text.delta","delta":"ok!"}"#;
    let completed = |usage: &str| {
        format!(
            r#"{{"type":"response.completed","response":{{"id":"resp_u","status":"completed","output":[{{"type":"message","content":[{{"type":"output_text","text":"ok!"}}]}}],"usage":{usage}}}}}"#
        )
    };
    let floats = r#"{"input_tokens":10.0,"input_tokens_details":{"cached_tokens":4.0,"cache_write_tokens":0.0},"output_tokens":7.0,"output_tokens_details":{"reasoning_tokens":3.0},"total_tokens":17.0}"#;
    // (name, content type, body, expected usage)
    let cases: Vec<(&str, &str, String, Usage)> = vec![
        (
            "integral floats",
            "text/event-stream",
            format!("data: {delta}\n\ndata: {}\n\n", completed(floats)),
            Usage {
                input_tokens: 10,
                cached_tokens: 4,
                output_tokens: 7,
                reasoning_tokens: 3,
                cache_write_tokens: 0,
            },
        ),
        (
            "integral floats in a JSON body",
            "application/json",
            format!(
                r#"{{"id":"resp_j","object":"response","status":"completed","output":[{{"type":"message","content":[{{"type":"output_text","text":"ok!"}}]}}],"usage":{floats}}}"#
            ),
            Usage {
                input_tokens: 10,
                cached_tokens: 4,
                output_tokens: 7,
                reasoning_tokens: 3,
                cache_write_tokens: 0,
            },
        ),
        (
            "numbers as strings, fractions, negatives, null details",
            "text/event-stream",
            format!(
                "data: {delta}\n\ndata: {}\n\n",
                completed(
                    r#"{"input_tokens":"12","input_tokens_details":null,"output_tokens":1.5,"output_tokens_details":{"reasoning_tokens":-2}}"#
                )
            ),
            Usage {
                input_tokens: 12,
                ..Usage::default()
            },
        ),
        (
            "usage that is not an object",
            "text/event-stream",
            format!("data: {delta}\n\ndata: {}\n\n", completed(r#""n/a""#)),
            Usage::default(),
        ),
    ];
    for (name, content_type, body, want) in cases {
        let base_url = canned_server(content_type, body).await;
        let endpoint = Endpoint {
            base_url,
            auth: Auth::None,
        };
        let policy = CallPolicy {
            max_retries: 0,
            ..policy()
        };
        let reply = ModelClient::new()
            .unwrap()
            .respond(&endpoint, &request("hi"), &policy, &mut |_| {})
            .await
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(reply.text, "ok!", "{name}");
        assert_eq!(reply.usage, want, "{name}");
    }
}

#[tokio::test]
async fn error_bodies_in_sse_framing_are_parsed_like_json_ones() {
    // Some gateways frame even an error answer as server-sent events.
    let quota = r#"{"type":"error","sequence_number":0,"error":{"type":"insufficient_quota","code":"insufficient_quota","message":"You exceeded your current quota.","param":null}}"#;
    let invalid = r#"{"error":{"message":"Unsupported value: 'minimal'.","type":"invalid_request_error","param":"reasoning.effort","code":"unsupported_value"}}"#;
    let failed = r#"{"error":{"message":"The server had an error.","type":"server_error","code":"server_error"}}"#;
    // (name, status line, content type, body, expected)
    let cases: Vec<(&str, &str, &str, String, ModelError)> = vec![
        (
            "429 with an SSE error event",
            "429 Too Many Requests",
            "text/event-stream",
            format!("event: error\ndata: {quota}\n\n"),
            ModelError::QuotaExceeded {
                message: "You exceeded your current quota.".into(),
            },
        ),
        (
            "400 with a data-only frame, CRLF",
            "400 Bad Request",
            "text/event-stream",
            format!(": note\r\ndata: {invalid}\r\n\r\n"),
            ModelError::BadRequest {
                code: Some("unsupported_value".into()),
                message: "Unsupported value: 'minimal'.".into(),
            },
        ),
        (
            "400 labelled JSON but framed as SSE",
            "400 Bad Request",
            "application/json",
            format!("data: {invalid}\n\n"),
            ModelError::BadRequest {
                code: Some("unsupported_value".into()),
                message: "Unsupported value: 'minimal'.".into(),
            },
        ),
        (
            "200 labelled JSON whose body is an SSE error",
            "200 OK",
            "application/json",
            format!("data: {failed}\n\n"),
            ModelError::Failed {
                code: Some("server_error".into()),
                message: "The server had an error.".into(),
            },
        ),
    ];
    for (name, status, content_type, body, want) in cases {
        let base_url = canned_server_status(status, content_type, body).await;
        let endpoint = Endpoint {
            base_url,
            auth: Auth::None,
        };
        let policy = CallPolicy {
            max_retries: 0,
            ..policy()
        };
        let result = ModelClient::new()
            .unwrap()
            .respond(&endpoint, &request("hi"), &policy, &mut |_| {})
            .await;
        assert_eq!(result, Err(want), "{name}");
    }
}

#[tokio::test]
async fn commentary_messages_are_not_glued_onto_the_answer() {
    const PATCH: &str =
        "*** Begin Patch\n*** Update File: a.py\n@@\n-x = 1\n+x = 2\n*** End Patch\n";
    // gpt-5.3-codex and later label a preamble `commentary` and the answer
    // `final_answer`: only the answer is the reply. Without labels, separate
    // messages are separate lines, never glued mid-line.
    let cases = [
        (
            Rule::reply(PATCH).preamble("I'll bump x to 2.", true),
            PATCH.to_owned(),
        ),
        (
            Rule::reply("The function returns the sum.").preamble("Reading the code.", false),
            "Reading the code.\nThe function returns the sum.".to_owned(),
        ),
    ];
    for (rule, want) in cases {
        for stream in [true, false] {
            let server = FakeResponses::start(Script::new(vec![rule.clone()])).await;
            let mut req = request("Fix it");
            req.stream = stream;
            let (result, _) = call_with(&server, &req, &policy()).await;
            assert_eq!(result.unwrap().text, want, "stream {stream}, {rule:?}");
        }
    }

    // A compatible server that leaves `output` empty in response.completed:
    // the streamed items decide, phases included.
    let added = |i: u32, phase: &str| {
        format!(
            r#"data: {{"type":"response.output_item.added","output_index":{i},"item":{{"id":"msg_{i}","type":"message","status":"in_progress","content":[],"role":"assistant","phase":"{phase}"}}}}"#
        )
    };
    let delta = |i: u32, d: &str| {
        format!(
            r#"data: {{"type":"response.output_text.delta","item_id":"msg_{i}","output_index":{i},"content_index":0,"delta":{}}}"#,
            serde_json::json!(d)
        )
    };
    let body = [
        added(0, "commentary"),
        delta(0, "Let me look."),
        added(1, "final_answer"),
        delta(1, "*** Begin Patch\n"),
        delta(1, "*** End Patch\n"),
        r#"data: {"type":"response.completed","response":{"id":"resp_e","status":"completed","output":[]}}"#
            .to_owned(),
    ]
    .join("\n\n")
        + "\n\n";
    let endpoint = Endpoint {
        base_url: canned_server("text/event-stream", body).await,
        auth: Auth::None,
    };
    let reply = ModelClient::new()
        .unwrap()
        .respond(&endpoint, &request("hi"), &policy(), &mut |_| {})
        .await
        .unwrap();
    assert_eq!(reply.text, "*** Begin Patch\n*** End Patch\n");
}
