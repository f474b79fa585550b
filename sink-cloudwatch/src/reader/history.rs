//! [`CloudWatchHistory`]: a log group as a [`HistorySource`], read with FilterLogEvents and a
//! server-side filter pattern, and followed by polling.
//!
//! Just over 400 lines: the builder (range, selection into one filter pattern, page size,
//! concurrency, follow overlap) and the read it configures share the cursor, so they stay
//! together; the time slices a read is cut into are in `slices.rs`, the tests in `history/`.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::operation::filter_log_events::FilterLogEventsOutput;
use event_core::Event;
use event_history::{HistorySource, Selection, TimeRange};
use futures::StreamExt;
use futures::stream::{self, BoxStream};
use jiff::{SignedDuration, Timestamp};

use super::ReadError;
use super::slices::{self, Page, Slice};
use crate::client::client_from_config;
use crate::config::{CloudWatchSinkConfig, ConfigError};
use crate::error::{Failure, Operation, classify};
use event_core::clock::Clock;

/// How far back a poll reaches before the newest event already read, by default, for events
/// that became searchable late: a batch retried with backoff, CloudWatch's ingestion delay.
pub const DEFAULT_FOLLOW_OVERLAP: SignedDuration = SignedDuration::from_mins(2);

/// The longest filter pattern FilterLogEvents accepts (`filterPattern`, 1,024 characters).
pub const MAX_FILTER_PATTERN_CHARS: usize = 1024;

/// FilterLogEvents requests in flight at once in a read of a long range, by default: under
/// the service's default quota of 5 per second per account and region, with room for a
/// second reader.
pub const DEFAULT_READ_CONCURRENCY: usize = 4;

/// Attempts per FilterLogEvents call: reads are safe to repeat, and a long scan meets
/// throttling (FilterLogEvents has a low per-account rate).
const READ_ATTEMPTS: u32 = 5;
/// The bound of one attempt: a page of a long scan can take seconds.
const READ_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);
/// The bound of one call, retries included.
const READ_CALL_TIMEOUT: Duration = Duration::from_secs(120);

/// A client for reading: credentials, region and endpoint as for the sink
/// ([`client_from_config`]), but with the SDK's standard retries on (reads are safe to repeat,
/// and there is no pipeline backoff around them) and timeouts for long scans.
///
/// # Errors
///
/// [`ConfigError`] when the config is invalid or no region is set anywhere.
pub async fn history_client(config: &CloudWatchSinkConfig) -> Result<Client, ConfigError> {
    let client = client_from_config(config).await?;
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(5))
        .operation_attempt_timeout(READ_ATTEMPT_TIMEOUT)
        .operation_timeout(READ_CALL_TIMEOUT)
        .build();
    let conf = client
        .config()
        .to_builder()
        .retry_config(RetryConfig::standard().with_max_attempts(READ_ATTEMPTS))
        .timeout_config(timeouts)
        .build();
    Ok(Client::from_conf(conf))
}

/// One condition of the filter pattern: the field at `path` equals one of `values`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Term {
    path: &'static str,
    values: Vec<String>,
}

/// Where the next poll starts.
#[derive(Debug, Default)]
struct Cursor {
    /// The newest CloudWatch timestamp read, in milliseconds.
    newest: Option<i64>,
    /// The start of the next read, in milliseconds.
    next_since: Option<i64>,
}

