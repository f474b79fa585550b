//! The strict proxy's PutLogEvents limits, through the real AWS SDK, against a real moto
//! shared by every test of this binary (each test uses its own log group).

use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::error::ProvideErrorMetadata as _;
use aws_sdk_cloudwatchlogs::operation::put_log_events::PutLogEventsOutput;
use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use testkit::cloudwatch::{
    LEGACY_MAX_EVENT_BYTES, Limits, Rule, StrictProxy, client, ensure_stream, read_stream,
};
use testkit::moto::Moto;

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

fn now_ms() -> i64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    i64::try_from(since.as_millis()).unwrap()
}

fn event(timestamp: i64, message: impl Into<String>) -> InputLogEvent {
    InputLogEvent::builder()
        .timestamp(timestamp)
        .message(message)
        .build()
        .unwrap()
}

/// A proxy with `limits` in front of the shared moto, a client through it, a client
/// straight to moto, and a stream `group`/`s` ready.
async fn setup(group: &str, limits: Limits) -> (StrictProxy, Client, Client) {
    let moto = Moto::shared().await.unwrap();
    let proxy = StrictProxy::start_with(&moto.endpoint(), limits)
        .await
        .unwrap();
    let logs = client(&proxy.endpoint()).await;
    ensure_stream(&logs, group, "s").await.unwrap();
    (proxy, logs, client(&moto.endpoint()).await)
}

async fn put(
    logs: &Client,
    group: &str,
    events: Vec<InputLogEvent>,
) -> Result<
    PutLogEventsOutput,
    aws_sdk_cloudwatchlogs::error::SdkError<
        aws_sdk_cloudwatchlogs::operation::put_log_events::PutLogEventsError,
    >,
> {
    logs.put_log_events()
        .log_group_name(group)
        .log_stream_name("s")
        .set_log_events(Some(events))
        .send()
        .await
}

/// The messages moto holds for `group`/`s`, read around the proxy.
async fn stored(moto: &Client, group: &str) -> Vec<String> {
    read_stream(moto, group, "s")
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.message.unwrap_or_default())
        .collect()
}

/// Asserts that `events` are refused as InvalidParameterException with `message`, that the
/// violation was recorded with `rule`, and that nothing reached moto.
async fn assert_refused(group: &str, limits: Limits, events: Vec<InputLogEvent>, rule: Rule) {
    let (proxy, logs, moto) = setup(group, limits).await;
    let error = put(&logs, group, events).await.unwrap_err();
    assert_eq!(error.code(), Some("InvalidParameterException"), "{error:?}");
    assert_eq!(error.message(), Some(rule.aws_message().as_str()));
    assert!(
        error
            .as_service_error()
            .is_some_and(|e| e.is_invalid_parameter_exception())
    );
    let violations = proxy.violations();
    assert!(
        violations
            .iter()
            .any(|v| v.rule == rule && v.log_group == group),
        "{rule:?} not in {violations:?}"
    );
    assert_eq!(proxy.stats().violations, 1);
    assert_eq!(stored(&moto, group).await, Vec::<String>::new());
}

