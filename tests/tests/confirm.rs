//! Review before apply (issue 16, item 1), end to end over stdio: for each
//! `confirmEdits` mode and client shape (change annotations announced or
//! not), which path listed actions take, whether the applied edit carries
//! a change annotation that needs confirmation, and what a rejected or an
//! unreviewable edit says.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use codex_lsp_tests::harness::{TestServer, TestServerBuilder, range};
use codex_lsp_tests::lsp_client::ApplyEditAnswer;
use codex_lsp_tests::{Rule, Script};
use serde_json::{Value, json};

const APP: &str = "from shapes import Square\n\n\ndef area(s):\n    return s.size * s.size\n";
const SHAPES: &str = "class Square:\n    def __init__(self, side):\n        self.side = side\n";
/// One line of app.py.
const SMALL: &str = "*** Begin Patch\n*** Update File: app.py\n@@\n def area(s):\n-    return s.size * s.size\n+    return s.side * s.side\n*** End Patch\n";
/// app.py and shapes.py (which the model read first).
const BOTH: &str = "*** Begin Patch\n*** Update File: shapes.py\n@@\n class Square:\n     def __init__(self, side):\n         self.side = side\n+        self.size = side\n*** Update File: app.py\n@@\n def area(s):\n-    return s.size * s.size\n+    return s.size ** 2\n*** End Patch\n";
/// One line of app.py and a new file.
const WITH_NEW_FILE: &str = "*** Begin Patch\n*** Add File: notes.txt\n+area of a square\n*** Update File: app.py\n@@\n def area(s):\n-    return s.size * s.size\n+    return s.side * s.side\n*** End Patch\n";

const REJECTED: &str = "Codex: edit not applied (rejected in review).";
const UNREVIEWED_START: &str = "Codex: this editor cannot show an edit for review";

/// A client that announces change annotations (as vscode-languageclient
/// does) with `documentChanges`.
fn annotating() -> TestServerBuilder {
    TestServer::builder().capability(
        "/workspace/workspaceEdit/changeAnnotationSupport",
        json!({ "groupsOnLabel": true }),
    )
}

fn with_files(builder: TestServerBuilder, mode: &str) -> TestServerBuilder {
    builder
        .file_as("app.py", "python", APP)
        .disk_file("shapes.py", SHAPES)
        .setting("confirmEdits", mode)
}

/// The model patches at once.
fn patches(patch: &str) -> Script {
    Script::new(vec![Rule::custom_call("apply_patch", patch)])
}

/// The model reads shapes.py, then patches.
fn reads_then_patches(patch: &str) -> Script {
    Script::new(vec![
        Rule::function_call("read_file", json!({"path": "shapes.py"})).turn(1),
        Rule::custom_call("apply_patch", patch).turn(2),
    ])
}

async fn simplify(h: &mut TestServer) -> Value {
    h.run_action("simplify", range(4, 4, 4, 4)).await
}

