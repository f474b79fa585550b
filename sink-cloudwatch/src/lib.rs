//! An Event Keeper [`Sink`](event_core::Sink) that ships Kubernetes events to Amazon CloudWatch
//! Logs, and (feature `history`) `CloudWatchHistory`, which reads them back for a history.
//!
//! Each event is one log event whose message is the [`Event`](event_core::Event) as JSON, the
//! same record every sink stores; its CloudWatch timestamp is the event's `lastSeen`. Logs
//! Insights reads the fields directly (see the queries below).
//!
//! # What the sink guarantees
//!
//! - [`send`](event_core::Sink::send) returns `Ok` once CloudWatch Logs acknowledged every
//!   event of the batch, except those it names in a [`SinkError::Rejected`](event_core::SinkError)
//!   (by index). Nothing is dropped silently.
//! - Every PutLogEvents request obeys the API's rules whatever batch it is given: one stream,
//!   at most 10,000 events and 1,048,576 bytes (UTF-8 message bytes + 26 each), sorted by
//!   timestamp (stably), spanning less than 24 hours. The [limits] are named constants.
//! - A message over the maximum event size (1 MB since April 2025, [`MAX_EVENT_BYTES`]) is cut
//!   and marked `"truncated": {"field": "message", "originalBytes": N, "keptBytes": M}`; the
//!   record stays valid JSON. An event too large even without its message is rejected.
//! - A timestamp outside the accepted window (older than 14 days or than the retention set
//!   here, more than 2 hours ahead) is clamped into it and counted
//!   ([`CloudWatchSinkStats::events_clamped`]); the JSON keeps the true times.
//! - Refusals reported in `rejectedLogEventsInfo` become per-event rejections.
//! - Missing groups and streams are created on the first `ResourceNotFoundException` (with the
//!   configured retention, KMS key and tags), remembered, and the request replayed; the sink
//!   never calls DescribeLogStreams per batch.
//! - Throttling, 5xx and timeouts are retryable errors for the pipeline's backoff; a timeout or
//!   a dropped connection after the request left is "maybe stored", and
//!   [`already_stored`](event_core::Sink::already_stored) answers from FilterLogEvents which
//!   events arrived, so the resend adds no duplicate. Within one process, a batch that failed
//!   part way is resent without the requests that succeeded.
//! - `InvalidParameterException` is logged with the request's shape; the request is split in
//!   halves until the offending events are isolated and rejected, never retried as is.
//! - Bad, missing or expired credentials and `AccessDeniedException` are fatal errors naming
//!   the credential problem or the IAM permission (`logs:PutLogEvents`, ...).
//! - The SDK's own retries are off and every request has a timeout
//!   ([`client_from_config`] says why).
//!
//! Required IAM permissions: `logs:PutLogEvents`, `logs:CreateLogStream`, and, to create
//! groups, `logs:CreateLogGroup`, `logs:PutRetentionPolicy` (with `retention_days`),
//! `logs:TagResource` (with `tags`); `logs:FilterLogEvents` for `already_stored` (without it
//! the sink logs a warning and the pipeline resends); `logs:DescribeLogGroups` for the health
//! check (without it the check passes on valid credentials, with a warning).
//!
//! # Configuration
//!
//! Defaults are listed on [`CloudWatchSinkConfig`]; the name placeholders on [`NameTemplate`].
//!
//! ```json
//! {
//!   "log_group": "/event-keeper/{cluster}",
//!   "log_stream": "{namespace}",
//!   "retention_days": 30,
//!   "region": "eu-west-1",
//!   "kms_key_id": "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
//!   "tags": {"team": "platform"}
//! }
//! ```
//!
//! LocalStack or another local endpoint:
//!
//! ```json
//! {"log_group": "/event-keeper/dev", "log_stream": "{namespace}/{kind}", "region": "us-east-1",
//!  "endpoint_url": "http://localhost:4566"}
//! ```
//!
//! # Example
//!
//! ```no_run
//! use event_core::{Event, Sink};
//! use sink_cloudwatch::{CloudWatchSink, CloudWatchSinkConfig};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = CloudWatchSinkConfig::from_json(r#"{"retention_days": 30}"#)?;
//! let mut sink = CloudWatchSink::connect(config).await?;
//! sink.health_check().await?; // credentials and reachability, before the first batch
//! let stats = sink.stats();
//! sink.send(&[Event::new("7d3c6a2e", "1042")]).await?;
//! assert_eq!(stats.events_stored(), 1);
//! # Ok(())
//! # }
//! ```
//!
//! # Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `default-https-client` | yes | the AWS SDK's HTTPS client (rustls with aws-lc-rs), used by [`client_from_config`] and [`CloudWatchSink::connect`] |
//! | `history` | no | `CloudWatchHistory`, `history_client` and `ReadError`: a log group read back as an [`event_history::HistorySource`](https://docs.rs/event-history), for `kubectl get events` over any time range |
//!
//! # Logs Insights queries
//!
//! Warnings by reason over the selected time range:
//!
//! ```text
//! fields @timestamp, reason
//! | filter type = "Warning"
//! | stats count(*) as warnings by reason
//! | sort warnings desc
//! ```
//!
//! The history of one pod:
//!
//! ```text
//! fields @timestamp, reason, message, count
//! | filter regarding.kind = "Pod" and regarding.name = "api-7d9f" and namespace = "payments"
//! | sort @timestamp asc
//! ```
//!
//! Each occurrence once, even if a retry stored it twice:
//!
//! ```text
//! stats latest(@message) as record by uid, resourceVersion
//! ```
//!
//! Events whose message was cut:
//!
//! ```text
//! fields @timestamp, uid, truncated.originalBytes
//! | filter ispresent(truncated.originalBytes)
//! ```
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod batch;
mod client;
mod config;
mod error;
pub mod limits;
#[cfg(feature = "history")]
mod reader;
mod record;
mod rejected;
mod service;
mod sink;
mod stats;
mod template;

pub use client::client_from_config;
pub use config::{
    CloudWatchSinkConfig, ConfigError, DEFAULT_LOG_GROUP, DEFAULT_LOG_STREAM,
    DEFAULT_SEND_TIMEOUT_SECS, DEFAULT_TIMEOUT_SECS,
};
pub use limits::MAX_EVENT_BYTES;
#[cfg(feature = "history")]
pub use reader::{
    CloudWatchHistory, DEFAULT_FOLLOW_OVERLAP, DEFAULT_READ_CONCURRENCY, MAX_FILTER_PATTERN_CHARS,
    ReadError, history_client,
};
pub use record::Truncation;
pub use sink::{CloudWatchSink, SINK_NAME};
pub use stats::CloudWatchSinkStats;
pub use template::{
    CLUSTER_SCOPED_NAMESPACE, EMPTY_FIELD, NameTemplate, PLACEHOLDERS, TemplateError,
};
