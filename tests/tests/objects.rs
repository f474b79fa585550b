//! Object changes: every addition, modification and deletion of pods, nodes, namespaces,
//! services and persistentvolumeclaims arrives once, with its reason and summary, live and across
//! restarts; after a compaction, the latest state of each changed object arrives once, and an
//! object deleted while the watch could not resume arrives once as `Deleted`.

use std::collections::BTreeMap;
use std::time::Duration;

use event_core::{Event, EventApi, EventStreamConfig, ObjectKind, OccurrenceKey};
use serde_json::{Value, json};
use testkit::{NewEvent, SimCluster, SimConfig};
use tests::{Exporter, assert_exactly_once, init_tracing, key, wait_until};

/// One state of an object and the record it should produce.
struct State {
    body: Value,
    message: &'static str,
    warning: bool,
}

/// A kind under test: how to build its objects, and three states each object goes through.
struct Kind {
    kind: &'static str,
    namespace: Option<&'static str>,
    states: fn() -> [State; 3],
}

const KINDS: [Kind; 5] = [
    Kind {
        kind: "Pod",
        namespace: Some("payments"),
        states: pod_states,
    },
    Kind {
        kind: "Node",
        namespace: None,
        states: node_states,
    },
    Kind {
        kind: "Namespace",
        namespace: None,
        states: namespace_states,
    },
    Kind {
        kind: "Service",
        namespace: Some("payments"),
        states: service_states,
    },
    Kind {
        kind: "PersistentVolumeClaim",
        namespace: Some("payments"),
        states: pvc_states,
    },
];

fn pod_states() -> [State; 3] {
    let status = |ready: bool, restarts: i32, state: Value, last: Value| {
        json!({"name": "app", "image": "registry.example.com/api:1.4.2", "imageID": "",
               "ready": ready, "restartCount": restarts, "state": state, "lastState": last})
    };
    [
        State {
            body: json!({
                "spec": {"containers": [{"name": "app", "image": "registry.example.com/api:1.4.2"}]},
                "status": {"phase": "Pending", "conditions": [
                    {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                     "lastTransitionTime": "2026-11-23T10:00:00Z"}
                ]}
            }),
            message: "phase=Pending ready=0/1 restarts=0",
            warning: false,
        },
        State {
            body: json!({
                "spec": {"nodeName": "ip-10-0-1-5", "containers": [{"name": "app"}]},
                "status": {"phase": "Running", "containerStatuses": [
                    status(true, 0, json!({"running": {"startedAt": "2026-11-23T10:01:00Z"}}), json!({}))
                ]}
            }),
            message: "phase=Running node=ip-10-0-1-5 ready=1/1 restarts=0",
            warning: false,
        },
        State {
            body: json!({
                "spec": {"nodeName": "ip-10-0-1-5", "containers": [{"name": "app"}]},
                "status": {"phase": "Running", "containerStatuses": [
                    status(false, 3, json!({"waiting": {"reason": "CrashLoopBackOff"}}),
                           json!({"terminated": {"exitCode": 1, "reason": "Error"}}))
                ]}
            }),
            message: "phase=Running node=ip-10-0-1-5 ready=0/1 restarts=3 waiting=app:CrashLoopBackOff lastTerminated=app:Error",
            warning: true,
        },
    ]
}

fn node_states() -> [State; 3] {
    let cond = |type_: &str, status: &str, reason: &str| {
        json!({"type": type_, "status": status, "reason": reason,
               "lastHeartbeatTime": "2026-11-23T10:00:00Z", "lastTransitionTime": "2026-11-23T10:00:00Z"})
    };
    [
        State {
            body: json!({"status": {"conditions": [
                cond("MemoryPressure", "False", "KubeletHasSufficientMemory"),
                cond("Ready", "True", "KubeletReady")
            ]}}),
            message: "Ready=True",
            warning: false,
        },
        State {
            body: json!({"status": {"conditions": [
                cond("MemoryPressure", "True", "KubeletHasInsufficientMemory"),
                cond("Ready", "False", "KubeletNotReady")
            ]}}),
            message: "Ready=False (KubeletNotReady) MemoryPressure=True",
            warning: true,
        },
        State {
            body: json!({"spec": {"unschedulable": true}, "status": {"conditions": [
                cond("MemoryPressure", "False", "KubeletHasSufficientMemory"),
                cond("Ready", "True", "KubeletReady")
            ]}}),
            message: "Ready=True unschedulable",
            warning: false,
        },
    ]
}

