//! Bad input, each a clear error or a counted skip, never a crash, never a silent loss:
//! unexpected Event shapes from the API (empty references, missing fields, odd counts, absurd
//! times from year 1 to 9999 and before the epoch, a 1.5 MB message, control characters),
//! objects the client cannot decode at all (a time past what k8s-openapi holds, a time that is
//! not one), a corrupt or truncated checkpoint file given to the binary, and bad config values.
//!
//! Malformed JSON and invalid UTF-8 on the wire: the simulated API server always writes valid
//! JSON (its objects are typed), so those are the normalization property tests' job
//! (`event-core/src/event/proptests.rs`), which feed corrupted bytes to the same decoder.

#[path = "cloudwatch_support/harness.rs"]
mod harness;
#[path = "fault_support/readback.rs"]
mod readback;

use std::time::Duration;

use event_core::{EventStreamConfig, OccurrenceKey};
use serde_json::{Value, json};
use testkit::{NewEvent, SimCluster, SimConfig};
use tests::binary::run_to_end;
use tests::fault::{Figures, settle};
use tests::{Exporter, assert_exactly_once, init_tracing, key, wait_until};

/// Events a real API server can serve, each odd in its own way: all must be exported.
fn odd_but_valid() -> Vec<Value> {
    let core = |name: &str, extra: Value| {
        let mut event = json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"namespace": "payments", "name": name},
            "involvedObject": {"kind": "Pod", "name": name},
        });
        if let (Value::Object(event), Value::Object(extra)) = (&mut event, extra) {
            event.extend(extra);
        }
        event
    };
    vec![
        core("bare", json!({"involvedObject": {}})),
        core(
            "bogus-type",
            json!({"type": "Bogus", "reason": "事件✓\u{0}\u{1b}[31m", "message": "🚀\u{202e}\"\\\n\t"}),
        ),
        core("zero-count", json!({"count": 0})),
        core("negative-count", json!({"count": -5})),
        core("huge-count", json!({"count": i32::MAX})),
        core(
            "year-one",
            json!({"firstTimestamp": "0001-01-01T00:00:00Z", "lastTimestamp": "0001-01-01T00:00:00Z"}),
        ),
        core(
            "year-9999",
            json!({"firstTimestamp": "9999-12-30T00:00:00Z", "lastTimestamp": "9999-12-30T00:00:00Z"}),
        ),
        core(
            "before-the-epoch",
            json!({"lastTimestamp": "1960-06-01T12:00:00Z"}),
        ),
        core(
            "micro-year-one",
            json!({"eventTime": "0001-01-01T00:00:00.000000Z"}),
        ),
        core("enormous", json!({"message": "x".repeat(1_500_000)})),
        json!({
            "apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": {"namespace": "billing", "name": "new-api"},
            "regarding": {"kind": "Node", "name": "ip-10-0-1-7"},
            "note": "series in the new API", "reason": "NodeNotReady", "type": "Warning",
            "eventTime": "2026-11-24T10:00:00.000000Z",
            "series": {"count": 3, "lastObservedTime": "2026-11-24T10:05:00.000000Z"}
        }),
    ]
}

