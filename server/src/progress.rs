//! Progress and cancellation of model calls.
//!
//! Every model call is a [`Job`]: it gets a progress token (`codex/N`), shows
//! `$/progress` begin/report/end when the client supports work-done progress,
//! announces itself with the `codex/status` notification, and owns a
//! cancellation token that `window/workDoneProgress/cancel` trips, and so
//! does closing the document the job works on (the only cancellation Helix
//! sends). Progress
//! goes through a queue drained by a spawned task (see `ProgressStream`), so
//! neither the stream nor the request waits on the client.
//!
//! Every job ends with `$/progress` `end` (unless the client has not
//! accepted its token by then, then no progress is shown) and `codex/status`
//! `idle`, however it ends: [`Job::end`] sends them with the outcome; a job dropped without
//! it (`$/cancelRequest` drops the request's future, and the job with it)
//! sends them with the message "cancelled".

use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use dashmap::DashMap;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tower_lsp_server::Client;
use tower_lsp_server::ls_types::notification::Progress;
use tower_lsp_server::ls_types::request::WorkDoneProgressCreate;
use tower_lsp_server::ls_types::{
    NumberOrString, ProgressParams, ProgressParamsValue, WorkDoneProgress, WorkDoneProgressBegin,
    WorkDoneProgressCreateParams, WorkDoneProgressEnd, WorkDoneProgressReport,
};

use crate::lsp::ext::{SessionUsage, StatusNotification, StatusParams, StatusState, UsageReport};
use crate::workspace::DocumentKey;

/// The running jobs, by progress token, and what the session's model
/// calls cost so far.
#[derive(Debug, Default)]
pub(crate) struct Jobs {
    next: AtomicU64,
    running: DashMap<String, Running>,
    session: Mutex<SessionUsage>,
}

/// What is kept of a running job: how to cancel it, and the document it
/// works on (so closing that document cancels it).
#[derive(Debug)]
struct Running {
    cancel: CancellationToken,
    document: Option<DocumentKey>,
    /// Set, before the cancellation, when the document went away.
    gone: Arc<OnceLock<DocumentGone>>,
}

/// Why a job's document went away while it ran, recorded when it is
/// cancelled for it, so the outcome does not depend on what the client sent
/// after (a close followed by a new open is still "closed").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DocumentGone {
    /// `didClose`: the user closed it; nothing went wrong.
    Closed,
    /// A `didOpen` replaced the open the job worked on.
    Reopened,
}

impl Jobs {
    /// Adds one answered model request to the session total (every
    /// request counts: the turns of actions, explanations, hovers).
    pub(crate) fn count_usage(&self, usage: &UsageReport) {
        if let Ok(mut session) = self.session.lock() {
            session.add(usage);
        }
    }

    /// The session total so far; `None` before the first answer.
    pub(crate) fn session(&self) -> Option<SessionUsage> {
        self.session
            .lock()
            .ok()
            .filter(|s| s.requests > 0)
            .map(|s| s.clone())
    }

    /// Cancels the job with this progress token, if it still runs.
    pub(crate) fn cancel(&self, token: &str) -> bool {
        match self.running.get(token) {
            Some(job) => {
                job.cancel.cancel();
                true
            }
            None => false,
        }
    }

    /// Cancels every job working on `document`, which went away for
    /// `why`; returns how many. Their results could not land anyway.
    pub(crate) fn cancel_document(&self, document: &DocumentKey, why: DocumentGone) -> usize {
        let mut cancelled = 0;
        for job in self.running.iter() {
            if job.document.as_ref() == Some(document) {
                let _ = job.gone.set(why);
                job.cancel.cancel();
                cancelled += 1;
            }
        }
        cancelled
    }
}

impl Jobs {
    /// Registers work on `document` that shows no progress of its own
    /// (`codex.explain`), so closing the document cancels it like a job.
    pub(crate) fn watch(self: &Arc<Self>, document: DocumentKey) -> DocumentWatch {
        let n = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let token = format!("codex/watch/{n}");
        let cancel = CancellationToken::new();
        self.running.insert(
            token.clone(),
            Running {
                cancel: cancel.clone(),
                document: Some(document),
                gone: Arc::default(),
            },
        );
        DocumentWatch {
            jobs: Arc::clone(self),
            token,
            cancel,
        }
    }
}

/// See [`Jobs::watch`]; unregisters itself when dropped.
#[derive(Debug)]
pub(crate) struct DocumentWatch {
    jobs: Arc<Jobs>,
    token: String,
    cancel: CancellationToken,
}

impl DocumentWatch {
    /// Resolves when the document went away.
    pub(crate) async fn gone(&self) {
        self.cancel.cancelled().await;
    }
}

impl Drop for DocumentWatch {
    fn drop(&mut self) {
        self.jobs.running.remove(&self.token);
    }
}

