//! [`HistoryStats`]: what a history query has read so far, for a progress line and a summary.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use jiff::Timestamp;

/// Counters of a running history query; clones share them, so a progress task can read while
/// the query streams.
#[derive(Clone, Debug, Default)]
pub struct HistoryStats(Arc<Counters>);

#[derive(Debug)]
struct Counters {
    scanned: AtomicU64,
    matched: AtomicU64,
    repeats: AtomicU64,
    out_of_order: AtomicU64,
    errors: AtomicU64,
    reads: AtomicU64,
    /// Milliseconds since the epoch of the newest `last_seen` read; `i64::MIN` for none.
    reached_ms: AtomicI64,
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            scanned: AtomicU64::new(0),
            matched: AtomicU64::new(0),
            repeats: AtomicU64::new(0),
            out_of_order: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            reads: AtomicU64::new(0),
            reached_ms: AtomicI64::new(i64::MIN),
        }
    }
}

impl HistoryStats {
    /// The counters as they are now.
    pub fn snapshot(&self) -> Progress {
        let c = &self.0;
        let reached = c.reached_ms.load(Ordering::Relaxed);
        Progress {
            scanned: c.scanned.load(Ordering::Relaxed),
            matched: c.matched.load(Ordering::Relaxed),
            repeats: c.repeats.load(Ordering::Relaxed),
            out_of_order: c.out_of_order.load(Ordering::Relaxed),
            errors: c.errors.load(Ordering::Relaxed),
            reads: c.reads.load(Ordering::Relaxed),
            reached: (reached != i64::MIN)
                .then(|| Timestamp::from_millisecond(reached).ok())
                .flatten(),
        }
    }

    pub(super) fn scanned(&self, last_seen: Timestamp) {
        self.0.scanned.fetch_add(1, Ordering::Relaxed);
        self.0
            .reached_ms
            .fetch_max(last_seen.as_millisecond(), Ordering::Relaxed);
    }

    pub(super) fn matched(&self) {
        self.0.matched.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn repeat(&self) {
        self.0.repeats.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn set_out_of_order(&self, count: u64) {
        self.0.out_of_order.store(count, Ordering::Relaxed);
    }

    pub(super) fn error(&self) {
        self.0.errors.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn read_started(&self) {
        self.0.reads.fetch_add(1, Ordering::Relaxed);
    }
}

/// A snapshot of [`HistoryStats`]; its `Display` is a one-line progress report.
///
/// ```
/// use event_history::HistoryStats;
///
/// let progress = HistoryStats::default().snapshot();
/// assert_eq!(progress.to_string(), "scanned 0 events, 0 matched");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// Events read from the source, before any filter.
    pub scanned: u64,
    /// Events within the range that the selection kept, repeats included.
    pub matched: u64,
    /// Repeated occurrences dropped.
    pub repeats: u64,
    /// Events released after a newer one, later than the reorder window waits.
    pub out_of_order: u64,
    /// Errors the source reported (unreadable records, failed requests).
    pub errors: u64,
    /// Reads started: 1, and one more per poll when following.
    pub reads: u64,
    /// The newest `last_seen` read so far, to the millisecond.
    pub reached: Option<Timestamp>,
}

impl fmt::Display for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "scanned {} events, {} matched",
            self.scanned, self.matched
        )?;
        if self.repeats > 0 {
            write!(f, ", {} repeats dropped", self.repeats)?;
        }
        if self.errors > 0 {
            write!(f, ", {} errors", self.errors)?;
        }
        if let Some(reached) = self.reached {
            write!(f, ", reached {}", reached.strftime("%Y-%m-%dT%H:%M:%SZ"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_shared_by_clones_and_reached_is_the_newest() {
        let stats = HistoryStats::default();
        let reader = stats.clone();
        stats.read_started();
        stats.scanned("2026-11-24T10:02:11Z".parse().unwrap());
        stats.scanned("2026-11-24T09:00:00Z".parse().unwrap());
        stats.matched();
        stats.repeat();
        stats.error();
        let progress = reader.snapshot();
        assert_eq!(progress.scanned, 2);
        assert_eq!(progress.matched, 1);
        assert_eq!(progress.reads, 1);
        assert_eq!(
            progress.reached,
            Some("2026-11-24T10:02:11Z".parse().unwrap())
        );
        assert_eq!(
            progress.to_string(),
            "scanned 2 events, 1 matched, 1 repeats dropped, 1 errors, reached 2026-11-24T10:02:11Z"
        );
    }
}
