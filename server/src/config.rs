//! The one settings schema shared by every editor.
//!
//! Settings arrive as JSON (`initializationOptions`, `didChangeConfiguration`,
//! `workspace/configuration`), in camelCase, optionally wrapped in a `codex`
//! section. Missing fields take their defaults; a bad value is reported with
//! the path of the setting at fault and the previous good settings stay in
//! force. The API key is deliberately *not* a setting: only the name of the
//! environment variable that holds it is.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::price::{self, Price};

/// Everything the server can be configured with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct Settings {
    /// Model id sent to the Responses API; pinned to a model generation so
    /// behaviour does not change under users' feet.
    pub model: String,
    /// Base URL of a Responses API server; `/responses` is appended.
    pub base_url: String,
    /// How to authenticate: OpenAI-style Bearer, Azure `api-key`, or none.
    pub provider: Provider,
    /// Name of the environment variable holding the API key.
    pub api_key_env: String,
    /// Reasoning effort per action kind.
    pub reasoning_effort: ReasoningEfforts,
    /// Token budget for the context sent with one request.
    pub max_context_tokens: u32,
    /// Upper bound on tokens the model may produce (reasoning included).
    pub max_output_tokens: u32,
    /// Glob patterns (gitignore-like, matched on the workspace-relative path
    /// and on the file name) of files never sent to the model.
    pub exclude: Vec<String>,
    /// Whether other open documents may be sent as extra context.
    pub include_open_documents: bool,
    /// Documents larger than this are never sent to the model.
    pub max_file_bytes: u64,
    /// Explain-this-code hover behaviour.
    pub explain: ExplainSettings,
    /// Total time allowed for one model request, retries included.
    pub request_timeout_ms: u64,
    /// Longest silence tolerated between two streamed events.
    pub stream_idle_timeout_ms: u64,
    /// How many times a retryable failure is retried.
    pub max_retries: u32,
    /// How many model requests may run at the same time.
    pub max_concurrent_requests: u32,
    /// How edit actions receive the model's patch (see [`EditTool`]).
    pub edit_tool: EditTool,
    /// Most read-only tool calls (read, search, list) one edit action may
    /// make before the model is asked for its edit.
    pub max_tool_calls: u32,
    /// How many times a patch that does not apply goes back to the model
    /// with the reason before the action fails.
    pub max_patch_repairs: u32,
    /// Minutes a document keeps its last edit conversation for
    /// `codex.refine` (0: refining is off).
    pub refine_ttl_minutes: u32,
    /// Whether edit actions may run through `codeAction/resolve`.
    pub code_action_resolve: CodeActionResolve,
    /// Prices per model id (US dollars per million tokens), over the
    /// built-in table of `price::DEFAULT_PRICES`: to correct a price or
    /// price another model (an Azure deployment name, a local server at 0).
    pub prices: BTreeMap<String, Price>,
    /// When an edit is shown for review before it applies (see
    /// [`ConfirmEdits`]).
    pub confirm_edits: ConfirmEdits,
    /// With `confirmEdits: auto`, single-file edits changing more lines
    /// than this are reviewed first.
    pub confirm_above_lines: u32,
}

/// When edits are reviewed before they apply: the server sends them with
/// `workspace/applyEdit` carrying a change annotation that needs
/// confirmation, so the editor shows them first (VS Code's refactor
/// preview) and applies them only on the user's word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConfirmEdits {
    /// Review multi-file edits and edits changing more lines than
    /// `confirmAboveLines`; apply small single-file edits directly.
    Auto,
    /// Review every edit.
    Always,
    /// Never review: apply every edit directly.
    Never,
}

/// The default model: the newest pinned Codex id known (56.8% on
/// SWE-Bench Pro against about 54% for gpt-5.2-codex, at $2.00 / $15.00 per
/// 1M tokens).
pub const DEFAULT_MODEL: &str = "gpt-5.3-codex";

/// Which path edit actions take for clients that can resolve code actions.
///
/// Resolving runs the model inside `codeAction/resolve`, a request some
/// clients (Helix) make synchronously: their UI waits for the whole model
/// call with no progress drawn, and gives up at their request timeout. The
/// command path (`workspace/executeCommand`, then `workspace/applyEdit`)
/// is asynchronous in every client, so those get it instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CodeActionResolve {
    /// Resolve where the client supports it, except for clients known to
    /// resolve synchronously (recognised by `clientInfo.name`), which get
    /// the command path when they support `workspace/applyEdit`.
    Auto,
    /// Never resolve: every edit action is a command.
    Never,
}

