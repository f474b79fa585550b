//! [`CloudWatchReader`]: streams events back from a log group, for the history tool.

use std::collections::HashSet;

use aws_sdk_cloudwatchlogs::Client;
use event_core::{BoxError, Event};
use futures::{Stream, StreamExt, stream};
use jiff::Timestamp;

use crate::error::{Failure, FailureKind};
use crate::service::{self, Streams};

mod history;

pub use history::{
    CloudWatchHistory, DEFAULT_FOLLOW_OVERLAP, MAX_FILTER_PATTERN_CHARS, history_client,
};

/// An event field the reader can filter on server-side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Namespace,
    Reason,
    Type,
    Kind,
    Cluster,
}

impl Field {
    fn path(self) -> &'static str {
        match self {
            Field::Namespace => "$.namespace",
            Field::Reason => "$.reason",
            Field::Type => "$.type",
            Field::Kind => "$.regarding.kind",
            Field::Cluster => "$.cluster",
        }
    }

    fn value(self, event: &Event) -> Option<&str> {
        match self {
            Field::Namespace => event.namespace.as_deref(),
            Field::Reason => Some(&event.reason),
            Field::Type => Some(&event.event_type),
            Field::Kind => Some(&event.regarding.kind),
            Field::Cluster => event.cluster.as_deref(),
        }
    }
}

/// Why events could not be read back.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The log group does not exist (or not in this region or account).
    #[error("log group {group} does not exist; check its name, the region and the account")]
    GroupNotFound {
        /// The log group.
        group: String,
    },
    /// A filter value cannot be written in a CloudWatch filter pattern.
    #[error(
        "cannot filter on {field} = {value:?}: values must be non-empty and contain no '\"' or '\\'"
    )]
    InvalidFilter {
        /// The field's JSON path.
        field: &'static str,
        /// The value.
        value: String,
    },
    /// A FilterLogEvents request failed; reading stopped.
    #[error("reading the log group failed: {message}")]
    Request {
        /// What failed and what to do.
        message: String,
        /// Whether trying again later may work (throttling, a timeout, a 5xx).
        retryable: bool,
        /// The SDK error.
        #[source]
        source: BoxError,
    },
    /// A log event is not an Event Keeper record; reading goes on with the next one.
    #[error("log event {event_id} in stream {log_stream} is not an event record: {source}")]
    Parse {
        /// The stream it is in.
        log_stream: String,
        /// Its CloudWatch event id.
        event_id: String,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
}

impl ReadError {
    /// Whether reading again later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ReadError::Request {
                retryable: true,
                ..
            }
        )
    }

    fn from_failure(group: &str, failure: Failure) -> Self {
        match failure.kind {
            FailureKind::NotFound => ReadError::GroupNotFound {
                group: group.to_owned(),
            },
            kind => {
                let retryable = matches!(
                    kind,
                    FailureKind::Throttled
                        | FailureKind::ServerError
                        | FailureKind::Uncertain
                        | FailureKind::CredentialsUnavailable
                );
                let message = match kind {
                    FailureKind::AccessDenied => format!(
                        "{failure}: grant logs:FilterLogEvents on {group} to this principal"
                    ),
                    _ => failure.to_string(),
                };
                ReadError::Request {
                    message,
                    retryable,
                    source: Box::new(failure),
                }
            }
        }
    }
}

/// Reads the events of one log group, oldest first per stream, page by page.
///
/// Built with filters, then turned into a [`Stream`] with [`into_stream`](Self::into_stream):
/// one page (at most 10,000 events) is in memory at a time. Equality filters become a
/// server-side filter pattern such as `{ $.namespace = "payments" && $.type = "Warning" }`,
/// and are applied again to each parsed event, so a backend that ignores patterns still yields
/// only matching events. The time range applies to CloudWatch timestamps: for an event older
/// than 14 days when it was shipped, that is the time it was clamped to, not its `lastSeen`.
///
/// Events are yielded as stored: an occurrence sent again after a timeout can appear twice;
/// wrap the stream in [`dedupe_by_key`] to drop repeats.
///
/// ```no_run
/// # async fn demo(client: aws_sdk_cloudwatchlogs::Client) -> Result<(), Box<dyn std::error::Error>> {
/// use futures::StreamExt;
/// use sink_cloudwatch::{CloudWatchReader, dedupe_by_key};
///
/// let since = "2026-11-24T00:00:00Z".parse()?;
/// let events = CloudWatchReader::new(client, "/event-keeper/prod-eu")
///     .since(since)
///     .namespace("payments")
///     .event_type("Warning")
///     .into_stream();
/// let mut events = std::pin::pin!(dedupe_by_key(events));
/// while let Some(event) = events.next().await {
///     let event = event?;
///     println!("{} {} {}", event.last_seen, event.reason, event.message);
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a reader does nothing until turned into a stream and polled"]
pub struct CloudWatchReader {
    client: Client,
    group: String,
    since: Option<Timestamp>,
    until: Option<Timestamp>,
    stream_prefix: Option<String>,
    equals: Vec<(Field, String)>,
    page_size: Option<i32>,
}

