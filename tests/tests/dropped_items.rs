//! Items dropped by any stream operator or by user code count as filtered out: the checkpoint
//! moves past them as it does for the crate's own filters, and a restart replays none of them.
//! Only what the pipeline held, or what the stream still buffered when it stopped, is replayed.

use std::future::ready;
use std::time::Duration;

use event_core::checkpoint::{CheckpointStore, FileCheckpointStore};
use event_core::{EventStreamConfig, EventStreamExt, Keeper};
use futures::StreamExt;
use testkit::{EventRef, NewEvent, SimCluster, SimConfig};
use tests::{Exporter, assert_exactly_once, init_tracing, key, wait_until};

/// Two Warnings to keep around three Normal events to drop, in this order: normal, warning,
/// normal, warning, normal. Returns (kept, dropped).
fn create(cluster: &SimCluster, round: &str) -> (Vec<EventRef>, Vec<EventRef>) {
    let mut kept = Vec::new();
    let mut dropped = Vec::new();
    for i in 0..5 {
        let object = format!("{round}-{i}");
        if i % 2 == 1 {
            kept.push(
                cluster.create_event(
                    NewEvent::new("payments", "BackOff")
                        .regarding("Pod", &object)
                        .warning(),
                ),
            );
        } else {
            dropped.push(
                cluster.create_event(NewEvent::new("payments", "Pulled").regarding("Pod", &object)),
            );
        }
    }
    (kept, dropped)
}

fn newest(events: &[EventRef]) -> u64 {
    events
        .iter()
        .map(|e| e.resource_version.parse::<u64>().unwrap())
        .max()
        .unwrap()
}

/// Runs the exporter with `operator` over its stream, then checks that the dropped events were
/// counted as filtered, that the resume point passed them, and that a restart without the
/// operator exports only what is created afterwards: nothing dropped on purpose comes back.
async fn drops_are_settled<S, G>(operator: G)
where
    G: FnOnce(event_core::EventStream) -> S,
    S: futures::Stream<Item = Result<event_core::Tracked, event_core::WatchError>>
        + Send
        + Unpin
        + 'static,
{
    init_tracing();
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    let mut exporter = Exporter::new();
    exporter
        .start_filtered(&cluster, EventStreamConfig::default(), operator)
        .await;
    let (kept, dropped) = create(&cluster, "first");
    let expected: Vec<_> = kept.iter().map(key).collect();
    exporter.wait_for(&expected).await;
    let metrics = exporter.metrics.clone();
    wait_until("the drops to be counted", Duration::from_secs(5), || {
        metrics.filtered() == 3
    })
    .await;
    let ledger = exporter.ledger.clone().unwrap();
    let last = newest(&dropped).max(newest(&kept));
    wait_until(
        "the resume point to pass the dropped events",
        Duration::from_secs(5),
        || ledger.resume_point("events@*").unwrap_or(0) >= last,
    )
    .await;
    assert_eq!(ledger.in_flight(), 0, "nothing held back by a dropped item");
    let report = exporter.stop().await;
    assert!(report.checkpoint_saved);
    assert_eq!(report.unacknowledged, 0);

    // A restart without the operator: the dropped events stay dropped.
    exporter.start(&cluster, EventStreamConfig::default()).await;
    let (later_kept, later_dropped) = create(&cluster, "second");
    let mut all: Vec<_> = expected.clone();
    all.extend(later_kept.iter().chain(&later_dropped).map(key));
    exporter.wait_for(&all).await;
    assert_exactly_once(&exporter.sink.keys(), &all);
    exporter.stop().await;
}

#[tokio::test]
async fn futures_filter_drops_are_settled_like_the_crates_own_filters() {
    drops_are_settled(|s| s.filter(|item| ready(item.as_ref().map_or(true, |e| e.is_warning()))))
        .await;
}

#[tokio::test]
async fn futures_filter_map_drops_are_settled() {
    drops_are_settled(|s| {
        s.filter_map(|item| {
            ready(match item {
                Ok(event) if !event.is_warning() => None,
                other => Some(other),
            })
        })
    })
    .await;
}

#[tokio::test]
async fn the_crates_own_filter_settles_the_same_way() {
    drops_are_settled(|s| s.filter_with(event_core::filter::event_types(["Warning"]))).await;
}

