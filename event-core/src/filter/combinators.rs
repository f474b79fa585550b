//! [`And`], [`Or`] and [`Not`]: predicates built from other predicates.

use super::Predicate;
use crate::Event;

/// Keeps an event when both predicates keep it; built by [`Predicate::and`].
#[derive(Clone, Debug)]
#[must_use = "a predicate does nothing until it is matched or applied to a stream"]
pub struct And<A, B> {
    first: A,
    second: B,
}

impl<A, B> And<A, B> {
    pub(super) fn new(first: A, second: B) -> Self {
        And { first, second }
    }
}

impl<A: Predicate, B: Predicate> Predicate for And<A, B> {
    fn matches(&self, event: &Event) -> bool {
        self.first.matches(event) && self.second.matches(event)
    }
}

/// Keeps an event when either predicate keeps it; built by [`Predicate::or`].
#[derive(Clone, Debug)]
#[must_use = "a predicate does nothing until it is matched or applied to a stream"]
pub struct Or<A, B> {
    first: A,
    second: B,
}

impl<A, B> Or<A, B> {
    pub(super) fn new(first: A, second: B) -> Self {
        Or { first, second }
    }
}

impl<A: Predicate, B: Predicate> Predicate for Or<A, B> {
    fn matches(&self, event: &Event) -> bool {
        self.first.matches(event) || self.second.matches(event)
    }
}

/// Keeps exactly the events the inner predicate rejects; built by [`Predicate::negate`].
#[derive(Clone, Debug)]
#[must_use = "a predicate does nothing until it is matched or applied to a stream"]
pub struct Not<P> {
    inner: P,
}

impl<P> Not<P> {
    pub(super) fn new(inner: P) -> Self {
        Not { inner }
    }
}

impl<P: Predicate> Predicate for Not<P> {
    fn matches(&self, event: &Event) -> bool {
        !self.inner.matches(event)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn always(answer: bool) -> impl Predicate + Clone {
        move |_: &Event| answer
    }

    fn event() -> Event {
        Event::new("u1", "1")
    }

    #[test]
    fn and_keeps_only_what_both_sides_keep() {
        assert!(always(true).and(always(true)).matches(&event()));
        assert!(!always(true).and(always(false)).matches(&event()));
        assert!(!always(false).and(always(true)).matches(&event()));
        assert!(!always(false).and(always(false)).matches(&event()));
    }

    #[test]
    fn or_keeps_what_either_side_keeps() {
        assert!(always(true).or(always(true)).matches(&event()));
        assert!(always(true).or(always(false)).matches(&event()));
        assert!(always(false).or(always(true)).matches(&event()));
        assert!(!always(false).or(always(false)).matches(&event()));
    }

    #[test]
    fn negate_inverts_the_answer() {
        assert!(!always(true).negate().matches(&event()));
        assert!(always(false).negate().matches(&event()));
        assert!(always(true).negate().negate().matches(&event()));
    }

    #[test]
    fn and_and_or_short_circuit_the_second_predicate() {
        let calls = AtomicUsize::new(0);
        let counted = |_: &Event| {
            calls.fetch_add(1, Ordering::SeqCst);
            true
        };
        assert!(!always(false).and(&counted).matches(&event()));
        assert!(always(true).or(&counted).matches(&event()));
        assert_eq!(calls.load(Ordering::SeqCst), 0);
        assert!(always(true).and(&counted).matches(&event()));
        assert!(always(false).or(&counted).matches(&event()));
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn combinators_nest() {
        // (true AND NOT false) OR false
        let p = always(true).and(always(false).negate()).or(always(false));
        assert!(p.matches(&event()));
        assert!(!p.clone().negate().matches(&event()));
    }
}
