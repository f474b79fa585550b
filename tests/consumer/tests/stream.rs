//! The consumer's flow against the simulated API server: plain `filter` and `take` keep exactly
//! the Warnings, and the consumer's own sink receives each of them once.

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
    let archive = tempfile::tempdir().unwrap();
    let sink = Collect::default();

    let report = tokio::time::timeout(
        Duration::from_secs(60),
        run(
            cluster.client(),
            archive.path(),
            warnings.len(),
            sink.clone(),
        ),
    )
    .await
    .expect("the stream ends after the third Warning")
    .unwrap();

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
