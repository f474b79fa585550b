//! The progress of a list under way, kept in constant space.
//!
//! A list returns objects in key order (`namespace/name`), from one snapshot of the cluster.
//! Rather than track every listed object one by one until the list ends (the checkpoint would
//! grow with the cluster), the ledger keeps the **settled prefix**: the last key up to which every
//! listed object is acknowledged or filtered out, and the newest resourceVersion among them
//! ([`ListedUpTo`]). Objects offered but not yet passed by the prefix sit in a window, as big as
//! what is in flight. A restart, or a list that kube-rs's watcher starts again, skips an object
//! the prefix covers: a key up to the prefix's and a resourceVersion not newer than its.
//!
//! Should the server ever list out of key order, the list stops learning: the prefix reached so
//! far is kept for the checkpoint, every later object is tracked one by one, and the prefix's
//! version is lowered below any later object it would cover, so that a restart never skips one
//! that was not handled (it may repeat some of the prefix instead).

use std::collections::VecDeque;
use std::sync::Arc;

use super::{Entry, Map};
use crate::checkpoint::{ListedUpTo, Uid};

/// One object offered by the list, not yet passed by the settled prefix.
#[derive(Debug)]
struct Slot {
    key: Arc<str>,
    rv: u64,
    /// The uid whose one-by-one entry the prefix stands for once it passes; `None` when the
    /// object was skipped (nothing was entered for it).
    uid: Option<Uid>,
    settled: bool,
}

/// The progress of one list of one source.
#[derive(Debug)]
pub(super) struct ListProgress {
    /// Which list this is: a ticket of an earlier list of the same source settles nothing here.
    generation: u64,
    /// Offered objects the prefix has not passed, in list order; `window[0]` is number `first`.
    window: VecDeque<Slot>,
    first: u64,
    /// Every object listed up to here is settled.
    prefix: Option<ListedUpTo>,
    /// The last key offered: keys must increase for the prefix to mean anything.
    last_key: Option<Arc<str>>,
    /// False once a key came out of order: then this list learns nothing more.
    ordered: bool,
}

/// Where a listed occurrence sits in its list, for its ticket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Place {
    generation: u64,
    seq: u64,
}

impl ListProgress {
    pub(super) fn new(generation: u64) -> Self {
        ListProgress {
            generation,
            window: VecDeque::new(),
            first: 0,
            prefix: None,
            last_key: None,
            ordered: true,
        }
    }

    /// The key of the newest object offered.
    pub(super) fn last_key(&self) -> Option<Arc<str>> {
        self.last_key.clone()
    }

    /// The settled prefix: every object listed up to its key is settled.
    pub(super) fn prefix(&self) -> Option<&ListedUpTo> {
        self.prefix.as_ref()
    }

    /// Records an offered object; `entered` is the uid of the one-by-one entry made for it (a
    /// fresh occurrence, to be settled), `None` when it was skipped (settled at once). Returns
    /// its place, `None` when the list is out of order.
    pub(super) fn push(
        &mut self,
        key: &str,
        rv: u64,
        entered: Option<Uid>,
        events: &mut Map<Uid, Entry>,
    ) -> Option<Place> {
        if self.ordered && self.last_key.as_deref().is_some_and(|last| key <= last) {
            tracing::warn!(
                key,
                "the API server listed out of key order; the rest of this list is tracked object by object"
            );
            self.ordered = false;
            self.window.clear();
        }
        if !self.ordered {
            // The prefix must not stand for an object it has not seen settled.
            if let Some(prefix) = self.prefix.as_mut().filter(|p| p.covers(key, rv)) {
                prefix.resource_version = rv.saturating_sub(1);
            }
            return None;
        }
        let key: Arc<str> = Arc::from(key);
        self.last_key = Some(key.clone());
        let settled = entered.is_none();
        self.window.push_back(Slot {
            key,
            rv,
            uid: entered,
            settled,
        });
        let seq = self.first + self.window.len() as u64 - 1;
        if settled {
            self.advance(events);
        }
        Some(Place {
            generation: self.generation,
            seq,
        })
    }

    /// The occurrence at `place` is settled: the prefix moves over every settled object at its
    /// front.
    pub(super) fn settle(&mut self, place: Place, events: &mut Map<Uid, Entry>) {
        if place.generation != self.generation || !self.ordered {
            return;
        }
        let Some(index) = place.seq.checked_sub(self.first) else {
            return;
        };
        if let Some(slot) = self.window.get_mut(index as usize) {
            slot.settled = true;
        }
        self.advance(events);
    }

    /// Moves the prefix over the settled front of the window. The one-by-one entry of an object
    /// it passes goes, unless a newer occurrence of it is pending: the prefix stands for it.
    fn advance(&mut self, events: &mut Map<Uid, Entry>) {
        while self.window.front().is_some_and(|slot| slot.settled) {
            let Some(slot) = self.window.pop_front() else {
                break;
            };
            self.first += 1;
            let newest = self
                .prefix
                .as_ref()
                .map_or(slot.rv, |p| p.resource_version.max(slot.rv));
            self.prefix = Some(ListedUpTo {
                key: slot.key.to_string(),
                resource_version: newest,
            });
            if let Some(uid) = slot.uid
                && events
                    .get(&uid)
                    .is_some_and(|e| !e.pending() && e.emitted == slot.rv)
            {
                events.remove(&uid);
            }
        }
    }
}

/// Whether one of `ranges` covers an object listed with `key` at `rv`.
pub(super) fn covered(ranges: &[ListedUpTo], key: &str, rv: u64) -> bool {
    ranges.iter().any(|r| r.covers(key, rv))
}

/// Adds `newest` to `ranges`, dropping the ranges it supersedes: a later prefix of a list that
/// reached as far holds every object of the earlier one that still exists unchanged.
pub(super) fn merge(ranges: &mut Vec<ListedUpTo>, newest: ListedUpTo) {
    ranges.retain(|r| r.key > newest.key);
    ranges.push(newest);
}
