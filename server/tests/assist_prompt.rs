//! Prompt building: the rendered prompt for every action kind (snapshots),
//! the shared cacheable prefix, the token budget, exclusions, redaction,
//! refusal of binary and oversized files, and AGENTS.md collection.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use codex_lsp::assist::tokens::count_exact;
use codex_lsp::assist::{
    ActionKind, AgentsFile, AssistError, ContextRequest, DiagnosticInfo, Exclusions, Prompt,
    RelatedInfo, build_prompt, instructions, redact, target_region,
};
use codex_lsp::config::Settings;
use codex_lsp::workspace::WorkspacePolicy;
use ropey::Rope;

const SMALL: &str = r#"//! Inventory helpers.
use std::collections::HashMap;

/// An item on a shelf.
pub struct Item {
    pub name: String,
    pub qty: u32,
}

pub fn total(items: &[Item]) -> u32 {
    let mut sum = 0;
    for i in items {
        sum += i.qty;
    }
    sum
}

pub fn by_name(items: &[Item]) -> HashMap<&str, u32> {
    items.iter().map(|i| (i.name.as_str(), i.qty)).collect()
}
"#;

fn request<'a>(
    root: &'a Path,
    file: &'a Path,
    rope: &'a Rope,
    action: ActionKind,
    settings: &'a Settings,
    diagnostics: &'a [DiagnosticInfo],
) -> ContextRequest<'a> {
    let text = rope.to_string();
    let cursor = text.find("sum += i.qty").unwrap_or(0);
    ContextRequest {
        workspace_root: Some(root),
        file_path: file,
        language_id: "rust",
        text: rope,
        region: target_region("rust", rope, None, cursor),
        action,
        instruction: (action == ActionKind::Rewrite).then_some("Use an iterator sum."),
        diagnostics,
        agents_md: vec![AgentsFile {
            path: root.join("AGENTS.md"),
            text: "Run `cargo test` before committing.\nPrefer iterators.\n".to_owned(),
            truncated: false,
        }],
        other_documents: Vec::new(),
        settings,
    }
}

fn diagnostics(text: &str) -> Vec<DiagnosticInfo> {
    let at = text.find("sum += i.qty").unwrap();
    vec![DiagnosticInfo {
        range: at..at + 3,
        severity: Some("warning".into()),
        code: Some("clippy::manual_sum".into()),
        source: Some("clippy".into()),
        message: "this loop can be written as `.sum()`".into(),
        related: vec![RelatedInfo {
            location: "src/inventory.rs:11:5".into(),
            message: "loop starts here".into(),
        }],
    }]
}

fn build(action: ActionKind, text: &str, settings: &Settings) -> Prompt {
    let root = PathBuf::from("/ws");
    let file = root.join("src/inventory.rs");
    let rope = Rope::from_str(text);
    let diags = diagnostics(text);
    build_prompt(&request(&root, &file, &rope, action, settings, &diags)).unwrap()
}

#[test]
fn rendered_prompt_per_action_kind() {
    let settings = Settings::default();
    insta::assert_snapshot!("assist_prompt_instructions", instructions(true));
    insta::assert_snapshot!("assist_prompt_instructions_text", instructions(false));
    let mut keys = std::collections::HashSet::new();
    for action in ActionKind::ALL {
        let p = build(action, SMALL, &settings);
        assert_eq!(
            p.instructions,
            instructions(settings.edit_tool().has_tools())
        );
        keys.insert(p.prompt_cache_key.clone());
        assert!(p.tokens > 0 && p.tokens <= settings.max_context_tokens as usize);
        insta::assert_snapshot!(format!("assist_prompt_{}", action.id()), p.input);
    }
    assert_eq!(keys.len(), 1, "one cache key per workspace");
}

fn common_prefix(a: &str, b: &str) -> usize {
    a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count()
}

fn file_with_helpers(n: usize) -> String {
    let mut text = String::from("use std::fmt;\nuse std::io;\n\n");
    for i in 0..n {
        text.push_str(&format!(
            "/// Helper {i}.\npub fn helper_{i}(x: u32) -> u32 {{\n    let y = x * {i};\n    let z = y + 1;\n    if z > 10 {{\n        return z;\n    }}\n    y\n}}\n\n"
        ));
        if i == n / 2 {
            text.push_str(&SMALL[SMALL.find("pub fn total").unwrap()..]);
            text.push('\n');
        }
    }
    text
}

