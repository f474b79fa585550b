//! The two line formats.

use std::fmt::Write as _;

use event_core::Event;
use serde::Deserialize;

use crate::escape::escape_control;

/// How events are printed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Format {
    /// One JSON object per line (the default).
    #[default]
    Json,
    /// One human-readable line per event, like `kubectl get events`.
    Text,
}

/// Appends `event` as one JSON line (with the trailing newline) to `out`.
///
/// # Errors
///
/// None: every event serializes ([`Event::write_json`]); the `Result` is kept for callers
/// written against earlier versions.
pub fn write_json_line(out: &mut Vec<u8>, event: &Event) -> Result<(), serde_json::Error> {
    event.write_json(out);
    out.push(b'\n');
    Ok(())
}

/// Appends `event` as one aligned text line: last seen, type, reason, object, message and,
/// when it occurred more than once, the count. Control characters in the event's strings are
/// shown escaped ([`escape_control`]).
pub fn write_text_line(out: &mut String, event: &Event) {
    let object = match &event.namespace {
        Some(ns) => format!("{ns}/{}", event.regarding.to_kubectl_string()),
        None => event.regarding.to_kubectl_string(),
    };
    let last_seen = event.last_seen.strftime("%Y-%m-%dT%H:%M:%SZ");
    // One line per event (a message with newlines would break grep and line-based tools), and
    // nothing from the cluster that a terminal would act on.
    let _ = write!(
        out,
        "{last_seen}  {:<7}  {:<22} {:<40} {}",
        escape_control(&event.event_type),
        escape_control(&event.reason),
        escape_control(&object),
        escape_control(&event.message),
    );
    if event.count > 1 {
        let _ = write!(out, " (x{})", event.count);
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use event_core::testing::sample_event;

    #[test]
    fn json_lines_parse_back_to_the_same_event() {
        let event = sample_event("u1", 7, "payments");
        let mut out = Vec::new();
        write_json_line(&mut out, &event).unwrap();
        assert_eq!(out.last(), Some(&b'\n'));
        let back: Event = serde_json::from_slice(&out).unwrap();
        assert_eq!(back, event);
    }

    #[test]
    fn text_lines_read_like_kubectl_with_the_count() {
        let mut event = sample_event("u1", 7, "payments");
        event.count = 5;
        event.last_seen = "2026-11-24T10:02:11Z".parse().unwrap();
        let mut out = String::new();
        write_text_line(&mut out, &event);
        assert!(
            out.starts_with("2026-11-24T10:02:11Z  Warning  BackOff "),
            "{out}"
        );
        assert!(out.contains("payments/pod/api-7d9f"), "{out}");
        assert!(out.trim_end().ends_with("(x5)"), "{out}");
        assert_eq!(out.matches('\n').count(), 1);
    }

    #[test]
    fn multi_line_messages_stay_on_one_line() {
        let mut event = sample_event("u1", 7, "payments");
        event.message = "first\nsecond\r\nthird".into();
        let mut out = String::new();
        write_text_line(&mut out, &event);
        assert_eq!(out.matches('\n').count(), 1, "{out}");
        assert!(!out.contains("(x"), "a single occurrence shows no count");
    }

    #[test]
    fn escape_sequences_from_the_cluster_are_shown_not_run() {
        let mut event = sample_event("u1", 7, "payments");
        event.message = "\x1b[2J\x1b]0;owned\x07hidden\u{202e}".into();
        event.reason = "Back\x1b[8moff".into();
        event.regarding.name = "api\u{9b}31m".into();
        event.event_type = "Warn\x7fing".into();
        let mut out = String::new();
        write_text_line(&mut out, &event);
        assert!(
            !out.trim_end_matches('\n').chars().any(crate::is_escaped),
            "{out:?}"
        );
        for shown in [
            "\\x1b[2J\\x1b]0;owned\\x07hidden\\u{202e}",
            "Back\\x1b[8moff",
            "api\\u{9b}31m",
            "Warn\\x7fing",
        ] {
            assert!(out.contains(shown), "{shown} in {out:?}");
        }
    }

    #[test]
    fn json_lines_keep_control_characters_exactly() {
        let mut event = sample_event("u1", 7, "payments");
        event.message = "\x1b[2J\u{9b}\u{202e}".into();
        let mut out = Vec::new();
        write_json_line(&mut out, &event).unwrap();
        let back: Event = serde_json::from_slice(&out).unwrap();
        assert_eq!(back.message, event.message);
        assert!(!out.contains(&0x1b), "JSON escapes ESC as \\u001b");
    }
}
