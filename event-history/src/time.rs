//! Times as people type them: `6h`, `30m`, `2d`, `1h30m` back from now, or an RFC 3339 instant;
//! and the [`TimeRange`] a history query covers.

use std::fmt;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

/// What every message about an unreadable time suggests instead.
const ACCEPTED: &str = "use a duration back from now such as 30s, 30m, 6h, 2d, 1w or 1h30m, \
                        `now`, a date such as 2026-11-24 (midnight UTC), or an RFC 3339 time \
                        such as 2026-11-24T10:02:11Z";

/// Why a time or a range could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimeError {
    /// The text is neither a duration, a date nor an RFC 3339 time.
    #[error("cannot read {input:?} as a time: {ACCEPTED}")]
    Invalid {
        /// The text given.
        input: String,
    },
    /// A date and time without an offset, which could be in any time zone.
    #[error(
        "{input:?} has no time zone: add `Z` for UTC or an offset such as +01:00 (2026-11-24T10:02:11Z)"
    )]
    NoOffset {
        /// The text given.
        input: String,
    },
    /// A duration too long to count back from now.
    #[error("{input:?} reaches too far back: use a shorter duration or an RFC 3339 time")]
    OutOfRange {
        /// The text given.
        input: String,
    },
    /// The start of a range is after its end.
    #[error("the range starts at {since} and ends at {until}, before it starts: swap them")]
    Reversed {
        /// The start given.
        since: Timestamp,
        /// The end given.
        until: Timestamp,
    },
}

/// Reads `input` as an instant, counting durations back from `now`.
///
/// | input | instant |
/// |---|---|
/// | `30s`, `30m`, `6h`, `2d`, `1w`, `1h30m` | that long before `now` (`d` is 24 hours, `w` 7 days) |
/// | `-5m`, `-2d` | the same as `5m`, `2d`: a signed offset from `now` reads naturally, and only the past holds events |
/// | `now` | `now` |
/// | `2026-11-24` | midnight UTC of that day |
/// | `2026-11-24T10:02:11Z`, `2026-11-24T11:02:11+01:00` | that instant (RFC 3339) |
///
/// `now` is a parameter so that a query can be anchored at the time of an incident and
/// repeated later with the same result.
///
/// ```
/// use event_history::parse_time;
///
/// let now = "2026-11-24T12:00:00Z".parse()?;
/// assert_eq!(parse_time("6h", now)?.to_string(), "2026-11-24T06:00:00Z");
/// assert_eq!(parse_time("1h30m", now)?.to_string(), "2026-11-24T10:30:00Z");
/// assert_eq!(parse_time("-1h30m", now)?.to_string(), "2026-11-24T10:30:00Z");
/// assert_eq!(parse_time("2026-11-23", now)?.to_string(), "2026-11-23T00:00:00Z");
/// assert_eq!(parse_time("2026-11-24T10:02:11Z", now)?.to_string(), "2026-11-24T10:02:11Z");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// [`TimeError`] when `input` is none of these, has a date and time but no offset, or counts
/// back past the earliest representable time.
pub fn parse_time(input: &str, now: Timestamp) -> Result<Timestamp, TimeError> {
    let text = input.trim();
    if text.eq_ignore_ascii_case("now") {
        return Ok(now);
    }
    if let Ok(instant) = text.parse::<Timestamp>() {
        return Ok(instant);
    }
    // Only a bare date: jiff reads the date part of a longer text too.
    if let Some(Ok(date)) = (text.len() == "2026-11-24".len()).then(|| text.parse::<Date>()) {
        return date
            .to_zoned(TimeZone::UTC)
            .map(|zoned| zoned.timestamp())
            .map_err(|_| TimeError::OutOfRange {
                input: input.to_owned(),
            });
    }
    if text.parse::<jiff::civil::DateTime>().is_ok() {
        return Err(TimeError::NoOffset {
            input: input.to_owned(),
        });
    }
    // `-5m` is 5m ago, as `date -d -5min` reads it (never 5m ahead: the future holds nothing).
    let duration = text.strip_prefix('-').unwrap_or(text);
    let back = parse_duration(duration).map_err(|error| match error {
        TimeError::OutOfRange { .. } => error,
        _ => TimeError::Invalid {
            input: input.to_owned(),
        },
    })?;
    now.checked_sub(back).map_err(|_| TimeError::OutOfRange {
        input: input.to_owned(),
    })
}

