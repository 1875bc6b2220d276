//! In-process protocol tests through tower's `Service` interface on the
//! same service stack `run` serves: initialize, open, many incremental
//! changes (in the negotiated encoding), then look at the stored text
//! directly in the server's state.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;
use tower::{Service, ServiceExt};
use tower_lsp_server::jsonrpc::Request;
use tower_lsp_server::ls_types::Uri;

use super::{LanguageService, build_with};
use crate::state::{ServerOptions, State};

/// The service `run` serves, and a handle on its state.
fn service() -> (LanguageService, State) {
    let (tx, rx) = std::sync::mpsc::channel();
    let (service, _socket) = build_with(ServerOptions::default(), move |state| {
        let _ = tx.send(state.clone());
    });
    (service, rx.recv().unwrap())
}

async fn call(
    service: &mut LanguageService,
    request: Request,
) -> Option<tower_lsp_server::jsonrpc::Response> {
    service.ready().await.unwrap().call(request).await.unwrap()
}

#[tokio::test]
async fn many_incremental_changes_keep_the_text_right() {
    let (mut service, state) = service();
    let init = Request::build("initialize")
        .params(json!({ "capabilities": { "general": { "positionEncodings": ["utf-16"] } } }))
        .id(1)
        .finish();
    let response = call(&mut service, init).await.unwrap();
    let (_, result) = response.into_parts();
    assert_eq!(
        result.unwrap()["capabilities"]["positionEncoding"],
        "utf-16"
    );
    call(
        &mut service,
        Request::build("initialized").params(json!({})).finish(),
    )
    .await;

    let uri = "file:///w/main.rs";
    let initial = "fn main() {\r\n    println!(\"héllo 😀\");\r\n}\r\n";
    call(
        &mut service,
        Request::build("textDocument/didOpen")
            .params(json!({ "textDocument": { "uri": uri, "languageId": "rust", "version": 1, "text": initial } }))
            .finish(),
    )
    .await;

    // Type "日本" after the emoji 200 times, one character per change, then
    // delete every other one: positions are UTF-16 (the emoji is 2 units).
    let mut expected = initial.to_owned();
    let insert_at = expected.find('😀').unwrap() + '😀'.len_utf8();
    let mut version = 1;
    let base_col = "    println!(\"héllo 😀".encode_utf16().count() as u32;
    for i in 0..200u32 {
        version += 1;
        let ch = if i % 2 == 0 { "日" } else { "本" };
        let col = base_col + i;
        call(
            &mut service,
            Request::build("textDocument/didChange")
                .params(json!({
                    "textDocument": { "uri": uri, "version": version },
                    "contentChanges": [{ "range": { "start": { "line": 1, "character": col }, "end": { "line": 1, "character": col } }, "text": ch }]
                }))
                .finish(),
        )
        .await;
        let at = insert_at + (i as usize) * 3;
        expected.insert_str(at, ch);
    }
    for i in 0..100u32 {
        version += 1;
        let col = base_col + i;
        call(
            &mut service,
            Request::build("textDocument/didChange")
                .params(json!({
                    "textDocument": { "uri": uri, "version": version },
                    "contentChanges": [{ "range": { "start": { "line": 1, "character": col }, "end": { "line": 1, "character": col + 1 } }, "text": "" }]
                }))
                .finish(),
        )
        .await;
        let at = insert_at + (i as usize) * 3;
        expected.replace_range(at..at + 3, "");
    }

    let uri: Uri = uri.parse().unwrap();
    let (text, stored_version) = state
        .with_document(&uri, |d| (d.rope().to_string(), d.version()))
        .unwrap();
    assert_eq!(stored_version, version);
    assert_eq!(text, expected);
    assert!(text.contains(&"本".repeat(100)));

    // didClose frees the document; a later change for it is ignored.
    call(
        &mut service,
        Request::build("textDocument/didClose")
            .params(json!({ "textDocument": { "uri": uri.as_str() } }))
            .finish(),
    )
    .await;
    assert_eq!(state.open_count(), 0);
    call(
        &mut service,
        Request::build("textDocument/didChange")
            .params(json!({ "textDocument": { "uri": uri.as_str(), "version": 999 }, "contentChanges": [{ "text": "x" }] }))
            .finish(),
    )
    .await;
    assert_eq!(state.open_count(), 0);
}

#[tokio::test]
async fn a_bad_setting_keeps_its_previous_value_and_the_rest_applies() {
    let (mut service, state) = service();
    let init = Request::build("initialize")
        .params(json!({ "capabilities": {}, "initializationOptions": { "model": "first-model" } }))
        .id(1)
        .finish();
    call(&mut service, init).await;
    assert_eq!(state.settings().model, "first-model");
    let retries = state.settings().max_retries;
    for (settings, model, max_retries) in [
        (
            json!({ "codex": { "model": "second-model", "maxRetries": 2 } }),
            "second-model",
            2,
        ),
        // maxRetries 99 is out of range: it keeps 2, the model applies.
        (
            json!({ "codex": { "model": "third", "maxRetries": 99 } }),
            "third",
            2,
        ),
        (
            json!({ "codex": { "explain": { "hover": "cached" } } }),
            "first-model",
            retries,
        ),
        (json!(null), "first-model", retries),
    ] {
        call(
            &mut service,
            Request::build("workspace/didChangeConfiguration")
                .params(json!({ "settings": settings }))
                .finish(),
        )
        .await;
        assert_eq!(state.settings().model, model, "after {settings}");
        assert_eq!(
            state.settings().max_retries,
            max_retries,
            "after {settings}"
        );
    }
}
