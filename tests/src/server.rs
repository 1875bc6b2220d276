//! The fake Responses API server: an axum app on 127.0.0.1 that answers
//! `POST /v1/responses` from a [`Script`], records every request (secrets
//! redacted), and notices when a client drops a stream early.

use std::collections::{BTreeMap, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::script::{CallKind, Fault, Rule, Script};

/// Headers whose values are never recorded.
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "api-key",
    "x-api-key",
    "proxy-authorization",
    "cookie",
];

/// One request as the fake server saw it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordedRequest {
    /// HTTP method.
    pub method: String,
    /// Request path, e.g. `/v1/responses`.
    pub path: String,
    /// Lower-case header names; auth headers hold `"[redacted]"`.
    pub headers: BTreeMap<String, String>,
    /// The body as JSON (a JSON string holding the raw text if it was not JSON).
    pub body: Value,
    /// Index of the rule that answered, if any.
    pub rule: Option<usize>,
    /// HTTP status sent.
    pub status: u16,
    /// The whole response was sent.
    pub completed: bool,
    /// The client went away before the response was finished.
    pub disconnected_early: bool,
    /// When the request arrived.
    #[serde(skip)]
    pub received_at: Instant,
    /// When the server noticed the client had gone.
    #[serde(skip)]
    pub disconnected_at: Option<Instant>,
    /// When the last byte of the response was handed to the connection (the
    /// "model's own time" ends here, for overhead measurements).
    #[serde(skip)]
    pub finished_at: Option<Instant>,
    /// `response.output_text.delta` frames of a streamed answer handed to
    /// the connection so far, for tests that act mid-stream.
    #[serde(skip)]
    pub deltas_sent: usize,
}

struct Inner {
    script: Script,
    uses: Vec<u32>,
    requests: Vec<RecordedRequest>,
    last_prompt: Option<String>,
    counter: u64,
}

struct Shared {
    inner: Mutex<Inner>,
    version: watch::Sender<u64>,
    /// Gates released so far (see `Rule::hold_until`).
    released: watch::Sender<std::collections::BTreeSet<String>>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn bump(&self) {
        self.version.send_modify(|v| *v += 1);
    }

    fn release(&self, gate: &str) {
        self.released.send_modify(|gates| {
            gates.insert(gate.to_owned());
        });
    }

    /// Waits until `gate` is released.
    async fn held_until(&self, gate: &str) {
        let mut released = self.released.subscribe();
        // The sender lives as long as `self`: this cannot fail while we wait.
        let _ = released.wait_for(|gates| gates.contains(gate)).await;
    }

    fn update(&self, index: usize, f: impl FnOnce(&mut RecordedRequest)) {
        if let Some(r) = self.lock().requests.get_mut(index) {
            f(r);
        }
        self.bump();
    }
}

/// A running fake server. Dropping it stops accepting connections.
pub struct FakeResponses {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeResponses {
    /// Starts on 127.0.0.1 with an OS-chosen port. Panics if loopback cannot
    /// be bound (a broken test environment); see [`FakeResponses::try_start`].
    pub async fn start(script: Script) -> Self {
        match Self::try_start(0, script).await {
            Ok(server) => server,
            Err(e) => panic!("fake Responses server cannot bind 127.0.0.1: {e}"),
        }
    }

    /// Starts on 127.0.0.1:`port` (0 = any free port).
    pub async fn try_start(port: u16, script: Script) -> io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let uses = vec![0; script.rules.len()];
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner {
                script,
                uses,
                requests: Vec::new(),
                last_prompt: None,
                counter: 0,
            }),
            version: watch::channel(0).0,
            released: watch::channel(std::collections::BTreeSet::new()).0,
        });
        let app = Router::new()
            .route("/v1/responses", post(responses))
            .route("/v1/chat/completions", post(chat_completions))
            .route("/__requests", get(list_requests).delete(clear_requests))
            .route("/__script", axum::routing::put(put_script))
            .route("/__release", post(release_gate))
            .fallback(not_found)
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            // Like a real API front end, write small SSE frames at once
            // (no Nagle delay): latency measurements then see our client.
            use axum::serve::ListenerExt;
            let listener = listener.tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { addr, shared, task })
    }

    /// `http://127.0.0.1:PORT/v1`, the value for `codex.baseUrl`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    /// Forgets recorded requests (and the prompt-cache memory).
    pub fn clear_requests(&self) {
        let mut inner = self.shared.lock();
        inner.requests.clear();
        inner.last_prompt = None;
        drop(inner);
        self.shared.bump();
    }

    /// Replaces the script; `times` budgets start afresh.
    pub fn set_script(&self, script: Script) {
        let mut inner = self.shared.lock();
        inner.uses = vec![0; script.rules.len()];
        inner.script = script;
    }

    /// Releases the gate `gate`: held responses waiting on it go on, and
    /// later ones waiting on it are not held.
    pub fn release(&self, gate: &str) {
        self.shared.release(gate);
    }

    /// Waits until `done(requests)` holds; false on timeout.
    pub async fn wait_until(
        &self,
        timeout: Duration,
        mut done: impl FnMut(&[RecordedRequest]) -> bool,
    ) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut rx = self.shared.version.subscribe();
        loop {
            if done(&self.shared.lock().requests) {
                return true;
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) | Err(_) => return done(&self.shared.lock().requests),
            }
        }
    }

    /// Waits until `n` requests have arrived.
    pub async fn wait_for_requests(&self, n: usize, timeout: Duration) -> bool {
        self.wait_until(timeout, |r| r.len() >= n).await
    }

    /// Waits until some client dropped a response early; returns when the
    /// server noticed, or `None` on timeout.
    pub async fn wait_for_disconnect(&self, timeout: Duration) -> Option<Instant> {
        let mut at = None;
        self.wait_until(timeout, |reqs| {
            at = reqs.iter().filter_map(|r| r.disconnected_at).max();
            at.is_some()
        })
        .await;
        at
    }

    /// Stops accepting connections (streams already running end with the runtime).
    pub async fn shutdown(self) {
        self.task.abort();
        tokio::task::yield_now().await;
    }
}

