//! Asking a sink what it already stored, so that an ambiguous delivery is not repeated.
//!
//! Two situations leave the pipeline unsure whether a sink stored some events: a call that
//! failed with [`SinkError::maybe_stored`] (a timeout after the request was sent), and a restart
//! after a crash, for the occurrences the previous run handed out up to its dispatch mark but did
//! not checkpoint. In both, the sink is asked ([`Sink::already_stored`]) and only what it does not
//! hold is sent.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::atomic::Ordering;

use tokio_util::sync::CancellationToken;

use super::PipelineError;
use crate::metrics::SinkCounters;
use crate::retry::Backoff;
use crate::{Event, OccurrenceKey, Sink, SinkError};

/// What asking the sink came to.
pub(super) enum Asked {
    /// The events still to send (those the sink does not hold, or all when it cannot tell).
    Remaining,
    /// The shutdown deadline passed while asking.
    Abandoned,
}

/// Removes from `events` those of `candidates` that the sink reports stored, retrying the
/// question on retryable errors. `candidates` selects which events are in doubt.
pub(super) async fn drop_already_stored(
    sink: &mut dyn Sink,
    events: &mut Cow<'_, [Event]>,
    candidates: impl Fn(&Event) -> bool,
    counters: &SinkCounters,
    hard_stop: &CancellationToken,
) -> Result<Asked, PipelineError> {
    let doubtful: Vec<Event> = events.iter().filter(|e| candidates(e)).cloned().collect();
    if doubtful.is_empty() {
        return Ok(Asked::Remaining);
    }
    let mut backoff = Backoff::sink();
    let stored = loop {
        let answer = tokio::select! {
            biased;
            () = hard_stop.cancelled() => return Ok(Asked::Abandoned),
            answer = sink.already_stored(&doubtful) => answer,
        };
        match answer {
            Ok(stored) => break stored,
            Err(error @ SinkError::Fatal { .. }) => {
                return Err(PipelineError::SinkFailed {
                    sink: sink.name().to_owned(),
                    source: error,
                });
            }
            Err(error) => {
                let delay = backoff.next_delay();
                tracing::warn!(sink = sink.name(), %error, delay_ms = delay.as_millis() as u64,
                    "asking the sink what it already stored failed; asking again");
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    () = hard_stop.cancelled() => return Ok(Asked::Abandoned),
                }
            }
        }
    };
    let Some(stored) = stored.filter(|s| !s.is_empty()) else {
        return Ok(Asked::Remaining);
    };
    let before = events.len();
    let remaining = without(events, &stored);
    let skipped = (before - remaining.len()) as u64;
    counters
        .already_stored
        .fetch_add(skipped, Ordering::Relaxed);
    counters.sent.fetch_add(skipped, Ordering::Relaxed);
    tracing::info!(
        sink = sink.name(),
        events = skipped,
        "events already stored by an earlier attempt are not sent again"
    );
    *events = Cow::Owned(remaining);
    Ok(Asked::Remaining)
}

fn without(events: &[Event], stored: &HashSet<OccurrenceKey>) -> Vec<Event> {
    events
        .iter()
        .filter(|e| !stored.contains(&e.key()))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::sample_event;

    #[test]
    fn without_keeps_the_order_of_what_is_left() {
        let events: Vec<Event> = (1..=4)
            .map(|i| sample_event(&format!("u{i}"), i, "ns"))
            .collect();
        let stored: HashSet<OccurrenceKey> = [events[0].key(), events[2].key()].into();
        let left: Vec<String> = without(&events, &stored)
            .into_iter()
            .map(|e| e.uid)
            .collect();
        assert_eq!(left, ["u2", "u4"]);
    }
}
