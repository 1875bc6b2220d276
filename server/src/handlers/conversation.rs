//! The edit loop: one edit action as a short conversation with the model,
//! the way Codex models are trained to work. The model may read, search and
//! list the workspace (read-only tools through the workspace policy, see
//! [`crate::tools`]), then edits through `apply_patch`; a patch that does
//! not apply goes back to it with the reason, a bounded number of times.
//!
//! Every request repeats the previous one's input and appends the new items
//! (the model's output items as they came, reasoning included, then the
//! answer to each of its calls), with the same instructions, tools and
//! cache key: the cached prefix keeps growing, and a follow-up costs mostly
//! cached input.
//!
//! Bounds: `maxToolCalls` read-only calls, then one last request that may
//! only patch; `maxPatchRepairs` repairs; the tools' answers together at
//! most the context budget; the whole action within `requestTimeoutMs`.
//! Cancelling stops between or during requests.

use std::path::Path;
use std::time::Instant;

use serde_json::json;
use tokio_util::sync::CancellationToken;
use tower_lsp_server::ls_types::WorkspaceEdit;

use super::model_call::{Prepared, Turn, ask_model, ask_turn};
use super::patch_edit::edit_from_reply;
use crate::assist::{APPLY_PATCH_GRAMMAR, AssistError};
use crate::config::EditTool;
use crate::failure::ActionError;
use crate::lsp::ext::UsageReport;
use crate::model::{
    ApplyPatchStatus, CustomFormat, InputItem, ModelError, Tool, ToolCall, ToolChoice,
    ToolChoiceMode, ToolKind,
};
use crate::progress::Job;
use crate::state::State;
use crate::tools::{self, ToolContext, ToolRequest};
use crate::workspace::DocumentKey;

/// The name of the editing tool in every mode that has tools.
const APPLY_PATCH: &str = "apply_patch";

const APPLY_PATCH_DESCRIPTION: &str = "Edit workspace files with one patch in the apply_patch format (*** Begin Patch … *** End Patch). Use it once, when you know the change; if it answers that the patch did not apply, correct the patch and call it again.";

/// How the conversation ended.
pub(crate) enum Outcome {
    /// The edit, not yet applied, what all requests cost together, and the
    /// conversation, for a refine to continue.
    Edit(WorkspaceEdit, UsageReport, History),
    /// It failed; the usage of the requests made so far, if any.
    Failed(ActionError, Option<UsageReport>),
    /// The server rejected the tools of this mode (HTTP 400 naming them);
    /// the caller prepares the prompt again for the simpler mode.
    Rejected { simpler: EditTool, reason: String },
}

/// A finished edit conversation: the edit mode, every input item so far
/// (the last response's output included), and the calls that carried the
/// patch, which a follow-up must answer first.
pub(crate) struct History {
    pub(crate) mode: EditTool,
    pub(crate) input: Vec<InputItem>,
    pub(crate) pending: Vec<ToolCall>,
}

/// The answers to the calls that carried a conversation's last patch, now
/// that the user applied it or not: the start of a follow-up's new items.
pub(crate) fn answer_pending(pending: &[ToolCall], applied: bool) -> Vec<InputItem> {
    let output = if applied {
        "Applied."
    } else {
        "Not applied: the user rejected this edit; the files are unchanged."
    };
    pending
        .iter()
        .map(|call| answer(call, output.to_owned(), applied))
        .collect()
}

/// Runs the conversation for a prepared edit action.
pub(crate) async fn run(
    state: &State,
    prepared: &Prepared,
    job: &mut Job,
    cancel: &CancellationToken,
) -> Outcome {
    run_from(state, prepared, None, job, cancel).await
}

/// Runs the conversation from `input` (a refine: an earlier conversation
/// with the new items after it), or from the prompt.
pub(crate) async fn run_from(
    state: &State,
    prepared: &Prepared,
    input: Option<Vec<InputItem>>,
    job: &mut Job,
    cancel: &CancellationToken,
) -> Outcome {
    let mut conversation = Conversation::new(state, prepared);
    if let Some(input) = input {
        conversation.input = input;
    }
    let deadline = prepared.settings.request_timeout();
    let started = Instant::now();
    let result = tokio::time::timeout(deadline, conversation.turns(job, cancel)).await;
    let usage = conversation.usage;
    match result {
        Ok(outcome) => outcome,
        Err(_) => Outcome::Failed(
            ActionError::Model(ModelError::Timeout {
                after: started.elapsed(),
            }),
            usage,
        ),
    }
}

