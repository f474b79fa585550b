//! [`View`]: the events of a query as the chosen output writes them — a table, JSON lines,
//! YAML documents or a timeline.

use std::io::IsTerminal;

use event_core::Event;
use event_history::{Layout, Printer, TableWriter};
use jiff::Timestamp;

use super::HistoryError;
use super::cli::{Args, Output};
use super::timeline::{Charset, Timeline};

/// Writes each event of a query in the chosen output, into a buffer the caller writes out.
#[derive(Debug)]
#[must_use = "a view does nothing until events are printed"]
pub struct View {
    kind: Kind,
    /// Relative ages measured at the clock of each row (when following without --now).
    ages_now: bool,
}

#[derive(Debug)]
enum Kind {
    Rows(Printer),
    Yaml,
    Timeline(Box<Timeline>),
}

impl View {
    /// The view `args` ask for; `now` is the instant ages are measured at, `since`/`until` the
    /// range a timeline spans.
    pub fn new(args: &Args, now: Timestamp, since: Timestamp, until: Option<Timestamp>) -> Self {
        let kind = match args.output() {
            Output::Json => Kind::Rows(Printer::json()),
            Output::Yaml => Kind::Yaml,
            Output::Timeline => {
                let charset = if args.ascii || !utf8_locale() {
                    Charset::Ascii
                } else {
                    Charset::Unicode
                };
                Kind::Timeline(Box::new(Timeline::new(
                    since,
                    until.unwrap_or(now),
                    charset,
                )))
            }
            Output::Table | Output::Wide => {
                let layout = match args.output() {
                    Output::Wide => Layout::Wide,
                    _ => Layout::Table,
                };
                let mut table = TableWriter::new(layout);
                if args.namespace.len() != 1 || args.all_namespaces {
                    table = table.namespace_column();
                }
                if args.cluster.len() > 1 {
                    table = table.cluster_column();
                }
                if args.relative {
                    table = table.relative_to(now);
                }
                let printer = Printer::table(table);
                Kind::Rows(if args.no_headers {
                    printer.no_headers()
                } else {
                    printer
                })
            }
        };
        View {
            kind,
            ages_now: args.relative && args.now.is_none(),
        }
    }

    /// Appends `event` to `out` (a table or a timeline may hold it for now).
    ///
    /// # Errors
    ///
    /// If the event cannot be serialized, which the derived `Serialize` never does.
    pub fn print(&mut self, out: &mut Vec<u8>, event: &Event) -> Result<(), HistoryError> {
        match &mut self.kind {
            Kind::Rows(printer) => {
                if self.ages_now {
                    printer.set_now(Timestamp::now());
                }
                printer.print(out, event).map_err(HistoryError::Json)
            }
            Kind::Yaml => {
                let document = yaml_serde::to_string(event).map_err(HistoryError::Yaml)?;
                out.extend_from_slice(b"---\n");
                out.extend_from_slice(document.as_bytes());
                Ok(())
            }
            Kind::Timeline(timeline) => {
                timeline.add(event);
                Ok(())
            }
        }
    }

    /// Appends what a table holds, fixing its column widths: when the reader has to wait.
    pub fn flush(&mut self, out: &mut Vec<u8>) {
        if let Kind::Rows(printer) = &mut self.kind {
            printer.flush(out);
        }
    }

    /// Appends everything still held, at the end: the rest of a table, or the timeline.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        match &mut self.kind {
            Kind::Rows(printer) => printer.flush(out),
            Kind::Yaml => {}
            Kind::Timeline(timeline) => {
                if !timeline.is_empty() {
                    out.extend_from_slice(timeline.render().as_bytes());
                }
            }
        }
    }
}

/// Whether the locale says UTF-8 (`LC_ALL`, `LC_CTYPE`, `LANG`, the first set); a terminal
/// without any says nothing, and then UTF-8 is assumed only when stdout is not a terminal.
fn utf8_locale() -> bool {
    let locale = ["LC_ALL", "LC_CTYPE", "LANG"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()));
    match locale {
        Some(value) => {
            let value = value.to_ascii_lowercase();
            value.contains("utf-8") || value.contains("utf8")
        }
        None => !std::io::stdout().is_terminal(),
    }
}
