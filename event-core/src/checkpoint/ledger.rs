//! The live record of what was observed, what is in flight and what every sink acknowledged.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use jiff::Timestamp;

use super::{Checkpoint, SeenEvent};

/// Settings of a [`Ledger`].
///
/// | setting | default | meaning |
/// |---|---|---|
/// | `prune_after` | 3 h | forget an event this long after it was last seen (its TTL has long passed) |
/// | `event_ttl` | 60 min | the cluster's `--event-ttl`; a checkpoint older than this warns of possible loss |
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct LedgerConfig {
    /// The cluster's event TTL (`kube-apiserver --event-ttl`, 60 minutes on EKS). Events created
    /// and expired while Event Keeper was stopped longer than this are gone for good.
    pub event_ttl: Duration,
    /// Forget an event this long after it was last seen. Must exceed the cluster's event TTL
    /// (60 minutes on EKS) with a margin: an event forgotten while it still exists would be
    /// exported again by a relist.
    pub prune_after: Duration,
}

impl Default for LedgerConfig {
    fn default() -> Self {
        LedgerConfig {
            event_ttl: Duration::from_secs(3600),
            prune_after: Duration::from_secs(3 * 3600),
        }
    }
}

impl LedgerConfig {
    /// Sets [`event_ttl`](Self::event_ttl).
    #[must_use]
    pub fn event_ttl(mut self, ttl: Duration) -> Self {
        self.event_ttl = ttl;
        self
    }

    /// Sets [`prune_after`](Self::prune_after).
    #[must_use]
    pub fn prune_after(mut self, after: Duration) -> Self {
        self.prune_after = after;
        self
    }
}

/// The in-memory side of the checkpoint, shared by the source (which offers occurrences) and the
/// pipeline (which acknowledges them). Cheap to clone.
///
/// An occurrence enters as a [`Ticket`] when the source offers it; it is recorded in the
/// checkpoint only when the ticket is [acknowledged](Ticket::ack). A ticket dropped without being
/// settled stays in flight, which holds the resume point back: losing track of an event can only
/// cause a replay, never a loss.
#[derive(Clone, Debug)]
pub struct Ledger {
    inner: Arc<Mutex<State>>,
    config: Arc<LedgerConfig>,
}

#[derive(Debug, Default)]
struct State {
    events: HashMap<Box<str>, Entry>,
    sources: HashMap<Arc<str>, SourceState>,
    /// Deleted events, forgotten once the resume point has passed their deletion.
    tombstones: Vec<(Arc<str>, u64, Box<str>)>,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    /// Newest resourceVersion handed to the pipeline (acknowledged or not).
    emitted: u64,
    /// Newest resourceVersion every sink acknowledged; 0 when none yet.
    exported: u64,
    last_seen: i64,
}

#[derive(Debug, Default)]
struct SourceState {
    /// Every notification up to here was seen; `None` before the first.
    observed: Option<u64>,
    /// resourceVersion → number of unsettled tickets at it.
    in_flight: BTreeMap<u64, u32>,
    /// While a relist is under way: the highest resourceVersion listed so far.
    listing_max: Option<u64>,
}

impl SourceState {
    /// The watch can restart after this resourceVersion without skipping an unsettled ticket:
    /// a watch from `rv` replays every change with a greater one.
    fn resume_point(&self) -> Option<u64> {
        match self.in_flight.first_key_value() {
            Some((&oldest, _)) => {
                let before_oldest = oldest.saturating_sub(1);
                Some(
                    self.observed
                        .map_or(before_oldest, |o| o.min(before_oldest)),
                )
            }
            None => self.observed,
        }
    }
}

/// The acknowledgement handle of one occurrence handed to the pipeline.
///
/// Settle it with [`ack`](Ticket::ack) once every sink stored the event, or
/// [`dismiss`](Ticket::dismiss) when it was filtered out. Dropping it unsettled keeps the
/// occurrence in flight, so the resume point never passes it.
#[derive(Debug)]
#[must_use = "an unsettled ticket holds the resume point back"]
pub struct Ticket {
    ledger: Ledger,
    source: Arc<str>,
    uid: Box<str>,
    resource_version: u64,
    last_seen: i64,
    settled: bool,
}