fn namespace_states() -> [State; 3] {
    [
        State {
            body: json!({"status": {"phase": "Active"}}),
            message: "phase=Active",
            warning: false,
        },
        State {
            body: json!({"status": {"phase": "Terminating", "conditions": [
                {"type": "NamespaceContentRemaining", "status": "True", "lastTransitionTime": "2026-11-23T10:02:00Z"}
            ]}}),
            message: "phase=Terminating NamespaceContentRemaining=True",
            warning: false,
        },
        State {
            body: json!({"status": {"phase": "Terminating", "conditions": [
                {"type": "NamespaceDeletionContentFailure", "status": "True", "lastTransitionTime": "2026-11-23T10:03:00Z"}
            ]}}),
            message: "phase=Terminating NamespaceDeletionContentFailure=True",
            warning: true,
        },
    ]
}

fn service_states() -> [State; 3] {
    let ports = json!([{"name": "http", "port": 80, "protocol": "TCP"},
                       {"name": "https", "port": 443, "protocol": "TCP"}]);
    [
        State {
            body: json!({"spec": {"type": "ClusterIP", "clusterIP": "10.100.0.12",
                                  "ports": [{"port": 80, "protocol": "TCP"}]}}),
            message: "type=ClusterIP clusterIP=10.100.0.12 ports=80/TCP",
            warning: false,
        },
        State {
            body: json!({"spec": {"type": "LoadBalancer", "clusterIP": "10.100.0.12", "ports": ports},
                         "status": {"loadBalancer": {}}}),
            message: "type=LoadBalancer clusterIP=10.100.0.12 ports=80/TCP,443/TCP ingress=pending",
            warning: false,
        },
        State {
            body: json!({"spec": {"type": "LoadBalancer", "clusterIP": "10.100.0.12", "ports": ports},
                         "status": {"loadBalancer": {"ingress": [{"hostname": "a1b2.elb.amazonaws.com"}]}}}),
            message: "type=LoadBalancer clusterIP=10.100.0.12 ports=80/TCP,443/TCP ingress=a1b2.elb.amazonaws.com",
            warning: false,
        },
    ]
}

fn pvc_states() -> [State; 3] {
    let requested = json!({"requests": {"storage": "10Gi"}});
    [
        State {
            body: json!({"spec": {"storageClassName": "gp3", "resources": requested},
                         "status": {"phase": "Pending"}}),
            message: "phase=Pending requested=10Gi storageClass=gp3",
            warning: false,
        },
        State {
            body: json!({"spec": {"storageClassName": "gp3", "resources": requested, "volumeName": "pvc-123"},
                         "status": {"phase": "Bound", "capacity": {"storage": "10Gi"}}}),
            message: "phase=Bound volume=pvc-123 capacity=10Gi storageClass=gp3",
            warning: false,
        },
        State {
            body: json!({"spec": {"storageClassName": "gp3", "resources": requested, "volumeName": "pvc-123"},
                         "status": {"phase": "Lost", "capacity": {"storage": "10Gi"}}}),
            message: "phase=Lost volume=pvc-123 capacity=10Gi storageClass=gp3",
            warning: true,
        },
    ]
}

/// A change made in the cluster, and the record it must produce.
#[derive(Clone, Debug)]
struct Expected {
    key: OccurrenceKey,
    kind: &'static str,
    name: String,
    namespace: Option<&'static str>,
    /// `None` when the documented rule allows either `Added` or `Modified` (see the 410 test).
    reason: Option<&'static str>,
    message: &'static str,
    event_type: &'static str,
}

impl Kind {
    /// Creates or replaces `name` in state `state`, recording the change as `reason`.
    fn apply(
        &self,
        cluster: &SimCluster,
        name: &str,
        state: usize,
        reason: Option<&'static str>,
    ) -> Expected {
        let State {
            mut body,
            message,
            warning,
        } = (self.states)()
            .into_iter()
            .nth(state)
            .expect("three states");
        body["metadata"] = json!({"name": name});
        if let Some(ns) = self.namespace {
            body["metadata"]["namespace"] = ns.into();
        }
        let stored = cluster
            .apply_object("v1", self.kind, body)
            .expect("the simulated API server serves the kind");
        let meta = &stored["metadata"];
        Expected {
            key: OccurrenceKey {
                uid: meta["uid"].as_str().expect("uid").to_owned(),
                resource_version: meta["resourceVersion"].as_str().expect("rv").to_owned(),
            },
            kind: self.kind,
            name: name.to_owned(),
            namespace: self.namespace,
            reason,
            message,
            event_type: if warning { "Warning" } else { "Normal" },
        }
    }

