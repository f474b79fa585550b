//! The simulated API server through an unmodified kube-rs client: lists, single GETs, watches,
//! compaction, TTL, bookmarks, discovery, and agreement with the recorded fixtures.

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Event as CoreEvent;
use k8s_openapi::api::events::v1::Event as EventsEvent;
use kube::Api;
use kube::api::{ListParams, WatchEvent, WatchParams};
use serde_json::Value;
use testkit::{ApiGroup, NewEvent, SimCluster, SimConfig};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/real-cluster/");

/// Fails a test that would otherwise hang.
const PATIENCE: Duration = Duration::from_secs(5);

fn fixture(name: &str) -> Value {
    let text = std::fs::read_to_string(format!("{FIXTURES}{name}")).unwrap();
    serde_json::from_str(&text).unwrap()
}

async fn start(config: SimConfig) -> SimCluster {
    SimCluster::start(config).await.unwrap()
}

async fn get_json(cluster: &SimCluster, path: &str) -> (u16, Value) {
    let req = hyper::Request::get(path).body(Vec::new()).unwrap();
    let text = cluster.client().request_text(req).await;
    match text {
        Ok(text) => (200, serde_json::from_str(&text).unwrap()),
        Err(kube::Error::Api(status)) => (status.code, serde_json::to_value(&*status).unwrap()),
        Err(other) => panic!("{other}"),
    }
}

/// Drains a watch stream until `n` events arrived.
async fn next_events<K, S>(stream: &mut S, n: usize) -> Vec<WatchEvent<K>>
where
    S: futures::Stream<Item = kube::Result<WatchEvent<K>>> + Unpin,
{
    let mut events = Vec::new();
    while events.len() < n {
        let item = tokio::time::timeout(PATIENCE, stream.next())
            .await
            .expect("watch stalled");
        events.push(item.expect("watch ended").expect("watch failed"));
    }
    events
}

fn rv_of<K: kube::Resource>(event: &WatchEvent<K>) -> String {
    match event {
        WatchEvent::Added(o) | WatchEvent::Modified(o) | WatchEvent::Deleted(o) => {
            o.meta().resource_version.clone().unwrap()
        }
        WatchEvent::Bookmark(b) => b.metadata.resource_version.clone(),
        WatchEvent::Error(e) => panic!("unexpected error event {e:?}"),
    }
}

#[tokio::test]
async fn lists_paginate_over_both_apis_with_a_consistent_snapshot() {
    let cluster = start(SimConfig::default()).await;
    for i in 0..7 {
        let api = if i % 2 == 0 {
            ApiGroup::CoreV1
        } else {
            ApiGroup::EventsV1
        };
        cluster.create_event(NewEvent::new("demo", format!("Reason{i}")).api(api));
    }
    cluster.create_event(NewEvent::new("other", "Elsewhere"));
    let events: Api<EventsEvent> = Api::namespaced(cluster.client(), "demo");
    let first = events.list(&ListParams::default().limit(3)).await.unwrap();
    assert_eq!(first.items.len(), 3);
    assert_eq!(first.metadata.remaining_item_count, Some(4));
    let snapshot_rv = first.metadata.resource_version.clone().unwrap();
    // A write between pages is not part of the snapshot.
    cluster.create_event(NewEvent::new("demo", "Late"));
    let mut seen: Vec<String> = first
        .items
        .iter()
        .map(|e| e.reason.clone().unwrap())
        .collect();
    let mut token = first.metadata.continue_.clone();
    while let Some(t) = token.filter(|t| !t.is_empty()) {
        let page = events
            .list(&ListParams::default().limit(3).continue_token(&t))
            .await
            .unwrap();
        assert_eq!(
            page.metadata.resource_version.as_deref(),
            Some(snapshot_rv.as_str())
        );
        seen.extend(page.items.iter().map(|e| e.reason.clone().unwrap()));
        token = page.metadata.continue_;
    }
    seen.sort();
    assert_eq!(
        seen,
        (0..7).map(|i| format!("Reason{i}")).collect::<Vec<_>>()
    );
    let core: Api<CoreEvent> = Api::all(cluster.client());
    let everything = core.list(&ListParams::default()).await.unwrap();
    assert_eq!(everything.items.len(), 9);
    assert_eq!(
        everything.metadata.resource_version,
        Some(cluster.resource_version().to_string())
    );
    let stats = cluster.stats();
    assert_eq!((stats.lists, stats.list_pages), (2, 4));
}

