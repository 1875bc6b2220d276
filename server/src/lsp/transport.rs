//! The JSON-RPC transport: LSP frames in, dispatch to the service, frames out.
//!
//! tower-lsp-server provides the service (router, `Client`, cancellation)
//! and this module replaces its `Server` loop, which does not survive
//! hostile input and holds on to memory:
//!
//! * its framed reader ends the stream after the first message it cannot
//!   decode (the server would exit), and waits for more input after an empty
//!   body;
//! * its read buffer keeps the capacity of the largest message ever received,
//!   so one 50 MB `didOpen` pins about 64 MiB for the life of the process;
//! * it swallows the `MethodNotFound` answer to requests whose method starts
//!   with `$/`, leaving such a request unanswered forever (LSP says it must be
//!   answered).
//!
//! Here each message is read by its `Content-Length` into a buffer of its own
//! (freed once decoded), parsed once, on a reader task beside the dispatch
//! loop. A body that is not a JSON-RPC message is logged and, when it names a
//! request id, answered with `InvalidRequest`; garbage headers are skipped.
//! [`AnswerEveryRequest`] answers a request the service left unanswered.
//!
//! Dispatch keeps tower-lsp-server's semantics: requests and notifications
//! are handed to the service in arrival order, at most `max_concurrency`
//! requests in flight and up to 100 more messages waiting (the client's
//! answers to the server's own requests are read all the while). Unlike
//! there, a notification with no request waiting ahead of it starts at once,
//! so text sync and `$/cancelRequest` are not stuck behind slow requests;
//! `exit` (or the end of input) stops reading, and responses still
//! pending are written before [`serve`] returns. Output is batched: whatever
//! is ready is written together and flushed before waiting for more.
//! [`serve`] says how the session ended ([`SessionEnd`]): the binary exits
//! with 0 only when a `shutdown` request came first, as LSP requires.
//! Order follows the handlers: the notifications and requests a handler
//! sent (awaited) before it answered are written before its answer, so a
//! client sees a failure's `window/showMessage` and the progress `end`
//! before the response of the request that caused them.

use std::collections::VecDeque;
use std::task::{Context, Poll};

use futures_util::future::BoxFuture;
use futures_util::stream::FuturesUnordered;
use futures_util::{FutureExt, SinkExt, StreamExt};
use serde_json::Value;
use tokio::io::{
    AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader, BufWriter,
};
use tokio::sync::mpsc;
use tower::Service;
use tower_lsp_server::ClientSocket;
use tower_lsp_server::jsonrpc::{Error, ErrorCode, Id, Request, Response};

/// Longest header line accepted; longer lines are garbage and skipped.
const MAX_HEADER_LINE: u64 = 8 * 1024;
/// Most of a body's claimed length reserved up front; the rest grows with
/// the data actually received, whatever the header claims.
const MAX_BODY_RESERVE: u64 = 16 * 1024 * 1024;
/// Decoded messages waiting for the dispatch loop.
const INCOMING_QUEUE: usize = 128;
/// Requests read but not started while `max_concurrency` are in flight
/// (tower-lsp-server's queue is as long); input waits beyond that.
const MAX_WAITING: usize = 100;
/// Messages waiting to be written to the client.
const OUTGOING_QUEUE: usize = 128;
/// Buffer sizes of the reader and the writer.
const IO_BUFFER: usize = 64 * 1024;

/// How a session ended, which decides the process exit code: LSP asks for
/// 0 when `exit` follows a `shutdown` request and 1 otherwise; the input
/// ending (or the output breaking) without `shutdown` is no clean end either.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SessionEnd {
    /// The client sent `exit`.
    Exit {
        /// A `shutdown` request arrived before it.
        after_shutdown: bool,
    },
    /// The input ended without `exit`.
    InputClosed {
        /// A `shutdown` request arrived before the end.
        after_shutdown: bool,
    },
    /// The output could not be written (the client went away) or the
    /// service stopped.
    Broken,
}

impl SessionEnd {
    /// The process exit code for this end: 0 after `shutdown`, else 1.
    pub(crate) fn exit_code(self) -> u8 {
        match self {
            Self::Exit { after_shutdown } | Self::InputClosed { after_shutdown } => {
                u8::from(!after_shutdown)
            }
            Self::Broken => 1,
        }
    }
}

