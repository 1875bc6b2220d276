//! Fixture-driven tests of the assist core: each file in
//! `tests/fixtures/assist/` holds a source with a cursor or selection marker,
//! a scripted model reply, and the expected text (or error). The region, the
//! prompt's markers and the minimal edits are snapshot-tested.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use codex_lsp::assist::diff::apply_edits;
use codex_lsp::assist::{
    ActionKind, ContextRequest, FileChangeKind, build_prompt, parse_patch, plan_edits,
    target_region,
};
use codex_lsp::config::Settings;
use ropey::Rope;

struct Fixture {
    name: String,
    sections: BTreeMap<String, String>,
    flags: Vec<String>,
}

fn load(path: &Path) -> Fixture {
    let raw = std::fs::read_to_string(path).unwrap();
    let mut sections = BTreeMap::new();
    let mut flags = Vec::new();
    let mut current: Option<String> = None;
    for line in raw.split_inclusive('\n') {
        if let Some(header) = line.strip_prefix("=== ") {
            let header = header.trim();
            if let Some((k, v)) = header.split_once(": ") {
                sections.insert(k.to_owned(), v.to_owned());
                current = None;
            } else if matches!(header, "source" | "reply" | "expected" | "error") {
                sections.insert(header.to_owned(), String::new());
                current = Some(header.to_owned());
            } else {
                flags.push(header.to_owned());
                current = None;
            }
        } else if let Some(c) = &current {
            sections.get_mut(c).unwrap().push_str(line);
        }
    }
    Fixture {
        name: path.file_stem().unwrap().to_string_lossy().into_owned(),
        sections,
        flags,
    }
}

/// Applies the fixture's flags to a text section.
fn shape(f: &Fixture, text: &str) -> String {
    let mut t = text.to_owned();
    if f.flags.iter().any(|x| x == "no-final-newline") {
        t = t.strip_suffix('\n').unwrap_or(&t).to_owned();
    }
    if f.flags.iter().any(|x| x == "crlf") {
        t = t.replace('\n', "\r\n");
    }
    t
}

/// Removes the markers: (text, selection, cursor).
fn markers(src: &str) -> (String, Option<std::ops::Range<usize>>, usize) {
    if let (Some(a), Some(_)) = (src.find("<|sel|>"), src.find("<|/sel|>")) {
        let without = src.replacen("<|sel|>", "", 1);
        let b = without.find("<|/sel|>").unwrap();
        return (without.replacen("<|/sel|>", "", 1), Some(a..b), a);
    }
    let c = src
        .find("<|cursor|>")
        .expect("fixture needs a cursor or selection");
    (src.replacen("<|cursor|>", "", 1), None, c)
}

fn run(f: &Fixture) -> String {
    let lang = &f.sections["language"];
    let rel = &f.sections["path"];
    let (text, selection, cursor) = markers(&shape(f, &f.sections["source"]));
    let rope = Rope::from_str(&text);
    let region = target_region(lang, &rope, selection, cursor);
    let root = PathBuf::from("/nonexistent-ws");
    let file = root.join(rel);
    let settings = Settings::default();
    let prompt = build_prompt(&ContextRequest {
        workspace_root: Some(&root),
        file_path: &file,
        language_id: lang,
        text: &rope,
        region: region.clone(),
        action: ActionKind::Rewrite,
        instruction: Some("do it"),
        diagnostics: &[],
        agents_md: Vec::new(),
        other_documents: Vec::new(),
        settings: &settings,
    })
    .unwrap();
    // The file is sent unmarked (a stable cache prefix); the task repeats the
    // region after the file.
    let region_first_line = text[region.range.clone()]
        .lines()
        .next()
        .unwrap_or("")
        .trim();
    let file_end = prompt.input.find("</file>").unwrap();
    assert!(
        prompt.input[file_end..].contains(region_first_line),
        "task repeats the region"
    );
    assert!(prompt.input.contains(&format!("<file path=\"{rel}\"")));

    let mut out = String::new();
    writeln!(
        out,
        "region ({:?}):\n{}\n---",
        region.kind,
        &text[region.range.clone()]
    )
    .unwrap();
    let reply = &f.sections["reply"];
    let result = parse_patch(reply)
        .map_err(codex_lsp::assist::AssistError::from)
        .and_then(|p| {
            plan_edits(
                &p,
                (&file, &text),
                &HashMap::<PathBuf, String>::new(),
                Some(&root),
            )
        });
    match (result, f.sections.get("expected"), f.sections.get("error")) {
        (Ok(changes), Some(expected), None) => {
            let expected = shape(f, expected);
            assert_eq!(changes.len(), 1, "{}", f.name);
            assert_eq!(changes[0].path, file);
            let FileChangeKind::Update { edits } = &changes[0].kind else {
                panic!("{}: expected an update", f.name);
            };
            let applied = apply_edits(&text, edits).unwrap();
            assert_eq!(applied, expected, "{}", f.name);
            for e in edits {
                assert!(text.is_char_boundary(e.range.start) && text.is_char_boundary(e.range.end));
                writeln!(
                    out,
                    "edit {:?} -> {:?} (was {:?})",
                    e.range,
                    e.new_text,
                    &text[e.range.clone()]
                )
                .unwrap();
            }
        }
        (Err(e), None, Some(want)) => {
            let msg = e.to_string();
            assert!(
                msg.contains(want.trim()),
                "{}: error `{msg}` lacks `{}`",
                f.name,
                want.trim()
            );
            writeln!(out, "error: {msg}").unwrap();
        }
        (other, _, _) => panic!("{}: unexpected outcome {other:?}", f.name),
    }
    out
}

#[test]
fn fixtures() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/assist");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 10, "fixtures missing in {}", dir.display());
    for path in paths {
        let f = load(&path);
        let rendered = run(&f);
        insta::assert_snapshot!(format!("assist_fixture_{}", f.name), rendered);
    }
}
