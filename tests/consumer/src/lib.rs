//! event-core used from outside its workspace, as an application would: watch the cluster's
//! Events from a checkpoint, keep the first Warnings with plain `futures` operators, and store
//! them in a file archive (sink-file) and in a sink of the application's own ([`Collect`]).

use std::path::Path;

use event_core::checkpoint::FileCheckpointStore;
use event_core::{EventStreamConfig, Keeper, PipelineReport};
use futures::StreamExt;
use sink_file::{FileSink, FileSinkConfig};
use tokio_util::sync::CancellationToken;

mod sink;

pub use sink::Collect;

/// Whatever stopped [`run`]: connecting, the archive's settings or the pipeline.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// Stores the first `warnings` Warning events the cluster reports, after those a previous run
/// stored, into `sink` and into a JSON-lines archive under `dir/archive`, with the checkpoint in
/// `dir/checkpoint.json`; returns once they are stored.
pub async fn run(
    client: kube::Client,
    dir: &Path,
    warnings: usize,
    sink: Collect,
) -> Result<PipelineReport, Error> {
    let keeper = Keeper::load(FileCheckpointStore::new(dir.join("checkpoint.json"))).await?;
    let events = keeper.watch(client, EventStreamConfig::default()).await?;
    // Errors pass on to the pipeline, which reports them; only Normal events are left out, and
    // the checkpoint moves past them as past what is stored.
    let first_warnings = events
        .filter(|item| std::future::ready(item.as_ref().map_or(true, |event| event.is_warning())))
        .take(warnings);
    let report = keeper
        .pipeline(first_warnings)
        .sink(sink)
        .sink(FileSink::new(FileSinkConfig::new(dir.join("archive")))?)
        .run(CancellationToken::new())
        .await?;
    Ok(report)
}
