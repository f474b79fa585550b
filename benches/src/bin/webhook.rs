//! Webhook sink throughput and request count: `Pipeline` → `WebhookSink` → testkit's webhook
//! receiver (which parses every body and recomputes every idempotency key), on 127.0.0.1.
//!
//! `cargo run --release -p benches --bin webhook`
//!
//! `--events` normalized recorded events (~700 B of JSON each), all available at once,
//! exported with the pipeline's batch size raised to the sink's limit, so the sink's
//! `max_batch_events` and `max_body_bytes` (1 MiB) cut the requests. For each setting (JSON or
//! NDJSON, gzip on or off, 500 or 2,000 records per request): events per second until the last
//! request was answered, requests per 100,000 events, and bytes on the wire per event. The
//! receiver runs in the same process and its checks are part of the time.

use std::time::Instant;

use benches::fixtures::{Group, replicate};
use benches::machine::Machine;
use benches::stats::thousands;
use benches::work::normalize;
use clap::Parser;
use event_core::{Event, Pipeline, PipelineConfig, Tracked};
use futures::stream;
use sink_webhook::{Format, WebhookSink, WebhookSinkConfig};
use testkit::webhook::{Receiver, ReceiverConfig};
use tokio_util::sync::CancellationToken;

#[derive(Parser, Debug)]
#[command(about = "Events per second and requests per 100,000 events into the webhook sink")]
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
    let events: Vec<Event> = replicate(Group::CoreV1, cli.events)
        .iter()
        .filter_map(|line| normalize(Group::CoreV1, line))
        .collect();
    let n = events.len();
    println!(
        "\n## Webhook: {} events, Pipeline → WebhookSink → local receiver\n",
        thousands(n as f64)
    );
    println!(
        "| format | gzip | max_batch_events | records received | requests | requests per 100,000 events | wire bytes per event | time | events/s |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for (format, gzip, max_batch) in [
        (Format::Json, false, 500),
        (Format::Json, true, 500),
        (Format::Ndjson, false, 500),
        (Format::Json, false, 2_000),
    ] {
        let receiver = Receiver::start(ReceiverConfig::default()).await?;
        let config = WebhookSinkConfig::new(receiver.url())
            .format(format)
            .gzip(gzip)
            .max_batch_events(max_batch);
        let sink = WebhookSink::new(config)?;
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
        let accepted = receiver.accepted();
        let records: usize = accepted.iter().map(|a| a.keys.len()).sum();
        let wire: usize = accepted.iter().map(|a| a.wire_bytes).sum();
        println!(
            "| {format} | {} | {} | {} | {} | {:.0} | {:.0} | {:.2} s | {} |",
            if gzip { "on" } else { "off" },
            thousands(max_batch as f64),
            thousands(records as f64),
            stats.requests,
            stats.requests as f64 * 100_000.0 / n.max(1) as f64,
            wire as f64 / n.max(1) as f64,
            elapsed.as_secs_f64(),
            thousands(n as f64 / elapsed.as_secs_f64())
        );
        if records != n || !receiver.problems().is_empty() {
            println!(
                "note: {records} of {n} records received; problems: {:?}",
                receiver.problems()
            );
        }
    }
    Ok(())
}