/// The explain command as a short conversation: the model may read, search
/// and list the workspace (the read-only tools of an edit, within the same
/// bounds), then answers in text. The hover never comes here: it stays one
/// request without tools. A server that rejects the tools gets the plain
/// request instead.
pub(crate) async fn explain(
    state: &State,
    prepared: &Prepared,
    cancel: &CancellationToken,
) -> Result<String, ActionError> {
    let mut conversation = Conversation::new(state, prepared);
    if !conversation.mode.has_tools() {
        return Ok(ask_model(state, prepared, None, cancel).await?.text);
    }
    let tools = read_only_tools();
    // Every round but the last runs at least one tool: bounded by the
    // tool budget.
    for _ in 0..=prepared.settings.max_tool_calls + 1 {
        let last = conversation.final_turn;
        let turn = Turn {
            input: conversation.input.clone(),
            tools: tools.clone(),
            tool_choice: Some(ToolChoice::Mode(if last {
                ToolChoiceMode::None
            } else {
                ToolChoiceMode::Auto
            })),
            encrypted_reasoning: replays_reasoning(conversation.mode),
        };
        let answer = match ask_turn(state, prepared, &turn, None, cancel).await {
            Ok(answer) => answer,
            Err(ActionError::Model(ModelError::BadRequest { message, .. }))
                if conversation.usage.is_none() && rejects_tools(&message) =>
            {
                tracing::warn!(%message, "the server rejected the tools; explaining without them");
                return Ok(ask_model(state, prepared, None, cancel).await?.text);
            }
            Err(err) => return Err(err),
        };
        conversation
            .usage
            .get_or_insert_with(UsageReport::default)
            .add(answer.usage);
        if answer.calls.is_empty() || last {
            return Ok(answer.text);
        }
        conversation
            .input
            .extend(answer.output.into_iter().map(InputItem::Replayed));
        conversation.run_tools(&answer.calls, None, cancel).await?;
        conversation.final_turn |= conversation.tool_calls >= prepared.settings.max_tool_calls;
    }
    Err(ActionError::EmptyExplanation)
}

/// Whether a mode asks for encrypted reasoning to replay (OpenAI's
/// servers; compatible ones may reject `include`).
fn replays_reasoning(mode: EditTool) -> bool {
    matches!(mode, EditTool::Freeform | EditTool::Native)
}

struct Conversation<'a> {
    state: &'a State,
    prepared: &'a Prepared,
    mode: EditTool,
    usage: Option<UsageReport>,
    tool_calls: u32,
    repairs: u32,
    /// Bytes of tool answers so far, bounded by the context budget.
    tool_output_bytes: usize,
    /// The read-only tool budget is spent: the next request may only patch.
    final_turn: bool,
    input: Vec<InputItem>,
}

/// What to do with a patch that failed.
enum Repair {
    /// Tell the model why and let it try again.
    Retry(String),
    Fail(ActionError),
}

impl<'a> Conversation<'a> {
    fn new(state: &'a State, prepared: &'a Prepared) -> Self {
        Self {
            state,
            prepared,
            mode: prepared.settings.edit_tool(),
            usage: None,
            tool_calls: 0,
            repairs: 0,
            tool_output_bytes: 0,
            final_turn: false,
            input: vec![InputItem::user_text(prepared.prompt.input.clone())],
        }
    }

