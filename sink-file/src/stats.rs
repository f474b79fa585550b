//! [`FileSinkStats`]: counters of what the sink did to the archive, for metrics and tests.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of the file sink. Cheap to clone; every clone reads the same values, so a handle
/// taken before the sink moves into a pipeline keeps counting.
#[derive(Clone, Debug, Default)]
pub struct FileSinkStats {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    torn_lines_cut: AtomicU64,
    files_rotated: AtomicU64,
    files_compressed: AtomicU64,
    files_removed: AtomicU64,
    writes_rolled_back: AtomicU64,
    batches_written: AtomicU64,
    events_written: AtomicU64,
}

macro_rules! counter {
    ($($(#[doc = $doc:literal])+ $get:ident, $inc:ident;)*) => {
        impl FileSinkStats {
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
        impl event_core::metrics::SinkStatistics for FileSinkStats {
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
    /// Torn last lines (left by a crash during a write) cut off at start-up.
    torn_lines_cut, add_torn_lines_cut;
    /// Files closed because their period ended or they were full.
    files_rotated, add_files_rotated;
    /// Closed files compressed to `.jsonl.gz`.
    files_compressed, add_files_compressed;
    /// Files deleted by retention.
    files_removed, add_files_removed;
    /// Failed writes whose partial bytes were cut off so that the batch can be retried cleanly.
    writes_rolled_back, add_writes_rolled_back;
    /// Batches written (and synced per the policy).
    batches_written, add_batches_written;
    /// Events written (and synced per the policy).
    events_written, add_events_written;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_their_counters() {
        let stats = FileSinkStats::default();
        let handle = stats.clone();
        stats.add_torn_lines_cut(1);
        stats.add_events_written(5);
        assert_eq!(handle.torn_lines_cut(), 1);
        assert_eq!(handle.events_written(), 5);
        assert_eq!(handle.files_rotated(), 0);
    }
}
