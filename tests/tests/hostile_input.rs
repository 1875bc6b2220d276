//! Hostile LSP input over real stdio: malformed JSON, invalid JSON-RPC,
//! wrong parameter types, unknown methods, out-of-range and inverted ranges,
//! changes before open, versions going backwards, a 50 MB file, binary and
//! non-UTF-8 files on disk that a patch names, 100 concurrent resolves and
//! `$/cancelRequest` storms. The server must stay up, answer every request
//! with a result or an error, never apply a stale edit, and its memory must
//! not grow as documents are opened and closed (figures are printed).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use codex_lsp_tests::assert_json_snapshot;
use codex_lsp_tests::harness::{TestServer, apply_lsp_edits, edits_for, file_uri, range};
use codex_lsp_tests::{Fault, Rule, Script};
use serde_json::{Value, json};

const SOURCE: &str = "fn add(a: i32, b: i32) -> i32 {\n    a+b\n}\n";
const PATCH: &str = "*** Begin Patch\n*** Update File: src/lib.rs\n@@\n fn add(a: i32, b: i32) -> i32 {\n-    a+b\n+    a + b\n }\n*** End Patch\n";

/// The editor of these tests: `documentChanges` without resource
/// operations, progress, no `showDocument`, resolve support if asked; a
/// 30 s request timeout; `src/lib.rs` open.
async fn start(script: Script, resolve: bool) -> TestServer {
    let mut builder = TestServer::builder()
        .create_files(false)
        .show_document(false)
        .api_key("test-key-hostile")
        .setting("requestTimeoutMs", 30000)
        .file("src/lib.rs", SOURCE)
        .script(script);
    if resolve {
        builder = builder.resolve();
    }
    builder.start().await
}

/// The server answers a code action listing within 10 s.
async fn assert_alive(h: &mut TestServer) {
    let (_, rx) = h.send_request(
        "textDocument/codeAction",
        json!({ "textDocument": { "uri": h.uri() }, "range": range(0, 0, 0, 0), "context": { "diagnostics": [] } }),
    );
    let response = tokio::time::timeout(Duration::from_secs(10), rx)
        .await
        .expect("the server stopped answering")
        .expect("the server went away");
    assert!(
        response["result"].as_array().is_some_and(|a| !a.is_empty()),
        "{response}"
    );
}

/// Runs one action, so everything loaded once (the o200k tokenizer, which
/// the server loads on its first model call) is in memory before a baseline
/// RSS is taken. The action helper ends with a barrier: the server is done
/// with it when this returns.
async fn warm_up(h: &mut TestServer) {
    let response = run_simplify(h, range(1, 4, 1, 4)).await;
    assert_eq!(response["result"]["applied"], true, "{response}");
    assert_eq!(h.applied_text(SOURCE), SOURCE.replace("a+b", "a + b"));
    h.fake().clear_requests();
}

/// Answered with exactly one of `result` / `error`.
fn answered(response: &Value) -> bool {
    response.get("result").is_some() != response.get("error").is_some()
}

/// The listed "Codex: Simplify" action at line 1, column 4 (for resolve).
async fn simplify_action(h: &mut TestServer) -> Value {
    h.action(range(1, 4, 1, 4), "Codex: Simplify").await
}

async fn run_simplify(h: &mut TestServer, range: Value) -> Value {
    h.run_action("simplify", range).await
}

/// All text the fake received in request `i`'s input items.
fn sent_text(h: &TestServer, i: usize) -> String {
    h.model_requests()[i].body["input"].to_string()
}

