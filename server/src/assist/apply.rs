//! Applying parsed hunks to a snapshot's text.
//!
//! Each hunk's old lines (context and removed) are searched from where the
//! previous hunk ended: exactly first, then ignoring trailing whitespace, then
//! ignoring all whitespace. The first level with any match decides; more than
//! one match there is ambiguous and refused, none at all is refused too. An
//! `@@ anchor` narrows the search to the block under the anchor line. Context
//! lines keep the file's own text (a fuzzy match never rewrites them), and the
//! file's line endings are kept: added lines take the file's dominant ending.

use crate::assist::error::AssistError;
use crate::assist::patch::{Hunk, HunkLine};
use crate::assist::privacy::REDACTION_PREFIX;

/// A line of the file: its content and its ending (`"\n"`, `"\r\n"` or `""`
/// for a last line without one).
#[derive(Debug, Clone)]
struct Line<'a> {
    content: std::borrow::Cow<'a, str>,
    eol: &'static str,
}

fn split_lines(text: &str) -> Vec<Line<'_>> {
    let mut out = Vec::new();
    for raw in text.split_inclusive('\n') {
        let (content, eol) = if let Some(c) = raw.strip_suffix("\r\n") {
            (c, "\r\n")
        } else if let Some(c) = raw.strip_suffix('\n') {
            (c, "\n")
        } else {
            (raw, "")
        };
        out.push(Line {
            content: std::borrow::Cow::Borrowed(content),
            eol,
        });
    }
    out
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Level {
    Exact,
    TrimEnd,
    NoWhitespace,
}

fn same(level: Level, file: &str, patch: &str) -> bool {
    match level {
        Level::Exact => file == patch,
        Level::TrimEnd => file.trim_end() == patch.trim_end(),
        Level::NoWhitespace => file
            .chars()
            .filter(|c| !c.is_whitespace())
            .eq(patch.chars().filter(|c| !c.is_whitespace())),
    }
}

