//! Counters for `/metrics`, defined in one place so names never drift.
//!
//! Over 400 lines with its tests; the code itself is just under 400: one documented method per
//! counter.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};

pub mod exposition;

/// Metric names, as exposed: counters end in `_total`, times in `_seconds` (OpenMetrics).
pub mod names {
    /// Always 1, labelled with the crate's `version`: which build runs where.
    pub const BUILD_INFO: &str = "event_keeper_build_info";
    /// Seconds from an event's `last_seen` to its storage by a sink (label `sink`), a histogram.
    pub const EVENT_LATENCY: &str = "event_keeper_event_latency_seconds";
    /// Seconds each sink request took, whatever its outcome (label `sink`), a histogram.
    pub const SINK_REQUEST_DURATION: &str = "event_keeper_sink_request_duration_seconds";
    /// Prefix of a sink's own counters ([`SinkStatistics`](super::SinkStatistics)).
    pub const SINK_STATISTIC_PREFIX: &str = "event_keeper_sink_";
    /// Occurrences received from the watch (after deduplication).
    pub const EVENTS_RECEIVED: &str = "event_keeper_events_received_total";
    /// Occurrences every sink is done with (stored, or refused and routed).
    pub const EVENTS_ACKNOWLEDGED: &str = "event_keeper_events_acknowledged_total";
    /// Occurrences dropped by filters.
    pub const EVENTS_FILTERED: &str = "event_keeper_events_filtered_total";
    /// Occurrences stored by a sink (label `sink`).
    pub const EVENTS_SENT: &str = "event_keeper_events_sent_total";
    /// Occurrences refused by a sink (label `sink`).
    pub const EVENTS_REJECTED: &str = "event_keeper_events_rejected_total";
    /// Batches retried after a retryable error (label `sink`).
    pub const BATCHES_RETRIED: &str = "event_keeper_batches_retried_total";
    /// Occurrences not sent again because the sink reported them stored by an earlier attempt
    /// whose outcome was unknown (a timeout, a crash before the checkpoint) (label `sink`).
    pub const EVENTS_ALREADY_STORED: &str = "event_keeper_events_already_stored_total";
    /// Events per batch sent to a sink (label `sink`), a histogram.
    pub const BATCH_SIZE: &str = "event_keeper_batch_size";
    /// Batches waiting in a sink's queue (label `sink`).
    pub const QUEUE_DEPTH: &str = "event_keeper_queue_depth";
    /// Watch errors, each followed by a backoff and a retry.
    pub const WATCH_ERRORS: &str = "event_keeper_watch_errors_total";
    /// Watches established: a list completed, or a resumed watch connected (readiness).
    pub const WATCHES_ESTABLISHED: &str = "event_keeper_watches_established_total";
    /// Full relists of the watched resources (first start, or after 410 Gone).
    pub const WATCH_RELISTS: &str = "event_keeper_watch_relists_total";
    /// 410 Gone answers: the history the watch wanted was compacted.
    pub const WATCH_GONE: &str = "event_keeper_watch_gone_total";
    /// Watch scopes whose saved resume point was ahead of the cluster's current resourceVersion
    /// (an etcd restore, a checkpoint from another cluster, a hand edit), relisted from scratch.
    pub const CHECKPOINT_AHEAD: &str = "event_keeper_checkpoint_ahead_total";
    /// Events changed while the watch could not resume, exported in their latest state.
    pub const EVENTS_COALESCED: &str = "event_keeper_events_coalesced_total";
    /// Watched objects found deleted by a relist (absent from it, their deletion not seen while
    /// the watch could not resume), each exported as a `Deleted` record.
    pub const OBJECTS_DELETED_IN_GAP: &str = "event_keeper_objects_deleted_in_gap_total";
    /// Objects from the API that could not be normalized.
    pub const EVENTS_MALFORMED: &str = "event_keeper_events_malformed_total";
    /// Unix time of the last successful checkpoint save.
    pub const CHECKPOINT_SAVED: &str = "event_keeper_checkpoint_last_saved_seconds";
    /// Checkpoint saves that failed.
    pub const CHECKPOINT_ERRORS: &str = "event_keeper_checkpoint_errors_total";
    /// Seconds between an event's last_seen and its acknowledgement by every sink (last batch).
    pub const EVENT_LAG: &str = "event_keeper_event_lag_seconds";
    /// Unix time of the last notification from the watch (progress, for readiness).
    pub const WATCH_PROGRESS: &str = "event_keeper_watch_last_progress_seconds";
    /// 1 while this replica holds the leader lease (or runs without leader election), else 0.
    pub const LEADER: &str = "event_keeper_leader";
    /// Seconds since the last successful checkpoint save (since start before the first one),
    /// computed when rendered.
    pub const CHECKPOINT_AGE: &str = "event_keeper_checkpoint_age_seconds";
    /// 1 while the process waits at start for the API server to answer (discovery and a first
    /// list), else 0.
    pub const API_UNREACHABLE: &str = "event_keeper_api_unreachable";
    /// Failed attempts to reach the API server at start, each followed by a backoff.
    pub const API_START_ERRORS: &str = "event_keeper_api_start_errors_total";
}

