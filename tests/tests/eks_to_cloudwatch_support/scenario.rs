//! Shared parts of the end-to-end tests of the `eks_to_cloudwatch` binary: a simulated cluster
//! with its kubeconfig, moto behind a strict proxy, config snippets, and read-back by key.

#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use event_core::{Event, OccurrenceKey};
use testkit::{SimCluster, SimConfig};

use crate::harness;

/// A simulated cluster, moto behind this test's proxy, and a directory for the kubeconfig and
/// the checkpoint; `name` is unique per test and is the cluster name the exporter stamps.
pub struct Scenario {
    pub name: String,
    pub cluster: SimCluster,
    pub cloudwatch: harness::Env,
    pub kubeconfig: PathBuf,
    pub dir: tempfile::TempDir,
}

impl Scenario {
    pub async fn start(name: &str) -> Scenario {
        let cloudwatch = harness::env().await;
        let cluster = SimCluster::start(SimConfig::default())
            .await
            .expect("simulated API server starts");
        let dir = tempfile::tempdir().expect("temp dir");
        let kubeconfig = dir.path().join("kubeconfig");
        cluster
            .write_kubeconfig(&kubeconfig)
            .expect("kubeconfig written");
        Scenario {
            name: format!("{name}-{}", std::process::id()),
            cluster,
            cloudwatch,
            kubeconfig,
            dir,
        }
    }

    /// The log group the exporter's CloudWatch sink writes to: `/event-keeper/{cluster}`.
    pub fn group(&self) -> String {
        format!("/event-keeper/{}", self.name)
    }

    /// A file checkpoint in the scenario's directory.
    pub fn file_checkpoint(&self) -> String {
        format!(
            "checkpoint:\n  store: file\n  path: {}\n  interval_secs: 0.2\n",
            self.dir.path().join("checkpoint.json").display()
        )
    }

    /// A `sinks` entry for CloudWatch through the proxy, with the deploy's templates.
    pub fn cloudwatch_sink(&self) -> String {
        format!(
            "  - type: cloudwatch\n    log_group: /event-keeper/{{cluster}}\n    log_stream: \"{{namespace}}\"\n    retention_days: 30\n    region: us-east-1\n    endpoint_url: {}\n    timeout_secs: 5\n    send_timeout_secs: 10\n",
            self.cloudwatch.proxy.endpoint()
        )
    }

    /// The sections every test shares: the cluster name, fast batching, a short shutdown, a
    /// health server on a free port, JSON logs.
    pub fn common(&self) -> String {
        format!(
            "cluster: {}\npipeline:\n  max_batch_wait_secs: 0.1\n  shutdown_timeout_secs: 5\n  sink_timeout_secs: 20\nlog:\n  format: json\n  level: info\n",
            self.name
        )
    }

    /// Every record CloudWatch holds in this scenario's log group.
    pub async fn stored(&self) -> Vec<Event> {
        self.cloudwatch.events_of(&self.group()).await
    }

    /// Waits until CloudWatch holds every one of `expected`, then a little longer so that a
    /// duplicate on its way is caught; returns what it holds.
    pub async fn wait_for_cloudwatch(&self, expected: &[OccurrenceKey]) -> Vec<Event> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let stored: Vec<OccurrenceKey> = self.stored().await.iter().map(Event::key).collect();
            let missing = expected.iter().filter(|k| !stored.contains(k)).count();
            if missing == 0 {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "CloudWatch holds {} of {} occurrences",
                expected.len() - missing,
                expected.len()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tokio::time::sleep(Duration::from_millis(700)).await;
        self.stored().await
    }
}
