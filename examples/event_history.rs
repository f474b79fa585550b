//! `kubectl get events` for any time range of the kept history, from CloudWatch Logs or from
//! the rolling file archive.
//!
//! ```sh
//! cargo run --release --example event_history -- --log-group /event-keeper/prod --region eu-west-1 \
//!     --since 6h --namespace payments --for pod/api-7d9f --type Warning
//! cargo run --release --example event_history -- --dir /var/lib/event-keeper/archive --since 2d -o wide
//! cargo run --release --example event_history -- --dir ./archive --since 10m --follow
//! ```
//!
//! Everything but the flags is library code: the readers (`sink_cloudwatch::CloudWatchHistory`,
//! `sink_file::FileArchiveHistory`), the query (`event_core::history`) and the table
//! (`sink_stdout::Printer`). See `examples/HISTORY.md`.

use std::error::Error;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{ArgGroup, Parser, ValueEnum};
use event_core::FilterConfig;
use event_core::filter::Predicate;
use event_core::history::{
    History, HistoryConfig, HistorySource, HistoryStats, ObjectSelector, Selection, TimeRange,
    parse_duration, parse_time,
};
use futures::{FutureExt, StreamExt};
use jiff::Timestamp;
use sink_cloudwatch::{CloudWatchHistory, CloudWatchSinkConfig, history_client};
use sink_file::FileArchiveHistory;
use sink_stdout::{Layout, Printer, TableWriter, escape_control};

/// Unreadable records reported one by one before only counting them.
const WARNINGS_SHOWN: u64 = 10;

/// The exit status when the query completed but skipped unreadable input (a corrupt `.gz`, a
/// line that is not a record): what was printed may be incomplete. 1 is an error that stopped
/// the query, 2 a bad flag (clap's).
const EXIT_SKIPPED_INPUT: u8 = 3;

/// Show the kept Kubernetes events of any time range, like `kubectl get events`.
#[derive(Parser, Debug)]
#[command(name = "event_history", version)]
#[command(group(ArgGroup::new("source").required(true).args(["log_group", "dir"])))]
struct Args {
    /// CloudWatch Logs group the sink writes to.
    #[arg(long, env = "EVENT_KEEPER_LOG_GROUP")]
    log_group: Option<String>,
    /// AWS region of the log group (default: the AWS config chain).
    #[arg(long, requires = "log_group")]
    region: Option<String>,
    /// Endpoint instead of AWS's, e.g. http://localhost:4566.
    #[arg(long, requires = "log_group")]
    endpoint_url: Option<String>,
    /// Directory of the rolling file archive (instead of CloudWatch).
    #[arg(long, conflicts_with = "log_group")]
    dir: Option<PathBuf>,
    /// File name prefix of the archive.
    #[arg(long, default_value = "events", requires = "dir")]
    prefix: String,
    /// Start of the range: a duration back from now (30m, 6h, 2d, 1h30m; -5m means the same as
    /// 5m), a date or an RFC 3339 time.
    #[arg(long, default_value = "1h", allow_hyphen_values = true)]
    since: String,
    /// End of the range, in the same forms (default: --now if given, else the newest event).
    #[arg(long, conflicts_with = "follow", allow_hyphen_values = true)]
    until: Option<String>,
    /// The instant durations count back from and ages are measured at (default: the clock).
    #[arg(long, allow_hyphen_values = true)]
    now: Option<String>,
    /// Only these namespaces (repeat or separate with commas).
    #[arg(short = 'n', long, value_delimiter = ',')]
    namespace: Vec<String>,
    /// Only these types: Normal, Warning.
    #[arg(long = "type", value_delimiter = ',')]
    event_type: Vec<String>,
    /// Only these reasons, e.g. BackOff,FailedScheduling.
    #[arg(long, value_delimiter = ',')]
    reason: Vec<String>,
    /// Only events about objects of these kinds, e.g. Pod,Node.
    #[arg(long, value_delimiter = ',')]
    kind: Vec<String>,
    /// Only events about this object: kind/name, e.g. pod/api-7d9f.
    #[arg(long = "for")]
    object: Option<ObjectSelector>,
    /// Only events whose message matches this regex.
    #[arg(long)]
    message: Option<String>,
    /// Also apply a filter config (JSON), as the pipeline loads it.
    #[arg(long)]
    filter_config: Option<PathBuf>,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Table)]
    output: Output,
    /// Show ages (5m, 3h12m) instead of absolute times.
    #[arg(long)]
    relative: bool,
    /// After the range, keep printing new events as they are stored.
    #[arg(short = 'w', long)]
    follow: bool,
    /// How often --follow polls for new events.
    #[arg(long, default_value = "2s", requires = "follow")]
    poll_interval: String,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Output {
    Table,
    Wide,
    Json,
}

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
    let clock = Timestamp::now();
    let now = args
        .now
        .as_deref()
        .map_or(Ok(clock), |t| parse_time(t, clock))?;
    let since = parse_time(&args.since, now)?;
    // Nothing after the instant the query is anchored at, when it is anchored.
    let until = match (&args.until, &args.now) {
        (Some(until), _) => Some(parse_time(until, now)?),
        (None, Some(_)) if !args.follow => Some(now),
        (None, _) => None,
    };
    let range = TimeRange::new(Some(since), until)?;
    let mut selection = Selection::default()
        .namespaces(args.namespace.clone())
        .types(args.event_type.clone())
        .reasons(args.reason.clone())
        .kinds(args.kind.clone());
    selection.object.clone_from(&args.object);
    selection.message.clone_from(&args.message);
    if let Some(path) = &args.filter_config {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the filter config {}: {e}", path.display()))?;
        selection.config = Some(FilterConfig::from_json(&text)?);
    }
    let keep = selection.compile()?;
    let mut config = HistoryConfig::default().range(range);
    if args.follow {
        config = config.follow(parse_duration(&args.poll_interval)?.unsigned_abs());
    }
    let mut table = TableWriter::new(match args.output {
        Output::Wide => Layout::Wide,
        _ => Layout::Table,
    });
    if selection.namespaces.len() != 1 {
        table = table.namespace_column();
    }
    if args.relative {
        table = table.relative_to(now);
    }
    let printer = match args.output {
        Output::Json => Printer::json(),
        _ => Printer::table(table),
    };
    let view = View {
        printer,
        ages_now: args.relative && args.now.is_none(),
    };
    if let Some(group) = &args.log_group {
        let mut sink_config = CloudWatchSinkConfig::new();
        sink_config.region.clone_from(&args.region);
        sink_config.endpoint_url.clone_from(&args.endpoint_url);
        let source = CloudWatchHistory::new(history_client(&sink_config).await?, group)
            .range(range)
            .select(&selection);
        let what = format!("log group {group}");
        print(source, keep, config, view, &what, |e| {
            !matches!(e, sink_cloudwatch::ReadError::Parse { .. })
        })
        .await
    } else if let Some(dir) = &args.dir {
        let source = FileArchiveHistory::open(dir, &args.prefix)?.range(range);
        let what = format!("archive {}", dir.display());
        print(source, keep, config, view, &what, |e| {
            matches!(e, sink_file::ReadError::List { .. })
        })
        .await
    } else {
        Err("give --log-group or --dir".into())
    }
}

struct View {
    printer: Printer,
    /// Relative ages measured at the clock of each row (when following without --now).
    ages_now: bool,
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
                if view.ages_now {
                    view.printer.set_now(Timestamp::now());
                }
                view.printer.print(&mut out, &event)?;
                printed += 1;
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
