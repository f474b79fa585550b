//! [`Leadership`]: the held Lease, renewed in the background until it is released or lost.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::{Instant, sleep, sleep_until, timeout, timeout_at};
use tokio_util::sync::CancellationToken;
use tokio_util::task::AbortOnDropHandle;

use crate::LeaderError;
use crate::error::is_forbidden;
use crate::lock::{Attempt, Lock};

/// The longest a release may take: it runs in the pod's termination grace period, after the
/// pipeline's drain and final checkpoint save. One update of the Lease normally takes
/// milliseconds; past this the Lease simply expires after `lease_duration`.
pub const RELEASE_TIMEOUT: Duration = Duration::from_secs(5);

/// The election's timings, validated.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Timing {
    pub lease_duration: Duration,
    pub renew_deadline: Duration,
    pub retry_period: Duration,
}

/// Which Lease, and who we are: for logs and errors.
#[derive(Clone, Debug)]
pub(crate) struct Names {
    pub namespace: String,
    pub name: String,
    pub identity: String,
}

impl Names {
    pub(crate) fn lease(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// How the renewal task tells the world that the leadership ended.
#[derive(Clone)]
struct Signals {
    lost: CancellationToken,
    state: Arc<watch::Sender<bool>>,
    stop: CancellationToken,
}

impl Signals {
    fn end(&self) {
        self.state.send_replace(false);
        self.lost.cancel();
    }
}

/// The leadership of a Lease, won by [`LeaderElector::acquire`](crate::LeaderElector::acquire).
///
/// A background task renews the Lease every `retry_period`. When no renewal succeeds within
/// `renew_deadline` of the last one, or another holder shows up, the leadership is lost:
/// [`lost`](Self::lost) is cancelled and [`is_leader`](Self::is_leader) turns false. Stop
/// exporting then, at once: another candidate may take over `lease_duration` after the last
/// renewal (see the [crate docs](crate) for why that is later).
///
/// On graceful shutdown, stop the pipeline (its final checkpoint saved), then call
/// [`release`](Self::release) so that the standby takes over at once. Dropping a `Leadership`
/// stops renewing without releasing: the others take over once the Lease expires.
pub struct Leadership {
    names: Names,
    timing: Timing,
    signals: Signals,
    renewer: Option<AbortOnDropHandle<Box<dyn Lock>>>,
}

impl std::fmt::Debug for Leadership {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Leadership")
            .field("lease", &self.names.lease())
            .field("identity", &self.names.identity)
            .field("is_leader", &self.is_leader())
            .finish_non_exhaustive()
    }
}

impl Leadership {
    /// Starts renewing a Lease acquired by a write sent at `acquired_at`.
    pub(crate) fn start(
        lock: Box<dyn Lock>,
        names: Names,
        timing: Timing,
        acquired_at: Instant,
    ) -> Leadership {
        let (state, _) = watch::channel(true);
        let signals = Signals {
            lost: CancellationToken::new(),
            state: Arc::new(state),
            stop: CancellationToken::new(),
        };
        let renewer = AbortOnDropHandle::new(tokio::spawn(renew(
            lock,
            names.clone(),
            timing,
            acquired_at,
            signals.clone(),
        )));
        Leadership {
            names,
            timing,
            signals,
            renewer: Some(renewer),
        }
    }

    /// This candidate's identity, as written to `holderIdentity`.
    pub fn identity(&self) -> &str {
        &self.names.identity
    }

    /// Whether the leadership is still held (false once lost or released).
    pub fn is_leader(&self) -> bool {
        *self.signals.state.borrow()
    }

    /// A token cancelled when the leadership ends: lost, released, or this value dropped.
    pub fn lost(&self) -> CancellationToken {
        self.signals.lost.clone()
    }

    /// The leadership state as a watch channel (`true` while held), e.g. for a metric.
    pub fn watch(&self) -> watch::Receiver<bool> {
        self.signals.state.subscribe()
    }

