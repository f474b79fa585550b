//! Reading history back from a rolling file archive written by the real `FileSink` (rotated by
//! time and size, closed files gzipped, some occurrences stored twice): time ranges across
//! files, the pipeline's filters, deduplication, every output format against golden files,
//! and the example binary printing the same bytes.

#[path = "event_history_support/binary.rs"]
mod binary;
#[path = "event_history_support/history.rs"]
mod history;
#[path = "event_history_support/incident.rs"]
mod incident;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use event_core::clock::Clock;
use event_core::{Event, FilterConfig, FilterRule, Sink};
use event_history::{Layout, Printer, TableWriter};
use event_history::{Selection, TimeRange};
use history::{files, golden, golden_bytes, print, range, write_archive};
use sink_file::{FileArchiveHistory, FileSink};

async fn archive() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_archive(dir.path(), &incident::batches(incident::day())).await;
    dir
}

fn source(dir: &Path) -> FileArchiveHistory {
    FileArchiveHistory::open(dir, "events").unwrap()
}

fn table() -> Printer {
    Printer::table(TableWriter::new(Layout::Table).namespace_column())
}

const RANGE: [&str; 4] = [
    "--since",
    "2026-11-24T09:50:00Z",
    "--until",
    "2026-11-24T10:30:00Z",
];

fn morning() -> TimeRange {
    range(Some("2026-11-24T09:50:00Z"), Some("2026-11-24T10:30:00Z"))
}

#[tokio::test]
async fn the_archive_spans_rotated_and_gzipped_files_and_holds_duplicates() {
    let dir = archive().await;
    let names = files(dir.path());
    let gzipped = names.iter().filter(|n| n.ends_with(".jsonl.gz")).count();
    let plain: Vec<&String> = names.iter().filter(|n| n.ends_with(".jsonl")).collect();
    assert!(gzipped >= 4, "closed files are compressed: {names:?}");
    assert_eq!(
        plain.len(),
        1,
        "only the file being written is plain: {names:?}"
    );
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("events-2026-11-24T10-00-00Z.0002")),
        "an hour rotated by size too: {names:?}"
    );
    let stored: Vec<Event> = FileArchiveHistory::open(dir.path(), "events")
        .unwrap()
        .blocking_read()
        .map(Result::unwrap)
        .collect();
    let written: usize = incident::batches(incident::day())
        .iter()
        .map(|b| b.events.len())
        .sum();
    assert_eq!(stored.len(), written);
    let mut copies: HashMap<String, usize> = HashMap::new();
    for event in &stored {
        *copies.entry(event.key().to_string()).or_default() += 1;
    }
    let twice: Vec<&String> = copies.keys().filter(|k| copies[*k] == 2).collect();
    assert_eq!(
        twice.len(),
        3,
        "the resent batch stored three occurrences twice"
    );
}

#[tokio::test]
async fn a_range_across_rotated_and_gzipped_files_prints_each_occurrence_once_in_order() {
    let dir = archive().await;
    let out = print(
        source(dir.path()).range(morning()),
        &Selection::default(),
        morning(),
        table(),
    )
    .await;
    golden("range_table.txt", &out);
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.matches("FailedScheduling").count(), 1, "a duplicate");
    assert_eq!(text.matches("BackOff").count(), 3, "each version of e08");
    assert!(!text.contains("08:55:00"), "before the range");
    assert!(!text.contains("10:40:00"), "after the range");
}

#[tokio::test]
async fn one_namespace_in_the_wide_layout() {
    let dir = archive().await;
    let range = range(Some("2026-11-24T09:00:00Z"), Some("2026-11-24T12:00:00Z"));
    let selection = Selection::default().namespaces(["payments"]);
    let printer = Printer::table(TableWriter::new(Layout::Wide));
    let out = print(source(dir.path()).range(range), &selection, range, printer).await;
    golden("payments_wide.txt", &out);
    let text = String::from_utf8(out).unwrap();
    assert!(text.lines().skip(1).all(|l| l.starts_with("payments ")));
    assert!(!text.contains("Started container api"), "after the range");
}

