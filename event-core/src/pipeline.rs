//! [`Pipeline`]: runs an event stream into sinks without losing or repeating an occurrence.
//!
//! ```text
//! stream ─▶ batcher (max events / max wait) ─┬─▶ queue ─▶ worker ─▶ sink A ─┐
//!                                            └─▶ queue ─▶ worker ─▶ sink B ─┴─▶ ack ─▶ ledger ─▶ checkpoint
//! ```
//!
//! Each sink has a bounded queue: a slow sink slows the stream (and so the watch), it never
//! drops. Retryable errors are retried with jittered exponential backoff; refused events go to
//! the dead-letter sink or are logged and counted; a fatal error stops the pipeline. A batch is
//! acknowledged in the ledger once every sink is done with it, and only acknowledged occurrences
//! reach the checkpoint. Shutdown stops reading, drains the queues within a bound, flushes the
//! sinks and saves the checkpoint; whatever did not drain in time is replayed after a restart.

mod batch;
mod batcher;
mod checkpointer;
mod config;
mod recovery;
mod worker;

use std::fmt::Display;
use std::sync::Arc;

use futures::Stream;
use tokio::sync::{Mutex, mpsc};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::AbortOnDropHandle;

pub use config::PipelineConfig;

use crate::checkpoint::{CheckpointStore, Ledger};
use crate::filter::Predicate;
use crate::health::Health;
use crate::metrics::Metrics;
use crate::{BatchLimits, Sink, SinkError, Tracked};
use checkpointer::Checkpointer;
use worker::Worker;

/// Why a pipeline stopped with an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PipelineError {
    /// A sink failed in a way retrying cannot fix. Nothing it did not store was acknowledged, so
    /// a restart resends it.
    #[error(
        "sink {sink} failed and the pipeline stopped (unacknowledged events will be resent after a restart): {source}"
    )]
    SinkFailed {
        /// The sink's name.
        sink: String,
        /// Its error.
        #[source]
        source: SinkError,
    },
    /// The pipeline was built without a sink.
    #[error("the pipeline has no sink: add at least one with Pipeline::sink")]
    NoSinks,
    /// A pipeline task panicked.
    #[error("a pipeline task panicked: {0}")]
    TaskPanicked(String),
}

/// A per-sink routing rule: the sink receives only the events it matches.
pub(crate) type Route = Arc<dyn Predicate>;

struct SinkSlot {
    sink: Box<dyn Sink>,
    route: Option<Route>,
}

/// Runs a stream of [`Tracked`] events into one or more sinks.
///
/// Build it with [`Keeper::pipeline`](crate::Keeper::pipeline) to acknowledge into the
/// checkpoint the stream resumed from and save it; [`Pipeline::new`] runs without one.
///
/// ```no_run
/// # async fn demo(sink: impl event_core::Sink + 'static)
/// # -> Result<(), Box<dyn std::error::Error>> {
/// use event_core::checkpoint::FileCheckpointStore;
/// use event_core::pipeline::shutdown_on_signals;
/// use event_core::{EventStreamConfig, Keeper};
///
/// let keeper = Keeper::load(FileCheckpointStore::new("checkpoint.json")).await?;
/// let events = keeper.watch(kube::Client::try_default().await?, EventStreamConfig::default()).await?;
/// let report = keeper.pipeline(events).sink(sink).run(shutdown_on_signals()).await?;
/// println!("stored {} events", report.acknowledged);
/// # Ok(()) }
/// ```
#[must_use = "a pipeline does nothing until run"]
pub struct Pipeline<S> {
    source: S,
    sinks: Vec<SinkSlot>,
    dead_letter: Option<Box<dyn Sink>>,
    checkpoint: Option<(Ledger, Arc<dyn CheckpointStore>)>,
    config: PipelineConfig,
    metrics: Metrics,
    health: Health,
}

/// What a pipeline did, returned when it stops.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PipelineReport {
    /// Occurrences that every sink was done with (stored, or refused and routed).
    pub acknowledged: u64,
    /// Occurrences still in flight when the pipeline stopped; they are resent after a restart.
    pub unacknowledged: u64,
    /// Whether the final checkpoint save succeeded.
    pub checkpoint_saved: bool,
}