#[tokio::test]
async fn max_page_size_caps_the_limit_a_client_asks_for() {
    let cluster = start(SimConfig::default().max_page_size(Some(2))).await;
    for i in 0..5 {
        cluster.create_event(NewEvent::new("demo", format!("R{i}")));
    }
    let core: Api<CoreEvent> = Api::namespaced(cluster.client(), "demo");
    let page = core.list(&ListParams::default().limit(500)).await.unwrap();
    assert_eq!(page.items.len(), 2);
    assert!(page.metadata.continue_.is_some());
    let unlimited = core.list(&ListParams::default()).await.unwrap();
    assert_eq!(unlimited.items.len(), 2, "no limit still gets the cap");
}

#[tokio::test]
async fn a_continue_token_answers_410_expired_after_compaction() {
    let cluster = start(SimConfig::default()).await;
    for i in 0..4 {
        cluster.create_event(NewEvent::new("demo", format!("R{i}")));
    }
    let core: Api<CoreEvent> = Api::namespaced(cluster.client(), "demo");
    let first = core.list(&ListParams::default().limit(2)).await.unwrap();
    cluster.compact();
    let token = first.metadata.continue_.unwrap();
    let err = core
        .list(&ListParams::default().limit(2).continue_token(&token))
        .await
        .unwrap_err();
    let kube::Error::Api(status) = err else {
        panic!("expected a Status, got {err}")
    };
    assert_eq!((status.code, status.reason.as_str()), (410, "Expired"));
    assert_eq!(cluster.stats().list_410s, 1);
}

#[tokio::test]
async fn single_events_are_served_in_both_views_with_the_same_identity() {
    let cluster = start(SimConfig::default()).await;
    let created = cluster.create_event(
        NewEvent::new("demo", "FailedScheduling")
            .regarding("Pod", "api-7d9f")
            .message("0/3 nodes are available")
            .warning()
            .api(ApiGroup::EventsV1),
    );
    let bumped = cluster.bump_event(&created).unwrap();
    let new: Api<EventsEvent> = Api::namespaced(cluster.client(), "demo");
    let old: Api<CoreEvent> = Api::namespaced(cluster.client(), "demo");
    let a = new.get(&created.name).await.unwrap();
    let b = old.get(&created.name).await.unwrap();
    assert_eq!(a.metadata.uid, b.metadata.uid);
    assert_eq!(
        a.metadata.resource_version.as_deref(),
        Some(bumped.resource_version.as_str())
    );
    assert_eq!(b.metadata.resource_version, a.metadata.resource_version);
    assert_eq!(a.note.as_deref(), Some("0/3 nodes are available"));
    assert_eq!(b.message, a.note);
    assert_eq!(a.series.as_ref().map(|s| s.count), Some(2));
    assert_eq!(b.series.and_then(|s| s.count), Some(2));
    assert_eq!(
        a.regarding.and_then(|r| r.name).as_deref(),
        Some("api-7d9f")
    );
    let missing = old.get("nope").await.unwrap_err();
    assert!(matches!(missing, kube::Error::Api(s) if s.code == 404 && s.reason == "NotFound"));
}

#[tokio::test]
async fn the_events_view_of_the_recorded_core_list_equals_the_recorded_events_list() {
    let cluster = start(SimConfig::default()).await;
    let core_list = fixture("list-core-v1.json");
    let events_list = fixture("list-events.k8s.io-v1.json");
    let core_items = core_list["items"].as_array().unwrap().clone();
    let expected = events_list["items"].as_array().unwrap();
    assert_eq!(core_items.len(), 20);
    cluster.restore_events(core_items.clone()).unwrap();
    // Raw list: items come without kind/apiVersion (as from kube-apiserver); kubectl, which
    // recorded the fixtures, adds them back.
    let (code, list) = get_json(&cluster, "/apis/events.k8s.io/v1/namespaces/demo/events").await;
    assert_eq!(code, 200);
    assert_eq!(list["kind"], "EventList");
    let served: Vec<Value> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            let mut item = item.clone();
            item["kind"] = "Event".into();
            item["apiVersion"] = "events.k8s.io/v1".into();
            item
        })
        .collect();
    assert_eq!(&served, expected);
    // Single objects carry kind/apiVersion themselves, in both views.
    for (core, events) in core_items.iter().zip(expected) {
        let name = core["metadata"]["name"].as_str().unwrap();
        let (_, got) = get_json(
            &cluster,
            &format!("/apis/events.k8s.io/v1/namespaces/demo/events/{name}"),
        )
        .await;
        assert_eq!(&got, events);
        let (_, got) = get_json(&cluster, &format!("/api/v1/namespaces/demo/events/{name}")).await;
        assert_eq!(&got, core);
    }
    // And the unmodified typed client reads the same objects.
    let typed: Api<EventsEvent> = Api::namespaced(cluster.client(), "demo");
    let items = typed.list(&ListParams::default()).await.unwrap().items;
    let recorded: Vec<EventsEvent> =
        serde_json::from_value(Value::Array(expected.clone())).unwrap();
    assert_eq!(items, recorded);
}

