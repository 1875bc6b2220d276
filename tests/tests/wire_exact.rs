//! The fake Responses server against the official `openai` Python SDK: every
//! event and body it sends, in every scripted mode a client can read, must
//! validate against the SDK's own pydantic types (required fields present,
//! types right), and the SDK's client must read its answers. The fake stands
//! in for the live API in every model-client and end-to-end test, so a field
//! the SDK requires and the fake leaves out is a blind spot of all of them.
//!
//! The check itself is `tests/python/check_wire.py`. The SDK is installed
//! into a virtual environment under `.tools/openai-venv` when it is missing
//! (this needs PyPI); without `python3` at all the test is skipped, saying so.

use std::path::{Path, PathBuf};
use std::process::Command;

use codex_lsp_tests::{FakeResponses, Fault, Rule, Script};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

fn venv_python(venv: &Path) -> PathBuf {
    if cfg!(windows) {
        venv.join("Scripts").join("python.exe")
    } else {
        venv.join("bin").join("python")
    }
}

fn has_sdk(python: &Path) -> bool {
    Command::new(python)
        .args(["-c", "import openai, pydantic, lark"])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn run(command: &mut Command, what: &str) {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A Python with the `openai` SDK and `lark`: the venv under `.tools/`,
/// created and filled with `pip install` when missing (once per test
/// binary: the tests here run in parallel and must not create it twice).
/// `None` when there is no `python3` to create it with.
fn sdk_python() -> Option<PathBuf> {
    static PYTHON: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    PYTHON.get_or_init(install_sdk_python).clone()
}

fn install_sdk_python() -> Option<PathBuf> {
    let venv = workspace_root().join(".tools").join("openai-venv");
    let python = venv_python(&venv);
    if has_sdk(&python) {
        return Some(python);
    }
    let system = ["python3", "python"].into_iter().find(|p| {
        Command::new(p)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    })?;
    if !python.exists() {
        run(
            Command::new(system).args(["-m", "venv"]).arg(&venv),
            "creating the virtual environment .tools/openai-venv",
        );
    }
    run(
        Command::new(&python).args(["-m", "pip", "install", "--quiet", "openai", "lark"]),
        "pip install openai lark (needs PyPI)",
    );
    assert!(has_sdk(&python), "openai installed but cannot be imported");
    Some(python)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fake_server_speaks_the_openai_sdk_wire_format() {
    let Some(python) = tokio::task::spawn_blocking(sdk_python)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
    else {
        eprintln!(
            "SKIPPED fake_server_speaks_the_openai_sdk_wire_format: no python3 on PATH, so the fake server's events cannot be checked against the openai SDK's types"
        );
        return;
    };
    // One rule per mode a client can read; the tag in the input picks it.
    let tagged = |tag: &str, rule: Rule| rule.matching(format!("tag-{tag}"));
    let server = FakeResponses::start(Script::new(vec![
        tagged(
            "preamble",
            Rule::reply("*** Begin Patch\n*** End Patch\n").preamble("Looking first.", true),
        ),
        tagged("unlabelled", Rule::reply("second").preamble("first", false)),
        tagged(
            "incomplete",
            Rule::reply("half of this answer").with_fault(Fault::Incomplete),
        ),
        tagged("failed", Rule::fault(Fault::ResponseFailed)),
        tagged(
            "rate-failed",
            Rule::fault(Fault::ResponseFailed).error_code("rate_limit_exceeded"),
        ),
        tagged("error", Rule::fault(Fault::ErrorEvent)),
        tagged(
            "cut",
            Rule::reply("cut somewhere in the middle").with_fault(Fault::CutMidStream),
        ),
        tagged("http400", Rule::fault(Fault::Http400)),
        tagged("http401", Rule::fault(Fault::Http401)),
        tagged("http429", Rule::fault(Fault::Http429)),
        tagged("http500", Rule::fault(Fault::Http500)),
        tagged("context", Rule::fault(Fault::ContextLengthExceeded)),
        tagged("quota", Rule::fault(Fault::InsufficientQuota)),
        tagged("empty", Rule::reply("")),
        tagged(
            "calls",
            Rule::function_call("read_file", serde_json::json!({"path": "src/a.py"}))
                .call(
                    codex_lsp_tests::script::CallKind::Custom,
                    "apply_patch",
                    "*** Begin Patch\n*** Update File: a.py\n@@\n-a\n+b\n*** End Patch\n",
                )
                .call(
                    codex_lsp_tests::script::CallKind::ApplyPatch,
                    "apply_patch",
                    r#"{"type":"update_file","path":"a.py","diff":"@@\n-a\n+b\n"}"#,
                )
                .reasoning("Reading the file first."),
        ),
        Rule::reply("The answer, in a few small deltas: é, 日本, 😀.").chunks(5, 0),
    ]))
    .await;
    let tags = [
        "tag-plain",
        "tag-preamble",
        "tag-unlabelled",
        "tag-incomplete",
        "tag-failed",
        "tag-rate-failed",
        "tag-error",
        "tag-cut:stream",
        "tag-http400",
        "tag-http401",
        "tag-http429",
        "tag-http500",
        "tag-context",
        "tag-quota",
        "tag-empty",
        "tag-calls:stream",
    ];
    let script = workspace_root()
        .join("tests")
        .join("python")
        .join("check_wire.py");
    let out = tokio::process::Command::new(&python)
        .arg(&script)
        .arg(server.base_url())
        .args(tags)
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}{stderr}");
    assert!(
        out.status.success(),
        "the fake server's wire format differs from the openai SDK's types:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("(sdk client)"), "{stdout}");
}

/// The Lark grammar sent with the `apply_patch` custom tool (the model's
/// input is constrained by it) accepts the patches the server applies and
/// refuses what it would refuse, checked with the `lark` parser.
#[test]
fn the_apply_patch_grammar_accepts_patches_and_refuses_broken_ones() {
    let Some(python) = sdk_python() else {
        eprintln!("SKIPPED: no python3 to check the apply_patch grammar with lark");
        return;
    };
    let valid = [
        "*** Begin Patch\n*** Update File: a.py\n@@\n def f():\n-    return 1\n+    return 2\n*** End Patch\n",
        "*** Begin Patch\n*** Update File: src/a b.rs\n@@ fn main() {\n-    x();\n+    y();\n@@\n z\n+w\n*** End of File\n*** Add File: t.rs\n+#[test]\n+fn t() {}\n*** End Patch",
        "*** Begin Patch\n*** Update File: a.py\n-a\n+b\n*** End Patch\n",
    ];
    let invalid = [
        "*** Begin Patch\n*** Update File: a.py\n@@\n-a\n+b\n",
        "*** Begin Patch\n*** Delete File: a.py\n*** End Patch\n",
        "*** Begin Patch\n*** Update File: a.py\nnot a hunk line\n*** End Patch\n",
        "Here is the patch:\n*** Begin Patch\n*** End Patch\n",
    ];
    let grammar = workspace_root().join("server/src/assist/apply_patch.lark");
    let check = r#"
import json, sys, lark
parser = lark.Lark(open(sys.argv[1]).read(), start="start", parser="earley")
cases = json.loads(sys.stdin.read())
bad = []
for text, ok in cases:
    try:
        parser.parse(text)
        parsed = True
    except lark.exceptions.LarkError:
        parsed = False
    if parsed != ok:
        bad.append((text, ok))
print(json.dumps(bad))
sys.exit(1 if bad else 0)
"#;
    let cases: Vec<(&str, bool)> = valid
        .iter()
        .map(|p| (*p, true))
        .chain(invalid.iter().map(|p| (*p, false)))
        .collect();
    let mut child = Command::new(&python)
        .arg("-c")
        .arg(check)
        .arg(&grammar)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().unwrap_or_else(|| panic!("no stdin"));
        stdin
            .write_all(serde_json::to_string(&cases).unwrap_or_default().as_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.status.success(),
        "the grammar disagrees with the applier on: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