#[tokio::test]
async fn the_warnings_of_one_pod_as_the_stored_json_records() {
    let dir = archive().await;
    let range = range(Some("2026-11-24T08:00:00Z"), None);
    let selection = Selection::default()
        .object("pod/api-7d9f5c6b8-k7wz4".parse().unwrap())
        .types(["Warning"]);
    let out = print(
        source(dir.path()).range(range),
        &selection,
        range,
        Printer::json(),
    )
    .await;
    golden("pod_warnings.jsonl", &out);
    let written: Vec<Event> = incident::batches(incident::day())
        .into_iter()
        .flat_map(|b| b.events)
        .collect();
    let lines: Vec<&str> = std::str::from_utf8(&out).unwrap().lines().collect();
    assert_eq!(lines.len(), 4, "Failed and three versions of BackOff");
    for line in lines {
        let event: Event = serde_json::from_str(line).unwrap();
        assert!(written.contains(&event), "{line} was not written");
        assert_eq!(
            serde_json::to_string(&event).unwrap(),
            line,
            "the record as stored"
        );
    }
}

#[tokio::test]
async fn ages_are_relative_to_the_instant_given() {
    let dir = archive().await;
    let now = "2026-11-24T10:30:00Z".parse().unwrap();
    let range = TimeRange::new(
        Some(event_history::parse_time("40m", now).unwrap()),
        Some(now),
    )
    .unwrap();
    let selection = Selection::default().reasons(["BackOff", "FailedScheduling"]);
    let printer = Printer::table(
        TableWriter::new(Layout::Table)
            .namespace_column()
            .relative_to(now),
    );
    let out = print(source(dir.path()).range(range), &selection, range, printer).await;
    golden("backoffs_relative.txt", &out);
}

#[tokio::test]
async fn a_message_regex_and_the_pipelines_filter_config_apply_together() {
    let dir = archive().await;
    let range = range(Some("2026-11-24T00:00:00Z"), None);
    let config = FilterConfig::default().exclude(FilterRule::default().namespaces(["kube-system"]));
    let selection = Selection::default()
        .message("(?i)probe failed")
        .kinds(["pod"])
        .config(config);
    let out = print(source(dir.path()).range(range), &selection, range, table()).await;
    golden("probes_table.txt", &out);
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("Liveness probe failed"));
    assert!(!text.contains("coredns"), "excluded by the filter config");
}

#[tokio::test]
async fn an_empty_range_prints_nothing() {
    let dir = archive().await;
    let range = range(Some("2026-11-23T00:00:00Z"), Some("2026-11-23T12:00:00Z"));
    let out = print(
        source(dir.path()).range(range),
        &Selection::default(),
        range,
        table(),
    )
    .await;
    assert!(out.is_empty(), "{}", String::from_utf8_lossy(&out));
}

fn run_ok(dir: &Path, args: &[&str]) -> Vec<u8> {
    let dir = dir.to_str().unwrap();
    let mut all = vec!["--dir", dir];
    all.extend_from_slice(args);
    let output = binary::run(&all);
    assert!(output.status.success(), "{}", binary::stderr(&output));
    assert_eq!(binary::stderr(&output), "", "nothing on stderr");
    output.stdout
}

#[tokio::test]
async fn the_binary_prints_the_same_bytes_as_the_golden_files() {
    let dir = archive().await;
    let d = dir.path();
    assert_eq!(run_ok(d, &RANGE), golden_bytes("range_table.txt"));
    let wide = [
        "-n",
        "payments",
        "-o",
        "wide",
        "--since",
        "2026-11-24T09:00:00Z",
        "--until",
        "2026-11-24T12:00:00Z",
    ];
    assert_eq!(run_ok(d, &wide), golden_bytes("payments_wide.txt"));
    let json = [
        "--since",
        "2026-11-24T08:00:00Z",
        "--for",
        "pod/api-7d9f5c6b8-k7wz4",
        "--type",
        "Warning",
        "--output",
        "json",
    ];
    assert_eq!(run_ok(d, &json), golden_bytes("pod_warnings.jsonl"));
    let relative = [
        "--now",
        "2026-11-24T10:30:00Z",
        "--since",
        "40m",
        "--reason",
        "BackOff,FailedScheduling",
        "--relative",
    ];
    assert_eq!(run_ok(d, &relative), golden_bytes("backoffs_relative.txt"));
}