/// Smallest share of the first prompt that every other action repeats,
/// counting (instructions + input) as the model's cache sees it, and input only.
fn min_shared(text: &str) -> (f64, f64) {
    let settings = Settings::default();
    let prompts: Vec<Prompt> = ActionKind::ALL
        .into_iter()
        .map(|a| build(a, text, &settings))
        .collect();
    let (mut whole, mut input) = (1.0f64, 1.0f64);
    for a in &prompts {
        for b in &prompts {
            let full_a = format!("{}{}", a.instructions, a.input);
            let full_b = format!("{}{}", b.instructions, b.input);
            whole = whole.min(common_prefix(&full_a, &full_b) as f64 / full_a.len() as f64);
            input = input.min(common_prefix(&a.input, &b.input) as f64 / a.input.len() as f64);
        }
    }
    (whole, input)
}

#[test]
fn two_actions_share_a_long_prefix() {
    // ~330 lines, the target a function in the middle: every pair of actions
    // shares >= 90% of the first prompt, input alone and with instructions.
    let (whole, input) = min_shared(&file_with_helpers(30));
    eprintln!("shared prefix: input {input:.3}, instructions + input {whole:.3}");
    assert!(input >= 0.9, "input shares only {input:.3}");
    assert!(whole >= 0.9, "instructions + input share only {whole:.3}");
}

#[test]
fn over_budget_the_file_is_trimmed_around_the_target() {
    let mut text = String::from("use std::collections::HashMap;\nuse std::sync::Arc;\n\n");
    for i in 0..3000 {
        text.push_str(&format!("pub fn f{i}(x: u32) -> u32 {{\n    x + {i}\n}}\n"));
    }
    let root = PathBuf::from("/ws");
    let file = root.join("src/big.rs");
    let rope = Rope::from_str(&text);
    let cursor = text.find("x + 1500\n").unwrap();
    let settings = Settings {
        max_context_tokens: 3000,
        include_open_documents: true,
        ..Settings::default()
    };
    let mut req = ContextRequest {
        workspace_root: Some(&root),
        file_path: &file,
        language_id: "rust",
        text: &rope,
        region: target_region("rust", &rope, None, cursor),
        action: ActionKind::Simplify,
        instruction: None,
        diagnostics: &[],
        agents_md: Vec::new(),
        other_documents: vec![(root.join("src/other.rs"), "pub fn other() {}\n".to_owned())],
        settings: &settings,
    };
    let p = build_prompt(&req).unwrap();
    let exact = count_exact(&p.instructions).unwrap() + count_exact(&p.input).unwrap();
    assert!(p.tokens <= 3000, "{}", p.tokens);
    assert!(exact <= p.tokens, "exact {exact} > counted {}", p.tokens);
    assert!(
        p.input.contains("use std::sync::Arc;\n[… lines 3–"),
        "header kept"
    );
    let file_end = p.input.find("</file>").unwrap();
    let target = "pub fn f1500(x: u32) -> u32 {\n    x + 1500\n}\n";
    assert!(
        p.input[..file_end].contains(target),
        "the target is in the file window"
    );
    assert!(
        p.input[file_end..].contains(target),
        "and repeated in the task"
    );
    assert!(
        p.input.contains("pub fn f1490") && p.input.contains("pub fn f1510"),
        "context around the target"
    );
    assert!(!p.input.contains("pub fn f10("), "far away code is trimmed");
    assert!(p.input.contains("omitted …]\n</file>"));
    assert_eq!(p.documents_included, 0, "other documents are dropped first");
    assert!(p.file_window.start > 0 && p.file_window.end < text.len());

    // A small file fits whole, and then the other document comes too.
    let small = Rope::from_str(SMALL);
    req.text = &small;
    req.region = target_region("rust", &small, None, 10);
    let p = build_prompt(&req).unwrap();
    assert_eq!(p.documents_included, 1);
    assert!(
        p.input
            .contains("<open_document path=\"src/other.rs\">\npub fn other() {}\n</open_document>")
    );
    assert!(!p.input.contains("omitted"));

    // A region that cannot fit is refused with the numbers.
    let settings = Settings {
        max_context_tokens: 600,
        ..Settings::default()
    };
    let huge = Rope::from_str(&text);
    let req = ContextRequest {
        text: &huge,
        region: target_region("rust", &huge, Some(0..text.len() / 2), 0),
        settings: &settings,
        other_documents: Vec::new(),
        ..req
    };
    let err = build_prompt(&req).unwrap_err();
    assert!(
        matches!(err, AssistError::RegionTooLarge { budget: 600, .. }),
        "{err}"
    );
}

