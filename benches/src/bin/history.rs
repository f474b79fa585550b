//! `event_history` reading a day back: the release binary run over a file archive and over
//! CloudWatch Logs (moto behind the strict proxy), timed, its peak RSS and its requests counted,
//! and its output checked.
//!
//! ```sh
//! cargo build --release -p examples --example event_history
//! cargo run --release -p benches --bin history                      # both parts (moto for the second)
//! cargo run --release -p benches --bin history -- --cloudwatch 0    # the archive only
//! cargo run --release -p benches --bin history -- --records 0       # CloudWatch only
//! ```
//!
//! 1. Archive: `--records` occurrences (default 1,000,000) over the 24 hours before the run,
//!    written by `FileSink` itself (hourly files, gzip once closed, no fsync), its clock moved
//!    to each batch's time, in batches of 500. Every 50th batch is sent twice, as a resend
//!    after a timeout stores it, so 2 % of the lines are repeats. The events are the recorded
//!    core/v1 and events.k8s.io/v1 streams replicated with their own uid and resourceVersion;
//!    within a batch they are a few seconds out of order, as a pipeline's batches mix them.
//!    Then `event_history --dir … --since 24h --now … -A` is run with `-o json` and with the
//!    default table, its stdout drained by this process: wall time, records/s and peak RSS
//!    (`VmHWM`, sampled every 5 ms). The JSON output is spooled to a temporary file and
//!    checked once the binary has exited: oldest first, each occurrence (uid +
//!    resourceVersion) once, as many as were written.
//! 2. CloudWatch: `--cloudwatch` occurrences (default 100,000) over the last 24 hours (ending
//!    30 minutes ago: moto takes nothing older than 14 days), stored by `CloudWatchSink`
//!    (one log stream per namespace), then read with `event_history --log-group … -o json`
//!    through a strict proxy of its own, which counts the requests by API call. The output is
//!    checked as for the archive.
//!
//! The binary is `examples/event_history` beside this one, or `$BENCH_EVENT_HISTORY`.
//!
//! One file past 400 lines: both parts share the occurrences, the run of the binary and the
//! check of its output.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use benches::fixtures::{self, Group};
use benches::machine::Machine;
use benches::process::{Pid, Sampler, cpu_seconds};
use benches::stats::{mib, rate, thousands};
use benches::work::normalize;
use clap::Parser;
use event_core::clock::Clock;
use event_core::{Event, Sink};
use jiff::{SignedDuration, Timestamp};
use sink_cloudwatch::{CloudWatchSink, CloudWatchSinkConfig};
use sink_file::{FileSink, FileSinkConfig, FsyncPolicy};
use testkit::cloudwatch::{StrictProxy, client};
use testkit::moto::Moto;

#[derive(Parser, Debug)]
#[command(about = "event_history over a day of file archive and of CloudWatch Logs")]
struct Cli {
    /// Occurrences in the file archive (0 to skip it).
    #[arg(long, default_value_t = 1_000_000)]
    records: usize,
    /// Occurrences in CloudWatch (0 to skip it).
    #[arg(long, default_value_t = 100_000)]
    cloudwatch: usize,
    /// Write the archive here and keep it (default: a temporary directory).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Read an archive this bench wrote before into --dir, with the same --records, instead of
    /// writing it again.
    #[arg(long, requires = "dir")]
    reuse: bool,
    /// More flags for each `event_history` run, e.g. `--extra=--concurrency=1` with
    /// `--records 0` (the archive takes no --concurrency).
    #[arg(long, allow_hyphen_values = true)]
    extra: Vec<String>,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The environment variable naming the binary.
const BINARY_ENV: &str = "BENCH_EVENT_HISTORY";

/// Events per batch, as the pipeline sends them by default.
const BATCH: usize = 500;

/// Every this many batches, one is stored twice.
const RESEND_EVERY: usize = 50;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let cli = Cli::parse();
    let binary = binary()?;
    println!("machine: {}", Machine::detect());
    println!("binary: {}", binary.display());
    if cli.records > 0 {
        archive(&cli, &binary).await?;
    }
    if cli.cloudwatch > 0 {
        cloudwatch(&cli, &binary).await?;
    }
    Ok(())
}

