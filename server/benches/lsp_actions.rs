//! LSP-level benchmark of the model-calling paths over the real stdio
//! transport against the fake Responses server (in this process, loopback):
//!
//! * resolve overhead: total `codeAction/resolve` time minus the fake
//!   model's own time (request received → last byte sent; the fake answers
//!   at once, so this is nearly the whole request), on a 1,000- and a
//!   100,000-line file; and the server's CPU time per resolve (all its
//!   threads, from `/proc/<pid>/task/*/schedstat`), which a loaded machine
//!   disturbs much less than wall time;
//! * peak server RSS while 20 actions run concurrently;
//! * cached explain-hover latency on the 100,000-line file.
//!
//! Prints figures; asserts nothing about speed.
//! Run: `cargo bench -p codex-lsp --bench lsp_actions`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::path::Path;
use std::time::{Duration, Instant};

use codex_lsp_tests::lsp_client::{LspClient, file_uri};
use codex_lsp_tests::{FakeResponses, Rule, Script};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_codex-lsp");
const SAMPLES: usize = 100;

fn source(lines: usize) -> String {
    let mut text = String::with_capacity(lines * 48);
    for i in 0..lines {
        match i % 20 {
            0 => text.push_str(&format!("fn fonction_{i}(värde: i32) -> i32 {{\n")),
            19 => text.push_str("}\n"),
            _ => text.push_str(&format!("    let x{i} = \"日本語 {i} 😀\"; // ça va\n")),
        }
    }
    text
}

