//! [`Settings`]: the validated configuration of the exporter, and the types it is made of.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use event_core::{EventStreamConfig, FilterConfig, PipelineConfig};
use event_leader::LeaderElectionConfig;
use serde::Deserialize;
use sink_cloudwatch::CloudWatchSinkConfig;
use sink_file::FileSinkConfig;
use sink_otlp::OtlpSinkConfig;
use sink_stdout::StdoutConfig;
use sink_webhook::WebhookSinkConfig;

use super::cli::Cli;
use super::env::Env;
use super::error::{ConfigError, Origin};
use super::{file, overrides, validate};

/// The exporter's configuration, validated as a whole: what [`run`](super::run) needs and
/// nothing it could still refuse. Build it with [`Settings::load`].
///
/// See the [module documentation](super) for every key, its default and its overrides.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Settings {
    /// The config file read, if any.
    pub config_file: Option<PathBuf>,
    /// The cluster name stamped on every record (`cluster`).
    pub cluster: String,
    /// What to watch (`source`).
    pub source: EventStreamConfig,
    /// Which events to keep (`filter`); `None` keeps all.
    pub filter: Option<FilterConfig>,
    /// Where the checkpoint lives (`checkpoint`); `checkpoint.interval_secs` is the pipeline's
    /// `checkpoint_interval`.
    pub checkpoint: CheckpointStore,
    /// Leader election (`leader_election`), when enabled.
    pub leader_election: Option<LeaderElectionConfig>,
    /// The sinks, in config order (`sinks`).
    pub sinks: Vec<SinkSettings>,
    /// Batching, queues and shutdown (`pipeline`).
    pub pipeline: PipelineConfig,
    /// The health and metrics server (`server`).
    pub server: ServerSettings,
    /// The exporter's own logs (`log`).
    pub log: LogSettings,
}

impl Settings {
    /// Reads the config file named by `--config` (or `EVENT_KEEPER_CONFIG`), applies the
    /// environment and then the command line over it, and validates the result. Touches
    /// nothing but the file.
    ///
    /// # Errors
    ///
    /// The first [`ConfigError`] found: the file cannot be read or is not YAML, a key is
    /// unknown, a value is invalid, or values contradict each other.
    ///
    /// ```
    /// use examples::exporter::{Cli, Env, Settings};
    ///
    /// use clap::Parser;
    ///
    /// let cli = Cli::try_parse_from(["eks_to_cloudwatch", "--cluster", "prod-eu-1", "--listen", "127.0.0.1:9090"])?;
    /// let env = Env::from_pairs([("EVENT_KEEPER_LISTEN", "0.0.0.0:8081"), ("POD_NAMESPACE", "ops")]);
    /// let settings = Settings::load(&cli, &env)?;
    /// assert_eq!(settings.cluster, "prod-eu-1");
    /// assert_eq!(settings.server.listen.port(), 9090, "the flag wins over the environment");
    /// assert_eq!(settings.sinks[0].name, "cloudwatch", "one CloudWatch sink by default");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn load(cli: &Cli, env: &Env) -> Result<Settings, ConfigError> {
        let path = cli
            .config
            .clone()
            .or_else(|| env.get(super::env::CONFIG).map(PathBuf::from));
        let (raw, file_origin) = match &path {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.clone(),
                    source,
                })?;
                let origin = Origin::File {
                    path: path.clone(),
                    position: None,
                };
                (file::parse(path, &text)?, origin)
            }
            None => (file::RawConfig::default(), Origin::Defaults),
        };
        let (raw, origins) = overrides::apply(raw, cli, env)?;
        let mut settings =
            validate::settings(raw, &validate::Origins::new(file_origin, origins), env)?;
        settings.config_file = path;
        Ok(settings)
    }

    /// A one-line description for `--check-config` and the start-up log.
    pub fn summary(&self) -> String {
        let sinks: Vec<&str> = self.sinks.iter().map(|s| s.name.as_str()).collect();
        let namespace = |ns: &Option<String>| {
            ns.clone()
                .unwrap_or_else(|| "<the kubeconfig's namespace>".to_owned())
        };
        let checkpoint = match &self.checkpoint {
            CheckpointStore::ConfigMap {
                name,
                namespace: ns,
            } => {
                format!("configmap {}/{name}", namespace(ns))
            }
            CheckpointStore::File { path } => format!("file {}", path.display()),
        };
        let leader = match &self.leader_election {
            Some(le) => format!("lease {}/{}", namespace(&le.namespace), le.lease_name),
            None => "off".to_owned(),
        };
        let mut watched = vec!["events".to_owned()];
        watched.extend(self.source.objects.iter().map(ToString::to_string));
        let namespaces = if self.source.namespaces.is_empty() {
            "all namespaces".to_owned()
        } else {
            format!("namespaces {}", self.source.namespaces.join(", "))
        };
        format!(
            "cluster {}; watching {} in {namespaces}; sinks {}; checkpoint {checkpoint}; leader election {leader}; listening on {}",
            self.cluster,
            watched.join(", "),
            sinks.join(", "),
            self.server.listen
        )
    }
}

