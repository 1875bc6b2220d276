//! Applying parsed hunks to a snapshot's text.
//!
//! Each hunk's old lines (context and removed) are searched from where the
//! previous hunk ended, in passes as Codex's own applier does: exactly, then
//! ignoring trailing whitespace, then ignoring surrounding whitespace, then
//! also with typographic dashes, quotes and odd spaces read as ASCII (see
//! [`Level`]), and last ignoring all whitespace. The first pass with any
//! match decides; more than one match there is ambiguous and refused, none
//! at all is refused too, and a hunk found only above the previous one says
//! the hunks are out of order. An `@@ anchor` (found through the same
//! passes) narrows the search to the block under the anchor line.
//!
//! Context lines keep the file's own text (a tolerant match never rewrites
//! them). Added lines take the file's indentation where the matched lines
//! show the model indented differently (spaces for the file's tabs), and
//! the line ending of their neighbours. A byte-order mark stays in front of
//! the first line and is invisible to matching; a file without a final
//! newline does not get one.
//!
//! The model saw secrets as `[REDACTED:kind]` placeholders and copies lines
//! holding them as it saw them. [`Patching::with_redactions`] lets hunks
//! match either form of such a line while the file keeps the real one; an
//! added line with a placeholder gets the secret back when the hunk's own
//! old lines say unambiguously which one it stands for, and is refused
//! otherwise: a placeholder is never written into a file.

use std::cell::Cell;
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
    /// Ending for added lines without neighbours: the file's most common.
    dominant: &'static str,
    ends_with_newline: bool,
    /// Length of the byte-order mark the text starts with (0 or 3): it is
    /// kept in front of the first line and never part of a line's content.
    bom: usize,
    /// For a window of a larger file ([`Patching::window`]): the file goes
    /// on above / below the text.
    more_above: bool,
    more_below: bool,
    /// Set when the window decided something the rest of the file could
    /// change (see [`Patching::window`]).
    doubtful: Cell<bool>,
}

impl Patching {
    /// Starts from `original`, unchanged.
    pub(crate) fn new(original: String) -> Self {
        let mut lines = Vec::new();
        let bom = if original.starts_with('\u{feff}') {
            '\u{feff}'.len_utf8()
        } else {
            0
        };
        let mut at = bom;
        let mut crlf = 0;
        for raw in original[bom..].split_inclusive('\n') {
            let eol = if raw.ends_with("\r\n") {
                "\r\n"
            } else if raw.ends_with('\n') {
                "\n"
            } else {
                ""
            };
            crlf += usize::from(eol == "\r\n");
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
        let dominant = if 2 * crlf > lines.len() { "\r\n" } else { "\n" };
        let ends_with_newline = original.is_empty() || original.ends_with('\n');
        Self {
            original,
            lines,
            blocks: Vec::new(),
            dominant,
            ends_with_newline,
            bom,
            more_above: false,
            more_below: false,
            doubtful: Cell::new(false),
        }
    }

    /// Starts from `text`, whole lines of a larger file (`more_above`,
    /// `more_below`: the file goes on past them), as
    /// [`Patching::with_redactions`] does. The caller picks the window so
    /// that every line the hunks' old lines or anchors could match up to
    /// [`Level::Trim`] lies inside it, a margin from its edges ([`hunk_keys`]
    /// says what to look for); the file has no private-key block and no
    /// placeholder text of its own, so its redaction is line by line. Within
    /// those bounds, applying hunks here decides as on the whole file;
    /// whatever depends on the rest of the file (a pass past
    /// [`Level::Trim`] over a range reaching an edge, the end of the file,
    /// its most common line ending) marks the result [`Patching::doubtful`],
    /// and the caller patches the whole file instead.
    pub(crate) fn window(text: String, more_above: bool, more_below: bool) -> Self {
        let mut p = Self::with_redactions(text);
        p.more_above = more_above;
        p.more_below = more_below;
        if more_above && p.bom > 0 {
            // A U+FEFF starting a line inside the file is text, not a BOM.
            p.doubtful.set(true);
        }
        p
    }

    /// Whether a window's result may differ from the whole file's.
    pub(crate) fn doubtful(&self) -> bool {
        self.doubtful.get()
    }

    /// The file's most common line ending (a window does not know it).
    fn dominant(&self) -> &'static str {
        if self.more_above || self.more_below {
            self.doubtful.set(true);
        }
        self.dominant
    }

