//! Lenient reading of what the server sends: stream events (keyed on the JSON
//! `type`, unknown types ignored), the final `Response` object, usage and
//! error bodies, in both OpenAI's real (nested) and the spec's (flat) shapes.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::ModelError;
use super::retry::retry_after_from_message;

/// Token counts of one call, for logs and for the editor's status display.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    /// Prompt tokens, cached ones included.
    pub input_tokens: u64,
    /// Prompt tokens served from the prompt cache (cheaper, faster).
    pub cached_tokens: u64,
    /// Generated tokens, reasoning included.
    pub output_tokens: u64,
    /// Of the output, tokens spent on hidden reasoning.
    pub reasoning_tokens: u64,
    /// Of the input, tokens written to the prompt cache
    /// (`input_tokens_details.cache_write_tokens`; zero when not sent).
    pub cache_write_tokens: u64,
}

/// The outcome of a successful call.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelReply {
    /// The model's answer text.
    pub text: String,
    /// Token usage (zero when the server reported none).
    pub usage: Usage,
    /// The server's response id (`resp_…`), for support requests and logs.
    pub response_id: String,
    /// The response's output items as they came, without their `id`s (a
    /// request with `store: false` cannot refer to stored items): replayed
    /// in order at the end of the next request's input, they make it extend
    /// this one's (reasoning with its `encrypted_content`, tool calls,
    /// messages).
    pub output: Vec<Value>,
    /// The tool calls among [`ModelReply::output`], in order.
    pub calls: Vec<ToolCall>,
}

/// A tool call the model made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolCall {
    /// `function` or `custom`.
    pub kind: super::ToolKind,
    /// Pairs the call with its output in the next request.
    pub call_id: String,
    /// The tool's name.
    pub name: String,
    /// A function's JSON `arguments`, a custom tool's `input`, or the
    /// JSON `operation` of an `apply_patch_call`.
    pub input: String,
}

impl ToolCall {
    /// The call in an output item, if it is one.
    fn from_item(item: &Value) -> Option<Self> {
        let text = |k: &str| item.get(k).and_then(Value::as_str).map(str::to_owned);
        let (kind, input) = match item.get("type").and_then(Value::as_str)? {
            "function_call" => (super::ToolKind::Function, text("arguments")),
            "custom_tool_call" => (super::ToolKind::Custom, text("input")),
            "apply_patch_call" => (
                super::ToolKind::ApplyPatch,
                item.get("operation").map(Value::to_string),
            ),
            _ => return None,
        };
        let name = match kind {
            super::ToolKind::ApplyPatch => "apply_patch".to_owned(),
            _ => text("name")?,
        };
        Some(Self {
            kind,
            call_id: text("call_id")?,
            name,
            input: input.unwrap_or_default(),
        })
    }
}

/// An output item as it is replayed in the next request's input, in the
/// shape OpenAI's Codex client sends: without `id` (nothing is stored under
/// `store: false`) or `status`, messages with only their text parts
/// (annotations and log-probabilities are output-only), reasoning with its
/// summary and `encrypted_content`.
fn replayable(item: &Value) -> Value {
    let kind = item.get("type").and_then(Value::as_str).unwrap_or("");
    let keep: &[&str] = match kind {
        "message" => &["type", "role", "content", "phase"],
        "reasoning" => &["type", "summary", "encrypted_content"],
        "function_call" => &["type", "call_id", "name", "arguments"],
        "custom_tool_call" => &["type", "call_id", "name", "input"],
        "apply_patch_call" => &["type", "call_id", "status", "operation"],
        _ => &[],
    };
    let mut item = item.clone();
    let Some(fields) = item.as_object_mut() else {
        return item;
    };
    if keep.is_empty() {
        fields.remove("id");
        return item;
    }
    fields.retain(|k, _| keep.contains(&k.as_str()));
    if let Some(parts) = fields.get_mut("content").and_then(Value::as_array_mut) {
        for part in parts.iter_mut().filter_map(Value::as_object_mut) {
            part.retain(|k, _| k == "type" || k == "text" || k == "refusal");
        }
    }
    item
}

