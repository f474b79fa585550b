//! The start-up check of a [`FileCheckpointStore`](super::FileCheckpointStore): can its
//! directory take a file at all? A read-only volume would otherwise show only as save errors,
//! and an exit with nothing saved.

use std::io::{self, ErrorKind, Write};
use std::path::{Path, PathBuf};

use super::CheckpointError;

/// The directory a checkpoint file is saved in.
pub(super) fn directory_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    }
}

/// Creates the directory of `path` if missing, then creates, syncs and removes a probe file.
pub(super) fn check(path: &Path) -> Result<(), CheckpointError> {
    let dir = directory_of(path);
    let fail = |action: &'static str, source: io::Error| {
        if is_unwritable(&source) {
            CheckpointError::Unwritable {
                path: path.to_owned(),
                dir: directory_of(path),
                action,
                source,
            }
        } else {
            CheckpointError::Io {
                path: path.to_owned(),
                action,
                source,
            }
        }
    };
    if std::fs::metadata(path).is_ok_and(|m| m.is_dir()) {
        return Err(fail(
            "checking the checkpoint path",
            io::Error::from(ErrorKind::IsADirectory),
        ));
    }
    match std::fs::metadata(&dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(fail(
                "checking the directory",
                io::Error::from(ErrorKind::NotADirectory),
            ));
        }
        Err(_) => std::fs::create_dir_all(&dir).map_err(|e| fail("creating the directory", e))?,
    }
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(format!(".probe-{}", std::process::id()));
    let probe = dir.join(name);
    let written = (|| {
        let mut file = std::fs::File::create(&probe)?;
        file.write_all(b"probe")?;
        file.sync_all()
    })();
    let removed = std::fs::remove_file(&probe);
    written.map_err(|e| fail("creating a probe file in the directory", e))?;
    removed.map_err(|e| fail("removing the probe file", e))
}

/// Whether `error` means that the place can never be written, whatever is retried: a
/// read-only file system (`EROFS`), a path through a file (`ENOTDIR`), a directory where a
/// file should be, or missing permissions (`EACCES`, `EPERM`). A full disk is not: space can
/// be freed.
pub(crate) fn is_unwritable(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        ErrorKind::ReadOnlyFilesystem
            | ErrorKind::NotADirectory
            | ErrorKind::IsADirectory
            | ErrorKind::PermissionDenied
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_writable_directory_passes_and_keeps_no_probe() {
        let dir = tempfile::tempdir().unwrap();
        check(&dir.path().join("state/cp.json")).unwrap();
        let state = dir.path().join("state");
        assert!(state.is_dir(), "the missing directory is created");
        assert_eq!(std::fs::read_dir(&state).unwrap().count(), 0);
    }

    #[test]
    fn a_directory_that_is_a_file_is_unwritable_and_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("state"), b"").unwrap();
        let path = dir.path().join("state/cp.json");
        let error = check(&path).unwrap_err();
        assert!(error.is_unwritable(), "{error}");
        let text = error.to_string();
        assert!(text.contains(&path.display().to_string()), "{text}");
        assert!(text.contains("mount a writable volume"), "{text}");
    }

    #[test]
    fn a_checkpoint_path_that_is_a_directory_is_unwritable() {
        let dir = tempfile::tempdir().unwrap();
        let error = check(dir.path()).unwrap_err();
        assert!(error.is_unwritable(), "{error}");
    }

    #[test]
    fn read_only_not_a_directory_and_permission_denied_are_unwritable_but_a_full_disk_is_not() {
        for kind in [
            ErrorKind::ReadOnlyFilesystem,
            ErrorKind::NotADirectory,
            ErrorKind::PermissionDenied,
        ] {
            assert!(is_unwritable(&io::Error::from(kind)), "{kind:?}");
        }
        assert!(is_unwritable(&io::Error::from_raw_os_error(1)), "EPERM");
        assert!(!is_unwritable(&io::Error::from(ErrorKind::StorageFull)));
        assert!(!is_unwritable(&io::Error::from(ErrorKind::QuotaExceeded)));
    }
}
