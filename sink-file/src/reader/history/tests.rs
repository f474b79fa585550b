use std::io::Write as _;
use std::path::Path;

use event_core::testing::sample_event;
use event_history::TimeRange;
use flate2::Compression;
use flate2::write::GzEncoder;
use futures::TryStreamExt;

use super::*;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn line(uid: &str) -> Vec<u8> {
    let mut line = serde_json::to_vec(&sample_event(uid, 1, "ns")).unwrap();
    line.push(b'\n');
    line
}

fn lines(uids: &[&str]) -> Vec<u8> {
    uids.iter().flat_map(|uid| line(uid)).collect()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(name), bytes).unwrap();
}

fn append(dir: &Path, name: &str, bytes: &[u8]) {
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.join(name))
        .unwrap();
    file.write_all(bytes).unwrap();
}

async fn read(source: &mut FileArchiveHistory) -> Vec<String> {
    let events: Vec<Event> = source.read().try_collect().await.unwrap();
    events.into_iter().map(|e| e.uid).collect()
}

const H09: &str = "events-2026-11-24T09-00-00Z.0001.jsonl";
const H10_1: &str = "events-2026-11-24T10-00-00Z.0001.jsonl";
const H10_2: &str = "events-2026-11-24T10-00-00Z.0002.jsonl";
const H11: &str = "events-2026-11-24T11-00-00Z.0001.jsonl";
const H12: &str = "events-2026-11-24T12-00-00Z.0001.jsonl";
const H15: &str = "events-2026-11-24T15-00-00Z.0001.jsonl";

/// 10:00 (two files by size, gzipped), 11:00 gzipped, 12:00 being written.
fn archive() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, &format!("{H10_1}.gz"), &gzip(&lines(&["a"])));
    write(d, &format!("{H10_2}.gz"), &gzip(&lines(&["b", "c"])));
    write(d, &format!("{H11}.gz"), &gzip(&lines(&["d"])));
    write(d, H12, &lines(&["e", "f"]));
    dir
}

#[tokio::test]
async fn the_first_read_covers_rotated_and_gzipped_files_in_write_order() {
    let dir = archive();
    let mut source = FileArchiveHistory::open(dir.path(), "events").unwrap();
    assert_eq!(read(&mut source).await, ["a", "b", "c", "d", "e", "f"]);
}

#[tokio::test]
async fn files_are_chosen_with_room_for_late_writes_and_skewed_clocks() {
    let dir = archive();
    write(dir.path(), H09, &lines(&["z"]));
    write(dir.path(), H15, &lines(&["g"]));
    let range = TimeRange::new(
        Some(ts("2026-11-24T11:03:00Z")),
        Some(ts("2026-11-24T11:30:00Z")),
    )
    .unwrap();
    let mut source = FileArchiveHistory::open(dir.path(), "events")
        .unwrap()
        .range(range);
    // 09:00 was finished at 10:00; both 10:00 files may have been written until 11:00, within
    // the five minutes of skew; 12:00 started within the write delay; 15:00 did not.
    assert_eq!(read(&mut source).await, ["a", "b", "c", "d", "e", "f"]);
    let mut tight = FileArchiveHistory::open(dir.path(), "events")
        .unwrap()
        .write_delay(SignedDuration::ZERO)
        .range(range);
    assert_eq!(read(&mut tight).await, ["a", "b", "c", "d"]);
}

#[tokio::test]
async fn a_file_rotated_by_size_may_hold_events_until_its_period_ends() {
    let dir = archive();
    let range = TimeRange::new(Some(ts("2026-11-24T10:50:00Z")), None).unwrap();
    let mut source = FileArchiveHistory::open(dir.path(), "events")
        .unwrap()
        .range(range);
    assert_eq!(read(&mut source).await, ["a", "b", "c", "d", "e", "f"]);
    let later = TimeRange::new(Some(ts("2026-11-24T11:10:00Z")), None).unwrap();
    let mut source = FileArchiveHistory::open(dir.path(), "events")
        .unwrap()
        .range(later);
    assert_eq!(read(&mut source).await, ["d", "e", "f"]);
}

