//! The live record of what was observed, what is in flight and what every sink acknowledged.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use jiff::Timestamp;

use super::state::{CheckpointView, FORMAT_VERSION};
use super::uid::Uid;
use super::{Checkpoint, EncodedCheckpoint, SeenEvent};

mod ahead;

use ahead::Suspect;

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

/// The ledger's maps, hashed with foldhash: every occurrence costs several lookups (offer,
/// acknowledgement, forgetting), and SipHash, the standard hasher, took about 3 % of a replaying
/// watch's instructions. The keys are uids the API server assigned and the configured source
/// keys, not text an attacker picks, and the seed is random per process.
type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

#[derive(Debug, Default)]
struct State {
    events: Map<Uid, Entry>,
    sources: Map<Arc<str>, SourceState>,
    /// The newest resourceVersion the previous run may have handed to a sink, as loaded.
    dispatched_before: Option<u64>,
    /// The newest resourceVersion this run may have handed to a sink.
    dispatched: Option<u64>,
    /// The newest resourceVersion offered by any source.
    newest_offered: Option<u64>,
    /// Sources whose saved resume point was ahead of the cluster (see [`ahead`]); they relist
    /// from scratch and trust only exact occurrences of the checkpoint.
    distrusted: Vec<Arc<str>>,
    /// Events the checkpoint held as exported when a saved resume point turned out to be ahead
    /// of the cluster: the exported resourceVersion stands for that one occurrence only.
    suspects: Map<Uid, Suspect>,
}

#[derive(Debug, Clone)]
struct Entry {
    /// Newest resourceVersion handed to the pipeline (acknowledged or not).
    emitted: u64,
    /// Newest resourceVersion every sink acknowledged; 0 when none yet.
    exported: u64,
    /// Newest resourceVersion acknowledged or dismissed by a filter; 0 when none yet.
    settled: u64,
    last_seen: i64,
    /// The source that offered it; `None` for entries loaded from a checkpoint.
    source: Option<Arc<str>>,
}

impl Entry {
    /// An occurrence is handed out and not yet acknowledged or dismissed.
    fn pending(&self) -> bool {
        self.emitted > self.settled
    }

    /// Nothing is pending and the resume point `point` of its source stands for it: the entry
    /// can go.
    fn covered_by(&self, point: Option<u64>) -> bool {
        !self.pending() && point.is_some_and(|point| self.emitted <= point)
    }
}

#[derive(Debug, Default)]
struct SourceState {
    /// Every notification up to here was seen; `None` before the first.
    observed: Option<u64>,
    /// resourceVersion → number of unsettled tickets at it.
    in_flight: BTreeMap<u64, u32>,
    /// While a relist is under way: the highest resourceVersion listed so far.
    listing_max: Option<u64>,
    /// While a relist is under way: listed objects at or below this version were already seen.
    list_floor: Option<u64>,
}

impl SourceState {
    /// One ticket at `rv` is settled.
    fn release(&mut self, rv: u64) {
        if let Some(n) = self.in_flight.get_mut(&rv) {
            *n -= 1;
            if *n == 0 {
                self.in_flight.remove(&rv);
            }
        }
    }

    /// The watch can restart after this resourceVersion without skipping an unsettled ticket:
    /// a watch from `rv` replays every change with a greater one.
    fn resume_point(&self) -> Option<u64> {
        // Nothing watched yet: a first list arrives in any order, so no version below its items
        // is known to be complete until it ends.
        let observed = self.observed?;
        let point = match self.in_flight.first_key_value() {
            Some((&oldest, _)) => observed.min(oldest.saturating_sub(1)),
            None => observed,
        };
        // A watch from resourceVersion "0" means "from any recent state" to the API server,
        // not "from the beginning": such a point must relist instead.
        Some(point).filter(|&rv| rv > 0)
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
    uid: Uid,
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
        self.settle(true);
    }

    /// Settles an occurrence that was filtered out on purpose: it no longer holds the resume
    /// point back, and it is not recorded as exported.
    pub fn dismiss(mut self) {
        self.settle(false);
    }

