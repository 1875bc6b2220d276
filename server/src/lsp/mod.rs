//! The protocol edge: the only place that knows LSP types.
//!
//! Handlers convert incoming `ls_types` values with [`from_proto`] into the
//! core's byte offsets and settings, and convert results back with
//! [`to_proto`]. [`capabilities`] says what we advertise and [`ext`] names our
//! commands, action kinds and notifications.

pub mod ai_tag;
pub mod capabilities;
pub mod ext;
pub mod from_proto;
pub mod to_proto;
