//! Sinks that fail: retryable errors lose nothing and hold the checkpoint back; a refused event
//! is reported and the rest stored.

use std::time::Duration;

use event_core::EventStreamConfig;
use event_core::testing::{MemorySink, Scripted};
use testkit::{NewEvent, SimCluster, SimConfig};
use tests::{Exporter, assert_exactly_once, init_tracing, key, wait_until};

#[tokio::test]
async fn a_sink_failing_for_a_while_loses_nothing_and_holds_the_checkpoint_back() {
    init_tracing();
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    let mut exporter = Exporter::new();
    exporter
        .sink
        .script(std::iter::repeat_n(Scripted::Retryable, 4));
    exporter.start(&cluster, EventStreamConfig::default()).await;
    let events: Vec<_> = (0..5)
        .map(|i| {
            cluster.create_event(
                NewEvent::new("payments", "BackOff").regarding("Pod", format!("p{i}")),
            )
        })
        .collect();
    let ledger = exporter.ledger.clone().unwrap();
    let sink = exporter.sink.clone();
    wait_until("a couple of failed sends", Duration::from_secs(10), || {
        sink.send_calls() >= 2
    })
    .await;
    assert!(sink.events().is_empty());
    assert!(
        events
            .iter()
            .all(|e| ledger.exported_version(&e.uid).is_none()),
        "nothing is checkpointed while the sink fails"
    );
    let first_rv: u64 = events[0].resource_version.parse().unwrap();
    assert!(ledger.resume_point("events@*").unwrap_or(0) < first_rv);
    let expected: Vec<_> = events.iter().map(key).collect();
    exporter.wait_for(&expected).await;
    assert_exactly_once(&exporter.sink.keys(), &expected);
    assert!(
        exporter
            .metrics
            .sink("memory")
            .retried
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 4
    );
    exporter.stop().await;
}

#[tokio::test]
async fn a_refused_event_is_reported_and_the_rest_are_stored() {
    init_tracing();
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    let mut exporter = Exporter::new();
    exporter.sink.reject_when(|e| e.message.contains("poison"));
    let dead_letter = MemorySink::new("dead-letter");
    let dlq = dead_letter.clone();
    exporter
        .start_with(&cluster, EventStreamConfig::default(), move |p| {
            p.dead_letter(dlq)
        })
        .await;
    let good: Vec<_> = (0..4)
        .map(|i| {
            cluster.create_event(
                NewEvent::new("payments", "BackOff").regarding("Pod", format!("p{i}")),
            )
        })
        .collect();
    let bad = cluster.create_event(
        NewEvent::new("payments", "BackOff")
            .regarding("Pod", "x")
            .message("poison"),
    );
    let expected: Vec<_> = good.iter().map(key).collect();
    exporter.wait_for(&expected).await;
    let dl = dead_letter.clone();
    wait_until(
        "the refused event in the dead letter",
        Duration::from_secs(5),
        || !dl.events().is_empty(),
    )
    .await;
    assert_exactly_once(&exporter.sink.keys(), &expected);
    assert_eq!(dead_letter.keys(), vec![key(&bad)]);
    let rejected = exporter
        .metrics
        .sink("memory")
        .rejected
        .load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(rejected, 1);
    let ledger = exporter.ledger.clone().unwrap();
    let bad_rv: u64 = bad.resource_version.parse().unwrap();
    wait_until(
        "the refused event acknowledged once routed",
        Duration::from_secs(5),
        || ledger.resume_point("events@*").unwrap_or(0) >= bad_rv,
    )
    .await;
    exporter.stop().await;
}
