//! [`FileSink`]: the [`Sink`] that appends batches to the archive.

mod archive;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use event_core::{Event, OccurrenceKey, Sink, SinkError};

use self::archive::Archive;
use crate::config::{ConfigError, FileSinkConfig};
use crate::fs::{Fs, FsError};
use crate::reader::FileArchiveHistory;
use crate::stats::FileSinkStats;
use event_core::clock::Clock;

/// Appends events to a rolling JSON-lines archive, one object per line.
///
/// `send` returns `Ok` once the batch is written, and synced when the
/// [`FsyncPolicy`](crate::FsyncPolicy) says so. Each batch is written as one buffer; if the write
/// fails part way, the file is cut back to where it was, so the retried batch is neither
/// duplicated nor torn.
///
/// The directory is prepared at the first [`health_check`](Sink::health_check) or `send`:
/// created if missing, leftovers of interrupted compressions removed, a torn last line cut off
/// (counted in [`FileSinkStats::torn_lines_cut`]), and the newest file reopened for appending
/// when it is still within its period and size.
///
/// # Errors
///
/// Every error of the file system reaches the pipeline, never only a log:
///
/// - a full disk or quota, or any other I/O error, is [`SinkError::Retryable`], with the path
///   and what to do in the message; the pipeline retries the same batch;
/// - permission denied (`EACCES`, `EPERM`), a read-only file system (`EROFS`) or a path that is
///   not a directory (`ENOTDIR`), on the directory or a file, is [`SinkError::Fatal`] with the
///   path: retrying cannot fix it, and retrying forever would stall every other sink behind
///   this one's full queue;
/// - a call that does not finish within `write_timeout` is retryable;
/// - an event that cannot be serialized is refused alone ([`SinkError::Rejected`]).
#[derive(Debug)]
pub struct FileSink {
    archive: Arc<Mutex<Archive>>,
    directory: PathBuf,
    prefix: String,
    write_timeout: Duration,
    stats: FileSinkStats,
}

impl FileSink {
    /// A sink writing per `config`, on the system clock. Touches no file until the first
    /// `health_check` or `send`.
    ///
    /// # Errors
    ///
    /// The [`ConfigError`] of [`FileSinkConfig::validate`].
    pub fn new(config: FileSinkConfig) -> Result<Self, ConfigError> {
        FileSink::with_clock(config, Clock::system())
    }

    /// A sink reading the time from `clock`, for tests that move time by hand.
    ///
    /// # Errors
    ///
    /// The [`ConfigError`] of [`FileSinkConfig::validate`].
    pub fn with_clock(config: FileSinkConfig, clock: Clock) -> Result<Self, ConfigError> {
        FileSink::with_fs(config, clock, Fs::real())
    }

    pub(crate) fn with_fs(
        config: FileSinkConfig,
        clock: Clock,
        fs: Fs,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        let stats = FileSinkStats::default();
        Ok(FileSink {
            directory: config.directory.clone(),
            prefix: config.prefix.clone(),
            write_timeout: config.write_timeout,
            archive: Arc::new(Mutex::new(Archive::new(config, fs, clock, stats.clone()))),
            stats,
        })
    }

    /// The counters of this sink; the handle stays live after the sink moves into a pipeline.
    pub fn stats(&self) -> FileSinkStats {
        self.stats.clone()
    }

    /// The directory of the archive.
    pub fn directory(&self) -> &Path {
        &self.directory
    }

    /// Checks that the archive directory can be written, without opening or repairing any
    /// archive file: creates the directory if missing, then creates, syncs (per the fsync
    /// policy) and removes a probe file in it. [`health_check`](Sink::health_check) does the same before it prepares the
    /// archive; this is for a process that must know before it writes (a standby replica).
    ///
    /// # Errors
    ///
    /// [`SinkError::Fatal`] when the directory can never be written (read-only file system,
    /// not a directory, permission denied), naming the path and what to do;
    /// [`SinkError::Retryable`] for a full disk or another I/O error.
    pub async fn check_writable(&self) -> Result<(), SinkError> {
        self.run("checking", |archive, _| archive.check_writable())
            .await
    }

    /// Runs `work` on the archive in the blocking pool, bounded by the write timeout.
    ///
    /// `work` is told through the flag when the caller stopped waiting (timeout, or the future
    /// dropped), so that a write not yet begun is not made behind the pipeline's back.
    async fn run<T: Send + 'static>(
        &self,
        what: &'static str,
        work: impl FnOnce(&mut Archive, &AtomicBool) -> Result<T, FsError> + Send + 'static,
    ) -> Result<T, SinkError> {
        let archive = self.archive.clone();
        let abandoned = Arc::new(AtomicBool::new(false));
        let _abandon_on_return = AbandonOnDrop(abandoned.clone());
        let directory = self.directory.clone();
        let task = tokio::task::spawn_blocking(move || {
            let mut archive = archive.lock().map_err(|_| {
                SinkError::fatal_msg(format!(
                    "an earlier write to {} panicked and left the file sink unusable; restart the process",
                    directory.display()
                ))
            })?;
            work(&mut archive, &abandoned).map_err(|e| to_sink_error(e, &directory))
        });
        match tokio::time::timeout(self.write_timeout, task).await {
            Ok(Ok(result)) => result,
            Ok(Err(join_error)) => Err(SinkError::fatal(
                format!(
                    "{what} {} panicked; restart the process",
                    self.directory.display()
                ),
                join_error,
            )),
            // A write already under way may still complete after we stop waiting.
            Err(elapsed) => Err(SinkError::maybe_stored(
                format!(
                    "{what} {} did not finish within {:?}; check that the disk is not hung or overloaded",
                    self.directory.display(),
                    self.write_timeout
                ),
                elapsed,
            )),
        }
    }
}

