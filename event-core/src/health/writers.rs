//! Where the process writes: each sink and the checkpoint store, failing or not, for readiness.
//!
//! A watch that fails is one half of "not making progress"; the other is a sink or the
//! checkpoint that keeps failing: backpressure then stalls the watch quietly, or every save is
//! lost and a restart resends everything still in the cluster. Both must show on `/readyz`.

use std::collections::BTreeMap;
use std::fmt::{self, Display};
use std::time::Duration;

use jiff::Timestamp;
use tokio::time::Instant;

/// The name under which the checkpoint store is listed.
pub(super) const CHECKPOINT: &str = "checkpoint";

/// Every writer that reported, by listed name (`sink cloudwatch`, `checkpoint`).
#[derive(Debug, Default)]
pub(super) struct Writers(BTreeMap<String, WriterState>);

#[derive(Debug)]
struct WriterState {
    /// When the current run of failures began: monotonic for the bound, wall clock to show.
    failing_since: Option<(Instant, Timestamp)>,
    last_error: String,
}

impl Writers {
    /// `writer` failed with `error` (already cut to one short line) and will be retried.
    pub(super) fn failed(&mut self, writer: String, error: String) {
        let state = self.0.entry(writer).or_insert(WriterState {
            failing_since: None,
            last_error: String::new(),
        });
        state
            .failing_since
            .get_or_insert_with(|| (Instant::now(), Timestamp::now()));
        state.last_error = error;
    }

    /// `writer` succeeded: whatever failed before is over.
    pub(super) fn succeeded(&mut self, writer: &str) {
        self.0.remove(writer);
    }

    /// The last error of `writer` while it is failing.
    pub(super) fn failing(&self, writer: &str) -> Option<&str> {
        self.0
            .get(writer)
            .filter(|s| s.failing_since.is_some())
            .map(|s| s.last_error.as_str())
    }

    /// Forgets every writer, as when its pipeline is gone.
    pub(super) fn clear(&mut self) {
        self.0.clear();
    }

    /// Every failing writer now, a failure longer than `stall_after` counting as stalled.
    pub(super) fn readiness(&self, now: Instant, stall_after: Duration) -> Vec<WriterReadiness> {
        self.0
            .iter()
            .filter_map(|(name, s)| {
                let (started, since) = s.failing_since?;
                let failing = now.saturating_duration_since(started);
                Some(WriterReadiness {
                    writer: name.clone(),
                    status: WriterStatus {
                        since,
                        failing,
                        stalled: failing > stall_after,
                        error: s.last_error.clone(),
                    },
                })
            })
            .collect()
    }
}

/// A sink or the checkpoint store that is failing, as [`Readiness`](super::Readiness) lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WriterReadiness {
    /// `sink NAME` for a sink, `checkpoint` for the checkpoint store.
    pub writer: String,
    /// How long it has been failing, and whether that makes the process unready.
    pub status: WriterStatus,
}

/// How long a writer has been failing. A writer that is not failing is not listed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WriterStatus {
    /// When the current run of failures began (wall clock).
    pub since: Timestamp,
    /// How long it has been failing.
    pub failing: Duration,
    /// Failing for longer than `stall_after`: the process is not ready.
    pub stalled: bool,
    /// The last error.
    pub error: String,
}

impl WriterStatus {
    /// Whether this writer lets the process be ready: failing for at most `stall_after`.
    pub fn is_ready(&self) -> bool {
        !self.stalled
    }
}

impl Display for WriterStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let since = self.since.strftime("%Y-%m-%dT%H:%M:%SZ");
        let failing = self.failing.as_secs();
        let error = &self.error;
        if self.stalled {
            write!(
                f,
                "not ready: failing since {since} ({failing}s); last error: {error}"
            )
        } else {
            write!(
                f,
                "ready, retrying since {since} ({failing}s) after: {error}"
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STALL: Duration = Duration::from_secs(60);

    #[tokio::test(start_paused = true)]
    async fn a_writer_failing_longer_than_stall_after_is_stalled_from_its_first_failure() {
        let mut writers = Writers::default();
        writers.failed("sink file".into(), "read-only file system".into());
        tokio::time::advance(Duration::from_secs(59)).await;
        writers.failed("sink file".into(), "still read-only".into());
        let listed = writers.readiness(Instant::now(), STALL);
        assert_eq!(listed.len(), 1);
        assert!(listed[0].status.is_ready(), "{}", listed[0].status);
        tokio::time::advance(Duration::from_secs(2)).await;
        let listed = writers.readiness(Instant::now(), STALL);
        assert!(!listed[0].status.is_ready());
        assert_eq!(listed[0].status.failing, Duration::from_secs(61));
        assert_eq!(listed[0].status.error, "still read-only");
        let line = listed[0].status.to_string();
        assert!(line.starts_with("not ready: failing since 20"), "{line}");
        assert!(
            line.ends_with("Z (61s); last error: still read-only"),
            "{line}"
        );
        assert_eq!(writers.failing("sink file"), Some("still read-only"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_success_ends_the_failure_and_the_next_is_measured_from_its_own_start() {
        let mut writers = Writers::default();
        writers.failed(CHECKPOINT.into(), "disk full".into());
        tokio::time::advance(Duration::from_secs(120)).await;
        writers.succeeded(CHECKPOINT);
        assert!(writers.readiness(Instant::now(), STALL).is_empty());
        assert_eq!(writers.failing(CHECKPOINT), None);
        writers.failed(CHECKPOINT.into(), "disk full".into());
        tokio::time::advance(Duration::from_secs(10)).await;
        let listed = writers.readiness(Instant::now(), STALL);
        assert!(listed[0].status.is_ready());
        assert!(
            listed[0]
                .status
                .to_string()
                .starts_with("ready, retrying since "),
            "{}",
            listed[0].status
        );
    }

    #[test]
    fn clearing_forgets_every_writer() {
        let mut writers = Writers::default();
        writers.failed("sink a".into(), "x".into());
        writers.failed(CHECKPOINT.into(), "y".into());
        writers.clear();
        assert!(writers.readiness(Instant::now(), Duration::ZERO).is_empty());
    }
}
