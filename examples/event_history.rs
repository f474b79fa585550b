//! `kubectl events` for any time range of the kept history, from CloudWatch Logs (one cluster's
//! group, or several clusters' merged) or from the rolling file archive.
//!
//! ```sh
//! cargo run --release --example event_history -- --log-group /event-keeper/prod --region eu-west-1 \
//!     --since 6h --namespace payments --for pod/api-7d9f --types Warning
//! cargo run --release --example event_history -- --cluster prod-eu --cluster prod-us --since 1h -A
//! cargo run --release --example event_history -- --dir /var/lib/event-keeper/archive --since 2d -o wide
//! cargo run --release --example event_history -- --dir ./archive --since 1h --for deploy/api --related
//! cargo run --release --example event_history -- --dir ./archive --since 1h --timeline
//! cargo run --release --example event_history -- --dir ./archive --since 10m --watch
//! ```
//!
//! Everything but the loop is library code: the flags and outputs (`examples::history`), the
//! readers (`sink_cloudwatch::CloudWatchHistory`, `sink_file::FileArchiveHistory`, each with its
//! crate's `history` feature), the query and the table (the `event-history` crate:
//! `event_history::History`, `event_history::Printer`). See `examples/HISTORY.md`.

// jemalloc does not build for MSVC targets.
#[cfg(not(target_env = "msvc"))]
mod allocator;

use std::error::Error;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use event_core::FilterConfig;
use event_core::filter::Predicate;
use event_history::{
    History, HistoryConfig, HistorySource, HistoryStats, Selection, TimeRange, parse_duration,
    parse_time,
};
use examples::history::cli::{Args, Output};
use examples::history::clusters::{self, Clusters};
use examples::history::output::View;
use examples::history::related::Owned;
use futures::{FutureExt, StreamExt};
use sink_cloudwatch::{CloudWatchHistory, CloudWatchSinkConfig, history_client};
use sink_file::FileArchiveHistory;
use sink_stdout::escape_control;

/// Unreadable records reported one by one before only counting them.
const WARNINGS_SHOWN: u64 = 10;

/// Output held before it is written out even though more events are ready: keeps memory flat
/// when the source reads faster than stdout takes it.
const OUTPUT_BUFFER: usize = 64 * 1024;

/// The exit status when the query completed but skipped unreadable input (a corrupt `.gz`, a
/// line that is not a record): what was printed may be incomplete. 1 is an error that stopped
/// the query, 2 a bad flag (clap's).
const EXIT_SKIPPED_INPUT: u8 = 3;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "error".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Args::parse()).await {
        Ok(Outcome::Complete) => ExitCode::SUCCESS,
        Ok(Outcome::Skipped(skipped)) => {
            eprintln!(
                "event_history: completed, but {skipped} unreadable records or files were skipped \
                 (warnings above); the output may be incomplete (exit status {EXIT_SKIPPED_INPUT})"
            );
            ExitCode::from(EXIT_SKIPPED_INPUT)
        }
        Err(error) => {
            // One line, whatever the cause: the chain joined, newlines flattened.
            let mut message = error.to_string();
            let mut cause = error.source();
            while let Some(inner) = cause {
                if !message.contains(&inner.to_string()) {
                    message = format!("{message}: {inner}");
                }
                cause = inner.source();
            }
            eprintln!("error: {}", escape_control(&message));
            ExitCode::FAILURE
        }
    }
}

/// How a query that ran to its end went.
enum Outcome {
    /// Every record in the range was read.
    Complete,
    /// This many unreadable records or files were skipped.
    Skipped(u64),
}

async fn run(args: Args) -> Result<Outcome, Box<dyn Error>> {
    let clock = jiff::Timestamp::now();
    let now = args
        .now
        .as_deref()
        .map_or(Ok(clock), |t| parse_time(t, clock))?;
    let since = parse_time(&args.since, now)?;
    if args.follow && args.output() == Output::Timeline {
        return Err(
            "a timeline is drawn once its range is read; drop --watch, or use -o table".into(),
        );
    }
    // Nothing after the instant the query is anchored at, when it is anchored.
    let until = match (&args.until, &args.now) {
        (Some(until), _) => Some(parse_time(until, now)?),
        (None, Some(_)) if !args.follow => Some(now),
        (None, _) => None,
    };
    let range = TimeRange::new(Some(since), until)?;
    let mut selection = Selection::default()
        .namespaces(args.namespace.clone())
        .types(args.types.clone())
        .reasons(args.reason.clone())
        .kinds(args.kind.clone());
    // With --related the object is one of several: the naming rule of `Owned` picks them.
    if !args.related {
        selection.object.clone_from(&args.object);
    }
    selection.message.clone_from(&args.message);
    if let Some(path) = &args.filter_config {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the filter config {}: {e}", path.display()))?;
        selection.config = Some(FilterConfig::from_json(&text)?);
    }
    let mut keep = selection.compile()?;
    if let (true, Some(object)) = (args.related, &args.object) {
        let owned = Owned::new(object);
        let flags = Arc::clone(&keep);
        keep =
            Arc::new(move |event: &event_core::Event| flags.matches(event) && owned.matches(event));
    }
    let mut config = HistoryConfig::default().range(range);
    if args.follow {
        config = config.follow(parse_duration(&args.poll_interval)?.unsigned_abs());
    }
    let view = View::new(&args, now, since, until);
    if let Some(dir) = &args.dir {
        let source = FileArchiveHistory::open(dir, &args.prefix)?.range(range);
        let what = format!("archive {}", dir.display());
        return print(source, keep, config, view, &what, |e| {
            matches!(e, sink_file::ReadError::List { .. })
        })
        .await;
    }
    // Every group named before any request, so a bad template is the first error.
    let groups = args
        .cluster
        .iter()
        .map(|cluster| clusters::log_group(&args.log_group_template, cluster))
        .collect::<Result<Vec<String>, _>>()?;
    let mut sink_config = CloudWatchSinkConfig::new();
    sink_config.region.clone_from(&args.region);
    sink_config.endpoint_url.clone_from(&args.endpoint_url);
    let client = history_client(&sink_config).await?;
    let fatal =
        |e: &sink_cloudwatch::ReadError| !matches!(e, sink_cloudwatch::ReadError::Parse { .. });
    if let Some(group) = &args.log_group {
        let source = CloudWatchHistory::new(client, group)
            .range(range)
            .select(&selection)
            .concurrency(args.concurrency);
        let what = format!("log group {group}");
        return print(source, keep, config, view, &what, fatal).await;
    }
    let mut sources = Vec::new();
    for (cluster, group) in args.cluster.iter().zip(&groups) {
        let history = CloudWatchHistory::new(client.clone(), group)
            .range(range)
            .select(&selection)
            .concurrency(args.concurrency);
        let history = clusters::source(history, &args.log_group_template, cluster);
        sources.push((cluster.clone(), history));
    }
    let what = format!("log groups {}", groups.join(", "));
    let shared = !args.log_group_template.contains("{cluster}");
    let source = Clusters::new(sources).shared(shared);
    print(source, keep, config, view, &what, fatal).await
}

