//! The `event_history` binary's views of the recorded incident, run as a real process over a
//! rolling file archive written by the real `FileSink`: the spellings of `kubectl events`,
//! YAML records, columns that never shift, the timeline (golden files) and `--related`.

#[path = "event_history_support/binary.rs"]
mod binary;
#[path = "event_history_support/history.rs"]
mod history;
#[path = "event_history_support/incident.rs"]
mod incident;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use event_core::Event;
use history::{golden, write_archive};
use incident::Batch;

async fn archive() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_archive(dir.path(), &incident::batches(incident::day())).await;
    dir
}

const RANGE: [&str; 4] = [
    "--since",
    "2026-11-24T09:50:00Z",
    "--until",
    "2026-11-24T10:30:00Z",
];

fn run_ok(dir: &Path, args: &[&str]) -> String {
    let dir = dir.to_str().unwrap();
    let mut all = vec!["--dir", dir];
    all.extend_from_slice(args);
    let output = binary::run(&all);
    assert!(output.status.success(), "{}", binary::stderr(&output));
    assert_eq!(binary::stderr(&output), "", "nothing on stderr");
    binary::stdout(&output)
}

fn with_range<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut all = RANGE.to_vec();
    all.extend_from_slice(args);
    all
}

#[tokio::test]
async fn kubectl_spellings_print_what_the_earlier_ones_print() {
    let dir = archive().await;
    let d = dir.path();
    let types = run_ok(d, &with_range(&["--types=Warning,Normal", "-A"]));
    assert_eq!(types, run_ok(d, &with_range(&["--type", "Warning,Normal"])));
    assert_eq!(types, run_ok(d, &RANGE));
    let warnings = run_ok(d, &with_range(&["--types=Warning"]));
    assert!(warnings.lines().count() > 2, "{warnings}");
    assert!(!warnings.contains(" Normal "), "{warnings}");
    let pod = run_ok(d, &with_range(&["--for", "Pods/api-7d9f5c6b8-k7wz4"]));
    assert_eq!(
        pod,
        run_ok(d, &with_range(&["--for", "po/api-7d9f5c6b8-k7wz4"]))
    );
    assert_eq!(
        pod.lines().count(),
        1 + 6,
        "header, Scheduled to BackOff x12: {pod}"
    );

    let rows = run_ok(d, &with_range(&["--no-headers"]));
    let mut lines = types.lines();
    assert!(lines.next().unwrap().starts_with("NAMESPACE "));
    assert_eq!(rows.lines().collect::<Vec<_>>(), lines.collect::<Vec<_>>());
}

#[tokio::test]
async fn yaml_documents_hold_the_stored_records() {
    let dir = archive().await;
    let d = dir.path();
    let yaml = run_ok(d, &with_range(&["-o", "yaml", "--types", "Warning"]));
    let json = run_ok(d, &with_range(&["-o", "json", "--types", "Warning"]));
    assert!(yaml.starts_with("---\n"), "{yaml}");
    let from_yaml: Vec<Event> = yaml_serde::Deserializer::from_str(&yaml)
        .map(|document| serde::Deserialize::deserialize(document).unwrap())
        .collect();
    let from_json: Vec<Event> = json
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(from_yaml.len(), 7, "{yaml}");
    assert_eq!(from_yaml, from_json);
}

/// The incident, and a scheduler that names its instance in a long SOURCE, after the header
/// and before the 200th row.
fn with_long_source(day: jiff::Timestamp) -> Vec<Batch> {
    let mut batches = incident::batches(day);
    let mut scheduled = batches[1].events[0].clone();
    scheduled.uid = "e99".into();
    scheduled.regarding = event_core::ObjectRef::new("Pod", "web-1");
    scheduled.message = "Successfully assigned payments/web-1 to ip-10-0-1-12.ec2.internal".into();
    scheduled.reason = "Scheduled".into();
    scheduled.event_type = "Normal".into();
    scheduled.reporting_controller = Some("default-scheduler".into());
    scheduled.reporting_instance = Some("default-scheduler-ip-10-0-1-12".into());
    batches[1].events.push(scheduled);
    batches
}

/// Where each header column starts, checked against every row: the cell starts there, after a
/// blank gap.
fn assert_lined_up(table: &str) {
    let mut lines = table.lines();
    let header = lines.next().unwrap();
    let starts: Vec<usize> = header
        .match_indices("   ")
        .map(|(at, _)| at)
        .filter_map(|at| header[at..].find(|c: char| c != ' ').map(|skip| at + skip))
        .collect();
    assert!(starts.len() >= 5, "{header}");
    for line in lines {
        let chars: Vec<char> = line.chars().collect();
        for &at in &starts {
            assert_eq!(chars.get(at - 1), Some(&' '), "shifted at {at}: {line:?}");
        }
    }
}

#[tokio::test]
async fn wide_rows_line_up_whatever_the_width_of_a_value() {
    let dir = tempfile::tempdir().unwrap();
    write_archive(dir.path(), &with_long_source(incident::day())).await;
    let wide = run_ok(dir.path(), &with_range(&["-o", "wide"]));
    assert!(
        wide.contains("default-scheduler, default-scheduler-ip-10-0-1-12   "),
        "{wide}"
    );
    assert_lined_up(&wide);
    assert_lined_up(&run_ok(dir.path(), &RANGE));
}

