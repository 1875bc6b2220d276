//! The workspace policy end to end (issue 13): document identity and
//! generations, multi-root folders, files outside every folder, what may be
//! read for the model (AGENTS.md through links, FIFOs, devices, huge files,
//! exclusions by case, location and link target) and what the model's patch
//! may write (`.git/`, excluded files).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Duration;

use codex_lsp_tests::Rule;
use codex_lsp_tests::harness::{TestServer, file_uri, range};
use serde_json::{Value, json};

const UTIL: &str = "def add(a, b):\n    return a+b\n";
const UTIL_PATCH: &str = "*** Begin Patch\n*** Update File: util.py\n@@\n def add(a, b):\n-    return a+b\n+    return a + b\n*** End Patch\n";

/// Everything the fake model server received, as one string.
fn everything_sent(h: &TestServer) -> String {
    serde_json::to_string(&h.model_requests()).unwrap()
}

/// `codex.runAction` simplify on line 1 of `uri`.
async fn simplify(h: &mut TestServer, uri: &str) -> Value {
    h.run_action_with(json!({
        "action": "simplify",
        "textDocument": { "uri": uri },
        "range": range(1, 4, 1, 4)
    }))
    .await
}

/// The text edits for `uri` in a `documentChanges` edit, and their version.
fn edits_for(edit: &Value, uri: &str) -> Option<(Value, Vec<Value>)> {
    edit["documentChanges"]
        .as_array()?
        .iter()
        .find(|c| c["textDocument"]["uri"] == uri)
        .map(|c| {
            (
                c["textDocument"]["version"].clone(),
                c["edits"].as_array().cloned().unwrap_or_default(),
            )
        })
}

/// Every URI a `documentChanges` edit touches.
fn touched(edit: &Value) -> Vec<String> {
    edit["documentChanges"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| {
            c["textDocument"]["uri"]
                .as_str()
                .or(c["uri"].as_str())
                .map(str::to_owned)
        })
        .collect()
}

// Defect 1: a document closed and reopened (or opened again) while the
// model works never receives the edit computed for the earlier open.
#[tokio::test]
async fn a_reopened_document_never_receives_the_old_edit() {
    for close_first in [true, false] {
        let mut h = TestServer::builder()
            .file_as("util.py", "python", UTIL)
            .rule(Rule::reply(UTIL_PATCH).delay_ms(1500))
            .start()
            .await;
        let args = h.run_args("simplify", range(1, 4, 1, 4));
        let (_, pending) = h.send_run_action(args);
        h.wait_for_model_requests(1).await;
        let uri = h.uri();
        if close_first {
            h.notify(
                "textDocument/didClose",
                json!({ "textDocument": { "uri": uri } }),
            );
        }
        // After `git checkout`: same file, other text, version restarts.
        h.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": uri, "languageId": "python", "version": 1,
                                      "text": "# another branch\ndef add(a, b):\n    return a+b\n" } }),
        );
        let response = tokio::time::timeout(Duration::from_secs(20), pending)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            response["result"]["applied"], false,
            "close first: {close_first}: {response}"
        );
        if close_first {
            // Closing cancelled the call, which is no failure to show
            // (issue 14, defect 7), whatever was opened after.
            let message = response["result"]["message"].as_str().unwrap_or_default();
            assert!(message.contains("closed"), "{response}");
            assert_eq!(h.settled_messages().await, Vec::<String>::new());
        } else {
            let shown = h.wait_for_message("reopened").await;
            assert_eq!(shown.len(), 1, "{shown:?}");
        }
        h.assert_no_applied_edits().await;
    }
}

