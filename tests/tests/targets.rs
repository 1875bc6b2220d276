//! Where an action applies, as clients send ranges (issue 14, defect 3): a
//! range within one grapheme on one line (Helix's block cursor, VS Code's
//! one-token quick-fix range) is a cursor, so the action works on the
//! enclosing node, and the prompt says "selection" only for a real one.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use codex_lsp_tests::harness::{TestServer, range};
use serde_json::{Value, json};

const UTIL: &str = "def add(a, b):\n    return a+b\n\n\ndef sub(a, b):\n    return a-b\n";
const PATCH: &str = "*** Begin Patch\n*** Update File: util.py\n@@\n def add(a, b):\n-    return a+b\n+    return a + b\n*** End Patch\n";

/// The `Target:` line and region of the prompt of model request `n`.
fn target_of(h: &TestServer, n: usize) -> String {
    let input = h.model_requests()[n].body["input"].to_string();
    let start = input.find("Target:").unwrap();
    let end = input.find("Action:").unwrap();
    input[start..end].to_owned()
}

async fn start() -> TestServer {
    TestServer::builder()
        .file_as("util.py", "python", UTIL)
        .reply(PATCH)
        .start()
        .await
}

#[tokio::test]
async fn a_one_character_selection_is_a_cursor() {
    let mut h = start().await;
    // Helix's block cursor on `+`.
    let response = h.run_action("simplify", range(1, 12, 1, 13)).await;
    assert_eq!(response["result"]["applied"], true, "{response}");
    h.last_applied_edit();
    let target = target_of(&h, 0);
    assert!(!target.contains("selection"), "{target}");
    assert!(target.contains("def add(a, b)"), "{target}");
}

#[tokio::test]
async fn a_real_selection_stays_a_selection() {
    let mut h = start().await;
    let response = h.run_action("simplify", range(1, 4, 1, 16)).await;
    assert_eq!(response["result"]["applied"], true, "{response}");
    h.last_applied_edit();
    let target = target_of(&h, 0);
    assert!(target.contains("the user's selection"), "{target}");
}

#[tokio::test]
async fn a_fix_targets_the_node_around_its_diagnostic() {
    let mut h = start().await;
    let diagnostic: Value = json!({
        "range": range(1, 11, 1, 14), "severity": 2, "code": "E225",
        "message": "missing whitespace around operator"
    });
    // VS Code lists quick fixes for the diagnostic's range: one token.
    let mut args = h.run_args("fix", range(1, 11, 1, 14));
    args["diagnostic"] = diagnostic;
    let response = h.run_action_with(args).await;
    assert_eq!(response["result"]["applied"], true, "{response}");
    h.last_applied_edit();
    let target = target_of(&h, 0);
    assert!(!target.contains("selection"), "{target}");
    assert!(
        target.contains("def add(a, b)") && !target.contains("def sub"),
        "{target}"
    );
    assert!(
        target.contains("missing whitespace around operator"),
        "{target}"
    );
}
