//! A full disk under the file sink and the checkpoint: writes fail and are retried, a
//! checkpoint save fails and is retried, nothing already written is corrupted, and once space
//! is freed every occurrence is in the archive exactly once. A crash while the disk is full
//! (`kill -9` of the real `eks_to_cloudwatch` binary, twice: once into the full disk, once more
//! after a restart onto it) loses nothing either; it can repeat the batches that went out while
//! the dispatch mark could not be saved (the pipeline sends them anyway rather than stall every
//! sink on a local disk), and the figures say how many.
//!
//! The disk is a 2 MiB tmpfs, filled with a filler file; mounting it needs root (see
//! `tests::fault_fs`): with `CI=true` the tests fail where they cannot mount it, elsewhere they
//! say they were skipped.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use event_core::EventStreamConfig;
use event_core::checkpoint::{CheckpointStore, FileCheckpointStore};
use sink_file::{FileSink, FileSinkConfig};
use testkit::{SimCluster, SimConfig};
use tests::binary::ExporterProcess;
use tests::fault::{Churn, Figures, archive_keys, has_resume_point, keys, settle};
use tests::fault_fs::Tmpfs;
use tests::{Exporter, init_tracing, wait_until};

/// `kill -9`s while the disk is full: one into it, one more after a restart onto it.
const KILLS_WHILE_FULL: usize = 2;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_is_an_error_and_a_retry_never_corruption_nor_a_duplicate() {
    if let Some(figures) = full_disk(
        "a_full_disk_is_an_error_and_a_retry_never_corruption_nor_a_duplicate",
        "disk_full_file_sink",
    )
    .await
    {
        figures.assert_clean();
    }
}

