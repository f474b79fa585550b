//! `already_stored`: which events of an uncertain batch CloudWatch Logs holds.
//!
//! For each destination of the candidates, FilterLogEvents reads that one stream over the
//! candidates' time range, every page, and parses each message back into an [`Event`]. The
//! range covers every CloudWatch timestamp each candidate can have been stored with: its
//! `lastSeen`, or the time it was clamped to (see `stored_between`). Events acknowledged in
//! this process are known without a lookup.
//!
//! CloudWatch makes new events searchable after a short delay, so an event stored a moment
//! ago may be missed and sent again: readers deduplicate by key.

use std::collections::{HashMap, HashSet};

use event_core::{Event, OccurrenceKey, SinkError};
use jiff::SignedDuration;

use super::{CloudWatchSink, SINK_NAME, Settled};
use crate::batch::Window;
use crate::error::FailureKind;
use crate::limits::MAX_EVENT_AGE;
use crate::service;

/// Pages read per stream at most; past it the rest of the candidates count as not stored.
const MAX_PAGES: usize = 1000;

pub(super) async fn lookup(
    sink: &mut CloudWatchSink,
    candidates: &[Event],
) -> Result<HashSet<OccurrenceKey>, SinkError> {
    let mut found = HashSet::new();
    let mut wanted: Vec<((String, String), Vec<&Event>)> = Vec::new();
    let mut slot: HashMap<(String, String), usize> = HashMap::new();
    for event in candidates {
        if sink.settled.get(&event.key()) == Some(&Settled::Stored) {
            found.insert(event.key());
            continue;
        }
        let destination = sink.destination(event);
        let at = *slot.entry(destination.clone()).or_insert_with(|| {
            wanted.push((destination, Vec::new()));
            wanted.len() - 1
        });
        wanted[at].1.push(event);
    }
    let now = sink.clock.now();
    let window = sink.window();
    for ((group, stream), events) in wanted {
        let keys: HashSet<OccurrenceKey> = events.iter().map(|e| e.key()).collect();
        let (start, end) = events
            .iter()
            .map(|e| stored_between(e.last_seen.as_millisecond(), window, now))
            .fold((i64::MAX, i64::MIN), |(lo, hi), (a, b)| {
                (lo.min(a), hi.max(b))
            });
        match scan(
            sink,
            &group,
            &stream,
            (Some(start), Some(end.saturating_add(1))),
            &keys,
            &mut found,
        )
        .await
        {
            Ok(()) => {}
            Err(failure) if failure.kind == FailureKind::NotFound => {}
            Err(failure) if failure.kind == FailureKind::AccessDenied => {
                tracing::warn!(
                    sink = SINK_NAME,
                    log_group = %group,
                    error = %failure,
                    "cannot tell which events were stored without logs:FilterLogEvents; they will be sent again"
                );
                return Ok(found);
            }
            Err(failure) => return Err(failure.into_sink_error(&format!("{group}:{stream}"))),
        }
    }
    tracing::info!(
        sink = SINK_NAME,
        candidates = candidates.len(),
        stored = found.len(),
        "looked up which events CloudWatch Logs already holds"
    );
    Ok(found)
}

/// The CloudWatch timestamps an event of true time `t` can have been stored with, whenever
/// it was sent: `t` itself when it lies in today's window (it did when it was sent, unless
/// the event was then over 2 hours ahead of this host's clock); for an old event, between `t`
/// and today's oldest accepted time (it was clamped up, at most to that); for a future event,
/// up to today's newest accepted time, after any time CloudWatch may still hold.
fn stored_between(t: i64, window: Window, now: jiff::Timestamp) -> (i64, i64) {
    if t < window.oldest {
        (t, window.oldest)
    } else if t > window.newest {
        let age = SignedDuration::try_from(MAX_EVENT_AGE).unwrap_or_default();
        ((now - age).as_millisecond(), window.newest)
    } else {
        (t, t)
    }
}

async fn scan(
    sink: &CloudWatchSink,
    group: &str,
    stream: &str,
    range: (Option<i64>, Option<i64>),
    keys: &HashSet<OccurrenceKey>,
    found: &mut HashSet<OccurrenceKey>,
) -> Result<(), crate::error::Failure> {
    let mut token = None;
    for _ in 0..MAX_PAGES {
        sink.stats.add_lookups(1);
        let page = service::filter_page(&sink.client, group, stream, range, token).await?;
        for stored in page.events() {
            let Some(message) = stored.message() else {
                continue;
            };
            if let Ok(event) = serde_json::from_str::<Event>(message) {
                let key = event.key();
                if keys.contains(&key) {
                    found.insert(key);
                }
            }
        }
        if found.is_superset(keys) {
            return Ok(());
        }
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            return Ok(());
        }
    }
    tracing::warn!(
        sink = SINK_NAME,
        log_group = group,
        log_stream = stream,
        pages = MAX_PAGES,
        "stopped looking up stored events after too many pages; the rest will be sent again"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lookup_range_covers_every_timestamp_an_event_can_have_been_stored_with() {
        let now: jiff::Timestamp = "2026-11-24T12:00:00Z".parse().unwrap();
        let window = Window::at(now, None);
        let ms = |d: SignedDuration| (now + d).as_millisecond();
        let recent = ms(SignedDuration::from_mins(-5));
        assert_eq!(stored_between(recent, window, now), (recent, recent));
        let old = ms(SignedDuration::from_hours(-24 * 20));
        assert_eq!(stored_between(old, window, now), (old, window.oldest));
        let future = ms(SignedDuration::from_hours(5));
        let (lo, hi) = stored_between(future, window, now);
        assert_eq!(hi, window.newest);
        assert_eq!(lo, ms(SignedDuration::from_hours(-24 * 14)));
        // Clamped when sent an hour ago, the old event's timestamp is inside the range.
        let then = Window::at(now - SignedDuration::from_hours(1), None);
        let (lo, hi) = stored_between(old, window, now);
        assert!((lo..=hi).contains(&then.clamp(old)));
    }
}