/// What the client sent, decoded.
#[derive(Debug)]
enum Incoming {
    /// A request or notification, for the service.
    Request(Request),
    /// The client's answer to one of our requests.
    Response(Response),
    /// A body that is no JSON-RPC message; the id to answer, if it has one.
    Invalid {
        id: Option<Id>,
        error: serde_json::Error,
    },
}

/// What we send to the client.
#[derive(serde::Serialize)]
#[serde(untagged)]
enum Outgoing {
    Response(Response),
    Request(Request),
}

/// Serves `service` over LSP frames on `input` and `output` until the client
/// sends `exit` or closes the input (see the module documentation), and says
/// how the session ended (`server::run` turns it into the exit code).
/// `socket` carries the server's own requests and notifications to the
/// client and routes the client's answers back.
pub(crate) async fn serve<I, O, S>(
    input: I,
    output: O,
    socket: ClientSocket,
    service: S,
    max_concurrency: usize,
) -> SessionEnd
where
    I: AsyncRead + Unpin + Send + 'static,
    O: AsyncWrite + Unpin,
    S: Service<Request, Response = Option<Response>>,
    S::Error: std::fmt::Display,
{
    let end = serve_session(input, output, socket, service, max_concurrency).await;
    match end {
        SessionEnd::Exit { after_shutdown } | SessionEnd::InputClosed { after_shutdown } => {
            if !after_shutdown {
                tracing::warn!(
                    ?end,
                    "the session ended without a shutdown request; exit code 1"
                );
            }
        }
        SessionEnd::Broken => {}
    }
    end
}

async fn serve_session<I, O, S>(
    input: I,
    output: O,
    socket: ClientSocket,
    mut service: S,
    max_concurrency: usize,
) -> SessionEnd
where
    I: AsyncRead + Unpin + Send + 'static,
    O: AsyncWrite + Unpin,
    S: Service<Request, Response = Option<Response>>,
    S::Error: std::fmt::Display,
{
    let (incoming_tx, mut incoming) = mpsc::channel(INCOMING_QUEUE);
    let reader = tokio::spawn(read_messages(input, incoming_tx));
    let (outgoing, outgoing_rx) = mpsc::channel(OUTGOING_QUEUE);
    let (mut server_requests, mut client_responses) = socket.split();

    let dispatch = async move {
        let mut in_flight = FuturesUnordered::new();
        let mut waiting: VecDeque<Request> = VecDeque::new();
        let mut reading = true;
        let mut after_shutdown = false;
        let mut exited = false;
        let mut broken = false;
        loop {
            // Start what fits, in arrival order. Notifications (text sync,
            // cancellation) never wait for a request slot: typing is applied
            // even while every slot holds a slow request.
            while let Some(front) = waiting.front()
                && (front.id().is_none() || in_flight.len() < max_concurrency)
                && let Some(request) = waiting.pop_front()
            {
                if let Err(err) = futures_util::future::poll_fn(|cx| service.poll_ready(cx)).await {
                    tracing::error!(%err, "the service stopped; no more input is read");
                    broken |= !exited;
                    reading = false;
                    waiting.clear();
                    break;
                }
                // The method and id only: params carry document text.
                match request.id() {
                    Some(id) => tracing::debug!(method = request.method(), %id, "request"),
                    None => tracing::debug!(method = request.method(), "notification"),
                }
                in_flight.push(service.call(request));
            }
            if !reading && waiting.is_empty() && in_flight.is_empty() {
                break;
            }
            let message = tokio::select! {
                biased;
                Some(done) = in_flight.next(), if !in_flight.is_empty() => match done {
                    Ok(Some(response)) => {
                        // What the handler sent before it answered (a
                        // message, the progress end) is queued on the
                        // client socket already: it goes out first.
                        while let Some(Some(request)) = server_requests.next().now_or_never() {
                            if outgoing.send(Outgoing::Request(request)).await.is_err() {
                                tracing::error!("the output is closed; stopping");
                                return SessionEnd::Broken;
                            }
                        }
                        Outgoing::Response(response)
                    }
                    Ok(None) => continue,
                    Err(err) => {
                        tracing::error!(%err, "the service failed a request");
                        continue;
                    }
                },
                Some(request) = server_requests.next() => Outgoing::Request(request),
                // Input is read while requests wait for a slot (the client's
                // answers to our own requests must get through, or a full
                // house of requests waiting on them would never finish), up
                // to a bounded queue.
                next = incoming.recv(), if reading && waiting.len() < MAX_WAITING => {
                    match next {
                        None => {
                            reading = false;
                            continue;
                        }
                        Some(Incoming::Request(request)) => {
                            // In arrival order, which is what LSP means by
                            // "shutdown received before exit".
                            after_shutdown |=
                                request.method() == "shutdown" && request.id().is_some();
                            exited = request.method() == "exit";
                            reading = !exited;
                            waiting.push_back(request);
                            continue;
                        }
                        Some(Incoming::Response(response)) => {
                            if client_responses.send(response).await.is_err() {
                                tracing::warn!("a response from the client arrived after the server stopped");
                            }
                            continue;
                        }
                        Some(Incoming::Invalid { id, error }) => {
                            tracing::error!(
                                answered = id.is_some(),
                                category = ?error.classify(),
                                line = error.line(),
                                column = error.column(),
                                "ignoring an LSP message that is not valid JSON-RPC"
                            );
                            let Some(id) = id else { continue };
                            Outgoing::Response(Response::from_error(id, invalid_request(&error)))
                        }
                    }
                }
            };
            if outgoing.send(message).await.is_err() {
                tracing::error!("the output is closed; stopping");
                return SessionEnd::Broken;
            }
        }
        if broken {
            SessionEnd::Broken
        } else if exited {
            SessionEnd::Exit { after_shutdown }
        } else {
            SessionEnd::InputClosed { after_shutdown }
        }
    };
    let (end, ()) = tokio::join!(dispatch, write_messages(output, outgoing_rx));
    reader.abort();
    end
}