impl Drop for FakeResponses {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Marks the request disconnected if dropped before `finish`.
struct ResponseGuard {
    shared: Arc<Shared>,
    index: usize,
    finished: bool,
}

impl ResponseGuard {
    fn finish(mut self, completed: bool) {
        self.finished = true;
        let now = Instant::now();
        self.shared.update(self.index, |r| {
            r.completed = completed;
            r.finished_at = Some(now);
        });
    }
}

impl Drop for ResponseGuard {
    fn drop(&mut self) {
        if !self.finished {
            let now = Instant::now();
            self.shared.update(self.index, |r| {
                r.disconnected_early = true;
                r.disconnected_at = Some(now);
            });
        }
    }
}

fn record(
    shared: &Arc<Shared>,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> usize {
    let headers = headers
        .iter()
        .map(|(name, value)| {
            let name = name.as_str().to_ascii_lowercase();
            let value = if SECRET_HEADERS.contains(&name.as_str()) {
                "[redacted]".to_owned()
            } else {
                String::from_utf8_lossy(value.as_bytes()).into_owned()
            };
            (name, value)
        })
        .collect();
    let text = String::from_utf8_lossy(body);
    let body = serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text.into_owned()));
    let mut inner = shared.lock();
    inner.requests.push(RecordedRequest {
        method: method.to_string(),
        path: uri.path().to_owned(),
        headers,
        body,
        rule: None,
        status: 0,
        completed: false,
        disconnected_early: false,
        received_at: Instant::now(),
        disconnected_at: None,
        finished_at: None,
        deltas_sent: 0,
    });
    let index = inner.requests.len() - 1;
    drop(inner);
    shared.bump();
    index
}

fn set_header(headers: &mut HeaderMap, name: &str, value: &str) {
    if let (Ok(n), Ok(v)) = (
        HeaderName::from_bytes(name.as_bytes()),
        HeaderValue::from_str(value),
    ) {
        headers.insert(n, v);
    }
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    set_header(response.headers_mut(), "content-type", "application/json");
    response
}

fn openai_error(message: &str, kind: &str, param: Option<&str>, code: Option<&str>) -> Value {
    json!({"error": {"message": message, "type": kind, "param": param, "code": code}})
}

/// Answers immediately with a complete response and records the outcome.
fn finish_now(shared: &Arc<Shared>, index: usize, response: Response) -> Response {
    let status = response.status().as_u16();
    let now = Instant::now();
    shared.update(index, |r| {
        r.status = status;
        r.completed = true;
        r.finished_at = Some(now);
    });
    response
}

async fn not_found(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let index = record(&shared, &method, &uri, &headers, &body);
    let message = format!("Invalid URL ({method} {})", uri.path());
    finish_now(
        &shared,
        index,
        json_response(
            StatusCode::NOT_FOUND,
            &openai_error(&message, "invalid_request_error", None, None),
        ),
    )
}

async fn chat_completions(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let index = record(&shared, &method, &uri, &headers, &body);
    finish_now(
        &shared,
        index,
        json_response(
            StatusCode::NOT_FOUND,
            &openai_error(
                "This model is only supported in v1/responses and not in v1/chat/completions.",
                "invalid_request_error",
                Some("model"),
                None,
            ),
        ),
    )
}

async fn list_requests(State(shared): State<Arc<Shared>>) -> Response {
    let requests = shared.lock().requests.clone();
    json_response(StatusCode::OK, &json!(requests))
}

async fn clear_requests(State(shared): State<Arc<Shared>>) -> Response {
    let mut inner = shared.lock();
    inner.requests.clear();
    inner.last_prompt = None;
    drop(inner);
    shared.bump();
    StatusCode::NO_CONTENT.into_response()
}

async fn release_gate(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    shared.release(String::from_utf8_lossy(&body).trim());
    StatusCode::NO_CONTENT.into_response()
}

