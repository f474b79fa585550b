//! Reading a long range as time slices at once: each slice pages through FilterLogEvents with
//! its own `nextToken` chain, at most `concurrency` slices are read at a time, and the slices
//! are yielded oldest first, so the events come in the order one read would give them.

use std::sync::Arc;

use event_core::Event;
use futures::StreamExt;
use futures::stream::{self, BoxStream};
use tokio::sync::{Semaphore, mpsc};

use super::ReadError;

/// The shortest slice given requests of its own, in milliseconds: a follow poll's few minutes
/// stay one read.
const MIN_SLICE_MS: i64 = 5 * 60 * 1000;

/// Slices per request in flight: more slices than requests, so that a slice dense with events
/// does not hold the others back.
const SLICES_PER_REQUEST: usize = 4;

/// A time slice of a read, in CloudWatch milliseconds, both ends included (as FilterLogEvents
/// takes `startTime` and `endTime`); `end: None` is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Slice {
    /// The first millisecond, if bounded.
    pub(super) start: Option<i64>,
    /// The last millisecond, if bounded.
    pub(super) end: Option<i64>,
}

/// The slices of the range from `start` to `end` (both included; `end: None` reaches past
/// `now`), for `concurrency` requests at a time: one slice when the range is short, unbounded
/// in the past, or read one request at a time.
pub(super) fn slices(
    start: Option<i64>,
    end: Option<i64>,
    now: i64,
    concurrency: usize,
) -> Vec<Slice> {
    let whole = vec![Slice { start, end }];
    let Some(first) = start else {
        return whole;
    };
    let last = end.unwrap_or(now);
    let span = last.saturating_sub(first);
    if concurrency <= 1 || span < 2 * MIN_SLICE_MS {
        return whole;
    }
    let wanted = i64::try_from(concurrency.saturating_mul(SLICES_PER_REQUEST)).unwrap_or(i64::MAX);
    let count = wanted.min(span / MIN_SLICE_MS).max(1);
    let bound = |i: i64| {
        // i128: a span near i64::MAX times a count does not overflow.
        let offset = i128::from(span) * i128::from(i) / i128::from(count);
        first + i64::try_from(offset).unwrap_or(span)
    };
    (0..count)
        .map(|i| Slice {
            start: Some(bound(i)),
            end: if i + 1 == count {
                end
            } else {
                Some(bound(i + 1) - 1)
            },
        })
        .collect()
}

/// What a slice's reader sends: the events of a page, or the failure that ended the slice.
pub(super) type Page = Result<Vec<Result<Event, ReadError>>, ReadError>;

