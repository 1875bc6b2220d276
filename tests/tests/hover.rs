//! The explain hover and the explain command end to end, against the fake
//! Responses server: caching, sharing, cancellation, modes, exclusion.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use codex_lsp_tests::lsp_client::{LspClient, file_uri};
use codex_lsp_tests::{FakeResponses, Fault, Rule, Script};
use serde_json::{Value, json};

const SOURCE: &str = "fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n\nfn main() {\n    println!(\"{}\", add(1, 2));\n}\n";
const EXPLANATION: &str = "**Adds two integers.**\n\n- Inputs: `a`, `b`\n- Output: their sum (may overflow in release builds).";

struct Harness {
    _dir: tempfile::TempDir,
    fake: FakeResponses,
    client: LspClient,
    uri: String,
}

async fn start(script: Script, options: Value, file: (&str, &str)) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let path = root.join(file.0);
    std::fs::write(&path, file.1).unwrap();
    let fake = FakeResponses::start(script).await;
    let mut client = LspClient::spawn(&[("OPENAI_API_KEY", "test-key-hover")]).unwrap();
    let mut opts = json!({ "baseUrl": fake.base_url(), "maxRetries": 0 });
    for (k, v) in options.as_object().unwrap() {
        opts[k] = v.clone();
    }
    let caps = json!({
        "textDocument": { "hover": { "contentFormat": ["markdown", "plaintext"] } },
        "window": { "showDocument": { "support": true } }
    });
    client.initialize(Some(&root), caps, opts).await;
    let uri = file_uri(&path);
    client.did_open(&uri, "rust", 1, file.1);
    Harness {
        _dir: dir,
        fake,
        client,
        uri,
    }
}

fn hover_params(h: &Harness, line: u32, character: u32) -> Value {
    json!({ "textDocument": { "uri": h.uri }, "position": { "line": line, "character": character } })
}

async fn hover(h: &mut Harness, line: u32, character: u32) -> Value {
    let params = hover_params(h, line, character);
    h.client.request("textDocument/hover", params).await
}

