//! Security end to end: the API key never appears in logs (at `trace`),
//! progress, messages or request bodies; excluded files are never sent;
//! secrets in sent text are redacted; patch paths outside the workspace
//! (`..`, absolute, symbolic links) are refused; nothing executes or writes
//! model output on its own.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::path::Path;

use codex_lsp_tests::assert_json_snapshot;
use codex_lsp_tests::harness::{TestServer, file_uri, range};
use codex_lsp_tests::{Fault, Rule, Script};
use serde_json::{Value, json};

const KEY: &str = "sk-proj-SECURITYtestKEYq7Zx0123456789abcdefXYZ";
const SOURCE: &str = "fn add(a: i32, b: i32) -> i32 {\n    a+b\n}\n";
const PATCH: &str = "*** Begin Patch\n*** Update File: src/lib.rs\n@@\n fn add(a: i32, b: i32) -> i32 {\n-    a+b\n+    a + b\n }\n*** End Patch\n";

/// The harness defaults (command path, `documentChanges` with `create`,
/// progress, `showDocument`), the key, `src/lib.rs` open. The workspace is
/// `<tmp>/ws`, so `<tmp>/outside` is outside it.
async fn start(script: Script, options: Value, env: &[(&str, &str)]) -> TestServer {
    let mut builder = TestServer::builder()
        .api_key(KEY)
        .file("src/lib.rs", SOURCE)
        .script(script)
        .settings(options);
    for (key, value) in env {
        builder = builder.env(key, value);
    }
    builder.start().await
}

async fn run(h: &mut TestServer, uri: &str, args: Value) -> Value {
    let mut args = args;
    args["textDocument"] = json!({ "uri": uri });
    h.run_action_with(args).await
}

async fn simplify(h: &mut TestServer, uri: &str) -> Value {
    run(
        h,
        uri,
        json!({ "action": "simplify", "range": range(1, 4, 1, 4) }),
    )
    .await
}

/// Everything the fake received, bodies and headers, as one string.
fn everything_sent(h: &TestServer) -> String {
    serde_json::to_string(&h.model_requests()).unwrap()
}

#[tokio::test]
async fn the_api_key_never_appears_in_logs_progress_messages_or_bodies() {
    let mut h = start(
        Script::reply(PATCH),
        json!({}),
        &[("CODEX_LSP_LOG", "trace")],
    )
    .await;
    let main_uri = h.uri();
    let mut responses = Vec::new();
    // A successful action with progress, a hover, the explain command.
    responses.push(simplify(&mut h, &main_uri).await);
    h.set_script(Script::reply("**Adds.**"));
    responses.push(h.hover(1, 4).await);
    responses.push(h.explain(&main_uri, range(0, 0, 2, 1)).await);
    // Failures whose server messages echo the key (as some servers do).
    for fault in [Fault::ErrorEvent, Fault::ResponseFailed] {
        let mut rule = Rule::fault(fault);
        rule.error_message = Some(format!("Incorrect API key provided: {KEY}."));
        rule.error_code = Some("invalid_api_key".to_owned());
        h.set_script(Script::new(vec![rule]));
        responses.push(simplify(&mut h, &main_uri).await);
    }
    h.set_script(Script::new(vec![Rule::fault(Fault::Http401)]));
    responses.push(simplify(&mut h, &main_uri).await);
    // One message per failure.
    let shown = h.wait_for_messages(3).await;
    assert_eq!(shown.len(), 3, "{shown:?}");
    // Everything the editor received is scanned below.
    let notifications = serde_json::to_string(&h.all_notifications()).unwrap();
    let server_requests = serde_json::to_string(&h.all_server_requests()).unwrap();
    let answers = serde_json::to_string(&responses).unwrap();
    let sent = everything_sent(&h);
    let requests = h.model_requests();
    assert!(requests.len() >= 5, "{}", requests.len());
    for r in &requests {
        assert_eq!(
            r.headers.get("authorization").map(String::as_str),
            Some("[redacted]"),
            "the key travels in the auth header only"
        );
    }
    let (code, logs) = h.shutdown_keep_logs().await;
    assert_eq!(code, Some(0));
    assert!(
        logs.contains("TRACE") && logs.contains("model request body"),
        "trace logging was not active"
    );
    assert!(
        notifications.contains("$/progress") && notifications.contains("showMessage"),
        "{notifications}"
    );
    let tail = &KEY["sk-proj-".len()..];
    for (name, text) in [
        ("stderr log", &logs),
        ("notifications (progress, status, messages)", &notifications),
        ("requests to the editor", &server_requests),
        ("responses", &answers),
        ("request bodies", &sent),
    ] {
        assert!(!text.contains(KEY), "the key appears in the {name}");
        assert!(
            !text.contains(tail),
            "most of the key appears in the {name}"
        );
    }
    println!(
        "scanned {} bytes of trace logs, {} of notifications, {} model requests: no key",
        logs.len(),
        notifications.len(),
        requests.len()
    );
}