#[test]
fn excluded_binary_and_oversized_files_are_refused() {
    let root = PathBuf::from("/ws");
    let settings = Settings::default();
    let rope = Rope::from_str("KEY=1\n");
    let mut cases = Vec::new();
    for rel in [
        "config/.env",
        ".env.local",
        "certs/server.pem",
        "deploy/.aws/credentials",
    ] {
        let file = root.join(rel);
        let req = ContextRequest {
            workspace_root: Some(&root),
            file_path: &file,
            language_id: "plaintext",
            text: &rope,
            region: target_region("plaintext", &rope, None, 0),
            action: ActionKind::Explain,
            instruction: None,
            diagnostics: &[],
            agents_md: Vec::new(),
            other_documents: Vec::new(),
            settings: &settings,
        };
        let err = build_prompt(&req).unwrap_err();
        assert!(matches!(err, AssistError::Excluded { .. }), "{rel}: {err}");
        cases.push(err.to_string());
    }
    let file = root.join("src/blob.rs");
    let binary = Rope::from_str("fn main() {}\0\0\u{1}");
    let tiny = Settings {
        max_file_bytes: 4,
        ..Settings::default()
    };
    let base = ContextRequest {
        workspace_root: Some(&root),
        file_path: &file,
        language_id: "rust",
        text: &binary,
        region: target_region("rust", &binary, None, 0),
        action: ActionKind::Fix,
        instruction: None,
        diagnostics: &[],
        agents_md: Vec::new(),
        other_documents: Vec::new(),
        settings: &settings,
    };
    let err = build_prompt(&base).unwrap_err();
    assert!(matches!(err, AssistError::Binary { .. }));
    cases.push(err.to_string());
    let big = Rope::from_str("fn main() {}\n");
    let err = build_prompt(&ContextRequest {
        text: &big,
        settings: &tiny,
        ..base.clone()
    })
    .unwrap_err();
    assert!(matches!(
        err,
        AssistError::TooLarge {
            bytes: 13,
            limit: 4,
            ..
        }
    ));
    cases.push(err.to_string());
    insta::assert_snapshot!("assist_prompt_refusals", cases.join("\n"));
}

const SECRETS: &str = r#"-----BEGIN RSA PRIVATE KEY-----
MIIEowIBAAKCAQEA1234567890abcdefghijklmnopqrstuvwxyzABCDEF
abcdefghijklmnopqrstuvwxyz0123456789+/=
-----END RSA PRIVATE KEY-----
OPENAI_API_KEY=sk-proj-abcdefghijklmnopqrstuvwxyz0123456789ABCD
legacy = "sk-abcdefghijklmnopqrstuvwxyz0123456789"
AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE
aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
token: ghp_abcdefghijklmnopqrstuvwxyz0123456789AB
pat = github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz
slack = "xoxb-123456789012-abcdefghijklmnop"
DATABASE_PASSWORD=hunter2!
export STRIPE_SECRET="whsec_abcdef123456"
"apiKey": "abcd-efgh-ijkl",
client_secret: 'c0ffee-c0ffee'
let api_key = std::env::var("OPENAI_API_KEY")?;
SECRET_KEY = settings_value
const TOKEN_HEADER: &str = "Authorization";
password = None
"#;

