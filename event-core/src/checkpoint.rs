//! What has been stored, so that a restart neither loses nor repeats an occurrence.
//!
//! The checkpoint has three parts, each of a size that does not grow with the cluster:
//!
//! - per watch source, the **resume point**: a resourceVersion before which every notification
//!   has been acknowledged;
//! - while a list is under way, its **settled prefix** ([`ListedUpTo`]): a list returns objects
//!   in key order (`namespace/name`), so "every object listed up to key K is stored, the newest
//!   of them at resourceVersion M" covers any number of them;
//! - per event, `uid → last exported resourceVersion` (and when it was last seen), only for the
//!   occurrences the two above do not cover (acknowledged ahead of the resume point), pruned once
//!   the event must have expired.
//!
//! On start the source first watches from the resume point, so every change since — each
//! intermediate count bump included — is replayed, and what was already stored is skipped.
//! Only when the API server answers 410 Gone (its history was compacted) does it relist, skipping
//! what the prefix covers; updates made during the downtime then arrive coalesced into the latest
//! state.
//!
//! The [`Ledger`] is the live, in-memory side; a [`CheckpointStore`] persists its snapshots
//! ([`FileCheckpointStore`] atomically: temp file, fsync, rename; [`ConfigMapCheckpointStore`]
//! for a leader-elected deployment).

mod configmap;
mod error;
mod file;
mod ledger;
mod probe;
mod state;
mod store;
mod uid;

pub use configmap::ConfigMapCheckpointStore;
pub use error::CheckpointError;
pub use file::FileCheckpointStore;
pub(crate) use ledger::Phase;
pub use ledger::{Ledger, LedgerConfig, Ticket};
pub use state::{Checkpoint, EncodedCheckpoint, ListedUpTo, SeenEvent};
pub use store::CheckpointStore;
pub(crate) use uid::Uid;
