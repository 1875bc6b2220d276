//! Minimal edits between a snapshot and its patched text, with `similar`.
//!
//! Lines are diffed first; each changed group of lines is then diffed again
//! by words (runs of identifier characters, runs of whitespace, single other
//! characters), and each resulting edit is trimmed of any common prefix and
//! suffix, so renaming one identifier is one small edit. Offsets are bytes of
//! the old text, on character boundaries, never between a `\r` and its `\n`.

use std::ops::Range;
use std::time::{Duration, Instant};

use similar::{Algorithm, DiffOp, capture_diff_slices_deadline};

use crate::text::TextEdit;

/// Changed chunks larger than this stay line-level edits (word diffs of huge
/// rewrites cost more than they save).
const REFINE_MAX_BYTES: usize = 64 * 1024;
/// Word-level edits of one changed group separated by at most this many
/// unchanged bytes are merged.
const MERGE_GAP_BYTES: usize = 4;
/// Time allowed to each diff before `similar` settles for a coarser answer.
const DIFF_DEADLINE: Duration = Duration::from_millis(200);

/// Byte ranges of `s` split into diff units: lines (with their ending).
fn lines(s: &str) -> Vec<&str> {
    s.split_inclusive('\n').collect()
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum Class {
    Word,
    Space,
    Other,
}

fn class(c: char) -> Class {
    if c.is_alphanumeric() || c == '_' {
        Class::Word
    } else if c.is_whitespace() {
        Class::Space
    } else {
        Class::Other
    }
}

/// Splits text into words, whitespace runs and single other characters.
fn words(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut prev: Option<Class> = None;
    for (i, c) in s.char_indices() {
        let k = class(c);
        if let Some(p) = prev
            && (p != k || k == Class::Other)
        {
            out.push(&s[start..i]);
            start = i;
        }
        prev = Some(k);
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

fn offsets(parts: &[&str]) -> Vec<usize> {
    let mut v = Vec::with_capacity(parts.len() + 1);
    let mut o = 0;
    v.push(0);
    for p in parts {
        o += p.len();
        v.push(o);
    }
    v
}

/// Groups of consecutive non-equal ops as (old index range, new index range).
///
/// Positions are recomputed from the ops' lengths, in order: `similar` 2.7's
/// Myers implementation can report wrong `old_index`/`new_index` values on
/// some inputs (seen with proptest) while its lengths stay right.
pub(crate) fn changed_groups(ops: &[DiffOp]) -> Vec<(Range<usize>, Range<usize>)> {
    let mut groups: Vec<(Range<usize>, Range<usize>)> = Vec::new();
    let mut open: Option<(Range<usize>, Range<usize>)> = None;
    let (mut o, mut n) = (0, 0);
    for op in ops {
        let (ol, nl) = (op.old_range().len(), op.new_range().len());
        if let DiffOp::Equal { .. } = op {
            if let Some(g) = open.take() {
                groups.push(g);
            }
        } else {
            open = Some(match open.take() {
                Some((go, gn)) => (go.start..o + ol, gn.start..n + nl),
                None => (o..o + ol, n..n + nl),
            });
        }
        o += ol;
        n += nl;
    }
    if let Some(g) = open {
        groups.push(g);
    }
    groups
}

/// Trims the common prefix and suffix of a replacement, on char boundaries and
/// never splitting a CRLF. `old` is the full old text, `range` the replaced
/// part of it.
fn trim_edit(old: &str, mut range: std::ops::Range<usize>, new: &str) -> TextEdit {
    let o = &old[range.clone()];
    let mut prefix = o
        .char_indices()
        .zip(new.chars())
        .find(|((_, a), b)| a != b)
        .map_or_else(|| o.len().min(new.len()), |((i, _), _)| i);
    // `prefix` is a char boundary of both (the chars before it are equal).
    if prefix > 0 && o.as_bytes()[prefix - 1] == b'\r' {
        prefix -= 1;
    }
    let o_rest = &o[prefix..];
    let n_rest = &new[prefix..];
    let mut suffix = o_rest
        .chars()
        .rev()
        .zip(n_rest.chars().rev())
        .take_while(|(a, b)| a == b)
        .map(|(a, _)| a.len_utf8())
        .sum::<usize>();
    if suffix > 0 && o_rest.as_bytes()[o_rest.len() - suffix] == b'\n' {
        let before = o_rest.len() - suffix;
        if before > 0 && o_rest.as_bytes()[before - 1] == b'\r' {
            suffix -= 1;
        }
    }
    let new_text = new[prefix..new.len() - suffix].to_owned();
    range = range.start + prefix..range.end - suffix;
    TextEdit { range, new_text }
}

/// Length of the common prefix of `a` and `b` in bytes, compared a block at
/// a time (slice equality is a `memcmp`).
fn common_prefix_bytes(a: &[u8], b: &[u8]) -> usize {
    const BLOCK: usize = 4096;
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + BLOCK <= n && a[i..i + BLOCK] == b[i..i + BLOCK] {
        i += BLOCK;
    }
    while i < n && a[i] == b[i] {
        i += 1;
    }
    i
}

/// Length of the common suffix of `a` and `b` in bytes.
fn common_suffix_bytes(a: &[u8], b: &[u8]) -> usize {
    const BLOCK: usize = 4096;
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + BLOCK <= n
        && a[a.len() - i - BLOCK..a.len() - i] == b[b.len() - i - BLOCK..b.len() - i]
    {
        i += BLOCK;
    }
    while i < n && a[a.len() - 1 - i] == b[b.len() - 1 - i] {
        i += 1;
    }
    i
}

/// The unchanged head and tail of two texts, cut at line starts, so the
/// line diff only sees the changed middle: a patch to a 100,000-line file
/// usually touches a few lines, and diffing all of them would dominate.
fn unchanged_ends(old: &str, new: &str) -> (usize, usize) {
    let (a, b) = (old.as_bytes(), new.as_bytes());
    let first_diff = common_prefix_bytes(a, b);
    // Byte searches: a difference may start inside a multi-byte character,
    // but `\n` never occurs inside one, so the cuts are char boundaries.
    let head = a[..first_diff]
        .iter()
        .rposition(|&c| c == b'\n')
        .map_or(0, |i| i + 1);
    let max_tail = (a.len() - head).min(b.len() - head);
    let tail = common_suffix_bytes(&a[head..], &b[head..]).min(max_tail);
    // Move the tail's start forward to a line start (just after a newline).
    let start = a.len() - tail;
    let tail = if start == head || a[start - 1] == b'\n' {
        tail
    } else {
        match a[start..].iter().position(|&c| c == b'\n') {
            Some(i) => a.len() - (start + i + 1),
            None => 0,
        }
    };
    (head, tail)
}

/// Minimal edits turning `old` into `new`: sorted, non-overlapping, byte
/// offsets of `old` on character boundaries. Applying them in reverse order
/// to `old` yields `new`.
pub fn minimal_edits(old: &str, new: &str) -> Vec<TextEdit> {
    if old == new {
        return Vec::new();
    }
    let (head, tail) = unchanged_ends(old, new);
    let mut edits = diff_middle(&old[head..old.len() - tail], &new[head..new.len() - tail]);
    for e in &mut edits {
        e.range = e.range.start + head..e.range.end + head;
    }
    edits
}

/// [`minimal_edits`] on the changed middle of two texts.
fn diff_middle(old: &str, new: &str) -> Vec<TextEdit> {
    if old == new {
        return Vec::new();
    }
    let started = Instant::now();
    let (ol, nl) = (lines(old), lines(new));
    let (oo, no) = (offsets(&ol), offsets(&nl));
    let ops =
        capture_diff_slices_deadline(Algorithm::Myers, &ol, &nl, Some(started + DIFF_DEADLINE));
    let mut edits = Vec::new();
    for (og, ng) in changed_groups(&ops) {
        let old_range = oo[og.start]..oo[og.end];
        let new_chunk = &new[no[ng.start]..no[ng.end]];
        let old_chunk = &old[old_range.clone()];
        if old_chunk.len() + new_chunk.len() > REFINE_MAX_BYTES {
            push_edit(&mut edits, trim_edit(old, old_range, new_chunk));
            continue;
        }
        let (ow, nw) = (words(old_chunk), words(new_chunk));
        let (owo, nwo) = (offsets(&ow), offsets(&nw));
        let wops = capture_diff_slices_deadline(
            Algorithm::Myers,
            &ow,
            &nw,
            Some(Instant::now() + DIFF_DEADLINE),
        );
        let mut refined: Vec<TextEdit> = Vec::new();
        for (wo, wn) in changed_groups(&wops) {
            let r = old_range.start + owo[wo.start]..old_range.start + owo[wo.end];
            let t = &new_chunk[nwo[wn.start]..nwo[wn.end]];
            let e = trim_edit(old, r, t);
            match refined.last_mut() {
                // A rewritten line is one readable edit, not confetti.
                Some(last) if e.range.start - last.range.end <= MERGE_GAP_BYTES => {
                    last.new_text.push_str(&old[last.range.end..e.range.start]);
                    last.new_text.push_str(&e.new_text);
                    last.range.end = e.range.end;
                }
                _ => refined.push(e),
            }
        }
        for e in refined {
            push_edit(&mut edits, e);
        }
    }
    edits
}

/// Adds an edit, merging it with the previous one when they touch (so edits
/// never share an offset, which some clients reject).
fn push_edit(edits: &mut Vec<TextEdit>, e: TextEdit) {
    if e.range.is_empty() && e.new_text.is_empty() {
        return;
    }
    match edits.last_mut() {
        Some(last) if last.range.end >= e.range.start => {
            // Touching: merge (the gap is empty by construction).
            last.range.end = e.range.end;
            last.new_text.push_str(&e.new_text);
        }
        _ => edits.push(e),
    }
}

/// Applies sorted, non-overlapping edits to `text` (for tests and checks).
pub fn apply_edits(text: &str, edits: &[TextEdit]) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for e in edits {
        if e.range.start < at || e.range.end > text.len() || e.range.start > e.range.end {
            return None;
        }
        out.push_str(text.get(at..e.range.start)?);
        out.push_str(&e.new_text);
        at = e.range.end;
    }
    out.push_str(text.get(at..)?);
    Some(out)
}

#[cfg(test)]
mod tests {

    #[test]
    fn unchanged_ends_cut_at_line_starts() {
        // (old, new, head, tail)
        let table = [
            ("a\nb\nc\n", "a\nB\nc\n", 2, 2),
            ("a\nb\nc\n", "a\nb\nc\nd\n", 6, 0),
            ("x\ny\n", "y\n", 0, 2),
            ("same line x\n", "same line y\n", 0, 0),
            ("a\r\nb\r\nc\r\n", "a\r\nX\r\nc\r\n", 3, 3),
            ("a\nb", "a\nc", 2, 0),
            ("日本\nに\n", "日本\nな\n", 7, 0),
            ("x\nに\ny\n", "x\nな\ny\n", 2, 2),
        ];
        for (old, new, head, tail) in table {
            assert_eq!(unchanged_ends(old, new), (head, tail), "{old:?} -> {new:?}");
            let edits = minimal_edits(old, new);
            assert_eq!(
                apply_edits(old, &edits).as_deref(),
                Some(new),
                "{old:?} -> {new:?}"
            );
        }
    }

    use super::*;

    #[test]
    fn one_token_change_is_one_token_edit() {
        let old = "fn f() {\n    let total = count + 1;\n}\n";
        let new = "fn f() {\n    let total = count + 2;\n}\n";
        let edits = minimal_edits(old, new);
        assert_eq!(
            edits,
            vec![TextEdit {
                range: 33..34,
                new_text: "2".into()
            }]
        );
    }

    #[test]
    fn crlf_is_never_split() {
        let old = "a\r\nb\r\n";
        let new = "a\r\nx\r\nb\r\n";
        let edits = minimal_edits(old, new);
        assert_eq!(apply_edits(old, &edits).as_deref(), Some(new));
        for e in &edits {
            for o in [e.range.start, e.range.end] {
                assert!(
                    !(o > 0
                        && old.as_bytes()[o - 1] == b'\r'
                        && old.as_bytes().get(o) == Some(&b'\n'))
                );
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn edits_rebuild_the_new_text(
            old in "(a|b|é|日|😀| |\t|\n|\r\n|fn|x_1|\\{|\\}){0,60}",
            new in "(a|b|é|日|😀| |\t|\n|\r\n|fn|x_1|\\{|\\}){0,60}",
        ) {
            let edits = minimal_edits(&old, &new);
            proptest::prop_assert_eq!(apply_edits(&old, &edits), Some(new.clone()));
            let mut prev_end = None;
            for e in &edits {
                proptest::prop_assert!(old.is_char_boundary(e.range.start) && old.is_char_boundary(e.range.end));
                if let Some(p) = prev_end { proptest::prop_assert!(e.range.start > p); }
                prev_end = Some(e.range.end);
                for o in [e.range.start, e.range.end] {
                    let mid_crlf = o > 0 && old.as_bytes()[o - 1] == b'\r' && old.as_bytes().get(o) == Some(&b'\n');
                    proptest::prop_assert!(!mid_crlf, "edit {:?} splits a CRLF", e);
                }
            }
        }
    }
}