#[tokio::test]
async fn excluded_files_are_never_sent() {
    let mut h = start(
        Script::reply(PATCH),
        json!({ "includeOpenDocuments": true,
                "exclude": [".env", "*.pem", "credentials.json", "private/**"] }),
        &[],
    )
    .await;
    let main_uri = h.uri();
    let files = [
        (".env", "OPENAI_API_KEY=marker-dotenv-1f3a\n"),
        ("certs/server.pem", "marker-pem-77c2\n"),
        (
            "config/credentials.json",
            "{\"marker\": \"marker-creds-9d0e\"}\n",
        ),
        ("private/notes.rs", "// marker-private-4b1c\nfn x() {}\n"),
    ];
    let mut uris = Vec::new();
    for (path, text) in files {
        let full = h.root().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(&full, text).unwrap();
        let uri = file_uri(&full);
        h.client().did_open(&uri, "plaintext", 1, text);
        uris.push(uri);
    }
    for uri in &uris {
        let list = h
            .list_actions_in(uri, range(0, 0, 0, 0), json!({ "diagnostics": [] }))
            .await;
        assert!(list.is_empty(), "{uri}: actions offered: {list:?}");
        let response = run(
            &mut h,
            uri,
            json!({ "action": "simplify", "range": range(0, 0, 0, 0) }),
        )
        .await;
        assert_eq!(response["result"]["applied"], false, "{response}");
        let hover = h.hover_in(uri, 0, 1).await;
        assert!(hover.get("result").is_some(), "{hover}");
        let explain = h.explain(uri, range(0, 0, 0, 5)).await;
        assert!(explain.get("result").is_some(), "{explain}");
    }
    assert!(h.model_requests().is_empty(), "{}", everything_sent(&h));
    // An action on an ordinary file, with every other open document allowed
    // as context: the excluded ones stay out.
    let response = simplify(&mut h, &main_uri).await;
    assert_eq!(response["result"]["applied"], true, "{response}");
    assert_eq!(h.applied_text(SOURCE), SOURCE.replace("a+b", "a + b"));
    // The action and the explain command on each excluded file said why,
    // naming the pattern.
    let shown = h.messages();
    assert_json_snapshot!(h, "exclusion_messages", shown);
    let sent = everything_sent(&h);
    assert_eq!(h.model_requests().len(), 1);
    for marker in [
        "marker-dotenv-1f3a",
        "marker-pem-77c2",
        "marker-creds-9d0e",
        "marker-private-4b1c",
    ] {
        assert!(!sent.contains(marker), "{marker} was sent: {sent}");
    }
}

