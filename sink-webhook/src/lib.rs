//! An Event Keeper [`Sink`](event_core::Sink) that POSTs batches of Kubernetes events to a
//! webhook, as one JSON array per request or as NDJSON.
//!
//! # The request
//!
//! ```text
//! POST /k8s-events HTTP/1.1
//! Content-Type: application/json            (application/x-ndjson with `format: ndjson`)
//! Content-Encoding: gzip                    (with `gzip: true`)
//! Authorization: Bearer …                   (with `auth`; read from a file or a variable)
//! Idempotency-Key: 3f9c…e1                  (see below)
//! User-Agent: event-keeper/0.1.0
//!
//! [{"uid":"7d3c6a2e-…","resourceVersion":"1042","namespace":"payments","name":"api-7d9f.17a…",
//!   "regarding":{"kind":"Pod","name":"api-7d9f",…},"reason":"BackOff","message":"Back-off restarting failed container",
//!   "type":"Warning","count":5,"firstSeen":"2026-11-24T10:01:02Z","lastSeen":"2026-11-24T10:02:11Z","api":"events.k8s.io/v1","cluster":"prod-eu-1"}, …]
//! ```
//!
//! Each record is the event's JSON exactly as the file and stdout sinks write it
//! ([`Event::write_json`](event_core::Event::write_json)). Its `uid` and `resourceVersion`
//! are its **occurrence key**: an update of an event (its count went up) has a new
//! `resourceVersion` and is a new occurrence, never a duplicate.
//!
//! # What the sink guarantees, and what a receiver does about duplicates
//!
//! - [`send`](event_core::Sink::send) returns `Ok` only once every request of the batch was
//!   answered 2xx. A batch is one request when the pipeline cuts it (the sink declares
//!   `max_batch_events` and `max_body_bytes` as its [batch limits](event_core::Sink::batch_limits));
//!   given a larger batch, the sink cuts it itself, the same way every time.
//! - 408, 429 and 5xx are retried by the pipeline, after `Retry-After` when the answer has one;
//!   a connection that could not be made is retried. Any other status is fatal, with the status
//!   and the first line of the answer's body in the error. A record
//!   larger than `max_body_bytes` on its own is rejected (dead-lettered), the rest is sent.
//! - **At least once.** When a request times out or its connection drops after it was sent,
//!   the receiver may have stored it. A webhook cannot be asked what it holds, so the sink
//!   keeps the default [`already_stored`](event_core::Sink::already_stored) (it cannot tell) and
//!   the pipeline sends the batch again. The receiver may therefore see the same records twice.
//! - **Deduplication.** Every request carries an `Idempotency-Key` header (the name is
//!   configurable): the SHA-256 of its records' occurrence keys, see [`idempotency_key`]. A
//!   resend of the same batch is the same requests with the same keys, so a receiver that
//!   remembers the keys it stored drops the resend whole. Keep them as long as one batch may
//!   be retried: the pipeline retries until the batch is stored, so through an outage of the
//!   receiver that is the outage's length. Across a restart of the exporter, the events it had
//!   not checkpointed are sent again, possibly cut into other batches, so their key differs:
//!   a receiver that must never hold a duplicate deduplicates records by `(uid, resourceVersion)`
//!   as well (an upsert keyed on it).
//! - Within one process, a batch whose requests partly succeeded is resent without them.
//!
//! # Configuration
//!
//! Every key and default is listed on [`WebhookSinkConfig`].
//!
//! ```json
//! {
//!   "url": "https://hooks.example.com/k8s-events",
//!   "format": "json",
//!   "headers": {"X-Team": "platform", "X-Api-Key": {"env": "HOOK_API_KEY"}},
//!   "auth": {"bearer": {"file": "/var/run/secrets/hook/token"}},
//!   "gzip": true,
//!   "ca_file": "/etc/event-keeper/hooks-ca.pem"
//! }
//! ```
//!
//! # Example
//!
//! ```no_run
//! use event_core::{Event, Sink};
//! use sink_webhook::{WebhookSink, WebhookSinkConfig};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = WebhookSinkConfig::from_json(r#"{"url": "https://hooks.example.com/k8s-events"}"#)?;
//! let mut sink = WebhookSink::new(config)?;
//! let stats = sink.stats();
//! sink.send(&[Event::new("7d3c6a2e", "1042")]).await?;
//! assert_eq!(stats.requests(), 1);
//! # Ok(())
//! # }
//! ```
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod config;
mod encode;
mod idempotency;
mod secret;
mod sink;
mod stats;

pub use config::{
    ConfigError, DEFAULT_CONNECT_TIMEOUT_SECS, DEFAULT_MAX_BATCH_EVENTS, DEFAULT_MAX_BODY_BYTES,
    DEFAULT_SEND_TIMEOUT_SECS, DEFAULT_TIMEOUT_SECS, WebhookSinkConfig,
};
pub use encode::Format;
pub use idempotency::{DEFAULT_IDEMPOTENCY_HEADER, idempotency_key};
pub use secret::{Auth, HeaderValue, Secret, SecretError};
pub use sink::{WebhookError, WebhookSink};
pub use stats::WebhookSinkStats;
