//! [`Tracked`]: an event on its way to the sinks, with its acknowledgement ticket.

use std::ops::Deref;

use crate::checkpoint::Ticket;
use crate::metrics::Metrics;
use crate::{Event, Observed};

/// An [`Event`] yielded by an [`EventStream`](crate::EventStream), carrying the [`Ticket`] that
/// records it in the checkpoint once every sink stored it.
///
/// Filters built with [`EventStreamExt`](crate::EventStreamExt) settle the ticket of what they
/// drop; the [`Pipeline`](crate::Pipeline) settles the rest. Derefs to the [`Event`].
#[derive(Debug)]
pub struct Tracked {
    // Boxed: an `Event` is about 600 bytes, and an item moves through the source's channel,
    // the filters and the batcher, a copy at each step without the box (8 % of the consumer's
    // instructions in a profile).
    event: Box<Event>,
    ticket: Option<Ticket>,
    /// Where a dismissal is counted (the stream's metrics).
    metrics: Option<Metrics>,
}

impl Tracked {
    pub(crate) fn new(event: Event, ticket: Option<Ticket>) -> Self {
        Tracked {
            event: Box::new(event),
            ticket,
            metrics: None,
        }
    }

    pub(crate) fn counted_in(mut self, metrics: &Metrics) -> Self {
        self.metrics = Some(metrics.clone());
        self
    }

    /// An event that no checkpoint tracks (tests, replays from an archive).
    pub fn untracked(event: Event) -> Self {
        Tracked {
            event: Box::new(event),
            ticket: None,
            metrics: None,
        }
    }

    /// Splits the item into its event and its ticket (`None` when untracked).
    pub fn into_parts(self) -> (Event, Option<Ticket>) {
        (*self.event, self.ticket)
    }
}

impl Deref for Tracked {
    type Target = Event;

    fn deref(&self) -> &Event {
        &self.event
    }
}

impl Observed for Tracked {
    fn event(&self) -> &Event {
        &self.event
    }

    fn dismiss(self) {
        if let Some(metrics) = &self.metrics {
            metrics.add_filtered(1);
        }
        if let Some(ticket) = self.ticket {
            ticket.dismiss();
        }
    }
}
