//! The typed body of `POST /responses`. Only the fields a coding assistant
//! needs; `None` and empty fields are left out so compatible servers that do
//! not know them are not upset.

use serde::Serialize;

use crate::config::Effort;

/// One Responses API request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResponsesRequest {
    /// Model id (or Azure deployment name).
    pub model: String,
    /// System-level instructions; kept stable so the prompt prefix caches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    /// Conversation items, stable context first and the variable task last.
    pub input: Vec<InputItem>,
    /// Reasoning effort.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<Reasoning>,
    /// Output format (plain text or a JSON schema).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<TextConfig>,
    /// Cap on generated tokens, reasoning included.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u32>,
    /// Stream server-sent events; the client handles both, but `true` is what
    /// gives live progress and idle detection.
    pub stream: bool,
    /// Whether the server keeps the response; `false` for privacy.
    pub store: bool,
    /// Cache bucketing key, stable per workspace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt_cache_key: Option<String>,
    /// Extra output to include (e.g. `reasoning.encrypted_content`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<String>,
    /// Tools the model may call.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<Tool>,
    /// Which tool the model must (or may) call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice>,
    /// Whether one response may hold several tool calls.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parallel_tool_calls: Option<bool>,
}

impl ResponsesRequest {
    /// A streaming, non-stored request with no options set.
    pub fn new(model: impl Into<String>, input: Vec<InputItem>) -> Self {
        Self {
            model: model.into(),
            instructions: None,
            input,
            reasoning: None,
            text: None,
            max_output_tokens: None,
            stream: true,
            store: false,
            prompt_cache_key: None,
            include: Vec::new(),
            tools: Vec::new(),
            tool_choice: None,
            parallel_tool_calls: None,
        }
    }
}

/// One input item: a message, the answer to a tool call, or an output item
/// of an earlier response replayed as it came (reasoning, tool calls,
/// messages), so a follow-up request extends the previous input.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum InputItem {
    /// A message from one role.
    Message {
        /// Who speaks.
        role: Role,
        /// The parts of the message.
        content: Vec<ContentPart>,
    },
    /// What a `function_call` returned.
    FunctionCallOutput {
        /// The call's `call_id`.
        call_id: String,
        /// The result, as text.
        output: String,
    },
    /// What a `custom_tool_call` returned.
    CustomToolCallOutput {
        /// The call's `call_id`.
        call_id: String,
        /// The result, as text.
        output: String,
    },
    /// What an `apply_patch_call` of the built-in tool came to.
    ApplyPatchCallOutput {
        /// The call's `call_id`.
        call_id: String,
        /// `completed` or `failed`.
        status: ApplyPatchStatus,
        /// What happened, for the model.
        output: String,
    },
    /// An output item of an earlier response, replayed (see
    /// `ModelReply::output`).
    #[serde(untagged)]
    Replayed(serde_json::Value),
}

impl InputItem {
    /// About how many bytes the item takes in a request: its text and keys,
    /// without JSON quoting and escaping. Cheap (no serialisation), for
    /// bounding what is kept to resend.
    pub fn approx_len(&self) -> usize {
        fn value_len(value: &serde_json::Value) -> usize {
            match value {
                serde_json::Value::String(s) => s.len(),
                serde_json::Value::Array(items) => items.iter().map(value_len).sum(),
                serde_json::Value::Object(map) => {
                    map.iter().map(|(k, v)| k.len() + value_len(v)).sum()
                }
                _ => 8,
            }
        }
        match self {
            Self::Message { content, .. } => content
                .iter()
                .map(|part| match part {
                    ContentPart::InputText { text } | ContentPart::OutputText { text } => {
                        text.len()
                    }
                })
                .sum(),
            Self::FunctionCallOutput { output, .. }
            | Self::CustomToolCallOutput { output, .. }
            | Self::ApplyPatchCallOutput { output, .. } => output.len(),
            Self::Replayed(value) => value_len(value),
        }
    }

