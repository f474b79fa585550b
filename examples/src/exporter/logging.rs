//! The exporter's own logs: structured, through `tracing-subscriber`, to stderr (stdout belongs
//! to the stdout sink).

use tracing_subscriber::EnvFilter;

use super::settings::{LogFormat, LogSettings};

/// The directive that silences kube-rs's own log of each failed request.
const KUBE_REQUEST_FAILURES: &str = "kube_client::client::builder=off";

/// Why logging could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    /// `log.level` is not a filter (validation checks it first, so this means a bug).
    #[error(
        "`log.level` {level:?} is not a log filter: {source}; use e.g. info or info,event_core=debug"
    )]
    Level {
        /// The directives given.
        level: String,
        /// The parser's error.
        #[source]
        source: tracing_subscriber::filter::ParseError,
    },
    /// A global subscriber was installed already.
    #[error("cannot install the log subscriber: {0}; install it only once per process")]
    Install(String),
}

/// Installs the global subscriber: JSON lines (one object per event, its fields at the top
/// level) or text, filtered by `log.level`, written to stderr.
///
/// # Errors
///
/// [`LogError`] when the filter does not parse or a subscriber is installed already.
///
/// ```no_run
/// use examples::exporter::{LogFormat, LogSettings, init_logging};
/// # fn demo(log: &LogSettings) -> Result<(), examples::exporter::LogError> {
/// init_logging(log)?;
/// tracing::info!(sink = "cloudwatch", "ready");
/// # Ok(()) }
/// ```
pub fn init_logging(log: &LogSettings) -> Result<(), LogError> {
    let mut filter = EnvFilter::builder()
        .parse(&log.level)
        .map_err(|source| LogError::Level {
            level: log.level.clone(),
            source,
        })?;
    // kube-rs logs every failed request at ERROR from its HTTP layer, without context; the
    // exporter logs each failure itself, once, with what it was doing and what happens next
    // (a retry at start, a re-watch). A `log.level` naming kube_client keeps full control.
    if !log.level.contains("kube_client")
        && let Ok(quiet) = KUBE_REQUEST_FAILURES.parse()
    {
        filter = filter.add_directive(quiet);
    }
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let installed = match log.format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .try_init(),
        LogFormat::Text => builder.with_ansi(false).try_init(),
    };
    installed.map_err(|e| LogError::Install(e.to_string()))
}
