//! The explain hover and the explain command end to end, against the fake
//! Responses server: caching, sharing, cancellation, modes, exclusion.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use codex_lsp_tests::harness::{TestServer, TestServerBuilder, hover_text, range};
use codex_lsp_tests::{Fault, Rule, Script};
use serde_json::{Value, json};

const SOURCE: &str = "fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n\nfn main() {\n    println!(\"{}\", add(1, 2));\n}\n";
const EXPLANATION: &str = "**Adds two integers.**\n\n- Inputs: `a`, `b`\n- Output: their sum (may overflow in release builds).";

/// The editor of these tests: Markdown and plain-text hovers, documents
/// shown with `window/showDocument`, no work-done progress.
fn editor() -> TestServerBuilder {
    TestServer::builder()
        .no_progress()
        .api_key("test-key-hover")
}

async fn start(script: Script) -> TestServer {
    editor().file("lib.rs", SOURCE).script(script).start().await
}

#[tokio::test]
async fn repeated_hover_on_unchanged_code_calls_the_model_once() {
    let mut h = start(Script::reply(EXPLANATION)).await;
    let first = h.hover(1, 6).await;
    assert_eq!(hover_text(&first), EXPLANATION);
    assert_eq!(first["result"]["contents"]["kind"], "markdown");
    assert_eq!(
        first["result"]["range"]["start"]["line"], 0,
        "the hover covers the function: {first}"
    );
    assert_eq!(first["result"]["range"]["end"]["line"], 2);
    // Same function, other positions: served from the cache.
    for (line, col) in [(1, 6), (0, 4), (2, 0)] {
        assert_eq!(hover_text(&h.hover(line, col).await), EXPLANATION);
    }
    assert_eq!(h.model_requests().len(), 1);
    let body = &h.model_requests()[0].body;
    assert_eq!(body["reasoning"]["effort"], "low");
}

#[tokio::test]
async fn edits_invalidate_only_what_the_explanation_was_made_from() {
    // `add`, 2000 small functions, `main`: with a small budget the context
    // sent around `add` ends long before `main`.
    let mut source = String::from("fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n\n");
    for i in 0..2000 {
        source.push_str(&format!("fn f{i}() {{}}\n"));
    }
    let main_line = source.lines().count() as u32 + 1;
    source.push_str("\nfn main() {\n    println!(\"{}\", add(1, 2));\n}\n");
    let mut h = editor()
        .file("lib.rs", source)
        .reply(EXPLANATION)
        .setting("maxContextTokens", 4000)
        .start()
        .await;
    h.hover(1, 6).await;
    assert_eq!(h.model_requests().len(), 1);
    let sent = h.model_requests()[0].body.to_string();
    assert!(
        sent.contains("fn f1()") && !sent.contains("fn main"),
        "the context around `add` reaches `main`"
    );
    // An edit in `main`, outside everything sent, leaves `add`'s
    // explanation valid.
    h.did_change(2, range(main_line + 1, 4, main_line + 1, 4), "let _x = 1; ");
    h.hover(1, 6).await;
    assert_eq!(
        h.model_requests().len(),
        1,
        "an edit outside what was sent must not call the model"
    );
    // An edit in the context that was sent with `add` makes the next hover
    // ask again: the answer was made from it.
    h.did_change(3, range(5, 0, 5, 0), "// new\n");
    h.hover(1, 6).await;
    assert_eq!(h.model_requests().len(), 2);
    // So does an edit inside `add`.
    h.did_change(4, range(1, 9, 1, 9), " + 0");
    h.hover(1, 6).await;
    assert_eq!(h.model_requests().len(), 3);
    assert!(h.model_requests()[2].body.to_string().contains("a + b + 0"));
}

#[tokio::test]
async fn concurrent_hovers_share_one_request() {
    let mut h = start(Script::new(vec![Rule::reply(EXPLANATION).delay_ms(300)])).await;
    let uri = h.uri();
    let (_, a) = h.send_request("textDocument/hover", TestServer::hover_params(&uri, 1, 6));
    let (_, b) = h.send_request("textDocument/hover", TestServer::hover_params(&uri, 0, 3));
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    assert_eq!(hover_text(&a), EXPLANATION);
    assert_eq!(hover_text(&b), EXPLANATION);
    assert_eq!(h.model_requests().len(), 1);
}

