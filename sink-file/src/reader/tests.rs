use std::io::Write as _;

use event_core::testing::sample_event;
use flate2::Compression;
use flate2::write::GzEncoder;

use super::*;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

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

fn uids(reader: FileArchiveReader) -> Vec<String> {
    reader.map(|e| e.unwrap().uid).collect()
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
    let reader = FileArchiveReader::open(dir.path(), "events").unwrap();
    assert_eq!(reader.files().len(), 4);
    assert_eq!(uids(reader), ["a", "b", "c", "d", "e", "f"]);
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
    let reader = FileArchiveReader::open(d, "events").unwrap();
    assert_eq!(uids(reader), ["a", "b", "c", "d", "e", "f"]);
}

#[test]
fn skips_a_torn_last_line_and_counts_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut torn = lines(&["a", "b"]);
    torn.extend_from_slice(b"{\"uid\":\"c\",\"resourceVer");
    write(
        dir.path(),
        "events-2026-11-24T10-00-00Z.0001.jsonl.gz",
        &gzip(&torn),
    );
    write(dir.path(), "events-2026-11-24T11-00-00Z.0001.jsonl", &torn);
    let mut reader = FileArchiveReader::open(dir.path(), "events").unwrap();
    let read: Vec<String> = reader.by_ref().map(|e| e.unwrap().uid).collect();
    assert_eq!(read, ["a", "b", "a", "b"]);
    assert_eq!(reader.torn_lines_skipped(), 2);
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
    let results: Vec<_> = FileArchiveReader::open(dir.path(), "events")
        .unwrap()
        .collect();
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
    let results: Vec<_> = FileArchiveReader::open(dir.path(), "events")
        .unwrap()
        .collect();
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
fn narrows_to_a_time_range_by_file_name() {
    let dir = archive();
    let open = || FileArchiveReader::open(dir.path(), "events").unwrap();
    // The 10:00 files end when the 11:00 one starts.
    assert_eq!(
        uids(open().since(ts("2026-11-24T11:00:00Z"))),
        ["d", "e", "f"]
    );
    assert_eq!(
        uids(open().since(ts("2026-11-24T10:59:59Z"))),
        ["a", "b", "c", "d", "e", "f"],
        "both 10:00 files may hold events up to 11:00: the first one was cut by size"
    );
    assert_eq!(
        uids(open().until(ts("2026-11-24T11:00:00Z"))),
        ["a", "b", "c"]
    );
    assert_eq!(
        uids(
            open()
                .since(ts("2026-11-24T11:30:00Z"))
                .until(ts("2026-11-24T11:45:00Z"))
        ),
        ["d"]
    );
    assert_eq!(
        uids(open().since(ts("2027-01-01T00:00:00Z"))),
        ["e", "f"],
        "the newest file is open-ended"
    );
}

#[test]
fn a_file_compressed_after_listing_is_read_from_its_compressed_form() {
    let dir = tempfile::tempdir().unwrap();
    let plain = "events-2026-11-24T10-00-00Z.0001.jsonl";
    write(dir.path(), plain, &lines(&["a"]));
    let reader = FileArchiveReader::open(dir.path(), "events").unwrap();
    std::fs::remove_file(dir.path().join(plain)).unwrap();
    write(dir.path(), &format!("{plain}.gz"), &gzip(&lines(&["a"])));
    assert_eq!(uids(reader), ["a"]);
}

#[test]
fn a_file_removed_after_listing_is_an_io_error_naming_it() {
    let dir = archive();
    let mut reader = FileArchiveReader::open(dir.path(), "events").unwrap();
    std::fs::remove_file(dir.path().join("events-2026-11-24T10-00-00Z.0001.jsonl.gz")).unwrap();
    let error = reader.next().unwrap().unwrap_err();
    assert!(error.to_string().contains("0001.jsonl.gz"), "{error}");
    assert_eq!(error.line(), None);
    assert_eq!(uids(reader), ["b", "c", "d", "e", "f"]);
}

#[test]
fn a_missing_directory_is_a_list_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let error = FileArchiveReader::open(&missing, "events").unwrap_err();
    assert!(matches!(error, ReadError::List { .. }));
    assert_eq!(error.path(), missing);
}

#[test]
fn an_empty_archive_yields_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut reader = FileArchiveReader::open(dir.path(), "events").unwrap();
    assert!(reader.next().is_none());
    assert!(reader.next().is_none());
}
