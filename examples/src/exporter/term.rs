//! One export term: the checkpoint loaded, the sinks built, the watch started and the pipeline
//! run, until shutdown (drained), a fatal error, or the loss of the leadership (stopped at once).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use event_core::checkpoint::{
    CheckpointStore as Store, ConfigMapCheckpointStore, FileCheckpointStore,
};
use event_core::health::Health;
use event_core::metrics::Metrics;
use event_core::{EventStreamExt, Keeper};
use futures::Stream;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;
use tokio_util::task::AbortOnDropHandle;

use super::run::RunError;
use super::settings::{CheckpointStore, Settings};
use super::sinks::{self, Built};

/// How long a term that lost the leadership waits for its watch to be dropped.
const STREAM_DROP_TIMEOUT: Duration = Duration::from_secs(5);

/// What the exporter shares between terms.
pub(crate) struct Context {
    pub client: kube::Client,
    pub settings: Arc<Settings>,
    pub metrics: Metrics,
    pub health: Health,
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
            let store = FileCheckpointStore::new(path);
            check_writable(&store).await?;
            export_with(ctx, store, shutdown, lost).await
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

/// Stops the start-up when checkpoints can never be saved where configured (read-only, not a
/// directory, permission denied): exporting without them would resend everything at the next
/// start. Anything else (a full disk) is logged and left to the pipeline's retries.
async fn check_writable(store: &FileCheckpointStore) -> Result<(), RunError> {
    match store.check_writable().await {
        Ok(()) => Ok(()),
        Err(error) if error.is_unwritable() => Err(RunError::Checkpoint(error)),
        Err(error) => {
            tracing::warn!(%error, "checkpoint directory check failed; starting anyway, saves are retried");
            Ok(())
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
    let keeper = Keeper::load(store)
        .await?
        .with_metrics(ctx.metrics.clone())
        .with_health(ctx.health.clone());
    let sinks = sinks::build(settings, &ctx.metrics).await?;
    let stream = keeper
        .watch(ctx.client.clone(), settings.source.clone())
        .await?;
    let scopes: Vec<String> = stream.scopes().map(str::to_owned).collect();
    let filter = settings
        .filter
        .clone()
        .unwrap_or_default()
        .compile()
        .map_err(|e| RunError::Filter(Box::new(e)))?;
    let (signal, stream_dropped) = oneshot::channel();
    let source = SignalOnDrop {
        inner: stream.filter_with(filter),
        _signal: signal,
    };
    let mut pipeline = keeper.pipeline(source).config(settings.pipeline.clone());
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
            // The stream lives in a task of the pipeline's own, aborted in turn: wait until it
            // is gone (its scopes told stopped), so that nothing of this term outlives it.
            let _ = tokio::time::timeout(STREAM_DROP_TIMEOUT, stream_dropped).await;
            // Failures of this term's sinks and checkpoint say nothing about a standby.
            ctx.health.forget_writers();
            Ok(TermEnd::Lost { scopes })
        }
        done = &mut running => match done {
            Ok(Ok(report)) if !report.checkpoint_saved => Err(RunError::CheckpointNotSaved {
                error: ctx
                    .health
                    .checkpoint_error()
                    .unwrap_or_else(|| "see the log above".to_owned()),
            }),
            Ok(Ok(_report)) => Ok(TermEnd::Finished),
            Ok(Err(error)) => Err(RunError::Pipeline(error)),
            Err(join) => Err(RunError::Panicked(join.to_string())),
        },
    }
}

/// A stream that tells, by dropping `_signal`, when it has been dropped: after `inner`, since
/// fields are dropped in declaration order.
struct SignalOnDrop<S> {
    inner: S,
    _signal: oneshot::Sender<()>,
}

impl<S: Stream + Unpin> Stream for SignalOnDrop<S> {
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<S::Item>> {
        Pin::new(&mut self.inner).poll_next(cx)
    }
}

#[cfg(test)]
mod tests {
    use futures::{StreamExt, stream};

    use super::*;

    #[tokio::test]
    async fn the_signal_comes_once_the_inner_stream_is_gone() {
        struct Flag(Arc<std::sync::atomic::AtomicBool>);
        impl Drop for Flag {
            fn drop(&mut self) {
                self.0.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        }
        let dropped = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = Flag(dropped.clone());
        let (signal, gone) = oneshot::channel::<()>();
        let mut source = SignalOnDrop {
            inner: stream::iter([1, 2]).map(move |n| {
                let _keep = &flag;
                n
            }),
            _signal: signal,
        };
        assert_eq!(source.next().await, Some(1));
        let task = tokio::spawn(async move {
            let _held = source;
            std::future::pending::<()>().await;
        });
        task.abort();
        assert!(gone.await.is_err(), "the sender is dropped, never used");
        assert!(
            dropped.load(std::sync::atomic::Ordering::SeqCst),
            "after the inner stream"
        );
    }
}
