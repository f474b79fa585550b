//! [`Timeline`]: occurrences per time bucket by type, and the top reasons, drawn as text so
//! that an incident's shape shows at a glance.

use std::collections::HashMap;
use std::fmt::Write as _;

use event_core::Event;
use jiff::{SignedDuration, Timestamp};
use sink_stdout::escape_control;

/// The most columns (buckets) a timeline draws; the bucket is the smallest round duration
/// that fits the range in as many.
pub const MAX_BUCKETS: i64 = 60;

/// Lines of each type's chart; each line has eight levels with Unicode blocks.
const HEIGHT: usize = 3;

/// Reasons listed under the chart.
const TOP_REASONS: usize = 5;

/// The longest bar of the reasons list.
const REASON_BAR: u64 = 30;

/// Round bucket sizes, in seconds.
const BUCKETS: [i64; 21] = [
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400,
    172_800, 604_800, 2_592_000,
];

/// The characters a timeline is drawn with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Charset {
    /// Eighth blocks (`▁▂▃▄▅▆▇█`) and box-drawing lines.
    Unicode,
    /// `.`, `:`, `#`, `|`, `+`, `-`: for terminals or fonts without UTF-8.
    Ascii,
}

impl Charset {
    /// The cell of a line that is `eighths` / 8 filled.
    fn level(self, eighths: u64) -> char {
        let index = usize::try_from(eighths.min(8)).unwrap_or(8);
        match self {
            Charset::Unicode => [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'][index],
            Charset::Ascii => [' ', '.', '.', ':', ':', ':', '#', '#', '#'][index],
        }
    }

    fn parts(self) -> (char, char, char, char) {
        // (vertical axis, corner, horizontal axis, tick)
        match self {
            Charset::Unicode => ('│', '└', '─', '┬'),
            Charset::Ascii => ('|', '+', '-', '+'),
        }
    }
}

/// Counts occurrences (one per event printed) per bucket of the range, by type, and per
/// reason; [`render`](Self::render) draws them.
#[derive(Clone, Debug)]
#[must_use = "a timeline does nothing until events are added and it is rendered"]
pub struct Timeline {
    start: Timestamp,
    end: Timestamp,
    bucket: SignedDuration,
    warning: Vec<u64>,
    normal: Vec<u64>,
    reasons: HashMap<(bool, String), u64>,
    charset: Charset,
}

impl Timeline {
    /// A timeline of `since..=until`, in at most [`MAX_BUCKETS`] buckets of a round size that
    /// start at a round time.
    pub fn new(since: Timestamp, until: Timestamp, charset: Charset) -> Self {
        let span = until.as_second().saturating_sub(since.as_second()).max(1);
        let size = BUCKETS
            .iter()
            .copied()
            .find(|size| (span + size - 1) / size < MAX_BUCKETS)
            .unwrap_or(BUCKETS[BUCKETS.len() - 1]);
        let first = since.as_second().div_euclid(size) * size;
        let count = (until.as_second() - first).div_euclid(size) + 1;
        let count = usize::try_from(count.clamp(1, MAX_BUCKETS)).unwrap_or(1);
        Timeline {
            start: Timestamp::from_second(first).unwrap_or(since),
            end: until,
            bucket: SignedDuration::from_secs(size),
            warning: vec![0; count],
            normal: vec![0; count],
            reasons: HashMap::new(),
            charset,
        }
    }

    /// Counts `event` in the bucket of its `lastSeen` (the first or last bucket when outside).
    pub fn add(&mut self, event: &Event) {
        let offset = event.last_seen.as_second() - self.start.as_second();
        let index = usize::try_from(offset.div_euclid(self.bucket.as_secs()))
            .unwrap_or(0)
            .min(self.warning.len() - 1);
        let warning = event.is_warning();
        let buckets = if warning {
            &mut self.warning
        } else {
            &mut self.normal
        };
        buckets[index] += 1;
        *self
            .reasons
            .entry((warning, event.reason.clone()))
            .or_default() += 1;
    }

    /// Whether no event was added.
    pub fn is_empty(&self) -> bool {
        self.reasons.is_empty()
    }

    /// The chart: a title line, a chart per type on one scale, the time axis, the top reasons.
    pub fn render(&self) -> String {
        let warnings: u64 = self.warning.iter().sum();
        let normals: u64 = self.normal.iter().sum();
        let max = self
            .warning
            .iter()
            .chain(&self.normal)
            .copied()
            .max()
            .unwrap_or(0)
            .max(1);
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Occurrences from {} to {}, {} per column: {warnings} Warning, {normals} Normal",
            rfc3339(self.start),
            rfc3339(self.end),
            short_duration(self.bucket),
        );
        out.push('\n');
        self.chart(&mut out, "Warning", &self.warning, max);
        self.chart(&mut out, "Normal", &self.normal, max);
        self.axis(&mut out);
        self.top_reasons(&mut out);
        out
    }

    fn chart(&self, out: &mut String, name: &str, buckets: &[u64], max: u64) {
        let (vertical, ..) = self.charset.parts();
        let levels = HEIGHT as u64 * 8;
        for line in 0..HEIGHT {
            let label = if line == 0 {
                format!("{name:<8}{max:>4} ")
            } else {
                " ".repeat(13)
            };
            out.push_str(&label);
            out.push(vertical);
            let below = (HEIGHT - 1 - line) as u64 * 8;
            let cells: String = buckets
                .iter()
                .map(|&count| {
                    // Any occurrence shows, as at least the lowest level.
                    let filled = (count * levels).div_ceil(max);
                    self.charset.level(filled.saturating_sub(below))
                })
                .collect();
            out.push_str(cells.trim_end());
            out.push('\n');
        }
    }

