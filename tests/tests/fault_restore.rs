//! The real `eks_to_cloudwatch` binary restarted on a checkpoint whose resume point is ahead of
//! the cluster: edited by hand, and the shape an etcd restore leaves (a cluster whose
//! resourceVersion counter is back below the checkpoint's, the same uids coming back at lower
//! versions). A real API server answers a watch from such a point with silence, which the
//! simulated one mirrors; the exporter must warn, count it, stay ready, and put every occurrence
//! in its file archive exactly once.

use std::path::PathBuf;
use std::time::Duration;

use event_core::OccurrenceKey;
use testkit::{EventRef, NewEvent, SimCluster, SimConfig};
use tests::binary::ExporterProcess;
use tests::fault::{Figures, archive_keys, settle};
use tests::key;

/// Part of the warning's message.
const WARNING: &str = "ahead of the cluster's current resourceVersion";

struct Setup {
    /// Holds the kubeconfig, the checkpoint and the archive; removed at the end.
    _dir: tempfile::TempDir,
    kubeconfig: PathBuf,
    archive: PathBuf,
    checkpoint: PathBuf,
    config: String,
}

impl Setup {
    fn new(cluster: &SimCluster, name: &str) -> Setup {
        let dir = tempfile::tempdir().expect("temp dir");
        let kubeconfig = dir.path().join("kubeconfig");
        cluster.write_kubeconfig(&kubeconfig).expect("kubeconfig");
        let archive = dir.path().join("archive");
        let checkpoint = dir.path().join("checkpoint.json");
        let config = format!(
            "cluster: {name}\n\
             checkpoint:\n  store: file\n  path: {}\n  interval_secs: 0.2\n\
             sinks:\n  - type: file\n    directory: {}\n\
             pipeline:\n  max_batch_wait_secs: 0.1\n  shutdown_timeout_secs: 5\n\
             server:\n  listen: 127.0.0.1:0\n\
             log:\n  format: json\n  level: info\n",
            checkpoint.display(),
            archive.display(),
        );
        Setup {
            _dir: dir,
            kubeconfig,
            archive,
            checkpoint,
            config,
        }
    }

    async fn start(&self) -> ExporterProcess {
        let exporter = ExporterProcess::start(&self.config, &self.kubeconfig, &[]).await;
        exporter.wait_for_readyz(200, Duration::from_secs(30)).await;
        exporter
    }

    /// Waits until the archive holds every one of `made`, and returns what it holds.
    async fn archived(&self, made: &[OccurrenceKey]) -> Vec<OccurrenceKey> {
        let archive = self.archive.clone();
        settle(
            "the archive to hold every occurrence",
            made,
            true,
            Duration::from_secs(20),
            || std::future::ready(archive_keys(&archive).0),
        )
        .await
    }

    /// The saved resume points, once a checkpoint holds one above `at_least`.
    async fn resume_points(&self, at_least: u64) -> serde_json::Value {
        let path = self.checkpoint.clone();
        let read = move || {
            std::fs::read_to_string(&path)
                .ok()
                .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        };
        tests::wait_until(
            "a checkpoint with the resume point",
            Duration::from_secs(20),
            || {
                read().is_some_and(|c| {
                    c["resume"]["events@*"]
                        .as_u64()
                        .is_some_and(|rv| rv >= at_least)
                })
            },
        )
        .await;
        read().expect("read above")["resume"].clone()
    }
}

async fn stop(mut exporter: ExporterProcess) -> String {
    exporter.stop_gracefully().await
}

fn create(
    cluster: &SimCluster,
    tag: &str,
    n: usize,
    made: &mut Vec<OccurrenceKey>,
) -> Vec<EventRef> {
    (0..n)
        .map(|i| {
            let ev = cluster.create_event(
                NewEvent::new("payments", "FailedScheduling")
                    .regarding("Pod", format!("{tag}-{i}")),
            );
            made.push(key(&ev));
            ev
        })
        .collect()
}