/// What a job is about, for [`Job::begin`].
#[derive(Debug, Clone)]
pub(crate) struct JobInfo {
    /// The action's title, for `codex/status`.
    pub(crate) title: String,
    /// The `$/progress` `begin` title, or `None` when the client does not
    /// support work-done progress. It may differ from `title`: a client
    /// that shows the server's name before it needs no "Codex:" prefix.
    pub(crate) progress_title: Option<String>,
    /// The document the job works on.
    pub(crate) document: Option<DocumentKey>,
}

/// One model call's progress and cancellation.
#[derive(Debug)]
pub(crate) struct Job {
    jobs: Arc<Jobs>,
    client: Client,
    token: String,
    title: String,
    cancel: CancellationToken,
    /// Why the job's document went away, if it did (see [`Running`]).
    gone: Arc<OnceLock<DocumentGone>>,
    progress: Option<ProgressStream>,
    last_report: Option<Instant>,
    received_chars: usize,
    /// `codex/status` `idle` was sent.
    status_ended: bool,
}

/// The outcome a job dropped without [`Job::end`] reports.
const DROPPED_MESSAGE: &str = "cancelled";

const REPORT_INTERVAL: Duration = Duration::from_millis(200);

/// The `$/progress` notifications of one token, sent in order and only once
/// the client accepted the token. The token's creation is never awaited by
/// the job itself: a client may answer it only after the request the job
/// serves returns (Helix resolves a picked action synchronously and answers
/// server requests on the same loop), and waiting would deadlock until its
/// timeout. Until the answer arrives, notifications queue here; a job that
/// ends before the client accepted its token waits for the answer at most
/// [`ACCEPT_GRACE`], then shows no progress at all, so no `begin`/`end`
/// ever follows the response of the request it served.
#[derive(Debug)]
struct ProgressStream {
    queue: mpsc::UnboundedSender<WorkDoneProgress>,
    state: Arc<AtomicU8>,
    /// Turns true when the client accepted the token.
    accepted: watch::Receiver<bool>,
    forwarder: JoinHandle<()>,
}

/// How long an ending job waits for a client that has not answered the
/// token's creation yet. A prompt client answers within milliseconds (a
/// fast model can still finish first); a client that answers only after
/// the request returns (Helix inside `codeAction/resolve`) costs this much.
const ACCEPT_GRACE: Duration = Duration::from_millis(500);

/// [`ProgressStream::state`]: the client has not answered the creation yet.
const PENDING: u8 = 0;
/// The client accepted the token; everything queued is being sent.
const ACCEPTED: u8 = 1;
/// The job ended first; nothing is sent for this token.
const ABANDONED: u8 = 2;

impl ProgressStream {
    fn start(client: &Client, token: &str) -> Self {
        let (queue, mut queued) = mpsc::unbounded_channel::<WorkDoneProgress>();
        let state = Arc::new(AtomicU8::new(PENDING));
        let client = client.clone();
        let token = token.to_owned();
        let shared = Arc::clone(&state);
        let (accept, accepted) = watch::channel(false);
        let forwarder = tokio::spawn(async move {
            let params = WorkDoneProgressCreateParams {
                token: NumberOrString::String(token.clone()),
            };
            if let Err(err) = client.send_request::<WorkDoneProgressCreate>(params).await {
                tracing::debug!(%err, "client refused a progress token");
                return;
            }
            if shared
                .compare_exchange(PENDING, ACCEPTED, Ordering::SeqCst, Ordering::SeqCst)
                .is_err()
            {
                tracing::debug!("progress token accepted after its job ended; nothing to show");
                return;
            }
            let _ = accept.send(true);
            while let Some(value) = queued.recv().await {
                send_progress(&client, &token, value).await;
            }
        });
        Self {
            queue,
            state,
            accepted,
            forwarder,
        }
    }

    fn send(&self, value: WorkDoneProgress) {
        let _ = self.queue.send(value);
    }

    /// The job is over before the client accepted the token: true when
    /// nothing of this stream will ever be sent.
    fn abandon_if_pending(&self) -> bool {
        self.state
            .compare_exchange(PENDING, ABANDONED, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    }

    /// Sends `end` and closes the stream, waiting until everything queued
    /// was sent, so the end precedes the response of the request the job
    /// served. When the client does not accept the token within
    /// [`ACCEPT_GRACE`], nothing is sent.
    async fn finish(mut self, end: WorkDoneProgress) {
        if self.state.load(Ordering::SeqCst) == PENDING {
            // Err: the client refused the token (or never answers).
            let _ = tokio::time::timeout(ACCEPT_GRACE, self.accepted.wait_for(|&yes| yes)).await;
        }
        if self.abandon_if_pending() {
            return;
        }
        let Self {
            queue, forwarder, ..
        } = self;
        let _ = queue.send(end);
        drop(queue);
        let _ = forwarder.await;
    }

    /// [`Self::finish`] for a dropped job, which cannot wait.
    fn finish_detached(self, end: WorkDoneProgress) {
        if !self.abandon_if_pending() {
            self.send(end);
        }
    }
}

impl Job {
    /// Starts a job: creates the progress token (when the client supports
    /// work-done progress) and sends `begin` and `codex/status running`.
    pub(crate) async fn begin(jobs: &Arc<Jobs>, client: &Client, info: JobInfo) -> Self {
        let n = jobs.next.fetch_add(1, Ordering::Relaxed) + 1;
        let token = format!("codex/{n}");
        let cancel = CancellationToken::new();
        let gone = Arc::new(OnceLock::new());
        let running = Running {
            cancel: cancel.clone(),
            document: info.document,
            gone: Arc::clone(&gone),
        };
        jobs.running.insert(token.clone(), running);
        let progress_title = info.progress_title;
        let progress = progress_title
            .as_ref()
            .map(|_| ProgressStream::start(client, &token));
        let job = Self {
            jobs: Arc::clone(jobs),
            client: client.clone(),
            token,
            title: info.title,
            cancel,
            gone,
            progress,
            last_report: None,
            received_chars: 0,
            status_ended: false,
        };
        if let (Some(progress), Some(title)) = (&job.progress, progress_title) {
            progress.send(WorkDoneProgress::Begin(WorkDoneProgressBegin {
                title,
                cancellable: Some(true),
                message: Some("waiting for the model".to_owned()),
                percentage: None,
            }));
        }
        job.client
            .send_notification::<StatusNotification>(StatusParams {
                state: StatusState::Running,
                title: Some(job.title.clone()),
                progress_token: Some(job.token.clone()),
                message: None,
                usage: None,
                session: job.jobs.session(),
            })
            .await;
        job
    }

