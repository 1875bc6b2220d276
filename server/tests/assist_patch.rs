//! Replies to edits: every patch parse error, path safety (`..`, absolute
//! paths, symlink escapes, no workspace), added files, and a property test
//! that the applier plus the minimal edits rebuild the expected text.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use codex_lsp::assist::diff::apply_edits;
use codex_lsp::assist::{
    AssistError, FileChangeKind, FileOp, HunkLine, PatchError, Windowing, parse_patch, plan_edits,
    plan_edits_with,
};
use proptest::prelude::*;

fn wrap(body: &str) -> String {
    format!("*** Begin Patch\n{body}*** End Patch\n")
}

#[test]
fn every_parse_error() {
    let cases: Vec<(&str, String, PatchError)> = vec![
        (
            "no patch",
            "Sure! Here is the code.".into(),
            PatchError::NoPatch,
        ),
        (
            "missing end",
            "*** Begin Patch\n*** Update File: a.rs\n@@\n-a\n+b\n".into(),
            PatchError::MissingEnd { begin: 1 },
        ),
        ("empty", wrap(""), PatchError::Empty { line: 2 }),
        (
            "second patch",
            format!(
                "{}{}",
                wrap("*** Update File: a.rs\n-a\n+b\n"),
                wrap("*** Update File: a.rs\n-a\n+b\n")
            ),
            PatchError::MultiplePatches { line: 6 },
        ),
        (
            "nested begin",
            "*** Begin Patch\n*** Begin Patch\n".into(),
            PatchError::MultiplePatches { line: 2 },
        ),
        (
            "garbage header",
            wrap("Update File: a.rs\n"),
            PatchError::Unexpected {
                line: 2,
                expected: "`*** Update File: PATH`, `*** Add File: PATH` or `*** End Patch`",
                found: "Update File: a.rs".into(),
            },
        ),
        (
            "empty path",
            wrap("*** Update File:  \n-a\n"),
            PatchError::EmptyPath { line: 2 },
        ),
        (
            "update without hunks",
            wrap("*** Update File: a.rs\n"),
            PatchError::EmptyUpdate {
                line: 2,
                path: "a.rs".into(),
            },
        ),
        (
            "hunk without changes",
            wrap("*** Update File: a.rs\n@@ fn a()\n context\n"),
            PatchError::EmptyHunk { line: 3 },
        ),
        (
            "bad hunk line",
            wrap("*** Update File: a.rs\n@@\n-a\n+b\n*x\n"),
            PatchError::Unexpected {
                line: 6,
                expected: "a hunk line starting with ' ', '-' or '+', `@@`, or a `***` header",
                found: "*x".into(),
            },
        ),
        (
            "add line without plus",
            wrap("*** Add File: b.rs\n+fn b() {}\nfn c() {}\n"),
            PatchError::Unexpected {
                line: 4,
                expected: "a line starting with '+' (every line of an added file) or a `***` header",
                found: "fn c() {}".into(),
            },
        ),
        (
            "empty add",
            wrap("*** Add File: b.rs\n"),
            PatchError::EmptyAdd {
                line: 2,
                path: "b.rs".into(),
            },
        ),
        (
            "delete",
            wrap("*** Delete File: a.rs\n"),
            PatchError::DeleteUnsupported {
                line: 2,
                path: "a.rs".into(),
            },
        ),
        (
            "move",
            wrap("*** Update File: a.rs\n*** Move to: b.rs\n@@\n-a\n+b\n"),
            PatchError::MoveUnsupported {
                line: 3,
                path: "b.rs".into(),
            },
        ),
        (
            "end of file without hunk",
            wrap("*** Update File: a.rs\n*** End of File\n"),
            PatchError::Unexpected {
                line: 3,
                expected: "hunk lines before `*** End of File`",
                found: "*** End of File".into(),
            },
        ),
        (
            "lines after end of file",
            wrap("*** Update File: a.rs\n-a\n+b\n*** End of File\n c\n"),
            PatchError::Unexpected {
                line: 6,
                expected: "a `***` header after `*** End of File`",
                found: " c".into(),
            },
        ),
    ];
    let mut messages = String::new();
    for (name, reply, want) in cases {
        let got = parse_patch(&reply).unwrap_err();
        assert_eq!(got, want, "{name}");
        messages.push_str(&format!("{name}: {got}\n"));
    }
    insta::assert_snapshot!("assist_patch_errors", messages);
}