    /// Releases the occurrence from its source's in-flight set, records it settled (and
    /// exported, when it was), and forgets the event once the resume point covers it.
    ///
    /// Forgetting here rather than at the next snapshot (the same rule, [`Entry::covered_by`])
    /// keeps a burst (a watch replaying a backlog at tens of thousands of events a second) from
    /// filling the map with entries the resume point already stands for.
    fn settle(&mut self, exported: bool) {
        self.settled = true;
        let mut guard = self.ledger.lock();
        let state = &mut *guard;
        let own_point = state.sources.get_mut(&*self.source).and_then(|src| {
            src.release(self.resource_version);
            src.resume_point()
        });
        let Some(entry) = state.events.get_mut(&self.uid) else {
            return;
        };
        if exported {
            entry.exported = entry.exported.max(self.resource_version);
            entry.last_seen = entry.last_seen.max(self.last_seen);
        }
        entry.settled = entry.settled.max(self.resource_version);
        // The entry's source is the last one that offered it, almost always this ticket's.
        let point = match entry.source.as_deref() {
            Some(source) if source == &*self.source => own_point,
            Some(source) => state
                .sources
                .get(source)
                .and_then(SourceState::resume_point),
            None => None,
        };
        if entry.covered_by(point) {
            state.events.remove(&self.uid);
        }
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
                    Uid::new(&uid),
                    Entry {
                        emitted: seen.resource_version,
                        exported: seen.resource_version,
                        settled: seen.resource_version,
                        last_seen: seen.last_seen,
                        source: None,
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
            state.dispatched_before = checkpoint.dispatched;
            state.dispatched = checkpoint.dispatched;
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
            tracing::info!(
                sources = checkpoint.resume.len(),
                events = checkpoint.events.len(),
                "resuming from checkpoint"
            );
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

    /// The last acknowledged resourceVersion of the event `uid`, while the ledger tracks it one
    /// by one: once its source's resume point has passed it, the resume point stands for it and
    /// this returns `None`. That is as soon as it is settled when it is the oldest occurrence
    /// in flight, else at the first snapshot after the resume point passes it.
    pub fn exported_version(&self, uid: &str) -> Option<u64> {
        self.lock()
            .events
            .get(&Uid::new(uid))
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

    /// How many events the ledger tracks one by one (those its resume points do not yet cover).
    pub fn tracked_events(&self) -> usize {
        self.lock().events.len()
    }

    /// The newest resourceVersion the previous run may have handed to a sink without the
    /// checkpoint recording it; occurrences up to it may already be stored, so the pipeline
    /// asks each sink ([`Sink::already_stored`](crate::Sink::already_stored)) before sending them.
    pub fn dispatched_before_restart(&self) -> Option<u64> {
        self.lock().dispatched_before
    }

    /// Raises the dispatch mark to the newest offered resourceVersion when `rv` is above it.
    /// Returns true when the mark moved and must be saved before `rv` reaches a sink.
    pub(crate) fn mark_dispatched(&self, rv: u64) -> bool {
        let mut state = self.lock();
        if state.dispatched.is_some_and(|d| d >= rv) {
            return false;
        }
        // Marking up to the newest offered version covers what the stream has buffered too,
        // so the next batches need no save of their own.
        let mark = state.newest_offered.map_or(rv, |n| n.max(rv));
        state.dispatched = Some(mark);
        true
    }

    /// Offers an occurrence seen by `source`. Returns a ticket when it is new, `None` when this
    /// or a newer occurrence of the same event was already handed out, or when `source` had
    /// already seen every change up to `rv` (a relisted object the resume point covers).
    pub(crate) fn offer(
        &self,
        source: &Arc<str>,
        phase: Phase,
        uid: &str,
        rv: u64,
        last_seen: Timestamp,
    ) -> Option<Ticket> {
        let uid = Uid::new(uid);
        let mut guard = self.lock();
        let state = &mut *guard;
        let last_seen = last_seen.as_second();
        let src = state.sources.entry(source.clone()).or_default();
        let floor = match phase {
            Phase::List => src.list_floor,
            Phase::Watch => src.resume_point(),
        };
        let covered = floor.is_some_and(|f| rv <= f);
        let distrusted = state.distrusted.contains(source);
        let fresh = !covered
            && match state.events.get_mut(&uid) {
                Some(entry) if entry.emitted >= rv => false,
                Some(entry) => {
                    entry.emitted = rv;
                    entry.last_seen = entry.last_seen.max(last_seen);
                    entry.source = Some(source.clone());
                    true
                }
                None if ahead::suspect_holds(&state.suspects, &uid, rv, distrusted) => false,
                None => {
                    state.suspects.remove(&uid);
                    state.events.insert(
                        uid.clone(),
                        Entry {
                            emitted: rv,
                            exported: 0,
                            settled: 0,
                            last_seen,
                            source: Some(source.clone()),
                        },
                    );
                    true
                }
            };
        state.newest_offered = Some(state.newest_offered.map_or(rv, |n| n.max(rv)));
        if fresh {
            *src.in_flight.entry(rv).or_insert(0) += 1;
        }
        observe_in(src, phase, rv);
        drop(guard);
        fresh.then(|| Ticket {
            ledger: self.clone(),
            source: source.clone(),
            uid,
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

    /// Records that the event `uid` was deleted (its TTL expired) at `rv`. The ledger forgets
    /// it once the resume point passes its last occurrence, like every other event.
    pub(crate) fn deleted(&self, source: &Arc<str>, uid: &str, rv: u64) {
        let _ = uid;
        self.observe(source, Phase::Watch, rv);
    }

    /// A relist of `source` begins: its items arrive in any order, and those at or below the
    /// resume point were already seen (the watch observed every change up to it).
    ///
    /// A source without a resume point of its own (a namespace newly added to the watch) falls
    /// back to that of the all-namespaces source of the same kind, which saw all of it.
    ///
    /// A source whose saved resume point was ahead of the cluster relists from scratch.
    pub(crate) fn begin_list(&self, source: &Arc<str>) {
        let mut state = self.lock();
        let floor = if state.distrusted.contains(source) {
            None
        } else {
            list_floor(&state, source)
        };
        let src = state.sources.entry(source.clone()).or_default();
        src.listing_max = Some(0);
        src.list_floor = floor;
    }

    /// The resourceVersion of the deletion of an object that the relist of `source` under way no
    /// longer shows, `newest_seen` being the newest version of it seen before: one after every
    /// change the watch saw and after that version, and no lower than the newest listed item.
    ///
    /// The deletion's own version is unknown, but it lies after those and at most at the list's
    /// (which shows the object gone), so the resume point moving up to this one skips nothing;
    /// and it is above the list's floor, so the deletion is offered rather than taken as seen.
    pub(crate) fn gone_in_list_version(&self, source: &Arc<str>, newest_seen: u64) -> u64 {
        let state = self.lock();
        let Some(src) = state.sources.get(source) else {
            return newest_seen + 1;
        };
        let after = |rv: Option<u64>| rv.map_or(0, |rv| rv + 1);
        (newest_seen + 1)
            .max(after(src.observed))
            .max(after(src.list_floor))
            .max(src.listing_max.unwrap_or(0))
    }

    /// The relist of `source` is complete: every listed item was offered, so the resume point may
    /// move up to the newest of them.
    pub(crate) fn end_list(&self, source: &Arc<str>) {
        let mut state = self.lock();
        let src = state.sources.entry(source.clone()).or_default();
        src.list_floor = None;
        if let Some(max) = src.listing_max.take().filter(|&m| m > 0) {
            src.observed = Some(src.observed.map_or(max, |o| o.max(max)));
        }
    }

    /// A snapshot to persist: resume points, the dispatch mark, and the events the resume
    /// points do not cover yet.
    ///
    /// Taking it also compacts the ledger: an event whose newest occurrence is settled and at or
    /// below its source's resume point needs no entry of its own (the resume point says it was
    /// seen), and an event not seen for longer than `prune_after` is forgotten. So the
    /// checkpoint stays small however many events the cluster holds.
    pub fn snapshot(&self) -> Checkpoint {
        let now = Timestamp::now();
        let mut state = self.lock();
        let resume = self.compact(&mut state, now);
        let events = exported(&state.events)
            .map(|(uid, seen)| (uid.to_string(), seen))
            .collect();
        let mut checkpoint = Checkpoint::empty();
        checkpoint.saved_at = now;
        checkpoint.resume = resume;
        checkpoint.events = events;
        checkpoint.dispatched = state.dispatched;
        checkpoint
    }

    /// The same [snapshot](Self::snapshot), compacting the same way, written straight to its
    /// JSON: what a [`CheckpointStore`](super::CheckpointStore) saves, without a copy of the
    /// tracked events in between.
    ///
    /// ```
    /// use event_core::checkpoint::{Ledger, LedgerConfig};
    ///
    /// let ledger = Ledger::new(LedgerConfig::default());
    /// let encoded = ledger.encoded_snapshot()?;
    /// assert_eq!(encoded.decode()?.events.len(), 0);
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// A [`serde_json::Error`] should serialization fail (it does not for these types).
    pub fn encoded_snapshot(&self) -> Result<EncodedCheckpoint, serde_json::Error> {
        let now = Timestamp::now();
        let mut state = self.lock();
        let resume = self.compact(&mut state, now);
        let count = exported(&state.events).count();
        let view = CheckpointView {
            version: FORMAT_VERSION,
            saved_at: now,
            resume: &resume,
            events: Exported(&state.events),
            dispatched: state.dispatched,
        };
        EncodedCheckpoint::from_view(&view, count)
    }

    /// The resume points, after forgetting every event a resume point covers or that was not
    /// seen for longer than `prune_after`. So the checkpoint stays small however many events the
    /// cluster holds.
    fn compact(&self, state: &mut State, now: Timestamp) -> BTreeMap<String, u64> {
        let horizon = now.as_second() - self.config.prune_after.as_secs() as i64;
        let resume: BTreeMap<String, u64> = state
            .sources
            .iter()
            .filter_map(|(k, s)| s.resume_point().map(|rv| (k.to_string(), rv)))
            .collect();
        // Entries loaded from a checkpoint do not know their source: any source's resume
        // point may not cover them, so only the lowest one does.
        let lowest = resume.values().copied().min();
        state.events.retain(|_, e| {
            let point = match &e.source {
                Some(source) => resume.get(&**source).copied(),
                None => lowest,
            };
            e.pending() || (!e.covered_by(point) && e.last_seen >= horizon)
        });
        state.suspects.retain(|_, s| s.last_seen >= horizon);
        // A list of a large cluster fills the map until its resume point covers the events;
        // without this the emptied table keeps its size (about 9 MB per 100,000 events).
        if state.events.capacity() > 4 * state.events.len() + MIN_RETAINED_CAPACITY {
            state.events.shrink_to(2 * state.events.len());
        }
        resume
    }
}

/// The version below which a relist of `source` has seen everything: its own resume point, or
/// for a namespace newly watched, that of the all-namespaces source of the same kind.
fn list_floor(state: &State, source: &str) -> Option<u64> {
    let own = state
        .sources
        .get(source)
        .and_then(SourceState::resume_point);
    own.or_else(|| {
        state
            .sources
            .get(all_namespaces_of(source)?.as_str())
            .and_then(SourceState::resume_point)
    })
}

/// `kind@*` for a source `kind@namespace`; `None` for one of all namespaces or a cluster-scoped
/// kind.
fn all_namespaces_of(source: &str) -> Option<String> {
    let (kind, namespace) = source.split_once('@')?;
    (namespace != "*").then(|| format!("{kind}@*"))
}

/// What a checkpoint records of the tracked events: those some occurrence of which every sink
/// acknowledged (an entry only in flight or dismissed has nothing to record).
fn exported(events: &Map<Uid, Entry>) -> impl Iterator<Item = (&Uid, SeenEvent)> {
    events
        .iter()
        .filter(|(_, e)| e.exported > 0)
        .map(|(uid, e)| {
            let seen = SeenEvent {
                resource_version: e.exported,
                last_seen: e.last_seen,
            };
            (uid, seen)
        })
}

/// The tracked events, serialized as a checkpoint's `events`: `{uid: [rv, lastSeen]}`.
struct Exported<'a>(&'a Map<Uid, Entry>);

impl serde::Serialize for Exported<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(
            exported(self.0).map(|(uid, seen)| (uid, (seen.resource_version, seen.last_seen))),
        )
    }
}

/// Tracked-event slots a snapshot keeps allocated however few events remain: a table this small
/// costs little, and regrowing it on every burst would cost more.
const MIN_RETAINED_CAPACITY: usize = 1024;

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
        // An older occurrence in flight keeps the resume point below a, so a stays tracked.
        let _held = l.offer(&src(), Phase::Watch, "z", 5, now()).unwrap();
        l.offer(&src(), Phase::Watch, "a", 10, now()).unwrap().ack();
        assert_eq!(l.exported_version("a"), Some(10));
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
        assert_eq!(l.exported_version("a"), None, "covered at once: forgotten");
        assert_eq!(l.exported_version("b"), None, "dismissed, not exported");
        assert_eq!(
            l.tracked_events(),
            1,
            "b, settled ahead of a, waits for a snapshot"
        );
        let cp = l.snapshot();
        assert!(cp.events.is_empty(), "the resume point covers both: {cp:?}");
        assert_eq!(cp.resume.get("events@*"), Some(&11));
        assert_eq!(l.tracked_events(), 0, "a dismissed event is settled too");
    }

    #[test]
    fn a_settled_occurrence_the_resume_point_covers_is_forgotten_at_once_and_stays_seen() {
        let l = ledger();
        let a = l.offer(&src(), Phase::Watch, "a", 10, now()).unwrap();
        let b = l.offer(&src(), Phase::Watch, "b", 11, now()).unwrap();
        b.ack();
        assert_eq!(
            l.exported_version("b"),
            Some(11),
            "acknowledged ahead of a: the resume point (9) does not cover it yet"
        );
        a.ack();
        assert_eq!(l.exported_version("a"), None);
        assert_eq!(l.tracked_events(), 1, "b waits for the next snapshot");
        assert!(l.snapshot().events.is_empty());
        assert_eq!(l.tracked_events(), 0);
        // Forgotten, yet never offered again: a watch replay and a relist both skip it.
        assert!(l.offer(&src(), Phase::Watch, "a", 10, now()).is_none());
        l.begin_list(&src());
        assert!(l.offer(&src(), Phase::List, "a", 10, now()).is_none());
        assert!(l.offer(&src(), Phase::List, "b", 11, now()).is_none());
        l.end_list(&src());
    }

    #[test]
    fn a_burst_of_watched_occurrences_acknowledged_in_order_leaves_nothing_tracked() {
        let l = ledger();
        for i in 0..10_000u64 {
            let ticket = l.offer(&src(), Phase::Watch, &format!("e{i}"), 10 + i, now());
            ticket.unwrap().ack();
        }
        assert_eq!(l.tracked_events(), 0);
        assert_eq!(l.resume_point("events@*"), Some(10_009));
    }

    #[test]
    fn there_is_no_resume_point_before_the_first_list_completes() {
        let l = ledger();
        l.begin_list(&src());
        let a = l.offer(&src(), Phase::List, "a", 30, now()).unwrap();
        a.ack();
        let _b = l.offer(&src(), Phase::List, "b", 40, now()).unwrap();
        assert_eq!(l.resume_point("events@*"), None);
        assert!(l.snapshot().resume.is_empty());
        l.end_list(&src());
        assert_eq!(l.resume_point("events@*"), Some(39));
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
    fn a_deletion_found_by_a_relist_is_offered_after_everything_seen_and_never_as_covered() {
        let l = ledger();
        l.offer(&src(), Phase::Watch, "gone", 7, now())
            .unwrap()
            .ack();
        l.observe(&src(), Phase::Watch, 12);
        l.begin_list(&src());
        // Nothing listed above what the watch saw: one after it.
        assert_eq!(l.gone_in_list_version(&src(), 7), 13);
        l.offer(&src(), Phase::List, "b", 20, now()).unwrap().ack();
        // A newer listed item: the list is at least there, and so may be the deletion.
        assert_eq!(l.gone_in_list_version(&src(), 7), 20);
        // An object seen at a version above both (kept by the scope, not by the ledger).
        assert_eq!(l.gone_in_list_version(&src(), 25), 26);
        let rv = l.gone_in_list_version(&src(), 7);
        let ticket = l.offer(&src(), Phase::List, "gone", rv, now());
        assert!(ticket.is_some(), "the deletion is a new occurrence");
        ticket.unwrap().ack();
        l.end_list(&src());
        assert_eq!(l.resume_point("events@*"), Some(20));
        assert!(l.offer(&src(), Phase::Watch, "gone", rv, now()).is_none());
        // A source the ledger never saw.
        assert_eq!(l.gone_in_list_version(&Arc::from("pods@x"), 4), 5);
    }

    #[test]
    fn deleted_events_are_forgotten_once_the_resume_point_passes_them() {
        let l = ledger();
        let pending = l.offer(&src(), Phase::Watch, "b", 9, now()).unwrap();
        l.offer(&src(), Phase::Watch, "a", 10, now()).unwrap().ack();
        l.deleted(&src(), "a", 12);
        assert!(
            l.snapshot().events.contains_key("a"),
            "b is still in flight, so the resume point (8) does not cover a"
        );
        pending.ack();
        let cp = l.snapshot();
        assert!(cp.events.is_empty(), "{cp:?}");
        assert_eq!(cp.resume.get("events@*"), Some(&12));
    }

    #[test]
    fn a_snapshot_keeps_only_what_the_resume_point_does_not_cover() {
        let l = ledger();
        let held = l.offer(&src(), Phase::Watch, "a", 10, now()).unwrap();
        l.offer(&src(), Phase::Watch, "b", 11, now()).unwrap().ack();
        let cp = l.snapshot();
        assert_eq!(cp.resume.get("events@*"), Some(&9));
        assert_eq!(cp.events.len(), 1, "b is acknowledged ahead of a: {cp:?}");
        assert_eq!(cp.events["b"].resource_version, 11);
        held.ack();
        let cp = l.snapshot();
        assert!(cp.events.is_empty(), "the resume point (11) covers both");
        assert_eq!(l.tracked_events(), 0);
    }

    #[test]
    fn a_snapshot_gives_back_the_memory_of_events_the_resume_point_now_covers() {
        let l = ledger();
        l.begin_list(&src());
        for i in 0..20_000u64 {
            l.offer(&src(), Phase::List, &format!("e{i}"), 10 + i, now())
                .unwrap()
                .ack();
        }
        l.end_list(&src());
        let full = l.lock().events.capacity();
        assert!(full >= 20_000, "{full}");
        assert!(l.snapshot().events.is_empty());
        let kept = l.lock().events.capacity();
        assert!(
            kept <= 2 * MIN_RETAINED_CAPACITY,
            "{kept} slots kept of {full}"
        );
    }

    #[test]
    fn a_relist_skips_what_the_resume_point_covers_and_offers_the_rest() {
        let l = ledger();
        l.offer(&src(), Phase::Watch, "a", 10, now()).unwrap().ack();
        l.snapshot();
        assert_eq!(l.tracked_events(), 0);
        l.begin_list(&src());
        assert!(
            l.offer(&src(), Phase::List, "a", 10, now()).is_none(),
            "unchanged since the resume point"
        );
        assert!(
            l.offer(&src(), Phase::List, "old", 7, now()).is_none(),
            "older than the resume point: seen before"
        );
        let changed = l.offer(&src(), Phase::List, "a", 14, now());
        assert!(changed.is_some(), "changed after the resume point");
        l.end_list(&src());
        assert_eq!(l.resume_point("events@*"), Some(13));
    }

    #[test]
    fn a_newly_watched_namespace_falls_back_to_the_all_namespaces_resume_point() {
        let l = ledger();
        l.observe(&src(), Phase::Watch, 50);
        let ns: Arc<str> = Arc::from("events@payments");
        l.begin_list(&ns);
        assert!(l.offer(&ns, Phase::List, "seen", 40, now()).is_none());
        assert!(l.offer(&ns, Phase::List, "new", 60, now()).is_some());
        let other: Arc<str> = Arc::from("pods@*");
        l.begin_list(&other);
        assert!(
            l.offer(&other, Phase::List, "pod", 40, now()).is_some(),
            "another kind has no fallback"
        );
    }

    #[test]
    fn the_dispatch_mark_covers_everything_offered_and_moves_only_forward() {
        let l = ledger();
        let _a = l.offer(&src(), Phase::Watch, "a", 10, now()).unwrap();
        let _b = l.offer(&src(), Phase::Watch, "b", 20, now()).unwrap();
        assert!(l.mark_dispatched(10));
        assert_eq!(
            l.snapshot().dispatched,
            Some(20),
            "covers b, offered already"
        );
        assert!(!l.mark_dispatched(20), "b needs no save of its own");
        assert!(l.mark_dispatched(21));
        let restored = Ledger::from_checkpoint(l.snapshot(), LedgerConfig::default());
        assert_eq!(restored.dispatched_before_restart(), Some(21));
        assert_eq!(l.dispatched_before_restart(), None);
    }

    #[test]
    fn events_not_seen_for_longer_than_prune_after_are_forgotten() {
        let l = Ledger::new(LedgerConfig::default().prune_after(Duration::from_secs(3600)));
        let old = now() - jiff::SignedDuration::from_hours(2);
        // Held in flight, so that the resume point covers neither of the others.
        let _held = l.offer(&src(), Phase::Watch, "held", 5, now()).unwrap();
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
        let resumed_src: Arc<str> = Arc::from("events@*");
        assert!(
            resumed
                .offer(&resumed_src, Phase::Watch, "a", 10, now())
                .is_none()
        );
    }

    #[test]
    fn the_encoded_snapshot_is_the_snapshot_as_json() {
        let l = ledger();
        let held = l.offer(&src(), Phase::Watch, "a", 10, now()).unwrap();
        l.offer(&src(), Phase::Watch, "b", 11, now()).unwrap().ack();
        l.offer(&src(), Phase::Watch, "c", 12, now()).unwrap().ack();
        let _pending = l.offer(&src(), Phase::Watch, "d", 13, now()).unwrap();
        let other: Arc<str> = Arc::from("pods@*");
        l.offer(&other, Phase::Watch, "p", 30, now()).unwrap().ack();
        assert!(l.mark_dispatched(13));
        let encoded = l.encoded_snapshot().unwrap();
        let decoded = encoded.decode().unwrap();
        let snapshot = l.snapshot();
        assert_eq!(decoded, snapshot.clone().with_saved_at(decoded.saved_at));
        assert_eq!(encoded.events(), 2, "b and c, acknowledged ahead of a");
        assert_eq!(decoded.events.len(), 2);
        assert_eq!(decoded.resume.get("events@*"), Some(&9));
        assert_eq!(decoded.resume.get("pods@*"), Some(&30));
        assert_eq!(decoded.dispatched, Some(30));
        held.ack();
        let encoded = l.encoded_snapshot().unwrap();
        assert_eq!(encoded.events(), 0, "the resume point (12) covers them now");
        assert_eq!(encoded.decode().unwrap().resume.get("events@*"), Some(&12));
    }

    #[test]
    fn uuid_uids_come_back_as_the_same_text_and_stay_deduplicated() {
        let uuid = "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f";
        let upper = "6F1C2D3E-4A5B-4C6D-8E9F-0A1B2C3D4E5F";
        let l = ledger();
        let _held = l.offer(&src(), Phase::Watch, "older", 5, now()).unwrap();
        l.offer(&src(), Phase::Watch, uuid, 10, now())
            .unwrap()
            .ack();
        l.offer(&src(), Phase::Watch, upper, 11, now())
            .unwrap()
            .ack();
        assert_eq!(l.exported_version(uuid), Some(10));
        assert_eq!(
            l.exported_version(upper),
            Some(11),
            "another uid, kept as text"
        );
        assert!(l.offer(&src(), Phase::Watch, uuid, 10, now()).is_none());
        let cp = l.snapshot();
        let mut uids: Vec<&str> = cp.events.keys().map(String::as_str).collect();
        uids.sort_unstable();
        assert_eq!(uids, [upper, uuid]);
        assert_eq!(
            l.encoded_snapshot().unwrap().decode().unwrap().events,
            cp.events
        );
        let restored = Ledger::from_checkpoint(cp, LedgerConfig::default());
        assert!(
            restored
                .offer(&src(), Phase::List, uuid, 10, now())
                .is_none()
        );
        assert!(
            restored
                .offer(&src(), Phase::List, upper, 11, now())
                .is_none()
        );
        assert!(
            restored
                .offer(&src(), Phase::List, uuid, 12, now())
                .is_some()
        );
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
