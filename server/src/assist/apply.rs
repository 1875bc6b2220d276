//! Applying parsed hunks to a snapshot's text.
//!
//! Each hunk's old lines (context and removed) are searched from where the
//! previous hunk ended: exactly first, then ignoring trailing whitespace, then
//! ignoring all whitespace. The first level with any match decides; more than
//! one match there is ambiguous and refused, none at all is refused too. An
//! `@@ anchor` narrows the search to the block under the anchor line. Context
//! lines keep the file's own text (a fuzzy match never rewrites them), and the
//! file's line endings are kept: added lines take the file's dominant ending.
//!
//! The model saw secrets as `[REDACTED:kind]` placeholders and copies lines
//! holding them as it saw them. [`Patching::with_redactions`] lets hunks
//! match either form of such a line while the file keeps the real one; an
//! added line with a placeholder gets the secret back when the hunk's own
//! old lines say unambiguously which one it stands for, and is refused
//! otherwise: a placeholder is never written into a file.

use std::collections::HashMap;
use std::ops::Range;
use std::time::{Duration, Instant};

use similar::{Algorithm, capture_diff_slices_deadline};

use crate::assist::diff::changed_groups;
use crate::assist::error::AssistError;
use crate::assist::patch::{Hunk, HunkLine};
use crate::assist::privacy::{REDACTION_PREFIX, placeholder_regex, redact};

/// A line of the file being patched: its content (a slice of the original
/// text, or the patch's own text for added lines), its ending (`"\n"`,
/// `"\r\n"` or `""` for a last line without one) and where it came from.
#[derive(Debug, Clone)]
struct Line {
    /// The text the model saw (hunks match it).
    content: Text,
    /// The text written instead, when it differs: the real line behind a
    /// redacted one, or a restored added line.
    real: Option<Text>,
    eol: &'static str,
    /// Byte range of the whole line (ending included) in the original text,
    /// for a line carried over from it; `None` for a line the patch added.
    origin: Option<Range<usize>>,
    /// For a line of a redacted block whose lines do not pair one to one
    /// with the real lines (see [`Patching::with_redactions`]): its block,
    /// an index into `Patching::blocks`.
    block: Option<usize>,
    /// A block line after the first: shown, but nothing of it is written
    /// (the block's first line writes the whole real block).
    hidden: bool,
}