/// A token count as sent: an integer, or what compatible servers write
/// instead (an integral float such as `10.0`, a numeric string). Anything
/// else (fractions, negatives, other types) counts as absent.
fn token_count(value: Option<&Value>) -> Option<u64> {
    match value? {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite() && *f >= 0.0 && f.fract() == 0.0 && *f <= 2f64.powi(53))
                .map(|f| f as u64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// `usage` as sent, read field by field: usage only informs logs and the
/// status display, so an odd or missing number must never fail a reply whose
/// text arrived. Missing or unreadable counts are zero.
fn usage_from_value(usage: &Value) -> Usage {
    let count = |pointer: &str| token_count(usage.pointer(pointer)).unwrap_or(0);
    Usage {
        input_tokens: count("/input_tokens"),
        cached_tokens: count("/input_tokens_details/cached_tokens"),
        output_tokens: count("/output_tokens"),
        reasoning_tokens: count("/output_tokens_details/reasoning_tokens"),
        cache_write_tokens: count("/input_tokens_details/cache_write_tokens"),
    }
}

/// An error object: `{code, message, type, param}`, `code` a string or number.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct WireError {
    #[serde(default)]
    code: Option<Value>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
}

impl WireError {
    fn code(&self) -> Option<String> {
        match &self.code {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        }
    }

    /// The error code, falling back to the error type (quota errors sometimes
    /// carry the meaning only in `type`).
    pub(crate) fn code_or_type(&self) -> Option<String> {
        self.code()
            .or_else(|| self.kind.clone().filter(|k| !k.is_empty()))
    }

    pub(crate) fn message(&self) -> String {
        self.message.clone().unwrap_or_default()
    }
}

/// `incomplete_details`.
#[derive(Debug, Default, Deserialize)]
struct WireIncomplete {
    reason: Option<String>,
}

/// The `Response` object (terminal events and non-streaming bodies). Every
/// field is read on its own and a field of an unexpected shape counts as
/// absent (see [`lenient`]): a compatible server's odd `id` or `usage` must
/// not throw away an answer that arrived.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct WireResponse {
    #[serde(default, deserialize_with = "lenient")]
    id: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    status: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    output: Option<Vec<Value>>,
    /// Kept raw and read leniently ([`usage_from_value`]).
    #[serde(default)]
    usage: Option<Value>,
    #[serde(default, deserialize_with = "lenient")]
    error: Option<WireError>,
    #[serde(default, deserialize_with = "lenient")]
    incomplete_details: Option<WireIncomplete>,
}

/// Deserialises a field as `T`, or `None` when it has another shape.
fn lenient<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let value = Value::deserialize(deserializer)?;
    Ok(serde_json::from_value(value).ok())
}

/// The texts found in a response's `output` items.
#[derive(Debug, Default)]
struct OutputTexts {
    /// One entry per message item that has `output_text` parts.
    messages: Vec<MessageText>,
    refusal: String,
}

/// The text of one assistant message item and its `phase`, if labelled.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct MessageText {
    phase: Option<String>,
    text: String,
}

/// The answer among a response's messages. gpt-5.3-codex and later send a
/// preamble labelled `phase: "commentary"` before the answer, labelled
/// `final_answer`: glued together, a sentence ends up before
/// `*** Begin Patch` on the same line and hovers show the preamble. So the
/// `final_answer` messages are the answer when there are any; otherwise every
/// message that is not commentary (all of them if that leaves none), one
/// after the other on separate lines.
fn select_answer(messages: &[MessageText]) -> String {
    let phase_is = |m: &MessageText, p: &str| m.phase.as_deref() == Some(p);
    let finals: Vec<&MessageText> = messages
        .iter()
        .filter(|m| phase_is(m, "final_answer"))
        .collect();
    let chosen: Vec<&MessageText> = if !finals.is_empty() {
        finals
    } else if messages.iter().any(|m| !phase_is(m, "commentary")) {
        messages
            .iter()
            .filter(|m| !phase_is(m, "commentary"))
            .collect()
    } else {
        messages.iter().collect()
    };
    let mut out = String::new();
    for m in chosen.iter().filter(|m| !m.text.is_empty()) {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&m.text);
    }
    out
}

