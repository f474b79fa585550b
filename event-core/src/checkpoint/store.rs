//! Where checkpoints are kept: the [`CheckpointStore`] trait. The stores this crate brings are
//! [`FileCheckpointStore`](super::FileCheckpointStore) and
//! [`ConfigMapCheckpointStore`](super::ConfigMapCheckpointStore).

use async_trait::async_trait;

use super::{Checkpoint, CheckpointError, EncodedCheckpoint};

/// Persists checkpoints. Implement it to keep the checkpoint somewhere other than a file.
///
/// `save` must be atomic: after a crash, `load` returns either the previous or the new
/// checkpoint, never a mix.
#[async_trait]
pub trait CheckpointStore: Send + Sync {
    /// Loads the last saved checkpoint, or `None` when there is none yet.
    ///
    /// # Errors
    ///
    /// [`CheckpointError`] when the checkpoint exists but cannot be read or parsed.
    async fn load(&self) -> Result<Option<Checkpoint>, CheckpointError>;

    /// Saves a checkpoint, replacing the previous one atomically.
    ///
    /// It comes as its JSON, written straight from the pipeline's state; a store that keeps
    /// text writes its [bytes](EncodedCheckpoint::as_bytes) as they are, one that wants the fields
    /// [`decode`](EncodedCheckpoint::decode)s it. [`Checkpoint::encode`] makes one from a
    /// [`Checkpoint`].
    ///
    /// # Errors
    ///
    /// [`CheckpointError`] when it could not be written; the previous checkpoint stays intact.
    async fn save(&self, checkpoint: EncodedCheckpoint) -> Result<(), CheckpointError>;
}
