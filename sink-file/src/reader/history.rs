//! [`FileArchiveHistory`]: the archive as a `HistorySource`, for `kubectl get events` over any
//! time range, and for following it as it grows.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use event_core::Event;
#[cfg(feature = "history")]
use event_history::HistorySource;
#[cfg(feature = "history")]
use futures::StreamExt;
#[cfg(feature = "history")]
use futures::stream::{self, BoxStream};
use jiff::{SignedDuration, Timestamp};

use super::ReadError;
use super::tail::Tail;
use crate::config::FileSinkConfig;

/// How long after its `last_seen` an event may be written, by default: Kubernetes keeps an
/// event for an hour after its last update (`--event-ttl`), so a relist after a restart can
/// still write it that late; an hour more covers a sink that was slow to take it.
pub const DEFAULT_WRITE_DELAY: SignedDuration = SignedDuration::from_hours(2);

/// How far the clocks of the cluster and of the host writing the archive may disagree.
const CLOCK_SKEW: SignedDuration = SignedDuration::from_mins(5);

/// Events read ahead of the consumer, on the blocking thread that reads the files.
#[cfg(feature = "history")]
const READ_AHEAD: usize = 1024;

/// Events handed from the reading thread to the consumer at once: one wake-up per chunk, not
/// per event.
#[cfg(feature = "history")]
const CHUNK: usize = 64;

/// Reads an archive written by [`FileSink`](crate::FileSink) as a
/// `event_history::HistorySource` (feature `history`): the first read covers the files that may hold the range, across
/// rotated and gzipped files; each later read (when following) starts where the previous one
/// stopped, in the file being written or in the files rotated in since.
///
/// Files are chosen by their names, which say when they were *written*, while the range is
/// about when events were *last seen*: an event can be written up to
/// [`write_delay`](Self::write_delay) after it was last seen (default
/// [`DEFAULT_WRITE_DELAY`]), and clocks may disagree by five minutes, so files that far past
/// each end are read too. The history then keeps exactly the range, by `last_seen`.
///
/// Files are read on a blocking thread of the tokio runtime, at most 1,024 events ahead of the
/// consumer; outside a runtime they are read on the polling thread. A line that is not an
/// event yields [`ReadError::Parse`] and reading goes on; a missing directory yields
/// [`ReadError::List`] (and [`open`](Self::open) checks it up front).
///
/// ```no_run
/// # #[cfg(feature = "history")]
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use event_history::{History, HistoryConfig, Selection, TimeRange};
/// use futures::StreamExt;
/// use sink_file::FileArchiveHistory;
///
/// let range = TimeRange::new(Some("2026-11-24T10:00:00Z".parse()?), None)?;
/// let source = FileArchiveHistory::open("/var/lib/event-keeper/archive", "events")?.range(range);
/// let keep = Selection::default().namespaces(["payments"]).compile()?;
/// let mut events = History::new(source, keep, HistoryConfig::default().range(range));
/// while let Some(event) = events.next().await {
///     println!("{}", event?.message);
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a source does nothing until a history reads it"]
pub struct FileArchiveHistory {
    tail: Arc<Mutex<Tail>>,
    since: Option<Timestamp>,
    until: Option<Timestamp>,
    write_delay: SignedDuration,
}

impl FileArchiveHistory {
    /// The archive with `prefix` in `directory`.
    ///
    /// # Errors
    ///
    /// [`ReadError::List`] when the directory cannot be listed (it does not exist, or is not
    /// readable).
    pub fn open(directory: impl Into<PathBuf>, prefix: &str) -> Result<Self, ReadError> {
        let directory = directory.into();
        std::fs::read_dir(&directory).map_err(|source| ReadError::List {
            path: directory.clone(),
            source,
        })?;
        Ok(FileArchiveHistory {
            tail: Arc::new(Mutex::new(Tail::new(directory, prefix.to_owned()))),
            since: None,
            until: None,
            write_delay: DEFAULT_WRITE_DELAY,
        })
    }

    /// The archive that a sink with `config` writes.
    ///
    /// # Errors
    ///
    /// As for [`open`](Self::open).
    pub fn from_config(config: &FileSinkConfig) -> Result<Self, ReadError> {
        FileArchiveHistory::open(&config.directory, &config.prefix)
    }

    /// Reads only the files that may hold events last seen within `range`; call before the
    /// first read.
    #[cfg(feature = "history")]
    pub fn range(mut self, range: event_history::TimeRange) -> Self {
        self.since = range.since();
        self.until = range.until();
        self.apply();
        self
    }

