//! Objects other than events: leases and configmaps with optimistic concurrency (what leader
//! election and a ConfigMap checkpoint need), and list/watch of pods and nodes.

use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::{ConfigMap, Event as CoreEvent, Node, Pod};
use k8s_openapi::api::events::v1::Event as EventsEvent;
use kube::Api;
use kube::api::{
    DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use serde_json::json;
use testkit::{SimCluster, SimConfig, SimError};

const PATIENCE: Duration = Duration::from_secs(5);

fn status_code(err: kube::Error) -> u16 {
    match err {
        kube::Error::Api(status) => status.code,
        other => panic!("expected an API error, got {other}"),
    }
}

fn lease(name: &str, holder: &str) -> Lease {
    Lease {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..ObjectMeta::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some(holder.into()),
            lease_duration_seconds: Some(15),
            ..LeaseSpec::default()
        }),
    }
}

#[tokio::test]
async fn leases_support_leader_election_with_resource_version_conflicts() {
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    let leases: Api<Lease> = Api::namespaced(cluster.client(), "kube-system");
    let pp = PostParams::default();
    let created = leases
        .create(&pp, &lease("event-keeper", "pod-a"))
        .await
        .unwrap();
    let rv = created.metadata.resource_version.clone().unwrap();
    assert!(created.metadata.uid.is_some());
    assert_eq!(
        status_code(
            leases
                .create(&pp, &lease("event-keeper", "pod-b"))
                .await
                .unwrap_err()
        ),
        409
    );
    // Two candidates race from the same version: the first wins, the second conflicts.
    let mut take_a = created.clone();
    take_a.spec.as_mut().unwrap().holder_identity = Some("pod-a".into());
    let mut take_b = created.clone();
    take_b.spec.as_mut().unwrap().holder_identity = Some("pod-b".into());
    let renewed = leases.replace("event-keeper", &pp, &take_a).await.unwrap();
    assert_ne!(
        renewed.metadata.resource_version.as_deref(),
        Some(rv.as_str())
    );
    assert_eq!(renewed.metadata.uid, created.metadata.uid);
    assert_eq!(
        status_code(
            leases
                .replace("event-keeper", &pp, &take_b)
                .await
                .unwrap_err()
        ),
        409
    );
    // A merge patch carrying a stale resourceVersion conflicts too; a current one applies.
    let stale = json!({"metadata": {"resourceVersion": rv}, "spec": {"holderIdentity": "pod-b"}});
    let err = leases
        .patch(
            "event-keeper",
            &PatchParams::default(),
            &Patch::Merge(&stale),
        )
        .await
        .unwrap_err();
    assert_eq!(status_code(err), 409);
    let current = renewed.metadata.resource_version.clone().unwrap();
    let fresh =
        json!({"metadata": {"resourceVersion": current}, "spec": {"holderIdentity": "pod-b"}});
    let moved = leases
        .patch(
            "event-keeper",
            &PatchParams::default(),
            &Patch::Merge(&fresh),
        )
        .await
        .unwrap();
    assert_eq!(
        moved.spec.unwrap().holder_identity.as_deref(),
        Some("pod-b")
    );
    assert_eq!(status_code(leases.get("missing").await.unwrap_err()), 404);
    leases
        .delete("event-keeper", &DeleteParams::default())
        .await
        .unwrap();
    assert_eq!(
        status_code(leases.get("event-keeper").await.unwrap_err()),
        404
    );
}

#[tokio::test]
async fn a_json_patch_test_operation_guards_an_update() {
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    let leases: Api<Lease> = Api::namespaced(cluster.client(), "default");
    let created = leases
        .create(&PostParams::default(), &lease("l", "a"))
        .await
        .unwrap();
    let rv = created.metadata.resource_version.unwrap();
    let patch = |expected_rv: &str| {
        let body = json!([
            {"op": "test", "path": "/metadata/resourceVersion", "value": expected_rv},
            {"op": "replace", "path": "/spec/holderIdentity", "value": "b"}
        ]);
        hyper::Request::patch("/apis/coordination.k8s.io/v1/namespaces/default/leases/l")
            .header("content-type", "application/json-patch+json")
            .body(serde_json::to_vec(&body).unwrap())
            .unwrap()
    };
    let err = cluster
        .client()
        .request_text(patch("999"))
        .await
        .unwrap_err();
    assert_eq!(status_code(err), 422);
    let text = cluster.client().request_text(patch(&rv)).await.unwrap();
    let patched: Lease = serde_json::from_str(&text).unwrap();
    assert_eq!(patched.spec.unwrap().holder_identity.as_deref(), Some("b"));
}

