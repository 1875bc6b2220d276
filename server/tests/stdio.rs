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

/// Runs the binary over raw stdio: `initialize`, then `tail` (requests
/// with ids, `exit` as a notification), then closes stdin if `close`;
/// returns the exit code.
fn exit_code_after(tail: &[&str], close: bool) -> Option<i32> {
    use codex_lsp_tests::lsp_client::frame;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::process::Stdio;

    let mut child = Command::new(BIN)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let send = |stdin: &mut std::process::ChildStdin, message: Value| {
        stdin.write_all(&frame(&message)).unwrap();
        stdin.flush().unwrap();
    };
    // Reads frames until the answer to request `id`.
    let answer = |stdout: &mut BufReader<std::process::ChildStdout>, id: i64| loop {
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            assert!(stdout.read_line(&mut line).unwrap() > 0, "stdout closed");
            let line = line.trim();
            if line.is_empty() {
                break;
            }
            if let Some(v) = line.strip_prefix("Content-Length:") {
                length = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        stdout.read_exact(&mut body).unwrap();
        let message: Value = serde_json::from_slice(&body).unwrap();
        if message["id"] == id && message.get("method").is_none() {
            return message;
        }
    };
    send(
        &mut stdin,
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}}),
    );
    answer(&mut stdout, 1);
    send(
        &mut stdin,
        json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}),
    );
    for (i, method) in tail.iter().enumerate() {
        if *method == "exit" {
            send(&mut stdin, json!({"jsonrpc": "2.0", "method": "exit"}));
        } else {
            let id = i as i64 + 2;
            send(
                &mut stdin,
                json!({"jsonrpc": "2.0", "id": id, "method": method}),
            );
            answer(&mut stdout, id);
        }
    }
    // Clients need not close stdin after `exit`; keep it open unless asked.
    let _stdin = if close {
        drop(stdin);
        None
    } else {
        Some(stdin)
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the server did not exit after {tail:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn exit_code_follows_the_shutdown_handshake() {
    // LSP: `exit` after `shutdown` exits with 0, without it with 1. The
    // input ending without `shutdown` is no clean end either.
    let cases: [(&[&str], bool, i32); 5] = [
        (&["shutdown", "exit"], false, 0),
        (&["exit"], false, 1),
        (&["exit"], true, 1),
        (&["shutdown"], true, 0),
        (&[], true, 1),
    ];
    for (tail, close, want) in cases {
        assert_eq!(
            exit_code_after(tail, close),
            Some(want),
            "after {tail:?}, stdin closed: {close}"
        );
    }
}
