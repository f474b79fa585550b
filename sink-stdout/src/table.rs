//! [`TableWriter`]: events as a table in the shape of `kubectl get events`, written row by row.

use std::borrow::Cow;
use std::fmt::Write as _;

use event_core::Event;
use jiff::{SignedDuration, Timestamp};

use crate::escape::escape_control;

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
            Column::Namespace => 12,
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

/// Writes events as an aligned table, one row at a time, in the shape of `kubectl get events`.
///
/// A history streams, so the widths cannot be measured over all rows first: each column starts
/// at a width that fits typical values and widens for good when a longer value comes, so rows
/// after a long value shift right and the output stays the same for the same events.
/// `MESSAGE` is last because it is the one unbounded column (a column after it could not line
/// up); newlines in it become spaces, so a row is always one line, and every other control
/// character in any cell is shown escaped ([`escape_control`](crate::escape_control)).
///
/// Times are absolute by default (`2026-11-24T10:02:11Z`: a postmortem timeline needs the
/// instant, and an age is stale by the time it is read), or ages like kubectl's (`5m`,
/// `3h12m`, `2d4h`) with [`relative_to`](Self::relative_to).
///
/// ```
/// use event_core::testing::sample_event;
/// use sink_stdout::{Layout, TableWriter};
///
/// let mut event = sample_event("u1", 7, "payments");
/// event.last_seen = "2026-11-24T10:02:11Z".parse()?;
/// event.count = 5;
/// let mut table = TableWriter::new(Layout::Table);
/// let mut out = String::new();
/// table.header(&mut out);
/// table.row(&mut out, &event);
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
}

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
        TableWriter::with_columns(columns, None)
    }

    fn with_columns(columns: Vec<Column>, now: Option<Timestamp>) -> Self {
        let widths = columns
            .iter()
            .map(|c| c.start_width(now.is_some()))
            .collect();
        TableWriter {
            columns,
            widths,
            now,
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
        TableWriter::with_columns(columns, self.now)
    }

    /// Shows times as their age at `now`, like kubectl (`5m`, `3h12m`); see [`human_age`].
    pub fn relative_to(self, now: Timestamp) -> Self {
        TableWriter::with_columns(self.columns, Some(now))
    }

    /// Moves the instant ages are measured from (when following, before each row).
    pub fn set_now(&mut self, now: Timestamp) {
        if self.now.is_some() {
            self.now = Some(now);
        }
    }

    /// Appends the header line.
    pub fn header(&mut self, out: &mut String) {
        let cells: Vec<String> = self.columns.iter().map(|c| c.header().to_owned()).collect();
        self.line(out, cells);
    }

    /// Appends the row of `event`.
    pub fn row(&mut self, out: &mut String, event: &Event) {
        let cells = self
            .columns
            .iter()
            .map(|column| self.cell(*column, event))
            .collect();
        self.line(out, cells);
    }

    fn cell(&self, column: Column, event: &Event) -> String {
        let text = match column {
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
        let start = out.len();
        let last = cells.len().saturating_sub(1);
        for (i, cell) in cells.iter().enumerate() {
            if i == last {
                out.push_str(cell);
                break;
            }
            let chars = cell.chars().count();
            if let Some(width) = self.widths.get_mut(i) {
                *width = (*width).max(chars);
                let _ = write!(out, "{cell:<width$}{GAP}", width = *width);
            }
        }
        // An empty last cell would leave the padding of the one before it.
        let kept = out[start..].trim_end_matches(' ').len();
        out.truncate(start + kept);
        out.push('\n');
    }
}

/// Prints events one at a time as JSON lines or as a table (its header before the first row):
/// what a history tool writes for `-o json`, `-o table` and `-o wide`.
///
/// ```
/// use event_core::testing::sample_event;
/// use sink_stdout::{Layout, Printer, TableWriter};
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

    /// Moves the instant ages are measured from, for a relative table; see
    /// [`TableWriter::set_now`].
    pub fn set_now(&mut self, now: Timestamp) {
        if let Some(table) = self.table.as_mut() {
            table.set_now(now);
        }
    }

    /// Appends `event` (and, before the first row of a table, the header) to `out`.
    ///
    /// # Errors
    ///
    /// Only if the event cannot be serialized, which the derived `Serialize` never does.
    pub fn print(&mut self, out: &mut Vec<u8>, event: &Event) -> Result<(), serde_json::Error> {
        let Some(table) = self.table.as_mut() else {
            return crate::format::write_json_line(out, event);
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
}

/// An age as `kubectl get` prints it (`HumanDuration` of k8s.io/apimachinery): `45s` up to two
/// minutes, `5m30s` up to ten, `42m` up to three hours, `3h12m` up to eight, `20h` up to two
/// days, `3d4h` up to eight, then `15d`, `1y20d`, `9y`. A time in the future by more than a
/// second (clocks disagree) is `<invalid>`.
///
/// ```
/// use jiff::SignedDuration;
/// use sink_stdout::human_age;
///
/// assert_eq!(human_age(SignedDuration::from_secs(90)), "90s");
/// assert_eq!(human_age(SignedDuration::from_secs(330)), "5m30s");
/// assert_eq!(human_age(SignedDuration::from_mins(192)), "3h12m");
/// assert_eq!(human_age(SignedDuration::from_hours(100)), "4d4h");
/// ```
pub fn human_age(age: SignedDuration) -> String {
    let seconds = age.as_secs();
    if seconds < -1 {
        return "<invalid>".to_owned();
    }
    if seconds < 0 {
        return "0s".to_owned();
    }
    if seconds < 120 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        return match seconds % 60 {
            0 => format!("{minutes}m"),
            s => format!("{minutes}m{s}s"),
        };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        return match minutes % 60 {
            0 => format!("{hours}h"),
            m => format!("{hours}h{m}m"),
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        return match hours % 24 {
            0 => format!("{}d", hours / 24),
            h => format!("{}d{h}h", hours / 24),
        };
    }
    let days = hours / 24;
    if days < 365 * 2 {
        return format!("{days}d");
    }
    if days < 365 * 8 {
        return match days % 365 {
            0 => format!("{}y", days / 365),
            d => format!("{}y{d}d", days / 365),
        };
    }
    format!("{}y", days / 365)
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
        let mut table = TableWriter::new(Layout::Wide).relative_to(ts("2026-11-24T10:07:11Z"));
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
        let mut table = TableWriter::new(Layout::Table);
        table.set_now(ts("2026-11-24T13:07:11Z"));
        let mut out = String::new();
        table.row(&mut out, &event());
        assert!(out.starts_with("2026-11-24T10:02:11Z"), "{out}");
    }

    #[test]
    fn a_long_value_widens_its_column_for_the_rows_after_it() {
        let mut long = event();
        long.regarding.name = "api-7d9f5c6b8-x2x9q-with-a-very-long-name".into();
        let out = render(TableWriter::new(Layout::Table), &[event(), long, event()]);
        let lines: Vec<&str> = out.lines().collect();
        let count_at = |line: &str| line.find("12 ").unwrap();
        assert_eq!(count_at(lines[1]), 89);
        assert_eq!(count_at(lines[2]), count_at(lines[3]));
        assert!(count_at(lines[3]) > count_at(lines[1]));
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
                !out.chars().any(|c| c != '\n' && crate::is_escaped(c)),
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

    #[test]
    fn ages_follow_kubectl() {
        let secs = |s: i64| human_age(SignedDuration::from_secs(s));
        assert_eq!(secs(-5), "<invalid>");
        assert_eq!(secs(-1), "0s");
        assert_eq!(secs(0), "0s");
        assert_eq!(secs(119), "119s");
        assert_eq!(secs(120), "2m");
        assert_eq!(secs(599), "9m59s");
        assert_eq!(secs(600), "10m");
        assert_eq!(secs(179 * 60 + 59), "179m");
        assert_eq!(secs(3 * 3600), "3h");
        assert_eq!(secs(7 * 3600 + 59 * 60), "7h59m");
        assert_eq!(secs(8 * 3600), "8h");
        assert_eq!(secs(47 * 3600), "47h");
        assert_eq!(secs(48 * 3600), "2d");
        assert_eq!(secs(7 * 86_400 + 23 * 3600), "7d23h");
        assert_eq!(secs(8 * 86_400), "8d");
        assert_eq!(secs(729 * 86_400), "729d");
        assert_eq!(secs(730 * 86_400), "2y");
        assert_eq!(secs(731 * 86_400), "2y1d");
        assert_eq!(secs(9 * 365 * 86_400), "9y");
    }
}
