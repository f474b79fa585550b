//! kube-runtime's `watcher` (with its default backoff) against the simulated API server and
//! its faults: it must see every occurrence, relist after a 410, and resume after a cut
//! connection or a restart without relisting.

use std::collections::BTreeSet;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Event as CoreEvent;
use k8s_openapi::api::events::v1::Event as EventsEvent;
use kube::api::ListParams;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use kube::{Api, Resource};
use testkit::{ApiGroup, EventRef, NewEvent, SimCluster, SimConfig};
use tokio::sync::mpsc;

const PATIENCE: Duration = Duration::from_secs(5);

type Item<K> = Result<Event<K>, watcher::Error>;

/// Runs the watcher in a task of its own, so it keeps reconnecting while the test acts.
fn spawn_watcher<K>(api: Api<K>) -> mpsc::UnboundedReceiver<Item<K>>
where
    K: Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + 'static,
{
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut stream = watcher::watcher(api, watcher::Config::default())
            .default_backoff()
            .boxed();
        while let Some(item) = stream.next().await {
            if tx.send(item).is_err() {
                return;
            }
        }
    });
    rx
}

/// Collects items until `done` says so.
async fn until<K>(
    rx: &mut mpsc::UnboundedReceiver<Item<K>>,
    mut done: impl FnMut(&Item<K>) -> bool,
) -> Vec<Item<K>> {
    let mut seen = Vec::new();
    loop {
        let item = tokio::time::timeout(PATIENCE, rx.recv())
            .await
            .expect("the watcher stalled")
            .expect("the watcher ended");
        let finished = done(&item);
        seen.push(item);
        if finished {
            return seen;
        }
    }
}

/// The `(uid, resourceVersion)` of an applied object.
fn occurrence<K: Resource>(item: &Item<K>) -> Option<(String, String)> {
    match item {
        Ok(Event::Apply(o) | Event::InitApply(o)) => {
            Some((o.meta().uid.clone()?, o.meta().resource_version.clone()?))
        }
        _ => None,
    }
}

fn key(ev: &EventRef) -> (String, String) {
    (ev.uid.clone(), ev.resource_version.clone())
}