#[tokio::test]
async fn malformed_json_and_invalid_json_rpc_are_answered_or_ignored() {
    let mut h = start(Script::reply(PATCH), false).await;
    // Not JSON at all, or JSON that is no JSON-RPC message: the server may
    // answer `id: null` errors; it must not die.
    let deep = "[".repeat(100_000);
    for body in [
        "{not json",
        "",
        "null",
        "42",
        "\"a string\"",
        "[]",
        "{}",
        "{\"jsonrpc\":\"2.0\"}",
        "\u{1}\u{2}\u{3}",
        "{\"jsonrpc\":\"2.0\",\"method\":\"textDocument/didOpen\",\"params\":",
        deep.as_str(),
    ] {
        h.client().send_raw_body(body);
    }
    assert_alive(&mut h).await;
    // Requests that carry an id but are otherwise invalid get an answer.
    let invalid = [
        (900_001, r#"{"jsonrpc":"2.0","id":900001,"method":42}"#),
        (
            900_002,
            r#"{"jsonrpc":"2.0","id":900002,"method":"textDocument/hover","params":"nope"}"#,
        ),
        (
            900_003,
            r#"{"jsonrpc":"2.0","id":900003,"method":"textDocument/codeAction","params":{"textDocument":7}}"#,
        ),
        (
            900_004,
            r#"{"jsonrpc":"2.0","id":900004,"method":"workspace/executeCommand","params":[1,2,3]}"#,
        ),
    ];
    let mut waiting = Vec::new();
    for (id, body) in invalid {
        waiting.push((id, h.client_mut().send_raw_request(id, body)));
    }
    for (id, rx) in waiting {
        let response = tokio::time::timeout(Duration::from_secs(10), rx).await;
        match response {
            Ok(Ok(r)) => assert!(r.get("error").is_some(), "{id}: {r}"),
            _ => panic!("request {id} was not answered"),
        }
    }
    assert_alive(&mut h).await;
    println!("orphan responses: {:?}", h.orphan_responses());
    assert!(
        h.orphan_responses()
            .iter()
            .all(|r| r.get("error").is_some()),
        "{:?}",
        h.orphan_responses()
    );
    let (code, logs) = h.shutdown_keep_logs().await;
    assert_eq!(code, Some(0), "{logs}");
    assert!(!logs.contains("panicked"), "{logs}");
}

#[tokio::test]
async fn wrong_parameter_types_and_unknown_methods_get_errors() {
    let mut h = start(Script::reply(PATCH), true).await;
    let uri = h.uri();
    let requests: Vec<(&str, Value)> = vec![
        ("textDocument/hover", json!({ "textDocument": 5 })),
        ("textDocument/hover", json!("string")),
        (
            "textDocument/hover",
            json!({ "textDocument": { "uri": uri }, "position": { "line": -1, "character": 0 } }),
        ),
        (
            "textDocument/codeAction",
            json!({ "textDocument": { "uri": uri }, "range": "0:0", "context": {} }),
        ),
        ("workspace/executeCommand", json!({ "command": 5 })),
        (
            "workspace/executeCommand",
            json!({ "command": "codex.runAction", "arguments": [42] }),
        ),
        (
            "workspace/executeCommand",
            json!({ "command": "codex.runAction", "arguments": "x" }),
        ),
        (
            "workspace/executeCommand",
            json!({ "command": "codex.runAction" }),
        ),
        (
            "workspace/executeCommand",
            json!({ "command": "codex.runAction", "arguments": [
            { "action": "rm -rf /", "textDocument": { "uri": uri }, "range": range(0, 0, 0, 0) }] }),
        ),
        (
            "workspace/executeCommand",
            json!({ "command": "codex.explain", "arguments": [] }),
        ),
        (
            "workspace/executeCommand",
            json!({ "command": "sh -c reboot", "arguments": [] }),
        ),
        ("codeAction/resolve", json!(42)),
        ("codex/unknown", json!({})),
        ("$/unknownRequest", json!(null)),
        (
            "textDocument/definition",
            json!({ "textDocument": { "uri": uri }, "position": { "line": 0, "character": 0 } }),
        ),
    ];
    for (method, params) in requests {
        let response = h.request(method, params.clone()).await;
        assert!(answered(&response), "{method} {params}: {response}");
        assert!(
            response.get("error").is_some(),
            "{method} {params}: {response}"
        );
    }
    // Well-typed but odd: answered with a result.
    let odd: Vec<(&str, Value)> = vec![
        ("codeAction/resolve", json!({ "title": "x" })),
        (
            "codeAction/resolve",
            json!({ "title": "x", "data": { "action": "simplify",
            "textDocument": { "uri": "file:///does/not/exist.rs" }, "range": range(0, 0, 0, 0) } }),
        ),
        (
            "textDocument/hover",
            json!({ "textDocument": { "uri": "file:///not/open.rs" }, "position": { "line": 0, "character": 0 } }),
        ),
        (
            "textDocument/codeAction",
            json!({ "textDocument": { "uri": "untitled:Untitled-1" }, "range": range(0, 0, 0, 0), "context": { "diagnostics": [] } }),
        ),
    ];
    for (method, params) in odd {
        let response = h.request(method, params.clone()).await;
        assert!(
            response.get("result").is_some(),
            "{method} {params}: {response}"
        );
    }
    // Notifications with wrong types or unknown methods: no answer, no harm.
    for (method, params) in [
        ("textDocument/didOpen", json!({ "textDocument": 1 })),
        (
            "textDocument/didChange",
            json!({ "textDocument": { "uri": uri, "version": 2 }, "contentChanges": {} }),
        ),
        (
            "textDocument/didChange",
            json!({ "textDocument": { "uri": uri, "version": 2 }, "contentChanges": [{ "range": range(0, 0, 0, 0), "text": 5 }] }),
        ),
        ("textDocument/didClose", json!({})),
        (
            "workspace/didChangeConfiguration",
            json!({ "settings": { "codex": { "maxRetries": "lots" } } }),
        ),
        ("foo/bar", json!({ "x": 1 })),
        ("$/setTrace", json!({ "value": "verbose" })),
        (
            "window/workDoneProgress/cancel",
            json!({ "token": { "nested": true } }),
        ),
    ] {
        h.notify(method, params);
    }
    assert_alive(&mut h).await;
    // The document is intact: an action still matches the original text.
    let response = run_simplify(&mut h, range(1, 4, 1, 4)).await;
    assert_eq!(response["result"]["applied"], true, "{response}");
    assert_eq!(h.applied_text(SOURCE), SOURCE.replace("a+b", "a + b"));
    // Told once each: the resolve of a document that is not open, the bad
    // setting (kept out).
    let shown = h.settled_messages().await;
    assert_json_snapshot!(h, "odd_input_messages", shown);
    let (code, logs) = h.shutdown_keep_logs().await;
    assert_eq!(code, Some(0));
    assert!(!logs.contains("panicked"), "{logs}");
}

#[tokio::test]
async fn out_of_range_inverted_ranges_and_changes_before_open() {
    let mut h = start(Script::reply(PATCH), false).await;
    let other = file_uri(&h.root().join("src/other.rs"));
    // didChange before didOpen: ignored.
    h.client()
        .did_change(&other, 2, range(0, 0, 0, 0), "GARBAGE ");
    h.client().did_open(&other, "rust", 1, "fn other() {}\n");
    // Out of range: clamped to the end of the document.
    h.client().did_change(
        &other,
        2,
        range(1_000_000_000, 5, 4_000_000_000, 4_000_000_000),
        "// tail\n",
    );
    // Column past the end of a line: clamped to the line's end.
    h.client().did_change(
        &other,
        3,
        range(0, 4_294_967_295, 0, 4_294_967_295),
        " // end",
    );
    // Inverted: refused, text untouched.
    h.client()
        .did_change(&other, 4, range(1, 3, 0, 1), "INVERTED");
    // Negative numbers do not even deserialize: dropped.
    h.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": other, "version": 6 },
                "contentChanges": [{ "range": { "start": { "line": -1, "character": 0 }, "end": { "line": 0, "character": 0 } }, "text": "NEG" }] }),
    );
    // Requests with the same ranges are answered.
    for r in [
        range(1_000_000_000, 0, 0, 0),
        range(3, 9, 0, 0),
        range(0, 4_000_000_000, 4_000_000_000, 4_000_000_000),
    ] {
        // list_actions_in fails the test unless the answer is a list.
        h.list_actions_in(&other, r.clone(), json!({ "diagnostics": [] }))
            .await;
        let hover = h
            .request(
                "textDocument/hover",
                json!({ "textDocument": { "uri": h.uri() }, "position": r["start"] }),
            )
            .await;
        assert!(answered(&hover), "{hover}");
    }
    // What the server holds now, as sent to the model for an action.
    h.fake().set_script(Script::reply("*** Begin Patch\n*** Update File: src/other.rs\n@@\n-fn other() {} // end\n+fn other() {}\n*** End Patch\n"));
    h.fake().clear_requests();
    let args = json!({ "action": "simplify", "textDocument": { "uri": other },
                       "range": range(9, 9, 0, 0) });
    let response = h.run_action_with(args).await;
    let sent = sent_text(&h, 0);
    assert!(sent.contains("fn other() {} // end"), "{sent}");
    assert!(sent.contains("// tail"), "{sent}");
    for garbage in ["GARBAGE", "INVERTED", "NEG"] {
        assert!(
            !sent.contains(garbage),
            "{garbage} reached the text: {sent}"
        );
    }
    assert_eq!(response["result"]["applied"], true, "{response}");
    // The patch's edit fits the text the server holds.
    let held = "fn other() {} // end\n// tail\n";
    let edits = edits_for(&h.last_applied_edit(), &other);
    assert_eq!(
        apply_lsp_edits(held, &edits, "utf-16"),
        "fn other() {}\n// tail\n"
    );
    assert_alive(&mut h).await;
}

