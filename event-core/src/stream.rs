//! [`EventStreamExt`]: filters for any stream of [`Observed`] events, which settle what they drop.
//!
//! [`filter_with`](EventStreamExt::filter_with) keeps the events a [`Predicate`] matches: one of
//! [`filter`](crate::filter)'s (`event_types`, `namespaces`, `reasons`, `involved_kinds`, `message_matches`,
//! `min_count`), a combination of them, a compiled [`FilterConfig`](crate::FilterConfig), or a
//! closure. An item it rejects is [dismissed](Observed::dismiss): counted as filtered out, and
//! its occurrence settled in the checkpoint. `Err` items pass through untouched and in place.
//!
//! These filters are a convenience, not a requirement: an item of an
//! [`EventStream`](crate::EventStream) dropped by any other operator (`futures::StreamExt::filter`,
//! `take`, `skip_while`) or by your own code is settled the same way (see
//! [`Ticket`](crate::checkpoint::Ticket)).

mod filtered;

use futures::Stream;

use crate::filter::Predicate;
use crate::{Event, Observed};

pub use filtered::Filtered;

/// Filters for streams of `Result<T, E>` where `T` is [`Observed`]: an
/// [`EventStream`](crate::EventStream), or any stream of [`Event`]s.
///
/// ```
/// use std::convert::Infallible;
///
/// use event_core::{Event, EventStreamExt};
/// use event_core::filter::{Predicate, event_types, namespaces};
/// use futures::{StreamExt, stream};
///
/// let mut warning = Event::new("u1", "1");
/// warning.event_type = "Warning".into();
/// let normal = Event::new("u2", "1");
///
/// let kept: Vec<_> = futures::executor::block_on(
///     stream::iter([Ok::<Event, Infallible>(warning), Ok(normal)])
///         .filter_with(event_types(["Warning"]).or(namespaces(["payments"])))
///         .collect(),
/// );
/// assert_eq!(kept.len(), 1);
/// ```
pub trait EventStreamExt: Stream {
    /// Keeps the events `predicate` matches and dismisses the others: a predicate of
    /// [`filter`](crate::filter), a combination ([`Predicate::or`], [`Predicate::and`]), a
    /// [`CompiledFilter`](crate::filter::CompiledFilter), or an
    /// `Arc<dyn Predicate>` chosen at run time.
    fn filter_with<P, T, E>(self, predicate: P) -> Filtered<Self, P>
    where
        Self: Stream<Item = Result<T, E>> + Sized,
        T: Observed,
        P: Predicate,
    {
        Filtered::new(self, predicate)
    }

    /// Keeps the events for which the closure `keep` returns `true`, and dismisses the others.
    ///
    /// ```
    /// use std::convert::Infallible;
    ///
    /// use event_core::{Event, EventStreamExt};
    /// use futures::{StreamExt, stream};
    ///
    /// let events = [Event::new("u1", "1"), Event::new("u2", "1")].map(Ok::<_, Infallible>);
    /// let kept: Vec<_> = futures::executor::block_on(
    ///     stream::iter(events).filter_events(|e| e.uid != "u2").collect(),
    /// );
    /// assert_eq!(kept.len(), 1);
    /// ```
    fn filter_events<F, T, E>(self, keep: F) -> Filtered<Self, F>
    where
        Self: Stream<Item = Result<T, E>> + Sized,
        T: Observed,
        F: Fn(&Event) -> bool + Send + Sync,
    {
        Filtered::new(self, keep)
    }
}

