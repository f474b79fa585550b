//! CloudWatch Logs efficiency and latency: `Pipeline` → `CloudWatchSink` → strict proxy (the real
//! PutLogEvents limits) → moto, all on 127.0.0.1.
//!
//! `cargo run --release -p benches --bin cloudwatch` (needs moto: `pip install 'moto[server]'`
//! or `scripts/test.sh`).
//!
//! 1. Backlog: `--backlog` normalized recorded events (~700 B each, timestamps of now), all
//!    available at once, into one new log stream. PutLogEvents calls are compared with the
//!    least any client could make: the larger of ⌈bytes / 1 MiB⌉ and ⌈events / 10,000⌉, bytes
//!    as the service counts them (UTF-8 message + 26 per event) for what was stored. The first
//!    call on a new stream fails (ResourceNotFoundException), the sink creates the stream and
//!    sends again; both counts are shown. Run with the pipeline's default `max_batch_events`
//!    (500) and with 10,000.
//! 2. Latency: a `SimCluster` and an `EventStream`; `--rate` events per second are created for
//!    `--secs` seconds, each timed from its creation in the API to the moment `send` returned
//!    `Ok` for its batch (moto acknowledged it), with the default 1 s `max_batch_wait`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use benches::cluster;
use benches::fixtures::{Group, replicate};
use benches::machine::Machine;
use benches::stats::{percentile, thousands};
use benches::work::normalize;
use clap::Parser;
use event_core::metrics::Metrics;
use event_core::{
    BatchLimits, Event, EventStreamConfig, Keeper, OccurrenceKey, Pipeline, PipelineConfig, Sink,
    SinkError, Tracked,
};
use futures::stream;
use sink_cloudwatch::{CloudWatchSink, CloudWatchSinkConfig};
use testkit::SimConfig;
use testkit::cloudwatch::{StrictProxy, client};
use testkit::moto::Moto;
use tokio_util::sync::CancellationToken;

#[derive(Parser, Debug)]
#[command(about = "PutLogEvents calls against the minimum, and end-to-end latency, through moto")]
struct Cli {
    /// Events in the backlog.
    #[arg(long, default_value_t = 50_000)]
    backlog: usize,
    /// Events created per second in the latency run.
    #[arg(long, default_value_t = 20)]
    rate: u64,
    /// Length of the latency run.
    #[arg(long, default_value_t = 30)]
    secs: u64,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// When each occurrence's batch was acknowledged by the service.
type Acked = Arc<Mutex<HashMap<OccurrenceKey, Instant>>>;

/// A sink that times when its inner sink's `send` returned `Ok` for each event.
struct Timed<S> {
    inner: S,
    acked: Acked,
}

#[async_trait]
impl<S: Sink> Sink for Timed<S> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    async fn send(&mut self, batch: &[Event]) -> Result<(), SinkError> {
        self.inner.send(batch).await?;
        let now = Instant::now();
        let mut acked = self.acked.lock().unwrap_or_else(|e| e.into_inner());
        for event in batch {
            acked.entry(event.key()).or_insert(now);
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), SinkError> {
        self.inner.flush().await
    }

