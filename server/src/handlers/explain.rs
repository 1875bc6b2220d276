//! Explain this code: the hover and the `codex.explain` command share this.
//! The explanation of a region is built from one snapshot: its prompt is
//! rendered first (through the shared front half, [`super::model_call`]) and
//! the cache key is a hash of that prompt and of the request settings, so
//! an explanation is reused exactly when the same input would be sent again
//! (same file, same region, same context around it); otherwise one model
//! call is made and shared by every waiter.

use std::sync::Arc;

use ropey::Rope;
use tokio_util::sync::CancellationToken;
use tower_lsp_server::ls_types::{Range, Uri};

use super::model_call::{Prepared, Purpose, Target, ask_model, prepare};
use crate::assist::region::{self, RegionKind};
use crate::assist::{self, ActionKind};
use crate::explain_cache::ExplainKey;
use crate::failure::ActionError;
use crate::state::State;

/// The cache key of an explanation: everything that goes into the model
/// request (the prompt as rendered, with the file's path, the region, the
/// context around it, AGENTS.md, and the settings of the request) and the
/// endpoint it goes to. Identical code in another file or class renders
/// another prompt (path, line numbers, surroundings), so it gets its own
/// explanation.
fn explain_key(prepared: &Prepared) -> ExplainKey {
    let settings = &prepared.settings;
    let effort = format!("{:?}", settings.reasoning_effort.explain);
    let provider = format!("{:?}", settings.provider);
    let cap = settings.explain.max_output_tokens.to_string();
    let path = prepared.path.to_string_lossy();
    ExplainKey::new(&[
        &settings.base_url,
        &provider,
        &settings.model,
        &effort,
        &cap,
        &path,
        &prepared.prompt.instructions,
        &prepared.prompt.input,
    ])
}

/// How an explanation is wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExplainMode {
    /// Compute it if it is not cached (the user asked).
    Compute,
    /// Compute it if it is not cached and the region is a definition
    /// (function, method, class, impl… as the grammar finds it; for a
    /// language without a grammar, the indented block around the cursor);
    /// elsewhere (module-level lines, lines around the cursor, a block that
    /// the grammar does not call a definition) only return a cached one.
    /// The hover in mode `auto`: hovering five import lines must not make
    /// five model calls.
    DefinitionsOnly,
    /// Only return a cached one.
    CachedOnly,
}

impl ExplainMode {
    /// The mode for a region of this kind in a document of this language.
    fn for_region(self, kind: &RegionKind, language_id: &str) -> Self {
        if self != ExplainMode::DefinitionsOnly {
            return self;
        }
        let definition = match kind {
            RegionKind::SyntaxNode { .. } => true,
            RegionKind::Indentation => !region::has_grammar(language_id),
            RegionKind::Selection | RegionKind::Lines => false,
        };
        if definition {
            ExplainMode::Compute
        } else {
            ExplainMode::CachedOnly
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
    let target = Target::new(state, uri, range, None, false)?;
    let purpose = match mode {
        ExplainMode::Compute => Purpose::Action,
        ExplainMode::DefinitionsOnly | ExplainMode::CachedOnly => Purpose::Hover,
    };
    let mode = mode.for_region(&target.region.kind, &target.open.snapshot.language_id);
    let cache = state.explain_cache();
    // Nothing cached: a cached-only lookup need not render a prompt (which
    // would load the tokenizer).
    if mode == ExplainMode::CachedOnly && cache.is_empty() {
        return Ok(None);
    }
    let region = target.region.range.clone();
    let rope = target.open.snapshot.rope.clone();
    // Refused before the model is asked (an excluded file, naming the
    // pattern; no API key; a file too large), cached or not.
    let mut prepared = prepare(state, target, ActionKind::Explain, None, None).await?;
    prepared.purpose = purpose;
    let key = explain_key(&prepared);
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
    let state = state.clone();
    let markdown = cache
        .get_or_compute(key, move || async move {
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
