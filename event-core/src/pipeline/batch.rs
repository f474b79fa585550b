//! A batch shared by every sink: acknowledged once the last sink is done with it.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use crate::checkpoint::Ticket;
use crate::metrics::Metrics;
use crate::{Event, OccurrenceKey, Tracked};

/// Events fanned out to every sink, with the tickets that acknowledge them.
#[derive(Debug)]
pub(super) struct Batch {
    pub(super) events: Vec<Event>,
    /// The newest resourceVersion among its tracked events.
    pub(super) max_rv: Option<u64>,
    /// Events the previous run may have stored without recording them: each sink is asked
    /// about these before they are sent. Empty but after a crash.
    pub(super) doubtful: HashSet<OccurrenceKey>,
    /// Whether a list offered some of its occurrences (their keys move the list's dispatch mark).
    pub(super) listed: bool,
    tickets: Mutex<Vec<Ticket>>,
    /// Sinks that still have to store (or route) this batch.
    remaining: AtomicUsize,
}

impl Batch {
    pub(super) fn new(items: Vec<Tracked>, sinks: usize) -> Self {
        let mut events = Vec::with_capacity(items.len());
        let mut tickets = Vec::with_capacity(items.len());
        let mut doubtful = HashSet::new();
        for item in items {
            let (event, ticket) = item.into_parts();
            if ticket.as_ref().is_some_and(Ticket::is_doubtful) {
                doubtful.insert(event.key());
            }
            events.push(event);
            tickets.extend(ticket);
        }
        let max_rv = tickets.iter().map(Ticket::resource_version).max();
        let listed = tickets.iter().any(Ticket::is_listed);
        Batch {
            events,
            max_rv,
            doubtful,
            listed,
            tickets: Mutex::new(tickets),
            remaining: AtomicUsize::new(sinks),
        }
    }

    /// The tickets not yet acknowledged.
    pub(super) fn tickets(&self) -> MutexGuard<'_, Vec<Ticket>> {
        self.tickets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// One sink is done with the batch; the last one acknowledges every occurrence in it.
    pub(super) fn sink_done(&self, metrics: &Metrics) {
        if self.remaining.fetch_sub(1, Ordering::AcqRel) != 1 {
            return;
        }
        let tickets = std::mem::take(
            &mut *self
                .tickets
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        metrics.add_acknowledged(self.events.len() as u64);
        for ticket in tickets {
            ticket.ack();
        }
        if let Some(newest) = self.events.iter().map(|e| e.last_seen).max() {
            let lag = jiff::Timestamp::now().duration_since(newest);
            metrics.set_event_lag_ms(lag.as_millis() as i64);
        }
    }
}
