//! [`EventStream`]: every occurrence of every Event, resumed from the checkpoint.
//!
//! A source watches one Events API (`events.k8s.io/v1` by default, `core/v1` on request or when
//! the server lacks the new API; never both, since they are two views of the same objects) for
//! all namespaces or for a set of them. Each scope runs in two steps:
//!
//! 1. **Resume.** With a resume point in the [`Ledger`](crate::checkpoint::Ledger), first
//!    check that the cluster has reached it, with a quorum list of one item (the one extra
//!    request per scope at start). A point ahead of the cluster (an etcd restore, a checkpoint
//!    from another cluster, a hand edit: a real server would answer the watch with silence) is
//!    warned about, counted in `event_keeper_checkpoint_ahead_total` and replaced by a relist
//!    from scratch. Otherwise watch from it directly through `Api`
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
//!
//! Objects are decoded one at a time ([`Lenient`]): one the client cannot decode (a time past
//! what k8s-openapi holds, a field of the wrong JSON type) is skipped and reported
//! ([`WatchError::Undecodable`], counted as malformed), its resourceVersion still moving the
//! resume point, while the list or the watch it came in goes on. Events are read as
//! [`CoreV1Event`] or [`EventsV1Event`]: only the fields an occurrence is made of, in one pass
//! over each object's JSON.
//!
//! # Object changes
//!
//! With [`objects`](EventStreamConfig::objects) set, the source also watches pods, nodes,
//! namespaces, services or persistentvolumeclaims, one scope per kind (per namespace for a
//! namespaced kind when `namespaces` is set) with its own resume point (`pods@*`,
//! `pods@payments`, `nodes`), the same two steps and the same ledger. Each ADDED, MODIFIED and
//! DELETED is an occurrence, normalized by [`Event::from_object_change`](crate::Event::from_object_change);
//! a deletion has its own resourceVersion and is exported as `Deleted`. A list (and kube-rs's
//! watcher, which does not tell the two apart) reports an object as `Modified` when this run
//! has seen its uid or the ledger holds an exported occurrence of it, else as `Added`. An object
//! this run had seen that a relist after a 410 gap no longer shows was deleted in the gap: it is
//! exported once as `Deleted` (see [`change`](crate::event::change)) and counted in
//! `event_keeper_objects_deleted_in_gap_total`. One deleted while the process was down, before
//! this run saw it, is not reported: nothing remembers it. The selectors apply to Events only.
//!
//! # Readiness
//!
//! Each scope records in the [`Health`](crate::health::Health) it was given when it is
//! established (a list completed or a resumed watch connected), when it fails, and when the API
//! server answers it again; see [`health`](crate::health).

mod ahead;
mod answered;
mod config;
mod error;
mod event_object;
mod kind;
mod known;
mod lenient;
mod relist;
mod resume;
mod scope;
mod stream;
mod unmanaged;

// The one-pass decode: not API, reached through `crate::internals` by the benches and tests
// that measure and check it.
pub use config::{ApiChoice, EventStreamConfig};
pub use error::WatchError;
#[doc(hidden)]
pub use event_object::{CoreV1Event, EventsV1Event};
pub use kind::ObjectKind;
pub use lenient::DecodeError;
#[doc(hidden)]
pub use lenient::{Lenient, LenientDecode};
pub use stream::EventStream;
