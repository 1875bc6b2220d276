//! Applying parsed hunks to a snapshot's text.
//!
//! Each hunk's old lines (context and removed) are searched from where the
//! previous hunk ended: exactly first, then ignoring trailing whitespace, then
//! ignoring all whitespace. The first level with any match decides; more than
//! one match there is ambiguous and refused, none at all is refused too. An
//! `@@ anchor` narrows the search to the block under the anchor line. Context
//! lines keep the file's own text (a fuzzy match never rewrites them), and the
//! file's line endings are kept: added lines take the file's dominant ending.

use std::ops::Range;

use crate::assist::error::AssistError;
use crate::assist::patch::{Hunk, HunkLine};
use crate::assist::privacy::REDACTION_PREFIX;

/// A line of the file being patched: its content (a slice of the original
/// text, or the patch's own text for added lines), its ending (`"\n"`,
/// `"\r\n"` or `""` for a last line without one) and where it came from.
#[derive(Debug, Clone)]
struct Line {
    content: Text,
    eol: &'static str,
    /// Byte range of the whole line (ending included) in the original text,
    /// for a line carried over from it; `None` for a line the patch added.
    origin: Option<Range<usize>>,
}

/// Line content: a range of the original text, or owned.
#[derive(Debug, Clone)]
enum Text {
    Original(Range<usize>),
    Owned(String),
}

/// A file while its hunks are applied, possibly by several `Update`
/// sections of one patch in turn. Every line remembers where in the original
/// text it came from, so the spans the patch changed ([`Patching::changed_spans`])
/// are known exactly, not guessed back from a diff.
#[derive(Debug, Clone)]
pub(crate) struct Patching {
    original: String,
    lines: Vec<Line>,
    /// Ending for added lines: the file's dominant one.
    dominant: &'static str,
    ends_with_newline: bool,
}

impl Patching {
    /// Starts from `original`, unchanged.
    pub(crate) fn new(original: String) -> Self {
        let mut lines = Vec::new();
        let mut at = 0;
        for raw in original.split_inclusive('\n') {
            let eol = if raw.ends_with("\r\n") {
                "\r\n"
            } else if raw.ends_with('\n') {
                "\n"
            } else {
                ""
            };
            lines.push(Line {
                content: Text::Original(at..at + raw.len() - eol.len()),
                eol,
                origin: Some(at..at + raw.len()),
            });
            at += raw.len();
        }
        let dominant = if original.contains("\r\n") {
            "\r\n"
        } else {
            "\n"
        };
        let ends_with_newline = original.is_empty() || original.ends_with('\n');
        Self {
            original,
            lines,
            dominant,
            ends_with_newline,
        }
    }

    /// The text the patch started from.
    pub(crate) fn original(&self) -> &str {
        &self.original
    }

    fn content<'s>(&'s self, line: &'s Line) -> &'s str {
        match &line.content {
            Text::Original(r) => &self.original[r.clone()],
            Text::Owned(s) => s,
        }
    }

    /// The patched text so far.
    pub(crate) fn text(&self) -> String {
        let mut out = String::with_capacity(self.original.len() + 64);
        for l in &self.lines {
            out.push_str(self.content(l));
            out.push_str(l.eol);
        }
        out
    }

    /// Byte ranges of the original text that the patch changed, line-wise:
    /// each run of removed lines from its first line's start to its last
    /// line's content end, and an empty range at the line start where lines
    /// were only inserted. These are the hunks' changed lines, which the
    /// minimal edits are cut from: an edit that inserts one `0` after `10`
    /// came from rewriting the whole line `retries = 10`.
    pub(crate) fn changed_spans(&self) -> Vec<Range<usize>> {
        let mut spans = Vec::new();
        // End of the last line carried over unchanged, and whether lines were
        // added since.
        let mut kept_end = 0;
        let mut added = false;
        for line in &self.lines {
            match &line.origin {
                None => added = true,
                Some(origin) => {
                    if origin.start > kept_end || added {
                        spans.push(self.removed_span(kept_end, origin.start.max(kept_end)));
                    }
                    kept_end = kept_end.max(origin.end);
                    added = false;
                }
            }
        }
        if self.original.len() > kept_end || added {
            spans.push(self.removed_span(kept_end, self.original.len()));
        }
        spans
    }

