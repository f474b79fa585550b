//! The few file operations the sink performs, behind one narrow seam.
//!
//! Every operation goes to the real file system. In tests, a [`FaultHook`] sees each one first
//! and can fail it, or let a write store only part of its buffer before failing, so that a full
//! disk or a failed `fsync` is tested deterministically on any machine.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
#[cfg(test)]
use std::sync::Arc;

/// One kind of file operation, named as it appears in error messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    CreateDir,
    ListDir,
    Open,
    Read,
    Write,
    Sync,
    Truncate,
    Rename,
    Remove,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Op::CreateDir => "creating directory",
            Op::ListDir => "listing directory",
            Op::Open => "opening",
            Op::Read => "reading",
            Op::Write => "writing",
            Op::Sync => "syncing",
            Op::Truncate => "truncating",
            Op::Rename => "renaming",
            Op::Remove => "removing",
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed file operation, with the path it was on.
#[derive(Debug, thiserror::Error)]
#[error("{op} {}: {source}", path.display())]
pub(crate) struct FsError {
    pub(crate) op: Op,
    pub(crate) path: PathBuf,
    #[source]
    pub(crate) source: io::Error,
}

impl FsError {
    pub(crate) fn new(op: Op, path: &Path, source: io::Error) -> Self {
        FsError {
            op,
            path: path.to_owned(),
            source,
        }
    }

    /// Whether the error means that the disk or the quota is full.
    pub(crate) fn is_full(&self) -> bool {
        matches!(
            self.source.kind(),
            io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded | io::ErrorKind::WriteZero
        )
    }

    pub(crate) fn is_permission_denied(&self) -> bool {
        self.source.kind() == io::ErrorKind::PermissionDenied
    }

    /// Whether the place can never be written, whatever is retried: a read-only file system
    /// (`EROFS`), a path through a file (`ENOTDIR`), a directory where a file should be, or
    /// missing permissions (`EACCES`, `EPERM`). A full disk is not: space can be freed.
    pub(crate) fn is_unwritable(&self) -> bool {
        matches!(
            self.source.kind(),
            io::ErrorKind::ReadOnlyFilesystem
                | io::ErrorKind::NotADirectory
                | io::ErrorKind::IsADirectory
                | io::ErrorKind::PermissionDenied
        )
    }
}

/// Sees every file operation before it runs; tests use it to inject failures.
#[cfg(test)]
pub(crate) trait FaultHook: Send + Sync {
    /// `Err` fails the operation; `Ok(Some(n))` lets a write store only its first `n` bytes and
    /// then fail with a full disk.
    fn before(&self, op: Op, path: &Path) -> io::Result<Option<usize>>;
}

/// The file system, as the sink uses it.
#[derive(Clone, Default)]
pub(crate) struct Fs {
    #[cfg(test)]
    hook: Option<Arc<dyn FaultHook>>,
}

impl fmt::Debug for Fs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Fs")
    }
}

impl Fs {
    /// The real file system, without a hook.
    pub(crate) fn real() -> Self {
        Fs::default()
    }

    /// The real file system, with every operation shown to `hook` first.
    #[cfg(test)]
    pub(crate) fn with_hook(hook: Arc<dyn FaultHook>) -> Self {
        Fs { hook: Some(hook) }
    }

    #[cfg(test)]
    fn before(&self, op: Op, path: &Path) -> io::Result<Option<usize>> {
        match &self.hook {
            Some(hook) => hook.before(op, path),
            None => Ok(None),
        }
    }

    #[cfg(not(test))]
    #[inline]
    fn before(&self, _op: Op, _path: &Path) -> io::Result<Option<usize>> {
        Ok(None)
    }

    fn run<T>(&self, op: Op, path: &Path, f: impl FnOnce() -> io::Result<T>) -> Result<T, FsError> {
        self.before(op, path)
            .and_then(|_| f())
            .map_err(|e| FsError::new(op, path, e))
    }

