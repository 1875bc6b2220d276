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

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use dashmap::DashMap;
use ropey::Rope;
use tokio::sync::Semaphore;
use tower_lsp_server::Client;
use tower_lsp_server::ls_types::Uri;

use crate::assist::Exclusions;
use crate::assist::region::SyntaxCache;
use crate::config::{EditTool, Settings};
use crate::conversations::Conversations;
use crate::document::{Document, Snapshot};
use crate::explain_cache::ExplainCache;
use crate::failure::ActionError;
use crate::lsp::from_proto;
use crate::memory::HeapTrimmer;
use crate::model::{ModelClient, ModelError};
use crate::progress::Jobs;
use crate::text::{PositionEncoding, TextEdit};
use crate::workspace::{DocumentKey, WorkspacePolicy};

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
    /// `textDocument.codeAction.disabledSupport`: actions that cannot run
    /// may be listed `disabled`, with the reason.
    pub(crate) code_action_disabled: bool,
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
    /// `workspace.workspaceEdit.changeAnnotationSupport` with
    /// `documentChanges` (annotations ride on `AnnotatedTextEdit`s, which
    /// only `documentChanges` carries): the client can show an edit for
    /// review before applying it (see `handlers::confirm`).
    pub(crate) change_annotations: bool,
    /// Which editor this is (`clientInfo.name`), for behaviours the
    /// capabilities do not announce.
    pub(crate) client: KnownClient,
}

/// Editors whose behaviour beyond their capabilities the server adapts to.
/// Recognised by `clientInfo.name`; anything else is [`KnownClient::Other`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum KnownClient {
    /// Resolves a picked code action synchronously on its UI thread and
    /// answers server requests only on that loop; `window/showDocument`
    /// replaces the current view; never cancels.
    Helix,
    /// VS Code and its forks served by `vscode-languageclient`
    /// (`clientInfo.name` is the application name).
    VsCode,
    Neovim,
    Emacs,
    Zed,
    #[default]
    Other,
}

impl KnownClient {
    /// Whether the client waits for `codeAction/resolve` on its UI thread
    /// (Helix: `block_on` in `helix-view/src/action.rs`), so resolving an
    /// edit there freezes the editor for the whole model call.
    pub(crate) fn resolves_synchronously(self) -> bool {
        self == Self::Helix
    }

    /// Whether the client can ask the user for a rewrite's instruction
    /// before sending `codex.runAction` (VS Code's middleware, the Neovim
    /// plugin, an Emacs command). Helix has no plugins to do it.
    pub(crate) fn can_prompt_for_instruction(self) -> bool {
        self != Self::Helix
    }

    /// Whether `window/showDocument` replaces the current view (Helix
    /// ignores `takeFocus: false`), so an explanation shown as a document
    /// would hide the code it explains.
    pub(crate) fn show_document_replaces_view(self) -> bool {
        self == Self::Helix
    }

    /// Whether the client prefixes progress titles with the server's name
    /// (Helix shows `codex: <title>` in its status line), so a title need
    /// not say "Codex".
    pub(crate) fn names_server_in_progress(self) -> bool {
        self == Self::Helix
    }

    /// The client behind a `clientInfo.name`.
    pub(crate) fn from_name(name: &str) -> Self {
        let name = name.to_ascii_lowercase();
        if name == "helix" {
            Self::Helix
        } else if name.contains("visual studio code")
            || name.contains("code-server")
            || name.contains("vscodium")
            || name.contains("cursor")
            || name == "code"
        {
            Self::VsCode
        } else if name == "neovim" || name == "nvim" {
            Self::Neovim
        } else if name.contains("eglot") || name.contains("emacs") || name.contains("lsp-mode") {
            Self::Emacs
        } else if name == "zed" {
            Self::Zed
        } else {
            Self::Other
        }
    }
}

/// The `maxConcurrentRequests` limit: every model call holds a `total`
/// permit; a hover first holds one of `hovers`, a share one smaller than
/// the limit (at least 1), so hovers that stall never take the last slot
/// from the user's explicit actions.
#[derive(Debug, Clone)]
pub(crate) struct ModelPermits {
    pub(crate) total: Arc<Semaphore>,
    pub(crate) hovers: Arc<Semaphore>,
}

