//! The protocol edge: the only place that knows LSP types.
//!
//! Handlers convert incoming `ls_types` values with [`from_proto`] into the
//! core's byte offsets and settings, and convert results back with
//! [`to_proto`]. [`capabilities`] says what we advertise and [`ext`] is the whole
//! wire contract beyond plain LSP (commands, their arguments and results,
//! action kinds, the status notification). [`ai_tag`] adds the LSP 3.18 AI
//! tag to raw responses. [`transport`] keeps hostile
//! input from stopping the JSON-RPC loop.

pub(crate) mod ai_tag;
pub(crate) mod capabilities;
pub(crate) mod ext;
pub(crate) mod from_proto;
pub(crate) mod to_proto;
pub(crate) mod transport;
