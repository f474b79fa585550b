//! The election's decisions as pure functions of what the Lease says, when we saw it change,
//! and our clock: who holds it, whether that claim has expired, and what to write.

use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::coordination::v1::LeaseSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use tokio::time::Instant;

/// The election record a Lease's spec holds (client-go's `LeaderElectionRecord`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Record {
    /// `holderIdentity`; `None` when empty (released or never held).
    pub holder: Option<String>,
    /// `leaseDurationSeconds`, when set and positive.
    pub lease_duration: Option<Duration>,
    /// `leaseTransitions`.
    pub transitions: i32,
    /// `acquireTime`.
    pub acquire_time: Option<Timestamp>,
    /// `renewTime`: for people only; expiry never trusts another node's clock.
    pub renew_time: Option<Timestamp>,
}

impl Record {
    /// The record in a Lease's spec.
    pub(crate) fn from_spec(spec: Option<&LeaseSpec>) -> Record {
        let Some(spec) = spec else {
            return Record::default();
        };
        Record {
            holder: spec.holder_identity.clone().filter(|h| !h.is_empty()),
            lease_duration: spec
                .lease_duration_seconds
                .filter(|s| *s > 0)
                .map(|s| Duration::from_secs(s.unsigned_abs().into())),
            transitions: spec.lease_transitions.unwrap_or(0),
            acquire_time: spec.acquire_time.as_ref().map(|t| t.0),
            renew_time: spec.renew_time.as_ref().map(|t| t.0),
        }
    }

    /// Writes the record into `spec`, leaving the fields it does not know alone.
    pub(crate) fn apply_to(&self, spec: &mut LeaseSpec) {
        spec.holder_identity = Some(self.holder.clone().unwrap_or_default());
        spec.lease_duration_seconds = self
            .lease_duration
            .map(|d| i32::try_from(d.as_secs()).unwrap_or(i32::MAX));
        spec.lease_transitions = Some(self.transitions);
        spec.acquire_time = self.acquire_time.map(MicroTime);
        spec.renew_time = self.renew_time.map(MicroTime);
    }
}

/// The last record read and when, on our clock, we first saw it (client-go's `observedTime`).
#[derive(Clone, Debug)]
pub(crate) struct Observation {
    pub record: Record,
    pub at: Instant,
}

/// Tracks the last observation: its time moves only when the record changes, so a holder that
/// stopped renewing expires a lease duration after we last saw it renew, whatever its clock says.
#[derive(Debug, Default)]
pub(crate) struct Observer {
    last: Option<Observation>,
}

impl Observer {
    /// Records that `record` was read at `now`, and returns the observation to judge.
    pub(crate) fn observe(&mut self, record: Record, now: Instant) -> &Observation {
        match self.last.take() {
            Some(same) if same.record == record => self.last.insert(same),
            _ => self.last.insert(Observation { record, at: now }),
        }
    }
}

/// Who may hold the Lease now, from our point of view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Nobody holds it: take it.
    Free,
    /// The record names us: renew it.
    Ours,
    /// Another candidate holds it and its claim is still valid.
    Held {
        /// The holder.
        holder: String,
        /// How long until it expires, if it is not renewed.
        expires_in: Duration,
    },
    /// Another candidate held it but has not renewed it within its lease duration.
    Expired {
        /// The former holder.
        holder: String,
    },
}

/// Judges `observation` at `now` for the candidate `identity`. A record without a lease
/// duration is held for `fallback` (ours), never for zero.
pub(crate) fn judge(
    observation: &Observation,
    identity: &str,
    now: Instant,
    fallback: Duration,
) -> Verdict {
    let record = &observation.record;
    let Some(holder) = record.holder.as_deref() else {
        return Verdict::Free;
    };
    if holder == identity {
        return Verdict::Ours;
    }
    let expires_at = observation.at + record.lease_duration.unwrap_or(fallback);
    if now < expires_at {
        Verdict::Held {
            holder: holder.to_owned(),
            expires_in: expires_at - now,
        }
    } else {
        Verdict::Expired {
            holder: holder.to_owned(),
        }
    }
}

/// The record to write to hold the Lease after `previous`: a renewal keeps `acquireTime` and
/// `leaseTransitions`; anything else is a takeover that counts one more transition.
pub(crate) fn claim(
    previous: &Record,
    identity: &str,
    lease_duration: Duration,
    now: Timestamp,
) -> Record {
    let renewal = previous.holder.as_deref() == Some(identity);
    Record {
        holder: Some(identity.to_owned()),
        lease_duration: Some(lease_duration),
        transitions: if renewal {
            previous.transitions
        } else {
            previous.transitions.saturating_add(1)
        },
        acquire_time: if renewal {
            previous.acquire_time.or(Some(now))
        } else {
            Some(now)
        },
        renew_time: Some(now),
    }
}

/// The record of a brand-new Lease held by `identity`.
pub(crate) fn first_claim(identity: &str, lease_duration: Duration, now: Timestamp) -> Record {
    Record {
        holder: Some(identity.to_owned()),
        lease_duration: Some(lease_duration),
        transitions: 0,
        acquire_time: Some(now),
        renew_time: Some(now),
    }
}

