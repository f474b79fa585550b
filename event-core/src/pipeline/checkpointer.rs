//! Saves the ledger's snapshot periodically and once more at the end.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::batch::Batch;
use crate::checkpoint::{CheckpointStore, Ledger};
use crate::health::Health;
use crate::metrics::Metrics;

pub(super) struct Checkpointer {
    pub(super) ledger: Ledger,
    pub(super) store: Arc<dyn CheckpointStore>,
    pub(super) metrics: Metrics,
    /// Where failing saves are reported (readiness).
    pub(super) health: Health,
    /// One save at a time, so that an older snapshot never lands after a newer one.
    pub(super) saving: tokio::sync::Mutex<()>,
}

impl Checkpointer {
    /// Saves every `interval` until `done` is cancelled. A failed save (a full disk) is logged,
    /// counted and tried again at the next tick; the previous checkpoint stays valid meanwhile.
    pub(super) async fn run(self: Arc<Self>, interval: Duration, done: CancellationToken) {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await;
        loop {
            tokio::select! {
                () = done.cancelled() => return,
                _ = ticker.tick() => { self.save().await; }
            }
        }
    }

    /// Before `batch` goes to the sinks: makes sure the saved dispatch marks (its newest
    /// resourceVersion, and the key of a list under way) cover it, so that after a crash the
    /// sinks are asked about it rather than sent it twice. A failed save is logged and the batch
    /// goes out anyway: a crash could then repeat it, but never lose it.
    pub(super) async fn before_dispatch(&self, batch: &Batch) {
        let moved = if batch.listed {
            let tickets = batch.tickets();
            self.ledger.mark_dispatched_batch(batch.max_rv, &tickets)
        } else {
            batch
                .max_rv
                .is_some_and(|rv| self.ledger.mark_dispatched(rv))
        };
        if moved && !self.save().await {
            tracing::warn!(
                event.rv = batch.max_rv,
                "dispatching without a saved dispatch mark; a crash now may repeat these events"
            );
        }
    }

    /// Saves one snapshot; true when it was written.
    pub(super) async fn save(&self) -> bool {
        let _one_at_a_time = self.saving.lock().await;
        // Written straight from the ledger: a snapshot taken during a large list holds every
        // listed event, and a copy of it beside its text would double the peak.
        let encoded = self.ledger.encoded_snapshot();
        let (saved_at, events) = (encoded.saved_at(), encoded.events());
        match self.store.save(encoded).await {
            Ok(()) => {
                self.metrics.checkpoint_saved(saved_at.as_second());
                self.health.checkpoint_saved();
                tracing::debug!(events, "checkpoint saved");
                true
            }
            Err(error) => {
                self.metrics.add_checkpoint_errors(1);
                self.health.checkpoint_failed(&error);
                tracing::error!(%error, "checkpoint save failed; will retry");
                false
            }
        }
    }
}
