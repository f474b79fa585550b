//! The `eks_to_cloudwatch` exporter: configuration, sinks, leader election and the health server,
//! composed from the library crates. The binary (`examples/eks_to_cloudwatch.rs`) only parses
//! the command line, loads [`Settings`] and calls [`run`].
//!
//! # Configuration
//!
//! A YAML file (`--config`), every section optional. Unknown keys, invalid values and
//! combinations that cannot work are refused before anything starts, with one message naming
//! the key (`sinks[0].retention_days`) and what is allowed; `--check-config` does only that.
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `cluster` | required | name added to every record (`cluster`) and to `{cluster}` in log group names; letters, digits, `-`, `_`, `.` |
//! | `source.api` | `auto` | `auto` (events.k8s.io/v1 when served, else core/v1), `events-v1`, `core-v1` |
//! | `source.namespaces` | `[]` (all) | watch only these namespaces |
//! | `source.objects` | `[]` | also export the changes of `pods`, `nodes`, `namespaces`, `services`, `persistentvolumeclaims` |
//! | `source.label_selector`, `source.field_selector` | none | passed to the API server, for Events only |
//! | `filter` | keep all | `include` / `exclude` rules ([`FilterConfig`](event_core::FilterConfig)) |
//! | `checkpoint.store` | `configmap` with leader election, else `file` | `configmap` (shared by replicas) or `file` (one replica) |
//! | `checkpoint.name` | `event-keeper-checkpoint` | the ConfigMap, created by the exporter |
//! | `checkpoint.namespace` | `POD_NAMESPACE`, else the kubeconfig's | the ConfigMap's namespace |
//! | `checkpoint.path` | `/var/lib/event-keeper/checkpoint.json` | the file, with `store: file` |
//! | `checkpoint.interval_secs` | `5` | how often the checkpoint is saved (and once more at shutdown) |
//! | `leader_election.enabled` | `false` | hold a Lease before exporting, for several replicas |
//! | `leader_election.lease_name` | `event-keeper` | the Lease |
//! | `leader_election.namespace` | `POD_NAMESPACE`, else the kubeconfig's | the Lease's namespace |
//! | `leader_election.identity` | `POD_NAME`, else the hostname | this replica's holder identity |
//! | `leader_election.lease_duration_secs` | `15` | whole seconds; a standby takes over this long after the last renewal |
//! | `leader_election.renew_deadline_secs` | `10` | below the lease duration: the leader gives up first |
//! | `leader_election.retry_period_secs` | `2` | below the renew deadline |
//! | `sinks` | one `cloudwatch` sink with its defaults | the destinations, each with `type` and its crate's keys |
//! | `sinks[].type` | required | `cloudwatch` ([`CloudWatchSinkConfig`](sink_cloudwatch::CloudWatchSinkConfig)), `file` ([`FileSinkConfig`](sink_file::FileSinkConfig)), `stdout` ([`StdoutConfig`](sink_stdout::StdoutConfig)) |
//! | `sinks[].name` | the type | unique; the `sink` label of the metrics |
//! | `sinks[].filter` | every kept event | routing: the same `include` / `exclude` form, applied after `filter` |
//! | `pipeline.max_batch_events` | `10000` with a CloudWatch sink, else `500` | 1 to 10,000 (one PutLogEvents request); with CloudWatch, its 1 MiB request limit cuts a batch first, so a backlog takes the fewest requests |
//! | `pipeline.max_batch_wait_secs` | `1` | how long a batch may wait to fill |
//! | `pipeline.queue_batches` | `4` with a CloudWatch sink, else `16` | batches queued per sink before the watch is slowed (never dropped) |
//! | `pipeline.sink_timeout_secs` | `60` | outer bound of one send, above each sink's own timeout |
//! | `pipeline.shutdown_timeout_secs` | `10` | how long the sinks may drain, counted from SIGTERM (a send still in flight then is cut); the final checkpoint save and the Lease release (at most 5 s each) follow: keep this value plus 10 s below the pod's `terminationGracePeriodSeconds` (30 s) |
//! | `server.listen` | `0.0.0.0:8080` | `/healthz`, `/readyz`, `/metrics`; `[::]:8080` on IPv6 |
//! | `server.stall_after_secs` | `60` | how long a watch, a sink or the checkpoint saves may keep failing before `/readyz` answers 503 |
//! | `log.format` | `json` | `json` or `text`, to stderr |
//! | `log.level` | `info` | a level, or directives such as `info,event_core=debug` |
//!
//! Combinations refused: leader election with `checkpoint.store: file` (a new leader could not
//! read the old one's file), `--checkpoint-path` with the configmap store, two sinks with one
//! name, a file sink without `directory`, a CloudWatch `retention_days` CloudWatch Logs does
//! not offer, `renew_deadline_secs` not below `lease_duration_secs`, a `sink_timeout_secs` not
//! above a sink's own timeout.
//!
//! # Precedence
//!
//! Command-line flag > environment variable > config file > default:
//!
//! | flag | environment variable | key |
//! |---|---|---|
//! | `--config` | `EVENT_KEEPER_CONFIG` | (the file) |
//! | `--cluster` | `EVENT_KEEPER_CLUSTER` | `cluster` |
//! | `--namespace` (repeat, or `a,b`) | `EVENT_KEEPER_NAMESPACES` (`a,b`) | `source.namespaces` |
//! | `--listen` | `EVENT_KEEPER_LISTEN` | `server.listen` |
//! | `--checkpoint-path` | `EVENT_KEEPER_CHECKPOINT_PATH` | `checkpoint.path` |
//! | `--log-level` | `EVENT_KEEPER_LOG_LEVEL` | `log.level` |
//! | `--log-format` | `EVENT_KEEPER_LOG_FORMAT` | `log.format` |
//!
//! An empty variable counts as unset. `POD_NAMESPACE` and `POD_NAME` (downward API) are
//! defaults, not overrides: the file's `namespace` and `identity` keys win over them.
//!
//! # Example
//!
//! ```no_run
//! use clap::Parser;
//! use examples::exporter::{Cli, Env, Settings, init_logging, run};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let cli = Cli::parse();
//! let settings = Settings::load(&cli, &Env::system())?;
//! init_logging(&settings.log)?;
//! run(settings).await?;
//! # Ok(()) }
//! ```

mod cli;
mod env;
mod error;
mod file;
mod logging;
mod overrides;
mod run;
mod settings;
mod sink_spec;
mod sinks;
mod startup;
mod term;
mod validate;

pub use cli::Cli;
pub use env::Env;
pub use error::{ConfigError, Origin};
pub use logging::{LogError, init_logging};
pub use run::{RunError, STANDBY_SCOPE, run, run_until};
pub use settings::{
    CheckpointStore, LogFormat, LogSettings, ServerSettings, Settings, SinkKind, SinkSettings,
    StoreKind,
};
pub use sinks::Named;
pub use startup::{API_SCOPE, StartupError};
pub use validate::{
    DEFAULT_CHECKPOINT_NAME, DEFAULT_CHECKPOINT_PATH, DEFAULT_LEASE_NAME, DEFAULT_LISTEN,
    DEFAULT_SHUTDOWN_TIMEOUT,
};

/// The environment variables the exporter reads.
pub mod vars {
    pub use super::env::{
        CHECKPOINT_PATH, CLUSTER, CONFIG, LISTEN, LOG_FORMAT, LOG_LEVEL, NAMESPACES, POD_NAMESPACE,
    };
}