/// Prints the history of `source`; errors `fatal` says are fatal stop it, others are warned
/// about and skipped.
async fn print<S>(
    source: S,
    keep: Arc<dyn Predicate>,
    config: HistoryConfig,
    mut view: View,
    what: &str,
    fatal: impl Fn(&S::Error) -> bool,
) -> Result<Outcome, Box<dyn Error>>
where
    S: HistorySource + Unpin,
    S::Error: Error + 'static,
{
    let range = config.range;
    let mut history = History::new(source, keep, config);
    let stats = history.stats();
    let progress = Progress::start(stats.clone());
    let mut stdout = std::io::stdout().lock();
    let mut out = Vec::with_capacity(64 * 1024);
    let mut printed = 0u64;
    loop {
        // Write out what is buffered whenever the next event is not there yet.
        let item = match history.next().now_or_never() {
            Some(item) => item,
            None => {
                // A watch has read the range: the table's widths are those of what it read.
                if history.is_waiting() {
                    view.flush(&mut out);
                }
                if !flush(&mut stdout, &mut out, &progress)? {
                    return Ok(Outcome::Complete);
                }
                tokio::select! {
                    item = history.next() => item,
                    _ = tokio::signal::ctrl_c() => break,
                }
            }
        };
        match item {
            Some(Ok(event)) => {
                view.print(&mut out, &event)?;
                printed += 1;
                if out.len() >= OUTPUT_BUFFER && !flush(&mut stdout, &mut out, &progress)? {
                    return Ok(Outcome::Complete);
                }
            }
            Some(Err(error)) if fatal(&error) => {
                progress.stop();
                return Err(error.into());
            }
            Some(Err(error)) => {
                if stats.snapshot().errors <= WARNINGS_SHOWN {
                    progress.clear();
                    // Paths and parse errors can quote what the cluster wrote.
                    eprintln!("warning: skipped: {}", escape_control(&error.to_string()));
                }
            }
            None => break,
        }
    }
    view.finish(&mut out);
    flush(&mut stdout, &mut out, &progress)?;
    progress.stop();
    let summary = stats.snapshot();
    if summary.errors > WARNINGS_SHOWN {
        eprintln!(
            "warning: {} unreadable records skipped in all",
            summary.errors
        );
    }
    if printed == 0 {
        eprintln!(
            "No events found {range} in {} ({} scanned).",
            escape_control(what),
            summary.scanned
        );
    }
    Ok(match summary.errors {
        0 => Outcome::Complete,
        skipped => Outcome::Skipped(skipped),
    })
}

/// Writes `out` to stdout; `false` once the reader went away (`| head`).
fn flush(stdout: &mut impl Write, out: &mut Vec<u8>, progress: &Progress) -> std::io::Result<bool> {
    if out.is_empty() {
        return Ok(true);
    }
    progress.clear();
    let written = stdout.write_all(out).and_then(|()| stdout.flush());
    out.clear();
    match written {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        other => other.map(|()| true),
    }
}

/// A progress line on stderr, only when stderr is a terminal and the first read takes more
/// than a moment: scanned and matched counts and the time reached.
struct Progress {
    shown: Arc<std::sync::atomic::AtomicBool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Progress {
    fn start(stats: HistoryStats) -> Self {
        let shown = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let task = std::io::stderr().is_terminal().then(|| {
            let shown = Arc::clone(&shown);
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_secs(1)).await;
                // Only the first read: when following, new events speak for themselves.
                while stats.snapshot().reads <= 1 {
                    eprint!("\r\x1b[2K{}", stats.snapshot());
                    shown.store(true, std::sync::atomic::Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            })
        });
        Progress { shown, task }
    }

    fn clear(&self) {
        if self.shown.swap(false, std::sync::atomic::Ordering::Relaxed) {
            eprint!("\r\x1b[2K");
        }
    }

    fn stop(&self) {
        if let Some(task) = &self.task {
            task.abort();
        }
        self.clear();
    }
}
