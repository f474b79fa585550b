//! [`TableWriter`]: events as a table in the shape of `kubectl get events`, columns sized from
//! the first rows and never shifted.
//!
//! Over 400 lines with its tests only (about 330 without): each of kubectl's column rules has one.

use std::borrow::Cow;
use std::fmt::Write as _;

use event_core::Event;
use jiff::Timestamp;

use crate::age::human_age;
use sink_stdout::escape_control;

/// Spaces between two columns, as kubectl's printer pads.
const GAP: &str = "   ";

/// The columns of a [`TableWriter`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Layout {
    /// `LAST SEEN  TYPE  REASON  OBJECT  COUNT  MESSAGE`, like `kubectl get events`.
    #[default]
    Table,
    /// Adds `NAMESPACE`, `FIRST SEEN`, `SUBOBJECT` (the field path) and `SOURCE` (reporting
    /// controller and instance), like `kubectl get events -o wide`.
    Wide,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Column {
    Cluster,
    Namespace,
    LastSeen,
    FirstSeen,
    Type,
    Reason,
    Object,
    Subobject,
    Source,
    Count,
    Message,
}

impl Column {
    fn header(self) -> &'static str {
        match self {
            Column::Cluster => "CLUSTER",
            Column::Namespace => "NAMESPACE",
            Column::LastSeen => "LAST SEEN",
            Column::FirstSeen => "FIRST SEEN",
            Column::Type => "TYPE",
            Column::Reason => "REASON",
            Column::Object => "OBJECT",
            Column::Subobject => "SUBOBJECT",
            Column::Source => "SOURCE",
            Column::Count => "COUNT",
            Column::Message => "MESSAGE",
        }
    }

    /// The width a column starts with, so that typical rows line up from the first one.
    fn start_width(self, relative: bool) -> usize {
        let width = match self {
            Column::LastSeen | Column::FirstSeen if relative => 9,
            Column::LastSeen | Column::FirstSeen => "2026-11-24T10:02:11Z".len(),
            Column::Cluster | Column::Namespace => 12,
            Column::Type => "Warning".len(),
            Column::Reason => "ScalingReplicaSet".len() + 1,
            Column::Object => 32,
            Column::Subobject => 22,
            Column::Source => "kubelet, ip-10-0-1-7.ec2.internal".len(),
            Column::Count => 5,
            Column::Message => 0,
        };
        width.max(self.header().len())
    }
}

/// Writes events as an aligned table in the shape of `kubectl get events`: columns never
/// shift.
///
/// A history streams, so the widths cannot be measured over all rows first. The writer holds
/// the first rows (a screenful and more: [`DEFAULT_SIZING_ROWS`], or
/// [`sizing_rows`](Self::sizing_rows)), sizes each column to the widest of its values there
/// (never narrower than a width that fits typical values, never wider than [`MAX_WIDTH`]),
/// writes them, and from then on clips a longer value with `…` instead of widening: every row
/// lines up with the header. [`flush`](Self::flush) fixes the widths early, when the reader
/// has to wait (the range is read and a watch goes on) or at the end.
///
/// `MESSAGE` is last because it is the one unbounded column (a column after it could not line
/// up); it is never clipped, and newlines in it become spaces, so a row is always one line.
/// Every other control character in any cell is shown escaped
/// ([`escape_control`](sink_stdout::escape_control)).
///
/// Times are absolute by default (`2026-11-24T10:02:11Z`: a postmortem timeline needs the
/// instant, and an age is stale by the time it is read), or ages like kubectl's (`5m`,
/// `3h12m`, `2d4h`) with [`relative_to`](Self::relative_to).
///
/// ```
/// use event_core::testing::sample_event;
/// use event_history::{Layout, TableWriter};
///
/// let mut event = sample_event("u1", 7, "payments");
/// event.last_seen = "2026-11-24T10:02:11Z".parse()?;
/// event.count = 5;
/// let mut table = TableWriter::new(Layout::Table);
/// let mut out = String::new();
/// table.header(&mut out);
/// table.row(&mut out, &event);
/// assert_eq!(out, "", "held until the widths are known");
/// table.flush(&mut out);
/// assert_eq!(
///     out,
///     "LAST SEEN              TYPE      REASON               OBJECT                             COUNT   MESSAGE\n\
///      2026-11-24T10:02:11Z   Warning   BackOff              pod/api-7d9f                       5       Back-off restarting failed container app in pod api-7d9f\n"
/// );
/// # Ok::<(), jiff::Error>(())
/// ```
#[derive(Clone, Debug)]
#[must_use = "a table writer does nothing until rows are written"]
pub struct TableWriter {
    columns: Vec<Column>,
    widths: Vec<usize>,
    now: Option<Timestamp>,
    sizing_rows: usize,
    /// Lines held while the widths are measured; `None` once they are fixed.
    held: Option<Vec<Vec<String>>>,
}

