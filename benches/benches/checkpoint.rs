//! What the checkpoint costs: a ledger snapshot, and saving and loading the file (temp file,
//! fsync, rename), for the steady state (a resume point, no event tracked one by one) and for
//! the worst case of 100,000 events acknowledged ahead of the resume point.
//!
//! `cargo bench -p benches --bench checkpoint`. Sizes are printed by the `checkpoint` binary.

use std::time::Duration;

use benches::ledgers::ahead;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use event_core::checkpoint::{CheckpointStore, FileCheckpointStore, Ledger, LedgerConfig};

fn checkpoint(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut group = c.benchmark_group("checkpoint");
    for (name, tracked) in [("steady", 0), ("100k-ahead", 100_000)] {
        let saved = ahead(tracked);
        let ledger = Ledger::from_checkpoint(saved.clone(), LedgerConfig::default());
        group.bench_function(BenchmarkId::new("snapshot", name), |b| {
            b.iter(|| ledger.snapshot());
        });
        let store = FileCheckpointStore::new(dir.path().join(format!("{name}.json")));
        group.bench_function(BenchmarkId::new("save", name), |b| {
            b.iter(|| runtime.block_on(store.save(saved.encode())).expect("saved"));
        });
        group.bench_function(BenchmarkId::new("load", name), |b| {
            b.iter(|| runtime.block_on(store.load()).expect("loaded"));
        });
    }
    group.finish();
}

/// Short by default so that a full run takes a minute; pass criterion's own flags to change it.
fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = checkpoint
}
criterion_main!(benches);