#[tokio::test]
async fn a_later_read_yields_only_lines_appended_since() {
    let dir = archive();
    let mut source = FileArchiveHistory::open(dir.path(), "events").unwrap();
    assert_eq!(read(&mut source).await.len(), 6);
    assert_eq!(read(&mut source).await, Vec::<String>::new());
    append(dir.path(), H12, &lines(&["g", "h"]));
    assert_eq!(read(&mut source).await, ["g", "h"]);
}

#[tokio::test]
async fn a_line_being_written_is_read_once_it_is_complete() {
    let dir = archive();
    let mut source = FileArchiveHistory::open(dir.path(), "events").unwrap();
    read(&mut source).await;
    let whole = line("g");
    let (first, rest) = whole.split_at(20);
    append(dir.path(), H12, first);
    assert_eq!(read(&mut source).await, Vec::<String>::new());
    append(dir.path(), H12, rest);
    assert_eq!(read(&mut source).await, ["g"]);
    assert_eq!(source.torn_lines_skipped(), 0);
}

#[tokio::test]
async fn rotation_and_compression_between_reads_lose_and_repeat_nothing() {
    let dir = archive();
    let d = dir.path();
    let mut source = FileArchiveHistory::open(d, "events").unwrap();
    read(&mut source).await;
    // The sink appends to 12:00, closes and compresses it, and starts 13:00.
    let mut closed = lines(&["e", "f"]);
    closed.extend(lines(&["g"]));
    std::fs::remove_file(d.join(H12)).unwrap();
    write(d, &format!("{H12}.gz"), &gzip(&closed));
    write(d, "events-2026-11-24T13-00-00Z.0001.jsonl", &lines(&["h"]));
    assert_eq!(read(&mut source).await, ["g", "h"]);
}

#[tokio::test]
async fn a_torn_line_in_a_closed_file_is_skipped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut torn = lines(&["a"]);
    torn.extend_from_slice(br#"{"uid":"cut-of"#);
    write(d, H10_1, &torn);
    write(d, H11, &lines(&["b"]));
    let mut source = FileArchiveHistory::open(d, "events").unwrap();
    assert_eq!(read(&mut source).await, ["a", "b"]);
    assert_eq!(source.torn_lines_skipped(), 1);
}

#[tokio::test]
async fn a_line_that_is_not_an_event_is_an_error_and_reading_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = lines(&["a"]);
    bytes.extend_from_slice(b"not json\n\n");
    bytes.extend(lines(&["b"]));
    write(dir.path(), H10_1, &bytes);
    let mut source = FileArchiveHistory::open(dir.path(), "events").unwrap();
    let items: Vec<_> = source.read().collect().await;
    assert_eq!(items.len(), 3);
    match &items[1] {
        Err(ReadError::Parse { line, .. }) => assert_eq!(*line, 2),
        other => panic!("expected a parse error, got {other:?}"),
    }
    assert_eq!(items[2].as_ref().unwrap().uid, "b");
}

#[test]
fn a_missing_directory_is_refused_up_front() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let error = FileArchiveHistory::open(&missing, "events").unwrap_err();
    assert!(matches!(error, ReadError::List { .. }), "{error:?}");
    assert!(
        error
            .to_string()
            .contains("check that the directory exists")
    );
}

#[tokio::test]
async fn a_directory_removed_while_following_is_a_listing_error() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");
    std::fs::create_dir(&archive).unwrap();
    let mut source = FileArchiveHistory::open(&archive, "events").unwrap();
    assert_eq!(read(&mut source).await, Vec::<String>::new());
    std::fs::remove_dir(&archive).unwrap();
    let items: Vec<_> = source.read().collect().await;
    assert!(
        matches!(items.as_slice(), [Err(ReadError::List { .. })]),
        "{items:?}"
    );
}

#[test]
fn outside_a_runtime_the_files_are_read_on_the_polling_thread() {
    let dir = archive();
    let mut source = FileArchiveHistory::open(dir.path(), "events").unwrap();
    let events: Vec<Event> = futures::executor::block_on(source.read().try_collect()).unwrap();
    assert_eq!(events.len(), 6);
    append(dir.path(), H12, &lines(&["g"]));
    let more: Vec<Event> = futures::executor::block_on(source.read().try_collect()).unwrap();
    assert_eq!(more.len(), 1);
}
