//! `textDocument/hover`: the explain-this-code hover. Cached and shared (see
//! `explain_cache`); only definitions are explained on hover (elsewhere a
//! hover shows an explanation only if one is cached); a hover waits for the
//! model at most `explain.hoverWaitMs`, then answers without an explanation
//! while the model call goes on in the background (neither the answer nor
//! a cancel stops it), so the next hover shows it; failures are short
//! hover text, never popups; a hover that cannot work anywhere in the file
//! or the session (an excluded file, no API key) answers nothing and the
//! reason is shown once per session.

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{
    Hover, HoverContents, HoverParams, MarkupContent, MarkupKind, MessageType, Range,
};

use super::explain::{self, ExplainMode};
use crate::assist::AssistError;
use crate::config::HoverMode;
use crate::failure::ActionError;
use crate::lsp::to_proto;
use crate::model::ModelError;
use crate::state::State;
use crate::workspace::Refusal;

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
        Err(failure) => match quiet_reason(&failure) {
            // Said once per session; every hover there answers nothing, so
            // other servers' hovers are not crowded by the same line.
            Some((notice, kind, hint)) => {
                if state.first_time(notice) {
                    let message = format!("{} {hint}", failure.user_message());
                    state.client.show_message(kind, message).await;
                }
                Ok(None)
            }
            None => Ok(Some(Hover {
                contents: HoverContents::Markup(MarkupContent {
                    kind: MarkupKind::PlainText,
                    value: failure.user_message(),
                }),
                range: None,
            })),
        },
    }
}

/// Failures that hold for every hover of a file or of the session: the
/// notice to show once instead of hover text, its type, and what it means
/// for hovers.
fn quiet_reason(failure: &ActionError) -> Option<(&'static str, MessageType, &'static str)> {
    match failure {
        ActionError::Refused(Refusal::Excluded { .. })
        | ActionError::Assist(AssistError::Excluded { .. }) => Some((
            "hover: excluded",
            MessageType::INFO,
            "Hovers in excluded files are not explained.",
        )),
        ActionError::Model(ModelError::MissingApiKey { .. }) => Some((
            "hover: no API key",
            MessageType::WARNING,
            "Until then hovers explain nothing.",
        )),
        _ => None,
    }
}