/// Per-sink counters.
#[derive(Debug)]
pub struct SinkCounters {
    /// Events stored.
    pub sent: AtomicU64,
    /// Events refused.
    pub rejected: AtomicU64,
    /// Batches retried.
    pub retried: AtomicU64,
    /// Sum of batch sizes.
    pub batch_events: AtomicU64,
    /// Number of batches.
    pub batches: AtomicU64,
    /// Batches queued and not yet taken by the sink.
    pub queue_depth: AtomicI64,
    /// Events found already stored (and so not sent again) after an unknown outcome.
    pub already_stored: AtomicU64,
    /// Seconds from each stored event's `last_seen` to the sink's `Ok`.
    latency: Histogram,
    /// Seconds each `send` call took, whatever its outcome.
    request_duration: Histogram,
}

impl Default for SinkCounters {
    fn default() -> Self {
        SinkCounters {
            sent: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            retried: AtomicU64::new(0),
            batch_events: AtomicU64::new(0),
            batches: AtomicU64::new(0),
            queue_depth: AtomicI64::new(0),
            already_stored: AtomicU64::new(0),
            // 50 ms to about 55 minutes: an event's way from the API server into a sink, from a
            // fresh one to one that waited out a long sink outage.
            latency: Histogram::new(exponential_buckets(0.05, 2.0, 17)),
            // 5 ms to about 82 s: one request, up to past the default sink timeout.
            request_duration: Histogram::new(exponential_buckets(0.005, 2.0, 15)),
        }
    }
}

impl SinkCounters {
    /// Records how long one `send` call took.
    pub fn observe_request(&self, took: std::time::Duration) {
        self.request_duration.observe(took.as_secs_f64());
    }

    /// Records the end-to-end latency of events the sink has just stored: from each one's
    /// `last_seen` to `now`.
    pub fn observe_stored(&self, events: &[crate::Event], now: jiff::Timestamp) {
        for event in events {
            let seconds = now.duration_since(event.last_seen).as_secs_f64();
            self.latency.observe(seconds.max(0.0));
        }
    }
}

