//! Shared server state: open documents, what was negotiated with the client,
//! and the settings in force.
//!
//! Locks here are short and never held across an `.await`: documents sit in a
//! `DashMap` whose guards are dropped before any await, and settings are an
//! `Arc` swapped under a `RwLock` and cloned out.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use dashmap::DashMap;
use ls_types::Uri;
use tower_lsp_server::ls_types;

use crate::config::Settings;
use crate::document::{Document, Snapshot};
use crate::text::PositionEncoding;

/// What the client told us it can do, reduced to the questions we ask.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientFeatures {
    /// `textDocument.codeAction.resolveSupport` includes `edit`.
    pub code_action_resolve_edit: bool,
    /// `textDocument.codeAction.codeActionLiteralSupport` is present.
    pub code_action_literals: bool,
    /// The client sent `textDocument.codeAction.tagSupport` (LSP 3.18).
    pub code_action_tags: bool,
    /// `workspace.workspaceEdit.documentChanges`.
    pub document_changes: bool,
    /// `workspace.workspaceEdit.resourceOperations` includes `create`.
    pub create_files: bool,
    /// `workspace.applyEdit`.
    pub apply_edit: bool,
    /// `workspace.configuration`.
    pub configuration: bool,
    /// `workspace.didChangeConfiguration.dynamicRegistration`.
    pub did_change_configuration_dynamic: bool,
    /// `window.workDoneProgress`.
    pub work_done_progress: bool,
    /// `window.showDocument.support`.
    pub show_document: bool,
    /// Hover content formats include Markdown.
    pub hover_markdown: bool,
}

/// The state every handler shares.
#[derive(Debug)]
pub struct Session {
    documents: DashMap<Uri, Document>,
    encoding: RwLock<PositionEncoding>,
    features: RwLock<ClientFeatures>,
    settings: RwLock<Arc<Settings>>,
    workspace_root: RwLock<Option<PathBuf>>,
}

impl Default for Session {
    fn default() -> Self {
        Self::new()
    }
}

impl Session {
    /// An empty session with default settings.
    pub fn new() -> Self {
        Self {
            documents: DashMap::new(),
            encoding: RwLock::new(PositionEncoding::Utf16),
            features: RwLock::new(ClientFeatures::default()),
            settings: RwLock::new(Arc::new(Settings::default())),
            workspace_root: RwLock::new(None),
        }
    }

    /// The negotiated position encoding.
    pub fn encoding(&self) -> PositionEncoding {
        self.encoding.read().map(|g| *g).unwrap_or_default()
    }

    /// Records the negotiated position encoding.
    pub fn set_encoding(&self, encoding: PositionEncoding) {
        if let Ok(mut g) = self.encoding.write() {
            *g = encoding;
        }
    }

    /// The client's features.
    pub fn features(&self) -> ClientFeatures {
        self.features.read().map(|g| g.clone()).unwrap_or_default()
    }

    /// Records the client's features.
    pub fn set_features(&self, features: ClientFeatures) {
        if let Ok(mut g) = self.features.write() {
            *g = features;
        }
    }

    /// The settings in force (a cheap `Arc` clone).
    pub fn settings(&self) -> Arc<Settings> {
        self.settings
            .read()
            .map(|g| Arc::clone(&g))
            .unwrap_or_else(|_| Arc::new(Settings::default()))
    }

    /// Replaces the settings in force.
    pub fn set_settings(&self, settings: Settings) {
        if let Ok(mut g) = self.settings.write() {
            *g = Arc::new(settings);
        }
    }

    /// The workspace root folder, when the client named one.
    pub fn workspace_root(&self) -> Option<PathBuf> {
        self.workspace_root.read().ok().and_then(|g| g.clone())
    }

    /// Records the workspace root folder.
    pub fn set_workspace_root(&self, root: Option<PathBuf>) {
        if let Ok(mut g) = self.workspace_root.write() {
            *g = root;
        }
    }

    /// Opens (or reopens) a document.
    pub fn open(&self, uri: Uri, document: Document) {
        self.documents.insert(uri, document);
    }

    /// Closes a document and frees its text.
    pub fn close(&self, uri: &Uri) -> Option<usize> {
        let (_, document) = self.documents.remove(uri)?;
        Some(document.rope().len_bytes())
    }

    /// Runs `f` on an open document, with the map guard held only for `f`.
    pub fn with_document_mut<R>(&self, uri: &Uri, f: impl FnOnce(&mut Document) -> R) -> Option<R> {
        self.documents.get_mut(uri).map(|mut d| f(&mut d))
    }

    /// Runs `f` on an open document, read-only.
    pub fn with_document<R>(&self, uri: &Uri, f: impl FnOnce(&Document) -> R) -> Option<R> {
        self.documents.get(uri).map(|d| f(&d))
    }

    /// A snapshot of an open document.
    pub fn snapshot(&self, uri: &Uri) -> Option<Snapshot> {
        self.with_document(uri, Document::snapshot)
    }

    /// Snapshots of all open documents except `except`.
    pub fn other_snapshots(&self, except: &Uri) -> Vec<(Uri, Snapshot)> {
        self.documents
            .iter()
            .filter(|e| e.key() != except)
            .map(|e| (e.key().clone(), e.value().snapshot()))
            .collect()
    }

    /// How many documents are open.
    pub fn open_count(&self) -> usize {
        self.documents.len()
    }
}