#[tokio::test]
async fn secrets_in_sent_text_are_redacted() {
    let openai = "sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789";
    let aws = "AKIAIOSFODNN7EXAMPLE";
    let pem_body = "MIIEowIBAAKCAQEA7bqSeCrEtBoDyLine0123456789abcdef";
    let password = "hunter2hunter2x";
    let config = format!(
        "const OPENAI: &str = \"{openai}\";\nconst AWS_ID: &str = \"{aws}\";\n\
         const PEM: &str = \"-----BEGIN RSA PRIVATE KEY-----\n{pem_body}\n-----END RSA PRIVATE KEY-----\";\n\
         // DB_PASSWORD={password}\n\
         fn connect() -> bool {{\n    true\n}}\n"
    );
    let mut h = start(
        Script::reply("Connects."),
        json!({ "includeOpenDocuments": true }),
        &[],
    )
    .await;
    let main_uri = h.uri();
    let path = h.root().join("src/config.rs");
    std::fs::write(&path, &config).unwrap();
    let uri = file_uri(&path);
    h.client().did_open(&uri, "rust", 1, &config);
    // An action, a hover, a fix whose diagnostic quotes a secret, and a
    // rewrite whose instruction contains one.
    let _ = run(
        &mut h,
        &uri,
        json!({ "action": "simplify", "range": range(6, 4, 6, 4) }),
    )
    .await;
    let _ = h.hover_in(&uri, 6, 4).await;
    let _ = run(
        &mut h,
        &uri,
        json!({ "action": "fix", "range": range(0, 0, 0, 5),
                "diagnostic": { "range": range(0, 0, 0, 5), "message": format!("hard-coded key {openai}") } }),
    )
    .await;
    let _ = run(
        &mut h,
        &main_uri,
        json!({ "action": "rewrite", "range": range(1, 4, 1, 4), "instruction": format!("use the key {openai} and {aws}") }),
    )
    .await;
    let sent = everything_sent(&h);
    assert!(
        h.model_requests().len() >= 4,
        "{}",
        h.model_requests().len()
    );
    for secret in [openai, aws, pem_body, password] {
        assert!(!sent.contains(secret), "`{secret}` was sent");
    }
    assert!(sent.contains("[REDACTED:"), "no placeholder in {sent}");
    // A reply that would write a placeholder back over the secret is refused.
    h.set_script(Script::reply(format!(
        "*** Begin Patch\n*** Update File: src/config.rs\n@@\n-const OPENAI: &str = \"{openai}\";\n+const OPENAI: &str = \"[REDACTED:openai-key]\";\n*** End Patch\n"
    )));
    let applied_before = h.applied_edits().len();
    let response = run(
        &mut h,
        &uri,
        json!({ "action": "simplify", "range": range(0, 0, 0, 5) }),
    )
    .await;
    assert_eq!(response["result"]["applied"], false, "{response}");
    assert_eq!(h.applied_edits().len(), applied_before);
    // Nothing was applied at all; each action said why once.
    assert_eq!(applied_before, 0);
    let shown = h.messages();
    assert_json_snapshot!(h, "redaction_messages", shown);
}

#[tokio::test]
async fn patch_paths_outside_the_workspace_are_refused() {
    let mut h = start(Script::reply(PATCH), json!({}), &[]).await;
    let main_uri = h.uri();
    let outside = h.temp_dir().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let target = outside.join("target.rs");
    std::fs::write(&target, "fn target() {}\n").unwrap();
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(&target, h.root().join("src/link.rs")).unwrap();
        std::os::unix::fs::symlink(&outside, h.root().join("linkdir")).unwrap();
    }
    let abs_target = target.display().to_string();
    let abs_new = outside.join("new.rs").display().to_string();
    let update = |path: &str| {
        format!(
            "*** Begin Patch\n*** Update File: {path}\n@@\n-fn target() {{}}\n+fn target() {{ evil() }}\n*** End Patch\n"
        )
    };
    let add = |path: &str| {
        format!("*** Begin Patch\n*** Add File: {path}\n+fn evil() {{}}\n*** End Patch\n")
    };
    let mut replies = vec![
        update("../outside/target.rs"),
        update("src/../../outside/target.rs"),
        update(&abs_target),
        update("/etc/hostname"),
        add("../outside/new.rs"),
        add(&abs_new),
        add("/tmp/codex-lsp-security-test-new.rs"),
        // A bad path after a good one: nothing of the patch is applied.
        format!(
            "*** Begin Patch\n*** Update File: src/lib.rs\n@@\n-    a+b\n+    a + b\n*** Add File: ../outside/new.rs\n+x\n*** End Patch\n"
        ),
    ];
    if cfg!(unix) {
        replies.push(update("src/link.rs"));
        replies.push(add("linkdir/new.rs"));
    }
    for (i, reply) in replies.iter().enumerate() {
        h.set_script(Script::reply(reply.clone()));
        let response = simplify(&mut h, &main_uri).await;
        assert_eq!(response["result"]["applied"], false, "{reply}: {response}");
        let message = response["result"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("refused")
                || message.contains("not found")
                || message.contains("outside"),
            "{reply}: {message}"
        );
        // Shown once, as answered.
        let shown = h.wait_for_messages(i + 1).await;
        assert_eq!(shown.len(), i + 1, "{shown:?}");
        assert_eq!(shown[i], message);
        println!("refused: {}", message);
    }
    let shown = h.messages();
    assert_eq!(shown.len(), replies.len(), "{shown:?}");
    assert!(h.applied_edits().is_empty());
    assert_eq!(
        std::fs::read_to_string(&target).unwrap(),
        "fn target() {}\n"
    );
    assert!(!outside.join("new.rs").exists());
    assert!(!Path::new("/tmp/codex-lsp-security-test-new.rs").exists());
}

