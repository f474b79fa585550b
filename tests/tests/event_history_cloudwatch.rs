//! Reading history back from CloudWatch Logs (moto behind the strict proxy), written by the real
//! `CloudWatchSink`: the same incident prints the same bytes from CloudWatch as from a file
//! archive, repeats stored by a resend are printed once, following picks up new events once
//! across polls, a missing log group is one clear line, and several clusters' groups read with
//! `--cluster` merge in time order.
//!
//! moto accepts only timestamps from the last 14 days, so the incident is moved to end half an
//! hour ago; ages relative to the moved "now" are the same as in the archive's golden file.

#[path = "event_history_support/binary.rs"]
mod binary;
#[path = "cloudwatch_support/harness.rs"]
mod harness;
#[path = "event_history_support/history.rs"]
mod history;
#[path = "event_history_support/incident.rs"]
mod incident;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use event_core::{Event, Sink};
use event_history::{History, HistoryConfig, HistorySource, Selection, TimeRange, parse_time};
use event_history::{Layout, Printer, TableWriter};
use futures::{StreamExt, TryStreamExt};
use history::{golden_bytes, print, range, shifted, write_archive};
use jiff::{SignedDuration, Timestamp};
use sink_cloudwatch::{CloudWatchHistory, ReadError};
use sink_file::FileArchiveHistory;

/// The incident, moved to end half an hour ago, stored in `group` by the sink as the pipeline
/// would: one sink per process, so the resend after a restart stores its repeats again.
async fn ship(env: &harness::Env, group: &str) -> SignedDuration {
    let day = incident::day_ending(SignedDuration::from_mins(30));
    let batches = incident::batches(day);
    let mut sink = env.sink(group);
    for (i, batch) in batches.iter().enumerate() {
        if i == 4 {
            // Batch E is the resend of a process that restarted.
            sink = env.sink(group);
        }
        sink.send(&batch.events).await.expect("stored");
    }
    env.assert_no_violations();
    incident::shift(day)
}

/// A range, a selection and how to print it.
type Query = (TimeRange, Selection, fn() -> Printer);

fn cloudwatch(
    env: &harness::Env,
    group: &str,
    range: TimeRange,
    selection: &Selection,
) -> CloudWatchHistory {
    CloudWatchHistory::new(env.via_proxy.clone(), group)
        .range(range)
        .select(selection)
        .page_size(5)
}

#[tokio::test]
async fn the_incident_prints_the_same_from_cloudwatch_as_from_the_archive() {
    let env = harness::env().await;
    let group = "/ek-test/history-same";
    let shift = ship(&env, group).await;
    let dir = tempfile::tempdir().unwrap();
    let moved = incident::batches(incident::day() + shift);
    write_archive(dir.path(), &moved).await;
    let archive = || FileArchiveHistory::open(dir.path(), "events").unwrap();

    let queries: Vec<Query> = vec![
        (
            range(Some("2026-11-24T09:50:00Z"), Some("2026-11-24T10:30:00Z")),
            Selection::default(),
            || Printer::table(TableWriter::new(Layout::Table).namespace_column()),
        ),
        (
            range(Some("2026-11-24T09:00:00Z"), Some("2026-11-24T12:00:00Z")),
            Selection::default().namespaces(["payments"]),
            || Printer::table(TableWriter::new(Layout::Wide)),
        ),
        (
            range(Some("2026-11-24T08:00:00Z"), None),
            Selection::default()
                .object("pod/api-7d9f5c6b8-k7wz4".parse().unwrap())
                .types(["Warning"]),
            Printer::json,
        ),
    ];
    let calls_before = env.proxy.stats().calls("FilterLogEvents");
    for (range, selection, printer) in queries {
        let range = shifted(range, shift);
        let from_cloudwatch = print(
            cloudwatch(&env, group, range, &selection),
            &selection,
            range,
            printer(),
        )
        .await;
        let from_files = print(archive().range(range), &selection, range, printer()).await;
        assert!(!from_files.is_empty());
        assert_eq!(
            String::from_utf8(from_cloudwatch).unwrap(),
            String::from_utf8(from_files).unwrap()
        );
    }
    assert!(
        env.proxy.stats().calls("FilterLogEvents") - calls_before >= 4,
        "pages of five events"
    );
}

