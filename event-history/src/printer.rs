//! [`Printer`]: events one at a time as JSON lines or as a table, for a history tool.

use event_core::Event;
use jiff::Timestamp;

use crate::table::TableWriter;

/// Prints events one at a time as JSON lines or as a table (its header before the first row):
/// what a history tool writes for `-o json`, `-o table` and `-o wide`.
///
/// A table holds its first rows to size its columns (see [`TableWriter`]): call
/// [`flush`](Self::flush) when the reader has to wait and at the end.
///
/// ```
/// use event_core::testing::sample_event;
/// use event_history::{Layout, Printer, TableWriter};
///
/// let event = sample_event("u1", 7, "payments");
/// let mut json = Printer::json();
/// let mut out = Vec::new();
/// json.print(&mut out, &event)?;
/// assert_eq!(out, [serde_json::to_vec(&event)?, b"\n".to_vec()].concat());
///
/// let mut table = Printer::table(TableWriter::new(Layout::Table));
/// let mut out = Vec::new();
/// table.print(&mut out, &event)?;
/// table.print(&mut out, &event)?;
/// table.flush(&mut out);
/// assert_eq!(String::from_utf8(out)?.lines().count(), 3, "one header, two rows");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
#[must_use = "a printer does nothing until events are printed"]
pub struct Printer {
    table: Option<TableWriter>,
    header_written: bool,
}

impl Printer {
    /// One JSON object per line: the record as the sinks store it.
    pub fn json() -> Self {
        Printer {
            table: None,
            header_written: false,
        }
    }

    /// Rows of `table`, after its header.
    pub fn table(table: TableWriter) -> Self {
        Printer {
            table: Some(table),
            header_written: false,
        }
    }

    /// Rows only, without the header line (`kubectl --no-headers`).
    pub fn no_headers(mut self) -> Self {
        self.header_written = true;
        self
    }

    /// Moves the instant ages are measured from, for a relative table; see
    /// [`TableWriter::set_now`].
    pub fn set_now(&mut self, now: Timestamp) {
        if let Some(table) = self.table.as_mut() {
            table.set_now(now);
        }
    }

    /// Appends `event` (and, before the first row of a table, the header) to `out`; a table
    /// may hold it until its widths are known.
    ///
    /// # Errors
    ///
    /// Only if the event cannot be serialized, which the derived `Serialize` never does.
    pub fn print(&mut self, out: &mut Vec<u8>, event: &Event) -> Result<(), serde_json::Error> {
        let Some(table) = self.table.as_mut() else {
            return sink_stdout::write_json_line(out, event);
        };
        let mut text = String::new();
        if !self.header_written {
            table.header(&mut text);
            self.header_written = true;
        }
        table.row(&mut text, event);
        out.extend_from_slice(text.as_bytes());
        Ok(())
    }

    /// Appends what a table holds, fixing its widths; see [`TableWriter::flush`].
    pub fn flush(&mut self, out: &mut Vec<u8>) {
        if let Some(table) = self.table.as_mut() {
            let mut text = String::new();
            table.flush(&mut text);
            out.extend_from_slice(text.as_bytes());
        }
    }
}