    /// A user message with one text part.
    pub fn user_text(text: impl Into<String>) -> Self {
        Self::Message {
            role: Role::User,
            content: vec![ContentPart::InputText { text: text.into() }],
        }
    }

    /// A developer message with one text part (higher priority than user).
    pub fn developer_text(text: impl Into<String>) -> Self {
        Self::Message {
            role: Role::Developer,
            content: vec![ContentPart::InputText { text: text.into() }],
        }
    }

    /// A replayed assistant message; the API requires `output_text` parts here.
    pub fn assistant_text(text: impl Into<String>) -> Self {
        Self::Message {
            role: Role::Assistant,
            content: vec![ContentPart::OutputText { text: text.into() }],
        }
    }
}

/// Message role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The end user.
    User,
    /// The application, above the user.
    Developer,
    /// System prompt role (prefer `instructions` or developer).
    System,
    /// A previous model answer.
    Assistant,
}

/// A part of a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentPart {
    /// Text from user, developer or system.
    InputText {
        /// The text.
        text: String,
    },
    /// Text of a replayed assistant message.
    OutputText {
        /// The text.
        text: String,
    },
}

/// Whether an `apply_patch_call` was carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplyPatchStatus {
    /// The operation applied.
    Completed,
    /// It did not; the output says why.
    Failed,
}

/// A tool the model may call.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Tool {
    /// A function with JSON arguments described by a JSON schema.
    Function {
        /// Its name, `[a-zA-Z0-9_-]{1,64}`.
        name: String,
        /// What it does and when to call it.
        description: String,
        /// JSON schema of the arguments.
        parameters: serde_json::Value,
        /// Strict schema adherence (every property required, no extras).
        strict: bool,
    },
    /// A freeform tool whose input is text, optionally constrained by a
    /// grammar.
    Custom {
        /// Its name.
        name: String,
        /// What it does and when to call it.
        description: String,
        /// What the input must look like.
        format: CustomFormat,
    },
    /// OpenAI's built-in file-editing tool: its calls are `apply_patch_call`
    /// items, one file operation each.
    ApplyPatch,
}

/// The input format of a custom tool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CustomFormat {
    /// Unconstrained text.
    Text,
    /// Text the model is constrained to produce by a grammar.
    Grammar {
        /// `lark` or `regex`.
        syntax: String,
        /// The grammar.
        definition: String,
    },
}

/// `tool_choice`: a mode, or one named tool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum ToolChoice {
    /// `auto`, `required` or `none`.
    Mode(ToolChoiceMode),
    /// This tool and no other.
    Named {
        /// `function` or `custom`.
        #[serde(rename = "type")]
        kind: ToolKind,
        /// The tool's name.
        name: String,
    },
    /// A built-in tool, named by its type alone (`{"type": "apply_patch"}`).
    BuiltIn {
        /// The tool's type.
        #[serde(rename = "type")]
        kind: ToolKind,
    },
}

/// `tool_choice` modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ToolChoiceMode {
    /// The model decides.
    Auto,
    /// The model must call some tool.
    Required,
    /// The model must not call tools.
    None,
}

/// The kinds of callable tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolKind {
    /// A [`Tool::Function`].
    Function,
    /// A [`Tool::Custom`].
    Custom,
    /// The built-in [`Tool::ApplyPatch`].
    ApplyPatch,
}

/// `reasoning` options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Reasoning {
    /// Effort; serialised as `none|minimal|low|medium|high|xhigh`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effort: Option<Effort>,
}

impl Reasoning {
    /// Reasoning with the given effort.
    pub fn effort(effort: Effort) -> Self {
        Self {
            effort: Some(effort),
        }
    }
}

/// The wire string of an effort level, for logs and tests.
pub fn effort_wire_str(effort: Effort) -> &'static str {
    effort.as_str()
}

/// `text` options.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TextConfig {
    /// Output format.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<TextFormat>,
    /// `low|medium|high`; Codex models reject it, so usually `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verbosity: Option<String>,
}