#[tokio::test]
async fn ages_from_cloudwatch_match_the_golden_file() {
    let env = harness::env().await;
    let group = "/ek-test/history-relative";
    let shift = ship(&env, group).await;
    let now: Timestamp = "2026-11-24T10:30:00Z".parse::<Timestamp>().unwrap() + shift;
    let range = TimeRange::new(Some(parse_time("40m", now).unwrap()), Some(now)).unwrap();
    let selection = Selection::default().reasons(["BackOff", "FailedScheduling"]);
    let printer = Printer::table(
        TableWriter::new(Layout::Table)
            .namespace_column()
            .relative_to(now),
    );
    let out = print(
        cloudwatch(&env, group, range, &selection),
        &selection,
        range,
        printer,
    )
    .await;
    assert_eq!(
        String::from_utf8(out).unwrap(),
        String::from_utf8(golden_bytes("backoffs_relative.txt")).unwrap()
    );

    // The binary, with credentials from the environment as the default chain finds them.
    let now = now.to_string();
    let output = binary::run_async(&[
        "--log-group",
        group,
        "--endpoint-url",
        &env.proxy.endpoint(),
        "--now",
        &now,
        "--since",
        "40m",
        "--reason",
        "BackOff,FailedScheduling",
        "--relative",
    ])
    .await;
    assert!(output.status.success(), "{}", binary::stderr(&output));
    assert_eq!(binary::stderr(&output), "");
    assert_eq!(output.stdout, golden_bytes("backoffs_relative.txt"));
}

#[tokio::test]
async fn repeats_stored_by_a_resend_are_printed_once_and_updates_kept() {
    let env = harness::env().await;
    let group = "/ek-test/history-repeats";
    ship(&env, group).await;
    // One read of the source, before the history drops anything.
    let stored: Vec<Event> = CloudWatchHistory::new(env.moto.clone(), group)
        .read()
        .try_collect()
        .await
        .unwrap();
    let written: usize = incident::batches(incident::day())
        .iter()
        .map(|b| b.events.len())
        .sum();
    assert_eq!(stored.len(), written, "the resend stored its repeats");
    let unique: HashSet<String> = stored.iter().map(|e| e.key().to_string()).collect();
    assert_eq!(unique.len(), written - 3);

    let keep = Selection::default().compile().unwrap();
    let source = CloudWatchHistory::new(env.moto.clone(), group);
    let printed: Vec<Event> = History::new(source, keep, HistoryConfig::default())
        .try_collect()
        .await
        .unwrap();
    let keys: Vec<String> = printed.iter().map(|e| e.key().to_string()).collect();
    assert_eq!(keys.len(), unique.len(), "each occurrence once: {keys:?}");
    assert_eq!(keys.iter().filter(|k| k.starts_with("e08/")).count(), 3);
    assert!(
        printed.windows(2).all(|w| w[0].last_seen <= w[1].last_seen),
        "newest last"
    );
}

#[tokio::test]
async fn following_a_log_group_prints_new_events_once_across_polls() {
    let env = harness::env().await;
    let group = "/ek-test/history-follow";
    let mut sink = env.sink(group);
    let base = Timestamp::from_second(Timestamp::now().as_second()).unwrap();
    let event = |uid: &str, rv: u64, ago: i64| {
        let mut e = event_core::testing::sample_event(uid, rv, "payments");
        e.last_seen = base - SignedDuration::from_secs(ago);
        e.first_seen = e.last_seen;
        e
    };
    let old = event("f1", 1, 60);
    sink.send(std::slice::from_ref(&old)).await.unwrap();

    let since = TimeRange::new(Some(base - SignedDuration::from_mins(10)), None).unwrap();
    let selection = Selection::default().namespaces(["payments"]);
    let source = CloudWatchHistory::new(env.moto.clone(), group)
        .range(since)
        .select(&selection)
        .follow_overlap(SignedDuration::from_mins(2));
    let config = HistoryConfig::default()
        .range(since)
        .follow(Duration::from_millis(200));
    let mut history = History::new(source, selection.compile().unwrap(), config);
    let stats = history.stats();
    assert_eq!(next(&mut history).await, old);

    // A new occurrence, an update of the old event, and a resend of the old one by a new
    // process (inside the overlap: the next polls read it again, and drop it).
    let new = event("f2", 1, 5);
    let mut updated = old.clone();
    updated.resource_version = "2".into();
    updated.count = 2;
    updated.last_seen = base - SignedDuration::from_secs(2);
    sink.send(&[new.clone(), updated.clone()]).await.unwrap();
    env.sink(group)
        .send(std::slice::from_ref(&old))
        .await
        .unwrap();
    assert_eq!(next(&mut history).await, new);
    assert_eq!(next(&mut history).await, updated);
    let quiet = tokio::time::timeout(Duration::from_millis(1500), history.next()).await;
    assert!(quiet.is_err(), "nothing printed twice: {quiet:?}");
    let progress = stats.snapshot();
    assert!(progress.reads >= 3, "{progress:?}");
    assert!(
        progress.repeats >= 2,
        "the overlap and the resend were read again: {progress:?}"
    );
}

