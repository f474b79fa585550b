//! `kill -9` of the real `eks_to_cloudwatch` binary again and again *inside* its first list of a
//! large cluster (200,000 live events, pages of 500), with the checkpoint in a ConfigMap and
//! leader election on, as the chart deploys it. Every save must be accepted (the checkpoint
//! stays small however far the list has come), and at the end the file archive holds every
//! occurrence exactly once, counted per occurrence key.
//!
//! Each run resumes the list from the checkpoint's settled prefix (`listed`), not from the
//! start, and asks the sink (`already_stored`) only about what the killed run had dispatched
//! past that prefix (`dispatchedListed`), not about the whole list: the figures say how many
//! events each run sent and how many that check caught.
//!
//! The kill moments come from a seeded generator; `FAULT_LIST_SEED=N` replays a run.

use std::sync::Arc;
use std::time::Duration;

use testkit::{NewEvent, SimCluster, SimConfig};
use tests::binary::ExporterProcess;
use tests::fault::{Figures, Moments, archive_keys, keys, settle};

/// Live events in the cluster: the issue asks for 200,000 or more.
const EVENTS: usize = 200_000;
/// Kills inside the list, at most; the list may end first.
const KILLS: usize = 10;
const NAMESPACE: &str = "event-keeper";
const LEASE: &str = "ek-list";
const CHECKPOINT: &str = "ek-list-checkpoint";

/// The saved checkpoint, as the ConfigMap holds it: its size in bytes, and its JSON.
fn saved(cluster: &SimCluster) -> Option<(usize, serde_json::Value)> {
    let map = cluster.object("v1", "ConfigMap", Some(NAMESPACE), CHECKPOINT)?;
    let text = map["data"]
        .as_object()?
        .values()
        .filter_map(serde_json::Value::as_str)
        .next()?
        .to_owned();
    let json = serde_json::from_str(&text).ok()?;
    Some((text.len(), json))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_inside_a_list_of_200_000_events_with_the_configmap_store_loses_and_repeats_nothing()
{
    tests::init_tracing();
    let (mut moments, seed) = Moments::seeded("FAULT_LIST_SEED");
    let cluster = Arc::new(
        SimCluster::start(SimConfig::default().max_page_size(Some(500)))
            .await
            .unwrap(),
    );
    let made: Vec<_> = (0..EVENTS)
        .map(|i| {
            cluster.create_event(
                NewEvent::new(format!("team-{:02}", i % 40), "BackOff")
                    .regarding("Pod", format!("api-{i}"))
                    .warning(),
            )
        })
        .collect();
    let made = keys(&made);
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = dir.path().join("kubeconfig");
    cluster.write_kubeconfig(&kubeconfig).expect("kubeconfig");
    let archive = dir.path().join("archive");
    let config = format!(
        "cluster: fault-list\n\
         leader_election:\n  enabled: true\n  lease_name: {LEASE}\n  lease_duration_secs: 2\n  renew_deadline_secs: 1.5\n  retry_period_secs: 0.2\n\
         checkpoint:\n  store: configmap\n  name: {CHECKPOINT}\n  interval_secs: 0.2\n\
         sinks:\n\
         \x20 - type: file\n    directory: {archive}\n\
         pipeline:\n  max_batch_wait_secs: 0.1\n  shutdown_timeout_secs: 5\n\
         server:\n  listen: 127.0.0.1:0\n\
         log:\n  format: json\n  level: info\n",
        archive = archive.display(),
    );
    let started = tokio::time::Instant::now();
    let (mut kills, mut largest, mut already_stored, mut save_errors) = (0, 0, 0.0, 0.0);
    let mut sent_per_run = Vec::new();
    for run in 0..KILLS {
        let name = format!("replica-{run}");
        let env = [("POD_NAME", name.as_str()), ("POD_NAMESPACE", NAMESPACE)];
        let mut exporter = ExporterProcess::start(&config, &kubeconfig, &env).await;
        // Leading (the dead replica's Lease expires first), then a random moment of its list.
        // (Not ready: /readyz waits for the list to end.)
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while exporter.metric("event_keeper_leader").await != Some(1.0) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{name} never led\n{}",
                exporter.logs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Killed once it has sent a random share of the list (or after 20 s, whatever it did):
        // the kills land all along the list, not only at its start.
        let target = (1_000 + moments.next_millis(30_000)) as f64;
        let until = tokio::time::Instant::now() + Duration::from_secs(20);
        while tokio::time::Instant::now() < until
            && exporter
                .metric("event_keeper_events_sent_total{sink=\"file\"}")
                .await
                .unwrap_or(0.0)
                < target
        {
            if let Some((bytes, _)) = saved(&cluster) {
                largest = largest.max(bytes);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(moments.next_millis(50))).await;
        let metric = |series: &'static str| exporter.metric(series);
        save_errors += metric("event_keeper_checkpoint_errors_total")
            .await
            .unwrap_or(0.0);
        already_stored += metric("event_keeper_events_already_stored_total{sink=\"file\"}")
            .await
            .unwrap_or(0.0);
        sent_per_run.push(
            metric("event_keeper_events_sent_total{sink=\"file\"}")
                .await
                .unwrap_or(0.0) as u64,
        );
        let listing =
            saved(&cluster).is_none_or(|(_, json)| json["resume"].get("events@*").is_none());
        if !listing {
            // The list ended before this kill: the rest would not be inside a list.
            exporter.terminate();
            exporter.wait(Duration::from_secs(20)).await;
            break;
        }
        exporter.kill().await;
        kills += 1;
    }

    // A last run, stopped gracefully once everything arrived.
    let env = [("POD_NAME", "replica-last"), ("POD_NAMESPACE", NAMESPACE)];
    let mut exporter = ExporterProcess::start(&config, &kubeconfig, &env).await;
    let in_archive = settle(
        "the archive to hold every occurrence",
        &made,
        true,
        Duration::from_secs(180),
        || std::future::ready(archive_keys(&archive).0),
    )
    .await;
    if let Some((bytes, _)) = saved(&cluster) {
        largest = largest.max(bytes);
    }
    save_errors += exporter
        .metric("event_keeper_checkpoint_errors_total")
        .await
        .unwrap_or(0.0);
    already_stored += exporter
        .metric("event_keeper_events_already_stored_total{sink=\"file\"}")
        .await
        .unwrap_or(0.0);
    exporter.stop_gracefully().await;

    let figures = Figures::count("kill_9_inside_a_list", &in_archive, &made)
        .with("events", EVENTS)
        .with("kills_inside_the_list", kills)
        .with("seed", seed)
        .with("seconds", started.elapsed().as_secs())
        .with("largest_checkpoint_bytes", largest)
        .with("checkpoint_save_errors", save_errors as u64)
        .with("already_stored_skips", already_stored as u64);
    figures.print();
    println!("events sent to the archive per killed run: {sent_per_run:?}");
    figures.assert_clean();
    assert!(kills >= 3, "only {kills} kills happened inside the list");
    assert_eq!(save_errors, 0.0, "every checkpoint save is accepted");
    assert!(
        largest <= 64 * 1024,
        "the checkpoint stays within 64 KiB: {largest} bytes"
    );
}
