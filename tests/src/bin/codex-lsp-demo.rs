//! A guided tour of codex-lsp that runs anywhere: starts the real server
//! over stdio like an editor would, opens a small Rust file in a temporary
//! workspace, lists the code actions, runs "Simplify" and "Explain", and
//! prints what the editor receives.
//!
//! By default the model is the repo's fake Responses server (no key, no
//! network). With `--live`, the real OpenAI API is used with the key in
//! `OPENAI_API_KEY` (and `--model ID` to pick a model).
//!
//! Usage: `codex-lsp-demo [--live] [--model ID] [--server PATH]`

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::ExitCode;

use codex_lsp_tests::lsp_client::{LspClient, apply_lsp_edits, file_uri};
use codex_lsp_tests::{FakeResponses, Rule, Script};
use serde_json::{Value, json};

const SAMPLE: &str = "/// Sums the quantities of all items.
pub fn total(items: &[(String, u32)]) -> u32 {
    let mut sum = 0;
    for i in 0..items.len() {
        sum = sum + items[i].1;
    }
    return sum;
}
";

const SIMPLIFIED: &str = "*** Begin Patch
*** Update File: src/lib.rs
@@
 pub fn total(items: &[(String, u32)]) -> u32 {
-    let mut sum = 0;
-    for i in 0..items.len() {
-        sum = sum + items[i].1;
-    }
-    return sum;
+    items.iter().map(|(_, qty)| qty).sum()
 }
*** End Patch
";

const EXPLANATION: &str = "**Adds up the quantity (second field) of every item.**\n\n- Input: a slice of `(name, quantity)` pairs.\n- Output: the total as `u32`.\n- Pitfall: overflows (panics in debug builds) past `u32::MAX`.";

struct Options {
    live: bool,
    model: Option<String>,
    server: Option<PathBuf>,
}

fn parse_args() -> Result<Options, lexopt::Error> {
    use lexopt::prelude::*;
    let mut options = Options {
        live: false,
        model: None,
        server: None,
    };
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next()? {
        match arg {
            Long("live") => options.live = true,
            Long("model") => options.model = Some(parser.value()?.string()?),
            Long("server") => options.server = Some(parser.value()?.into()),
            Long("help") => {
                println!("usage: codex-lsp-demo [--live] [--model ID] [--server PATH]");
                std::process::exit(0);
            }
            _ => return Err(arg.unexpected()),
        }
    }
    Ok(options)
}

