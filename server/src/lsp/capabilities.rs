//! What the server advertises at initialize, and what it reads out of the
//! client's capabilities.

use tower_lsp_server::ls_types::{
    ClientCapabilities, ClientInfo, CodeActionKind, CodeActionOptions,
    CodeActionProviderCapability, ExecuteCommandOptions, HoverProviderCapability, MarkupKind,
    OneOf, ResourceOperationKind, ServerCapabilities, TextDocumentSyncCapability,
    TextDocumentSyncKind, TextDocumentSyncOptions, WorkDoneProgressOptions,
    WorkspaceFoldersServerCapabilities, WorkspaceServerCapabilities,
};

use super::{ext, to_proto};
use crate::state::{ClientFeatures, KnownClient};
use crate::text::PositionEncoding;

/// The server's capabilities for a negotiated position encoding.
pub(crate) fn server_capabilities(encoding: PositionEncoding) -> ServerCapabilities {
    ServerCapabilities {
        position_encoding: Some(to_proto::encoding_kind(encoding)),
        text_document_sync: Some(TextDocumentSyncCapability::Options(
            TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(TextDocumentSyncKind::INCREMENTAL),
                ..TextDocumentSyncOptions::default()
            },
        )),
        code_action_provider: Some(CodeActionProviderCapability::Options(CodeActionOptions {
            code_action_kinds: Some(vec![
                CodeActionKind::QUICKFIX,
                CodeActionKind::REFACTOR_REWRITE,
                CodeActionKind::new(ext::QUICKFIX_KIND),
                CodeActionKind::new(ext::REFACTOR_KIND_PREFIX),
                CodeActionKind::new(ext::EXPLAIN_KIND),
            ]),
            resolve_provider: Some(true),
            work_done_progress_options: WorkDoneProgressOptions::default(),
        })),
        execute_command_provider: Some(ExecuteCommandOptions {
            commands: ext::COMMANDS.iter().map(|c| (*c).to_owned()).collect(),
            work_done_progress_options: WorkDoneProgressOptions::default(),
        }),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        // Every folder counts (multi-root), and changes are followed.
        workspace: Some(WorkspaceServerCapabilities {
            workspace_folders: Some(WorkspaceFoldersServerCapabilities {
                supported: Some(true),
                change_notifications: Some(OneOf::Left(true)),
            }),
            file_operations: None,
        }),
        ..ServerCapabilities::default()
    }
}

/// Reduces the client's capabilities (and name) to the questions the
/// server asks.
pub(crate) fn client_features(
    caps: &ClientCapabilities,
    client_info: Option<&ClientInfo>,
) -> ClientFeatures {
    let text = caps.text_document.as_ref();
    let code_action = text.and_then(|t| t.code_action.as_ref());
    let workspace = caps.workspace.as_ref();
    let ws_edit = workspace.and_then(|w| w.workspace_edit.as_ref());
    let window = caps.window.as_ref();
    ClientFeatures {
        code_action_resolve_edit: code_action
            .and_then(|c| c.resolve_support.as_ref())
            .is_some_and(|r| r.properties.iter().any(|p| p == "edit")),
        code_action_literals: code_action.is_some_and(|c| c.code_action_literal_support.is_some()),
        code_action_disabled: code_action.and_then(|c| c.disabled_support) == Some(true),
        document_changes: ws_edit.and_then(|e| e.document_changes).unwrap_or(false),
        create_files: ws_edit
            .and_then(|e| e.resource_operations.as_ref())
            .is_some_and(|ops| ops.contains(&ResourceOperationKind::Create)),
        apply_edit: workspace.and_then(|w| w.apply_edit).unwrap_or(false),
        configuration: workspace.and_then(|w| w.configuration).unwrap_or(false),
        did_change_configuration_dynamic: workspace
            .and_then(|w| w.did_change_configuration.as_ref())
            .and_then(|d| d.dynamic_registration)
            .unwrap_or(false),
        work_done_progress: window.and_then(|w| w.work_done_progress).unwrap_or(false),
        show_document: window
            .and_then(|w| w.show_document.as_ref())
            .is_some_and(|s| s.support),
        hover_markdown: text
            .and_then(|t| t.hover.as_ref())
            .and_then(|h| h.content_format.as_ref())
            .is_none_or(|formats| formats.contains(&MarkupKind::Markdown)),
        change_annotations: ws_edit.is_some_and(|e| {
            e.change_annotation_support.is_some() && e.document_changes.unwrap_or(false)
        }),
        client: client_info.map_or(KnownClient::Other, |info| {
            KnownClient::from_name(&info.name)
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_are_known_by_the_names_they_send() {
        let named = |name: &str| {
            let info = ClientInfo {
                name: name.to_owned(),
                version: None,
            };
            client_features(&ClientCapabilities::default(), Some(&info)).client
        };
        assert_eq!(named("helix"), KnownClient::Helix);
        assert_eq!(named("Visual Studio Code"), KnownClient::VsCode);
        assert_eq!(named("code-server"), KnownClient::VsCode);
        assert_eq!(named("Neovim"), KnownClient::Neovim);
        assert_eq!(named("Eglot"), KnownClient::Emacs);
        assert_eq!(named("Zed"), KnownClient::Zed);
        assert_eq!(named("helix-fork"), KnownClient::Other);
        let unnamed = client_features(&ClientCapabilities::default(), None);
        assert_eq!(unnamed.client, KnownClient::Other);
    }
}
