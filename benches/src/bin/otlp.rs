//! OTLP sink throughput and request count: `Pipeline` → `OtlpSink` → testkit's OTLP receiver
//! (which decodes every request with the official protobuf definitions), on 127.0.0.1.
//!
//! `cargo run --release -p benches --bin otlp`
//!
//! `--events` normalized recorded events (~700 B each, timestamps of now), all available at
//! once, exported with the pipeline's batch size raised to the sink's limit, so the sink's
//! `max_batch_events` (default 1,000) and `max_batch_bytes` cut the requests. For each sink
//! setting (gzip on and off; 1,000 and 5,000 records per request): events per second until the
//! last request was answered, requests per 100,000 events, and bytes on the wire per event.

use std::time::Instant;

use benches::fixtures::{Group, replicate};
use benches::machine::Machine;
use benches::stats::thousands;
use benches::work::normalize;
use clap::Parser;
use event_core::{Event, Pipeline, PipelineConfig, Tracked};
use futures::stream;
use sink_otlp::{OtlpSink, OtlpSinkConfig};
use testkit::otlp::Receiver;
use tokio_util::sync::CancellationToken;

#[derive(Parser, Debug)]
#[command(about = "Events per second and requests per 100,000 events into the OTLP sink")]
struct Cli {
    /// Events exported per run.
    #[arg(long, default_value_t = 100_000)]
    events: usize,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let cli = Cli::parse();
    println!("machine: {}", Machine::detect());
    let now = jiff::Timestamp::now();
    let events: Vec<Event> = replicate(Group::CoreV1, cli.events)
        .iter()
        .filter_map(|line| normalize(Group::CoreV1, line))
        .map(|mut event| {
            event.first_seen = now;
            event.last_seen = now;
            event
        })
        .collect();
    let n = events.len();
    println!(
        "\n## OTLP/HTTP protobuf: {} events, Pipeline → OtlpSink → local receiver\n",
        thousands(n as f64)
    );
    println!(
        "| gzip | max_batch_events | records received | requests | requests per 100,000 events | wire bytes per event | time | events/s |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (gzip, max_batch) in [(true, 1_000), (false, 1_000), (true, 5_000)] {
        let receiver = Receiver::start().await?;
        let mut config = OtlpSinkConfig::new(receiver.endpoint());
        config.gzip = gzip;
        config.max_batch_events = max_batch;
        let sink = OtlpSink::new(config)?;
        let source = stream::iter(
            events
                .clone()
                .into_iter()
                .map(|e| Ok::<_, std::convert::Infallible>(Tracked::untracked(e))),
        );
        let started = Instant::now();
        Pipeline::new(source)
            .sink(sink)
            .config(PipelineConfig::default().max_batch_events(max_batch))
            .run(CancellationToken::new())
            .await?;
        let elapsed = started.elapsed();
        let stats = receiver.stats();
        let requests = stats.requests - stats.empty_requests;
        println!(
            "| {} | {} | {} | {} | {:.0} | {:.0} | {:.2} s | {} |",
            if gzip { "on" } else { "off" },
            thousands(max_batch as f64),
            thousands(stats.records as f64),
            requests,
            requests as f64 * 100_000.0 / n.max(1) as f64,
            stats.wire_bytes as f64 / n.max(1) as f64,
            elapsed.as_secs_f64(),
            thousands(n as f64 / elapsed.as_secs_f64())
        );
        if stats.records != n as u64 {
            println!("note: {} of {n} records received", stats.records);
        }
    }
    Ok(())
}
