//! [`CloudWatchSinkStats`]: counters of what the sink did, for metrics, benches and tests.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of the CloudWatch sink. Cheap to clone; every clone reads the same values, so a
/// handle taken before the sink moves into a pipeline keeps counting.
#[derive(Clone, Debug, Default)]
pub struct CloudWatchSinkStats {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    put_calls: AtomicU64,
    put_failures: AtomicU64,
    put_throttled: AtomicU64,
    events_stored: AtomicU64,
    bytes_stored: AtomicU64,
    events_clamped: AtomicU64,
    events_truncated: AtomicU64,
    events_rejected: AtomicU64,
    groups_created: AtomicU64,
    streams_created: AtomicU64,
    lookups: AtomicU64,
}

macro_rules! counter {
    ($($(#[doc = $doc:literal])+ $get:ident, $inc:ident;)*) => {
        impl CloudWatchSinkStats {
            $(
                $(#[doc = $doc])+
                pub fn $get(&self) -> u64 {
                    self.inner.$get.load(Ordering::Relaxed)
                }

                pub(crate) fn $inc(&self, by: u64) {
                    self.inner.$get.fetch_add(by, Ordering::Relaxed);
                }
            )*
        }

        /// Every counter, as `event_keeper_sink_<name>_total{sink="..."}` on `/metrics` once
        /// registered with [`Metrics::register_sink_statistics`](event_core::metrics::Metrics::register_sink_statistics).
        impl event_core::metrics::SinkStatistics for CloudWatchSinkStats {
            fn statistics(&self) -> Vec<event_core::metrics::SinkStatistic> {
                vec![$(
                    event_core::metrics::SinkStatistic::new(
                        stringify!($get),
                        concat!($($doc),+).trim_ascii(),
                        self.$get(),
                    ),
                )*]
            }
        }
    };
}

counter! {
    /// PutLogEvents requests sent, whatever their outcome.
    put_calls, add_put_calls;
    /// PutLogEvents requests that failed (throttled, timed out, refused, ...).
    put_failures, add_put_failures;
    /// PutLogEvents requests CloudWatch Logs throttled (`ThrottlingException`, HTTP 429): the
    /// account's request quota is the limit, not the exporter.
    put_throttled, add_put_throttled;
    /// Events CloudWatch Logs acknowledged.
    events_stored, add_events_stored;
    /// Bytes of the acknowledged events, counted as PutLogEvents does (message + 26 each).
    bytes_stored, add_bytes_stored;
    /// Events whose CloudWatch timestamp was moved into the accepted window (their JSON keeps
    /// the true times).
    events_clamped, add_events_clamped;
    /// Events whose message was cut to fit the maximum event size.
    events_truncated, add_events_truncated;
    /// Events refused for good (by CloudWatch, or too large even without a message).
    events_rejected, add_events_rejected;
    /// Log groups this sink created.
    groups_created, add_groups_created;
    /// Log streams this sink created.
    streams_created, add_streams_created;
    /// FilterLogEvents requests made to tell which events of an uncertain batch were stored.
    lookups, add_lookups;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_their_counters() {
        let stats = CloudWatchSinkStats::default();
        let handle = stats.clone();
        stats.add_put_calls(2);
        stats.add_events_clamped(5);
        assert_eq!(handle.put_calls(), 2);
        assert_eq!(handle.events_clamped(), 5);
        assert_eq!(handle.streams_created(), 0);
    }
}
