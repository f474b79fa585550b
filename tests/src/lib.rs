//! Shared harness of the end-to-end tests: a simulated cluster, a pipeline into an in-memory
//! sink with a file checkpoint, and helpers to wait for and compare occurrences.

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use event_core::checkpoint::{FileCheckpointStore, Ledger};
use event_core::health::Health;
use event_core::metrics::Metrics;
use event_core::testing::MemorySink;
use event_core::{
    EventStream, EventStreamConfig, Keeper, OccurrenceKey, Pipeline, PipelineConfig, PipelineError,
    PipelineReport, Tracked, WatchError,
};
use futures::Stream;
use testkit::{EventRef, SimCluster};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub mod binary;

pub mod fault;
pub mod fault_fs;
pub mod skip;

/// Logs to the test output when `RUST_LOG` is set.
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

/// The occurrence key of an event as the simulated cluster reported it.
pub fn key(r: &EventRef) -> OccurrenceKey {
    OccurrenceKey {
        uid: r.uid.clone(),
        resource_version: r.resource_version.clone(),
    }
}

/// How many times each key appears.
pub fn tally(keys: &[OccurrenceKey]) -> HashMap<OccurrenceKey, usize> {
    let mut counts = HashMap::new();
    for k in keys {
        *counts.entry(k.clone()).or_insert(0) += 1;
    }
    counts
}

/// Asserts that `stored` holds every key of `expected` exactly once and nothing else.
pub fn assert_exactly_once(stored: &[OccurrenceKey], expected: &[OccurrenceKey]) {
    let counts = tally(stored);
    let duplicated: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        duplicated.is_empty(),
        "duplicated occurrences: {duplicated:?}"
    );
    let missing: Vec<_> = expected
        .iter()
        .filter(|k| !counts.contains_key(k))
        .collect();
    assert!(missing.is_empty(), "lost occurrences: {missing:?}");
    let unexpected: Vec<_> = stored.iter().filter(|k| !expected.contains(k)).collect();
    assert!(
        unexpected.is_empty(),
        "unexpected occurrences: {unexpected:?}"
    );
}

