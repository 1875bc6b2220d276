//! The end-to-end harness, in the style of ruff's `TestServerBuilder`: one
//! builder for the client flavours the server cares about, files in a
//! temporary workspace, a script for the fake Responses server, then
//! [`TestServerBuilder::start`] gives a [`TestServer`]: the real `codex-lsp`
//! binary (see [`crate::lsp_client::server_binary`]) initialized over stdio
//! against its own fake server, with helpers for the common requests.
//!
//! ```no_run
//! # async fn demo() {
//! use codex_lsp_tests::harness::{TestServer, range};
//! let mut server = TestServer::builder()
//!     .resolve()
//!     .encoding("utf-8")
//!     .file("src/lib.rs", "fn add(a: i32, b: i32) -> i32 {\n    a+b\n}\n")
//!     .reply("*** Begin Patch\n...")
//!     .start()
//!     .await;
//! let actions = server.list_actions(range(1, 4, 1, 4)).await;
//! // codex_lsp_tests::assert_json_snapshot!(server, "listing", actions);
//! # }
//! ```
//!
//! Three things make the tests built on it honest:
//!
//! * **No fixed sleeps.** Waits are on conditions: the fake server received
//!   a request or streamed N deltas, a notification arrived, or a
//!   [`TestServer::barrier`] round trip came back (which proves every
//!   message the server sent before it has been received). The request
//!   helpers end with a barrier, so what a handler sent while answering
//!   has arrived when they return.
//! * **Nothing goes unread.** At drop (and at [`TestServer::shutdown`]) the
//!   harness panics if the server sent something the test never looked at:
//!   a `window/showMessage`, a `workspace/applyEdit`, a `window/showDocument`,
//!   an answer matching no request, or any notification or request it does
//!   not know. Reading goes through the accessors ([`TestServer::messages`],
//!   [`TestServer::applied_edits`], [`TestServer::notifications`], ...), which
//!   mark what they return as read. Tests that do not care opt out with
//!   [`TestServerBuilder::ignore_unread`] or [`TestServer::ignore_unread`].
//!   Progress and status traffic is read by default; see
//!   [`AMBIENT_NOTIFICATIONS`].
//! * **Snapshots are stable.** [`TestServer::snapshot_filters`] replaces the
//!   temporary directory with `[TMP]` and the fake server's port with
//!   `[PORT]`; [`assert_json_snapshot!`](crate::assert_json_snapshot) applies
//!   them around `insta::assert_json_snapshot!`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use tokio::sync::oneshot;

use crate::lsp_client::LspClient;
pub use crate::lsp_client::{apply_lsp_edits, file_uri, range};
use crate::{FakeResponses, RecordedRequest, Rule, Script};

/// The API key the server gets unless the builder says otherwise.
pub const DEFAULT_API_KEY: &str = "test-key-e2e";

/// How long the `wait_for_*` helpers wait before they fail the test.
pub const WAIT: Duration = Duration::from_secs(10);

/// Helix's request timeout (`helix-lsp`: `timeout = 20` s by default): a
/// request it sends that has no answer by then is given up, and whatever
/// the server answers later is thrown away.
pub const HELIX_TIMEOUT: Duration = Duration::from_secs(20);

/// Helix's block cursor at `line`, `character`: always a one-character
/// selection, which is what Helix sends as the range of a code action
/// request made at the cursor.
pub fn cursor(line: u32, character: u32) -> Value {
    range(line, character, line, character + 1)
}

/// A code action picked the way Helix picks it (see [`TestServer::pick`]).
#[derive(Debug)]
pub struct Picked {
    /// The action after its `codeAction/resolve` (or as listed, when it
    /// was complete).
    pub resolved: Value,
    /// The `workspace/executeCommand` Helix sent for the action's command,
    /// without waiting (Helix runs commands asynchronously): its id and
    /// response slot.
    pub command: Option<(i64, oneshot::Receiver<Value>)>,
}

/// Notifications that count as read when they arrive.
///
/// `$/progress` and `codex/status` accompany every model call (begin,
/// throttled reports, end; running and idle), and `window/logMessage` /
/// `$/logTrace` are logs. They are a side channel no test can avoid
/// triggering; requiring each test to consume them would bury the signal
/// (an unexpected popup or edit) in noise. Tests about progress read them
/// explicitly with [`TestServer::notifications`]. `$/eof` is the client's
/// own marker for the end of the server's output.
pub const AMBIENT_NOTIFICATIONS: &[&str] = &[
    "$/progress",
    "codex/status",
    "window/logMessage",
    "$/logTrace",
    "$/eof",
];

/// Requests from the server that count as read when they arrive: the
/// progress-token creation that goes with `$/progress`, and the
/// configuration and registration plumbing the fake editor answers by
/// itself. `workspace/applyEdit` and `window/showDocument` are not among
/// them: an edit or a document shown is an outcome a test should state.
pub const AMBIENT_SERVER_REQUESTS: &[&str] = &[
    "window/workDoneProgress/create",
    "workspace/configuration",
    "client/registerCapability",
    "client/unregisterCapability",
];

/// A file of the temporary workspace.
#[derive(Debug, Clone)]
struct WorkspaceFile {
    path: String,
    contents: Vec<u8>,
    /// The language id to open it with, if it is opened.
    open_as: Option<String>,
}

