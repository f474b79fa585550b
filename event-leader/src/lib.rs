//! Leader election on a `coordination.k8s.io/v1` Lease, so that one replica of a controller (in
//! Event Keeper: the exporter) does the work at a time, and a standby takes over when it stops.
//!
//! ```no_run
//! use event_leader::{LeaderElectionConfig, LeaderElector};
//! use tokio_util::sync::CancellationToken;
//!
//! # async fn demo(client: kube::Client) -> Result<(), event_leader::LeaderError> {
//! // Cancelled on SIGTERM by the application.
//! let shutdown = CancellationToken::new();
//! let elector = LeaderElector::new(client, LeaderElectionConfig::new("event-keeper"))?;
//! // Waits as a standby until this replica holds the Lease.
//! let leadership = elector.acquire(&shutdown).await?;
//!
//! // Do the work until shutdown, or until the leadership is lost.
//! let stop = shutdown.child_token();
//! let lost = leadership.lost();
//! let trigger = stop.clone();
//! tokio::spawn(async move {
//!     lost.cancelled().await;
//!     trigger.cancel();
//! });
//! // pipeline.run(stop).await?;
//! stop.cancelled().await;
//!
//! // Hands the Lease to a standby at once instead of letting it expire.
//! leadership.release().await?;
//! # Ok(()) }
//! ```
//!
//! # How
//!
//! kube-rs has no leader election of its own (kube-runtime 5 ships none), and the crates that
//! offer one are built on older kube releases or judge expiry by comparing timestamps written
//! by other nodes. This crate follows client-go's `leaderelection` package instead:
//!
//! - A candidate reads the Lease every `retry_period` (with jitter). It takes the Lease when
//!   nobody holds it (`holderIdentity` empty: released or never held), or when the holder has
//!   not renewed it for `leaseDurationSeconds` **as measured on the candidate's own clock from
//!   the moment it saw the Lease change** (client-go's `observedTime`). `renewTime` is written
//!   for people, never trusted for expiry, so clock skew between nodes does not matter.
//! - Every write is a replace carrying the `resourceVersion` last read, so two candidates can
//!   never both win: the API server answers the slower one 409 Conflict. A takeover increments
//!   `leaseTransitions` and sets `acquireTime`.
//! - The leader renews every `retry_period`. If no renewal succeeds within `renew_deadline` of
//!   the last successful one (API errors, timeouts), or it sees another holder, it declares the
//!   leadership lost: [`Leadership::lost`] is cancelled.
//! - [`Leadership::release`], on graceful shutdown, clears `holderIdentity` (client-go's
//!   `ReleaseOnCancel`), so the standby takes over at its next poll instead of waiting for the
//!   Lease to expire.
//!
//! # Why the old leader stops before the new one starts
//!
//! The deadline counts from when the last successful renewal was **sent**. The API server
//! stored it after that, and a standby observed it later still; the standby then waits a whole
//! `lease_duration` on its own clock before it takes over. So the leader gives up at the latest
//! `renew_deadline` after its last renewal, while a standby starts at the earliest
//! `lease_duration` after it. Validation insists on `renew_deadline < lease_duration`; the
//! difference (5 s with the defaults) is the time the caller has, once `lost()` fires, to stop
//! exporting. Stop the pipeline without draining when leadership is lost: the new leader
//! resends whatever was not acknowledged, from the checkpoint.
//!
//! Two live candidates must not share an identity, and the Lease must not be deleted while they
//! run (a candidate that finds no Lease creates one and leads at once).
//!
//! # RBAC
//!
//! `get` and `update` on the Lease (`resourceNames` may name it), and `create` on leases in its
//! namespace (a create cannot be limited by name). A 403 is reported as
//! [`LeaderError::Forbidden`], naming the rule.

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod config;
mod elector;
mod error;
mod leadership;
mod lock;
mod record;

pub use config::LeaderElectionConfig;
pub use elector::LeaderElector;
pub use error::LeaderError;
pub use leadership::{Leadership, RELEASE_TIMEOUT};