/// Events whose JSON k8s-openapi cannot decode into an Event: skipped, each counted as
/// malformed.
fn undecodable(tag: &str) -> Vec<Value> {
    ["9999-12-31T23:59:59Z", "not a time", ""]
        .iter()
        .enumerate()
        .map(|(i, time)| {
            json!({
                "apiVersion": "v1", "kind": "Event",
                "metadata": {"namespace": "payments", "name": format!("{tag}-{i}")},
                "involvedObject": {"kind": "Pod", "name": "undecodable"},
                "lastTimestamp": time,
            })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_events_are_exported_once_and_undecodable_ones_are_counted_on_the_watch_and_on_resume()
{
    init_tracing();
    let env = harness::env().await;
    let group = "/ek-fault/input";
    let cloudwatch = || {
        let sink = env.sink(group);
        (sink.stats(), sink)
    };
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    let mut exporter = Exporter::new();
    let (stats, sink) = cloudwatch();
    exporter
        .start_with(&cluster, EventStreamConfig::default(), |p| p.sink(sink))
        .await;

    // While watching (kube-rs's watcher after the first list).
    let mut made: Vec<OccurrenceKey> = Vec::new();
    for event in odd_but_valid() {
        let inserted = cluster
            .try_insert_raw_event(event)
            .expect("the server takes it");
        made.push(key(&inserted));
    }
    let bad = undecodable("live");
    for event in &bad {
        cluster
            .try_insert_raw_event(event.clone())
            .expect("the server takes it");
    }
    let after =
        cluster.create_event(NewEvent::new("payments", "BackOff").regarding("Pod", "after"));
    made.push(key(&after));
    let sink = exporter.sink.clone();
    settle(
        "the odd events",
        &made,
        true,
        Duration::from_secs(30),
        || std::future::ready(sink.keys()),
    )
    .await;
    let metrics = exporter.metrics.clone();
    wait_until(
        "the undecodable events to be counted",
        Duration::from_secs(5),
        || metrics.malformed() >= bad.len() as u64,
    )
    .await;
    let mut malformed = exporter.metrics.malformed();
    exporter.stop().await;

    // Down, then up again: the resumed watch replays the undecodable ones and must skip them,
    // not watch again from the same point forever.
    let bad_on_resume = undecodable("resume");
    for event in &bad_on_resume {
        cluster
            .try_insert_raw_event(event.clone())
            .expect("the server takes it");
    }
    let behind =
        cluster.create_event(NewEvent::new("payments", "BackOff").regarding("Pod", "behind"));
    made.push(key(&behind));
    let (_, sink) = cloudwatch();
    exporter
        .start_with(&cluster, EventStreamConfig::default(), |p| p.sink(sink))
        .await;
    let in_memory = settle(
        "the event behind the undecodable ones",
        &made,
        true,
        Duration::from_secs(15),
        || std::future::ready(exporter.sink.keys()),
    )
    .await;
    let in_cloudwatch = settle(
        "CloudWatch to hold the odd events",
        &made,
        true,
        Duration::from_secs(30),
        || readback::stored_in(&env.moto, group),
    )
    .await;
    malformed += exporter.metrics.malformed();
    let figures = Figures::count("bad_input_cloudwatch", &in_cloudwatch, &made)
        .with("odd_shapes", odd_but_valid().len())
        .with("undecodable", bad.len() + bad_on_resume.len())
        .with("malformed_counted", malformed)
        .with("truncated", stats.events_truncated())
        .with("clamped", stats.events_clamped())
        .with("rejected", stats.events_rejected());
    figures.print().assert_clean();
    Figures::count("bad_input_memory_sink", &in_memory, &made)
        .print()
        .assert_clean();
    assert!(
        malformed >= (bad.len() + bad_on_resume.len()) as u64,
        "every undecodable notification was counted: {}",
        figures.line()
    );
    assert!(
        stats.events_truncated() >= 1,
        "the 1.5 MB message was cut to fit"
    );
    assert!(
        stats.events_clamped() >= 4,
        "the absurd times were moved into the window"
    );
    env.assert_no_violations();
    exporter.stop().await;
}

/// Runs the binary on `config` (the file written beside a kubeconfig that points nowhere
/// useful) and returns its exit code and stderr.
async fn run_binary(config: &str, dir: &std::path::Path, args: &[&str]) -> (i32, String) {
    let path = dir.join("config.yaml");
    std::fs::write(&path, config).expect("config written");
    let path = path.display().to_string();
    let mut all = vec!["--config", path.as_str()];
    all.extend_from_slice(args);
    let kubeconfig = dir.join("kubeconfig").display().to_string();
    let (status, _, err) = run_to_end(&all, &[("KUBECONFIG", kubeconfig.as_str())]).await;
    (status.code().unwrap_or(-1), err)
}

#[tokio::test]
async fn a_corrupt_or_truncated_checkpoint_stops_the_binary_with_a_clear_error_and_is_kept() {
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().expect("temp dir");
    cluster
        .write_kubeconfig(&dir.path().join("kubeconfig"))
        .expect("kubeconfig");
    let checkpoint = dir.path().join("checkpoint.json");
    let config = format!(
        "cluster: bad-checkpoint\ncheckpoint:\n  store: file\n  path: {}\nsinks:\n  - type: stdout\nserver:\n  listen: 127.0.0.1:0\nlog:\n  format: json\n",
        checkpoint.display()
    );
    let valid =
        r#"{"version":1,"savedAt":"2026-11-24T10:00:00Z","resume":{"events@*":42},"events":{}}"#;
    let cases: [(&str, Vec<u8>, &str); 5] = [
        (
            "truncated",
            valid.as_bytes()[..40].to_vec(),
            "corrupt or truncated",
        ),
        (
            "garbage",
            b"\x00\xff\xfe not json".to_vec(),
            "corrupt or truncated",
        ),
        ("empty", Vec::new(), "corrupt or truncated"),
        (
            "wrong shape",
            br#"{"version":1,"resume":[1,2]}"#.to_vec(),
            "corrupt or truncated",
        ),
        (
            "newer format",
            br#"{"version":99,"savedAt":"2026-11-24T10:00:00Z"}"#.to_vec(),
            "format version 99",
        ),
    ];
    let mut refused = 0;
    for (what, bytes, says) in cases {
        std::fs::write(&checkpoint, &bytes).expect("checkpoint written");
        let (code, err) = run_binary(&config, dir.path(), &[]).await;
        assert_eq!(code, 1, "{what}: exit code; stderr:\n{err}");
        assert!(
            err.contains(says),
            "{what}: the error says {says:?}:\n{err}"
        );
        assert!(
            err.contains(&checkpoint.display().to_string()),
            "{what}: names the file:\n{err}"
        );
        assert!(!err.contains("panicked"), "{what}: no panic:\n{err}");
        assert_eq!(
            std::fs::read(&checkpoint).expect("still there"),
            bytes,
            "{what}: nothing was overwritten"
        );
        refused += 1;
    }
    println!(
        "figures bad_checkpoint: cases={refused} refused_with_a_clear_error={refused} overwritten=0 crashed=0"
    );
}

#[tokio::test]
async fn bad_config_values_are_refused_with_the_key_named_never_a_crash() {
    let dir = tempfile::tempdir().expect("temp dir");
    let base = "cluster: c1\ncheckpoint:\n  store: file\n  path: /tmp/ek-unused/checkpoint.json\nsinks:\n  - type: stdout\nserver:\n  listen: 127.0.0.1:0\n";
    let with = |section: &str| format!("{base}{section}");
    let cases: Vec<(String, &str)> = vec![
        (
            with("pipeline:\n  max_batch_events: 0\n"),
            "pipeline.max_batch_events",
        ),
        (
            with("pipeline:\n  max_batch_events: 20000\n"),
            "pipeline.max_batch_events",
        ),
        (
            with("pipeline:\n  max_batch_wait_secs: -1\n"),
            "pipeline.max_batch_wait_secs",
        ),
        (
            with("pipeline:\n  max_batch_wait_secs: 1e309\n"),
            "pipeline.max_batch_wait_secs",
        ),
        (
            with("pipeline:\n  max_batch_wait_secs: .nan\n"),
            "pipeline.max_batch_wait_secs",
        ),
        (
            with("pipeline:\n  queue_batches: seven\n"),
            "pipeline.queue_batches",
        ),
        (
            with("pipeline:\n  queue_batches: 99999999999999999999999\n"),
            "pipeline.queue_batches",
        ),
        (with("pipeline:\n  bogus: 1\n"), "bogus"),
        (with("server:\n  listen: nowhere\n"), "server"),
        (with("log:\n  level: \"info,[[[\"\n"), "log.level"),
        (
            with("filter:\n  include:\n    - message: \"([unclosed\"\n"),
            "filter",
        ),
        (base.replace("cluster: c1", "cluster: \"\""), "cluster"),
        (
            base.replace("cluster: c1", "cluster: \"c 1/\\u0000\""),
            "cluster",
        ),
        (
            base.replace("type: stdout", "type: carrier-pigeon"),
            "sinks[0]",
        ),
        (
            base.replace(
                "type: stdout",
                "type: cloudwatch\n    log_group: \"bad group:*\"",
            ),
            "sinks[0]",
        ),
        (
            base.replace(
                "type: stdout",
                "type: file\n    directory: /tmp/ek-unused\n    max_file_bytes: 1",
            ),
            "sinks[0]",
        ),
        (format!("{base}checkpoint: [1, 2]\n"), "checkpoint"),
        ("cluster: [unclosed\n".to_owned(), "config.yaml"),
    ];
    let total = cases.len();
    for (config, key) in cases {
        let (code, err) = run_binary(&config, dir.path(), &["--check-config"]).await;
        assert_eq!(
            code, 1,
            "exit code for a config with a bad {key}; stderr:\n{err}"
        );
        assert!(err.contains(key), "the error names {key:?}:\n{err}");
        assert!(!err.contains("panicked"), "no panic for {key}:\n{err}");
    }
    // Bytes that are not UTF-8 at all.
    let path = dir.path().join("config.yaml");
    std::fs::write(&path, b"cluster: \xff\xfe\x00\n").expect("written");
    let path = path.display().to_string();
    let (status, _, err) = run_to_end(&["--config", &path, "--check-config"], &[]).await;
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(
        err.contains("config.yaml") && !err.contains("panicked"),
        "{err}"
    );
    println!(
        "figures bad_config: cases={} refused_with_the_key_named={} crashed=0",
        total + 1,
        total + 1
    );
}

/// A list decodes every Event of a page in one request: one that does not decode must be
/// skipped and counted, not fail the page (kube-rs's watcher would retry that list until the
/// object is gone: its TTL, an hour on EKS). Both lists are checked: the first start's, and the
/// relist after a 410 Gone on resume, which also finds the ones the first list skipped.
#[tokio::test]
async fn a_relist_with_an_undecodable_event_in_the_cluster_still_exports_the_others() {
    init_tracing();
    let cluster = SimCluster::start(SimConfig::default()).await.unwrap();
    let listed = undecodable("listed");
    for event in &listed {
        cluster
            .try_insert_raw_event(event.clone())
            .expect("the server takes it");
    }
    let good = cluster.create_event(NewEvent::new("payments", "BackOff").regarding("Pod", "good"));
    let mut exporter = Exporter::new();
    let started = tokio::time::timeout(
        Duration::from_secs(10),
        exporter.start(&cluster, EventStreamConfig::default()),
    )
    .await;
    assert!(started.is_ok(), "the first list never completed");
    exporter.wait_for(&[key(&good)]).await;
    assert_eq!(
        exporter.metrics.malformed(),
        listed.len() as u64,
        "each undecodable event of the first list was counted once"
    );
    assert_eq!(
        exporter.metrics.watch_errors(),
        0,
        "a skipped object is not a failing watch"
    );
    exporter.stop().await;

    // Down: more undecodable events and a good one, then the history is compacted, so the
    // resumed watch gets 410 Gone and relists.
    let relisted = undecodable("relisted");
    for event in &relisted {
        cluster
            .try_insert_raw_event(event.clone())
            .expect("the server takes it");
    }
    let behind =
        cluster.create_event(NewEvent::new("payments", "BackOff").regarding("Pod", "behind"));
    cluster.compact();
    let started = tokio::time::timeout(
        Duration::from_secs(10),
        exporter.start(&cluster, EventStreamConfig::default()),
    )
    .await;
    assert!(started.is_ok(), "the relist never completed");
    exporter.wait_for(&[key(&good), key(&behind)]).await;
    assert!(
        exporter.metrics.gone() >= 1,
        "the resume point was compacted away, so this run relisted"
    );
    assert_eq!(
        exporter.metrics.malformed(),
        (listed.len() + relisted.len()) as u64,
        "the relist counted every undecodable event in the cluster"
    );
    assert_eq!(exporter.metrics.watch_errors(), 0);
    assert_exactly_once(&exporter.sink.keys(), &[key(&good), key(&behind)]);
    exporter.stop().await;
}
