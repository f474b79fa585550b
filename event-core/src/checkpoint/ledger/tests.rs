//! The ledger's unit tests: resume points, settling, relists, compaction.

use super::*;
use crate::checkpoint::ListedUpTo;

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
fn a_ticket_dropped_before_the_pipeline_counts_as_filtered_out() {
    let l = ledger();
    let metrics = crate::metrics::Metrics::default();
    let mut a = l.offer(&src(), Phase::Watch, "a", 10, now()).unwrap();
    a.count_filtered_in(&metrics);
    drop(a);
    l.observe(&src(), Phase::Watch, 20);
    assert_eq!(l.resume_point("events@*"), Some(20), "the drop settled it");
    assert_eq!(l.in_flight(), 0);
    assert_eq!(l.exported_version("a"), None, "settled, not exported");
    assert_eq!(metrics.filtered(), 1);
}

#[test]
fn a_ticket_the_pipeline_held_holds_the_resume_point_back_when_dropped() {
    let l = ledger();
    let mut a = l.offer(&src(), Phase::Watch, "a", 10, now()).unwrap();
    a.hold();
    drop(a);
    l.observe(&src(), Phase::Watch, 20);
    assert_eq!(l.resume_point("events@*"), Some(9));
    assert_eq!(l.in_flight(), 1);
}

#[test]
fn once_closed_a_dropped_ticket_stays_in_flight_and_acks_still_count() {
    let l = ledger();
    let a = l.offer(&src(), Phase::Watch, "a", 10, now()).unwrap();
    let b = l.offer(&src(), Phase::Watch, "b", 11, now()).unwrap();
    l.observe(&src(), Phase::Watch, 20);
    l.close();
    b.ack();
    drop(a);
    assert_eq!(l.resume_point("events@*"), Some(9), "a is replayed");
    assert_eq!(l.in_flight(), 1);
    assert_eq!(l.exported_version("b"), Some(11));
    l.open();
    let c = l.offer(&src(), Phase::Watch, "c", 21, now()).unwrap();
    drop(c);
    assert_eq!(l.in_flight(), 1, "open again: c's drop settled it, a stays");
}

