//! [`run`]: the exporter process, from the Kubernetes client to a graceful exit, with or without
//! leader election.

use std::sync::Arc;

use event_core::checkpoint::CheckpointError;
use event_core::health::{self, Health, HealthError, HealthState};
use event_core::metrics::Metrics;
use event_core::pipeline::shutdown_on_signals;
use event_core::{BoxError, PipelineError, WatchError};
use event_leader::{LeaderElectionConfig, LeaderElector, LeaderError};
use tokio_util::sync::CancellationToken;

use super::settings::Settings;
use super::startup::{self, StartupError};
use super::term::{self, Context, TermEnd};

/// The readiness scope of a replica waiting for the Lease. It is always ready: a standby that
/// reported unready would stall every rollout while another replica exports.
pub const STANDBY_SCOPE: &str = "leader-election";

/// Why the exporter stopped with an error. A restart resumes from the checkpoint.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// No Kubernetes client could be built.
    #[error(
        "cannot configure the Kubernetes client{}: {source}; run in a pod with a service account, or point KUBECONFIG at a kubeconfig",
        kubeconfig.as_ref().map(|k| format!(" from KUBECONFIG={k}")).unwrap_or_default()
    )]
    Kube {
        /// The `KUBECONFIG` variable, when set.
        kubeconfig: Option<String>,
        /// The client's error.
        #[source]
        source: kube::Error,
    },
    /// The health and metrics server could not start, or failed.
    #[error(transparent)]
    Health(#[from] HealthError),
    /// Leader election failed in a way retrying cannot fix (RBAC, identity).
    #[error(transparent)]
    Leader(#[from] LeaderError),
    /// The checkpoint could not be loaded.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// The watch could not start.
    #[error(transparent)]
    Watch(#[from] WatchError),
    /// The API server refused the start for a reason a restart does not fix (credentials,
    /// RBAC, the `source` settings).
    #[error(transparent)]
    Startup(#[from] StartupError),
    /// A sink could not be built, or its health check failed for good.
    #[error("sink {sink} cannot start: {source}")]
    Sink {
        /// The sink's name.
        sink: String,
        /// Why.
        #[source]
        source: BoxError,
    },
    /// A filter did not compile (validation compiles them first, so this means a bug).
    #[error("the filter does not compile: {0}")]
    Filter(#[source] BoxError),
    /// The pipeline stopped with an error, e.g. a sink failed fatally.
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    /// The pipeline drained, but its final checkpoint save failed: the next start resends
    /// what was exported since the last save.
    #[error(
        "the final checkpoint save failed: {error}; the next start resends every event exported since the last successful save: make the checkpoint writable"
    )]
    CheckpointNotSaved {
        /// The error of the last save.
        error: String,
    },
    /// The pipeline stopped although no shutdown was requested.
    #[error(
        "the event stream ended although no shutdown was requested; restart the process, it resumes from the checkpoint"
    )]
    Ended,
    /// The pipeline task panicked.
    #[error("the pipeline task panicked: {0}; restart the process, it resumes from the checkpoint")]
    Panicked(String),
}

/// Runs the exporter until SIGTERM or Ctrl-C, then drains, saves the checkpoint, releases the
/// Lease and returns.
///
/// # Errors
///
/// [`RunError`] when something fails that a restart must fix; it is logged once, on one line,
/// before this returns.
///
/// ```no_run
/// # async fn demo(settings: examples::exporter::Settings) -> Result<(), examples::exporter::RunError> {
/// examples::exporter::run(settings).await
/// # }
/// ```
pub async fn run(settings: Settings) -> Result<(), RunError> {
    run_until(settings, shutdown_on_signals()).await
}

/// Like [`run`], until `shutdown` is cancelled.
///
/// Serves `/healthz`, `/readyz` and `/metrics` on `server.listen` the whole time. First it
/// waits for the API server to answer discovery and a first list (unready meanwhile, retrying
/// with backoff; see [`API_SCOPE`](super::API_SCOPE)). Without leader election it then
/// exports. With it, it stands by (ready, `event_keeper_leader 0`) until it holds the Lease,
/// then loads the checkpoint and exports; when the leadership is lost it stops the pipeline at
/// once and stands by again; on shutdown it drains the pipeline, saves the checkpoint, then
/// releases the Lease so that a standby takes over at once.
///
/// # Errors
///
/// As [`run`].
pub async fn run_until(settings: Settings, shutdown: CancellationToken) -> Result<(), RunError> {
    tracing::info!(config = %settings.summary(), "starting");
    let outcome = serve_and_export(settings, shutdown).await;
    // The one place a fatal error is told: every path above returns it here.
    match &outcome {
        Ok(()) => tracing::info!("stopped"),
        Err(error) => tracing::error!(error = %one_line(error), "stopped with an error"),
    }
    outcome
}