#[test]
fn parses_prose_fences_crlf_and_all_line_kinds() {
    let reply = "Explanation first.\r\n```diff\r\n*** Begin Patch\r\n*** Update File: src/a.rs\r\n@@ fn a() {\r\n ctx\r\n\r\n-old\r\n+new\r\n*** End of File\r\n*** Add File: src/b.rs\r\n+line 1\r\n+\r\n*** End Patch\r\n```\r\nDone.";
    let patch = parse_patch(reply).unwrap();
    assert_eq!(patch.ops.len(), 2);
    let FileOp::Update { path, hunks, line } = &patch.ops[0] else {
        panic!("update expected")
    };
    assert_eq!((path.as_str(), *line), ("src/a.rs", 4));
    assert_eq!(hunks[0].anchor.as_deref(), Some("fn a() {"));
    assert!(hunks[0].end_of_file);
    assert_eq!(
        hunks[0].lines,
        vec![
            HunkLine::Context("ctx".into()),
            HunkLine::Context(String::new()),
            HunkLine::Remove("old".into()),
            HunkLine::Add("new".into()),
        ]
    );
    assert_eq!(
        patch.ops[1],
        FileOp::Add {
            path: "src/b.rs".into(),
            content: "line 1\n\n".into(),
            line: 11
        }
    );
}

fn update(path: &str) -> String {
    wrap(&format!("*** Update File: {path}\n@@\n-old\n+new\n"))
}

fn plan(
    reply: &str,
    primary: &Path,
    others: &HashMap<PathBuf, String>,
    root: Option<&Path>,
) -> Result<Vec<codex_lsp::assist::FileChange>, AssistError> {
    plan_edits(&parse_patch(reply)?, (primary, "old\n"), others, root)
}

#[test]
fn paths_must_stay_inside_the_workspace() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("victim.rs"), "old\n").unwrap();
    let ws = tempfile::tempdir().unwrap();
    let root = ws.path().canonicalize().unwrap();
    std::fs::create_dir_all(root.join("src")).unwrap();
    std::fs::write(root.join("src/main.rs"), "old\n").unwrap();
    std::os::unix::fs::symlink(outside.path(), root.join("escape")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("victim.rs"), root.join("src/link.rs")).unwrap();
    let primary = root.join("src/main.rs");
    let mut others = HashMap::new();
    others.insert(root.join("escape/victim.rs"), "old\n".to_owned());
    others.insert(root.join("src/link.rs"), "old\n".to_owned());
    others.insert(root.join("src/other.rs"), "old\n".to_owned());

    let outside_abs = outside.path().join("victim.rs");
    let refused = [
        update("../victim.rs"),
        update("src/../../victim.rs"),
        update(&outside_abs.to_string_lossy()),
        update("escape/victim.rs"),
        update("src/link.rs"),
        wrap("*** Add File: escape/new.rs\n+x\n"),
        wrap("*** Add File: ../new.rs\n+x\n"),
    ];
    let mut messages = Vec::new();
    for reply in &refused {
        let err = plan(reply, &primary, &others, Some(&root)).unwrap_err();
        assert!(
            matches!(err, AssistError::PathRefused { .. }),
            "{reply}: {err}"
        );
        messages.push(
            err.to_string()
                .replace(&*outside.path().to_string_lossy(), "<OUTSIDE>"),
        );
    }
    insta::assert_snapshot!("assist_patch_refused_paths", messages.join("\n"));

    // Inside: relative, ./-prefixed and absolute paths to the primary file.
    for p in ["src/main.rs", "./src/main.rs", &primary.to_string_lossy()] {
        let changes = plan(&update(p), &primary, &others, Some(&root)).unwrap();
        assert_eq!(changes[0].path, primary, "{p}");
    }
    // Another file, read through the source.
    let changes = plan(&update("src/other.rs"), &primary, &others, Some(&root)).unwrap();
    assert_eq!(changes[0].path, root.join("src/other.rs"));
    let err = plan(&update("src/missing.rs"), &primary, &others, Some(&root)).unwrap_err();
    assert!(matches!(err, AssistError::FileNotFound { .. }), "{err}");

    // Add File inside the root; refused when the file exists.
    let changes = plan(
        &wrap("*** Add File: tests/new_test.rs\n+#[test]\n+fn t() {}\n"),
        &primary,
        &others,
        Some(&root),
    )
    .unwrap();
    assert_eq!(changes[0].path, root.join("tests/new_test.rs"));
    assert_eq!(
        changes[0].kind,
        FileChangeKind::Create {
            content: "#[test]\nfn t() {}\n".into()
        }
    );
    let err = plan(
        &wrap("*** Add File: src/main.rs\n+x\n"),
        &primary,
        &others,
        Some(&root),
    )
    .unwrap_err();
    assert!(matches!(err, AssistError::AlreadyExists { .. }), "{err}");
    let err = plan(
        &wrap("*** Add File: src/n.rs\n+x\n*** Update File: src/n.rs\n@@\n-x\n+y\n"),
        &primary,
        &others,
        Some(&root),
    )
    .unwrap_err();
    assert!(
        matches!(err, AssistError::ConflictingOperations { .. }),
        "{err}"
    );
}

