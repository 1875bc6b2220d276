//! The edit loop (issue 15), end to end over stdio with the real model
//! client against the fake Responses server: the model reads, searches and
//! lists the workspace through the policy, edits through the `apply_patch`
//! tool, repairs a patch that did not apply, stays within its bounds, and
//! every request's input extends the previous one's.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use codex_lsp_tests::harness::{TestServer, range};
use codex_lsp_tests::{Fault, Rule, Script};
use serde_json::{Value, json};

const APP: &str = "from shapes import Square\n\n\ndef area(s):\n    return s.size * s.size\n";
const SHAPES: &str = "class Square:\n    def __init__(self, side):\n        self.side = side\n";
const FIX: &str = "*** Begin Patch\n*** Update File: app.py\n@@\n def area(s):\n-    return s.size * s.size\n+    return s.side * s.side\n*** End Patch\n";

fn builder() -> codex_lsp_tests::harness::TestServerBuilder {
    TestServer::builder()
        .file_as("app.py", "python", APP)
        .disk_file("shapes.py", SHAPES)
}

/// The input items of model request `n`.
fn input(h: &TestServer, n: usize) -> Vec<Value> {
    h.model_requests()[n].body["input"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The `output` of the tool answer to the call in request `n`'s input.
fn tool_output(h: &TestServer, n: usize) -> String {
    input(h, n)
        .iter()
        .rev()
        .find(|i| {
            matches!(
                i["type"].as_str(),
                Some("function_call_output" | "custom_tool_call_output")
            )
        })
        .map(|i| i["output"].as_str().unwrap_or_default().to_owned())
        .unwrap_or_default()
}

/// Every request's input is the previous one's, item for item, with new
/// items after it; instructions, tools and cache key stay the same.
fn assert_each_request_extends_the_last(h: &TestServer) {
    let requests = h.model_requests();
    for pair in requests.windows(2) {
        let (a, b) = (&pair[0].body, &pair[1].body);
        let (ia, ib) = (
            a["input"].as_array().unwrap(),
            b["input"].as_array().unwrap(),
        );
        assert!(ib.len() > ia.len(), "{ib:?}");
        assert_eq!(
            &ib[..ia.len()],
            &ia[..],
            "the next input does not extend the last"
        );
        for field in ["instructions", "tools", "prompt_cache_key"] {
            assert_eq!(a[field], b[field], "{field} changed between turns");
        }
    }
}

fn fix_args(h: &TestServer) -> Value {
    let mut args = h.run_args("fix", range(4, 13, 4, 17));
    args["diagnostic"] = json!({
        "range": range(4, 13, 4, 17), "severity": 1,
        "message": "Cannot access attribute \"size\" for class \"Square\""
    });
    args
}

/// Runs the fix and checks that an edit was applied.
async fn run_fix_applied(h: &mut TestServer) {
    let args = fix_args(h);
    let response = h.run_action_with(args).await;
    assert_eq!(response["result"]["applied"], true, "{response}");
}

/// Runs the fix and checks that it gave the fixed text.
async fn run_fix(h: &mut TestServer) {
    run_fix_applied(h).await;
    assert_eq!(
        h.applied_text(APP),
        APP.replace("s.size * s.size", "s.side * s.side")
    );
}

#[tokio::test]
async fn a_fix_that_needs_another_file_reads_it_then_patches() {
    let mut h = builder()
        .script(Script::new(vec![
            Rule::function_call("read_file", json!({"path": "shapes.py"})).turn(1),
            Rule::custom_call("apply_patch", FIX).turn(2),
        ]))
        .start()
        .await;
    run_fix(&mut h).await;
    let requests = h.model_requests();
    assert_eq!(requests.len(), 2);
    // The first request offers the tools: the grammar-constrained patch
    // tool and the read-only workspace tools; the model must use a tool.
    let first = &requests[0].body;
    let names: Vec<&str> = first["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["read_file", "search", "list_files", "apply_patch"]);
    let patch_tool = &first["tools"][3];
    assert_eq!(patch_tool["type"], "custom");
    assert_eq!(patch_tool["format"]["syntax"], "lark");
    assert!(
        patch_tool["format"]["definition"]
            .as_str()
            .unwrap()
            .contains("*** Begin Patch")
    );
    assert_eq!(first["tool_choice"], "required");
    // The read went through the policy and came back numbered.
    let read = tool_output(&h, 1);
    assert!(read.contains("     3\t        self.side = side"), "{read}");
    assert_each_request_extends_the_last(&h);
    // Progress said what the model was doing.
    let steps: Vec<String> = h
        .notifications("$/progress")
        .iter()
        .filter_map(|n| n["params"]["value"]["message"].as_str().map(str::to_owned))
        .collect();
    assert!(steps.iter().any(|m| m == "reading shapes.py"), "{steps:?}");
}

#[tokio::test]
async fn search_and_list_answer_path_line_text() {
    let mut h = builder()
        .disk_file(".gitignore", "build/\n")
        .disk_file("build/shapes.py", "class Square:\n")
        .script(Script::new(vec![
            Rule::function_call("search", json!({"query": "class Square"})).turn(1),
            Rule::function_call("list_files", json!({})).turn(2),
            Rule::custom_call("apply_patch", FIX).turn(3),
        ]))
        .start()
        .await;
    run_fix(&mut h).await;
    assert_eq!(tool_output(&h, 1), "shapes.py:1: class Square:\n");
    let listed = tool_output(&h, 2);
    assert!(
        listed.contains("app.py\n") && listed.contains("shapes.py\n"),
        "{listed}"
    );
    assert!(
        !listed.contains("build/shapes.py"),
        "ignored by .gitignore: {listed}"
    );
    assert_each_request_extends_the_last(&h);
}

#[tokio::test]
async fn excluded_and_outside_files_are_refused_without_content() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("notes.txt"), "outside-secret-notes\n").unwrap();
    let far = outside.path().join("notes.txt").display().to_string();
    let mut h = builder()
        .disk_file(".env", "DATABASE_PASSWORD=hunter2-secret\n")
        .script(Script::new(vec![
            Rule::function_call("read_file", json!({"path": ".env"})).turn(1),
            Rule::function_call("read_file", json!({"path": far})).turn(2),
            Rule::function_call("read_file", json!({"path": "../notes.txt"})).turn(3),
            Rule::custom_call("apply_patch", FIX).turn(4),
        ]))
        .start()
        .await;
    run_fix(&mut h).await;
    for n in 1..=3 {
        let out = tool_output(&h, n);
        assert!(out.starts_with("refused: "), "{out}");
    }
    assert!(
        tool_output(&h, 1).contains("excluded"),
        "{}",
        tool_output(&h, 1)
    );
    for request in h.model_requests() {
        let body = request.body.to_string();
        assert!(!body.contains("hunter2"), "the .env content was sent");
        assert!(!body.contains("outside-secret"), "an outside file was sent");
    }
}

#[tokio::test]
async fn a_patch_that_does_not_apply_is_repaired_on_the_second_try() {
    let wrong = FIX.replace("s.size * s.size", "s.size*s.size");
    let wrong = wrong.replace(" def area(s):\n", " def area(shape):\n");
    let mut h = builder()
        .script(Script::new(vec![
            Rule::custom_call("apply_patch", &wrong).turn(1),
            Rule::custom_call("apply_patch", FIX).turn(2),
        ]))
        .start()
        .await;
    run_fix(&mut h).await;
    let told = tool_output(&h, 1);
    assert!(told.starts_with("The patch did not apply:"), "{told}");
    // The nearest lines of the file, numbered, so the model can copy them.
    assert!(told.contains("     4\tdef area(s):"), "{told}");
    assert_eq!(
        input(&h, 1).last().unwrap()["type"],
        "custom_tool_call_output"
    );
    assert_each_request_extends_the_last(&h);
    assert!(h.messages().is_empty(), "{:?}", h.messages());
}

#[tokio::test]
async fn repairs_are_bounded_and_end_with_one_message() {
    let wrong = FIX.replace(" def area(s):\n", " def nowhere():\n");
    let mut h = builder()
        .rule(Rule::custom_call("apply_patch", &wrong))
        .setting("maxPatchRepairs", 1)
        .start()
        .await;
    let args = fix_args(&h);
    let response = h.run_action_with(args).await;
    assert_eq!(response["result"]["applied"], false, "{response}");
    assert_eq!(h.model_requests().len(), 2);
    let shown = h.wait_for_messages(1).await;
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert!(shown[0].contains("after 2 attempts"), "{shown:?}");
    h.assert_no_applied_edits().await;
}

#[tokio::test]
async fn when_the_tool_budget_is_spent_the_model_may_only_patch() {
    let mut h = builder()
        .script(Script::new(vec![
            Rule::custom_call("apply_patch", FIX)
                .matching(r#""tool_choice":{"type":"custom","name":"apply_patch"}"#),
            Rule::function_call("read_file", json!({"path": "shapes.py"})),
        ]))
        .setting("maxToolCalls", 2)
        .start()
        .await;
    run_fix(&mut h).await;
    let requests = h.model_requests();
    // Two reads, then the request that names apply_patch as the only choice.
    assert_eq!(requests.len(), 3, "{requests:?}");
    assert_eq!(requests[1].body["tool_choice"], "required");
    assert_eq!(
        requests[2].body["tool_choice"],
        json!({"type": "custom", "name": "apply_patch"})
    );
    assert_each_request_extends_the_last(&h);
}

#[tokio::test]
async fn encrypted_reasoning_is_replayed_without_ids() {
    let mut h = builder()
        .script(Script::new(vec![
            Rule::function_call("read_file", json!({"path": "shapes.py"}))
                .reasoning("Need the class first.")
                .turn(1),
            Rule::custom_call("apply_patch", FIX).turn(2),
        ]))
        .start()
        .await;
    run_fix(&mut h).await;
    let first = &h.model_requests()[0].body;
    assert_eq!(first["include"], json!(["reasoning.encrypted_content"]));
    let second = input(&h, 1);
    let reasoning = second
        .iter()
        .find(|i| i["type"] == "reasoning")
        .expect("the reasoning item is replayed");
    assert!(
        reasoning["encrypted_content"]
            .as_str()
            .unwrap()
            .starts_with("gAAAA"),
        "{reasoning}"
    );
    assert!(reasoning.get("id").is_none(), "{reasoning}");
    let call = second
        .iter()
        .find(|i| i["type"] == "function_call")
        .unwrap();
    assert!(
        call.get("id").is_none() && call["call_id"].is_string(),
        "{call}"
    );
}

#[tokio::test]
async fn function_mode_takes_the_patch_as_an_argument() {
    let mut h = builder()
        .script(Script::new(vec![Rule::function_call(
            "apply_patch",
            json!({"input": FIX}),
        )]))
        .setting("editTool", "function")
        .start()
        .await;
    run_fix(&mut h).await;
    let first = &h.model_requests()[0].body;
    let patch_tool = first["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "apply_patch")
        .unwrap();
    assert_eq!(patch_tool["type"], "function");
    assert!(first.get("include").is_none(), "{first}");
}

#[tokio::test]
async fn text_mode_sends_no_tools() {
    let mut h = builder()
        .reply(FIX)
        .setting("editTool", "text")
        .start()
        .await;
    run_fix(&mut h).await;
    let first = &h.model_requests()[0].body;
    assert!(
        first.get("tools").is_none() && first.get("tool_choice").is_none(),
        "{first}"
    );
    assert!(
        first["instructions"]
            .as_str()
            .unwrap()
            .contains("You cannot run commands or read other files")
    );
}

#[tokio::test]
async fn a_server_without_grammars_gets_function_tools_for_the_session() {
    let mut h = builder()
        .script(Script::new(vec![
            Rule::fault(Fault::Http400)
                .error_message("Invalid 'tools[3].type': unsupported tool type 'custom'.")
                .matching("\"type\":\"custom\""),
            Rule::function_call("apply_patch", json!({"input": FIX})),
        ]))
        .start()
        .await;
    for _ in 0..2 {
        let args = fix_args(&h);
        let response = h.run_action_with(args).await;
        assert_eq!(response["result"]["applied"], true, "{response}");
    }
    assert_eq!(h.applied_edits().len(), 2);
    let requests = h.model_requests();
    // One rejected request, then function tools, also for the next action.
    assert_eq!(requests.len(), 3, "{requests:?}");
    assert_eq!(requests[0].status, 400);
    for later in &requests[1..] {
        let tools = later.body["tools"].as_array().unwrap();
        assert!(tools.iter().all(|t| t["type"] == "function"), "{tools:?}");
    }
    assert!(h.messages().is_empty(), "{:?}", h.messages());
}

#[tokio::test]
async fn cancelling_during_a_later_turn_stops_at_once() {
    let mut h = builder()
        .script(Script::new(vec![
            Rule::function_call("read_file", json!({"path": "shapes.py"})).turn(1),
            Rule::fault(Fault::Hang).turn(2),
        ]))
        .start()
        .await;
    let args = fix_args(&h);
    let (id, pending) = h.send_run_action(args);
    h.wait_for_model_requests(2).await;
    h.notify("$/cancelRequest", json!({ "id": id }));
    let response = tokio::time::timeout(std::time::Duration::from_secs(10), pending)
        .await
        .unwrap()
        .unwrap();
    assert!(
        response.get("error").is_some() || response["result"]["applied"] == false,
        "{response}"
    );
    h.wait_for_disconnect().await;
    h.assert_no_applied_edits().await;
}

#[tokio::test]
async fn a_patch_may_update_a_file_the_model_read_with_a_null_version() {
    let both = "*** Begin Patch\n*** Update File: shapes.py\n@@\n class Square:\n     def __init__(self, side):\n         self.side = side\n+        self.size = side\n*** Update File: app.py\n@@\n def area(s):\n-    return s.size * s.size\n+    return s.size ** 2\n*** End Patch\n";
    let mut h = builder()
        .script(Script::new(vec![
            Rule::function_call("read_file", json!({"path": "shapes.py"})).turn(1),
            Rule::custom_call("apply_patch", both).turn(2),
        ]))
        .start()
        .await;
    run_fix_applied(&mut h).await;
    let edit = h.last_applied_edit();
    let changes = edit["documentChanges"].as_array().unwrap();
    assert_eq!(changes.len(), 2, "{edit}");
    let shapes = changes
        .iter()
        .find(|c| {
            c["textDocument"]["uri"]
                .as_str()
                .unwrap()
                .ends_with("/shapes.py")
        })
        .unwrap();
    // Not open in the editor: edited against the text read from disk.
    assert!(shapes["textDocument"]["version"].is_null(), "{shapes}");
    let app = changes
        .iter()
        .find(|c| {
            c["textDocument"]["uri"]
                .as_str()
                .unwrap()
                .ends_with("/app.py")
        })
        .unwrap();
    assert_eq!(app["textDocument"]["version"], 1, "{app}");
    // A multi-file edit is one to review (`confirmEdits: auto`); this client
    // cannot review, so it applied directly and was told so.
    let messages = h.settled_messages().await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(
        messages[0].starts_with("Codex: this editor cannot show an edit for review"),
        "{messages:?}"
    );
}

#[tokio::test]
async fn a_patch_into_git_or_an_excluded_file_is_refused_and_repaired() {
    let evil = "*** Begin Patch\n*** Update File: .git/config\n@@\n [core]\n+\tfsmonitor = \"touch /tmp/pwned\"\n*** End Patch\n";
    let mut h = builder()
        .disk_file(".git/config", "[core]\n\tbare = false\n")
        .script(Script::new(vec![
            Rule::custom_call("apply_patch", evil).turn(1),
            Rule::custom_call("apply_patch", FIX).turn(2),
        ]))
        .start()
        .await;
    run_fix(&mut h).await;
    let told = tool_output(&h, 1);
    assert!(told.contains(".git"), "{told}");
    let edit = h.last_applied_edit().to_string();
    assert!(
        !edit.contains(".git/config") && !edit.contains("fsmonitor"),
        "{edit}"
    );
}

/// The fix as one `update_file` operation of the built-in tool (a V4A
/// diff: the hunks of an `*** Update File:` section).
fn native_fix() -> Value {
    json!({"type": "update_file", "path": "app.py",
           "diff": "@@\n def area(s):\n-    return s.size * s.size\n+    return s.side * s.side\n"})
}

#[tokio::test]
async fn native_mode_edits_through_apply_patch_calls() {
    let mut h = builder()
        .script(Script::new(vec![
            Rule::function_call("read_file", json!({"path": "shapes.py"}))
                .reasoning("Need the class first.")
                .turn(1),
            Rule::apply_patch_call(native_fix()).turn(2),
        ]))
        .setting("editTool", "native")
        .start()
        .await;
    run_fix(&mut h).await;
    let requests = h.model_requests();
    assert_eq!(requests.len(), 2);
    let first = &requests[0].body;
    let tools = first["tools"].as_array().unwrap();
    // The built-in tool is named by its type alone; the read-only tools
    // stay functions.
    assert!(tools.contains(&json!({"type": "apply_patch"})), "{tools:?}");
    assert_eq!(
        tools.iter().filter(|t| t["type"] == "function").count(),
        3,
        "{tools:?}"
    );
    assert_eq!(first["include"], json!(["reasoning.encrypted_content"]));
    assert_each_request_extends_the_last(&h);
}

#[tokio::test]
async fn native_operations_of_one_response_apply_together_or_go_back_with_the_reason() {
    let wrong = json!({"type": "update_file", "path": "app.py",
                       "diff": "@@\n def nowhere():\n-    return s.size * s.size\n+    return s.side * s.side\n"});
    let shapes = json!({"type": "update_file", "path": "shapes.py",
                        "diff": "@@\n         self.side = side\n+        self.size = side\n"});
    let mut h = builder()
        .script(Script::new(vec![
            // Two operations, one of them wrong: neither applies.
            Rule::apply_patch_call(shapes.clone())
                .call(
                    codex_lsp_tests::script::CallKind::ApplyPatch,
                    "apply_patch",
                    &wrong.to_string(),
                )
                .turn(1),
            Rule::apply_patch_call(shapes)
                .call(
                    codex_lsp_tests::script::CallKind::ApplyPatch,
                    "apply_patch",
                    &native_fix().to_string(),
                )
                .turn(2),
        ]))
        .setting("editTool", "native")
        .start()
        .await;
    run_fix_applied(&mut h).await;
    // Each call of the first response is answered, as failed, with the
    // reason; the fake server refuses unpaired calls with a 400.
    let answers: Vec<Value> = input(&h, 1)
        .into_iter()
        .filter(|i| i["type"] == "apply_patch_call_output")
        .collect();
    assert_eq!(answers.len(), 2, "{answers:?}");
    for answer in &answers {
        assert_eq!(answer["status"], "failed", "{answer}");
        let told = answer["output"].as_str().unwrap();
        assert!(told.starts_with("The patch did not apply:"), "{told}");
        assert!(told.contains("def nowhere():"), "{told}");
    }
    // The replayed calls carry their operation and status, not their ids.
    let replayed: Vec<Value> = input(&h, 1)
        .into_iter()
        .filter(|i| i["type"] == "apply_patch_call")
        .collect();
    assert_eq!(replayed.len(), 2);
    for call in &replayed {
        assert!(call.get("id").is_none(), "{call}");
        assert_eq!(call["status"], "completed", "{call}");
        assert!(call["operation"]["diff"].is_string(), "{call}");
    }
    assert_each_request_extends_the_last(&h);
    // The second response's two operations became one edit of both files.
    let edit = h.last_applied_edit();
    assert_eq!(
        edit["documentChanges"].as_array().unwrap().len(),
        2,
        "{edit}"
    );
    // A multi-file edit this client cannot review applied directly, said once.
    let messages = h.wait_for_messages(1).await;
    assert!(
        messages[0].starts_with("Codex: this editor cannot show an edit for review"),
        "{messages:?}"
    );
}

#[tokio::test]
async fn a_native_operation_that_smuggles_another_file_is_refused() {
    let smuggled = json!({"type": "update_file", "path": "app.py",
                          "diff": "@@\n def area(s):\n-    return s.size * s.size\n+    return s.side * s.side\n*** Update File: shapes.py\n@@\n-class Square:\n+class Evil:\n"});
    let newline_path = json!({"type": "update_file", "path": "app.py\n*** Add File: evil.py",
                              "diff": "@@\n def area(s):\n"});
    let mut h = builder()
        .script(Script::new(vec![
            Rule::apply_patch_call(smuggled).turn(1),
            Rule::apply_patch_call(newline_path).turn(2),
            Rule::apply_patch_call(native_fix()).turn(3),
        ]))
        .setting("editTool", "native")
        .start()
        .await;
    run_fix(&mut h).await;
    let first = tool_output_of(&h, 1, "apply_patch_call_output");
    assert!(first.contains("one call edits one file"), "{first}");
    let second = tool_output_of(&h, 2, "apply_patch_call_output");
    assert!(second.contains("is not a file path"), "{second}");
    assert!(!h.last_applied_edit().to_string().contains("Evil"));
}

#[tokio::test]
async fn a_server_without_the_built_in_tool_gets_the_grammar_tool() {
    let mut h = builder()
        .script(Script::new(vec![
            Rule::fault(Fault::Http400)
                .error_message("Invalid value: 'apply_patch'. Supported tool types are 'function' and 'custom'.")
                .matching("\"type\":\"apply_patch\""),
            Rule::custom_call("apply_patch", FIX),
        ]))
        .setting("editTool", "native")
        .start()
        .await;
    run_fix(&mut h).await;
    let requests = h.model_requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert_eq!(requests[0].status, 400);
    let patch_tool = requests[1].body["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "apply_patch")
        .cloned()
        .unwrap();
    assert_eq!(patch_tool["type"], "custom", "{patch_tool}");
}

/// The `output` of the last item of `kind` in request `n`'s input.
fn tool_output_of(h: &TestServer, n: usize, kind: &str) -> String {
    input(h, n)
        .iter()
        .rev()
        .find(|i| i["type"] == kind)
        .map(|i| i["output"].as_str().unwrap_or_default().to_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn the_explain_command_may_read_another_file_and_hovers_send_no_tools() {
    const HOVERED: &str = "Computes the area of a square.";
    const EXPLAINED: &str = "Squares the side of a `Square` (its attribute is `side`).";
    let mut h = builder().reply(HOVERED).start().await;
    // A hover is one request without tools.
    let hovered = h.hover(3, 5).await;
    assert!(hovered.to_string().contains(HOVERED), "{hovered}");
    let hover_request = h.model_requests()[0].body.clone();
    assert!(hover_request.get("tools").is_none(), "{hover_request}");

    // The command on a selection may read the workspace first.
    h.set_script(Script::new(vec![
        Rule::function_call("read_file", json!({"path": "shapes.py"})).turn(1),
        Rule::reply(EXPLAINED).turn(2),
    ]));
    let uri = h.uri();
    let explained = h.explain(&uri, range(4, 4, 4, 28)).await;
    assert_eq!(explained["result"]["markdown"], EXPLAINED, "{explained}");
    let requests = h.model_requests();
    assert_eq!(requests.len(), 3, "{requests:?}");
    let (first, second) = (&requests[1].body, &requests[2].body);
    let names: Vec<&str> = first["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    // Read-only tools only: an explanation never patches.
    assert_eq!(names, ["read_file", "search", "list_files"]);
    assert_eq!(first["tool_choice"], "auto");
    assert!(tool_output(&h, 2).contains("self.side = side"));
    let (a, b) = (
        first["input"].as_array().unwrap(),
        second["input"].as_array().unwrap(),
    );
    assert_eq!(
        &b[..a.len()],
        &a[..],
        "the second input does not extend the first"
    );
    assert_eq!(first["tools"], second["tools"]);
    assert_eq!(h.shown_documents().len(), 1, "the explanation view");
}
