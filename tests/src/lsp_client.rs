//! A small LSP client for end-to-end tests: spawns the real `codex-lsp`
//! binary, speaks JSON-RPC with `Content-Length` framing over its stdio,
//! answers the server's requests (`workspace/applyEdit`, progress creation,
//! configuration) the way an editor would, and records every notification.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::{Notify, mpsc, oneshot};

/// Locates the `codex-lsp` binary: `CODEX_LSP_BIN`, else next to the test
/// executable (`target/<profile>/codex-lsp`). Under cargo, the binary is
/// (re)built first, once per test process, so tests never run a stale server
/// (a no-op when it is up to date).
pub fn server_binary() -> PathBuf {
    if let Ok(path) = std::env::var("CODEX_LSP_BIN") {
        return PathBuf::from(path);
    }
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let exe = std::env::current_exe().unwrap_or_default();
            // target/debug/deps/test-xxxx -> target/debug; a binary such as
            // the demo lives in target/<profile> itself.
            let mut dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
            if dir.ends_with("deps") {
                dir.pop();
            }
            if let Ok(cargo) = std::env::var("CARGO") {
                let mut cmd = std::process::Command::new(cargo);
                cmd.args(["build", "--quiet", "-p", "codex-lsp", "--bin", "codex-lsp"]);
                // Cargo gives test processes package-specific variables
                // (CARGO_PKG_*, CARGO_MANIFEST_DIR, ...); passed on, they make
                // the nested build look different and recompile every time.
                for (key, _) in std::env::vars() {
                    let package_specific = [
                        "CARGO_PKG_",
                        "CARGO_MANIFEST_",
                        "CARGO_CRATE_",
                        "CARGO_BIN_",
                        "CARGO_PRIMARY_PACKAGE",
                        "CARGO_TARGET_TMPDIR",
                        "CARGO_RUSTC_CURRENT_DIR",
                    ]
                    .iter()
                    .any(|prefix| key.starts_with(prefix));
                    if package_specific || key == "OUT_DIR" {
                        cmd.env_remove(&key);
                    }
                }
                if dir.ends_with("release") {
                    cmd.arg("--release");
                }
                match cmd.status() {
                    Ok(status) if status.success() => {}
                    other => eprintln!("warning: building codex-lsp failed: {other:?}"),
                }
            }
            dir.join("codex-lsp")
        })
        .clone()
}

