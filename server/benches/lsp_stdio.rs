//! LSP-level benchmark over the real stdio transport: time to answer
//! `initialize` from process start, throughput and latency of incremental
//! edits on a 100,000-line multi-byte file, code action listing latency, and
//! the server's peak RSS. Prints figures; asserts nothing about speed.
//!
//! Run: `cargo bench -p codex-lsp --bench lsp_stdio`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::path::Path;
use std::time::{Duration, Instant};

use codex_lsp_tests::lsp_client::{LspClient, frame};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_codex-lsp");
const LINES: usize = 100_000;
const EDITS: usize = 5_000;
const LATENCY_SAMPLES: usize = 1_000;
const ROUNDS: usize = 15;

fn big_file() -> String {
    let mut text = String::with_capacity(LINES * 48);
    for i in 0..LINES {
        if i % 20 == 0 {
            text.push_str(&format!("fn fonction_{i}(värde: i32) -> i32 {{\n"));
        } else if i % 20 == 19 {
            text.push_str("}\n");
        } else {
            text.push_str(&format!("    let x{i} = \"日本語 {i} 😀\"; // ça va\n"));
        }
    }
    text
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// The nearest body line (not a `fn` or `}` line) at or after `line`.
fn body_line(line: usize) -> usize {
    if matches!(line % 20, 0 | 19) {
        line + 1
    } else {
        line
    }
}

fn edit(i: usize) -> (Value, &'static str) {
    // Spread edits over the file; alternate inserts and deletes so the text
    // stays the same size. Column 4 is just after the indentation.
    if i.is_multiple_of(2) {
        let line = body_line((i * 7919) % LINES);
        (
            json!({"start": {"line": line, "character": 4}, "end": {"line": line, "character": 4}}),
            "é",
        )
    } else {
        let prev = body_line(((i - 1) * 7919) % LINES);
        (
            json!({"start": {"line": prev, "character": 4}, "end": {"line": prev, "character": 5}}),
            "",
        )
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let text = big_file();
    let uri = "file:///bench/big.rs";

    let started = Instant::now();
    let mut client = LspClient::spawn_at(Path::new(BIN), &[], &[]).unwrap();
    let pid = client.pid().unwrap();
    let caps = json!({ "general": { "positionEncodings": ["utf-16"] } });
    client.initialize(None, caps, json!({})).await;
    let init_time = started.elapsed();

    client.did_open(uri, "rust", 1, &text);
    let barrier = json!({
        "textDocument": { "uri": uri },
        "range": {"start": {"line": 500, "character": 0}, "end": {"line": 500, "character": 0}},
        "context": { "diagnostics": [] }
    });
    client
        .request("textDocument/codeAction", barrier.clone())
        .await;
    let rss_after_open = vm_hwm_kib(pid).unwrap_or(0);

    // Throughput: EDITS pipelined changes, then one request as a barrier
    // (notifications are applied in order before it is answered). Measured
    // twice, ROUNDS times each: with this client encoding each change as it
    // goes (as an editor does; the client shares the machine's 2 cores with
    // the server), and with the frames encoded before the clock starts, which
    // leaves only writing, the server's work and the barrier's round trip.
    let mut version = 1;
    let mut as_it_goes = Vec::with_capacity(ROUNDS);
    let mut pre_encoded = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let t = Instant::now();
        for i in 0..EDITS {
            version += 1;
            let (range, insert) = edit(i);
            client.did_change(uri, version, range, insert);
        }
        client
            .request("textDocument/codeAction", barrier.clone())
            .await;
        as_it_goes.push(t.elapsed());

        let mut frames = Vec::new();
        for i in 0..EDITS {
            version += 1;
            let (range, insert) = edit(i);
            frames.extend(frame(&json!({
                "jsonrpc": "2.0", "method": "textDocument/didChange",
                "params": { "textDocument": { "uri": uri, "version": version },
                            "contentChanges": [ { "range": range, "text": insert } ] }
            })));
        }
        let t = Instant::now();
        client.send_frames(frames);
        client
            .request("textDocument/codeAction", barrier.clone())
            .await;
        pre_encoded.push(t.elapsed());
    }
    as_it_goes.sort();
    pre_encoded.sort();

    // Latency: one change followed by a barrier request, round trip each.
    let mut latencies = Vec::with_capacity(LATENCY_SAMPLES);
    for i in 0..LATENCY_SAMPLES {
        version += 1;
        let (range, insert) = edit(i);
        let t = Instant::now();
        client.did_change(uri, version, range, insert);
        client
            .request("textDocument/codeAction", barrier.clone())
            .await;
        latencies.push(t.elapsed());
    }
    latencies.sort();

    // Code action listing alone.
    let mut listing = Vec::with_capacity(LATENCY_SAMPLES);
    for i in 0..LATENCY_SAMPLES {
        let line = (i * 97) % LINES;
        let params = json!({
            "textDocument": { "uri": uri },
            "range": {"start": {"line": line, "character": 0}, "end": {"line": line, "character": 8}},
            "context": { "diagnostics": [] }
        });
        let t = Instant::now();
        client.request("textDocument/codeAction", params).await;
        listing.push(t.elapsed());
    }
    listing.sort();

    let peak_kib = vm_hwm_kib(pid).unwrap_or(0);
    let file_mib = text.len() as f64 / (1024.0 * 1024.0);
    println!("codex-lsp LSP-level benchmark (real stdio, release build)");
    println!(
        "  file: {LINES} lines, {:.1} MiB, multi-byte (é, 日本語, 😀), UTF-16 positions",
        file_mib
    );
    println!(
        "  initialize answered after process start: {:.2} ms",
        init_time.as_secs_f64() * 1e3
    );
    let rate = |d: Duration| EDITS as f64 / d.as_secs_f64();
    for (how, times) in [
        ("client encoding as it goes", &as_it_goes),
        ("frames encoded beforehand", &pre_encoded),
    ] {
        println!(
            "  {EDITS} pipelined incremental edits, {how}: median {:.1} ms = {:.0} edits/s end to end (best {:.0}/s, worst {:.0}/s over {ROUNDS} rounds)",
            percentile(times, 0.5).as_secs_f64() * 1e3,
            rate(percentile(times, 0.5)),
            rate(times[0]),
            rate(times[times.len() - 1]),
        );
    }
    println!(
        "  edit + barrier round trip ({LATENCY_SAMPLES} samples): p50 {:.1} µs, p99 {:.1} µs",
        percentile(&latencies, 0.5).as_secs_f64() * 1e6,
        percentile(&latencies, 0.99).as_secs_f64() * 1e6
    );
    println!(
        "  codeAction listing round trip ({LATENCY_SAMPLES} samples): p50 {:.1} µs, p99 {:.1} µs",
        percentile(&listing, 0.5).as_secs_f64() * 1e6,
        percentile(&listing, 0.99).as_secs_f64() * 1e6
    );
    println!(
        "  server RSS: {:.1} MiB after open, peak {:.1} MiB (budget 3 x file + 20 MiB = {:.1} MiB)",
        rss_after_open as f64 / 1024.0,
        peak_kib as f64 / 1024.0,
        3.0 * file_mib + 20.0
    );
    assert_eq!(client.shutdown().await, Some(0));
}
