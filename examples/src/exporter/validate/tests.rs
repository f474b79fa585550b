use std::path::Path;

use clap::Parser;
use event_core::ObjectKind;

use super::*;
use crate::exporter::cli::Cli;
use crate::exporter::settings::CheckpointStore;
use crate::exporter::{file, overrides};

fn load_with(yaml: &str, args: &[&str], vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    let cli = Cli::try_parse_from(std::iter::once("eks_to_cloudwatch").chain(args.iter().copied()))
        .unwrap();
    let env = Env::from_pairs(vars.iter().copied());
    let path = Path::new("config.yaml");
    let raw = file::parse(path, yaml)?;
    let (raw, overridden) = overrides::apply(raw, &cli, &env)?;
    let file_origin = Origin::File {
        path: path.to_owned(),
        position: None,
    };
    settings(raw, &Origins::new(file_origin, overridden), &env)
}

fn load(yaml: &str) -> Result<Settings, ConfigError> {
    load_with(yaml, &[], &[])
}

fn error_of(yaml: &str) -> ConfigError {
    match load(yaml) {
        Ok(s) => panic!("unexpectedly valid: {s:?}"),
        Err(e) => e,
    }
}

/// The ConfigMap's config.yaml of deploy/kubernetes/20-configmap.yaml.
const DEPLOY: &str = "\
cluster: prod-eu-1
source:
  api: auto
  namespaces: []
  objects: []
filter:
  exclude:
    - namespaces: [kube-system]
      reasons: [Pulled]
checkpoint:
  store: configmap
  name: event-keeper-checkpoint
  path: /var/lib/event-keeper/checkpoint.json
leader_election:
  enabled: true
  lease_name: event-keeper
sinks:
  - type: cloudwatch
    log_group: /event-keeper/{cluster}
    log_stream: \"{namespace}\"
    retention_days: 30
  - type: stdout
    format: json
server:
  listen: 0.0.0.0:8080
log:
  format: json
  level: info
";

#[test]
fn the_deploy_config_is_valid_and_reads_as_written() {
    let s = load_with(DEPLOY, &[], &[("POD_NAMESPACE", "event-keeper")]).unwrap();
    assert_eq!(s.cluster, "prod-eu-1");
    assert_eq!(
        s.checkpoint,
        CheckpointStore::ConfigMap {
            name: "event-keeper-checkpoint".into(),
            namespace: Some("event-keeper".into())
        }
    );
    let le = s.leader_election.as_ref().unwrap();
    assert_eq!(le.lease_name, "event-keeper");
    assert_eq!(le.namespace.as_deref(), Some("event-keeper"));
    assert_eq!(s.sinks.len(), 2);
    assert_eq!(s.server.listen, "0.0.0.0:8080".parse().unwrap());
    assert!(s.filter.is_some());
    assert_eq!(s.pipeline.shutdown_timeout, DEFAULT_SHUTDOWN_TIMEOUT);
}

#[test]
fn defaults_need_only_a_cluster() {
    let s = load("cluster: dev").unwrap();
    assert!(s.leader_election.is_none());
    assert_eq!(
        s.checkpoint,
        CheckpointStore::File {
            path: DEFAULT_CHECKPOINT_PATH.into()
        }
    );
    assert_eq!(s.pipeline.checkpoint_interval, Duration::from_secs(5));
    assert_eq!(s.server.listen.port(), 8080);
    assert_eq!(s.server.stall_after, Duration::from_secs(60));
    assert_eq!(s.log.level, "info");
    assert_eq!(s.sinks[0].kind.type_name(), "cloudwatch");
    assert!(s.source.namespaces.is_empty() && s.source.objects.is_empty());
}

#[test]
fn a_missing_cluster_says_where_to_set_it() {
    let error = error_of("source:\n  namespaces: [a]\n");
    assert_eq!(error.key(), Some("cluster"));
    let message = error.to_string();
    assert!(
        message.contains("--cluster") && message.contains("EVENT_KEEPER_CLUSTER"),
        "{message}"
    );
}

#[test]
fn leader_election_without_a_shared_checkpoint_store_is_refused() {
    let error =
        error_of("cluster: a\nleader_election:\n  enabled: true\ncheckpoint:\n  store: file\n");
    assert_eq!(error.key(), Some("checkpoint.store"));
    assert!(error.to_string().contains("use configmap"), "{error}");
    let s = load("cluster: a\nleader_election:\n  enabled: true\n").unwrap();
    assert!(
        matches!(s.checkpoint, CheckpointStore::ConfigMap { .. }),
        "leader election defaults to the configmap store"
    );
}

