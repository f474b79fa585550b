//! The real `eks_to_cloudwatch` binary, as a child process, against the simulated Kubernetes API
//! and moto (through the strict CloudWatch proxy): config in, events out exactly once with the
//! cluster name; per-sink routing; `/metrics`; `--check-config` on the deploy ConfigMap and on
//! bad files; `/readyz` following the API server; SIGTERM flushing; object-change watches.

#[path = "cloudwatch_support/harness.rs"]
mod harness;
#[path = "eks_to_cloudwatch_support/scenario.rs"]
mod scenario;

use std::collections::BTreeSet;
use std::time::Duration;

use event_core::{Event, EventApi, OccurrenceKey};
use scenario::Scenario;
use serde_json::json;
use testkit::NewEvent;
use tests::binary::{ExporterProcess, run_to_end};
use tests::{assert_exactly_once, key, wait_until};

/// How long a test waits for the exporter to exit after SIGTERM: the configured
/// `shutdown_timeout_secs` (5) with room for the final checkpoint save, far below the pods' 30 s
/// grace period.
const EXIT_BOUND: Duration = Duration::from_secs(10);

#[tokio::test]
async fn events_arrive_in_cloudwatch_exactly_once_with_the_cluster_and_are_counted() {
    let s = Scenario::start("e2e-flow").await;
    let config = format!(
        "{}{}filter:\n  exclude:\n    - namespaces: [kube-system]\n      reasons: [Pulled]\nsinks:\n{}  - type: stdout\n    name: warnings\n    format: json\n    filter:\n      include:\n        - types: [Warning]\nserver:\n  listen: 127.0.0.1:0\n",
        s.common(),
        s.file_checkpoint(),
        s.cloudwatch_sink()
    );
    let exporter = ExporterProcess::start(&config, &s.kubeconfig, &[]).await;
    exporter.wait_for_readyz(200, Duration::from_secs(30)).await;

    let backoff = s.cluster.create_event(
        NewEvent::new("payments", "BackOff")
            .regarding("Pod", "api-7d9f")
            .warning(),
    );
    let scheduled = s
        .cluster
        .create_event(NewEvent::new("billing", "Scheduled").regarding("Pod", "worker-1"));
    let pulled = s
        .cluster
        .create_event(NewEvent::new("kube-system", "Pulled").regarding("Pod", "coredns-1"));
    let unschedulable = s.cluster.create_event(
        NewEvent::new("search", "FailedScheduling")
            .regarding("Pod", "indexer-0")
            .warning(),
    );
    let bumped = s.cluster.bump_event(&backoff).expect("bumped");
    let bumped_again = s.cluster.bump_event(&bumped).expect("bumped");
    let warnings: Vec<OccurrenceKey> = [&backoff, &unschedulable, &bumped, &bumped_again]
        .into_iter()
        .map(key)
        .collect();
    let mut expected = warnings.clone();
    expected.push(key(&scheduled));

    let stored = s.wait_for_cloudwatch(&expected).await;
    let keys: Vec<OccurrenceKey> = stored.iter().map(Event::key).collect();
    assert_exactly_once(&keys, &expected);
    assert!(
        !keys.contains(&key(&pulled)),
        "the top-level filter drops it"
    );
    for event in &stored {
        assert_eq!(event.cluster.as_deref(), Some(s.name.as_str()), "{event:?}");
    }

    // The stdout sink is routed to warnings only, stamped like the others.
    wait_until("the routed stdout sink", Duration::from_secs(10), || {
        exporter.stdout_lines().len() >= warnings.len()
    })
    .await;
    let printed: Vec<Event> = exporter
        .stdout_lines()
        .iter()
        .map(|line| serde_json::from_str(line).expect("a JSON event line"))
        .collect();
    assert_exactly_once(
        &printed.iter().map(Event::key).collect::<Vec<_>>(),
        &warnings,
    );
    assert!(
        printed
            .iter()
            .all(|e| e.is_warning() && e.cluster.as_deref() == Some(s.name.as_str()))
    );

    let metrics = exporter.get("/metrics").await.1;
    let value = |series: &str| testkit::prometheus::sample(&metrics, series);
    assert_eq!(
        value("event_keeper_events_received_total"),
        Some(6.0),
        "{metrics}"
    );
    assert_eq!(
        value("event_keeper_events_filtered_total"),
        Some(1.0),
        "{metrics}"
    );
    assert_eq!(
        value("event_keeper_events_sent_total{sink=\"cloudwatch\"}"),
        Some(5.0),
        "{metrics}"
    );
    assert_eq!(
        value("event_keeper_events_sent_total{sink=\"warnings\"}"),
        Some(4.0),
        "{metrics}"
    );
    assert_eq!(
        value("event_keeper_events_rejected_total{sink=\"cloudwatch\"}"),
        Some(0.0)
    );
    assert_eq!(
        value("event_keeper_leader"),
        Some(1.0),
        "no leader election: it leads"
    );
    assert!(value("event_keeper_batch_size_count{sink=\"cloudwatch\"}").is_some_and(|n| n >= 1.0));
    for series in [
        "event_keeper_queue_depth{sink=\"cloudwatch\"}",
        "event_keeper_batches_retried_total{sink=\"cloudwatch\"}",
        "event_keeper_watch_gone_total",
        "event_keeper_watch_errors_total",
        "event_keeper_checkpoint_age_seconds",
        "event_keeper_event_lag_seconds",
    ] {
        assert!(
            value(series).is_some(),
            "/metrics lacks {series}:\n{metrics}"
        );
    }

    let mut exporter = exporter;
    exporter.terminate();
    assert!(
        exporter.wait(EXIT_BOUND).await.success(),
        "{}",
        exporter.logs()
    );
    s.cloudwatch.assert_no_violations();
}