/// How the model hands over its patch, and whether it gets the workspace
/// tools. Servers differ in what they take (see docs/protocol.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum EditTool {
    /// `freeform` for the `openai` and `azure` providers, `text` for `none`.
    Auto,
    /// A `custom` tool `apply_patch` whose input a Lark grammar constrains
    /// (how OpenAI's Codex client edits), plus the workspace tools.
    Freeform,
    /// A JSON `function` tool `apply_patch` with one string `input`, plus
    /// the workspace tools: for servers that take function tools but no
    /// grammars (vLLM, llama.cpp, Ollama).
    Function,
    /// OpenAI's built-in `apply_patch` tool: one `apply_patch_call` output
    /// item per file operation, answered by `apply_patch_call_output`;
    /// plus the workspace tools. For the newer OpenAI models that have it.
    Native,
    /// No tools: the answer text holds the patch.
    Text,
}

impl EditTool {
    /// The next simpler mode, for a server that rejected this one.
    pub fn simpler(self) -> Option<Self> {
        match self {
            Self::Native => Some(Self::Freeform),
            Self::Auto | Self::Freeform => Some(Self::Function),
            Self::Function => Some(Self::Text),
            Self::Text => None,
        }
    }

    /// Whether the workspace tools are offered.
    pub fn has_tools(self) -> bool {
        !matches!(self, Self::Text)
    }
}

/// Authentication style of the configured endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Provider {
    /// `Authorization: Bearer <key>` (OpenAI, OpenRouter, most compatible servers).
    Openai,
    /// `api-key: <key>` (Azure OpenAI, `https://{resource}.openai.azure.com/openai/v1`).
    Azure,
    /// No authentication header (local servers such as Ollama or llama.cpp).
    None,
}

/// Reasoning effort levels of the Responses API. Which ones a model takes
/// depends on its family (see [`Effort::supported_by`]); Codex models take
/// `low` to `xhigh`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Effort {
    /// No reasoning at all (gpt-5.1 and later general models only).
    None,
    /// Fastest; for small mechanical edits (gpt-5 general models only).
    Minimal,
    /// Small edits and explanations.
    Low,
    /// The daily driver.
    Medium,
    /// Harder fixes.
    High,
    /// Hardest problems, on models that support it.
    Xhigh,
}

/// What is known about the efforts a model family takes, from its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ModelFamily {
    /// Any id containing `codex`: `low`, `medium`, `high`, `xhigh`.
    Codex,
    /// `gpt-5`, `gpt-5-mini`, `gpt-5-2025-08-07`, ...: `minimal` but not `none`.
    Gpt5,
    /// `gpt-5.1`, `gpt-5.2`, ...: `none` but not `minimal`.
    Gpt5Point,
    /// Anything else (local servers, Azure deployment names): not guessed at.
    Unknown,
}

impl ModelFamily {
    fn of(model: &str) -> Self {
        let id = model.trim().to_ascii_lowercase();
        // OpenRouter-style ids carry the vendor: `openai/gpt-5.1-codex`.
        let id = id.rsplit('/').next().unwrap_or(&id);
        if id.contains("codex") {
            return Self::Codex;
        }
        match id.strip_prefix("gpt-5") {
            Some(rest) if rest.is_empty() || rest.starts_with('-') => Self::Gpt5,
            Some(rest)
                if rest
                    .strip_prefix('.')
                    .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit())) =>
            {
                Self::Gpt5Point
            }
            _ => Self::Unknown,
        }
    }
}

impl Effort {
    /// The wire name (`none`, `minimal`, `low`, `medium`, `high`, `xhigh`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Minimal => "minimal",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Xhigh => "xhigh",
        }
    }

    /// Whether `model` accepts this effort, as far as its id tells. The API
    /// answers an unsupported effort with 400 `unsupported_value` only when
    /// an action runs, so settings are checked up front where the family is
    /// known (Codex models: low to xhigh; gpt-5: minimal but no none; gpt-5.1
    /// and later: none but no minimal); other ids are not guessed at.
    /// `Err` holds the efforts the family takes, for the message.
    pub fn supported_by(self, model: &str) -> Result<(), &'static str> {
        match (ModelFamily::of(model), self) {
            (ModelFamily::Codex, Self::None | Self::Minimal) => {
                Err("Codex models take low, medium, high or xhigh")
            }
            (ModelFamily::Gpt5, Self::None) => {
                Err("gpt-5 models take minimal, low, medium or high")
            }
            (ModelFamily::Gpt5Point, Self::Minimal) => {
                Err("gpt-5.1 and later take none, low, medium, high or xhigh")
            }
            _ => Ok(()),
        }
    }
}

