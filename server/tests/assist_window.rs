//! Hunks applied on a window of a file around where they can match
//! (`Windowing::Always`) must give exactly what applying them to the whole
//! file gives (`Windowing::Never`, the applier as it was): the same edits
//! and guards, or the same error, on random files and patches built to hit
//! the hard cases: repeated lines (ambiguity), lines matching only loosely
//! (trailing or surrounding whitespace, typographic characters, all
//! whitespace), anchors, hunks out of order, the end of the file, CRLF and
//! mixed endings, a byte-order mark, a missing final newline, secrets and
//! placeholders, several sections of one file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use codex_lsp::assist::{Windowing, parse_patch, plan_edits_with};
use proptest::prelude::*;
use ropey::Rope;

/// Lines that repeat and look alike, so hunks are often ambiguous or match
/// only at a looser pass.
const POOL: &[&str] = &[
    "fn a() {",
    "fn  a()  {",
    "fn a(){",
    "fn b() {",
    "}",
    "",
    "    x = 1;",
    "    x = 1;  ",
    "\tx = 1;",
    "  x  =  1;",
    "    let s = \u{201c}q\u{201d};",
    "    let s = \"q\";",
    "    y \u{2013} 2",
    "    y - 2",
    "api_key = \"abcd1234efgh5678\"",
    "    token: hunter22x",
    "    password = 'p4ssw0rd!'",
    "    [REDACTED:secret]",
    "\u{feff}odd",
    "    call(a, b)",
];

/// A file line: an index into [`POOL`], or a unique line.
fn file_line() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => (0usize..1000).prop_map(|i| format!("    unique_{i}();")),
        2 => proptest::sample::select(POOL).prop_map(str::to_owned),
    ]
}

/// How a hunk quotes a file line.
fn quote(line: &str, how: u8) -> String {
    match how {
        0 => line.trim_end().to_owned(),
        1 => format!("  {}", line.trim()),
        2 => line
            .replace('"', "\u{201c}")
            .replace(['\u{201c}', '\u{201d}'], "\"")
            .replace('\u{2013}', "-"),
        3 => line.replace(' ', ""),
        4 => codex_lsp::assist::redact(line).into_owned(),
        _ => line.to_owned(),
    }
}

#[derive(Debug, Clone)]
struct HunkSpec {
    /// Where its old lines start (an index into the file, wrapped).
    at: usize,
    context_before: usize,
    removed: usize,
    context_after: usize,
    added: Vec<String>,
    /// How each old line (and the anchor, first) is quoted ([`quote`]);
    /// 5 and up: exactly.
    how: Vec<u8>,
    /// An anchor: the line this many lines above `at`.
    anchor: Option<usize>,
    end_of_file: bool,
    /// Old lines from the pool instead of the file (often not found).
    invented: Option<String>,
}

fn hunk_spec() -> impl Strategy<Value = HunkSpec> {
    (
        any::<usize>(),
        0usize..4,
        0usize..3,
        0usize..4,
        proptest::collection::vec(file_line(), 0..3),
        proptest::collection::vec(0u8..14, 12),
        proptest::option::weighted(0.3, 0usize..30),
        proptest::bool::weighted(0.1),
        proptest::option::weighted(0.1, proptest::sample::select(POOL).prop_map(str::to_owned)),
    )
        .prop_map(
            |(
                at,
                context_before,
                removed,
                context_after,
                added,
                how,
                anchor,
                end_of_file,
                invented,
            )| {
                HunkSpec {
                    at,
                    context_before,
                    removed,
                    context_after,
                    added,
                    how,
                    anchor,
                    end_of_file,
                    invented,
                }
            },
        )
}

/// The body of one `Update` section for `lines`.
fn section(lines: &[String], hunks: &[HunkSpec]) -> String {
    let mut body = String::from("*** Update File: f.rs\n");
    for h in hunks {
        let n = lines.len().max(1);
        let start = h.at % n;
        let old: Vec<String> = match &h.invented {
            Some(line) => vec![line.clone()],
            None => lines
                .iter()
                .skip(start)
                .take(h.context_before + h.removed + h.context_after)
                .cloned()
                .collect(),
        };
        match h.anchor.map(|up| start.saturating_sub(up + 1)) {
            Some(a) if a < lines.len() => {
                body.push_str(&format!("@@ {}\n", quote(&lines[a], h.how[0])));
            }
            _ => body.push_str("@@\n"),
        }
        let before = h.context_before.min(old.len());
        let removed = h.removed.min(old.len() - before);
        for (i, l) in old.iter().enumerate() {
            let q = quote(l, h.how[1 + i % 11]);
            if i < before || i >= before + removed {
                body.push_str(&format!(" {q}\n"));
            } else {
                body.push_str(&format!("-{q}\n"));
            }
            if i + 1 == before {
                for a in &h.added {
                    body.push_str(&format!("+{a}\n"));
                }
            }
        }
        if before == 0 {
            for a in &h.added {
                body.push_str(&format!("+{a}\n"));
            }
        }
        if h.end_of_file {
            body.push_str("*** End of File\n");
        }
    }
    body
}