/// Reads the events of one log group as a [`HistorySource`].
///
/// The first read covers the range; each later one (when following) starts
/// [`follow_overlap`](Self::follow_overlap) before the newest event read so far, for events
/// that became searchable late; the history drops what it reads twice. Each read pages through
/// FilterLogEvents asking CloudWatch to interleave the streams by time (the service has done
/// so since 2019; local endpoints such as moto do only when asked). A read of more than ten
/// minutes is cut into time slices, each paged through with its own `nextToken`, and up to
/// [`concurrency`](Self::concurrency) slices (default [`DEFAULT_READ_CONCURRENCY`]) are read at
/// once, each at most a page (10,000 events) ahead; the slices are yielded oldest first, so the
/// events come in the order of one read. Each request has the client's retries (throttling
/// included, see [`history_client`]).
///
/// [`select`](Self::select) turns the exact-match fields of a [`Selection`] — namespaces,
/// types, reasons and the object's name — into a filter pattern such as
/// `{ ($.namespace = "payments" || $.namespace = "billing") && $.type = "Warning" }`, so the
/// service scans but does not send what cannot match. The pattern only narrows: the history
/// applies the whole selection to every event, so kinds (compared ignoring case), the message
/// regex and a filter config need no pattern, and a value that cannot be quoted in one
/// (containing `"` or `\`) is left to the selection. A pattern longer than
/// [`MAX_FILTER_PATTERN_CHARS`] keeps the terms that fit.
///
/// The time range applies to CloudWatch timestamps, which are `lastSeen` unless the sink had
/// to clamp one (an event older than 14 days when it was shipped).
///
/// ```no_run
/// # async fn demo(client: aws_sdk_cloudwatchlogs::Client) -> Result<(), Box<dyn std::error::Error>> {
/// use event_history::{History, HistoryConfig, Selection, TimeRange};
/// use futures::StreamExt;
/// use sink_cloudwatch::CloudWatchHistory;
///
/// let range = TimeRange::new(Some("2026-11-24T06:00:00Z".parse()?), None)?;
/// let selection = Selection::default().namespaces(["payments"]).types(["Warning"]);
/// let source = CloudWatchHistory::new(client, "/event-keeper/prod")
///     .range(range)
///     .select(&selection);
/// let mut events = History::new(source, selection.compile()?, HistoryConfig::default().range(range));
/// while let Some(event) = events.next().await {
///     println!("{}", event?.message);
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a source does nothing until a history reads it"]
pub struct CloudWatchHistory {
    client: Client,
    group: String,
    since: Option<i64>,
    until: Option<i64>,
    terms: Vec<Term>,
    page_size: Option<i32>,
    concurrency: usize,
    overlap: SignedDuration,
    clock: Clock,
    cursor: Arc<Mutex<Cursor>>,
}

impl CloudWatchHistory {
    /// Every event of `log_group`.
    pub fn new(client: Client, log_group: impl Into<String>) -> Self {
        CloudWatchHistory {
            client,
            group: log_group.into(),
            since: None,
            until: None,
            terms: Vec::new(),
            page_size: None,
            concurrency: DEFAULT_READ_CONCURRENCY,
            overlap: DEFAULT_FOLLOW_OVERLAP,
            clock: Clock::system(),
            cursor: Arc::default(),
        }
    }

    /// Only events whose CloudWatch timestamp is within `range` (to the millisecond).
    pub fn range(mut self, range: TimeRange) -> Self {
        self.since = range.since().map(Timestamp::as_millisecond);
        self.until = range.until().map(Timestamp::as_millisecond);
        self
    }

    /// Adds the exact-match fields of `selection` to the filter pattern; see the type's docs.
    pub fn select(self, selection: &Selection) -> Self {
        let types = selection.types.iter().filter_map(|t| canonical_type(t));
        let names = selection.object.iter().map(|o| o.name().to_owned());
        self.term("$.namespace", selection.namespaces.iter().cloned())
            .term("$.type", types)
            .term("$.reason", selection.reasons.iter().cloned())
            .term("$.regarding.name", names)
    }

    /// Only events of this cluster (the `cluster` field the pipeline sets).
    pub fn cluster(self, cluster: impl Into<String>) -> Self {
        self.term("$.cluster", [cluster.into()])
    }

    /// Asks for at most `events` per page (1 to 10,000; CloudWatch's default is 10,000).
    pub fn page_size(mut self, events: u16) -> Self {
        self.page_size = Some(i32::from(events.clamp(1, 10_000)));
        self
    }

