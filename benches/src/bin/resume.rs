//! Resume time of the `eks_to_cloudwatch` binary: 100,000 live events, a checkpoint holding
//! 99,000 of them (the exporter exported 99,000, then stopped), 1,000 created while it was
//! down. Measured from spawning the process to the 1,000th new line at its sink, then checked
//! that exactly those 1,000 occurrences were sent.
//!
//! ```sh
//! cargo build --release -p examples --example eks_to_cloudwatch
//! cargo run --release -p benches --bin resume
//! ```
//!
//! Each round stops the exporter with SIGTERM (it drains and saves its checkpoint), creates
//! `--missed` events, and starts it again on the same checkpoint. `watch` rounds resume with a
//! watch from the checkpoint's resourceVersion; `relist` rounds first compact the server's
//! history, as etcd does after a long downtime, so the exporter gets 410 Gone and relists every
//! live event, skipping what its checkpoint covers.

use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, Instant};

use benches::cluster;
use benches::exporter::{Output, Run, binary};
use benches::fixtures::Group;
use benches::machine::Machine;
use benches::stats::thousands;
use clap::Parser;
use testkit::{EventRef, SimConfig};

#[derive(Parser, Debug)]
#[command(about = "Resume time of eks_to_cloudwatch from a checkpoint")]
struct Cli {
    /// Live events after the downtime.
    #[arg(long, default_value_t = 100_000)]
    events: usize,
    /// Events created while the exporter was down (at least 1).
    #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u32).range(1..))]
    missed: u32,
    /// Rounds of each kind (watch, then relist).
    #[arg(long, default_value_t = 2)]
    rounds: usize,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// One restart and what it did.
struct Round {
    kind: &'static str,
    live: usize,
    checkpoint_bytes: u64,
    startup: Duration,
    caught_up: Duration,
    sent: usize,
    exact: bool,
    /// 410 Gone answers the exporter counted.
    gone: u64,
    /// Lists it made.
    relists: u64,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let cli = Cli::parse();
    let missed_n = cli.missed as usize;
    println!("machine: {}", Machine::detect());
    let exporter_bin = binary()?;
    let first = cli.events.saturating_sub(missed_n);
    // Room in the history for every resume of every round.
    let total = cli.events + 2 * cli.rounds * missed_n;
    let loaded = cluster::loaded(
        first,
        Group::CoreV1,
        SimConfig::default().history_window(total),
    )
    .await?;
    let dir = tempfile::tempdir()?;
    let kubeconfig = dir.path().join("kubeconfig");
    loaded.cluster.write_kubeconfig(&kubeconfig)?;
    let checkpoint = dir.path().join("checkpoint.json");
    let run = |output: &Path| Run {
        kubeconfig: kubeconfig.clone(),
        checkpoint: checkpoint.clone(),
        checkpoint_interval_secs: 1.0,
        output: Output::Stdout(output.to_path_buf()),
        dir: dir.path().to_path_buf(),
        env: Vec::new(),
    };

    // The first run exports every live event, then stops.
    let out = dir.path().join("initial.jsonl");
    let exporter = run(&out).start(&exporter_bin).await?;
    let initial = wait_for_lines(&out, first, Duration::from_secs(600))
        .await?
        .duration_since(exporter.started());
    let status = exporter.terminate()?;
    println!(
        "\ninitial export: {} events in {:.1} s ({} events/s), exit {status}",
        thousands(first as f64),
        initial.as_secs_f64(),
        thousands(first as f64 / initial.as_secs_f64().max(1e-9))
    );

    let mut live = first;
    let mut rounds = Vec::new();
    for (i, kind) in std::iter::repeat_n("watch", cli.rounds)
        .chain(std::iter::repeat_n("relist", cli.rounds))
        .enumerate()
    {
        let mut missed = cluster::load(&loaded.cluster, Group::CoreV1, live, missed_n - 1)?;
        if kind == "relist" {
            // After all but one of the missed events: the saved resourceVersion is then older
            // than the compaction, so the resumed watch gets 410 Gone. The last one is written
            // after it because the simulated server refuses every continue token of a list
            // taken at the very resourceVersion of a compaction.
            loaded.cluster.compact();
        }
        let last = live + missed_n - 1;
        missed.extend(cluster::load(&loaded.cluster, Group::CoreV1, last, 1)?);
        live += missed_n;
        let checkpoint_bytes = std::fs::metadata(&checkpoint).map_or(0, |m| m.len());
        let out = dir.path().join(format!("round-{i}.jsonl"));
        let spawned = Instant::now();
        let exporter = run(&out).start(&exporter_bin).await?;
        let startup = spawned.elapsed();
        let done = wait_for_lines(&out, missed_n, Duration::from_secs(300)).await?;
        let caught_up = done.duration_since(spawned);
        // Anything sent twice or not missed would arrive within this.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let gone = exporter
            .metric("event_keeper_watch_gone_total")
            .await
            .unwrap_or(0.0);
        let relists = exporter
            .metric("event_keeper_watch_relists_total")
            .await
            .unwrap_or(0.0);
        exporter.terminate()?;
        let (sent, exact) = check(&out, &missed)?;
        rounds.push(Round {
            kind,
            live,
            checkpoint_bytes,
            startup,
            caught_up,
            sent,
            exact,
            gone: gone as u64,
            relists: relists as u64,
        });
    }

    println!(
        "\n## Resume: {} missed events, each round on top of the last\n",
        missed_n
    );
    println!(
        "| round | live events | checkpoint before | /metrics up after | caught up after | occurrences sent | exactly the missed ones | 410 Gone / lists |"
    );
    println!("|---|---:|---:|---:|---:|---:|---|---|");
    for r in &rounds {
        println!(
            "| {} | {} | {} bytes | {:.2} s | {:.2} s | {} | {} | {} / {} |",
            r.kind,
            thousands(r.live as f64),
            thousands(r.checkpoint_bytes as f64),
            r.startup.as_secs_f64(),
            r.caught_up.as_secs_f64(),
            thousands(r.sent as f64),
            if r.exact { "yes" } else { "NO" },
            r.gone,
            r.relists
        );
    }
    Ok(())
}

/// Waits until `path` holds `lines` lines, reading only what was appended since the last
/// look; returns when it saw them.
async fn wait_for_lines(path: &Path, lines: usize, bound: Duration) -> Result<Instant, BoxError> {
    use std::io::Read;
    let start = Instant::now();
    let mut file = None;
    let mut count = 0;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        if file.is_none() {
            file = std::fs::File::open(path).ok();
        }
        if let Some(f) = file.as_mut() {
            loop {
                let n = f.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                count += buf[..n].iter().filter(|&&c| c == b'\n').count();
            }
        }
        if count >= lines {
            return Ok(Instant::now());
        }
        if start.elapsed() > bound {
            return Err(format!("only {count} of {lines} lines in {bound:?}").into());
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// How many occurrences `path` holds, and whether they are exactly `missed`, once each.
fn check(path: &Path, missed: &[EventRef]) -> Result<(usize, bool), BoxError> {
    let text = std::fs::read_to_string(path)?;
    let mut keys = HashSet::new();
    let mut sent = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let event: event_core::Event = serde_json::from_str(line)?;
        keys.insert((event.uid, event.resource_version));
        sent += 1;
    }
    let expected: HashSet<(String, String)> = missed
        .iter()
        .map(|e| (e.uid.clone(), e.resource_version.clone()))
        .collect();
    Ok((sent, sent == missed.len() && keys == expected))
}
