//! [`EventStream`]: every occurrence of every Event, resumed from the checkpoint.
//!
//! A source watches one Events API (`events.k8s.io/v1` by default, `core/v1` on request or when
//! the server lacks the new API; never both, since they are two views of the same objects) for
//! all namespaces or for a set of them. Each scope runs in two steps:
//!
//! 1. **Resume.** With a resume point in the [`Ledger`](crate::checkpoint::Ledger), watch from it directly through `Api`
//!    (kube-rs's watcher cannot start from a saved resourceVersion): the server replays every
//!    change since, and the ledger skips what was already exported. Timeouts and connection
//!    errors re-watch from the last seen resourceVersion, with jittered backoff.
//! 2. **List and watch.** Without a resume point, or when the server answers 410 Gone because
//!    its history was compacted, hand over to kube-rs's [`watcher`](kube::runtime::watcher()),
//!    which lists, watches, relists on 410 and backs off on errors. Listed events the ledger
//!    already holds are skipped; events that changed in the gap arrive once, in their latest
//!    state (counted as coalesced and logged).
//!
//! Every ADDED and MODIFIED notification with a new resourceVersion is an occurrence; DELETED
//! (TTL expiry) is not exported but lets the checkpoint forget the event.

mod kind;
mod relist;
mod resume;
mod scope;
mod stream;

pub use kind::WatchedKind;
pub use stream::{ApiChoice, EventStream, EventStreamConfig, WatchError};
