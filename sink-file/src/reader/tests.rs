//! The blocking read of [`FileArchiveHistory`]; following and time ranges are tested with the
//! history itself.

use std::io::Write as _;

use event_core::testing::sample_event;
use flate2::Compression;
use flate2::write::GzEncoder;

use super::*;
use crate::FileArchiveHistory;

fn lines(uids: &[&str]) -> Vec<u8> {
    uids.iter()
        .flat_map(|uid| {
            let mut line = serde_json::to_vec(&sample_event(uid, 1, "ns")).unwrap();
            line.push(b'\n');
            line
        })
        .collect()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(name), bytes).unwrap();
}

fn open(dir: &Path) -> FileArchiveHistory {
    FileArchiveHistory::open(dir, "events").unwrap()
}

fn uids(read: BlockingRead) -> Vec<String> {
    read.map(|e| e.unwrap().uid).collect()
}

/// Three hours of files: 10:00 (two by size, gzipped), 11:00 gzipped, 12:00 being written.
fn archive() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "events-2026-11-24T12-00-00Z.0001.jsonl",
        &lines(&["e", "f"]),
    );
    write(
        d,
        "events-2026-11-24T10-00-00Z.0002.jsonl.gz",
        &gzip(&lines(&["b", "c"])),
    );
    write(
        d,
        "events-2026-11-24T10-00-00Z.0001.jsonl.gz",
        &gzip(&lines(&["a"])),
    );
    write(
        d,
        "events-2026-11-24T11-00-00Z.0001.jsonl.gz",
        &gzip(&lines(&["d"])),
    );
    dir
}

#[test]
fn reads_rotated_and_gzipped_files_in_write_order() {
    let dir = archive();
    assert_eq!(
        uids(open(dir.path()).blocking_read()),
        ["a", "b", "c", "d", "e", "f"]
    );
}

#[test]
fn ignores_other_archives_temporary_files_and_compressed_twins() {
    let dir = archive();
    let d = dir.path();
    write(d, "other-2026-11-24T09-00-00Z.0001.jsonl", &lines(&["x"]));
    write(
        d,
        "events-2026-11-24T12-00-00Z.0001.jsonl.gz.tmp",
        b"partial",
    );
    // A compression interrupted before the original was removed: the original is read.
    write(
        d,
        "events-2026-11-24T12-00-00Z.0001.jsonl.gz",
        &gzip(&lines(&["dup"])),
    );
    write(d, "notes.txt", b"hello");
    assert_eq!(
        uids(open(d).blocking_read()),
        ["a", "b", "c", "d", "e", "f"]
    );
}

#[test]
fn skips_a_torn_last_line_and_counts_it_in_a_closed_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut torn = lines(&["a", "b"]);
    torn.extend_from_slice(b"{\"uid\":\"c\",\"resourceVer");
    write(
        dir.path(),
        "events-2026-11-24T10-00-00Z.0001.jsonl.gz",
        &gzip(&torn),
    );
    write(dir.path(), "events-2026-11-24T11-00-00Z.0001.jsonl", &torn);
    let mut archive = open(dir.path());
    assert_eq!(uids(archive.blocking_read()), ["a", "b", "a", "b"]);
    // In the newest file the same bytes are a write in progress, left for the next read.
    assert_eq!(archive.torn_lines_skipped(), 1);
}

#[test]
fn a_bad_line_is_reported_with_its_file_and_line_and_reading_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut content = lines(&["a"]);
    content.extend_from_slice(b"\n{not json}\n");
    content.extend(lines(&["b"]));
    write(
        dir.path(),
        "events-2026-11-24T10-00-00Z.0001.jsonl",
        &content,
    );
    let results: Vec<_> = open(dir.path()).blocking_read().collect();
    assert_eq!(results.len(), 3);
    assert_eq!(results[0].as_ref().unwrap().uid, "a");
    let error = results[1].as_ref().unwrap_err();
    assert!(matches!(error, ReadError::Parse { .. }));
    assert_eq!(error.line(), Some(3), "the blank line 2 is skipped");
    assert!(
        error
            .path()
            .ends_with("events-2026-11-24T10-00-00Z.0001.jsonl")
    );
    assert!(
        error
            .to_string()
            .contains("events-2026-11-24T10-00-00Z.0001.jsonl:3: not an event"),
        "{error}"
    );
    assert_eq!(results[2].as_ref().unwrap().uid, "b");
}

#[test]
fn a_corrupt_gzip_file_is_an_io_error_and_reading_goes_on_with_the_next_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut broken = gzip(&lines(&["a", "b", "c"]));
    broken.truncate(broken.len() / 2);
    write(
        dir.path(),
        "events-2026-11-24T10-00-00Z.0001.jsonl.gz",
        &broken,
    );
    write(
        dir.path(),
        "events-2026-11-24T11-00-00Z.0001.jsonl",
        &lines(&["d"]),
    );
    let results: Vec<_> = open(dir.path()).blocking_read().collect();
    let error = results
        .iter()
        .find_map(|r| r.as_ref().err())
        .expect("an error for the corrupt file");
    assert!(matches!(error, ReadError::Io { .. }), "{error}");
    assert!(
        error
            .path()
            .ends_with("events-2026-11-24T10-00-00Z.0001.jsonl.gz")
    );
    assert!(error.line().is_some());
    assert_eq!(results.last().unwrap().as_ref().unwrap().uid, "d");
}

#[test]
fn newest_reads_only_the_last_files_written() {
    let dir = archive();
    assert_eq!(
        uids(open(dir.path()).newest(2).blocking_read()),
        ["d", "e", "f"]
    );
    assert_eq!(
        uids(open(dir.path()).newest(0).blocking_read()),
        ["e", "f"],
        "at least one file"
    );
    assert_eq!(
        uids(open(dir.path()).newest(9).blocking_read()),
        ["a", "b", "c", "d", "e", "f"]
    );
}

#[test]
fn a_file_removed_while_reading_is_an_io_error_naming_it() {
    let dir = archive();
    let mut read = open(dir.path()).blocking_read();
    assert_eq!(read.next().unwrap().unwrap().uid, "a");
    std::fs::remove_file(dir.path().join("events-2026-11-24T10-00-00Z.0002.jsonl.gz")).unwrap();
    let error = read.next().unwrap().unwrap_err();
    assert!(error.to_string().contains("0002.jsonl.gz"), "{error}");
    assert_eq!(error.line(), None);
    assert_eq!(uids(read), ["d", "e", "f"]);
}

#[test]
fn an_empty_archive_yields_nothing_and_a_later_read_what_came_since() {
    let dir = tempfile::tempdir().unwrap();
    let mut archive = open(dir.path());
    let mut read = archive.blocking_read();
    assert!(read.next().is_none());
    assert!(read.next().is_none());
    write(
        dir.path(),
        "events-2026-11-24T10-00-00Z.0001.jsonl",
        &lines(&["a"]),
    );
    assert_eq!(uids(archive.blocking_read()), ["a"]);
    assert!(archive.blocking_read().next().is_none(), "read once");
}