#[test]
fn without_a_workspace_only_the_primary_file() {
    let primary = PathBuf::from("/tmp/lonely/main.py");
    let others = HashMap::new();
    for p in ["main.py", "/tmp/lonely/main.py"] {
        let changes = plan(&update(p), &primary, &others, None).unwrap();
        assert_eq!(changes[0].path, primary);
    }
    let err = plan(&update("other.py"), &primary, &others, None).unwrap_err();
    assert!(
        err.to_string().contains("without a workspace folder"),
        "{err}"
    );
    let err = plan(&wrap("*** Add File: new.py\n+x\n"), &primary, &others, None).unwrap_err();
    assert!(
        err.to_string().contains("inside a workspace folder"),
        "{err}"
    );
}

#[test]
fn redaction_placeholders_are_never_written() {
    let primary = PathBuf::from("/ws/a.env.example");
    let reply = wrap("*** Update File: a.env.example\n@@\n-old\n+KEY=[REDACTED:secret]\n");
    let err = plan(&reply, &primary, &HashMap::new(), Some(Path::new("/ws"))).unwrap_err();
    assert!(
        matches!(err, AssistError::WritesRedaction { line: 3, .. }),
        "{err}"
    );
}

#[test]
fn hunks_apply_in_order_and_sections_of_one_file_chain() {
    let primary = PathBuf::from("/ws/a.txt");
    let text = "a\nb\nc\nd\n";
    let reply = wrap(
        "*** Update File: a.txt\n@@\n-a\n+A\n@@\n-c\n+C\n*** Update File: a.txt\n@@\n-A\n+AA\n",
    );
    let changes = plan_edits(
        &parse_patch(&reply).unwrap(),
        (&primary, text),
        &HashMap::new(),
        Some(Path::new("/ws")),
    )
    .unwrap();
    let FileChangeKind::Update { edits } = &changes[0].kind else {
        panic!()
    };
    assert_eq!(apply_edits(text, edits).unwrap(), "AA\nb\nC\nd\n");
    // Out of order: the second hunk's lines are before the first's end.
    let reply = wrap("*** Update File: a.txt\n@@\n-c\n+C\n@@\n-a\n+A\n");
    let err = plan_edits(
        &parse_patch(&reply).unwrap(),
        (&primary, text),
        &HashMap::new(),
        Some(Path::new("/ws")),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            AssistError::HunkOutOfOrder {
                hunk_line: 6,
                found: 1,
                ..
            }
        ),
        "{err}"
    );
}

