//! The OTLP sink end to end: the simulated API server → the pipeline → `OtlpSink` → the fault
//! proxy → testkit's OTLP receiver, which decodes every request with the official protobuf
//! definitions.
//!
//! OTLP cannot be asked what a receiver stored, so the sink is at-least-once after an
//! ambiguous failure: a duplicate may only come from a request the receiver stored while the
//! client timed out or lost the connection. The fault test counts lost (must be 0) and
//! duplicated occurrences per occurrence and bounds the duplicates by those requests.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use event_core::{EventStreamConfig, OccurrenceKey};
use sink_otlp::{OtlpSink, OtlpSinkConfig};
use testkit::http_fault::{FaultProxy, HttpFault};
use testkit::otlp::Receiver;
use testkit::{NewEvent, SimCluster, SimConfig};
use tests::fault::{Churn, Figures, keys, settle};
use tests::{Exporter, init_tracing};

/// The occurrence keys the receiver holds, one per record.
fn stored(receiver: &Receiver) -> Vec<OccurrenceKey> {
    receiver
        .records()
        .iter()
        .filter_map(|r| {
            Some(OccurrenceKey {
                uid: r.string_attribute("k8s.event.uid")?.to_owned(),
                resource_version: r.string_attribute("k8s.event.resource_version")?.to_owned(),
            })
        })
        .collect()
}

fn sink_for(endpoint: &str, timeout_secs: u64) -> OtlpSink {
    let mut config = OtlpSinkConfig::new(endpoint);
    config.timeout_secs = timeout_secs;
    config.cluster_name = Some("sim".into());
    OtlpSink::new(config).expect("the OTLP sink builds")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_carry_the_kubernetes_conventions_and_a_partial_success_is_routed() {
    init_tracing();
    let receiver = Receiver::start().await.unwrap();
    let sink = sink_for(&receiver.endpoint(), 5);
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    let mut exporter = Exporter::new();
    exporter
        .start_with(&cluster, EventStreamConfig::default(), move |p| {
            p.sink(sink)
        })
        .await;

    let warning = cluster.create_event(
        NewEvent::new("payments", "BackOff")
            .regarding("Pod", "web-1")
            .message("Back-off restarting failed container")
            .warning(),
    );
    let expected = vec![tests::key(&warning)];
    settle(
        "the receiver to hold the event",
        &expected,
        true,
        Duration::from_secs(20),
        || {
            let keys = stored(&receiver);
            async move { keys }
        },
    )
    .await;
    let records = receiver.records();
    let record = records
        .iter()
        .find(|r| r.string_attribute("k8s.event.uid") == Some(warning.uid.as_str()))
        .expect("the warning is stored");
    assert_eq!(record.record.severity_number, 13, "Warning → WARN");
    assert_eq!(record.record.severity_text, "WARN");
    assert_eq!(record.body(), Some("Back-off restarting failed container"));
    assert_eq!(record.string_attribute("k8s.pod.name"), Some("web-1"));
    assert_eq!(
        record.string_attribute("k8s.namespace.name"),
        Some("payments")
    );
    assert_eq!(record.string_attribute("k8s.event.reason"), Some("BackOff"));
    assert_eq!(record.resource_string("k8s.cluster.name"), Some("sim"));
    assert_eq!(record.resource_string("service.name"), Some("event-keeper"));
    assert!(record.record.time_unix_nano > 0);
    assert!(record.record.observed_time_unix_nano >= record.record.time_unix_nano);
    assert!(receiver.stats().gzip_requests >= 1, "gzip is on by default");

    // A partial success: the receiver refuses one record of the next request without saying
    // which; the sink routes every event of that request as rejected.
    receiver.refuse_next(1);
    let normal = cluster.create_event(
        NewEvent::new("payments", "Scheduled")
            .regarding("Pod", "web-2")
            .message("Successfully assigned"),
    );
    let counters = exporter.metrics.sink("otlp");
    tests::wait_until(
        "the rejection to be counted",
        Duration::from_secs(20),
        || counters.rejected.load(Ordering::Relaxed) >= 1,
    )
    .await;
    assert_eq!(receiver.stats().refused_records, 1);
    assert!(
        !stored(&receiver).contains(&tests::key(&normal)),
        "the refused record was not kept"
    );
    exporter.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_5xx_drops_and_timeouts_lose_nothing_and_duplicate_only_ambiguous_requests() {
    init_tracing();
    let receiver = Receiver::start().await.unwrap();
    let proxy = FaultProxy::start(&receiver.endpoint()).await.unwrap();
    let sink = sink_for(&proxy.endpoint(), 1);
    let cluster = Arc::new(SimCluster::start(SimConfig::default()).await.unwrap());
    let mut exporter = Exporter::new();
    exporter
        .start_with(&cluster, EventStreamConfig::default(), move |p| {
            p.sink(sink)
        })
        .await;
    let churn = Churn::start(cluster.clone(), "otlp", Duration::from_millis(30));

    // Each burst goes to the next requests (the churn keeps them coming); the next burst
    // waits for a success, so the pipeline's doubling backoff stays short.
    let bursts: [(HttpFault, usize); 8] = [
        (
            HttpFault::Throttle {
                retry_after: Some(1),
            },
            2,
        ),
        (HttpFault::Status(500), 2),
        (HttpFault::Status(503), 2),
        (HttpFault::DropBeforeForward, 1),
        (HttpFault::TimeoutAfterForward(Duration::from_secs(3)), 1),
        (HttpFault::DropAfterForward, 1),
        (HttpFault::Throttle { retry_after: None }, 2),
        (HttpFault::TimeoutAfterForward(Duration::from_secs(3)), 1),
    ];
    let mut injected = 0;
    for (fault, times) in bursts {
        proxy.inject(fault, times);
        injected += times;
        tests::wait_until("the burst to be served", Duration::from_secs(30), || {
            proxy.pending_faults() == 0
        })
        .await;
        let records = receiver.stats().records;
        tests::wait_until("a success after the burst", Duration::from_secs(30), || {
            receiver.stats().records > records
        })
        .await;
    }
    let made = keys(&churn.stop().await);
    let held = settle(
        "the receiver to hold every occurrence",
        &made,
        true,
        Duration::from_secs(30),
        || {
            let keys = stored(&receiver);
            async move { keys }
        },
    )
    .await;

    let counters = exporter.metrics.sink("otlp");
    let stats = proxy.stats();
    let figures = Figures::count("otlp_faults", &held, &made)
        .with("faults_injected", injected)
        .with("requests", stats.requests)
        .with("forwarded_unanswered", stats.forwarded_unanswered)
        .with("retried_batches", counters.retried.load(Ordering::Relaxed))
        .with("receiver_requests", receiver.stats().requests);
    figures.print();
    assert!(figures.lost.is_empty(), "{}", figures.line());
    assert_eq!(figures.unexpected, 0, "{}", figures.line());
    assert!(stats.faults_served >= injected as u64, "{}", figures.line());
    // Only requests stored upstream whose answer never arrived may be sent twice; a batch is
    // at most the harness's 50 events.
    assert_eq!(stats.forwarded_unanswered, 3, "{}", figures.line());
    assert!(
        figures.duplicated <= 50 * stats.forwarded_unanswered as usize,
        "{}",
        figures.line()
    );
    assert!(
        figures.duplicated > 0,
        "a timed-out stored request was resent: {}",
        figures.line()
    );
    // The in-memory sink beside it saw every event once.
    Figures::count("otlp_faults_memory_sink", &exporter.sink.keys(), &made)
        .print()
        .assert_clean();
    exporter.stop().await;
}
