//! The CloudWatch history source against moto: events shipped by the sink read back whole and
//! page by page, narrowed by a selection's filter pattern and by a time range; a record that is
//! not an event is reported and reading goes on. (Repeats and a missing log group are covered,
//! through the history, by `event_history_cloudwatch`.)

#[path = "cloudwatch_support/harness.rs"]
mod harness;

use std::collections::HashSet;

use event_core::testing::sample_event;
use event_core::{Event, Sink};
use event_history::{History, HistoryConfig, HistorySource, Selection, TimeRange};
use futures::{StreamExt, TryStreamExt};
use jiff::{SignedDuration, Timestamp};
use sink_cloudwatch::{CloudWatchHistory, ReadError};

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

/// One read of `source`, as stored: no selection applied, nothing dropped.
async fn read(mut source: CloudWatchHistory) -> Vec<Event> {
    source.read().try_collect().await.unwrap()
}

/// What a history of `source` yields when `selection` is applied.
async fn selected(source: CloudWatchHistory, selection: &Selection) -> Vec<Event> {
    let source = source.select(selection);
    let keep = selection.compile().unwrap();
    History::new(source, keep, HistoryConfig::default())
        .try_collect()
        .await
        .unwrap()
}

fn uids(events: &[Event]) -> HashSet<String> {
    events.iter().map(|e| e.uid.clone()).collect()
}

#[tokio::test]
async fn every_shipped_event_reads_back_page_by_page() {
    let env = harness::env().await;
    let group = "/ek-test/history-source-all";
    let sent = shipped(&env, group).await;
    let before = env.proxy.stats().calls("FilterLogEvents");
    let back = read(CloudWatchHistory::new(env.via_proxy.clone(), group).page_size(7)).await;
    assert_eq!(back.len(), sent.len());
    assert!(
        env.proxy.stats().calls("FilterLogEvents") - before >= 6,
        "40 events in pages of 7"
    );
    assert_eq!(uids(&back), uids(&sent));
    let original = sent.iter().find(|e| e.uid == "h-5").unwrap();
    assert_eq!(back.iter().find(|e| e.uid == "h-5").unwrap(), original);
}

#[tokio::test]
async fn a_selection_selects_events() {
    let env = harness::env().await;
    let group = "/ek-test/history-source-select";
    let sent = shipped(&env, group).await;
    let selection = Selection::default()
        .namespaces(["payments"])
        .types(["Warning"]);
    let expected: Vec<Event> = sent
        .iter()
        .filter(|e| e.namespace.as_deref() == Some("payments") && e.is_warning())
        .cloned()
        .collect();
    assert!(!expected.is_empty());

    let history = selected(CloudWatchHistory::new(env.moto.clone(), group), &selection).await;
    assert_eq!(uids(&history), uids(&expected));

    let billing = selected(
        CloudWatchHistory::new(env.moto.clone(), group),
        &Selection::default().namespaces(["billing"]),
    )
    .await;
    assert_eq!(billing.len(), 20);
    assert!(
        billing
            .iter()
            .all(|e| e.namespace.as_deref() == Some("billing"))
    );

    let pulled = selected(
        CloudWatchHistory::new(env.moto.clone(), group),
        &Selection::default().reasons(["Pulled"]),
    )
    .await;
    assert_eq!(
        pulled.len(),
        sent.iter().filter(|e| e.reason == "Pulled").count()
    );
}

#[tokio::test]
async fn a_time_range_selects_events_by_their_timestamp() {
    let env = harness::env().await;
    let group = "/ek-test/history-source-range";
    let sent = shipped(&env, group).await;
    let range = TimeRange::new(Some(sent[10].last_seen), Some(sent[19].last_seen)).unwrap();
    let back = read(CloudWatchHistory::new(env.moto.clone(), group).range(range)).await;
    assert_eq!(uids(&back), uids(&sent[10..20]));
}

#[tokio::test]
async fn a_record_that_is_not_an_event_is_reported_and_reading_goes_on() {
    let env = harness::env().await;
    let group = "/ek-test/history-source-foreign";
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
    let items: Vec<_> = CloudWatchHistory::new(env.moto.clone(), group)
        .read()
        .collect()
        .await;
    let errors: Vec<_> = items.iter().filter_map(|i| i.as_ref().err()).collect();
    assert_eq!(errors.len(), 1);
    assert!(matches!(errors[0], ReadError::Parse { log_stream, .. } if log_stream == "other"));
    assert_eq!(items.len(), sent.len() + 1);
}

/// 600 events over six hours in two log streams, some sharing a millisecond, read over a range
/// long enough to be cut into time slices (five minutes at least, four per request in flight):
/// the sliced read yields what one chain of pages yields, in the same order, across the slice
/// boundaries and with chains of pages inside the slices; and it asked for each slice.
#[tokio::test]
async fn a_long_range_read_in_time_slices_yields_what_one_chain_of_pages_does() {
    let env = harness::env().await;
    let group = "/ek-test/history-source-slices";
    let start = Timestamp::now() - SignedDuration::from_hours(7);
    let sent: Vec<Event> = (0..600)
        .map(|i| {
            let namespace = if i % 3 == 0 { "payments" } else { "billing" };
            let mut e = sample_event(&format!("s-{i}"), 1000 + i, namespace);
            // Every fifth shares the millisecond of the one before.
            let step = if i % 5 == 4 { i - 1 } else { i };
            e.last_seen = start + SignedDuration::from_secs(36 * step as i64);
            e
        })
        .collect();
    env.sink(group).send(&sent).await.unwrap();
    let range = TimeRange::new(Some(start - SignedDuration::from_mins(1)), None).unwrap();
    let history = |concurrency: usize, page: u16| {
        let source = CloudWatchHistory::new(env.via_proxy.clone(), group)
            .range(range)
            .page_size(page)
            .concurrency(concurrency);
        History::new(
            source,
            Selection::default().compile().unwrap(),
            HistoryConfig::default().range(range),
        )
    };
    let calls = || env.proxy.stats().calls("FilterLogEvents");
    let keys =
        |events: &[Event]| -> Vec<String> { events.iter().map(|e| e.key().to_string()).collect() };

    let before = calls();
    let one: Vec<Event> = history(1, 1000).try_collect().await.unwrap();
    assert_eq!(calls() - before, 1, "one chain, one page");
    assert_eq!(one.len(), 600);
    assert_eq!(uids(&one), uids(&sent));
    assert!(one.windows(2).all(|w| w[0].last_seen <= w[1].last_seen));

    let before = calls();
    let sliced: Vec<Event> = history(4, 1000).try_collect().await.unwrap();
    assert_eq!(
        calls() - before,
        16,
        "four slices per request in flight, one page each"
    );
    assert_eq!(keys(&sliced), keys(&one));

    let before = calls();
    let paged: Vec<Event> = history(3, 10).try_collect().await.unwrap();
    assert!(
        calls() - before >= 60,
        "600 events in pages of 10, in slices"
    );
    assert_eq!(keys(&paged), keys(&one));
}