    /// Deletes the object `last` recorded; the deletion is a Normal record with the last summary.
    fn delete(&self, cluster: &SimCluster, last: &Expected) -> Expected {
        assert!(cluster.delete_object("v1", self.kind, self.namespace, &last.name));
        Expected {
            key: OccurrenceKey {
                uid: last.key.uid.clone(),
                // Nothing else writes meanwhile: the deletion took the newest resourceVersion.
                resource_version: cluster.resource_version().to_string(),
            },
            reason: Some("Deleted"),
            event_type: "Normal",
            ..last.clone()
        }
    }
}

fn all_kinds() -> EventStreamConfig {
    EventStreamConfig::default().objects(ObjectKind::ALL)
}

/// Waits until every scope (events and each object kind) has listed, so no change is coalesced
/// into an initial list.
async fn wait_ready(exporter: &Exporter) {
    let health = exporter.health.clone();
    wait_until(
        "every watch scope established",
        Duration::from_secs(10),
        || {
            let readiness = health.readiness(Duration::from_secs(60));
            readiness.is_ready() && readiness.scopes.len() == 1 + ObjectKind::ALL.len()
        },
    )
    .await;
}

fn object_changes(exporter: &Exporter) -> Vec<Event> {
    exporter
        .sink
        .events()
        .into_iter()
        .filter(|e| e.api == EventApi::ObjectChange)
        .collect()
}

fn deletions(exporter: &Exporter) -> Vec<Event> {
    object_changes(exporter)
        .into_iter()
        .filter(|e| e.reason == "Deleted")
        .collect()
}

/// Every expected change stored exactly once, nothing else, each with its record fields.
fn assert_records(exporter: &Exporter, expected: &[Expected]) {
    let stored = object_changes(exporter);
    let keys: Vec<OccurrenceKey> = stored.iter().map(Event::key).collect();
    let want: Vec<OccurrenceKey> = expected.iter().map(|e| e.key.clone()).collect();
    assert_exactly_once(&keys, &want);
    let by_key: BTreeMap<OccurrenceKey, &Event> = stored.iter().map(|e| (e.key(), e)).collect();
    for exp in expected {
        let got = by_key[&exp.key];
        let what = format!("{} {} at {}", exp.kind, exp.name, exp.key);
        if let Some(reason) = exp.reason {
            assert_eq!(got.reason, reason, "{what}");
        } else {
            assert!(
                ["Added", "Modified"].contains(&got.reason.as_str()),
                "{what}"
            );
        }
        assert_eq!(got.message, exp.message, "{what}");
        assert_eq!(got.event_type, exp.event_type, "{what}");
        assert_eq!(got.regarding.kind, exp.kind, "{what}");
        assert_eq!(got.regarding.name, exp.name, "{what}");
        assert_eq!(
            got.regarding.uid.as_deref(),
            Some(exp.key.uid.as_str()),
            "{what}"
        );
        assert_eq!(got.regarding.api_version.as_deref(), Some("v1"), "{what}");
        assert_eq!(got.namespace.as_deref(), exp.namespace, "{what}");
        assert_eq!(
            got.reporting_controller.as_deref(),
            Some("event-keeper"),
            "{what}"
        );
    }
}

/// A simulated cluster and an exporter watching its Events and every object kind, every scope
/// established.
async fn watching_every_kind() -> (SimCluster, Exporter) {
    init_tracing();
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    let mut exporter = Exporter::new();
    exporter.start(&cluster, all_kinds()).await;
    wait_ready(&exporter).await;
    (cluster, exporter)
}

async fn wait_for(exporter: &Exporter, expected: &[Expected]) {
    let keys: Vec<OccurrenceKey> = expected.iter().map(|e| e.key.clone()).collect();
    exporter.wait_for(&keys).await;
}