#[tokio::test]
async fn valid_requests_pass_through_unchanged() {
    let (proxy, logs, moto) = setup("limits-transparent", Limits::default()).await;
    let now = now_ms();
    let events = vec![
        event(now - 2, "plain"),
        event(now - 1, "ünïcödé ✓"),
        event(now, "{\"json\": [1, 2]}"),
    ];
    let output = put(&logs, "limits-transparent", events).await.unwrap();
    assert!(output.rejected_log_events_info().is_none());

    let through_proxy = read_stream(&logs, "limits-transparent", "s").await.unwrap();
    let direct = read_stream(&moto, "limits-transparent", "s").await.unwrap();
    assert_eq!(through_proxy, direct);
    let read: Vec<_> = direct
        .iter()
        .map(|e| (e.timestamp.unwrap(), e.message.clone().unwrap()))
        .collect();
    assert_eq!(
        read,
        [
            (now - 2, "plain".to_owned()),
            (now - 1, "ünïcödé ✓".to_owned()),
            (now, "{\"json\": [1, 2]}".to_owned())
        ]
    );

    let stats = proxy.stats();
    assert_eq!(stats.put_log_events_calls, 1);
    assert_eq!(stats.put_log_events_events, 3);
    let bytes = "plain".len() + "ünïcödé ✓".len() + "{\"json\": [1, 2]}".len() + 3 * 26;
    assert_eq!(stats.put_log_events_bytes, bytes as u64);
    assert_eq!(stats.events_stored, 3);
    assert_eq!(stats.calls("CreateLogGroup"), 1);
    assert_eq!(stats.calls("CreateLogStream"), 1);
    assert!(stats.calls("GetLogEvents") >= 1);
    assert!(proxy.violations().is_empty());
}

#[tokio::test]
async fn describe_log_streams_is_counted_not_refused() {
    let (proxy, logs, _) = setup("limits-describe", Limits::default()).await;
    put(&logs, "limits-describe", vec![event(now_ms(), "x")])
        .await
        .unwrap();
    assert_eq!(proxy.stats().calls("DescribeLogStreams"), 0);
    let streams = logs
        .describe_log_streams()
        .log_group_name("limits-describe")
        .send()
        .await
        .unwrap();
    assert_eq!(streams.log_streams().len(), 1);
    assert_eq!(proxy.stats().calls("DescribeLogStreams"), 1);
}

#[tokio::test]
async fn ten_thousand_events_are_accepted() {
    let (proxy, logs, moto) = setup("limits-10000", Limits::default()).await;
    let now = now_ms();
    let events = (0..10_000).map(|i| event(now, format!("e{i}"))).collect();
    put(&logs, "limits-10000", events).await.unwrap();
    let messages = stored(&moto, "limits-10000").await;
    assert_eq!(messages.len(), 10_000);
    assert_eq!(messages[9_999], "e9999");
    assert!(proxy.violations().is_empty());
}

#[tokio::test]
async fn ten_thousand_and_one_events_are_refused() {
    let now = now_ms();
    let events = (0..10_001).map(|i| event(now, format!("e{i}"))).collect();
    let rule = Rule::TooManyEvents {
        count: 10_001,
        limit: 10_000,
    };
    assert_refused("limits-10001", Limits::default(), events, rule).await;
}

#[tokio::test]
async fn a_batch_of_exactly_1_mib_is_accepted() {
    // Four events of 262,118 bytes + 26 each: 1,048,576 bytes, also within the legacy
    // per-event limit.
    let limits = Limits::default().max_event_bytes(LEGACY_MAX_EVENT_BYTES);
    let (proxy, logs, moto) = setup("limits-1mib", limits).await;
    let now = now_ms();
    let events = (0..4).map(|_| event(now, "x".repeat(262_118))).collect();
    put(&logs, "limits-1mib", events).await.unwrap();
    assert_eq!(stored(&moto, "limits-1mib").await.len(), 4);
    assert_eq!(proxy.stats().put_log_events_bytes, 1_048_576);
    assert!(proxy.violations().is_empty());
}

#[tokio::test]
async fn a_batch_one_byte_over_1_mib_is_refused() {
    let now = now_ms();
    let mut events: Vec<_> = (0..3).map(|_| event(now, "x".repeat(262_118))).collect();
    events.push(event(now, "x".repeat(262_119)));
    let rule = Rule::BatchTooLarge {
        bytes: 1_048_577,
        limit: 1_048_576,
    };
    assert_refused("limits-1mib-plus-1", Limits::default(), events, rule).await;
}

