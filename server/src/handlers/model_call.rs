//! The front half that edit actions and explanations share: from one
//! snapshot of the document to a prompt ([`prepare`]), and from a prompt to
//! the model's reply under the concurrency limit ([`ask_model`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tower_lsp_server::ls_types::{Diagnostic, Position, Range, Uri};

use crate::assist::region::Region;
use crate::assist::{self, ActionKind, ContextRequest, DiagnosticInfo, Prompt};
use crate::config::Settings;
use crate::failure::ActionError;
use crate::lsp::ext::UsageReport;
use crate::lsp::from_proto;
use crate::model::{
    ApiKey, CallPolicy, Endpoint, InputItem, ModelError, ModelReply, Progress, Reasoning,
    ResponsesRequest, Tool, ToolCall, ToolChoice,
};
use crate::progress::Job;
use crate::state::{ListedRange, OpenSnapshot, State};
use crate::text;
use crate::workspace::WorkspacePolicy;

/// Where an action applies: one snapshot of the document (with its
/// identity and generation) and the region in it. Everything computed for
/// the action (cache key, prompt, edits) uses this one snapshot.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) open: OpenSnapshot,
    pub(crate) region: Region,
}

impl Target {
    /// Snapshots the open document and finds the region: the selection when
    /// there is one, else the syntax node around the cursor (see
    /// [`assist::region`]), using the document's cached parse.
    ///
    /// `listed` is the document version `range` refers to (listed actions
    /// carry it): when the text changed since (a formatter, an auto-import),
    /// the range is mapped through the changes, or the action is refused
    /// when the changes touch the range itself.
    ///
    /// A range within one grapheme on one line is a cursor, not a
    /// selection (Helix's block cursor, VS Code's one-token quick-fix
    /// range); with `at_cursor` (a fix: the range is the diagnostic's) it
    /// always is, so the region is the node around it.
    pub(crate) fn new(
        state: &State,
        uri: &Uri,
        range: Range,
        listed: Option<i32>,
        at_cursor: bool,
    ) -> Result<Self, ActionError> {
        let key = from_proto::document_key(uri);
        let encoding = state.encoding();
        let (open, selection) = state
            .snapshot_with_range(&key, listed, |rope| {
                from_proto::byte_range(rope, range, encoding)
            })
            .ok_or(ActionError::NotOpen)?;
        let selection = match selection {
            Ok(selection) => selection,
            Err(ListedRange::Forgotten) => return Err(ActionError::HistoryLost),
            Err(ListedRange::Changed) => return Err(ActionError::ListedRangeChanged),
        };
        let syntax = state.syntax_cache(&key).ok_or(ActionError::NotOpen)?;
        let snapshot = &open.snapshot;
        let cursor = selection.start;
        let cursor_like = at_cursor || text::is_cursor_like(&snapshot.rope, selection.clone());
        let selection = (!cursor_like).then_some(selection);
        let region = assist::region::target_region_cached(
            &syntax,
            snapshot.revision,
            &snapshot.language_id,
            &snapshot.rope,
            selection,
            cursor,
        );
        Ok(Self { open, region })
    }
}