#[tokio::test]
async fn every_change_of_each_kind_arrives_once_with_its_reason_and_summary() {
    let (cluster, mut exporter) = watching_every_kind().await;

    let mut expected = Vec::new();
    for kind in &KINDS {
        let name = format!("{}-a", kind.kind.to_lowercase());
        expected.push(kind.apply(&cluster, &name, 0, Some("Added")));
        expected.push(kind.apply(&cluster, &name, 1, Some("Modified")));
        let last = kind.apply(&cluster, &name, 2, Some("Modified"));
        expected.push(last.clone());
        expected.push(kind.delete(&cluster, &last));
    }
    // An Event's deletion is its TTL expiring: it is still not exported.
    let event = cluster.create_event(NewEvent::new("payments", "BackOff").regarding("Pod", "api"));
    assert!(cluster.delete_event(&event));

    wait_for(&exporter, &expected).await;
    exporter.wait_for(&[key(&event)]).await;
    assert_records(&exporter, &expected);
    let events: Vec<Event> = exporter
        .sink
        .events()
        .into_iter()
        .filter(|e| e.api != EventApi::ObjectChange)
        .collect();
    assert_eq!(
        events.len(),
        1,
        "the Event once, its deletion not: {events:?}"
    );
    assert_eq!(events[0].key(), key(&event));
    exporter.stop().await;
}

#[tokio::test]
async fn a_restart_within_the_history_window_replays_exactly_the_changes_made_while_down() {
    let (cluster, mut exporter) = watching_every_kind().await;
    let mut expected = Vec::new();
    for kind in &KINDS {
        let name = format!("{}-a", kind.kind.to_lowercase());
        expected.push(kind.apply(&cluster, &name, 0, Some("Added")));
    }
    wait_for(&exporter, &expected).await;
    exporter.stop().await;

    // While it is down: two updates and a deletion of each object, and a new object per kind.
    for kind in &KINDS {
        let name = format!("{}-a", kind.kind.to_lowercase());
        expected.push(kind.apply(&cluster, &name, 1, Some("Modified")));
        let last = kind.apply(&cluster, &name, 2, Some("Modified"));
        expected.push(last.clone());
        expected.push(kind.delete(&cluster, &last));
        let other = format!("{}-b", kind.kind.to_lowercase());
        expected.push(kind.apply(&cluster, &other, 1, Some("Added")));
    }

    exporter.start(&cluster, all_kinds()).await;
    wait_for(&exporter, &expected).await;
    assert_records(&exporter, &expected);
    assert_eq!(
        exporter.metrics.gone(),
        0,
        "every scope resumed from its point"
    );
    assert_eq!(exporter.metrics.coalesced(), 0, "nothing was coalesced");
    exporter.stop().await;
}

#[tokio::test]
async fn after_a_compaction_while_down_the_latest_state_of_each_changed_object_arrives_once() {
    let (cluster, mut exporter) = watching_every_kind().await;
    let mut expected = Vec::new();
    for kind in &KINDS {
        let lower = kind.kind.to_lowercase();
        expected.push(kind.apply(&cluster, &format!("{lower}-a"), 0, Some("Added")));
        expected.push(kind.apply(&cluster, &format!("{lower}-b"), 0, Some("Added")));
    }
    wait_for(&exporter, &expected).await;
    exporter.stop().await;

    // Downtime past the history window: `-a` changes twice (only its latest state can
    // arrive), `-b` does not change (it must not arrive again), `-c` is new.
    for kind in &KINDS {
        let lower = kind.kind.to_lowercase();
        kind.apply(&cluster, &format!("{lower}-a"), 1, None);
        // Whether this is reported `Modified` depends on the ledger still tracking `-a` one by
        // one, which a checkpoint need not (its resume point covers it): either is allowed.
        expected.push(kind.apply(&cluster, &format!("{lower}-a"), 2, None));
        expected.push(kind.apply(&cluster, &format!("{lower}-c"), 1, Some("Added")));
    }
    cluster.compact();

    exporter.start(&cluster, all_kinds()).await;
    wait_for(&exporter, &expected).await;
    assert_records(&exporter, &expected);
    let kinds = KINDS.len() as u64;
    assert_eq!(
        exporter.metrics.gone(),
        kinds,
        "each object scope had to relist"
    );
    assert_eq!(
        exporter.metrics.coalesced(),
        2 * kinds,
        "the changed and the new object of each kind"
    );
    exporter.stop().await;
}