fn binary() -> Result<PathBuf, BoxError> {
    benches::example::locate("event_history", BINARY_ENV).map_err(|path| {
        format!(
            "event_history is not built at {}: run `cargo build --release -p examples --example event_history` (or set {BINARY_ENV})",
            path.display()
        )
        .into()
    })
}

/// The recorded events of both APIs, normalized as the pipeline stores them.
fn templates() -> Vec<Event> {
    Group::ALL
        .into_iter()
        .flat_map(|group| {
            fixtures::recorded(group)
                .into_iter()
                .filter_map(move |line| normalize(group, line))
        })
        .collect()
}

/// Occurrence `i` of `n` spread over the day from `start`: template `i`, its own identity,
/// last seen at its place in the day, and up to 5 s out of order.
fn occurrence(templates: &[Event], i: usize, n: usize, start: Timestamp) -> Event {
    let mut event = templates[i % templates.len()].clone();
    event.uid = fixtures::uid(i as u64);
    event.resource_version = (fixtures::FIRST_RESOURCE_VERSION + i as u64).to_string();
    // Whole milliseconds, as CloudWatch keeps them; a jitter of 0–5 s within a batch.
    let day_ms = 86_400_000_i64 - 20_000;
    let at_ms = 10_000 + (i as i64) * day_ms / (n as i64) - ((i * 7919) % 5000) as i64;
    let at = start + SignedDuration::from_millis(at_ms.max(1));
    event.first_seen = at - SignedDuration::from_mins((i % 30) as i64);
    event.last_seen = at;
    event
}

async fn archive(cli: &Cli, binary: &Path) -> Result<(), BoxError> {
    let n = cli.records;
    let temp = tempfile::tempdir()?;
    let dir = cli.dir.clone().unwrap_or_else(|| temp.path().to_owned());
    // A fixed day, so that a kept archive can be read again with --reuse.
    let end: Timestamp = "2026-12-01T00:00:00Z".parse()?;
    let start = end - SignedDuration::from_hours(24);
    println!(
        "\n## event_history over a 24 h file archive of {} records\n",
        thousands(n as f64)
    );
    if !cli.reuse {
        let written = Instant::now();
        let lines = write_archive(&dir, n, start).await?;
        let (files, bytes) = size(&dir)?;
        println!(
            "archive: {} lines ({} repeats) in {files} files, {:.1} MiB on disk, written in {:.1} s",
            thousands(lines as f64),
            thousands((lines - n) as f64),
            bytes as f64 / 1_048_576.0,
            written.elapsed().as_secs_f64()
        );
    }
    let now = end.to_string();
    let base = [
        "--dir".to_owned(),
        dir.display().to_string(),
        "--since".to_owned(),
        "24h".to_owned(),
        "--now".to_owned(),
        now,
        "-A".to_owned(),
    ];
    println!();
    println!(
        "| output | records | wall | records/s | CPU | records per CPU-second | peak RSS | output bytes | checked |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---|");
    for output in ["json", "table"] {
        let mut args = base.to_vec();
        if output == "json" {
            args.extend(["-o".to_owned(), "json".to_owned()]);
        }
        args.extend(cli.extra.iter().cloned());
        let run = run(binary, &args, &[], output == "json")?;
        let checked = match output {
            "json" => run.check(n)?,
            _ => {
                let rows = run.lines.saturating_sub(1);
                if rows != n as u64 {
                    return Err(format!("the table has {rows} rows, {n} expected").into());
                }
                format!("{} rows", thousands(rows as f64))
            }
        };
        println!(
            "| {output} | {} | {:.2} s | **{}** | {:.2} s | {} | **{} MiB** | {} | {checked} |",
            thousands(n as f64),
            run.wall.as_secs_f64(),
            thousands(rate(n as u64, run.wall)),
            run.cpu,
            thousands(n as f64 / run.cpu.max(f64::EPSILON)),
            mib(run.peak_kib),
            thousands(run.bytes as f64),
        );
    }
    Ok(())
}

