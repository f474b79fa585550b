//! Writing the incident with the real sinks, querying it with the library, and golden files.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use event_core::Sink;
use event_core::clock::Clock;
use event_history::Printer;
use event_history::{History, HistoryConfig, HistorySource, Selection, TimeRange};
use futures::StreamExt;
use jiff::{SignedDuration, Timestamp};
use sink_file::{FileSink, FileSinkConfig, Rotation};

use super::incident::Batch;

/// Small enough that every hour of the incident spans several files.
pub const MAX_FILE_BYTES: u64 = 2048;

/// Writes `batches` with a [`FileSink`] whose clock reads each batch's write time: hourly
/// files, rotated by size too, closed files gzipped.
pub async fn write_archive(dir: &Path, batches: &[Batch]) -> FileSinkConfig {
    let config = FileSinkConfig::new(dir)
        .rotation(Rotation::HOURLY.with_max_bytes(MAX_FILE_BYTES))
        .compress(true);
    let now = Arc::new(Mutex::new(batches[0].written));
    let clock = {
        let now = Arc::clone(&now);
        Clock::from_fn(move || *now.lock().unwrap())
    };
    let mut sink = FileSink::with_clock(config.clone(), clock).expect("valid config");
    sink.health_check().await.expect("archive ready");
    for batch in batches {
        *now.lock().unwrap() = batch.written;
        sink.send(&batch.events).await.expect("batch stored");
    }
    sink.flush().await.expect("flushed");
    config
}

/// The file names of the archive, sorted.
pub fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// A range from RFC 3339 times, either end optional.
pub fn range(since: Option<&str>, until: Option<&str>) -> TimeRange {
    let parse = |t: &str| t.parse::<Timestamp>().unwrap();
    TimeRange::new(since.map(parse), until.map(parse)).unwrap()
}

/// Moves a range by `shift`.
pub fn shifted(range: TimeRange, shift: SignedDuration) -> TimeRange {
    TimeRange::new(
        range.since().map(|t| t + shift),
        range.until().map(|t| t + shift),
    )
    .unwrap()
}

/// Runs the query as the example does and returns what it prints; panics on a source error.
pub async fn print<S>(
    source: S,
    selection: &Selection,
    range: TimeRange,
    mut printer: Printer,
) -> Vec<u8>
where
    S: HistorySource + Unpin,
    S::Error: std::fmt::Debug,
{
    let keep = selection.compile().expect("valid selection");
    let mut history = History::new(source, keep, HistoryConfig::default().range(range));
    let mut out = Vec::new();
    while let Some(item) = history.next().await {
        let event = item.expect("the source reads");
        printer.print(&mut out, &event).expect("printable");
    }
    printer.flush(&mut out);
    out
}

fn golden_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("golden/event_history")
        .join(name)
}

/// Compares `actual` with the golden file `name`, byte for byte. With `UPDATE_GOLDEN=1` the
/// file is written instead (review the diff before committing it).
pub fn golden(name: &str, actual: &[u8]) {
    let path = golden_path(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run with UPDATE_GOLDEN=1 to write it",
            path.display()
        )
    });
    if expected != actual {
        // As text, so that the failure shows the lines that differ.
        assert_eq!(
            String::from_utf8_lossy(actual),
            String::from_utf8_lossy(&expected),
            "output differs from {}",
            path.display()
        );
        panic!("output differs from {} (bytes only)", path.display());
    }
}

/// The golden file `name` as bytes.
pub fn golden_bytes(name: &str) -> Vec<u8> {
    std::fs::read(golden_path(name)).unwrap()
}
