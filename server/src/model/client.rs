//! The HTTP side: one shared `reqwest` client, the retry loop, the SSE stream
//! with per-event idle and overall timeouts, and cancellation by drop (the
//! request future owns the connection, so dropping it closes the socket).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use eventsource_stream::{EventStreamError, Eventsource};
use futures_util::StreamExt;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::ModelError;
use super::endpoint::{ApiKey, CallPolicy, Endpoint};
use super::events::{
    Accumulator, ModelReply, Step, classify_api_error, finish_response_body, handle_sse_data,
    looks_like_sse, parse_error_body, parse_response_body, read_sse_chunks,
};
use super::request::ResponsesRequest;
use super::retry::{
    backoff, retry_after_from_headers, retry_after_from_message, should_retry_header,
};

/// Largest error body read from a failed response.
const MAX_ERROR_BODY: usize = 64 * 1024;
/// How long a finished stream is drained in the background so its
/// connection can go back to the pool.
const DRAIN_AFTER_COMPLETED: Duration = Duration::from_secs(2);

/// Numbers calls in logs so retries and events of one call can be grouped.
static NEXT_CALL_ID: AtomicU64 = AtomicU64::new(1);

/// What the caller hears while a call runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress<'a> {
    /// A piece of answer text, as it arrives.
    Delta(&'a str),
    /// The previous attempt failed and another starts after `delay`.
    Retrying {
        /// Number of this retry, from 1.
        attempt: u32,
        /// Wait before the retry.
        delay: Duration,
        /// Why the previous attempt failed (user-facing sentence).
        reason: String,
    },
}

/// The Responses API client. Cheap to clone: every clone shares one
/// connection pool, so TLS sessions are reused across calls.
#[derive(Debug, Clone)]
pub struct ModelClient {
    http: reqwest::Client,
}

/// A failed attempt plus what the response said about retrying.
struct AttemptFailure {
    error: ModelError,
    retry_after: Option<Duration>,
    should_retry: Option<bool>,
}

impl From<ModelError> for AttemptFailure {
    fn from(error: ModelError) -> Self {
        Self {
            error,
            retry_after: None,
            should_retry: None,
        }
    }
}

