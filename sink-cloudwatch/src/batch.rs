//! Request building: a batch of events becomes PutLogEvents requests that obey every rule.
//!
//! The rules (see [`limits`](crate::limits)): one request goes to one log stream, holds at most
//! 10,000 events and 1,048,576 bytes (message bytes + 26 per event), is sorted by timestamp,
//! spans less than 24 hours, and every timestamp lies between 14 days (or the retention) ago and
//! 2 hours ahead. Events are grouped by destination in the order their destinations first
//! appear, sorted by their CloudWatch timestamp (stably: events with the same time keep the
//! order of the batch), then cut into requests.
//!
//! An event's CloudWatch timestamp is its `lastSeen` in milliseconds, moved into the accepted
//! window when it lies outside (minus a [`TIME_WINDOW_MARGIN`]); its JSON keeps the true
//! times, so nothing is lost but the position on CloudWatch's time axis.

use std::collections::HashMap;

use event_core::{Event, Rejection};
use jiff::Timestamp;

use crate::limits::{
    EVENT_OVERHEAD_BYTES, MAX_BATCH_BYTES, MAX_BATCH_EVENTS, MAX_BATCH_SPAN, MAX_EVENT_AGE,
    MAX_EVENT_FUTURE, MAX_MESSAGE_BYTES, TIME_WINDOW_MARGIN,
};
use crate::record::{self, BodyError};
use crate::template::NameTemplate;

/// The limits requests are cut by: [`PUT_LOG_EVENTS`] outside tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RequestLimits {
    pub max_events: usize,
    pub max_bytes: usize,
    pub overhead: usize,
    pub max_span_ms: i64,
    pub max_message: usize,
}

const fn millis(d: std::time::Duration) -> i64 {
    d.as_millis() as i64
}

/// The PutLogEvents limits.
pub(crate) const PUT_LOG_EVENTS: RequestLimits = RequestLimits {
    max_events: MAX_BATCH_EVENTS,
    max_bytes: MAX_BATCH_BYTES,
    overhead: EVENT_OVERHEAD_BYTES,
    max_span_ms: millis(MAX_BATCH_SPAN),
    max_message: MAX_MESSAGE_BYTES,
};

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// The timestamps CloudWatch Logs accepts now, in milliseconds, margins taken off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    pub oldest: i64,
    pub newest: i64,
}

impl Window {
    /// The window at `now` for a log group kept `retention_days` (`None`: never expires).
    pub fn at(now: Timestamp, retention_days: Option<u32>) -> Self {
        let now = now.as_millisecond();
        let max_age = retention_days
            .map(|d| i64::from(d) * DAY_MS)
            .unwrap_or(i64::MAX)
            .min(millis(MAX_EVENT_AGE));
        let margin = millis(TIME_WINDOW_MARGIN);
        Window {
            oldest: now - max_age + margin,
            newest: now + millis(MAX_EVENT_FUTURE) - margin,
        }
    }

    /// `ms` moved into the window.
    pub fn clamp(&self, ms: i64) -> i64 {
        ms.clamp(self.oldest, self.newest)
    }
}

/// One event of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// Index of the event in the batch given to `send`.
    pub index: usize,
    /// CloudWatch timestamp, ms since the epoch.
    pub timestamp: i64,
    /// The JSON body.
    pub message: String,
    /// Whether `timestamp` was moved into the accepted window.
    pub clamped: bool,
    /// Whether the message was cut to fit.
    pub truncated: bool,
}

/// One PutLogEvents request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PutRequest {
    pub group: String,
    pub stream: String,
    /// Sorted by timestamp.
    pub entries: Vec<Entry>,
    /// Bytes as PutLogEvents counts them.
    pub bytes: usize,
    /// Whether this request is a half of one CloudWatch refused as invalid.
    pub split: bool,
}

impl PutRequest {
    fn new(group: String, stream: String) -> Self {
        PutRequest {
            group,
            stream,
            entries: Vec::new(),
            bytes: 0,
            split: false,
        }
    }