/// Checks the restarted run: warned once per scope, counted, ready, and the archive exact.
async fn assert_recovered(
    setup: &Setup,
    exporter: ExporterProcess,
    made: &[OccurrenceKey],
    figures: &str,
) {
    let stored = setup.archived(made).await;
    let (_, body) = exporter.get("/readyz").await;
    assert!(body.starts_with("ready"), "{body}");
    assert_eq!(
        exporter.metric("event_keeper_checkpoint_ahead_total").await,
        Some(1.0)
    );
    let logs = stop(exporter).await;
    let warnings: Vec<&str> = logs.lines().filter(|l| l.contains(WARNING)).collect();
    assert_eq!(warnings.len(), 1, "one warning for the one scope:\n{logs}");
    let warning: serde_json::Value = serde_json::from_str(warnings[0]).expect("a JSON log line");
    assert_eq!(warning["level"], "WARN", "{warning}");
    let version = |field: &str| {
        warning[field]
            .as_u64()
            .unwrap_or_else(|| panic!("{field} is in the warning: {warning}"))
    };
    assert!(version("checkpoint_resource_version") > version("cluster_resource_version"));
    let result = Figures::count(figures, &stored, made);
    result.print();
    result.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpoint_edited_ahead_is_relisted_and_every_occurrence_arrives_once() {
    tests::init_tracing();
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    let setup = Setup::new(&cluster, "fault-restore-edit");
    let mut made = Vec::new();
    let early = create(&cluster, "early", 4, &mut made);
    let exporter = setup.start().await;
    create(&cluster, "first", 3, &mut made);
    setup.archived(&made).await;
    setup.resume_points(cluster.resource_version()).await;
    stop(exporter).await;

    // A hand edit: the resume point a million versions ahead.
    let text = std::fs::read_to_string(&setup.checkpoint).unwrap();
    let mut checkpoint: serde_json::Value = serde_json::from_str(&text).unwrap();
    let saved = checkpoint["resume"]["events@*"].as_u64().unwrap();
    checkpoint["resume"]["events@*"] = (saved + 1_000_000).into();
    std::fs::write(&setup.checkpoint, checkpoint.to_string()).unwrap();
    // While it was down, below the edited point: lost without the check.
    create(&cluster, "down", 3, &mut made);
    made.push(key(&cluster.bump_event(&early[0]).expect("exists")));

    let exporter = setup.start().await;
    create(&cluster, "after", 3, &mut made);
    assert_recovered(&setup, exporter, &made, "checkpoint_edited_ahead").await;

    // The next start trusts the checkpoint again.
    create(&cluster, "next", 2, &mut made);
    let exporter = setup.start().await;
    let stored = setup.archived(&made).await;
    assert_eq!(
        exporter.metric("event_keeper_checkpoint_ahead_total").await,
        Some(0.0)
    );
    assert_eq!(
        exporter.metric("event_keeper_watch_relists_total").await,
        Some(0.0)
    );
    stop(exporter).await;
    Figures::count("checkpoint_edited_ahead_next_start", &stored, &made).assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_an_etcd_restore_every_occurrence_arrives_once() {
    tests::init_tracing();
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    let setup = Setup::new(&cluster, "fault-restore-etcd");
    let mut made = Vec::new();
    let kept = create(&cluster, "kept", 4, &mut made);
    let exporter = setup.start().await;
    setup.archived(&made).await;
    // The backup: every event as etcd held it, uid and resourceVersion included.
    let backup: Vec<serde_json::Value> = kept.iter().map(|e| cluster.event(e).unwrap()).collect();
    // After the backup: history the restore will undo, all exported.
    create(&cluster, "undone", 3, &mut made);
    let mut bumped = kept[0].clone();
    for _ in 0..3 {
        bumped = cluster.bump_event(&bumped).expect("exists");
        made.push(key(&bumped));
    }
    setup.archived(&made).await;
    setup.resume_points(cluster.resource_version()).await;
    stop(exporter).await;

    // etcd restored from the backup, behind the same address for the exporter.
    let restored = SimCluster::start(SimConfig::default()).await.unwrap();
    restored.restore_events(backup).unwrap();
    restored.write_kubeconfig(&setup.kubeconfig).unwrap();
    assert!(restored.resource_version() < cluster.resource_version());
    // The same uid occurs again, below the version exported from the undone history.
    let again = restored.bump_event(&kept[0]).expect("restored");
    assert!(version(&again) < version(&bumped));
    made.push(key(&again));
    create(&restored, "restored", 3, &mut made);

    let exporter = setup.start().await;
    create(&restored, "after", 2, &mut made);
    assert_recovered(&setup, exporter, &made, "etcd_restore").await;
}

fn version(ev: &EventRef) -> u64 {
    ev.resource_version.parse().unwrap()
}
