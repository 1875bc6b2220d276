//! LSP-level benchmark of a two-step edit action (the model reads another
//! file with `read_file`, then patches through `apply_patch`) over the real
//! stdio transport against the fake Responses server on loopback, on a
//! 1,000- and a 100,000-line file. For each size it prints:
//!
//! * requests per action, and the action's input / cached / output tokens
//!   as the server reports them in `codex/status` (the fake server counts
//!   about 4 bytes per token and caches the prefix a request shares with the
//!   one before, as the Responses API's prompt cache does);
//! * server-side overhead per action: the `codeAction/resolve` time minus
//!   the fake model's own time for both requests (request received → last
//!   byte sent), so it holds the tool run, the patch, the edit and the
//!   transport;
//! * the share of the follow-up request that is a byte-identical prefix of
//!   the request before it (instructions, then the input items), and whether
//!   its input repeats the first one's items exactly with only the new items
//!   after them.
//!
//! Prints figures; asserts only that the actions succeed.
//! Run: `cargo bench -p codex-lsp --bench lsp_edit_loop`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::path::Path;
use std::time::{Duration, Instant};

use codex_lsp_tests::lsp_client::{LspClient, file_uri};
use codex_lsp_tests::{FakeResponses, Rule, Script};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_codex-lsp");
const SAMPLES: usize = 20;

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

/// The other file the model reads: 200 lines.
fn helper_file() -> String {
    (0..200)
        .map(|i| format!("pub fn helper_{i}(v: i32) -> i32 {{ v + {i} }}\n"))
        .collect()
}

fn patch_for(k: usize) -> String {
    format!(
        "*** Begin Patch\n*** Update File: big.rs\n@@ fn fonction_{k}(värde: i32) -> i32 {{\n-    let x{n} = \"日本語 {n} 😀\"; // ça va\n+    let x{n} = \"日本語 {n} 😀\"; // ça va bien\n*** End Patch\n",
        n = k + 1
    )
}

fn caps() -> Value {
    json!({
        "general": { "positionEncodings": ["utf-16"] },
        "workspace": { "applyEdit": true, "workspaceEdit": { "documentChanges": true } },
        "textDocument": {
            "codeAction": {
                "codeActionLiteralSupport": { "codeActionKind": { "valueSet": ["refactor"] } },
                "resolveSupport": { "properties": ["edit"] }, "dataSupport": true
            }
        }
    })
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// The cacheable prompt as the fake server sees it: instructions, then
/// the input items.
fn prompt_text(body: &Value) -> String {
    format!(
        "{}\n{}",
        body["instructions"].as_str().unwrap_or(""),
        body["input"]
    )
}

fn common_prefix(a: &str, b: &str) -> usize {
    a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count()
}

/// The usage in the last idle `codex/status` notification.
fn last_usage(client: &LspClient) -> Value {
    client
        .notifications()
        .iter()
        .rev()
        .find(|n| n["method"] == "codex/status" && n["params"]["state"] == "idle")
        .map(|n| n["params"]["usage"].clone())
        .unwrap_or(Value::Null)
}

async fn run(lines: usize) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let path = root.join("big.rs");
    let text = source(lines);
    std::fs::write(&path, &text).unwrap();
    std::fs::write(root.join("util.rs"), helper_file()).unwrap();
    let k = (lines / 2) / 20 * 20;
    let fake = FakeResponses::start(Script::new(vec![
        Rule::function_call(
            "read_file",
            json!({"path": "util.rs", "start_line": 1, "end_line": 200}),
        )
        .turn(1),
        Rule::custom_call("apply_patch", &patch_for(k)).turn(2),
    ]))
    .await;
    let mut client =
        LspClient::spawn_at(Path::new(BIN), &[("OPENAI_API_KEY", "bench-key")], &[]).unwrap();
    client
        .initialize(
            Some(&root),
            caps(),
            json!({ "baseUrl": fake.base_url(), "maxConcurrentRequests": 8 }),
        )
        .await;
    let uri = file_uri(&path);
    client.did_open(&uri, "rust", 1, &text);
    let line = k + 3;
    let list = client
        .request("textDocument/codeAction", json!({
            "textDocument": { "uri": uri },
            "range": { "start": { "line": line, "character": 4 }, "end": { "line": line, "character": 4 } },
            "context": { "diagnostics": [] }
        }))
        .await;
    let action = list["result"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["title"] == "Codex: Simplify")
        .unwrap()
        .clone();

    let mut overheads = Vec::new();
    let mut usage = Value::Null;
    let mut shares = Vec::new();
    let mut extends = true;
    let mut appended = 0;
    let mut whole_prefix = true;
    let mut requests_per_action = 0;
    for _ in 0..=SAMPLES {
        let before = fake.requests().len();
        let start = Instant::now();
        let resolved = client.request("codeAction/resolve", action.clone()).await;
        let total = start.elapsed();
        assert!(resolved["result"]["edit"].is_object(), "{resolved}");
        let records = fake.requests();
        let ours = &records[before..];
        requests_per_action = ours.len();
        let model: Duration = ours
            .iter()
            .map(|r| r.finished_at.unwrap() - r.received_at)
            .sum();
        overheads.push(total.saturating_sub(model));
        let (a, b) = (&ours[0].body, &ours[ours.len() - 1].body);
        let (pa, pb) = (prompt_text(a), prompt_text(b));
        let common = common_prefix(&pa, &pb);
        shares.push(common as f64 / pb.len() as f64);
        // All of the previous request but the `]` closing its input array.
        whole_prefix &= common + 1 >= pa.len();
        let (ia, ib) = (
            a["input"].as_array().unwrap(),
            b["input"].as_array().unwrap(),
        );
        extends &= ib.len() > ia.len() && ib[..ia.len()] == ia[..];
        appended = ib.len() - ia.len();
        // Wait for the status that ends this action before reading it.
        let deadline = Instant::now() + Duration::from_secs(5);
        while last_usage(&client).is_null() && Instant::now() < deadline {
            tokio::task::yield_now().await;
        }
        usage = last_usage(&client);
    }
    // The first action also loads the o200k tokenizer (once per process).
    let first = overheads.remove(0);
    overheads.sort();
    let share = shares.iter().sum::<f64>() / shares.len() as f64;
    println!(
        "  {lines}-line file: {requests_per_action} requests per action; tokens per action (codex/status): input {}, cached {}, output {}; server overhead per action: first {:.2} ms (loads the tokenizer), then p50 {:.2} ms, p99 {:.2} ms over {} actions; follow-up request: {:.1}% byte-identical prefix of the one before (the whole previous request but the `]` closing its input: {whole_prefix}), input extends it item for item: {extends} ({appended} items appended: the replayed call and its output)",
        usage["inputTokens"],
        usage["cachedTokens"],
        usage["outputTokens"],
        ms(first),
        ms(percentile(&overheads, 0.5)),
        ms(percentile(&overheads, 0.99)),
        overheads.len(),
        share * 100.0,
    );
    let _ = client.shutdown().await;
}

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() {
    println!(
        "codex-lsp two-step edit action (read_file, then apply_patch): real stdio, fake Responses server on loopback"
    );
    for lines in [1_000usize, 100_000] {
        run(lines).await;
    }
}