    /// How long after its `last_seen` an event may have been written; see the type's docs.
    pub fn write_delay(mut self, delay: SignedDuration) -> Self {
        self.write_delay = delay.max(SignedDuration::ZERO);
        self.apply();
        self
    }

    /// Reads only the newest `files` files (at least one) of those in range, for a look at
    /// what was written last; call before the first read.
    pub fn newest(self, files: usize) -> Self {
        self.lock().newest(files.max(1));
        self
    }

    /// Torn lines skipped so far (a write cut short in a file that is no longer written).
    pub fn torn_lines_skipped(&self) -> u64 {
        self.lock().torn_lines()
    }

    /// One read on the calling thread, blocking: an [`Iterator`] over what the archive holds
    /// now, for code outside an async runtime or on a blocking thread. The same read as
    /// `HistorySource::read`, which continues after it: a later read of either kind yields
    /// only what was written since.
    ///
    /// ```no_run
    /// use sink_file::FileArchiveHistory;
    ///
    /// let mut archive = FileArchiveHistory::open("/var/lib/event-keeper/archive", "events")?;
    /// for event in archive.blocking_read() {
    ///     let event = event?;
    ///     println!("{} {} {}", event.last_seen, event.reason, event.message);
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn blocking_read(&mut self) -> BlockingRead {
        BlockingRead {
            tail: Arc::clone(&self.tail),
            started: false,
        }
    }

    fn apply(&self) {
        let mut tail = self.lock();
        if let Some(since) = self.since {
            tail.after(since.saturating_sub(CLOCK_SKEW).unwrap_or(Timestamp::MIN));
        }
        if let Some(until) = self.until {
            tail.before(
                until
                    .saturating_add(self.write_delay)
                    .unwrap_or(Timestamp::MAX),
            );
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tail> {
        // A panic while reading leaves a position that is still valid: reading goes on.
        self.tail.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Reads the queued files into `emit` until they are read or `emit` says stop, holding the
/// position throughout: a read abandoned by its consumer stops before the next one starts.
#[cfg(feature = "history")]
fn read_all(tail: &Mutex<Tail>, mut emit: impl FnMut(Result<Event, ReadError>) -> bool) {
    let mut tail = tail.lock().unwrap_or_else(PoisonError::into_inner);
    if let Err(error) = tail.start() {
        emit(Err(error));
        return;
    }
    while let Some(item) = tail.next_event() {
        if !emit(item) {
            return;
        }
    }
}

/// One read of a [`FileArchiveHistory`] on the calling thread, from
/// [`blocking_read`](FileArchiveHistory::blocking_read).
///
/// It lists the directory when first polled, then reads the files one line at a time. A line
/// that is not an event yields [`ReadError::Parse`] and reading goes on; a file that cannot be
/// read yields [`ReadError::Io`] and reading goes on with the next file.
#[derive(Debug)]
#[must_use = "an iterator does nothing until iterated"]
pub struct BlockingRead {
    tail: Arc<Mutex<Tail>>,
    started: bool,
}

impl Iterator for BlockingRead {
    type Item = Result<Event, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut tail = self.tail.lock().unwrap_or_else(PoisonError::into_inner);
        if !self.started {
            self.started = true;
            if let Err(error) = tail.start() {
                return Some(Err(error));
            }
        }
        tail.next_event()
    }
}

#[cfg(feature = "history")]
impl HistorySource for FileArchiveHistory {
    type Error = ReadError;

    fn read(&mut self) -> BoxStream<'static, Result<Event, ReadError>> {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return stream::iter(self.blocking_read()).boxed();
        };
        let tail = Arc::clone(&self.tail);
        let (tx, rx) = tokio::sync::mpsc::channel(READ_AHEAD / CHUNK);
        runtime.spawn_blocking(move || {
            let mut chunk = Vec::with_capacity(CHUNK);
            read_all(&tail, |item| {
                chunk.push(item);
                chunk.len() < CHUNK
                    || tx
                        .blocking_send(std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK)))
                        .is_ok()
            });
            if !chunk.is_empty() {
                // The consumer may be gone: then there is no one to tell.
                let _ = tx.blocking_send(chunk);
            }
        });
        stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|chunk| (stream::iter(chunk), rx))
        })
        .flatten()
        .boxed()
    }
}

#[cfg(all(test, feature = "history"))]
mod tests;
