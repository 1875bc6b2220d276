//! Runs one Codex action end to end: snapshot, context, model call with
//! progress, reply → patch → minimal edits, rebase onto the current text, and
//! a versioned `WorkspaceEdit`. Shared by `codeAction/resolve` and
//! `workspace/executeCommand`; explanations (hover and command) share the
//! front half ([`super::explain`]).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ropey::Rope;
use tower_lsp_server::ls_types::{
    CreateFile, CreateFileOptions, Diagnostic, DiagnosticSeverity, DocumentChangeOperation,
    DocumentChanges, NumberOrString, OneOf, OptionalVersionedTextDocumentIdentifier, Position,
    Range, ResourceOp, TextDocumentEdit, TextEdit as LspTextEdit, Uri, WorkspaceEdit,
};

use super::code_action::RunActionArgs;
use super::progress::{Job, UsageReport};
use crate::assist::{
    self, ActionKind, AssistError, ContextRequest, DiagnosticInfo, FileChange, FileChangeKind,
    FileSource, PatchError, Prompt, RebaseConflict, RelatedInfo,
};
use crate::config::Settings;
use crate::document::Snapshot;
use crate::lsp::{from_proto, to_proto};
use crate::model::{
    ApiKey, CallPolicy, Endpoint, InputItem, ModelError, ModelReply, Progress, Reasoning,
    ResponsesRequest,
};
use crate::server::Backend;
use crate::text::{PositionEncoding, TextEdit};