/// `text.format`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TextFormat {
    /// Plain text (the default).
    Text,
    /// Structured output constrained by a JSON schema.
    JsonSchema {
        /// Schema name, `[a-zA-Z0-9_-]{1,64}`.
        name: String,
        /// The JSON schema.
        schema: serde_json::Value,
        /// Strict schema adherence.
        #[serde(skip_serializing_if = "Option::is_none")]
        strict: Option<bool>,
        /// What the output is for.
        #[serde(skip_serializing_if = "Option::is_none")]
        description: Option<String>,
    },
    /// Any JSON object.
    JsonObject,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn effort_strings_match_serde() {
        for effort in [
            Effort::None,
            Effort::Minimal,
            Effort::Low,
            Effort::Medium,
            Effort::High,
            Effort::Xhigh,
        ] {
            assert_eq!(
                serde_json::to_value(effort).unwrap(),
                json!(effort_wire_str(effort))
            );
        }
    }

    #[test]
    fn minimal_request_skips_unset_fields() {
        let r = ResponsesRequest::new("m", vec![InputItem::user_text("hi")]);
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            json!({
                "model": "m",
                "input": [{"type": "message", "role": "user",
                           "content": [{"type": "input_text", "text": "hi"}]}],
                "stream": true,
                "store": false
            })
        );
    }

    #[test]
    fn formats_serialise_as_the_api_expects() {
        let cases = [
            (TextFormat::Text, json!({"type": "text"})),
            (TextFormat::JsonObject, json!({"type": "json_object"})),
            (
                TextFormat::JsonSchema {
                    name: "edit".into(),
                    schema: json!({"type": "object"}),
                    strict: Some(true),
                    description: None,
                },
                json!({"type": "json_schema", "name": "edit", "schema": {"type": "object"}, "strict": true}),
            ),
        ];
        for (format, want) in cases {
            assert_eq!(serde_json::to_value(&format).unwrap(), want);
        }
        assert_eq!(
            serde_json::to_value(InputItem::assistant_text("a")).unwrap(),
            json!({"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "a"}]})
        );
    }

    #[test]
    fn tools_and_tool_items_serialise_as_the_api_expects() {
        let mut r = ResponsesRequest::new("m", vec![]);
        r.tools = vec![
            Tool::Custom {
                name: "apply_patch".into(),
                description: "d".into(),
                format: CustomFormat::Grammar {
                    syntax: "lark".into(),
                    definition: "start: x".into(),
                },
            },
            Tool::Function {
                name: "read_file".into(),
                description: "r".into(),
                parameters: json!({"type": "object"}),
                strict: false,
            },
        ];
        r.tool_choice = Some(ToolChoice::Named {
            kind: ToolKind::Custom,
            name: "apply_patch".into(),
        });
        r.input = vec![
            InputItem::Replayed(
                json!({"type": "function_call", "call_id": "c1", "name": "read_file", "arguments": "{}"}),
            ),
            InputItem::FunctionCallOutput {
                call_id: "c1".into(),
                output: "ok".into(),
            },
            InputItem::CustomToolCallOutput {
                call_id: "c2".into(),
                output: "bad".into(),
            },
        ];
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(
            v["tools"],
            json!([
                {"type": "custom", "name": "apply_patch", "description": "d",
                 "format": {"type": "grammar", "syntax": "lark", "definition": "start: x"}},
                {"type": "function", "name": "read_file", "description": "r",
                 "parameters": {"type": "object"}, "strict": false}
            ])
        );
        assert_eq!(
            v["tool_choice"],
            json!({"type": "custom", "name": "apply_patch"})
        );
        assert_eq!(
            v["input"],
            json!([
                {"type": "function_call", "call_id": "c1", "name": "read_file", "arguments": "{}"},
                {"type": "function_call_output", "call_id": "c1", "output": "ok"},
                {"type": "custom_tool_call_output", "call_id": "c2", "output": "bad"}
            ])
        );
        assert_eq!(
            serde_json::to_value(ToolChoice::Mode(ToolChoiceMode::None)).unwrap(),
            json!("none")
        );
    }
}
