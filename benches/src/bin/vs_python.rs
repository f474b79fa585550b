//! Event Keeper beside the original Python approach (the `kubernetes` client's watch), in one
//! run, on the same bytes and against the same simulated API server.
//!
//! `cargo run --release -p benches --bin vs_python`
//!
//! 1. Decode path: recorded core/v1 watch lines (~1 KB each, replicated with distinct uids and
//!    resourceVersions) written to a file. Rust decodes them as kube-rs does and runs the whole
//!    per-event work, in a loop and through a `Pipeline`; Python runs `json.loads` and
//!    `Watch().unmarshal_event` on the same file (`benches/python/decode.py`). One core each.
//! 2. End to end: a `SimCluster` in this process holds the events; each consumer runs in a
//!    process of its own pinned to the other core: this binary's `consume` subcommand
//!    (`EventStream` → filter → `Pipeline` → null sink, with a ledger and a file checkpoint),
//!    and `benches/python/watch_stream.py` (`watch.Watch().stream(list_event_for_all_namespaces)`
//!    via a kubeconfig from `SimCluster::write_kubeconfig`). Rates are per CPU-second of the
//!    consumer, so per core; memory is the consumer's peak RSS.
//!
//! Without Python or the `kubernetes` package the Python half is skipped with a message.
//! `--callgrind DIR` runs the Rust consumers under valgrind's callgrind and prints the
//! instructions each took per event, the figure to compare two commits by on a noisy machine.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use benches::consumer::{ConsumerReport, Start, consume};
use benches::fixtures::{Group, replicate, to_stream};
use benches::machine::Machine;
use benches::pin;
use benches::python::{Python, PythonError};
use benches::stats::{mib, thousands};
use benches::work::{Filtering, best_rate, decode_only, parse_value, process, run_pipeline};
use benches::{callgrind, cluster};
use clap::{Parser, Subcommand};
use event_core::PipelineConfig;
use testkit::SimConfig;

