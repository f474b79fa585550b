//! The consumer's own sink: it remembers the key of every event it is handed.

use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use event_core::{Event, OccurrenceKey, Sink, SinkError};

/// Keeps the occurrence keys of the events it stores, in order, behind a shared handle.
#[derive(Clone, Debug, Default)]
pub struct Collect {
    keys: Arc<Mutex<Vec<OccurrenceKey>>>,
}

impl Collect {
    /// The keys stored so far, oldest first.
    pub fn keys(&self) -> Vec<OccurrenceKey> {
        self.keys
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[async_trait]
impl Sink for Collect {
    fn name(&self) -> &str {
        "collect"
    }

    async fn send(&mut self, batch: &[Event]) -> Result<(), SinkError> {
        self.keys
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(batch.iter().map(Event::key));
        Ok(())
    }
}
