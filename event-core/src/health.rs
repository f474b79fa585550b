//! Liveness, readiness and metrics, for `/healthz`, `/readyz` and `/metrics`.
//!
//! - **Liveness** (`/healthz`): 200 while the runtime answers requests at all.
//! - **Readiness** (`/readyz`): every watch scope established and making progress. A scope
//!   records its state in the [`Health`] it was given (by a [`Keeper`](crate::Keeper)): established once a list completed
//!   or a resumed watch connected, failing from its first error until its next successful
//!   (re)connect, unready once it has been failing for longer than `stall_after`. kube-rs's
//!   watcher swallows bookmarks and re-watches silently, so silence is never taken for a stall:
//!   only errors without a successful reconnect are. A sink whose sends, or a checkpoint store
//!   whose saves, keep failing for longer than `stall_after` is unready too, named with the time
//!   its failures began (the pipeline reports both). Shutting down is unready too.
//! - **Metrics** (`/metrics`): [`Metrics::render_prometheus`].
//!
//! [`HealthState`] computes the answers; `serve` (cargo feature `http`, off by default)
//! serves them on one port with axum:
//!
//! ```toml
//! [dependencies]
//! event-core = { version = "0.1", features = ["http"] }
//! ```
//!
//! | setting | default | meaning |
//! |---|---|---|
//! | [`stall_after`](HealthState::stall_after) | 60 s ([`DEFAULT_STALL_AFTER`]) | how long a watch scope, a sink or the checkpoint store may keep failing before the process is unready |

mod readiness;
#[cfg(feature = "http")]
mod server;
mod writers;

use std::time::Duration;

pub use readiness::{Health, Readiness, ScopeReadiness, ScopeStatus};
#[cfg(feature = "http")]
pub use server::{HealthError, HealthServer, serve};
pub use writers::{WriterReadiness, WriterStatus};

use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;

/// How long a watch scope, a sink or the checkpoint store may keep failing before the process
/// is unready: long enough to ride out an API server rollout (client-go's watch backoff reaches
/// 30 s) or a throttled sink, short enough that a broken watch or destination is noticed within
/// a couple of probe periods.
pub const DEFAULT_STALL_AFTER: Duration = Duration::from_secs(60);

/// What the health endpoints answer from: the process's [`Health`] and [`Metrics`] (the handles
/// a [`Keeper`](crate::Keeper) counts into) and the readiness settings. Cheap to clone.
///
/// ```
/// use std::time::Duration;
/// use event_core::health::{Health, HealthState};
/// use event_core::metrics::Metrics;
///
/// let health = Health::default();
/// let state = HealthState::new(health.clone(), Metrics::default())
///     .stall_after(Duration::from_secs(30));
/// health.register("events@*");
/// assert!(!state.readiness().is_ready());
/// health.established("events@*");
/// assert!(state.readiness().is_ready());
/// ```
///
/// With the `http` feature, `health::serve` answers from it over HTTP.
#[derive(Clone, Debug)]
pub struct HealthState {
    health: Health,
    metrics: Metrics,
    stall_after: Duration,
    draining: Option<CancellationToken>,
}

impl HealthState {
    /// Answers from `health` and `metrics`, the handles the stream and the pipeline report to.
    pub fn new(health: Health, metrics: Metrics) -> Self {
        HealthState {
            health,
            metrics,
            stall_after: DEFAULT_STALL_AFTER,
            draining: None,
        }
    }

    /// Sets how long a scope, a sink or the checkpoint store may keep failing before the
    /// process is unready (default [`DEFAULT_STALL_AFTER`]).
    #[must_use]
    pub fn stall_after(mut self, stall_after: Duration) -> Self {
        self.stall_after = stall_after;
        self
    }

    /// Reports the process as shutting down (unready) once `token` is cancelled: pass the
    /// pipeline's shutdown token, and stop the server itself with another one once the
    /// pipeline has drained. [`Health::set_shutting_down`] does the same without a token.
    #[must_use]
    pub fn shutting_down_on(mut self, token: CancellationToken) -> Self {
        self.draining = Some(token);
        self
    }

    /// The readiness of every watch scope now.
    pub fn readiness(&self) -> Readiness {
        let mut readiness = self.health.readiness(self.stall_after);
        if self
            .draining
            .as_ref()
            .is_some_and(CancellationToken::is_cancelled)
        {
            readiness.shutting_down = true;
        }
        readiness
    }

    /// The readiness every scope, sink and checkpoint store reports to.
    pub fn health(&self) -> &Health {
        &self.health
    }

    /// The metrics answered on `/metrics`.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }
}