    /// Reads up to `requests` time slices of a long range at once (at least 1; default
    /// [`DEFAULT_READ_CONCURRENCY`]); 1 reads the range with one chain of pages.
    pub fn concurrency(mut self, requests: usize) -> Self {
        self.concurrency = requests.max(1);
        self
    }

    /// How far back a poll reaches before the newest event read (default
    /// [`DEFAULT_FOLLOW_OVERLAP`]).
    pub fn follow_overlap(mut self, overlap: SignedDuration) -> Self {
        self.overlap = overlap.max(SignedDuration::ZERO);
        self
    }

    /// Reads "now" from `clock`, for where a poll starts when nothing was read yet.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    fn term(mut self, path: &'static str, values: impl IntoIterator<Item = String>) -> Self {
        let values: Vec<String> = values
            .into_iter()
            .filter(|v| {
                let quotable = !v.is_empty() && !v.contains(['"', '\\']);
                if !quotable {
                    tracing::debug!(field = path, value = %v, "value left to the selection: it cannot be quoted in a filter pattern");
                }
                quotable
            })
            .collect();
        if !values.is_empty() {
            self.terms.push(Term { path, values });
        }
        self
    }

    /// The server-side filter pattern, if any.
    ///
    /// ```
    /// # let client = aws_sdk_cloudwatchlogs::Client::from_conf(
    /// #     aws_sdk_cloudwatchlogs::Config::builder()
    /// #         .behavior_version(aws_sdk_cloudwatchlogs::config::BehaviorVersion::latest())
    /// #         .build());
    /// use event_history::Selection;
    /// use sink_cloudwatch::CloudWatchHistory;
    ///
    /// let selection = Selection::default().namespaces(["payments", "billing"]).types(["warning"]);
    /// let source = CloudWatchHistory::new(client, "/event-keeper/prod").select(&selection);
    /// assert_eq!(
    ///     source.filter_pattern().as_deref(),
    ///     Some(r#"{ ($.namespace = "payments" || $.namespace = "billing") && $.type = "Warning" }"#)
    /// );
    /// ```
    pub fn filter_pattern(&self) -> Option<String> {
        fn pattern(terms: &[String]) -> String {
            format!("{{ {} }}", terms.join(" && "))
        }
        let mut kept: Vec<String> = Vec::new();
        for term in &self.terms {
            let alternatives: Vec<String> = term
                .values
                .iter()
                .map(|value| format!("{} = \"{value}\"", term.path))
                .collect();
            kept.push(match alternatives.as_slice() {
                [one] => one.clone(),
                many => format!("({})", many.join(" || ")),
            });
            if pattern(&kept).len() > MAX_FILTER_PATTERN_CHARS {
                kept.pop();
            }
        }
        (!kept.is_empty()).then(|| pattern(&kept))
    }

    fn start(&self) -> Option<i64> {
        let cursor = self.cursor.lock().unwrap_or_else(PoisonError::into_inner);
        cursor.next_since.or(self.since)
    }
}

/// `Warning` or `Normal` as Kubernetes writes them; `None` for another type, which the
/// selection refuses anyway.
fn canonical_type(value: &str) -> Option<String> {
    ["Warning", "Normal"]
        .into_iter()
        .find(|t| t.eq_ignore_ascii_case(value))
        .map(str::to_owned)
}

/// One read in progress, or one slice of it.
#[derive(Clone)]
struct Read {
    source: CloudWatchHistory,
    pattern: Option<String>,
    /// Where the read starts.
    since: Option<i64>,
    /// The part of it this chain of pages covers.
    slice: Slice,
    started: i64,
    token: Option<String>,
    first: bool,
}

impl HistorySource for CloudWatchHistory {
    type Error = ReadError;