#[tokio::test]
async fn nothing_executes_or_writes_model_output() {
    let markers_dir = tempfile::tempdir().unwrap();
    let marker = |n: u32| markers_dir.path().join(format!("pwned-{n}"));
    let shell = format!(
        "Run this first:\n```sh\ntouch {}\n```\n$(touch {})\n`touch {}`\n",
        marker(1).display(),
        marker(2).display(),
        marker(3).display()
    );
    let tmp = tempfile::tempdir().unwrap();
    let mut h = start(
        Script::reply(format!(
            "{shell}*** Begin Patch\n*** Add File: src/created.rs\n+// $(touch {})\n+fn created() {{}}\n*** End Patch\n",
            marker(4).display()
        )),
        json!({}),
        &[("TMPDIR", tmp.path().to_str().unwrap())],
    )
    .await;
    let main_uri = h.uri();
    // The edit (creating a file) is handed to the editor; the server itself
    // writes nothing to the workspace.
    let response = simplify(&mut h, &main_uri).await;
    assert_eq!(response["result"]["applied"], true, "{response}");
    let edits = h.applied_edits();
    assert_eq!(edits.len(), 1, "{edits:?}");
    let edit = &edits[0];
    assert!(edit.to_string().contains("created.rs"), "{edit}");
    assert!(
        !h.root().join("src/created.rs").exists(),
        "the server wrote the file itself"
    );
    // Explanations carrying shell text, by hover and by command.
    h.set_script(Script::reply(format!(
        "Explained. $(touch {}) `touch {}`\n```sh\ntouch {}\n```",
        marker(5).display(),
        marker(6).display(),
        marker(7).display()
    )));
    let _ = h.hover(1, 4).await;
    let _ = h.explain(&main_uri, range(0, 0, 2, 1)).await;
    // A rewrite whose instruction is shell.
    h.set_script(Script::reply(shell.clone()));
    let _ = run(
        &mut h,
        &main_uri,
        json!({ "action": "rewrite", "range": range(1, 4, 1, 4), "instruction": format!("$(touch {})", marker(8).display()) }),
    )
    .await;
    // Every request above is answered and the helpers end with a barrier:
    // the server has handled everything it was sent.
    let shown = h.messages();
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert!(
        shown[0].contains("the reply is not a patch"),
        "the shell reply to the rewrite: {shown:?}"
    );
    // The explanation is a view file in the server's TMPDIR, not run.
    let documents = h.shown_documents();
    assert_eq!(documents.len(), 1, "{documents:?}");
    let view = documents[0]["uri"].as_str().unwrap_or_default();
    let views = file_uri(&tmp.path().join("codex-lsp-explanations"));
    assert!(view.starts_with(&views), "{view}");
    for n in 1..=8 {
        assert!(
            !marker(n).exists(),
            "model output was executed: {}",
            marker(n).display()
        );
    }
    assert_eq!(std::fs::read_dir(markers_dir.path()).unwrap().count(), 0);
}

#[cfg(unix)]
#[tokio::test]
async fn explanation_views_never_follow_a_planted_symlink() {
    // Another local user could plant `$TMPDIR/codex-lsp-explanations` as a
    // symbolic link to a directory of the victim's: explanations (model
    // output) must never be written through it.
    let tmp = tempfile::tempdir().unwrap();
    let victim = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(victim.path(), tmp.path().join("codex-lsp-explanations")).unwrap();
    let mut h = start(
        Script::reply("**Adds.**"),
        json!({}),
        &[("TMPDIR", tmp.path().to_str().unwrap())],
    )
    .await;
    let main_uri = h.uri();
    let response = h.explain(&main_uri, range(0, 0, 2, 1)).await;
    assert_eq!(response["result"]["markdown"], "**Adds.**", "{response}");
    assert_eq!(
        std::fs::read_dir(victim.path()).unwrap().count(),
        0,
        "the explanation was written through the planted link"
    );
    // The explanation still reached the user: as a message, since no view
    // file could be written (the explain helper ends with a barrier).
    assert!(h.shown_documents().is_empty());
    assert_eq!(h.messages(), ["**Adds.**"]);
}
