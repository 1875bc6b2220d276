//! Open documents: a rope, the client's version, and the recent change history.
//!
//! The history lets an edit computed against an older snapshot be rebased onto
//! the current text (see `assist::rebase`). It is keyed by an internal
//! revision counter rather than the client's version, so a client whose
//! versions go backwards cannot make a stale edit look fresh.

use std::collections::VecDeque;
use std::ops::Range;

use ropey::Rope;

use crate::text::{self, AppliedChange, LineCol, PositionEncoding};

/// How many applied changes a document remembers for rebasing.
const HISTORY_LIMIT: usize = 4096;

/// Why a change could not be applied exactly as sent.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DocumentError {
    /// The change names a range that lies (partly) outside the document.
    #[error("range {start:?}..{end:?} lies outside the document; it was clamped")]
    RangeClamped {
        /// Start as sent by the client.
        start: LineCol,
        /// End as sent by the client.
        end: LineCol,
    },
    /// The change's range ends before it starts.
    #[error("range {start:?}..{end:?} is inverted; the change was ignored")]
    InvertedRange {
        /// Start as sent by the client.
        start: LineCol,
        /// End as sent by the client.
        end: LineCol,
    },
}

/// One content change as the protocol edge hands it over: a range in
/// line/column (or none, for a full replacement) and the new text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentChange {
    /// The replaced range, or `None` to replace the whole text.
    pub range: Option<Range<LineCol>>,
    /// The new text.
    pub text: String,
}

/// An open document.
#[derive(Debug, Clone)]
pub struct Document {
    rope: Rope,
    version: i32,
    language_id: String,
    /// Internal revision; increases by one per applied change.
    revision: u64,
    /// `(revision after the change, change)`, oldest first.
    history: VecDeque<(u64, AppliedChange)>,
}

/// A cheap, immutable copy of a document at one moment (the rope is shared).
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The text at that moment.
    pub rope: Rope,
    /// The client's language id.
    pub language_id: String,
    /// The internal revision at that moment, for rebasing.
    pub revision: u64,
}

impl Document {
    /// A document as opened by the client.
    pub fn new(text: &str, version: i32, language_id: impl Into<String>) -> Self {
        Self {
            rope: Rope::from_str(text),
            version,
            language_id: language_id.into(),
            revision: 0,
            history: VecDeque::new(),
        }
    }

    /// The current text.
    pub fn rope(&self) -> &Rope {
        &self.rope
    }

    /// The client's current version.
    pub fn version(&self) -> i32 {
        self.version
    }

