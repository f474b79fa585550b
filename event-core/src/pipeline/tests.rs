use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures::{StreamExt, stream};
use tokio_util::sync::CancellationToken;

use super::*;
use crate::checkpoint::{
    Checkpoint, CheckpointError, EncodedCheckpoint, Ledger, LedgerConfig, Phase,
};
use crate::testing::{MemorySink, Scripted, sample_event};

type Item = Result<Tracked, std::convert::Infallible>;

fn offer(ledger: &Ledger, n: u64) -> Vec<Item> {
    let source: Arc<str> = Arc::from("events@*");
    (1..=n)
        .map(|i| {
            let event = sample_event(&format!("u{i}"), 10 + i, "payments");
            let ticket = ledger.offer(&source, Phase::Watch, &event.uid, 10 + i, event.last_seen);
            Ok(Tracked::new(event, ticket))
        })
        .collect()
}

/// A store that keeps the last checkpoint in memory.
#[derive(Clone, Default)]
struct MemoryStore(Arc<std::sync::Mutex<Option<Checkpoint>>>);

#[async_trait::async_trait]
impl CheckpointStore for MemoryStore {
    async fn load(&self) -> Result<Option<Checkpoint>, CheckpointError> {
        Ok(self.0.lock().unwrap().clone())
    }
    async fn save(&self, checkpoint: EncodedCheckpoint) -> Result<(), CheckpointError> {
        *self.0.lock().unwrap() = Some(checkpoint.decode().unwrap());
        Ok(())
    }
}

fn quick() -> PipelineConfig {
    PipelineConfig::default()
        .max_batch_events(4)
        .max_batch_wait(Duration::from_millis(10))
}

