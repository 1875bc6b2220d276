//! Explain this code: the hover and the `codex.explain` command share this.
//! The explanation of a region is built from one snapshot: its prompt is
//! rendered first (through the shared front half, [`super::model_call`]) and
//! the cache key is a hash of that prompt and of the request settings, so
//! an explanation is reused exactly when the same input would be sent again
//! (same file, same region, same context around it); otherwise one model
//! call is made and shared by every waiter. A hover waits for that call at
//! most `explain.hoverWaitMs` and leaves it running in the background, so
//! it never holds the editor (or, in editors that merge hovers by waiting
//! for every server, the other servers' hovers) behind the model.

use std::sync::Arc;
use std::time::Duration;

use ropey::Rope;
use tokio_util::sync::CancellationToken;
use tower_lsp_server::ls_types::{Range, Uri};

use super::conversation;
use super::model_call::{HoverSlot, Prepared, Target, ask_model, check_sendable, prepare};
use crate::assist::region::{self, RegionKind};
use crate::assist::{self, ActionKind};
use crate::config::Settings;
use crate::explain_cache::{ExplainKey, Lookup};
use crate::failure::ActionError;
use crate::lsp::from_proto;
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

/// The key of everything a hover's prompt is rendered from, where that is
/// known without rendering it: the document (path, open generation and
/// revision: the text), the region, the settings and workspace folders in
/// force, and the AGENTS.md files read for it. `None` when other open
/// documents go into the prompt (their text is an input too). Rendering a
/// prompt (token budget, redaction, a window of up to `maxContextTokens`)
/// costs milliseconds on a large file; this makes a hover on unchanged
/// input find its explanation without it (see `ExplainCache::alias`).
///
/// Refuses what `prepare` refuses first (an excluded file, no API key), so
/// a cached explanation is shown only where one could be made.
async fn inputs_key(
    state: &State,
    target: &Target,
    settings: &Settings,
) -> Result<Option<ExplainKey>, ActionError> {
    if settings.include_open_documents {
        return Ok(None);
    }
    let policy = state.policy()?;
    let path = from_proto::document_path(&target.open.uri);
    check_sendable(state, settings, &policy, &path)?;
    let agents = {
        let path = path.clone();
        tokio::task::spawn_blocking(move || policy.agents_md(&path))
            .await
            .unwrap_or_default()
    };
    let mut parts: Vec<String> = vec![
        "hover inputs".to_owned(),
        path.to_string_lossy().into_owned(),
        target.open.generation.to_string(),
        target.open.snapshot.revision.to_string(),
        target.open.snapshot.language_id.clone(),
        format!("{:?} {:?}", target.region.range, target.region.kind),
        serde_json::to_string(settings).unwrap_or_default(),
        format!("{:?}", state.folders()),
    ];
    for file in agents {
        parts.push(file.path.to_string_lossy().into_owned());
        parts.push(file.text);
        parts.push(file.truncated.to_string());
    }
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    Ok(Some(ExplainKey::new(&parts)))
}

/// How an explanation is wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExplainMode {
    /// Compute it if it is not cached, however long it takes (the user
    /// asked).
    Compute,
    /// Compute it if it is not cached and the region is a definition
    /// (function, method, class, impl… as the grammar finds it; for a
    /// language without a grammar, the indented block around the cursor);
    /// elsewhere (module-level lines, lines around the cursor, a block that
    /// the grammar does not call a definition) only return a cached one.
    /// The hover in mode `auto`: hovering five import lines must not make
    /// five model calls. Waits for the model at most `explain.hoverWaitMs`.
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
            ExplainMode::DefinitionsOnly
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

/// Whom an explanation is made for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Asker {
    /// A hover: one request without tools, so it stays fast.
    Hover,
    /// The user's command: the model may read the workspace first.
    Command,
}

/// The model call (for the command, the short conversation) that makes one
/// explanation. Dropping it (every waiter gone) aborts the request.
async fn compute(state: State, prepared: Prepared, asker: Asker) -> Result<String, ActionError> {
    let never = CancellationToken::new();
    let text = match asker {
        Asker::Hover => ask_model(&state, &prepared, None, &never).await?.text,
        Asker::Command => conversation::explain(&state, &prepared, &never).await?,
    };
    // The hover's slot (in `prepared`) is free again from here.
    drop(prepared);
    let text = assist::clean_explanation(&text);
    if text.trim().is_empty() {
        return Err(ActionError::EmptyExplanation);
    }
    Ok(text)
}