    /// Stops renewing and clears `holderIdentity`, so a standby takes over at its next poll.
    /// Does nothing to the Lease when the leadership was already lost.
    ///
    /// # Errors
    ///
    /// [`LeaderError::Forbidden`], [`LeaderError::Api`] or [`LeaderError::Timeout`] (after
    /// `renew_deadline` or [`RELEASE_TIMEOUT`], whichever is shorter) when the release could not
    /// be written; the Lease then expires after `lease_duration`.
    pub async fn release(mut self) -> Result<(), LeaderError> {
        self.signals.stop.cancel();
        let lock = match self.renewer.take() {
            Some(renewer) => renewer.await.ok(),
            None => None,
        };
        let was_leader = self.is_leader();
        self.signals.end();
        let lease = self.names.lease();
        let identity = self.names.identity.as_str();
        let (Some(mut lock), true) = (lock, was_leader) else {
            tracing::info!(%lease, leader.identity = identity, "leadership already lost; nothing to release");
            return Ok(());
        };
        let after = self.timing.renew_deadline.min(RELEASE_TIMEOUT);
        match timeout(after, lock.release()).await {
            Ok(Ok(true)) => {
                tracing::info!(%lease, leader.identity = identity, "leadership released");
                Ok(())
            }
            Ok(Ok(false)) => {
                tracing::info!(%lease, leader.identity = identity, "lease already held by another candidate; nothing to release");
                Ok(())
            }
            Ok(Err(e)) => {
                let (namespace, name) = (self.names.namespace.clone(), self.names.name.clone());
                Err(if is_forbidden(&e.source) {
                    LeaderError::Forbidden {
                        verb: e.verb,
                        namespace,
                        name,
                        source: Box::new(e.source),
                    }
                } else {
                    LeaderError::Api {
                        action: "release",
                        namespace,
                        name,
                        source: Box::new(e.source),
                    }
                })
            }
            Err(_) => Err(LeaderError::Timeout {
                action: "release",
                namespace: self.names.namespace.clone(),
                name: self.names.name.clone(),
                after,
            }),
        }
    }
}

impl Drop for Leadership {
    fn drop(&mut self) {
        // The renewer is aborted with its handle; the Lease expires for the others.
        self.signals.end();
    }
}

/// Renews every `retry_period` until stopped; declares the leadership lost when no renewal
/// succeeded within `renew_deadline` of the last one sent that did, or another holder appears.
/// Returns the lock, for the release.
async fn renew(
    mut lock: Box<dyn Lock>,
    names: Names,
    timing: Timing,
    mut last_success: Instant,
    signals: Signals,
) -> Box<dyn Lock> {
    let lease = names.lease();
    let identity = names.identity.as_str();
    let lose = |reason: &str| {
        tracing::error!(%lease, leader.identity = identity, reason, "leadership lost; stop exporting now");
        signals.end();
    };
    loop {
        tokio::select! {
            biased;
            () = signals.stop.cancelled() => return lock,
            () = sleep(timing.retry_period) => {}
        }
        // Counted from when the last good renewal was sent: it reached the server, and so the
        // others, only later, and they wait a whole lease duration after seeing it.
        let deadline = last_success + timing.renew_deadline;
        loop {
            let sent = Instant::now();
            if sent >= deadline {
                lose("no renewal succeeded within the renew deadline");
                return lock;
            }
            let outcome = tokio::select! {
                biased;
                () = signals.stop.cancelled() => return lock,
                outcome = timeout_at(deadline, lock.try_acquire_or_renew(true)) => outcome,
            };
            match outcome {
                Ok(Ok(Attempt::Holding(_))) => {
                    tracing::trace!(%lease, leader.identity = identity, "lease renewed");
                    last_success = sent;
                    break;
                }
                Ok(Ok(Attempt::Held { holder, .. })) => {
                    tracing::warn!(%lease, leader.identity = identity, leader.holder = %holder, "another candidate holds the lease");
                    lose("another candidate holds the lease");
                    return lock;
                }
                Ok(Ok(Attempt::Released)) => {
                    lose("the lease was released by someone else");
                    return lock;
                }
                Ok(Ok(Attempt::Contended)) => {
                    tracing::warn!(%lease, leader.identity = identity, "lease renewal conflicted; retrying");
                }
                Ok(Err(e)) => {
                    tracing::warn!(%lease, leader.identity = identity, verb = e.verb, error = %e.source, "lease renewal failed; retrying");
                }
                Err(_) => continue,
            }
            tokio::select! {
                biased;
                () = signals.stop.cancelled() => return lock,
                () = sleep_until((Instant::now() + timing.retry_period).min(deadline)) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lock::scripted::{Script, Step};
    use crate::record::Verdict;

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

    fn start(script: &Script) -> Leadership {
        Leadership::start(Box::new(script.clone()), names(), TIMING, Instant::now())
    }

    #[tokio::test(start_paused = true)]
    async fn stays_leader_while_renewals_succeed() {
        let script = Script::default().otherwise(Step::Answer(Attempt::Holding(Verdict::Ours)));
        let leadership = start(&script);
        sleep(Duration::from_secs(61)).await;
        assert!(leadership.is_leader());
        assert!(!leadership.lost().is_cancelled());
        assert_eq!(script.tries(), 30, "one renewal per retry period");
    }

    #[tokio::test(start_paused = true)]
    async fn declares_loss_at_the_renew_deadline_after_the_last_good_renewal() {
        let script = Script::default()
            .then(Step::Answer(Attempt::Holding(Verdict::Ours)))
            .otherwise(Step::Fail);
        let leadership = start(&script);
        let started = Instant::now();
        let mut state = leadership.watch();
        leadership.lost().cancelled().await;
        // The good renewal was sent at 2 s: lost at 2 + 10 s, well before 2 + 15 s.
        assert_eq!(started.elapsed(), Duration::from_secs(12));
        assert!(!leadership.is_leader());
        assert!(!*state.borrow_and_update());
        assert!(script.tries() > 2, "failed renewals were retried");
    }

    #[tokio::test(start_paused = true)]
    async fn a_hanging_renewal_is_cut_off_at_the_deadline() {
        let script = Script::default().otherwise(Step::Hang);
        let leadership = start(&script);
        let started = Instant::now();
        leadership.lost().cancelled().await;
        assert_eq!(started.elapsed(), TIMING.renew_deadline);
        assert_eq!(script.tries(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn another_holder_ends_the_leadership_at_once() {
        let script = Script::default().otherwise(Step::Answer(Attempt::Held {
            holder: "other".into(),
            expires_in: Duration::from_secs(15),
        }));
        let leadership = start(&script);
        let started = Instant::now();
        leadership.lost().cancelled().await;
        assert_eq!(started.elapsed(), TIMING.retry_period);
    }

    #[tokio::test(start_paused = true)]
    async fn release_stops_renewing_clears_the_holder_and_ends_the_leadership() {
        let script = Script::default().otherwise(Step::Answer(Attempt::Holding(Verdict::Ours)));
        let leadership = start(&script);
        let lost = leadership.lost();
        let state = leadership.watch();
        sleep(Duration::from_secs(5)).await;
        leadership.release().await.unwrap();
        assert_eq!(script.releases(), 1);
        assert!(lost.is_cancelled());
        assert!(!*state.borrow());
        let tries = script.tries();
        sleep(Duration::from_secs(10)).await;
        assert_eq!(script.tries(), tries, "no renewal after the release");
    }

    #[tokio::test(start_paused = true)]
    async fn release_after_a_loss_writes_nothing() {
        let script = Script::default().otherwise(Step::Answer(Attempt::Released));
        let leadership = start(&script);
        leadership.lost().cancelled().await;
        leadership.release().await.unwrap();
        assert_eq!(script.releases(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_forbidden_release_names_the_rbac_rule() {
        let script = Script::default()
            .otherwise(Step::Answer(Attempt::Holding(Verdict::Ours)))
            .release_fails_forbidden();
        let leadership = start(&script);
        let err = leadership.release().await.unwrap_err();
        assert!(
            matches!(err, LeaderError::Forbidden { verb: "update", .. }),
            "{err}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_release_that_never_answers_gives_up_within_its_bound() {
        let script = Script::default()
            .otherwise(Step::Answer(Attempt::Holding(Verdict::Ours)))
            .release_hangs();
        let leadership = start(&script);
        let lost = leadership.lost();
        let started = Instant::now();
        let err = leadership.release().await.unwrap_err();
        assert!(matches!(err, LeaderError::Timeout { .. }), "{err}");
        assert_eq!(started.elapsed(), RELEASE_TIMEOUT);
        assert!(lost.is_cancelled());
    }

    #[tokio::test(start_paused = true)]
    async fn dropping_stops_renewing_without_releasing() {
        let script = Script::default().otherwise(Step::Answer(Attempt::Holding(Verdict::Ours)));
        let leadership = start(&script);
        let lost = leadership.lost();
        sleep(Duration::from_secs(5)).await;
        let tries = script.tries();
        drop(leadership);
        sleep(Duration::from_secs(30)).await;
        assert_eq!(script.tries(), tries);
        assert_eq!(script.releases(), 0);
        assert!(lost.is_cancelled());
    }
}