#[tokio::test]
async fn a_watch_shows_the_range_at_once_and_clips_what_comes_later() {
    let dir = archive().await;
    let d = dir.path().to_str().unwrap();
    let args = [
        "--dir",
        d,
        "--since",
        "2026-11-24T09:50:00Z",
        "-w",
        "--poll-interval",
        "200ms",
        "-o",
        "wide",
    ];
    let mut child = binary::command(&args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let next = || {
        rx.recv_timeout(Duration::from_secs(20))
            .expect("a line in time")
    };
    // Every row of the range, without waiting for 200 rows or for the watch to end.
    let header = next();
    assert!(header.starts_with("NAMESPACE "), "{header}");
    let mut table = vec![header];
    while !table.last().unwrap().contains("zq8ls") {
        table.push(next());
    }

    // The sink goes on writing, a value wider than its column among it.
    let mut later = with_long_source(incident::day())[1]
        .events
        .last()
        .unwrap()
        .clone();
    later.last_seen = "2026-11-24T12:20:00Z".parse().unwrap();
    later.resource_version = "9001".into();
    let written = "2026-11-24T12:20:05Z".parse().unwrap();
    let config = sink_file::FileSinkConfig::new(dir.path())
        .rotation(sink_file::Rotation::HOURLY.with_max_bytes(history::MAX_FILE_BYTES))
        .compress(true);
    let mut sink =
        sink_file::FileSink::with_clock(config, event_core::clock::Clock::from_fn(move || written))
            .unwrap();
    event_core::Sink::send(&mut sink, &[later]).await.unwrap();
    table.push(next());
    child.kill().unwrap();
    child.wait().unwrap();

    let last = table.last().unwrap();
    assert!(last.contains("default-scheduler, default-sched…"), "{last}");
    assert_lined_up(&table.join("\n"));
}

#[tokio::test]
async fn the_incident_as_a_timeline() {
    let dir = archive().await;
    let d = dir.path();
    let unicode = run_ok(d, &with_range(&["--timeline"]));
    golden("timeline.txt", unicode.as_bytes());
    assert_eq!(unicode, run_ok(d, &with_range(&["-o", "timeline"])));
    let ascii = run_ok(d, &with_range(&["-o", "timeline", "--ascii"]));
    golden("timeline_ascii.txt", ascii.as_bytes());
    assert!(ascii.is_ascii());
    assert!(
        unicode.starts_with(
            "Occurrences from 2026-11-24T09:50:00Z to 2026-11-24T10:30:00Z, 1m per column: \
             7 Warning, 6 Normal\n"
        ),
        "{unicode}"
    );
    assert!(
        unicode.contains("  BackOff                  Warning       3  "),
        "{unicode}"
    );
    let payments = run_ok(d, &with_range(&["--timeline", "-n", "payments"]));
    assert!(payments.contains("6 Warning, 5 Normal"), "{payments}");
}

#[tokio::test]
async fn related_reads_a_rollout_as_one_story() {
    let dir = archive().await;
    let d = dir.path();
    let story = run_ok(
        d,
        &[
            "--since",
            "2026-11-24T00:00:00Z",
            "--for",
            "deployment/api",
            "--related",
        ],
    );
    golden("related_table.txt", story.as_bytes());
    for object in [
        "deployment/api ",
        "replicaset/api-7d9f5c6b8 ",
        "pod/api-7d9f5c6b8-x2x9q ",
        "pod/api-7d9f5c6b8-k7wz4 ",
        "pod/api-7d9f5c6b8-m4q2p ",
        "pod/api-6b5f7c9d4-zq8ls ",
    ] {
        assert!(story.contains(object), "{object} missing: {story}");
    }
    for other in ["coredns", "invoices", "node/"] {
        assert!(!story.contains(other), "{other}: {story}");
    }
    let alone = run_ok(
        d,
        &["--since", "2026-11-24T00:00:00Z", "--for", "deploy/api"],
    );
    assert!(alone.lines().count() < story.lines().count());
    assert!(
        alone.lines().skip(1).all(|l| l.contains("deployment/api ")),
        "{alone}"
    );
}

#[test]
fn bad_values_are_one_line_and_failure() {
    for (args, code, start) in [
        (
            &["--types", "Warnin"][..],
            2,
            "error: invalid value 'Warnin' for '--types <TYPES>': use Normal or Warning",
        ),
        (
            &[
                "--cluster",
                "prod",
                "--log-group-template",
                "/x/{namespace}",
            ],
            1,
            "error: --log-group-template \"/x/{namespace}\" names a placeholder",
        ),
        (&["-o", "xml"], 2, "error: invalid value 'xml'"),
        (&["--related"], 2, "error: the following required arguments"),
        (&["-A", "-n", "payments"], 2, "error: the argument"),
        (&["--timeline", "-w"], 1, "error: a timeline is drawn once"),
    ] {
        let mut all = match args.contains(&"--cluster") {
            true => vec!["--since", "1h"],
            false => vec!["--dir", "/tmp", "--since", "1h"],
        };
        all.extend_from_slice(args);
        let output = binary::run(&all);
        assert_eq!(output.status.code(), Some(code), "{args:?}");
        let stderr = binary::stderr(&output);
        assert!(stderr.starts_with(start), "{args:?}: {stderr}");
        if code == 1 {
            assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        }
    }
}
