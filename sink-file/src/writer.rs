//! [`ActiveFile`]: the file being appended to. One buffer per batch, the [`FsyncPolicy`], the
//! roll-back of a failed write, and the repair of a line torn by a crash.
//!
//! Over 400 lines with its tests only (about 230 without).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use crate::fs::{Fs, FsError, Op};
use crate::naming::ArchiveName;

/// When the sink calls `fsync` on the file it writes.
///
/// | policy | `send` returns `Ok` once | a power loss can lose |
/// |---|---|---|
/// | [`EveryBatch`](Self::EveryBatch) (default) | the batch is written and synced | nothing acknowledged |
/// | [`Interval`](Self::Interval) | the batch is written; synced if the interval has passed since the last sync | batches acknowledged since the last sync |
/// | [`Never`](Self::Never) | the batch is written; the OS syncs when it likes | whatever the OS had not written back |
///
/// With `Interval`, the sync runs with the first batch after the interval has elapsed, on
/// [`flush`](event_core::Sink::flush), and when a file is closed; not on a timer.
/// A process crash (as opposed to a power loss) loses nothing under any policy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum FsyncPolicy {
    /// Sync after every batch, before `send` returns (the default).
    #[default]
    EveryBatch,
    /// Sync at most once per interval.
    Interval(Duration),
    /// Never sync; leave write-back to the operating system.
    Never,
}

impl FsyncPolicy {
    /// Whether the policy ever syncs.
    pub(crate) fn syncs(self) -> bool {
        !matches!(self, FsyncPolicy::Never)
    }
}

/// The file of the archive that batches are appended to.
#[derive(Debug)]
pub(crate) struct ActiveFile {
    name: ArchiveName,
    path: PathBuf,
    file: File,
    len: u64,
    unsynced: bool,
    last_sync: Timestamp,
    /// The length to cut the file back to before anything else is written: a write failed part
    /// way and cutting its bytes off failed too.
    rollback_to: Option<u64>,
}

/// What [`ActiveFile::open`] found.
#[derive(Debug)]
pub(crate) struct Opened {
    pub(crate) file: ActiveFile,
    /// Bytes of a torn last line cut off the end of the file.
    pub(crate) torn_bytes: u64,
}

impl ActiveFile {
    /// Opens `name` in `dir` for appending, creating it if needed, and cuts off a torn last line.
    pub(crate) fn open(
        fs: &Fs,
        dir: &Path,
        name: ArchiveName,
        now: Timestamp,
    ) -> Result<Opened, FsError> {
        let path = dir.join(name.to_string());
        let mut file = fs.open_append(&path)?;
        let torn_bytes = repair_tail(fs, &mut file, &path)?;
        let len = fs.len(&file, &path)?;
        Ok(Opened {
            file: ActiveFile {
                name,
                path,
                file,
                len,
                unsynced: false,
                last_sync: now,
                rollback_to: None,
            },
            torn_bytes,
        })
    }

