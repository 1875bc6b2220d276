//! The `LanguageServer` implementation: each method forwards to a handler, so
//! this file reads as a table of contents of what the server answers.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncRead, AsyncWrite};
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{
    CodeActionParams, CodeActionResponse, DidChangeConfigurationParams,
    DidChangeTextDocumentParams, DidCloseTextDocumentParams, DidOpenTextDocumentParams,
    InitializeParams, InitializeResult, InitializedParams, Uri,
};
use tower_lsp_server::{Client, ClientSocket, LanguageServer, LspService, Server};

use crate::handlers;
use crate::lsp::ai_tag::AiTagService;
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
    deferred_messages: Arc<Mutex<Vec<String>>>,
    initialization_options: Arc<Mutex<serde_json::Value>>,
    ai_tags: Arc<AtomicBool>,
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
            options,
            deferred_messages: Arc::default(),
            initialization_options: Arc::default(),
            ai_tags,
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

    /// Called after settings changed.
    pub fn settings_changed(&self) {}

    /// Called after a document's text changed.
    pub fn document_changed(&self, _uri: &Uri) {}

    /// Whether the document's path matches the `exclude` globs (such files
    /// are never sent to the model, so no action is offered for them).
    pub fn is_excluded(&self, _uri: &Uri) -> bool {
        // Wired to the assist core's exclusion matcher when it lands.
        false
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
    LspService::build(move |client| Backend::new(client, options, ai_tags)).finish()
}

/// Serves LSP over the given byte streams until the client exits.
pub async fn run<I, O>(stdin: I, stdout: O, options: ServerOptions)
where
    I: AsyncRead + Unpin,
    O: AsyncWrite,
{
    let ai_tags = Arc::new(AtomicBool::new(false));
    let (service, socket) = build_service_with_tags(options, Arc::clone(&ai_tags));
    let service = AiTagService::new(service, ai_tags);
    Server::new(stdin, stdout, socket)
        .concurrency_level(CONCURRENCY_LEVEL)
        .serve(service)
        .await;
}