#[tokio::test]
async fn an_object_deleted_while_the_watch_could_not_resume_arrives_once_as_deleted() {
    let (cluster, mut exporter) = watching_every_kind().await;
    let mut expected = Vec::new();
    let mut doomed = Vec::new();
    for kind in &KINDS {
        let lower = kind.kind.to_lowercase();
        expected.push(kind.apply(&cluster, &format!("{lower}-a"), 0, Some("Added")));
        let b = kind.apply(&cluster, &format!("{lower}-b"), 0, Some("Added"));
        expected.push(b.clone());
        doomed.push(b);
    }
    wait_for(&exporter, &expected).await;

    // The API server goes away while the exporter runs; meanwhile `-a` changes and `-b` is
    // deleted, and the history is compacted, so the watch cannot resume and relists.
    cluster.stop().await;
    for kind in &KINDS {
        let lower = kind.kind.to_lowercase();
        expected.push(kind.apply(&cluster, &format!("{lower}-a"), 1, Some("Modified")));
    }
    for (kind, b) in KINDS.iter().zip(&doomed) {
        assert!(cluster.delete_object("v1", kind.kind, kind.namespace, &b.name));
    }
    let after_deletions = cluster.resource_version();
    cluster.compact();
    cluster.restart().await;
    wait_for(&exporter, &expected).await;
    let kinds = KINDS.len() as u64;
    wait_until(
        "a Deleted record of each object gone in the gap",
        Duration::from_secs(10),
        || deletions(&exporter).len() == doomed.len(),
    )
    .await;
    for b in &doomed {
        let found: Vec<Event> = deletions(&exporter)
            .into_iter()
            .filter(|e| e.uid == b.key.uid)
            .collect();
        assert_eq!(found.len(), 1, "{} {}: {found:?}", b.kind, b.name);
        let got = &found[0];
        assert_eq!(got.regarding.kind, b.kind);
        assert_eq!(got.regarding.name, b.name);
        assert_eq!(got.namespace.as_deref(), b.namespace);
        assert_eq!(got.event_type, "Normal");
        assert!(
            got.message.starts_with(event_core::event::GONE_IN_GAP),
            "{}",
            got.message
        );
        let rv: u64 = got.resource_version.parse().unwrap();
        let added: u64 = b.key.resource_version.parse().unwrap();
        assert!(
            added < rv && rv <= after_deletions,
            "{added} < {rv} <= {after_deletions}"
        );
    }
    assert_eq!(exporter.metrics.deleted_in_gap(), kinds);
    assert!(
        exporter.metrics.gone() >= kinds,
        "each object scope relisted"
    );

    // After a restart the deletions are not reported again.
    exporter.stop().await;
    exporter.start(&cluster, all_kinds()).await;
    wait_ready(&exporter).await;
    let marker = KINDS[0].apply(&cluster, "pod-c", 0, Some("Added"));
    expected.push(marker);
    wait_for(&exporter, &expected).await;
    let keys: Vec<OccurrenceKey> = object_changes(&exporter).iter().map(Event::key).collect();
    let mut want: Vec<OccurrenceKey> = expected.iter().map(|e| e.key.clone()).collect();
    want.extend(deletions(&exporter).iter().map(Event::key));
    assert_exactly_once(&keys, &want);
    exporter.stop().await;
}

#[tokio::test]
async fn namespaced_kinds_are_watched_per_namespace_and_cluster_kinds_once() {
    init_tracing();
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    let mut exporter = Exporter::new();
    let config = EventStreamConfig::default()
        .namespaces(["payments", "checkout"])
        .objects([ObjectKind::Pods, ObjectKind::Nodes, ObjectKind::Pods]);
    exporter.start(&cluster, config).await;
    let health = exporter.health.clone();
    wait_until(
        "every watch scope established",
        Duration::from_secs(10),
        || health.readiness(Duration::from_secs(60)).is_ready(),
    )
    .await;
    let scopes: Vec<String> = health
        .readiness(Duration::from_secs(60))
        .scopes
        .into_iter()
        .map(|s| s.scope)
        .collect();
    assert_eq!(
        scopes,
        [
            "events@checkout",
            "events@payments",
            "nodes",
            "pods@checkout",
            "pods@payments"
        ]
    );

    let pods = &KINDS[0];
    let nodes = &KINDS[1];
    let mut expected = vec![
        pods.apply(&cluster, "api-1", 1, Some("Added")),
        nodes.apply(&cluster, "ip-10-0-1-5", 0, Some("Added")),
    ];
    // A pod elsewhere is not watched.
    let elsewhere = Kind {
        namespace: Some("kube-system"),
        ..KINDS[0]
    };
    let skipped = elsewhere.apply(&cluster, "coredns", 1, Some("Added"));
    expected.push(pods.apply(&cluster, "api-2", 2, Some("Added")));
    wait_for(&exporter, &expected).await;
    assert_records(&exporter, &expected);
    assert!(!exporter.sink.keys().contains(&skipped.key));
    exporter.stop().await;
}
