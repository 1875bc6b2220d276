//! The fuzz targets' bodies: each takes raw bytes, drives one pure function
//! of the server library with them, and panics when an invariant breaks.
//!
//! Shared word for word by the libFuzzer targets (`fuzz/fuzz_targets/*.rs`)
//! and by the proptest fallback (`server/tests/fuzz_props.rs` includes this
//! file), so both check the same things. Only `codex_lsp`, `serde_json` and
//! `std` are used here.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use codex_lsp::assist::diff::apply_edits;
use codex_lsp::assist::{
    FileChangeKind, FileOp, REDACTION_PREFIX, apply_hunks, minimal_edits, parse_patch, plan_edits,
};
use codex_lsp::config::Settings;
use codex_lsp::document::{ContentChange, Document, DocumentError};
use codex_lsp::model::read_sse_chunks;
use codex_lsp::text::{self, AppliedChange, LineCol, PositionEncoding};

/// Separates the parts of a multi-part input (never valid UTF-8, so it
/// cannot occur inside a text part by accident).
pub const SEPARATOR: u8 = 0xFF;

/// Splits `data` into at most `n` parts at [`SEPARATOR`], lossily decoded.
fn parts(data: &[u8], n: usize) -> Vec<String> {
    data.splitn(n, |&b| b == SEPARATOR)
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect()
}

/// Checks `minimal_edits(old, new)`: sorted, non-touching, on character
/// boundaries, never inside a CRLF, and rebuilding `new` exactly.
pub fn check_minimal_edits(old: &str, new: &str) {
    let edits = minimal_edits(old, new);
    assert_eq!(
        apply_edits(old, &edits).as_deref(),
        Some(new),
        "edits {edits:?} do not turn {old:?} into {new:?}"
    );
    if old == new {
        assert!(edits.is_empty(), "edits for equal texts: {edits:?}");
    }
    let mut prev_end: Option<usize> = None;
    for e in &edits {
        assert!(e.range.start <= e.range.end, "inverted edit {e:?}");
        assert!(
            old.is_char_boundary(e.range.start) && old.is_char_boundary(e.range.end),
            "edit {e:?} not on char boundaries of {old:?}"
        );
        if let Some(p) = prev_end {
            assert!(e.range.start > p, "edits touch or overlap: {edits:?}");
        }
        prev_end = Some(e.range.end);
        for o in [e.range.start, e.range.end] {
            let mid_crlf =
                o > 0 && old.as_bytes()[o - 1] == b'\r' && old.as_bytes().get(o) == Some(&b'\n');
            assert!(!mid_crlf, "edit {e:?} splits a CRLF in {old:?}");
        }
    }
}

/// The patch parser, applier and planner, and `minimal_edits`.
///
/// Input: one mode byte, then two parts separated by [`SEPARATOR`]. Even
/// mode: `(old, new)` for `minimal_edits`. Odd mode: `(reply, file text)`:
/// the reply is parsed; every update is applied to the file text; the whole
/// patch is planned inside a (non-existent) workspace and without one.
pub fn patch(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let p = parts(rest, 2);
    let a = p.first().map_or("", String::as_str);
    let b = p.get(1).map_or("", String::as_str);
    if mode % 2 == 0 {
        check_minimal_edits(a, b);
        return;
    }
    let (reply, file) = (a, b);
    let parsed = match parse_patch(reply) {
        Ok(parsed) => parsed,
        Err(e) => {
            assert!(!e.to_string().is_empty());
            return;
        }
    };
    assert!(!parsed.ops.is_empty(), "a parsed patch has operations");
    for op in &parsed.ops {
        assert!(!op.path().trim().is_empty(), "empty path accepted: {op:?}");
        match op {
            FileOp::Update { hunks, .. } => {
                assert!(!hunks.is_empty(), "update without hunks: {op:?}");
                if let Ok(patched) = apply_hunks(file, hunks, op.path()) {
                    if !file.contains(REDACTION_PREFIX) {
                        assert!(
                            !patched.contains(REDACTION_PREFIX),
                            "a redaction placeholder was written: {patched:?}"
                        );
                    }
                    check_minimal_edits(file, &patched);
                }
            }
            FileOp::Add { content, .. } => {
                assert!(!content.is_empty(), "empty added file: {op:?}");
            }
        }
    }
    let root = Path::new("/nonexistent-codex-lsp-fuzz-root");
    let primary = root.join("src/lib.rs");
    let other = root.join("src/other.rs");
    let mut others: HashMap<PathBuf, String> = HashMap::new();
    others.insert(other.clone(), file.to_owned());
    for workspace in [Some(root), None] {
        let Ok(changes) = plan_edits(&parsed, (&primary, file), &others, workspace) else {
            continue;
        };
        for change in changes {
            assert!(
                !change
                    .path
                    .components()
                    .any(|c| matches!(c, Component::ParentDir)),
                "`..` in a planned path: {change:?}"
            );
            match workspace {
                Some(root) => assert!(
                    change.path.starts_with(root) && change.path != root,
                    "planned path outside the workspace: {change:?}"
                ),
                None => assert_eq!(change.path, primary, "no workspace: only the primary file"),
            }
            match change.kind {
                FileChangeKind::Update { edits } => {
                    assert!(!edits.is_empty(), "an update without edits is not planned");
                    let source = if change.path == primary || change.path == other {
                        file
                    } else {
                        panic!("update of a file that cannot be read: {:?}", change.path)
                    };
                    assert!(
                        apply_edits(source, &edits).is_some(),
                        "planned edits do not fit their text: {edits:?}"
                    );
                }
                FileChangeKind::Create { content } => {
                    assert!(workspace.is_some(), "file created without a workspace");
                    assert!(
                        !content.contains(REDACTION_PREFIX),
                        "a redaction placeholder would be written to a new file"
                    );
                }
            }
        }
    }
}