    async fn turns(&mut self, job: &mut Job, cancel: &CancellationToken) -> Outcome {
        let tools = tools_for(self.mode);
        loop {
            let turn = Turn {
                input: self.input.clone(),
                tools: tools.clone(),
                tool_choice: self.tool_choice(),
                encrypted_reasoning: replays_reasoning(self.mode),
            };
            let answer = match ask_turn(self.state, self.prepared, &turn, Some(&mut *job), cancel)
                .await
            {
                Ok(answer) => answer,
                Err(ActionError::Model(ModelError::BadRequest { message, .. }))
                    if self.usage.is_none() && rejects_tools(&message) =>
                {
                    if let Some(simpler) = self.mode.simpler().filter(|_| self.mode.has_tools()) {
                        return Outcome::Rejected {
                            simpler,
                            reason: message,
                        };
                    }
                    return self.failed(ActionError::Model(ModelError::BadRequest {
                        code: None,
                        message,
                    }));
                }
                Err(err) => return self.failed(err),
            };
            self.usage
                .get_or_insert_with(UsageReport::default)
                .add(answer.usage);
            self.input
                .extend(answer.output.into_iter().map(InputItem::Replayed));

            let patch_calls: Vec<&ToolCall> = answer
                .calls
                .iter()
                .filter(|c| c.name == APPLY_PATCH)
                .collect();
            if !patch_calls.is_empty() {
                let applied = patch_text(&patch_calls)
                    .map_err(Repair::Retry)
                    .and_then(|patch| {
                        job.on_step("applying the patch".to_owned());
                        self.try_patch(&patch)
                    });
                match applied {
                    Ok(edit) => {
                        let pending = patch_calls.into_iter().cloned().collect();
                        return self.done(edit, pending);
                    }
                    Err(Repair::Retry(reason)) => {
                        self.answer_all(&answer.calls, &reason);
                        if let Some(fail) = self.count_repair() {
                            return fail;
                        }
                        job.on_step("the patch did not apply; asking Codex to fix it".into());
                        continue;
                    }
                    Err(Repair::Fail(err)) => return self.failed(err),
                }
            }

            if !answer.calls.is_empty() {
                if let Err(err) = self.run_tools(&answer.calls, Some(&mut *job), cancel).await {
                    return self.failed(err);
                }
                continue;
            }

            // No tool call: the answer text holds the patch (text mode, or
            // a server that ignores the tools).
            match self.try_patch(&answer.text) {
                Ok(edit) => return self.done(edit, Vec::new()),
                Err(Repair::Retry(reason)) if self.repairs < self.max_repairs() => {
                    self.repairs += 1;
                    self.input.push(InputItem::user_text(format!(
                        "The patch did not apply: {reason}\nAnswer with one corrected apply_patch block."
                    )));
                    job.on_step("the patch did not apply; asking Codex to fix it".into());
                }
                Err(Repair::Retry(reason)) => {
                    return self.failed(ActionError::BadPatch {
                        attempts: self.repairs + 1,
                        reason,
                    });
                }
                Err(Repair::Fail(err)) => return self.failed(err),
            }
        }
    }

    fn max_repairs(&self) -> u32 {
        self.prepared.settings.max_patch_repairs
    }

    /// Counts a repair; the failure when the repairs are spent.
    fn count_repair(&mut self) -> Option<Outcome> {
        if self.repairs >= self.max_repairs() {
            let reason = self.last_reason();
            return Some(self.failed(ActionError::BadPatch {
                attempts: self.repairs + 1,
                reason,
            }));
        }
        self.repairs += 1;
        None
    }

    /// The reason last told to the model, for the user's message.
    fn last_reason(&self) -> String {
        self.input
            .iter()
            .rev()
            .find_map(|item| match item {
                InputItem::CustomToolCallOutput { output, .. }
                | InputItem::FunctionCallOutput { output, .. }
                | InputItem::ApplyPatchCallOutput { output, .. } => Some(output.clone()),
                _ => None,
            })
            .unwrap_or_default()
    }

    fn tool_choice(&self) -> Option<ToolChoice> {
        match self.mode {
            EditTool::Text | EditTool::Auto => None,
            EditTool::Native if self.final_turn => Some(ToolChoice::BuiltIn {
                kind: ToolKind::ApplyPatch,
            }),
            EditTool::Freeform | EditTool::Function if self.final_turn => Some(ToolChoice::Named {
                kind: if self.mode == EditTool::Freeform {
                    ToolKind::Custom
                } else {
                    ToolKind::Function
                },
                name: APPLY_PATCH.to_owned(),
            }),
            EditTool::Native | EditTool::Freeform | EditTool::Function => {
                Some(ToolChoice::Mode(ToolChoiceMode::Required))
            }
        }
    }

    /// The edit, and the conversation handed over for a refine (it ends
    /// here).
    fn done(&mut self, edit: WorkspaceEdit, pending: Vec<ToolCall>) -> Outcome {
        let history = History {
            mode: self.mode,
            input: std::mem::take(&mut self.input),
            pending,
        };
        Outcome::Edit(edit, self.usage.clone().unwrap_or_default(), history)
    }

    fn failed(&self, err: ActionError) -> Outcome {
        Outcome::Failed(err, self.usage.clone())
    }