#[tokio::test]
async fn versions_going_backwards_never_make_a_stale_edit_fresh() {
    // The reply is slow, so the document changes while the model works.
    let mut h = start(Script::new(vec![Rule::reply(PATCH).delay_ms(1500)]), false).await;
    h.did_change(10, range(0, 0, 0, 0), "");
    let args = h.run_args("simplify", range(1, 4, 1, 4));
    let (_, rx) = h.send_run_action(args);
    assert!(h.fake().wait_for_requests(1, Duration::from_secs(30)).await);
    // A change inside the region, with a version going backwards.
    h.did_change(3, range(1, 4, 1, 7), "b+a");
    let response = tokio::time::timeout(Duration::from_secs(30), rx)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(response["result"]["applied"], false, "{response}");
    h.barrier().await;
    assert!(h.applied_edits().is_empty(), "a stale edit was applied");
    let shown = h.wait_for_message("changed").await;
    assert_eq!(shown.len(), 1, "{shown:?}");
    // Versions go backwards again; a fresh action on the new text works.
    h.did_change(1, range(1, 4, 1, 7), "a+b");
    h.fake().set_script(Script::reply(PATCH));
    let response = run_simplify(&mut h, range(1, 4, 1, 4)).await;
    assert_eq!(response["result"]["applied"], true, "{response}");
    let edits = h.applied_edits();
    assert_eq!(edits.len(), 1, "{edits:?}");
    let edit = &edits[0];
    assert_eq!(
        edit["documentChanges"][0]["textDocument"]["version"], 1,
        "the edit names the version the client last sent: {edit}"
    );
}

