//! The real `event_history` binary on an archive it cannot trust: events whose strings hold
//! terminal escape sequences (anyone who can create an Event chooses them), a corrupt gzipped
//! file, and a range given as `--since -5m`.

#[path = "event_history_support/binary.rs"]
mod binary;
#[path = "event_history_support/history.rs"]
mod history;
#[path = "event_history_support/incident.rs"]
mod incident;

use event_core::Event;
use history::write_archive;
use incident::Batch;
use jiff::Timestamp;

/// The instant every query is anchored at.
const NOW: &str = "2026-11-24T12:00:00Z";

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

/// An event with ESC/CSI/OSC sequences, a C1 CSI, a bidi override and a carriage return in
/// every string the table shows.
fn hostile() -> Event {
    let mut event = event_core::testing::sample_event("evil-1", 4100, "pay\x1b[2Jments");
    event.reason = "Back\x1b]0;owned\x07Off".into();
    event.message =
        "ok\x1b[1A\x1b[2K\rforged\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\ \u{9b}31m\u{202e}txt"
            .into();
    event.regarding.name = "api\u{202e}fdp.exe".into();
    event.regarding.field_path = Some("spec\x07".into());
    event.reporting_controller = Some("kube\x7flet".into());
    event.last_seen = at("2026-11-24T11:58:00Z");
    event.first_seen = event.last_seen;
    event
}

fn plain() -> Event {
    let mut event = event_core::testing::sample_event("calm-1", 4101, "payments");
    event.last_seen = at("2026-11-24T11:59:00Z");
    event.first_seen = event.last_seen;
    event
}

async fn archive(events: Vec<Event>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let batch = Batch {
        written: at("2026-11-24T11:59:30Z"),
        events,
    };
    write_archive(dir.path(), &[batch]).await;
    dir
}

fn run(dir: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["--dir", dir.to_str().unwrap(), "--now", NOW];
    args.extend_from_slice(extra);
    binary::run(&args)
}

#[tokio::test]
async fn tables_show_escape_sequences_from_the_cluster_instead_of_running_them() {
    let dir = archive(vec![hostile(), plain()]).await;
    for output in ["table", "wide"] {
        let out = run(dir.path(), &["--since", "1h", "-o", output]);
        assert!(out.status.success(), "{}", binary::stderr(&out));
        let text = binary::stdout(&out);
        let bad: Vec<char> = text
            .chars()
            .filter(|c| *c != '\n' && sink_stdout::is_escaped(*c))
            .collect();
        assert!(
            bad.is_empty(),
            "-o {output} passed {bad:?} through: {text:?}"
        );
        assert_eq!(text.lines().count(), 3, "a header and two rows: {text:?}");
        for shown in [
            "pay\\x1b[2Jments",
            "Back\\x1b]0;owned\\x07Off",
            "ok\\x1b[1A\\x1b[2K forged\\x1b]8;;http://x\\x1b\\link\\x1b]8;;\\x1b\\ \\u{9b}31m\\u{202e}txt",
            "pod/api\\u{202e}fdp.exe",
        ] {
            assert!(text.contains(shown), "-o {output} lacks {shown}: {text:?}");
        }
        if output == "wide" {
            assert!(text.contains("spec\\x07"), "{text:?}");
            assert!(text.contains("kube\\x7flet"), "{text:?}");
        }
    }
}

#[tokio::test]
async fn json_output_keeps_the_stored_record_byte_for_byte() {
    let dir = archive(vec![hostile()]).await;
    let out = run(dir.path(), &["--since", "1h", "-o", "json"]);
    assert!(out.status.success(), "{}", binary::stderr(&out));
    let mut expected = serde_json::to_vec(&hostile()).unwrap();
    expected.push(b'\n');
    assert_eq!(out.stdout, expected);
    let back: Event = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(back, hostile(), "every control character kept");
}

#[tokio::test]
async fn yaml_escapes_control_characters_and_keeps_the_record() {
    let dir = archive(vec![hostile()]).await;
    let out = run(dir.path(), &["--since", "1h", "-o", "yaml"]);
    assert!(out.status.success(), "{}", binary::stderr(&out));
    let text = binary::stdout(&out);
    let raw: Vec<char> = text
        .chars()
        .filter(|c| (c.is_control() && *c != '\n') || ('\u{80}'..='\u{9f}').contains(c))
        .collect();
    assert!(raw.is_empty(), "passed {raw:?} through: {text:?}");
    let back: Event = yaml_serde::from_str(text.trim_start_matches("---\n")).unwrap();
    assert_eq!(back, hostile(), "every control character kept, escaped");
}

#[tokio::test]
async fn a_timeline_shows_reasons_escaped() {
    let dir = archive(vec![hostile(), plain()]).await;
    let out = run(dir.path(), &["--since", "1h", "--timeline"]);
    assert!(out.status.success(), "{}", binary::stderr(&out));
    let text = binary::stdout(&out);
    assert!(
        !text
            .chars()
            .any(|c| c != '\n' && sink_stdout::is_escaped(c)),
        "{text:?}"
    );
    assert!(text.contains("Back\\x1b]0;owned\\x07Off"), "{text:?}");
}

#[tokio::test]
async fn a_corrupt_gzip_file_is_reported_in_a_summary_and_a_distinct_exit_status() {
    let dir = archive(vec![plain()]).await;
    std::fs::write(
        dir.path().join("events-2026-11-24T10-30-00Z.0001.jsonl.gz"),
        b"\x1f\x8b\x08\x00this is not deflate data at all",
    )
    .unwrap();
    let out = run(dir.path(), &["--since", "2h"]);
    let stderr = binary::stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        binary::stdout(&out).contains("Back-off restarting"),
        "the readable events are still printed"
    );
    let summary = stderr.lines().last().unwrap_or_default();
    assert!(
        summary.contains("1 unreadable records or files were skipped")
            && summary.contains("exit status 3"),
        "{stderr}"
    );
    assert!(
        stderr.contains("events-2026-11-24T10-30-00Z.0001.jsonl.gz"),
        "the warning names the file: {stderr}"
    );
    // The same archive without the corrupt file completes cleanly.
    std::fs::remove_file(dir.path().join("events-2026-11-24T10-30-00Z.0001.jsonl.gz")).unwrap();
    let out = run(dir.path(), &["--since", "2h"]);
    assert_eq!(out.status.code(), Some(0), "{}", binary::stderr(&out));
}

#[tokio::test]
async fn since_minus_five_minutes_means_five_minutes_ago() {
    let dir = archive(vec![hostile(), plain()]).await;
    let minus = run(dir.path(), &["--since", "-5m", "-o", "json"]);
    assert!(minus.status.success(), "{}", binary::stderr(&minus));
    let plain_form = run(dir.path(), &["--since", "5m", "-o", "json"]);
    assert_eq!(minus.stdout, plain_form.stdout);
    assert_eq!(
        String::from_utf8(minus.stdout).unwrap().lines().count(),
        2,
        "both events are within five minutes of --now"
    );
    let narrow = run(
        dir.path(),
        &["--since=-90s", "--until", "-0s", "-o", "json"],
    );
    assert!(narrow.status.success(), "{}", binary::stderr(&narrow));
    let lines = String::from_utf8(narrow.stdout).unwrap();
    assert_eq!(
        lines.lines().count(),
        1,
        "only the event 60 s before --now: {lines}"
    );
}
