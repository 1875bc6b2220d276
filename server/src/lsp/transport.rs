//! Hardening of the JSON-RPC transport against hostile or broken input.
//!
//! tower-lsp-server stops reading stdin after the first message it cannot
//! decode (its framed reader ends the stream after a decoder error), so one
//! malformed message would make the server exit; an empty body makes it wait
//! for more input before handling the next message; and it swallows the
//! `MethodNotFound` answer to requests whose method starts with `$/`, leaving
//! such a request unanswered forever (LSP says it must be answered with
//! `MethodNotFound`). Two small pieces fix that at the edge:
//!
//! * [`sanitize_input`] re-frames stdin: each message is read by its
//!   `Content-Length`, and only bodies tower-lsp-server can decode are passed
//!   on. An undecodable body that still names a request id becomes a request
//!   for an unknown method with that id (so the client gets an error
//!   answer); anything else is logged and dropped. Garbage headers are
//!   skipped.
//! * [`AnswerEveryRequest`] answers a request that got no response with
//!   `MethodNotFound`.

use std::borrow::Cow;
use std::task::{Context, Poll};

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tower::Service;
use tower_lsp_server::jsonrpc::{Error, Id, Request, Response};

/// Longest header line accepted; longer lines are garbage and skipped.
const MAX_HEADER_LINE: u64 = 8 * 1024;
/// Buffer of the pipe between the sanitizer and the server.
const PIPE_BYTES: usize = 256 * 1024;
/// The method an undecodable request is renamed to (unknown to the router,
/// so the client gets `MethodNotFound` for its id).
pub const INVALID_MESSAGE_METHOD: &str = "codex/invalidMessage";

/// Reads LSP frames from `input` and hands the server only messages it can
/// decode (see the module documentation). Returns the stream to serve from.
pub fn sanitize_input<I>(input: I) -> tokio::io::DuplexStream
where
    I: AsyncRead + Unpin + Send + 'static,
{
    let (server_side, our_side) = tokio::io::duplex(PIPE_BYTES);
    tokio::spawn(async move {
        let mut reader = BufReader::with_capacity(64 * 1024, input);
        // Batched: a burst of small messages (typing) becomes one write into
        // the pipe, flushed whenever no more input is buffered (before the
        // next read could wait), so nothing is ever held back.
        let mut out = tokio::io::BufWriter::with_capacity(64 * 1024, our_side);
        while let Some(body) = next_body(&mut reader).await {
            let body = vet(&body);
            let header = format!("Content-Length: {}\r\n\r\n", body.len());
            if out.write_all(header.as_bytes()).await.is_err()
                || out.write_all(&body).await.is_err()
            {
                return;
            }
            if reader.buffer().is_empty() && out.flush().await.is_err() {
                return;
            }
        }
        // End of input: closing our side ends the server's stream.
        let _ = out.shutdown().await;
    });
    server_side
}

/// The next message body, or `None` at the end of the input. Header blocks
/// without a usable `Content-Length` are skipped.
async fn next_body<R: AsyncRead + Unpin>(reader: &mut BufReader<R>) -> Option<Vec<u8>> {
    loop {
        let mut content_length: Option<u64> = None;
        let mut saw_header = false;
        loop {
            let mut line = Vec::new();
            let n = (&mut *reader)
                .take(MAX_HEADER_LINE)
                .read_until(b'\n', &mut line)
                .await
                .ok()?;
            if n == 0 {
                return None;
            }
            let text = String::from_utf8_lossy(&line);
            let text = text.trim();
            if text.is_empty() {
                if saw_header {
                    break;
                }
                continue;
            }
            saw_header = true;
            if let Some((name, value)) = text.split_once(':')
                && name.trim().eq_ignore_ascii_case("content-length")
            {
                content_length = value.trim().parse().ok();
            }
        }
        let Some(length) = content_length else {
            tracing::error!("skipping an LSP message without a valid Content-Length header");
            continue;
        };
        // Grows with the data actually received, whatever the header claims.
        let mut body = Vec::new();
        (&mut *reader)
            .take(length)
            .read_to_end(&mut body)
            .await
            .ok()?;
        if (body.len() as u64) < length {
            return None;
        }
        return Some(body);
    }
}

/// Mirrors the fields of tower-lsp-server's `jsonrpc::Request` (no unknown
/// field is refused there either), borrowing strings and skipping `params`.
#[derive(serde::Deserialize)]
struct RequestProbe<'a> {
    #[serde(borrow)]
    jsonrpc: Cow<'a, str>,
    #[serde(default, borrow)]
    #[allow(dead_code)]
    method: Cow<'a, str>,
    #[serde(default)]
    #[allow(dead_code)]
    params: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    #[allow(dead_code)]
    id: Option<Id>,
}

