//! Saves the ledger's snapshot periodically and once more at the end.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::checkpoint::{CheckpointStore, Ledger};
use crate::metrics::Metrics;

pub(super) struct Checkpointer {
    pub(super) ledger: Ledger,
    pub(super) store: Arc<dyn CheckpointStore>,
    pub(super) metrics: Metrics,
}

impl Checkpointer {
    /// Saves every `interval` until `done` is cancelled. A failed save (a full disk) is logged,
    /// counted and tried again at the next tick; the previous checkpoint stays valid meanwhile.
    pub(super) async fn run(self, interval: Duration, done: CancellationToken) {
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

    /// Saves one snapshot; true when it was written.
    pub(super) async fn save(&self) -> bool {
        let snapshot = self.ledger.snapshot();
        match self.store.save(&snapshot).await {
            Ok(()) => {
                self.metrics.checkpoint_saved(snapshot.saved_at.as_second());
                tracing::debug!(events = snapshot.events.len(), "checkpoint saved");
                true
            }
            Err(error) => {
                self.metrics.add_checkpoint_errors(1);
                tracing::error!(%error, "checkpoint save failed; will retry");
                false
            }
        }
    }
}
