//! Filters on a live stream: what they drop is counted and never holds the checkpoint back.

use std::time::Duration;

use event_core::{EventStreamConfig, EventStreamExt, FilterConfig};
use testkit::{NewEvent, SimCluster, SimConfig};
use tests::{Exporter, assert_exactly_once, init_tracing, key, wait_until};

#[tokio::test]
async fn a_config_filter_keeps_what_it_includes_and_drops_what_it_excludes() {
    init_tracing();
    let filter = FilterConfig::from_json(
        r#"{"include": [{"types": ["Warning"]}, {"reasons": ["ScalingReplicaSet"]}],
            "exclude": [{"namespaces": ["kube-system"]}, {"message": "^Readiness probe"}]}"#,
    )
    .unwrap()
    .compile()
    .unwrap();
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    let mut filtered = Exporter::new();
    filtered
        .start_filtered(&cluster, EventStreamConfig::default(), move |s| {
            s.filter_with(filter)
        })
        .await;
    let kept = [
        cluster.create_event(
            NewEvent::new("payments", "BackOff")
                .regarding("Pod", "a")
                .warning(),
        ),
        cluster.create_event(
            NewEvent::new("payments", "ScalingReplicaSet").regarding("Deployment", "api"),
        ),
    ];
    let dropped = [
        cluster.create_event(NewEvent::new("payments", "Pulled").regarding("Pod", "a")),
        cluster.create_event(
            NewEvent::new("kube-system", "BackOff")
                .regarding("Pod", "cni")
                .warning(),
        ),
        cluster.create_event(
            NewEvent::new("payments", "Unhealthy")
                .regarding("Pod", "a")
                .warning()
                .message("Readiness probe failed: connection refused"),
        ),
    ];
    let expected: Vec<_> = kept.iter().map(key).collect();
    filtered.wait_for(&expected).await;
    assert_exactly_once(&filtered.sink.keys(), &expected);
    let metrics = filtered.metrics.clone();
    wait_until("the drops to be counted", Duration::from_secs(5), || {
        metrics.filtered() == 3
    })
    .await;
    // Dropped events are settled: the resume point passes the newest of them.
    let newest: u64 = dropped[2].resource_version.parse().unwrap();
    let ledger = filtered.ledger.clone().unwrap();
    wait_until(
        "the resume point to pass the dropped events",
        Duration::from_secs(5),
        || ledger.resume_point("events@*").unwrap_or(0) >= newest,
    )
    .await;
    filtered.stop().await;
}

#[test]
fn an_invalid_filter_config_names_the_key() {
    let err = FilterConfig::from_json(
        r#"{"exclude": [{"namespaces": ["a"]}, {"message": "(unclosed"}]}"#,
    )
    .unwrap_err();
    assert!(err.to_string().contains("exclude[1].message"), "{err}");
    let err = FilterConfig::from_json(r#"{"include": [{"reason": ["BackOff"]}]}"#).unwrap_err();
    assert!(err.to_string().contains("`reason`"), "{err}");
    assert!(
        err.to_string().contains("reasons"),
        "the message lists the allowed keys: {err}"
    );
}