/// Builds a [`TestServer`]. The defaults are a capable editor on the
/// command path: UTF-16 positions, `workspace/applyEdit` with
/// `documentChanges` and the `create` resource operation, work-done
/// progress, `window/showDocument`, code action literals with `data`,
/// Markdown and plain-text hovers, no `codeAction/resolve` support, no
/// code action tags; the key [`DEFAULT_API_KEY`]; settings `baseUrl` (the
/// fake server) and `maxRetries: 0`; a fake server that answers nothing
/// (every request gets its "no scripted reply matched" 400).
#[derive(Debug, Clone)]
#[must_use]
pub struct TestServerBuilder {
    resolve: bool,
    document_changes: bool,
    progress: bool,
    encoding: String,
    create_files: bool,
    show_document: bool,
    tags: bool,
    capability_patches: Vec<(String, Value)>,
    files: Vec<WorkspaceFile>,
    script: Script,
    api_key: Option<String>,
    settings: Map<String, Value>,
    env: Vec<(String, String)>,
    ignore_unread: bool,
    helix: bool,
    client_name: Option<String>,
    raw_options: Option<Value>,
    hover_wait_ms: Option<u64>,
}

/// The `explain.hoverWaitMs` the harness sets unless a test says otherwise
/// ([`TestServerBuilder::hover_wait_ms`]): long enough that a hover waits
/// for the fake model's (immediate) answer on a loaded machine, so tests
/// about what a hover shows need not race the server's bound (300 ms).
pub const TEST_HOVER_WAIT_MS: u64 = 10_000;

impl Default for TestServerBuilder {
    fn default() -> Self {
        Self {
            resolve: false,
            document_changes: true,
            progress: true,
            encoding: "utf-16".to_owned(),
            create_files: true,
            show_document: true,
            tags: false,
            capability_patches: Vec::new(),
            files: Vec::new(),
            script: Script::default(),
            api_key: Some(DEFAULT_API_KEY.to_owned()),
            settings: Map::new(),
            env: Vec::new(),
            ignore_unread: false,
            helix: false,
            client_name: None,
            raw_options: None,
            hover_wait_ms: Some(TEST_HOVER_WAIT_MS),
        }
    }
}

impl TestServerBuilder {
    /// A client that behaves as Helix 25.07 does (from `helix-lsp/src/
    /// client.rs` and `helix-term/src/commands/lsp.rs`): `clientInfo.name`
    /// `helix`, UTF-8 offered first, `codeAction/resolve` for `edit`,
    /// work-done progress, and a picked action resolved synchronously: while
    /// its resolve is pending, the server's own requests
    /// (`window/workDoneProgress/create`, `workspace/applyEdit`) wait
    /// unanswered. Helix never cancels; its request timeout (20 s) is the
    /// test's to apply. A hover is drawn only when every server answered
    /// (Helix joins the servers' hover requests before showing any): the
    /// test awaits this server's hover answer, which is all Helix waits for
    /// from it.
    pub fn helix(mut self) -> Self {
        self.helix = true;
        self.resolve = true;
        self.encoding = "utf-8".to_owned();
        self
    }

    /// The `clientInfo.name` the client sends (with the Helix flavour, in
    /// place of `helix`: a client that behaves as Helix does but is not
    /// known by name, such as a fork).
    pub fn client_name(mut self, name: &str) -> Self {
        self.client_name = Some(name.to_owned());
        self
    }

    /// The resolve path: the client announces `codeAction/resolve` support
    /// for `edit`, so listed actions carry `data` and get their edit when
    /// resolved.
    pub fn resolve(mut self) -> Self {
        self.resolve = true;
        self
    }

    /// The command path (the default): no resolve support, so actions carry
    /// the `codex.runAction` command and the server applies edits with
    /// `workspace/applyEdit`.
    pub fn command_path(mut self) -> Self {
        self.resolve = false;
        self
    }

    /// A client without `workspaceEdit.documentChanges`: edits come as the
    /// plain `changes` map (unversioned).
    pub fn plain_changes(mut self) -> Self {
        self.document_changes = false;
        self
    }

    /// A client without `window.workDoneProgress`: no progress tokens, no
    /// `$/progress` (the `codex/status` notifications remain).
    pub fn no_progress(mut self) -> Self {
        self.progress = false;
        self
    }

    /// The one position encoding the client offers: `utf-8`, `utf-16` or
    /// `utf-32`.
    pub fn encoding(mut self, encoding: &str) -> Self {
        assert!(
            matches!(encoding, "utf-8" | "utf-16" | "utf-32"),
            "unknown position encoding {encoding:?}"
        );
        self.encoding = encoding.to_owned();
        self
    }

    /// Whether the client announces the `create` resource operation (so a
    /// patch may add files). On by default.
    pub fn create_files(mut self, on: bool) -> Self {
        self.create_files = on;
        self
    }

    /// Whether the client supports `window/showDocument` (explanations open
    /// as documents; without it they are shown as messages). On by default.
    pub fn show_document(mut self, on: bool) -> Self {
        self.show_document = on;
        self
    }

    /// The client announces LSP 3.18 `codeAction.tagSupport` with the
    /// `LLMGenerated` tag (1).
    pub fn tag_support(mut self) -> Self {
        self.tags = true;
        self
    }

    /// Sets any client capability at a JSON pointer (objects on the way are
    /// created), after the flavour above is applied, e.g.
    /// `.capability("/workspace/configuration", json!(true))`.
    pub fn capability(mut self, pointer: &str, value: Value) -> Self {
        self.capability_patches.push((pointer.to_owned(), value));
        self
    }

    /// Writes `text` at `path` (relative to the workspace root) and opens it
    /// at start, with a language id from its extension (`.rs`: `rust`,
    /// otherwise `plaintext`). The first file opened is the main document
    /// ([`TestServer::uri`]).
    pub fn file(self, path: &str, text: impl Into<String>) -> Self {
        let language = if path.ends_with(".rs") {
            "rust"
        } else {
            "plaintext"
        };
        self.file_as(path, language, text)
    }

