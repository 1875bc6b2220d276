//! `textDocument/hover`: the explain-this-code hover. Cached and shared (see
//! `explain_cache`); only definitions are explained on hover (elsewhere a
//! hover shows an explanation only if one is cached); cancelled hovers
//! abort the model call when nobody else waits for it; failures are short
//! hover text, never popups.

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{
    Hover, HoverContents, HoverParams, MarkupContent, MarkupKind, Range,
};

use super::explain::{self, ExplainMode};
use crate::config::HoverMode;
use crate::lsp::to_proto;
use crate::state::State;

/// Answers a hover with an explanation of the enclosing syntax node.
pub(crate) async fn hover(state: &State, params: HoverParams) -> Result<Option<Hover>> {
    let mode = match state.settings().explain.hover {
        HoverMode::Off => return Ok(None),
        HoverMode::Cached => ExplainMode::CachedOnly,
        HoverMode::Auto => ExplainMode::DefinitionsOnly,
    };
    let position = params.text_document_position_params.position;
    let uri = params.text_document_position_params.text_document.uri;
    if !state.is_open(&uri) {
        return Ok(None);
    }
    let kind = if state.features().hover_markdown {
        MarkupKind::Markdown
    } else {
        MarkupKind::PlainText
    };
    let range = Range::new(position, position);
    match explain::explain(state, &uri, range, mode).await {
        Ok(Some(explanation)) => Ok(Some(Hover {
            contents: HoverContents::Markup(MarkupContent {
                kind,
                value: explanation.markdown.to_string(),
            }),
            range: Some(to_proto::range(
                &explanation.rope,
                explanation.region,
                state.encoding(),
            )),
        })),
        Ok(None) => Ok(None),
        Err(failure) => Ok(Some(Hover {
            contents: HoverContents::Markup(MarkupContent {
                kind: MarkupKind::PlainText,
                value: failure.user_message(),
            }),
            range: None,
        })),
    }
}
