//! `didOpen`, `didChange`, `didClose`: keep the document store in step with
//! the editor. These mutate the store before any await, so notifications are
//! applied in the order they arrived.

use tower_lsp_server::ls_types::{
    DidChangeTextDocumentParams, DidCloseTextDocumentParams, DidOpenTextDocumentParams,
};

use crate::document::Document;
use crate::lsp::from_proto;
use crate::server::Backend;

/// Stores a newly opened document.
pub fn did_open(backend: &Backend, params: DidOpenTextDocumentParams) {
    let doc = params.text_document;
    tracing::debug!(
        uri = doc.uri.as_str(),
        version = doc.version,
        bytes = doc.text.len(),
        "didOpen"
    );
    backend.session.open(
        doc.uri,
        Document::new(&doc.text, doc.version, doc.language_id),
    );
}

/// Applies a batch of content changes; problems are logged, never fatal.
pub fn did_change(backend: &Backend, params: DidChangeTextDocumentParams) {
    let uri = params.text_document.uri;
    let version = params.text_document.version;
    let encoding = backend.session.encoding();
    let open = backend.session.with_document_mut(&uri, |doc| {
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

/// Frees a closed document, and gives the memory back to the system once
/// enough has been freed (see [`crate::memory`]).
pub fn did_close(backend: &Backend, params: DidCloseTextDocumentParams) {
    let uri = &params.text_document.uri;
    backend.document_closed(uri);
    match backend.session.close(uri) {
        Some(bytes) => {
            backend.heap.freed(bytes);
        }
        None => tracing::warn!(
            uri = uri.as_str(),
            "didClose for a document that is not open"
        ),
    }
}
