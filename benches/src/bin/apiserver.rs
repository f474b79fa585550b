//! The simulated API server at scale: the heap it holds per stored event, and the rate at which
//! it serves a paginated list of all of them, in this process.
//!
//! ```sh
//! cargo run --release -p benches --bin apiserver -- --events 1000000
//! ```
//!
//! Loads `--events` replicated recorded events (in slices of 10,000, so the bench's own copies
//! of the fixtures never add up) with a history window holding every load, as the end-to-end
//! benches configure it. The heap is counted by a counting allocator: held per event is the
//! growth over the load divided by the events, history and index included. Then one client
//! lists every event over HTTP in pages of `--limit` (500, what kube-rs's watcher asks for), as
//! an exporter's first list does; timed from the first request to the last page, with the
//! client's own work (reading the answer and finding its continue token) included.

use std::alloc::System;
use std::net::SocketAddr;
use std::time::Instant;

use benches::cluster;
use benches::fixtures::Group;
use benches::machine::Machine;
use benches::stats::thousands;
use cap::Cap;
use clap::Parser;
use testkit::{SimCluster, SimConfig};

#[global_allocator]
static ALLOCATOR: Cap<System> = Cap::new(System, usize::MAX);

#[derive(Parser, Debug)]
#[command(about = "Heap per event and list serve rate of the simulated API server")]
struct Cli {
    /// Live events to load.
    #[arg(long, default_value_t = 100_000)]
    events: usize,
    /// Page size of the list.
    #[arg(long, default_value_t = 500)]
    limit: usize,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Events loaded at a time.
const SLICE: usize = 10_000;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let cli = Cli::parse();
    println!("machine: {}", Machine::detect());
    let cluster =
        SimCluster::start(SimConfig::default().history_window(cli.events + 1_000)).await?;
    let before = ALLOCATOR.allocated();
    let loading = Instant::now();
    let mut loaded = 0;
    while loaded < cli.events {
        let n = SLICE.min(cli.events - loaded);
        drop(cluster::load(&cluster, Group::CoreV1, loaded, n)?);
        loaded += n;
    }
    let load_time = loading.elapsed();
    let held = ALLOCATOR.allocated().saturating_sub(before);
    let peak_before_list = ALLOCATOR.max_allocated();

    let addr: SocketAddr = cluster
        .url()
        .trim_start_matches("http://")
        .parse()
        .map_err(|e| format!("the server's address: {e}"))?;
    let listing = Instant::now();
    let (pages, bytes) = list_all(addr, cli.limit).await?;
    let list_time = listing.elapsed();
    let peak_list = ALLOCATOR.max_allocated();

    println!(
        "\n## The simulated API server: {} core/v1 events\n",
        thousands(cli.events as f64)
    );
    println!("| measure | value |\n|---|---:|");
    println!(
        "| load ({} events/s) | {:.1} s |",
        thousands(cli.events as f64 / load_time.as_secs_f64().max(1e-9)),
        load_time.as_secs_f64()
    );
    println!(
        "| heap held after the load | {:.1} MiB |",
        held as f64 / (1024.0 * 1024.0)
    );
    println!(
        "| heap held per event | {} bytes |",
        thousands(held as f64 / cli.events.max(1) as f64)
    );
    println!(
        "| list of every event, {} pages of {} ({} MiB) | {:.2} s |",
        thousands(pages as f64),
        cli.limit,
        thousands(bytes as f64 / (1024.0 * 1024.0)),
        list_time.as_secs_f64()
    );
    println!(
        "| list serve rate | **{} events/s** |",
        thousands(cli.events as f64 / list_time.as_secs_f64().max(1e-9))
    );
    println!(
        "| heap peak: during the load / during the list | {:.1} / {:.1} MiB |",
        peak_before_list as f64 / (1024.0 * 1024.0),
        peak_list as f64 / (1024.0 * 1024.0)
    );
    Ok(())
}

/// Lists every event in pages of `limit`, following continue tokens; returns the pages and the
/// bytes of the answers.
async fn list_all(addr: SocketAddr, limit: usize) -> Result<(usize, usize), BoxError> {
    let mut token: Option<String> = None;
    let mut pages = 0;
    let mut bytes = 0;
    loop {
        let path = match &token {
            None => format!("/api/v1/events?limit={limit}"),
            Some(t) => format!("/api/v1/events?limit={limit}&continue={t}"),
        };
        let (status, body) = testkit::http::get(addr, &path).await;
        if status != 200 {
            return Err(format!("page {pages} answered {status}: {body:.300}").into());
        }
        pages += 1;
        bytes += body.len();
        // The token sits in the list's metadata, before the items.
        let head = &body[..body.find(r#","items":"#).unwrap_or(body.len())];
        token = head
            .split_once(r#""continue":""#)
            .and_then(|(_, rest)| rest.split_once('"'))
            .map(|(t, _)| t.to_owned());
        if token.is_none() {
            return Ok((pages, bytes));
        }
    }
}
