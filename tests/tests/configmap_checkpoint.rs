//! The checkpoint in a ConfigMap, against the simulated API server: round trips, fencing of a
//! deposed writer, refusals, and pipelines that stop, crash and change leader without losing
//! or repeating an occurrence.

use std::time::Duration;

use event_core::checkpoint::{
    Checkpoint, CheckpointError, CheckpointStore, ConfigMapCheckpointStore, SeenEvent,
};
use event_core::metrics::Metrics;
use event_core::testing::MemorySink;
use event_core::{
    EventStreamConfig, Keeper, OccurrenceKey, PipelineConfig, PipelineError, PipelineReport,
};
use event_leader::{LeaderElectionConfig, LeaderElector, Leadership};
use testkit::{NewEvent, SimCluster, SimConfig};
use tests::{assert_exactly_once, init_tracing, key, wait_until, within};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

const NAMESPACE: &str = "event-keeper";
const NAME: &str = "event-keeper-checkpoint";
const KEY: &str = ConfigMapCheckpointStore::DATA_KEY;

fn store(cluster: &SimCluster) -> ConfigMapCheckpointStore {
    ConfigMapCheckpointStore::new(cluster.client(), NAMESPACE, NAME)
}

fn sample(resume: u64) -> Checkpoint {
    let mut cp = Checkpoint::empty();
    // Fixed, so that two samples of the same resume point compare equal.
    cp.saved_at = "2026-11-24T10:00:00Z".parse().unwrap();
    cp.resume.insert("events@*".into(), resume);
    cp.events.insert(
        "7d3c6a2e".into(),
        SeenEvent {
            resource_version: resume - 1,
            last_seen: 1_700_000_000,
        },
    );
    cp
}

/// A string field of the ConfigMap as stored: `metadata.<field>`, `data.<key>`, ...
fn configmap_str(cluster: &SimCluster, section: &str, field: &str) -> Option<String> {
    let cm = cluster.object("v1", "ConfigMap", Some(NAMESPACE), NAME)?;
    cm[section][field].as_str().map(str::to_owned)
}

fn resource_version(cluster: &SimCluster) -> Option<String> {
    configmap_str(cluster, "metadata", "resourceVersion")
}

