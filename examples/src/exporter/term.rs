//! One export term: the checkpoint loaded, the sinks built, the watch started and the pipeline
//! run, until shutdown (drained), a fatal error, or the loss of the leadership (stopped at once).

use std::sync::Arc;

use event_core::checkpoint::{
    CheckpointStore as Store, ConfigMapCheckpointStore, FileCheckpointStore, Ledger, LedgerConfig,
};
use event_core::metrics::Metrics;
use event_core::{EventStream, EventStreamExt, Pipeline};
use tokio_util::sync::CancellationToken;
use tokio_util::task::AbortOnDropHandle;

use super::run::RunError;
use super::settings::{CheckpointStore, Settings};
use super::sinks::{self, Built};

/// What the exporter shares between terms.
pub(crate) struct Context {
    pub client: kube::Client,
    pub settings: Arc<Settings>,
    pub metrics: Metrics,
}

/// How a term ended without an error.
#[derive(Debug)]
pub(crate) enum TermEnd {
    /// The pipeline stopped by itself: drained after `shutdown` (it logged its report), or its
    /// source ended.
    Finished,
    /// The leadership was lost and the pipeline dropped mid-flight; these were its watch scopes.
    Lost { scopes: Vec<String> },
}

/// Runs one term. `lost` is cancelled when this replica must stop exporting at once: the
/// pipeline is then dropped, not drained, and what it had not acknowledged is the next
/// leader's to send (the checkpoint's dispatch mark makes it ask its sinks first).
pub(crate) async fn export(
    ctx: &Context,
    shutdown: &CancellationToken,
    lost: &CancellationToken,
) -> Result<TermEnd, RunError> {
    match &ctx.settings.checkpoint {
        CheckpointStore::File { path } => {
            export_with(ctx, FileCheckpointStore::new(path), shutdown, lost).await
        }
        CheckpointStore::ConfigMap { name, namespace } => {
            let namespace = namespace
                .clone()
                .unwrap_or_else(|| ctx.client.default_namespace().to_owned());
            let store = ConfigMapCheckpointStore::new(ctx.client.clone(), &namespace, name);
            export_with(ctx, store, shutdown, lost).await
        }
    }
}

async fn export_with<S: Store + 'static>(
    ctx: &Context,
    store: S,
    shutdown: &CancellationToken,
    lost: &CancellationToken,
) -> Result<TermEnd, RunError> {
    let settings = &ctx.settings;
    // Loaded only now that this replica leads: loading a ConfigMap checkpoint fences out the
    // writes of a previous leader.
    let ledger = Ledger::load(&store, LedgerConfig::default()).await?;
    let sinks = sinks::build(settings).await?;
    let stream = EventStream::connect(
        ctx.client.clone(),
        settings.source.clone(),
        ledger.clone(),
        ctx.metrics.clone(),
    )
    .await?;
    let scopes: Vec<String> = stream.scopes().map(str::to_owned).collect();
    let filter = settings
        .filter
        .clone()
        .unwrap_or_default()
        .compile()
        .map_err(|e| RunError::Filter(Box::new(e)))?;
    let mut pipeline = Pipeline::new(stream.filter_with(filter))
        .config(settings.pipeline.clone())
        .metrics(ctx.metrics.clone())
        .checkpoint(ledger, store);
    for Built { sink, route } in sinks {
        pipeline = match route {
            Some(route) => pipeline.routed_sink(sink, route),
            None => pipeline.sink(sink),
        };
    }
    if lost.is_cancelled() {
        return Ok(TermEnd::Lost { scopes });
    }
    tracing::info!(
        scopes = scopes.len(),
        sinks = settings.sinks.len(),
        "exporting"
    );
    let mut running = AbortOnDropHandle::new(tokio::spawn(pipeline.run(shutdown.child_token())));
    tokio::select! {
        biased;
        () = lost.cancelled() => {
            running.abort();
            let _ = (&mut running).await;
            Ok(TermEnd::Lost { scopes })
        }
        done = &mut running => match done {
            Ok(Ok(_report)) => Ok(TermEnd::Finished),
            Ok(Err(error)) => Err(RunError::Pipeline(error)),
            Err(join) => Err(RunError::Panicked(join.to_string())),
        },
    }
}
