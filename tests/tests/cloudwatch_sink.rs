//! The CloudWatch sink against moto through the strict proxy, with the real AWS SDK: every
//! PutLogEvents rule kept, every event stored once, faults classified as the contract says.

#[path = "cloudwatch_support/harness.rs"]
mod harness;

use std::collections::HashSet;
use std::time::Duration;

use event_core::testing::{check_sink, sample_event};
use event_core::{Event, Sink, SinkError};
use jiff::{SignedDuration, Timestamp};
use sink_cloudwatch::{CloudWatchSinkConfig, MAX_EVENT_BYTES};
use testkit::cloudwatch::{Fault, LEGACY_MAX_EVENT_BYTES, Limits, Rule};

fn events(prefix: &str, n: usize, namespace: &str, start: Timestamp) -> Vec<Event> {
    (0..n)
        .map(|i| {
            let mut e = sample_event(&format!("{prefix}-{i}"), 1000 + i as u64, namespace);
            e.last_seen = start + SignedDuration::from_millis(i as i64);
            e.first_seen = e.last_seen;
            e
        })
        .collect()
}

#[tokio::test]
async fn the_conformance_kit_passes_through_the_strict_proxy() {
    let env = harness::env().await;
    let group = "/ek-test/conformance";
    let mut sink = env.sink(group);
    let env_ref = &env;
    check_sink(
        &mut sink,
        || async move { Some(env_ref.events_of(group).await) },
    )
    .await
    .unwrap();
    env.assert_no_violations();
}

#[tokio::test]
async fn every_event_is_stored_once_and_in_order_across_streams_and_requests() {
    let env = harness::env().await;
    let group = "/ek-test/exactly-once";
    let mut sink = env.sink(group);
    let stats = sink.stats();
    let start = Timestamp::now() - SignedDuration::from_mins(30);
    // 12,000 events over two streams, interleaved and shuffled in time: more than one request
    // per stream by count, and out of order in the batch.
    let mut batch = events("a", 6_500, "payments", start);
    batch.extend(events("b", 5_500, "billing", start));
    batch.reverse();
    sink.send(&batch).await.unwrap();

    let stored = env.read_group(group).await;
    assert_eq!(stored.len(), 2, "{:?}", stored.keys());
    for (stream, records) in &stored {
        let times: Vec<i64> = records.iter().map(|(t, _)| *t).collect();
        assert!(
            times.windows(2).all(|w| w[0] <= w[1]),
            "{stream} out of order"
        );
        for (timestamp, event) in records {
            assert_eq!(*timestamp, event.last_seen.as_millisecond());
            assert_eq!(event.namespace.as_deref(), Some(stream.as_str()));
        }
    }
    let keys: Vec<_> = stored.values().flatten().map(|(_, e)| e.key()).collect();
    let expected: Vec<_> = batch.iter().map(Event::key).collect();
    tests::assert_exactly_once(&keys, &expected);
    assert_eq!(stats.events_stored(), 12_000);
    assert!(stats.put_calls() >= 3, "{} calls", stats.put_calls());
    assert_eq!(stats.streams_created(), 2);
    assert_eq!(stats.groups_created(), 1);
    env.assert_no_violations();
}

#[tokio::test]
async fn a_missing_group_and_stream_are_created_once_with_retention_and_tags() {
    let env = harness::env().await;
    let group = "/ek-test/created";
    let mut sink = env.sink_with(
        CloudWatchSinkConfig::new()
            .log_group(group)
            .retention_days(7)
            .tag("team", "platform"),
    );
    let stats = sink.stats();
    let now = Timestamp::now();
    sink.send(&events("c1", 3, "payments", now)).await.unwrap();
    sink.send(&events("c2", 3, "payments", now)).await.unwrap();
    sink.send(&events("c3", 3, "billing", now)).await.unwrap();
    assert_eq!(stats.groups_created(), 1);
    assert_eq!(stats.streams_created(), 2);
    let proxy = env.proxy.stats();
    assert_eq!(proxy.calls("CreateLogGroup"), 1);
    assert_eq!(
        proxy.calls("CreateLogStream"),
        3,
        "payments, then the group, then billing"
    );
    assert_eq!(proxy.calls("PutRetentionPolicy"), 1);

    let groups = env
        .moto
        .describe_log_groups()
        .log_group_name_prefix(group)
        .send()
        .await
        .unwrap();
    let described = &groups.log_groups()[0];
    assert_eq!(described.retention_in_days(), Some(7));
    let arn = described.log_group_arn().expect("group ARN");
    let tags = env
        .moto
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        tags.tags().and_then(|t| t.get("team")).map(String::as_str),
        Some("platform")
    );
    assert_eq!(env.keys_of(group).await.len(), 9);
    env.assert_no_violations();
}