    /// Like [`TestServerBuilder::file`] with an explicit language id.
    pub fn file_as(mut self, path: &str, language_id: &str, text: impl Into<String>) -> Self {
        self.files.push(WorkspaceFile {
            path: path.to_owned(),
            contents: text.into().into_bytes(),
            open_as: Some(language_id.to_owned()),
        });
        self
    }

    /// Writes `contents` at `path` without opening it (for files the server
    /// reads from disk).
    pub fn disk_file(mut self, path: &str, contents: impl Into<Vec<u8>>) -> Self {
        self.files.push(WorkspaceFile {
            path: path.to_owned(),
            contents: contents.into(),
            open_as: None,
        });
        self
    }

    /// The fake server's script.
    pub fn script(mut self, script: Script) -> Self {
        self.script = script;
        self
    }

    /// A script of one rule.
    pub fn rule(self, rule: Rule) -> Self {
        self.script(Script::new(vec![rule]))
    }

    /// A script answering every request with `reply`.
    pub fn reply(self, reply: impl Into<String>) -> Self {
        self.script(Script::reply(reply))
    }

    /// The `OPENAI_API_KEY` the server gets.
    pub fn api_key(mut self, key: &str) -> Self {
        self.api_key = Some(key.to_owned());
        self
    }

    /// No `OPENAI_API_KEY` at all.
    pub fn no_api_key(mut self) -> Self {
        self.api_key = None;
        self
    }

    /// One setting in `initializationOptions` (over the defaults `baseUrl`
    /// and `maxRetries: 0`).
    pub fn setting(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.settings.insert(key.to_owned(), value.into());
        self
    }

    /// Several settings at once: the keys of a JSON object, each replacing
    /// the value before it.
    pub fn settings(mut self, settings: Value) -> Self {
        match settings {
            Value::Object(map) => self.settings.extend(map),
            other => panic!("settings must be a JSON object, not {other}"),
        }
        self
    }

    /// An environment variable for the server (its environment is otherwise
    /// `PATH`, `HOME`, `CODEX_LSP_LOG` and the API key).
    pub fn env(mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> Self {
        let value = value.as_ref().to_string_lossy().into_owned();
        self.env.push((key.to_owned(), value));
        self
    }

    /// The `explain.hoverWaitMs` to set (merged into any `explain` setting
    /// the test gives), or `None` for the server's own default. The harness
    /// sets [`TEST_HOVER_WAIT_MS`] unless told otherwise.
    pub fn hover_wait_ms(mut self, ms: Option<u64>) -> Self {
        self.hover_wait_ms = ms;
        self
    }

    /// Sends exactly `options` as `initializationOptions`, in place of the
    /// defaults and [`TestServerBuilder::setting`]s (so the server does not
    /// know the fake server unless `options` says so): for checking a
    /// configuration as an editor would send it.
    pub fn raw_initialization_options(mut self, options: Value) -> Self {
        self.raw_options = Some(options);
        self
    }

    /// Skips the check at drop that every message was read.
    pub fn ignore_unread(mut self) -> Self {
        self.ignore_unread = true;
        self
    }

    /// The client capabilities this builder announces.
    pub fn capabilities(&self) -> Value {
        let mut code_action = json!({
            "codeActionLiteralSupport": { "codeActionKind": {
                "valueSet": ["quickfix", "refactor", "refactor.rewrite"] } },
            "dataSupport": true
        });
        if self.resolve {
            code_action["resolveSupport"] = json!({ "properties": ["edit"] });
        }
        if self.tags {
            code_action["tagSupport"] = json!({ "valueSet": [1] });
        }
        let mut workspace_edit = json!({ "documentChanges": self.document_changes });
        if self.create_files {
            workspace_edit["resourceOperations"] = json!(["create"]);
        }
        let mut caps = json!({
            "general": { "positionEncodings": [self.encoding] },
            "workspace": { "applyEdit": true, "workspaceEdit": workspace_edit },
            "textDocument": {
                "codeAction": code_action,
                "hover": { "contentFormat": ["markdown", "plaintext"] }
            },
            "window": {
                "workDoneProgress": self.progress,
                "showDocument": { "support": self.show_document }
            }
        });
        for (pointer, value) in &self.capability_patches {
            set_pointer(&mut caps, pointer, value.clone());
        }
        caps
    }

    /// Creates the workspace, starts the fake server and the real server,
    /// initializes it and opens the files.
    pub async fn start(self) -> TestServer {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("no temporary directory: {e}"));
        let temp = dir
            .path()
            .canonicalize()
            .unwrap_or_else(|e| panic!("cannot canonicalize the temporary directory: {e}"));
        let root = temp.join("ws");
        for file in &self.files {
            write_file(&root.join(&file.path), &file.contents);
        }
        std::fs::create_dir_all(&root).unwrap_or_else(|e| panic!("cannot create {root:?}: {e}"));
        let fake = FakeResponses::start(self.script.clone()).await;
        let mut env: Vec<(&str, &str)> = Vec::new();
        if let Some(key) = &self.api_key {
            env.push(("OPENAI_API_KEY", key));
        }
        env.extend(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let mut client =
            LspClient::spawn(&env).unwrap_or_else(|e| panic!("cannot start codex-lsp: {e}"));
        if self.helix {
            client.set_client_info("helix", "25.07.1");
            client.block_server_requests_during(&["codeAction/resolve"]);
        }
        if let Some(name) = &self.client_name {
            client.set_client_info(name, "1.0");
        }
        let mut options = json!({ "baseUrl": fake.base_url(), "maxRetries": 0 });
        for (key, value) in &self.settings {
            options[key] = value.clone();
        }
        if let Some(ms) = self.hover_wait_ms {
            match options.get_mut("explain") {
                Some(Value::Object(explain)) => {
                    explain.entry("hoverWaitMs").or_insert(json!(ms));
                }
                Some(_) => {} // a test giving a bad value on purpose
                None => options["explain"] = json!({ "hoverWaitMs": ms }),
            }
        }
        if let Some(raw) = &self.raw_options {
            options = raw.clone();
        }
        let initialize_result = client
            .initialize(Some(&root), self.capabilities(), options)
            .await;
        let encoding = initialize_result["capabilities"]["positionEncoding"]
            .as_str()
            .unwrap_or("utf-16")
            .to_owned();
        let mut uri = None;
        for file in &self.files {
            if let Some(language) = &file.open_as {
                let file_uri = file_uri(&root.join(&file.path));
                let text = String::from_utf8_lossy(&file.contents);
                client.did_open(&file_uri, language, 1, &text);
                uri.get_or_insert(file_uri);
            }
        }
        TestServer {
            client: Some(client),
            fake,
            dir,
            temp,
            root,
            uri,
            encoding,
            initialize_result,
            read: Mutex::default(),
            ignore_unread: self.ignore_unread,
        }
    }
}

fn write_file(path: &Path, contents: &[u8]) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("cannot create {parent:?}: {e}"));
    }
    std::fs::write(path, contents).unwrap_or_else(|e| panic!("cannot write {path:?}: {e}"));
}

