//! The parts of the `event_history` binary that are more than flags and a loop: its flags
//! ([`cli`]), its outputs ([`output`], [`timeline`]), `--related` ([`related`]) and
//! `--cluster` ([`clusters`]). The query itself is library code: the `event-history` crate
//! (`event_history::History`, and `event_history::Printer` for the table) over the readers
//! `sink_cloudwatch::CloudWatchHistory` and `sink_file::FileArchiveHistory`.

pub mod cli;
pub mod clusters;
pub mod output;
pub mod related;
pub mod timeline;

/// What can stop `event_history` beyond the readers' own errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HistoryError {
    /// The `--log-group-template` is not a log group template.
    #[error("--log-group-template {template:?} {source}")]
    Template {
        /// The template given.
        template: String,
        /// Why it is not one.
        #[source]
        source: sink_cloudwatch::TemplateError,
    },
    /// The template names more than the cluster, so one cluster has several groups.
    #[error(
        "--log-group-template {template:?} names a placeholder other than {{cluster}}, so a \
         cluster's events are in several groups; give --log-group for one of them instead"
    )]
    GroupPerCluster {
        /// The template given.
        template: String,
    },
    /// An event could not be written as JSON.
    #[error("cannot write an event as JSON")]
    Json(#[source] serde_json::Error),
    /// An event could not be written as YAML.
    #[error("cannot write an event as YAML")]
    Yaml(#[source] yaml_serde::Error),
}
