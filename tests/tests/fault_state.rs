//! Unwritable state with the real `eks_to_cloudwatch` binary: an archive directory or a
//! checkpoint that can never be written (a path through a file, a read-only volume) stops the
//! start with one line naming the path and what to do; a sink that keeps failing, or
//! checkpoint saves that keep failing, make `/readyz` answer 503 naming it once the bound
//! (`server.stall_after_secs`) has passed; a final checkpoint save that failed is a non-zero
//! exit, not `checkpoint_saved: false` and exit 0.
//!
//! Read-only volumes are tmpfs mounts remounted read-only (chmod does not stop root). Mounting
//! needs root or `CAP_SYS_ADMIN`; where it is not allowed these tests say they were skipped,
//! except with `CI=true`, where they fail.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use testkit::{NewEvent, SimCluster, SimConfig};
use tests::binary::ExporterProcess;
use tests::fault::{Churn, Figures, keys, settle};
use tests::fault_fs::Tmpfs;

/// How long the exporter may take to stop on its own after a fatal start-up error.
const EXIT_BOUND: Duration = Duration::from_secs(30);

/// The readiness bound of these tests: small, so that a test waits seconds, not a minute.
const STALL_AFTER_SECS: f64 = 1.0;

/// A config exporting to a file sink at `archive`, with the checkpoint at `checkpoint`.
fn config(archive: &Path, checkpoint: &Path) -> String {
    format!(
        "cluster: fault-state\n\
         checkpoint:\n  store: file\n  path: {checkpoint}\n  interval_secs: 0.2\n\
         sinks:\n\
         \x20 - type: file\n    directory: {archive}\n\
         pipeline:\n  max_batch_wait_secs: 0.1\n  shutdown_timeout_secs: 5\n\
         server:\n  listen: 127.0.0.1:0\n  stall_after_secs: {STALL_AFTER_SECS}\n\
         log:\n  format: json\n  level: info\n",
        checkpoint = checkpoint.display(),
        archive = archive.display(),
    )
}

/// A tmpfs to turn read-only or fill; `None` (the test says it was skipped) where this
/// process may not mount, which fails the test under `CI=true`.
fn tmpfs(size: &str) -> Option<Tmpfs> {
    let mounted = Tmpfs::mount(size);
    if mounted.is_none() {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "CI=true but this process may not mount a tmpfs: run the fault suite as root (or with CAP_SYS_ADMIN)"
        );
        println!(
            "skipped: this process may not mount a tmpfs (run as root to test read-only volumes)"
        );
    }
    mounted
}

/// Remounts `disk` read-only, as a volume whose file system turned read-only.
fn remount_read_only(disk: &Tmpfs) {
    let status = Command::new("mount")
        .args(["-o", "remount,ro"])
        .arg(disk.path())
        .status()
        .expect("mount runs");
    assert!(status.success(), "remount read-only failed: {status}");
}

/// The lines of `logs` logged at level ERROR.
fn error_lines(logs: &str) -> Vec<&str> {
    logs.lines()
        .filter(|line| line.contains("\"level\":\"ERROR\""))
        .collect()
}

/// Starts the exporter on `config` and asserts that it exits non-zero by itself, with one
/// error line naming `path` and saying what to do (`fix`).
async fn assert_start_refused(config: &str, kubeconfig: &Path, path: &Path, fix: &str) {
    let mut exporter = ExporterProcess::start(config, kubeconfig, &[]).await;
    let status = exporter.wait(EXIT_BOUND).await;
    let logs = exporter.logs();
    assert!(!status.success(), "exit {status:?}; log:\n{logs}");
    let errors = error_lines(&logs);
    assert_eq!(errors.len(), 1, "one error line:\n{logs}");
    assert!(
        errors[0].contains(&path.display().to_string()),
        "the line names {}:\n{}",
        path.display(),
        errors[0]
    );
    assert!(
        errors[0].contains(fix),
        "the line says `{fix}`:\n{}",
        errors[0]
    );
}