impl WireResponse {
    fn output_texts(&self) -> OutputTexts {
        let mut out = OutputTexts::default();
        for item in self.output.iter().flatten() {
            let kind = item.get("type").and_then(Value::as_str);
            if !matches!(kind, Some("message") | None) {
                continue;
            }
            let Some(parts) = item.get("content").and_then(Value::as_array) else {
                continue;
            };
            let mut message: Option<MessageText> = None;
            for part in parts {
                match part.get("type").and_then(Value::as_str) {
                    Some("output_text") => {
                        if let Some(t) = part.get("text").and_then(Value::as_str) {
                            message
                                .get_or_insert_with(|| MessageText {
                                    phase: item
                                        .get("phase")
                                        .and_then(Value::as_str)
                                        .map(str::to_owned),
                                    text: String::new(),
                                })
                                .text
                                .push_str(t);
                        }
                    }
                    Some("refusal") => {
                        if let Some(t) = part.get("refusal").and_then(Value::as_str) {
                            out.refusal.push_str(t);
                        }
                    }
                    _ => {}
                }
            }
            out.messages.extend(message);
        }
        out
    }

    /// The response's error as a typed error (for `response.failed`).
    fn failure(&self) -> ModelError {
        match &self.error {
            Some(e) => classify_api_error(e.code_or_type(), e.message()),
            None => ModelError::Failed {
                code: None,
                message: format!(
                    "the response ended with status {}",
                    self.status.as_deref().unwrap_or("failed")
                ),
            },
        }
    }

    fn incomplete(&self) -> ModelError {
        ModelError::Incomplete {
            reason: self
                .incomplete_details
                .as_ref()
                .and_then(|d| d.reason.clone())
                .unwrap_or_else(|| "unknown reason".to_owned()),
        }
    }
}

/// Maps an API error code + message (in-stream or in an HTTP body) to the
/// typed error, when the code alone decides it; everything else is `Failed`.
pub(crate) fn classify_api_error(code: Option<String>, message: String) -> ModelError {
    match code.as_deref() {
        Some("context_length_exceeded") => ModelError::ContextLengthExceeded { message },
        Some("insufficient_quota") => ModelError::QuotaExceeded { message },
        Some("rate_limit_exceeded") => ModelError::RateLimited {
            retry_after: retry_after_from_message(&message),
            message,
        },
        _ => ModelError::Failed { code, message },
    }
}

/// Parses an HTTP error body leniently: OpenAI's `{"error":{…}}`,
/// OpenRouter's variant, a flat `{"type":"error",…}` event, the same framed
/// as server-sent events (`data: {"error":…}`, which some gateways send even
/// for a non-2xx answer), or plain text.
pub(crate) fn parse_error_body(body: &str) -> WireError {
    let trimmed = body.trim();
    if let Ok(value) = serde_json::from_str::<Value>(trimmed)
        && let Some(error) = error_from_value(&value)
    {
        return error;
    }
    if looks_like_sse(trimmed)
        && let Some(error) = sse_data_lines(trimmed).find_map(|data| {
            serde_json::from_str::<Value>(data)
                .ok()
                .and_then(|v| error_from_value(&v))
        })
    {
        return error;
    }
    WireError {
        message: Some(trimmed.chars().take(300).collect()),
        ..WireError::default()
    }
}

/// The error a JSON error body or event describes, in any of the shapes
/// [`parse_error_body`] accepts; `None` when it describes none.
fn error_from_value(value: &Value) -> Option<WireError> {
    match value.get("error") {
        Some(Value::String(s)) => {
            return Some(WireError {
                message: Some(s.clone()),
                ..WireError::default()
            });
        }
        Some(v @ Value::Object(_)) => {
            if let Ok(e) = serde_json::from_value::<WireError>(v.clone()) {
                return Some(e);
            }
        }
        _ => {}
    }
    match value.get("type").and_then(Value::as_str) {
        // Flat `error` event: its `type` is the event's, not the error's.
        Some("error") => {
            let mut e = serde_json::from_value::<WireError>(value.clone()).ok()?;
            e.kind = None;
            return Some(e);
        }
        Some("response.failed") => {
            return value
                .pointer("/response/error")
                .filter(|e| e.is_object())
                .and_then(|e| serde_json::from_value::<WireError>(e.clone()).ok());
        }
        _ => {}
    }
    value
        .get("message")
        .and_then(Value::as_str)
        .map(|m| WireError {
            message: Some(m.to_owned()),
            ..WireError::default()
        })
}