#[tokio::test]
async fn a_missing_log_group_is_one_clear_error() {
    let env = harness::env().await;
    let group = "/ek-test/history-missing";
    let keep = Arc::new(|_: &Event| true);
    let items: Vec<_> = History::new(
        CloudWatchHistory::new(env.moto.clone(), group),
        keep,
        HistoryConfig::default(),
    )
    .collect()
    .await;
    match items.as_slice() {
        [Err(ReadError::GroupNotFound { group: named })] => assert_eq!(named, group),
        other => panic!("expected one GroupNotFound, got {other:?}"),
    }

    let output = binary::run_async(&[
        "--log-group",
        group,
        "--endpoint-url",
        &env.proxy.endpoint(),
    ])
    .await;
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(binary::stdout(&output), "");
    assert_eq!(
        binary::stderr(&output),
        format!(
            "error: log group {group} does not exist; check its name, the region and the account\n"
        )
    );
}

#[tokio::test]
async fn an_empty_range_of_a_log_group_is_one_line_and_success() {
    let env = harness::env().await;
    let group = "/ek-test/history-empty";
    ship(&env, group).await;
    let output = binary::run_async(&[
        "--log-group",
        group,
        "--endpoint-url",
        &env.proxy.endpoint(),
        "--since",
        "2026-11-01T00:00:00Z",
        "--until",
        "2026-11-01T01:00:00Z",
    ])
    .await;
    assert!(output.status.success(), "{}", binary::stderr(&output));
    assert_eq!(binary::stdout(&output), "");
    assert_eq!(
        binary::stderr(&output),
        format!(
            "No events found between 2026-11-01T00:00:00Z and 2026-11-01T01:00:00Z in log group {group} (0 scanned).\n"
        )
    );
}

/// The next event of a followed history, within 20 seconds.
async fn next(history: &mut History<CloudWatchHistory>) -> Event {
    tokio::time::timeout(Duration::from_secs(20), history.next())
        .await
        .expect("an event in time")
        .expect("following never ends")
        .expect("the source reads")
}

#[tokio::test]
async fn several_clusters_are_read_at_once_in_time_order_with_their_names() {
    let env = harness::env().await;
    let template = "/ek-test/history-clusters/{cluster}";
    let shift = ship(&env, "/ek-test/history-clusters/prod-eu").await;
    // The same incident in a second cluster, thirty seconds later.
    let mut sink = env.sink("/ek-test/history-clusters/prod-us");
    for batch in incident::batches(incident::day() + shift) {
        let events: Vec<Event> = batch
            .events
            .into_iter()
            .map(|mut event| {
                // Another cluster, other uids (they are UUIDs in a real one).
                event.uid = format!("us-{}", event.uid);
                event.cluster = Some("prod-us".into());
                event.last_seen += SignedDuration::from_secs(30);
                event
            })
            .collect();
        sink.send(&events).await.expect("stored");
    }
    env.assert_no_violations();

    let at = |time: &str| (time.parse::<Timestamp>().unwrap() + shift).to_string();
    let (since, until) = (at("2026-11-24T09:50:00Z"), at("2026-11-24T10:30:00Z"));
    let output = binary::run_async(&[
        "--cluster",
        "prod-eu",
        "--cluster",
        "prod-us",
        "--log-group-template",
        template,
        "--endpoint-url",
        &env.proxy.endpoint(),
        "--since",
        &since,
        "--until",
        &until,
        "-n",
        "payments",
        "--types",
        "Warning",
    ])
    .await;
    assert!(output.status.success(), "{}", binary::stderr(&output));
    let table = binary::stdout(&output);
    let mut lines = table.lines();
    let header = lines.next().unwrap();
    assert!(header.starts_with("CLUSTER        LAST SEEN "), "{table}");
    let rows: Vec<(&str, Timestamp)> = lines
        .map(|line| {
            let mut cells = line.split_whitespace();
            let cluster = cells.next().unwrap();
            (cluster, cells.next().unwrap().parse().unwrap())
        })
        .collect();
    assert_eq!(rows.len(), 12, "six warnings of each cluster: {table}");
    assert!(
        rows.windows(2).all(|w| w[0].1 <= w[1].1),
        "time order: {table}"
    );
    let clusters: Vec<&str> = rows.iter().map(|(cluster, _)| *cluster).collect();
    assert_eq!(clusters.iter().filter(|c| **c == "prod-us").count(), 6);
    assert_eq!(
        &clusters[..2],
        ["prod-eu", "prod-us"],
        "interleaved: {table}"
    );
}
