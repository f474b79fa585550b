//! Checkpoints of a given size, for measuring the ledger and its store.

use event_core::checkpoint::{Checkpoint, SeenEvent};

use crate::fixtures::{FIRST_RESOURCE_VERSION, uid};

/// A checkpoint whose resume point is `FIRST_RESOURCE_VERSION` and that holds `n` events
/// acknowledged ahead of it (uids as [`uid`] makes them, last seen now). The worst case: no
/// resume point covers them, so a ledger loaded from it keeps every one.
pub fn ahead(n: usize) -> Checkpoint {
    let mut checkpoint = Checkpoint::empty();
    let now = jiff::Timestamp::now().as_second();
    checkpoint
        .resume
        .insert("events@*".to_owned(), FIRST_RESOURCE_VERSION);
    checkpoint.events = (0..n as u64)
        .map(|i| {
            let seen = SeenEvent {
                resource_version: FIRST_RESOURCE_VERSION + 1 + i,
                last_seen: now,
            };
            (uid(i), seen)
        })
        .collect();
    checkpoint
}

#[cfg(test)]
mod tests {
    use event_core::checkpoint::{Ledger, LedgerConfig};

    use super::*;

    #[test]
    fn a_ledger_loaded_from_it_keeps_every_event() {
        let ledger = Ledger::from_checkpoint(ahead(50), LedgerConfig::default());
        assert_eq!(ledger.snapshot().events.len(), 50);
        assert_eq!(ledger.tracked_events(), 50);
        assert_eq!(
            ledger.resume_point("events@*"),
            Some(FIRST_RESOURCE_VERSION)
        );
    }
}
