//! The fuzz targets' checks under proptest, for machines without nightly
//! Rust / cargo-fuzz (and on every `cargo test`): the same invariant checks
//! as `fuzz/fuzz_targets/*` (this file includes `fuzz/src/checks.rs`), fed
//! with structured random inputs in the targets' byte formats, plus a replay
//! of the committed seed corpus `fuzz/seeds/<target>/` (which also holds
//! every crash input found so far, as a regression test).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, dead_code)]

#[allow(unreachable_pub)]
#[path = "../../fuzz/src/checks.rs"]
mod checks;

use proptest::prelude::*;

/// Replays every file of `fuzz/seeds/<target>/` through `check`.
fn replay_seeds(target: &str, check: fn(&[u8])) -> usize {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/seeds")
        .join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let data = std::fs::read(&path).unwrap();
            let outcome = std::panic::catch_unwind(|| check(&data));
            assert!(outcome.is_ok(), "seed {} fails", path.display());
            n += 1;
        }
    }
    n
}

#[test]
fn seed_corpus_passes_every_check() {
    for (target, check) in [
        ("patch", checks::patch as fn(&[u8])),
        ("sse", checks::sse),
        ("document", checks::document),
        ("settings", checks::settings),
    ] {
        let n = replay_seeds(target, check);
        assert!(n > 0, "no seeds for {target}");
    }
}

/// Lines a patch reply is made of: the grammar's headers, hunk lines, and
/// the hostile paths a model might propose.
fn reply_line() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("*** Begin Patch".to_owned()),
        Just("*** End Patch".to_owned()),
        Just("*** Update File: src/lib.rs".to_owned()),
        Just("*** Update File: src/other.rs".to_owned()),
        Just("*** Update File: ../outside.rs".to_owned()),
        Just("*** Update File: /etc/passwd".to_owned()),
        Just("*** Update File: /nonexistent-codex-lsp-fuzz-root/src/lib.rs".to_owned()),
        Just("*** Add File: src/new.rs".to_owned()),
        Just("*** Add File: /tmp/codex-lsp-fuzz-x".to_owned()),
        Just("*** Add File: ".to_owned()),
        Just("*** Delete File: src/lib.rs".to_owned()),
        Just("*** Move to: src/x.rs".to_owned()),
        Just("*** End of File".to_owned()),
        Just("@@".to_owned()),
        Just("@@ fn a".to_owned()),
        Just("+[REDACTED:secret]".to_owned()),
        Just("```".to_owned()),
        Just(String::new()),
        "[ +-][abxy }{é😀\t]{0,6}".prop_map(|s| s),
        "[a-z ]{0,10}".prop_map(|s| s),
    ]
}

fn file_text() -> impl Strategy<Value = String> {
    (
        proptest::collection::vec("(a|b|x y|fn a|\\}|\t|é|😀|)", 0..12),
        prop_oneof![Just("\n"), Just("\r\n")],
        any::<bool>(),
    )
        .prop_map(|(lines, eol, final_eol)| {
            let mut s = lines.join(eol);
            if final_eol && !s.is_empty() {
                s.push_str(eol);
            }
            s
        })
}

fn patch_input() -> impl Strategy<Value = Vec<u8>> {
    let reply = prop_oneof![
        // Free-form sequences of grammar lines.
        proptest::collection::vec(reply_line(), 0..16).prop_map(|l| l.join("\n")),
        // Well-formed updates of the primary file.
        proptest::collection::vec(reply_line(), 1..10).prop_map(|body| format!(
            "*** Begin Patch\n*** Update File: src/lib.rs\n{}\n*** End Patch\n",
            body.join("\n")
        )),
    ];
    (any::<u8>(), reply, file_text()).prop_map(|(mode, reply, file)| {
        let mut v = vec![mode];
        v.extend_from_slice(reply.as_bytes());
        v.push(checks::SEPARATOR);
        v.extend_from_slice(file.as_bytes());
        v
    })
}