/// The record that releases the Lease (client-go's `ReleaseOnCancel`): no holder, a 1 s
/// duration, the transition count kept.
pub(crate) fn released(previous: &Record, now: Timestamp) -> Record {
    Record {
        holder: None,
        lease_duration: Some(Duration::from_secs(1)),
        transitions: previous.transitions,
        acquire_time: Some(now),
        renew_time: Some(now),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEASE: Duration = Duration::from_secs(15);

    fn held_by(holder: &str, renewed: Timestamp) -> Record {
        Record {
            holder: Some(holder.into()),
            lease_duration: Some(LEASE),
            transitions: 3,
            acquire_time: Some(renewed),
            renew_time: Some(renewed),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_claim_expires_a_lease_duration_after_it_was_last_seen_to_change() {
        let mut observer = Observer::default();
        let t0 = Instant::now();
        let record = held_by("a", Timestamp::UNIX_EPOCH);
        observer.observe(record.clone(), t0);
        // Read again, unchanged, 10 s later: the observation time does not move.
        let later = t0 + Duration::from_secs(10);
        let seen = observer.observe(record.clone(), later).clone();
        assert_eq!(seen.at, t0);
        assert_eq!(
            judge(&seen, "b", later, LEASE),
            Verdict::Held {
                holder: "a".into(),
                expires_in: Duration::from_secs(5)
            }
        );
        let expired = t0 + LEASE;
        assert_eq!(
            judge(&seen, "b", expired, LEASE),
            Verdict::Expired { holder: "a".into() }
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_renewal_restarts_the_expiry_clock() {
        let mut observer = Observer::default();
        let t0 = Instant::now();
        observer.observe(held_by("a", Timestamp::UNIX_EPOCH), t0);
        let t1 = t0 + Duration::from_secs(14);
        let renewed = Timestamp::UNIX_EPOCH + jiff::SignedDuration::from_secs(2);
        let seen = observer.observe(held_by("a", renewed), t1).clone();
        assert_eq!(seen.at, t1);
        assert!(matches!(
            judge(&seen, "b", t0 + Duration::from_secs(20), LEASE),
            Verdict::Held { .. }
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn the_holders_clock_is_never_trusted() {
        // renewTime far in the past (a slow clock) or in the future (a fast one) changes
        // nothing: only our observation counts.
        let now = Instant::now();
        for renewed in [Timestamp::UNIX_EPOCH, Timestamp::MAX] {
            let seen = Observation {
                record: held_by("a", renewed),
                at: now,
            };
            assert!(matches!(
                judge(&seen, "b", now + Duration::from_secs(1), LEASE),
                Verdict::Held { .. }
            ));
            assert!(matches!(
                judge(&seen, "b", now + LEASE, LEASE),
                Verdict::Expired { .. }
            ));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_released_or_never_held_lease_is_free_at_once() {
        let now = Instant::now();
        let released = Observation {
            record: released(&held_by("a", Timestamp::UNIX_EPOCH), Timestamp::UNIX_EPOCH),
            at: now,
        };
        assert_eq!(judge(&released, "b", now, LEASE), Verdict::Free);
        let empty = Observation {
            record: Record::from_spec(Some(&LeaseSpec {
                holder_identity: Some(String::new()),
                ..LeaseSpec::default()
            })),
            at: now,
        };
        assert_eq!(judge(&empty, "b", now, LEASE), Verdict::Free);
    }

    #[tokio::test(start_paused = true)]
    async fn our_own_name_means_renew_and_a_missing_duration_falls_back_to_ours() {
        let now = Instant::now();
        let mut record = held_by("a", Timestamp::UNIX_EPOCH);
        let ours = Observation {
            record: record.clone(),
            at: now,
        };
        assert_eq!(judge(&ours, "a", now + LEASE * 10, LEASE), Verdict::Ours);
        record.lease_duration = None;
        let no_duration = Observation { record, at: now };
        assert!(matches!(
            judge(&no_duration, "b", now + Duration::from_secs(14), LEASE),
            Verdict::Held { .. }
        ));
    }

    #[test]
    fn a_takeover_counts_a_transition_and_a_renewal_keeps_the_acquire_time() {
        let t0 = Timestamp::UNIX_EPOCH;
        let t1 = t0 + jiff::SignedDuration::from_secs(30);
        let previous = held_by("a", t0);
        let takeover = claim(&previous, "b", LEASE, t1);
        assert_eq!(takeover.holder.as_deref(), Some("b"));
        assert_eq!(takeover.transitions, 4);
        assert_eq!(takeover.acquire_time, Some(t1));
        let renewal = claim(&previous, "a", LEASE, t1);
        assert_eq!(renewal.transitions, 3);
        assert_eq!(renewal.acquire_time, Some(t0));
        assert_eq!(renewal.renew_time, Some(t1));
        let after_release = claim(&released(&previous, t1), "a", LEASE, t1);
        assert_eq!(
            after_release.transitions, 4,
            "re-taking a released lease is a transition"
        );
    }

    #[test]
    fn records_round_trip_through_a_lease_spec() {
        let t = Timestamp::UNIX_EPOCH + jiff::SignedDuration::from_micros(1_234_567);
        let record = first_claim("a", LEASE, t);
        let mut spec = LeaseSpec {
            preferred_holder: Some("kept".into()),
            ..LeaseSpec::default()
        };
        record.apply_to(&mut spec);
        assert_eq!(spec.lease_duration_seconds, Some(15));
        assert_eq!(spec.preferred_holder.as_deref(), Some("kept"));
        assert_eq!(Record::from_spec(Some(&spec)), record);
        let release = released(&record, t);
        release.apply_to(&mut spec);
        assert_eq!(spec.holder_identity.as_deref(), Some(""));
        assert_eq!(Record::from_spec(Some(&spec)).holder, None);
    }
}