impl CloudWatchReader {
    /// A reader of every event of `log_group`.
    pub fn new(client: Client, log_group: impl Into<String>) -> Self {
        CloudWatchReader {
            client,
            group: log_group.into(),
            since: None,
            until: None,
            stream_prefix: None,
            equals: Vec::new(),
            page_size: None,
        }
    }

    /// Only events at or after `time`.
    pub fn since(mut self, time: Timestamp) -> Self {
        self.since = Some(time);
        self
    }

    /// Only events at or before `time`.
    pub fn until(mut self, time: Timestamp) -> Self {
        self.until = Some(time);
        self
    }

    /// Only streams whose name starts with `prefix`.
    pub fn stream_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.stream_prefix = Some(prefix.into());
        self
    }

    /// Asks for at most `events` per page (1 to 10,000; CloudWatch's default is 10,000).
    pub fn page_size(mut self, events: u16) -> Self {
        self.page_size = Some(i32::from(events.clamp(1, 10_000)));
        self
    }

    /// Only events of `namespace`.
    pub fn namespace(self, namespace: impl Into<String>) -> Self {
        self.equal(Field::Namespace, namespace.into())
    }

    /// Only events with this reason, e.g. `BackOff`.
    pub fn reason(self, reason: impl Into<String>) -> Self {
        self.equal(Field::Reason, reason.into())
    }

    /// Only events of this type: `Normal` or `Warning`.
    pub fn event_type(self, event_type: impl Into<String>) -> Self {
        self.equal(Field::Type, event_type.into())
    }

    /// Only events about objects of this kind, e.g. `Pod`.
    pub fn kind(self, kind: impl Into<String>) -> Self {
        self.equal(Field::Kind, kind.into())
    }

    /// Only events of this cluster.
    pub fn cluster(self, cluster: impl Into<String>) -> Self {
        self.equal(Field::Cluster, cluster.into())
    }

    fn equal(mut self, field: Field, value: String) -> Self {
        self.equals.push((field, value));
        self
    }

    /// The server-side filter pattern of the equality filters, if any.
    ///
    /// ```
    /// # let client = aws_sdk_cloudwatchlogs::Client::from_conf(
    /// #     aws_sdk_cloudwatchlogs::Config::builder()
    /// #         .behavior_version(aws_sdk_cloudwatchlogs::config::BehaviorVersion::latest())
    /// #         .build());
    /// use sink_cloudwatch::CloudWatchReader;
    ///
    /// let reader = CloudWatchReader::new(client, "/event-keeper/prod")
    ///     .namespace("payments")
    ///     .event_type("Warning");
    /// assert_eq!(
    ///     reader.filter_pattern().as_deref(),
    ///     Some(r#"{ $.namespace = "payments" && $.type = "Warning" }"#)
    /// );
    /// ```
    pub fn filter_pattern(&self) -> Option<String> {
        if self.equals.is_empty() {
            return None;
        }
        let terms: Vec<String> = self
            .equals
            .iter()
            .map(|(field, value)| format!("{} = \"{value}\"", field.path()))
            .collect();
        Some(format!("{{ {} }}", terms.join(" && ")))
    }

    fn check_filters(&self) -> Result<(), ReadError> {
        for (field, value) in &self.equals {
            if value.is_empty() || value.contains(['"', '\\']) {
                return Err(ReadError::InvalidFilter {
                    field: field.path(),
                    value: value.clone(),
                });
            }
        }
        Ok(())
    }

    fn matches(&self, log_stream: &str, event: &Event) -> bool {
        self.stream_prefix
            .as_deref()
            .is_none_or(|p| log_stream.starts_with(p))
            && self
                .equals
                .iter()
                .all(|(field, value)| field.value(event) == Some(value.as_str()))
    }

    /// The events, page by page. After an error other than [`ReadError::Parse`] the stream
    /// ends.
    pub fn into_stream(self) -> impl Stream<Item = Result<Event, ReadError>> + Send + 'static {
        enum Page {
            First,
            Next(String),
            Done,
        }
        let (start, first) = match self.check_filters() {
            Err(error) => (stream::iter(vec![Err(error)]).left_stream(), Page::Done),
            Ok(()) => (stream::empty().right_stream(), Page::First),
        };
        let pages = stream::unfold((self, first), |(reader, page)| async move {
            let token = match page {
                Page::Done => return None,
                Page::First => None,
                Page::Next(token) => Some(token),
            };
            let (items, next) = reader.page(token).await;
            let next = next.map_or(Page::Done, Page::Next);
            Some((stream::iter(items), (reader, next)))
        });
        start.chain(pages.flatten())
    }

    async fn page(&self, token: Option<String>) -> (Vec<Result<Event, ReadError>>, Option<String>) {
        let range = (
            self.since.map(Timestamp::as_millisecond),
            self.until.map(Timestamp::as_millisecond),
        );
        let streams = self
            .stream_prefix
            .as_deref()
            .map_or(Streams::All, Streams::Prefix);
        let pattern = self.filter_pattern();
        let page = match service::filter_page(
            &self.client,
            &self.group,
            streams,
            range,
            pattern.as_deref(),
            self.page_size,
            token,
        )
        .await
        {
            Ok(page) => page,
            Err(failure) => {
                return (
                    vec![Err(ReadError::from_failure(&self.group, failure))],
                    None,
                );
            }
        };
        let mut items = Vec::with_capacity(page.events().len());
        for stored in page.events() {
            let log_stream = stored.log_stream_name().unwrap_or_default();
            match serde_json::from_str::<Event>(stored.message().unwrap_or_default()) {
                Ok(event) if self.matches(log_stream, &event) => items.push(Ok(event)),
                Ok(_) => {}
                Err(source) => items.push(Err(ReadError::Parse {
                    log_stream: log_stream.to_owned(),
                    event_id: stored.event_id().unwrap_or_default().to_owned(),
                    source,
                })),
            }
        }
        (items, page.next_token().map(str::to_owned))
    }
}

