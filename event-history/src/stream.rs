//! [`History`]: the stream of a history query — read, select, drop repeats, put in order, and
//! poll again when following.
//!
//! Over 400 lines with its tests only (about 210 without): one per step of the query.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use futures::stream::{BoxStream, FusedStream};
use futures::{Future, Stream, StreamExt};
use jiff::SignedDuration;
use tokio::time::Sleep;

use super::config::HistoryConfig;
use super::dedupe::DedupeWindow;
use super::reorder::ReorderWindow;
use super::source::HistorySource;
use super::stats::HistoryStats;
use super::time::TimeRange;
use event_core::Event;
use event_core::filter::Predicate;

/// Added to a source's overlap for the dedupe horizon: sources cut time to the millisecond
/// (CloudWatch timestamps), `last_seen` keeps more.
const OVERLAP_SLACK: SignedDuration = SignedDuration::from_secs(1);

/// The events of a [`HistorySource`] in a time range that a predicate keeps, each occurrence
/// once, oldest first; with [`HistoryConfig::follow`], then the new ones as they are stored,
/// like `kubectl get events --watch`.
///
/// Memory stays bounded whatever the range: the source streams, the [`ReorderWindow`] holds
/// at most [`reorder_capacity`](HistoryConfig::reorder_capacity) events, the
/// [`DedupeWindow`] remembers keys for a horizon only. At the end of each read the window is
/// emptied, so a followed event is printed as soon as it is read. Errors of the source are
/// passed on at once (and counted); the stream goes on after them. Counters for a progress
/// line are in [`stats`](Self::stats).
///
/// ```
/// use std::convert::Infallible;
/// use std::sync::Arc;
///
/// use event_core::Event;
/// use event_core::filter::event_types;
/// use event_history::{History, HistoryConfig, from_stream};
/// use futures::{StreamExt, TryStreamExt, stream};
///
/// let mut late = Event::new("b", "1");
/// late.event_type = "Warning".into();
/// late.last_seen = "2026-11-24T10:02:00Z".parse()?;
/// let mut early = Event::new("a", "1");
/// early.event_type = "Warning".into();
/// early.last_seen = "2026-11-24T10:01:00Z".parse()?;
/// let normal = Event::new("c", "1");
///
/// let stored = [late.clone(), early.clone(), late.clone(), normal];
/// let source = from_stream(stream::iter(stored.map(Ok::<_, Infallible>)));
/// let history = History::new(source, Arc::new(event_types(["Warning"])), HistoryConfig::default());
/// let events: Vec<Event> = futures::executor::block_on(history.try_collect())?;
/// assert_eq!(events, [early, late]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct History<S: HistorySource> {
    source: S,
    keep: Arc<dyn Predicate>,
    range: TimeRange,
    follow: Option<std::time::Duration>,
    seen: DedupeWindow,
    window: ReorderWindow,
    stats: HistoryStats,
    state: State<S::Error>,
}

enum State<E> {
    Start,
    Reading(BoxStream<'static, Result<Event, E>>),
    Draining,
    Waiting(Pin<Box<Sleep>>),
    Done,
}

impl<S: HistorySource> std::fmt::Debug for History<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("History")
            .field("range", &self.range)
            .field("follow", &self.follow)
            .field("held", &self.window.len())
            .field("keys", &self.seen.len())
            .field("stats", &self.stats.snapshot())
            .finish_non_exhaustive()
    }
}

impl<S: HistorySource> History<S> {
    /// Reads `source` as `config` says, keeping the events `keep` matches.
    pub fn new(source: S, keep: Arc<dyn Predicate>, config: HistoryConfig) -> Self {
        let horizon = config
            .dedupe_horizon
            .max(source.overlap().saturating_add(OVERLAP_SLACK));
        History {
            keep,
            range: config.range,
            follow: config.follow,
            seen: DedupeWindow::new(horizon, config.max_keys),
            window: ReorderWindow::new(config.reorder_capacity, config.lateness),
            stats: HistoryStats::default(),
            state: State::Start,
            source,
        }
    }

