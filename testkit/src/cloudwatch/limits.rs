//! The PutLogEvents limits and the check of one request against them.
//!
//! Figures from the [PutLogEvents API reference] (checked December 2026):
//!
//! - "The maximum batch size is 1,048,576 bytes. This size is calculated as the sum of all
//!   event messages in UTF-8, plus 26 bytes for each log event."
//! - "Events more than 2 hours in the future are rejected while processing remaining valid
//!   events." / "Events older than 14 days or preceding the log group's retention period
//!   are rejected while processing remaining valid events." (reported in
//!   `rejectedLogEventsInfo`, the call succeeds).
//! - "The log events in the batch must be in chronological order by their timestamp."
//! - "Each log event can be no larger than 1 MB." (256 KB until AWS raised it in April 2025.)
//! - "The maximum number of log events in a batch is 10,000."
//! - "For valid events (within 14 days in the past to 2 hours in future), the time span in a
//!   single batch cannot exceed 24 hours. Otherwise, the operation fails."
//!
//! [PutLogEvents API reference]: https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html

use std::time::Duration;

use super::violation::Rule;

/// Most events in one PutLogEvents call.
pub const MAX_BATCH_EVENTS: usize = 10_000;
/// Most bytes in one PutLogEvents call, counted as UTF-8 message bytes plus
/// [`EVENT_OVERHEAD_BYTES`] per event.
pub const MAX_BATCH_BYTES: usize = 1_048_576;
/// What each event adds to the batch size on top of its message.
pub const EVENT_OVERHEAD_BYTES: usize = 26;
/// The largest event since April 2025 ("1 MB"), taken as 1,048,576 bytes.
pub const MAX_EVENT_BYTES: usize = 1_048_576;
/// The largest event before April 2025 (256 KB), for sinks that still keep to it.
pub const LEGACY_MAX_EVENT_BYTES: usize = 262_144;
/// The longest time from the earliest to the latest kept event of one call.
pub const MAX_BATCH_SPAN: Duration = Duration::from_secs(24 * 3600);
/// How far in the future an event may be before the service drops it.
pub const MAX_FUTURE: Duration = Duration::from_secs(2 * 3600);
/// How old an event may be before the service drops it.
pub const MAX_AGE: Duration = Duration::from_secs(14 * 24 * 3600);

/// The limits a [`StrictProxy`](super::StrictProxy) enforces, the real service's by default.
///
/// | field | default |
/// | --- | --- |
/// | [`max_events`](Limits::max_events) | [`MAX_BATCH_EVENTS`] (10,000) |
/// | [`max_batch_bytes`](Limits::max_batch_bytes) | [`MAX_BATCH_BYTES`] (1,048,576) |
/// | [`max_event_bytes`](Limits::max_event_bytes) | [`MAX_EVENT_BYTES`] (1,048,576) |
/// | [`max_span`](Limits::max_span) | [`MAX_BATCH_SPAN`] (24 h) |
/// | [`max_future`](Limits::max_future) | [`MAX_FUTURE`] (2 h) |
/// | [`max_age`](Limits::max_age) | [`MAX_AGE`] (14 days) |
///
/// An event's size is its UTF-8 message bytes plus 26, as for the batch. AWS does not say
/// whether the 26 count towards the per-event limit; with the current 1 MB limit it makes
/// no difference (a message of over 1,048,550 bytes breaks the batch limit anyway), with
/// the legacy 256 KB one this is the stricter reading.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Most events per call.
    pub max_events: usize,
    /// Most bytes per call.
    pub max_batch_bytes: usize,
    /// Most bytes per event.
    pub max_event_bytes: usize,
    /// Longest span of the kept events of one call.
    pub max_span: Duration,
    /// Events later than now plus this are dropped and reported as too new.
    pub max_future: Duration,
    /// Events earlier than now minus this are dropped and reported as too old.
    pub max_age: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_events: MAX_BATCH_EVENTS,
            max_batch_bytes: MAX_BATCH_BYTES,
            max_event_bytes: MAX_EVENT_BYTES,
            max_span: MAX_BATCH_SPAN,
            max_future: MAX_FUTURE,
            max_age: MAX_AGE,
        }
    }
}

impl Limits {
    /// Enforces this largest event size, e.g. [`LEGACY_MAX_EVENT_BYTES`].
    #[must_use]
    pub fn max_event_bytes(mut self, bytes: usize) -> Self {
        self.max_event_bytes = bytes;
        self
    }
}

/// One event as the check sees it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct EventInfo {
    /// Milliseconds since the epoch.
    pub timestamp: i64,
    /// UTF-8 bytes of the message.
    pub message_bytes: usize,
}