/// A sink's own counters (requests, bytes, retries, ...), read at each scrape and exported as
/// `event_keeper_sink_<name>_total{sink="..."}`.
///
/// A sink crate implements it for its statistics handle; the application registers that handle
/// with [`Metrics::register_sink_statistics`].
///
/// ```
/// use event_core::metrics::{Metrics, SinkStatistic, SinkStatistics};
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicU64, Ordering};
///
/// #[derive(Debug, Default)]
/// struct WebhookStats {
///     requests: AtomicU64,
/// }
///
/// impl SinkStatistics for WebhookStats {
///     fn statistics(&self) -> Vec<SinkStatistic> {
///         vec![SinkStatistic::new(
///             "requests",
///             "HTTP requests sent.",
///             self.requests.load(Ordering::Relaxed),
///         )]
///     }
/// }
///
/// let metrics = Metrics::default();
/// let stats = Arc::new(WebhookStats::default());
/// stats.requests.fetch_add(2, Ordering::Relaxed);
/// metrics.register_sink_statistics("webhook", stats);
/// assert!(metrics
///     .render_prometheus()
///     .contains(r#"event_keeper_sink_requests_total{sink="webhook"} 2"#));
/// ```
pub trait SinkStatistics: std::fmt::Debug + Send + Sync + 'static {
    /// The counters' current values.
    fn statistics(&self) -> Vec<SinkStatistic>;
}

/// One counter of a [`SinkStatistics`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SinkStatistic {
    /// Lowercase snake_case name, without the `event_keeper_sink_` prefix and `_total`
    /// suffix, e.g. `requests`, `bytes_stored`.
    pub name: &'static str,
    /// One sentence for the `# HELP` line.
    pub help: &'static str,
    /// The counter's value.
    pub value: u64,
}

impl SinkStatistic {
    /// A counter named `name` (see [`SinkStatistic::name`]).
    pub fn new(name: &'static str, help: &'static str, value: u64) -> Self {
        SinkStatistic { name, help, value }
    }
}

/// The process's counters. Cheap to clone; every clone shares the same values.
#[derive(Clone, Debug, Default)]
pub struct Metrics {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    received: AtomicU64,
    acknowledged: AtomicU64,
    filtered: AtomicU64,
    watch_errors: AtomicU64,
    relists: AtomicU64,
    established: AtomicU64,
    gone: AtomicU64,
    checkpoint_ahead: AtomicU64,
    coalesced: AtomicU64,
    deleted_in_gap: AtomicU64,
    malformed: AtomicU64,
    checkpoint_saved: AtomicI64,
    checkpoint_errors: AtomicU64,
    api_start_errors: AtomicU64,
    api_unreachable: AtomicBool,
    event_lag_ms: AtomicI64,
    watch_progress: AtomicI64,
    sinks: Mutex<BTreeMap<String, Arc<SinkCounters>>>,
    sink_statistics: Mutex<BTreeMap<String, Arc<dyn SinkStatistics>>>,
    leader: AtomicBool,
    started: Started,
}

/// Unix time at which the metrics were created: the checkpoint's age before its first save.
#[derive(Debug)]
struct Started(i64);

impl Default for Started {
    fn default() -> Self {
        Started(jiff::Timestamp::now().as_second())
    }
}