/// Why an action ended without an edit. Every variant has one clear
/// sentence for the user ([`ActionError::user_message`]).
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// The arguments do not name a valid action.
    #[error("invalid action arguments: {0}")]
    BadArguments(String),
    /// The document is not open in the editor.
    #[error("the document is not open")]
    NotOpen,
    /// Context building refused or failed (excluded file, binary, too big).
    #[error(transparent)]
    Assist(#[from] AssistError),
    /// The model call failed.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The reply was not a valid patch.
    #[error(transparent)]
    Patch(#[from] PatchError),
    /// The document changed where the edit applies.
    #[error("the document changed; run the action again ({0})")]
    Stale(#[from] RebaseConflict),
    /// So many changes arrived while the model worked that the history no
    /// longer reaches back to the snapshot: treated as stale.
    #[error("the document changed too much while Codex was working")]
    HistoryLost,
    /// The document was closed while the model worked.
    #[error("the document was closed while Codex was working")]
    Closed,
    /// The model wants to create a file and the client cannot.
    #[error("Codex proposed creating {0}, but this editor does not support creating files")]
    CannotCreate(String),
    /// The reply changes nothing.
    #[error("Codex proposed no change")]
    NoChange,
}

impl ActionError {
    /// One short sentence for `window/showMessage`; never contains secrets.
    pub fn user_message(&self) -> String {
        match self {
            ActionError::Model(e) => {
                let message = e.user_message();
                if message.starts_with("Codex") {
                    message
                } else {
                    format!("Codex: {message}")
                }
            }
            ActionError::Stale(_) | ActionError::HistoryLost => {
                "Codex: the document changed; run the action again.".to_owned()
            }
            ActionError::Patch(e) => {
                format!("Codex: the model's reply could not be used ({e}); nothing was changed.")
            }
            other => format!("Codex: {other}."),
        }
    }

    /// Whether the user cancelled (no message is shown then).
    pub fn is_cancelled(&self) -> bool {
        matches!(self, ActionError::Model(ModelError::Cancelled))
    }
}

/// A finished action: the edit and what it cost.
#[derive(Debug)]
pub struct ActionOutcome {
    /// The edit to apply.
    pub edit: WorkspaceEdit,
    /// Token usage of the model call.
    pub usage: UsageReport,
}

/// The local path of a document (a placeholder for non-file URIs).
pub fn document_path(uri: &Uri) -> PathBuf {
    from_proto::file_path(uri).unwrap_or_else(|| PathBuf::from(format!("/untitled/{}", uri.path())))
}

/// Whether a document is excluded by the `exclude` settings.
pub fn is_excluded(backend: &Backend, uri: &Uri) -> bool {
    let settings = backend.session.settings();
    let root = backend.session.workspace_root();
    let rel = assist::prompt::relative_path(root.as_deref(), &document_path(uri));
    match assist::Exclusions::cached(&settings.exclude) {
        Ok(exclusions) => exclusions.excluded(&rel).is_some(),
        Err(_) => true, // unreachable with validated settings; refuse to be safe
    }
}

fn diagnostic_info(d: &Diagnostic, rope: &Rope, encoding: PositionEncoding) -> DiagnosticInfo {
    let severity = d.severity.map(|s| {
        match s {
            DiagnosticSeverity::ERROR => "error",
            DiagnosticSeverity::WARNING => "warning",
            DiagnosticSeverity::INFORMATION => "information",
            _ => "hint",
        }
        .to_owned()
    });
    let code = d.code.as_ref().map(|c| match c {
        NumberOrString::Number(n) => n.to_string(),
        NumberOrString::String(s) => s.clone(),
    });
    let related = d
        .related_information
        .iter()
        .flatten()
        .map(|r| RelatedInfo {
            location: format!(
                "{}:{}:{}",
                document_path(&r.location.uri).display(),
                r.location.range.start.line + 1,
                r.location.range.start.character + 1
            ),
            message: r.message.clone(),
        })
        .collect();
    DiagnosticInfo {
        range: from_proto::byte_range(rope, d.range, encoding),
        severity,
        code,
        source: d.source.clone(),
        message: d.message.clone(),
        related,
    }
}

/// The region an action or explanation works on: the selection when there
/// is one, else the syntax node around the cursor (see
/// [`assist::region`]), using the document's cached parse.
pub(super) fn target_region(
    backend: &Backend,
    uri: &Uri,
    snapshot: &Snapshot,
    range: Range,
) -> assist::region::Region {
    let selection = from_proto::byte_range(&snapshot.rope, range, backend.session.encoding());
    let cursor = selection.start;
    let selection = (!selection.is_empty()).then_some(selection);
    assist::region::target_region_cached(
        &backend.syntax_cache(uri),
        snapshot.revision,
        &snapshot.language_id,
        &snapshot.rope,
        selection,
        cursor,
    )
}

/// What a prompt needs besides the action: the snapshot and where it applies.
pub(super) struct Prepared {
    snapshot: Snapshot,
    path: PathBuf,
    root: Option<PathBuf>,
    pub(super) settings: Arc<Settings>,
    pub(super) prompt: Prompt,
}

pub(super) async fn prepare(
    backend: &Backend,
    uri: &Uri,
    range: Range,
    action: ActionKind,
    instruction: Option<&str>,
    diagnostic: Option<&Diagnostic>,
) -> Result<Prepared, ActionError> {
    let snapshot = backend.session.snapshot(uri).ok_or(ActionError::NotOpen)?;
    let settings = backend.session.settings();
    let encoding = backend.session.encoding();
    let root = backend.session.workspace_root();
    let path = document_path(uri);
    let region = target_region(backend, uri, &snapshot, range);
    let diagnostics: Vec<DiagnosticInfo> = diagnostic
        .iter()
        .map(|d| diagnostic_info(d, &snapshot.rope, encoding))
        .collect();
    let agents_md = {
        let root = root.clone();
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        tokio::task::spawn_blocking(move || assist::collect_agents_md(root.as_deref(), &dir))
            .await
            .unwrap_or_default()
    };
    let other_documents = if settings.include_open_documents {
        backend
            .session
            .other_snapshots(uri)
            .into_iter()
            .map(|(u, s)| (document_path(&u), s.rope.to_string()))
            .collect()
    } else {
        Vec::new()
    };
    let prompt = assist::build_prompt(&ContextRequest {
        workspace_root: root.as_deref(),
        file_path: &path,
        language_id: &snapshot.language_id,
        text: &snapshot.rope,
        region,
        action,
        instruction,
        diagnostics: &diagnostics,
        agents_md,
        other_documents,
        settings: &settings,
    })?;
    Ok(Prepared {
        snapshot,
        path,
        root,
        settings,
        prompt,
    })
}

pub(super) fn endpoint(backend: &Backend, settings: &Settings) -> Result<Endpoint, ActionError> {
    let key = (backend.options.env)(&settings.api_key_env)
        .filter(|k| !k.is_empty())
        .map(ApiKey::new);
    Ok(Endpoint::from_settings(settings, key)?)
}

pub(super) fn request_for(
    prompt: &Prompt,
    settings: &Settings,
    action: ActionKind,
) -> ResponsesRequest {
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

/// Calls the model under the concurrency limit, reporting progress on `job`.
pub(super) async fn call_model(
    backend: &Backend,
    endpoint: &Endpoint,
    request: &ResponsesRequest,
    settings: &Settings,
    job: Option<&mut Job>,
    cancel: &tokio_util::sync::CancellationToken,
) -> Result<ModelReply, ModelError> {
    let permits = backend.model_permits();
    let _permit = tokio::select! {
        permit = permits.acquire_owned() => permit.map_err(|_| ModelError::Cancelled)?,
        () = cancel.cancelled() => return Err(ModelError::Cancelled),
    };
    let client = backend.model_client()?;
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

pub(super) fn usage_report(reply: &ModelReply) -> UsageReport {
    UsageReport {
        input_tokens: reply.usage.input_tokens,
        cached_tokens: reply.usage.cached_tokens,
        output_tokens: reply.usage.output_tokens,
        reasoning_tokens: reply.usage.reasoning_tokens,
    }
}

/// Runs an edit action and returns its edit (not yet applied).
pub async fn run(backend: &Backend, args: &RunActionArgs) -> Result<ActionOutcome, ActionError> {
    let action = ActionKind::from_id(&args.action)
        .filter(|a| a.produces_edits())
        .ok_or_else(|| ActionError::BadArguments(format!("unknown action `{}`", args.action)))?;
    let instruction = args
        .instruction
        .as_deref()
        .map(str::trim)
        .filter(|i| !i.is_empty());
    if action.needs_instruction() && instruction.is_none() {
        return Err(ActionError::BadArguments(
            "a rewrite needs an `instruction`".to_owned(),
        ));
    }
    if action == ActionKind::Fix && args.diagnostic.is_none() {
        return Err(ActionError::BadArguments(
            "a fix needs the `diagnostic`".to_owned(),
        ));
    }
    let uri = &args.text_document.uri;
    let prepared = prepare(
        backend,
        uri,
        args.range,
        action,
        instruction,
        args.diagnostic.as_ref(),
    )
    .await?;
    let endpoint = endpoint(backend, &prepared.settings)?;
    let request = request_for(&prepared.prompt, &prepared.settings, action);
    tracing::debug!(
        action = action.id(),
        tokens = prepared.prompt.tokens,
        "calling the model"
    );
    tracing::trace!(input = %prepared.prompt.input, "prompt");

    let mut job = Job::begin(
        &backend.jobs,
        &backend.client,
        action.title(),
        backend.session.features().work_done_progress,
    )
    .await;
    let cancel = job.cancellation();
    let reply = call_model(
        backend,
        &endpoint,
        &request,
        &prepared.settings,
        Some(&mut job),
        &cancel,
    )
    .await;
    let reply = match reply {
        Ok(reply) => reply,
        Err(err) => {
            let message = if matches!(err, ModelError::Cancelled) {
                "cancelled".to_owned()
            } else {
                err.user_message()
            };
            job.end(&message, None).await;
            return Err(err.into());
        }
    };
    let usage = usage_report(&reply);
    tracing::info!(
        action = action.id(),
        input = usage.input_tokens,
        cached = usage.cached_tokens,
        output = usage.output_tokens,
        reasoning = usage.reasoning_tokens,
        "model call finished"
    );
    let result = edit_from_reply(backend, uri, &prepared, &reply.text);
    let outcome_message = match &result {
        Ok(_) => "edit ready".to_owned(),
        Err(e) => e.user_message(),
    };
    job.end(&outcome_message, Some(usage)).await;
    Ok(ActionOutcome {
        edit: result?,
        usage,
    })
}

/// Reads other files for the patch planner: open documents first (their
/// snapshot revision is remembered for rebasing), then disk.
struct Sources<'a> {
    backend: &'a Backend,
    read: Mutex<HashMap<PathBuf, (Uri, Snapshot)>>,
}

impl FileSource for Sources<'_> {
    fn read(&self, path: &Path) -> Option<String> {
        let uri = Uri::from_file_path(path)?;
        match self.backend.session.snapshot(&uri) {
            Some(snapshot) => {
                let text = snapshot.rope.to_string();
                if let Ok(mut read) = self.read.lock() {
                    read.insert(path.to_path_buf(), (uri, snapshot));
                }
                Some(text)
            }
            None => std::fs::read_to_string(path).ok(),
        }
    }
}

fn edit_from_reply(
    backend: &Backend,
    uri: &Uri,
    prepared: &Prepared,
    reply: &str,
) -> Result<WorkspaceEdit, ActionError> {
    let patch = assist::parse_patch(reply)?;
    let text = prepared.snapshot.rope.to_string();
    let sources = Sources {
        backend,
        read: Mutex::new(HashMap::new()),
    };
    let changes = assist::plan_edits(
        &patch,
        (&prepared.path, &text),
        &sources,
        prepared.root.as_deref(),
    )?;
    let read = sources.read.into_inner().unwrap_or_default();
    build_workspace_edit(
        backend,
        uri,
        &prepared.path,
        &prepared.snapshot,
        &read,
        changes,
    )
}

/// One document's edits, rebased and converted to protocol positions.
struct DocumentEdit {
    uri: Uri,
    version: Option<i32>,
    edits: Vec<LspTextEdit>,
}

/// Rebases `edits` (computed on `snapshot`) onto the open document's current
/// text and converts them with the current rope, atomically under the
/// document's guard.
fn rebase_open(
    backend: &Backend,
    uri: &Uri,
    snapshot: &Snapshot,
    edits: &[TextEdit],
) -> Result<DocumentEdit, ActionError> {
    let encoding = backend.session.encoding();
    backend
        .session
        .with_document(uri, |doc| {
            let since = doc
                .changes_since(snapshot.revision)
                .ok_or(ActionError::HistoryLost)?;
            let rebased = assist::rebase(edits, &since)?;
            let edits = rebased
                .into_iter()
                .map(|e| LspTextEdit {
                    range: to_proto::range(doc.rope(), e.range, encoding),
                    new_text: e.new_text,
                })
                .collect();
            Ok(DocumentEdit {
                uri: uri.clone(),
                version: Some(doc.version()),
                edits,
            })
        })
        .ok_or(ActionError::Closed)?
}

fn convert_closed(
    uri: Uri,
    text: &str,
    edits: Vec<TextEdit>,
    encoding: PositionEncoding,
) -> DocumentEdit {
    let rope = Rope::from_str(text);
    let edits = edits
        .into_iter()
        .map(|e| LspTextEdit {
            range: to_proto::range(&rope, e.range, encoding),
            new_text: e.new_text,
        })
        .collect();
    DocumentEdit {
        uri,
        version: None,
        edits,
    }
}

fn build_workspace_edit(
    backend: &Backend,
    primary_uri: &Uri,
    primary_path: &Path,
    snapshot: &Snapshot,
    read: &HashMap<PathBuf, (Uri, Snapshot)>,
    changes: Vec<FileChange>,
) -> Result<WorkspaceEdit, ActionError> {
    let features = backend.session.features();
    let encoding = backend.session.encoding();
    let mut updates: Vec<DocumentEdit> = Vec::new();
    let mut creates: Vec<(Uri, String)> = Vec::new();
    for change in changes {
        match change.kind {
            FileChangeKind::Update { edits } if edits.is_empty() => {}
            FileChangeKind::Update { edits } => {
                if change.path == primary_path {
                    updates.push(rebase_open(backend, primary_uri, snapshot, &edits)?);
                } else if let Some((uri, snap)) = read.get(&change.path) {
                    updates.push(rebase_open(backend, uri, snap, &edits)?);
                } else {
                    let uri = Uri::from_file_path(&change.path).ok_or_else(|| {
                        ActionError::BadArguments(format!("bad path {}", change.path.display()))
                    })?;
                    let text = std::fs::read_to_string(&change.path).unwrap_or_default();
                    updates.push(convert_closed(uri, &text, edits, encoding));
                }
            }
            FileChangeKind::Create { content } => {
                let display = change.path.display().to_string();
                if !(features.document_changes && features.create_files) {
                    return Err(ActionError::CannotCreate(display));
                }
                let uri =
                    Uri::from_file_path(&change.path).ok_or(ActionError::CannotCreate(display))?;
                creates.push((uri, content));
            }
        }
    }
    if updates.is_empty() && creates.is_empty() {
        return Err(ActionError::NoChange);
    }
    if features.document_changes {
        let mut ops: Vec<DocumentChangeOperation> = Vec::new();
        for (uri, content) in creates {
            ops.push(DocumentChangeOperation::Op(ResourceOp::Create(
                CreateFile {
                    uri: uri.clone(),
                    options: Some(CreateFileOptions {
                        overwrite: Some(false),
                        ignore_if_exists: Some(false),
                    }),
                    annotation_id: None,
                },
            )));
            ops.push(DocumentChangeOperation::Edit(TextDocumentEdit {
                text_document: OptionalVersionedTextDocumentIdentifier { uri, version: None },
                edits: vec![OneOf::Left(LspTextEdit {
                    range: Range::new(Position::new(0, 0), Position::new(0, 0)),
                    new_text: content,
                })],
            }));
        }
        for update in updates {
            ops.push(DocumentChangeOperation::Edit(TextDocumentEdit {
                text_document: OptionalVersionedTextDocumentIdentifier {
                    uri: update.uri,
                    version: update.version,
                },
                edits: update.edits.into_iter().map(OneOf::Left).collect(),
            }));
        }
        Ok(WorkspaceEdit {
            document_changes: Some(DocumentChanges::Operations(ops)),
            ..WorkspaceEdit::default()
        })
    } else {
        let mut map = HashMap::new();
        for update in updates {
            map.insert(update.uri, update.edits);
        }
        Ok(WorkspaceEdit {
            changes: Some(map),
            ..WorkspaceEdit::default()
        })
    }
}
