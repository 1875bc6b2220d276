//! The explain hover and the explain command end to end, against the fake
//! Responses server: caching, sharing, cancellation, modes, exclusion.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use codex_lsp_tests::harness::{TestServer, TestServerBuilder, WAIT, hover_text, range};
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

/// The gate the held model of these tests waits on.
const GATE: &str = "model";

/// Hovers at `(line, character)` until the hover shows an explanation,
/// failing after [`WAIT`]; returns it. Each hover waits (at most the
/// server's bound) for the model call running in the background, so this
/// waits on the server, not on a clock.
async fn hover_until_explained(h: &mut TestServer, line: u32, character: u32) -> String {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let text = hover_text(&h.hover(line, character).await);
        if !text.is_empty() {
            return text;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no explanation on hover after {WAIT:?}"
        );
    }
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

// Issue 14, defect 6: cancelling a hover (or its answer going out) leaves
// its model call running; the answer lands in the cache.
#[tokio::test]
async fn a_cancelled_hover_leaves_its_model_call_running() {
    let mut h = start(Script::new(vec![Rule::reply(EXPLANATION).held_until(GATE)])).await;
    let uri = h.uri();
    // The hover waits (the harness's long bound) for a model that has not
    // answered yet: cancel it there.
    let (id, pending) = h.send_request("textDocument/hover", TestServer::hover_params(&uri, 1, 6));
    h.wait_for_model_requests(1).await;
    h.notify("$/cancelRequest", json!({ "id": id }));
    let response = tokio::time::timeout(WAIT, pending).await.unwrap().unwrap();
    assert_eq!(response["error"]["code"], -32800, "{response}");
    h.release_model(GATE);
    assert_eq!(hover_until_explained(&mut h, 1, 6).await, EXPLANATION);
    let requests = h.model_requests();
    assert_eq!(
        requests.len(),
        1,
        "the cancel aborted the call: it was made again"
    );
    assert!(requests[0].completed && !requests[0].disconnected_early);
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

/// Helix's request timeout (`helix-lsp`, 20 s by default): a hover slower
/// than this blanks every server's hover.
const HELIX_TIMEOUT: Duration = Duration::from_secs(20);

const PY: &str = "def add(a, b):\n    return a + b\n\n\ndef main():\n    print(add(1, 2))\n";

/// The real default bound (`explain.hoverWaitMs` unset).
fn server_default_bound() -> TestServerBuilder {
    editor().hover_wait_ms(None)
}

// Issue 14, defect 6: with a model slower than `explain.hoverWaitMs` (here
// it answers only when the test releases it), the hover answers without
// it; the call goes on and a later hover shows its answer, from one
// request.
#[tokio::test]
async fn a_hover_answers_before_a_slow_model_and_a_later_one_shows_it() {
    let mut h = server_default_bound()
        .file("lib.rs", SOURCE)
        .rule(Rule::reply(EXPLANATION).held_until(GATE))
        .start()
        .await;
    let uri = h.uri();
    let (_, pending) = h.send_request("textDocument/hover", TestServer::hover_params(&uri, 1, 6));
    let first = tokio::time::timeout(WAIT, pending)
        .await
        .expect("the hover waited for the model")
        .unwrap();
    assert_eq!(first["result"], Value::Null, "{first}");
    h.wait_for_model_requests(1).await;
    assert!(!h.model_requests()[0].completed, "the model answered early");
    h.release_model(GATE);
    assert_eq!(hover_until_explained(&mut h, 0, 4).await, EXPLANATION);
    let requests = h.model_requests();
    assert_eq!(requests.len(), 1);
    assert!(requests[0].completed && !requests[0].disconnected_early);
}

// Issue 14, defect 6, as Helix meets it: Helix draws a hover only when
// every server answered, so a hover waiting for the model held ruff's and
// pyright's back (and past 20 s lost them all). Every hover answers while
// the model has not; hovers over the same code share one call.
#[tokio::test]
async fn in_helix_hovers_never_wait_for_the_model() {
    let mut h = TestServer::builder()
        .helix()
        .hover_wait_ms(None)
        .api_key("test-key-hover")
        .file_as("app.py", "python", PY)
        .rule(Rule::reply(EXPLANATION).held_until(GATE))
        .start()
        .await;
    let uri = h.uri();
    for (line, character) in [(1, 11), (0, 5), (1, 4), (0, 9)] {
        let (_, pending) = h.send_request(
            "textDocument/hover",
            TestServer::hover_params(&uri, line, character),
        );
        let response = tokio::time::timeout(HELIX_TIMEOUT, pending)
            .await
            .expect("the hover held Helix's other servers back")
            .unwrap();
        assert_eq!(response["result"], Value::Null, "{response}");
    }
    h.wait_for_model_requests(1).await;
    h.release_model(GATE);
    let shown = h.hover(1, 11).await;
    let shown = if hover_text(&shown).is_empty() {
        hover_until_explained(&mut h, 1, 11).await
    } else {
        hover_text(&shown)
    };
    assert_eq!(shown, EXPLANATION);
    assert_eq!(
        h.model_requests().len(),
        1,
        "the hovers did not share one call"
    );
}

// Issue 14, defects 5 and 6: the explain command at Helix's cursor (a
// one-character selection) explains the enclosing item; it joins the
// call a hover left running there, and fills the cache every hover in the
// item reads.
#[tokio::test]
async fn explain_at_a_helix_cursor_joins_the_hovers_call_and_fills_the_hover_cache() {
    let mut h = TestServer::builder()
        .helix()
        .hover_wait_ms(None)
        .api_key("test-key-hover")
        .file_as("app.py", "python", PY)
        .rule(Rule::reply(EXPLANATION).held_until(GATE))
        .start()
        .await;
    let uri = h.uri();
    assert_eq!(h.hover(1, 11).await["result"], Value::Null);
    h.wait_for_model_requests(1).await;
    let params = json!({ "command": "codex.explain",
                         "arguments": [{ "textDocument": { "uri": uri }, "range": range(1, 11, 1, 12) }] });
    let (_, explained) = h.send_request("workspace/executeCommand", params);
    h.release_model(GATE);
    let explained = tokio::time::timeout(WAIT, explained)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(explained["result"]["markdown"], EXPLANATION, "{explained}");
    h.barrier().await;
    // Shown once (as a document, or a message where that replaces the view).
    assert_eq!(h.shown_documents().len() + h.messages().len(), 1);
    let requests = h.model_requests();
    assert_eq!(
        requests.len(),
        1,
        "the command did not join the hover's call"
    );
    let sent = requests[0].body.to_string();
    assert!(sent.contains("def add(a, b):"), "{sent}");
    // Every hover in `add` shows it at once, the model untouched.
    h.set_script(Script::new(vec![Rule::reply("unused").held_until("never")]));
    for (line, character) in [(0, 1), (1, 4), (1, 13)] {
        let response = h.hover(line, character).await;
        assert_eq!(hover_text(&response), EXPLANATION, "{response}");
        assert_eq!(response["result"]["range"]["start"]["line"], 0);
        assert_eq!(response["result"]["range"]["end"]["line"], 1);
    }
    assert_eq!(h.model_requests().len(), 1);
}

// Issue 14, defect 6: `explain.hoverWaitMs: 0` answers at once with what is
// cached; the call it starts fills the cache for the next hover.
#[tokio::test]
async fn hover_wait_zero_shows_only_what_is_cached() {
    let mut h = editor()
        .hover_wait_ms(Some(0))
        .file("lib.rs", SOURCE)
        .rule(Rule::reply(EXPLANATION).held_until(GATE))
        .start()
        .await;
    assert_eq!(h.hover(1, 6).await["result"], Value::Null);
    h.wait_for_model_requests(1).await;
    h.release_model(GATE);
    h.fake()
        .wait_until(WAIT, |r| r.first().is_some_and(|r| r.completed))
        .await;
    assert_eq!(hover_until_explained(&mut h, 1, 6).await, EXPLANATION);
    assert_eq!(h.model_requests().len(), 1);
}

// Issue 14, defect 6: background hover calls stay within the hovers' share
// of `maxConcurrentRequests` (here 1 of 2): while it is busy, a hover
// elsewhere starts nothing; once it is free, it does.
#[tokio::test]
async fn background_hover_calls_stay_within_the_hovers_share() {
    let mut h = server_default_bound()
        .file("a.rs", "fn alpha() -> u8 {\n    1\n}\n")
        .file("b.rs", "fn beta() -> u8 {\n    2\n}\n")
        .script(Script::new(vec![
            Rule::reply("Returns one.")
                .matching("fn alpha")
                .held_until(GATE),
            Rule::reply("Returns two."),
        ]))
        .setting("maxConcurrentRequests", 2)
        .start()
        .await;
    let (a, b) = (h.uri_of("a.rs"), h.uri_of("b.rs"));
    assert_eq!(h.hover_in(&a, 1, 4).await["result"], Value::Null);
    h.wait_for_model_requests(1).await;
    assert_eq!(h.hover_in(&b, 1, 4).await["result"], Value::Null);
    h.release_model(GATE);
    let deadline = std::time::Instant::now() + WAIT;
    while hover_text(&h.hover_in(&a, 1, 4).await).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "alpha never explained"
        );
    }
    assert_eq!(
        h.model_requests().len(),
        1,
        "a hover started a call beyond the hovers' share"
    );
    let deadline = std::time::Instant::now() + WAIT;
    while hover_text(&h.hover_in(&b, 1, 4).await).is_empty() {
        assert!(std::time::Instant::now() < deadline, "beta never explained");
    }
    assert_eq!(h.model_requests().len(), 2);
}

