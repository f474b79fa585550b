//! The live record of what was observed, what is in flight and what every sink acknowledged.
//!
//! Over 400 lines: the ledger's state and the rules that move a resume point (offer, observe,
//! relist, compaction, snapshot) share one lock and one set of invariants, and read best
//! together; the ticket, the ahead-of-cluster check and the tests have files of their own.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use jiff::Timestamp;

use super::state::{CheckpointView, FORMAT_VERSION};
use super::uid::Uid;
use super::{Checkpoint, EncodedCheckpoint, SeenEvent};

mod ahead;
mod listing;
#[cfg(test)]
mod tests;
mod ticket;

use super::ListedUpTo;
use ahead::Suspect;
use listing::ListProgress;
pub use ticket::Ticket;

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
/// checkpoint only when the ticket is [acknowledged](Ticket::ack). A ticket dropped before the
/// pipeline took it counts as filtered out; one the pipeline held, or dropped once the ledger is
/// [closed](Ledger::close), stays in flight, which holds the resume point back: losing track of
/// an occurrence the sinks were meant to get can only cause a replay, never a loss.
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
    /// Shutting down: a ticket dropped unsettled stays in flight (see [`Ledger::close`]).
    closed: bool,
    /// Numbers the lists, so that a ticket of an earlier list settles nothing in a later one.
    lists_begun: u64,
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
    /// The stream of this source was dropped: a ticket of it dropped unsettled stays in flight.
    closed: bool,
    /// The list under way, in key order: its settled prefix stands for what it passed.
    list: Option<ListProgress>,
    /// Prefixes of earlier lists that did not end (a crash, a list started again): a listed
    /// object they cover was handled. Cleared when a list ends.
    listed: Vec<ListedUpTo>,
    /// Listed objects up to this key may have reached a sink (saved before they do).
    dispatched_key: Option<Arc<str>>,
    /// The same mark as loaded: the previous run may have stored listed objects up to it
    /// without recording them, so those are in doubt; those after it are not.
    dispatched_key_before: Option<Arc<str>>,
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
            for (source, listed) in checkpoint.listed {
                state.sources.entry(Arc::from(source)).or_default().listed = listed;
            }
            for (source, key) in checkpoint.dispatched_listed {
                let src = state.sources.entry(Arc::from(source)).or_default();
                let key: Arc<str> = Arc::from(key);
                src.dispatched_key = Some(key.clone());
                src.dispatched_key_before = Some(key);
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
        Self::raise_dispatched(&mut self.lock(), rv)
    }

    /// [`mark_dispatched`](Self::mark_dispatched) under a lock already held.
    fn raise_dispatched(state: &mut State, rv: u64) -> bool {
        if state.dispatched.is_some_and(|d| d >= rv) {
            return false;
        }
        // Marking up to the newest offered version covers what the stream has buffered too,
        // so the next batches need no save of their own.
        let mark = state.newest_offered.map_or(rv, |n| n.max(rv));
        state.dispatched = Some(mark);
        true
    }

    /// Raises the dispatch marks for a batch about to go to the sinks: the resourceVersion mark
    /// to `max_rv` (see [`mark_dispatched`](Self::mark_dispatched)), and for each source whose
    /// list offered some of `tickets`, its key mark to the newest key that list has offered.
    /// Returns true when a mark moved and must be saved before the batch goes out.
    pub(crate) fn mark_dispatched_batch(&self, max_rv: Option<u64>, tickets: &[Ticket]) -> bool {
        let mut state = self.lock();
        let mut moved = max_rv.is_some_and(|rv| Self::raise_dispatched(&mut state, rv));
        for ticket in tickets {
            let Some(key) = ticket.listed.as_ref().map(|l| &l.key) else {
                continue;
            };
            // Only while its list is under way: once it ended, the version mark covers what it
            // still has in flight, and a key mark saved then would wrongly clear later objects.
            let Some(src) = state
                .sources
                .get_mut(&*ticket.source)
                .filter(|src| src.list.is_some())
            else {
                continue;
            };
            if src.dispatched_key.as_deref().is_none_or(|d| &**key > d) {
                // Up to what the list has offered, as the version mark covers what is buffered.
                let newest = src.list.as_ref().and_then(ListProgress::last_key);
                src.dispatched_key = Some(newest.unwrap_or_else(|| key.clone()));
                moved = true;
            }
        }
        moved
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
        self.offer_at(source, (phase, None), uid, rv, last_seen)
    }

    /// Offers an object of the list under way for `source`, listed under `key`
    /// (`namespace/name`): as [`offer`](Self::offer), and it is skipped when the prefix of an
    /// earlier list that did not end covers it (see [`ListedUpTo`]).
    pub(crate) fn offer_listed(
        &self,
        source: &Arc<str>,
        key: &str,
        uid: &str,
        rv: u64,
        last_seen: Timestamp,
    ) -> Option<Ticket> {
        self.offer_at(source, (Phase::List, Some(key)), uid, rv, last_seen)
    }

    fn offer_at(
        &self,
        source: &Arc<str>,
        (phase, key): (Phase, Option<&str>),
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
        let covered = floor.is_some_and(|f| rv <= f)
            || key.is_some_and(|key| listing::covered(&src.listed, key, rv));
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
        // In doubt after a crash: the previous run may have stored it without recording it. A
        // listed object only up to that run's key mark.
        let doubtful = state.dispatched_before.is_some_and(|d| rv <= d)
            && key.is_none_or(|key| {
                src.dispatched_key_before
                    .as_deref()
                    .is_none_or(|d| key <= d)
            });
        state.newest_offered = Some(state.newest_offered.map_or(rv, |n| n.max(rv)));
        if fresh {
            *src.in_flight.entry(rv).or_insert(0) += 1;
        }
        observe_in(src, phase, rv);
        let place = match (key, src.list.as_mut()) {
            (Some(key), Some(list)) => {
                list.push(key, rv, fresh.then(|| uid.clone()), &mut state.events)
            }
            _ => None,
        };
        let listed = place.and_then(|place| {
            let key = src.list.as_ref().and_then(ListProgress::last_key)?;
            Some(Box::new(ticket::Listed { place, key }))
        });
        drop(guard);
        fresh.then(|| Ticket {
            ledger: self.clone(),
            source: source.clone(),
            uid,
            resource_version: rv,
            last_seen,
            settled: false,
            held: false,
            filtered: None,
            listed,
            doubtful,
        })
    }

    /// Shuts the ledger for dropped tickets: from now on an occurrence dropped unsettled stays
    /// in flight and is replayed after a restart, where before it counted as filtered out.
    ///
    /// The [`Pipeline`](crate::Pipeline) calls this before it drops its source, so that what
    /// the stream still buffers when it stops is replayed rather than lost. Call it yourself
    /// before dropping a stream whose remaining items you never looked at, when you save the
    /// ledger afterwards. Acknowledgements and dismissals still count.
    pub fn close(&self) {
        self.lock().closed = true;
    }

    /// Opens the ledger again for dropped tickets (a pipeline starts reading).
    pub(crate) fn open(&self) {
        self.lock().closed = false;
    }

    /// Opens `source` for dropped tickets (an `EventStream` starts watching it).
    pub(crate) fn open_source(&self, source: &Arc<str>) {
        self.lock()
            .sources
            .entry(source.clone())
            .or_default()
            .closed = false;
    }

    /// [`close`](Self::close) for the tickets of these sources only (an `EventStream` dropped).
    pub(crate) fn close_sources<'a>(&self, sources: impl IntoIterator<Item = &'a str>) {
        let mut state = self.lock();
        for source in sources {
            if let Some(src) = state.sources.get_mut(source) {
                src.closed = true;
            }
        }
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
    ///
    /// The settled prefix of a list of `source` that did not end is kept: its objects are
    /// skipped by this one.
    pub(crate) fn begin_list(&self, source: &Arc<str>) {
        let mut state = self.lock();
        let distrusted = state.distrusted.contains(source);
        let floor = if distrusted {
            None
        } else {
            list_floor(&state, source)
        };
        state.lists_begun += 1;
        let generation = state.lists_begun;
        let src = state.sources.entry(source.clone()).or_default();
        if distrusted {
            src.listed.clear();
        }
        if let Some(prefix) = src.list.take().as_ref().and_then(ListProgress::prefix) {
            listing::merge(&mut src.listed, prefix.clone());
        }
        src.list = Some(ListProgress::new(generation));
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
        src.list = None;
        src.listed.clear();
        src.dispatched_key = None;
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
        checkpoint.listed = listed(&state);
        checkpoint.dispatched_listed = dispatched_listed(&state);
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
    /// let encoded = ledger.encoded_snapshot();
    /// assert_eq!(encoded.decode()?.events.len(), 0);
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn encoded_snapshot(&self) -> EncodedCheckpoint {
        let now = Timestamp::now();
        let mut state = self.lock();
        let resume = self.compact(&mut state, now);
        let count = exported(&state.events).count();
        let listed = listed(&state);
        let dispatched_listed = dispatched_listed(&state);
        let view = CheckpointView {
            version: FORMAT_VERSION,
            saved_at: now,
            resume: &resume,
            events: Exported(&state.events),
            dispatched: state.dispatched,
            listed: &listed,
            dispatched_listed: &dispatched_listed,
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

/// How far each list under way, and each earlier list that did not end, had come.
fn listed(state: &State) -> BTreeMap<String, Vec<ListedUpTo>> {
    state
        .sources
        .iter()
        .filter_map(|(source, src)| {
            let mut ranges = src.listed.clone();
            if let Some(prefix) = src.list.as_ref().and_then(ListProgress::prefix) {
                listing::merge(&mut ranges, prefix.clone());
            }
            (!ranges.is_empty()).then(|| (source.to_string(), ranges))
        })
        .collect()
}

/// The key marks of the lists under way.
fn dispatched_listed(state: &State) -> BTreeMap<String, String> {
    state
        .sources
        .iter()
        .filter_map(|(source, src)| {
            Some((
                source.to_string(),
                src.dispatched_key.as_deref()?.to_owned(),
            ))
        })
        .collect()
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