impl Ticket {
    /// The resourceVersion of the occurrence.
    pub fn resource_version(&self) -> u64 {
        self.resource_version
    }

    /// Records the occurrence as stored by every sink.
    pub fn ack(mut self) {
        self.settled = true;
        let mut state = self.ledger.lock();
        release(&mut state, &self.source, self.resource_version);
        if let Some(entry) = state.events.get_mut(&*self.uid) {
            entry.exported = entry.exported.max(self.resource_version);
            entry.last_seen = entry.last_seen.max(self.last_seen);
        }
    }

    /// Settles an occurrence that was filtered out on purpose: it no longer holds the resume
    /// point back, and it is not recorded as exported.
    pub fn dismiss(mut self) {
        self.settled = true;
        let mut state = self.ledger.lock();
        release(&mut state, &self.source, self.resource_version);
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if !self.settled {
            tracing::debug!(
                event.uid = %self.uid,
                event.rv = self.resource_version,
                "occurrence abandoned unacknowledged; it will be replayed after a restart"
            );
        }
    }
}

fn release(state: &mut State, source: &str, rv: u64) {
    if let Some(src) = state.sources.get_mut(source)
        && let Some(n) = src.in_flight.get_mut(&rv)
    {
        *n -= 1;
        if *n == 0 {
            src.in_flight.remove(&rv);
        }
    }
}

/// How a source saw an occurrence; it decides what the resume point may learn from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// From a watch: resourceVersions arrive in order.
    Watch,
    /// From a (re)list: any order, so the resume point waits for the end of the list.
    List,
}

impl Ledger {
    /// An empty ledger: nothing exported, no resume point.
    pub fn new(config: LedgerConfig) -> Self {
        Ledger {
            inner: Arc::default(),
            config: Arc::new(config),
        }
    }

    /// A ledger that continues from a saved checkpoint.
    pub fn from_checkpoint(checkpoint: Checkpoint, config: LedgerConfig) -> Self {
        let ledger = Ledger::new(config);
        {
            let mut state = ledger.lock();
            for (uid, seen) in checkpoint.events {
                state.events.insert(
                    uid.into_boxed_str(),
                    Entry {
                        emitted: seen.resource_version,
                        exported: seen.resource_version,
                        last_seen: seen.last_seen,
                    },
                );
            }
            for (source, rv) in checkpoint.resume {
                state.sources.insert(
                    Arc::from(source),
                    SourceState {
                        observed: Some(rv),
                        ..SourceState::default()
                    },
                );
            }
        }
        ledger
    }