/// Whether a body is framed as server-sent events rather than plain JSON:
/// its first line is an SSE field (`data:`, `event:`, `id:`, `retry:`) or a
/// comment (`:`).
pub(crate) fn looks_like_sse(body: &str) -> bool {
    let first = body.trim_start().lines().next().unwrap_or("");
    [":", "data:", "event:", "id:", "retry:"]
        .iter()
        .any(|p| first.starts_with(p))
}

/// The `data:` values of an SSE-framed body, one per line.
fn sse_data_lines(body: &str) -> impl Iterator<Item = &str> {
    body.lines()
        .filter_map(|l| l.trim_end_matches('\r').strip_prefix("data:"))
        .map(str::trim)
        .filter(|d| !d.is_empty())
}

/// What one stream event means for the caller.
#[derive(Debug, PartialEq)]
pub(crate) enum Step {
    /// Nothing to report (lifecycle or unknown event).
    Continue,
    /// A piece of answer text.
    Delta(String),
    /// The call is finished.
    Done(ModelReply),
}

/// Folds stream events into a reply.
#[derive(Debug, Default)]
pub(crate) struct Accumulator {
    /// Message items as streamed, in order of first appearance: the
    /// fallback when the final response leaves `output` empty.
    items: Vec<StreamedItem>,
    /// Finished output items (`response.output_item.done`) by output
    /// index: the fallback for the items when `output` is empty.
    done_items: Vec<(u64, Value)>,
    refusal: String,
    response_id: Option<String>,
}

/// One message item as streamed.
#[derive(Debug, Default)]
struct StreamedItem {
    id: Option<String>,
    output_index: Option<u64>,
    phase: Option<String>,
    deltas: String,
    done: String,
}

impl Accumulator {
    /// The streamed item an event belongs to, by `item_id`, else by
    /// `output_index`, else the latest one (servers that send neither).
    fn item_mut(&mut self, id: Option<&str>, output_index: Option<u64>) -> &mut StreamedItem {
        let found = self.items.iter().position(|it| match (id, &it.id) {
            (Some(id), Some(known)) => id == known,
            _ => output_index.is_some() && output_index == it.output_index,
        });
        let at = match found {
            Some(at) => at,
            None if id.is_none() && output_index.is_none() && !self.items.is_empty() => {
                self.items.len() - 1
            }
            None => {
                self.items.push(StreamedItem {
                    id: id.map(str::to_owned),
                    output_index,
                    ..StreamedItem::default()
                });
                self.items.len() - 1
            }
        };
        let item = &mut self.items[at];
        if item.id.is_none() {
            item.id = id.map(str::to_owned);
        }
        if item.output_index.is_none() {
            item.output_index = output_index;
        }
        item
    }

    /// What was streamed, per message item (its `done` text, else its deltas).
    fn streamed_messages(&self) -> Vec<MessageText> {
        self.items
            .iter()
            .map(|it| MessageText {
                phase: it.phase.clone(),
                text: if it.done.is_empty() {
                    it.deltas.clone()
                } else {
                    it.done.clone()
                },
            })
            .collect()
    }

