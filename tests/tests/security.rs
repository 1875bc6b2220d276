//! Security end to end: the API key never appears in logs (at `trace`),
//! progress, messages or request bodies; excluded files are never sent;
//! secrets in sent text are redacted; patch paths outside the workspace
//! (`..`, absolute, symbolic links) are refused; nothing executes or writes
//! model output on its own.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use codex_lsp_tests::lsp_client::{LspClient, file_uri, range};
use codex_lsp_tests::{FakeResponses, Fault, Rule, Script};
use serde_json::{Value, json};

const KEY: &str = "sk-proj-SECURITYtestKEYq7Zx0123456789abcdefXYZ";
const SOURCE: &str = "fn add(a: i32, b: i32) -> i32 {\n    a+b\n}\n";
const PATCH: &str = "*** Begin Patch\n*** Update File: src/lib.rs\n@@\n fn add(a: i32, b: i32) -> i32 {\n-    a+b\n+    a + b\n }\n*** End Patch\n";

struct Harness {
    dir: tempfile::TempDir,
    root: PathBuf,
    fake: FakeResponses,
    client: LspClient,
    uri: String,
}

fn caps() -> Value {
    json!({
        "general": { "positionEncodings": ["utf-16"] },
        "workspace": { "applyEdit": true, "workspaceEdit": { "documentChanges": true, "resourceOperations": ["create"] } },
        "textDocument": { "codeAction": { "codeActionLiteralSupport": { "codeActionKind": { "valueSet": ["refactor"] } } },
                          "hover": { "contentFormat": ["markdown"] } },
        "window": { "workDoneProgress": true, "showDocument": { "support": true } }
    })
}

/// Workspace at `<tmp>/ws` (so `<tmp>/outside` is outside it).
async fn start(script: Script, options: Value, env: &[(&str, &str)]) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap().join("ws");
    std::fs::create_dir_all(root.join("src")).unwrap();
    std::fs::write(root.join("src/lib.rs"), SOURCE).unwrap();
    let fake = FakeResponses::start(script).await;
    let mut all_env = vec![("OPENAI_API_KEY", KEY)];
    all_env.extend_from_slice(env);
    let mut client = LspClient::spawn(&all_env).unwrap();
    let mut opts = json!({ "baseUrl": fake.base_url(), "maxRetries": 0 });
    for (k, v) in options.as_object().unwrap() {
        opts[k] = v.clone();
    }
    client.initialize(Some(&root), caps(), opts).await;
    let uri = file_uri(&root.join("src/lib.rs"));
    client.did_open(&uri, "rust", 1, SOURCE);
    Harness {
        dir,
        root,
        fake,
        client,
        uri,
    }
}

async fn run(h: &mut Harness, uri: &str, args: Value) -> Value {
    let mut args = args;
    args["textDocument"] = json!({ "uri": uri });
    h.client
        .request(
            "workspace/executeCommand",
            json!({ "command": "codex.runAction", "arguments": [args] }),
        )
        .await
}

async fn simplify(h: &mut Harness, uri: &str) -> Value {
    run(
        h,
        uri,
        json!({ "action": "simplify", "range": range(1, 4, 1, 4) }),
    )
    .await
}

/// Everything the fake received, bodies and headers, as one string.
fn everything_sent(h: &Harness) -> String {
    serde_json::to_string(&h.fake.requests()).unwrap()
}