    pub(crate) fn name(&self) -> &ArchiveName {
        &self.name
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The length of the file's complete lines.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Cuts off the bytes of an earlier failed write that could not be cut off then.
    pub(crate) fn finish_rollback(&mut self, fs: &Fs) -> Result<(), FsError> {
        if let Some(len) = self.rollback_to {
            fs.set_len(&self.file, &self.path, len)?;
            self.rollback_to = None;
        }
        Ok(())
    }

    /// Appends `buf` (whole lines, ending in `\n`) and syncs as `policy` says.
    ///
    /// On error the file is cut back to its length before the call, so that the batch can be
    /// written again without a duplicate or a half line; the [`AppendError`] says whether that
    /// worked.
    pub(crate) fn append(
        &mut self,
        fs: &Fs,
        buf: &[u8],
        policy: FsyncPolicy,
        now: Timestamp,
    ) -> Result<(), AppendError> {
        self.finish_rollback(fs).map_err(AppendError::unrolled)?;
        let before = self.len;
        if let Err(source) = fs.write_all(&mut self.file, &self.path, buf) {
            let error = FsError::new(Op::Write, &self.path, source);
            return Err(self.roll_back(fs, before, error));
        }
        self.len = before + buf.len() as u64;
        self.unsynced = true;
        let sync_now = match policy {
            FsyncPolicy::EveryBatch => true,
            FsyncPolicy::Interval(interval) => {
                let interval = SignedDuration::try_from(interval).unwrap_or(SignedDuration::MAX);
                now.duration_since(self.last_sync) >= interval
            }
            FsyncPolicy::Never => false,
        };
        if sync_now && let Err(error) = self.sync(fs, now) {
            // The kernel may have dropped the unsynced pages: write the batch again.
            return Err(self.roll_back(fs, before, error));
        }
        Ok(())
    }

    /// Syncs the file if anything was written since the last sync.
    pub(crate) fn sync(&mut self, fs: &Fs, now: Timestamp) -> Result<(), FsError> {
        if self.unsynced {
            fs.sync(&self.file, &self.path)?;
            self.unsynced = false;
            self.last_sync = now;
        }
        Ok(())
    }

    fn roll_back(&mut self, fs: &Fs, before: u64, error: FsError) -> AppendError {
        self.len = before;
        match fs.set_len(&self.file, &self.path, before) {
            Ok(()) => AppendError {
                error,
                rolled_back: true,
                truncate_error: None,
            },
            Err(truncate_error) => {
                self.rollback_to = Some(before);
                AppendError {
                    error,
                    rolled_back: false,
                    truncate_error: Some(truncate_error),
                }
            }
        }
    }
}

/// A failed append: the error, and whether the bytes it left were cut off.
#[derive(Debug)]
pub(crate) struct AppendError {
    pub(crate) error: FsError,
    /// The file was cut back to its length before the batch.
    pub(crate) rolled_back: bool,
    /// Cutting back failed; it is tried again before the next write.
    pub(crate) truncate_error: Option<FsError>,
}

impl AppendError {
    fn unrolled(error: FsError) -> Self {
        AppendError {
            error,
            rolled_back: false,
            truncate_error: None,
        }
    }
}

const TAIL_CHUNK: u64 = 8 * 1024;

/// Cuts a final line that lacks its `\n` (a write torn by a crash) off the end of `file`, and
/// returns how many bytes were cut. Earlier lines are never touched.
pub(crate) fn repair_tail(fs: &Fs, file: &mut File, path: &Path) -> Result<u64, FsError> {
    let len = fs.len(file, path)?;
    let mut end = len;
    let mut buf = vec![0u8; TAIL_CHUNK as usize];
    let keep = loop {
        if end == 0 {
            break 0;
        }
        let start = end.saturating_sub(TAIL_CHUNK);
        let want = (end - start) as usize;
        let read = fs.read_at(file, path, start, &mut buf[..want])?;
        if let Some(pos) = buf[..read].iter().rposition(|b| *b == b'\n') {
            break start + pos as u64 + 1;
        }
        end = start;
    };
    if keep == len {
        return Ok(0);
    }
    fs.set_len(file, path, keep)?;
    fs.sync(file, path)?;
    Ok(len - keep)
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::Arc;

    use super::*;
    use crate::testutil::Faults;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn name() -> ArchiveName {
        ArchiveName::new("events", ts("2026-11-24T10:00:00Z"), 1)
    }

    fn open(fs: &Fs, dir: &Path) -> ActiveFile {
        ActiveFile::open(fs, dir, name(), ts("2026-11-24T10:00:00Z"))
            .unwrap()
            .file
    }

    #[test]
    fn cuts_a_torn_last_line_and_keeps_every_earlier_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name().to_string());
        std::fs::write(&path, b"{\"a\":1}\n{\"b\":2}\n{\"c\":").unwrap();
        let opened =
            ActiveFile::open(&Fs::real(), dir.path(), name(), ts("2026-11-24T10:00:00Z")).unwrap();
        assert_eq!(opened.torn_bytes, 5);
        assert_eq!(opened.file.len(), 16);
        assert_eq!(std::fs::read(&path).unwrap(), b"{\"a\":1}\n{\"b\":2}\n");
    }

    #[test]
    fn a_file_that_is_one_torn_line_is_emptied() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, vec![b'x'; 20_000]).unwrap();
        let fs = Fs::real();
        let mut file = fs.open_append(&path).unwrap();
        assert_eq!(repair_tail(&fs, &mut file, &path).unwrap(), 20_000);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
    }

    #[test]
    fn finds_the_last_newline_beyond_one_chunk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let mut content = b"{\"ok\":true}\n".to_vec();
        content.extend(vec![b'x'; 3 * TAIL_CHUNK as usize + 7]);
        std::fs::write(&path, &content).unwrap();
        let fs = Fs::real();
        let mut file = fs.open_append(&path).unwrap();
        repair_tail(&fs, &mut file, &path).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"{\"ok\":true}\n");
    }

    #[test]
    fn leaves_complete_and_empty_files_alone() {
        let dir = tempfile::tempdir().unwrap();
        let fs = Fs::real();
        for content in [&b""[..], b"{}\n", b"{}\n{}\n"] {
            let path = dir.path().join("f");
            std::fs::write(&path, content).unwrap();
            let mut file = fs.open_append(&path).unwrap();
            assert_eq!(repair_tail(&fs, &mut file, &path).unwrap(), 0);
            assert_eq!(std::fs::read(&path).unwrap(), content);
        }
    }

    #[test]
    fn every_batch_policy_syncs_each_append() {
        let dir = tempfile::tempdir().unwrap();
        let faults = Arc::new(Faults::default());
        let fs = Fs::with_hook(faults.clone());
        let mut file = open(&fs, dir.path());
        let before = faults.count(Op::Sync, ".jsonl");
        for _ in 0..3 {
            let now = ts("2026-11-24T10:00:00Z");
            file.append(&fs, b"{}\n", FsyncPolicy::EveryBatch, now)
                .unwrap();
        }
        assert_eq!(faults.count(Op::Sync, ".jsonl") - before, 3);
    }

    #[test]
    fn interval_policy_syncs_once_the_interval_has_passed() {
        let dir = tempfile::tempdir().unwrap();
        let faults = Arc::new(Faults::default());
        let fs = Fs::with_hook(faults.clone());
        let mut file = open(&fs, dir.path());
        let policy = FsyncPolicy::Interval(Duration::from_secs(5));
        let syncs = || faults.count(Op::Sync, ".jsonl");
        let before = syncs();
        file.append(&fs, b"{}\n", policy, ts("2026-11-24T10:00:01Z"))
            .unwrap();
        file.append(&fs, b"{}\n", policy, ts("2026-11-24T10:00:04Z"))
            .unwrap();
        assert_eq!(syncs() - before, 0, "within the interval");
        file.append(&fs, b"{}\n", policy, ts("2026-11-24T10:00:05Z"))
            .unwrap();
        assert_eq!(syncs() - before, 1, "interval elapsed");
        file.append(&fs, b"{}\n", policy, ts("2026-11-24T10:00:06Z"))
            .unwrap();
        assert_eq!(syncs() - before, 1, "interval restarts at the sync");
        file.sync(&fs, ts("2026-11-24T10:00:07Z")).unwrap();
        assert_eq!(syncs() - before, 2, "an explicit sync flushes the rest");
        file.sync(&fs, ts("2026-11-24T10:00:08Z")).unwrap();
        assert_eq!(syncs() - before, 2, "nothing left to sync");
    }

    #[test]
    fn never_policy_does_not_sync() {
        let dir = tempfile::tempdir().unwrap();
        let faults = Arc::new(Faults::default());
        let fs = Fs::with_hook(faults.clone());
        let mut file = open(&fs, dir.path());
        let before = faults.count(Op::Sync, ".jsonl");
        file.append(&fs, b"{}\n", FsyncPolicy::Never, ts("2026-11-25T10:00:00Z"))
            .unwrap();
        assert_eq!(faults.count(Op::Sync, ".jsonl"), before);
        assert_eq!(std::fs::read(file.path()).unwrap(), b"{}\n");
    }

    #[test]
    fn a_write_failing_part_way_is_cut_back_to_the_length_before_the_batch() {
        let dir = tempfile::tempdir().unwrap();
        let faults = Arc::new(Faults::default());
        let fs = Fs::with_hook(faults.clone());
        let mut file = open(&fs, dir.path());
        let now = ts("2026-11-24T10:00:00Z");
        file.append(&fs, b"{\"a\":1}\n", FsyncPolicy::EveryBatch, now)
            .unwrap();
        faults.fail_write_partway(".jsonl", 4);
        let failed = file
            .append(&fs, b"{\"b\":2}\n{\"c\":3}\n", FsyncPolicy::EveryBatch, now)
            .unwrap_err();
        assert!(failed.error.is_full());
        assert!(failed.rolled_back);
        assert_eq!(std::fs::read(file.path()).unwrap(), b"{\"a\":1}\n");
        assert_eq!(file.len(), 8);
        file.append(&fs, b"{\"b\":2}\n", FsyncPolicy::EveryBatch, now)
            .unwrap();
        assert_eq!(
            std::fs::read(file.path()).unwrap(),
            b"{\"a\":1}\n{\"b\":2}\n"
        );
    }

    #[test]
    fn a_failed_sync_cuts_the_batch_off_so_that_it_is_written_again() {
        let dir = tempfile::tempdir().unwrap();
        let faults = Arc::new(Faults::default());
        let fs = Fs::with_hook(faults.clone());
        let mut file = open(&fs, dir.path());
        let now = ts("2026-11-24T10:00:00Z");
        faults.fail(Op::Sync, ".jsonl", io::ErrorKind::Other, 1);
        let failed = file
            .append(&fs, b"{\"a\":1}\n", FsyncPolicy::EveryBatch, now)
            .unwrap_err();
        assert_eq!(failed.error.op, Op::Sync);
        assert_eq!(std::fs::read(file.path()).unwrap(), b"");
    }

    #[test]
    fn a_failed_cut_back_is_retried_before_anything_else_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let faults = Arc::new(Faults::default());
        let fs = Fs::with_hook(faults.clone());
        let mut file = open(&fs, dir.path());
        let now = ts("2026-11-24T10:00:00Z");
        faults.fail_write_partway(".jsonl", 3);
        faults.fail(Op::Truncate, ".jsonl", io::ErrorKind::Other, 2);
        let failed = file
            .append(&fs, b"{\"a\":1}\n", FsyncPolicy::EveryBatch, now)
            .unwrap_err();
        assert!(!failed.rolled_back);
        assert!(failed.truncate_error.is_some());
        let again = file
            .append(&fs, b"{\"a\":1}\n", FsyncPolicy::EveryBatch, now)
            .unwrap_err();
        assert_eq!(
            again.error.op,
            Op::Truncate,
            "no write on top of a half line"
        );
        assert_eq!(std::fs::read(file.path()).unwrap(), b"{\"a");
        file.append(&fs, b"{\"a\":1}\n", FsyncPolicy::EveryBatch, now)
            .unwrap();
        assert_eq!(std::fs::read(file.path()).unwrap(), b"{\"a\":1}\n");
    }

    #[test]
    fn reopening_appends_after_the_existing_lines() {
        let dir = tempfile::tempdir().unwrap();
        let fs = Fs::real();
        let now = ts("2026-11-24T10:00:00Z");
        let mut file = open(&fs, dir.path());
        file.append(&fs, b"{\"a\":1}\n", FsyncPolicy::EveryBatch, now)
            .unwrap();
        drop(file);
        let mut file = open(&fs, dir.path());
        assert_eq!(file.len(), 8);
        file.append(&fs, b"{\"b\":2}\n", FsyncPolicy::EveryBatch, now)
            .unwrap();
        assert_eq!(
            std::fs::read(file.path()).unwrap(),
            b"{\"a\":1}\n{\"b\":2}\n"
        );
    }
}
