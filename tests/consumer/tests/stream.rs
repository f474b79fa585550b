//! The consumer's flow against the simulated API server: plain `filter` and `take` keep exactly
//! the Warnings, the consumer's own sink receives each of them once, and the next run, resumed
//! from the checkpoint, replays nothing the first stored or filtered out.

use std::time::Duration;

use event_keeper_consumer::{Collect, run};
use testkit::{NewEvent, SimCluster, SimConfig};

#[tokio::test]
async fn the_custom_sink_receives_exactly_the_warnings() {
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    // Interleaved, so that a filter letting Normal events through would make `take` stop
    // before the last Warning.
    let mut warnings = Vec::new();
    for pod in ["api-0", "api-1", "api-2"] {
        warnings.push(
            cluster.create_event(
                NewEvent::new("payments", "BackOff")
                    .regarding("Pod", pod)
                    .warning(),
            ),
        );
        cluster.create_event(NewEvent::new("payments", "Pulled").regarding("Pod", pod));
    }
    let dir = tempfile::tempdir().unwrap();
    let sink = Collect::default();

    let report = tokio::time::timeout(
        Duration::from_secs(60),
        run(cluster.client(), dir.path(), warnings.len(), sink.clone()),
    )
    .await
    .expect("the stream ends after the third Warning")
    .unwrap();
    assert!(report.checkpoint_saved);

    let mut received: Vec<(String, String)> = sink
        .keys()
        .into_iter()
        .map(|key| (key.uid, key.resource_version))
        .collect();
    received.sort();
    let mut expected: Vec<(String, String)> = warnings
        .into_iter()
        .map(|event| (event.uid, event.resource_version))
        .collect();
    expected.sort();
    assert_eq!(received, expected);
    assert_eq!(report.acknowledged, 3);
}

#[tokio::test]
async fn a_second_run_resumes_after_what_the_first_stored_and_filtered_out() {
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    let first = cluster.create_event(
        NewEvent::new("payments", "BackOff")
            .regarding("Pod", "api-0")
            .warning(),
    );
    cluster.create_event(NewEvent::new("payments", "Pulled").regarding("Pod", "api-0"));
    let dir = tempfile::tempdir().unwrap();
    let sink = Collect::default();
    let within = Duration::from_secs(60);
    tokio::time::timeout(within, run(cluster.client(), dir.path(), 1, sink.clone()))
        .await
        .unwrap()
        .unwrap();

    // Normal events first: had the first run's dropped one not been settled, the second run
    // would be offered it again before the new Warning.
    cluster.create_event(NewEvent::new("payments", "Pulled").regarding("Pod", "api-1"));
    let second = cluster.create_event(
        NewEvent::new("payments", "BackOff")
            .regarding("Pod", "api-1")
            .warning(),
    );
    tokio::time::timeout(within, run(cluster.client(), dir.path(), 1, sink.clone()))
        .await
        .unwrap()
        .unwrap();
    let received: Vec<String> = sink.keys().into_iter().map(|key| key.uid).collect();
    assert_eq!(
        received,
        vec![first.uid, second.uid],
        "each Warning once, in order"
    );
}