impl ModelClient {
    /// Builds the shared client (rustls, no global timeout: timeouts come
    /// from each call's [`CallPolicy`]).
    pub fn new() -> Result<Self, ModelError> {
        let http = reqwest::Client::builder()
            .use_rustls_tls()
            .user_agent(concat!("codex-lsp/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .tcp_nodelay(true)
            .pool_idle_timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| ModelError::ClientBuild {
                message: error_chain(&e),
            })?;
        Ok(Self { http })
    }

    /// Streams one response. Text deltas reach `on_progress` as they arrive;
    /// retries are reported there too. Dropping the returned future aborts
    /// the HTTP request at once (the connection is closed, not pooled).
    pub async fn respond(
        &self,
        endpoint: &Endpoint,
        request: &ResponsesRequest,
        policy: &CallPolicy,
        on_progress: &mut (dyn FnMut(Progress<'_>) + Send),
    ) -> Result<ModelReply, ModelError> {
        let call = NEXT_CALL_ID.fetch_add(1, Ordering::Relaxed);
        let span = tracing::debug_span!("model_call", call, model = %request.model);
        let run = self.run(endpoint, request, policy, on_progress);
        match tokio::time::timeout(policy.request_timeout, run.instrument(span)).await {
            Ok(result) => result,
            Err(_) => {
                tracing::warn!(
                    call,
                    timeout_ms = policy.request_timeout.as_millis() as u64,
                    "model call timed out"
                );
                Err(ModelError::Timeout {
                    after: policy.request_timeout,
                })
            }
        }
    }

    /// [`ModelClient::respond`], ended early with [`ModelError::Cancelled`]
    /// when `cancel` fires; the HTTP request is aborted the same way as on drop.
    pub async fn respond_until_cancelled(
        &self,
        endpoint: &Endpoint,
        request: &ResponsesRequest,
        policy: &CallPolicy,
        on_progress: &mut (dyn FnMut(Progress<'_>) + Send),
        cancel: &CancellationToken,
    ) -> Result<ModelReply, ModelError> {
        tokio::select! {
            biased;
            () = cancel.cancelled() => Err(ModelError::Cancelled),
            result = self.respond(endpoint, request, policy, on_progress) => result,
        }
    }

    async fn run(
        &self,
        endpoint: &Endpoint,
        request: &ResponsesRequest,
        policy: &CallPolicy,
        on_progress: &mut (dyn FnMut(Progress<'_>) + Send),
    ) -> Result<ModelReply, ModelError> {
        let url = endpoint.responses_url()?;
        let body = serde_json::to_vec(request).map_err(|e| ModelError::InvalidEndpoint {
            message: format!("cannot encode the request ({e})"),
        })?;
        let key = endpoint.auth.key();
        let started = Instant::now();
        let mut retries = 0u32;
        loop {
            let mut delivered = false;
            let attempt_started = Instant::now();
            let outcome = self
                .attempt(endpoint, &url, &body, policy, on_progress, &mut delivered)
                .await;
            let failure = match outcome {
                Ok(reply) => {
                    tracing::info!(
                        response_id = %reply.response_id,
                        input_tokens = reply.usage.input_tokens,
                        cached_tokens = reply.usage.cached_tokens,
                        output_tokens = reply.usage.output_tokens,
                        reasoning_tokens = reply.usage.reasoning_tokens,
                        retries,
                        elapsed_ms = started.elapsed().as_millis() as u64,
                        "model call completed"
                    );
                    return Ok(reply);
                }
                Err(failure) => failure,
            };
            let error = scrub(failure.error, key);
            let retry = !delivered
                && retries < policy.max_retries
                && !error.is_fatal()
                && failure.should_retry.unwrap_or_else(|| error.is_retryable());
            if !retry {
                tracing::warn!(
                    error = %error,
                    delivered,
                    retries,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "model call failed"
                );
                return Err(error);
            }
            let hint = failure.retry_after.or(match &error {
                ModelError::RateLimited { retry_after, .. } => *retry_after,
                _ => None,
            });
            let delay = match hint {
                Some(hint) => hint.min(policy.max_retry_delay),
                None => backoff(
                    retries + 1,
                    policy.initial_retry_delay,
                    policy.max_retry_delay,
                ),
            };
            if started.elapsed() + delay >= policy.request_timeout {
                tracing::warn!(error = %error, delay_ms = delay.as_millis() as u64, "no time left to retry the model call");
                return Err(error);
            }
            retries += 1;
            let reason = error.user_message();
            tracing::warn!(
                attempt = retries,
                delay_ms = delay.as_millis() as u64,
                attempt_ms = attempt_started.elapsed().as_millis() as u64,
                error = %error,
                "retrying model call"
            );
            on_progress(Progress::Retrying {
                attempt: retries,
                delay,
                reason,
            });
            tokio::time::sleep(delay).await;
        }
    }

    /// One HTTP exchange. `delivered` turns true once a delta reached the
    /// caller, which forbids any retry.
    async fn attempt(
        &self,
        endpoint: &Endpoint,
        url: &reqwest::Url,
        body: &[u8],
        policy: &CallPolicy,
        on_progress: &mut (dyn FnMut(Progress<'_>) + Send),
        delivered: &mut bool,
    ) -> Result<ModelReply, AttemptFailure> {
        let mut builder = self
            .http
            .post(url.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "text/event-stream, application/json")
            .body(body.to_vec());
        if let Some((name, value)) = endpoint.auth.header()? {
            builder = builder.header(name, value);
        }
        tracing::debug!(url = %display_url(url), body_bytes = body.len(), "sending model request");
        tracing::trace!(body = %String::from_utf8_lossy(body), "model request body");
        let response = builder.send().await.map_err(|e| ModelError::Transport {
            message: format!("{} ({})", error_chain(&e.without_url()), display_url(url)),
        })?;
        let status = response.status();
        let headers = response.headers().clone();
        tracing::debug!(
            status = status.as_u16(),
            request_id = headers
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or(""),
            "model response headers"
        );
        if !status.is_success() {
            let text = read_limited(response).await;
            return Err(AttemptFailure {
                error: classify_status(status.as_u16(), &headers, &text),
                retry_after: retry_after_from_headers(&headers),
                should_retry: should_retry_header(&headers),
            });
        }
        let is_json = headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.contains("application/json"));
        if is_json {
            let text = response.text().await.map_err(|e| ModelError::Transport {
                message: error_chain(&e),
            })?;
            // Mislabelled: an event stream (often just an error event) sent
            // as `application/json`. Read it as the stream it is.
            if looks_like_sse(&text) {
                return Ok(read_sse_chunks(std::iter::once(text.as_bytes()))?);
            }
            return Ok(finish_response_body(parse_response_body(&text)?)?);
        }
        self.read_stream(response, policy, on_progress, delivered)
            .await
    }

    async fn read_stream(
        &self,
        response: reqwest::Response,
        policy: &CallPolicy,
        on_progress: &mut (dyn FnMut(Progress<'_>) + Send),
        delivered: &mut bool,
    ) -> Result<ModelReply, AttemptFailure> {
        let mut events = response.bytes_stream().eventsource();
        let mut acc = Accumulator::default();
        loop {
            let next = tokio::time::timeout(policy.idle_timeout, events.next())
                .await
                .map_err(|_| ModelError::IdleTimeout {
                    after: policy.idle_timeout,
                })?;
            let event = match next {
                None => return Err(ModelError::StreamEnded.into()),
                Some(Ok(event)) => event,
                Some(Err(EventStreamError::Transport(e))) => {
                    tracing::debug!(error = %error_chain(&e), "model stream broke");
                    return Err(ModelError::StreamEnded.into());
                }
                Some(Err(e)) => {
                    return Err(ModelError::MalformedEvent {
                        message: format!("unreadable server-sent event ({e})"),
                    }
                    .into());
                }
            };
            match handle_sse_data(&mut acc, &event.data) {
                Ok(None) => {}
                Ok(Some(Step::Continue)) => {
                    tracing::trace!(event = %event.event, "model stream event");
                }
                Ok(Some(Step::Delta(delta))) => {
                    *delivered = true;
                    on_progress(Progress::Delta(&delta));
                }
                Ok(Some(Step::Done(reply))) => {
                    tokio::spawn(async move {
                        let drain = async { while events.next().await.is_some() {} };
                        let _ = tokio::time::timeout(DRAIN_AFTER_COMPLETED, drain).await;
                    });
                    return Ok(reply);
                }
                Err(error) => return Err(error.into()),
            }
        }
    }
}

/// Maps a non-2xx response to a typed error. The code in the body wins over
/// the status for the two always-fatal cases.
fn classify_status(status: u16, headers: &HeaderMap, body: &str) -> ModelError {
    let wire = parse_error_body(body);
    let code = wire.code_or_type();
    let mut message = wire.message();
    if message.trim().is_empty() {
        message = reqwest::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("no message")
            .to_owned();
    }
    if matches!(
        code.as_deref(),
        Some("context_length_exceeded" | "insufficient_quota")
    ) {
        return classify_api_error(code, message);
    }
    match status {
        400 => ModelError::BadRequest { code, message },
        401 => ModelError::Unauthorized { message },
        402 => ModelError::QuotaExceeded { message },
        403 => ModelError::Forbidden { message },
        404 => ModelError::NotFound { message },
        429 => {
            let hint = if code.as_deref() == Some("rate_limit_exceeded") {
                retry_after_from_message(&message)
            } else {
                None
            };
            ModelError::RateLimited {
                retry_after: retry_after_from_headers(headers).or(hint),
                message,
            }
        }
        500..=599 => ModelError::Server { status, message },
        _ => ModelError::Http { status, message },
    }
}

/// Reads at most [`MAX_ERROR_BODY`] bytes of an error response.
async fn read_limited(mut response: reqwest::Response) -> String {
    let mut buf = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        buf.extend_from_slice(&chunk);
        if buf.len() >= MAX_ERROR_BODY {
            buf.truncate(MAX_ERROR_BODY);
            break;
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

/// An error and its sources on one line. reqwest names the URL in its
/// messages; it is shown without credentials or query ([`display_url`]).
fn error_chain(error: &reqwest::Error) -> String {
    let shown = |text: String| match error.url() {
        Some(url) => text.replace(url.as_str(), &display_url(url)),
        None => text,
    };
    let mut parts = vec![shown(error.to_string())];
    let mut source = std::error::Error::source(error);
    while let Some(s) = source {
        let text = shown(s.to_string());
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

/// The URL without credentials, query or fragment, for logs and error
/// messages (a gateway's basic-auth credentials or a `?key=` must not leak).
fn display_url(url: &reqwest::Url) -> String {
    let host = url.host_str().unwrap_or("");
    match url.port() {
        Some(port) => format!("{}://{host}:{port}{}", url.scheme(), url.path()),
        None => format!("{}://{host}{}", url.scheme(), url.path()),
    }
}

/// Removes the key from any server-provided text (some servers echo it).
fn scrub(error: ModelError, key: Option<&ApiKey>) -> ModelError {
    match key.map(ApiKey::expose) {
        Some(k) if !k.is_empty() => error.map_messages(|m| m.replace(k, "[redacted]")),
        _ => error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn status_classification_table() {
        let body = |code: &str, msg: &str| {
            format!(r#"{{"error":{{"message":"{msg}","type":"x","param":null,"code":{code}}}}}"#)
        };
        let cases: Vec<(u16, String, ModelError)> = vec![
            (
                400,
                body("\"invalid_value\"", "bad"),
                ModelError::BadRequest {
                    code: Some("invalid_value".into()),
                    message: "bad".into(),
                },
            ),
            (
                400,
                body("\"context_length_exceeded\"", "too long"),
                ModelError::ContextLengthExceeded {
                    message: "too long".into(),
                },
            ),
            (
                401,
                body("\"invalid_api_key\"", "Incorrect API key provided"),
                ModelError::Unauthorized {
                    message: "Incorrect API key provided".into(),
                },
            ),
            (
                402,
                body("402", "credits"),
                ModelError::QuotaExceeded {
                    message: "credits".into(),
                },
            ),
            (
                403,
                body("null", "region"),
                ModelError::Forbidden {
                    message: "region".into(),
                },
            ),
            (
                404,
                body("null", "nope"),
                ModelError::NotFound {
                    message: "nope".into(),
                },
            ),
            (
                429,
                body("\"insufficient_quota\"", "quota"),
                ModelError::QuotaExceeded {
                    message: "quota".into(),
                },
            ),
            (
                429,
                body("\"rate_limit_exceeded\"", "Please try again in 250ms."),
                ModelError::RateLimited {
                    message: "Please try again in 250ms.".into(),
                    retry_after: Some(Duration::from_millis(250)),
                },
            ),
            (
                429,
                body("null", "Please try again in 250ms."),
                ModelError::RateLimited {
                    message: "Please try again in 250ms.".into(),
                    retry_after: None,
                },
            ),
            (
                503,
                "upstream connect error".into(),
                ModelError::Server {
                    status: 503,
                    message: "upstream connect error".into(),
                },
            ),
            (
                502,
                String::new(),
                ModelError::Server {
                    status: 502,
                    message: "Bad Gateway".into(),
                },
            ),
            (
                409,
                body("null", "conflict"),
                ModelError::Http {
                    status: 409,
                    message: "conflict".into(),
                },
            ),
        ];
        for (status, body, want) in cases {
            assert_eq!(
                classify_status(status, &HeaderMap::new(), &body),
                want,
                "{status} {body}"
            );
        }
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("3"));
        assert_eq!(
            classify_status(
                429,
                &headers,
                &body("\"rate_limit_exceeded\"", "try again in 1s")
            ),
            ModelError::RateLimited {
                message: "try again in 1s".into(),
                retry_after: Some(Duration::from_secs(3)),
            }
        );
    }

    #[test]
    fn respond_future_is_send() {
        fn assert_send<T: Send>(_: &T) {}
        let client = ModelClient::new().unwrap();
        let endpoint = Endpoint {
            base_url: "http://127.0.0.1:9/v1".into(),
            auth: crate::model::Auth::None,
        };
        let request = ResponsesRequest::new("m", vec![]);
        let policy = CallPolicy::default();
        let mut on_progress = |_: Progress<'_>| {};
        let fut = client.respond(&endpoint, &request, &policy, &mut on_progress);
        assert_send(&fut);
    }

    #[test]
    fn urls_in_messages_lose_credentials() {
        let url =
            reqwest::Url::parse("https://user:pw@example.com:8443/v1/responses?key=k#f").unwrap();
        assert_eq!(display_url(&url), "https://example.com:8443/v1/responses");
    }

    #[test]
    fn scrub_removes_echoed_keys() {
        let key = ApiKey::new("sk-live-abc");
        let e = scrub(
            ModelError::Unauthorized {
                message: "Incorrect API key provided: sk-live-abc.".into(),
            },
            Some(&key),
        );
        assert_eq!(
            e,
            ModelError::Unauthorized {
                message: "Incorrect API key provided: [redacted].".into()
            }
        );
    }
}