/// Rows a [`TableWriter`] holds by default to size its columns: more than a screenful.
pub const DEFAULT_SIZING_ROWS: usize = 200;

/// The widest a column other than the last grows to; longer values are clipped with `…`.
pub const MAX_WIDTH: usize = 64;

impl TableWriter {
    /// A writer of `layout`'s columns with absolute times.
    pub fn new(layout: Layout) -> Self {
        let columns = match layout {
            Layout::Table => vec![
                Column::LastSeen,
                Column::Type,
                Column::Reason,
                Column::Object,
                Column::Count,
                Column::Message,
            ],
            Layout::Wide => vec![
                Column::Namespace,
                Column::LastSeen,
                Column::FirstSeen,
                Column::Type,
                Column::Reason,
                Column::Object,
                Column::Subobject,
                Column::Source,
                Column::Count,
                Column::Message,
            ],
        };
        TableWriter::with_columns(columns, None, DEFAULT_SIZING_ROWS)
    }

    fn with_columns(columns: Vec<Column>, now: Option<Timestamp>, sizing_rows: usize) -> Self {
        let widths = columns
            .iter()
            .map(|c| c.start_width(now.is_some()))
            .collect();
        TableWriter {
            columns,
            widths,
            now,
            sizing_rows,
            held: Some(Vec::new()),
        }
    }

    /// Adds a `NAMESPACE` column first, as `kubectl get events --all-namespaces` does (the wide
    /// layout always has one).
    pub fn namespace_column(self) -> Self {
        if self.columns.contains(&Column::Namespace) {
            return self;
        }
        let mut columns = vec![Column::Namespace];
        columns.extend(self.columns);
        TableWriter::with_columns(columns, self.now, self.sizing_rows)
    }

    /// Adds a `CLUSTER` column first: the cluster each record names (`Event::cluster`), for a
    /// history merged from several clusters.
    pub fn cluster_column(self) -> Self {
        if self.columns.contains(&Column::Cluster) {
            return self;
        }
        let mut columns = vec![Column::Cluster];
        columns.extend(self.columns);
        TableWriter::with_columns(columns, self.now, self.sizing_rows)
    }

    /// Shows times as their age at `now`, like kubectl (`5m`, `3h12m`); see
    /// [`human_age`](crate::human_age).
    pub fn relative_to(self, now: Timestamp) -> Self {
        TableWriter::with_columns(self.columns, Some(now), self.sizing_rows)
    }

    /// Holds this many rows (default [`DEFAULT_SIZING_ROWS`]) to size the columns from; `0`
    /// fixes the starting widths at once and writes every row as it comes.
    pub fn sizing_rows(mut self, rows: usize) -> Self {
        self.sizing_rows = rows;
        if rows == 0 && self.held.as_ref().is_some_and(Vec::is_empty) {
            self.held = None;
        }
        self
    }

    /// Moves the instant ages are measured from (when following, before each row).
    pub fn set_now(&mut self, now: Timestamp) {
        if self.now.is_some() {
            self.now = Some(now);
        }
    }

    /// Appends the header line (or holds it with the first rows).
    pub fn header(&mut self, out: &mut String) {
        let cells: Vec<String> = self.columns.iter().map(|c| c.header().to_owned()).collect();
        self.line(out, cells);
    }

    /// Appends the row of `event` (or holds it while the widths are measured).
    pub fn row(&mut self, out: &mut String, event: &Event) {
        let cells = self
            .columns
            .iter()
            .map(|column| self.cell(*column, event))
            .collect();
        self.line(out, cells);
    }