    fn axis(&self, out: &mut String) {
        let (_, corner, horizontal, tick) = self.charset.parts();
        let columns = self.warning.len();
        let format = if self.bucket >= SignedDuration::from_hours(24) {
            "%m-%d"
        } else if self.bucket >= SignedDuration::from_hours(1) {
            "%m-%dT%H"
        } else if self.bucket >= SignedDuration::from_mins(1) {
            "%H:%M"
        } else {
            "%H:%M:%S"
        };
        let width = self.start.strftime(format).to_string().chars().count();
        let every = (width + 2).max(10);
        let mut line = " ".repeat(13);
        line.push(corner);
        let mut labels = " ".repeat(14);
        for column in 0..columns {
            if column % every == 0 {
                line.push(tick);
                let at = self.start + self.bucket * i32::try_from(column).unwrap_or(0);
                let _ = write!(labels, "{:<every$}", at.strftime(format).to_string());
            } else {
                line.push(horizontal);
            }
        }
        out.push_str(&line);
        out.push('\n');
        out.push_str(labels.trim_end());
        out.push('\n');
    }

    fn top_reasons(&self, out: &mut String) {
        let mut reasons: Vec<(&(bool, String), &u64)> = self.reasons.iter().collect();
        // Most first; on a tie warnings first, then by name.
        reasons.sort_by(|a, b| {
            (b.1, b.0.0)
                .cmp(&(a.1, a.0.0))
                .then_with(|| a.0.1.cmp(&b.0.1))
        });
        let Some(&(_, &most)) = reasons.first() else {
            return;
        };
        out.push_str("\nTop reasons\n");
        for ((warning, reason), count) in reasons.into_iter().take(TOP_REASONS) {
            let kind = if *warning { "Warning" } else { "Normal" };
            let bar_length = (count * REASON_BAR).div_ceil(most);
            let bar: String = std::iter::repeat_n(
                self.charset.level(8),
                usize::try_from(bar_length).unwrap_or(0),
            )
            .collect();
            let reason = clip(&escape_control(reason), 24);
            let _ = writeln!(out, "  {reason:<24} {kind:<8} {count:>6}  {bar}");
        }
    }
}

fn rfc3339(at: Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// `90s` → `1m30s` style, for a round bucket size.
fn short_duration(duration: SignedDuration) -> String {
    let seconds = duration.as_secs();
    match seconds {
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

fn clip(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut clipped: String = text.chars().take(width - 1).collect();
    clipped.push('~');
    clipped
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn event(at: &str, kind: &str, reason: &str) -> Event {
        let mut event = Event::new("u", "1");
        event.last_seen = ts(at);
        event.event_type = kind.into();
        event.reason = reason.into();
        event
    }

    #[test]
    fn buckets_are_round_and_at_most_sixty() {
        let cases = [
            ("2026-11-24T09:50:00Z", "2026-11-24T10:30:00Z", 60, 41),
            ("2026-11-24T09:00:00Z", "2026-11-24T15:00:00Z", 600, 37),
            ("2026-11-24T00:00:00Z", "2026-12-01T00:00:00Z", 10_800, 57),
            ("2026-11-24T10:00:07Z", "2026-11-24T10:00:37Z", 1, 31),
        ];
        for (since, until, size, count) in cases {
            let timeline = Timeline::new(ts(since), ts(until), Charset::Unicode);
            assert_eq!(
                (timeline.bucket.as_secs(), timeline.warning.len()),
                (size, count),
                "{since}..{until}"
            );
        }
    }

    #[test]
    fn occurrences_land_in_their_bucket_by_type() {
        let mut timeline = Timeline::new(
            ts("2026-11-24T09:50:00Z"),
            ts("2026-11-24T10:30:00Z"),
            Charset::Ascii,
        );
        timeline.add(&event("2026-11-24T09:50:59Z", "Warning", "BackOff"));
        timeline.add(&event("2026-11-24T09:51:00Z", "Warning", "BackOff"));
        timeline.add(&event("2026-11-24T10:30:00Z", "Normal", "Pulled"));
        timeline.add(&event("2026-11-24T11:30:00Z", "Normal", "Late"));
        assert_eq!(&timeline.warning[..3], [1, 1, 0]);
        assert_eq!(timeline.normal[40], 2, "the last bucket, and clamped");
        let chart = timeline.render();
        assert!(chart.contains("2 Warning, 2 Normal"), "{chart}");
        assert!(
            chart.contains("  BackOff                  Warning       2  ###"),
            "{chart}"
        );
        assert!(chart.is_ascii(), "{chart}");
    }

    #[test]
    fn reasons_from_the_cluster_are_escaped() {
        let mut timeline = Timeline::new(
            ts("2026-11-24T09:50:00Z"),
            ts("2026-11-24T10:30:00Z"),
            Charset::Unicode,
        );
        timeline.add(&event("2026-11-24T10:00:00Z", "Warning", "Bad\x1b[2J"));
        let chart = timeline.render();
        assert!(chart.contains("Bad\\x1b[2J"), "{chart}");
        assert!(!chart.contains('\x1b'), "{chart:?}");
    }
}