#[tokio::test]
async fn a_watch_from_a_resource_version_replays_history_then_follows_live_changes() {
    let cluster = start(SimConfig::default()).await;
    let a = cluster.create_event(NewEvent::new("demo", "A"));
    let start_rv = a.resource_version.clone();
    let b = cluster.create_event(NewEvent::new("demo", "B").api(ApiGroup::EventsV1));
    let a2 = cluster.bump_event(&a).unwrap();
    assert!(cluster.delete_event(&b));
    let api: Api<EventsEvent> = Api::namespaced(cluster.client(), "demo");
    let params = WatchParams::default().disable_bookmarks();
    let mut stream = api.watch(&params, &start_rv).await.unwrap().boxed();
    let replay = next_events(&mut stream, 3).await;
    assert!(
        matches!(&replay[0], WatchEvent::Added(e) if e.metadata.name.as_deref() == Some(b.name.as_str()))
    );
    assert!(matches!(&replay[1], WatchEvent::Modified(e) if e.deprecated_count == Some(2)));
    assert!(
        matches!(&replay[2], WatchEvent::Deleted(e) if e.metadata.uid.as_deref() == Some(b.uid.as_str()))
    );
    assert_eq!(rv_of(&replay[1]), a2.resource_version);
    // The DELETED object carries the deletion's own, new resourceVersion.
    assert_eq!(rv_of(&replay[2]), cluster.resource_version().to_string());
    let c = cluster.create_event(NewEvent::new("demo", "C"));
    let live = next_events(&mut stream, 1).await;
    assert_eq!(rv_of(&live[0]), c.resource_version);
}

#[tokio::test]
async fn a_watch_without_resource_version_starts_with_synthetic_added_events() {
    let cluster = start(SimConfig::default()).await;
    cluster.create_event(NewEvent::new("demo", "A"));
    cluster.create_event(NewEvent::new("demo", "B"));
    let api: Api<CoreEvent> = Api::all(cluster.client());
    let mut stream = api
        .watch(&WatchParams::default().disable_bookmarks(), "0")
        .await
        .unwrap()
        .boxed();
    let initial = next_events(&mut stream, 2).await;
    assert!(initial.iter().all(|e| matches!(e, WatchEvent::Added(_))));
}

