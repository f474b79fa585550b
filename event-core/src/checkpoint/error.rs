//! Why a checkpoint could not be loaded or saved.

use std::path::PathBuf;

/// Why a checkpoint could not be loaded or saved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// Reading or writing the checkpoint failed (a full disk, missing permissions, ...).
    #[error(
        "checkpoint {path}: {action} failed: {source}; check that the directory exists, is writable and has free space"
    )]
    Io {
        /// The checkpoint file.
        path: PathBuf,
        /// What was being done: `read`, `write`, `fsync`, `rename`.
        action: &'static str,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The checkpoint's directory cannot be written at all: a read-only file system, a path
    /// through a file, missing permissions. Retrying cannot fix it.
    #[error(
        "checkpoint {path} cannot be saved: {action} failed: {source}; mount a writable volume at {dir} or point the checkpoint at a writable directory"
    )]
    Unwritable {
        /// The checkpoint file.
        path: PathBuf,
        /// Its directory.
        dir: PathBuf,
        /// What was being done, e.g. `creating a probe file in the directory`.
        action: &'static str,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file exists but is not a checkpoint this version can read.
    #[error(
        "checkpoint {path} is corrupt or truncated ({source}); nothing was overwritten. Move it aside to start over: the first run then relists and may resend events that are still in the cluster"
    )]
    Corrupt {
        /// The checkpoint file.
        path: PathBuf,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// The file was written by a newer Event Keeper.
    #[error(
        "checkpoint {path} has format version {found}, newer than the {supported} this build reads; run the newer version or move the file aside"
    )]
    UnsupportedVersion {
        /// The checkpoint file.
        path: PathBuf,
        /// The version found in the file.
        found: u32,
        /// The newest version this build reads.
        supported: u32,
    },
    /// A store other than a file failed (a ConfigMap, a database, ...).
    #[error("checkpoint store {store} failed: {message}")]
    Backend {
        /// Which store.
        store: String,
        /// What failed and what to do.
        message: String,
        /// The underlying error.
        #[source]
        source: Option<crate::BoxError>,
    },
}

impl CheckpointError {
    /// Whether retrying cannot help: the checkpoint cannot be written where it is configured.
    pub fn is_unwritable(&self) -> bool {
        matches!(self, CheckpointError::Unwritable { .. })
    }
}
