//! Restarts: resume within the history window replays every occurrence exactly once; after a
//! compaction, the latest state of every event arrives once and the coalescing is reported.

use std::time::Duration;

use event_core::{EventStreamConfig, PipelineConfig};
use testkit::{EventRef, NewEvent, SimCluster, SimConfig};
use tests::{Exporter, assert_exactly_once, init_tracing, key};

/// Creates events and bumps some of them several times, recording every occurrence.
fn churn(
    cluster: &SimCluster,
    tag: &str,
    expected: &mut Vec<event_core::OccurrenceKey>,
) -> Vec<EventRef> {
    let mut latest = Vec::new();
    for i in 0..8 {
        let mut ev = cluster.create_event(
            NewEvent::new("payments", "FailedScheduling")
                .regarding("Pod", format!("{tag}-{i}"))
                .message("0/3 nodes are available: 3 Insufficient cpu."),
        );
        expected.push(key(&ev));
        for _ in 0..(i % 4) {
            ev = cluster.bump_event(&ev).expect("exists");
            expected.push(key(&ev));
        }
        latest.push(ev);
    }
    latest
}

#[tokio::test]
async fn a_restart_within_the_history_window_replays_every_occurrence_once() {
    init_tracing();
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    let mut exporter = Exporter::new();
    exporter.start(&cluster, EventStreamConfig::default()).await;
    let mut expected = Vec::new();
    let before = churn(&cluster, "before", &mut expected);
    exporter.wait_for(&expected).await;
    exporter.stop().await;

    // While it is down: new events, and several bumps of old and new ones.
    let during = churn(&cluster, "during", &mut expected);
    for ev in before.iter().chain(during.iter()).take(6) {
        let mut current = ev.clone();
        for _ in 0..3 {
            current = cluster.bump_event(&current).expect("exists");
            expected.push(key(&current));
        }
    }

    exporter.start(&cluster, EventStreamConfig::default()).await;
    exporter.wait_for(&expected).await;
    assert_exactly_once(&exporter.sink.keys(), &expected);
    assert_eq!(exporter.metrics.coalesced(), 0, "nothing was coalesced");
    assert_eq!(
        exporter.metrics.relists(),
        0,
        "the restart resumed without a relist"
    );
    exporter.stop().await;
}

#[tokio::test]
async fn after_a_compaction_the_latest_state_arrives_once_and_coalescing_is_reported() {
    init_tracing();
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    let mut exporter = Exporter::new();
    exporter.start(&cluster, EventStreamConfig::default()).await;
    let mut seen_before = Vec::new();
    let before = churn(&cluster, "before", &mut seen_before);
    exporter.wait_for(&seen_before).await;
    exporter.stop().await;

    // Downtime longer than the history window: bumps during it can only arrive coalesced.
    let mut bumped_latest = Vec::new();
    for ev in before.iter().take(4) {
        let mut current = ev.clone();
        for _ in 0..3 {
            current = cluster.bump_event(&current).expect("exists");
        }
        bumped_latest.push(current);
    }
    let mut ignored = Vec::new();
    let created_during = churn(&cluster, "during", &mut ignored);
    cluster.compact();

    exporter.start(&cluster, EventStreamConfig::default()).await;
    let mut expected = seen_before.clone();
    expected.extend(bumped_latest.iter().map(key));
    expected.extend(created_during.iter().map(key));
    exporter.wait_for(&expected).await;
    assert_exactly_once(&exporter.sink.keys(), &expected);
    let changed_in_gap = (bumped_latest.len() + created_during.len()) as u64;
    assert_eq!(exporter.metrics.coalesced(), changed_in_gap);
    assert_eq!(exporter.metrics.gone(), 1);
    exporter.stop().await;
}

#[tokio::test]
async fn a_crash_without_graceful_shutdown_loses_and_duplicates_nothing() {
    init_tracing();
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    let mut exporter = Exporter::new();
    let mut expected = Vec::new();
    for round in 0..3 {
        exporter.start(&cluster, EventStreamConfig::default()).await;
        churn(&cluster, &format!("round{round}"), &mut expected);
        exporter.wait_for(&expected).await;
        // The periodic checkpoint has run; kill without the final save.
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        exporter.kill();
        churn(&cluster, &format!("down{round}"), &mut expected);
    }
    exporter.start(&cluster, EventStreamConfig::default()).await;
    exporter.wait_for(&expected).await;
    assert_exactly_once(&exporter.sink.keys(), &expected);
    exporter.stop().await;
}

#[tokio::test]
async fn a_crash_between_storing_and_checkpointing_repeats_nothing() {
    init_tracing();
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    let mut exporter = Exporter::new();
    // No periodic checkpoint during the run: only the dispatch mark is saved before each batch,
    // so every kill lands after the sink stored events the checkpoint does not record.
    let rarely = || {
        PipelineConfig::default()
            .max_batch_events(50)
            .max_batch_wait(Duration::from_millis(20))
            .checkpoint_interval(Duration::from_secs(3600))
    };
    let mut expected = Vec::new();
    for round in 0..3 {
        exporter
            .start_with(&cluster, EventStreamConfig::default(), |p| {
                p.config(rarely())
            })
            .await;
        churn(&cluster, &format!("round{round}"), &mut expected);
        exporter.wait_for(&expected).await;
        // Saved before its first batch went out, the mark of this second churn records where
        // the first one ended: that is where the next run resumes.
        churn(&cluster, &format!("late{round}"), &mut expected);
        exporter.wait_for(&expected).await;
        exporter.kill();
        churn(&cluster, &format!("down{round}"), &mut expected);
    }
    exporter
        .start_with(&cluster, EventStreamConfig::default(), |p| {
            p.config(rarely())
        })
        .await;
    exporter.wait_for(&expected).await;
    assert_exactly_once(&exporter.sink.keys(), &expected);
    let found = exporter
        .metrics
        .sink("memory")
        .already_stored
        .load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        found > 0,
        "the restart asked the sink and found what it held"
    );
    exporter.stop().await;
}