impl<S, E> Pipeline<S>
where
    S: Stream<Item = Result<Tracked, E>> + Send + Unpin + 'static,
    E: Display + Send + 'static,
{
    /// A pipeline reading from `source`, without a checkpoint: what it stores is not recorded
    /// anywhere that survives the process.
    pub fn new(source: S) -> Self {
        Pipeline {
            source,
            sinks: Vec::new(),
            dead_letter: None,
            checkpoint: None,
            config: PipelineConfig::default(),
            metrics: Metrics::default(),
            health: Health::default(),
        }
    }

    /// Adds a sink that receives every event.
    pub fn sink(mut self, sink: impl Sink + 'static) -> Self {
        self.sinks.push(SinkSlot {
            sink: Box::new(sink),
            route: None,
        });
        self
    }

    /// Adds a sink that receives only the events `route` matches; the others count as done for
    /// it.
    pub fn routed_sink(
        mut self,
        sink: impl Sink + 'static,
        route: impl Predicate + 'static,
    ) -> Self {
        self.sinks.push(SinkSlot {
            sink: Box::new(sink),
            route: Some(Arc::new(route)),
        });
        self
    }

    /// Where events refused by a sink go. Without one, they are logged and counted.
    pub fn dead_letter(mut self, sink: impl Sink + 'static) -> Self {
        self.dead_letter = Some(Box::new(sink));
        self
    }

    /// Saves `ledger` to `store` every `checkpoint_interval` and at shutdown ([`Keeper`](crate::Keeper)
    /// wires both ends to the one ledger).
    pub(crate) fn checkpoint(
        mut self,
        ledger: Ledger,
        store: Option<Arc<dyn CheckpointStore>>,
    ) -> Self {
        self.checkpoint = store.map(|store| (ledger, store));
        self
    }

    /// Replaces the default [`PipelineConfig`].
    pub fn config(mut self, config: PipelineConfig) -> Self {
        self.config = config;
        self
    }

    /// Counts into `metrics` (a [`Keeper`](crate::Keeper)'s pipeline counts where the keeper
    /// does).
    pub fn metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// Reports the sinks' and the checkpoint store's failures to `health` (readiness).
    pub fn health(mut self, health: Health) -> Self {
        self.health = health;
        self
    }

    /// Runs until the source ends or `shutdown` is cancelled, then drains within
    /// `shutdown_timeout` (counted from the cancellation), flushes the sinks and saves the
    /// checkpoint within `checkpoint_timeout`. Whatever the sinks and the store do, it returns
    /// at most `shutdown_timeout + checkpoint_timeout` after `shutdown` is cancelled; a send
    /// still in flight at the drain deadline is abandoned, its batch unacknowledged.
    ///
    /// # Errors
    ///
    /// [`PipelineError::SinkFailed`] when a sink fails fatally; [`PipelineError::NoSinks`].
    pub async fn run(self, shutdown: CancellationToken) -> Result<PipelineReport, PipelineError> {
        if self.sinks.is_empty() {
            return Err(PipelineError::NoSinks);
        }
        let config = Arc::new(self.config);
        let metrics = self.metrics;
        let stop = shutdown.child_token();
        let hard_stop = CancellationToken::new();
        let dead_letter = self.dead_letter.map(|s| Arc::new(Mutex::new(s)));
        let acked_before = metrics.acknowledged();
        let limits = self
            .sinks
            .iter()
            .filter_map(|slot| slot.sink.batch_limits())
            .reduce(BatchLimits::min);
        let dispatched_before_restart = self
            .checkpoint
            .as_ref()
            .and_then(|(ledger, _)| ledger.dispatched_before_restart());
        if let Some(rv) = dispatched_before_restart {
            tracing::info!(
                event.rv = rv,
                "the previous run may have delivered events it did not checkpoint; asking each sink before sending them again"
            );
        }

        let mut workers = JoinSet::new();
        let mut queues = Vec::with_capacity(self.sinks.len());
        for slot in self.sinks {
            let (tx, rx) = mpsc::channel(config.queue_batches);
            let counters = metrics.sink(slot.sink.name());
            queues.push(batcher::Queue {
                tx,
                counters: counters.clone(),
            });
            workers.spawn(
                Worker {
                    sink: slot.sink,
                    queue: rx,
                    ctx: worker::WorkerCtx {
                        route: slot.route,
                        dead_letter: dead_letter.clone(),
                        config: config.clone(),
                        metrics: metrics.clone(),
                        health: self.health.clone(),
                        counters,
                        hard_stop: hard_stop.clone(),
                    },
                }
                .run(),
            );
        }

        let checkpointer = self.checkpoint.map(|(ledger, store)| {
            Arc::new(Checkpointer {
                ledger,
                store,
                metrics: metrics.clone(),
                health: self.health.clone(),
                saving: Mutex::new(()),
            })
        });
        if let Some(c) = &checkpointer {
            c.ledger.open();
        }
        let checkpoint_done = CancellationToken::new();
        let periodic = checkpointer.as_ref().map(|c| {
            AbortOnDropHandle::new(tokio::spawn(
                c.clone()
                    .run(config.checkpoint_interval, checkpoint_done.clone()),
            ))
        });

        // Abort-on-drop: a pipeline future dropped mid-run (a killed task) stops everything.
        let batcher = AbortOnDropHandle::new(tokio::spawn(batcher::run(
            self.source,
            batcher::Outlets {
                queues,
                limits,
                checkpointer: checkpointer.clone(),
            },
            config.clone(),
            stop.clone(),
            hard_stop.clone(),
        )));

        // The drain deadline starts when shutdown is requested (or the source ends), wherever
        // the batcher is: it may be waiting for space in the queue of a sink that never
        // answers. Until then, and until every worker is done, watch for a worker failing.
        let mut failure: Option<PipelineError> = None;
        let mut batcher = batcher;
        let mut batcher_done = false;
        let mut deadline: Option<Instant> = None;
        let drained = loop {
            if batcher_done && workers.is_empty() {
                break true;
            }
            let until_deadline = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = until_deadline => break false,
                () = stop.cancelled(), if deadline.is_none() => {
                    deadline = Some(Instant::now() + config.shutdown_timeout);
                    if !hard_stop.is_cancelled() {
                        tracing::info!(timeout_secs = config.shutdown_timeout.as_secs_f64(), "draining sink queues");
                    }
                }
                _ = &mut batcher, if !batcher_done => {
                    batcher_done = true;
                    deadline.get_or_insert_with(|| Instant::now() + config.shutdown_timeout);
                }
                Some(done) = workers.join_next() => {
                    if let Some(error) = worker_error(done) {
                        failure.get_or_insert(error);
                        stop.cancel();
                        hard_stop.cancel();
                    }
                }
            }
        };
        if !drained {
            tracing::warn!(
                timeout_secs = config.shutdown_timeout.as_secs_f64(),
                "sinks did not drain in time; sends in flight are abandoned and unacknowledged events will be resent after a restart"
            );
            hard_stop.cancel();
            // Whatever a sink or the batcher still waits for is cut here: nothing they hold
            // is acknowledged, and the dispatch mark already covers what went out.
            drop(batcher);
            workers.shutdown().await;
        }

        checkpoint_done.cancel();
        let (checkpoint_saved, unacknowledged) = match &checkpointer {
            Some(c) => {
                let saved = tokio::time::timeout(config.checkpoint_timeout, async {
                    if let Some(handle) = periodic {
                        let _ = handle.await;
                    }
                    c.save().await
                })
                .await;
                let saved = saved.unwrap_or_else(|_| {
                    metrics.add_checkpoint_errors(1);
                    tracing::error!(
                        timeout_secs = config.checkpoint_timeout.as_secs_f64(),
                        "final checkpoint save did not finish in time; the previous checkpoint stays and what it lacks is sent again after a restart"
                    );
                    false
                });
                (saved, c.ledger.in_flight() as u64)
            }
            None => (false, 0),
        };
        let report = PipelineReport {
            acknowledged: metrics.acknowledged().saturating_sub(acked_before),
            unacknowledged,
            checkpoint_saved,
        };
        tracing::info!(?report, "pipeline stopped");
        match failure {
            Some(error) => Err(error),
            None => Ok(report),
        }
    }
}

fn worker_error(
    done: Result<Result<(), PipelineError>, tokio::task::JoinError>,
) -> Option<PipelineError> {
    match done {
        Ok(Ok(())) => None,
        Ok(Err(error)) => Some(error),
        Err(join) => Some(PipelineError::TaskPanicked(join.to_string())),
    }
}

/// A token cancelled at the first SIGTERM or Ctrl-C, for [`Pipeline::run`].
pub fn shutdown_on_signals() -> CancellationToken {
    let token = CancellationToken::new();
    let trigger = token.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutdown requested; draining");
        trigger.cancel();
    });
    token
}

#[cfg(unix)]
async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(error) => {
            tracing::warn!(%error, "cannot listen for SIGTERM; only Ctrl-C stops gracefully");
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() {
    let _ = tokio::signal::ctrl_c().await;
}

#[cfg(test)]
mod tests;
