//! Which events to keep: the [`Predicate`] trait, its combinators, ready-made predicates and the
//! serde [`FilterConfig`].
//!
//! A predicate decides from an [`Event`] alone whether it is kept. Build one in code from the
//! ready-made functions ([`namespaces`], [`event_types`], [`reasons`], [`involved_kinds`],
//! [`object_names`], [`message_matches`], [`min_count`]) or a closure, combine them with
//! [`Predicate::and`], [`Predicate::or`] and [`Predicate::negate`], or compile one from a
//! [`FilterConfig`]. Apply it to a stream with [`EventStreamExt`](crate::EventStreamExt), which
//! settles what it filters out.
//!
//! ```
//! use event_core::Event;
//! use event_core::filter::{Predicate, event_types, min_count, namespaces};
//!
//! let noisy = namespaces(["kube-system"]).and(event_types(["Normal"]));
//! let keep = noisy.negate().or(min_count(10));
//!
//! let mut event = Event::new("7d3c6a2e", "1042");
//! event.namespace = Some("kube-system".into());
//! assert!(!keep.matches(&event));
//! event.count = 12;
//! assert!(keep.matches(&event));
//! ```

mod combinators;
mod compiled;
mod config;
mod error;
mod fields;

use std::sync::Arc;

use crate::Event;

pub use combinators::{And, Not, Or};
pub use compiled::CompiledFilter;
pub use config::{FilterConfig, FilterRule};
pub use error::ConfigError;
pub use fields::{
    EventTypes, InvolvedKinds, MessageMatches, MinCount, Namespaces, ObjectNames, Reasons,
    event_types, involved_kinds, message_matches, min_count, namespaces, object_names, reasons,
};

/// Decides whether an [`Event`] is kept.
///
/// One method, [`matches`](Predicate::matches), which must be cheap, must not block and must
/// give the same answer for the same event: it runs on every event of the stream. Regexes and
/// sets are built up front, never per call.
///
/// Implemented for every closure `Fn(&Event) -> bool + Send + Sync`, for `Arc<P>` and for
/// `Box<dyn Predicate>`, so predicates chosen at run time can be stored as
/// `Arc<dyn Predicate>`. The trait is object safe; the combinators need `Self: Sized`.
pub trait Predicate: Send + Sync {
    /// Whether `event` is kept.
    fn matches(&self, event: &Event) -> bool;

    /// A predicate that keeps an event when both `self` and `other` keep it.
    ///
    /// `other` is not evaluated when `self` already rejects the event.
    fn and<P>(self, other: P) -> And<Self, P>
    where
        Self: Sized,
        P: Predicate,
    {
        And::new(self, other)
    }

    /// A predicate that keeps an event when `self` or `other` (or both) keep it.
    ///
    /// `other` is not evaluated when `self` already keeps the event.
    fn or<P>(self, other: P) -> Or<Self, P>
    where
        Self: Sized,
        P: Predicate,
    {
        Or::new(self, other)
    }

    /// A predicate that keeps exactly the events that `self` rejects.
    fn negate(self) -> Not<Self>
    where
        Self: Sized,
    {
        Not::new(self)
    }
}

impl<F> Predicate for F
where
    F: Fn(&Event) -> bool + Send + Sync,
{
    fn matches(&self, event: &Event) -> bool {
        self(event)
    }
}

impl<P> Predicate for Arc<P>
where
    P: Predicate + ?Sized,
{
    fn matches(&self, event: &Event) -> bool {
        (**self).matches(event)
    }
}

impl Predicate for Box<dyn Predicate + '_> {
    fn matches(&self, event: &Event) -> bool {
        (**self).matches(event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event_in(namespace: &str) -> Event {
        let mut event = Event::new("u1", "1");
        event.namespace = Some(namespace.to_owned());
        event
    }

    fn in_payments(event: &Event) -> bool {
        event.namespace.as_deref() == Some("payments")
    }

    #[test]
    fn closures_are_predicates() {
        let is_warning = |event: &Event| event.is_warning();
        let mut event = event_in("payments");
        assert!(!is_warning.matches(&event));
        event.event_type = "Warning".into();
        assert!(is_warning.matches(&event));
    }

    #[test]
    fn functions_are_predicates_and_combine() {
        let p = in_payments.and(|event: &Event| event.count > 1);
        let mut event = event_in("payments");
        assert!(!p.matches(&event));
        event.count = 2;
        assert!(p.matches(&event));
        assert!(!p.matches(&event_in("billing")));
    }

    #[test]
    fn arc_dyn_predicate_delegates_to_the_inner_predicate() {
        let shared: Arc<dyn Predicate> = Arc::new(namespaces(["payments"]));
        assert!(shared.matches(&event_in("payments")));
        assert!(!shared.matches(&event_in("billing")));
        let combined = Arc::clone(&shared).negate();
        assert!(combined.matches(&event_in("billing")));
        assert!(!combined.matches(&event_in("payments")));
    }

    #[test]
    fn boxed_dyn_predicate_delegates_to_the_inner_predicate() {
        let chosen: Vec<Box<dyn Predicate>> =
            vec![Box::new(namespaces(["payments"])), Box::new(min_count(3))];
        let mut event = event_in("payments");
        assert!(chosen[0].matches(&event));
        assert!(!chosen[1].matches(&event));
        event.count = 3;
        assert!(chosen[1].matches(&event));
        let boxed = chosen.into_iter().next().map(Predicate::negate);
        assert_eq!(boxed.map(|p| p.matches(&event)), Some(false));
    }

    #[test]
    fn predicates_can_be_sent_between_threads() {
        fn assert_send_sync<T: Send + Sync + ?Sized>() {}
        assert_send_sync::<dyn Predicate>();
        assert_send_sync::<And<Namespaces, Not<MessageMatches>>>();
        assert_send_sync::<CompiledFilter>();
    }
}