#[tokio::test]
async fn the_api_key_never_appears_in_logs_progress_messages_or_bodies() {
    let mut h = start(
        Script::reply(PATCH),
        json!({}),
        &[("CODEX_LSP_LOG", "trace")],
    )
    .await;
    let main_uri = h.uri.clone();
    let mut responses = Vec::new();
    // A successful action with progress, a hover, the explain command.
    responses.push(simplify(&mut h, &main_uri).await);
    h.fake.set_script(Script::reply("**Adds.**"));
    responses.push(
        h.client
            .request(
                "textDocument/hover",
                json!({ "textDocument": { "uri": h.uri }, "position": { "line": 1, "character": 4 } }),
            )
            .await,
    );
    responses.push(
        h.client
            .request(
                "workspace/executeCommand",
                json!({ "command": "codex.explain", "arguments": [{ "textDocument": { "uri": h.uri }, "range": range(0, 0, 2, 1) }] }),
            )
            .await,
    );
    // Failures whose server messages echo the key (as some servers do).
    for fault in [Fault::ErrorEvent, Fault::ResponseFailed] {
        let mut rule = Rule::fault(fault);
        rule.error_message = Some(format!("Incorrect API key provided: {KEY}."));
        rule.error_code = Some("invalid_api_key".to_owned());
        h.fake.set_script(Script::new(vec![rule]));
        responses.push(simplify(&mut h, &main_uri).await);
    }
    h.fake
        .set_script(Script::new(vec![Rule::fault(Fault::Http401)]));
    responses.push(simplify(&mut h, &main_uri).await);
    h.client
        .wait_until(Duration::from_secs(10), |n, _| {
            n.iter()
                .filter(|m| m["method"] == "window/showMessage")
                .count()
                >= 3
        })
        .await;
    let notifications = serde_json::to_string(&h.client.notifications()).unwrap();
    let server_requests = serde_json::to_string(&h.client.server_requests()).unwrap();
    let answers = serde_json::to_string(&responses).unwrap();
    let sent = everything_sent(&h);
    let requests = h.fake.requests();
    assert!(requests.len() >= 5, "{}", requests.len());
    for r in &requests {
        assert_eq!(
            r.headers.get("authorization").map(String::as_str),
            Some("[redacted]"),
            "the key travels in the auth header only"
        );
    }
    let (code, logs) = h.client.shutdown_keep_logs().await;
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
    let main_uri = h.uri.clone();
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
        let full = h.root.join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(&full, text).unwrap();
        let uri = file_uri(&full);
        h.client.did_open(&uri, "plaintext", 1, text);
        uris.push(uri);
    }
    for uri in &uris {
        let list = h
            .client
            .request(
                "textDocument/codeAction",
                json!({ "textDocument": { "uri": uri }, "range": range(0, 0, 0, 0), "context": { "diagnostics": [] } }),
            )
            .await;
        assert_eq!(list["result"], json!([]), "{uri}: actions offered");
        let response = run(
            &mut h,
            uri,
            json!({ "action": "simplify", "range": range(0, 0, 0, 0) }),
        )
        .await;
        assert_eq!(response["result"]["applied"], false, "{response}");
        let hover = h
            .client
            .request(
                "textDocument/hover",
                json!({ "textDocument": { "uri": uri }, "position": { "line": 0, "character": 1 } }),
            )
            .await;
        assert!(hover.get("result").is_some(), "{hover}");
        let explain = h
            .client
            .request(
                "workspace/executeCommand",
                json!({ "command": "codex.explain", "arguments": [{ "textDocument": { "uri": uri }, "range": range(0, 0, 0, 5) }] }),
            )
            .await;
        assert!(explain.get("result").is_some(), "{explain}");
    }
    assert!(h.fake.requests().is_empty(), "{}", everything_sent(&h));
    // An action on an ordinary file, with every other open document allowed
    // as context: the excluded ones stay out.
    let response = simplify(&mut h, &main_uri).await;
    assert_eq!(response["result"]["applied"], true, "{response}");
    let sent = everything_sent(&h);
    assert_eq!(h.fake.requests().len(), 1);
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
    let main_uri = h.uri.clone();
    let path = h.root.join("src/config.rs");
    std::fs::write(&path, &config).unwrap();
    let uri = file_uri(&path);
    h.client.did_open(&uri, "rust", 1, &config);
    // An action, a hover, a fix whose diagnostic quotes a secret, and a
    // rewrite whose instruction contains one.
    let _ = run(
        &mut h,
        &uri,
        json!({ "action": "simplify", "range": range(6, 4, 6, 4) }),
    )
    .await;
    let _ = h
        .client
        .request(
            "textDocument/hover",
            json!({ "textDocument": { "uri": uri }, "position": { "line": 6, "character": 4 } }),
        )
        .await;
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
    assert!(h.fake.requests().len() >= 4, "{}", h.fake.requests().len());
    for secret in [openai, aws, pem_body, password] {
        assert!(!sent.contains(secret), "`{secret}` was sent");
    }
    assert!(sent.contains("[REDACTED:"), "no placeholder in {sent}");
    // A reply that would write a placeholder back over the secret is refused.
    h.fake.set_script(Script::reply(format!(
        "*** Begin Patch\n*** Update File: src/config.rs\n@@\n-const OPENAI: &str = \"{openai}\";\n+const OPENAI: &str = \"[REDACTED:openai-key]\";\n*** End Patch\n"
    )));
    let applied_before = h.client.server_requests_named("workspace/applyEdit").len();
    let response = run(
        &mut h,
        &uri,
        json!({ "action": "simplify", "range": range(0, 0, 0, 5) }),
    )
    .await;
    assert_eq!(response["result"]["applied"], false, "{response}");
    assert_eq!(
        h.client.server_requests_named("workspace/applyEdit").len(),
        applied_before
    );
}

