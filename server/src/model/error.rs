//! Typed errors of a model call, each with one short sentence fit for the
//! editor ([`ModelError::user_message`]) and a retry classification
//! ([`ModelError::is_retryable`]) the client's retry loop is built on.

use std::time::Duration;

/// Longest server-provided message quoted back to the user, in characters.
const MAX_QUOTED_CHARS: usize = 300;

/// Why a model call failed. Server messages are carried verbatim (clipped) so
/// the user sees the API's own explanation; no variant ever holds a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// The provider needs a key and the configured environment variable is unset.
    #[error("no API key: environment variable {env_var} is not set")]
    MissingApiKey {
        /// Name of the environment variable that should hold the key.
        env_var: String,
    },
    /// `baseUrl` or the key cannot be turned into a valid HTTP request.
    #[error("invalid model endpoint: {message}")]
    InvalidEndpoint {
        /// What is wrong.
        message: String,
    },
    /// The HTTP client itself could not be created (TLS backend failure).
    #[error("cannot create the HTTP client: {message}")]
    ClientBuild {
        /// The underlying reason.
        message: String,
    },
    /// HTTP 401: the key is missing, wrong or revoked.
    #[error("unauthorized (HTTP 401): {message}")]
    Unauthorized {
        /// The API's own message.
        message: String,
    },
    /// HTTP 403: the key may not use this model or region.
    #[error("forbidden (HTTP 403): {message}")]
    Forbidden {
        /// The API's own message.
        message: String,
    },
    /// HTTP 404: wrong `baseUrl` or unknown model/deployment.
    #[error("not found (HTTP 404): {message}")]
    NotFound {
        /// The API's own message.
        message: String,
    },
    /// HTTP 400: the request was rejected as invalid; retrying cannot help.
    #[error("bad request (HTTP 400): {message}")]
    BadRequest {
        /// The API's error code, when it sent one (e.g. `invalid_value`).
        code: Option<String>,
        /// The API's own message.
        message: String,
    },
    /// The prompt does not fit the model's context window.
    #[error("context length exceeded: {message}")]
    ContextLengthExceeded {
        /// The API's own message.
        message: String,
    },
    /// The account has no quota or credits left (`insufficient_quota`, HTTP 402).
    #[error("quota exceeded: {message}")]
    QuotaExceeded {
        /// The API's own message.
        message: String,
    },
    /// HTTP 429 or an in-stream `rate_limit_exceeded`.
    #[error("rate limited: {message}")]
    RateLimited {
        /// The API's own message.
        message: String,
        /// How long the server asked us to wait, when it said so.
        retry_after: Option<Duration>,
    },
    /// HTTP 5xx.
    #[error("server error (HTTP {status}): {message}")]
    Server {
        /// The HTTP status code.
        status: u16,
        /// The API's own message.
        message: String,
    },
    /// Any other unexpected HTTP status (408, 409, 422, ...).
    #[error("unexpected HTTP {status}: {message}")]
    Http {
        /// The HTTP status code.
        status: u16,
        /// The API's own message.
        message: String,
    },
    /// The request could not be sent or the response headers not received.
    #[error("transport error: {message}")]
    Transport {
        /// The underlying reason (URL stripped).
        message: String,
    },
    /// The whole call (retries included) took longer than `requestTimeoutMs`.
    #[error("timed out after {} ms", after.as_millis())]
    Timeout {
        /// The configured overall timeout.
        after: Duration,
    },
    /// No stream event arrived within `streamIdleTimeoutMs`.
    #[error("stream idle for {} ms", after.as_millis())]
    IdleTimeout {
        /// The configured idle timeout.
        after: Duration,
    },
    /// The stream ended (or the connection broke) before `response.completed`.
    #[error("stream ended before response.completed")]
    StreamEnded,
    /// `response.failed` or an in-stream `error` event.
    #[error("model call failed ({}): {message}", code.as_deref().unwrap_or("no code"))]
    Failed {
        /// The API's error code (`server_error`, `invalid_prompt`, ...).
        code: Option<String>,
        /// The API's own message.
        message: String,
    },
    /// `response.incomplete`: the model stopped early.
    #[error("response incomplete: {reason}")]
    Incomplete {
        /// `incomplete_details.reason`, e.g. `max_output_tokens` or `content_filter`.
        reason: String,
    },
    /// The model answered with a refusal instead of text.
    #[error("model refused: {message}")]
    Refused {
        /// The refusal text.
        message: String,
    },
    /// A stream event or response body was not the JSON we can read.
    #[error("malformed response: {message}")]
    MalformedEvent {
        /// The parse error.
        message: String,
    },
    /// The caller cancelled the call (see `ModelClient::respond_until_cancelled`).
    #[error("cancelled")]
    Cancelled,
}