/// The config.yaml of deploy/kubernetes/20-configmap.yaml, with its placeholder replaced.
fn deploy_config() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../deploy/kubernetes/20-configmap.yaml"
    );
    let text = std::fs::read_to_string(path).expect("the deploy ConfigMap");
    let body = text
        .split("\n---\n")
        .nth(1)
        .expect("a document after the leading comments");
    let map: yaml_serde::Value = yaml_serde::from_str(body).expect("the ConfigMap parses");
    map["data"]["config.yaml"]
        .as_str()
        .expect("data.config.yaml")
        .replace("<CLUSTER_NAME>", "prod-eu-1")
}

/// A config that sets every key the binary accepts.
const EVERY_KEY: &str = r#"
cluster: prod-eu-1
source:
  api: events-v1
  namespaces: [payments, billing]
  objects: [pods, nodes, namespaces, services, persistentvolumeclaims]
  label_selector: app=api
  field_selector: type=Warning
filter:
  include:
    - types: [Warning]
checkpoint:
  store: configmap
  name: ek-checkpoint
  namespace: ops
  path: /var/lib/event-keeper/checkpoint.json
  interval_secs: 2
leader_election:
  enabled: true
  lease_name: ek
  namespace: ops
  identity: replica-1
  lease_duration_secs: 20
  renew_deadline_secs: 12
  retry_period_secs: 3
sinks:
  - type: cloudwatch
    name: cw
    filter:
      exclude:
        - reasons: [Pulled]
    log_group: /event-keeper/{cluster}
    log_stream: "{namespace}/{kind}"
    retention_days: 3653
    region: eu-west-1
    endpoint_url: https://logs.eu-west-1.amazonaws.com
    kms_key_id: arn:aws:kms:eu-west-1:123456789012:key/abc
    tags: {team: platform}
    create_missing: true
    timeout_secs: 10
    send_timeout_secs: 45
  - type: file
    directory: /var/lib/event-keeper/archive
    rotation: daily
    compress: true
    keep_days: 30
  - type: stdout
    format: text
pipeline:
  max_batch_events: 1000
  max_batch_wait_secs: 0.5
  queue_batches: 8
  sink_timeout_secs: 50
  shutdown_timeout_secs: 12
server:
  listen: "[::]:9090"
  stall_after_secs: 30
log:
  format: text
  level: info,event_core=debug
"#;

async fn check(config: &str, env: &[(&str, &str)]) -> (i32, String, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("config.yaml");
    std::fs::write(&path, config).expect("config written");
    let path = path.display().to_string();
    let (status, out, err) = run_to_end(&["--config", &path, "--check-config"], env).await;
    (status.code().unwrap_or(-1), out, err)
}

