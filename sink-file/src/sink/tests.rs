use std::io::{self, Write as _};
use std::path::Path;

use event_core::testing::{check_sink, sample_event};
use jiff::SignedDuration;

use super::*;
use crate::fs::Op;
use crate::testutil::{Faults, ManualClock};
use crate::{FileArchiveHistory, FsyncPolicy, Rotation};

struct Harness {
    dir: tempfile::TempDir,
    clock: ManualClock,
    faults: Arc<Faults>,
}

impl Harness {
    fn new() -> Self {
        Harness {
            dir: tempfile::tempdir().unwrap(),
            clock: ManualClock::at("2026-11-24T10:00:00Z"),
            faults: Arc::new(Faults::default()),
        }
    }

    fn archive(&self) -> &Path {
        self.dir.path()
    }

    fn config(&self) -> FileSinkConfig {
        FileSinkConfig::new(self.archive())
    }

    fn sink(&self, config: FileSinkConfig) -> FileSink {
        let fs = Fs::with_hook(self.faults.clone());
        FileSink::with_fs(config, self.clock.clock(), fs).unwrap()
    }

    /// The file names in the archive directory, sorted.
    fn files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.archive())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.archive().join(name)).unwrap()
    }

    /// The uids of every event read back from the archive, in order.
    fn stored(&self) -> Vec<String> {
        FileArchiveHistory::open(self.archive(), "events")
            .unwrap()
            .blocking_read()
            .map(|e| e.unwrap().uid)
            .collect()
    }
}

fn batch(prefix: &str, count: usize) -> Vec<Event> {
    (0..count)
        .map(|i| sample_event(&format!("{prefix}{i}"), i as u64 + 1, "payments"))
        .collect()
}

fn uids(batches: &[&[Event]]) -> Vec<String> {
    batches
        .iter()
        .flat_map(|b| b.iter().map(|e| e.uid.clone()))
        .collect()
}

fn line_len(event: &Event) -> u64 {
    serde_json::to_vec(event).unwrap().len() as u64 + 1
}