    /// The edit a patch gives, or whether the model may repair it.
    fn try_patch(&self, patch: &str) -> Result<WorkspaceEdit, Repair> {
        edit_from_reply(self.state, self.prepared, patch).map_err(|err| {
            if !repairable(&err) {
                return Repair::Fail(err);
            }
            let mut reason = err.to_string();
            if let ActionError::Assist(AssistError::HunkNotFound { first_line, .. }) = &err {
                reason.push_str(&self.nearest_lines(first_line));
            }
            Repair::Retry(reason)
        })
    }

    /// The target file's lines nearest to a line the model expected, with
    /// their numbers, so it can copy the context exactly.
    fn nearest_lines(&self, wanted: &str) -> String {
        let rope = &self.prepared.target.open.snapshot.rope;
        let wanted = wanted.trim();
        if wanted.is_empty() {
            return String::new();
        }
        let lines = rope.len_lines().min(20_000);
        let best = (0..lines)
            .map(|k| {
                let line = rope.line(k).to_string();
                let score = similar::TextDiff::from_chars(line.trim(), wanted).ratio();
                (k, score)
            })
            .max_by(|a, b| a.1.total_cmp(&b.1));
        // Below half the characters in common, nothing is near enough to help.
        let Some((at, _)) = best.filter(|(_, similarity)| *similarity > 0.5) else {
            return String::new();
        };
        let from = at.saturating_sub(3);
        let to = (at + 4).min(rope.len_lines());
        let mut out = format!(
            "\nThe nearest lines of {} are:\n",
            self.prepared.prompt.rel_path
        );
        for k in from..to {
            let line = crate::assist::redact(&rope.line(k).to_string()).into_owned();
            out.push_str(&format!("{:>6}\t{}", k + 1, line));
            if !line.ends_with('\n') {
                out.push('\n');
            }
        }
        out
    }

    /// Answers every call of a response (each needs its output): the patch
    /// calls with why the patch did not apply (none of their operations
    /// was), the others as not run.
    fn answer_all(&mut self, calls: &[ToolCall], reason: &str) {
        for call in calls {
            let output = if call.name == APPLY_PATCH {
                format!("The patch did not apply: {reason}")
            } else {
                "Not run: the patch in this response came first.".to_owned()
            };
            self.push_output(call, output);
        }
    }

    /// Answers a call; a patch call this way did not apply.
    fn push_output(&mut self, call: &ToolCall, output: String) {
        self.input.push(answer(call, output, false));
    }

    /// Runs the read-only calls of a response, in order, and answers each.
    async fn run_tools(
        &mut self,
        calls: &[ToolCall],
        mut job: Option<&mut Job>,
        cancel: &CancellationToken,
    ) -> Result<(), ActionError> {
        let budget = self.prepared.settings.max_context_tokens as usize * 4;
        for call in calls {
            if cancel.is_cancelled() {
                return Err(ActionError::Model(ModelError::Cancelled));
            }
            let request = match ToolRequest::parse(&call.name, &call.input) {
                Ok(request) if self.mode.has_tools() => request,
                Ok(_) => {
                    self.push_output(call, "Tools are not available.".to_owned());
                    continue;
                }
                Err(reason) => {
                    self.push_output(call, reason);
                    continue;
                }
            };
            if self.final_turn || self.tool_calls >= self.prepared.settings.max_tool_calls {
                self.final_turn = true;
                self.push_output(
                    call,
                    "Not run: the tool budget of this action is spent. Answer now with apply_patch."
                        .to_owned(),
                );
                continue;
            }
            self.tool_calls += 1;
            if let Some(job) = job.as_deref_mut() {
                job.on_step(request.describe());
            }
            let output = self.run_tool(request, cancel).await?;
            let output = if self.tool_output_bytes + output.len() > budget {
                self.final_turn = true;
                "Not run: the context budget of this action is spent. Answer now with apply_patch."
                    .to_owned()
            } else {
                self.tool_output_bytes += output.len();
                output
            };
            self.push_output(call, output);
        }
        if self.tool_calls >= self.prepared.settings.max_tool_calls {
            self.final_turn = true;
        }
        Ok(())
    }

