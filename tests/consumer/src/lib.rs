//! event-core used from outside its workspace, as an application would: watch the cluster's
//! Events, keep the first Warnings with plain `futures` operators, and store them in a file
//! archive (sink-file) and in a sink of the application's own ([`Collect`]).

use std::path::Path;

use event_core::checkpoint::{Ledger, LedgerConfig};
use event_core::metrics::Metrics;
use event_core::{EventStream, EventStreamConfig, Pipeline, PipelineReport};
use futures::StreamExt;
use sink_file::{FileSink, FileSinkConfig};
use tokio_util::sync::CancellationToken;

mod sink;

pub use sink::Collect;

/// Whatever stopped [`run`]: connecting, the archive's settings or the pipeline.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// Stores the first `warnings` Warning events the cluster reports into `sink` and into a
/// JSON-lines archive under `archive`, and returns once they are stored.
pub async fn run(
    client: kube::Client,
    archive: &Path,
    warnings: usize,
    sink: Collect,
) -> Result<PipelineReport, Error> {
    let ledger = Ledger::new(LedgerConfig::default());
    let events = EventStream::connect(
        client,
        EventStreamConfig::default(),
        ledger,
        Metrics::default(),
    )
    .await?;
    // Errors pass on to the pipeline, which reports them; only Normal events are left out.
    let first_warnings = events
        .filter(|item| std::future::ready(item.as_ref().map_or(true, |event| event.is_warning())))
        .take(warnings);
    let report = Pipeline::new(first_warnings)
        .sink(sink)
        .sink(FileSink::new(FileSinkConfig::new(archive))?)
        .run(CancellationToken::new())
        .await?;
    Ok(report)
}
