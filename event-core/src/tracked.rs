//! [`Tracked`]: an event on its way to the sinks, with its acknowledgement ticket.

use std::ops::Deref;

use crate::checkpoint::Ticket;
use crate::metrics::Metrics;
use crate::{Event, Observed};

/// An [`Event`] yielded by an [`EventStream`](crate::EventStream), carrying the [`Ticket`] that
/// records it in the checkpoint once every sink stored it.
///
/// Dropping one anywhere before the [`Pipeline`](crate::Pipeline) counts it as filtered out, as
/// the filters of [`EventStreamExt`](crate::EventStreamExt) do (see [`Ticket`]); the pipeline
/// acknowledges the rest once every sink stored them. Derefs to the [`Event`].
#[derive(Debug)]
pub struct Tracked {
    // Boxed: an `Event` is about 600 bytes, and an item moves through the source's channel,
    // the filters and the batcher, a copy at each step without the box (8 % of the consumer's
    // instructions in a profile).
    event: Box<Event>,
    ticket: Option<Ticket>,
    /// Where a dismissal of an untracked item is counted (the stream's metrics); a ticket counts
    /// its own.
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
        match &mut self.ticket {
            Some(ticket) => ticket.count_filtered_in(metrics),
            None => self.metrics = Some(metrics.clone()),
        }
        self
    }

    /// The pipeline has taken the item: dropped from now on, it is replayed after a restart.
    pub(crate) fn hold(&mut self) {
        if let Some(ticket) = &mut self.ticket {
            ticket.hold();
        }
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
        // A ticket counts its own dismissal.
        if let Some(ticket) = self.ticket {
            ticket.dismiss();
        }
    }
}