#[tokio::test]
async fn check_config_accepts_the_deploy_configmap_and_names_the_key_of_each_mistake() {
    let deploy = deploy_config();
    let pod = [("POD_NAMESPACE", "event-keeper"), ("POD_NAME", "check")];
    let (code, out, err) = check(&deploy, &pod).await;
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    assert!(
        out.contains("configuration is valid: cluster prod-eu-1; watching events in all namespaces; sinks cloudwatch; checkpoint configmap event-keeper/event-keeper-checkpoint; leader election lease event-keeper/event-keeper"),
        "{out}"
    );

    let replace = |from: &str, to: &str| {
        assert!(deploy.contains(from), "the deploy config has {from:?}");
        deploy.replacen(from, to, 1)
    };
    let cases = [
        (
            replace("retention_days: 30", "retention_days: 31"),
            "`sinks[0].retention_days`: is 31; CloudWatch Logs accepts 1, 3, 5, 7, 14, 30",
        ),
        (
            replace("lease_name: event-keeper", "lease: event-keeper"),
            "`leader_election.lease`: unknown field `lease`, expected one of `enabled`, `lease_name`",
        ),
        (
            replace("store: configmap", "store: file"),
            "`checkpoint.store`: is file, but leader_election.enabled is true",
        ),
        (
            replace("store: configmap", "store: etcd"),
            "`checkpoint.store`: unknown variant `etcd`, expected `configmap` or `file`",
        ),
        (
            replace("server:\n", "  - type: stdout\n  - type: stdout\nserver:\n"),
            "`sinks[2].name`: is \"stdout\", the name of sinks[1] too",
        ),
        (
            replace(
                "server:\n",
                "  - type: file\n    rotation: daily\nserver:\n",
            ),
            "`sinks[1].directory`: is missing; a file sink needs the folder of its archive",
        ),
        (
            replace("listen: 0.0.0.0:8080", "listen: 8080"),
            "`server.listen`: is \"8080\"; write an IP address and a port",
        ),
        (
            replace("cluster: prod-eu-1\n", ""),
            "`cluster`: is missing; set it in the config file, with --cluster or with EVENT_KEEPER_CLUSTER",
        ),
        (
            replace("level: info", "level: loud"),
            "`log.level`: is \"loud\"; use off, error, warn, info, debug or trace",
        ),
    ];
    for (config, wanted) in cases {
        let (code, out, err) = check(&config, &pod).await;
        assert_eq!(code, 1, "{wanted}: accepted\nstdout: {out}");
        assert!(err.contains(wanted), "expected {wanted:?} in:\n{err}");
        assert_eq!(err.trim_end().lines().count(), 1, "one message: {err}");
        assert!(out.is_empty(), "{out}");
    }

    // Every key the binary accepts (deploy_manifests.rs mirrors the list for the manifests).
    let (code, out, err) = check(EVERY_KEY, &[]).await;
    assert_eq!(code, 0, "stderr: {err}");
    assert!(
        out.contains("watching events, pods, nodes, namespaces, services, persistentvolumeclaims in namespaces payments, billing; sinks cw, file, stdout; checkpoint configmap ops/ek-checkpoint; leader election lease ops/ek; listening on [::]:9090"),
        "{out}"
    );

    let env = [
        ("EVENT_KEEPER_LOG_FORMAT", "xml"),
        ("POD_NAMESPACE", "event-keeper"),
    ];
    let (code, _, err) = check(&deploy, &env).await;
    assert_eq!(code, 1);
    assert!(
        err.contains("environment variable EVENT_KEEPER_LOG_FORMAT: `log.format`: is \"xml\""),
        "{err}"
    );
    let (status, _, err) = run_to_end(
        &["--config", "/nonexistent/config.yaml", "--check-config"],
        &[],
    )
    .await;
    assert_eq!(status.code(), Some(1));
    assert!(
        err.contains("cannot read the config file /nonexistent/config.yaml"),
        "{err}"
    );

    let (status, out, _) = run_to_end(&["--help"], &[]).await;
    assert!(status.success());
    assert!(
        out.contains(
            "Precedence: command-line flag > environment variable > config file > default."
        ),
        "{out}"
    );
}