/// Applies LSP `TextEdit`s (JSON) to `text`, with positions in the given
/// encoding (`utf-8`, `utf-16` or `utf-32`), as an editor would.
pub fn apply_lsp_edits(text: &str, edits: &[Value], encoding: &str) -> String {
    let offset = |pos: &Value| -> usize {
        let line = pos["line"].as_u64().unwrap_or(0) as usize;
        let col = pos["character"].as_u64().unwrap_or(0) as usize;
        let mut start = 0;
        for _ in 0..line {
            match text[start..].find('\n') {
                Some(i) => start += i + 1,
                None => return text.len(),
            }
        }
        let line_text = &text[start..];
        let end = line_text.find(['\r', '\n']).unwrap_or(line_text.len());
        let mut units = 0;
        for (i, c) in line_text[..end].char_indices() {
            if units >= col {
                return start + i;
            }
            units += match encoding {
                "utf-8" => c.len_utf8(),
                "utf-32" => 1,
                _ => c.len_utf16(),
            };
        }
        start + end
    };
    let mut resolved: Vec<(usize, usize, String)> = edits
        .iter()
        .map(|e| {
            (
                offset(&e["range"]["start"]),
                offset(&e["range"]["end"]),
                e["newText"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    resolved.sort_by_key(|(s, e, _)| std::cmp::Reverse((*s, *e)));
    let mut out = text.to_owned();
    for (s, e, new) in resolved {
        out.replace_range(s..e, &new);
    }
    out
}

type Pending = Arc<Mutex<HashMap<i64, oneshot::Sender<Value>>>>;

/// The method of [`LspClient::barrier`] requests: unknown to every server.
pub const BARRIER_METHOD: &str = "codex-lsp-tests/barrier";

/// How the fake editor answers `workspace/applyEdit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplyEditAnswer {
    /// Report the edit as applied.
    Apply,
    /// Report the edit as rejected.
    Reject,
}

/// The requests of ours that block answering the server (see
/// [`LspClient::block_server_requests_during`]), and the server requests
/// held meanwhile.
#[derive(Debug, Default)]
struct Blocking {
    methods: Vec<String>,
    pending: std::collections::HashSet<i64>,
    held: Vec<Value>,
}

#[derive(Default)]
struct Recorded {
    notifications: Vec<Value>,
    server_requests: Vec<Value>,
    /// Responses that match no pending request (e.g. `id: null` errors).
    orphan_responses: Vec<Value>,
    /// Every message from the server in arrival order, in short (see
    /// [`LspClient::arrivals`]).
    arrivals: Vec<Value>,
}

/// What the fake editor writes to the server's stdin.
#[derive(Debug)]
enum Outbound {
    /// A message, framed as it is written.
    Message(Value),
    /// A body sent verbatim in one frame (malformed-input tests).
    RawBody(String),
    /// Frames encoded beforehand, written as they are.
    Frames(Vec<u8>),
}

/// An LSP range (zero-based lines, columns in the negotiated encoding).
pub fn range(start_line: u32, start_col: u32, end_line: u32, end_col: u32) -> Value {
    json!({
        "start": { "line": start_line, "character": start_col },
        "end": { "line": end_line, "character": end_col }
    })
}

/// One LSP frame (header and body) holding `message`, for
/// [`LspClient::send_frames`].
pub fn frame(message: &Value) -> Vec<u8> {
    frame_body(message.to_string().as_bytes())
}

/// One LSP frame holding `body` verbatim.
fn frame_body(body: &[u8]) -> Vec<u8> {
    let mut frame = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    frame.extend_from_slice(body);
    frame
}

/// A running server with an attached fake editor.
pub struct LspClient {
    child: Child,
    out: mpsc::UnboundedSender<Outbound>,
    next_id: i64,
    pending: Pending,
    /// `clientInfo` sent with `initialize`.
    client_info: Option<Value>,
    /// Like Helix: while one of these requests of ours is pending, the
    /// server's own requests wait unanswered (Helix resolves a picked code
    /// action on its UI thread and answers server requests on that loop).
    blocking: Arc<Mutex<Blocking>>,
    recorded: Arc<Mutex<Recorded>>,
    changed: Arc<Notify>,
    configuration: Arc<Mutex<Value>>,
    apply_edit: Arc<Mutex<ApplyEditAnswer>>,
    stderr_log: Arc<Mutex<String>>,
    stderr_task: Option<tokio::task::JoinHandle<()>>,
}

impl LspClient {
    /// Spawns the server with the given environment variables (the parent
    /// environment is cleared except `PATH`, `HOME` and `CODEX_LSP_LOG`).
    pub fn spawn(env: &[(&str, &str)]) -> std::io::Result<Self> {
        Self::spawn_with_args(env, &[])
    }

    /// Spawns the server with extra command-line arguments.
    pub fn spawn_with_args(env: &[(&str, &str)], args: &[&str]) -> std::io::Result<Self> {
        Self::spawn_at(&server_binary(), env, args)
    }

    /// Spawns the server binary at `binary`.
    pub fn spawn_at(binary: &Path, env: &[(&str, &str)], args: &[&str]) -> std::io::Result<Self> {
        let mut cmd = Command::new(binary);
        cmd.args(args)
            .env_clear()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for key in ["PATH", "HOME", "CODEX_LSP_LOG"] {
            if let Ok(v) = std::env::var(key) {
                cmd.env(key, v);
            }
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn()?;
        let stdin = child
            .stdin
            .take()
            .ok_or_else(|| std::io::Error::other("no stdin"))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| std::io::Error::other("no stdout"))?;
        let stderr = child
            .stderr
            .take()
            .ok_or_else(|| std::io::Error::other("no stderr"))?;
        let (out, out_rx) = mpsc::unbounded_channel::<Outbound>();
        tokio::spawn(write_messages(stdin, out_rx));
        let client = Self {
            child,
            out,
            next_id: 1,
            pending: Arc::default(),
            client_info: None,
            blocking: Arc::default(),
            recorded: Arc::default(),
            changed: Arc::new(Notify::new()),
            configuration: Arc::new(Mutex::new(Value::Null)),
            apply_edit: Arc::new(Mutex::new(ApplyEditAnswer::Apply)),
            stderr_log: Arc::default(),
            stderr_task: None,
        };
        tokio::spawn(client.read_loop(stdout));
        let mut client = client;
        let stderr_log = Arc::clone(&client.stderr_log);
        client.stderr_task = Some(tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let mut log = stderr_log.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        }));
        Ok(client)
    }

    /// The reader: routes responses, records notifications, and answers the
    /// server's requests the way an editor would.
    fn read_loop(&self, stdout: ChildStdout) -> impl std::future::Future<Output = ()> + use<> {
        let pending = Arc::clone(&self.pending);
        let recorded = Arc::clone(&self.recorded);
        let changed = Arc::clone(&self.changed);
        let configuration = Arc::clone(&self.configuration);
        let apply_edit = Arc::clone(&self.apply_edit);
        let blocking = Arc::clone(&self.blocking);
        let out = self.out.clone();
        async move {
            let answer = |message: &Value| {
                let method = message["method"].as_str().unwrap_or_default();
                let result = match method {
                    "workspace/applyEdit" => {
                        let applied = *apply_edit.lock().unwrap() == ApplyEditAnswer::Apply;
                        json!({ "applied": applied })
                    }
                    "workspace/configuration" => {
                        let cfg = configuration.lock().unwrap().clone();
                        let n = message["params"]["items"].as_array().map_or(1, Vec::len);
                        Value::Array(vec![cfg; n])
                    }
                    "window/showDocument" => json!({ "success": true }),
                    _ => Value::Null,
                };
                let _ = out.send(Outbound::Message(json!({
                    "jsonrpc": "2.0", "id": message["id"], "result": result
                })));
            };
            let mut reader = BufReader::new(stdout);
            while let Ok(Some(message)) = read_message(&mut reader).await {
                let has_id = message.get("id").is_some_and(|id| !id.is_null());
                let method = message
                    .get("method")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                {
                    let mut rec = recorded.lock().unwrap();
                    let seq = rec.arrivals.len();
                    let kind = match (&method, has_id) {
                        (Some(_), true) => "request",
                        (Some(_), false) => "notification",
                        (None, _) => "response",
                    };
                    let mut arrival = json!({ "seq": seq, "kind": kind, "id": message["id"] });
                    if let Some(method) = &method {
                        arrival["method"] = json!(method);
                    }
                    if let Some(progress) = message["params"]["value"]["kind"].as_str() {
                        arrival["progress"] = json!(progress);
                    }
                    if let Some(state) = message["params"]["state"].as_str() {
                        arrival["state"] = json!(state);
                    }
                    rec.arrivals.push(arrival);
                }
                match (method, has_id) {
                    (Some(_), true) => {
                        recorded
                            .lock()
                            .unwrap()
                            .server_requests
                            .push(message.clone());
                        let mut blocked = blocking.lock().unwrap();
                        if blocked.pending.is_empty() {
                            drop(blocked);
                            answer(&message);
                        } else {
                            blocked.held.push(message);
                        }
                    }
                    (Some(_), false) => recorded.lock().unwrap().notifications.push(message),
                    (None, _) => {
                        let id = message["id"].as_i64().unwrap_or(-1);
                        let waiting = pending.lock().unwrap().remove(&id);
                        match waiting {
                            Some(tx) => {
                                let _ = tx.send(message);
                            }
                            None => recorded.lock().unwrap().orphan_responses.push(message),
                        }
                        // The UI loop is free again: answer what waited.
                        let released = {
                            let mut blocked = blocking.lock().unwrap();
                            if blocked.pending.remove(&id) && blocked.pending.is_empty() {
                                std::mem::take(&mut blocked.held)
                            } else {
                                Vec::new()
                            }
                        };
                        for held in &released {
                            answer(held);
                        }
                    }
                }
                changed.notify_waiters();
            }
            recorded
                .lock()
                .unwrap()
                .notifications
                .push(json!({"method": "$/eof"}));
            changed.notify_waiters();
        }
    }

    /// Sends a request and returns its whole response message (with either
    /// `result` or `error`).
    pub async fn request(&mut self, method: &str, params: Value) -> Value {
        let (id, rx) = self.send_request(method, params);
        let _ = id;
        tokio::time::timeout(Duration::from_secs(60), rx)
            .await
            .unwrap_or_else(|_| panic!("no response to {method} within 60 s"))
            .unwrap_or_else(|_| panic!("server closed before answering {method}"))
    }

    /// Sends a request without waiting; returns its id and the response slot.
    pub fn send_request(&mut self, method: &str, params: Value) -> (i64, oneshot::Receiver<Value>) {
        let id = self.next_id;
        self.next_id += 1;
        let (tx, rx) = oneshot::channel();
        self.pending.lock().unwrap().insert(id, tx);
        {
            let mut blocking = self.blocking.lock().unwrap();
            if blocking.methods.iter().any(|m| m == method) {
                blocking.pending.insert(id);
            }
        }
        self.send(json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        (id, rx)
    }

    /// The `clientInfo` the next `initialize` sends (none by default).
    pub fn set_client_info(&mut self, name: &str, version: &str) {
        self.client_info = Some(json!({ "name": name, "version": version }));
    }

    /// From now on, while a request of ours with one of these methods is
    /// pending, the server's requests (`workspace/applyEdit`,
    /// `window/workDoneProgress/create`, ...) are answered only after it
    /// returns, as Helix does for `codeAction/resolve`.
    pub fn block_server_requests_during(&self, methods: &[&str]) {
        let mut blocking = self.blocking.lock().unwrap();
        blocking.methods = methods.iter().map(|m| (*m).to_owned()).collect();
    }

    /// Sends a notification.
    pub fn notify(&self, method: &str, params: Value) {
        self.send(json!({ "jsonrpc": "2.0", "method": method, "params": params }));
    }

    /// Sends any JSON value as one framed message.
    pub fn send(&self, message: Value) {
        let _ = self.out.send(Outbound::Message(message));
    }

    /// Writes frames encoded beforehand (see [`frame`]), so that a benchmark
    /// measures the server, not this client's JSON encoding.
    pub fn send_frames(&self, frames: Vec<u8>) {
        let _ = self.out.send(Outbound::Frames(frames));
    }

    /// Sends raw bytes as one frame body (for malformed-input tests).
    pub fn send_raw_body(&self, body: &str) {
        let _ = self.out.send(Outbound::RawBody(body.to_owned()));
    }

    /// Sends `body` verbatim as one frame and waits for the response with
    /// id `id` (the body is expected to carry that id); for invalid-request
    /// tests that still name a request id.
    pub fn send_raw_request(&mut self, id: i64, body: &str) -> oneshot::Receiver<Value> {
        let (tx, rx) = oneshot::channel();
        self.pending.lock().unwrap().insert(id, tx);
        self.send_raw_body(body);
        rx
    }

    /// Every message the server sent, in the order it arrived, in short:
    /// `{"seq": n, "kind": "notification" | "request" | "response", "id",
    /// "method"?, "progress"? (the `$/progress` kind), "state"? (of
    /// `codex/status`)}`. Responses are recorded before they are handed to
    /// the waiting request, so what arrived before a response has a lower
    /// `seq`.
    pub fn arrivals(&self) -> Vec<Value> {
        self.recorded.lock().unwrap().arrivals.clone()
    }

    /// Responses that matched no pending request, e.g. the `id: null`
    /// parse errors a server sends for malformed messages.
    pub fn orphan_responses(&self) -> Vec<Value> {
        self.recorded.lock().unwrap().orphan_responses.clone()
    }

    /// `initialize` + `initialized` with the given capabilities and options;
    /// returns the initialize result.
    pub async fn initialize(
        &mut self,
        root: Option<&Path>,
        capabilities: Value,
        options: Value,
    ) -> Value {
        let root_uri = root.map(file_uri);
        let folders = root_uri
            .as_ref()
            .map(|u| json!([{ "uri": u, "name": "root" }]))
            .unwrap_or(Value::Null);
        let response = self
            .request(
                "initialize",
                json!({
                    "processId": null,
                    "clientInfo": self.client_info,
                    "rootUri": root_uri,
                    "workspaceFolders": folders,
                    "capabilities": capabilities,
                    "initializationOptions": options,
                }),
            )
            .await;
        self.notify("initialized", json!({}));
        response["result"].clone()
    }

    /// Opens a document.
    pub fn did_open(&self, uri: &str, language_id: &str, version: i32, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": uri, "languageId": language_id, "version": version, "text": text } }),
        );
    }

    /// Sends one incremental change.
    pub fn did_change(&self, uri: &str, version: i32, range: Value, text: &str) {
        self.notify(
            "textDocument/didChange",
            json!({ "textDocument": { "uri": uri, "version": version },
                    "contentChanges": [ { "range": range, "text": text } ] }),
        );
    }

    /// Sets the answer to `workspace/configuration`.
    pub fn set_configuration(&self, value: Value) {
        *self.configuration.lock().unwrap() = value;
    }

    /// Sets how `workspace/applyEdit` is answered.
    pub fn set_apply_edit_answer(&self, answer: ApplyEditAnswer) {
        *self.apply_edit.lock().unwrap() = answer;
    }

    /// All notifications received so far.
    pub fn notifications(&self) -> Vec<Value> {
        self.recorded.lock().unwrap().notifications.clone()
    }

    /// Notifications received so far with the given method.
    pub fn notifications_named(&self, method: &str) -> Vec<Value> {
        self.notifications()
            .into_iter()
            .filter(|n| n["method"] == method)
            .collect()
    }

    /// The texts of every `window/showMessage` so far, in order.
    pub fn shown_messages(&self) -> Vec<String> {
        self.notifications_named("window/showMessage")
            .iter()
            .map(|m| {
                m["params"]["message"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect()
    }

    /// Waits (up to 10 s) for a `window/showMessage`, then for a
    /// [`LspClient::barrier`], so that a duplicate sent with it would be
    /// seen; returns every text shown.
    pub async fn settled_messages(&mut self) -> Vec<String> {
        self.wait_until(Duration::from_secs(10), |n, _| {
            n.iter().any(|m| m["method"] == "window/showMessage")
        })
        .await;
        self.barrier().await;
        self.shown_messages()
    }

    /// One round trip through the server's dispatch loop: a request for a
    /// method no server implements ([`BARRIER_METHOD`]), answered at once
    /// with `MethodNotFound`.
    ///
    /// The server writes what it has queued for the client (notifications,
    /// its own requests) before it takes the next message from its input,
    /// so once the answer is here, everything the server sent before it
    /// read the barrier has been received and recorded: in particular every
    /// message a handler sent before answering a request whose answer the
    /// caller already has. The barrier waits for a free request slot, like
    /// any request.
    pub async fn barrier(&mut self) {
        let response = self.request(BARRIER_METHOD, Value::Null).await;
        assert!(
            response.get("error").is_some(),
            "the barrier request was not refused: {response}"
        );
    }

    /// All requests the server sent to the client so far.
    pub fn server_requests(&self) -> Vec<Value> {
        self.recorded.lock().unwrap().server_requests.clone()
    }

    /// Server requests with the given method.
    pub fn server_requests_named(&self, method: &str) -> Vec<Value> {
        self.server_requests()
            .into_iter()
            .filter(|n| n["method"] == method)
            .collect()
    }

    /// Waits until `pred` holds over (notifications, server requests), or
    /// the timeout passes; returns whether it held.
    pub async fn wait_until(
        &self,
        timeout: Duration,
        pred: impl Fn(&[Value], &[Value]) -> bool,
    ) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.changed.notified();
            {
                let rec = self.recorded.lock().unwrap();
                if pred(&rec.notifications, &rec.server_requests) {
                    return true;
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                let rec = self.recorded.lock().unwrap();
                return pred(&rec.notifications, &rec.server_requests);
            }
        }
    }

    /// Everything the server wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr_log.lock().unwrap().clone()
    }

    /// The server's process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// The server's resident set size in KiB (`VmRSS` of
    /// `/proc/<pid>/status`; `None` off Linux or once it has exited).
    pub fn rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()?)).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// Like [`LspClient::shutdown`], and also returns everything the server
    /// wrote to stderr until it exited.
    pub async fn shutdown_keep_logs(mut self) -> (Option<i32>, String) {
        let task = self.stderr_task.take();
        let log = Arc::clone(&self.stderr_log);
        let code = self.shutdown().await;
        if let Some(task) = task {
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
        let text = log.lock().unwrap().clone();
        (code, text)
    }

    /// `shutdown` + `exit`, then waits for the process; returns its exit code.
    pub async fn shutdown(mut self) -> Option<i32> {
        let response = self.request("shutdown", Value::Null).await;
        assert!(
            response.get("error").is_none(),
            "shutdown failed: {response}"
        );
        self.notify("exit", Value::Null);
        tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .ok()
            .and_then(Result::ok)
            .and_then(|s| s.code())
    }
}

/// A `file://` URI for a local path.
pub fn file_uri(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// Writes framed messages, flushing only when no more are queued (as an
/// editor writing a burst of changes would).
async fn write_messages(stdin: ChildStdin, mut rx: mpsc::UnboundedReceiver<Outbound>) {
    let mut stdin = tokio::io::BufWriter::with_capacity(1 << 16, stdin);
    while let Some(mut next) = rx.recv().await {
        loop {
            let bytes = match next {
                Outbound::Message(message) => frame(&message),
                Outbound::RawBody(body) => frame_body(body.as_bytes()),
                Outbound::Frames(bytes) => bytes,
            };
            if stdin.write_all(&bytes).await.is_err() {
                return;
            }
            match rx.try_recv() {
                Ok(more) => next = more,
                Err(_) => break,
            }
        }
        if stdin.flush().await.is_err() {
            return;
        }
    }
}

async fn read_message<R: tokio::io::AsyncBufRead + Unpin>(
    reader: &mut R,
) -> std::io::Result<Option<Value>> {
    let mut content_length = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await? == 0 {
            return Ok(None);
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(v) = line.strip_prefix("Content-Length:") {
            content_length = v.trim().parse::<usize>().ok();
        }
    }
    let len = content_length.ok_or_else(|| std::io::Error::other("missing Content-Length"))?;
    let mut body = vec![0; len];
    reader.read_exact(&mut body).await?;
    serde_json::from_slice(&body)
        .map(Some)
        .map_err(std::io::Error::other)
}