#[tokio::test]
async fn a_50_mb_file_is_handled_and_its_memory_returned() {
    let mut h = start(Script::reply(PATCH), false).await;
    warm_up(&mut h).await;
    let baseline = h.rss_kib();
    let line = "let value_of_some_variable = compute(1, 2, 3); // filler\n";
    let big: String = line.repeat(50 * 1024 * 1024 / line.len());
    let big_uri = file_uri(&h.root().join("src/big.rs"));
    let mut peaks = Vec::new();
    let mut closed = Vec::new();
    for round in 0..3 {
        let started = Instant::now();
        h.client().did_open(&big_uri, "rust", 1, &big);
        // Edits at the start, middle and end.
        let lines = (big.len() / line.len()) as u32;
        for (i, l) in [0, lines / 2, lines - 1, lines + 10]
            .into_iter()
            .enumerate()
        {
            h.client()
                .did_change(&big_uri, 2 + i as i32, range(l, 0, l, 3), "var");
        }
        let list = h
            .list_actions_in(
                &big_uri,
                range(lines / 2, 0, lines / 2, 5),
                json!({ "diagnostics": [] }),
            )
            .await;
        assert!(!list.is_empty(), "{list:?}");
        // Module-level lines, no definition: the hover answers nothing and
        // never calls the model.
        let hover = h.hover_in(&big_uri, lines / 2, 3).await;
        assert_eq!(hover["result"], Value::Null, "{hover}");
        let args = json!({ "action": "simplify", "textDocument": { "uri": big_uri },
                           "range": range(lines / 2, 0, lines / 2, 0) });
        let response = h.run_action_with(args).await;
        assert_eq!(response["result"]["applied"], false, "{response}");
        let message = response["result"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("maxFileBytes"), "{response}");
        // Shown once per round.
        let shown = h.messages();
        assert_eq!(shown.len(), round + 1, "{shown:?}");
        assert_eq!(shown[round], message);
        assert!(h.fake().requests().is_empty(), "a 50 MB file was sent");
        peaks.push(h.rss_kib());
        h.notify(
            "textDocument/didClose",
            json!({ "textDocument": { "uri": big_uri } }),
        );
        assert_alive(&mut h).await;
        // The heap is trimmed off the async threads once the document is
        // freed; nothing signals the end, so the RSS is polled (the
        // assertion below fails if it never comes down).
        let limit = baseline + 20 * 1024;
        closed.push(
            h.wait_for_rss(Duration::from_secs(10), |kib| kib < limit)
                .await,
        );
        println!(
            "round {round}: 50 MB open/edit/list/hover/action/close in {:?}",
            started.elapsed()
        );
    }
    let mib = |v: &[u64]| v.iter().map(|k| k / 1024).collect::<Vec<_>>();
    println!(
        "RSS: baseline {} MiB; with the 50 MB document open {:?} MiB; after closing it {:?} MiB",
        baseline / 1024,
        mib(&peaks),
        mib(&closed)
    );
    assert!(
        peaks[0] > baseline + 40 * 1024,
        "the document was not held?"
    );
    // Closing the document gives its memory back to the system (the server
    // trims the heap once enough has been freed): every round ends near the
    // baseline, so nothing of the document, its parse or its edits is kept.
    for after in &closed {
        assert!(
            *after < baseline + 20 * 1024,
            "RSS stays up after the 50 MB document closed: baseline {} MiB, after closing {:?} MiB",
            baseline / 1024,
            mib(&closed)
        );
    }
}

