//! `/healthz`, `/readyz` and `/metrics` over HTTP, against a pipeline watching the simulated
//! API server: unready before the first list, ready once listed, unready when the API server
//! stops answering for longer than `stall_after`, ready again once it is back.

use std::net::SocketAddr;
use std::time::Duration;

use event_core::checkpoint::FileCheckpointStore;
use event_core::health::{Health, HealthState, serve};
use event_core::metrics::Metrics;
use event_core::testing::MemorySink;
use event_core::{ApiChoice, EventStreamConfig, Keeper, ObjectKind, PipelineConfig};
use testkit::http::get;
use testkit::prometheus::sample;
use testkit::{NewEvent, SimCluster, SimConfig};
use tests::{init_tracing, within};
use tokio_util::sync::CancellationToken;

/// Polls `path` until it answers `status`, failing after `timeout`; returns the body.
async fn wait_for_status(addr: SocketAddr, path: &str, status: u16, timeout: Duration) -> String {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let (code, body) = get(addr, path).await;
        if code == status {
            return body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{path} still answers {code} after {timeout:?}, not {status}:\n{body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn readiness_follows_the_watch_through_an_api_outage_and_metrics_count_what_was_sent() {
    init_tracing();
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    let metrics = Metrics::default();
    let health = Health::default();
    let stop_server = CancellationToken::new();
    let state =
        HealthState::new(health.clone(), metrics.clone()).stall_after(Duration::from_millis(500));
    let server = serve("127.0.0.1:0".parse().unwrap(), state, stop_server.clone())
        .await
        .expect("the health server binds");
    let addr = server.local_addr();
    assert_eq!(get(addr, "/healthz").await, (200, "ok\n".to_owned()));
    assert_eq!(get(addr, "/readyz").await.0, 503, "no watch yet");

    // The API server answers 503 at first: the watches start but cannot list.
    cluster.set_unavailable(true);
    let dir = tempfile::tempdir().unwrap();
    let keeper = Keeper::load(FileCheckpointStore::new(dir.path().join("checkpoint.json")))
        .await
        .expect("no checkpoint yet")
        .with_metrics(metrics.clone())
        .with_health(health);
    let config = EventStreamConfig::default()
        .api(ApiChoice::EventsV1)
        .objects([ObjectKind::Pods]);
    let stream = keeper
        .watch(cluster.client(), config)
        .await
        .expect("connects without discovery");
    let sink = MemorySink::new("memory");
    let shutdown = CancellationToken::new();
    let run = tokio::spawn(
        keeper
            .pipeline(stream)
            .config(
                PipelineConfig::default()
                    .max_batch_wait(Duration::from_millis(20))
                    .checkpoint_interval(Duration::from_millis(100)),
            )
            .sink(sink.clone())
            .run(shutdown.clone()),
    );
    tests::wait_until("a list refused", Duration::from_secs(10), || {
        cluster.stats().unavailable_responses > 0
    })
    .await;
    let (code, body) = get(addr, "/readyz").await;
    assert_eq!(code, 503, "{body}");
    assert!(body.starts_with("not ready\n"), "{body}");
    assert!(
        body.contains("events@*: not ready: no list completed yet"),
        "{body}"
    );
    assert!(body.contains("pods@*: not ready"), "{body}");

    cluster.set_unavailable(false);
    let body = wait_for_status(addr, "/readyz", 200, Duration::from_secs(20)).await;
    assert_eq!(body, "ready\nevents@*: ready\npods@*: ready\n");

    for i in 0..5 {
        cluster.create_event(
            NewEvent::new("payments", "BackOff").regarding("Pod", format!("api-{i}")),
        );
    }
    tests::wait_until("five events stored", Duration::from_secs(10), || {
        sink.events().len() == 5
    })
    .await;
    let (code, body) = get(addr, "/metrics").await;
    assert_eq!(code, 200);
    assert_eq!(
        sample(&body, "event_keeper_events_received_total"),
        Some(5.0),
        "{body}"
    );
    assert_eq!(
        sample(&body, "event_keeper_events_sent_total{sink=\"memory\"}"),
        Some(5.0),
        "{body}"
    );
    assert_eq!(sample(&body, "event_keeper_leader"), Some(0.0), "{body}");
    assert!(
        sample(&body, "event_keeper_checkpoint_age_seconds").is_some(),
        "{body}"
    );

    // The API server goes away: each watch fails, and after stall_after the process is unready.
    cluster.stop().await;
    let body = wait_for_status(addr, "/readyz", 503, Duration::from_secs(20)).await;
    assert!(
        body.contains("failing for") && body.contains("without a successful reconnect"),
        "{body}"
    );
    assert_eq!(get(addr, "/healthz").await.0, 200, "alive all the same");

    // Back: the watches reconnect (silently, on a quiet cluster) and readiness follows.
    cluster.restart().await;
    let body = wait_for_status(addr, "/readyz", 200, Duration::from_secs(40)).await;
    assert_eq!(body, "ready\nevents@*: ready\npods@*: ready\n");
    let pod = cluster
        .apply_object(
            "v1",
            "Pod",
            serde_json::json!({"metadata": {"name": "api-9", "namespace": "payments"},
                               "status": {"phase": "Pending"}}),
        )
        .expect("pods are served");
    tests::wait_until("the pod change stored", Duration::from_secs(20), || {
        sink.events().len() == 6
    })
    .await;
    let stored = sink.events();
    assert_eq!(
        stored[5].uid,
        pod["metadata"]["uid"].as_str().unwrap(),
        "the watch works again"
    );
    let (_, body) = get(addr, "/metrics").await;
    assert_eq!(
        sample(&body, "event_keeper_events_received_total"),
        Some(6.0),
        "{body}"
    );

    shutdown.cancel();
    within("pipeline shutdown", Duration::from_secs(10), run)
        .await
        .expect("pipeline task")
        .expect("pipeline result");
    let (code, body) = get(addr, "/readyz").await;
    assert_eq!(code, 503, "the watches stopped with the pipeline: {body}");
    stop_server.cancel();
    within("server shutdown", Duration::from_secs(5), server.wait())
        .await
        .expect("the server stops cleanly");
}