/// Reasoning effort for each action kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct ReasoningEfforts {
    /// Rewrite with the user's instruction.
    pub rewrite: Effort,
    /// Simplify.
    pub simplify: Effort,
    /// Add documentation comments.
    pub document: Effort,
    /// Add error handling.
    pub error_handling: Effort,
    /// Generate unit tests.
    pub tests: Effort,
    /// Fix a diagnostic.
    pub fix: Effort,
    /// Explain code.
    pub explain: Effort,
}

/// When the explain hover calls the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HoverMode {
    /// Explain on every hover (answers are cached).
    Auto,
    /// Show an explanation only when one is already cached.
    Cached,
    /// Never explain on hover.
    Off,
}

/// The longest `explain.hoverWaitMs`: half of Helix's 20 s request
/// timeout, past which every server's hover would be lost.
const MAX_HOVER_WAIT_MS: u64 = 10_000;

/// Explain-this-code settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct ExplainSettings {
    /// Hover mode.
    pub hover: HoverMode,
    /// Target length of an explanation, in words.
    pub max_words: u32,
    /// Output token cap for an explanation.
    pub max_output_tokens: u32,
    /// Memory bound of the explanation cache, in bytes.
    pub cache_bytes: u64,
    /// How long a hover waits for an explanation that is not cached before
    /// it answers without one (0: it answers at once with what is cached).
    /// The model call goes on in the background, so the next hover on the
    /// same code shows it. Editors that wait for every server before drawing
    /// a hover (Helix) must not have the others' hovers held back by a
    /// model call.
    pub hover_wait_ms: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            model: DEFAULT_MODEL.to_owned(),
            base_url: "https://api.openai.com/v1".to_owned(),
            provider: Provider::Openai,
            api_key_env: "OPENAI_API_KEY".to_owned(),
            reasoning_effort: ReasoningEfforts::default(),
            max_context_tokens: 24_000,
            max_output_tokens: 16_000,
            exclude: default_excludes(),
            include_open_documents: false,
            max_file_bytes: 8 * 1024 * 1024,
            explain: ExplainSettings::default(),
            request_timeout_ms: 180_000,
            stream_idle_timeout_ms: 60_000,
            max_retries: 3,
            max_concurrent_requests: 4,
            edit_tool: EditTool::Auto,
            max_tool_calls: 8,
            max_patch_repairs: 2,
            refine_ttl_minutes: 30,
            code_action_resolve: CodeActionResolve::Auto,
            prices: BTreeMap::new(),
            confirm_edits: ConfirmEdits::Auto,
            confirm_above_lines: 40,
        }
    }
}

impl Default for ReasoningEfforts {
    fn default() -> Self {
        Self {
            rewrite: Effort::Medium,
            simplify: Effort::Low,
            document: Effort::Low,
            error_handling: Effort::Medium,
            tests: Effort::Medium,
            fix: Effort::High,
            explain: Effort::Low,
        }
    }
}

impl Default for ExplainSettings {
    fn default() -> Self {
        Self {
            hover: HoverMode::Auto,
            max_words: 150,
            max_output_tokens: 2_000,
            cache_bytes: 8 * 1024 * 1024,
            hover_wait_ms: 300,
        }
    }
}