/// Waits until the server has seen `n` watch requests, i.e. the watcher is past its list.
async fn watches_reach(cluster: &SimCluster, n: u64) {
    tokio::time::timeout(PATIENCE, async {
        while cluster.stats().watches < n {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the watcher never started watching");
}

async fn expect_occurrences<K: Resource>(
    rx: &mut mpsc::UnboundedReceiver<Item<K>>,
    wanted: &[(String, String)],
) -> Vec<Item<K>> {
    let mut missing: BTreeSet<_> = wanted.iter().cloned().collect();
    until(rx, |item| {
        if let Some(o) = occurrence(item) {
            missing.remove(&o);
        }
        missing.is_empty()
    })
    .await
}

#[tokio::test]
async fn the_watcher_sees_every_created_and_bumped_occurrence() {
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    let before = cluster.create_event(NewEvent::new("demo", "Existing"));
    let mut rx = spawn_watcher(Api::<EventsEvent>::all(cluster.client()));
    expect_occurrences(&mut rx, &[key(&before)]).await;
    watches_reach(&cluster, 1).await;
    let mut wanted = Vec::new();
    for i in 0..10 {
        let api = if i % 2 == 0 {
            ApiGroup::CoreV1
        } else {
            ApiGroup::EventsV1
        };
        let ev = cluster.create_event(NewEvent::new("demo", format!("R{i}")).api(api));
        wanted.push(key(&ev));
        let bumped = cluster.bump_event(&ev).unwrap();
        wanted.push(key(&bumped));
        let again = cluster.bump_event(&bumped).unwrap();
        wanted.push(key(&again));
    }
    let seen = expect_occurrences(&mut rx, &wanted).await;
    assert!(seen.iter().all(Result::is_ok));
    let stats = cluster.stats();
    assert_eq!((stats.lists, stats.watches), (1, 1));
    assert_eq!(stats.watch_events, 30);
}

#[tokio::test]
async fn the_watcher_relists_after_a_forced_410() {
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    let mut rx = spawn_watcher(Api::<CoreEvent>::namespaced(cluster.client(), "demo"));
    until(&mut rx, |i| matches!(i, Ok(Event::InitDone))).await;
    watches_reach(&cluster, 1).await;
    let a = cluster.create_event(NewEvent::new("demo", "A"));
    expect_occurrences(&mut rx, &[key(&a)]).await;
    cluster.force_watch_410();
    let b = cluster.create_event(NewEvent::new("demo", "B"));
    let seen = until(&mut rx, |i| matches!(i, Ok(Event::InitDone))).await;
    assert!(
        seen.iter()
            .any(|i| matches!(i, Err(watcher::Error::WatchError(s)) if s.code == 410)),
        "the 410 reaches the watcher: {seen:?}"
    );
    let relisted: BTreeSet<_> = seen.iter().filter_map(occurrence).collect();
    assert!(relisted.contains(&key(&b)), "B arrives with the relist");
    let c = cluster.create_event(NewEvent::new("demo", "C"));
    expect_occurrences(&mut rx, &[key(&c)]).await;
    let stats = cluster.stats();
    assert_eq!((stats.watch_410s, stats.lists), (1, 2));
}

#[tokio::test]
async fn the_watcher_resumes_after_a_connection_cut_mid_line_without_relisting() {
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    let mut rx = spawn_watcher(Api::<EventsEvent>::namespaced(cluster.client(), "demo"));
    until(&mut rx, |i| matches!(i, Ok(Event::InitDone))).await;
    watches_reach(&cluster, 1).await;
    // The cut writes half of B's line: the watcher must get B again by resuming from A.
    let a = cluster.create_event(NewEvent::new("demo", "A"));
    cluster.drop_connections();
    let b = cluster.create_event(NewEvent::new("demo", "B"));
    let seen = expect_occurrences(&mut rx, &[key(&a), key(&b)]).await;
    assert!(
        seen.iter().all(|i| !matches!(i, Ok(Event::Init))),
        "no relist: {seen:?}"
    );
    let stats = cluster.stats();
    assert_eq!(stats.connections_dropped, 1);
    assert_eq!(stats.lists, 1);
    assert!(stats.watches >= 2);
}

#[tokio::test]
async fn the_watcher_survives_a_stop_and_restart_on_the_same_port() {
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    let url = cluster.url();
    let mut rx = spawn_watcher(Api::<CoreEvent>::all(cluster.client()));
    until(&mut rx, |i| matches!(i, Ok(Event::InitDone))).await;
    watches_reach(&cluster, 1).await;
    cluster.stop().await;
    let api: Api<CoreEvent> = Api::all(cluster.client());
    let refused = api.list(&ListParams::default()).await.unwrap_err();
    assert!(
        !matches!(refused, kube::Error::Api(_)),
        "connection refused, not an API error: {refused}"
    );
    // Written while the server is down: the store and its history survive.
    let during = cluster.create_event(NewEvent::new("demo", "WhileDown"));
    cluster.restart().await;
    assert_eq!(cluster.url(), url);
    let seen = expect_occurrences(&mut rx, &[key(&during)]).await;
    assert!(
        seen.iter().all(|i| !matches!(i, Ok(Event::Init))),
        "resumed, not relisted: {seen:?}"
    );
    let after = cluster.create_event(NewEvent::new("demo", "AfterRestart"));
    expect_occurrences(&mut rx, &[key(&after)]).await;
    assert_eq!(cluster.stats().lists, 1);
}

#[tokio::test]
async fn the_watcher_sees_ttl_deletions() {
    let cluster = SimCluster::start(
        SimConfig::default()
            .event_ttl(Some(Duration::from_millis(100)))
            .ttl_sweep_interval(Some(Duration::from_millis(20))),
    )
    .await
    .unwrap();
    let mut rx = spawn_watcher(Api::<EventsEvent>::namespaced(cluster.client(), "demo"));
    until(&mut rx, |i| matches!(i, Ok(Event::InitDone))).await;
    let ev = cluster.create_event(NewEvent::new("demo", "Short"));
    let seen = until(&mut rx, |i| matches!(i, Ok(Event::Delete(_)))).await;
    let Some(Ok(Event::Delete(deleted))) = seen.last() else {
        unreachable!()
    };
    assert_eq!(deleted.metadata.uid.as_deref(), Some(ev.uid.as_str()));
    let rv: u64 = deleted
        .metadata
        .resource_version
        .as_deref()
        .unwrap()
        .parse()
        .unwrap();
    assert!(rv > ev.resource_version.parse::<u64>().unwrap());
}