    fn batch_limits(&self) -> Option<BatchLimits> {
        self.inner.batch_limits()
    }
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let cli = Cli::parse();
    println!("machine: {}", Machine::detect());
    let moto = match Moto::start().await {
        Ok(moto) => moto,
        Err(error) => {
            println!("skipping: {error}");
            return Ok(());
        }
    };
    backlog(&moto, cli.backlog).await?;
    latency(&moto, cli.rate, cli.secs).await?;
    Ok(())
}

async fn sink_for(
    proxy: &StrictProxy,
    group: &str,
    stream: &str,
) -> Result<CloudWatchSink, BoxError> {
    let config = CloudWatchSinkConfig::new()
        .log_group(group)
        .log_stream(stream);
    let logs = client(&proxy.endpoint()).await;
    Ok(CloudWatchSink::from_client(logs, config)?)
}

async fn backlog(moto: &Moto, n: usize) -> Result<(), BoxError> {
    let now = jiff::Timestamp::now();
    let events: Vec<Event> = replicate(Group::CoreV1, n)
        .iter()
        .filter_map(|line| normalize(Group::CoreV1, line))
        .map(|mut event| {
            event.first_seen = now;
            event.last_seen = now;
            event
        })
        .collect();
    println!(
        "\n## CloudWatch backlog: {} events into one log stream\n",
        thousands(n as f64)
    );
    println!(
        "| max_batch_events | events stored | bytes stored (service count) | PutLogEvents calls | minimum | successful calls over it | all calls over it | other calls | time | events/s |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|");
    for max_batch in [500, 10_000] {
        let proxy = StrictProxy::start(&moto.endpoint()).await?;
        let sink = sink_for(&proxy, "/bench/backlog", &format!("backlog-{max_batch}")).await?;
        let stats = sink.stats();
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
        let p = proxy.stats();
        // The least any client could do for what was stored, by the service's own count.
        let by_bytes = stats.bytes_stored().div_ceil(1_048_576);
        let by_events = stats.events_stored().div_ceil(10_000);
        let minimum = by_bytes.max(by_events);
        let succeeded = stats.put_calls() - stats.put_failures();
        let others: Vec<String> = p
            .operations
            .iter()
            .filter(|(op, _)| op.as_str() != "PutLogEvents")
            .map(|(op, calls)| format!("{op} {calls}"))
            .collect();
        println!(
            "| {} | {} | {} | {} ({} failed) | {} | {:+.1} % | {:+.1} % | {} | {:.1} s | {} |",
            thousands(max_batch as f64),
            thousands(stats.events_stored() as f64),
            thousands(stats.bytes_stored() as f64),
            p.put_log_events_calls,
            stats.put_failures(),
            minimum,
            (succeeded as f64 / minimum.max(1) as f64 - 1.0) * 100.0,
            (p.put_log_events_calls as f64 / minimum.max(1) as f64 - 1.0) * 100.0,
            others.join(", "),
            elapsed.as_secs_f64(),
            thousands(n as f64 / elapsed.as_secs_f64())
        );
        if !proxy.violations().is_empty() || stats.events_stored() != n as u64 {
            println!(
                "note: {} limit violations, {} of {} events stored by the sink",
                proxy.violations().len(),
                stats.events_stored(),
                n
            );
        }
    }
    Ok(())
}

async fn latency(moto: &Moto, rate: u64, secs: u64) -> Result<(), BoxError> {
    let proxy = StrictProxy::start(&moto.endpoint()).await?;
    let acked: Acked = Arc::default();
    let sink = Timed {
        inner: sink_for(&proxy, "/bench/latency", "latency").await?,
        acked: acked.clone(),
    };
    let sim = cluster::loaded(0, Group::CoreV1, SimConfig::default()).await?;
    let metrics = Metrics::default();
    let keeper = Keeper::in_memory().with_metrics(metrics.clone());
    let events = keeper
        .watch(sim.cluster.client(), EventStreamConfig::default())
        .await?;
    let config = PipelineConfig::default();
    let wait = config.max_batch_wait;
    let shutdown = CancellationToken::new();
    let pipeline = tokio::spawn(
        keeper
            .pipeline(events)
            .sink(sink)
            .config(config)
            .run(shutdown.clone()),
    );
    while metrics.established() == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Warm the connection and create the log stream before timing.
    cluster::load(&sim.cluster, Group::CoreV1, 0, 1)?;
    while acked.lock().map_or(0, |a| a.len()) == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut created: HashMap<OccurrenceKey, Instant> = HashMap::new();
    let every = Duration::from_secs_f64(1.0 / rate.max(1) as f64);
    let mut ticker = tokio::time::interval(every);
    let total = (rate * secs) as usize;
    for i in 1..=total {
        ticker.tick().await;
        for event in cluster::load(&sim.cluster, Group::CoreV1, i, 1)? {
            created.insert(
                OccurrenceKey {
                    uid: event.uid,
                    resource_version: event.resource_version,
                },
                Instant::now(),
            );
        }
    }
    let drain = Instant::now();
    while drain.elapsed() < Duration::from_secs(30) {
        let done = acked
            .lock()
            .map_or(0, |a| created.keys().filter(|k| a.contains_key(*k)).count());
        if done == created.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    shutdown.cancel();
    pipeline.await??;
    let acked = acked.lock().map(|a| a.clone()).unwrap_or_default();
    let latencies: Vec<f64> = created
        .iter()
        .filter_map(|(key, at)| {
            acked
                .get(key)
                .map(|done| done.duration_since(*at).as_secs_f64() * 1000.0)
        })
        .collect();
    let p = proxy.stats();
    println!(
        "\n## CloudWatch latency: {rate} events/s for {secs} s, created in the API → acknowledged by moto (max_batch_wait {wait:?})\n"
    );
    println!("| events | acknowledged | p50 | p99 | max | PutLogEvents calls | target p99 |");
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    println!(
        "| {} | {} | {:.0} ms | {:.0} ms | {:.0} ms | {} | < {} ms |",
        created.len(),
        latencies.len(),
        percentile(&latencies, 50.0).unwrap_or(0.0),
        percentile(&latencies, 99.0).unwrap_or(0.0),
        percentile(&latencies, 100.0).unwrap_or(0.0),
        p.put_log_events_calls,
        wait.as_millis() + 100
    );
    Ok(())
}
