//! Explain this code: the hover and the "Explain" command share this. The
//! explanation of a region comes from the cache when its text and the
//! settings that shape the answer are unchanged; otherwise one model call is
//! made through the action pipeline's front half and shared by every waiter.

use std::sync::Arc;

use ropey::Rope;
use tower_lsp_server::ls_types::{Range, Uri};

use super::actions::{
    ActionError, call_model, endpoint, is_excluded, prepare, request_for, target_region,
    usage_report,
};
use crate::assist::{self, ActionKind};
use crate::config::Settings;
use crate::explain_cache::{ExplainFailure, ExplainKey};
use crate::server::Backend;

/// The cache key of the explanation of a region: its text, the language,
/// and every setting that shapes the answer.
fn explain_key(settings: &Settings, language_id: &str, region_text: &str) -> ExplainKey {
    let effort = format!("{:?}", settings.reasoning_effort.explain);
    let words = settings.explain.max_words.to_string();
    let cap = settings.explain.max_output_tokens.to_string();
    ExplainKey::new(&[
        &settings.model,
        &effort,
        &words,
        &cap,
        language_id,
        region_text,
    ])
}

/// How an explanation is wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExplainMode {
    /// Compute it if it is not cached.
    Compute,
    /// Only return a cached one.
    CachedOnly,
}

/// An explanation and the byte range it explains.
#[derive(Debug, Clone)]
pub struct Explanation {
    /// Markdown text.
    pub markdown: Arc<str>,
    /// The explained region (bytes of the current text).
    pub region: std::ops::Range<usize>,
    /// The text the region belongs to, for position conversion.
    pub rope: Rope,
}

/// Explains the region at `range` (empty: the enclosing syntax node), from
/// the cache when possible. Concurrent calls for the same region share one
/// model call; dropping every waiter aborts it.
pub async fn explain(
    backend: &Backend,
    uri: &Uri,
    range: Range,
    mode: ExplainMode,
) -> Result<Option<Explanation>, ExplainFailure> {
    let snapshot = backend
        .session
        .snapshot(uri)
        .ok_or_else(|| ExplainFailure("Codex: the document is not open".to_owned()))?;
    let settings = backend.session.settings();
    let region = target_region(backend, uri, &snapshot, range);
    let region_text = snapshot.rope.byte_slice(region.range.clone()).to_string();
    let key = explain_key(&settings, &snapshot.language_id, &region_text);
    let cache = backend.explain_cache();
    if let Some(hit) = cache.get(&key) {
        return Ok(Some(Explanation {
            markdown: hit,
            region: region.range,
            rope: snapshot.rope,
        }));
    }
    if mode == ExplainMode::CachedOnly {
        return Ok(None);
    }
    if is_excluded(backend, uri) {
        return Err(ExplainFailure(
            "Codex: this file is excluded by the `exclude` setting".to_owned(),
        ));
    }
    let backend_for_call = backend.clone();
    let uri_for_call = uri.clone();
    let markdown = cache
        .get_or_compute(key, move || async move {
            let backend = backend_for_call;
            let prepared = prepare(
                &backend,
                &uri_for_call,
                range,
                ActionKind::Explain,
                None,
                None,
            )
            .await
            .map_err(|e| ExplainFailure(e.user_message()))?;
            let endpoint = endpoint(&backend, &prepared.settings)
                .map_err(|e| ExplainFailure(e.user_message()))?;
            let request = request_for(&prepared.prompt, &prepared.settings, ActionKind::Explain);
            let never = tokio_util::sync::CancellationToken::new();
            let reply = call_model(
                &backend,
                &endpoint,
                &request,
                &prepared.settings,
                None,
                &never,
            )
            .await
            .map_err(|e| ExplainFailure(ActionError::from(e).user_message()))?;
            let usage = usage_report(&reply);
            tracing::info!(
                input = usage.input_tokens,
                cached = usage.cached_tokens,
                output = usage.output_tokens,
                "explanation finished"
            );
            let text = assist::clean_explanation(&reply.text);
            if text.trim().is_empty() {
                return Err(ExplainFailure(
                    "Codex: the model returned an empty explanation".to_owned(),
                ));
            }
            Ok(text)
        })
        .await?;
    Ok(Some(Explanation {
        markdown,
        region: region.range,
        rope: snapshot.rope,
    }))
}
