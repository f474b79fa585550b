//! The source reads Events in one pass ([`CoreV1Event`], [`EventsV1Event`]), skipping what an
//! occurrence does not need. Every object a real v1.36 control plane sent
//! (`testkit/fixtures/real-cluster/`: lists and watch streams of both APIs, series and TTL
//! deletions included) must make exactly the occurrence that k8s-openapi's full decode and
//! `Event::from_core_v1` / `Event::from_events_v1` make of it.

use event_core::Event;
use event_core::internals::{CoreV1Event, EventsV1Event, Lenient, LenientDecode};
use kube::core::{ObjectList, WatchEvent};
use serde::de::DeserializeOwned;

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../testkit/fixtures/real-cluster/"
);

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{FIXTURES}{name}"))
        .expect("the recorded fixtures are in the repository")
}

/// The object of each notification of a recorded watch stream, read both ways.
fn watched<Lean: LenientDecode, Full: DeserializeOwned + Clone>(
    name: &str,
) -> Vec<(Lenient<Lean>, Full)> {
    fixture(name)
        .lines()
        .filter_map(|line| {
            let lean = match serde_json::from_str::<WatchEvent<Lenient<Lean>>>(line).unwrap() {
                WatchEvent::Added(o) | WatchEvent::Modified(o) | WatchEvent::Deleted(o) => o,
                WatchEvent::Bookmark(_) | WatchEvent::Error(_) => return None,
            };
            let full = match serde_json::from_str::<WatchEvent<Full>>(line).unwrap() {
                WatchEvent::Added(o) | WatchEvent::Modified(o) | WatchEvent::Deleted(o) => o,
                WatchEvent::Bookmark(_) | WatchEvent::Error(_) => return None,
            };
            Some((lean, full))
        })
        .collect()
}

fn listed<Lean: LenientDecode + Clone, Full: DeserializeOwned + Clone>(
    name: &str,
) -> Vec<(Lenient<Lean>, Full)> {
    let text = fixture(name);
    let lean: ObjectList<Lenient<Lean>> = serde_json::from_str(&text).unwrap();
    let full: ObjectList<Full> = serde_json::from_str(&text).unwrap();
    lean.items.into_iter().zip(full.items).collect()
}

/// Asserts that each pair makes one occurrence both ways; returns how many were compared.
fn assert_same<Lean, Full, E: std::fmt::Debug>(
    pairs: Vec<(Lenient<Lean>, Full)>,
    lean_event: fn(Lean) -> Result<Event, E>,
    full_event: fn(&Full) -> Result<Event, E>,
) -> usize {
    let count = pairs.len();
    for (lean, full) in pairs {
        let lean = lean_event(lean.into_decoded().unwrap()).unwrap();
        assert_eq!(lean, full_event(&full).unwrap());
    }
    count
}

#[test]
fn every_recorded_core_v1_event_makes_the_same_occurrence_either_way() {
    let mut compared = 0;
    for stream in [
        "watch-core-v1.jsonl",
        "watch-core-v1-with-series-and-ttl.jsonl",
    ] {
        compared += assert_same(
            watched(stream),
            CoreV1Event::into_event,
            Event::from_core_v1,
        );
    }
    compared += assert_same(
        listed("list-core-v1.json"),
        CoreV1Event::into_event,
        Event::from_core_v1,
    );
    assert!(compared > 20, "only {compared} objects compared");
}

#[test]
fn every_recorded_events_v1_event_makes_the_same_occurrence_either_way() {
    let mut compared = 0;
    for stream in [
        "watch-events.k8s.io-v1.jsonl",
        "watch-events.k8s.io-v1-with-series-and-ttl.jsonl",
    ] {
        compared += assert_same(
            watched(stream),
            EventsV1Event::into_event,
            Event::from_events_v1,
        );
    }
    compared += assert_same(
        listed("list-events.k8s.io-v1.json"),
        EventsV1Event::into_event,
        Event::from_events_v1,
    );
    assert!(compared > 20, "only {compared} objects compared");
}
