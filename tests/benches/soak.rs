//! Soak benchmark: about an hour of editing compressed into a few minutes.
//!
//! The release `codex-lsp` binary over stdio edits one document with
//! hundreds of thousands of small changes (typing, deleting, new lines,
//! pasted lines), with a code action list every batch, an explain hover and
//! a model action (against the fake Responses server) every few thousand
//! edits, and a second large document opened and closed now and then. It
//! prints RSS at the start, along the way and at the end, and the request
//! latencies; it asserts nothing about speed (only that every request was
//! answered, so a hang or crash still fails the run).
//!
//! `cargo bench -p codex-lsp-tests --bench soak`; `SOAK_SECONDS` sets the
//! duration (default 180).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::time::{Duration, Instant};

use codex_lsp_tests::lsp_client::{LspClient, file_uri};
use codex_lsp_tests::{FakeResponses, Rule, Script};
use serde_json::{Value, json};

const HEAD: &str = "fn add(a: i32, b: i32) -> i32 {\n    a+b\n}\n\n";
const PATCH: &str = "*** Begin Patch\n*** Update File: src/lib.rs\n@@\n fn add(a: i32, b: i32) -> i32 {\n-    a+b\n+    a + b\n }\n*** End Patch\n";
/// Edits per batch; each batch ends with a code action listing (a barrier).
const BATCH: u32 = 500;