/// A file of unique lines, a change somewhere, and the patch a model would
/// write for it (up to 3 lines of context each side).
fn scenario() -> impl Strategy<Value = (Vec<String>, usize, usize, Vec<String>, usize, bool, bool)>
{
    (
        proptest::collection::vec("[a-zé日😀 ]{0,8}", 1..30),
        any::<proptest::sample::Index>(),
        0usize..4,
        proptest::collection::vec("[a-zé日😀 ]{0,8}", 0..4),
        0usize..4,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(words, at, removed, added, ctx, crlf, final_newline)| {
            let lines: Vec<String> = words
                .iter()
                .enumerate()
                .map(|(i, w)| format!("{i}:{w}"))
                .collect();
            let start = at.index(lines.len());
            let removed = removed.min(lines.len() - start);
            (lines, start, removed, added, ctx, crlf, final_newline)
        })
        .prop_filter(
            "a hunk must change something",
            |(_, _, removed, added, _, _, _)| *removed > 0 || !added.is_empty(),
        )
}

proptest! {
    #[test]
    fn applier_and_minimal_edits_rebuild_the_patched_text(
        (lines, start, removed, added, ctx, crlf, final_newline) in scenario()
    ) {
        // A file without any line break carries no line-ending style; the
        // applier then uses "\n" for added lines.
        let has_break = lines.len() > 1 || final_newline;
        let eol = if crlf && has_break { "\r\n" } else { "\n" };
        let join = |ls: &[String]| {
            let mut s = ls.join(eol);
            if final_newline && !ls.is_empty() { s.push_str(eol); }
            s
        };
        let old = join(&lines);
        let mut new_lines = lines.clone();
        new_lines.splice(start..start + removed, added.iter().cloned());
        let expected = join(&new_lines);

        let before = start.saturating_sub(ctx);
        let after = (start + removed + ctx).min(lines.len());
        let mut body = String::from("*** Update File: f.txt\n@@\n");
        for l in &lines[before..start] { body.push_str(&format!(" {l}\n")); }
        for l in &lines[start..start + removed] { body.push_str(&format!("-{l}\n")); }
        for l in &added { body.push_str(&format!("+{l}\n")); }
        for l in &lines[start + removed..after] { body.push_str(&format!(" {l}\n")); }
        let pure_insert_without_context = removed == 0 && before == start && after == start;
        if pure_insert_without_context && start < lines.len() {
            // Nothing to locate the insertion by; such hunks append at the end.
            return Ok(());
        }
        let reply = wrap(&body);
        let primary = PathBuf::from("/ws/f.txt");
        let changes = plan_edits(&parse_patch(&reply).unwrap(), (&primary, &old), &HashMap::new(), Some(Path::new("/ws")));
        let changes = changes.map_err(|e| TestCaseError::fail(format!("{e}\n{reply}")))?;
        let rebuilt = match changes.first() {
            None => old.clone(),
            Some(c) => match &c.kind {
                FileChangeKind::Update { edits } => {
                    for e in edits {
                        prop_assert!(old.is_char_boundary(e.range.start) && old.is_char_boundary(e.range.end));
                    }
                    apply_edits(&old, edits).unwrap()
                }
                FileChangeKind::Create { .. } => unreachable!(),
            },
        };
        // Added lines take the file's line ending; a missing final newline stays missing.
        prop_assert_eq!(rebuilt, expected);
    }
}

/// Plans `body` (hunks of `config.py`) against `text` and returns the text
/// the edits give, or the error.
fn patched(text: &str, body: &str) -> Result<String, AssistError> {
    let primary = PathBuf::from("/ws/config.py");
    let reply = wrap(&format!("*** Update File: config.py\n{body}"));
    let changes = plan_edits(
        &parse_patch(&reply).unwrap(),
        (&primary, text),
        &HashMap::new(),
        Some(Path::new("/ws")),
    )?;
    let FileChangeKind::Update { edits } = &changes[0].kind else {
        panic!("{changes:?}");
    };
    Ok(apply_edits(text, edits).unwrap())
}