#[tokio::test]
async fn many_documents_opened_and_closed_give_memory_back() {
    let mut h = start(Script::reply(PATCH), false).await;
    warm_up(&mut h).await;
    let baseline = h.rss_kib();
    let text = "fn f() { let x = \"é😀\"; }\n".repeat(4000); // ~120 KB
    for round in 0..3 {
        for i in 0..200 {
            let uri = file_uri(&h.root().join(format!("src/m{i}.rs")));
            h.client().did_open(&uri, "rust", 1, &text);
            h.client().did_change(&uri, 2, range(10, 0, 10, 2), "FN");
        }
        assert_alive(&mut h).await;
        let open = h.rss_kib();
        for i in 0..200 {
            let uri = file_uri(&h.root().join(format!("src/m{i}.rs")));
            h.notify(
                "textDocument/didClose",
                json!({ "textDocument": { "uri": uri } }),
            );
        }
        assert_alive(&mut h).await;
        // As in the 50 MB test: the trim runs off the async threads.
        let limit = baseline + 40 * 1024;
        let closed = h
            .wait_for_rss(Duration::from_secs(10), |kib| kib < limit)
            .await;
        println!(
            "round {round}: baseline {} MiB, 200 x 120 KB open {} MiB, closed {} MiB",
            baseline / 1024,
            open / 1024,
            closed / 1024
        );
    }
    // 200 documents of 120 KB are 24 MB of text: closing them must give
    // back enough that three rounds stay within one round's worth.
    let after = h.rss_kib();
    assert!(
        after < baseline + 40 * 1024,
        "RSS did not come back near its baseline: {baseline} KiB -> {after} KiB"
    );
}

