//! Every injected event, and every count bump, arrives exactly once.

use std::time::Duration;

use event_core::{ApiChoice, EventApi, EventStreamConfig};
use testkit::{ApiGroup, NewEvent, SimCluster, SimConfig};
use tests::{Exporter, assert_exactly_once, init_tracing, key};

#[tokio::test]
async fn every_event_and_every_count_bump_arrives_exactly_once() {
    init_tracing();
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    let mut expected = Vec::new();
    // Some events exist before the exporter starts: they come through the initial list.
    let early = cluster
        .create_event(NewEvent::new("payments", "FailedScheduling").regarding("Pod", "api-0"));
    expected.push(key(&early));
    let mut exporter = Exporter::new();
    exporter.start(&cluster, EventStreamConfig::default()).await;
    let mut live = Vec::new();
    for i in 0..30 {
        let group = if i % 2 == 0 {
            ApiGroup::CoreV1
        } else {
            ApiGroup::EventsV1
        };
        let ev = cluster.create_event(
            NewEvent::new(if i % 3 == 0 { "payments" } else { "checkout" }, "BackOff")
                .regarding("Pod", format!("api-{i}"))
                .warning()
                .api(group),
        );
        expected.push(key(&ev));
        live.push(ev);
    }
    // Count bumps are new occurrences with new resourceVersions.
    for ev in live.iter().take(10) {
        let mut current = ev.clone();
        for _ in 0..3 {
            current = cluster.bump_event(&current).expect("event exists");
            expected.push(key(&current));
        }
    }
    exporter.wait_for(&expected).await;
    assert_exactly_once(&exporter.sink.keys(), &expected);
    let bumped = exporter
        .sink
        .events()
        .into_iter()
        .filter(|e| e.uid == live[0].uid)
        .map(|e| e.count)
        .collect::<Vec<_>>();
    assert_eq!(bumped, [1, 2, 3, 4], "each bump arrives with its count");
    exporter.stop().await;
}

#[tokio::test]
async fn watches_core_v1_when_the_server_lacks_the_new_api() {
    init_tracing();
    let cluster = SimCluster::start(SimConfig::default().serve_events_v1(false))
        .await
        .unwrap();
    let ev = cluster
        .create_event(NewEvent::new("default", "NodeNotReady").regarding("Node", "ip-10-0-1-7"));
    let mut exporter = Exporter::new();
    exporter.start(&cluster, EventStreamConfig::default()).await;
    exporter.wait_for(&[key(&ev)]).await;
    let events = exporter.sink.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].api, EventApi::CoreV1);
    assert_eq!(events[0].reason, "NodeNotReady");
    exporter.stop().await;
}

#[tokio::test]
async fn a_namespace_set_watches_only_those_namespaces() {
    init_tracing();
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    let mut exporter = Exporter::new();
    let config = EventStreamConfig::default()
        .api(ApiChoice::EventsV1)
        .namespaces(["payments", "checkout"]);
    exporter.start(&cluster, config).await;
    let wanted = [
        cluster.create_event(NewEvent::new("payments", "BackOff").regarding("Pod", "a")),
        cluster.create_event(NewEvent::new("checkout", "BackOff").regarding("Pod", "b")),
    ];
    let _ignored =
        cluster.create_event(NewEvent::new("kube-system", "BackOff").regarding("Pod", "c"));
    let expected: Vec<_> = wanted.iter().map(key).collect();
    exporter.wait_for(&expected).await;
    assert_exactly_once(&exporter.sink.keys(), &expected);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        exporter
            .sink
            .events()
            .iter()
            .all(|e| e.namespace.as_deref() != Some("kube-system"))
    );
    exporter.stop().await;
}

#[tokio::test]
async fn the_cluster_name_is_set_on_every_occurrence_at_the_source() {
    init_tracing();
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    let mut exporter = Exporter::new();
    exporter
        .start(&cluster, EventStreamConfig::default().cluster("prod-eu-1"))
        .await;
    let ev = cluster.create_event(NewEvent::new("payments", "BackOff").regarding("Pod", "a"));
    let bumped = cluster.bump_event(&ev).expect("exists");
    let expected = [key(&ev), key(&bumped)];
    exporter.wait_for(&expected).await;
    let events = exporter.sink.events();
    assert_eq!(events.len(), 2);
    assert!(
        events
            .iter()
            .all(|e| e.cluster.as_deref() == Some("prod-eu-1")),
        "{events:?}"
    );
    exporter.stop().await;
}
