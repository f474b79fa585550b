//! `/metrics` of the running `eks_to_cloudwatch` binary is valid OpenMetrics, checked by the
//! Prometheus project's own parser (the Python `prometheus_client`, which `scripts/test.sh`
//! installs beside moto): every family has its HELP and TYPE, and each counter moves when what
//! it counts happens.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use testkit::{NewEvent, SimCluster, SimConfig};
use tests::binary::ExporterProcess;
use tests::wait_until;

/// Parses an exposition with `prometheus_client.openmetrics.parser` and prints, as JSON, each
/// family's type, help and samples.
const PARSER: &str = r#"
import json, sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
out = {}
for family in text_string_to_metric_families(sys.stdin.read()):
    out[family.name] = {
        "type": family.type,
        "help": family.documentation,
        "samples": [[s.name, s.labels, s.value] for s in family.samples],
    }
print(json.dumps(out))
"#;

struct Family {
    kind: String,
    help: String,
    samples: Vec<(String, BTreeMap<String, String>, f64)>,
}

/// The exposition, parsed by the reference parser; panics with the parser's message when it
/// refuses it.
fn parse(exposition: &str) -> BTreeMap<String, Family> {
    let mut child = Command::new("python3")
        .args(["-c", PARSER])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs (scripts/test.sh checks for it)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(exposition.as_bytes())
        .expect("write the exposition");
    let output = child.wait_with_output().expect("the parser finishes");
    assert!(
        output.status.success(),
        "the OpenMetrics parser refused /metrics: {}\n{exposition}",
        String::from_utf8_lossy(&output.stderr)
    );
    let parsed: Value = serde_json::from_slice(&output.stdout).expect("the parser's JSON");
    parsed
        .as_object()
        .expect("an object")
        .iter()
        .map(|(name, family)| {
            let samples = family["samples"]
                .as_array()
                .expect("samples")
                .iter()
                .map(|s| {
                    let labels = s[1]
                        .as_object()
                        .expect("labels")
                        .iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                        .collect();
                    (
                        s[0].as_str().unwrap_or_default().to_owned(),
                        labels,
                        s[2].as_f64().unwrap_or(f64::NAN),
                    )
                })
                .collect();
            (
                name.clone(),
                Family {
                    kind: family["type"].as_str().unwrap_or_default().to_owned(),
                    help: family["help"].as_str().unwrap_or_default().to_owned(),
                    samples,
                },
            )
        })
        .collect()
}

/// The value of `sample` (with `sink` as its only label, when given).
fn value(families: &BTreeMap<String, Family>, sample: &str, sink: Option<&str>) -> Option<f64> {
    families
        .values()
        .flat_map(|f| &f.samples)
        .find(|(name, labels, _)| name == sample && labels.get("sink").map(String::as_str) == sink)
        .map(|(_, _, v)| *v)
}

async fn scrape(exporter: &ExporterProcess) -> BTreeMap<String, Family> {
    let (status, body) = exporter.get("/metrics").await;
    assert_eq!(status, 200, "{body}");
    parse(&body)
}

fn config(dir: &Path) -> String {
    format!(
        "cluster: metrics\ncheckpoint:\n  store: file\n  path: {checkpoint}\n  interval_secs: 0.2\nfilter:\n  exclude:\n    - reasons: [Pulled]\nsinks:\n  - type: file\n    name: archive\n    directory: {archive}\npipeline:\n  max_batch_wait_secs: 0.05\nserver:\n  listen: 127.0.0.1:0\n",
        checkpoint = dir.join("checkpoint.json").display(),
        archive = dir.join("archive").display(),
    )
}

#[tokio::test]
async fn metrics_parse_as_openmetrics_with_help_on_every_family_and_counters_that_move() {
    let cluster = SimCluster::start(SimConfig::default())
        .await
        .expect("simulated API server");
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = dir.path().join("kubeconfig");
    cluster.write_kubeconfig(&kubeconfig).expect("kubeconfig");
    let exporter = ExporterProcess::start(&config(dir.path()), &kubeconfig, &[]).await;
    exporter.wait_for_readyz(200, Duration::from_secs(30)).await;
    let sink = Some("archive");

    let before = scrape(&exporter).await;
    for (name, family) in &before {
        assert!(!family.help.trim().is_empty(), "{name} has no HELP");
        assert!(!family.kind.is_empty(), "{name} has no TYPE");
    }
    let info = &before["event_keeper_build"];
    assert_eq!(info.kind, "info");
    // The libraries' version: the workspace's, which the tests crate (0.0.0, never published)
    // does not carry.
    let manifest = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml"))
        .expect("the workspace manifest");
    let workspace_version = manifest
        .split("[workspace.package]")
        .nth(1)
        .and_then(|section| section.lines().find(|l| l.starts_with("version")))
        .and_then(|line| line.split('"').nth(1))
        .expect("[workspace.package] version");
    assert_eq!(
        info.samples[0].1.get("version").map(String::as_str),
        Some(workspace_version)
    );
    assert_eq!(before["event_keeper_events_received"].kind, "counter");
    assert_eq!(
        before["event_keeper_event_latency_seconds"].kind,
        "histogram"
    );
    assert_eq!(
        before["event_keeper_sink_request_duration_seconds"].kind,
        "histogram"
    );

    cluster.create_event(
        NewEvent::new("payments", "BackOff")
            .regarding("Pod", "api-1")
            .warning(),
    );
    cluster.create_event(NewEvent::new("payments", "Scheduled").regarding("Pod", "api-1"));
    cluster.create_event(NewEvent::new("payments", "Pulled").regarding("Pod", "api-1"));
    wait_until(
        "the archive to hold two events",
        Duration::from_secs(20),
        || {
            std::fs::read_dir(dir.path().join("archive"))
                .map(|files| {
                    files
                        .filter_map(Result::ok)
                        .filter_map(|f| std::fs::read_to_string(f.path()).ok())
                        .map(|text| text.lines().count())
                        .sum::<usize>()
                        >= 2
                })
                .unwrap_or(false)
        },
    )
    .await;
    let mut after = scrape(&exporter).await;
    for _ in 0..50 {
        if value(&after, "event_keeper_events_acknowledged_total", None) >= Some(2.0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        after = scrape(&exporter).await;
    }

    let moved = |sample: &str, sink: Option<&str>, by: f64| {
        let was = value(&before, sample, sink).unwrap_or(0.0);
        let is = value(&after, sample, sink)
            .unwrap_or_else(|| panic!("{sample} {sink:?} is missing after the events"));
        assert!(
            is >= was + by,
            "{sample} {sink:?} went from {was} to {is}, expected +{by}"
        );
    };
    moved("event_keeper_events_received_total", None, 3.0);
    moved("event_keeper_events_filtered_total", None, 1.0);
    moved("event_keeper_events_acknowledged_total", None, 2.0);
    moved("event_keeper_events_sent_total", sink, 2.0);
    moved("event_keeper_event_latency_seconds_count", sink, 2.0);
    moved(
        "event_keeper_sink_request_duration_seconds_count",
        sink,
        1.0,
    );
    moved("event_keeper_batch_size_count", sink, 1.0);
    moved("event_keeper_sink_events_written_total", sink, 2.0);
    moved("event_keeper_sink_batches_written_total", sink, 1.0);
    assert_eq!(
        value(&after, "event_keeper_events_rejected_total", sink),
        Some(0.0)
    );
}
