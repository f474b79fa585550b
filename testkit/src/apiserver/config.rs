//! [`SimConfig`]: how the simulated API server behaves.

use std::time::Duration;

/// How long kube-apiserver's watch cache waits to catch up with a requested resourceVersion
/// before answering "Too large resource version" (`blockTimeout` in its cacher; about 3 s in
/// the recording `fixtures/real-cluster/resource-version-too-large.md`).
const TOO_LARGE_WAIT: Duration = Duration::from_secs(3);

/// How a [`SimCluster`](super::SimCluster) behaves.
///
/// | setting | default | meaning |
/// |---|---|---|
/// | [`history_window`](Self::history_window) | 10 000 | changes kept for watches and paginated lists |
/// | [`event_ttl`](Self::event_ttl) | `None` | events not written for this long are deleted |
/// | [`ttl_sweep_interval`](Self::ttl_sweep_interval) | 1 s | how often expired events are deleted |
/// | [`bookmark_interval`](Self::bookmark_interval) | 1 s | BOOKMARKs to watches that allow them |
/// | [`max_page_size`](Self::max_page_size) | `None` | cap on a list's `limit` |
/// | [`serve_events_v1`](Self::serve_events_v1) | `true` | whether `events.k8s.io/v1` exists |
/// | [`too_large_wait`](Self::too_large_wait) | 3 s | wait before a list ahead of the server answers 504 |
///
/// ```
/// use std::time::Duration;
/// use testkit::SimConfig;
///
/// let config = SimConfig::default()
///     .history_window(100)
///     .event_ttl(Some(Duration::from_secs(60)))
///     .bookmark_interval(None);
/// assert_eq!(config.history_window, 100);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
#[must_use]
pub struct SimConfig {
    /// How many recent changes (across all resources) are kept, like etcd's compaction window.
    /// A watch from a resourceVersion older than the window receives 410 Gone, and so does
    /// the next page of a list begun before it.
    pub history_window: usize,
    /// Events whose last write is older than this are deleted by a background sweep, all
    /// expired events of one sweep at one shared resourceVersion, as etcd lease expiry does.
    pub event_ttl: Option<Duration>,
    /// How often the background sweep deletes expired events, so an event outlives its TTL by
    /// up to this much (a real cluster batches expiry too: etcd leases are shared by the events
    /// of a minute). `None` leaves expiry to [`SimCluster::expire_events`](super::SimCluster::expire_events),
    /// for tests that want to choose the moment.
    pub ttl_sweep_interval: Option<Duration>,
    /// How often watches opened with `allowWatchBookmarks=true` receive a BOOKMARK.
    pub bookmark_interval: Option<Duration>,
    /// The largest page a list returns, whatever `limit` asks for.
    pub max_page_size: Option<usize>,
    /// Whether the server has the `events.k8s.io/v1` API; `false` mimics a server with only
    /// core/v1 Events (discovery leaves the group out and its URLs answer 404).
    pub serve_events_v1: bool,
    /// How long a list at a resourceVersion the server has not reached waits for it before
    /// answering 504 `Timeout: Too large resource version` (kube-apiserver waits about 3 s).
    /// Tests that provoke the answer on purpose may shorten it; the default is the real one.
    pub too_large_wait: Duration,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            history_window: 10_000,
            event_ttl: None,
            ttl_sweep_interval: Some(Duration::from_secs(1)),
            bookmark_interval: Some(Duration::from_secs(1)),
            max_page_size: None,
            serve_events_v1: true,
            too_large_wait: TOO_LARGE_WAIT,
        }
    }
}

impl SimConfig {
    /// Sets [`history_window`](Self::history_window).
    pub fn history_window(mut self, changes: usize) -> Self {
        self.history_window = changes;
        self
    }

    /// Sets [`event_ttl`](Self::event_ttl).
    pub fn event_ttl(mut self, ttl: Option<Duration>) -> Self {
        self.event_ttl = ttl;
        self
    }

    /// Sets [`ttl_sweep_interval`](Self::ttl_sweep_interval).
    pub fn ttl_sweep_interval(mut self, interval: Option<Duration>) -> Self {
        self.ttl_sweep_interval = interval;
        self
    }

    /// Sets [`bookmark_interval`](Self::bookmark_interval).
    pub fn bookmark_interval(mut self, interval: Option<Duration>) -> Self {
        self.bookmark_interval = interval;
        self
    }

    /// Sets [`max_page_size`](Self::max_page_size).
    pub fn max_page_size(mut self, size: Option<usize>) -> Self {
        self.max_page_size = size;
        self
    }

    /// Sets [`serve_events_v1`](Self::serve_events_v1).
    pub fn serve_events_v1(mut self, yes: bool) -> Self {
        self.serve_events_v1 = yes;
        self
    }

    /// Sets [`too_large_wait`](Self::too_large_wait).
    pub fn too_large_wait(mut self, wait: Duration) -> Self {
        self.too_large_wait = wait;
        self
    }
}