/// Sets `value` at a JSON pointer, creating objects on the way.
fn set_pointer(target: &mut Value, pointer: &str, value: Value) {
    let mut at = target;
    for key in pointer.trim_start_matches('/').split('/') {
        if !at.is_object() {
            *at = Value::Object(Map::new());
        }
        at = &mut at[key];
    }
    *at = value;
}

/// A running `codex-lsp` with its fake editor, fake Responses server and
/// temporary workspace `<tmp>/ws` (`<tmp>` is free for files outside it).
/// See the [module documentation](self) for the read check at drop.
pub struct TestServer {
    client: Option<LspClient>,
    fake: FakeResponses,
    dir: tempfile::TempDir,
    temp: PathBuf,
    root: PathBuf,
    uri: Option<String>,
    encoding: String,
    initialize_result: Value,
    /// How many messages of each kind (see [`key`]) the test has read.
    read: Mutex<HashMap<String, usize>>,
    ignore_unread: bool,
}

/// The read-tracking key of a recorded message.
fn key(kind: &str, message: &Value) -> String {
    format!("{kind} {}", message["method"].as_str().unwrap_or_default())
}

const NOTIFICATION: &str = "notification";
const SERVER_REQUEST: &str = "request";
const ORPHAN: &str = "response to no request";

impl TestServer {
    /// A builder with the defaults described at [`TestServerBuilder`].
    pub fn builder() -> TestServerBuilder {
        TestServerBuilder::default()
    }

    /// The LSP client (raw access; reading through it does not mark
    /// anything read).
    pub fn client(&self) -> &LspClient {
        self.client.as_ref().unwrap_or_else(|| unreachable!())
    }

    /// The LSP client, mutably (for raw requests).
    pub fn client_mut(&mut self) -> &mut LspClient {
        self.client.as_mut().unwrap_or_else(|| unreachable!())
    }

    /// The fake Responses server.
    pub fn fake(&self) -> &FakeResponses {
        &self.fake
    }

    /// Replaces the fake server's script.
    pub fn set_script(&self, script: Script) {
        self.fake.set_script(script);
    }

    /// Lets the fake server's responses held on `gate` go on (see
    /// [`Rule::held_until`]).
    pub fn release_model(&self, gate: &str) {
        self.fake.release(gate);
    }

    /// Every request the fake server received so far.
    pub fn model_requests(&self) -> Vec<RecordedRequest> {
        self.fake.requests()
    }

    /// The workspace root, `<tmp>/ws`.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The (canonical) temporary directory holding the workspace.
    pub fn temp_dir(&self) -> &Path {
        &self.temp
    }

    /// A path in the workspace.
    pub fn path(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }

    /// The `file://` URI of a path in the workspace.
    pub fn uri_of(&self, relative: &str) -> String {
        file_uri(&self.path(relative))
    }

    /// The main document: the first file opened at start.
    pub fn uri(&self) -> String {
        self.uri
            .clone()
            .unwrap_or_else(|| panic!("no file was opened at start"))
    }

    /// The negotiated position encoding.
    pub fn encoding(&self) -> &str {
        &self.encoding
    }

    /// The `initialize` result.
    pub fn initialize_result(&self) -> &Value {
        &self.initialize_result
    }

    /// Writes a file in the workspace without opening it.
    pub fn write(&self, relative: &str, contents: impl AsRef<[u8]>) {
        write_file(&self.path(relative), contents.as_ref());
    }

    /// Writes a file in the workspace and opens it (version 1); returns its URI.
    pub fn open(&self, relative: &str, language_id: &str, text: &str) -> String {
        self.write(relative, text);
        let uri = self.uri_of(relative);
        self.client().did_open(&uri, language_id, 1, text);
        uri
    }

    /// One incremental change to the main document.
    pub fn did_change(&self, version: i32, range: Value, text: &str) {
        self.client().did_change(&self.uri(), version, range, text);
    }

    /// Sends a notification.
    pub fn notify(&self, method: &str, params: Value) {
        self.client().notify(method, params);
    }