    /// Loads the saved checkpoint from `store` (an empty ledger when there is none), warning when
    /// it is older than the event TTL: events that were created and expired meanwhile are lost.
    ///
    /// # Errors
    ///
    /// [`CheckpointError`](super::CheckpointError) when the checkpoint exists but is unreadable.
    pub async fn load(
        store: &dyn super::CheckpointStore,
        config: LedgerConfig,
    ) -> Result<Self, super::CheckpointError> {
        let Some(checkpoint) = store.load().await? else {
            tracing::info!("no checkpoint yet; starting with a full list of the current events");
            return Ok(Ledger::new(config));
        };
        let age = Timestamp::now().duration_since(checkpoint.saved_at);
        if let Some(age) = stale_by(age, config.event_ttl) {
            tracing::warn!(
                checkpoint_age_secs = age.as_secs(),
                event_ttl_secs = config.event_ttl.as_secs(),
                "the checkpoint is older than the event TTL: events created and expired while Event Keeper was stopped are lost"
            );
        } else {
            tracing::info!(events = checkpoint.events.len(), "resuming from checkpoint");
        }
        Ok(Ledger::from_checkpoint(checkpoint, config))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the maps half-updated in a way that
        // matters more than stopping would, so keep going with the data as it is.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The resourceVersion from which `source` can resume watching without loss, if known.
    pub fn resume_point(&self, source: &str) -> Option<u64> {
        self.lock()
            .sources
            .get(source)
            .and_then(SourceState::resume_point)
    }

    /// The last acknowledged resourceVersion of the event `uid`, if any.
    pub fn exported_version(&self, uid: &str) -> Option<u64> {
        self.lock()
            .events
            .get(uid)
            .map(|e| e.exported)
            .filter(|&rv| rv > 0)
    }

    /// How many occurrences are handed out and not yet settled, over every source.
    pub fn in_flight(&self) -> usize {
        self.lock()
            .sources
            .values()
            .flat_map(|s| s.in_flight.values())
            .map(|&n| n as usize)
            .sum()
    }

    /// How many events the ledger remembers.
    pub fn tracked_events(&self) -> usize {
        self.lock().events.len()
    }

    /// Offers an occurrence seen by `source`. Returns a ticket when it is new, `None` when this
    /// or a newer occurrence of the same event was already handed out.
    pub(crate) fn offer(
        &self,
        source: &Arc<str>,
        phase: Phase,
        uid: &str,
        rv: u64,
        last_seen: Timestamp,
    ) -> Option<Ticket> {
        let mut state = self.lock();
        let last_seen = last_seen.as_second();
        let fresh = match state.events.get_mut(uid) {
            Some(entry) if entry.emitted >= rv => false,
            Some(entry) => {
                entry.emitted = rv;
                entry.last_seen = entry.last_seen.max(last_seen);
                true
            }
            None => {
                state.events.insert(
                    Box::from(uid),
                    Entry {
                        emitted: rv,
                        exported: 0,
                        last_seen,
                    },
                );
                true
            }
        };
        let src = state.sources.entry(source.clone()).or_default();
        if fresh {
            *src.in_flight.entry(rv).or_insert(0) += 1;
        }
        observe_in(src, phase, rv);
        drop(state);
        fresh.then(|| Ticket {
            ledger: self.clone(),
            source: source.clone(),
            uid: Box::from(uid),
            resource_version: rv,
            last_seen,
            settled: false,
        })
    }

    /// Records a notification that carries no occurrence (a bookmark, an unreadable object).
    pub(crate) fn observe(&self, source: &Arc<str>, phase: Phase, rv: u64) {
        let mut state = self.lock();
        observe_in(state.sources.entry(source.clone()).or_default(), phase, rv);
    }

    /// Records that the event `uid` was deleted (its TTL expired) at `rv`.
    pub(crate) fn deleted(&self, source: &Arc<str>, uid: &str, rv: u64) {
        let mut state = self.lock();
        observe_in(
            state.sources.entry(source.clone()).or_default(),
            Phase::Watch,
            rv,
        );
        state.tombstones.push((source.clone(), rv, Box::from(uid)));
    }

    /// A relist of `source` begins: its items arrive in any order.
    pub(crate) fn begin_list(&self, source: &Arc<str>) {
        let mut state = self.lock();
        state.sources.entry(source.clone()).or_default().listing_max = Some(0);
    }

    /// The relist of `source` is complete: every listed item was offered, so the resume point may
    /// move up to the newest of them.
    pub(crate) fn end_list(&self, source: &Arc<str>) {
        let mut state = self.lock();
        let src = state.sources.entry(source.clone()).or_default();
        if let Some(max) = src.listing_max.take().filter(|&m| m > 0) {
            src.observed = Some(src.observed.map_or(max, |o| o.max(max)));
        }
    }

    /// A snapshot to persist: acknowledged events and resume points. Forgets events deleted
    /// before the resume point and events not seen for longer than `prune_after`.
    pub fn snapshot(&self) -> Checkpoint {
        let now = Timestamp::now();
        let horizon = now.as_second() - self.config.prune_after.as_secs() as i64;
        let mut state = self.lock();
        let state = &mut *state;
        let resume: BTreeMap<String, u64> = state
            .sources
            .iter()
            .filter_map(|(k, s)| s.resume_point().map(|rv| (k.to_string(), rv)))
            .collect();
        let events = &mut state.events;
        state.tombstones.retain(|(source, rv, uid)| {
            let passed = resume.get(&**source).is_some_and(|r| r >= rv);
            if passed {
                events.remove(uid);
            }
            !passed
        });
        events.retain(|_, e| e.last_seen >= horizon || e.emitted > e.exported);
        let events = events
            .iter()
            .filter(|(_, e)| e.exported > 0)
            .map(|(uid, e)| {
                (
                    uid.to_string(),
                    SeenEvent {
                        resource_version: e.exported,
                        last_seen: e.last_seen,
                    },
                )
            })
            .collect();
        let mut checkpoint = Checkpoint::empty();
        checkpoint.saved_at = now;
        checkpoint.resume = resume;
        checkpoint.events = events;
        checkpoint
    }
}

/// The checkpoint's age when it exceeds the event TTL.
fn stale_by(age: jiff::SignedDuration, event_ttl: Duration) -> Option<Duration> {
    let age = Duration::try_from(age).ok()?;
    (age > event_ttl).then_some(age)
}

fn observe_in(src: &mut SourceState, phase: Phase, rv: u64) {
    match (phase, src.listing_max.as_mut()) {
        (Phase::List, Some(max)) => *max = (*max).max(rv),
        // A list item outside begin/end_list says nothing about order: learn nothing.
        (Phase::List, None) => {}
        (Phase::Watch, _) => src.observed = Some(src.observed.map_or(rv, |o| o.max(rv))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src() -> Arc<str> {
        Arc::from("events@*")
    }

    fn ledger() -> Ledger {
        Ledger::new(LedgerConfig::default())
    }

    fn now() -> Timestamp {
        Timestamp::now()
    }

    #[test]
    fn resume_point_stops_before_the_oldest_unacknowledged_occurrence() {
        let l = ledger();
        let a = l.offer(&src(), Phase::Watch, "a", 10, now()).unwrap();
        let b = l.offer(&src(), Phase::Watch, "b", 11, now()).unwrap();
        l.observe(&src(), Phase::Watch, 15);
        assert_eq!(l.resume_point("events@*"), Some(9));
        b.ack();
        assert_eq!(l.resume_point("events@*"), Some(9));
        a.ack();
        assert_eq!(l.resume_point("events@*"), Some(15));
    }

    #[test]
    fn a_second_offer_of_the_same_or_older_version_is_a_duplicate() {
        let l = ledger();
        l.offer(&src(), Phase::Watch, "a", 10, now()).unwrap().ack();
        assert!(l.offer(&src(), Phase::List, "a", 10, now()).is_none());
        assert!(l.offer(&src(), Phase::List, "a", 9, now()).is_none());
        let newer = l.offer(&src(), Phase::Watch, "a", 12, now());
        assert!(newer.is_some(), "a count bump is a new occurrence");
    }

    #[test]
    fn in_flight_occurrences_are_not_offered_twice() {
        let l = ledger();
        let _held = l.offer(&src(), Phase::Watch, "a", 10, now()).unwrap();
        assert!(l.offer(&src(), Phase::List, "a", 10, now()).is_none());
    }

    #[test]
    fn only_acknowledged_occurrences_are_checkpointed() {
        let l = ledger();
        let a = l.offer(&src(), Phase::Watch, "a", 10, now()).unwrap();
        let b = l.offer(&src(), Phase::Watch, "b", 11, now()).unwrap();
        b.dismiss();
        let cp = l.snapshot();
        assert!(cp.events.is_empty());
        assert_eq!(cp.resume.get("events@*"), Some(&9));
        a.ack();
        let cp = l.snapshot();
        assert_eq!(cp.events["a"].resource_version, 10);
        assert!(!cp.events.contains_key("b"));
        assert_eq!(cp.resume.get("events@*"), Some(&11));
    }

    #[test]
    fn an_abandoned_ticket_holds_the_resume_point_back() {
        let l = ledger();
        drop(l.offer(&src(), Phase::Watch, "a", 10, now()).unwrap());
        l.observe(&src(), Phase::Watch, 20);
        assert_eq!(l.resume_point("events@*"), Some(9));
        assert_eq!(l.in_flight(), 1);
    }

    #[test]
    fn a_relist_moves_the_resume_point_only_when_complete() {
        let l = ledger();
        l.observe(&src(), Phase::Watch, 5);
        l.begin_list(&src());
        l.offer(&src(), Phase::List, "b", 30, now()).unwrap().ack();
        // An item with a lower version may still be on its way.
        assert_eq!(l.resume_point("events@*"), Some(5));
        l.offer(&src(), Phase::List, "a", 20, now()).unwrap().ack();
        l.end_list(&src());
        assert_eq!(l.resume_point("events@*"), Some(30));
    }

    #[test]
    fn deleted_events_are_forgotten_once_the_resume_point_passes_the_deletion() {
        let l = ledger();
        l.offer(&src(), Phase::Watch, "a", 10, now()).unwrap().ack();
        let pending = l.offer(&src(), Phase::Watch, "b", 11, now()).unwrap();
        l.deleted(&src(), "a", 12);
        assert!(
            l.snapshot().events.contains_key("a"),
            "b is still in flight"
        );
        pending.ack();
        let cp = l.snapshot();
        assert!(!cp.events.contains_key("a"));
        assert!(cp.events.contains_key("b"));
    }

    #[test]
    fn events_not_seen_for_longer_than_prune_after_are_forgotten() {
        let l = Ledger::new(LedgerConfig::default().prune_after(Duration::from_secs(3600)));
        let old = now() - jiff::SignedDuration::from_hours(2);
        l.offer(&src(), Phase::Watch, "old", 10, old).unwrap().ack();
        l.offer(&src(), Phase::Watch, "new", 11, now())
            .unwrap()
            .ack();
        let cp = l.snapshot();
        assert!(!cp.events.contains_key("old"));
        assert!(cp.events.contains_key("new"));
    }

    #[test]
    fn only_a_checkpoint_older_than_the_ttl_is_stale() {
        let ttl = Duration::from_secs(3600);
        assert_eq!(stale_by(jiff::SignedDuration::from_secs(600), ttl), None);
        assert_eq!(
            stale_by(jiff::SignedDuration::from_secs(7200), ttl),
            Some(Duration::from_secs(7200))
        );
        assert_eq!(stale_by(jiff::SignedDuration::from_secs(-5), ttl), None);
    }

    #[tokio::test]
    async fn load_starts_empty_without_a_checkpoint_and_resumes_with_one() {
        let dir = tempfile::tempdir().unwrap();
        let store = super::super::FileCheckpointStore::new(dir.path().join("cp.json"));
        let fresh = Ledger::load(&store, LedgerConfig::default()).await.unwrap();
        assert_eq!(fresh.resume_point("events@*"), None);
        fresh
            .offer(&src(), Phase::Watch, "a", 10, now())
            .unwrap()
            .ack();
        super::super::CheckpointStore::save(&store, &fresh.snapshot())
            .await
            .unwrap();
        let resumed = Ledger::load(&store, LedgerConfig::default()).await.unwrap();
        assert_eq!(resumed.resume_point("events@*"), Some(10));
        assert_eq!(resumed.exported_version("a"), Some(10));
    }

    #[test]
    fn a_checkpoint_restores_dedup_state_and_resume_point() {
        let l = ledger();
        l.offer(&src(), Phase::Watch, "a", 10, now()).unwrap().ack();
        let restored = Ledger::from_checkpoint(l.snapshot(), LedgerConfig::default());
        assert_eq!(restored.resume_point("events@*"), Some(10));
        assert!(
            restored
                .offer(&src(), Phase::Watch, "a", 10, now())
                .is_none()
        );
        assert!(
            restored
                .offer(&src(), Phase::Watch, "a", 13, now())
                .is_some()
        );
    }
}