/// Tells the blocking work that its caller has gone, whichever way `run` ends.
struct AbandonOnDrop(Arc<AtomicBool>);

impl Drop for AbandonOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Maps a file-system error to what the pipeline should do about it, naming the path and the fix.
fn to_sink_error(error: FsError, directory: &Path) -> SinkError {
    let dir = directory.display();
    if error.is_full() {
        let message = format!(
            "the disk is full: {error}; free space on {dir} (or lower keep_files / keep_days)"
        );
        SinkError::retryable(message, error)
    } else if error.is_permission_denied() {
        let message = format!(
            "{error}; give the process write access to {dir}, or set `directory` to a writable folder"
        );
        SinkError::fatal(message, error)
    } else if error.is_unwritable() {
        let message = format!(
            "{error}; {dir} cannot be written: mount a writable volume there, or set `directory` to a writable folder"
        );
        SinkError::fatal(message, error)
    } else {
        let message = format!("{error}; check the disk and the file system of {dir}");
        SinkError::retryable(message, error)
    }
}

/// Serializes a batch into one buffer of JSON lines.
fn render(batch: &[Event]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(batch.len() * 512);
    for event in batch {
        event.write_json(&mut buf);
        buf.push(b'\n');
    }
    buf
}

#[async_trait]
impl Sink for FileSink {
    fn name(&self) -> &str {
        "file"
    }

    async fn send(&mut self, batch: &[Event]) -> Result<(), SinkError> {
        if batch.is_empty() {
            return Ok(());
        }
        let buf = render(batch);
        let events = batch.len() as u64;
        self.run("writing to", move |archive, abandoned| {
            archive.write_batch(&buf, events, &|| !abandoned.load(Ordering::SeqCst))
        })
        .await?;
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), SinkError> {
        self.run("syncing", |archive, _| archive.flush()).await
    }

    async fn health_check(&mut self) -> Result<(), SinkError> {
        self.run("opening the archive in", |archive, _| archive.start())
            .await
    }

    /// Looks for the candidates in the newest [`RECENT_FILES_SEARCHED`] files: what an earlier
    /// attempt or a crashed run stored without the checkpoint recording it was written last.
    async fn already_stored(
        &mut self,
        candidates: &[Event],
    ) -> Result<Option<HashSet<OccurrenceKey>>, SinkError> {
        let wanted: HashSet<OccurrenceKey> = candidates.iter().map(Event::key).collect();
        let directory = self.directory.clone();
        let prefix = self.prefix.clone();
        let found = tokio::task::spawn_blocking(move || {
            recently_stored(&directory, &prefix, &wanted, RECENT_FILES_SEARCHED)
        })
        .await
        .map_err(|join| SinkError::retryable("reading the archive back panicked", join))??;
        Ok(Some(found))
    }
}

/// How many of the newest files [`FileSink::already_stored`] reads: the events in doubt are
/// the last few batches handed to the sink, far less than one file unless files are tiny.
pub const RECENT_FILES_SEARCHED: usize = 4;

/// The keys among `wanted` found in the newest `files` files of the archive.
fn recently_stored(
    directory: &Path,
    prefix: &str,
    wanted: &HashSet<OccurrenceKey>,
    files: usize,
) -> Result<HashSet<OccurrenceKey>, SinkError> {
    let mut archive = match FileArchiveHistory::open(directory, prefix) {
        Ok(archive) => archive.newest(files),
        // Nothing was ever written: nothing is stored.
        Err(crate::ReadError::List { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            return Ok(HashSet::new());
        }
        Err(error) => {
            return Err(SinkError::retryable(
                format!("reading back {} failed", directory.display()),
                error,
            ));
        }
    };
    let mut found = HashSet::new();
    for event in archive.blocking_read() {
        match event {
            Ok(event) => {
                let key = event.key();
                if wanted.contains(&key) {
                    found.insert(key);
                }
            }
            // A line that is not an event holds no candidate; an unreadable file may, so the
            // question is asked again later.
            Err(crate::ReadError::Parse { .. }) => {}
            Err(error) => {
                return Err(SinkError::retryable(
                    format!("reading back {} failed", directory.display()),
                    error,
                ));
            }
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests;
