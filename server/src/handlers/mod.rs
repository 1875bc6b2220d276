//! Request and notification handlers: the only code that combines protocol
//! types, the session, the assist core and the model client.

pub mod lifecycle;
pub mod text_sync;