/// `checkpoint.store`: where the checkpoint is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum StoreKind {
    /// A ConfigMap in the pod's namespace, shared by the replicas.
    ConfigMap,
    /// A file, for a single replica.
    File,
}

/// Where the checkpoint is kept, with what the store needs.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CheckpointStore {
    /// A ConfigMap, fenced by resourceVersion so that a deposed leader cannot overwrite it.
    ConfigMap {
        /// Its name (`checkpoint.name`).
        name: String,
        /// Its namespace: `checkpoint.namespace`, else `POD_NAMESPACE`; `None` for the
        /// kubeconfig's namespace.
        namespace: Option<String>,
    },
    /// A JSON file, replaced atomically (`checkpoint.path`).
    File {
        /// The file.
        path: PathBuf,
    },
}

/// One validated entry of `sinks`.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SinkSettings {
    /// Its name: `sinks[].name`, else its type. Unique; the `sink` label of its metrics.
    pub name: String,
    /// Which events it receives (`sinks[].filter`); `None` for every event the top-level
    /// filter keeps.
    pub filter: Option<FilterConfig>,
    /// Its type and the settings of that type.
    pub kind: SinkKind,
}

/// The type of a sink (`sinks[].type`) with its own settings, from the sink crate.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum SinkKind {
    /// `cloudwatch`: [`CloudWatchSinkConfig`]'s keys.
    CloudWatch(CloudWatchSinkConfig),
    /// `file`: [`FileSinkConfig`]'s keys.
    File(FileSinkConfig),
    /// `otlp`: [`OtlpSinkConfig`]'s keys.
    Otlp(OtlpSinkConfig),
    /// `stdout`: [`StdoutConfig`]'s keys.
    Stdout(StdoutConfig),
    /// `webhook`: [`WebhookSinkConfig`]'s keys.
    Webhook(WebhookSinkConfig),
}

impl SinkKind {
    /// The `type` value of this kind.
    pub fn type_name(&self) -> &'static str {
        match self {
            SinkKind::CloudWatch(_) => "cloudwatch",
            SinkKind::File(_) => "file",
            SinkKind::Otlp(_) => "otlp",
            SinkKind::Stdout(_) => "stdout",
            SinkKind::Webhook(_) => "webhook",
        }
    }
}

/// The validated `server` section.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerSettings {
    /// Where `/healthz`, `/readyz` and `/metrics` are served (`server.listen`).
    pub listen: SocketAddr,
    /// How long a watch, a sink or the checkpoint saves may keep failing before `/readyz`
    /// turns 503 (`server.stall_after_secs`).
    pub stall_after: Duration,
}

/// `log.format`: how the exporter's own log lines are written (to stderr).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum LogFormat {
    /// One JSON object per line, for a log collector (the default).
    #[default]
    Json,
    /// Human-readable lines.
    Text,
}

/// The validated `log` section.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LogSettings {
    /// The line format (`log.format`).
    pub format: LogFormat,
    /// `tracing-subscriber` filter directives, e.g. `info` or `info,event_core=debug`
    /// (`log.level`).
    pub level: String,
}