/// The default exclusion globs: dotenv files, keys and certificates.
pub fn default_excludes() -> Vec<String> {
    [
        ".env",
        ".env.*",
        "*.env",
        ".envrc",
        "*.pem",
        "*.key",
        "*.crt",
        "*.cer",
        "*.der",
        "id_rsa*",
        "id_dsa*",
        "id_ecdsa*",
        "id_ed25519*",
        "*.p12",
        "*.pfx",
        "*.jks",
        "*.keystore",
        ".netrc",
        ".npmrc",
        ".pypirc",
        "credentials.json",
        "**/.git/**",
        "**/.ssh/**",
        "**/.aws/**",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect()
}

/// A settings value that could not be accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Codex setting `{path}` is invalid: {message}")]
pub struct SettingsError {
    /// Dotted path of the setting, e.g. `codex.explain.hover`.
    pub path: String,
    /// What is wrong with it.
    pub message: String,
}

impl Settings {
    /// Parses settings from client JSON. `null` or an empty object gives the
    /// defaults; a `codex` wrapper object is unwrapped.
    pub fn from_json(value: &serde_json::Value) -> Result<Self, SettingsError> {
        let value = match value {
            serde_json::Value::Null => return Ok(Self::default()),
            serde_json::Value::Object(map) if map.len() == 1 && map.contains_key("codex") => {
                &map["codex"]
            }
            other => other,
        };
        if value.is_null() {
            return Ok(Self::default());
        }
        let settings: Settings = serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            SettingsError {
                path: format!("codex.{path}"),
                message: e.into_inner().to_string(),
            }
        })?;
        settings.validate()?;
        Ok(settings)
    }

    /// Parses layered settings: each layer (e.g. `initializationOptions`,
    /// then the pulled or pushed configuration) is merged over the previous
    /// one, objects key by key; a `null` or empty layer contributes nothing.
    pub fn from_layers(layers: &[&serde_json::Value]) -> Result<Self, SettingsError> {
        let mut merged = serde_json::Value::Object(serde_json::Map::new());
        for layer in layers {
            merge(&mut merged, unwrap_section(layer));
        }
        Self::from_json(&merged)
    }

    /// Parses layered settings keeping what is valid: each invalid value
    /// (and each unknown key) takes its value in `previous` instead (for a
    /// key `previous` lacks, it is dropped), every other value applies, and
    /// each problem is returned. The endpoint is never a mix: an invalid
    /// `baseUrl`, `provider` or `apiKeyEnv` brings back all three from
    /// `previous`, so code never goes to a server with another's
    /// credentials or lack of them. A typo in one setting no longer undoes
    /// the others (a local `baseUrl` falling back to OpenAI's).
    pub fn from_layers_keeping(
        layers: &[&serde_json::Value],
        previous: &Settings,
    ) -> (Self, Vec<SettingsError>) {
        let mut merged = serde_json::Value::Object(serde_json::Map::new());
        for layer in layers {
            merge(&mut merged, unwrap_section(layer));
        }
        let previous_json = serde_json::to_value(previous).unwrap_or_default();
        let mut errors = Vec::new();
        // Every round takes back one key: bounded by the number of keys.
        for _ in 0..256 {
            match Self::from_json(&merged) {
                Ok(settings) => return (settings, errors),
                Err(err) => {
                    let restored = restore_key(&mut merged, &previous_json, &err);
                    errors.push(err);
                    if !restored {
                        break;
                    }
                }
            }
        }
        (previous.clone(), errors)
    }

    /// Checks values that parse but make no sense.
    pub fn validate(&self) -> Result<(), SettingsError> {
        let bad = |path: &str, message: &str| {
            Err(SettingsError {
                path: format!("codex.{path}"),
                message: message.to_owned(),
            })
        };
        if self.model.trim().is_empty() {
            return bad("model", "must not be empty");
        }
        if !(self.base_url.starts_with("http://") || self.base_url.starts_with("https://")) {
            return bad("baseUrl", "must start with http:// or https://");
        }
        if self.api_key_env.is_empty()
            || !self
                .api_key_env
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return bad(
                "apiKeyEnv",
                "must be the name of an environment variable (letters, digits, _)",
            );
        }
        if self.max_context_tokens < 512 {
            return bad("maxContextTokens", "must be at least 512");
        }
        if self.max_output_tokens < 16 {
            return bad("maxOutputTokens", "must be at least 16");
        }
        if self.explain.max_output_tokens < 16 {
            return bad("explain.maxOutputTokens", "must be at least 16");
        }
        if self.explain.max_words == 0 {
            return bad("explain.maxWords", "must be at least 1");
        }
        if self.explain.hover_wait_ms > MAX_HOVER_WAIT_MS {
            return bad(
                "explain.hoverWaitMs",
                "must be at most 10000 (a hover must answer well before an editor gives up on it)",
            );
        }
        if self.request_timeout_ms < 1_000 {
            return bad("requestTimeoutMs", "must be at least 1000");
        }
        if self.stream_idle_timeout_ms < 100 {
            return bad("streamIdleTimeoutMs", "must be at least 100");
        }
        if self.max_retries > 10 {
            return bad("maxRetries", "must be at most 10");
        }
        if self.max_concurrent_requests == 0 || self.max_concurrent_requests > 64 {
            return bad("maxConcurrentRequests", "must be between 1 and 64");
        }
        if self.max_tool_calls > 64 {
            return bad("maxToolCalls", "must be at most 64");
        }
        if self.max_patch_repairs > 8 {
            return bad("maxPatchRepairs", "must be at most 8");
        }
        if self.refine_ttl_minutes > 24 * 60 {
            return bad("refineTtlMinutes", "must be at most 1440 (a day)");
        }
        let e = &self.reasoning_effort;
        for (name, effort) in [
            ("rewrite", e.rewrite),
            ("simplify", e.simplify),
            ("document", e.document),
            ("errorHandling", e.error_handling),
            ("tests", e.tests),
            ("fix", e.fix),
            ("explain", e.explain),
        ] {
            if let Err(takes) = effort.supported_by(&self.model) {
                return bad(
                    &format!("reasoningEffort.{name}"),
                    &format!(
                        "`{}` is not supported by the model `{}` ({takes}; see codex.model)",
                        effort.as_str(),
                        self.model.trim()
                    ),
                );
            }
        }
        for (model, price) in &self.prices {
            if model.trim().is_empty() {
                return bad("prices", "a model id must not be empty");
            }
            if let Err(why) = price.check() {
                return bad(&format!("prices.{model}"), &why);
            }
        }
        for (i, pattern) in self.exclude.iter().enumerate() {
            if let Err(e) = globset::Glob::new(pattern) {
                return bad(
                    &format!("exclude[{i}]"),
                    &format!("`{pattern}` is not a valid glob: {e}"),
                );
            }
        }
        Ok(())
    }

    /// [`Settings::edit_tool`] with `auto` resolved for the provider.
    pub fn edit_tool(&self) -> EditTool {
        match (self.edit_tool, self.provider) {
            (EditTool::Auto, Provider::None) => EditTool::Text,
            (EditTool::Auto, Provider::Openai | Provider::Azure) => EditTool::Freeform,
            (mode, _) => mode,
        }
    }

    /// How long a document keeps its last edit conversation for a refine.
    pub fn refine_ttl(&self) -> Duration {
        Duration::from_secs(u64::from(self.refine_ttl_minutes) * 60)
    }

    /// The overall request timeout as a duration.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    /// The stream idle timeout as a duration.
    pub fn stream_idle_timeout(&self) -> Duration {
        Duration::from_millis(self.stream_idle_timeout_ms)
    }

    /// The price of the model in force, when known (see [`price::price_of`]).
    pub fn price(&self) -> Option<Price> {
        price::price_of(&self.prices, &self.model)
    }

    /// How long a hover waits for an explanation not yet cached.
    pub fn hover_wait(&self) -> Duration {
        Duration::from_millis(self.explain.hover_wait_ms)
    }
}

