//! Request and notification handlers: the only code that combines protocol
//! types, the session, the assist core and the model client.

pub mod actions;
pub mod code_action;
pub mod command;
pub mod explain;
pub mod hover;
pub mod lifecycle;
pub mod progress;
pub mod text_sync;