    /// The job's cancellation token.
    pub(crate) fn cancellation(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// Why the job was cancelled, when it was for its document going away.
    pub(crate) fn document_gone(&self) -> Option<DocumentGone> {
        self.gone.get().copied()
    }

    /// Called for every streamed text delta; sends a throttled report.
    pub(crate) fn on_delta(&mut self, delta: &str) {
        self.received_chars += delta.len();
        self.report_throttled(format!("receiving: {} characters", self.received_chars));
    }

    /// Reports a step of a multi-turn action ("reading src/util.rs");
    /// always sent, and the received count starts again for the next turn.
    pub(crate) fn on_step(&mut self, message: String) {
        self.received_chars = 0;
        self.last_report = None;
        self.report_throttled(message);
    }

    /// Reports a retry (always sent).
    pub(crate) fn on_retry(&mut self, message: String) {
        self.last_report = None;
        self.report_throttled(message);
    }

    fn report_throttled(&mut self, message: String) {
        let Some(progress) = &self.progress else {
            return;
        };
        let now = Instant::now();
        if self
            .last_report
            .is_some_and(|last| now.duration_since(last) < REPORT_INTERVAL)
        {
            return;
        }
        self.last_report = Some(now);
        progress.send(WorkDoneProgress::Report(WorkDoneProgressReport {
            cancellable: Some(true),
            message: Some(message),
            percentage: None,
        }));
    }

    /// Ends the job with an outcome and, after a completed call, its usage.
    /// The progress end says what the call cost ("edit ready ($0.0042,
    /// 1,024 of 1,200 input tokens cached, 80 output tokens)").
    pub(crate) async fn end(mut self, message: &str, usage: Option<UsageReport>) {
        let full = match &usage {
            Some(u) => format!("{message} ({})", u.summary()),
            None => message.to_owned(),
        };
        if let Some(progress) = self.progress.take() {
            progress
                .finish(WorkDoneProgress::End(WorkDoneProgressEnd {
                    message: Some(full),
                }))
                .await;
        }
        let session = self.jobs.session();
        send_idle(
            &self.client,
            &self.token,
            &self.title,
            message,
            usage,
            session,
        )
        .await;
        self.status_ended = true;
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        self.jobs.running.remove(&self.token);
        // Dropped without `end`: the request was cancelled (its future
        // dropped). The progress end joins the queue (or nothing is sent
        // when the client has not accepted the token yet); the status, which
        // cannot be awaited here, goes from a task.
        if let Some(progress) = self.progress.take() {
            progress.finish_detached(WorkDoneProgress::End(WorkDoneProgressEnd {
                message: Some(DROPPED_MESSAGE.to_owned()),
            }));
        }
        if self.status_ended {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let client = self.client.clone();
        let token = self.token.clone();
        let title = std::mem::take(&mut self.title);
        let session = self.jobs.session();
        runtime.spawn(async move {
            send_idle(&client, &token, &title, DROPPED_MESSAGE, None, session).await;
        });
    }
}

async fn send_idle(
    client: &Client,
    token: &str,
    title: &str,
    message: &str,
    usage: Option<UsageReport>,
    session: Option<SessionUsage>,
) {
    client
        .send_notification::<StatusNotification>(StatusParams {
            state: StatusState::Idle,
            title: Some(title.to_owned()),
            progress_token: Some(token.to_owned()),
            message: Some(message.to_owned()),
            usage,
            session,
        })
        .await;
}

async fn send_progress(client: &Client, token: &str, value: WorkDoneProgress) {
    client
        .send_notification::<Progress>(ProgressParams {
            token: NumberOrString::String(token.to_owned()),
            value: ProgressParamsValue::WorkDone(value),
        })
        .await;
}