#[tokio::test]
async fn cancelled_hover_closes_the_model_connection() {
    let mut h = start(Script::new(vec![Rule::reply(EXPLANATION).chunks(4, 300)])).await;
    let uri = h.uri();
    let (id, pending) = h.send_request("textDocument/hover", TestServer::hover_params(&uri, 1, 6));
    h.wait_for_model_requests(1).await;
    // Mid-stream: some deltas are on their way.
    h.wait_for_deltas_sent(2).await;
    h.notify("$/cancelRequest", json!({ "id": id }));
    let response = tokio::time::timeout(Duration::from_secs(10), pending)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(response["error"]["code"], -32800, "{response}");
    h.wait_for_disconnect().await;
    assert!(
        !h.model_requests()[0].completed,
        "the answer was streamed to the end before the cancel"
    );
}

#[tokio::test]
async fn hover_off_sends_nothing_and_cached_mode_never_calls() {
    let mut h = editor()
        .file("lib.rs", SOURCE)
        .reply(EXPLANATION)
        .settings(json!({ "explain": { "hover": "off" } }))
        .start()
        .await;
    assert_eq!(h.hover(1, 6).await["result"], Value::Null);
    let mut h2 = editor()
        .file("lib.rs", SOURCE)
        .reply(EXPLANATION)
        .settings(json!({ "explain": { "hover": "cached" } }))
        .start()
        .await;
    assert_eq!(h2.hover(1, 6).await["result"], Value::Null);
    assert!(h.model_requests().is_empty() && h2.model_requests().is_empty());
    // The explain command fills the cache; then the cached-mode hover shows it.
    let uri = h2.uri();
    let response = h2.explain(&uri, range(1, 6, 1, 6)).await;
    assert_eq!(response["result"]["markdown"], EXPLANATION);
    assert_eq!(hover_text(&h2.hover(1, 6).await), EXPLANATION);
    assert_eq!(h2.model_requests().len(), 1);
    // It was shown as a Markdown document.
    let shown = h2.shown_documents();
    assert_eq!(shown.len(), 1);
    let uri = shown[0]["uri"].as_str().unwrap();
    assert!(uri.starts_with("file://") && uri.ends_with(".md"), "{uri}");
    let path = uri.trim_start_matches("file://");
    assert_eq!(std::fs::read_to_string(path).unwrap(), EXPLANATION);
}

#[tokio::test]
async fn excluded_file_is_never_explained() {
    let mut h = editor()
        .file_as(
            "server.pem",
            "rust",
            "fn key() -> &'static str {\n    \"-----BEGIN PRIVATE KEY-----\"\n}\n",
        )
        .reply(EXPLANATION)
        .start()
        .await;
    // Nothing in the hover; the reason once, as a message.
    for _ in 0..2 {
        let response = h.hover(1, 1).await;
        assert_eq!(response["result"], Value::Null, "{response}");
    }
    let shown = h.messages();
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert!(shown[0].contains("excluded"), "{shown:?}");
    assert!(h.model_requests().is_empty());
}

#[tokio::test]
async fn failures_are_short_hover_text_not_popups() {
    let mut h = start(Script::new(vec![Rule::fault(Fault::Http429)])).await;
    let text = hover_text(&h.hover(1, 6).await);
    assert!(
        text.starts_with("Codex:") && text.to_lowercase().contains("rate"),
        "{text}"
    );
    // The hover helper ends with a barrier: a popup sent while answering
    // would be here.
    assert!(h.messages().is_empty(), "no popup per hover");
    // Failures are not cached: the next hover asks again.
    h.set_script(Script::reply(EXPLANATION));
    assert_eq!(hover_text(&h.hover(1, 6).await), EXPLANATION);
    assert_eq!(h.model_requests().len(), 2);
}
