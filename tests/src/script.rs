//! The scenario format of the fake Responses server: an ordered list of
//! rules; the first rule whose `match` occurs in the raw request body (and
//! whose `times` budget is not spent) decides the answer. JSON, camelCase,
//! documented in `tests/README.md`; editor tests in other languages write it.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// A whole scenario.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Script {
    /// Rules, tried in order.
    #[serde(default)]
    pub rules: Vec<Rule>,
}

impl Script {
    /// A script with the given rules.
    pub fn new(rules: Vec<Rule>) -> Self {
        Self { rules }
    }

    /// One rule answering every request with `reply`.
    pub fn reply(reply: impl Into<String>) -> Self {
        Self::new(vec![Rule::reply(reply)])
    }

    /// Parses a scenario; unknown keys are errors so typos do not pass silently.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Reads and parses a scenario file.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Self::from_json(&text).map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// One scripted answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rule {
    /// Free-form label, shown nowhere; for scenario authors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Substring that must occur in the raw (JSON-encoded) request body;
    /// absent matches every request.
    #[serde(default, rename = "match", skip_serializing_if = "Option::is_none")]
    pub matches: Option<String>,
    /// The model's answer text.
    #[serde(default)]
    pub reply: String,
    /// Text of an assistant message sent before the answer, as a separate
    /// output item (gpt-5.3-codex and later send such preambles).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preamble: Option<String>,
    /// Label the messages with `phase`, as gpt-5.3-codex and later do: the
    /// preamble `commentary`, the answer `final_answer`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub phases: bool,
    /// Wait before sending the response headers.
    #[serde(default)]
    pub delay_ms: u64,
    /// Hold the response (before its headers, after `delayMs`) until the
    /// gate of this name is released (`FakeResponses::release`, or
    /// `POST /__release` with the name as body): a model that answers
    /// exactly when the test says, so tests order events without timing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold_until: Option<String>,
    /// Characters per `response.output_text.delta` (0 = one delta).
    #[serde(default = "default_chunk_size")]
    pub chunk_size: usize,
    /// Wait between two deltas.
    #[serde(default)]
    pub chunk_delay_ms: u64,
    /// What goes wrong, if anything.
    #[serde(default)]
    pub fault: Option<Fault>,
    /// Seconds announced by `http429` (`retry-after` header, rounded up, and
    /// the "try again in" hint in the message).
    #[serde(default = "default_retry_after")]
    pub retry_after: f64,
    /// Use this rule at most this many times, then skip it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u32>,
    /// Error code for `errorEvent` / `responseFailed` (default `server_error`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// Error message for `errorEvent` / `responseFailed`, or of `http400`
    /// instead of its default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// Extra response headers; a `null` value removes a default header
    /// (e.g. `{"retry-after": null, "retry-after-ms": "200"}`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, Option<String>>,
    /// Tool calls the model makes, as output items after the answer
    /// message (no message when `reply` is empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub calls: Vec<ScriptedCall>,
    /// A reasoning item first, with this summary; it carries
    /// `encrypted_content` when the request asks for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<String>,
    /// Only for the request of this turn of an action: the number of tool
    /// rounds in its input (runs of tool outputs, one per answered
    /// response), plus one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn: Option<usize>,
}

/// One tool call the fake model makes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScriptedCall {
    /// `function`, `custom` or `applyPatch`.
    #[serde(rename = "type")]
    pub kind: CallKind,
    /// The tool's name.
    pub name: String,
    /// A function's JSON arguments, a custom tool's input, or the JSON
    /// `operation` of an `apply_patch_call`.
    pub input: String,
}

/// The kinds of tool calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum CallKind {
    /// A `function_call` item.
    Function,
    /// A `custom_tool_call` item.
    Custom,
    /// An `apply_patch_call` item of the built-in tool.
    ApplyPatch,
}

fn default_chunk_size() -> usize {
    16
}

fn default_retry_after() -> f64 {
    1.0
}

impl Default for Rule {
    fn default() -> Self {
        Self {
            name: None,
            matches: None,
            reply: String::new(),
            preamble: None,
            phases: false,
            delay_ms: 0,
            hold_until: None,
            chunk_size: default_chunk_size(),
            chunk_delay_ms: 0,
            fault: None,
            retry_after: default_retry_after(),
            times: None,
            error_code: None,
            error_message: None,
            headers: BTreeMap::new(),
            calls: Vec::new(),
            reasoning: None,
            turn: None,
        }
    }
}

impl Rule {
    /// A successful streamed answer.
    pub fn reply(reply: impl Into<String>) -> Self {
        Self {
            reply: reply.into(),
            ..Self::default()
        }
    }