async fn put_script(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    match Script::from_json(&String::from_utf8_lossy(&body)) {
        Ok(script) => {
            let mut inner = shared.lock();
            inner.uses = vec![0; script.rules.len()];
            inner.script = script;
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => json_response(
            StatusCode::BAD_REQUEST,
            &openai_error(
                &format!("bad script: {e}"),
                "invalid_request_error",
                None,
                None,
            ),
        ),
    }
}

/// Everything about one `/v1/responses` call the answer depends on.
struct Call {
    index: usize,
    n: u64,
    rule: Rule,
    stream: bool,
    model: String,
    request: Value,
    usage: Value,
}

async fn responses(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let index = record(&shared, &method, &uri, &headers, &body);
    let raw = String::from_utf8_lossy(&body).into_owned();
    let Ok(request) = serde_json::from_str::<Value>(&raw) else {
        return finish_now(
            &shared,
            index,
            json_response(
                StatusCode::BAD_REQUEST,
                &openai_error(
                    "We could not parse the JSON body of your request.",
                    "invalid_request_error",
                    None,
                    None,
                ),
            ),
        );
    };
    for param in ["model", "input"] {
        if request.get(param).is_none_or(Value::is_null) {
            return finish_now(
                &shared,
                index,
                json_response(
                    StatusCode::BAD_REQUEST,
                    &openai_error(
                        &format!("Missing required parameter: '{param}'."),
                        "invalid_request_error",
                        Some(param),
                        Some("missing_required_parameter"),
                    ),
                ),
            );
        }
    }

    if let Some(message) = unpaired_tool_items(&request) {
        return finish_now(
            &shared,
            index,
            json_response(
                StatusCode::BAD_REQUEST,
                &openai_error(&message, "invalid_request_error", Some("input"), None),
            ),
        );
    }
    let turn = tool_rounds(&request) + 1;

    let (rule_index, rule, n, usage) = {
        let mut inner = shared.lock();
        inner.counter += 1;
        let n = inner.counter;
        let chosen = inner.script.rules.iter().enumerate().position(|(i, rule)| {
            let fits = rule.matches.as_deref().is_none_or(|m| raw.contains(m))
                && rule.turn.is_none_or(|t| t == turn);
            let budget = rule
                .times
                .is_none_or(|t| inner.uses.get(i).copied().unwrap_or(0) < t);
            fits && budget
        });
        let rule = chosen.and_then(|i| inner.script.rules.get(i).cloned());
        if let Some(i) = chosen
            && let Some(u) = inner.uses.get_mut(i)
        {
            *u += 1;
        }
        let prompt = prompt_text(&request);
        let cached_chars = inner
            .last_prompt
            .as_deref()
            .map_or(0, |prev| common_prefix(prev, &prompt));
        inner.last_prompt = Some(prompt);
        let reply_chars = rule.as_ref().map_or(0, |r| {
            r.reply.chars().count()
                + r.calls
                    .iter()
                    .map(|c| c.input.chars().count())
                    .sum::<usize>()
        });
        let usage = usage_json(&request, raw.len(), cached_chars, reply_chars);
        (chosen, rule, n, usage)
    };
    shared.update(index, |r| r.rule = rule_index);

    let Some(rule) = rule else {
        return finish_now(
            &shared,
            index,
            json_response(
                StatusCode::BAD_REQUEST,
                &openai_error(
                    "fake-responses: no scripted reply matched this request.",
                    "invalid_request_error",
                    None,
                    Some("no_rule_matched"),
                ),
            ),
        );
    };

    let guard = ResponseGuard {
        shared: shared.clone(),
        index,
        finished: false,
    };
    if rule.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(rule.delay_ms)).await;
    }
    if let Some(gate) = &rule.hold_until {
        shared.held_until(gate).await;
    }
    let call = Call {
        index,
        n,
        stream: request
            .get("stream")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        model: request
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
        rule,
        request,
        usage,
    };
    let mut response = answer(&call, guard);
    let headers = response.headers_mut();
    set_header(headers, "x-request-id", &format!("req_fake_{n}"));
    set_header(headers, "openai-processing-ms", "3");
    let limited = call.rule.fault == Some(Fault::Http429);
    for (name, value) in [
        ("x-ratelimit-limit-requests", "500"),
        (
            "x-ratelimit-remaining-requests",
            if limited { "0" } else { "499" },
        ),
        ("x-ratelimit-limit-tokens", "500000"),
        (
            "x-ratelimit-remaining-tokens",
            if limited { "0" } else { "499000" },
        ),
        ("x-ratelimit-reset-requests", "120ms"),
        ("x-ratelimit-reset-tokens", "0s"),
    ] {
        set_header(headers, name, value);
    }
    if limited {
        let secs = call.rule.retry_after.max(0.0).ceil();
        set_header(headers, "retry-after", &format!("{secs}"));
    }
    for (name, value) in &call.rule.headers {
        match value {
            Some(v) => set_header(headers, name, v),
            None => {
                headers.remove(name.as_str());
            }
        }
    }
    let status = response.status().as_u16();
    shared.update(call.index, |r| r.status = status);
    response
}

/// Builds the answer for a matched rule.
fn answer(call: &Call, guard: ResponseGuard) -> Response {
    if let Some((status, body)) = http_fault(call) {
        guard.finish(true);
        return json_response(status, &body);
    }
    if call.stream {
        sse_response(call, guard)
    } else {
        plain_response(call, guard)
    }
}