    /// One read-only tool, off the async threads (it reads files).
    async fn run_tool(
        &self,
        request: ToolRequest,
        cancel: &CancellationToken,
    ) -> Result<String, ActionError> {
        let policy = self.prepared.policy.clone();
        let root = self.prepared.root.clone();
        let cap = self.prepared.settings.max_file_bytes;
        let state = self.state.clone();
        let work = tokio::task::spawn_blocking(move || {
            let open_text = move |path: &Path| -> Option<String> {
                state
                    .open_snapshot(&DocumentKey::file(path))
                    .map(|open| open.snapshot.rope.to_string())
            };
            let context = ToolContext {
                policy: &policy,
                root: root.as_deref(),
                max_file_bytes: cap,
                open_text: &open_text,
            };
            context.run(&request)
        });
        tokio::select! {
            () = cancel.cancelled() => Err(ActionError::Model(ModelError::Cancelled)),
            done = work => Ok(done.unwrap_or_else(|_| "the tool failed".to_owned())),
        }
    }
}

/// The input item answering `call`; for the built-in patch tool, whether
/// its operation was carried out.
fn answer(call: &ToolCall, output: String, applied: bool) -> InputItem {
    match call.kind {
        ToolKind::Custom => InputItem::CustomToolCallOutput {
            call_id: call.call_id.clone(),
            output,
        },
        ToolKind::Function => InputItem::FunctionCallOutput {
            call_id: call.call_id.clone(),
            output,
        },
        ToolKind::ApplyPatch => InputItem::ApplyPatchCallOutput {
            call_id: call.call_id.clone(),
            status: if applied {
                ApplyPatchStatus::Completed
            } else {
                ApplyPatchStatus::Failed
            },
            output,
        },
    }
}

/// The patch the `apply_patch` calls of one response carry: the first
/// call's for the custom and function tools (one whole patch each), all
/// operations together for the built-in tool (one file each), so that they
/// apply all or none.
fn patch_text(calls: &[&ToolCall]) -> Result<String, String> {
    let Some(first) = calls.first() else {
        return Err("there is no patch".to_owned());
    };
    if first.kind != ToolKind::ApplyPatch {
        return patch_input(first);
    }
    let mut patch = String::from("*** Begin Patch\n");
    for call in calls.iter().filter(|c| c.kind == ToolKind::ApplyPatch) {
        patch.push_str(&native_operation(&call.input)?);
    }
    patch.push_str("*** End Patch\n");
    Ok(patch)
}

/// The patch a call carries: a custom tool's input as is, a function's
/// `input` argument.
fn patch_input(call: &ToolCall) -> Result<String, String> {
    match call.kind {
        ToolKind::Custom => Ok(call.input.clone()),
        ToolKind::Function => {
            let args: serde_json::Value = serde_json::from_str(&call.input)
                .map_err(|e| format!("the arguments are not JSON ({e})"))?;
            args.get("input")
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| "the arguments need a string `input` holding the patch".to_owned())
        }
        ToolKind::ApplyPatch => {
            native_operation(&call.input).map(|op| format!("*** Begin Patch\n{op}*** End Patch\n"))
        }
    }
}

/// One operation of the built-in tool, as `apply_patch_call.operation`.
#[derive(serde::Deserialize)]
#[serde(tag = "type")]
enum NativeOperation {
    #[serde(rename = "create_file")]
    Create { path: String, diff: String },
    #[serde(rename = "update_file")]
    Update { path: String, diff: String },
    #[serde(rename = "delete_file")]
    Delete { path: String },
}

/// A built-in tool operation as the file section of a patch: its diff is
/// the body of an `*** Update File:` (V4A hunks) or `*** Add File:` (`+`
/// lines). A path or diff that would smuggle in more sections is refused:
/// one call is one file.
fn native_operation(operation: &str) -> Result<String, String> {
    let operation: NativeOperation = serde_json::from_str(operation).map_err(|e| {
        format!("the operation is not one of create_file, update_file, delete_file ({e})")
    })?;
    let (header, path, diff) = match &operation {
        NativeOperation::Create { path, diff } => ("*** Add File: ", path, diff.as_str()),
        NativeOperation::Update { path, diff } => ("*** Update File: ", path, diff.as_str()),
        NativeOperation::Delete { path } => ("*** Delete File: ", path, ""),
    };
    if path.trim().is_empty() || path.contains(['\n', '\r']) {
        return Err(format!("`{}` is not a file path", path.escape_debug()));
    }
    if let Some(line) = diff
        .lines()
        .find(|l| l.trim_start().starts_with("*** ") && l.trim() != "*** End of File")
    {
        return Err(format!(
            "the diff of {path} holds `{}`; one call edits one file, without patch headers",
            line.trim()
        ));
    }
    let mut section = format!("{header}{path}\n{diff}");
    if !section.ends_with('\n') {
        section.push('\n');
    }
    Ok(section)
}

