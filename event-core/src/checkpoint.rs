//! What has been stored, so that a restart neither loses nor repeats an occurrence.
//!
//! The checkpoint has two parts:
//!
//! - per event, `uid → last exported resourceVersion` (and when it was last seen), recorded only
//!   after every sink acknowledged the occurrence, and pruned once the event must have expired;
//! - per watch source, the **resume point**: a resourceVersion before which every notification
//!   has been acknowledged.
//!
//! On start the source first watches from the resume point, so every change since — each
//! intermediate count bump included — is replayed, and the per-uid part skips what was already
//! stored. Only when the API server answers 410 Gone (its history was compacted) does it relist,
//! and then updates made during the downtime arrive coalesced into the latest state.
//!
//! The [`Ledger`] is the live, in-memory side; a [`CheckpointStore`] persists its snapshots
//! ([`FileCheckpointStore`] atomically: temp file, fsync, rename).

mod configmap;
mod ledger;
mod probe;
mod state;
mod store;
mod uid;

pub use configmap::ConfigMapCheckpointStore;
pub(crate) use ledger::Phase;
pub use ledger::{Ledger, LedgerConfig, Ticket};
pub use state::{Checkpoint, EncodedCheckpoint, ListedUpTo, SeenEvent};
pub use store::{CheckpointError, CheckpointStore, FileCheckpointStore};
pub(crate) use uid::Uid;