#[tokio::test]
async fn binary_and_non_utf8_files_named_by_a_patch_are_refused() {
    let mut h = start(Script::reply(PATCH), false).await;
    std::fs::write(
        h.root().join("src/blob.rs"),
        b"fn a() {}\n\0\0\0\x01binary\n",
    )
    .unwrap();
    std::fs::write(h.root().join("src/latin1.rs"), b"// caf\xe9\nfn b() {}\n").unwrap();
    let cases = [
        (
            "*** Begin Patch\n*** Update File: src/blob.rs\n@@\n-fn a() {}\n+fn a() { evil() }\n*** End Patch\n",
            "binary",
        ),
        (
            "*** Begin Patch\n*** Update File: src/latin1.rs\n@@\n-fn b() {}\n+fn b() { evil() }\n*** End Patch\n",
            "is not UTF-8 text",
        ),
    ];
    for (i, (patch, needle)) in cases.into_iter().enumerate() {
        h.fake().set_script(Script::reply(patch));
        let response = run_simplify(&mut h, range(1, 4, 1, 4)).await;
        assert_eq!(response["result"]["applied"], false, "{response}");
        let message = response["result"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(needle), "{message}");
        let shown = h.wait_for_message(needle).await;
        assert_eq!(shown.len(), i + 1, "{shown:?}");
    }
    assert!(h.applied_edits().is_empty());
    assert_eq!(
        std::fs::read(h.root().join("src/blob.rs")).unwrap(),
        b"fn a() {}\n\0\0\0\x01binary\n"
    );
    // A document with NUL bytes open in the editor: listed, never sent.
    let nul_uri = file_uri(&h.root().join("src/nul.rs"));
    h.client()
        .did_open(&nul_uri, "rust", 1, "fn a() {}\n\u{0}\u{0}\n");
    h.fake().clear_requests();
    let response = h
        .run_action_with(
            json!({ "action": "simplify", "textDocument": { "uri": nul_uri },
                                 "range": range(0, 0, 0, 0) }),
        )
        .await;
    assert_eq!(response["result"]["applied"], false, "{response}");
    let message = response["result"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("binary"), "{response}");
    let shown = h.new_messages();
    assert_eq!(shown, [message], "shown once");
    assert!(h.fake().requests().is_empty());
    assert_alive(&mut h).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_concurrent_resolves_all_get_their_edit() {
    let mut h = start(Script::new(vec![Rule::reply(PATCH).chunks(8, 5)]), true).await;
    let action = simplify_action(&mut h).await;
    let started = Instant::now();
    let pending: Vec<_> = (0..100)
        .map(|_| h.send_request("codeAction/resolve", action.clone()).1)
        .collect();
    // Text sync and listing stay responsive meanwhile.
    assert_alive(&mut h).await;
    let responses = tokio::time::timeout(
        Duration::from_secs(120),
        futures_util::future::join_all(pending),
    )
    .await
    .expect("not every resolve was answered within 120 s");
    for response in &responses {
        let response = response.as_ref().unwrap();
        let edits = &response["result"]["edit"]["documentChanges"][0]["edits"];
        assert_eq!(edits[0]["newText"], " + ", "{response}");
    }
    assert_eq!(h.fake().requests().len(), 100);
    println!(
        "100 concurrent resolves answered in {:?}",
        started.elapsed()
    );
    let shown = h.settled_messages().await;
    assert!(shown.is_empty(), "{shown:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_request_storms_leave_every_request_answered() {
    let mut h = start(Script::new(vec![Rule::reply(PATCH).chunks(4, 40)]), true).await;
    let action = simplify_action(&mut h).await;
    let mut pending = Vec::new();
    for i in 0..30 {
        let (id, rx) = if i % 3 == 0 {
            h.send_request(
                "textDocument/hover",
                json!({ "textDocument": { "uri": h.uri() }, "position": { "line": 1, "character": 4 } }),
            )
        } else {
            h.send_request("codeAction/resolve", action.clone())
        };
        pending.push((id, rx));
    }
    assert!(h.fake().wait_for_requests(2, Duration::from_secs(30)).await);
    // The storm: every in-flight id (some several times), ids that never
    // existed, string ids, and junk params.
    for round in 0..20 {
        for (id, _) in pending.iter().filter(|(id, _)| id % 2 == round % 2) {
            h.notify("$/cancelRequest", json!({ "id": id }));
        }
        for k in 0..100 {
            h.notify(
                "$/cancelRequest",
                json!({ "id": 1_000_000 + round * 100 + k }),
            );
        }
        h.notify("$/cancelRequest", json!({ "id": format!("str-{round}") }));
        h.notify("$/cancelRequest", json!({ "id": null }));
        h.notify("$/cancelRequest", json!({}));
        h.notify("$/cancelRequest", json!("junk"));
    }
    let mut cancelled = 0;
    let mut results = 0;
    for (id, rx) in pending {
        let response = tokio::time::timeout(Duration::from_secs(60), rx)
            .await
            .unwrap_or_else(|_| panic!("request {id} never answered"))
            .unwrap();
        assert!(answered(&response), "{response}");
        if let Some(error) = response.get("error") {
            assert_eq!(error["code"], -32800, "{response}");
            cancelled += 1;
        } else {
            results += 1;
        }
    }
    println!("after the storm: {cancelled} cancelled, {results} completed");
    assert!(cancelled > 0);
    assert_alive(&mut h).await;
    // Nothing was applied and the server is still fully working.
    h.assert_no_applied_edits().await;
    let response = run_simplify(&mut h, range(1, 4, 1, 4)).await;
    assert_eq!(response["result"]["applied"], true, "{response}");
    assert_eq!(h.applied_text(SOURCE), SOURCE.replace("a+b", "a + b"));
    let (code, logs) = h.shutdown_keep_logs().await;
    assert_eq!(code, Some(0));
    assert!(!logs.contains("panicked"), "{logs}");
}

/// The server's request slots (`CONCURRENCY_LEVEL` in server.rs).
const REQUEST_SLOTS: usize = 64;

#[tokio::test]
async fn notifications_are_handled_while_every_request_slot_is_busy() {
    // Every model call hangs (60 s idle timeout): the resolves below hold
    // every request slot until they are cancelled.
    let mut h = start(Script::new(vec![Rule::fault(Fault::Hang)]), true).await;
    let action = simplify_action(&mut h).await;
    let pending: Vec<_> = (0..REQUEST_SLOTS)
        .map(|_| h.send_request("codeAction/resolve", action.clone()))
        .collect();
    h.wait_for_model_requests(1).await;
    // A notification is handled at once: a bad setting is reported.
    h.notify(
        "workspace/didChangeConfiguration",
        json!({ "settings": { "codex": { "maxRetries": "lots" } } }),
    );
    let shown = h.wait_for_message("maxRetries").await;
    assert!(
        shown.iter().any(|m| m.contains("maxRetries")),
        "the settings notification waited behind the busy slots: {shown:?}"
    );
    // So is cancellation: every hung resolve is answered `RequestCancelled`.
    let ids: Vec<i64> = pending.iter().map(|(id, _)| *id).collect();
    for id in ids {
        h.notify("$/cancelRequest", json!({ "id": id }));
    }
    let responses = tokio::time::timeout(
        Duration::from_secs(10),
        futures_util::future::join_all(pending.into_iter().map(|(_, rx)| rx)),
    )
    .await
    .expect("cancelled resolves were not answered within 10 s");
    for response in responses {
        let response = response.expect("the server went away");
        assert_eq!(response["error"]["code"], -32800, "{response}");
    }
    assert_alive(&mut h).await;
}