/// The HTTP-level faults: status and OpenAI-shaped error body.
fn http_fault(call: &Call) -> Option<(StatusCode, Value)> {
    let rule = &call.rule;
    Some(match rule.fault? {
        Fault::Http400 => (
            StatusCode::BAD_REQUEST,
            match &rule.error_message {
                // A server that rejects something else, e.g. the tools.
                Some(message) => openai_error(
                    message,
                    "invalid_request_error",
                    None,
                    rule.error_code.as_deref(),
                ),
                None => openai_error(
                    "Invalid value: 'bogus'. Supported values are: 'low', 'medium', and 'high'.",
                    "invalid_request_error",
                    Some("reasoning.effort"),
                    Some("invalid_value"),
                ),
            },
        ),
        Fault::Http401 => (
            StatusCode::UNAUTHORIZED,
            openai_error(
                "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.",
                "invalid_request_error",
                None,
                Some("invalid_api_key"),
            ),
        ),
        Fault::Http429 => (
            StatusCode::TOO_MANY_REQUESTS,
            openai_error(
                &format!(
                    "Rate limit reached for {} in organization org-fake on requests per min (RPM): Limit 500, Used 500, Requested 1. Please try again in {}s. Visit https://platform.openai.com/account/rate-limits to learn more.",
                    call.model, rule.retry_after
                ),
                "requests",
                None,
                Some("rate_limit_exceeded"),
            ),
        ),
        Fault::Http500 => (
            StatusCode::INTERNAL_SERVER_ERROR,
            openai_error(
                "The server had an error while processing your request. Sorry about that!",
                "server_error",
                None,
                None,
            ),
        ),
        Fault::ContextLengthExceeded => (
            StatusCode::BAD_REQUEST,
            openai_error(
                "Your input exceeds the context window of this model. Please adjust your input and try again.",
                "invalid_request_error",
                Some("input"),
                Some("context_length_exceeded"),
            ),
        ),
        Fault::InsufficientQuota => (
            StatusCode::TOO_MANY_REQUESTS,
            openai_error(
                "You exceeded your current quota, please check your plan and billing details.",
                "insufficient_quota",
                None,
                Some("insufficient_quota"),
            ),
        ),
        Fault::MalformedJson
        | Fault::CutMidStream
        | Fault::ErrorEvent
        | Fault::ResponseFailed
        | Fault::Incomplete
        | Fault::Hang => return None,
    })
}

/// One step of a streamed body.
enum Step {
    Frame(String),
    Sleep(Duration),
    Cut,
    Hang,
}

struct SseState {
    steps: VecDeque<Step>,
    guard: Option<ResponseGuard>,
}

fn sse_response(call: &Call, guard: ResponseGuard) -> Response {
    let steps = sse_steps(call);
    let state = SseState {
        steps,
        guard: Some(guard),
    };
    let stream = futures_util::stream::unfold(state, |mut st| async move {
        loop {
            match st.steps.pop_front() {
                Some(Step::Frame(frame)) => {
                    if frame.starts_with("event: response.output_text.delta\n")
                        && let Some(g) = &st.guard
                    {
                        g.shared.update(g.index, |r| r.deltas_sent += 1);
                    }
                    return Some((Ok(Bytes::from(frame)), st));
                }
                Some(Step::Sleep(d)) => tokio::time::sleep(d).await,
                Some(Step::Hang) => std::future::pending::<()>().await,
                Some(Step::Cut) => {
                    if let Some(g) = st.guard.take() {
                        g.finish(false);
                    }
                    let err = io::Error::new(io::ErrorKind::ConnectionAborted, "cutMidStream");
                    return Some((Err(err), st));
                }
                None => {
                    if let Some(g) = st.guard.take() {
                        g.finish(true);
                    }
                    return None;
                }
            }
        }
    });
    let mut response = Response::new(Body::from_stream(stream));
    let headers = response.headers_mut();
    set_header(headers, "content-type", "text/event-stream; charset=utf-8");
    set_header(headers, "cache-control", "no-cache");
    response
}

/// One SSE frame, `type` and `sequence_number` first like the real API.
fn frame(kind: &str, seq: &mut u64, payload: Value) -> Step {
    let rest = payload.to_string();
    let rest = rest.strip_prefix('{').unwrap_or("}");
    let sep = if rest == "}" { "" } else { "," };
    let head = format!("{{\"type\":{},\"sequence_number\":{}", json!(kind), *seq);
    *seq += 1;
    Step::Frame(format!("event: {kind}\ndata: {head}{sep}{rest}\n\n"))
}

fn chunks(text: &str, size: usize) -> Vec<String> {
    if text.is_empty() {
        return Vec::new();
    }
    if size == 0 {
        return vec![text.to_owned()];
    }
    let chars: Vec<char> = text.chars().collect();
    chars.chunks(size).map(|c| c.iter().collect()).collect()
}