/// Reads a duration: whole numbers each followed by a unit, `ms`, `s`, `m`, `h`, `d` (24 hours)
/// or `w` (7 days), added up: `500ms`, `30s`, `5m`, `6h`, `2d`, `1w`, `1h30m`.
///
/// ```
/// use event_history::parse_duration;
/// use jiff::SignedDuration;
///
/// assert_eq!(parse_duration("90s")?, SignedDuration::from_secs(90));
/// assert_eq!(parse_duration("1h30m")?, SignedDuration::from_mins(90));
/// assert_eq!(parse_duration("2d")?, SignedDuration::from_hours(48));
/// # Ok::<(), event_history::TimeError>(())
/// ```
///
/// # Errors
///
/// [`TimeError::Invalid`] for anything else (no unit, an unknown unit, a sign, a fraction),
/// [`TimeError::OutOfRange`] for a duration that does not fit.
pub fn parse_duration(input: &str) -> Result<SignedDuration, TimeError> {
    let invalid = || TimeError::Invalid {
        input: input.to_owned(),
    };
    let too_long = || TimeError::OutOfRange {
        input: input.to_owned(),
    };
    let text = input.trim();
    if text.is_empty() {
        return Err(invalid());
    }
    let mut total: i64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let units = rest[digits..]
            .bytes()
            .take_while(u8::is_ascii_alphabetic)
            .count();
        if digits == 0 || units == 0 {
            return Err(invalid());
        }
        let amount: i64 = rest[..digits].parse().map_err(|_| too_long())?;
        let millis = match &rest[digits..digits + units] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 604_800_000,
            _ => return Err(invalid()),
        };
        total = amount
            .checked_mul(millis)
            .and_then(|ms| total.checked_add(ms))
            .ok_or_else(too_long)?;
        rest = &rest[digits + units..];
    }
    Ok(SignedDuration::from_millis(total))
}

/// The span of history a query covers, by [`Event::last_seen`](event_core::Event::last_seen): from
/// `since` through `until`, both inclusive; an absent end is open.
///
/// ```
/// use event_history::TimeRange;
///
/// let range = TimeRange::new(
///     Some("2026-11-24T10:00:00Z".parse()?),
///     Some("2026-11-24T11:00:00Z".parse()?),
/// )?;
/// assert!(range.contains("2026-11-24T11:00:00Z".parse()?));
/// assert!(!range.contains("2026-11-24T11:00:00.001Z".parse()?));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimeRange {
    since: Option<Timestamp>,
    until: Option<Timestamp>,
}

impl TimeRange {
    /// The whole history, from the oldest event kept to the newest.
    pub const ALL: TimeRange = TimeRange {
        since: None,
        until: None,
    };

    /// The range from `since` through `until`.
    ///
    /// # Errors
    ///
    /// [`TimeError::Reversed`] when `since` is after `until`.
    pub fn new(since: Option<Timestamp>, until: Option<Timestamp>) -> Result<Self, TimeError> {
        match (since, until) {
            (Some(since), Some(until)) if since > until => {
                Err(TimeError::Reversed { since, until })
            }
            _ => Ok(TimeRange { since, until }),
        }
    }

    /// The start, if any.
    pub fn since(&self) -> Option<Timestamp> {
        self.since
    }

    /// The end, if any.
    pub fn until(&self) -> Option<Timestamp> {
        self.until
    }

    /// Whether `time` is within the range.
    pub fn contains(&self, time: Timestamp) -> bool {
        self.since.is_none_or(|since| time >= since) && self.until.is_none_or(|until| time <= until)
    }
}

impl fmt::Display for TimeRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.since, self.until) {
            (Some(since), Some(until)) => write!(f, "between {since} and {until}"),
            (Some(since), None) => write!(f, "since {since}"),
            (None, Some(until)) => write!(f, "until {until}"),
            (None, None) => f.write_str("in the whole history"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2026-11-24T12:00:00Z".parse().unwrap()
    }

    fn at(input: &str) -> Result<String, TimeError> {
        parse_time(input, now()).map(|t| t.to_string())
    }

    #[test]
    fn durations_count_back_from_now() {
        assert_eq!(at("30s").unwrap(), "2026-11-24T11:59:30Z");
        assert_eq!(at("30m").unwrap(), "2026-11-24T11:30:00Z");
        assert_eq!(at("6h").unwrap(), "2026-11-24T06:00:00Z");
        assert_eq!(at("2d").unwrap(), "2026-11-22T12:00:00Z");
        assert_eq!(at("1w").unwrap(), "2026-11-17T12:00:00Z");
        assert_eq!(at(" 1h30m ").unwrap(), "2026-11-24T10:30:00Z");
        assert_eq!(at("0s").unwrap(), "2026-11-24T12:00:00Z");
    }

