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
use super::checkpointer::Checkpointer;
use crate::checkpoint::Ledger;
use crate::metrics::SinkCounters;
use crate::{BatchLimits, Event, Tracked};

pub(super) struct Queue {
    pub(super) tx: mpsc::Sender<Arc<Batch>>,
    pub(super) counters: Arc<SinkCounters>,
}

/// Where batches go, and what they must fit.
pub(super) struct Outlets {
    pub(super) queues: Vec<Queue>,
    /// The tightest request limits the sinks declared, if any.
    pub(super) limits: Option<BatchLimits>,
    /// Saves the dispatch mark before a batch goes out, when checkpointing.
    pub(super) checkpointer: Option<Arc<Checkpointer>>,
}

/// The batch being filled.
struct Pending {
    items: Vec<Tracked>,
    bytes: usize,
    max_events: usize,
    limits: Option<BatchLimits>,
    /// Reused to measure each event's JSON when the sinks limit a request's bytes.
    scratch: Vec<u8>,
}

impl Pending {
    fn new(config: &PipelineConfig, limits: Option<BatchLimits>) -> Self {
        let max_events = limits.map_or(config.max_batch_events, |l| {
            l.max_events.min(config.max_batch_events)
        });
        Pending {
            items: Vec::with_capacity(max_events.min(1024)),
            bytes: 0,
            max_events,
            limits,
            scratch: Vec::new(),
        }
    }

    /// Adds an item; returns the full batch to send first when the item does not fit with it.
    fn push(&mut self, item: Tracked) -> Option<Vec<Tracked>> {
        let mut full = None;
        if let Some(limits) = self.limits {
            let size = encoded_len(&item, &mut self.scratch) + limits.per_event_overhead;
            if !self.items.is_empty() && self.bytes + size > limits.max_bytes {
                full = Some(self.take());
            }
            self.bytes += size;
        }
        self.items.push(item);
        full
    }

    fn is_full(&self) -> bool {
        self.items.len() >= self.max_events
            || self.limits.is_some_and(|l| self.bytes >= l.max_bytes)
    }

    fn take(&mut self) -> Vec<Tracked> {
        self.bytes = 0;
        // Sized for the next batch, so that filling it does not grow the Vec step by step.
        let next = Vec::with_capacity(self.max_events.min(1024));
        std::mem::replace(&mut self.items, next)
    }
}

/// The length of an event's JSON serialization, written into `scratch` (cleared first).
fn encoded_len(event: &Event, scratch: &mut Vec<u8>) -> usize {
    scratch.clear();
    event.write_json(scratch);
    scratch.len()
}

/// The pipeline's source, which closes the ledger before it is dropped: what the stream still
/// buffers (in its channel or in the user's operators) when the pipeline stops reading was never
/// looked at, so it must be replayed after a restart, not counted as filtered out.
struct Closing<S> {
    source: S,
    ledger: Option<Ledger>,
}

impl<S> Drop for Closing<S> {
    fn drop(&mut self) {
        // Runs before the fields are dropped, so before any buffered ticket.
        if let Some(ledger) = &self.ledger {
            ledger.close();
        }
    }
}

/// Runs until the source ends or `stop` is cancelled, then sends what it holds and returns,
/// dropping the queues so that the workers drain and finish.
pub(super) async fn run<S, E>(
    source: S,
    outlets: Outlets,
    config: Arc<PipelineConfig>,
    stop: CancellationToken,
    hard_stop: CancellationToken,
) where
    S: Stream<Item = Result<Tracked, E>> + Unpin,
    E: Display,
{
    let mut source = Closing {
        source,
        ledger: outlets.checkpointer.as_ref().map(|c| c.ledger.clone()),
    };
    let mut pending = Pending::new(&config, outlets.limits);
    // One timer and one cancellation future for the whole run, re-armed per batch: creating
    // them per event registered and dropped a timer for every event, a tenth of the
    // pipeline's time on a busy stream.
    let flush = tokio::time::sleep(config.max_batch_wait);
    tokio::pin!(flush);
    let mut armed = false;
    let cancelled = stop.cancelled();
    tokio::pin!(cancelled);
    loop {
        tokio::select! {
            biased;
            () = &mut cancelled => break,
            () = &mut flush, if armed => {
                armed = false;
                if !fan_out(pending.take(), &outlets, &hard_stop).await {
                    return;
                }
            }
            item = source.source.next() => match item {
                None => break,
                Some(Err(error)) => tracing::warn!(%error, "watch error"),
                Some(Ok(mut item)) => {
                    item.hold();
                    if let Some(full) = pending.push(item) {
                        armed = false;
                        if !fan_out(full, &outlets, &hard_stop).await {
                            return;
                        }
                    }
                    if !armed {
                        flush.as_mut().reset(Instant::now() + config.max_batch_wait);
                        armed = true;
                    }
                    if pending.is_full() {
                        armed = false;
                        if !fan_out(pending.take(), &outlets, &hard_stop).await {
                            return;
                        }
                    }
                }
            },
        }
    }
    let rest = pending.take();
    if !rest.is_empty() {
        fan_out(rest, &outlets, &hard_stop).await;
    }
}

/// Queues the batch for every sink, waiting while a queue is full (backpressure, never a drop).
/// Returns false when the shutdown deadline passed first.
async fn fan_out(items: Vec<Tracked>, outlets: &Outlets, hard_stop: &CancellationToken) -> bool {
    if items.is_empty() {
        return true;
    }
    let batch = Arc::new(Batch::new(items, outlets.queues.len()));
    if let Some(checkpointer) = &outlets.checkpointer {
        checkpointer.before_dispatch(&batch).await;
    }
    for queue in &outlets.queues {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::sample_event;

    /// Items of one encoded size: a fixed time, since the fraction of a second a clock gives
    /// changes the length of the JSON.
    fn item(i: u64) -> Tracked {
        let mut event = sample_event(&format!("u{i}"), i, "payments");
        event.first_seen = jiff::Timestamp::UNIX_EPOCH;
        event.last_seen = jiff::Timestamp::UNIX_EPOCH;
        Tracked::untracked(event)
    }

    #[test]
    fn a_batch_is_cut_before_the_event_that_would_overflow_the_byte_limit() {
        let size = encoded_len(&item(1), &mut Vec::new()) + 26;
        let limits = BatchLimits::new(10_000, size * 3 + size / 2).per_event_overhead(26);
        let mut pending = Pending::new(&PipelineConfig::default(), Some(limits));
        for i in 1..=3 {
            assert!(pending.push(item(i)).is_none());
        }
        assert!(!pending.is_full());
        let full = pending.push(item(4)).expect("the fourth does not fit");
        assert_eq!(full.len(), 3);
        assert_eq!(pending.items.len(), 1);
        assert_eq!(pending.bytes, size);
    }

    #[test]
    fn the_tighter_event_limit_of_config_and_sinks_applies() {
        let config = PipelineConfig::default().max_batch_events(5);
        let limits = BatchLimits::new(3, usize::MAX);
        let mut pending = Pending::new(&config, Some(limits));
        for i in 1..=3 {
            assert!(pending.push(item(i)).is_none());
        }
        assert!(pending.is_full());
        let mut unlimited = Pending::new(&config, None);
        for i in 1..=4 {
            assert!(unlimited.push(item(i)).is_none());
        }
        assert!(!unlimited.is_full());
    }

    #[test]
    fn encoded_len_is_the_length_of_the_json() {
        let event = sample_event("u1", 7, "payments");
        assert_eq!(
            encoded_len(&event, &mut Vec::new()),
            serde_json::to_vec(&event).unwrap().len()
        );
    }
}
