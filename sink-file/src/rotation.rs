//! [`Rotation`]: when the sink closes the current file and starts the next.

use std::fmt;

use jiff::Timestamp;

/// When to close the current file and start a new one: at the start of each hour or day (UTC),
/// or never by time; and, optionally, before a file would grow past a size. Whichever comes first
/// wins.
///
/// A batch is never split across files: a file reaching the size limit is closed *before* the
/// batch that would cross it, and a single batch larger than the limit is written whole to a file
/// of its own.
///
/// ```
/// use sink_file::Rotation;
///
/// let rotation = Rotation::HOURLY.with_max_bytes(64 * 1024 * 1024);
/// assert_eq!(rotation.max_bytes(), Some(64 * 1024 * 1024));
/// assert_eq!(Rotation::DAILY.max_bytes(), None);
/// assert_eq!(rotation.to_string(), "hourly or at 67108864 bytes");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rotation {
    period: Period,
    /// 0 when there is no size limit.
    max_bytes: u64,
}

/// How often a new file starts by time. Private so that periods can be added without breaking
/// callers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Period {
    Hourly,
    Daily,
    Never,
}

/// Why the sink started a new file, for logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RotateReason {
    /// The current file's hour or day is over.
    Period,
    /// The batch would grow the current file past the size limit.
    Size,
}

impl RotateReason {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RotateReason::Period => "period",
            RotateReason::Size => "size",
        }
    }
}

const HOUR_SECONDS: i64 = 3600;
const DAY_SECONDS: i64 = 24 * HOUR_SECONDS;

impl Rotation {
    /// A new file at the start of every hour (UTC), without a size limit.
    pub const HOURLY: Rotation = Rotation::of(Period::Hourly);
    /// A new file at the start of every day (UTC midnight), without a size limit.
    pub const DAILY: Rotation = Rotation::of(Period::Daily);
    /// Never a new file by time; combine with [`with_max_bytes`](Self::with_max_bytes) to rotate
    /// by size only.
    pub const NEVER: Rotation = Rotation::of(Period::Never);

    const fn of(period: Period) -> Self {
        Rotation {
            period,
            max_bytes: 0,
        }
    }

    pub(crate) const fn from_period(period: Period) -> Self {
        Rotation::of(period)
    }

    /// The same rotation, also starting a new file before one would grow past `bytes`; `0`
    /// removes the size limit.
    #[must_use]
    pub const fn with_max_bytes(self, bytes: u64) -> Self {
        Rotation {
            max_bytes: bytes,
            ..self
        }
    }

    /// The size limit of a file in bytes, if any.
    pub const fn max_bytes(&self) -> Option<u64> {
        if self.max_bytes == 0 {
            None
        } else {
            Some(self.max_bytes)
        }
    }

    /// The name of the time period: `hourly`, `daily` or `never`, as written in the config.
    pub fn period_name(&self) -> &'static str {
        match self.period {
            Period::Hourly => "hourly",
            Period::Daily => "daily",
            Period::Never => "never",
        }
    }

    /// The start of the period (UTC hour or day) that `now` falls in; `None` for
    /// [`NEVER`](Self::NEVER).
    pub fn period_start(&self, now: Timestamp) -> Option<Timestamp> {
        let length = match self.period {
            Period::Hourly => HOUR_SECONDS,
            Period::Daily => DAY_SECONDS,
            Period::Never => return None,
        };
        let start = now.as_second().div_euclid(length) * length;
        Some(Timestamp::from_second(start).unwrap_or(now))
    }

    /// The time stamp of a file started at `now`: the start of its period, or `now` to the second
    /// when rotating by size only.
    pub(crate) fn stamp_for(&self, now: Timestamp) -> Timestamp {
        self.period_start(now)
            .unwrap_or_else(|| Timestamp::from_second(now.as_second()).unwrap_or(now))
    }

    /// Whether a file stamped `file_start`, `file_len` bytes long, must be closed before a batch
    /// of `incoming` bytes is written at `now`.
    pub(crate) fn due(
        &self,
        file_start: Timestamp,
        file_len: u64,
        incoming: u64,
        now: Timestamp,
    ) -> Option<RotateReason> {
        // A clock that went back never rotates: the stamp stays ahead until time catches up.
        if self
            .period_start(now)
            .is_some_and(|start| start > file_start)
        {
            return Some(RotateReason::Period);
        }
        if self.is_full(file_len, incoming) {
            return Some(RotateReason::Size);
        }
        None
    }

    /// Whether a file of `file_len` bytes has no room for `incoming` more. An empty file always
    /// has room, so that a batch larger than the limit is still written.
    pub(crate) fn is_full(&self, file_len: u64, incoming: u64) -> bool {
        self.max_bytes()
            .is_some_and(|max| file_len > 0 && file_len.saturating_add(incoming) > max)
    }
}