fn step(text: &str) {
    println!("\n\x1b[1m== {text}\x1b[0m");
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("codex-lsp-demo: {e}");
            return ExitCode::from(2);
        }
    };
    let key = std::env::var("OPENAI_API_KEY")
        .ok()
        .filter(|k| !k.is_empty());
    if options.live && key.is_none() {
        eprintln!("codex-lsp-demo: --live needs OPENAI_API_KEY in the environment");
        return ExitCode::from(2);
    }

    let fake = if options.live {
        None
    } else {
        let script = Script::new(vec![
            Rule::reply(EXPLANATION).matching("Action: explain"),
            Rule::reply(SIMPLIFIED).chunks(24, 20),
        ]);
        Some(FakeResponses::start(script).await)
    };
    let dir = tempfile::tempdir().expect("temporary workspace");
    let root = dir.path().canonicalize().expect("workspace path");
    std::fs::create_dir_all(root.join("src")).expect("src folder");
    let path = root.join("src/lib.rs");
    std::fs::write(&path, SAMPLE).expect("sample file");

    let server = options
        .server
        .clone()
        .unwrap_or_else(codex_lsp_tests::lsp_client::server_binary);
    let key_env = key
        .clone()
        .unwrap_or_else(|| "demo-key-for-the-fake-server".to_owned());
    let mut client =
        match LspClient::spawn_at(&server, &[("OPENAI_API_KEY", key_env.as_str())], &[]) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("codex-lsp-demo: cannot start {}: {e}", server.display());
                return ExitCode::FAILURE;
            }
        };

    step(&format!("Starting {} (LSP over stdio)", server.display()));
    let mut settings = json!({});
    match &fake {
        Some(f) => {
            settings["baseUrl"] = json!(f.base_url());
            println!(
                "model: the repo's fake Responses server at {}",
                f.base_url()
            );
        }
        None => println!("model: the OpenAI Responses API (live)"),
    }
    if let Some(model) = &options.model {
        settings["model"] = json!(model);
    }
    let caps = json!({
        "general": { "positionEncodings": ["utf-16"] },
        "workspace": { "applyEdit": true, "workspaceEdit": { "documentChanges": true } },
        "textDocument": {
            "codeAction": { "codeActionLiteralSupport": { "codeActionKind": { "valueSet": ["quickfix", "refactor"] } } },
            "hover": { "contentFormat": ["markdown"] }
        },
        "window": { "workDoneProgress": true }
    });
    let init = client.initialize(Some(&root), caps, settings).await;
    println!(
        "initialized: {} {}, position encoding {}",
        init["serverInfo"]["name"].as_str().unwrap_or("?"),
        init["serverInfo"]["version"].as_str().unwrap_or("?"),
        init["capabilities"]["positionEncoding"]
    );

    let uri = file_uri(&path);
    client.did_open(&uri, "rust", 1, SAMPLE);
    step("The editor opens src/lib.rs");
    print!("{SAMPLE}");

    step("textDocument/codeAction with the cursor inside `total` (no network)");
    let cursor =
        json!({ "start": { "line": 3, "character": 8 }, "end": { "line": 3, "character": 8 } });
    let list = client
        .request("textDocument/codeAction", json!({ "textDocument": { "uri": uri }, "range": cursor, "context": { "diagnostics": [] } }))
        .await;
    for action in list["result"].as_array().cloned().unwrap_or_default() {
        println!(
            "  {:<28} {}",
            action["title"].as_str().unwrap_or("?"),
            action["kind"].as_str().unwrap_or("")
        );
    }

    step("The user picks \"Codex: Simplify\" (workspace/executeCommand codex.runAction)");
    let args = json!({ "action": "simplify", "textDocument": { "uri": uri }, "range": cursor });
    let result = client
        .request(
            "workspace/executeCommand",
            json!({ "command": "codex.runAction", "arguments": [args] }),
        )
        .await;
    for p in client.notifications_named("$/progress") {
        let v = &p["params"]["value"];
        println!(
            "  progress {}: {}",
            v["kind"].as_str().unwrap_or(""),
            v["title"].as_str().or(v["message"].as_str()).unwrap_or("")
        );
    }
    let edits = client.server_requests_named("workspace/applyEdit");
    match edits.last() {
        Some(request) if result["result"]["applied"] == true => {
            let doc = &request["params"]["edit"]["documentChanges"][0];
            let list = doc["edits"].as_array().cloned().unwrap_or_default();
            println!(
                "workspace/applyEdit for version {} with {} minimal edit(s):",
                doc["textDocument"]["version"],
                list.len()
            );
            for e in &list {
                println!(
                    "  {} -> {:?}",
                    e["range"],
                    e["newText"].as_str().unwrap_or("")
                );
            }
            step("The document after the edit");
            print!("{}", apply_lsp_edits(SAMPLE, &list, "utf-16"));
        }
        _ => {
            println!("no edit: {}", result);
            for m in client.notifications_named("window/showMessage") {
                println!("  message: {}", m["params"]["message"]);
            }
        }
    }

    step("textDocument/hover over `total` (explained once, then cached)");
    let hover = client
        .request(
            "textDocument/hover",
            json!({ "textDocument": { "uri": uri }, "position": { "line": 1, "character": 9 } }),
        )
        .await;
    println!(
        "{}",
        hover["result"]["contents"]["value"]
            .as_str()
            .unwrap_or("(no hover)")
    );

    if let Some(f) = &fake {
        step("What the fake model server received");
        for r in f.requests() {
            let body: &Value = &r.body;
            println!(
                "  POST {} model={} reasoning={} stream={} store={} authorization={}",
                r.path,
                body["model"],
                body["reasoning"]["effort"],
                body["stream"],
                body["store"],
                r.headers
                    .get("authorization")
                    .map(String::as_str)
                    .unwrap_or("-")
            );
        }
    }
    let _ = client.shutdown().await;
    println!("\nDone. Configure your editor with README.md; run all tests with ./scripts/test.sh.");
    ExitCode::SUCCESS
}
