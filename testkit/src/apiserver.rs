//! A simulated Kubernetes API server for end-to-end tests, benchmarks and demos.
//!
//! [`SimCluster`] serves Events over real HTTP on `127.0.0.1` to an unmodified kube-rs client,
//! matching kube-apiserver where Event Keeper depends on it:
//!
//! - **One store, two views.** Events are stored once in their core/v1 form and served as
//!   core/v1 or events.k8s.io/v1 by the apiserver's conversion, with the same uid and
//!   resourceVersion; both are written with Go's field order and `null`/omitted fields, byte
//!   for byte like the recorded fixtures.
//! - **Paths:** `/api/v1/events`, `/api/v1/namespaces/{ns}/events[/{name}]`, the same under
//!   `/apis/events.k8s.io/v1`, discovery (`/version`, `/api`, `/api/v1`, `/apis`,
//!   `/apis/{group}[/v1]`, legacy and aggregated), 404 with a Status body elsewhere.
//! - **Lists:** `limit`/`continue` over a consistent snapshot (410 Expired once the snapshot
//!   is compacted), `resourceVersion`+`resourceVersionMatch=Exact`, `remainingItemCount`.
//! - **Watches:** replay after `resourceVersion=N` from a bounded history (ERROR 410 "too old
//!   resource version" when `N` is older), synthetic ADDED without one, `timeoutSeconds`,
//!   BOOKMARKs, `sendInitialEvents=true` streaming lists.
//! - **A resourceVersion from the future** (a checkpoint older than an etcd restore): a watch
//!   from it answers 200 and stays silent until `timeoutSeconds`; a list at it waits
//!   [`too_large_wait`](SimConfig::too_large_wait) (3 s) and answers 504 `Timeout: Too large
//!   resource version`, as `fixtures/real-cluster/resource-version-too-large.md` recorded.
//! - **One global resourceVersion**; a deletion gets a new one, and a TTL sweep deletes all
//!   expired events at one shared resourceVersion.
//! - **Faults:** [`compact`](SimCluster::compact), [`force_watch_410`](SimCluster::force_watch_410),
//!   [`drop_connections`](SimCluster::drop_connections), [`stop`](SimCluster::stop) /
//!   [`restart`](SimCluster::restart) on the same port, [`set_unavailable`](SimCluster::set_unavailable).
//! - **Other objects:** core/v1 pods, nodes, namespaces, services, persistentvolumeclaims and
//!   configmaps, and coordination.k8s.io/v1 leases, with list/watch and GET, POST, PUT, PATCH
//!   (merge, strategic as merge, JSON patch, apply as merge) and DELETE, with resourceVersion
//!   preconditions answered 409 Conflict.
//!
//! # Differences from kube-apiserver
//!
//! No authentication, authorization, admission, validation or defaulting; no protobuf, no
//! gzip, no HTTP/2; `fieldSelector` covers `metadata.name`/`metadata.namespace` and the event
//! fields the real server indexes, `labelSelector` only its equality forms (set-based
//! selectors are ignored); selectors do not turn an update that leaves the selection into
//! DELETED; subresources (`/status`), `deletecollection`, server-side apply field
//! ownership and strategic-merge list semantics are absent; non-event objects are written
//! with sorted keys rather than Go's field order.

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod cluster;
mod config;
mod convert;
mod crud;
mod discovery;
mod http;
mod list;
mod model;
mod new_event;
mod object;
mod patch;
mod query;
mod refusal;
mod resource;
mod respond;
mod router;
mod select;
mod stamp;
mod state;
mod stats;
mod status;
mod store;
mod token;
mod watch;

pub use cluster::{SimCluster, SimError};
pub use config::SimConfig;
pub use new_event::{ApiGroup, EventRef, NewEvent};
pub use refusal::Refusal;
pub use stats::SimStats;