/// Whether the model can do better with the reason: the patch itself was
/// wrong (did not parse or apply, wrote where it may not, changed
/// nothing). A document changed or closed meanwhile is not its fault.
fn repairable(err: &ActionError) -> bool {
    matches!(
        err,
        ActionError::Patch(_)
            | ActionError::Assist(_)
            | ActionError::Refused(_)
            | ActionError::CannotCreate(_)
            | ActionError::NoChange
    )
}

/// Whether a 400 says the server does not take these tools (compatible
/// servers without grammars or tools name the field they reject).
fn rejects_tools(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    ["tool", "custom", "grammar", "format", "include"]
        .iter()
        .any(|word| m.contains(word))
}

/// The tools of an edit mode, identical on every turn.
fn tools_for(mode: EditTool) -> Vec<Tool> {
    let patch_tool = match mode {
        EditTool::Text | EditTool::Auto => return Vec::new(),
        EditTool::Native => Tool::ApplyPatch,
        EditTool::Freeform => Tool::Custom {
            name: APPLY_PATCH.to_owned(),
            description: APPLY_PATCH_DESCRIPTION.to_owned(),
            format: CustomFormat::Grammar {
                syntax: "lark".to_owned(),
                definition: APPLY_PATCH_GRAMMAR.to_owned(),
            },
        },
        EditTool::Function => Tool::Function {
            name: APPLY_PATCH.to_owned(),
            description: APPLY_PATCH_DESCRIPTION.to_owned(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "input": {"type": "string", "description": "The whole patch, *** Begin Patch to *** End Patch."}
                },
                "required": ["input"],
                "additionalProperties": false
            }),
            strict: false,
        },
    };
    let mut out = read_only_tools();
    out.push(patch_tool);
    out
}

/// The read-only workspace tools, as function tools.
fn read_only_tools() -> Vec<Tool> {
    tools::specs()
        .into_iter()
        .map(|spec| Tool::Function {
            name: spec.name.to_owned(),
            description: spec.description.to_owned(),
            parameters: spec.parameters,
            strict: false,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rejection_names_the_tools() {
        assert!(rejects_tools(
            "Unsupported parameter: 'tools[3].format' is not supported with this model."
        ));
        assert!(rejects_tools("Invalid tool type: custom"));
        assert!(!rejects_tools(
            "Invalid value: 'bogus'. Supported values are: 'low', 'medium', and 'high'."
        ));
    }

    #[test]
    fn function_patches_come_in_the_input_argument() {
        let call = |input: &str| ToolCall {
            kind: ToolKind::Function,
            call_id: "c".into(),
            name: APPLY_PATCH.into(),
            input: input.into(),
        };
        assert_eq!(
            patch_input(&call(r#"{"input": "*** Begin Patch"}"#)),
            Ok("*** Begin Patch".to_owned())
        );
        assert!(patch_input(&call("{}")).is_err());
        assert!(patch_input(&call("nope")).is_err());
    }

    #[test]
    fn native_operations_become_file_sections() {
        assert_eq!(
            native_operation(r#"{"type":"update_file","path":"a.py","diff":"@@\n-a\n+b"}"#),
            Ok("*** Update File: a.py\n@@\n-a\n+b\n".to_owned())
        );
        assert_eq!(
            native_operation(r#"{"type":"create_file","path":"n.py","diff":"+x\n"}"#),
            Ok("*** Add File: n.py\n+x\n".to_owned())
        );
        assert_eq!(
            native_operation(r#"{"type":"delete_file","path":"a.py"}"#),
            Ok("*** Delete File: a.py\n".to_owned())
        );
        assert!(native_operation(r#"{"type":"move_file","path":"a.py"}"#).is_err());
        assert!(native_operation(r#"{"type":"update_file","path":" ","diff":""}"#).is_err());
        // An end-of-file marker is part of a hunk, not a header.
        assert!(
            native_operation(
                r#"{"type":"update_file","path":"a.py","diff":"@@\n+b\n*** End of File\n"}"#
            )
            .is_ok()
        );
    }
}