#[tokio::test]
async fn readyz_answers_503_while_the_api_server_is_gone_and_200_once_it_is_back() {
    let s = Scenario::start("e2e-ready").await;
    let config = format!(
        "{}{}sinks:\n  - type: stdout\nserver:\n  listen: 127.0.0.1:0\n  stall_after_secs: 1\n",
        s.common(),
        s.file_checkpoint()
    );
    let exporter = ExporterProcess::start(&config, &s.kubeconfig, &[]).await;
    let body = exporter.wait_for_readyz(200, Duration::from_secs(30)).await;
    assert!(body.starts_with("ready\nevents@*: ready"), "{body}");
    assert_eq!(exporter.get("/healthz").await, (200, "ok\n".into()));

    s.cluster.stop().await;
    let body = exporter.wait_for_readyz(503, Duration::from_secs(30)).await;
    assert!(body.contains("events@*: not ready: failing for"), "{body}");
    assert_eq!(exporter.get("/healthz").await.0, 200, "alive all along");

    s.cluster.restart().await;
    exporter.wait_for_readyz(200, Duration::from_secs(60)).await;
    let created = s.cluster.create_event(NewEvent::new("payments", "BackOff"));
    wait_until(
        "the event after the outage on stdout",
        Duration::from_secs(20),
        || {
            exporter
                .stdout_lines()
                .iter()
                .any(|line| line.contains(&created.uid))
        },
    )
    .await;
}

#[tokio::test]
async fn sigterm_flushes_what_was_received_saves_the_checkpoint_and_exits_zero_in_time() {
    let s = Scenario::start("e2e-sigterm").await;
    // Batches wait up to a minute: the events below are still in the pipeline when SIGTERM
    // arrives, and only the shutdown's flush can send them.
    let config = format!(
        "cluster: {}\n{}sinks:\n{}pipeline:\n  max_batch_wait_secs: 60\n  shutdown_timeout_secs: 5\n  sink_timeout_secs: 20\nserver:\n  listen: 127.0.0.1:0\nlog:\n  format: json\n",
        s.name,
        s.file_checkpoint(),
        s.cloudwatch_sink()
    );
    let mut exporter = ExporterProcess::start(&config, &s.kubeconfig, &[]).await;
    exporter.wait_for_readyz(200, Duration::from_secs(30)).await;
    let expected: Vec<OccurrenceKey> = (0..5)
        .map(|i| {
            key(&s.cluster.create_event(
                NewEvent::new("payments", "BackOff").regarding("Pod", format!("p{i}")),
            ))
        })
        .collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while exporter.metric("event_keeper_events_received_total").await < Some(5.0) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the exporter did not receive the events"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        s.stored().await.is_empty(),
        "nothing is sent before the batch is due"
    );

    let asked = tokio::time::Instant::now();
    exporter.terminate();
    let status = exporter.wait(EXIT_BOUND).await;
    assert!(
        status.success(),
        "exit {status:?}; log:\n{}",
        exporter.logs()
    );
    assert!(asked.elapsed() < EXIT_BOUND);
    let stored: Vec<OccurrenceKey> = s.stored().await.iter().map(Event::key).collect();
    assert_exactly_once(&stored, &expected);
    let checkpoint = std::fs::read_to_string(s.dir.path().join("checkpoint.json"))
        .expect("the checkpoint was saved");
    assert!(checkpoint.contains("events@*"), "{checkpoint}");
    let logs = exporter.logs();
    assert!(logs.contains("shutdown requested; draining"), "{logs}");
    assert!(logs.contains("checkpoint_saved: true"), "{logs}");
    s.cloudwatch.assert_no_violations();
}