#[tokio::test]
async fn conforms_to_the_sink_contract_and_reads_back_exactly_once() {
    let h = Harness::new();
    let mut sink = h.sink(h.config());
    assert_eq!(sink.name(), "file");
    let dir = h.archive().to_owned();
    check_sink(&mut sink, || {
        let dir = dir.clone();
        async move {
            let mut archive = FileArchiveHistory::open(&dir, "events").ok()?;
            archive.blocking_read().collect::<Result<Vec<_>, _>>().ok()
        }
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn writes_one_json_object_per_line_and_nothing_for_an_empty_batch() {
    let h = Harness::new();
    let mut sink = h.sink(h.config());
    sink.send(&[]).await.unwrap();
    assert!(h.files().is_empty(), "an empty batch touches nothing");
    let events = batch("a", 3);
    sink.send(&events).await.unwrap();
    assert_eq!(h.files(), ["events-2026-11-24T10-00-00Z.0001.jsonl"]);
    let text = h.read("events-2026-11-24T10-00-00Z.0001.jsonl");
    let parsed: Vec<Event> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(parsed, events);
    assert!(text.ends_with('\n'));
    assert_eq!(sink.stats().events_written(), 3);
    assert_eq!(sink.stats().batches_written(), 1);
}

#[tokio::test]
async fn rotates_by_size_before_a_batch_would_cross_the_limit_and_never_splits_one() {
    let h = Harness::new();
    let one = line_len(&batch("a", 1)[0]);
    let max = 2 * one + one / 2; // two events fit, three do not
    let config = h
        .config()
        .rotation(Rotation::HOURLY.with_max_bytes(max.max(1024)));
    let max = config.rotation.max_bytes().unwrap();
    let per_file = (max / one) as usize;
    let mut sink = h.sink(config);
    let (a, b, c, d) = (
        batch("a", per_file),
        batch("b", 1),
        batch("c", 3 * per_file),
        batch("d", 1),
    );
    for events in [&a, &b, &c, &d] {
        sink.send(events).await.unwrap();
    }
    let files = h.files();
    assert_eq!(
        files,
        [
            "events-2026-11-24T10-00-00Z.0001.jsonl",
            "events-2026-11-24T10-00-00Z.0002.jsonl",
            "events-2026-11-24T10-00-00Z.0003.jsonl",
            "events-2026-11-24T10-00-00Z.0004.jsonl",
        ]
    );
    let lines: Vec<usize> = files.iter().map(|f| h.read(f).lines().count()).collect();
    assert_eq!(lines, [per_file, 1, 3 * per_file, 1]);
    assert!(
        std::fs::metadata(h.archive().join(&files[2]))
            .unwrap()
            .len()
            > max
    );
    assert_eq!(h.stored(), uids(&[&a, &b, &c, &d]));
    assert_eq!(sink.stats().files_rotated(), 3);
}

#[tokio::test]
async fn rotates_at_the_start_of_each_hour_by_the_injected_clock() {
    let h = Harness::new();
    let mut sink = h.sink(h.config());
    h.clock.set("2026-11-24T10:59:59Z");
    sink.send(&batch("a", 1)).await.unwrap();
    h.clock.set("2026-11-24T11:00:00Z");
    sink.send(&batch("b", 1)).await.unwrap();
    h.clock.set("2026-11-24T13:30:00Z");
    sink.send(&batch("c", 1)).await.unwrap();
    assert_eq!(
        h.files(),
        [
            "events-2026-11-24T10-00-00Z.0001.jsonl",
            "events-2026-11-24T11-00-00Z.0001.jsonl",
            "events-2026-11-24T13-00-00Z.0001.jsonl",
        ]
    );
    assert_eq!(h.stored(), ["a0", "b0", "c0"]);
}

#[tokio::test]
async fn rotates_daily_at_utc_midnight_only() {
    let h = Harness::new();
    let mut sink = h.sink(h.config().rotation(Rotation::DAILY));
    sink.send(&batch("a", 1)).await.unwrap();
    h.clock.set("2026-11-24T23:59:59Z");
    sink.send(&batch("b", 1)).await.unwrap();
    h.clock.set("2026-11-25T00:00:00Z");
    sink.send(&batch("c", 1)).await.unwrap();
    assert_eq!(
        h.files(),
        [
            "events-2026-11-24T00-00-00Z.0001.jsonl",
            "events-2026-11-25T00-00-00Z.0001.jsonl",
        ]
    );
    assert_eq!(h.stored(), ["a0", "b0", "c0"]);
}

#[tokio::test]
async fn never_rotates_by_time_when_told_so() {
    let h = Harness::new();
    let mut sink = h.sink(h.config().rotation(Rotation::NEVER));
    h.clock.set("2026-11-24T10:30:15.5Z");
    sink.send(&batch("a", 1)).await.unwrap();
    h.clock.advance(SignedDuration::from_hours(24 * 40));
    sink.send(&batch("b", 1)).await.unwrap();
    assert_eq!(h.files(), ["events-2026-11-24T10-30-15Z.0001.jsonl"]);
}

#[tokio::test]
async fn a_clock_that_goes_back_keeps_file_names_in_write_order() {
    let h = Harness::new();
    let config = h.config().rotation(Rotation::HOURLY.with_max_bytes(1024));
    let mut sink = h.sink(config);
    h.clock.set("2026-11-24T11:10:00Z");
    sink.send(&batch("a", 3)).await.unwrap();
    h.clock.set("2026-11-24T10:10:00Z");
    sink.send(&batch("b", 3)).await.unwrap();
    assert_eq!(
        h.files(),
        [
            "events-2026-11-24T11-00-00Z.0001.jsonl",
            "events-2026-11-24T11-00-00Z.0002.jsonl",
        ]
    );
    assert_eq!(h.stored(), uids(&[&batch("a", 3), &batch("b", 3)]));
}

#[tokio::test]
async fn a_restart_appends_to_the_newest_file_within_its_period_and_size() {
    let h = Harness::new();
    let mut first = h.sink(h.config());
    first.send(&batch("a", 2)).await.unwrap();
    drop(first);
    h.clock.set("2026-11-24T10:59:00Z");
    let mut second = h.sink(h.config());
    second.send(&batch("b", 2)).await.unwrap();
    assert_eq!(h.files(), ["events-2026-11-24T10-00-00Z.0001.jsonl"]);
    assert_eq!(h.stored(), ["a0", "a1", "b0", "b1"]);
    assert_eq!(second.stats().torn_lines_cut(), 0);
}

#[tokio::test]
async fn a_restart_after_the_period_or_of_a_full_file_starts_the_next_file() {
    let h = Harness::new();
    let config = h.config().rotation(Rotation::HOURLY.with_max_bytes(1024));
    let mut sink = h.sink(config.clone());
    sink.send(&batch("a", 6)).await.unwrap(); // over 1024 bytes: full
    drop(sink);
    let mut sink = h.sink(config.clone());
    sink.send(&batch("b", 1)).await.unwrap();
    drop(sink);
    h.clock.set("2026-11-24T11:00:00Z");
    let mut sink = h.sink(config);
    sink.send(&batch("c", 1)).await.unwrap();
    assert_eq!(
        h.files(),
        [
            "events-2026-11-24T10-00-00Z.0001.jsonl",
            "events-2026-11-24T10-00-00Z.0002.jsonl",
            "events-2026-11-24T11-00-00Z.0001.jsonl",
        ]
    );
    assert_eq!(h.stored(), ["a0", "a1", "a2", "a3", "a4", "a5", "b0", "c0"]);
}

#[tokio::test]
async fn a_torn_last_line_is_cut_at_start_up_and_earlier_lines_are_intact() {
    let h = Harness::new();
    let mut sink = h.sink(h.config());
    sink.send(&batch("a", 2)).await.unwrap();
    drop(sink);
    let name = "events-2026-11-24T10-00-00Z.0001.jsonl";
    let intact = h.read(name);
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(h.archive().join(name))
        .unwrap();
    file.write_all(b"{\"uid\":\"torn\",\"resour").unwrap();
    drop(file);

    let mut sink = h.sink(h.config());
    let stats = sink.stats();
    sink.health_check().await.unwrap();
    assert_eq!(stats.torn_lines_cut(), 1);
    assert_eq!(h.read(name), intact);
    sink.send(&batch("b", 1)).await.unwrap();
    assert_eq!(h.stored(), ["a0", "a1", "b0"]);
    assert_eq!(h.files(), [name]);
}

#[tokio::test]
async fn a_full_disk_is_retryable_and_the_same_batch_is_stored_once_when_space_returns() {
    let h = Harness::new();
    let mut sink = h.sink(h.config());
    let (a, b) = (batch("a", 2), batch("b", 3));
    sink.send(&a).await.unwrap();
    let before = h.read("events-2026-11-24T10-00-00Z.0001.jsonl");
    h.faults.fail_write_partway(".jsonl", 700);
    let error = sink.send(&b).await.unwrap_err();
    assert!(error.is_retryable(), "{error}");
    let message = error.to_string();
    assert!(message.contains("disk is full"), "{message}");
    assert!(
        message.contains(&format!("free space on {}", h.archive().display())),
        "{message}"
    );
    assert!(
        message.contains("events-2026-11-24T10-00-00Z.0001.jsonl"),
        "{message}"
    );
    assert!(message.contains("will be retried"), "{message}");
    assert_eq!(h.read("events-2026-11-24T10-00-00Z.0001.jsonl"), before);
    assert_eq!(sink.stats().writes_rolled_back(), 1);

    sink.send(&b).await.unwrap();
    assert_eq!(h.stored(), uids(&[&a, &b]));
}

#[tokio::test]
async fn a_failed_fsync_is_retryable_and_the_retried_batch_is_stored_once() {
    let h = Harness::new();
    let mut sink = h.sink(h.config());
    sink.send(&batch("a", 1)).await.unwrap();
    h.faults.fail(Op::Sync, ".jsonl", io::ErrorKind::Other, 1);
    let error = sink.send(&batch("b", 2)).await.unwrap_err();
    assert!(error.is_retryable());
    assert!(error.to_string().contains("syncing"), "{error}");
    sink.send(&batch("b", 2)).await.unwrap();
    assert_eq!(h.stored(), ["a0", "b0", "b1"]);
}

#[tokio::test]
async fn permission_denied_on_the_directory_is_fatal_and_says_what_to_do() {
    let h = Harness::new();
    let archive = h.archive().join("archive");
    h.faults
        .fail(Op::CreateDir, "archive", io::ErrorKind::PermissionDenied, 1);
    let mut sink = h.sink(FileSinkConfig::new(&archive));
    let error = sink.health_check().await.unwrap_err();
    assert!(matches!(error, SinkError::Fatal { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains(&format!("creating directory {}", archive.display())),
        "{message}"
    );
    assert!(
        message.contains("give the process write access"),
        "{message}"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn a_read_only_directory_is_a_fatal_error_at_start() {
    use std::os::unix::fs::PermissionsExt;
    let h = Harness::new();
    let locked = h.archive().join("locked");
    std::fs::create_dir(&locked).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o555)).unwrap();
    if std::fs::File::create(locked.join("probe")).is_ok() {
        println!("skipped: this process may write to read-only directories (root or a capability)");
        return;
    }
    let mut sink = FileSink::new(FileSinkConfig::new(&locked)).unwrap();
    let error = sink.health_check().await.unwrap_err();
    assert!(matches!(error, SinkError::Fatal { .. }), "{error:?}");
    assert!(error.to_string().contains(&locked.display().to_string()));
}

#[tokio::test]
async fn other_io_errors_are_retryable_and_name_the_path() {
    let h = Harness::new();
    let mut sink = h.sink(h.config());
    h.faults.fail(Op::Open, ".jsonl", io::ErrorKind::Other, 1);
    let error = sink.send(&batch("a", 1)).await.unwrap_err();
    assert!(error.is_retryable());
    assert!(error.to_string().contains("opening"), "{error}");
    assert!(error.to_string().contains("check the disk"), "{error}");
    sink.send(&batch("a", 1)).await.unwrap();
    assert_eq!(h.stored(), ["a0"]);
}

/// Writes one batch per hour for `hours` hours from 10:00.
async fn hourly_batches(h: &Harness, sink: &mut FileSink, hours: usize) {
    for hour in 0..hours {
        h.clock.set(&format!("2026-11-24T{:02}:00:00Z", 10 + hour));
        sink.send(&batch(&format!("h{hour}-"), 1)).await.unwrap();
    }
}

#[tokio::test]
async fn retention_keeps_the_newest_files_by_count() {
    let h = Harness::new();
    let mut sink = h.sink(h.config().keep_files(2));
    hourly_batches(&h, &mut sink, 5).await;
    assert_eq!(
        h.files(),
        [
            "events-2026-11-24T13-00-00Z.0001.jsonl",
            "events-2026-11-24T14-00-00Z.0001.jsonl",
        ]
    );
    assert_eq!(sink.stats().files_removed(), 3);
    assert_eq!(h.stored(), ["h3-0", "h4-0"]);
}

#[tokio::test]
async fn retention_deletes_files_whose_last_write_is_older_than_the_days_kept() {
    let h = Harness::new();
    let mut sink = h.sink(h.config().rotation(Rotation::DAILY).keep_days(2));
    for day in 1..=4 {
        h.clock.set(&format!("2026-11-0{day}T12:00:00Z"));
        sink.send(&batch(&format!("d{day}-"), 1)).await.unwrap();
    }
    // At Nov 4 12:00 the cutoff is Nov 2 12:00: the Nov 1 file ended at Nov 2 00:00.
    assert_eq!(
        h.files(),
        [
            "events-2026-11-02T00-00-00Z.0001.jsonl",
            "events-2026-11-03T00-00-00Z.0001.jsonl",
            "events-2026-11-04T00-00-00Z.0001.jsonl",
        ]
    );
}

#[tokio::test]
async fn a_failed_retention_removal_is_returned_and_retried_without_storing_the_batch_twice() {
    let h = Harness::new();
    let mut sink = h.sink(h.config().keep_files(1));
    sink.send(&batch("a", 1)).await.unwrap();
    h.clock.set("2026-11-24T11:00:00Z");
    h.faults
        .fail(Op::Remove, "10-00-00Z", io::ErrorKind::Other, 1);
    let error = sink.send(&batch("b", 1)).await.unwrap_err();
    assert!(error.is_retryable());
    assert!(error.to_string().contains("removing"), "{error}");
    sink.send(&batch("b", 1)).await.unwrap();
    assert_eq!(h.files(), ["events-2026-11-24T11-00-00Z.0001.jsonl"]);
    assert_eq!(h.stored(), ["b0"]);
}

#[tokio::test]
async fn closed_files_are_gzipped_and_read_back_in_order() {
    let h = Harness::new();
    let mut sink = h.sink(h.config().compress(true));
    hourly_batches(&h, &mut sink, 3).await;
    assert_eq!(
        h.files(),
        [
            "events-2026-11-24T10-00-00Z.0001.jsonl.gz",
            "events-2026-11-24T11-00-00Z.0001.jsonl.gz",
            "events-2026-11-24T12-00-00Z.0001.jsonl",
        ]
    );
    assert_eq!(sink.stats().files_compressed(), 2);
    assert_eq!(h.stored(), ["h0-0", "h1-0", "h2-0"]);
}

#[tokio::test]
async fn a_failed_compression_is_returned_keeps_the_original_and_is_retried() {
    let h = Harness::new();
    let mut sink = h.sink(h.config().compress(true));
    sink.send(&batch("a", 2)).await.unwrap();
    h.clock.set("2026-11-24T11:00:00Z");
    h.faults
        .fail(Op::Write, ".gz.tmp", io::ErrorKind::StorageFull, 1);
    let error = sink.send(&batch("b", 1)).await.unwrap_err();
    assert!(error.is_retryable());
    assert!(error.to_string().contains("free space"), "{error}");
    assert_eq!(
        h.files(),
        [
            "events-2026-11-24T10-00-00Z.0001.jsonl",
            "events-2026-11-24T11-00-00Z.0001.jsonl",
        ]
    );
    assert_eq!(
        h.stored(),
        ["a0", "a1"],
        "nothing of the failed batch stored"
    );
    sink.send(&batch("b", 1)).await.unwrap();
    assert_eq!(
        h.files(),
        [
            "events-2026-11-24T10-00-00Z.0001.jsonl.gz",
            "events-2026-11-24T11-00-00Z.0001.jsonl",
        ]
    );
    assert_eq!(h.stored(), ["a0", "a1", "b0"]);
}

#[tokio::test]
async fn start_up_removes_leftovers_of_an_interrupted_compression_and_compresses_again() {
    let h = Harness::new();
    let mut sink = h.sink(h.config());
    sink.send(&batch("a", 2)).await.unwrap();
    h.clock.set("2026-11-24T11:00:00Z");
    sink.send(&batch("b", 1)).await.unwrap();
    drop(sink);
    let closed = "events-2026-11-24T10-00-00Z.0001.jsonl";
    std::fs::write(h.archive().join(format!("{closed}.gz")), b"half a gzip").unwrap();
    std::fs::write(h.archive().join(format!("{closed}.gz.tmp")), b"partial").unwrap();
    assert_eq!(h.stored(), ["a0", "a1", "b0"], "readers skip the leftovers");

    let mut sink = h.sink(h.config().compress(true));
    sink.send(&batch("c", 1)).await.unwrap();
    assert_eq!(
        h.files(),
        [
            "events-2026-11-24T10-00-00Z.0001.jsonl.gz",
            "events-2026-11-24T11-00-00Z.0001.jsonl",
        ]
    );
    assert_eq!(h.stored(), ["a0", "a1", "b0", "c0"]);
}

#[tokio::test]
async fn every_batch_policy_syncs_before_send_returns() {
    let h = Harness::new();
    let mut sink = h.sink(h.config());
    for i in 0..3 {
        sink.send(&batch(&format!("a{i}-"), 1)).await.unwrap();
    }
    assert_eq!(h.faults.count(Op::Sync, "0001.jsonl"), 3);
}

#[tokio::test]
async fn interval_policy_syncs_after_the_interval_and_on_flush() {
    let h = Harness::new();
    let policy = FsyncPolicy::Interval(std::time::Duration::from_secs(10));
    let mut sink = h.sink(h.config().fsync(policy));
    sink.send(&batch("a", 1)).await.unwrap();
    h.clock.set("2026-11-24T10:00:05Z");
    sink.send(&batch("b", 1)).await.unwrap();
    assert_eq!(h.faults.count(Op::Sync, "0001.jsonl"), 0);
    h.clock.set("2026-11-24T10:00:10Z");
    sink.send(&batch("c", 1)).await.unwrap();
    assert_eq!(h.faults.count(Op::Sync, "0001.jsonl"), 1);
    sink.send(&batch("d", 1)).await.unwrap();
    sink.flush().await.unwrap();
    assert_eq!(h.faults.count(Op::Sync, "0001.jsonl"), 2);
}

#[tokio::test]
async fn never_policy_leaves_syncing_to_the_os_even_on_flush_and_rotation() {
    let h = Harness::new();
    let mut sink = h.sink(h.config().fsync(FsyncPolicy::Never));
    sink.send(&batch("a", 1)).await.unwrap();
    h.clock.set("2026-11-24T11:00:00Z");
    sink.send(&batch("b", 1)).await.unwrap();
    sink.flush().await.unwrap();
    assert_eq!(h.faults.count(Op::Sync, ""), 0);
    assert_eq!(h.stored(), ["a0", "b0"]);
}

#[tokio::test]
async fn a_hung_write_times_out_as_retryable_and_is_not_made_after_the_caller_left() {
    let h = Harness::new();
    let mut sink = h.sink(h.config());
    sink.send(&batch("a", 1)).await.unwrap();
    h.clock.set("2026-11-24T11:00:00Z");
    let release = h.faults.block_next(Op::Open);
    // Paused time does not advance by itself while a blocking task runs: move it by hand.
    tokio::time::pause();
    let b = batch("b", 1);
    let (result, ()) = tokio::join!(sink.send(&b), async {
        tokio::time::advance(std::time::Duration::from_secs(31)).await;
    });
    tokio::time::resume();
    let error = result.unwrap_err();
    assert!(error.is_retryable());
    assert!(
        error.to_string().contains("did not finish within 30s"),
        "{error}"
    );
    release.send(()).unwrap();
    sink.send(&batch("b", 1)).await.unwrap();
    assert_eq!(h.stored(), ["a0", "b0"]);
}

#[tokio::test]
async fn invalid_config_is_refused_before_anything_touches_the_disk() {
    let h = Harness::new();
    let missing = h.archive().join("never-created");
    let error = FileSink::new(FileSinkConfig::new(&missing).keep_files(0)).unwrap_err();
    assert_eq!(error.key(), Some("keep_files"));
    assert!(!missing.exists());
}

#[tokio::test]
async fn already_stored_finds_what_the_newest_files_hold_and_nothing_else() {
    let h = Harness::new();
    let mut sink = h.sink(h.config());
    assert_eq!(
        sink.already_stored(&batch("a", 2)).await.unwrap(),
        Some(HashSet::new()),
        "an archive never written holds nothing"
    );
    let stored = batch("a", 3);
    sink.send(&stored).await.unwrap();
    h.clock.set("2026-11-24T11:00:00Z");
    let later = batch("b", 2);
    sink.send(&later).await.unwrap();
    let mut candidates = vec![stored[1].clone(), later[0].clone()];
    candidates.extend(batch("never", 2));
    let found = sink.already_stored(&candidates).await.unwrap().unwrap();
    let expected: HashSet<OccurrenceKey> = [stored[1].key(), later[0].key()].into();
    assert_eq!(found, expected);
}

#[tokio::test]
async fn already_stored_reads_only_the_newest_files() {
    let h = Harness::new();
    let mut sink = h.sink(h.config());
    let first = batch("first", 1);
    sink.send(&first).await.unwrap();
    for hour in 1..=RECENT_FILES_SEARCHED {
        h.clock.set(&format!("2026-11-24T{:02}:00:00Z", 10 + hour));
        sink.send(&batch(&format!("h{hour}-"), 1)).await.unwrap();
    }
    let found = sink.already_stored(&first).await.unwrap().unwrap();
    assert!(
        found.is_empty(),
        "the first file is beyond the search: {found:?}"
    );
}

#[tokio::test]
async fn an_archive_directory_that_is_a_file_is_fatal_at_start_and_names_the_path() {
    let h = Harness::new();
    let archive = h.archive().join("archive");
    std::fs::write(&archive, b"").unwrap();
    let sink = h.sink(FileSinkConfig::new(&archive));
    let error = sink.check_writable().await.unwrap_err();
    assert!(matches!(error, SinkError::Fatal { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains(&archive.display().to_string()),
        "{message}"
    );
    assert!(message.contains("mount a writable volume"), "{message}");
    let mut sink = h.sink(FileSinkConfig::new(archive.join("below")));
    let error = sink.health_check().await.unwrap_err();
    assert!(matches!(error, SinkError::Fatal { .. }), "{error:?}");
}

#[tokio::test]
async fn the_start_up_check_probes_the_directory_and_leaves_nothing_behind() {
    let h = Harness::new();
    let archive = h.archive().join("archive");
    let sink = h.sink(FileSinkConfig::new(&archive));
    sink.check_writable().await.unwrap();
    assert_eq!(std::fs::read_dir(&archive).unwrap().count(), 0);
    assert_eq!(
        h.faults.count(Op::Sync, "-probe-"),
        1,
        "the probe is synced"
    );
    h.faults
        .fail(Op::Open, "-probe-", io::ErrorKind::ReadOnlyFilesystem, 1);
    let mut sink = h.sink(FileSinkConfig::new(&archive));
    let error = sink.health_check().await.unwrap_err();
    assert!(matches!(error, SinkError::Fatal { .. }), "{error:?}");
    assert!(error.to_string().contains("-probe-"), "{error}");
}

#[tokio::test]
async fn a_volume_turned_read_only_or_not_a_directory_mid_run_is_fatal_a_full_disk_is_not() {
    for (kind, fatal) in [
        (io::ErrorKind::ReadOnlyFilesystem, true),
        (io::ErrorKind::NotADirectory, true),
        (io::ErrorKind::PermissionDenied, true),
        (io::ErrorKind::StorageFull, false),
    ] {
        let h = Harness::new();
        let mut sink = h.sink(h.config());
        sink.send(&batch("a", 1)).await.unwrap();
        h.faults.fail(Op::Sync, ".jsonl", kind, 1);
        let error = sink.send(&batch("b", 1)).await.unwrap_err();
        assert_eq!(
            matches!(error, SinkError::Fatal { .. }),
            fatal,
            "{kind:?}: {error:?}"
        );
        assert_eq!(error.is_retryable(), !fatal, "{kind:?}");
        assert!(
            error
                .to_string()
                .contains(&h.archive().display().to_string()),
            "{error}"
        );
    }
}