impl<S: Stream> EventStreamExt for S {}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::sync::{Arc, Mutex};

    use futures::{StreamExt, executor::block_on, stream};

    use regex::Regex;

    use super::*;
    use crate::ObjectRef;
    use crate::filter;
    use crate::filter::{FilterConfig, FilterRule};

    /// An event that records its uid when dismissed.
    struct Recorded {
        event: Event,
        dismissed: Arc<Mutex<Vec<String>>>,
    }

    impl Observed for Recorded {
        fn event(&self) -> &Event {
            &self.event
        }

        fn dismiss(self) {
            if let Ok(mut dismissed) = self.dismissed.lock() {
                dismissed.push(self.event.uid.clone());
            }
        }
    }

    fn events() -> Vec<Event> {
        let spec = [
            // uid, namespace, type, reason, kind, message, count
            (
                "a",
                "payments",
                "Warning",
                "BackOff",
                "Pod",
                "Back-off restarting",
                5,
            ),
            (
                "b",
                "payments",
                "Normal",
                "Pulled",
                "Pod",
                "Pulled image",
                1,
            ),
            (
                "c",
                "kube-system",
                "Warning",
                "Unhealthy",
                "Node",
                "probe failed",
                2,
            ),
            (
                "d",
                "billing",
                "Normal",
                "ScalingReplicaSet",
                "Deployment",
                "Scaled up",
                1,
            ),
        ];
        spec.into_iter()
            .map(|(uid, ns, ty, reason, kind, message, count)| {
                let mut event = Event::new(uid, "1");
                event.namespace = Some(ns.into());
                event.event_type = ty.into();
                event.reason = reason.into();
                event.regarding = ObjectRef::new(kind, "x");
                event.message = message.into();
                event.count = count;
                event
            })
            .collect()
    }

    type Source = stream::Iter<std::vec::IntoIter<Result<Recorded, Infallible>>>;

    /// Runs `filter` over [`events`] and returns the kept and the dismissed uids.
    fn run<S>(filter: impl FnOnce(Source) -> S) -> (Vec<String>, Vec<String>)
    where
        S: Stream<Item = Result<Recorded, Infallible>>,
    {
        let dismissed = Arc::new(Mutex::new(Vec::new()));
        let items: Vec<_> = events()
            .into_iter()
            .map(|event| {
                Ok(Recorded {
                    event,
                    dismissed: Arc::clone(&dismissed),
                })
            })
            .collect();
        let kept: Vec<String> = block_on(
            filter(stream::iter(items))
                .filter_map(|item| async move { item.ok().map(|r| r.event.uid.clone()) })
                .collect(),
        );
        let dismissed = dismissed.lock().map(|d| d.clone()).unwrap_or_default();
        (kept, dismissed)
    }

    fn uids(list: &[&str]) -> Vec<String> {
        list.iter().map(|u| (*u).to_owned()).collect()
    }

    #[test]
    fn namespaces_keeps_listed_namespaces_and_dismisses_the_rest() {
        let (kept, dismissed) = run(|s| s.filter_with(filter::namespaces(["payments", "billing"])));
        assert_eq!(kept, uids(&["a", "b", "d"]));
        assert_eq!(dismissed, uids(&["c"]));
    }

    #[test]
    fn event_types_keeps_listed_types() {
        let (kept, dismissed) = run(|s| s.filter_with(filter::event_types(["warning"])));
        assert_eq!(kept, uids(&["a", "c"]));
        assert_eq!(dismissed, uids(&["b", "d"]));
    }

    #[test]
    fn reasons_keeps_listed_reasons() {
        let (kept, dismissed) = run(|s| s.filter_with(filter::reasons(["Pulled", "Unhealthy"])));
        assert_eq!(kept, uids(&["b", "c"]));
        assert_eq!(dismissed, uids(&["a", "d"]));
    }

    #[test]
    fn involved_kinds_keeps_listed_kinds() {
        let (kept, dismissed) =
            run(|s| s.filter_with(filter::involved_kinds(["node", "DEPLOYMENT"])));
        assert_eq!(kept, uids(&["c", "d"]));
        assert_eq!(dismissed, uids(&["a", "b"]));
    }

    #[test]
    fn message_matches_keeps_matching_messages() -> Result<(), regex::Error> {
        let regex = Regex::new("(?i)^(back-off|scaled)")?;
        let (kept, dismissed) = run(|s| s.filter_with(filter::message_matches(regex)));
        assert_eq!(kept, uids(&["a", "d"]));
        assert_eq!(dismissed, uids(&["b", "c"]));
        Ok(())
    }

    #[test]
    fn min_count_keeps_repeated_events() {
        let (kept, dismissed) = run(|s| s.filter_with(filter::min_count(2)));
        assert_eq!(kept, uids(&["a", "c"]));
        assert_eq!(dismissed, uids(&["b", "d"]));
    }

    #[test]
    fn filter_events_takes_a_closure() {
        let (kept, dismissed) = run(|s| s.filter_events(|e: &Event| e.uid != "b"));
        assert_eq!(kept, uids(&["a", "c", "d"]));
        assert_eq!(dismissed, uids(&["b"]));
    }

    #[test]
    fn chained_filters_keep_what_passes_all_and_dismiss_each_item_once() {
        let (kept, dismissed) = run(|s| {
            s.filter_with(filter::event_types(["Warning"]))
                .filter_with(filter::namespaces(["payments"]))
        });
        assert_eq!(kept, uids(&["a"]));
        assert_eq!(dismissed, uids(&["b", "c", "d"]));
    }

    #[test]
    fn filter_with_takes_a_compiled_config() -> Result<(), filter::ConfigError> {
        let compiled = FilterConfig::default()
            .include(FilterRule::default().types(["Warning"]))
            .include(FilterRule::default().kinds(["Deployment"]))
            .exclude(FilterRule::default().namespaces(["kube-system"]))
            .compile()?;
        let (kept, dismissed) = run(|s| s.filter_with(compiled));
        assert_eq!(kept, uids(&["a", "d"]));
        assert_eq!(dismissed, uids(&["b", "c"]));
        Ok(())
    }

    #[test]
    fn filter_with_takes_a_shared_dyn_predicate() {
        let shared: Arc<dyn Predicate> =
            Arc::new(filter::min_count(5).or(filter::reasons(["Pulled"])));
        let (kept, dismissed) = run(|s| s.filter_with(Arc::clone(&shared)));
        assert_eq!(kept, uids(&["a", "b"]));
        assert_eq!(dismissed, uids(&["c", "d"]));
    }

    #[test]
    fn errors_pass_through_every_filter() {
        let items = vec![
            Ok(Event::new("a", "1")),
            Err("410 Gone"),
            Ok(Event::new("b", "1")),
        ];
        let out: Vec<Result<Event, &str>> = block_on(
            stream::iter(items)
                .filter_with(filter::min_count(2))
                .filter_with(filter::namespaces(["none"]))
                .collect(),
        );
        assert_eq!(out, vec![Err("410 Gone")]);
    }
}
