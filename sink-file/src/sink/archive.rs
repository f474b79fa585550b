//! [`Archive`]: the archive directory as the sink sees it, driven by blocking calls.
//!
//! Everything that can fail runs *before* the batch is written (recovery at start, rotation,
//! retention, compression), and a failed write is cut back off the file; so an error always means
//! "nothing of this batch was stored" and the retry neither duplicates nor tears a line.

use std::path::Path;

use tracing::{info, warn};

use crate::compress::compress;
use crate::config::FileSinkConfig;
use crate::fs::{Fs, FsError};
use crate::naming::{ArchiveName, Listing};
use crate::rotation::RotateReason;
use crate::stats::FileSinkStats;
use crate::writer::{ActiveFile, repair_tail};
use event_core::clock::Clock;

/// The blocking state of the sink: the file being written and what is due in the directory.
#[derive(Debug)]
pub(crate) struct Archive {
    config: FileSinkConfig,
    fs: Fs,
    clock: Clock,
    stats: FileSinkStats,
    active: Option<ActiveFile>,
    housekeeping_due: bool,
}

impl Archive {
    pub(crate) fn new(config: FileSinkConfig, fs: Fs, clock: Clock, stats: FileSinkStats) -> Self {
        Archive {
            config,
            fs,
            clock,
            stats,
            active: None,
            housekeeping_due: true,
        }
    }

    fn dir(&self) -> &Path {
        &self.config.directory
    }

    /// Creates the directory if missing, then creates, syncs (unless the policy never syncs)
    /// and removes a probe file in it: a read-only volume or a path through a file shows here,
    /// not at the first batch. The name starts with a dot, so that no reader takes it for an
    /// archive file.
    pub(crate) fn check_writable(&self) -> Result<(), FsError> {
        self.fs.create_dir_all(self.dir())?;
        let probe = self.dir().join(format!(
            ".{}-probe-{}",
            self.config.prefix,
            std::process::id()
        ));
        self.fs.probe(&probe, self.config.fsync.syncs())
    }

    /// Prepares the directory, once: creates it, removes what interrupted compressions left,
    /// cuts torn last lines, and opens the file to append to: the newest one when it is still
    /// within its period and size, else the next one.
    pub(crate) fn start(&mut self) -> Result<(), FsError> {
        if self.active.is_some() {
            return Ok(());
        }
        self.check_writable()?;
        let listing = self.list()?;
        let leftovers: Vec<String> = (listing.temps.iter().cloned())
            .chain(listing.twins.iter().map(ToString::to_string))
            .collect();
        for leftover in &leftovers {
            let path = self.dir().join(leftover);
            self.fs.remove(&path)?;
            info!(sink = "file", path = %path.display(), "removed the leftover of an interrupted compression");
        }
        if !leftovers.is_empty() {
            self.fs.sync_dir(self.dir())?;
        }
        let mut newest_len = 0;
        for name in listing.files.iter().filter(|n| !n.is_compressed()) {
            newest_len = self.repair(name)?;
        }
        let now = self.clock.now();
        let rotation = self.config.rotation;
        let name = match listing.files.last() {
            Some(newest)
                if !newest.is_compressed()
                    && rotation.due(newest.start(), newest_len, 0, now).is_none() =>
            {
                newest.clone()
            }
            Some(newest) => newest.successor(rotation.stamp_for(now)),
            None => ArchiveName::new(self.config.prefix.clone(), rotation.stamp_for(now), 1),
        };
        let opened = ActiveFile::open(&self.fs, self.dir(), name, now)?;
        self.note_torn(opened.file.path(), opened.torn_bytes);
        if self.config.fsync.syncs() {
            self.fs.sync_dir(self.dir())?;
        }
        info!(
            sink = "file",
            path = %opened.file.path().display(),
            bytes = opened.file.len(),
            "archive file opened"
        );
        self.active = Some(opened.file);
        self.housekeeping_due = true;
        Ok(())
    }

    /// Cuts a torn last line off a closed or newest file; returns the file's length after.
    fn repair(&self, name: &ArchiveName) -> Result<u64, FsError> {
        let path = self.dir().join(name.to_string());
        let mut file = self.fs.open_append(&path)?;
        let cut = repair_tail(&self.fs, &mut file, &path)?;
        self.note_torn(&path, cut);
        self.fs.len(&file, &path)
    }

    fn note_torn(&self, path: &Path, cut: u64) {
        if cut > 0 {
            warn!(
                sink = "file",
                path = %path.display(),
                bytes = cut,
                "cut a torn last line left by a crash; its batch was not acknowledged and is sent again"
            );
            self.stats.add_torn_lines_cut(1);
        }
    }

