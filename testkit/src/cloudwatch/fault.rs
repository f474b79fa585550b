//! [`Fault`]: what [`StrictProxy`](super::StrictProxy) does to a request instead of (or
//! besides) forwarding it, and the queue of faults waiting for matching requests.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

/// The operation faults apply to unless another is named with
/// [`StrictProxy::inject_on`](super::StrictProxy::inject_on).
pub const DEFAULT_FAULT_OPERATION: &str = "PutLogEvents";

/// A failure to serve instead of the real answer, as the SDK would meet it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// HTTP 400 `{"__type":"ThrottlingException","message":"Rate exceeded"}`; not forwarded.
    Throttle,
    /// This 5xx status with the AWS JSON error shape: `ServiceUnavailableException` for
    /// 503, `InternalFailure` otherwise; not forwarded.
    ServerError(u16),
    /// Waits this long, then forwards as usual, even if the client has given up meanwhile
    /// (as the service carries out a request it received).
    Delay(Duration),
    /// Forwards (so moto stores the events), then holds the answer this long (set it longer
    /// than the client's timeout) and closes the connection without answering: the
    /// "stored, but the client timed out" case.
    TimeoutAfterForward(Duration),
    /// Closes the connection without answering and without forwarding: nothing stored.
    DropBeforeForward,
    /// Forwards (so the events are stored), then closes the connection without answering.
    DropAfterForward,
    /// HTTP 400 `AccessDeniedException` naming the action, as for a role without the
    /// `logs:` permission; not forwarded.
    AccessDenied,
}

#[derive(Debug)]
struct Pending {
    operation: String,
    fault: Fault,
    times: usize,
}

/// Faults waiting for requests, first injected first served, each for its operation.
#[derive(Debug, Default)]
pub(crate) struct FaultQueue {
    pending: Mutex<VecDeque<Pending>>,
}

impl FaultQueue {
    /// Queues `fault` for the next `times` requests of `operation`.
    pub(crate) fn push(&self, operation: &str, fault: Fault, times: usize) {
        if times == 0 {
            return;
        }
        if let Ok(mut pending) = self.pending.lock() {
            pending.push_back(Pending {
                operation: operation.to_owned(),
                fault,
                times,
            });
        }
    }

    /// Takes the fault for one request of `operation`, if one is waiting.
    pub(crate) fn take(&self, operation: &str) -> Option<Fault> {
        let mut pending = self.pending.lock().ok()?;
        let position = pending.iter().position(|p| p.operation == operation)?;
        let entry = pending.get_mut(position)?;
        entry.times -= 1;
        let fault = entry.fault.clone();
        if entry.times == 0 {
            pending.remove(position);
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
        queue.push("PutLogEvents", Fault::Throttle, 2);
        queue.push("PutLogEvents", Fault::ServerError(503), 1);
        assert_eq!(queue.remaining(), 3);
        assert_eq!(queue.take("PutLogEvents"), Some(Fault::Throttle));
        assert_eq!(queue.take("PutLogEvents"), Some(Fault::Throttle));
        assert_eq!(queue.take("PutLogEvents"), Some(Fault::ServerError(503)));
        assert_eq!(queue.take("PutLogEvents"), None);
        assert_eq!(queue.remaining(), 0);
    }

    #[test]
    fn a_fault_waits_for_its_own_operation() {
        let queue = FaultQueue::default();
        queue.push("CreateLogStream", Fault::AccessDenied, 1);
        assert_eq!(queue.take("PutLogEvents"), None);
        assert_eq!(queue.take("CreateLogStream"), Some(Fault::AccessDenied));
    }

    #[test]
    fn zero_times_queues_nothing() {
        let queue = FaultQueue::default();
        queue.push("PutLogEvents", Fault::Throttle, 0);
        assert_eq!(queue.take("PutLogEvents"), None);
    }
}
