//! SIGTERM while CloudWatch hangs: the real `eks_to_cloudwatch` binary ships to an endpoint
//! that accepts connections and never answers, with a queue of one batch that fills at once
//! under churn. SIGTERM must end it within `pipeline.shutdown_timeout_secs` plus the final
//! checkpoint save, whatever the sink does: the batcher waiting for queue space and the send in
//! flight are both cut at the drain deadline. It exits 0 (a graceful stop) after saving its
//! checkpoint, the batches it could not deliver unacknowledged. A run against a healthy
//! CloudWatch (moto, through the strict proxy) comes before it, to leave a checkpoint to resume
//! from, and one after it: at the end CloudWatch holds every occurrence exactly once, counted
//! per occurrence key, the abandoned batches replayed.

#[path = "cloudwatch_support/harness.rs"]
mod harness;
#[path = "fault_support/readback.rs"]
mod readback;

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use testkit::{SimCluster, SimConfig};
use tests::binary::ExporterProcess;
use tests::fault::{Churn, Figures, keys, settle};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

/// `pipeline.shutdown_timeout_secs`: well below the sink's own request
/// timeout, so that a send is in flight when the drain deadline passes.
const DRAIN: Duration = Duration::from_secs(2);
/// The pipeline's default bound of the final checkpoint save.
const CHECKPOINT_SAVE: Duration = Duration::from_secs(5);
/// Process start-up and exit around the bounds (a loaded 2-core machine included).
const SLACK: Duration = Duration::from_secs(2);

/// An endpoint that accepts every connection, reads what it is sent and never answers. The
/// connections stay open as long as the returned task runs.
async fn hung_endpoint() -> (String, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let task = tokio::spawn(async move {
        let mut held: Vec<TcpStream> = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    (format!("http://{addr}"), task)
}

fn config(name: &str, checkpoint: &std::path::Path, endpoint: &str, drain: Duration) -> String {
    format!(
        "cluster: {name}\n\
         checkpoint:\n  store: file\n  path: {checkpoint}\n  interval_secs: 0.2\n\
         sinks:\n\
         \x20 - type: cloudwatch\n    log_group: /event-keeper/{{cluster}}\n    log_stream: \"{{namespace}}\"\n\
         \x20   region: us-east-1\n    endpoint_url: {endpoint}\n    timeout_secs: 4\n    send_timeout_secs: 10\n\
         pipeline:\n  max_batch_events: 5\n  max_batch_wait_secs: 0.1\n  queue_batches: 1\n\
         \x20 shutdown_timeout_secs: {drain}\n  sink_timeout_secs: 20\n\
         server:\n  listen: 127.0.0.1:0\n\
         log:\n  format: json\n  level: info\n",
        checkpoint = checkpoint.display(),
        drain = drain.as_secs_f64(),
    )
}

/// The report of the "pipeline stopped" line, as logged.
fn final_report(logs: &str) -> Option<String> {
    logs.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|v| v["message"] == "pipeline stopped")
        .and_then(|v| v["report"].as_str().map(str::to_owned))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_a_hung_cloudwatch_and_a_full_queue_exits_in_time_and_loses_nothing() {
    tests::init_tracing();
    let env = harness::env().await;
    let cluster = Arc::new(SimCluster::start(SimConfig::default()).await.unwrap());
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = dir.path().join("kubeconfig");
    cluster.write_kubeconfig(&kubeconfig).expect("kubeconfig");
    let checkpoint = dir.path().join("checkpoint.json");
    let name = format!("fault-shutdown-{}", std::process::id());
    let group = format!("/event-keeper/{name}");
    let early =
        tests::key(&cluster.create_event(
            testkit::NewEvent::new("payments", "Scheduled").regarding("Pod", "early"),
        ));

    // A first run against a healthy CloudWatch, stopped once its checkpoint has a resume
    // point: the runs after it resume their watch from there and replay every occurrence made
    // since (a run without one relists, and updates made in between arrive coalesced).
    let healthy = config(&name, &checkpoint, &env.proxy.endpoint(), DRAIN);
    let mut exporter = ExporterProcess::start(&healthy, &kubeconfig, &[]).await;
    exporter.wait_for_readyz(200, Duration::from_secs(30)).await;
    tests::wait_until(
        "the first checkpoint with a resume point",
        Duration::from_secs(20),
        || {
            std::fs::read_to_string(&checkpoint)
                .ok()
                .and_then(|text| serde_json::from_str::<Value>(&text).ok())
                .is_some_and(|c| c["resume"]["events@*"].as_u64().is_some_and(|rv| rv > 0))
        },
    )
    .await;
    let churn = Churn::start(cluster.clone(), "shutdown", Duration::from_millis(40));
    tokio::time::sleep(Duration::from_millis(500)).await;
    exporter.terminate();
    let status = exporter.wait(Duration::from_secs(20)).await;
    assert!(status.success(), "{status}\n{}", exporter.logs());

    // The run under test: CloudWatch accepts and never answers.
    let (hung, hung_task) = hung_endpoint().await;
    let mut exporter =
        ExporterProcess::start(&config(&name, &checkpoint, &hung, DRAIN), &kubeconfig, &[]).await;
    // Full: one batch in the sink's hands, one in its queue and one waiting for space (the
    // gauge counts the batch being queued). The start-up health check hangs for its 4 s first.
    let depth = "event_keeper_queue_depth{sink=\"cloudwatch\"}";
    let deadline = Instant::now() + Duration::from_secs(30);
    while exporter.metric(depth).await.unwrap_or(0.0) < 2.0 {
        assert!(
            Instant::now() < deadline,
            "the queue did not fill; log:\n{}",
            exporter.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let terminated = Instant::now();
    exporter.terminate();
    let status = exporter.wait(Duration::from_secs(60)).await;
    let took = terminated.elapsed();
    let logs = exporter.logs();
    assert!(
        took <= DRAIN + CHECKPOINT_SAVE + SLACK,
        "SIGTERM to exit took {took:?}; log:\n{logs}"
    );
    assert!(status.success(), "exit status {status}; log:\n{logs}");
    let report = final_report(&logs).unwrap_or_else(|| panic!("no final report; log:\n{logs}"));
    assert!(report.contains("checkpoint_saved: true"), "{report}");
    assert!(
        !report.contains("unacknowledged: 0"),
        "the hung sink stored nothing, so something stays to replay: {report}"
    );
    assert!(
        logs.contains("sinks did not drain in time"),
        "the drain deadline cut the sink; log:\n{logs}"
    );
    drop(hung_task);

    // The last run: a healthy CloudWatch again, the same checkpoint.
    let mut exporter = ExporterProcess::start(&healthy, &kubeconfig, &[]).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut made = vec![early];
    made.extend(keys(&churn.stop().await));
    let stored = settle(
        "CloudWatch to hold every occurrence",
        &made,
        true,
        Duration::from_secs(30),
        || readback::stored_in(&env.moto, &group),
    )
    .await;
    let skips = exporter
        .metric("event_keeper_events_already_stored_total{sink=\"cloudwatch\"}")
        .await
        .unwrap_or(0.0);
    exporter.terminate();
    let second = exporter.wait(Duration::from_secs(20)).await;
    assert!(second.success(), "{second}\n{}", exporter.logs());

    let figures = Figures::count("sigterm_hung_cloudwatch_full_queue", &stored, &made)
        .with("sigterm_to_exit_ms", took.as_millis() as u64)
        .with("drain_bound_ms", DRAIN.as_millis() as u64)
        .with("already_stored_skips", skips as u64);
    figures.print();
    figures.assert_clean();
    env.assert_no_violations();
}