#[test]
fn leader_election_timings_must_let_the_leader_give_up_first() {
    let base = "cluster: a\nleader_election:\n  enabled: true\n";
    let cases = [
        (
            "  lease_duration_secs: 10\n",
            "leader_election.renew_deadline_secs",
        ),
        (
            "  lease_duration_secs: 0\n",
            "leader_election.lease_duration_secs",
        ),
        (
            "  retry_period_secs: 10\n",
            "leader_election.retry_period_secs",
        ),
        (
            "  renew_deadline_secs: -1\n",
            "leader_election.renew_deadline_secs",
        ),
        ("  lease_name: Event_Keeper\n", "leader_election.lease_name"),
    ];
    for (extra, key) in cases {
        let error = error_of(&format!("{base}{extra}"));
        assert_eq!(error.key(), Some(key), "{extra}: {error}");
    }
    let s = load(&format!(
        "{base}  lease_duration_secs: 2\n  renew_deadline_secs: 1.5\n  retry_period_secs: 0.2\n  identity: me\n"
    ))
    .unwrap();
    let le = s.leader_election.unwrap();
    assert_eq!(le.retry_period, Duration::from_millis(200));
    assert_eq!(le.identity.as_deref(), Some("me"));
}

#[test]
fn an_overridden_value_is_blamed_on_its_flag_or_variable() {
    let error = load_with("cluster: a", &["--listen", "8080"], &[]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "command-line flag --listen: `server.listen`: is \"8080\"; write an IP address and a port, e.g. 0.0.0.0:8080 or [::]:8080"
    );
    let error = load_with("cluster: a", &[], &[("EVENT_KEEPER_CLUSTER", "prod eu")]).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("environment variable EVENT_KEEPER_CLUSTER: `cluster`: "),
        "{error}"
    );
    let error = error_of("cluster: a\nserver:\n  listen: localhost\n");
    assert!(
        error
            .to_string()
            .starts_with("config.yaml: `server.listen`: "),
        "{error}"
    );
}

#[test]
fn a_checkpoint_path_given_for_a_configmap_store_is_refused() {
    let yaml = "cluster: a\ncheckpoint:\n  store: configmap\n";
    let error = load_with(yaml, &["--checkpoint-path", "/tmp/c.json"], &[]).unwrap_err();
    assert_eq!(error.key(), Some("checkpoint.path"));
    let s = load_with(
        "cluster: a",
        &[],
        &[("EVENT_KEEPER_CHECKPOINT_PATH", "/tmp/c.json")],
    )
    .unwrap();
    assert_eq!(
        s.checkpoint,
        CheckpointStore::File {
            path: "/tmp/c.json".into()
        }
    );
    let error = error_of("cluster: a\ncheckpoint:\n  path: /var/lib/\n");
    assert_eq!(error.key(), Some("checkpoint.path"));
}

#[test]
fn namespaces_must_be_names_listed_once() {
    let error = error_of("cluster: a\nsource:\n  namespaces: [payments, Payments]\n");
    assert_eq!(error.key(), Some("source.namespaces"));
    assert!(
        error.to_string().contains("item 1 is \"Payments\""),
        "{error}"
    );
    let error = error_of("cluster: a\nsource:\n  namespaces: [a, a]\n");
    assert!(error.to_string().contains("lists \"a\" twice"), "{error}");
}

#[test]
fn the_source_reads_objects_and_selectors() {
    let s = load("cluster: a\nsource:\n  api: core-v1\n  objects: [pods, nodes]\n  label_selector: app=api\n").unwrap();
    assert_eq!(s.source.objects, [ObjectKind::Pods, ObjectKind::Nodes]);
    assert_eq!(s.source.label_selector.as_deref(), Some("app=api"));
    let error = error_of("cluster: a\nsource:\n  field_selector: \"\"\n");
    assert_eq!(error.key(), Some("source.field_selector"));
}

#[test]
fn the_top_level_filter_is_compiled() {
    let error = error_of("cluster: a\nfilter:\n  exclude:\n    - {}\n");
    assert_eq!(error.key(), Some("filter"));
    assert!(
        error.to_string().contains("empty filter rule `exclude[0]`"),
        "{error}"
    );
    let error = error_of("cluster: a\nfilter:\n  include:\n    - types: [Warn]\n");
    assert!(
        error.to_string().contains("use Normal or Warning"),
        "{error}"
    );
}

