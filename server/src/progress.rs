//! Progress and cancellation of model calls.
//!
//! Every model call is a [`Job`]: it gets a progress token (`codex/N`), shows
//! `$/progress` begin/report/end when the client supports work-done progress,
//! announces itself with the `codex/status` notification, and owns a
//! cancellation token that `window/workDoneProgress/cancel` trips. Reports
//! from the streaming callback are throttled and sent from a spawned task, so
//! the stream is never slowed by the client.
//!
//! Every job ends with `$/progress` `end` and `codex/status` `idle`, however
//! it ends: [`Job::end`] sends them with the outcome; a job dropped without
//! it (`$/cancelRequest` drops the request's future, and the job with it)
//! sends them from a spawned task with the message "cancelled".

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use dashmap::DashMap;
use tokio_util::sync::CancellationToken;
use tower_lsp_server::Client;
use tower_lsp_server::ls_types::notification::Progress;
use tower_lsp_server::ls_types::request::WorkDoneProgressCreate;
use tower_lsp_server::ls_types::{
    NumberOrString, ProgressParams, ProgressParamsValue, WorkDoneProgress, WorkDoneProgressBegin,
    WorkDoneProgressCreateParams, WorkDoneProgressEnd, WorkDoneProgressReport,
};

use crate::lsp::ext::{StatusNotification, StatusParams, StatusState, UsageReport};

/// The running jobs, by progress token.
#[derive(Debug, Default)]
pub(crate) struct Jobs {
    next: AtomicU64,
    running: DashMap<String, CancellationToken>,
}

impl Jobs {
    /// Cancels the job with this progress token, if it still runs.
    pub(crate) fn cancel(&self, token: &str) -> bool {
        match self.running.get(token) {
            Some(t) => {
                t.cancel();
                true
            }
            None => false,
        }
    }
}

/// One model call's progress and cancellation.
#[derive(Debug)]
pub(crate) struct Job {
    jobs: Arc<Jobs>,
    client: Client,
    token: String,
    title: String,
    cancel: CancellationToken,
    progress: bool,
    last_report: Option<Instant>,
    received_chars: usize,
    /// `$/progress` `end` was sent (or there is no progress to end).
    progress_ended: bool,
    /// `codex/status` `idle` was sent.
    status_ended: bool,
}

/// The outcome a job dropped without [`Job::end`] reports.
const DROPPED_MESSAGE: &str = "cancelled";

const REPORT_INTERVAL: Duration = Duration::from_millis(200);

impl Job {
    /// Starts a job: creates the progress token (when the client supports
    /// work-done progress) and sends `begin` and `codex/status running`.
    pub(crate) async fn begin(
        jobs: &Arc<Jobs>,
        client: &Client,
        title: &str,
        work_done_progress: bool,
    ) -> Self {
        let n = jobs.next.fetch_add(1, Ordering::Relaxed) + 1;
        let token = format!("codex/{n}");
        let cancel = CancellationToken::new();
        jobs.running.insert(token.clone(), cancel.clone());
        // The job exists before the first await, so a request cancelled
        // while it begins still ends it (see `Drop`).
        let mut job = Self {
            jobs: Arc::clone(jobs),
            client: client.clone(),
            token,
            title: title.to_owned(),
            cancel,
            progress: false,
            last_report: None,
            received_chars: 0,
            progress_ended: true,
            status_ended: false,
        };
        if work_done_progress {
            let params = WorkDoneProgressCreateParams {
                token: NumberOrString::String(job.token.clone()),
            };
            match client.send_request::<WorkDoneProgressCreate>(params).await {
                Ok(()) => {
                    job.progress = true;
                    job.progress_ended = false;
                }
                Err(err) => tracing::debug!(%err, "client refused a progress token"),
            }
        }
        if job.progress {
            job.send_progress(WorkDoneProgress::Begin(WorkDoneProgressBegin {
                title: title.to_owned(),
                cancellable: Some(true),
                message: Some("waiting for the model".to_owned()),
                percentage: None,
            }))
            .await;
        }
        job.client
            .send_notification::<StatusNotification>(StatusParams {
                state: StatusState::Running,
                title: Some(job.title.clone()),
                progress_token: Some(job.token.clone()),
                message: None,
                usage: None,
            })
            .await;
        job
    }

    /// The job's cancellation token.
    pub(crate) fn cancellation(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// Called for every streamed text delta; sends a throttled report.
    pub(crate) fn on_delta(&mut self, delta: &str) {
        self.received_chars += delta.len();
        self.report_throttled(format!("receiving: {} characters", self.received_chars));
    }

    /// Reports a retry (always sent).
    pub(crate) fn on_retry(&mut self, message: String) {
        self.last_report = None;
        self.report_throttled(message);
    }

    fn report_throttled(&mut self, message: String) {
        if !self.progress {
            return;
        }
        let now = Instant::now();
        if self
            .last_report
            .is_some_and(|last| now.duration_since(last) < REPORT_INTERVAL)
        {
            return;
        }
        self.last_report = Some(now);
        let client = self.client.clone();
        let token = self.token.clone();
        tokio::spawn(async move {
            send_progress(
                &client,
                &token,
                WorkDoneProgress::Report(WorkDoneProgressReport {
                    cancellable: Some(true),
                    message: Some(message),
                    percentage: None,
                }),
            )
            .await;
        });
    }

    /// Ends the job with an outcome and, after a completed call, its usage.
    pub(crate) async fn end(mut self, message: &str, usage: Option<UsageReport>) {
        let full = match usage {
            Some(u) => format!("{message} ({})", u.summary()),
            None => message.to_owned(),
        };
        if !self.progress_ended {
            self.send_progress(WorkDoneProgress::End(WorkDoneProgressEnd {
                message: Some(full),
            }))
            .await;
            self.progress_ended = true;
        }
        send_idle(&self.client, &self.token, &self.title, message, usage).await;
        self.status_ended = true;
    }

    async fn send_progress(&self, value: WorkDoneProgress) {
        send_progress(&self.client, &self.token, value).await;
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        self.jobs.running.remove(&self.token);
        if self.progress_ended && self.status_ended {
            return;
        }
        // Dropped without `end`: the request was cancelled (its future
        // dropped). Drop cannot await, so the end goes from a task.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let client = self.client.clone();
        let token = self.token.clone();
        let title = std::mem::take(&mut self.title);
        let (progress, status) = (!self.progress_ended, !self.status_ended);
        runtime.spawn(async move {
            if progress {
                send_progress(
                    &client,
                    &token,
                    WorkDoneProgress::End(WorkDoneProgressEnd {
                        message: Some(DROPPED_MESSAGE.to_owned()),
                    }),
                )
                .await;
            }
            if status {
                send_idle(&client, &token, &title, DROPPED_MESSAGE, None).await;
            }
        });
    }
}

async fn send_idle(
    client: &Client,
    token: &str,
    title: &str,
    message: &str,
    usage: Option<UsageReport>,
) {
    client
        .send_notification::<StatusNotification>(StatusParams {
            state: StatusState::Idle,
            title: Some(title.to_owned()),
            progress_token: Some(token.to_owned()),
            message: Some(message.to_owned()),
            usage,
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
