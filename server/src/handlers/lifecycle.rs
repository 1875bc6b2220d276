//! `initialize`, `initialized`, `shutdown` and settings updates.

use serde_json::Value;
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{
    ConfigurationItem, DidChangeConfigurationParams, InitializeParams, InitializeResult,
    MessageType, Registration, ServerInfo,
};

use crate::config::Settings;
use crate::lsp::{capabilities, from_proto};
use crate::server::Backend;

/// Negotiates encoding and features, reads `initializationOptions`.
pub fn initialize(backend: &Backend, params: InitializeParams) -> Result<InitializeResult> {
    let session = &backend.session;
    let encoding = from_proto::negotiate_encoding(&params.capabilities);
    session.set_encoding(encoding);
    let mut features = capabilities::client_features(&params.capabilities);
    features.code_action_tags = backend.ai_tags_supported();
    session.set_features(features);
    session.set_workspace_root(from_proto::workspace_root(&params));
    if let Some(options) = &params.initialization_options {
        backend.set_initialization_options(options.clone());
        match Settings::from_json(options) {
            Ok(settings) => session.set_settings(settings),
            Err(err) => {
                tracing::warn!(%err, "rejected initializationOptions");
                backend.defer_message(err.to_string());
            }
        }
    }
    tracing::info!(?encoding, root = ?session.workspace_root(), "initialized");
    Ok(InitializeResult {
        capabilities: capabilities::server_capabilities(encoding),
        server_info: Some(ServerInfo {
            name: "codex-lsp".to_owned(),
            version: Some(env!("CARGO_PKG_VERSION").to_owned()),
        }),
        offset_encoding: None,
    })
}

/// Shows deferred messages and starts pulling configuration. Requests to the
/// client are spawned, never awaited inside this notification handler.
pub async fn initialized(backend: &Backend) {
    for message in backend.take_deferred_messages() {
        backend
            .client
            .show_message(MessageType::ERROR, message)
            .await;
    }
    let features = backend.session.features();
    if features.did_change_configuration_dynamic {
        let client = backend.client.clone();
        tokio::spawn(async move {
            let registration = Registration {
                id: "codex-configuration".to_owned(),
                method: "workspace/didChangeConfiguration".to_owned(),
                register_options: None,
            };
            if let Err(err) = client.register_capability(vec![registration]).await {
                tracing::debug!(%err, "client refused didChangeConfiguration registration");
            }
        });
    }
    if features.configuration {
        spawn_pull_configuration(backend);
    }
}

/// Applies pushed settings, or pulls them when the client supports
/// `workspace/configuration` (the pushed value may then be empty).
pub async fn did_change_configuration(backend: &Backend, params: DidChangeConfigurationParams) {
    if backend.session.features().configuration {
        spawn_pull_configuration(backend);
    } else {
        apply_settings(backend, &params.settings).await;
    }
}

fn spawn_pull_configuration(backend: &Backend) {
    let backend = backend.clone();
    tokio::spawn(async move {
        let item = ConfigurationItem {
            scope_uri: None,
            section: Some("codex".to_owned()),
        };
        match backend.client.configuration(vec![item]).await {
            Ok(values) => {
                if let Some(value) = values.into_iter().next() {
                    apply_settings(&backend, &value).await;
                }
            }
            Err(err) => tracing::warn!(%err, "workspace/configuration failed"),
        }
    });
}

/// Validates and applies settings, layered over `initializationOptions` (so
/// a client answering `null` for an unconfigured section keeps them); a bad
/// value keeps the previous settings and produces one message naming it.
pub async fn apply_settings(backend: &Backend, value: &Value) {
    let init = backend.initialization_options();
    match Settings::from_layers(&[&init, value]) {
        Ok(settings) => {
            tracing::info!("settings updated");
            backend.session.set_settings(settings);
            backend.settings_changed();
        }
        Err(err) => {
            tracing::warn!(%err, "rejected settings; keeping the previous ones");
            backend
                .client
                .show_message(
                    MessageType::ERROR,
                    format!("{err}. The previous settings stay in force."),
                )
                .await;
        }
    }
}
