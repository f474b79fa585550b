//! A custom sink in a few lines: implement `Sink`, hand it to a `Pipeline`.
//!
//! Run: `cargo run --example custom_sink`
//!
//! This sink tallies Warning events by reason and prints one line per batch. Its `send` is
//! where a real sink would call its service: return `Ok` only once the events are stored, a
//! retryable `SinkError` for a transient failure (the pipeline retries with backoff), and
//! `SinkError::Rejected` for events that can never be stored.

use std::collections::BTreeMap;

use async_trait::async_trait;
use event_core::testing::sample_event;
use event_core::{Event, Pipeline, Sink, SinkError, Tracked};
use futures::stream;
use tokio_util::sync::CancellationToken;

#[derive(Default)]
struct WarningTally {
    by_reason: BTreeMap<String, u64>,
}

#[async_trait]
impl Sink for WarningTally {
    fn name(&self) -> &str {
        "warning-tally"
    }

    async fn send(&mut self, batch: &[Event]) -> Result<(), SinkError> {
        for event in batch.iter().filter(|e| e.is_warning()) {
            *self.by_reason.entry(event.reason.clone()).or_default() += u64::from(event.count);
        }
        println!("after {} events: {:?}", batch.len(), self.by_reason);
        Ok(())
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let events = (0..5).map(|i| {
        let mut event = sample_event(&format!("uid-{i}"), 100 + i, "payments");
        if i % 2 == 0 {
            event.reason = "FailedScheduling".into();
        }
        Ok::<_, std::convert::Infallible>(Tracked::untracked(event))
    });
    let report = Pipeline::new(stream::iter(events))
        .sink(WarningTally::default())
        .run(CancellationToken::new())
        .await?;
    println!("done: {} events acknowledged", report.acknowledged);
    Ok(())
}
