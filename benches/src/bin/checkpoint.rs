//! The checkpoint for 100,000 events: its size on disk and in memory, and the ledger's peak
//! during an initial list of 100,000.
//!
//! `cargo run --release -p benches --bin checkpoint`
//!
//! 1. In memory: the heap a `Ledger` takes per event it tracks one by one, from the global
//!    allocator's count (bytes requested, without the allocator's own overhead) around
//!    `Ledger::from_checkpoint` of 100,000 events.
//! 2. Live: a `SimCluster` in this process with 100,000 events (timestamps of now, as live
//!    events have), `EventStream` → `Pipeline` → null sink with a `FileCheckpointStore` saved
//!    every `--interval-ms` (5 s, the default). The ledger's tracked events and the file's size
//!    are sampled every 5 ms through the initial list, then read once the pipeline has caught
//!    up and saved twice.

use std::alloc::System;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use benches::cluster;
use benches::fixtures::Group;
use benches::ledgers::ahead;
use benches::machine::Machine;
use benches::stats::thousands;
use benches::work::NullSink;
use cap::Cap;
use clap::Parser;
use event_core::checkpoint::{FileCheckpointStore, Ledger, LedgerConfig};
use event_core::{ApiChoice, EventStreamConfig, Keeper, PipelineConfig};
use testkit::SimConfig;
use tokio_util::sync::CancellationToken;

#[global_allocator]
static ALLOCATOR: Cap<System> = Cap::new(System, usize::MAX);

#[derive(Parser, Debug)]
#[command(about = "Checkpoint size on disk and in memory, and the ledger's peak during a list")]
struct Cli {
    /// Events in the cluster (and in the worst-case checkpoint).
    #[arg(long, default_value_t = 100_000)]
    events: usize,
    /// How often the pipeline saves the checkpoint, in milliseconds (the default is the
    /// pipeline's and the exporter's).
    #[arg(long, default_value_t = 5_000)]
    interval_ms: u64,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let cli = Cli::parse();
    println!("machine: {}", Machine::detect());
    let n = cli.events;

    // 1. What one tracked event costs, in memory and on disk.
    let worst_file = serde_json::to_vec(&ahead(n))?.len();
    // The checkpoint is made inside the span: the ledger takes over its uids and frees the rest.
    let before = ALLOCATOR.allocated();
    let ledger = Ledger::from_checkpoint(ahead(n), LedgerConfig::default());
    let ledger_bytes = ALLOCATOR.allocated().saturating_sub(before);
    let per_event = ledger_bytes as f64 / n as f64;
    assert_eq!(
        ledger.tracked_events(),
        n,
        "every event is ahead of the resume point"
    );
    drop(ledger);
    let steady_file = serde_json::to_vec(&ahead(0))?.len();
    let before = ALLOCATOR.allocated();
    let steady_ledger = Ledger::from_checkpoint(ahead(0), LedgerConfig::default());
    let steady_bytes = ALLOCATOR.allocated().saturating_sub(before);
    drop(steady_ledger);

    // 2. A live initial list.
    let loaded = cluster::loaded(n, Group::CoreV1, SimConfig::default()).await?;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("checkpoint.json");
    let keeper = Keeper::in_memory().saving_to(FileCheckpointStore::new(&path));
    let ledger = keeper.ledger().clone();
    let stream = keeper
        .watch(
            loaded.cluster.client(),
            EventStreamConfig::default().api(ApiChoice::CoreV1),
        )
        .await?;
    let interval = Duration::from_millis(cli.interval_ms);
    let (sink, counts) = NullSink::new();
    let shutdown = CancellationToken::new();
    let started = Instant::now();
    let pipeline = tokio::spawn(
        keeper
            .pipeline(stream)
            .sink(sink)
            .config(PipelineConfig::default().checkpoint_interval(interval))
            .run(shutdown.clone()),
    );
    let mut peak_tracked = 0;
    let mut peak_file = 0;
    while counts.events.load(Ordering::Relaxed) < n as u64 {
        if started.elapsed() > Duration::from_secs(300) {
            return Err("the initial list did not finish within 5 minutes".into());
        }
        peak_tracked = peak_tracked.max(ledger.tracked_events());
        peak_file = peak_file.max(std::fs::metadata(&path).map_or(0, |m| m.len()));
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let listed_in = started.elapsed();
    // Two periodic saves after the last event: the list is complete and acknowledged.
    tokio::time::sleep(interval * 2 + Duration::from_millis(100)).await;
    let after_tracked = ledger.tracked_events();
    let after_file = std::fs::metadata(&path).map_or(0, |m| m.len());
    shutdown.cancel();
    let report = pipeline.await??;
    let final_file = std::fs::metadata(&path).map_or(0, |m| m.len());
    let saved: serde_json::Value = serde_json::from_slice(&std::fs::read(&path)?)?;

    println!(
        "\n## Checkpoint for {} events (core/v1, timestamps of now)\n",
        thousands(n as f64)
    );
    println!("| measure | value |\n|---|---:|");
    println!("| ledger heap per event tracked one by one | {per_event:.0} bytes |");
    println!(
        "| worst case, {} events tracked one by one: ledger heap / file | {:.1} MiB / {:.1} MiB |",
        thousands(n as f64),
        ledger_bytes as f64 / 1_048_576.0,
        worst_file as f64 / 1_048_576.0
    );
    println!(
        "| steady state (a resume point, no event tracked): ledger heap / file | {} bytes / {} bytes |",
        thousands(steady_bytes as f64),
        thousands(steady_file as f64)
    );
    println!(
        "| initial list of {} (server in the same process, checkpoint every {:?}) | {:.2} s |",
        thousands(n as f64),
        interval,
        listed_in.as_secs_f64()
    );
    println!(
        "| ledger peak during the list: events tracked / heap (at the per-event cost) | {} / {:.1} MiB |",
        thousands(peak_tracked as f64),
        peak_tracked as f64 * per_event / 1_048_576.0
    );
    println!(
        "| checkpoint file, largest seen during the list | {} bytes |",
        thousands(peak_file as f64)
    );
    println!(
        "| after the list: events tracked / file | {} / {} bytes |",
        thousands(after_tracked as f64),
        thousands(after_file as f64)
    );
    println!(
        "| after shutdown: file / events in it / acknowledged | {} bytes / {} / {} |",
        thousands(final_file as f64),
        saved["events"].as_object().map_or(0, |m| m.len()),
        thousands(report.acknowledged as f64)
    );
    println!(
        "| process heap peak (simulated server with {} events included) | {:.0} MiB |",
        thousands(n as f64),
        ALLOCATOR.max_allocated() as f64 / 1_048_576.0
    );
    Ok(())
}
