//! [`ProxyStats`]: what [`StrictProxy`](super::StrictProxy) has been asked and has done.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// Counters since the proxy started, from [`StrictProxy::stats`](super::StrictProxy::stats).
///
/// Operations are named as in the `X-Amz-Target` header without its prefix
/// (`PutLogEvents`, `DescribeLogStreams`, ...), so a test can assert that a sink never
/// calls `DescribeLogStreams` per batch.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProxyStats {
    /// Every HTTP request received.
    pub requests: u64,
    /// Requests per operation (`"unknown"` for a request without `X-Amz-Target`).
    pub operations: BTreeMap<String, u64>,
    /// PutLogEvents requests received, the refused and faulted ones included.
    pub put_log_events_calls: u64,
    /// Events in those requests.
    pub put_log_events_events: u64,
    /// Their size as the service counts it: UTF-8 message bytes plus 26 per event.
    pub put_log_events_bytes: u64,
    /// Events moto answered 200 for (the dropped too new, too old and expired ones left out).
    pub events_stored: u64,
    /// Events dropped as more than 2 hours in the future (`tooNewLogEventStartIndex`).
    pub events_too_new: u64,
    /// Events dropped as older than 14 days (`tooOldLogEventEndIndex`).
    pub events_too_old: u64,
    /// Events dropped as older than the group's retention (`expiredLogEventEndIndex`).
    pub events_expired: u64,
    /// PutLogEvents requests refused for a broken limit (each is in `violations()`).
    pub violations: u64,
    /// Injected faults served.
    pub faults_served: u64,
    /// Requests moto could not be reached for (answered 502).
    pub upstream_errors: u64,
    /// Connections closed at once because the proxy was set unreachable.
    pub connections_refused: u64,
}

impl ProxyStats {
    /// Requests received for `operation`, e.g. `"DescribeLogStreams"`.
    pub fn calls(&self, operation: &str) -> u64 {
        self.operations.get(operation).copied().unwrap_or(0)
    }
}

/// The live counters behind [`ProxyStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    stats: Mutex<ProxyStats>,
}

impl Counters {
    /// Changes the counters under their lock.
    pub(crate) fn update(&self, change: impl FnOnce(&mut ProxyStats)) {
        if let Ok(mut stats) = self.stats.lock() {
            change(&mut stats);
        }
    }

    pub(crate) fn snapshot(&self) -> ProxyStats {
        self.stats
            .lock()
            .map(|stats| stats.clone())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_are_counted_per_operation() {
        let counters = Counters::default();
        counters.update(|s| {
            *s.operations.entry("PutLogEvents".into()).or_default() += 2;
        });
        let stats = counters.snapshot();
        assert_eq!(stats.calls("PutLogEvents"), 2);
        assert_eq!(stats.calls("DescribeLogStreams"), 0);
    }
}