// Defect 2: a second open document whose URI the client spells without
// percent-encoding (`@`) is edited in its buffer, with its version.
#[tokio::test]
async fn an_open_document_spelled_differently_is_edited_in_its_buffer() {
    let patch = "*** Begin Patch\n*** Update File: src/main.py\n@@\n def main():\n-    pass\n+    return x.add(1, 2)\n*** Update File: packages/@acme/x.py\n@@\n def add(a, b):\n-    return a+b\n+    return a + b\n*** End Patch\n";
    let on_disk = "def add(a, b):\n    return a+b\n";
    let in_buffer = "# unsaved\ndef add(a, b):\n    return a+b\n";
    let mut h = TestServer::builder()
        .file_as("src/main.py", "python", "def main():\n    pass\n")
        .disk_file("packages/@acme/x.py", on_disk)
        .reply(patch)
        // A multi-file edit, applied directly (this client cannot review;
        // tests/tests/confirm.rs covers what it is told then).
        .setting("confirmEdits", "never")
        .start()
        .await;
    // Neovim and eglot leave `@` unescaped; the server's own spelling is
    // `%40`.
    let raw_uri = format!("file://{}", h.path("packages/@acme/x.py").display());
    assert!(raw_uri.contains("/@acme/"));
    h.notify(
        "textDocument/didOpen",
        json!({ "textDocument": { "uri": raw_uri, "languageId": "python", "version": 7, "text": in_buffer } }),
    );
    let uri = h.uri();
    let response = simplify(&mut h, &uri).await;
    assert_eq!(response["result"]["applied"], true, "{response}");
    let edit = h.last_applied_edit();
    let (version, edits) = edits_for(&edit, &raw_uri)
        .unwrap_or_else(|| panic!("no edit for the open buffer as the client named it: {edit}"));
    assert_eq!(version, json!(7), "the buffer's version, not null: {edit}");
    let encoding = h.encoding().to_owned();
    let edited = codex_lsp_tests::lsp_client::apply_lsp_edits(in_buffer, &edits, &encoding);
    assert_eq!(edited, "# unsaved\ndef add(a, b):\n    return a + b\n");
}

// Defect 3: whatever the model proposes, nothing is written under `.git/`
// or to an excluded file.
#[tokio::test]
async fn the_model_cannot_write_into_git_or_excluded_files() {
    let cases = [
        (
            ".git/config",
            "[core]\n\tbare = false\n",
            "*** Begin Patch\n*** Update File: util.py\n@@\n def add(a, b):\n-    return a+b\n+    return a + b\n*** Update File: .git/config\n@@\n [core]\n \tbare = false\n+\tfsmonitor = \"touch /tmp/pwned\"\n*** End Patch\n",
        ),
        (
            ".env",
            "TOKEN=1\n",
            "*** Begin Patch\n*** Update File: .env\n@@\n-TOKEN=1\n+TOKEN=2\n*** End Patch\n",
        ),
        (
            ".git/hooks/post-checkout",
            "",
            "*** Begin Patch\n*** Add File: .git/hooks/post-checkout\n+#!/bin/sh\n+touch /tmp/pwned\n*** End Patch\n",
        ),
    ];
    for (path, contents, patch) in cases {
        let mut builder = TestServer::builder()
            .file_as("util.py", "python", UTIL)
            .reply(patch);
        if !contents.is_empty() {
            builder = builder.disk_file(path, contents);
        }
        let mut h = builder.start().await;
        let uri = h.uri();
        let response = simplify(&mut h, &uri).await;
        assert_eq!(response["result"]["applied"], false, "{path}: {response}");
        let shown = h.wait_for_messages(1).await;
        assert!(
            shown[0].contains(".git") || shown[0].contains("excluded"),
            "{path}: {shown:?}"
        );
        h.assert_no_applied_edits().await;
    }
}

