//! What every handler shares: the open documents (each with its syntax
//! cache), what was negotiated with the client, the settings in force, the
//! model client and its concurrency limit, running jobs and the explanation
//! cache.
//!
//! This module never imports `handlers` or `server`: handlers take a
//! [`State`], and the dispatch in `server` owns one.
//!
//! Locks here are short and never held across an `.await`: documents sit in
//! a `DashMap` whose guards are dropped before any await, and settings are
//! an `Arc` swapped under a `RwLock` and cloned out.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use dashmap::DashMap;
use tokio::sync::Semaphore;
use tower_lsp_server::Client;
use tower_lsp_server::ls_types::Uri;

use crate::assist::region::SyntaxCache;
use crate::config::Settings;
use crate::document::{Document, Snapshot};
use crate::explain_cache::ExplainCache;
use crate::failure::ActionError;
use crate::lsp::from_proto;
use crate::memory::HeapTrimmer;
use crate::model::{ModelClient, ModelError};
use crate::progress::Jobs;
use crate::text::PositionEncoding;

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

/// What the client told us it can do, reduced to the questions we ask.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ClientFeatures {
    /// `textDocument.codeAction.resolveSupport` includes `edit`.
    pub(crate) code_action_resolve_edit: bool,
    /// `textDocument.codeAction.codeActionLiteralSupport`: without it, only
    /// plain commands are understood (LSP 3.17).
    pub(crate) code_action_literals: bool,
    pub(crate) document_changes: bool,
    /// `workspace.workspaceEdit.resourceOperations` includes `create`.
    pub(crate) create_files: bool,
    pub(crate) apply_edit: bool,
    pub(crate) configuration: bool,
    pub(crate) did_change_configuration_dynamic: bool,
    pub(crate) work_done_progress: bool,
    pub(crate) show_document: bool,
    /// Hover content formats include Markdown (assumed when not said).
    pub(crate) hover_markdown: bool,
}

/// One open document and what is derived from it, so closing the document
/// drops both together.
#[derive(Debug)]
struct OpenDocument {
    document: Document,
    syntax: Arc<SyntaxCache>,
}

/// The shared server state. Cheap to clone: one `Arc`.
#[derive(Clone)]
pub(crate) struct State(Arc<Shared>);

pub(crate) struct Shared {
    /// Messages to the client.
    pub(crate) client: Client,
    pub(crate) options: ServerOptions,
    /// Running model calls, for progress cancellation.
    pub(crate) jobs: Arc<Jobs>,
    /// Returns the memory of closed documents to the system.
    pub(crate) heap: HeapTrimmer,
    documents: DashMap<Uri, OpenDocument>,
    encoding: RwLock<PositionEncoding>,
    features: RwLock<ClientFeatures>,
    settings: RwLock<Arc<Settings>>,
    workspace_root: RwLock<Option<PathBuf>>,
    /// Settings errors found before the client could be told (initialize).
    deferred_messages: Mutex<Vec<String>>,
    /// The base layer of every later settings update.
    initialization_options: Mutex<serde_json::Value>,
    model: OnceLock<ModelClient>,
    /// The `maxConcurrentRequests` semaphore and the size it was made for.
    permits: Mutex<(usize, Arc<Semaphore>)>,
    explain_cache: Arc<ExplainCache<ActionError>>,
}

impl std::ops::Deref for State {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("open_documents", &self.documents.len())
            .finish_non_exhaustive()
    }
}

impl State {
    pub(crate) fn new(client: Client, options: ServerOptions) -> Self {
        let state = Self(Arc::new(Shared {
            client,
            options,
            jobs: Arc::default(),
            heap: HeapTrimmer::default(),
            documents: DashMap::new(),
            encoding: RwLock::new(PositionEncoding::Utf16),
            features: RwLock::new(ClientFeatures::default()),
            settings: RwLock::new(Arc::new(Settings::default())),
            workspace_root: RwLock::new(None),
            deferred_messages: Mutex::default(),
            initialization_options: Mutex::default(),
            model: OnceLock::new(),
            permits: Mutex::new((0, Arc::new(Semaphore::new(0)))),
            explain_cache: Arc::new(ExplainCache::new(0)),
        }));
        state.settings_changed();
        state
    }
}

impl Shared {
    pub(crate) fn encoding(&self) -> PositionEncoding {
        self.encoding.read().map(|g| *g).unwrap_or_default()
    }

    pub(crate) fn set_encoding(&self, encoding: PositionEncoding) {
        if let Ok(mut g) = self.encoding.write() {
            *g = encoding;
        }
    }

    pub(crate) fn features(&self) -> ClientFeatures {
        self.features.read().map(|g| g.clone()).unwrap_or_default()
    }

    pub(crate) fn set_features(&self, features: ClientFeatures) {
        if let Ok(mut g) = self.features.write() {
            *g = features;
        }
    }

    /// The settings in force (a cheap `Arc` clone).
    pub(crate) fn settings(&self) -> Arc<Settings> {
        self.settings
            .read()
            .map(|g| Arc::clone(&g))
            .unwrap_or_else(|_| Arc::new(Settings::default()))
    }

    /// Replaces the settings in force and resizes what they size: the
    /// model-call limit and the explanation cache.
    pub(crate) fn set_settings(&self, settings: Settings) {
        if let Ok(mut g) = self.settings.write() {
            *g = Arc::new(settings);
        }
        self.settings_changed();
    }