fn range(sl: u32, sc: u32, el: u32, ec: u32) -> Value {
    json!({ "start": { "line": sl, "character": sc }, "end": { "line": el, "character": ec } })
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

fn main() {
    let seconds: u64 = std::env::var("SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(180);
    // Always measure the current release binary.
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = std::process::Command::new(cargo)
        .args([
            "build",
            "--release",
            "-p",
            "codex-lsp",
            "--bin",
            "codex-lsp",
        ])
        .status()
        .expect("cargo build");
    assert!(status.success(), "building the release server failed");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(soak(Duration::from_secs(seconds)));
}

async fn soak(duration: Duration) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    std::fs::create_dir_all(root.join("src")).unwrap();
    let mut body = String::from(HEAD);
    for i in 0..2000 {
        body.push_str(&format!(
            "fn f{i}(x: u64) -> u64 {{\n    let y = x * {i} + 1; // é😀\n    y\n}}\n"
        ));
    }
    std::fs::write(root.join("src/lib.rs"), &body).unwrap();
    let fake = FakeResponses::start(Script::new(vec![
        Rule::reply("**Adds two numbers.**").matching("Answer in Markdown only."),
        Rule::reply(PATCH).chunks(32, 1),
    ]))
    .await;
    let mut client = LspClient::spawn(&[("OPENAI_API_KEY", "soak-key")]).unwrap();
    let caps = json!({
        "general": { "positionEncodings": ["utf-16"] },
        "workspace": { "applyEdit": true, "workspaceEdit": { "documentChanges": true } },
        "textDocument": { "codeAction": { "codeActionLiteralSupport": { "codeActionKind": { "valueSet": ["refactor"] } } },
                          "hover": { "contentFormat": ["markdown"] } },
        "window": { "workDoneProgress": true }
    });
    client
        .initialize(
            Some(&root),
            caps,
            json!({ "baseUrl": fake.base_url(), "maxRetries": 0 }),
        )
        .await;
    let uri = file_uri(&root.join("src/lib.rs"));
    client.did_open(&uri, "rust", 1, &body);
    let list = |client: &mut LspClient| {
        client.send_request(
            "textDocument/codeAction",
            json!({ "textDocument": { "uri": uri }, "range": range(1, 4, 1, 4), "context": { "diagnostics": [] } }),
        )
    };
    let (_, rx) = list(&mut client);
    rx.await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_start = client.rss_kib().unwrap();
    println!(
        "soak: {} s, document of {} KB, RSS at start {} MiB",
        duration.as_secs(),
        body.len() / 1024,
        rss_start / 1024
    );

    let mut rng = fastrand_like(0x5eed);
    let mut version = 1;
    let lines: u32 = body.matches('\n').count() as u32;
    let (mut edits, mut actions, mut applied, mut hovers, mut opened) = (0u64, 0, 0, 0, 0);
    let mut list_latency = Vec::new();
    let mut hover_latency = Vec::new();
    let mut action_latency = Vec::new();
    let mut samples = Vec::new();
    let started = Instant::now();
    let mut next_sample = Duration::from_secs(10);
    let other = file_uri(&root.join("src/other.rs"));
    let other_text = "fn other() { let s = \"some text\"; }\n".repeat(6000);
    while started.elapsed() < duration {
        // A batch of typing below the first function (which actions edit).
        // Every change is followed by its exact inverse somewhere later in
        // the batch, so the text ends each batch as it started: RSS growth
        // is then the server's, not the document's.
        let mut undo: Vec<(Value, &str)> = Vec::new();
        for k in 0..BATCH / 2 {
            let line = 5 + (rng() % u64::from(lines - 10)) as u32;
            let (text, inverse) = match rng() % 4 {
                0 => ("x", range(line, 0, line, 1)),
                1 => (
                    "let pasted = vec![1, 2, 3]; // é😀",
                    range(line, 0, line, 34),
                ),
                2 => ("    // note é\n", range(line, 0, line + 1, 0)),
                _ => ("日本", range(line, 0, line, 2)),
            };
            version += 1;
            client.did_change(&uri, version, range(line, 0, line, 0), text);
            undo.push((inverse, ""));
            // Undo in reverse order, interleaved with new typing.
            if k % 8 == 7 || k + 1 == BATCH / 2 {
                while let Some((r, t)) = undo.pop() {
                    version += 1;
                    client.did_change(&uri, version, r, t);
                }
            }
            edits += 2;
        }
        let t = Instant::now();
        let (_, rx) = list(&mut client);
        let response = tokio::time::timeout(Duration::from_secs(60), rx)
            .await
            .expect("code action list not answered within 60 s")
            .unwrap();
        assert!(response["result"].is_array(), "{response}");
        list_latency.push(t.elapsed());
        let batches = edits / u64::from(BATCH);
        if batches % 10 == 0 {
            // An explain hover (new text under the cursor now and then).
            let t = Instant::now();
            let hover = client
                .request(
                    "textDocument/hover",
                    json!({ "textDocument": { "uri": uri }, "position": { "line": 1, "character": 4 } }),
                )
                .await;
            assert!(hover.get("result").is_some(), "{hover}");
            hover_latency.push(t.elapsed());
            hovers += 1;
        }
        if batches % 20 == 0 {
            let t = Instant::now();
            let response = client
                .request(
                    "workspace/executeCommand",
                    json!({ "command": "codex.runAction", "arguments": [
                        { "action": "simplify", "textDocument": { "uri": uri }, "range": range(1, 4, 1, 4) }] }),
                )
                .await;
            assert!(response.get("result").is_some(), "{response}");
            if response["result"]["applied"] == true {
                applied += 1;
            } else if applied == 0 && actions == 0 {
                println!("soak: first action did not apply: {response}");
            }
            action_latency.push(t.elapsed());
            actions += 1;
        }
        if batches % 50 == 0 {
            client.did_open(&other, "rust", 1, &other_text);
            client.did_change(&other, 2, range(10, 0, 10, 2), "FN");
            client.notify(
                "textDocument/didClose",
                json!({ "textDocument": { "uri": other } }),
            );
            opened += 1;
        }
        if started.elapsed() >= next_sample {
            samples.push((
                started.elapsed().as_secs(),
                client.rss_kib().unwrap_or(0) / 1024,
            ));
            next_sample += Duration::from_secs(10);
        }
    }
    let elapsed = started.elapsed();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_end = client.rss_kib().unwrap();
    list_latency.sort();
    hover_latency.sort();
    action_latency.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "soak: {edits} edits in {:.1} s ({:.0} edits/s), {actions} actions ({applied} with an edit), {hovers} hovers, {opened} open/close of a {} KB document, {} model requests",
        elapsed.as_secs_f64(),
        edits as f64 / elapsed.as_secs_f64(),
        other_text.len() / 1024,
        fake.requests().len()
    );
    println!(
        "soak: code action list after each batch of {BATCH} edits: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        ms(percentile(&list_latency, 0.5)),
        ms(percentile(&list_latency, 0.99)),
        ms(percentile(&list_latency, 1.0))
    );
    println!(
        "soak: hover p50 {:.1} ms, max {:.1} ms; action p50 {:.1} ms, max {:.1} ms",
        ms(percentile(&hover_latency, 0.5)),
        ms(percentile(&hover_latency, 1.0)),
        ms(percentile(&action_latency, 0.5)),
        ms(percentile(&action_latency, 1.0))
    );
    println!("soak: RSS samples (s, MiB): {samples:?}");
    println!(
        "soak: RSS start {} MiB, end {} MiB, growth {} MiB",
        rss_start / 1024,
        rss_end / 1024,
        (rss_end as i64 - rss_start as i64) / 1024
    );
    // The first model call loads the o200k tokenizer (~40 MB, once), so the
    // first sample is the warmed-up baseline that growth is judged against.
    if let Some(&(at, warm)) = samples.first() {
        println!(
            "soak: after warm-up (first sample, {at} s) {warm} MiB, end {} MiB, growth since {} MiB",
            rss_end / 1024,
            (rss_end / 1024) as i64 - warm as i64
        );
    }
    let (code, logs) = client.shutdown_keep_logs().await;
    assert_eq!(code, Some(0), "server exit code; logs:\n{logs}");
    assert!(!logs.contains("panicked"), "{logs}");
}

/// A tiny deterministic xorshift generator (no extra dependency).
fn fastrand_like(seed: u64) -> impl FnMut() -> u64 {
    let mut state = seed;
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }
}
