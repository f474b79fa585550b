//! Property tests of request building: for any batch (huge, multi-byte and control-character
//! text, names too long to fit, timestamps from year -9999 to 9999) and any limits, every
//! request obeys every PutLogEvents rule and every event is either in exactly one request or
//! rejected by index; none is dropped without being counted.
//!
//! An [`Event`]'s text is a Rust `String`, so invalid UTF-8 cannot reach the builder: it is
//! refused when the API server's JSON is parsed (see the normalization property tests of
//! `event-core`). Case counts stay small so CI stays fast.

use event_core::testing::sample_event;
use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;

use super::*;
use crate::limits::{RETENTION_DAYS, is_group_char, is_stream_char};

/// Cases per property: each case builds a batch of up to 40 events, some of a megabyte.
const CASES: u32 = 64;

const NOW: &str = "2026-11-24T12:00:00Z";

fn now() -> Timestamp {
    NOW.parse().expect("a valid time")
}

/// The real limits, or small ones that make every cutting rule fire on small batches. A
/// message at the limit always fits a request alone, as with the real ones.
fn limits() -> BoxedStrategy<RequestLimits> {
    let small = (1usize..12, 400usize..6_000, 1i64..(3 * DAY_MS), 0usize..4).prop_map(
        |(max_events, max_bytes, max_span_ms, overhead_choice)| {
            let overhead = [0, 1, 26, 100][overhead_choice];
            RequestLimits {
                max_events,
                max_bytes,
                overhead,
                max_span_ms,
                max_message: max_bytes - overhead,
            }
        },
    );
    prop_oneof![1 => Just(PUT_LOG_EVENTS), 3 => small].boxed()
}

fn text() -> BoxedStrategy<String> {
    prop_oneof![
        Just(String::new()),
        "[a-z0-9-]{1,12}",
        any::<String>(),
        Just("\u{0}\u{1b}[0m\"\\\r\n\u{7f}\u{fffd}:*{}".to_owned()),
        (1usize..50).prop_map(|n| "事件✓🚀".repeat(n)),
    ]
    .boxed()
}

/// Text of about `around` bytes, built from a repeated chunk (cheap to make when huge); the
/// chunk may need escaping in JSON, which makes the record longer than the text.
fn sized(around: usize) -> BoxedStrategy<String> {
    (
        prop_oneof![
            Just("x".to_owned()),
            Just("✓".to_owned()),
            Just("🚀事".to_owned()),
            Just("\u{1}\"".to_owned()),
            "\\PC{1,3}",
        ],
        (around / 2)..(2 * around + 2),
    )
        .prop_map(|(chunk, bytes)| chunk.repeat(bytes / chunk.len().max(1) + 1))
        .boxed()
}

fn timestamp() -> BoxedStrategy<Timestamp> {
    let min = Timestamp::MIN.as_second();
    let max = Timestamp::MAX.as_second();
    prop_oneof![
        // Within and around the accepted window: spans of more than a day, clamping at both ends.
        6 => (-(20 * DAY_MS)..(DAY_MS / 4)).prop_map(|ms| now() + SignedDuration::from_millis(ms)),
        // Same-time events, whose batch order must be kept.
        2 => Just(now()),
        2 => (min..=max).prop_map(|s| Timestamp::from_second(s).unwrap_or(Timestamp::UNIX_EPOCH)),
        1 => prop_oneof![Just(Timestamp::MIN), Just(Timestamp::MAX), Just(Timestamp::UNIX_EPOCH)],
    ]
    .boxed()
}

fn event(max_message: usize) -> BoxedStrategy<Event> {
    let message = prop_oneof![8 => text(), 2 => sized(max_message)];
    // Rarely a name so long that the record cannot fit even without its message.
    let name = prop_oneof![20 => text(), 1 => sized(max_message)];
    (
        ("[a-f0-9]{1,12}", any::<u64>(), prop::option::of(text())),
        (text(), name, text(), text()),
        (prop::option::of(text()), prop::option::of(text())),
        (message, timestamp(), timestamp()),
    )
        .prop_map(
            |(
                (uid, rv, namespace),
                (kind, name, reason, event_type),
                (controller, cluster),
                (message, last_seen, first_seen),
            )| {
                let mut event = sample_event(&uid, rv, "unused");
                event.namespace = namespace;
                event.regarding.kind = kind;
                event.regarding.name = name;
                event.reason = reason;
                event.event_type = event_type;
                event.reporting_controller = controller;
                event.cluster = cluster;
                event.message = message;
                event.last_seen = last_seen;
                event.first_seen = first_seen;
                event
            },
        )
        .boxed()
}

/// A batch, the limits it is cut by, and the destination templates and retention.
fn case() -> BoxedStrategy<(Vec<Event>, RequestLimits, usize, Option<u32>)> {
    limits()
        .prop_flat_map(|limits| {
            (
                prop::collection::vec(event(limits.max_message), 0..40),
                Just(limits),
                0..TEMPLATES.len(),
                prop::option::of(prop::sample::select(&RETENTION_DAYS[..])),
            )
        })
        .boxed()
}

const TEMPLATES: [(&str, &str); 4] = [
    ("/ek/{cluster}", "{namespace}"),
    ("/ek/{namespace}/{kind}", "{name}/{reason}"),
    ("/ek/{date}", "{type}-{date}-{controller}"),
    ("/ek/constant", "everything"),
];

fn templates(choice: usize) -> (NameTemplate, NameTemplate) {
    let (group, stream) = TEMPLATES[choice];
    (
        NameTemplate::log_group(group).expect("valid group template"),
        NameTemplate::log_stream(stream).expect("valid stream template"),
    )
}