    fn list(&self) -> Result<Listing, FsError> {
        let names = self.fs.list_dir(self.dir())?;
        Ok(Listing::from_names(&self.config.prefix, names))
    }

    /// Writes one batch of `events` events (`buf`, whole lines) after any rotation and
    /// housekeeping that is due. Returns `false`, having written nothing, when `proceed` says the
    /// caller stopped waiting before the write began.
    pub(crate) fn write_batch(
        &mut self,
        buf: &[u8],
        events: u64,
        proceed: &dyn Fn() -> bool,
    ) -> Result<bool, FsError> {
        self.start()?;
        let now = self.clock.now();
        let Some(active) = self.active.as_mut() else {
            return Ok(false);
        };
        // A half line from a failed write goes before the file can be closed.
        active.finish_rollback(&self.fs)?;
        let incoming = buf.len() as u64;
        if let Some(reason) =
            self.config
                .rotation
                .due(active.name().start(), active.len(), incoming, now)
        {
            self.rotate(reason)?;
        }
        if self.housekeeping_due {
            self.housekeep()?;
            self.housekeeping_due = false;
        }
        if !proceed() {
            return Ok(false);
        }
        let Some(active) = self.active.as_mut() else {
            return Ok(false);
        };
        match active.append(&self.fs, buf, self.config.fsync, now) {
            Ok(()) => {
                self.stats.add_batches_written(1);
                self.stats.add_events_written(events);
                Ok(true)
            }
            Err(failed) => {
                if failed.rolled_back {
                    self.stats.add_writes_rolled_back(1);
                }
                if let Some(truncate_error) = &failed.truncate_error {
                    warn!(
                        sink = "file",
                        path = %active.path().display(),
                        error = %truncate_error,
                        "could not cut a failed write off the file; retrying before the next write"
                    );
                }
                Err(failed.error)
            }
        }
    }

    /// Closes the current file (synced per the policy) and opens the next one.
    fn rotate(&mut self, reason: RotateReason) -> Result<(), FsError> {
        let now = self.clock.now();
        let Some(current) = self.active.as_mut() else {
            return Ok(());
        };
        if self.config.fsync.syncs() {
            current.sync(&self.fs, now)?;
        }
        let next = current
            .name()
            .successor(self.config.rotation.stamp_for(now));
        let opened = ActiveFile::open(&self.fs, &self.config.directory, next, now)?;
        if opened.torn_bytes > 0 {
            // Only a file created behind the sink's back can have one; count it all the same.
            warn!(sink = "file", path = %opened.file.path().display(), bytes = opened.torn_bytes, "cut a torn last line");
            self.stats.add_torn_lines_cut(1);
        }
        if self.config.fsync.syncs() {
            self.fs.sync_dir(&self.config.directory)?;
        }
        info!(
            sink = "file",
            path = %current.path().display(),
            next = %opened.file.path().display(),
            reason = reason.as_str(),
            "archive file rotated"
        );
        self.active = Some(opened.file);
        self.stats.add_files_rotated(1);
        self.housekeeping_due = true;
        Ok(())
    }

    /// Deletes the files past retention, then compresses the closed files left.
    fn housekeep(&mut self) -> Result<(), FsError> {
        let retention = self.config.retention();
        if retention.is_unlimited() && !self.config.compress {
            return Ok(());
        }
        let Some(active) = self.active.as_ref().map(|a| a.name().clone()) else {
            return Ok(());
        };
        let listing = self.list()?;
        let expired = retention.expired(&listing.files, &active, self.clock.now());
        for name in &expired {
            let path = self.dir().join(name.to_string());
            self.fs.remove(&path)?;
            info!(sink = "file", path = %path.display(), "archive file removed by retention");
            self.stats.add_files_removed(1);
        }
        if !self.config.compress {
            return Ok(());
        }
        let closed = listing
            .files
            .iter()
            .filter(|n| !n.is_compressed() && **n != active && !expired.contains(n));
        for name in closed {
            let compressed = compress(&self.fs, self.dir(), name)?;
            info!(
                sink = "file",
                path = %self.dir().join(compressed.to_string()).display(),
                "archive file compressed"
            );
            self.stats.add_files_compressed(1);
        }
        Ok(())
    }

    /// Syncs what was written since the last sync, unless the policy never syncs.
    pub(crate) fn flush(&mut self) -> Result<(), FsError> {
        let now = self.clock.now();
        match self.active.as_mut() {
            Some(active) if self.config.fsync.syncs() => active.sync(&self.fs, now),
            _ => Ok(()),
        }
    }
}
