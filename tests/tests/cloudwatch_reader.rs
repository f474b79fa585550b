//! The CloudWatch reader against moto: events shipped by the sink stream back, filtered,
//! paginated and deduplicated; a missing log group is a typed error.

#[path = "cloudwatch_support/harness.rs"]
mod harness;

use std::collections::HashSet;

use event_core::testing::sample_event;
use event_core::{Event, Sink};
use futures::{StreamExt, TryStreamExt};
use jiff::{SignedDuration, Timestamp};
use sink_cloudwatch::{CloudWatchReader, ReadError, dedupe_by_key};

/// 40 events: namespaces payments/billing alternating, every third a Normal, a minute apart
/// from two hours ago.
fn history() -> Vec<Event> {
    let start = Timestamp::now() - SignedDuration::from_hours(2);
    (0..40)
        .map(|i| {
            let namespace = if i % 2 == 0 { "payments" } else { "billing" };
            let mut e = sample_event(&format!("h-{i}"), 100 + i, namespace);
            if i % 3 == 0 {
                e.event_type = "Normal".into();
                e.reason = "Pulled".into();
            }
            e.last_seen = start + SignedDuration::from_mins(i as i64);
            e
        })
        .collect()
}

async fn shipped(env: &harness::Env, group: &str) -> Vec<Event> {
    let events = history();
    env.sink(group).send(&events).await.unwrap();
    events
}

async fn read(reader: CloudWatchReader) -> Vec<Event> {
    reader.into_stream().try_collect().await.unwrap()
}

fn uids(events: &[Event]) -> HashSet<String> {
    events.iter().map(|e| e.uid.clone()).collect()
}

#[tokio::test]
async fn every_shipped_event_streams_back_page_by_page() {
    let env = harness::env().await;
    let group = "/ek-test/reader-all";
    let sent = shipped(&env, group).await;
    let back = read(CloudWatchReader::new(env.via_proxy.clone(), group).page_size(7)).await;
    assert_eq!(back.len(), sent.len());
    assert!(
        env.proxy.stats().calls("FilterLogEvents") >= 6,
        "40 events in pages of 7"
    );
    assert_eq!(uids(&back), uids(&sent));
    let original = sent.iter().find(|e| e.uid == "h-5").unwrap();
    assert_eq!(back.iter().find(|e| e.uid == "h-5").unwrap(), original);
}

#[tokio::test]
async fn equality_filters_and_a_stream_prefix_select_events() {
    let env = harness::env().await;
    let group = "/ek-test/reader-filters";
    let sent = shipped(&env, group).await;
    let reader = CloudWatchReader::new(env.moto.clone(), group)
        .namespace("payments")
        .event_type("Warning");
    let back = read(reader).await;
    let expected: Vec<Event> = sent
        .iter()
        .filter(|e| e.namespace.as_deref() == Some("payments") && e.is_warning())
        .cloned()
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(uids(&back), uids(&expected));

    let billing = read(CloudWatchReader::new(env.moto.clone(), group).stream_prefix("bill")).await;
    assert_eq!(billing.len(), 20);
    assert!(
        billing
            .iter()
            .all(|e| e.namespace.as_deref() == Some("billing"))
    );

    let pulled = read(CloudWatchReader::new(env.moto.clone(), group).reason("Pulled")).await;
    assert_eq!(
        pulled.len(),
        sent.iter().filter(|e| e.reason == "Pulled").count()
    );
}

#[tokio::test]
async fn a_time_range_selects_events_by_their_timestamp() {
    let env = harness::env().await;
    let group = "/ek-test/reader-range";
    let sent = shipped(&env, group).await;
    let since = sent[10].last_seen;
    let until = sent[19].last_seen;
    let back = read(
        CloudWatchReader::new(env.moto.clone(), group)
            .since(since)
            .until(until),
    )
    .await;
    assert_eq!(uids(&back), uids(&sent[10..20]));
}

#[tokio::test]
async fn repeated_occurrences_are_dropped_by_the_dedupe_helper() {
    let env = harness::env().await;
    let group = "/ek-test/reader-dedupe";
    let sent = shipped(&env, group).await;
    // A resend after an uncertain timeout stores some occurrences twice; a new version of an
    // event is a new occurrence and is kept.
    let mut sink = env.sink(group);
    sink.send(&sent[..5]).await.unwrap();
    let mut updated = sent[0].clone();
    updated.resource_version = "999".into();
    sink.send(std::slice::from_ref(&updated)).await.unwrap();

    let raw = read(CloudWatchReader::new(env.moto.clone(), group)).await;
    assert_eq!(raw.len(), 46);
    let unique: Vec<Event> =
        dedupe_by_key(CloudWatchReader::new(env.moto.clone(), group).into_stream())
            .try_collect()
            .await
            .unwrap();
    assert_eq!(unique.len(), 41);
    let keys: HashSet<_> = unique.iter().map(Event::key).collect();
    assert_eq!(keys.len(), 41);
    assert!(keys.contains(&updated.key()));
}

#[tokio::test]
async fn a_missing_log_group_is_a_typed_error() {
    let env = harness::env().await;
    let items: Vec<_> = CloudWatchReader::new(env.moto.clone(), "/ek-test/no-such-group")
        .into_stream()
        .collect()
        .await;
    assert_eq!(items.len(), 1);
    match items.into_iter().next().unwrap() {
        Err(ReadError::GroupNotFound { group }) => assert_eq!(group, "/ek-test/no-such-group"),
        other => panic!("expected GroupNotFound, got {other:?}"),
    }
}

#[tokio::test]
async fn a_record_that_is_not_an_event_is_reported_and_reading_goes_on() {
    let env = harness::env().await;
    let group = "/ek-test/reader-foreign";
    testkit::cloudwatch::ensure_stream(&env.moto, group, "other")
        .await
        .unwrap();
    let now = Timestamp::now().as_millisecond();
    env.moto
        .put_log_events()
        .log_group_name(group)
        .log_stream_name("other")
        .log_events(
            aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                .timestamp(now - 1000)
                .message("plain text from another writer")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let sent = shipped(&env, group).await;
    let items: Vec<_> = CloudWatchReader::new(env.moto.clone(), group)
        .into_stream()
        .collect()
        .await;
    let errors: Vec<_> = items.iter().filter_map(|i| i.as_ref().err()).collect();
    assert_eq!(errors.len(), 1);
    assert!(matches!(errors[0], ReadError::Parse { log_stream, .. } if log_stream == "other"));
    assert_eq!(items.len(), sent.len() + 1);
}
