//! [`Cli`]: the command line of `eks_to_cloudwatch`.

use std::path::PathBuf;

use super::settings::LogFormat;

/// Shown at the end of `--help`: where each setting can come from, and which wins.
const AFTER_HELP: &str = "\
Precedence: command-line flag > environment variable > config file > default.

  flag               environment variable            config key
  --config           EVENT_KEEPER_CONFIG             (the file itself)
  --cluster          EVENT_KEEPER_CLUSTER            cluster
  --namespace        EVENT_KEEPER_NAMESPACES (a,b)   source.namespaces
  --listen           EVENT_KEEPER_LISTEN             server.listen
  --checkpoint-path  EVENT_KEEPER_CHECKPOINT_PATH    checkpoint.path
  --log-level        EVENT_KEEPER_LOG_LEVEL          log.level
  --log-format       EVENT_KEEPER_LOG_FORMAT         log.format

Also read: POD_NAMESPACE (namespace of the checkpoint ConfigMap and the Lease, else the
kubeconfig's), POD_NAME (the Lease holder identity, else the hostname), KUBECONFIG (outside a
cluster), AWS_REGION and the AWS credential chain (CloudWatch sinks).

Exit status: 0 after a graceful shutdown (SIGTERM, Ctrl-C) or a valid --check-config;
1 when the configuration is invalid or the exporter fails; 2 for a bad command line.";

/// The command line: the config file, `--check-config`, and flags for the common settings,
/// which win over the environment and the file.
///
/// ```
/// use clap::Parser;
/// use examples::exporter::Cli;
///
/// let cli = Cli::try_parse_from([
///     "eks_to_cloudwatch", "--config", "/etc/event-keeper/config.yaml", "--check-config",
///     "--namespace", "payments,billing",
/// ])?;
/// assert!(cli.check_config);
/// assert_eq!(cli.namespaces, ["payments", "billing"]);
/// # Ok::<(), clap::Error>(())
/// ```
#[derive(Clone, Debug, Default, clap::Parser)]
#[command(
    name = "eks_to_cloudwatch",
    version,
    about = "Keeps Kubernetes Events past their TTL: watches them and ships every occurrence, once, to CloudWatch Logs, files or stdout.",
    long_about = None,
    after_help = AFTER_HELP
)]
#[non_exhaustive]
pub struct Cli {
    /// The YAML config file (without one: defaults, environment and flags only).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Validate the configuration, print a summary and exit: 0 if valid, 1 with the reason if
    /// not. Connects to nothing.
    #[arg(long)]
    pub check_config: bool,

    /// The cluster name added to every record (`cluster`).
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,

    /// Watch only these namespaces (`source.namespaces`); repeat or separate with commas.
    #[arg(long = "namespace", value_name = "NAMESPACE", value_delimiter = ',')]
    pub namespaces: Vec<String>,

    /// Address of /healthz, /readyz and /metrics (`server.listen`), e.g. 0.0.0.0:8080.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,

    /// The checkpoint file (`checkpoint.path`), with `checkpoint.store: file`.
    #[arg(long, value_name = "PATH")]
    pub checkpoint_path: Option<PathBuf>,

    /// Log filter (`log.level`): error, warn, info, debug, trace, or directives such as
    /// info,event_core=debug.
    #[arg(long, value_name = "FILTER")]
    pub log_level: Option<String>,

    /// Log line format (`log.format`).
    #[arg(long, value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn help_documents_the_precedence_and_every_environment_variable() {
        let help = Cli::command().render_long_help().to_string();
        assert!(
            help.contains("command-line flag > environment variable > config file > default"),
            "{help}"
        );
        for var in [
            super::super::env::CONFIG,
            super::super::env::CLUSTER,
            super::super::env::NAMESPACES,
            super::super::env::LISTEN,
            super::super::env::CHECKPOINT_PATH,
            super::super::env::LOG_LEVEL,
            super::super::env::LOG_FORMAT,
            super::super::env::POD_NAMESPACE,
        ] {
            assert!(help.contains(var), "--help does not mention {var}");
        }
    }

    #[test]
    fn namespaces_repeat_or_split_on_commas() {
        let cli = Cli::try_parse_from([
            "eks_to_cloudwatch",
            "--namespace",
            "a,b",
            "--namespace",
            "c",
        ])
        .unwrap();
        assert_eq!(cli.namespaces, ["a", "b", "c"]);
    }

    #[test]
    fn an_unknown_log_format_is_refused_with_the_allowed_values() {
        let error = Cli::try_parse_from(["eks_to_cloudwatch", "--log-format", "xml"]).unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains("json") && message.contains("text"),
            "{message}"
        );
    }
}