/// Indices of the events the service would drop, as in `rejectedLogEventsInfo`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Rejected {
    pub too_new_start: Option<usize>,
    pub too_old_end: Option<usize>,
    pub expired_end: Option<usize>,
}

impl Rejected {
    pub(crate) fn is_empty(&self) -> bool {
        self.too_new_start.is_none() && self.too_old_end.is_none() && self.expired_end.is_none()
    }
}

/// What the service would do with one PutLogEvents request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Verdict {
    /// Every limit broken; the call fails with the first.
    pub broken: Vec<Rule>,
    /// Positions of the events that would be stored (all others are `rejected`).
    pub kept: Vec<usize>,
    pub rejected: Rejected,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Fate {
    Kept,
    TooNew,
    TooOld,
    Expired,
}

/// Checks `events` as the service would at `now_ms`, for a log group that keeps events
/// `retention_days` days (`None`: forever).
pub(crate) fn check(
    limits: &Limits,
    events: &[EventInfo],
    now_ms: i64,
    retention_days: Option<u32>,
) -> Verdict {
    let mut broken = Vec::new();
    if events.is_empty() {
        broken.push(Rule::NoEvents);
    }
    if events.len() > limits.max_events {
        broken.push(Rule::TooManyEvents {
            count: events.len(),
            limit: limits.max_events,
        });
    }
    if let Some(index) = events.iter().position(|e| e.message_bytes == 0) {
        broken.push(Rule::EmptyMessage { index });
    }
    let size = |e: &EventInfo| e.message_bytes.saturating_add(EVENT_OVERHEAD_BYTES);
    if let Some((index, event)) = events
        .iter()
        .enumerate()
        .find(|(_, e)| size(e) > limits.max_event_bytes)
    {
        broken.push(Rule::EventTooLarge {
            index,
            bytes: size(event),
            limit: limits.max_event_bytes,
        });
    }
    let bytes = events.iter().map(size).fold(0_usize, usize::saturating_add);
    if bytes > limits.max_batch_bytes {
        broken.push(Rule::BatchTooLarge {
            bytes,
            limit: limits.max_batch_bytes,
        });
    }
    if let Some(index) = (1..events.len()).find(|&i| events[i].timestamp < events[i - 1].timestamp)
    {
        broken.push(Rule::OutOfOrder {
            index,
            timestamp: events[index].timestamp,
            previous: events[index - 1].timestamp,
        });
    }

    let newest = now_ms.saturating_add(millis(limits.max_future));
    let oldest = now_ms.saturating_sub(millis(limits.max_age));
    let retained = retention_days
        .map(|days| now_ms.saturating_sub(i64::from(days).saturating_mul(86_400_000)));
    let fate = |e: &EventInfo| {
        if e.timestamp > newest {
            Fate::TooNew
        } else if e.timestamp < oldest {
            Fate::TooOld
        } else if retained.is_some_and(|limit| e.timestamp < limit) {
            Fate::Expired
        } else {
            Fate::Kept
        }
    };
    let fates: Vec<Fate> = events.iter().map(fate).collect();
    let kept: Vec<usize> = (0..events.len())
        .filter(|&i| fates[i] == Fate::Kept)
        .collect();
    let rejected = Rejected {
        too_new_start: fates.iter().position(|&f| f == Fate::TooNew),
        too_old_end: fates.iter().rposition(|&f| f == Fate::TooOld),
        expired_end: fates.iter().rposition(|&f| f == Fate::Expired),
    };

    let kept_times = kept.iter().map(|&i| events[i].timestamp);
    if let (Some(min), Some(max)) = (kept_times.clone().min(), kept_times.max()) {
        let span_ms = max.saturating_sub(min);
        let limit_ms = millis(limits.max_span);
        if span_ms > limit_ms {
            broken.push(Rule::SpanTooLong { span_ms, limit_ms });
        }
    }
    Verdict {
        broken,
        kept,
        rejected,
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000_000;
    const HOUR: i64 = 3_600_000;

    fn event(timestamp: i64, message_bytes: usize) -> EventInfo {
        EventInfo {
            timestamp,
            message_bytes,
        }
    }

    fn at(times: &[i64]) -> Vec<EventInfo> {
        times.iter().map(|&t| event(t, 10)).collect()
    }

    #[test]
    fn a_valid_batch_keeps_every_event() {
        let verdict = check(&Limits::default(), &at(&[NOW - 1, NOW, NOW]), NOW, None);
        assert_eq!(verdict.broken, vec![]);
        assert_eq!(verdict.kept, vec![0, 1, 2]);
        assert!(verdict.rejected.is_empty());
    }

    #[test]
    fn ten_thousand_events_pass_and_one_more_breaks_the_count() {
        let events = vec![event(NOW, 1); 10_000];
        assert_eq!(check(&Limits::default(), &events, NOW, None).broken, vec![]);
        let events = vec![event(NOW, 1); 10_001];
        assert_eq!(
            check(&Limits::default(), &events, NOW, None).broken,
            vec![Rule::TooManyEvents {
                count: 10_001,
                limit: 10_000
            }]
        );
    }

    #[test]
    fn the_batch_size_counts_26_bytes_per_event() {
        // 4 × (262,118 + 26) = 1,048,576: exactly the limit.
        let events = vec![event(NOW, 262_118); 4];
        assert_eq!(check(&Limits::default(), &events, NOW, None).broken, vec![]);
        let mut events = events;
        events[3].message_bytes += 1;
        assert_eq!(
            check(&Limits::default(), &events, NOW, None).broken,
            vec![Rule::BatchTooLarge {
                bytes: 1_048_577,
                limit: 1_048_576
            }]
        );
    }

    #[test]
    fn an_event_over_the_configured_size_is_named_by_position() {
        let limits = Limits::default().max_event_bytes(LEGACY_MAX_EVENT_BYTES);
        let events = vec![event(NOW, 100), event(NOW, 262_119)];
        assert_eq!(
            check(&limits, &events, NOW, None).broken,
            vec![Rule::EventTooLarge {
                index: 1,
                bytes: 262_145,
                limit: 262_144
            }]
        );
        assert_eq!(check(&Limits::default(), &events, NOW, None).broken, vec![]);
    }

    #[test]
    fn empty_batches_and_empty_messages_break_validation() {
        assert_eq!(
            check(&Limits::default(), &[], NOW, None).broken,
            vec![Rule::NoEvents]
        );
        let events = vec![event(NOW, 3), event(NOW, 0)];
        assert_eq!(
            check(&Limits::default(), &events, NOW, None).broken,
            vec![Rule::EmptyMessage { index: 1 }]
        );
    }

    #[test]
    fn an_earlier_timestamp_after_a_later_one_is_out_of_order() {
        let verdict = check(&Limits::default(), &at(&[NOW - 5, NOW, NOW - 1]), NOW, None);
        assert_eq!(
            verdict.broken,
            vec![Rule::OutOfOrder {
                index: 2,
                timestamp: NOW - 1,
                previous: NOW
            }]
        );
    }

    #[test]
    fn a_span_of_exactly_24_hours_passes_and_one_more_millisecond_fails() {
        let day = 24 * HOUR;
        let verdict = check(&Limits::default(), &at(&[NOW - day, NOW]), NOW, None);
        assert_eq!(verdict.broken, vec![]);
        let verdict = check(&Limits::default(), &at(&[NOW - day - 1, NOW]), NOW, None);
        assert_eq!(
            verdict.broken,
            vec![Rule::SpanTooLong {
                span_ms: day + 1,
                limit_ms: day
            }]
        );
    }

    #[test]
    fn too_old_and_too_new_events_are_dropped_and_left_out_of_the_span() {
        let events = at(&[NOW - 15 * 24 * HOUR, NOW - HOUR, NOW, NOW + 3 * HOUR]);
        let verdict = check(&Limits::default(), &events, NOW, None);
        assert_eq!(verdict.broken, vec![]);
        assert_eq!(verdict.kept, vec![1, 2]);
        assert_eq!(
            verdict.rejected,
            Rejected {
                too_new_start: Some(3),
                too_old_end: Some(0),
                expired_end: None
            }
        );
    }

    #[test]
    fn events_older_than_the_retention_are_expired() {
        let events = at(&[
            NOW - 15 * 24 * HOUR,
            NOW - 3 * 24 * HOUR,
            NOW - 2 * 24 * HOUR,
            NOW,
        ]);
        let verdict = check(&Limits::default(), &events, NOW, Some(1));
        assert_eq!(verdict.kept, vec![3]);
        assert_eq!(verdict.rejected.too_old_end, Some(0));
        assert_eq!(verdict.rejected.expired_end, Some(2));
        assert_eq!(verdict.rejected.too_new_start, None);
    }

    #[test]
    fn every_broken_limit_is_reported() {
        let mut events = vec![event(NOW, 200); 10_001];
        events[5].timestamp = NOW - 1;
        let rules = check(&Limits::default(), &events, NOW, None).broken;
        assert_eq!(rules.len(), 3, "{rules:?}");
        assert!(matches!(rules[0], Rule::TooManyEvents { .. }));
        assert!(matches!(rules[1], Rule::BatchTooLarge { .. }));
        assert!(matches!(rules[2], Rule::OutOfOrder { index: 5, .. }));
    }
}
