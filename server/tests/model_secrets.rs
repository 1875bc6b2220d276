//! Captures everything logged at TRACE level, through `tracing` and the
//! `log` crate (reqwest's logging), by a global subscriber in this dedicated
//! test binary, across a range of real calls against the fake server, and
//! checks the API key appears nowhere.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use codex_lsp::model::{
    ApiKey, Auth, CallPolicy, Endpoint, InputItem, ModelClient, ModelError, ResponsesRequest,
};
use codex_lsp_tests::{FakeResponses, Fault, Rule, Script};

const KEY: &str = "sk-proj-SECRETKEYx7f3a9c0d1e2";
const PROMPT_MARKER: &str = "PROMPT-MARKER-trace-only";

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Capture {
        self.clone()
    }
}

/// Forwards `log` records (reqwest, rustls) into the same buffer.
struct LogBridge(Capture);

impl log::Log for LogBridge {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        let line = format!(
            "LOG {} {} {}\n",
            record.level(),
            record.target(),
            record.args()
        );
        self.0.clone().write_all(line.as_bytes()).unwrap();
    }
    fn flush(&self) {}
}

/// The process-wide capture: one global subscriber and `log` bridge for
/// every test of this binary (tests may run at once; each only checks that
/// its own secrets are absent, so sharing the buffer is harmless).
fn capture() -> Capture {
    static CAPTURE: std::sync::OnceLock<Capture> = std::sync::OnceLock::new();
    CAPTURE
        .get_or_init(|| {
            let capture = Capture::default();
            tracing_subscriber::fmt()
                .with_max_level(tracing::Level::TRACE)
                .with_ansi(false)
                .with_writer(capture.clone())
                .try_init()
                .unwrap();
            log::set_logger(Box::leak(Box::new(LogBridge(capture.clone())))).unwrap();
            log::set_max_level(log::LevelFilter::Trace);
            capture
        })
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_key_never_appears_in_trace_output() {
    let capture = capture();

    let server = FakeResponses::start(Script::new(vec![
        Rule::fault(Fault::Http500).matching("retry-me").times(1),
        Rule::fault(Fault::Http429)
            .matching("limit-me")
            .header("retry-after", None)
            .header("retry-after-ms", Some("20"))
            .times(1),
        Rule::fault(Fault::Http401).matching("deny-me"),
        Rule {
            error_message: Some(format!("Incorrect API key provided: {KEY}.")),
            ..Rule::fault(Fault::ErrorEvent).matching("echo-me")
        }
        .error_code("invalid_api_key"),
        Rule::fault(Fault::CutMidStream).matching("cut-me").times(1),
        Rule::reply("The answer, streamed in small chunks.").chunks(3, 0),
    ]))
    .await;
    let client = ModelClient::new().unwrap();
    let policy = CallPolicy {
        initial_retry_delay: Duration::from_millis(10),
        ..CallPolicy::default()
    };
    let key = ApiKey::new(KEY);
    let endpoints = [
        Endpoint {
            base_url: server.base_url(),
            auth: Auth::Bearer(key.clone()),
        },
        Endpoint {
            base_url: server.base_url(),
            auth: Auth::AzureApiKey(key.clone()),
        },
    ];
    let mut outcomes = Vec::new();
    for endpoint in &endpoints {
        tracing::debug!(?endpoint, "endpoint in use");
        for tag in ["ok", "retry-me", "limit-me", "deny-me", "echo-me", "cut-me"] {
            let request = ResponsesRequest::new(
                "gpt-5.2-codex",
                vec![InputItem::user_text(format!("{tag} {PROMPT_MARKER}"))],
            );
            let result = client
                .respond(endpoint, &request, &policy, &mut |p| {
                    tracing::trace!(?p, "progress");
                })
                .await;
            if let Err(e) = &result {
                tracing::error!(error = ?e, message = %e.user_message(), "call failed");
            }
            outcomes.push((tag, result));
        }
        server.set_script(Script::new(vec![Rule::reply("ok")]));
    }
    // Let the background drain tasks finish logging.
    tokio::time::sleep(Duration::from_millis(200)).await;

    let echoed = outcomes
        .iter()
        .find(|(tag, _)| *tag == "echo-me")
        .map(|(_, r)| r.clone())
        .unwrap();
    assert_eq!(
        echoed,
        Err(ModelError::Failed {
            code: Some("invalid_api_key".into()),
            message: "Incorrect API key provided: [redacted].".into()
        })
    );

    let text = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    let lines = text.lines().count();
    let count = |n: &str| text.lines().filter(|l| l.contains(n)).count();
    println!(
        "captured {lines} lines, {} bytes at TRACE: codex_lsp {}, hyper_util {}, log-crate {}",
        text.len(),
        count("codex_lsp::model"),
        count("hyper_util"),
        count("LOG ")
    );
    // The capture really is at TRACE and covers our own and library events.
    assert!(
        text.contains(PROMPT_MARKER),
        "prompt text is logged at trace only"
    );
    assert!(text.contains("model call completed"));
    assert!(text.contains("retrying model call"));
    assert!(
        text.contains("hyper_util") || text.contains("LOG "),
        "library logs captured"
    );
    for needle in [KEY, "SECRETKEY", &KEY[..12], &KEY[KEY.len() - 8..]] {
        assert!(
            !text.contains(needle),
            "found {needle:?} in the trace output"
        );
    }
    for line in text.lines() {
        let lower = line.to_ascii_lowercase();
        assert!(
            !lower.contains("bearer sk") && !lower.contains("api-key: sk"),
            "auth header value in: {line}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_in_the_base_url_never_appear_in_logs_or_messages() {
    const USER: &str = "alice-LOGIN-4242";
    const PASSWORD: &str = "Pw-SECRET-9876";
    let capture = capture();
    let server = FakeResponses::start(Script::new(vec![
        Rule::fault(Fault::Http401).matching("deny-me"),
        Rule::reply("ok"),
    ]))
    .await;
    let client = ModelClient::new().unwrap();
    let policy = CallPolicy {
        max_retries: 0,
        ..CallPolicy::default()
    };
    let with_credentials = |base: &str| base.replacen("://", &format!("://{USER}:{PASSWORD}@"), 1);
    let endpoints = [
        // A gateway that takes basic-auth credentials in the URL.
        with_credentials(&server.base_url()),
        // Nothing listens there: a transport error.
        with_credentials("http://127.0.0.1:9/v1"),
        // Not a URL at all: the endpoint error quotes the setting.
        with_credentials("https://bad host/v1"),
    ];
    let mut messages = Vec::new();
    for base_url in endpoints {
        let endpoint = Endpoint {
            base_url,
            auth: Auth::None,
        };
        tracing::debug!(?endpoint, "endpoint in use");
        for tag in ["ok", "deny-me"] {
            let request =
                ResponsesRequest::new("gpt-5.2-codex", vec![InputItem::user_text(tag.to_owned())]);
            let result = client
                .respond(&endpoint, &request, &policy, &mut |_| {})
                .await;
            if let Err(e) = &result {
                tracing::error!(error = ?e, message = %e.user_message(), "call failed");
                messages.push(format!("{e} | {e:?} | {}", e.user_message()));
            }
        }
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(messages.len(), 5, "{messages:#?}");

    let text = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("sending model request"),
        "debug logs captured"
    );
    for needle in [USER, PASSWORD] {
        for m in &messages {
            assert!(!m.contains(needle), "{needle:?} in the error {m}");
        }
        let leaked: Vec<&str> = text.lines().filter(|l| l.contains(needle)).collect();
        assert!(leaked.is_empty(), "{needle:?} logged: {leaked:#?}");
    }
}