    /// Sends a request and returns its whole response, without a barrier.
    pub async fn request(&mut self, method: &str, params: Value) -> Value {
        self.client_mut().request(method, params).await
    }

    /// Sends a request without waiting; returns its id and response slot.
    pub fn send_request(&mut self, method: &str, params: Value) -> (i64, oneshot::Receiver<Value>) {
        self.client_mut().send_request(method, params)
    }

    /// Sends a request, waits for its response, then for a [barrier]
    /// (so whatever the server sent while handling it has arrived).
    ///
    /// [barrier]: TestServer::barrier
    pub async fn settled_request(&mut self, method: &str, params: Value) -> Value {
        let response = self.request(method, params).await;
        self.barrier().await;
        response
    }

    /// A round trip proving that everything the server sent before reading
    /// it has arrived (see [`LspClient::barrier`]).
    pub async fn barrier(&mut self) {
        self.client_mut().barrier().await;
    }

    /// Lists code actions for `range` of the main document (no diagnostics).
    pub async fn list_actions(&mut self, range: Value) -> Vec<Value> {
        let uri = self.uri();
        self.list_actions_in(&uri, range, json!({ "diagnostics": [] }))
            .await
    }

    /// Lists code actions with a given context; panics unless the result is
    /// an array.
    pub async fn list_actions_in(&mut self, uri: &str, range: Value, context: Value) -> Vec<Value> {
        let params = json!({ "textDocument": { "uri": uri }, "range": range, "context": context });
        let response = self
            .settled_request("textDocument/codeAction", params)
            .await;
        response["result"]
            .as_array()
            .cloned()
            .unwrap_or_else(|| panic!("codeAction answered no list: {response}"))
    }

    /// The listed action titled `title` at `range` of the main document.
    pub async fn action(&mut self, range: Value, title: &str) -> Value {
        let actions = self.list_actions(range).await;
        actions
            .iter()
            .find(|a| a["title"] == title)
            .cloned()
            .unwrap_or_else(|| panic!("no action {title:?} among {actions:?}"))
    }

    /// Picks a listed action as Helix does (`helix-view/src/action.rs`): an
    /// action lacking its `edit` or its `command` is first resolved, and
    /// Helix's UI waits for that answer (at most [`HELIX_TIMEOUT`]; this
    /// panics after it, as the user would have seen nothing); then the
    /// command, if any, is sent with `workspace/executeCommand` without
    /// waiting for it.
    pub async fn pick(&mut self, action: Value) -> Picked {
        let complete = action.get("edit").is_some() && action.get("command").is_some();
        let resolved = if complete {
            action
        } else {
            let (_, pending) = self.send_request("codeAction/resolve", action);
            let response = tokio::time::timeout(HELIX_TIMEOUT, pending)
                .await
                .unwrap_or_else(|_| panic!("codeAction/resolve took longer than Helix waits"))
                .unwrap_or_else(|_| panic!("the server closed before answering the resolve"));
            response["result"].clone()
        };
        let command = resolved.get("command").cloned().map(|command| {
            let params = json!({ "command": command["command"],
                                 "arguments": command["arguments"] });
            self.send_request("workspace/executeCommand", params)
        });
        Picked { resolved, command }
    }

    /// Waits for the answer to a request sent earlier, at most
    /// [`HELIX_TIMEOUT`] (what Helix would wait), then for a
    /// [barrier](TestServer::barrier).
    pub async fn within_helix_timeout(&mut self, pending: oneshot::Receiver<Value>) -> Value {
        let response = tokio::time::timeout(HELIX_TIMEOUT, pending)
            .await
            .unwrap_or_else(|_| panic!("no answer within Helix's request timeout"))
            .unwrap_or_else(|_| panic!("the server closed before answering"));
        self.barrier().await;
        response
    }

    /// `codeAction/resolve`; returns the whole response.
    pub async fn resolve(&mut self, action: Value) -> Value {
        self.settled_request("codeAction/resolve", action).await
    }

    /// The arguments of `codex.runAction` for `action` at `range` of the
    /// main document (add `instruction` or `diagnostic` as needed).
    pub fn run_args(&self, action: &str, range: Value) -> Value {
        json!({ "action": action, "textDocument": { "uri": self.uri() }, "range": range })
    }

    /// Runs `action` at `range` of the main document through
    /// `workspace/executeCommand`; returns the whole response.
    pub async fn run_action(&mut self, action: &str, range: Value) -> Value {
        let args = self.run_args(action, range);
        self.run_action_with(args).await
    }

    /// Runs `codex.runAction` with the given arguments (the main document
    /// unless they name a `textDocument`); returns the whole response.
    pub async fn run_action_with(&mut self, args: Value) -> Value {
        let params = self.run_action_params(args);
        self.settled_request("workspace/executeCommand", params)
            .await
    }

    /// Runs `codex.refine` on the main document with `instruction`;
    /// returns the whole response.
    pub async fn refine(&mut self, instruction: &str) -> Value {
        let params = json!({ "command": "codex.refine",
                             "arguments": [{ "textDocument": { "uri": self.uri() },
                                             "instruction": instruction }] });
        self.settled_request("workspace/executeCommand", params)
            .await
    }

    /// Sends `codex.runAction` without waiting; returns the request id and
    /// its response slot.
    pub fn send_run_action(&mut self, args: Value) -> (i64, oneshot::Receiver<Value>) {
        let params = self.run_action_params(args);
        self.send_request("workspace/executeCommand", params)
    }

    fn run_action_params(&self, mut args: Value) -> Value {
        if args.get("textDocument").is_none() {
            args["textDocument"] = json!({ "uri": self.uri() });
        }
        json!({ "command": "codex.runAction", "arguments": [args] })
    }