    fn read(&mut self) -> BoxStream<'static, Result<Event, ReadError>> {
        let since = self.start();
        let started = self.clock.now().as_millisecond();
        let read = Read {
            pattern: self.filter_pattern(),
            since,
            slice: Slice {
                start: since,
                end: self.until,
            },
            started,
            source: self.clone(),
            token: None,
            first: true,
        };
        let cut = slices::slices(since, self.until, started, self.concurrency);
        if cut.len() > 1 && tokio::runtime::Handle::try_current().is_ok() {
            tracing::debug!(group = %self.group, slices = cut.len(), concurrency = self.concurrency, "reading time slices at once");
            let fetch = {
                let read = read.clone();
                move |slice, pages| read.clone().into_slice(slice).send_pages(pages)
            };
            return slices::read(cut, self.concurrency, fetch, move || read.finish());
        }
        stream::unfold(Some(read), |read| async move {
            let mut read = read?;
            if !read.first && read.token.is_none() {
                read.finish();
                return None;
            }
            read.first = false;
            match read.page().await {
                Ok(page) => {
                    read.token = page.next_token().map(str::to_owned);
                    let items = read.parse(&page);
                    Some((stream::iter(items), Some(read)))
                }
                // The read ends; the next poll starts where this one did.
                Err(failure) => {
                    let error = ReadError::from_failure(&read.source.group, failure);
                    Some((stream::iter(vec![Err(error)]), None))
                }
            }
        })
        .flatten()
        .boxed()
    }

    fn overlap(&self) -> SignedDuration {
        self.overlap
    }
}

impl Read {
    fn into_slice(mut self, slice: Slice) -> Self {
        self.slice = slice;
        self
    }

    /// Pages through this read's slice, sending each page's events, until the last page, a
    /// failure (sent too), or `pages` is closed.
    async fn send_pages(mut self, pages: tokio::sync::mpsc::Sender<Page>) {
        loop {
            let page = match self.page().await {
                Ok(page) => page,
                Err(failure) => {
                    let error = ReadError::from_failure(&self.source.group, failure);
                    let _ = pages.send(Err(error)).await;
                    return;
                }
            };
            self.token = page.next_token().map(str::to_owned);
            if pages.send(Ok(self.parse(&page))).await.is_err() || self.token.is_none() {
                return;
            }
        }
    }

    async fn page(&self) -> Result<FilterLogEventsOutput, Failure> {
        let source = &self.source;
        // AWS ignores the flag and always interleaves; moto reads stream after stream without it.
        #[allow(deprecated)]
        let call = source
            .client
            .filter_log_events()
            .log_group_name(&source.group)
            .interleaved(true)
            .set_start_time(self.slice.start)
            .set_end_time(self.slice.end)
            .set_filter_pattern(self.pattern.clone())
            .set_limit(source.page_size)
            .set_next_token(self.token.clone());
        call.send()
            .await
            .map_err(|e| classify(Operation::FilterLogEvents, e))
    }

    fn parse(&self, page: &FilterLogEventsOutput) -> Vec<Result<Event, ReadError>> {
        let newest = page.events().iter().filter_map(|e| e.timestamp()).max();
        if let Some(newest) = newest {
            let mut cursor = self
                .source
                .cursor
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            cursor.newest = Some(cursor.newest.map_or(newest, |n| n.max(newest)));
        }
        page.events()
            .iter()
            .map(|stored| {
                serde_json::from_str::<Event>(stored.message().unwrap_or_default()).map_err(
                    |source| ReadError::Parse {
                        log_stream: stored.log_stream_name().unwrap_or_default().to_owned(),
                        event_id: stored.event_id().unwrap_or_default().to_owned(),
                        source,
                    },
                )
            })
            .collect()
    }

    /// After a complete read: the next starts the overlap before the newest event read, or
    /// before the time this read started if none was, and never earlier than before.
    fn finish(&self) {
        let source = &self.source;
        let overlap = i64::try_from(source.overlap.as_millis()).unwrap_or(i64::MAX);
        let mut cursor = source.cursor.lock().unwrap_or_else(PoisonError::into_inner);
        let reached = cursor
            .newest
            .unwrap_or(self.started)
            .saturating_sub(overlap);
        let next = [Some(reached), self.since, cursor.next_since]
            .into_iter()
            .flatten()
            .max();
        cursor.next_since = next;
    }
}

#[cfg(test)]
mod tests;