    /// Splits a request of two or more events in two halves that keep its order.
    pub fn split_in_half(mut self) -> (PutRequest, PutRequest) {
        let tail = self.entries.split_off(self.entries.len() / 2);
        let size = |entries: &[Entry]| {
            entries
                .iter()
                .map(|e| e.message.len() + EVENT_OVERHEAD_BYTES)
                .sum()
        };
        let second = PutRequest {
            group: self.group.clone(),
            stream: self.stream.clone(),
            bytes: size(&tail),
            entries: tail,
            split: true,
        };
        self.bytes = size(&self.entries);
        self.split = true;
        (self, second)
    }

    /// First and last timestamp.
    pub fn time_range(&self) -> (i64, i64) {
        let first = self.entries.first().map_or(0, |e| e.timestamp);
        let last = self.entries.last().map_or(0, |e| e.timestamp);
        (first, last)
    }
}

/// A batch turned into requests.
#[derive(Debug, Default)]
pub(crate) struct Prepared {
    pub requests: Vec<PutRequest>,
    /// Events that cannot be sent at all.
    pub rejected: Vec<Rejection>,
    /// Indexes of events whose timestamp was moved into the window.
    pub clamped: Vec<usize>,
    /// Indexes of events whose message was cut.
    pub truncated: Vec<usize>,
}

/// Builds the requests for `events` (each with its index in the batch).
pub(crate) fn prepare<'a>(
    events: impl IntoIterator<Item = (usize, &'a Event)>,
    group: &NameTemplate,
    stream: &NameTemplate,
    window: Window,
    limits: RequestLimits,
) -> Prepared {
    let mut prepared = Prepared::default();
    let mut destinations: Vec<(String, String, Vec<Entry>)> = Vec::new();
    let mut slot: HashMap<(String, String), usize> = HashMap::new();
    for (index, event) in events {
        let body = match record::body(event, limits.max_message) {
            Ok(body) => body,
            Err(error) => {
                let reason = match error {
                    BodyError::TooLarge { .. } | BodyError::Json(_) => error.to_string(),
                };
                prepared.rejected.push(Rejection::new(index, reason));
                continue;
            }
        };
        if body.truncation.is_some() {
            prepared.truncated.push(index);
        }
        let true_time = event.last_seen.as_millisecond();
        let timestamp = window.clamp(true_time);
        if timestamp != true_time {
            prepared.clamped.push(index);
        }
        let key = (group.render(event), stream.render(event));
        let at = *slot.entry(key.clone()).or_insert_with(|| {
            destinations.push((key.0, key.1, Vec::new()));
            destinations.len() - 1
        });
        destinations[at].2.push(Entry {
            index,
            timestamp,
            clamped: timestamp != true_time,
            truncated: body.truncation.is_some(),
            message: body.message,
        });
    }
    for (group, stream, mut entries) in destinations {
        // Stable: same-time events keep their batch order.
        entries.sort_by_key(|e| e.timestamp);
        cut(group, stream, entries, limits, &mut prepared.requests);
    }
    prepared
}

fn cut(
    group: String,
    stream: String,
    entries: Vec<Entry>,
    limits: RequestLimits,
    out: &mut Vec<PutRequest>,
) {
    let mut current = PutRequest::new(group.clone(), stream.clone());
    for entry in entries {
        let size = entry.message.len() + limits.overhead;
        let full = current.entries.len() >= limits.max_events
            || current.bytes + size > limits.max_bytes
            || current
                .entries
                .first()
                .is_some_and(|first| entry.timestamp - first.timestamp >= limits.max_span_ms);
        if full && !current.entries.is_empty() {
            out.push(std::mem::replace(
                &mut current,
                PutRequest::new(group.clone(), stream.clone()),
            ));
        }
        current.bytes += size;
        current.entries.push(entry);
    }
    if !current.entries.is_empty() {
        out.push(current);
    }
}

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
