//! `didOpen`, `didChange`, `didClose`: keep the document store in step with
//! the editor, and stop the model calls of a document that closes. These
//! mutate the store before any await, so notifications are applied in the
//! order they arrived.

use tower_lsp_server::ls_types::{
    DidChangeTextDocumentParams, DidCloseTextDocumentParams, DidOpenTextDocumentParams, Uri,
};

use crate::document::Document;
use crate::lsp::from_proto;
use crate::progress::DocumentGone;
use crate::state::State;

/// Stores a newly opened document.
pub(crate) fn did_open(state: &State, params: DidOpenTextDocumentParams) {
    let doc = params.text_document;
    tracing::debug!(
        uri = doc.uri.as_str(),
        version = doc.version,
        bytes = doc.text.len(),
        "didOpen"
    );
    let uri = doc.uri.clone();
    let replaced = state.open(
        doc.uri,
        Document::new(&doc.text, doc.version, doc.language_id),
    );
    if let Some(bytes) = replaced {
        // `didOpen` for an open document (eglot's revert-buffer): the new
        // open replaces the old one, and edits computed for it are
        // refused, so the model calls working on it are stopped.
        state.heap.freed(bytes);
        cancel_jobs(state, &uri, DocumentGone::Reopened);
    }
}

/// Applies a batch of content changes; problems are logged, never fatal.
pub(crate) fn did_change(state: &State, params: DidChangeTextDocumentParams) {
    let uri = params.text_document.uri;
    let version = params.text_document.version;
    let encoding = state.encoding();
    let open = state.with_document_mut(&uri, |doc| {
        if version <= doc.version() {
            tracing::warn!(
                uri = uri.as_str(),
                old = doc.version(),
                new = version,
                "document version did not increase; applying the change anyway"
            );
        }
        for event in params.content_changes {
            let change = from_proto::content_change(event);
            if let Err(err) = doc.apply_change(&change, encoding) {
                tracing::warn!(uri = uri.as_str(), %err, "didChange");
            }
        }
        doc.set_version(version);
    });
    if open.is_none() {
        tracing::warn!(
            uri = uri.as_str(),
            "didChange for a document that is not open; ignored"
        );
    }
}

/// Frees a closed document and its syntax cache, and gives the memory back to the system once
/// enough has been freed (see [`crate::memory`]). Model calls working on the
/// document are cancelled: their edits could not land, and for Helix, which
/// never cancels a request, closing is the only way to stop them.
pub(crate) fn did_close(state: &State, params: DidCloseTextDocumentParams) {
    let uri = &params.text_document.uri;
    match state.close(uri) {
        Some(bytes) => {
            state.heap.freed(bytes);
            cancel_jobs(state, uri, DocumentGone::Closed);
        }
        None => tracing::warn!(
            uri = uri.as_str(),
            "didClose for a document that is not open"
        ),
    }
}

/// Cancels the model calls working on a document that was closed or
/// replaced.
fn cancel_jobs(state: &State, uri: &Uri, why: DocumentGone) {
    let cancelled = state
        .jobs
        .cancel_document(&from_proto::document_key(uri), why);
    if cancelled > 0 {
        tracing::info!(
            uri = uri.as_str(),
            cancelled,
            ?why,
            "the document went away: its model calls were cancelled"
        );
    }
}