    /// Creates `dir` and its parents; a file in its place is `NotADirectory`, not the
    /// `AlreadyExists` that `create_dir_all` reports, so that it is told apart as unwritable.
    pub(crate) fn create_dir_all(&self, dir: &Path) -> Result<(), FsError> {
        self.run(Op::CreateDir, dir, || match std::fs::create_dir_all(dir) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && !dir.is_dir() => {
                Err(io::Error::new(
                    io::ErrorKind::NotADirectory,
                    "a file is in the way: not a directory",
                ))
            }
            other => other,
        })
    }

    /// Creates, writes (and syncs, with `sync`) and removes the file `probe`: whether its
    /// directory takes files at all.
    pub(crate) fn probe(&self, probe: &Path, sync: bool) -> Result<(), FsError> {
        let written = self.create(probe).and_then(|mut file| {
            self.write_all(&mut file, probe, b"probe")
                .map_err(|e| FsError::new(Op::Write, probe, e))?;
            if sync {
                self.sync(&file, probe)?;
            }
            Ok(())
        });
        let removed = self.remove(probe);
        written.and(removed)
    }

    /// The names of the entries of `dir` that are valid UTF-8 (the sink writes no others).
    pub(crate) fn list_dir(&self, dir: &Path) -> Result<Vec<String>, FsError> {
        self.run(Op::ListDir, dir, || {
            let mut names = Vec::new();
            for entry in std::fs::read_dir(dir)? {
                if let Ok(name) = entry?.file_name().into_string() {
                    names.push(name);
                }
            }
            Ok(names)
        })
    }

    /// Opens `path` for reading and appending, creating it if needed.
    pub(crate) fn open_append(&self, path: &Path) -> Result<File, FsError> {
        self.run(Op::Open, path, || {
            OpenOptions::new()
                .read(true)
                .append(true)
                .create(true)
                .open(path)
        })
    }

    /// Creates `path` for writing, emptying it if it exists.
    pub(crate) fn create(&self, path: &Path) -> Result<File, FsError> {
        self.run(Op::Open, path, || File::create(path))
    }

    pub(crate) fn open_read(&self, path: &Path) -> Result<File, FsError> {
        self.run(Op::Open, path, || File::open(path))
    }

    pub(crate) fn len(&self, file: &File, path: &Path) -> Result<u64, FsError> {
        self.run(Op::Read, path, || Ok(file.metadata()?.len()))
    }

    /// Reads up to `buf.len()` bytes at `offset`; returns how many were read.
    pub(crate) fn read_at(
        &self,
        file: &mut File,
        path: &Path,
        offset: u64,
        buf: &mut [u8],
    ) -> Result<usize, FsError> {
        self.run(Op::Read, path, || {
            file.seek(SeekFrom::Start(offset))?;
            let mut filled = 0;
            while filled < buf.len() {
                match file.read(&mut buf[filled..])? {
                    0 => break,
                    n => filled += n,
                }
            }
            Ok(filled)
        })
    }

    /// Reads into `buf`; returns how many bytes were read, 0 at the end of the file.
    pub(crate) fn read(
        &self,
        file: &mut File,
        path: &Path,
        buf: &mut [u8],
    ) -> Result<usize, FsError> {
        self.run(Op::Read, path, || {
            loop {
                match file.read(buf) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    other => return other,
                }
            }
        })
    }

    /// Writes all of `buf`; on error, some of it may have been written.
    pub(crate) fn write_all(&self, file: &mut File, path: &Path, buf: &[u8]) -> io::Result<()> {
        match self.before(Op::Write, path)? {
            None => file.write_all(buf),
            Some(stored) => {
                file.write_all(&buf[..stored.min(buf.len())])?;
                Err(io::Error::from(io::ErrorKind::StorageFull))
            }
        }
    }

    pub(crate) fn sync(&self, file: &File, path: &Path) -> Result<(), FsError> {
        self.run(Op::Sync, path, || file.sync_data())
    }

    pub(crate) fn set_len(&self, file: &File, path: &Path, len: u64) -> Result<(), FsError> {
        self.run(Op::Truncate, path, || file.set_len(len))
    }

    pub(crate) fn rename(&self, from: &Path, to: &Path) -> Result<(), FsError> {
        self.run(Op::Rename, from, || std::fs::rename(from, to))
    }

    pub(crate) fn remove(&self, path: &Path) -> Result<(), FsError> {
        self.run(Op::Remove, path, || std::fs::remove_file(path))
    }

    /// Makes the creation, renaming and removal of entries of `dir` durable.
    pub(crate) fn sync_dir(&self, dir: &Path) -> Result<(), FsError> {
        self.run(Op::Sync, dir, || {
            #[cfg(unix)]
            File::open(dir)?.sync_all()?;
            Ok(())
        })
    }
}

