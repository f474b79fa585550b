//! `already_stored`: which events of an uncertain batch CloudWatch Logs holds.
//!
//! For each destination of the candidates, FilterLogEvents reads that one stream over the
//! candidates' time range, every page, and parses each message back into an [`Event`]. The
//! range runs from the oldest candidate's true time (a clamped timestamp is only ever later
//! than the true one, for an old event) to 2 hours past now (the latest time CloudWatch takes).
//! Events acknowledged in this process are known without a lookup.
//!
//! CloudWatch makes new events searchable after a short delay, so an event stored a moment
//! ago may be missed and sent again: readers deduplicate by key.

use std::collections::{HashMap, HashSet};

use event_core::{Event, OccurrenceKey, SinkError};
use jiff::SignedDuration;

use super::{CloudWatchSink, SINK_NAME, Settled};
use crate::error::FailureKind;
use crate::limits::{MAX_EVENT_AGE, MAX_EVENT_FUTURE};
use crate::service::{self, Streams};

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
    let latest =
        (now + SignedDuration::try_from(MAX_EVENT_FUTURE).unwrap_or_default()).as_millisecond();
    let oldest_kept =
        (now - SignedDuration::try_from(MAX_EVENT_AGE).unwrap_or_default()).as_millisecond();
    for ((group, stream), events) in wanted {
        let keys: HashSet<OccurrenceKey> = events.iter().map(|e| e.key()).collect();
        let start = events
            .iter()
            .map(|e| {
                let t = e.last_seen.as_millisecond();
                // A future event was stored at some earlier "now + 2 h".
                if t > latest { oldest_kept } else { t }
            })
            .min()
            .unwrap_or(oldest_kept);
        match scan(
            sink,
            &group,
            &stream,
            (Some(start), Some(latest)),
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
        let page = service::filter_page(
            &sink.client,
            group,
            Streams::Named(stream),
            range,
            None,
            None,
            token,
        )
        .await?;
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