#[tokio::test]
async fn very_large_messages_are_truncated_to_valid_json_and_break_no_limit() {
    let env = harness::env().await;
    let group = "/ek-test/large";
    let mut sink = env.sink(group);
    let stats = sink.stats();
    let mut batch = events("big", 4, "payments", Timestamp::now());
    batch[0].message = "x".repeat(3 * 1024 * 1024);
    batch[1].message = "é".repeat(MAX_EVENT_BYTES / 2 + 10);
    batch[2].message = "y".repeat(600 * 1024);
    sink.send(&batch).await.unwrap();
    assert_eq!(stats.events_truncated(), 2);

    let stored = env.read_group(group).await;
    let records = &stored["payments"];
    assert_eq!(records.len(), 4);
    let raw = testkit::cloudwatch::read_stream(&env.moto, group, "payments")
        .await
        .unwrap();
    for record in &raw {
        let message = record.message().unwrap();
        assert!(message.len() + 26 <= MAX_EVENT_BYTES);
        let value: serde_json::Value = serde_json::from_str(message).expect("valid JSON");
        let uid = value["uid"].as_str().unwrap();
        let truncated = value.get("truncated");
        match uid {
            "big-0" => assert_eq!(truncated.unwrap()["originalBytes"], 3 * 1024 * 1024),
            "big-1" => assert_eq!(truncated.unwrap()["originalBytes"], MAX_EVENT_BYTES + 20),
            _ => assert!(truncated.is_none(), "{uid} was not over the limit"),
        }
    }
    let by_uid = |uid: &str| records.iter().find(|(_, e)| e.uid == uid).unwrap();
    assert_eq!(by_uid("big-2").1.message, batch[2].message);
    assert!(batch[1].message.starts_with(&by_uid("big-1").1.message));
    env.assert_no_violations();
}

#[tokio::test]
async fn non_ascii_and_odd_characters_survive_the_round_trip() {
    let env = harness::env().await;
    let group = "/ek-test/unicode";
    let mut sink = env.sink_with(
        CloudWatchSinkConfig::new()
            .log_group(group)
            .log_stream("{namespace}/{reason}"),
    );
    let odd = [
        "Ünïcödé ✓ 事件 — ok",
        "emoji 🚀🔥 and a ZWJ 👩‍👩‍👧",
        "quotes \" ' ` and \\ backslashes \\n",
        "new\nlines\r\nand\ttabs",
        "control \u{1} \u{7f} and NUL-free",
        "right-to-left שלום مرحبا",
        "{\"looks\": [\"like\", \"json\"]}",
    ];
    let mut batch = events("odd", odd.len(), "payments", Timestamp::now());
    for (event, text) in batch.iter_mut().zip(odd) {
        event.message = text.to_owned();
        event.reason = "Back:Off*".to_owned();
    }
    sink.send(&batch).await.unwrap();
    let stored = env.read_group(group).await;
    let records = stored
        .get("payments/Back_Off_")
        .expect("sanitized stream name");
    let messages: Vec<&str> = records.iter().map(|(_, e)| e.message.as_str()).collect();
    assert_eq!(messages, odd);
    assert_eq!(records[0].1, batch[0]);
    env.assert_no_violations();
}

#[tokio::test]
async fn events_older_than_14_days_are_clamped_counted_and_stored_with_their_true_times() {
    let env = harness::env().await;
    let group = "/ek-test/old";
    let mut sink = env.sink(group);
    let stats = sink.stats();
    let now = Timestamp::now();
    let mut batch = events(
        "old",
        3,
        "payments",
        now - SignedDuration::from_hours(24 * 20),
    );
    batch.extend(events(
        "new",
        2,
        "payments",
        now - SignedDuration::from_mins(1),
    ));
    sink.send(&batch).await.unwrap();
    assert_eq!(stats.events_clamped(), 3);
    assert_eq!(stats.events_stored(), 5);

    let records = &env.read_group(group).await["payments"];
    assert_eq!(records.len(), 5);
    let fourteen_days_ago = (now - SignedDuration::from_hours(24 * 14)).as_millisecond();
    for (timestamp, event) in records {
        if event.uid.starts_with("old") {
            assert!(*timestamp > fourteen_days_ago, "clamped into the window");
            assert!(
                event.last_seen < now - SignedDuration::from_hours(24 * 19),
                "true time kept"
            );
        } else {
            assert_eq!(*timestamp, event.last_seen.as_millisecond());
        }
    }
    let proxy = env.proxy.stats();
    assert_eq!(
        proxy.events_too_old + proxy.events_too_new + proxy.events_expired,
        0
    );
    env.assert_no_violations();
}