impl fmt::Display for Rotation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.period, self.max_bytes()) {
            (Period::Never, Some(max)) => write!(f, "at {max} bytes"),
            (_, Some(max)) => write!(f, "{} or at {max} bytes", self.period_name()),
            (_, None) => f.write_str(self.period_name()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn hourly_period_starts_on_the_hour() {
        assert_eq!(
            Rotation::HOURLY.period_start(ts("2026-11-24T10:59:59.9Z")),
            Some(ts("2026-11-24T10:00:00Z"))
        );
        assert_eq!(
            Rotation::HOURLY.period_start(ts("2026-11-24T11:00:00Z")),
            Some(ts("2026-11-24T11:00:00Z"))
        );
    }

    #[test]
    fn daily_period_starts_at_utc_midnight() {
        assert_eq!(
            Rotation::DAILY.period_start(ts("2026-11-24T23:59:59Z")),
            Some(ts("2026-11-24T00:00:00Z"))
        );
    }

    #[test]
    fn periods_before_1970_round_down_not_towards_zero() {
        assert_eq!(
            Rotation::HOURLY.period_start(ts("1969-12-31T23:30:00Z")),
            Some(ts("1969-12-31T23:00:00Z"))
        );
    }

    #[test]
    fn never_has_no_period_and_stamps_to_the_second() {
        assert_eq!(
            Rotation::NEVER.period_start(ts("2026-11-24T10:30:00Z")),
            None
        );
        assert_eq!(
            Rotation::NEVER.stamp_for(ts("2026-11-24T10:30:05.75Z")),
            ts("2026-11-24T10:30:05Z")
        );
    }

    #[test]
    fn rotates_when_the_hour_is_over() {
        let start = ts("2026-11-24T10:00:00Z");
        assert_eq!(
            Rotation::HOURLY.due(start, 10, 10, ts("2026-11-24T10:59:59Z")),
            None
        );
        assert_eq!(
            Rotation::HOURLY.due(start, 10, 10, ts("2026-11-24T11:00:00Z")),
            Some(RotateReason::Period)
        );
        assert_eq!(
            Rotation::DAILY.due(
                ts("2026-11-24T00:00:00Z"),
                10,
                10,
                ts("2026-11-24T23:00:00Z")
            ),
            None
        );
    }

    #[test]
    fn a_clock_gone_back_does_not_rotate() {
        let start = ts("2026-11-24T11:00:00Z");
        assert_eq!(
            Rotation::HOURLY.due(start, 10, 10, ts("2026-11-24T10:30:00Z")),
            None
        );
    }

    #[test]
    fn rotates_before_a_batch_would_cross_the_size_limit() {
        let rotation = Rotation::NEVER.with_max_bytes(100);
        let start = ts("2026-11-24T10:00:00Z");
        assert_eq!(rotation.due(start, 60, 40, start), None);
        assert_eq!(rotation.due(start, 60, 41, start), Some(RotateReason::Size));
    }

    #[test]
    fn an_empty_file_takes_a_batch_larger_than_the_limit() {
        let rotation = Rotation::NEVER.with_max_bytes(100);
        assert!(!rotation.is_full(0, 1_000));
        assert!(rotation.is_full(1, 100));
    }

    #[test]
    fn whichever_limit_comes_first_wins() {
        let rotation = Rotation::HOURLY.with_max_bytes(100);
        let start = ts("2026-11-24T10:00:00Z");
        assert_eq!(
            rotation.due(start, 99, 2, ts("2026-11-24T10:01:00Z")),
            Some(RotateReason::Size)
        );
        assert_eq!(
            rotation.due(start, 1, 2, ts("2026-11-24T11:01:00Z")),
            Some(RotateReason::Period)
        );
    }

    #[test]
    fn zero_max_bytes_means_no_size_limit() {
        let rotation = Rotation::HOURLY.with_max_bytes(100).with_max_bytes(0);
        assert_eq!(rotation.max_bytes(), None);
        assert!(!rotation.is_full(u64::MAX - 1, 1));
    }

    #[test]
    fn displays_period_and_size() {
        assert_eq!(Rotation::DAILY.to_string(), "daily");
        assert_eq!(Rotation::NEVER.with_max_bytes(5).to_string(), "at 5 bytes");
    }
}
