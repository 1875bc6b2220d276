//! Rebase against a naive model. Every character of the snapshot carries its
//! original offset (plus two sentinels for the text's ends); the user's
//! changes are applied to that tagged text. When `rebase` succeeds, each edit
//! must find exactly its original characters at the rebased range, and
//! applying the rebased edits to the changed text must equal the model's
//! result of "edits first, then the user's changes". When it reports a
//! conflict, some change must really have touched an edit or its boundary
//! (possibly undone by a later change).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use codex_lsp::assist::diff::apply_edits;
use codex_lsp::assist::rebase;
use codex_lsp::text::{AppliedChange, TextEdit};
use proptest::prelude::*;

type Tagged = Vec<(char, i64)>;

/// A base text, sorted edits that neither overlap nor touch, and user changes
/// as (position fraction, delete length, inserted text), applied in order.
fn scenario() -> impl Strategy<Value = (String, Vec<TextEdit>, Vec<(f64, usize, String)>)> {
    (
        "[a-z\n]{0,40}",
        proptest::collection::vec((0.0f64..1.0, 0usize..4, "[A-Z]{0,3}"), 0..5),
        proptest::collection::vec((0.0f64..1.0, 0usize..5, "[0-9]{0,4}"), 0..4),
    )
        .prop_map(|(base, raw_edits, changes)| {
            let mut points: Vec<(usize, usize, String)> = raw_edits
                .into_iter()
                .map(|(f, len, t)| {
                    let s = (f * base.len() as f64) as usize;
                    (s, (s + len).min(base.len()), t)
                })
                .collect();
            points.sort();
            let mut edits: Vec<TextEdit> = Vec::new();
            for (s, e, t) in points {
                if edits.last().is_none_or(|l| s > l.range.end) {
                    edits.push(TextEdit {
                        range: s..e,
                        new_text: t,
                    });
                }
            }
            (base, edits, changes)
        })
}

/// The model's "edits first, then the user's changes": walk the changed,
/// tagged text and replace each edit's original characters.
fn model_result(tagged: &Tagged, edits: &[TextEdit]) -> String {
    let mut out = String::new();
    let mut k = 0;
    while k < tagged.len() {
        let (c, id) = tagged[k];
        if id >= 0 {
            let id = id as usize;
            if let Some(e) = edits
                .iter()
                .find(|e| !e.range.is_empty() && e.range.start == id)
            {
                out.push_str(&e.new_text);
                k += e.range.len();
                continue;
            }
        }
        if c != '\0' {
            out.push(c);
        }
        // Insertions sit right after their left neighbour (or the start sentinel).
        if let Some(e) = edits
            .iter()
            .find(|e| e.range.is_empty() && e.range.start as i64 == id + 1)
        {
            out.push_str(&e.new_text);
        }
        k += 1;
    }
    out
}

proptest! {
    #[test]
    fn rebase_matches_the_naive_model((base, edits, raw_changes) in scenario()) {
        // Sentinels: '\0' tagged -1 before the text and base.len() after it.
        let mut tagged: Tagged = std::iter::once(('\0', -1))
            .chain(base.chars().enumerate().map(|(i, c)| (c, i as i64)))
            .chain(std::iter::once(('\0', base.len() as i64)))
            .collect();
        // Some edit's span, from its left to its right neighbour, is no
        // longer present and contiguous.
        let disturbed = |tagged: &Tagged| edits.iter().any(|e| {
            let lo = e.range.start as i64 - 1;
            let hi = e.range.end as i64;
            let pos: Vec<usize> = tagged.iter().enumerate()
                .filter(|(_, (_, t))| *t >= lo && *t <= hi)
                .map(|(i, _)| i)
                .collect();
            pos.len() as i64 != hi - lo + 1 || pos.windows(2).any(|w| w[1] != w[0] + 1)
        });
        let mut changes = Vec::new();
        // A later change may undo the disturbance (type, then delete what
        // was typed); rebase sees each change and may refuse at the first.
        let mut ever_disturbed = false;
        for (f, del, ins) in &raw_changes {
            let inner = tagged.len() - 2;
            let s = (f * (inner + 1) as f64) as usize;
            let s = s.min(inner);
            let e = (s + del).min(inner);
            changes.push(AppliedChange { range: s..e, new_len: ins.len() });
            tagged.splice(s + 1..e + 1, ins.chars().map(|c| (c, i64::MIN)));
            ever_disturbed |= disturbed(&tagged);
        }
        let current: String = tagged[1..tagged.len() - 1].iter().map(|(c, _)| *c).collect();
        match rebase(&edits, &changes) {
            Ok(rebased) => {
                prop_assert_eq!(rebased.len(), edits.len());
                for (orig, new) in edits.iter().zip(&rebased) {
                    prop_assert_eq!(&orig.new_text, &new.new_text);
                    let got: Vec<i64> = tagged[new.range.start + 1..new.range.end + 1].iter().map(|(_, t)| *t).collect();
                    let want: Vec<i64> = orig.range.clone().map(|i| i as i64).collect();
                    prop_assert_eq!(got, want);
                }
                let ours = apply_edits(&current, &rebased).unwrap();
                prop_assert_eq!(ours, model_result(&tagged, &edits));
            }
            Err(conflict) => {
                prop_assert!(ever_disturbed, "conflict `{}` although every edit is untouched", conflict);
            }
        }
    }
}

