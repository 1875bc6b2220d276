//! Request and notification handlers: the only code that combines protocol
//! types, the shared state, the assist core and the model client. Each takes
//! the [`State`](crate::state::State); none knows the dispatch in `server`.
//!
//! Lower layer, shared by several handlers: [`model_call`] (snapshot →
//! prompt → model reply), [`conversation`] (the edit loop: tools, patch,
//! repair), [`patch_edit`] (patch → rebased `WorkspaceEdit`), [`edit`] (the
//! edit pipeline, also of [`refine`]) and [`explain`] (cached
//! explanations).

pub(crate) mod code_action;
pub(crate) mod command;
pub(crate) mod confirm;
pub(crate) mod conversation;
pub(crate) mod edit;
pub(crate) mod explain;
pub(crate) mod hover;
pub(crate) mod lifecycle;
pub(crate) mod model_call;
pub(crate) mod patch_edit;
pub(crate) mod progress;
pub(crate) mod refine;
pub(crate) mod text_sync;