impl ModelError {
    /// One short sentence for the editor, quoting the API's own message where
    /// there is one. Never contains a secret: the key is scrubbed from server
    /// messages before they are stored in an error.
    pub fn user_message(&self) -> String {
        let q = |m: &str| clip(m);
        match self {
            Self::MissingApiKey { env_var } => format!(
                "Codex needs an API key: set the environment variable {env_var} where your editor starts the language server (in VS Code, run \"Codex: Set API Key\"); see the README."
            ),
            Self::InvalidEndpoint { message } => {
                format!("The Codex model endpoint is misconfigured: {}", q(message))
            }
            Self::ClientBuild { message } => {
                format!("Codex could not start its HTTP client: {}", q(message))
            }
            Self::Unauthorized { message } => {
                format!(
                    "The model server rejected the API key (HTTP 401): {}",
                    q(message)
                )
            }
            Self::Forbidden { message } => {
                format!("The model server refused access (HTTP 403): {}", q(message))
            }
            Self::NotFound { message } => format!(
                "Model or endpoint not found (HTTP 404), check codex.baseUrl and codex.model: {}",
                q(message)
            ),
            Self::BadRequest { message, .. } => {
                format!(
                    "The model server rejected the request (HTTP 400): {}",
                    q(message)
                )
            }
            Self::ContextLengthExceeded { message } => format!(
                "The request is too large for the model's context window; select less code. ({})",
                q(message)
            ),
            Self::QuotaExceeded { message } => {
                format!("The API account is out of quota or credits: {}", q(message))
            }
            Self::RateLimited {
                message,
                retry_after,
            } => match retry_after {
                Some(d) => format!(
                    "Rate limited by the model server; try again in {} s: {}",
                    d.as_secs_f64().ceil(),
                    q(message)
                ),
                None => format!("Rate limited by the model server: {}", q(message)),
            },
            Self::Server { status, message } => {
                format!(
                    "The model server had an error (HTTP {status}): {}",
                    q(message)
                )
            }
            Self::Http { status, message } => {
                format!("The model server answered HTTP {status}: {}", q(message))
            }
            Self::Transport { message } => {
                format!("Could not reach the model server: {}", q(message))
            }
            Self::Timeout { after } => format!(
                "The model did not finish within {} s (codex.requestTimeoutMs).",
                after.as_secs_f64()
            ),
            Self::IdleTimeout { after } => format!(
                "The model stream stalled for {} s (codex.streamIdleTimeoutMs).",
                after.as_secs_f64()
            ),
            Self::StreamEnded => {
                "The model server closed the stream before the answer was complete.".to_owned()
            }
            Self::Failed { code, message } => match code {
                Some(code) => format!("The model call failed ({code}): {}", q(message)),
                None => format!("The model call failed: {}", q(message)),
            },
            Self::Incomplete { reason } => format!(
                "The model stopped before finishing its answer ({}).",
                q(reason)
            ),
            Self::Refused { message } => format!("The model declined: {}", q(message)),
            Self::MalformedEvent { message } => {
                format!("The model server sent a malformed response: {}", q(message))
            }
            Self::Cancelled => "The model call was cancelled.".to_owned(),
        }
    }

