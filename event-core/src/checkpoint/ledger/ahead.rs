//! A saved resume point ahead of the cluster: what the checkpoint may still say, and what not.
//!
//! After an etcd or Velero restore, a rebuilt cluster, a reused volume or a hand edit, the
//! checkpoint can hold a resume point above the cluster's current resourceVersion. A watch from
//! it waits in silence for versions the cluster has not written, and a relist that takes it as
//! its floor skips everything at or below it: every event would be lost without an error.
//!
//! Such a source relists from scratch: no floor, and the per-uid entries of the checkpoint no
//! longer stand for "this event up to this version". After a restore the cluster's history
//! forks at the backup: the same uid can come back with a lower resourceVersion, or a higher one
//! than the backup held that is still below what the checkpoint recorded, each a new occurrence.
//! What stays true is the identity of one occurrence, `(uid, resourceVersion)`: an entry at or
//! below the cluster's current version skips exactly its own occurrence (an event unchanged
//! since it was exported), and an entry above it, from a history this cluster never had, is
//! dropped. This can resend an occurrence exported before the backup whose event changed again
//! meanwhile; it cannot skip one the cluster has and Event Keeper never stored.

use std::sync::Arc;

use super::{Ledger, Map, SourceState, all_namespaces_of, list_floor};
use crate::checkpoint::Uid;

/// What a distrusted checkpoint said of one event.
#[derive(Clone, Copy, Debug)]
pub(super) struct Suspect {
    /// The exported resourceVersion it recorded.
    pub(super) exported: u64,
    /// When the event was last seen (for pruning, as the tracked events are).
    pub(super) last_seen: i64,
}

/// Whether the distrusted checkpoint's entry for `uid` says the occurrence at `rv` was
/// exported: for a `distrusted` source only that very occurrence; for a source whose resume
/// point still holds, every version up to the recorded one, as a checkpoint entry always does.
pub(super) fn suspect_holds(
    suspects: &Map<Uid, Suspect>,
    uid: &Uid,
    rv: u64,
    distrusted: bool,
) -> bool {
    suspects.get(uid).is_some_and(|s| {
        if distrusted {
            s.exported == rv
        } else {
            s.exported >= rv
        }
    })
}

impl Ledger {
    /// The saved resume point a start of `source` relies on: its own, else (for a namespace
    /// newly watched) the all-namespaces one its first relist takes as floor; `None` when the
    /// source starts with a plain list.
    pub(crate) fn saved_point(&self, source: &str) -> Option<u64> {
        list_floor(&self.lock(), source)
    }

    /// The saved resume point of `source` is ahead of the cluster's `current` resourceVersion:
    /// forget it (and the all-namespaces one it would fall back to, when that is ahead too),
    /// so that the source relists from scratch, and stop trusting the checkpoint's per-event
    /// entries beyond the one occurrence each records (see the module docs). Returns how many
    /// entries were dropped for being above `current`.
    ///
    /// Call it before the source offers anything. Sources that are not distrusted go on
    /// trusting every entry as before.
    pub(crate) fn distrust_ahead(&self, source: &Arc<str>, current: u64) -> usize {
        let mut guard = self.lock();
        let state = &mut *guard;
        if !state.distrusted.contains(source) {
            state.distrusted.push(source.clone());
        }
        let src = state.sources.entry(source.clone()).or_default();
        src.observed = None;
        src.list_floor = None;
        if let Some(all) = all_namespaces_of(source)
            && let Some(fallback) = state.sources.get_mut(all.as_str())
            && fallback.resume_point().is_some_and(|rv| rv > current)
        {
            *fallback = SourceState::default();
        }
        // Entries loaded from the checkpoint have no source yet; this run's own are exact.
        let loaded: Vec<Uid> = state
            .events
            .iter()
            .filter(|(_, e)| e.source.is_none())
            .map(|(uid, _)| uid.clone())
            .collect();
        let mut dropped = 0;
        for uid in loaded {
            let Some(entry) = state.events.remove(&uid) else {
                continue;
            };
            if entry.exported > current {
                dropped += 1;
                continue;
            }
            let suspect = Suspect {
                exported: entry.exported,
                last_seen: entry.last_seen,
            };
            state.suspects.insert(uid, suspect);
        }
        // A dispatch mark from the future would spare the next sends their save of the mark,
        // and ask the sinks about every occurrence up to it; nothing above `current` can have
        // been dispatched before.
        if state.dispatched.is_some_and(|d| d > current) {
            state.dispatched = None;
        }
        state.dispatched_before = state.dispatched_before.map(|d| d.min(current));
        dropped
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap};

    use jiff::Timestamp;