async fn cluster(dir: &Path) -> (SimCluster, std::path::PathBuf) {
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    let kubeconfig = dir.join("kubeconfig");
    cluster.write_kubeconfig(&kubeconfig).expect("kubeconfig");
    (cluster, kubeconfig)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_archive_directory_that_is_a_file_stops_the_start_with_one_line() {
    tests::init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let (_cluster, kubeconfig) = cluster(dir.path()).await;
    let archive = dir.path().join("archive");
    std::fs::write(&archive, b"not a directory").unwrap();
    let config = config(&archive, &dir.path().join("checkpoint.json"));
    assert_start_refused(&config, &kubeconfig, &archive, "mount a writable volume").await;
    assert!(
        !dir.path().join("checkpoint.json").exists(),
        "nothing was exported"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpoint_below_a_file_stops_the_start_with_one_line() {
    tests::init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let (_cluster, kubeconfig) = cluster(dir.path()).await;
    let state = dir.path().join("state");
    std::fs::write(&state, b"not a directory").unwrap();
    let checkpoint = state.join("checkpoint.json");
    let config = config(&dir.path().join("archive"), &checkpoint);
    assert_start_refused(&config, &kubeconfig, &checkpoint, "mount a writable volume").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_checkpoint_volume_stops_the_start_with_one_line() {
    tests::init_tracing();
    let Some(disk) = tmpfs("1m") else { return };
    let dir = tempfile::tempdir().unwrap();
    let (_cluster, kubeconfig) = cluster(dir.path()).await;
    remount_read_only(&disk);
    let checkpoint = disk.path().join("checkpoint.json");
    let config = config(&dir.path().join("archive"), &checkpoint);
    assert_start_refused(&config, &kubeconfig, &checkpoint, "Read-only file system").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_archive_volume_stops_the_start_with_one_line() {
    tests::init_tracing();
    let Some(disk) = tmpfs("1m") else { return };
    let dir = tempfile::tempdir().unwrap();
    let (_cluster, kubeconfig) = cluster(dir.path()).await;
    std::fs::create_dir(disk.path().join("archive")).unwrap();
    remount_read_only(&disk);
    let archive = disk.path().join("archive");
    let config = config(&archive, &dir.path().join("checkpoint.json"));
    assert_start_refused(&config, &kubeconfig, &archive, "Read-only file system").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sink_failing_for_longer_than_the_bound_makes_readyz_503_naming_it() {
    tests::init_tracing();
    let Some(disk) = tmpfs("2m") else { return };
    let dir = tempfile::tempdir().unwrap();
    let (cluster, kubeconfig) = cluster(dir.path()).await;
    let cluster = Arc::new(cluster);
    let archive = disk.path().join("archive");
    let config = config(&archive, &dir.path().join("checkpoint.json"));
    let mut exporter = ExporterProcess::start(&config, &kubeconfig, &[]).await;
    exporter.wait_for_readyz(200, Duration::from_secs(30)).await;
    let churn = Churn::start(cluster.clone(), "full", Duration::from_millis(50));
    tests::wait_until("a first batch archived", Duration::from_secs(20), || {
        !tests::fault::archive_keys(&archive).0.is_empty()
    })
    .await;

    // The disk fills: a full disk is retryable, so the sink retries and the process lives on,
    // but it must not look ready once the sink has been failing for longer than the bound.
    let filler = disk.fill();
    let body = exporter.wait_for_readyz(503, Duration::from_secs(30)).await;
    assert!(
        body.contains("sink file: not ready: failing since "),
        "/readyz names the sink and since when:\n{body}"
    );
    assert!(body.contains("No space left"), "{body}");
    assert!(
        body.contains("events@*: ready"),
        "the watch is fine:\n{body}"
    );
    let made = keys(&churn.stop().await);

    // Space again: the retried batches go through and the process is ready again.
    std::fs::remove_file(filler).unwrap();
    let body = exporter.wait_for_readyz(200, Duration::from_secs(30)).await;
    assert!(!body.contains("sink file"), "{body}");
    let stored = settle(
        "the archive to hold every occurrence",
        &made,
        true,
        Duration::from_secs(30),
        || std::future::ready(tests::fault::archive_keys(&archive).0),
    )
    .await;
    Figures::count("sink_stalled_readyz", &stored, &made)
        .print()
        .assert_clean();
    exporter.terminate();
    let status = exporter.wait(EXIT_BOUND).await;
    assert!(status.success(), "exit {status:?}:\n{}", exporter.logs());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpoint_turned_read_only_makes_readyz_503_and_the_exit_non_zero() {
    tests::init_tracing();
    let Some(disk) = tmpfs("1m") else { return };
    let dir = tempfile::tempdir().unwrap();
    let (cluster, kubeconfig) = cluster(dir.path()).await;
    let checkpoint = disk.path().join("checkpoint.json");
    let config = config(&dir.path().join("archive"), &checkpoint);
    let mut exporter = ExporterProcess::start(&config, &kubeconfig, &[]).await;
    exporter.wait_for_readyz(200, Duration::from_secs(30)).await;
    tests::wait_until("a first checkpoint", Duration::from_secs(20), || {
        checkpoint.exists()
    })
    .await;

    remount_read_only(&disk);
    cluster.create_event(NewEvent::new("payments", "Scheduled").regarding("Pod", "after"));
    let body = exporter.wait_for_readyz(503, Duration::from_secs(30)).await;
    assert!(
        body.contains("checkpoint: not ready: failing since "),
        "/readyz names the checkpoint and since when:\n{body}"
    );
    assert!(body.contains("Read-only file system"), "{body}");

    exporter.terminate();
    let status = exporter.wait(EXIT_BOUND).await;
    let logs = exporter.logs();
    assert!(!status.success(), "exit {status:?}; log:\n{logs}");
    let stopped: Vec<&str> = error_lines(&logs)
        .into_iter()
        .filter(|line| line.contains("stopped with an error"))
        .collect();
    assert_eq!(stopped.len(), 1, "one closing line:\n{logs}");
    assert!(
        stopped[0].contains("the final checkpoint save failed"),
        "{}",
        stopped[0]
    );
    assert!(
        stopped[0].contains(&checkpoint.display().to_string()),
        "{}",
        stopped[0]
    );
}
