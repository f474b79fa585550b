//! Gzip of closed files, never at the cost of the original.
//!
//! The compressed copy is written under a temporary name (`….jsonl.gz.tmp`, which readers
//! ignore), synced, renamed into place and the rename synced; only then is the original removed.
//! A failure at any step leaves the original as it was. A crash between the rename and the
//! removal leaves both files: readers then read the original, and the sink removes the copy at
//! its next start and compresses again.

use std::path::Path;

use flate2::Compression;
use flate2::write::GzEncoder;
use std::io::Write;

use crate::fs::{Fs, FsError, FsWriter, Op};
use crate::naming::ArchiveName;

const CHUNK: usize = 64 * 1024;

/// Compresses the closed file `name` in `dir` into its `.jsonl.gz` form and removes the
/// original; returns the compressed name.
pub(crate) fn compress(fs: &Fs, dir: &Path, name: &ArchiveName) -> Result<ArchiveName, FsError> {
    let plain = dir.join(name.to_plain().to_string());
    let compressed = name.to_compressed();
    let target = dir.join(compressed.to_string());
    let temp = dir.join(name.temp_compressed());
    let written = write_compressed(fs, &plain, &temp).and_then(|()| fs.rename(&temp, &target));
    if let Err(error) = written {
        discard(fs, &temp);
        return Err(error);
    }
    fs.sync_dir(dir)?;
    fs.remove(&plain)?;
    fs.sync_dir(dir)?;
    Ok(compressed)
}

/// Streams `plain` through gzip into `temp` and syncs it.
fn write_compressed(fs: &Fs, plain: &Path, temp: &Path) -> Result<(), FsError> {
    let mut source = fs.open_read(plain)?;
    let mut out = fs.create(temp)?;
    let writer = FsWriter {
        fs,
        file: &mut out,
        path: temp,
    };
    let mut encoder = GzEncoder::new(writer, Compression::default());
    let mut buf = vec![0u8; CHUNK];
    loop {
        let read = fs.read(&mut source, plain, &mut buf)?;
        if read == 0 {
            break;
        }
        encoder
            .write_all(&buf[..read])
            .map_err(|e| FsError::new(Op::Write, temp, e))?;
    }
    encoder
        .finish()
        .map_err(|e| FsError::new(Op::Write, temp, e))?;
    fs.sync(&out, temp)
}

/// Removes a temporary file after a failed compression. A failure here is only logged: the
/// compression's own error is the one returned, and the next start removes the file.
fn discard(fs: &Fs, temp: &Path) {
    if let Err(error) = fs.remove(temp)
        && error.source.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(
            sink = "file",
            path = %temp.display(),
            error = %error,
            "could not remove a partial compressed file; it is removed at the next start"
        );
    }
}

#[cfg(test)]
mod tests {
    use std::io::{self, Read};
    use std::sync::Arc;

    use flate2::read::MultiGzDecoder;
    use jiff::Timestamp;

    use super::*;
    use crate::testutil::Faults;

    fn setup() -> (tempfile::TempDir, ArchiveName, Vec<u8>) {
        let dir = tempfile::tempdir().unwrap();
        let start: Timestamp = "2026-11-24T10:00:00Z".parse().unwrap();
        let name = ArchiveName::new("events", start, 1);
        let content: Vec<u8> = (0..2_000)
            .flat_map(|i| format!("{{\"uid\":\"u{i}\"}}\n").into_bytes())
            .collect();
        std::fs::write(dir.path().join(name.to_string()), &content).unwrap();
        (dir, name, content)
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn compresses_a_closed_file_and_removes_the_original() {
        let (dir, name, content) = setup();
        let compressed = compress(&Fs::real(), dir.path(), &name).unwrap();
        assert_eq!(entries(dir.path()), [compressed.to_string()]);
        let mut unzipped = Vec::new();
        MultiGzDecoder::new(std::fs::File::open(dir.path().join(compressed.to_string())).unwrap())
            .read_to_end(&mut unzipped)
            .unwrap();
        assert_eq!(unzipped, content);
    }

    #[test]
    fn a_failed_write_keeps_the_original_and_leaves_no_partial_file() {
        let (dir, name, content) = setup();
        let faults = Arc::new(Faults::default());
        faults.fail(Op::Write, ".gz.tmp", io::ErrorKind::StorageFull, 1);
        let error = compress(&Fs::with_hook(faults), dir.path(), &name).unwrap_err();
        assert!(error.is_full());
        assert_eq!(entries(dir.path()), [name.to_string()]);
        assert_eq!(
            std::fs::read(dir.path().join(name.to_string())).unwrap(),
            content
        );
    }

    #[test]
    fn a_failed_sync_or_rename_keeps_the_original() {
        for op in [Op::Sync, Op::Rename] {
            let (dir, name, content) = setup();
            let faults = Arc::new(Faults::default());
            faults.fail(op, ".gz.tmp", io::ErrorKind::Other, 1);
            let error = compress(&Fs::with_hook(faults), dir.path(), &name).unwrap_err();
            assert_eq!(error.op, op);
            assert_eq!(entries(dir.path()), [name.to_string()], "{op}");
            assert_eq!(
                std::fs::read(dir.path().join(name.to_string())).unwrap(),
                content
            );
        }
    }

    #[test]
    fn a_failed_removal_of_the_original_leaves_both_and_a_retry_finishes() {
        let (dir, name, _) = setup();
        let faults = Arc::new(Faults::default());
        faults.fail(Op::Remove, ".0001.jsonl", io::ErrorKind::Other, 1);
        let fs = Fs::with_hook(faults);
        assert_eq!(compress(&fs, dir.path(), &name).unwrap_err().op, Op::Remove);
        assert_eq!(
            entries(dir.path()),
            [name.to_string(), name.to_compressed().to_string()]
        );
        compress(&fs, dir.path(), &name).unwrap();
        assert_eq!(entries(dir.path()), [name.to_compressed().to_string()]);
    }

    #[test]
    fn a_missing_original_is_an_error_not_an_empty_archive_file() {
        let (dir, name, _) = setup();
        std::fs::remove_file(dir.path().join(name.to_string())).unwrap();
        let error = compress(&Fs::real(), dir.path(), &name).unwrap_err();
        assert_eq!(error.op, Op::Open);
        assert!(entries(dir.path()).is_empty());
    }
}
