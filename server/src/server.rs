//! The dispatch: `impl LanguageServer`, each method forwarding to a handler
//! (so this file reads as a table of contents of what the server answers),
//! [`build_service`] and [`run`].

use std::task::{Context, Poll};

use futures_util::future::BoxFuture;
use tokio::io::{AsyncRead, AsyncWrite};
use tower::Service;
use tower_lsp_server::jsonrpc::{Request, Response, Result};
use tower_lsp_server::ls_types::{
    CodeAction, CodeActionParams, CodeActionResponse, DidChangeConfigurationParams,
    DidChangeTextDocumentParams, DidChangeWorkspaceFoldersParams, DidCloseTextDocumentParams,
    DidOpenTextDocumentParams, ExecuteCommandParams, Hover, HoverParams, InitializeParams,
    InitializeResult, InitializedParams, LSPAny, WorkDoneProgressCancelParams,
};
use tower_lsp_server::{ClientSocket, ExitedError, LanguageServer, LspService};

use crate::handlers;
use crate::lsp::ai_tag::AiTagService;
use crate::lsp::transport::{self, AnswerEveryRequest};
use crate::state::{ServerOptions, State};

/// How many requests and notifications run at once. Model calls are bounded
/// separately (setting `maxConcurrentRequests`), well below this, so text
/// sync is never starved by slow model calls.
const CONCURRENCY_LEVEL: usize = 64;

/// The language server tower-lsp-server dispatches to.
struct Server {
    state: State,
}

impl LanguageServer for Server {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        handlers::lifecycle::initialize(&self.state, params)
    }

    async fn initialized(&self, _: InitializedParams) {
        handlers::lifecycle::initialized(&self.state).await;
    }

    async fn shutdown(&self) -> Result<()> {
        handlers::lifecycle::shutdown()
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        handlers::text_sync::did_open(&self.state, params);
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        handlers::text_sync::did_change(&self.state, params);
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        let uri = params.text_document.uri.clone();
        handlers::text_sync::did_close(&self.state, params);
        handlers::command::remove_explanation_view(&uri);
    }

    async fn did_change_configuration(&self, params: DidChangeConfigurationParams) {
        handlers::lifecycle::did_change_configuration(&self.state, params).await;
    }

    async fn did_change_workspace_folders(&self, params: DidChangeWorkspaceFoldersParams) {
        handlers::lifecycle::did_change_workspace_folders(&self.state, params);
    }

    async fn code_action(&self, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        Ok(handlers::code_action::list(&self.state, params))
    }

    async fn code_action_resolve(&self, action: CodeAction) -> Result<CodeAction> {
        handlers::code_action::resolve(&self.state, action).await
    }

    async fn execute_command(&self, params: ExecuteCommandParams) -> Result<Option<LSPAny>> {
        handlers::command::execute(&self.state, params).await
    }

    async fn hover(&self, params: HoverParams) -> Result<Option<Hover>> {
        handlers::hover::hover(&self.state, params).await
    }
}

impl Server {
    async fn work_done_progress_cancel(&self, params: WorkDoneProgressCancelParams) {
        handlers::progress::cancel(&self.state, params);
    }
}

/// The service stack `run` serves: tower-lsp-server's router, the LSP 3.18
/// AI tag layer, and the layer that answers every request the router left
/// unanswered.
pub struct LanguageService(AnswerEveryRequest<AiTagService<LspService<Server>>>);

impl std::fmt::Debug for LanguageService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LanguageService").finish_non_exhaustive()
    }
}

impl Service<Request> for LanguageService {
    type Response = Option<Response>;
    type Error = ExitedError;
    type Future = BoxFuture<'static, std::result::Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<std::result::Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        self.0.call(request)
    }
}

/// Builds the service `run` serves, without a transport, for in-process
/// use through tower's `Service` interface; the socket carries the server's
/// own requests and notifications.
pub fn build_service(options: ServerOptions) -> (LanguageService, ClientSocket) {
    build_with(options, |_| {})
}

/// [`build_service`], showing the new state to `inspect` (in-crate tests
/// keep a handle to look inside).
fn build_with(
    options: ServerOptions,
    inspect: impl FnOnce(&State) + Send + 'static,
) -> (LanguageService, ClientSocket) {
    let (service, socket) = LspService::build(move |client| {
        let state = State::new(client, options);
        inspect(&state);
        Server { state }
    })
    .custom_method(
        "window/workDoneProgress/cancel",
        Server::work_done_progress_cancel,
    )
    .finish();
    let service = LanguageService(AnswerEveryRequest::new(AiTagService::new(service)));
    (service, socket)
}

/// Serves LSP over the given byte streams until the client exits, and
/// returns the process exit code LSP asks for: 0 when `exit` followed
/// `shutdown`, 1 otherwise. The transport makes sure malformed messages
/// cannot stop the server and every request gets an answer.
pub async fn run<I, O>(stdin: I, stdout: O, options: ServerOptions) -> u8
where
    I: AsyncRead + Unpin + Send + 'static,
    O: AsyncWrite + Unpin,
{
    let (service, socket) = build_service(options);
    let end = transport::serve(stdin, stdout, socket, service, CONCURRENCY_LEVEL).await;
    // Also after an `exit` without `shutdown`, or the end of input.
    handlers::command::remove_explanation_views();
    end.exit_code()
}

#[cfg(test)]
#[path = "server_tests.rs"]
mod tests;