#[tokio::test]
async fn the_batch_size_counts_utf8_bytes_not_characters() {
    // "é" is one character and two bytes: 524,344 characters, 1,048,584 bytes.
    let now = now_ms();
    let events: Vec<_> = (0..4).map(|_| event(now, "é".repeat(131_060))).collect();
    let characters: usize = events
        .iter()
        .map(|e| e.message().chars().count() + 26)
        .sum();
    assert!(characters < 1_048_576);
    let rule = Rule::BatchTooLarge {
        bytes: 1_048_584,
        limit: 1_048_576,
    };
    assert_refused("limits-utf8", Limits::default(), events, rule).await;
}

#[tokio::test]
async fn an_event_over_the_legacy_256_kib_limit_is_refused_when_configured() {
    let now = now_ms();
    let events = vec![event(now, "small"), event(now, "x".repeat(262_119))];
    let rule = Rule::EventTooLarge {
        index: 1,
        bytes: 262_145,
        limit: 262_144,
    };
    let limits = Limits::default().max_event_bytes(LEGACY_MAX_EVENT_BYTES);
    assert_refused("limits-event-256k", limits, events, rule).await;
}

#[tokio::test]
async fn an_event_over_1_mb_is_refused_and_a_300_kib_one_is_accepted_by_default() {
    let now = now_ms();
    let (proxy, logs, moto) = setup("limits-event-300k", Limits::default()).await;
    put(
        &logs,
        "limits-event-300k",
        vec![event(now, "y".repeat(300 * 1024))],
    )
    .await
    .unwrap();
    assert_eq!(stored(&moto, "limits-event-300k").await.len(), 1);
    assert!(proxy.violations().is_empty());

    let events = vec![event(now, "x".repeat(1_048_551))];
    let rule = Rule::EventTooLarge {
        index: 0,
        bytes: 1_048_577,
        limit: 1_048_576,
    };
    assert_refused("limits-event-1m", Limits::default(), events, rule).await;
}

#[tokio::test]
async fn out_of_order_timestamps_are_refused() {
    let now = now_ms();
    let events = vec![event(now - 10, "a"), event(now, "b"), event(now - 5, "c")];
    let rule = Rule::OutOfOrder {
        index: 2,
        timestamp: now - 5,
        previous: now,
    };
    assert_refused("limits-order", Limits::default(), events, rule).await;
}

#[tokio::test]
async fn a_batch_spanning_over_24_hours_is_refused() {
    let now = now_ms();
    let events = vec![event(now - DAY - 60_000, "a"), event(now, "b")];
    let rule = Rule::SpanTooLong {
        span_ms: DAY + 60_000,
        limit_ms: DAY,
    };
    assert_refused("limits-span", Limits::default(), events, rule).await;
}

#[tokio::test]
async fn too_old_and_too_new_events_are_reported_and_the_others_stored() {
    let (proxy, logs, moto) = setup("limits-rejected", Limits::default()).await;
    let now = now_ms();
    let events = vec![
        event(now - 15 * DAY, "too old"),
        event(now - 14 * DAY - HOUR, "too old too"),
        event(now - 60_000, "kept"),
        event(now, "kept too"),
        event(now + 3 * HOUR, "too new"),
    ];
    let output = put(&logs, "limits-rejected", events).await.unwrap();
    let info = output.rejected_log_events_info().unwrap();
    assert_eq!(info.too_old_log_event_end_index(), Some(1));
    assert_eq!(info.too_new_log_event_start_index(), Some(4));
    assert_eq!(info.expired_log_event_end_index(), None);
    assert_eq!(stored(&moto, "limits-rejected").await, ["kept", "kept too"]);

    let stats = proxy.stats();
    assert_eq!(
        (
            stats.events_stored,
            stats.events_too_old,
            stats.events_too_new
        ),
        (2, 2, 1)
    );
    // The span counts only events the service keeps: 15 days of dropped ones do not fail it.
    assert!(proxy.violations().is_empty(), "{:?}", proxy.violations());
}