fn sse_steps(call: &Call) -> VecDeque<Step> {
    let rule = &call.rule;
    let resp_id = format!("resp_fake_{}", call.n);
    let msg_id = format!("msg_fake_{}", call.n);
    let mut seq = 0u64;
    let mut steps = VecDeque::new();
    let in_progress = response_object(call, &resp_id, "in_progress", json!([]), Value::Null);
    steps.push_back(frame(
        "response.created",
        &mut seq,
        json!({"response": in_progress}),
    ));
    steps.push_back(frame(
        "response.in_progress",
        &mut seq,
        json!({"response": in_progress}),
    ));

    match rule.fault {
        Some(Fault::Hang) => {
            steps.clear();
            steps.push_back(Step::Hang);
            return steps;
        }
        Some(Fault::ErrorEvent) => {
            let code = rule.error_code.as_deref().unwrap_or("server_error");
            let message = rule.error_message.as_deref().unwrap_or(
                "The server had an error while processing your request. Sorry about that!",
            );
            steps.push_back(frame(
                "error",
                &mut seq,
                json!({"error": {"type": code, "code": code, "message": message, "param": null}}),
            ));
            return steps;
        }
        Some(Fault::ResponseFailed) => {
            let code = rule.error_code.as_deref().unwrap_or("server_error");
            let message = rule
                .error_message
                .as_deref()
                .unwrap_or("The model failed to generate a response.");
            let mut failed = response_object(call, &resp_id, "failed", json!([]), Value::Null);
            failed["error"] = json!({"code": code, "message": message});
            steps.push_back(frame(
                "response.failed",
                &mut seq,
                json!({"response": failed}),
            ));
            return steps;
        }
        _ => {}
    }

    let mut output = Vec::new();
    if let Some(summary) = &rule.reasoning {
        let item = reasoning_item(call, summary);
        let mut added = item.clone();
        added["summary"] = json!([]);
        if let Some(fields) = added.as_object_mut() {
            fields.remove("encrypted_content");
        }
        steps.push_back(frame(
            "response.output_item.added",
            &mut seq,
            json!({"output_index": 0, "item": added}),
        ));
        steps.push_back(frame(
            "response.output_item.done",
            &mut seq,
            json!({"output_index": 0, "item": item}),
        ));
        output.push(item);
    }
    // A preamble message first, whole, as its own output item.
    if let Some(preamble) = &rule.preamble {
        let id = format!("msg_fake_{}_preamble", call.n);
        let at = output.len();
        let pieces = chunks(preamble, rule.chunk_size);
        let item = message_item(
            &id,
            "completed",
            preamble,
            rule.phases.then_some("commentary"),
        );
        push_message(
            &mut steps,
            &mut seq,
            &MessageFrames {
                item: &item,
                output_index: at,
                pieces: &pieces,
                chunk_delay_ms: rule.chunk_delay_ms,
                malformed: false,
                cut: false,
            },
        );
        steps.push_back(frame(
            "response.output_item.done",
            &mut seq,
            json!({"output_index": at, "item": item}),
        ));
        output.push(item);
    }
    let index = output.len();
    if rule.reply.is_empty() && !rule.calls.is_empty() {
        push_calls(call, &mut steps, &mut seq, &mut output);
        push_completed(call, &resp_id, &mut steps, &mut seq, output);
        return steps;
    }
    let phase = rule.phases.then_some("final_answer");

    let pieces = chunks(&rule.reply, rule.chunk_size);
    let cut_at = match rule.fault {
        Some(Fault::CutMidStream | Fault::Incomplete) => pieces.len().div_ceil(2),
        _ => pieces.len(),
    };
    let sent_text: String = pieces.iter().take(cut_at).map(String::as_str).collect();
    let incomplete = rule.fault == Some(Fault::Incomplete);
    let item_status = if incomplete {
        "incomplete"
    } else {
        "completed"
    };
    let item = message_item(&msg_id, item_status, &sent_text, phase);
    push_message(
        &mut steps,
        &mut seq,
        &MessageFrames {
            item: &item,
            output_index: index,
            pieces: &pieces[..cut_at],
            chunk_delay_ms: rule.chunk_delay_ms,
            malformed: rule.fault == Some(Fault::MalformedJson),
            cut: rule.fault == Some(Fault::CutMidStream),
        },
    );
    if rule.fault == Some(Fault::CutMidStream) {
        // Let hyper flush what was sent so the client sees a broken stream,
        // not a connection that died before the headers.
        steps.push_back(Step::Sleep(Duration::from_millis(20)));
        steps.push_back(Step::Cut);
        return steps;
    }
    steps.push_back(frame(
        "response.output_item.done",
        &mut seq,
        json!({"output_index": index, "item": item}),
    ));
    output.push(item);
    if !incomplete {
        push_calls(call, &mut steps, &mut seq, &mut output);
    }
    if incomplete {
        let mut resp = response_object(
            call,
            &resp_id,
            "incomplete",
            json!(output),
            call.usage.clone(),
        );
        resp["incomplete_details"] = json!({"reason": "max_output_tokens"});
        steps.push_back(frame(
            "response.incomplete",
            &mut seq,
            json!({"response": resp}),
        ));
    } else {
        push_completed(call, &resp_id, &mut steps, &mut seq, output);
    }
    steps
}

/// The `response.completed` frame, with the whole output.
fn push_completed(
    call: &Call,
    resp_id: &str,
    steps: &mut VecDeque<Step>,
    seq: &mut u64,
    output: Vec<Value>,
) {
    let resp = response_object(
        call,
        resp_id,
        "completed",
        json!(output),
        call.usage.clone(),
    );
    steps.push_back(frame("response.completed", seq, json!({"response": resp})));
}

