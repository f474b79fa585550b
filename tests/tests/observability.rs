//! What the shipped alerts, dashboards and saved queries name exists: every `event_keeper_*`
//! metric in the chart's alert rules and Grafana dashboard is exported by the running
//! `eks_to_cloudwatch` binary, and every record field in the CloudWatch dashboard and saved
//! Logs Insights queries (`deploy/cloudwatch/`) is in the records that binary stored in
//! CloudWatch (moto, through the strict proxy). `scripts/check_observability.py` checks the
//! same files' syntax (PromQL, dashboard schemas).

#[path = "cloudwatch_support/harness.rs"]
mod harness;
#[path = "eks_to_cloudwatch_support/scenario.rs"]
mod scenario;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use scenario::Scenario;
use serde_json::Value;
use testkit::NewEvent;
use testkit::cloudwatch::read_stream;
use tests::binary::ExporterProcess;
use tests::key;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace root")
        .to_path_buf()
}

fn read(relative: &str) -> String {
    let path = workspace().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Every `event_keeper_*` name in `text`.
fn metric_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("event_keeper_") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        names.insert(tail[..end].to_owned());
        rest = &tail[end..];
    }
    names
}

/// The metric families of a Prometheus text exposition, with the sample names of histograms and
/// summaries (`_bucket`, `_sum`, `_count`) as well.
fn exported(exposition: &str) -> BTreeSet<String> {
    exposition
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .filter_map(|line| line.split(['{', ' ']).next())
        .map(str::to_owned)
        .collect()
}

/// Keys of a record, nested ones joined with dots (`regarding.kind`).
fn record_fields(value: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    if let Value::Object(map) = value {
        for (key, value) in map {
            let path = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            record_fields(value, &path, out);
            out.insert(path);
        }
    }
}

/// Words of the Logs Insights query language (commands, operators, functions), and the
/// fields CloudWatch adds to every record.
const INSIGHTS_WORDS: &[&str] = &[
    "fields",
    "filter",
    "stats",
    "sort",
    "limit",
    "display",
    "parse",
    "dedup",
    "by",
    "as",
    "and",
    "or",
    "not",
    "in",
    "like",
    "asc",
    "desc",
    "count",
    "bin",
    "latest",
    "earliest",
    "ispresent",
    "sum",
    "avg",
    "min",
    "max",
    "SOURCE",
];

/// The record fields a Logs Insights query names: identifiers outside string literals, regex
/// literals and the `SOURCE '…'` clause, less the language's words, numbers with a unit
/// (`15m`), CloudWatch's own `@` fields and the aliases the query defines with `as`.
fn query_fields(query: &str) -> BTreeSet<String> {
    let mut cleaned = String::new();
    let mut quote: Option<char> = None;
    for c in query.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if matches!(c, '"' | '\'' | '/') => quote = Some(c),
            None => cleaned.push(c),
        }
    }
    let tokens: Vec<&str> = cleaned
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '@'))
        .filter(|t| !t.is_empty())
        .collect();
    let aliases: BTreeSet<&str> = tokens
        .windows(2)
        .filter(|w| w[0] == "as")
        .map(|w| w[1])
        .collect();
    tokens
        .iter()
        .filter(|t| !t.starts_with('@'))
        .filter(|t| !t.starts_with(|c: char| c.is_ascii_digit()))
        .filter(|t| !INSIGHTS_WORDS.contains(t) && !aliases.contains(*t))
        .map(|t| (*t).to_owned())
        .collect()
}

#[test]
fn query_fields_are_found_outside_literals_and_aliases() {
    let fields = query_fields(
        "SOURCE '/event-keeper/x' | fields @timestamp, regarding.kind | filter type = \"Warning\" and message like /api-9/ | stats count(*) as n by bin(15m), reason | sort n desc",
    );
    let expected: BTreeSet<String> = ["regarding.kind", "type", "message", "reason"]
        .map(String::from)
        .into();
    assert_eq!(fields, expected);
}

