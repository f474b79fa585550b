//! The exporter's own logs: structured, through `tracing-subscriber`, to stderr (stdout belongs
//! to the stdout sink).
//!
//! Log fields carry strings from the cluster (names, reasons, error messages quoting them). The
//! text format is read on terminals, so each of its lines goes through
//! [`escape_control`](sink_stdout::escape_control): tracing-subscriber escapes ESC and C1 itself,
//! but not carriage returns, newlines or bidi overrides, which forge or hide log lines. The JSON
//! format is left exact (JSON escapes every control character of its own).

use std::io::{self, Write};

use sink_stdout::escape_control;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use super::settings::{LogFormat, LogSettings};

/// The directive that silences kube-rs's own log of each failed request.
const KUBE_REQUEST_FAILURES: &str = "kube_client::client::builder=off";

/// Why logging could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    /// `log.level` is not a filter (validation checks it first, so this means a bug).
    #[error(
        "`log.level` {level:?} is not a log filter: {source}; use e.g. info or info,event_core=debug"
    )]
    Level {
        /// The directives given.
        level: String,
        /// The parser's error.
        #[source]
        source: tracing_subscriber::filter::ParseError,
    },
    /// A global subscriber was installed already.
    #[error("cannot install the log subscriber: {0}; install it only once per process")]
    Install(String),
}

/// Installs the global subscriber: JSON lines (one object per event, its fields at the top
/// level) or text, filtered by `log.level`, written to stderr.
///
/// # Errors
///
/// [`LogError`] when the filter does not parse or a subscriber is installed already.
///
/// ```no_run
/// use examples::exporter::{LogFormat, LogSettings, init_logging};
/// # fn demo(log: &LogSettings) -> Result<(), examples::exporter::LogError> {
/// init_logging(log)?;
/// tracing::info!(sink = "cloudwatch", "ready");
/// # Ok(()) }
/// ```
pub fn init_logging(log: &LogSettings) -> Result<(), LogError> {
    let mut filter = EnvFilter::builder()
        .parse(&log.level)
        .map_err(|source| LogError::Level {
            level: log.level.clone(),
            source,
        })?;
    // kube-rs logs every failed request at ERROR from its HTTP layer, without context; the
    // exporter logs each failure itself, once, with what it was doing and what happens next
    // (a retry at start, a re-watch). A `log.level` naming kube_client keeps full control.
    if !log.level.contains("kube_client")
        && let Ok(quiet) = KUBE_REQUEST_FAILURES.parse()
    {
        filter = filter.add_directive(quiet);
    }
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let installed = match log.format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .try_init(),
        LogFormat::Text => builder
            .with_ansi(false)
            .with_writer(Escaping(std::io::stderr))
            .try_init(),
    };
    installed.map_err(|e| LogError::Install(e.to_string()))
}

/// A [`MakeWriter`] whose writers show every control character of a log line escaped, but the
/// newline that ends it.
#[derive(Clone, Copy, Debug)]
struct Escaping<M>(M);

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for Escaping<M> {
    type Writer = EscapingWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        EscapingWriter(self.0.make_writer())
    }
}

/// Writes each buffer it is given (tracing-subscriber writes a whole line at once) escaped.
#[derive(Debug)]
struct EscapingWriter<W>(W);

impl<W: Write> Write for EscapingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let (line, end) = match buf.strip_suffix(b"\n") {
            Some(line) => (line, &b"\n"[..]),
            None => (buf, &b""[..]),
        };
        let text = String::from_utf8_lossy(line);
        self.0.write_all(escape_control(&text).as_bytes())?;
        self.0.write_all(end)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn text_log_lines_show_control_characters_from_the_cluster_escaped() {
        let captured = Captured::default();
        let sink = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(Escaping(move || sink.clone()))
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(
                reason = %"Back\x1b]0;owned\x07Off",
                name = "api\u{202e}fdp",
                "skipped\r\n2026-11-24T10:00:00Z  INFO forged line\x0b"
            );
        });
        let out = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert_eq!(out.matches('\n').count(), 1, "one line: {out:?}");
        assert!(out.ends_with('\n'));
        assert!(
            !out.trim_end_matches('\n')
                .chars()
                .any(sink_stdout::is_escaped),
            "{out:?}"
        );
        assert!(out.contains("forged line\\x0b"), "{out:?}");
        assert!(out.contains("\\u{202e}"), "{out:?}");
    }

    #[test]
    fn a_line_without_control_characters_is_written_as_it_is() {
        let mut out = Vec::new();
        let mut writer = EscapingWriter(&mut out);
        let line = "2026-11-24T10:00:00Z  INFO ready sink=\"cloudwatch\"\n";
        assert_eq!(writer.write(line.as_bytes()).unwrap(), line.len());
        assert_eq!(out, line.as_bytes());
    }
}
