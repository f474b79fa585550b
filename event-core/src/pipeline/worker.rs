//! One sink's worker: takes batches from its queue, sends them with retries, routes rejections.

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::sync::{Mutex, mpsc};
use tokio_util::sync::CancellationToken;

use super::batch::Batch;
use super::recovery::{Asked, drop_already_stored};
use super::{PipelineConfig, PipelineError, Route};
use crate::filter::Predicate;
use crate::health::Health;
use crate::metrics::{Metrics, SinkCounters};
use crate::retry::Backoff;
use crate::{Event, Rejection, Sink, SinkError};

/// The dead-letter sink, shared by every worker.
pub(super) type DeadLetter = Arc<Mutex<Box<dyn Sink>>>;

pub(super) struct Worker {
    pub(super) sink: Box<dyn Sink>,
    pub(super) queue: mpsc::Receiver<Arc<Batch>>,
    pub(super) ctx: WorkerCtx,
}

/// Everything a worker needs besides its sink and queue (shared, so `Sync`).
pub(super) struct WorkerCtx {
    pub(super) route: Option<Route>,
    pub(super) dead_letter: Option<DeadLetter>,
    pub(super) config: Arc<PipelineConfig>,
    pub(super) metrics: Metrics,
    /// Where the sinks' failures and recoveries are reported (readiness).
    pub(super) health: Health,
    pub(super) counters: Arc<SinkCounters>,
    /// Cancelled when the shutdown deadline passes: stop without acknowledging.
    pub(super) hard_stop: CancellationToken,
}

/// The result of sending one batch, retries included.
enum Sent {
    Stored,
    Rejected(Vec<Rejection>),
    /// The shutdown deadline passed first; the batch stays unacknowledged.
    Abandoned,
}

impl Worker {
    pub(super) async fn run(self) -> Result<(), PipelineError> {
        let Worker {
            mut sink,
            mut queue,
            ctx,
        } = self;
        let name = sink.name().to_owned();
        loop {
            let batch = tokio::select! {
                biased;
                () = ctx.hard_stop.cancelled() => break,
                batch = queue.recv() => match batch {
                    Some(batch) => batch,
                    None => break,
                },
            };
            ctx.counters.queue_depth.fetch_sub(1, Ordering::Relaxed);
            let mut events: Cow<'_, [Event]> = match &ctx.route {
                Some(route) => Cow::Owned(
                    batch
                        .events
                        .iter()
                        .filter(|e| route.matches(e))
                        .cloned()
                        .collect(),
                ),
                None => Cow::Borrowed(&batch.events),
            };
            // The previous run may have handed these to the sink without checkpointing them:
            // ask the sink before sending them again.
            if !batch.doubtful.is_empty() {
                let doubtful = |e: &Event| batch.doubtful.contains(&e.key());
                let asked = drop_already_stored(
                    &mut *sink,
                    &mut events,
                    doubtful,
                    &ctx.counters,
                    &ctx.hard_stop,
                )
                .await?;
                if matches!(asked, Asked::Abandoned) {
                    break;
                }
            }
            if !events.is_empty() {
                match send_with_retry(
                    &mut *sink,
                    &mut events,
                    &ctx.config,
                    (&ctx.counters, &ctx.health),
                    &ctx.hard_stop,
                )
                .await?
                {
                    Sent::Stored => {}
                    Sent::Rejected(rejected) => {
                        ctx.route_rejected(&name, &events, rejected).await?
                    }
                    Sent::Abandoned => break,
                }
            }
            batch.sink_done(&ctx.metrics);
        }
        if !ctx.hard_stop.is_cancelled() {
            let flushed = tokio::select! {
                biased;
                () = ctx.hard_stop.cancelled() => None,
                flushed = tokio::time::timeout(ctx.config.sink_timeout, sink.flush()) => Some(flushed),
            };
            match flushed {
                Some(Ok(Ok(()))) => {}
                Some(Ok(Err(error))) => {
                    tracing::error!(sink = %name, %error, "flush at shutdown failed")
                }
                Some(Err(_)) => tracing::error!(sink = %name, "flush at shutdown timed out"),
                None => tracing::error!(sink = %name, "flush cut at the shutdown deadline"),
            }
        }
        Ok(())
    }
}