/// The error answered to a request that is no valid JSON-RPC message. Names
/// where the body went wrong, never what it contains (it may be source text).
fn invalid_request(error: &serde_json::Error) -> Error {
    Error {
        code: ErrorCode::InvalidRequest,
        message: format!(
            "invalid JSON-RPC request ({:?} error at line {}, column {})",
            error.classify(),
            error.line(),
            error.column()
        )
        .into(),
        data: None,
    }
}

/// Reads and decodes frames until the input ends or the dispatch loop stops.
async fn read_messages<I: AsyncRead + Unpin>(input: I, messages: mpsc::Sender<Incoming>) {
    let mut reader = BufReader::with_capacity(IO_BUFFER, input);
    while let Some(body) = next_body(&mut reader).await {
        let message = decode(&body);
        drop(body);
        if messages.send(message).await.is_err() {
            return;
        }
    }
}

/// Writes messages as LSP frames; what is ready is written together and
/// flushed before waiting for more.
async fn write_messages<O: AsyncWrite + Unpin>(output: O, mut messages: mpsc::Receiver<Outgoing>) {
    let mut out = BufWriter::with_capacity(IO_BUFFER, output);
    while let Some(message) = messages.recv().await {
        let mut next = Some(message);
        while let Some(message) = next {
            if let Err(err) = write_frame(&mut out, &message).await {
                tracing::error!(%err, "cannot write to the client; stopping output");
                return;
            }
            next = messages.try_recv().ok();
        }
        if let Err(err) = out.flush().await {
            tracing::error!(%err, "cannot write to the client; stopping output");
            return;
        }
    }
    let _ = out.flush().await;
}