/// Explains the region at `range` (within one grapheme: the enclosing
/// syntax node, the same region a hover there explains), from the cache
/// when possible. With [`ExplainMode::Compute`] (`codex.explain`: the user
/// asked) the answer is awaited however long it takes and fills the cache
/// the hover reads; concurrent calls for the same region share one model
/// call, and dropping every waiter aborts it unless a hover keeps it
/// going. The hover modes go through [`explain_on_hover`], waiting at most
/// `explain.hoverWaitMs`.
pub(crate) async fn explain(
    state: &State,
    uri: &Uri,
    range: Range,
    mode: ExplainMode,
) -> Result<Option<Explanation>, Arc<ActionError>> {
    if mode != ExplainMode::Compute {
        let wait = state.settings().hover_wait();
        return explain_on_hover(state, uri, range, mode, wait).await;
    }
    let target = Target::new(state, uri, range, None, false)?;
    let region = target.region.range.clone();
    let rope = target.open.snapshot.rope.clone();
    // Refused before the model is asked (an excluded file, naming the
    // pattern; no API key; a file too large), cached or not.
    let prepared = prepare(state, target, ActionKind::Explain, None, None).await?;
    let key = explain_key(&prepared);
    let cache = Arc::clone(state.explain_cache());
    let state = state.clone();
    let markdown = cache
        .get_or_compute(key, move || compute(state, prepared, Asker::Command))
        .await?;
    Ok(Some(Explanation {
        markdown,
        region,
        rope,
    }))
}

/// The explanation a hover at `range` shows: a cached one, else (for
/// [`ExplainMode::DefinitionsOnly`] on a definition) one whose model call is
/// started, or joined, in the background and awaited for at most `wait`.
/// `None` when there is none yet: the call goes on (it is not cancelled
/// when the hover returns or is cancelled), so the next hover on the same
/// code shows its answer. A hover never holds the editor, or the other
/// servers' hovers it merges with, longer than `wait` for the model.
///
/// Background calls are bounded: one per cache key (shared), each holding a
/// slot of the hovers' share of `maxConcurrentRequests` (none is started
/// while every slot is busy), dropped when their document closes or is
/// reopened.
async fn explain_on_hover(
    state: &State,
    uri: &Uri,
    range: Range,
    mode: ExplainMode,
    wait: Duration,
) -> Result<Option<Explanation>, Arc<ActionError>> {
    let target = Target::new(state, uri, range, None, false)?;
    let mode = mode.for_region(&target.region.kind, &target.open.snapshot.language_id);
    let cache = state.explain_cache();
    // Nothing cached: a cached-only lookup need not render a prompt (which
    // would load the tokenizer).
    if mode == ExplainMode::CachedOnly && cache.is_empty() {
        return Ok(None);
    }
    let region = target.region.range.clone();
    let rope = target.open.snapshot.rope.clone();
    let owner = target.open.generation;
    let found = |markdown| {
        Some(Explanation {
            markdown,
            region: region.clone(),
            rope: rope.clone(),
        })
    };
    // The fast path: the same input as a hover before, whose prompt is
    // known, and its explanation cached.
    let settings = state.settings();
    let folders = state.folders();
    let inputs = inputs_key(state, &target, &settings).await?;
    if let Some(hit) = inputs
        .and_then(|inputs| cache.alias(&inputs))
        .and_then(|key| cache.get(&key))
    {
        return Ok(found(hit));
    }
    let mut prepared = prepare(state, target, ActionKind::Explain, None, None).await?;
    let key = explain_key(&prepared);
    // Only when the prompt was rendered under the inputs the key names.
    if let Some(inputs) = inputs
        && Arc::ptr_eq(&settings, &prepared.settings)
        && folders == state.folders()
    {
        cache.set_alias(inputs, key);
    }
    if mode == ExplainMode::CachedOnly {
        return Ok(cache.get(&key).and_then(found));
    }
    let state = state.clone();
    let lookup = cache.lookup_or_start(key, owner, || {
        let slot = HoverSlot::try_take(&state)?;
        prepared.hover_slot = Some(slot);
        Some(compute(state.clone(), prepared, Asker::Hover))
    });
    let pending = match lookup {
        Lookup::Hit(markdown) => return Ok(found(markdown)),
        Lookup::Failed(failure) => return Err(failure),
        Lookup::NotStarted => {
            tracing::debug!("every hover slot is busy; this hover starts no model call");
            return Ok(None);
        }
        Lookup::Pending(pending) => pending,
    };
    if wait.is_zero() {
        return Ok(None);
    }
    match tokio::time::timeout(wait, pending.wait()).await {
        Ok(result) => result.map(found),
        Err(_elapsed) => Ok(None),
    }
}