    /// Runs `codex.explain` on `range` of a document; returns the whole response.
    pub async fn explain(&mut self, uri: &str, range: Value) -> Value {
        let params = json!({ "command": "codex.explain",
                             "arguments": [{ "textDocument": { "uri": uri }, "range": range }] });
        self.settled_request("workspace/executeCommand", params)
            .await
    }

    /// The params of a hover on a document.
    pub fn hover_params(uri: &str, line: u32, character: u32) -> Value {
        json!({ "textDocument": { "uri": uri }, "position": { "line": line, "character": character } })
    }

    /// A hover on the main document; returns the whole response.
    pub async fn hover(&mut self, line: u32, character: u32) -> Value {
        let uri = self.uri();
        self.hover_in(&uri, line, character).await
    }

    /// A hover on a document; returns the whole response.
    pub async fn hover_in(&mut self, uri: &str, line: u32, character: u32) -> Value {
        let params = Self::hover_params(uri, line, character);
        self.settled_request("textDocument/hover", params).await
    }

    fn mark_read(&self, key: String, count: usize) {
        let mut read = self.read.lock().unwrap_or_else(|p| p.into_inner());
        let seen = read.entry(key).or_default();
        *seen = (*seen).max(count);
    }

    fn read_count(&self, key: &str) -> usize {
        let read = self.read.lock().unwrap_or_else(|p| p.into_inner());
        read.get(key).copied().unwrap_or_default()
    }

    /// Notifications with `method` so far; marks them read.
    pub fn notifications(&self, method: &str) -> Vec<Value> {
        let found = self.client().notifications_named(method);
        self.mark_read(format!("{NOTIFICATION} {method}"), found.len());
        found
    }

    /// Every notification so far; marks them all read.
    pub fn all_notifications(&self) -> Vec<Value> {
        let all = self.client().notifications();
        mark_all(self, NOTIFICATION, &all);
        all
    }

    /// Requests the server sent with `method`; marks them read.
    pub fn server_requests(&self, method: &str) -> Vec<Value> {
        let found = self.client().server_requests_named(method);
        self.mark_read(format!("{SERVER_REQUEST} {method}"), found.len());
        found
    }

    /// Every request the server sent so far; marks them all read.
    pub fn all_server_requests(&self) -> Vec<Value> {
        let all = self.client().server_requests();
        mark_all(self, SERVER_REQUEST, &all);
        all
    }

    /// Responses that matched no request (e.g. `id: null` parse errors);
    /// marks them read.
    pub fn orphan_responses(&self) -> Vec<Value> {
        let found = self.client().orphan_responses();
        self.mark_read(ORPHAN.to_owned(), found.len());
        found
    }

    /// Every message from the server in arrival order, in short (see
    /// [`LspClient::arrivals`]); marks nothing read.
    pub fn arrivals(&self) -> Vec<Value> {
        self.client().arrivals()
    }

    /// The texts of every `window/showMessage` so far; marks them read.
    pub fn messages(&self) -> Vec<String> {
        message_texts(&self.notifications("window/showMessage"))
    }

    /// The texts of the `window/showMessage`s not read before; marks them read.
    pub fn new_messages(&self) -> Vec<String> {
        let before = self.read_count(&format!("{NOTIFICATION} window/showMessage"));
        self.messages().split_off(before)
    }

    /// [Barrier](TestServer::barrier), then [`TestServer::messages`]: every
    /// message sent until now, with none on its way.
    pub async fn settled_messages(&mut self) -> Vec<String> {
        self.barrier().await;
        self.messages()
    }

    /// Waits for a `window/showMessage` containing `needle` (failing the
    /// test after [`WAIT`]), then returns every message text so far.
    pub async fn wait_for_message(&self, needle: &str) -> Vec<String> {
        let arrived = self
            .client()
            .wait_until(WAIT, |n, _| {
                message_texts(n).iter().any(|text| text.contains(needle))
            })
            .await;
        let messages = self.messages();
        assert!(arrived, "no message containing {needle:?}: {messages:?}");
        messages
    }

    /// Waits until `count` `window/showMessage`s have arrived (failing the
    /// test after [`WAIT`]), then [barrier](TestServer::barrier) so a
    /// further one would be seen; returns every message text.
    pub async fn wait_for_messages(&mut self, count: usize) -> Vec<String> {
        let arrived = self
            .client()
            .wait_until(WAIT, |n, _| message_texts(n).len() >= count)
            .await;
        assert!(
            arrived,
            "{count} message(s) expected: {:?}",
            self.messages()
        );
        self.settled_messages().await
    }

    /// Waits for a notification with `method` for which `pred` holds
    /// (failing the test after [`WAIT`]); returns it and marks the
    /// notifications with `method` read.
    pub async fn wait_for_notification(
        &self,
        method: &str,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        let wanted = |m: &Value| m["method"] == method && pred(m);
        let arrived = self
            .client()
            .wait_until(WAIT, |n, _| n.iter().any(wanted))
            .await;
        let all = self.notifications(method);
        assert!(arrived, "no matching {method} among {all:?}");
        all.into_iter()
            .find(|m| wanted(m))
            .unwrap_or_else(|| unreachable!())
    }

    /// The `edit` of every `workspace/applyEdit` so far; marks them read.
    pub fn applied_edits(&self) -> Vec<Value> {
        self.server_requests("workspace/applyEdit")
            .into_iter()
            .map(|r| r["params"]["edit"].clone())
            .collect()
    }