#[tokio::test]
async fn a_configmap_checkpoint_round_trips_and_server_side_apply_creates_it() {
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(cluster.client(), "event-keeper");
    let apply = PatchParams::apply("event-keeper").force();
    let first = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "checkpoint"},
        "data": {"resume": "41", "uids": "{}"}
    });
    let created = cms
        .patch("checkpoint", &apply, &Patch::Apply(&first))
        .await
        .unwrap();
    assert_eq!(created.data.unwrap()["resume"], "41");
    let update = json!({"data": {"resume": "42"}});
    let updated = cms
        .patch(
            "checkpoint",
            &PatchParams::default(),
            &Patch::Merge(&update),
        )
        .await
        .unwrap();
    let data = updated.data.unwrap();
    assert_eq!(
        (data["resume"].as_str(), data["uids"].as_str()),
        ("42", "{}")
    );
    let seen = cluster
        .object("v1", "ConfigMap", Some("event-keeper"), "checkpoint")
        .unwrap();
    assert_eq!(seen["data"]["resume"], "42");
    assert_eq!(seen["metadata"]["namespace"], "event-keeper");
    let listed = cms.list(&ListParams::default()).await.unwrap();
    assert_eq!(listed.items.len(), 1);
}

#[tokio::test]
async fn pods_and_nodes_list_and_watch_like_events() {
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    let pod = json!({"metadata": {"name": "api-7d9f", "namespace": "payments"}, "spec": {"nodeName": "node-1"}});
    let stored = cluster.apply_object("v1", "Pod", pod).unwrap();
    let rv = stored["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_owned();
    cluster
        .apply_object("v1", "Node", json!({"metadata": {"name": "node-1"}}))
        .unwrap();
    let pods: Api<Pod> = Api::namespaced(cluster.client(), "payments");
    let mut stream = pods
        .watch(&WatchParams::default().disable_bookmarks(), &rv)
        .await
        .unwrap()
        .boxed();
    let phase = json!({"metadata": {"name": "api-7d9f", "namespace": "payments"}, "status": {"phase": "Running"}});
    cluster.apply_object("v1", "Pod", phase).unwrap();
    assert!(cluster.delete_object("v1", "Pod", Some("payments"), "api-7d9f"));
    assert!(!cluster.delete_object("v1", "Pod", Some("payments"), "api-7d9f"));
    let mut kinds = Vec::new();
    while kinds.len() < 2 {
        let item = tokio::time::timeout(PATIENCE, stream.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        kinds.push(match item {
            WatchEvent::Modified(p) => format!("MODIFIED {}", p.status.unwrap().phase.unwrap()),
            WatchEvent::Deleted(p) => format!("DELETED {}", p.metadata.name.unwrap()),
            other => format!("{other:?}"),
        });
    }
    assert_eq!(kinds, ["MODIFIED Running", "DELETED api-7d9f"]);
    let nodes: Api<Node> = Api::all(cluster.client());
    let node = nodes.get("node-1").await.unwrap();
    assert!(node.metadata.namespace.is_none());
    assert_eq!(
        nodes
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .len(),
        1
    );
}

#[tokio::test]
async fn field_selectors_filter_lists_and_watches() {
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    for name in ["a", "b"] {
        cluster
            .apply_object(
                "v1",
                "Pod",
                json!({"metadata": {"name": name, "namespace": "x"}}),
            )
            .unwrap();
    }
    let pods: Api<Pod> = Api::all(cluster.client());
    let only_b = pods
        .list(&ListParams::default().fields("metadata.name=b"))
        .await
        .unwrap();
    assert_eq!(only_b.items.len(), 1);
    let events: Api<CoreEvent> = Api::all(cluster.client());
    let err = events
        .list(&ListParams::default().fields("message=x"))
        .await
        .unwrap_err();
    assert_eq!(status_code(err), 400);
}

#[tokio::test]
async fn events_created_through_either_api_are_one_stored_object() {
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    let new: Api<EventsEvent> = Api::namespaced(cluster.client(), "demo");
    let event: EventsEvent = serde_json::from_value(json!({
        "metadata": {"name": "web.1", "namespace": "demo"},
        "eventTime": "2026-11-24T00:54:05.729149Z",
        "reportingController": "example.com/operator", "reportingInstance": "op-1",
        "action": "Reconcile", "reason": "Synced", "type": "Normal", "note": "synced",
        "regarding": {"kind": "Pod", "namespace": "demo", "name": "web"}
    }))
    .unwrap();
    let created = new.create(&PostParams::default(), &event).await.unwrap();
    let old: Api<CoreEvent> = Api::namespaced(cluster.client(), "demo");
    let core = old.get("web.1").await.unwrap();
    assert_eq!(core.metadata.uid, created.metadata.uid);
    assert_eq!(core.message.as_deref(), Some("synced"));
    assert_eq!(
        core.reporting_component.as_deref(),
        Some("example.com/operator")
    );
    assert_eq!(cluster.event_count(), 1);
    old.delete("web.1", &DeleteParams::default()).await.unwrap();
    assert_eq!(cluster.event_count(), 0);
}

#[tokio::test]
async fn unknown_kinds_are_refused_by_apply_object() {
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    let err = cluster
        .apply_object("apps/v1", "Deployment", json!({"metadata": {"name": "x"}}))
        .unwrap_err();
    assert!(matches!(err, SimError::UnknownKind { .. }));
    let err = cluster
        .apply_object("v1", "Pod", json!({"metadata": {}}))
        .unwrap_err();
    assert!(matches!(err, SimError::InvalidObject(_)));
    assert!(cluster.object("v1", "Pod", Some("x"), "nope").is_none());
}