#[tokio::test]
async fn events_older_than_the_groups_retention_are_reported_expired() {
    let (proxy, logs, moto) = setup("limits-expired", Limits::default()).await;
    logs.put_retention_policy()
        .log_group_name("limits-expired")
        .retention_in_days(1)
        .send()
        .await
        .unwrap();
    let now = now_ms();
    let events = vec![
        event(now - 3 * DAY, "expired"),
        event(now - 2 * DAY, "expired too"),
        event(now, "kept"),
    ];
    let output = put(&logs, "limits-expired", events).await.unwrap();
    let info = output.rejected_log_events_info().unwrap();
    assert_eq!(info.expired_log_event_end_index(), Some(1));
    assert_eq!(info.too_old_log_event_end_index(), None);
    assert_eq!(stored(&moto, "limits-expired").await, ["kept"]);
    assert_eq!(proxy.stats().events_expired, 2);
}

#[tokio::test]
async fn a_batch_of_only_dropped_events_succeeds_and_stores_nothing() {
    let (_proxy, logs, moto) = setup("limits-all-dropped", Limits::default()).await;
    let now = now_ms();
    let output = put(
        &logs,
        "limits-all-dropped",
        vec![event(now - 20 * DAY, "old"), event(now + 5 * HOUR, "new")],
    )
    .await
    .unwrap();
    let info = output.rejected_log_events_info().unwrap();
    assert_eq!(info.too_old_log_event_end_index(), Some(0));
    assert_eq!(info.too_new_log_event_start_index(), Some(1));
    assert_eq!(
        stored(&moto, "limits-all-dropped").await,
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn moto_errors_reach_the_client_unchanged() {
    let (proxy, logs, _) = setup("limits-missing", Limits::default()).await;
    let error = logs
        .put_log_events()
        .log_group_name("limits-missing")
        .log_stream_name("no-such-stream")
        .log_events(event(now_ms(), "x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some("ResourceNotFoundException"), "{error:?}");
    assert!(proxy.violations().is_empty());
}

/// Why the proxy exists: moto alone stores what the real service refuses.
#[tokio::test]
async fn moto_alone_accepts_batches_the_service_refuses() {
    let moto = client(&Moto::shared().await.unwrap().endpoint()).await;
    ensure_stream(&moto, "moto-unchecked", "s").await.unwrap();
    let now = now_ms();
    let too_many = (0..10_001).map(|i| event(now, format!("e{i}"))).collect();
    put(&moto, "moto-unchecked", too_many).await.unwrap();
    let too_long = vec![event(now - 2 * DAY, "a"), event(now, "b")];
    put(&moto, "moto-unchecked", too_long).await.unwrap();
    assert_eq!(stored(&moto, "moto-unchecked").await.len(), 10_003);
}

/// What moto does itself with events the service drops (measured with moto 5.2): it drops
/// too-new and too-old ones and reports them, but ignores the group's retention, which is
/// why the proxy classifies every event itself.
#[tokio::test]
async fn moto_alone_drops_too_old_and_too_new_events_but_ignores_retention() {
    let moto = client(&Moto::shared().await.unwrap().endpoint()).await;
    ensure_stream(&moto, "moto-own-rejects", "s").await.unwrap();
    moto.put_retention_policy()
        .log_group_name("moto-own-rejects")
        .retention_in_days(1)
        .send()
        .await
        .unwrap();
    let now = now_ms();
    let events = vec![
        event(now - 15 * DAY, "too old"),
        event(now - 3 * DAY, "expired"),
        event(now, "kept"),
        event(now + 3 * HOUR, "too new"),
    ];
    let output = put(&moto, "moto-own-rejects", events).await.unwrap();
    let info = output.rejected_log_events_info().unwrap();
    assert_eq!(info.too_old_log_event_end_index(), Some(0));
    assert_eq!(info.too_new_log_event_start_index(), Some(3));
    assert_eq!(info.expired_log_event_end_index(), None);
    assert_eq!(stored(&moto, "moto-own-rejects").await, ["expired", "kept"]);
}