/// The streamed-reply reader (SSE framing and event JSON).
///
/// Input: one byte choosing how to split the rest into network chunks, then
/// the raw body. The body is read whole and split; for valid UTF-8 both
/// readings must agree (where the network splits a stream never changes
/// what it means).
pub fn sse(data: &[u8]) {
    let Some((&seed, body)) = data.split_first() else {
        return;
    };
    let whole = read_sse_chunks([body]);
    let mut chunks: Vec<&[u8]> = Vec::new();
    let mut rest = body;
    let mut k = usize::from(seed);
    while !rest.is_empty() {
        let size = (k % (usize::from(seed % 31) + 1) + 1).min(rest.len());
        let (head, tail) = rest.split_at(size);
        chunks.push(head);
        rest = tail;
        k = k.wrapping_mul(31).wrapping_add(7);
    }
    let split = read_sse_chunks(chunks.iter().copied());
    if std::str::from_utf8(body).is_ok() {
        assert_eq!(whole, split, "chunking changed the outcome of {body:?}");
    }
    for outcome in [&whole, &split] {
        if let Err(e) = outcome {
            assert!(
                !e.user_message().trim().is_empty(),
                "empty message for {e:?}"
            );
        }
    }
}

/// A tiny reader of structured values from fuzz bytes.
struct Reader<'a> {
    data: &'a [u8],
}

impl Reader<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.data.split_first()?;
        self.data = rest;
        Some(b)
    }

    /// A number, mostly small (positions near the text), sometimes huge.
    fn number(&mut self) -> Option<u32> {
        let b = self.byte()?;
        Some(match b {
            0..=239 => u32::from(b % 24),
            240..=247 => u32::from(b),
            248..=251 => u32::from(self.byte()?) << 8 | u32::from(self.byte()?),
            _ => u32::MAX - u32::from(b - 252),
        })
    }

    /// A short string from a small alphabet rich in line breaks and
    /// multi-byte characters.
    fn text(&mut self) -> Option<String> {
        const ALPHABET: [&str; 16] = [
            "a", "b", " ", "\n", "\r\n", "\r", "é", "日本", "😀", "\t", "x y", "\u{2028}", "}", "",
            "\u{0}", "Ω\r",
        ];
        let len = self.byte()? % 12;
        let mut s = String::new();
        for _ in 0..len {
            s.push_str(ALPHABET[usize::from(self.byte()? % 16)]);
        }
        Some(s)
    }
}

/// Naive byte offset of a position, by walking the string (an independent
/// statement of the LSP clamping rules of `text::offset_at`).
pub fn naive_offset(text: &str, pos: LineCol, enc: PositionEncoding) -> usize {
    let mut lines: Vec<(usize, usize)> = Vec::new();
    let bytes = text.as_bytes();
    let (mut start, mut i) = (0, 0);
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                lines.push((start, i));
                start = i + 1;
            }
            b'\r' => {
                lines.push((start, i));
                if bytes.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    lines.push((start, bytes.len()));
    let Some(&(s, e)) = lines.get(pos.line as usize) else {
        return text.len();
    };
    let mut units = 0usize;
    for (off, c) in text[s..e].char_indices() {
        let w = match enc {
            PositionEncoding::Utf8 => c.len_utf8(),
            PositionEncoding::Utf16 => c.len_utf16(),
            PositionEncoding::Utf32 => 1,
        };
        if units + w > pos.col as usize {
            return s + off;
        }
        units += w;
    }
    e
}

