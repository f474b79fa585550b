//! [`DedupeWindow`]: drops repeated occurrences with memory bounded by time, not by history.

use std::collections::{BTreeMap, HashSet};

use foldhash::fast::RandomState;

use jiff::{SignedDuration, Timestamp};

use event_core::Event;

use key::Key;

mod key;

/// How long a [`DedupeWindow`] remembers a key behind the newest event, by default: the event
/// TTL of Kubernetes (one hour; an event older than that is gone from the API, so no restart
/// can replay it and no sink can be sent it again) plus ten minutes for a slow pipeline.
pub const DEFAULT_DEDUPE_HORIZON: SignedDuration = SignedDuration::from_mins(70);

/// The most occurrence keys a [`DedupeWindow`] remembers by default (about 70 MB for Kubernetes
/// uids and resourceVersions, more for keys of other text): past it,
/// the oldest are forgotten first.
pub const DEFAULT_MAX_KEYS: usize = 1_000_000;

/// Drops an event whose [occurrence key](Event::key) (uid + resourceVersion) was already seen,
/// remembering keys only as long as a repeat can still arrive.
///
/// A repeat of an occurrence is the same object at the same resourceVersion, so it carries
/// the same [`last_seen`](Event::last_seen) as the first copy: a resend after a timeout or a
/// crash, or the overlap of two polls. So a key need only be remembered while events that old
/// can still arrive: for the *horizon* behind the newest `last_seen` seen. A repeat that comes
/// later than that is let through; so is anything once more than `max_keys` keys are held
/// (the oldest are forgotten first). An update of an event has a new resourceVersion and is
/// never a repeat.
///
/// ```
/// use event_core::Event;
/// use event_history::DedupeWindow;
/// use jiff::SignedDuration;
///
/// let mut seen = DedupeWindow::new(SignedDuration::from_mins(5), 1000);
/// let first = Event::new("7d3c6a2e", "1042");
/// let resent = first.clone();
/// let mut bumped = first.clone();
/// bumped.resource_version = "1043".into();
/// assert!(seen.first_sighting(&first));
/// assert!(!seen.first_sighting(&resent));
/// assert!(seen.first_sighting(&bumped));
/// ```
#[derive(Debug)]
pub struct DedupeWindow {
    horizon: SignedDuration,
    max_keys: usize,
    /// Hashed with foldhash (seeded per window), as the ledger's maps: a lookup for every
    /// event read.
    keys: HashSet<Key, RandomState>,
    /// The same keys by `last_seen`; a key of a Kubernetes uid and resourceVersion is 32
    /// bytes without heap ([`Key`]), so holding it twice is cheaper than an index into a set.
    by_time: BTreeMap<Timestamp, Vec<Key>>,
    newest: Option<Timestamp>,
    repeats: u64,
}

impl DedupeWindow {
    /// A window remembering keys for `horizon` behind the newest event (a negative horizon
    /// counts as zero), and at most `max_keys` (at least 1) of them.
    pub fn new(horizon: SignedDuration, max_keys: usize) -> Self {
        DedupeWindow {
            horizon: horizon.max(SignedDuration::ZERO),
            max_keys: max_keys.max(1),
            keys: HashSet::default(),
            by_time: BTreeMap::new(),
            newest: None,
            repeats: 0,
        }
    }

    /// `true` the first time an occurrence is seen, `false` for a repeat (counted in
    /// [`repeats`](Self::repeats)).
    pub fn first_sighting(&mut self, event: &Event) -> bool {
        let key = Key::of(event);
        // One probe of the set: `insert` answers whether the key was there.
        if !self.keys.insert(key.clone()) {
            self.repeats += 1;
            return false;
        }
        let at = event.last_seen;
        self.by_time.entry(at).or_default().push(key);
        self.newest = Some(self.newest.map_or(at, |newest| newest.max(at)));
        self.forget_old();
        true
    }

    /// How many keys are remembered.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key is remembered.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Repeats dropped so far.
    pub fn repeats(&self) -> u64 {
        self.repeats
    }

    fn forget_old(&mut self) {
        if let Some(newest) = self.newest {
            let cutoff = newest
                .saturating_sub(self.horizon)
                .unwrap_or(Timestamp::MIN);
            // Oldest first, and only what is past the horizon: usually nothing.
            while let Some(oldest) = self.by_time.first_entry() {
                if *oldest.key() >= cutoff {
                    break;
                }
                for key in oldest.remove() {
                    self.keys.remove(&key);
                }
            }
        }
        while self.keys.len() > self.max_keys {
            let Some(mut oldest) = self.by_time.first_entry() else {
                break;
            };
            if let Some(key) = oldest.get_mut().pop() {
                self.keys.remove(&key);
            }
            if oldest.get().is_empty() {
                oldest.remove();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(uid: &str, rv: &str, second: i64) -> Event {
        let mut event = Event::new(uid, rv);
        event.last_seen = Timestamp::from_second(1_795_000_000 + second).unwrap();
        event
    }

    #[test]
    fn repeats_within_the_horizon_are_dropped_and_counted() {
        let mut seen = DedupeWindow::new(SignedDuration::from_secs(60), 100);
        assert!(seen.first_sighting(&event("a", "1", 0)));
        assert!(seen.first_sighting(&event("b", "1", 30)));
        assert!(!seen.first_sighting(&event("a", "1", 0)));
        assert!(!seen.first_sighting(&event("b", "1", 30)));
        assert_eq!(seen.repeats(), 2);
    }

    #[test]
    fn a_new_resource_version_is_a_new_occurrence() {
        let mut seen = DedupeWindow::new(SignedDuration::from_secs(60), 100);
        assert!(seen.first_sighting(&event("a", "1", 0)));
        assert!(seen.first_sighting(&event("a", "2", 5)));
        assert_eq!(seen.len(), 2);
    }

    #[test]
    fn keys_older_than_the_horizon_are_forgotten() {
        let mut seen = DedupeWindow::new(SignedDuration::from_secs(60), 100);
        assert!(seen.first_sighting(&event("a", "1", 0)));
        assert!(seen.first_sighting(&event("b", "1", 60)));
        assert_eq!(seen.len(), 2, "a is exactly at the horizon: kept");
        assert!(seen.first_sighting(&event("c", "1", 61)));
        assert_eq!(seen.len(), 2, "a is past the horizon");
        assert!(seen.first_sighting(&event("a", "1", 0)), "too late to tell");
        assert!(!seen.first_sighting(&event("b", "1", 60)));
    }

    #[test]
    fn the_key_cap_forgets_the_oldest_first() {
        let mut seen = DedupeWindow::new(SignedDuration::from_hours(1), 2);
        assert!(seen.first_sighting(&event("a", "1", 0)));
        assert!(seen.first_sighting(&event("b", "1", 1)));
        assert!(seen.first_sighting(&event("c", "1", 2)));
        assert_eq!(seen.len(), 2);
        assert!(!seen.first_sighting(&event("b", "1", 1)));
        assert!(!seen.first_sighting(&event("c", "1", 2)));
        assert!(seen.first_sighting(&event("a", "1", 0)), "a was forgotten");
    }

    #[test]
    fn a_zero_horizon_still_catches_repeats_at_the_newest_time() {
        let mut seen = DedupeWindow::new(SignedDuration::ZERO, 100);
        assert!(seen.first_sighting(&event("a", "1", 5)));
        assert!(seen.first_sighting(&event("b", "1", 5)));
        assert!(!seen.first_sighting(&event("a", "1", 5)));
        assert!(seen.first_sighting(&event("c", "1", 6)));
        assert_eq!(seen.len(), 1);
    }
}