/// Writes one message with its `Content-Length` header.
async fn write_frame<O: AsyncWrite + Unpin>(
    out: &mut BufWriter<O>,
    message: &Outgoing,
) -> std::io::Result<()> {
    let body = serde_json::to_vec(message)?;
    let header = format!("Content-Length: {}\r\n\r\n", body.len());
    out.write_all(header.as_bytes()).await?;
    out.write_all(&body).await
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
        let reserve = usize::try_from(length.min(MAX_BODY_RESERVE)).unwrap_or(0);
        let mut body = Vec::with_capacity(reserve);
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

/// Decodes one body the way tower-lsp-server's message type does (a
/// response if it is one, else a request), parsing a request only once: a
/// body without a `method` parses as a request with an empty method, and
/// only then is it tried as a response.
fn decode(body: &[u8]) -> Incoming {
    match serde_json::from_slice::<Request>(body) {
        Ok(request) if !request.method().is_empty() => Incoming::Request(request),
        Ok(request) => match serde_json::from_slice::<Response>(body) {
            Ok(response) => Incoming::Response(response),
            Err(_) => Incoming::Request(request),
        },
        Err(error) => match serde_json::from_slice::<Response>(body) {
            Ok(response) => Incoming::Response(response),
            Err(_) => Incoming::Invalid {
                id: request_id(body),
                error,
            },
        },
    }
}

/// The id of an invalid message, when it has a usable one.
fn request_id(body: &[u8]) -> Option<Id> {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("id").cloned())
        .and_then(|id| serde_json::from_value::<Id>(id).ok())
        .filter(|id| *id != Id::Null)
}

/// Tower layer: a request (a message with an id) that the inner service
/// leaves unanswered gets a `MethodNotFound` error.
#[derive(Debug, Clone)]
pub(crate) struct AnswerEveryRequest<S> {
    inner: S,
}