#[tokio::test]
async fn events_cloudwatch_refuses_are_surfaced_as_rejections_and_the_rest_stored() {
    let env = harness::env().await;
    let group = "/ek-test/refused";
    // The group keeps one day, but the sink was not told: CloudWatch itself refuses the old
    // events, reporting them in rejectedLogEventsInfo.
    testkit::cloudwatch::ensure_stream(&env.via_proxy, group, "payments")
        .await
        .unwrap();
    env.via_proxy
        .put_retention_policy()
        .log_group_name(group)
        .retention_in_days(1)
        .send()
        .await
        .unwrap();
    let mut sink = env.sink(group);
    let stats = sink.stats();
    let now = Timestamp::now();
    let mut batch = events("fresh", 2, "payments", now);
    batch.extend(events(
        "stale",
        2,
        "payments",
        now - SignedDuration::from_hours(72),
    ));
    let err = sink.send(&batch).await.unwrap_err();
    let SinkError::Rejected { rejected, .. } = err else {
        panic!("expected per-event rejections, got {err}");
    };
    let indexes: Vec<usize> = rejected.iter().map(|r| r.index).collect();
    assert_eq!(indexes, [2, 3]);
    assert!(
        rejected[0].reason.contains("retention"),
        "{}",
        rejected[0].reason
    );
    assert_eq!(stats.events_rejected(), 2);
    let stored: HashSet<String> = env
        .events_of(group)
        .await
        .into_iter()
        .map(|e| e.uid)
        .collect();
    assert_eq!(
        stored,
        HashSet::from(["fresh-0".to_owned(), "fresh-1".to_owned()])
    );
    env.assert_no_violations();
}

#[tokio::test]
async fn throttling_and_server_errors_are_retryable_and_a_resend_stores_once() {
    let env = harness::env().await;
    let group = "/ek-test/throttled";
    let mut sink = env.sink(group);
    let batch = events("t", 5, "payments", Timestamp::now());
    sink.send(&batch[..1]).await.unwrap(); // creates the stream

    env.proxy.inject(Fault::Throttle, 1);
    let err = sink.send(&batch[1..]).await.unwrap_err();
    assert!(err.is_retryable() && !err.is_maybe_stored(), "{err}");
    env.proxy.inject(Fault::ServerError(503), 1);
    let err = sink.send(&batch[1..]).await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    sink.send(&batch[1..]).await.unwrap();
    tests::assert_exactly_once(
        &env.keys_of(group).await,
        &batch.iter().map(Event::key).collect::<Vec<_>>(),
    );
    env.assert_no_violations();
}

#[tokio::test]
async fn a_batch_failing_part_way_is_resent_without_what_was_stored() {
    let env = harness::env().await;
    let group = "/ek-test/part-way";
    let mut sink = env.sink(group);
    let now = Timestamp::now();
    let mut seed = events("seed-p", 1, "payments", now);
    seed.extend(events("seed-b", 1, "billing", now));
    sink.send(&seed).await.unwrap(); // both streams exist
    let mut batch = events("p", 3, "payments", now);
    batch.extend(events("b", 3, "billing", now));
    let before = env.proxy.stats().events_stored;
    // The first request (payments) goes through, the second (billing) is throttled.
    env.proxy.inject(Fault::Delay(Duration::ZERO), 1);
    env.proxy.inject(Fault::Throttle, 1);
    let err = sink.send(&batch).await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert_eq!(env.proxy.stats().events_stored - before, 3);
    sink.send(&batch).await.unwrap();
    assert_eq!(
        env.proxy.stats().events_stored - before,
        6,
        "payments not sent twice"
    );
    let mut all: Vec<_> = seed.iter().map(Event::key).collect();
    all.extend(batch.iter().map(Event::key));
    tests::assert_exactly_once(&env.keys_of(group).await, &all);
    env.assert_no_violations();
}