#[test]
fn secrets_are_redacted_and_code_is_not() {
    let out = redact(SECRETS);
    insta::assert_snapshot!("assist_redaction", out);
    for secret in [
        "MIIEowIBAAKCAQEA",
        "sk-proj-abcdef",
        "sk-abcdefghij",
        "AKIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI",
        "ghp_abcdef",
        "github_pat_11",
        "xoxb-1234",
        "hunter2",
        "whsec_abc",
        "abcd-efgh",
        "c0ffee",
    ] {
        assert!(!out.contains(secret), "{secret} leaked");
    }
    for code in [
        "let api_key = std::env::var(\"OPENAI_API_KEY\")?;",
        "SECRET_KEY = settings_value",
        "const TOKEN_HEADER: &str = \"Authorization\";",
        "password = None",
    ] {
        assert!(out.contains(code), "{code} was changed");
    }
    assert!(matches!(
        redact("fn main() {}\n"),
        std::borrow::Cow::Borrowed(_)
    ));
}

#[test]
fn everything_sent_is_redacted() {
    let root = PathBuf::from("/ws");
    let file = root.join("src/config.py");
    let text = format!("import os\n\n{SECRETS}\ndef f():\n    return 1\n");
    let rope = Rope::from_str(&text);
    let settings = Settings {
        include_open_documents: true,
        ..Settings::default()
    };
    let diags = [DiagnosticInfo {
        range: 0..1,
        message: "bad token ghp_abcdefghijklmnopqrstuvwxyz0123456789AB".into(),
        ..DiagnosticInfo::default()
    }];
    let p = build_prompt(&ContextRequest {
        workspace_root: Some(&root),
        file_path: &file,
        language_id: "python",
        text: &rope,
        region: target_region("python", &rope, Some(0..text.len()), 0),
        action: ActionKind::Fix,
        instruction: Some("use sk-abcdefghijklmnopqrstuvwxyz0123456789 here"),
        diagnostics: &diags,
        agents_md: vec![AgentsFile {
            path: root.join("AGENTS.md"),
            text: "deploy with xoxb-123456789012-abcdefghijklmnop\n".into(),
            truncated: false,
        }],
        other_documents: vec![(root.join("b.py"), "KEY = 'AKIAIOSFODNN7EXAMPLE'\n".into())],
        settings: &settings,
    })
    .unwrap();
    for secret in [
        "MIIEowIBAAKCAQEA",
        "ghp_abcdef",
        "sk-abcdefghij",
        "xoxb-1234",
        "AKIAIOSFODNN7",
        "hunter2",
    ] {
        assert!(!p.input.contains(secret), "{secret} leaked");
    }
    assert!(p.input.contains("[REDACTED:private-key]"));
}

#[test]
fn agents_md_root_first_and_capped() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("crates/core/src")).unwrap();
    std::fs::write(root.join("AGENTS.md"), "root rules\n").unwrap();
    std::fs::write(root.join("crates/AGENTS.md"), "").unwrap();
    std::fs::write(root.join("crates/core/AGENTS.md"), "core rules\n").unwrap();
    let found = collect_agents_md(Some(root), &root.join("crates/core/src"));
    let texts: Vec<_> = found.iter().map(|a| a.text.as_str()).collect();
    assert_eq!(texts, ["root rules\n", "core rules\n"]);
    assert_eq!(found[1].path, root.join("crates/core/AGENTS.md"));

    std::fs::write(root.join("AGENTS.md"), "é".repeat(20_000)).unwrap();
    let found = collect_agents_md(Some(root), &root.join("crates/core/src"));
    let total: usize = found.iter().map(|a| a.text.len()).sum();
    assert!(total <= 32 * 1024);
    assert_eq!(found.len(), 1, "the cap is reached by the root file");

    // Outside every workspace folder no AGENTS.md is read at all (the
    // workspace policy: a file outside the folders gets no AGENTS.md walk).
    let found = collect_agents_md(None, &root.join("crates/core"));
    assert!(found.is_empty(), "{found:?}");
}

/// The AGENTS.md files for a file in `dir`, read through the workspace
/// policy with `root` as the only folder.
fn collect_agents_md(root: Option<&Path>, dir: &Path) -> Vec<AgentsFile> {
    let exclusions = std::sync::Arc::new(Exclusions::new(&[]).unwrap());
    // As the editor names them: a folder through a link stays that path.
    let folders = root.map(Path::to_path_buf);
    WorkspacePolicy::new(folders, exclusions).agents_md(&dir.join("file.rs"))
}