    /// The query's counters; clones keep counting while the stream is polled.
    pub fn stats(&self) -> HistoryStats {
        self.stats.clone()
    }

    /// Events held in the reorder window now (at most its capacity, plus the one being
    /// placed).
    pub fn held(&self) -> usize {
        self.window.len()
    }

    /// Occurrence keys remembered for deduplication now.
    pub fn remembered(&self) -> usize {
        self.seen.len()
    }

    /// Whether a following query has read everything there was and waits for its next poll:
    /// the moment to show what is held (a table sized from the rows so far).
    pub fn is_waiting(&self) -> bool {
        matches!(self.state, State::Waiting(_))
    }

    /// The source, e.g. to ask it how much it skipped.
    pub fn source(&self) -> &S {
        &self.source
    }

    fn take(&mut self, event: Event) {
        self.stats.scanned(event.last_seen);
        if !self.range.contains(event.last_seen) || !self.keep.matches(&event) {
            return;
        }
        self.stats.matched();
        if self.seen.first_sighting(&event) {
            self.window.push(event);
        } else {
            self.stats.repeat();
            tracing::trace!(event.uid = %event.uid, event.rv = %event.resource_version, "repeated occurrence dropped");
        }
    }

    fn released(&self, event: Event) -> Poll<Option<Result<Event, S::Error>>> {
        self.stats.set_out_of_order(self.window.out_of_order());
        Poll::Ready(Some(Ok(event)))
    }

    fn start_read(&mut self) {
        self.stats.read_started();
        self.state = State::Reading(self.source.read());
    }
}

impl<S: HistorySource + Unpin> Stream for History<S> {
    type Item = Result<Event, S::Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            match &mut this.state {
                State::Start => this.start_read(),
                State::Reading(read) => {
                    if let Some(event) = this.window.pop_ready() {
                        return this.released(event);
                    }
                    match ready!(read.poll_next_unpin(cx)) {
                        Some(Ok(event)) => this.take(event),
                        Some(Err(error)) => {
                            this.stats.error();
                            return Poll::Ready(Some(Err(error)));
                        }
                        None => this.state = State::Draining,
                    }
                }
                State::Draining => match this.window.pop_oldest() {
                    Some(event) => return this.released(event),
                    None => {
                        this.state = match this.follow {
                            Some(every) => State::Waiting(Box::pin(tokio::time::sleep(every))),
                            None => State::Done,
                        }
                    }
                },
                State::Waiting(sleep) => {
                    ready!(sleep.as_mut().poll(cx));
                    this.start_read();
                }
                State::Done => return Poll::Ready(None),
            }
        }
    }
}

impl<S: HistorySource + Unpin> FusedStream for History<S> {
    fn is_terminated(&self) -> bool {
        matches!(self.state, State::Done)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::time::Duration;

    use futures::{FutureExt, stream};
    use jiff::Timestamp;

    use super::*;
    use crate::from_stream;
    use event_core::filter::namespaces;

    fn event(uid: &str, rv: &str, second: i64) -> Event {
        let mut event = Event::new(uid, rv);
        event.namespace = Some("payments".into());
        event.last_seen = Timestamp::from_second(1_795_000_000 + second).unwrap();
        event
    }

    fn uids(events: &[Event]) -> Vec<String> {
        events.iter().map(|e| e.uid.clone()).collect()
    }

    fn keep_all() -> Arc<dyn Predicate> {
        Arc::new(|_: &Event| true)
    }

    /// A source whose reads are scripted: each read yields the next batch.
    struct Scripted {
        reads: VecDeque<Vec<Result<Event, String>>>,
        overlap: SignedDuration,
    }

    impl Scripted {
        fn new(reads: Vec<Vec<Result<Event, String>>>) -> Self {
            Scripted {
                reads: reads.into(),
                overlap: SignedDuration::ZERO,
            }
        }
    }

    impl HistorySource for Scripted {
        type Error = String;

        fn read(&mut self) -> BoxStream<'static, Result<Event, String>> {
            stream::iter(self.reads.pop_front().unwrap_or_default()).boxed()
        }

        fn overlap(&self) -> SignedDuration {
            self.overlap
        }
    }