fn scenario() -> impl Strategy<Value = (String, String)> {
    (
        proptest::collection::vec(file_line(), 0..400),
        proptest::collection::vec(hunk_spec(), 1..4),
        proptest::option::weighted(0.2, proptest::collection::vec(hunk_spec(), 1..3)),
        0u8..4,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(lines, hunks, second, endings, final_newline, bom)| {
            let mut text = String::new();
            if bom {
                text.push('\u{feff}');
            }
            for (i, l) in lines.iter().enumerate() {
                text.push_str(l);
                let last = i + 1 == lines.len();
                if !last || final_newline {
                    text.push_str(match endings {
                        0 | 1 => "\n",
                        2 => "\r\n",
                        _ if i % 3 == 0 => "\r\n",
                        _ => "\n",
                    });
                }
            }
            let mut body = section(&lines, &hunks);
            if let Some(second) = second {
                body.push_str(&section(&lines, &second));
            }
            (text, format!("*** Begin Patch\n{body}*** End Patch\n"))
        })
}

fn plan(text: &str, reply: &str, windowing: Windowing) -> Result<String, String> {
    let patch = parse_patch(reply).map_err(|e| format!("parse: {e}"))?;
    plan_edits_with(
        &patch,
        (&PathBuf::from("/ws/f.rs"), &Rope::from_str(text)),
        &HashMap::<PathBuf, String>::new(),
        Some(Path::new("/ws")),
        windowing,
    )
    .map(|changes| format!("{changes:?}"))
    .map_err(|e| e.to_string())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    #[test]
    fn a_window_decides_as_the_whole_file((text, reply) in scenario()) {
        let whole = plan(&text, &reply, Windowing::Never);
        let window = plan(&text, &reply, Windowing::Always);
        prop_assert_eq!(window, whole, "text {:?}\nreply {}", text, reply);
    }
}

/// A big file with the hunk's lines once near its middle: the window holds
/// them; the same lines twice, one at each end: still refused as ambiguous.
#[test]
fn twins_far_apart_are_still_ambiguous() {
    let mut lines: Vec<String> = (0..5000).map(|i| format!("    unique_{i}();")).collect();
    lines[2500] = "    target();".to_owned();
    let reply = "*** Begin Patch\n*** Update File: f.rs\n@@\n     target();\n+    added();\n*** End Patch\n";
    let text = lines.join("\n") + "\n";
    let ok = plan(&text, reply, Windowing::Always);
    assert_eq!(ok, plan(&text, reply, Windowing::Never));
    assert!(ok.is_ok(), "{ok:?}");
    lines[3] = "    target();".to_owned();
    lines[4990] = "    target();".to_owned();
    let text = lines.join("\n") + "\n";
    let err = plan(&text, reply, Windowing::Always);
    assert_eq!(err, plan(&text, reply, Windowing::Never));
    assert!(
        err.as_ref().is_err_and(|e| e.contains("matches 3 places")),
        "{err:?}"
    );
}

/// A hunk whose telling line is found exactly in the window but whose other
/// line matches only ignoring whitespace: a loose twin far away makes the
/// whole file ambiguous at that pass, so the window must not decide alone.
#[test]
fn a_loose_match_far_away_still_counts() {
    let mut lines: Vec<String> = (0..300).map(|i| format!("    unique_{i}();")).collect();
    lines[150] = "fn a() {".to_owned();
    lines[151] = "\tx = 1;".to_owned();
    let reply = "*** Begin Patch\n*** Update File: f.rs\n@@\n fn a() {\n-x=1;\n+    y = 2;\n*** End Patch\n";
    let text = lines.join("\n") + "\n";
    let ok = plan(&text, reply, Windowing::Always);
    assert!(ok.is_ok(), "{ok:?}");
    assert_eq!(ok, plan(&text, reply, Windowing::Never));
    lines[10] = "fn  a()  {".to_owned();
    lines[11] = "x = 1;".to_owned();
    let text = lines.join("\n") + "\n";
    let err = plan(&text, reply, Windowing::Always);
    assert!(
        err.as_ref().is_err_and(|e| e.contains("matches 2 places")),
        "{err:?}"
    );
    assert_eq!(err, plan(&text, reply, Windowing::Never));
}
