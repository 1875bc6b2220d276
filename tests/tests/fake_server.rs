//! The fake Responses server on its own: the scenario format, the wire shape
//! of its streams, and the `fake-responses` binary's contract with editor tests.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use codex_lsp_tests::{FakeResponses, Fault, Rule, Script};
use serde_json::{Value, json};

#[test]
fn scenario_json_parses_with_documented_names() {
    let script = Script::from_json(
        r#"{ "rules": [
            { "match": "Explain", "reply": "It adds.", "delayMs": 5, "chunkSize": 4,
              "chunkDelayMs": 1, "fault": null, "retryAfter": 1, "times": null },
            { "fault": "http429", "retryAfter": 2.5, "times": 1 },
            { "fault": "http500" }, { "fault": "http400" }, { "fault": "http401" },
            { "fault": "contextLengthExceeded" }, { "fault": "insufficientQuota" },
            { "fault": "malformedJson" }, { "fault": "cutMidStream" },
            { "fault": "errorEvent", "errorCode": "server_error", "errorMessage": "m" },
            { "fault": "responseFailed" }, { "fault": "incomplete" }, { "fault": "hang" },
            { "name": "headers", "headers": { "x-should-retry": "false", "retry-after": null } }
        ] }"#,
    )
    .unwrap();
    assert_eq!(script.rules.len(), 14);
    assert_eq!(script.rules[0].matches.as_deref(), Some("Explain"));
    assert_eq!(script.rules[1].fault, Some(Fault::Http429));
    assert_eq!(script.rules[1].retry_after, 2.5);
    assert_eq!(script.rules[2].chunk_size, 16, "default chunk size");
    assert_eq!(script.rules[13].headers.get("retry-after"), Some(&None));
    // Typos are errors, not silently ignored.
    for bad in [
        r#"{"rules":[{"reply":"x","chunksize":3}]}"#,
        r#"{"rules":[{"fault":"http503"}]}"#,
        r#"{"rulez":[]}"#,
    ] {
        assert!(Script::from_json(bad).is_err(), "{bad}");
    }
}

async fn post(url: &str, body: Value) -> (u16, reqwest::header::HeaderMap, String) {
    let r = reqwest::Client::new()
        .post(url)
        .header("authorization", "Bearer sk-not-recorded")
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.text().await.unwrap())
}