/// A reasoning item with a summary, and `encrypted_content` when the
/// request includes `reasoning.encrypted_content` (as the real API does
/// under `store: false`).
fn reasoning_item(call: &Call, summary: &str) -> Value {
    let mut item = json!({
        "id": format!("rs_fake_{}", call.n),
        "type": "reasoning",
        "summary": [{"type": "summary_text", "text": summary}],
    });
    let wanted = call
        .request
        .get("include")
        .and_then(Value::as_array)
        .is_some_and(|i| i.iter().any(|v| v == "reasoning.encrypted_content"));
    if wanted {
        item["encrypted_content"] = json!(format!("gAAAA-fake-encrypted-{}", call.n));
    }
    item
}

/// The frames of the rule's tool calls, each a whole output item: added,
/// the input deltas, the input done, item done.
fn push_calls(call: &Call, steps: &mut VecDeque<Step>, seq: &mut u64, output: &mut Vec<Value>) {
    for (k, scripted) in call.rule.calls.iter().enumerate() {
        let at = output.len();
        let call_id = format!("call_fake_{}_{k}", call.n);
        let (item, delta_event, done_event, field) = match scripted.kind {
            CallKind::Function => (
                json!({"id": format!("fc_fake_{}_{k}", call.n), "type": "function_call", "status": "completed",
                       "arguments": scripted.input, "call_id": call_id, "name": scripted.name}),
                "response.function_call_arguments.delta",
                "response.function_call_arguments.done",
                "arguments",
            ),
            CallKind::Custom => (
                json!({"id": format!("ctc_fake_{}_{k}", call.n), "type": "custom_tool_call",
                       "call_id": call_id, "input": scripted.input, "name": scripted.name}),
                "response.custom_tool_call_input.delta",
                "response.custom_tool_call_input.done",
                "input",
            ),
            CallKind::ApplyPatch => {
                // One whole item, added then done: the SDK's stream events
                // have no diff deltas for it.
                let operation: Value = serde_json::from_str(&scripted.input).unwrap_or(Value::Null);
                let item = json!({"id": format!("apc_fake_{}_{k}", call.n), "type": "apply_patch_call",
                                  "call_id": call_id, "status": "completed", "operation": operation});
                let mut added = item.clone();
                added["status"] = json!("in_progress");
                steps.push_back(frame(
                    "response.output_item.added",
                    seq,
                    json!({"output_index": at, "item": added}),
                ));
                steps.push_back(frame(
                    "response.output_item.done",
                    seq,
                    json!({"output_index": at, "item": item}),
                ));
                output.push(item);
                continue;
            }
        };
        let id = item["id"].clone();
        let mut added = item.clone();
        added[field] = json!("");
        if scripted.kind == CallKind::Function {
            added["status"] = json!("in_progress");
        }
        steps.push_back(frame(
            "response.output_item.added",
            seq,
            json!({"output_index": at, "item": added}),
        ));
        for piece in chunks(&scripted.input, call.rule.chunk_size) {
            steps.push_back(frame(
                delta_event,
                seq,
                json!({"item_id": id, "output_index": at, "delta": piece}),
            ));
        }
        let mut done = json!({"item_id": id, "output_index": at});
        done[field] = json!(scripted.input);
        steps.push_back(frame(done_event, seq, done));
        steps.push_back(frame(
            "response.output_item.done",
            seq,
            json!({"output_index": at, "item": item}),
        ));
        output.push(item);
    }
}

/// How many tool rounds came before a request: the runs of tool outputs
/// in its input (a response's calls are answered together, after its
/// replayed items).
fn tool_rounds(request: &Value) -> usize {
    let is_output = |i: &Value| {
        matches!(
            i.get("type").and_then(Value::as_str),
            Some("function_call_output" | "custom_tool_call_output" | "apply_patch_call_output")
        )
    };
    let mut rounds = 0;
    let mut in_run = false;
    for item in input_items(request) {
        let output = is_output(item);
        if output && !in_run {
            rounds += 1;
        }
        in_run = output;
    }
    rounds
}