    /// Fixes the column widths, if they are not yet, from the lines held, and appends those.
    pub fn flush(&mut self, out: &mut String) {
        let Some(held) = self.held.take() else {
            return;
        };
        let last = self.columns.len().saturating_sub(1);
        for (i, width) in self.widths.iter_mut().enumerate().take(last) {
            let widest = held
                .iter()
                .filter_map(|cells| cells.get(i))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0);
            *width = (*width).max(widest.min(MAX_WIDTH));
        }
        for cells in held {
            self.write_line(out, &cells);
        }
    }

    fn cell(&self, column: Column, event: &Event) -> String {
        let text = match column {
            Column::Cluster => event.cluster.clone().unwrap_or_default(),
            Column::Namespace => event.namespace.clone().unwrap_or_default(),
            Column::LastSeen => return self.time(event.last_seen),
            Column::FirstSeen => return self.time(event.first_seen),
            Column::Type => event.event_type.clone(),
            Column::Reason => event.reason.clone(),
            Column::Object => event.regarding.to_kubectl_string(),
            Column::Subobject => event.regarding.field_path.clone().unwrap_or_default(),
            Column::Source => {
                let parts: Vec<&str> = [&event.reporting_controller, &event.reporting_instance]
                    .into_iter()
                    .filter_map(|part| part.as_deref().filter(|p| !p.is_empty()))
                    .collect();
                parts.join(", ")
            }
            Column::Count => return event.count.to_string(),
            Column::Message => event.message.clone(),
        };
        // Every string from the cluster: shown, never acted on by the terminal.
        match escape_control(&text) {
            Cow::Borrowed(_) => text,
            Cow::Owned(escaped) => escaped,
        }
    }

    fn time(&self, at: Timestamp) -> String {
        match self.now {
            Some(now) => human_age(now.duration_since(at)),
            None => at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        }
    }

    fn line(&mut self, out: &mut String, cells: Vec<String>) {
        match self.held.as_mut() {
            Some(held) => {
                held.push(cells);
                // The header does not count as a row.
                if held.len() > self.sizing_rows {
                    self.flush(out);
                }
            }
            None => self.write_line(out, &cells),
        }
    }

    fn write_line(&self, out: &mut String, cells: &[String]) {
        let start = out.len();
        let last = cells.len().saturating_sub(1);
        for (i, cell) in cells.iter().enumerate() {
            if i == last {
                out.push_str(cell);
                break;
            }
            let width = self.widths.get(i).copied().unwrap_or(0);
            let _ = write!(out, "{:<width$}{GAP}", clip(cell, width));
        }
        // An empty last cell would leave the padding of the one before it.
        let kept = out[start..].trim_end_matches(' ').len();
        out.truncate(start + kept);
        out.push('\n');
    }
}

/// `cell` in at most `width` characters: cut, with `…` as its last, when longer.
fn clip(cell: &str, width: usize) -> Cow<'_, str> {
    if cell.chars().count() <= width {
        return Cow::Borrowed(cell);
    }
    let mut clipped: String = cell.chars().take(width.saturating_sub(1)).collect();
    clipped.push('…');
    Cow::Owned(clipped)
}

#[cfg(test)]
mod tests {
    use event_core::testing::sample_event;

    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn event() -> Event {
        let mut event = sample_event("u1", 7, "payments");
        event.first_seen = ts("2026-11-24T09:50:00Z");
        event.last_seen = ts("2026-11-24T10:02:11Z");
        event.count = 12;
        event.regarding.field_path = Some("spec.containers{app}".into());
        event.reporting_instance = Some("ip-10-0-1-7".into());
        event
    }

    fn render(mut table: TableWriter, events: &[Event]) -> String {
        let mut out = String::new();
        table.header(&mut out);
        for event in events {
            table.row(&mut out, event);
        }
        table.flush(&mut out);
        out
    }