/// Writes `n` occurrences through `FileSink` over the day from `start`; returns the lines
/// stored (repeats included).
async fn write_archive(dir: &Path, n: usize, start: Timestamp) -> Result<usize, BoxError> {
    let templates = templates();
    let clock_ms = Arc::new(AtomicI64::new(start.as_millisecond()));
    let read = Arc::clone(&clock_ms);
    let clock = Clock::from_fn(move || {
        Timestamp::from_millisecond(read.load(Ordering::Relaxed)).unwrap_or(Timestamp::UNIX_EPOCH)
    });
    let config = FileSinkConfig::new(dir)
        .compress(true)
        .fsync(FsyncPolicy::Never);
    let mut sink = FileSink::with_clock(config, clock)?;
    sink.health_check().await?;
    let mut lines = 0;
    for (b, first) in (0..n).step_by(BATCH).enumerate() {
        let batch: Vec<Event> = (first..(first + BATCH).min(n))
            .map(|i| occurrence(&templates, i, n, start))
            .collect();
        // Written a moment after the newest of the batch was last seen.
        let newest = batch.iter().map(|e| e.last_seen).max().unwrap_or(start);
        clock_ms.store(newest.as_millisecond() + 200, Ordering::Relaxed);
        sink.send(&batch).await?;
        lines += batch.len();
        if b % RESEND_EVERY == RESEND_EVERY - 1 {
            sink.send(&batch).await?;
            lines += batch.len();
        }
    }
    sink.flush().await?;
    Ok(lines)
}

fn size(dir: &Path) -> std::io::Result<(usize, u64)> {
    let mut files = 0;
    let mut bytes = 0;
    for entry in std::fs::read_dir(dir)? {
        files += 1;
        bytes += entry?.metadata()?.len();
    }
    Ok((files, bytes))
}

/// One run of the binary.
struct Run {
    wall: Duration,
    /// User and system CPU seconds of the child.
    cpu: f64,
    peak_kib: u64,
    lines: u64,
    bytes: u64,
    /// (uid, resourceVersion, lastSeen) of each JSON line, when kept.
    records: Vec<(String, String, Timestamp)>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record<'a> {
    #[serde(borrow)]
    uid: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    resource_version: std::borrow::Cow<'a, str>,
    last_seen: Timestamp,
}

impl Run {
    /// Oldest first, each occurrence once, `n` of them.
    fn check(&self, n: usize) -> Result<String, BoxError> {
        let mut seen = HashSet::with_capacity(self.records.len());
        let mut previous = None;
        for (i, (uid, rv, at)) in self.records.iter().enumerate() {
            if previous.is_some_and(|p| p > *at) {
                return Err(format!(
                    "record {i} ({uid}/{rv} at {at}) is older than the one before"
                )
                .into());
            }
            previous = Some(*at);
            if !seen.insert((uid.as_str(), rv.as_str())) {
                return Err(format!("{uid}/{rv} printed twice").into());
            }
        }
        if self.records.len() != n {
            return Err(format!("{} records printed, {n} written", self.records.len()).into());
        }
        Ok("oldest first, each once, all".to_owned())
    }
}

/// Runs the binary with `args`, draining its stdout, and decoding it when `json`.
///
/// The JSON is spooled to a temporary file as it comes and decoded once the binary has exited:
/// decoding it on the fly took a core of this 2-core machine from the binary measured.
fn run(binary: &Path, args: &[String], env: &[(&str, &str)], json: bool) -> Result<Run, BoxError> {
    let started = Instant::now();
    let mut child = Command::new(binary)
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let sampler = Sampler::start(child.id(), Duration::from_millis(5));
    let mut stdout = child.stdout.take().ok_or("no stdout")?;
    let mut spool = if json {
        Some(tempfile::tempfile()?)
    } else {
        None
    };
    let (mut lines, mut bytes) = (0u64, 0u64);
    let mut buffer = vec![0; 1 << 20];
    loop {
        let read = stdout.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        bytes += read as u64;
        lines += buffer[..read].iter().filter(|b| **b == b'\n').count() as u64;
        if let Some(spool) = &mut spool {
            spool.write_all(&buffer[..read])?;
        }
    }
    // Read once it has exited and before it is reaped: a zombie's CPU times are final.
    let wall = started.elapsed();
    let cpu = exited_cpu(child.id());
    let status = child.wait()?;
    let samples = sampler.finish();
    if !status.success() {
        return Err(format!("event_history exited with {status}").into());
    }
    let records = match spool {
        Some(spool) => decode(spool)?,
        None => Vec::new(),
    };
    let peak_kib = samples.iter().map(|s| s.memory.peak_kib).max().unwrap_or(0);
    Ok(Run {
        wall,
        cpu,
        peak_kib,
        lines,
        bytes,
        records,
    })
}

