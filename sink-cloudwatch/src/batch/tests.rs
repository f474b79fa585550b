use event_core::testing::sample_event;
use jiff::{SignedDuration, Timestamp};

use super::*;

const NOW: &str = "2026-11-24T12:00:00Z";

fn now() -> Timestamp {
    NOW.parse().unwrap()
}

fn templates() -> (NameTemplate, NameTemplate) {
    (
        NameTemplate::log_group("/ek/{cluster}").unwrap(),
        NameTemplate::log_stream("{namespace}").unwrap(),
    )
}

fn at(uid: &str, namespace: &str, offset: SignedDuration) -> Event {
    let mut e = sample_event(uid, 1, namespace);
    e.last_seen = now() + offset;
    e.first_seen = e.last_seen;
    e
}

fn build(events: &[Event], limits: RequestLimits) -> Prepared {
    let (group, stream) = templates();
    prepare(
        events.iter().enumerate(),
        &group,
        &stream,
        Window::at(now(), None),
        limits,
    )
}

fn indexes(request: &PutRequest) -> Vec<usize> {
    request.entries.iter().map(|e| e.index).collect()
}

fn assert_valid(prepared: &Prepared, limits: RequestLimits) {
    for r in &prepared.requests {
        assert!(!r.entries.is_empty());
        assert!(r.entries.len() <= limits.max_events);
        let bytes: usize = r
            .entries
            .iter()
            .map(|e| e.message.len() + limits.overhead)
            .sum();
        assert_eq!(bytes, r.bytes);
        assert!(r.bytes <= limits.max_bytes, "{} bytes", r.bytes);
        assert!(
            r.entries
                .windows(2)
                .all(|w| w[0].timestamp <= w[1].timestamp)
        );
        let (first, last) = r.time_range();
        assert!(last - first < limits.max_span_ms);
    }
}

#[test]
fn a_small_batch_is_one_request_per_destination_in_first_seen_order() {
    let events = [
        at("a", "payments", SignedDuration::ZERO),
        at("b", "billing", SignedDuration::ZERO),
        at("c", "payments", SignedDuration::from_secs(1)),
    ];
    let prepared = build(&events, PUT_LOG_EVENTS);
    assert_eq!(prepared.requests.len(), 2);
    assert_eq!(prepared.requests[0].stream, "payments");
    assert_eq!(prepared.requests[0].group, "/ek/_none");
    assert_eq!(indexes(&prepared.requests[0]), [0, 2]);
    assert_eq!(prepared.requests[1].stream, "billing");
    assert!(prepared.rejected.is_empty() && prepared.clamped.is_empty());
    let body: Event = serde_json::from_str(&prepared.requests[1].entries[0].message).unwrap();
    assert_eq!(body, events[1]);
}

#[test]
fn events_are_sorted_by_timestamp_and_ties_keep_batch_order() {
    let events = [
        at("late", "ns", SignedDuration::from_secs(30)),
        at("tie-1", "ns", SignedDuration::from_secs(10)),
        at("early", "ns", SignedDuration::ZERO),
        at("tie-2", "ns", SignedDuration::from_secs(10)),
    ];
    let prepared = build(&events, PUT_LOG_EVENTS);
    assert_eq!(indexes(&prepared.requests[0]), [2, 1, 3, 0]);
    assert_eq!(
        prepared.requests[0].entries[0].timestamp,
        events[2].last_seen.as_millisecond()
    );
}

#[test]
fn ten_thousand_and_one_events_make_two_requests() {
    let events: Vec<Event> = (0..10_001)
        .map(|i| at(&format!("u{i}"), "ns", SignedDuration::ZERO))
        .collect();
    // Bytes would cut first at the real limit; lift it to see the event-count rule alone.
    let by_count = RequestLimits {
        max_bytes: usize::MAX / 2,
        ..PUT_LOG_EVENTS
    };
    let prepared = build(&events, by_count);
    assert_eq!(prepared.requests.len(), 2);
    assert_eq!(prepared.requests[0].entries.len(), 10_000);
    assert_eq!(prepared.requests[1].entries.len(), 1);
    assert_valid(&prepared, by_count);
    let prepared = build(&events, PUT_LOG_EVENTS);
    assert!(prepared.requests.len() > 2);
    assert_valid(&prepared, PUT_LOG_EVENTS);
}