    fn collect<S: HistorySource + Unpin>(history: History<S>) -> Vec<Result<Event, S::Error>> {
        futures::executor::block_on(history.collect())
    }

    #[test]
    fn reads_once_selects_the_range_and_the_predicate_and_orders_by_last_seen() {
        let mut billing = event("x", "1", 15);
        billing.namespace = Some("billing".into());
        let stored = vec![
            event("c", "1", 30),
            event("a", "1", 10),
            billing,
            event("early", "1", 1),
            event("b", "1", 20),
            event("late", "1", 99),
        ];
        let source = from_stream(stream::iter(stored.into_iter().map(Ok::<_, String>)));
        let range = TimeRange::new(
            Some(Timestamp::from_second(1_795_000_005).unwrap()),
            Some(Timestamp::from_second(1_795_000_030).unwrap()),
        )
        .unwrap();
        let history = History::new(
            source,
            Arc::new(namespaces(["payments"])),
            HistoryConfig::default().range(range),
        );
        let stats = history.stats();
        let events: Vec<Event> = collect(history).into_iter().map(Result::unwrap).collect();
        assert_eq!(uids(&events), ["a", "b", "c"]);
        let progress = stats.snapshot();
        assert_eq!(
            (progress.scanned, progress.matched, progress.reads),
            (6, 3, 1)
        );
    }

    #[test]
    fn repeats_are_dropped_and_new_versions_kept() {
        let source = Scripted::new(vec![vec![
            Ok(event("a", "1", 10)),
            Ok(event("b", "1", 11)),
            Ok(event("a", "1", 10)),
            Ok(event("a", "2", 12)),
        ]]);
        let history = History::new(source, keep_all(), HistoryConfig::default());
        let stats = history.stats();
        let events: Vec<Event> = collect(history).into_iter().map(Result::unwrap).collect();
        let keys: Vec<String> = events.iter().map(|e| e.key().to_string()).collect();
        assert_eq!(keys, ["a/1", "b/1", "a/2"]);
        assert_eq!(stats.snapshot().repeats, 1);
    }

    #[test]
    fn errors_pass_at_once_and_reading_goes_on() {
        let source = Scripted::new(vec![vec![
            Ok(event("b", "1", 20)),
            Err("line 2 is not an event".to_owned()),
            Ok(event("a", "1", 10)),
        ]]);
        let history = History::new(source, keep_all(), HistoryConfig::default());
        let stats = history.stats();
        let out = collect(history);
        assert_eq!(out.len(), 3);
        assert_eq!(
            out[0].as_ref().err().map(String::as_str),
            Some("line 2 is not an event")
        );
        assert_eq!(out[1].as_ref().map(|e| e.uid.as_str()), Ok("a"));
        assert_eq!(out[2].as_ref().map(|e| e.uid.as_str()), Ok("b"));
        assert_eq!(stats.snapshot().errors, 1);
    }

