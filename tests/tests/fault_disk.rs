//! A full disk under the file sink and the checkpoint: writes fail and are retried, a
//! checkpoint save fails and is retried, nothing already written is corrupted, and once space
//! is freed every occurrence is in the archive exactly once. A crash while the disk is full
//! loses nothing either; it can repeat the batches that went out while the dispatch mark could
//! not be saved (the pipeline sends them anyway rather than stall every sink on a local disk),
//! and the figures say how many.
//!
//! The disk is a 2 MiB tmpfs, filled with a filler file; mounting it needs root (see
//! `tests::fault_fs`), and the test says it was skipped where it cannot.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use event_core::EventStreamConfig;
use event_core::checkpoint::{CheckpointStore, FileCheckpointStore};
use sink_file::{FileSink, FileSinkConfig};
use testkit::{SimCluster, SimConfig};
use tests::fault::{Churn, Figures, archive_keys, keys, settle};
use tests::fault_fs::Tmpfs;
use tests::{Exporter, init_tracing, wait_until};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_is_an_error_and_a_retry_never_corruption_nor_a_duplicate() {
    if let Some(figures) = full_disk("disk_full_file_sink", false).await {
        figures.assert_clean();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_while_the_disk_is_full_loses_nothing_and_the_exporter_recovers() {
    if let Some(figures) = full_disk("disk_full_crash", true).await {
        assert!(figures.lost.is_empty(), "{}", figures.line());
        assert_eq!(figures.unexpected, 0, "{}", figures.line());
    }
}

/// Runs the exporter into a disk that fills up, crashing it there when `crash`, then frees the
/// space; `None` when no tmpfs can be mounted.
async fn full_disk(name: &str, crash: bool) -> Option<Figures> {
    init_tracing();
    let Some(disk) = Tmpfs::mount("2m") else {
        println!("skipped: this process may not mount a tmpfs (run as root to test a full disk)");
        return None;
    };
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
    let mut retried = file.retried.load(Ordering::Relaxed);
    let mut checkpoint_errors = metrics.checkpoint_errors();
    // What was written before stays readable, and so does the last checkpoint saved.
    let (_, unreadable_while_full) = archive_keys(&archive);
    let saved = FileCheckpointStore::new(&exporter.checkpoint)
        .load()
        .await
        .expect("the checkpoint is intact")
        .expect("a checkpoint was saved before the disk filled");

    // A crash while the disk is full, and a restart onto the still full disk.
    let (restarted_stats, file) = if crash {
        exporter.kill();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (restarted_stats, sink) = file_sink();
        exporter
            .start_with(&cluster, EventStreamConfig::default(), |p| p.sink(sink))
            .await;
        let file = exporter.metrics.sink("file");
        wait_until(
            "the restarted run to meet the full disk",
            Duration::from_secs(20),
            || file.retried.load(Ordering::Relaxed) > 0,
        )
        .await;
        (Some(restarted_stats), file)
    } else {
        retried = 0;
        checkpoint_errors = 0;
        (None, file)
    };

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
    retried += file.retried.load(Ordering::Relaxed);
    checkpoint_errors += exporter.metrics.checkpoint_errors();
    exporter.stop().await;
    let (_, unreadable) = archive_keys(&archive);
    let after = FileCheckpointStore::new(&exporter.checkpoint)
        .load()
        .await
        .expect("the checkpoint is intact")
        .expect("saved at shutdown");

    let figures = Figures::count(name, &stored, &made)
        .with("crashed_while_full", u64::from(crash))
        .with("retried_batches", retried)
        .with("checkpoint_save_errors", checkpoint_errors)
        .with(
            "writes_rolled_back",
            stats.writes_rolled_back()
                + restarted_stats
                    .as_ref()
                    .map_or(0, |s| s.writes_rolled_back()),
        )
        .with(
            "torn_lines_cut",
            restarted_stats.as_ref().map_or(0, |s| s.torn_lines_cut()),
        )
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