impl Line {
    fn added(content: String, real: Option<String>, eol: &'static str) -> Self {
        Self {
            content: Text::Owned(content),
            real: real.map(Text::Owned),
            eol,
            origin: None,
            block: None,
            hidden: false,
        }
    }
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
    /// Number of shown lines of each redacted block (they must stay whole).
    blocks: Vec<usize>,
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
                real: None,
                eol,
                origin: Some(at..at + raw.len()),
                block: None,
                hidden: false,
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
            blocks: Vec::new(),
            dominant,
            ends_with_newline,
        }
    }

    /// Starts from `original` as the model saw it: every line that
    /// redaction changed shows its redacted form (what the prompt held, see
    /// [`redact`]) and keeps its real text for writing. The two texts are
    /// aligned line by line with a diff: redaction changes lines in place,
    /// except a private-key block, whose body lines become one placeholder
    /// line; such a block is shown as its redacted lines, written as its real
    /// ones, and may only be kept or removed whole.
    pub(crate) fn with_redactions(original: String) -> Self {
        let mut plain = Self::new(original);
        let view = match redact(&plain.original) {
            std::borrow::Cow::Borrowed(_) => return plain,
            std::borrow::Cow::Owned(view) => view,
        };
        let shown: Vec<&str> = view.split_inclusive('\n').collect();
        let real: Vec<&str> = plain.original.split_inclusive('\n').collect();
        let ops = capture_diff_slices_deadline(
            Algorithm::Myers,
            &real,
            &shown,
            Some(Instant::now() + Duration::from_millis(200)),
        );
        let without_eol = |l: &str| {
            l.strip_suffix("\r\n")
                .or_else(|| l.strip_suffix('\n'))
                .unwrap_or(l)
                .to_owned()
        };
        let old_lines = std::mem::take(&mut plain.lines);
        let mut lines = Vec::with_capacity(old_lines.len());
        let mut blocks = Vec::new();
        let mut next = 0;
        for (old, new) in changed_groups(&ops) {
            // A group with no shown line takes in an unchanged neighbour, so
            // its real lines are written with that line. (Groups are
            // separated by unchanged lines.)
            let (old, new) = if !new.is_empty() {
                (old, new)
            } else if old.start > next && new.start > 0 {
                (old.start - 1..old.end, new.start - 1..new.end)
            } else if old.end < old_lines.len() && new.end < shown.len() {
                (old.start..old.end + 1, new.start..new.end + 1)
            } else {
                // Cannot be aligned: hunks then match the real text only.
                plain.lines = old_lines;
                return plain;
            };
            lines.extend(old_lines[next..old.start].iter().cloned());
            next = old.end;
            if old.len() == new.len() {
                for (k, o) in old.clone().enumerate() {
                    let mut line = old_lines[o].clone();
                    line.real = Some(line.content.clone());
                    line.content = Text::Owned(without_eol(shown[new.start + k]));
                    lines.push(line);
                }
                continue;
            }
            let start = old_lines.get(old.start).and_then(|l| l.origin.clone());
            let end = old
                .end
                .checked_sub(1)
                .and_then(|last| old_lines.get(last))
                .and_then(|l| l.origin.clone());
            let (span, eol) = match (start, end, old.end.checked_sub(1)) {
                (Some(s), Some(e), Some(last)) => (s.start..e.end, old_lines[last].eol),
                _ => {
                    let at = old_lines
                        .get(old.start)
                        .and_then(|l| l.origin.clone())
                        .map_or(plain.original.len(), |o| o.start);
                    (at..at, "")
                }
            };
            let block = blocks.len();
            blocks.push(new.len());
            for (k, v) in shown[new.clone()].iter().enumerate() {
                let first = k == 0;
                lines.push(Line {
                    content: Text::Owned(without_eol(v)),
                    real: Some(if first {
                        Text::Original(span.start..span.end - eol.len())
                    } else {
                        Text::Owned(String::new())
                    }),
                    eol: if first { eol } else { "" },
                    origin: Some(if first {
                        span.clone()
                    } else {
                        span.end..span.end
                    }),
                    block: Some(block),
                    // Shown lines with no real text at all write nothing.
                    hidden: !first || span.is_empty(),
                });
            }
        }
        lines.extend(old_lines[next..].iter().cloned());
        plain.lines = lines;
        plain.blocks = blocks;
        plain
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

    /// What is written for a line: its real text, else what was shown.
    fn written<'s>(&'s self, line: &'s Line) -> &'s str {
        match &line.real {
            Some(Text::Original(r)) => &self.original[r.clone()],
            Some(Text::Owned(s)) => s,
            None => self.content(line),
        }
    }

    /// The other form a line may be quoted in: its real text, for a line
    /// that pairs one to one with a redacted line.
    fn alternative<'s>(&'s self, line: &'s Line) -> Option<&'s str> {
        (line.real.is_some() && line.block.is_none()).then(|| self.written(line))
    }

    /// Whether line `k` reads `pattern` at `level`, in either form.
    fn line_is(&self, k: usize, level: Level, pattern: &str) -> bool {
        let line = &self.lines[k];
        same(level, self.content(line), pattern)
            || self
                .alternative(line)
                .is_some_and(|real| same(level, real, pattern))
    }

    /// The patched text so far (real text, never placeholders).
    pub(crate) fn text(&self) -> String {
        let mut out = String::with_capacity(self.original.len() + 64);
        for l in self.lines.iter().filter(|l| !l.hidden) {
            out.push_str(self.written(l));
            out.push_str(l.eol);
        }
        out
    }

    /// The patched text, once every redacted block is checked to be kept or
    /// removed whole (half a block would cut a private key in pieces).
    pub(crate) fn finish(&self, path: &str) -> Result<String, AssistError> {
        let mut seen: HashMap<usize, Vec<usize>> = HashMap::new();
        for (i, line) in self.lines.iter().enumerate() {
            if let Some(block) = line.block {
                seen.entry(block).or_default().push(i);
            }
        }
        for (block, at) in seen {
            let whole = self.blocks.get(block).copied().unwrap_or(0);
            if at.len() != whole || at.windows(2).any(|w| w[1] != w[0] + 1) {
                return Err(AssistError::SplitsRedaction {
                    path: path.to_owned(),
                });
            }
        }
        Ok(self.text())
    }

    /// The real text of an added line that holds placeholders, restored from
    /// the lines the hunk replaces (`replaced`, each flagged when the hunk
    /// removes it rather than keeps it as context), trying in turn:
    ///
    /// 1. a replaced line shown exactly so: its real text;
    /// 2. replaced lines whose text before the first placeholder and whose
    ///    placeholder kinds are the added line's (the same assignment,
    ///    edited elsewhere): their secrets, if they agree;
    /// 3. per placeholder, the one secret of its kind on the removed lines
    ///    (else on all replaced lines).
    ///
    /// `None` when that is ambiguous or unknown: the line is refused.
    fn restore(&self, added: &str, replaced: &[(&Line, bool)]) -> Option<String> {
        let with_real = || replaced.iter().filter(|(l, _)| l.real.is_some());
        let agreed = |options: Vec<String>| -> Option<Option<String>> {
            let first = options.first()?.clone();
            Some(options.iter().all(|o| *o == first).then_some(first))
        };
        let exact: Vec<String> = with_real()
            .filter(|(l, _)| self.content(l) == added)
            .map(|(l, _)| self.written(l).to_owned())
            .collect();
        if let Some(found) = agreed(exact) {
            return found;
        }
        let re = placeholder_regex()?;
        let head = |t: &str| re.find(t).map_or(t.len(), |m| m.start());
        let kinds =
            |t: &str| -> Vec<String> { re.captures_iter(t).map(|c| c[1].to_owned()).collect() };
        let fill = |secrets: &[(String, String)]| -> String {
            let mut i = 0;
            re.replace_all(added, |_: &regex::Captures<'_>| {
                i += 1;
                secrets
                    .get(i - 1)
                    .map_or_else(String::new, |(_, s)| s.clone())
            })
            .into_owned()
        };
        let singles: Vec<(&Line, bool, Secrets)> = with_real()
            .filter(|(l, _)| l.block.is_none())
            .map(|(l, removed)| {
                (
                    *l,
                    *removed,
                    secrets_of(re, self.content(l), self.written(l)),
                )
            })
            .filter(|(_, _, secrets)| !secrets.is_empty())
            .collect();
        let wanted = kinds(added);
        let prefix = &added[..head(added)];
        for removed_only in [true, false] {
            let same_place: Vec<String> = singles
                .iter()
                .filter(|(l, removed, secrets)| {
                    (*removed || !removed_only)
                        && secrets.iter().map(|(k, _)| k).eq(wanted.iter())
                        && self.content(l)[..head(self.content(l))] == *prefix
                })
                .map(|(_, _, secrets)| fill(secrets))
                .collect();
            if let Some(found) = agreed(same_place) {
                return found.filter(|r| !r.contains(REDACTION_PREFIX));
            }
        }
        let mut restored = Vec::new();
        for kind in &wanted {
            let of_kind = |removed_only: bool| -> Vec<&String> {
                let mut out: Vec<&String> = Vec::new();
                for (_, removed, secrets) in &singles {
                    if removed_only && !removed {
                        continue;
                    }
                    for (k, secret) in secrets {
                        if k == kind && !out.contains(&secret) {
                            out.push(secret);
                        }
                    }
                }
                out
            };
            let mut known = of_kind(true);
            if known.is_empty() {
                known = of_kind(false);
            }
            match known.as_slice() {
                [one] => restored.push((kind.clone(), (*one).clone())),
                _ => return None,
            }
        }
        Some(fill(&restored)).filter(|r| !r.contains(REDACTION_PREFIX))
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
            let (body, start, from_anchor) = self.place(hunk, cursor, path)?;
            // The lines the hunk replaces, each flagged when it is removed.
            let replaced: Vec<(&Line, bool)> = if from_anchor {
                Vec::new()
            } else {
                body.iter()
                    .filter(|l| !matches!(l, HunkLine::Add(_)))
                    .zip(&self.lines[start..])
                    .map(|(h, l)| (l, matches!(h, HunkLine::Remove(_))))
                    .collect()
            };
            let mut replacement: Vec<Line> = Vec::new();
            let mut k = start;
            for l in body {
                match l {
                    HunkLine::Context(_) if !from_anchor => {
                        replacement.push(self.lines[k].clone());
                        k += 1;
                    }
                    HunkLine::Context(s) | HunkLine::Add(s) => {
                        let real = if s.contains(REDACTION_PREFIX) {
                            let restored = self.restore(s, &replaced).ok_or_else(|| {
                                AssistError::WritesRedaction {
                                    path: path.to_owned(),
                                    line: hunk.line,
                                }
                            })?;
                            Some(restored)
                        } else {
                            None
                        };
                        replacement.push(Line::added(s.clone(), real, self.dominant));
                    }
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
            } else if let Some(before) = self.lines[..cursor].iter_mut().rev().find(|l| !l.hidden)
                && before.eol.is_empty()
            {
                before.eol = self.dominant;
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
                        .find(|&k| self.line_is(k, Level::Exact, anchor))
                        .or_else(|| {
                            (cursor..lines.len()).find(|&k| {
                                self.content(&lines[k]).trim() == anchor.trim()
                                    || self
                                        .alternative(&lines[k])
                                        .is_some_and(|r| r.trim() == anchor.trim())
                            })
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
                    .all(|(k, p)| self.line_is(s + k, level, p))
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
        let dominant = self.dominant;
        let mut visible: Vec<&mut Line> = self.lines.iter_mut().filter(|l| !l.hidden).collect();
        let n = visible.len();
        for (i, l) in visible.iter_mut().enumerate() {
            if i + 1 < n && l.eol.is_empty() {
                l.eol = dominant;
            }
        }
        let ends_with_newline = self.ends_with_newline;
        if let Some(last) = visible.last_mut() {
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

/// `(kind, secret)` pairs, in the order of their placeholders.
type Secrets = Vec<(String, String)>;

/// The secrets behind the placeholders of `shown`, the redacted form of
/// `real`, as `(kind, secret)` in order; empty when the two do not align.
fn secrets_of(re: &regex::Regex, shown: &str, real: &str) -> Secrets {
    let mut pattern = String::from("^");
    let mut kinds = Vec::new();
    let mut at = 0;
    for c in re.captures_iter(shown) {
        let Some(whole) = c.get(0) else { continue };
        pattern.push_str(&regex::escape(&shown[at..whole.start()]));
        pattern.push_str("(.+?)");
        kinds.push(c[1].to_owned());
        at = whole.end();
    }
    pattern.push_str(&regex::escape(&shown[at..]));
    pattern.push('$');
    let Ok(aligned) = regex::Regex::new(&pattern) else {
        return Vec::new();
    };
    let Some(c) = aligned.captures(real) else {
        return Vec::new();
    };
    kinds
        .into_iter()
        .enumerate()
        .filter_map(|(i, kind)| c.get(i + 1).map(|m| (kind, m.as_str().to_owned())))
        .collect()
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
