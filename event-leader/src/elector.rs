//! [`LeaderElector`]: waits for the Lease, standing by while another candidate holds it.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;
use tokio::time::{Instant, sleep, timeout};
use tokio_util::sync::CancellationToken;

use crate::config::default_identity;
use crate::error::is_forbidden;
use crate::leadership::{Names, Timing};
use crate::lock::{Attempt, LeaseLock, Lock};
use crate::record::Verdict;
use crate::{LeaderElectionConfig, LeaderError, Leadership};

/// client-go's `JitterFactor`: a candidate waits between 1 and 2.2 retry periods between polls,
/// so that candidates that started together do not poll together.
const JITTER_FACTOR: f64 = 1.2;

/// A candidate for the leadership of one Lease.
///
/// ```no_run
/// # async fn demo(client: kube::Client) -> Result<(), event_leader::LeaderError> {
/// use event_leader::{LeaderElectionConfig, LeaderElector};
/// use tokio_util::sync::CancellationToken;
///
/// let config = LeaderElectionConfig::new("event-keeper").namespace("event-keeper");
/// let elector = LeaderElector::new(client, config)?;
/// let leadership = elector.acquire(&CancellationToken::new()).await?;
/// assert!(leadership.is_leader());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct LeaderElector {
    client: kube::Client,
    names: Names,
    timing: Timing,
}

impl std::fmt::Debug for LeaderElector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaderElector")
            .field("names", &self.names)
            .field("timing", &self.timing)
            .finish_non_exhaustive()
    }
}

impl LeaderElector {
    /// A candidate with `config`, validated; the identity and namespace are settled here.
    ///
    /// # Errors
    ///
    /// [`LeaderError::InvalidConfig`]; [`LeaderError::NoIdentity`] when no identity is
    /// configured and neither `POD_NAME` nor the hostname gives one.
    pub fn new(client: kube::Client, config: LeaderElectionConfig) -> Result<Self, LeaderError> {
        config.validate()?;
        let identity = match config.identity {
            Some(identity) => identity,
            None => default_identity(
                |key| std::env::var(key).ok(),
                |path| std::fs::read_to_string(path).ok(),
            )
            .ok_or(LeaderError::NoIdentity)?,
        };
        let namespace = config
            .namespace
            .unwrap_or_else(|| client.default_namespace().to_owned());
        Ok(LeaderElector {
            client,
            names: Names {
                namespace,
                name: config.lease_name,
                identity,
            },
            timing: Timing {
                lease_duration: config.lease_duration,
                renew_deadline: config.renew_deadline,
                retry_period: config.retry_period,
            },
        })
    }

    /// This candidate's identity, as written to `holderIdentity`.
    pub fn identity(&self) -> &str {
        &self.names.identity
    }

    /// The Lease's namespace.
    pub fn namespace(&self) -> &str {
        &self.names.namespace
    }

    /// The Lease's name.
    pub fn lease_name(&self) -> &str {
        &self.names.name
    }

    /// Waits until this candidate holds the Lease: creates it if missing, takes it when it is
    /// released or its holder stopped renewing it, polling every `retry_period` (with jitter).
    /// Transient API errors are logged and retried. May be called again after a loss.
    ///
    /// # Errors
    ///
    /// [`LeaderError::Shutdown`] when `shutdown` is cancelled first;
    /// [`LeaderError::Forbidden`] when RBAC refuses access to the Lease (retrying cannot help).
    pub async fn acquire(&self, shutdown: &CancellationToken) -> Result<Leadership, LeaderError> {
        let api: Api<Lease> = Api::namespaced(self.client.clone(), &self.names.namespace);
        let lock = LeaseLock::new(
            api,
            self.names.name.clone(),
            self.names.identity.clone(),
            self.timing.lease_duration,
        );
        acquire_with(Box::new(lock), self.names.clone(), self.timing, shutdown).await
    }
}