#[tokio::test]
async fn skip_while_drops_are_settled() {
    init_tracing();
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    // Three Normal events first, skipped; then everything passes.
    let skipped: Vec<_> = (0..3)
        .map(|i| {
            cluster.create_event(
                NewEvent::new("payments", "Pulled").regarding("Pod", format!("early-{i}")),
            )
        })
        .collect();
    let mut exporter = Exporter::new();
    exporter
        .start_filtered(&cluster, EventStreamConfig::default(), |s| {
            s.skip_while(|item| ready(item.as_ref().is_ok_and(|e| !e.is_warning())))
        })
        .await;
    let (kept, dropped) = create(&cluster, "after");
    // The first Warning ends the skipping: everything from it on passes.
    let mut expected: Vec<_> = kept.iter().map(key).collect();
    expected.extend(dropped[1..].iter().map(key));
    exporter.wait_for(&expected).await;
    assert_exactly_once(&exporter.sink.keys(), &expected);
    let ledger = exporter.ledger.clone().unwrap();
    let last = newest(&kept).max(newest(&dropped));
    wait_until(
        "the resume point to pass everything",
        Duration::from_secs(5),
        || ledger.resume_point("events@*").unwrap_or(0) >= last,
    )
    .await;
    exporter.stop().await;

    exporter.start(&cluster, EventStreamConfig::default()).await;
    let marker = cluster.create_event(NewEvent::new("payments", "Marker").regarding("Pod", "m"));
    let mut all = expected.clone();
    all.push(key(&marker));
    exporter.wait_for(&all).await;
    assert_exactly_once(&exporter.sink.keys(), &all);
    let replayed: Vec<_> = skipped
        .iter()
        .chain(&dropped[..1])
        .map(key)
        .filter(|k| exporter.sink.keys().contains(k))
        .collect();
    assert!(
        replayed.is_empty(),
        "skipped on purpose, replayed: {replayed:?}"
    );
    exporter.stop().await;
}

#[tokio::test]
async fn take_ends_the_run_and_what_it_did_not_take_is_exported_by_the_next() {
    init_tracing();
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    let events: Vec<_> = (0..6)
        .map(|i| {
            cluster.create_event(
                NewEvent::new("payments", "BackOff")
                    .regarding("Pod", format!("p-{i}"))
                    .warning(),
            )
        })
        .collect();
    let mut exporter = Exporter::new();
    exporter
        .start_filtered(&cluster, EventStreamConfig::default(), |s| s.take(2))
        .await;
    let report = exporter.finish().await;
    assert_eq!(report.acknowledged, 2);
    assert!(report.checkpoint_saved);
    assert_eq!(exporter.sink.keys().len(), 2);
    assert_eq!(
        exporter.metrics.filtered(),
        0,
        "not taken is not filtered out"
    );

    // What `take` left in the stream was never looked at: the next run exports it, once.
    exporter.start(&cluster, EventStreamConfig::default()).await;
    let expected: Vec<_> = events.iter().map(key).collect();
    exporter.wait_for(&expected).await;
    assert_exactly_once(&exporter.sink.keys(), &expected);
    exporter.stop().await;
}

#[tokio::test]
async fn a_user_loop_that_acknowledges_some_items_and_drops_the_others_moves_the_checkpoint() {
    init_tracing();
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("checkpoint.json");
    let keeper = Keeper::load(FileCheckpointStore::new(&path)).await.unwrap();
    let events = keeper
        .watch(cluster.client(), EventStreamConfig::default())
        .await
        .unwrap();
    let (kept, dropped) = create(&cluster, "loop");
    let mut stored = Vec::new();
    // The user's own consumer: Warnings are "stored" and acknowledged, the rest just dropped.
    events
        .take(5)
        .for_each(|item| {
            if let Ok(tracked) = item
                && tracked.is_warning()
            {
                let (event, ticket) = tracked.into_parts();
                stored.push(event.key());
                if let Some(ticket) = ticket {
                    ticket.ack();
                }
            }
            ready(())
        })
        .await;
    let ledger = keeper.ledger();
    assert_eq!(stored, kept.iter().map(key).collect::<Vec<_>>());
    assert_eq!(ledger.in_flight(), 0, "dropped items are settled");
    assert_eq!(
        keeper.metrics().filtered(),
        3,
        "each drop counted as filtered"
    );
    let last = newest(&kept).max(newest(&dropped));
    assert!(ledger.resume_point("events@*").unwrap_or(0) >= last);
    FileCheckpointStore::new(&path)
        .save(ledger.encoded_snapshot())
        .await
        .unwrap();
    drop(keeper);

    // Resumed from that checkpoint, the next consumer sees only what is new.
    let keeper = Keeper::load(FileCheckpointStore::new(&path)).await.unwrap();
    let events = keeper
        .watch(cluster.client(), EventStreamConfig::default())
        .await
        .unwrap();
    let marker = cluster.create_event(NewEvent::new("payments", "Marker").regarding("Pod", "m"));
    let first: Vec<_> = events
        .take(1)
        .filter_map(|item| ready(item.ok().map(|t| t.key())))
        .collect()
        .await;
    assert_eq!(
        first,
        vec![key(&marker)],
        "nothing dropped on purpose came back"
    );
}