impl WorkerCtx {
    /// Sends refused events to the dead-letter sink, or logs and counts each one. Never
    /// acknowledges an event silently.
    async fn route_rejected(
        &self,
        sink: &str,
        events: &[Event],
        rejected: Vec<Rejection>,
    ) -> Result<(), PipelineError> {
        self.counters
            .rejected
            .fetch_add(rejected.len() as u64, Ordering::Relaxed);
        for r in &rejected {
            let key = events
                .get(r.index)
                .map(|e| e.key().to_string())
                .unwrap_or_default();
            tracing::error!(sink, event.key = %key, reason = %r.reason, "sink refused an event");
        }
        let Some(dead_letter) = &self.dead_letter else {
            return Ok(());
        };
        let refused: Vec<Event> = rejected
            .iter()
            .filter_map(|r| events.get(r.index).cloned())
            .collect();
        let mut dlq = dead_letter.lock().await;
        let counters = self.metrics.sink(dlq.name());
        let mut refused: Cow<'_, [Event]> = Cow::Owned(refused);
        match send_with_retry(
            &mut **dlq,
            &mut refused,
            &self.config,
            (&counters, &self.health),
            &self.hard_stop,
        )
        .await?
        {
            Sent::Stored | Sent::Abandoned => Ok(()),
            Sent::Rejected(again) => {
                for r in again {
                    let key = refused
                        .get(r.index)
                        .map(|e| e.key().to_string())
                        .unwrap_or_default();
                    tracing::error!(sink = dlq.name(), event.key = %key, reason = %r.reason,
                        "dead-letter sink refused an event too; it is only in this log");
                }
                Ok(())
            }
        }
    }
}

/// Sends `events` until stored, refused or the shutdown deadline passes; retryable errors are
/// retried with jittered exponential backoff (or the delay the sink asked for). After an error
/// that may have stored the batch anyway, the sink is asked what it holds and only the rest is
/// sent again, so `events` is what the last call was given (rejection indexes refer to it).
async fn send_with_retry(
    sink: &mut dyn Sink,
    events: &mut Cow<'_, [Event]>,
    config: &PipelineConfig,
    (counters, health): (&SinkCounters, &Health),
    hard_stop: &CancellationToken,
) -> Result<Sent, PipelineError> {
    let mut backoff = Backoff::sink();
    loop {
        // A send in flight at the shutdown deadline is abandoned: the batch stays
        // unacknowledged, and the dispatch mark saved before it went out makes the next run ask
        // the sink what it stored before sending it again.
        let started = std::time::Instant::now();
        let sent = tokio::select! {
            biased;
            () = hard_stop.cancelled() => return Ok(Sent::Abandoned),
            sent = tokio::time::timeout(config.sink_timeout, sink.send(events)) => sent,
        };
        let result = match sent {
            Ok(result) => result,
            // The call was cut short while the request may have been on its way.
            Err(elapsed) => Err(SinkError::maybe_stored(
                format!("send did not finish within {:?}", config.sink_timeout),
                elapsed,
            )),
        };
        counters.observe_request(started.elapsed());
        let n = events.len() as u64;
        match result {
            Ok(()) => {
                health.sink_succeeded(sink.name());
                counters.observe_stored(events, jiff::Timestamp::now());
                counters.sent.fetch_add(n, Ordering::Relaxed);
                counters.batches.fetch_add(1, Ordering::Relaxed);
                counters.batch_events.fetch_add(n, Ordering::Relaxed);
                return Ok(Sent::Stored);
            }
            Err(SinkError::Rejected { rejected, .. }) => {
                health.sink_succeeded(sink.name());
                counters
                    .sent
                    .fetch_add(n.saturating_sub(rejected.len() as u64), Ordering::Relaxed);
                counters.batches.fetch_add(1, Ordering::Relaxed);
                counters.batch_events.fetch_add(n, Ordering::Relaxed);
                return Ok(Sent::Rejected(rejected));
            }
            Err(source @ SinkError::Fatal { .. }) => {
                return Err(PipelineError::SinkFailed {
                    sink: sink.name().to_owned(),
                    source,
                });
            }
            Err(error) => {
                health.sink_failed(sink.name(), &error);
                counters.retried.fetch_add(1, Ordering::Relaxed);
                let delay = match &error {
                    SinkError::Retryable {
                        retry_after: Some(d),
                        ..
                    } => *d,
                    _ => backoff.next_delay(),
                };
                tracing::warn!(sink = sink.name(), %error, delay_ms = delay.as_millis() as u64, events = n, "retrying batch");
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    () = hard_stop.cancelled() => return Ok(Sent::Abandoned),
                }
                if error.is_maybe_stored() {
                    let asked =
                        drop_already_stored(sink, events, |_| true, counters, hard_stop).await?;
                    if matches!(asked, Asked::Abandoned) {
                        return Ok(Sent::Abandoned);
                    }
                    if events.is_empty() {
                        counters.batches.fetch_add(1, Ordering::Relaxed);
                        return Ok(Sent::Stored);
                    }
                }
            }
        }
    }
}