    /// Handles one SSE `data` payload. `[DONE]` and blank data are the
    /// caller's business.
    pub(crate) fn handle(&mut self, data: &str) -> Result<Step, ModelError> {
        let event: Value = serde_json::from_str(data).map_err(|e| ModelError::MalformedEvent {
            message: format!("stream event is not JSON ({e})"),
        })?;
        let kind = event.get("type").and_then(Value::as_str).unwrap_or("");
        let field = |name: &str| event.get(name).and_then(Value::as_str);
        let output_index = event.get("output_index").and_then(Value::as_u64);
        match kind {
            "response.output_text.delta" => {
                let delta = field("delta").unwrap_or("");
                if delta.is_empty() {
                    return Ok(Step::Continue);
                }
                self.item_mut(field("item_id"), output_index)
                    .deltas
                    .push_str(delta);
                Ok(Step::Delta(delta.to_owned()))
            }
            "response.output_text.done" => {
                let text = field("text").unwrap_or("");
                self.item_mut(field("item_id"), output_index)
                    .done
                    .push_str(text);
                Ok(Step::Continue)
            }
            "response.custom_tool_call_input.delta" | "response.function_call_arguments.delta" => {
                let delta = field("delta").unwrap_or("");
                if delta.is_empty() {
                    return Ok(Step::Continue);
                }
                Ok(Step::Delta(delta.to_owned()))
            }
            "response.output_item.added" | "response.output_item.done" => {
                let Some(item) = event.get("item") else {
                    return Ok(Step::Continue);
                };
                if kind == "response.output_item.done" {
                    let at = output_index.unwrap_or(self.done_items.len() as u64);
                    self.done_items.push((at, item.clone()));
                }
                if item.get("type").and_then(Value::as_str) == Some("message") {
                    let id = item.get("id").and_then(Value::as_str);
                    let phase = item.get("phase").and_then(Value::as_str).map(str::to_owned);
                    let streamed = self.item_mut(id, output_index);
                    if phase.is_some() {
                        streamed.phase = phase;
                    }
                }
                Ok(Step::Continue)
            }
            "response.refusal.delta" => {
                self.refusal.push_str(field("delta").unwrap_or(""));
                Ok(Step::Continue)
            }
            "response.created" | "response.in_progress" | "response.queued" => {
                if let Some(id) = event
                    .get("response")
                    .and_then(|r| r.get("id"))
                    .and_then(Value::as_str)
                {
                    self.response_id = Some(id.to_owned());
                }
                Ok(Step::Continue)
            }
            "response.completed" => {
                let response = terminal_response(&event)?;
                self.finish(response).map(Step::Done)
            }
            "response.failed" => Err(terminal_response(&event)?.failure()),
            "response.incomplete" => Err(terminal_response(&event)?.incomplete()),
            "error" => Err(error_event(&event)),
            "" if event.get("error").is_some_and(Value::is_object) => Err(error_event(&event)),
            _ => Ok(Step::Continue),
        }
    }

    /// Builds the reply from the final response object, falling back to
    /// what was streamed when the server leaves `output` empty.
    pub(crate) fn finish(&mut self, response: WireResponse) -> Result<ModelReply, ModelError> {
        let texts = response.output_texts();
        let streamed = self.streamed_messages();
        let text = if !texts.messages.is_empty() {
            select_answer(&texts.messages)
        } else if streamed.iter().any(|m| !m.text.is_empty()) {
            select_answer(&streamed)
        } else {
            let refusal = if texts.refusal.is_empty() {
                std::mem::take(&mut self.refusal)
            } else {
                texts.refusal
            };
            if !refusal.is_empty() {
                return Err(ModelError::Refused { message: refusal });
            }
            String::new()
        };
        let response_id = response
            .id
            .filter(|id| !id.is_empty())
            .or_else(|| self.response_id.take())
            .unwrap_or_default();
        let items: Vec<Value> = match response.output {
            Some(output) if !output.is_empty() => output,
            _ => {
                let mut done = std::mem::take(&mut self.done_items);
                done.sort_by_key(|(at, _)| *at);
                done.into_iter().map(|(_, item)| item).collect()
            }
        };
        let calls = items.iter().filter_map(ToolCall::from_item).collect();
        Ok(ModelReply {
            output: items.iter().map(replayable).collect(),
            calls,
            text,
            usage: response
                .usage
                .as_ref()
                .map(usage_from_value)
                .unwrap_or_default(),
            response_id,
        })
    }

    /// The answer text streamed so far, all items.
    #[cfg(test)]
    fn streamed(&self) -> String {
        self.items.iter().map(|it| it.deltas.as_str()).collect()
    }
}

/// Handles the `data` of one server-sent event: blank data is skipped
/// (`Ok(None)`), `[DONE]` before `response.completed` means the stream ended
/// early, anything else goes to the accumulator.
pub(crate) fn handle_sse_data(
    acc: &mut Accumulator,
    data: &str,
) -> Result<Option<Step>, ModelError> {
    let data = data.trim();
    if data.is_empty() {
        return Ok(None);
    }
    if data == "[DONE]" {
        return Err(ModelError::StreamEnded);
    }
    acc.handle(data).map(Some)
}