/// Unwraps a `{"codex": {...}}` wrapper, if present.
fn unwrap_section(value: &serde_json::Value) -> &serde_json::Value {
    match value {
        serde_json::Value::Object(map) if map.len() == 1 && map.contains_key("codex") => {
            &map["codex"]
        }
        other => other,
    }
}

/// The settings that together say where requests go.
const ENDPOINT_KEYS: &[&str] = &["baseUrl", "provider", "apiKeyEnv"];

/// Puts back, in `merged`, the value `previous` has for the key `err`
/// names (drops the key where `previous` has none); false when the error
/// names no key of `merged`.
fn restore_key(
    merged: &mut serde_json::Value,
    previous: &serde_json::Value,
    err: &SettingsError,
) -> bool {
    let path = err.path.strip_prefix("codex").unwrap_or(&err.path);
    let mut keys: Vec<String> = path
        .split('.')
        .map(|segment| segment.split('[').next().unwrap_or_default().to_owned())
        .filter(|segment| !segment.is_empty())
        .collect();
    // An unknown key is reported at its object, or at itself.
    if let Some(unknown) = err
        .message
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split('`').next())
        && keys.last().map(String::as_str) != Some(unknown)
    {
        keys.push(unknown.to_owned());
    }
    if keys.is_empty() {
        return false;
    }
    if keys.len() == 1 && ENDPOINT_KEYS.contains(&keys[0].as_str()) {
        let mut any = false;
        for key in ENDPOINT_KEYS {
            any |= restore_one(merged, previous, &[(*key).to_owned()]);
        }
        return any;
    }
    restore_one(merged, previous, &keys)
}

