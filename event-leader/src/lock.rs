//! The Lease as a lock: one try-acquire-or-renew and one release, each a read and a
//! conditional write through kube's `Api<Lease>`.

use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Api;
use kube::api::PostParams;
use tokio::time::Instant;

use crate::record::{Observer, Record, Verdict, claim, first_claim, judge, released};

/// What one try found and did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Attempt {
    /// We hold the Lease now; the verdict says what it was before our write (`Ours` for a
    /// renewal, `Free` or `Expired` for an acquisition).
    Holding(Verdict),
    /// Another candidate holds it.
    Held {
        /// The holder.
        holder: String,
        /// How long until its claim expires unless renewed, as we observe it.
        expires_in: Duration,
    },
    /// We were leading, but the Lease was released by someone else.
    Released,
    /// Another candidate wrote the Lease between our read and our write (409).
    Contended,
}

/// A failed request: the verb (for the RBAC message) and kube's error.
#[derive(Debug)]
pub(crate) struct LockError {
    pub verb: &'static str,
    pub source: kube::Error,
}

/// The lock the elector and the renewal loop drive; a trait so that their timing can be tested
/// with paused time and scripted answers.
#[async_trait]
pub(crate) trait Lock: Send {
    /// Acquires the Lease if it is free or expired, renews it if it is ours. `leading` says
    /// whether we hold it as far as we know: then any other holder means we lost it.
    async fn try_acquire_or_renew(&mut self, leading: bool) -> Result<Attempt, LockError>;

    /// Clears the holder if it is still us; `false` when someone else holds it.
    async fn release(&mut self) -> Result<bool, LockError>;
}

/// A [`Lock`] on a real Lease.
pub(crate) struct LeaseLock {
    api: Api<Lease>,
    name: String,
    identity: String,
    lease_duration: Duration,
    observer: Observer,
    /// The Lease as last read or written: its resourceVersion is the next write's precondition.
    current: Option<Lease>,
}

impl LeaseLock {
    pub(crate) fn new(
        api: Api<Lease>,
        name: String,
        identity: String,
        lease_duration: Duration,
    ) -> Self {
        LeaseLock {
            api,
            name,
            identity,
            lease_duration,
            observer: Observer::default(),
            current: None,
        }
    }

    fn holds(&self, lease: &Lease) -> bool {
        Record::from_spec(lease.spec.as_ref()).holder.as_deref() == Some(self.identity.as_str())
    }

    /// Replaces the Lease with `record` in its spec, on condition that it is still `base`'s
    /// resourceVersion.
    async fn write(&mut self, base: Lease, record: &Record) -> Result<(), kube::Error> {
        let mut lease = base;
        record.apply_to(lease.spec.get_or_insert_with(LeaseSpec::default));
        let stored = self
            .api
            .replace(&self.name, &PostParams::default(), &lease)
            .await?;
        self.remember(stored);
        Ok(())
    }

    fn remember(&mut self, lease: Lease) {
        self.observer
            .observe(Record::from_spec(lease.spec.as_ref()), Instant::now());
        self.current = Some(lease);
    }

    async fn create(&mut self) -> Result<Attempt, LockError> {
        let record = first_claim(&self.identity, self.lease_duration, Timestamp::now());
        let mut spec = LeaseSpec::default();
        record.apply_to(&mut spec);
        let lease = Lease {
            metadata: ObjectMeta {
                name: Some(self.name.clone()),
                ..ObjectMeta::default()
            },
            spec: Some(spec),
        };
        match self.api.create(&PostParams::default(), &lease).await {
            Ok(created) => {
                self.remember(created);
                Ok(Attempt::Holding(Verdict::Free))
            }
            // AlreadyExists: another candidate created it first.
            Err(e) if is_conflict(&e) => Ok(Attempt::Contended),
            Err(source) => Err(LockError {
                verb: "create",
                source,
            }),
        }
    }

    async fn get(&mut self) -> Result<Option<Lease>, LockError> {
        self.api
            .get_opt(&self.name)
            .await
            .map_err(|source| LockError {
                verb: "get",
                source,
            })
    }
}

#[async_trait]
impl Lock for LeaseLock {
    async fn try_acquire_or_renew(&mut self, leading: bool) -> Result<Attempt, LockError> {
        // Fast path, as client-go's: the leader renews on the version it last wrote.
        if leading && let Some(current) = self.current.clone().filter(|l| self.holds(l)) {
            let previous = Record::from_spec(current.spec.as_ref());
            let record = claim(
                &previous,
                &self.identity,
                self.lease_duration,
                Timestamp::now(),
            );
            match self.write(current, &record).await {
                Ok(()) => return Ok(Attempt::Holding(Verdict::Ours)),
                // Someone changed the Lease: read it and judge below.
                Err(e) if is_conflict(&e) => {}
                Err(source) => {
                    return Err(LockError {
                        verb: "update",
                        source,
                    });
                }
            }
        }

        let Some(lease) = self.get().await? else {
            return self.create().await;
        };
        let now = Instant::now();
        let observation = self
            .observer
            .observe(Record::from_spec(lease.spec.as_ref()), now)
            .clone();
        self.current = Some(lease.clone());
        let verdict = judge(&observation, &self.identity, now, self.lease_duration);
        match (&verdict, leading) {
            (Verdict::Held { holder, expires_in }, _) => {
                return Ok(Attempt::Held {
                    holder: holder.clone(),
                    expires_in: *expires_in,
                });
            }
            (Verdict::Expired { holder }, true) => {
                return Ok(Attempt::Held {
                    holder: holder.clone(),
                    expires_in: Duration::ZERO,
                });
            }
            (Verdict::Free, true) => return Ok(Attempt::Released),
            _ => {}
        }
        let record = claim(
            &observation.record,
            &self.identity,
            self.lease_duration,
            Timestamp::now(),
        );
        match self.write(lease, &record).await {
            Ok(()) => Ok(Attempt::Holding(verdict)),
            Err(e) if is_conflict(&e) => Ok(Attempt::Contended),
            Err(source) => Err(LockError {
                verb: "update",
                source,
            }),
        }
    }