/// Every text edit of `edit` with the URI of its document.
fn text_edits(edit: &Value) -> Vec<(String, Value)> {
    edit["documentChanges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c.get("textDocument").is_some())
        .flat_map(|c| {
            let uri = c["textDocument"]["uri"].as_str().unwrap().to_owned();
            c["edits"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |e| (uri.clone(), e.clone()))
        })
        .collect()
}

/// Checks that `edit` is under one annotation that needs confirmation and
/// returns that annotation.
fn assert_reviewed(edit: &Value) -> Value {
    let annotations = edit["changeAnnotations"].as_object().expect("annotations");
    assert_eq!(annotations.len(), 1, "{edit}");
    let (id, annotation) = annotations.iter().next().unwrap();
    assert_eq!(annotation["needsConfirmation"], true, "{edit}");
    let edits = text_edits(edit);
    assert!(!edits.is_empty());
    for (uri, e) in &edits {
        assert_eq!(e["annotationId"], id.as_str(), "{uri}: {e}");
    }
    for op in edit["documentChanges"].as_array().unwrap() {
        if op.get("kind").is_some() {
            assert_eq!(op["annotationId"], id.as_str(), "{op}");
        }
    }
    annotation.clone()
}

fn assert_not_reviewed(edit: &Value) {
    assert!(edit.get("changeAnnotations").is_none(), "{edit}");
    for (uri, e) in text_edits(edit) {
        assert!(e.get("annotationId").is_none(), "{uri}: {e}");
    }
}

/// A listed edit action: its `data` (resolve path) or command.
async fn listed_simplify(h: &mut TestServer) -> Value {
    h.action(range(4, 4, 4, 4), "Codex: Simplify").await
}

#[tokio::test]
async fn auto_reviews_a_multi_file_edit_on_the_command_path() {
    let mut h = with_files(annotating().resolve(), "auto")
        .script(reads_then_patches(BOTH))
        .start()
        .await;
    // The client resolves edits, but review needs the command path.
    let listed = listed_simplify(&mut h).await;
    assert_eq!(listed["command"]["command"], "codex.runAction", "{listed}");
    assert!(listed.get("data").is_none_or(Value::is_null), "{listed}");

    let response = simplify(&mut h).await;
    assert_eq!(response["result"]["applied"], true, "{response}");
    let edit = h.last_applied_edit();
    let annotation = assert_reviewed(&edit);
    assert_eq!(annotation["label"], "Codex: Simplify");
    let description = annotation["description"].as_str().unwrap();
    // Model, then cost and tokens as the progress end shows them.
    assert!(
        description.starts_with("gpt-5.3-codex · $"),
        "{description}"
    );
    assert!(description.contains("input tokens cached"), "{description}");
    assert!(
        description.ends_with(" · 2 files, 2 changed lines"),
        "{description}"
    );
    let files: std::collections::BTreeSet<String> =
        text_edits(&edit).into_iter().map(|(uri, _)| uri).collect();
    assert_eq!(files.len(), 2, "{edit}");
    assert!(h.settled_messages().await.is_empty());
}

#[tokio::test]
async fn auto_applies_a_small_single_file_edit_directly() {
    let mut h = with_files(annotating(), "auto")
        .script(patches(SMALL))
        .start()
        .await;
    let response = simplify(&mut h).await;
    assert_eq!(response["result"]["applied"], true, "{response}");
    assert_not_reviewed(&h.last_applied_edit());
    assert!(h.settled_messages().await.is_empty());
}

#[tokio::test]
async fn auto_reviews_a_single_file_edit_above_the_line_threshold() {
    let mut h = with_files(annotating(), "auto")
        .setting("confirmAboveLines", 0)
        .script(patches(SMALL))
        .start()
        .await;
    let response = simplify(&mut h).await;
    assert_eq!(response["result"]["applied"], true, "{response}");
    let annotation = assert_reviewed(&h.last_applied_edit());
    let description = annotation["description"].as_str().unwrap();
    assert!(
        description.ends_with(" · 1 file, 1 changed line"),
        "{description}"
    );
}

#[tokio::test]
async fn always_reviews_a_small_edit_and_the_file_it_creates() {
    let mut h = with_files(annotating(), "always")
        .script(patches(WITH_NEW_FILE))
        .start()
        .await;
    let response = simplify(&mut h).await;
    assert_eq!(response["result"]["applied"], true, "{response}");
    let edit = h.last_applied_edit();
    assert_reviewed(&edit);
    let create = edit["documentChanges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|op| op["kind"] == "create")
        .cloned()
        .expect("a file creation");
    assert!(create["annotationId"].is_string(), "{create}");
}

#[tokio::test]
async fn never_applies_a_multi_file_edit_directly_and_keeps_the_resolve_path() {
    let mut h = with_files(annotating().resolve(), "never")
        .script(reads_then_patches(BOTH))
        .start()
        .await;
    let listed = listed_simplify(&mut h).await;
    assert!(listed["data"].is_object(), "{listed}");
    assert!(listed.get("command").is_none_or(Value::is_null), "{listed}");
    let response = simplify(&mut h).await;
    assert_eq!(response["result"]["applied"], true, "{response}");
    assert_not_reviewed(&h.last_applied_edit());
    assert!(h.settled_messages().await.is_empty());
}

#[tokio::test]
async fn a_rejected_review_changes_nothing_and_says_so_once() {
    let mut h = with_files(annotating(), "always")
        .script(patches(SMALL))
        .start()
        .await;
    h.client().set_apply_edit_answer(ApplyEditAnswer::Reject);
    let response = simplify(&mut h).await;
    assert_eq!(response["result"]["applied"], false, "{response}");
    assert_eq!(response["result"]["message"], REJECTED, "{response}");
    assert_eq!(h.applied_edits().len(), 1, "one edit offered, nothing else");
    assert_eq!(h.settled_messages().await, [REJECTED]);
}

#[tokio::test]
async fn without_annotations_edits_apply_directly_and_say_so_once() {
    let mut h = with_files(TestServer::builder(), "auto")
        .script(reads_then_patches(BOTH))
        .start()
        .await;
    let response = simplify(&mut h).await;
    assert_eq!(response["result"]["applied"], true, "{response}");
    assert_not_reviewed(&h.last_applied_edit());
    let messages = h.settled_messages().await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(messages[0].starts_with(UNREVIEWED_START), "{messages:?}");
    // Once per session: the next edit that needed review says nothing.
    h.set_script(reads_then_patches(BOTH));
    let response = simplify(&mut h).await;
    assert_eq!(response["result"]["applied"], true, "{response}");
    h.applied_edits();
    assert!(h.new_messages().is_empty());
}

#[tokio::test]
async fn without_annotations_a_small_edit_says_nothing() {
    let mut h = with_files(TestServer::builder(), "auto")
        .script(patches(SMALL))
        .start()
        .await;
    let response = simplify(&mut h).await;
    assert_eq!(response["result"]["applied"], true, "{response}");
    assert_not_reviewed(&h.last_applied_edit());
    assert!(h.settled_messages().await.is_empty());
}

#[tokio::test]
async fn a_resolved_edit_that_needed_review_says_so_once() {
    let mut h = with_files(TestServer::builder().resolve(), "always")
        .script(patches(SMALL))
        .start()
        .await;
    let listed = listed_simplify(&mut h).await;
    assert!(listed["data"].is_object(), "{listed}");
    let resolved = h.resolve(listed).await;
    let edit = &resolved["result"]["edit"];
    assert!(edit.is_object(), "{resolved}");
    assert!(edit.get("changeAnnotations").is_none(), "{edit}");
    let messages = h.settled_messages().await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(messages[0].starts_with(UNREVIEWED_START), "{messages:?}");
}
