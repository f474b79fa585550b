//! [`HistorySource`]: a stored history that can be read, and read again for what arrived since.

use futures::stream::{self, BoxStream};
use futures::{Stream, StreamExt};
use jiff::SignedDuration;

use event_core::Event;

/// A stored history of events: a CloudWatch log group, a file archive, or anything a sink
/// wrote, that a [`History`](super::History) reads.
///
/// The first [`read`](Self::read) yields what the source holds in the range it was built for;
/// each later one (when following) what was stored since the previous read. A later read may
/// reach back up to [`overlap`](Self::overlap) and repeat some of what was read before: the
/// history drops those repeats by occurrence key. Reads never overlap in time: the history
/// starts one only after the previous stream ended.
///
/// Events may come in any order, but the closer to [`last_seen`](Event::last_seen) order, the
/// better the history can put them in place (see [`ReorderWindow`](super::ReorderWindow)).
/// An `Err` item is passed on to the caller, who decides whether to stop; a source that
/// cannot go on ends the stream after it.
pub trait HistorySource: Send {
    /// What a read can fail with.
    type Error: Send + 'static;

    /// Starts a read; see the trait documentation for what it yields.
    fn read(&mut self) -> BoxStream<'static, Result<Event, Self::Error>>;

    /// How far back before the newest event of the previous read a later read may reach.
    ///
    /// Zero (the default) for a source that resumes exactly where it stopped.
    fn overlap(&self) -> SignedDuration {
        SignedDuration::ZERO
    }
}

/// A [`HistorySource`] over one stream: the first read yields it, later reads nothing; built
/// by [`from_stream`].
#[must_use = "a source does nothing until a history reads it"]
pub struct FromStream<E> {
    stream: Option<BoxStream<'static, Result<Event, E>>>,
}

impl<E> std::fmt::Debug for FromStream<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FromStream")
            .field("read", &self.stream.is_none())
            .finish()
    }
}

/// A source that reads `events` once, e.g. a reader's stream or events in memory.
///
/// ```
/// use std::convert::Infallible;
///
/// use event_core::Event;
/// use event_history::{HistorySource, from_stream};
/// use futures::{StreamExt, stream};
///
/// let mut source = from_stream(stream::iter([Ok::<_, Infallible>(Event::new("u1", "1"))]));
/// let first: Vec<_> = futures::executor::block_on(source.read().collect());
/// assert_eq!(first.len(), 1);
/// let second: Vec<_> = futures::executor::block_on(source.read().collect());
/// assert!(second.is_empty());
/// ```
pub fn from_stream<S, E>(events: S) -> FromStream<E>
where
    S: Stream<Item = Result<Event, E>> + Send + 'static,
    E: Send + 'static,
{
    FromStream {
        stream: Some(events.boxed()),
    }
}

impl<E: Send + 'static> HistorySource for FromStream<E> {
    type Error = E;

    fn read(&mut self) -> BoxStream<'static, Result<Event, E>> {
        self.stream
            .take()
            .unwrap_or_else(|| stream::empty().boxed())
    }
}
