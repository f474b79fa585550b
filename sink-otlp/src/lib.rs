//! An Event Keeper [`Sink`](event_core::Sink) that ships Kubernetes events as OpenTelemetry log
//! records over OTLP/HTTP, to an OpenTelemetry Collector or any backend with an OTLP endpoint.
//!
//! Each batch is one `ExportLogsServiceRequest` (the official protobuf messages of
//! `opentelemetry-proto`, no gRPC stack) posted to `{endpoint}/v1/logs`, as protobuf or, with
//! the `json` feature, OTLP/JSON.
//!
//! # The record
//!
//! | OTLP field | From the event |
//! |---|---|
//! | `time_unix_nano` | last seen |
//! | `observed_time_unix_nano` | the export time |
//! | `severity_number` / `severity_text` | `Normal` → 9 `INFO`, `Warning` → 13 `WARN`, other types → 0 with the type as text |
//! | `body` | the message (string) |
//! | attributes | `k8s.event.*`, `k8s.namespace.name`, `k8s.<kind>.name`/`.uid` of the object; see [`record::attr`] and the README |
//! | resource | `service.name`, `k8s.cluster.name` |
//!
//! # What the sink guarantees
//!
//! - [`send`](event_core::Sink::send) returns `Ok` once the receiver answered 2xx without a
//!   partial-success refusal.
//! - 408, 429 and 5xx are retryable (with `Retry-After`); other 4xx are fatal with the
//!   answer's first line; a refused connection is retryable (see `sink-http`).
//! - **At least once after an ambiguous failure.** A timeout or a connection lost after the
//!   request was sent is "maybe stored"; OTLP has no way to ask what a receiver stored, so
//!   [`already_stored`](event_core::Sink::already_stored) keeps its default and the pipeline
//!   sends those events again. Deduplicate downstream on the `event_keeper.occurrence_key`
//!   attribute (`uid/resourceVersion`), or on `k8s.event.uid` + `k8s.event.resource_version`.
//! - **Partial success.** OTLP says how many records a receiver refused
//!   (`rejected_log_records`), not which. The sink never guesses: every event of that request
//!   is returned as rejected (to the dead-letter sink or the log), each reason saying how many
//!   of them the receiver refused. Nothing refused is acknowledged as stored; the dead letter
//!   may hold copies of records the receiver did store.
//! - Batches fit [`Sink::batch_limits`](event_core::Sink::batch_limits): `max_batch_events`
//!   records and `max_batch_bytes` bytes (counted as the events' JSON, larger than protobuf).
//! - The health check posts an export request without records (valid OTLP, stores nothing).
//!
//! # Features
//!
//! | Feature | Default | |
//! |---|---|---|
//! | `aws-lc-rs` | yes | TLS with rustls's aws-lc-rs provider |
//! | `json` | no | `encoding: json` (OTLP/JSON) |
//!
//! # Example
//!
//! ```no_run
//! use sink_otlp::{OtlpSink, OtlpSinkConfig};
//!
//! # fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let mut config = OtlpSinkConfig::new("http://otel-collector.monitoring:4318");
//! config.cluster_name = Some("prod-eu".into());
//! let sink = OtlpSink::new(config)?;
//! // pipeline.sink(sink) ...
//! # let _ = sink;
//! # Ok(())
//! # }
//! ```
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod config;
pub mod record;
mod sink;

pub use config::{
    DEFAULT_MAX_BATCH_BYTES, DEFAULT_MAX_BATCH_EVENTS, DEFAULT_SERVICE_NAME, Encoding, LOGS_PATH,
    OtlpConfigError, OtlpSinkConfig,
};
pub use sink::{OtlpSink, OtlpSinkError};