#[test]
fn hunks_may_quote_lines_as_redacted_in_the_prompt() {
    let token = "q8Zr2LmX9vTb4NcW7pKd";
    let other = "Z1x9Qw8Er7Ty6Ui5Op4A";
    let text =
        format!("import os\n\nAPI_TOKEN = \"{token}\"\nBACKUP_TOKEN = \"{other}\"\nTIMEOUT = 10\n");
    // What the model saw, copied as the instructions ask.
    let shown = codex_lsp::assist::redact(&text).into_owned();
    assert!(
        shown.contains("API_TOKEN = \"[REDACTED:secret]\""),
        "{shown}"
    );
    let line = |name: &str| {
        shown
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap()
            .to_owned()
    };
    let (api, backup) = (line("API_TOKEN"), line("BACKUP_TOKEN"));

    // Context lines in their redacted form match the real text, and the
    // real secret stays.
    assert_eq!(
        patched(
            &text,
            &format!("@@\n {api}\n {backup}\n-TIMEOUT = 10\n+TIMEOUT = 30\n")
        )
        .as_deref(),
        Ok(text.replace("TIMEOUT = 10", "TIMEOUT = 30").as_str())
    );
    // A rewritten line keeps its secret: the placeholder is restored.
    assert_eq!(
        patched(
            &text,
            &format!("@@\n-{api}\n+{api}  # rotated yearly\n {backup}\n")
        )
        .as_deref(),
        Ok(text
            .replace(
                &format!("\"{token}\""),
                &format!("\"{token}\"  # rotated yearly")
            )
            .as_str())
    );
    // A placeholder that could stand for either secret is refused, never
    // written and never guessed.
    let err = patched(
        &text,
        &format!("@@\n-{api}\n-{backup}\n+ALL_TOKENS = [\"[REDACTED:secret]\"]\n"),
    )
    .unwrap_err();
    assert!(matches!(err, AssistError::WritesRedaction { .. }), "{err}");
    // A placeholder with nothing to restore from is refused as before.
    let err = patched(&text, "@@\n-TIMEOUT = 10\n+KEY = \"[REDACTED:secret]\"\n").unwrap_err();
    assert!(matches!(err, AssistError::WritesRedaction { .. }), "{err}");
}

#[test]
fn hunks_may_quote_a_redacted_private_key_block() {
    let text = "KEY = \"\"\"\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA1234567890\nabcdefghijklmnop\n-----END RSA PRIVATE KEY-----\n\"\"\"\nNAME = 'x'\n";
    let shown = codex_lsp::assist::redact(text).into_owned();
    assert!(shown.contains("\n[REDACTED:private-key]\n"), "{shown}");
    let body = "@@\n -----BEGIN RSA PRIVATE KEY-----\n [REDACTED:private-key]\n -----END RSA PRIVATE KEY-----\n \"\"\"\n-NAME = 'x'\n+NAME = 'y'\n";
    assert_eq!(
        patched(text, body).as_deref(),
        Ok(text.replace("NAME = 'x'", "NAME = 'y'").as_str())
    );
}

#[test]
fn a_redacted_block_is_kept_or_removed_whole() {
    // A key written on one line with `\n` escapes: redaction shows it as
    // three lines, the file has one.
    let text = "K = \"-----BEGIN PRIVATE KEY-----\\nMIIEabc\\n-----END PRIVATE KEY-----\"\nN = 1\n";
    let shown = codex_lsp::assist::redact(text).into_owned();
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(lines.len(), 4, "{shown}");
    let whole = format!(
        "@@\n {}\n {}\n {}\n-N = 1\n+N = 2\n",
        lines[0], lines[1], lines[2]
    );
    assert_eq!(
        patched(text, &whole).as_deref(),
        Ok(text.replace("N = 1", "N = 2").as_str())
    );
    let removed = format!("@@\n-{}\n-{}\n-{}\n N = 1\n", lines[0], lines[1], lines[2]);
    assert_eq!(patched(text, &removed).as_deref(), Ok("N = 1\n"));
    let half = format!("@@\n {}\n-{}\n {}\n", lines[0], lines[1], lines[2]);
    let err = patched(text, &half).unwrap_err();
    assert!(matches!(err, AssistError::SplitsRedaction { .. }), "{err}");
}

