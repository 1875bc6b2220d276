//! `initialize`, `initialized`, `shutdown` and settings updates.

use std::path::PathBuf;

use serde_json::Value;
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{
    ConfigurationItem, DidChangeConfigurationParams, DidChangeWorkspaceFoldersParams,
    InitializeParams, InitializeResult, MessageType, Registration, ServerInfo,
};

use crate::config::{Settings, SettingsError};
use crate::lsp::{capabilities, from_proto};
use crate::state::State;

/// Negotiates encoding and features, reads `initializationOptions`.
pub(crate) fn initialize(state: &State, params: InitializeParams) -> Result<InitializeResult> {
    let encoding = from_proto::negotiate_encoding(&params.capabilities);
    state.set_encoding(encoding);
    let features = capabilities::client_features(&params.capabilities, params.client_info.as_ref());
    // What this client sent and what the server made of it, so a log
    // answers "why does it behave so in this editor".
    let (client, client_version) =
        params
            .client_info
            .as_ref()
            .map_or(("(none)", "(none)"), |info| {
                (
                    info.name.as_str(),
                    info.version.as_deref().unwrap_or("(none)"),
                )
            });
    tracing::info!(client, client_version, ?features, "client");
    state.set_features(features);
    state.set_folders(from_proto::workspace_folders(&params));
    if let Some(options) = &params.initialization_options {
        state.set_initialization_options(options.clone());
        let (settings, errors) = Settings::from_layers_keeping(&[options], &Settings::default());
        state.set_settings(settings);
        if let Some(message) = settings_problems(&errors, "its default") {
            tracing::warn!(%message, "initializationOptions with invalid values");
            state.defer_message(message);
        }
    }
    tracing::info!(?encoding, folders = ?state.folders(), "initialized");
    Ok(InitializeResult {
        capabilities: capabilities::server_capabilities(encoding),
        server_info: Some(ServerInfo {
            name: "codex-lsp".to_owned(),
            version: Some(env!("CARGO_PKG_VERSION").to_owned()),
        }),
        offset_encoding: None,
    })
}

/// `shutdown`: removes what the session left in the temporary directory
/// (explanation views).
pub(crate) fn shutdown() -> Result<()> {
    super::command::remove_explanation_views();
    Ok(())
}

/// Shows deferred messages and starts pulling configuration. Requests to the
/// client are spawned, never awaited inside this notification handler.
pub(crate) async fn initialized(state: &State) {
    for message in state.take_deferred_messages() {
        state.client.show_message(MessageType::ERROR, message).await;
    }
    let features = state.features();
    if features.did_change_configuration_dynamic {
        let client = state.client.clone();
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
        spawn_pull_configuration(state);
    }
}

/// `workspace/didChangeWorkspaceFolders`: folders added and removed (VS
/// Code's "Add Folder to Workspace", Neovim's `:lua
/// vim.lsp.buf.add_workspace_folder()`).
pub(crate) fn did_change_workspace_folders(state: &State, params: DidChangeWorkspaceFoldersParams) {
    let removed: Vec<PathBuf> = params
        .event
        .removed
        .iter()
        .filter_map(|f| from_proto::file_path(&f.uri))
        .collect();
    let mut folders: Vec<PathBuf> = state
        .folders()
        .into_iter()
        .filter(|f| !removed.contains(f))
        .collect();
    for added in params
        .event
        .added
        .iter()
        .filter_map(|f| from_proto::file_path(&f.uri))
    {
        if !folders.contains(&added) {
            folders.push(added);
        }
    }
    tracing::info!(?folders, "workspace folders changed");
    state.set_folders(folders);
}

/// Applies pushed settings, or pulls them when the client supports
/// `workspace/configuration` (the pushed value may then be empty).
pub(crate) async fn did_change_configuration(state: &State, params: DidChangeConfigurationParams) {
    if state.features().configuration {
        spawn_pull_configuration(state);
    } else {
        apply_settings(state, &params.settings).await;
    }
}

fn spawn_pull_configuration(state: &State) {
    let state = state.clone();
    tokio::spawn(async move {
        let item = ConfigurationItem {
            scope_uri: None,
            section: Some("codex".to_owned()),
        };
        match state.client.configuration(vec![item]).await {
            Ok(values) => {
                if let Some(value) = values.into_iter().next() {
                    apply_settings(&state, &value).await;
                }
            }
            Err(err) => tracing::warn!(%err, "workspace/configuration failed"),
        }
    });
}

/// Validates and applies settings, layered over `initializationOptions` (so
/// a client answering `null` for an unconfigured section keeps them); a bad
/// value keeps its previous value, the others apply, and one message names
/// every bad value.
async fn apply_settings(state: &State, value: &Value) {
    let init = state.initialization_options();
    let (settings, errors) = Settings::from_layers_keeping(&[&init, value], &state.settings());
    tracing::info!("settings updated");
    state.set_settings(settings);
    if let Some(message) = settings_problems(&errors, "its previous value") {
        tracing::warn!(%message, "settings with invalid values");
        state.client.show_message(MessageType::ERROR, message).await;
    }
}

/// One message for every invalid value, saying what each keeps instead.
fn settings_problems(errors: &[SettingsError], kept: &str) -> Option<String> {
    match errors {
        [] => None,
        [one] => Some(format!("{one}. It keeps {kept}; the other settings apply.")),
        many => Some(format!(
            "{}. Each keeps {kept}; the other settings apply.",
            many.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        )),
    }
}