/// Writes `AGENTS.md` as a symbolic link to `to`.
fn link_agents(h: &TestServer, dir: &str, to: &Path) {
    let link = h.path(dir).join("AGENTS.md");
    std::fs::create_dir_all(link.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(to, link).unwrap();
}

// Defects 4 and 7: AGENTS.md linked to the server's own stdin, to a FIFO
// or out of the workspace is not read; the hover answers and the server
// keeps serving.
#[tokio::test]
async fn agents_md_through_stdin_fifos_or_links_out_is_never_read() {
    let mut h = TestServer::builder()
        .file_as("a/util.py", "python", UTIL)
        .reply("**Adds two numbers.**")
        .start()
        .await;
    let outside = h.temp_dir().join("outside/config");
    std::fs::create_dir_all(outside.parent().unwrap()).unwrap();
    std::fs::write(&outside, "aws_secret_access_key = OUTSIDE-SECRET\n").unwrap();
    link_agents(&h, "", Path::new("/dev/stdin"));
    link_agents(&h, "a", &outside);
    let fifo = h.path("a/b/AGENTS.md");
    std::fs::create_dir_all(fifo.parent().unwrap()).unwrap();
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo");
    let nested = h.open("a/b/deep.py", "python", UTIL);

    for uri in [h.uri(), nested] {
        let hover = tokio::time::timeout(Duration::from_secs(20), h.hover_in(&uri, 1, 4))
            .await
            .expect("the hover answers");
        assert!(
            hover["result"]["contents"]["value"]
                .as_str()
                .is_some_and(|v| v.contains("Adds two numbers")),
            "{hover}"
        );
    }
    let sent = everything_sent(&h);
    assert!(
        !sent.contains("OUTSIDE-SECRET"),
        "a link out of the workspace was followed"
    );
    assert!(
        !sent.contains("<agents_md"),
        "no AGENTS.md was usable: {sent}"
    );
    // The server still answers: it never read its own input.
    let listed = h.list_actions(range(1, 4, 1, 4)).await;
    assert!(!listed.is_empty());
}

// Defect 10: a huge AGENTS.md is read only up to the cap, and the model is
// told it was cut.
#[tokio::test]
async fn a_huge_agents_md_is_read_up_to_the_cap_and_marked_truncated() {
    let huge = "Use four spaces.\n".repeat(200_000); // 3.4 MB
    let mut h = TestServer::builder()
        .disk_file("AGENTS.md", huge)
        .file_as("util.py", "python", UTIL)
        .reply("**Adds.**")
        .start()
        .await;
    h.hover(1, 4).await;
    let requests = h.model_requests();
    assert_eq!(requests.len(), 1);
    let input = serde_json::to_string(&requests[0].body["input"]).unwrap();
    let sent_rules = input.matches("Use four spaces.").count();
    assert!(
        sent_rules > 0 && sent_rules * 17 <= 32 * 1024,
        "{sent_rules} lines of AGENTS.md sent"
    );
    assert!(
        input.contains("truncated"),
        "the model is told AGENTS.md was cut"
    );
}

// Defect 16: AGENTS.md is not sent when `exclude` names it.
#[tokio::test]
async fn an_excluded_agents_md_is_not_sent() {
    let mut h = TestServer::builder()
        .disk_file("AGENTS.md", "PRIVATE-PROJECT-RULE\n")
        .file_as("util.py", "python", UTIL)
        .setting("exclude", json!(["AGENTS.md"]))
        .reply("**Adds.**")
        .start()
        .await;
    h.hover(1, 4).await;
    assert_eq!(h.model_requests().len(), 1);
    assert!(!everything_sent(&h).contains("PRIVATE-PROJECT-RULE"));
}

// Defect 5: in a multi-root workspace an action on the second folder's
// `util.py` edits that file, not the first folder's namesake; folders
// added later count.
#[tokio::test]
async fn an_action_in_the_second_folder_edits_that_folder() {
    let mut h = TestServer::builder()
        .disk_file("util.py", UTIL)
        .reply(UTIL_PATCH)
        .start()
        .await;
    let backend = h.temp_dir().join("backend");
    std::fs::create_dir_all(&backend).unwrap();
    std::fs::write(backend.join("util.py"), UTIL).unwrap();
    h.notify(
        "workspace/didChangeWorkspaceFolders",
        json!({ "event": { "added": [{ "uri": file_uri(&backend), "name": "backend" }], "removed": [] } }),
    );
    let uri = file_uri(&backend.join("util.py"));
    h.notify(
        "textDocument/didOpen",
        json!({ "textDocument": { "uri": uri, "languageId": "python", "version": 1, "text": UTIL } }),
    );
    let response = simplify(&mut h, &uri).await;
    assert_eq!(response["result"]["applied"], true, "{response}");
    let edit = h.last_applied_edit();
    assert_eq!(touched(&edit), vec![uri], "{edit}");
}

// Defect 5, second half: a file outside every folder (a library opened by
// go-to-definition, ~/notes) can be edited, and only it.
#[tokio::test]
async fn a_file_outside_every_folder_can_be_edited() {
    let mut h = TestServer::builder()
        .file_as("src/main.py", "python", "def main():\n    pass\n")
        .reply(UTIL_PATCH)
        .start()
        .await;
    let notes = h.temp_dir().join("notes/util.py");
    std::fs::create_dir_all(notes.parent().unwrap()).unwrap();
    std::fs::write(&notes, UTIL).unwrap();
    let uri = file_uri(&notes);
    h.notify(
        "textDocument/didOpen",
        json!({ "textDocument": { "uri": uri, "languageId": "python", "version": 1, "text": UTIL } }),
    );
    let response = simplify(&mut h, &uri).await;
    assert_eq!(response["result"]["applied"], true, "{response}");
    assert_eq!(touched(&h.last_applied_edit()), vec![uri]);
}

// Defect 6: directory exclusions cover files outside the folders.
#[tokio::test]
async fn directory_exclusions_cover_files_outside_the_folders() {
    let mut h = TestServer::builder()
        .file_as("src/main.py", "python", "def main():\n    pass\n")
        .reply("**Explained.**")
        .start()
        .await;
    let config = h.temp_dir().join("home/.ssh/config");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    let text = "Host prod\n    IdentityFile ~/.ssh/prod\n";
    std::fs::write(&config, text).unwrap();
    let uri = file_uri(&config);
    h.notify(
        "textDocument/didOpen",
        json!({ "textDocument": { "uri": uri, "languageId": "sshconfig", "version": 1, "text": text } }),
    );
    let listed = h
        .list_actions_in(&uri, range(1, 4, 1, 4), json!({ "diagnostics": [] }))
        .await;
    assert!(listed.is_empty(), "{listed:?}");
    h.hover_in(&uri, 1, 4).await;
    h.explain(&uri, range(0, 0, 1, 0)).await;
    h.settled_messages().await;
    assert!(h.model_requests().is_empty(), "{}", everything_sent(&h));
}

// Defect 27: a document opened through a link is judged by where it leads.
#[tokio::test]
async fn a_document_opened_through_a_link_is_judged_by_its_target() {
    let mut h = TestServer::builder()
        .disk_file(".env", "TOKEN=very-secret\n")
        .reply("**Explained.**")
        .start()
        .await;
    let link = h.path("notes.txt");
    std::os::unix::fs::symlink(h.path(".env"), &link).unwrap();
    let uri = file_uri(&link);
    h.notify(
        "textDocument/didOpen",
        json!({ "textDocument": { "uri": uri, "languageId": "plaintext", "version": 1, "text": "TOKEN=very-secret\n" } }),
    );
    let listed = h
        .list_actions_in(&uri, range(0, 0, 0, 0), json!({ "diagnostics": [] }))
        .await;
    assert!(listed.is_empty(), "{listed:?}");
    h.hover_in(&uri, 0, 2).await;
    h.settled_messages().await;
    assert!(!everything_sent(&h).contains("very-secret"));
}

// Defect 12: an unsaved `untitled:` buffer can be edited with a folder open.
#[tokio::test]
async fn an_untitled_buffer_can_be_edited_with_a_folder_open() {
    let patch = "*** Begin Patch\n*** Update File: Untitled-1\n@@\n def add(a, b):\n-    return a+b\n+    return a + b\n*** End Patch\n";
    let mut h = TestServer::builder()
        .file_as("src/main.py", "python", "def main():\n    pass\n")
        .reply(patch)
        .start()
        .await;
    let uri = "untitled:Untitled-1";
    h.notify(
        "textDocument/didOpen",
        json!({ "textDocument": { "uri": uri, "languageId": "python", "version": 1, "text": UTIL } }),
    );
    let response = simplify(&mut h, uri).await;
    assert_eq!(response["result"]["applied"], true, "{response}");
    assert_eq!(touched(&h.last_applied_edit()), vec![uri.to_owned()]);
}

/// The `<task>` part of the prompt of the model request `n`.
fn task_of(h: &TestServer, n: usize) -> String {
    let input = serde_json::to_string(&h.model_requests()[n].body["input"]).unwrap();
    let start = input.find("<task>").unwrap();
    let end = input.find("Action:").unwrap();
    input[start..end].to_owned()
}

// Defect 17: an action picked after lines were inserted above it (an
// auto-import, a formatter) works on the code it was listed for; when the
// code itself changed, it is refused.
#[tokio::test]
async fn an_action_listed_before_an_insertion_above_works_on_its_own_function() {
    const TWO: &str = "def a():\n    return 1\n\ndef b():\n    return 2\n";
    let patch = "*** Begin Patch\n*** Update File: two.py\n@@\n def b():\n-    return 2\n+    return 20\n*** End Patch\n";
    let mut h = TestServer::builder()
        .file_as("two.py", "python", TWO)
        .reply(patch)
        .start()
        .await;
    // Listed with the cursor in `b` (line 4) at version 1.
    let simplify = h.action(range(4, 4, 4, 4), "Codex: Simplify").await;
    let args = simplify["command"]["arguments"][0].clone();
    assert_eq!(args["version"], 1, "{simplify}");
    // Three imports inserted at the top: line 4 is now in `a`.
    h.did_change(2, range(0, 0, 0, 0), "import os\nimport re\nimport sys\n");
    let response = h.run_action_with(args.clone()).await;
    assert_eq!(response["result"]["applied"], true, "{response}");
    let task = task_of(&h, 0);
    assert!(
        task.contains("def b()") && !task.contains("def a()"),
        "{task}"
    );
    h.last_applied_edit();

    // Now the selected code itself changes before the action runs.
    let simplify = h.action(range(6, 0, 7, 12), "Codex: Simplify").await;
    let args = simplify["command"]["arguments"][0].clone();
    h.did_change(3, range(7, 11, 7, 12), "30");
    let response = h.run_action_with(args).await;
    assert_eq!(response["result"]["applied"], false, "{response}");
    let shown = h.wait_for_message("changed").await;
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert_eq!(
        h.model_requests().len(),
        1,
        "refused before the model is asked"
    );
}

// Defect 20: a quick fix's related locations are named as the prompt names
// files (folder-relative; only the file name outside every folder), with
// columns in characters, never the client's raw UTF-16 offset.
#[tokio::test]
async fn related_locations_are_relative_and_count_characters() {
    let patch = "*** Begin Patch\n*** Update File: util.py\n@@\n def add(a, b):\n-    return a+b\n+    return a + b\n*** End Patch\n";
    let mut h = TestServer::builder()
        .file_as("util.py", "python", UTIL)
        .file_as("types.py", "python", "s = \"😀😀\"; Foo = 1\n")
        .reply(patch)
        .start()
        .await;
    let outside = file_uri(&h.temp_dir().join("site/lib.py"));
    // `Foo` is at character 12 (UTF-16 column 14: each emoji is two units).
    let diagnostic = json!({
        "range": range(1, 11, 1, 12), "severity": 1, "message": "unsupported operand",
        "relatedInformation": [
            { "location": { "uri": h.uri_of("types.py"), "range": range(0, 14, 0, 17) }, "message": "Foo defined here" },
            { "location": { "uri": outside, "range": range(4, 2, 4, 5) }, "message": "library code" }
        ]
    });
    let mut args = h.run_args("fix", range(1, 11, 1, 12));
    args["diagnostic"] = diagnostic;
    let response = h.run_action_with(args).await;
    assert_eq!(response["result"]["applied"], true, "{response}");
    h.last_applied_edit();
    let input = serde_json::to_string(&h.model_requests()[0].body["input"]).unwrap();
    assert!(input.contains("types.py:1:13"), "{input}");
    assert!(input.contains("lib.py:5"), "{input}");
    let temp = h.temp_dir().display().to_string();
    assert!(!input.contains(&temp), "an absolute path was sent: {input}");
}

// Defect 8: the user retypes a value on the very line the model rewrites
// while it works: the rebase refuses instead of merging both into one
// token (`retries = 10` -> the user's `20`, the model's `100`: never `200`).
#[tokio::test]
async fn typing_on_a_line_the_model_rewrites_is_a_conflict() {
    const CONFIG: &str = "def config():\n    retries = 10\n    return retries\n";
    let patch = "*** Begin Patch\n*** Update File: config.py\n@@\n def config():\n-    retries = 10\n+    retries = 100\n     return retries\n*** End Patch\n";
    let mut h = TestServer::builder()
        .file_as("config.py", "python", CONFIG)
        .rule(Rule::reply(patch).delay_ms(1500))
        .start()
        .await;
    let args = h.run_args("simplify", range(1, 4, 1, 4));
    let (_, pending) = h.send_run_action(args);
    h.wait_for_model_requests(1).await;
    // The user changes `1` of `10` into `2`.
    h.did_change(2, range(1, 14, 1, 15), "2");
    let response = tokio::time::timeout(Duration::from_secs(20), pending)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(response["result"]["applied"], false, "{response}");
    let shown = h.wait_for_message("changed").await;
    assert_eq!(shown.len(), 1, "{shown:?}");
    h.assert_no_applied_edits().await;
}
