//! The CloudWatch sink in a real pipeline, from the simulated cluster to moto through the
//! strict proxy: throttling, 5xx storms and an uncertain timeout lose nothing and store
//! nothing twice.

#[path = "cloudwatch_support/harness.rs"]
mod harness;

use std::sync::atomic::Ordering;
use std::time::Duration;

use event_core::{EventStreamConfig, OccurrenceKey};
use sink_cloudwatch::CloudWatchSinkConfig;
use testkit::cloudwatch::Fault;
use testkit::{NewEvent, SimCluster, SimConfig};
use tests::{Exporter, assert_exactly_once, key};

/// Waits until CloudWatch holds every expected occurrence, then a little longer so that a
/// duplicate on its way is caught.
async fn wait_for_cloudwatch(env: &harness::Env, group: &str, expected: &[OccurrenceKey]) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(45);
    loop {
        let stored = env.keys_of(group).await;
        if expected.iter().all(|k| stored.contains(k)) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "CloudWatch holds {} of {} occurrences",
            expected.iter().filter(|k| stored.contains(k)).count(),
            expected.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
}

#[tokio::test]
async fn throttling_and_server_error_storms_lose_nothing_and_duplicate_nothing() {
    let env = harness::env().await;
    let group = "/ek-test/pipeline-storm";
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    let sink = env.sink(group);
    let stats = sink.stats();
    env.proxy.inject(Fault::Throttle, 2);
    env.proxy.inject(Fault::ServerError(503), 2);
    env.proxy.inject(Fault::ServerError(500), 1);
    let mut exporter = Exporter::new();
    exporter
        .start_with(&cluster, EventStreamConfig::default(), move |p| {
            p.sink(sink)
        })
        .await;
    let created: Vec<_> = (0..30)
        .map(|i| {
            let ns = ["payments", "billing", "search"][i % 3];
            cluster.create_event(NewEvent::new(ns, "BackOff").regarding("Pod", format!("p{i}")))
        })
        .collect();
    let expected: Vec<_> = created.iter().map(key).collect();
    wait_for_cloudwatch(&env, group, &expected).await;
    assert_exactly_once(&env.keys_of(group).await, &expected);
    assert_eq!(env.proxy.pending_faults(), 0, "every fault was served");
    assert!(
        stats.put_failures() >= 5,
        "{} failures",
        stats.put_failures()
    );
    assert_eq!(
        stats.put_throttled(),
        2,
        "the two throttled requests, no more"
    );
    exporter.wait_for(&expected).await;
    assert_exactly_once(&exporter.sink.keys(), &expected);
    exporter.stop().await;
    env.assert_no_violations();
}

#[tokio::test]
async fn a_timeout_after_forwarding_is_checked_with_already_stored_before_resending() {
    let env = harness::env().await;
    let group = "/ek-test/pipeline-timeout";
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    let sink = env.sink_with(
        CloudWatchSinkConfig::new()
            .log_group(group)
            .timeout_secs(1)
            .send_timeout_secs(5),
    );
    let stats = sink.stats();
    let mut exporter = Exporter::new();
    exporter
        .start_with(&cluster, EventStreamConfig::default(), move |p| {
            p.sink(sink)
        })
        .await;
    let first = cluster.create_event(NewEvent::new("payments", "BackOff").regarding("Pod", "a"));
    wait_for_cloudwatch(&env, group, &[key(&first)]).await;

    // The next PutLogEvents is stored by moto, but its answer never comes back in time.
    env.proxy
        .inject(Fault::TimeoutAfterForward(Duration::from_secs(3)), 1);
    let rest: Vec<_> = (0..5)
        .map(|i| {
            cluster.create_event(
                NewEvent::new("payments", "BackOff").regarding("Pod", format!("t{i}")),
            )
        })
        .collect();
    let mut expected = vec![key(&first)];
    expected.extend(rest.iter().map(key));
    // moto has the events at once; the sink times out a second later and the pipeline asks
    // what was stored instead of resending.
    wait_for_cloudwatch(&env, group, &expected).await;
    let asked = stats.clone();
    tests::wait_until(
        "the pipeline to ask already_stored",
        Duration::from_secs(20),
        || asked.lookups() >= 1,
    )
    .await;
    exporter.wait_for(&expected).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_exactly_once(&env.keys_of(group).await, &expected);
    assert_eq!(env.proxy.pending_faults(), 0);
    let counters = exporter.metrics.sink("cloudwatch");
    assert_eq!(counters.retried.load(Ordering::Relaxed), 1);
    assert_eq!(counters.already_stored.load(Ordering::Relaxed), 5);
    exporter.stop().await;
    env.assert_no_violations();
}

#[tokio::test]
async fn after_a_crash_the_events_stored_but_not_checkpointed_are_not_sent_again() {
    let env = harness::env().await;
    let group = "/ek-test/pipeline-crash";
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    let config = || {
        CloudWatchSinkConfig::new()
            .log_group(group)
            .timeout_secs(20)
            .send_timeout_secs(25)
    };
    let mut exporter = Exporter::new();
    let first_sink = env.sink_with(config());
    exporter
        .start_with(&cluster, EventStreamConfig::default(), move |p| {
            p.sink(first_sink)
        })
        .await;
    let warm_up = cluster.create_event(NewEvent::new("payments", "BackOff").regarding("Pod", "w"));
    wait_for_cloudwatch(&env, group, &[key(&warm_up)]).await;

    // moto stores the next batch, but the answer hangs until the process is killed.
    env.proxy
        .inject(Fault::TimeoutAfterForward(Duration::from_secs(60)), 1);
    let doubtful: Vec<_> = (0..4)
        .map(|i| {
            cluster.create_event(
                NewEvent::new("payments", "BackOff").regarding("Pod", format!("c{i}")),
            )
        })
        .collect();
    let mut expected = vec![key(&warm_up)];
    expected.extend(doubtful.iter().map(key));
    wait_for_cloudwatch(&env, group, &expected).await;
    // Let a checkpoint record that the batch was handed out, then crash.
    tokio::time::sleep(Duration::from_millis(500)).await;
    exporter.kill();

    let second_sink = env.sink_with(config());
    let stats = second_sink.stats();
    exporter
        .start_with(&cluster, EventStreamConfig::default(), move |p| {
            p.sink(second_sink)
        })
        .await;
    let after = cluster.create_event(NewEvent::new("payments", "BackOff").regarding("Pod", "z"));
    expected.push(key(&after));
    wait_for_cloudwatch(&env, group, &expected).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_exactly_once(&env.keys_of(group).await, &expected);
    assert!(
        stats.lookups() >= 1,
        "the restarted pipeline asked already_stored"
    );
    exporter.stop().await;
    env.assert_no_violations();
}
