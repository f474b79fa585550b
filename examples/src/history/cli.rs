//! [`Args`]: the flags of `event_history`, spelled as `kubectl events` spells them where the
//! two overlap, with the tool's earlier spellings kept as aliases.

use std::path::PathBuf;

use clap::{ArgGroup, Parser, ValueEnum};
use event_history::ObjectSelector;

/// Show the kept Kubernetes events of any time range, like `kubectl events`.
#[derive(Parser, Debug)]
#[command(name = "event_history", version)]
#[command(group(ArgGroup::new("source").required(true).args(["log_group", "cluster", "dir"])))]
#[non_exhaustive]
pub struct Args {
    /// CloudWatch Logs group the sink writes to.
    #[arg(long, env = "EVENT_KEEPER_LOG_GROUP", conflicts_with = "cluster")]
    pub log_group: Option<String>,
    /// Read the log group of this cluster (repeat for several, merged in time order, with a
    /// CLUSTER column); the group is --log-group-template with {cluster} replaced.
    #[arg(long)]
    pub cluster: Vec<String>,
    /// The sink's log group template, for --cluster.
    #[arg(long, default_value = sink_cloudwatch::DEFAULT_LOG_GROUP, requires = "cluster")]
    pub log_group_template: String,
    /// AWS region of the log group (default: the AWS config chain).
    #[arg(long, conflicts_with = "dir")]
    pub region: Option<String>,
    /// Endpoint instead of AWS's, e.g. http://localhost:4566.
    #[arg(long, conflicts_with = "dir")]
    pub endpoint_url: Option<String>,
    /// FilterLogEvents requests in flight at once per log group, each reading a time slice of
    /// a long range (1: one chain of pages).
    #[arg(long, default_value_t = sink_cloudwatch::DEFAULT_READ_CONCURRENCY, value_parser = concurrency, conflicts_with = "dir")]
    pub concurrency: usize,
    /// Directory of the rolling file archive (instead of CloudWatch).
    #[arg(long, conflicts_with = "log_group")]
    pub dir: Option<PathBuf>,
    /// File name prefix of the archive.
    #[arg(long, default_value = "events", requires = "dir")]
    pub prefix: String,
    /// Start of the range: a duration back from now (30m, 6h, 2d, 1h30m; -5m means the same as
    /// 5m), a date or an RFC 3339 time.
    #[arg(long, default_value = "1h", allow_hyphen_values = true)]
    pub since: String,
    /// End of the range, in the same forms (default: --now if given, else the newest event).
    #[arg(long, conflicts_with = "follow", allow_hyphen_values = true)]
    pub until: Option<String>,
    /// The instant durations count back from and ages are measured at (default: the clock).
    #[arg(long, allow_hyphen_values = true)]
    pub now: Option<String>,
    /// Only these namespaces (repeat or separate with commas).
    #[arg(short = 'n', long, value_delimiter = ',')]
    pub namespace: Vec<String>,
    /// Every namespace, with a NAMESPACE column (the default when no --namespace is given).
    #[arg(short = 'A', long, conflicts_with = "namespace")]
    pub all_namespaces: bool,
    /// Only these types: Normal, Warning (e.g. --types=Warning,Normal).
    #[arg(long = "types", visible_alias = "type", value_delimiter = ',', value_parser = event_type)]
    pub types: Vec<String>,
    /// Only these reasons, e.g. BackOff,FailedScheduling.
    #[arg(long, value_delimiter = ',')]
    pub reason: Vec<String>,
    /// Only events about objects of these kinds, e.g. Pod,Node.
    #[arg(long, value_delimiter = ',')]
    pub kind: Vec<String>,
    /// Only events about this object: kind/name, e.g. pod/web-1, deploy/api.
    #[arg(long = "for")]
    pub object: Option<ObjectSelector>,
    /// With --for: also the events of what the object owns (a Deployment's ReplicaSets and
    /// their Pods, a ReplicaSet's Pods, ...), matched by the names controllers give them.
    #[arg(long, requires = "object")]
    pub related: bool,
    /// Only events whose message matches this regex.
    #[arg(long)]
    pub message: Option<String>,
    /// Also apply a filter config (JSON), as the pipeline loads it.
    #[arg(long)]
    pub filter_config: Option<PathBuf>,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Table)]
    pub output: Output,
    /// Draw occurrences per time bucket by type, and the top reasons (same as -o timeline).
    #[arg(long, conflicts_with = "output")]
    pub timeline: bool,
    /// Draw the timeline with ASCII characters only (the default when the locale is not UTF-8).
    #[arg(long)]
    pub ascii: bool,
    /// Do not print the header line of a table.
    #[arg(long)]
    pub no_headers: bool,
    /// Show ages (5m, 3h12m) instead of absolute times.
    #[arg(long)]
    pub relative: bool,
    /// After the range, keep printing new events as they are stored.
    #[arg(short = 'w', long = "watch", visible_alias = "follow")]
    pub follow: bool,
    /// How often --watch polls for new events.
    #[arg(long, default_value = "2s", requires = "follow")]
    pub poll_interval: String,
}