#[test]
fn requests_are_cut_by_bytes_counting_the_overhead() {
    let mut events: Vec<Event> = (0..5)
        .map(|i| at(&format!("u{i}"), "ns", SignedDuration::ZERO))
        .collect();
    for e in &mut events {
        e.message = "m".repeat(300 * 1024);
    }
    let prepared = build(&events, PUT_LOG_EVENTS);
    // 3 x ~300 KiB fit in 1 MiB, the fourth does not.
    assert_eq!(prepared.requests.len(), 2);
    assert_eq!(prepared.requests[0].entries.len(), 3);
    assert_valid(&prepared, PUT_LOG_EVENTS);

    let one = prepared.requests[1].entries[0].message.len();
    let exact = RequestLimits {
        max_bytes: 2 * (one + 26),
        ..PUT_LOG_EVENTS
    };
    let prepared = build(&events[..3], exact);
    assert_eq!(
        prepared.requests.len(),
        2,
        "two fit exactly, the third starts a request"
    );
    assert_eq!(prepared.requests[0].bytes, exact.max_bytes);
}

#[test]
fn non_ascii_text_is_counted_in_utf8_bytes() {
    let mut event = at("u", "ns", SignedDuration::ZERO);
    event.message = "事件".repeat(100);
    let prepared = build(std::slice::from_ref(&event), PUT_LOG_EVENTS);
    let entry = &prepared.requests[0].entries[0];
    assert_eq!(prepared.requests[0].bytes, entry.message.len() + 26);
    assert_eq!(entry.message.len(), entry.message.chars().count() + 400);
    let limits = RequestLimits {
        max_bytes: entry.message.len() + 26 + 10,
        ..PUT_LOG_EVENTS
    };
    let prepared = build(&[event.clone(), event], limits);
    assert_eq!(prepared.requests.len(), 2);
}

#[test]
fn a_batch_spanning_more_than_a_day_is_split_at_24_hours() {
    let hours = |h: i64| SignedDuration::from_hours(h);
    let events = [
        at("a", "ns", hours(-100)),
        at(
            "b",
            "ns",
            hours(-100) + SignedDuration::from_millis(86_399_999),
        ),
        at("c", "ns", hours(-76)),
        at("d", "ns", hours(-30)),
        at("e", "ns", hours(0)),
    ];
    let prepared = build(&events, PUT_LOG_EVENTS);
    let groups: Vec<Vec<usize>> = prepared.requests.iter().map(indexes).collect();
    assert_eq!(groups, [vec![0, 1], vec![2], vec![3], vec![4]]);
    assert_valid(&prepared, PUT_LOG_EVENTS);
}

#[test]
fn old_and_future_timestamps_are_clamped_into_the_window_and_json_keeps_true_times() {
    let events = [
        at("old", "ns", SignedDuration::from_hours(-24 * 20)),
        at("fine", "ns", SignedDuration::from_hours(-1)),
        at("future", "ns", SignedDuration::from_hours(5)),
    ];
    let prepared = build(&events, PUT_LOG_EVENTS);
    assert_eq!(prepared.clamped, [0, 2]);
    let window = Window::at(now(), None);
    // The clamped old event is 14 days back: more than a day from the others.
    let groups: Vec<Vec<usize>> = prepared.requests.iter().map(indexes).collect();
    assert_eq!(groups, [vec![0], vec![1, 2]]);
    assert_eq!(prepared.requests[0].entries[0].timestamp, window.oldest);
    assert!(prepared.requests[0].entries[0].clamped);
    assert!(!prepared.requests[1].entries[0].clamped);
    assert_eq!(prepared.requests[1].entries[1].timestamp, window.newest);
    let r = &prepared.requests[0];
    assert_eq!(
        window.oldest,
        (now() - SignedDuration::from_hours(14 * 24) + SignedDuration::from_mins(10))
            .as_millisecond()
    );
    assert_eq!(
        window.newest,
        (now() + SignedDuration::from_mins(110)).as_millisecond()
    );
    let old: Event = serde_json::from_str(&r.entries[0].message).unwrap();
    assert_eq!(old.last_seen, events[0].last_seen);
}

