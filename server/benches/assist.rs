//! Figures for the assist core (`cargo bench -p codex-lsp --bench assist`):
//! context building for a target inside a 100,000-line file (target: under
//! 5 ms), and the size of a one-line fix inside a 300-line function as patch
//! hunks versus a whole-function rewrite. Plain timing loops, no harness.
#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs
)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use codex_lsp::assist::tokens::{clear_memo, count_exact, warm_up};
use codex_lsp::assist::{
    ActionKind, ContextRequest, Windowing, build_prompt, parse_patch, plan_edits, plan_edits_with,
    target_region,
};
use codex_lsp::config::Settings;
use ropey::Rope;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn big_file(lines: usize) -> String {
    let mut s = String::from("use std::collections::HashMap;\nuse std::fmt::Write;\n\n");
    // Each function is 10 lines.
    for i in 0..(lines - 3) / 10 {
        s.push_str(&format!(
            "/// Computes value number {i}.\npub fn compute_{i}(input: &[u64], map: &mut HashMap<u64, u64>) -> u64 {{\n    let mut acc = {i};\n    for (k, v) in input.iter().enumerate() {{\n        acc = acc.wrapping_mul(31).wrapping_add(*v ^ k as u64);\n        map.insert(k as u64, acc);\n    }}\n    acc\n}}\n\n"
        ));
    }
    s
}

fn context_building() {
    let text = big_file(100_000);
    let rope = Rope::from_str(&text);
    let root = PathBuf::from("/ws");
    let file = root.join("src/huge.rs");
    let cursor = text.find("let mut acc = 5000;").unwrap();
    // The default maxFileBytes (2 MiB) would refuse this 2.9 MB file.
    let mut settings = Settings {
        max_file_bytes: 16 * 1024 * 1024,
        ..Settings::default()
    };
    println!(
        "file: {} lines, {} bytes; budget {} tokens",
        rope.len_lines() - 1,
        rope.len_bytes(),
        settings.max_context_tokens
    );
    let t = Instant::now();
    warm_up().unwrap();
    println!("tokenizer init (once per process): {:?}", t.elapsed());

    // Target region (tree-sitter on a window around the cursor).
    let mut times = Vec::new();
    let mut region = None;
    for _ in 0..20 {
        let t = Instant::now();
        region = Some(target_region("rust", &rope, None, cursor));
        times.push(t.elapsed());
    }
    let region = region.unwrap();
    println!(
        "target_region (100k-line file, windowed parse): median {:?}",
        median(times)
    );

    let build = |settings: &Settings| {
        build_prompt(&ContextRequest {
            workspace_root: Some(&root),
            file_path: &file,
            language_id: "rust",
            text: &rope,
            region: region.clone(),
            action: ActionKind::Simplify,
            instruction: None,
            diagnostics: &[],
            agents_md: Vec::new(),
            other_documents: Vec::new(),
            settings,
        })
        .unwrap()
    };
    for budget in [24_000u32, 8_000] {
        settings.max_context_tokens = budget;
        let mut cold = Vec::new();
        for _ in 0..5 {
            clear_memo();
            let t = Instant::now();
            let p = build(&settings);
            cold.push(t.elapsed());
            assert!(p.tokens <= budget as usize);
        }
        let mut warm = Vec::new();
        let mut last = None;
        for _ in 0..30 {
            let t = Instant::now();
            last = Some(build(&settings));
            warm.push(t.elapsed());
        }
        let p = last.unwrap();
        println!(
            "build_prompt, budget {budget}: cold (empty token memo) median {:?}; warm median {:?}; prompt {} tokens, {} bytes of input, window {} bytes",
            median(cold),
            median(warm),
            p.tokens,
            p.input.len(),
            p.file_window.len()
        );
    }
}