    #[test]
    fn a_leading_minus_means_the_same_time_ago() {
        assert_eq!(at("-5m").unwrap(), at("5m").unwrap());
        assert_eq!(at("-1h30m").unwrap(), "2026-11-24T10:30:00Z");
        assert_eq!(at(" -2d").unwrap(), "2026-11-22T12:00:00Z");
        // Durations alone take no sign: a poll interval is never negative.
        assert!(parse_duration("-5m").is_err());
    }

    #[test]
    fn now_dates_and_rfc3339_times_are_read_as_such() {
        assert_eq!(at("now").unwrap(), "2026-11-24T12:00:00Z");
        assert_eq!(at("NOW").unwrap(), "2026-11-24T12:00:00Z");
        assert_eq!(at("2026-11-20").unwrap(), "2026-11-20T00:00:00Z");
        assert_eq!(at("2026-11-24T10:02:11Z").unwrap(), "2026-11-24T10:02:11Z");
        assert_eq!(
            at("2026-11-24T11:02:11+01:00").unwrap(),
            "2026-11-24T10:02:11Z"
        );
        assert_eq!(
            at("2026-11-24T10:02:11.250Z").unwrap(),
            "2026-11-24T10:02:11.25Z"
        );
    }

    #[test]
    fn a_time_without_offset_is_refused_with_a_hint() {
        let error = at("2026-11-24T10:02:11").unwrap_err();
        assert!(matches!(error, TimeError::NoOffset { .. }), "{error:?}");
        assert!(error.to_string().contains("add `Z` for UTC"), "{error}");
    }

    #[test]
    fn unreadable_times_are_refused_naming_what_works() {
        for input in [
            "",
            "6",
            "h",
            "6 hours",
            "6y",
            "--6h",
            "-",
            "+6h",
            "1.5h",
            "6h-",
            "yesterday",
        ] {
            let error = at(input).unwrap_err();
            assert!(
                matches!(error, TimeError::Invalid { .. }),
                "{input}: {error:?}"
            );
            assert!(
                error.to_string().contains("such as 30s, 30m, 6h"),
                "{error}"
            );
        }
    }

    #[test]
    fn durations_that_overflow_are_out_of_range() {
        assert!(matches!(
            parse_duration("99999999999999999999s"),
            Err(TimeError::OutOfRange { .. })
        ));
        assert!(matches!(
            parse_duration("9999999999999999w"),
            Err(TimeError::OutOfRange { .. })
        ));
        assert!(matches!(at("5000000w"), Err(TimeError::OutOfRange { .. })));
    }

    #[test]
    fn milliseconds_are_a_unit_of_durations() {
        assert_eq!(
            parse_duration("1s200ms").unwrap(),
            SignedDuration::from_millis(1200)
        );
    }

    #[test]
    fn repeated_units_add_up() {
        assert_eq!(
            parse_duration("1h1h30s").unwrap(),
            SignedDuration::from_secs(7230)
        );
    }

    #[test]
    fn a_range_includes_both_ends_and_refuses_to_run_backwards() {
        let since: Timestamp = "2026-11-24T10:00:00Z".parse().unwrap();
        let until: Timestamp = "2026-11-24T11:00:00Z".parse().unwrap();
        let range = TimeRange::new(Some(since), Some(until)).unwrap();
        assert!(range.contains(since));
        assert!(range.contains(until));
        assert!(!range.contains(since - SignedDuration::from_nanos(1)));
        assert!(!range.contains(until + SignedDuration::from_nanos(1)));
        assert_eq!(
            TimeRange::new(Some(until), Some(since)),
            Err(TimeError::Reversed {
                since: until,
                until: since
            })
        );
        assert!(TimeRange::new(Some(since), Some(since)).is_ok());
    }

    #[test]
    fn open_ends_contain_everything_on_their_side() {
        let t: Timestamp = "2026-11-24T10:00:00Z".parse().unwrap();
        assert!(TimeRange::ALL.contains(t));
        let from = TimeRange::new(Some(t), None).unwrap();
        assert!(from.contains(t + SignedDuration::from_hours(1000)));
        assert!(!from.contains(t - SignedDuration::from_secs(1)));
        assert_eq!(from.to_string(), "since 2026-11-24T10:00:00Z");
    }
}