/// Reads a whole streamed body, split into chunks as it would come off the
/// wire, exactly as a streamed call does (the same SSE parser, the same event
/// handling), without a network: the reply, or the error the call would end
/// with. Pure; for the fuzz targets and tests.
pub fn read_sse_chunks<I, B>(chunks: I) -> Result<ModelReply, ModelError>
where
    I: IntoIterator<Item = B>,
    B: AsRef<[u8]>,
{
    use eventsource_stream::{EventStreamError, Eventsource};
    use futures_util::{FutureExt, StreamExt};

    let body = futures_util::stream::iter(
        chunks
            .into_iter()
            .map(|c| Ok::<Vec<u8>, std::convert::Infallible>(c.as_ref().to_vec())),
    );
    let mut events = body.eventsource();
    let mut acc = Accumulator::default();
    loop {
        // Every chunk is ready, so one poll always answers.
        let event = match events.next().now_or_never().flatten() {
            None => return Err(ModelError::StreamEnded),
            Some(Ok(event)) => event,
            Some(Err(EventStreamError::Transport(never))) => match never {},
            Some(Err(e)) => {
                return Err(ModelError::MalformedEvent {
                    message: format!("unreadable server-sent event ({e})"),
                });
            }
        };
        match handle_sse_data(&mut acc, &event.data)? {
            Some(Step::Done(reply)) => return Ok(reply),
            Some(Step::Continue | Step::Delta(_)) | None => {}
        }
    }
}

/// Parses a non-streaming response body.
pub(crate) fn parse_response_body(body: &str) -> Result<WireResponse, ModelError> {
    serde_json::from_str(body).map_err(|e| ModelError::MalformedEvent {
        message: format!("response body is not a Responses object ({e})"),
    })
}

/// Interprets a non-streaming response object by its status.
pub(crate) fn finish_response_body(response: WireResponse) -> Result<ModelReply, ModelError> {
    match response.status.as_deref() {
        Some("failed") => Err(response.failure()),
        Some("incomplete") => Err(response.incomplete()),
        _ => Accumulator::default().finish(response),
    }
}

fn terminal_response(event: &Value) -> Result<WireResponse, ModelError> {
    match event.get("response") {
        Some(r) => serde_json::from_value(r.clone()).map_err(|e| ModelError::MalformedEvent {
            message: format!("unreadable response object ({e})"),
        }),
        None => Ok(WireResponse::default()),
    }
}

