//! The webhook sink end to end: the simulated API server → the pipeline → `WebhookSink` →
//! testkit's fault proxy → testkit's webhook receiver, which checks every request as a careful
//! receiver would (credentials, headers, gzip, format, the idempotency key recomputed from the
//! records).
//!
//! A webhook cannot be asked what it stored, so the sink is at-least-once after an ambiguous
//! failure (a timeout or a connection lost after the request was forwarded). The fault test
//! counts per occurrence what was delivered (nothing lost; duplicates only from those
//! requests) and what a receiver that deduplicates by `Idempotency-Key` keeps (exactly once).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use event_core::{Event, EventStreamConfig, OccurrenceKey, Sink};
use sink_webhook::{Auth, Format, HeaderValue, Secret, WebhookSink, WebhookSinkConfig};
use testkit::http_fault::{FaultProxy, HttpFault};
use testkit::webhook::{Receiver, ReceiverConfig};
use testkit::{NewEvent, SimCluster, SimConfig};
use tests::fault::{Churn, Figures, keys, settle};
use tests::{Exporter, init_tracing};

fn occurrence_keys(pairs: Vec<(String, String)>) -> Vec<OccurrenceKey> {
    pairs
        .into_iter()
        .map(|(uid, resource_version)| OccurrenceKey {
            uid,
            resource_version,
        })
        .collect()
}