/// Polls `condition` every 20 ms until it holds, failing the test after `timeout`.
pub async fn wait_until<F: FnMut() -> bool>(what: &str, timeout: Duration, mut condition: F) {
    let deadline = tokio::time::Instant::now() + timeout;
    while !condition() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits for a future with a bound, failing the test when it passes.
pub async fn within<T>(what: &str, timeout: Duration, f: impl Future<Output = T>) -> T {
    match tokio::time::timeout(timeout, f).await {
        Ok(v) => v,
        Err(_) => panic!("timed out after {timeout:?} waiting for {what}"),
    }
}

/// A pipeline from a simulated cluster into a [`MemorySink`], checkpointed to a file.
pub struct Exporter {
    /// The sink every run writes into (shared across restarts).
    pub sink: MemorySink,
    /// The checkpoint file.
    pub checkpoint: PathBuf,
    /// Counters of the current run.
    pub metrics: Metrics,
    /// Readiness of the current run.
    pub health: Health,
    /// The ledger of the current run.
    pub ledger: Option<Ledger>,
    shutdown: CancellationToken,
    run: Option<JoinHandle<Result<PipelineReport, PipelineError>>>,
    _dir: tempfile::TempDir,
}

impl Exporter {
    /// An exporter that is not running yet.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        Exporter {
            sink: MemorySink::new("memory"),
            checkpoint: dir.path().join("checkpoint.json"),
            metrics: Metrics::default(),
            health: Health::default(),
            ledger: None,
            shutdown: CancellationToken::new(),
            run: None,
            _dir: dir,
        }
    }

    /// Starts a run against `cluster`, resuming from the checkpoint file if there is one.
    pub async fn start(&mut self, cluster: &SimCluster, config: EventStreamConfig) {
        self.start_with(cluster, config, |p| p).await;
    }

    /// Like [`start`](Self::start), letting the test add to the pipeline (sinks, config).
    pub async fn start_with<F>(
        &mut self,
        cluster: &SimCluster,
        config: EventStreamConfig,
        customize: F,
    ) where
        F: FnOnce(Pipeline<EventStream>) -> Pipeline<EventStream>,
    {
        self.start_inner(cluster, config, |s| s, customize).await;
    }

    /// Like [`start`](Self::start), passing the stream through `filter` first.
    pub async fn start_filtered<S, G>(
        &mut self,
        cluster: &SimCluster,
        config: EventStreamConfig,
        filter: G,
    ) where
        G: FnOnce(EventStream) -> S,
        S: Stream<Item = Result<Tracked, WatchError>> + Send + Unpin + 'static,
    {
        self.start_inner(cluster, config, filter, |p| p).await;
    }

    async fn start_inner<S, G, F>(
        &mut self,
        cluster: &SimCluster,
        config: EventStreamConfig,
        filter: G,
        customize: F,
    ) where
        G: FnOnce(EventStream) -> S,
        S: Stream<Item = Result<Tracked, WatchError>> + Send + Unpin + 'static,
        F: FnOnce(Pipeline<S>) -> Pipeline<S>,
    {
        assert!(self.run.is_none(), "already running");
        self.metrics = Metrics::default();
        self.health = Health::default();
        let keeper = Keeper::load(FileCheckpointStore::new(&self.checkpoint))
            .await
            .expect("checkpoint loads")
            .with_metrics(self.metrics.clone())
            .with_health(self.health.clone());
        let stream = keeper
            .watch(cluster.client(), config)
            .await
            .expect("stream connects");
        let pipeline = keeper
            .pipeline(filter(stream))
            .config(
                PipelineConfig::default()
                    .max_batch_events(50)
                    .max_batch_wait(Duration::from_millis(20))
                    .checkpoint_interval(Duration::from_millis(100))
                    .shutdown_timeout(Duration::from_secs(5)),
            )
            .sink(self.sink.clone());
        let pipeline = customize(pipeline);
        self.shutdown = CancellationToken::new();
        self.ledger = Some(keeper.ledger().clone());
        self.run = Some(tokio::spawn(pipeline.run(self.shutdown.clone())));
        let metrics = self.metrics.clone();
        wait_until(
            "the watch to be established",
            Duration::from_secs(10),
            || metrics.established() > 0,
        )
        .await;
    }

    /// Stops the run gracefully and returns its report.
    pub async fn stop(&mut self) -> PipelineReport {
        self.shutdown.cancel();
        let run = self.run.take().expect("running");
        within("pipeline shutdown", Duration::from_secs(10), run)
            .await
            .expect("pipeline task")
            .expect("pipeline result")
    }

    /// Waits for the run to end by itself (its stream ended) and returns its report.
    pub async fn finish(&mut self) -> PipelineReport {
        let run = self.run.take().expect("running");
        within("the pipeline to finish", Duration::from_secs(20), run)
            .await
            .expect("pipeline task")
            .expect("pipeline result")
    }

    /// Kills the run without a graceful shutdown (no final checkpoint).
    pub fn kill(&mut self) {
        if let Some(run) = self.run.take() {
            run.abort();
        }
    }

    /// Waits until the sink holds every one of `expected`, then a little longer to catch
    /// duplicates that are still on their way.
    pub async fn wait_for(&self, expected: &[OccurrenceKey]) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let keys = tally(&self.sink.keys());
            let missing: Vec<&OccurrenceKey> =
                expected.iter().filter(|k| !keys.contains_key(k)).collect();
            if missing.is_empty() {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {} of {} occurrences, e.g. {:?}; stored {:?}",
                missing.len(),
                expected.len(),
                &missing[..missing.len().min(5)],
                self.sink.keys()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

impl Default for Exporter {
    fn default() -> Self {
        Exporter::new()
    }
}