#[test]
fn cache_key_is_per_workspace() {
    use codex_lsp::assist::prompt::cache_key;
    let a = cache_key(Some(Path::new("/ws")), Path::new("/ws/a.rs"));
    let b = cache_key(Some(Path::new("/ws")), Path::new("/ws/sub/b.rs"));
    let c = cache_key(Some(Path::new("/other")), Path::new("/other/a.rs"));
    let d = cache_key(None, Path::new("/tmp/x/a.rs"));
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert_eq!(d, cache_key(None, Path::new("/tmp/x/b.rs")));
    assert!(a.starts_with("codex-lsp-") && a.len() == "codex-lsp-".len() + 24);
}

/// `collect_agents_md` on a thread, `None` if it has not returned in 5 s
/// (a FIFO or a terminal blocks a plain read forever).
fn collect_with_timeout(root: PathBuf, dir: PathBuf) -> Option<Vec<AgentsFile>> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(collect_agents_md(Some(&root), &dir));
    });
    rx.recv_timeout(std::time::Duration::from_secs(5)).ok()
}

#[cfg(unix)]
#[test]
fn agents_md_is_read_only_from_regular_files_inside_the_root() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("rules.md"), "OUTSIDE the workspace\n").unwrap();
    // (case, what AGENTS.md is made of, whether its text is read)
    type Setup = fn(&Path, &Path);
    let cases: [(&str, Setup, bool); 5] = [
        (
            "a symlink to a file outside the root",
            |at, outside| symlink(outside.join("rules.md"), at).unwrap(),
            false,
        ),
        (
            "a symlink to a directory outside the root, then the file",
            |at, outside| {
                let parent = at.parent().unwrap();
                std::fs::write(outside.join("AGENTS.md"), "OUTSIDE via a folder\n").unwrap();
                std::fs::remove_dir_all(parent).unwrap();
                symlink(outside, parent).unwrap();
            },
            false,
        ),
        (
            "a FIFO (nobody writes to it)",
            |at, _| {
                let made = Command::new("mkfifo").arg(at).status().unwrap();
                assert!(made.success());
            },
            false,
        ),
        (
            "a symlink to /dev/stdin (the server's own LSP input)",
            |at, _| symlink("/dev/stdin", at).unwrap(),
            false,
        ),
        (
            "a symlink to a file inside the root",
            |at, _| {
                let root = at.parent().unwrap().parent().unwrap();
                std::fs::write(root.join("shared-rules.md"), "INSIDE rules\n").unwrap();
                symlink(root.join("shared-rules.md"), at).unwrap();
            },
            true,
        ),
    ];
    use std::process::Command;
    for (i, (case, setup, read)) in cases.into_iter().enumerate() {
        let root = dir.path().join(format!("ws{i}"));
        let sub = root.join("sub");
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(root.join("AGENTS.md"), "root rules\n").unwrap();
        setup(&sub.join("AGENTS.md"), &outside);
        let found = collect_with_timeout(root.clone(), sub.clone())
            .unwrap_or_else(|| panic!("{case}: collect_agents_md blocked"));
        let texts: Vec<&str> = found.iter().map(|a| a.text.as_str()).collect();
        assert_eq!(texts[0], "root rules\n", "{case}");
        assert!(
            !texts.iter().any(|t| t.contains("OUTSIDE")),
            "{case}: read {texts:?}"
        );
        assert_eq!(texts.len(), if read { 2 } else { 1 }, "{case}: {texts:?}");
    }
}

#[test]
fn a_truncated_agents_md_is_noted_in_the_prompt() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let file = root.join("src/lib.rs");
    std::fs::create_dir_all(root.join("src")).unwrap();
    let rules = "- Keep functions short.\n".repeat(2_000); // ~48 KiB
    std::fs::write(root.join("AGENTS.md"), &rules).unwrap();
    let found = collect_agents_md(Some(root), &root.join("src"));
    assert_eq!(found.len(), 1);
    assert!(found[0].text.len() <= 32 * 1024);
    let rope = Rope::from_str(SMALL);
    let settings = Settings::default();
    let mut req = request(root, &file, &rope, ActionKind::Simplify, &settings, &[]);
    req.agents_md = found;
    let p = build_prompt(&req).unwrap();
    assert!(
        p.input.contains(
            "[… AGENTS.md truncated: AGENTS.md files are capped at 32768 bytes in total …]"
        ),
        "no truncation note in {}",
        &p.input[..600]
    );
}