impl<S> AnswerEveryRequest<S> {
    pub(crate) fn new(inner: S) -> Self {
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
    use super::*;

    fn kind(message: &Incoming) -> String {
        match message {
            Incoming::Request(r) => format!("request {} id={:?}", r.method(), r.id()),
            Incoming::Response(r) => format!("response id={:?}", r.id()),
            Incoming::Invalid { id, .. } => format!("invalid id={id:?}"),
        }
    }

    #[test]
    fn bodies_decode_as_tower_lsp_server_would() {
        let table = [
            (
                r#"{"jsonrpc":"2.0","method":"textDocument/didChange","params":{"a":[1,{"b":null}]}}"#,
                "request textDocument/didChange id=None",
            ),
            (
                r#"{"jsonrpc":"2.0","id":7,"method":"x"}"#,
                "request x id=Some(Number(7))",
            ),
            (
                r#"{"jsonrpc":"2.0","id":"seven","method":"x","params":null}"#,
                r#"request x id=Some(String("seven"))"#,
            ),
            (
                r#"{"jsonrpc":"2.0","id":3,"result":null}"#,
                "response id=Number(3)",
            ),
            (
                r#"{"jsonrpc":"2.0","id":4,"error":{"code":-32601,"message":"no"}}"#,
                "response id=Number(4)",
            ),
            // No method, no result: a request with an empty method (unknown
            // to the router), as tower-lsp-server decodes it.
            (r#"{"jsonrpc":"2.0","id":5}"#, "request  id=Some(Number(5))"),
            (r#"{"jsonrpc":"2.0"}"#, "request  id=None"),
            (
                r#"{"jsonrpc":"1.0","method":"x","id":6}"#,
                "invalid id=Some(Number(6))",
            ),
            (
                r#"{"jsonrpc":"2.0","id":7,"method":42}"#,
                "invalid id=Some(Number(7))",
            ),
            (
                r#"{"jsonrpc":"2.0","id":null,"method":42}"#,
                "invalid id=None",
            ),
            (
                r#"{"jsonrpc":"2.0","id":[1],"method":42}"#,
                "invalid id=None",
            ),
            (
                r#"{"jsonrpc":"2.0","method":"x","params":{"a":}"#,
                "invalid id=None",
            ),
            ("{not json", "invalid id=None"),
            ("", "invalid id=None"),
            ("[]", "invalid id=None"),
        ];
        for (body, expected) in table {
            assert_eq!(kind(&decode(body.as_bytes())), expected, "{body}");
        }
    }

    #[tokio::test]
    async fn frames_are_read_by_content_length_and_garbage_skipped() {
        let frame = |body: &str| format!("Content-Length: {}\r\n\r\n{body}", body.len());
        let input = [
            frame("{not json"),
            "garbage line\r\n\r\n".to_owned(),
            frame(""),
            format!(
                "Content-Type: x\r\n{}",
                frame(r#"{"jsonrpc":"2.0","id":7,"method":"m"}"#).to_lowercase()
            ),
            "Content-Length: nine\r\n\r\n".to_owned(),
            frame(r#"{"jsonrpc":"2.0","method":"exit"}"#),
            // Cut short: the input ends inside the body.
            "Content-Length: 100\r\n\r\n{".to_owned(),
        ]
        .concat();
        let (tx, mut rx) = mpsc::channel(16);
        read_messages(std::io::Cursor::new(input.into_bytes()), tx).await;
        let mut kinds = Vec::new();
        while let Some(message) = rx.recv().await {
            kinds.push(kind(&message));
        }
        assert_eq!(
            kinds,
            [
                "invalid id=None",
                "invalid id=None",
                "request m id=Some(Number(7))",
                "request exit id=None",
            ]
        );
    }

    #[test]
    fn the_invalid_request_error_does_not_echo_the_body() {
        let body = r#"{"jsonrpc":"2.0","id":1,"method":"sk-secret-text-here"#;
        let Incoming::Invalid { error, .. } = decode(body.as_bytes()) else {
            panic!("decoded");
        };
        let error = invalid_request(&error);
        assert_eq!(error.code, ErrorCode::InvalidRequest);
        assert!(!error.message.contains("secret"), "{}", error.message);
    }

    /// Hands out at most `chunk` bytes per read, so frames arrive split at
    /// every possible place.
    struct Trickle {
        data: Vec<u8>,
        at: usize,
        chunk: usize,
    }

    impl AsyncRead for Trickle {
        fn poll_read(
            mut self: std::pin::Pin<&mut Self>,
            _cx: &mut Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> Poll<std::io::Result<()>> {
            let end = (self.at + self.chunk)
                .min(self.data.len())
                .min(self.at + buf.remaining());
            buf.put_slice(&self.data[self.at..end]);
            self.at = end;
            Poll::Ready(Ok(()))
        }
    }

    fn framing_case()
    -> impl proptest::strategy::Strategy<Value = (Vec<Result<String, Vec<u8>>>, usize)> {
        use proptest::prelude::*;
        let body = prop_oneof![
            "[a-zA-Z/$é😀]{1,12}".prop_map(Ok),
            proptest::collection::vec(any::<u8>(), 0..80).prop_map(Err),
        ];
        (proptest::collection::vec(body, 0..12), 1usize..40)
    }

    proptest::proptest! {
        /// Every frame becomes exactly one message, in order, however the
        /// input is split; garbage bodies never cost a neighbour its frame.
        #[test]
        fn every_frame_is_one_message_in_order((bodies, chunk) in framing_case()) {
            let mut input = Vec::new();
            let mut expected = Vec::new();
            for body in &bodies {
                let bytes = match body {
                    Ok(method) => serde_json::to_vec(
                        &serde_json::json!({ "jsonrpc": "2.0", "method": method }),
                    )
                    .unwrap_or_default(),
                    Err(bytes) => bytes.clone(),
                };
                expected.push(kind(&decode(&bytes)));
                if let Ok(method) = body {
                    proptest::prop_assert_eq!(&expected[expected.len() - 1], &format!("request {method} id=None"));
                }
                input.extend(format!("Content-Length: {}\r\n\r\n", bytes.len()).into_bytes());
                input.extend(bytes);
            }
            let runtime = tokio::runtime::Builder::new_current_thread().build().map_err(|e| {
                proptest::test_runner::TestCaseError::fail(e.to_string())
            })?;
            let kinds = runtime.block_on(async {
                let (tx, mut rx) = mpsc::channel(16);
                let reader = tokio::spawn(read_messages(Trickle { data: input, at: 0, chunk }, tx));
                let mut kinds = Vec::new();
                while let Some(message) = rx.recv().await {
                    kinds.push(kind(&message));
                }
                let _ = reader.await;
                kinds
            });
            proptest::prop_assert_eq!(kinds, expected);
        }
    }
}