    async fn release(&mut self) -> Result<bool, LockError> {
        // A second try covers a write by someone else (a label edit) since our last renewal.
        for _ in 0..2 {
            let current = match self.current.clone() {
                Some(lease) => lease,
                None => match self.get().await? {
                    Some(lease) => lease,
                    None => return Ok(false),
                },
            };
            if !self.holds(&current) {
                return Ok(false);
            }
            let record = released(&Record::from_spec(current.spec.as_ref()), Timestamp::now());
            match self.write(current, &record).await {
                Ok(()) => return Ok(true),
                Err(e) if is_conflict(&e) => self.current = None,
                Err(source) => {
                    return Err(LockError {
                        verb: "update",
                        source,
                    });
                }
            }
        }
        Ok(false)
    }
}

/// 409: Conflict on a replace, AlreadyExists on a create.
fn is_conflict(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == 409)
}

/// A [`Lock`] that answers from a script, for tests of the loops' timing.
#[cfg(test)]
pub(crate) mod scripted {
    use std::collections::VecDeque;
    use std::sync::{Arc, Mutex};

    use super::*;

    /// One scripted answer.
    #[derive(Clone, Debug)]
    pub(crate) enum Step {
        Answer(Attempt),
        /// A 503 from the API server.
        Fail,
        /// A 403 from the API server.
        Forbidden,
        /// A request that never answers.
        Hang,
        /// An answer after a delay.
        Slow(Duration, Attempt),
    }

    #[derive(Debug)]
    struct Inner {
        queue: VecDeque<Step>,
        otherwise: Step,
        tries: usize,
        releases: usize,
        release_forbidden: bool,
        release_hangs: bool,
    }

    /// Answers the queued steps in order, then `otherwise` forever. Clones share the script.
    #[derive(Clone, Debug)]
    pub(crate) struct Script(Arc<Mutex<Inner>>);

    impl Default for Script {
        fn default() -> Self {
            Script(Arc::new(Mutex::new(Inner {
                queue: VecDeque::new(),
                otherwise: Step::Fail,
                tries: 0,
                releases: 0,
                release_forbidden: false,
                release_hangs: false,
            })))
        }
    }

    pub(crate) fn api_error(code: u16, reason: &str) -> kube::Error {
        kube::Error::Api(Box::new(
            kube::error::Status::failure(reason, reason).with_code(code),
        ))
    }

    impl Script {
        pub(crate) fn then(self, step: Step) -> Self {
            self.0.lock().unwrap().queue.push_back(step);
            self
        }

        pub(crate) fn otherwise(self, step: Step) -> Self {
            self.0.lock().unwrap().otherwise = step;
            self
        }

        pub(crate) fn release_fails_forbidden(self) -> Self {
            self.0.lock().unwrap().release_forbidden = true;
            self
        }

        pub(crate) fn release_hangs(self) -> Self {
            self.0.lock().unwrap().release_hangs = true;
            self
        }

        pub(crate) fn tries(&self) -> usize {
            self.0.lock().unwrap().tries
        }

        pub(crate) fn releases(&self) -> usize {
            self.0.lock().unwrap().releases
        }
    }

    #[async_trait]
    impl Lock for Script {
        async fn try_acquire_or_renew(&mut self, _leading: bool) -> Result<Attempt, LockError> {
            let step = {
                let mut inner = self.0.lock().unwrap();
                inner.tries += 1;
                let otherwise = inner.otherwise.clone();
                inner.queue.pop_front().unwrap_or(otherwise)
            };
            let verb = "update";
            match step {
                Step::Answer(attempt) => Ok(attempt),
                Step::Fail => Err(LockError {
                    verb,
                    source: api_error(503, "ServiceUnavailable"),
                }),
                Step::Forbidden => Err(LockError {
                    verb: "get",
                    source: api_error(403, "Forbidden"),
                }),
                Step::Hang => std::future::pending().await,
                Step::Slow(delay, attempt) => {
                    tokio::time::sleep(delay).await;
                    Ok(attempt)
                }
            }
        }

        async fn release(&mut self) -> Result<bool, LockError> {
            if self.0.lock().unwrap().release_hangs {
                std::future::pending::<()>().await;
            }
            let mut inner = self.0.lock().unwrap();
            if inner.release_forbidden {
                return Err(LockError {
                    verb: "update",
                    source: api_error(403, "Forbidden"),
                });
            }
            inner.releases += 1;
            Ok(true)
        }
    }
}
