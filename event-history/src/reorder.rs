//! [`ReorderWindow`]: puts a nearly time-ordered stream of events in order, holding a bounded
//! number of them.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use jiff::{SignedDuration, Timestamp};

use event_core::Event;

/// How many events a [`ReorderWindow`] holds at most, by default: about 20 MB of typical
/// events.
pub const DEFAULT_REORDER_CAPACITY: usize = 20_000;

/// How far out of order events may arrive and still be put in place, by default.
///
/// A stored history is close to time order but not exactly: a batch mixes namespaces, a
/// retried batch lands after newer ones, and CloudWatch Logs interleaves streams only roughly.
/// Five minutes covers the retries of the pipeline's backoff.
pub const DEFAULT_LATENESS: SignedDuration = SignedDuration::from_mins(5);

/// Puts events in order of [`last_seen`](Event::last_seen), oldest first, without holding the
/// whole history.
///
/// [`push`](Self::push) events as they are read, take what is ready with
/// [`pop_ready`](Self::pop_ready), and at the end (or at the end of each poll when following)
/// [`pop_oldest`](Self::pop_oldest) until empty. An event is ready once it is older than the
/// newest event pushed by more than the *lateness*, or when the window holds more than its
/// *capacity*. Events that arrive later than that are released in the order they came and
/// counted in [`out_of_order`](Self::out_of_order); events with the same `last_seen` keep
/// their arrival order.
///
/// ```
/// use event_core::Event;
/// use event_history::ReorderWindow;
/// use jiff::SignedDuration;
///
/// let mut window = ReorderWindow::new(100, SignedDuration::from_mins(1));
/// for (uid, at) in [("b", "10:00:30"), ("a", "10:00:10"), ("c", "10:02:00")] {
///     let mut event = Event::new(uid, "1");
///     event.last_seen = format!("2026-11-24T{at}Z").parse()?;
///     window.push(event);
/// }
/// // "c" moved the watermark past the first two: they are ready, in order.
/// assert_eq!(window.pop_ready().map(|e| e.uid), Some("a".to_owned()));
/// assert_eq!(window.pop_ready().map(|e| e.uid), Some("b".to_owned()));
/// assert!(window.pop_ready().is_none());
/// assert_eq!(window.pop_oldest().map(|e| e.uid), Some("c".to_owned()));
/// # Ok::<(), jiff::Error>(())
/// ```
#[derive(Debug)]
pub struct ReorderWindow {
    capacity: usize,
    lateness: SignedDuration,
    held: BinaryHeap<Reverse<Held>>,
    newest: Option<Timestamp>,
    last_released: Option<Timestamp>,
    arrivals: u64,
    out_of_order: u64,
}

#[derive(Debug)]
struct Held {
    at: Timestamp,
    arrival: u64,
    /// Boxed: the heap moves an entry at every level it sifts through, and an event is
    /// hundreds of bytes.
    event: Box<Event>,
}

impl Held {
    fn order(&self) -> (Timestamp, u64) {
        (self.at, self.arrival)
    }
}

impl PartialEq for Held {
    fn eq(&self, other: &Self) -> bool {
        self.order() == other.order()
    }
}

impl Eq for Held {}

impl PartialOrd for Held {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Held {
    fn cmp(&self, other: &Self) -> Ordering {
        self.order().cmp(&other.order())
    }
}

impl Default for ReorderWindow {
    fn default() -> Self {
        ReorderWindow::new(DEFAULT_REORDER_CAPACITY, DEFAULT_LATENESS)
    }
}

impl ReorderWindow {
    /// A window holding at most `capacity` events (at least 1) that waits `lateness` for late
    /// ones; a negative lateness counts as zero.
    pub fn new(capacity: usize, lateness: SignedDuration) -> Self {
        ReorderWindow {
            capacity: capacity.max(1),
            lateness: lateness.max(SignedDuration::ZERO),
            held: BinaryHeap::new(),
            newest: None,
            last_released: None,
            arrivals: 0,
            out_of_order: 0,
        }
    }

    /// Adds an event to the window.
    pub fn push(&mut self, event: Event) {
        let at = event.last_seen;
        self.newest = Some(self.newest.map_or(at, |newest| newest.max(at)));
        self.arrivals += 1;
        self.held.push(Reverse(Held {
            at,
            arrival: self.arrivals,
            event: Box::new(event),
        }));
    }