    fn settings_changed(&self) {
        let settings = self.settings();
        self.explain_cache
            .set_capacity(settings.explain.cache_bytes as usize);
        let _ = self.model_permits();
    }

    pub(crate) fn workspace_root(&self) -> Option<PathBuf> {
        self.workspace_root.read().ok().and_then(|g| g.clone())
    }

    pub(crate) fn set_workspace_root(&self, root: Option<PathBuf>) {
        if let Ok(mut g) = self.workspace_root.write() {
            *g = root;
        }
    }

    /// Queues a message to show once the client is initialized.
    pub(crate) fn defer_message(&self, message: String) {
        if let Ok(mut q) = self.deferred_messages.lock() {
            q.push(message);
        }
    }

    pub(crate) fn take_deferred_messages(&self) -> Vec<String> {
        self.deferred_messages
            .lock()
            .map(|mut q| std::mem::take(&mut *q))
            .unwrap_or_default()
    }

    pub(crate) fn set_initialization_options(&self, options: serde_json::Value) {
        if let Ok(mut o) = self.initialization_options.lock() {
            *o = options;
        }
    }

    /// The `initializationOptions` the client sent (`null` if none).
    pub(crate) fn initialization_options(&self) -> serde_json::Value {
        self.initialization_options
            .lock()
            .map(|o| o.clone())
            .unwrap_or_default()
    }

    /// Opens (or reopens) a document, with a fresh syntax cache.
    pub(crate) fn open(&self, uri: Uri, document: Document) {
        let entry = OpenDocument {
            document,
            syntax: Arc::default(),
        };
        self.documents.insert(uri, entry);
    }

    /// Closes a document, dropping its text and syntax cache; returns how
    /// many bytes of text were freed.
    pub(crate) fn close(&self, uri: &Uri) -> Option<usize> {
        let (_, open) = self.documents.remove(uri)?;
        Some(open.document.rope().len_bytes())
    }

    /// Runs `f` on an open document, with the map guard held only for `f`.
    pub(crate) fn with_document_mut<R>(
        &self,
        uri: &Uri,
        f: impl FnOnce(&mut Document) -> R,
    ) -> Option<R> {
        self.documents.get_mut(uri).map(|mut d| f(&mut d.document))
    }

    pub(crate) fn with_document<R>(&self, uri: &Uri, f: impl FnOnce(&Document) -> R) -> Option<R> {
        self.documents.get(uri).map(|d| f(&d.document))
    }

    pub(crate) fn is_open(&self, uri: &Uri) -> bool {
        self.documents.contains_key(uri)
    }

    #[cfg(test)]
    pub(crate) fn open_count(&self) -> usize {
        self.documents.len()
    }

    pub(crate) fn snapshot(&self, uri: &Uri) -> Option<Snapshot> {
        self.with_document(uri, Document::snapshot)
    }

    /// Snapshots of all open documents except `except`.
    pub(crate) fn other_snapshots(&self, except: &Uri) -> Vec<(Uri, Snapshot)> {
        self.documents
            .iter()
            .filter(|e| e.key() != except)
            .map(|e| (e.key().clone(), e.value().document.snapshot()))
            .collect()
    }

    /// The last syntax tree parsed for an open document (see
    /// `assist::region::target_region_cached`).
    pub(crate) fn syntax_cache(&self, uri: &Uri) -> Option<Arc<SyntaxCache>> {
        self.documents.get(uri).map(|d| Arc::clone(&d.syntax))
    }

    /// Whether the document's path matches the `exclude` globs (such files
    /// are never sent to the model, so no action is offered for them).
    pub(crate) fn is_excluded(&self, uri: &Uri) -> bool {
        let settings = self.settings();
        let root = self.workspace_root();
        let path = from_proto::document_path(uri);
        let rel = crate::assist::prompt::relative_path(root.as_deref(), &path);
        match crate::assist::Exclusions::cached(&settings.exclude) {
            Ok(exclusions) => exclusions.excluded(&rel).is_some(),
            Err(_) => true, // unreachable with validated settings; refuse to be safe
        }
    }

    /// The shared model client, built on first use.
    pub(crate) fn model_client(&self) -> Result<ModelClient, ModelError> {
        if let Some(client) = self.model.get() {
            return Ok(client.clone());
        }
        let client = ModelClient::new()?;
        Ok(self.model.get_or_init(|| client).clone())
    }

    /// The semaphore bounding concurrent model calls, sized by
    /// `maxConcurrentRequests` (replaced when the setting changes; calls
    /// holding a permit of the old one finish normally).
    pub(crate) fn model_permits(&self) -> Arc<Semaphore> {
        let wanted = self.settings().max_concurrent_requests as usize;
        match self.permits.lock() {
            Ok(mut guard) => {
                if guard.0 != wanted {
                    *guard = (wanted, Arc::new(Semaphore::new(wanted)));
                }
                Arc::clone(&guard.1)
            }
            Err(_) => Arc::new(Semaphore::new(wanted)),
        }
    }

    pub(crate) fn explain_cache(&self) -> &Arc<ExplainCache<ActionError>> {
        &self.explain_cache
    }
}