fn input_items(request: &Value) -> impl Iterator<Item = &Value> {
    request
        .get("input")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// OpenAI's 400 for tool calls and outputs that do not pair up by
/// `call_id`: every replayed call needs its output and every output its
/// call.
fn unpaired_tool_items(request: &Value) -> Option<String> {
    let ids = |kinds: &[&str]| -> Vec<String> {
        input_items(request)
            .filter(|i| {
                i.get("type")
                    .and_then(Value::as_str)
                    .is_some_and(|t| kinds.contains(&t))
            })
            .filter_map(|i| i.get("call_id").and_then(Value::as_str).map(str::to_owned))
            .collect()
    };
    let calls = ids(&["function_call", "custom_tool_call", "apply_patch_call"]);
    let outputs = ids(&[
        "function_call_output",
        "custom_tool_call_output",
        "apply_patch_call_output",
    ]);
    if let Some(missing) = calls.iter().find(|c| !outputs.contains(c)) {
        return Some(format!("No tool output found for function call {missing}."));
    }
    outputs
        .iter()
        .find(|o| !calls.contains(o))
        .map(|orphan| format!("No tool call found for function call output with call_id {orphan}."))
}

/// A finished assistant message item with one `output_text` part, labelled
/// with `phase` when given.
fn message_item(id: &str, status: &str, text: &str, phase: Option<&str>) -> Value {
    let part = json!({"type": "output_text", "annotations": [], "logprobs": [], "text": text});
    let mut item = json!({"id": id, "type": "message", "status": status, "content": [part], "role": "assistant"});
    if let Some(phase) = phase {
        item["phase"] = json!(phase);
    }
    item
}

/// How one message item is streamed.
struct MessageFrames<'a> {
    /// The finished item (its id, phase and text are used).
    item: &'a Value,
    output_index: usize,
    /// The deltas.
    pieces: &'a [String],
    chunk_delay_ms: u64,
    /// Slip a frame that is not JSON in after the first delta (or in place
    /// of the deltas when there are none).
    malformed: bool,
    /// Stop after the deltas (the connection is about to be cut).
    cut: bool,
}

/// The frames of one message item up to (not including) its
/// `response.output_item.done`: added, part added, the deltas, text done,
/// part done.
fn push_message(steps: &mut VecDeque<Step>, seq: &mut u64, m: &MessageFrames<'_>) {
    let MessageFrames {
        item,
        output_index,
        pieces,
        chunk_delay_ms,
        malformed,
        cut,
    } = *m;
    let id = item["id"].as_str().unwrap_or_default().to_owned();
    let text = item
        .pointer("/content/0/text")
        .cloned()
        .unwrap_or(json!(""));
    let mut in_progress = json!({"id": id, "type": "message", "status": "in_progress", "content": [], "role": "assistant"});
    if let Some(phase) = item.get("phase") {
        in_progress["phase"] = phase.clone();
    }
    steps.push_back(frame(
        "response.output_item.added",
        seq,
        json!({"output_index": output_index, "item": in_progress}),
    ));
    steps.push_back(frame(
        "response.content_part.added",
        seq,
        json!({"item_id": id, "output_index": output_index, "content_index": 0,
               "part": {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}}),
    ));
    for (i, piece) in pieces.iter().enumerate() {
        if i > 0 && chunk_delay_ms > 0 {
            steps.push_back(Step::Sleep(Duration::from_millis(chunk_delay_ms)));
        }
        steps.push_back(frame(
            "response.output_text.delta",
            seq,
            json!({"item_id": id, "output_index": output_index, "content_index": 0, "delta": piece, "logprobs": []}),
        ));
        if i == 0 && malformed {
            steps.push_back(Step::Frame(
                "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\n\n".to_owned(),
            ));
        }
    }
    if malformed && pieces.is_empty() {
        steps.push_back(Step::Frame(
            "event: response.output_text.delta\ndata: {oops\n\n".to_owned(),
        ));
    }
    if cut {
        return;
    }
    steps.push_back(frame(
        "response.output_text.done",
        seq,
        json!({"item_id": id, "output_index": output_index, "content_index": 0, "text": text, "logprobs": []}),
    ));
    steps.push_back(frame(
        "response.content_part.done",
        seq,
        json!({"item_id": id, "output_index": output_index, "content_index": 0, "part": item["content"][0]}),
    ));
}

/// Non-streaming (`"stream": false`) answers.
fn plain_response(call: &Call, guard: ResponseGuard) -> Response {
    let rule = &call.rule;
    let resp_id = format!("resp_fake_{}", call.n);
    let msg_id = format!("msg_fake_{}", call.n);
    let message = |text: &str, status: &str| {
        let mut output = Vec::new();
        if let Some(preamble) = &rule.preamble {
            output.push(message_item(
                &format!("msg_fake_{}_preamble", call.n),
                "completed",
                preamble,
                rule.phases.then_some("commentary"),
            ));
        }
        output.push(message_item(
            &msg_id,
            status,
            text,
            rule.phases.then_some("final_answer"),
        ));
        json!(output)
    };
    let (status, body) = match rule.fault {
        Some(Fault::Hang) => {
            // Never answers; the guard notices when the client gives up.
            let stream = futures_util::stream::unfold(guard, |_g| async move {
                std::future::pending::<()>().await;
                None::<(Result<Bytes, io::Error>, ResponseGuard)>
            });
            return Response::new(Body::from_stream(stream));
        }
        Some(Fault::MalformedJson) => {
            guard.finish(true);
            let mut r = Response::new(Body::from("{\"id\": \"resp_"));
            set_header(r.headers_mut(), "content-type", "application/json");
            return r;
        }
        Some(Fault::CutMidStream) => {
            let prefix = format!("{{\"id\":\"{resp_id}\",\"object\":\"response\",\"output\":[");
            let stream = futures_util::stream::unfold((0u8, Some(guard)), move |(step, mut g)| {
                let prefix = prefix.clone();
                async move {
                    match step {
                        0 => Some((Ok(Bytes::from(prefix)), (1, g))),
                        1 => {
                            if let Some(g) = g.take() {
                                g.finish(false);
                            }
                            Some((Err(io::Error::other("cutMidStream")), (2, None)))
                        }
                        _ => None,
                    }
                }
            });
            let mut r = Response::new(Body::from_stream(stream));
            set_header(r.headers_mut(), "content-type", "application/json");
            return r;
        }
        Some(Fault::ErrorEvent) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            openai_error(
                rule.error_message.as_deref().unwrap_or(
                    "The server had an error while processing your request. Sorry about that!",
                ),
                "server_error",
                None,
                rule.error_code.as_deref(),
            ),
        ),
        Some(Fault::ResponseFailed) => {
            let mut r = response_object(call, &resp_id, "failed", json!([]), Value::Null);
            r["error"] = json!({"code": rule.error_code.as_deref().unwrap_or("server_error"),
                                "message": rule.error_message.as_deref().unwrap_or("The model failed to generate a response.")});
            (StatusCode::OK, r)
        }
        Some(Fault::Incomplete) => {
            let half: String = rule
                .reply
                .chars()
                .take(rule.reply.chars().count().div_ceil(2))
                .collect();
            let mut r = response_object(
                call,
                &resp_id,
                "incomplete",
                message(&half, "incomplete"),
                call.usage.clone(),
            );
            r["incomplete_details"] = json!({"reason": "max_output_tokens"});
            (StatusCode::OK, r)
        }
        _ => (
            StatusCode::OK,
            response_object(
                call,
                &resp_id,
                "completed",
                message(&rule.reply, "completed"),
                call.usage.clone(),
            ),
        ),
    };
    guard.finish(true);
    json_response(status, &body)
}