    /// The oldest event, if the window is over capacity or the event is older than the newest
    /// one by more than the lateness.
    pub fn pop_ready(&mut self) -> Option<Event> {
        let oldest = self.held.peek()?.0.at;
        let watermark = self.newest.map(|newest| {
            newest
                .saturating_sub(self.lateness)
                .unwrap_or(Timestamp::MIN)
        });
        let ready = self.held.len() > self.capacity || watermark.is_some_and(|mark| oldest < mark);
        if ready { self.pop_oldest() } else { None }
    }

    /// The oldest event, ready or not; `None` when the window is empty.
    pub fn pop_oldest(&mut self) -> Option<Event> {
        let Reverse(held) = self.held.pop()?;
        if self.last_released.is_some_and(|last| held.at < last) {
            self.out_of_order += 1;
        } else {
            self.last_released = Some(held.at);
        }
        Some(*held.event)
    }

    /// How many events the window holds.
    pub fn len(&self) -> usize {
        self.held.len()
    }

    /// Whether the window holds no event.
    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }

    /// Events released before an event already released: they arrived later than the window
    /// could wait for.
    pub fn out_of_order(&self) -> u64 {
        self.out_of_order
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(uid: &str, second: i64) -> Event {
        let mut event = Event::new(uid, "1");
        event.last_seen = Timestamp::from_second(1_795_000_000 + second).unwrap();
        event
    }

    fn ready(window: &mut ReorderWindow) -> Vec<String> {
        std::iter::from_fn(|| window.pop_ready())
            .map(|e| e.uid)
            .collect()
    }

    fn drain(window: &mut ReorderWindow) -> Vec<String> {
        std::iter::from_fn(|| window.pop_oldest())
            .map(|e| e.uid)
            .collect()
    }

    #[test]
    fn events_within_the_lateness_come_out_in_time_order() {
        let mut window = ReorderWindow::new(100, SignedDuration::from_secs(60));
        for (uid, second) in [("c", 30), ("a", 10), ("b", 20), ("d", 40)] {
            window.push(event(uid, second));
        }
        assert_eq!(ready(&mut window), Vec::<String>::new());
        window.push(event("e", 95));
        assert_eq!(ready(&mut window), ["a", "b", "c"]);
        assert_eq!(drain(&mut window), ["d", "e"]);
        assert_eq!(window.out_of_order(), 0);
    }

    #[test]
    fn a_full_window_releases_its_oldest_event() {
        let mut window = ReorderWindow::new(2, SignedDuration::from_hours(1));
        window.push(event("b", 2));
        window.push(event("a", 1));
        assert_eq!(ready(&mut window), Vec::<String>::new());
        window.push(event("c", 3));
        assert_eq!(ready(&mut window), ["a"]);
        assert_eq!(window.len(), 2);
    }

    #[test]
    fn events_later_than_the_window_are_released_and_counted() {
        let mut window = ReorderWindow::new(100, SignedDuration::from_secs(10));
        window.push(event("a", 0));
        window.push(event("b", 100));
        assert_eq!(ready(&mut window), ["a"]);
        window.push(event("late", 50));
        assert_eq!(ready(&mut window), ["late"]);
        assert_eq!(window.out_of_order(), 0, "50 is after 0: still in order");
        window.push(event("later", 20));
        assert_eq!(ready(&mut window), ["later"]);
        assert_eq!(window.out_of_order(), 1);
        assert_eq!(drain(&mut window), ["b"]);
    }

    #[test]
    fn equal_times_keep_their_arrival_order() {
        let mut window = ReorderWindow::default();
        for uid in ["x", "y", "z"] {
            window.push(event(uid, 5));
        }
        window.push(event("first", 1));
        assert_eq!(drain(&mut window), ["first", "x", "y", "z"]);
    }

    #[test]
    fn capacity_and_lateness_have_floors() {
        let mut window = ReorderWindow::new(0, SignedDuration::from_secs(-5));
        window.push(event("a", 1));
        assert_eq!(ready(&mut window), Vec::<String>::new(), "one fits");
        window.push(event("b", 1));
        assert_eq!(ready(&mut window), ["a"]);
        assert!(!window.is_empty());
    }
}