#[tokio::test]
async fn the_binary_reads_the_pipelines_filter_config_file() {
    let dir = archive().await;
    let config = dir.path().join("filter.json");
    std::fs::write(&config, r#"{"exclude": [{"namespaces": ["kube-system"]}]}"#).unwrap();
    let args = [
        "--since",
        "2026-11-24T00:00:00Z",
        "--message",
        "(?i)probe failed",
        "--kind",
        "pod",
        "--filter-config",
        config.to_str().unwrap(),
    ];
    assert_eq!(run_ok(dir.path(), &args), golden_bytes("probes_table.txt"));
}

#[tokio::test]
async fn an_empty_range_is_one_line_on_stderr_and_success() {
    let dir = archive().await;
    let d = dir.path().to_str().unwrap();
    let args = [
        "--dir",
        d,
        "--since",
        "2026-11-23",
        "--until",
        "2026-11-23T12:00:00Z",
    ];
    let output = binary::run(&args);
    assert!(output.status.success());
    assert_eq!(binary::stdout(&output), "");
    assert_eq!(
        binary::stderr(&output),
        format!(
            "No events found between 2026-11-23T00:00:00Z and 2026-11-23T12:00:00Z in archive {d} (0 scanned).\n"
        )
    );
}

#[test]
fn a_missing_directory_or_a_bad_flag_is_one_line_and_failure() {
    let output = binary::run(&["--dir", "/nonexistent/event-keeper", "--since", "1h"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        binary::stderr(&output),
        "error: listing the archive /nonexistent/event-keeper: No such file or directory (os error 2); \
         check that the directory exists and is readable\n"
    );
    let output = binary::run(&["--dir", "/tmp", "--since", "yesterday"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = binary::stderr(&output);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: cannot read \"yesterday\" as a time"),
        "{stderr}"
    );
}

#[tokio::test]
async fn following_prints_what_the_sink_appends_once() {
    let dir = archive().await;
    let d = dir.path().to_str().unwrap();
    let args = [
        "--dir",
        d,
        "--since",
        "2026-11-24T12:00:00Z",
        "--follow",
        "--poll-interval",
        "200ms",
        "-o",
        "json",
    ];
    let mut child = binary::command(&args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let next = || {
        rx.recv_timeout(Duration::from_secs(20))
            .expect("a line in time")
    };
    let first: Event = serde_json::from_str(&next()).unwrap();
    assert_eq!(first.reason, "Started");

    // The pipeline goes on writing: a new occurrence, and a resend of the last one.
    let written = "2026-11-24T12:20:05Z".parse().unwrap();
    let config = sink_file::FileSinkConfig::new(dir.path())
        .rotation(sink_file::Rotation::HOURLY.with_max_bytes(history::MAX_FILE_BYTES))
        .compress(true);
    let mut sink = FileSink::with_clock(config, Clock::from_fn(move || written)).unwrap();
    let mut update = first.clone();
    update.resource_version = "5299".into();
    update.reason = "BackOff".into();
    update.last_seen = "2026-11-24T12:20:00Z".parse().unwrap();
    sink.send(&[update.clone(), first.clone()]).await.unwrap();

    let second: Event = serde_json::from_str(&next()).unwrap();
    assert_eq!(second, update);
    assert!(
        rx.recv_timeout(Duration::from_millis(1500)).is_err(),
        "the resend of the first event is not printed again"
    );
    child.kill().unwrap();
    child.wait().unwrap();
}
