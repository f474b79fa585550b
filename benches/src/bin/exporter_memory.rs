//! Memory of the `eks_to_cloudwatch` binary with 100,000 live events in the simulated cluster
//! and a steady stream of new ones, and the size of its checkpoint file.
//!
//! ```sh
//! cargo build --release -p examples --example eks_to_cloudwatch
//! cargo run --release -p benches --bin exporter_memory
//! cargo run --release -p benches --bin exporter_memory -- --sink cloudwatch  # needs moto
//! ```
//!
//! The exporter runs as a child process with a file checkpoint and one sink (`stdout` into
//! `/dev/null` by default, `--sink file` for a rolling archive synced after every batch,
//! `--sink cloudwatch` for CloudWatch Logs through testkit's strict proxy to a moto server the
//! bench starts). Its RSS is sampled every 100 ms from `/proc`: through the initial list of
//! every live event, then while `--rate` new events per second are created for
//! `--steady-secs`. Steady is the median and the maximum over the second half of that phase;
//! peak is the kernel's high-water mark. The exporter's CPU time (user + system, from
//! `/proc/PID/stat`) when the sink has acknowledged the last listed event gives the events per
//! CPU-second of the whole path: start, list, decode, checkpoint, sink.

use std::time::{Duration, Instant};

use benches::cluster;
use benches::exporter::{Output, Run, binary};
use benches::fixtures::Group;
use benches::machine::Machine;
use benches::process::{Pid, Sampler, cpu_seconds, memory};
use benches::stats::{median, mib, thousands};
use clap::{Parser, ValueEnum};
use testkit::SimConfig;
use testkit::cloudwatch::StrictProxy;
use testkit::moto::Moto;

#[derive(Parser, Debug)]
#[command(about = "RSS of eks_to_cloudwatch with many live events and a steady stream")]
struct Cli {
    /// Live events in the cluster before the exporter starts.
    #[arg(long, default_value_t = 100_000)]
    events: usize,
    /// New events created per second during the steady phase.
    #[arg(long, default_value_t = 100)]
    rate: usize,
    /// Length of the steady phase.
    #[arg(long, default_value_t = 60)]
    steady_secs: u64,
    /// The exporter's sink.
    #[arg(long, value_enum, default_value_t = SinkArg::Stdout)]
    sink: SinkArg,
    /// An environment variable for the exporter, `KEY=VALUE` (repeatable), e.g.
    /// `GLIBC_TUNABLES=glibc.malloc.trim_threshold=131072`.
    #[arg(long = "env", value_parser = key_value)]
    env: Vec<(String, String)>,
}