async fn serve_and_export(
    mut settings: Settings,
    shutdown: CancellationToken,
) -> Result<(), RunError> {
    let metrics = Metrics::default();
    let health = Health::default();
    let client = kube::Client::try_default()
        .await
        .map_err(|source| RunError::Kube {
            kubeconfig: std::env::var_os("KUBECONFIG")
                .filter(|k| !k.is_empty())
                .map(|k| k.to_string_lossy().into_owned()),
            source,
        })?;
    let stop_server = CancellationToken::new();
    let state = HealthState::new(health.clone(), metrics.clone())
        .stall_after(settings.server.stall_after)
        .shutting_down_on(shutdown.clone());
    let server = health::serve(settings.server.listen, state, stop_server.clone()).await?;
    let reporting = (&metrics, &health);
    let outcome = match startup::wait_for_api(&client, &settings.source, reporting, &shutdown).await
    {
        Ok(Some(source)) => {
            settings.source = source;
            let ctx = Context {
                client,
                settings: Arc::new(settings),
                metrics,
                health,
            };
            match ctx.settings.leader_election.clone() {
                None => alone(&ctx, &shutdown).await,
                Some(config) => replicated(&ctx, config, &shutdown).await,
            }
        }
        // Shut down while waiting for the API server: nothing was exported, nothing to save.
        Ok(None) => Ok(()),
        Err(error) => Err(error.into()),
    };
    stop_server.cancel();
    let served = server.wait().await;
    outcome?;
    Ok(served?)
}

/// `error` and its causes on one line, each cause once and control characters escaped.
fn one_line(error: &RunError) -> String {
    let mut text = error.to_string();
    let mut cause = std::error::Error::source(error);
    while let Some(inner) = cause {
        let more = inner.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = inner.source();
    }
    startup::printable(&text)
}

/// One replica, no election: it is the leader.
async fn alone(ctx: &Context, shutdown: &CancellationToken) -> Result<(), RunError> {
    ctx.metrics.set_leader(true);
    let never = CancellationToken::new();
    match term::export(ctx, shutdown, &never).await? {
        TermEnd::Finished if shutdown.is_cancelled() => Ok(()),
        TermEnd::Finished | TermEnd::Lost { .. } => Err(RunError::Ended),
    }
}

async fn replicated(
    ctx: &Context,
    config: LeaderElectionConfig,
    shutdown: &CancellationToken,
) -> Result<(), RunError> {
    let elector = LeaderElector::new(ctx.client.clone(), config)?;
    let lease = format!("{}/{}", elector.namespace(), elector.lease_name());
    let identity = elector.identity().to_owned();
    // A standby must know now that it could not write its archive, not when it takes over.
    super::sinks::check_writable(&ctx.settings).await?;
    stand_by(&ctx.health, &[]);
    loop {
        ctx.metrics.set_leader(false);
        let leadership = match elector.acquire(shutdown).await {
            Ok(leadership) => leadership,
            Err(LeaderError::Shutdown { .. }) => return Ok(()),
            Err(error) => return Err(error.into()),
        };
        ctx.metrics.set_leader(true);
        tracing::info!(%lease, leader.identity = %identity, "leading: loading the checkpoint and exporting");
        let outcome = term::export(ctx, shutdown, &leadership.lost()).await;
        ctx.metrics.set_leader(false);
        let finished = match outcome {
            Ok(TermEnd::Lost { scopes }) => {
                drop(leadership);
                stand_by(&ctx.health, &scopes);
                tracing::warn!(%lease, leader.identity = %identity, "leadership lost: the pipeline stopped without draining; standing by");
                continue;
            }
            Ok(TermEnd::Finished) if shutdown.is_cancelled() => Ok(()),
            Ok(TermEnd::Finished) => Err(RunError::Ended),
            Err(error) => Err(error),
        };
        // After the pipeline's final checkpoint save, so that the next leader resumes from it.
        if let Err(error) = leadership.release().await {
            tracing::warn!(%lease, %error, "could not release the lease; another replica takes over once it expires");
        }
        return finished;
    }
}

/// Makes the process ready as a standby: the standby scope only. The scopes of a term that
/// ended (told stopped when its stream was dropped) are forgotten, since a standby does not
/// watch them; the next term registers them anew, unready until its watches are established.
fn stand_by(health: &Health, stale_scopes: &[String]) {
    for scope in stale_scopes {
        health.forget(scope);
    }
    health.register(STANDBY_SCOPE);
    health.established(STANDBY_SCOPE);
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_standby_is_ready_even_after_its_watches_stopped() {
        let health = Health::default();
        health.register("events@*");
        health.established("events@*");
        health.stopped("events@*");
        assert!(!health.readiness(Duration::from_secs(60)).is_ready());
        stand_by(&health, &["events@*".to_owned()]);
        let readiness = health.readiness(Duration::from_secs(60));
        assert!(readiness.is_ready(), "{readiness}");
        assert!(
            readiness.to_string().contains("leader-election: ready"),
            "{readiness}"
        );
        assert_eq!(readiness.scopes.len(), 1, "the stopped watch is not listed");
    }

    #[test]
    fn a_fresh_standby_is_ready_with_its_own_scope_only() {
        let health = Health::default();
        stand_by(&health, &[]);
        let readiness = health.readiness(Duration::from_secs(60));
        assert!(readiness.is_ready());
        assert_eq!(readiness.scopes.len(), 1);
    }
}
