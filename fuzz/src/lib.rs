//! What each fuzz target does with its input, in one place so the targets stay one line each.
//!
//! Every function feeds arbitrary bytes through the decoder production uses and checks what must
//! hold of its result; a panic anywhere (ours or a dependency's) is a finding.

use std::io::Write as _;
use std::path::Path;
use std::sync::OnceLock;

use event_core::Event;
use event_core::checkpoint::{CheckpointStore, FileCheckpointStore, Ledger, LedgerConfig};
use event_core::internals::{CoreV1Event, EventsV1Event, Lenient};
use kube::core::{ObjectList, WatchEvent};
use event_history::{Layout, Printer, TableWriter};

/// One watch line (or list page) as kube-rs's client hands it to the source, read as both Events
/// APIs: the one-pass decoders, then the occurrence it makes, written as the record sinks store.
pub fn watch_line(data: &[u8]) {
    if let Ok(notification) = serde_json::from_slice::<WatchEvent<Lenient<CoreV1Event>>>(data) {
        for object in objects(notification) {
            if let Ok(event) = object.into_decoded().map(CoreV1Event::into_event) {
                check_event(event.ok());
            }
        }
    }
    if let Ok(notification) = serde_json::from_slice::<WatchEvent<Lenient<EventsV1Event>>>(data) {
        for object in objects(notification) {
            if let Ok(event) = object.into_decoded().map(EventsV1Event::into_event) {
                check_event(event.ok());
            }
        }
    }
    // A list page holds the same objects.
    if let Ok(page) = serde_json::from_slice::<ObjectList<Lenient<CoreV1Event>>>(data) {
        for object in page.items {
            if let Ok(Ok(event)) = object.into_decoded().map(CoreV1Event::into_event) {
                check_event(Some(event));
            }
        }
    }
    if let Ok(page) = serde_json::from_slice::<ObjectList<Lenient<EventsV1Event>>>(data) {
        for object in page.items {
            if let Ok(Ok(event)) = object.into_decoded().map(EventsV1Event::into_event) {
                check_event(Some(event));
            }
        }
    }
}

fn objects<K>(notification: WatchEvent<K>) -> Vec<K> {
    match notification {
        WatchEvent::Added(o) | WatchEvent::Modified(o) | WatchEvent::Deleted(o) => vec![o],
        WatchEvent::Bookmark(_) | WatchEvent::Error(_) => Vec::new(),
    }
}

/// The record of an occurrence is exactly serde's JSON of it, reads back as the same event, and
/// its human rows carry no control character.
fn check_event(event: Option<Event>) {
    let Some(event) = event else { return };
    let mut written = Vec::new();
    event.write_json(&mut written);
    let serde = serde_json::to_vec(&event).expect("an event serializes");
    assert_eq!(written, serde, "write_json differs from serde");
    let back: Event = serde_json::from_slice(&written).expect("a written record reads back");
    assert_eq!(back, event, "the record does not read back as the event");
    check_rows(&event);
}

/// Rows of every layout and the text line: single lines, no control character.
fn check_rows(event: &Event) {
    for layout in [Layout::Table, Layout::Wide] {
        let mut printer = Printer::table(TableWriter::new(layout).namespace_column());
        let mut out = Vec::new();
        printer.print(&mut out, event).expect("a row prints");
        // A table holds its first rows to size its columns.
        printer.flush(&mut out);
        let text = String::from_utf8(out).expect("rows are UTF-8");
        assert_eq!(
            text.matches('\n').count(),
            2,
            "a header and one row: {text:?}"
        );
        assert_no_control(&text);
    }
    let mut line = String::new();
    sink_stdout::write_text_line(&mut line, event);
    assert_eq!(line.matches('\n').count(), 1, "one text line: {line:?}");
    assert_no_control(&line);
}

fn assert_no_control(text: &str) {
    let bad = text
        .chars()
        .find(|c| *c != '\n' && sink_stdout::is_escaped(*c));
    assert!(bad.is_none(), "{bad:?} reached human output: {text:?}");
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
    })
}

fn scratch() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("a temporary directory"))
        .path()
}

/// A checkpoint file as the file store loads it at start-up, then the ledger built from it
/// answering the questions the source and pipeline ask.
pub fn checkpoint(data: &[u8]) {
    let path = scratch().join("checkpoint.json");
    std::fs::write(&path, data).expect("the scratch file is writable");
    let store = FileCheckpointStore::new(&path);
    let Ok(Some(checkpoint)) = runtime().block_on(store.load()) else {
        return;
    };
    let uids: Vec<String> = checkpoint.events.keys().cloned().collect();
    let sources: Vec<String> = checkpoint.resume.keys().cloned().collect();
    let ledger = Ledger::from_checkpoint(checkpoint, LedgerConfig::default());
    for source in &sources {
        let _ = ledger.resume_point(source);
    }
    for uid in &uids {
        let _ = ledger.exported_version(uid);
    }
    let snapshot = ledger.snapshot();
    let encoded = snapshot.encode();
    let again = encoded.decode().expect("a saved checkpoint decodes");
    assert_eq!(
        again, snapshot,
        "the checkpoint does not read back as saved"
    );
}

/// The exporter's config file as `Settings::load` reads and validates it at start-up.
#[cfg(feature = "config")]
pub fn config(data: &[u8]) {
    use examples::exporter::{Cli, Env, Settings};
    let path = scratch().join("config.yaml");
    std::fs::write(&path, data).expect("the scratch file is writable");
    let env = Env::from_pairs([(
        examples::exporter::vars::CONFIG,
        path.to_string_lossy().into_owned(),
    )]);
    if let Ok(settings) = Settings::load(&Cli::default(), &env) {
        let _ = settings.summary();
    }
}

/// Archive files as `event_history --dir` reads them: plain or gzipped (first input byte odd),
/// line by line, each record printed as a table row and a JSON line.
pub fn history_record(data: &[u8]) {
    let Some((&mode, content)) = data.split_first() else {
        return;
    };
    let dir = scratch().join("archive");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("the scratch directory is writable");
    let name = "events-2026-11-24T10-00-00Z.0001.jsonl";
    if mode % 2 == 1 {
        let file = std::fs::File::create(dir.join(format!("{name}.gz"))).expect("writable");
        let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
        gz.write_all(content).expect("writable");
        gz.finish().expect("writable");
    } else {
        std::fs::write(dir.join(name), content).expect("writable");
    }
    let Ok(mut archive) = sink_file::FileArchiveHistory::open(&dir, "events") else {
        return;
    };
    let mut printer = Printer::table(TableWriter::new(Layout::Wide));
    let mut out = Vec::new();
    for event in archive.blocking_read().flatten() {
        printer.print(&mut out, &event).expect("a row prints");
        check_event(Some(event));
    }
    printer.flush(&mut out);
    // CloudWatch's reader parses each stored message with the same decode.
    for line in content.split(|b| *b == b'\n') {
        if let Ok(event) = serde_json::from_slice::<Event>(line) {
            check_event(Some(event));
        }
    }
}
