//! `codex.refine`: "not quite, do X instead" without starting over. The
//! last edit conversation of the document goes on: the same instructions,
//! tools and cache key, every item so far (what the model read, its
//! reasoning, its patch), then the answer to its patch (applied or
//! rejected), what the document now holds around the edit, and the new
//! instruction. The result is an edit against the current text, versioned
//! and rebased like any other.

use super::conversation::{self, Outcome};
use super::edit::{self, ProducedEdit};
use super::model_call::{Prepared, Target, prepare};
use crate::assist::{self, ActionKind};
use crate::conversations::{Delivery, Saved};
use crate::failure::ActionError;
use crate::lsp::ext::RefineArgs;
use crate::lsp::from_proto;
use crate::model::InputItem;
use crate::state::State;

/// Lines shown above and below the edited region in the follow-up.
const CONTEXT_LINES: usize = 5;

/// At most this many lines of the current text go into the follow-up.
const MAX_LINES: usize = 400;

/// Refines the document's last edit; returns the edit, not yet applied.
pub(crate) async fn run(state: &State, args: &RefineArgs) -> Result<ProducedEdit, ActionError> {
    let instruction = args.instruction.trim();
    if instruction.is_empty() {
        return Err(ActionError::BadArguments(
            "a refine needs an `instruction`".to_owned(),
        ));
    }
    let uri = &args.text_document.uri;
    let key = from_proto::document_key(uri);
    let open = state.open_snapshot(&key).ok_or(ActionError::NotOpen)?;
    let ttl = state.settings().refine_ttl();
    let saved = state
        .conversations()
        .get(&key, open.generation, ttl)
        .ok_or(ActionError::NothingToRefine)?;
    let target = Target::new(
        state,
        uri,
        saved.range,
        None,
        saved.action == ActionKind::Fix,
    )?;
    let prepared = prepare(state, target, saved.action, Some(instruction), None).await?;
    if prepared.settings.edit_tool() != saved.mode {
        return Err(ActionError::RefineModeChanged);
    }
    let mut input = saved.input.clone();
    input.extend(conversation::answer_pending(
        &saved.pending,
        saved.delivery != Delivery::Rejected,
    ));
    input.push(InputItem::user_text(follow_up(
        &prepared,
        &saved,
        instruction,
    )));

    let (mut job, cancel) = edit::begin(state, saved.action, &prepared).await?;
    match conversation::run_from(state, &prepared, Some(input), &mut job, &cancel).await {
        Outcome::Edit(edit, usage, history) => {
            job.end("edit ready", Some(usage.clone())).await;
            edit::save(state, &prepared, saved.range, history);
            Ok(ProducedEdit {
                edit,
                action: saved.action,
                model: prepared.settings.model.trim().to_owned(),
                usage,
            })
        }
        Outcome::Failed(err, usage) => Err(edit::failed(job, err, usage).await),
        // The same tools were taken before: a server that now rejects them
        // changed; the conversation's items would not fit a simpler mode.
        Outcome::Rejected { .. } => {
            Err(edit::failed(job, ActionError::RefineModeChanged, None).await)
        }
    }
}

/// The follow-up message: what became of the last edit, the current text
/// around it (numbered, redacted like every prompt), the new instruction.
fn follow_up(prepared: &Prepared, saved: &Saved, instruction: &str) -> String {
    let outcome = match saved.delivery {
        Delivery::Applied => "The user applied your edit.",
        Delivery::Rejected => "The user rejected your edit: the files are as they were before it.",
        Delivery::Handed => "Your edit was handed to the editor to apply.",
    };
    let rope = &prepared.target.open.snapshot.rope;
    let region = &prepared.target.region.range;
    let first = rope.byte_to_line(region.start.min(rope.len_bytes()));
    let last = rope.byte_to_line(region.end.min(rope.len_bytes()));
    let from = first.saturating_sub(CONTEXT_LINES);
    let to = (last + CONTEXT_LINES + 1)
        .min(rope.len_lines())
        .min(from + MAX_LINES);
    let mut numbered = String::new();
    for k in from..to {
        let line = rope.line(k).to_string();
        let line = assist::redact(&line);
        numbered.push_str(&format!(
            "{:>6}\t{}",
            k + 1,
            line.trim_end_matches(['\n', '\r'])
        ));
        numbered.push('\n');
    }
    format!(
        "{outcome} The current text of {path}, lines {start}–{to}:\n\n{numbered}\nRefine the edit as the user asks: {instruction}\n\nPatch the current text shown above (not the text before your last edit), with the same tools and rules.",
        path = prepared.prompt.rel_path,
        start = from + 1,
    )
}