    /// A failure mode (with an empty reply unless set later).
    pub fn fault(fault: Fault) -> Self {
        Self {
            fault: Some(fault),
            ..Self::default()
        }
    }

    /// Adds a failure mode to a rule that keeps its reply (for `incomplete`,
    /// `cutMidStream`, `malformedJson`).
    pub fn with_fault(mut self, fault: Fault) -> Self {
        self.fault = Some(fault);
        self
    }

    /// Sends `text` as an earlier assistant message; with `phases` both
    /// messages carry `phase` (`commentary`, then `final_answer`).
    pub fn preamble(mut self, text: impl Into<String>, phases: bool) -> Self {
        self.preamble = Some(text.into());
        self.phases = phases;
        self
    }

    /// Only for requests whose body contains `needle`.
    pub fn matching(mut self, needle: impl Into<String>) -> Self {
        self.matches = Some(needle.into());
        self
    }

    /// At most `n` uses.
    pub fn times(mut self, n: u32) -> Self {
        self.times = Some(n);
        self
    }

    /// Delta size and pacing.
    pub fn chunks(mut self, chunk_size: usize, chunk_delay_ms: u64) -> Self {
        self.chunk_size = chunk_size;
        self.chunk_delay_ms = chunk_delay_ms;
        self
    }

    /// Wait before the headers.
    pub fn delay_ms(mut self, ms: u64) -> Self {
        self.delay_ms = ms;
        self
    }

    /// Holds the response until the gate `gate` is released (see
    /// [`Rule::hold_until`](Rule#structfield.hold_until)).
    pub fn held_until(mut self, gate: impl Into<String>) -> Self {
        self.hold_until = Some(gate.into());
        self
    }

    /// Sets (or with `None` removes) a response header.
    pub fn header(mut self, name: &str, value: Option<&str>) -> Self {
        self.headers
            .insert(name.to_ascii_lowercase(), value.map(str::to_owned));
        self
    }

    /// Error code for `errorEvent` / `responseFailed`.
    pub fn error_code(mut self, code: impl Into<String>) -> Self {
        self.error_code = Some(code.into());
        self
    }

    /// Error message for `errorEvent` / `responseFailed` / `http400`.
    pub fn error_message(mut self, message: impl Into<String>) -> Self {
        self.error_message = Some(message.into());
        self
    }

    /// A rule that answers with one function call.
    pub fn function_call(name: &str, arguments: serde_json::Value) -> Self {
        Self::default().call(CallKind::Function, name, &arguments.to_string())
    }

    /// A rule that answers with one custom tool call (e.g. `apply_patch`).
    pub fn custom_call(name: &str, input: &str) -> Self {
        Self::default().call(CallKind::Custom, name, input)
    }

    /// A rule that answers with one `apply_patch_call` of the built-in
    /// tool; `operation` is `{"type": "update_file", "path", "diff"}` or
    /// another of its operations.
    pub fn apply_patch_call(operation: serde_json::Value) -> Self {
        Self::default().call(CallKind::ApplyPatch, "apply_patch", &operation.to_string())
    }

    /// Adds a tool call.
    pub fn call(mut self, kind: CallKind, name: &str, input: &str) -> Self {
        self.calls.push(ScriptedCall {
            kind,
            name: name.to_owned(),
            input: input.to_owned(),
        });
        self
    }

    /// Only for turn `n` of an action (1 = its first request).
    pub fn turn(mut self, n: usize) -> Self {
        self.turn = Some(n);
        self
    }

    /// Starts the output with a reasoning item.
    pub fn reasoning(mut self, summary: impl Into<String>) -> Self {
        self.reasoning = Some(summary.into());
        self
    }
}

/// Failure modes, each mirroring what the real API does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Fault {
    /// HTTP 429 `rate_limit_exceeded`, `retry-after` and `x-ratelimit-*` headers.
    Http429,
    /// HTTP 500 `server_error`.
    Http500,
    /// HTTP 400 `invalid_request_error`.
    Http400,
    /// HTTP 401 `invalid_api_key`.
    Http401,
    /// HTTP 400 `context_length_exceeded`.
    ContextLengthExceeded,
    /// HTTP 429 `insufficient_quota` (not retryable).
    InsufficientQuota,
    /// A frame whose data is not JSON, after the first delta.
    MalformedJson,
    /// Some deltas, then the connection is cut without `response.completed`.
    CutMidStream,
    /// A nested `error` event, then the stream closes.
    ErrorEvent,
    /// `response.failed` with an error code.
    ResponseFailed,
    /// Part of the answer, then `response.incomplete` (`max_output_tokens`).
    Incomplete,
    /// Headers sent, then silence forever.
    Hang,
}