/// `Normal` or `Warning`, in any case, as Kubernetes spells it.
fn event_type(value: &str) -> Result<String, String> {
    ["Normal", "Warning"]
        .into_iter()
        .find(|t| t.eq_ignore_ascii_case(value.trim()))
        .map(str::to_owned)
        .ok_or_else(|| "use Normal or Warning".to_owned())
}

/// Requests in flight: 1 to 64.
fn concurrency(value: &str) -> Result<usize, String> {
    value
        .trim()
        .parse()
        .ok()
        .filter(|n| (1..=64).contains(n))
        .ok_or_else(|| "use a number of requests from 1 to 64".to_owned())
}

impl Args {
    /// The output format, with --timeline folded in.
    pub fn output(&self) -> Output {
        if self.timeline {
            Output::Timeline
        } else {
            self.output
        }
    }
}

/// What `-o` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
#[non_exhaustive]
pub enum Output {
    /// Columns like `kubectl events`.
    Table,
    /// More columns: namespace, first seen, subobject, source.
    Wide,
    /// One JSON object per line, the record as stored.
    Json,
    /// A YAML document per event, the record as stored.
    Yaml,
    /// A chart of occurrences per time bucket by type, and the top reasons.
    Timeline,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    fn parse(args: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(["event_history"].iter().chain(args))
    }

    #[test]
    fn the_flags_are_consistent() {
        Args::command().debug_assert();
    }

    #[test]
    fn kubectl_spellings_and_the_old_ones_both_parse() {
        let new = parse(&["--dir", "a", "--types=Warning,Normal", "-w", "-A"]).unwrap();
        assert_eq!(new.types, ["Warning", "Normal"]);
        assert!(new.follow && new.all_namespaces);
        let old = parse(&["--dir", "a", "--type", "warning", "--follow"]).unwrap();
        assert_eq!(old.types, ["Warning"]);
        assert!(old.follow);
        let watch = parse(&["--dir", "a", "--watch"]).unwrap();
        assert!(watch.follow);
    }

    #[test]
    fn outputs_and_the_timeline_flag() {
        for (flag, output) in [
            ("yaml", Output::Yaml),
            ("wide", Output::Wide),
            ("json", Output::Json),
            ("timeline", Output::Timeline),
        ] {
            assert_eq!(parse(&["--dir", "a", "-o", flag]).unwrap().output(), output);
        }
        assert_eq!(
            parse(&["--dir", "a", "--timeline"]).unwrap().output(),
            Output::Timeline
        );
    }

    #[test]
    fn bad_combinations_and_values_are_refused() {
        for args in [
            &["--dir", "a", "-A", "-n", "payments"][..],
            &["--dir", "a", "-o", "xml"],
            &["--dir", "a", "--types", "Warnin"],
            &["--dir", "a", "--for", "api"],
            &["--dir", "a", "--related"],
            &["--log-group", "g", "--cluster", "prod"],
            &["--dir", "a", "--cluster", "prod"],
            &["--log-group", "g", "--concurrency", "0"],
            &["--dir", "a", "--concurrency", "2"],
            &["--since", "1h"],
        ] {
            assert!(parse(args).is_err(), "{args:?}");
        }
    }

    #[test]
    fn clusters_repeat() {
        let args = parse(&["--cluster", "prod-eu", "--cluster", "prod-us"]).unwrap();
        assert_eq!(args.cluster, ["prod-eu", "prod-us"]);
        assert_eq!(args.log_group_template, "/event-keeper/{cluster}");
    }
}
