//! File-sink throughput per fsync policy: batches of 500 normalized recorded events (~700 B of
//! JSON each) appended to a rolling archive in a temporary directory.
//!
//! `cargo bench -p benches --bench file_sink`; each bench reports bytes per second of JSON
//! lines written. Set `BENCH_FILE_DIR` to measure another disk than the temporary directory's.

use std::time::Duration;

use benches::fixtures::{Group, replicate};
use benches::work::normalize;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use event_core::{Event, Sink};
use sink_file::{FileSink, FileSinkConfig, FsyncPolicy, Rotation};

/// Events per `send`, the pipeline's default batch.
const BATCH: usize = 500;

fn policies() -> [(&'static str, FsyncPolicy); 3] {
    [
        ("every-batch", FsyncPolicy::EveryBatch),
        ("interval-1s", FsyncPolicy::Interval(Duration::from_secs(1))),
        ("never", FsyncPolicy::Never),
    ]
}

fn file_sink(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime");
    let events: Vec<Event> = replicate(Group::CoreV1, BATCH)
        .iter()
        .filter_map(|line| normalize(Group::CoreV1, line))
        .collect();
    let bytes: usize = events
        .iter()
        .map(|e| serde_json::to_vec(e).map_or(0, |v| v.len() + 1))
        .sum();
    eprintln!(
        "file_sink: batches of {} events, {bytes} bytes of JSON lines ({} per event)",
        events.len(),
        bytes / events.len().max(1)
    );
    let root = std::env::var_os("BENCH_FILE_DIR").map_or_else(std::env::temp_dir, Into::into);
    let mut group = c.benchmark_group("file_sink");
    group.throughput(Throughput::Bytes(bytes as u64));
    for (name, policy) in policies() {
        let dir = tempfile::tempdir_in(&root).expect("a temporary directory");
        // Files of 64 MiB, four kept: rotation is part of the cost, the disk use stays bounded.
        let config = FileSinkConfig::new(dir.path())
            .rotation(Rotation::HOURLY.with_max_bytes(64 * 1024 * 1024))
            .keep_files(4)
            .fsync(policy);
        let mut sink = FileSink::new(config).expect("a valid file sink config");
        runtime
            .block_on(sink.health_check())
            .expect("the directory is writable");
        group.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter(|| {
                runtime
                    .block_on(sink.send(&events))
                    .expect("the write succeeds")
            });
        });
        runtime
            .block_on(sink.flush())
            .expect("the final sync succeeds");
    }
    group.finish();
}

/// Short by default so that a full run takes a minute; pass criterion's own flags to change it.
fn config() -> Criterion {
    Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
}

criterion_group! {
    name = benches;
    config = config();
    targets = file_sink
}
criterion_main!(benches);