/// A `Response` object echoing the request, like the real API.
fn response_object(call: &Call, id: &str, status: &str, output: Value, usage: Value) -> Value {
    let req = &call.request;
    let echo = |k: &str| req.get(k).cloned().unwrap_or(Value::Null);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    json!({
        "id": id,
        "object": "response",
        "created_at": now,
        "status": status,
        "background": false,
        "completed_at": if status == "completed" { json!(now) } else { Value::Null },
        "error": null,
        "incomplete_details": null,
        "instructions": echo("instructions"),
        "max_output_tokens": echo("max_output_tokens"),
        "model": call.model,
        "output": output,
        "parallel_tool_calls": true,
        "previous_response_id": null,
        "prompt_cache_key": echo("prompt_cache_key"),
        "reasoning": {"effort": req.pointer("/reasoning/effort").cloned().unwrap_or(Value::Null), "summary": null},
        "service_tier": "default",
        "store": req.get("store").cloned().unwrap_or(json!(true)),
        "temperature": 1.0,
        "text": req.get("text").cloned().unwrap_or(json!({"format": {"type": "text"}})),
        "tool_choice": req.get("tool_choice").cloned().unwrap_or(json!("auto")),
        "tools": req.get("tools").cloned().unwrap_or(json!([])),
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": usage,
        "user": null,
        "metadata": {}
    })
}

/// The cacheable prompt: instructions, then the input items, in order.
fn prompt_text(request: &Value) -> String {
    let instructions = request
        .get("instructions")
        .and_then(Value::as_str)
        .unwrap_or("");
    let input = request
        .get("input")
        .map(Value::to_string)
        .unwrap_or_default();
    format!("{instructions}\n{input}")
}

/// Length in bytes of the common prefix, on a char boundary.
fn common_prefix(a: &str, b: &str) -> usize {
    a.char_indices()
        .zip(b.chars())
        .find(|((_, ca), cb)| ca != cb)
        .map_or_else(|| a.len().min(b.len()), |((i, _), _)| i)
}

/// Plausible usage: ~4 bytes per token; cached = shared prompt prefix with
/// the previous request, the rest written to the cache; reasoning tokens by
/// effort.
fn usage_json(request: &Value, body_len: usize, cached_chars: usize, reply_chars: usize) -> Value {
    let input = (body_len as u64).div_ceil(4).max(1);
    let cached = (cached_chars as u64 / 4).min(input);
    let reasoning = match request.pointer("/reasoning/effort").and_then(Value::as_str) {
        Some("low") => 16,
        Some("medium") => 64,
        Some("high") => 256,
        Some("xhigh") => 512,
        _ => 0,
    };
    let output = (reply_chars as u64).div_ceil(4) + reasoning;
    json!({
        "input_tokens": input,
        // The live API sends both and the SDK requires both (since mid-2026):
        // what was not read from the cache is written to it.
        "input_tokens_details": {"cached_tokens": cached, "cache_write_tokens": input - cached},
        "output_tokens": output,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": input + output
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunking_respects_utf8() {
        assert_eq!(chunks("héllo wörld", 4), ["héll", "o wö", "rld"]);
        assert_eq!(chunks("日本語", 1), ["日", "本", "語"]);
        assert_eq!(chunks("abc", 0), ["abc"]);
        assert!(chunks("", 3).is_empty());
    }

    #[test]
    fn common_prefix_cases() {
        for (a, b, n) in [
            ("abc", "abd", 2),
            ("abc", "abc", 3),
            ("", "x", 0),
            ("é1", "é2", 2),
        ] {
            assert_eq!(common_prefix(a, b), n, "{a} {b}");
        }
    }
}