    /// The internal revision.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// A snapshot that stays valid however the document changes later.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            rope: self.rope.clone(),
            language_id: self.language_id.clone(),
            revision: self.revision,
        }
    }

    /// Sets the client's version after a batch of changes.
    pub fn set_version(&mut self, version: i32) {
        self.version = version;
    }

    /// Applies one content change. Out-of-range positions are clamped (and
    /// reported), inverted ranges are refused; the text is never corrupted.
    pub fn apply_change(
        &mut self,
        change: &ContentChange,
        encoding: PositionEncoding,
    ) -> Result<(), DocumentError> {
        let (range, clamped) = match &change.range {
            None => (0..self.rope.len_bytes(), None),
            Some(r) => {
                if r.start > r.end {
                    return Err(DocumentError::InvertedRange {
                        start: r.start,
                        end: r.end,
                    });
                }
                let (start, start_clamped) = text::offset_at_checked(&self.rope, r.start, encoding);
                // An insertion (the commonest change) needs one conversion.
                let (end, end_clamped) = if r.end == r.start {
                    (start, start_clamped)
                } else {
                    text::offset_at_checked(&self.rope, r.end, encoding)
                };
                let end = end.max(start);
                let clamped =
                    (start_clamped || end_clamped).then_some(DocumentError::RangeClamped {
                        start: r.start,
                        end: r.end,
                    });
                (start..end, clamped)
            }
        };
        self.replace(range, &change.text);
        clamped.map_or(Ok(()), Err)
    }

    /// Replaces a byte range (already validated to lie on char boundaries by
    /// construction of the offsets) and records the change.
    fn replace(&mut self, range: Range<usize>, new_text: &str) {
        if range.start == 0 && range.end == self.rope.len_bytes() {
            self.rope = Rope::from_str(new_text);
        } else {
            let start_char = self.rope.byte_to_char(range.start);
            let end_char = self.rope.byte_to_char(range.end);
            self.rope.remove(start_char..end_char);
            self.rope.insert(start_char, new_text);
        }
        self.revision += 1;
        if self.history.len() == HISTORY_LIMIT {
            self.history.pop_front();
        }
        self.history.push_back((
            self.revision,
            AppliedChange {
                range,
                new_len: new_text.len(),
            },
        ));
    }

    /// The changes applied since `revision`, oldest first, or `None` when the
    /// history no longer reaches back that far.
    pub fn changes_since(&self, revision: u64) -> Option<Vec<AppliedChange>> {
        if revision > self.revision {
            return None;
        }
        if revision == self.revision {
            return Some(Vec::new());
        }
        let oldest = self.history.front().map(|(r, _)| *r)?;
        // The change that produced revision + 1 must still be recorded.
        if oldest > revision + 1 {
            return None;
        }
        Some(
            self.history
                .iter()
                .filter(|(r, _)| *r > revision)
                .map(|(_, c)| c.clone())
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PositionEncoding::Utf16;

    fn change(sl: u32, sc: u32, el: u32, ec: u32, text: &str) -> ContentChange {
        ContentChange {
            range: Some(LineCol::new(sl, sc)..LineCol::new(el, ec)),
            text: text.to_owned(),
        }
    }

    #[test]
    fn incremental_and_full_changes() {
        let mut doc = Document::new("hello\nworld\n", 1, "rust");
        doc.apply_change(&change(0, 0, 0, 5, "héllo"), Utf16)
            .unwrap();
        doc.apply_change(&change(1, 5, 1, 5, "!"), Utf16).unwrap();
        assert_eq!(doc.rope().to_string(), "héllo\nworld!\n");
        doc.apply_change(
            &ContentChange {
                range: None,
                text: "new".into(),
            },
            Utf16,
        )
        .unwrap();
        assert_eq!(doc.rope().to_string(), "new");
        assert_eq!(doc.revision(), 3);
    }

    #[test]
    fn range_past_end_is_clamped_and_reported() {
        let mut doc = Document::new("abc", 1, "text");
        let err = doc
            .apply_change(&change(0, 1, 9, 9, "X"), Utf16)
            .unwrap_err();
        assert!(matches!(err, DocumentError::RangeClamped { .. }));
        assert_eq!(doc.rope().to_string(), "aX");
    }

    #[test]
    fn inverted_range_is_refused_without_change() {
        let mut doc = Document::new("abc", 1, "text");
        let err = doc
            .apply_change(&change(0, 2, 0, 1, "X"), Utf16)
            .unwrap_err();
        assert!(matches!(err, DocumentError::InvertedRange { .. }));
        assert_eq!(doc.rope().to_string(), "abc");
        assert_eq!(doc.revision(), 0);
    }

    #[test]
    fn surrogate_pair_column_never_panics() {
        let mut doc = Document::new("😀😀", 1, "text");
        doc.apply_change(&change(0, 1, 0, 3, "x"), Utf16).unwrap();
        // Both ends snap back to char starts: 0..2 code units => first emoji.
        assert_eq!(doc.rope().to_string(), "x😀");
    }

    #[test]
    fn history_reports_changes_since_a_revision() {
        let mut doc = Document::new("abc", 1, "text");
        let snap = doc.snapshot();
        doc.apply_change(&change(0, 0, 0, 0, "xy"), Utf16).unwrap();
        doc.apply_change(&change(0, 5, 0, 5, "z"), Utf16).unwrap();
        let changes = doc.changes_since(snap.revision).unwrap();
        assert_eq!(
            changes,
            vec![
                AppliedChange {
                    range: 0..0,
                    new_len: 2
                },
                AppliedChange {
                    range: 5..5,
                    new_len: 1
                },
            ]
        );
        assert_eq!(doc.changes_since(doc.revision()), Some(vec![]));
        assert_eq!(doc.changes_since(99), None);
        assert_eq!(snap.rope.to_string(), "abc", "snapshots are immutable");
    }
}