/// The candidate loop, over any [`Lock`].
pub(crate) async fn acquire_with(
    mut lock: Box<dyn Lock>,
    names: Names,
    timing: Timing,
    shutdown: &CancellationToken,
) -> Result<Leadership, LeaderError> {
    let lease = names.lease();
    let identity = names.identity.as_str();
    let cancelled = || LeaderError::Shutdown {
        namespace: names.namespace.clone(),
        name: names.name.clone(),
    };
    tracing::info!(%lease, leader.identity = identity, "standing for leadership");
    let mut standing_by_for: Option<String> = None;
    loop {
        let sent = Instant::now();
        let outcome = tokio::select! {
            biased;
            () = shutdown.cancelled() => return Err(cancelled()),
            outcome = timeout(timing.renew_deadline, lock.try_acquire_or_renew(false)) => outcome,
        };
        match outcome {
            Ok(Ok(Attempt::Holding(verdict))) => {
                match &verdict {
                    Verdict::Expired { holder } => {
                        tracing::info!(%lease, leader.identity = identity, leader.previous = %holder, "leadership acquired: took over an expired lease")
                    }
                    Verdict::Ours => {
                        tracing::info!(%lease, leader.identity = identity, "leadership acquired: the lease already named this identity")
                    }
                    _ => tracing::info!(%lease, leader.identity = identity, "leadership acquired"),
                }
                return Ok(Leadership::start(lock, names, timing, sent));
            }
            Ok(Ok(Attempt::Held { holder, expires_in })) => {
                if standing_by_for.as_deref() != Some(holder.as_str()) {
                    tracing::info!(%lease, leader.identity = identity, leader.holder = %holder, expires_in_ms = expires_in.as_millis() as u64, "lease held by another candidate; standing by");
                    standing_by_for = Some(holder);
                }
            }
            Ok(Ok(Attempt::Released | Attempt::Contended)) => {
                tracing::debug!(%lease, leader.identity = identity, "another candidate won the race for the lease");
            }
            Ok(Err(e)) if is_forbidden(&e.source) => {
                return Err(LeaderError::Forbidden {
                    verb: e.verb,
                    namespace: names.namespace.clone(),
                    name: names.name.clone(),
                    source: Box::new(e.source),
                });
            }
            Ok(Err(e)) => {
                tracing::warn!(%lease, leader.identity = identity, verb = e.verb, error = %e.source, "lease request failed; retrying");
            }
            Err(_) => {
                tracing::warn!(%lease, leader.identity = identity, timeout_ms = timing.renew_deadline.as_millis() as u64, "lease request timed out; retrying");
            }
        }
        tokio::select! {
            biased;
            () = shutdown.cancelled() => return Err(cancelled()),
            () = sleep(jittered(timing.retry_period)) => {}
        }
    }
}

fn jittered(period: Duration) -> Duration {
    period + period.mul_f64(JITTER_FACTOR * fastrand::f64())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lock::scripted::{Script, Step};

    const TIMING: Timing = Timing {
        lease_duration: Duration::from_secs(15),
        renew_deadline: Duration::from_secs(10),
        retry_period: Duration::from_secs(2),
    };

    fn names() -> Names {
        Names {
            namespace: "ns".into(),
            name: "lease".into(),
            identity: "me".into(),
        }
    }

    async fn run(script: &Script, shutdown: &CancellationToken) -> Result<Leadership, LeaderError> {
        acquire_with(Box::new(script.clone()), names(), TIMING, shutdown).await
    }

    #[tokio::test(start_paused = true)]
    async fn stands_by_through_errors_and_a_held_lease_then_acquires() {
        let held = Attempt::Held {
            holder: "other".into(),
            expires_in: Duration::from_secs(3),
        };
        let script = Script::default()
            .then(Step::Fail)
            .then(Step::Answer(held.clone()))
            .then(Step::Answer(Attempt::Contended))
            .then(Step::Answer(held))
            .then(Step::Answer(Attempt::Holding(Verdict::Expired {
                holder: "other".into(),
            })));
        let leadership = run(&script, &CancellationToken::new()).await.unwrap();
        assert!(leadership.is_leader());
        assert_eq!(script.tries(), 5);
    }

    #[tokio::test(start_paused = true)]
    async fn polls_between_one_and_two_point_two_retry_periods_apart() {
        let script = Script::default()
            .then(Step::Fail)
            .then(Step::Answer(Attempt::Holding(Verdict::Free)));
        let started = Instant::now();
        run(&script, &CancellationToken::new()).await.unwrap();
        let waited = started.elapsed();
        assert!(waited >= TIMING.retry_period, "{waited:?}");
        assert!(waited <= TIMING.retry_period.mul_f64(2.2), "{waited:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn forbidden_stops_with_the_rbac_rule_instead_of_retrying() {
        let script = Script::default().otherwise(Step::Forbidden);
        let err = run(&script, &CancellationToken::new()).await.unwrap_err();
        assert!(
            matches!(err, LeaderError::Forbidden { verb: "get", .. }),
            "{err}"
        );
        assert!(
            err.to_string()
                .contains("leases.coordination.k8s.io named lease")
        );
        assert_eq!(script.tries(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_ends_the_wait_even_during_a_hanging_request() {
        let script = Script::default().otherwise(Step::Hang);
        let shutdown = CancellationToken::new();
        let trigger = shutdown.clone();
        tokio::spawn(async move {
            sleep(Duration::from_secs(1)).await;
            trigger.cancel();
        });
        let started = Instant::now();
        let err = run(&script, &shutdown).await.unwrap_err();
        assert!(matches!(err, LeaderError::Shutdown { .. }), "{err}");
        assert_eq!(started.elapsed(), Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn leadership_is_counted_from_when_the_winning_write_was_sent() {
        // A write that takes 3 s: the renew deadline still counts from its start.
        let script = Script::default()
            .then(Step::Slow(
                Duration::from_secs(3),
                Attempt::Holding(Verdict::Free),
            ))
            .otherwise(Step::Fail);
        let started = Instant::now();
        let leadership = run(&script, &CancellationToken::new()).await.unwrap();
        leadership.lost().cancelled().await;
        assert_eq!(started.elapsed(), TIMING.renew_deadline);
    }
}
