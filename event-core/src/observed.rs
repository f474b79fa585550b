//! [`Observed`]: what flows through an event stream and its filters.

use crate::Event;

/// An item of an event stream: an [`Event`], possibly carrying bookkeeping that must be settled
/// when the item leaves the stream without reaching a sink.
///
/// The filter combinators of [`EventStreamExt`](crate::EventStreamExt) call
/// [`dismiss`](Observed::dismiss) on every item they filter out, so that the checkpoint knows the
/// item was handled on purpose. Plain [`Event`]s implement it with a no-op, so the same filters
/// work over events read back from an archive.
pub trait Observed {
    /// The event this item carries.
    fn event(&self) -> &Event;

    /// Settles an item that was filtered out on purpose and will not be sent to any sink.
    fn dismiss(self);
}

impl Observed for Event {
    fn event(&self) -> &Event {
        self
    }

    fn dismiss(self) {}
}