/// A writer that sends every write through [`Fs::write_all`], so that hooks see it.
pub(crate) struct FsWriter<'a> {
    pub(crate) fs: &'a Fs,
    pub(crate) file: &'a mut File,
    pub(crate) path: &'a Path,
}

impl Write for FsWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.fs.write_all(self.file, self.path, buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::Faults;

    #[test]
    fn errors_name_the_operation_and_the_path() {
        let e = FsError::new(
            Op::Write,
            Path::new("/archive/events.jsonl"),
            io::Error::from(io::ErrorKind::StorageFull),
        );
        assert!(e.to_string().starts_with("writing /archive/events.jsonl: "));
        assert!(e.is_full());
        assert!(!e.is_permission_denied());
        assert!(!e.is_unwritable(), "a full disk can be freed");
    }

    #[test]
    fn read_only_not_a_directory_and_permission_denied_are_unwritable() {
        for error in [
            io::Error::from(io::ErrorKind::ReadOnlyFilesystem),
            io::Error::from(io::ErrorKind::NotADirectory),
            io::Error::from(io::ErrorKind::PermissionDenied),
            io::Error::from_raw_os_error(30), // EROFS
            io::Error::from_raw_os_error(20), // ENOTDIR
            io::Error::from_raw_os_error(13), // EACCES
            io::Error::from_raw_os_error(1),  // EPERM
        ] {
            let e = FsError::new(Op::Open, Path::new("/archive/x"), error);
            assert!(e.is_unwritable(), "{e}");
        }
        let e = FsError::new(Op::Write, Path::new("/a"), io::Error::from_raw_os_error(28));
        assert!(e.is_full() && !e.is_unwritable(), "ENOSPC stays retryable");
    }

    #[test]
    fn a_file_in_place_of_the_directory_is_not_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("archive");
        std::fs::write(&file, b"").unwrap();
        let error = Fs::real().create_dir_all(&file).unwrap_err();
        assert_eq!(error.source.kind(), io::ErrorKind::NotADirectory);
        let error = Fs::real().create_dir_all(&file.join("below")).unwrap_err();
        assert!(error.is_unwritable(), "{error}");
    }

    #[test]
    fn a_partial_write_stores_the_first_bytes_then_reports_a_full_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let faults = Arc::new(Faults::default());
        faults.fail_write_partway("f", 3);
        let fs = Fs::with_hook(faults.clone());
        let mut file = fs.open_append(&path).unwrap();
        let error = fs.write_all(&mut file, &path, b"abcdef").unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::StorageFull);
        assert_eq!(std::fs::read(&path).unwrap(), b"abc");
        fs.write_all(&mut file, &path, b"gh").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"abcgh");
    }

    #[test]
    fn injected_failures_apply_to_matching_paths_only() {
        let dir = tempfile::tempdir().unwrap();
        let faults = Arc::new(Faults::default());
        faults.fail(Op::Open, "b.jsonl", io::ErrorKind::PermissionDenied, 1);
        let fs = Fs::with_hook(faults.clone());
        assert!(fs.open_append(&dir.path().join("a.jsonl")).is_ok());
        let error = fs.open_append(&dir.path().join("b.jsonl")).unwrap_err();
        assert!(error.is_permission_denied());
        assert!(
            fs.open_append(&dir.path().join("b.jsonl")).is_ok(),
            "only once"
        );
        assert_eq!(faults.count(Op::Open, ".jsonl"), 3);
    }
}
