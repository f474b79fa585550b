//! API faults under churn: API server restarts, watch connections cut mid-line, 503 periods,
//! forced 410s on the watch and on a list's continue token, and a downtime longer than the
//! history window after a crash (`kill -9` of the real `eks_to_cloudwatch` binary amid a cut
//! watch and 503s). Within the window nothing is lost or duplicated; across a gap the latest
//! state of every event arrives exactly once and the coalesced updates are counted.
//!
//! `SimCluster::drop_connections` writes half a JSON line and closes the connection without the
//! terminating chunk, so "a connection dropped mid-chunk" is what the watch sees.

use std::sync::Arc;
use std::time::Duration;

use event_core::{EventStreamConfig, OccurrenceKey};
use testkit::{NewEvent, SimCluster, SimConfig};
use tests::binary::ExporterProcess;
use tests::fault::{Churn, Figures, archive_keys, has_resume_point, keys, settle};
use tests::{Exporter, init_tracing};

fn stored_by(
    exporter: &Exporter,
) -> impl FnMut() -> std::future::Ready<Vec<OccurrenceKey>> + use<> {
    let sink = exporter.sink.clone();
    move || std::future::ready(sink.keys())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_restarts_cut_watches_and_503s_under_churn_lose_and_duplicate_nothing() {
    init_tracing();
    let cluster = Arc::new(SimCluster::start(SimConfig::default()).await.unwrap());
    let mut exporter = Exporter::new();
    exporter.start(&cluster, EventStreamConfig::default()).await;
    let churn = Churn::start(cluster.clone(), "api", Duration::from_millis(10));
    let (mut drops, mut restarts, mut unavailable, mut watch_errors) = (0u64, 0u64, 0u64, 0u64);
    // The first run lists and watches through kube-rs's watcher; the second resumes from the
    // checkpoint with a watch of its own: both paths meet every fault.
    for run in 0..2 {
        if run == 1 {
            watch_errors += exporter.metrics.watch_errors();
            exporter.stop().await;
            tokio::time::sleep(Duration::from_millis(200)).await;
            exporter.start(&cluster, EventStreamConfig::default()).await;
        }
        for _ in 0..3 {
            tokio::time::sleep(Duration::from_millis(250)).await;
            cluster.drop_connections();
            drops += 1;
            tokio::time::sleep(Duration::from_millis(250)).await;
            cluster.stop().await;
            tokio::time::sleep(Duration::from_millis(400)).await;
            cluster.restart().await;
            restarts += 1;
            tokio::time::sleep(Duration::from_millis(250)).await;
            cluster.set_unavailable(true);
            tokio::time::sleep(Duration::from_millis(300)).await;
            cluster.set_unavailable(false);
            unavailable += 1;
        }
    }
    let made = keys(&churn.stop().await);
    let stored = settle(
        "every occurrence after the API faults",
        &made,
        true,
        Duration::from_secs(30),
        stored_by(&exporter),
    )
    .await;
    watch_errors += exporter.metrics.watch_errors();
    let figures = Figures::count("api_restarts_drops_503s", &stored, &made)
        .with("connection_drops", drops)
        .with("watches_cut", cluster.stats().connections_dropped)
        .with("api_restarts", restarts)
        .with("unavailable_periods", unavailable)
        .with("watch_errors", watch_errors)
        .with("gone", exporter.metrics.gone());
    figures.print().assert_clean();
    assert!(cluster.stats().connections_dropped > 0, "watches were cut");
    assert!(watch_errors > 0, "the faults were seen and counted");
    assert_eq!(
        exporter.metrics.gone(),
        0,
        "no fault left the history window"
    );
    exporter.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forced_410s_on_the_watch_and_on_a_list_continue_token_deliver_every_latest_state_once() {
    init_tracing();
    let cluster = Arc::new(SimCluster::start(SimConfig::default()).await.unwrap());
    // A long first list, read three events a page, so that a compaction lands between pages.
    let mut made: Vec<OccurrenceKey> = (0..150)
        .map(|i| {
            tests::key(&cluster.create_event(
                NewEvent::new("payments", "BackOff").regarding("Pod", format!("early-{i}")),
            ))
        })
        .collect();
    let config = || EventStreamConfig::default().page_size(3);
    let compactor = {
        let cluster = cluster.clone();
        tokio::spawn(async move {
            // A write, then a compaction: the list's snapshot is older than what is kept.
            let mut written = Vec::new();
            let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
            while cluster.stats().list_410s == 0 && tokio::time::Instant::now() < deadline {
                if cluster.stats().list_pages >= 2 {
                    written.push(tests::key(
                        &cluster.create_event(
                            NewEvent::new("payments", "Unhealthy")
                                .regarding("Pod", format!("mid-list-{}", written.len())),
                        ),
                    ));
                    cluster.compact();
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            // The simulated server expires a continue token taken at the compacted version
            // itself, so a relist right after the last compaction needs a write to succeed
            // (a real server keeps the compacted revision readable).
            written.push(tests::key(&cluster.create_event(
                NewEvent::new("payments", "Unhealthy").regarding("Pod", "after-compaction"),
            )));
            written
        })
    };
    let mut exporter = Exporter::new();
    exporter.start(&cluster, config()).await;
    made.extend(compactor.await.unwrap());
    let list_410s = cluster.stats().list_410s;
    assert!(list_410s >= 1, "a continue token expired mid-list");

    let churn = Churn::start(cluster.clone(), "gone", Duration::from_millis(10));
    let mut coalesced_reported = 0;
    let mut gone = 0;
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(400)).await;
        cluster.compact();
        cluster.force_watch_410();
    }
    // And a restart whose resume point was compacted away meanwhile.
    coalesced_reported += exporter.metrics.coalesced();
    gone += exporter.metrics.gone();
    exporter.stop().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    cluster.compact();
    exporter.start(&cluster, config()).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    made.extend(keys(&churn.stop().await));
    let stored = settle(
        "the latest state of every event after the 410s",
        &made,
        false,
        Duration::from_secs(30),
        stored_by(&exporter),
    )
    .await;
    coalesced_reported += exporter.metrics.coalesced();
    gone += exporter.metrics.gone();
    let figures = Figures::count_coalescing("forced_410s", &stored, &made)
        .with("watch_410s", cluster.stats().watch_410s)
        .with("list_continue_410s", list_410s)
        .with("gone_reported", gone)
        .with("coalesced_reported", coalesced_reported);
    figures.print().assert_clean();
    // A 410 forced while the previous relist is still under way finds no watch to end.
    assert!(
        cluster.stats().watch_410s >= 1,
        "the forced 410s reached the watch"
    );
    assert!(gone >= 1, "the restart found its history compacted");
    assert!(
        figures.coalesced_events as u64 <= coalesced_reported,
        "every event with coalesced updates was reported as coalesced: {}",
        figures.line()
    );
    exporter.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_then_a_downtime_longer_than_the_history_window_delivers_every_latest_state_once() {
    init_tracing();
    // etcd keeps about five minutes of changes; this server keeps the last 300.
    let cluster = Arc::new(
        SimCluster::start(SimConfig::default().history_window(300))
            .await
            .unwrap(),
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = dir.path().join("kubeconfig");
    cluster.write_kubeconfig(&kubeconfig).expect("kubeconfig");
    let checkpoint = dir.path().join("checkpoint.json");
    let archive = dir.path().join("archive");
    let config = format!(
        "cluster: fault-api-{pid}\n\
         checkpoint:\n  store: file\n  path: {checkpoint}\n  interval_secs: 0.2\n\
         sinks:\n\
         \x20 - type: file\n    directory: {archive}\n\
         pipeline:\n  max_batch_wait_secs: 0.1\n  shutdown_timeout_secs: 5\n  sink_timeout_secs: 40\n\
         server:\n  listen: 127.0.0.1:0\n\
         log:\n  format: json\n  level: info\n",
        pid = std::process::id(),
        checkpoint = checkpoint.display(),
        archive = archive.display(),
    );
    // One event before the first run, and the churn only once a resume point is saved: the
    // restart then resumes from a saved resourceVersion, which the downtime compacts away.
    let early = tests::key(
        &cluster.create_event(NewEvent::new("payments", "Scheduled").regarding("Pod", "early")),
    );
    let mut exporter = ExporterProcess::start(&config, &kubeconfig, &[]).await;
    exporter.wait_for_readyz(200, Duration::from_secs(30)).await;
    tests::wait_until(
        "a first checkpoint with a resume point",
        Duration::from_secs(20),
        || std::fs::read_to_string(&checkpoint).is_ok_and(|c| has_resume_point(&c)),
    )
    .await;
    let churn = Churn::start(cluster.clone(), "down", Duration::from_millis(5));
    tokio::time::sleep(Duration::from_secs(1)).await;
    // The crash comes amid API faults: the watch is cut mid-line and the server answers 503
    // when the process is killed (`kill -9`: no final checkpoint, no drain).
    cluster.drop_connections();
    cluster.set_unavailable(true);
    tokio::time::sleep(Duration::from_millis(200)).await;
    exporter.kill().await;
    cluster.set_unavailable(false);
    // Then a downtime in which far more than 300 changes are made, and the API server restarts.
    let before = churn.made();
    cluster.stop().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    cluster.restart().await;
    tests::wait_until(
        "the churn to outrun the history window",
        Duration::from_secs(20),
        || churn.made() > before + 600,
    )
    .await;
    let while_down = churn.made() - before;
    // The fast churn stops before the restart: at its pace the 300 changes the server keeps
    // last well under a second, and the relist's own watch must start within them. A slower
    // one goes on across the restart.
    let mut made = vec![early];
    made.extend(keys(&churn.stop().await));
    let churn = Churn::start(cluster.clone(), "after", Duration::from_millis(40));
    let mut exporter = ExporterProcess::start(&config, &kubeconfig, &[]).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    made.extend(keys(&churn.stop().await));
    let stored = settle(
        "the latest state of every event after the crash and the long downtime",
        &made,
        false,
        Duration::from_secs(30),
        || std::future::ready(archive_keys(&archive).0),
    )
    .await;
    let metric = |series: &'static str| {
        let exporter = &exporter;
        async move { exporter.metric(series).await.unwrap_or(0.0) as u64 }
    };
    let gone = metric("event_keeper_watch_gone_total").await;
    let coalesced = metric("event_keeper_events_coalesced_total").await;
    let skips = metric("event_keeper_events_already_stored_total{sink=\"file\"}").await;
    exporter.stop_gracefully().await;
    let figures = Figures::count_coalescing("crash_then_downtime_beyond_history", &stored, &made)
        .with("kills", 1)
        .with("changes_while_down", while_down)
        .with("gone_reported", gone)
        .with("coalesced_reported", coalesced)
        .with("already_stored_skips", skips)
        .with("unreadable_lines", archive_keys(&archive).1);
    figures.print().assert_clean();
    assert_eq!(gone, 1, "the resume point had been compacted");
    assert!(
        figures.coalesced_updates > 0,
        "updates in the gap were coalesced"
    );
    assert!(
        figures.coalesced_events as u64 <= coalesced,
        "{}",
        figures.line()
    );
    assert_eq!(archive_keys(&archive).1, 0, "no torn line left");
}