    /// `start..end` (whole lines of the original) without the last line's
    /// ending.
    fn removed_span(&self, start: usize, end: usize) -> Range<usize> {
        let removed = &self.original[start..end];
        let eol = if removed.ends_with("\r\n") {
            2
        } else {
            usize::from(removed.ends_with('\n'))
        };
        start..end - eol
    }

    /// Applies hunks, in order, after whatever was applied before (`path`
    /// names the file in messages).
    pub(crate) fn apply(&mut self, hunks: &[Hunk], path: &str) -> Result<(), AssistError> {
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
            let (body, start, from_anchor) = self.place(hunk, cursor, path)?;
            let mut replacement: Vec<Line> = Vec::new();
            let mut k = start;
            for l in body {
                match l {
                    HunkLine::Context(_) if !from_anchor => {
                        replacement.push(self.lines[k].clone());
                        k += 1;
                    }
                    HunkLine::Context(s) | HunkLine::Add(s) => replacement.push(Line {
                        content: Text::Owned(s.clone()),
                        eol: self.dominant,
                        origin: None,
                    }),
                    HunkLine::Remove(_) => k += 1,
                }
            }
            let consumed = k - start;
            // Keep the file's missing final newline if the hunk reached the end.
            let touches_end = start + consumed == self.lines.len();
            let replaced_len = replacement.len();
            self.lines.splice(start..start + consumed, replacement);
            cursor = start + replaced_len;
            if touches_end {
                self.fix_last_eol();
            } else if cursor > 0 && self.lines[cursor - 1].eol.is_empty() {
                self.lines[cursor - 1].eol = self.dominant;
            }
        }
        Ok(())
    }

    /// Where `hunk` applies, searching from line `cursor`: the hunk lines to
    /// use (a trailing empty context line may be dropped), the first line
    /// they replace, and whether it is a pure insertion.
    fn place<'h>(
        &self,
        hunk: &'h Hunk,
        cursor: usize,
        path: &str,
    ) -> Result<(&'h [HunkLine], usize, bool), AssistError> {
        let lines = &self.lines;
        let mut body: &[HunkLine] = &hunk.lines;
        loop {
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
                        .find(|&k| self.content(&lines[k]) == anchor.as_str())
                        .or_else(|| {
                            (cursor..lines.len())
                                .find(|&k| self.content(&lines[k]).trim() == anchor.trim())
                        })
                        .ok_or_else(|| AssistError::AnchorNotFound {
                            path: path.to_owned(),
                            hunk_line: hunk.line,
                            anchor: anchor.clone(),
                        })?;
                    (a + 1, self.anchor_scope(a), Some(a))
                }
                None => (cursor, lines.len(), None),
            };
            if old.is_empty() {
                // Pure insertion: after the anchor, else at the end.
                return Ok((body, anchor_line.map_or(lines.len(), |a| a + 1), true));
            }
            let mut found = self.locate(&old, from, to, hunk, path)?;
            if found.is_none() && anchor_line.is_some() {
                found = self.locate(&old, from, lines.len(), hunk, path)?;
            }
            if let Some(s) = found {
                return Ok((body, s, false));
            }
            // A trailing empty context line often stands for the file's final
            // newline; retry once without it.
            if let Some((HunkLine::Context(s), rest)) = body.split_last()
                && s.is_empty()
            {
                body = rest;
                continue;
            }
            return Err(AssistError::HunkNotFound {
                path: path.to_owned(),
                hunk_line: hunk.line,
                first_line: old.first().map_or_else(String::new, |s| (*s).to_owned()),
            });
        }
    }

    /// Starts `s` in `[from, to)` where `pattern` matches at `level`.
    fn find_all(&self, pattern: &[&str], from: usize, to: usize, level: Level) -> Vec<usize> {
        let to = to.min(self.lines.len());
        if pattern.len() > to.saturating_sub(from) {
            return Vec::new();
        }
        (from..=to - pattern.len())
            .filter(|&s| {
                pattern
                    .iter()
                    .enumerate()
                    .all(|(k, p)| same(level, self.content(&self.lines[s + k]), p))
            })
            .collect()
    }

    /// Finds the unique place of `pattern` in `[from, to)`, trying the levels
    /// in order. `Ok(None)` when nothing matches.
    fn locate(
        &self,
        pattern: &[&str],
        from: usize,
        to: usize,
        hunk: &Hunk,
        path: &str,
    ) -> Result<Option<usize>, AssistError> {
        for level in [Level::Exact, Level::TrimEnd, Level::NoWhitespace] {
            let mut hits = self.find_all(pattern, from, to, level);
            if hunk.end_of_file {
                hits.retain(|&s| s + pattern.len() == self.lines.len());
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

    /// End (exclusive) of the block that starts at the anchor line: up to the
    /// next non-blank line indented no deeper than the anchor, past a closer.
    fn anchor_scope(&self, anchor: usize) -> usize {
        let base = indent(self.content(&self.lines[anchor]));
        for (k, line) in self.lines.iter().enumerate().skip(anchor + 1) {
            let content = self.content(line);
            let t = content.trim();
            if t.is_empty() {
                continue;
            }
            if indent(content) <= base {
                let closer =
                    t.chars().all(|c| matches!(c, '}' | ')' | ']' | ';' | ',')) || t == "end";
                return if closer { k + 1 } else { k };
            }
        }
        self.lines.len()
    }

    fn fix_last_eol(&mut self) {
        let n = self.lines.len();
        let dominant = self.dominant;
        for (i, l) in self.lines.iter_mut().enumerate() {
            if i + 1 < n && l.eol.is_empty() {
                l.eol = dominant;
            }
        }
        let ends_with_newline = self.ends_with_newline;
        if let Some(last) = self.lines.last_mut() {
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

fn indent(s: &str) -> usize {
    s.len() - s.trim_start().len()
}

/// Applies hunks, in order, to `text` (a file named `path` in messages).
pub fn apply_hunks(text: &str, hunks: &[Hunk], path: &str) -> Result<String, AssistError> {
    let mut patching = Patching::new(text.to_owned());
    patching.apply(hunks, path)?;
    Ok(patching.text())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assist::patch::parse_patch;

    fn spans(text: &str, body: &str) -> Vec<Range<usize>> {
        let reply = format!("*** Begin Patch\n*** Update File: f\n{body}*** End Patch\n");
        let patch = parse_patch(&reply).unwrap_or_else(|e| panic!("{e}"));
        let mut p = Patching::new(text.to_owned());
        for op in &patch.ops {
            if let crate::assist::patch::FileOp::Update { hunks, .. } = op {
                p.apply(hunks, "f").unwrap_or_else(|e| panic!("{e}"));
            }
        }
        p.changed_spans()
    }

    #[test]
    #[allow(clippy::single_range_in_vec_init)] // lists of spans, some of one
    fn changed_spans_are_the_hunks_changed_lines() {
        let text = "a\nb = 10\nc\r\nd\n";
        // (hunk body, spans)
        let cases: [(&str, Vec<Range<usize>>); 6] = [
            ("@@\n a\n-b = 10\n+b = 100\n c\n", vec![2..8]),
            ("@@\n a\n+new\n b = 10\n", vec![2..2]),
            ("@@\n-a\n-b = 10\n+x\n c\n", vec![0..8]),
            ("@@\n d\n+e\n", vec![14..14]),
            // Adjacent changed lines of two hunks make one span (CRLF inside).
            ("@@\n-c\n+C\n@@\n-d\n", vec![9..13]),
            ("@@\n-a\n+A\n@@\n-c\n+C\n", vec![0..1, 9..10]),
        ];
        for (body, want) in cases {
            assert_eq!(spans(text, body), want, "{body}");
        }
        // A second section of the same file keeps the original's offsets.
        assert_eq!(
            spans(
                text,
                "@@\n-a\n+A\n*** Update File: f\n@@\n A\n-b = 10\n+b = 11\n"
            ),
            vec![0..8]
        );
    }
}