/// An `error` event, nested (`{"error":{…}}`, what OpenAI sends) or flat
/// (`{"code","message"}`, what the spec documents).
fn error_event(event: &Value) -> ModelError {
    let nested = event
        .get("error")
        .filter(|e| e.is_object())
        .and_then(|e| serde_json::from_value::<WireError>(e.clone()).ok());
    let flat = serde_json::from_value::<WireError>(event.clone()).unwrap_or_default();
    let code = nested
        .as_ref()
        .and_then(WireError::code_or_type)
        .or_else(|| flat.code());
    let message = nested
        .as_ref()
        .and_then(|e| e.message.clone())
        .or(flat.message)
        .unwrap_or_else(|| "the server sent an error event without a message".to_owned());
    classify_api_error(code, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(events: &[Value]) -> (Vec<String>, Result<Option<ModelReply>, ModelError>) {
        let mut acc = Accumulator::default();
        let mut deltas = Vec::new();
        for e in events {
            match acc.handle(&e.to_string()) {
                Ok(Step::Continue) => {}
                Ok(Step::Delta(d)) => deltas.push(d),
                Ok(Step::Done(r)) => return (deltas, Ok(Some(r))),
                Err(err) => return (deltas, Err(err)),
            }
        }
        (deltas, Ok(None))
    }

    fn completed(output: Value, usage: Value) -> Value {
        json!({"type": "response.completed", "sequence_number": 9,
               "response": {"id": "resp_1", "status": "completed", "output": output, "usage": usage}})
    }

    fn message(text: &str) -> Value {
        json!([{"type": "message", "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": []}]}])
    }

    #[test]
    fn full_stream_with_unknown_events_and_missing_sequence_numbers() {
        let events = [
            json!({"type": "response.created", "response": {"id": "resp_1", "usage": null}}),
            json!({"type": "response.brand_new_event", "payload": {"x": [1, 2]}}),
            json!({"type": "response.output_text.delta", "delta": "Hel", "obfuscation": "zz"}),
            json!({"type": "response.output_text.delta", "sequence_number": 4, "delta": "lo"}),
            json!({"type": "response.output_text.done", "text": "Hello"}),
            completed(
                message("Hello"),
                json!({"input_tokens": 10, "input_tokens_details": {"cached_tokens": 4, "cache_write_tokens": 2},
                       "output_tokens": 7, "output_tokens_details": {"reasoning_tokens": 3}, "total_tokens": 17}),
            ),
        ];
        let (deltas, reply) = run(&events);
        assert_eq!(deltas, ["Hel", "lo"]);
        assert_eq!(
            reply.unwrap().unwrap(),
            ModelReply {
                text: "Hello".into(),
                usage: Usage {
                    input_tokens: 10,
                    cached_tokens: 4,
                    output_tokens: 7,
                    reasoning_tokens: 3,
                    cache_write_tokens: 2,
                },
                response_id: "resp_1".into(),
                output: vec![
                    json!({"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Hello"}]})
                ],
                calls: Vec::new(),
            }
        );
    }

    #[test]
    fn completed_text_fallbacks() {
        // (events before completed, completed output, expected text)
        let cases: Vec<(Vec<Value>, Value, &str)> = vec![
            (vec![], message("from output"), "from output"),
            (
                vec![json!({"type": "response.output_text.delta", "delta": "streamed"})],
                json!([]),
                "streamed",
            ),
            (
                vec![
                    json!({"type": "response.output_text.delta", "delta": "partial"}),
                    json!({"type": "response.output_text.done", "text": "done text"}),
                ],
                Value::Null,
                "done text",
            ),
            (
                vec![json!({"type": "response.output_text.delta", "delta": "x"})],
                json!([{"type": "reasoning", "summary": []}, {"type": "message",
                        "content": [{"type": "output_text", "text": "a"}, {"type": "output_text", "text": "b"}]}]),
                "ab",
            ),
            (vec![], json!([]), ""),
        ];
        for (mut events, output, want) in cases {
            events.push(completed(output, Value::Null));
            let (_, reply) = run(&events);
            let reply = reply.unwrap().unwrap();
            assert_eq!(reply.text, want);
            assert_eq!(reply.usage, Usage::default());
        }
    }

    #[test]
    fn the_answer_among_several_messages() {
        let m = |phase: Option<&str>, text: &str| MessageText {
            phase: phase.map(str::to_owned),
            text: text.to_owned(),
        };
        let cases = [
            (vec![m(None, "a"), m(None, "b\n"), m(None, "c")], "a\nb\nc"),
            (
                vec![
                    m(Some("commentary"), "Looking."),
                    m(Some("final_answer"), "x"),
                ],
                "x",
            ),
            (
                vec![m(Some("commentary"), "Looking."), m(None, "unlabelled")],
                "unlabelled",
            ),
            (
                vec![m(Some("commentary"), "only a preamble")],
                "only a preamble",
            ),
            (vec![m(None, ""), m(None, "b")], "b"),
            (vec![], ""),
        ];
        for (messages, want) in cases {
            assert_eq!(select_answer(&messages), want, "{messages:?}");
        }
    }

    #[test]
    fn terminal_errors_table() {
        let cases: Vec<(Value, ModelError)> = vec![
            (
                json!({"type": "error", "sequence_number": 2, "error": {"type": "insufficient_quota",
                       "code": "insufficient_quota", "message": "You exceeded your current quota", "param": null}}),
                ModelError::QuotaExceeded {
                    message: "You exceeded your current quota".into(),
                },
            ),
            (
                json!({"type": "error", "code": "server_error", "message": "flat shape", "param": null}),
                ModelError::Failed {
                    code: Some("server_error".into()),
                    message: "flat shape".into(),
                },
            ),
            (
                json!({"type": "error", "error": {"type": "invalid_request_error", "code": null, "message": "typed only"}}),
                ModelError::Failed {
                    code: Some("invalid_request_error".into()),
                    message: "typed only".into(),
                },
            ),
            (
                json!({"error": {"code": "context_length_exceeded", "message": "too long"}}),
                ModelError::ContextLengthExceeded {
                    message: "too long".into(),
                },
            ),
            (
                json!({"type": "response.failed", "response": {"status": "failed",
                       "error": {"code": "rate_limit_exceeded", "message": "Please try again in 1.5s."}}}),
                ModelError::RateLimited {
                    message: "Please try again in 1.5s.".into(),
                    retry_after: Some(std::time::Duration::from_millis(1500)),
                },
            ),
            (
                json!({"type": "response.failed", "response": {"status": "failed", "error": null}}),
                ModelError::Failed {
                    code: None,
                    message: "the response ended with status failed".into(),
                },
            ),
            (
                json!({"type": "response.incomplete", "response": {"status": "incomplete",
                       "incomplete_details": {"reason": "max_output_tokens"}}}),
                ModelError::Incomplete {
                    reason: "max_output_tokens".into(),
                },
            ),
            (
                json!({"type": "response.completed", "response": {"output": [{"type": "message",
                       "content": [{"type": "refusal", "refusal": "I can't help with that."}]}]}}),
                ModelError::Refused {
                    message: "I can't help with that.".into(),
                },
            ),
        ];
        for (event, want) in cases {
            let (_, got) = run(std::slice::from_ref(&event));
            assert_eq!(got.unwrap_err(), want, "{event}");
        }
    }

    #[test]
    fn malformed_json_is_an_error_not_a_panic() {
        let mut acc = Accumulator::default();
        for bad in ["{not json", "[1,", "\"unterminated"] {
            assert!(matches!(
                acc.handle(bad),
                Err(ModelError::MalformedEvent { .. })
            ));
        }
        // Valid JSON of the wrong shape is ignored, not fatal.
        assert_eq!(acc.handle("42").unwrap(), Step::Continue);
        assert_eq!(acc.handle("{\"no\":\"type\"}").unwrap(), Step::Continue);
        assert_eq!(acc.streamed(), "");
    }

    #[test]
    fn http_error_bodies() {
        let cases = [
            (
                r#"{"error":{"message":"Incorrect API key provided.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#,
                Some("invalid_api_key"),
                "Incorrect API key provided.",
            ),
            (
                r#"{"error":{"code":402,"message":"Insufficient credits"},"metadata":null}"#,
                Some("402"),
                "Insufficient credits",
            ),
            (
                r#"{"error":{"message":"quota","type":"insufficient_quota","code":null}}"#,
                Some("insufficient_quota"),
                "quota",
            ),
            (r#"{"error":"plain string"}"#, None, "plain string"),
            (r#"{"message":"top level"}"#, None, "top level"),
            ("<html>Bad Gateway</html>", None, "<html>Bad Gateway</html>"),
            (
                "event: error\ndata: {\"type\":\"error\",\"code\":null,\"message\":\"flat\"}\n\n",
                None,
                "flat",
            ),
            (
                "data: {\"type\":\"response.failed\",\"response\":{\"error\":{\"code\":\"server_error\",\"message\":\"boom\"}}}\n\n",
                Some("server_error"),
                "boom",
            ),
            ("data: not json\n\n", None, "data: not json"),
        ];
        for (body, code, message) in cases {
            let e = parse_error_body(body);
            assert_eq!(e.code_or_type().as_deref(), code, "{body}");
            assert_eq!(e.message(), message, "{body}");
        }
    }

    #[test]
    fn non_streaming_bodies() {
        let ok = parse_response_body(
            &json!({"id": "resp_9", "object": "response", "status": "completed",
                    "output": message("hi"), "usage": {"input_tokens": 3, "output_tokens": 1}})
            .to_string(),
        )
        .unwrap();
        let reply = finish_response_body(ok).unwrap();
        assert_eq!(reply.text, "hi");
        assert_eq!(reply.usage.input_tokens, 3);
        let incomplete = parse_response_body(
            &json!({"status": "incomplete", "incomplete_details": {"reason": "content_filter"}})
                .to_string(),
        )
        .unwrap();
        assert_eq!(
            finish_response_body(incomplete).unwrap_err(),
            ModelError::Incomplete {
                reason: "content_filter".into()
            }
        );
        assert!(parse_response_body("{").is_err());
    }
}
