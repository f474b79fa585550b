//! The Rust side of an end-to-end run: `EventStream` (kube-rs against an API server) → filter →
//! `Pipeline` → null sink, with a ledger and a file checkpoint, until a given number of events
//! reached the sink. Run in a process of its own so that its memory is its own.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use event_core::checkpoint::{Checkpoint, FileCheckpointStore, Ledger, LedgerConfig};
use event_core::{ApiChoice, EventStreamConfig, EventStreamExt, Keeper};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::fixtures::Group;
use crate::process::{Pid, cpu_seconds, memory};
use crate::work::{Filtering, NullSink};

/// What a consumer did, printed as one JSON line by the process that ran it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConsumerReport {
    /// Events the sink received.
    pub events: u64,
    /// Wall time from connecting to the last expected event stored, in seconds.
    pub seconds: f64,
    /// CPU time (user + system) of the process over the same span, in seconds.
    pub cpu_seconds: f64,
    /// Resident memory at the end, KiB.
    pub rss_kib: u64,
    /// Peak resident memory of the process, KiB.
    pub peak_rss_kib: u64,
    /// Events the ledger tracked one by one at the end.
    pub tracked_events: u64,
}

/// Why a consumer could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConsumerError {
    /// No kube client could be built from the kubeconfig.
    #[error("could not build a kube client (is KUBECONFIG set to the simulated cluster's?): {0}")]
    Client(#[source] kube::Error),
    /// The stream could not start.
    #[error("could not start watching: {0}")]
    Watch(#[source] event_core::WatchError),
    /// The bench filter did not compile.
    #[error("the bench filter does not compile: {0}")]
    Filter(#[source] event_core::ConfigError),
    /// The pipeline task panicked.
    #[error("the pipeline task panicked: {0}")]
    Panicked(String),
    /// The pipeline stopped with an error.
    #[error("the pipeline failed: {0}")]
    Pipeline(#[source] event_core::PipelineError),
    /// The events did not all arrive in time.
    #[error("only {got} of {expected} events arrived within {timeout:?}")]
    Timeout {
        /// Events received.
        got: u64,
        /// Events expected.
        expected: u64,
        /// How long it waited.
        timeout: Duration,
    },
}

/// Where the consumer starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// A fresh start: kube-rs's watcher lists (pages of 500), then watches.
    List,
    /// A resume point at this resourceVersion: a watch replays every change after it, the
    /// protocol the Python client's watch uses.
    WatchFrom(u64),
}

/// Runs the consumer with the default kube client (from `KUBECONFIG`) until `expected` events
/// were stored by the null sink, on the current runtime.
///
/// # Errors
///
/// [`ConsumerError`] when the client, the stream or the pipeline fail, or the events do not
/// arrive within `timeout`.
pub async fn consume(
    group: Group,
    start: Start,
    expected: u64,
    checkpoint: &Path,
    timeout: Duration,
) -> Result<ConsumerReport, ConsumerError> {
    let cpu_before = cpu_seconds(Pid::Current).unwrap_or(0.0);
    let began = Instant::now();
    let client = kube::Client::try_default()
        .await
        .map_err(ConsumerError::Client)?;
    let ledger = match start {
        Start::List => Ledger::new(LedgerConfig::default()),
        Start::WatchFrom(rv) => {
            let mut saved = Checkpoint::empty();
            saved.resume.insert("events@*".to_owned(), rv);
            Ledger::from_checkpoint(saved, LedgerConfig::default())
        }
    };
    let api = match group {
        Group::CoreV1 => ApiChoice::CoreV1,
        Group::EventsV1 => ApiChoice::EventsV1,
    };
    let keeper =
        Keeper::from_ledger(ledger.clone()).saving_to(FileCheckpointStore::new(checkpoint));
    let stream = keeper
        .watch(client, EventStreamConfig::default().api(api))
        .await
        .map_err(ConsumerError::Watch)?;
    let filter = Filtering::KeepAll
        .compile()
        .map_err(ConsumerError::Filter)?;
    let (sink, counts) = NullSink::new();
    let shutdown = CancellationToken::new();
    let pipeline = tokio::spawn(
        keeper
            .pipeline(stream.filter_with(filter))
            .sink(sink)
            .run(shutdown.clone()),
    );
    let deadline = began + timeout;
    let mut done_at = None;
    while Instant::now() < deadline {
        if counts.events.load(Ordering::Relaxed) >= expected {
            done_at = Some(Instant::now());
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let cpu_after = cpu_seconds(Pid::Current).unwrap_or(0.0);
    shutdown.cancel();
    let stopped = pipeline.await;
    let got = counts.events.load(Ordering::Relaxed);
    let Some(done_at) = done_at else {
        return Err(ConsumerError::Timeout {
            got,
            expected,
            timeout,
        });
    };
    match stopped {
        Ok(Ok(_report)) => {}
        Ok(Err(error)) => return Err(ConsumerError::Pipeline(error)),
        Err(join) => return Err(ConsumerError::Panicked(join.to_string())),
    }
    let mem = memory(Pid::Current).unwrap_or_default();
    Ok(ConsumerReport {
        events: got,
        seconds: done_at.duration_since(began).as_secs_f64(),
        cpu_seconds: cpu_after - cpu_before,
        rss_kib: mem.rss_kib,
        peak_rss_kib: mem.peak_kib,
        tracked_events: ledger.tracked_events() as u64,
    })
}