macro_rules! counter {
    ($(#[$doc:meta])* $inc:ident, $get:ident, $field:ident) => {
        $(#[$doc])*
        pub fn $inc(&self, n: u64) {
            self.inner.$field.fetch_add(n, Ordering::Relaxed);
        }

        /// The current value of the counter of the same name.
        pub fn $get(&self) -> u64 {
            self.inner.$field.load(Ordering::Relaxed)
        }
    };
}

impl Metrics {
    counter!(
        /// Adds to the events received.
        add_received, received, received
    );
    counter!(
        /// Adds to the events every sink is done with.
        add_acknowledged, acknowledged, acknowledged
    );
    counter!(
        /// Adds to the events dropped by filters.
        add_filtered, filtered, filtered
    );
    counter!(
        /// Adds to the watch errors.
        add_watch_errors, watch_errors, watch_errors
    );
    counter!(
        /// Adds to the relists.
        add_relists, relists, relists
    );
    counter!(
        /// Adds to the watches established (a list completed, or a resumed watch connected).
        add_established, established, established
    );
    counter!(
        /// Adds to the 410 Gone answers.
        add_gone, gone, gone
    );
    counter!(
        /// Adds to the scopes whose saved resume point was ahead of the cluster.
        add_checkpoint_ahead, checkpoint_ahead, checkpoint_ahead
    );
    counter!(
        /// Adds to the events exported coalesced after a relist.
        add_coalesced, coalesced, coalesced
    );
    counter!(
        /// Adds to the objects found deleted by a relist.
        add_deleted_in_gap, deleted_in_gap, deleted_in_gap
    );
    counter!(
        /// Adds to the objects that could not be normalized.
        add_malformed, malformed, malformed
    );
    counter!(
        /// Adds to the failed checkpoint saves.
        add_checkpoint_errors, checkpoint_errors, checkpoint_errors
    );
    counter!(
        /// Adds to the failed attempts to reach the API server at start.
        add_api_start_errors, api_start_errors, api_start_errors
    );

    /// Records whether the process is waiting at start for the API server (the
    /// [`names::API_UNREACHABLE`] gauge).
    pub fn set_api_unreachable(&self, unreachable: bool) {
        self.inner
            .api_unreachable
            .store(unreachable, Ordering::Relaxed);
    }

    /// Whether the process was last recorded as waiting for the API server.
    pub fn is_api_unreachable(&self) -> bool {
        self.inner.api_unreachable.load(Ordering::Relaxed)
    }

    /// The counters of one sink, created on first use.
    pub fn sink(&self, name: &str) -> Arc<SinkCounters> {
        lock(&self.inner.sinks)
            .entry(name.to_owned())
            .or_default()
            .clone()
    }

    /// Records a successful checkpoint save at `unix_seconds`.
    pub fn checkpoint_saved(&self, unix_seconds: i64) {
        self.inner
            .checkpoint_saved
            .store(unix_seconds, Ordering::Relaxed);
    }

    /// Unix time of the last successful checkpoint save, 0 if none.
    pub fn last_checkpoint_save(&self) -> i64 {
        self.inner.checkpoint_saved.load(Ordering::Relaxed)
    }

    /// Records the lag of the newest acknowledged event.
    pub fn set_event_lag_ms(&self, ms: i64) {
        self.inner.event_lag_ms.store(ms, Ordering::Relaxed);
    }

    /// Records watch progress at `unix_seconds`.
    pub fn watch_progress(&self, unix_seconds: i64) {
        self.inner
            .watch_progress
            .store(unix_seconds, Ordering::Relaxed);
    }

    /// Unix time of the last notification from the watch, 0 if none.
    pub fn last_watch_progress(&self) -> i64 {
        self.inner.watch_progress.load(Ordering::Relaxed)
    }

    /// Records whether this replica is the leader (the [`names::LEADER`] gauge).
    pub fn set_leader(&self, leader: bool) {
        self.inner.leader.store(leader, Ordering::Relaxed);
    }

    /// Whether this replica was last recorded as the leader.
    pub fn is_leader(&self) -> bool {
        self.inner.leader.load(Ordering::Relaxed)
    }

    /// Seconds from the last checkpoint save (or from the creation of these metrics, before the
    /// first save) to `now_unix_seconds`.
    pub fn checkpoint_age_seconds(&self, now_unix_seconds: i64) -> i64 {
        let saved = self.last_checkpoint_save();
        let since = if saved > 0 {
            saved
        } else {
            self.inner.started.0
        };
        now_unix_seconds.saturating_sub(since).max(0)
    }

    /// Registers a sink's own counters under its name, replacing any registered before.
    pub fn register_sink_statistics(&self, sink: &str, statistics: Arc<dyn SinkStatistics>) {
        lock(&self.inner.sink_statistics).insert(sink.to_owned(), statistics);
    }

    /// Renders every metric in the OpenMetrics text format (which Prometheus scrapes), with
    /// `# HELP`, `# TYPE` and `# UNIT` lines and escaped label values; see
    /// [`exposition::CONTENT_TYPE`].
    pub fn render_prometheus(&self) -> String {
        exposition::render(self)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_per_sink_series() {
        let m = Metrics::default();
        m.add_received(3);
        m.sink("file").sent.fetch_add(2, Ordering::Relaxed);
        let text = m.render_prometheus();
        assert!(
            text.contains("event_keeper_events_received_total 3"),
            "{text}"
        );
        assert!(
            text.contains("event_keeper_events_sent_total{sink=\"file\"} 2"),
            "{text}"
        );
        assert!(text.contains("# TYPE event_keeper_queue_depth gauge"));
    }

    #[test]
    fn renders_the_leader_gauge_as_zero_or_one() {
        let m = Metrics::default();
        assert!(m.render_prometheus().contains("\nevent_keeper_leader 0\n"));
        m.set_leader(true);
        assert!(m.is_leader());
        let text = m.render_prometheus();
        assert!(
            text.contains("# TYPE event_keeper_leader gauge\nevent_keeper_leader 1\n"),
            "{text}"
        );
    }

    #[test]
    fn checkpoint_age_counts_from_the_last_save_or_from_start() {
        let m = Metrics::default();
        let started = m.inner.started.0;
        assert_eq!(m.checkpoint_age_seconds(started + 40), 40);
        m.checkpoint_saved(started + 100);
        assert_eq!(m.checkpoint_age_seconds(started + 130), 30);
        assert_eq!(
            m.checkpoint_age_seconds(started + 90),
            0,
            "a clock step back is not negative"
        );
        assert!(
            m.render_prometheus()
                .contains("# TYPE event_keeper_checkpoint_age_seconds gauge")
        );
    }

    #[test]
    fn renders_the_api_start_gauge_and_its_error_count() {
        let m = Metrics::default();
        assert!(
            m.render_prometheus()
                .contains("\nevent_keeper_api_unreachable 0\n")
        );
        m.set_api_unreachable(true);
        m.add_api_start_errors(3);
        assert!(m.is_api_unreachable());
        let text = m.render_prometheus();
        assert!(
            text.contains(
                "# TYPE event_keeper_api_unreachable gauge\nevent_keeper_api_unreachable 1\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("event_keeper_api_start_errors_total 3"),
            "{text}"
        );
    }

    #[test]
    fn label_values_are_escaped_and_every_family_has_help() {
        let m = Metrics::default();
        // A library user's sink may be named anything.
        m.sink("we\"ird\\name\n")
            .sent
            .fetch_add(1, Ordering::Relaxed);
        let text = m.render_prometheus();
        assert!(
            text.contains(r#"event_keeper_events_sent_total{sink="we\"ird\\name\n"} 1"#),
            "{text}"
        );
        let types = text.lines().filter(|l| l.starts_with("# TYPE ")).count();
        let helps = text.lines().filter(|l| l.starts_with("# HELP ")).count();
        assert!(types > 10 && types == helps, "{text}");
        assert!(text.ends_with("# EOF\n"), "{text}");
        assert!(
            text.contains("event_keeper_build_info{version=\""),
            "{text}"
        );
    }

    #[test]
    fn sink_histograms_count_requests_and_stored_events() {
        let m = Metrics::default();
        let c = m.sink("file");
        c.observe_request(std::time::Duration::from_millis(30));
        let mut event = crate::Event::new("uid-1", "7");
        event.last_seen = jiff::Timestamp::from_second(1_000).expect("a time");
        c.observe_stored(
            &[event.clone(), event],
            jiff::Timestamp::from_second(1_002).expect("a time"),
        );
        let text = m.render_prometheus();
        assert!(
            text.contains(r#"event_keeper_sink_request_duration_seconds_count{sink="file"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"event_keeper_event_latency_seconds_bucket{le="3.2",sink="file"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(r#"event_keeper_event_latency_seconds_bucket{le="1.6",sink="file"} 0"#),
            "{text}"
        );
    }

    #[test]
    fn clones_share_values() {
        let m = Metrics::default();
        m.clone().add_gone(1);
        assert_eq!(m.gone(), 1);
    }
}