#[tokio::test]
async fn a_watch_from_a_compacted_resource_version_gets_an_error_event_with_410() {
    let cluster = start(SimConfig::default()).await;
    let a = cluster.create_event(NewEvent::new("demo", "A"));
    cluster.create_event(NewEvent::new("demo", "B"));
    cluster.compact();
    let api: Api<CoreEvent> = Api::namespaced(cluster.client(), "demo");
    // HTTP 200, then an ERROR event, then the end of the stream.
    let mut stream = api
        .watch(&WatchParams::default(), "1")
        .await
        .unwrap()
        .boxed();
    let item = tokio::time::timeout(PATIENCE, stream.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let WatchEvent::Error(status) = item else {
        panic!("expected an ERROR event")
    };
    assert_eq!((status.code, status.reason.as_str()), (410, "Expired"));
    assert_eq!(
        status.message,
        format!("too old resource version: {} (2)", a.resource_version)
    );
    assert!(
        tokio::time::timeout(PATIENCE, stream.next())
            .await
            .unwrap()
            .is_none()
    );
    // Watching from the current resourceVersion is still fine.
    let current = cluster.resource_version().to_string();
    assert!(api.watch(&WatchParams::default(), &current).await.is_ok());
    assert_eq!(cluster.stats().watch_410s, 1);
}

#[tokio::test]
async fn a_watch_older_than_the_history_window_gets_410() {
    let cluster = start(SimConfig::default().history_window(3)).await;
    let first = cluster.create_event(NewEvent::new("demo", "A"));
    for i in 0..4 {
        cluster.create_event(NewEvent::new("demo", format!("R{i}")));
    }
    let api: Api<CoreEvent> = Api::namespaced(cluster.client(), "demo");
    let mut stream = api
        .watch(&WatchParams::default(), &first.resource_version)
        .await
        .unwrap()
        .boxed();
    let item = tokio::time::timeout(PATIENCE, stream.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(matches!(item, WatchEvent::Error(s) if s.code == 410));
    let mut ok = api
        .watch(&WatchParams::default().disable_bookmarks(), "2")
        .await
        .unwrap()
        .boxed();
    assert_eq!(next_events(&mut ok, 3).await.len(), 3);
}

#[tokio::test]
async fn the_ttl_sweep_sends_deleted_for_expired_events_at_one_resource_version() {
    let ttl = Duration::from_millis(150);
    let config = SimConfig::default()
        .event_ttl(Some(ttl))
        .ttl_sweep_interval(Some(Duration::from_millis(20)));
    let cluster = start(config).await;
    let old = [
        cluster.create_event(NewEvent::new("demo", "A")),
        cluster.create_event(NewEvent::new("demo", "B")),
    ];
    let api: Api<CoreEvent> = Api::namespaced(cluster.client(), "demo");
    let from = cluster.resource_version().to_string();
    let mut stream = api
        .watch(&WatchParams::default().disable_bookmarks(), &from)
        .await
        .unwrap()
        .boxed();
    let deleted = next_events(&mut stream, 2).await;
    let rvs: Vec<String> = deleted.iter().map(rv_of).collect();
    assert!(deleted.iter().all(|e| matches!(e, WatchEvent::Deleted(_))));
    assert_eq!(rvs[0], rvs[1], "one sweep, one resourceVersion");
    assert_eq!(cluster.event_count(), 0);
    assert!(!cluster.delete_event(&old[0]));
    assert!(cluster.bump_event(&old[1]).is_none());
}

#[tokio::test]
async fn expire_events_runs_the_sweep_on_demand_and_only_with_a_ttl() {
    let without = start(SimConfig::default()).await;
    without.create_event(NewEvent::new("demo", "A"));
    assert_eq!(without.expire_events(), 0);
    let cluster = start(SimConfig::default().event_ttl(Some(Duration::from_secs(3600)))).await;
    cluster.create_event(NewEvent::new("demo", "A"));
    assert_eq!(cluster.expire_events(), 0, "not yet expired");
    assert_eq!(cluster.event_count(), 1);
    // Without a background sweep, expiry happens exactly when the test says.
    let manual = SimConfig::default()
        .event_ttl(Some(Duration::from_millis(10)))
        .ttl_sweep_interval(None);
    let cluster = start(manual).await;
    let first = cluster.create_event(NewEvent::new("demo", "A"));
    cluster.create_event(NewEvent::new("demo", "B"));
    tokio::time::sleep(Duration::from_millis(30)).await;
    assert_eq!(cluster.event_count(), 2, "no background sweep");
    let before = cluster.resource_version();
    assert_eq!(cluster.expire_events(), 2);
    assert_eq!(
        cluster.resource_version(),
        before + 1,
        "one sweep, one resourceVersion"
    );
    assert!(cluster.bump_event(&first).is_none());
}

#[tokio::test]
async fn bookmarks_arrive_on_watches_that_allow_them() {
    let cluster =
        start(SimConfig::default().bookmark_interval(Some(Duration::from_millis(50)))).await;
    let ev = cluster.create_event(NewEvent::new("demo", "A"));
    let api: Api<EventsEvent> = Api::namespaced(cluster.client(), "demo");
    let mut stream = api
        .watch(&WatchParams::default(), &ev.resource_version)
        .await
        .unwrap()
        .boxed();
    let got = next_events(&mut stream, 1).await;
    let WatchEvent::Bookmark(bookmark) = &got[0] else {
        panic!("expected a bookmark")
    };
    assert_eq!(bookmark.metadata.resource_version, ev.resource_version);
    assert_eq!(bookmark.types.api_version, "events.k8s.io/v1");
    assert!(cluster.stats().bookmarks >= 1);
}

#[tokio::test]
async fn a_streaming_list_ends_its_initial_events_with_an_annotated_bookmark() {
    let cluster = start(SimConfig::default().bookmark_interval(None)).await;
    cluster.create_event(NewEvent::new("demo", "A"));
    cluster.create_event(NewEvent::new("demo", "B"));
    let api: Api<CoreEvent> = Api::namespaced(cluster.client(), "demo");
    let params = WatchParams::default().initial_events();
    let mut stream = api.watch(&params, "0").await.unwrap().boxed();
    let got = next_events(&mut stream, 3).await;
    assert!(matches!(&got[0], WatchEvent::Added(_)) && matches!(&got[1], WatchEvent::Added(_)));
    let WatchEvent::Bookmark(end) = &got[2] else {
        panic!("expected the initial-events-end bookmark")
    };
    assert_eq!(
        end.metadata
            .annotations
            .get("k8s.io/initial-events-end")
            .map(String::as_str),
        Some("true")
    );
    assert_eq!(
        end.metadata.resource_version,
        cluster.resource_version().to_string()
    );
}

#[tokio::test]
async fn timeout_seconds_ends_the_watch_cleanly() {
    let cluster = start(SimConfig::default()).await;
    let api: Api<CoreEvent> = Api::all(cluster.client());
    let stream = api
        .watch(&WatchParams::default().timeout(1), "0")
        .await
        .unwrap();
    let rest: Vec<_> = tokio::time::timeout(PATIENCE, stream.try_collect::<Vec<_>>())
        .await
        .unwrap()
        .unwrap();
    assert!(rest.iter().all(|e| matches!(e, WatchEvent::Bookmark(_))));
}

#[tokio::test]
async fn discovery_omits_events_k8s_io_when_the_server_does_not_serve_it() {
    let with = start(SimConfig::default()).await;
    let groups = with.client().list_api_groups().await.unwrap();
    assert!(groups.groups.iter().any(|g| g.name == "events.k8s.io"));
    let resources = with
        .client()
        .list_api_group_resources("events.k8s.io/v1")
        .await
        .unwrap();
    assert!(resources.resources.iter().any(|r| r.name == "events"));
    let without = start(SimConfig::default().serve_events_v1(false)).await;
    let client = without.client();
    let groups = client.list_api_groups().await.unwrap();
    assert!(groups.groups.iter().all(|g| g.name != "events.k8s.io"));
    assert!(
        groups
            .groups
            .iter()
            .any(|g| g.name == "coordination.k8s.io")
    );
    let err = client
        .list_api_group_resources("events.k8s.io/v1")
        .await
        .unwrap_err();
    assert!(matches!(err, kube::Error::Api(s) if s.code == 404));
    let api: Api<EventsEvent> = Api::all(client.clone());
    assert!(
        matches!(api.list(&ListParams::default()).await, Err(kube::Error::Api(s)) if s.code == 404)
    );
    let core = client.list_core_api_resources("v1").await.unwrap();
    assert!(
        core.resources
            .iter()
            .any(|r| r.name == "events" && r.namespaced)
    );
    let version = client.apiserver_version().await.unwrap();
    assert_eq!(version.major, "1");
}

#[tokio::test]
async fn kube_rs_discovery_finds_both_event_apis_legacy_and_aggregated() {
    let cluster = start(SimConfig::default()).await;
    for discovery in [
        kube::Discovery::new(cluster.client()).run().await.unwrap(),
        kube::Discovery::new(cluster.client())
            .run_aggregated()
            .await
            .unwrap(),
    ] {
        assert!(discovery.has_group("events.k8s.io"));
        assert!(discovery.has_group("coordination.k8s.io"));
        let (_, caps) = discovery
            .groups()
            .find(|g| g.name() == "")
            .unwrap()
            .recommended_kind("Event")
            .unwrap();
        assert!(caps.supports_operation(kube::discovery::verbs::WATCH));
    }
}

#[tokio::test]
async fn unknown_paths_answer_404_with_a_status_body() {
    let cluster = start(SimConfig::default()).await;
    for path in [
        "/api/v1/namespaces/demo/secrets",
        "/apis/apps/v1/deployments",
        "/healthz/x",
    ] {
        let (code, body) = get_json(&cluster, path).await;
        assert_eq!(code, 404, "{path}");
        assert_eq!(body["reason"], "NotFound");
    }
}

#[tokio::test]
async fn an_unavailable_server_answers_503_until_it_recovers_and_kube_retries_through_it() {
    let cluster = start(SimConfig::default()).await;
    cluster.create_event(NewEvent::new("demo", "A"));
    cluster.set_unavailable(true);
    let api: Api<CoreEvent> = Api::all(cluster.client());
    let pending = tokio::spawn(async move {
        api.list(&ListParams::default())
            .await
            .map(|l| l.items.len())
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        cluster.stats().unavailable_responses >= 2,
        "kube-rs retries a 503"
    );
    cluster.set_unavailable(false);
    let listed = tokio::time::timeout(PATIENCE, pending)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(listed, 1);
}

#[tokio::test]
async fn a_kubeconfig_written_by_the_cluster_reaches_it() {
    let cluster = start(SimConfig::default()).await;
    cluster.create_event(NewEvent::new("default", "A"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    cluster.write_kubeconfig(&path).unwrap();
    let kubeconfig = kube::config::Kubeconfig::read_from(&path).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .unwrap();
    let client = kube::Client::try_from(config).unwrap();
    let api: Api<CoreEvent> = Api::default_namespaced(client);
    assert_eq!(
        api.list(&ListParams::default()).await.unwrap().items.len(),
        1
    );
}