#[tokio::test]
async fn patch_paths_outside_the_workspace_are_refused() {
    let mut h = start(Script::reply(PATCH), json!({}), &[]).await;
    let main_uri = h.uri.clone();
    let outside = h.dir.path().canonicalize().unwrap().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let target = outside.join("target.rs");
    std::fs::write(&target, "fn target() {}\n").unwrap();
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(&target, h.root.join("src/link.rs")).unwrap();
        std::os::unix::fs::symlink(&outside, h.root.join("linkdir")).unwrap();
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
        h.fake.set_script(Script::reply(reply.clone()));
        let response = simplify(&mut h, &main_uri).await;
        assert_eq!(response["result"]["applied"], false, "{reply}: {response}");
        let message = response["result"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("refused")
                || message.contains("not found")
                || message.contains("outside"),
            "{reply}: {message}"
        );
        h.client
            .wait_until(Duration::from_secs(10), |n, _| {
                n.iter()
                    .filter(|m| m["method"] == "window/showMessage")
                    .count()
                    > i
            })
            .await;
        println!("refused: {}", message);
    }
    assert_eq!(
        h.client.shown_messages().len(),
        replies.len(),
        "{:?}",
        h.client.shown_messages()
    );
    assert!(
        h.client
            .server_requests_named("workspace/applyEdit")
            .is_empty()
    );
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
    let main_uri = h.uri.clone();
    // The edit (creating a file) is handed to the editor; the server itself
    // writes nothing to the workspace.
    let response = simplify(&mut h, &main_uri).await;
    assert_eq!(response["result"]["applied"], true, "{response}");
    let edit = &h.client.server_requests_named("workspace/applyEdit")[0]["params"]["edit"];
    assert!(edit.to_string().contains("created.rs"), "{edit}");
    assert!(
        !h.root.join("src/created.rs").exists(),
        "the server wrote the file itself"
    );
    // Explanations carrying shell text, by hover and by command.
    h.fake.set_script(Script::reply(format!(
        "Explained. $(touch {}) `touch {}`\n```sh\ntouch {}\n```",
        marker(5).display(),
        marker(6).display(),
        marker(7).display()
    )));
    let _ = h
        .client
        .request(
            "textDocument/hover",
            json!({ "textDocument": { "uri": h.uri }, "position": { "line": 1, "character": 4 } }),
        )
        .await;
    let _ = h
        .client
        .request(
            "workspace/executeCommand",
            json!({ "command": "codex.explain", "arguments": [{ "textDocument": { "uri": h.uri }, "range": range(0, 0, 2, 1) }] }),
        )
        .await;
    // A rewrite whose instruction is shell.
    h.fake.set_script(Script::reply(shell.clone()));
    let _ = run(
        &mut h,
        &main_uri,
        json!({ "action": "rewrite", "range": range(1, 4, 1, 4), "instruction": format!("$(touch {})", marker(8).display()) }),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
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
    let response = h
        .client
        .request(
            "workspace/executeCommand",
            json!({ "command": "codex.explain", "arguments": [{ "textDocument": { "uri": h.uri }, "range": range(0, 0, 2, 1) }] }),
        )
        .await;
    assert_eq!(response["result"]["markdown"], "**Adds.**", "{response}");
    assert_eq!(
        std::fs::read_dir(victim.path()).unwrap().count(),
        0,
        "the explanation was written through the planted link"
    );
    // The explanation still reached the user (as a message).
    h.client
        .wait_until(Duration::from_secs(5), |n, r| {
            n.iter().any(|m| m["method"] == "window/showMessage")
                || r.iter().any(|m| m["method"] == "window/showDocument")
        })
        .await;
}