/// Expands a patch fixture's spelled-out invisible characters.
fn unescape(text: &str) -> String {
    text.replace("<TAB>", "\t")
        .replace("<CR>\n", "\r\n")
        .replace("<BOM>", "\u{feff}")
        .replace("<NBSP>", "\u{a0}")
}

/// Patch-matching fixtures (`tests/fixtures/patch/*.txt`): a file, a
/// reply and the text the edits give (or a piece of the error). Invisible
/// characters are spelled `<TAB>`, `<CR>` (before a line break), `<BOM>`
/// and `<NBSP>`; the flag line `=== no-final-newline` drops the source's and
/// the expected text's last line break. The file is named by the reply's
/// first file header.
#[test]
fn patch_fixtures() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/patch");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 15, "fixtures missing in {}", dir.display());
    let mut failures = Vec::new();
    for path in paths {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let raw = std::fs::read_to_string(&path).unwrap();
        let mut sections: HashMap<String, String> = HashMap::new();
        let mut current: Option<String> = None;
        let mut no_final_newline = false;
        for line in raw.split_inclusive('\n') {
            if let Some(header) = line.strip_prefix("=== ") {
                match header.trim() {
                    "no-final-newline" => no_final_newline = true,
                    section => {
                        sections.insert(section.to_owned(), String::new());
                        current = Some(section.to_owned());
                    }
                }
            } else if let Some(c) = &current {
                sections.get_mut(c).unwrap().push_str(line);
            }
        }
        let shape = |s: &str| {
            let s = unescape(s);
            if no_final_newline {
                s.strip_suffix('\n').unwrap_or(&s).to_owned()
            } else {
                s
            }
        };
        let source = shape(&sections["source"]);
        let reply = unescape(&sections["reply"]);
        let file = reply
            .lines()
            .find_map(|l| {
                let l = l.trim();
                l.strip_prefix("*** Update File: ")
                    .or_else(|| l.strip_prefix("*** Add File: "))
            })
            .unwrap_or_else(|| panic!("{name}: no file header"))
            .trim()
            .to_owned();
        let root = tempfile::tempdir().unwrap();
        let primary = root.path().join(&file);
        std::fs::write(&primary, &source).unwrap();
        // The same on a window of the file as on all of it.
        let windowed = parse_patch(&reply)
            .map_err(AssistError::from)
            .and_then(|p| {
                plan_edits_with(
                    &p,
                    (&primary, &ropey::Rope::from_str(&source)),
                    &HashMap::<PathBuf, String>::new(),
                    Some(root.path()),
                    Windowing::Always,
                )
            });
        let outcome = parse_patch(&reply)
            .map_err(AssistError::from)
            .and_then(|p| plan_edits(&p, (&primary, &source), &HashMap::new(), Some(root.path())));
        if format!("{windowed:?}") != format!("{outcome:?}") {
            failures.push(format!("{name}: windowed {windowed:?}, whole {outcome:?}"));
        }
        let outcome = outcome.map(|changes| {
            let FileChangeKind::Update { edits } = &changes[0].kind else {
                panic!("{name}: {changes:?}");
            };
            apply_edits(&source, edits).unwrap()
        });
        match (outcome, sections.get("expected"), sections.get("error")) {
            (Ok(text), Some(expected), None) if text == shape(expected) => {}
            (Err(e), None, Some(want)) if e.to_string().contains(want.trim()) => {}
            (outcome, _, _) => failures.push(format!("{name}: {outcome:?}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