#[test]
fn a_closed_source_keeps_its_dropped_tickets_and_the_others_do_not() {
    let l = ledger();
    let pods: Arc<str> = Arc::from("pods@*");
    let a = l.offer(&src(), Phase::Watch, "a", 10, now()).unwrap();
    let p = l.offer(&pods, Phase::Watch, "p", 12, now()).unwrap();
    l.close_sources(["events@*"]);
    drop(a);
    drop(p);
    assert_eq!(l.in_flight(), 1, "only the closed source's ticket stays");
    l.open_source(&src());
    drop(l.offer(&src(), Phase::Watch, "b", 13, now()).unwrap());
    assert_eq!(l.in_flight(), 1, "reopened: a drop settles again");
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
    super::super::CheckpointStore::save(&store, fresh.snapshot().encode())
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
    let encoded = l.encoded_snapshot();
    let decoded = encoded.decode().unwrap();
    let snapshot = l.snapshot();
    assert_eq!(decoded, snapshot.clone().with_saved_at(decoded.saved_at));
    assert_eq!(encoded.events(), 2, "b and c, acknowledged ahead of a");
    assert_eq!(decoded.events.len(), 2);
    assert_eq!(decoded.resume.get("events@*"), Some(&9));
    assert_eq!(decoded.resume.get("pods@*"), Some(&30));
    assert_eq!(decoded.dispatched, Some(30));
    held.ack();
    let encoded = l.encoded_snapshot();
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
    assert_eq!(l.encoded_snapshot().decode().unwrap().events, cp.events);
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

fn listed(l: &Ledger, key: &str, uid: &str, rv: u64) -> Option<Ticket> {
    l.offer_listed(&src(), key, uid, rv, now())
}

#[test]
fn a_list_in_key_order_is_checkpointed_as_its_settled_prefix_in_constant_space() {
    let l = ledger();
    l.begin_list(&src());
    let mut held = Vec::new();
    for i in 0..10_000u64 {
        let ticket = listed(
            &l,
            &format!("ns/ev-{i:05}"),
            &format!("u{i}"),
            100 + i % 7_000,
        )
        .unwrap();
        if i == 9_000 {
            held.push(ticket);
        } else {
            ticket.ack();
        }
    }
    let snapshot = l.encoded_snapshot();
    let checkpoint = snapshot.decode().unwrap();
    assert_eq!(
        checkpoint.listed["events@*"],
        vec![ListedUpTo {
            key: "ns/ev-08999".into(),
            resource_version: 7_099,
        }]
    );
    // Only what was acknowledged behind the one in flight is tracked one by one.
    assert_eq!(checkpoint.events.len(), 999);
    assert!(
        snapshot.as_bytes().len() < 64 * 1024,
        "{}",
        snapshot.as_bytes().len()
    );
    held.pop().unwrap().ack();
    let checkpoint = l.snapshot();
    assert!(
        checkpoint.events.is_empty(),
        "the prefix stands for all of them"
    );
    assert_eq!(checkpoint.listed["events@*"][0].key, "ns/ev-09999");
    assert_eq!(l.tracked_events(), 0);
    l.end_list(&src());
    let checkpoint = l.snapshot();
    assert!(
        checkpoint.listed.is_empty(),
        "an ended list leaves a resume point instead"
    );
    assert_eq!(checkpoint.resume["events@*"], 7_099);
}

#[test]
fn after_a_restart_a_new_list_skips_what_the_saved_prefix_covers_and_offers_the_rest() {
    let l = ledger();
    l.begin_list(&src());
    listed(&l, "a/1", "u1", 10).unwrap().ack();
    listed(&l, "a/2", "u2", 30).unwrap().ack();
    let _in_flight = listed(&l, "b/1", "u3", 20).unwrap();
    let saved = l.snapshot();
    assert_eq!(saved.listed["events@*"][0].key, "a/2");

    let l = Ledger::from_checkpoint(saved, LedgerConfig::default());
    l.begin_list(&src());
    assert!(
        listed(&l, "a/1", "u1", 10).is_none(),
        "covered: same object, same version"
    );
    assert!(
        listed(&l, "a/15", "u9", 40).is_some(),
        "created after the first list"
    );
    assert!(listed(&l, "a/2", "u2", 35).is_some(), "changed since");
    assert!(
        listed(&l, "b/1", "u3", 20).is_some(),
        "was in flight, never stored"
    );
}

#[test]
fn a_second_interrupted_list_keeps_the_first_prefix_until_it_passes_it() {
    let l = ledger();
    l.begin_list(&src());
    for (i, key) in ["a", "b", "c", "d"].iter().enumerate() {
        listed(&l, key, &format!("u{key}"), 10 + i as u64)
            .unwrap()
            .ack();
    }
    // The list starts again (the watcher relists) and gets only as far as "b".
    l.begin_list(&src());
    assert!(listed(&l, "a", "ua", 10).is_none());
    listed(&l, "b", "ub", 50).unwrap().ack();
    let ranges = &l.snapshot().listed["events@*"];
    assert_eq!(ranges.len(), 2, "{ranges:?}");
    // After a crash now, "c" (listed and stored by the first list) is still skipped.
    let l = Ledger::from_checkpoint(l.snapshot(), LedgerConfig::default());
    l.begin_list(&src());
    assert!(listed(&l, "b", "ub", 50).is_none());
    assert!(listed(&l, "c", "uc", 12).is_none());
    assert!(listed(&l, "d", "ud", 13).is_none());
    // Past "d", the newest prefix alone stands for both.
    assert_eq!(
        l.snapshot().listed["events@*"],
        vec![ListedUpTo {
            key: "d".into(),
            resource_version: 50,
        }]
    );
    assert!(listed(&l, "e", "ue", 14).is_some());
}

#[test]
fn an_occurrence_in_flight_when_a_list_starts_again_is_not_offered_twice() {
    let l = ledger();
    l.begin_list(&src());
    let first = listed(&l, "a", "ua", 10).unwrap();
    l.begin_list(&src());
    assert!(listed(&l, "a", "ua", 10).is_none(), "still in flight");
    first.ack();
    assert_eq!(l.exported_version("ua"), Some(10));
}

#[test]
fn a_list_out_of_key_order_tracks_the_rest_one_by_one_and_never_covers_it() {
    let l = ledger();
    l.begin_list(&src());
    listed(&l, "b", "ub", 10).unwrap().ack();
    listed(&l, "c", "uc", 20).unwrap().ack();
    listed(&l, "a", "ua", 30).unwrap().ack();
    let checkpoint = l.snapshot();
    assert_eq!(checkpoint.listed["events@*"][0].key, "c");
    assert_eq!(
        checkpoint.events.len(),
        1,
        "what came after is tracked one by one"
    );
    // One the prefix would cover lowers its version: a restart must not skip it.
    let late = listed(&l, "a2", "ua2", 15).unwrap();
    let saved = l.snapshot();
    assert_eq!(saved.listed["events@*"][0].resource_version, 14);
    drop(late);
    let l = Ledger::from_checkpoint(saved, LedgerConfig::default());
    l.begin_list(&src());
    assert!(
        listed(&l, "a2", "ua2", 15).is_some(),
        "never handled: offered"
    );
    assert!(listed(&l, "b", "ub", 10).is_none(), "still covered");
}

#[test]
fn a_distrusted_source_forgets_its_saved_list_progress() {
    let l = ledger();
    l.begin_list(&src());
    listed(&l, "a", "ua", 10).unwrap().ack();
    let l = Ledger::from_checkpoint(l.snapshot(), LedgerConfig::default());
    l.lock().distrusted.push(src());
    l.begin_list(&src());
    assert!(listed(&l, "a", "ua", 10).is_some());
}

#[test]
fn after_a_crash_in_a_list_only_what_it_had_dispatched_is_in_doubt() {
    let l = ledger();
    l.begin_list(&src());
    let a = listed(&l, "a", "ua", 900).unwrap();
    let b = listed(&l, "b", "ub", 10).unwrap();
    let _c = listed(&l, "c", "uc", 20).unwrap();
    // The batch [a] goes out: the marks cover everything offered so far (a, b and c).
    assert!(l.mark_dispatched_batch(Some(900), std::slice::from_ref(&a)));
    assert!(
        !l.mark_dispatched_batch(Some(10), std::slice::from_ref(&b)),
        "covered"
    );
    a.ack();
    let _d = listed(&l, "d", "ud", 30).unwrap();
    let saved = l.snapshot();
    assert_eq!(saved.dispatched_listed["events@*"], "c");

    let l = Ledger::from_checkpoint(saved, LedgerConfig::default());
    l.begin_list(&src());
    assert!(listed(&l, "a", "ua", 900).is_none(), "recorded");
    assert!(listed(&l, "b", "ub", 10).unwrap().is_doubtful());
    assert!(listed(&l, "c", "uc", 20).unwrap().is_doubtful());
    assert!(
        !listed(&l, "d", "ud", 30).unwrap().is_doubtful(),
        "offered after the last saved mark: never reached a sink"
    );
}

#[test]
fn a_listed_batch_dispatched_after_its_list_ended_leaves_no_key_mark() {
    let l = ledger();
    l.begin_list(&src());
    let a = listed(&l, "a", "ua", 10).unwrap();
    l.end_list(&src());
    assert!(l.mark_dispatched_batch(Some(10), std::slice::from_ref(&a)));
    a.ack();
    assert!(
        l.snapshot().dispatched_listed.is_empty(),
        "the version mark covers it; a key mark would clear later objects of a relist"
    );
}
