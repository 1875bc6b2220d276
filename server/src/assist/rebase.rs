//! Rebasing edits computed against an older snapshot onto the current text.
//!
//! Each change the document received since the snapshot either lies entirely
//! before an edit (the edit shifts), entirely after it (nothing to do), or
//! overlaps or touches it: then the user changed the very code the edit is
//! about, and the edit is refused rather than guessed.

use std::ops::Range;

use crate::text::{AppliedChange, TextEdit};

/// The document changed where an edit applies (or in the lines it rewrote).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the document changed at bytes {change_start}..{change_end}, where a Codex edit applies (bytes {edit_start}..{edit_end}); the edit was not applied"
)]
pub struct RebaseConflict {
    /// Start of the conflicting change (in the text it applied to).
    pub change_start: usize,
    /// End of the conflicting change.
    pub change_end: usize,
    /// Start of the edit (with its guard) at that moment.
    pub edit_start: usize,
    /// End of the edit (with its guard) at that moment.
    pub edit_end: usize,
}

/// Shifts `edits` (sorted, non-overlapping, on the snapshot) over
/// `changes_since` (oldest first, each on the text the previous produced).
/// Each edit guards only its own range; edits from a patch should be
/// rebased with [`rebase_guarded`] and the plan's guards instead.
pub fn rebase(
    edits: &[TextEdit],
    changes_since: &[AppliedChange],
) -> Result<Vec<TextEdit>, RebaseConflict> {
    rebase_guarded(edits, &[], changes_since)
}

/// [`rebase`] where each edit also depends on a wider range of the snapshot,
/// its guard (`guards[i]` for `edits[i]`, containing it; see
/// [`crate::assist::FileChange::guards`]): a change that overlaps or touches
/// the guard is a conflict, one entirely before it shifts edit and guard.
/// An edit without a guard (the list is shorter) guards its own range.
pub fn rebase_guarded(
    edits: &[TextEdit],
    guards: &[Range<usize>],
    changes_since: &[AppliedChange],
) -> Result<Vec<TextEdit>, RebaseConflict> {
    let mut out: Vec<(TextEdit, Range<usize>)> = edits
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let guard = guards.get(i).map_or(e.range.clone(), |g| {
                g.start.min(e.range.start)..g.end.max(e.range.end)
            });
            (e.clone(), guard)
        })
        .collect();
    for change in changes_since {
        let (cs, ce) = (change.range.start, change.range.end.max(change.range.start));
        let removed = ce - cs;
        if removed == 0 && change.new_len == 0 {
            // A no-op change cannot disturb anything.
            continue;
        }
        for (edit, guard) in &mut out {
            let (gs, ge) = (guard.start, guard.end);
            if ce < gs {
                // Entirely before: shift by the change's length difference.
                let shift = |o: usize| (o - removed).saturating_add(change.new_len);
                edit.range = shift(edit.range.start)..shift(edit.range.end);
                *guard = shift(gs)..shift(ge);
            } else if cs > ge {
                // Entirely after: nothing moves.
            } else {
                return Err(RebaseConflict {
                    change_start: cs,
                    change_end: ce,
                    edit_start: gs,
                    edit_end: ge,
                });
            }
        }
    }
    Ok(out.into_iter().map(|(edit, _)| edit).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(r: std::ops::Range<usize>, t: &str) -> TextEdit {
        TextEdit {
            range: r,
            new_text: t.into(),
        }
    }

    fn change(r: std::ops::Range<usize>, new_len: usize) -> AppliedChange {
        AppliedChange { range: r, new_len }
    }

    #[test]
    fn shifts_and_conflicts() {
        let edits = [edit(10..12, "x"), edit(20..20, "y")];
        // Before both: shift by +3.
        assert_eq!(
            rebase(&edits, &[change(0..1, 4)]),
            Ok(vec![edit(13..15, "x"), edit(23..23, "y")])
        );
        // Between: only the second moves.
        assert_eq!(
            rebase(&edits, &[change(15..17, 0)]),
            Ok(vec![edit(10..12, "x"), edit(18..18, "y")])
        );
        // After both: nothing moves.
        assert_eq!(rebase(&edits, &[change(30..31, 9)]), Ok(edits.to_vec()));
        // Touching the end of the first, or inside it, or at the insertion point: conflict.
        assert!(rebase(&edits, &[change(12..12, 1)]).is_err());
        assert!(rebase(&edits, &[change(11..11, 1)]).is_err());
        assert!(rebase(&edits, &[change(20..20, 1)]).is_err());
        assert!(rebase(&edits, &[change(5..10, 1)]).is_err());
        // Nothing changed, or a no-op change at an edit's boundary.
        assert_eq!(rebase(&edits, &[]), Ok(edits.to_vec()));
        assert_eq!(rebase(&edits, &[change(12..12, 0)]), Ok(edits.to_vec()));
    }
}
