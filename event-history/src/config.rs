//! [`HistoryConfig`]: the range and the memory bounds of a history query.

use std::time::Duration;

use jiff::SignedDuration;

use super::dedupe::{DEFAULT_DEDUPE_HORIZON, DEFAULT_MAX_KEYS};
use super::reorder::{DEFAULT_LATENESS, DEFAULT_REORDER_CAPACITY};
use super::time::TimeRange;

/// How a [`History`](super::History) reads.
///
/// | setting | default | what it bounds |
/// |---|---|---|
/// | `range` | everything | events by `last_seen`, both ends inclusive |
/// | `follow` | off | with `Some(interval)`, poll again that long after each read ends |
/// | `reorder_capacity` | [`DEFAULT_REORDER_CAPACITY`] (20,000) | events held to put them in order |
/// | `lateness` | [`DEFAULT_LATENESS`] (5 minutes) | how far out of order events may arrive and still be put in place |
/// | `dedupe_horizon` | [`DEFAULT_DEDUPE_HORIZON`] (70 minutes) | how long a key is remembered behind the newest event; raised to the source's overlap plus a second |
/// | `max_keys` | [`DEFAULT_MAX_KEYS`] (1,000,000) | keys remembered at most |
///
/// ```
/// use std::time::Duration;
///
/// use event_history::{HistoryConfig, TimeRange};
///
/// let config = HistoryConfig::default()
///     .range(TimeRange::new(Some("2026-11-24T10:00:00Z".parse()?), None)?)
///     .follow(Duration::from_secs(2));
/// assert_eq!(config.follow, Some(Duration::from_secs(2)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HistoryConfig {
    /// The events to read, by `last_seen`.
    pub range: TimeRange,
    /// When set, read again this long after each read ends, until dropped.
    pub follow: Option<Duration>,
    /// The most events held to put them in time order (at least 1).
    pub reorder_capacity: usize,
    /// How far out of order events may arrive and still be put in place.
    pub lateness: SignedDuration,
    /// How long an occurrence key is remembered behind the newest event.
    pub dedupe_horizon: SignedDuration,
    /// The most occurrence keys remembered.
    pub max_keys: usize,
}

impl Default for HistoryConfig {
    fn default() -> Self {
        HistoryConfig {
            range: TimeRange::ALL,
            follow: None,
            reorder_capacity: DEFAULT_REORDER_CAPACITY,
            lateness: DEFAULT_LATENESS,
            dedupe_horizon: DEFAULT_DEDUPE_HORIZON,
            max_keys: DEFAULT_MAX_KEYS,
        }
    }
}

impl HistoryConfig {
    /// Sets [`range`](Self::range).
    #[must_use]
    pub fn range(mut self, range: TimeRange) -> Self {
        self.range = range;
        self
    }

    /// Sets [`follow`](Self::follow) to poll every `interval`.
    #[must_use]
    pub fn follow(mut self, interval: Duration) -> Self {
        self.follow = Some(interval);
        self
    }

    /// Sets [`reorder_capacity`](Self::reorder_capacity).
    #[must_use]
    pub fn reorder_capacity(mut self, events: usize) -> Self {
        self.reorder_capacity = events;
        self
    }

    /// Sets [`lateness`](Self::lateness).
    #[must_use]
    pub fn lateness(mut self, lateness: SignedDuration) -> Self {
        self.lateness = lateness;
        self
    }

    /// Sets [`dedupe_horizon`](Self::dedupe_horizon).
    #[must_use]
    pub fn dedupe_horizon(mut self, horizon: SignedDuration) -> Self {
        self.dedupe_horizon = horizon;
        self
    }

    /// Sets [`max_keys`](Self::max_keys).
    #[must_use]
    pub fn max_keys(mut self, keys: usize) -> Self {
        self.max_keys = keys;
        self
    }
}