    use super::super::{LedgerConfig, Phase};
    use super::*;
    use crate::checkpoint::{Checkpoint, SeenEvent};

    fn src(key: &str) -> Arc<str> {
        Arc::from(key)
    }

    fn seen(rv: u64) -> SeenEvent {
        SeenEvent {
            resource_version: rv,
            last_seen: Timestamp::now().as_second(),
        }
    }

    /// A checkpoint from a cluster that had reached 1000: resume points at 1000, `x` exported at
    /// 900, `y` at 400, `z` at 950.
    fn from_the_future() -> Ledger {
        let mut checkpoint = Checkpoint::empty();
        checkpoint.resume = BTreeMap::from([("events@*".to_owned(), 1000)]);
        checkpoint.events = HashMap::from([
            ("x".to_owned(), seen(900)),
            ("y".to_owned(), seen(400)),
            ("z".to_owned(), seen(950)),
        ]);
        checkpoint.dispatched = Some(1000);
        Ledger::from_checkpoint(checkpoint, LedgerConfig::default())
    }

    #[test]
    fn a_distrusted_source_has_no_resume_point_and_relists_without_a_floor() {
        let l = from_the_future();
        let events = src("events@*");
        assert_eq!(l.saved_point("events@*"), Some(1000));
        l.distrust_ahead(&events, 500);
        assert_eq!(l.resume_point("events@*"), None);
        assert_eq!(l.saved_point("events@*"), None);
        l.begin_list(&events);
        let low = l.offer(&events, Phase::List, "new", 3, Timestamp::now());
        assert!(
            low.is_some(),
            "a version below the bogus point is not taken as seen"
        );
        l.end_list(&events);
        assert_eq!(l.resume_point("events@*"), Some(2));
        assert!(
            l.snapshot()
                .resume
                .get("events@*")
                .is_none_or(|&rv| rv < 500)
        );
    }

    #[test]
    fn a_uid_that_came_back_with_a_lower_version_is_a_new_occurrence() {
        let l = from_the_future();
        let events = src("events@*");
        assert_eq!(l.distrust_ahead(&events, 920), 1, "z at 950 is dropped");
        l.begin_list(&events);
        let now = Timestamp::now();
        assert!(
            l.offer(&events, Phase::List, "x", 880, now).is_some(),
            "x came back below what the checkpoint recorded"
        );
        assert!(
            l.offer(&events, Phase::List, "y", 400, now).is_none(),
            "y unchanged since it was exported: the same occurrence"
        );
        assert!(
            l.offer(&events, Phase::List, "z", 10, now).is_some(),
            "z's entry came from a history this cluster never had"
        );
    }

    #[test]
    fn a_source_whose_point_holds_still_trusts_every_entry() {
        let l = from_the_future();
        let pods = src("pods@*");
        let events = src("events@*");
        l.observe(&pods, Phase::Watch, 300);
        l.distrust_ahead(&events, 920);
        let now = Timestamp::now();
        assert!(
            l.offer(&pods, Phase::Watch, "x", 850, now).is_none(),
            "not distrusted: x up to 900 stays exported"
        );
        assert!(l.offer(&pods, Phase::Watch, "x", 905, now).is_some());
    }

    #[test]
    fn a_namespace_does_not_fall_back_to_an_all_namespaces_point_that_is_ahead() {
        let l = from_the_future();
        let ns = src("events@payments");
        assert_eq!(l.saved_point("events@payments"), Some(1000), "the fallback");
        l.distrust_ahead(&ns, 500);
        assert_eq!(l.saved_point("events@payments"), None);
        assert_eq!(l.resume_point("events@*"), None);
        l.begin_list(&ns);
        assert!(
            l.offer(&ns, Phase::List, "new", 40, Timestamp::now())
                .is_some()
        );
    }

    #[test]
    fn the_dispatch_marks_from_the_future_are_brought_back_to_the_cluster() {
        let l = from_the_future();
        assert_eq!(l.dispatched_before_restart(), Some(1000));
        l.distrust_ahead(&src("events@*"), 500);
        assert_eq!(l.dispatched_before_restart(), Some(500));
        assert!(l.mark_dispatched(3), "the next send saves its mark first");
    }

    #[test]
    fn distrusting_twice_changes_nothing_more() {
        let l = from_the_future();
        let events = src("events@*");
        assert_eq!(l.distrust_ahead(&events, 920), 1);
        assert_eq!(l.distrust_ahead(&events, 920), 0);
        l.begin_list(&events);
        assert!(
            l.offer(&events, Phase::List, "y", 400, Timestamp::now())
                .is_none()
        );
    }
}
