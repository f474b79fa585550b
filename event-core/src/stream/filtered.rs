//! [`Filtered`]: the stream adapter behind every filter of
//! [`EventStreamExt`](crate::EventStreamExt).

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures::Stream;
use futures::stream::FusedStream;
use pin_project_lite::pin_project;

use crate::Observed;
use crate::filter::Predicate;

pin_project! {
    /// A stream that yields the items whose event the predicate keeps, and
    /// [dismisses](Observed::dismiss) the others; errors pass through untouched.
    ///
    /// Built by the methods of [`EventStreamExt`](crate::EventStreamExt).
    #[derive(Clone, Debug)]
    #[must_use = "streams do nothing unless polled"]
    pub struct Filtered<S, P> {
        #[pin]
        stream: S,
        predicate: P,
    }
}

impl<S, P> Filtered<S, P> {
    pub(super) fn new(stream: S, predicate: P) -> Self {
        Filtered { stream, predicate }
    }
}

impl<S, P, T, E> Stream for Filtered<S, P>
where
    S: Stream<Item = Result<T, E>>,
    T: Observed,
    P: Predicate,
{
    type Item = Result<T, E>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        loop {
            match ready!(this.stream.as_mut().poll_next(cx)) {
                Some(Ok(item)) if !this.predicate.matches(item.event()) => {
                    let event = item.event();
                    tracing::trace!(
                        event.uid = %event.uid,
                        event.rv = %event.resource_version,
                        "event filtered out"
                    );
                    // Dismissed, not just dropped: any `Observed` settles its own way, and the
                    // drop of a `Tracked` would settle it the same way once it is closed.
                    item.dismiss();
                }
                other => return Poll::Ready(other),
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        // Any number of items may be filtered out.
        (0, self.stream.size_hint().1)
    }
}

impl<S, P, T, E> FusedStream for Filtered<S, P>
where
    S: FusedStream<Item = Result<T, E>>,
    T: Observed,
    P: Predicate,
{
    fn is_terminated(&self) -> bool {
        self.stream.is_terminated()
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::sync::{Arc, Mutex};

    use futures::{FutureExt, StreamExt, stream};

    use super::*;
    use crate::Event;

    /// What happened to each [`Probe`], by uid.
    #[derive(Clone, Default)]
    struct Log(Arc<Mutex<Vec<String>>>);

    impl Log {
        fn push(&self, entry: String) {
            if let Ok(mut entries) = self.0.lock() {
                entries.push(entry);
            }
        }

        fn entries(&self) -> Vec<String> {
            self.0.lock().map(|e| e.clone()).unwrap_or_default()
        }
    }

    /// An item that records whether it was dismissed or dropped unsettled.
    struct Probe {
        event: Event,
        log: Log,
        settled: bool,
    }

    impl Probe {
        fn new(uid: &str, log: &Log) -> Self {
            Probe {
                event: Event::new(uid, "1"),
                log: log.clone(),
                settled: false,
            }
        }
    }

    impl Observed for Probe {
        fn event(&self) -> &Event {
            &self.event
        }

        fn dismiss(mut self) {
            self.settled = true;
            self.log.push(format!("dismissed {}", self.event.uid));
        }
    }

    impl Drop for Probe {
        fn drop(&mut self) {
            if !self.settled {
                self.log.push(format!("abandoned {}", self.event.uid));
            }
        }
    }

    fn keep_uids(uids: &'static [&'static str]) -> impl Predicate {
        move |event: &Event| uids.contains(&event.uid.as_str())
    }

    fn uid<E>(item: &Result<Probe, E>) -> Option<&str> {
        item.as_ref().ok().map(|probe| probe.event.uid.as_str())
    }

    #[test]
    fn kept_items_pass_in_order_and_filtered_ones_are_dismissed() {
        let log = Log::default();
        let items: Vec<Result<Probe, Infallible>> = ["a", "b", "c", "d"]
            .into_iter()
            .map(|u| Ok(Probe::new(u, &log)))
            .collect();
        let mut filtered = Filtered::new(stream::iter(items).fuse(), keep_uids(&["a", "c"]));

        let first = filtered.next().now_or_never().flatten();
        assert_eq!(first.as_ref().and_then(uid), Some("a"));
        assert_eq!(log.entries(), Vec::<String>::new());

        let second = filtered.next().now_or_never().flatten();
        assert_eq!(second.as_ref().and_then(uid), Some("c"));
        assert_eq!(log.entries(), ["dismissed b"]);

        assert!(filtered.next().now_or_never().flatten().is_none());
        assert_eq!(log.entries(), ["dismissed b", "dismissed d"]);
        assert!(filtered.is_terminated());
    }

    #[test]
    fn errors_pass_through_untouched_and_in_place() {
        let log = Log::default();
        let items: Vec<Result<Probe, &str>> = vec![
            Ok(Probe::new("dropped", &log)),
            Err("watch failed"),
            Ok(Probe::new("kept", &log)),
        ];
        let out: Vec<_> = futures::executor::block_on(
            Filtered::new(stream::iter(items), keep_uids(&["kept"])).collect(),
        );
        assert_eq!(out.len(), 2);
        assert!(matches!(out[0], Err("watch failed")));
        assert_eq!(uid(&out[1]), Some("kept"));
        assert_eq!(log.entries(), ["dismissed dropped"]);
    }

    #[test]
    fn pending_inner_stream_leaves_the_filter_pending_after_dismissing() {
        let log = Log::default();
        let items = vec![Ok::<_, Infallible>(Probe::new("x", &log))];
        let mut filtered =
            Filtered::new(stream::iter(items).chain(stream::pending()), keep_uids(&[]));
        assert!(filtered.next().now_or_never().is_none());
        assert_eq!(log.entries(), ["dismissed x"]);
    }

    #[test]
    fn dropping_the_filter_abandons_only_items_it_never_saw() {
        let log = Log::default();
        let items: Vec<Result<Probe, Infallible>> = ["a", "b"]
            .into_iter()
            .map(|u| Ok(Probe::new(u, &log)))
            .collect();
        let mut filtered = Filtered::new(stream::iter(items), keep_uids(&[]).negate());
        let first = filtered.next().now_or_never().flatten();
        assert_eq!(first.as_ref().and_then(uid), Some("a"));
        drop(filtered);
        assert_eq!(log.entries(), ["abandoned b"]);
    }

    #[test]
    fn size_hint_keeps_the_upper_bound_only() {
        let items = vec![Ok::<_, Infallible>(Event::new("a", "1")); 3];
        let filtered = Filtered::new(stream::iter(items), |_: &Event| true);
        assert_eq!(filtered.size_hint(), (0, Some(3)));
    }
}