    /// Rewrites every server-provided message (used to scrub echoed keys).
    pub(crate) fn map_messages(self, f: impl Fn(String) -> String) -> Self {
        match self {
            Self::InvalidEndpoint { message } => Self::InvalidEndpoint {
                message: f(message),
            },
            Self::ClientBuild { message } => Self::ClientBuild {
                message: f(message),
            },
            Self::Unauthorized { message } => Self::Unauthorized {
                message: f(message),
            },
            Self::Forbidden { message } => Self::Forbidden {
                message: f(message),
            },
            Self::NotFound { message } => Self::NotFound {
                message: f(message),
            },
            Self::BadRequest { code, message } => Self::BadRequest {
                code,
                message: f(message),
            },
            Self::ContextLengthExceeded { message } => Self::ContextLengthExceeded {
                message: f(message),
            },
            Self::QuotaExceeded { message } => Self::QuotaExceeded {
                message: f(message),
            },
            Self::RateLimited {
                message,
                retry_after,
            } => Self::RateLimited {
                message: f(message),
                retry_after,
            },
            Self::Server { status, message } => Self::Server {
                status,
                message: f(message),
            },
            Self::Http { status, message } => Self::Http {
                status,
                message: f(message),
            },
            Self::Transport { message } => Self::Transport {
                message: f(message),
            },
            Self::Failed { code, message } => Self::Failed {
                code,
                message: f(message),
            },
            Self::Incomplete { reason } => Self::Incomplete { reason: f(reason) },
            Self::Refused { message } => Self::Refused {
                message: f(message),
            },
            Self::MalformedEvent { message } => Self::MalformedEvent {
                message: f(message),
            },
            other @ (Self::MissingApiKey { .. }
            | Self::Timeout { .. }
            | Self::IdleTimeout { .. }
            | Self::StreamEnded
            | Self::Cancelled) => other,
        }
    }

    /// Whether trying the same request again may succeed: transport trouble,
    /// broken or stalled streams, 408/409, 429 rate limits and 5xx. Quota,
    /// auth, invalid-request and context-length errors are fatal. The client
    /// additionally never retries once text has reached the caller.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Transport { .. }
            | Self::StreamEnded
            | Self::IdleTimeout { .. }
            | Self::RateLimited { .. }
            | Self::Server { .. } => true,
            Self::Http { status, .. } => matches!(status, 408 | 409),
            Self::Failed { code, .. } => matches!(
                code.as_deref(),
                Some("server_error" | "server_is_overloaded" | "slow_down")
            ),
            Self::MissingApiKey { .. }
            | Self::InvalidEndpoint { .. }
            | Self::ClientBuild { .. }
            | Self::Unauthorized { .. }
            | Self::Forbidden { .. }
            | Self::NotFound { .. }
            | Self::BadRequest { .. }
            | Self::ContextLengthExceeded { .. }
            | Self::QuotaExceeded { .. }
            | Self::Timeout { .. }
            | Self::Incomplete { .. }
            | Self::Refused { .. }
            | Self::MalformedEvent { .. }
            | Self::Cancelled => false,
        }
    }

    /// Errors that no `x-should-retry: true` header can make retryable.
    pub(crate) fn is_fatal(&self) -> bool {
        matches!(
            self,
            Self::MissingApiKey { .. }
                | Self::InvalidEndpoint { .. }
                | Self::ClientBuild { .. }
                | Self::Unauthorized { .. }
                | Self::Forbidden { .. }
                | Self::NotFound { .. }
                | Self::BadRequest { .. }
                | Self::ContextLengthExceeded { .. }
                | Self::QuotaExceeded { .. }
                | Self::Timeout { .. }
                | Self::Incomplete { .. }
                | Self::Refused { .. }
                | Self::MalformedEvent { .. }
                | Self::Cancelled
        )
    }
}