fn patch_vs_rewrite() {
    // A 300-line function with a one-line bug.
    let mut f = String::from("pub fn process(items: &[i64]) -> i64 {\n    let mut total = 0;\n");
    for i in 0..296 {
        f.push_str(&format!(
            "    total += items.get({i}).copied().unwrap_or(0) * {};\n",
            i % 7
        ));
    }
    f.push_str("    total\n}\n");
    assert_eq!(f.lines().count(), 300);
    let buggy = "    total += items.get(150).copied().unwrap_or(0) * 3;\n";
    let fixed = "    total += items.get(150).copied().unwrap_or(1) * 3;\n";
    assert!(f.contains(buggy));
    let after = f.replace(buggy, fixed);

    let lines: Vec<&str> = f.lines().collect();
    let at = lines
        .iter()
        .position(|l| format!("{l}\n") == buggy)
        .unwrap();
    let mut hunk = String::from(
        "*** Begin Patch\n*** Update File: src/process.rs\n@@ pub fn process(items: &[i64]) -> i64 {\n",
    );
    for l in &lines[at - 3..at] {
        hunk.push_str(&format!(" {l}\n"));
    }
    hunk.push_str(&format!("-{}+{}", buggy, fixed));
    for l in &lines[at + 1..at + 4] {
        hunk.push_str(&format!(" {l}\n"));
    }
    hunk.push_str("*** End Patch\n");
    let rewrite = format!("```rust\n{after}```\n");

    let primary = PathBuf::from("/ws/src/process.rs");
    let t = Instant::now();
    let changes = plan_edits(
        &parse_patch(&hunk).unwrap(),
        (&primary, &f),
        &HashMap::<PathBuf, String>::new(),
        Some(&PathBuf::from("/ws")),
    )
    .unwrap();
    let plan_time = t.elapsed();
    println!(
        "one-line fix in a 300-line function: patch hunk {} bytes / {} o200k tokens; whole-function rewrite {} bytes / {} tokens ({:.1}x more tokens); parse+apply+diff {:?}; edits: {:?}",
        hunk.len(),
        count_exact(&hunk).unwrap(),
        rewrite.len(),
        count_exact(&rewrite).unwrap(),
        count_exact(&rewrite).unwrap() as f64 / count_exact(&hunk).unwrap() as f64,
        plan_time,
        changes.iter().map(|c| &c.kind).collect::<Vec<_>>()
    );
}

/// The `lsp_actions` bench's file: 20-line functions, non-ASCII text.
fn lsp_bench_source(lines: usize) -> String {
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

/// The server-side phases of one edit action, in process: prompt building
/// (region, window, redaction) and the patch planning (apply, minimal
/// edits) on the `lsp_actions` bench's files.
fn edit_path() {
    warm_up().unwrap();
    let settings = Settings::default();
    let root = PathBuf::from("/ws");
    let file = root.join("big.rs");
    for lines in [1_000usize, 100_000] {
        let text = lsp_bench_source(lines);
        let rope = Rope::from_str(&text);
        let k = (lines / 2) / 20 * 20;
        let cursor = rope.line_to_byte(k + 3) + 4;
        let reply = format!(
            "*** Begin Patch\n*** Update File: big.rs\n@@ fn fonction_{k}(värde: i32) -> i32 {{\n-    let x{n} = \"日本語 {n} 😀\"; // ça va\n+    let x{n} = \"日本語 {n} 😀\"; // ça va bien\n*** End Patch\n",
            n = k + 1
        );
        let (mut region_t, mut prompt_t, mut plan_t) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..30 {
            let t = Instant::now();
            let region = target_region("rust", &rope, None, cursor);
            region_t.push(t.elapsed());
            let t = Instant::now();
            let prompt = build_prompt(&ContextRequest {
                workspace_root: Some(&root),
                file_path: &file,
                language_id: "rust",
                text: &rope,
                region,
                action: ActionKind::Simplify,
                instruction: None,
                diagnostics: &[],
                agents_md: Vec::new(),
                other_documents: Vec::new(),
                settings: &settings,
            })
            .unwrap();
            prompt_t.push(t.elapsed());
            assert!(prompt.tokens > 0);
            let t = Instant::now();
            let changes = plan_edits_with(
                &parse_patch(&reply).unwrap(),
                (&file, &rope),
                &HashMap::<PathBuf, String>::new(),
                Some(&root),
                Windowing::Auto,
            )
            .unwrap();
            plan_t.push(t.elapsed());
            assert_eq!(changes.len(), 1);
        }
        let line_key = format!("let x{n} = \"日本語 {n} 😀\"; // ça va", n = k + 1);
        let anchor_key = format!("fn fonction_{k}(värde: i32) -> i32 {{");
        let needles: [&[u8]; 5] = [
            b"\0",
            b"PRIVATE KEY",
            b"[REDACTED:",
            anchor_key.as_bytes(),
            line_key.as_bytes(),
        ];
        for (name, set) in [
            ("all five", &needles[..]),
            ("nul", &needles[..1]),
            ("private", &needles[1..2]),
            ("placeholder", &needles[2..3]),
            ("anchor", &needles[3..4]),
            ("line", &needles[4..5]),
        ] {
            let mut t_scan = Vec::new();
            for _ in 0..10 {
                let t = Instant::now();
                let found = codex_lsp::text::first_and_last(&rope, set);
                t_scan.push(t.elapsed());
                assert!(!found.is_empty());
            }
            println!("  scan {name}: {:?}", median(t_scan));
        }
        println!(
            "edit path on a {lines}-line file ({} bytes), medians: target_region {:?}, build_prompt {:?}, parse + plan_edits {:?}",
            text.len(),
            median(region_t),
            median(prompt_t),
            median(plan_t)
        );
    }
}

fn main() {
    context_building();
    patch_vs_rewrite();
    edit_path();
}