fn hover_text(response: &Value) -> String {
    response["result"]["contents"]["value"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn repeated_hover_on_unchanged_code_calls_the_model_once() {
    let mut h = start(Script::reply(EXPLANATION), json!({}), ("lib.rs", SOURCE)).await;
    let first = hover(&mut h, 1, 6).await;
    assert_eq!(hover_text(&first), EXPLANATION);
    assert_eq!(first["result"]["contents"]["kind"], "markdown");
    assert_eq!(
        first["result"]["range"]["start"]["line"], 0,
        "the hover covers the function: {first}"
    );
    assert_eq!(first["result"]["range"]["end"]["line"], 2);
    // Same function, other positions: served from the cache.
    for (line, col) in [(1, 6), (0, 4), (2, 0)] {
        assert_eq!(hover_text(&hover(&mut h, line, col).await), EXPLANATION);
    }
    assert_eq!(h.fake.requests().len(), 1);
    let body = &h.fake.requests()[0].body;
    assert_eq!(body["reasoning"]["effort"], "low");
}

#[tokio::test]
async fn edits_invalidate_only_the_region_they_touch() {
    let mut h = start(Script::reply(EXPLANATION), json!({}), ("lib.rs", SOURCE)).await;
    hover(&mut h, 1, 6).await;
    assert_eq!(h.fake.requests().len(), 1);
    // An edit in `main` leaves `add`'s explanation valid.
    h.client.did_change(
        &h.uri,
        2,
        json!({"start": {"line": 5, "character": 4}, "end": {"line": 5, "character": 4}}),
        "let _x = 1; ",
    );
    hover(&mut h, 1, 6).await;
    assert_eq!(
        h.fake.requests().len(),
        1,
        "an edit elsewhere must not call the model"
    );
    // An edit inside `add` makes the next hover ask again.
    h.client.did_change(
        &h.uri,
        3,
        json!({"start": {"line": 1, "character": 9}, "end": {"line": 1, "character": 9}}),
        " + 0",
    );
    hover(&mut h, 1, 6).await;
    assert_eq!(h.fake.requests().len(), 2);
    assert!(h.fake.requests()[1].body.to_string().contains("a + b + 0"));
}

#[tokio::test]
async fn concurrent_hovers_share_one_request() {
    let mut h = start(
        Script::new(vec![Rule::reply(EXPLANATION).delay_ms(300)]),
        json!({}),
        ("lib.rs", SOURCE),
    )
    .await;
    let (_, a) = h
        .client
        .send_request("textDocument/hover", hover_params(&h, 1, 6));
    let (_, b) = h
        .client
        .send_request("textDocument/hover", hover_params(&h, 0, 3));
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    assert_eq!(hover_text(&a), EXPLANATION);
    assert_eq!(hover_text(&b), EXPLANATION);
    assert_eq!(h.fake.requests().len(), 1);
}

#[tokio::test]
async fn cancelled_hover_closes_the_model_connection() {
    let mut h = start(
        Script::new(vec![Rule::reply(EXPLANATION).chunks(4, 300)]),
        json!({}),
        ("lib.rs", SOURCE),
    )
    .await;
    let (id, pending) = h
        .client
        .send_request("textDocument/hover", hover_params(&h, 1, 6));
    assert!(h.fake.wait_for_requests(1, Duration::from_secs(10)).await);
    tokio::time::sleep(Duration::from_millis(400)).await;
    h.client.notify("$/cancelRequest", json!({ "id": id }));
    let response = tokio::time::timeout(Duration::from_secs(10), pending)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(response["error"]["code"], -32800, "{response}");
    assert!(
        h.fake
            .wait_for_disconnect(Duration::from_secs(5))
            .await
            .is_some(),
        "no disconnect seen"
    );
}

#[tokio::test]
async fn hover_off_sends_nothing_and_cached_mode_never_calls() {
    let mut h = start(
        Script::reply(EXPLANATION),
        json!({ "explain": { "hover": "off" } }),
        ("lib.rs", SOURCE),
    )
    .await;
    assert_eq!(hover(&mut h, 1, 6).await["result"], Value::Null);
    let mut h2 = start(
        Script::reply(EXPLANATION),
        json!({ "explain": { "hover": "cached" } }),
        ("lib.rs", SOURCE),
    )
    .await;
    assert_eq!(hover(&mut h2, 1, 6).await["result"], Value::Null);
    assert!(h.fake.requests().is_empty() && h2.fake.requests().is_empty());
    // The explain command fills the cache; then the cached-mode hover shows it.
    let args = json!({ "textDocument": { "uri": h2.uri }, "range": {"start": {"line": 1, "character": 6}, "end": {"line": 1, "character": 6}} });
    let response = h2
        .client
        .request(
            "workspace/executeCommand",
            json!({ "command": "codex.explain", "arguments": [args] }),
        )
        .await;
    assert_eq!(response["result"]["markdown"], EXPLANATION);
    assert_eq!(hover_text(&hover(&mut h2, 1, 6).await), EXPLANATION);
    assert_eq!(h2.fake.requests().len(), 1);
    // It was shown as a Markdown document.
    let shown = h2.client.server_requests_named("window/showDocument");
    assert_eq!(shown.len(), 1);
    let uri = shown[0]["params"]["uri"].as_str().unwrap();
    assert!(uri.starts_with("file://") && uri.ends_with(".md"), "{uri}");
    let path = uri.trim_start_matches("file://");
    assert_eq!(std::fs::read_to_string(path).unwrap(), EXPLANATION);
}

#[tokio::test]
async fn excluded_file_is_never_explained() {
    let mut h = start(
        Script::reply(EXPLANATION),
        json!({}),
        (
            "server.pem",
            "-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n",
        ),
    )
    .await;
    let response = hover(&mut h, 1, 1).await;
    assert!(hover_text(&response).contains("excluded"), "{response}");
    assert!(h.fake.requests().is_empty());
}

#[tokio::test]
async fn failures_are_short_hover_text_not_popups() {
    let mut h = start(
        Script::new(vec![Rule::fault(Fault::Http429)]),
        json!({}),
        ("lib.rs", SOURCE),
    )
    .await;
    let text = hover_text(&hover(&mut h, 1, 6).await);
    assert!(
        text.starts_with("Codex:") && text.to_lowercase().contains("rate"),
        "{text}"
    );
    assert!(
        h.client
            .notifications_named("window/showMessage")
            .is_empty(),
        "no popup per hover"
    );
    // Failures are not cached: the next hover asks again.
    h.fake.set_script(Script::reply(EXPLANATION));
    assert_eq!(hover_text(&hover(&mut h, 1, 6).await), EXPLANATION);
}