fn key_value(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("expected KEY=VALUE, got {s:?}"))
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum SinkArg {
    /// `stdout` into /dev/null.
    Stdout,
    /// `file` into a temporary directory, fsync every batch.
    File,
    /// `cloudwatch` through the strict proxy to moto.
    Cloudwatch,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

// Two workers: with `--sink cloudwatch` the proxy in this process forwards every batch while the
// simulated API server serves the list.
#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), BoxError> {
    let cli = Cli::parse();
    println!("machine: {}", Machine::detect());
    let exporter_bin = binary()?;
    let loaded = cluster::loaded(cli.events, Group::CoreV1, SimConfig::default()).await?;
    let dir = tempfile::tempdir()?;
    let kubeconfig = dir.path().join("kubeconfig");
    loaded.cluster.write_kubeconfig(&kubeconfig)?;
    let checkpoint = dir.path().join("checkpoint.json");
    // Kept until the end: the proxy and moto stop when dropped.
    let mut cloudwatch: Option<(Moto, StrictProxy)> = None;
    let output = match cli.sink {
        SinkArg::Stdout => Output::Stdout("/dev/null".into()),
        SinkArg::File => Output::Archive(dir.path().join("archive")),
        SinkArg::Cloudwatch => {
            let moto = Moto::start().await?;
            let proxy = StrictProxy::start(&moto.endpoint()).await?;
            let endpoint = proxy.endpoint();
            cloudwatch = Some((moto, proxy));
            Output::CloudWatch(endpoint)
        }
    };
    let sink_name = match cli.sink {
        SinkArg::Stdout => "stdout",
        SinkArg::File => "file",
        SinkArg::Cloudwatch => "cloudwatch",
    };
    let run = Run {
        kubeconfig,
        checkpoint: checkpoint.clone(),
        checkpoint_interval_secs: 5.0,
        output,
        dir: dir.path().to_path_buf(),
        env: cli.env.clone(),
    };
    let exporter = run.start(&exporter_bin).await?;
    let sampler = Sampler::start(exporter.pid(), Duration::from_millis(100));
    let sent_series = format!("event_keeper_events_sent_total{{sink=\"{sink_name}\"}}");
    let sent = || async { exporter.metric(&sent_series).await.unwrap_or(0.0) as u64 };

    let expected = cli.events as u64;
    while sent().await < expected {
        if exporter.started().elapsed() > Duration::from_secs(600) {
            return Err("the initial list did not finish within 10 minutes".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let caught_up = exporter.started().elapsed();
    let list_cpu = cpu_seconds(Pid::Of(exporter.pid()))?;
    let after_list = memory(Pid::Of(exporter.pid()))?;

    // The steady phase: `rate` new events a second, in ten slices a second.
    let steady_start = exporter.started().elapsed();
    let per_tick = cli.rate.div_ceil(10).max(1);
    let mut created = 0usize;
    let mut ticker = tokio::time::interval(Duration::from_millis(100));
    let phase = Instant::now();
    while phase.elapsed() < Duration::from_secs(cli.steady_secs) {
        ticker.tick().await;
        cluster::load(
            &loaded.cluster,
            Group::CoreV1,
            cli.events + created,
            per_tick,
        )?;
        created += per_tick;
    }
    let steady_end = exporter.started().elapsed();
    let total = expected + created as u64;
    let drain = Instant::now();
    while sent().await < total && drain.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let delivered = sent().await;
    let end = memory(Pid::Of(exporter.pid()))?;
    let samples = sampler.finish();
    // Let the periodic save catch up with the last events before measuring the file.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let checkpoint_bytes = std::fs::metadata(&checkpoint).map_or(0, |m| m.len());
    let status = exporter.terminate()?;
    let final_bytes = std::fs::metadata(&checkpoint).map_or(0, |m| m.len());
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&checkpoint).unwrap_or_default()).unwrap_or_default();

    let half = steady_start + (steady_end - steady_start) / 2;
    let steady: Vec<f64> = samples
        .iter()
        .filter(|s| s.at >= half && s.at <= steady_end)
        .map(|s| s.memory.rss_kib as f64)
        .collect();
    let steady_max = steady.iter().copied().fold(0.0, f64::max);
    println!(
        "\n## eks_to_cloudwatch memory: {} live events, then {}/s new for {} s, sink {sink_name}{}\n",
        thousands(cli.events as f64),
        cli.rate,
        cli.steady_secs,
        cli.env
            .iter()
            .map(|(k, v)| format!(", {k}={v}"))
            .collect::<String>()
    );
    println!("| measure | value |\n|---|---:|");
    println!(
        "| initial list of {} events exported in | {:.1} s |",
        thousands(cli.events as f64),
        caught_up.as_secs_f64()
    );
    println!(
        "| exporter CPU (user + sys) from its start to the last listed event acknowledged | {list_cpu:.1} s: **{} events per CPU-second** |",
        thousands(cli.events as f64 / list_cpu.max(1e-9))
    );
    println!(
        "| RSS right after the initial list | {} MiB |",
        mib(after_list.rss_kib)
    );
    println!(
        "| steady RSS, median of the second half | {} MiB |",
        mib(median(&steady).unwrap_or(0.0) as u64)
    );
    println!(
        "| steady RSS, maximum of the second half | {} MiB |",
        mib(steady_max as u64)
    );
    println!(
        "| peak RSS (VmHWM) over the whole run | {} MiB |",
        mib(end.peak_kib)
    );
    println!(
        "| events delivered / created | {} / {} |",
        thousands(delivered as f64),
        thousands(total as f64)
    );
    println!(
        "| checkpoint file while running | {} bytes |",
        thousands(checkpoint_bytes as f64)
    );
    println!(
        "| checkpoint file after SIGTERM | {} bytes, {} events tracked one by one, exit {} |",
        thousands(final_bytes as f64),
        saved["events"].as_object().map_or(0, |m| m.len()),
        status
    );
    println!("\nRSS samples (s, MiB), every 5 s:");
    let mut next = Duration::ZERO;
    for sample in &samples {
        if sample.at >= next {
            print!(
                "{:.0}:{} ",
                sample.at.as_secs_f64(),
                mib(sample.memory.rss_kib)
            );
            next += Duration::from_secs(5);
        }
    }
    println!();
    drop(cloudwatch);
    Ok(())
}