    /// The `edit` of the last `workspace/applyEdit`; marks all read.
    pub fn last_applied_edit(&self) -> Value {
        self.applied_edits()
            .pop()
            .unwrap_or_else(|| panic!("no workspace/applyEdit"))
    }

    /// `original` with the last applied edit's changes to the main document
    /// applied (in the negotiated encoding).
    pub fn applied_text(&self, original: &str) -> String {
        let edits = edits_for(&self.last_applied_edit(), &self.uri());
        apply_lsp_edits(original, &edits, &self.encoding)
    }

    /// [Barrier](TestServer::barrier), then asserts that the server never
    /// sent `workspace/applyEdit`.
    pub async fn assert_no_applied_edits(&mut self) {
        self.barrier().await;
        let edits = self.applied_edits();
        assert!(edits.is_empty(), "workspace/applyEdit was sent: {edits:?}");
    }

    /// The params of every `window/showDocument` so far; marks them read.
    pub fn shown_documents(&self) -> Vec<Value> {
        self.server_requests("window/showDocument")
            .into_iter()
            .map(|r| r["params"].clone())
            .collect()
    }

    /// Waits until the fake server has received `n` requests (failing the
    /// test after [`WAIT`]).
    pub async fn wait_for_model_requests(&self, n: usize) {
        let arrived = self.fake.wait_for_requests(n, WAIT).await;
        assert!(
            arrived,
            "the fake server received {} request(s), not {n}",
            self.fake.requests().len()
        );
    }

    /// Waits until the fake server has handed `n` text deltas of one
    /// streamed answer to the connection (failing the test after [`WAIT`]).
    pub async fn wait_for_deltas_sent(&self, n: usize) {
        let sent = self
            .fake
            .wait_until(WAIT, |r| r.iter().any(|r| r.deltas_sent >= n))
            .await;
        assert!(sent, "the fake server never streamed {n} delta(s)");
    }

    /// Waits until the server reports, in a `$/progress` report, that it
    /// has received model text: the stream is under way on its side
    /// (needs work-done progress).
    pub async fn wait_for_streamed_text(&self) -> Value {
        self.wait_for_notification("$/progress", |m| {
            let value = &m["params"]["value"];
            value["kind"] == "report"
                && value["message"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("receiving"))
        })
        .await
    }

    /// Waits until some client dropped a fake-server response early
    /// (failing the test after [`WAIT`]); returns when the fake noticed.
    pub async fn wait_for_disconnect(&self) -> Instant {
        self.fake
            .wait_for_disconnect(WAIT)
            .await
            .unwrap_or_else(|| panic!("the fake server saw no disconnect"))
    }

    /// The server's resident set size in KiB.
    pub fn rss_kib(&self) -> u64 {
        self.client()
            .rss_kib()
            .unwrap_or_else(|| panic!("no RSS for the server (not Linux, or it exited)"))
    }