fn sse_frame() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zé😀 \n]{0,8}".prop_map(|d| format!(
            "event: response.output_text.delta\ndata: {}\n\n",
            serde_json::json!({"type": "response.output_text.delta", "delta": d})
        )),
        Just("data: {\"type\":\"response.created\",\"response\":{\"id\":\"resp_1\"}}\n\n".to_owned()),
        Just("data: {\"type\":\"response.completed\",\"response\":{\"id\":\"resp_1\",\"status\":\"completed\",\"output\":[],\"usage\":{\"input_tokens\":3}}}\n\n".to_owned()),
        Just("data: {\"type\":\"response.failed\",\"response\":{\"error\":{\"code\":\"server_error\",\"message\":\"boom\"}}}\n\n".to_owned()),
        Just("data: {\"type\":\"response.incomplete\",\"response\":{\"incomplete_details\":{\"reason\":\"max_output_tokens\"}}}\n\n".to_owned()),
        Just("data: {\"type\":\"error\",\"error\":{\"code\":\"insufficient_quota\",\"message\":\"quota\"}}\n\n".to_owned()),
        Just("data: {not json\n\n".to_owned()),
        Just("data: [DONE]\n\n".to_owned()),
        Just(": keep-alive\n\n".to_owned()),
        Just("retry: 100\nid: 7\n\n".to_owned()),
        Just("data: {\"type\":\"response.output_text.delta\",\r\ndata: \"delta\":\"x\"}\r\n\r\n".to_owned()),
        "[a-z:\r\n ]{0,12}".prop_map(|s| s),
    ]
}

fn sse_input() -> impl Strategy<Value = Vec<u8>> {
    (any::<u8>(), proptest::collection::vec(sse_frame(), 0..10)).prop_map(|(seed, frames)| {
        let mut v = vec![seed];
        v.extend_from_slice(frames.concat().as_bytes());
        v
    })
}

fn settings_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::{Value, json};
    let scalar = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (0u64..300_000).prop_map(Value::from),
        "[a-z:/._*\\[\\]-]{0,12}".prop_map(Value::from),
        Just(json!("http://127.0.0.1:1/v1")),
        Just(json!("high")),
        Just(json!("off")),
        Just(json!(["*.rs", "[z-a"])),
    ];
    let key = prop_oneof![
        Just("model"),
        Just("baseUrl"),
        Just("provider"),
        Just("apiKeyEnv"),
        Just("maxContextTokens"),
        Just("maxOutputTokens"),
        Just("exclude"),
        Just("includeOpenDocuments"),
        Just("maxFileBytes"),
        Just("requestTimeoutMs"),
        Just("streamIdleTimeoutMs"),
        Just("maxRetries"),
        Just("maxConcurrentRequests"),
        Just("explain"),
        Just("reasoningEffort"),
        Just("codex"),
        Just("hover"),
        Just("fix"),
        Just("bogus"),
    ];
    let leaf = proptest::collection::btree_map(key.clone(), scalar, 0..5)
        .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()));
    let object = proptest::collection::btree_map(
        key,
        prop_oneof![leaf.clone(), leaf.prop_map(|v| json!({ "codex": v }))],
        0..4,
    )
    .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()));
    prop_oneof![
        object.clone(),
        proptest::collection::vec(object, 0..4).prop_map(Value::Array),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("FUZZ_PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256)
    ))]

    #[test]
    fn patch_target(data in patch_input()) {
        checks::patch(&data);
    }

    #[test]
    fn patch_target_raw_bytes(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        checks::patch(&data);
    }

    #[test]
    fn sse_target(data in sse_input()) {
        checks::sse(&data);
    }

    #[test]
    fn sse_target_raw_bytes(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        checks::sse(&data);
    }

    #[test]
    fn document_target(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        checks::document(&data);
    }

    #[test]
    fn settings_target(value in settings_value()) {
        checks::settings(value.to_string().as_bytes());
    }

    #[test]
    fn settings_target_raw_bytes(data in proptest::collection::vec(any::<u8>(), 0..200)) {
        checks::settings(&data);
    }
}
