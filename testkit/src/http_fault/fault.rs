//! [`HttpFault`]: what [`FaultProxy`](super::FaultProxy) does to a request instead of (or
//! besides) forwarding it, and the queue of faults waiting for requests.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

/// A failure to serve instead of the upstream's answer, as an HTTP client would meet it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HttpFault {
    /// HTTP 429 with `Retry-After: N` (seconds); not forwarded.
    Throttle {
        /// The `Retry-After` value in seconds; `None` sends no header.
        retry_after: Option<u64>,
    },
    /// This status (500, 503, ...) with a one-line text body; not forwarded.
    Status(u16),
    /// Closes the connection without answering and without forwarding: nothing stored.
    DropBeforeForward,
    /// Forwards (so the upstream stores the request), then closes the connection without
    /// answering.
    DropAfterForward,
    /// Forwards (so the upstream stores the request), then holds the answer this long (set it
    /// longer than the client's timeout) and closes the connection: "stored, answered late".
    TimeoutAfterForward(Duration),
    /// Forwards as usual; uses up one place in the queue (to let a request through between
    /// faults).
    PassThrough,
}

#[derive(Debug)]
struct Pending {
    fault: HttpFault,
    times: usize,
}

/// Faults waiting for requests, first injected first served.
#[derive(Debug, Default)]
pub(crate) struct FaultQueue {
    pending: Mutex<VecDeque<Pending>>,
}

impl FaultQueue {
    /// Queues `fault` for the next `times` requests.
    pub(crate) fn push(&self, fault: HttpFault, times: usize) {
        if times == 0 {
            return;
        }
        if let Ok(mut pending) = self.pending.lock() {
            pending.push_back(Pending { fault, times });
        }
    }

    /// Takes the fault for one request, if one is waiting.
    pub(crate) fn take(&self) -> Option<HttpFault> {
        let mut pending = self.pending.lock().ok()?;
        let entry = pending.front_mut()?;
        entry.times -= 1;
        let fault = entry.fault.clone();
        if entry.times == 0 {
            pending.pop_front();
        }
        Some(fault)
    }

    /// How many requests still have a fault waiting.
    pub(crate) fn remaining(&self) -> usize {
        self.pending
            .lock()
            .map(|pending| pending.iter().map(|p| p.times).sum())
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_are_served_in_order_for_the_number_of_times_asked() {
        let queue = FaultQueue::default();
        queue.push(HttpFault::Throttle { retry_after: None }, 2);
        queue.push(HttpFault::Status(503), 0);
        queue.push(HttpFault::DropBeforeForward, 1);
        assert_eq!(queue.remaining(), 3);
        assert_eq!(
            queue.take(),
            Some(HttpFault::Throttle { retry_after: None })
        );
        assert_eq!(
            queue.take(),
            Some(HttpFault::Throttle { retry_after: None })
        );
        assert_eq!(queue.take(), Some(HttpFault::DropBeforeForward));
        assert_eq!(queue.take(), None);
        assert_eq!(queue.remaining(), 0);
    }
}