#[test]
fn pipeline_limits_are_bounded() {
    for (yaml, key) in [
        (
            "pipeline:\n  max_batch_events: 20000\n",
            "pipeline.max_batch_events",
        ),
        (
            "pipeline:\n  max_batch_wait_secs: 0\n",
            "pipeline.max_batch_wait_secs",
        ),
        ("pipeline:\n  queue_batches: 0\n", "pipeline.queue_batches"),
        (
            "pipeline:\n  shutdown_timeout_secs: .nan\n",
            "pipeline.shutdown_timeout_secs",
        ),
        (
            "server:\n  stall_after_secs: 0\n",
            "server.stall_after_secs",
        ),
        (
            "checkpoint:\n  interval_secs: 1000\n",
            "checkpoint.interval_secs",
        ),
    ] {
        let error = error_of(&format!("cluster: a\n{yaml}"));
        assert_eq!(error.key(), Some(key), "{yaml}: {error}");
    }
    let s = load("cluster: a\npipeline:\n  max_batch_events: 10\n  max_batch_wait_secs: 0.05\n  shutdown_timeout_secs: 5\n").unwrap();
    assert_eq!(s.pipeline.max_batch_events, 10);
    assert_eq!(s.pipeline.max_batch_wait, Duration::from_millis(50));
    assert_eq!(s.pipeline.shutdown_timeout, Duration::from_secs(5));
}

#[test]
fn with_a_cloudwatch_sink_batches_may_fill_a_whole_request() {
    let s = load("cluster: a").unwrap();
    assert_eq!(s.pipeline.max_batch_events, 10_000);
    assert_eq!(s.pipeline.queue_batches, 4);
    let s = load("cluster: a\nsinks:\n  - type: stdout\n").unwrap();
    assert_eq!(s.pipeline.max_batch_events, 500);
    assert_eq!(s.pipeline.queue_batches, 16);
    let s = load("cluster: a\npipeline:\n  max_batch_events: 700\n  queue_batches: 2\n").unwrap();
    assert_eq!(s.pipeline.max_batch_events, 700);
    assert_eq!(s.pipeline.queue_batches, 2);
}

#[test]
fn a_sink_timeout_that_would_cut_a_sinks_own_timeout_is_refused() {
    let error =
        error_of("cluster: a\npipeline:\n  sink_timeout_secs: 30\nsinks:\n  - type: cloudwatch\n");
    assert_eq!(error.key(), Some("pipeline.sink_timeout_secs"));
    assert!(
        error
            .to_string()
            .contains("not above sinks[0].send_timeout_secs (45)"),
        "{error}"
    );
    assert!(load("cluster: a\npipeline:\n  sink_timeout_secs: 30\nsinks:\n  - type: cloudwatch\n    send_timeout_secs: 20\n").is_ok());
}

#[test]
fn a_webhook_sinks_send_timeout_must_fire_before_the_pipelines() {
    let error = error_of(
        "cluster: a\npipeline:\n  sink_timeout_secs: 30\nsinks:\n  - type: webhook\n    url: http://h/\n",
    );
    assert_eq!(error.key(), Some("pipeline.sink_timeout_secs"));
    assert!(
        error
            .to_string()
            .contains("not above sinks[0].send_timeout_secs (45)"),
        "{error}"
    );
    assert!(load("cluster: a\nsinks:\n  - type: webhook\n    url: http://h/\n").is_ok());
}

#[test]
fn log_levels_are_names_or_directives() {
    assert_eq!(
        load("cluster: a\nlog:\n  level: DEBUG\n")
            .unwrap()
            .log
            .level,
        "DEBUG"
    );
    assert!(load("cluster: a\nlog:\n  level: info,event_core=debug\n").is_ok());
    let error = error_of("cluster: a\nlog:\n  level: verbose\n");
    assert_eq!(error.key(), Some("log.level"));
    let error = error_of("cluster: a\nlog:\n  format: xml\n");
    assert_eq!(error.key(), Some("log.format"));
}

#[test]
fn sink_errors_keep_their_entry_path() {
    let error = error_of("cluster: a\nsinks:\n  - type: cloudwatch\n    retention_days: 2\n");
    assert_eq!(error.key(), Some("sinks[0].retention_days"));
    assert!(
        error
            .to_string()
            .starts_with("config.yaml: `sinks[0].retention_days`: is 2;"),
        "{error}"
    );
}