/// Every Logs Insights query shipped: the dashboard's widgets, the saved queries, and the
/// examples of sink-cloudwatch's README.
fn shipped_queries() -> Vec<(String, String)> {
    let mut queries = Vec::new();
    let dashboard: Value =
        serde_json::from_str(&read("deploy/cloudwatch/dashboard.json")).expect("dashboard JSON");
    for widget in dashboard["widgets"].as_array().expect("widgets") {
        if let Some(query) = widget["properties"]["query"].as_str() {
            queries.push(("deploy/cloudwatch/dashboard.json".into(), query.to_owned()));
        }
    }
    let folder = workspace().join("deploy/cloudwatch/queries");
    for entry in std::fs::read_dir(&folder).expect("the saved queries folder") {
        let path = entry.expect("a directory entry").path();
        let text = std::fs::read_to_string(&path).expect("a saved query");
        let definition: Value = serde_json::from_str(&text).expect("a saved query's JSON");
        let query = definition["queryString"].as_str().expect("queryString");
        queries.push((path.display().to_string(), query.to_owned()));
    }
    assert!(queries.len() >= 6, "{queries:?}");
    queries
}

#[tokio::test]
async fn alerts_dashboards_and_queries_name_only_what_the_binary_exports_and_stores() {
    let s = Scenario::start("observability").await;
    let config = format!(
        "{}{}sinks:\n{}server:\n  listen: 127.0.0.1:0\n",
        s.common(),
        s.file_checkpoint(),
        s.cloudwatch_sink()
    );
    let exporter = ExporterProcess::start(&config, &s.kubeconfig, &[]).await;
    exporter.wait_for_readyz(200, Duration::from_secs(30)).await;

    // A plain warning, one with every optional field, and one too large for a CloudWatch event,
    // so the records hold each field a query may name (the last one `truncated.*`).
    let events = [
        s.cluster.create_event(
            NewEvent::new("payments", "BackOff")
                .regarding("Pod", "api-7d9f")
                .warning(),
        ),
        s.cluster.create_event(
            NewEvent::new("payments", "ScalingReplicaSet")
                .regarding("Deployment", "api")
                .reporting("deployment-controller", "kcm-1")
                .action("Scaling"),
        ),
        s.cluster.create_event(
            NewEvent::new("search", "OOMKilling")
                .regarding("Node", "ip-10-0-1-12")
                .message("x".repeat(1_100_000))
                .warning(),
        ),
    ];
    let expected: Vec<_> = events.iter().map(key).collect();
    s.wait_for_cloudwatch(&expected).await;

    // The metrics: scraped from the binary, after its sink has sent.
    let mut families = BTreeSet::new();
    let (status, exposition) = exporter.get("/metrics").await;
    assert_eq!(status, 200, "{exposition}");
    families.extend(exported(&exposition));
    assert!(
        families.contains("event_keeper_events_sent_total"),
        "{exposition}"
    );
    for (file, text) in [
        ("alerts", read("deploy/helm/event-keeper/files/alerts.yaml")),
        (
            "Grafana dashboard",
            read("deploy/helm/event-keeper/files/dashboard.json"),
        ),
    ] {
        let named = metric_names(&text);
        assert!(named.len() >= 5, "{file} names too few metrics: {named:?}");
        let missing: Vec<_> = named.difference(&families).collect();
        assert!(
            missing.is_empty(),
            "the {file} name metrics the binary does not export: {missing:?}\nexported: {families:?}"
        );
    }

    // The record fields: read back raw from CloudWatch, as Logs Insights sees them.
    let mut fields = BTreeSet::new();
    let group = s.group();
    let streams = s
        .cloudwatch
        .moto
        .describe_log_streams()
        .log_group_name(&group)
        .send()
        .await
        .expect("the log group's streams");
    for stream in streams.log_streams() {
        let name = stream.log_stream_name().unwrap_or_default();
        for event in read_stream(&s.cloudwatch.moto, &group, name)
            .await
            .expect("read a stream")
        {
            let record: Value =
                serde_json::from_str(event.message().unwrap_or_default()).expect("a JSON record");
            record_fields(&record, "", &mut fields);
        }
    }
    assert!(
        fields.contains("truncated.originalBytes"),
        "the large event's record is cut and marked: {fields:?}"
    );
    for (file, query) in shipped_queries() {
        let unknown: Vec<_> = query_fields(&query)
            .into_iter()
            .filter(|f| !fields.contains(f))
            .collect();
        assert!(
            unknown.is_empty(),
            "{file}: the query names fields no record has: {unknown:?}\nquery: {query}\nrecord fields: {fields:?}"
        );
    }
}