/// Reads `slices` with `fetch`, at most `concurrency` at a time, each slice a page ahead at
/// most; yields the pages of each slice in order, the slices oldest first. A failure ends the
/// stream after it is yielded. `done` is called once every slice was read to its end.
///
/// `fetch(slice, pages)` reads one slice, sending its pages, and returns when it is read or
/// `pages` is closed (the stream was dropped). Must be called within a tokio runtime.
pub(super) fn read<F, Fut>(
    slices: Vec<Slice>,
    concurrency: usize,
    fetch: F,
    done: impl FnOnce() + Send + 'static,
) -> BoxStream<'static, Result<Event, ReadError>>
where
    F: Fn(Slice, mpsc::Sender<Page>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (slice_tx, slice_rx) = mpsc::channel(slices.len().max(1));
    tokio::spawn(async move {
        let permits = Arc::new(Semaphore::new(concurrency.max(1)));
        for slice in slices {
            // In order: the slice being yielded always holds a permit, so none waits on it.
            let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
                return;
            };
            let (tx, rx) = mpsc::channel(1);
            if slice_tx.send(rx).await.is_err() {
                return;
            }
            let pages = fetch(slice, tx);
            tokio::spawn(async move {
                pages.await;
                drop(permit);
            });
        }
    });
    let state = Some((slice_rx, None::<mpsc::Receiver<Page>>, Some(done)));
    stream::unfold(state, |state| async move {
        let (mut slices, mut current, mut done) = state?;
        loop {
            let Some(pages) = current.as_mut() else {
                match slices.recv().await {
                    Some(pages) => current = Some(pages),
                    None => {
                        if let Some(done) = done.take() {
                            done();
                        }
                        return None;
                    }
                }
                continue;
            };
            match pages.recv().await {
                Some(Ok(events)) => {
                    return Some((stream::iter(events), Some((slices, current, done))));
                }
                Some(Err(error)) => return Some((stream::iter(vec![Err(error)]), None)),
                None => current = None,
            }
        }
    })
    .flatten()
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;

    #[test]
    fn a_short_or_unbounded_range_or_one_request_is_one_slice() {
        let one = |start, end| vec![Slice { start, end }];
        assert_eq!(
            slices(Some(0), Some(HOUR), HOUR, 1),
            one(Some(0), Some(HOUR))
        );
        assert_eq!(slices(None, Some(HOUR), HOUR, 4), one(None, Some(HOUR)));
        assert_eq!(slices(Some(0), None, 9 * 60_000, 4), one(Some(0), None));
    }

    #[test]
    fn slices_cover_the_range_without_overlap_and_the_last_stays_open() {
        let cut = slices(Some(1_000), None, 1_000 + 24 * HOUR, 4);
        assert_eq!(cut.len(), 16);
        assert_eq!(cut[0].start, Some(1_000));
        assert_eq!(cut[15].end, None);
        for pair in cut.windows(2) {
            let end = pair[0].end.unwrap();
            assert_eq!(pair[1].start, Some(end + 1), "{pair:?}");
            assert!(pair[0].start.unwrap() <= end);
        }
        let bounded = slices(Some(0), Some(HOUR), 5 * HOUR, 8);
        assert_eq!(bounded.len(), 12, "no slice shorter than five minutes");
        assert_eq!(bounded.last().unwrap().end, Some(HOUR), "the end is kept");
    }

    #[tokio::test]
    async fn slices_are_yielded_in_order_whatever_order_they_finish_in() {
        let cut = slices(Some(0), Some(HOUR), HOUR, 3);
        let count = cut.len();
        let fetch = |slice: Slice, pages: mpsc::Sender<Page>| async move {
            let start = slice.start.unwrap_or(0);
            // Earlier slices take longer: they finish last.
            tokio::time::sleep(std::time::Duration::from_millis(
                u64::try_from((HOUR - start) / 60_000).unwrap_or(0),
            ))
            .await;
            for part in 0..2 {
                let event = Event::new(format!("{start}"), format!("{part}"));
                if pages.send(Ok(vec![Ok(event)])).await.is_err() {
                    return;
                }
            }
        };
        let finished = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = Arc::clone(&finished);
        let events: Vec<Event> = read(cut.clone(), 3, fetch, move || {
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
        })
        .map(Result::unwrap)
        .collect()
        .await;
        let expected: Vec<(String, String)> = cut
            .iter()
            .flat_map(|s| {
                let start = s.start.unwrap().to_string();
                [(start.clone(), "0".to_owned()), (start, "1".to_owned())]
            })
            .collect();
        let got: Vec<(String, String)> = events
            .into_iter()
            .map(|e| (e.uid, e.resource_version))
            .collect();
        assert_eq!(got.len(), 2 * count);
        assert_eq!(got, expected);
        assert!(finished.load(std::sync::atomic::Ordering::SeqCst));
    }

    #[tokio::test]
    async fn a_failure_ends_the_read_without_calling_done() {
        let cut = slices(Some(0), Some(HOUR), HOUR, 2);
        let fetch = |slice: Slice, pages: mpsc::Sender<Page>| async move {
            let page = if slice.start == Some(0) {
                Ok(vec![Ok(Event::new("first", "1"))])
            } else {
                Err(ReadError::GroupNotFound { group: "/g".into() })
            };
            let _ = pages.send(page).await;
        };
        let finished = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = Arc::clone(&finished);
        let out: Vec<_> = read(cut, 2, fetch, move || {
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
        })
        .collect()
        .await;
        assert_eq!(out.len(), 2);
        assert!(out[0].is_ok());
        assert!(matches!(out[1], Err(ReadError::GroupNotFound { .. })));
        assert!(!finished.load(std::sync::atomic::Ordering::SeqCst));
    }
}
