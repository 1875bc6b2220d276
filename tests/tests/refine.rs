//! `codex.refine` (issue 16, item 2), end to end over stdio: the last edit
//! conversation of a document goes on with a new instruction, after the
//! edit was applied or rejected, and the follow-up request extends the
//! first one's input; the result is an edit against the current text.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use codex_lsp_tests::harness::{TestServer, range};
use codex_lsp_tests::lsp_client::ApplyEditAnswer;
use codex_lsp_tests::{Rule, Script};
use serde_json::{Value, json};

const APP: &str = "def area(s):\n    return s.size * s.size\n";
const SIMPLIFY: &str = "*** Begin Patch\n*** Update File: app.py\n@@\n def area(s):\n-    return s.size * s.size\n+    return s.size ** 2\n*** End Patch\n";
const REFINED: &str = "*** Begin Patch\n*** Update File: app.py\n@@\n def area(s):\n-    return s.size ** 2\n+    return pow(s.size, 2)\n*** End Patch\n";
const REFINED_AFTER_REJECT: &str = "*** Begin Patch\n*** Update File: app.py\n@@\n def area(s):\n-    return s.size * s.size\n+    return pow(s.size, 2)\n*** End Patch\n";

fn input(h: &TestServer, n: usize) -> Vec<Value> {
    h.model_requests()[n].body["input"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The second request's input is the first's, item for item, then the
/// answer to the patch call and the follow-up message; instructions,
/// tools and cache key are the same.
fn assert_the_refine_extends_the_action(h: &TestServer) -> (Value, String) {
    let requests = h.model_requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    let (a, b) = (&requests[0].body, &requests[1].body);
    let (ia, ib) = (input(h, 0), input(h, 1));
    assert_eq!(
        &ib[..ia.len()],
        &ia[..],
        "the refine does not extend the action"
    );
    for field in ["instructions", "tools", "prompt_cache_key"] {
        assert_eq!(a[field], b[field], "{field} changed");
    }
    // After the first input: the replayed patch call, its answer, the
    // follow-up.
    let new = &ib[ia.len()..];
    assert_eq!(new.len(), 3, "{new:?}");
    assert_eq!(new[0]["type"], "custom_tool_call");
    assert_eq!(new[1]["type"], "custom_tool_call_output");
    assert_eq!(new[1]["call_id"], new[0]["call_id"]);
    let follow_up = new[2]["content"][0]["text"].as_str().unwrap().to_owned();
    (new[1].clone(), follow_up)
}

#[tokio::test]
async fn a_refine_after_an_applied_edit_continues_the_conversation() {
    let mut h = TestServer::builder()
        .file_as("app.py", "python", APP)
        .script(Script::new(vec![
            Rule::custom_call("apply_patch", SIMPLIFY).turn(1),
            Rule::custom_call("apply_patch", REFINED).turn(2),
        ]))
        .start()
        .await;
    let response = h.run_action("simplify", range(1, 4, 1, 4)).await;
    assert_eq!(response["result"]["applied"], true, "{response}");
    let simplified = h.applied_text(APP);
    assert_eq!(simplified, "def area(s):\n    return s.size ** 2\n");
    // The editor applies it: the document now holds the edit.
    h.did_change(2, range(0, 0, 2, 0), &simplified);

    let refined = h.refine("use pow() instead").await;
    assert_eq!(refined["result"]["applied"], true, "{refined}");
    let edit = h.last_applied_edit();
    assert_eq!(
        edit["documentChanges"][0]["textDocument"]["version"], 2,
        "{edit}"
    );
    assert_eq!(
        codex_lsp_tests::harness::apply_lsp_edits(
            &simplified,
            &edit["documentChanges"][0]["edits"]
                .as_array()
                .unwrap()
                .clone(),
            "utf-16"
        ),
        "def area(s):\n    return pow(s.size, 2)\n"
    );
    let (answer, follow_up) = assert_the_refine_extends_the_action(&h);
    assert_eq!(answer["output"], "Applied.");
    assert!(
        follow_up.starts_with("The user applied your edit."),
        "{follow_up}"
    );
    assert!(
        follow_up.contains("     2\t    return s.size ** 2"),
        "{follow_up}"
    );
    assert!(follow_up.contains("use pow() instead"), "{follow_up}");
}

#[tokio::test]
async fn a_refine_after_a_rejected_edit_says_so() {
    let mut h = TestServer::builder()
        .file_as("app.py", "python", APP)
        .script(Script::new(vec![
            Rule::custom_call("apply_patch", SIMPLIFY).turn(1),
            Rule::custom_call("apply_patch", REFINED_AFTER_REJECT).turn(2),
        ]))
        .start()
        .await;
    h.client().set_apply_edit_answer(ApplyEditAnswer::Reject);
    let response = h.run_action("simplify", range(1, 4, 1, 4)).await;
    assert_eq!(response["result"]["applied"], false, "{response}");
    let _ = h.applied_edits();
    let _ = h.wait_for_messages(1).await;
    h.client().set_apply_edit_answer(ApplyEditAnswer::Apply);

    let refined = h.refine("use pow() instead").await;
    assert_eq!(refined["result"]["applied"], true, "{refined}");
    assert_eq!(
        h.applied_text(APP),
        "def area(s):\n    return pow(s.size, 2)\n"
    );
    let (answer, follow_up) = assert_the_refine_extends_the_action(&h);
    assert!(
        answer["output"].as_str().unwrap().contains("rejected"),
        "{answer}"
    );
    assert!(
        follow_up.starts_with("The user rejected your edit"),
        "{follow_up}"
    );
    assert!(
        follow_up.contains("     2\t    return s.size * s.size"),
        "{follow_up}"
    );
}

#[tokio::test]
async fn nothing_to_refine_after_close_or_before_any_action() {
    let mut h = TestServer::builder()
        .file_as("app.py", "python", APP)
        .rule(Rule::custom_call("apply_patch", SIMPLIFY))
        .start()
        .await;
    let refused = h.refine("anything").await;
    assert_eq!(refused["result"]["applied"], false, "{refused}");
    let shown = h.wait_for_messages(1).await;
    assert!(shown[0].contains("no recent Codex edit"), "{shown:?}");
    assert_eq!(h.model_requests().len(), 0);

    let response = h.run_action("simplify", range(1, 4, 1, 4)).await;
    assert_eq!(response["result"]["applied"], true, "{response}");
    let _ = h.applied_edits();
    // Closed and opened again: the conversation is gone.
    let uri = h.uri();
    h.notify(
        "textDocument/didClose",
        json!({ "textDocument": { "uri": uri } }),
    );
    h.open("app.py", "python", APP);
    let refused = h.refine("anything").await;
    assert_eq!(refused["result"]["applied"], false, "{refused}");
    assert_eq!(h.wait_for_messages(2).await.len(), 2);
    assert_eq!(h.model_requests().len(), 1);

    let empty = h.refine("  ").await;
    assert!(
        empty["error"]["message"]
            .as_str()
            .unwrap()
            .contains("instruction"),
        "{empty}"
    );
}
