//! [`WebhookSinkStats`]: counters a test, a bench or a metrics exporter reads while the sink
//! runs.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
struct Counters {
    requests: AtomicU64,
    request_failures: AtomicU64,
    events_sent: AtomicU64,
    events_rejected: AtomicU64,
    body_bytes: AtomicU64,
    resends_skipped: AtomicU64,
}

/// Counters of one [`WebhookSink`](crate::WebhookSink), shared with it: clone it before the
/// sink moves into a pipeline.
#[derive(Clone, Debug, Default)]
pub struct WebhookSinkStats {
    inner: Arc<Counters>,
}

impl WebhookSinkStats {
    /// Requests made, whatever their outcome.
    pub fn requests(&self) -> u64 {
        self.inner.requests.load(Ordering::Relaxed)
    }

    /// Requests that failed: an error answer, a timeout, a lost connection.
    pub fn request_failures(&self) -> u64 {
        self.inner.request_failures.load(Ordering::Relaxed)
    }

    /// Events in requests answered 2xx (an event resent after an ambiguous failure counts
    /// again).
    pub fn events_sent(&self) -> u64 {
        self.inner.events_sent.load(Ordering::Relaxed)
    }

    /// Events rejected because their record alone is over `max_body_bytes`.
    pub fn events_rejected(&self) -> u64 {
        self.inner.events_rejected.load(Ordering::Relaxed)
    }

    /// Body bytes of the requests answered 2xx, before gzip.
    pub fn body_bytes(&self) -> u64 {
        self.inner.body_bytes.load(Ordering::Relaxed)
    }

    /// Requests of a resent batch not made again because they had been answered 2xx.
    pub fn resends_skipped(&self) -> u64 {
        self.inner.resends_skipped.load(Ordering::Relaxed)
    }

    pub(crate) fn request(&self) {
        self.inner.requests.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn failure(&self) {
        self.inner.request_failures.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn delivered(&self, events: usize, bytes: usize) {
        self.inner
            .events_sent
            .fetch_add(events as u64, Ordering::Relaxed);
        self.inner
            .body_bytes
            .fetch_add(bytes as u64, Ordering::Relaxed);
    }

    pub(crate) fn rejected(&self, events: usize) {
        self.inner
            .events_rejected
            .fetch_add(events as u64, Ordering::Relaxed);
    }

    pub(crate) fn skipped(&self) {
        self.inner.resends_skipped.fetch_add(1, Ordering::Relaxed);
    }
}