#[tokio::test(start_paused = true)]
async fn every_event_reaches_every_sink_once_and_is_checkpointed() {
    let ledger = Ledger::new(LedgerConfig::default());
    let (a, b) = (MemorySink::new("a"), MemorySink::new("b"));
    let store = MemoryStore::default();
    let report = Pipeline::new(stream::iter(offer(&ledger, 10)))
        .config(quick())
        .sink(a.clone())
        .sink(b.clone())
        .checkpoint(ledger.clone(), Some(Arc::new(store.clone())))
        .run(CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(a.keys(), b.keys());
    assert_eq!(a.events().len(), 10);
    assert_eq!(report.acknowledged, 10);
    assert_eq!(report.unacknowledged, 0);
    let saved = store.0.lock().unwrap().clone().unwrap();
    assert!(saved.events.is_empty(), "the resume point covers all ten");
    assert_eq!(saved.resume.get("events@*"), Some(&20));
}

#[tokio::test(start_paused = true)]
async fn retryable_failures_lose_nothing_and_hold_the_checkpoint_back() {
    let ledger = Ledger::new(LedgerConfig::default());
    let sink = MemorySink::new("flaky");
    sink.script([
        Scripted::Retryable,
        Scripted::Retryable,
        Scripted::Retryable,
    ]);
    let healthy = MemorySink::new("healthy");
    let probe = ledger.clone();
    let shutdown = CancellationToken::new();
    let run = tokio::spawn(
        Pipeline::new(stream::iter(offer(&ledger, 3)).chain(stream::pending()))
            .config(quick())
            .sink(sink.clone())
            .sink(healthy.clone())
            .run(shutdown.clone()),
    );
    // While the flaky sink keeps failing, the healthy sink's success must not acknowledge.
    while sink.send_calls() < 2 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(healthy.events().len(), 3);
    assert_eq!(probe.exported_version("u1"), None);
    while sink.events().len() < 3 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    shutdown.cancel();
    run.await.unwrap().unwrap();
    assert_eq!(sink.send_calls(), 4);
    assert_eq!(
        probe.resume_point("events@*"),
        Some(13),
        "all three acknowledged"
    );
}

#[tokio::test(start_paused = true)]
async fn a_refused_event_goes_to_the_dead_letter_sink_and_the_rest_are_stored() {
    let ledger = Ledger::new(LedgerConfig::default());
    let sink = MemorySink::new("picky");
    sink.reject_when(|e| e.uid == "u2");
    let dead = MemorySink::new("dead-letter");
    let metrics = Metrics::default();
    Pipeline::new(stream::iter(offer(&ledger, 5)))
        .config(quick())
        .sink(sink.clone())
        .dead_letter(dead.clone())
        .metrics(metrics.clone())
        .run(CancellationToken::new())
        .await
        .unwrap();
    let stored: Vec<String> = sink.events().into_iter().map(|e| e.uid).collect();
    assert_eq!(stored, ["u1", "u3", "u4", "u5"]);
    let dead: Vec<String> = dead.events().into_iter().map(|e| e.uid).collect();
    assert_eq!(dead, ["u2"]);
    assert_eq!(
        metrics
            .sink("picky")
            .rejected
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
}

#[tokio::test(start_paused = true)]
async fn a_fatal_error_stops_the_pipeline_without_acknowledging() {
    let ledger = Ledger::new(LedgerConfig::default());
    let sink = MemorySink::new("broken");
    sink.script([Scripted::Fatal]);
    let err = Pipeline::new(stream::iter(offer(&ledger, 2)).chain(stream::pending()))
        .config(quick())
        .sink(sink)
        .run(CancellationToken::new())
        .await
        .unwrap_err();
    assert!(
        matches!(err, PipelineError::SinkFailed { ref sink, .. } if sink == "broken"),
        "{err}"
    );
    assert_eq!(ledger.exported_version("u1"), None);
    assert_eq!(ledger.resume_point("events@*"), Some(10));
}

#[tokio::test(start_paused = true)]
async fn a_routed_sink_receives_only_what_its_route_matches() {
    let ledger = Ledger::new(LedgerConfig::default());
    let all = MemorySink::new("all");
    let odd = MemorySink::new("odd");
    Pipeline::new(stream::iter(offer(&ledger, 6)))
        .config(quick())
        .sink(all.clone())
        .routed_sink(odd.clone(), |e: &crate::Event| {
            e.resource_version.parse::<u64>().unwrap() % 2 == 1
        })
        .run(CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(all.events().len(), 6);
    let odd: Vec<String> = odd
        .events()
        .into_iter()
        .map(|e| e.resource_version)
        .collect();
    assert_eq!(odd, ["11", "13", "15"]);
    assert_eq!(
        ledger.resume_point("events@*"),
        Some(16),
        "all six acknowledged"
    );
}

#[tokio::test(start_paused = true)]
async fn shutdown_gives_up_after_its_bound_and_leaves_unstored_events_unacknowledged() {
    let ledger = Ledger::new(LedgerConfig::default());
    let sink = MemorySink::new("down");
    sink.script(std::iter::repeat_n(Scripted::Retryable, 1000));
    let store = MemoryStore::default();
    let shutdown = CancellationToken::new();
    let config = quick().shutdown_timeout(Duration::from_secs(2));
    let run = tokio::spawn(
        Pipeline::new(stream::iter(offer(&ledger, 3)).chain(stream::pending()))
            .config(config)
            .sink(sink)
            .checkpoint(ledger.clone(), Some(Arc::new(store.clone())))
            .run(shutdown.clone()),
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    shutdown.cancel();
    let report = run.await.unwrap().unwrap();
    assert_eq!(report.unacknowledged, 3);
    assert!(report.checkpoint_saved);
    let saved = store.0.lock().unwrap().clone().unwrap();
    assert!(saved.events.is_empty());
    assert_eq!(saved.resume.get("events@*"), Some(&10));
}

#[tokio::test]
async fn a_pipeline_without_sinks_is_refused() {
    let err = Pipeline::new(stream::iter(Vec::<Item>::new()))
        .run(CancellationToken::new())
        .await
        .unwrap_err();
    assert!(matches!(err, PipelineError::NoSinks));
}

#[tokio::test(start_paused = true)]
async fn a_sink_that_declares_limits_gets_batches_that_fit() {
    let ledger = Ledger::new(LedgerConfig::default());
    let sink = MemorySink::new("limited");
    sink.limit_batches(crate::BatchLimits::new(3, usize::MAX));
    Pipeline::new(stream::iter(offer(&ledger, 10)))
        .config(PipelineConfig::default().max_batch_events(100))
        .sink(sink.clone())
        .run(CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(sink.batch_sizes(), [3, 3, 3, 1]);
    assert_eq!(sink.events().len(), 10);
}

#[tokio::test(start_paused = true)]
async fn a_timeout_after_storing_does_not_store_the_batch_twice() {
    let ledger = Ledger::new(LedgerConfig::default());
    let sink = MemorySink::new("slow");
    sink.script([Scripted::StoreThenTimeOut]);
    let metrics = Metrics::default();
    let report = Pipeline::new(stream::iter(offer(&ledger, 4)))
        .config(quick())
        .sink(sink.clone())
        .metrics(metrics.clone())
        .run(CancellationToken::new())
        .await
        .unwrap();
    let keys = sink.keys();
    let unique: std::collections::HashSet<_> = keys.iter().collect();
    assert_eq!(keys.len(), 4, "{keys:?}");
    assert_eq!(unique.len(), 4);
    assert_eq!(report.acknowledged, 4);
    let counters = metrics.sink("slow");
    assert_eq!(counters.already_stored.load(Ordering::Relaxed), 4);
    assert_eq!(counters.retried.load(Ordering::Relaxed), 1);
}

#[tokio::test(start_paused = true)]
async fn a_sink_that_cannot_tell_is_sent_the_batch_again_after_a_timeout() {
    let ledger = Ledger::new(LedgerConfig::default());
    let sink = MemorySink::new("blind");
    sink.cannot_tell();
    sink.script([Scripted::StoreThenTimeOut]);
    Pipeline::new(stream::iter(offer(&ledger, 4)))
        .config(quick())
        .sink(sink.clone())
        .run(CancellationToken::new())
        .await
        .unwrap();
    // Nothing is lost; the repeat is what readers deduplicate by key.
    assert_eq!(sink.events().len(), 8);
}

#[tokio::test(start_paused = true)]
async fn after_a_crash_only_what_the_sink_lacks_is_sent_again() {
    // The previous run checkpointed up to rv 10 and dispatched up to 13 before it died; the
    // sink had stored 11 and 12.
    let mut checkpoint = Checkpoint::empty();
    checkpoint.resume.insert("events@*".into(), 10);
    checkpoint.dispatched = Some(13);
    let ledger = Ledger::from_checkpoint(checkpoint, LedgerConfig::default());
    let sink = MemorySink::new("archive");
    let mut writer = sink.clone();
    writer
        .send(&[
            sample_event("u1", 11, "payments"),
            sample_event("u2", 12, "payments"),
        ])
        .await
        .unwrap();
    let store = MemoryStore::default();
    let metrics = Metrics::default();
    Pipeline::new(stream::iter(offer(&ledger, 5)))
        .config(quick())
        .sink(sink.clone())
        .checkpoint(ledger.clone(), Some(Arc::new(store.clone())))
        .metrics(metrics.clone())
        .run(CancellationToken::new())
        .await
        .unwrap();
    let rvs: Vec<String> = sink
        .events()
        .into_iter()
        .map(|e| e.resource_version)
        .collect();
    assert_eq!(rvs, ["11", "12", "13", "14", "15"]);
    let counters = metrics.sink("archive");
    assert_eq!(counters.already_stored.load(Ordering::Relaxed), 2);
    assert_eq!(
        store.0.lock().unwrap().clone().unwrap().resume["events@*"],
        15
    );
}

/// Checks, at every send, that the saved checkpoint's dispatch mark covers the batch.
struct MarkChecker {
    store: MemoryStore,
    uncovered: Arc<std::sync::atomic::AtomicUsize>,
}

#[async_trait::async_trait]
impl Sink for MarkChecker {
    fn name(&self) -> &str {
        "mark-checker"
    }

    async fn send(&mut self, batch: &[crate::Event]) -> Result<(), SinkError> {
        let mark = self
            .store
            .0
            .lock()
            .unwrap()
            .as_ref()
            .and_then(|c| c.dispatched)
            .unwrap_or(0);
        let uncovered = batch
            .iter()
            .filter(|e| e.resource_version.parse::<u64>().unwrap() > mark)
            .count();
        self.uncovered.fetch_add(uncovered, Ordering::Relaxed);
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn the_dispatch_mark_is_saved_before_a_batch_reaches_a_sink() {
    let ledger = Ledger::new(LedgerConfig::default());
    let store = MemoryStore::default();
    let uncovered = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    Pipeline::new(stream::iter(offer(&ledger, 10)))
        .config(quick())
        .sink(MarkChecker {
            store: store.clone(),
            uncovered: uncovered.clone(),
        })
        .checkpoint(ledger, Some(Arc::new(store.clone())))
        .run(CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(uncovered.load(Ordering::Relaxed), 0);
    assert_eq!(
        store.0.lock().unwrap().clone().unwrap().dispatched,
        Some(20)
    );
}

/// A sink whose sends never answer, as a CloudWatch endpoint that accepts and then hangs.
struct Hung;

#[async_trait::async_trait]
impl Sink for Hung {
    fn name(&self) -> &str {
        "hung"
    }

    async fn send(&mut self, _batch: &[crate::Event]) -> Result<(), SinkError> {
        std::future::pending().await
    }
}

/// A store whose saves never finish, as a checkpoint on a hung volume.
struct HungStore;

#[async_trait::async_trait]
impl CheckpointStore for HungStore {
    async fn load(&self) -> Result<Option<Checkpoint>, CheckpointError> {
        Ok(None)
    }
    async fn save(&self, _checkpoint: EncodedCheckpoint) -> Result<(), CheckpointError> {
        std::future::pending().await
    }
}

/// Cancels `shutdown` and returns the pipeline's report with how long it took to stop; a
/// pipeline still running a minute later fails the test.
async fn stop_and_time(
    run: tokio::task::JoinHandle<Result<PipelineReport, PipelineError>>,
    shutdown: &CancellationToken,
) -> (PipelineReport, Duration) {
    let asked = tokio::time::Instant::now();
    shutdown.cancel();
    let report = tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("the pipeline stops within a minute of the shutdown request")
        .unwrap()
        .unwrap();
    (report, asked.elapsed())
}

#[tokio::test(start_paused = true)]
async fn shutdown_is_bounded_while_the_batcher_waits_for_space_in_a_full_queue() {
    let ledger = Ledger::new(LedgerConfig::default());
    let sink = MemorySink::new("down");
    sink.script(std::iter::repeat_n(Scripted::Retryable, 100_000));
    let store = MemoryStore::default();
    let shutdown = CancellationToken::new();
    let config = PipelineConfig::default()
        .max_batch_events(1)
        .queue_batches(1)
        .shutdown_timeout(Duration::from_secs(2));
    let metrics = Metrics::default();
    let run = tokio::spawn(
        Pipeline::new(stream::iter(offer(&ledger, 10)).chain(stream::pending()))
            .config(config)
            .sink(sink.clone())
            .metrics(metrics.clone())
            .checkpoint(ledger.clone(), Some(Arc::new(store.clone())))
            .run(shutdown.clone()),
    );
    // One batch in the worker's hands, one in the queue, one waiting for space.
    let depth = || metrics.sink("down").queue_depth.load(Ordering::Relaxed);
    while depth() < 2 || sink.send_calls() < 2 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (report, took) = stop_and_time(run, &shutdown).await;
    assert!(took <= Duration::from_secs(2), "stopped after {took:?}");
    assert_eq!(report.acknowledged, 0);
    assert!(report.checkpoint_saved);
    let saved = store.0.lock().unwrap().clone().unwrap();
    assert_eq!(
        saved.resume.get("events@*"),
        Some(&10),
        "nothing acknowledged"
    );
}

#[tokio::test(start_paused = true)]
async fn a_send_in_flight_is_cut_at_the_drain_deadline_and_its_batch_replayed() {
    let ledger = Ledger::new(LedgerConfig::default());
    let store = MemoryStore::default();
    let shutdown = CancellationToken::new();
    let config = quick().shutdown_timeout(Duration::from_secs(2));
    let run = tokio::spawn(
        Pipeline::new(stream::iter(offer(&ledger, 3)).chain(stream::pending()))
            .config(config)
            .sink(Hung)
            .checkpoint(ledger.clone(), Some(Arc::new(store.clone())))
            .run(shutdown.clone()),
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (report, took) = stop_and_time(run, &shutdown).await;
    assert!(took <= Duration::from_secs(2), "stopped after {took:?}");
    assert_eq!(report.unacknowledged, 3);
    assert!(report.checkpoint_saved);
    let saved = store.0.lock().unwrap().clone().unwrap();
    assert_eq!(saved.resume.get("events@*"), Some(&10), "not acknowledged");
    assert_eq!(
        saved.dispatched,
        Some(13),
        "the next run asks the sink about the abandoned batch before sending it again"
    );
}

#[tokio::test(start_paused = true)]
async fn the_final_checkpoint_save_is_bounded_too() {
    let ledger = Ledger::new(LedgerConfig::default());
    let shutdown = CancellationToken::new();
    let config = quick()
        .shutdown_timeout(Duration::from_secs(2))
        .checkpoint_timeout(Duration::from_secs(3));
    let metrics = Metrics::default();
    let run = tokio::spawn(
        Pipeline::new(stream::iter(offer(&ledger, 3)).chain(stream::pending()))
            .config(config)
            .sink(MemorySink::new("fine"))
            .metrics(metrics.clone())
            .checkpoint(ledger.clone(), Some(Arc::new(HungStore)))
            .run(shutdown.clone()),
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (report, took) = stop_and_time(run, &shutdown).await;
    assert!(took <= Duration::from_secs(5), "stopped after {took:?}");
    assert!(!report.checkpoint_saved);
}
