//! The Responses API client: the one path to the model.
//!
//! `POST {baseUrl}/responses` with a typed [`ResponsesRequest`], streamed over
//! server-sent events, retried with backoff where that can help, bounded by an
//! idle and an overall timeout, and aborted by dropping the future. Only this
//! module speaks HTTP; it knows nothing about LSP or the assist core.
//!
//! Files: `request` (what is sent), `events` (lenient reading of what comes
//! back), `endpoint` (where and how to authenticate, limits), `retry`
//! (timing), `error` (typed failures), `client` (the HTTP loop).

mod client;
mod endpoint;
mod error;
mod events;
mod request;
mod retry;

pub use client::{ModelClient, Progress};
pub use endpoint::{ApiKey, Auth, CallPolicy, Endpoint};
pub use error::ModelError;
pub use events::{ModelReply, ToolCall, Usage, read_sse_chunks};
pub use request::{
    ApplyPatchStatus, ContentPart, CustomFormat, InputItem, Reasoning, ResponsesRequest, Role,
    TextConfig, TextFormat, Tool, ToolChoice, ToolChoiceMode, ToolKind, effort_wire_str,
};