// Issue 14, defect 6: a background explanation is for the text the editor
// shows; closing the document stops it (the model connection closes).
#[tokio::test]
async fn closing_the_document_stops_its_background_explanation() {
    let mut h = server_default_bound()
        .file("lib.rs", SOURCE)
        .rule(Rule::reply(EXPLANATION).chunks(4, 300))
        .start()
        .await;
    let uri = h.uri();
    assert_eq!(h.hover(1, 6).await["result"], Value::Null);
    h.wait_for_deltas_sent(1).await;
    h.notify(
        "textDocument/didClose",
        json!({ "textDocument": { "uri": uri } }),
    );
    h.wait_for_disconnect().await;
    assert!(!h.model_requests()[0].completed);
}

// A hover on unchanged input finds its explanation without rendering the
// prompt again; what the prompt is made from beyond the document
// (AGENTS.md on disk) still counts: changing it makes the next hover ask.
#[tokio::test]
async fn a_changed_agents_md_makes_the_next_hover_ask_again() {
    let mut h = editor()
        .disk_file("AGENTS.md", "Explain briefly.\n")
        .file("lib.rs", SOURCE)
        .reply(EXPLANATION)
        .start()
        .await;
    for _ in 0..3 {
        assert_eq!(hover_text(&h.hover(1, 6).await), EXPLANATION);
    }
    assert_eq!(h.model_requests().len(), 1);
    h.write("AGENTS.md", "Explain in one sentence.\n");
    assert_eq!(hover_text(&h.hover(1, 6).await), EXPLANATION);
    let requests = h.model_requests();
    assert_eq!(
        requests.len(),
        2,
        "the hover used an answer made from the old AGENTS.md"
    );
    assert!(requests[1].body.to_string().contains("one sentence"));
}