    #[test]
    fn the_wide_layout_adds_namespace_first_seen_subobject_and_source() {
        let out = render(TableWriter::new(Layout::Wide), &[event()]);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[0],
            "NAMESPACE      LAST SEEN              FIRST SEEN             TYPE      REASON               \
             OBJECT                             SUBOBJECT                SOURCE                              COUNT   MESSAGE"
        );
        assert_eq!(
            lines[1],
            "payments       2026-11-24T10:02:11Z   2026-11-24T09:50:00Z   Warning   BackOff              \
             pod/api-7d9f                       spec.containers{app}     kubelet, ip-10-0-1-7                12      Back-off restarting failed container app in pod api-7d9f"
        );
    }

    #[test]
    fn a_namespace_column_can_be_added_to_the_table() {
        let out = render(
            TableWriter::new(Layout::Table).namespace_column(),
            &[event()],
        );
        assert!(out.starts_with("NAMESPACE      LAST SEEN "), "{out}");
        assert!(
            out.lines()
                .nth(1)
                .unwrap()
                .starts_with("payments       2026-11-24T10:02:11Z")
        );
        let wide = TableWriter::new(Layout::Wide).namespace_column();
        assert_eq!(render(wide, &[event()]).matches("NAMESPACE").count(), 1);
    }

    #[test]
    fn relative_times_are_ages_at_the_given_instant() {
        let mut table = TableWriter::new(Layout::Wide)
            .relative_to(ts("2026-11-24T10:07:11Z"))
            .sizing_rows(0);
        let mut out = String::new();
        table.row(&mut out, &event());
        assert!(
            out.starts_with("payments       5m          17m          Warning"),
            "{out}"
        );
        table.set_now(ts("2026-11-24T13:07:11Z"));
        out.clear();
        table.row(&mut out, &event());
        assert!(
            out.starts_with("payments       3h5m        3h17m        Warning"),
            "{out}"
        );
    }

    #[test]
    fn set_now_does_not_turn_absolute_times_relative() {
        let mut table = TableWriter::new(Layout::Table).sizing_rows(0);
        table.set_now(ts("2026-11-24T13:07:11Z"));
        let mut out = String::new();
        table.row(&mut out, &event());
        assert!(out.starts_with("2026-11-24T10:02:11Z"), "{out}");
    }

    /// Where each column of `line` starts, by the header's column names.
    fn starts(header: &str, line: &str) -> Vec<usize> {
        let chars: Vec<char> = line.chars().collect();
        ["TYPE", "REASON", "OBJECT", "SOURCE", "COUNT", "MESSAGE"]
            .iter()
            .filter_map(|name| header.find(name))
            .inspect(|&at| {
                // The cell starts where the header's does; the gap before it is blank.
                assert_eq!(chars.get(at - 1), Some(&' '), "{line:?} shifted at {at}");
                assert_ne!(chars.get(at), Some(&' '), "{line:?} shifted at {at}");
            })
            .collect()
    }

    fn scheduler() -> Event {
        let mut event = event();
        event.reporting_controller = Some("default-scheduler".into());
        event.reporting_instance = Some("default-scheduler-ip-10-0-1-12".into());
        event
    }

    #[test]
    fn a_long_value_in_the_first_rows_widens_its_column_for_every_row() {
        let mut long = event();
        long.regarding.name = "api-7d9f5c6b8-x2x9q-with-a-very-long-name".into();
        let out = render(
            TableWriter::new(Layout::Wide),
            &[event(), scheduler(), long, event()],
        );
        let lines: Vec<&str> = out.lines().collect();
        let header = lines[0];
        let expected = starts(header, header);
        for line in &lines[1..] {
            assert_eq!(starts(header, line), expected, "{out}");
        }
        assert!(out.contains("default-scheduler, default-scheduler-ip-10-0-1-12   12"));
        assert!(out.contains("x2x9q-with-a-very-long-name   spec"), "{out}");
        assert!(!out.contains('…'), "nothing clipped: {out}");
    }

    #[test]
    fn after_the_first_rows_a_longer_value_is_clipped_not_shifted() {
        let mut table = TableWriter::new(Layout::Wide).sizing_rows(2);
        let mut out = String::new();
        table.header(&mut out);
        table.row(&mut out, &event());
        assert_eq!(out, "", "held");
        table.row(&mut out, &event());
        assert_eq!(out.lines().count(), 3, "the first rows, once sized");
        table.row(&mut out, &scheduler());
        let lines: Vec<&str> = out.lines().collect();
        let expected = starts(lines[0], lines[0]);
        for line in &lines[1..] {
            assert_eq!(starts(lines[0], line), expected, "{out}");
        }
        assert!(
            lines[3].contains("   default-scheduler, default-sched…   12   "),
            "{out}"
        );
    }

    #[test]
    fn no_column_grows_past_the_maximum_width() {
        let mut huge = event();
        huge.reason = "R".repeat(200);
        let out = render(TableWriter::new(Layout::Table), &[huge, event()]);
        let lines: Vec<&str> = out.lines().collect();
        let clipped = format!("{}…   ", "R".repeat(MAX_WIDTH - 1));
        assert!(lines[1].contains(&clipped), "{out}");
        assert_eq!(starts(lines[0], lines[1]), starts(lines[0], lines[2]));
    }

    #[test]
    fn flushing_fixes_the_widths_and_later_rows_line_up() {
        let mut table = TableWriter::new(Layout::Table);
        let mut out = String::new();
        table.header(&mut out);
        table.row(&mut out, &event());
        table.flush(&mut out);
        table.flush(&mut out);
        let mut long = event();
        long.regarding.name = "x".repeat(40);
        table.row(&mut out, &long);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3, "{out}");
        assert_eq!(starts(lines[0], lines[1]), starts(lines[0], lines[2]));
        assert!(
            lines[2].contains(&format!("pod/{}…   12", "x".repeat(27))),
            "{out}"
        );
    }

    #[test]
    fn rows_are_single_lines_without_trailing_spaces() {
        let mut odd = event();
        odd.message = "first\nsecond\r\nthird\tfourth".into();
        let mut empty = event();
        empty.message.clear();
        let out = render(TableWriter::new(Layout::Table), &[odd, empty]);
        assert_eq!(out.lines().count(), 3, "{out}");
        assert!(out.contains("first second  third fourth"), "{out}");
        assert!(out.lines().all(|l| !l.ends_with(' ')), "{out:?}");
        assert!(out.lines().nth(2).unwrap().ends_with("12"), "{out}");
    }

    #[test]
    fn control_characters_in_any_cell_are_shown_escaped() {
        let mut evil = event();
        evil.namespace = Some("pay\x1b[2Jments".into());
        evil.reason = "Back\x1b]0;title\x07Off".into();
        evil.regarding.name = "api\u{202e}fdp".into();
        evil.regarding.field_path = Some("spec\u{9b}1m".into());
        evil.reporting_instance = Some("ip\x1b[8m".into());
        evil.message = "ok\x1b[1A\x1b[2Kforged row\rover".into();
        for layout in [Layout::Table, Layout::Wide] {
            let out = render(TableWriter::new(layout).namespace_column(), &[evil.clone()]);
            assert_eq!(out.lines().count(), 2, "{out:?}");
            assert!(
                !out.chars().any(|c| c != '\n' && sink_stdout::is_escaped(c)),
                "{out:?}"
            );
            assert!(out.contains("ok\\x1b[1A\\x1b[2Kforged row over"), "{out:?}");
            assert!(out.contains("Back\\x1b]0;title\\x07Off"), "{out:?}");
            assert!(out.contains("pod/api\\u{202e}fdp"), "{out:?}");
        }
        let wide = render(TableWriter::new(Layout::Wide), &[evil]);
        assert!(wide.contains("pay\\x1b[2Jments"), "{wide:?}");
        assert!(wide.contains("spec\\u{9b}1m"), "{wide:?}");
        assert!(wide.contains("ip\\x1b[8m"), "{wide:?}");
    }

    #[test]
    fn cluster_scoped_objects_and_missing_reporters_leave_cells_empty() {
        let mut node = event();
        node.namespace = None;
        node.regarding = event_core::ObjectRef::new("Node", "ip-10-0-1-7");
        node.reporting_controller = None;
        node.reporting_instance = None;
        let out = render(TableWriter::new(Layout::Wide), &[node]);
        let row = out.lines().nth(1).unwrap();
        assert!(
            row.starts_with("               2026-11-24T10:02:11Z"),
            "{row}"
        );
        assert!(row.contains("node/ip-10-0-1-7"), "{row}");
    }
}