impl ModelPermits {
    fn new(limit: usize) -> Self {
        Self {
            total: Arc::new(Semaphore::new(limit)),
            hovers: Arc::new(Semaphore::new(limit.saturating_sub(1).max(1))),
        }
    }
}

/// One open document and what is derived from it, so closing the document
/// drops both together.
#[derive(Debug)]
struct OpenDocument {
    /// The URI as the client spelled it in `didOpen`: edits name it so.
    uri: Uri,
    /// Changes on every `didOpen`, so nothing computed for an earlier open
    /// of the same file can land in a later one.
    generation: u64,
    document: Document,
    syntax: Arc<SyntaxCache>,
    /// The text at recent client versions (ropes share structure, so this
    /// is cheap), newest last: an action listed at one version and picked
    /// after a formatter or auto-import changed the text has its range
    /// mapped from the text it was listed on.
    versions: VecDeque<(i32, u64, Rope)>,
}

/// How many recent versions keep their text for mapping listed ranges.
const LISTED_VERSIONS: usize = 32;

impl OpenDocument {
    fn remember_version(&mut self) {
        let doc = &self.document;
        if self
            .versions
            .back()
            .is_some_and(|(v, r, _)| *v == doc.version() && *r == doc.revision())
        {
            return;
        }
        if self.versions.len() == LISTED_VERSIONS {
            self.versions.pop_front();
        }
        self.versions
            .push_back((doc.version(), doc.revision(), doc.rope().clone()));
    }
}

/// A snapshot of an open document, with who it is: what an action works
/// on and what its edit is checked against.
#[derive(Debug, Clone)]
pub(crate) struct OpenSnapshot {
    pub(crate) uri: Uri,
    pub(crate) key: DocumentKey,
    pub(crate) generation: u64,
    pub(crate) snapshot: Snapshot,
}