    /// Reads the server's RSS every 50 ms until `done(kib)` holds or
    /// `timeout` passes; returns the last reading (the caller asserts on
    /// it). `/proc` offers nothing to wait on, hence the polling.
    pub async fn wait_for_rss(&self, timeout: Duration, done: impl Fn(u64) -> bool) -> u64 {
        let deadline = Instant::now() + timeout;
        loop {
            let rss = self.rss_kib();
            if done(rss) || Instant::now() >= deadline {
                return rss;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Regex filters for snapshots: the temporary directory becomes `[TMP]`
    /// and the fake server's port `[PORT]`.
    pub fn snapshot_filters(&self) -> Vec<(String, String)> {
        let mut filters = Vec::new();
        let mut dirs = vec![self.temp.display().to_string()];
        let raw = self.dir.path().display().to_string();
        if !dirs.contains(&raw) {
            dirs.push(raw);
        }
        for dir in dirs {
            filters.push((regex_escape(&dir), "[TMP]".to_owned()));
        }
        filters.push((
            format!(r"127\.0\.0\.1:{}\b", self.fake.addr().port()),
            "127.0.0.1:[PORT]".to_owned(),
        ));
        filters
    }

    /// Turns the check at drop off for this server.
    pub fn ignore_unread(&mut self) {
        self.ignore_unread = true;
    }

    /// Everything received that the test has not read (see the module
    /// documentation), labelled.
    pub fn unread(&self) -> Vec<String> {
        let client = self.client();
        let mut groups: Vec<(String, Vec<Value>)> = Vec::new();
        let mut push = |key: String, message: Value| match groups.iter_mut().find(|g| g.0 == key) {
            Some(group) => group.1.push(message),
            None => groups.push((key, vec![message])),
        };
        for n in client.notifications() {
            if !AMBIENT_NOTIFICATIONS.contains(&n["method"].as_str().unwrap_or_default()) {
                push(key(NOTIFICATION, &n), n);
            }
        }
        for r in client.server_requests() {
            if !AMBIENT_SERVER_REQUESTS.contains(&r["method"].as_str().unwrap_or_default()) {
                push(key(SERVER_REQUEST, &r), r);
            }
        }
        for o in client.orphan_responses() {
            push(ORPHAN.to_owned(), o);
        }
        let mut unread = Vec::new();
        for (key, messages) in groups {
            for message in messages.into_iter().skip(self.read_count(&key)) {
                let mut text = message.to_string();
                if text.len() > 500 {
                    let cut = (0..=500).rev().find(|i| text.is_char_boundary(*i));
                    text.truncate(cut.unwrap_or(0));
                    text.push('…');
                }
                unread.push(format!("{key}: {text}"));
            }
        }
        unread
    }

    /// Panics if something went unread (unless opted out).
    fn check_unread(&self) {
        if self.ignore_unread {
            return;
        }
        let unread = self.unread();
        assert!(
            unread.is_empty(),
            "the test never looked at {} message(s) from the server:\n  {}\n\
             Read them (messages(), applied_edits(), shown_documents(), notifications(), \
             orphan_responses(), ...) or opt out with ignore_unread().",
            unread.len(),
            unread.join("\n  ")
        );
    }

    /// [Barrier](TestServer::barrier), the read check, then `shutdown` and
    /// `exit`; returns the exit code.
    pub async fn shutdown(self) -> Option<i32> {
        self.shutdown_keep_logs().await.0
    }

    /// Like [`TestServer::shutdown`], and returns everything the server
    /// wrote to stderr.
    pub async fn shutdown_keep_logs(mut self) -> (Option<i32>, String) {
        self.barrier().await;
        self.check_unread();
        self.ignore_unread = true;
        let client = self.client.take().unwrap_or_else(|| unreachable!());
        client.shutdown_keep_logs().await
    }
}

fn mark_all(server: &TestServer, kind: &str, messages: &[Value]) {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for message in messages {
        *counts.entry(key(kind, message)).or_default() += 1;
    }
    for (key, count) in counts {
        server.mark_read(key, count);
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if self.client.is_some() && !std::thread::panicking() {
            self.check_unread();
        }
    }
}

fn message_texts(notifications: &[Value]) -> Vec<String> {
    notifications
        .iter()
        .filter(|m| m["method"] == "window/showMessage")
        .map(|m| {
            m["params"]["message"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

/// The text edits a `WorkspaceEdit` makes to `uri`, from `documentChanges`
/// (text document edits; resource operations are skipped) or `changes`.
pub fn edits_for(edit: &Value, uri: &str) -> Vec<Value> {
    if let Some(changes) = edit["documentChanges"].as_array() {
        return changes
            .iter()
            .filter(|c| c["textDocument"]["uri"] == uri)
            .flat_map(|c| c["edits"].as_array().cloned().unwrap_or_default())
            .collect();
    }
    edit["changes"][uri].as_array().cloned().unwrap_or_default()
}

/// The text of a hover response (`""` for none).
pub fn hover_text(response: &Value) -> String {
    response["result"]["contents"]["value"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn regex_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// `insta::assert_json_snapshot!` with the [`TestServer::snapshot_filters`]
/// of a server: `assert_json_snapshot!(server, "name", value)` (any
/// arguments after the server are insta's, redactions included). The
/// calling crate needs `insta` with the `json` and `filters` features
/// (and `redactions` to use redactions).
#[macro_export]
macro_rules! assert_json_snapshot {
    ($server:expr, $($insta:tt)+) => {{
        let mut settings = ::insta::Settings::clone_current();
        for (regex, replacement) in ($server).snapshot_filters() {
            settings.add_filter(&regex, replacement);
        }
        settings.bind(|| ::insta::assert_json_snapshot!($($insta)+));
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_create_objects_on_the_way() {
        let mut caps = json!({ "textDocument": { "hover": {} } });
        set_pointer(
            &mut caps,
            "/textDocument/codeAction/tagSupport",
            json!({ "valueSet": [1] }),
        );
        set_pointer(&mut caps, "/workspace/configuration", json!(true));
        assert_eq!(
            caps,
            json!({ "textDocument": { "hover": {}, "codeAction": { "tagSupport": { "valueSet": [1] } } },
                    "workspace": { "configuration": true } })
        );
    }

    #[test]
    fn edits_come_from_either_form() {
        let uri = "file:///a.rs";
        let edit = json!([{ "range": range(0, 0, 0, 0), "newText": "x" }]);
        let versioned = json!({ "documentChanges": [
            { "kind": "create", "uri": "file:///b.rs" },
            { "textDocument": { "uri": uri, "version": 1 }, "edits": edit }
        ] });
        let plain = json!({ "changes": { uri: edit } });
        assert_eq!(
            edits_for(&versioned, uri),
            edit.as_array().cloned().unwrap_or_default()
        );
        assert_eq!(
            edits_for(&plain, uri),
            edit.as_array().cloned().unwrap_or_default()
        );
        assert!(edits_for(&plain, "file:///other.rs").is_empty());
    }

    #[test]
    fn regex_escape_escapes_path_characters() {
        assert_eq!(regex_escape("/tmp/.tmpA-b+c"), r"/tmp/\.tmpA\-b\+c");
    }

    #[test]
    fn flavours_shape_the_capabilities() {
        let caps = TestServer::builder()
            .resolve()
            .plain_changes()
            .no_progress()
            .encoding("utf-32")
            .create_files(false)
            .show_document(false)
            .tag_support()
            .capabilities();
        assert_eq!(caps["general"]["positionEncodings"], json!(["utf-32"]));
        assert_eq!(
            caps["workspace"]["workspaceEdit"],
            json!({ "documentChanges": false })
        );
        assert_eq!(
            caps["window"],
            json!({ "workDoneProgress": false, "showDocument": { "support": false } })
        );
        let code_action = &caps["textDocument"]["codeAction"];
        assert_eq!(
            code_action["resolveSupport"],
            json!({ "properties": ["edit"] })
        );
        assert_eq!(code_action["tagSupport"], json!({ "valueSet": [1] }));
        let default = TestServer::builder().capabilities();
        assert!(
            default["textDocument"]["codeAction"]
                .get("resolveSupport")
                .is_none()
        );
        assert!(
            default["textDocument"]["codeAction"]
                .get("tagSupport")
                .is_none()
        );
        assert_eq!(
            default["workspace"]["workspaceEdit"],
            json!({ "documentChanges": true, "resourceOperations": ["create"] })
        );
    }
}