/// The identity and time of every JSON record in `spool`, in order.
fn decode(mut spool: std::fs::File) -> Result<Vec<(String, String, Timestamp)>, BoxError> {
    spool.seek(SeekFrom::Start(0))?;
    let mut reader = BufReader::with_capacity(1 << 20, spool);
    let mut records = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(records);
        }
        let record: Record<'_> = serde_json::from_slice(&line)?;
        records.push((
            record.uid.into_owned(),
            record.resource_version.into_owned(),
            record.last_seen,
        ));
    }
}

/// The CPU seconds of child `pid` once it has exited (is a zombie), waiting up to 5 s.
fn exited_cpu(pid: u32) -> f64 {
    let stat = format!("/proc/{pid}/stat");
    for _ in 0..5000 {
        let exited = match std::fs::read_to_string(&stat) {
            Ok(s) => s
                .rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
            Err(_) => true,
        };
        if exited {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    cpu_seconds(Pid::Of(pid)).unwrap_or(0.0)
}

async fn cloudwatch(cli: &Cli, binary: &Path) -> Result<(), BoxError> {
    let n = cli.cloudwatch;
    let moto = match Moto::start().await {
        Ok(moto) => moto,
        Err(error) => {
            println!("skipping CloudWatch: {error}");
            return Ok(());
        }
    };
    let end = Timestamp::now().round(jiff::Unit::Second)? - SignedDuration::from_mins(30);
    let start = end - SignedDuration::from_hours(24);
    let group = "/bench/history";
    println!(
        "\n## event_history over CloudWatch Logs (moto): {} records\n",
        thousands(n as f64)
    );
    let writer = StrictProxy::start(&moto.endpoint()).await?;
    let config = CloudWatchSinkConfig::new().log_group(group);
    let mut sink = CloudWatchSink::from_client(client(&writer.endpoint()).await, config)?;
    let templates = templates();
    let written = Instant::now();
    for first in (0..n).step_by(10_000) {
        let batch: Vec<Event> = (first..(first + 10_000).min(n))
            .map(|i| occurrence(&templates, i, n, start))
            .collect();
        sink.send(&batch).await?;
    }
    let stored = writer.stats();
    println!(
        "stored: {} events in {} PutLogEvents calls, {} log streams, in {:.1} s",
        thousands(stored.events_stored as f64),
        stored.put_log_events_calls,
        stored.calls("CreateLogStream"),
        written.elapsed().as_secs_f64()
    );
    println!();
    println!(
        "| flags | records | wall | records/s | CPU | peak RSS | requests by API call | checked |"
    );
    println!("|---|---:|---:|---:|---:|---:|---|---|");
    let reader = StrictProxy::start(&moto.endpoint()).await?;
    let mut args = vec![
        "--log-group".to_owned(),
        group.to_owned(),
        "--endpoint-url".to_owned(),
        reader.endpoint(),
        "--since".to_owned(),
        "25h".to_owned(),
        "--now".to_owned(),
        (end + SignedDuration::from_mins(1)).to_string(),
        "-A".to_owned(),
        "-o".to_owned(),
        "json".to_owned(),
    ];
    args.extend(cli.extra.iter().cloned());
    let env = [
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_CONFIG_FILE", "/dev/null"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
    ];
    let run = run(binary, &args, &env, true)?;
    let checked = run.check(n)?;
    let calls = reader.stats();
    let by_call: Vec<String> = calls
        .operations
        .iter()
        .map(|(operation, count)| format!("{operation} {count}"))
        .collect();
    println!(
        "| {} | {} | {:.2} s | **{}** | {:.2} s | {} MiB | {} | {checked} |",
        if cli.extra.is_empty() {
            "(defaults)".to_owned()
        } else {
            cli.extra.join(" ")
        },
        thousands(n as f64),
        run.wall.as_secs_f64(),
        thousands(rate(n as u64, run.wall)),
        run.cpu,
        mib(run.peak_kib),
        by_call.join(", "),
    );
    Ok(())
}