fn patch_for(k: usize) -> String {
    format!(
        "*** Begin Patch\n*** Update File: big.rs\n@@ fn fonction_{k}(värde: i32) -> i32 {{\n-    let x{n} = \"日本語 {n} 😀\"; // ça va\n+    let x{n} = \"日本語 {n} 😀\"; // ça va bien\n*** End Patch\n",
        n = k + 1
    )
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn vm_hwm_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

/// Nanoseconds the process has run on a CPU, all threads together (Linux).
fn cpu_ns(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .filter_map(Result::ok)
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

fn caps() -> Value {
    json!({
        "general": { "positionEncodings": ["utf-16"] },
        "workspace": { "applyEdit": true, "workspaceEdit": { "documentChanges": true } },
        "textDocument": {
            "codeAction": {
                "codeActionLiteralSupport": { "codeActionKind": { "valueSet": ["refactor"] } },
                "resolveSupport": { "properties": ["edit"] }, "dataSupport": true
            },
            "hover": { "contentFormat": ["markdown"] }
        }
    })
}

struct Session {
    _dir: tempfile::TempDir,
    fake: FakeResponses,
    client: LspClient,
    uri: String,
    target_line: usize,
}

async fn open(lines: usize, script: Script) -> Session {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let path = root.join("big.rs");
    let text = source(lines);
    std::fs::write(&path, &text).unwrap();
    let fake = FakeResponses::start(script).await;
    let mut client =
        LspClient::spawn_at(Path::new(BIN), &[("OPENAI_API_KEY", "bench-key")], &[]).unwrap();
    // The first hover waits for its (fake, immediate) explanation however
    // long the 100,000-line render takes: the figures are about cached
    // hovers, not the bound.
    let options = json!({ "baseUrl": fake.base_url(), "maxConcurrentRequests": 32,
                          "explain": { "cacheBytes": 64 << 20, "hoverWaitMs": 10_000 } });
    client.initialize(Some(&root), caps(), options).await;
    let uri = file_uri(&path);
    client.did_open(&uri, "rust", 1, &text);
    let target_line = (lines / 2) / 20 * 20;
    Session {
        _dir: dir,
        fake,
        client,
        uri,
        target_line,
    }
}

async fn simplify_action(s: &mut Session) -> Value {
    let line = s.target_line + 3;
    let list = s
        .client
        .request("textDocument/codeAction", json!({
            "textDocument": { "uri": s.uri },
            "range": { "start": { "line": line, "character": 4 }, "end": { "line": line, "character": 4 } },
            "context": { "diagnostics": [] }
        }))
        .await;
    list["result"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["title"] == "Codex: Simplify")
        .unwrap()
        .clone()
}

/// Resolve overheads and totals in call order (the first call also loads the
/// o200k tokenizer, once per process), and the server's mean CPU time per
/// resolve after the first.
async fn resolve_overhead(lines: usize) -> (Vec<Duration>, Vec<Duration>, Duration) {
    let k = (lines / 2) / 20 * 20;
    let mut s = open(lines, Script::reply(patch_for(k))).await;
    let pid = s.client.pid().unwrap();
    let action = simplify_action(&mut s).await;
    let mut overheads = Vec::new();
    let mut totals = Vec::new();
    let mut cpu_start = 0;
    for i in 0..SAMPLES {
        if i == 1 {
            cpu_start = cpu_ns(pid);
        }
        let start = Instant::now();
        let resolved = s.client.request("codeAction/resolve", action.clone()).await;
        let total = start.elapsed();
        assert!(
            resolved["result"]["edit"].is_object(),
            "resolve failed: {resolved}"
        );
        let record = &s.fake.requests()[i];
        let model_time = record.finished_at.unwrap() - record.received_at;
        totals.push(total);
        overheads.push(total.saturating_sub(model_time));
    }
    let cpu = Duration::from_nanos((cpu_ns(pid) - cpu_start) / (SAMPLES as u64 - 1));
    (overheads, totals, cpu)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() {
    println!(
        "codex-lsp model-path benchmark (real stdio, release build, fake Responses server on loopback)"
    );
    for lines in [1_000usize, 100_000] {
        let (mut overheads, mut totals, cpu) = resolve_overhead(lines).await;
        let first = overheads.remove(0);
        totals.remove(0);
        overheads.sort();
        totals.sort();
        println!(
            "  resolve on a {lines}-line file: first call overhead {:.2} ms (loads the tokenizer); next {} calls: overhead min {:.2} ms, p50 {:.2} ms, p99 {:.2} ms (total p50 {:.2} ms); server CPU {:.2} ms per resolve",
            ms(first),
            overheads.len(),
            ms(overheads[0]),
            ms(percentile(&overheads, 0.5)),
            ms(percentile(&overheads, 0.99)),
            ms(percentile(&totals, 0.5)),
            ms(cpu),
        );
    }

    // 20 concurrent actions on the 100,000-line file, each model call 300 ms.
    let lines = 100_000;
    let k = (lines / 2) / 20 * 20;
    let mut s = open(
        lines,
        Script::new(vec![Rule::reply(patch_for(k)).delay_ms(300)]),
    )
    .await;
    let pid = s.client.pid().unwrap();
    let action = simplify_action(&mut s).await;
    let before = vm_hwm_mib(pid);
    let pending: Vec<_> = (0..20)
        .map(|_| {
            s.client
                .send_request("codeAction/resolve", action.clone())
                .1
        })
        .collect();
    let start = Instant::now();
    for p in pending {
        let r = p.await.unwrap();
        assert!(r["result"]["edit"].is_object(), "{r}");
    }
    println!(
        "  20 concurrent resolves (100,000 lines, 300 ms model each): all done in {:.0} ms; server peak RSS {:.1} MiB (before: {:.1} MiB)",
        ms(start.elapsed()),
        vm_hwm_mib(pid),
        before
    );

    // Cached hover: first hover computes, then repeated hovers in the
    // same function are served from the cache.
    s.fake.set_script(Script::reply("**Does nothing useful.**"));
    let calls_before_hovers = s.fake.requests().len();
    let hover = |line: usize, character: usize| json!({ "textDocument": { "uri": s.uri }, "position": { "line": line, "character": character } });
    let first = s
        .client
        .request("textDocument/hover", hover(k + 2, 6))
        .await;
    assert!(
        first["result"]["contents"]["value"]
            .as_str()
            .unwrap()
            .contains("useful"),
        "{first}"
    );
    let mut times = Vec::new();
    for i in 0..1000usize {
        let params = hover(k + 1 + i % 18, 4 + i % 20);
        let t = Instant::now();
        let r = s.client.request("textDocument/hover", params).await;
        times.push(t.elapsed());
        assert!(r["result"]["contents"]["value"].is_string());
    }
    times.sort();
    let model_calls = s.fake.requests().len() - calls_before_hovers;
    println!(
        "  cached hover on the 100,000-line file (1000 hovers in one function): p50 {:.3} ms, p99 {:.3} ms; model calls for the 1001 hovers: {}",
        ms(percentile(&times, 0.5)),
        ms(percentile(&times, 0.99)),
        model_calls
    );
    let _ = s.client.shutdown().await;
}