/// Trims and clips a server message so one sentence stays one sentence.
fn clip(message: &str) -> String {
    let message = message.trim();
    if message.chars().count() <= MAX_QUOTED_CHARS {
        return message.to_owned();
    }
    let mut out: String = message.chars().take(MAX_QUOTED_CHARS).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> String {
        s.to_owned()
    }

    #[test]
    fn retry_classification_table() {
        let cases: Vec<(ModelError, bool)> = vec![
            (ModelError::Transport { message: m("x") }, true),
            (ModelError::StreamEnded, true),
            (
                ModelError::IdleTimeout {
                    after: Duration::from_secs(1),
                },
                true,
            ),
            (
                ModelError::RateLimited {
                    message: m("x"),
                    retry_after: None,
                },
                true,
            ),
            (
                ModelError::Server {
                    status: 503,
                    message: m("x"),
                },
                true,
            ),
            (
                ModelError::Http {
                    status: 408,
                    message: m("x"),
                },
                true,
            ),
            (
                ModelError::Http {
                    status: 409,
                    message: m("x"),
                },
                true,
            ),
            (
                ModelError::Http {
                    status: 422,
                    message: m("x"),
                },
                false,
            ),
            (
                ModelError::Failed {
                    code: Some(m("server_error")),
                    message: m("x"),
                },
                true,
            ),
            (
                ModelError::Failed {
                    code: Some(m("invalid_prompt")),
                    message: m("x"),
                },
                false,
            ),
            (
                ModelError::Failed {
                    code: None,
                    message: m("x"),
                },
                false,
            ),
            (ModelError::Unauthorized { message: m("x") }, false),
            (ModelError::Forbidden { message: m("x") }, false),
            (ModelError::NotFound { message: m("x") }, false),
            (
                ModelError::BadRequest {
                    code: None,
                    message: m("x"),
                },
                false,
            ),
            (ModelError::ContextLengthExceeded { message: m("x") }, false),
            (ModelError::QuotaExceeded { message: m("x") }, false),
            (
                ModelError::Timeout {
                    after: Duration::from_secs(1),
                },
                false,
            ),
            (ModelError::Incomplete { reason: m("x") }, false),
            (ModelError::MalformedEvent { message: m("x") }, false),
        ];
        for (error, retryable) in cases {
            assert_eq!(error.is_retryable(), retryable, "{error:?}");
            if retryable {
                assert!(!error.is_fatal(), "{error:?}");
            }
        }
    }

    #[test]
    fn user_messages_are_one_line_and_quote_the_api() {
        let long = "y".repeat(1000);
        let cases = [
            (
                ModelError::MissingApiKey {
                    env_var: m("OPENAI_API_KEY"),
                },
                "OPENAI_API_KEY",
            ),
            (
                ModelError::Unauthorized {
                    message: m("Incorrect API key provided."),
                },
                "Incorrect API key provided.",
            ),
            (
                ModelError::RateLimited {
                    message: m("slow down"),
                    retry_after: Some(Duration::from_millis(1500)),
                },
                "try again in 2 s",
            ),
            (
                ModelError::Incomplete {
                    reason: m("max_output_tokens"),
                },
                "max_output_tokens",
            ),
            (
                ModelError::Failed {
                    code: Some(m("server_error")),
                    message: m("boom"),
                },
                "(server_error): boom",
            ),
            (
                ModelError::Server {
                    status: 500,
                    message: long.clone(),
                },
                "yyy…",
            ),
        ];
        for (error, needle) in cases {
            let msg = error.user_message();
            assert!(msg.contains(needle), "{msg:?} lacks {needle:?}");
            assert!(!msg.contains('\n'), "{msg:?}");
            assert!(msg.chars().count() < 450, "{msg:?}");
        }
    }
}
