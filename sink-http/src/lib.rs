//! The HTTP transport that Event Keeper's HTTP sinks share (OTLP, webhook): one client, one
//! reading of the server's answer.
//!
//! - [`HttpClient`] posts a body over HTTP/1.1, plain or TLS with rustls (never OpenSSL), with
//!   the platform's roots plus an optional CA bundle file, extra headers whose values may come
//!   from a file or an environment variable (marked sensitive, never logged, redacted in
//!   `Debug`), optional gzip, a connect timeout and a timeout for the whole exchange.
//! - [`classify`] turns the answer into the pipeline's [`SinkError`](event_core::SinkError),
//!   the same way for every HTTP sink:
//!
//! | Answer | Result |
//! |---|---|
//! | 2xx | `Ok`, the answer for the sink to read (partial success and the like) |
//! | 408, 429, 5xx | [`SinkError::Retryable`](event_core::SinkError::Retryable), with `Retry-After` (seconds or an HTTP date) as the delay |
//! | other 1xx/3xx/4xx | [`SinkError::Fatal`](event_core::SinkError::Fatal) with the status and the first line of the body |
//! | could not connect | retryable: nothing was sent |
//! | timeout or connection lost after connecting | [`SinkError::maybe_stored`](event_core::SinkError::maybe_stored): the server may have stored the request |
//!
//! # Features
//!
//! | Feature | Default | What it does |
//! |---|---|---|
//! | `aws-lc-rs` | yes | rustls with the aws-lc-rs crypto provider. Without it, install a process-wide rustls `CryptoProvider` before [`HttpClient::new`]. |
//!
//! # Example
//!
//! ```no_run
//! use std::time::Duration;
//! use sink_http::{HeaderSource, HttpClient, HttpOptions};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let options = HttpOptions::default()
//!     .header("authorization", HeaderSource::Env("COLLECTOR_TOKEN".into()))
//!     .gzip(true)
//!     .request_timeout(Duration::from_secs(10));
//! let client = HttpClient::new(&options)?;
//! let uri = "https://collector.example:4318/v1/logs".parse()?;
//! let answer = client.post(&uri, "application/x-protobuf", b"...".to_vec(), &[]).await?;
//! println!("{} bytes back", answer.body.len());
//! # Ok(())
//! # }
//! ```
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod classify;
mod client;
mod error;
mod header;
mod options;
mod tls;

pub use classify::{classify, first_line, retry_after};
pub use client::{HttpClient, HttpResponse};
pub use error::HttpConfigError;
pub use header::HeaderSource;
pub use options::{DEFAULT_CONNECT_TIMEOUT, DEFAULT_REQUEST_TIMEOUT, HttpOptions};