/// The body to hand to the server: unchanged when tower-lsp-server can
/// decode it, else a replacement it can.
fn vet(body: &[u8]) -> Cow<'_, [u8]> {
    // Requests and notifications are nearly all of what a client sends: a
    // borrowed probe of the same shape as tower-lsp-server's `Request`
    // accepts exactly what it accepts, without building the params `Value`.
    if serde_json::from_slice::<RequestProbe<'_>>(body).is_ok_and(|p| p.jsonrpc == "2.0") {
        return Cow::Borrowed(body);
    }
    if serde_json::from_slice::<Request>(body).is_ok()
        || serde_json::from_slice::<Response>(body).is_ok()
    {
        return Cow::Borrowed(body);
    }
    let id = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("id").cloned())
        .and_then(|id| serde_json::from_value::<Id>(id).ok())
        .filter(|id| *id != Id::Null);
    tracing::error!(
        bytes = body.len(),
        answered = id.is_some(),
        "ignoring an LSP message that is not valid JSON-RPC"
    );
    // The body may hold document text: its start is logged at trace only.
    if tracing::enabled!(tracing::Level::TRACE) {
        let preview: String = String::from_utf8_lossy(body).chars().take(200).collect();
        tracing::trace!(%preview, "the ignored message");
    }
    let replacement = match id {
        Some(id) => serde_json::json!({
            "jsonrpc": "2.0", "id": id, "method": INVALID_MESSAGE_METHOD
        }),
        None => serde_json::json!({ "jsonrpc": "2.0", "method": INVALID_MESSAGE_METHOD }),
    };
    Cow::Owned(replacement.to_string().into_bytes())
}

/// Tower layer: a request (a message with an id) that the inner service
/// leaves unanswered gets a `MethodNotFound` error.
#[derive(Debug, Clone)]
pub struct AnswerEveryRequest<S> {
    inner: S,
}

impl<S> AnswerEveryRequest<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Self {
        Self { inner }
    }
}

impl<S> Service<Request> for AnswerEveryRequest<S>
where
    S: Service<Request, Response = Option<Response>>,
    S::Future: Send + 'static,
{
    type Response = Option<Response>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let id = request.id().cloned();
        let method = request.method().to_owned();
        self.inner
            .call(request)
            .map(move |result| {
                result.map(|response| match (response, id) {
                    (None, Some(id)) => {
                        let mut error = Error::method_not_found();
                        error.data = Some(Value::String(method));
                        Some(Response::from_error(id, error))
                    }
                    (response, _) => response,
                })
            })
            .boxed()
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn request_probe_accepts_exactly_what_request_accepts() {
        let bodies = [
            r#"{"jsonrpc":"2.0","method":"textDocument/didChange","params":{"a":[1,2,{"b":null}]}}"#,
            r#"{"jsonrpc":"2.0","id":7,"method":"x"}"#,
            r#"{"jsonrpc":"2.0","id":"seven","method":"x","params":null}"#,
            r#"{"jsonrpc":"2.0","id":null,"method":"x"}"#,
            r#"{"jsonrpc":"2.0","id":1.5,"method":"x"}"#,
            r#"{"jsonrpc":"2.0","id":true,"method":"x"}"#,
            r#"{"jsonrpc":"1.0","method":"x"}"#,
            r#"{"jsonrpc":"2.0","method":null}"#,
            r#"{"jsonrpc":"2.0","method":3}"#,
            r#"{"jsonrpc":"2.0"}"#,
            r#"{"jsonrpc":"2.0","method":"x","extra":{"y":1}}"#,
            r#"{"jsonrpc":"2.0","method":"x","params":{"a":}"#,
            r#"{"method":"x"}"#,
            r#"[]"#,
            r#"{"jsonrpc":"2.0","method":"x\u00e9"}"#,
        ];
        for body in bodies {
            let probe =
                serde_json::from_str::<RequestProbe<'_>>(body).is_ok_and(|p| p.jsonrpc == "2.0");
            let real = serde_json::from_str::<Request>(body).is_ok();
            assert_eq!(probe, real, "{body}");
        }
    }
    use super::*;

    #[tokio::test]
    async fn frames_are_re_read_and_bad_bodies_replaced() {
        let frame = |body: &str| format!("Content-Length: {}\r\n\r\n{body}", body.len());
        let input = [
            frame("{not json"),
            "garbage line\r\n\r\n".to_owned(),
            frame(""),
            format!(
                "Content-Type: x\r\n{}",
                frame(r#"{"jsonrpc":"2.0","id":7,"method":42}"#).to_lowercase()
            ),
            frame(r#"{"jsonrpc":"2.0","method":"exit"}"#),
        ]
        .concat();
        let input = std::io::Cursor::new(input.into_bytes());
        let mut out = sanitize_input(input);
        let mut all = String::new();
        out.read_to_string(&mut all).await.unwrap_or_default();
        let bodies: Vec<Value> = all
            .split("Content-Length: ")
            .filter(|s| !s.is_empty())
            .filter_map(|s| s.split_once("\r\n\r\n"))
            .filter_map(|(_, b)| serde_json::from_str(b).ok())
            .collect();
        assert_eq!(
            bodies,
            vec![
                serde_json::json!({"jsonrpc": "2.0", "method": INVALID_MESSAGE_METHOD}),
                serde_json::json!({"jsonrpc": "2.0", "method": INVALID_MESSAGE_METHOD}),
                serde_json::json!({"jsonrpc": "2.0", "id": 7, "method": INVALID_MESSAGE_METHOD}),
                serde_json::json!({"jsonrpc": "2.0", "method": "exit"}),
            ]
        );
    }
}