    /// Whether the search range `[from, to)` reaches past the window: the
    /// passes past [`Level::Trim`] there would see lines it does not hold.
    fn reaches_out(&self, from: usize, to: usize) -> bool {
        (self.more_below && to >= self.lines.len()) || (self.more_above && from == 0)
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
        let bom = plain.bom;
        let shown: Vec<&str> = view[bom.min(view.len())..].split_inclusive('\n').collect();
        let real: Vec<&str> = plain.original[bom..].split_inclusive('\n').collect();
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
        out.push_str(&self.original[..self.bom]);
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
        // added since. (The byte-order mark is never changed.)
        let mut kept_end = self.bom;
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
            let reindent = Reindent::learn(self.matched_pairs(hunk, body, start, from_anchor));
            let eol = self.neighbour_eol(start);
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
                        let content = reindent.as_ref().map_or_else(|| s.clone(), |r| r.apply(s));
                        let real =
                            real.map(|r| reindent.as_ref().map_or(r.clone(), |re| re.apply(&r)));
                        replacement.push(Line::added(content, real, eol));
                    }
                    HunkLine::Remove(_) => k += 1,
                }
            }
            let consumed = k - start;
            // Keep the file's missing final newline if the hunk reached the end.
            let touches_end = !self.more_below && start + consumed == self.lines.len();
            let replaced_len = replacement.len();
            self.lines.splice(start..start + consumed, replacement);
            cursor = start + replaced_len;
            if touches_end {
                self.fix_last_eol();
            } else if let Some(before) = self.lines[..cursor].iter().rposition(|l| !l.hidden)
                && self.lines[before].eol.is_empty()
            {
                self.lines[before].eol = self.dominant();
            }
        }
        Ok(())
    }

    /// (patch line, file line) for every line the hunk matched: its context
    /// and removed lines, or for an insertion under an anchor, the anchor.
    fn matched_pairs<'h>(
        &'h self,
        hunk: &'h Hunk,
        body: &'h [HunkLine],
        start: usize,
        from_anchor: bool,
    ) -> Vec<(&'h str, &'h str)> {
        if from_anchor {
            return match (&hunk.anchor, start.checked_sub(1)) {
                (Some(anchor), Some(at)) => vec![(anchor.as_str(), self.content(&self.lines[at]))],
                _ => Vec::new(),
            };
        }
        body.iter()
            .filter_map(|l| match l {
                HunkLine::Context(s) | HunkLine::Remove(s) => Some(s.as_str()),
                HunkLine::Add(_) => None,
            })
            .zip(&self.lines[start..])
            .map(|(p, l)| (p, self.content(l)))
            .collect()
    }

    /// The line ending for lines inserted at line `at`: the one of the line
    /// above, else of the line there, else the file's most common.
    fn neighbour_eol(&self, at: usize) -> &'static str {
        let above = self.lines[..at].iter().rev().find(|l| !l.hidden);
        let here = self.lines[at..].iter().find(|l| !l.hidden);
        [above, here]
            .into_iter()
            .flatten()
            .map(|l| l.eol)
            .find(|eol| !eol.is_empty())
            .unwrap_or_else(|| self.dominant())
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
                    let Some(a) = self.find_anchor(anchor, cursor, lines.len()) else {
                        if let Some(above) = self.find_anchor(anchor, 0, cursor) {
                            return Err(self.out_of_order(hunk, above, cursor, path));
                        }
                        return Err(AssistError::AnchorNotFound {
                            path: path.to_owned(),
                            hunk_line: hunk.line,
                            anchor: anchor.clone(),
                        });
                    };
                    (a + 1, self.anchor_scope(a), Some(a))
                }
                None => (cursor, lines.len(), None),
            };
            if old.is_empty() {
                // Pure insertion: after the anchor, else at the end.
                if anchor_line.is_none() && self.more_below {
                    self.doubtful.set(true);
                }
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
            if cursor > 0
                && let Ok(Some(above)) = self.locate(&old, 0, cursor, hunk, path)
            {
                return Err(self.out_of_order(hunk, above, cursor, path));
            }
            return Err(AssistError::HunkNotFound {
                path: path.to_owned(),
                hunk_line: hunk.line,
                first_line: old.first().map_or_else(String::new, |s| (*s).to_owned()),
            });
        }
    }

    /// The first line in `[from, to)` that reads `anchor`, through the
    /// passes in turn.
    fn find_anchor(&self, anchor: &str, from: usize, to: usize) -> Option<usize> {
        Level::ANCHOR.iter().find_map(|&level| {
            if level == Level::Normalised && self.reaches_out(from, to) {
                self.doubtful.set(true);
            }
            (from..to).find(|&k| self.line_is(k, level, anchor))
        })
    }

    fn out_of_order(&self, hunk: &Hunk, found: usize, cursor: usize, path: &str) -> AssistError {
        AssistError::HunkOutOfOrder {
            path: path.to_owned(),
            hunk_line: hunk.line,
            found: found + 1,
            previous_end: cursor,
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
        for level in Level::HUNK {
            if level == Level::Normalised && self.reaches_out(from, to) {
                self.doubtful.set(true);
            }
            let mut hits = self.find_all(pattern, from, to, level);
            if hunk.end_of_file {
                if self.more_below {
                    self.doubtful.set(true);
                }
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
        let visible: Vec<usize> = (0..self.lines.len())
            .filter(|&i| !self.lines[i].hidden)
            .collect();
        let n = visible.len();
        for (j, &i) in visible.iter().enumerate() {
            if j + 1 < n && self.lines[i].eol.is_empty() {
                self.lines[i].eol = self.dominant();
            }
        }
        if let Some(&last) = visible.last() {
            let eol = self.lines[last].eol;
            self.lines[last].eol = if !self.ends_with_newline {
                ""
            } else if eol.is_empty() {
                self.dominant()
            } else {
                eol
            };
        }
    }
}

/// How loosely a patch line may match a file line. Models copy lines with
/// trailing spaces dropped, indentation changed, and typographic characters
/// typed as ASCII; each pass forgives one more of these.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Level {
    Exact,
    TrimEnd,
    /// Ignoring leading and trailing whitespace.
    Trim,
    /// [`Level::Trim`], with dashes, quotes and odd spaces read as ASCII.
    Normalised,
    /// Ignoring all whitespace (normalised): the last resort, still unique.
    NoWhitespace,
}

impl Level {
    const HUNK: [Level; 5] = [
        Level::Exact,
        Level::TrimEnd,
        Level::Trim,
        Level::Normalised,
        Level::NoWhitespace,
    ];
    /// An anchor is one line: ignoring all of its whitespace would be a
    /// guess.
    const ANCHOR: [Level; 4] = [Level::Exact, Level::TrimEnd, Level::Trim, Level::Normalised];
}

fn same(level: Level, file: &str, patch: &str) -> bool {
    match level {
        Level::Exact => file == patch,
        Level::TrimEnd => file.trim_end() == patch.trim_end(),
        Level::Trim => file.trim() == patch.trim(),
        Level::Normalised => file
            .trim()
            .chars()
            .map(to_ascii_lookalike)
            .eq(patch.trim().chars().map(to_ascii_lookalike)),
        Level::NoWhitespace => file
            .chars()
            .map(to_ascii_lookalike)
            .filter(|c| !c.is_whitespace())
            .eq(patch
                .chars()
                .map(to_ascii_lookalike)
                .filter(|c| !c.is_whitespace())),
    }
}

/// The ASCII character a typographic one is typed as: dashes and minus
/// signs as `-`, single quotes as `'`, double quotes as `"`, and the
/// Unicode spaces as ` `.
fn to_ascii_lookalike(c: char) -> char {
    match c {
        '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{fe58}' | '\u{fe63}' | '\u{ff0d}' => '-',
        '\u{2018}'..='\u{201b}' | '\u{2032}' | '\u{ff07}' => '\'',
        '\u{201c}'..='\u{201f}' | '\u{2033}' | '\u{ff02}' => '"',
        '\u{a0}' | '\u{2000}'..='\u{200a}' | '\u{202f}' | '\u{205f}' | '\u{3000}' => ' ',
        c => c,
    }
}

/// The patch's indentation mapped to the file's, learned from the lines a
/// hunk matched: a model that indents with four spaces where the file has a
/// tab gets its added lines written with tabs.
#[derive(Debug)]
struct Reindent {
    /// (patch indentation, file indentation) of matched non-blank lines.
    pairs: Vec<(String, String)>,
    /// The file adds the same prefix to every matched line's indentation.
    prefix: Option<String>,
    /// One indentation character for another at a fixed ratio:
    /// (patch char, patch count, file char, file count) per level.
    unit: Option<(char, usize, char, usize)>,
}

impl Reindent {
    /// `None` when every matched line is indented as in the file.
    fn learn(matched: Vec<(&str, &str)>) -> Option<Self> {
        let pairs: Vec<(String, String)> = matched
            .into_iter()
            .filter(|(p, f)| !p.trim().is_empty() && !f.trim().is_empty())
            .map(|(p, f)| (leading(p).to_owned(), leading(f).to_owned()))
            .collect();
        if pairs.iter().all(|(p, f)| p == f) {
            return None;
        }
        let prefix = pairs.first().and_then(|(p, f)| {
            let prefix = f.strip_suffix(p.as_str())?;
            (!prefix.is_empty()
                && pairs
                    .iter()
                    .all(|(p, f)| f.strip_suffix(p.as_str()) == Some(prefix)))
            .then(|| prefix.to_owned())
        });
        let unit = pairs
            .iter()
            .filter_map(|(p, f)| Some((uniform(p)?, uniform(f)?)))
            .min_by_key(|((_, pn), _)| *pn)
            .map(|((pc, pn), (fc, fc_n))| (pc, pn, fc, fc_n))
            .filter(|&(pc, pn, fc, fc_n)| {
                pairs.iter().all(|(p, f)| match (uniform(p), uniform(f)) {
                    (Some((c, n)), Some((d, m))) => c == pc && d == fc && n * fc_n == m * pn,
                    _ => true,
                })
            });
        Some(Self {
            pairs,
            prefix,
            unit,
        })
    }

    /// `line` with its indentation in the file's style, when known.
    fn apply(&self, line: &str) -> String {
        let indent = leading(line);
        let rest = &line[indent.len()..];
        if rest.is_empty() {
            return line.to_owned();
        }
        if let Some((_, file)) = self.pairs.iter().find(|(p, _)| p == indent) {
            return format!("{file}{rest}");
        }
        if let Some(prefix) = &self.prefix {
            return format!("{prefix}{indent}{rest}");
        }
        if let (Some((pc, pn, fc, fc_n)), Some((c, n))) = (self.unit, uniform(indent))
            && c == pc
            && n % pn == 0
        {
            return format!("{}{rest}", fc.to_string().repeat(n / pn * fc_n));
        }
        line.to_owned()
    }
}

/// The leading whitespace of `s`.
fn leading(s: &str) -> &str {
    &s[..s.len() - s.trim_start().len()]
}

/// `(c, n)` when `indent` is `n > 0` times the one character `c`.
fn uniform(indent: &str) -> Option<(char, usize)> {
    let c = indent.chars().next()?;
    indent
        .chars()
        .all(|x| x == c)
        .then(|| (c, indent.chars().count()))
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

/// Text that every line matching `line` up to [`Level::Trim`] holds, in
/// either of its forms: the line without its surrounding whitespace, or when
/// it quotes placeholders, its longest part between them (a redacted line is
/// its real text with secrets replaced, so that part is real text too).
/// Empty when there is none.
fn search_key(line: &str) -> &str {
    let t = line.trim();
    if !t.contains(REDACTION_PREFIX) {
        return t;
    }
    placeholder_regex()
        .and_then(|re| re.split(t).max_by_key(|part| part.len()))
        .unwrap_or("")
}

/// What a window ([`Patching::window`]) must hold for `hunk`: the texts every
/// line its anchor and its most telling old line could match up to
/// [`Level::Trim`] holds, and how many lines its old lines span (the margin
/// kept around them). `None` when a hunk cannot be placed from a window: a
/// pure insertion at the end, or old lines that are all blank.
pub(crate) fn hunk_keys(hunk: &Hunk) -> Option<(Vec<&str>, usize)> {
    let old: Vec<&str> = hunk
        .lines
        .iter()
        .filter_map(|l| match l {
            HunkLine::Context(s) | HunkLine::Remove(s) => Some(s.as_str()),
            HunkLine::Add(_) => None,
        })
        .collect();
    let mut needles = Vec::new();
    if let Some(anchor) = &hunk.anchor {
        needles.push(Some(search_key(anchor)).filter(|k| !k.is_empty())?);
    } else if old.is_empty() {
        return None;
    }
    if !old.is_empty() {
        let key = old
            .iter()
            .map(|l| search_key(l))
            .max_by_key(|k| k.len())
            .filter(|k| !k.is_empty())?;
        needles.push(key);
    }
    Some((needles, old.len()))
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
