//! The built binary over real stdio framing: command line, initialize and
//! encoding negotiation, settings errors, and that logs never reach stdout.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use codex_lsp_tests::lsp_client::LspClient;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_codex-lsp");

fn spawn(env: &[(&str, &str)]) -> LspClient {
    LspClient::spawn_at(Path::new(BIN), env, &[]).unwrap()
}

#[test]
fn command_line_flags() {
    let version = Command::new(BIN).arg("--version").output().unwrap();
    assert!(version.status.success());
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("codex-lsp {}", env!("CARGO_PKG_VERSION"))
    );
    let help = Command::new(BIN).arg("--help").output().unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains("--log-file PATH"));
    let bad = Command::new(BIN).arg("--frobnicate").output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("frobnicate"));
    let defaults = Command::new(BIN)
        .arg("--print-default-settings")
        .output()
        .unwrap();
    let value: Value = serde_json::from_slice(&defaults.stdout).unwrap();
    assert_eq!(value["apiKeyEnv"], "OPENAI_API_KEY");
}

#[tokio::test]
async fn negotiates_position_encoding() {
    let cases = [
        (json!(["utf-16", "utf-8"]), "utf-8"),
        (json!(["utf-16"]), "utf-16"),
        (json!(["utf-32"]), "utf-32"),
        (json!(["utf-32", "utf-16"]), "utf-16"),
        (Value::Null, "utf-16"),
    ];
    for (offered, expected) in cases {
        let mut client = spawn(&[]);
        let caps = json!({ "general": { "positionEncodings": offered } });
        let result = client.initialize(None, caps, Value::Null).await;
        assert_eq!(
            result["capabilities"]["positionEncoding"], expected,
            "offered {offered}"
        );
        assert_eq!(result["serverInfo"]["name"], "codex-lsp");
        assert_eq!(client.shutdown().await, Some(0));
    }
}

#[tokio::test]
async fn logs_go_to_stderr_and_stdout_stays_json_rpc() {
    let mut client = spawn(&[("CODEX_LSP_LOG", "trace")]);
    client.initialize(None, json!({}), Value::Null).await;
    client.did_open("file:///tmp/a.rs", "rust", 1, "fn main() {}\n");
    client.did_change(
        "file:///tmp/a.rs",
        2,
        json!({"start": {"line": 0, "character": 3}, "end": {"line": 0, "character": 7}}),
        "start",
    );
    // The client parses every stdout byte as framed JSON-RPC and stops at the
    // first malformed frame, so a matched shutdown response proves stdout
    // stayed clean while trace logging was on.
    assert_eq!(client.shutdown_keep_logs().await.0, Some(0));
}

#[tokio::test]
async fn trace_logs_reach_stderr() {
    let mut client = spawn(&[("CODEX_LSP_LOG", "trace")]);
    client.initialize(None, json!({}), Value::Null).await;
    client.did_open("file:///tmp/a.rs", "rust", 1, "fn main() {}\n");
    let (code, stderr) = client.shutdown_keep_logs().await;
    assert_eq!(code, Some(0));
    assert!(stderr.contains("didOpen"), "stderr: {stderr}");
}

#[tokio::test]
async fn log_file_flag_writes_logs_to_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let mut client = LspClient::spawn_at(
        Path::new(BIN),
        &[("CODEX_LSP_LOG", "debug")],
        &["--log-file", log.to_str().unwrap()],
    )
    .unwrap();
    client.initialize(None, json!({}), Value::Null).await;
    client.did_open("file:///tmp/b.py", "python", 1, "x = 1\n");
    assert_eq!(client.shutdown().await, Some(0));
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("didOpen"), "log file: {text}");
}

#[tokio::test]
async fn bad_initialization_option_is_reported_by_name() {
    let mut client = spawn(&[]);
    client
        .initialize(
            None,
            json!({}),
            json!({ "explain": { "hover": "sometimes" } }),
        )
        .await;
    let shown = client
        .wait_until(Duration::from_secs(5), |n, _| {
            n.iter().any(|m| m["method"] == "window/showMessage")
        })
        .await;
    assert!(shown, "no showMessage");
    let messages = client.notifications_named("window/showMessage");
    assert_eq!(messages.len(), 1, "{messages:?}");
    let text = messages[0]["params"]["message"].as_str().unwrap();
    assert!(text.contains("codex.explain.hover"), "{text}");
    assert_eq!(client.shutdown().await, Some(0));
}

#[tokio::test]
async fn pulled_configuration_errors_are_reported() {
    let mut client = spawn(&[]);
    client.set_configuration(json!({ "maxRetries": 99 }));
    client
        .initialize(
            None,
            json!({ "workspace": { "configuration": true } }),
            json!({}),
        )
        .await;
    let asked = client
        .wait_until(Duration::from_secs(5), |n, r| {
            r.iter().any(|m| m["method"] == "workspace/configuration")
                && n.iter().any(|m| m["method"] == "window/showMessage")
        })
        .await;
    assert!(
        asked,
        "server did not pull configuration and report the bad value"
    );
    let text = client.notifications_named("window/showMessage")[0]["params"]["message"].clone();
    assert!(
        text.as_str().unwrap().contains("codex.maxRetries"),
        "{text}"
    );
    assert_eq!(client.shutdown().await, Some(0));
}