/// The snapshot, the model's reply and the user's typing of the scenario
/// from issue 13: the user retypes `10` as `20` while the model proposes
/// `100`. Returns the text the rebased edits give, or the conflict.
fn rebase_reply(
    snapshot: &str,
    reply: &str,
    user: &[AppliedChange],
) -> Result<String, codex_lsp::assist::RebaseConflict> {
    use codex_lsp::assist::{FileChangeKind, parse_patch, plan_edits};
    use std::collections::HashMap;
    use std::path::Path;

    let patch = parse_patch(reply).unwrap();
    let changes = plan_edits(
        &patch,
        (Path::new("/ws/app.toml"), snapshot),
        &HashMap::new(),
        Some(Path::new("/ws")),
    )
    .unwrap();
    let FileChangeKind::Update { edits } = &changes[0].kind else {
        panic!("not an update: {changes:?}");
    };
    // The user's changes, applied to the snapshot.
    let mut current = snapshot.to_owned();
    let mut typed = Vec::new();
    for (change, text) in user.iter().zip(["2", "6", "#", "x", "y"]) {
        current.replace_range(change.range.clone(), &text[..change.new_len]);
        typed.push(change.clone());
    }
    let rebased = codex_lsp::assist::rebase_guarded(edits, &changes[0].guards, &typed)?;
    Ok(apply_edits(&current, &rebased).unwrap())
}

#[test]
fn typing_in_a_line_the_model_rewrote_is_a_conflict() {
    let snapshot = "[client]\nretries = 10\ntimeout = 5\n";
    let reply = "*** Begin Patch\n*** Update File: app.toml\n@@\n [client]\n-retries = 10\n+retries = 100\n timeout = 5\n*** End Patch\n";
    let ten = snapshot.find("10").unwrap();
    let line = snapshot.find("retries").unwrap();
    let change = |at: usize, removed: usize, new_len: usize| AppliedChange {
        range: at..at + removed,
        new_len,
    };
    // The minimal edit inserts one `0` after `10`; the hunk rewrote the whole
    // line, so typing anywhere in it conflicts.
    for (what, user) in [
        ("`1` retyped as `2`", change(ten, 1, 1)),
        ("typing at the start of the line", change(line, 0, 1)),
        ("deleting the `=`", change(line + 8, 1, 0)),
    ] {
        match rebase_reply(snapshot, reply, &[user]) {
            Ok(merged) => panic!("{what}: merged into {merged:?}"),
            Err(conflict) => assert!(conflict.change_start >= line, "{what}: {conflict}"),
        }
    }
    // Other lines are free: the edit moves with them.
    let five = snapshot.find('5').unwrap();
    assert_eq!(
        rebase_reply(snapshot, reply, &[change(five, 1, 1)]).as_deref(),
        Ok("[client]\nretries = 100\ntimeout = 2\n")
    );
    assert_eq!(
        rebase_reply(snapshot, reply, &[change(line - 1, 0, 1)]).as_deref(),
        Ok("[client]2\nretries = 100\ntimeout = 5\n"),
        "typing at the end of the line above"
    );
}