#[tokio::test]
async fn a_timeout_after_the_request_was_forwarded_is_maybe_stored_and_already_stored_tells() {
    let env = harness::env().await;
    let group = "/ek-test/timeout";
    let mut sink = env.sink_with(
        CloudWatchSinkConfig::new()
            .log_group(group)
            .timeout_secs(1)
            .send_timeout_secs(5),
    );
    let stats = sink.stats();
    let now = Timestamp::now();
    let batch = events("to", 4, "payments", now);
    sink.send(&batch[..1]).await.unwrap();

    env.proxy
        .inject(Fault::TimeoutAfterForward(Duration::from_secs(3)), 1);
    let err = sink.send(&batch[1..]).await.unwrap_err();
    assert!(err.is_maybe_stored(), "{err}");
    // A fresh sink (as after a restart) must look it up in CloudWatch, not in memory.
    let mut fresh = env.sink(group);
    let mut candidates = batch[1..].to_vec();
    candidates.extend(events("never-sent", 2, "payments", now));
    let stored = fresh.already_stored(&candidates).await.unwrap().unwrap();
    let expected: HashSet<_> = batch[1..].iter().map(Event::key).collect();
    assert_eq!(stored, expected);
    assert!(fresh.stats().lookups() >= 1);
    // The sink that timed out answers the same, and resending only the rest stores nothing
    // twice.
    let again = sink.already_stored(&candidates).await.unwrap().unwrap();
    assert_eq!(again, expected);
    let rest: Vec<Event> = candidates
        .iter()
        .filter(|e| !again.contains(&e.key()))
        .cloned()
        .collect();
    sink.send(&rest).await.unwrap();
    let mut all = batch.iter().map(Event::key).collect::<Vec<_>>();
    all.extend(rest.iter().map(Event::key));
    tests::assert_exactly_once(&env.keys_of(group).await, &all);
    assert!(stats.put_failures() >= 1);
    env.assert_no_violations();
}

#[tokio::test]
async fn a_connection_dropped_after_forwarding_is_maybe_stored() {
    let env = harness::env().await;
    let group = "/ek-test/dropped";
    let mut sink = env.sink(group);
    let batch = events("d", 3, "payments", Timestamp::now());
    sink.send(&batch[..1]).await.unwrap();
    env.proxy.inject(Fault::DropAfterForward, 1);
    let err = sink.send(&batch[1..]).await.unwrap_err();
    assert!(err.is_maybe_stored(), "{err}");
    let stored = sink.already_stored(&batch[1..]).await.unwrap().unwrap();
    assert_eq!(stored.len(), 2);
    env.assert_no_violations();
}

#[tokio::test]
async fn access_denied_is_fatal_and_names_the_permission() {
    let env = harness::env().await;
    let group = "/ek-test/denied";
    let mut sink = env.sink(group);
    env.proxy.inject(Fault::AccessDenied, 1);
    let err = sink
        .send(&events("x", 2, "payments", Timestamp::now()))
        .await
        .unwrap_err();
    assert!(matches!(err, SinkError::Fatal { .. }), "{err}");
    let message = err.to_string();
    assert!(message.contains("logs:PutLogEvents"), "{message}");
    assert!(message.contains(group), "{message}");

    // A denied stream creation names its own permission.
    env.proxy
        .inject_on("CreateLogStream", Fault::AccessDenied, 1);
    let err = sink
        .send(&events("y", 1, "billing", Timestamp::now()))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("logs:CreateLogStream"), "{err}");
    env.assert_no_violations();
}

#[tokio::test]
async fn the_health_check_passes_on_valid_credentials_and_fails_when_unreachable() {
    let env = harness::env().await;
    let mut sink = env.sink("/ek-test/health");
    sink.health_check().await.unwrap();
    // Denied DescribeLogGroups still proves the credentials work.
    env.proxy
        .inject_on("DescribeLogGroups", Fault::AccessDenied, 1);
    sink.health_check().await.unwrap();
    env.proxy
        .inject_on("DescribeLogGroups", Fault::ServerError(503), 1);
    let err = sink.health_check().await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    env.proxy.set_unreachable(true);
    let err = sink.health_check().await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    env.proxy.set_unreachable(false);
    env.assert_no_violations();
}