/// Drops events whose occurrence key ([`Event::key`]) was already yielded; errors pass.
///
/// It remembers every key it has seen, so memory grows with the number of distinct
/// occurrences read.
pub fn dedupe_by_key<S>(events: S) -> impl Stream<Item = Result<Event, ReadError>>
where
    S: Stream<Item = Result<Event, ReadError>>,
{
    let mut seen = HashSet::new();
    events.filter(move |item| {
        let keep = match item {
            Ok(event) => seen.insert(event.key()),
            Err(_) => true,
        };
        std::future::ready(keep)
    })
}

#[cfg(test)]
mod tests {
    use event_core::testing::sample_event;

    use super::*;

    fn client() -> Client {
        Client::from_conf(
            aws_sdk_cloudwatchlogs::Config::builder()
                .behavior_version(aws_sdk_cloudwatchlogs::config::BehaviorVersion::latest())
                .build(),
        )
    }

    #[test]
    fn no_filter_means_no_pattern() {
        assert_eq!(CloudWatchReader::new(client(), "/g").filter_pattern(), None);
    }

    #[test]
    fn equality_filters_join_into_one_json_pattern() {
        let reader = CloudWatchReader::new(client(), "/g")
            .namespace("payments")
            .reason("BackOff")
            .kind("Pod")
            .cluster("prod");
        assert_eq!(
            reader.filter_pattern().unwrap(),
            r#"{ $.namespace = "payments" && $.reason = "BackOff" && $.regarding.kind = "Pod" && $.cluster = "prod" }"#
        );
    }

    #[test]
    fn filters_are_applied_to_parsed_events_too() {
        let reader = CloudWatchReader::new(client(), "/g")
            .namespace("payments")
            .event_type("Warning")
            .stream_prefix("pay");
        let mut event = sample_event("u", 1, "payments");
        assert!(reader.matches("payments", &event));
        assert!(!reader.matches("billing", &event));
        event.event_type = "Normal".into();
        assert!(!reader.matches("payments", &event));
        event.event_type = "Warning".into();
        event.namespace = None;
        assert!(!reader.matches("payments", &event));
    }

    #[tokio::test]
    async fn a_value_that_cannot_be_quoted_is_an_error_before_any_request() {
        let events: Vec<_> = CloudWatchReader::new(client(), "/g")
            .reason("say \"hi\"")
            .into_stream()
            .collect()
            .await;
        assert_eq!(events.len(), 1);
        let err = events.into_iter().next().unwrap().unwrap_err();
        assert!(
            matches!(
                err,
                ReadError::InvalidFilter {
                    field: "$.reason",
                    ..
                }
            ),
            "{err}"
        );
        assert!(!err.is_retryable());
    }

    #[tokio::test]
    async fn dedupe_drops_repeated_occurrences_but_keeps_new_versions_and_errors() {
        let a = sample_event("u1", 1, "ns");
        let a_again = a.clone();
        let a_updated = sample_event("u1", 2, "ns");
        let parse_error = serde_json::from_str::<Event>("{").unwrap_err();
        let items = vec![
            Ok(a),
            Ok(a_again),
            Err(ReadError::Parse {
                log_stream: "ns".into(),
                event_id: "1".into(),
                source: parse_error,
            }),
            Ok(a_updated),
        ];
        let out: Vec<_> = dedupe_by_key(stream::iter(items)).collect().await;
        assert_eq!(out.len(), 3);
        assert!(out[1].is_err());
        assert_eq!(out[2].as_ref().unwrap().resource_version, "2");
    }
}