fn assert_conflict(result: Result<(), CheckpointError>) {
    let err = result.expect_err("a deposed writer must be refused");
    assert!(matches!(err, CheckpointError::Backend { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("another instance wrote the checkpoint"),
        "{text}"
    );
    assert!(
        text.contains("configmap event-keeper/event-keeper-checkpoint"),
        "{text}"
    );
}

#[tokio::test]
async fn a_missing_configmap_loads_as_none_and_the_first_save_creates_it() {
    init_tracing();
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    let store = store(&cluster);
    assert_eq!(store.load().await.unwrap(), None);
    assert!(resource_version(&cluster).is_none());

    let cp = sample(120);
    store.save(cp.encode()).await.unwrap();
    assert_eq!(store.load().await.unwrap(), Some(cp.clone()));
    let labels = cluster
        .object("v1", "ConfigMap", Some(NAMESPACE), NAME)
        .unwrap()["metadata"]["labels"]
        .clone();
    assert_eq!(labels["app.kubernetes.io/name"], "event-keeper");
    assert_eq!(labels["app.kubernetes.io/component"], "checkpoint");
    // The same JSON as the file store writes, readable with kubectl.
    let stored = configmap_str(&cluster, "data", KEY).unwrap();
    assert!(
        stored.contains(r#""7d3c6a2e":[119,1700000000]"#),
        "{stored}"
    );
}

#[tokio::test]
async fn later_saves_replace_the_checkpoint() {
    init_tracing();
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    let store = store(&cluster);
    store.load().await.unwrap();
    for resume in [10, 20, 30] {
        store.save(sample(resume).encode()).await.unwrap();
    }
    assert_eq!(store.load().await.unwrap(), Some(sample(30)));
}

#[tokio::test]
async fn a_new_leader_loads_what_the_old_one_saved_and_fences_it_out() {
    init_tracing();
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    let old = store(&cluster);
    old.load().await.unwrap();
    old.save(sample(100).encode()).await.unwrap();

    let new = store(&cluster);
    assert_eq!(new.load().await.unwrap(), Some(sample(100)));
    // The old leader, not yet aware it was deposed, saves before the new one does.
    assert_conflict(old.save(sample(150).encode()).await);
    let untouched = store(&cluster).fence_on_load(false);
    assert_eq!(untouched.load().await.unwrap(), Some(sample(100)));

    new.save(sample(200).encode()).await.unwrap();
    assert_conflict(old.save(sample(250).encode()).await);
    assert_eq!(untouched.load().await.unwrap(), Some(sample(200)));
}

#[tokio::test]
async fn a_writer_that_lost_the_race_to_create_is_refused() {
    init_tracing();
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    let (a, b) = (store(&cluster), store(&cluster));
    assert_eq!(a.load().await.unwrap(), None);
    assert_eq!(b.load().await.unwrap(), None);
    a.save(sample(10).encode()).await.unwrap();
    assert_conflict(b.save(sample(20).encode()).await);
    assert_eq!(a.load().await.unwrap(), Some(sample(10)));
}

#[tokio::test]
async fn a_reader_that_does_not_fence_leaves_the_writer_alone() {
    init_tracing();
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    let writer = store(&cluster);
    writer.save(sample(10).encode()).await.unwrap();
    let rv = resource_version(&cluster);
    let reader = store(&cluster).fence_on_load(false);
    assert_eq!(reader.load().await.unwrap(), Some(sample(10)));
    assert_eq!(resource_version(&cluster), rv, "reading wrote nothing");
    writer.save(sample(20).encode()).await.unwrap();
}

#[tokio::test]
async fn a_corrupt_payload_is_reported_and_left_as_it_is() {
    init_tracing();
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    store(&cluster).save(sample(10).encode()).await.unwrap();
    let mut cm = cluster
        .object("v1", "ConfigMap", Some(NAMESPACE), NAME)
        .unwrap();
    cm["data"][KEY] = r#"{"version":1,"savedAt":"2026-"#.into();
    cluster.apply_object("v1", "ConfigMap", cm).unwrap();
    let rv = resource_version(&cluster);

    let err = store(&cluster).load().await.unwrap_err();
    assert!(matches!(err, CheckpointError::Corrupt { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("configmap event-keeper/event-keeper-checkpoint key checkpoint.json"),
        "{text}"
    );
    assert!(text.contains("nothing was overwritten"), "{text}");
    assert_eq!(
        resource_version(&cluster),
        rv,
        "the corrupt checkpoint was left alone"
    );
}

#[tokio::test]
async fn a_checkpoint_over_a_configmaps_limit_is_refused_before_it_is_sent() {
    init_tracing();
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    let store = store(&cluster);
    store.save(sample(10).encode()).await.unwrap();
    let mut huge = sample(20);
    for i in 0..40_000 {
        huge.events.insert(
            format!("{i:036}"),
            SeenEvent {
                resource_version: 1,
                last_seen: 1,
            },
        );
    }
    let writes = cluster.stats().writes;
    let err = store.save(huge.encode()).await.unwrap_err();
    assert!(matches!(err, CheckpointError::Backend { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("over the 1048576 bytes a ConfigMap holds"),
        "{text}"
    );
    assert!(text.contains("40001 events"), "{text}");
    assert_eq!(cluster.stats().writes, writes, "nothing was sent");
    assert_eq!(store.load().await.unwrap(), Some(sample(10)));
}

/// One replica's pipeline from the simulated cluster into the shared sink, checkpointed to the
/// ConfigMap.
struct Running {
    metrics: Metrics,
    shutdown: CancellationToken,
    run: JoinHandle<Result<PipelineReport, PipelineError>>,
}

async fn start(cluster: &SimCluster, sink: &MemorySink) -> Running {
    let metrics = Metrics::default();
    let keeper = Keeper::load(store(cluster))
        .await
        .expect("checkpoint loads")
        .with_metrics(metrics.clone());
    let stream = keeper
        .watch(cluster.client(), EventStreamConfig::default())
        .await
        .expect("stream connects");
    let pipeline = keeper
        .pipeline(stream)
        .config(
            PipelineConfig::default()
                .max_batch_events(50)
                .max_batch_wait(Duration::from_millis(20))
                .checkpoint_interval(Duration::from_millis(100))
                .shutdown_timeout(Duration::from_secs(5)),
        )
        .sink(sink.clone());
    let shutdown = CancellationToken::new();
    let run = tokio::spawn(pipeline.run(shutdown.clone()));
    wait_until(
        "the watch to be established",
        Duration::from_secs(10),
        || metrics.established() > 0,
    )
    .await;
    Running {
        metrics,
        shutdown,
        run,
    }
}

impl Running {
    async fn stop(self) -> PipelineReport {
        self.shutdown.cancel();
        within("pipeline shutdown", Duration::from_secs(10), self.run)
            .await
            .expect("pipeline task")
            .expect("pipeline result")
    }

    fn kill(self) {
        self.run.abort();
    }
}

/// Creates events and bumps some of them, recording every occurrence.
fn churn(cluster: &SimCluster, tag: &str, expected: &mut Vec<OccurrenceKey>) {
    for i in 0..8 {
        let mut ev = cluster.create_event(
            NewEvent::new("payments", "FailedScheduling").regarding("Pod", format!("{tag}-{i}")),
        );
        expected.push(key(&ev));
        for _ in 0..(i % 3) {
            ev = cluster.bump_event(&ev).expect("exists");
            expected.push(key(&ev));
        }
    }
}

async fn wait_for(sink: &MemorySink, expected: &[OccurrenceKey]) {
    wait_until(
        "every occurrence in the sink",
        Duration::from_secs(20),
        || {
            let stored = sink.keys();
            expected.iter().all(|k| stored.contains(k))
        },
    )
    .await;
    // A little longer, to catch duplicates still on their way.
    tokio::time::sleep(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn pipelines_that_stop_and_crash_with_the_configmap_store_lose_and_repeat_nothing() {
    init_tracing();
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    let sink = MemorySink::new("memory");
    let mut expected = Vec::new();

    let first = start(&cluster, &sink).await;
    churn(&cluster, "before", &mut expected);
    wait_for(&sink, &expected).await;
    let report = first.stop().await;
    assert!(report.checkpoint_saved);

    churn(&cluster, "stopped", &mut expected);
    let second = start(&cluster, &sink).await;
    assert_eq!(
        second.metrics.relists(),
        0,
        "resumed from the ConfigMap's resume point"
    );
    churn(&cluster, "after", &mut expected);
    wait_for(&sink, &expected).await;
    // The periodic checkpoint has run; crash without the final save.
    tokio::time::sleep(Duration::from_millis(250)).await;
    second.kill();

    churn(&cluster, "crashed", &mut expected);
    let third = start(&cluster, &sink).await;
    wait_for(&sink, &expected).await;
    assert_exactly_once(&sink.keys(), &expected);
    third.stop().await;
}

fn candidate(cluster: &SimCluster, identity: &str) -> LeaderElector {
    let config = LeaderElectionConfig::new("event-keeper")
        .namespace(NAMESPACE)
        .identity(identity)
        .lease_duration(Duration::from_secs(2))
        .renew_deadline(Duration::from_secs(1))
        .retry_period(Duration::from_millis(200));
    LeaderElector::new(cluster.client(), config).expect("valid config")
}

async fn lead(elector: &LeaderElector) -> Leadership {
    within(
        "leadership",
        Duration::from_secs(10),
        elector.acquire(&CancellationToken::new()),
    )
    .await
    .expect("acquired")
}

#[tokio::test]
async fn a_leader_handover_resumes_from_the_configmap_without_loss_or_repeat() {
    init_tracing();
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    let sink = MemorySink::new("memory");
    let mut expected = Vec::new();
    let (a, b) = (candidate(&cluster, "pod-a"), candidate(&cluster, "pod-b"));

    let leader = lead(&a).await;
    let standby = tokio::spawn(async move { lead(&b).await });
    let running = start(&cluster, &sink).await;
    churn(&cluster, "a", &mut expected);
    wait_for(&sink, &expected).await;

    // Rolling update: the leader stops exporting, saves, then releases the Lease.
    running.stop().await;
    churn(&cluster, "handover", &mut expected);
    leader.release().await.unwrap();
    let next = within("the standby to lead", Duration::from_secs(5), standby)
        .await
        .unwrap();
    assert!(next.is_leader());

    let running = start(&cluster, &sink).await;
    assert_eq!(
        running.metrics.relists(),
        0,
        "resumed where the old leader stopped"
    );
    churn(&cluster, "b", &mut expected);
    wait_for(&sink, &expected).await;
    assert_exactly_once(&sink.keys(), &expected);
    running.stop().await;
    next.release().await.unwrap();
}

#[tokio::test]
async fn a_deposed_leaders_pipeline_can_no_longer_save_its_checkpoint() {
    init_tracing();
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    let sink = MemorySink::new("memory");
    let mut expected = Vec::new();
    let old = start(&cluster, &sink).await;
    churn(&cluster, "old", &mut expected);
    wait_for(&sink, &expected).await;
    assert_eq!(old.metrics.checkpoint_errors(), 0);

    // A new leader loads the checkpoint: from then on the old pipeline's saves are refused.
    let new = store(&cluster);
    let taken_over = new.load().await.unwrap().expect("saved by the old leader");
    let metrics = old.metrics.clone();
    wait_until("a refused save", Duration::from_secs(5), || {
        metrics.checkpoint_errors() > 0
    })
    .await;
    let report = old.stop().await;
    assert!(!report.checkpoint_saved, "the final save was refused too");
    let reader = store(&cluster).fence_on_load(false);
    assert_eq!(reader.load().await.unwrap(), Some(taken_over));
}
