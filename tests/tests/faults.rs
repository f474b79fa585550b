//! API faults mid-stream: a 410 and dropped connections lose nothing and duplicate nothing.

use std::time::Duration;

use event_core::EventStreamConfig;
use testkit::{NewEvent, SimCluster, SimConfig};
use tests::{Exporter, assert_exactly_once, init_tracing, key, wait_until};

fn incident(cluster: &SimCluster, round: usize, expected: &mut Vec<event_core::OccurrenceKey>) {
    for i in 0..10 {
        let ev = cluster.create_event(
            NewEvent::new("payments", "BackOff").regarding("Pod", format!("api-{round}-{i}")),
        );
        expected.push(key(&ev));
        if i % 2 == 0 {
            let bumped = cluster.bump_event(&ev).expect("exists");
            expected.push(key(&bumped));
        }
    }
}

#[tokio::test]
async fn a_410_mid_stream_loses_and_duplicates_nothing() {
    init_tracing();
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    let mut exporter = Exporter::new();
    exporter.start(&cluster, EventStreamConfig::default()).await;
    let mut expected = Vec::new();
    incident(&cluster, 0, &mut expected);
    exporter.wait_for(&expected).await;

    // The watch falls behind compaction: 410, then a relist after backoff. Changes made in that
    // gap can only arrive in their latest state (there is no history to replay them from).
    cluster.compact();
    cluster.force_watch_410();
    let mut in_gap = Vec::new();
    incident(&cluster, 1, &mut in_gap);
    let latest_in_gap = latest_per_uid(&in_gap);
    expected.extend(latest_in_gap.iter().cloned());
    let metrics = exporter.metrics.clone();
    wait_until("the relist after the 410", Duration::from_secs(10), || {
        metrics.established() >= 2
    })
    .await;

    incident(&cluster, 2, &mut expected);
    exporter.wait_for(&expected).await;
    assert_exactly_once(&exporter.sink.keys(), &expected);
    assert_eq!(exporter.metrics.coalesced(), latest_in_gap.len() as u64);
    assert!(
        exporter.metrics.relists() >= 2,
        "the 410 made the watcher relist"
    );
    exporter.stop().await;
}

/// The newest occurrence of each event among `keys` (resourceVersions are numeric).
fn latest_per_uid(keys: &[event_core::OccurrenceKey]) -> Vec<event_core::OccurrenceKey> {
    let mut latest: std::collections::BTreeMap<&str, &event_core::OccurrenceKey> =
        Default::default();
    for k in keys {
        let newer = latest.get(k.uid.as_str()).is_none_or(|cur| {
            k.resource_version.parse::<u64>().unwrap()
                > cur.resource_version.parse::<u64>().unwrap()
        });
        if newer {
            latest.insert(&k.uid, k);
        }
    }
    latest.into_values().cloned().collect()
}

#[tokio::test]
async fn dropped_connections_and_an_api_restart_lose_and_duplicate_nothing() {
    init_tracing();
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    let mut exporter = Exporter::new();
    exporter.start(&cluster, EventStreamConfig::default()).await;
    let mut expected = Vec::new();
    incident(&cluster, 0, &mut expected);
    exporter.wait_for(&expected).await;
    cluster.drop_connections();
    incident(&cluster, 1, &mut expected);
    exporter.wait_for(&expected).await;
    cluster.stop().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    cluster.restart().await;
    incident(&cluster, 2, &mut expected);
    exporter.wait_for(&expected).await;
    assert_exactly_once(&exporter.sink.keys(), &expected);
    let metrics = exporter.metrics.clone();
    wait_until("watch errors counted", Duration::from_secs(1), || {
        metrics.watch_errors() > 0
    })
    .await;
    exporter.stop().await;
}

#[tokio::test]
async fn ttl_expiry_is_not_exported_and_lets_the_checkpoint_forget() {
    init_tracing();
    let cluster =
        SimCluster::start(SimConfig::default().event_ttl(Some(Duration::from_millis(200))))
            .await
            .unwrap();
    let mut exporter = Exporter::new();
    exporter.start(&cluster, EventStreamConfig::default()).await;
    let ev = cluster.create_event(NewEvent::new("payments", "OOMKilling").regarding("Node", "n1"));
    exporter.wait_for(&[key(&ev)]).await;
    wait_until(
        "the TTL to delete the event",
        Duration::from_secs(5),
        || {
            cluster.expire_events();
            cluster.event_count() == 0
        },
    )
    .await;
    let ledger = exporter.ledger.clone().unwrap();
    wait_until(
        "the deleted event to be forgotten",
        Duration::from_secs(5),
        || !ledger.snapshot().events.contains_key(&ev.uid),
    )
    .await;
    assert_eq!(
        exporter.sink.events().len(),
        1,
        "a deletion is not an occurrence"
    );
    exporter.stop().await;
}
