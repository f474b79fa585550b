//! A checkpoint whose resume point is ahead of the cluster (edited by hand, or older than an
//! etcd restore): the unmodified kube-rs client against the simulated API server, which answers
//! a watch from the future with silence as a real one does. The source must notice, warn,
//! count it, relist, and export every occurrence exactly once.

use event_core::{EventStreamConfig, OccurrenceKey};
use testkit::{EventRef, NewEvent, SimCluster, SimConfig};
use tests::{Exporter, assert_exactly_once, init_tracing, key};

/// How far ahead a hand-edited resume point is put.
const AHEAD: u64 = 1_000_000;

fn create(
    cluster: &SimCluster,
    tag: &str,
    n: usize,
    made: &mut Vec<OccurrenceKey>,
) -> Vec<EventRef> {
    (0..n)
        .map(|i| {
            let ev = cluster.create_event(
                NewEvent::new("payments", "BackOff").regarding("Pod", format!("{tag}-{i}")),
            );
            made.push(key(&ev));
            ev
        })
        .collect()
}

/// Rewrites every resume point of the checkpoint file to `f(point)`.
fn edit_resume_points(exporter: &Exporter, f: impl Fn(u64) -> u64) {
    let text = std::fs::read_to_string(&exporter.checkpoint).expect("a checkpoint was saved");
    let mut checkpoint: serde_json::Value = serde_json::from_str(&text).unwrap();
    let resume = checkpoint["resume"].as_object_mut().expect("resume points");
    assert!(!resume.is_empty(), "the first run saved a resume point");
    for point in resume.values_mut() {
        *point = (f(point.as_u64().unwrap())).into();
    }
    std::fs::write(&exporter.checkpoint, checkpoint.to_string()).unwrap();
}

#[tokio::test]
async fn a_resume_point_edited_ahead_is_detected_and_everything_is_exported_once() {
    init_tracing();
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    let mut exporter = Exporter::new();
    exporter.start(&cluster, EventStreamConfig::default()).await;
    let mut made = Vec::new();
    let before = create(&cluster, "before", 5, &mut made);
    exporter.wait_for(&made).await;
    exporter.stop().await;

    edit_resume_points(&exporter, |rv| rv + AHEAD);
    // Made while it was down, all below the edited point: lost without the check.
    create(&cluster, "during", 4, &mut made);
    made.push(key(&cluster.bump_event(&before[0]).expect("exists")));

    exporter.start(&cluster, EventStreamConfig::default()).await;
    create(&cluster, "after", 3, &mut made);
    exporter.wait_for(&made).await;
    assert_exactly_once(&exporter.sink.keys(), &made);
    assert_eq!(exporter.metrics.checkpoint_ahead(), 1);
    assert_eq!(
        exporter.metrics.relists(),
        1,
        "relisted instead of resuming"
    );
    assert!(
        exporter
            .metrics
            .render_prometheus()
            .contains("event_keeper_checkpoint_ahead_total 1"),
    );
    exporter.stop().await;

    // The checkpoint is sane again: the next start resumes without a relist.
    create(&cluster, "next", 2, &mut made);
    exporter.start(&cluster, EventStreamConfig::default()).await;
    exporter.wait_for(&made).await;
    assert_exactly_once(&exporter.sink.keys(), &made);
    assert_eq!(exporter.metrics.checkpoint_ahead(), 0);
    assert_eq!(
        exporter.metrics.relists(),
        0,
        "resumed from the relisted point"
    );
    exporter.stop().await;
}

#[tokio::test]
async fn a_resume_point_the_cluster_has_reached_resumes_as_before() {
    init_tracing();
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    let mut exporter = Exporter::new();
    exporter.start(&cluster, EventStreamConfig::default()).await;
    let mut made = Vec::new();
    create(&cluster, "before", 3, &mut made);
    exporter.wait_for(&made).await;
    exporter.stop().await;
    create(&cluster, "during", 3, &mut made);
    let lists_before = cluster.stats().lists;

    exporter.start(&cluster, EventStreamConfig::default()).await;
    exporter.wait_for(&made).await;
    assert_exactly_once(&exporter.sink.keys(), &made);
    assert_eq!(exporter.metrics.checkpoint_ahead(), 0);
    assert_eq!(exporter.metrics.relists(), 0);
    assert_eq!(
        cluster.stats().lists - lists_before,
        1,
        "one quorum list of one item, nothing more"
    );
    exporter.stop().await;
}

#[tokio::test]
async fn after_an_etcd_restore_new_and_lower_versions_are_exported_once() {
    init_tracing();
    let first = SimCluster::start(SimConfig::default()).await.unwrap();
    let mut exporter = Exporter::new();
    exporter.start(&first, EventStreamConfig::default()).await;
    let mut made = Vec::new();
    let kept = create(&first, "kept", 4, &mut made);
    exporter.wait_for(&made).await;
    // The backup: every event as etcd held it then, uids and resourceVersions included.
    let backup: Vec<serde_json::Value> = kept.iter().map(|ev| first.event(ev).unwrap()).collect();
    // After the backup: more events, and `kept[0]` bumped well above its backed-up version.
    create(&first, "lost", 3, &mut made);
    let mut bumped = kept[0].clone();
    for _ in 0..3 {
        bumped = first.bump_event(&bumped).expect("exists");
        made.push(key(&bumped));
    }
    exporter.wait_for(&made).await;
    exporter.stop().await;
    let exported_to = first.resource_version();

    // etcd restored from the backup: its revision counter is back at the backup's.
    let restored = SimCluster::start(SimConfig::default()).await.unwrap();
    restored.restore_events(backup).unwrap();
    assert!(restored.resource_version() < exported_to);
    // `kept[0]` occurs again, at a version below the one exported from the lost history.
    let again = restored.bump_event(&kept[0]).expect("restored");
    assert!(
        again.resource_version.parse::<u64>().unwrap()
            < bumped.resource_version.parse::<u64>().unwrap()
    );
    made.push(key(&again));
    create(&restored, "restored", 3, &mut made);

    exporter
        .start(&restored, EventStreamConfig::default())
        .await;
    create(&restored, "after", 2, &mut made);
    exporter.wait_for(&made).await;
    assert_exactly_once(&exporter.sink.keys(), &made);
    assert_eq!(exporter.metrics.checkpoint_ahead(), 1);
    exporter.stop().await;
}
