//! Reads the stream, cuts batches by size and age, and fans them out to every sink's queue.

use std::fmt::Display;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use futures::{Stream, StreamExt};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::PipelineConfig;
use super::batch::Batch;
use crate::Tracked;
use crate::metrics::SinkCounters;

pub(super) struct Queue {
    pub(super) tx: mpsc::Sender<Arc<Batch>>,
    pub(super) counters: Arc<SinkCounters>,
}

/// Runs until the source ends or `stop` is cancelled, then sends what it holds and returns,
/// dropping the queues so that the workers drain and finish.
pub(super) async fn run<S, E>(
    mut source: S,
    queues: Vec<Queue>,
    config: Arc<PipelineConfig>,
    stop: CancellationToken,
    hard_stop: CancellationToken,
) where
    S: Stream<Item = Result<Tracked, E>> + Unpin,
    E: Display,
{
    let mut pending: Vec<Tracked> = Vec::with_capacity(config.max_batch_events);
    let mut deadline: Option<Instant> = None;
    loop {
        let flush_at = deadline;
        tokio::select! {
            biased;
            () = stop.cancelled() => break,
            () = sleep_until(flush_at), if flush_at.is_some() => {
                deadline = None;
                if !fan_out(std::mem::take(&mut pending), &queues, &hard_stop).await {
                    return;
                }
            }
            item = source.next() => match item {
                None => break,
                Some(Err(error)) => tracing::warn!(%error, "watch error"),
                Some(Ok(item)) => {
                    pending.push(item);
                    deadline.get_or_insert_with(|| Instant::now() + config.max_batch_wait);
                    if pending.len() >= config.max_batch_events {
                        deadline = None;
                        if !fan_out(std::mem::take(&mut pending), &queues, &hard_stop).await {
                            return;
                        }
                    }
                }
            },
        }
    }
    if !pending.is_empty() {
        fan_out(pending, &queues, &hard_stop).await;
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    if let Some(deadline) = deadline {
        tokio::time::sleep_until(deadline).await;
    }
}

/// Queues the batch for every sink, waiting while a queue is full (backpressure, never a drop).
/// Returns false when the shutdown deadline passed first.
async fn fan_out(items: Vec<Tracked>, queues: &[Queue], hard_stop: &CancellationToken) -> bool {
    if items.is_empty() {
        return true;
    }
    let batch = Arc::new(Batch::new(items, queues.len()));
    for queue in queues {
        queue.counters.queue_depth.fetch_add(1, Ordering::Relaxed);
        tokio::select! {
            sent = queue.tx.send(batch.clone()) => {
                if sent.is_err() {
                    // The worker stopped (a fatal error): the batch stays unacknowledged.
                    queue.counters.queue_depth.fetch_sub(1, Ordering::Relaxed);
                    return false;
                }
            }
            () = hard_stop.cancelled() => return false,
        }
    }
    true
}
