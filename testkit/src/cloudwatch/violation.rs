//! [`Violation`]: a PutLogEvents request that broke one of CloudWatch Logs' limits, with the
//! [`Rule`] and the figures, and the message the real service answers with.

use std::fmt;

/// A limit of PutLogEvents, with the figures of the request that broke it.
///
/// The limits are those of the [PutLogEvents API reference] and
/// [CloudWatch Logs quotas]; [`Limits`](super::Limits) holds the figures.
///
/// [PutLogEvents API reference]: https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html
/// [CloudWatch Logs quotas]: https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/cloudwatch_limits_cwl.html
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rule {
    /// `logEvents` was empty: the API requires at least one event.
    NoEvents,
    /// More events than the API takes in one call (10,000).
    TooManyEvents {
        /// Events in the request.
        count: usize,
        /// The most allowed.
        limit: usize,
    },
    /// An event's message was empty: the API requires at least one character.
    EmptyMessage {
        /// The event's position in `logEvents`, from 0.
        index: usize,
    },
    /// An event larger than the maximum event size (its UTF-8 message bytes + 26).
    EventTooLarge {
        /// The first such event's position in `logEvents`, from 0.
        index: usize,
        /// Its size: UTF-8 bytes of its message plus 26.
        bytes: usize,
        /// The most allowed.
        limit: usize,
    },
    /// The batch is larger than 1,048,576 bytes, counted as the UTF-8 bytes of every
    /// message plus 26 per event.
    BatchTooLarge {
        /// The batch's size counted that way.
        bytes: usize,
        /// The most allowed.
        limit: usize,
    },
    /// An event's timestamp is earlier than the one before it.
    OutOfOrder {
        /// The position of the first event earlier than its predecessor, from 0.
        index: usize,
        /// Its timestamp, milliseconds since the epoch.
        timestamp: i64,
        /// The predecessor's timestamp.
        previous: i64,
    },
    /// The events the service would keep (not too new, too old or expired) span more than
    /// 24 hours from the earliest to the latest.
    SpanTooLong {
        /// Latest minus earliest timestamp, in milliseconds.
        span_ms: i64,
        /// The most allowed, in milliseconds.
        limit_ms: i64,
    },
}

impl Rule {
    /// The message CloudWatch Logs answers with for this rule (as reported by its clients;
    /// the validation messages follow the service's usual wording).
    pub fn aws_message(&self) -> String {
        match self {
            Rule::NoEvents => "1 validation error detected: Value '[]' at 'logEvents' failed to \
                 satisfy constraint: Member must have length greater than or equal to 1"
                .to_owned(),
            Rule::TooManyEvents { limit, .. } => format!(
                "1 validation error detected: Value at 'logEvents' failed to satisfy \
                 constraint: Member must have length less than or equal to {limit}"
            ),
            Rule::EmptyMessage { index } => format!(
                "1 validation error detected: Value '' at 'logEvents.{}.member.message' \
                 failed to satisfy constraint: Member must have length greater than or equal to 1",
                index + 1
            ),
            Rule::EventTooLarge { bytes, limit, .. } => {
                format!("Log event too large: {bytes} bytes exceeds limit of {limit}")
            }
            Rule::BatchTooLarge { bytes, limit } => {
                format!("Upload too large: {bytes} bytes exceeds limit of {limit}")
            }
            Rule::OutOfOrder { .. } => {
                "Log events in a single PutLogEvents request must be in chronological order."
                    .to_owned()
            }
            Rule::SpanTooLong { .. } => "The batch of log events in a single PutLogEvents \
                 request cannot span more than 24 hours."
                .to_owned(),
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::NoEvents => write!(f, "no events (at least 1 required)"),
            Rule::TooManyEvents { count, limit } => {
                write!(f, "{count} events (at most {limit})")
            }
            Rule::EmptyMessage { index } => write!(f, "event {index} has an empty message"),
            Rule::EventTooLarge {
                index,
                bytes,
                limit,
            } => write!(f, "event {index} is {bytes} bytes (at most {limit})"),
            Rule::BatchTooLarge { bytes, limit } => {
                write!(f, "batch is {bytes} bytes (at most {limit})")
            }
            Rule::OutOfOrder {
                index,
                timestamp,
                previous,
            } => write!(
                f,
                "event {index} at {timestamp} ms is earlier than the one before it at {previous} ms"
            ),
            Rule::SpanTooLong { span_ms, limit_ms } => {
                write!(f, "batch spans {span_ms} ms (at most {limit_ms})")
            }
        }
    }
}

/// A PutLogEvents request that [`StrictProxy`](super::StrictProxy) refused with
/// `InvalidParameterException`, as returned by
/// [`StrictProxy::violations`](super::StrictProxy::violations).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Violation {
    /// The limit that was broken, with the figures.
    pub rule: Rule,
    /// The request's `logGroupName`.
    pub log_group: String,
    /// The request's `logStreamName`.
    pub log_stream: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PutLogEvents to {}/{}: {}",
            self.log_group, self.log_stream, self.rule
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_messages_carry_the_figures_like_the_service() {
        let rule = Rule::BatchTooLarge {
            bytes: 1_048_577,
            limit: 1_048_576,
        };
        assert_eq!(
            rule.aws_message(),
            "Upload too large: 1048577 bytes exceeds limit of 1048576"
        );
        let rule = Rule::EventTooLarge {
            index: 3,
            bytes: 262_145,
            limit: 262_144,
        };
        assert_eq!(
            rule.aws_message(),
            "Log event too large: 262145 bytes exceeds limit of 262144"
        );
    }

    #[test]
    fn validation_messages_count_events_from_one() {
        let message = Rule::EmptyMessage { index: 0 }.aws_message();
        assert!(
            message.contains("'logEvents.1.member.message'"),
            "{message}"
        );
    }

    #[test]
    fn violations_display_the_stream_and_the_figures() {
        let violation = Violation {
            rule: Rule::TooManyEvents {
                count: 10_001,
                limit: 10_000,
            },
            log_group: "g".into(),
            log_stream: "s".into(),
        };
        assert_eq!(
            violation.to_string(),
            "PutLogEvents to g/s: 10001 events (at most 10000)"
        );
    }
}