/// Incremental edits with position conversion, against a naive `String`.
///
/// Input: an initial text, then changes (encoding, optional range, text).
/// After every change the rope must equal the naive model, the recorded
/// history must name exactly the replaced range, and positions must
/// round-trip.
pub fn document(data: &[u8]) {
    let mut r = Reader { data };
    let Some(initial) = r.text() else {
        return;
    };
    let mut naive = initial.clone();
    let mut doc = Document::new(&initial, 0, "text");
    let mut version = 0;
    for _ in 0..64 {
        let (Some(kind), Some(enc_byte)) = (r.byte(), r.byte()) else {
            break;
        };
        let enc = [
            PositionEncoding::Utf8,
            PositionEncoding::Utf16,
            PositionEncoding::Utf32,
        ][usize::from(enc_byte % 3)];
        let range = if kind % 8 == 0 {
            None
        } else {
            let (Some(a), Some(b), Some(c), Some(d)) =
                (r.number(), r.number(), r.number(), r.number())
            else {
                break;
            };
            Some(LineCol::new(a, b)..LineCol::new(c, d))
        };
        let Some(insert) = r.text() else {
            break;
        };
        let before = doc.revision();
        let change = ContentChange {
            range: range.clone(),
            text: insert.clone(),
        };
        let result = doc.apply_change(&change, enc);
        let replaced = match &range {
            None => Some(0..naive.len()),
            Some(r) if r.start > r.end => None,
            Some(r) => {
                let s = naive_offset(&naive, r.start, enc);
                let e = naive_offset(&naive, r.end, enc).max(s);
                Some(s..e)
            }
        };
        match replaced {
            None => {
                assert!(
                    matches!(result, Err(DocumentError::InvertedRange { .. })),
                    "inverted range not refused: {result:?}"
                );
                assert_eq!(
                    doc.revision(),
                    before,
                    "a refused change moved the revision"
                );
            }
            Some(s) => {
                assert!(
                    !matches!(result, Err(DocumentError::InvertedRange { .. })),
                    "ordered range refused"
                );
                naive.replace_range(s.clone(), &insert);
                assert_eq!(doc.revision(), before + 1);
                assert_eq!(
                    doc.changes_since(before),
                    Some(vec![AppliedChange {
                        range: s,
                        new_len: insert.len(),
                    }]),
                    "history does not record the change"
                );
            }
        }
        version += 1;
        doc.set_version(version);
        let rope = doc.rope();
        assert_eq!(rope.len_bytes(), naive.len());
        assert_eq!(rope.to_string(), naive, "rope and naive model differ");
        // Positions: every offset maps to a position that maps back to a
        // char boundary at or before it.
        for offset in [0, naive.len() / 3, naive.len() / 2, naive.len()] {
            let pos = text::position_at(rope, offset, enc);
            let back = text::offset_at(rope, pos, enc);
            assert!(back <= offset.max(text::floor_char_boundary(&naive, offset)));
            assert!(naive.is_char_boundary(back));
            assert_eq!(back, naive_offset(&naive, pos, enc));
        }
    }
    assert_eq!(
        doc.changes_since(0).map(|c| c.len() as u64),
        Some(doc.revision())
    );
}

/// The settings parser: one value, or an array of layers.
///
/// Accepted settings must validate and survive a JSON round trip; errors
/// must name a `codex.` setting.
pub fn settings(data: &[u8]) {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let mut outcomes = vec![Settings::from_json(&value)];
    if let serde_json::Value::Array(items) = &value {
        let layers: Vec<&serde_json::Value> = items.iter().collect();
        outcomes.push(Settings::from_layers(&layers));
    }
    for outcome in outcomes {
        match outcome {
            Ok(settings) => {
                assert_eq!(settings.validate(), Ok(()));
                let json = serde_json::to_value(&settings).unwrap_or_default();
                assert_eq!(Settings::from_json(&json), Ok(settings), "round trip");
            }
            Err(e) => {
                assert!(e.path.starts_with("codex"), "error path {:?}", e.path);
                assert!(!e.message.is_empty());
            }
        }
    }
}
