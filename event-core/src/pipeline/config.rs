//! Settings of a [`Pipeline`](super::Pipeline).

use std::time::Duration;

/// Settings of a [`Pipeline`](super::Pipeline).
///
/// | setting | default | meaning |
/// |---|---|---|
/// | `max_batch_events` | 500 | a batch is sent when it holds this many events |
/// | `max_batch_wait` | 1 s | ... or when its oldest event has waited this long |
/// | `queue_batches` | 16 | batches queued per sink before the stream is slowed (never dropped) |
/// | `sink_timeout` | 60 s | outer bound of one `Sink::send`; elapsing counts as retryable |
/// | `checkpoint_interval` | 5 s | how often the checkpoint is saved (and once more at shutdown) |
/// | `shutdown_timeout` | 10 s | how long shutdown waits for the sinks to drain, counted from the shutdown request |
/// | `checkpoint_timeout` | 5 s | bound of the final checkpoint save at shutdown |
///
/// From the shutdown request to [`Pipeline::run`](super::Pipeline::run) returning takes at
/// most `shutdown_timeout + checkpoint_timeout`, whatever the sinks and the store do: a send
/// still in flight at the drain deadline is abandoned (its batch stays unacknowledged and is
/// sent again after a restart). With a Lease release of at most 5 s after it, the defaults
/// fit Kubernetes' default 30 s `terminationGracePeriodSeconds` with 10 s to spare.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct PipelineConfig {
    /// A batch is sent when it holds this many events.
    pub max_batch_events: usize,
    /// ... or when its oldest event has waited this long.
    pub max_batch_wait: Duration,
    /// Batches queued per sink before the stream is slowed down.
    pub queue_batches: usize,
    /// Outer bound of one `Sink::send` call.
    pub sink_timeout: Duration,
    /// How often the checkpoint is saved.
    pub checkpoint_interval: Duration,
    /// How long shutdown waits for the sinks to drain, from the moment it is requested.
    pub shutdown_timeout: Duration,
    /// Bound of the final checkpoint save at shutdown; past it the save is abandoned and the
    /// previous checkpoint stays.
    pub checkpoint_timeout: Duration,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            max_batch_events: 500,
            max_batch_wait: Duration::from_secs(1),
            queue_batches: 16,
            sink_timeout: Duration::from_secs(60),
            checkpoint_interval: Duration::from_secs(5),
            shutdown_timeout: Duration::from_secs(10),
            checkpoint_timeout: Duration::from_secs(5),
        }
    }
}

impl PipelineConfig {
    /// Sets [`max_batch_events`](Self::max_batch_events) (at least 1).
    #[must_use]
    pub fn max_batch_events(mut self, n: usize) -> Self {
        self.max_batch_events = n.max(1);
        self
    }

    /// Sets [`max_batch_wait`](Self::max_batch_wait).
    #[must_use]
    pub fn max_batch_wait(mut self, wait: Duration) -> Self {
        self.max_batch_wait = wait;
        self
    }

    /// Sets [`queue_batches`](Self::queue_batches) (at least 1).
    #[must_use]
    pub fn queue_batches(mut self, n: usize) -> Self {
        self.queue_batches = n.max(1);
        self
    }

    /// Sets [`sink_timeout`](Self::sink_timeout).
    #[must_use]
    pub fn sink_timeout(mut self, timeout: Duration) -> Self {
        self.sink_timeout = timeout;
        self
    }

    /// Sets [`checkpoint_interval`](Self::checkpoint_interval).
    #[must_use]
    pub fn checkpoint_interval(mut self, interval: Duration) -> Self {
        self.checkpoint_interval = interval;
        self
    }

    /// Sets [`shutdown_timeout`](Self::shutdown_timeout).
    #[must_use]
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// Sets [`checkpoint_timeout`](Self::checkpoint_timeout).
    #[must_use]
    pub fn checkpoint_timeout(mut self, timeout: Duration) -> Self {
        self.checkpoint_timeout = timeout;
        self
    }
}