#[tokio::test]
async fn create_missing_false_makes_a_missing_group_a_fatal_error() {
    let env = harness::env().await;
    let group = "/ek-test/not-created";
    let mut sink = env.sink_with(
        CloudWatchSinkConfig::new()
            .log_group(group)
            .create_missing(false),
    );
    let err = sink
        .send(&events("n", 1, "payments", Timestamp::now()))
        .await
        .unwrap_err();
    assert!(matches!(err, SinkError::Fatal { .. }), "{err}");
    assert!(err.to_string().contains("create_missing"), "{err}");
    assert_eq!(env.proxy.stats().calls("CreateLogGroup"), 0);
    env.assert_no_violations();
}

#[tokio::test]
async fn already_stored_finds_events_stored_under_a_clamped_timestamp() {
    let env = harness::env().await;
    let group = "/ek-test/stored-old";
    let mut sink = env.sink(group);
    let now = Timestamp::now();
    let mut sent = events(
        "old",
        3,
        "payments",
        now - SignedDuration::from_hours(24 * 30),
    );
    sent.extend(events(
        "now",
        2,
        "payments",
        now - SignedDuration::from_secs(5),
    ));
    sink.send(&sent).await.unwrap();
    let mut candidates = sent.clone();
    candidates.extend(events(
        "unsent",
        2,
        "payments",
        now - SignedDuration::from_hours(24 * 30),
    ));
    candidates.extend(events("elsewhere", 1, "billing", now));
    let stored = env
        .sink(group)
        .already_stored(&candidates)
        .await
        .unwrap()
        .unwrap();
    let expected: HashSet<_> = sent.iter().map(Event::key).collect();
    assert_eq!(stored, expected);
    env.assert_no_violations();
}

#[tokio::test]
async fn a_request_refused_as_invalid_is_split_until_the_offending_events_are_rejected() {
    // A service still on the 256 KB event limit refuses what this sink thinks fits: the sink
    // must isolate the offenders rather than retry the request as it is.
    let env = harness::env_with(Limits::default().max_event_bytes(LEGACY_MAX_EVENT_BYTES)).await;
    let group = "/ek-test/invalid";
    let mut sink = env.sink(group);
    let stats = sink.stats();
    let mut batch = events("inv", 6, "payments", Timestamp::now());
    batch[1].message = "a".repeat(400 * 1024);
    batch[4].message = "b".repeat(300 * 1024);
    let err = sink.send(&batch).await.unwrap_err();
    let SinkError::Rejected { rejected, .. } = err else {
        panic!("expected per-event rejections, got {err}");
    };
    let indexes: Vec<usize> = rejected.iter().map(|r| r.index).collect();
    assert_eq!(indexes, [1, 4]);
    assert!(
        rejected[0].reason.contains("too large"),
        "{}",
        rejected[0].reason
    );
    assert_eq!(stats.events_rejected(), 2);
    let stored: Vec<_> = env.keys_of(group).await;
    let expected: Vec<_> = [0, 2, 3, 5].iter().map(|&i| batch[i].key()).collect();
    tests::assert_exactly_once(&stored, &expected);
    let violations = env.proxy.violations();
    assert!(!violations.is_empty());
    assert!(
        violations
            .iter()
            .all(|v| matches!(v.rule, Rule::EventTooLarge { .. })),
        "{violations:?}"
    );
    // Bounded: at most one call per event and split, never a retry loop.
    assert!(
        stats.put_calls() <= 2 * 6 + 1,
        "{} calls",
        stats.put_calls()
    );
}

#[tokio::test]
async fn a_sink_whose_clock_is_behind_gets_old_events_refused_by_index() {
    let env = harness::env().await;
    let group = "/ek-test/clock-behind";
    let behind = Timestamp::now() - SignedDuration::from_hours(24 * 20);
    let mut sink = env
        .sink(group)
        .with_clock(event_core::clock::Clock::from_fn(move || behind));
    let stats = sink.stats();
    // In the sink's window, so sent unclamped; 20 days old for the service.
    let batch = events("skewed", 3, "payments", behind);
    let err = sink.send(&batch).await.unwrap_err();
    let SinkError::Rejected { rejected, .. } = err else {
        panic!("expected per-event rejections, got {err}");
    };
    let indexes: Vec<usize> = rejected.iter().map(|r| r.index).collect();
    assert_eq!(indexes, [0, 1, 2]);
    assert!(
        rejected[0].reason.contains("14 days"),
        "{}",
        rejected[0].reason
    );
    assert_eq!(stats.events_clamped(), 0);
    assert_eq!(env.proxy.stats().events_too_old, 3);
    env.assert_no_violations();
}
