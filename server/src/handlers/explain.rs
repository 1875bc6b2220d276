//! Explain this code: the hover and the `codex.explain` command share this.
//! The explanation of a region comes from the cache when its text and the
//! settings that shape the answer are unchanged; otherwise one model call is
//! made through the shared front half ([`super::model_call`]) and shared by
//! every waiter. Key and prompt come from one snapshot.

use std::sync::Arc;

use ropey::Rope;
use tokio_util::sync::CancellationToken;
use tower_lsp_server::ls_types::{Range, Uri};

use super::model_call::{Target, ask_model, prepare};
use crate::assist::region::RegionKind;
use crate::assist::{self, ActionKind};
use crate::config::Settings;
use crate::explain_cache::ExplainKey;
use crate::failure::ActionError;
use crate::lsp::from_proto;
use crate::state::State;

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
pub(crate) enum ExplainMode {
    /// Compute it if it is not cached (the user asked).
    Compute,
    /// Compute it if it is not cached and the region is a definition
    /// (function, method, class, impl… as the grammar finds it); elsewhere
    /// (module-level lines, an indented block, lines around the cursor)
    /// only return a cached one. The hover in mode `auto`: hovering five
    /// import lines must not make five model calls.
    DefinitionsOnly,
    /// Only return a cached one.
    CachedOnly,
}

impl ExplainMode {
    /// The mode for a region of this kind.
    fn for_region(self, kind: &RegionKind) -> Self {
        match (self, kind) {
            (ExplainMode::DefinitionsOnly, RegionKind::SyntaxNode { .. }) => ExplainMode::Compute,
            (ExplainMode::DefinitionsOnly, _) => ExplainMode::CachedOnly,
            (mode, _) => mode,
        }
    }
}

/// An explanation and the byte range it explains.
#[derive(Debug, Clone)]
pub(crate) struct Explanation {
    pub(crate) markdown: Arc<str>,
    /// The explained region, in bytes of `rope`.
    pub(crate) region: std::ops::Range<usize>,
    /// The text the region belongs to, for position conversion.
    pub(crate) rope: Rope,
}

/// Explains the region at `range` (empty: the enclosing syntax node), from
/// the cache when possible. Concurrent calls for the same region share one
/// model call; dropping every waiter aborts it.
pub(crate) async fn explain(
    state: &State,
    uri: &Uri,
    range: Range,
    mode: ExplainMode,
) -> Result<Option<Explanation>, Arc<ActionError>> {
    let target = Target::new(state, uri, range)?;
    let mode = mode.for_region(&target.region.kind);
    let settings = state.settings();
    let region = target.region.range.clone();
    let rope = target.open.snapshot.rope.clone();
    let region_text = rope.byte_slice(region.clone()).to_string();
    let key = explain_key(&settings, &target.open.snapshot.language_id, &region_text);
    let cache = state.explain_cache();
    let found = |markdown| {
        Some(Explanation {
            markdown,
            region: region.clone(),
            rope: rope.clone(),
        })
    };
    if let Some(hit) = cache.get(&key) {
        return Ok(found(hit));
    }
    if mode == ExplainMode::CachedOnly {
        return Ok(None);
    }
    // Refused before the model is asked, naming the pattern.
    let policy = state.policy().map_err(ActionError::from)?;
    policy
        .check_send(&from_proto::document_path(uri))
        .map_err(ActionError::from)?;
    let state = state.clone();
    let markdown = cache
        .get_or_compute(key, move || async move {
            let prepared = prepare(&state, target, ActionKind::Explain, None, None).await?;
            let never = CancellationToken::new();
            let answer = ask_model(&state, &prepared, None, &never).await?;
            let text = assist::clean_explanation(&answer.text);
            if text.trim().is_empty() {
                return Err(ActionError::EmptyExplanation);
            }
            Ok(text)
        })
        .await?;
    Ok(found(markdown))
}
