//! [`Ticket`]: the acknowledgement handle of one occurrence, and what dropping it means.

use std::sync::Arc;

use super::listing::Place;
use super::{Ledger, SourceState};
use crate::checkpoint::Uid;
use crate::metrics::Metrics;

/// The acknowledgement handle of one occurrence handed out by an
/// [`EventStream`](crate::EventStream).
///
/// Settle it with [`ack`](Ticket::ack) once every sink stored the event, or
/// [`dismiss`](Ticket::dismiss) when it was filtered out.
///
/// **Dropping it is safe.** A ticket dropped unsettled before it reaches a
/// [`Pipeline`](crate::Pipeline) counts as filtered out, exactly like a dismissal: any stream
/// operator (`futures::StreamExt::filter`, `take`, `skip_while`) and any user code may drop
/// items, and the resume point moves past them. Two cases keep a dropped occurrence for a
/// replay after a restart instead:
///
/// - it was inside the pipeline (batched, queued or being sent) when the pipeline stopped at
///   its drain deadline, failed, or was dropped: it never reached every sink;
/// - the stream that carried it was already shutting down ([`Ledger::close`]): the pipeline
///   closes the ledger before it drops its source, and an `EventStream` closes its own scopes
///   when dropped, so occurrences still buffered in them are replayed, not lost.
#[derive(Debug)]
#[must_use = "dropping a ticket counts its occurrence as filtered out"]
pub struct Ticket {
    pub(super) ledger: Ledger,
    pub(super) source: Arc<str>,
    pub(super) uid: Uid,
    pub(super) resource_version: u64,
    pub(super) last_seen: i64,
    pub(super) settled: bool,
    /// In the pipeline's hands: dropped unsettled means not stored, so it must be replayed.
    pub(super) held: bool,
    /// Where a drop that counts as filtered out is counted.
    pub(super) filtered: Option<Metrics>,
    /// Its place and key in the list under way, when a list offered it (boxed: a watch's
    /// tickets, the many, stay small).
    pub(super) listed: Option<Box<Listed>>,
    /// The previous run may have stored it without recording it: ask the sinks first.
    pub(super) doubtful: bool,
}

/// Where a listed occurrence sits in its list.
#[derive(Debug)]
pub(super) struct Listed {
    pub(super) place: Place,
    pub(super) key: Arc<str>,
}

/// How a ticket is settled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Settle {
    /// Every sink stored it.
    Ack,
    /// Filtered out on purpose.
    Dismiss,
    /// Dropped unsettled: filtered out, unless the ledger or its source is closed.
    Drop,
}

impl Ticket {
    /// The resourceVersion of the occurrence.
    pub fn resource_version(&self) -> u64 {
        self.resource_version
    }

    /// Records the occurrence as stored by every sink.
    pub fn ack(mut self) {
        self.settle(Settle::Ack);
    }

    /// Settles an occurrence that was filtered out on purpose: it no longer holds the resume
    /// point back, and it is not recorded as exported.
    pub fn dismiss(mut self) {
        self.settle(Settle::Dismiss);
        if let Some(metrics) = &self.filtered {
            metrics.add_filtered(1);
        }
    }

    /// Whether a list offered it.
    pub(crate) fn is_listed(&self) -> bool {
        self.listed.is_some()
    }

    /// Whether the previous run may have stored this occurrence without recording it (it was
    /// dispatched before a crash): the pipeline asks each sink before sending it.
    pub(crate) fn is_doubtful(&self) -> bool {
        self.doubtful
    }

    /// Counts a drop that is a filtering-out in `metrics` (`event_keeper_events_filtered_total`).
    pub(crate) fn count_filtered_in(&mut self, metrics: &Metrics) {
        self.filtered = Some(metrics.clone());
    }

    /// The pipeline has taken the occurrence: from now on, dropped unsettled means not stored.
    pub(crate) fn hold(&mut self) {
        self.held = true;
    }

    /// Releases the occurrence from its source's in-flight set, records it settled (and
    /// exported, when it was), and forgets the event once the resume point covers it. Returns
    /// false when a drop found the ledger closed: the occurrence stays in flight.
    ///
    /// Forgetting here rather than at the next snapshot (the same rule, `Entry::covered_by`)
    /// keeps a burst (a watch replaying a backlog at tens of thousands of events a second) from
    /// filling the map with entries the resume point already stands for.
    fn settle(&mut self, how: Settle) -> bool {
        self.settled = true;
        let mut guard = self.ledger.lock();
        let state = &mut *guard;
        if how == Settle::Drop
            && (state.closed
                || state
                    .sources
                    .get(&*self.source)
                    .is_some_and(|src| src.closed))
        {
            return false;
        }
        let own_point = state.sources.get_mut(&*self.source).and_then(|src| {
            src.release(self.resource_version);
            src.resume_point()
        });
        if let Some(entry) = state.events.get_mut(&self.uid) {
            if how == Settle::Ack {
                entry.exported = entry.exported.max(self.resource_version);
                entry.last_seen = entry.last_seen.max(self.last_seen);
            }
            entry.settled = entry.settled.max(self.resource_version);
            // The entry's source is the last one that offered it, almost always this ticket's.
            let point = match entry.source.as_deref() {
                Some(source) if source == &*self.source => own_point,
                Some(source) => state
                    .sources
                    .get(source)
                    .and_then(SourceState::resume_point),
                None => None,
            };
            if entry.covered_by(point) {
                state.events.remove(&self.uid);
            }
        }
        // A listed occurrence moves its list's settled prefix, which then stands for it.
        if let Some(listed) = &self.listed
            && let Some(list) = state
                .sources
                .get_mut(&*self.source)
                .and_then(|src| src.list.as_mut())
        {
            list.settle(listed.place, &mut state.events);
        }
        true
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        if !self.held && self.settle(Settle::Drop) {
            if let Some(metrics) = &self.filtered {
                metrics.add_filtered(1);
            }
            tracing::trace!(
                event.uid = %self.uid,
                event.rv = self.resource_version,
                "occurrence dropped before the pipeline; counted as filtered out"
            );
            return;
        }
        tracing::debug!(
            event.uid = %self.uid,
            event.rv = self.resource_version,
            "occurrence left unacknowledged at shutdown; it is replayed after a restart"
        );
    }
}