fn restore_one(
    merged: &mut serde_json::Value,
    previous: &serde_json::Value,
    keys: &[String],
) -> bool {
    let Some((last, parents)) = keys.split_last() else {
        return false;
    };
    let mut at = &mut *merged;
    let mut before = Some(previous);
    for key in parents {
        let Some(next) = at.get_mut(key.as_str()) else {
            return false;
        };
        at = next;
        before = before.and_then(|b| b.get(key.as_str()));
    }
    let Some(object) = at.as_object_mut() else {
        return false;
    };
    let old = before.and_then(|b| b.get(last.as_str()));
    match old {
        Some(value) if object.get(last.as_str()) != Some(value) => {
            object.insert(last.clone(), value.clone());
            true
        }
        Some(_) => false,
        None => object.remove(last.as_str()).is_some(),
    }
}

/// Merges `layer` over `base`: objects recursively, anything else replaces.
fn merge(base: &mut serde_json::Value, layer: &serde_json::Value) {
    match (base, layer) {
        (_, serde_json::Value::Null) => {}
        (serde_json::Value::Object(base), serde_json::Value::Object(layer)) => {
            for (key, value) in layer {
                match base.get_mut(key) {
                    Some(existing) if existing.is_object() && value.is_object() => {
                        merge(existing, value)
                    }
                    _ => {
                        if !value.is_null() {
                            base.insert(key.clone(), value.clone());
                        }
                    }
                }
            }
        }
        (base, layer) => *base = layer.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_from_null_and_empty() {
        assert_eq!(
            Settings::from_json(&json!(null)).unwrap(),
            Settings::default()
        );
        assert_eq!(
            Settings::from_json(&json!({})).unwrap(),
            Settings::default()
        );
        assert_eq!(
            Settings::from_json(&json!({"codex": {}})).unwrap(),
            Settings::default()
        );
    }

    #[test]
    fn confirm_edits_is_auto_always_or_never() {
        let defaults = Settings::default();
        assert_eq!(defaults.confirm_edits, ConfirmEdits::Auto);
        assert_eq!(defaults.confirm_above_lines, 40);
        let always =
            Settings::from_json(&json!({"confirmEdits": "always", "confirmAboveLines": 3}))
                .unwrap();
        assert_eq!(always.confirm_edits, ConfirmEdits::Always);
        assert_eq!(always.confirm_above_lines, 3);
        let err = Settings::from_json(&json!({"confirmEdits": "sometimes"})).unwrap_err();
        assert_eq!(err.path, "codex.confirmEdits");
        let err = Settings::from_json(&json!({"confirmAboveLines": -1})).unwrap_err();
        assert_eq!(err.path, "codex.confirmAboveLines");
    }

    #[test]
    fn code_action_resolve_is_auto_or_never() {
        assert_eq!(
            Settings::default().code_action_resolve,
            CodeActionResolve::Auto
        );
        let never = Settings::from_json(&json!({"codeActionResolve": "never"})).unwrap();
        assert_eq!(never.code_action_resolve, CodeActionResolve::Never);
        let err = Settings::from_json(&json!({"codeActionResolve": "always"})).unwrap_err();
        assert_eq!(err.path, "codex.codeActionResolve");
    }

    #[test]
    fn partial_values_keep_other_defaults() {
        let s = Settings::from_json(&json!({"codex": {"model": "m", "explain": {"hover": "off"}}}))
            .unwrap();
        assert_eq!(s.model, "m");
        assert_eq!(s.explain.hover, HoverMode::Off);
        assert_eq!(s.explain.max_words, 150);
        assert_eq!(s.reasoning_effort.fix, Effort::High);
    }

    #[test]
    fn errors_name_the_setting() {
        let cases = [
            (
                json!({"explain": {"hover": "sometimes"}}),
                "codex.explain.hover",
            ),
            (
                json!({"maxContextTokens": "many"}),
                "codex.maxContextTokens",
            ),
            (json!({"maxContextTokens": 10}), "codex.maxContextTokens"),
            (json!({"baseUrl": "ftp://x"}), "codex.baseUrl"),
            (
                json!({"reasoningEffort": {"fix": "extreme"}}),
                "codex.reasoningEffort.fix",
            ),
            (json!({"exclude": ["a", "[z-a"]}), "codex.exclude[1]"),
            (json!({"apiKeyEnv": "A B"}), "codex.apiKeyEnv"),
            (json!({"modle": "typo"}), "codex.modle"),
            (
                json!({"explain": {"hoverWaitMs": 60_000}}),
                "codex.explain.hoverWaitMs",
            ),
        ];
        for (value, path) in cases {
            let err = Settings::from_json(&value).unwrap_err();
            assert!(
                err.path.starts_with(path) || err.to_string().contains(&path["codex.".len()..]),
                "{value} gave {err}"
            );
        }
    }

    #[test]
    fn an_invalid_setting_keeps_its_previous_value_and_the_others_apply() {
        let previous = Settings::default();
        let (s, errors) = Settings::from_layers_keeping(
            &[
                &json!({"baseUrl": "http://127.0.0.1:11434/v1", "provider": "none",
                      "explain": {"hoverWaitMs": "soon"}, "modle": "typo"}),
            ],
            &previous,
        );
        assert_eq!(s.base_url, "http://127.0.0.1:11434/v1");
        assert_eq!(s.provider, Provider::None);
        assert_eq!(s.explain.hover_wait_ms, previous.explain.hover_wait_ms);
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(
            errors.iter().any(|e| e.path == "codex.explain.hoverWaitMs"),
            "{errors:?}"
        );
        assert!(
            errors.iter().any(|e| e.to_string().contains("modle")),
            "{errors:?}"
        );

        // A bad endpoint key brings the whole previous endpoint back: never a
        // local provider's missing key sent to another server.
        let (s, errors) = Settings::from_layers_keeping(
            &[&json!({"baseUrl": "localhost:11434", "provider": "none", "maxRetries": 1})],
            &previous,
        );
        assert_eq!(s.base_url, previous.base_url);
        assert_eq!(s.provider, previous.provider);
        assert_eq!(s.max_retries, 1);
        assert_eq!(errors.len(), 1, "{errors:?}");

        // The previous value is the last good one, not the default.
        let custom = Settings::from_json(&json!({"maxToolCalls": 3})).unwrap();
        let (s, _) = Settings::from_layers_keeping(&[&json!({"maxToolCalls": 999})], &custom);
        assert_eq!(s.max_tool_calls, 3);
        let (s, errors) =
            Settings::from_layers_keeping(&[&json!({"exclude": ["a", "[z-a"]})], &custom);
        assert_eq!(s.exclude, custom.exclude);
        assert_eq!(errors.len(), 1);
        assert_eq!(
            Settings::from_layers_keeping(&[&json!(null)], &custom).0,
            Settings::default()
        );
    }

    #[test]
    fn reasoning_efforts_are_checked_against_the_model_family() {
        // (settings, Err(setting named) or Ok)
        let cases = [
            // Codex models answer `minimal` and `none` with 400 unsupported_value.
            (
                json!({"reasoningEffort": {"fix": "minimal"}}),
                Err("codex.reasoningEffort.fix"),
            ),
            (
                json!({"model": "gpt-5.1-codex-max", "reasoningEffort": {"explain": "none"}}),
                Err("codex.reasoningEffort.explain"),
            ),
            (
                json!({"model": "openai/gpt-5-codex", "reasoningEffort": {"errorHandling": "minimal"}}),
                Err("codex.reasoningEffort.errorHandling"),
            ),
            (
                json!({"reasoningEffort": {"fix": "xhigh", "simplify": "low"}}),
                Ok(()),
            ),
            // The default, gpt-5.3-codex, is a Codex model: low to xhigh.
            (
                json!({"model": "gpt-5.3-codex", "reasoningEffort": {"rewrite": "xhigh", "explain": "low"}}),
                Ok(()),
            ),
            (
                json!({"model": "gpt-5.3-codex-2026-02-24", "reasoningEffort": {"document": "none"}}),
                Err("codex.reasoningEffort.document"),
            ),
            // gpt-5 takes `minimal` but not `none`; gpt-5.1 and later the reverse.
            (
                json!({"model": "gpt-5", "reasoningEffort": {"simplify": "minimal"}}),
                Ok(()),
            ),
            (
                json!({"model": "gpt-5-mini", "reasoningEffort": {"simplify": "none"}}),
                Err("codex.reasoningEffort.simplify"),
            ),
            (
                json!({"model": "gpt-5.1", "reasoningEffort": {"document": "none"}}),
                Ok(()),
            ),
            (
                json!({"model": "gpt-5.2", "reasoningEffort": {"tests": "minimal"}}),
                Err("codex.reasoningEffort.tests"),
            ),
            // Unknown models (local servers, Azure deployment names) are not guessed at.
            (
                json!({"model": "my-deployment", "reasoningEffort": {"rewrite": "minimal", "fix": "none"}}),
                Ok(()),
            ),
        ];
        for (value, want) in cases {
            match (Settings::from_json(&value), want) {
                (Ok(_), Ok(())) => {}
                (Err(err), Err(path)) => {
                    assert_eq!(err.path, path, "{value}");
                    assert!(err.message.contains("model"), "{value}: {err}");
                }
                (got, want) => panic!("{value}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn the_default_model_is_gpt_5_3_codex_with_its_price() {
        let s = Settings::default();
        assert_eq!(s.model, "gpt-5.3-codex");
        assert!(s.validate().is_ok());
        let price = s.price().unwrap();
        assert_eq!(
            (price.input, price.cached(), price.output),
            (2.0, 0.2, 15.0)
        );
    }

    #[test]
    fn prices_override_add_and_are_checked() {
        let s = Settings::from_json(&json!({
            "model": "my-deployment",
            "prices": {"my-deployment": {"input": 0.5, "output": 1.5}, "gpt-5.3-codex": {"input": 1, "cachedInput": 0.05, "output": 3}}
        }))
        .unwrap();
        assert_eq!(
            s.price().map(|p| (p.input, p.cached(), p.output)),
            Some((0.5, 0.05, 1.5))
        );
        let overridden = Settings {
            model: "gpt-5.3-codex".into(),
            ..s.clone()
        };
        assert_eq!(overridden.price().map(|p| p.cached()), Some(0.05));
        let unknown = Settings {
            model: "llama3".into(),
            ..s
        };
        assert_eq!(unknown.price(), None);
        for (value, path) in [
            (
                json!({"prices": {"m": {"input": -1, "output": 1}}}),
                "codex.prices.m",
            ),
            (
                json!({"prices": {"m": {"input": 1, "cachedInput": 2, "output": 1}}}),
                "codex.prices.m",
            ),
            (json!({"prices": {"m": {"input": 1}}}), "codex.prices.m"),
            (
                json!({"prices": {"m": {"input": 1, "output": 1, "cached": 0.1}}}),
                "codex.prices.m",
            ),
        ] {
            let err = Settings::from_json(&value).unwrap_err();
            assert!(err.path.starts_with(path), "{value}: {err}");
        }
    }

    #[test]
    fn layers_merge_and_null_layers_keep_earlier_ones() {
        let init = json!({"baseUrl": "http://127.0.0.1:1/v1", "explain": {"maxWords": 80}});
        let table = [
            (json!(null), "http://127.0.0.1:1/v1", 80, DEFAULT_MODEL),
            (json!({}), "http://127.0.0.1:1/v1", 80, DEFAULT_MODEL),
            (
                json!({"codex": {"model": "m"}}),
                "http://127.0.0.1:1/v1",
                80,
                "m",
            ),
            (
                json!({"explain": {"hover": "off"}}),
                "http://127.0.0.1:1/v1",
                80,
                DEFAULT_MODEL,
            ),
            (
                json!({"baseUrl": "http://x/v1", "explain": {"maxWords": 20}}),
                "http://x/v1",
                20,
                DEFAULT_MODEL,
            ),
        ];
        for (pulled, base_url, words, model) in table {
            let s = Settings::from_layers(&[&init, &pulled]).unwrap();
            assert_eq!(
                (s.base_url.as_str(), s.explain.max_words, s.model.as_str()),
                (base_url, words, model),
                "{pulled}"
            );
        }
        assert!(Settings::from_layers(&[&init, &json!({"maxRetries": 99})]).is_err());
    }

    #[test]
    fn default_settings_roundtrip_through_json() {
        let value = serde_json::to_value(Settings::default()).unwrap();
        assert_eq!(Settings::from_json(&value).unwrap(), Settings::default());
        assert!(
            value["exclude"]
                .as_array()
                .unwrap()
                .iter()
                .any(|v| v == ".env.*")
        );
    }
}