/// Starts `s` in `[from, to)` where `pattern` matches at `level`.
fn find_all(
    lines: &[Line<'_>],
    pattern: &[&str],
    from: usize,
    to: usize,
    level: Level,
) -> Vec<usize> {
    let to = to.min(lines.len());
    if pattern.len() > to.saturating_sub(from) {
        return Vec::new();
    }
    (from..=to - pattern.len())
        .filter(|&s| {
            pattern
                .iter()
                .enumerate()
                .all(|(k, p)| same(level, &lines[s + k].content, p))
        })
        .collect()
}

/// Finds the unique place of `pattern` in `[from, to)`, trying the levels in
/// order. `Ok(None)` when nothing matches.
fn locate(
    lines: &[Line<'_>],
    pattern: &[&str],
    from: usize,
    to: usize,
    end_of_file: bool,
    hunk: &Hunk,
    path: &str,
) -> Result<Option<usize>, AssistError> {
    for level in [Level::Exact, Level::TrimEnd, Level::NoWhitespace] {
        let mut hits = find_all(lines, pattern, from, to, level);
        if end_of_file {
            hits.retain(|&s| s + pattern.len() == lines.len());
        }
        match hits.len() {
            0 => continue,
            1 => return Ok(hits.first().copied()),
            count => {
                return Err(AssistError::AmbiguousHunk {
                    path: path.to_owned(),
                    hunk_line: hunk.line,
                    count,
                    first: hits[0] + 1,
                    second: hits[1] + 1,
                });
            }
        }
    }
    Ok(None)
}

fn indent(s: &str) -> usize {
    s.len() - s.trim_start().len()
}

/// End (exclusive) of the block that starts at the anchor line: up to the
/// next non-blank line indented no deeper than the anchor, past a closer.
fn anchor_scope(lines: &[Line<'_>], anchor: usize) -> usize {
    let base = indent(&lines[anchor].content);
    for (k, line) in lines.iter().enumerate().skip(anchor + 1) {
        let t = line.content.trim();
        if t.is_empty() {
            continue;
        }
        if indent(&line.content) <= base {
            let closer = t.chars().all(|c| matches!(c, '}' | ')' | ']' | ';' | ',')) || t == "end";
            return if closer { k + 1 } else { k };
        }
    }
    lines.len()
}

/// Applies hunks, in order, to `text` (a file named `path` in messages).
pub fn apply_hunks(text: &str, hunks: &[Hunk], path: &str) -> Result<String, AssistError> {
    let mut lines = split_lines(text);
    let dominant: &'static str = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let ends_with_newline = text.is_empty() || text.ends_with('\n');
    let mut cursor = 0;
    for hunk in hunks {
        if hunk
            .lines
            .iter()
            .any(|l| matches!(l, HunkLine::Add(s) if s.contains(REDACTION_PREFIX)))
        {
            return Err(AssistError::WritesRedaction {
                path: path.to_owned(),
                line: hunk.line,
            });
        }
        let mut body: Vec<&HunkLine> = hunk.lines.iter().collect();
        let (start, from_anchor) = loop {
            let old: Vec<&str> = body
                .iter()
                .filter_map(|l| match l {
                    HunkLine::Context(s) | HunkLine::Remove(s) => Some(s.as_str()),
                    HunkLine::Add(_) => None,
                })
                .collect();
            let (from, to, anchor_line) = match &hunk.anchor {
                Some(anchor) => {
                    let a = (cursor..lines.len())
                        .find(|&k| lines[k].content == anchor.as_str())
                        .or_else(|| {
                            (cursor..lines.len())
                                .find(|&k| lines[k].content.trim() == anchor.trim())
                        })
                        .ok_or_else(|| AssistError::AnchorNotFound {
                            path: path.to_owned(),
                            hunk_line: hunk.line,
                            anchor: anchor.clone(),
                        })?;
                    (a + 1, anchor_scope(&lines, a), Some(a))
                }
                None => (cursor, lines.len(), None),
            };
            if old.is_empty() {
                // Pure insertion: after the anchor, else at the end.
                break (anchor_line.map_or(lines.len(), |a| a + 1), true);
            }
            let mut found = locate(&lines, &old, from, to, hunk.end_of_file, hunk, path)?;
            if found.is_none() && anchor_line.is_some() {
                found = locate(
                    &lines,
                    &old,
                    from,
                    lines.len(),
                    hunk.end_of_file,
                    hunk,
                    path,
                )?;
            }
            if let Some(s) = found {
                break (s, false);
            }
            // A trailing empty context line often stands for the file's final
            // newline; retry once without it.
            if matches!(body.last(), Some(HunkLine::Context(s)) if s.is_empty()) {
                body.pop();
                continue;
            }
            return Err(AssistError::HunkNotFound {
                path: path.to_owned(),
                hunk_line: hunk.line,
                first_line: old.first().map_or_else(String::new, |s| (*s).to_owned()),
            });
        };
        let mut replacement: Vec<Line<'_>> = Vec::new();
        let mut k = start;
        for l in &body {
            match l {
                HunkLine::Context(_) if !from_anchor => {
                    replacement.push(lines[k].clone());
                    k += 1;
                }
                HunkLine::Context(s) => replacement.push(Line {
                    content: std::borrow::Cow::Owned(s.clone()),
                    eol: dominant,
                }),
                HunkLine::Remove(_) => k += 1,
                HunkLine::Add(s) => replacement.push(Line {
                    content: std::borrow::Cow::Owned(s.clone()),
                    eol: dominant,
                }),
            }
        }
        let consumed = k - start;
        // Keep the file's missing final newline if the hunk reached the end.
        let touches_end = start + consumed == lines.len();
        let replaced_len = replacement.len();
        lines.splice(start..start + consumed, replacement);
        cursor = start + replaced_len;
        if touches_end {
            fix_last_eol(&mut lines, ends_with_newline, dominant);
        } else if cursor > 0 && lines[cursor - 1].eol.is_empty() {
            lines[cursor - 1].eol = dominant;
        }
    }
    let mut out = String::with_capacity(text.len() + 64);
    for l in &lines {
        out.push_str(&l.content);
        out.push_str(l.eol);
    }
    Ok(out)
}

fn fix_last_eol(lines: &mut [Line<'_>], ends_with_newline: bool, dominant: &'static str) {
    let n = lines.len();
    for (i, l) in lines.iter_mut().enumerate() {
        if i + 1 < n && l.eol.is_empty() {
            l.eol = dominant;
        }
    }
    if let Some(last) = lines.last_mut() {
        last.eol = if ends_with_newline {
            if last.eol.is_empty() {
                dominant
            } else {
                last.eol
            }
        } else {
            ""
        };
    }
}
