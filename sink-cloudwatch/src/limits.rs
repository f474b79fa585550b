//! The limits CloudWatch Logs puts on requests and names, as named constants with their source.
//!
//! Source: the PutLogEvents API reference
//! (<https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html>),
//! the CreateLogGroup / CreateLogStream references, and the CloudWatch Logs quotas page
//! (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/cloudwatch_limits_cwl.html>).

use std::time::Duration;

/// Events in one PutLogEvents request.
pub const MAX_BATCH_EVENTS: usize = 10_000;

/// Bytes in one PutLogEvents request, counted as the UTF-8 bytes of every message plus
/// [`EVENT_OVERHEAD_BYTES`] per event.
pub const MAX_BATCH_BYTES: usize = 1_048_576;

/// Bytes PutLogEvents counts for each event on top of its message.
pub const EVENT_OVERHEAD_BYTES: usize = 26;

/// The largest log event CloudWatch Logs accepts.
///
/// It was 256 KB until April 2025, when CloudWatch Logs raised it to 1 MB ("Amazon CloudWatch
/// Logs increases maximum log event size to 1 MB", AWS What's New, 2025-04; the PutLogEvents
/// reference now reads "Each log event can be no larger than 1 MB"). An event must also fit a
/// request on its own, so the sink keeps each message within
/// [`MAX_MESSAGE_BYTES`]: the smaller of the two readings.
pub const MAX_EVENT_BYTES: usize = 1_048_576;

/// The largest message the sink writes: one event alone in a request, its overhead included,
/// stays within both [`MAX_EVENT_BYTES`] and [`MAX_BATCH_BYTES`].
pub const MAX_MESSAGE_BYTES: usize = {
    let event = MAX_EVENT_BYTES;
    let batch = MAX_BATCH_BYTES;
    (if event < batch { event } else { batch }) - EVENT_OVERHEAD_BYTES
};

/// The widest time span of one request: "a batch of log events in a single request cannot span
/// more than 24 hours".
pub const MAX_BATCH_SPAN: Duration = Duration::from_secs(24 * 60 * 60);

/// How old an event may be: "events older than 14 days or preceding the log group's retention
/// period are rejected".
pub const MAX_EVENT_AGE: Duration = Duration::from_secs(14 * 24 * 60 * 60);

/// How far ahead an event may be: "events more than 2 hours in the future are rejected".
pub const MAX_EVENT_FUTURE: Duration = Duration::from_secs(2 * 60 * 60);

/// Room kept inside the accepted time window, for clock skew between this host and CloudWatch
/// and for the time a request takes.
pub const TIME_WINDOW_MARGIN: Duration = Duration::from_secs(10 * 60);

/// Longest log group name (CreateLogGroup: 1-512 characters of `[\.\-_/#A-Za-z0-9]`).
pub const MAX_LOG_GROUP_LEN: usize = 512;

/// Longest log stream name (CreateLogStream: 1-512 characters, no `:` or `*`).
pub const MAX_LOG_STREAM_LEN: usize = 512;

/// The retention periods, in days, that PutRetentionPolicy and CreateLogGroup accept.
pub const RETENTION_DAYS: [u32; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

/// Most tags on one log group (AWS resource tagging: 50 per resource).
pub const MAX_TAGS: usize = 50;

/// Longest tag key, in characters.
pub const MAX_TAG_KEY_LEN: usize = 128;

/// Longest tag value, in characters.
pub const MAX_TAG_VALUE_LEN: usize = 256;

/// Whether `c` may appear in a log group name.
pub(crate) fn is_group_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/' | '#')
}

/// Whether `c` may appear in a log stream name (control characters are refused here too,
/// although CloudWatch would take them, because they make names unreadable in the console).
pub(crate) fn is_stream_char(c: char) -> bool {
    !matches!(c, ':' | '*') && !c.is_control()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_of_the_maximum_size_fits_one_request_with_its_overhead() {
        assert_eq!(MAX_MESSAGE_BYTES + EVENT_OVERHEAD_BYTES, MAX_BATCH_BYTES);
        const { assert!(MAX_MESSAGE_BYTES + EVENT_OVERHEAD_BYTES <= MAX_EVENT_BYTES) };
    }

    #[test]
    fn name_characters_follow_the_api_patterns() {
        for c in ['a', 'Z', '0', '.', '-', '_', '/', '#'] {
            assert!(is_group_char(c), "{c:?}");
        }
        for c in [' ', ':', '*', 'é', '{', '$'] {
            assert!(!is_group_char(c), "{c:?}");
        }
        for c in ['a', ' ', 'é', '/', '#', '{'] {
            assert!(is_stream_char(c), "{c:?}");
        }
        for c in [':', '*', '\n', '\u{0}'] {
            assert!(!is_stream_char(c), "{c:?}");
        }
    }
}
