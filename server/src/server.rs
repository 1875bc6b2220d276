//! The `LanguageServer` implementation: each method forwards to a handler, so
//! this file reads as a table of contents of what the server answers.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::Semaphore;
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{
    CodeAction, CodeActionParams, CodeActionResponse, DidChangeConfigurationParams,
    DidChangeTextDocumentParams, DidCloseTextDocumentParams, DidOpenTextDocumentParams,
    ExecuteCommandParams, Hover, HoverParams, InitializeParams, InitializeResult,
    InitializedParams, LSPAny, NumberOrString, Uri, WorkDoneProgressCancelParams,
};
use tower_lsp_server::{Client, ClientSocket, LanguageServer, LspService};

use dashmap::DashMap;

use crate::assist::region::SyntaxCache;
use crate::explain_cache::ExplainCache;
use crate::handlers;
use crate::handlers::progress::Jobs;
use crate::lsp::ai_tag::AiTagService;
use crate::lsp::transport::{self, AnswerEveryRequest};
use crate::memory::HeapTrimmer;
use crate::model::{ModelClient, ModelError};
use crate::session::Session;

/// How many requests and notifications tower-lsp-server runs at once. Model
/// calls are bounded separately (setting `maxConcurrentRequests`), well below
/// this, so text sync is never starved by slow model calls.
pub const CONCURRENCY_LEVEL: usize = 64;

/// Looks up an environment variable; injectable so tests need not mutate the
/// process environment.
pub type EnvLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// What the embedding program (the binary, or a test) provides.
#[derive(Clone)]
pub struct ServerOptions {
    /// Where the API key is read from (by the name in setting `apiKeyEnv`).
    pub env: EnvLookup,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            env: Arc::new(|name| std::env::var(name).ok()),
        }
    }
}

impl std::fmt::Debug for ServerOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerOptions").finish_non_exhaustive()
    }
}

/// The language server. Cheap to clone: every field is shared.
#[derive(Clone)]
pub struct Backend {
    /// Handle for messages to the client.
    pub client: Client,
    /// Documents, negotiated features and settings.
    pub session: Arc<Session>,
    /// Injected environment.
    pub options: ServerOptions,
    /// Running model calls, for progress cancellation.
    pub jobs: Arc<Jobs>,
    /// Returns the memory of closed documents to the system.
    pub heap: Arc<HeapTrimmer>,
    deferred_messages: Arc<Mutex<Vec<String>>>,
    initialization_options: Arc<Mutex<serde_json::Value>>,
    ai_tags: Arc<AtomicBool>,
    model: Arc<std::sync::OnceLock<ModelClient>>,
    permits: Arc<Mutex<(usize, Arc<Semaphore>)>>,
    explain_cache: Arc<ExplainCache>,
    syntax: Arc<DashMap<Uri, Arc<SyntaxCache>>>,
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backend")
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

impl Backend {
    fn new(client: Client, options: ServerOptions, ai_tags: Arc<AtomicBool>) -> Self {
        Self {
            client,
            session: Arc::new(Session::new()),
            heap: Arc::default(),
            options,
            jobs: Arc::default(),
            deferred_messages: Arc::default(),
            initialization_options: Arc::default(),
            ai_tags,
            model: Arc::default(),
            permits: Arc::new(Mutex::new((0, Arc::new(Semaphore::new(0))))),
            explain_cache: Arc::new(ExplainCache::new(0)),
            syntax: Arc::default(),
        }
    }

    /// Queues a message to show once the client is initialized.
    pub fn defer_message(&self, message: String) {
        if let Ok(mut q) = self.deferred_messages.lock() {
            q.push(message);
        }
    }

    /// Takes the queued messages.
    pub fn take_deferred_messages(&self) -> Vec<String> {
        self.deferred_messages
            .lock()
            .map(|mut q| std::mem::take(&mut *q))
            .unwrap_or_default()
    }

    /// Remembers `initializationOptions`, the base layer of later settings.
    pub fn set_initialization_options(&self, options: serde_json::Value) {
        if let Ok(mut o) = self.initialization_options.lock() {
            *o = options;
        }
    }

    /// The `initializationOptions` the client sent (`null` if none).
    pub fn initialization_options(&self) -> serde_json::Value {
        self.initialization_options
            .lock()
            .map(|o| o.clone())
            .unwrap_or_default()
    }

    /// Whether the client announced LSP 3.18 code action tag support.
    pub fn ai_tags_supported(&self) -> bool {
        self.ai_tags.load(Ordering::Relaxed)
    }

    /// Called after settings changed: resizes the model-call limit and the
    /// explanation cache.
    pub fn settings_changed(&self) {
        let settings = self.session.settings();
        self.explain_cache
            .set_capacity(settings.explain.cache_bytes as usize);
        let _ = self.model_permits();
    }