/// Runs the exporter into a disk that fills up, then frees the space; `None` when no tmpfs can
/// be mounted outside CI.
async fn full_disk(test: &str, name: &str) -> Option<Figures> {
    init_tracing();
    let disk = Tmpfs::mount_or_skip(test, "2m")?;
    let archive = disk.path().join("archive");
    let cluster = Arc::new(SimCluster::start(SimConfig::default()).await.unwrap());
    let mut exporter = Exporter::new();
    exporter.checkpoint = disk.path().join("checkpoint.json");
    let file_sink = || {
        let sink = FileSink::new(FileSinkConfig::new(&archive)).expect("valid file sink");
        (sink.stats(), sink)
    };
    let (stats, sink) = file_sink();
    exporter
        .start_with(&cluster, EventStreamConfig::default(), |p| p.sink(sink))
        .await;
    let churn = Churn::start(cluster.clone(), "disk", Duration::from_millis(20));
    tokio::time::sleep(Duration::from_millis(800)).await;
    wait_until("a first batch on disk", Duration::from_secs(10), || {
        stats.events_written() > 0
    })
    .await;

    // The disk fills up: the sink's writes and the checkpoint's saves fail from now on.
    let filler = disk.fill();
    let file = exporter.metrics.sink("file");
    let metrics = exporter.metrics.clone();
    wait_until(
        "failed writes and checkpoint saves",
        Duration::from_secs(20),
        || file.retried.load(Ordering::Relaxed) > 0 && metrics.checkpoint_errors() > 0,
    )
    .await;
    // What was written before stays readable, and so does the last checkpoint saved.
    let (_, unreadable_while_full) = archive_keys(&archive);
    let saved = FileCheckpointStore::new(&exporter.checkpoint)
        .load()
        .await
        .expect("the checkpoint is intact")
        .expect("a checkpoint was saved before the disk filled");

    // Space comes back: the retries go through.
    std::fs::remove_file(&filler).expect("filler removed");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let made = keys(&churn.stop().await);
    let stored = settle(
        "the archive to hold every occurrence once space is back",
        &made,
        true,
        Duration::from_secs(30),
        || std::future::ready(archive_keys(&archive).0),
    )
    .await;
    let retried = file.retried.load(Ordering::Relaxed);
    let checkpoint_errors = exporter.metrics.checkpoint_errors();
    exporter.stop().await;
    let (_, unreadable) = archive_keys(&archive);
    let after = FileCheckpointStore::new(&exporter.checkpoint)
        .load()
        .await
        .expect("the checkpoint is intact")
        .expect("saved at shutdown");

    let figures = Figures::count(name, &stored, &made)
        .with("retried_batches", retried)
        .with("checkpoint_save_errors", checkpoint_errors)
        .with("writes_rolled_back", stats.writes_rolled_back())
        .with("unreadable_lines", unreadable);
    figures.print();
    assert_eq!(unreadable_while_full, 0, "a failed write left no half line");
    assert_eq!(unreadable, 0, "no half line after recovery");
    assert!(after.saved_at > saved.saved_at, "the checkpoint moved on");
    assert!(
        !disk.path().join("checkpoint.json.tmp").exists(),
        "no temp file left"
    );
    Some(figures)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_while_the_disk_is_full_loses_nothing_and_the_exporter_recovers() {
    init_tracing();
    let Some(disk) = Tmpfs::mount_or_skip(
        "a_crash_while_the_disk_is_full_loses_nothing_and_the_exporter_recovers",
        "2m",
    ) else {
        return;
    };
    let archive = disk.path().join("archive");
    let checkpoint = disk.path().join("checkpoint.json");
    let cluster = Arc::new(SimCluster::start(SimConfig::default()).await.unwrap());
    // The kubeconfig stays off the small disk.
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = dir.path().join("kubeconfig");
    cluster.write_kubeconfig(&kubeconfig).expect("kubeconfig");
    let config = format!(
        "cluster: fault-disk-{pid}\n\
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
    // One event before the first run, and the churn only once a resume point is saved: every
    // crash below then resumes the watch within the history window (see fault_kill.rs).
    let early =
        tests::key(&cluster.create_event(
            testkit::NewEvent::new("payments", "Scheduled").regarding("Pod", "early"),
        ));
    let mut exporter = ExporterProcess::start(&config, &kubeconfig, &[]).await;
    exporter.wait_for_readyz(200, Duration::from_secs(30)).await;
    wait_until(
        "a first checkpoint with a resume point",
        Duration::from_secs(20),
        || std::fs::read_to_string(&checkpoint).is_ok_and(|c| has_resume_point(&c)),
    )
    .await;
    let churn = Churn::start(cluster.clone(), "disk-crash", Duration::from_millis(20));
    wait_until("a first batch on disk", Duration::from_secs(10), || {
        archive_keys(&archive).0.len() > 5
    })
    .await;

    // The disk fills up; once writes and checkpoint saves fail, the process dies as a node
    // does, and a new one starts onto the still full disk, and dies there too.
    let filler = disk.fill();
    let (mut retries, mut save_errors) = (0.0, 0.0);
    let started = tokio::time::Instant::now();
    for kill in 0..KILLS_WHILE_FULL {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let failing = retried(&exporter).await > 0.0
                && (kill > 0 || checkpoint_errors(&exporter).await > 0.0);
            if failing {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "run {kill} never met the full disk:\n{}",
                exporter.logs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        retries += retried(&exporter).await;
        save_errors += checkpoint_errors(&exporter).await;
        if kill == 0 {
            // What was written before stays readable, and so does the last checkpoint saved.
            let (_, unreadable) = archive_keys(&archive);
            assert_eq!(unreadable, 0, "a failed write left no half line");
        }
        exporter.kill().await;
        exporter = ExporterProcess::start(&config, &kubeconfig, &[]).await;
    }
    let saved = FileCheckpointStore::new(&checkpoint)
        .load()
        .await
        .expect("the checkpoint is intact after the kills")
        .expect("a checkpoint was saved before the disk filled");

    // Space comes back: the last run's retries go through.
    std::fs::remove_file(&filler).expect("filler removed");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut made = vec![early];
    made.extend(keys(&churn.stop().await));
    let stored = settle(
        "the archive to hold every occurrence once space is back",
        &made,
        true,
        Duration::from_secs(60),
        || std::future::ready(archive_keys(&archive).0),
    )
    .await;
    retries += retried(&exporter).await;
    save_errors += checkpoint_errors(&exporter).await;
    let skips = exporter
        .metric("event_keeper_events_already_stored_total{sink=\"file\"}")
        .await
        .unwrap_or(0.0);
    exporter.stop_gracefully().await;
    let (_, unreadable) = archive_keys(&archive);
    let after = FileCheckpointStore::new(&checkpoint)
        .load()
        .await
        .expect("the checkpoint is intact")
        .expect("saved at shutdown");

    let figures = Figures::count("disk_full_crash", &stored, &made)
        .with("kills_while_full", KILLS_WHILE_FULL)
        .with("retried_batches", retries as u64)
        .with("checkpoint_save_errors", save_errors as u64)
        .with("already_stored_skips", skips as u64)
        .with("unreadable_lines", unreadable)
        .with("seconds", started.elapsed().as_secs());
    figures.print();
    assert!(figures.lost.is_empty(), "{}", figures.line());
    assert_eq!(figures.unexpected, 0, "{}", figures.line());
    assert_eq!(unreadable, 0, "every torn line was cut back at a restart");
    assert!(after.saved_at > saved.saved_at, "the checkpoint moved on");
    assert!(
        !disk.path().join("checkpoint.json.tmp").exists(),
        "no temp file left"
    );
}

async fn retried(p: &ExporterProcess) -> f64 {
    p.metric("event_keeper_batches_retried_total{sink=\"file\"}")
        .await
        .unwrap_or(0.0)
}

async fn checkpoint_errors(p: &ExporterProcess) -> f64 {
    p.metric("event_keeper_checkpoint_errors_total")
        .await
        .unwrap_or(0.0)
}