#[test]
fn retention_shorter_than_14_days_narrows_the_window() {
    let window = Window::at(now(), Some(1));
    assert_eq!(
        window.oldest,
        (now() - SignedDuration::from_hours(24) + SignedDuration::from_mins(10)).as_millisecond()
    );
    assert_eq!(Window::at(now(), Some(30)), Window::at(now(), None));
}

#[test]
fn an_oversized_event_is_truncated_and_alone_fits_a_request() {
    let mut events = vec![
        at("big", "ns", SignedDuration::ZERO),
        at("small", "ns", SignedDuration::ZERO),
    ];
    events[0].message = "x".repeat(3 * 1024 * 1024);
    let prepared = build(&events, PUT_LOG_EVENTS);
    assert_eq!(prepared.truncated, [0]);
    assert!(prepared.rejected.is_empty());
    assert_eq!(prepared.requests.len(), 2);
    assert!(prepared.requests[0].bytes <= MAX_BATCH_BYTES);
    assert_valid(&prepared, PUT_LOG_EVENTS);
    let value: serde_json::Value =
        serde_json::from_str(&prepared.requests[0].entries[0].message).unwrap();
    assert_eq!(value["truncated"]["originalBytes"], 3 * 1024 * 1024);
}

#[test]
fn an_event_that_cannot_fit_is_rejected_by_index_and_the_rest_is_kept() {
    let mut events = vec![
        at("a", "ns", SignedDuration::ZERO),
        at("b", "ns", SignedDuration::ZERO),
    ];
    events[1].regarding.name = "n".repeat(2000);
    let limits = RequestLimits {
        max_message: 1024,
        ..PUT_LOG_EVENTS
    };
    let prepared = build(&events, limits);
    assert_eq!(prepared.rejected.len(), 1);
    assert_eq!(prepared.rejected[0].index, 1);
    assert!(
        prepared.rejected[0].reason.contains("1024-byte"),
        "{}",
        prepared.rejected[0].reason
    );
    assert_eq!(indexes(&prepared.requests[0]), [0]);
}

#[test]
fn every_rule_holds_together_on_a_mixed_batch() {
    let limits = RequestLimits {
        max_events: 7,
        max_bytes: 8 * 1024,
        ..PUT_LOG_EVENTS
    };
    let events: Vec<Event> = (0..200)
        .map(|i| {
            let mut e = at(
                &format!("u{i}"),
                ["a", "b", "c"][i % 3],
                SignedDuration::from_hours(((i * 37) % 500) as i64 - 400),
            );
            e.message = "é".repeat((i * 13) % 900);
            e
        })
        .collect();
    let prepared = build(&events, limits);
    assert_valid(&prepared, limits);
    let mut seen: Vec<usize> = prepared.requests.iter().flat_map(indexes).collect();
    seen.sort_unstable();
    assert_eq!(
        seen,
        (0..200).collect::<Vec<_>>(),
        "every event exactly once"
    );
}

#[test]
fn splitting_a_request_in_half_keeps_order_and_recounts_bytes() {
    let events: Vec<Event> = (0..5)
        .map(|i| at(&format!("u{i}"), "ns", SignedDuration::from_secs(i)))
        .collect();
    let request = build(&events, PUT_LOG_EVENTS).requests.remove(0);
    let total = request.bytes;
    let (first, second) = request.split_in_half();
    assert_eq!(indexes(&first), [0, 1]);
    assert_eq!(indexes(&second), [2, 3, 4]);
    assert_eq!(first.bytes + second.bytes, total);
    assert!(first.split && second.split);
    assert_eq!(second.stream, "ns");
}