#[derive(Parser, Debug)]
#[command(about = "Event Keeper beside the Python kubernetes client, decode path and end to end")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Watch lines for the decode path.
    #[arg(long, default_value_t = 20_000)]
    decode_events: usize,
    /// Events in the simulated cluster for the end-to-end runs.
    #[arg(long, default_value_t = 100_000)]
    e2e_events: usize,
    /// Seconds each Python decode measurement runs for (at least two passes).
    #[arg(long, default_value_t = 3.0)]
    python_seconds: f64,
    /// Run each Rust consumer of the end-to-end runs under valgrind's callgrind, its profile
    /// written into this directory, and print the instructions it took per event: steadier
    /// than its CPU time on a shared machine (the consumer runs about 50 times slower).
    #[arg(long, value_name = "DIR")]
    callgrind: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// The Rust consumer of an end-to-end run (started by the bench itself).
    Consume {
        /// Events to wait for.
        #[arg(long)]
        expect: u64,
        /// Resume from this resourceVersion (a watch replays everything after it); without it
        /// the consumer lists, then watches.
        #[arg(long)]
        from: Option<u64>,
        /// Where the checkpoint is saved.
        #[arg(long)]
        checkpoint: PathBuf,
    },
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), BoxError> {
    let cli = Cli::parse();
    if let Some(Command::Consume {
        expect,
        from,
        checkpoint,
    }) = cli.command
    {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let start = from.map_or(Start::List, Start::WatchFrom);
        let report = runtime.block_on(consume(
            Group::CoreV1,
            start,
            expect,
            &checkpoint,
            Duration::from_secs(300),
        ))?;
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    println!("machine: {}", Machine::detect());
    // The harness (and the simulated server) on core 0, every measured consumer on core 1.
    let pinned = pin::available() && pin::pin_self("0");
    if !pinned {
        println!("note: taskset is missing or failed; processes are not pinned to cores");
    }
    let python = match Python::find() {
        Ok(python) => {
            println!(
                "python {} with kubernetes {}",
                python.version, python.kubernetes
            );
            Some(python)
        }
        Err(error) => {
            println!("skipping the Python half: {error}");
            None
        }
    };
    decode_path(&cli, python.as_ref())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    runtime.block_on(end_to_end(&cli, python.as_ref()))
}

fn decode_path(cli: &Cli, python: Option<&Python>) -> Result<(), BoxError> {
    let group = Group::CoreV1;
    let lines = replicate(group, cli.decode_events);
    let bytes = to_stream(&lines);
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("watch-core-v1.jsonl");
    std::fs::write(&file, &bytes)?;
    let n = lines.len() as u64;
    println!(
        "\n## Decode path: {} core/v1 watch lines, {} bytes ({} per line), one core",
        n,
        bytes.len(),
        bytes.len() as u64 / n.max(1)
    );
    // The measured work runs on core 1, like the consumers.
    let on_one = pin::available() && pin::pin_self("1");
    let filter = Filtering::KeepAll.compile()?;
    let mut out = Vec::with_capacity(4096);
    let typed = best_rate(5, n, || {
        std::hint::black_box(lines.iter().map(|l| decode_only(group, l)).sum::<usize>());
    });
    let value = best_rate(5, n, || {
        std::hint::black_box(lines.iter().map(|l| parse_value(l)).sum::<usize>());
    });
    let looped = best_rate(5, n, || {
        let kept = lines
            .iter()
            .filter(|l| process(group, l, &filter, &mut out))
            .count();
        std::hint::black_box(kept);
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let shared = Arc::new(lines);
    let piped = best_rate(5, n, || {
        let sent = runtime.block_on(run_pipeline(
            group,
            shared.clone(),
            filter.clone(),
            PipelineConfig::default(),
        ));
        std::hint::black_box(sent.ok());
    });
    if on_one {
        pin::pin_self("0");
    }
    println!("\n| decoder | events/s |\n|---|---:|");
    println!(
        "| Rust: `serde_json` into `WatchEvent<Event>` (kube-rs's decode) | {} |",
        thousands(typed)
    );
    println!("| Rust: `serde_json::Value` | {} |", thousands(value));
    println!(
        "| Rust: decode + normalize + filter + serialize, plain loop | {} |",
        thousands(looped)
    );
    println!(
        "| Rust: the same through `Pipeline` into a null sink | {} |",
        thousands(piped)
    );
    let Some(python) = python else {
        return Ok(());
    };
    let command = python.command(
        "decode.py",
        [
            file.as_os_str(),
            "core-v1".as_ref(),
            cli.python_seconds.to_string().as_ref(),
        ],
    );
    let output = pin::on_cores("1", command)
        .stderr(Stdio::inherit())
        .output()?;
    let report: serde_json::Value = serde_json::from_slice(
        output
            .stdout
            .split(|&b| b == b'\n')
            .rfind(|l| !l.is_empty())
            .unwrap_or_default(),
    )
    .map_err(|source| PythonError::Output {
        script: "decode.py".into(),
        source,
    })?;
    let loads = report["json_loads_per_s"].as_f64().unwrap_or(0.0);
    let unmarshal = report["unmarshal_event_per_s"].as_f64().unwrap_or(0.0);
    println!("| Python: `json.loads` | {} |", thousands(loads));
    println!(
        "| Python: `Watch().unmarshal_event` (the client's watch decode) | {} |",
        thousands(unmarshal)
    );
    println!(
        "\nRust pipeline / Python unmarshal_event: {:.1}x; Rust decode / json.loads: {:.1}x",
        piped / unmarshal.max(1.0),
        typed / loads.max(1.0)
    );
    Ok(())
}

async fn end_to_end(cli: &Cli, python: Option<&Python>) -> Result<(), BoxError> {
    let n = cli.e2e_events;
    let loaded = cluster::loaded(
        n,
        Group::CoreV1,
        SimConfig::default().bookmark_interval(None),
    )
    .await?;
    let dir = tempfile::tempdir()?;
    let kubeconfig = dir.path().join("kubeconfig");
    loaded.cluster.write_kubeconfig(&kubeconfig)?;
    println!(
        "\n## End to end: {} core/v1 events in a simulated API server, each consumer a process on one core\n",
        n
    );
    println!(
        "| consumer | events | wall s | events/s (wall) | CPU s | events per CPU-second | peak RSS MiB |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let exe = std::env::current_exe()?;
    if let Some(dir) = &cli.callgrind {
        if !callgrind::available() {
            return Err(
                "--callgrind needs valgrind: install it (Debian: apt-get install valgrind)".into(),
            );
        }
        std::fs::create_dir_all(dir)?;
        println!(
            "(the Rust consumers run under callgrind: their rates and memory are callgrind's; compare the instructions below)\n"
        );
    }
    let mut rust = Vec::new();
    let mut counted = Vec::new();
    for (label, from) in [
        ("Rust: resume watch (replays all)", Some(loaded.before)),
        ("Rust: fresh start (list, then watch)", None),
    ] {
        let profile = cli
            .callgrind
            .as_ref()
            .map(|dir| dir.join(format!("consumer-{}.callgrind", rust.len())));
        let mut command = match &profile {
            Some(out) => callgrind::wrap(&exe, out),
            None => std::process::Command::new(&exe),
        };
        command
            .arg("consume")
            .arg("--expect")
            .arg(n.to_string())
            .arg("--checkpoint")
            .arg(dir.path().join(format!("checkpoint-{}.json", rust.len())))
            .env("KUBECONFIG", &kubeconfig)
            .env_remove("RUST_LOG");
        if let Some(rv) = from {
            command.arg("--from").arg(rv.to_string());
        }
        let report: ConsumerReport = run_json(pin::on_cores("1", command)).await?;
        print_row(label, &report);
        if let Some(out) = profile {
            let total = callgrind::total_instructions(&std::fs::read_to_string(&out)?)
                .ok_or_else(|| format!("{} has no totals line", out.display()))?;
            counted.push((label, total, report.events, out));
        }
        rust.push(report);
    }
    for (label, total, events, out) in counted {
        println!(
            "callgrind: {label}: {} instructions, {} per event ({})",
            thousands(total as f64),
            thousands(total as f64 / events.max(1) as f64),
            out.display()
        );
    }
    let Some(python) = python else {
        return Ok(());
    };
    let command = python.command(
        "watch_stream.py",
        [
            kubeconfig.as_os_str(),
            "core-v1".as_ref(),
            n.to_string().as_ref(),
        ],
    );
    let report: ConsumerReport = run_json(pin::on_cores("1", command)).await?;
    print_row(
        "Python: `watch.Watch().stream(list_event_for_all_namespaces)`",
        &report,
    );
    let per_cpu = |r: &ConsumerReport| r.events as f64 / r.cpu_seconds.max(1e-9);
    if let Some(best) = rust.first() {
        println!(
            "\nRust (resume watch) / Python: {:.1}x events per CPU-second, {:.2}x the peak memory",
            per_cpu(best) / per_cpu(&report).max(1e-9),
            best.peak_rss_kib as f64 / report.peak_rss_kib.max(1) as f64
        );
    }
    Ok(())
}

/// Runs a consumer process to its end and parses the JSON object it prints last.
async fn run_json(command: std::process::Command) -> Result<ConsumerReport, BoxError> {
    let mut command = tokio::process::Command::from(command);
    let output = command
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .await?;
    if !output.status.success() {
        return Err(format!("a consumer failed with {}", output.status).into());
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout
        .lines()
        .rfind(|l| !l.trim().is_empty())
        .unwrap_or_default();
    Ok(serde_json::from_str(last)?)
}

fn print_row(label: &str, r: &ConsumerReport) {
    println!(
        "| {label} | {} | {:.2} | {} | {:.2} | {} | {} |",
        r.events,
        r.seconds,
        thousands(r.events as f64 / r.seconds.max(1e-9)),
        r.cpu_seconds,
        thousands(r.events as f64 / r.cpu_seconds.max(1e-9)),
        mib(r.peak_rss_kib)
    );
}
