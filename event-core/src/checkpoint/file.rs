//! [`FileCheckpointStore`]: the checkpoint in one JSON file, replaced atomically.

use std::io::Write;
use std::path::{Path, PathBuf};

use async_trait::async_trait;

use super::probe::directory_of;
use super::state::FORMAT_VERSION;
use super::{Checkpoint, CheckpointError, CheckpointStore, EncodedCheckpoint};

/// A checkpoint in one JSON file, replaced atomically: write a temp file beside it, fsync it,
/// rename it over the old one, fsync the directory.
///
/// ```no_run
/// # async fn demo() -> Result<(), event_core::checkpoint::CheckpointError> {
/// use event_core::checkpoint::{CheckpointStore, FileCheckpointStore};
///
/// let store = FileCheckpointStore::new("/var/lib/event-keeper/checkpoint.json");
/// let last = store.load().await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct FileCheckpointStore {
    path: PathBuf,
}

impl FileCheckpointStore {
    /// A store at `path`; the file is created on the first save.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileCheckpointStore { path: path.into() }
    }

    /// The checkpoint file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Checks, before anything is exported, that checkpoints can be saved: creates the
    /// directory if it is missing, then creates, syncs and removes a probe file in it.
    ///
    /// # Errors
    ///
    /// [`CheckpointError::Unwritable`] when they never can (read-only file system, a path
    /// through a file, the checkpoint path a directory, permission denied): stop and say so.
    /// [`CheckpointError::Io`] for anything else (a full disk): saves are retried, so the
    /// caller may go on.
    pub async fn check_writable(&self) -> Result<(), CheckpointError> {
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || super::probe::check(&path))
            .await
            .map_err(|join| CheckpointError::Io {
                path: self.path.clone(),
                action: "probe",
                source: std::io::Error::other(join),
            })?
    }
}

#[async_trait]
impl CheckpointStore for FileCheckpointStore {
    async fn load(&self) -> Result<Option<Checkpoint>, CheckpointError> {
        let path = self.path.clone();
        let bytes = match tokio::fs::read(&path).await {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(CheckpointError::Io {
                    path,
                    action: "read",
                    source,
                });
            }
        };
        parse(&path, &bytes).map(Some)
    }

    async fn save(&self, checkpoint: EncodedCheckpoint) -> Result<(), CheckpointError> {
        self.write(checkpoint.into_bytes()).await
    }
}

impl FileCheckpointStore {
    async fn write(&self, bytes: Vec<u8>) -> Result<(), CheckpointError> {
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || write_atomically(&path, &bytes))
            .await
            .map_err(|join| CheckpointError::Io {
                path: self.path.clone(),
                action: "write",
                source: std::io::Error::other(join),
            })?
    }
}

fn parse(path: &Path, bytes: &[u8]) -> Result<Checkpoint, CheckpointError> {
    // Read the version first so that a newer format is reported as such, not as corruption.
    #[derive(serde::Deserialize)]
    struct VersionOnly {
        version: u32,
    }
    if let Ok(v) = serde_json::from_slice::<VersionOnly>(bytes)
        && v.version > FORMAT_VERSION
    {
        return Err(CheckpointError::UnsupportedVersion {
            path: path.to_owned(),
            found: v.version,
            supported: FORMAT_VERSION,
        });
    }
    serde_json::from_slice(bytes).map_err(|source| CheckpointError::Corrupt {
        path: path.to_owned(),
        source,
    })
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), CheckpointError> {
    let io = |action: &'static str| {
        let path = path.to_owned();
        move |source| CheckpointError::Io {
            path,
            action,
            source,
        }
    };
    let dir = directory_of(path);
    let mut tmp_name = path.file_name().unwrap_or_default().to_owned();
    tmp_name.push(".tmp");
    let tmp = dir.join(tmp_name);
    let result = (|| {
        let mut file = std::fs::File::create(&tmp).map_err(io("write"))?;
        file.write_all(bytes).map_err(io("write"))?;
        file.sync_all().map_err(io("fsync"))?;
        std::fs::rename(&tmp, path).map_err(io("rename"))?;
        // The rename is durable only once the directory entry is.
        if let Ok(d) = std::fs::File::open(&dir) {
            d.sync_all().map_err(io("fsync"))?;
        }
        Ok(())
    })();
    if result.is_err() {
        // A half-written temp file would waste the space a retry needs.
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::SeenEvent;

    fn sample() -> Checkpoint {
        let mut cp = Checkpoint::empty();
        cp.resume.insert("events@*".into(), 77);
        cp.events.insert(
            "u".into(),
            SeenEvent {
                resource_version: 70,
                last_seen: 5,
            },
        );
        cp
    }

    #[tokio::test]
    async fn missing_file_loads_as_none() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileCheckpointStore::new(dir.path().join("cp.json"));
        assert!(store.load().await.unwrap().is_none());
    }

    #[tokio::test]
    async fn saves_and_loads_back_leaving_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileCheckpointStore::new(dir.path().join("cp.json"));
        let cp = sample();
        store.save(cp.encode()).await.unwrap();
        assert_eq!(store.load().await.unwrap(), Some(cp));
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("cp.json")]);
    }

    #[tokio::test]
    async fn an_encoded_checkpoint_is_written_as_it_is_and_loads_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileCheckpointStore::new(dir.path().join("cp.json"));
        let cp = sample();
        let encoded = cp.encode();
        let text = encoded.as_bytes().to_vec();
        store.save(encoded).await.unwrap();
        assert_eq!(std::fs::read(store.path()).unwrap(), text);
        assert_eq!(store.load().await.unwrap(), Some(cp));
    }

    #[tokio::test]
    async fn truncated_file_is_reported_as_corrupt_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cp.json");
        let full = serde_json::to_vec(&sample()).unwrap();
        std::fs::write(&path, &full[..full.len() / 2]).unwrap();
        let err = FileCheckpointStore::new(&path).load().await.unwrap_err();
        assert!(matches!(err, CheckpointError::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains("Move it aside"));
        assert_eq!(std::fs::read(&path).unwrap(), &full[..full.len() / 2]);
    }

    #[tokio::test]
    async fn newer_format_is_refused_by_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cp.json");
        std::fs::write(&path, r#"{"version":99,"anything":true}"#).unwrap();
        let err = FileCheckpointStore::new(&path).load().await.unwrap_err();
        assert!(matches!(
            err,
            CheckpointError::UnsupportedVersion { found: 99, .. }
        ));
    }

    #[tokio::test]
    async fn failed_save_keeps_the_previous_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cp.json");
        let store = FileCheckpointStore::new(&path);
        let cp = sample();
        store.save(cp.encode()).await.unwrap();
        // A directory where the temp file should go makes the write fail.
        std::fs::create_dir(dir.path().join("cp.json.tmp")).unwrap();
        let mut newer = cp.clone();
        newer.resume.insert("events@*".into(), 99);
        assert!(store.save(newer.encode()).await.is_err());
        assert_eq!(store.load().await.unwrap(), Some(cp));
    }
}