/// Why a range listed at an earlier version cannot be found in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ListedRange {
    /// The text at that version is no longer kept (or never was).
    Forgotten,
    /// The changes since touch the range itself.
    Changed,
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
    /// Open documents by identity (decoded, normalised path), so every
    /// spelling of a URI finds the same one.
    documents: DashMap<DocumentKey, OpenDocument>,
    next_generation: AtomicU64,
    encoding: RwLock<PositionEncoding>,
    features: RwLock<ClientFeatures>,
    settings: RwLock<Arc<Settings>>,
    /// Every workspace folder (multi-root), kept current.
    folders: RwLock<Vec<PathBuf>>,
    /// Settings errors found before the client could be told (initialize).
    deferred_messages: Mutex<Vec<String>>,
    /// The base layer of every later settings update.
    initialization_options: Mutex<serde_json::Value>,
    model: OnceLock<ModelClient>,
    /// The `maxConcurrentRequests` semaphores and the size they were made
    /// for.
    permits: Mutex<(usize, ModelPermits)>,
    explain_cache: Arc<ExplainCache<ActionError>>,
    /// Each document's last edit conversation, for `codex.refine`.
    conversations: Conversations,
    /// Notices already shown this session (see [`Shared::first_time`]).
    said_once: Mutex<std::collections::HashSet<&'static str>>,
    /// Edit modes a server rejected this session, by `baseUrl` and model:
    /// the simpler mode to use there instead.
    edit_tool_fallbacks: Mutex<std::collections::HashMap<(String, String), EditTool>>,
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
            next_generation: AtomicU64::new(0),
            encoding: RwLock::new(PositionEncoding::Utf16),
            features: RwLock::new(ClientFeatures::default()),
            settings: RwLock::new(Arc::new(Settings::default())),
            folders: RwLock::default(),
            deferred_messages: Mutex::default(),
            initialization_options: Mutex::default(),
            model: OnceLock::new(),
            permits: Mutex::new((0, ModelPermits::new(0))),
            explain_cache: Arc::new(ExplainCache::new(0)),
            conversations: Conversations::default(),
            said_once: Mutex::default(),
            edit_tool_fallbacks: Mutex::default(),
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

    pub(crate) fn folders(&self) -> Vec<PathBuf> {
        self.folders.read().map(|g| g.clone()).unwrap_or_default()
    }

    /// Replaces the workspace folders (initialize, and every
    /// `workspace/didChangeWorkspaceFolders`).
    pub(crate) fn set_folders(&self, folders: Vec<PathBuf>) {
        if let Ok(mut g) = self.folders.write() {
            *g = folders;
        }
    }

    /// The workspace policy for the folders and exclusions in force: what
    /// may be read for the model and written by it.
    pub(crate) fn policy(&self) -> Result<WorkspacePolicy, crate::assist::AssistError> {
        let exclusions = Exclusions::cached(&self.settings().exclude)?;
        Ok(WorkspacePolicy::new(self.folders(), exclusions))
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

    /// Opens (or reopens) a document, with a fresh syntax cache and a new
    /// generation; returns the text a reopen replaced, in bytes.
    pub(crate) fn open(&self, uri: Uri, document: Document) -> Option<usize> {
        let generation = self.next_generation.fetch_add(1, Ordering::Relaxed) + 1;
        let mut entry = OpenDocument {
            uri: uri.clone(),
            generation,
            document,
            syntax: Arc::default(),
            versions: VecDeque::new(),
        };
        entry.remember_version();
        let key = from_proto::document_key(&uri);
        let old = self.documents.insert(key.clone(), entry)?;
        // A refine continues an edit of the text this open replaced.
        self.conversations.drop_document(&key);
        // Hover explanations computed for the text this open replaced would
        // explain what the editor no longer shows.
        self.explain_cache.drop_owner(old.generation);
        Some(old.document.rope().len_bytes())
    }

    /// Closes a document, dropping its text, syntax cache and background
    /// hover explanations; returns how many bytes of text were freed.
    pub(crate) fn close(&self, uri: &Uri) -> Option<usize> {
        let (key, open) = self.documents.remove(&from_proto::document_key(uri))?;
        self.conversations.drop_document(&key);
        // Nobody will hover this text again: its background explanations
        // stop (dropping the model stream aborts the request).
        self.explain_cache.drop_owner(open.generation);
        Some(open.document.rope().len_bytes())
    }

    /// Runs `f` on an open document, with the map guard held only for `f`.
    pub(crate) fn with_document_mut<R>(
        &self,
        uri: &Uri,
        f: impl FnOnce(&mut Document) -> R,
    ) -> Option<R> {
        self.documents
            .get_mut(&from_proto::document_key(uri))
            .map(|mut d| {
                let result = f(&mut d.document);
                d.remember_version();
                result
            })
    }

    #[cfg(test)]
    pub(crate) fn with_document<R>(&self, uri: &Uri, f: impl FnOnce(&Document) -> R) -> Option<R> {
        self.documents
            .get(&from_proto::document_key(uri))
            .map(|d| f(&d.document))
    }

    /// Runs `f` on the open document `key` if it is still the same open
    /// (`generation`); `None` when it was closed or reopened since.
    pub(crate) fn with_generation<R>(
        &self,
        key: &DocumentKey,
        generation: u64,
        f: impl FnOnce(&Uri, &Document) -> R,
    ) -> Option<R> {
        self.documents
            .get(key)
            .filter(|d| d.generation == generation)
            .map(|d| f(&d.uri, &d.document))
    }

    /// The client's current version of an open document.
    pub(crate) fn version(&self, uri: &Uri) -> Option<i32> {
        self.documents
            .get(&from_proto::document_key(uri))
            .map(|d| d.document.version())
    }

    pub(crate) fn is_open(&self, uri: &Uri) -> bool {
        self.documents.contains_key(&from_proto::document_key(uri))
    }

    /// A snapshot of the open document at `key`, with its identity.
    pub(crate) fn open_snapshot(&self, key: &DocumentKey) -> Option<OpenSnapshot> {
        self.documents.get(key).map(|d| snapshot_of(key, &d))
    }

    /// A snapshot of the open document at `key` and a range in it: `range`
    /// gives the byte range on the text at client version `listed` (the
    /// version an action was listed at), mapped through the changes since
    /// onto the snapshot's text; on the current text when `listed` is
    /// `None` or current.
    pub(crate) fn snapshot_with_range(
        &self,
        key: &DocumentKey,
        listed: Option<i32>,
        range: impl Fn(&Rope) -> std::ops::Range<usize>,
    ) -> Option<(OpenSnapshot, Result<std::ops::Range<usize>, ListedRange>)> {
        let d = self.documents.get(key)?;
        let open = snapshot_of(key, &d);
        let current = d.document.version();
        let mapped = match listed {
            None => Ok(range(d.document.rope())),
            Some(v) if v == current => Ok(range(d.document.rope())),
            Some(v) => match d
                .versions
                .iter()
                .rev()
                .find(|(version, _, _)| *version == v)
            {
                None => Err(ListedRange::Forgotten),
                Some((_, revision, rope)) => {
                    let bytes = range(rope);
                    match d.document.changes_since(*revision) {
                        None => Err(ListedRange::Forgotten),
                        Some(changes) => {
                            let as_edit = [TextEdit {
                                range: bytes,
                                new_text: String::new(),
                            }];
                            match crate::assist::rebase(&as_edit, &changes) {
                                Ok(mut moved) => match moved.pop() {
                                    Some(edit) => Ok(edit.range),
                                    None => Err(ListedRange::Changed),
                                },
                                Err(_) => Err(ListedRange::Changed),
                            }
                        }
                    }
                }
            },
        };
        Some((open, mapped))
    }

    #[cfg(test)]
    pub(crate) fn open_count(&self) -> usize {
        self.documents.len()
    }

    /// Snapshots of all open files except `except`, by path.
    pub(crate) fn other_snapshots(&self, except: &DocumentKey) -> Vec<(PathBuf, Snapshot)> {
        self.documents
            .iter()
            .filter(|e| e.key() != except)
            .filter_map(|e| {
                let path = e.key().path()?.to_path_buf();
                Some((path, e.value().document.snapshot()))
            })
            .collect()
    }

    /// The last syntax tree parsed for an open document (see
    /// `assist::region::target_region_cached`).
    pub(crate) fn syntax_cache(&self, key: &DocumentKey) -> Option<Arc<SyntaxCache>> {
        self.documents.get(key).map(|d| Arc::clone(&d.syntax))
    }

    /// Whether the workspace policy keeps this document from the model (so
    /// no action is offered for it).
    pub(crate) fn is_excluded(&self, uri: &Uri) -> bool {
        match self.policy() {
            Ok(policy) => policy.excluded(&from_proto::document_path(uri)).is_some(),
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

    /// The semaphores bounding concurrent model calls, sized by
    /// `maxConcurrentRequests` (replaced when the setting changes; calls
    /// holding a permit of the old ones finish normally).
    pub(crate) fn model_permits(&self) -> ModelPermits {
        let wanted = self.settings().max_concurrent_requests as usize;
        match self.permits.lock() {
            Ok(mut guard) => {
                if guard.0 != wanted {
                    *guard = (wanted, ModelPermits::new(wanted));
                }
                guard.1.clone()
            }
            Err(_) => ModelPermits::new(wanted),
        }
    }

    /// Each document's last edit conversation (see [`Conversations`]).
    pub(crate) fn conversations(&self) -> &Conversations {
        &self.conversations
    }

    pub(crate) fn explain_cache(&self) -> &Arc<ExplainCache<ActionError>> {
        &self.explain_cache
    }

    /// Whether the notice `what` is due for the first time this session;
    /// marks it said.
    pub(crate) fn first_time(&self, what: &'static str) -> bool {
        self.said_once
            .lock()
            .map(|mut said| said.insert(what))
            .unwrap_or(false)
    }

    /// The edit mode for these settings: the configured one, unless the
    /// server rejected it earlier this session.
    pub(crate) fn edit_tool(&self, settings: &Settings) -> EditTool {
        let key = (settings.base_url.clone(), settings.model.clone());
        self.edit_tool_fallbacks
            .lock()
            .ok()
            .and_then(|f| f.get(&key).copied())
            .unwrap_or_else(|| settings.edit_tool())
    }

    /// Remembers that the server of these settings needs `mode`.
    pub(crate) fn fall_back_to(&self, settings: &Settings, mode: EditTool) {
        if let Ok(mut f) = self.edit_tool_fallbacks.lock() {
            f.insert((settings.base_url.clone(), settings.model.clone()), mode);
        }
    }
}

fn snapshot_of(key: &DocumentKey, d: &OpenDocument) -> OpenSnapshot {
    OpenSnapshot {
        uri: d.uri.clone(),
        key: key.clone(),
        generation: d.generation,
        snapshot: d.document.snapshot(),
    }
}