#[tokio::test]
async fn changes_of_every_watched_object_kind_arrive_as_records() {
    let s = Scenario::start("e2e-objects").await;
    let config = format!(
        "{}{}source:\n  objects: [pods, nodes, namespaces, services, persistentvolumeclaims]\nsinks:\n{}server:\n  listen: 127.0.0.1:0\n",
        s.common(),
        s.file_checkpoint(),
        s.cloudwatch_sink()
    );
    let mut exporter = ExporterProcess::start(&config, &s.kubeconfig, &[]).await;
    let body = exporter.wait_for_readyz(200, Duration::from_secs(30)).await;
    for scope in [
        "pods@*",
        "nodes",
        "namespaces",
        "services@*",
        "persistentvolumeclaims@*",
    ] {
        assert!(
            body.contains(&format!("{scope}: ready")),
            "{scope} is watched:\n{body}"
        );
    }

    let meta = |name: &str, namespace: Option<&str>| match namespace {
        Some(ns) => json!({"name": name, "namespace": ns}),
        None => json!({"name": name}),
    };
    let apply = |kind: &str, name: &str, namespace: Option<&str>, rest: serde_json::Value| {
        let mut object =
            json!({"apiVersion": "v1", "kind": kind, "metadata": meta(name, namespace)});
        for (k, v) in rest.as_object().expect("an object").clone() {
            object[k] = v;
        }
        s.cluster
            .apply_object("v1", kind, object)
            .expect("object stored")
    };
    apply(
        "Namespace",
        "payments",
        None,
        json!({"status": {"phase": "Active"}}),
    );
    apply(
        "Node",
        "ip-10-0-1-5",
        None,
        json!({"status": {"conditions": [{"type": "Ready", "status": "True"}]}}),
    );
    apply(
        "Pod",
        "api-7d9f",
        Some("payments"),
        json!({"status": {"phase": "Pending"}}),
    );
    apply(
        "Service",
        "api",
        Some("payments"),
        json!({"spec": {"type": "ClusterIP", "clusterIP": "10.100.0.12", "ports": [{"port": 80, "protocol": "TCP"}]}}),
    );
    apply(
        "PersistentVolumeClaim",
        "data",
        Some("payments"),
        json!({"spec": {"storageClassName": "gp3"}, "status": {"phase": "Pending"}}),
    );
    apply(
        "Pod",
        "api-7d9f",
        Some("payments"),
        json!({"spec": {"nodeName": "ip-10-0-1-5"}, "status": {"phase": "Running"}}),
    );
    assert!(
        s.cluster
            .delete_object("v1", "Service", Some("payments"), "api")
    );

    let wanted: BTreeSet<(&str, &str, &str)> = [
        ("Namespace", "payments", "Added"),
        ("Node", "ip-10-0-1-5", "Added"),
        ("Pod", "api-7d9f", "Added"),
        ("Pod", "api-7d9f", "Modified"),
        ("Service", "api", "Added"),
        ("Service", "api", "Deleted"),
        ("PersistentVolumeClaim", "data", "Added"),
    ]
    .into();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let stored = loop {
        let stored = s.stored().await;
        let seen: BTreeSet<(&str, &str, &str)> = stored
            .iter()
            .map(|e| {
                (
                    e.regarding.kind.as_str(),
                    e.regarding.name.as_str(),
                    e.reason.as_str(),
                )
            })
            .collect();
        if wanted.is_subset(&seen) {
            break stored;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "object changes stored: {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    tokio::time::sleep(Duration::from_millis(700)).await;
    let stored = if stored.len() == s.stored().await.len() {
        stored
    } else {
        s.stored().await
    };
    assert_eq!(
        stored.len(),
        wanted.len(),
        "one record per change: {stored:#?}"
    );
    let keys: Vec<OccurrenceKey> = stored.iter().map(Event::key).collect();
    assert!(
        tests::tally(&keys).values().all(|&n| n == 1),
        "a change stored twice: {keys:?}"
    );
    for event in &stored {
        assert_eq!(event.api, EventApi::ObjectChange, "{event:?}");
        assert_eq!(event.cluster.as_deref(), Some(s.name.as_str()));
    }
    let running = stored
        .iter()
        .find(|e| e.regarding.kind == "Pod" && e.reason == "Modified")
        .expect("the pod's update");
    assert!(
        running.message.contains("phase=Running"),
        "{}",
        running.message
    );

    exporter.terminate();
    assert!(
        exporter.wait(EXIT_BOUND).await.success(),
        "{}",
        exporter.logs()
    );
}