/// One slot of the hovers' share of the `maxConcurrentRequests` limit (see
/// `state::ModelPermits`), held for as long as a hover's call runs (in
/// [`Prepared::hover_slot`]); an action the user asked for may use all of
/// the limit. Taken without waiting: a hover that finds every slot busy
/// starts nothing (hovers come and go with the mouse; queueing them would
/// pile up calls nobody looks at), so background hover calls never
/// outnumber the share.
#[derive(Debug)]
pub(crate) struct HoverSlot {
    /// Held, never read: the slot is free again when the call ends.
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl HoverSlot {
    /// A free slot, if there is one.
    pub(crate) fn try_take(state: &State) -> Option<Self> {
        state
            .model_permits()
            .hovers
            .try_acquire_owned()
            .ok()
            .map(|permit| Self { _permit: permit })
    }
}

/// A prompt ready to send, with what the back half needs to turn the reply
/// into edits.
pub(crate) struct Prepared {
    pub(crate) target: Target,
    pub(crate) path: PathBuf,
    /// The workspace folder holding the file, if any.
    pub(crate) root: Option<PathBuf>,
    pub(crate) policy: WorkspacePolicy,
    pub(crate) settings: Arc<Settings>,
    pub(crate) action: ActionKind,
    pub(crate) prompt: Prompt,
    /// Where the prompt goes; resolved before any progress is shown, so a
    /// missing key fails at once.
    endpoint: Endpoint,
    /// A hover's slot of its share of the limit, taken before the call
    /// starts ([`HoverSlot::try_take`]) and free again when this is
    /// dropped; `None` for an action.
    pub(crate) hover_slot: Option<HoverSlot>,
}

/// Builds the prompt for `action` on `target`: diagnostics, AGENTS.md,
/// other open documents, under the token budget (see
/// [`assist::build_prompt`]).
pub(crate) async fn prepare(
    state: &State,
    target: Target,
    action: ActionKind,
    instruction: Option<&str>,
    diagnostic: Option<&Diagnostic>,
) -> Result<Prepared, ActionError> {
    let settings = state.settings();
    // The edit mode in force: the configured one unless this session's
    // server rejected it (the prompt's instructions depend on it).
    let mode = state.edit_tool(&settings);
    let settings = if mode == settings.edit_tool() {
        settings
    } else {
        let mut changed = (*settings).clone();
        changed.edit_tool = mode;
        Arc::new(changed)
    };
    let encoding = state.encoding();
    let policy = state.policy()?;
    let path = from_proto::document_path(&target.open.uri);
    policy.check_send(&path)?;
    let root = policy.folder_of(&path).map(Path::to_path_buf);
    let snapshot = &target.open.snapshot;
    let locate = |uri: &Uri, at: Position| related_location(state, &policy, uri, at);
    let diagnostics: Vec<DiagnosticInfo> = diagnostic
        .iter()
        .map(|d| from_proto::diagnostic(d, &snapshot.rope, encoding, &locate))
        .collect();
    let agents_md = {
        let policy = policy.clone();
        let path = path.clone();
        tokio::task::spawn_blocking(move || policy.agents_md(&path))
            .await
            .unwrap_or_default()
    };
    let other_documents = if settings.include_open_documents {
        state
            .other_snapshots(&target.open.key)
            .into_iter()
            .filter(|(p, _)| policy.check_send(p).is_ok())
            .map(|(p, s)| (p, s.rope.to_string()))
            .collect()
    } else {
        Vec::new()
    };
    let prompt = assist::build_prompt(&ContextRequest {
        workspace_root: root.as_deref(),
        file_path: &path,
        language_id: &snapshot.language_id,
        text: &snapshot.rope,
        region: target.region.clone(),
        action,
        instruction,
        diagnostics: &diagnostics,
        agents_md,
        other_documents,
        settings: &settings,
    })?;
    let endpoint = endpoint(state, &settings)?;
    Ok(Prepared {
        target,
        path,
        root,
        policy,
        settings,
        action,
        prompt,
        endpoint,
        hover_slot: None,
    })
}

/// How a diagnostic's related location is named to the model: the path as
/// the policy shows it (folder-relative, or only the file name outside every
/// folder, as the prompt names the file itself), the 1-based line, and the
/// 1-based column in characters when the text is at hand (an open
/// document), since the client's column counts in its position encoding.
fn related_location(state: &State, policy: &WorkspacePolicy, uri: &Uri, at: Position) -> String {
    let path = from_proto::document_path(uri);
    let shown = match policy.folder_of(&path) {
        Some(_) => policy.display(&path),
        None => path.file_name().map_or_else(
            || policy.display(&path),
            |n| n.to_string_lossy().into_owned(),
        ),
    };
    let line = at.line + 1;
    let column = state
        .open_snapshot(&from_proto::document_key(uri))
        .map(|open| {
            let rope = &open.snapshot.rope;
            let offset = from_proto::byte_range(rope, Range::new(at, at), state.encoding()).start;
            let char_idx = rope.byte_to_char(offset);
            let line_start = rope.line_to_char(rope.char_to_line(char_idx));
            char_idx - line_start + 1
        });
    match column {
        Some(column) => format!("{shown}:{line}:{column}"),
        None => format!("{shown}:{line}"),
    }
}

/// A finished model call: the reply text, what it cost, and for a turn of
/// a conversation, the output items to replay and the tool calls.
pub(crate) struct Answer {
    pub(crate) text: String,
    pub(crate) usage: UsageReport,
    pub(crate) output: Vec<serde_json::Value>,
    pub(crate) calls: Vec<ToolCall>,
}

/// One request of a multi-turn action: the whole input so far (the prompt
/// first, then every earlier turn's output and tool answers), and the
/// tools, identical on every turn so the cached prefix keeps growing.
pub(crate) struct Turn {
    pub(crate) input: Vec<InputItem>,
    pub(crate) tools: Vec<Tool>,
    pub(crate) tool_choice: Option<ToolChoice>,
    /// Ask for `reasoning.encrypted_content`, to replay reasoning under
    /// `store: false`.
    pub(crate) encrypted_reasoning: bool,
}

/// Sends the prepared prompt and waits for the whole reply, under the
/// `maxConcurrentRequests` limit, reporting progress on `job` when given.
/// `cancel` drops the stream, which aborts the HTTP request.
pub(crate) async fn ask_model(
    state: &State,
    prepared: &Prepared,
    job: Option<&mut Job>,
    cancel: &CancellationToken,
) -> Result<Answer, ActionError> {
    let request = request_for(&prepared.prompt, &prepared.settings, prepared.action);
    send(state, prepared, request, job, cancel).await
}

/// Sends one turn of a conversation built on the prepared prompt.
pub(crate) async fn ask_turn(
    state: &State,
    prepared: &Prepared,
    turn: &Turn,
    job: Option<&mut Job>,
    cancel: &CancellationToken,
) -> Result<Answer, ActionError> {
    let mut request = request_for(&prepared.prompt, &prepared.settings, prepared.action);
    request.input = turn.input.clone();
    request.tools = turn.tools.clone();
    request.tool_choice = turn.tool_choice.clone();
    if turn.encrypted_reasoning {
        request.include = vec!["reasoning.encrypted_content".to_owned()];
    }
    send(state, prepared, request, job, cancel).await
}

async fn send(
    state: &State,
    prepared: &Prepared,
    request: ResponsesRequest,
    job: Option<&mut Job>,
    cancel: &CancellationToken,
) -> Result<Answer, ActionError> {
    let settings = &prepared.settings;
    tracing::debug!(
        action = prepared.action.id(),
        tokens = prepared.prompt.tokens,
        "calling the model"
    );
    tracing::trace!(input = %prepared.prompt.input, "prompt");
    let reply = call_model(state, &prepared.endpoint, &request, settings, job, cancel).await?;
    let usage = UsageReport::priced(&reply.usage, &settings.model, settings.price());
    state.jobs.count_usage(&usage);
    tracing::info!(
        action = prepared.action.id(),
        input = usage.input_tokens,
        cached = usage.cached_tokens,
        output = usage.output_tokens,
        reasoning = usage.reasoning_tokens,
        cost_usd = usage.cost_usd,
        "model call finished"
    );
    Ok(Answer {
        text: reply.text,
        usage,
        output: reply.output,
        calls: reply.calls,
    })
}

/// Whether the document at `path` may be sent at all under `settings`:
/// not excluded, and an API key where the provider needs one. The refusals
/// [`prepare`] makes before anything else, for callers that skip it (a
/// hover whose explanation is already known).
pub(crate) fn check_sendable(
    state: &State,
    settings: &Settings,
    policy: &WorkspacePolicy,
    path: &Path,
) -> Result<(), ActionError> {
    policy.check_send(path)?;
    endpoint(state, settings)?;
    Ok(())
}

fn endpoint(state: &State, settings: &Settings) -> Result<Endpoint, ActionError> {
    let key = (state.options.env)(&settings.api_key_env)
        .filter(|k| !k.is_empty())
        .map(ApiKey::new);
    Ok(Endpoint::from_settings(settings, key)?)
}

fn request_for(prompt: &Prompt, settings: &Settings, action: ActionKind) -> ResponsesRequest {
    let mut request = ResponsesRequest::new(
        settings.model.clone(),
        vec![InputItem::user_text(prompt.input.clone())],
    );
    request.instructions = Some(prompt.instructions.clone());
    request.reasoning = Some(Reasoning::effort(action.effort(settings)));
    request.max_output_tokens = Some(if action == ActionKind::Explain {
        settings.explain.max_output_tokens
    } else {
        settings.max_output_tokens
    });
    request.prompt_cache_key = Some(prompt.prompt_cache_key.clone());
    request
}

async fn call_model(
    state: &State,
    endpoint: &Endpoint,
    request: &ResponsesRequest,
    settings: &Settings,
    job: Option<&mut Job>,
    cancel: &CancellationToken,
) -> Result<ModelReply, ModelError> {
    let permits = state.model_permits();
    // A hover holds its share's slot already (`Prepared::hover_slot`); it
    // takes a slot of the total now, as an action does.
    let _permit = tokio::select! {
        permit = permits.total.acquire_owned() => permit.map_err(|_| ModelError::Cancelled)?,
        () = cancel.cancelled() => return Err(ModelError::Cancelled),
    };
    let client = state.model_client()?;
    let policy = CallPolicy::from_settings(settings);
    match job {
        Some(job) => {
            let mut on_progress = |p: Progress<'_>| match p {
                Progress::Delta(d) => job.on_delta(d),
                Progress::Retrying {
                    attempt,
                    delay,
                    reason,
                } => job.on_retry(format!(
                    "{reason}; retry {attempt} in {:.1} s",
                    delay.as_secs_f64()
                )),
            };
            client
                .respond_until_cancelled(endpoint, request, &policy, &mut on_progress, cancel)
                .await
        }
        None => {
            let mut ignore = |_: Progress<'_>| {};
            client
                .respond_until_cancelled(endpoint, request, &policy, &mut ignore, cancel)
                .await
        }
    }
}