    /// Whether the document's path matches the `exclude` globs (such files
    /// are never sent to the model, so no action is offered for them).
    pub fn is_excluded(&self, uri: &Uri) -> bool {
        handlers::actions::is_excluded(self, uri)
    }

    /// The shared model client, built on first use.
    pub fn model_client(&self) -> std::result::Result<ModelClient, ModelError> {
        if let Some(client) = self.model.get() {
            return Ok(client.clone());
        }
        let client = ModelClient::new()?;
        Ok(self.model.get_or_init(|| client).clone())
    }

    /// The semaphore bounding concurrent model calls, sized by
    /// `maxConcurrentRequests` (replaced when the setting changes; calls
    /// holding a permit of the old one finish normally).
    pub fn model_permits(&self) -> Arc<Semaphore> {
        let wanted = self.session.settings().max_concurrent_requests as usize;
        match self.permits.lock() {
            Ok(mut guard) => {
                if guard.0 != wanted {
                    *guard = (wanted, Arc::new(Semaphore::new(wanted)));
                }
                Arc::clone(&guard.1)
            }
            Err(_) => Arc::new(Semaphore::new(wanted)),
        }
    }

    /// The last syntax tree parsed for a document (see
    /// `assist::target_region_cached`).
    pub fn syntax_cache(&self, uri: &Uri) -> Arc<SyntaxCache> {
        Arc::clone(self.syntax.entry(uri.clone()).or_default().value())
    }

    /// Called after a document was closed: frees what was kept for it.
    pub fn document_closed(&self, uri: &Uri) {
        self.syntax.remove(uri);
    }

    /// The explanation cache, sized by `explain.cacheBytes`.
    pub fn explain_cache(&self) -> Arc<ExplainCache> {
        Arc::clone(&self.explain_cache)
    }

    /// `window/workDoneProgress/cancel`: cancels the job with that token.
    pub async fn work_done_progress_cancel(&self, params: WorkDoneProgressCancelParams) {
        let token = match params.token {
            NumberOrString::String(s) => s,
            NumberOrString::Number(n) => n.to_string(),
        };
        if !self.jobs.cancel(&token) {
            tracing::debug!(token, "cancel for a job that is not running");
        }
    }
}

impl LanguageServer for Backend {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        handlers::lifecycle::initialize(self, params)
    }

    async fn initialized(&self, _: InitializedParams) {
        handlers::lifecycle::initialized(self).await;
    }

    async fn shutdown(&self) -> Result<()> {
        Ok(())
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        handlers::text_sync::did_open(self, params);
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        handlers::text_sync::did_change(self, params);
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        handlers::text_sync::did_close(self, params);
    }

    async fn did_change_configuration(&self, params: DidChangeConfigurationParams) {
        handlers::lifecycle::did_change_configuration(self, params).await;
    }

    async fn code_action(&self, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        Ok(handlers::code_action::list(self, params))
    }

    async fn code_action_resolve(&self, action: CodeAction) -> Result<CodeAction> {
        handlers::code_action::resolve(self, action).await
    }

    async fn execute_command(&self, params: ExecuteCommandParams) -> Result<Option<LSPAny>> {
        handlers::command::execute(self, params).await
    }

    async fn hover(&self, params: HoverParams) -> Result<Option<Hover>> {
        handlers::hover::hover(self, params).await
    }
}

/// Builds the service without a transport, for in-process tests that drive
/// it through tower's `Service` interface.
pub fn build_service(options: ServerOptions) -> (LspService<Backend>, ClientSocket) {
    build_service_with_tags(options, Arc::new(AtomicBool::new(false)))
}

fn build_service_with_tags(
    options: ServerOptions,
    ai_tags: Arc<AtomicBool>,
) -> (LspService<Backend>, ClientSocket) {
    LspService::build(move |client| {
        let backend = Backend::new(client, options, ai_tags);
        backend.settings_changed();
        backend
    })
    .custom_method(
        "window/workDoneProgress/cancel",
        Backend::work_done_progress_cancel,
    )
    .finish()
}

/// Serves LSP over the given byte streams until the client exits. The
/// [`transport`] makes sure malformed messages cannot stop the server and
/// every request gets an answer.
pub async fn run<I, O>(stdin: I, stdout: O, options: ServerOptions)
where
    I: AsyncRead + Unpin + Send + 'static,
    O: AsyncWrite + Unpin,
{
    let ai_tags = Arc::new(AtomicBool::new(false));
    let (service, socket) = build_service_with_tags(options, Arc::clone(&ai_tags));
    let service = AnswerEveryRequest::new(AiTagService::new(service, ai_tags));
    transport::serve(stdin, stdout, socket, service, CONCURRENCY_LEVEL).await;
}