    #[test]
    fn a_small_window_streams_and_counts_what_it_could_not_reorder() {
        let stored: Vec<Result<Event, String>> = vec![
            Ok(event("a", "1", 1)),
            Ok(event("c", "1", 3)),
            Ok(event("d", "1", 4)),
            Ok(event("b", "1", 2)),
        ];
        let config = HistoryConfig::default().reorder_capacity(1);
        let history = History::new(Scripted::new(vec![stored]), keep_all(), config);
        let stats = history.stats();
        let events: Vec<Event> = collect(history).into_iter().map(Result::unwrap).collect();
        assert_eq!(uids(&events), ["a", "c", "b", "d"]);
        assert_eq!(stats.snapshot().out_of_order, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn following_polls_again_after_the_interval_and_drops_repeats_of_the_overlap() {
        let mut source = Scripted::new(vec![
            vec![Ok(event("a", "1", 10)), Ok(event("b", "1", 20))],
            vec![],
            // The overlap of the next poll repeats b; c is new.
            vec![Ok(event("b", "1", 20)), Ok(event("c", "1", 25))],
        ]);
        source.overlap = SignedDuration::from_secs(30);
        let config = HistoryConfig::default()
            .dedupe_horizon(SignedDuration::ZERO)
            .follow(Duration::from_secs(2));
        let mut history = History::new(source, keep_all(), config);
        let stats = history.stats();
        assert_eq!(next_uid(&mut history).await, Some(Ok("a".to_owned())));
        assert!(!history.is_waiting(), "b is still to come");
        assert_eq!(next_uid(&mut history).await, Some(Ok("b".to_owned())));
        assert!(next_uid(&mut history).now_or_never().is_none());
        assert!(history.is_waiting(), "the first read is done");
        let started = tokio::time::Instant::now();
        assert_eq!(next_uid(&mut history).await, Some(Ok("c".to_owned())));
        assert_eq!(
            started.elapsed(),
            Duration::from_secs(4),
            "two polls, two seconds apart"
        );
        assert_eq!(stats.snapshot().repeats, 1);
        assert_eq!(stats.snapshot().reads, 3);
        assert!(
            next_uid(&mut history).now_or_never().is_none(),
            "following never ends by itself"
        );
    }

    async fn next_uid<S: HistorySource + Unpin>(
        history: &mut History<S>,
    ) -> Option<Result<String, S::Error>> {
        history.next().await.map(|item| item.map(|e| e.uid))
    }

    #[test]
    fn a_long_history_streams_through_bounded_windows() {
        // A day of events, one a second, a little out of order, each stored twice.
        let total: i64 = 86_400;
        let stored = (0..total).flat_map(|i| {
            let jitter = if i % 7 == 0 { 3 } else { 0 };
            let event = event(&format!("e{i}"), "1", i - jitter);
            [Ok::<_, String>(event.clone()), Ok(event)]
        });
        let config = HistoryConfig::default()
            .reorder_capacity(500)
            .lateness(SignedDuration::from_secs(10))
            .dedupe_horizon(SignedDuration::from_secs(10));
        let mut history = History::new(from_stream(stream::iter(stored)), keep_all(), config);
        let (mut count, mut most_held, mut most_keys) = (0_i64, 0, 0);
        let mut previous = None;
        while let Some(item) = futures::executor::block_on(history.next()) {
            let event = item.unwrap();
            assert!(previous <= Some(event.last_seen), "newest last");
            previous = Some(event.last_seen);
            count += 1;
            most_held = most_held.max(history.held());
            most_keys = most_keys.max(history.remembered());
        }
        assert_eq!(count, total);
        assert!(most_held <= 20, "held at most {most_held}");
        assert!(most_keys <= 20, "remembered at most {most_keys}");
        assert_eq!(history.stats().snapshot().repeats, total as u64);
    }

    #[test]
    fn without_follow_the_stream_ends_after_one_read() {
        let source = Scripted::new(vec![
            vec![Ok(event("a", "1", 1))],
            vec![Ok(event("b", "1", 2))],
        ]);
        let mut history = History::new(source, keep_all(), HistoryConfig::default());
        let first = futures::executor::block_on(history.next());
        assert_eq!(first.map(|r| r.map(|e| e.uid)), Some(Ok("a".to_owned())));
        assert!(futures::executor::block_on(history.next()).is_none());
        assert!(history.is_terminated());
    }
}