/// The size of `event`'s record with its message cut to nothing and the truncation marker.
fn bare_with_marker(event: &Event) -> usize {
    let original = event.message.len();
    let mut bare = event.clone();
    bare.message.clear();
    let json = serde_json::to_string(&bare).expect("an event always serializes");
    let marker =
        format!(r#","truncated":{{"field":"message","originalBytes":{original},"keptBytes":0}}"#);
    json.len() + marker.len()
}

fn valid_name(name: &str, ok: fn(char) -> bool) -> bool {
    !name.is_empty() && name.len() <= 512 && name.chars().all(ok)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn every_request_obeys_every_limit_and_every_event_is_sent_or_rejected_once(
        (events, limits, choice, retention) in case()
    ) {
        let (group, stream) = templates(choice);
        let window = Window::at(now(), retention);
        let prepared = prepare(events.iter().enumerate(), &group, &stream, window, limits);

        // Accounting: each index exactly once, in a request or among the rejections.
        let mut seen = vec![0u32; events.len()];
        for request in &prepared.requests {
            for entry in &request.entries {
                seen[entry.index] += 1;
            }
        }
        for rejection in &prepared.rejected {
            seen[rejection.index] += 1;
            prop_assert!(!rejection.reason.is_empty());
            // Refused only when even the message-less record, with the marker that says
            // its message was cut, cannot fit.
            prop_assert!(
                bare_with_marker(&events[rejection.index]) > limits.max_message,
                "refused an event that fits without its message"
            );
        }
        prop_assert!(seen.iter().all(|&n| n == 1), "counts per event: {seen:?}");

        let mut clamped = Vec::new();
        let mut truncated = Vec::new();
        for request in &prepared.requests {
            prop_assert!(!request.entries.is_empty());
            prop_assert!(request.entries.len() <= limits.max_events);
            let bytes: usize = request
                .entries
                .iter()
                .map(|e| e.message.len() + limits.overhead)
                .sum();
            prop_assert_eq!(bytes, request.bytes);
            prop_assert!(request.bytes <= limits.max_bytes, "{} bytes", request.bytes);
            prop_assert!(request.entries.windows(2).all(|w| w[0].timestamp <= w[1].timestamp));
            let (first, last) = request.time_range();
            prop_assert!(last - first < limits.max_span_ms, "span {} ms", last - first);
            prop_assert!(valid_name(&request.group, is_group_char), "group {:?}", request.group);
            prop_assert!(valid_name(&request.stream, is_stream_char), "stream {:?}", request.stream);
            for pair in request.entries.windows(2) {
                if pair[0].timestamp == pair[1].timestamp {
                    prop_assert!(pair[0].index < pair[1].index, "ties keep batch order");
                }
            }
            for entry in &request.entries {
                let event = &events[entry.index];
                prop_assert_eq!(&group.render(event), &request.group);
                prop_assert_eq!(&stream.render(event), &request.stream);
                prop_assert!(entry.message.len() <= limits.max_message);
                prop_assert!(entry.timestamp >= window.oldest && entry.timestamp <= window.newest);
                let true_time = event.last_seen.as_millisecond();
                prop_assert_eq!(entry.clamped, entry.timestamp != true_time);
                if entry.clamped {
                    clamped.push(entry.index);
                }
                // The record parses back as the event, its true times kept.
                let back: Event = serde_json::from_str(&entry.message)
                    .map_err(|e| TestCaseError::fail(format!("record does not parse: {e}")))?;
                prop_assert_eq!(back.key(), event.key());
                prop_assert_eq!(back.last_seen, event.last_seen);
                if entry.truncated {
                    truncated.push(entry.index);
                    prop_assert!(event.message.starts_with(&back.message));
                    prop_assert!(back.message.len() < event.message.len());
                    let marker: serde_json::Value = serde_json::from_str(&entry.message)
                        .map_err(|e| TestCaseError::fail(e.to_string()))?;
                    prop_assert_eq!(
                        marker["truncated"]["originalBytes"].as_u64(),
                        Some(event.message.len() as u64)
                    );
                } else {
                    prop_assert_eq!(&back, event);
                }
            }
        }
        clamped.sort_unstable();
        truncated.sort_unstable();
        let mut reported_clamped = prepared.clamped.clone();
        reported_clamped.sort_unstable();
        let mut reported_truncated = prepared.truncated.clone();
        reported_truncated.sort_unstable();
        prop_assert_eq!(clamped, reported_clamped);
        prop_assert_eq!(truncated, reported_truncated);
    }

    #[test]
    fn halving_any_request_keeps_its_events_in_order_and_recounts_bytes(
        (events, limits, choice, retention) in case()
    ) {
        let (group, stream) = templates(choice);
        let window = Window::at(now(), retention);
        let prepared = prepare(events.iter().enumerate(), &group, &stream, window, limits);
        for request in prepared.requests.into_iter().filter(|r| r.entries.len() > 1) {
            let original = request.clone();
            let (a, b) = request.split_in_half();
            prop_assert!(!a.entries.is_empty() && !b.entries.is_empty());
            for half in [&a, &b] {
                let bytes: usize = half
                    .entries
                    .iter()
                    .map(|e| e.message.len() + EVENT_OVERHEAD_BYTES)
                    .sum();
                prop_assert_eq!(bytes, half.bytes);
                prop_assert_eq!(&half.group, &original.group);
                prop_assert_eq!(&half.stream, &original.stream);
            }
            let joined: Vec<_> = a.entries.iter().chain(&b.entries).cloned().collect();
            prop_assert_eq!(joined, original.entries);
        }
    }
}