/// A token file that lives as long as the returned directory.
fn token_file(token: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("token");
    std::fs::write(&path, format!("{token}\n")).expect("token written");
    (dir, path)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_are_the_stored_json_sent_with_credentials_headers_and_gzip() {
    init_tracing();
    let receiver = Receiver::start(
        ReceiverConfig::default()
            .authorization("Bearer t0k3n")
            .header("X-Team", "platform"),
    )
    .await
    .unwrap();
    let (_dir, token) = token_file("t0k3n");
    let sink = WebhookSink::new(
        WebhookSinkConfig::new(receiver.url())
            .format(Format::Ndjson)
            .gzip(true)
            .auth(Auth::Bearer(Secret::File(token)))
            .header("X-Team", HeaderValue::Value("platform".into())),
    )
    .expect("the webhook sink builds");
    let stats = sink.stats();
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    let mut exporter = Exporter::new();
    exporter
        .start_with(&cluster, EventStreamConfig::default(), move |p| {
            p.sink(sink)
        })
        .await;
    let made: Vec<OccurrenceKey> = (0..20)
        .map(|i| {
            tests::key(
                &cluster.create_event(
                    NewEvent::new("payments", "BackOff")
                        .regarding("Pod", format!("api-{i}"))
                        .message(format!("Back-off \"restarting\"\n\tcontainer {i} ✓")),
                ),
            )
        })
        .collect();
    let stored = settle(
        "the receiver to hold the events",
        &made,
        true,
        Duration::from_secs(20),
        || {
            let keys = occurrence_keys(receiver.stored_keys());
            async move { keys }
        },
    )
    .await;
    Figures::count("webhook_plain", &stored, &made)
        .print()
        .assert_clean();
    assert!(receiver.problems().is_empty(), "{:?}", receiver.problems());
    let accepted = receiver.accepted();
    assert!(!accepted.is_empty());
    for request in &accepted {
        assert!(request.gzip, "every body is gzipped");
        assert_eq!(request.content_type, "application/x-ndjson");
    }
    // Each record is, byte for byte in meaning, the record the other sinks write.
    let events: std::collections::HashMap<OccurrenceKey, Event> = exporter
        .sink
        .events()
        .into_iter()
        .map(|e| (e.key(), e))
        .collect();
    for record in receiver.records() {
        let event: Event = serde_json::from_value(record.clone()).expect("a record is an Event");
        let mut written = Vec::new();
        events[&event.key()].write_json(&mut written);
        let expected: serde_json::Value = serde_json::from_slice(&written).unwrap();
        assert_eq!(record, expected);
    }
    assert_eq!(stats.request_failures(), 0);
    assert_eq!(stats.requests(), accepted.len() as u64);
    exporter.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_are_fatal_with_the_receivers_answer() {
    init_tracing();
    let receiver = Receiver::start(ReceiverConfig::default().authorization("Bearer right"))
        .await
        .unwrap();
    let (_dir, token) = token_file("n0t-the-t0ken");
    let mut sink = WebhookSink::new(
        WebhookSinkConfig::new(receiver.url()).auth(Auth::Bearer(Secret::File(token))),
    )
    .unwrap();
    let error = sink
        .send(&[Event::new("u1", "1")])
        .await
        .expect_err("a 401 is not stored");
    assert!(!error.is_retryable(), "{error}");
    let message = error.to_string();
    assert!(message.contains("401 Unauthorized"), "{message}");
    assert!(
        message.contains("invalid credentials"),
        "the body's first line: {message}"
    );
    assert!(
        !message.contains("see the receiver's logs"),
        "only the first line: {message}"
    );
    assert!(
        !message.contains("t0ken"),
        "the token is never shown: {message}"
    );
    assert_eq!(receiver.stats().unauthorized, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_too_large_for_a_request_is_rejected_and_the_rest_stored() {
    init_tracing();
    let receiver = Receiver::start(ReceiverConfig::default()).await.unwrap();
    let mut sink =
        WebhookSink::new(WebhookSinkConfig::new(receiver.url()).max_body_bytes(2048)).unwrap();
    let mut big = Event::new("big", "2");
    big.message = "x".repeat(4096);
    let batch = [Event::new("small", "1"), big, Event::new("small", "3")];
    let error = sink.send(&batch).await.expect_err("one event is rejected");
    let event_core::SinkError::Rejected { rejected, .. } = &error else {
        panic!("not a rejection: {error}");
    };
    assert_eq!(rejected.iter().map(|r| r.index).collect::<Vec<_>>(), [1]);
    assert_eq!(
        receiver.stored_keys(),
        [
            ("small".to_owned(), "1".to_owned()),
            ("small".to_owned(), "3".to_owned())
        ]
    );
    assert!(receiver.problems().is_empty(), "{:?}", receiver.problems());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_lose_nothing_and_the_idempotency_key_drops_every_resend() {
    init_tracing();
    let receiver = Receiver::start(ReceiverConfig::default().deduplicate())
        .await
        .unwrap();
    let proxy = FaultProxy::start(&receiver.endpoint()).await.unwrap();
    let sink = WebhookSink::new(
        WebhookSinkConfig::new(format!("{}/hook", proxy.endpoint()))
            .timeout_secs(1)
            .send_timeout_secs(5),
    )
    .unwrap();
    let stats = sink.stats();
    let cluster = Arc::new(SimCluster::start(SimConfig::default()).await.unwrap());
    let mut exporter = Exporter::new();
    exporter
        .start_with(&cluster, EventStreamConfig::default(), move |p| {
            p.sink(sink)
        })
        .await;
    let churn = Churn::start(cluster.clone(), "hook", Duration::from_millis(30));

    // Each burst goes to the next requests (the churn keeps them coming), and the next burst
    // waits for a success: the pipeline's backoff doubles per failure.
    let bursts: [(HttpFault, usize); 9] = [
        (
            HttpFault::Throttle {
                retry_after: Some(1),
            },
            2,
        ),
        (HttpFault::Status(500), 2),
        (HttpFault::Status(503), 1),
        (HttpFault::DropBeforeForward, 1),
        (HttpFault::TimeoutAfterForward(Duration::from_secs(3)), 1),
        (HttpFault::DropAfterForward, 1),
        (HttpFault::TimeoutAfterForward(Duration::from_secs(3)), 1),
        (HttpFault::DropAfterForward, 1),
        (HttpFault::Throttle { retry_after: None }, 2),
    ];
    let mut injected = 0;
    for (fault, times) in bursts {
        proxy.inject(fault, times);
        injected += times;
        tests::wait_until("the burst to be served", Duration::from_secs(30), || {
            proxy.pending_faults() == 0
        })
        .await;
        let sent = stats.events_sent();
        tests::wait_until("a success after the burst", Duration::from_secs(30), || {
            stats.events_sent() > sent
        })
        .await;
    }
    let made = keys(&churn.stop().await);
    let stored = settle(
        "the receiver to hold every occurrence",
        &made,
        true,
        Duration::from_secs(30),
        || {
            let keys = occurrence_keys(receiver.stored_keys());
            async move { keys }
        },
    )
    .await;
    let delivered = occurrence_keys(receiver.received_keys());
    let counters = exporter.metrics.sink("webhook");
    let receiver_stats = receiver.stats();
    let proxy_stats = proxy.stats();

    // What the sender delivered: at least once.
    let sent = Figures::count("webhook_faults_delivered", &delivered, &made)
        .with("faults_injected", injected)
        .with("requests", stats.requests())
        .with("request_failures", stats.request_failures())
        .with("retried_batches", counters.retried.load(Ordering::Relaxed))
        .with("forwarded_unanswered", proxy_stats.forwarded_unanswered)
        .with("repeated_requests", receiver_stats.repeated);
    sent.print();
    assert!(sent.lost.is_empty(), "{}", sent.line());
    assert_eq!(sent.unexpected, 0, "{}", sent.line());
    // A copy can only come from a request the receiver stored while the sender gave up on it.
    assert!(
        receiver_stats.repeated <= proxy_stats.forwarded_unanswered,
        "{}",
        sent.line()
    );
    assert!(
        proxy_stats.forwarded_unanswered >= 4,
        "every timeout and drop after forwarding was served: {proxy_stats:?}"
    );
    assert!(
        receiver_stats.repeated >= 1 && sent.duplicated >= 1,
        "a batch stored while its sender gave up was sent again with the same key: {}",
        sent.line()
    );

    // What a receiver that drops a known Idempotency-Key keeps: exactly once.
    Figures::count("webhook_faults_deduplicated", &stored, &made)
        .with("repeated_requests_dropped", receiver_stats.repeated)
        .print()
        .assert_clean();
    assert!(receiver.problems().is_empty(), "{:?}", receiver.problems());
    assert!(
        stats.request_failures() >= injected as u64,
        "every fault failed a request: {}",
        sent.line()
    );
    exporter.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resent_batch_skips_the_requests_already_answered() {
    init_tracing();
    let receiver = Receiver::start(ReceiverConfig::default()).await.unwrap();
    let proxy = FaultProxy::start(&receiver.endpoint()).await.unwrap();
    let mut sink = WebhookSink::new(
        WebhookSinkConfig::new(format!("{}/hook", proxy.endpoint())).max_batch_events(1),
    )
    .unwrap();
    let stats = sink.stats();
    let batch: Vec<Event> = (1..=3).map(|i| Event::new(format!("u{i}"), "7")).collect();
    proxy.inject(HttpFault::PassThrough, 1);
    proxy.inject(HttpFault::Status(503), 1);
    let error = sink
        .send(&batch)
        .await
        .expect_err("the second request fails");
    assert!(error.is_retryable(), "{error}");
    sink.send(&batch).await.expect("the resend completes");
    assert_eq!(
        stats.resends_skipped(),
        1,
        "the first request is not made again"
    );
    let keys: Vec<String> = receiver.stored_keys().into_iter().map(|(u, _)| u).collect();
    assert_eq!(keys, ["u1", "u2", "u3"]);
    assert_eq!(receiver.stats().repeated, 0);
    assert_eq!(
        stats.requests(),
        4,
        "1 answered, 1 refused, then the other 2"
    );
}