#[tokio::test]
async fn streams_follow_the_real_event_sequence() {
    let server =
        FakeResponses::start(Script::new(vec![Rule::reply("héllo wörld").chunks(4, 0)])).await;
    let (status, headers, body) = post(
        &format!("{}/responses", server.base_url()),
        json!({"model": "m", "input": "hi", "stream": true, "reasoning": {"effort": "high"}}),
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    assert!(headers.contains_key("x-request-id"));
    assert!(headers.contains_key("x-ratelimit-remaining-tokens"));
    let frames: Vec<(&str, Value)> = body
        .split("\n\n")
        .filter(|f| !f.is_empty())
        .map(|f| {
            let (event, data) = f.split_once('\n').unwrap();
            let data: Value = serde_json::from_str(data.strip_prefix("data: ").unwrap()).unwrap();
            (event.strip_prefix("event: ").unwrap(), data)
        })
        .collect();
    let kinds: Vec<&str> = frames.iter().map(|(k, _)| *k).collect();
    assert_eq!(
        kinds,
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    for (i, (kind, data)) in frames.iter().enumerate() {
        assert_eq!(data["type"], *kind);
        assert_eq!(data["sequence_number"], i);
    }
    let deltas: Vec<&str> = frames[4..7]
        .iter()
        .map(|(_, d)| d["delta"].as_str().unwrap())
        .collect();
    assert_eq!(deltas, ["héll", "o wö", "rld"]);
    let usage = &frames[10].1["response"]["usage"];
    assert_eq!(usage["output_tokens_details"]["reasoning_tokens"], 256);
    assert!(usage["input_tokens_details"]["cached_tokens"].is_u64());
    assert_eq!(
        frames[10].1["response"]["output"][0]["content"][0]["text"],
        "héllo wörld"
    );
}

#[tokio::test]
async fn side_routes_answer_like_openai() {
    let server = FakeResponses::start(Script::new(vec![Rule::reply("x").matching("needle")])).await;
    let base = server.base_url();
    // (path, body, expected status, expected text in the body)
    let cases = [
        (
            "/chat/completions",
            json!({"model": "m", "messages": []}),
            404,
            "only supported in v1/responses",
        ),
        (
            "/responses",
            json!({"model": "m", "input": "hay"}),
            400,
            "no scripted reply matched",
        ),
        (
            "/responses",
            json!({"input": "needle"}),
            400,
            "Missing required parameter: 'model'",
        ),
        (
            "/responses",
            json!({"model": "m", "input": "needle", "stream": false}),
            200,
            "\"object\":\"response\"",
        ),
        ("/embeddings", json!({}), 404, "Invalid URL"),
    ];
    let n = cases.len();
    for (path, body, status, needle) in cases {
        let (got, _, text) = post(&format!("{base}{path}"), body).await;
        assert_eq!(got, status, "{path}: {text}");
        assert!(text.contains(needle), "{path}: {text}");
    }
    let recorded = server.requests();
    assert_eq!(recorded.len(), n);
    assert!(
        recorded
            .iter()
            .all(|r| r.headers["authorization"] == "[redacted]")
    );
    assert!(
        recorded
            .iter()
            .all(|r| r.completed && !r.disconnected_early)
    );
}

#[tokio::test]
async fn binary_prints_its_url_and_serves_the_control_routes() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("scenario.json");
    std::fs::write(&script, r#"{"rules":[{"match":"hello","reply":"Hi!"}]}"#).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_fake-responses"))
        .args(["--port", "0", "--script"])
        .arg(&script)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line.trim_end().to_owned();
    let port = base
        .strip_prefix("http://127.0.0.1:")
        .and_then(|rest| rest.strip_suffix("/v1"))
        .unwrap_or_else(|| panic!("first line was {line:?}"));
    assert!(port.parse::<u16>().unwrap() > 0);
    let root = base.trim_end_matches("/v1").to_owned();

    let result = async {
        let (status, _, text) = post(
            &format!("{base}/responses"),
            json!({"model": "m", "input": "hello", "stream": true}),
        )
        .await;
        assert_eq!(status, 200);
        assert!(text.contains("response.completed") && text.contains("Hi!"));

        let http = reqwest::Client::new();
        let list: Value = http
            .get(format!("{root}/__requests"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .map(|t| serde_json::from_str(&t).unwrap())
            .unwrap();
        assert_eq!(list[0]["path"], "/v1/responses");
        assert_eq!(list[0]["body"]["input"], "hello");
        assert_eq!(list[0]["headers"]["authorization"], "[redacted]");
        assert_eq!(list[0]["completed"], true);
        assert_eq!(list[0]["disconnectedEarly"], false);

        let put = http
            .put(format!("{root}/__script"))
            .body(r#"{"rules":[{"fault":"http401"}]}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(put.status().as_u16(), 204);
        let (status, _, text) = post(
            &format!("{base}/responses"),
            json!({"model": "m", "input": "hello"}),
        )
        .await;
        assert_eq!(status, 401);
        assert!(text.contains("invalid_api_key"));

        let del = http
            .delete(format!("{root}/__requests"))
            .send()
            .await
            .unwrap();
        assert_eq!(del.status().as_u16(), 204);
        let list: Value = http
            .get(format!("{root}/__requests"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .map(|t| serde_json::from_str(&t).unwrap())
            .unwrap();
        assert_eq!(list, json!([]));
    };
    let outcome = tokio::time::timeout(Duration::from_secs(20), result).await;
    child.kill().unwrap();
    child.wait().unwrap();
    outcome.expect("binary test timed out");
}

#[tokio::test]
async fn times_budgets_and_live_script_changes() {
    let server = FakeResponses::start(Script::new(vec![
        Rule::fault(Fault::Http500).times(2),
        Rule::reply("third"),
    ]))
    .await;
    let url = format!("{}/responses", server.base_url());
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(post(&url, json!({"model": "m", "input": "x"})).await.0);
    }
    assert_eq!(statuses, [500, 500, 200]);
    assert_eq!(
        server.requests().iter().map(|r| r.rule).collect::<Vec<_>>(),
        [Some(0), Some(0), Some(1)]
    );
    server.set_script(Script::reply("changed"));
    let (_, _, text) = post(&url, json!({"model": "m", "input": "x", "stream": false})).await;
    assert!(text.contains("changed"));
}
